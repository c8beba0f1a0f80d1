//! Connect (connectrpc.com/docs/protocol), over HTTP/1.1 or HTTP/2.
//!
//! - unary request: the bare message as the body, `application/proto`,
//!   `Content-Encoding` for a compressed one; streaming request:
//!   `application/connect+proto`, gRPC's frames, `Connect-Content-Encoding`.
//!   Both send `Connect-Protocol-Version: 1` and `Connect-Timeout-Ms`;
//! - unary response: the bare message, trailers as `trailer-` headers; an
//!   error is an HTTP status with a JSON body `{code, message, details}`;
//! - streaming response: frames, flags `0x01` compressed, `0x02` the end of
//!   the stream, whose JSON `{error, metadata}` holds status and trailers;
//! - errors: Connect's codes (`not_found`, …) are gRPC's codes by name.

use crate::status::RpcStatus;
use base64::Engine as _;
use bytes::{Bytes, BytesMut};
use http::header::{CONTENT_ENCODING, CONTENT_LENGTH, CONTENT_TYPE, TE};
use http::{HeaderMap, HeaderName, HeaderValue};
use http_body_util::BodyExt as _;
use prost::Message as _;
use serde_json::Value;
use tonic::body::Body;
use tonic::metadata::MetadataMap;
use tonic::{Code, Status};

use super::grpc::{self, COMPRESSED, Deframer};
use super::{BoxError, CallKind, Decode, Out};

/// The flag of the end-of-stream message.
pub(super) const END_STREAM: u8 = 0x02;

/// The request transformer. A unary call's body is read whole first (it
/// is one message), to send it bare.
pub async fn request(
    request: http::Request<Body>,
    kind: CallKind,
) -> Result<http::Request<Body>, BoxError> {
    let (mut parts, body) = request.into_parts();
    let headers = &mut parts.headers;
    headers.remove(TE);
    headers.insert("connect-protocol-version", HeaderValue::from_static("1"));
    if let Some(timeout) = headers.remove("grpc-timeout")
        && let Some(ms) = timeout.to_str().ok().and_then(timeout_ms)
    {
        headers.insert("connect-timeout-ms", HeaderValue::from(ms));
    }
    let (content_type, content_encoding, accept_encoding) = if kind.is_unary() {
        ("application/proto", "content-encoding", "accept-encoding")
    } else {
        (
            "application/connect+proto",
            "connect-content-encoding",
            "connect-accept-encoding",
        )
    };
    let encoding = headers.remove("grpc-encoding");
    if let Some(accept) = headers.remove("grpc-accept-encoding") {
        headers.insert(accept_encoding, accept);
    }
    headers.insert(CONTENT_TYPE, HeaderValue::from_static(content_type));
    if !kind.is_unary() {
        if let Some(encoding) = encoding {
            headers.insert(content_encoding, encoding);
        }
        return Ok(http::Request::from_parts(parts, body));
    }
    let bytes = body.collect().await?.to_bytes();
    let mut frames = Deframer::default();
    frames.push_bytes(bytes);
    let (flags, message) = frames.pop().ok_or("a unary request without its message")?;
    if flags & COMPRESSED != 0
        && let Some(encoding) = encoding
    {
        headers.insert(content_encoding, encoding);
    }
    headers.insert(CONTENT_LENGTH, HeaderValue::from(message.len()));
    Ok(http::Request::from_parts(
        parts,
        Body::new(http_body_util::Full::new(message)),
    ))
}

/// gRPC's `grpc-timeout` in milliseconds, rounded up, in Connect's 10 digits.
fn timeout_ms(value: &str) -> Option<u64> {
    grpc::timeout_nanos(value).map(|n| n.div_ceil(1_000_000).min(9_999_999_999) as u64)
}

