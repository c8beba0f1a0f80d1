//! The live progress line of `grpcx bench` (indicatif), on stderr, only
//! when stdout and stderr are terminals.

use std::io::IsTerminal;
use std::time::Duration;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

/// Elapsed time, calls, rate and errors, redrawn a few times a second.
pub struct Progress(Option<ProgressBar>);

impl Progress {
    /// A progress line when a person is watching; otherwise nothing.
    pub fn new() -> Progress {
        let watched = std::io::stdout().is_terminal() && std::io::stderr().is_terminal();
        Progress(watched.then(|| {
            let style = ProgressStyle::with_template("{spinner} {elapsed_precise} {msg}");
            let bar = ProgressBar::with_draw_target(None, ProgressDrawTarget::stderr());
            bar.with_style(style.expect("a valid template"))
        }))
    }

    pub fn is_shown(&self) -> bool {
        self.0.is_some()
    }

    /// Shows the figures so far.
    pub fn update(&self, calls: u64, errors: u64, elapsed: Duration) {
        if let Some(bar) = &self.0 {
            let rate = calls as f64 / elapsed.as_secs_f64().max(1e-9);
            bar.set_message(format!("{calls} calls, {rate:.0}/s, {errors} errors"));
            bar.tick();
        }
    }

    /// Clears the line before the report prints.
    pub fn finish(&self) {
        if let Some(bar) = &self.0 {
            bar.finish_and_clear();
        }
    }
}
