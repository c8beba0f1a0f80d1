//! One path for all four kinds of call.
//!
//! Every call is a tonic streaming call: requests are a stream (one message
//! for unary and server streaming), responses are a stream (one message for
//! unary and client streaming). The method kind decides only how many
//! requests the caller feeds in; the wire and this code are the same.

use bytes::Bytes;
use futures_util::{FutureExt as _, Stream};
use prost_reflect::{DynamicMessage, MethodDescriptor};
use tonic::metadata::MetadataMap;
use tonic::transport::Channel;
use tonic::{Code, Status, Streaming};

use crate::codec::DynamicCodec;

/// Starts a call: sends the headers and the request stream (half-closing
/// when it ends) and waits for the response headers.
pub async fn start<S>(
    channel: Channel,
    method: &MethodDescriptor,
    requests: S,
    metadata: MetadataMap,
    max_message_size: usize,
) -> Result<Response, Status>
where
    S: Stream<Item = DynamicMessage> + Send + 'static,
{
    let mut grpc = tonic::client::Grpc::new(channel)
        .max_decoding_message_size(max_message_size)
        .max_encoding_message_size(usize::MAX);
    grpc.ready()
        .await
        .map_err(|err| Status::unavailable(format!("the connection failed: {err}")))?;
    let path = format!("/{}/{}", method.parent_service().full_name(), method.name());
    let path = http::uri::PathAndQuery::try_from(path)
        .map_err(|err| Status::internal(format!("invalid method path: {err}")))?;
    let mut request = tonic::Request::new(requests);
    *request.metadata_mut() = metadata;
    let response = grpc.streaming(request, path, DynamicCodec).await?;
    let (headers, stream, _) = response.into_parts();
    Ok(Response { headers, stream })
}

/// A started call: response headers, then messages (as wire bytes of the
/// method's output type), then trailers.
pub struct Response {
    pub headers: MetadataMap,
    stream: Streaming<Bytes>,
}

impl Response {
    /// The next message if one is already here, without waiting.
    pub fn ready_message(&mut self) -> Option<Result<Option<Bytes>, Status>> {
        self.stream
            .message()
            .now_or_never()
            .map(|next| next.map_err(broken))
    }

    /// The next message, or `None` at the end of a successful stream.
    pub async fn message(&mut self) -> Result<Option<Bytes>, Status> {
        self.stream.message().await.map_err(broken)
    }

    /// The trailers, after the last message.
    pub async fn trailers(&mut self) -> Result<MetadataMap, Status> {
        Ok(self
            .stream
            .trailers()
            .await
            .map_err(broken)?
            .unwrap_or_default())
    }
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
            let reason = h2.reason().unwrap_or(h2::Reason::INTERNAL_ERROR);
            return if h2.is_go_away() {
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
                Status::new(status.code(), format!("HTTP/2 error: {h2}"))
            };
        }
        if let Some(io) = err.downcast_ref::<std::io::Error>() {
            return Status::unavailable(format!("the connection broke mid-call: {io}"));
        }
        cause = err.source();
    }
    status
}
