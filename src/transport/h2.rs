//! The one HTTP/2 connection type: every call over HTTP/2 (gRPC, and
//! Connect or gRPC-Web) is one h2 stream on a [`Connection`]. h2 holds the
//! only HTTP/2 state machine; gRPC's framing is `protocol/grpc.rs`, and
//! `transport/client.rs` puts each call on the current connection.
//!
//! A connection owns its windows (the stream window grows by the `bdp`
//! estimate), a reader per response that takes frames promptly into one
//! buffer and releases their credit only as the consumer takes the bytes (so
//! a stalled stdout holds at most the stream window), uploads paced by the
//! window, keepalive pings sharing h2's one user PING with the estimator, and
//! its `Failure` and going-away state.

use std::cell::RefCell;
use std::io;
use std::ops::DerefMut;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, Waker, ready};
use std::time::Duration;

use bytes::{Bytes, BytesMut};
use http_body::{Body as _, Frame};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::time::{Instant, Sleep};
use tonic::body::Body;

use super::bdp::{self, Estimator};
use super::failure::{DeadlinePassed, Failure};

/// The connection window: the largest HTTP/2 allows. It costs nothing (the
/// stream windows bound memory) and keeps h2's small-DATA-frame budget (half
/// of it) out of reach.
pub const CONNECTION_WINDOW: u32 = (1 << 31) - 1;

type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// A deadline for one call, set by `invoke` as a request extension: past
/// `at` the call fails with [`DeadlinePassed`] naming `limit`.
#[derive(Debug, Clone, Copy)]
pub struct Deadline {
    pub at: Instant,
    pub limit: Duration,
}

impl Deadline {
    /// The deadline `timeout` from now, of a `limit` given by the user.
    pub fn after(timeout: Duration, limit: Duration) -> Self {
        Deadline {
            at: Instant::now() + timeout,
            limit,
        }
    }

    fn passed(self) -> BoxError {
        Box::new(DeadlinePassed(self.limit))
    }
}

/// One HTTP/2 connection to the server. Clones share it.
#[derive(Clone)]
pub struct Connection {
    send: h2::client::SendRequest<Bytes>,
    shared: Arc<Shared>,
}

struct Shared {
    /// Counts the bytes that arrive, for the window's estimate.
    estimator: Arc<Estimator>,
    /// Why the connection failed, in words, when its watch saw it.
    failure: Failure,
    /// No new call goes on it: the server sent GOAWAY, refused a stream,
    /// or the connection ended.
    going_away: AtomicBool,
    /// How it reached the server, for `-v`: `at ADDRESS` or `via proxy …`.
    route: Option<String>,
}

impl Shared {
    /// Puts no new call on the connection.
    fn retire(&self) {
        self.going_away.store(true, Ordering::Relaxed);
    }

    /// An h2 error, or why the connection under it failed when that is known.
    fn error(&self, err: h2::Error) -> BoxError {
        if (err.is_io() || !err.is_remote())
            && let Some(failure) = self.failure.get()
        {
            return Box::new(failure);
        }
        Box::new(err)
    }
}

impl Connection {
    /// HTTP/2 over `io` (the server's socket, TLS or tunnel), driven by a
    /// task of its own with its window estimate and keepalive. `keepalive`
    /// pings every interval and drops the connection when one goes
    /// unanswered past `interval.max(10 s)`.
    pub async fn handshake<T>(
        io: T,
        failure: Failure,
        route: Option<String>,
        keepalive: Option<Duration>,
    ) -> io::Result<Connection>
    where
        T: AsyncRead + AsyncWrite + Send + Unpin + 'static,
    {
        let (send, mut connection) = h2::client::Builder::new()
            .initial_window_size(bdp::INITIAL_WINDOW)
            .initial_connection_window_size(CONNECTION_WINDOW)
            .enable_push(false)
            .handshake::<_, Bytes>(super::coalesce::Coalesce::new(io))
            .await
            .map_err(into_io)?;
        let shared = Arc::new(Shared {
            estimator: Arc::new(Estimator::probing_now()),
            failure,
            going_away: AtomicBool::new(false),
            route,
        });
        let mut ping_pong = connection.ping_pong().expect("the first call takes it");
        let driver = shared.clone();
        tokio::spawn(async move {
            let mut keepalive = keepalive.map(Keepalive::new);
            let _ = std::future::poll_fn(|cx| -> Poll<Result<(), h2::Error>> {
                // One PING out at a time: the probe waits for a keepalive's.
                let pinging = keepalive.as_ref().is_some_and(|k| k.waiting);
                if !pinging && let Some(window) = bdp::poll(&driver.estimator, &mut ping_pong, cx)?
                {
                    connection.set_initial_window_size(window)?;
                }
                if let Some(keepalive) = &mut keepalive
                    && keepalive.poll(&mut ping_pong, &driver.estimator, cx)?
                {
                    // Unanswered: dropping the connection fails its calls.
                    return Poll::Ready(Ok(()));
                }
                Pin::new(&mut connection).poll(cx)
            })
            .await;
            driver.retire();
        });
        Ok(Connection { send, shared })
    }

