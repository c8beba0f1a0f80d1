//! `grpcx call`: resolve the method, feed the requests, print the responses.
//!
//! Two futures run side by side on one task: the feeder turns input chunks
//! into messages and sends each as soon as it is parsed; the receiver prints
//! each response as it arrives. That is what makes bidi interactive.
//!
//! The receiver, `Feed` (and why the receiver awaits beside the feeder) and
//! the parsing of one request live in `crate::calling`, which `shell` shares.

use std::time::Instant;

use anyhow::{Result, anyhow};
use prost_reflect::{DeserializeOptions, DynamicMessage, MessageDescriptor};
use tokio::sync::{Mutex, mpsc};
use tokio_stream::wrappers::ReceiverStream;

use crate::calling::{self, Feed, failed, receive};
use crate::cli::CallArgs;
use crate::input::ahead::{self, Parsed};
use crate::input::{Chunk, Chunks, DataSource};
use crate::invoke::{self, CallOptions};
use crate::metadata::RequestMetadata;
use crate::output::Printer;
use crate::protocol;
use crate::schema::{self, CacheSlot, MethodName, Schema};
use crate::transport::{self, Target};
use crate::verbose::Verbose;

/// Runs the call under `--max-time`, which covers connect, schema and call
/// (with `--each`, the whole run).
pub async fn run(args: CallArgs) -> Result<()> {
    if args.each.each {
        return transport::within(args.conn.max_time(), super::each::run(args)).await;
    }
    transport::within(args.conn.max_time(), call(args)).await
}

async fn call(args: CallArgs) -> Result<()> {
    let deadline = args.conn.max_time().map(|limit| Instant::now() + limit);
    let verbose = Verbose::new(args.conn.verbose);
    let target = Target::parse(&args.target)?;
    let name = MethodName::parse(&args.method)?;
    let metadata = RequestMetadata::from_args(&args.conn)?;
    // Reading starts now, so a file or stdin is read while we connect.
    let data = args.data().map(DataSource::from_arg);
    let mut chunks = data.map(|d| d.spawn_as(args.input_format)).transpose()?;
    let max_msg_size = args.conn.max_msg_size;
    let (channel, resolved) = if args.schema.is_offline() {
        // Files are compiled while the connection is made (a long link's
        // handshake, or a large tree's parse, is not paid twice), and a
        // mistake in them is reported at once.
        tokio::try_join!(
            protocol::connect(&target, &args.conn, &verbose),
            schema::resolve(
                &args.schema,
                None,
                None,
                &metadata.reflection,
                max_msg_size,
                &name
            ),
        )?
    } else {
        let channel = protocol::connect(&target, &args.conn, &verbose).await?;
        // A cached method starts the call at once; `pending` re-validates it.
        let slot = CacheSlot::for_call(
            &target,
            &args.conn,
            args.no_cache || args.protoset_out.is_some(),
        );
        let resolved = schema::resolve(
            &args.schema,
            slot,
            Some(&channel),
            &metadata.reflection,
            max_msg_size,
            &name,
        )
        .await?;
        (channel, resolved)
    };
    let schema::Resolved {
        mut schema,
        mut method,
        mut pending,
    } = resolved;
    if let Some(path) = &args.protoset_out {
        schema.write_protoset(path)?;
    }
    let cached = if pending.is_some() { " (cached)" } else { "" };
    verbose.phase("schema", &format!("found {}{cached}", method.full_name()));
    let mut printer = Printer::new(&args.output);

    let mut feeder = Feeder {
        input: method.input(),
        options: DeserializeOptions::new().deny_unknown_fields(!args.allow_unknown_fields),
        sent: 0,
    };
    // The first message is parsed before anything is sent: bad input at the
    // first message sends no request.
    let first = match Feeder::read(&mut chunks).await? {
        Some(chunk) => match feeder.parse(&chunk, &mut schema).await {
            Ok(message) => Some(message),
            // The cached request type may be the outdated one: the server's
            // current schema decides.
            Err(err) => match pending.take() {
                Some(revalidation) => {
                    (schema, method) = revalidation.settle(false).await?;
                    feeder.input = method.input();
                    Some(feeder.parse(&chunk, &mut schema).await?)
                }
                None => return Err(err),
            },
        },
        None => None,
    };
    // A deep queue: tonic packs every message waiting in it into one DATA
    // frame, so the deeper it is, the fewer and larger the writes (README
    // has the figures). A full queue still stops the parsing.
    let (tx, rx) = mpsc::channel::<DynamicMessage>(1024);
    // A stream of requests starts with a cached request type (a round trip
    // sooner), but it is not ended before the server's current schema
    // confirms that type: `hold` keeps it open. If the type changed, the
    // call fails with the stream still open, so it is cancelled and the
    // server never takes it for a complete input.
    let mut confirm = pending
        .take_if(|_| method.is_client_streaming())
        .map(|revalidation| Box::pin(revalidation.confirm()));
    let mut hold = confirm.as_ref().map(|_| tx.clone());
    if method.is_client_streaming() {
        if let Some(message) = first {
            tx.try_send(message).expect("room for the first message");
            feeder.sent = 1;
        }
    } else {
        let message = first.unwrap_or_else(|| DynamicMessage::new(method.input()));
        if let Some(chunk) = Feeder::read(&mut chunks).await? {
            feeder.parse(&chunk, &mut schema).await?;
            return Err(anyhow!(
                "{} takes exactly one request message, but the input holds more",
                method.full_name()
            ));
        }
        tx.try_send(message).expect("room for the message");
        chunks = None;
    }

    let schema = Mutex::new(schema);
    let feed = async {
        if method.is_client_streaming() {
            feeder.feed(&mut chunks, &schema, tx).await
        } else {
            drop(tx);
            Ok(())
        }
    };
    let mut feed = Feed::new(feed);
    let remaining = deadline.map(|deadline| deadline.saturating_duration_since(Instant::now()));
    let options = CallOptions::new(&args.conn, remaining, verbose);
    let start = invoke::start(
        channel,
        &method,
        ReceiverStream::new(rx),
        metadata.call,
        &options,
    );
    let mut start = std::pin::pin!(start);
    let mut confirmed = None;
    let response = loop {
        tokio::select! {
            response = &mut start => break response,
            // A bad message mid-stream ends the call: returning drops it,
            // which cancels the stream, so the server never takes a cut-off
            // input for a complete one.
            Err(err) = feed.run() => return Err(err),
            settled = async { confirm.as_mut().expect("guarded").await }, if confirm.is_some() => {
                confirm = None;
                let (fresh, method) = settled?;
                *feed.beside(schema.lock()).await = fresh;
                confirmed = Some(method);
                hold = None;
            }
        }
    };
    // Responses are printed with the server's current schema, never a
    // cached one (an early answer to a stream waits for it here). A
    // trailers-only answer (no headers, no messages) brings the cache up to
    // date all the same (the method may be gone), but warns of nothing.
    let settled = match (pending, confirm) {
        (Some(revalidation), _) => Some(feed.beside(revalidation.settle(response.is_ok())).await),
        (None, Some(confirm)) => Some(feed.beside(confirm).await),
        (None, None) => None,
    };
    let response = match response {
        Ok(response) => response,
        Err(status) => {
            if let Some(Ok((fresh, _))) = settled {
                *feed.beside(schema.lock()).await = fresh;
            }
            return Err(feed.beside(failed(status, &schema, &mut printer)).await);
        }
    };
    let method = match settled.transpose()? {
        Some((fresh, method)) => {
            *feed.beside(schema.lock()).await = fresh;
            method
        }
        None => confirmed.unwrap_or_else(|| method.clone()),
    };
    // Confirmed: the stream of requests may end.
    drop(hold);
    printer.headers(&response.headers)?;
    let result = receive(response, &method, &schema, &mut printer, &mut feed).await;
    // Again, now with any types that Anys named (a failed call included).
    if let Some(path) = &args.protoset_out {
        let mut schema = feed.beside(schema.lock()).await;
        if schema.used_grew() {
            schema.write_protoset(path)?;
        }
    }
    result
}

