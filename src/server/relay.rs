//! The bundled server's side of long links: every accepted connection is
//! spoken to by an h2 server that grpcx drives itself, which relays each call
//! to tonic over an in-process pipe (the mirror of the client's relay in
//! `src/transport/relay.rs`).
//!
//! Request bodies from the client are read promptly into one buffer and
//! their credit is returned only as tonic takes them, so what a client can
//! make the server hold is the stream window in raw bytes, whatever its
//! framing (Go clients send one small frame per message). The window starts
//! at 128 KiB and grows by the bandwidth-delay estimate, up to 16 MiB, only
//! for a client far enough away to need it.

use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use bytes::Bytes;
use tokio::io::{AsyncRead, AsyncReadExt as _, AsyncWrite, DuplexStream, ReadBuf};

use super::listen::Io;
use crate::transport::bdp::{self, Estimator};
use crate::transport::relay::{CONNECTION_WINDOW, PIPE_BUFFER, relay};

/// Starts relaying the connection `io` and returns the pipe tonic serves.
/// Only HTTP/2 is relayed: an HTTP/1.1 client (gRPC-Web or Connect) has no
/// flow-control windows to manage, and its bytes are copied through as they
/// are.
pub fn far_side(io: Box<dyn Io>) -> DuplexStream {
    let (tonic_side, mut relay_side) = tokio::io::duplex(PIPE_BUFFER);
    tokio::spawn(async move {
        let Ok((mut io, h2)) = sniff(io).await else {
            return;
        };
        if h2 {
            let _ = run(io, relay_side).await;
        } else {
            let _ = tokio::io::copy_bidirectional(&mut io, &mut relay_side).await;
        }
    });
    tonic_side
}

/// Reads the client's first bytes to tell HTTP/2 (its preface starts
/// `PRI`) from HTTP/1.1; the bytes read are replayed to whoever serves it.
async fn sniff(mut io: Box<dyn Io>) -> std::io::Result<(Box<dyn Io>, bool)> {
    let mut first = [0u8; 24];
    let mut filled = 0;
    while filled < 3 {
        let n = io.read(&mut first[filled..]).await?;
        if n == 0 {
            break;
        }
        filled += n;
    }
    let h2 = first[..filled].starts_with(b"PRI");
    let prefix = Bytes::copy_from_slice(&first[..filled]);
    Ok((Box::new(Rewind { prefix, inner: io }), h2))
}

/// A stream whose first bytes were already read, replayed before the rest.
struct Rewind {
    prefix: Bytes,
    inner: Box<dyn Io>,
}

impl AsyncRead for Rewind {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        if !self.prefix.is_empty() {
            let n = self.prefix.len().min(buf.remaining());
            let head = self.prefix.split_to(n);
            buf.put_slice(&head);
            return Poll::Ready(Ok(()));
        }
        Pin::new(&mut self.inner).poll_read(cx, buf)
    }
}

impl AsyncWrite for Rewind {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}

async fn run(io: Box<dyn Io>, pipe: DuplexStream) -> Result<(), h2::Error> {
    let mut outer = h2::server::Builder::new()
        .initial_window_size(bdp::INITIAL_WINDOW)
        .initial_connection_window_size(CONNECTION_WINDOW)
        .handshake::<_, Bytes>(io)
        .await?;
    let (client, inner) = h2::client::Builder::new()
        .initial_window_size(bdp::INITIAL_WINDOW)
        .initial_connection_window_size(CONNECTION_WINDOW)
        .enable_push(false)
        .handshake::<_, Bytes>(pipe)
        .await?;
    tokio::spawn(async move {
        let _ = inner.await;
    });
    let estimator = Arc::new(Estimator::probing_now());
    let mut ping_pong = outer.ping_pong().expect("the first call takes it");
    loop {
        let next = std::future::poll_fn(|cx| {
            if let Ok(Some(window)) = bdp::poll(&estimator, &mut ping_pong, cx) {
                let _ = outer.set_initial_window_size(window);
            }
            outer.poll_accept(cx)
        })
        .await;
        match next {
            Some(Ok((request, respond))) => {
                let local = Arc::new(Estimator::default());
                tokio::spawn(relay(
                    request,
                    respond,
                    client.clone(),
                    estimator.clone(),
                    local,
                ));
            }
            Some(Err(err)) => return Err(err),
            None => return Ok(()),
        }
    }
}
