//! Exit codes and the one place errors are printed.
//!
//! Plumbing uses anyhow. Only outcomes that pick an exit code get a type of
//! their own: a gRPC status (64 + code), a usage error (2), and a closed
//! stdout, which is a normal end (0). Everything else is a local error (1).

use std::io;
use std::process::ExitCode;

/// The call ended with a non-OK gRPC status.
#[derive(Debug, thiserror::Error)]
#[error("{}: {}", code_name(.0.code()), .0.message())]
pub struct StatusError(pub tonic::Status);

/// A usage error that clap could not catch (e.g. a malformed target).
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct UsageError(pub String);

/// stdout was closed by its reader (`| head -1`): a normal end.
#[derive(Debug, thiserror::Error)]
#[error("stdout was closed")]
pub struct BrokenPipe;

/// An error with a line of advice the user can act on.
#[derive(Debug, thiserror::Error)]
#[error("{message}")]
pub struct Hinted {
    pub message: String,
    pub hint: String,
}

/// Builds an error that carries a hint line.
pub fn hinted(message: impl Into<String>, hint: impl Into<String>) -> anyhow::Error {
    Hinted {
        message: message.into(),
        hint: hint.into(),
    }
    .into()
}

/// Maps a write error on stdout: a closed pipe becomes [`BrokenPipe`].
pub fn stdout_error(err: io::Error) -> anyhow::Error {
    if err.kind() == io::ErrorKind::BrokenPipe {
        BrokenPipe.into()
    } else {
        anyhow::Error::new(err).context("cannot write to stdout")
    }
}

/// The canonical name of a code, as grpcurl and the gRPC docs spell it.
pub fn code_name(code: tonic::Code) -> String {
    format!("{code:?}")
}

/// The exit code an error maps to.
pub fn exit_code(err: &anyhow::Error) -> u8 {
    if let Some(StatusError(status)) = err.downcast_ref() {
        64 + status.code() as u8
    } else if err.is::<UsageError>() {
        2
    } else if err.is::<BrokenPipe>() {
        0
    } else {
        1
    }
}

/// Prints the error once, on stderr, and returns the exit code.
pub fn report(err: &anyhow::Error) -> ExitCode {
    let code = exit_code(err);
    if err.is::<BrokenPipe>() {
        return ExitCode::from(code);
    }
    if let Some(StatusError(status)) = err.downcast_ref() {
        eprintln!("ERROR: {}: {}", code_name(status.code()), status.message());
    } else if err.is::<UsageError>() {
        eprintln!("grpcx: usage error: {err:#}");
    } else {
        eprintln!("grpcx: error: {}", one_line(err));
        if let Some(hint) = err.chain().find_map(|e| e.downcast_ref::<Hinted>()) {
            eprintln!("hint: {}", hint.hint);
        }
    }
    ExitCode::from(code)
}

/// The error and its causes on one line, without repeating a cause that the
/// outer message already quotes.
fn one_line(err: &anyhow::Error) -> String {
    let mut line = String::new();
    for cause in err.chain() {
        let text = cause.to_string();
        if text.is_empty() || line.contains(&text) {
            continue;
        }
        if !line.is_empty() {
            line.push_str(": ");
        }
        line.push_str(&text);
    }
    line.replace('\n', " ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_maps_to_64_plus_code() {
        let err: anyhow::Error = StatusError(tonic::Status::not_found("x")).into();
        assert_eq!(exit_code(&err), 69);
        let err: anyhow::Error = StatusError(tonic::Status::unavailable("x")).into();
        assert_eq!(exit_code(&err), 78);
    }

    #[test]
    fn causes_are_joined_once() {
        let err = anyhow::anyhow!("inner").context("outer");
        assert_eq!(one_line(&err), "outer: inner");
        let err = anyhow::anyhow!("inner").context("outer: inner");
        assert_eq!(one_line(&err), "outer: inner");
    }
}
