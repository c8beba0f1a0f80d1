//! The HTTP/2 relay that gives grpcx full speed on long links with bounded
//! memory. hyper (under tonic's `Channel`) exposes neither h2's small-DATA-
//! frame budget nor a safe adaptive window, so grpcx drives the connection
//! to the server with h2 itself, and hands hyper an in-process duplex pipe
//! on which a small h2 server relays each call.
//!
//! Toward the server, each response stream is read promptly into one
//! contiguous buffer (so h2 never holds a pile of small frames, whatever the
//! server's framing), and its flow-control credit is released only when the
//! bytes move on to hyper. So what a server can make grpcx hold is the
//! stream window in raw bytes; the window starts at 128 KiB and grows, by
//! the [`bdp`](super::bdp) estimate, only on a link that needs it, up to
//! 16 MiB. Toward hyper the relay coalesces the buffer into large frames,
//! and hyper's own window (128 KiB) bounds what waits in hyper.
//!
//! Everything the server says is passed on as itself: headers, trailers, a
//! reset's reason; a GOAWAY or a broken connection closes the pipe only
//! after every byte received before it has been handed over. A call the
//! server never processed (its connection was going away) is refused with
//! REFUSED_STREAM, and the pipe goes away too, so that the call can be made
//! again on a new connection.

use std::io;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::{Bytes, BytesMut};
use futures_util::FutureExt as _;
use h2::{RecvStream, SendStream};
use tokio::io::{AsyncRead, AsyncWrite, DuplexStream};
use tokio::sync::mpsc;

use super::bdp::{self, Estimator};

/// The connection window toward the server: the largest HTTP/2 allows.
/// It costs nothing (the stream windows bound memory) and keeps h2's
/// small-frame budget (half of it) out of reach.
pub(crate) const CONNECTION_WINDOW: u32 = (1 << 31) - 1;
/// The pipe between hyper and the relay.
pub(crate) const PIPE_BUFFER: usize = 256 * 1024;
/// The largest frame handed to hyper at once.
const CHUNK: usize = 256 * 1024;

/// How a connection to the server ended, for the relay's side toward hyper.
/// Either way the pipe ends with a GOAWAY naming the last call the relay
/// took: hyper's calls after it were never sent, and may be made again on a
/// new connection (`invoke::is_unprocessed`).
pub enum Ended {
    /// A GOAWAY with this reason: passed on with the same reason.
    GoAway(h2::Reason),
    /// Anything else (an io error, a protocol error, a close without
    /// GOAWAY): the GOAWAY says NO_ERROR, and the calls the relay took see
    /// the pipe close under them.
    Broken,
}

/// The relay's own HTTP/2 connection to the server, for code that speaks
/// HTTP/2 itself: the engine's direct lane (`engine/direct.rs`). Calls made
/// on it share the connection, its windows, its BDP estimate and its
/// keepalive with the calls relayed for hyper.
#[derive(Clone)]
pub struct Direct {
    pub client: h2::client::SendRequest<Bytes>,
    /// Counts the bytes that arrive, for the window's estimate.
    pub estimator: Arc<Estimator>,
}

impl Direct {
    /// Waits until the connection can open one more stream; fails when it
    /// cannot open any (the server sent GOAWAY, or it is gone).
    pub async fn ready(self) -> Result<Direct, h2::Error> {
        let client = self.client.ready().await?;
        Ok(Direct { client, ..self })
    }
}

/// Starts HTTP/2 over `io` (the server's socket, TLS or tunnel) and returns
/// the pipe for hyper, and the connection itself. `keepalive` pings the
/// server every interval and drops the connection when one goes unanswered
/// past `interval.max(10 s)`.
pub async fn start<T>(io: T, keepalive: Option<Duration>) -> io::Result<(DuplexStream, Direct)>
where
    T: AsyncRead + AsyncWrite + Send + Unpin + 'static,
{
    let (direct, ended_rx) = connect(io, keepalive).await?;
    let (hyper_side, relay_side) = tokio::io::duplex(PIPE_BUFFER);
    tokio::spawn(serve(
        relay_side,
        direct.client.clone(),
        direct.estimator.clone(),
        ended_rx,
    ));
    Ok((hyper_side, direct))
}

