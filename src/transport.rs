//! Targets and channels: parses what the user typed as the server, and opens
//! the HTTP/2 channel to it over TCP, TLS or a unix socket.
//!
//! The rule that keeps plaintext off the network: `host:port` means plaintext
//! h2c only when the host is a loopback name or address; anywhere else it means
//! TLS. `http://` forces plaintext, `https://` forces TLS, `unix:` is a
//! plaintext unix socket; `--plaintext` and `--tls` override them all.
//!
//! grpcx dials itself (a tonic connector), so that it controls TLS
//! verification, and so that the first bytes the server sends can be
//! watched: a TLS answer to plaintext, an early close, or silence each end
//! the connection with a message saying so, rather than a hang or an h2 error.

use std::fmt;
use std::io;
use std::net::IpAddr;
use std::path::PathBuf;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context as TaskContext, Poll, ready};
use std::time::Duration;

use anyhow::Result;
use hyper_util::rt::TokioIo;
use rustls::pki_types::ServerName;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpStream, UnixStream};
use tokio::time::Sleep;
use tonic::transport::{Channel, Endpoint, Uri};

use crate::cli::ConnArgs;
use crate::error::{StatusError, UsageError};
use crate::tls;

/// Where the server listens.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Address {
    /// Host name or IP address (without IPv6 brackets) and port.
    Tcp {
        host: String,
        port: u16,
    },
    Unix(PathBuf),
}

/// A parsed server address.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    pub address: Address,
    /// Whether to speak TLS.
    pub tls: bool,
    /// Whether the user chose the transport (a scheme or `unix:`), rather
    /// than the loopback rule.
    pub explicit: bool,
}

impl Target {
    /// Parses `host:port`, `http://host:port`, `https://host[:port]`,
    /// `[::1]:port`, `unix:/path`, `unix:///abs/path`. Errors are usage errors.
    pub fn parse(text: &str) -> Result<Target> {
        let usage = |why: &str| UsageError(format!("invalid target '{text}': {why}"));
        if text.len() >= 5 && text[..5].eq_ignore_ascii_case("unix:") {
            let path = &text[5..];
            // unix:///abs/path is the URI spelling of unix:/abs/path.
            let path = path.strip_prefix("//").unwrap_or(path);
            if path.is_empty() {
                return Err(usage("no socket path, as in unix:/run/app.sock").into());
            }
            return Ok(Target {
                address: Address::Unix(PathBuf::from(path)),
                tls: false,
                explicit: true,
            });
        }
        let (scheme, rest) = match text.split_once("://") {
            Some((scheme, rest)) => (Some(scheme.to_ascii_lowercase()), rest),
            None => (None, text),
        };
        let rest = rest.strip_suffix('/').unwrap_or(rest);
        if rest.is_empty() {
            return Err(usage("no host").into());
        }
        if rest.contains('/') {
            return Err(usage("a target has no path").into());
        }
        let (host, port) = split_host_port(rest).map_err(&usage)?;
        let (tls, default_port) = match scheme.as_deref() {
            None => (!is_loopback(&host), None),
            Some("http") => (false, Some(80)),
            Some("https") => (true, Some(443)),
            Some(other) => return Err(usage(&format!("unknown scheme '{other}'")).into()),
        };
        let port = match (port, default_port) {
            (Some(port), _) => port,
            (None, Some(port)) => port,
            (None, None) => return Err(usage("a port is needed, as in host:port").into()),
        };
        Ok(Target {
            address: Address::Tcp { host, port },
            tls,
            explicit: scheme.is_some(),
        })
    }

    /// The default `:authority`: `host:port` (IPv6 in brackets), or
    /// `localhost` for a unix socket, as gRPC clients send.
    pub fn authority(&self) -> String {
        match &self.address {
            Address::Tcp { host, port } if host.contains(':') => format!("[{host}]:{port}"),
            Address::Tcp { host, port } => format!("{host}:{port}"),
            Address::Unix(_) => "localhost".to_string(),
        }
    }

