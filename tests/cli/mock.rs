//! `grpcx serve` as a mock of any schema: stubs answered to clients no one
//! here wrote (grpcio from Python, grpc-go, buf curl, grpcurl), each stub
//! rule, every kind of call, delays, statuses with details, headers and
//! trailers, reloads, the call log, record and replay against grpc-go, and
//! bad stub files.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::util::{Server, grpcx_std, proto, root, run, spawn_piped};

/// A mock of `proto/helloworld.proto` and `everything.proto` (Echo) with
/// these stubs, logging to `log.ndjson` beside them.
struct Mock {
    server: Server,
    dir: tempfile::TempDir,
}

impl Mock {
    fn start(stubs: &Value) -> Mock {
        Self::start_with(stubs, &[])
    }

    fn start_with(stubs: &Value, extra: &[&str]) -> Mock {
        let dir = tempfile::tempdir().unwrap();
        write(&dir.path().join("stubs.json"), stubs);
        let mut cmd = grpcx_std();
        cmd.args(["serve", "--addr", "127.0.0.1:0"])
            .args(["--proto", &proto("helloworld.proto")])
            .args(["--proto", &proto("grpcx/test/v1/everything.proto")])
            .arg("--stubs")
            .arg(dir.path().join("stubs.json"))
            .arg("--log")
            .arg(dir.path().join("log.ndjson"))
            .args(extra);
        let server = Server::start(cmd, "grpcx serve --stubs");
        Mock { server, dir }
    }

    fn addr(&self) -> &str {
        &self.server.addr
    }

    fn stubs(&self) -> PathBuf {
        self.dir.path().join("stubs.json")
    }

    /// The call log, one JSON value per line.
    fn log(&self) -> Vec<Value> {
        let text = std::fs::read_to_string(self.dir.path().join("log.ndjson")).unwrap_or_default();
        text.lines()
            .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("log line {l:?}: {e}")))
            .collect()
    }
}

fn write(path: &Path, value: &Value) {
    std::fs::write(path, serde_json::to_string_pretty(value).unwrap()).unwrap();
}

/// What the grpcio client (tests/servers/py/client.py) saw: headers,
/// messages, then the status line.
fn grpcio(addr: &str, method: &str, requests: &[Value], headers: &[&str]) -> Vec<Value> {
    let python = std::env::var("GRPCX_TEST_PYTHON").unwrap_or_else(|_| "python3".into());
    let mut cmd = Command::new(python);
    cmd.arg(root().join("tests/servers/py/client.py"))
        .args([addr, method]);
    for header in headers {
        cmd.args(["-H", header]);
    }
    cmd.args(requests.iter().map(Value::to_string));
    lines(cmd, "client.py")
}

/// What the grpc-go client saw (`grpcx-test-go-server -client`).
fn grpc_go(addr: &str, method: &str, names: &str, headers: &str) -> Vec<Value> {
    let mut cmd = Command::new(crate::util::go_server_binary());
    cmd.args([
        "-client", addr, "-method", method, "-names", names, "-header", headers,
    ]);
    lines(cmd, "the grpc-go client")
}

