//! The direct lane: the engine's calls that nobody prints (`grpcx bench`),
//! written straight onto the relay's HTTP/2 connection with h2.
//!
//! A call through `invoke` crosses tonic, hyper, the in-process pipe and the
//! relay, and so two HTTP/2 stacks; at tens of thousands of calls a second
//! that costs more CPU than the server spends, on a machine the two share.
//! Here a call is one h2 stream on the same connection (same windows, BDP
//! estimate and keepalive): the request frames, encoded once for the whole
//! run, go out with the headers; the response is deframed and counted, never
//! decoded or copied; the status comes from the trailers.
//!
//! It speaks the same gRPC as `invoke`: the same headers (the user's
//! metadata, `grpc-timeout`, `grpc-encoding` and `grpc-accept-encoding`),
//! requests compressed the same way (once per set of requests, not per
//! call), the same limit on a response message (`--max-msg-size`), and
//! statuses worded by `invoke`'s rules. A printed call, or one that `-v`
//! shows, stays with `invoke` (the engine decides).

use std::io::Write as _;
use std::time::Duration;

use bytes::{BufMut as _, Bytes, BytesMut};
use http::{HeaderMap, HeaderValue, Method, Request, Uri};
use prost::Message as _;
use prost_reflect::{DynamicMessage, MethodDescriptor};
use tonic::metadata::MetadataMap;
use tonic::{Code, Status};

use crate::cli::Compression;
use crate::invoke::{self, CallOptions};
use crate::protocol::grpc;
use crate::transport::bdp::Estimator;
use crate::transport::relay::Direct;
use crate::transport::{self, DirectLane};

/// Headers the lane sets itself; the user's metadata cannot replace them
/// (tonic drops the same ones).
const RESERVED: [&str; 8] = [
    "te",
    "content-type",
    "grpc-message",
    "grpc-message-type",
    "grpc-status",
    "grpc-timeout",
    "grpc-encoding",
    "grpc-accept-encoding",
];

/// How the calls of one method are written: the request line and headers,
/// built once.
pub struct Lane {
    uri: Uri,
    headers: HeaderMap,
    timeout: Option<Duration>,
    limit: usize,
    compress: Option<Compression>,
}

/// The lane did not make the call: the connection would not open a stream
/// (it is closing or gone), or the server never processed the stream
/// ([`transport::never_processed`]). Either way the call may be made again.
pub struct Refused;

impl Lane {
    /// The lane for calls of `method` on connections like `lane`.
    pub fn new(
        lane: &DirectLane,
        method: &MethodDescriptor,
        metadata: &MetadataMap,
        options: &CallOptions,
    ) -> Option<Lane> {
        let path = format!("/{}/{}", method.parent_service().full_name(), method.name());
        let uri = Uri::builder()
            .scheme(lane.scheme.clone())
            .authority(lane.authority.clone())
            .path_and_query(path)
            .build()
            .ok()?;
        let mut headers = metadata.clone().into_headers();
        for name in RESERVED {
            headers.remove(name);
        }
        let set = |headers: &mut HeaderMap, name, value: &str| {
            headers.insert(name, HeaderValue::from_str(value).expect("a valid value"));
        };
        set(&mut headers, http::header::CONTENT_TYPE, "application/grpc");
        set(&mut headers, http::header::TE, "trailers");
        // As tonic: a user-agent from the metadata wins.
        if !headers.contains_key(http::header::USER_AGENT) {
            set(
                &mut headers,
                http::header::USER_AGENT,
                transport::USER_AGENT,
            );
        }
        // As `invoke` accepts (the bytes are counted, never decoded).
        set(
            &mut headers,
            http::HeaderName::from_static("grpc-accept-encoding"),
            "gzip,zstd",
        );
        if let Some(compress) = options.compress {
            set(
                &mut headers,
                http::HeaderName::from_static("grpc-encoding"),
                compress.name(),
            );
        }
        if let Some(timeout) = options.timeout {
            set(
                &mut headers,
                http::HeaderName::from_static("grpc-timeout"),
                &grpc_timeout(timeout),
            );
        }
        Some(Lane {
            uri,
            headers,
            timeout: options.timeout,
            limit: options.max_message_size,
            compress: options.compress,
        })
    }