    /// How the connection reached the server, for `-v`.
    pub fn route(&self) -> Option<&str> {
        self.shared.route.as_deref()
    }

    /// Whether the connection takes no new call.
    pub fn is_going_away(&self) -> bool {
        self.shared.going_away.load(Ordering::Relaxed)
    }

    /// Waits until the connection can open one more stream; fails, and
    /// retires the connection, when it cannot open any (the server sent
    /// GOAWAY, or it is gone).
    pub async fn ready(self) -> Result<Connection, h2::Error> {
        match self.send.ready().await {
            Ok(send) => Ok(Connection { send, ..self }),
            Err(err) => {
                self.shared.retire();
                Err(err)
            }
        }
    }

    /// The connection, if h2 takes a request on it now: unless it failed.
    pub fn ready_now(mut self) -> Option<Connection> {
        let mut cx = Context::from_waker(Waker::noop());
        matches!(self.send.poll_ready(&mut cx), Poll::Ready(Ok(()))).then_some(self)
    }

    /// Sends one request now; the future waits for the response head. The
    /// body goes up as the window allows, beside the response; it stops when
    /// the response is over (the server has answered) or dropped. Errors are
    /// h2's, or a [`ConnectFailure`](super::ConnectFailure) when the
    /// connection's watch saw why it failed. `shared` header fields, made
    /// once for many requests, go first (h2's `send_request_shared`).
    pub fn send(
        mut self,
        request: http::Request<Body>,
        shared: Arc<http::HeaderMap>,
    ) -> impl Future<Output = Result<http::Response<Body>, BoxError>> + 'static {
        let deadline = request.extensions().get::<Deadline>().copied();
        let (parts, mut body) = request.into_parts();
        // A body that is already all here (a unary request) goes out with
        // the headers, with no task of its own.
        let (head, ready) = take_ready(&mut body);
        let end = matches!(ready, Ready::All) && head.is_empty();
        let request = http::Request::from_parts(parts, ());
        let sent = self.send.send_request_shared(request, shared, end);
        let sent = sent.map(|(response, mut stream)| {
            // Only a running upload needs to hear that the response is over.
            let mut stop = None;
            match ready {
                _ if end => {}
                // h2 queues what the window cannot take yet: it is small.
                Ready::All => drop(stream.send_data(head, true)),
                Ready::Some => {
                    let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
                    stop = Some(stop_rx);
                    drop(tokio::spawn(upload(head, body, stream, stop_tx)));
                }
                Ready::Failed => stream.send_reset(h2::Reason::CANCEL),
            }
            (response, stop)
        });
        async move {
            let (response, stop) = sent.map_err(|err| self.shared.error(err))?;
            let response = match deadline {
                None => response.await,
                // Boxed: the timer is most of the future's size, and most calls
                // have no deadline.
                Some(deadline) => Box::pin(tokio::time::timeout_at(deadline.at, response))
                    .await
                    .map_err(|_| deadline.passed())?,
            };
            let response = response.map_err(|err| {
                if super::never_processed(&err) {
                    self.shared.retire();
                }
                self.shared.error(err)
            })?;
            let (mut parts, recv) = response.into_parts();
            crate::status::mend_status_fields(&mut parts.headers);
            let body = if recv.is_end_stream() {
                Body::empty()
            } else {
                Body::new(self.download(recv, deadline, stop))
            };
            Ok(http::Response::from_parts(parts, body))
        }
    }

    /// The response body: a reader takes the frames promptly; the body hands
    /// them on and releases their credit as it goes.
    fn download(
        &self,
        mut recv: h2::RecvStream,
        deadline: Option<Deadline>,
        upload: Option<tokio::sync::oneshot::Receiver<()>>,
    ) -> Download {
        // What is here already (a unary answer often is, whole) is taken
        // at once; the rest by a task of its own, as it comes.
        let inbox = RefCell::new(Inbox::default());
        let mut cx = Context::from_waker(Waker::noop());
        let estimator = &self.shared.estimator;
        let whole = take(&mut recv, || inbox.borrow_mut(), estimator, &mut cx).is_ready();
        let inbox = inbox.into_inner();
        let (inbox, flow) = if whole {
            // All here: its credit goes back now, and the body owns it, with
            // no reader to share it (so no lock) and no stream to hold.
            let _ = recv.flow_control().release_capacity(inbox.data.len());
            (Held::Whole(inbox), None)
        } else {
            let inbox = Arc::new(Mutex::new(inbox));
            let flow = recv.flow_control().clone();
            let (reader, estimator) = (inbox.clone(), estimator.clone());
            tokio::spawn(std::future::poll_fn(move |cx| {
                take(&mut recv, || lock(&reader), &estimator, cx)
            }));
            (Held::Shared(inbox), Some(flow))
        };
        Download {
            inbox,
            flow,
            deadline: deadline.map(|d| (Box::pin(tokio::time::sleep_until(d.at)), d)),
            connection: self.shared.clone(),
            _upload: upload,
            done: false,
        }
    }
}

