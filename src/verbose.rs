//! `-v`: what happened on the wire, on stderr, as it happens: the request
//! headers sent (credentials masked unless `-vv`), the response headers, the
//! trailers (with the status fields, even from a trailers-only answer), the
//! final status, and how long connect, schema and call took.
//!
//! A cheap handle that does nothing when `-v` is off; stdout is untouched.

use std::io::Write as _;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use percent_encoding::{AsciiSet, CONTROLS, utf8_percent_encode};
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

    /// Whether `-v` was given.
    pub fn is_on(&self) -> bool {
        self.0.is_some()
    }

    /// Ends a phase (`connect`, `schema`, `call`) now and prints a line about it.
    pub fn phase(&self, name: &'static str, what: &str) {
        let Some(state) = &self.0 else { return };
        let mut state = state.lock().expect("verbose state");
        let now = Instant::now();
        let took = now - std::mem::replace(&mut state.last, now);
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
        let took = now - std::mem::replace(&mut state.last, now);
        let status = match status {
            None => "OK".to_string(),
            Some(status) => format!("{}: {}", code_name(status.code()), status.message()),
        };
        let mut timing: Vec<String> = state
            .phases
            .iter()
            .map(|(name, took)| format!("{name} {}", millis(*took)))
            .collect();
        timing.push(format!("call {}", millis(took)));
        timing.push(format!("total {}", millis(now - state.start)));
        emit(format!("Status: {status}\nTiming: {}\n", timing.join(", ")));
    }

    /// The end of a failed call: `raw` is the status as it came, `shown`
    /// as grpcx words it. The trailers block shows the status fields the
    /// server sent (tonic moves them out of the trailers into the status),
    /// also when the answer was trailers-only, a single header block.
    pub fn failed(&self, raw: &Status, shown: &Status) {
        if self.0.is_some() {
            self.end(&received_trailers(raw), Some(shown));
        }
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

/// The trailers of a failed call as the server sent them: its metadata with
/// `grpc-status`, `grpc-message` and `grpc-status-details-bin` put back, in
/// their wire encoding. A status grpcx made itself (the connection broke, a
/// limit was met) came with no status fields, and gets none.
fn received_trailers(status: &Status) -> MetadataMap {
    let mut fields = http::HeaderMap::new();
    if !crate::transport::is_sent_by_server(status) || status.add_header(&mut fields).is_err() {
        return status.metadata().clone();
    }
    let mut headers = status.metadata().clone().into_headers();
    for key in [Status::GRPC_STATUS, Status::GRPC_STATUS_DETAILS] {
        if let Some(value) = fields.remove(&key) {
            headers.insert(key, value);
        }
    }
    // Encoded as the gRPC spec asks (tonic also escapes spaces).
    if let Ok(value) = http::HeaderValue::from_str(
        &utf8_percent_encode(status.message(), GRPC_MESSAGE_ESCAPED).to_string(),
    ) && !status.message().is_empty()
    {
        headers.insert(Status::GRPC_MESSAGE, value);
    }
    MetadataMap::from_headers(headers)
}

/// `grpc-message` encoding: bytes outside printable ASCII, and `%`, as `%XX`
/// (the crate escapes every non-ASCII byte itself).
const GRPC_MESSAGE_ESCAPED: &AsciiSet = &CONTROLS.add(b'%');

/// One write per block, so blocks never interleave with other stderr lines.
fn emit(text: String) {
    let _ = std::io::stderr().lock().write_all(text.as_bytes());
}

fn millis(took: Duration) -> String {
    format!("{:.1} ms", took.as_secs_f64() * 1000.0)
}
