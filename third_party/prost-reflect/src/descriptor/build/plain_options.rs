//! grpcx patch: the plain options of descriptor.proto, interpreted without
//! descriptor.proto.
//!
//! Interpreting an option in general decodes the options message through
//! descriptor.proto, which lives in the global pool of the well-known types:
//! about 3M instructions to build, more than the rest of a unary call with
//! `--proto` together. Nearly every option written in a real .proto file is
//! one of a few dozen plain ones: `go_package`, `java_package`,
//! `deprecated`, `packed`, `allow_alias`, `optimize_for`... Each is a bool,
//! a string or an enum field of an options message, set by its one-part
//! name. Those are encoded here from a table of their field numbers.
//!
//! Anything else (an extension, a dotted name such as `features.x`, a name
//! set twice, a value of the wrong kind, options already holding fields)
//! returns `None`, and the general path interprets it, with its
//! diagnostics. The bytes written here are the ones the general path writes:
//! the fields in number order, the uninterpreted options gone.

use crate::descriptor::{tag, types::UninterpretedOption};

#[derive(Clone, Copy)]
enum Kind {
    Bool,
    String,
    Enum(&'static [(&'static str, u64)]),
}

const OPTIMIZE_MODE: &[(&str, u64)] = &[("SPEED", 1), ("CODE_SIZE", 2), ("LITE_RUNTIME", 3)];
const CTYPE: &[(&str, u64)] = &[("STRING", 0), ("CORD", 1), ("STRING_PIECE", 2)];
const JSTYPE: &[(&str, u64)] = &[("JS_NORMAL", 0), ("JS_STRING", 1), ("JS_NUMBER", 2)];
const IDEMPOTENCY: &[(&str, u64)] = &[
    ("IDEMPOTENCY_UNKNOWN", 0),
    ("NO_SIDE_EFFECTS", 1),
    ("IDEMPOTENT", 2),
];

/// The plain fields of each options message: name, number, kind.
fn fields(options: &str) -> &'static [(&'static str, u32, Kind)] {
    use Kind::*;
    match options {
        "google.protobuf.FileOptions" => &[
            ("java_package", 1, String),
            ("java_outer_classname", 8, String),
            ("optimize_for", 9, Enum(OPTIMIZE_MODE)),
            ("java_multiple_files", 10, Bool),
            ("go_package", 11, String),
            ("cc_generic_services", 16, Bool),
            ("java_generic_services", 17, Bool),
            ("py_generic_services", 18, Bool),
            ("java_generate_equals_and_hash", 20, Bool),
            ("deprecated", 23, Bool),
            ("java_string_check_utf8", 27, Bool),
            ("cc_enable_arenas", 31, Bool),
            ("objc_class_prefix", 36, String),
            ("csharp_namespace", 37, String),
            ("swift_prefix", 39, String),
            ("php_class_prefix", 40, String),
            ("php_namespace", 41, String),
            ("php_metadata_namespace", 44, String),
            ("ruby_package", 45, String),
        ],
        // map_entry is left out: setting it by hand is an error the general
        // path reports.
        "google.protobuf.MessageOptions" => &[
            ("message_set_wire_format", 1, Bool),
            ("no_standard_descriptor_accessor", 2, Bool),
            ("deprecated", 3, Bool),
        ],
        "google.protobuf.FieldOptions" => &[
            ("ctype", 1, Enum(CTYPE)),
            ("packed", 2, Bool),
            ("deprecated", 3, Bool),
            ("lazy", 5, Bool),
            ("jstype", 6, Enum(JSTYPE)),
            ("weak", 10, Bool),
            ("unverified_lazy", 15, Bool),
            ("debug_redact", 16, Bool),
        ],
        "google.protobuf.EnumOptions" => &[("allow_alias", 2, Bool), ("deprecated", 3, Bool)],
        "google.protobuf.EnumValueOptions" => &[("deprecated", 1, Bool), ("debug_redact", 3, Bool)],
        "google.protobuf.ServiceOptions" => &[("deprecated", 33, Bool)],
        "google.protobuf.MethodOptions" => &[
            ("deprecated", 33, Bool),
            ("idempotency_level", 34, Enum(IDEMPOTENCY)),
        ],
        _ => &[],
    }
}

