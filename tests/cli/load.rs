//! Many calls in one process: `call --each` (order, failures, exit codes,
//! envelope index, streaming stdin, refused methods) and `grpcx bench`
//! (the JSON report, status counts, the rate mode, CSV, Ctrl-C, and the
//! latency correction when the server freezes).

use std::io::{Read, Write};
use std::process::Command;
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::util::{
    Server, each_hello, interactive, names, proto, root, run, run_with_stdin, spawn_piped,
};

const STREAM: &str = "grpcx.test.v1.Echo/Stream";
const HELLO: &str = "helloworld.Greeter/SayHello";

/// Inputs whose calls end in reverse order: call i streams two chunks of
/// i+1 bytes, the earlier calls waiting longer between them.
fn slow_first(calls: usize) -> String {
    (0..calls)
        .map(|i| {
            format!(
                "{{\"count\":2,\"payloadSize\":{},\"intervalMs\":{}}}\n",
                i + 1,
                (calls - i) * 30
            )
        })
        .collect()
}

#[test]
fn each_keeps_input_order_whatever_the_concurrency() {
    let server = Server::bundled();
    let input = slow_first(8);
    let expected: Vec<Value> = (1..=8)
        .flat_map(|n| {
            [
                json!({"pad": "x".repeat(n)}),
                json!({"seq": 1, "pad": "x".repeat(n)}),
            ]
        })
        .collect();
    for concurrency in ["1", "4", "8"] {
        let out = run_with_stdin(
            &[
                "call",
                "--each",
                "--concurrency",
                concurrency,
                &server.addr,
                STREAM,
                "@-",
            ],
            &input,
        );
        assert_eq!(
            out.ok().json_lines(),
            expected,
            "--concurrency {concurrency}"
        );
    }
    // --envelope: every event carries its call's index, in order.
    let out = run_with_stdin(
        &[
            "call",
            "--each",
            "--concurrency",
            "8",
            "--envelope",
            &server.addr,
            STREAM,
            "@-",
        ],
        &input,
    );
    let events = out.ok().json_lines();
    assert_eq!(events.len(), 8 * 5, "{}", out.stdout);
    for (i, event) in events.iter().enumerate() {
        assert_eq!(event["call"], i / 5, "{event}");
        let tag = ["headers", "message", "message", "trailers", "status"][i % 5];
        assert!(event.get(tag).is_some(), "event {i} is not {tag}: {event}");
    }
    assert_eq!(events[39]["status"]["code"], "OK");
}

#[test]
fn each_failure_prints_its_index_and_the_run_goes_on() {
    let server = Server::bundled();
    let out = run_with_stdin(
        &[
            "call",
            "--each",
            "--concurrency",
            "2",
            &server.addr,
            HELLO,
            "@-",
            "-H",
            "x-grpcx-fail: NOT_FOUND",
            "-H",
            "x-grpcx-fail-message: gone",
        ],
        "{}\n{}\n{}\n{}\n",
    );
    out.code(69);
    assert_eq!(out.stdout, "");
    assert_eq!(
        out.stderr,
        "ERROR: call 0: NotFound: gone\nERROR: call 1: NotFound: gone\n\
         ERROR: call 2: NotFound: gone\nERROR: call 3: NotFound: gone\n"
    );
    // --error-format json: one object per failed call, with its index.
    let out = run_with_stdin(
        &[
            "call",
            "--each",
            "--error-format",
            "json",
            &server.addr,
            HELLO,
            "@-",
            "-H",
            "x-grpcx-fail: NOT_FOUND",
            "-H",
            "x-grpcx-fail-message: gone",
        ],
        "{}\n{}\n",
    );
    out.code(69);
    let errors: Vec<Value> = out
        .stderr
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(errors.len(), 2, "{}", out.stderr);
    for (i, error) in errors.iter().enumerate() {
        assert_eq!(error["call"], i);
        assert_eq!(error["code"], "NOT_FOUND");
        assert_eq!(error["message"], "gone");
    }
}

