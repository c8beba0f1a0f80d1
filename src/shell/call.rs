//! `call METHOD [JSON]`: one call on the session's connection, with its
//! headers and settings, over the same path as `grpcx call`: the request
//! parsed by `calling::parse`, sent by `invoke::start`, the responses
//! printed by `calling::receive` as they arrive.
//!
//! With JSON, that is the request (the first one, for a stream); without,
//! the request is asked for field by field (`prompt.rs`). A client stream
//! or bidi call then reads one message at a time, in the same way (a JSON
//! line, or field by field), until an empty line (field by field: a message
//! with every field skipped) or Ctrl-D; the feeder that reads them runs
//! beside the receiver, so bidi replies print while the next message is
//! being typed.

use std::cell::Cell;
use std::time::Duration;

use anyhow::{Result, anyhow};
use prost_reflect::{DeserializeOptions, DynamicMessage, MessageDescriptor};
use tokio::sync::{Mutex, mpsc};
use tokio_stream::wrappers::ReceiverStream;

use super::input::{Context, Input, Read};
use super::prompt::{self, Filled};
use super::{Session, first_word};
use crate::calling::{self, Feed, failed, receive};
use crate::error::{Interrupted, Reported, StatusError, hinted};
use crate::input::Chunk;
use crate::invoke::{self, CallOptions};
use crate::schema::Schema;
use crate::verbose::Verbose;

/// `call METHOD [JSON]`.
pub async fn call(session: &mut Session, input: &mut Input, rest: &str) -> Result<()> {
    let (name, json) = first_word(rest);
    if name.is_empty() {
        return Err(anyhow!("call needs a method: call METHOD [JSON]"));
    }
    let channel = session.channel.clone().ok_or_else(|| {
        hinted(
            "no server to call",
            "start the shell with a TARGET to make calls",
        )
    })?;
    let method = session.method(name).await?;
    let metadata = session.headers.to_map()?;
    let settings = session.settings.clone();
    let options = DeserializeOptions::new().deny_unknown_fields(!settings.allow_unknown_fields);
    let schema = &session.schema;
    let mut printer = session.printer(input);
    let json = json.trim();
    let streaming = method.is_client_streaming();
    let mut request = method.input();

    // The first request is read, and parsed, before the call starts: bad
    // input sends nothing.
    let (tx, rx) = mpsc::channel::<DynamicMessage>(16);
    let mut sent = 0;
    if !json.is_empty() {
        let message = parse(schema, &mut request, &options, json, 1).await?;
        tx.try_send(message).expect("room for the first message");
        sent = 1;
    } else if !streaming {
        let message = match prompt::fill(input, &request, &options).await? {
            Filled::Message(value) => {
                let text = value.to_string();
                // Up-arrow brings the call back with its JSON.
                input.remember(&format!("call {name} {text}"));
                parse(schema, &mut request, &options, &text, 1).await?
            }
            Filled::Ended => DynamicMessage::new(request.clone()),
        };
        tx.try_send(message).expect("room for the message");
    }

    let bad_input = Cell::new(false);
    let work = async {
        let feed = async {
            if streaming {
                let stream = Stream {
                    json: !json.is_empty(),
                    request: request.clone(),
                    options: options.clone(),
                    sent,
                };
                stream.feed(input, schema, tx, &bad_input).await
            } else {
                drop(tx);
                Ok(())
            }
        };
        let mut feed = Feed::new(feed);
        let call_options = CallOptions {
            limit: settings.deadline,
            ..CallOptions::new(
                &session.conn,
                settings.deadline,
                Verbose::new(settings.verbose),
            )
        };
        let start = invoke::start(
            channel,
            &method,
            ReceiverStream::new(rx),
            metadata,
            &call_options,
        );
        let response = tokio::select! {
            response = start => match response {
                Ok(response) => response,
                Err(status) => return Err(feed.beside(failed(status, schema, &mut printer)).await),
            },
            Err(err) = feed.run() => return Err(err),
        };
        printer.headers(&response.headers)?;
        receive(response, &method, schema, &mut printer, &mut feed).await
    };
    within(settings.deadline, work).await?;
    if bad_input.get() {
        // Each bad message was reported as it was typed.
        return Err(Reported(1).into());
    }
    Ok(())
}

/// A request stream read message by message.
struct Stream {
    /// One JSON message a line; otherwise field by field.
    json: bool,
    request: MessageDescriptor,
    options: DeserializeOptions,
    /// Messages sent so far.
    sent: usize,
}

impl Stream {
    /// Reads and sends messages until an empty line or Ctrl-D, which
    /// half-closes the stream (dropping `tx`). A bad message is reported
    /// and asked again; Ctrl-C ends the call.
    async fn feed(
        mut self,
        input: &mut Input,
        schema: &Mutex<Schema>,
        tx: mpsc::Sender<DynamicMessage>,
        bad_input: &Cell<bool>,
    ) -> Result<()> {
        loop {
            let index = self.sent + 1;
            let text = if self.json {
                let prompt = format!("{} #{index}> ", self.request.name());
                match input
                    .read(&prompt, Context::Message(self.request.clone()))
                    .await?
                {
                    Read::Line(line) if line.trim().is_empty() => return Ok(()),
                    Read::Line(line) => line,
                    Read::Eof => return Ok(()),
                    Read::Interrupted => return Err(Interrupted.into()),
                }
            } else {
                match prompt::fill(input, &self.request, &self.options).await? {
                    // Every field skipped (an empty line, for one field)
                    // ends the stream, as an empty JSON line does.
                    Filled::Message(value) if value.as_object().is_some_and(|o| o.is_empty()) => {
                        return Ok(());
                    }
                    Filled::Message(value) => value.to_string(),
                    Filled::Ended => return Ok(()),
                }
            };
            let parsed = parse(schema, &mut self.request, &self.options, &text, index).await;
            match parsed {
                Ok(message) => {
                    if tx.send(message).await.is_err() {
                        return Ok(()); // the call is over; it reports why
                    }
                    self.sent = index;
                }
                Err(err) => {
                    crate::error::report(&err);
                    bad_input.set(true);
                }
            }
        }
    }
}

/// Parses one request as `call` does (fetching the types its Anys name).
async fn parse(
    schema: &Mutex<Schema>,
    request: &mut MessageDescriptor,
    options: &DeserializeOptions,
    text: &str,
    index: usize,
) -> Result<DynamicMessage> {
    let chunk = Chunk::json(text, index);
    let mut schema = schema.lock().await;
    calling::parse(&chunk, request, options, &mut schema).await
}

/// Runs a call under `set deadline`: past it, the call is dropped (which
/// cancels it) and ends with DeadlineExceeded.
async fn within(deadline: Option<Duration>, work: impl Future<Output = Result<()>>) -> Result<()> {
    let Some(limit) = deadline else {
        return work.await;
    };
    match tokio::time::timeout(limit, work).await {
        Ok(result) => result,
        Err(_) => Err(StatusError(tonic::Status::deadline_exceeded(format!(
            "the deadline of {} s passed (set deadline)",
            limit.as_secs_f64()
        )))
        .into()),
    }
}
