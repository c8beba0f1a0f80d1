//! Tests of the fast path: it must print exactly what the slow path prints,
//! accept the common types, and decline everything else untouched.
use std::io::{self, Write};
use std::sync::LazyLock;

use prost::Message as _;
use prost::encoding::{WireType, encode_key, encode_varint};
use prost_reflect::{DynamicMessage, Value};
use serde_json::ser::{CompactFormatter, Formatter, PrettyFormatter};

use super::*;
use crate::output::{Tagged, WithOptions};
use crate::testing::Rng;

/// Every eligible kind, nested, repeated, optional, oneof; and types that
/// must be declined.
const FAST3: &str = r#"
    syntax = "proto3";
    package fast.v1;
    import "google/protobuf/struct.proto";
    import "google/protobuf/timestamp.proto";

    enum Mood { MOOD_UNSPECIFIED = 0; MOOD_HAPPY = 1; MOOD_SAD = -1; MOOD_HUGE = 100000; }
    enum Aliased { option allow_alias = true; ALIASED_ZERO = 0; ALIASED_ONE = 1; ALIASED_UNO = 1; }

    message Scalars {
      double f_double = 1; float f_float = 2; int32 f_int32 = 3; int64 f_int64 = 4;
      uint32 f_uint32 = 5; uint64 f_uint64 = 6; sint32 f_sint32 = 7; sint64 f_sint64 = 8;
      fixed32 f_fixed32 = 9; fixed64 f_fixed64 = 10; sfixed32 f_sfixed32 = 11;
      sfixed64 f_sfixed64 = 12; bool f_bool = 13; string f_string = 14; bytes f_bytes = 15;
      Mood f_mood = 16; Aliased f_aliased = 17; google.protobuf.NullValue f_null = 18;
    }
    message Lists {
      repeated double r_double = 1; repeated float r_float = 2; repeated int32 r_int32 = 3;
      repeated int64 r_int64 = 4; repeated uint32 r_uint32 = 5; repeated uint64 r_uint64 = 6;
      repeated sint32 r_sint32 = 7; repeated sint64 r_sint64 = 8; repeated fixed32 r_fixed32 = 9;
      repeated fixed64 r_fixed64 = 10; repeated sfixed32 r_sfixed32 = 11;
      repeated sfixed64 r_sfixed64 = 12; repeated bool r_bool = 13; repeated string r_string = 14;
      repeated bytes r_bytes = 15; repeated Mood r_mood = 16; repeated Scalars r_scalars = 17;
      repeated int32 r_unpacked = 18 [packed = false];
      repeated google.protobuf.NullValue r_null = 19;
    }
    message Tree {
      Scalars scalars = 1; Lists lists = 2; Tree left = 3; Tree right = 4;
      optional int32 opt_int32 = 5; optional string opt_string = 6; optional Mood opt_mood = 7;
      optional double opt_double = 8; optional bytes opt_bytes = 9;
      oneof pick {
        int64 pick_int64 = 10; string pick_string = 11; Scalars pick_scalars = 12;
        Mood pick_mood = 13; google.protobuf.NullValue pick_null = 14;
      }
      int32 renamed = 15 [json_name = "customName"];
      string snake_case_name = 16;
      int32 sparse_field = 1000;
      uint64 huge_number = 536870911;
    }
    message WithMap { int32 a = 1; map<string, int32> m = 2; }
    message WithWkt { google.protobuf.Timestamp at = 1; }
    message ReachesMap { Tree tree = 1; WithMap bad = 2; }
    message CycleA { CycleB b = 1; int32 x = 2; }
    message CycleB { CycleA a = 1; WithWkt w = 2; }
"#;

