//! gRPC-Web: gRPC's frames over HTTP/1.1 or HTTP/2 without HTTP trailers.
//!
//! - request: `application/grpc-web+proto`, `x-grpc-web: 1`; the gRPC
//!   headers (`grpc-timeout`, `grpc-encoding`) and frames unchanged;
//! - response: frames as in gRPC, then one frame whose flags have the top
//!   bit set, holding the trailers as HTTP/1 header lines; a trailers-only
//!   answer carries `grpc-status` in the headers. `application/grpc-web-text`
//!   bodies are base64 of the same bytes;
//! - errors: an HTTP status without `grpc-status` maps as gRPC's
//!   http-grpc-status-mapping says.

use base64::Engine as _;
use bytes::Bytes;
use http::{HeaderMap, HeaderName, HeaderValue};
use tonic::Status;
use tonic::body::Body;

use super::grpc::{self, Deframer};
use super::{Decode, Out};

/// The flag bit of the trailers frame.
const TRAILERS: u8 = 0x80;

/// The request transformer: gRPC's request with gRPC-Web's headers.
pub fn request(mut request: http::Request<Body>) -> http::Request<Body> {
    let headers = request.headers_mut();
    headers.remove(http::header::TE);
    let content_type = HeaderValue::from_static("application/grpc-web+proto");
    headers.insert(http::header::CONTENT_TYPE, content_type.clone());
    headers.insert(http::header::ACCEPT, content_type);
    headers.insert("x-grpc-web", HeaderValue::from_static("1"));
    request
}

/// The response parser; `limit` is the largest message accepted.
pub fn response(response: http::Response<Body>, limit: usize) -> http::Response<Body> {
    let (mut parts, body) = response.into_parts();
    let has_status = parts.headers.contains_key("grpc-status");
    if !parts.status.is_success() && !has_status {
        let status = grpc::http_error(parts.status, "no grpc-status");
        return super::failed(parts, &status);
    }
    let content_type = super::content_type(&parts.headers);
    if !content_type.starts_with("application/grpc-web") && !has_status {
        let status = Status::unknown(format!(
            "the server answered content-type '{content_type}', not gRPC-Web"
        ));
        return super::failed(parts, &status);
    }
    // Trailers-only: a failure is the status alone (as in gRPC); an OK
    // one moves to the trailers, after whatever the body holds.
    let mut headers_status = HeaderMap::new();
    if has_status && parts.headers.get("grpc-status").is_some_and(|v| v != "0") {
        return super::grpc_response(parts, Body::empty());
    }
    for name in ["grpc-status", "grpc-message", "grpc-status-details-bin"] {
        if let Some(value) = parts.headers.remove(name) {
            headers_status.insert(name, value);
        }
    }
    let decoder = Decoder {
        text: content_type
            .starts_with("application/grpc-web-text")
            .then(Vec::new),
        frames: Deframer::with_limit(limit),
        headers_status,
        ended: false,
    };
    super::grpc_response(parts, super::decode(body, decoder))
}

struct Decoder {
    /// Base64 characters not yet decoded, for grpc-web-text.
    text: Option<Vec<u8>>,
    frames: Deframer,
    /// `grpc-status` from the headers of a trailers-only OK.
    headers_status: HeaderMap,
    ended: bool,
}