/// A response over --max-msg-size fails one call (ResourceExhausted, 72)
/// and a bad value another (a local error, 1): the exit code is the first
/// in input order, whichever finished first.
#[test]
fn each_exits_with_the_first_failure_in_input_order() {
    let server = Server::bundled();
    let input = "{\"count\":1,\"payloadSize\":10}\n{\"count\":1,\"payloadSize\":1000}\n\
                 {\"count\":1,\"payloadSize\":10}\n{\"nope\":1}\n";
    let proto_file = proto("grpcx/test/v1/everything.proto");
    let proto_dir = root().join("proto").display().to_string();
    let base = [
        "call",
        "--each",
        "--proto",
        &proto_file,
        "-I",
        &proto_dir,
        "--max-msg-size",
        "64",
        &server.addr,
        STREAM,
        "@-",
    ];
    let out = run_with_stdin(&[&base[..], &["--concurrency", "4"]].concat(), input);
    out.code(72);
    assert_eq!(
        out.stdout,
        "{\"pad\":\"xxxxxxxxxx\"}\n{\"pad\":\"xxxxxxxxxx\"}\n"
    );
    let lines: Vec<&str> = out.stderr.lines().collect();
    assert_eq!(lines.len(), 2, "{}", out.stderr);
    assert!(
        lines[0].starts_with("ERROR: call 1: ResourceExhausted: "),
        "{}",
        out.stderr
    );
    assert!(
        lines[1].starts_with("grpcx: error: call 3: message 4: "),
        "{}",
        out.stderr
    );

    // --fail-fast: nothing after the first failure.
    let out = run_with_stdin(&[&base[..], &["--fail-fast"]].concat(), input);
    out.code(72);
    assert_eq!(out.stdout, "{\"pad\":\"xxxxxxxxxx\"}\n");
    assert_eq!(out.stderr.lines().count(), 1, "{}", out.stderr);
    out.stderr_has("ERROR: call 1: ResourceExhausted");
}

/// `tail -f ids | grpcx call --each`: each value is called and printed
/// while stdin is still open.
#[test]
fn each_reads_stdin_as_it_arrives() {
    let server = Server::bundled();
    let (mut child, mut stdin, rx) = interactive(&["call", "--each", &server.addr, HELLO, "@-"]);
    for name in ["one", "two", "three"] {
        writeln!(stdin, "{{\"name\":\"{name}\"}}").unwrap();
        stdin.flush().unwrap();
        let line = rx
            .recv_timeout(Duration::from_secs(10))
            .unwrap_or_else(|_| panic!("no answer for {name} while stdin is open"));
        assert_eq!(line, format!("{{\"message\":\"Hello, {name}!\"}}"));
    }
    drop(stdin);
    assert!(child.wait().unwrap().success());
}

#[test]
fn each_refuses_client_and_bidi_streams() {
    let server = Server::bundled();
    for (method, kind) in [
        ("helloworld.Greeter/SayHelloBidiStream", "bidi"),
        (
            "helloworld.Greeter/SayHelloClientStream",
            "client-streaming",
        ),
    ] {
        let out = run(&["call", "--each", &server.addr, method, "{}"]);
        out.code(2)
            .stderr_has("grpcx: usage error: --each makes one call per input value")
            .stderr_has(&format!("is a {kind} method"));
    }
    run(&["call", "--each", &server.addr, HELLO])
        .code(2)
        .stderr_has("--each makes one call per JSON value of DATA");
}

/// Many calls over one connection, against grpc-go.
#[test]
fn each_makes_many_calls_in_one_process() {
    let server = Server::go();
    let out = each_hello(&server.addr, &names(2000));
    let lines = out.ok().json_lines();
    assert_eq!(lines.len(), 2000);
    assert_eq!(lines[1234], json!({"message": "Hello, 1234!"}));
}

/// -v shows every call of --each, each with its own timing (the line
/// does not grow with the calls before it).
#[test]
fn each_verbose_times_each_call_on_its_own() {
    let server = Server::bundled();
    let input = names(30);
    let out = run_with_stdin(&["call", "--each", &server.addr, HELLO, "@-", "-v"], &input);
    assert_eq!(out.ok().json_lines().len(), 30);
    let timings: Vec<&str> = out
        .stderr
        .lines()
        .filter(|line| line.starts_with("Timing: "))
        .collect();
    assert_eq!(timings.len(), 30, "{}", out.stderr);
    for line in timings {
        assert_eq!(line.matches("call ").count(), 1, "{line}");
    }
}

fn bench_json(args: &[&str]) -> Value {
    let out = run(&[&["bench", "--format", "json"], args].concat());
    let lines = out.ok().json_lines();
    assert_eq!(lines.len(), 1, "{}", out.stdout);
    lines[0].clone()
}

#[test]
fn bench_json_report_has_the_documented_fields() {
    let server = Server::go();
    let report = bench_json(&[
        &server.addr,
        HELLO,
        "-n",
        "300",
        "-c",
        "8",
        "--connections",
        "2",
        "{\"name\":\"a\"}{\"name\":\"b\"}",
    ]);
    let keys: Vec<&String> = report.as_object().unwrap().keys().collect();
    let mut expected = [
        "requests",
        "ok",
        "errors",
        "duration_s",
        "rps",
        "latency_ms",
        "status",
    ];
    expected.sort();
    assert_eq!(keys, expected, "{report}");
    assert_eq!(report["requests"], 300);
    assert_eq!(report["ok"], 300);
    assert_eq!(report["errors"], 0);
    assert_eq!(report["status"], json!({"OK": 300}));
    assert!(report["rps"].as_f64().unwrap() > 0.0);
    let latency = &report["latency_ms"];
    let figures: Vec<f64> = ["min", "p50", "p90", "p95", "p99", "p999", "max"]
        .iter()
        .map(|k| {
            latency[k]
                .as_f64()
                .unwrap_or_else(|| panic!("no {k}: {report}"))
        })
        .collect();
    assert!(figures.windows(2).all(|w| w[0] <= w[1]), "{report}");
    assert!(
        figures[0] > 0.0 && latency["mean"].as_f64().unwrap() > 0.0,
        "{report}"
    );
}

