//! Lowering the test schema (tests/protos/editions) parsed from source:
//! what prost-reflect then sees.

use prost::Message as _;
use prost_reflect::{Cardinality, DescriptorPool, Kind, Syntax};
use prost_types::field_descriptor_proto::Type;

use super::*;

fn pool() -> DescriptorPool {
    let root = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/protos/editions/");
    let mut pool = DescriptorPool::new();
    for name in [
        "grpcx/editions/v1/things.proto",
        "grpcx/editions/v1/later.proto",
    ] {
        let text = std::fs::read_to_string(format!("{root}{name}")).unwrap();
        let (file, edition) = protox_parse::parse_with_edition(name, &text).unwrap();
        let lowered = lower_parsed(file, edition.unwrap()).unwrap();
        pool.add_file_descriptor_proto(lowered).unwrap();
    }
    pool
}

#[test]
fn features_become_proto2_and_proto3_constructs() {
    let pool = pool();
    let thing = pool.get_message_by_name("grpcx.editions.v1.Thing").unwrap();
    // A closed enum that does not start at zero keeps things.proto proto2.
    assert_eq!(thing.parent_file().syntax(), Syntax::Proto2);
    let field = |name: &str| thing.get_field_by_name(name).unwrap();
    assert!(field("count").supports_presence());
    assert!(field("part").is_group());
    assert!(field("parts").is_group() && field("parts").is_list());
    assert!(field("packed").is_packed());
    assert!(!field("expanded").is_packed());
    assert!(matches!(field("size").kind(), Kind::Enum(e) if is_closed(&e)));
    assert!(matches!(field("color").kind(), Kind::Enum(e) if !is_closed(&e)));

    let later = pool.get_message_by_name("grpcx.editions.v1.Later").unwrap();
    assert_eq!(later.parent_file().syntax(), Syntax::Proto3);
    let field = |name: &str| later.get_field_by_name(name).unwrap();
    assert!(!field("seq").supports_presence());
    assert!(field("kept").supports_presence());
    assert!(field("size").supports_presence());
    assert!(field("part").is_group());
    assert!(!field("codes").is_packed());
    assert_eq!(field("seq").cardinality(), Cardinality::Optional);
}