const FAST2: &str = r#"
    syntax = "proto2";
    package fast.v2;
    enum Closed { CLOSED_ONE = 1; CLOSED_TWO = 2; }
    message Legacy {
      optional int32 a = 1; optional string s = 2; optional bool b = 3;
      repeated int32 ri = 4; repeated sint64 rp = 5 [packed = true];
      optional Closed c = 6; optional Legacy child = 7; optional bytes by = 8;
    }
    message OnlyRanges { optional int32 a = 1; extensions 100 to 200; }
    message WithDefault { optional int32 a = 1 [default = 7]; }
    message WithGroup { optional group G = 1 { optional int32 x = 2; } }
    message Extendable { optional int32 a = 1; extensions 100 to 200; }
    extend Extendable { optional int32 ext = 100; }
"#;

const ELIGIBLE: &[&str] = &[
    "fast.v1.Scalars",
    "fast.v1.Lists",
    "fast.v1.Tree",
    "fast.v2.Legacy",
    "fast.v2.OnlyRanges",
];
const DECLINED: &[&str] = &[
    "fast.v1.WithMap",
    "fast.v1.WithWkt",
    "fast.v1.ReachesMap",
    "fast.v1.CycleA",
    "fast.v1.CycleB",
    "fast.v2.WithDefault",
    "fast.v2.WithGroup",
    "fast.v2.Extendable",
    "google.protobuf.Timestamp",
    "google.protobuf.Struct",
];

static POOL: LazyLock<DescriptorPool> =
    LazyLock::new(|| crate::testing::compile(&[("fast3.proto", FAST3), ("fast2.proto", FAST2)]));

static SERVER_POOL: LazyLock<DescriptorPool> =
    LazyLock::new(|| DescriptorPool::decode(crate::server::FILE_DESCRIPTOR_SET).unwrap());

fn desc(name: &str) -> MessageDescriptor {
    POOL.get_message_by_name(name)
        .or_else(|| SERVER_POOL.get_message_by_name(name))
        .unwrap_or_else(|| panic!("no message {name}"))
}

/// A formatter that marks keys and strings, standing in for a colour one.
struct Marking;

impl Formatter for Marking {
    fn begin_object_key<W: ?Sized + Write>(&mut self, w: &mut W, first: bool) -> io::Result<()> {
        w.write_all(if first { b"{K" } else { b",K" })
    }
    fn begin_object<W: ?Sized + Write>(&mut self, _: &mut W) -> io::Result<()> {
        Ok(())
    }
    fn begin_string<W: ?Sized + Write>(&mut self, w: &mut W) -> io::Result<()> {
        w.write_all(b"<\"")
    }
    fn end_string<W: ?Sized + Write>(&mut self, w: &mut W) -> io::Result<()> {
        w.write_all(b"\">")
    }
    fn write_null<W: ?Sized + Write>(&mut self, w: &mut W) -> io::Result<()> {
        w.write_all(b"NULL")
    }
    fn write_i32<W: ?Sized + Write>(&mut self, w: &mut W, v: i32) -> io::Result<()> {
        write!(w, "i32:{v}")
    }
    fn write_i64<W: ?Sized + Write>(&mut self, w: &mut W, v: i64) -> io::Result<()> {
        write!(w, "i64:{v}")
    }
    fn write_u32<W: ?Sized + Write>(&mut self, w: &mut W, v: u32) -> io::Result<()> {
        write!(w, "u32:{v}")
    }
    fn write_u64<W: ?Sized + Write>(&mut self, w: &mut W, v: u64) -> io::Result<()> {
        write!(w, "u64:{v}")
    }
    fn write_f32<W: ?Sized + Write>(&mut self, w: &mut W, v: f32) -> io::Result<()> {
        write!(w, "f32:{v:e}")
    }
    fn write_f64<W: ?Sized + Write>(&mut self, w: &mut W, v: f64) -> io::Result<()> {
        write!(w, "f64:{v:e}")
    }
    fn begin_array_value<W: ?Sized + Write>(&mut self, w: &mut W, first: bool) -> io::Result<()> {
        w.write_all(if first { b"[E" } else { b",E" })
    }
}

