//! The core contract: every schema source, all four kinds of call, JSON
//! round trips, and each error path with its exit code.

use std::io::Write;
use std::time::{Duration, Instant};

use serde_json::json;

use crate::util::{Server, interactive, proto, protoset, run, run_with_stdin};

/// The three schema sources, as extra arguments.
fn sources() -> Vec<(&'static str, Vec<String>)> {
    let root = crate::util::root().join("proto").display().to_string();
    vec![
        ("reflection", vec![]),
        (
            "proto",
            vec![
                "--proto".into(),
                proto("helloworld.proto"),
                "--proto".into(),
                proto("grpcx/test/v1/everything.proto"),
                "--proto".into(),
                proto("grpcx/test/v1/note.proto"),
                "-I".into(),
                root,
            ],
        ),
        (
            "protoset",
            vec!["--protoset".into(), protoset().display().to_string()],
        ),
    ]
}

fn call(server: &Server, method: &str, data: &str, extra: &[String]) -> crate::util::Run {
    let mut args = vec!["call", &server.addr, method, "-d", data];
    args.extend(extra.iter().map(String::as_str));
    run(&args)
}

/// Every kind of call, over every schema source, against one server.
fn four_kinds(server: &Server) {
    for (source, extra) in sources() {
        let out = call(
            server,
            "helloworld.Greeter/SayHello",
            r#"{"name":"you"}"#,
            &extra,
        );
        assert_eq!(
            out.ok().json_lines(),
            [json!({"message": "Hello, you!"})],
            "{source}"
        );

        let out = call(
            server,
            "helloworld.Greeter.SayHelloStreamReply",
            r#"{"name":"s"}"#,
            &extra,
        );
        let messages: Vec<_> = out
            .ok()
            .json_lines()
            .into_iter()
            .map(|v| v["message"].clone())
            .collect();
        assert_eq!(
            messages,
            [
                "Hello, s! (1 of 3)",
                "Hello, s! (2 of 3)",
                "Hello, s! (3 of 3)"
            ],
            "{source}"
        );

        let mut args = vec![
            "call",
            &server.addr,
            "helloworld.Greeter/SayHelloClientStream",
            "-d",
            "@-",
        ];
        args.extend(extra.iter().map(String::as_str));
        let out = run_with_stdin(
            &args,
            "{\"name\":\"a\"}\n{\n  \"name\": \"b\"\n}{\"name\":\"c\"}",
        );
        assert_eq!(
            out.ok().json_lines(),
            [json!({"message": "Hello, a, b, c!"})],
            "{source}"
        );

        let mut args = vec![
            "call",
            &server.addr,
            "helloworld.Greeter/SayHelloBidiStream",
            "-d",
            "@-",
        ];
        args.extend(extra.iter().map(String::as_str));
        let out = run_with_stdin(&args, "{\"name\":\"x\"}\n{\"name\":\"y\"}\n");
        assert_eq!(
            out.ok().json_lines(),
            [
                json!({"message": "Hello, x!"}),
                json!({"message": "Hello, y!"})
            ],
            "{source}"
        );
    }
}

#[test]
fn four_kinds_against_the_bundled_server() {
    four_kinds(&Server::bundled());
}

#[test]
fn four_kinds_against_grpcio() {
    four_kinds(&Server::python());
}

#[test]
fn four_kinds_against_grpc_js() {
    four_kinds(&Server::node());
}

