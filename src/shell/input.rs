//! Where the shell's lines come from: the line editor on a terminal
//! (rustyline, on a thread of its own since it blocks), or stdin line by
//! line when it is a pipe. Both are read with `await`, so a call can go on
//! printing while a line of its request stream is being typed.
//!
//! On a terminal, what a call prints while a line is being edited (a bidi
//! reply while the next message is typed) clears the prompt's line first
//! and draws the prompt again after it ([`Input::sink`]); what was typed so
//! far stays in the line, and shows again with the next key (or Ctrl-L).
//! rustyline's own external printer is not used: with it, rustyline 18
//! takes keys that arrive together (typed ahead, or sent by a script) one
//! at a time, each only when the next comes (rustyline issue 976).

use std::io::{self, BufRead as _, IsTerminal as _, Write};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, RwLock, mpsc as std_mpsc};

use anyhow::{Result, anyhow};
use rustyline::error::ReadlineError;
use rustyline::history::FileHistory;
use rustyline::{CompletionType, Config, Editor};
use tokio::sync::{mpsc, oneshot};

pub use super::complete::Context;
use super::complete::{Helper, Names};
use super::history::{self, HistoryFile};

/// What reading a line gave.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Read {
    Line(String),
    /// Ctrl-D, or the end of the piped input.
    Eof,
    /// Ctrl-C while the line was being edited.
    Interrupted,
}

/// The source of lines.
pub struct Input {
    source: Source,
}

enum Source {
    Editor(EditorThread),
    Pipe(mpsc::Receiver<io::Result<String>>),
}

enum Request {
    Read {
        prompt: String,
        context: Context,
        reply: oneshot::Sender<Result<Read, String>>,
    },
    History(String),
}

struct EditorThread {
    requests: std_mpsc::Sender<Request>,
    /// The answer to a read nobody waits for any more.
    open: Option<oneshot::Receiver<Result<Read, String>>>,
    /// While a line is being edited: its prompt.
    editing: Editing,
}

/// The prompt of the line being edited, if one is.
#[derive(Clone, Default)]
struct Editing {
    busy: Arc<AtomicBool>,
    prompt: Arc<Mutex<String>>,
}

impl Input {
    /// The line editor on the terminal, completing from `names`, with the
    /// history in `history` (none: kept for the session only).
    pub fn editor(names: Arc<RwLock<Names>>, history: Option<HistoryFile>) -> Result<Input> {
        let (requests, rx) = std_mpsc::channel::<Request>();
        let (ready_tx, ready_rx) = std_mpsc::channel();
        let editing = Editing::default();
        let editing_thread = editing.clone();
        std::thread::Builder::new()
            .name("grpcx-shell-editor".into())
            .spawn(move || {
                let config = Config::builder()
                    .completion_type(CompletionType::List)
                    .auto_add_history(false)
                    .history_ignore_dups(true)
                    .and_then(|c| c.max_history_size(history::MAX_ENTRIES))
                    .map(|c| c.build());
                let editor = config.and_then(Editor::<Helper, FileHistory>::with_config);
                let mut editor = match editor {
                    Ok(editor) => editor,
                    Err(err) => {
                        let _ = ready_tx.send(Err(format!("cannot start the line editor: {err}")));
                        return;
                    }
                };
                let context = Arc::new(Mutex::new(Context::Command));
                editor.set_helper(Some(Helper::new(names, context.clone())));
                if let Some(file) = &history {
                    file.load(editor.history_mut());
                }
                let _ = ready_tx.send(Ok(()));
                let mut history = history;
                for request in rx {
                    match request {
                        Request::Read {
                            prompt,
                            context: wanted,
                            reply,
                        } => {
                            *context.lock().expect("context lock") = wanted;
                            *editing_thread.prompt.lock().expect("prompt lock") = prompt.clone();
                            editing_thread.busy.store(true, Ordering::SeqCst);
                            let line = editor.readline(&prompt);
                            editing_thread.busy.store(false, Ordering::SeqCst);
                            let read = match line {
                                Ok(line) => Ok(Read::Line(line)),
                                Err(ReadlineError::Eof) => Ok(Read::Eof),
                                Err(ReadlineError::Interrupted) => Ok(Read::Interrupted),
                                Err(err) => Err(err.to_string()),
                            };
                            let _ = reply.send(read);
                        }
                        Request::History(line) => {
                            let added = editor.add_history_entry(line).unwrap_or(false);
                            if let (true, Some(file)) = (added, &history)
                                && let Err(err) = file.save(editor.history_mut())
                            {
                                eprintln!("grpcx: warning: history not saved: {err:#}");
                                history = None;
                            }
                        }
                    }
                }
            })?;
        ready_rx
            .recv()
            .map_err(|_| anyhow!("the line editor did not start"))?
            .map_err(|err| anyhow!(err))?;
        Ok(Input {
            source: Source::Editor(EditorThread {
                requests,
                open: None,
                editing,
            }),
        })
    }