impl Decode for Decoder {
    fn data(&mut self, bytes: Bytes, out: &mut Out) -> Result<(), Status> {
        match &mut self.text {
            None => self.frames.push_bytes(bytes),
            Some(text) => {
                text.extend(bytes.iter().filter(|b| !b.is_ascii_whitespace()));
                // Whole quanta only; each may end in padding, as the
                // chunks of a stream each are padded.
                let whole = text.len() / 4 * 4;
                let chunk: Vec<u8> = text.drain(..whole).collect();
                // Split after each '=', a piece ends in at most one.
                for quantum in chunk.split_inclusive(|&b| b == b'=').filter(|q| *q != b"=") {
                    let bare = quantum.strip_suffix(b"=").unwrap_or(quantum);
                    let decoded = base64::engine::general_purpose::STANDARD_NO_PAD
                        .decode(bare)
                        .map_err(|err| {
                            Status::internal(format!("a grpc-web-text body is not base64: {err}"))
                        })?;
                    self.frames.push_bytes(decoded.into());
                }
            }
        }
        while let Some((flags, payload)) = self.frames.next_frame()? {
            if self.ended {
                return Err(Status::internal(
                    "the server sent data after the gRPC-Web trailers",
                ));
            }
            if flags & TRAILERS != 0 {
                self.ended = true;
                out.trailers(parse_trailers(&payload)?);
            } else {
                out.message(flags, &payload);
            }
        }
        Ok(())
    }

    fn end(&mut self, _: Option<HeaderMap>, out: &mut Out) -> Result<(), Status> {
        if !self.frames.is_empty() || self.text.as_ref().is_some_and(|t| !t.is_empty()) {
            return Err(Status::internal("the gRPC-Web body ended inside a message"));
        }
        if !self.ended {
            if self.headers_status.is_empty() {
                return Err(Status::internal(
                    "the gRPC-Web response ended without trailers",
                ));
            }
            out.trailers(std::mem::take(&mut self.headers_status));
        }
        Ok(())
    }
}

/// The trailers frame: `name: value` lines, CRLF-separated.
fn parse_trailers(payload: &[u8]) -> Result<HeaderMap, Status> {
    let mut map = HeaderMap::new();
    let text = String::from_utf8_lossy(payload);
    for line in text.split("\r\n").map(str::trim).filter(|l| !l.is_empty()) {
        let bad = || Status::internal(format!("a bad gRPC-Web trailer line: {line:?}"));
        let (name, value) = line.split_once(':').ok_or_else(bad)?;
        let name = HeaderName::from_bytes(name.trim().to_ascii_lowercase().as_bytes())
            .map_err(|_| bad())?;
        let value = HeaderValue::from_str(value.trim()).map_err(|_| bad())?;
        map.append(name, value);
    }
    Ok(map)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn decoder(text: bool) -> Decoder {
        Decoder {
            text: text.then(Vec::new),
            frames: Deframer::default(),
            headers_status: HeaderMap::new(),
            ended: false,
        }
    }

    fn body() -> Vec<u8> {
        let mut body = grpc::frame(0, b"hi").to_vec();
        body.extend_from_slice(&grpc::frame(
            TRAILERS,
            b"grpc-status: 5\r\nGrpc-Message: gone\r\n",
        ));
        body
    }

    #[test]
    fn messages_then_trailers() {
        let mut out = Out::default();
        let mut d = decoder(false);
        d.data(Bytes::from(body()), &mut out).unwrap();
        d.end(None, &mut out).unwrap();
        assert_eq!(out.0.len(), 2);
        let trailers = out.0.pop_back().unwrap().into_trailers().unwrap();
        assert_eq!(trailers["grpc-status"], "5");
        assert_eq!(trailers["grpc-message"], "gone");
    }

    #[test]
    fn text_bodies_decode_in_any_chunks_and_padded_pieces() {
        let b64 = base64::engine::general_purpose::STANDARD;
        let body = body();
        // Two separately padded pieces, fed a few bytes at a time.
        let text = format!("{}{}", b64.encode(&body[..7]), b64.encode(&body[7..]));
        let mut out = Out::default();
        let mut d = decoder(true);
        for chunk in text.as_bytes().chunks(3) {
            d.data(Bytes::copy_from_slice(chunk), &mut out).unwrap();
        }
        d.end(None, &mut out).unwrap();
        assert_eq!(out.0.len(), 2);
    }

    #[test]
    fn a_body_without_trailers_is_an_error() {
        let mut out = Out::default();
        let mut d = decoder(false);
        d.data(grpc::frame(0, b"x"), &mut out).unwrap();
        assert!(d.end(None, &mut out).is_err());
    }
}
