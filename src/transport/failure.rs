//! What went wrong under a call, in words the user can act on: the one
//! place where transport errors become gRPC statuses, for every command,
//! protocol and path. A connection keeps why it failed in its [`Failure`]
//! slot; [`explain`] rewords a status from the wire; [`sent_by_server`]
//! marks the server's own statuses; [`never_processed`] tells a call the
//! server never took (RFC 9113 §8.7), which may be made again as it was.

use std::io;
use std::sync::{Arc, OnceLock};

use tonic::{Code, Status};

use crate::cli::Compression;

/// A call's deadline (`--max-time`) passed: the one wording of it, whether
/// the call's own deadline or the command's ran out first.
#[derive(Debug, Clone, Copy, thiserror::Error)]
#[error("the deadline of --max-time {} s passed", .0.as_secs_f64())]
pub struct DeadlinePassed(pub std::time::Duration);

impl DeadlinePassed {
    pub fn status(self) -> Status {
        Status::deadline_exceeded(self.to_string())
    }
}

/// Why a connection could not be used, in words.
#[derive(Debug, Clone, thiserror::Error)]
#[error("{lead} {target}: {cause}")]
pub struct ConnectFailure {
    /// "cannot connect to", or "the connection broke to" once the request
    /// was sent (HTTP/1.1 has no handshake to fail first).
    lead: &'static str,
    target: String,
    cause: String,
}

impl ConnectFailure {
    pub fn new(target: &impl std::fmt::Display, cause: &str) -> Self {
        ConnectFailure {
            lead: "cannot connect to",
            target: target.to_string(),
            cause: cause.to_string(),
        }
    }

    /// A connection that was made, then broke before the server's answer.
    pub fn broken(target: &impl std::fmt::Display, cause: &str) -> Self {
        ConnectFailure {
            lead: "the connection broke to",
            ..ConnectFailure::new(target, cause)
        }
    }

    /// The failure as an io::Error, as the dialer and its watch return it.
    pub fn io(self, kind: io::ErrorKind) -> io::Error {
        io::Error::new(kind, self)
    }
}

/// One connection's failure slot: its watch records why it failed, and the
/// calls on it read it back (h2 keeps only the text of an io error, and a
/// call on a dead connection often sees a later error, a broken pipe).
#[derive(Debug, Clone, Default)]
pub struct Failure(Arc<OnceLock<ConnectFailure>>);

impl Failure {
    /// Records `failure` unless one is recorded already (the first cause
    /// is the one to tell).
    pub fn record(&self, failure: &ConnectFailure) {
        self.0.get_or_init(|| failure.clone());
    }

    pub fn get(&self) -> Option<ConnectFailure> {
        self.0.get().cloned()
    }
}