#[test]
fn the_original_keeps_edition_and_features() {
    let pool = pool();
    assert_eq!(edition_of("grpcx/editions/v1/later.proto"), Some("2024"));
    assert_eq!(
        shown("grpcx/editions/v1/later.proto", &[]),
        ["features.field_presence = IMPLICIT"]
    );
    assert_eq!(
        shown("grpcx/editions/v1/things.proto", &[4, 0, 2, 1]),
        ["features.field_presence = IMPLICIT"]
    );
    let file = pool
        .get_file_by_name("grpcx/editions/v1/later.proto")
        .unwrap();
    let original = original(&file).unwrap();
    let file = FileDescriptorProto::decode(original.as_slice()).unwrap();
    assert_eq!(file.syntax(), "editions");
    // Resolved as protoc writes it, with no trace of the lowering.
    let part = &file.message_type[0].field[3];
    assert_eq!(part.type_name(), ".grpcx.editions.v1.Thing.Part");
    assert_eq!(part.r#type(), Type::Message);
    assert!(
        file.message_type[0]
            .field
            .iter()
            .all(|f| f.proto3_optional.is_none())
    );
    assert_eq!(syntax_of(&original).as_deref(), Some("editions"));
    // Lowering it again gives the same file.
    let again = lower_encoded(&original).unwrap().unwrap();
    let again = FileDescriptorProto::decode(again.as_slice()).unwrap();
    assert_eq!(again.syntax(), "proto3");
}

#[test]
fn unknown_editions_are_errors() {
    let (file, _) =
        protox_parse::parse_with_edition("x.proto", "edition = \"2023\"; message A {}").unwrap();
    assert!(lower_parsed(file, "2099").is_err());
    assert!(protox_parse::parse_with_edition("x.proto", "edition = \"2099\";").is_err());
    assert!(
        protox_parse::parse_with_edition(
            "x.proto",
            "edition = \"2023\"; message A { optional int32 a = 1; }"
        )
        .is_err()
    );
}

fn thing(pool: &DescriptorPool, json: &str) -> prost_reflect::DynamicMessage {
    let desc = pool.get_message_by_name("grpcx.editions.v1.Thing").unwrap();
    let mut de = serde_json::Deserializer::from_str(json);
    prost_reflect::DynamicMessage::deserialize(desc, &mut de).unwrap()
}

#[test]
fn implicit_zeros_are_neither_sent_nor_printed_in_a_proto2_lowered_file() {
    let pool = pool();
    let mut message = thing(&pool, r#"{"count":0,"plain":0,"name":"","label":""}"#);
    prepare_input(&mut message).unwrap();
    // count (1) and label (4) have explicit presence; plain (2) and name
    // (3) are implicit.
    assert_eq!(message.encode_to_vec(), [0x08, 0x00, 0x22, 0x00]);

    let wire = [0x08, 0x00, 0x10, 0x00, 0x1a, 0x00];
    let desc = pool.get_message_by_name("grpcx.editions.v1.Thing").unwrap();
    let mut decoded = prost_reflect::DynamicMessage::decode(desc, &wire[..]).unwrap();
    prepare_output(&mut decoded);
    assert_eq!(decoded.encode_to_vec(), [0x08, 0x00]);
}

#[test]
fn packed_and_expanded_repeated_fields_both_decode() {
    let pool = pool();
    let desc = pool.get_message_by_name("grpcx.editions.v1.Thing").unwrap();
    // packed (9) sent expanded, expanded (10) sent packed.
    let wire = [0x48, 0x01, 0x48, 0x02, 0x52, 0x02, 0x03, 0x04];
    let message = prost_reflect::DynamicMessage::decode(desc.clone(), &wire[..]).unwrap();
    let list = |name: &str| message.get_field_by_name(name).unwrap().into_owned();
    use prost_reflect::Value::{I32, List};
    assert_eq!(list("packed"), List(vec![I32(1), I32(2)]));
    assert_eq!(list("expanded"), List(vec![I32(3), I32(4)]));
    // And grpcx sends each as its feature says.
    let again = message.encode_to_vec();
    assert_eq!(again, [0x4a, 0x02, 0x01, 0x02, 0x50, 0x03, 0x50, 0x04]);
}

#[test]
fn closed_enums_refuse_and_drop_unknown_numbers() {
    let pool = pool();
    let mut message = thing(&pool, r#"{"size":5}"#);
    let err = prepare_input(&mut message).unwrap_err().to_string();
    assert!(err.contains("closed enum grpcx.editions.v1.Size"), "{err}");
    let mut open = thing(&pool, r#"{"color":5}"#);
    prepare_input(&mut open).unwrap();
    assert!(open.has_field_by_name("color"));

    let desc = pool.get_message_by_name("grpcx.editions.v1.Thing").unwrap();
    // size = 9, sizes = [1, 9, 2], color = 9
    let wire = [0x40, 0x09, 0x68, 0x01, 0x68, 0x09, 0x68, 0x02, 0x38, 0x09];
    let mut decoded = prost_reflect::DynamicMessage::decode(desc, &wire[..]).unwrap();
    prepare_output(&mut decoded);
    // sizes goes packed: edition 2023 packs repeated enums.
    assert_eq!(
        decoded.encode_to_vec(),
        [0x38, 0x09, 0x6a, 0x02, 0x01, 0x02]
    );
}

#[test]
fn a_file_wide_delimited_leaves_enum_fields_alone() {
    let text = r#"edition = "2023";
        package wide;
        option features.message_encoding = DELIMITED;
        enum E { E0 = 0; E1 = 1; }
        message M { E e = 1; M m = 2; repeated int32 r = 3; }"#;
    let (file, edition) = protox_parse::parse_with_edition("wide.proto", text).unwrap();
    let mut pool = DescriptorPool::new();
    pool.add_file_descriptor_proto(lower_parsed(file, edition.unwrap()).unwrap())
        .unwrap();
    let message = pool.get_message_by_name("wide.M").unwrap();
    assert!(matches!(
        message.get_field_by_name("e").unwrap().kind(),
        Kind::Enum(_)
    ));
    assert!(message.get_field_by_name("m").unwrap().is_group());
    assert!(message.get_field_by_name("r").unwrap().is_packed());

    let original = original(&message.parent_file()).unwrap();
    let file = FileDescriptorProto::decode(original.as_slice()).unwrap();
    let types: Vec<Type> = file.message_type[0]
        .field
        .iter()
        .map(|f| f.r#type())
        .collect();
    assert_eq!(types, [Type::Enum, Type::Message, Type::Int32]);
    assert!(file.message_type[0].field[2].options.is_none(), "no packed");
    assert_eq!(
        shown("wide.proto", &[]),
        ["features.message_encoding = DELIMITED"]
    );
}

#[test]
fn the_json_fast_path_prints_editions_messages_as_the_slow_path_does() {
    use crate::transcode::tests::{fast, slow};
    use crate::transcode::{JsonOptions, Plans};
    use serde_json::ser::CompactFormatter;
    let pool = pool();
    let flat = pool.get_message_by_name("grpcx.editions.v1.Flat").unwrap();
    let mut de = serde_json::Deserializer::from_str(
        r#"{"n":0,"s":"s","e":0,"xs":[-1,0,1],"ys":["5"],"color":"GREEN","b":false}"#,
    );
    let mut message = prost_reflect::DynamicMessage::deserialize(flat.clone(), &mut de).unwrap();
    prepare_input(&mut message).unwrap();
    let wire = message.encode_to_vec();
    let options = JsonOptions::default();
    let mut plans = Plans::new(&options);
    let json = fast(&mut plans, &flat, &wire, CompactFormatter).expect("the fast path takes Flat");
    assert_eq!(Some(json), slow(&flat, &wire, &options, CompactFormatter));

    // Thing has a closed enum: the fast path leaves it to the slow one.
    let thing = pool.get_message_by_name("grpcx.editions.v1.Thing").unwrap();
    assert_eq!(fast(&mut plans, &thing, &[], CompactFormatter), None);
}

#[test]
fn import_option_is_an_import() {
    let text = "edition = \"2024\";\nimport option \"other.proto\";\nmessage A {}\n";
    let (file, edition) = protox_parse::parse_with_edition("a.proto", text).unwrap();
    assert_eq!(edition, Some("2024"));
    assert_eq!(file.dependency, ["other.proto"]);
}

#[test]
fn visibility_keywords_are_read() {
    let text = "edition = \"2024\";\nexport message A { local enum E { E0 = 0; } local l = 1; }\n\
                local /* c */ message local {}\n";
    let (file, _) = protox_parse::parse_with_edition("v.proto", text).unwrap();
    assert_eq!(file.message_type.len(), 2);
    assert_eq!(file.message_type[0].enum_type.len(), 1);
    assert_eq!(file.message_type[0].field[0].type_name(), "local");
    assert_eq!(file.message_type[1].name(), "local");
}

#[test]
fn maps_stay_maps_under_file_wide_features() {
    let text = r#"edition = "2023";
        package maps;
        option features.message_encoding = DELIMITED;
        option features.field_presence = IMPLICIT;
        message V { int32 x = 1; }
        message M { map<string, V> by_name = 1; map<int32, int32> counts = 2; int32 n = 3; }"#;
    let (file, edition) = protox_parse::parse_with_edition("maps.proto", text).unwrap();
    let mut pool = DescriptorPool::new();
    pool.add_file_descriptor_proto(lower_parsed(file, edition.unwrap()).unwrap())
        .unwrap();
    let message = pool.get_message_by_name("maps.M").unwrap();
    assert_eq!(message.parent_file().syntax(), Syntax::Proto3);
    let by_name = message.get_field_by_name("by_name").unwrap();
    assert!(by_name.is_map() && !by_name.is_group());
    let entry = by_name.kind().as_message().unwrap().clone();
    assert!(!entry.map_entry_value_field().is_group());
    let mut de = serde_json::Deserializer::from_str(
        r#"{"byName":{"a":{"x":1},"b":{}},"counts":{"1":0},"n":0}"#,
    );
    let decoded = prost_reflect::DynamicMessage::deserialize(message.clone(), &mut de).unwrap();
    let back =
        prost_reflect::DynamicMessage::decode(message, decoded.encode_to_vec().as_slice()).unwrap();
    let json = serde_json::to_value(&back).unwrap();
    assert_eq!(
        json,
        serde_json::json!({"byName": {"a": {"x": 1}, "b": {}}, "counts": {"1": 0}})
    );
}

proptest::proptest! {
    #![proptest_config(proptest::test_runner::Config::with_cases(300))]

    /// Lowering never panics, whatever the bytes of an editions file.
    #[test]
    fn lowering_survives_damaged_descriptors(
        flips in proptest::collection::vec((0usize..4096, 0u8..=255), 1..6),
        cut in 0usize..4096,
    ) {
        static ORIGINAL: std::sync::OnceLock<Vec<u8>> = std::sync::OnceLock::new();
        let bytes = ORIGINAL.get_or_init(|| {
            let pool = pool();
            original(&pool.get_file_by_name("grpcx/editions/v1/things.proto").unwrap()).unwrap()
        });
        let mut damaged = bytes.clone();
        for (at, byte) in flips {
            let at = at % damaged.len();
            damaged[at] = byte;
        }
        damaged.truncate(cut.max(1).min(damaged.len()));
        // The steps of `lower_encoded`, without registering the result
        // (other tests read the registry).
        let _ = syntax_of(&damaged);
        let _ = delimited(&damaged, 1);
        if let Ok(file) = file_message(&damaged) {
            let lowered = lower::lower(file, features::EDITION_2023);
            let _ = FileDescriptorProto::decode(lowered.file.encode_to_vec().as_slice());
        }
    }
}
