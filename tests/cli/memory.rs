//! Memory stays flat on long streams: a million messages, in either
//! direction, add little to grpcx's peak RSS, measured from outside with
//! `/usr/bin/time`.

use std::io::{BufRead, BufReader, Read, Write};
use std::process::{Child, Stdio};

use serde_json::json;

use crate::util::Server;

/// grpcx under `/usr/bin/time`, which reports its peak RSS (`.ci/run`
/// installs `time`). Peak RSS is measured from outside because a child
/// spawned by this (large) test process inherits its high-water mark.
fn grpcx_timed(rss_file: &std::path::Path) -> std::process::Command {
    let mut cmd = std::process::Command::new("/usr/bin/time");
    cmd.env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default());
    cmd.args(["-f", "%M", "-o"])
        .arg(rss_file)
        .arg(crate::util::bin());
    cmd
}

/// Waits for the timed child; its exit code and peak RSS in KiB.
fn wait_rss(child: &mut Child, rss_file: &std::path::Path) -> (Option<i32>, i64) {
    let status = child.wait().unwrap();
    let text = std::fs::read_to_string(rss_file).unwrap();
    let rss = text
        .lines()
        .last()
        .unwrap_or("")
        .trim()
        .parse()
        .unwrap_or_else(|_| panic!("time said {text:?}"));
    (status.code(), rss)
}

/// How much a million messages may add to grpcx's peak RSS over the same
/// call with one message. The debug binary the tests build starts at
/// 20-25 MB (its code pages alone; the release binary starts at 10 MB and
/// stays under 15 MB on these streams, see `bench/`), so the test bounds the
/// growth: an unbounded queue of a million messages would add over 100 MB.
const RSS_GROWTH_LIMIT_KIB: i64 = 8 * 1024;

/// grpcx's peak RSS for `args` with one message from `data`, the baseline
/// that a long stream's peak is compared with.
fn baseline_rss(args: &[&str], data: &str) -> i64 {
    let dir = tempfile::tempdir().unwrap();
    let rss_file = dir.path().join("rss");
    let mut child = grpcx_timed(&rss_file)
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(data.as_bytes())
        .unwrap();
    let (code, rss) = wait_rss(&mut child, &rss_file);
    assert_eq!(code, Some(0), "the baseline call failed");
    rss
}

/// A million-message stream (one small frame each, from grpc-go) keeps
/// memory flat: nothing queues between the network and stdout.
#[test]
fn memory_stays_flat_on_a_million_message_stream() {
    let server = Server::go();
    let args = [
        "call",
        &server.addr,
        "grpcx.test.v1.Echo/Stream",
        "-d",
        "@-",
    ];
    let baseline = baseline_rss(&args, r#"{"count": 1}"#);
    // One retry, said aloud: under a fully loaded CI machine this stream
    // has been cut short (UNAVAILABLE) about once in several full runs, on
    // the relay before the one stack too, and not yet on demand; what grpcx
    // and the server said is printed so that the next run names the cause.
    let mut attempt = 0;
    let rss = loop {
        attempt += 1;
        let (code, count, rss, stderr) = million(&server);
        if (code, count) == (Some(0), 1_000_000) {
            break rss;
        }
        let said = format!(
            "exit {code:?} after {count} lines; grpcx said: {stderr}\nthe server said: {}",
            server
                .log()
                .lines()
                .rev()
                .take(5)
                .collect::<Vec<_>>()
                .join("\n")
        );
        assert!(attempt < 2, "{said}");
        eprintln!("attempt {attempt} cut short, trying once more: {said}");
    };
    eprintln!("peak RSS {rss} KiB, {baseline} KiB for one message");
    assert!(
        rss - baseline < RSS_GROWTH_LIMIT_KIB,
        "peak RSS {rss} KiB, {baseline} KiB for one message"
    );
}

/// The million-message stream, read line by line: exit code, lines, peak
/// RSS and stderr.
fn million(server: &Server) -> (Option<i32>, usize, i64, String) {
    let dir = tempfile::tempdir().unwrap();
    let rss_file = dir.path().join("rss");
    let stderr_file = dir.path().join("stderr");
    let mut child = grpcx_timed(&rss_file)
        .args([
            "call",
            &server.addr,
            "grpcx.test.v1.Echo/Stream",
            "-d",
            r#"{"count": 1000000}"#,
        ])
        .stdout(Stdio::piped())
        .stderr(std::fs::File::create(&stderr_file).unwrap())
        .spawn()
        .unwrap();
    let mut stdout = BufReader::new(child.stdout.take().unwrap());
    let mut count = 0;
    let mut line = String::new();
    while stdout.read_line(&mut line).unwrap() > 0 {
        count += 1;
        line.clear();
    }
    let (code, rss) = wait_rss(&mut child, &rss_file);
    let stderr = std::fs::read_to_string(&stderr_file).unwrap();
    (code, count, rss, stderr)
}

/// A million-message client stream from stdin keeps memory flat too:
/// stdin is read only as fast as the network takes it.
#[test]
fn memory_stays_flat_on_a_million_message_client_stream() {
    let server = Server::bundled();
    let baseline = baseline_rss(
        &[
            "call",
            &server.addr,
            "grpcx.test.v1.Echo/Collect",
            "-d",
            "@-",
        ],
        "{\"seq\":0,\"pad\":\"xx\"}\n",
    );
    let dir = tempfile::tempdir().unwrap();
    let rss_file = dir.path().join("rss");
    let mut child = grpcx_timed(&rss_file)
        .args([
            "call",
            &server.addr,
            "grpcx.test.v1.Echo/Collect",
            "-d",
            "@-",
        ])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    let writer = std::thread::spawn(move || {
        let mut out = std::io::BufWriter::new(&mut stdin);
        for seq in 0..1_000_000 {
            writeln!(out, "{{\"seq\":{seq},\"pad\":\"xx\"}}").unwrap();
        }
    });
    let mut stdout = String::new();
    child
        .stdout
        .take()
        .unwrap()
        .read_to_string(&mut stdout)
        .unwrap();
    writer.join().unwrap();
    let (code, rss) = wait_rss(&mut child, &rss_file);
    assert_eq!(code, Some(0));
    let summary: serde_json::Value = serde_json::from_str(stdout.trim()).unwrap();
    assert_eq!(summary, json!({"count": "1000000", "bytes": "2000000"}));
    eprintln!("peak RSS {rss} KiB, {baseline} KiB for one message");
    assert!(
        rss - baseline < RSS_GROWTH_LIMIT_KIB,
        "peak RSS {rss} KiB, {baseline} KiB for one message"
    );
}