/// An h2 error as an io::Error, keeping an io error's kind and payload.
fn into_io(err: h2::Error) -> io::Error {
    if err.is_io() {
        return err.into_io().expect("an io error");
    }
    io::Error::other(err)
}

/// How much of a request body was ready at once.
enum Ready {
    /// All of it.
    All,
    /// Some: the rest comes later.
    Some,
    /// It failed (it could not be encoded).
    Failed,
}

/// The frames of `body` that are ready now, and whether that was all of it
/// (up to 64 KiB; past that the rest goes as the window allows).
fn take_ready(body: &mut Body) -> (Bytes, Ready) {
    let mut cx = Context::from_waker(Waker::noop());
    let mut head = Head::default();
    while head.len() < 64 * 1024 {
        match Pin::new(&mut *body).poll_frame(&mut cx) {
            Poll::Ready(Some(Ok(frame))) => match frame.into_data() {
                Ok(data) => head.push(data),
                // gRPC requests have no trailers.
                Err(_) => return (head.into_bytes(), Ready::All),
            },
            Poll::Ready(None) => return (head.into_bytes(), Ready::All),
            Poll::Ready(Some(Err(_))) => return (head.into_bytes(), Ready::Failed),
            Poll::Pending => break,
        }
    }
    (head.into_bytes(), Ready::Some)
}

/// The start of a request body: one chunk kept as it came (a unary
/// request is one), more gathered into one buffer.
#[derive(Default)]
struct Head {
    first: Bytes,
    more: Option<BytesMut>,
}

impl Head {
    fn len(&self) -> usize {
        self.more.as_ref().map_or(self.first.len(), BytesMut::len)
    }

    fn push(&mut self, data: Bytes) {
        match &mut self.more {
            Some(more) => more.extend_from_slice(&data),
            None if self.first.is_empty() => self.first = data,
            None => {
                let mut more = BytesMut::from(&self.first[..]);
                more.extend_from_slice(&data);
                self.more = Some(more);
            }
        }
    }

    fn into_bytes(self) -> Bytes {
        self.more.map_or(self.first, BytesMut::freeze)
    }
}

/// The request body, sent as the window allows, until it ends or the
/// response is over (`stop` closes).
async fn upload(
    head: Bytes,
    mut body: Body,
    mut stream: h2::SendStream<Bytes>,
    mut stop: tokio::sync::oneshot::Sender<()>,
) {
    let pump = async {
        send_all(&mut stream, head).await?;
        loop {
            let frame = std::future::poll_fn(|cx| Pin::new(&mut body).poll_frame(cx)).await;
            match frame {
                Some(Ok(frame)) => {
                    if let Ok(data) = frame.into_data() {
                        send_all(&mut stream, data).await?;
                    }
                }
                // The request stream failed (it could not be encoded):
                // the call is cancelled, and says so.
                Some(Err(_)) => {
                    stream.send_reset(h2::Reason::CANCEL);
                    return Ok(());
                }
                None => return stream.send_data(Bytes::new(), true),
            }
        }
    };
    tokio::select! {
        _ = pump => {}
        () = stop.closed() => {}
    }
}

