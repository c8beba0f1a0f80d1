//! One path for all four kinds of call: requests are a stream (one message
//! for unary and server streaming), responses are a stream (one message for
//! unary and client streaming). The method kind decides only how many
//! requests the caller feeds in; the wire and this code are the same.
//!
//! The channel speaks the protocol of `--protocol` (`crate::protocol`): this
//! code speaks gRPC to it whatever goes over the wire, and tells it only the
//! method's kind (Connect frames unary calls differently).

use std::task::{Context, Poll, Waker};
use std::time::Duration;

use bytes::Bytes;
use futures_util::{Stream, StreamExt as _};
use http::HeaderValue;
use http::header::{CONTENT_TYPE, TE};
use http::uri::PathAndQuery;
use prost_reflect::MethodDescriptor;
use tonic::Status;
use tonic::body::Body;
use tonic::metadata::MetadataMap;

use crate::cli::{Compression, ConnArgs};
use crate::codec::Outgoing;
use crate::protocol::{CallKind, Channel, grpc};
use crate::status::names;
use crate::transport::{self, h2::Deadline};
use crate::verbose::Verbose;

/// How a call is made, beyond its method and messages.
#[derive(Debug, Clone, Default)]
pub struct CallOptions {
    /// The largest response message accepted.
    pub max_message_size: usize,
    /// Sent as `grpc-timeout` (what is left of `--max-time`).
    pub timeout: Option<Duration>,
    /// The `--max-time` that `timeout` is left of, named when it passes
    /// (`timeout` itself when not set).
    pub limit: Option<Duration>,
    /// Request compression.
    pub compress: Option<Compression>,
    pub verbose: Verbose,
}

impl CallOptions {
    pub fn new(args: &ConnArgs, timeout: Option<Duration>, verbose: Verbose) -> CallOptions {
        CallOptions {
            max_message_size: args.max_msg_size,
            timeout,
            limit: args.max_time(),
            compress: args.compress,
            verbose,
        }
    }
}

/// Starts a call: sends the headers and the request stream (half-closing
/// when it ends) and waits for the response headers.
pub async fn start(
    channel: impl Into<Channel>,
    method: &MethodDescriptor,
    requests: impl Stream<Item: Into<Outgoing>> + Send + Unpin + 'static,
    metadata: MetadataMap,
    options: &CallOptions,
) -> Result<Response, Status> {
    let path = path(method)?;
    let head = Head::new(metadata, options);
    start_at(channel, &path, kind(method), requests, head, options).await
}

/// The method's kind, as the channel is told it.
pub fn kind(method: &MethodDescriptor) -> CallKind {
    CallKind {
        client_streaming: method.is_client_streaming(),
        server_streaming: method.is_server_streaming(),
    }
}

/// The method's HTTP/2 path, `/package.Service/Method`.
pub fn path(method: &MethodDescriptor) -> Result<PathAndQuery, Status> {
    let path = format!("/{}/{}", method.parent_service().full_name(), method.name());
    PathAndQuery::try_from(path)
        .map_err(|err| Status::internal(format!("invalid method path: {err}")))
}

/// [`start`] by path and kind: for a caller that makes many calls of one
/// method (`bench`, `--each`), or one with no schema for it (reflection,
/// health).
pub async fn start_at(
    channel: impl Into<Channel>,
    path: &PathAndQuery,
    kind: CallKind,
    requests: impl Stream<Item: Into<Outgoing>> + Send + Unpin + 'static,
    head: Head,
    options: &CallOptions,
) -> Result<Response, Status> {
    let channel = channel.into();
    let failures = Failures {
        compress: options.compress,
        verbose: options.verbose.clone(),
        deadline: options
            .timeout
            .map(|timeout| Deadline::after(timeout, options.limit.unwrap_or(timeout))),
    };
    let failed = |status| failures.word(status);
    // Made in a block, so that the call's future does not keep the request.
    let response = {
        if options.verbose.is_on() {
            let headers = MetadataMap::from_headers((*head.0).clone());
            options.verbose.request(path.path(), &headers);
        }
        let body = grpc::Frames::new(requests.map(Into::into), options.compress);
        let mut request = http::Request::new(Body::new(body));
        *request.method_mut() = http::Method::POST;
        *request.uri_mut() = path.clone().into();
        *request.version_mut() = http::Version::HTTP_2;
        if let Some(deadline) = failures.deadline {
            request.extensions_mut().insert(deadline);
        }
        channel.send(request, head.0, kind)
    }
    .await
    .map_err(|err| failed(Status::from_error(err)))?;
    let (parts, body) = response.into_parts();
    // A trailers-only answer: the status is in the headers.
    let status = names::find(&parts.headers, &names::GRPC_STATUS)
        .and_then(|_| Status::from_header_map(&parts.headers));
    let messages = match status {
        Some(status) if status.code() != tonic::Code::Ok => {
            return Err(failed(transport::sent_by_server(status)));
        }
        Some(_) => grpc::Messages::empty(parts.headers.clone()),
        None => {
            let encoding = grpc::response_encoding(&parts.headers).map_err(failed)?;
            grpc::Messages::new(body, parts.status, encoding, options.max_message_size)
        }
    };
    let headers = MetadataMap::from_headers(parts.headers);
    options.verbose.response_headers(&headers);
    Ok(Response {
        headers,
        messages,
        failures,
    })
}

