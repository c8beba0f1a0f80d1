//! Long links: calls through `bench/delay_proxy.py` (a loopback proxy that
//! delays each direction), where the connection's windows grow. Behaviour only:
//! everything arrives, a stalled reader loses nothing; the speed is the
//! bench's business.

use std::io::Read;
use std::process::{Child, Command, Stdio};

use crate::util::{Server, grpcx_std, root};

/// The delay proxy in front of `upstream`; killed on drop.
struct DelayProxy {
    child: Child,
    addr: String,
}

impl DelayProxy {
    fn start(upstream: &str, delay_ms: u32) -> DelayProxy {
        let mut child = Command::new("python3")
            .arg(root().join("bench/delay_proxy.py"))
            .args(["--delay-ms", &delay_ms.to_string(), "--upstream", upstream])
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("python3 runs");
        let mut line = Vec::new();
        let mut stdout = child.stdout.take().unwrap();
        let mut byte = [0u8; 1];
        while stdout.read(&mut byte).unwrap() == 1 && byte[0] != b'\n' {
            line.push(byte[0]);
        }
        let line = String::from_utf8(line).unwrap();
        let addr = line
            .strip_prefix("LISTENING ")
            .unwrap_or_else(|| panic!("delay proxy said {line:?}"))
            .to_string();
        DelayProxy { child, addr }
    }
}

impl Drop for DelayProxy {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A large-message stream over a 10 ms round trip, read by a reader that
/// stalls first: every message arrives, in order.
#[test]
fn a_stalled_reader_on_a_long_link_loses_nothing() {
    let server = Server::bundled();
    let link = DelayProxy::start(&server.addr, 5);
    let mut child = grpcx_std()
        .args([
            "call",
            &link.addr,
            "grpcx.test.v1.Echo/Stream",
            "-d",
            r#"{"count": 400, "payloadSize": 32768}"#,
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdout = child.stdout.take().unwrap();
    // Let the window grow and fill while nobody reads.
    std::thread::sleep(std::time::Duration::from_millis(1500));
    let mut text = String::new();
    stdout.read_to_string(&mut text).unwrap();
    let status = child.wait().unwrap();
    let mut stderr = String::new();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut stderr)
        .unwrap();
    assert!(status.success(), "{status}: {stderr}");
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 400, "{stderr}");
    for (seq, line) in lines.iter().enumerate() {
        let value: serde_json::Value = serde_json::from_str(line).unwrap();
        let got = value["seq"].as_u64().unwrap_or(0);
        assert_eq!(got, seq as u64, "message {seq} out of order");
    }
}

/// A client stream over the same link to `grpcx serve` (whose relay sizes
/// its receive window the same way) arrives whole.
#[test]
fn a_client_stream_over_a_long_link_arrives_whole() {
    let server = Server::bundled();
    let link = DelayProxy::start(&server.addr, 5);
    let mut input = String::new();
    for seq in 0..50_000 {
        input.push_str(&format!("{{\"seq\":{seq},\"pad\":\"xxxxxxxxxxxxxxxx\"}}\n"));
    }
    let out = crate::util::run_with_stdin(
        &["call", &link.addr, "grpcx.test.v1.Echo/Collect", "-d", "@-"],
        &input,
    );
    out.ok();
    let summary: serde_json::Value = serde_json::from_str(out.stdout.trim()).unwrap();
    assert_eq!(summary["count"], "50000", "{}", out.stdout);
}
