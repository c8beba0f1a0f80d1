//! The gRPC channel: one target and its current HTTP/2 [`Connection`],
//! that every gRPC call goes through. The connection is dialed
//! once up front; when it goes away (the server sent GOAWAY, refused a
//! stream, or the connection broke), the next call dials a new one, once
//! for every call waiting. Calls the server never processed fail marked as
//! such (`transport::is_unprocessed`), and the engine makes them again.

use std::sync::{Arc, Mutex};

use futures_util::future::Either;
use tonic::body::Body;

use super::dial::Dial;
use super::h2::Connection;

type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// A gRPC channel to one target over grpcx's own HTTP/2 connection.
/// Clones share the connection.
#[derive(Clone)]
pub struct Client(Arc<Inner>);

struct Inner {
    dial: Arc<Dial>,
    scheme: http::uri::Scheme,
    authority: http::uri::Authority,
    current: Mutex<Option<Connection>>,
    /// One dial at a time, for all the calls that found the connection gone.
    dialing: tokio::sync::Mutex<()>,
}

impl Client {
    pub(super) fn new(
        dial: Arc<Dial>,
        scheme: http::uri::Scheme,
        authority: http::uri::Authority,
        first: Connection,
    ) -> Client {
        Client(Arc::new(Inner {
            dial,
            scheme,
            authority,
            current: Mutex::new(Some(first)),
            dialing: Default::default(),
        }))
    }

    /// Sends one request (`shared` fields first) and waits for its head.
    pub fn call(
        &self,
        request: http::Request<Body>,
        shared: Arc<http::HeaderMap>,
    ) -> impl Future<Output = Result<http::Response<Body>, BoxError>> + '_ {
        let request = self.0.addressed(request);
        // Sent now when the connection takes it at once: then the future
        // keeps only what waits for the answer. Boxed otherwise: waiting
        // for a dial is rare, and its future is large.
        match self.0.current().and_then(Connection::ready_now) {
            Some(conn) => Either::Left(conn.send(request, shared)),
            None => Either::Right(Box::pin(async move {
                self.0.connection().await?.send(request, shared).await
            })),
        }
    }

    /// How the current connection reached the server, for `-v`.
    pub fn route(&self) -> Option<String> {
        self.0.current().and_then(|c| c.route().map(str::to_string))
    }
}

impl Inner {
    /// The current connection, unless it is going away.
    fn current(&self) -> Option<Connection> {
        let current = self.current.lock().unwrap_or_else(|e| e.into_inner());
        current.clone().filter(|c| !c.is_going_away())
    }

    /// The current connection, ready for one more call, unless it is going
    /// away or broke (then it is retired).
    async fn reuse(&self) -> Option<Connection> {
        self.current()?.ready().await.ok()
    }

    /// A connection ready for one more call: the current one unless it is
    /// going away; then a new one, or the one another call dialed meanwhile.
    async fn connection(&self) -> Result<Connection, BoxError> {
        if let Some(ready) = self.reuse().await {
            return Ok(ready);
        }
        let _dialing = self.dialing.lock().await;
        if let Some(ready) = self.reuse().await {
            return Ok(ready);
        }
        let conn = self.dial.connect().await?;
        *self.current.lock().unwrap_or_else(|e| e.into_inner()) = Some(conn.clone());
        Ok(conn.ready().await?)
    }

    /// The request with this target's scheme and authority, as HTTP/2.
    fn addressed(&self, mut request: http::Request<Body>) -> http::Request<Body> {
        let mut uri = std::mem::take(request.uri_mut()).into_parts();
        uri.scheme = Some(self.scheme.clone());
        uri.authority = Some(self.authority.clone());
        uri.path_and_query
            .get_or_insert_with(|| http::uri::PathAndQuery::from_static("/"));
        // All three parts are set: they always make a URI.
        if let Ok(uri) = http::Uri::from_parts(uri) {
            *request.uri_mut() = uri;
        }
        *request.version_mut() = http::Version::HTTP_2;
        request
    }
}
