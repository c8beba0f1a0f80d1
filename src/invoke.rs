//! One path for all four kinds of call.
//!
//! Every call is a tonic streaming call: requests are a stream (one message
//! for unary and server streaming), responses are a stream (one message for
//! unary and client streaming). The method kind decides only how many
//! requests the caller feeds in; the wire and this code are the same.
//!
//! The channel speaks the protocol of `--protocol` (`crate::protocol`): this
//! code speaks gRPC to it whatever goes over the wire, and tells it only the
//! method's kind (Connect frames unary calls differently).

use std::time::Duration;

use bytes::Bytes;
use futures_util::{FutureExt as _, Stream};
use prost_reflect::{DynamicMessage, MethodDescriptor};
use tonic::codec::CompressionEncoding;
use tonic::metadata::MetadataMap;
use tonic::{Code, Status, Streaming};

use crate::cli::{Compression, ConnArgs};
use crate::codec::DynamicCodec;
use crate::protocol::{CallKind, Channel};
use crate::transport;
use crate::verbose::Verbose;

/// How a call is made, beyond its method and messages.
#[derive(Debug, Clone, Default)]
pub struct CallOptions {
    /// The largest response message accepted.
    pub max_message_size: usize,
    /// Sent as `grpc-timeout` (what is left of `--max-time`).
    pub timeout: Option<Duration>,
    /// Request compression.
    pub compress: Option<Compression>,
    pub verbose: Verbose,
}

impl CallOptions {
    pub fn new(args: &ConnArgs, timeout: Option<Duration>, verbose: Verbose) -> CallOptions {
        CallOptions {
            max_message_size: args.max_msg_size,
            timeout,
            compress: args.compress,
            verbose,
        }
    }
}

/// Starts a call: sends the headers and the request stream (half-closing
/// when it ends) and waits for the response headers.
pub async fn start<S>(
    channel: impl Into<Channel>,
    method: &MethodDescriptor,
    requests: S,
    metadata: MetadataMap,
    options: &CallOptions,
) -> Result<Response, Status>
where
    S: Stream<Item = DynamicMessage> + Send + 'static,
{
    let channel = channel.into();
    let fail = |status: Status| {
        let status = explain(status, options.compress);
        options.verbose.end(status.metadata(), Some(&status));
        status
    };
    let mut grpc = tonic::client::Grpc::new(channel)
        .max_decoding_message_size(options.max_message_size)
        .max_encoding_message_size(usize::MAX)
        .accept_compressed(CompressionEncoding::Gzip)
        .accept_compressed(CompressionEncoding::Zstd);
    if let Some(compress) = options.compress {
        grpc = grpc.send_compressed(encoding(compress));
    }
    grpc.ready()
        .await
        .map_err(|err| fail(transport::not_ready(&*err)))?;
    let path = format!("/{}/{}", method.parent_service().full_name(), method.name());
    let path = http::uri::PathAndQuery::try_from(path)
        .map_err(|err| Status::internal(format!("invalid method path: {err}")))?;
    let mut request = tonic::Request::new(requests);
    request.extensions_mut().insert(CallKind {
        client_streaming: method.is_client_streaming(),
        server_streaming: method.is_server_streaming(),
    });
    *request.metadata_mut() = metadata;
    if let Some(timeout) = options.timeout {
        request.set_timeout(timeout);
    }
    options.verbose.request(path.as_str(), request.metadata());
    let response = grpc
        .streaming(request, path, DynamicCodec)
        .await
        .map_err(|status| {
            // A connection that failed says why first; then a call the
            // server never took says so, marked to be made again.
            let shown = match unprocessed(&status) {
                Some(unprocessed) if transport::connection_failure(&status).is_none() => {
                    unprocessed
                }
                _ => explain(status.clone(), options.compress),
            };
            options.verbose.failed(&status, &shown);
            shown
        })?;
    let (headers, stream, _) = response.into_parts();
    options.verbose.response_headers(&headers);
    Ok(Response {
        headers,
        stream,
        compress: options.compress,
        verbose: options.verbose.clone(),
    })
}

fn encoding(compression: Compression) -> CompressionEncoding {
    match compression {
        Compression::Gzip => CompressionEncoding::Gzip,
        Compression::Zstd => CompressionEncoding::Zstd,
    }
}

/// Rewords statuses whose cause the user can act on: a connection problem,
/// a message over `--max-msg-size`, a server that refuses compression, and
/// our own deadline (which tonic reports as Cancelled).
pub(crate) fn explain(status: Status, compress: Option<Compression>) -> Status {
    let mut source = std::error::Error::source(&status);
    while let Some(err) = source {
        if err.is::<tonic::TimeoutExpired>() {
            return Status::deadline_exceeded("the deadline of --max-time passed");
        }
        source = err.source();
    }
    let status = transport::explain(status);
    match compress {
        Some(compress)
            if status.code() == Code::Unimplemented
                && status.message().to_ascii_lowercase().contains("compress") =>
        {
            let name = compress.name();
            Status::unimplemented(format!(
                "the server does not accept {name}-compressed requests (it said: {}); \
                 call again without --compress",
                status.message()
            ))
        }
        _ => status,
    }
}

