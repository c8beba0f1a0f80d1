//! A stub's `when`: which calls it applies to, and, when it does not, why.
//!
//! Requests are matched as JSON in one canonical form: protobuf's JSON with
//! lowerCamel names and every field that has no presence written out (so
//! `{"count": 0}` matches a request that left count unset). The values a
//! stub gives go through the same form when it is loaded, so `"5"` and `5`
//! for an int64, or `snake_name` and `snakeName`, are the same.
//! A client stream is matched as `{"messages": [...]}`.

use prost_reflect::{DynamicMessage, Kind, MessageDescriptor, MethodDescriptor, SerializeOptions};
use regex_lite::Regex;
use serde_json::{Map, Value};

use super::shape::{Fault, lookup, method_name, parse_message};

/// The conditions of one stub; all that are given must hold.
#[derive(Debug, Default)]
pub struct When {
    equals: Option<Value>,
    contains: Option<Value>,
    matches: Vec<(String, Regex)>,
    headers: Vec<(String, String)>,
}

/// A request as the matcher sees it: its canonical JSON and its headers.
pub struct Incoming<'a> {
    pub json: &'a Value,
    pub headers: &'a http::HeaderMap,
}

/// The canonical JSON of a message (see the module's notes).
pub fn canonical(message: &DynamicMessage) -> Value {
    let options = SerializeOptions::new().skip_default_fields(false);
    message
        .serialize_with_options(serde_json::value::Serializer, &options)
        .unwrap_or(Value::Null)
}

impl When {
    /// Checks `when` against the method's request type.
    pub fn compile(value: &Value, method: &MethodDescriptor) -> Result<When, Fault> {
        let Value::Object(map) = value else {
            return Err(Fault::at(
                "when",
                "when is an object of equals, contains, matches, headers",
            ));
        };
        let mut when = When::default();
        for (key, value) in map {
            match key.as_str() {
                "equals" => when.equals = Some(request_value(value, method, false)?),
                "contains" => when.contains = Some(request_value(value, method, true)?),
                "matches" => {
                    let Value::Object(paths) = value else {
                        return Err(Fault::at("matches", "matches maps a field path to a regex"));
                    };
                    for (path, pattern) in paths {
                        let Value::String(pattern) = pattern else {
                            return Err(Fault::at(
                                path,
                                format!("matches.{path}: the regex is a string"),
                            ));
                        };
                        check_path(path, method)?;
                        let regex = Regex::new(pattern).map_err(|e| {
                            Fault::at(
                                path,
                                format!("matches.{path}: not a regex: {}", one_line(&e)),
                            )
                        })?;
                        when.matches.push((path.clone(), regex));
                    }
                }
                "headers" => {
                    let Value::Object(headers) = value else {
                        return Err(Fault::at(
                            "headers",
                            "when.headers maps a header name to its value",
                        ));
                    };
                    for (name, wanted) in headers {
                        let Value::String(wanted) = wanted else {
                            return Err(Fault::at(
                                name,
                                format!("when.headers.{name}: the value is a string"),
                            ));
                        };
                        when.headers
                            .push((name.to_ascii_lowercase(), wanted.clone()));
                    }
                }
                other => {
                    return Err(Fault::at(
                        other,
                        format!("when has no rule {other:?} (equals, contains, matches, headers)"),
                    ));
                }
            }
        }
        Ok(when)
    }

    /// How many conditions there are (each header and regex is one).
    pub fn conditions(&self) -> usize {
        self.headers.len()
            + self.matches.len()
            + usize::from(self.equals.is_some())
            + usize::from(self.contains.is_some())
    }

