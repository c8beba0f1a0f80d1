//! `--protocol grpcweb|connect`, over HTTP/1.1 and h2c, against connect-node
//! (`tests/servers/node/connect_server.mjs`), with buf curl as the
//! reference of what a correct client prints; and gRPC-Web against
//! `grpcx serve` (tonic-web), reflection included.

use std::process::Command;
use std::time::Duration;

use serde_json::{Value, json};

use crate::util::{Run, Server, proto, root, run, run_with_stdin};

/// connect-node on a free port: h2c, or HTTP/1.1 with `http1`.
fn connect_node(http1: bool) -> Server {
    let mut cmd = Command::new("node");
    cmd.arg(root().join("tests/servers/node/connect_server.mjs"));
    if http1 {
        cmd.arg("--http1");
    }
    Server::start(
        cmd,
        "connect-node server (npm ci in tests/servers/node first)",
    )
}

/// Every way to reach connect-node: protocol, HTTP/1.1 or h2c, the server.
fn each_wire(mut test: impl FnMut(&str, bool, &Server)) {
    let h1 = connect_node(true);
    let h2 = connect_node(false);
    for protocol in ["connect", "grpcweb"] {
        test(protocol, false, &h1);
        test(protocol, true, &h2);
    }
}

/// The proto flags every call here uses (connect-node has no reflection).
fn schema() -> Vec<String> {
    vec![
        "--proto".into(),
        proto("helloworld.proto"),
        "--proto".into(),
        proto("grpcx/test/v1/everything.proto"),
    ]
}

/// grpcx calls `method` over the wire, `args` after the call's own.
fn grpcx_call(
    protocol: &str,
    h2: bool,
    server: &Server,
    method: &str,
    data: &str,
    args: &[&str],
) -> Run {
    let mut all: Vec<String> = vec![
        "call".into(),
        server.addr.clone(),
        method.into(),
        "-d".into(),
        data.into(),
        "--protocol".into(),
        protocol.into(),
    ];
    all.extend(schema());
    if h2 {
        all.push("--http2-prior-knowledge".into());
    }
    all.extend(args.iter().map(|a| a.to_string()));
    let all: Vec<&str> = all.iter().map(String::as_str).collect();
    run(&all)
}

/// What buf curl printed: its messages (a stream of JSON values on stdout),
/// and its error's code name (JSON on stderr), if any.
struct BufCurl {
    messages: Vec<Value>,
    error_code: Option<String>,
    exit: i32,
}

fn buf_curl(
    protocol: &str,
    h2: bool,
    server: &Server,
    method: &str,
    data: &str,
    headers: &[&str],
) -> BufCurl {
    let buf = root().join("tests/servers/node/node_modules/.bin/buf");
    let mut cmd = Command::new(&buf);
    cmd.args(["curl", "--protocol", protocol, "-d", data])
        .args(["--schema", &root().join("proto").display().to_string()]);
    if h2 {
        cmd.arg("--http2-prior-knowledge");
    }
    for header in headers {
        cmd.args(["-H", header]);
    }
    cmd.arg(format!("http://{}/{method}", server.addr));
    let out = cmd.output().unwrap_or_else(|e| {
        panic!(
            "cannot run {} (npm ci in tests/servers/node): {e}",
            buf.display()
        )
    });
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    let messages = serde_json::Deserializer::from_str(&stdout)
        .into_iter::<Value>()
        .collect::<Result<Vec<_>, _>>()
        .unwrap_or_else(|e| panic!("buf curl printed no JSON: {e}\n{stdout}\n{stderr}"));
    let error_code = serde_json::Deserializer::from_str(&stderr)
        .into_iter::<Value>()
        .next()
        .and_then(Result::ok)
        .and_then(|v| v["code"].as_str().map(str::to_string));
    BufCurl {
        messages,
        error_code,
        exit: out.status.code().unwrap_or(-1),
    }
}

