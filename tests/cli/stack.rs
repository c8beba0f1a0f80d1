//! One HTTP/2 stack under every command: the same user-agent reaches the
//! server from every command and protocol; headers that belong to the
//! connection are refused up front, naming the header; and a server that
//! rotates its connections (GOAWAY) in the middle of a `bench` or an
//! `--each` run loses no call and gets none twice. And what h2 does for
//! grpcx (third_party/h2/NOTES.md), judged at a server that reads and
//! writes the frames: repeated headers are table references, a PING's ACK
//! does not overtake the data its window let out, and frames are split by
//! their header however they arrive.

use std::process::Command;
use std::time::{Duration, Instant};

use serde_json::json;

use crate::util::{Run, Server, names, root, run, run_with_stdin, wait_for};

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

/// tests/servers/py/raw_h2.py, which answers at the level of frames.
fn raw_h2(extra: &[&str]) -> Server {
    let mut cmd = Command::new("python3");
    cmd.arg(root().join("tests/servers/py/raw_h2.py"))
        .args(extra);
    Server::start(cmd, "raw HTTP/2 server")
}

/// What raw_h2.py found of `what`: the rest of each `raw-h2: WHAT …` line,
/// once there are `count` of them.
fn findings(server: &Server, what: &str, count: usize) -> Vec<String> {
    let prefix = format!("raw-h2: {what} ");
    wait_for(|| {
        let found: Vec<String> = server
            .log()
            .lines()
            .filter_map(|line| line.strip_prefix(&prefix).map(str::to_string))
            .collect();
        (found.len() >= count).then_some(found)
    })
}

/// SayHello at `server` by `--proto` (the raw server has no reflection),
/// after the `extra` arguments, with its requests on stdin.
fn call_hello(server: &Server, extra: &[&str], stdin: &str) -> Run {
    let protos = root().join("proto").display().to_string();
    let mut args = vec!["call"];
    args.extend(extra);
    args.extend([
        "--proto",
        "helloworld.proto",
        "-I",
        &protos,
        &server.addr,
        HELLO,
        "@-",
    ]);
    run_with_stdin(&args, stdin)
}

/// One method called again and again on a connection: after the first
/// call, each header, `:path` too, is a one-byte reference to HPACK's
/// table, not a literal the server decodes every time.
#[test]
fn repeated_calls_send_their_headers_as_table_references() {
    let server = raw_h2(&[]);
    let out = call_hello(
        &server,
        &["--each", "--concurrency", "1"],
        "{\"name\":\"a\"}\n{\"name\":\"b\"}\n{\"name\":\"c\"}\n",
    );
    assert_eq!(out.ok().json_lines().len(), 3, "{}", out.stdout);
    let sizes: Vec<usize> = findings(&server, "headers", 3)
        .iter()
        .map(|line| line.split(' ').nth(1).unwrap().parse().unwrap())
        .collect();
    assert_eq!(sizes.len(), 3, "{}", server.log());
    // :method, :scheme, :path, :authority, te, content-type,
    // grpc-accept-encoding and user-agent: eight bytes.
    assert!(sizes[0] > 40, "the first call names its headers: {sizes:?}");
    assert_eq!(&sizes[1..], [8, 8], "header block sizes");
}

/// h2 sends a call's head again as the last call's bytes when it is the
/// same shared map (a patch in `third_party/h2`): a name given twice and
/// another once, the same over the calls of one connection, arrive with
/// every value at every call, and their echoes come back so.
#[test]
fn a_header_given_twice_reaches_the_server_whole_at_every_call() {
    let server = Server::bundled();
    let args = [
        "call",
        &server.addr,
        "helloworld.Greeter/SayHello",
        "@-",
        "--each",
        "--concurrency",
        "1",
        "--envelope",
        "-H",
        "echo-a: 1",
        "-H",
        "echo-a: 2",
        "-H",
        "echo-b: x",
    ];
    let out = run_with_stdin(
        &args,
        "{\"name\":\"1\"}\n{\"name\":\"2\"}\n{\"name\":\"3\"}\n",
    );
    let echoed: Vec<serde_json::Value> = out
        .ok()
        .json_lines()
        .into_iter()
        .filter_map(|v| v.get("trailers").cloned())
        .collect();
    let whole = json!({"echo-a": ["1", "2"], "echo-b": "x"});
    assert_eq!(
        echoed,
        [whole.clone(), whole.clone(), whole],
        "{}",
        out.stdout
    );
}

