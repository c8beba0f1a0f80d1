//! A request asked for field by field (as evans's `fill` does): each field
//! in declaration order, nested messages field by field, repeated fields
//! and maps until an empty line, enums with their names offered, a oneof as
//! a choice of its members, optional fields skippable, defaults shown.
//!
//! Each answer is checked at once against the schema, with the same JSON
//! mapping as `call` (an answer is a field's JSON value, quotes optional for
//! strings): a bad one says why and is asked again. The result is the JSON
//! request, which `call` then parses as if it had been typed.
//!
//! Keys: an empty line skips a field (or ends a list or map); Ctrl-D skips
//! the rest of the message being filled (and, at the first field of a
//! stream's message, ends the stream); Ctrl-C cancels the call.

use anyhow::Result;
use futures_util::future::BoxFuture;
use prost_reflect::{
    Cardinality, DeserializeOptions, DynamicMessage, FieldDescriptor, Kind, MessageDescriptor,
    OneofDescriptor, Value,
};
use serde_json::{Map, Value as Json};

use super::input::{Context, Input, Read};
use super::json_keys::is_special;
use crate::error::Interrupted;

/// What filling a message gave.
#[derive(Debug, Clone, PartialEq)]
pub enum Filled {
    Message(Json),
    /// Ctrl-D before any field: the end of a request stream.
    Ended,
}

/// Asks for a message of type `message`, field by field.
pub async fn fill(
    input: &mut Input,
    message: &MessageDescriptor,
    options: &DeserializeOptions,
) -> Result<Filled> {
    let mut asker = Asker {
        input,
        options: options.clone(),
        asked: 0,
    };
    match asker
        .message(message.clone(), String::new(), Vec::new())
        .await
    {
        Ok((fields, _)) => Ok(Filled::Message(Json::Object(fields))),
        Err(err) if err.is::<EndOfRequest>() => Ok(Filled::Ended),
        Err(err) => Err(err),
    }
}

/// One answer.
enum Answer {
    Text(String),
    /// An empty line.
    Skip,
    /// Ctrl-D.
    Done,
}

struct Asker<'a> {
    input: &'a mut Input,
    options: DeserializeOptions,
    /// Prompts shown so far.
    asked: usize,
}