pub(crate) fn slow<F: Formatter>(
    desc: &MessageDescriptor,
    bytes: &[u8],
    opts: &JsonOptions,
    f: F,
) -> Option<String> {
    let message = DynamicMessage::decode(desc.clone(), bytes).ok()?;
    let mut out = Vec::new();
    let mut ser = serde_json::Serializer::with_formatter(&mut out, f);
    let options = opts.serialize_options();
    message.serialize_with_options(&mut ser, &options).unwrap();
    Some(String::from_utf8(out).unwrap())
}

/// The fast path's output, or `None` after checking it left `out` alone.
pub(crate) fn fast<F: Formatter>(
    plans: &mut Plans,
    desc: &MessageDescriptor,
    bytes: &[u8],
    f: F,
) -> Option<String> {
    let mut out = b"before|".to_vec();
    if write_json(plans, desc, bytes, &mut out, f) {
        assert!(out.starts_with(b"before|"));
        Some(String::from_utf8(out[7..].to_vec()).unwrap())
    } else {
        assert_eq!(out, b"before|", "a declined write left bytes behind");
        None
    }
}

/// Whether the fast path took `bytes`; when it did, it must equal the
/// slow path with three formatters.
fn agree(plans: &mut Plans, desc: &MessageDescriptor, bytes: &[u8], opts: &JsonOptions) -> bool {
    let compact = fast(plans, desc, bytes, CompactFormatter);
    let pretty = fast(plans, desc, bytes, PrettyFormatter::with_indent(b"  "));
    let marking = fast(plans, desc, bytes, Marking);
    let what = format!("{} {bytes:?}", desc.full_name());
    assert_eq!(compact.is_some(), pretty.is_some(), "{what}");
    assert_eq!(compact.is_some(), marking.is_some(), "{what}");
    if compact.is_some() {
        assert_eq!(compact, slow(desc, bytes, opts, CompactFormatter), "{what}");
        let slow_pretty = slow(desc, bytes, opts, PrettyFormatter::with_indent(b"  "));
        assert_eq!(pretty, slow_pretty, "{what}");
        assert_eq!(marking, slow(desc, bytes, opts, Marking), "{what}");
    }
    compact.is_some()
}

/// 64 bits for a random value: edge cases half the time, any bits otherwise.
fn bits(rng: &mut Rng) -> u64 {
    match rng.index(8) {
        0 => 0,
        1 => u64::MAX,
        2 => rng.below(300),
        3 => rng.pick(&[
            i32::MIN as u64,
            i32::MAX as u64,
            i64::MIN as u64,
            u32::MAX as u64,
        ]),
        _ => rng.next() >> rng.below(64),
    }
}

const STRINGS: &[&str] = &[
    "",
    "x",
    "héllo",
    "\"quoted\" \\ back",
    "tab\tnew\nline\r",
    "\u{1}\u{1f}\u{7f}",
    "日本語",
    "😀 emoji",
    "</script>",
    "\u{2028}\u{2029}",
    "a\u{0}b",
];

fn random_value(rng: &mut Rng, kind: &Kind, depth: u32) -> Value {
    match kind {
        Kind::Double => Value::F64(match rng.index(3) {
            0 => rng.pick(&[
                0.0,
                -0.0,
                1.5,
                -2.5e300,
                1e-310,
                f64::NAN,
                f64::INFINITY,
                f64::NEG_INFINITY,
            ]),
            _ => f64::from_bits(bits(rng)),
        }),
        Kind::Float => Value::F32(match rng.index(3) {
            0 => rng.pick(&[
                0.0,
                -0.0,
                0.1,
                -3.4e38,
                1e-40,
                f32::NAN,
                f32::INFINITY,
                f32::NEG_INFINITY,
            ]),
            _ => f32::from_bits(bits(rng) as u32),
        }),
        Kind::Int32 | Kind::Sint32 | Kind::Sfixed32 => Value::I32(bits(rng) as i32),
        Kind::Int64 | Kind::Sint64 | Kind::Sfixed64 => Value::I64(bits(rng) as i64),
        Kind::Uint32 | Kind::Fixed32 => Value::U32(bits(rng) as u32),
        Kind::Uint64 | Kind::Fixed64 => Value::U64(bits(rng)),
        Kind::Bool => Value::Bool(rng.index(2) == 0),
        Kind::String => Value::String(rng.pick(STRINGS).to_owned()),
        Kind::Bytes => {
            let len = rng.index(8);
            let bytes: Vec<u8> = (0..len).map(|_| rng.next() as u8).collect();
            Value::Bytes(bytes.into())
        }
        Kind::Enum(e) => {
            let known: Vec<i32> = e.values().map(|v| v.number()).collect();
            Value::EnumNumber(match rng.index(4) {
                0 => rng.pick(&[0, 5, -7, i32::MAX]),
                _ => rng.pick(&known),
            })
        }
        Kind::Message(m) => Value::Message(random_message(rng, m, depth + 1)),
    }
}

