//! `grpcx bench` makes its calls through the same call path as `call` and
//! `--each`, and must say the same things. Each failure here is worded by
//! both and compared, on every server the tests run, and bench is driven
//! with compression,
//! across a server that goes away mid-run and over a unix socket. (TLS,
//! proxies and servers that rotate their connections: `tls.rs`, `proxy.rs`
//! and `rotation.rs`.)

use std::time::Duration;

use serde_json::Value;

use crate::util::{Server, bench_all_ok, proto, run, spawn_piped};

const HELLO: &str = "helloworld.Greeter/SayHello";

/// The status `call` prints: "ERROR: NotFound: gone" as ("NotFound", "gone").
fn call_status(args: &[&str]) -> (String, String) {
    let out = run(&[&["call"], args].concat());
    assert_ne!(out.code, 0, "{}", out.stderr);
    let line = out.stderr.lines().last().unwrap_or_default().to_string();
    let rest = line
        .strip_prefix("ERROR: ")
        .unwrap_or_else(|| panic!("{line}"));
    let (code, message) = rest.split_once(": ").unwrap();
    (code.to_string(), message.to_string())
}

/// The one error sample of a text report: "[3] NOT_FOUND: gone" as
/// (3, "NOT_FOUND", "gone").
fn bench_sample(args: &[&str]) -> (u64, String, String) {
    let out = run(&[&["bench"], args].concat());
    out.ok();
    let samples: Vec<&str> = out
        .stdout
        .lines()
        .skip_while(|line| !line.starts_with("Errors (samples):"))
        .skip(1)
        .filter(|line| line.trim_start().starts_with('['))
        .collect();
    assert_eq!(samples.len(), 1, "{}", out.stdout);
    let (count, rest) = samples[0]
        .trim()
        .trim_start_matches('[')
        .split_once("] ")
        .unwrap();
    let (code, message) = rest.split_once(": ").unwrap();
    (
        count.parse().unwrap(),
        code.to_string(),
        message.to_string(),
    )
}

/// `NotFound` as `NOT_FOUND`.
fn canonical(code: &str) -> String {
    let mut out = String::new();
    for (i, c) in code.chars().enumerate() {
        if c.is_uppercase() && i > 0 {
            out.push('_');
        }
        out.push(c.to_ascii_uppercase());
    }
    out
}

