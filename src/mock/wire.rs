//! The mock's side of the gRPC wire: request messages read from the body
//! (decompressed, decoded as the method's input), and responses written as
//! a head, frames and trailers that a task fills in at its own pace.

use bytes::Bytes;
use http::{HeaderMap, HeaderValue};
use http_body::Frame;
use http_body_util::{BodyExt as _, StreamBody};
use prost_reflect::{DynamicMessage, MessageDescriptor};
use tokio::sync::mpsc;
use tokio_stream::StreamExt as _;
use tokio_stream::wrappers::ReceiverStream;
use tonic::Status;
use tonic::body::Body;

use crate::cli::Compression;
use crate::protocol::grpc::{self, COMPRESSED, Deframer};
use crate::schema::DEFAULT_MAX_MESSAGE_SIZE;

/// The request messages of one call, as they arrive.
pub struct Requests {
    body: Body,
    frames: Deframer,
    encoding: Option<Compression>,
    input: MessageDescriptor,
    ended: bool,
}

impl Requests {
    pub fn new(
        body: Body,
        headers: &HeaderMap,
        input: MessageDescriptor,
    ) -> Result<Requests, Status> {
        let encoding = grpc::response_encoding(headers).map_err(|_| {
            Status::unimplemented(format!(
                "the request is compressed with {}, which this server does not take (gzip, zstd)",
                headers
                    .get("grpc-encoding")
                    .and_then(|v| v.to_str().ok())
                    .unwrap_or("?")
            ))
        })?;
        Ok(Requests {
            body,
            frames: Deframer::with_limit(DEFAULT_MAX_MESSAGE_SIZE),
            encoding,
            input,
            ended: false,
        })
    }

    /// The next message, as wire bytes and decoded; `None` once the client
    /// half-closed.
    pub async fn next(&mut self) -> Result<Option<(Bytes, DynamicMessage)>, Status> {
        loop {
            if let Some((flags, payload)) = self.frames.next_frame()? {
                let bytes = match flags {
                    0 => payload,
                    COMPRESSED => match self.encoding {
                        Some(how) => grpc::decompress(how, &payload, DEFAULT_MAX_MESSAGE_SIZE)?,
                        None => {
                            return Err(Status::internal(
                                "a compressed request message, but no grpc-encoding",
                            ));
                        }
                    },
                    other => {
                        return Err(Status::internal(format!(
                            "a request frame with flags {other:#04x}, which gRPC does not define"
                        )));
                    }
                };
                let message =
                    DynamicMessage::decode(self.input.clone(), bytes.clone()).map_err(|err| {
                        Status::invalid_argument(format!(
                            "the request is not a {}: {err}",
                            self.input.full_name()
                        ))
                    })?;
                return Ok(Some((bytes, message)));
            }
            if self.ended {
                if !self.frames.is_empty() {
                    return Err(Status::internal("the request ended inside a message"));
                }
                return Ok(None);
            }
            match self.body.frame().await {
                Some(Ok(frame)) => {
                    if let Ok(data) = frame.into_data() {
                        self.frames.push_bytes(data);
                    }
                }
                Some(Err(err)) => {
                    return Err(Status::cancelled(format!("the request broke off: {err}")));
                }
                None => self.ended = true,
            }
        }
    }
}

/// Where a call's answer is written: messages, then trailers.
pub struct Answer {
    tx: mpsc::Sender<Frame<Bytes>>,
}

impl Answer {
    /// The response's head (with `headers` beside gRPC's own) and the
    /// writer of its body.
    pub fn start(headers: HeaderMap) -> (http::Response<Body>, Answer) {
        let (tx, rx) = mpsc::channel::<Frame<Bytes>>(16);
        let body = StreamBody::new(ReceiverStream::new(rx).map(Ok::<_, Status>));
        let mut response = http::Response::new(Body::new(body));
        *response.headers_mut() = headers;
        response.headers_mut().insert(
            http::header::CONTENT_TYPE,
            HeaderValue::from_static("application/grpc"),
        );
        (response, Answer { tx })
    }

    /// Sends one message; false when the client has gone.
    pub async fn message(&self, bytes: &[u8]) -> bool {
        self.tx
            .send(Frame::data(grpc::frame(0, bytes)))
            .await
            .is_ok()
    }

    /// Ends the call with `status` and `extra` trailers.
    pub async fn end(self, status: &Status, extra: HeaderMap) {
        let mut trailers = grpc::trailers(status);
        for (name, value) in &extra {
            trailers.append(name.clone(), value.clone());
        }
        let _ = self.tx.send(Frame::trailers(trailers)).await;
    }

    /// Whether the client is gone (the call was cancelled).
    pub fn is_gone(&self) -> bool {
        self.tx.is_closed()
    }
}

/// A call that fails before any answer: a trailers-only response.
pub fn trailers_only(status: &Status, extra: HeaderMap) -> http::Response<Body> {
    let mut response = http::Response::new(Body::empty());
    let headers = response.headers_mut();
    *headers = extra;
    headers.insert(
        http::header::CONTENT_TYPE,
        HeaderValue::from_static("application/grpc"),
    );
    for (name, value) in &grpc::trailers(status) {
        headers.insert(name.clone(), value.clone());
    }
    response
}

/// The request headers a log or a recording keeps: not gRPC's own.
pub fn user_headers(headers: &HeaderMap) -> HeaderMap {
    let mut kept = HeaderMap::new();
    for (name, value) in headers {
        let name_str = name.as_str();
        if matches!(name_str, "te" | "content-type" | "content-length" | "host")
            || (name_str.starts_with("grpc-") && name_str != "grpc-timeout")
        {
            continue;
        }
        kept.append(name.clone(), value.clone());
    }
    kept
}
