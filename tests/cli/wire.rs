//! What goes over the wire besides messages: headers and their sources,
//! `-v`, deadlines, silent peers, message sizes, compression, keepalive,
//! and unix sockets. Against the bundled server and grpcio.

use std::net::TcpListener;
use std::time::Duration;

use serde_json::json;

use crate::util::{Run, Server, grpcx, proto, run};

fn hello(server: &Server, extra: &[&str]) -> Run {
    let mut args = vec![
        "call",
        &server.addr,
        "helloworld.Greeter/SayHello",
        r#"{"name":"h"}"#,
    ];
    args.extend(extra);
    run(&args)
}

/// The lines of a `-v` block (after its title, up to the blank line).
fn block<'a>(stderr: &'a str, title: &str) -> Vec<&'a str> {
    let mut lines = stderr.lines().skip_while(|line| !line.starts_with(title));
    assert!(lines.next().is_some(), "no {title:?} in:\n{stderr}");
    lines.take_while(|line| !line.is_empty()).collect()
}

fn echoes_headers_and_shows_them(server: &Server) {
    let out = hello(
        server,
        &[
            "-v",
            "-H",
            "Echo-Plain:  one ",
            "-H",
            "echo-blob-bin: AQID",
            "-H",
            "authorization: Bearer s3cret",
        ],
    );
    // stdout stays pure data while -v writes to stderr.
    assert_eq!(out.ok().json_lines(), [json!({"message": "Hello, h!"})]);
    let sent = block(&out.stderr, "Request to /helloworld.Greeter/SayHello");
    assert!(sent.contains(&"echo-plain: one"), "{sent:?}");
    assert!(sent.contains(&"echo-blob-bin: AQID"), "{sent:?}");
    assert!(
        sent.contains(&"authorization: *** (masked; -vv shows it)"),
        "{sent:?}"
    );
    assert!(!out.stderr.contains("s3cret"), "{}", out.stderr);
    for title in ["Response headers received:", "Response trailers received:"] {
        let lines = block(&out.stderr, title);
        assert!(lines.contains(&"echo-plain: one"), "{title} {lines:?}");
        assert!(lines.contains(&"echo-blob-bin: AQID"), "{title} {lines:?}");
    }
    out.stderr_has("Status: OK\n");
    let timing = out
        .stderr
        .lines()
        .find(|l| l.starts_with("Timing: "))
        .expect("a timing line");
    for phase in ["connect ", "schema ", "call ", "total "] {
        assert!(timing.contains(phase), "{timing}");
    }

    let out = hello(server, &["-vv", "-H", "authorization: Bearer s3cret"]);
    out.ok().stderr_has("authorization: Bearer s3cret");

    // Without -v, stderr is empty.
    let out = hello(server, &["-H", "authorization: Bearer s3cret"]);
    assert_eq!(out.ok().stderr, "");
}

#[test]
fn headers_and_verbose_against_the_bundled_server() {
    echoes_headers_and_shows_them(&Server::bundled());
}

#[test]
fn headers_and_verbose_against_grpcio() {
    echoes_headers_and_shows_them(&Server::python());
}

#[test]
fn headers_and_verbose_against_grpc_js() {
    echoes_headers_and_shows_them(&Server::node());
}

#[test]
fn verbose_shows_a_failing_status_and_its_trailers() {
    let server = Server::bundled();
    let out = hello(
        &server,
        &["-v", "-H", "x-grpcx-fail: NOT_FOUND", "-H", "echo-t: x"],
    );
    out.code(69)
        .stderr_has("Status: NotFound: failed on request");
    assert!(block(&out.stderr, "Response trailers received:").contains(&"echo-t: x"));
    assert_eq!(out.stdout, "");
}

#[test]
fn rpc_and_reflect_headers_go_to_one_side() {
    let server = Server::bundled();
    // The bundled server logs the echo-* keys of each request it gets.
    let out = hello(
        &server,
        &[
            "-H",
            "echo-both: 1",
            "--rpc-header",
            "echo-call: 1",
            "--reflect-header",
            "echo-refl: 1",
        ],
    );
    out.ok();
    let log = server.log();
    let line = |path: &str| {
        log.lines()
            .find(|l| l.contains(path))
            .unwrap_or_else(|| panic!("no {path} in:\n{log}"))
            .to_string()
    };
    let reflection = line("ServerReflectionInfo");
    let call = line("/helloworld.Greeter/SayHello");
    assert!(
        reflection.ends_with("[echo-both echo-refl]"),
        "{reflection}"
    );
    assert!(call.ends_with("[echo-both echo-call]"), "{call}");
}