    /// The host a certificate is checked against, unless --authority says.
    fn host(&self) -> &str {
        match &self.address {
            Address::Tcp { host, .. } => host,
            Address::Unix(_) => "localhost",
        }
    }

    /// True for text that looks like a target rather than a service name:
    /// it has a `:` or a scheme.
    pub fn looks_like_target(text: &str) -> bool {
        text.contains(':')
    }
}

impl fmt::Display for Target {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.address {
            Address::Unix(path) => write!(f, "unix:{}", path.display()),
            Address::Tcp { .. } => f.write_str(&self.authority()),
        }
    }
}

/// Splits `host:port` or `[v6]:port`; the port may be missing.
fn split_host_port(text: &str) -> Result<(String, Option<u16>), &'static str> {
    let (host, port) = if let Some(rest) = text.strip_prefix('[') {
        let (host, after) = rest.split_once(']').ok_or("unclosed '['")?;
        match after {
            "" => (host, None),
            _ => (host, Some(after.strip_prefix(':').ok_or("junk after ']'")?)),
        }
    } else {
        match text.rsplit_once(':') {
            Some((host, _)) if host.contains(':') => {
                return Err("an IPv6 address needs brackets, as in [::1]:50051");
            }
            Some((host, port)) => (host, Some(port)),
            None => (text, None),
        }
    };
    if host.is_empty() {
        return Err("no host");
    }
    let port = match port {
        None => None,
        Some(port) => Some(
            port.parse::<u16>()
                .map_err(|_| "the port is not a number from 0 to 65535")?,
        ),
    };
    Ok((host.to_string(), port))
}

/// `localhost`, `*.localhost`, 127.0.0.0/8 and ::1.
pub fn is_loopback(host: &str) -> bool {
    let host = host.to_ascii_lowercase();
    if host == "localhost" || host.ends_with(".localhost") {
        return true;
    }
    host.parse::<IpAddr>().is_ok_and(|ip| ip.is_loopback())
}

/// Whether the connection speaks TLS: the flags, then options that only make
/// sense with TLS, then the target's own rule.
pub fn uses_tls(target: &Target, args: &ConnArgs) -> Result<bool> {
    let tls_option = [
        (args.cacert.is_some(), "--cacert"),
        (args.cert.is_some(), "--cert"),
        (args.insecure, "--insecure"),
    ]
    .into_iter()
    .find_map(|(given, flag)| given.then_some(flag));
    let plaintext_asked = args.plaintext || (target.explicit && !target.tls && !args.tls);
    match tls_option {
        Some(flag) if plaintext_asked => {
            let why = if args.plaintext {
                "--plaintext".to_string()
            } else {
                format!("the target {target}")
            };
            Err(UsageError(format!("{flag} needs TLS, but {why} asks for plaintext")).into())
        }
        Some(_) => Ok(true),
        None => Ok(args.tls || (!args.plaintext && target.tls)),
    }
}

/// "connected to TARGET (TLS)" or "(plaintext)", for `-v`.
pub fn describe(target: &Target, args: &ConnArgs) -> String {
    let how = match uses_tls(target, args) {
        Ok(true) if args.insecure => "TLS, not verified",
        Ok(true) => "TLS",
        _ => "plaintext",
    };
    format!("connected to {target} ({how})")
}

