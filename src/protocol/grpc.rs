//! gRPC framing, the inner side of every protocol, and the one place for
//! message compression and the response size limit. Calls speak gRPC to a
//! [`super::Channel`] ([`Frames`] writes a request body, [`Messages`] reads a
//! response back); the other protocols turn their answers into gRPC frames
//! and trailers with the helpers here.

use std::io::{Read as _, Write as _};
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::{Buf as _, BufMut as _, Bytes, BytesMut};
use futures_util::{Stream, StreamExt as _};
use http::{HeaderMap, HeaderValue};
use http_body::{Body as _, Frame};
use prost::Message as _;
use tonic::body::Body;
use tonic::{Code, Status};

use crate::cli::Compression;
use crate::codec::Outgoing;
use crate::status::names;
use crate::transport;

/// The flag of a compressed message, in gRPC, gRPC-Web and Connect alike.
pub const COMPRESSED: u8 = 0x01;

/// `grpc-timeout`'s units in nanoseconds, finest first.
const TIMEOUT_UNITS: [(u128, u8); 6] = [
    (1, b'n'),
    (1_000, b'u'),
    (1_000_000, b'm'),
    (1_000_000_000, b'S'),
    (60_000_000_000, b'M'),
    (3_600_000_000_000, b'H'),
];

/// A timeout as `grpc-timeout`: at most 8 digits, in the finest unit that
/// fits (as gRPC's implementations write it).
pub fn timeout(timeout: Duration) -> HeaderValue {
    let nanos = timeout.as_nanos();
    let (value, unit) = TIMEOUT_UNITS
        .iter()
        .map(|&(per, unit)| (nanos.div_ceil(per), unit))
        .find(|&(value, _)| value < 100_000_000)
        .unwrap_or((99_999_999, b'H'));
    HeaderValue::from_str(&format!("{value}{}", unit as char)).expect("digits and a letter")
}

/// A `grpc-timeout` value (digits and a unit) in nanoseconds.
pub fn timeout_nanos(value: &str) -> Option<u128> {
    let (digits, unit) = value.split_at(value.len().checked_sub(1)?);
    let n: u64 = digits.parse().ok()?;
    let &(per, _) = TIMEOUT_UNITS
        .iter()
        .find(|(_, u)| unit.as_bytes() == [*u])?;
    Some(n as u128 * per)
}

/// One length-prefixed message: flags, 4-byte big-endian length, payload.
pub fn frame(flags: u8, payload: &[u8]) -> Bytes {
    let mut out = BytesMut::with_capacity(5 + payload.len());
    out.put_u8(flags);
    out.put_u32(payload.len() as u32);
    out.put_slice(payload);
    out.freeze()
}

/// Splits a byte stream into length-prefixed frames, however the bytes
/// arrive. A frame that lies whole in one chunk is a slice of it; only
/// frames split across chunks are copied together.
pub struct Deframer {
    /// The start of a frame split across chunks.
    buf: BytesMut,
    /// The chunk being read, after `buf`.
    chunk: Bytes,
    /// The largest frame accepted (`--max-msg-size` for responses).
    limit: usize,
}

impl Default for Deframer {
    fn default() -> Self {
        Deframer::with_limit(usize::MAX)
    }
}

impl Deframer {
    /// A deframer that refuses frames over `limit` bytes (see
    /// [`next_frame`](Deframer::next_frame)).
    pub fn with_limit(limit: usize) -> Self {
        Deframer {
            buf: BytesMut::new(),
            chunk: Bytes::new(),
            limit,
        }
    }

    /// The next chunk of the stream, kept as it is.
    pub fn push_bytes(&mut self, bytes: Bytes) {
        if !self.chunk.is_empty() {
            self.buf.extend_from_slice(&self.chunk);
        }
        self.chunk = bytes;
    }

    /// The announced length of the frame at the front, once its header is
    /// here.
    fn next_len(&mut self) -> Option<usize> {
        if self.buf.is_empty() && self.chunk.len() >= 5 {
            let c = &self.chunk;
            return Some(u32::from_be_bytes([c[1], c[2], c[3], c[4]]) as usize);
        }
        // A header split across chunks: gather it.
        if self.buf.len() < 5 {
            if self.chunk.is_empty() {
                return None;
            }
            let want = (5 - self.buf.len()).min(self.chunk.len());
            self.buf.extend_from_slice(&self.chunk.split_to(want));
            if self.buf.len() < 5 {
                return None;
            }
        }
        let b = &self.buf;
        Some(u32::from_be_bytes([b[1], b[2], b[3], b[4]]) as usize)
    }