/// HTTP/2 over `io`, with its window estimate and keepalive, driven by a
/// task of its own; the receiver says how the connection ended.
pub async fn connect<T>(
    io: T,
    keepalive: Option<Duration>,
) -> io::Result<(Direct, mpsc::UnboundedReceiver<Ended>)>
where
    T: AsyncRead + AsyncWrite + Send + Unpin + 'static,
{
    let (client, mut connection) = h2::client::Builder::new()
        .initial_window_size(bdp::INITIAL_WINDOW)
        .initial_connection_window_size(CONNECTION_WINDOW)
        .enable_push(false)
        .handshake::<_, Bytes>(io)
        .await
        .map_err(into_io)?;
    let estimator = Arc::new(Estimator::probing_now());
    let (ended_tx, ended_rx) = mpsc::unbounded_channel();
    let mut ping_pong = connection.ping_pong().expect("the first call takes it");
    let driver_estimator = estimator.clone();
    tokio::spawn(async move {
        let mut keepalive = keepalive.map(Keepalive::new);
        let ended = std::future::poll_fn(|cx| {
            let result: Result<Poll<()>, h2::Error> = (|| {
                // One PING out at a time: the probe waits for a keepalive's.
                let pinging = keepalive.as_ref().is_some_and(|k| k.waiting);
                if !pinging && let Some(window) = bdp::poll(&driver_estimator, &mut ping_pong, cx)?
                {
                    connection.set_initial_window_size(window)?;
                }
                if let Some(keepalive) = &mut keepalive
                    && keepalive.poll(&mut ping_pong, &driver_estimator, cx)?
                {
                    // Unanswered: dropping the connection fails its calls.
                    return Ok(Poll::Ready(()));
                }
                Ok(std::pin::Pin::new(&mut connection).poll(cx)?)
            })();
            match result {
                Ok(Poll::Pending) => Poll::Pending,
                Ok(Poll::Ready(())) => Poll::Ready(Ended::Broken),
                Err(err) if err.is_go_away() => {
                    Poll::Ready(Ended::GoAway(err.reason().unwrap_or(h2::Reason::NO_ERROR)))
                }
                Err(_) => Poll::Ready(Ended::Broken),
            }
        })
        .await;
        drop(connection);
        let _ = ended_tx.send(ended);
    });
    Ok((Direct { client, estimator }, ended_rx))
}

/// An h2 error as an io::Error, keeping an io error's kind and payload (a
/// [`ConnectFailure`](super::ConnectFailure) among them).
fn into_io(err: h2::Error) -> io::Error {
    if err.is_io() {
        return err.into_io().expect("an io error");
    }
    io::Error::other(err)
}

/// Keepalive pings, on the relay's side (hyper's would reach only the pipe).
struct Keepalive {
    interval: Duration,
    timer: std::pin::Pin<Box<tokio::time::Sleep>>,
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

    /// True when a ping went unanswered. Shares the PING slot with the
    /// estimator: h2 allows one user ping out at a time, so a keepalive ping
    /// waits while a probe is out.
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
                self.timer
                    .as_mut()
                    .reset(tokio::time::Instant::now() + self.interval);
            } else if self.timer.as_mut().poll(cx).is_ready() {
                return Ok(true);
            }
            return Ok(false);
        }
        if self.timer.as_mut().poll(cx).is_ready() && !estimator.probing() {
            ping_pong.send_ping(h2::Ping::opaque())?;
            self.waiting = true;
            let wait = self.interval.max(Duration::from_secs(10));
            self.timer
                .as_mut()
                .reset(tokio::time::Instant::now() + wait);
            let _ = self.timer.as_mut().poll(cx);
        }
        Ok(false)
    }
}

