//! `grpcx bench`: load a method with many calls and report what happened.
//!
//! The engine runs the calls over its pool of connections, the scheduler's
//! pacer decides when (closed model: `-c` in flight; open model: `--rate`
//! per second, latency from when each call was due), and `report` keeps
//! the figures and prints them. This file wires the three together and
//! owns the run's end: the count or the duration, or Ctrl-C, which stops
//! at once, prints the report of what finished, and exits 130.

use std::cell::RefCell;
use std::io::Write as _;
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use prost_reflect::{DeserializeOptions, DynamicMessage};
use tokio::signal::unix::{SignalKind, signal};

use crate::cli::{BenchArgs, BenchFormat, InputFormat};
use crate::engine::scheduler::{self, Load, Pacer, Ticket};
use crate::engine::{Engine, Pool, Requests};
use crate::error::{Interrupted, stdout_error};
use crate::input::DataSource;
use crate::invoke::CallOptions;
use crate::metadata::RequestMetadata;
use crate::report::{self, CsvRows, Stats, progress::Progress, text};
use crate::schema::{self, CacheSlot, MethodName};
use crate::transport::Target;
use crate::verbose::Verbose;

/// How long a run lasts when neither -n nor -z says.
const DEFAULT_DURATION: Duration = Duration::from_secs(10);

pub async fn run(args: BenchArgs) -> Result<()> {
    // Watched from the start, so that Ctrl-C never kills the process
    // before the report is printed.
    let mut sigint = signal(SignalKind::interrupt()).context("cannot watch for Ctrl-C")?;
    let (engine, requests) = tokio::select! {
        ready = setup(&args) => ready?,
        _ = sigint.recv() => return Err(Interrupted.into()),
    };
    let load = Load {
        rate: args.rate,
        requests: args.requests,
        duration: args
            .duration
            .or(args.requests.is_none().then_some(DEFAULT_DURATION)),
        warmup: args.warmup.unwrap_or_default(),
    };
    let pacer = Pacer::new(load, Instant::now());
    let measure = pacer.measure_start();
    let stats = RefCell::new(Stats::new());
    let csv = matches!(args.format, BenchFormat::Csv).then(CsvRows::new);
    let csv = csv.transpose()?.map(RefCell::new);
    let csv_failed = RefCell::new(None);
    // Unary and server-streaming calls cycle through the messages;
    // client-streaming and bidi calls send them all. Each set is framed
    // once.
    let requests: Vec<Requests> = if engine.method().is_client_streaming() {
        vec![engine.requests(requests)?]
    } else {
        let framed = requests.into_iter().map(|r| engine.requests(vec![r]));
        framed.collect::<Result<_, _>>()?
    };
    let work = |worker: usize, ticket: Ticket| {
        let requests = requests[ticket.seq as usize % requests.len()].clone();
        let (engine, stats, csv, csv_failed, pacer) = (&engine, &stats, &csv, &csv_failed, &pacer);
        async move {
            let outcome = engine.call(worker, requests, None).await;
            if !ticket.counted {
                return;
            }
            let latency = ticket.due.elapsed();
            stats
                .borrow_mut()
                .record(latency, &outcome.ended, outcome.messages, ticket.waited);
            if let Some(csv) = csv {
                let start = ticket.due.saturating_duration_since(measure).as_secs_f64();
                if let Err(err) = csv
                    .borrow_mut()
                    .row(start, latency, report::code(&outcome.ended))
                {
                    csv_failed.borrow_mut().get_or_insert(err);
                    pacer.stop();
                }
            }
        }
    };

    let progress = Progress::new();
    let mut drive = Box::pin(scheduler::drive(&pacer, args.concurrency as usize, work));
    let mut ticker = tokio::time::interval(Duration::from_millis(250));
    let interrupted = loop {
        tokio::select! {
            () = &mut drive => break false,
            _ = sigint.recv() => break true,
            _ = ticker.tick(), if progress.is_shown() => {
                let stats = stats.borrow();
                progress.update(stats.requests(), stats.errors(), measure.elapsed());
            }
        }
    };
    // Dropping the run cancels the calls still in flight (after Ctrl-C).
    drop(drive);
    let elapsed = Instant::now().saturating_duration_since(measure);
    progress.finish();
    if let Some(err) = csv_failed.into_inner() {
        return Err(err);
    }
    let summary = stats.borrow().summary(elapsed);
    let report = match args.format {
        BenchFormat::Text => {
            let streams = engine.method().is_server_streaming();
            text::render(&summary, args.rate, streams)
        }
        BenchFormat::Json => format!("{}\n", summary.to_json()),
        BenchFormat::Csv => String::new(),
    };
    if let Some(csv) = csv {
        csv.into_inner().flush()?;
    }
    let mut stdout = std::io::stdout().lock();
    stdout
        .write_all(report.as_bytes())
        .and_then(|()| stdout.flush())
        .map_err(stdout_error)?;
    if interrupted {
        return Err(Interrupted.into());
    }
    Ok(())
}

/// Connects, resolves the method, parses the request data and opens the
/// rest of the pool.
async fn setup(args: &BenchArgs) -> Result<(Engine, Vec<DynamicMessage>)> {
    let verbose = Verbose::new(args.conn.verbose);
    let target = Target::parse(&args.target)?;
    let name = MethodName::parse(&args.method)?;
    let metadata = RequestMetadata::from_args(&args.conn)?;
    let data = args.data().map(DataSource::from_arg);
    let mut chunks = data.map(|d| d.spawn_as(InputFormat::Json)).transpose()?;
    let channel = crate::protocol::connect(&target, &args.conn, &verbose).await?;
    let slot = CacheSlot::for_call(&target, &args.conn, false);
    let (mut schema, method) = schema::resolve_settled(
        &args.schema,
        slot,
        &channel,
        &metadata.reflection,
        args.conn.max_msg_size,
        &name,
    )
    .await?;
    verbose.phase("schema", &format!("found {}", method.full_name()));

    let options = DeserializeOptions::new().deny_unknown_fields(!args.allow_unknown_fields);
    let mut input_type = method.input();
    let mut requests = Vec::new();
    if let Some(chunks) = &mut chunks {
        while let Some(chunk) = chunks.recv().await {
            let chunk = chunk?;
            requests
                .push(crate::calling::parse(&chunk, &mut input_type, &options, &mut schema).await?);
        }
    }
    if requests.is_empty() && !method.is_client_streaming() {
        requests.push(DynamicMessage::new(input_type));
    }
    let pool = Pool::connect(channel, &target, &args.conn, args.connections as usize).await?;
    // --max-time bounds each call here, not the whole run.
    let options = CallOptions::new(&args.conn, args.conn.max_time(), verbose);
    let engine = Engine::new(pool, method, metadata.call, options).show_first_call_only();
    Ok((engine, requests))
}