    /// The next whole frame, as [`pop`](Deframer::pop) gives it; an error
    /// as soon as the frame's header announces more than the limit, so that
    /// a server cannot make grpcx buffer without end.
    pub fn next_frame(&mut self) -> Result<Option<(u8, Bytes)>, Status> {
        match self.next_len() {
            Some(len) if len > self.limit => Err(too_large(len, self.limit)),
            Some(len) => Ok(self.frame(len)),
            None => Ok(None),
        }
    }

    /// The next whole frame: its flags and payload.
    pub fn pop(&mut self) -> Option<(u8, Bytes)> {
        let len = self.next_len()?;
        self.frame(len)
    }

    /// The frame at the front, `len` bytes long, once it is all here.
    fn frame(&mut self, len: usize) -> Option<(u8, Bytes)> {
        if self.buf.is_empty() {
            if self.chunk.len() < 5 + len {
                // The rest comes in later chunks.
                self.buf.extend_from_slice(&std::mem::take(&mut self.chunk));
                return None;
            }
            let flags = self.chunk[0];
            self.chunk.advance(5);
            return Some((flags, self.chunk.split_to(len)));
        }
        let want = (5 + len - self.buf.len()).min(self.chunk.len());
        self.buf.extend_from_slice(&self.chunk.split_to(want));
        if self.buf.len() < 5 + len {
            return None;
        }
        let flags = self.buf[0];
        self.buf.advance(5);
        Some((flags, self.buf.split_to(len).freeze()))
    }

    /// Bytes left over that make no whole frame.
    pub fn is_empty(&self) -> bool {
        self.buf.is_empty() && self.chunk.is_empty()
    }
}

/// A request body of gRPC frames: each message of `requests` encoded (and
/// compressed with `compress`), as many as are ready packed into one chunk
/// (up to [`CHUNK`]), so that a fast stream goes out in few large writes.
pub struct Frames<S> {
    requests: S,
    compress: Option<Compression>,
    done: bool,
}

/// The most bytes of messages packed into one chunk of a request body.
const CHUNK: usize = 32 * 1024;

impl<S> Frames<S> {
    pub fn new(requests: S, compress: Option<Compression>) -> Self {
        Frames {
            requests,
            compress,
            done: false,
        }
    }
}

impl<S> http_body::Body for Frames<S>
where
    S: Stream<Item = Outgoing> + Unpin,
{
    type Data = Bytes;
    type Error = Status;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Status>>> {
        let this = self.get_mut();
        // A framed message with nothing ready beside it goes on as it is,
        // not copied into a chunk of its own (bench's every call).
        let mut alone: Option<Bytes> = None;
        let mut out = BytesMut::new();
        while !this.done && out.len() + alone.as_ref().map_or(0, Bytes::len) < CHUNK {
            match this.requests.poll_next_unpin(cx) {
                Poll::Ready(Some(Outgoing::Framed(frame))) if alone.is_none() && out.is_empty() => {
                    alone = Some(frame);
                }
                Poll::Ready(Some(message)) => {
                    if let Some(frame) = alone.take() {
                        out.extend_from_slice(&frame);
                    }
                    encode(&message, this.compress, &mut out)?;
                }
                Poll::Ready(None) => this.done = true,
                Poll::Pending if out.is_empty() && alone.is_none() => return Poll::Pending,
                Poll::Pending => break,
            }
        }
        let chunk = alone.unwrap_or_else(|| out.freeze());
        Poll::Ready((!chunk.is_empty()).then(|| Ok(Frame::data(chunk))))
    }

    fn is_end_stream(&self) -> bool {
        self.done
    }
}

/// `message` as one whole frame, compressed with `compress`.
pub fn framed(message: &Outgoing, compress: Option<Compression>) -> Result<Bytes, Status> {
    let mut out = BytesMut::new();
    encode(message, compress, &mut out)?;
    Ok(out.freeze())
}