/// The response parser; `limit` is the largest message accepted.
pub async fn response(
    response: http::Response<Body>,
    kind: CallKind,
    limit: usize,
) -> http::Response<Body> {
    let (mut parts, body) = response.into_parts();
    if !parts.status.is_success() {
        // The error mapper: the JSON body, else the HTTP status.
        let bytes = match http_body_util::Limited::new(body, limit).collect().await {
            Ok(body) => body.to_bytes(),
            Err(err) => {
                let status = Status::unavailable(format!("the connection broke mid-call: {err}"));
                return super::failed(parts, &status);
            }
        };
        let trailers = split_trailers(&mut parts.headers);
        let status = match serde_json::from_slice::<Value>(&bytes) {
            Ok(error) if error.get("code").is_some_and(Value::is_string) => {
                status(&error, trailers)
            }
            _ => grpc::http_error(parts.status, "not a Connect error"),
        };
        return super::failed(parts, &status);
    }
    let content_type = super::content_type(&parts.headers);
    let want = if kind.is_unary() {
        "application/proto"
    } else {
        "application/connect+proto"
    };
    if content_type != want {
        let status = Status::internal(format!(
            "the server answered content-type '{content_type}', not Connect's {want}"
        ));
        return super::failed(parts, &status);
    }
    if kind.is_unary() {
        let trailers = split_trailers(&mut parts.headers);
        let compressed = match parts.headers.remove(CONTENT_ENCODING) {
            Some(encoding) if encoding != "identity" => {
                parts.headers.insert("grpc-encoding", encoding);
                true
            }
            _ => false,
        };
        let decoder = Unary {
            body: BytesMut::new(),
            limit,
            compressed,
            trailers,
        };
        return super::grpc_response(parts, super::decode(body, decoder));
    }
    if let Some(encoding) = parts.headers.remove("connect-content-encoding") {
        parts.headers.insert("grpc-encoding", encoding);
    }
    let decoder = Streaming {
        frames: Deframer::with_limit(limit),
        ended: false,
    };
    super::grpc_response(parts, super::decode(body, decoder))
}

/// Takes the `trailer-` headers out of `headers`, as trailers.
fn split_trailers(headers: &mut HeaderMap) -> HeaderMap {
    let mut plain = HeaderMap::new();
    let mut trailers = HeaderMap::new();
    for (name, value) in headers.iter() {
        if let Some(rest) = name.as_str().strip_prefix("trailer-") {
            if let Ok(name) = HeaderName::from_bytes(rest.as_bytes()) {
                trailers.append(name, value.clone());
            }
        } else {
            plain.append(name.clone(), value.clone());
        }
    }
    *headers = plain;
    trailers
}

/// A unary response: the bare message, then OK with the `trailer-` headers.
struct Unary {
    body: BytesMut,
    limit: usize,
    compressed: bool,
    trailers: HeaderMap,
}

impl Decode for Unary {
    fn data(&mut self, bytes: Bytes, _: &mut Out) -> Result<(), Status> {
        if self.body.len() + bytes.len() > self.limit {
            return Err(grpc::too_large(self.body.len() + bytes.len(), self.limit));
        }
        self.body.extend_from_slice(&bytes);
        Ok(())
    }

    fn end(&mut self, _: Option<HeaderMap>, out: &mut Out) -> Result<(), Status> {
        out.message(if self.compressed { COMPRESSED } else { 0 }, &self.body);
        let mut trailers = std::mem::take(&mut self.trailers);
        trailers.insert("grpc-status", HeaderValue::from_static("0"));
        out.trailers(trailers);
        Ok(())
    }
}

/// A streaming response: frames, then the end-of-stream message.
struct Streaming {
    frames: Deframer,
    ended: bool,
}

impl Decode for Streaming {
    fn data(&mut self, bytes: Bytes, out: &mut Out) -> Result<(), Status> {
        self.frames.push_bytes(bytes);
        while let Some((flags, payload)) = self.frames.next_frame()? {
            if self.ended {
                return Err(Status::internal(
                    "the server sent data after Connect's end of stream",
                ));
            }
            if flags & END_STREAM == 0 {
                out.message(flags, &payload);
                continue;
            }
            self.ended = true;
            let end: Value = serde_json::from_slice(&payload).map_err(|err| {
                Status::internal(format!(
                    "Connect's end-of-stream message is not valid JSON: {err}"
                ))
            })?;
            let mut trailers = metadata(&end["metadata"]);
            match end.get("error").filter(|e| e.is_object()) {
                Some(error) => out.trailers(grpc::trailers(&status(error, trailers))),
                None => {
                    trailers.insert("grpc-status", HeaderValue::from_static("0"));
                    out.trailers(trailers);
                }
            }
        }
        Ok(())
    }

    fn end(&mut self, _: Option<HeaderMap>, _: &mut Out) -> Result<(), Status> {
        if !self.frames.is_empty() {
            return Err(Status::internal(
                "the Connect stream ended inside a message",
            ));
        }
        if !self.ended {
            return Err(Status::internal(
                "the Connect stream ended without its end-of-stream message",
            ));
        }
        Ok(())
    }
}

