//! What the server says first: an HTTP/2 server opens with a SETTINGS frame.
//!
//! hyper finishes its "handshake" as soon as it has written the client
//! preface, without waiting for the server, so a server that speaks something
//! else, or nothing, only showed up later as a vague transport error (or a
//! call that never ends). The connector here watches the first bytes the
//! server sends, and [`Watch::verdict`] turns them into a clear error while
//! the connection is being set up, bounded by `--connect-timeout`.

use std::io;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::Duration;

use hyper_util::rt::TokioIo;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;
use tokio::sync::Notify;
use tokio::time::Instant;

/// An HTTP/2 frame header is 9 bytes: length (3), type (1), flags (1), stream (4).
const FRAME_HEADER: usize = 9;
const SETTINGS: u8 = 0x4;

/// What was seen of the server's first bytes, shared between the connection
/// (which reads them) and [`Watch::verdict`] (which waits for them).
#[derive(Default)]
struct Seen {
    bytes: Vec<u8>,
    /// The server closed the connection, or reading failed.
    end: Option<String>,
}

#[derive(Default)]
struct Shared {
    seen: Mutex<Seen>,
    notify: Notify,
}

/// The watch on one target's connection.
#[derive(Clone, Default)]
pub struct Watch(Arc<Shared>);

impl Watch {
    /// A connector for `Endpoint::connect_with_connector`: plain TCP to
    /// `authority` with TCP_NODELAY, whose first bytes this watch sees.
    pub fn connector(&self, authority: String) -> Connector {
        Connector {
            authority,
            watch: self.clone(),
        }
    }

    /// Waits until the server has said enough to tell whether it speaks
    /// HTTP/2, at most until `deadline` (`timeout` after the connect began).
    /// `Err` holds the reason it does not.
    pub async fn verdict(&self, deadline: Instant, timeout: Duration) -> Result<(), String> {
        let wait = async {
            loop {
                let notified = self.0.notify.notified();
                if let Some(verdict) = self.judge() {
                    return verdict;
                }
                notified.await;
            }
        };
        tokio::time::timeout_at(deadline, wait)
            .await
            .unwrap_or_else(|_| {
                Err(format!(
                    "the server accepted the connection but sent nothing in {}s \
                     (an HTTP/2 server speaks first)",
                    timeout.as_secs_f64()
                ))
            })
    }

    fn judge(&self) -> Option<Result<(), String>> {
        let seen = self
            .0
            .seen
            .lock()
            .expect("the watch lock is never poisoned");
        if seen.bytes.len() >= FRAME_HEADER {
            return Some(judge_bytes(&seen.bytes));
        }
        let end = seen.end.as_ref()?;
        Some(if seen.bytes.is_empty() {
            Err(format!("the server closed the connection at once ({end})"))
        } else {
            judge_bytes(&seen.bytes)
        })
    }

    fn saw(&self, bytes: &[u8]) {
        let mut seen = self
            .0
            .seen
            .lock()
            .expect("the watch lock is never poisoned");
        if seen.end.is_some() || seen.bytes.len() >= FRAME_HEADER {
            return;
        }
        let room = FRAME_HEADER - seen.bytes.len();
        seen.bytes
            .extend_from_slice(&bytes[..bytes.len().min(room)]);
        drop(seen);
        self.0.notify.notify_one();
    }

    fn ended(&self, why: String) {
        let mut seen = self
            .0
            .seen
            .lock()
            .expect("the watch lock is never poisoned");
        seen.end.get_or_insert(why);
        drop(seen);
        self.0.notify.notify_one();
    }
}

/// Names what the first bytes a server sent look like, unless they are the
/// start of an HTTP/2 SETTINGS frame.
fn judge_bytes(bytes: &[u8]) -> Result<(), String> {
    if bytes.len() >= FRAME_HEADER && bytes[3] == SETTINGS && bytes[5..9] == [0, 0, 0, 0] {
        return Ok(());
    }
    if bytes.starts_with(b"HTTP/") {
        return Err(
            "the server answered in HTTP/1, not HTTP/2: it is not a gRPC server, \
                    or a proxy in front of it does not pass HTTP/2 through"
                .into(),
        );
    }
    if bytes.len() >= 2 && matches!(bytes[0], 0x15 | 0x16) && bytes[1] == 0x03 {
        return Err("the server answered in TLS: call it with https://".into());
    }
    let hex: Vec<String> = bytes.iter().map(|b| format!("{b:02x}")).collect();
    Err(format!(
        "the server does not speak HTTP/2 (its first bytes were {})",
        hex.join(" ")
    ))
}

/// Connects over TCP and hands hyper a [`Watched`] stream.
#[derive(Clone)]
pub struct Connector {
    authority: String,
    watch: Watch,
}

impl tower_service::Service<http::Uri> for Connector {
    type Response = TokioIo<Watched>;
    type Error = io::Error;
    type Future = Pin<Box<dyn Future<Output = io::Result<Self::Response>> + Send>>;

    fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, _: http::Uri) -> Self::Future {
        let (authority, watch) = (self.authority.clone(), self.watch.clone());
        Box::pin(async move {
            let stream = TcpStream::connect(authority.as_str()).await?;
            stream.set_nodelay(true)?;
            Ok(TokioIo::new(Watched { stream, watch }))
        })
    }
}

/// A TCP stream that shows its first bytes read to a [`Watch`].
pub struct Watched {
    stream: TcpStream,
    watch: Watch,
}

impl AsyncRead for Watched {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let before = buf.filled().len();
        let result = Pin::new(&mut self.stream).poll_read(cx, buf);
        match &result {
            Poll::Ready(Ok(())) if buf.filled().len() == before => {
                self.watch.ended("end of stream".into());
            }
            Poll::Ready(Ok(())) => self.watch.saw(&buf.filled()[before..]),
            Poll::Ready(Err(err)) => self.watch.ended(err.to_string()),
            Poll::Pending => {}
        }
        result
    }
}

impl AsyncWrite for Watched {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.stream).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.stream).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.stream).poll_shutdown(cx)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.stream).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.stream.is_write_vectored()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn settings_frames_pass_and_the_rest_is_named() {
        assert!(judge_bytes(&[0, 0, 6, 4, 0, 0, 0, 0, 0]).is_ok());
        let http1 = judge_bytes(b"HTTP/1.1 400 Bad Request").unwrap_err();
        assert!(http1.contains("HTTP/1"), "{http1}");
        let tls = judge_bytes(&[0x15, 0x03, 0x03, 0, 2, 2, 0x32]).unwrap_err();
        assert!(tls.contains("https://"), "{tls}");
        let junk = judge_bytes(&[0xde, 0xad, 0xbe, 0xef, 1, 2, 3, 4, 5]).unwrap_err();
        assert!(junk.contains("de ad be ef"), "{junk}");
    }
}