/// Sends `data` in pieces the stream's window has room for, so that h2
/// never queues more than the window.
async fn send_all(stream: &mut h2::SendStream<Bytes>, mut data: Bytes) -> Result<(), h2::Error> {
    while !data.is_empty() {
        stream.reserve_capacity(data.len());
        let capacity = std::future::poll_fn(|cx| {
            loop {
                let capacity = stream.capacity();
                if capacity > 0 {
                    return Poll::Ready(Ok::<_, h2::Error>(capacity));
                }
                // None: the stream is closed (reset, or the server answered).
                ready!(stream.poll_capacity(cx))
                    .unwrap_or_else(|| Err(h2::Reason::CANCEL.into()))?;
            }
        })
        .await?;
        let piece = data.split_to(capacity.min(data.len()));
        stream.send_data(piece, false)?;
    }
    Ok(())
}

/// What the reader task has taken from a response stream and the body has
/// not yet handed on.
#[derive(Default)]
struct Inbox {
    data: BytesMut,
    end: Option<End>,
    /// The body, waiting for data.
    consumer: Option<Waker>,
    /// The reader task, to wake when the body goes away.
    reader: Option<Waker>,
    /// The body was dropped: the call is cancelled.
    gone: bool,
}

enum End {
    Trailers(Option<http::HeaderMap>),
    Failed(h2::Error),
}

impl Inbox {
    fn wake(&mut self) {
        if let Some(waker) = self.consumer.take() {
            waker.wake();
        }
    }

    /// What is here for the body: data, else the end; with neither, the
    /// body's `waker` is kept, to be woken when more comes.
    fn hand_on(&mut self, waker: &Waker) -> Found {
        if !self.data.is_empty() {
            // The last data goes with its buffer: a split shares it, which
            // costs an allocation (a whole unary answer's one).
            let data = match self.end {
                Some(_) => std::mem::take(&mut self.data),
                None => self.data.split(),
            };
            return Found::Data(data.freeze());
        }
        match self.end.take() {
            Some(end) => Found::End(end),
            None => {
                self.consumer = Some(waker.clone());
                Found::Nothing
            }
        }
    }
}

/// What the body found in its inbox.
enum Found {
    Data(Bytes),
    End(End),
    Nothing,
}

fn lock(inbox: &Mutex<Inbox>) -> std::sync::MutexGuard<'_, Inbox> {
    inbox.lock().unwrap_or_else(|e| e.into_inner())
}

/// The reader: takes every frame as it comes, then the trailers or the
/// error, into the inbox (`inbox()` locks it, or borrows the body's own);
/// ready when the stream has ended, or the body is gone (dropping the
/// stream then cancels the call).
fn take<I: DerefMut<Target = Inbox>>(
    recv: &mut h2::RecvStream,
    inbox: impl Fn() -> I,
    estimator: &Estimator,
    cx: &mut Context<'_>,
) -> Poll<()> {
    let end = loop {
        let mut held = inbox();
        if held.gone {
            return Poll::Ready(());
        }
        if !held
            .reader
            .as_ref()
            .is_some_and(|w| w.will_wake(cx.waker()))
        {
            held.reader = Some(cx.waker().clone());
        }
        // Every frame already here, in one go.
        let polled = recv.poll_data_into(cx, &mut held.data);
        if let Poll::Ready(Some(Ok(_))) = polled {
            held.wake();
        }
        drop(held);
        match polled {
            Poll::Ready(Some(Ok(len))) => estimator.received(len),
            Poll::Ready(Some(Err(err))) => break End::Failed(err),
            Poll::Ready(None) => match recv.poll_trailers(cx) {
                Poll::Ready(Ok(mut trailers)) => {
                    if let Some(trailers) = &mut trailers {
                        crate::status::mend_status_fields(trailers);
                    }
                    break End::Trailers(trailers);
                }
                Poll::Ready(Err(err)) => break End::Failed(err),
                Poll::Pending => return Poll::Pending,
            },
            Poll::Pending => return Poll::Pending,
        }
    };
    let mut inbox = inbox();
    inbox.end = Some(end);
    inbox.wake();
    Poll::Ready(())
}

