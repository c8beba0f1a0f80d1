//! Behaviour driven by request metadata, as a tower layer around every
//! service of the bundled server:
//!
//! | key | effect |
//! |---|---|
//! | `x-grpcx-delay-ms: N` | wait N ms before answering |
//! | `x-grpcx-fail: CODE` | end the call with this status (number or `NOT_FOUND`-style name) |
//! | `x-grpcx-fail-message: TEXT` | the status message (default `failed on request`) |
//! | `x-grpcx-fail-after: N` | on a server stream, send N messages first |
//! | `x-grpcx-fail-details: 1` | attach `grpc-status-details-bin` (see [`details`]) |
//! | `echo-*` | copied to the response headers and the trailers |

use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::Bytes;
use http::HeaderMap;
use http_body::{Frame, SizeHint};
use prost::Message;
use tonic::metadata::MetadataMap;
use tonic::{Code, Status};

const DELAY: &str = "x-grpcx-delay-ms";
const FAIL: &str = "x-grpcx-fail";
const FAIL_MESSAGE: &str = "x-grpcx-fail-message";
const FAIL_AFTER: &str = "x-grpcx-fail-after";
const FAIL_DETAILS: &str = "x-grpcx-fail-details";
const ECHO_PREFIX: &str = "echo-";

/// A failure the request metadata asked for.
pub struct FailPlan {
    code: Code,
    message: String,
    details: bool,
    /// Messages to send before failing (server streams only).
    pub after: usize,
}

impl FailPlan {
    fn from_headers(headers: &HeaderMap) -> Option<FailPlan> {
        let text = |key: &str| {
            headers
                .get(key)
                .and_then(|v| v.to_str().ok())
                .map(str::trim)
        };
        let code = crate::status::parse_code(text(FAIL)?)?;
        Some(FailPlan {
            code,
            message: text(FAIL_MESSAGE)
                .unwrap_or("failed on request")
                .to_string(),
            details: text(FAIL_DETAILS).is_some_and(|v| v == "1" || v == "true"),
            after: text(FAIL_AFTER).and_then(|v| v.parse().ok()).unwrap_or(0),
        })
    }

    /// The plan of a server-streaming call that fails partway.
    pub fn after(metadata: &MetadataMap) -> Option<FailPlan> {
        let headers = metadata.as_ref();
        Self::from_headers(headers).filter(|_| headers.contains_key(FAIL_AFTER))
    }

    pub fn status(&self) -> Status {
        if self.details {
            Status::with_details(
                self.code,
                self.message.clone(),
                details(self.code, &self.message),
            )
        } else {
            Status::new(self.code, self.message.clone())
        }
    }
}

#[derive(Clone, PartialEq, Message)]
struct ErrorInfo {
    #[prost(string, tag = "1")]
    reason: String,
    #[prost(string, tag = "2")]
    domain: String,
    #[prost(map = "string, string", tag = "3")]
    metadata: std::collections::HashMap<String, String>,
}

/// A `google.rpc.Status` with three details: an `ErrorInfo` (known without
/// a schema), a `grpcx.test.v1.Note` (known to the schema), and a type no
/// schema knows.
fn details(code: Code, message: &str) -> Bytes {
    let error_info = ErrorInfo {
        reason: "GRPCX_TEST".into(),
        domain: "grpcx.test".into(),
        metadata: [("key".to_string(), "value".to_string())].into(),
    };
    let note = super::pb::test::Note {
        text: "detail".into(),
        stars: 5,
    };
    let status = crate::status::RpcStatus {
        code: code as i32,
        message: message.to_string(),
        details: vec![
            prost_types::Any {
                type_url: "type.googleapis.com/google.rpc.ErrorInfo".into(),
                value: error_info.encode_to_vec(),
            },
            prost_types::Any {
                type_url: "type.googleapis.com/grpcx.test.v1.Note".into(),
                value: note.encode_to_vec(),
            },
            prost_types::Any {
                type_url: "type.googleapis.com/example.Unknown".into(),
                value: vec![1, 2],
            },
        ],
    };
    status.encode_to_vec().into()
}