    /// The wire frames of `requests`, one after another, compressed as
    /// `--compress` says.
    pub fn frames(&self, requests: &[DynamicMessage]) -> Result<Bytes, Status> {
        let mut body = BytesMut::new();
        for request in requests {
            let encoded = request.encode_to_vec();
            let (flags, payload) = match self.compress {
                None => (0, encoded),
                Some(compress) => (grpc::COMPRESSED, compressed(compress, &encoded)?),
            };
            body.reserve(5 + payload.len());
            body.put_u8(flags);
            body.put_u32(payload.len() as u32);
            body.put_slice(&payload);
        }
        Ok(body.freeze())
    }

    /// Makes one call on `direct` (ready for it) with these request frames
    /// (the stream half-closes after them): its status and the count of
    /// response messages; or [`Refused`] when the connection would not
    /// take the call, which was then not sent.
    pub async fn call(
        &self,
        direct: Direct,
        body: Result<Bytes, Status>,
    ) -> Result<(Status, u64), Refused> {
        let body = match body {
            Ok(body) => body,
            Err(status) => return Ok((status, 0)),
        };
        let Direct {
            mut client,
            estimator,
        } = direct;
        let (response, mut upload) = client
            .send_request(self.request(), false)
            .map_err(|_| Refused)?;
        let mut messages = 0;
        let call = async {
            // h2 queues what the window cannot take yet.
            upload.send_data(body, true)?;
            self.exchange(response, &estimator, &mut messages).await
        };
        let status = match self.timeout {
            None => call.await,
            Some(timeout) => tokio::time::timeout(timeout, call)
                .await
                .unwrap_or_else(|_| {
                    Ok(Status::deadline_exceeded(
                        "the deadline of --max-time passed",
                    ))
                }),
        };
        let status = match status {
            Ok(status) => status,
            Err(err) if transport::never_processed(&err) => return Err(Refused),
            Err(err) => invoke::h2_status(&err, Code::Unknown),
        };
        Ok((invoke::explain(status, self.compress), messages))
    }

    fn request(&self) -> Request<()> {
        let mut request = Request::new(());
        *request.method_mut() = Method::POST;
        *request.uri_mut() = self.uri.clone();
        *request.headers_mut() = self.headers.clone();
        request
    }

    /// The response in; counts messages as they arrive. An error before the
    /// response's headers is the caller's to word: the stream may not have
    /// been processed.
    async fn exchange(
        &self,
        response: h2::client::ResponseFuture,
        estimator: &Estimator,
        messages: &mut u64,
    ) -> Result<Status, h2::Error> {
        let response = response.await?;
        Ok(self.download(response, estimator, messages).await)
    }

    async fn download(
        &self,
        response: http::Response<h2::RecvStream>,
        estimator: &Estimator,
        messages: &mut u64,
    ) -> Status {
        let failed = |err: h2::Error| invoke::h2_status(&err, Code::Unknown);
        let (parts, mut download) = response.into_parts();
        // Trailers-only: the status is in the headers.
        if let Some(status) = Status::from_header_map(&parts.headers) {
            return status;
        }
        if parts.status != http::StatusCode::OK {
            return grpc::http_error(parts.status, "not a gRPC response");
        }
        let mut counter = Counter::new(self.limit);
        while let Some(data) = download.data().await {
            let data = match data {
                Ok(data) => data,
                Err(err) => return failed(err),
            };
            estimator.received(data.len());
            let _ = download.flow_control().release_capacity(data.len());
            match counter.feed(&data) {
                Ok(count) => *messages += count,
                Err(status) => return status,
            }
        }
        if !counter.at_boundary() {
            return Status::internal("the response ended inside a message");
        }
        match download.trailers().await {
            Ok(Some(trailers)) => Status::from_header_map(&trailers).unwrap_or_else(missing),
            Ok(None) => missing(),
            Err(err) => failed(err),
        }
    }
}

