//! Where the bundled server listens: TCP or a unix socket, plaintext or
//! TLS (`--tls-cert`, `--tls-key`, and `--client-ca` to require client
//! certificates). Every accepted connection is relayed (`relay.rs`), and
//! the pipe tonic serves comes out on one stream.

use std::io;
use std::path::Path;
use std::sync::Arc;

use anyhow::{Context as _, Result};
use tokio::io::DuplexStream;
use tokio::net::{TcpListener, UnixListener};
use tokio::sync::mpsc;
use tokio_rustls::TlsAcceptor;
use tokio_stream::wrappers::ReceiverStream;

use super::relay::far_side;
use crate::transport::Io;

/// A listening socket.
pub enum Listener {
    Tcp(TcpListener),
    Unix(UnixListener),
}

impl Listener {
    /// Binds a unix socket, replacing a stale socket file.
    pub fn unix(path: &Path) -> Result<Listener> {
        if path.exists() {
            std::fs::remove_file(path)
                .with_context(|| format!("cannot replace {}", path.display()))?;
        }
        let listener = UnixListener::bind(path)
            .with_context(|| format!("cannot listen on {}", path.display()))?;
        Ok(Listener::Unix(listener))
    }

    async fn accept(&self) -> io::Result<Box<dyn Io>> {
        Ok(match self {
            Listener::Tcp(listener) => {
                let (stream, _) = listener.accept().await?;
                stream.set_nodelay(true)?;
                Box::new(stream)
            }
            Listener::Unix(listener) => Box::new(listener.accept().await?.0),
        })
    }
}

/// Accepts connections until the stream's reader goes away. With TLS, each
/// handshake runs on its own task, so one slow or failing client holds up
/// nobody; a failed handshake is logged and dropped.
pub fn incoming(
    listener: Listener,
    tls: Option<rustls::ServerConfig>,
) -> ReceiverStream<io::Result<DuplexStream>> {
    let (tx, rx) = mpsc::channel(16);
    let acceptor = tls.map(|config| TlsAcceptor::from(Arc::new(config)));
    tokio::spawn(async move {
        loop {
            let stream = match listener.accept().await {
                Ok(stream) => stream,
                Err(err) => {
                    eprintln!("grpcx serve: accept failed: {err}");
                    continue;
                }
            };
            match &acceptor {
                None => {
                    if tx.send(Ok(far_side(stream))).await.is_err() {
                        return;
                    }
                }
                Some(acceptor) => {
                    let (acceptor, tx) = (acceptor.clone(), tx.clone());
                    tokio::spawn(async move {
                        match acceptor.accept(stream).await {
                            Ok(stream) => {
                                let _ = tx.send(Ok(far_side(Box::new(stream)))).await;
                            }
                            Err(err) => eprintln!("grpcx serve: TLS handshake failed: {err}"),
                        }
                    });
                }
            }
        }
    });
    ReceiverStream::new(rx)
}