/// The service, as a tower layer, that applies the behaviour to every call.
#[derive(Debug, Clone)]
pub struct Behaviour<S> {
    pub inner: S,
    pub log: bool,
}

type BoxFuture<T> = Pin<Box<dyn Future<Output = T> + Send>>;

impl<S, B> tower_service::Service<http::Request<B>> for Behaviour<S>
where
    S: tower_service::Service<http::Request<B>, Response = http::Response<tonic::body::Body>>
        + Clone
        + Send
        + 'static,
    S::Future: Send,
    B: Send + 'static,
{
    type Response = http::Response<tonic::body::Body>;
    type Error = S::Error;
    type Future = BoxFuture<Result<Self::Response, Self::Error>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: http::Request<B>) -> Self::Future {
        let path = request.uri().path();
        let headers = request.headers();
        let echo: HeaderMap = headers
            .iter()
            .filter(|(name, _)| name.as_str().starts_with(ECHO_PREFIX))
            .map(|(name, value)| (name.clone(), value.clone()))
            .collect();
        if self.log {
            // The echo-* keys show which headers reached which request
            // (reflection or call), e.g. for --reflect-header.
            let keys: Vec<&str> = echo.keys().map(|name| name.as_str()).collect();
            // The user-agent shows which client called (and that grpcx
            // names itself).
            let agent = match headers.get(http::header::USER_AGENT) {
                Some(agent) => format!(
                    " user-agent={:?}",
                    String::from_utf8_lossy(agent.as_bytes())
                ),
                None => String::new(),
            };
            if keys.is_empty() {
                eprintln!("grpcx serve: {path}{agent}");
            } else {
                eprintln!("grpcx serve: {path}{agent} [{}]", keys.join(" "));
            }
        }
        // Reflection and health are infrastructure: the metadata that makes a
        // test call fail must not break the schema lookup before it.
        if path.starts_with("/grpc.") {
            return Box::pin(self.inner.call(request));
        }
        let delay = headers
            .get(DELAY)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().parse::<u64>().ok())
            .map(Duration::from_millis);
        let fail_now =
            FailPlan::from_headers(headers).filter(|_| !headers.contains_key(FAIL_AFTER));
        // The clone serves this call; the ready one stays for the next.
        let clone = self.inner.clone();
        let mut inner = std::mem::replace(&mut self.inner, clone);
        Box::pin(async move {
            if let Some(delay) = delay {
                tokio::time::sleep(delay).await;
            }
            let mut response = match fail_now {
                Some(plan) => plan.status().into_http(),
                None => inner.call(request).await?,
            };
            if echo.is_empty() {
                return Ok(response);
            }
            for (name, value) in &echo {
                response.headers_mut().append(name.clone(), value.clone());
            }
            Ok(response.map(|body| {
                tonic::body::Body::new(WithTrailers {
                    inner: body,
                    extra: echo,
                })
            }))
        })
    }
}

/// A response body that adds headers to its trailers.
struct WithTrailers {
    inner: tonic::body::Body,
    extra: HeaderMap,
}

impl http_body::Body for WithTrailers {
    type Data = Bytes;
    type Error = Status;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Status>>> {
        let this = &mut *self;
        Pin::new(&mut this.inner)
            .poll_frame(cx)
            .map_ok(|frame| match frame.into_trailers() {
                Ok(mut trailers) => {
                    for (name, value) in &this.extra {
                        trailers.append(name.clone(), value.clone());
                    }
                    Frame::trailers(trailers)
                }
                Err(frame) => frame,
            })
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::status::parse_code;

    #[test]
    fn codes_by_number_and_name() {
        assert_eq!(parse_code("5"), Some(Code::NotFound));
        assert_eq!(parse_code("NOT_FOUND"), Some(Code::NotFound));
        assert_eq!(parse_code("Unavailable"), Some(Code::Unavailable));
        assert_eq!(parse_code("nope"), None);
    }
}
