//! The bundled server's side of long links: every accepted connection is
//! spoken to by an h2 server that grpcx drives itself, which relays each call
//! to tonic over an in-process pipe.
//!
//! Request bodies from the client are read promptly into one buffer and
//! their credit is returned only as tonic takes them, so what a client can
//! make the server hold is the stream window in raw bytes, whatever its
//! framing (Go clients send one small frame per message). The window grows
//! by the [`bdp`] estimate, as the client's does.

use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use bytes::{Bytes, BytesMut};
use h2::{RecvStream, SendStream};
use tokio::io::{AsyncRead, AsyncReadExt as _, AsyncWrite, DuplexStream, ReadBuf};

use crate::transport::bdp::{self, Estimator};
use crate::transport::h2::CONNECTION_WINDOW;
use crate::transport::{Io, never_processed};

/// The pipe between the relay and tonic.
const PIPE_BUFFER: usize = 256 * 1024;
/// The largest frame handed to tonic at once.
const CHUNK: usize = 256 * 1024;

/// Starts relaying the connection `io` and returns the pipe tonic serves.
/// Only HTTP/2 is relayed: an HTTP/1.1 client (gRPC-Web or Connect) has no
/// flow-control windows to manage, and its bytes are copied through as they
/// are.
pub fn far_side(io: Box<dyn Io>) -> DuplexStream {
    let (tonic_side, mut relay_side) = tokio::io::duplex(PIPE_BUFFER);
    tokio::spawn(async move {
        let Ok((mut io, h2)) = sniff(io).await else {
            return;
        };
        if h2 {
            let _ = run(io, relay_side).await;
        } else {
            let _ = tokio::io::copy_bidirectional(&mut io, &mut relay_side).await;
        }
    });
    tonic_side
}

/// Reads the client's first bytes to tell HTTP/2 (its preface starts
/// `PRI`) from HTTP/1.1; the bytes read are replayed to whoever serves it.
async fn sniff(mut io: Box<dyn Io>) -> std::io::Result<(Box<dyn Io>, bool)> {
    let mut first = [0u8; 24];
    let mut filled = 0;
    while filled < 3 {
        let n = io.read(&mut first[filled..]).await?;
        if n == 0 {
            break;
        }
        filled += n;
    }
    let h2 = first[..filled].starts_with(b"PRI");
    let prefix = Bytes::copy_from_slice(&first[..filled]);
    Ok((Box::new(Rewind { prefix, inner: io }), h2))
}

/// A stream whose first bytes were already read, replayed before the rest.
struct Rewind {
    prefix: Bytes,
    inner: Box<dyn Io>,
}

impl AsyncRead for Rewind {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        if !self.prefix.is_empty() {
            let n = self.prefix.len().min(buf.remaining());
            let head = self.prefix.split_to(n);
            buf.put_slice(&head);
            return Poll::Ready(Ok(()));
        }
        Pin::new(&mut self.inner).poll_read(cx, buf)
    }
}

impl AsyncWrite for Rewind {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
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
        let Some((request, respond)) = next.transpose()? else {
            return Ok(());
        };
        let (client, up, down) = (client.clone(), estimator.clone(), Arc::default());
        tokio::spawn(relay(request, respond, client, up, down));
    }
}

/// Relays one call: the request (and its body) from `respond`'s side to
/// `client`'s, the response back. `up` and `down` count the bytes of each
/// direction for the estimator of the side that is far away.
async fn relay(
    request: http::Request<RecvStream>,
    mut respond: h2::server::SendResponse<Bytes>,
    client: h2::client::SendRequest<Bytes>,
    up: Arc<Estimator>,
    down: Arc<Estimator>,
) {
    let (parts, upload) = request.into_parts();
    let end = upload.is_end_stream();
    let sent = client
        .ready()
        .await
        .and_then(|mut client| client.send_request(http::Request::from_parts(parts, ()), end));
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
        let Ok(down_stream) = respond.send_response(http::Response::from_parts(parts, ()), end)
        else {
            return;
        };
        if !end {
            send_down(body, down_stream, &down).await;
        }
    };
    // The call is over when the response is; an upload still running is
    // dropped (and so reset), as the server has answered.
    tokio::select! {
        () = download => {}
        () = upload => {}
    }
}

/// tonic failed the call before answering: a call it never processed is
/// refused with REFUSED_STREAM, which tells the client it may make the call
/// again; another reset is passed on as itself.
fn fail_before_response(mut respond: h2::server::SendResponse<Bytes>, err: h2::Error) {
    if never_processed(&err) {
        respond.send_reset(h2::Reason::REFUSED_STREAM);
    } else if err.is_reset() && err.is_remote() {
        respond.send_reset(err.reason().unwrap_or(h2::Reason::INTERNAL_ERROR));
    }
}

/// One body from one side to the other: reads the frames as they come
/// into one buffer and releases their credit only as the other side takes
/// them; then the trailers, or a reset with its reason.
async fn send_down(mut from: RecvStream, mut to: SendStream<Bytes>, estimator: &Estimator) {
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
        // Hand it to tonic as its window allows.
        while !buffer.is_empty() {
            to.reserve_capacity(buffer.len().min(CHUNK));
            let capacity = to.capacity();
            if capacity == 0 {
                match to.poll_capacity(cx) {
                    Poll::Ready(Some(Ok(_))) => continue,
                    Poll::Ready(_) => return Poll::Ready(None),
                    Poll::Pending => break,
                }
            }
            let n = capacity.min(buffer.len()).min(CHUNK);
            let chunk = buffer.split_to(n).freeze();
            if to.send_data(chunk, false).is_err() {
                return Poll::Ready(None);
            }
            let _ = from.flow_control().release_capacity(n);
        }
        if buffer.is_empty() && outcome.is_some() {
            return Poll::Ready(outcome.take());
        }
        // tonic gave up on the call (grpcx cancelled it).
        // (Dropping `from` then resets the server's stream with CANCEL.)
        if to.poll_reset(cx).is_ready() {
            return Poll::Ready(None);
        }
        Poll::Pending
    })
    .await;
    let outcome = match finished {
        None => return,
        Some(Ok(())) => match std::future::poll_fn(|cx| from.poll_trailers(cx)).await {
            Ok(Some(trailers)) => to.send_trailers(trailers),
            Ok(None) => to.send_data(Bytes::new(), true),
            Err(err) => Err(err),
        },
        Some(Err(err)) => Err(err),
    };
    // A reset is passed on with its reason.
    if let Err(err) = outcome
        && err.is_reset()
        && err.is_remote()
    {
        to.send_reset(err.reason().unwrap_or(h2::Reason::INTERNAL_ERROR));
    }
}
