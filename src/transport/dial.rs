//! Dialing: TCP (Happy Eyeballs, or through a proxy) or a unix socket, then
//! TLS with ALPN, and the watch on the server's first bytes, which names
//! every way a connection fails before the server speaks.

use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context as TaskContext, Poll, ready};
use std::time::Duration;

use rustls::pki_types::ServerName;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::UnixStream;
use tokio::time::Sleep;

use super::failure::{ConnectFailure, Failure};
use super::h2::Connection;
use super::proxy::Proxy;
use super::{Address, Target, eyeballs};
use crate::tls;

/// What it takes to dial the target, again whenever a connection goes away.
pub(super) struct Dial {
    pub target: Target,
    pub tls: Option<(tokio_rustls::TlsConnector, ServerName<'static>)>,
    pub client_cert: bool,
    pub timeout: Duration,
    /// The server may answer HTTP/1.1 (gRPC-Web, Connect): it speaks only
    /// when asked, so neither its silence nor an HTTP/1 answer is a fault.
    pub http1: bool,
    /// An HTTP CONNECT proxy to tunnel through (TCP targets only).
    pub proxy: Option<Proxy>,
    /// `--keepalive`: the interval of pings to the server.
    pub keepalive: Option<Duration>,
}

/// Any byte stream a connection runs over.
pub(crate) trait Io: AsyncRead + AsyncWrite + Send + Unpin {}
impl<T: AsyncRead + AsyncWrite + Send + Unpin> Io for T {}

impl Dial {
    /// A new HTTP/2 connection, within the connect timeout.
    pub(super) async fn connect(self: &Arc<Self>) -> io::Result<Connection> {
        let work = async {
            let watch = self.clone().open().await?;
            let (failure, route) = (watch.failure.clone(), watch.route.clone());
            Connection::handshake(watch, failure, route, self.keepalive).await
        };
        tokio::time::timeout(self.timeout, work)
            .await
            .unwrap_or_else(|_| Err(self.timed_out()))
    }

    /// The failure of a dial that took longer than the connect timeout.
    pub(super) fn timed_out(&self) -> io::Error {
        let secs = self.timeout.as_secs_f64();
        ConnectFailure::new(&self.target, &format!("no connection within {secs} s"))
            .io(io::ErrorKind::TimedOut)
    }

    /// Dials: TCP (Happy Eyeballs, or through the proxy) or a unix socket,
    /// then TLS when asked, wrapped in a [`Watch`].
    pub(super) async fn open(self: Arc<Self>) -> io::Result<Watch> {
        let fail = |kind, why: String| ConnectFailure::new(&self.target, &why).io(kind);
        let mut route = None;
        let stream: Box<dyn Io> = match (&self.target.address, &self.proxy) {
            (Address::Tcp { .. }, Some(proxy)) => {
                let stream = proxy
                    .tunnel(&self.target.authority(), self.timeout)
                    .await
                    .map_err(|why| fail(io::ErrorKind::ConnectionRefused, why))?;
                route = Some(format!("via proxy {}", proxy.address()));
                Box::new(stream)
            }
            (Address::Tcp { host, port }, _) => {
                let (stream, addr) = eyeballs::connect(host, *port)
                    .await
                    .map_err(|err| fail(err.kind(), err.to_string()))?;
                stream.set_nodelay(true)?;
                route = Some(format!("at {addr}"));
                Box::new(stream)
            }
            (Address::Unix(path), _) => Box::new(
                UnixStream::connect(path)
                    .await
                    .map_err(|err| fail(err.kind(), err.to_string()))?,
            ),
        };
        let mut h2 = !self.http1;
        let stream: Box<dyn Io> = match &self.tls {
            None => stream,
            Some((connector, name)) => match connector.connect(name.clone(), stream).await {
                Ok(stream) => {
                    h2 = stream.get_ref().1.alpn_protocol() == Some(b"h2");
                    Box::new(stream)
                }
                Err(err) => return Err(self.tls_failure(err)),
            },
        };
        Ok(Watch {
            inner: stream,
            dial: self,
            seen: false,
            silence: None,
            h2,
            failure: Failure::default(),
            route,
        })
    }

    /// Names the cause of a TLS error (from the handshake, or an alert read
    /// afterwards).
    fn tls_failure(&self, err: io::Error) -> io::Error {
        let kind = err.kind();
        let name = self.tls.as_ref().map(|(_, name)| name.to_str());
        let why = match err
            .get_ref()
            .and_then(|e| e.downcast_ref::<rustls::Error>())
        {
            Some(tls) => tls::describe(tls, &name.unwrap_or_default(), self.client_cert),
            None if kind == io::ErrorKind::UnexpectedEof
                || kind == io::ErrorKind::ConnectionReset =>
            {
                "TLS: the server closed the connection during the handshake; it may speak \
                 plaintext (use http://HOST:PORT or --plaintext)"
                    .to_string()
            }
            None => format!("TLS handshake failed: {err}"),
        };
        ConnectFailure::new(&self.target, &why).io(kind)
    }
}

/// The connection as hyper sees it. Until the server's first bytes arrive
/// it watches for trouble: silence past the connect timeout, a close, or
/// (on plaintext) a TLS or HTTP/1 answer; each ends the connection with a
/// [`ConnectFailure`].
pub(super) struct Watch {
    inner: Box<dyn Io>,
    dial: Arc<Dial>,
    seen: bool,
    silence: Option<Pin<Box<Sleep>>>,
    /// Whether to speak HTTP/2: always for gRPC, else as ALPN chose.
    pub h2: bool,
    /// Why this connection failed, once the watch has seen it.
    pub failure: Failure,
    /// How it reached the server, for `-v`.
    pub route: Option<String>,
}

impl Watch {
    fn fail(&self, kind: io::ErrorKind, why: &str) -> io::Error {
        self.record(ConnectFailure::new(&self.dial.target, why).io(kind))
    }

