//! `grpcx convert` (binary, JSON and text, one message or a delimited
//! stream, stdin to stdout) and `call --input-format text`.

use serde_json::json;

use crate::util::{Server, grpcx, proto, run_with_stdin};

const REQUEST: &str = "helloworld.HelloRequest";

/// `grpcx convert --proto helloworld.proto --type HelloRequest ARGS` with
/// `stdin`: (exit code, stdout bytes, stderr).
fn convert(args: &[&str], stdin: &[u8]) -> (i32, Vec<u8>, String) {
    let out = grpcx()
        .args([
            "convert",
            "--proto",
            &proto("helloworld.proto"),
            "--type",
            REQUEST,
        ])
        .args(args)
        .write_stdin(stdin.to_vec())
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        out.stdout,
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[track_caller]
fn converts(args: &[&str], stdin: &[u8], expected: &[u8]) {
    let (code, stdout, stderr) = convert(args, stdin);
    assert_eq!(code, 0, "{args:?}: {stderr}");
    assert_eq!(
        String::from_utf8_lossy(&stdout),
        String::from_utf8_lossy(expected),
        "{args:?}"
    );
}

#[test]
fn one_message_between_every_pair_of_forms() {
    let wire = b"\x0a\x03you";
    converts(&["--from", "json"], br#"{"name":"you"}"#, wire);
    converts(&["--from", "text"], b"name: \"you\"\n", wire);
    converts(&[], wire, b"{\"name\":\"you\"}\n");
    converts(&["--to", "text"], wire, b"name:\"you\"\n");
    converts(&["--from", "binary", "--to", "binary"], wire, wire);
    converts(
        &["--from", "text", "--to", "json"],
        b"# a comment\nname: 'you'",
        b"{\"name\":\"you\"}\n",
    );
    converts(
        &["--from", "json", "--to", "text"],
        b"{\"name\":\"you\"}",
        b"name:\"you\"\n",
    );
    // The empty message: no bytes, `{}`, no text.
    converts(&[], b"", b"{}\n");
    converts(&["--from", "json"], b"{}", b"");
    converts(&["--from", "text"], b"", b"");
    // The output flags of `call`.
    converts(&["--emit-defaults"], b"", b"{\"name\":\"\"}\n");
}

#[test]
fn delimited_streams_in_every_form() {
    let stream = b"\x05\x0a\x03one\x05\x0a\x03two";
    converts(
        &["--from", "json", "--delimited"],
        b"{\"name\":\"one\"}\n{\"name\":\"two\"}\n",
        stream,
    );
    converts(
        &["--from", "text", "--delimited"],
        b"name: \"one\"\x1ename: \"two\"\x1e\n",
        stream,
    );
    converts(
        &["--delimited"],
        stream,
        b"{\"name\":\"one\"}\n{\"name\":\"two\"}\n",
    );
    converts(
        &["--delimited", "--to", "text"],
        stream,
        b"name:\"one\"\nname:\"two\"\n",
    );
    converts(&["--delimited"], b"", b"");
}

#[test]
fn bad_input_is_one_clear_error() {
    let cases: [(&[&str], &[u8], i32, &str); 8] = [
        (
            &[],
            b"\x0a\x05ab",
            1,
            "message 1: invalid helloworld.HelloRequest: failed to decode",
        ),
        (
            &["--delimited"],
            b"\x05\x0a\x03one\x09\x0a",
            1,
            "message 2: the input ends after 1 of its 9 bytes",
        ),
        (
            &["--from", "json"],
            br#"{"name":"a","name":"b"}"#,
            1,
            "field 'name' is given twice",
        ),
        (
            &["--from", "json"],
            br#"{"name":"a"} {"name":"b"}"#,
            1,
            "the input holds more than one message; give --delimited",
        ),
        (
            &["--from", "json"],
            b"",
            1,
            "the input holds no JSON object",
        ),
        (
            &["--from", "text"],
            b"\nnombre: \"x\"",
            1,
            "message 1: invalid helloworld.HelloRequest: field 'nombre' not found for message \
             'helloworld.HelloRequest' (line 2 column 1)",
        ),
        (
            &["--from", "text"],
            b"name: 5",
            1,
            "expected a string, but found '5'",
        ),
        (&["--from", "yaml"], b"", 2, "invalid value 'yaml'"),
    ];
    for (args, stdin, code, error) in cases {
        let (got, stdout, stderr) = convert(args, stdin);
        assert_eq!(got, code, "{args:?}: {stderr}");
        assert!(stderr.contains(error), "{args:?}: {stderr}");
        assert!(!stderr.contains("panicked"), "{stderr}");
        if code == 1 && args != ["--delimited"] {
            assert!(stdout.is_empty(), "{args:?}");
        }
    }
    // Without a schema there is nothing to convert with; a service is no
    // message type.
    let helloworld = proto("helloworld.proto");
    let usage: [(&[&str], &str); 2] = [
        (&["--type", REQUEST], "give --proto or --protoset"),
        (
            &["--proto", &helloworld, "--type", "helloworld.Greeter"],
            "--type takes a message type, but helloworld.Greeter is a service",
        ),
    ];
    for (args, error) in usage {
        let out = grpcx().arg("convert").args(args).output().unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{stderr}");
        assert!(stderr.contains(error), "{stderr}");
    }
}

#[test]
fn the_schema_comes_from_a_server_by_reflection() {
    let server = Server::bundled();
    let out = grpcx()
        .args(["convert", &server.addr, "--type", REQUEST, "--from", "text"])
        .args(["--to", "json"])
        .write_stdin("name: \"by reflection\"")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(out.stdout, b"{\"name\":\"by reflection\"}\n");
}

#[test]
fn call_reads_text_format_requests() {
    let server = Server::bundled();
    let unary = run_with_stdin(
        &[
            "call",
            "--input-format",
            "text",
            &server.addr,
            "helloworld.Greeter/SayHello",
            "name: \"text\"",
        ],
        "",
    );
    assert_eq!(
        unary.ok().json_lines(),
        [json!({"message": "Hello, text!"})]
    );
    // Several messages, separated by 0x1E as grpcurl reads them.
    let bidi = run_with_stdin(
        &[
            "call",
            "--input-format",
            "text",
            &server.addr,
            "helloworld.Greeter/SayHelloBidiStream",
            "-d",
            "@-",
        ],
        "name: \"x\"\x1e\nname: 'y'\n\x1e",
    );
    assert_eq!(
        bidi.ok().json_lines(),
        [
            json!({"message": "Hello, x!"}),
            json!({"message": "Hello, y!"})
        ]
    );
    // A bad second message names itself and its line.
    let bad = run_with_stdin(
        &[
            "call",
            "--input-format",
            "text",
            &server.addr,
            "helloworld.Greeter/SayHelloBidiStream",
            "-d",
            "@-",
        ],
        "name: \"x\"\x1e\nname: 1",
    );
    bad.code(1)
        .stderr_has("message 2: invalid helloworld.HelloRequest: expected a string, but found '1' (line 2 column 7)");
}