/// The h2 server on the pipe: each call hyper starts is relayed to the
/// server. When the server's connection ends, the pipe ends the same way
/// once every call has handed over what it received.
async fn serve(
    pipe: DuplexStream,
    client: h2::client::SendRequest<Bytes>,
    estimator: Arc<Estimator>,
    mut ended: mpsc::UnboundedReceiver<Ended>,
) {
    let Ok(mut pipe) = h2::server::Builder::new()
        .initial_window_size(bdp::INITIAL_WINDOW)
        .initial_connection_window_size(CONNECTION_WINDOW)
        .max_frame_size(16 * 1024)
        .handshake::<_, Bytes>(pipe)
        .await
    else {
        return;
    };
    let mut calls = tokio::task::JoinSet::new();
    let mut parked = Vec::new();
    let mut going_away = false;
    let how = loop {
        tokio::select! {
            request = pipe.accept() => match request {
                Some(Ok((request, respond))) => {
                    let local = Arc::new(Estimator::default());
                    calls.spawn(relay(request, respond, client.clone(), local, estimator.clone()));
                }
                // hyper closed the pipe: the command is over.
                _ => return,
            },
            how = ended.recv() => break how.unwrap_or(Ended::Broken),
            // Reap finished calls; one that ended with the connection parks
            // its stream toward hyper (dropping it would send a reset of its
            // own) until the pipe ends. One the server refused says its
            // connection is going away: so does the pipe, gracefully, and
            // hyper takes its next calls to a new connection.
            Some(done) = calls.join_next(), if !calls.is_empty() => match done {
                Ok(Relayed::Parked(stream)) => parked.push(stream),
                Ok(Relayed::Refused) if !going_away => {
                    going_away = true;
                    pipe.graceful_shutdown();
                }
                _ => {}
            }
        }
    };
    // Each call hands over what it holds, then parks its stream. The pipe
    // is driven meanwhile (hyper's window updates arrive through it); a
    // call started now is refused.
    while !calls.is_empty() {
        tokio::select! {
            Some(done) = calls.join_next() => {
                if let Ok(Relayed::Parked(stream)) = done {
                    parked.push(stream);
                }
            }
            request = pipe.accept() => match request {
                Some(Ok((_, mut respond))) => respond.send_reset(h2::Reason::REFUSED_STREAM),
                _ => return,
            },
        }
    }
    // The GOAWAY names the last stream h2 has read, taken or not: those
    // read and not yet taken are refused first, or hyper would count them
    // as processed and see them break.
    while let Some(Some(Ok((_, mut respond)))) = pipe.accept().now_or_never() {
        respond.send_reset(h2::Reason::REFUSED_STREAM);
    }
    pipe.abrupt_shutdown(match how {
        Ended::GoAway(reason) => reason,
        Ended::Broken => h2::Reason::NO_ERROR,
    });
    let _ = std::future::poll_fn(|cx| pipe.poll_closed(cx)).await;
    drop(parked);
}

/// A stream toward hyper left open because the connection under it ended;
/// the pipe's end closes it. (Dropping it would reset it: hyper would see
/// a cancelled call rather than the connection's end.)
#[allow(dead_code)] // held, never read
pub(crate) enum Parked {
    Unanswered(h2::server::SendResponse<Bytes>),
    Answered(SendStream<Bytes>),
}

/// Whether `err` ended a stream the server never processed, so that the
/// call may be made again (RFC 9113 §8.7): a GOAWAY came before the stream
/// could open, or the stream was above the GOAWAY's last stream id (h2 ends
/// a stream with the peer's GOAWAY only then; a processed stream that loses
/// its connection ends with an io error), or the server reset it with
/// REFUSED_STREAM.
pub fn never_processed(err: &h2::Error) -> bool {
    err.is_remote() && (err.is_go_away() || err.reason() == Some(h2::Reason::REFUSED_STREAM))
}

/// How a relayed call ended.
pub(crate) enum Relayed {
    /// It is over, on both sides.
    Done,
    /// The connection under it ended: its stream toward the caller waits
    /// for the pipe's end.
    Parked(Parked),
    /// The server never processed it (RFC 9113 §8.7): the connection would
    /// not open its stream, as it had sent GOAWAY, or the stream was above
    /// the GOAWAY's last stream id, or reset with REFUSED_STREAM. The caller
    /// was told with REFUSED_STREAM, which says it may make the call again.
    Refused,
}

impl From<Option<Parked>> for Relayed {
    fn from(parked: Option<Parked>) -> Relayed {
        parked.map_or(Relayed::Done, Relayed::Parked)
    }
}

/// Relays one call: the request (and its body) from `respond`'s side to
/// `client`'s, the response back. `up` and `down` count the bytes of each
/// direction for the estimator of the side that is far away.
pub(crate) async fn relay(
    request: http::Request<RecvStream>,
    mut respond: h2::server::SendResponse<Bytes>,
    client: h2::client::SendRequest<Bytes>,
    up: Arc<Estimator>,
    down: Arc<Estimator>,
) -> Relayed {
    let (parts, upload) = request.into_parts();
    let end = upload.is_end_stream();
    let sent = match client.ready().await {
        Ok(mut client) => client.send_request(http::Request::from_parts(parts, ()), end),
        Err(err) => Err(err),
    };
    let (response, outgoing) = match sent {
        Ok(sent) => sent,
        Err(err) => return fail_before_response(respond, err),
    };
    let upload = async move {
        if !end {
            send_down(upload, outgoing, &up).await;
        }
        std::future::pending::<()>().await
    };
    let download = async move {
        let response = match response.await {
            Ok(response) => response,
            Err(err) => return fail_before_response(respond, err),
        };
        let (parts, body) = response.into_parts();
        let end = body.is_end_stream();
        let down_stream = match respond.send_response(http::Response::from_parts(parts, ()), end) {
            Ok(stream) => stream,
            Err(_) => return Relayed::Done,
        };
        if end {
            return Relayed::Done;
        }
        send_down(body, down_stream, &down).await.into()
    };
    // The call is over when the response is; an upload still running is
    // dropped (and so reset), as the server has answered.
    tokio::select! {
        relayed = download => relayed,
        () = upload => Relayed::Done,
    }
}