/// The product token grpcx sends in `user-agent`, after the user's own (from
/// `-H`), so that server operators can tell grpcx apart in their logs
/// (grpcurl sends `grpcurl/1.9.1 grpc-go/…`).
const USER_AGENT: &str = concat!("grpcx/", env!("CARGO_PKG_VERSION"));

/// A call's request headers: the metadata (less the headers gRPC reserves),
/// gRPC's own headers, and the user-agent. Every request of every protocol
/// and command is made from one, so this is the one place that sets the
/// user-agent. A caller that repeats its calls (`bench`, `--each`) makes
/// one head for all of them, shared: h2 sends the head it sent last time
/// again as the same bytes, without reading it.
#[derive(Clone)]
pub struct Head(std::sync::Arc<http::HeaderMap>);

impl Head {
    pub fn new(metadata: MetadataMap, options: &CallOptions) -> Head {
        let mut headers = metadata.into_headers();
        // Sent by servers only (`te` and `content-type` are replaced below).
        for reserved in ["grpc-message", "grpc-message-type", "grpc-status"] {
            headers.remove(reserved);
        }
        headers.insert(TE, HeaderValue::from_static("trailers"));
        headers.insert(CONTENT_TYPE, HeaderValue::from_static("application/grpc"));
        if let Some(compress) = options.compress {
            headers.insert(
                names::GRPC_ENCODING,
                HeaderValue::from_static(compress.name()),
            );
        }
        headers.insert(
            names::GRPC_ACCEPT_ENCODING,
            HeaderValue::from_static("gzip,zstd"),
        );
        if let Some(timeout) = options.timeout {
            headers.insert(names::GRPC_TIMEOUT, grpc::timeout(timeout));
        }
        let agent = match headers.get(http::header::USER_AGENT) {
            Some(own) => {
                HeaderValue::from_bytes(&[own.as_bytes(), b" ", USER_AGENT.as_bytes()].concat())
            }
            None => Ok(HeaderValue::from_static(USER_AGENT)),
        };
        let agent = agent.expect("a header value and a token");
        headers.insert(http::header::USER_AGENT, agent);
        Head(std::sync::Arc::new(headers))
    }
}

/// A started call: response headers, then messages (as wire bytes of the
/// method's output type), then trailers.
pub struct Response {
    pub headers: MetadataMap,
    messages: grpc::Messages,
    failures: Failures,
}

impl Response {
    /// The next message if one is already here, without waiting.
    pub fn ready_message(&mut self) -> Option<Result<Option<Bytes>, Status>> {
        let mut cx = Context::from_waker(Waker::noop());
        match self.messages.poll_message(&mut cx) {
            Poll::Ready(next) => Some(next.map_err(|status| self.failures.word(status))),
            Poll::Pending => None,
        }
    }

    /// The next message, or `None` at the end of a successful stream.
    pub async fn message(&mut self) -> Result<Option<Bytes>, Status> {
        let next = std::future::poll_fn(|cx| self.messages.poll_message(cx)).await;
        next.map_err(|status| self.failures.word(status))
    }

    /// The trailers, after the last message.
    pub async fn trailers(&mut self) -> Result<MetadataMap, Status> {
        while self.message().await?.is_some() {}
        let trailers = MetadataMap::from_headers(self.messages.take_trailers());
        self.failures.verbose.end(&trailers, None);
        Ok(trailers)
    }
}

/// What a call's failures are worded with: its compression, its `-v`, and
/// its deadline.
struct Failures {
    compress: Option<Compression>,
    verbose: Verbose,
    deadline: Option<Deadline>,
}

impl Failures {
    /// Words a failed call the way the user can act on: what broke under
    /// the call first (a recorded connection failure, a size limit, a call
    /// the server never took, marked to be made again), then what HTTP/2
    /// said.
    ///
    /// A server that ends the call as cancelled once its deadline has passed
    /// ended it for the deadline (tonic's servers answer `Cancelled: Timeout
    /// expired` so), and whichever of that answer and our own timer came
    /// first, the call failed by its deadline.
    fn word(&self, status: Status) -> Status {
        let shown = match self.deadline {
            Some(deadline)
                if status.code() == tonic::Code::Cancelled
                    && tokio::time::Instant::now() >= deadline.at =>
            {
                transport::DeadlinePassed(deadline.limit).status()
            }
            _ => transport::explain(status.clone(), self.compress),
        };
        self.verbose.failed(&status, &shown);
        shown
    }
}

/// Whether the server never processed the call that `status` ended, so that
/// it may be made again as it was.
pub use transport::is_unprocessed;

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_cancel_after_the_deadline_is_the_deadline() {
        let limit = Duration::from_millis(500);
        let passed = Deadline::after(Duration::ZERO, limit);
        let ahead = Deadline::after(Duration::from_secs(60), limit);
        let fail = |status, deadline| {
            let failures = Failures {
                compress: None,
                verbose: Verbose::default(),
                deadline,
            };
            failures.word(status)
        };
        let shown = fail(Status::cancelled("Timeout expired"), Some(passed));
        assert_eq!(shown.code(), tonic::Code::DeadlineExceeded);
        assert_eq!(shown.message(), "the deadline of --max-time 0.5 s passed");
        // Before the deadline, or another code, or no deadline: as the server said.
        for (status, deadline) in [
            (Status::cancelled("Timeout expired"), Some(ahead)),
            (Status::cancelled("Timeout expired"), None),
            (Status::not_found("gone"), Some(passed)),
        ] {
            let code = status.code();
            assert_eq!(fail(status, deadline).code(), code);
        }
    }
}
