//! grpcx in shell pipelines and CI: output formats and their flags, colour
//! on a real pseudo-terminal, the envelope, machine-readable errors with
//! decoded status details, closed pipes, Ctrl-C and flushing. (Shell
//! completion is in `completion.rs`.)

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::json;

use crate::util::{Server, bin, grpcx_std, proto, protoset, root, run, run_with_stdin};

const STREAM: &str = "grpcx.test.v1.Echo/Stream";
const ECHO: &str = "grpcx.test.v1.Echo/Echo";

/// A shell word, single-quoted.
fn quote(word: &str) -> String {
    format!("'{}'", word.replace('\'', r"'\''"))
}

/// Runs grpcx on a pseudo-terminal (`script -qec`), as a user at a terminal
/// would, with extra environment variables. Returns what the terminal showed.
fn on_terminal(env: &[(&str, &str)], args: &[&str]) -> String {
    let mut line = quote(&bin().display().to_string());
    for arg in args {
        line.push(' ');
        line.push_str(&quote(arg));
    }
    let mut cmd = Command::new("script");
    cmd.args(["-qec", &line, "/dev/null"]).env_clear();
    cmd.env("PATH", std::env::var("PATH").unwrap_or_default());
    cmd.env("TERM", "xterm");
    for (key, value) in env {
        cmd.env(key, value);
    }
    let out = cmd.output().expect("script (util-linux) runs");
    String::from_utf8_lossy(&out.stdout).replace("\r\n", "\n")
}

#[test]
fn auto_is_pretty_and_coloured_on_a_terminal_and_ndjson_in_a_pipe() {
    let server = Server::bundled();
    let data = r#"{"count":2,"payloadSize":2}"#;
    let shown = on_terminal(&[], &["call", &server.addr, STREAM, data]);
    assert_eq!(
        shown,
        "{\n  \x1b[1;34m\"pad\"\x1b[0m: \x1b[32m\"xx\"\x1b[0m\n}\n\
         {\n  \x1b[1;34m\"seq\"\x1b[0m: \x1b[36m1\x1b[0m,\n  \x1b[1;34m\"pad\"\x1b[0m: \x1b[32m\"xx\"\x1b[0m\n}\n"
    );
    // NO_COLOR and --color never keep it pretty but plain.
    let plain = "{\n  \"pad\": \"xx\"\n}\n{\n  \"seq\": 1,\n  \"pad\": \"xx\"\n}\n";
    assert_eq!(
        on_terminal(&[("NO_COLOR", "1")], &["call", &server.addr, STREAM, data]),
        plain
    );
    assert_eq!(
        on_terminal(
            &[],
            &["call", &server.addr, STREAM, data, "--color", "never"]
        ),
        plain
    );
    // --format ndjson on a terminal is compact and uncoloured.
    let compact = on_terminal(
        &[("NO_COLOR", "1")],
        &["call", &server.addr, STREAM, data, "--format", "ndjson"],
    );
    assert_eq!(compact, "{\"pad\":\"xx\"}\n{\"seq\":1,\"pad\":\"xx\"}\n");

    // Piped: one compact object per line, never coloured unless asked.
    let out = run(&["call", &server.addr, STREAM, data]);
    assert_eq!(
        out.ok().stdout,
        "{\"pad\":\"xx\"}\n{\"seq\":1,\"pad\":\"xx\"}\n"
    );
    let out = run(&["call", &server.addr, STREAM, data, "--format", "json"]);
    assert_eq!(out.ok().stdout, plain);
    let out = run(&[
        "call",
        &server.addr,
        STREAM,
        data,
        "--format",
        "json",
        "--color",
        "always",
    ]);
    assert!(
        out.ok()
            .stdout
            .contains("\x1b[1;34m\"seq\"\x1b[0m: \x1b[36m1\x1b[0m"),
        "{}",
        out.stdout
    );
}