impl Asker<'_> {
    async fn ask(&mut self, prompt: &str, context: Context) -> Result<Answer> {
        self.asked += 1;
        let first = self.asked == 1;
        Ok(match self.input.read(prompt, context).await? {
            Read::Line(line) if line.trim().is_empty() => Answer::Skip,
            Read::Line(line) => Answer::Text(line.trim().to_string()),
            Read::Eof if first => return Err(EndOfRequest.into()),
            Read::Eof => Answer::Done,
            Read::Interrupted => return Err(Interrupted.into()),
        })
    }

    /// The fields of one message; true as well when Ctrl-D ended it early.
    /// `stack` holds the types being filled around it, so that a recursive
    /// type is entered only when asked for.
    fn message(
        &mut self,
        message: MessageDescriptor,
        path: String,
        stack: Vec<String>,
    ) -> BoxFuture<'_, Result<(Map<String, Json>, bool)>> {
        Box::pin(async move {
            let mut out = Map::new();
            let mut stack = stack;
            stack.push(message.full_name().to_string());
            let mut oneofs_done: Vec<String> = Vec::new();
            for field in message.fields() {
                let step = match field.containing_oneof().filter(|o| !o.is_synthetic()) {
                    Some(oneof) if oneofs_done.iter().any(|o| o == oneof.name()) => continue,
                    Some(oneof) => {
                        oneofs_done.push(oneof.name().to_string());
                        self.oneof(&message, &oneof, &path, &stack).await?
                    }
                    None => self.field(&message, &field, &path, &stack).await?,
                };
                match step {
                    Step::Set(name, value) => {
                        out.insert(name, value);
                    }
                    Step::Skip => {}
                    Step::Done => return Ok((out, true)),
                }
            }
            Ok((out, false))
        })
    }

    /// A oneof: which member, then that member.
    async fn oneof(
        &mut self,
        message: &MessageDescriptor,
        oneof: &OneofDescriptor,
        path: &str,
        stack: &[String],
    ) -> Result<Step> {
        let members: Vec<String> = oneof.fields().map(|f| f.name().to_string()).collect();
        let prompt = format!(
            "{path}{} (one of: {}; Enter for none): ",
            oneof.name(),
            members.join(", ")
        );
        loop {
            match self.ask(&prompt, Context::Words(members.clone())).await? {
                Answer::Skip => return Ok(Step::Skip),
                Answer::Done => return Ok(Step::Done),
                Answer::Text(text) => {
                    match oneof
                        .fields()
                        .find(|f| f.name() == text || f.json_name() == text)
                    {
                        Some(field) => return self.field(message, &field, path, stack).await,
                        None => eprintln!("  {} has no member '{text}'", oneof.name()),
                    }
                }
            }
        }
    }

    /// One field: a value, a nested message, a list or a map.
    async fn field(
        &mut self,
        message: &MessageDescriptor,
        field: &FieldDescriptor,
        path: &str,
        stack: &[String],
    ) -> Result<Step> {
        let name = field.json_name().to_string();
        let here = format!("{path}{}", field.name());
        if field.is_map() {
            return self.map(message, field, &here, stack).await;
        }
        if field.is_list() {
            let mut items = Vec::new();
            loop {
                let at = format!("{here}[{}]", items.len());
                let item = match nested(field) {
                    Some(inner) => {
                        let prompt = format!("{at} ({}): add one? [y/N] ", inner.full_name());
                        match self.ask(&prompt, yes_no()).await? {
                            Answer::Text(t) if is_yes(&t) => {
                                let (fields, _) = self
                                    .message(inner, format!("{at}."), stack.to_vec())
                                    .await?;
                                Json::Object(fields)
                            }
                            Answer::Text(_) | Answer::Skip => break,
                            Answer::Done => return Ok(set_list(name, items, true)),
                        }
                    }
                    None => match self.value(message, field, &at, Shape::Item).await {
                        Ok(Some(value)) => value,
                        Ok(None) => break,
                        Err(err) if err.is::<EndOfMessage>() => {
                            return Ok(set_list(name, items, true));
                        }
                        Err(err) => return Err(err),
                    },
                };
                items.push(item);
            }
            return Ok(set_list(name, items, false));
        }
        if let Some(inner) = nested(field) {
            if stack.iter().any(|t| t == inner.full_name()) {
                let prompt = format!("{here} ({}): fill it? [y/N] ", inner.full_name());
                match self.ask(&prompt, yes_no()).await? {
                    Answer::Text(t) if is_yes(&t) => {}
                    Answer::Done => return Ok(Step::Done),
                    _ => return Ok(Step::Skip),
                }
            }
            let (fields, _) = self
                .message(inner, format!("{here}."), stack.to_vec())
                .await?;
            // A message left empty stays unset (but a oneof member was chosen).
            return Ok(
                match fields.is_empty() && field.containing_oneof().is_none() {
                    true => Step::Skip,
                    false => Step::Set(name, Json::Object(fields)),
                },
            );
        }
        match self.value(message, field, &here, Shape::Single).await {
            Ok(Some(value)) => Ok(Step::Set(name, value)),
            Ok(None) => Ok(Step::Skip),
            Err(err) if err.is::<EndOfMessage>() => Ok(Step::Done),
            Err(err) => Err(err),
        }
    }

    /// A map: key, then value, until an empty key.
    async fn map(
        &mut self,
        message: &MessageDescriptor,
        field: &FieldDescriptor,
        here: &str,
        stack: &[String],
    ) -> Result<Step> {
        let entry = field.kind();
        let entry = entry
            .as_message()
            .expect("a map field's entry is a message");
        let key_field = entry.map_entry_key_field();
        let value_field = entry.map_entry_value_field();
        let mut entries = Map::new();
        loop {
            let prompt = format!(
                "{here} key ({}; Enter ends): ",
                type_name(&key_field.kind())
            );
            let key = match self.ask(&prompt, Context::Plain).await? {
                Answer::Text(key) => key,
                Answer::Skip => break,
                Answer::Done => return Ok(set_map(field, entries, true)),
            };
            let at = format!("{here}[{key}]");
            let value = match nested(&value_field) {
                Some(inner) => {
                    let (fields, _) = self
                        .message(inner, format!("{at}."), stack.to_vec())
                        .await?;
                    Json::Object(fields)
                }
                None => match self.value(message, field, &at, Shape::MapValue(&key)).await {
                    Ok(Some(value)) => value,
                    Ok(None) => default_json(&value_field),
                    Err(err) if err.is::<EndOfMessage>() => break,
                    Err(err) => return Err(err),
                },
            };
            // The key is checked with its value.
            let one = Json::Object(Map::from_iter([(key.clone(), value.clone())]));
            match self.check(message, field, one) {
                Ok(()) => {
                    entries.insert(key, value);
                }
                Err(err) => eprintln!("  {err}"),
            }
        }
        Ok(set_map(field, entries, false))
    }

    /// A value that fits on one line (a scalar, an enum, or a well-known
    /// type in its JSON form), asked until it is valid. None when skipped.
    async fn value(
        &mut self,
        message: &MessageDescriptor,
        field: &FieldDescriptor,
        here: &str,
        shape: Shape<'_>,
    ) -> Result<Option<Json>> {
        let kind = match shape {
            Shape::MapValue(_) => field
                .kind()
                .as_message()
                .expect("a map field's entry is a message")
                .map_entry_value_field()
                .kind(),
            _ => field.kind(),
        };
        let required = field.cardinality() == Cardinality::Required;
        let mut about = type_name(&kind);
        match shape {
            Shape::Item => about.push_str("; Enter ends"),
            Shape::Single if required => about.insert_str(0, "required "),
            Shape::Single if field.supports_presence() && !is_message(&kind) => {
                about.insert_str(0, "optional ")
            }
            _ => {}
        }
        let default = match shape {
            Shape::Single if !required => default_text(field),
            _ => None,
        };
        let prompt = match default {
            Some(default) => format!("{here} ({about}) [{default}]: "),
            None => format!("{here} ({about}): "),
        };
        let context = match &kind {
            Kind::Enum(e) => Context::Words(e.values().map(|v| v.name().to_string()).collect()),
            Kind::Bool => Context::Words(vec!["true".into(), "false".into()]),
            _ => Context::Plain,
        };
        loop {
            let text = match self.ask(&prompt, context.clone()).await? {
                Answer::Text(text) => text,
                Answer::Skip if required => {
                    eprintln!("  {} is required", field.name());
                    continue;
                }
                Answer::Skip => return Ok(None),
                Answer::Done => return Err(EndOfMessage.into()),
            };
            let value = to_json(&kind, &text);
            let whole = match shape {
                Shape::Single => value.clone(),
                Shape::Item => Json::Array(vec![value.clone()]),
                Shape::MapValue(key) => {
                    Json::Object(Map::from_iter([(key.to_string(), value.clone())]))
                }
            };
            match self.check(message, field, whole) {
                Ok(()) => return Ok(Some(value)),
                Err(err) => eprintln!("  {err}"),
            }
        }
    }

    /// Whether `{field: value}` is a valid `message`, by `call`'s mapping.
    fn check(
        &self,
        message: &MessageDescriptor,
        field: &FieldDescriptor,
        value: Json,
    ) -> Result<()> {
        let object = Json::Object(Map::from_iter([(field.json_name().to_string(), value)]));
        DynamicMessage::deserialize_with_options(message.clone(), object, &self.options)
            .map(drop)
            .map_err(|err| anyhow::anyhow!("invalid {}: {err}", field.name()))
    }
}

