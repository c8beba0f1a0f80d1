//! Real-world schemas (issue 11): `--proto` names resolved as protoc
//! resolves them, `--proto DIR`, proto2 (extensions, groups, defaults,
//! required fields) against the grpcio server over all three schema
//! sources, and hand-made bad protosets that must end in one error line.

use std::path::{Path, PathBuf};
use std::process::Command;

use prost::Message as _;
use prost_types::FileDescriptorSet;
use serde_json::{Value, json};

use crate::util::{Run, Server, grpcx, root, run, wait_for};

/// The proto2 test schema's import root.
fn proto2_root() -> PathBuf {
    root().join("tests/protos/proto2")
}

/// Runs grpcx in `dir` (so that relative names are not found by accident).
fn run_in(dir: &Path, args: &[&str]) -> Run {
    let output = grpcx().current_dir(dir).args(args).output().unwrap();
    Run {
        code: output.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
        elapsed: std::time::Duration::ZERO,
    }
}

/// Exactly one line on stderr, `grpcx: error: …` containing `text`, and exit 1.
#[track_caller]
fn one_error_line(out: &Run, text: &str) {
    out.code(1);
    let lines: Vec<&str> = out.stderr.lines().collect();
    assert_eq!(lines.len(), 1, "one line:\n{}", out.stderr);
    assert!(
        lines[0].starts_with("grpcx: error: ") && lines[0].contains(text),
        "{text:?} in {:?}",
        lines[0]
    );
}

#[test]
fn proto_names_resolve_under_import_roots_like_protoc() {
    let dir = tempfile::tempdir().unwrap();
    let root = proto2_root().display().to_string();
    // A name relative to a root, from a directory that does not hold it.
    let out = run_in(
        dir.path(),
        &[
            "list",
            "--proto",
            "grpcx/proto2/v1/kitchen.proto",
            "-I",
            &root,
        ],
    );
    assert_eq!(out.ok().stdout, "grpcx.proto2.v1.Kitchen\n");
    // A path that exists inside a root is named under it, so its import of
    // "grpcx/proto2/v1/kitchen.proto" is the same file, not a second copy.
    let extras = proto2_root().join("grpcx/proto2/v1/extras.proto");
    let out = run_in(
        dir.path(),
        &[
            "describe",
            "--proto",
            &extras.display().to_string(),
            "--proto",
            "grpcx/proto2/v1/kitchen.proto",
            "-I",
            &root,
            "grpcx.proto2.v1.spice",
        ],
    );
    assert!(out.ok().stdout.contains("extend Order {"), "{}", out.stdout);

    // Roots are searched in order: the first that holds the name wins.
    for (sub, service) in [("a", "First"), ("b", "Second")] {
        std::fs::create_dir_all(dir.path().join(sub)).unwrap();
        std::fs::write(
            dir.path().join(sub).join("x.proto"),
            format!(
                "syntax = \"proto3\"; message M {{}} service {service} {{ rpc Do(M) returns (M); }}"
            ),
        )
        .unwrap();
    }
    let out = run_in(
        dir.path(),
        &["list", "--proto", "x.proto", "-I", "b", "-I", "a"],
    );
    assert_eq!(out.ok().stdout, "Second\n");
    let out = run_in(
        dir.path(),
        &["list", "--proto", "x.proto", "-I", "a", "-I", "b"],
    );
    assert_eq!(out.ok().stdout, "First\n");

    // Nothing matches: the roots searched are listed.
    let out = run_in(
        dir.path(),
        &["list", "--proto", "nope.proto", "-I", "a", "-I", "b"],
    );
    one_error_line(
        &out,
        "cannot find nope.proto: no such file, nor under any import root (searched a, b)",
    );
}

/// `--proto` files are compiled while the connection is made, and a
/// mistake in them is the error, whatever the server does (here: nothing
/// listens).
#[test]
fn a_broken_proto_file_is_the_error_even_when_no_server_answers() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("broken.proto"),
        "syntax = \"proto3\";\nmessage {\n",
    )
    .unwrap();
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = closed.local_addr().unwrap().to_string();
    drop(closed);
    let out = run_in(
        dir.path(),
        &[
            "call",
            "--proto",
            "broken.proto",
            &addr,
            "helloworld.Greeter/SayHello",
            "{}",
        ],
    );
    assert_eq!(out.code, 1, "{}", out.stderr);
    assert!(out.stderr.contains("broken.proto:2"), "{}", out.stderr);
    assert!(!out.stderr.contains("connect"), "{}", out.stderr);
}