/// Appends `message` to `out` as one frame, compressed with `compress`.
pub fn encode(
    message: &Outgoing,
    compress: Option<Compression>,
    out: &mut BytesMut,
) -> Result<(), Status> {
    let start = out.len();
    match message {
        Outgoing::Framed(frame) => {
            out.extend_from_slice(frame);
            return Ok(());
        }
        Outgoing::Encoded(bytes) => out.reserve(5 + bytes.len()),
        Outgoing::Message(_) => {}
    }
    out.put_bytes(0, 5);
    match (message, compress) {
        // (A framed message was copied whole above.)
        (Outgoing::Encoded(bytes) | Outgoing::Framed(bytes), None) => out.put_slice(bytes),
        (Outgoing::Message(message), None) => message.encode_raw(out),
        (message, Some(how)) => {
            let plain = match message {
                Outgoing::Encoded(bytes) | Outgoing::Framed(bytes) => bytes.clone(),
                Outgoing::Message(message) => message.encode_to_vec().into(),
            };
            out[start] = COMPRESSED;
            self::compress(how, &plain, &mut (&mut *out).writer())
                .map_err(|err| Status::internal(format!("cannot compress the request: {err}")))?;
        }
    }
    let len = out.len() - start - 5;
    let len = u32::try_from(len).map_err(|_| {
        Status::resource_exhausted(format!(
            "a request message of {len} bytes is over gRPC's limit of 4 GiB"
        ))
    })?;
    out[start + 1..start + 5].copy_from_slice(&len.to_be_bytes());
    Ok(())
}

fn compress(how: Compression, data: &[u8], out: &mut impl std::io::Write) -> std::io::Result<()> {
    match how {
        Compression::Gzip => {
            let mut encoder = flate2::write::GzEncoder::new(out, flate2::Compression::default());
            encoder.write_all(data)?;
            encoder.finish().map(drop)
        }
        Compression::Zstd => zstd::stream::copy_encode(data, out, 0),
    }
}

/// A response message decompressed, refused once it passes `limit` bytes
/// (a small message may unpack to any size).
pub fn decompress(how: Compression, data: &[u8], limit: usize) -> Result<Bytes, Status> {
    let mut out = Vec::new();
    let take = (limit as u64).saturating_add(1);
    let read = match how {
        Compression::Gzip => flate2::read::GzDecoder::new(data)
            .take(take)
            .read_to_end(&mut out),
        Compression::Zstd => zstd::stream::read::Decoder::new(data)
            .and_then(|decoder| decoder.take(take).read_to_end(&mut out)),
    };
    match read {
        Ok(_) if out.len() > limit => Err(Status::resource_exhausted(format!(
            "a response message is over the limit of {limit} bytes once decompressed; \
             raise it with --max-msg-size BYTES"
        ))),
        Ok(_) => Ok(out.into()),
        Err(err) => Err(Status::internal(format!(
            "cannot decompress a {} response message: {err}",
            how.name()
        ))),
    }
}

/// The compression a response names in `grpc-encoding`.
pub fn response_encoding(headers: &HeaderMap) -> Result<Option<Compression>, Status> {
    let Some(value) = names::find(headers, &names::GRPC_ENCODING) else {
        return Ok(None);
    };
    match value.as_bytes() {
        b"gzip" => Ok(Some(Compression::Gzip)),
        b"zstd" => Ok(Some(Compression::Zstd)),
        b"identity" => Ok(None),
        other => Err(Status::unimplemented(format!(
            "the server compressed its response with {}, which grpcx does not support",
            String::from_utf8_lossy(other)
        ))),
    }
}

/// The response messages of a call, then its status: the body of a gRPC
/// response read frame by frame.
pub struct Messages {
    body: Body,
    frames: Deframer,
    encoding: Option<Compression>,
    /// The HTTP status, for a response that ends without `grpc-status`.
    http_status: http::StatusCode,
    trailers: Option<HeaderMap>,
    ended: bool,
}

impl Messages {
    pub fn new(
        body: Body,
        http_status: http::StatusCode,
        encoding: Option<Compression>,
        limit: usize,
    ) -> Self {
        Messages {
            body,
            frames: Deframer::with_limit(limit),
            encoding,
            http_status,
            trailers: None,
            ended: false,
        }
    }

