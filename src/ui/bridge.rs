//! The call bridge: a call from the page made through the same path as
//! `grpcx call` (`invoke::start` on the command's channel, requests parsed
//! by `input::parse_message`), its events streamed back to the page as
//! Server-Sent Events, as the printer receives them:
//!
//! `call` (its id) · `headers` · `message` (one per response, the moment it
//! arrives) · `trailers` · `status` (code, message, decoded details, time
//! taken) — or `error` for a local failure.
//!
//! A client-streaming or bidi call stays open after its first messages:
//! `POST /api/call/send` adds one, `/close` half-closes, and `/cancel` (or
//! the page going away) cancels the call. Each finished call is added to
//! the history.

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use anyhow::{Result, anyhow};
use bytes::Bytes;
use http::{Response, StatusCode, header};
use http_body_util::{BodyExt as _, StreamBody};
use hyper::body::Frame;
use prost::Message as _;
use prost_reflect::{DynamicMessage, MessageDescriptor, MethodDescriptor, ReflectMessage as _};
use serde_json::{Value, json};
use tokio::sync::{mpsc, oneshot};
use tokio_stream::StreamExt as _;
use tokio_stream::wrappers::ReceiverStream;
use tonic::metadata::MetadataMap;
use tonic::{Code, Status};

use super::history::Entry;
use super::{Body, Ui, error_text, find_method, parse_request, text_field, to_json};
use crate::error::hinted;
use crate::invoke::{self, CallOptions};
use crate::metadata;
use crate::status;
use crate::verbose::Verbose;

/// A call from the page, as `POST /api/call` and `/api/command` take it.
pub struct CallRequest {
    pub method: String,
    /// Each request message as JSON text (never as a JS number, so 64-bit
    /// integers arrive whole).
    pub messages: Vec<String>,
    pub metadata: Vec<(String, String)>,
    /// The deadline, in seconds.
    pub timeout: Option<f64>,
    /// Half-close after `messages` (client-streaming and bidi calls).
    pub close: bool,
}

impl CallRequest {
    pub fn from_json(body: &Value) -> Result<CallRequest> {
        let method = text_field(body, "method")?.to_string();
        let texts = |key: &str| -> Result<Vec<String>> {
            match body.get(key) {
                None | Some(Value::Null) => Ok(Vec::new()),
                Some(Value::Array(items)) => items
                    .iter()
                    .map(|item| match item {
                        Value::String(text) => Ok(text.clone()),
                        other => Ok(other.to_string()),
                    })
                    .collect(),
                Some(_) => Err(anyhow!("'{key}' must be a list")),
            }
        };
        let messages = texts("messages")?;
        let mut metadata = Vec::new();
        if let Some(Value::Array(pairs)) = body.get("metadata") {
            for pair in pairs {
                let name = pair.get(0).and_then(Value::as_str).unwrap_or("").trim();
                let value = pair.get(1).and_then(Value::as_str).unwrap_or("");
                if !name.is_empty() {
                    metadata.push((name.to_ascii_lowercase(), value.to_string()));
                }
            }
        }
        let timeout = match body.get("timeout") {
            None | Some(Value::Null) => None,
            Some(value) => match value.as_f64() {
                Some(secs) if secs > 0.0 && secs < 1e9 => Some(secs),
                _ => return Err(anyhow!("the deadline must be a positive number of seconds")),
            },
        };
        Ok(CallRequest {
            method,
            messages,
            metadata,
            timeout,
            close: body.get("close").and_then(Value::as_bool).unwrap_or(true),
        })
    }
}

/// A running call, for `send`, `close` and `cancel`.
pub(crate) struct Live {
    /// The open request stream (until closed).
    requests: Option<mpsc::Sender<DynamicMessage>>,
    cancel: Option<oneshot::Sender<()>>,
    method: MethodDescriptor,
    sent: usize,
}

