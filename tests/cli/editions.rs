//! Protobuf Editions (2023 and 2024): list, describe, templates and all four
//! kinds of call over every schema source (reflection from the grpcio
//! server, the .proto files, a protoset that grpcio-tools' protoc writes),
//! with JSON compared to protobuf's own mapping (Python's json_format, run
//! by tests/servers/py/editions.py on the same input).

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

use serde_json::{Value, json};

use crate::util::{Run, Server, root, run, run_with_stdin};

const FILES: [&str; 2] = [
    "grpcx/editions/v1/things.proto",
    "grpcx/editions/v1/later.proto",
];

fn schema_dir() -> String {
    root().join("tests/protos/editions").display().to_string()
}

fn python() -> String {
    std::env::var("GRPCX_TEST_PYTHON").unwrap_or_else(|_| "python3".into())
}

/// The editions schema as a protoset, written once per run by the protoc
/// that grpcio-tools bundles (Debian's protoc 3.21 knows no editions).
fn editions_protoset() -> &'static Path {
    static PROTOSET: OnceLock<PathBuf> = OnceLock::new();
    PROTOSET.get_or_init(|| {
        let dir = std::env::temp_dir().join(format!("grpcx-editions-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let out = dir.join("editions.protoset");
        let status = Command::new(python())
            .args(["-m", "grpc_tools.protoc", "--include_imports"])
            .arg(format!("--descriptor_set_out={}", out.display()))
            .args(["-I", &schema_dir()])
            .args(FILES)
            .status()
            .expect("python3 runs");
        assert!(status.success(), "grpc_tools.protoc failed");
        out
    })
}

/// The three schema sources, as extra arguments.
fn sources() -> Vec<(&'static str, Vec<String>)> {
    let dir = schema_dir();
    let mut files = vec!["-I".to_string(), dir.clone()];
    for file in FILES {
        files.push("--proto".into());
        files.push(format!("{dir}/{file}"));
    }
    vec![
        ("reflection", vec![]),
        ("proto", files),
        (
            "protoset",
            vec![
                "--protoset".into(),
                editions_protoset().display().to_string(),
            ],
        ),
    ]
}

fn grpcx(server: &Server, args: &[&str], extra: &[String], stdin: &str) -> Run {
    let mut all: Vec<&str> = args.to_vec();
    all.insert(1, &server.addr);
    all.extend(extra.iter().map(String::as_str));
    run_with_stdin(&all, stdin)
}

/// What protobuf's json_format prints for `input` parsed as `ty` and sent
/// through the wire; `Err` with its message when it refuses the input.
fn protobuf_json(ty: &str, input: &str) -> Result<Value, String> {
    let out = Command::new(python())
        .arg(root().join("tests/servers/py/editions.py"))
        .args(["json", ty, input])
        .output()
        .expect("python3 runs");
    if out.status.success() {
        Ok(serde_json::from_slice(&out.stdout).expect("json_format prints JSON"))
    } else {
        Err(String::from_utf8_lossy(&out.stderr).into_owned())
    }
}

const THING: &str = r#"{"count":0,"plain":0,"name":"","label":"","part":{"id":1,"note":"n"},"parts":[{"id":2},{"id":3,"note":""}],"color":"RED","size":"LARGE","packed":[1,2,3],"expanded":[4,5],"weight":7,"legacy":{"value":0,"otherValue":0},"sizes":["SMALL","LARGE"]}"#;
const THING_ZERO: &str = r#"{"count":0,"plain":0,"name":"","label":"","color":"COLOR_UNSPECIFIED","weight":0,"part":{}}"#;
const THING_OPEN: &str = r#"{"color":7,"plain":5,"name":"x"}"#;
const LATER: &str =
    r#"{"seq":0,"text":"","kept":0,"part":{"id":9,"note":""},"size":"SMALL","codes":[1,0,3]}"#;
const FLAT: &str =
    r#"{"n":3,"s":"s","e":4,"xs":[-1,0,1],"ys":["5","-6"],"color":"GREEN","b":true}"#;
const FLAT_ZERO: &str = r#"{"n":0,"s":"","e":0,"xs":[],"color":"COLOR_UNSPECIFIED","b":false}"#;
const LATER_SET: &str = r#"{"seq":4,"text":"t","kept":5,"part":{},"codes":[]}"#;

#[test]
fn list_describe_and_templates_over_every_source() {
    let server = Server::python();
    for (source, extra) in sources() {
        let ctx = format!("{source} via {}", server.addr);
        let out = grpcx(&server, &["list"], &extra, "");
        for name in ["grpcx.editions.v1.Things", "grpcx.editions.v1.Laters"] {
            assert!(
                out.ok().stdout.lines().any(|l| l == name),
                "{ctx}: {}",
                out.stdout
            );
        }
        let out = grpcx(&server, &["list", "grpcx.editions.v1.Laters"], &extra, "");
        assert_eq!(
            out.ok().stdout.lines().collect::<Vec<_>>(),
            [
                "grpcx.editions.v1.Laters.Echo",
                "grpcx.editions.v1.Laters.Repeat",
                "grpcx.editions.v1.Laters.Gather",
                "grpcx.editions.v1.Laters.Chat",
                "grpcx.editions.v1.Laters.Flatten",
            ],
            "{ctx}"
        );

        let out = grpcx(
            &server,
            &["describe", "grpcx.editions.v1.Later"],
            &extra,
            "",
        );
        let text = &out.ok().stdout;
        for line in [
            "// grpcx.editions.v1.Later is a message in grpcx/editions/v1/later.proto",
            "// edition = \"2024\";",
            "// option features.field_presence = IMPLICIT;",
            "message Later {",
            "  int32 seq = 1;",
            "  int32 kept = 3 [features.field_presence = EXPLICIT];",
            "  Thing.Part part = 4 [features.message_encoding = DELIMITED];",
            "  Size size = 5 [features.field_presence = EXPLICIT];",
            "  repeated fixed32 codes = 6 [features.repeated_field_encoding = EXPANDED];",
        ] {
            assert!(
                text.lines().any(|l| l == line),
                "{ctx}: no {line:?} in\n{text}"
            );
        }

        let out = grpcx(
            &server,
            &["describe", "grpcx.editions.v1.Thing"],
            &extra,
            "",
        );
        let text = &out.ok().stdout;
        for line in [
            "// edition = \"2023\";",
            "// option features.utf8_validation = NONE;",
            "  int32 count = 1;",
            "  int32 plain = 2 [features.field_presence = IMPLICIT];",
            "  repeated Part parts = 6 [features.message_encoding = DELIMITED];",
            "  repeated int32 packed = 9;",
            "  repeated int32 expanded = 10 [features.repeated_field_encoding = EXPANDED];",
        ] {
            assert!(
                text.lines().any(|l| l == line),
                "{ctx}: no {line:?} in\n{text}"
            );
        }
        // No proto2/proto3 labels leak out of the lowering.
        let labelled = |l: &str| {
            let l = l.trim_start();
            ["optional ", "required ", "group "]
                .iter()
                .any(|p| l.starts_with(p))
        };
        assert!(!text.lines().any(labelled), "{ctx}: {text}");

        // As JSON, the descriptor is the editions one, not the lowered one.
        let out = grpcx(
            &server,
            &["describe", "--format", "json", "grpcx.editions.v1.Later"],
            &extra,
            "",
        );
        let descriptor: Value = serde_json::from_str(&out.ok().stdout).unwrap();
        let part = &descriptor["field"][3];
        assert_eq!(part["name"], "part", "{ctx}: {descriptor}");
        assert_eq!(
            part["options"]["features"]["messageEncoding"], "DELIMITED",
            "{ctx}: {descriptor}"
        );
        assert!(
            !out.stdout.contains("TYPE_GROUP") && !out.stdout.contains("proto3Optional"),
            "{ctx}: {descriptor}"
        );

        let out = grpcx(&server, &["describe", "grpcx.editions.v1.Size"], &extra, "");
        assert!(
            out.ok()
                .stdout
                .contains("  option features.enum_type = CLOSED;\n  SMALL = 1;"),
            "{ctx}: {}",
            out.stdout
        );
        let out = grpcx(
            &server,
            &["describe", "grpcx.editions.v1.Legacy"],
            &extra,
            "",
        );
        assert!(
            out.ok()
                .stdout
                .contains("  option features.json_format = LEGACY_BEST_EFFORT;"),
            "{ctx}: {}",
            out.stdout
        );

        // A template is a request the server takes.
        for (method, ty) in [
            ("grpcx.editions.v1.Things/Echo", "grpcx.editions.v1.Thing"),
            ("grpcx.editions.v1.Laters/Echo", "grpcx.editions.v1.Later"),
        ] {
            let out = grpcx(&server, &["describe", "--template", ty], &extra, "");
            let template: Value = serde_json::from_str(&out.ok().stdout).unwrap();
            assert!(
                template.get("part").is_some_and(Value::is_object),
                "{ctx}: {template}"
            );
            let text = template.to_string();
            let out = grpcx(&server, &["call", method, "-d", &text], &extra, "");
            let got: Value = serde_json::from_str(&out.ok().stdout).unwrap();
            assert_eq!(got, protobuf_json(ty, &text).unwrap(), "{ctx}: {method}");
        }
    }
}

#[test]
fn json_is_protobufs_own_mapping_over_every_source() {
    let server = Server::python();
    for (source, extra) in sources() {
        for (method, ty, input) in [
            (
                "grpcx.editions.v1.Things/Echo",
                "grpcx.editions.v1.Thing",
                THING,
            ),
            (
                "grpcx.editions.v1.Things/Echo",
                "grpcx.editions.v1.Thing",
                THING_ZERO,
            ),
            (
                "grpcx.editions.v1.Things/Echo",
                "grpcx.editions.v1.Thing",
                THING_OPEN,
            ),
            (
                "grpcx.editions.v1.Laters/Echo",
                "grpcx.editions.v1.Later",
                LATER,
            ),
            (
                "grpcx.editions.v1.Laters/Echo",
                "grpcx.editions.v1.Later",
                LATER_SET,
            ),
            (
                "grpcx.editions.v1.Laters/Flatten",
                "grpcx.editions.v1.Flat",
                FLAT,
            ),
            (
                "grpcx.editions.v1.Laters/Flatten",
                "grpcx.editions.v1.Flat",
                FLAT_ZERO,
            ),
        ] {
            let ctx = format!("{source}: {method} {input}");
            let want = protobuf_json(ty, input).unwrap();
            for format in ["json", "ndjson"] {
                let out = grpcx(
                    &server,
                    &["call", method, "--format", format, "-d", input],
                    &extra,
                    "",
                );
                let got: Value = serde_json::from_str(&out.ok().stdout).unwrap();
                assert_eq!(got, want, "{ctx} -o {format}");
            }
        }
        // The mapping's rules, spelled out on the first case.
        let out = grpcx(
            &server,
            &["call", "grpcx.editions.v1.Things/Echo", "-d", THING_ZERO],
            &extra,
            "",
        );
        let got: Value = serde_json::from_str(&out.ok().stdout).unwrap();
        assert_eq!(
            got,
            json!({"count": 0, "label": "", "color": "COLOR_UNSPECIFIED", "weight": 0, "part": {}}),
            "{source}: implicit zeros left out, explicit zeros printed"
        );
    }
}

#[test]
fn all_four_kinds_of_call_over_every_source() {
    let server = Server::python();
    let two = format!("{LATER}\n{LATER_SET}\n");
    for (source, extra) in sources() {
        let first = protobuf_json("grpcx.editions.v1.Later", LATER).unwrap();
        let second = protobuf_json("grpcx.editions.v1.Later", LATER_SET).unwrap();
        let call = |method: &str, data: &str, stdin: &str| {
            let out = grpcx(&server, &["call", method, "-d", data], &extra, stdin);
            out.ok().json_lines()
        };
        assert_eq!(
            call("grpcx.editions.v1.Laters/Repeat", LATER, ""),
            [first.clone(), first.clone()],
            "{source}: server stream"
        );
        assert_eq!(
            call("grpcx.editions.v1.Laters/Chat", "@-", &two),
            [first.clone(), second.clone()],
            "{source}: bidi"
        );
        // Merged in order: the second's set fields win, lists append.
        let merged = call("grpcx.editions.v1.Laters/Gather", "@-", &two);
        assert_eq!(
            merged,
            [
                json!({"seq": 4, "text": "t", "kept": 5, "part": {"id": 9, "note": ""}, "size": "SMALL", "codes": [1, 0, 3]})
            ],
            "{source}: client stream"
        );
        let things = format!("{THING}\n{THING_OPEN}\n");
        let got = call("grpcx.editions.v1.Things/Chat", "@-", &things);
        assert_eq!(
            got,
            [
                protobuf_json("grpcx.editions.v1.Thing", THING).unwrap(),
                protobuf_json("grpcx.editions.v1.Thing", THING_OPEN).unwrap(),
            ],
            "{source}: bidi, 2023"
        );
    }
}

#[test]
fn closed_enums_are_closed_and_open_ones_open() {
    let server = Server::python();
    for (source, extra) in sources() {
        // A number that is no value of a closed enum: refused, as protobuf does.
        for (method, ty, input) in [
            (
                "grpcx.editions.v1.Laters/Echo",
                "grpcx.editions.v1.Later",
                r#"{"size":5}"#,
            ),
            (
                "grpcx.editions.v1.Things/Echo",
                "grpcx.editions.v1.Thing",
                r#"{"sizes":["SMALL",9]}"#,
            ),
        ] {
            assert!(
                protobuf_json(ty, input).is_err(),
                "json_format takes {input}"
            );
            let out = grpcx(&server, &["call", method, "-d", input], &extra, "");
            out.code(1)
                .stderr_has("is not a value of the closed enum grpcx.editions.v1.Size");
            assert_eq!(out.stderr.lines().count(), 1, "{source}: {}", out.stderr);
        }
        // The server sends size = 9 on the wire: protobuf keeps it among the
        // unknown fields, so JSON leaves it out.
        for (method, ty, input) in [
            (
                "grpcx.editions.v1.Laters/Echo",
                "grpcx.editions.v1.Later",
                r#"{"text":"unknown-size","kept":1}"#,
            ),
            (
                "grpcx.editions.v1.Things/Repeat",
                "grpcx.editions.v1.Thing",
                r#"{"label":"unknown-size","count":1}"#,
            ),
        ] {
            let out = grpcx(&server, &["call", method, "-d", input], &extra, "");
            let want = protobuf_json(ty, input).unwrap();
            for got in out.ok().json_lines() {
                assert!(got.get("size").is_none(), "{source}: {got}");
                assert_eq!(got, want, "{source}: {method}");
            }
        }
    }
}

#[test]
fn a_written_protoset_keeps_the_edition() {
    let server = Server::python();
    let dir = tempfile::tempdir().unwrap();
    for (source, extra) in sources() {
        let path = dir.path().join(format!("{source}.protoset"));
        let path_text = path.display().to_string();
        let out = grpcx(
            &server,
            &[
                "describe",
                "grpcx.editions.v1.Laters",
                "--protoset-out",
                &path_text,
            ],
            &extra,
            "",
        );
        out.ok();
        // protobuf itself reads the files back as editions files.
        let check = Command::new(python())
            .args([
                "-c",
                "import sys; from google.protobuf import descriptor_pb2 as d, descriptor_pool; \
                 s = d.FileDescriptorSet.FromString(open(sys.argv[1], 'rb').read()); \
                 pool = descriptor_pool.DescriptorPool(); [pool.Add(f) for f in s.file]; \
                 m = pool.FindMessageTypeByName('grpcx.editions.v1.Later'); \
                 assert m.fields_by_name['part'].message_type.full_name == 'grpcx.editions.v1.Thing.Part'; \
                 print(' '.join(f'{f.name}={f.syntax}/{f.edition}' for f in s.file))",
                &path_text,
            ])
            .output()
            .unwrap();
        let files = String::from_utf8_lossy(&check.stdout);
        assert!(
            files.contains("grpcx/editions/v1/later.proto=editions/1001")
                && files.contains("grpcx/editions/v1/things.proto=editions/1000"),
            "{source}: {files}"
        );
        // And grpcx reads them back as it wrote them.
        let out = run(&[
            "describe",
            "--protoset",
            &path_text,
            "grpcx.editions.v1.Later",
        ]);
        assert!(
            out.ok().stdout.contains("// edition = \"2024\";"),
            "{source}"
        );
        let out = run(&[
            "describe",
            "--protoset",
            &path_text,
            "grpcx.editions.v1.Thing",
        ]);
        assert!(
            out.ok()
                .stdout
                .contains("  int32 plain = 2 [features.field_presence = IMPLICIT];"),
            "{source}: {}",
            out.stdout
        );
    }
}

#[test]
fn editions_mistakes_in_proto_files_are_one_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    for (text, message) in [
        (
            "edition = \"2023\";\nmessage A { optional int32 a = 1; }\n",
            "label 'optional' is not allowed in editions",
        ),
        (
            "edition = \"2099\";\nmessage A {}\n",
            "unknown edition '2099'",
        ),
        (
            "edition = \"2023\";\nmessage A { group G = 1 { int32 x = 1; } }\n",
            "group syntax is not allowed in editions",
        ),
    ] {
        let path = dir.path().join("bad.proto");
        std::fs::write(&path, text).unwrap();
        let out = run(&["list", "--proto", &path.display().to_string()]);
        out.code(1).stderr_has(message);
        assert!(out.stderr.starts_with("grpcx: error: "), "{}", out.stderr);
        assert!(!out.stderr.contains("panicked"), "{}", out.stderr);
    }
}