/// Ctrl-D at the first prompt: no request at all (the end of a stream).
#[derive(Debug, thiserror::Error)]
#[error("no request")]
struct EndOfRequest;

/// Ctrl-D at a value: the rest of the message is skipped.
#[derive(Debug, thiserror::Error)]
#[error("the rest of the message was skipped")]
struct EndOfMessage;

/// What became of a field.
enum Step {
    Set(String, Json),
    Skip,
    /// Ctrl-D: the rest of the message is skipped.
    Done,
}

/// Where a one-line value goes.
#[derive(Clone, Copy)]
enum Shape<'a> {
    Single,
    Item,
    MapValue(&'a str),
}

fn set_list(name: String, items: Vec<Json>, done: bool) -> Step {
    match (items.is_empty(), done) {
        (true, true) => Step::Done,
        (true, false) => Step::Skip,
        // Ctrl-D after some items: they are kept, and the message ends.
        (false, _) => Step::Set(name, Json::Array(items)),
    }
}

fn set_map(field: &FieldDescriptor, entries: Map<String, Json>, done: bool) -> Step {
    match (entries.is_empty(), done) {
        (true, true) => Step::Done,
        (true, false) => Step::Skip,
        (false, _) => Step::Set(field.json_name().to_string(), Json::Object(entries)),
    }
}

