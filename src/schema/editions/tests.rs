//! Lowering the test schema (tests/protos/editions) parsed from source:
//! what prost-reflect then sees.

use prost_reflect::{Cardinality, DescriptorPool, Kind, Syntax};

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
    pool();
    assert_eq!(edition_of("grpcx/editions/v1/later.proto"), Some("2024"));
    assert_eq!(
        shown("grpcx/editions/v1/later.proto", &[]),
        ["features.field_presence = IMPLICIT"]
    );
    assert_eq!(
        shown("grpcx/editions/v1/things.proto", &[4, 0, 2, 1]),
        ["features.field_presence = IMPLICIT"]
    );
    let original = original("grpcx/editions/v1/later.proto").unwrap();
    let file = FileDescriptorProto::decode(original.as_slice()).unwrap();
    assert_eq!(file.syntax(), "editions");
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