    /// A response that was its trailers only: no messages.
    pub fn empty(trailers: HeaderMap) -> Self {
        Messages {
            body: Body::empty(),
            frames: Deframer::default(),
            encoding: None,
            http_status: http::StatusCode::OK,
            trailers: Some(trailers),
            ended: true,
        }
    }

    /// The next message, `Ok(None)` at the end of a successful response;
    /// a failed one ends in its status. An error of the body itself (the
    /// connection, the deadline) is passed on as the status's source, for
    /// `transport::explain` to word.
    pub fn poll_message(&mut self, cx: &mut Context<'_>) -> Poll<Result<Option<Bytes>, Status>> {
        loop {
            if let Some((flags, payload)) = self.frames.next_frame()? {
                return Poll::Ready(self.message(flags, payload).map(Some));
            }
            if self.ended {
                return Poll::Ready(self.end().map(|()| None));
            }
            match std::task::ready!(Pin::new(&mut self.body).poll_frame(cx)) {
                Some(Ok(frame)) => match frame.into_data() {
                    Ok(data) => self.frames.push_bytes(data),
                    Err(frame) => {
                        self.ended = true;
                        self.trailers = frame.into_trailers().ok();
                    }
                },
                Some(Err(status)) => {
                    self.ended = true;
                    self.frames = Deframer::default();
                    return Poll::Ready(Err(status));
                }
                None => self.ended = true,
            }
        }
    }

    fn message(&self, flags: u8, payload: Bytes) -> Result<Bytes, Status> {
        match flags {
            0 => Ok(payload),
            COMPRESSED => match self.encoding {
                Some(how) => decompress(how, &payload, self.frames.limit),
                None => Err(Status::internal(
                    "the server sent a compressed message but named no grpc-encoding",
                )),
            },
            other => Err(Status::internal(format!(
                "the server sent a message with flags {other:#04x}, which gRPC does not define \
                 (is it a gRPC server?)"
            ))),
        }
    }

    /// The status at the end of the body: from `grpc-status`, or mapped
    /// from the HTTP status when there is none.
    fn end(&mut self) -> Result<(), Status> {
        if !self.frames.is_empty() {
            self.frames = Deframer::default();
            return Err(Status::internal(
                "the response ended inside a message (cut short?)",
            ));
        }
        // The common end, checked without building a Status (tonic's
        // copies every trailer into it).
        if let Some(trailers) = &self.trailers
            && names::find(trailers, &names::GRPC_STATUS).is_some_and(|code| code == "0")
        {
            return Ok(());
        }
        match self.trailers.as_ref().and_then(Status::from_header_map) {
            Some(status) if status.code() == Code::Ok => Ok(()),
            Some(status) => Err(transport::sent_by_server(status)),
            None if self.http_status == http::StatusCode::OK => Err(Status::unknown(
                "the response ended without a grpc-status (cut short by a proxy?)",
            )),
            None => Err(transport::sent_by_server(Status::new(
                code_for_http(self.http_status),
                format!(
                    "grpc-status header missing, mapped from HTTP status code {}",
                    self.http_status.as_u16()
                ),
            ))),
        }
    }

    /// The trailers, once the messages are all read.
    pub fn take_trailers(&mut self) -> HeaderMap {
        self.trailers.take().unwrap_or_default()
    }
}

