//! One HTTP/2 stack under every command: the same user-agent reaches the
//! server from every command and protocol; headers that belong to the
//! connection are refused up front, naming the header; and a server that
//! rotates its connections (GOAWAY) in the middle of a `bench` or an
//! `--each` run loses no call and gets none twice.

use std::time::{Duration, Instant};

use serde_json::json;

use crate::util::{Server, names, run};

const HELLO: &str = "helloworld.Greeter/SayHello";

/// The user-agents the bundled server logged, in order: of every request,
/// reflection's and the calls'.
fn agents(server: &Server) -> Vec<String> {
    server
        .log()
        .lines()
        .filter_map(|line| {
            let at = line.find("user-agent=\"")? + "user-agent=\"".len();
            let rest = &line[at..];
            Some(rest[..rest.find('"')?].to_string())
        })
        .collect()
}

/// `call`, `call --each`, `bench`, Connect and gRPC-Web (over HTTP/1.1 and
/// HTTP/2), and the reflection requests before them, all name grpcx the
/// same way, after the user's own product.
#[test]
fn every_command_and_protocol_sends_one_user_agent() {
    let server = Server::bundled();
    let ours = format!("grpcx/{}", env!("CARGO_PKG_VERSION"));
    let addr = server.addr.as_str();
    let name = r#"{"name":"ua"}"#;
    let ways: Vec<Vec<&str>> = vec![
        vec!["call", addr, HELLO, name],
        vec!["call", addr, HELLO, "--each", name],
        vec![
            "bench", addr, HELLO, "-d", name, "-n", "3", "--format", "json",
        ],
        vec!["call", addr, HELLO, name, "--protocol", "connect"],
        vec![
            "call",
            addr,
            HELLO,
            name,
            "--protocol",
            "connect",
            "--http2-prior-knowledge",
        ],
        vec!["call", addr, HELLO, name, "--protocol", "grpcweb"],
        vec![
            "call",
            addr,
            HELLO,
            name,
            "--protocol",
            "grpcweb",
            "--http2-prior-knowledge",
        ],
    ];
    for (own, expected) in [
        (None, ours.clone()),
        (Some("me/1.0"), format!("me/1.0 {ours}")),
    ] {
        for way in &ways {
            let before = agents(&server).len();
            let mut args = way.clone();
            let header = own.map(|own| format!("user-agent: {own}"));
            if let Some(header) = &header {
                args.extend(["-H", header.as_str()]);
            }
            run(&args).ok();
            let seen = wait_for(|| {
                let all = agents(&server);
                (all.len() > before).then(|| all[before..].to_vec())
            });
            assert!(
                seen.iter().all(|agent| *agent == expected),
                "{args:?}: the server saw {seen:?}, not {expected:?}"
            );
        }
    }
}

/// Polls `check` for up to 10 s: the server's log arrives on its own pipe.
fn wait_for<T>(mut check: impl FnMut() -> Option<T>) -> T {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        if let Some(found) = check() {
            return found;
        }
        assert!(
            Instant::now() < deadline,
            "the server logged nothing in time"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// `-H connection: close` and its kind: HTTP/2 forbids them, so they are a
/// usage error (exit 2) naming the header, for `call` and `bench` alike,
/// before any connection is opened.
#[test]
fn connection_specific_headers_are_refused_by_name() {
    for header in [
        "connection: close",
        "Keep-Alive: 5",
        "te: gzip",
        "upgrade: h2c",
        "transfer-encoding: chunked",
    ] {
        let name = header.split(':').next().unwrap().to_ascii_lowercase();
        for command in ["call", "bench"] {
            // Nothing listens there: the header is refused before dialing.
            let out = run(&[command, "127.0.0.1:1", HELLO, "-d", "{}", "-H", header]);
            out.code(2)
                .stderr_has(&format!("header '{name}' is connection-specific"));
            assert_eq!(out.stderr.lines().count(), 1, "{}", out.stderr);
        }
    }
    // `te: trailers` is what gRPC sends itself: allowed.
    let server = Server::bundled();
    run(&["call", &server.addr, HELLO, "{}", "-H", "te: trailers"]).ok();
}

/// grpc-go, rotating its connections every 50 ms, and logging each SayHello
/// it processes.
fn rotating_and_counting() -> Server {
    Server::go_with(&["--max-connection-age", "50ms", "--log-calls"])
}

/// The names the server processed, as often as it processed each.
fn processed(server: &Server, expected: usize) -> Vec<String> {
    let count = || {
        server
            .log()
            .lines()
            .filter_map(|line| line.strip_prefix("processed SayHello "))
            .map(str::to_string)
            .collect::<Vec<_>>()
    };
    // The log may trail the last answer by a moment.
    let deadline = Instant::now() + Duration::from_secs(5);
    while count().len() < expected && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(20));
    }
    std::thread::sleep(Duration::from_millis(100));
    count()
}

/// `--each` across GOAWAYs: every call answered, and the server processed
/// each name exactly once (a call it never took is made again; one it took
/// is never made twice).
#[test]
fn each_across_goaways_loses_no_call_and_makes_none_twice() {
    let server = rotating_and_counting();
    let out = crate::util::each_hello(&server.addr, &names(5_000));
    assert_eq!(out.stderr, "", "exit {}", out.code);
    assert_eq!(out.ok().json_lines().len(), 5_000);
    let mut seen = processed(&server, 5_000);
    seen.sort();
    let mut expected: Vec<String> = (0..5_000).map(|i| i.to_string()).collect();
    expected.sort();
    assert_eq!(seen, expected, "each name processed exactly once");
}

/// `bench` across GOAWAYs, 64 calls in flight over 4 connections: every
/// call OK, and the server processed exactly as many as bench counted.
#[test]
fn bench_across_goaways_loses_no_call_and_makes_none_twice() {
    let server = rotating_and_counting();
    let out = run(&[
        "bench",
        &server.addr,
        HELLO,
        "-d",
        r#"{"name":"b"}"#,
        "-n",
        "20000",
        "-c",
        "64",
        "--connections",
        "4",
        "--format",
        "json",
    ]);
    let report = &out.ok().json_lines()[0];
    assert_eq!(report["status"], json!({"OK": 20000}));
    let seen = processed(&server, 20_000);
    assert_eq!(seen.len(), 20_000, "the server processed each call once");
}
