//! `grpcx shell`: an interactive session on one connection that knows the
//! schema. It makes its calls on the same path as `grpcx call`, and shows
//! the schema with the same code as `list` and `describe`.
//!
//! One file per command group, as evans keeps its REPL: `browse.rs` (list,
//! describe, template, use), `call.rs`, `headers.rs` (header, headers),
//! `settings.rs` (set), `help.rs`. `prompt.rs` asks for a request field by
//! field; `complete.rs` (with `json_keys.rs`) is the line editor's Tab
//! completion; `input.rs` is where lines come from (the line editor, or a
//! pipe); `history.rs` keeps the history file.
//!
//! Errors (an unknown method, bad JSON, a status) print as `grpcx call`
//! prints them, and the session goes on. Ctrl-C cancels the running call
//! and keeps the session. Piped, the session is a script: only results
//! print, and it exits with the code of the last command that failed.

mod browse;
mod call;
pub mod complete;
mod headers;
mod help;
pub mod history;
pub mod input;
mod json_keys;
mod prompt;
mod settings;

use std::sync::{Arc, RwLock};

use anyhow::Result;
use futures_util::FutureExt as _;
use prost_reflect::MethodDescriptor;
use tokio::signal::unix::{SignalKind, signal};
use tokio::sync::Mutex;

pub use headers::Headers;
pub use settings::Settings;

use crate::cli::ConnArgs;
use crate::error::{self, BrokenPipe, Interrupted, Reported, hinted};
use crate::output::Printer;
use crate::protocol::Channel;
use crate::schema::{self, MethodName, Schema};
use complete::Names;
use input::{Context, Input, Read};

/// What a session keeps between commands.
pub struct Session {
    /// None for a session over --proto/--protoset alone: it browses, and
    /// cannot call.
    pub channel: Option<Channel>,
    pub schema: Mutex<Schema>,
    pub conn: ConnArgs,
    pub settings: Settings,
    pub headers: Headers,
    /// The service of `use`.
    pub service: Option<String>,
    /// What Tab completion reads.
    pub names: Arc<RwLock<Names>>,
}

impl Session {
    /// The prompt: the service in use, if any.
    fn prompt(&self) -> String {
        match &self.service {
            Some(service) => format!("{service}> "),
            None => "grpcx> ".to_string(),
        }
    }

    /// Copies what completion needs from the schema (the pool may have grown).
    async fn share_names(&self) {
        let pool = self.schema.lock().await.pool().clone();
        let mut services: Vec<String> =
            pool.services().map(|s| s.full_name().to_string()).collect();
        services.sort();
        if let Ok(mut names) = self.names.write() {
            *names = Names {
                pool,
                services,
                service: self.service.clone(),
                headers: self.headers.names(),
            };
        }
    }

    /// A method by name: `pkg.Service/Method`, `pkg.Service.Method`, or the
    /// name alone for a method of the service in use.
    async fn method(&self, name: &str) -> Result<MethodDescriptor> {
        let name = match (&self.service, name.contains(['/', '.'])) {
            (Some(service), false) => MethodName {
                service: service.clone(),
                method: name.to_string(),
            },
            (None, false) => {
                return Err(hinted(
                    format!("'{name}' names no service"),
                    "name the method as package.Service/Method, or `use` its service first",
                ));
            }
            (_, true) => MethodName::parse(name)?,
        };
        self.schema.lock().await.method(&name).await
    }

    /// The printer of a call, with the settings of now. On a terminal it
    /// prints through the line editor (see [`Input::sink`]).
    fn printer(&self, input: &Input) -> Printer {
        match input.sink() {
            Some(sink) => Printer::with_sink(&self.settings.output, sink),
            None => Printer::new(&self.settings.output),
        }
    }
}

/// Runs the session until `exit`, Ctrl-D or the end of the piped input.
pub async fn run(mut session: Session, mut input: Input) -> Result<()> {
    let mut interrupts = signal(SignalKind::interrupt())?;
    let terminal = input.is_terminal();
    // Piped: the code of the last command that failed.
    let mut failed = 0;
    loop {
        session.share_names().await;
        let prompt = session.prompt();
        let read = tokio::select! {
            read = input.read(&prompt, Context::Command) => read?,
            // Piped, Ctrl-C ends the session, as it ends `grpcx call`.
            _ = interrupts.recv(), if !terminal => return Err(Interrupted.into()),
        };
        let line = match read {
            Read::Line(line) => line,
            Read::Eof => break,
            // Ctrl-C at the prompt drops the line, as shells do.
            Read::Interrupted => continue,
        };
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let (command, rest) = first_word(line);
        if command == "exit" {
            break;
        }
        input.remember(line);
        // A Ctrl-C that came while nothing ran is no order for this command.
        while let Some(Some(())) = interrupts.recv().now_or_never() {}
        let outcome = tokio::select! {
            outcome = run_command(&mut session, &mut input, command, rest) => outcome,
            _ = interrupts.recv() => Err(Interrupted.into()),
        };
        match outcome {
            Ok(()) => {}
            Err(err) if err.is::<Interrupted>() && terminal => input.note("cancelled"),
            Err(err) if err.is::<Interrupted>() || err.is::<BrokenPipe>() => return Err(err),
            Err(err) => {
                failed = error::exit_code(&err);
                input.clear_line();
                error::report(&err);
            }
        }
        // A stream ended while its next message was being typed: that line
        // is still open, and what is typed there is the next command.
        if input.is_editing() {
            input.note("(the call is over: type a command, or Enter)");
        }
    }
    match (terminal, failed) {
        (false, code) if code != 0 => Err(Reported(code).into()),
        _ => Ok(()),
    }
}

/// Runs one command.
async fn run_command(
    session: &mut Session,
    input: &mut Input,
    command: &str,
    rest: &str,
) -> Result<()> {
    match command {
        "list" => browse::list(session, rest).await,
        "describe" => browse::describe(session, rest).await,
        "template" => browse::template(session, rest).await,
        "use" => browse::use_service(session, rest).await,
        "call" => call::call(session, input, rest).await,
        "header" => headers::header(session, rest),
        "headers" => headers::show(session),
        "set" => match first_word(rest) {
            ("", _) => say(&session.settings.show()),
            (name, value) => session.settings.set(name, value),
        },
        "help" => say(&help::text(rest)?),
        other => {
            let names: Vec<String> = help::names().map(str::to_string).collect();
            let hint = match schema::closest(other, &names) {
                Some(name) => format!("did you mean {name}? (`help` lists the commands)"),
                None => "`help` lists the commands".to_string(),
            };
            Err(hinted(format!("unknown command '{other}'"), hint))
        }
    }
}

/// The first word of `text`, and the rest (trimmed at its start).
fn first_word(text: &str) -> (&str, &str) {
    let text = text.trim_start();
    match text.find(char::is_whitespace) {
        Some(end) => (&text[..end], text[end..].trim_start()),
        None => (text, ""),
    }
}

/// Prints lines of text on stdout.
fn say(text: &str) -> Result<()> {
    if text.is_empty() {
        return Ok(());
    }
    let mut printer = Printer::lines();
    printer.line(text)?;
    printer.flush()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn words() {
        assert_eq!(
            first_word("call  Say {\"a\": 1}"),
            ("call", "Say {\"a\": 1}")
        );
        assert_eq!(first_word("  exit"), ("exit", ""));
        assert_eq!(first_word(""), ("", ""));
    }
}