/// A [`ConnectFailure`] anywhere in an error's chain (io::Error hides its
/// payload from `source()`, so it is opened on the way).
pub fn find_failure<'a>(err: &'a (dyn std::error::Error + 'static)) -> Option<&'a ConnectFailure> {
    std::iter::successors(Some(err), |err| err.source()).find_map(|err| {
        err.downcast_ref::<ConnectFailure>()
            .or_else(|| err.downcast_ref::<io::Error>()?.get_ref()?.downcast_ref())
    })
}

/// The status for a channel that could not become ready.
pub fn not_ready(err: &(dyn std::error::Error + 'static)) -> Status {
    match find_failure(err) {
        Some(failure) => Status::unavailable(failure.to_string()),
        None => Status::unavailable(format!("the connection failed: {err}")),
    }
}

/// Rewords a status whose cause the user can act on: our own deadline, a
/// failed connection, an HTTP/2 reset or GOAWAY (by gRPC's HTTP/2 mapping),
/// a compression the server refuses (`compress`, the call's `--compress`).
/// Statuses the server sent are returned as they are.
pub fn explain(status: Status, compress: Option<Compression>) -> Status {
    if let Some(status) = from_source(&status) {
        return status;
    }
    match compress {
        Some(compress)
            if status.code() == Code::Unimplemented
                && status.message().to_ascii_lowercase().contains("compress") =>
        {
            let name = compress.name();
            Status::unimplemented(format!(
                "the server does not accept {name}-compressed requests (it said: {}); \
                 call again without --compress",
                status.message()
            ))
        }
        _ => status,
    }
}

/// The status of a call that failed under the server, from the error that
/// ended it: our deadline, a failed connection, then what HTTP/2 said.
fn from_source(status: &Status) -> Option<Status> {
    for err in std::iter::successors(std::error::Error::source(status), |err| err.source()) {
        if let Some(passed) = err.downcast_ref::<DeadlinePassed>() {
            return Some(passed.status());
        }
        if let Some(failure) = find_failure(err) {
            return Some(Status::unavailable(failure.to_string()));
        }
        if let Some(h2) = err.downcast_ref::<h2::Error>() {
            return Some(h2_status(h2, status.code()));
        }
        if let Some(io) = err.downcast_ref::<io::Error>() {
            return Some(Status::unavailable(format!(
                "the connection broke mid-call: {io}"
            )));
        }
    }
    None
}

/// The status of a call that an HTTP/2 error ended, by gRPC's HTTP/2
/// mapping (PROTOCOL-HTTP2.md); `code` when the error says nothing more
/// precise. A call the server never processed says so, and is marked to be
/// made again ([`is_unprocessed`]).
pub fn h2_status(h2: &h2::Error, code: Code) -> Status {
    let reason = h2.reason().unwrap_or(h2::Reason::INTERNAL_ERROR);
    if never_processed(h2) {
        let frame = if h2.is_go_away() {
            "GOAWAY"
        } else {
            "RST_STREAM"
        };
        let why = Unprocessed(format!("{frame} {reason:?}"));
        let mut status = Status::unavailable(format!(
            "the server closed the connection without taking the call ({why})"
        ));
        status.set_source(Arc::new(why));
        return status;
    }
    if h2.is_go_away() && h2.is_library() {
        // grpcx's h2 closed it: what the server sent broke HTTP/2.
        Status::unavailable(format!(
            "the server broke HTTP/2 ({reason:?}), so grpcx closed the connection mid-call"
        ))
    } else if h2.is_go_away() {
        Status::unavailable(format!(
            "the server closed the connection mid-call (GOAWAY {reason:?})"
        ))
    } else if h2.is_reset() && h2.is_remote() {
        let code = match reason {
            h2::Reason::REFUSED_STREAM => Code::Unavailable,
            h2::Reason::CANCEL => Code::Cancelled,
            h2::Reason::ENHANCE_YOUR_CALM => Code::ResourceExhausted,
            h2::Reason::INADEQUATE_SECURITY => Code::PermissionDenied,
            _ => Code::Internal,
        };
        Status::new(
            code,
            format!("the server reset the stream (RST_STREAM {reason:?})"),
        )
    } else if let Some(io) = h2.get_io() {
        Status::unavailable(format!("the connection broke mid-call: {io}"))
    } else {
        Status::new(code, format!("HTTP/2 error: {h2}"))
    }
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

/// Why the server never processed a call, carried as the source of its
/// status (see [`h2_status`]).
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct Unprocessed(String);

/// The mark of a status the server sent (in its trailers, or as its HTTP
/// status), set where a response is read. Every other failed status is
/// grpcx's own account of what went wrong under the call.
#[derive(Debug, thiserror::Error)]
#[error("sent by the server")]
pub struct SentByServer;

/// `status`, marked as the server's.
pub fn sent_by_server(mut status: Status) -> Status {
    status.set_source(Arc::new(SentByServer));
    status
}

/// Whether the server sent `status` (see `SentByServer`).
pub fn is_sent_by_server(status: &Status) -> bool {
    std::error::Error::source(status).is_some_and(|err| err.is::<SentByServer>())
}

/// Whether the server never processed the call that `status` ended, so that
/// it may be made again as it was.
pub fn is_unprocessed(status: &Status) -> bool {
    std::error::Error::source(status).is_some_and(|err| err.is::<Unprocessed>())
}
