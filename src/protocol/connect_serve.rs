//! Connect for `grpcx serve`: a tower layer in front of the gRPC services
//! that turns a Connect request into a gRPC one and the gRPC answer back
//! into Connect (the mirror of `connect.rs`). Anything else passes through.
//!
//! - unary (`application/proto`): the bare body becomes one gRPC frame; the
//!   answer's message goes back bare, its trailers as `trailer-` headers, a
//!   failure as an HTTP status with the JSON `{code, message, details}`;
//! - streaming (`application/connect+proto`): the frames are the same both
//!   ways; the gRPC trailers become the end-of-stream message.

use std::task::{Context, Poll};

use base64::Engine as _;
use bytes::Bytes;
use futures_util::future::BoxFuture;
use http::header::{CONTENT_ENCODING, CONTENT_LENGTH, CONTENT_TYPE, TE};
use http::{HeaderMap, HeaderName, HeaderValue, StatusCode};
use http_body::Frame;
use http_body_util::BodyExt as _;
use serde_json::{Value, json};
use tonic::body::Body;
use tonic::{Code, Status};
use tower_service::Service;

use super::BoxError;
use super::connect::{CODE_NAMES, END_STREAM};
use super::grpc::{self, COMPRESSED, Deframer};
use crate::status::type_name;

/// The Connect protocol in front of a gRPC service, as a tower layer.
#[derive(Debug, Clone)]
pub struct ConnectService<S> {
    pub inner: S,
}

impl<S, ResBody> Service<http::Request<Body>> for ConnectService<S>
where
    S: Service<http::Request<Body>, Response = http::Response<ResBody>> + Clone + Send + 'static,
    S::Future: Send,
    S::Error: Into<BoxError>,
    ResBody: http_body::Body<Data = Bytes> + Send + 'static,
    ResBody::Error: Into<BoxError>,
{
    type Response = http::Response<Body>;
    type Error = BoxError;
    type Future = BoxFuture<'static, Result<http::Response<Body>, BoxError>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), BoxError>> {
        self.inner.poll_ready(cx).map_err(Into::into)
    }

    fn call(&mut self, request: http::Request<Body>) -> Self::Future {
        let content_type = super::content_type(request.headers());
        // The ready service takes this call; a clone waits for the next.
        let clone = self.inner.clone();
        let mut inner = std::mem::replace(&mut self.inner, clone);
        match content_type.as_str() {
            "application/proto" => Box::pin(unary(inner, request)),
            "application/connect+proto" => Box::pin(streaming(inner, request)),
            _ => {
                let call = inner.call(request);
                Box::pin(async move {
                    let response = call.await.map_err(Into::into)?;
                    Ok(response.map(Body::new))
                })
            }
        }
    }
}

/// Connect's request headers as gRPC's; `unary` names the encoding headers.
fn grpc_request(parts: &mut http::request::Parts, unary: bool) {
    let headers = &mut parts.headers;
    headers.insert(CONTENT_TYPE, HeaderValue::from_static("application/grpc"));
    headers.insert(TE, HeaderValue::from_static("trailers"));
    headers.remove("connect-protocol-version");
    headers.remove(CONTENT_LENGTH);
    if let Some(ms) = headers.remove("connect-timeout-ms")
        && let Ok(value) = HeaderValue::from_str(&format!("{}m", ms.to_str().unwrap_or("0")))
    {
        headers.insert("grpc-timeout", value);
    }
    let (encoding, accept) = match unary {
        true => ("content-encoding", "accept-encoding"),
        false => ("connect-content-encoding", "connect-accept-encoding"),
    };
    if let Some(value) = headers.remove(encoding) {
        headers.insert("grpc-encoding", value);
    }
    if let Some(value) = headers.remove(accept) {
        headers.insert("grpc-accept-encoding", value);
    }
    // tonic-web, behind this layer, passes HTTP/2 requests through.
    parts.version = http::Version::HTTP_2;
}