fn random_message(rng: &mut Rng, desc: &MessageDescriptor, depth: u32) -> DynamicMessage {
    let mut message = DynamicMessage::new(desc.clone());
    if depth > 3 {
        return message;
    }
    for field in desc.fields() {
        if rng.index(2) == 0 || field.is_map() {
            continue;
        }
        let value = if field.is_list() {
            let len = rng.index(4);
            let items = (0..len).map(|_| random_value(rng, &field.kind(), depth));
            Value::List(items.collect())
        } else {
            random_value(rng, &field.kind(), depth)
        };
        message.set_field(&field, value);
    }
    message
}

/// The top-level records of `bytes`: (number, wire type, whole record).
fn records(bytes: &[u8]) -> Vec<(u32, u8, &[u8])> {
    let mut wire = Wire::new(bytes);
    let mut records = Vec::new();
    while !wire.done() {
        let start = wire.pos;
        let (number, wire_type) = wire.key().unwrap();
        wire.skip(wire_type).unwrap();
        records.push((number, wire_type, &bytes[start..wire.pos]));
    }
    records
}

/// Re-encodes packed lists as a random mix of packed chunks (some empty)
/// and unpacked values: the same message, still canonical.
fn repack(rng: &mut Rng, plan: &MsgPlan, bytes: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    for (number, wire_type, record) in records(bytes) {
        let field = plan.field(number).unwrap();
        if !(field.repeated && field.ty.packable() && wire_type == 2) {
            out.extend_from_slice(record);
            continue;
        }
        let mut wire = Wire::new(record);
        wire.key().unwrap();
        let mut data = Wire::new(wire.delimited().unwrap());
        let mut chunk = Vec::new();
        let unpacked = WireType::try_from(u64::from(field.ty.wire_type())).unwrap();
        let flush = |chunk: &mut Vec<u8>, out: &mut Vec<u8>| {
            encode_key(number, WireType::LengthDelimited, out);
            encode_varint(chunk.len() as u64, out);
            out.append(chunk);
        };
        while !data.done() {
            let start = data.pos;
            data.value(field.ty).unwrap();
            let element = &data.buf[start..data.pos];
            match rng.index(3) {
                0 => {
                    encode_key(number, unpacked, &mut out);
                    out.extend_from_slice(element);
                }
                1 => {
                    chunk.extend_from_slice(element);
                    flush(&mut chunk, &mut out);
                }
                _ => chunk.extend_from_slice(element),
            }
        }
        flush(&mut chunk, &mut out);
    }
    out
}

fn all_options() -> Vec<JsonOptions> {
    (0..8)
        .map(|i| JsonOptions {
            int64_as_number: i & 1 != 0,
            enum_as_number: i & 2 != 0,
            proto_names: i & 4 != 0,
            emit_defaults: false,
        })
        .collect()
}