    /// The conditions that do not hold for `request` (none: the stub
    /// applies), each as a reason.
    pub fn misses(&self, request: &Incoming<'_>) -> Vec<String> {
        let mut misses = Vec::new();
        for (name, wanted) in &self.headers {
            match request.headers.get(name).map(|v| v.to_str().unwrap_or("")) {
                None => misses.push(format!("header {name} is absent")),
                Some(value) if value != wanted => {
                    misses.push(format!("header {name} is {value:?}, not {wanted:?}"));
                }
                Some(_) => {}
            }
        }
        if let Some(equals) = &self.equals
            && equals != request.json
        {
            misses.push(match first_difference(equals, request.json, "") {
                Some(diff) => format!("equals: {diff}"),
                None => "equals: the request has other fields set".to_string(),
            });
        }
        if let Some(pattern) = &self.contains
            && let Some(diff) = first_difference(pattern, request.json, "")
        {
            misses.push(format!("contains: {diff}"));
        }
        for (path, regex) in &self.matches {
            let Some(value) = lookup(request.json, path) else {
                misses.push(format!("matches: {path} is absent"));
                continue;
            };
            let text = match value {
                Value::String(s) => s.clone(),
                other => other.to_string(),
            };
            if !regex.is_match(&text) {
                misses.push(format!(
                    "matches: {path} is {}, which /{}/ does not match",
                    short(value),
                    regex.as_str()
                ));
            }
        }
        misses
    }
}

fn one_line(err: &dyn std::fmt::Display) -> String {
    err.to_string()
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
}

/// A value short enough for a one-line reason.
fn short(value: &Value) -> String {
    let text = value.to_string();
    if text.chars().count() > 40 {
        format!("{}…", text.chars().take(40).collect::<String>())
    } else {
        text
    }
}

/// Where `pattern` is not within `actual`: objects by their keys, lists
/// element by element (the same length), anything else equal.
fn first_difference(pattern: &Value, actual: &Value, at: &str) -> Option<String> {
    let name = |key: &str| {
        if at.is_empty() {
            key.to_string()
        } else {
            format!("{at}.{key}")
        }
    };
    match (pattern, actual) {
        (Value::Object(want), Value::Object(have)) => {
            for (key, value) in want {
                match have.get(key) {
                    None => return Some(format!("{} is absent", name(key))),
                    Some(got) => {
                        if let Some(diff) = first_difference(value, got, &name(key)) {
                            return Some(diff);
                        }
                    }
                }
            }
            None
        }
        (Value::Array(want), Value::Array(have)) => {
            if want.len() != have.len() {
                return Some(format!(
                    "{} has {} elements, not {}",
                    if at.is_empty() { "the request" } else { at },
                    have.len(),
                    want.len()
                ));
            }
            want.iter()
                .zip(have)
                .enumerate()
                .find_map(|(i, (w, h))| first_difference(w, h, &name(&i.to_string())))
        }
        _ if pattern == actual => None,
        _ => Some(format!(
            "{} is {}, not {}",
            if at.is_empty() { "the request" } else { at },
            short(actual),
            short(pattern)
        )),
    }
}

/// Whether the method's request is matched as all its messages (a client
/// stream; a bidi stream is matched message by message).
fn collects(method: &MethodDescriptor) -> bool {
    method.is_client_streaming() && !method.is_server_streaming()
}

/// The request value of `equals` or `contains` in canonical form, checked
/// against the request type; a client stream's is `{"messages": [...]}`.
fn request_value(value: &Value, method: &MethodDescriptor, partial: bool) -> Result<Value, Fault> {
    let key = if partial { "contains" } else { "equals" };
    let input = method.input();
    if !collects(method) {
        return message_value(value, &input, partial, key);
    }
    let messages = match value {
        Value::Object(map) if map.len() == 1 && map.contains_key("messages") => &map["messages"],
        _ => {
            return Err(Fault::at(
                key,
                format!(
                    "{} is client-streaming: {key} is {{\"messages\": [...]}}",
                    method_name(method)
                ),
            ));
        }
    };
    let Value::Array(items) = messages else {
        return Err(Fault::at(key, format!("{key}.messages is a list")));
    };
    let items = items
        .iter()
        .map(|item| message_value(item, &input, partial, key))
        .collect::<Result<Vec<_>, _>>()?;
    let mut map = Map::new();
    map.insert("messages".to_string(), Value::Array(items));
    Ok(Value::Object(map))
}