#[test]
fn a_proto_directory_loads_every_file_under_it() {
    let root = proto2_root().display().to_string();
    let out = run(&["list", "--proto", &root]);
    assert_eq!(out.ok().stdout, "grpcx.proto2.v1.Kitchen\n");
    // extras.proto, which nothing imports, is loaded too.
    let out = run(&["describe", "--proto", &root, "grpcx.proto2.v1.Chef.chef"]);
    assert!(out.ok().stdout.contains("optional Chef chef = 100;"));

    // Recursively, in sorted order, other files ignored; DIR is the root.
    let dir = tempfile::tempdir().unwrap();
    let deep = dir.path().join("z/deeper");
    std::fs::create_dir_all(&deep).unwrap();
    std::fs::write(
        deep.join("b.proto"),
        "syntax = \"proto3\"; package p; import \"a.proto\"; service B { rpc Do(A) returns (A); }",
    )
    .unwrap();
    std::fs::write(
        dir.path().join("a.proto"),
        "syntax = \"proto3\"; package p; message A {} service A1 { rpc Do(A) returns (A); }",
    )
    .unwrap();
    std::fs::write(dir.path().join("README.md"), "not a proto").unwrap();
    let out = run(&["list", "--proto", &dir.path().display().to_string()]);
    assert_eq!(out.ok().stdout, "p.A1\np.B\n");

    let empty = tempfile::tempdir().unwrap();
    let out = run(&["list", "--proto", &empty.path().display().to_string()]);
    one_error_line(&out, "holds no .proto files");
}

/// The proto2 schema as protoc writes it, with its imports.
fn proto2_protoset(dir: &Path) -> PathBuf {
    let out = dir.join("proto2.protoset");
    let status = Command::new("protoc")
        .arg(format!("--descriptor_set_out={}", out.display()))
        .arg("--include_imports")
        .arg("-I")
        .arg(proto2_root())
        .args([
            "grpcx/proto2/v1/kitchen.proto",
            "grpcx/proto2/v1/extras.proto",
        ])
        .status()
        .expect("protoc is installed");
    assert!(status.success());
    out
}

/// The three schema sources for the proto2 schema, as extra arguments.
fn proto2_sources(dir: &Path) -> Vec<(&'static str, Vec<String>)> {
    vec![
        ("reflection", vec![]),
        (
            "proto",
            vec!["--proto".into(), proto2_root().display().to_string()],
        ),
        (
            "protoset",
            vec![
                "--protoset".into(),
                proto2_protoset(dir).display().to_string(),
            ],
        ),
    ]
}

fn with_source(server: &Server, args: &[&str], extra: &[String]) -> Run {
    let mut all: Vec<&str> = args.to_vec();
    all.insert(1, &server.addr);
    all.push("--plaintext");
    all.extend(extra.iter().map(String::as_str));
    run(&all)
}

#[test]
fn proto2_extensions_groups_and_defaults_match_protobufs_json() {
    let server = Server::python();
    let dir = tempfile::tempdir().unwrap();
    let order = json!({
        "id": "a1",
        "quantity": 0,
        "note": "no onions",
        "size": "SMALL",
        "tag": "AAE=",
        "topping": {"name": "olive", "extra": 5},
        "line": [{"item": "soup", "count": 2}, {"item": "bread"}],
        "[grpcx.proto2.v1.spice]": "cumin",
        "[grpcx.proto2.v1.lucky]": [3, 7],
    });
    let data = order.to_string();
    for (source, extra) in proto2_sources(dir.path()) {
        let out = with_source(
            &server,
            &["call", "grpcx.proto2.v1.Kitchen/Place", "-d", &data],
            &extra,
        );
        let reply = &out.ok().json_lines()[0];
        // protobuf's own JSON of the order the server read (json_format).
        let reference: Value = serde_json::from_str(reply["orderJson"].as_str().unwrap()).unwrap();
        assert_eq!(reply["order"], reference, "{source}");
        // Explicit presence: a zero that was set is sent and printed.
        assert_eq!(reference["quantity"], json!(0), "{source}");
        assert_eq!(reply["order"], order, "{source}");
        // An extension of the response, from a file the service's file does
        // not import (by reflection: found by file_containing_extension).
        assert_eq!(
            reply["[grpcx.proto2.v1.Chef.chef]"],
            json!({"name": "chef of cumin"}),
            "{source}"
        );
    }
}