#[test]
fn random_messages_print_as_the_slow_path_prints_them() {
    let mut rng = Rng(0x5eed_1234_abcd_ef01);
    for opts in all_options() {
        let mut plans = Plans::new(&opts);
        for name in ELIGIBLE {
            let desc = desc(name);
            for _ in 0..150 {
                let bytes = random_message(&mut rng, &desc, 0).encode_to_vec();
                assert!(
                    agree(&mut plans, &desc, &bytes, &opts),
                    "declined canonical {name} {bytes:?}"
                );
                let id = plans.plan(&desc).unwrap() as usize;
                let repacked = repack(&mut rng, &plans.arena.msgs[id], &bytes);
                assert!(
                    agree(&mut plans, &desc, &repacked, &opts),
                    "declined repacked {name}"
                );
            }
        }
    }
}

#[test]
fn damaged_wire_is_declined_or_printed_as_the_slow_path_prints_it() {
    let mut rng = Rng(42);
    let opts = JsonOptions::default();
    let mut plans = Plans::new(&opts);
    for name in ELIGIBLE {
        let desc = desc(name);
        for _ in 0..200 {
            let bytes = random_message(&mut rng, &desc, 0).encode_to_vec();
            let mut damaged = bytes.clone();
            match rng.index(5) {
                0 => damaged.truncate(rng.index(bytes.len() + 1)),
                1 if !bytes.is_empty() => damaged[rng.index(bytes.len())] ^= 1 << rng.index(8),
                2 => damaged.extend_from_slice(&bytes),
                3 => {
                    let mut shuffled = records(&bytes);
                    if shuffled.len() >= 2 {
                        let i = rng.index(shuffled.len() - 1);
                        shuffled.swap(i, i + 1);
                    }
                    damaged = shuffled.iter().flat_map(|r| r.2).copied().collect();
                }
                _ => {
                    // Unknown fields of every wire type, anywhere, are skipped.
                    let mut varint = Vec::new();
                    encode_varint(rng.next(), &mut varint);
                    let unknown = wire(&[
                        (4242, Varint, &varint),
                        (4243, Len, b"\xff\xfe"),
                        (4244, I32, &[1, 2, 3, 4]),
                        (4245, I64, &[9; 8]),
                    ]);
                    let all = records(&bytes);
                    let i = rng.index(all.len() + 1);
                    let at: usize = all[..i].iter().map(|r| r.2.len()).sum();
                    damaged.splice(at..at, unknown);
                    // Declining is allowed only where they split one list's records.
                    let splits_list = i > 0 && i < all.len() && all[i - 1].0 == all[i].0;
                    let accepted = agree(&mut plans, &desc, &damaged, &opts);
                    assert!(accepted || splits_list, "declined unknown fields");
                }
            }
            agree(&mut plans, &desc, &damaged, &opts);
        }
    }
}

#[test]
fn ineligible_types_and_emit_defaults_are_declined() {
    let mut plans = Plans::new(&JsonOptions::default());
    for name in DECLINED {
        let desc = desc(name);
        let bytes = random_message(&mut Rng(7), &desc, 0).encode_to_vec();
        let json = fast(&mut plans, &desc, &bytes, CompactFormatter);
        assert_eq!(json, None, "{name}");
    }
    let everything = desc("grpcx.test.v1.Everything");
    assert_eq!(fast(&mut plans, &everything, &[], CompactFormatter), None);

    let emit_defaults = JsonOptions {
        emit_defaults: true,
        ..JsonOptions::default()
    };
    let mut plans = Plans::new(&emit_defaults);
    let chunk = desc("grpcx.test.v1.Chunk");
    assert_eq!(fast(&mut plans, &chunk, &[], CompactFormatter), None);
}

/// Encodes one message of the server's own generated types.
fn encoded(message: &impl prost::Message) -> Vec<u8> {
    message.encode_to_vec()
}

