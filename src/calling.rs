//! The halves of a call that `call`, `call --each` and `shell` share: a request parsed
//! against a schema that may grow on the way (the types an Any names, the
//! extensions the input names), and the responses printed as they arrive,
//! then the status.
//!
//! Both may lock the schema (to fetch the types an Any names), so whatever
//! the receiver awaits, it awaits beside the feeder ([`Feed::beside`]): a
//! feeder left unpolled while it holds the lock, or is next in line for it,
//! would stop the call for good.

use std::pin::Pin;

use anyhow::{Context, Result};
use prost::Message as _;
use prost_reflect::{
    DeserializeOptions, DynamicMessage, MessageDescriptor, MethodDescriptor, ReflectMessage as _,
};
use tokio::sync::Mutex;

use crate::error;
use crate::input::{self, Chunk};
use crate::invoke::Response;
use crate::output::Printer;
use crate::schema::{self, Schema};
use crate::status;

/// Parses a chunk as a message of type `input`, fetching the types its Anys
/// name and the extensions it names first. When that grows the pool,
/// `input` is taken again from the new pool, which knows them.
pub(crate) async fn parse(
    chunk: &Chunk,
    input: &mut MessageDescriptor,
    options: &DeserializeOptions,
    schema: &mut Schema,
) -> Result<DynamicMessage> {
    let types = schema::types_in_input(chunk);
    if !types.is_empty() {
        schema
            .fetch_types(&types)
            .await
            .with_context(|| format!("message {}", chunk.index))?;
    }
    // Extensions named in the input that reflection has not brought yet.
    let grown = schema.fetch_named_extensions(chunk).await?;
    if grown || !types.is_empty() {
        *input = schema
            .pool()
            .get_message_by_name(input.full_name())
            .expect("the input type stays in the pool");
    }
    input::parse_message(chunk, input, options)
}

/// The feeding future, polled beside whatever the call is waiting for until
/// it has finished.
pub(crate) struct Feed<F> {
    future: Pin<Box<F>>,
    done: bool,
    /// The feeder's error, until [`Feed::run`] reports it.
    error: Option<anyhow::Error>,
}

impl<F: Future<Output = Result<()>>> Feed<F> {
    pub(crate) fn new(future: F) -> Self {
        Feed {
            future: Box::pin(future),
            done: false,
            error: None,
        }
    }

    /// Drives the feeder to its end, keeping its error.
    async fn drive(&mut self) {
        if !self.done {
            self.error = self.future.as_mut().await.err();
            self.done = true;
        }
    }

    /// Resolves only with the feeder's error; once the input is all sent, it
    /// stays pending so that `select!` waits on the other branch alone.
    pub(crate) async fn run(&mut self) -> Result<()> {
        self.drive().await;
        match self.error.take() {
            Some(err) => Err(err),
            None => std::future::pending().await,
        }
    }

    /// `work`, with the feeder driven meanwhile: `work` may wait for the
    /// schema's lock, which the feeder may hold or be next in line for. An
    /// error of the feeder's waits for the next [`Feed::run`].
    pub(crate) async fn beside<T>(&mut self, work: impl Future<Output = T>) -> T {
        let mut work = std::pin::pin!(work);
        if !self.done {
            tokio::select! {
                out = &mut work => return out,
                () = self.drive() => {}
            }
        }
        work.await
    }
}

