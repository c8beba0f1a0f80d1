//! A stub's `then`, made concrete for one call: the templates filled in,
//! messages encoded as the method's output type, the status with its
//! details as `grpc-status-details-bin`.
//!
//! The template language is three placeholders, in any string of `then`:
//!
//! | placeholder | is |
//! |---|---|
//! | `{{request.FIELD.PATH}}` | a field of the request (dotted; list elements by index; a client stream's request is `{"messages": [...]}`) |
//! | `{{header.NAME}}` | a request header |
//! | `{{count}}` | the calls this stub has answered, this one included (from 1) |
//!
//! A string that is one placeholder and nothing else takes the value
//! itself (a number stays a number, an object an object); inside other
//! text the value is written as text. Something absent is empty (or null).

use bytes::Bytes;
use http::{HeaderMap, HeaderName, HeaderValue};
use prost::Message as _;
use prost_reflect::{DescriptorPool, DynamicMessage, MessageDescriptor};
use serde_json::Value;
use tonic::{Code, Status};

use super::shape::{lookup, parse_message};
use crate::status::{RpcStatus, builtin_pool};

/// What a placeholder may read.
pub struct Scope<'a> {
    pub request: &'a Value,
    pub headers: &'a HeaderMap,
    pub count: u64,
}

/// A status a stub ends a call with.
#[derive(Debug)]
pub struct StatusAnswer {
    pub code: Code,
    pub message: Template,
    /// Typed JSON, each with its "@type".
    pub details: Vec<Value>,
}

/// JSON whose strings may hold placeholders, checked when the stub loads.
#[derive(Debug, Clone)]
pub struct Template(Value);

enum Placeholder<'a> {
    Request(&'a str),
    Header(&'a str),
    Count,
}

fn parse(expr: &str) -> Result<Placeholder<'_>, String> {
    let expr = expr.trim();
    if expr == "count" {
        return Ok(Placeholder::Count);
    }
    if expr == "request" {
        return Ok(Placeholder::Request(""));
    }
    if let Some(path) = expr.strip_prefix("request.").filter(|p| !p.is_empty()) {
        return Ok(Placeholder::Request(path));
    }
    if let Some(name) = expr.strip_prefix("header.").filter(|n| !n.is_empty()) {
        return Ok(Placeholder::Header(name));
    }
    Err(format!(
        "unknown placeholder {{{{{expr}}}}}: use {{{{request.FIELD}}}}, {{{{header.NAME}}}} or {{{{count}}}}"
    ))
}

/// The pieces of a string: text, and placeholders between `{{` and `}}`.
fn pieces(text: &str) -> Result<Vec<(bool, &str)>, String> {
    let mut out = Vec::new();
    let mut rest = text;
    while let Some(start) = rest.find("{{") {
        if start > 0 {
            out.push((false, &rest[..start]));
        }
        let after = &rest[start + 2..];
        let end = after
            .find("}}")
            .ok_or_else(|| format!("{text:?}: a {{{{ without its }}}}"))?;
        parse(&after[..end])?;
        out.push((true, &after[..end]));
        rest = &after[end + 2..];
    }
    if !rest.is_empty() {
        out.push((false, rest));
    }
    Ok(out)
}

fn whole(text: &str) -> Option<&str> {
    let inner = text.strip_prefix("{{")?.strip_suffix("}}")?;
    (!inner.contains("{{") && !inner.contains("}}")).then_some(inner)
}

impl Template {
    /// Checks every placeholder in `value`'s strings.
    pub fn compile(value: Value) -> Result<Template, String> {
        fn walk(value: &Value) -> Result<(), String> {
            match value {
                Value::String(s) => pieces(s).map(drop),
                Value::Array(items) => items.iter().try_for_each(walk),
                Value::Object(map) => map.values().try_for_each(walk),
                _ => Ok(()),
            }
        }
        walk(&value)?;
        Ok(Template(value))
    }

    /// The value with each lone placeholder left out, to check the rest
    /// against the schema before any request fills it in.
    pub fn probe(&self) -> Value {
        fn walk(value: &Value) -> Option<Value> {
            match value {
                Value::String(s) if whole(s).is_some() => None,
                Value::Array(items) => Some(Value::Array(items.iter().filter_map(walk).collect())),
                Value::Object(map) => Some(Value::Object(
                    map.iter()
                        .filter_map(|(k, v)| Some((k.clone(), walk(v)?)))
                        .collect(),
                )),
                other => Some(other.clone()),
            }
        }
        walk(&self.0).unwrap_or(Value::Null)
    }

    /// The value with every placeholder filled in.
    pub fn render(&self, scope: &Scope<'_>) -> Value {
        fn walk(value: &Value, scope: &Scope<'_>) -> Value {
            match value {
                Value::String(s) => render_string(s, scope),
                Value::Array(items) => Value::Array(items.iter().map(|v| walk(v, scope)).collect()),
                Value::Object(map) => Value::Object(
                    map.iter()
                        .map(|(k, v)| (k.clone(), walk(v, scope)))
                        .collect(),
                ),
                other => other.clone(),
            }
        }
        walk(&self.0, scope)
    }

    /// The filled-in value as text (for headers and status messages).
    pub fn text(&self, scope: &Scope<'_>) -> String {
        match self.render(scope) {
            Value::String(s) => s,
            Value::Null => String::new(),
            other => other.to_string(),
        }
    }
}