/// A header block sent again as the same bytes (h2's encoder keeps the
/// last one) is sent only while the headers are the same: on one connection,
/// a header set, changed and dropped between calls reaches the server as it
/// was at each call, and its echo comes back the same way (the server's h2
/// keeps its last block too). The shell changes headers between the calls
/// of one connection.
#[test]
fn headers_changed_between_calls_on_one_connection_reach_the_server() {
    let server = Server::bundled();
    let session = "use helloworld.Greeter\n\
        set envelope on\n\
        call SayHello {\"name\":\"1\"}\n\
        call SayHello {\"name\":\"2\"}\n\
        call SayHello {\"name\":\"3\"}\n\
        header echo-trace: abc\n\
        call SayHello {\"name\":\"4\"}\n\
        call SayHello {\"name\":\"5\"}\n\
        call SayHello {\"name\":\"6\"}\n\
        header -d echo-trace\n\
        call SayHello {\"name\":\"7\"}\n\
        call SayHello {\"name\":\"8\"}\n\
        header echo-trace: xyz\n\
        call SayHello {\"name\":\"9\"}\n\
        call SayHello {\"name\":\"10\"}\n";
    let out = run_with_stdin(&["shell", &server.addr], session);
    out.ok();
    let echoed: Vec<String> = out
        .json_lines()
        .into_iter()
        .filter_map(|v| v.get("headers").cloned())
        .map(|headers| headers["echo-trace"].as_str().unwrap_or("-").to_string())
        .collect();
    assert_eq!(
        echoed,
        ["-", "-", "-", "abc", "abc", "abc", "-", "-", "xyz", "xyz"],
        "{}",
        out.stdout
    );
}

/// h2's decoder keeps the last header blocks it decoded and clones them
/// when a block repeats byte for byte with the table unchanged (a patch in
/// `third_party/h2`). Answers that change between the calls of one
/// connection (a success, failures with one message and then another, a
/// success again) still arrive each as the server sent it, and a block
/// that repeats the bytes of an earlier one after the table has changed is
/// decoded afresh.
#[test]
fn answers_changed_between_calls_on_one_connection_arrive_as_sent() {
    let server = Server::go();
    let session = "use helloworld.Greeter\n\
        set envelope on\n\
        call SayHello {\"name\":\"1\"}\n\
        call SayHello {\"name\":\"2\"}\n\
        header x-grpcx-fail: NOT_FOUND\n\
        call SayHello {\"name\":\"3\"}\n\
        call SayHello {\"name\":\"4\"}\n\
        header x-grpcx-fail-message: gone\n\
        call SayHello {\"name\":\"5\"}\n\
        call SayHello {\"name\":\"6\"}\n\
        header -d x-grpcx-fail\n\
        call SayHello {\"name\":\"7\"}\n\
        call SayHello {\"name\":\"8\"}\n";
    let out = run_with_stdin(&["shell", &server.addr], session);
    let seen: Vec<String> = out
        .json_lines()
        .iter()
        .filter_map(|v| {
            if let Some(message) = v.get("message") {
                return Some(message["message"].as_str()?.to_string());
            }
            let status = v.get("status")?;
            Some(format!(
                "{} {}",
                status["code"].as_str()?,
                status["message"].as_str()?
            ))
        })
        .collect();
    let ok = |n: u32| [format!("Hello, {n}!"), "OK ".to_string()];
    let mut expected: Vec<String> = [ok(1), ok(2)].concat();
    expected.extend(["NOT_FOUND failed on request"; 2].map(String::from));
    expected.extend(["NOT_FOUND gone"; 2].map(String::from));
    expected.extend([ok(7), ok(8)].concat());
    assert_eq!(seen, expected, "{}", out.stdout);
}

/// A server that opens its window and sends a PING in one write, as
/// grpc-go's BDP estimator does, sees the data that window lets out
/// before the PING's ACK, so it counts that data in the round trip it
/// measures (and grows its window every round trip, not every other).
#[test]
fn data_the_window_lets_out_goes_before_the_ping_ack() {
    let server = raw_h2(&["--ping-after-window"]);
    let protos = root().join("proto").display().to_string();
    let pad = "x".repeat(32 * 1024);
    let input: String = (0..4)
        .map(|seq| format!("{{\"seq\":{seq},\"pad\":\"{pad}\"}}\n"))
        .collect();
    let out = run_with_stdin(
        &[
            "call",
            "--proto",
            "grpcx/test/v1/everything.proto",
            "-I",
            &protos,
            &server.addr,
            "grpcx.test.v1.Echo/Collect",
            "-d",
            "@-",
        ],
        &input,
    );
    assert_eq!(out.ok().stdout, "{}\n");
    assert_eq!(findings(&server, "order", 1), ["data"], "{}", server.log());
}

/// Frames cut anywhere (an answer trickled one byte a write) are put back
/// together, and a frame longer than grpcx allows is one clear line naming
/// the server as the one that broke HTTP/2 (h2's frame splitter, a grpcx
/// patch, reads both).
#[test]
fn frames_in_pieces_are_read_and_an_oversized_one_is_named() {
    let hello = r#"{"name":"x"}"#;
    let trickled = raw_h2(&["--trickle"]);
    assert_eq!(call_hello(&trickled, &[], hello).ok().stdout, "{}\n");
    let oversized = raw_h2(&["--oversized"]);
    let out = call_hello(&oversized, &[], hello);
    out.code(78).stderr_has(
        "ERROR: Unavailable: the server broke HTTP/2 (FRAME_SIZE_ERROR), \
         so grpcx closed the connection mid-call",
    );
    assert_eq!(out.stderr.lines().count(), 1, "{}", out.stderr);
}