#[test]
fn text_format_is_one_message_per_line_in_a_pipe_and_blocks_on_a_terminal() {
    let server = Server::bundled();
    let data = r#"{"count":3,"payloadSize":1}"#;
    let out = run(&["call", &server.addr, STREAM, data, "--format", "text"]);
    assert_eq!(
        out.ok().stdout,
        "pad:\"x\"\nseq:1,pad:\"x\"\nseq:2,pad:\"x\"\n"
    );
    let shown = on_terminal(
        &[],
        &["call", &server.addr, STREAM, data, "--format", "text"],
    );
    assert_eq!(
        shown,
        "pad: \"x\"\n\nseq: 1\npad: \"x\"\n\nseq: 2\npad: \"x\"\n"
    );
    // An empty message is visible on a terminal (as a text-format comment).
    let shown = on_terminal(
        &[],
        &[
            "call",
            &server.addr,
            STREAM,
            r#"{"count":2}"#,
            "--format",
            "text",
        ],
    );
    assert_eq!(shown, "# (empty)\n\nseq: 1\n");
}

#[test]
fn json_flags_change_the_mapping() {
    let server = Server::bundled();
    let data = r#"{"fInt64":"7","fUint64":"8","fEnum":"COLOR_RED","fString":"s"}"#;
    let out = run(&["call", &server.addr, ECHO, data]);
    assert_eq!(
        out.ok().json_lines(),
        [json!({"fInt64":"7","fUint64":"8","fString":"s","fEnum":"COLOR_RED"})]
    );
    let out = run(&[
        "call",
        &server.addr,
        ECHO,
        data,
        "--proto-names",
        "--int64-as-number",
        "--enum-as-number",
    ]);
    assert_eq!(
        out.ok().json_lines(),
        [json!({"f_int64":7,"f_uint64":8,"f_string":"s","f_enum":1})]
    );

    // --emit-defaults prints zero values.
    let out = run(&[
        "call",
        &server.addr,
        STREAM,
        r#"{"count":1}"#,
        "--emit-defaults",
    ]);
    assert_eq!(out.ok().stdout, "{\"seq\":0,\"pad\":\"\"}\n");
    let out = run(&["call", &server.addr, ECHO, "{}", "--emit-defaults"]);
    let everything = &out.ok().json_lines()[0];
    assert_eq!(everything["fInt64"], json!("0"));
    assert_eq!(everything["fEnum"], json!("COLOR_UNSPECIFIED"));
    assert_eq!(everything["rString"], json!([]));
}

#[test]
fn unknown_input_fields_fail_unless_allowed() {
    let server = Server::bundled();
    let data = r#"{"name":"x","nickname":"y"}"#;
    let out = run(&["call", &server.addr, "helloworld.Greeter/SayHello", data]);
    out.code(1).stderr_has("nickname");
    let out = run(&[
        "call",
        &server.addr,
        "helloworld.Greeter/SayHello",
        data,
        "--allow-unknown-fields",
    ]);
    assert_eq!(out.ok().json_lines(), [json!({"message":"Hello, x!"})]);
    // Also on a client stream.
    let out = run_with_stdin(
        &[
            "call",
            &server.addr,
            "helloworld.Greeter/SayHelloClientStream",
            "-d",
            "@-",
            "--allow-unknown-fields",
        ],
        "{\"name\":\"a\",\"zz\":1}\n{\"name\":\"b\",\"zz\":{\"deep\":[1]}}\n",
    );
    assert_eq!(out.ok().json_lines(), [json!({"message":"Hello, a, b!"})]);
}

/// The details every test server attaches for `x-grpcx-fail-details: 1`,
/// decoded: a built-in google.rpc type, a schema type, an unknown one.
fn expected_details() -> serde_json::Value {
    json!([
        {"@type":"type.googleapis.com/google.rpc.ErrorInfo","reason":"GRPCX_TEST","domain":"grpcx.test","metadata":{"key":"value"}},
        {"@type":"type.googleapis.com/grpcx.test.v1.Note","text":"detail","stars":5},
        {"@type":"type.googleapis.com/example.Unknown","value":"AQI="},
    ])
}