fn message_value(
    value: &Value,
    desc: &MessageDescriptor,
    partial: bool,
    key: &str,
) -> Result<Value, Fault> {
    if !value.is_object() {
        return Err(Fault::at(
            key,
            format!("{key} is an object (a {} in JSON)", desc.full_name()),
        ));
    }
    let message = parse_message(desc, value)?;
    let full = canonical(&message);
    Ok(if partial {
        project(value, &full, desc)
    } else {
        full
    })
}

/// The canonical form of only the fields `written` gives.
fn project(written: &Value, full: &Value, desc: &MessageDescriptor) -> Value {
    let (Value::Object(written), Value::Object(full)) = (written, full) else {
        return full.clone();
    };
    let mut out = Map::new();
    for (key, value) in written {
        let Some(field) = desc
            .get_field_by_json_name(key)
            .or_else(|| desc.get_field_by_name(key))
        else {
            continue;
        };
        let json_name = field.json_name().to_string();
        let canonical = full.get(&json_name).cloned().unwrap_or(Value::Null);
        let projected = match field.kind() {
            Kind::Message(inner)
                if !field.is_map() && !inner.full_name().starts_with("google.protobuf.") =>
            {
                match (value, &canonical) {
                    (Value::Array(ws), Value::Array(cs)) => Value::Array(
                        ws.iter()
                            .zip(cs)
                            .map(|(w, c)| project(w, c, &inner))
                            .collect(),
                    ),
                    _ => project(value, &canonical, &inner),
                }
            }
            _ if field.is_map() => match (value, &canonical) {
                (Value::Object(w), Value::Object(c)) => Value::Object(
                    c.iter()
                        .filter(|(k, _)| w.contains_key(*k))
                        .map(|(k, v)| (k.clone(), v.clone()))
                        .collect(),
                ),
                _ => canonical,
            },
            _ => canonical,
        };
        out.insert(json_name, projected);
    }
    Value::Object(out)
}

/// A `matches` path must name fields of the request type (list indexes and
/// map keys pass).
fn check_path(path: &str, method: &MethodDescriptor) -> Result<(), Fault> {
    let mut segments = path.split('.').peekable();
    if collects(method) {
        if segments.next() != Some("messages") {
            return Err(Fault::at(
                path,
                format!("matches.{path}: a client stream's paths start at messages.N"),
            ));
        }
        if segments.peek().is_some_and(|s| s.parse::<usize>().is_ok()) {
            segments.next();
        }
    }
    let mut desc = Some(method.input());
    for segment in segments {
        let Some(message) = desc.take() else {
            continue;
        };
        if segment.parse::<usize>().is_ok() {
            desc = Some(message);
            continue;
        }
        let field = message
            .get_field_by_name(segment)
            .or_else(|| message.get_field_by_json_name(segment))
            .ok_or_else(|| {
                Fault::at(
                    path,
                    format!(
                        "matches.{path}: {} has no field {segment:?}",
                        message.full_name()
                    ),
                )
            })?;
        if let Kind::Message(inner) = field.kind()
            && !field.is_map()
        {
            desc = Some(inner);
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn contains_reads_objects_by_key_and_lists_by_element() {
        let have = json!({"a": 1, "b": {"c": "x", "d": [1, 2]}});
        assert_eq!(first_difference(&json!({"b": {"c": "x"}}), &have, ""), None);
        assert_eq!(
            first_difference(&json!({"b": {"c": "y"}}), &have, "").unwrap(),
            "b.c is \"x\", not \"y\""
        );
        assert_eq!(
            first_difference(&json!({"b": {"d": [1]}}), &have, "").unwrap(),
            "b.d has 2 elements, not 1"
        );
        assert_eq!(
            first_difference(&json!({"z": 1}), &have, "").unwrap(),
            "z is absent"
        );
    }

    #[test]
    fn paths_take_proto_names_and_indexes() {
        let root = json!({"userName": "ann", "items": [{"sku": "a"}]});
        assert_eq!(lookup(&root, "user_name"), Some(&json!("ann")));
        assert_eq!(lookup(&root, "items.0.sku"), Some(&json!("a")));
        assert_eq!(lookup(&root, "items.1.sku"), None);
    }
}
