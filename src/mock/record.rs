//! `grpcx serve --record DIR --upstream TARGET`: every call is forwarded to
//! the real server as it comes (messages both ways as they arrive), and
//! what passed is written as stubs that `--stubs DIR` replays.
//!
//! One file per method, `DIR/<package.Service>/<Method>.json`, holding a
//! list of stubs. Each stub's `when` is `equals` the request (a client
//! stream's `{"messages": [...]}`); a later call with the same request
//! replaces it. A bidi stream becomes one stub per request message, each
//! answering the responses that arrived after it and before the next.
//! Files are written whole, to a temporary name and renamed.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use anyhow::{Context as _, Result};
use http::HeaderMap;
use prost_reflect::{DynamicMessage, MethodDescriptor};
use serde_json::{Map, Value, json};
use tokio::sync::mpsc;
use tokio_stream::wrappers::ReceiverStream;
use tonic::Status;
use tonic::body::Body;
use tonic::metadata::MetadataMap;

use super::Mock;
use super::log::Entry;
use super::shape::method_name;
use super::wire::{Answer, Requests, trailers_only, user_headers};
use crate::cli::ConnArgs;
use crate::codec::Outgoing;
use crate::invoke::{self, CallOptions};
use crate::protocol::Channel;
use crate::verbose::Verbose;

/// Where recordings go, and the upstream they come from.
pub struct Recorder {
    dir: PathBuf,
    channel: Channel,
    options: CallOptions,
    /// Each method file's stubs so far, by path.
    files: Mutex<HashMap<PathBuf, Vec<Value>>>,
}

impl Recorder {
    pub fn new(
        dir: &Path,
        channel: Channel,
        conn: &ConnArgs,
        verbose: Verbose,
    ) -> Result<Recorder> {
        std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
        Ok(Recorder {
            dir: dir.to_path_buf(),
            channel,
            options: CallOptions::new(conn, None, verbose),
            files: Mutex::new(HashMap::new()),
        })
    }

    /// Adds (or replaces, by `when`) the stubs of one call in its method's
    /// file.
    fn write(&self, method: &MethodDescriptor, stubs: Vec<Value>) -> Result<PathBuf> {
        let service = method.parent_service();
        let path = self
            .dir
            .join(service.full_name())
            .join(format!("{}.json", method.name()));
        let mut files = self.files.lock().unwrap_or_else(|e| e.into_inner());
        let list = files.entry(path.clone()).or_insert_with(|| {
            std::fs::read_to_string(&path)
                .ok()
                .and_then(|text| serde_json::from_str::<Vec<Value>>(&text).ok())
                .unwrap_or_default()
        });
        for stub in stubs {
            match list
                .iter_mut()
                .find(|old| old.get("when") == stub.get("when"))
            {
                Some(old) => *old = stub,
                None => list.push(stub),
            }
        }
        let text = serde_json::to_string_pretty(list)? + "\n";
        let parent = path.parent().unwrap_or(&self.dir);
        std::fs::create_dir_all(parent)?;
        let temp = parent.join(format!(".{}.tmp", method.name()));
        std::fs::write(&temp, text)?;
        std::fs::rename(&temp, &path)?;
        Ok(path)
    }
}

/// What one call carried, as it went.
#[derive(Default)]
struct Tape {
    /// Each request message, with the responses that came after it.
    turns: Vec<(Value, Vec<Value>)>,
    headers: Map<String, Value>,
    trailers: Map<String, Value>,
    status: Option<Value>,
}