/// The status for a message over `--max-msg-size`.
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
    fn only_the_servers_statuses_carry_its_mark() {
        let mut trailers = HeaderMap::new();
        trailers.insert("grpc-status", HeaderValue::from_static("5"));
        let status = Messages::empty(trailers).end().unwrap_err();
        assert_eq!(status.code(), Code::NotFound);
        assert!(transport::is_sent_by_server(&status));
        let mut no_status = Messages::empty(HeaderMap::new());
        no_status.http_status = http::StatusCode::NOT_FOUND;
        assert!(transport::is_sent_by_server(&no_status.end().unwrap_err()));
        assert!(!transport::is_sent_by_server(&too_large(10, 5)));
        let mut cut = Messages::empty(HeaderMap::new());
        cut.frames.push_bytes(Bytes::from_static(&[0, 0, 0]));
        assert!(!transport::is_sent_by_server(&cut.end().unwrap_err()));
    }

    #[test]
    fn timeouts_take_the_finest_unit_in_8_digits() {
        let t = |d| timeout(d).to_str().unwrap().to_string();
        assert_eq!(t(Duration::from_millis(300)), "300000u");
        assert_eq!(t(Duration::from_nanos(5)), "5n");
        assert_eq!(t(Duration::from_secs(5)), "5000000u");
        assert_eq!(t(Duration::from_secs(1000)), "1000000m");
        assert_eq!(t(Duration::from_secs(200_000)), "200000S");
        assert_eq!(t(Duration::from_secs(1 << 40)), "99999999H");
    }

    #[test]
    fn frames_split_however_they_arrive() {
        let mut bytes = frame(0, b"abc").to_vec();
        bytes.extend_from_slice(&frame(0x80, b"grpc-status: 0\r\n"));
        let mut deframer = Deframer::default();
        let mut got = Vec::new();
        for byte in bytes {
            deframer.push_bytes(Bytes::copy_from_slice(&[byte]));
            while let Some(frame) = deframer.pop() {
                got.push(frame);
            }
        }
        assert_eq!(got[0], (0, Bytes::from_static(b"abc")));
        assert_eq!(got[1].0, 0x80);
        assert!(deframer.is_empty());
    }

    #[test]
    fn frames_whole_in_a_chunk_are_slices_of_it_and_split_ones_join() {
        let payloads = [&b"one"[..], b"two", b"three", b""];
        let mut wire = BytesMut::new();
        for payload in payloads {
            let message = Outgoing::Encoded(Bytes::copy_from_slice(payload));
            encode(&message, None, &mut wire).unwrap();
        }
        let wire = wire.freeze();
        // Every way of cutting the wire in two gives the same frames.
        for cut in 0..=wire.len() {
            let mut deframer = Deframer::default();
            let mut got = Vec::new();
            for part in [wire.slice(..cut), wire.slice(cut..)] {
                deframer.push_bytes(part);
                while let Some((flags, payload)) = deframer.next_frame().unwrap() {
                    got.push((flags, payload));
                }
            }
            let got: Vec<&[u8]> = got.iter().map(|(_, p)| &p[..]).collect();
            assert_eq!(got, payloads, "cut at {cut}");
            assert!(deframer.is_empty());
        }
        // Whole in one chunk: no copy.
        let mut deframer = Deframer::default();
        deframer.push_bytes(wire.clone());
        let (_, first) = deframer.pop().unwrap();
        assert_eq!(first.as_ptr(), wire[5..].as_ptr());
    }

    #[test]
    fn compressed_frames_round_trip_and_unpack_within_the_limit() {
        for how in [Compression::Gzip, Compression::Zstd] {
            let payload = Bytes::from(vec![7u8; 10_000]);
            let mut wire = BytesMut::new();
            encode(&Outgoing::Encoded(payload.clone()), Some(how), &mut wire).unwrap();
            assert_eq!(wire[0], COMPRESSED);
            assert!(wire.len() < 1000, "{how:?} compressed to {}", wire.len());
            let mut deframer = Deframer::default();
            deframer.push_bytes(wire.freeze());
            let (_, packed) = deframer.pop().unwrap();
            assert_eq!(decompress(how, &packed, 10_000).unwrap(), payload);
            let status = decompress(how, &packed, 9_999).unwrap_err();
            assert_eq!(status.code(), Code::ResourceExhausted);
            assert!(status.message().contains("--max-msg-size"));
            assert_eq!(
                decompress(how, b"not compressed", 100).unwrap_err().code(),
                Code::Internal
            );
        }
    }

    #[test]
    fn a_frame_over_the_limit_is_refused_from_its_header() {
        let mut deframer = Deframer::with_limit(10);
        deframer.push_bytes(frame(0, b"0123456789"));
        assert_eq!(deframer.next_frame().unwrap().unwrap().1.len(), 10);
        // Only the header of a 4 GiB frame: refused before any payload.
        deframer.push_bytes(Bytes::from_static(&[0, 0xff, 0xff, 0xff, 0xff]));
        let status = deframer.next_frame().unwrap_err();
        assert_eq!(status.code(), Code::ResourceExhausted);
        assert!(status.message().contains("4294967295 bytes"));
    }
}
