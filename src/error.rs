//! Exit codes and the one place errors are printed.
//!
//! Plumbing uses anyhow. Only outcomes that pick an exit code get a type of
//! their own: a gRPC status (64 + code), a usage error (2), and a closed
//! stdout, which is a normal end (0), and Ctrl-C (130). Everything else is
//! a local error (1).
//!
//! `--error-format json` turns the report into one JSON object per error,
//! for scripts; it is a process-wide setting because `main` reports errors
//! after the command (and its arguments) are gone.

use std::io::{self, Write as _};
use std::process::ExitCode;
use std::sync::OnceLock;

use crate::cli::ErrorFormat;
use crate::status::{self, Detail};

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

/// Ctrl-C: the call was cancelled on the user's request.
#[derive(Debug, thiserror::Error)]
#[error("interrupted")]
pub struct Interrupted;

/// Errors already printed, one per failed call of `call --each`; only the
/// exit code is left to give.
#[derive(Debug, thiserror::Error)]
#[error("already reported")]
pub struct Reported(pub u8);

/// The decoded details of a [`StatusError`], attached as context by the
/// caller that had the schema to decode them with.
#[derive(Debug, thiserror::Error)]
#[error("status details")]
pub struct StatusDetails(pub Vec<Detail>);

/// A status error with its decoded details.
pub fn status_error(status: tonic::Status, details: Vec<Detail>) -> anyhow::Error {
    anyhow::Error::new(StatusError(status)).context(StatusDetails(details))
}

static FORMAT: OnceLock<ErrorFormat> = OnceLock::new();

/// Sets how [`report`] prints errors (once, from `main`).
pub fn set_format(format: ErrorFormat) {
    let _ = FORMAT.set(format);
}

/// True when `--error-format json` was asked for.
pub fn is_json() -> bool {
    FORMAT.get() == Some(&ErrorFormat::Json)
}

/// An error with a line of advice the user can act on.
#[derive(Debug, thiserror::Error)]
#[error("{message}")]
pub struct Hinted {
    pub message: String,
    pub hint: String,
}

/// An error whose one-line message is followed by a block of detail that
/// must keep its line breaks (a .proto diagnostic with its source excerpt).
#[derive(Debug, thiserror::Error)]
#[error("{message}")]
pub struct Detailed {
    pub message: String,
    pub detail: String,
    pub hint: Option<String>,
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
    } else if err.is::<Interrupted>() {
        130
    } else if let Some(Reported(code)) = err.downcast_ref() {
        *code
    } else {
        1
    }
}

/// A status for people: `NotFound: gone`, then a `details:` line per
/// decoded detail.
pub fn status_text(status: &tonic::Status, details: &[status::Detail]) -> String {
    // A status without a message is its code alone, not "Unknown: ".
    let mut text = match status.message() {
        "" => code_name(status.code()),
        message => format!("{}: {}", code_name(status.code()), one_line_text(message)),
    };
    for detail in details {
        text.push_str("\n  details: ");
        text.push_str(&detail.to_text());
    }
    text
}

/// Prints the error once, on stderr, and returns the exit code. A closed
/// stdout and Ctrl-C print nothing. Writing to a closed stderr is ignored:
/// reporting must never panic.
pub fn report(err: &anyhow::Error) -> ExitCode {
    let code = exit_code(err);
    if err.is::<BrokenPipe>() || err.is::<Interrupted>() || err.is::<Reported>() {
        return ExitCode::from(code);
    }
    let json = is_json();
    let detailed = err.chain().find_map(|e| e.downcast_ref::<Detailed>());
    let hint = err
        .chain()
        .find_map(|e| e.downcast_ref::<Hinted>())
        .map(|h| h.hint.as_str())
        .or_else(|| detailed.and_then(|d| d.hint.as_deref()));
    let text = if let Some(StatusError(status)) = err.downcast_ref() {
        // Details decoded by the caller, or else with the built-in types.
        let details = match err.downcast_ref::<StatusDetails>() {
            Some(StatusDetails(details)) => details.clone(),
            None => status::details(status, None),
        };
        if json {
            status::to_json(status, &details)
        } else {
            format!("ERROR: {}", status_text(status, &details))
        }
    } else if json {
        let mut object = serde_json::json!({ "error": one_line(err), "exitCode": code });
        if let Some(hint) = hint {
            object["hint"] = hint.into();
        }
        if let Some(detailed) = detailed {
            object["detail"] = detailed.detail.trim_end().into();
        }
        object.to_string()
    } else if err.is::<UsageError>() {
        format!("grpcx: usage error: {err:#}")
    } else {
        let detail = detailed.map_or(String::new(), |d| format!("\n{}", d.detail.trim_end()));
        let hint = hint.map_or(String::new(), |hint| format!("\nhint: {hint}"));
        format!("grpcx: error: {}{detail}{hint}", one_line(err))
    };
    let _ = writeln!(io::stderr().lock(), "{text}");
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
    one_line_text(&line)
}

/// Whether `c` could break a line or steer a terminal: a control character,
/// or one of Unicode's line separators.
pub fn is_unprintable(c: char) -> bool {
    c.is_control() || matches!(c, '\u{2028}' | '\u{2029}')
}

/// `text` on one line, and harmless to a terminal: line breaks become
/// spaces and other unprintable characters are escaped, so that what a file
/// or a server names (a mutated descriptor's type name, a server's message)
/// can neither break the error's one line nor steer the terminal.
fn one_line_text(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '\n' => out.push(' '),
            c if is_unprintable(c) => out.extend(c.escape_default()),
            c => out.push(c),
        }
    }
    out
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
    fn names_from_files_and_servers_cannot_break_the_line_or_steer_the_terminal() {
        let err = anyhow::anyhow!("the type 'a.\rb\u{1b}[2J' is\nundefined\u{2028}");
        assert_eq!(
            one_line(&err),
            "the type 'a.\\rb\\u{1b}[2J' is undefined\\u{2028}"
        );
        let status = tonic::Status::internal("bad\r\nnews");
        assert_eq!(status_text(&status, &[]), "Internal: bad\\r news");
    }

    #[test]
    fn a_status_without_a_message_is_its_code_alone() {
        assert_eq!(status_text(&tonic::Status::unknown(""), &[]), "Unknown");
        assert_eq!(status_text(&tonic::Status::unknown("x"), &[]), "Unknown: x");
    }

    #[test]
    fn causes_are_joined_once() {
        let err = anyhow::anyhow!("inner").context("outer");
        assert_eq!(one_line(&err), "outer: inner");
        let err = anyhow::anyhow!("inner").context("outer: inner");
        assert_eq!(one_line(&err), "outer: inner");
    }
}