/// A response body as tonic (or a protocol's decoder) reads it.
struct Download {
    inbox: Held,
    /// The stream's credit, released as the body hands data on; none when
    /// the response came whole (released at once).
    flow: Option<h2::FlowControl>,
    deadline: Option<(Pin<Box<Sleep>>, Deadline)>,
    /// The connection's state (not its request sender, whose clone
    /// locks h2's streams): to retire it, and to word its errors.
    connection: Arc<Shared>,
    /// Held while the response runs: the upload stops when it is dropped.
    _upload: Option<tokio::sync::oneshot::Receiver<()>>,
    done: bool,
}

/// A response's inbox: shared with its reader task, or, when the response
/// was all here at once, the body's own (no allocation to share it, no
/// lock to take).
enum Held {
    Shared(Arc<Mutex<Inbox>>),
    Whole(Inbox),
}

impl http_body::Body for Download {
    type Data = Bytes;
    type Error = BoxError;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, BoxError>>> {
        let this = &mut *self;
        if this.done {
            return Poll::Ready(None);
        }
        let found = match &mut this.inbox {
            Held::Whole(inbox) => inbox.hand_on(cx.waker()),
            Held::Shared(inbox) => lock(inbox).hand_on(cx.waker()),
        };
        match found {
            Found::Data(data) => {
                if let Some(flow) = &mut this.flow {
                    let _ = flow.release_capacity(data.len());
                }
                Poll::Ready(Some(Ok(Frame::data(data))))
            }
            Found::End(End::Trailers(trailers)) => {
                this.done = true;
                Poll::Ready(trailers.map(|t| Ok(Frame::trailers(t))))
            }
            Found::End(End::Failed(err)) => {
                this.done = true;
                if super::never_processed(&err) || err.is_io() {
                    this.connection.retire();
                }
                Poll::Ready(Some(Err(this.connection.error(err))))
            }
            Found::Nothing => {
                if let Some((sleep, deadline)) = &mut this.deadline
                    && sleep.as_mut().poll(cx).is_ready()
                {
                    this.done = true;
                    return Poll::Ready(Some(Err(deadline.passed())));
                }
                Poll::Pending
            }
        }
    }

    fn is_end_stream(&self) -> bool {
        self.done
    }
}

impl Drop for Download {
    fn drop(&mut self) {
        // A whole response has no reader left to tell.
        if let Held::Shared(inbox) = &self.inbox {
            let mut inbox = lock(inbox);
            inbox.gone = true;
            if let Some(reader) = inbox.reader.take() {
                reader.wake();
            }
        }
    }
}

/// Keepalive pings; they share h2's one user PING with the estimator.
struct Keepalive {
    interval: Duration,
    timer: Pin<Box<Sleep>>,
    waiting: bool,
}

impl Keepalive {
    fn new(interval: Duration) -> Keepalive {
        Keepalive {
            interval,
            timer: Box::pin(tokio::time::sleep(interval)),
            waiting: false,
        }
    }

    /// True when a ping went unanswered. A keepalive ping waits while a
    /// probe is out.
    fn poll(
        &mut self,
        ping_pong: &mut h2::PingPong,
        estimator: &Estimator,
        cx: &mut Context<'_>,
    ) -> Result<bool, h2::Error> {
        if self.waiting {
            if let Poll::Ready(pong) = ping_pong.poll_pong(cx) {
                pong?;
                self.waiting = false;
                self.timer.as_mut().reset(Instant::now() + self.interval);
            } else if self.timer.as_mut().poll(cx).is_ready() {
                return Ok(true);
            }
            return Ok(false);
        }
        if self.timer.as_mut().poll(cx).is_ready() && !estimator.probing() {
            ping_pong.send_ping(h2::Ping::opaque())?;
            self.waiting = true;
            let wait = self.interval.max(Duration::from_secs(10));
            self.timer.as_mut().reset(Instant::now() + wait);
            let _ = self.timer.as_mut().poll(cx);
        }
        Ok(false)
    }
}