#[test]
fn proto2_required_defaults_and_describe_over_every_source() {
    let server = Server::python();
    let dir = tempfile::tempdir().unwrap();
    for (source, extra) in proto2_sources(dir.path()) {
        // A missing required field, at the top and inside a group.
        let out = with_source(
            &server,
            &[
                "call",
                "grpcx.proto2.v1.Kitchen/Place",
                "-d",
                r#"{"quantity": 2}"#,
            ],
            &extra,
        );
        one_error_line(&out, "required field 'id' is missing");
        let out = with_source(
            &server,
            &[
                "call",
                "grpcx.proto2.v1.Kitchen/Place",
                "-d",
                r#"{"id": "x", "line": [{"item": "a"}, {"count": 1}]}"#,
            ],
            &extra,
        );
        one_error_line(&out, "required field 'line[1].item' is missing");

        // Defaults: unset fields are not printed (as json_format), and the
        // template shows them.
        let out = with_source(
            &server,
            &[
                "call",
                "grpcx.proto2.v1.Kitchen/Place",
                "-d",
                r#"{"id": "b"}"#,
            ],
            &extra,
        );
        let reply = &out.ok().json_lines()[0];
        assert_eq!(reply["order"], json!({"id": "b"}), "{source}");
        let out = with_source(
            &server,
            &["describe", "--template", "grpcx.proto2.v1.Order"],
            &extra,
        );
        let template: Value = serde_json::from_str(&out.ok().stdout).unwrap();
        assert_eq!(
            template,
            json!({
                "id": "", "quantity": 1, "note": "none", "size": "LARGE",
                "price": 2.5, "gift": true, "tag": "eAE=",
                "topping": {"name": "", "extra": 2},
                "line": [{"item": "", "count": 1}],
            }),
            "{source}"
        );

        let out = with_source(&server, &["describe", "grpcx.proto2.v1.Order"], &extra);
        let text = &out.ok().stdout;
        for line in [
            "  required string id = 1;",
            "  optional int32 quantity = 2 [default = 1];",
            "  optional string note = 3 [default = \"none\"];",
            "  optional Size size = 4 [default = LARGE];",
            "  optional bytes tag = 7 [default = \"x\\001\"];",
            "  optional group Topping = 8 {\n    optional string name = 9;\n    optional int32 extra = 10 [default = 2];\n  }",
            "  repeated group Line = 11 {",
            "  extensions 100 to 199;\n  extensions 1000 to max;\n}",
            "// extended in grpcx/proto2/v1/extras.proto:\nextend Order {\n  optional string spice = 100;\n  repeated int32 lucky = 101 [packed = false];\n}",
        ] {
            assert!(text.contains(line), "{source}: {line:?} in\n{text}");
        }
        assert!(!text.contains("message Topping"), "{source}: {text}");
        let out = with_source(&server, &["describe", "grpcx.proto2.v1.Chef"], &extra);
        assert!(
            out.ok()
                .stdout
                .contains("  extend Receipt {\n    optional Chef chef = 100;\n  }\n}"),
            "{source}: {}",
            out.stdout
        );
    }
}

/// The proto2 schema's descriptors, to break by hand.
fn good_set() -> FileDescriptorSet {
    let dir = tempfile::tempdir().unwrap();
    let bytes = std::fs::read(proto2_protoset(dir.path())).unwrap();
    FileDescriptorSet::decode(bytes.as_slice()).unwrap()
}