#[test]
fn the_streaming_types_take_the_fast_path() {
    use crate::server::pb::helloworld::HelloReply;
    use crate::server::pb::test::{Chunk, StreamRequest, Summary, everything::Inner};
    let opts = JsonOptions::default();
    let mut plans = Plans::new(&opts);
    let cases: Vec<(&str, Vec<u8>, &str)> = vec![
        (
            "grpcx.test.v1.Chunk",
            encoded(&Chunk {
                seq: 7,
                pad: "xxxx".into(),
            }),
            r#"{"seq":7,"pad":"xxxx"}"#,
        ),
        ("grpcx.test.v1.Chunk", vec![], "{}"),
        (
            "helloworld.HelloReply",
            encoded(&HelloReply {
                message: "Hello, é!".into(),
            }),
            r#"{"message":"Hello, é!"}"#,
        ),
        (
            "grpcx.test.v1.StreamRequest",
            encoded(&StreamRequest {
                count: 3,
                payload_size: 0,
                interval_ms: 5,
            }),
            r#"{"count":3,"intervalMs":5}"#,
        ),
        (
            "grpcx.test.v1.Summary",
            encoded(&Summary {
                count: 2,
                bytes: 1 << 40,
            }),
            r#"{"count":"2","bytes":"1099511627776"}"#,
        ),
        (
            "grpcx.test.v1.Everything.Inner",
            encoded(&Inner {
                name: "n".into(),
                value: -1,
            }),
            r#"{"name":"n","value":-1}"#,
        ),
    ];
    for (name, bytes, json) in cases {
        let printed = fast(&mut plans, &desc(name), &bytes, CompactFormatter);
        assert_eq!(printed.as_deref(), Some(json));
        assert!(agree(&mut plans, &desc(name), &bytes, &opts));
    }
}

/// Hand-built wire: a list of (number, wire type, payload) records.
fn wire(records: &[(u32, WireType, &[u8])]) -> Vec<u8> {
    let mut out = Vec::new();
    for &(number, wire_type, payload) in records {
        encode_key(number, wire_type, &mut out);
        if wire_type == WireType::LengthDelimited {
            encode_varint(payload.len() as u64, &mut out);
        }
        out.extend_from_slice(payload);
    }
    out
}

use WireType::{LengthDelimited as Len, SixtyFourBit as I64, ThirtyTwoBit as I32, Varint};