/// A started call: response headers, then messages (as wire bytes of the
/// method's output type), then trailers.
pub struct Response {
    pub headers: MetadataMap,
    stream: Streaming<Bytes>,
    compress: Option<Compression>,
    verbose: Verbose,
}

impl Response {
    /// The next message if one is already here, without waiting.
    pub fn ready_message(&mut self) -> Option<Result<Option<Bytes>, Status>> {
        let next = self.stream.message().now_or_never()?;
        Some(next.map_err(|status| self.failed(status)))
    }

    /// The next message, or `None` at the end of a successful stream.
    pub async fn message(&mut self) -> Result<Option<Bytes>, Status> {
        let next = self.stream.message().await;
        next.map_err(|status| self.failed(status))
    }

    /// The trailers, after the last message.
    pub async fn trailers(&mut self) -> Result<MetadataMap, Status> {
        let trailers = self
            .stream
            .trailers()
            .await
            .map_err(|status| self.failed(status))?
            .unwrap_or_default();
        self.verbose.end(&trailers, None);
        Ok(trailers)
    }

    /// Words a failed call the way the user can act on: what broke under
    /// the call first (a recorded connection failure, a size limit), then
    /// what HTTP/2 said.
    fn failed(&self, status: Status) -> Status {
        let shown = broken(explain(status.clone(), self.compress));
        self.verbose.failed(&status, &shown);
        shown
    }
}

/// Why the server never processed a call that failed before its response,
/// so that it may be made again: hyper dropped it unsent when the
/// connection closed, or HTTP/2 says so ([`transport::never_processed`]).
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct Unprocessed(String);

/// The status of a call the server never processed (see [`Unprocessed`],
/// which it carries as its source), or `None`.
fn unprocessed(status: &Status) -> Option<Status> {
    let mut cause = std::error::Error::source(status);
    let why = loop {
        let err = cause?;
        if let Some(h2) = err.downcast_ref::<h2::Error>() {
            if !transport::never_processed(h2) {
                return None;
            }
            let reason = h2.reason().unwrap_or(h2::Reason::NO_ERROR);
            break match h2.is_go_away() {
                true => format!("GOAWAY {reason:?}"),
                false => format!("RST_STREAM {reason:?}"),
            };
        }
        if let Some(hyper) = err.downcast_ref::<hyper::Error>()
            && hyper.is_canceled()
        {
            break "it closed before the call was sent".to_string();
        }
        cause = err.source();
    };
    let why = Unprocessed(why);
    let mut status = Status::unavailable(format!(
        "the server closed the connection without taking the call ({why})"
    ));
    status.set_source(std::sync::Arc::new(why));
    Some(status)
}

/// Whether the server never processed the call that `status` ended, so that
/// it may be made again as it was.
pub fn is_unprocessed(status: &Status) -> bool {
    std::error::Error::source(status).is_some_and(|err| err.is::<Unprocessed>())
}

/// Says what broke when a call ends not with a status from the server but
/// with a transport failure (tonic then calls it "Unknown: h2 protocol error:
/// error reading a body from connection"). Codes follow gRPC's HTTP/2 mapping
/// (PROTOCOL-HTTP2.md): a reset stream by its reason; a GOAWAY or a broken
/// connection is Unavailable. A status the server sent has no source and is
/// left as it is.
fn broken(status: Status) -> Status {
    let mut cause = std::error::Error::source(&status);
    while let Some(err) = cause {
        if let Some(h2) = err.downcast_ref::<h2::Error>() {
            return h2_status(h2, status.code());
        }
        if let Some(io) = err.downcast_ref::<std::io::Error>() {
            return Status::unavailable(format!("the connection broke mid-call: {io}"));
        }
        cause = err.source();
    }
    status
}

/// The status of a call that an HTTP/2 error ended (see [`broken`]); `code`
/// when the error says nothing more precise.
pub(crate) fn h2_status(h2: &h2::Error, code: Code) -> Status {
    let reason = h2.reason().unwrap_or(h2::Reason::INTERNAL_ERROR);
    if h2.is_go_away() {
        Status::unavailable(format!(
            "the server closed the connection mid-call (GOAWAY {reason:?})"
        ))
    } else if h2.is_reset() && h2.is_remote() {
        let code = match reason {
            h2::Reason::REFUSED_STREAM => Code::Unavailable,
            h2::Reason::CANCEL => Code::Cancelled,
            h2::Reason::ENHANCE_YOUR_CALM => Code::ResourceExhausted,
            h2::Reason::INADEQUATE_SECURITY => Code::PermissionDenied,
            _ => Code::Internal,
        };
        Status::new(
            code,
            format!("the server reset the stream (RST_STREAM {reason:?})"),
        )
    } else if let Some(io) = h2.get_io() {
        Status::unavailable(format!("the connection broke mid-call: {io}"))
    } else {
        Status::new(code, format!("HTTP/2 error: {h2}"))
    }
}