const FAIL: [&str; 6] = [
    "-H",
    "x-grpcx-fail: NOT_FOUND",
    "-H",
    "x-grpcx-fail-message: no such thing",
    "-H",
    "x-grpcx-fail-details: 1",
];

#[test]
fn json_errors_carry_decoded_details_over_every_server_and_source() {
    let proto_root = root().join("proto").display().to_string();
    let sources: Vec<Vec<String>> = vec![
        vec![],
        vec!["--protoset".into(), protoset().display().to_string()],
        vec![
            "--proto".into(),
            proto("grpcx/test/v1/everything.proto"),
            "--proto".into(),
            proto("grpcx/test/v1/note.proto"),
            "-I".into(),
            proto_root,
        ],
    ];
    for server in [Server::bundled(), Server::python(), Server::node()] {
        for source in &sources {
            // Unary (trailers-only answer) and a stream that fails partway.
            for extra in [&[][..], &["-H", "x-grpcx-fail-after: 2"][..]] {
                let mut args = vec![
                    "call",
                    &server.addr,
                    STREAM,
                    r#"{"count":5}"#,
                    "--error-format",
                    "json",
                ];
                args.extend(FAIL);
                args.extend(extra);
                args.extend(source.iter().map(String::as_str));
                let out = run(&args);
                out.code(69);
                assert!(
                    out.stderr.ends_with("}\n") && out.stderr.lines().count() == 1,
                    "{}",
                    out.stderr
                );
                let error: serde_json::Value = serde_json::from_str(&out.stderr).unwrap();
                assert_eq!(
                    error,
                    json!({"code":"NOT_FOUND","codeNumber":5,"message":"no such thing","details":expected_details()}),
                    "{source:?} {extra:?}"
                );
                assert_eq!(
                    out.stdout.lines().count(),
                    if extra.is_empty() { 0 } else { 2 }
                );
            }
        }
    }
}

#[test]
fn text_errors_show_details_too() {
    let server = Server::bundled();
    let mut args = vec!["call", &server.addr, STREAM];
    args.extend(FAIL);
    let out = run(&args);
    assert_eq!(
        out.code(69).stderr,
        "ERROR: NotFound: no such thing\n\
         \x20 details: google.rpc.ErrorInfo {\"reason\":\"GRPCX_TEST\",\"domain\":\"grpcx.test\",\"metadata\":{\"key\":\"value\"}}\n\
         \x20 details: grpcx.test.v1.Note {\"text\":\"detail\",\"stars\":5}\n\
         \x20 details: example.Unknown (unknown type, 2 bytes) AQI=\n"
    );
    // A status without details, and a local error, in JSON.
    let out = run(&[
        "call",
        &server.addr,
        STREAM,
        "-H",
        "x-grpcx-fail: 14",
        "--error-format",
        "json",
    ]);
    assert_eq!(
        out.code(78).stderr,
        "{\"code\":\"UNAVAILABLE\",\"codeNumber\":14,\"message\":\"failed on request\",\"details\":[]}\n"
    );
    let out = run(&[
        "call",
        &server.addr,
        "helloworld.Greeter/SayHelo",
        "--error-format",
        "json",
    ]);
    let error: serde_json::Value = serde_json::from_str(&out.code(1).stderr).unwrap();
    assert_eq!(error["exitCode"], 1);
    assert_eq!(error["hint"], "did you mean helloworld.Greeter/SayHello?");
}