#[test]
fn bad_protosets_end_in_one_error_line() {
    let dir = tempfile::tempdir().unwrap();
    let good = good_set().encode_to_vec();
    let kitchen_index = |set: &FileDescriptorSet| {
        set.file
            .iter()
            .position(|f| f.name() == "grpcx/proto2/v1/kitchen.proto")
            .unwrap()
    };
    let mut cases: Vec<(&str, Vec<u8>, &str)> = Vec::new();
    cases.push((
        "truncated",
        good[..good.len() / 2].to_vec(),
        "is not a valid FileDescriptorSet",
    ));
    let mut flipped = good.clone();
    flipped[1] ^= 0x80; // the first file's length turns into a varint that runs on
    cases.push(("bit-flipped", flipped, "is not a valid FileDescriptorSet"));

    let mut set = good_set();
    let k = kitchen_index(&set);
    set.file.remove(k);
    cases.push((
        "missing dependency",
        set.encode_to_vec(),
        "imports 'grpcx/proto2/v1/kitchen.proto', which the schema does not include",
    ));
    let mut set = good_set();
    set.file[0].syntax = Some("proto4".into());
    cases.push((
        "unknown syntax",
        set.encode_to_vec(),
        "unknown syntax 'proto4'",
    ));
    let mut set = good_set();
    let k = kitchen_index(&set);
    set.file[k].message_type[1].field[0].type_name = Some(".grpcx.proto2.v1.Nope".into());
    cases.push((
        "dangling type name",
        set.encode_to_vec(),
        "'order' uses the type 'grpcx.proto2.v1.Nope', which nothing defines",
    ));
    let mut set = good_set();
    let k = kitchen_index(&set);
    set.file[k]
        .dependency
        .push("grpcx/proto2/v1/kitchen.proto".into());
    cases.push((
        "self import",
        set.encode_to_vec(),
        "grpcx/proto2/v1/kitchen.proto imports itself",
    ));
    let mut set = good_set();
    let k = kitchen_index(&set);
    set.file[k]
        .dependency
        .push("grpcx/proto2/v1/extras.proto".into());
    cases.push(("cyclic import", set.encode_to_vec(), "import cycle: "));
    let mut set = good_set();
    let k = kitchen_index(&set);
    let copy = set.file[k].clone();
    set.file.push(copy);
    cases.push((
        "duplicate files",
        set.encode_to_vec(),
        "two files named 'grpcx/proto2/v1/kitchen.proto'",
    ));

    for (what, bytes, text) in cases {
        let path = dir
            .path()
            .join(format!("{}.protoset", what.replace(' ', "-")));
        std::fs::write(&path, bytes).unwrap();
        let path = path.display().to_string();
        for args in [
            vec!["list", "--protoset", &path],
            vec!["describe", "--protoset", &path, "grpcx.proto2.v1.Order"],
        ] {
            let out = run(&args);
            assert!(!out.stderr.contains("panicked"), "{what}: {}", out.stderr);
            one_error_line(&out, text);
        }
    }
}

#[test]
fn bad_reflection_answers_end_in_one_error_line() {
    let python = std::env::var("GRPCX_TEST_PYTHON").unwrap_or_else(|_| "python3".into());
    for (case, text) in [
        (
            "truncated",
            "reflection sent a file descriptor that does not decode",
        ),
        (
            "bit-flipped",
            "reflection sent a file descriptor that does not decode",
        ),
        ("unknown-syntax", "declares an unknown syntax 'proto4'"),
        (
            "dangling-type",
            "uses the type 'grpcx.proto2.v1.Nope', which nothing defines",
        ),
        (
            "self-import",
            "grpcx/proto2/v1/kitchen.proto imports itself",
        ),
        (
            "cyclic-import",
            "import cycle: grpcx/proto2/v1/kitchen.proto → grpcx/proto2/v1/extras.proto → grpcx/proto2/v1/kitchen.proto",
        ),
        (
            "missing-import",
            "reflection could not give grpcx/proto2/v1/gone.proto",
        ),
        (
            "duplicate-files",
            "reflection sent two different files named 'grpcx/proto2/v1/kitchen.proto'",
        ),
    ] {
        let mut cmd = Command::new(&python);
        cmd.arg(root().join("tests/servers/py/bad_reflection.py"))
            .args(["--case", case]);
        let server = Server::start(cmd, "bad reflection server");
        for args in [
            vec!["describe", &server.addr, "grpcx.proto2.v1.Kitchen"],
            vec![
                "call",
                &server.addr,
                "grpcx.proto2.v1.Kitchen/Place",
                "-d",
                "{}",
            ],
        ] {
            let mut args = args.clone();
            args.push("--plaintext");
            let out = run(&args);
            assert!(!out.stderr.contains("panicked"), "{case}: {}", out.stderr);
            one_error_line(&out, text);
        }
    }
}