/// Forwards one call upstream, answers with what comes back, and records it.
pub async fn forward(
    mock: Arc<Mock>,
    method: MethodDescriptor,
    request: http::Request<Body>,
) -> http::Response<Body> {
    let recorder = mock
        .recorder
        .as_ref()
        .expect("forward is called when recording");
    let (parts, body) = request.into_parts();
    let name = method_name(&method);
    let mut entry = Entry::new(&name, &user_headers(&parts.headers), mock.log.as_ref());
    entry.stub = Some("upstream".to_string());
    let mut requests = match Requests::new(body, &parts.headers, method.input()) {
        Ok(requests) => requests,
        Err(status) => {
            entry.finish(mock.log.as_ref(), &status);
            return trailers_only(&status, HeaderMap::new());
        }
    };
    let tape = Arc::new(Mutex::new(Tape::default()));
    let (to_upstream, outgoing) = mpsc::channel::<Outgoing>(16);
    let (read_tx, mut read_rx) = mpsc::unbounded_channel::<DynamicMessage>();
    // The client's messages, on to the upstream as they come.
    {
        let tape = tape.clone();
        tokio::spawn(async move {
            while let Ok(Some((bytes, message))) = requests.next().await {
                tape.lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .turns
                    .push((json_of(&message), Vec::new()));
                let _ = read_tx.send(message);
                if to_upstream.send(Outgoing::Encoded(bytes)).await.is_err() {
                    break;
                }
            }
        });
    }
    let metadata = MetadataMap::from_headers(forwarded_headers(&parts.headers));
    let started = invoke::start(
        recorder.channel.clone(),
        &method,
        ReceiverStream::new(outgoing),
        metadata,
        &recorder.options,
    )
    .await;
    let pool = method.parent_pool().clone();
    let mut response = match started {
        Ok(response) => response,
        Err(status) => {
            while let Ok(message) = read_rx.try_recv() {
                entry.request(&message);
            }
            record_end(&tape, &status, &pool);
            save(&mock, &method, &tape);
            entry.finish(mock.log.as_ref(), &status);
            let trailers = status.metadata().clone().into_headers();
            return trailers_only(&status, trailers);
        }
    };
    let head = response.headers.clone().into_headers();
    tape.lock().unwrap_or_else(|e| e.into_inner()).headers = recorded(&head);
    let (reply, out) = Answer::start(reply_headers(&head));
    tokio::spawn(async move {
        let output = method.output();
        let status = loop {
            match response.message().await {
                Ok(Some(bytes)) => {
                    if let Ok(message) = DynamicMessage::decode(output.clone(), bytes.clone()) {
                        let mut tape = tape.lock().unwrap_or_else(|e| e.into_inner());
                        let value = json_of(&message);
                        match tape.turns.last_mut() {
                            Some((_, responses)) => responses.push(value),
                            None => tape.turns.push((Value::Null, vec![value])),
                        }
                    }
                    if !out.message(&bytes).await {
                        break Status::cancelled("the client cancelled the call");
                    }
                    entry.responses += 1;
                }
                Ok(None) => break Status::ok(""),
                Err(status) => break status,
            }
        };
        let trailers = match status.code() {
            tonic::Code::Ok => response
                .trailers()
                .await
                .map(MetadataMap::into_headers)
                .unwrap_or_default(),
            _ => status.metadata().clone().into_headers(),
        };
        while let Ok(message) = read_rx.try_recv() {
            entry.request(&message);
        }
        {
            let mut tape = tape.lock().unwrap_or_else(|e| e.into_inner());
            tape.trailers = recorded(&trailers);
        }
        record_end(&tape, &status, &pool);
        if status.code() != tonic::Code::Cancelled {
            save(&mock, &method, &tape);
        }
        if !out.is_gone() {
            out.end(&status, reply_headers(&trailers)).await;
        }
        entry.finish(mock.log.as_ref(), &status);
    });
    reply
}

fn json_of(message: &DynamicMessage) -> Value {
    serde_json::to_value(message).unwrap_or(Value::Null)
}

/// The request headers passed on: the client's own metadata.
fn forwarded_headers(headers: &HeaderMap) -> HeaderMap {
    let mut kept = user_headers(headers);
    for name in ["user-agent", "grpc-timeout", "connect-protocol-version"] {
        kept.remove(name);
    }
    kept
}

/// Response headers or trailers passed back: all but gRPC's own.
fn reply_headers(headers: &HeaderMap) -> HeaderMap {
    let mut kept = HeaderMap::new();
    for (name, value) in headers {
        let name_str = name.as_str();
        if name_str.starts_with("grpc-")
            || matches!(
                name_str,
                "content-type" | "content-length" | "date" | "server"
            )
        {
            continue;
        }
        kept.append(name.clone(), value.clone());
    }
    kept
}