/// Starts a call and answers with its event stream.
pub async fn start(ui: Arc<Ui>, body: &Value) -> Result<Response<Body>> {
    let request = CallRequest::from_json(body)?;
    let channel = ui.channel.clone().ok_or_else(|| {
        hinted(
            "there is no server to call: grpcx ui was given a schema but no TARGET",
            "start it again with the server's address, as in grpcx ui localhost:50051",
        )
    })?;
    let method = find_method(&ui, &request.method).await?;
    let streaming_in = method.is_client_streaming();
    if !streaming_in && request.messages.len() > 1 {
        return Err(anyhow!(
            "{} takes exactly one request message",
            method.full_name()
        ));
    }
    // Every message is parsed before anything is sent: bad input sends nothing.
    let mut parsed = Vec::new();
    for (i, text) in request.messages.iter().enumerate() {
        parsed.push(parse_request(&ui, &method, text, i + 1).await?);
    }
    if !streaming_in && parsed.is_empty() {
        parsed.push(DynamicMessage::new(method.input()));
    }
    let mut call_metadata = ui.call_metadata.clone().into_headers();
    let lines: Vec<String> = request
        .metadata
        .iter()
        .map(|(name, value)| format!("{name}: {value}"))
        .collect();
    call_metadata.extend(metadata::parse_headers(&lines)?.into_headers());
    let call_metadata = MetadataMap::from_headers(call_metadata);

    let (tx, rx) = mpsc::channel(parsed.len().max(64));
    let sent = parsed.len();
    for message in parsed {
        tx.try_send(message).expect("room for the first messages");
    }
    let id = ui.next_call.fetch_add(1, Ordering::Relaxed);
    let (cancel, cancelled) = oneshot::channel();
    let keep_open = streaming_in && !request.close;
    ui.calls.lock().expect("calls lock").insert(
        id,
        Live {
            requests: keep_open.then_some(tx),
            cancel: Some(cancel),
            method: method.clone(),
            sent,
        },
    );
    let (events, stream) = mpsc::channel::<Bytes>(256);
    let call = Call {
        ui: ui.clone(),
        id,
        method,
        messages: request.messages,
        metadata: request.metadata,
        timeout: request.timeout,
        events,
    };
    tokio::spawn(call.run(channel, rx, call_metadata, cancelled));
    let body = StreamBody::new(ReceiverStream::new(stream).map(|b| Ok(Frame::data(b))));
    let mut response = Response::new(body.boxed());
    *response.status_mut() = StatusCode::OK;
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        header::HeaderValue::from_static("text/event-stream"),
    );
    headers.insert(
        header::CACHE_CONTROL,
        header::HeaderValue::from_static("no-store"),
    );
    Ok(response)
}

/// `POST /api/call/send {id, message}`: one more request on an open stream.
pub async fn send(ui: &Ui, body: &Value) -> Result<Value> {
    let id = call_id(body)?;
    let (requests, method, index) = {
        let calls = ui.calls.lock().expect("calls lock");
        let live = calls.get(&id).ok_or_else(|| anyhow!("call {id} is over"))?;
        let requests = live
            .requests
            .clone()
            .ok_or_else(|| anyhow!("call {id} has closed its requests"))?;
        (requests, live.method.clone(), live.sent + 1)
    };
    let message = parse_request(ui, &method, text_field(body, "message")?, index).await?;
    requests
        .send(message)
        .await
        .map_err(|_| anyhow!("call {id} is over"))?;
    if let Some(live) = ui.calls.lock().expect("calls lock").get_mut(&id) {
        live.sent += 1;
    }
    Ok(json!({ "sent": index }))
}

/// `POST /api/call/close {id}`: the end of the requests (a half-close).
pub fn close(ui: &Ui, body: &Value) -> Result<Value> {
    let id = call_id(body)?;
    if let Some(live) = ui.calls.lock().expect("calls lock").get_mut(&id) {
        live.requests = None;
    }
    Ok(json!({ "closed": id }))
}

/// `POST /api/call/cancel {id}`: cancels a running call.
pub fn cancel(ui: &Ui, body: &Value) -> Result<Value> {
    let id = call_id(body)?;
    if let Some(live) = ui.calls.lock().expect("calls lock").get_mut(&id)
        && let Some(cancel) = live.cancel.take()
    {
        let _ = cancel.send(());
    }
    Ok(json!({ "cancelled": id }))
}

fn call_id(body: &Value) -> Result<u64> {
    body.get("id")
        .and_then(Value::as_u64)
        .ok_or_else(|| anyhow!("the request needs the call's 'id'"))
}

/// One call's run, from its start to its last event.
struct Call {
    ui: Arc<Ui>,
    id: u64,
    method: MethodDescriptor,
    messages: Vec<String>,
    metadata: Vec<(String, String)>,
    timeout: Option<f64>,
    events: mpsc::Sender<Bytes>,
}

impl Call {
    async fn run(
        self,
        channel: crate::protocol::Channel,
        requests: mpsc::Receiver<DynamicMessage>,
        call_metadata: MetadataMap,
        cancelled: oneshot::Receiver<()>,
    ) {
        let started = Instant::now();
        self.event(
            "call",
            json!({ "id": self.id, "kind": crate::schema::method_kind(&self.method) }),
        )
        .await;
        // The deadline is kept here too, not only sent as grpc-timeout: a
        // server that ignores it must not keep the page waiting.
        let deadline = self.timeout.or(self.ui.conn.max_time);
        let made = async {
            let made = self.make(channel, requests, call_metadata, started);
            match deadline {
                Some(secs) => tokio::time::timeout(Duration::from_secs_f64(secs), made)
                    .await
                    .unwrap_or_else(|_| {
                        Status::deadline_exceeded(format!("the deadline of {secs} s passed"))
                    }),
                None => made.await,
            }
        };
        let status = tokio::select! {
            status = made => status,
            _ = cancelled => Status::cancelled("cancelled on the page"),
            () = self.events.closed() => Status::cancelled("the page went away"),
        };
        self.ui.calls.lock().expect("calls lock").remove(&self.id);
        let elapsed_ms = started.elapsed().as_millis() as u64;
        let details = self.details(&status).await;
        let mut shown: Value = serde_json::from_str(&status::to_json(&status, &details))
            .unwrap_or_else(|_| json!({ "code": status::code_constant(status.code()) }));
        shown["elapsedMs"] = json!(elapsed_ms);
        self.event("status", shown).await;
        self.record(&status, elapsed_ms);
    }

