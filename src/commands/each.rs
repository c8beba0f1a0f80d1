//! `grpcx call --each`: one call per JSON value of the input, all over one
//! connection and one schema resolution, at most `--concurrency` at once,
//! printed in input order.
//!
//! The engine runs the calls (`engine::scheduler::ordered`); this file
//! turns input values into requests and prints each call's events as the
//! plain `call` does, plus `"call": i` under `--envelope`. A failed call
//! prints `ERROR: call I: ...` on stderr and the run goes on; the exit code
//! is the first failure's in input order.

use std::sync::Arc;
use std::time::Instant;

use anyhow::{Result, anyhow};
use prost_reflect::{DeserializeOptions, MessageDescriptor};
use tokio::sync::mpsc::error::TryRecvError;
use tokio::sync::{Mutex, mpsc};

use crate::cli::CallArgs;
use crate::engine::scheduler::{self, Slot};
use crate::engine::{Engine, Event, Pool};
use crate::error::{self, Reported, UsageError};
use crate::input::DataSource;
use crate::invoke::CallOptions;
use crate::metadata::RequestMetadata;
use crate::output::Printer;
use crate::schema::{self, CacheSlot, MethodName, Schema};
use crate::status;
use crate::transport::Target;
use crate::verbose::Verbose;

/// Runs the calls (under `--max-time`: see `call::run`).
pub async fn run(args: CallArgs) -> Result<()> {
    let deadline = args.conn.max_time().map(|limit| Instant::now() + limit);
    let verbose = Verbose::new(args.conn.verbose);
    let target = Target::parse(&args.target)?;
    let name = MethodName::parse(&args.method)?;
    let metadata = RequestMetadata::from_args(&args.conn)?;
    let Some(data) = args.data() else {
        return Err(UsageError(
            "--each makes one call per JSON value of DATA: give DATA, @file, or @- for stdin"
                .into(),
        )
        .into());
    };
    // Reading starts now, and goes on as the input arrives (`tail -f | ...`).
    let mut chunks = DataSource::from_arg(data).spawn_as(args.input_format)?;
    let channel = crate::protocol::connect(&target, &args.conn, &verbose).await?;
    let slot = CacheSlot::for_call(
        &target,
        &args.conn,
        args.no_cache || args.protoset_out.is_some(),
    );
    let (mut schema, method) = schema::resolve_settled(
        &args.schema,
        slot,
        &channel,
        &metadata.reflection,
        args.conn.max_msg_size,
        &name,
    )
    .await?;
    if let Some(path) = &args.protoset_out {
        schema.write_protoset(path)?;
    }
    if method.is_client_streaming() {
        let kind = if method.is_server_streaming() {
            "a bidi"
        } else {
            "a client-streaming"
        };
        return Err(UsageError(format!(
            "--each makes one call per input value, but {} is {kind} method, whose one call \
             takes the whole input as its stream of messages; drop --each to send them all on one stream",
            method.full_name()
        ))
        .into());
    }
    verbose.phase("schema", &format!("found {}", method.full_name()));

    let remaining = deadline.map(|deadline| deadline.saturating_duration_since(Instant::now()));
    let options = CallOptions::new(&args.conn, remaining, verbose);
    let engine = Arc::new(Engine::new(
        Pool::single(channel),
        method.clone(),
        metadata.call,
        options,
    ));
    let limit = args.each.concurrency as usize;
    let (order_tx, order_rx) = mpsc::channel(limit);
    // Shared: the input side fetches the types its Anys name, the printer
    // those of the responses' Anys and of status details.
    let schema = Mutex::new(schema);

    let mut input_type = method.input();
    let parse_options = DeserializeOptions::new().deny_unknown_fields(!args.allow_unknown_fields);
    let next = async || {
        let chunk = match chunks.recv().await? {
            Ok(chunk) => chunk,
            // The splitter stops after an error: this is the last value.
            Err(err) => return Some((usize::MAX, Err(err))),
        };
        // Locked only to parse, never while the input is awaited.
        let mut schema = schema.lock().await;
        let message =
            crate::calling::parse(&chunk, &mut input_type, &parse_options, &mut schema).await;
        Some((chunk.index - 1, message.map(|message| vec![message])))
    };
    let produce = scheduler::ordered(engine, limit, next, order_tx);
    let mut printer = Printer::new(&args.output);
    let output = method.output();
    let print = print(
        order_rx,
        &mut printer,
        &output,
        &schema,
        args.each.fail_fast,
    );
    // The printer decides the end: it may stop early (--fail-fast) while the
    // input is still open.
    tokio::pin!(produce, print);
    let mut produced = false;
    loop {
        tokio::select! {
            () = &mut produce, if !produced => produced = true,
            result = &mut print => return result,
        }
    }
}

