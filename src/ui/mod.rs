//! `grpcx ui`'s web server: the routes, the page's assets, and the JSON API
//! the page is built on. The server owns protobuf (method list, form
//! schemas, templates, validation, calls, errors); the page owns only the
//! form. Every request passes the [`guard`] first.
//!
//! Routes (all need the token; `POST`s take and give JSON):
//! - `GET /` the page (`/?token=…` sets the cookie and redirects to `/`),
//!   `GET /app.js`, `GET /app.css`;
//! - `GET /api/info`, `GET /api/services`, `GET /api/method?path=S/M`,
//!   `GET /api/type?name=T` (a form schema, for an Any's type),
//!   `GET /api/history`;
//! - `POST /api/check` (a request parsed as `call` parses it, and given
//!   back in canonical JSON), `POST /api/command` (copy as command);
//! - `POST /api/call` (a call, answered as Server-Sent Events: see
//!   [`bridge`]), `POST /api/call/send`, `/close` and `/cancel`.

pub mod bridge;
pub mod command;
pub mod form;
pub mod guard;
pub mod history;

use std::collections::HashMap;
use std::convert::Infallible;
use std::sync::Arc;
use std::sync::atomic::AtomicU64;

use anyhow::{Context, Result, anyhow};
use bytes::Bytes;
use http::{Method, Request, Response, StatusCode, header};
use http_body_util::combinators::BoxBody;
use http_body_util::{BodyExt as _, Full, Limited};
use hyper::body::Incoming;
use prost_reflect::{DeserializeOptions, DynamicMessage, MethodDescriptor, SerializeOptions};
use serde_json::{Value, json};
use tokio::net::TcpListener;
use tokio::sync::Mutex;

use crate::cli::{ConnArgs, SchemaArgs};
use crate::input::Chunk;
use crate::protocol::Channel;
use crate::schema::{MethodName, Schema};
use guard::Guard;
use history::History;

/// A response body: whole, or a stream of events.
pub type Body = BoxBody<Bytes, Infallible>;

/// The largest request body the page may send.
const MAX_BODY: usize = 16 << 20;

/// Everything the routes share.
pub struct Ui {
    pub guard: Guard,
    /// The target as given, or the bundled server's address.
    pub target: String,
    /// True when the bundled server was started for the page.
    pub bundled: bool,
    /// None when there is no server to call (a schema from files alone).
    pub channel: Option<Channel>,
    pub schema: Mutex<Schema>,
    pub schema_args: SchemaArgs,
    pub conn: ConnArgs,
    /// The metadata of `-H` and `--rpc-header`, sent with every call.
    pub call_metadata: tonic::metadata::MetadataMap,
    pub history: Option<History>,
    pub(crate) calls: std::sync::Mutex<HashMap<u64, bridge::Live>>,
    pub(crate) next_call: AtomicU64,
}

/// Serves the page on `listener` until `shutdown` resolves.
pub async fn serve(
    listener: TcpListener,
    ui: Arc<Ui>,
    shutdown: impl Future<Output = ()>,
) -> Result<()> {
    let mut shutdown = std::pin::pin!(shutdown);
    loop {
        let (stream, _) = tokio::select! {
            accepted = listener.accept() => accepted.context("cannot accept a connection")?,
            () = &mut shutdown => return Ok(()),
        };
        let ui = ui.clone();
        tokio::spawn(async move {
            let service = hyper::service::service_fn(move |request| {
                let ui = ui.clone();
                async move { Ok::<_, Infallible>(route(ui, request).await) }
            });
            let _ = hyper::server::conn::http1::Builder::new()
                .serve_connection(hyper_util::rt::TokioIo::new(stream), service)
                .await;
        });
    }
}

const INDEX: &str = include_str!("assets/index.html");
const APP_JS: &str = include_str!("assets/app.js");
const APP_CSS: &str = include_str!("assets/app.css");

async fn route(ui: Arc<Ui>, request: Request<Incoming>) -> Response<Body> {
    let query = parse_query(request.uri().query().unwrap_or(""));
    let query_token = query.get("token").map(String::as_str);
    let has_cookie = match ui.guard.check(request.headers(), query_token) {
        Ok(has_cookie) => has_cookie,
        Err(refused) => {
            return plain(
                StatusCode::FORBIDDEN,
                format!("grpcx ui: forbidden: {}\n", refused.0),
            );
        }
    };
    let method = request.method().clone();
    let path = request.uri().path().to_string();
    // The first visit: keep the token in a cookie, and take it out of the
    // address bar (a link copied from there must not carry it).
    if query_token.is_some() {
        let mut response = empty(StatusCode::SEE_OTHER);
        let headers = response.headers_mut();
        headers.insert(header::LOCATION, header::HeaderValue::from_static("/"));
        if let Ok(cookie) = ui.guard.set_cookie().parse() {
            headers.insert(header::SET_COOKIE, cookie);
        }
        return response;
    }
    debug_assert!(has_cookie);
    let result = match (&method, path.as_str()) {
        (&Method::GET, "/") => Ok(asset(INDEX, "text/html; charset=utf-8")),
        (&Method::GET, "/app.js") => Ok(asset(APP_JS, "text/javascript; charset=utf-8")),
        (&Method::GET, "/app.css") => Ok(asset(APP_CSS, "text/css; charset=utf-8")),
        (&Method::GET, "/api/info") => Ok(json_response(info(&ui))),
        (&Method::GET, "/api/services") => services(&ui).await.map(json_response),
        (&Method::GET, "/api/method") => {
            let path = query.get("path").cloned().unwrap_or_default();
            method_info(&ui, &path).await.map(json_response)
        }
        (&Method::GET, "/api/type") => {
            let name = query.get("name").cloned().unwrap_or_default();
            type_info(&ui, &name).await.map(json_response)
        }
        (&Method::GET, "/api/history") => Ok(json_response(history(&ui))),
        (&Method::POST, _) if path.starts_with("/api/") => match read_json(request).await {
            Ok(body) => post(&ui, &path, body).await,
            Err(err) => Err(err),
        },
        _ => return plain(StatusCode::NOT_FOUND, "grpcx ui: not found\n".into()),
    };
    result.unwrap_or_else(|err| {
        let mut response = json_response(json!({ "error": error_text(&err) }));
        *response.status_mut() = StatusCode::BAD_REQUEST;
        response
    })
}