#[test]
fn the_envelope_tags_every_event_of_a_stream() {
    // grpc-js names the codec in content-type and sends `grpc-message: OK`.
    for (server, content_type, ok_message) in [
        (Server::bundled(), "application/grpc", ""),
        (Server::python(), "application/grpc", ""),
        (Server::node(), "application/grpc+proto", "OK"),
    ] {
        let out = run(&[
            "call",
            &server.addr,
            STREAM,
            r#"{"count":2,"payloadSize":1}"#,
            "--envelope",
            "-H",
            "echo-trace: abc",
            "-H",
            "echo-raw-bin: AAEC",
        ]);
        let events = out.ok().json_lines();
        assert_eq!(events.len(), 5, "{}", out.stdout);
        let headers = &events[0]["headers"];
        assert_eq!(headers["echo-trace"], "abc", "{}", out.stdout);
        assert_eq!(headers["echo-raw-bin"], "AAEC");
        assert_eq!(headers["content-type"], content_type);
        assert_eq!(events[1], json!({"message":{"pad":"x"}}));
        assert_eq!(events[2], json!({"message":{"seq":1,"pad":"x"}}));
        let trailers = events[3]["trailers"].as_object().unwrap();
        assert_eq!(trailers["echo-trace"], "abc");
        assert_eq!(trailers["echo-raw-bin"], "AAEC");
        assert!(!trailers.contains_key("grpc-status"), "{trailers:?}");
        assert_eq!(
            events[4],
            json!({"status":{"code":"OK","codeNumber":0,"message":ok_message,"details":[]}})
        );

        // A failure partway: the messages, then trailers and the status with
        // its details; the exit code still says NOT_FOUND.
        let mut args = vec![
            "call",
            &server.addr,
            STREAM,
            r#"{"count":5}"#,
            "--envelope",
            "-H",
            "echo-trace: abc",
            "-H",
            "x-grpcx-fail-after: 1",
        ];
        args.extend(FAIL);
        let out = run(&args);
        let events = out.code(69).json_lines();
        let tags: Vec<&str> = events
            .iter()
            .map(|e| e.as_object().unwrap().keys().next().unwrap().as_str())
            .collect();
        assert_eq!(
            tags,
            ["headers", "message", "trailers", "status"],
            "{}",
            out.stdout
        );
        assert_eq!(events[2]["trailers"]["echo-trace"], "abc");
        assert_eq!(
            events[3]["status"],
            json!({"code":"NOT_FOUND","codeNumber":5,"message":"no such thing","details":expected_details()})
        );
        out.stderr_has("ERROR: NotFound: no such thing");
    }
}

#[test]
fn help_documents_exit_codes_and_examples() {
    let out = run(&["call", "--help"]);
    for text in [
        "Exit codes:",
        "64+N",
        "69 NotFound",
        "130",
        "--error-format json",
        "--envelope",
        "--format",
    ] {
        out.ok();
        assert!(out.stdout.contains(text), "call --help lacks {text:?}");
    }
    let out = run(&["--help"]);
    for text in ["Examples:", "grpcx completions bash", "--envelope"] {
        assert!(out.ok().stdout.contains(text), "--help lacks {text:?}");
    }
}

/// `| head -1` on a stream of millions: prompt, silent, exit 0 (141 would
/// also do under pipefail, but grpcx exits by itself).
#[test]
fn a_closed_pipe_ends_a_huge_stream_promptly_and_quietly() {
    let server = Server::bundled();
    let line = format!(
        "set -o pipefail; {} call {} {STREAM} '{{\"count\":5000000,\"payloadSize\":10}}' 2>stderr.txt | head -1; echo \"rc=$?\"",
        quote(&bin().display().to_string()),
        server.addr
    );
    let dir = tempfile::tempdir().unwrap();
    let start = Instant::now();
    let out = Command::new("bash")
        .arg("-c")
        .arg(&line)
        .current_dir(dir.path())
        .output()
        .unwrap();
    let elapsed = start.elapsed();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(stdout, "{\"pad\":\"xxxxxxxxxx\"}\nrc=0\n");
    assert!(elapsed < Duration::from_secs(5), "took {elapsed:?}");
    assert_eq!(
        std::fs::read_to_string(dir.path().join("stderr.txt")).unwrap(),
        ""
    );
}

