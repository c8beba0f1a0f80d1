//! `grpcx health`: Check and Watch of grpc.health.v1 against the bundled
//! server (tonic-health), which marks helloworld.Greeter and
//! grpcx.test.v1.Echo SERVING, and every service NOT_SERVING when it is
//! told to stop. (The grpcio, grpc-go and node test servers register no
//! health service.)

use std::io::{BufRead as _, BufReader, Read as _};
use std::process::Command;
use std::time::{Duration, Instant};

use crate::util::{Server, run, spawn_piped};

#[test]
fn the_whole_server_is_serving() {
    let server = Server::bundled();
    let out = run(&["health", &server.addr]);
    out.ok();
    assert_eq!(out.stdout, "(server): SERVING\n");
    assert_eq!(out.stderr, "");
}

#[test]
fn named_services_print_one_line_each_in_order() {
    let server = Server::bundled();
    let out = run(&[
        "health",
        &server.addr,
        "grpcx.test.v1.Echo",
        "helloworld.Greeter",
        "",
    ]);
    out.ok();
    assert_eq!(
        out.stdout,
        "grpcx.test.v1.Echo: SERVING\nhelloworld.Greeter: SERVING\n(server): SERVING\n"
    );
}

/// Health calls go the way every call goes: `-v` shows the Check as it
/// shows a call, and `--max-msg-size` limits the answer as it limits a
/// call's (with its words and its exit code, 64 + ResourceExhausted).
#[test]
fn health_calls_take_the_call_path() {
    let server = Server::bundled();
    let out = run(&["health", &server.addr, "-v"]);
    out.ok()
        .stderr_has("Request to /grpc.health.v1.Health/Check, metadata sent:")
        .stderr_has("Response trailers received:\ngrpc-status: 0\n");
    assert_eq!(out.stdout, "(server): SERVING\n");
    let out = run(&["health", &server.addr, "--max-msg-size", "1"]);
    out.code(72)
        .stderr_has("ERROR: ResourceExhausted: (server): a response message of 2 bytes is over the limit; raise it with --max-msg-size");
    assert_eq!(out.stdout, "");
}

#[test]
fn an_unknown_service_is_the_servers_not_found() {
    let server = Server::bundled();
    let out = run(&["health", &server.addr, "helloworld.Greeter", "no.Such"]);
    out.code(69);
    // The known one still prints; the unknown one is one line on stderr.
    assert_eq!(out.stdout, "helloworld.Greeter: SERVING\n");
    assert_eq!(
        out.stderr,
        "ERROR: NotFound: no.Such: service not registered\n"
    );
}

#[test]
fn a_refused_connection_exits_78() {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let addr = format!("127.0.0.1:{port}");
    let out = run(&["health", &addr]);
    out.code(78).stderr_has(&addr).stderr_has("refused");
    assert_eq!(out.stdout, "");
    assert_eq!(out.stderr.lines().count(), 1, "{}", out.stderr);
}

#[test]
fn headers_and_protocol_flags_are_those_of_call() {
    let server = Server::bundled();
    for protocol in ["grpcweb", "connect"] {
        let out = run(&[
            "health",
            &server.addr,
            "--protocol",
            protocol,
            "-H",
            "echo-team: blue",
            "helloworld.Greeter",
        ]);
        out.ok();
        assert_eq!(out.stdout, "helloworld.Greeter: SERVING\n", "{protocol}");
    }
    // The server logs each call with the `echo-` headers it got (its
    // stderr is read by a thread: give it a moment).
    let start = Instant::now();
    let mut log = server.log();
    while log.matches("Health/Check").count() < 2 && start.elapsed() < Duration::from_secs(5) {
        std::thread::sleep(Duration::from_millis(20));
        log = server.log();
    }
    let checks: Vec<&str> = log
        .lines()
        .filter(|line| line.contains("/grpc.health.v1.Health/Check"))
        .collect();
    assert_eq!(checks.len(), 2, "{log}");
    assert!(
        checks.iter().all(|line| line.contains("echo-team")),
        "{log}"
    );
}

/// Watch sees the change: the server, told to stop (SIGTERM), first marks
/// its services NOT_SERVING; when it is gone, the watch ends with 78.
#[test]
fn watch_follows_each_service_until_the_server_goes_away() {
    let mut server = Server::bundled();
    let start = Instant::now();
    let mut child = spawn_piped(&[
        "health",
        "--watch",
        &server.addr,
        "helloworld.Greeter",
        "grpcx.test.v1.Echo",
    ]);
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let mut next = || lines.next().expect("a line").expect("text");
    let mut first = [next(), next()];
    first.sort();
    assert_eq!(
        first,
        [
            "grpcx.test.v1.Echo: SERVING".to_string(),
            "helloworld.Greeter: SERVING".to_string(),
        ]
    );
    let sent = Command::new("kill")
        .args(["-TERM", &server.pid().to_string()])
        .status()
        .unwrap();
    assert!(sent.success());
    let mut then = [next(), next()];
    then.sort();
    assert_eq!(
        then,
        [
            "grpcx.test.v1.Echo: NOT_SERVING".to_string(),
            "helloworld.Greeter: NOT_SERVING".to_string(),
        ]
    );
    // Gone for good: the streams break, and the watch says so.
    server.kill();
    let status = wait(&mut child, Duration::from_secs(10));
    assert_eq!(status, Some(78));
    assert!(next_is_end(lines));
    let mut stderr = String::new();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut stderr)
        .unwrap();
    assert_eq!(stderr.lines().count(), 2, "{stderr}");
    assert!(
        stderr
            .lines()
            .all(|line| line.starts_with("ERROR: Unavailable: ")),
        "{stderr}"
    );
    assert!(start.elapsed() < Duration::from_secs(10));
}

fn next_is_end(mut lines: impl Iterator<Item = std::io::Result<String>>) -> bool {
    lines.next().is_none()
}

/// The exit code, or None if the child is still running after `limit`.
fn wait(child: &mut std::process::Child, limit: Duration) -> Option<i32> {
    let start = Instant::now();
    while start.elapsed() < limit {
        if let Some(status) = child.try_wait().unwrap() {
            return status.code();
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let _ = child.kill();
    None
}
