//! grpc-js (`tests/servers/node/grpc_server.js`), where it differs from the
//! other servers: reflection that leaves imports out (the repair lives in
//! src/schema/imports.rs), errors answered trailers-only, and
//! `grpc-message: OK` on success.

use serde_json::json;

use crate::util::{Server, run};

/// The lines of a `-v` block (after its title, up to the blank line).
fn block<'a>(stderr: &'a str, title: &str) -> Vec<&'a str> {
    let mut lines = stderr.lines().skip_while(|line| !line.starts_with(title));
    assert!(lines.next().is_some(), "no {title:?} in:\n{stderr}");
    lines.take_while(|line| !line.is_empty()).collect()
}

/// Files sent without their imports resolve, well-known types included:
/// an Any, a Timestamp and a Struct round-trip, and a written protoset
/// then works offline.
#[test]
fn reflection_without_imports_resolves() {
    let server = Server::node();
    let input = json!({
        "wTimestamp": "2024-02-29T12:34:56Z",
        "wAny": {"@type": "type.googleapis.com/grpcx.test.v1.Note", "text": "n"},
        "wStruct": {"k": [1.5, null]},
        "fMessage": {"name": "inner"},
        "mInt64Inner": {"7": {"value": 1}},
        "optInt32": 0
    });
    let dir = tempfile::tempdir().unwrap();
    let protoset = dir.path().join("grpc-js.protoset");
    let protoset = protoset.to_str().unwrap();
    let out = run(&[
        "call",
        &server.addr,
        "grpcx.test.v1.Echo/Echo",
        &input.to_string(),
        "--protoset-out",
        protoset,
    ]);
    assert_eq!(out.ok().json_lines(), std::slice::from_ref(&input));
    let out = run(&[
        "call",
        &server.addr,
        "grpcx.test.v1.Echo/Echo",
        &input.to_string(),
        "--protoset",
        protoset,
    ]);
    assert_eq!(out.ok().json_lines(), [input]);
    // Package-less services, listed by grpc-js as `.Hello`.
    let out = run(&["list", &server.addr]);
    assert_eq!(
        out.ok().stdout,
        "Hello\ngreet\ngrpcx.test.v1.Echo\nhelloworld.Greeter\n"
    );
}

/// A file whose types come from files the server did not send: grpcx asks
/// for each missing name by symbol.
#[test]
fn missing_files_are_fetched_by_symbol() {
    let server = Server::node_with(&["--lone-files"]);
    let input = json!({"wTimestamp": "2024-02-29T12:34:56Z", "wDuration": "1s"});
    let out = run(&[
        "call",
        &server.addr,
        "grpcx.test.v1.Echo/Echo",
        &input.to_string(),
    ]);
    assert_eq!(out.ok().json_lines(), [input]);
    let out = run(&["describe", &server.addr, "grpcx.test.v1.Everything"]);
    assert!(
        out.ok()
            .stdout
            .contains("\n  google.protobuf.Timestamp w_timestamp = 50;\n"),
        "{}",
        out.stdout
    );
}

/// `describe` and `list -l` with no symbol show every service that
/// resolves, name the one that does not, and exit 1; the others still work.
#[test]
fn describe_shows_the_services_that_resolve() {
    let server = Server::node_with(&["--dangling-type"]);
    let out = run(&["describe", &server.addr]);
    out.code(1)
        .stderr_has("grpcx: warning: helloworld.Greeter does not resolve:")
        .stderr_has("helloworld.Missing")
        .stderr_has("grpcx: error: 1 of 4 services did not resolve: helloworld.Greeter");
    for text in ["service Echo {", "service Hello {", "service greet {"] {
        assert!(out.stdout.contains(text), "{}", out.stdout);
    }
    assert!(!out.stdout.contains("service Greeter"), "{}", out.stdout);
    let out = run(&["call", &server.addr, "Hello/Hello", r#"{"text":"x"}"#]);
    assert_eq!(out.ok().json_lines(), [json!({"text": "pong: x"})]);
    // Suggestions look through the services that resolve.
    run(&["describe", &server.addr, "grpcx.test.v1.Evrything"])
        .code(1)
        .stderr_has("did you mean grpcx.test.v1.Everything?");
    // `list -l` lists the methods of the others the same way.
    let out = run(&["list", "-l", &server.addr]);
    out.code(1)
        .stderr_has("grpcx: warning: helloworld.Greeter does not resolve:")
        .stderr_has("grpcx: error: 1 of 4 services did not resolve: helloworld.Greeter");
    assert!(
        out.stdout.contains("Hello.Hello\tunary\tPing\tPing\n"),
        "{}",
        out.stdout
    );
    assert!(!out.stdout.contains("helloworld.Greeter"), "{}", out.stdout);
    // Names alone need no schema, so all four are listed.
    let out = run(&["list", &server.addr]);
    assert!(
        out.ok().stdout.contains("helloworld.Greeter\n"),
        "{}",
        out.stdout
    );
}

/// An error before any message comes as one header block (trailers-only):
/// `-v` shows its status fields among the trailers, as for any other error.
#[test]
fn verbose_shows_the_status_of_a_trailers_only_answer() {
    for server in [Server::node(), Server::bundled()] {
        let out = run(&[
            "call",
            &server.addr,
            "helloworld.Greeter/SayHello",
            "-v",
            "-H",
            "x-grpcx-fail: NOT_FOUND",
            "-H",
            "x-grpcx-fail-message: no such dish",
            "-H",
            "x-grpcx-fail-details: 1",
        ]);
        out.code(69);
        let trailers = block(&out.stderr, "Response trailers received:");
        for line in ["grpc-status: 5", "grpc-message: no such dish"] {
            assert!(trailers.contains(&line), "{}", out.stderr);
        }
        assert!(
            trailers
                .iter()
                .any(|l| l.starts_with("content-type: application/grpc"))
        );
        assert!(
            trailers
                .iter()
                .any(|l| l.starts_with("grpc-status-details-bin: ")),
            "{}",
            out.stderr
        );
        // The same after a message, in real trailers.
        let out = run(&[
            "call",
            &server.addr,
            "grpcx.test.v1.Echo/Stream",
            r#"{"count":3}"#,
            "-v",
            "-H",
            "x-grpcx-fail: 14",
            "-H",
            "x-grpcx-fail-after: 1",
        ]);
        out.code(78);
        let trailers = block(&out.stderr, "Response trailers received:");
        assert_eq!(
            trailers,
            ["grpc-status: 14", "grpc-message: failed on request"],
            "{}",
            out.stderr
        );
    }
    // A failure grpcx met itself carries no status fields.
    let out = run(&[
        "call",
        "127.0.0.1:1",
        "helloworld.Greeter/SayHello",
        "--proto",
        &crate::util::proto("helloworld.proto"),
        "-v",
    ]);
    assert!(!out.stderr.contains("grpc-status:"), "{}", out.stderr);
}

/// `--envelope` reports the success message the server sent.
#[test]
fn the_envelope_shows_grpc_message_ok() {
    for (server, message) in [(Server::node(), "OK"), (Server::bundled(), "")] {
        let out = run(&[
            "call",
            &server.addr,
            "helloworld.Greeter/SayHello",
            r#"{"name":"e"}"#,
            "--envelope",
        ]);
        let events = out.ok().json_lines();
        assert_eq!(
            events.last().unwrap(),
            &json!({"status":{"code":"OK","codeNumber":0,"message":message,"details":[]}})
        );
    }
}