async fn post(ui: &Arc<Ui>, path: &str, body: Value) -> Result<Response<Body>> {
    match path {
        "/api/check" => check(ui, &body).await.map(json_response),
        "/api/command" => command(ui, &body).await.map(json_response),
        "/api/call" => bridge::start(ui.clone(), &body).await,
        "/api/call/send" => bridge::send(ui, &body).await.map(json_response),
        "/api/call/close" => bridge::close(ui, &body).map(json_response),
        "/api/call/cancel" => bridge::cancel(ui, &body).map(json_response),
        _ => Ok(plain(StatusCode::NOT_FOUND, "grpcx ui: not found\n".into())),
    }
}

fn info(ui: &Ui) -> Value {
    json!({
        "target": ui.target,
        "bundled": ui.bundled,
        "canCall": ui.channel.is_some(),
        "protocol": format!("{:?}", ui.conn.protocol).to_ascii_lowercase(),
        "version": env!("CARGO_PKG_VERSION"),
        "history": ui.history.as_ref().map(|h| h.path().display().to_string()),
    })
}

async fn services(ui: &Ui) -> Result<Value> {
    let mut schema = ui.schema.lock().await;
    let (services, unresolved) = schema.services_resolving().await?;
    let mut comments = form::Comments::default();
    let listed: Vec<Value> = services
        .iter()
        .map(|s| form::service(s, &mut comments))
        .collect();
    let unresolved: Vec<Value> = unresolved
        .iter()
        .map(|u| json!({ "name": u.service, "error": format!("{:#}", u.error) }))
        .collect();
    Ok(json!({ "services": listed, "unresolved": unresolved }))
}

/// The method of `path` (`package.Service/Method`), from the shared schema.
pub(crate) async fn find_method(ui: &Ui, path: &str) -> Result<MethodDescriptor> {
    let name = MethodName::parse(path)?;
    ui.schema.lock().await.method(&name).await
}

async fn method_info(ui: &Ui, path: &str) -> Result<Value> {
    let method = find_method(ui, path).await?;
    let mut comments = form::Comments::default();
    let template = crate::template::for_message(&method.input());
    Ok(json!({
        "path": format!("{}/{}", method.parent_service().full_name(), method.name()),
        "kind": crate::schema::method_kind(&method),
        "comments": comments.get(&method.parent_file(), method.path()),
        "input": form::schema(&method.input(), &mut comments),
        "output": method.output().full_name(),
        "template": serde_json::to_value(&template)?,
        "types": form::message_names(method.parent_pool()),
    }))
}

async fn type_info(ui: &Ui, name: &str) -> Result<Value> {
    let mut schema = ui.schema.lock().await;
    if !schema.fetch_symbol(name).await? {
        return Err(anyhow!("message type '{name}' not found"));
    }
    let message = schema
        .pool()
        .get_message_by_name(name)
        .ok_or_else(|| anyhow!("'{name}' is not a message type"))?;
    Ok(form::schema(&message, &mut form::Comments::default()))
}

fn history(ui: &Ui) -> Value {
    let entries: Vec<Value> = match &ui.history {
        Some(history) => history
            .load()
            .iter()
            .filter(|e| e.target == ui.target || (ui.bundled && e.target.is_empty()))
            .map(history::Entry::to_json)
            .collect(),
        None => Vec::new(),
    };
    json!({ "entries": entries })
}

/// Parses one request message of `method` as `call` does (Anys' types and
/// extensions fetched first).
pub(crate) async fn parse_request(
    ui: &Ui,
    method: &MethodDescriptor,
    text: &str,
    index: usize,
) -> Result<DynamicMessage> {
    let chunk = Chunk::json(text, index);
    let mut schema = ui.schema.lock().await;
    let mut input = method.input();
    crate::calling::parse(&chunk, &mut input, &DeserializeOptions::new(), &mut schema).await
}