async fn unary<S, ResBody>(
    mut inner: S,
    request: http::Request<Body>,
) -> Result<http::Response<Body>, BoxError>
where
    S: Service<http::Request<Body>, Response = http::Response<ResBody>>,
    S::Error: Into<BoxError>,
    ResBody: http_body::Body<Data = Bytes> + Send + 'static,
    ResBody::Error: Into<BoxError>,
{
    let (mut parts, body) = request.into_parts();
    let encoding = parts.headers.get(CONTENT_ENCODING);
    let compressed = encoding.is_some_and(|v| v != "identity");
    grpc_request(&mut parts, true);
    let message = body.collect().await?.to_bytes();
    let flags = if compressed { COMPRESSED } else { 0 };
    let body = Body::new(http_body_util::Full::new(grpc::frame(flags, &message)));
    let response = inner
        .call(http::Request::from_parts(parts, body))
        .await
        .map_err(Into::into)?;
    let (mut parts, body) = response.into_parts();
    let (message, trailers) = if parts.headers.contains_key("grpc-status") {
        (None, std::mem::take(&mut parts.headers))
    } else {
        let collected = body.collect().await.map_err(Into::into)?;
        let trailers = collected.trailers().cloned().unwrap_or_default();
        let mut frames = Deframer::default();
        frames.push_bytes(collected.to_bytes());
        (frames.pop(), trailers)
    };
    let status = Status::from_header_map(&trailers)
        .unwrap_or_else(|| Status::internal("the service sent no grpc-status"));
    let mut headers = metadata_of(&parts.headers);
    for (name, value) in metadata_of(&trailers).iter() {
        if let Ok(name) = HeaderName::from_bytes(format!("trailer-{name}").as_bytes()) {
            headers.append(name, value.clone());
        }
    }
    let encoding = parts.headers.get("grpc-encoding").cloned();
    let mut response = match (status.code(), message) {
        (Code::Ok, Some((flags, message))) => {
            if flags & COMPRESSED != 0
                && let Some(encoding) = encoding
            {
                headers.insert(CONTENT_ENCODING, encoding);
            }
            headers.insert(CONTENT_TYPE, HeaderValue::from_static("application/proto"));
            http::Response::new(Body::new(http_body_util::Full::new(message)))
        }
        (code, _) => {
            let status = match code {
                Code::Ok => Status::internal("the service sent no message"),
                _ => status,
            };
            headers.insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
            let body = serde_json::to_vec(&error_json(&status))?;
            let mut response =
                http::Response::new(Body::new(http_body_util::Full::new(Bytes::from(body))));
            *response.status_mut() = http_status(status.code());
            response
        }
    };
    *response.headers_mut() = headers;
    Ok(response)
}

async fn streaming<S, ResBody>(
    mut inner: S,
    request: http::Request<Body>,
) -> Result<http::Response<Body>, BoxError>
where
    S: Service<http::Request<Body>, Response = http::Response<ResBody>>,
    S::Error: Into<BoxError>,
    ResBody: http_body::Body<Data = Bytes> + Send + 'static,
    ResBody::Error: Into<BoxError>,
{
    let (mut parts, body) = request.into_parts();
    grpc_request(&mut parts, false);
    let response = inner
        .call(http::Request::from_parts(parts, body))
        .await
        .map_err(Into::into)?;
    let (mut parts, body) = response.into_parts();
    let mut headers = metadata_of(&parts.headers);
    headers.insert(
        CONTENT_TYPE,
        HeaderValue::from_static("application/connect+proto"),
    );
    if let Some(encoding) = parts.headers.get("grpc-encoding") {
        headers.insert("connect-content-encoding", encoding.clone());
    }
    let sent = std::mem::replace(&mut parts.headers, headers);
    parts.status = StatusCode::OK;
    // Trailers-only: the status is in the headers, and there is no body.
    if sent.contains_key("grpc-status") {
        let end = Frame::data(end_stream(&sent));
        let body =
            http_body_util::StreamBody::new(futures_util::stream::iter([Ok::<_, BoxError>(end)]));
        return Ok(http::Response::from_parts(parts, Body::new(body)));
    }
    // The frames are the same both ways; the trailers become the last one.
    let body = body.map_frame(|frame| match frame.into_trailers() {
        Ok(trailers) => Frame::data(end_stream(&trailers)),
        Err(frame) => frame,
    });
    let body = body.map_err(Into::<BoxError>::into);
    Ok(http::Response::from_parts(parts, Body::new(body)))
}