/// Prints the calls in input order, each call's events as they arrive,
/// flushing whenever it would wait. Returns the first failure's exit code
/// as [`Reported`], since each failure is printed here as it comes.
async fn print(
    mut order: mpsc::Receiver<Slot<anyhow::Error>>,
    printer: &mut Printer,
    output: &MessageDescriptor,
    schema: &Mutex<Schema>,
    fail_fast: bool,
) -> Result<()> {
    let mut first_failure = None;
    let mut calls = 0usize;
    while let Some(slot) = recv_or_flush(&mut order, printer).await? {
        let code = match slot {
            Slot::Failed(index, err) => {
                printer.flush()?;
                let index = if index == usize::MAX { calls } else { index };
                local_error(index, &err);
                Some(1)
            }
            Slot::Call(index, events) => {
                printer.set_call(Some(index));
                let status = print_call(events, printer, output, schema).await?;
                if status.code() == tonic::Code::Ok {
                    None
                } else {
                    let details = status::details(&status, Some(schema.lock().await.pool()));
                    printer.trailers(status.metadata())?;
                    printer.status(&status, &details)?;
                    printer.flush()?;
                    call_error(index, &status, &details);
                    Some(64 + status.code() as u8)
                }
            }
        };
        calls += 1;
        if let Some(code) = code {
            first_failure.get_or_insert(code);
            if fail_fast {
                break;
            }
        }
    }
    printer.flush()?;
    first_failure.map_or(Ok(()), |code| Err(Reported(code).into()))
}

/// The next item of `rx`, flushing the printer first when it would wait;
/// `None` when the sender is gone.
async fn recv_or_flush<T>(rx: &mut mpsc::Receiver<T>, printer: &mut Printer) -> Result<Option<T>> {
    match rx.try_recv() {
        Ok(item) => Ok(Some(item)),
        Err(TryRecvError::Empty) => {
            printer.flush()?;
            Ok(rx.recv().await)
        }
        Err(TryRecvError::Disconnected) => Ok(None),
    }
}

/// Prints one call's events until its end, and returns its status.
async fn print_call(
    mut events: mpsc::Receiver<Event>,
    printer: &mut Printer,
    output: &MessageDescriptor,
    schema: &Mutex<Schema>,
) -> Result<tonic::Status> {
    let has_any = schema::may_contain_any(output);
    loop {
        let event = recv_or_flush(&mut events, printer).await?;
        let event = event.ok_or_else(|| anyhow!("a call ended without a status"))?;
        match event {
            Event::Headers(headers) => printer.headers(&headers)?,
            // As `call` prints it: fetching the types of its Anys first.
            Event::Message(bytes) => {
                crate::calling::print(output, &bytes, has_any, schema, printer).await?
            }
            Event::Trailers(trailers) => {
                printer.trailers(&trailers)?;
                printer.status(&tonic::Status::ok(""), &[])?;
            }
            Event::End(status) => return Ok(status),
        }
    }
}

/// `ERROR: call 3: NotFound: gone` (and its details), or the JSON form.
fn call_error(index: usize, status: &tonic::Status, details: &[status::Detail]) {
    let text = if error::is_json() {
        let json = status::to_json(status, details);
        format!("{{\"call\":{index},{}", &json[1..])
    } else {
        format!(
            "ERROR: call {index}: {}",
            error::status_text(status, details)
        )
    };
    eprintln!("{text}");
}

/// A value that could not become a request: `grpcx: error: call 3: ...`.
fn local_error(index: usize, err: &anyhow::Error) {
    let line = format!("{err:#}").replace('\n', " ");
    if error::is_json() {
        let object = serde_json::json!({ "call": index, "error": line, "exitCode": 1 });
        eprintln!("{object}");
    } else {
        eprintln!("grpcx: error: call {index}: {line}");
    }
}
