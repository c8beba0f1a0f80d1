//! Wire protocols: gRPC, gRPC-Web and Connect behind one [`Channel`].
//!
//! `invoke` speaks gRPC to the channel whatever `--protocol` says; for
//! gRPC-Web and Connect the channel turns each gRPC request into the
//! protocol's (`request`), and its answer back into gRPC headers, frames and
//! trailers, its errors as statuses (`response`). So `invoke.rs`, reflection,
//! the printer and the exit codes see one event stream. One file per protocol
//! holds its framing, each with the same shape (as connect-es keeps them);
//! this file is the only place that picks one.

use std::collections::VecDeque;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use anyhow::Result;
use bytes::Bytes;
use futures_util::future::Either;
use http::HeaderMap;
use http_body::Frame;
use http_body_util::BodyExt as _;
use tonic::Status;
use tonic::body::Body;

use crate::cli::{ConnArgs, Protocol};
use crate::transport::{self, HttpClient, Target};
use crate::verbose::Verbose;

mod connect;
mod connect_serve;
pub mod grpc;
mod grpcweb;

pub use connect_serve::ConnectService;

type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// The kind of a call, which Connect needs (unary calls have their own
/// shape) and which decides whether HTTP/1.1 can carry it. `invoke` passes
/// it with every call.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CallKind {
    pub client_streaming: bool,
    pub server_streaming: bool,
}

impl CallKind {
    pub const BIDI: CallKind = CallKind {
        client_streaming: true,
        server_streaming: true,
    };

    fn is_unary(self) -> bool {
        !self.client_streaming && !self.server_streaming
    }
}

/// A connection to the server, speaking the chosen protocol.
#[derive(Clone)]
pub struct Channel(Inner);

#[derive(Clone)]
enum Inner {
    /// gRPC over grpcx's own HTTP/2 connection.
    Grpc(transport::Client),
    Http(Arc<Bridge>),
}

/// A gRPC-Web or Connect connection.
struct Bridge {
    client: HttpClient,
    target: Target,
    /// The connection's options, `--protocol` among them.
    args: ConnArgs,
    verbose: Verbose,
    /// gRPC on the same target, opened on first use, for reflection when
    /// this connection cannot carry a bidi stream.
    fallback: tokio::sync::OnceCell<transport::Client>,
    /// Whether `-v` said that reflection goes over this protocol.
    said_reflection: AtomicBool,
}

impl From<transport::Client> for Channel {
    fn from(client: transport::Client) -> Self {
        Channel(Inner::Grpc(client))
    }
}

/// Connects to the target in the protocol of `--protocol`, and says how
/// on `-v`.
pub async fn connect(target: &Target, args: &ConnArgs, verbose: &Verbose) -> Result<Channel> {
    if args.protocol == Protocol::Grpc {
        let client = transport::connect(target, args).await?;
        let how = transport::describe(target, args, client.route().as_deref());
        verbose.phase("connect", &how);
        return Ok(Channel(Inner::Grpc(client)));
    }
    let client = HttpClient::connect(target, args).await?;
    // Described once connected: the description names the route taken.
    let how = transport::describe(target, args, client.route().as_deref());
    verbose.phase(
        "connect",
        &format!("{how}, {} over {}", name(args.protocol), client.version()),
    );
    Ok(Channel(Inner::Http(Arc::new(Bridge {
        client,
        target: target.clone(),
        args: args.clone(),
        verbose: verbose.clone(),
        fallback: tokio::sync::OnceCell::new(),
        said_reflection: AtomicBool::new(false),
    }))))
}

fn name(protocol: Protocol) -> &'static str {
    match protocol {
        Protocol::Grpc => "gRPC",
        Protocol::Grpcweb => "gRPC-Web",
        Protocol::Connect => "Connect",
    }
}

impl Channel {
    /// Sends a request of any protocol with these headers (gRPC hands them
    /// to h2 as they are), a plain fn: each future level is copied whole.
    pub fn send(
        &self,
        request: http::Request<Body>,
        headers: Arc<HeaderMap>,
        kind: CallKind,
    ) -> impl Future<Output = Result<http::Response<Body>, BoxError>> + '_ {
        match &self.0 {
            Inner::Grpc(client) => Either::Left(client.call(request, headers)),
            // Boxed: its future is 2.5 KB, and unboxed every gRPC call's
            // future (and bench's 64 of them) would be its size.
            Inner::Http(bridge) => Either::Right(Box::pin(bridge.call(request, headers, kind))),
        }
    }
}

impl Bridge {
    async fn call(
        &self,
        mut request: http::Request<Body>,
        headers: Arc<HeaderMap>,
        kind: CallKind,
    ) -> Result<http::Response<Body>, BoxError> {
        *request.headers_mut() = Arc::unwrap_or_clone(headers);
        let reflection = request.uri().path().starts_with("/grpc.reflection.");
        if kind == CallKind::BIDI && !self.client.is_h2() {
            if reflection {
                return self.reflect_over_grpc(request).await;
            }
            let what_to_do = if self.client.is_tls() {
                "the server's ALPN chose HTTP/1.1; call it over HTTP/2 (or with --protocol grpc)"
            } else {
                "add --http2-prior-knowledge (plaintext) or use TLS (where ALPN can pick h2)"
            };
            return Err(Box::new(Status::unimplemented(format!(
                "a bidi stream needs HTTP/2, and {} here speaks HTTP/1.1: {what_to_do}",
                name(self.args.protocol)
            ))));
        }
        if reflection && !self.said_reflection.swap(true, Ordering::Relaxed) {
            self.verbose.note(&format!(
                "reflection over {} ({})",
                name(self.args.protocol),
                self.client.version()
            ));
        }
        let request = match self.args.protocol {
            Protocol::Grpcweb => grpcweb::request(request),
            Protocol::Connect => connect::request(request, kind).await?,
            Protocol::Grpc => request,
        };
        let response = self.client.send(request).await?;
        Ok(match self.args.protocol {
            Protocol::Grpcweb => grpcweb::response(response, self.args.max_msg_size),
            Protocol::Connect => connect::response(response, kind, self.args.max_msg_size).await,
            Protocol::Grpc => response,
        })
    }