/// The end-of-stream message for these gRPC trailers.
fn end_stream(trailers: &HeaderMap) -> Bytes {
    let status = Status::from_header_map(trailers)
        .unwrap_or_else(|| Status::internal("the service sent no grpc-status"));
    let headers = metadata_of(trailers);
    let metadata: serde_json::Map<String, Value> = headers
        .keys()
        .map(|name| {
            let values = headers.get_all(name).iter().filter_map(|v| v.to_str().ok());
            (name.to_string(), values.collect())
        })
        .collect();
    let mut end = json!({ "metadata": metadata });
    if status.code() != Code::Ok {
        end["error"] = error_json(&status);
    }
    let json = serde_json::to_vec(&end).unwrap_or_default();
    grpc::frame(END_STREAM, &json)
}

/// Headers without gRPC's own (status, encoding, content-type).
fn metadata_of(headers: &HeaderMap) -> HeaderMap {
    let metadata = headers.iter().filter(|(name, _)| {
        !name.as_str().starts_with("grpc-")
            && !matches!(name.as_str(), "content-type" | "content-length" | "te")
    });
    metadata
        .map(|(name, value)| (name.clone(), value.clone()))
        .collect()
}

/// Connect's error JSON for a status, its details unpacked from
/// `grpc-status-details-bin`.
fn error_json(status: &Status) -> Value {
    let b64 = base64::engine::general_purpose::STANDARD_NO_PAD;
    let details: Vec<Value> = crate::status::anys(status)
        .into_iter()
        .map(|any| json!({ "type": type_name(&any.type_url), "value": b64.encode(&any.value) }))
        .collect();
    let code = CODE_NAMES[status.code() as usize];
    let mut error = json!({ "code": code, "message": status.message() });
    if !details.is_empty() {
        error["details"] = Value::Array(details);
    }
    error
}

/// The HTTP status of a unary Connect error (Connect's protocol spec).
fn http_status(code: Code) -> StatusCode {
    let n = match code {
        Code::Cancelled => 499,
        Code::InvalidArgument | Code::FailedPrecondition | Code::OutOfRange => 400,
        Code::DeadlineExceeded => 504,
        Code::NotFound => 404,
        Code::AlreadyExists | Code::Aborted => 409,
        Code::PermissionDenied => 403,
        Code::ResourceExhausted => 429,
        Code::Unimplemented => 501,
        Code::Unavailable => 503,
        Code::Unauthenticated => 401,
        _ => 500,
    };
    StatusCode::from_u16(n).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::status::RpcStatus;
    use prost::Message as _;

    #[test]
    fn errors_become_connect_json_with_their_details() {
        let details = RpcStatus {
            code: 5,
            message: "gone".into(),
            details: vec![prost_types::Any {
                type_url: "type.googleapis.com/grpcx.test.v1.Note".into(),
                value: vec![1, 2],
            }],
        }
        .encode_to_vec();
        let status = Status::with_details(Code::NotFound, "gone", details.into());
        assert_eq!(
            error_json(&status),
            json!({"code": "not_found", "message": "gone",
                   "details": [{"type": "grpcx.test.v1.Note", "value": "AQI"}]})
        );
        assert_eq!(http_status(Code::NotFound), StatusCode::NOT_FOUND);
        assert_eq!(
            http_status(Code::Unavailable),
            StatusCode::SERVICE_UNAVAILABLE
        );
    }

    #[test]
    fn trailers_become_the_end_of_stream_message() {
        let mut trailers = HeaderMap::new();
        trailers.insert("grpc-status", HeaderValue::from_static("0"));
        trailers.insert("echo-a", HeaderValue::from_static("1"));
        let frame = end_stream(&trailers);
        assert_eq!(frame[0], END_STREAM);
        let end: Value = serde_json::from_slice(&frame[5..]).unwrap();
        assert_eq!(end, json!({"metadata": {"echo-a": ["1"]}}));
    }
}