/// Opens a channel to the target and waits until it is connected, so that a
/// refused connection or a failed TLS handshake fails here, fast, naming the
/// cause.
pub async fn connect(target: &Target, args: &ConnArgs) -> Result<Channel> {
    let use_tls = uses_tls(target, args)?;
    let timeout = Duration::from_secs_f64(args.connect_timeout);
    let authority = args.authority.clone().unwrap_or_else(|| target.authority());
    let tls = if use_tls {
        if args.insecure {
            eprintln!("grpcx: warning: --insecure: the server's certificate is not verified");
        }
        let config = tls::client_config(args)?;
        let name = tls::server_name(args.authority.as_deref(), target.host())?;
        Some((tokio_rustls::TlsConnector::from(config), name))
    } else {
        None
    };
    let scheme = if use_tls { "https" } else { "http" };
    let mut endpoint = Endpoint::from_shared(format!("{scheme}://{authority}"))
        .map_err(|_| UsageError(format!("invalid authority '{authority}'")))?;
    if let Some(secs) = args.keepalive {
        let interval = Duration::from_secs_f64(secs);
        endpoint = endpoint
            .http2_keep_alive_interval(interval)
            .keep_alive_timeout(interval.max(Duration::from_secs(10)))
            .keep_alive_while_idle(true);
    }
    let connector = Connector(Arc::new(Dial {
        target: target.clone(),
        tls,
        client_cert: args.cert.is_some(),
        timeout,
    }));
    tokio::time::timeout(timeout, endpoint.connect_with_connector(connector))
        .await
        .map_err(|_| {
            connect_failed(
                target,
                &format!("no connection within {} s", args.connect_timeout),
            )
        })?
        .map_err(|err| match find_failure(&err) {
            Some(failure) => StatusError(tonic::Status::unavailable(failure.to_string())).into(),
            None => connect_failed(target, &cause(&err)),
        })
}

fn connect_failed(target: &Target, why: &str) -> anyhow::Error {
    StatusError(tonic::Status::unavailable(
        ConnectFailure::new(target, why).to_string(),
    ))
    .into()
}