/// The message a field holds that is filled field by field (well-known
/// types with a JSON form of their own are typed on one line).
fn nested(field: &FieldDescriptor) -> Option<MessageDescriptor> {
    let value = if field.is_map() {
        field.kind().as_message()?.map_entry_value_field()
    } else {
        field.clone()
    };
    match value.kind() {
        Kind::Message(message) if !is_special(&message) => Some(message),
        _ => None,
    }
}

fn is_message(kind: &Kind) -> bool {
    matches!(kind, Kind::Message(_))
}

fn yes_no() -> Context {
    Context::Words(vec!["y".into(), "n".into()])
}

fn is_yes(text: &str) -> bool {
    matches!(text.to_ascii_lowercase().as_str(), "y" | "yes")
}

/// How a field's type reads in a prompt.
fn type_name(kind: &Kind) -> String {
    match kind {
        Kind::Enum(e) => {
            let names: Vec<String> = e.values().map(|v| v.name().to_string()).collect();
            let shown = if names.len() > 6 {
                format!("{}, …", names[..6].join(", "))
            } else {
                names.join(", ")
            };
            format!("{}: {shown}", e.name())
        }
        Kind::Bytes => "bytes, base64".to_string(),
        Kind::Message(m) => match m.full_name() {
            "google.protobuf.Timestamp" => "Timestamp, as 2024-01-31T12:00:00Z".to_string(),
            "google.protobuf.Duration" => "Duration, as 1.5s".to_string(),
            "google.protobuf.FieldMask" => "FieldMask, as a.b,c".to_string(),
            name if name.ends_with("Value") && wrapped(name).is_some() => {
                format!("{}, or null", m.name())
            }
            _ => format!("{}, JSON", m.full_name()),
        },
        other => format!("{other:?}").to_ascii_lowercase(),
    }
}

/// The scalar a wrapper type wraps.
fn wrapped(name: &str) -> Option<Kind> {
    Some(match name {
        "google.protobuf.DoubleValue" => Kind::Double,
        "google.protobuf.FloatValue" => Kind::Float,
        "google.protobuf.Int64Value" => Kind::Int64,
        "google.protobuf.UInt64Value" => Kind::Uint64,
        "google.protobuf.Int32Value" => Kind::Int32,
        "google.protobuf.UInt32Value" => Kind::Uint32,
        "google.protobuf.BoolValue" => Kind::Bool,
        "google.protobuf.StringValue" => Kind::String,
        "google.protobuf.BytesValue" => Kind::Bytes,
        _ => return None,
    })
}

/// An answer as the JSON value of a field of `kind`: strings need no
/// quotes (but may have them), numbers that are not JSON numbers go as
/// strings (`NaN`, `"123"` for an int64), enums by name or number.
fn to_json(kind: &Kind, text: &str) -> Json {
    let string = || match serde_json::from_str::<String>(text) {
        Ok(quoted) if text.starts_with('"') => Json::String(quoted),
        _ => Json::String(text.to_string()),
    };
    let number = || match serde_json::from_str::<serde_json::Number>(text) {
        Ok(n) => Json::Number(n),
        Err(_) => string(),
    };
    match kind {
        Kind::String | Kind::Bytes => string(),
        Kind::Bool => match text {
            "true" => Json::Bool(true),
            "false" => Json::Bool(false),
            _ => string(),
        },
        Kind::Enum(_) => number(),
        Kind::Message(m) => match m.full_name() {
            "google.protobuf.Timestamp"
            | "google.protobuf.Duration"
            | "google.protobuf.FieldMask" => string(),
            name => match wrapped(name) {
                Some(_) if text == "null" => Json::Null,
                Some(inner) => to_json(&inner, text),
                None => serde_json::from_str(text).unwrap_or_else(|_| string()),
            },
        },
        _ => number(),
    }
}