/// Prints every response as it arrives, flushing whenever the next one is
/// not already here, then checks the final status.
pub(crate) async fn receive<F: Future<Output = Result<()>>>(
    mut response: Response,
    method: &MethodDescriptor,
    schema: &Mutex<Schema>,
    printer: &mut Printer,
    feed: &mut Feed<F>,
) -> Result<()> {
    let output = method.output();
    let has_any = schema::may_contain_any(&output);
    loop {
        let next = match response.ready_message() {
            Some(next) => next,
            None => {
                printer.flush()?;
                tokio::select! {
                    next = response.message() => next,
                    Err(err) = feed.run() => {
                        // Bad input mid-stream: print what already arrived,
                        // then stop (dropping the call cancels it).
                        while let Some(Ok(Some(bytes))) = response.ready_message() {
                            print(&output, &bytes, has_any, schema, printer).await?;
                        }
                        printer.flush()?;
                        return Err(err);
                    }
                }
            }
        };
        match next {
            // Nothing to fetch: printed here, without the future `print`
            // and `beside` make (moving them cost a memcpy per message).
            Ok(Some(bytes)) if !has_any => printer.wire_message(&output, &bytes)?,
            Ok(Some(bytes)) => {
                feed.beside(print(&output, &bytes, has_any, schema, printer))
                    .await?
            }
            Ok(None) => break,
            Err(status) => return Err(feed.beside(failed(status, schema, printer)).await),
        }
    }
    printer.flush()?;
    match feed.beside(response.trailers()).await {
        Ok(trailers) => {
            printer.trailers(&trailers)?;
            printer.status(&status::success(&trailers), &[])?;
            printer.flush()
        }
        Err(status) => Err(feed.beside(failed(status, schema, printer)).await),
    }
}

/// Prints one response. A type that can hold an Any is decoded here, so
/// that the types its Anys name can be fetched first; the rest go to the
/// printer as wire bytes.
pub(crate) async fn print(
    output: &MessageDescriptor,
    bytes: &[u8],
    has_any: bool,
    schema: &Mutex<Schema>,
    printer: &mut Printer,
) -> Result<()> {
    if !has_any {
        return printer.wire_message(output, bytes);
    }
    let message = DynamicMessage::decode(output.clone(), bytes).map_err(|err| {
        error::StatusError(tonic::Status::internal(format!(
            "the server sent a {} that does not decode: {err}",
            output.full_name()
        )))
    })?;
    printer.message(&resolve_any(message, schema).await?)
}

/// Ends a call with a non-OK status: decodes its details (fetching by
/// reflection the detail types the built-in ones lack), prints the trailers
/// and the status when every event prints, and returns the error to report.
pub(crate) async fn failed(
    status: tonic::Status,
    schema: &Mutex<Schema>,
    printer: &mut Printer,
) -> anyhow::Error {
    // Fetching the detail types the built-in ones lack is worth 2 s at most
    // (the feeder may be fetching too); past that, the built-in types do.
    let with_schema = async {
        let mut schema = schema.lock().await;
        for name in status::detail_types(&status) {
            if status::builtin_pool().get_message_by_name(&name).is_none() {
                let _ = schema.fetch_symbol(&name).await;
            }
        }
        status::details(&status, Some(schema.pool()))
    };
    let details = tokio::time::timeout(std::time::Duration::from_secs(2), with_schema)
        .await
        .unwrap_or_else(|_| status::details(&status, None));
    let printed = printer
        .trailers(status.metadata())
        .and_then(|()| printer.status(&status, &details))
        .and_then(|()| printer.flush());
    match printed {
        Ok(()) => error::status_error(status, details),
        Err(err) => err,
    }
}

/// Makes every Any in a response printable: fetches the types it names and
/// re-reads the message against the pool that now holds them. Loops because
/// an Any nested in an Any shows its type only once the outer one decodes.
async fn resolve_any(
    mut message: DynamicMessage,
    schema: &Mutex<Schema>,
) -> Result<DynamicMessage> {
    loop {
        let mut types = Vec::new();
        schema::types_in_message(&message, &mut types);
        let pool = message.descriptor().parent_pool().clone();
        if types.iter().all(|t| pool.get_message_by_name(t).is_some()) {
            return Ok(message);
        }
        let mut schema = schema.lock().await;
        schema.fetch_types(&types).await?;
        let desc = schema
            .pool()
            .get_message_by_name(message.descriptor().full_name())
            .expect("the output type stays in the pool");
        message = DynamicMessage::decode(desc, message.encode_to_vec().as_slice())?;
    }
}