/// grpcx prints what buf curl prints, message for message, and ends with
/// the same status.
#[track_caller]
fn same_as_buf_curl(
    protocol: &str,
    h2: bool,
    server: &Server,
    method: &str,
    data: &str,
    headers: &[&str],
) -> Run {
    let mut args = vec!["--format", "ndjson"];
    for header in headers {
        args.extend(["-H", header]);
    }
    let ours = grpcx_call(protocol, h2, server, method, data, &args);
    let theirs = buf_curl(protocol, h2, server, method, data, headers);
    let wire = format!("{protocol} over {}", if h2 { "h2c" } else { "HTTP/1.1" });
    assert_eq!(
        ours.json_lines(),
        theirs.messages,
        "{method} {wire}\n{}",
        ours.stderr
    );
    match &theirs.error_code {
        None => {
            assert_eq!(theirs.exit, 0, "{wire}");
            ours.code(0);
        }
        Some(name) => {
            // buf curl exits 8 × code; grpcx 64 + code.
            let code = theirs.exit / 8;
            assert_eq!(ours.code, 64 + code, "{method} {wire}: {}", ours.stderr);
            let word: String = name
                .split('_')
                .map(|w| w[..1].to_uppercase() + &w[1..])
                .collect();
            let word = word.replace("Canceled", "Cancelled");
            ours.stderr_has(&format!("ERROR: {word}: "));
        }
    }
    ours
}

#[test]
fn unary_and_server_streaming_print_what_buf_curl_prints() {
    each_wire(|protocol, h2, server| {
        same_as_buf_curl(
            protocol,
            h2,
            server,
            "helloworld.Greeter/SayHello",
            r#"{"name":"web"}"#,
            &[],
        );
        let out = same_as_buf_curl(
            protocol,
            h2,
            server,
            "helloworld.Greeter/SayHelloStreamReply",
            r#"{"name":"web"}"#,
            &[],
        );
        assert_eq!(out.json_lines().len(), 3);
        same_as_buf_curl(
            protocol,
            h2,
            server,
            "grpcx.test.v1.Echo/Stream",
            r#"{"count":5,"payloadSize":3}"#,
            &[],
        );
        same_as_buf_curl(
            protocol,
            h2,
            server,
            "grpcx.test.v1.Echo/Echo",
            r#"{"fString":"é","fUint64":"18446744073709551615","fBytes":"AAE=","rString":["a","b"],"fEnum":"COLOR_BLUE","fDouble":1.5}"#,
            &[],
        );
    });
}

#[test]
fn client_streaming_and_bidi_over_h2() {
    let server = connect_node(false);
    for protocol in ["connect", "grpcweb"] {
        let out = same_as_buf_curl(
            protocol,
            true,
            &server,
            "helloworld.Greeter/SayHelloClientStream",
            r#"{"name":"A"} {"name":"B"} {"name":"C"}"#,
            &[],
        );
        assert_eq!(out.json_lines(), [json!({"message": "Hello, A, B, C!"})]);
        let out = same_as_buf_curl(
            protocol,
            true,
            &server,
            "helloworld.Greeter/SayHelloBidiStream",
            r#"{"name":"A"} {"name":"B"}"#,
            &[],
        );
        assert_eq!(out.json_lines().len(), 2);
        same_as_buf_curl(
            protocol,
            true,
            &server,
            "grpcx.test.v1.Echo/Collect",
            r#"{"pad":"xx"} {"pad":"yyy"}"#,
            &[],
        );
    }
}

#[test]
fn bidi_is_interactive_over_h2() {
    let server = connect_node(false);
    for protocol in ["connect", "grpcweb"] {
        let mut args = vec![
            "call",
            &server.addr,
            "helloworld.Greeter/SayHelloBidiStream",
            "-d",
            "@-",
            "--protocol",
            protocol,
            "--http2-prior-knowledge",
        ];
        let schema = schema();
        args.extend(schema.iter().map(String::as_str));
        let out = run_with_stdin(&args, "{\"name\":\"x\"}\n{\"name\":\"y\"}\n");
        assert_eq!(
            out.ok().json_lines(),
            [
                json!({"message": "Hello, x!"}),
                json!({"message": "Hello, y!"})
            ]
        );
    }
}

#[test]
fn client_streaming_over_http1_and_bidi_needs_http2() {
    let server = connect_node(true);
    for protocol in ["connect", "grpcweb"] {
        let out = grpcx_call(
            protocol,
            false,
            &server,
            "helloworld.Greeter/SayHelloClientStream",
            r#"{"name":"A"} {"name":"B"}"#,
            &[],
        );
        assert_eq!(out.ok().json_lines(), [json!({"message": "Hello, A, B!"})]);
        let out = grpcx_call(
            protocol,
            false,
            &server,
            "helloworld.Greeter/SayHelloBidiStream",
            r#"{"name":"A"}"#,
            &[],
        );
        out.code(64 + 12)
            .stderr_has("needs HTTP/2")
            .stderr_has("--http2-prior-knowledge");
        assert!(out.stdout.is_empty(), "{}", out.stdout);
    }
}