#[test]
fn bench_counts_statuses_by_canonical_name() {
    let server = Server::bundled();
    let report = bench_json(&[
        &server.addr,
        HELLO,
        "-n",
        "40",
        "-c",
        "4",
        "-H",
        "x-grpcx-fail: UNAVAILABLE",
        "-H",
        "x-grpcx-fail-message: down for maintenance",
    ]);
    assert_eq!(report["requests"], 40);
    assert_eq!(report["errors"], 40);
    assert_eq!(report["status"], json!({"UNAVAILABLE": 40}));
    // The text report shows the counts and a sample of the message.
    let out = run(&[
        "bench",
        &server.addr,
        HELLO,
        "-n",
        "10",
        "-H",
        "x-grpcx-fail: DEADLINE_EXCEEDED",
    ]);
    out.ok();
    for part in [
        "Requests:   10 (0 ok, 10 errors)",
        "DEADLINE_EXCEEDED    10",
        "Errors (samples):",
        "[10] DEADLINE_EXCEEDED: failed on request",
        "p99.9",
        "■",
    ] {
        assert!(
            out.stdout.contains(part),
            "{part:?} missing from\n{}",
            out.stdout
        );
    }
}

/// The open model makes rate × duration calls, however they went; CSV has
/// one row per call.
#[test]
fn bench_rate_mode_makes_rate_times_duration_calls() {
    let server = Server::bundled();
    let report = bench_json(&[
        &server.addr,
        HELLO,
        "--rate",
        "100",
        "-z",
        "1s",
        "--warmup",
        "300ms",
    ]);
    assert_eq!(report["requests"], 100, "{report}");
    let duration = report["duration_s"].as_f64().unwrap();
    assert!((0.95..3.0).contains(&duration), "{report}");

    let out = run(&["bench", &server.addr, HELLO, "-n", "25", "--format", "csv"]);
    let lines: Vec<&str> = out.ok().stdout.lines().collect();
    assert_eq!(lines[0], "start_s,latency_ms,status");
    assert_eq!(lines.len(), 26);
    for row in &lines[1..] {
        let cells: Vec<&str> = row.split(',').collect();
        assert_eq!(cells.len(), 3, "{row}");
        assert!(cells[0].parse::<f64>().unwrap() >= 0.0);
        assert!(cells[1].parse::<f64>().unwrap() > 0.0);
        assert_eq!(cells[2], "OK");
    }
}

fn signal(pid: u32, name: &str) {
    let sent = Command::new("kill")
        .args([&format!("-{name}"), &pid.to_string()])
        .status()
        .unwrap();
    assert!(sent.success(), "kill -{name} {pid}");
}

/// Ctrl-C stops the run at once, prints the report of what finished, and
/// exits 130.
#[test]
fn bench_ctrl_c_prints_the_report_and_exits_130() {
    let server = Server::bundled();
    let mut child = spawn_piped(&[
        "bench",
        &server.addr,
        HELLO,
        "-z",
        "60s",
        "-c",
        "4",
        "--format",
        "json",
    ]);
    std::thread::sleep(Duration::from_millis(1500));
    let start = Instant::now();
    signal(child.id(), "INT");
    let status = child.wait().unwrap();
    let elapsed = start.elapsed();
    assert_eq!(status.code(), Some(130));
    // The promise is 1 s; the slack is for a loaded machine.
    assert!(elapsed < Duration::from_millis(1500), "took {elapsed:?}");
    let mut stdout = String::new();
    child
        .stdout
        .take()
        .unwrap()
        .read_to_string(&mut stdout)
        .unwrap();
    let report: Value =
        serde_json::from_str(stdout.trim()).unwrap_or_else(|e| panic!("{e}: {stdout:?}"));
    assert!(report["requests"].as_u64().unwrap() > 0, "{report}");
    assert!(report["duration_s"].as_f64().unwrap() < 10.0, "{report}");
}