/// The gRPC status of Connect's error JSON `{code, message, details}`:
/// the code by name, the details as a google.rpc.Status.
fn status(error: &Value, metadata: HeaderMap) -> Status {
    let metadata = MetadataMap::from_headers(metadata);
    let code = error["code"].as_str().map_or(Code::Unknown, code);
    let message = error["message"].as_str().unwrap_or_default();
    let details: Vec<prost_types::Any> = error["details"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|detail| {
            Some(prost_types::Any {
                type_url: format!("type.googleapis.com/{}", detail["type"].as_str()?),
                value: crate::status::BASE64_ANY_PADDING
                    .decode(detail["value"].as_str()?)
                    .ok()?,
            })
        })
        .collect();
    if details.is_empty() {
        return Status::with_metadata(code, message, metadata);
    }
    let encoded = RpcStatus {
        code: code as i32,
        message: message.to_string(),
        details,
    }
    .encode_to_vec();
    Status::with_details_and_metadata(code, message, encoded.into(), metadata)
}

/// Connect's code names, by gRPC code number: gRPC's names in snake case,
/// but "canceled".
pub(super) const CODE_NAMES: [&str; 17] = [
    "ok",
    "canceled",
    "unknown",
    "invalid_argument",
    "deadline_exceeded",
    "not_found",
    "already_exists",
    "permission_denied",
    "resource_exhausted",
    "failed_precondition",
    "aborted",
    "out_of_range",
    "unimplemented",
    "internal",
    "unavailable",
    "data_loss",
    "unauthenticated",
];

/// The code a Connect error names; an unknown name (and "ok", which no
/// error has) is Unknown.
fn code(name: &str) -> Code {
    match CODE_NAMES.iter().position(|known| *known == name) {
        _ if name == "cancelled" => Code::Cancelled,
        Some(number) if number > 0 => Code::from_i32(number as i32),
        _ => Code::Unknown,
    }
}

/// The `metadata` of an end-of-stream message as headers.
fn metadata(map: &Value) -> HeaderMap {
    let mut headers = HeaderMap::new();
    for (name, values) in map.as_object().into_iter().flatten() {
        let Ok(name) = HeaderName::from_bytes(name.to_ascii_lowercase().as_bytes()) else {
            continue;
        };
        for value in values
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(Value::as_str)
        {
            if let Ok(value) = HeaderValue::from_str(value) {
                headers.append(name.clone(), value);
            }
        }
    }
    headers
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timeouts_in_milliseconds_rounded_up() {
        assert_eq!(timeout_ms("1500m"), Some(1500));
        assert_eq!(timeout_ms("2S"), Some(2000));
        assert_eq!(timeout_ms("1500u"), Some(2));
        assert_eq!(timeout_ms("x"), None);
        assert_eq!(timeout_ms(""), None);
    }

    #[test]
    fn end_of_stream_errors_become_trailers() {
        let mut out = Out::default();
        let mut s = Streaming {
            frames: Deframer::default(),
            ended: false,
        };
        let mut bytes = grpc::frame(0, b"m").to_vec();
        let end = br#"{"error":{"code":"not_found","message":"gone"},"metadata":{"echo-a":["1"]}}"#;
        bytes.extend_from_slice(&grpc::frame(END_STREAM, end));
        s.data(Bytes::from(bytes), &mut out).unwrap();
        s.end(None, &mut out).unwrap();
        let trailers = out.0.pop_back().unwrap().into_trailers().unwrap();
        assert_eq!(trailers["grpc-status"], "5");
        assert_eq!(trailers["grpc-message"], "gone");
        assert_eq!(trailers["echo-a"], "1");
        assert_eq!(out.0.len(), 1);
    }

    #[test]
    fn codes_by_name() {
        assert_eq!(code("not_found"), Code::NotFound);
        assert_eq!(code("canceled"), Code::Cancelled);
        assert_eq!(code("made_up"), Code::Unknown);
        assert_eq!(code("cancelled"), Code::Cancelled);
        assert_eq!(code("ok"), Code::Unknown);
        for number in 1..=16 {
            let name = CODE_NAMES[number as usize];
            assert_eq!(code(name), Code::from_i32(number), "{name}");
            // The name is gRPC's, in snake case.
            let grpc = crate::status::code_constant(Code::from_i32(number)).to_lowercase();
            assert!(name == grpc || (name, grpc.as_str()) == ("canceled", "cancelled"));
        }
    }
}
