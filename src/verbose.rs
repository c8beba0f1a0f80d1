//! `-v`: what happened on the wire, on stderr, as it happens: the request
//! headers sent (credentials masked unless `-vv`), the response headers, the
//! trailers, the final status, and how long connect, schema and call took.
//!
//! A cheap handle that does nothing when `-v` is off; stdout is untouched.

use std::io::Write as _;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tonic::Status;
use tonic::metadata::MetadataMap;

use crate::error::code_name;
use crate::metadata::is_secret;

/// The `-v` event sink; clones share one clock.
#[derive(Debug, Clone, Default)]
pub struct Verbose(Option<Arc<Mutex<State>>>);

#[derive(Debug)]
struct State {
    /// 1 masks credentials, 2 shows them.
    level: u8,
    start: Instant,
    last: Instant,
    phases: Vec<(&'static str, Duration)>,
}

impl Verbose {
    /// A sink for `-v` repeated `level` times (0: off).
    pub fn new(level: u8) -> Verbose {
        if level == 0 {
            return Verbose(None);
        }
        let now = Instant::now();
        Verbose(Some(Arc::new(Mutex::new(State {
            level,
            start: now,
            last: now,
            phases: Vec::new(),
        }))))
    }

    /// Ends a phase (`connect`, `schema`, `call`) now and prints a line about it.
    pub fn phase(&self, name: &'static str, what: &str) {
        let Some(state) = &self.0 else { return };
        let mut state = state.lock().expect("verbose state");
        let now = Instant::now();
        let took = now - state.last;
        state.last = now;
        state.phases.push((name, took));
        emit(format!("* {what}, {}\n", millis(took)));
    }

    /// A line about how the call goes, e.g. which protocol reflection uses.
    pub fn note(&self, what: &str) {
        if self.0.is_some() {
            emit(format!("* {what}\n"));
        }
    }

    /// The request headers, just before they are sent.
    pub fn request(&self, path: &str, metadata: &MetadataMap) {
        self.block(&format!("Request to {path}, metadata sent:"), metadata);
    }

    pub fn response_headers(&self, headers: &MetadataMap) {
        self.block("Response headers received:", headers);
    }

    /// The end of the call: trailers, status, and the timings.
    pub fn end(&self, trailers: &MetadataMap, status: Option<&Status>) {
        let Some(state) = &self.0 else { return };
        self.block("Response trailers received:", trailers);
        let mut state = state.lock().expect("verbose state");
        let now = Instant::now();
        let took = now - state.last;
        state.last = now;
        state.phases.push(("call", took));
        let status = match status {
            None => "OK".to_string(),
            Some(status) => format!("{}: {}", code_name(status.code()), status.message()),
        };
        let mut timing: Vec<String> = state
            .phases
            .iter()
            .map(|(name, took)| format!("{name} {}", millis(*took)))
            .collect();
        timing.push(format!("total {}", millis(now - state.start)));
        emit(format!("Status: {status}\nTiming: {}\n", timing.join(", ")));
    }

    fn block(&self, title: &str, map: &MetadataMap) {
        let Some(state) = &self.0 else { return };
        let show_secrets = state.lock().expect("verbose state").level >= 2;
        let mut text = format!("{title}\n");
        if map.is_empty() {
            text.push_str("(empty)\n");
        }
        for (name, value) in crate::metadata::entries(map) {
            if is_secret(name) && !show_secrets {
                text.push_str(&format!("{name}: *** (masked; -vv shows it)\n"));
            } else {
                text.push_str(&format!("{name}: {value}\n"));
            }
        }
        text.push('\n');
        emit(text);
    }
}

/// One write per block, so blocks never interleave with other stderr lines.
fn emit(text: String) {
    let _ = std::io::stderr().lock().write_all(text.as_bytes());
}

fn millis(took: Duration) -> String {
    format!("{:.1} ms", took.as_secs_f64() * 1000.0)
}
