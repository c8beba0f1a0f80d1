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
use tonic::{Status, Streaming};

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
        self.stream.message().now_or_never()
    }

    /// The next message, or `None` at the end of a successful stream.
    pub async fn message(&mut self) -> Result<Option<Bytes>, Status> {
        self.stream.message().await
    }

    /// The trailers, after the last message.
    pub async fn trailers(&mut self) -> Result<MetadataMap, Status> {
        Ok(self.stream.trailers().await?.unwrap_or_default())
    }
}