    /// Keeps the failure an io error carries in this connection's slot.
    fn record(&self, err: io::Error) -> io::Error {
        if let Some(failure) = err
            .get_ref()
            .and_then(|e| e.downcast_ref::<ConnectFailure>())
        {
            self.failure.record(failure);
        }
        err
    }

    /// The server closed or reset the connection before its first byte.
    fn closed_early(&self, kind: io::ErrorKind) -> io::Error {
        let hint = match &self.dial.tls {
            None => " (if it is a TLS port, use https:// or --tls)",
            Some(_) if !self.dial.client_cert => {
                " (it may require a client certificate: --cert and --key)"
            }
            Some(_) => "",
        };
        if self.dial.http1 {
            // HTTP/1.1 has no handshake: the request went out, and the
            // server may have answered (a close with our request unread is
            // a reset, which takes the answer with it).
            let why = format!("the server closed it before its answer reached grpcx{hint}");
            return self.record(ConnectFailure::broken(&self.dial.target, &why).io(kind));
        }
        self.fail(
            kind,
            &format!("the server closed the connection without speaking HTTP/2{hint}"),
        )
    }

    /// A failed read or write, in words: TLS's own, or the server hanging
    /// up before it spoke; recorded for every call on the connection.
    fn io_error(&self, err: io::Error) -> io::Error {
        use io::ErrorKind::*;
        if err.get_ref().is_some_and(|e| e.is::<rustls::Error>()) {
            return self.record(self.dial.tls_failure(err));
        }
        match err.kind() {
            BrokenPipe | ConnectionReset | ConnectionAborted | UnexpectedEof if !self.seen => {
                self.closed_early(err.kind())
            }
            _ => self.record(err),
        }
    }

    /// Checks the server's first bytes.
    fn first_bytes(&self, bytes: &[u8]) -> Option<io::Error> {
        if bytes.is_empty() {
            return Some(self.closed_early(io::ErrorKind::UnexpectedEof));
        }
        if self.dial.tls.is_some() {
            return None;
        }
        let tls_record = bytes.len() >= 2 && matches!(bytes[0], 0x15 | 0x16) && bytes[1] == 0x03;
        if self.dial.http1 && !tls_record {
            let n = bytes.len().min(5);
            if bytes[..n] != b"HTTP/"[..n] {
                return Some(self.fail(
                    io::ErrorKind::InvalidData,
                    "the server does not answer HTTP/1.1 (if it speaks only HTTP/2, \
                     add --http2-prior-knowledge)",
                ));
            }
            return None;
        }
        // A TLS record (alert or handshake): no h2 frame starts with these,
        // as its length would be over 1 MiB.
        if tls_record {
            return Some(self.fail(
                io::ErrorKind::InvalidData,
                "the server speaks TLS on this port, not plaintext (use https:// or --tls)",
            ));
        }
        if bytes.starts_with(b"HTTP/1.") {
            let text = String::from_utf8_lossy(bytes);
            let why = if text.contains("HTTPS") || text.contains("TLS") {
                "the server speaks TLS on this port, not plaintext (use https:// or --tls)"
            } else {
                "the server answered HTTP/1.x, not HTTP/2"
            };
            return Some(self.fail(io::ErrorKind::InvalidData, why));
        }
        // An HTTP/2 server opens with a SETTINGS frame: type 0x4 in the
        // fourth byte of its header. Anything else is not HTTP/2.
        if bytes.len() >= 4 && bytes[3] != 0x04 {
            let shown: Vec<String> = bytes.iter().take(8).map(|b| format!("{b:02x}")).collect();
            let why = format!(
                "the server does not speak HTTP/2 (its first bytes were {})",
                shown.join(" ")
            );
            return Some(self.fail(io::ErrorKind::InvalidData, &why));
        }
        None
    }
}

impl AsyncRead for Watch {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut TaskContext<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = &mut *self;
        let before = buf.filled().len();
        let result = match Pin::new(&mut this.inner).poll_read(cx, buf) {
            Poll::Pending if !this.seen && !this.dial.http1 => {
                let timeout = this.dial.timeout;
                let silence = this
                    .silence
                    .get_or_insert_with(|| Box::pin(tokio::time::sleep(timeout)));
                ready!(silence.as_mut().poll(cx));
                let secs = timeout.as_secs_f64();
                return Poll::Ready(Err(this.fail(
                    io::ErrorKind::TimedOut,
                    &format!("the server sent nothing for {secs} s after the connection opened; it does not seem to speak gRPC"),
                )));
            }
            Poll::Pending => return Poll::Pending,
            Poll::Ready(result) => result,
        };
        if let Err(err) = result {
            return Poll::Ready(Err(this.io_error(err)));
        }
        if !this.seen {
            if let Some(err) = this.first_bytes(&buf.filled()[before..]) {
                return Poll::Ready(Err(err));
            }
            this.seen = true;
            this.silence = None;
        }
        Poll::Ready(Ok(()))
    }
}

impl AsyncWrite for Watch {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut TaskContext<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let result = ready!(Pin::new(&mut self.inner).poll_write(cx, buf));
        Poll::Ready(result.map_err(|err| self.io_error(err)))
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut TaskContext<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let result = ready!(Pin::new(&mut self.inner).poll_write_vectored(cx, bufs));
        Poll::Ready(result.map_err(|err| self.io_error(err)))
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut TaskContext<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut TaskContext<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}
