//! Dialing: the tonic connector (TCP or unix socket, then TLS), the watch
//! on the server's first bytes, and the words for every way a connection
//! fails, which the statuses of later requests are reworded with.

use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context as TaskContext, Poll, ready};
use std::time::Duration;

use hyper_util::rt::TokioIo;
use rustls::pki_types::ServerName;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::UnixStream;
use tokio::time::Sleep;
use tonic::transport::Uri;

use super::proxy::Proxy;
use super::{Address, Target, eyeballs, relay};
use crate::tls;

/// Why a connection could not be used, in words; carried inside the
/// io::Error that hyper and tonic pass along, so any request that fails
/// because of it can say so.
#[derive(Debug, thiserror::Error)]
#[error("cannot connect to {target}: {cause}")]
pub struct ConnectFailure {
    target: String,
    cause: String,
}

impl ConnectFailure {
    pub(super) fn new(target: &Target, cause: &str) -> Self {
        ConnectFailure {
            target: target.to_string(),
            cause: cause.to_string(),
        }
    }

    /// The failure as an io::Error, for hyper; also recorded in
    /// [`LAST_FAILURE`].
    fn io(self, kind: io::ErrorKind) -> io::Error {
        *LAST_FAILURE.lock().unwrap_or_else(|e| e.into_inner()) = Some(self.to_string());
        io::Error::new(kind, self)
    }
}

/// The last connection failure, in words. h2 keeps only the kind and text
/// of an io error, and a request that fails on a dead connection often
/// sees a later error (a broken pipe) rather than the cause; so the cause
/// is recorded here too. A command has one connection, so one slot serves.
static LAST_FAILURE: std::sync::Mutex<Option<String>> = std::sync::Mutex::new(None);

fn last_failure() -> Option<String> {
    LAST_FAILURE
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .clone()
}

/// How the last connection reached its server, for `-v`: `at ADDRESS`
/// (the address that won the race) or `via proxy HOST:PORT`.
static ROUTE: std::sync::Mutex<Option<String>> = std::sync::Mutex::new(None);

fn set_route(route: String) {
    *ROUTE.lock().unwrap_or_else(|e| e.into_inner()) = Some(route);
}

/// The route of the last connection, if it was over TCP.
pub fn route() -> Option<String> {
    ROUTE.lock().unwrap_or_else(|e| e.into_inner()).clone()
}