    /// Makes the call, sending its events; its final status.
    async fn make(
        &self,
        channel: crate::protocol::Channel,
        requests: mpsc::Receiver<DynamicMessage>,
        call_metadata: MetadataMap,
        started: Instant,
    ) -> Status {
        let conn = &self.ui.conn;
        let timeout = self.timeout.or(conn.max_time).map(Duration::from_secs_f64);
        let options = CallOptions {
            max_message_size: conn.max_msg_size,
            timeout,
            limit: timeout,
            compress: conn.compress,
            verbose: Verbose::new(conn.verbose),
        };
        let start = invoke::start(
            channel,
            &self.method,
            ReceiverStream::new(requests),
            call_metadata,
            &options,
        );
        let mut response = match start.await {
            Ok(response) => response,
            Err(status) => return self.trailers_of(status).await,
        };
        self.event("headers", pairs(&response.headers)).await;
        let output = self.method.output();
        loop {
            match response.message().await {
                Ok(Some(bytes)) => match self.decode(&output, &bytes).await {
                    Ok(json) => {
                        let at = started.elapsed().as_millis() as u64;
                        let message = format!("{{\"ms\":{at},\"message\":{json}}}");
                        self.raw_event("message", &message).await;
                    }
                    Err(err) => return Status::internal(error_text(&err)),
                },
                Ok(None) => break,
                Err(status) => return self.trailers_of(status).await,
            }
        }
        match response.trailers().await {
            Ok(trailers) => {
                self.event("trailers", pairs(&trailers)).await;
                status::success(&trailers)
            }
            Err(status) => self.trailers_of(status).await,
        }
    }

    /// Sends the trailers a failed call's status carries; the status.
    async fn trailers_of(&self, status: Status) -> Status {
        self.event("trailers", pairs(status.metadata())).await;
        status
    }

    /// A response as canonical JSON, the types its Anys name fetched first.
    async fn decode(&self, output: &MessageDescriptor, bytes: &[u8]) -> Result<String> {
        let mut message = DynamicMessage::decode(output.clone(), bytes).map_err(|err| {
            anyhow!(
                "the server sent a {} that does not decode: {err}",
                output.full_name()
            )
        })?;
        loop {
            let mut types = Vec::new();
            crate::schema::types_in_message(&message, &mut types);
            let pool = message.descriptor().parent_pool().clone();
            if types.iter().all(|t| pool.get_message_by_name(t).is_some()) {
                break;
            }
            let mut schema = self.ui.schema.lock().await;
            schema.fetch_types(&types).await?;
            let desc = schema
                .pool()
                .get_message_by_name(message.descriptor().full_name())
                .ok_or_else(|| anyhow!("the output type left the schema"))?;
            message = DynamicMessage::decode(desc, message.encode_to_vec().as_slice())?;
        }
        crate::schema::editions::prepare_output(&mut message);
        to_json(&message)
    }

    /// A failed call's details, decoded with the schema's types too.
    async fn details(&self, status: &Status) -> Vec<status::Detail> {
        if status.code() == Code::Ok {
            return Vec::new();
        }
        // The detail types the built-in ones lack are fetched (2 s at most,
        // as `call` does); past that, the built-in types do.
        let with_schema = async {
            let mut schema = self.ui.schema.lock().await;
            for name in status::detail_types(status) {
                if status::builtin_pool().get_message_by_name(&name).is_none() {
                    let _ = schema.fetch_symbol(&name).await;
                }
            }
            status::details(status, Some(schema.pool()))
        };
        tokio::time::timeout(std::time::Duration::from_secs(2), with_schema)
            .await
            .unwrap_or_else(|_| status::details(status, None))
    }

    fn record(&self, status: &Status, elapsed_ms: u64) {
        let Some(history) = &self.ui.history else {
            return;
        };
        let time = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_millis() as u64)
            .unwrap_or(0);
        let entry = Entry {
            time,
            target: if self.ui.bundled {
                String::new()
            } else {
                self.ui.target.clone()
            },
            method: format!(
                "{}/{}",
                self.method.parent_service().full_name(),
                self.method.name()
            ),
            messages: self.messages.clone(),
            metadata: self.metadata.clone(),
            status: status::code_constant(status.code()),
            elapsed_ms,
        };
        if let Err(err) = history.add(entry) {
            eprintln!("grpcx: warning: the call was not added to the history: {err:#}");
        }
    }

    async fn event(&self, name: &str, data: Value) {
        self.raw_event(name, &data.to_string()).await;
    }

    /// One Server-Sent Event; `data` is one line of JSON.
    async fn raw_event(&self, name: &str, data: &str) {
        let event = format!("event: {name}\ndata: {data}\n\n");
        let _ = self.events.send(Bytes::from(event)).await;
    }
}

/// Metadata as `[[name, value], …]` (binary values in base64).
fn pairs(map: &MetadataMap) -> Value {
    metadata::entries(map)
        .map(|(name, value)| json!([name, value]))
        .collect()
}