/// Turns input chunks into request messages.
struct Feeder {
    input: MessageDescriptor,
    options: DeserializeOptions,
    sent: usize,
}

impl Feeder {
    /// The next chunk of input: this is where an interactive call waits.
    async fn read(chunks: &mut Option<Chunks>) -> Result<Option<Chunk>> {
        let Some(rx) = chunks else { return Ok(None) };
        rx.recv().await.transpose()
    }

    /// Parses a chunk, fetching the types its Anys name first.
    async fn parse(&mut self, chunk: &Chunk, schema: &mut Schema) -> Result<DynamicMessage> {
        calling::parse(chunk, &mut self.input, &self.options, schema).await
    }

    /// Sends every remaining message as soon as it is parsed (on the
    /// parsing thread, `input::ahead`, but for what needs the schema); the
    /// end of the input half-closes the stream (by dropping `tx`).
    async fn feed(
        &mut self,
        chunks: &mut Option<Chunks>,
        schema: &Mutex<Schema>,
        tx: mpsc::Sender<DynamicMessage>,
    ) -> Result<()> {
        let Some(chunks) = chunks.take() else {
            return Ok(());
        };
        let mut ahead = ahead::spawn(chunks, self.input.clone(), self.options.clone())?;
        // The schema is locked only to parse, never while stdin is awaited:
        // the printer may need it meanwhile, to fetch the types of the Anys
        // in a response.
        while let Some(next) = ahead.recv().await {
            let message = match next {
                Ok(Parsed::Message(message)) => Ok(message),
                Ok(Parsed::Chunk(chunk)) => self.parse(&chunk, &mut *schema.lock().await).await,
                Err(err) => Err(err),
            };
            let message = message.map_err(|err| {
                let sent = match self.sent {
                    0 => "no message was sent".to_string(),
                    1 => "the 1 message before it was sent".to_string(),
                    n => format!("the {n} messages before it were sent"),
                };
                anyhow!("{err:#}; {sent}, then the call was cancelled")
            })?;
            if tx.send(message).await.is_err() {
                return Ok(()); // the call is over; it reports why
            }
            self.sent += 1;
        }
        Ok(())
    }
}