/// Ctrl-C (SIGINT) cancels the call, so the server sees CANCELLED, and exits
/// 130 within a second.
#[test]
fn sigint_cancels_the_call_and_exits_130() {
    let server = Server::python();
    let mut child = grpcx_std()
        .args([
            "call",
            &server.addr,
            STREAM,
            r#"{"count":1000,"intervalMs":100}"#,
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    assert_eq!(lines.next().unwrap().unwrap(), "{}");
    let start = Instant::now();
    let killed = Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(killed.success());
    let status = child.wait().unwrap();
    let elapsed = start.elapsed();
    assert_eq!(status.code(), Some(130));
    assert!(elapsed < Duration::from_secs(1), "took {elapsed:?}");
    let mut stderr = String::new();
    std::io::Read::read_to_string(&mut child.stderr.take().unwrap(), &mut stderr).unwrap();
    assert_eq!(stderr, "");
    // The server logs the call when it ends, however it ends.
    let deadline = Instant::now() + Duration::from_secs(5);
    while !server
        .log()
        .contains("/grpcx.test.v1.Echo/Stream CANCELLED")
    {
        assert!(
            Instant::now() < deadline,
            "the server did not see a cancellation:\n{}",
            server.log()
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// A slow stream reaches the reader message by message; a fast one goes out
/// in large writes; a stream that fails has first printed every message.
#[test]
fn flushing_is_prompt_when_slow_and_batched_when_fast() {
    let server = Server::bundled();
    let mut child = grpcx_std()
        .args([
            "call",
            &server.addr,
            STREAM,
            r#"{"count":3,"intervalMs":400}"#,
        ])
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let start = Instant::now();
    let mut arrivals = Vec::new();
    for line in BufReader::new(child.stdout.take().unwrap()).lines() {
        line.unwrap();
        arrivals.push(start.elapsed());
    }
    assert!(child.wait().unwrap().success());
    assert_eq!(arrivals.len(), 3);
    // Each message arrived while the server slept before the next one.
    for pair in arrivals.windows(2) {
        assert!(
            pair[1] - pair[0] > Duration::from_millis(250),
            "{arrivals:?}"
        );
    }

    // Fast: count the write(2) calls on stdout.
    let dir = tempfile::tempdir().unwrap();
    let trace = dir.path().join("trace");
    let out = Command::new("strace")
        .args(["-f", "-e", "trace=write", "-e", "signal=none", "-o"])
        .arg(&trace)
        .arg(bin())
        .args(["call", &server.addr, STREAM, r#"{"count":50000}"#])
        .stderr(Stdio::null())
        .output()
        .expect("strace runs (.ci/run installs it)");
    assert!(out.status.success());
    assert_eq!(String::from_utf8_lossy(&out.stdout).lines().count(), 50000);
    let trace = std::fs::read_to_string(&trace).unwrap();
    let writes = trace.lines().filter(|l| l.contains("write(1,")).count();
    // ~700 KB of output: 64 KiB blocks make about 11 writes; allow for the
    // pauses where the printer catches up with the network.
    assert!((1..=200).contains(&writes), "{writes} writes to stdout");

    // A failure partway: every message before it, each line whole.
    let out = run(&[
        "call",
        &server.addr,
        STREAM,
        r#"{"count":100000,"payloadSize":100}"#,
        "-H",
        "x-grpcx-fail: INTERNAL",
        "-H",
        "x-grpcx-fail-after: 20000",
    ]);
    let lines = out.code(77).json_lines();
    assert_eq!(lines.len(), 20000);
    assert_eq!(lines[19999]["seq"], 19999);
    assert_eq!(out.stderr, "ERROR: Internal: failed on request\n");
}
