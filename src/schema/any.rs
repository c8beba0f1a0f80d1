//! `google.protobuf.Any`: which message types an input or a response names,
//! so that reflection can fetch them before JSON is parsed or printed.

use prost_reflect::{DynamicMessage, MessageDescriptor, ReflectMessage, Value};

use crate::status::type_name;

const ANY: &str = "google.protobuf.Any";

/// True when a message of this type can hold an Any somewhere inside.
pub fn may_contain_any(desc: &MessageDescriptor) -> bool {
    super::graph::reachable(std::slice::from_ref(desc)).any(|m| m.full_name() == ANY)
}

/// The type names of every Any in a message, nested Anys included.
pub fn types_in_message(message: &DynamicMessage, out: &mut Vec<String>) {
    if message.descriptor().full_name() == ANY {
        if let Some(Value::String(url)) = message.get_field_by_number(1).as_deref() {
            out.push(type_name(url).to_string());
        }
        if let (Some(name), Some(Value::Bytes(bytes))) =
            (out.last(), message.get_field_by_number(2).as_deref())
            && let Some(desc) = message.descriptor().parent_pool().get_message_by_name(name)
            && let Ok(inner) = DynamicMessage::decode(desc, bytes.clone())
        {
            types_in_message(&inner, out);
        }
        return;
    }
    for (_, value) in message.fields() {
        types_in_value(value, out);
    }
}

fn types_in_value(value: &Value, out: &mut Vec<String>) {
    match value {
        Value::Message(inner) => types_in_message(inner, out),
        Value::List(items) => items.iter().for_each(|v| types_in_value(v, out)),
        Value::Map(map) => map.values().for_each(|v| types_in_value(v, out)),
        _ => {}
    }
}

/// The type names the Anys of one input message name, JSON or text.
pub fn types_in_input(chunk: &crate::input::Chunk) -> Vec<String> {
    match chunk.format {
        crate::cli::InputFormat::Json => types_in_json(&chunk.bytes),
        crate::cli::InputFormat::Text => types_in_text(&chunk.bytes),
    }
}

/// The type names in every `"@type"` of a JSON input. Cheap when there is
/// none: the bytes are only parsed when they contain `"@type"`.
pub fn types_in_json(bytes: &[u8]) -> Vec<String> {
    let mut out = Vec::new();
    if !crate::scan::contains(bytes, b"\"@type\"") {
        return out;
    }
    if let Ok(value) = serde_json::from_slice::<serde_json::Value>(bytes) {
        walk_json(&value, &mut out);
    }
    out
}

fn walk_json(value: &serde_json::Value, out: &mut Vec<String>) {
    match value {
        serde_json::Value::Object(map) => {
            if let Some(serde_json::Value::String(url)) = map.get("@type") {
                out.push(type_name(url).to_string());
            }
            map.values().for_each(|v| walk_json(v, out));
        }
        serde_json::Value::Array(items) => items.iter().for_each(|v| walk_json(v, out)),
        _ => {}
    }
}

/// The type names of every expanded Any (`[type.googleapis.com/pkg.Msg]
/// {…}`) of a text format input. Cheap when there is none: only bracketed
/// names with a `/` count.
pub fn types_in_text(bytes: &[u8]) -> Vec<String> {
    let url_char = |c: char| c.is_ascii_alphanumeric() || "._-/".contains(c);
    crate::scan::bracketed(bytes)
        .filter(|name| name.contains('/') && name.chars().all(url_char))
        .map(|name| type_name(name).to_string())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_types_in_json() {
        let json = br#"{"a":{"@type":"type.googleapis.com/x.Y","v":[{"@type":"z.W"}]}}"#;
        assert_eq!(types_in_json(json), ["x.Y", "z.W"]);
        assert!(types_in_json(br#"{"a":"@type"}"#).is_empty());
    }

    #[test]
    fn finds_types_in_text() {
        let text = b"a { [type.googleapis.com/x.Y] { v: 1 } } [pkg.ext]: 2 s: \"[no]\"";
        assert_eq!(types_in_text(text), ["x.Y"]);
    }
}