/// The server failed the call before answering: a call it never processed
/// is refused (see [`Relayed::Refused`]); another reset is passed on as
/// itself; when the connection ended, the call waits, parked, for the
/// pipe's end to tell hyper.
fn fail_before_response(mut respond: h2::server::SendResponse<Bytes>, err: h2::Error) -> Relayed {
    let reason = err.reason();
    if never_processed(&err) {
        respond.send_reset(h2::Reason::REFUSED_STREAM);
        return Relayed::Refused;
    }
    if err.is_reset() && err.is_remote() {
        respond.send_reset(reason.unwrap_or(h2::Reason::INTERNAL_ERROR));
        return Relayed::Done;
    }
    Relayed::Parked(Parked::Unanswered(respond))
}

/// One body from one side to the other: reads the frames as they come
/// into one buffer and releases their credit only as the other side takes
/// them; then the trailers, or a reset with its reason.
pub(crate) async fn send_down(
    mut from: RecvStream,
    mut to: SendStream<Bytes>,
    estimator: &Estimator,
) -> Option<Parked> {
    let mut buffer = BytesMut::new();
    let mut outcome: Option<Result<(), h2::Error>> = None;
    let finished = std::future::poll_fn(|cx| {
        // Take whatever the server sent, promptly.
        while outcome.is_none() {
            match from.poll_data(cx) {
                Poll::Ready(Some(Ok(data))) => {
                    estimator.received(data.len());
                    buffer.extend_from_slice(&data);
                }
                Poll::Ready(Some(Err(err))) => outcome = Some(Err(err)),
                Poll::Ready(None) => outcome = Some(Ok(())),
                Poll::Pending => break,
            }
        }
        // Hand it to hyper as its window allows.
        while !buffer.is_empty() {
            to.reserve_capacity(buffer.len().min(CHUNK));
            let capacity = to.capacity();
            if capacity == 0 {
                match to.poll_capacity(cx) {
                    Poll::Ready(Some(Ok(_))) => continue,
                    Poll::Ready(_) => return Poll::Ready(false),
                    Poll::Pending => break,
                }
            }
            let n = capacity.min(buffer.len()).min(CHUNK);
            let chunk = buffer.split_to(n).freeze();
            if to.send_data(chunk, false).is_err() {
                return Poll::Ready(false);
            }
            let _ = from.flow_control().release_capacity(n);
        }
        if buffer.is_empty() && outcome.is_some() {
            return Poll::Ready(true);
        }
        // hyper gave up on the call (grpcx cancelled it).
        // (Dropping `from` then resets the server's stream with CANCEL.)
        if to.poll_reset(cx).is_ready() {
            return Poll::Ready(false);
        }
        Poll::Pending
    })
    .await;
    if !finished {
        return None;
    }
    match outcome {
        Some(Ok(())) => {
            match std::future::poll_fn(|cx| from.poll_trailers(cx)).await {
                Ok(Some(trailers)) => {
                    let _ = to.send_trailers(trailers);
                }
                Ok(None) => {
                    let _ = to.send_data(Bytes::new(), true);
                }
                Err(err) => return pass_on(err, to),
            }
            None
        }
        Some(Err(err)) => pass_on(err, to),
        None => None,
    }
}

/// The server's error on a stream, passed on: a reset as a reset with its
/// reason; a connection that ended parks the stream for the pipe's end.
fn pass_on(err: h2::Error, mut to: SendStream<Bytes>) -> Option<Parked> {
    if err.is_reset() && err.is_remote() {
        to.send_reset(err.reason().unwrap_or(h2::Reason::INTERNAL_ERROR));
        return None;
    }
    Some(Parked::Answered(to))
}
