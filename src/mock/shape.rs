//! The ground the rest of the mock stands on: methods by name, JSON as a
//! message of the schema, paths into JSON, and what is wrong with a stub
//! (a [`Fault`], with the key to point at).

use prost_reflect::{DynamicMessage, MessageDescriptor, MethodDescriptor};
use serde_json::Value;

/// What is wrong with one stub, and the key to point at.
pub struct Fault {
    pub key: Option<String>,
    pub message: String,
}

impl Fault {
    pub fn at(key: &str, message: impl Into<String>) -> Fault {
        Fault {
            key: Some(key.to_string()),
            message: message.into(),
        }
    }
}

/// `/pkg.Service/Method`, as the request's path names it.
pub fn method_path(method: &MethodDescriptor) -> String {
    format!("/{}/{}", method.parent_service().full_name(), method.name())
}

/// `pkg.Service/Method`, as stub files and messages name a method.
pub fn method_name(method: &MethodDescriptor) -> String {
    method_path(method).split_off(1)
}

/// JSON as a message of `desc`; the error names the field at fault.
pub fn parse_message(desc: &MessageDescriptor, value: &Value) -> Result<DynamicMessage, Fault> {
    let options = prost_reflect::DeserializeOptions::new();
    DynamicMessage::deserialize_with_options(desc.clone(), value, &options).map_err(|err| {
        let text = err.to_string();
        let key = text.split('\'').nth(1).or_else(|| text.split('"').nth(1));
        Fault {
            key: key.map(str::to_string),
            message: format!("does not fit {}: {text}", desc.full_name()),
        }
    })
}

/// The value at a dotted path: keys by their JSON or proto names, list
/// elements by index.
pub fn lookup<'a>(root: &'a Value, path: &str) -> Option<&'a Value> {
    let mut at = root;
    for segment in path.split('.') {
        at = match at {
            Value::Object(map) => map
                .get(segment)
                .or_else(|| map.get(&lower_camel(segment)))?,
            Value::Array(items) => items.get(segment.parse::<usize>().ok()?)?,
            _ => return None,
        };
    }
    Some(at)
}

/// protobuf's JSON name for a proto field name.
fn lower_camel(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    let mut upper = false;
    for c in name.chars() {
        if c == '_' {
            upper = true;
        } else if upper {
            out.push(c.to_ascii_uppercase());
            upper = false;
        } else {
            out.push(c);
        }
    }
    out
}
