//! The features of Protobuf Editions: their names and values, each
//! edition's defaults, and reading them from a descriptor's options.
//!
//! prost-reflect 0.16's bundled `descriptor.proto` is older than the
//! editions that shipped (it has `Utf8Validation.NONE = 1`, no edition 2024
//! and no 2024 features), so features are read here by field number from
//! the wire, with names and values from the released `descriptor.proto`.

use prost::Message as _;
use prost_reflect::{
    DescriptorPool, DynamicMessage, MessageDescriptor, ReflectMessage as _, Value,
};

/// `google.protobuf.Edition` numbers.
pub const EDITION_2023: i32 = 1000;
pub const EDITION_2024: i32 = 1001;

/// How many features the table knows (FeatureSet fields 1 to 8).
pub const COUNT: usize = 8;

/// Feature values by FeatureSet field number − 1; 0 is "not set".
pub type Features = [i32; COUNT];

pub const PRESENCE: usize = 0;
pub const ENUM_TYPE: usize = 1;
pub const REPEATED: usize = 2;
pub const MESSAGE_ENCODING: usize = 4;

pub const IMPLICIT: i32 = 2;
pub const LEGACY_REQUIRED: i32 = 3;
pub const CLOSED: i32 = 2;
pub const EXPANDED: i32 = 2;
pub const DELIMITED: i32 = 2;

/// (name, values) of each feature, by field number − 1.
const TABLE: [(&str, &[(i32, &str)]); COUNT] = [
    (
        "field_presence",
        &[(1, "EXPLICIT"), (2, "IMPLICIT"), (3, "LEGACY_REQUIRED")],
    ),
    ("enum_type", &[(1, "OPEN"), (2, "CLOSED")]),
    ("repeated_field_encoding", &[(1, "PACKED"), (2, "EXPANDED")]),
    ("utf8_validation", &[(2, "VERIFY"), (3, "NONE")]),
    (
        "message_encoding",
        &[(1, "LENGTH_PREFIXED"), (2, "DELIMITED")],
    ),
    ("json_format", &[(1, "ALLOW"), (2, "LEGACY_BEST_EFFORT")]),
    (
        "enforce_naming_style",
        &[(1, "STYLE2024"), (2, "STYLE_LEGACY")],
    ),
    (
        "default_symbol_visibility",
        &[
            (1, "EXPORT_ALL"),
            (2, "EXPORT_TOP_LEVEL"),
            (3, "LOCAL_ALL"),
            (4, "STRICT"),
        ],
    ),
];

/// The editions grpcx knows: number, and name as written in a .proto file.
const EDITIONS: [(i32, &str); 2] = [(EDITION_2023, "2023"), (EDITION_2024, "2024")];

/// The edition's name, or `None` for an edition grpcx does not know.
pub fn edition_name(edition: i32) -> Option<&'static str> {
    EDITIONS.iter().find(|e| e.0 == edition).map(|e| e.1)
}

/// The edition's number from its name in a .proto file.
pub fn edition_number(name: &str) -> Option<i32> {
    EDITIONS.iter().find(|e| e.1 == name).map(|e| e.0)
}

/// Every feature's value where nothing overrides it. 2023 and 2024 agree
/// on the six that change the wire or JSON; 2024 adds two of its own.
pub fn defaults(edition: i32) -> Features {
    // presence EXPLICIT, enums OPEN, PACKED, utf8 VERIFY, LENGTH_PREFIXED,
    // json ALLOW.
    let mut features = [1, 1, 1, 2, 1, 1, 0, 0];
    if edition >= EDITION_2024 {
        features[6] = 1; // STYLE2024
        features[7] = 2; // EXPORT_TOP_LEVEL
    }
    features
}

/// `parent` with every feature `explicit` sets overriding it.
pub fn merge(parent: &Features, explicit: &Features) -> Features {
    let mut out = *parent;
    for (slot, value) in out.iter_mut().zip(explicit) {
        if *value != 0 {
            *slot = *value;
        }
    }
    out
}

/// `features.NAME = VALUE` for one feature, as a .proto file writes it.
pub fn describe(index: usize, value: i32) -> String {
    let (name, values) = TABLE[index];
    let value = values
        .iter()
        .find(|(n, _)| *n == value)
        .map_or_else(|| value.to_string(), |(_, v)| (*v).to_string());
    format!("features.{name} = {value}")
}