/// Headers as a stub writes them.
fn recorded(headers: &HeaderMap) -> Map<String, Value> {
    reply_headers(headers)
        .iter()
        .filter_map(|(name, value)| {
            Some((
                name.as_str().to_string(),
                Value::String(value.to_str().ok()?.to_string()),
            ))
        })
        .collect()
}

fn record_end(tape: &Mutex<Tape>, status: &Status, pool: &prost_reflect::DescriptorPool) {
    if status.code() == tonic::Code::Ok {
        return;
    }
    let details: Vec<Value> = crate::status::details(status, Some(pool))
        .iter()
        .filter(|d| d.json.is_some())
        .filter_map(|d| serde_json::from_str(&d.to_json()).ok())
        .collect();
    let mut value = json!({
        "code": crate::status::code_constant(status.code()),
        "message": status.message(),
    });
    if !details.is_empty() {
        value["details"] = Value::Array(details);
    }
    tape.lock().unwrap_or_else(|e| e.into_inner()).status = Some(value);
}

/// The call's stubs, written to its method's file.
fn save(mock: &Mock, method: &MethodDescriptor, tape: &Mutex<Tape>) {
    let Some(recorder) = &mock.recorder else {
        return;
    };
    let tape = tape.lock().unwrap_or_else(|e| e.into_inner());
    let stubs = stubs_of(method, &tape);
    if stubs.is_empty() {
        return;
    }
    match recorder.write(method, stubs) {
        Ok(path) => eprintln!(
            "grpcx serve: recorded {} in {}",
            method_name(method),
            path.display()
        ),
        Err(err) => eprintln!(
            "grpcx serve: cannot record {}: {err:#}",
            method_name(method)
        ),
    }
}

/// The stubs that replay one call.
fn stubs_of(method: &MethodDescriptor, tape: &Tape) -> Vec<Value> {
    let name = method_name(method);
    let stub = |when: Value, mut then: Map<String, Value>, last: bool| {
        if !tape.headers.is_empty() {
            then.insert("headers".into(), Value::Object(tape.headers.clone()));
        }
        if last {
            if !tape.trailers.is_empty() {
                then.insert("trailers".into(), Value::Object(tape.trailers.clone()));
            }
            if let Some(status) = &tape.status {
                then.insert("status".into(), status.clone());
            }
        }
        json!({"method": name, "when": when, "then": then})
    };
    let responses = |list: &[Value]| -> Value {
        Value::Array(list.iter().map(|m| json!({"message": m})).collect())
    };
    let failed = tape.status.is_some();
    match (method.is_client_streaming(), method.is_server_streaming()) {
        (true, true) => {
            let count = tape.turns.len();
            tape.turns
                .iter()
                .enumerate()
                .filter(|(_, (request, _))| !request.is_null())
                .map(|(i, (request, answers))| {
                    let mut then = Map::new();
                    then.insert("messages".into(), responses(answers));
                    stub(json!({"equals": request}), then, i + 1 == count)
                })
                .collect()
        }
        (client_streaming, server_streaming) => {
            let requests: Vec<Value> = tape
                .turns
                .iter()
                .map(|(r, _)| r.clone())
                .filter(|r| !r.is_null())
                .collect();
            let answers: Vec<Value> = tape.turns.iter().flat_map(|(_, a)| a.clone()).collect();
            let when = if client_streaming {
                json!({"equals": {"messages": requests}})
            } else {
                match requests.first() {
                    Some(request) => json!({"equals": request}),
                    None => return Vec::new(),
                }
            };
            let mut then = Map::new();
            if server_streaming {
                then.insert("messages".into(), responses(&answers));
            } else if let (Some(answer), false) = (answers.first(), failed) {
                then.insert("message".into(), answer.clone());
            }
            vec![stub(when, then, true)]
        }
    }
}