/// The innermost cause of an error, which names what actually went wrong.
fn cause(err: &(dyn std::error::Error + 'static)) -> String {
    let mut inner = err;
    while let Some(source) = inner.source() {
        inner = source;
    }
    inner.to_string()
}

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
    fn new(target: &Target, cause: &str) -> Self {
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
struct Dial {
    target: Target,
    tls: Option<(tokio_rustls::TlsConnector, ServerName<'static>)>,
    client_cert: bool,
    timeout: Duration,
}

/// The tonic connector: TCP or unix socket, then TLS when asked, wrapped in
/// a [`Watch`].
#[derive(Clone)]
struct Connector(Arc<Dial>);

/// Any byte stream the connector can hand to hyper.
trait Io: AsyncRead + AsyncWrite + Send + Unpin {}
impl<T: AsyncRead + AsyncWrite + Send + Unpin> Io for T {}

impl tower_service::Service<Uri> for Connector {
    type Response = TokioIo<Watch>;
    type Error = io::Error;
    type Future = Pin<Box<dyn Future<Output = io::Result<TokioIo<Watch>>> + Send>>;

    fn poll_ready(&mut self, _: &mut TaskContext<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, _: Uri) -> Self::Future {
        let dial = self.0.clone();
        Box::pin(async move {
            let fail = |kind, why: String| ConnectFailure::new(&dial.target, &why).io(kind);
            let stream: Box<dyn Io> = match &dial.target.address {
                Address::Tcp { host, port } => {
                    let stream = TcpStream::connect((host.as_str(), *port))
                        .await
                        .map_err(|err| fail(err.kind(), err.to_string()))?;
                    stream.set_nodelay(true)?;
                    Box::new(stream)
                }
                Address::Unix(path) => Box::new(
                    UnixStream::connect(path)
                        .await
                        .map_err(|err| fail(err.kind(), err.to_string()))?,
                ),
            };
            let stream: Box<dyn Io> = match &dial.tls {
                None => stream,
                Some((connector, name)) => match connector.connect(name.clone(), stream).await {
                    Ok(stream) => Box::new(stream),
                    Err(err) => return Err(dial.tls_failure(err)),
                },
            };
            Ok(TokioIo::new(Watch {
                inner: stream,
                dial,
                seen: false,
                silence: None,
            }))
        })
    }
}

impl Dial {
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
struct Watch {
    inner: Box<dyn Io>,
    dial: Arc<Dial>,
    seen: bool,
    silence: Option<Pin<Box<Sleep>>>,
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
            Poll::Pending if !this.seen => {
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

/// Runs a command's work under `--max-time`: past the deadline the work is
/// dropped (which cancels any call in flight) and the command ends with
/// DeadlineExceeded.
pub async fn within<T>(
    max_time: Option<Duration>,
    work: impl Future<Output = Result<T>>,
) -> Result<T> {
    let Some(limit) = max_time else {
        return work.await;
    };
    match tokio::time::timeout(limit, work).await {
        Ok(result) => result,
        Err(_) => Err(StatusError(tonic::Status::deadline_exceeded(format!(
            "the deadline of --max-time {} s passed",
            limit.as_secs_f64()
        )))
        .into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(text: &str) -> Target {
        Target::parse(text).unwrap()
    }

    fn port(target: &Target) -> u16 {
        match target.address {
            Address::Tcp { port, .. } => port,
            Address::Unix(_) => panic!("not tcp"),
        }
    }

    #[test]
    fn loopback_is_plaintext_and_the_rest_is_tls() {
        assert!(!t("localhost:50051").tls);
        assert!(!t("127.0.0.2:1").tls);
        assert!(!t("[::1]:1").tls);
        assert!(t("example.com:443").tls);
        assert!(t("10.0.0.1:80").tls);
        assert!(!t("http://example.com:80").tls);
        assert!(t("https://localhost:1").tls);
    }

    #[test]
    fn ports_and_brackets() {
        assert_eq!(port(&t("https://example.com")), 443);
        assert_eq!(t("[::1]:7").host(), "::1");
        assert_eq!(t("[::1]:7").authority(), "[::1]:7");
        assert_eq!(port(&t("http://localhost:8080/")), 8080);
    }

    #[test]
    fn unix_sockets_in_both_spellings() {
        for text in ["unix:/run/a.sock", "unix:///run/a.sock", "UNIX:/run/a.sock"] {
            let target = t(text);
            assert_eq!(
                target.address,
                Address::Unix("/run/a.sock".into()),
                "{text}"
            );
            assert!(!target.tls);
            assert_eq!(target.to_string(), "unix:/run/a.sock");
            assert_eq!(target.authority(), "localhost");
        }
        assert_eq!(t("unix:rel.sock").address, Address::Unix("rel.sock".into()));
    }

    #[test]
    fn flags_override_the_rule() {
        let args = |f: fn(&mut ConnArgs)| {
            let mut args = ConnArgs::default();
            f(&mut args);
            args
        };
        let local = t("localhost:1");
        let remote = t("example.com:1");
        assert!(!uses_tls(&local, &args(|_| {})).unwrap());
        assert!(uses_tls(&local, &args(|a| a.tls = true)).unwrap());
        assert!(!uses_tls(&remote, &args(|a| a.plaintext = true)).unwrap());
        assert!(uses_tls(&local, &args(|a| a.insecure = true)).unwrap());
        assert!(uses_tls(&t("unix:/s"), &args(|a| a.tls = true)).unwrap());
        let err = uses_tls(&t("http://h:1"), &args(|a| a.cacert = Some("ca".into()))).unwrap_err();
        assert!(err.is::<UsageError>(), "{err}");
        assert!(
            uses_tls(
                &remote,
                &args(|a| {
                    a.plaintext = true;
                    a.insecure = true
                })
            )
            .is_err()
        );
    }

    #[test]
    fn bad_targets_are_usage_errors() {
        for bad in [
            "",
            "localhost",
            "host:99999",
            "::1:5",
            "ftp://x:1",
            "h:1/path",
            ":5",
            "unix:",
            "unix://",
        ] {
            let err = Target::parse(bad).unwrap_err();
            assert!(err.is::<UsageError>(), "{bad}: {err}");
        }
    }
}