    /// Stdin, line by line (read on a thread of its own, one line ahead).
    pub fn pipe() -> Input {
        let (tx, rx) = mpsc::channel(1);
        std::thread::Builder::new()
            .name("grpcx-shell-stdin".into())
            .spawn(move || {
                for line in io::stdin().lock().lines() {
                    if tx.blocking_send(line).is_err() {
                        return;
                    }
                }
            })
            .expect("a thread starts");
        Input {
            source: Source::Pipe(rx),
        }
    }

    /// True on a terminal: prompts show, and the session goes on after
    /// Ctrl-C.
    pub fn is_terminal(&self) -> bool {
        matches!(self.source, Source::Editor(_))
    }

    /// Reads one line, showing `prompt` on a terminal.
    pub async fn read(&mut self, prompt: &str, context: Context) -> Result<Read> {
        match &mut self.source {
            Source::Editor(editor) => {
                // A line still open from a call that ended meanwhile: what
                // is typed there now answers this read.
                if let Some(open) = editor.open.as_mut() {
                    let line = open.await;
                    editor.open = None;
                    match line {
                        Ok(Ok(Read::Line(line))) if !line.trim().is_empty() => {
                            return Ok(Read::Line(line));
                        }
                        Ok(Err(err)) => return Err(anyhow!("cannot read the terminal: {err}")),
                        _ => {}
                    }
                }
                let (reply, answer) = oneshot::channel();
                editor
                    .requests
                    .send(Request::Read {
                        prompt: prompt.to_string(),
                        context,
                        reply,
                    })
                    .map_err(|_| anyhow!("the line editor stopped"))?;
                // Kept here while awaited: when the caller gives up on it (a
                // stream ended), the next read takes its line.
                let open = editor.open.insert(answer);
                let line = open.await;
                editor.open = None;
                match line {
                    Ok(read) => read.map_err(|err| anyhow!("cannot read the terminal: {err}")),
                    Err(_) => Err(anyhow!("the line editor stopped")),
                }
            }
            Source::Pipe(lines) => match lines.recv().await {
                Some(Ok(line)) => Ok(Read::Line(line)),
                Some(Err(err)) => Err(anyhow::Error::new(err).context("cannot read stdin")),
                None => Ok(Read::Eof),
            },
        }
    }

    /// Adds a line to the history (saved at once); nothing when piped.
    pub fn remember(&mut self, line: &str) {
        if let Source::Editor(editor) = &self.source {
            let _ = editor.requests.send(Request::History(line.to_string()));
        }
    }

    /// True when a line was asked for though nobody waits for it any more
    /// (a stream ended while its next message was being typed): the next
    /// read takes that line. Known from the read left open, not from the
    /// editor thread, which may not have shown its prompt yet.
    pub fn is_editing(&self) -> bool {
        match &self.source {
            Source::Editor(editor) => editor.open.is_some(),
            Source::Pipe(_) => false,
        }
    }

    /// Clears the line being edited, if one is, for an error to print there.
    pub fn clear_line(&self) {
        if self.is_editing() && io::stdout().is_terminal() {
            let mut out = io::stdout().lock();
            let _ = out.write_all(b"\r\x1b[2K");
            let _ = out.flush();
        }
    }

    /// Prints a line of text as a call's output prints (see [`Input::sink`]).
    pub fn note(&self, text: &str) {
        match self.sink() {
            Some(mut sink) => {
                let _ = sink.write_all(format!("{text}\n").as_bytes());
                let _ = sink.flush();
            }
            None => eprintln!("{text}"),
        }
    }

    /// Where a call's output goes on a terminal: stdout, around the prompt
    /// of a line being edited. None when piped (or when stdout is not a
    /// terminal): stdout, as `call` prints.
    pub fn sink(&self) -> Option<Box<dyn Write + Send>> {
        match &self.source {
            Source::Editor(editor) if io::stdout().is_terminal() => Some(Box::new(Sink {
                editing: editor.editing.clone(),
                pending: Vec::new(),
            })),
            _ => None,
        }
    }
}

/// Output written whole at each flush (the printer flushes after each
/// message, and before it waits): above the line being edited, if any.
struct Sink {
    editing: Editing,
    pending: Vec<u8>,
}

impl Write for Sink {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.pending.extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        if self.pending.is_empty() {
            return Ok(());
        }
        let mut out = io::stdout().lock();
        if self.editing.busy.load(Ordering::SeqCst) {
            // Back to the start of the prompt's line, cleared; the prompt
            // again after the output. rustyline draws the rest of the line
            // at the next key.
            let prompt = self
                .editing
                .prompt
                .lock()
                .map(|p| p.clone())
                .unwrap_or_default();
            out.write_all(b"\r\x1b[2K")?;
            out.write_all(&self.pending)?;
            out.write_all(prompt.as_bytes())?;
        } else {
            out.write_all(&self.pending)?;
        }
        self.pending.clear();
        out.flush()
    }
}

impl Drop for Sink {
    fn drop(&mut self) {
        let _ = self.flush();
    }
}
