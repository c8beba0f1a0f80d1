//! `grpcx call`: resolve the method, feed the requests, print the responses.
//!
//! Two futures run side by side on one task: the feeder turns input chunks
//! into messages and sends each as soon as it is parsed; the receiver prints
//! each response as it arrives. That is what makes bidi interactive.
//!
//! Both may lock the schema (to fetch the types an Any names), so whatever
//! the receiver awaits, it awaits beside the feeder ([`Feed::beside`]): a
//! feeder left unpolled while it holds the lock, or is next in line for it,
//! would stop the call for good.

use std::pin::Pin;
use std::time::Instant;

use anyhow::{Context, Result, anyhow};
use prost::Message as _;
use prost_reflect::{
    DeserializeOptions, DynamicMessage, MessageDescriptor, MethodDescriptor, ReflectMessage as _,
};
use tokio::sync::{Mutex, mpsc};
use tokio_stream::wrappers::ReceiverStream;

use crate::cli::CallArgs;
use crate::error;
use crate::input::ahead::{Ahead, Parsed};
use crate::input::{self, Chunk, Chunks, DataSource};
use crate::invoke::{self, CallOptions, Response};
use crate::metadata::RequestMetadata;
use crate::output::Printer;
use crate::protocol;
use crate::schema::{self, CacheSlot, MethodName, Schema};
use crate::status;
use crate::transport::{self, Target};
use crate::verbose::Verbose;

