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

use std::sync::Arc;

use bytes::Bytes;
use tokio::io::DuplexStream;

use super::listen::Io;
use crate::transport::bdp::{self, Estimator};
use crate::transport::relay::{CONNECTION_WINDOW, PIPE_BUFFER, relay};

/// Starts relaying the connection `io` and returns the pipe tonic serves.
pub fn far_side(io: Box<dyn Io>) -> DuplexStream {
    let (tonic_side, relay_side) = tokio::io::duplex(PIPE_BUFFER);
    tokio::spawn(async move {
        let _ = run(io, relay_side).await;
    });
    tonic_side
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