    /// Sends a reflection request over gRPC, saying so on `-v` once.
    async fn reflect_over_grpc(
        &self,
        request: http::Request<Body>,
    ) -> Result<http::Response<Body>, BoxError> {
        // Whatever fails here, the user can act: the way out is HTTP/2 or
        // a schema that needs no reflection.
        let failed = |why: String| -> BoxError {
            Box::new(Status::unavailable(format!(
                "reflection needs a bidi stream, which {} over HTTP/1.1 cannot carry, \
                 and gRPC on the same target failed ({why}); add --http2-prior-knowledge \
                 or pass --proto or --protoset",
                name(self.args.protocol),
            )))
        };
        let channel = self
            .fallback
            .get_or_try_init(|| async {
                self.verbose.note(&format!(
                    "reflection over gRPC: {} over HTTP/1.1 cannot carry its bidi stream",
                    name(self.args.protocol)
                ));
                transport::connect(&self.target, &self.args).await
            })
            .await
            .map_err(|err| {
                failed(match err.downcast_ref::<crate::error::StatusError>() {
                    Some(status) => status.0.message().to_string(),
                    None => format!("{err:#}"),
                })
            })?;
        channel
            .call(request, Arc::default())
            .await
            .map_err(|err| failed(transport::not_ready(&*err).message().to_string()))
    }
}

/// Turns a protocol's response body into gRPC frames and trailers. Each
/// protocol's response parser implements it.
trait Decode: Send + 'static {
    /// Bytes of the body as they arrive; complete frames go to `out`.
    fn data(&mut self, bytes: Bytes, out: &mut Out) -> Result<(), Status>;
    /// The end of the body, with its HTTP trailers if any; the gRPC
    /// trailers go to `out`.
    fn end(&mut self, trailers: Option<HeaderMap>, out: &mut Out) -> Result<(), Status>;
}

/// What a [`Decode`] hands to tonic.
#[derive(Default)]
struct Out(VecDeque<Frame<Bytes>>);

impl Out {
    fn message(&mut self, flags: u8, payload: &[u8]) {
        self.0.push_back(Frame::data(grpc::frame(flags, payload)));
    }

    /// Trailers, checked as h2's are (see `mend_status_fields`) before
    /// tonic reads them.
    fn trailers(&mut self, mut trailers: HeaderMap) {
        crate::status::mend_status_fields(&mut trailers);
        self.0.push_back(Frame::trailers(trailers));
    }
}

/// The body tonic reads: the wire body through a decoder. A decoder's
/// error ends the body with that status as trailers, after every message
/// decoded before it; a broken connection is passed on as it is, for
/// `invoke` to word.
fn decode(body: Body, decoder: impl Decode) -> Body {
    struct State<D> {
        body: Body,
        decoder: D,
        out: Out,
        done: bool,
    }
    let state = State {
        body,
        decoder,
        out: Out::default(),
        done: false,
    };
    let stream = futures_util::stream::unfold(state, |mut state| async move {
        loop {
            if let Some(frame) = state.out.0.pop_front() {
                return Some((Ok::<_, BoxError>(frame), state));
            }
            if state.done {
                return None;
            }
            let result = match state.body.frame().await {
                Some(Ok(frame)) => match frame.into_data() {
                    Ok(data) => state.decoder.data(data, &mut state.out),
                    Err(frame) => {
                        state.done = true;
                        let trailers = frame.into_trailers().ok();
                        state.decoder.end(trailers, &mut state.out)
                    }
                },
                Some(Err(err)) => {
                    state.done = true;
                    return Some((Err(err.into()), state));
                }
                None => {
                    state.done = true;
                    state.decoder.end(None, &mut state.out)
                }
            };
            if let Err(status) = result {
                state.done = true;
                state.out.trailers(grpc::trailers(&status));
            }
        }
    });
    Body::new(http_body_util::StreamBody::new(stream))
}

/// A gRPC response with these headers whose body is `body` (tonic reads
/// the frames and trailers; it does not check the content-type).
fn grpc_response(mut parts: http::response::Parts, body: Body) -> http::Response<Body> {
    parts.status = http::StatusCode::OK;
    parts.version = http::Version::HTTP_2;
    crate::status::mend_status_fields(&mut parts.headers);
    // What framed the body on the wire, and HTTP/1.1's hop-by-hop headers,
    // are not metadata. The content-type stays, as the server sent it.
    for name in [
        "content-length",
        "transfer-encoding",
        "connection",
        "keep-alive",
    ] {
        parts.headers.remove(name);
    }
    http::Response::from_parts(parts, body)
}

/// The content-type, in lower case ("" when missing or not text).
fn content_type(headers: &http::HeaderMap) -> String {
    let value = headers.get(http::header::CONTENT_TYPE);
    let text = value.and_then(|v| v.to_str().ok()).unwrap_or("");
    text.to_ascii_lowercase()
}

/// A trailers-only gRPC response: the status (and the headers that came
/// with it, as its metadata) in the headers, no body.
fn failed(mut parts: http::response::Parts, status: &Status) -> http::Response<Body> {
    for (name, value) in grpc::trailers(status) {
        if let Some(name) = name {
            parts.headers.insert(name, value);
        }
    }
    grpc_response(parts, Body::empty())
}