/// One message, compressed.
fn compressed(compress: Compression, message: &[u8]) -> Result<Vec<u8>, Status> {
    let failed =
        |err: std::io::Error| Status::internal(format!("cannot compress the request: {err}"));
    match compress {
        Compression::Gzip => {
            let mut encoder =
                flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
            encoder.write_all(message).map_err(failed)?;
            encoder.finish().map_err(failed)
        }
        Compression::Zstd => zstd::encode_all(message, 0).map_err(failed),
    }
}

fn missing() -> Status {
    Status::internal("the server ended the call without a grpc-status")
}

/// `grpc-timeout`: at most 8 digits, in the finest unit that fits.
fn grpc_timeout(timeout: Duration) -> String {
    const MAX: u128 = 99_999_999;
    if timeout.as_micros() <= MAX {
        format!("{}u", timeout.as_micros())
    } else if timeout.as_millis() <= MAX {
        format!("{}m", timeout.as_millis())
    } else {
        format!("{}S", timeout.as_secs().min(MAX as u64))
    }
}

/// Counts length-prefixed messages in a byte stream however it is split,
/// without keeping the bytes; refuses a message over the limit from its
/// prefix.
struct Counter {
    limit: usize,
    /// The prefix of the message being read, as far as it has come.
    prefix: [u8; 5],
    have: usize,
    /// Payload bytes of the current message still to come.
    remaining: usize,
}

impl Counter {
    fn new(limit: usize) -> Counter {
        Counter {
            limit,
            prefix: [0; 5],
            have: 0,
            remaining: 0,
        }
    }

    /// Takes `bytes`; returns how many messages they completed.
    fn feed(&mut self, mut bytes: &[u8]) -> Result<u64, Status> {
        let mut done = 0;
        while !bytes.is_empty() {
            if self.remaining > 0 {
                let take = self.remaining.min(bytes.len());
                self.remaining -= take;
                bytes = &bytes[take..];
                if self.remaining == 0 {
                    done += 1;
                }
                continue;
            }
            let take = (5 - self.have).min(bytes.len());
            self.prefix[self.have..self.have + take].copy_from_slice(&bytes[..take]);
            self.have += take;
            bytes = &bytes[take..];
            if self.have < 5 {
                break;
            }
            self.have = 0;
            let [_, a, b, c, d] = self.prefix;
            let len = u32::from_be_bytes([a, b, c, d]) as usize;
            if len > self.limit {
                return Err(grpc::too_large(len, self.limit));
            }
            if len == 0 {
                done += 1;
            } else {
                self.remaining = len;
            }
        }
        Ok(done)
    }

    /// No message is half read.
    fn at_boundary(&self) -> bool {
        self.have == 0 && self.remaining == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_are_counted_however_the_bytes_are_split() {
        let mut stream = Vec::new();
        for payload in [&b"abc"[..], b"", b"0123456789"] {
            stream.extend_from_slice(&grpc::frame(0, payload));
        }
        for split in 1..stream.len() {
            let mut counter = Counter::new(usize::MAX);
            let mut count = 0;
            for chunk in stream.chunks(split) {
                count += counter.feed(chunk).unwrap();
            }
            assert_eq!(count, 3, "split {split}");
            assert!(counter.at_boundary());
        }
        let mut counter = Counter::new(usize::MAX);
        assert_eq!(counter.feed(&stream[..stream.len() - 1]).unwrap(), 2);
        assert!(!counter.at_boundary());
    }

    #[test]
    fn a_message_over_the_limit_is_refused_from_its_prefix() {
        let mut counter = Counter::new(10);
        assert_eq!(counter.feed(&grpc::frame(0, b"0123456789")).unwrap(), 1);
        let status = counter.feed(&[0, 0, 0, 0, 11]).unwrap_err();
        assert_eq!(status.code(), Code::ResourceExhausted);
    }

    #[test]
    fn timeouts_fit_in_eight_digits() {
        assert_eq!(grpc_timeout(Duration::from_millis(1500)), "1500000u");
        assert_eq!(grpc_timeout(Duration::from_secs(1000)), "1000000m");
        assert_eq!(grpc_timeout(Duration::from_secs(10_000_000)), "10000000S");
    }
}