/// A [`ConnectFailure`] anywhere in an error's chain (io::Error hides its
/// payload from `source()`, so it is opened on the way).
pub fn find_failure<'a>(err: &'a (dyn std::error::Error + 'static)) -> Option<&'a ConnectFailure> {
    let mut next = Some(err);
    while let Some(err) = next {
        if let Some(failure) = err.downcast_ref::<ConnectFailure>() {
            return Some(failure);
        }
        if let Some(inner) = err
            .downcast_ref::<io::Error>()
            .and_then(|io| io.get_ref())
            .and_then(|inner| inner.downcast_ref::<ConnectFailure>())
        {
            return Some(inner);
        }
        next = err.source();
    }
    None
}

/// Rewords the statuses that come from the wire rather than the server: a
/// failed connection names its cause (TLS alert, a plaintext/TLS mix-up,
/// silence), and a message over the size limit names the flag. Other
/// statuses are returned as they are.
pub fn explain(status: tonic::Status) -> tonic::Status {
    if let Some(failure) = connection_failure(&status) {
        return tonic::Status::unavailable(failure);
    }
    // tonic's own words when a response is over max_decoding_message_size.
    let too_large = "decoded message length too large: found ";
    if status.code() == tonic::Code::OutOfRange
        && let Some(at) = status.message().find(too_large)
    {
        let rest = &status.message()[at + too_large.len()..];
        let found = rest.split(' ').next().unwrap_or("?");
        return tonic::Status::resource_exhausted(format!(
            "a response message of {found} bytes is over the limit; \
             raise it with --max-msg-size BYTES (the limit was {})",
            rest.rsplit(": ").next().unwrap_or("?")
        ));
    }
    // The same limit, met while decompressing.
    if status.code() == tonic::Code::ResourceExhausted
        && status.message().contains("size limit")
        && !status.message().contains("--max-msg-size")
    {
        return tonic::Status::resource_exhausted(format!(
            "{}; raise the limit with --max-msg-size BYTES",
            status.message()
        ));
    }
    status
}

/// Why the status's request failed, when the connection under it failed
/// first: a status whose source is an io or transport error, after a
/// [`ConnectFailure`] was recorded.
pub fn connection_failure(status: &tonic::Status) -> Option<String> {
    let source = std::error::Error::source(status)?;
    if let Some(failure) = find_failure(source) {
        return Some(failure.to_string());
    }
    let mut next = Some(source);
    while let Some(err) = next {
        if err.is::<io::Error>() || err.is::<hyper::Error>() || err.is::<tonic::transport::Error>()
        {
            return last_failure();
        }
        next = err.source();
    }
    None
}

/// The status for a channel that could not become ready.
pub fn not_ready(err: &(dyn std::error::Error + 'static)) -> tonic::Status {
    match find_failure(err)
        .map(|f| f.to_string())
        .or_else(last_failure)
    {
        Some(failure) => tonic::Status::unavailable(failure),
        None => tonic::Status::unavailable(format!("the connection failed: {err}")),
    }
}

/// What the connector needs to dial.
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
    /// The relay's latest connection (gRPC only), for the direct lane.
    pub direct: std::sync::Mutex<Option<relay::Direct>>,
}

/// The tonic connector: TCP or unix socket, then TLS when asked, wrapped in
/// a [`Watch`].
#[derive(Clone)]
pub(super) struct Connector(pub Arc<Dial>);

/// Any byte stream the connector can hand to hyper.
trait Io: AsyncRead + AsyncWrite + Send + Unpin {}
impl<T: AsyncRead + AsyncWrite + Send + Unpin> Io for T {}

impl tower_service::Service<Uri> for Connector {
    type Response = TokioIo<tokio::io::DuplexStream>;
    type Error = io::Error;
    type Future = Pin<Box<dyn Future<Output = io::Result<Self::Response>> + Send>>;

    fn poll_ready(&mut self, _: &mut TaskContext<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, _: Uri) -> Self::Future {
        let dial = self.0.clone();
        Box::pin(async move {
            let keepalive = dial.keepalive;
            let watch = dial.clone().open().await?;
            let (pipe, direct) = relay::start(watch, keepalive).await?;
            *dial.direct.lock().unwrap_or_else(|e| e.into_inner()) = Some(direct);
            Ok(TokioIo::new(pipe))
        })
    }
}

impl Dial {
    /// Dials: TCP (Happy Eyeballs, or through the proxy) or a unix socket,
    /// then TLS when asked, wrapped in a [`Watch`]. gRPC hands the stream to
    /// the relay (the tonic connector above); the HTTP client of gRPC-Web
    /// and Connect speaks over it directly.
    pub(super) async fn open(self: Arc<Self>) -> io::Result<Watch> {
        let dial = self;
        let fail = |kind, why: String| ConnectFailure::new(&dial.target, &why).io(kind);
        let stream: Box<dyn Io> = match &dial.target.address {
            Address::Tcp { .. } if dial.proxy.is_some() => {
                let proxy = dial.proxy.as_ref().expect("a proxy");
                let stream = proxy
                    .tunnel(&dial.target.authority(), dial.timeout)
                    .await
                    .map_err(|why| fail(io::ErrorKind::ConnectionRefused, why))?;
                set_route(format!("via proxy {}", proxy.address()));
                Box::new(stream)
            }
            Address::Tcp { host, port } => {
                let (stream, addr) = eyeballs::connect(host, *port)
                    .await
                    .map_err(|err| fail(err.kind(), err.to_string()))?;
                stream.set_nodelay(true)?;
                set_route(format!("at {addr}"));
                Box::new(stream)
            }
            Address::Unix(path) => Box::new(
                UnixStream::connect(path)
                    .await
                    .map_err(|err| fail(err.kind(), err.to_string()))?,
            ),
        };
        let mut h2 = !dial.http1;
        let stream: Box<dyn Io> = match &dial.tls {
            None => stream,
            Some((connector, name)) => match connector.connect(name.clone(), stream).await {
                Ok(stream) => {
                    h2 = stream.get_ref().1.alpn_protocol() == Some(b"h2");
                    Box::new(stream)
                }
                Err(err) => return Err(dial.tls_failure(err)),
            },
        };
        Ok(Watch {
            inner: stream,
            dial,
            seen: false,
            silence: None,
            h2,
        })
    }

    /// Names the cause of a TLS error (from the handshake, or an alert read
    /// afterwards).
    fn tls_failure(&self, err: io::Error) -> io::Error {
        let kind = err.kind();
        let name = match &self.tls {
            Some((_, name)) => name.to_str().into_owned(),
            None => String::new(),
        };
        let why = match err
            .get_ref()
            .and_then(|e| e.downcast_ref::<rustls::Error>())
        {
            Some(tls) => tls::describe(tls, &name, self.client_cert),
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
}

impl Watch {
    fn fail(&self, kind: io::ErrorKind, why: &str) -> io::Error {
        ConnectFailure::new(&self.dial.target, why).io(kind)
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
        self.fail(
            kind,
            &format!("the server closed the connection without speaking HTTP/2{hint}"),
        )
    }

    /// An io error before the server's first byte, reworded when it means
    /// the server hung up on us.
    fn early_error(&self, err: io::Error) -> io::Error {
        use io::ErrorKind::*;
        match err.kind() {
            BrokenPipe | ConnectionReset | ConnectionAborted | UnexpectedEof if !self.seen => {
                self.closed_early(err.kind())
            }
            _ => err,
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
        if bytes.len() >= 2 && matches!(bytes[0], 0x15 | 0x16) && bytes[1] == 0x03 {
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
            let tls_error = err
                .get_ref()
                .is_some_and(|e| e.downcast_ref::<rustls::Error>().is_some());
            return Poll::Ready(Err(if tls_error {
                this.dial.tls_failure(err)
            } else {
                this.early_error(err)
            }));
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

impl Watch {
    fn write_error(&self, err: io::Error) -> io::Error {
        let tls_error = err
            .get_ref()
            .is_some_and(|e| e.downcast_ref::<rustls::Error>().is_some());
        if tls_error {
            self.dial.tls_failure(err)
        } else {
            self.early_error(err)
        }
    }
}

impl AsyncWrite for Watch {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut TaskContext<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let result = ready!(Pin::new(&mut self.inner).poll_write(cx, buf));
        Poll::Ready(result.map_err(|err| self.write_error(err)))
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut TaskContext<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let result = ready!(Pin::new(&mut self.inner).poll_write_vectored(cx, bufs));
        Poll::Ready(result.map_err(|err| self.write_error(err)))
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
