//! Round trips over generated messages of the test schema: any message
//! printed as JSON (as grpcx prints it) and as text format reads back equal.

use crate::testing::Rng;
use prost_reflect::{
    DescriptorPool, DeserializeOptions, DynamicMessage, FieldDescriptor, Kind, MessageDescriptor,
    ReflectMessage as _, SerializeOptions, Value,
};

/// The values this test draws on top of the shared generator: floats, and
/// strings and bytes (below).
fn float(rng: &mut Rng) -> f64 {
    match rng.below(4) {
        0 => 0.0,
        1 => (rng.next() as i64 as f64) / 1e6,
        2 => f64::from_bits(rng.next() & !(0x7ff << 52) | (0x3ff << 52)), // in [1, 2)
        _ => -1.5e300,
    }
}

fn string(rng: &mut Rng) -> String {
    const PIECES: &[&str] = &[
        "a", "Z", " ", "\"", "\\", "\n", "\u{0}", "é", "☃", "𝄞", "{", "}",
    ];
    (0..rng.below(6)).map(|_| rng.pick(PIECES)).collect()
}

fn bytes(rng: &mut Rng) -> Vec<u8> {
    (0..rng.below(6)).map(|_| rng.next() as u8).collect()
}

fn message(desc: &MessageDescriptor, rng: &mut Rng, depth: u32) -> DynamicMessage {
    let mut message = DynamicMessage::new(desc.clone());
    match desc.full_name() {
        "google.protobuf.Timestamp" => {
            message.set_field_by_name(
                "seconds",
                Value::I64(rng.below(253_402_300_799) as i64 - 62_135_596_800 / 2),
            );
            message.set_field_by_name("nanos", Value::I32(rng.below(1_000_000_000) as i32));
            return message;
        }
        "google.protobuf.Duration" => {
            let seconds = rng.below(315_576_000_000) as i64;
            let nanos = rng.below(1_000_000_000) as i32;
            let sign = if rng.chance(2) { -1 } else { 1 };
            message.set_field_by_name("seconds", Value::I64(sign * seconds));
            message.set_field_by_name("nanos", Value::I32(sign as i32 * nanos));
            return message;
        }
        "google.protobuf.FieldMask" => {
            // An empty list is no field at all, so lists here are never empty.
            let paths = (0..=rng.below(2))
                .map(|i| Value::String(format!("f_int{i}.inner_name")))
                .collect();
            message.set_field_by_name("paths", Value::List(paths));
            return message;
        }
        "google.protobuf.Any" => {
            let pool = desc.parent_pool();
            let note = pool
                .get_message_by_name("grpcx.test.v1.Note")
                .expect("Note is in the pool");
            let inner = self::message(&note, rng, depth + 1);
            message.set_field_by_name(
                "type_url",
                Value::String("type.googleapis.com/grpcx.test.v1.Note".into()),
            );
            message.set_field_by_name(
                "value",
                Value::Bytes(prost::Message::encode_to_vec(&inner).into()),
            );
            return message;
        }
        "google.protobuf.Value" => {
            // A Value must hold one kind; NaN and infinities have no JSON form.
            match rng.below(4) {
                0 => message.set_field_by_name("null_value", Value::EnumNumber(0)),
                1 => message.set_field_by_name("number_value", Value::F64(float(rng))),
                2 => message.set_field_by_name("string_value", Value::String(string(rng))),
                _ => message.set_field_by_name("bool_value", Value::Bool(rng.chance(2))),
            }
            return message;
        }
        _ => {}
    }
    for field in desc.fields() {
        if rng.chance(2) || (depth >= 3 && matches!(field.kind(), Kind::Message(_))) {
            continue;
        }
        if let Some(oneof) = field.containing_oneof()
            && !oneof.is_synthetic()
            && oneof.fields().any(|f| message.has_field(&f))
        {
            continue;
        }
        let value = if field.is_map() {
            let Kind::Message(entry) = field.kind() else {
                unreachable!("a map is a message")
            };
            let (key, value) = (entry.map_entry_key_field(), entry.map_entry_value_field());
            let map = (0..=rng.below(2))
                .map(|_| {
                    (
                        single(&key, rng, 0).into_map_key().expect("a map key"),
                        single(&value, rng, depth),
                    )
                })
                .collect();
            Value::Map(map)
        } else if field.is_list() {
            Value::List(
                (0..=rng.below(2))
                    .map(|_| single(&field, rng, depth))
                    .collect(),
            )
        } else {
            single(&field, rng, depth)
        };
        message.set_field(&field, value);
    }
    message
}

