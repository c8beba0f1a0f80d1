//! The engine: many calls of one method, over a pool of connections, on a
//! schedule. `call --each` and `grpcx bench` both drive it; neither the
//! printer nor the bench report knows it exists, and it knows neither.
//!
//! - [`pool`]: the HTTP/2 connections, opened once;
//! - [`scheduler`]: which call runs when (in input order with a cap, for
//!   `--each`; closed or open load, for `bench`);
//! - this file: running one call to its end, through `invoke` as `call`
//!   makes it. It is the one place that talks to `invoke`, so a change of
//!   the invoke API touches nothing else.

pub mod pool;
pub mod scheduler;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use bytes::Bytes;
use http::uri::PathAndQuery;
use prost_reflect::{DynamicMessage, MethodDescriptor};
use tokio::sync::mpsc;
use tonic::Status;
use tonic::metadata::MetadataMap;

use crate::codec::Outgoing;
use crate::invoke::{self, CallOptions};
use crate::protocol::grpc;
use crate::verbose::Verbose;

/// How many times a call the server never processed is made, in all (each
/// time on a connection that is not the one going away). grpc-go makes
/// such a call again without a limit when it never left the client.
const ATTEMPTS: u32 = 5;
pub use pool::Pool;

/// What happens during one call, in order, for a caller that prints it.
pub enum Event {
    Headers(MetadataMap),
    /// A response message, as wire bytes of the method's output type.
    Message(Bytes),
    /// The trailers of a successful call (a failed call's are in its status).
    Trailers(MetadataMap),
    /// The end: OK, or the status the call failed with.
    End(Status),
}

/// How a call ended, for a caller that only counts.
pub struct Outcome {
    /// Response messages received.
    pub messages: u64,
    /// Why the call failed, if it did (an OK status is not built: tonic
    /// allocates one, and bench counts millions).
    pub ended: Result<(), Status>,
}

/// The requests of one call, framed (made by [`Engine::requests`]). Clones
/// share them, so requests sent many times (bench) are framed once.
#[derive(Clone)]
pub struct Requests(Arc<[Bytes]>);

impl Requests {
    /// The messages as a request stream.
    fn stream(&self) -> impl futures_util::Stream<Item = Outgoing> + Send + 'static {
        let framed = self.0.clone();
        futures_util::stream::iter(
            (0..framed.len()).map(move |i| Outgoing::Framed(framed[i].clone())),
        )
    }
}

/// Runs calls of one method with one set of metadata and options.
pub struct Engine {
    pool: Pool,
    method: MethodDescriptor,
    /// The method's HTTP/2 path, made once for all its calls.
    path: Result<PathAndQuery, Status>,
    /// The calls' request headers, made once for all of them.
    head: invoke::Head,
    options: CallOptions,
    /// `options` without `-v`, for the calls it does not show.
    quiet: CallOptions,
    /// With `-v`, whether only the first call is shown (and it is still to
    /// come) rather than every call.
    show_once: Option<AtomicBool>,
}

impl Engine {
    pub fn new(
        pool: Pool,
        method: MethodDescriptor,
        metadata: MetadataMap,
        options: CallOptions,
    ) -> Engine {
        let quiet = CallOptions {
            verbose: Verbose::default(),
            ..options.clone()
        };
        Engine {
            pool,
            path: invoke::path(&method),
            method,
            head: invoke::Head::new(metadata, &options),
            options,
            quiet,
            show_once: None,
        }
    }

    /// `-v` shows the first call only (bench: the rest would bury it).
    pub fn show_first_call_only(mut self) -> Engine {
        self.show_once = Some(AtomicBool::new(true));
        self
    }

    /// Whether `-v` shows this call: every call, or only the first.
    fn shows_call(&self) -> bool {
        self.options.verbose.is_on()
            && self
                .show_once
                .as_ref()
                .is_none_or(|first| first.swap(false, Ordering::Relaxed))
    }

    pub fn method(&self) -> &MethodDescriptor {
        &self.method
    }

    /// The requests of one call, framed (and compressed) once for all the
    /// times they are sent.
    pub fn requests(&self, messages: Vec<DynamicMessage>) -> Result<Requests, Status> {
        let compress = self.options.compress;
        let framed = messages
            .into_iter()
            .map(|m| grpc::framed(&m.into(), compress));
        framed.collect::<Result<_, _>>().map(Requests)
    }

    /// Runs one call on connection `conn` (modulo the pool's size) with these
    /// requests (the stream half-closes after the last), to its end. With
    /// `events`, every event but the end is sent there as it happens; a
    /// closed receiver cancels the call.
    pub async fn call(
        &self,
        conn: usize,
        requests: Requests,
        events: Option<&mpsc::Sender<Event>>,
    ) -> Outcome {
        let shown = self.shows_call();
        let options = if shown { &self.options } else { &self.quiet };
        let mut messages = 0;
        let ended = async {
            // A call the server never processed is made again, on a new
            // connection: nothing of it was seen yet. A server rotating its
            // connections sends GOAWAY, and neither the calls after it nor
            // those it left unprocessed may fail for it.
            let path = self.path.as_ref().map_err(Status::clone)?;
            let mut attempts = 0;
            let mut response = loop {
                attempts += 1;
                let started = invoke::start_at(
                    self.pool.get(conn),
                    path,
                    invoke::kind(&self.method),
                    requests.stream(),
                    self.head.clone(),
                    options,
                )
                .await;
                match started {
                    Err(status) if attempts < ATTEMPTS && invoke::is_unprocessed(&status) => {}
                    started => break started?,
                }
            };
            let gone = |_| Status::cancelled("the receiver went away");
            if let Some(tx) = events {
                tx.send(Event::Headers(response.headers.clone()))
                    .await
                    .map_err(gone)?;
            }
            while let Some(bytes) = response.message().await? {
                messages += 1;
                if let Some(tx) = events {
                    tx.send(Event::Message(bytes)).await.map_err(gone)?;
                }
            }
            let trailers = response.trailers().await?;
            if let Some(tx) = events {
                let _ = tx.send(Event::Trailers(trailers)).await;
            }
            Ok(())
        }
        .await;
        Outcome { messages, ended }
    }
}