/// The server freezes (SIGSTOP) for a second mid-run. With one call in
/// flight at 100 calls/s, the 100 calls due meanwhile still count, each
/// from when it was due: the count stays rate × duration, the median stays
/// in milliseconds, and the tail shows the freeze. (The rate is half the
/// issue's 200/s so that a debug build on a loaded machine catches up with
/// the backlog quickly; `bench/load.sh` runs the 200/s case.)
#[test]
fn bench_latency_counts_from_when_calls_were_due() {
    let server = Server::go();
    let child = spawn_piped(&[
        "bench",
        &server.addr,
        HELLO,
        "-c",
        "1",
        "--rate",
        "100",
        "-z",
        "4s",
        "--format",
        "json",
    ]);
    std::thread::sleep(Duration::from_millis(1300));
    signal(server.pid(), "STOP");
    std::thread::sleep(Duration::from_secs(1));
    signal(server.pid(), "CONT");
    let out = child.wait_with_output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let report: Value = serde_json::from_str(stdout.trim()).unwrap();
    assert_eq!(report["requests"], 400, "{report}");
    assert_eq!(report["ok"], 400, "{report}");
    let latency = &report["latency_ms"];
    let ms = |k: &str| latency[k].as_f64().unwrap();
    assert!(ms("p50") < 100.0, "the median should stay in ms: {report}");
    assert!(ms("p99") > 600.0, "p99 should show the freeze: {report}");
    assert!(
        ms("max") > 900.0,
        "max should be about the freeze: {report}"
    );
}

/// A server stream is one call, and its messages are counted; a bidi
/// stream sends every message of DATA (one reply each).
#[test]
fn bench_counts_streams_and_their_messages() {
    let server = Server::bundled();
    let out = run(&[
        "bench",
        &server.addr,
        "helloworld.Greeter/SayHelloStreamReply",
        "-n",
        "10",
        "-c",
        "3",
        "{\"name\":\"a\"}",
    ]);
    out.ok();
    assert!(
        out.stdout.contains("Requests:   10 (10 ok, 0 errors)"),
        "{}",
        out.stdout
    );
    assert!(out.stdout.contains("Messages:   30 ("), "{}", out.stdout);
    let out = run(&[
        "bench",
        &server.addr,
        "helloworld.Greeter/SayHelloBidiStream",
        "-n",
        "10",
        "-c",
        "3",
        "{\"name\":\"a\"}{\"name\":\"b\"}",
    ]);
    out.ok();
    assert!(
        out.stdout.contains("Requests:   10 (10 ok, 0 errors)"),
        "{}",
        out.stdout
    );
    assert!(out.stdout.contains("Messages:   20 ("), "{}", out.stdout);
}

/// On a terminal a live progress line runs (on stderr) before the report;
/// in a pipe there is none.
#[test]
fn bench_progress_line_only_on_a_terminal() {
    let server = Server::bundled();
    let args = ["bench", &server.addr, HELLO, "-z", "1200ms", "-c", "2"];
    let line: Vec<String> = std::iter::once(crate::util::bin().display().to_string())
        .chain(args.iter().map(|a| a.to_string()))
        .map(|word| format!("'{word}'"))
        .collect();
    let out = Command::new("script")
        .args(["-qec", &line.join(" "), "/dev/null"])
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("TERM", "xterm")
        .output()
        .expect("script (util-linux) runs");
    let shown = String::from_utf8_lossy(&out.stdout);
    assert!(shown.contains(" calls, "), "no progress line:\n{shown}");
    assert!(shown.contains(" errors"), "no progress line:\n{shown}");
    assert!(shown.contains("Summary:"), "no report:\n{shown}");

    let out = run(&args);
    assert_eq!(out.ok().stderr, "");
    assert!(out.stdout.starts_with("Summary:"), "{}", out.stdout);
}

/// Anys in requests and responses resolve by reflection as in a single
/// call, while stdin is still open (the input side, waiting, holds no lock
/// on the schema the printer needs).
#[test]
fn each_resolves_anys_while_stdin_is_open() {
    let server = Server::bundled();
    let (mut child, mut stdin, rx) = interactive(&[
        "call",
        "--each",
        "--concurrency",
        "2",
        &server.addr,
        "grpcx.test.v1.Echo/Echo",
        "@-",
    ]);
    for stars in [1, 2] {
        let any = json!({"@type": "type.googleapis.com/grpcx.test.v1.Note", "text": "hi", "stars": stars});
        writeln!(stdin, "{}", json!({ "wAny": any })).unwrap();
        stdin.flush().unwrap();
        let line = rx
            .recv_timeout(Duration::from_secs(10))
            .unwrap_or_else(|_| panic!("no echo of message {stars} while stdin is open"));
        let value: Value = serde_json::from_str(&line).unwrap();
        assert_eq!(value, json!({ "wAny": any }));
    }
    drop(stdin);
    assert!(child.wait().unwrap().success());
}