fn single(field: &FieldDescriptor, rng: &mut Rng, depth: u32) -> Value {
    match field.kind() {
        Kind::Double => Value::F64(float(rng)),
        // Finite only: prost-reflect prints a non-finite FloatValue or
        // DoubleValue wrapper as null (a known gap, not grpcx's to fix here).
        Kind::Float => Value::F32((rng.next() as i32) as f32 / 1024.0),
        Kind::Int32 | Kind::Sint32 | Kind::Sfixed32 => Value::I32(rng.next() as i32),
        Kind::Int64 | Kind::Sint64 | Kind::Sfixed64 => Value::I64(rng.next() as i64),
        Kind::Uint32 | Kind::Fixed32 => Value::U32(rng.next() as u32),
        Kind::Uint64 | Kind::Fixed64 => Value::U64(rng.next()),
        Kind::Bool => Value::Bool(rng.chance(2)),
        Kind::String => Value::String(string(rng)),
        Kind::Bytes => Value::Bytes(bytes(rng).into()),
        Kind::Enum(e) => {
            let values: Vec<i32> = e.values().map(|v| v.number()).collect();
            Value::EnumNumber(values[rng.below(values.len() as u64) as usize])
        }
        Kind::Message(m) => Value::Message(message(&m, rng, depth + 1)),
    }
}

/// The names of the top-level fields that differ, for a failure message.
fn differ(a: &DynamicMessage, b: &DynamicMessage) -> Vec<String> {
    a.descriptor()
        .fields()
        .filter(|f| a.get_field(f) != b.get_field(f))
        .map(|f| f.name().to_string())
        .collect()
}

fn normal(message: &DynamicMessage) -> DynamicMessage {
    let bytes = prost::Message::encode_to_vec(message);
    DynamicMessage::decode(message.descriptor(), bytes.as_slice())
        .expect("our own encoding decodes")
}

#[test]
fn every_generated_message_round_trips_through_json_and_text() {
    let pool = DescriptorPool::decode(crate::server::FILE_DESCRIPTOR_SET).unwrap();
    let desc = pool
        .get_message_by_name("grpcx.test.v1.Everything")
        .unwrap();
    // (assert!, not assert_eq!: Debug of a message prints its recursive
    // descriptor, which overflows the stack for Everything.child.)
    for seed in 1..=400u64 {
        let mut rng = Rng(seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1);
        // Normalised through the wire format: a proto3 field set to its
        // default value is the same message as the field left unset.
        let original = normal(&message(&desc, &mut rng, 0));
        let mut json = Vec::new();
        let mut ser = serde_json::Serializer::new(&mut json);
        original
            .serialize_with_options(&mut ser, &SerializeOptions::new())
            .unwrap();
        let mut de = serde_json::Deserializer::from_slice(&json);
        let back = DynamicMessage::deserialize_with_options(
            desc.clone(),
            &mut de,
            &DeserializeOptions::new(),
        )
        .unwrap_or_else(|e| panic!("seed {seed}: {e}\n{}", String::from_utf8_lossy(&json)));
        let back = normal(&back);
        assert!(
            back == original,
            "seed {seed}: {:?} differ; JSON {}",
            differ(&back, &original),
            String::from_utf8_lossy(&json)
        );

        let text = original.to_text_format();
        let back = DynamicMessage::parse_text_format(desc.clone(), &text)
            .unwrap_or_else(|e| panic!("seed {seed}: {e}\n{text}"));
        let back = normal(&back);
        assert!(
            back == original,
            "seed {seed}: {:?} differ; text {text}",
            differ(&back, &original)
        );
        assert_eq!(
            original.descriptor().full_name(),
            "grpcx.test.v1.Everything"
        );
    }
}
