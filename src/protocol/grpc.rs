//! gRPC framing, the inner side of every protocol: tonic speaks gRPC to a
//! [`super::Channel`], so the other protocols turn their answers into gRPC
//! frames and trailers with these helpers. gRPC itself needs no
//! translation: its requests go to tonic's own HTTP/2 channel unchanged.

use bytes::{Buf as _, BufMut as _, Bytes, BytesMut};
use http::HeaderMap;
use tonic::{Code, Status};

/// The flag of a compressed message, in gRPC, gRPC-Web and Connect alike.
pub const COMPRESSED: u8 = 0x01;

/// One length-prefixed message: flags, 4-byte big-endian length, payload.
pub fn frame(flags: u8, payload: &[u8]) -> Bytes {
    let mut out = BytesMut::with_capacity(5 + payload.len());
    out.put_u8(flags);
    out.put_u32(payload.len() as u32);
    out.put_slice(payload);
    out.freeze()
}

/// Splits a byte stream into length-prefixed frames, however the bytes
/// arrive.
pub struct Deframer {
    buf: BytesMut,
    /// The largest frame accepted (`--max-msg-size` for responses).
    limit: usize,
}

impl Default for Deframer {
    fn default() -> Self {
        Deframer::with_limit(usize::MAX)
    }
}

impl Deframer {
    /// A deframer that refuses frames over `limit` bytes (see [`check`]).
    ///
    /// [`check`]: Deframer::check
    pub fn with_limit(limit: usize) -> Self {
        Deframer {
            buf: BytesMut::new(),
            limit,
        }
    }

    pub fn push(&mut self, bytes: &[u8]) {
        self.buf.extend_from_slice(bytes);
    }

    /// Fails when the frame being gathered announces more than the limit,
    /// so that a server cannot make grpcx buffer without end.
    fn check(&self) -> Result<(), Status> {
        if self.buf.len() < 5 {
            return Ok(());
        }
        let len = u32::from_be_bytes([self.buf[1], self.buf[2], self.buf[3], self.buf[4]]) as usize;
        if len > self.limit {
            return Err(too_large(len, self.limit));
        }
        Ok(())
    }

    /// The next whole frame, as [`pop`](Deframer::pop) gives it; an error
    /// as soon as the frame's header announces more than the limit.
    pub fn next_frame(&mut self) -> Result<Option<(u8, Bytes)>, Status> {
        self.check()?;
        Ok(self.pop())
    }

    /// The next whole frame: its flags and payload.
    pub fn pop(&mut self) -> Option<(u8, Bytes)> {
        if self.buf.len() < 5 {
            return None;
        }
        let len = u32::from_be_bytes([self.buf[1], self.buf[2], self.buf[3], self.buf[4]]) as usize;
        if self.buf.len() < 5 + len {
            return None;
        }
        let flags = self.buf[0];
        self.buf.advance(5);
        Some((flags, self.buf.split_to(len).freeze()))
    }

    /// Bytes left over that make no whole frame.
    pub fn is_empty(&self) -> bool {
        self.buf.is_empty()
    }
}

/// The status for a message over `--max-msg-size`, worded as
/// `transport::explain` words tonic's own.
pub fn too_large(len: usize, limit: usize) -> Status {
    Status::resource_exhausted(format!(
        "a response message of {len} bytes is over the limit; \
         raise it with --max-msg-size BYTES (the limit was {limit} bytes)"
    ))
}

/// A status as gRPC trailers (grpc-status, grpc-message,
/// grpc-status-details-bin, and its metadata).
pub fn trailers(status: &Status) -> HeaderMap {
    let mut map = HeaderMap::new();
    if let Err(status) = status.add_header(&mut map) {
        let _ = Status::internal(status.message().to_string()).add_header(&mut map);
    }
    map
}

/// The gRPC code for an HTTP status that came without one, as gRPC's
/// http-grpc-status-mapping.md says (and Connect's spec repeats).
pub fn code_for_http(status: http::StatusCode) -> Code {
    match status.as_u16() {
        400 => Code::Internal,
        401 => Code::Unauthenticated,
        403 => Code::PermissionDenied,
        404 => Code::Unimplemented,
        429 | 502 | 503 | 504 => Code::Unavailable,
        _ => Code::Unknown,
    }
}

/// The status for an HTTP error status without a gRPC one.
pub fn http_error(status: http::StatusCode, what: &str) -> Status {
    Status::new(
        code_for_http(status),
        format!("the server answered HTTP {status} ({what})"),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frames_split_however_they_arrive() {
        let mut bytes = frame(0, b"abc").to_vec();
        bytes.extend_from_slice(&frame(0x80, b"grpc-status: 0\r\n"));
        let mut deframer = Deframer::default();
        let mut got = Vec::new();
        for byte in bytes {
            deframer.push(&[byte]);
            while let Some(frame) = deframer.pop() {
                got.push(frame);
            }
        }
        assert_eq!(got[0], (0, Bytes::from_static(b"abc")));
        assert_eq!(got[1].0, 0x80);
        assert!(deframer.is_empty());
    }

    #[test]
    fn a_frame_over_the_limit_is_refused_from_its_header() {
        let mut deframer = Deframer::with_limit(10);
        deframer.push(&frame(0, b"0123456789"));
        assert!(deframer.check().is_ok());
        assert_eq!(deframer.pop().unwrap().1.len(), 10);
        // Only the header of a 4 GiB frame: refused before any payload.
        deframer.push(&[0, 0xff, 0xff, 0xff, 0xff]);
        let status = deframer.check().unwrap_err();
        assert_eq!(status.code(), Code::ResourceExhausted);
        assert!(status.message().contains("4294967295 bytes"));
    }
}
