//! One call answered from the stubs: the request read, the stub that
//! applies chosen, its answer sent (with its delays), the call logged.
//!
//! Unary and server-streaming calls are matched on their request; client
//! streams on all their messages, as `{"messages": [...]}`, once the client
//! half-closes; bidi streams message by message, each answered by the stub
//! that applies to it. When none applies, the call ends UNIMPLEMENTED,
//! naming the nearest stubs and why each did not apply.

use std::sync::Arc;
use std::sync::atomic::Ordering;

use http::HeaderMap;
use prost_reflect::{DynamicMessage, MethodDescriptor};
use serde_json::{Value, json};
use tonic::Status;
use tonic::body::Body;

use super::Mock;
use super::answer::{self, Scope};
use super::log::Entry;
use super::matcher::{Incoming, canonical};
use super::shape::{method_name, method_path};
use super::stubs::{Stub, StubSet};
use super::wire::{Answer, Requests, trailers_only};

/// Answers one call of `method`.
pub async fn serve(
    mock: Arc<Mock>,
    method: MethodDescriptor,
    request: http::Request<Body>,
) -> http::Response<Body> {
    let (parts, body) = request.into_parts();
    let name = method_name(&method);
    let mut entry = Entry::new(
        &name,
        &super::wire::user_headers(&parts.headers),
        mock.log.as_ref(),
    );
    let stubs = mock.stubs();
    let mut requests = match Requests::new(body, &parts.headers, method.input()) {
        Ok(requests) => requests,
        Err(status) => return fail(&mock, entry, status),
    };
    if method.is_client_streaming() && method.is_server_streaming() {
        return bidi(mock, method, stubs, parts.headers, requests, entry).await;
    }
    let mut messages = Vec::new();
    loop {
        match requests.next().await {
            Ok(Some((_, message))) => {
                entry.request(&message);
                messages.push(message);
            }
            Ok(None) => break,
            Err(status) => return fail(&mock, entry, status),
        }
    }
    let request = if method.is_client_streaming() {
        json!({"messages": messages.iter().map(canonical).collect::<Vec<_>>()})
    } else {
        match messages.as_slice() {
            [one] => canonical(one),
            _ => {
                let status = Status::internal(format!(
                    "{} takes one request message; the client sent {}",
                    method_name(&method),
                    messages.len()
                ));
                return fail(&mock, entry, status);
            }
        }
    };
    let incoming = Incoming {
        json: &request,
        headers: &parts.headers,
    };
    let stub = match choose(&stubs, &method, &incoming) {
        Ok(stub) => stub.clone(),
        Err(status) => return fail(&mock, entry, status),
    };
    entry.stub = Some(stub.name());
    let count = stub.calls.fetch_add(1, Ordering::Relaxed) + 1;
    let headers = parts.headers;
    let mut head = HeaderMap::new();
    let scope = Scope {
        request: &request,
        headers: &headers,
        count,
    };
    answer::headers(&stub.then.headers, &scope, &mut head);
    let (response, out) = Answer::start(head);
    tokio::spawn(async move {
        let scope = Scope {
            request: &request,
            headers: &headers,
            count,
        };
        let status = send(&stub, &method, &scope, &out, &mut entry).await;
        let mut trailers = HeaderMap::new();
        answer::headers(&stub.then.trailers, &scope, &mut trailers);
        if !out.is_gone() {
            out.end(&status, trailers).await;
        }
        entry.finish(mock.log.as_ref(), &status);
    });
    response
}

/// Sends a stub's messages (after their delays) and returns the status to
/// end with.
async fn send(
    stub: &Stub,
    method: &MethodDescriptor,
    scope: &Scope<'_>,
    out: &Answer,
    entry: &mut Entry,
) -> Status {
    tokio::time::sleep(stub.then.delay).await;
    for (template, delay) in &stub.then.messages {
        if !delay.is_zero() {
            tokio::time::sleep(*delay).await;
        }
        let bytes = match answer::message(template, &method.output(), scope) {
            Ok(bytes) => bytes,
            Err(err) => return Status::internal(format!("stub {}: {err}", stub.origin)),
        };
        if !out.message(&bytes).await {
            return Status::cancelled("the client cancelled the call");
        }
        entry.responses += 1;
    }
    match &stub.then.status {
        Some(status) => answer::status(status, method.parent_pool(), scope),
        None => Status::ok(""),
    }
}

