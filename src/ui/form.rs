//! What the page needs to know of the schema, as JSON: the services and
//! methods (with their kinds and comments), and for a message type the form
//! schema the page builds its form from.
//!
//! A form schema is a dictionary of every message and enum type reachable
//! from the root, so that recursive types are plain references; the page
//! expands a nested message only when asked. The well-known types are sent
//! by name only: the page gives each its own input (Timestamp, Duration,
//! wrappers, Struct/Value, Any with a type picker), in its JSON form.

use std::collections::{BTreeMap, HashMap};

use prost_reflect::{
    DescriptorPool, FieldDescriptor, FileDescriptor, Kind, MessageDescriptor, ServiceDescriptor,
};
use serde_json::{Map, Value, json};

/// A service and its methods, for the list.
pub fn service(service: &ServiceDescriptor, comments: &mut Comments) -> Value {
    let methods: Vec<Value> = service
        .methods()
        .map(|m| {
            json!({
                "name": m.name(),
                "path": format!("{}/{}", service.full_name(), m.name()),
                "kind": crate::schema::method_kind(&m),
                "input": m.input().full_name(),
                "output": m.output().full_name(),
                "comments": comments.get(&m.parent_file(), m.path()),
            })
        })
        .collect();
    json!({
        "name": service.full_name(),
        "comments": comments.get(&service.parent_file(), service.path()),
        "methods": methods,
    })
}

/// The form schema of `root`: `{"root", "messages": {name: {...}}, "enums":
/// {name: [values]}}`.
pub fn schema(root: &MessageDescriptor, comments: &mut Comments) -> Value {
    let mut messages = BTreeMap::new();
    let mut enums = BTreeMap::new();
    let mut todo = vec![root.clone()];
    while let Some(message) = todo.pop() {
        if messages.contains_key(message.full_name()) {
            continue;
        }
        let mut fields = Vec::new();
        for field in message.fields() {
            let mut value = field_json(&field, comments);
            for kind in kinds(&field) {
                match kind {
                    Kind::Message(m) if !is_well_known(m.full_name()) => todo.push(m),
                    Kind::Enum(e) => {
                        enums.entry(e.full_name().to_string()).or_insert_with(|| {
                            e.values()
                                .map(|v| Value::String(v.name().to_string()))
                                .collect::<Vec<_>>()
                        });
                    }
                    _ => {}
                }
            }
            if let Some(oneof) = field.containing_oneof().filter(|o| !o.is_synthetic()) {
                value["oneof"] = json!(oneof.name());
            }
            fields.push(value);
        }
        messages.insert(
            message.full_name().to_string(),
            json!({
                "fields": fields,
                "comments": comments.get(&message.parent_file(), message.path()),
            }),
        );
    }
    json!({ "root": root.full_name(), "messages": messages, "enums": enums })
}

/// The names of every message type in the pool, for an Any's type picker.
pub fn message_names(pool: &DescriptorPool) -> Vec<String> {
    let mut names: Vec<String> = pool
        .all_messages()
        .filter(|m| !m.is_map_entry())
        .map(|m| m.full_name().to_string())
        .collect();
    names.sort();
    names
}

/// The kinds a field holds: its own, or a map's key and value.
fn kinds(field: &FieldDescriptor) -> Vec<Kind> {
    match field.kind() {
        Kind::Message(entry) if field.is_map() => vec![
            entry.map_entry_key_field().kind(),
            entry.map_entry_value_field().kind(),
        ],
        kind => vec![kind],
    }
}

fn field_json(field: &FieldDescriptor, comments: &mut Comments) -> Value {
    let mut out = Map::new();
    out.insert("name".into(), json!(field.name()));
    out.insert("json".into(), json!(field.json_name()));
    out.insert("number".into(), json!(field.number()));
    if field.is_map() {
        let Kind::Message(entry) = field.kind() else {
            unreachable!("a map field's kind is its entry message")
        };
        out.insert("map".into(), json!(true));
        out.insert("key".into(), kind_json(&entry.map_entry_key_field().kind()));
        out.insert(
            "value".into(),
            kind_json(&entry.map_entry_value_field().kind()),
        );
    } else {
        out.insert("repeated".into(), json!(field.is_list()));
        out.insert("type".into(), kind_json(&field.kind()));
    }
    if field.supports_presence() && field.containing_oneof().is_some() {
        out.insert("optional".into(), json!(true));
    }
    let comment = comments.get(&field.parent_message().parent_file(), field.path());
    if !comment.is_empty() {
        out.insert("comments".into(), json!(comment));
    }
    Value::Object(out)
}

