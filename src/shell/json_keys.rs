//! Completion inside a JSON request being typed: where the cursor is (at a
//! key of some message, or at the value of an enum field), found by scanning
//! the text before it, and what may go there.
//!
//! The scan is forgiving: the text is unfinished by nature, so it tracks
//! only braces, brackets, strings, colons and commas, and gives up (no
//! candidates) where it cannot tell.

use prost_reflect::{FieldDescriptor, Kind, MessageDescriptor};

/// One candidate: what replaces the text from the start, and what the list
/// shows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Candidate {
    pub replacement: String,
    pub display: String,
}

/// What an object holds: a message's fields, a map's entries, or something
/// free-form (Struct, Any, a map key we cannot type).
#[derive(Clone)]
enum Holds {
    Message(MessageDescriptor),
    Map(FieldDescriptor),
    Free,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Expect {
    Key,
    Colon,
    Value,
    Comma,
}

/// The value at a position: a field as a whole, or one element of it (of a
/// list, or a map's value).
#[derive(Clone)]
struct Slot {
    field: FieldDescriptor,
    element: bool,
}

enum Frame {
    Object {
        holds: Holds,
        key: Option<String>,
        expect: Expect,
    },
    Array {
        slot: Option<Slot>,
    },
}

/// Candidates for the cursor at the end of `text`, a JSON request of type
/// `message` being typed: the byte offset in `text` they replace from, and
/// the candidates. None where nothing fits.
pub fn complete(message: &MessageDescriptor, text: &str) -> Option<(usize, Vec<Candidate>)> {
    let mut stack: Vec<Frame> = Vec::new();
    let bytes = text.as_bytes();
    let mut i = 0;
    // Before the first brace, the value is the request itself.
    let mut started = false;
    while i < bytes.len() {
        match bytes[i] {
            b'{' => {
                let holds = if !started {
                    started = true;
                    Holds::Message(message.clone())
                } else {
                    match value_slot(&stack) {
                        Some(slot) => holds_of(&slot),
                        None => Holds::Free,
                    }
                };
                stack.push(Frame::Object {
                    holds,
                    key: None,
                    expect: Expect::Key,
                });
            }
            b'[' => {
                let slot = value_slot(&stack).and_then(|slot| {
                    (!slot.element && slot.field.is_list()).then_some(Slot {
                        field: slot.field,
                        element: true,
                    })
                });
                stack.push(Frame::Array { slot });
            }
            b'}' | b']' => {
                stack.pop();
                value_done(&mut stack);
                if stack.is_empty() {
                    return None;
                }
            }
            b':' => {
                if let Some(Frame::Object { expect, .. }) = stack.last_mut() {
                    *expect = Expect::Value;
                }
            }
            b',' => {
                if let Some(Frame::Object { expect, key, .. }) = stack.last_mut() {
                    *expect = Expect::Key;
                    *key = None;
                }
            }
            b'"' => {
                let start = i;
                let Some(end) = string_end(bytes, i + 1) else {
                    // The cursor is inside this string.
                    let partial = &text[start + 1..];
                    return at_string(&stack, start, partial);
                };
                let content = &text[start + 1..end];
                match stack.last_mut() {
                    Some(Frame::Object {
                        expect: expect @ Expect::Key,
                        key,
                        ..
                    }) => {
                        *key = Some(content.to_string());
                        *expect = Expect::Colon;
                    }
                    _ => value_done(&mut stack),
                }
                i = end;
            }
            c if c.is_ascii_whitespace() => {}
            _ => {
                // A number or a literal: skip to its end.
                while i + 1 < bytes.len() && !b"{}[]:,\" \t\r\n".contains(&bytes[i + 1]) {
                    i += 1;
                }
                value_done(&mut stack);
            }
        }
        i += 1;
    }
    // Between tokens: a key may start here, or an enum value.
    match stack.last()? {
        Frame::Object {
            holds,
            expect: Expect::Key,
            ..
        } => Some((text.len(), keys(holds, ""))),
        Frame::Object {
            expect: Expect::Value,
            ..
        }
        | Frame::Array { .. } => {
            let slot = value_slot(&stack)?;
            Some((text.len(), enum_values(&slot, "")?))
        }
        _ => None,
    }
}

/// Candidates for a string left open at `start`, holding `partial`.
fn at_string(stack: &[Frame], start: usize, partial: &str) -> Option<(usize, Vec<Candidate>)> {
    match stack.last()? {
        Frame::Object {
            holds,
            expect: Expect::Key,
            ..
        } => Some((start, keys(holds, partial))),
        Frame::Object {
            expect: Expect::Value,
            ..
        }
        | Frame::Array { .. } => {
            let slot = value_slot(stack)?;
            Some((start, enum_values(&slot, partial)?))
        }
        _ => None,
    }
}

/// The field whose value is at the top of the stack.
fn value_slot(stack: &[Frame]) -> Option<Slot> {
    match stack.last()? {
        Frame::Object {
            holds: Holds::Message(message),
            key: Some(key),
            ..
        } => {
            let field = message
                .get_field_by_json_name(key)
                .or_else(|| message.get_field_by_name(key))?;
            Some(Slot {
                field,
                element: false,
            })
        }
        Frame::Object {
            holds: Holds::Map(field),
            ..
        } => {
            let entry = field.kind();
            let value = entry.as_message()?.map_entry_value_field();
            Some(Slot {
                field: value,
                element: true,
            })
        }
        Frame::Object { .. } => None,
        Frame::Array { slot } => slot.clone(),
    }
}

/// What an object at `slot` holds.
fn holds_of(slot: &Slot) -> Holds {
    if !slot.element && slot.field.is_map() {
        return Holds::Map(slot.field.clone());
    }
    match slot.field.kind() {
        Kind::Message(message) if !is_special(&message) => Holds::Message(message),
        _ => Holds::Free,
    }
}

/// Well-known types whose JSON is not an object of their fields.
pub fn is_special(message: &MessageDescriptor) -> bool {
    message.full_name().starts_with("google.protobuf.")
        && message.full_name() != "google.protobuf.Empty"
}

/// A value ended: the object around it now expects a comma.
fn value_done(stack: &mut [Frame]) {
    if let Some(Frame::Object { expect, .. }) = stack.last_mut()
        && *expect == Expect::Value
    {
        *expect = Expect::Comma;
    }
}

/// The index of the quote that closes the string opened before `from`.
fn string_end(bytes: &[u8], from: usize) -> Option<usize> {
    let mut i = from;
    while i < bytes.len() {
        match bytes[i] {
            b'\\' => i += 2,
            b'"' => return Some(i),
            _ => i += 1,
        }
    }
    None
}

/// The keys of an object that start with `partial`, as `"name": `.
fn keys(holds: &Holds, partial: &str) -> Vec<Candidate> {
    let Holds::Message(message) = holds else {
        return Vec::new();
    };
    message
        .fields()
        .filter(|field| field.json_name().starts_with(partial) || field.name().starts_with(partial))
        .map(|field| Candidate {
            replacement: format!("\"{}\": ", field.json_name()),
            display: field.json_name().to_string(),
        })
        .collect()
}

/// The names of an enum value at `slot` that start with `partial`, quoted.
fn enum_values(slot: &Slot, partial: &str) -> Option<Vec<Candidate>> {
    if slot.field.is_list() && !slot.element {
        return None;
    }
    let Kind::Enum(enumeration) = slot.field.kind() else {
        return None;
    };
    Some(
        enumeration
            .values()
            .filter(|value| value.name().starts_with(partial))
            .map(|value| Candidate {
                replacement: format!("\"{}\"", value.name()),
                display: value.name().to_string(),
            })
            .collect(),
    )
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

    fn shown(text: &str) -> Option<(usize, Vec<String>)> {
        complete(&everything(), text)
            .map(|(start, found)| (start, found.into_iter().map(|c| c.display).collect()))
    }

    fn replaced(text: &str) -> Vec<String> {
        complete(&everything(), text)
            .unwrap()
            .1
            .into_iter()
            .map(|c| c.replacement)
            .collect()
    }

    #[test]
    fn keys_of_the_request_and_of_nested_messages() {
        assert_eq!(shown(r#"{"fMes"#), Some((1, vec!["fMessage".to_string()])));
        assert_eq!(replaced(r#"{"f_mes"#), [r#""fMessage": "#]);
        let (start, names) = shown(r#"{"fInt32": 1, "fMessage": {"#).unwrap();
        assert_eq!(start, 27);
        assert_eq!(names, ["name", "value"]);
        assert_eq!(
            shown(r#"{"fMessage": {"name": "x"}, "rMessage": [{}, {"v"#),
            Some((46, vec!["value".to_string()]))
        );
        // A map's keys are free; its message values have fields.
        assert_eq!(shown(r#"{"mInt64Inner": {""#), Some((17, vec![])));
        assert_eq!(
            shown(r#"{"mInt64Inner": {"5": {"na"#),
            Some((23, vec!["name".to_string()]))
        );
        // A string with a brace and an escaped quote inside is skipped whole.
        assert_eq!(
            shown(r#"{"fString": "a{\"b", "opt"#),
            Some((21, vec!["optInt32".to_string(), "optString".to_string()]))
        );
    }

    #[test]
    fn enum_values_where_an_enum_goes() {
        assert_eq!(
            replaced(r#"{"fEnum": "COLOR_R"#),
            [r#""COLOR_RED""#.to_string()]
        );
        let (start, names) = shown(r#"{"rEnum": ["COLOR_RED", "#).unwrap();
        assert_eq!(start, 24);
        assert_eq!(names.len(), 4);
        assert_eq!(shown(r#"{"fString": "COL"#).map(|(_, n)| n), None);
    }

    #[test]
    fn nothing_after_the_request_or_inside_free_form_values() {
        assert_eq!(shown(r#"{"fInt32": 1}"#), None);
        assert_eq!(shown(r#"{"wStruct": {"a"#), Some((13, vec![])));
        assert_eq!(shown(r#"{"nope": {"x"#), Some((10, vec![])));
    }
}