fn value_of(placeholder: &Placeholder<'_>, scope: &Scope<'_>) -> Value {
    match placeholder {
        Placeholder::Count => Value::from(scope.count),
        Placeholder::Request("") => scope.request.clone(),
        Placeholder::Request(path) => lookup(scope.request, path).cloned().unwrap_or(Value::Null),
        Placeholder::Header(name) => scope
            .headers
            .get(name.to_ascii_lowercase().as_str())
            .and_then(|v| v.to_str().ok())
            .map_or(Value::Null, |v| Value::String(v.to_string())),
    }
}

fn render_string(text: &str, scope: &Scope<'_>) -> Value {
    if !text.contains("{{") {
        return Value::String(text.to_string());
    }
    if let Some(expr) = whole(text)
        && let Ok(placeholder) = parse(expr)
    {
        return value_of(&placeholder, scope);
    }
    let mut out = String::new();
    for (is_placeholder, piece) in pieces(text).unwrap_or_default() {
        if !is_placeholder {
            out.push_str(piece);
            continue;
        }
        match parse(piece).map(|p| value_of(&p, scope)) {
            Ok(Value::String(s)) => out.push_str(&s),
            Ok(Value::Null) | Err(_) => {}
            Ok(other) => out.push_str(&other.to_string()),
        }
    }
    Value::String(out)
}

/// A message of `then`, filled in and encoded as `desc`.
pub fn message(
    template: &Template,
    desc: &MessageDescriptor,
    scope: &Scope<'_>,
) -> Result<Bytes, String> {
    let value = template.render(scope);
    let message = parse_message(desc, &value).map_err(|f| f.message)?;
    Ok(message.encode_to_vec().into())
}

/// Headers (or trailers) of `then`, filled in.
pub fn headers(pairs: &[(String, Template)], scope: &Scope<'_>, into: &mut HeaderMap) {
    for (name, template) in pairs {
        let (Ok(name), Ok(value)) = (
            HeaderName::from_bytes(name.as_bytes()),
            HeaderValue::from_str(&template.text(scope)),
        ) else {
            continue;
        };
        into.append(name, value);
    }
}

/// The status of `then`, with its details.
pub fn status(answer: &StatusAnswer, pool: &DescriptorPool, scope: &Scope<'_>) -> Status {
    let message = answer.message.text(scope);
    if answer.details.is_empty() {
        return Status::new(answer.code, message);
    }
    let details: Vec<prost_types::Any> = answer
        .details
        .iter()
        .filter_map(|d| detail(d, pool).ok())
        .collect();
    let encoded = RpcStatus {
        code: answer.code as i32,
        message: message.clone(),
        details,
    }
    .encode_to_vec();
    Status::with_details(answer.code, message, encoded.into())
}

/// A detail must be typed JSON whose "@type" the schema or google.rpc
/// knows.
pub fn check_detail(value: &Value, pool: &DescriptorPool) -> Result<(), String> {
    detail(value, pool).map(drop)
}

/// A detail as an Any: by protobuf's JSON for Any where the type's pool
/// has Any, else the type's fields beside "@type".
fn detail(value: &Value, pool: &DescriptorPool) -> Result<prost_types::Any, String> {
    let type_url = value
        .get("@type")
        .and_then(Value::as_str)
        .ok_or("a detail is typed JSON with an \"@type\", such as type.googleapis.com/google.rpc.ErrorInfo")?;
    let name = type_url.rsplit('/').next().unwrap_or(type_url);
    for pool in [builtin_pool(), pool] {
        let Some(desc) = pool.get_message_by_name(name) else {
            continue;
        };
        if let Some(any) = pool.get_message_by_name("google.protobuf.Any") {
            let message = DynamicMessage::deserialize(any, value)
                .map_err(|e| format!("detail {name}: {e}"))?;
            return message
                .transcode_to::<prost_types::Any>()
                .map_err(|e| format!("detail {name}: {e}"));
        }
        let mut fields = value.as_object().cloned().unwrap_or_default();
        fields.remove("@type");
        let message = DynamicMessage::deserialize(desc, Value::Object(fields))
            .map_err(|e| format!("detail {name}: {e}"))?;
        return Ok(prost_types::Any {
            type_url: type_url.to_string(),
            value: message.encode_to_vec(),
        });
    }
    Err(format!(
        "detail type {name} is in neither the schema nor google.rpc's error details"
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn scope<'a>(request: &'a Value, headers: &'a HeaderMap) -> Scope<'a> {
        Scope {
            request,
            headers,
            count: 3,
        }
    }

    #[test]
    fn placeholders_fill_in_values_and_text() {
        let mut headers = HeaderMap::new();
        headers.insert("x-team", HeaderValue::from_static("blue"));
        let request = json!({"id": "o-1", "n": 7, "items": [{"sku": "a"}]});
        let template = Template::compile(json!({
            "orderId": "{{request.id}}",
            "n": "{{ request.n }}",
            "note": "{{header.x-team}} #{{count}}, {{request.items.0.sku}}{{request.none}}",
        }))
        .unwrap();
        assert_eq!(
            template.render(&scope(&request, &headers)),
            json!({"orderId": "o-1", "n": 7, "note": "blue #3, a"})
        );
        assert_eq!(
            template.probe(),
            json!({"note": "{{header.x-team}} #{{count}}, {{request.items.0.sku}}{{request.none}}"})
        );
    }

    #[test]
    fn unknown_placeholders_are_refused() {
        let err = Template::compile(json!({"a": "{{requests.id}}"})).unwrap_err();
        assert!(err.contains("unknown placeholder {{requests.id}}"), "{err}");
        let err = Template::compile(json!("{{count")).unwrap_err();
        assert!(err.contains("without its"), "{err}");
    }
}
