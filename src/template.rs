//! JSON request templates: a skeleton of a message with every field present,
//! that `grpcx call` accepts as is.
//!
//! Repeated fields and maps hold one element; nested messages are filled in,
//! except where a type recurs inside itself (`{}` there); well-known types
//! take their JSON forms. A oneof shows only its first member, because the
//! JSON mapping rejects two members of one oneof.

use prost_reflect::{FieldDescriptor, Kind, MessageDescriptor};
use serde::ser::{Serialize, Serializer};
use serde_json::{Value, json};

/// The template for a message type.
pub fn for_message(message: &MessageDescriptor) -> Node {
    message_value(message, message.full_name(), &mut Vec::new())
}

/// A JSON value whose objects keep their fields in declaration order
/// (serde_json's own map sorts them).
#[derive(Debug, Clone, PartialEq)]
pub enum Node {
    Leaf(Value),
    Object(Vec<(String, Node)>),
    Array(Vec<Node>),
}

impl Serialize for Node {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self {
            Node::Leaf(value) => value.serialize(serializer),
            Node::Object(fields) => serializer.collect_map(fields.iter().map(|(k, v)| (k, v))),
            Node::Array(items) => serializer.collect_seq(items),
        }
    }
}

/// `root` names a type that is surely in the pool, for Any's `@type`.
fn message_value(message: &MessageDescriptor, root: &str, stack: &mut Vec<String>) -> Node {
    if let Some(value) = well_known(message, root) {
        return Node::Leaf(value);
    }
    if stack.iter().any(|name| name == message.full_name()) {
        return Node::Object(Vec::new());
    }
    stack.push(message.full_name().to_string());
    let mut map = Vec::new();
    for field in message.fields() {
        if let Some(oneof) = field.containing_oneof().filter(|o| !o.is_synthetic())
            && oneof.fields().next().as_ref() != Some(&field)
        {
            continue;
        }
        map.push((
            field.json_name().to_string(),
            field_value(&field, root, stack),
        ));
    }
    stack.pop();
    Node::Object(map)
}

fn field_value(field: &FieldDescriptor, root: &str, stack: &mut Vec<String>) -> Node {
    if field.is_map()
        && let Kind::Message(entry) = field.kind()
    {
        let key = match entry.map_entry_key_field().kind() {
            Kind::Bool => "false",
            Kind::String => "key",
            _ => "0",
        };
        let value = single(&entry.map_entry_value_field().kind(), root, stack);
        return Node::Object(vec![(key.to_string(), value)]);
    }
    if !field.is_list()
        && field.field_descriptor_proto().default_value.is_some()
        && let Some(value) = explicit_default(field)
    {
        return Node::Leaf(value);
    }
    let value = single(&field.kind(), root, stack);
    if field.is_list() {
        Node::Array(vec![value])
    } else {
        value
    }
}

/// A proto2 field's `[default = …]` in its JSON form.
fn explicit_default(field: &FieldDescriptor) -> Option<Value> {
    use base64::Engine as _;
    use prost_reflect::Value as V;
    let float = |f: f64| {
        if f.is_finite() {
            json!(f)
        } else {
            json!(crate::transcode::non_finite(f))
        }
    };
    Some(match field.default_value() {
        V::Bool(b) => json!(b),
        V::I32(n) => json!(n),
        V::U32(n) => json!(n),
        V::I64(n) => json!(n.to_string()),
        V::U64(n) => json!(n.to_string()),
        V::F32(f) => float(f64::from(f)),
        V::F64(f) => float(f),
        V::String(text) => json!(text),
        V::Bytes(bytes) => json!(base64::prelude::BASE64_STANDARD.encode(bytes)),
        V::EnumNumber(n) => match field.kind().as_enum().and_then(|e| e.get_value(n)) {
            Some(value) => json!(value.name()),
            None => json!(n),
        },
        _ => return None,
    })
}

