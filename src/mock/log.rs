//! The call log (`--log FILE`, `-` for stdout): one JSON line per call, so
//! that a test can assert that a call was made, and with what.
//!
//! ```json
//! {"time":"2026-12-04T10:00:00.123Z","method":"shop.v1.Shop/Get","headers":{"x-team":"blue"},
//!  "requests":[{"id":"o-1"}],"stub":"stubs/shop.json:3","status":"OK","code":0,"message":"",
//!  "responses":1,"ms":0.42}
//! ```
//!
//! `stub` is the stub's `id` if it has one, else its file and line;
//! `"upstream"` when recording, null when no stub applied. Credentials
//! (`authorization`, cookies, tokens) are masked unless `-vv` is given.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::sync::Mutex;
use std::time::{Instant, SystemTime};

use anyhow::{Context as _, Result};
use http::HeaderMap;
use prost_reflect::DynamicMessage;
use serde_json::{Map, Value, json};
use tonic::Status;

use crate::metadata::is_secret;

/// Where the lines go.
pub struct CallLog {
    out: Mutex<Box<dyn Write + Send>>,
    show_secrets: bool,
}

impl CallLog {
    /// `-` is stdout; a file is created (or truncated).
    pub fn open(spec: &str, show_secrets: bool) -> Result<CallLog> {
        let out: Box<dyn Write + Send> = if spec == "-" {
            Box::new(std::io::stdout())
        } else {
            let file =
                File::create(spec).with_context(|| format!("cannot write the call log {spec}"))?;
            Box::new(BufWriter::new(file))
        };
        Ok(CallLog {
            out: Mutex::new(out),
            show_secrets,
        })
    }

    fn write(&self, line: &Value) {
        let mut text = line.to_string();
        text.push('\n');
        let mut out = self.out.lock().unwrap_or_else(|e| e.into_inner());
        // A log that cannot be written must not stop the server.
        let _ = out.write_all(text.as_bytes()).and_then(|()| out.flush());
    }
}

/// One call, filled in as it goes and written when it ends.
pub struct Entry {
    time: SystemTime,
    started: Instant,
    method: String,
    headers: Map<String, Value>,
    requests: Vec<Value>,
    pub stub: Option<String>,
    pub responses: usize,
    /// Whether there is a log to write: without one, nothing is kept.
    kept: bool,
}

impl Entry {
    pub fn new(method: &str, headers: &HeaderMap, log: Option<&CallLog>) -> Entry {
        let show = log.is_some_and(|l| l.show_secrets);
        let mut map = Map::new();
        for (name, value) in headers.iter().filter(|_| log.is_some()) {
            let text = match value.to_str() {
                Ok(_) if is_secret(name.as_str()) && !show => "<masked>".to_string(),
                Ok(text) => text.to_string(),
                Err(_) => String::from_utf8_lossy(value.as_bytes()).into_owned(),
            };
            // A header sent more than once keeps its last value.
            map.insert(name.as_str().to_string(), Value::String(text));
        }
        Entry {
            time: SystemTime::now(),
            started: Instant::now(),
            method: method.to_string(),
            headers: map,
            requests: Vec::new(),
            stub: None,
            responses: 0,
            kept: log.is_some(),
        }
    }

    pub fn request(&mut self, message: &DynamicMessage) {
        if self.kept {
            self.requests
                .push(serde_json::to_value(message).unwrap_or(Value::Null));
        }
    }

    /// Writes the entry with the status the call ended with.
    pub fn finish(self, log: Option<&CallLog>, status: &Status) {
        let Some(log) = log else {
            return;
        };
        let ms = self.started.elapsed().as_secs_f64() * 1000.0;
        log.write(&json!({
            "time": humantime::format_rfc3339_millis(self.time).to_string(),
            "method": self.method,
            "headers": self.headers,
            "requests": self.requests,
            "stub": self.stub,
            "status": crate::status::code_constant(status.code()),
            "code": status.code() as i32,
            "message": status.message(),
            "responses": self.responses,
            "ms": (ms * 100.0).round() / 100.0,
        }));
    }
}
