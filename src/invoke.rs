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
use futures_util::{FutureExt as _, Stream, StreamExt as _};
use prost_reflect::MethodDescriptor;
use tonic::codec::CompressionEncoding;
use tonic::metadata::MetadataMap;
use tonic::{Status, Streaming};

use crate::cli::{Compression, ConnArgs};
use crate::codec::{DynamicCodec, Outgoing};
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
pub async fn start<S>(
    channel: impl Into<Channel>,
    method: &MethodDescriptor,
    requests: S,
    metadata: MetadataMap,
    options: &CallOptions,
) -> Result<Response, Status>
where
    S: Stream + Send + 'static,
    S::Item: Into<Outgoing>,
{
    let requests = requests.map(Into::into);
    let channel = channel.into();
    let fail = |status: Status| {
        let status = transport::explain(status, options.compress);
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
        request
            .extensions_mut()
            .insert(transport::h2::Deadline::after(
                timeout,
                options.limit.unwrap_or(timeout),
            ));
    }
    options.verbose.request(path.as_str(), request.metadata());
    let response = grpc
        .streaming(request, path, DynamicCodec)
        .await
        .map_err(|status| {
            // A connection that failed says why first; then a call the
            // server never took says so, marked to be made again.
            let shown = transport::explain(status.clone(), options.compress);
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
        let shown = transport::explain(status.clone(), self.compress);
        self.verbose.failed(&status, &shown);
        shown
    }
}

/// Whether the server never processed the call that `status` ended, so that
/// it may be made again as it was.
pub use transport::is_unprocessed;