/// The default a skipped field keeps, as shown in its prompt: none for a
/// field with presence but a proto2 default.
fn default_text(field: &FieldDescriptor) -> Option<String> {
    let kind = field.kind();
    if is_message(&kind) || field.is_list() || field.is_map() {
        return None;
    }
    if field.supports_presence() {
        // proto2 `[default = …]` is what a skipped field reads as.
        let declared = field.field_descriptor_proto().default_value.clone()?;
        return Some(declared);
    }
    Some(match (field.default_value(), &kind) {
        (Value::EnumNumber(n), Kind::Enum(e)) => e
            .get_value(n)
            .map(|v| v.name().to_string())
            .unwrap_or_else(|| n.to_string()),
        (Value::String(s), _) => format!("{s:?}"),
        (Value::Bytes(b), _) if b.is_empty() => "\"\"".to_string(),
        (Value::Bool(b), _) => b.to_string(),
        (Value::I32(n), _) => n.to_string(),
        (Value::I64(n), _) => n.to_string(),
        (Value::U32(n), _) => n.to_string(),
        (Value::U64(n), _) => n.to_string(),
        (Value::F32(n), _) => n.to_string(),
        (Value::F64(n), _) => n.to_string(),
        _ => return None,
    })
}

/// The JSON of a map value left empty: its type's default.
fn default_json(field: &FieldDescriptor) -> Json {
    match field.kind() {
        Kind::String | Kind::Bytes => Json::String(String::new()),
        Kind::Bool => Json::Bool(false),
        Kind::Enum(e) => Json::String(e.default_value().name().to_string()),
        Kind::Message(_) => Json::Object(Map::new()),
        _ => Json::from(0),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn everything() -> MessageDescriptor {
        prost_reflect::DescriptorPool::decode(crate::server::FILE_DESCRIPTOR_SET)
            .unwrap()
            .get_message_by_name("grpcx.test.v1.Everything")
            .unwrap()
    }

    fn field(name: &str) -> FieldDescriptor {
        everything().get_field_by_name(name).unwrap()
    }

    #[test]
    fn answers_become_json_values() {
        assert_eq!(to_json(&Kind::String, "hi there"), Json::from("hi there"));
        assert_eq!(to_json(&Kind::String, r#""a\"b""#), Json::from("a\"b"));
        assert_eq!(to_json(&Kind::Int32, "42"), Json::from(42));
        assert_eq!(
            to_json(&Kind::Int64, "12345678901234567890"),
            Json::from(12345678901234567890u64)
        );
        assert_eq!(to_json(&Kind::Double, "NaN"), Json::from("NaN"));
        assert_eq!(to_json(&Kind::Bool, "true"), Json::from(true));
        assert_eq!(
            to_json(&field("f_enum").kind(), "COLOR_RED"),
            Json::from("COLOR_RED")
        );
        assert_eq!(to_json(&field("f_enum").kind(), "2"), Json::from(2));
        assert_eq!(
            to_json(&field("w_timestamp").kind(), "2024-01-31T12:00:00Z"),
            Json::from("2024-01-31T12:00:00Z")
        );
        assert_eq!(to_json(&field("w_int32").kind(), "7"), Json::from(7));
        assert_eq!(to_json(&field("w_int32").kind(), "null"), Json::Null);
        assert_eq!(
            to_json(&field("w_struct").kind(), r#"{"a": [1]}"#),
            serde_json::json!({"a": [1]})
        );
    }

    #[test]
    fn prompts_show_types_and_defaults() {
        assert_eq!(default_text(&field("f_int32")).as_deref(), Some("0"));
        assert_eq!(default_text(&field("f_string")).as_deref(), Some("\"\""));
        assert_eq!(
            default_text(&field("f_enum")).as_deref(),
            Some("COLOR_UNSPECIFIED")
        );
        assert_eq!(default_text(&field("opt_int32")), None);
        assert_eq!(default_text(&field("f_message")), None);
        assert_eq!(
            type_name(&field("f_enum").kind()),
            "Color: COLOR_UNSPECIFIED, COLOR_RED, COLOR_GREEN, COLOR_BLUE"
        );
        assert!(nested(&field("f_message")).is_some());
        assert!(nested(&field("w_timestamp")).is_none());
        assert!(nested(&field("m_int64_inner")).is_some());
        assert!(nested(&field("m_string_int32")).is_none());
    }
}