fn lines(mut cmd: Command, what: &str) -> Vec<Value> {
    let out = cmd
        .output()
        .unwrap_or_else(|e| panic!("cannot run {what}: {e}"));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{what} failed:\n{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    stdout
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{what} printed {l:?}: {e}")))
        .collect()
}

/// The messages among a client's lines.
fn messages(lines: &[Value]) -> Vec<Value> {
    lines
        .iter()
        .filter_map(|l| {
            l.get("message")
                .filter(|_| l.get("code").is_none())
                .cloned()
        })
        .collect()
}

/// The status line: the last.
fn status(lines: &[Value]) -> &Value {
    lines.last().expect("a status line")
}

fn greeter_stubs() -> Value {
    json!([
        {"method": "helloworld.Greeter/SayHello",
         "when": {"contains": {"name": "ann"}, "headers": {"x-team": "blue"}},
         "then": {"message": {"message": "hi {{request.name}}, call {{count}}, team {{header.x-team}}"},
                  "headers": {"x-served-by": "mock"}, "trailers": {"x-cost": "7"}}},
        {"method": "helloworld.Greeter/SayHello",
         "when": {"equals": {"name": "bob"}},
         "then": {"status": {"code": "NOT_FOUND", "message": "no {{request.name}} here",
                  "details": [{"@type": "type.googleapis.com/google.rpc.ErrorInfo",
                               "reason": "GONE", "domain": "mock"}]},
                  "trailers": {"x-why": "gone"}}},
        {"method": "helloworld.Greeter/SayHelloStreamReply",
         "then": {"messages": [{"message": {"message": "first"}},
                               {"message": {"message": "second"}, "delayMs": 300},
                               {"message": {"message": "third {{request.name}}"}}]}},
        {"method": "helloworld.Greeter/SayHelloClientStream",
         "when": {"equals": {"messages": [{"name": "a"}, {"name": "b"}]}},
         "then": {"message": {"message": "a then {{request.messages.1.name}}"}}},
        {"method": "helloworld.Greeter/SayHelloClientStream",
         "then": {"message": {"message": "some others"}}},
        {"method": "helloworld.Greeter/SayHelloBidiStream",
         "when": {"contains": {"name": "x"}},
         "then": {"messages": [{"message": {"message": "x1"}}, {"message": {"message": "x2"}}]}},
        {"method": "helloworld.Greeter/SayHelloBidiStream",
         "then": {"messages": [{"message": {"message": "echo {{request.name}}"}}]}}
    ])
}

#[test]
fn grpcio_makes_every_kind_of_call_and_sees_headers_trailers_and_delays() {
    let mock = Mock::start(&greeter_stubs());
    let addr = mock.addr();

    let unary = grpcio(
        addr,
        "helloworld.Greeter/SayHello",
        &[json!({"name": "ann"})],
        &["x-team=blue"],
    );
    assert_eq!(unary[0], json!({"headers": {"x-served-by": "mock"}}));
    assert_eq!(
        messages(&unary),
        [json!({"message": "hi ann, call 1, team blue"})]
    );
    assert_eq!(status(&unary)["code"], "OK");
    assert_eq!(status(&unary)["trailers"], json!({"x-cost": "7"}));
    // {{count}} counts this stub's calls.
    let again = grpcio(
        addr,
        "helloworld.Greeter/SayHello",
        &[json!({"name": "ann"})],
        &["x-team=blue"],
    );
    assert_eq!(
        messages(&again),
        [json!({"message": "hi ann, call 2, team blue"})]
    );

    let failed = grpcio(
        addr,
        "helloworld.Greeter/SayHello",
        &[json!({"name": "bob"})],
        &[],
    );
    assert_eq!(
        status(&failed),
        &json!({"code": "NOT_FOUND", "message": "no bob here", "trailers": {"x-why": "gone"},
                "details": [{"@type": "type.googleapis.com/google.rpc.ErrorInfo",
                             "reason": "GONE", "domain": "mock"}]})
    );

    let stream = grpcio(
        addr,
        "helloworld.Greeter/SayHelloStreamReply",
        &[json!({"name": "sam"})],
        &[],
    );
    assert_eq!(
        messages(&stream),
        [
            json!({"message": "first"}),
            json!({"message": "second"}),
            json!({"message": "third sam"})
        ]
    );
    // The second message waited its delay; the first did not.
    let at: Vec<i64> = stream.iter().filter_map(|l| l["ms"].as_i64()).collect();
    assert!(at[1] - at[0] >= 280, "the delay was not kept: {at:?}");
    assert_eq!(status(&stream)["code"], "OK");

    let collected = grpcio(
        addr,
        "helloworld.Greeter/SayHelloClientStream",
        &[json!({"name": "a"}), json!({"name": "b"})],
        &[],
    );
    assert_eq!(messages(&collected), [json!({"message": "a then b"})]);
    let others = grpcio(
        addr,
        "helloworld.Greeter/SayHelloClientStream",
        &[json!({"name": "b"})],
        &[],
    );
    assert_eq!(messages(&others), [json!({"message": "some others"})]);

    let bidi = grpcio(
        addr,
        "helloworld.Greeter/SayHelloBidiStream",
        &[
            json!({"name": "x"}),
            json!({"name": "yu"}),
            json!({"name": "x"}),
        ],
        &[],
    );
    assert_eq!(
        messages(&bidi),
        [
            json!({"message": "x1"}),
            json!({"message": "x2"}),
            json!({"message": "echo yu"}),
            json!({"message": "x1"}),
            json!({"message": "x2"})
        ]
    );
    assert_eq!(status(&bidi)["code"], "OK");
}

#[test]
fn grpc_go_gets_messages_headers_trailers_and_a_status_with_details() {
    let mock = Mock::start(&greeter_stubs());
    let addr = mock.addr();
    assert_eq!(
        grpc_go(addr, "SayHello", "ann", "x-team=blue"),
        [
            json!({"headers": {"x-served-by": "mock"}}),
            json!({"message": "hi ann, call 1, team blue"}),
            json!({"code": "OK", "message": "", "trailers": {"x-cost": "7"}, "details": []})
        ]
    );
    assert_eq!(
        grpc_go(addr, "SayHello", "bob", ""),
        [
            json!({"headers": {}}),
            json!({"code": "NOT_FOUND", "message": "no bob here", "trailers": {"x-why": "gone"},
                "details": ["GONE"]})
        ]
    );
    let stream = grpc_go(addr, "SayHelloStreamReply", "go", "");
    assert_eq!(
        messages(&stream),
        [json!("first"), json!("second"), json!("third go")]
    );
    assert_eq!(
        messages(&grpc_go(addr, "SayHelloClientStream", "a,b", "")),
        [json!("a then b")]
    );
    assert_eq!(
        messages(&grpc_go(addr, "SayHelloBidiStream", "q,x", "")),
        [json!("echo q"), json!("x1"), json!("x2")]
    );
}

/// Echo's `Everything` has nested messages, lists, int64s and enums.
fn echo_stubs() -> Value {
    json!([
        {"id": "nested", "method": "grpcx.test.v1.Echo/Echo",
         "when": {"contains": {"f_message": {"name": "deep"}, "rString": ["a", "b"]}},
         "then": {"message": {"fString": "nested {{request.fMessage.name}}"}}},
        {"id": "exact", "method": "grpcx.test.v1.Echo/Echo",
         "when": {"equals": {"fInt64": 5, "fEnum": "COLOR_RED"}},
         "then": {"message": {"fString": "exact", "fInt64": "{{request.fInt64}}"}}},
        {"id": "regex", "method": "grpcx.test.v1.Echo/Echo",
         "when": {"matches": {"f_string": "^order-[0-9]+$", "fInt32": "^4[0-9]$"}},
         "then": {"message": {"fString": "regex"}}},
        {"id": "header", "method": "grpcx.test.v1.Echo/Echo",
         "when": {"headers": {"x-tenant": "acme"}},
         "then": {"message": {"fString": "header {{header.x-tenant}}"}}},
        {"id": "low", "method": "grpcx.test.v1.Echo/Echo",
         "when": {"contains": {"fBool": true}},
         "then": {"message": {"fString": "low"}}},
        {"id": "high", "priority": 5, "method": "grpcx.test.v1.Echo/Echo",
         "when": {"contains": {"fBool": true, "fInt32": 0}},
         "then": {"message": {"fString": "high"}}}
    ])
}

fn echo(addr: &str, request: Value, headers: &[&str]) -> Vec<Value> {
    grpcio(addr, "grpcx.test.v1.Echo/Echo", &[request], headers)
}

#[test]
fn each_when_rule_and_priority_decide_the_stub() {
    let mock = Mock::start(&echo_stubs());
    let addr = mock.addr();
    let answer = |request: Value, headers: &[&str]| {
        let lines = echo(addr, request, headers);
        assert_eq!(status(&lines)["code"], "OK", "{lines:?}");
        messages(&lines)[0].clone()
    };
    // contains: nested objects by key, lists element by element; proto and
    // JSON names alike.
    assert_eq!(
        answer(
            json!({"fMessage": {"name": "deep", "value": 3}, "rString": ["a", "b"], "fBool": false}),
            &[]
        ),
        json!({"fString": "nested deep"})
    );
    // equals: the whole request, int64 as a number or a string alike;
    // the template keeps its type.
    assert_eq!(
        answer(json!({"fInt64": "5", "fEnum": "COLOR_RED"}), &[]),
        json!({"fString": "exact", "fInt64": "5"})
    );
    // matches: a regex on a string and on a number's text.
    assert_eq!(
        answer(json!({"fString": "order-42", "fInt32": 41}), &[]),
        json!({"fString": "regex"})
    );
    // headers: exact values.
    assert_eq!(
        answer(json!({}), &["x-tenant=acme"]),
        json!({"fString": "header acme"})
    );
    // Priority wins over file order; unset fields match their defaults.
    assert_eq!(
        answer(json!({"fBool": true}), &[]),
        json!({"fString": "high"})
    );
    assert_eq!(
        answer(json!({"fBool": true, "fInt32": 1}), &[]),
        json!({"fString": "low"})
    );

    let log = mock.log();
    let stubs: Vec<&str> = log.iter().map(|l| l["stub"].as_str().unwrap()).collect();
    assert_eq!(stubs, ["nested", "exact", "regex", "header", "high", "low"]);
}

#[test]
fn no_stub_that_applies_answers_unimplemented_naming_the_nearest() {
    let mock = Mock::start(&echo_stubs());
    let lines = echo(
        mock.addr(),
        json!({"fString": "order-x", "fInt32": 41, "rString": ["a"]}),
        &["x-tenant=other"],
    );
    let ended = status(&lines);
    assert_eq!(ended["code"], "UNIMPLEMENTED");
    let message = ended["message"].as_str().unwrap();
    assert!(
        message.starts_with("no stub applies to grpcx.test.v1.Echo/Echo: "),
        "{message}"
    );
    // The nearest first (one condition missed, one held), with why; then
    // two more, and a count of the rest.
    assert!(
        message.starts_with(
            "no stub applies to grpcx.test.v1.Echo/Echo: stub regex: matches: f_string is \"order-x\", \
             which /^order-[0-9]+$/ does not match; stub "
        ),
        "{message}"
    );
    assert_eq!(message.matches("; stub ").count(), 2, "{message}");
    assert!(message.ends_with("; 3 more stubs"), "{message}");

    // A method with no stubs names the methods that have some.
    let lines = grpcio(
        mock.addr(),
        "grpcx.test.v1.Echo/Stream",
        &[json!({"count": 1})],
        &[],
    );
    assert_eq!(
        status(&lines)["message"],
        "no stub for grpcx.test.v1.Echo/Stream (stubs are loaded for grpcx.test.v1.Echo/Echo)"
    );
    // grpcx's own exit code for UNIMPLEMENTED, with the same words.
    let out = run(&["call", mock.addr(), "grpcx.test.v1.Echo/Stream", "{}"]);
    out.code(76)
        .stderr_has("no stub for grpcx.test.v1.Echo/Stream");
}

#[test]
fn buf_curl_calls_the_mock_over_grpc_grpc_web_and_connect_by_reflection() {
    let mock = Mock::start(&greeter_stubs());
    let buf = root().join("tests/servers/node/node_modules/.bin/buf");
    let url = format!("http://{}", mock.addr());
    // Reflection v1 (buf asks for it first).
    let out = Command::new(&buf)
        .args(["curl", "--http2-prior-knowledge", "--list-methods", &url])
        .output()
        .expect("buf runs (npm ci in tests/servers/node)");
    let listed = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{listed}");
    assert!(
        listed.contains("helloworld.Greeter/SayHelloBidiStream\n"),
        "{listed}"
    );
    for protocol in ["grpc", "grpcweb", "connect"] {
        let out = Command::new(&buf)
            .args([
                "curl",
                "--http2-prior-knowledge",
                "--protocol",
                protocol,
                "-v",
            ])
            .args(["-H", "x-team: blue", "-d", r#"{"name":"ann"}"#])
            .arg(format!("{url}/helloworld.Greeter/SayHello"))
            .output()
            .unwrap();
        let stdout = String::from_utf8_lossy(&out.stdout);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(out.status.success(), "{protocol}: {stdout}{stderr}");
        let reply: Value = serde_json::from_str(&stdout).unwrap();
        assert!(
            reply["message"]
                .as_str()
                .unwrap()
                .starts_with("hi ann, call "),
            "{protocol}: {reply}"
        );
        assert!(stderr.contains("X-Served-By: mock"), "{protocol}: {stderr}");
    }
    // buf curl -v prints no gRPC-Web trailers; grpcx's own client shows
    // that they arrive, in the body, over HTTP/1.1.
    let out = run(&[
        "call",
        "--protocol",
        "grpcweb",
        "-v",
        "-H",
        "x-team: blue",
        mock.addr(),
        "helloworld.Greeter/SayHello",
        r#"{"name":"ann"}"#,
    ]);
    out.ok();
    assert!(
        out.stderr
            .contains("Response trailers received:\ngrpc-status: 0\nx-cost: 7\n"),
        "{}",
        out.stderr
    );
    // A status with details, over Connect.
    let out = Command::new(&buf)
        .args(["curl", "--protocol", "connect", "-d", r#"{"name":"bob"}"#])
        .arg(format!("{url}/helloworld.Greeter/SayHello"))
        .output()
        .unwrap();
    let error: Value = serde_json::from_slice(&out.stderr).unwrap();
    assert_eq!(error["code"], "not_found");
    assert_eq!(error["message"], "no bob here");
    assert_eq!(error["details"][0]["type"], "google.rpc.ErrorInfo");
}

#[test]
fn grpcurl_lists_and_describes_the_mock_by_reflection_v1alpha() {
    let mock = Mock::start(&greeter_stubs());
    let grpcurl = |args: &[&str]| {
        let out = Command::new("grpcurl")
            .arg("-plaintext")
            .args(args)
            .output()
            .expect("grpcurl runs (pip install -r tests/servers/py/requirements.txt)");
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    let listed = grpcurl(&[mock.addr(), "list"]);
    assert!(listed.contains("helloworld.Greeter\n"), "{listed}");
    assert!(listed.contains("grpcx.test.v1.Echo\n"), "{listed}");
    let described = grpcurl(&[
        mock.addr(),
        "describe",
        "helloworld.Greeter.SayHelloStreamReply",
    ]);
    assert!(
        described.contains(
            "rpc SayHelloStreamReply ( .helloworld.HelloRequest ) returns ( stream .helloworld.HelloReply );"
        ),
        "{described}"
    );
}

#[test]
fn changed_stubs_are_reloaded_and_a_broken_file_keeps_the_last_good_set() {
    let stub = |text: &str| json!({"method": "helloworld.Greeter/SayHello", "then": {"message": {"message": text}}});
    let mock = Mock::start(&stub("before"));
    let say = || messages(&grpc_go(mock.addr(), "SayHello", "x", ""));
    assert_eq!(say(), [json!("before")]);

    write(&mock.stubs(), &stub("after"));
    wait_for(&mock.server, "reloaded 1 stubs");
    assert_eq!(say(), [json!("after")]);

    std::fs::write(
        mock.stubs(),
        "[{\"method\": \"helloworld.Greeter/SayHello\",\n \"then\": {\"mesage\": {}}}]",
    )
    .unwrap();
    wait_for(&mock.server, "keeping the last good stubs");
    assert!(
        mock.server
            .log()
            .contains("stubs.json:2 (stub 1): then.mesage: unknown field `mesage`"),
        "{}",
        mock.server.log()
    );
    assert_eq!(say(), [json!("after")]);
}

fn wait_for(server: &Server, text: &str) {
    let start = Instant::now();
    while !server.log().contains(text) {
        assert!(
            start.elapsed() < Duration::from_secs(10),
            "the server never said {text:?}:\n{}",
            server.log()
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn the_call_log_has_one_line_per_call() {
    let mock = Mock::start(&greeter_stubs());
    grpc_go(
        mock.addr(),
        "SayHello",
        "ann",
        "x-team=blue,authorization=Bearer s3cret",
    );
    grpcio(
        mock.addr(),
        "helloworld.Greeter/SayHelloClientStream",
        &[json!({"name": "a"}), json!({"name": "b"})],
        &[],
    );
    grpcio(
        mock.addr(),
        "helloworld.Greeter/SayHello",
        &[json!({"name": "zed"})],
        &[],
    );
    let log = mock.log();
    assert_eq!(log.len(), 3, "{log:?}");
    assert_eq!(log[0]["method"], "helloworld.Greeter/SayHello");
    assert_eq!(log[0]["requests"], json!([{"name": "ann"}]));
    assert_eq!(log[0]["headers"]["x-team"], "blue");
    // Credentials are masked (unless -vv).
    assert_eq!(log[0]["headers"]["authorization"], "<masked>");
    assert!(
        log[0]["headers"]["user-agent"]
            .as_str()
            .unwrap()
            .starts_with("grpc-go/")
    );
    assert!(
        log[0]["stub"].as_str().unwrap().ends_with("stubs.json:2"),
        "{}",
        log[0]
    );
    assert_eq!(
        (&log[0]["status"], &log[0]["code"], &log[0]["responses"]),
        (&json!("OK"), &json!(0), &json!(1))
    );
    assert!(log[0]["time"].as_str().unwrap().ends_with('Z'));
    assert_eq!(log[1]["requests"], json!([{"name": "a"}, {"name": "b"}]));
    assert_eq!(log[2]["stub"], Value::Null);
    assert_eq!(log[2]["status"], "UNIMPLEMENTED");
}

#[test]
fn a_recording_of_grpc_go_replays_to_grpcio() {
    let upstream = Server::go();
    let dir = tempfile::tempdir().unwrap();
    let record = dir.path().join("recorded");
    let recorder = Server::start(
        {
            let mut cmd = grpcx_std();
            cmd.args([
                "serve",
                "--addr",
                "127.0.0.1:0",
                "--upstream",
                &upstream.addr,
            ])
            .arg("--record")
            .arg(&record);
            cmd
        },
        "grpcx serve --record",
    );
    let calls: [(&str, Vec<Value>, &[&str]); 5] = [
        (
            "helloworld.Greeter/SayHello",
            vec![json!({"name": "ann"})],
            &["echo-team=blue"],
        ),
        (
            "helloworld.Greeter/SayHello",
            vec![json!({"name": "bob"})],
            &["x-grpcx-fail=NOT_FOUND", "x-grpcx-fail-details=1"],
        ),
        (
            "helloworld.Greeter/SayHelloStreamReply",
            vec![json!({"name": "s"})],
            &[],
        ),
        (
            "helloworld.Greeter/SayHelloClientStream",
            vec![json!({"name": "a"}), json!({"name": "b"})],
            &[],
        ),
        (
            "grpcx.test.v1.Echo/Echo",
            vec![json!({"fInt64": "7", "rString": ["x"]})],
            &[],
        ),
    ];
    let live: Vec<Vec<Value>> = calls
        .iter()
        .map(|(method, requests, headers)| grpcio(&recorder.addr, method, requests, headers))
        .collect();
    assert_eq!(messages(&live[0]), [json!({"message": "Hello, ann!"})]);
    assert_eq!(status(&live[1])["code"], "NOT_FOUND");
    wait_for(&recorder, "recorded grpcx.test.v1.Echo/Echo");
    drop(recorder);
    drop(upstream);

    assert!(record.join("helloworld.Greeter/SayHello.json").is_file());
    let mut cmd = grpcx_std();
    cmd.args(["serve", "--addr", "127.0.0.1:0"])
        .args(["--proto", &proto("helloworld.proto")])
        .args(["--proto", &proto("grpcx/test/v1/everything.proto")])
        .arg("--stubs")
        .arg(&record);
    let replay = Server::start(cmd, "grpcx serve --stubs (the recording)");
    for ((method, requests, headers), live) in calls.iter().zip(&live) {
        let replayed = grpcio(&replay.addr, method, requests, headers);
        let without_ms = |lines: &[Value]| -> Vec<Value> {
            lines
                .iter()
                .map(|l| {
                    let mut l = l.clone();
                    if let Some(map) = l.as_object_mut() {
                        map.remove("ms");
                    }
                    l
                })
                .collect()
        };
        // The Note detail (a type only the schema knows) and the unknown
        // one are not in google.rpc: the recording keeps ErrorInfo.
        let mut live = without_ms(live);
        if let Some(details) = live.last_mut().and_then(|l| l["details"].as_array_mut()) {
            details.retain(|d| d["@type"] == "type.googleapis.com/google.rpc.ErrorInfo");
        }
        assert_eq!(without_ms(&replayed), live, "{method}");
    }
}

#[test]
fn bad_stub_files_stop_the_server_with_file_and_line() {
    let cases: [(&str, &str, &str); 9] = [
        (
            "a.json",
            "[{\"method\": \"helloworld.Greeter/SayHello\",\n",
            ":2: not JSON: EOF while parsing",
        ),
        (
            "a.json",
            "42",
            ":1: a stub file holds a stub (an object) or a list of stubs, not a number",
        ),
        (
            "a.json",
            "[\n{\"method\": \"helloworld.Greeter/SayHelo\",\n \"then\": {\"message\": {}}}]",
            ":2 (stub 1): the schema has no method helloworld.Greeter/SayHelo; did you mean helloworld.Greeter/SayHello?",
        ),
        (
            "a.json",
            "{\"method\": \"helloworld.Greeter/SayHello\",\n\"then\":\n {\"message\": {\"mesage\": \"x\"}}}",
            ":3: does not fit helloworld.HelloReply",
        ),
        (
            "a.json",
            "{\"method\": \"helloworld.Greeter/SayHello\",\n\"when\": {\"contains\": {\"name\": 5}},\n\"then\": {\"message\": {}}}",
            "does not fit helloworld.HelloRequest",
        ),
        (
            "a.json",
            "{\"method\": \"helloworld.Greeter/SayHello\", \"when\": {\"like\": {}}, \"then\": {\"message\": {}}}",
            ":1: when has no rule \"like\" (equals, contains, matches, headers)",
        ),
        (
            "a.json",
            "{\"method\": \"helloworld.Greeter/SayHello\", \"when\": {\"matches\": {\"name\": \"(\"}}, \"then\": {\"message\": {}}}",
            ":1: matches.name: not a regex: found open group without closing ')'",
        ),
        (
            "a.json",
            "{\"method\": \"helloworld.Greeter/SayHello\", \"then\": {\"message\": {\"message\": \"{{req.name}}\"}}}",
            "unknown placeholder {{req.name}}",
        ),
        (
            "a.yaml",
            "- method: helloworld.Greeter/SayHello\n  then:\n    messages: []\n",
            ":3 (stub 1): helloworld.Greeter/SayHello is unary: it answers one message (then.message), not a list",
        ),
    ];
    for (name, text, wanted) in cases {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(name);
        std::fs::write(&path, text).unwrap();
        let out = run(&[
            "serve",
            "--addr",
            "127.0.0.1:0",
            "--proto",
            &proto("helloworld.proto"),
            "--stubs",
            path.to_str().unwrap(),
        ]);
        out.code(1);
        assert_eq!(out.stdout, "", "nothing listens: {text}");
        assert!(
            out.stderr
                .starts_with(&format!("grpcx: error: {}", path.display()))
                && out.stderr.contains(wanted),
            "{text}\nwanted {wanted:?} in:\n{}",
            out.stderr
        );
        assert_eq!(out.stderr.lines().count(), 1, "one line: {}", out.stderr);
    }
}

#[test]
fn a_folder_of_yaml_and_json_stubs_and_a_schema_from_reflection() {
    let python = Server::python();
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("more")).unwrap();
    std::fs::write(
        dir.path().join("greeter.yaml"),
        "# YAML stubs\n- method: helloworld.Greeter/SayHello\n  then:\n    message: {message: from yaml}\n",
    )
    .unwrap();
    write(
        &dir.path().join("more/echo.json"),
        &json!({"method": "grpcx.test.v1.Echo/Echo", "then": {"message": {"fString": "from json"}}}),
    );
    let mut cmd = grpcx_std();
    cmd.args([
        "serve",
        "--addr",
        "127.0.0.1:0",
        "--schema-from",
        &python.addr,
        "--stubs",
    ])
    .arg(dir.path());
    let mock = Server::start(cmd, "grpcx serve --schema-from");
    assert_eq!(
        messages(&grpc_go(&mock.addr, "SayHello", "x", "")),
        [json!("from yaml")]
    );
    assert_eq!(
        messages(&echo(&mock.addr, json!({}), &[])),
        [json!({"fString": "from json"})]
    );
    // The mock's own reflection serves the schema it took.
    let out = run(&["list", &mock.addr]);
    out.ok();
    assert!(
        out.stdout.contains("grpcx.test.v1.Echo\n"),
        "{}",
        out.stdout
    );
}

#[test]
fn health_watch_sees_the_mocked_services_go_away() {
    let mock = Mock::start(&greeter_stubs());
    let out = run(&[
        "health",
        mock.addr(),
        "helloworld.Greeter",
        "grpcx.test.v1.Echo",
    ]);
    out.ok();
    assert_eq!(
        out.stdout,
        "helloworld.Greeter: SERVING\ngrpcx.test.v1.Echo: SERVING\n"
    );
    let mut watch = spawn_piped(&["health", "--watch", mock.addr(), "helloworld.Greeter"]);
    let mut stdout = std::io::BufReader::new(watch.stdout.take().unwrap());
    let mut line = String::new();
    std::io::BufRead::read_line(&mut stdout, &mut line).unwrap();
    assert_eq!(line, "helloworld.Greeter: SERVING\n");
    Command::new("kill")
        .args(["-TERM", &mock.server.pid().to_string()])
        .status()
        .unwrap();
    line.clear();
    std::io::BufRead::read_line(&mut stdout, &mut line).unwrap();
    assert_eq!(line, "helloworld.Greeter: NOT_SERVING\n");
    let _ = watch.kill();
    let _ = watch.wait();
}

#[test]
fn the_greeter_beside_a_mock_and_the_call_log_on_stdout() {
    let dir = tempfile::tempdir().unwrap();
    let stubs = dir.path().join("echo.json");
    write(
        &stubs,
        &json!({"method": "grpcx.test.v1.Echo/Echo", "then": {"message": {"fString": "mocked"}}}),
    );
    let mut child = grpcx_std()
        .args(["serve", "--addr", "127.0.0.1:0", "--greeter", "--log", "-"])
        .args(["--proto", &proto("grpcx/test/v1/everything.proto")])
        .arg("--stubs")
        .arg(&stubs)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let mut stdout = std::io::BufReader::new(child.stdout.take().unwrap());
    let mut line = String::new();
    std::io::BufRead::read_line(&mut stdout, &mut line).unwrap();
    let addr = line.trim().strip_prefix("LISTENING ").unwrap().to_string();

    // The bundled greeter answers as itself; the mocked service from stubs.
    assert_eq!(
        messages(&grpc_go(&addr, "SayHello", "ann", "")),
        [json!("Hello, ann!")]
    );
    assert_eq!(
        messages(&echo(&addr, json!({"fInt32": 3}), &[])),
        [json!({"fString": "mocked"})]
    );
    // Only the mocked call is logged, one line on stdout after LISTENING.
    line.clear();
    std::io::BufRead::read_line(&mut stdout, &mut line).unwrap();
    let logged: Value = serde_json::from_str(&line).unwrap();
    assert_eq!(logged["method"], "grpcx.test.v1.Echo/Echo");
    assert_eq!(logged["requests"], json!([{"fInt32": 3}]));
    assert!(
        logged["stub"].as_str().unwrap().ends_with("echo.json:1"),
        "{logged}"
    );
    let _ = child.kill();
    let _ = child.wait();
}