/// A status from the server, the deadline of --max-time, a response over
/// --max-msg-size, and a refused compression: bench counts each with the
/// code and words `call` prints, with and without -v (which shows the
/// first call): one sample of 3.
#[test]
fn bench_words_each_failure_as_call_does() {
    let server = Server::bundled();
    let helloworld = proto("helloworld.proto");
    let cases: [(&[&str], &str, &str); 4] = [
        (
            &[
                "-H",
                "x-grpcx-fail: NOT_FOUND",
                "-H",
                "x-grpcx-fail-message: gone",
            ],
            "NotFound",
            "gone",
        ),
        (
            &["-H", "x-grpcx-delay-ms: 3000", "--max-time", "0.3"],
            "DeadlineExceeded",
            "--max-time",
        ),
        (
            &["--proto", &helloworld, "--max-msg-size", "5"],
            "ResourceExhausted",
            "over the limit",
        ),
        // The greeter takes no compressed requests.
        (
            &["--compress", "zstd"],
            "Unimplemented",
            "does not accept zstd-compressed requests",
        ),
    ];
    for (flags, code, words) in cases {
        let args = [
            &[server.addr.as_str(), HELLO, r#"{"name":"abcdefgh"}"#],
            flags,
        ]
        .concat();
        let (call_code, call_message) = call_status(&args);
        assert_eq!(call_code, code, "call {flags:?}: {call_message}");
        assert!(
            call_message.contains(words),
            "call {flags:?}: {call_message}"
        );
        for lane in [&[][..], &["-v"]] {
            let bench = [&args[..], &["-n", "3", "-c", "3"], lane].concat();
            let (count, bench_code, bench_message) = bench_sample(&bench);
            assert_eq!(
                (count, bench_code.as_str(), bench_message.as_str()),
                (3, canonical(code).as_str(), call_message.as_str()),
                "bench {flags:?} {lane:?}"
            );
        }
    }
}

/// Every server the tests run: all calls answered, and
/// a failure counted with the words `call` prints.
#[test]
fn bench_against_every_server() {
    for server in [
        Server::bundled(),
        Server::python(),
        Server::go(),
        Server::node(),
    ] {
        bench_all_ok(&server.addr, &[]);
        let fail = [
            server.addr.as_str(),
            HELLO,
            "-H",
            "x-grpcx-fail: NOT_FOUND",
            "-H",
            "x-grpcx-fail-message: gone",
        ];
        let (code, message) = call_status(&fail);
        assert_eq!((code.as_str(), message.as_str()), ("NotFound", "gone"));
        let sample = bench_sample(&[&fail[..], &["-n", "20", "-c", "4"]].concat());
        assert_eq!(sample, (20, "NOT_FOUND".to_string(), "gone".to_string()));
    }
}

/// -v shows the connection, the schema and the first call in full; the
/// other calls go silently.
#[test]
fn bench_verbose_shows_the_first_call_only() {
    let server = Server::bundled();
    let out = run(&[
        "bench",
        &server.addr,
        HELLO,
        "-n",
        "50",
        "-c",
        "4",
        "-v",
        "--format",
        "json",
    ]);
    let report = &out.ok().json_lines()[0];
    assert_eq!(report["status"], serde_json::json!({"OK": 50}), "{report}");
    for (text, times) in [
        ("* connected to", 1),
        ("* found helloworld.Greeter.SayHello", 1),
        ("Request to /helloworld.Greeter/SayHello", 1),
        ("Status: OK", 1),
    ] {
        assert_eq!(
            out.stderr.matches(text).count(),
            times,
            "{text}: {}",
            out.stderr
        );
    }
}

/// The server goes away mid-run: the calls before count as OK, the calls
/// after as UNAVAILABLE (the lane hands them to the channel, which cannot
/// reconnect), every call due is counted, and the run ends normally.
#[test]
fn bench_counts_the_calls_after_the_server_went_away() {
    let mut server = Server::go();
    let child = spawn_piped(&[
        "bench",
        &server.addr,
        HELLO,
        "--rate",
        "100",
        "-z",
        "2s",
        "-c",
        "4",
        "--format",
        "json",
    ]);
    std::thread::sleep(Duration::from_millis(1000));
    server.kill();
    let out = child.wait_with_output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{stdout}");
    let report: Value = serde_json::from_str(stdout.trim()).unwrap();
    assert_eq!(report["requests"], 200, "{report}");
    let ok = report["status"]["OK"].as_u64().unwrap_or(0);
    let unavailable = report["status"]["UNAVAILABLE"].as_u64().unwrap_or(0);
    assert!(ok >= 50 && unavailable >= 50, "{report}");
    assert_eq!(ok + unavailable, 200, "{report}");
}

/// Requests compressed once, sent on every call: a server that takes them
/// answers each.
#[test]
fn bench_sends_compressed_requests() {
    let server = Server::bundled();
    for compress in ["gzip", "zstd"] {
        let out = run(&[
            "bench",
            &server.addr,
            "Hello/Hello",
            r#"{"text":"zip"}{"text":"zap"}"#,
            "--compress",
            compress,
            "-n",
            "100",
            "-c",
            "4",
            "--format",
            "json",
        ]);
        let report = &out.ok().json_lines()[0];
        assert_eq!(
            report["status"],
            serde_json::json!({"OK": 100}),
            "{compress}: {report}"
        );
    }
}

#[test]
fn bench_over_a_unix_socket() {
    let dir = tempfile::tempdir().unwrap();
    let socket = dir.path().join("grpcx.sock");
    let server = Server::bundled_with(&["--unix", socket.to_str().unwrap()]);
    bench_all_ok(&server.addr, &[]);
}