#[test]
fn package_less_services_in_every_spelling() {
    for server in [Server::bundled(), Server::python(), Server::node()] {
        for method in ["Hello/Hello", "Hello.Hello", "greet/hello", "/greet/hello"] {
            let out = call(&server, method, r#"{"text":"hi"}"#, &[]);
            assert_eq!(
                out.ok().json_lines(),
                [json!({"text": "pong: hi"})],
                "{method}"
            );
        }
    }
}

#[test]
fn no_data_is_the_empty_message() {
    let server = Server::bundled();
    let out = run(&["call", &server.addr, "helloworld.Greeter/SayHello"]);
    assert_eq!(out.ok().json_lines(), [json!({"message": "Hello, !"})]);
    // A client stream with no data sends nothing and half-closes.
    let out = run(&[
        "call",
        &server.addr,
        "helloworld.Greeter/SayHelloClientStream",
    ]);
    assert_eq!(
        out.ok().json_lines(),
        [json!({"message": "Hello, nobody!"})]
    );
}

#[test]
fn data_from_a_file_and_positionally() {
    let server = Server::bundled();
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("req.json");
    std::fs::write(&file, "{\n  \"name\": \"file\"\n}\n").unwrap();
    let at = format!("@{}", file.display());
    let out = run(&["call", &server.addr, "helloworld.Greeter/SayHello", &at]);
    assert_eq!(out.ok().json_lines(), [json!({"message": "Hello, file!"})]);
    // Flags may come after the positionals.
    let out = run(&[
        "call",
        &server.addr,
        "helloworld.Greeter/SayHello",
        "--format",
        "ndjson",
        "-d",
        &at,
    ]);
    assert_eq!(out.ok().json_lines(), [json!({"message": "Hello, file!"})]);
}

/// The bidi reply to each request is printed before the next request is
/// even written.
#[test]
fn bidi_is_interactive() {
    for server in [Server::bundled(), Server::python(), Server::node()] {
        let (mut child, mut stdin, rx) = interactive(&[
            "call",
            &server.addr,
            "helloworld.Greeter/SayHelloBidiStream",
            "-d",
            "@-",
        ]);
        for name in ["one", "two", "three"] {
            writeln!(stdin, "{{\"name\":\"{name}\"}}").unwrap();
            stdin.flush().unwrap();
            let line = rx
                .recv_timeout(Duration::from_secs(10))
                .unwrap_or_else(|_| panic!("no reply to {name} while stdin is open"));
            assert_eq!(line, format!("{{\"message\":\"Hello, {name}!\"}}"));
        }
        drop(stdin);
        assert!(child.wait().unwrap().success());
    }
}

fn everything() -> serde_json::Value {
    json!({
        "fDouble": 1.5, "fFloat": 2.5, "fInt32": -3, "fInt64": "-4000000000",
        "fUint32": 5, "fUint64": "18446744073709551615", "fSint32": -7, "fSint64": "-8",
        "fFixed32": 9, "fFixed64": "10", "fSfixed32": -11, "fSfixed64": "-12",
        "fBool": true, "fString": "snow ☃ \"quoted\"", "fBytes": "AAEC/w==",
        "fEnum": "COLOR_GREEN", "fMessage": {"name": "in", "value": 1},
        "rInt32": [1, 2, 3], "rString": ["a", "b"], "rMessage": [{"name": "x"}, {"value": 2}],
        "rEnum": ["COLOR_RED", "COLOR_BLUE"], "rBytes": ["AQ==", ""],
        "mStringInt32": {"a": 1, "b": 2}, "mInt64Inner": {"-5": {"name": "neg"}},
        "mBoolString": {"true": "yes"},
        "oMessage": {"name": "oneof"},
        "optInt32": 0, "optString": "",
        "wTimestamp": "2024-02-29T12:34:56.789Z", "wDuration": "-1.500s",
        "wAny": {"@type": "type.googleapis.com/grpcx.test.v1.Note", "text": "packed", "stars": 4},
        "wStruct": {"k": [1.5, "two", null, {"x": false}]}, "wValue": "just a string",
        "wList": [-2.5, {"a": []}], "wFieldMask": "fInt32,fMessage.name", "wEmpty": {},
        "wDouble": 0.25, "wFloat": 1.5, "wInt64": "-1", "wUint64": "2", "wInt32": 3,
        "wUint32": 4, "wBool": false, "wString": "", "wBytes": "eA==",
        "child": {"fString": "nested", "child": {"fInt32": 1}}
    })
}

/// Every proto3 type and well-known type survives a round trip, including an
/// Any whose type no imported file defines (reflection fetches it by name).
#[test]
fn every_type_round_trips_over_every_source() {
    for server in [Server::bundled(), Server::python(), Server::node()] {
        for (source, extra) in sources() {
            let input = everything().to_string();
            let out = call(&server, "grpcx.test.v1.Echo/Echo", &input, &extra);
            assert_eq!(
                out.ok().json_lines(),
                [everything()],
                "{source} via {}",
                server.addr
            );
        }
    }
}

#[test]
fn both_field_spellings_are_accepted() {
    let server = Server::bundled();
    let out = call(
        &server,
        "grpcx.test.v1.Echo/Echo",
        r#"{"f_int32": 1, "fString": "x", "opt_string": "y"}"#,
        &[],
    );
    assert_eq!(
        out.ok().json_lines(),
        [json!({"fInt32": 1, "fString": "x", "optString": "y"})]
    );
}

#[test]
fn a_status_exits_64_plus_its_code() {
    for server in [Server::bundled(), Server::python(), Server::node()] {
        for (code, name, exit) in [
            ("NOT_FOUND", "NotFound", 69),
            ("14", "Unavailable", 78),
            ("PERMISSION_DENIED", "PermissionDenied", 71),
        ] {
            let out = run(&[
                "call",
                &server.addr,
                "helloworld.Greeter/SayHello",
                "-H",
                &format!("x-grpcx-fail: {code}"),
                "-H",
                "x-grpcx-fail-message: no such dish",
            ]);
            out.code(exit)
                .stderr_has(&format!("ERROR: {name}: no such dish"));
            assert!(out.stdout.is_empty());
        }
    }
}

/// A stream that fails partway has printed every message before the status.
#[test]
fn a_failing_stream_prints_what_came_first() {
    for server in [Server::bundled(), Server::python(), Server::node()] {
        let out = run(&[
            "call",
            &server.addr,
            "grpcx.test.v1.Echo/Stream",
            r#"{"count": 10, "payloadSize": 3}"#,
            "-H",
            "x-grpcx-fail: UNAVAILABLE",
            "-H",
            "x-grpcx-fail-after: 4",
        ]);
        out.code(78).stderr_has("ERROR: Unavailable");
        let seqs: Vec<u64> = out
            .json_lines()
            .iter()
            .map(|v| v["seq"].as_u64().unwrap_or(0))
            .collect();
        assert_eq!(seqs, [0, 1, 2, 3]);
    }
}

#[test]
fn unknown_methods_and_services_suggest_the_closest_name() {
    for server in [Server::bundled(), Server::python(), Server::node()] {
        run(&["call", &server.addr, "helloworld.Greeter/SayHelo"])
            .code(1)
            .stderr_has("method 'SayHelo' not found in service helloworld.Greeter")
            .stderr_has("did you mean helloworld.Greeter/SayHello?");
        run(&["call", &server.addr, "helloworld.Greter/SayHello"])
            .code(1)
            .stderr_has("service 'helloworld.Greter' not found")
            .stderr_has("did you mean helloworld.Greeter?");
        run(&["call", &server.addr, "Greeter/SayHello"])
            .code(1)
            .stderr_has("did you mean helloworld.Greeter/SayHello?");
    }
    // The same from .proto files.
    let server = Server::bundled();
    run(&[
        "call",
        "--proto",
        &proto("helloworld.proto"),
        &server.addr,
        "helloworld.Greeter.SayHi",
    ])
    .code(1)
    .stderr_has("method 'SayHi' not found");
}

#[test]
fn bad_json_names_the_message_field_and_position() {
    let server = Server::bundled();
    let out = call(&server, "helloworld.Greeter/SayHello", "{\"name\": 5}", &[]);
    out.code(1)
        .stderr_has("message 1")
        .stderr_has("field 'name'")
        .stderr_has("line 1 column");
    let out = call(
        &server,
        "helloworld.Greeter/SayHello",
        "{\"name\": \"x\"",
        &[],
    );
    out.code(1).stderr_has("truncated");
    assert!(out.stderr.lines().count() <= 2, "{}", out.stderr);
    // Bad input at the first message sends no request.
    assert!(
        !server.log().contains("SayHello"),
        "a request was sent:\n{}",
        server.log()
    );
}

#[test]
fn unary_takes_exactly_one_message() {
    let server = Server::bundled();
    call(
        &server,
        "helloworld.Greeter/SayHello",
        r#"{"name":"a"} {"name":"b"}"#,
        &[],
    )
    .code(1)
    .stderr_has("exactly one request message");
    assert!(!server.log().contains("SayHello"), "a request was sent");
}

/// A bad message mid-stream names its index, says what was sent, and cancels.
#[test]
fn a_bad_message_mid_stream_is_named_by_index() {
    let server = Server::bundled();
    let out = run_with_stdin(
        &[
            "call",
            &server.addr,
            "helloworld.Greeter/SayHelloClientStream",
            "-d",
            "@-",
        ],
        "{\"name\":\"a\"}\n{\"name\":\"b\"}\n{\"name\":[]}\n",
    );
    out.code(1)
        .stderr_has("message 3")
        .stderr_has("the 2 messages before it were sent, then the call was cancelled");
    // The server never saw a complete stream, so it sent no greeting.
    assert!(out.stdout.is_empty(), "{}", out.stdout);
}

#[test]
fn local_errors_exit_1_and_usage_errors_exit_2() {
    let server = Server::bundled();
    call(
        &server,
        "helloworld.Greeter/SayHello",
        "@/no/such/file.json",
        &[],
    )
    .code(1)
    .stderr_has("/no/such/file.json");
    run(&["call", &server.addr, "not a method"])
        .code(1)
        .stderr_has("invalid method");
    run(&["call", "--proto", "/no/such.proto", &server.addr, "a.B/C"])
        .code(1)
        .stderr_has("/no/such.proto");
    run(&["call", &server.addr]).code(2);
    run(&["call", &server.addr, "a.B/C", "--no-such-flag"]).code(2);
    run(&["call", "localhost", "a.B/C"])
        .code(2)
        .stderr_has("port");
}

#[test]
fn a_refused_connection_fails_fast_naming_the_address() {
    // Bind and drop a listener to get a port nobody listens on.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let addr = format!("127.0.0.1:{port}");
    let start = Instant::now();
    let out = run(&["call", &addr, "helloworld.Greeter/SayHello"]);
    out.code(78).stderr_has(&addr).stderr_has("refused");
    assert!(
        start.elapsed() < Duration::from_secs(2),
        "took {:?}",
        start.elapsed()
    );
}

#[test]
fn a_server_without_reflection_gets_a_hint() {
    for server in [
        Server::bundled_with(&["--no-reflection"]),
        Server::python_with(&["--no-reflection"]),
        Server::node_with(&["--no-reflection"]),
    ] {
        run(&["call", &server.addr, "helloworld.Greeter/SayHello"])
            .code(1)
            .stderr_has("does not offer reflection")
            .stderr_has("--proto or --protoset");
    }
}

#[test]
fn the_demo_tours_and_exits_0() {
    let out = run(&["demo"]);
    out.ok();
    for text in [
        "$ grpcx list",
        "helloworld.Greeter",
        "Hello, you!",
        "(3 of 3)",
        "Hello, Grace!",
        "exit code 69",
    ] {
        assert!(
            out.stdout.contains(text),
            "demo output lacks {text:?}:\n{}",
            out.stdout
        );
    }
}

/// A stream of requests is parsed ahead on its own thread, but for what
/// needs the schema (Anys, by reflection) or does not parse: those are
/// parsed in their place, so the order holds, and a bad message is still
/// named by its index and the count of those before it.
#[test]
fn a_request_stream_keeps_its_order_across_anys_and_errors() {
    let server = Server::bundled();
    let note = |stars: u32| json!({"wAny": {"@type": "type.googleapis.com/grpcx.test.v1.Note", "text": "n", "stars": stars}});
    let messages: Vec<serde_json::Value> = (0..600)
        .map(|i| match i % 100 {
            7 => note(i),
            _ => json!({ "wInt32": i }),
        })
        .collect();
    let input: String = messages.iter().map(|m| format!("{m}\n")).collect();
    let chat = ["call", &server.addr, "grpcx.test.v1.Echo/Chat", "-d", "@-"];
    let out = run_with_stdin(&chat, &input);
    assert_eq!(out.ok().json_lines(), messages);
    // A bad message cancels the call: what was echoed before is a prefix.
    let bad = format!("{input}{{\"wInt32\": \"x\"}}\n{{\"wInt32\": 1}}\n");
    let out = run_with_stdin(&chat, &bad);
    out.code(1)
        .stderr_has("message 601")
        .stderr_has("the 600 messages before it were sent");
    let echoed = out.json_lines();
    assert_eq!(echoed, messages[..echoed.len()]);
}

/// A bidi response holding an Any prints while stdin is still open: the
/// printer re-reads it against the schema that now knows the Any's type,
/// and the feeder waiting on stdin must not hold that schema.
#[test]
fn bidi_with_an_any_is_interactive() {
    let server = Server::bundled();
    let (mut child, mut stdin, rx) =
        interactive(&["call", &server.addr, "grpcx.test.v1.Echo/Chat", "-d", "@-"]);
    for stars in [1, 2] {
        let any = json!({"@type": "type.googleapis.com/grpcx.test.v1.Note", "text": "hi", "stars": stars});
        writeln!(stdin, "{}", json!({ "wAny": any })).unwrap();
        stdin.flush().unwrap();
        let line = rx
            .recv_timeout(Duration::from_secs(10))
            .unwrap_or_else(|_| panic!("no echo of message {stars} while stdin is open"));
        let value: serde_json::Value = serde_json::from_str(&line).unwrap();
        assert_eq!(value, json!({ "wAny": any }));
    }
    drop(stdin);
    assert!(child.wait().unwrap().success());
}
