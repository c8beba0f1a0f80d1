//! Servers that rotate their connections: grpc-go's MaxConnectionAge, as
//! behind load balancers, sends GOAWAY and lets the calls it took finish.
//! The calls it did not take (sent as the GOAWAY crossed them, or queued
//! for a connection that was closing) were never processed, and grpcx makes
//! them again on a new connection: no call of `--each` or `bench` may fail
//! for a rotation.

use serde_json::{Value, json};

use crate::util::{Server, each_hello, names, run};

const HELLO: &str = "helloworld.Greeter/SayHello";

/// A server that sends GOAWAY every 50 ms.
fn rotating() -> Server {
    Server::go_with(&["--max-connection-age", "50ms"])
}

fn status_counts(out: &crate::util::Run) -> Value {
    let report = &out.ok().json_lines()[0];
    report["status"].clone()
}

/// `--each`: every call answered, in order, nothing on
/// stderr. (Before, a few calls in ten thousand failed at each rotation:
/// "Cancelled: operation was canceled" and "Unknown: transport error".)
#[test]
fn each_carries_on_across_a_server_rotating_connections() {
    let server = rotating();
    let out = each_hello(&server.addr, &names(10_000));
    assert_eq!(out.stderr, "", "exit {}", out.code);
    let lines = out.ok().json_lines();
    assert_eq!(lines.len(), 10_000);
    assert_eq!(lines[9_999], json!({"message": "Hello, 9999!"}));
}

/// bench, closed model: 64 calls in flight over 4
/// connections, each rotated many times during the run.
#[test]
fn bench_carries_on_across_a_server_rotating_connections() {
    let server = rotating();
    let out = run(&[
        "bench",
        &server.addr,
        HELLO,
        "-n",
        "30000",
        "-c",
        "64",
        "--connections",
        "4",
        "--format",
        "json",
    ]);
    assert_eq!(status_counts(&out), json!({"OK": 30000}));
}

/// bench's open model at a steady rate, where calls meet a rotation at
/// every moment of it.
#[test]
fn bench_at_a_rate_carries_on_across_a_server_rotating_connections() {
    let server = rotating();
    let out = run(&[
        "bench",
        &server.addr,
        HELLO,
        "--rate",
        "1000",
        "-z",
        "2s",
        "-c",
        "8",
        "--format",
        "json",
    ]);
    assert_eq!(status_counts(&out), json!({"OK": 2000}));
}

/// bench with `-v` (which shows its first call) and `call` itself: both
/// fine on a server that rotates.
#[test]
fn a_shown_call_and_a_single_call_work_on_a_rotating_server() {
    let server = rotating();
    let out = run(&[
        "bench",
        "-v",
        &server.addr,
        HELLO,
        "-n",
        "2000",
        "-c",
        "8",
        "--format",
        "json",
    ]);
    assert_eq!(status_counts(&out), json!({"OK": 2000}));
    let out = run(&["call", &server.addr, HELLO, r#"{"name":"x"}"#]);
    assert_eq!(out.ok().json_lines(), [json!({"message": "Hello, x!"})]);
}