/// A bidi stream: each request message answered by the stub that applies
/// to it; the first one decides the response headers.
async fn bidi(
    mock: Arc<Mock>,
    method: MethodDescriptor,
    stubs: Arc<StubSet>,
    headers: HeaderMap,
    mut requests: Requests,
    mut entry: Entry,
) -> http::Response<Body> {
    let first = match requests.next().await {
        Ok(Some((_, message))) => message,
        // No messages: nothing to answer.
        Ok(None) => {
            let status = Status::ok("");
            entry.finish(mock.log.as_ref(), &status);
            return trailers_only(&status, HeaderMap::new());
        }
        Err(status) => return fail(&mock, entry, status),
    };
    let request = canonical(&first);
    let incoming = Incoming {
        json: &request,
        headers: &headers,
    };
    let stub = match choose(&stubs, &method, &incoming) {
        Ok(stub) => stub.clone(),
        Err(status) => {
            entry.request(&first);
            return fail(&mock, entry, status);
        }
    };
    let mut head = HeaderMap::new();
    let count = stub.calls.load(Ordering::Relaxed) + 1;
    answer::headers(
        &stub.then.headers,
        &Scope {
            request: &request,
            headers: &headers,
            count,
        },
        &mut head,
    );
    let (response, out) = Answer::start(head);
    tokio::spawn(async move {
        let mut trailers = HeaderMap::new();
        let mut next: Option<(DynamicMessage, Value, Arc<Stub>)> = Some((first, request, stub));
        let status = loop {
            let Some((message, request, stub)) = next.take() else {
                break Status::ok("");
            };
            entry.request(&message);
            let count = stub.calls.fetch_add(1, Ordering::Relaxed) + 1;
            let scope = Scope {
                request: &request,
                headers: &headers,
                count,
            };
            let names = entry.stub.get_or_insert_with(String::new);
            if !names.split(", ").any(|n| n == stub.name()) {
                if !names.is_empty() {
                    names.push_str(", ");
                }
                names.push_str(&stub.name());
            }
            answer::headers(&stub.then.trailers, &scope, &mut trailers);
            let status = send(&stub, &method, &scope, &out, &mut entry).await;
            if status.code() != tonic::Code::Ok || out.is_gone() {
                break status;
            }
            match requests.next().await {
                Ok(Some((_, message))) => {
                    let request = canonical(&message);
                    let incoming = Incoming {
                        json: &request,
                        headers: &headers,
                    };
                    match choose(&stubs, &method, &incoming).cloned() {
                        Ok(stub) => next = Some((message, request, stub)),
                        Err(status) => {
                            entry.request(&message);
                            break status;
                        }
                    }
                }
                Ok(None) => break Status::ok(""),
                Err(status) => break status,
            }
        };
        if !out.is_gone() {
            out.end(&status, trailers).await;
        }
        entry.finish(mock.log.as_ref(), &status);
    });
    response
}

/// Ends a call before any answer, logged.
fn fail(mock: &Mock, entry: Entry, status: Status) -> http::Response<Body> {
    entry.finish(mock.log.as_ref(), &status);
    trailers_only(&status, HeaderMap::new())
}

/// The first stub (by priority, then file order) that applies, or
/// UNIMPLEMENTED naming the nearest ones and why each did not apply.
fn choose<'a>(
    stubs: &'a StubSet,
    method: &MethodDescriptor,
    incoming: &Incoming<'_>,
) -> Result<&'a Arc<Stub>, Status> {
    let path = method_path(method);
    let candidates = stubs.for_path(&path);
    let mut misses = Vec::with_capacity(candidates.len());
    for stub in candidates {
        let why = stub.when.misses(incoming);
        if why.is_empty() {
            return Ok(stub);
        }
        misses.push((stub, why));
    }
    let name = path.trim_start_matches('/');
    if misses.is_empty() {
        let known = stubs.methods();
        let hint = match known.len() {
            0 => "no stubs are loaded".to_string(),
            _ => format!(
                "stubs are loaded for {}",
                known.iter().take(5).cloned().collect::<Vec<_>>().join(", ")
            ),
        };
        return Err(Status::unimplemented(format!(
            "no stub for {name} ({hint})"
        )));
    }
    // Nearest first: the fewest conditions that failed, then the most
    // that held.
    misses.sort_by_key(|(stub, why)| {
        let held = stub.when.conditions().saturating_sub(why.len());
        (why.len(), std::cmp::Reverse(held))
    });
    let reasons: Vec<String> = misses
        .iter()
        .take(3)
        .map(|(stub, why)| {
            let more = match why.len() {
                1 => String::new(),
                n => format!(" (and {} more)", n - 1),
            };
            format!("stub {}: {}{more}", stub.name(), why[0])
        })
        .collect();
    let others = match misses.len() {
        n if n > 3 => format!("; {} more stubs", n - 3),
        _ => String::new(),
    };
    Err(Status::unimplemented(format!(
        "no stub applies to {name}: {}{others}",
        reasons.join("; ")
    )))
}
