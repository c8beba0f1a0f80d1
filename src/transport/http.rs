//! The HTTP client for the protocols that are not gRPC: HTTP/1.1 by hyper's
//! client connections, HTTP/2 by grpcx's own connection (`h2.rs`, through
//! the same [`Client`] as gRPC), over the same dialer, TLS and first-byte
//! watch as the gRPC channel.
//!
//! Which HTTP: over TLS, ALPN offers h2 and http/1.1 and the server picks;
//! over plaintext, HTTP/1.1 unless `--http2-prior-knowledge` (as buf curl).
//! An HTTP/2 connection carries every request; HTTP/1.1 connections carry
//! one request at a time, so a busy one is left alone and another dialed.

use std::sync::{Arc, Mutex};

use anyhow::Result;
use hyper::client::conn::http1;
use hyper_util::rt::TokioIo;
use tonic::body::Body;

use super::client::Client;
use super::dial::Dial;
use super::h2::Connection;
use super::{Target, dial_failed};
use crate::cli::ConnArgs;

/// A connected HTTP client for one target.
#[derive(Clone)]
pub struct HttpClient(Arc<Inner>);

struct Inner {
    dial: Arc<Dial>,
    scheme: http::uri::Scheme,
    authority: http::uri::Authority,
    /// The connection, when it speaks HTTP/2.
    h2: Option<Client>,
    /// How the first connection reached the server, for `-v`.
    route: Option<String>,
    /// HTTP/1.1 connections not known to be busy.
    idle: Mutex<Vec<http1::SendRequest<Body>>>,
}

type BoxError = Box<dyn std::error::Error + Send + Sync>;

impl HttpClient {
    /// Dials the target and settles the HTTP version, so that a refused
    /// connection or a failed handshake fails here, naming the cause.
    pub async fn connect(target: &Target, args: &ConnArgs) -> Result<HttpClient> {
        let (dial, scheme, authority) = super::dialer(target, args, true)?;
        let (h2, route, idle) = match open(&dial).await? {
            Conn::H2(conn) => {
                let route = conn.route().map(str::to_string);
                let client = Client::new(dial.clone(), scheme.clone(), authority.clone(), conn);
                (Some(client), route, vec![])
            }
            Conn::H1(send, route) => (None, route, vec![send]),
        };
        Ok(HttpClient(Arc::new(Inner {
            dial,
            scheme,
            authority,
            h2,
            route,
            idle: Mutex::new(idle),
        })))
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

    /// How the connection reached the server, for `-v`.
    pub fn route(&self) -> Option<String> {
        self.0.route.clone()
    }

    /// Sends a request whose URI is a path, and waits for the response head.
    pub async fn send(
        &self,
        mut request: http::Request<Body>,
    ) -> Result<http::Response<Body>, BoxError> {
        let inner = &self.0;
        if let Some(h2) = &inner.h2 {
            return h2.call(request, Arc::default()).await;
        }
        let path = request
            .uri()
            .path_and_query()
            .cloned()
            .unwrap_or_else(|| http::uri::PathAndQuery::from_static("/"));
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
            None => match open(&inner.dial).await.map_err(|err| err.to_string())? {
                Conn::H1(send, _) => send,
                Conn::H2(_) => return Err("the server switched to HTTP/2".into()),
            },
        };
        let response = send.send_request(request);
        inner.idle.lock().expect("idle").push(send);
        Ok(response.await?.map(Body::new))
    }
}

enum Conn {
    H1(http1::SendRequest<Body>, Option<String>),
    H2(Connection),
}

/// Opens one connection and shakes hands in the HTTP version it speaks.
async fn open(dial: &Arc<Dial>) -> Result<Conn> {
    let work = async {
        let watch = dial.clone().open().await?;
        if watch.h2 {
            let (failure, route) = (watch.failure.clone(), watch.route.clone());
            let conn = Connection::handshake(watch, failure, route, dial.keepalive);
            return Ok::<_, std::io::Error>(Conn::H2(conn.await?));
        }
        let (route, failure) = (watch.route.clone(), watch.failure.clone());
        let io = TokioIo::new(watch);
        let (mut send, conn) = http1::handshake(io).await.map_err(std::io::Error::other)?;
        tokio::spawn(conn);
        // Ready once its task has run: until then `is_ready` says no,
        // and the first request would dial a second connection. A
        // connection that failed meanwhile (its first bytes were not
        // HTTP/1.1) says why, not hyper's "channel closed".
        if let Err(err) = send.ready().await {
            return Err(match failure.get() {
                Some(failure) => failure.io(std::io::ErrorKind::InvalidData),
                None => std::io::Error::other(err),
            });
        }
        Ok(Conn::H1(send, route))
    };
    tokio::time::timeout(dial.timeout, work)
        .await
        .unwrap_or_else(|_| Err(dial.timed_out()))
        .map_err(|err| dial_failed(&dial.target, &err))
}