#[test]
fn canonical_variants_are_accepted() {
    let opts = JsonOptions::default();
    let mut plans = Plans::new(&opts);
    let [scalars, lists, tree] = ["fast.v1.Scalars", "fast.v1.Lists", "fast.v1.Tree"].map(desc);
    let ranges = desc("fast.v2.OnlyRanges");
    let accepted: Vec<(&MessageDescriptor, Vec<u8>, &str)> = vec![
        // Implicit-presence defaults on the wire are not printed; -0.0 is
        // not a default (protobuf compares floats bit for bit).
        (&scalars, wire(&[(3, Varint, &[0]), (14, Len, b"")]), "{}"),
        (
            &scalars,
            wire(&[(1, I64, &(-0.0f64).to_le_bytes()), (3, Varint, &[0])]),
            r#"{"fDouble":-0.0}"#,
        ),
        (
            &scalars,
            wire(&[
                (1, I64, &f64::NAN.to_le_bytes()),
                (2, I32, &f32::NEG_INFINITY.to_le_bytes()),
            ]),
            r#"{"fDouble":"NaN","fFloat":"-Infinity"}"#,
        ),
        // Packed chunks (one empty), then unpacked values: one list.
        (
            &lists,
            wire(&[
                (3, Len, &[1, 2]),
                (3, Len, &[]),
                (3, Varint, &[3]),
                (3, Len, &[0x7f]),
            ]),
            r#"{"rInt32":[1,2,3,127]}"#,
        ),
        // A list made only of empty chunks is empty, and empty lists are not printed.
        (
            &lists,
            wire(&[(3, Len, &[]), (4, Len, &[]), (16, Varint, &[1])]),
            r#"{"rMood":["MOOD_HAPPY"]}"#,
        ),
        // Packed on the wire although declared unpacked.
        (
            &lists,
            wire(&[(18, Len, &[5, 6])]),
            r#"{"rUnpacked":[5,6]}"#,
        ),
        (&lists, wire(&[(19, Varint, &[0])]), r#"{"rNull":[null]}"#),
        // Presence: default values are printed; an empty message is {}.
        (
            &tree,
            wire(&[(1, Len, b""), (5, Varint, &[0]), (13, Varint, &[0])]),
            r#"{"scalars":{},"optInt32":0,"pickMood":"MOOD_UNSPECIFIED"}"#,
        ),
        (
            &tree,
            wire(&[
                (14, Varint, &[0]),
                (15, Varint, &[1]),
                (1000, Varint, &[2]),
                (536870911, Varint, &[3]),
            ]),
            r#"{"pickNull":null,"customName":1,"sparseField":2,"hugeNumber":"3"}"#,
        ),
        // Unknown enum numbers print as numbers; aliases by prost-reflect's choice.
        (
            &scalars,
            wire(&[(16, Varint, &[5]), (17, Varint, &[1])]),
            r#"{"fMood":5,"fAliased":"ALIASED_ONE"}"#,
        ),
        // Unknown fields anywhere, even out of order, are skipped.
        (
            &scalars,
            wire(&[
                (900, Varint, &[1]),
                (3, Varint, &[1]),
                (800, I32, &[0; 4]),
                (4, Varint, &[2]),
            ]),
            r#"{"fInt32":1,"fInt64":"2"}"#,
        ),
        (
            &ranges,
            wire(&[(1, Varint, &[0]), (150, Varint, &[1])]),
            r#"{"a":0}"#,
        ),
    ];
    for (desc, bytes, json) in accepted {
        let printed = fast(&mut plans, desc, &bytes, CompactFormatter);
        assert_eq!(printed.as_deref(), Some(json), "{bytes:?}");
        assert!(agree(&mut plans, desc, &bytes, &opts));
    }
}

#[test]
fn non_canonical_wire_is_declined_and_out_is_untouched() {
    let mut plans = Plans::new(&JsonOptions::default());
    let [scalars, lists, tree] = ["fast.v1.Scalars", "fast.v1.Lists", "fast.v1.Tree"].map(desc);
    let nested_bad_utf8 = wire(&[(14, Len, b"\xc3\x28")]);
    let mut deep = vec![];
    for _ in 0..70 {
        deep = wire(&[(3, Len, &deep)]);
    }
    let declined: Vec<(&str, &MessageDescriptor, Vec<u8>)> = vec![
        (
            "out of order",
            &scalars,
            wire(&[(3, Varint, &[1]), (1, I64, &[0; 8])]),
        ),
        (
            "singular twice",
            &scalars,
            wire(&[(3, Varint, &[1]), (3, Varint, &[2])]),
        ),
        (
            "default twice",
            &scalars,
            wire(&[(3, Varint, &[0]), (3, Varint, &[0])]),
        ),
        (
            "message twice",
            &tree,
            wire(&[(1, Len, b""), (1, Len, b"")]),
        ),
        (
            "list interrupted",
            &lists,
            wire(&[(3, Len, &[1]), (4, Len, &[1]), (3, Varint, &[2])]),
        ),
        (
            "two oneof members",
            &tree,
            wire(&[(10, Varint, &[1]), (11, Len, b"x")]),
        ),
        ("truncated varint", &scalars, wire(&[(3, Varint, &[0x80])])),
        ("truncated length", &scalars, vec![0x72, 5, b'a']),
        ("truncated fixed", &scalars, vec![0x09, 1, 2, 3]),
        (
            "overlong varint",
            &scalars,
            wire(&[(3, Varint, &[0xff; 10])]),
        ),
        (
            "eleven-byte varint",
            &scalars,
            wire(&[(
                3,
                Varint,
                &[
                    0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0,
                ],
            )]),
        ),
        ("bad utf-8", &scalars, wire(&[(14, Len, b"\xff")])),
        (
            "bad utf-8 nested",
            &tree,
            wire(&[(1, Len, &nested_bad_utf8)]),
        ),
        (
            "bad utf-8 in list",
            &lists,
            wire(&[(14, Len, b"ok"), (14, Len, b"\xed\xa0\x80")]),
        ),
        ("wrong wire type", &scalars, wire(&[(3, I32, &[0; 4])])),
        ("string as varint", &scalars, wire(&[(14, Varint, &[1])])),
        (
            "packed fixed32 of 3 bytes",
            &lists,
            wire(&[(9, Len, &[1, 2, 3])]),
        ),
        (
            "packed varint cut short",
            &lists,
            wire(&[(3, Len, &[1, 0x80])]),
        ),
        (
            "packed strings",
            &lists,
            wire(&[(14, Len, b"")])
                .into_iter()
                .chain(wire(&[(14, Varint, &[0])]))
                .collect(),
        ),
        ("unknown group", &scalars, vec![0xa3, 0x3e, 0xa4, 0x3e]),
        ("field number 0", &scalars, vec![0x00, 0x01]),
        ("too deep", &tree, deep),
    ];
    for (what, desc, bytes) in declined {
        let compact = fast(&mut plans, desc, &bytes, CompactFormatter);
        let pretty = fast(&mut plans, desc, &bytes, PrettyFormatter::new());
        assert_eq!((compact, pretty), (None, None), "{what}");
    }
}

#[test]
fn every_option_reaches_the_fast_path() {
    for opts in all_options() {
        let mut plans = Plans::new(&opts);
        let desc = desc("fast.v1.Tree");
        let bytes = wire(&[(15, Varint, &[1]), (536870911, Varint, &[1])]);
        let json = fast(&mut plans, &desc, &bytes, CompactFormatter).unwrap();
        assert_eq!(
            json.contains("custom_name") || json.contains("renamed"),
            opts.proto_names
        );
        assert_eq!(json.contains("\"1\""), !opts.int64_as_number);
        assert!(agree(&mut plans, &desc, &bytes, &opts));
    }
}

#[test]
fn a_nested_wire_json_prints_as_the_slow_path_or_fails() {
    let opts = JsonOptions::default();
    let mut plans = Plans::new(&opts);
    let tree = desc("fast.v1.Tree");
    let mut rng = Rng(99);
    for _ in 0..50 {
        let bytes = random_message(&mut rng, &tree, 0).encode_to_vec();
        let json = plans.json(&tree, &bytes).unwrap();
        let fast = serde_json::to_string_pretty(&Tagged("message", &json, None)).unwrap();
        let message = DynamicMessage::decode(tree.clone(), &bytes[..]).unwrap();
        let body = WithOptions(&message, &opts.serialize_options());
        let slow = serde_json::to_string_pretty(&Tagged("message", &body, None));
        assert_eq!(fast, slow.unwrap());
    }
    let json = plans.json(&tree, b"\x28\x01\x28\x01").unwrap();
    assert!(serde_json::to_vec(&Tagged("message", &json, None)).is_err());
    assert!(plans.json(&desc("fast.v1.WithMap"), b"").is_none());
}

#[test]
fn a_new_pool_replaces_the_cached_plans() {
    let mut plans = Plans::new(&JsonOptions::default());
    let chunk = desc("grpcx.test.v1.Chunk");
    let bytes = wire(&[(1, Varint, &[1])]);
    assert!(fast(&mut plans, &chunk, &bytes, CompactFormatter).is_some());
    let other = DescriptorPool::decode(crate::server::FILE_DESCRIPTOR_SET).unwrap();
    let chunk = other.get_message_by_name("grpcx.test.v1.Chunk").unwrap();
    let printed = fast(&mut plans, &chunk, &bytes, CompactFormatter);
    assert_eq!(printed.as_deref(), Some(r#"{"seq":1}"#));
}
