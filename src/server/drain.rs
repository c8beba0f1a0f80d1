//! HTTP/1.1 request bodies are read to their end, even when a service
//! answers without reading them (a failure the metadata asked for, an
//! unknown method, a mock stub that fails at once).
//!
//! Over HTTP/1.1, hyper closes the connection after such an answer, with the
//! request's bytes still unread in the socket, and the kernel answers a close
//! with unread bytes by a reset. A client still sending, or not yet done
//! reading, loses the answer: buf curl said "unavailable: unexpected EOF" for
//! about one call in 25. (Over HTTP/2 an unread stream is reset alone.) So an
//! unread HTTP/1.x body is handed to a task that reads it to its end, up to
//! [`READ_MAX`]: a body that goes on past it is dropped, and the connection
//! closed as before, so an endless body cannot keep the server reading.

use std::pin::Pin;
use std::task::{Context, Poll};

use bytes::Bytes;
use http_body::{Body as _, Frame, SizeHint};
use http_body_util::BodyExt as _;
use tonic::Status;
use tonic::body::Body;

/// How much of an unread body is read to let its connection end cleanly.
const READ_MAX: usize = 64 << 20;

/// The service, as the outermost layer, so that it sees the body every other
/// layer may drop.
#[derive(Clone)]
pub struct Drain<S>(pub S);

impl<S> tower_service::Service<http::Request<Body>> for Drain<S>
where
    S: tower_service::Service<http::Request<Body>>,
{
    type Response = S::Response;
    type Error = S::Error;
    type Future = S::Future;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.0.poll_ready(cx)
    }

    fn call(&mut self, request: http::Request<Body>) -> S::Future {
        let request = if request.version() < http::Version::HTTP_2 {
            request.map(|body| Body::new(ReadToEnd(body)))
        } else {
            request
        };
        self.0.call(request)
    }
}

/// A request body that, dropped before its end, is read to its end.
struct ReadToEnd(Body);

impl http_body::Body for ReadToEnd {
    type Data = Bytes;
    type Error = Status;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Status>>> {
        Pin::new(&mut self.0).poll_frame(cx)
    }

    fn is_end_stream(&self) -> bool {
        self.0.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.0.size_hint()
    }
}

impl Drop for ReadToEnd {
    fn drop(&mut self) {
        let mut body = std::mem::take(&mut self.0);
        // The task ends with the body: at its end, at an error, when the
        // connection closes, or at READ_MAX.
        if !body.is_end_stream()
            && let Ok(runtime) = tokio::runtime::Handle::try_current()
        {
            runtime.spawn(async move {
                let mut read = 0;
                while read < READ_MAX
                    && let Some(Ok(frame)) = body.frame().await
                {
                    read += frame.data_ref().map_or(0, Bytes::len);
                }
            });
        }
    }
}