/// A message as compact canonical JSON (int64s as strings, defaults left out).
pub(crate) fn to_json(message: &DynamicMessage) -> Result<String> {
    let mut out = Vec::new();
    let mut ser = serde_json::Serializer::new(&mut out);
    message.serialize_with_options(&mut ser, &SerializeOptions::new())?;
    Ok(String::from_utf8(out)?)
}

async fn check(ui: &Ui, body: &Value) -> Result<Value> {
    let method = find_method(ui, text_field(body, "method")?).await?;
    let message = text_field(body, "message")?;
    Ok(match parse_request(ui, &method, message, 1).await {
        Ok(parsed) => json!({ "ok": true, "json": to_json(&parsed)? }),
        Err(err) => json!({ "ok": false, "error": error_text(&err) }),
    })
}

async fn command(ui: &Ui, body: &Value) -> Result<Value> {
    let request = bridge::CallRequest::from_json(body)?;
    let method = find_method(ui, &request.method).await?;
    let mut messages = Vec::new();
    for (i, text) in request.messages.iter().enumerate() {
        messages.push(to_json(&parse_request(ui, &method, text, i + 1).await?)?);
    }
    let path = format!("{}/{}", method.parent_service().full_name(), method.name());
    let flags = command::Flags {
        target: &ui.target,
        schema: &ui.schema_args,
        conn: &ui.conn,
    };
    let call = command::Call {
        method: &path,
        messages: &messages,
        metadata: &request.metadata,
        timeout: request.timeout,
    };
    let unary = !method.is_client_streaming() && !method.is_server_streaming();
    Ok(json!({
        "grpcx": command::grpcx(&flags, &call),
        "curl": command::curl(&flags, &call, unary),
    }))
}

/// A string member of a JSON body, or an error naming it.
pub(crate) fn text_field<'a>(body: &'a Value, name: &str) -> Result<&'a str> {
    body.get(name)
        .and_then(Value::as_str)
        .ok_or_else(|| anyhow!("the request needs a string '{name}'"))
}

/// An error as the page shows it: the message with its causes, then the
/// hint line when there is one.
pub(crate) fn error_text(err: &anyhow::Error) -> String {
    let hint = err
        .chain()
        .find_map(|e| e.downcast_ref::<crate::error::Hinted>())
        .map(|h| format!("\nhint: {}", h.hint))
        .unwrap_or_default();
    format!("{err:#}{hint}")
}

async fn read_json(request: Request<Incoming>) -> Result<Value> {
    let body = Limited::new(request.into_body(), MAX_BODY)
        .collect()
        .await
        .map_err(|err| anyhow!("cannot read the request: {err}"))?
        .to_bytes();
    serde_json::from_slice(&body).context("the request is not JSON")
}

/// `a=b&c=d`, percent-decoded.
fn parse_query(query: &str) -> HashMap<String, String> {
    query
        .split('&')
        .filter(|pair| !pair.is_empty())
        .map(|pair| {
            let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
            (form_decode(key), form_decode(value))
        })
        .collect()
}

/// A form value: `+` is a space, then `%XX` escapes (a `%2B` stays `+`).
fn form_decode(text: &str) -> String {
    percent_encoding::percent_decode_str(&text.replace('+', " "))
        .decode_utf8_lossy()
        .into_owned()
}

/// Headers every response carries: nothing but this page's own files may
/// run, load or frame it.
fn secure(mut response: Response<Body>) -> Response<Body> {
    let headers = response.headers_mut();
    let fixed = [
        (
            "content-security-policy",
            "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; \
             connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'",
        ),
        ("x-content-type-options", "nosniff"),
        ("referrer-policy", "no-referrer"),
        ("cache-control", "no-store"),
    ];
    for (name, value) in fixed {
        headers.insert(name, header::HeaderValue::from_static(value));
    }
    response
}

fn full(status: StatusCode, content_type: &str, body: impl Into<Bytes>) -> Response<Body> {
    let mut response = Response::new(Full::new(body.into()).boxed());
    *response.status_mut() = status;
    if let Ok(value) = content_type.parse() {
        response.headers_mut().insert(header::CONTENT_TYPE, value);
    }
    secure(response)
}

fn empty(status: StatusCode) -> Response<Body> {
    full(status, "text/plain; charset=utf-8", Bytes::new())
}

fn plain(status: StatusCode, text: String) -> Response<Body> {
    full(status, "text/plain; charset=utf-8", text)
}

fn asset(text: &'static str, content_type: &str) -> Response<Body> {
    full(StatusCode::OK, content_type, text)
}

pub(crate) fn json_response(value: Value) -> Response<Body> {
    full(StatusCode::OK, "application/json", value.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn queries_are_percent_decoded() {
        let query = parse_query(
            "path=helloworld.Greeter%2FSayHello&x=a+b&bad=%zz&end=%4&plus=%2B&sign=%+f",
        );
        assert_eq!(query["path"], "helloworld.Greeter/SayHello");
        assert_eq!(query["x"], "a b");
        assert_eq!(query["bad"], "%zz");
        assert_eq!(query["end"], "%4");
        assert_eq!(query["plus"], "+");
        assert_eq!(query["sign"], "% f");
    }
}