#[test]
fn headers_from_a_file_and_the_environment() {
    let server = Server::bundled();
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("headers");
    std::fs::write(
        &file,
        "# secrets\nEcho-From-File: yes\n\necho-token: ${TOKEN}\n",
    )
    .unwrap();
    let file_arg = format!("@{}", file.display());

    let output = grpcx()
        .env("TOKEN", "t0k3n")
        .args(["call", &server.addr, "helloworld.Greeter/SayHello", "-vv"])
        .args([
            "-H",
            &file_arg,
            "--expand-headers",
            "-H",
            "echo-user: ${GRPCX_NOT_SET}",
        ])
        .output()
        .unwrap();
    // GRPCX_NOT_SET is not set: an error, no call.
    assert_eq!(output.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("is not set"), "{stderr}");
    assert!(!server.log().contains("SayHello"), "{}", server.log());

    let output = grpcx()
        .env("TOKEN", "t0k3n")
        .args(["call", &server.addr, "helloworld.Greeter/SayHello", "-vv"])
        .args(["-H", &file_arg, "--expand-headers"])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(0));
    let stderr = String::from_utf8_lossy(&output.stderr);
    let trailers = block(&stderr, "Response trailers received:");
    assert!(trailers.contains(&"echo-from-file: yes"), "{stderr}");
    assert!(trailers.contains(&"echo-token: t0k3n"), "{stderr}");

    // Without --expand-headers the text goes as it is.
    let out = hello(&server, &["-vv", "-H", &file_arg]);
    assert!(
        block(&out.ok().stderr, "Response trailers received:").contains(&"echo-token: ${TOKEN}")
    );

    let out = hello(&server, &["-H", "@/no/such/headers"]);
    out.code(1)
        .stderr_has("cannot read headers from /no/such/headers");
}

/// --max-time: exit 68 promptly, for a unary call and mid-stream.
fn deadlines(server: &Server) {
    let out = hello(
        server,
        &["--max-time", "0.5", "-H", "x-grpcx-delay-ms: 5000", "-v"],
    );
    out.code(68).stderr_has("DeadlineExceeded");
    assert!(
        out.elapsed < Duration::from_millis(2000),
        "took {:?}",
        out.elapsed
    );
    // The deadline goes to the server as grpc-timeout.
    let sent = block(&out.stderr, "Request to /helloworld.Greeter/SayHello");
    assert!(
        sent.iter().any(|l| l.starts_with("grpc-timeout: ")),
        "{sent:?}"
    );

    let out = run(&[
        "call",
        &server.addr,
        "grpcx.test.v1.Echo/Stream",
        r#"{"count": 100, "intervalMs": 100}"#,
        "--max-time",
        "1",
    ]);
    out.code(68);
    let got = out.json_lines().len();
    assert!(
        (3..=12).contains(&got),
        "{got} messages before the deadline"
    );
    assert!(
        out.elapsed < Duration::from_millis(2500),
        "took {:?}",
        out.elapsed
    );

    // Within the deadline, nothing changes.
    hello(server, &["--max-time", "10"]).ok();
}

#[test]
fn deadlines_against_the_bundled_server() {
    deadlines(&Server::bundled());
}

#[test]
fn deadlines_against_grpcio() {
    deadlines(&Server::python());
}

#[test]
fn deadlines_against_grpc_js() {
    deadlines(&Server::node());
}

/// A peer that accepts TCP and then says nothing.
fn silent_peer() -> (TcpListener, String) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap().to_string();
    (listener, addr)
}

#[test]
fn a_silent_peer_never_hangs() {
    let (_listener, addr) = silent_peer();
    let helloworld = proto("helloworld.proto");
    for extra in [vec![], vec!["--proto", &helloworld], vec!["--tls"]] {
        let mut args = vec![
            "call",
            &addr,
            "helloworld.Greeter/SayHello",
            "--connect-timeout",
            "1",
        ];
        args.extend(&extra);
        let out = run(&args);
        out.code(78)
            .stderr_has(&format!("cannot connect to {addr}"));
        assert!(
            out.elapsed > Duration::from_millis(900) && out.elapsed < Duration::from_millis(2500),
            "{extra:?} took {:?}",
            out.elapsed
        );
    }
    // --max-time bounds it too, before the default connect timeout.
    let out = run(&[
        "call",
        &addr,
        "helloworld.Greeter/SayHello",
        "--max-time",
        "0.5",
    ]);
    out.code(68);
    assert!(
        out.elapsed < Duration::from_millis(1500),
        "took {:?}",
        out.elapsed
    );
}