#[test]
fn errors_and_mid_stream_failures_end_as_buf_curl_says() {
    each_wire(|protocol, h2, server| {
        let hello = r#"{"name":"e"}"#;
        same_as_buf_curl(
            protocol,
            h2,
            server,
            "helloworld.Greeter/SayHello",
            hello,
            &[
                "x-grpcx-fail: NOT_FOUND",
                "x-grpcx-fail-message: no such greeting",
            ],
        )
        .stderr_has("ERROR: NotFound: no such greeting");
        same_as_buf_curl(
            protocol,
            h2,
            server,
            "helloworld.Greeter/SayHello",
            hello,
            &["x-grpcx-fail: 16"],
        );
        // A stream that fails after 2 messages has printed both.
        let out = same_as_buf_curl(
            protocol,
            h2,
            server,
            "helloworld.Greeter/SayHelloStreamReply",
            hello,
            &["x-grpcx-fail: FAILED_PRECONDITION", "x-grpcx-fail-after: 2"],
        );
        assert_eq!(out.json_lines().len(), 2);
        // Before the first message, too.
        same_as_buf_curl(
            protocol,
            h2,
            server,
            "helloworld.Greeter/SayHelloStreamReply",
            hello,
            &["x-grpcx-fail: RESOURCE_EXHAUSTED"],
        );
    });
}

#[test]
fn error_details_and_json_errors() {
    each_wire(|protocol, h2, server| {
        let note = proto("grpcx/test/v1/note.proto");
        let out = grpcx_call(
            protocol,
            h2,
            server,
            "helloworld.Greeter/SayHello",
            "{}",
            &[
                "--proto",
                &note,
                "-H",
                "x-grpcx-fail: NOT_FOUND",
                "-H",
                "x-grpcx-fail-details: 1",
                "--error-format",
                "json",
            ],
        );
        out.code(69);
        let error: Value = serde_json::from_str(out.stderr.lines().next().unwrap()).unwrap();
        assert_eq!(error["code"], "NOT_FOUND", "{protocol}");
        assert_eq!(
            error["details"],
            json!([{"@type": "type.googleapis.com/grpcx.test.v1.Note", "text": "detail", "stars": 5}]),
            "{protocol}"
        );
    });
}