fn single(kind: &Kind, root: &str, stack: &mut Vec<String>) -> Node {
    let leaf = match kind {
        Kind::Double | Kind::Float => json!(0.0),
        Kind::Int32 | Kind::Sint32 | Kind::Sfixed32 | Kind::Uint32 | Kind::Fixed32 => json!(0),
        // 64-bit integers are strings in the JSON mapping.
        Kind::Int64 | Kind::Sint64 | Kind::Sfixed64 | Kind::Uint64 | Kind::Fixed64 => json!("0"),
        Kind::Bool => json!(false),
        Kind::String | Kind::Bytes => json!(""),
        Kind::Enum(e) if e.full_name() == "google.protobuf.NullValue" => Value::Null,
        Kind::Enum(e) => e.values().next().map_or(json!(0), |v| json!(v.name())),
        Kind::Message(m) => return message_value(m, root, stack),
    };
    Node::Leaf(leaf)
}

const EMPTY: &str = "google.protobuf.Empty";

/// The JSON form of a well-known type's default.
fn well_known(message: &MessageDescriptor, root: &str) -> Option<Value> {
    Some(match message.full_name() {
        "google.protobuf.Timestamp" => json!("1970-01-01T00:00:00Z"),
        "google.protobuf.Duration" => json!("0s"),
        "google.protobuf.FieldMask" => json!(""),
        "google.protobuf.Struct" => json!({}),
        "google.protobuf.ListValue" => json!([]),
        "google.protobuf.Value" => Value::Null,
        "google.protobuf.Empty" => json!({}),
        // An Any must name a type the schema has; the template's own type
        // always qualifies, and shows where the packed fields go.
        "google.protobuf.Any" if root != "google.protobuf.Any" => {
            json!({ "@type": format!("type.googleapis.com/{root}") })
        }
        // A bare Any as the request: Empty when the schema has it.
        "google.protobuf.Any" => match message.parent_pool().get_message_by_name(EMPTY) {
            Some(_) => json!({ "@type": format!("type.googleapis.com/{EMPTY}"), "value": {} }),
            None => json!({ "@type": "" }),
        },
        "google.protobuf.DoubleValue" | "google.protobuf.FloatValue" => json!(0.0),
        "google.protobuf.Int64Value" | "google.protobuf.UInt64Value" => json!("0"),
        "google.protobuf.Int32Value" | "google.protobuf.UInt32Value" => json!(0),
        "google.protobuf.BoolValue" => json!(false),
        "google.protobuf.StringValue" | "google.protobuf.BytesValue" => json!(""),
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use prost_reflect::{DescriptorPool, DeserializeOptions, DynamicMessage};

    /// The template of every test type parses back as that type.
    #[test]
    fn templates_parse_back() {
        let pool = DescriptorPool::decode(crate::server::FILE_DESCRIPTOR_SET).unwrap();
        for message in pool.all_messages().filter(|m| !m.is_map_entry()) {
            let template = serde_json::to_string(&for_message(&message)).unwrap();
            let mut de = serde_json::Deserializer::from_str(&template);
            DynamicMessage::deserialize_with_options(
                message.clone(),
                &mut de,
                &DeserializeOptions::new(),
            )
            .unwrap_or_else(|e| panic!("{}: {e}: {template}", message.full_name()));
        }
    }

    #[test]
    fn recursion_stops_and_oneofs_show_one_member() {
        let pool = DescriptorPool::decode(crate::server::FILE_DESCRIPTOR_SET).unwrap();
        let everything = pool
            .get_message_by_name("grpcx.test.v1.Everything")
            .unwrap();
        let t = serde_json::to_value(for_message(&everything)).unwrap();
        assert_eq!(t["child"], json!({}));
        assert_eq!(t["fMessage"], json!({"name": "", "value": 0}));
        assert_eq!(t["rMessage"], json!([{"name": "", "value": 0}]));
        assert_eq!(t["mInt64Inner"], json!({"0": {"name": "", "value": 0}}));
        assert_eq!(t["wTimestamp"], json!("1970-01-01T00:00:00Z"));
        assert_eq!(t["wDuration"], json!("0s"));
        assert!(t.get("oString").is_some() && t.get("oMessage").is_none());
        assert!(t.get("optInt32").is_some());
    }
}