/// Runs the call under `--max-time`, which covers connect, schema and call.
pub async fn run(args: CallArgs) -> Result<()> {
    if args.each.each {
        return super::each::run(args).await;
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
    let mut chunks = match args.data() {
        Some(arg) => Some(DataSource::from_arg(arg).spawn_as(args.input_format)?),
        None => None,
    };
    let channel = protocol::connect(&target, &args.conn, &verbose).await?;
    // A cached method starts the call at once; `pending` re-validates it.
    let slot = CacheSlot::for_call(
        &target,
        &args.conn,
        args.no_cache || args.protoset_out.is_some(),
    );
    let schema::Resolved {
        mut schema,
        mut method,
        mut pending,
    } = schema::resolve(
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
    let cached = if pending.is_some() { " (cached)" } else { "" };
    verbose.phase("schema", &format!("found {}{cached}", method.full_name()));
    // A stream of requests is encoded with the server's current schema.
    if method.is_client_streaming()
        && let Some(revalidation) = pending.take()
    {
        (schema, method) = revalidation.settle(false).await?;
    }
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
    // frame, so the deeper it is, the fewer and larger the writes (a 300k-line
    // upload made 37k writes with 16 places, 9k with 1024, and took 0.47 s
    // instead of 0.32 s). A full queue still stops the parsing.
    let (tx, rx) = mpsc::channel::<DynamicMessage>(1024);
    if method.is_client_streaming() {
        if let Some(message) = first {
            tx.try_send(message).expect("room for the first message");
            feeder.sent = 1;
        }
    } else {
        let message = first.unwrap_or_else(|| DynamicMessage::new(method.input()));
        if feeder.next(&mut chunks, &mut schema).await?.is_some() {
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
    let response = tokio::select! {
        response = start => match response {
            Ok(response) => response,
            // A trailers-only answer: no headers, no messages. The cache
            // is brought up to date all the same (the method may be gone).
            Err(status) => {
                if let Some(revalidation) = pending.take()
                    && let Ok((fresh, _)) = feed.beside(revalidation.settle(false)).await
                {
                    *feed.beside(schema.lock()).await = fresh;
                }
                return Err(feed.beside(failed(status, &schema, &mut printer)).await);
            }
        },
        // A bad message mid-stream ends the call: returning drops it, which
        // cancels the stream, so the server never takes a cut-off input
        // for a complete one.
        Err(err) = feed.run() => return Err(err),
    };
    // Responses are printed with the server's current schema, never a
    // cached one.
    let method = match pending {
        Some(revalidation) => {
            let (fresh, method) = feed.beside(revalidation.settle(true)).await?;
            *feed.beside(schema.lock()).await = fresh;
            method
        }
        None => method.clone(),
    };
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

/// The feeding future, polled beside whatever the call is waiting for until
/// it has finished.
struct Feed<F> {
    future: Pin<Box<F>>,
    done: bool,
    /// The feeder's error, until [`Feed::run`] reports it.
    error: Option<anyhow::Error>,
}

impl<F: Future<Output = Result<()>>> Feed<F> {
    fn new(future: F) -> Self {
        Feed {
            future: Box::pin(future),
            done: false,
            error: None,
        }
    }

    /// Drives the feeder to its end, keeping its error.
    async fn drive(&mut self) {
        if !self.done {
            let result = self.future.as_mut().await;
            self.done = true;
            self.error = result.err();
        }
    }

    /// Resolves only with the feeder's error; once the input is all sent, it
    /// stays pending so that `select!` waits on the other branch alone.
    async fn run(&mut self) -> Result<()> {
        self.drive().await;
        match self.error.take() {
            Some(err) => Err(err),
            None => std::future::pending().await,
        }
    }

    /// `work`, with the feeder driven meanwhile: `work` may wait for the
    /// schema's lock, which the feeder may hold or be next in line for. An
    /// error of the feeder's waits for the next [`Feed::run`].
    async fn beside<T>(&mut self, work: impl Future<Output = T>) -> T {
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

/// Turns input chunks into request messages.
struct Feeder {
    input: MessageDescriptor,
    options: DeserializeOptions,
    sent: usize,
}

impl Feeder {
    /// The next request, or `None` at the end of the input.
    async fn next(
        &mut self,
        chunks: &mut Option<Chunks>,
        schema: &mut Schema,
    ) -> Result<Option<DynamicMessage>> {
        match Self::read(chunks).await? {
            Some(chunk) => self.parse(&chunk, schema).await.map(Some),
            None => Ok(None),
        }
    }

    /// The next chunk of input: this is where an interactive call waits.
    async fn read(chunks: &mut Option<Chunks>) -> Result<Option<Chunk>> {
        let Some(rx) = chunks else { return Ok(None) };
        rx.recv().await.transpose()
    }

    /// Parses a chunk, fetching the types its Anys name first.
    async fn parse(&mut self, chunk: &Chunk, schema: &mut Schema) -> Result<DynamicMessage> {
        let types = schema::types_in_input(chunk);
        if !types.is_empty() {
            schema
                .fetch_types(&types)
                .await
                .with_context(|| format!("message {}", chunk.index))?;
            // The pool grew: take the input type from the new pool, which
            // knows the Any types.
            self.input = schema
                .pool()
                .get_message_by_name(self.input.full_name())
                .expect("the input type stays in the pool");
        }
        // Extensions named in the input that reflection has not brought yet.
        if schema.fetch_named_extensions(chunk).await? {
            self.input = schema
                .pool()
                .get_message_by_name(self.input.full_name())
                .expect("the input type stays in the pool");
        }
        input::parse_message(chunk, &self.input, &self.options)
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
        let mut ahead = match chunks.take() {
            Some(chunks) => Some(Ahead::spawn(
                chunks,
                self.input.clone(),
                self.options.clone(),
            )?),
            None => None,
        };
        loop {
            // The schema is locked only to parse, never while stdin is
            // awaited: the printer may need it meanwhile, to fetch the types
            // of the Anys in a response.
            let next = match ahead.as_mut() {
                Some(ahead) => ahead.recv().await,
                None => None,
            };
            let next = match next {
                Some(Ok(Parsed::Message(message))) => Ok(Some(message)),
                Some(Ok(Parsed::Chunk(chunk))) => {
                    let mut schema = schema.lock().await;
                    self.parse(&chunk, &mut schema).await.map(Some)
                }
                Some(Err(err)) => Err(err),
                None => Ok(None),
            };
            match next {
                Ok(Some(message)) => {
                    if tx.send(message).await.is_err() {
                        return Ok(()); // the call is over; it reports why
                    }
                    self.sent += 1;
                }
                Ok(None) => return Ok(()),
                Err(err) => {
                    let sent = match self.sent {
                        0 => "no message was sent".to_string(),
                        1 => "the 1 message before it was sent".to_string(),
                        n => format!("the {n} messages before it were sent"),
                    };
                    return Err(anyhow!("{err:#}; {sent}, then the call was cancelled"));
                }
            }
        }
    }
}

/// Prints every response as it arrives, flushing whenever the next one is
/// not already here, then checks the final status.
async fn receive<F: Future<Output = Result<()>>>(
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
async fn failed(
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