/// The encoded options when every option is plain (see the module's
/// header), with the field number each uninterpreted option became, in
/// their order; `None` sends them all down the general path.
pub(super) fn interpret(
    options: &str,
    encoded: &[u8],
    uninterpreted: &[UninterpretedOption],
) -> Option<(Vec<u8>, Vec<u32>)> {
    if !only_uninterpreted(encoded)? {
        return None;
    }
    let table = fields(options);
    let mut set: Vec<(u32, Value)> = Vec::with_capacity(uninterpreted.len());
    let mut numbers = Vec::with_capacity(uninterpreted.len());
    for option in uninterpreted {
        let [part] = option.name.as_slice() else {
            return None;
        };
        if part.is_extension {
            return None;
        }
        let &(_, number, kind) = table.iter().find(|(name, ..)| *name == part.name_part)?;
        if set.iter().any(|(n, _)| *n == number) {
            return None;
        }
        set.push((number, value(kind, option)?));
        numbers.push(number);
    }
    set.sort_by_key(|(number, _)| *number);
    let mut out = Vec::new();
    for (number, value) in set {
        match value {
            Value::Varint(v) => {
                varint(&mut out, u64::from(number) << 3);
                varint(&mut out, v);
            }
            Value::Bytes(bytes) => {
                varint(&mut out, (u64::from(number) << 3) | 2);
                varint(&mut out, bytes.len() as u64);
                out.extend_from_slice(bytes);
            }
        }
    }
    Some((out, numbers))
}

enum Value<'a> {
    Varint(u64),
    Bytes(&'a [u8]),
}

/// The value an option of `kind` takes, if it was written as one: only
/// the one field of its kind is set.
fn value(kind: Kind, option: &UninterpretedOption) -> Option<Value<'_>> {
    let only_identifier = option.positive_int_value.is_none()
        && option.negative_int_value.is_none()
        && option.double_value.is_none()
        && option.string_value.is_none()
        && option.aggregate_value.is_none();
    match kind {
        Kind::Bool if only_identifier => match option.identifier_value.as_deref()? {
            "true" => Some(Value::Varint(1)),
            "false" => Some(Value::Varint(0)),
            _ => None,
        },
        Kind::Enum(values) if only_identifier => {
            let name = option.identifier_value.as_deref()?;
            let &(_, number) = values.iter().find(|(n, _)| *n == name)?;
            Some(Value::Varint(number))
        }
        Kind::String => {
            let bytes = option.string_value.as_deref()?;
            let only_string = option.identifier_value.is_none()
                && option.positive_int_value.is_none()
                && option.negative_int_value.is_none()
                && option.double_value.is_none()
                && option.aggregate_value.is_none();
            (only_string && std::str::from_utf8(bytes).is_ok()).then_some(Value::Bytes(bytes))
        }
        _ => None,
    }
}

/// Whether the encoded options hold nothing but uninterpreted options
/// (field 999, length-delimited); `None` for bytes that do not parse.
fn only_uninterpreted(mut bytes: &[u8]) -> Option<bool> {
    while !bytes.is_empty() {
        let key = read_varint(&mut bytes)?;
        if key != ((tag::UNINTERPRETED_OPTION as u64) << 3) | 2 {
            return Some(false);
        }
        let len = usize::try_from(read_varint(&mut bytes)?).ok()?;
        bytes = bytes.get(len..)?;
    }
    Some(true)
}

fn read_varint(bytes: &mut &[u8]) -> Option<u64> {
    let mut value = 0u64;
    for shift in (0..64).step_by(7) {
        let (&byte, rest) = bytes.split_first()?;
        *bytes = rest;
        value |= u64::from(byte & 0x7f) << shift;
        if byte & 0x80 == 0 {
            return Some(value);
        }
    }
    None
}

fn varint(out: &mut Vec<u8>, mut value: u64) {
    while value >= 0x80 {
        out.push((value as u8) | 0x80);
        value >>= 7;
    }
    out.push(value as u8);
}