/// A kind as the page names it: a scalar's proto name, or
/// `{"message": name}` / `{"enum": name}`.
fn kind_json(kind: &Kind) -> Value {
    match kind {
        Kind::Message(m) => json!({ "message": m.full_name() }),
        Kind::Enum(e) => json!({ "enum": e.full_name() }),
        // prost-reflect's `Debug` writes a scalar's .proto keyword.
        scalar => json!(format!("{scalar:?}")),
    }
}

/// The well-known types the page shows in their own shapes.
fn is_well_known(name: &str) -> bool {
    name.starts_with("google.protobuf.")
        && matches!(
            &name["google.protobuf.".len()..],
            "Timestamp"
                | "Duration"
                | "Any"
                | "Struct"
                | "Value"
                | "ListValue"
                | "FieldMask"
                | "Empty"
                | "DoubleValue"
                | "FloatValue"
                | "Int64Value"
                | "UInt64Value"
                | "Int32Value"
                | "UInt32Value"
                | "BoolValue"
                | "StringValue"
                | "BytesValue"
        )
}

/// Leading comments by file and element path, read once per file.
#[derive(Default)]
pub struct Comments {
    files: HashMap<String, HashMap<Vec<i32>, String>>,
}

impl Comments {
    /// The leading comment of the element at `path`, trimmed; `""` when the
    /// schema kept none (reflection and protosets seldom do).
    pub fn get(&mut self, file: &FileDescriptor, path: &[i32]) -> String {
        let comments = self
            .files
            .entry(file.name().to_string())
            .or_insert_with(|| {
                let Some(info) = &file.file_descriptor_proto().source_code_info else {
                    return HashMap::new();
                };
                info.location
                    .iter()
                    .filter(|l| l.leading_comments.is_some())
                    .map(|l| (l.path.clone(), l.leading_comments().trim().to_string()))
                    .collect()
            });
        comments.get(path).cloned().unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pool() -> DescriptorPool {
        DescriptorPool::decode(crate::server::FILE_DESCRIPTOR_SET).unwrap()
    }

    #[test]
    fn a_form_schema_names_every_type_it_reaches_once() {
        let pool = pool();
        let everything = pool
            .get_message_by_name("grpcx.test.v1.Everything")
            .unwrap();
        let schema = schema(&everything, &mut Comments::default());
        let messages = schema["messages"].as_object().unwrap();
        // The recursive `child` is a reference, the nested Inner is there,
        // and the well-known types are left to the page.
        assert!(messages.contains_key("grpcx.test.v1.Everything"));
        assert!(messages.contains_key("grpcx.test.v1.Everything.Inner"));
        assert!(!messages.contains_key("google.protobuf.Timestamp"));
        assert_eq!(
            schema["enums"]["grpcx.test.v1.Color"][1],
            json!("COLOR_RED")
        );
        let fields = messages["grpcx.test.v1.Everything"]["fields"]
            .as_array()
            .unwrap();
        let field = |name: &str| fields.iter().find(|f| f["name"] == name).unwrap();
        assert_eq!(field("f_int64")["type"], json!("int64"));
        assert_eq!(field("r_string")["repeated"], json!(true));
        assert_eq!(field("m_int64_inner")["key"], json!("int64"));
        assert_eq!(
            field("m_int64_inner")["value"],
            json!({"message": "grpcx.test.v1.Everything.Inner"})
        );
        assert_eq!(field("o_string")["oneof"], json!("choice"));
        assert_eq!(field("opt_int32")["optional"], json!(true));
        assert!(field("opt_int32").get("oneof").is_none());
    }

    #[test]
    fn methods_carry_their_kinds() {
        let pool = pool();
        let greeter = pool.get_service_by_name("helloworld.Greeter").unwrap();
        let listed = service(&greeter, &mut Comments::default());
        let kinds: Vec<&str> = listed["methods"]
            .as_array()
            .unwrap()
            .iter()
            .map(|m| m["kind"].as_str().unwrap())
            .collect();
        assert_eq!(
            kinds,
            [
                "unary",
                "server-streaming",
                "client-streaming",
                "bidi-streaming"
            ]
        );
        assert_eq!(
            listed["methods"][0]["path"],
            json!("helloworld.Greeter/SayHello")
        );
    }
}