#[test]
fn trailers_arrive_in_the_envelope() {
    each_wire(|protocol, h2, server| {
        for (method, fail) in [
            ("helloworld.Greeter/SayHello", None),
            ("helloworld.Greeter/SayHelloStreamReply", None),
            (
                "helloworld.Greeter/SayHelloStreamReply",
                Some("x-grpcx-fail: ABORTED"),
            ),
        ] {
            let mut args = vec![
                "--envelope",
                "-H",
                "echo-trail: t1",
                "-H",
                "echo-bin-bin: AQID",
            ];
            if let Some(fail) = fail {
                args.extend(["-H", fail, "-H", "x-grpcx-fail-after: 1"]);
            }
            let out = grpcx_call(protocol, h2, server, method, r#"{"name":"t"}"#, &args);
            let events = out.json_lines();
            let wire = format!("{protocol} h2={h2} {method}");
            let headers = &events[0]["headers"];
            assert_eq!(headers["echo-trail"], "t1", "{wire}: {events:?}");
            assert!(
                headers.get("trailer-echo-trail").is_none(),
                "{wire}: {events:?}"
            );
            let trailers = events
                .iter()
                .find_map(|e| e.get("trailers"))
                .unwrap_or_else(|| panic!("{wire}: no trailers in {events:?}"));
            assert_eq!(trailers["echo-trail"], "t1", "{wire}: {events:?}");
            assert_eq!(trailers["echo-bin-bin"], "AQID", "{wire}: {events:?}");
            let status = &events.last().unwrap()["status"];
            match fail {
                None => {
                    out.ok();
                    assert_eq!(status["code"], "OK", "{wire}");
                }
                Some(_) => {
                    out.code(64 + 10);
                    assert_eq!(status["code"], "ABORTED", "{wire}");
                    assert_eq!(
                        events.iter().filter(|e| e.get("message").is_some()).count(),
                        1
                    );
                }
            }
        }
    });
}

#[test]
fn deadlines_end_the_call_with_deadline_exceeded() {
    each_wire(|protocol, h2, server| {
        let out = grpcx_call(
            protocol,
            h2,
            server,
            "grpcx.test.v1.Echo/Stream",
            r#"{"count":100,"intervalMs":100}"#,
            &["--max-time", "4", "--format", "ndjson"],
        );
        out.code(68).stderr_has("ERROR: DeadlineExceeded: ");
        // The chunks that arrived in time were printed as they came (the
        // machine may be slow to start, so only roughly 40).
        let printed = out.json_lines().len();
        assert!(
            (5..=40).contains(&printed),
            "{protocol} h2={h2}: {printed} chunks"
        );
        assert!(out.elapsed < Duration::from_secs(8), "{:?}", out.elapsed);
        let out = grpcx_call(
            protocol,
            h2,
            server,
            "helloworld.Greeter/SayHello",
            "{}",
            &["--max-time", "0.5", "-H", "x-grpcx-delay-ms: 5000"],
        );
        out.code(68);
        assert!(out.elapsed < Duration::from_secs(4), "{:?}", out.elapsed);
    });
}

#[test]
fn verbose_names_the_protocol_and_http_version() {
    each_wire(|protocol, h2, server| {
        let out = grpcx_call(
            protocol,
            h2,
            server,
            "helloworld.Greeter/SayHello",
            "{}",
            &["-v"],
        );
        let name = if protocol == "connect" {
            "Connect"
        } else {
            "gRPC-Web"
        };
        let version = if h2 { "HTTP/2" } else { "HTTP/1.1" };
        // -v names the address that won, then the protocol.
        out.ok()
            .stderr_has("(plaintext) at 127.0.0.1:")
            .stderr_has(&format!(", {name} over {version}, "));
    });
}

#[test]
fn an_unknown_protocol_is_a_usage_error() {
    let out = run(&["call", "127.0.0.1:1", "a.B/C", "--protocol", "soap"]);
    out.code(2).stderr_has("--protocol");
}

#[test]
fn grpcx_serve_answers_grpc_web_and_connect_with_reflection_over_either_http() {
    let server = Server::bundled();
    for (protocol, h2) in [
        ("grpcweb", false),
        ("grpcweb", true),
        ("connect", false),
        ("connect", true),
    ] {
        let name = if protocol == "connect" {
            "Connect"
        } else {
            "gRPC-Web"
        };
        let with = |args: &[&str]| {
            let mut all = args.to_vec();
            all.extend(["--protocol", protocol]);
            if h2 {
                all.push("--http2-prior-knowledge");
            }
            run(&all)
        };
        let out = with(&[
            "call",
            &server.addr,
            "helloworld.Greeter/SayHelloStreamReply",
            r#"{"name":"s"}"#,
            "-v",
        ]);
        assert_eq!(out.ok().json_lines().len(), 3, "h2={h2}");
        // Reflection rides gRPC-Web when HTTP/2 carries its bidi stream,
        // and gRPC on the same port otherwise.
        out.stderr_has(&if h2 {
            format!("* reflection over {name} (HTTP/2)")
        } else {
            format!("* reflection over gRPC: {name} over HTTP/1.1 cannot carry its bidi stream")
        });
        let out = with(&["list", &server.addr]);
        assert!(
            out.ok().stdout.contains("helloworld.Greeter\n"),
            "{}",
            out.stdout
        );
        let out = with(&["describe", &server.addr, "helloworld.HelloRequest"]);
        assert!(
            out.ok().stdout.contains("message HelloRequest"),
            "{}",
            out.stdout
        );
        // The same answers as buf curl's, failures included.
        let hello = r#"{"name":"b"}"#;
        same_as_buf_curl(
            protocol,
            h2,
            &server,
            "helloworld.Greeter/SayHelloStreamReply",
            hello,
            &[],
        );
        same_as_buf_curl(
            protocol,
            h2,
            &server,
            "helloworld.Greeter/SayHelloStreamReply",
            hello,
            &["x-grpcx-fail: DATA_LOSS", "x-grpcx-fail-after: 1"],
        );
        same_as_buf_curl(
            protocol,
            h2,
            &server,
            "helloworld.Greeter/SayHello",
            hello,
            &["x-grpcx-fail: NOT_FOUND"],
        );
        if h2 {
            same_as_buf_curl(
                protocol,
                h2,
                &server,
                "helloworld.Greeter/SayHelloBidiStream",
                r#"{"name":"A"} {"name":"B"}"#,
                &[],
            );
        }
        // Every status detail survives the trip (Connect's JSON details).
        let out = with(&[
            "call",
            &server.addr,
            "helloworld.Greeter/SayHello",
            "{}",
            "-H",
            "x-grpcx-fail: NOT_FOUND",
            "-H",
            "x-grpcx-fail-details: 1",
        ]);
        out.code(69)
            .stderr_has("details: google.rpc.ErrorInfo {\"reason\":\"GRPCX_TEST\"")
            .stderr_has("details: grpcx.test.v1.Note {\"text\":\"detail\",\"stars\":5}");
    }
}

/// A call the server fails at once, before it reads the request, still gets
/// its status over HTTP/1.1, however large the request: `grpcx serve` reads
/// the rest of the request, so closing the connection cannot reset the answer
/// away (buf curl saw "unexpected EOF" or "broken pipe" before).
#[test]
fn an_http1_call_failed_before_its_request_is_read_still_gets_its_status() {
    let server = Server::bundled();
    let dir = tempfile::tempdir().unwrap();
    let big = dir.path().join("big.json");
    std::fs::write(&big, json!({ "name": "x".repeat(1 << 20) }).to_string()).unwrap();
    let data = format!("@{}", big.display());
    for protocol in ["grpcweb", "connect"] {
        for _ in 0..3 {
            same_as_buf_curl(
                protocol,
                false,
                &server,
                "helloworld.Greeter/SayHello",
                &data,
                &["x-grpcx-fail: NOT_FOUND"],
            )
            .code(69);
        }
    }
}

#[test]
fn the_deadline_reaches_the_server() {
    let server = connect_node(true);
    for (calls, protocol) in (1..).zip(["connect", "grpcweb"]) {
        let out = grpcx_call(
            protocol,
            false,
            &server,
            "helloworld.Greeter/SayHello",
            "{}",
            &["--max-time", "5"],
        );
        out.ok();
        // The server's log line may reach us a moment after the answer.
        let mut line = String::new();
        for _ in 0..50 {
            let log = server.log();
            line = log.lines().last().unwrap_or_default().to_string();
            if log.lines().count() == calls {
                break;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        // Connect-Timeout-Ms in milliseconds, or grpc-timeout with a unit:
        // what is left of --max-time.
        let sent = line
            .split_once(" timeout=")
            .unwrap_or_else(|| panic!("{protocol}: no timeout in {line}"))
            .1;
        let digits: String = sent.chars().take_while(char::is_ascii_digit).collect();
        let n: f64 = digits.parse().unwrap();
        let ms = match &sent[digits.len()..] {
            "" | "m" => n,
            "u" => n / 1e3,
            "n" => n / 1e6,
            "S" => n * 1e3,
            other => panic!("{protocol}: unit {other:?} in {line}"),
        };
        assert!(ms > 0.0 && ms <= 5000.0, "{protocol}: {line}");
    }
}

/// A CA and a server certificate for 127.0.0.1, as PEM files.
fn pki(dir: &std::path::Path) -> (String, String, String) {
    use rcgen::{BasicConstraints, CertificateParams, CertifiedIssuer, IsCa, KeyPair};
    let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
    params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    let ca = CertifiedIssuer::self_signed(params, KeyPair::generate().unwrap()).unwrap();
    let key = KeyPair::generate().unwrap();
    let cert = CertificateParams::new(vec!["127.0.0.1".to_string()])
        .unwrap()
        .signed_by(&key, &ca)
        .unwrap();
    let write = |name: &str, text: &str| {
        let path = dir.join(name);
        std::fs::write(&path, text).unwrap();
        path.display().to_string()
    };
    (
        write("ca.pem", &ca.pem()),
        write("server.pem", &cert.pem()),
        write("server.key", &key.serialize_pem()),
    )
}

#[test]
fn over_tls_alpn_picks_the_http_version() {
    let dir = tempfile::tempdir().unwrap();
    let (ca, cert, key) = pki(dir.path());
    for http1 in [false, true] {
        let mut cmd = Command::new("node");
        cmd.arg(root().join("tests/servers/node/connect_server.mjs"))
            .args(["--tls-cert", &cert, "--tls-key", &key]);
        if http1 {
            cmd.arg("--http1");
        }
        let server = Server::start(cmd, "connect-node server with TLS");
        let target = format!("https://{}", server.addr);
        for protocol in ["connect", "grpcweb"] {
            let mut args = vec![
                "call",
                &target,
                "helloworld.Greeter/SayHelloBidiStream",
                "-d",
                r#"{"name":"A"} {"name":"B"}"#,
                "--cacert",
                &ca,
                "--protocol",
                protocol,
                "-v",
            ];
            let schema = schema();
            args.extend(schema.iter().map(String::as_str));
            let out = run(&args);
            if http1 {
                out.code(64 + 12)
                    .stderr_has("over HTTP/1.1")
                    .stderr_has("needs HTTP/2");
            } else {
                assert_eq!(out.ok().json_lines().len(), 2);
                out.stderr_has("(TLS) at 127.0.0.1:")
                    .stderr_has("over HTTP/2");
            }
            args[2] = "helloworld.Greeter/SayHello";
            args[4] = r#"{"name":"A"}"#;
            assert_eq!(
                run(&args).ok().json_lines(),
                [json!({"message": "Hello, A!"})],
                "{protocol} http1={http1}"
            );
        }
    }
}

#[test]
fn the_demo_shows_a_connect_call() {
    let out = run(&["demo"]);
    out.ok();
    assert!(
        out.stdout.contains("--protocol connect") && out.stdout.contains("Hello, Connect!"),
        "{}",
        out.stdout
    );
}

/// An HTTP/1.1 server that reads the request and hangs up without an
/// answer: the connection was made and the request sent, so the error says
/// the connection broke, not that grpcx could not connect. And one call
/// is one connection: the one dialed to learn the HTTP version carries it.
#[test]
fn an_http1_server_that_hangs_up_unanswered_broke_the_connection() {
    use std::sync::atomic::{AtomicUsize, Ordering};
    static ACCEPTED: AtomicUsize = AtomicUsize::new(0);
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap().to_string();
    std::thread::spawn(move || {
        for mut socket in listener.incoming().flatten() {
            ACCEPTED.fetch_add(1, Ordering::SeqCst);
            std::thread::spawn(move || {
                let mut buf = [0u8; 4096];
                let _ = std::io::Read::read(&mut socket, &mut buf);
            });
        }
    });
    for protocol in ["connect", "grpcweb"] {
        let mut args = vec!["call", &addr, "helloworld.Greeter/SayHello", "-d", "{}"];
        args.extend(["--protocol", protocol]);
        let schema = schema();
        args.extend(schema.iter().map(String::as_str));
        let out = run(&args);
        out.code(78).stderr_has(&format!(
            "ERROR: Unavailable: the connection broke to {addr}: \
             the server closed it before its answer reached grpcx"
        ));
        assert_eq!(out.stderr.lines().count(), 1, "{}", out.stderr);
    }
    assert_eq!(
        ACCEPTED.load(Ordering::SeqCst),
        2,
        "connections for two calls"
    );
}

#[test]
fn a_mismatched_http_version_says_what_to_do() {
    let h1 = connect_node(true);
    let h2 = connect_node(false);
    for protocol in ["connect", "grpcweb"] {
        // HTTP/1.1 to a server that speaks only HTTP/2.
        grpcx_call(
            protocol,
            false,
            &h2,
            "helloworld.Greeter/SayHello",
            "{}",
            &[],
        )
        .code(78)
        .stderr_has("does not answer HTTP/1.1")
        .stderr_has("--http2-prior-knowledge");
        // No schema: reflection falls back to gRPC, which this HTTP/1.1
        // server cannot speak either: the connection failed (Unavailable).
        let out = run(&["list", &h1.addr, "--protocol", protocol]);
        out.code(78)
            .stderr_has("HTTP/1.1 cannot carry")
            .stderr_has("--http2-prior-knowledge or pass --proto or --protoset");
    }
}

/// A message over `--max-msg-size` ends the call as ResourceExhausted, as
/// over gRPC, after the messages before it: grpcx never buffers a frame
/// bigger than the limit, whatever length the server announces.
#[test]
fn a_message_over_the_size_limit_is_refused_for_both_protocols() {
    each_wire(|protocol, h2, server| {
        let mut args = vec![
            "call",
            server.addr.as_str(),
            "grpcx.test.v1.Echo/Stream",
            r#"{"count": 2, "payloadSize": 4000}"#,
            "--protocol",
            protocol,
            "--max-msg-size",
            "2000",
            "--proto",
        ];
        let proto = proto("grpcx/test/v1/everything.proto");
        args.push(&proto);
        if h2 {
            args.push("--http2-prior-knowledge");
        }
        run(&args)
            .code(64 + 8)
            .stderr_has("ResourceExhausted")
            .stderr_has("--max-msg-size");
    });
}
