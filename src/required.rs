//! proto2 `required` fields in request input: a message that lacks one does
//! not encode into anything the server will accept (most servers fail the
//! call with INTERNAL or INVALID_ARGUMENT and no hint), so grpcx refuses it
//! before sending, naming the field.

use prost_reflect::{Cardinality, DynamicMessage, ReflectMessage as _, Value};

/// The path of the first required field missing in `message` or in any
/// message inside it (`line[1].item`, `[pkg.ext].name`, `tags["k"].id`),
/// or `None` when every required field is set.
pub fn first_missing(message: &DynamicMessage) -> Option<String> {
    let desc = message.descriptor();
    for field in desc.fields() {
        if field.cardinality() == Cardinality::Required && !message.has_field(&field) {
            return Some(field.name().to_string());
        }
    }
    for (field, value) in message.fields() {
        if let Some(inner) = in_value(value) {
            return Some(format!("{}{inner}", field.name()));
        }
    }
    for (extension, value) in message.extensions() {
        if let Some(inner) = in_value(value) {
            return Some(format!("[{}]{inner}", extension.full_name()));
        }
    }
    None
}

/// The missing path inside a field's value, starting with its separator.
fn in_value(value: &Value) -> Option<String> {
    match value {
        Value::Message(inner) => first_missing(inner).map(|path| format!(".{path}")),
        Value::List(items) => items
            .iter()
            .enumerate()
            .find_map(|(i, item)| in_value(item).map(|path| format!("[{i}]{path}"))),
        Value::Map(entries) => entries
            .iter()
            .find_map(|(key, item)| in_value(item).map(|path| format!("[{}]{path}", map_key(key)))),
        _ => None,
    }
}

fn map_key(key: &prost_reflect::MapKey) -> String {
    match key {
        prost_reflect::MapKey::String(s) => format!("{s:?}"),
        prost_reflect::MapKey::Bool(b) => b.to_string(),
        prost_reflect::MapKey::I32(n) => n.to_string(),
        prost_reflect::MapKey::I64(n) => n.to_string(),
        prost_reflect::MapKey::U32(n) => n.to_string(),
        prost_reflect::MapKey::U64(n) => n.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use prost_reflect::DescriptorPool;

    fn pool() -> DescriptorPool {
        crate::testing::compile(&[(
            "r.proto",
            r#"syntax = "proto2"; package r;
               message Leaf { required int32 n = 1; }
               message Top {
                 required string id = 1;
                 optional Leaf one = 2;
                 repeated Leaf many = 3;
                 map<string, Leaf> by_name = 4;
                 extensions 100 to 200;
               }
               extend Top { optional Leaf ext = 100; }"#,
        )])
    }

    fn missing(json: &str) -> Option<String> {
        let pool = pool();
        let desc = pool.get_message_by_name("r.Top").unwrap();
        let mut de = serde_json::Deserializer::from_str(json);
        first_missing(&DynamicMessage::deserialize(desc, &mut de).unwrap())
    }

    #[test]
    fn the_path_to_the_first_missing_field_is_named() {
        for (json, path) in [
            ("{}", Some("id")),
            (r#"{"id": ""}"#, None),
            (r#"{"id": "", "one": {}}"#, Some("one.n")),
            (r#"{"id": "", "many": [{"n": 1}, {}]}"#, Some("many[1].n")),
            (
                r#"{"id": "", "byName": {"k": {}}}"#,
                Some("by_name[\"k\"].n"),
            ),
            (r#"{"id": "", "[r.ext]": {}}"#, Some("[r.ext].n")),
        ] {
            assert_eq!(missing(json).as_deref(), path, "{json}");
        }
    }
}