/// The features an options message sets, whether compiled (`features`)
/// or still uninterpreted (`option features.x = Y;` from a parsed file);
/// takes them out of `options`.
pub fn take(options: &mut DynamicMessage) -> Features {
    let mut out = [0; COUNT];
    if let Some(Value::Message(set)) = options.take_field_by_name("features") {
        let _ = read_wire(&set.encode_to_vec(), &mut out);
    }
    if let Some(Value::List(list)) = options.get_field_by_name_mut("uninterpreted_option") {
        list.retain(|option| match option {
            Value::Message(option) => match uninterpreted(option) {
                Some((index, value)) => {
                    out[index] = value;
                    false
                }
                // A language's own features (`features.(pb.go).x`) mean
                // nothing to the wire or JSON: dropped.
                None => !is_features(option),
            },
            _ => true,
        });
        if list.is_empty() {
            options.clear_field_by_name("uninterpreted_option");
        }
    }
    out
}

/// Sets `features` on an options message (an empty set clears it).
pub fn put(options: &mut DynamicMessage, features: &Features) {
    if features.iter().all(|v| *v == 0) {
        return;
    }
    let field = options.descriptor().get_field_by_name("features");
    let Some(set) = field.and_then(|f| f.kind().as_message().cloned()) else {
        return;
    };
    let mut bytes = Vec::new();
    for (i, value) in features.iter().enumerate() {
        if *value != 0 {
            prost::encoding::int32::encode(i as u32 + 1, value, &mut bytes);
        }
    }
    // Unknown numbers (2024's features, NONE = 3) ride as unknown fields.
    if let Ok(message) = DynamicMessage::decode(set, bytes.as_slice()) {
        options.set_field_by_name("features", Value::Message(message));
    }
}

/// The parts of an uninterpreted option's name, as (name, is_extension);
/// `None` for a part that is not one.
fn name_parts(option: &DynamicMessage) -> Vec<Option<(String, bool)>> {
    let Some(Value::List(parts)) = option.get_field_by_name("name").map(|v| v.into_owned()) else {
        return Vec::new();
    };
    let part = |part: &Value| -> Option<(String, bool)> {
        let part = part.as_message()?;
        let name = part.get_field_by_name("name_part")?.as_str()?.to_string();
        Some((name, part.get_field_by_name("is_extension")?.as_bool()?))
    };
    parts.iter().map(part).collect()
}

/// True for any `features.…` uninterpreted option.
fn is_features(option: &DynamicMessage) -> bool {
    matches!(name_parts(option).first(), Some(Some((name, false))) if name == "features")
}

/// `features.field_presence = IMPLICIT` as an uninterpreted option.
fn uninterpreted(option: &DynamicMessage) -> Option<(usize, i32)> {
    let [Some((first, false)), Some((feature, false))] = &name_parts(option)[..] else {
        return None;
    };
    if first != "features" {
        return None;
    }
    let (index, (_, values)) = TABLE
        .iter()
        .enumerate()
        .find(|(_, (name, _))| name == feature)?;
    let value = option.get_field_by_name("identifier_value")?;
    let (number, _) = values
        .iter()
        .find(|(_, name)| Some(*name) == value.as_str())?;
    Some((index, *number))
}

/// The varint fields 1 to 8 of an encoded FeatureSet, up to the first
/// field that does not decode (`None` then).
fn read_wire(mut bytes: &[u8], out: &mut Features) -> Option<()> {
    use prost::encoding::{DecodeContext, WireType, decode_key, decode_varint, skip_field};
    while !bytes.is_empty() {
        let (number, wire_type) = decode_key(&mut bytes).ok()?;
        if wire_type == WireType::Varint {
            let value = decode_varint(&mut bytes).ok()?;
            if (1..=COUNT as u32).contains(&number) {
                out[number as usize - 1] = value as i32;
            }
        } else {
            skip_field(wire_type, number, &mut bytes, DecodeContext::default()).ok()?;
        }
    }
    Some(())
}

/// A message type of the bundled `descriptor.proto`.
pub fn descriptor_type(name: &str) -> MessageDescriptor {
    DescriptorPool::global()
        .get_message_by_name(&format!("google.protobuf.{name}"))
        .expect("descriptor.proto is bundled")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn explicit_features_override_their_parent() {
        let parent = defaults(EDITION_2023);
        let mut explicit = [0; COUNT];
        explicit[PRESENCE] = IMPLICIT;
        let merged = merge(&parent, &explicit);
        assert_eq!(merged[PRESENCE], IMPLICIT);
        assert_eq!(merged[ENUM_TYPE], 1);
        assert_eq!(
            describe(PRESENCE, IMPLICIT),
            "features.field_presence = IMPLICIT"
        );
        assert_eq!(describe(3, 3), "features.utf8_validation = NONE");
    }

    #[test]
    fn features_round_trip_through_options() {
        let mut options = DynamicMessage::new(descriptor_type("FieldOptions"));
        let mut set = [0; COUNT];
        set[PRESENCE] = IMPLICIT;
        set[3] = 3; // NONE, which the bundled descriptor.proto does not know
        set[6] = 2;
        put(&mut options, &set);
        assert_eq!(take(&mut options), set);
        assert!(!options.has_field_by_name("features"));
    }
}