#[test]
fn an_extension_named_in_the_input_is_fetched_by_name_when_numbers_are_not_served() {
    let python = std::env::var("GRPCX_TEST_PYTHON").unwrap_or_else(|_| "python3".into());
    let mut cmd = Command::new(&python);
    cmd.arg(root().join("tests/servers/py/bad_reflection.py"))
        .args(["--case", "no-extension-numbers"]);
    let server = Server::start(cmd, "reflection-only server");
    let call = |data: &str| {
        run(&[
            "call",
            &server.addr,
            "--plaintext",
            "grpcx.proto2.v1.Kitchen/Place",
            "-d",
            data,
        ])
    };
    // The input parses (the extension was found by name), so the call goes
    // out, to a server that has only reflection: UNIMPLEMENTED.
    let out = call(r#"{"id": "a", "[grpcx.proto2.v1.spice]": "cumin"}"#);
    out.code(64 + 12).stderr_has("Unimplemented");
    wait_for(|| {
        server
            .log()
            .contains("file_containing_symbol")
            .then_some(())
    });
    // A name the server does not know stays an input error.
    let out = call(r#"{"id": "a", "[grpcx.proto2.v1.nope]": 1}"#);
    one_error_line(&out, "unrecognized field name '[grpcx.proto2.v1.nope]'");
    // The same in text format (`call --input-format text`).
    let text = |data: &str| {
        run(&[
            "call",
            &server.addr,
            "--plaintext",
            "--input-format",
            "text",
            "grpcx.proto2.v1.Kitchen/Place",
            "-d",
            data,
        ])
    };
    let out = text(r#"id: "a" [grpcx.proto2.v1.spice]: "cumin""#);
    out.code(64 + 12).stderr_has("Unimplemented");
    let out = text(r#"id: "a" [grpcx.proto2.v1.nope]: 1"#);
    one_error_line(
        &out,
        "extension 'grpcx.proto2.v1.nope' not found for message 'grpcx.proto2.v1.Order'",
    );
}

/// The options written in a .proto file come out of `--proto` as protoc
/// writes them: the plain ones (encoded from grpcx's table, without
/// descriptor.proto) and a custom one beside them (interpreted in general),
/// at every level. A plain option with a value of the wrong kind gets the
/// general path's diagnostic, with its place in the file.
#[test]
fn options_from_proto_files_are_protocs() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("opts.proto"),
        r#"syntax = "proto2";
package o;
import "google/protobuf/descriptor.proto";
option java_package = "com.example.o";
option java_outer_classname = "Opts";
option java_multiple_files = true;
option optimize_for = CODE_SIZE;
option go_package = "example.com/o;o";
option deprecated = false;
option cc_enable_arenas = true;
option objc_class_prefix = "OPT";
option csharp_namespace = "Example.O";
option swift_prefix = "O";
option php_namespace = "Example\\O";
option ruby_package = "Example::O";
extend google.protobuf.MessageOptions { optional int32 level = 50001; }
message M {
  option deprecated = true;
  option (level) = 3;
  repeated int32 packed = 1 [packed = true, deprecated = true];
  optional string s = 2 [ctype = CORD, jstype = JS_NORMAL];
  optional M lazy = 3 [lazy = true];
}
enum E {
  option allow_alias = true;
  E_ZERO = 0;
  E_NONE = 0 [deprecated = true];
}
service S {
  option deprecated = true;
  rpc Get(M) returns (M) { option idempotency_level = NO_SIDE_EFFECTS; }
}
"#,
    )
    .unwrap();
    let ours = dir.path().join("ours.protoset");
    run_in(
        dir.path(),
        &[
            "list",
            "--proto",
            "opts.proto",
            "--protoset-out",
            &ours.display().to_string(),
        ],
    )
    .ok();
    let theirs = dir.path().join("theirs.protoset");
    let status = Command::new("protoc")
        .current_dir(dir.path())
        .arg(format!("--descriptor_set_out={}", theirs.display()))
        .arg("opts.proto")
        .status()
        .expect("protoc is installed");
    assert!(status.success());
    let file = |path: &Path| {
        let set = FileDescriptorSet::decode(std::fs::read(path).unwrap().as_slice()).unwrap();
        let mut file = set
            .file
            .into_iter()
            .find(|f| f.name() == "opts.proto")
            .unwrap();
        file.source_code_info = None;
        file
    };
    let (ours, theirs) = (file(&ours), file(&theirs));
    assert_eq!(ours.options, theirs.options);
    assert_eq!(ours.message_type, theirs.message_type);
    assert_eq!(ours.enum_type, theirs.enum_type);
    assert_eq!(ours.service, theirs.service);
    // The custom option is there (prost_types keeps it as unknown bytes,
    // which its equality does not see): level = 3, field 50001, varint.
    let message_options = ours.message_type[0].options.as_ref().unwrap();
    assert_eq!(message_options.deprecated, Some(true));
    let bytes = std::fs::read(dir.path().join("ours.protoset")).unwrap();
    assert!(
        bytes.windows(4).any(|w| w == [0x88, 0xb5, 0x18, 0x03]),
        "(level) = 3 is encoded"
    );

    std::fs::write(
        dir.path().join("bad.proto"),
        "syntax = \"proto3\"; package b; option java_multiple_files = \"yes\"; message B {}",
    )
    .unwrap();
    let out = run_in(dir.path(), &["list", "--proto", "bad.proto"]);
    out.code(1);
    let first = out.stderr.lines().next().unwrap_or_default();
    assert!(
        first.starts_with("grpcx: error: cannot compile the .proto files: bad.proto:1:31: ")
            && first.contains("type 'bool' for option 'java_multiple_files'"),
        "{first:?}"
    );
}