fn sixteen_mib(server: &Server) {
    let size = 16 * 1024 * 1024;
    let request = format!(r#"{{"count": 1, "payloadSize": {size}}}"#);
    let out = run(&["call", &server.addr, "grpcx.test.v1.Echo/Stream", &request]);
    let lines = out.ok().json_lines();
    assert_eq!(lines.len(), 1);
    assert_eq!(lines[0]["pad"].as_str().unwrap().len(), size);

    let out = run(&[
        "call",
        &server.addr,
        "grpcx.test.v1.Echo/Stream",
        &request,
        "--max-msg-size",
        "1MiB",
    ]);
    out.code(72).stderr_has("--max-msg-size");
    assert_eq!(out.stdout, "");
}

#[test]
fn sixteen_mib_from_the_bundled_server() {
    sixteen_mib(&Server::bundled());
}

#[test]
fn sixteen_mib_from_grpcio() {
    sixteen_mib(&Server::python());
}

#[test]
fn sixteen_mib_from_grpc_js() {
    sixteen_mib(&Server::node());
}

#[test]
fn the_size_limit_covers_reflection() {
    let server = Server::bundled();
    let out = hello(&server, &["--max-msg-size", "100"]);
    out.code(72).stderr_has("--max-msg-size");
}

/// `-v` shows the trailers the server sent, and no others: a limit grpcx
/// met itself made a status, and no trailers.
#[test]
fn verbose_shows_no_trailers_the_server_never_sent() {
    let server = Server::bundled();
    let out = run(&[
        "call",
        &server.addr,
        "helloworld.Greeter/SayHello",
        r#"{"name":"a name long enough to pass the limit"}"#,
        "--proto",
        &proto("helloworld.proto"),
        "--max-msg-size",
        "20",
        "-v",
    ]);
    out.code(72)
        .stderr_has("Response trailers received:\n(empty)\n")
        .stderr_has("ERROR: ResourceExhausted: a response message of");
    assert!(!out.stderr.contains("grpc-status: 8"), "{}", out.stderr);
}

#[test]
fn compression() {
    let server = Server::bundled();
    // Hello/Hello takes gzip requests and answers in gzip.
    let out = run(&[
        "call",
        &server.addr,
        "Hello/Hello",
        r#"{"text": "zip"}"#,
        "--compress",
        "gzip",
        "-v",
    ]);
    out.ok();
    assert!(block(&out.stderr, "Response headers received:").contains(&"grpc-encoding: gzip"));
    assert_eq!(out.json_lines(), [json!({"text": "pong: zip"})]);
    // The greeter refuses compressed requests.
    let out = hello(&server, &["--compress", "gzip"]);
    out.code(76)
        .stderr_has("does not accept gzip-compressed requests");
    // grpcio takes gzip.
    let python = Server::python();
    let out = hello(&python, &["--compress", "gzip"]);
    assert_eq!(out.ok().json_lines(), [json!({"message": "Hello, h!"})]);
}

#[test]
fn keepalive_pings_do_not_disturb_a_long_stream() {
    let server = Server::bundled();
    let out = run(&[
        "call",
        &server.addr,
        "grpcx.test.v1.Echo/Stream",
        r#"{"count": 4, "intervalMs": 400}"#,
        "--keepalive",
        "0.2",
    ]);
    assert_eq!(out.ok().json_lines().len(), 4);
}

#[test]
fn unix_socket_round_trip() {
    let dir = tempfile::tempdir().unwrap();
    let socket = dir.path().join("grpcx.sock");
    let server = Server::bundled_with(&["--unix", socket.to_str().unwrap()]);
    assert_eq!(server.addr, format!("unix:{}", socket.display()));
    for target in [
        format!("unix:{}", socket.display()),
        format!("unix://{}", socket.display()),
    ] {
        let out = run(&[
            "call",
            &target,
            "helloworld.Greeter/SayHello",
            r#"{"name":"sock"}"#,
        ]);
        assert_eq!(
            out.ok().json_lines(),
            [json!({"message": "Hello, sock!"})],
            "{target}"
        );
    }
    let out = run(&["list", &server.addr]);
    out.ok();
    assert!(
        out.stdout.lines().any(|l| l == "helloworld.Greeter"),
        "{}",
        out.stdout
    );

    let out = run(&["call", "unix:/no/such.sock", "helloworld.Greeter/SayHello"]);
    out.code(78)
        .stderr_has("cannot connect to unix:/no/such.sock");
}

#[test]
fn loopback_is_plaintext_and_flags_override() {
    let server = Server::bundled();
    let port = server.addr.rsplit(':').next().unwrap();
    for target in [
        format!("localhost:{port}"),
        format!("127.0.0.1:{port}"),
        format!("http://127.0.0.1:{port}"),
    ] {
        let out = run(&["call", &target, "helloworld.Greeter/SayHello"]);
        out.ok();
    }
    let out = run(&[
        "call",
        &format!("https://127.0.0.1:{port}"),
        "helloworld.Greeter/SayHello",
        "--plaintext",
    ]);
    out.ok();
}
