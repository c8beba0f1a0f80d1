//! A plain HTTP client (hyper's client connections) for the protocols that
//! are not gRPC: HTTP/1.1 or HTTP/2 over the same dialer, TLS and first-byte
//! watch as the gRPC channel.
//!
//! Which HTTP: over TLS, ALPN offers h2 and http/1.1 and the server picks;
//! over plaintext, HTTP/1.1 unless `--http2-prior-knowledge` (as buf curl).
//! An HTTP/2 connection carries every request; HTTP/1.1 connections carry
//! one request at a time, so a busy one is left alone and another dialed.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use anyhow::Result;
use hyper::body::Incoming;
use hyper::client::conn::{http1, http2};
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use tonic::body::Body;

use super::dial::Dial;
use super::{CONNECTION_WINDOW, STREAM_WINDOW, Target, connect_failed, find_failure, uses_tls};
use crate::cli::ConnArgs;
use crate::error::{StatusError, UsageError};

/// A connected HTTP client for one target.
#[derive(Clone)]
pub struct HttpClient(Arc<Inner>);

struct Inner {
    dial: Arc<Dial>,
    target: Target,
    timeout: Duration,
    connect_timeout: f64,
    /// `--keepalive`: HTTP/2 pings (HTTP/1.1 has none).
    keepalive: Option<Duration>,
    scheme: http::uri::Scheme,
    authority: http::uri::Authority,
    /// The connection, when it speaks HTTP/2.
    h2: Option<http2::SendRequest<Body>>,
    /// HTTP/1.1 connections not known to be busy.
    idle: Mutex<Vec<http1::SendRequest<Body>>>,
}

type BoxError = Box<dyn std::error::Error + Send + Sync>;

impl HttpClient {
    /// Dials the target and settles the HTTP version, so that a refused
    /// connection or a failed handshake fails here, naming the cause.
    pub async fn connect(target: &Target, args: &ConnArgs) -> Result<HttpClient> {
        let use_tls = uses_tls(target, args)?;
        let timeout = Duration::from_secs_f64(args.connect_timeout);
        let authority = args.authority.clone().unwrap_or_else(|| target.authority());
        // ALPN lets the server choose: gRPC-Web and Connect work over both.
        let alpn = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
        let tls = super::tls_connector(target, args, use_tls, Some(alpn))?;
        let authority = http::uri::Authority::try_from(authority.as_str())
            .map_err(|_| UsageError(format!("invalid authority '{authority}'")))?;
        let dial = Arc::new(Dial {
            target: target.clone(),
            tls,
            client_cert: args.cert.is_some(),
            timeout,
            http1: use_tls || !args.http2_prior_knowledge,
            proxy: super::proxy::choose(target, args.proxy.as_deref())?,
            // hyper's own client sends the pings (below), not the relay.
            keepalive: None,
            direct: Default::default(),
        });
        let mut client = Inner {
            dial,
            target: target.clone(),
            timeout,
            connect_timeout: args.connect_timeout,
            keepalive: args.keepalive.map(Duration::from_secs_f64),
            scheme: if use_tls {
                http::uri::Scheme::HTTPS
            } else {
                http::uri::Scheme::HTTP
            },
            authority,
            h2: None,
            idle: Mutex::new(Vec::new()),
        };
        match client.dial().await? {
            Conn::H2(send) => client.h2 = Some(send),
            Conn::H1(send) => client.idle.lock().expect("idle").push(send),
        }
        Ok(HttpClient(Arc::new(client)))
    }

    /// Whether requests go over HTTP/2 (which bidi streams need).
    pub fn is_h2(&self) -> bool {
        self.0.h2.is_some()
    }

    /// Whether the connection is TLS.
    pub fn is_tls(&self) -> bool {
        self.0.scheme == http::uri::Scheme::HTTPS
    }

    /// "HTTP/2" or "HTTP/1.1", for `-v`.
    pub fn version(&self) -> &'static str {
        if self.is_h2() { "HTTP/2" } else { "HTTP/1.1" }
    }

    /// Sends a request whose URI is a path, and waits for the response head.
    pub async fn send(
        &self,
        mut request: http::Request<Body>,
    ) -> Result<http::Response<Incoming>, BoxError> {
        let inner = &self.0;
        let path = request
            .uri()
            .path_and_query()
            .cloned()
            .unwrap_or_else(|| http::uri::PathAndQuery::from_static("/"));
        if let Some(h2) = &inner.h2 {
            *request.uri_mut() = http::Uri::builder()
                .scheme(inner.scheme.clone())
                .authority(inner.authority.clone())
                .path_and_query(path)
                .build()?;
            *request.version_mut() = http::Version::HTTP_2;
            let mut h2 = h2.clone();
            h2.ready().await?;
            return Ok(h2.send_request(request).await?);
        }
        *request.uri_mut() = http::Uri::from(path);
        *request.version_mut() = http::Version::HTTP_11;
        let host = http::HeaderValue::from_str(inner.authority.as_str())?;
        request.headers_mut().insert(http::header::HOST, host);
        let ready = {
            let mut idle = inner.idle.lock().expect("idle");
            idle.retain(|send| !send.is_closed());
            let at = idle.iter().position(|send| send.is_ready());
            at.map(|at| idle.swap_remove(at))
        };
        let mut send = match ready {
            Some(send) => send,
            None => match inner.dial().await.map_err(|err| err.to_string())? {
                Conn::H1(send) => send,
                Conn::H2(_) => return Err("the server switched to HTTP/2".into()),
            },
        };
        let response = send.send_request(request);
        inner.idle.lock().expect("idle").push(send);
        Ok(response.await?)
    }
}

enum Conn {
    H1(http1::SendRequest<Body>),
    H2(http2::SendRequest<Body>),
}

impl Inner {
    /// Opens one connection and shakes hands in the HTTP version it speaks.
    async fn dial(&self) -> Result<Conn> {
        let work = async {
            let io = TokioIo::new(self.dial.clone().open().await?);
            if io.inner().h2 {
                let mut builder = http2::Builder::new(TokioExecutor::new());
                builder
                    .initial_stream_window_size(STREAM_WINDOW)
                    .initial_connection_window_size(CONNECTION_WINDOW);
                if let Some(interval) = self.keepalive {
                    builder
                        .timer(TokioTimer::new())
                        .keep_alive_interval(interval)
                        .keep_alive_timeout(interval.max(Duration::from_secs(10)))
                        .keep_alive_while_idle(true);
                }
                let (send, conn) = builder.handshake(io).await.map_err(std::io::Error::other)?;
                tokio::spawn(conn);
                Ok::<_, std::io::Error>(Conn::H2(send))
            } else {
                let (send, conn) = http1::handshake(io).await.map_err(std::io::Error::other)?;
                tokio::spawn(conn);
                Ok(Conn::H1(send))
            }
        };
        match tokio::time::timeout(self.timeout, work).await {
            Err(_) => Err(connect_failed(
                &self.target,
                &format!("no connection within {} s", self.connect_timeout),
            )),
            Ok(Err(err)) => Err(match find_failure(&err) {
                Some(failure) => {
                    StatusError(tonic::Status::unavailable(failure.to_string())).into()
                }
                None => connect_failed(&self.target, &super::cause(&err)),
            }),
            Ok(Ok(conn)) => Ok(conn),
        }
    }
}
