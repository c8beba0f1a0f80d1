//! `grpcx ui`: the page driven in a real headless Chromium (Debian's
//! `chromium`, through playwright-core from tests/servers/node) against the
//! real `grpcx serve`, by tests/ui/driver.mjs; and the token, Host and
//! Origin checks over plain HTTP.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use crate::util::{Server, grpcx_std, root};

/// A running `grpcx ui`, killed on drop.
struct Ui {
    child: Child,
    /// The printed URL, with its token.
    url: String,
}

impl Ui {
    fn start(args: &[&str], data: &Path) -> Ui {
        let mut child = grpcx_std()
            .arg("ui")
            .args(args)
            .args(["--no-open", "--port", "0"])
            .env("XDG_DATA_HOME", data)
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("grpcx ui starts");
        let stdout = child.stdout.take().expect("stdout");
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let mut lines = BufReader::new(stdout).lines();
            if let Some(Ok(line)) = lines.next() {
                let _ = tx.send(line);
            }
            for _ in lines {}
        });
        let url = rx
            .recv_timeout(Duration::from_secs(30))
            .expect("grpcx ui prints its URL");
        assert!(
            url.starts_with("http://127.0.0.1:") && url.contains("/?token="),
            "{url}"
        );
        Ui { child, url }
    }

    /// `127.0.0.1:PORT`.
    fn addr(&self) -> &str {
        let rest = self.url.strip_prefix("http://").unwrap();
        &rest[..rest.find('/').unwrap()]
    }

    fn token(&self) -> &str {
        self.url.split("token=").nth(1).unwrap()
    }

    /// One HTTP/1.1 request with these extra header lines; the status code
    /// and the whole response.
    fn http(&self, method: &str, path: &str, headers: &[String], body: &str) -> (u16, String) {
        let mut stream = TcpStream::connect(self.addr()).unwrap();
        stream
            .set_read_timeout(Some(Duration::from_secs(10)))
            .unwrap();
        let mut request = format!("{method} {path} HTTP/1.1\r\nConnection: close\r\n");
        for header in headers {
            request.push_str(&format!("{header}\r\n"));
        }
        request.push_str(&format!(
            "Content-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
            body.len()
        ));
        stream.write_all(request.as_bytes()).unwrap();
        let mut response = String::new();
        stream.read_to_string(&mut response).unwrap();
        let code = response[9..12].parse().unwrap();
        (code, response)
    }

    fn host(&self) -> String {
        format!("Host: {}", self.addr())
    }

    fn cookie(&self) -> String {
        let port = self.addr().rsplit(':').next().unwrap();
        format!("Cookie: grpcx-ui-{port}={}", self.token())
    }
}

impl Drop for Ui {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Runs tests/ui/driver.mjs; its `ok:` lines.
fn drive(args: &[&str]) -> Vec<String> {
    let node_modules = root().join("tests/servers/node/node_modules/playwright-core");
    assert!(
        node_modules.exists(),
        "playwright-core is missing: run `npm ci` in tests/servers/node (.ci/run does)"
    );
    let output = Command::new("node")
        .arg(root().join("tests/ui/driver.mjs"))
        .args(args)
        .output()
        .expect("node runs (apt-get install nodejs; .ci/run does)");
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    assert!(
        output.status.success(),
        "the page failed a check:\n{stdout}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    stdout
        .lines()
        .filter_map(|l| l.strip_prefix("ok: "))
        .map(str::to_string)
        .collect()
}

#[test]
fn the_page_in_a_real_browser_makes_every_kind_of_call_and_keeps_history() {
    let server = Server::bundled();
    let data = tempfile::tempdir().unwrap();
    let ui = Ui::start(&[&server.addr], data.path());
    let steps = drive(&["first", &ui.url, &server.addr]);
    for step in [
        "403 without the token",
        "403 for a foreign Host",
        "the method list",
        "a unary call: response and status",
        "copy as command",
        "the JSON editor and the form stay in step",
        "a nested form with an enum, repeated, map, oneof and int64",
        "well-known types: Any with a type picker, Timestamp, Duration, wrappers, Struct",
        "a deadline",
        "a server stream: the first message before the status",
        "an error status with decoded details, from metadata",
        "a bidi call: send, answers, close",
        "a client-streaming call",
        "cancelling a stream",
        "a link to a method and its request",
        "the history",
    ] {
        assert!(steps.iter().any(|s| s == step), "no '{step}' in {steps:?}");
    }
    // The history is private, in grpcx's own data directory.
    let file = data.path().join("grpcx/ui-history.json");
    let history = std::fs::read_to_string(&file).unwrap();
    assert!(history.contains("helloworld.Greeter/SayHello"), "{history}");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode(&file), 0o600);
        assert_eq!(mode(file.parent().unwrap()), 0o700);
    }
    // A new `grpcx ui` (a new token, a new port) shows the same history.
    drop(ui);
    let ui = Ui::start(&[&server.addr], data.path());
    let steps = drive(&["restart", &ui.url, &server.addr]);
    assert_eq!(steps, ["the history after a restart, re-run"]);
}

#[test]
fn requests_without_the_token_or_from_elsewhere_are_refused() {
    let data = tempfile::tempdir().unwrap();
    // No target: the bundled server, in one command.
    let ui = Ui::start(&[], data.path());
    let (host, cookie) = (ui.host(), ui.cookie());
    let port = ui.addr().rsplit(':').next().unwrap().to_string();
    let call = r#"{"method":"helloworld.Greeter/SayHello","messages":["{\"name\":\"x\"}"]}"#;

    // With the token's cookie and the right Host: a call, as events.
    let (code, response) = ui.http("POST", "/api/call", &[host.clone(), cookie.clone()], call);
    assert_eq!(code, 200, "{response}");
    assert!(
        response.contains("event: message\ndata: {\"ms\":"),
        "{response}"
    );
    assert!(
        response.contains(r#""message":{"message":"Hello, x!"}"#),
        "{response}"
    );
    assert!(response.contains(r#"event: status"#) && response.contains(r#""code":"OK""#));
    let (_, info) = ui.http("GET", "/api/info", &[host.clone(), cookie.clone()], "");
    assert!(info.contains(r#""bundled":true"#), "{info}");

    // The first visit trades the token for a cookie, and a clean address.
    let (code, response) = ui.http(
        "GET",
        &format!("/?token={}", ui.token()),
        std::slice::from_ref(&host),
        "",
    );
    assert_eq!(code, 303, "{response}");
    assert!(response.contains("HttpOnly; SameSite=Strict"), "{response}");
    assert!(response.to_ascii_lowercase().contains("location: /\r\n"));

    let refused = [
        // No token at all, and a wrong one.
        vec![host.clone()],
        vec![host.clone(), cookie.replace(ui.token(), "0123")],
        // DNS rebinding: the right cookie under a foreign name.
        vec!["Host: evil.test".to_string(), cookie.clone()],
        vec![format!("Host: localhost.evil.test:{port}"), cookie.clone()],
        // A cross-site request.
        vec![
            host.clone(),
            cookie.clone(),
            "Origin: http://evil.test".to_string(),
        ],
        vec![
            host.clone(),
            cookie.clone(),
            "Sec-Fetch-Site: cross-site".to_string(),
        ],
    ];
    for headers in refused {
        let (code, response) = ui.http("POST", "/api/call", &headers, call);
        assert_eq!(code, 403, "{headers:?}: {response}");
        assert!(response.contains("grpcx ui: forbidden: "), "{response}");
    }
    // localhost:PORT is the same page.
    let (code, _) = ui.http(
        "GET",
        "/api/services",
        &[format!("Host: localhost:{port}"), cookie.clone()],
        "",
    );
    assert_eq!(code, 200);
    // Bad input is a clear error, not a call.
    let (code, response) = ui.http(
        "POST",
        "/api/call",
        &[host, cookie],
        r#"{"method":"helloworld.Greeter/SayHello","messages":["{\"nam\":1}"]}"#,
    );
    assert_eq!(code, 400);
    assert!(
        response.contains("unrecognized field name 'nam'"),
        "{response}"
    );
}

#[test]
fn copy_as_command_gives_lines_that_make_the_same_call_over_connect() {
    // connect-node over HTTP/1.1: it takes JSON, as the curl line sends.
    let mut node = Command::new("node");
    node.arg(root().join("tests/servers/node/connect_server.mjs"))
        .arg("--http1");
    let server = Server::start(
        node,
        "connect-node server (npm ci in tests/servers/node first)",
    );
    let data = tempfile::tempdir().unwrap();
    let proto = crate::util::proto("helloworld.proto");
    let ui = Ui::start(
        &[&server.addr, "--protocol", "connect", "--proto", &proto],
        data.path(),
    );
    let (host, cookie) = (ui.host(), ui.cookie());
    let request = r#"{"method":"helloworld.Greeter/SayHello","messages":["{\"name\":\"Connect\"}"],"metadata":[["x-trace","1"]]}"#;
    // The page's own call goes over Connect, with the schema from the file.
    let (code, response) = ui.http(
        "POST",
        "/api/call",
        &[host.clone(), cookie.clone()],
        request,
    );
    assert_eq!(code, 200, "{response}");
    assert!(
        response.contains(r#""message":{"message":"Hello, Connect!"}"#),
        "{response}"
    );
    let (code, response) = ui.http("POST", "/api/command", &[host, cookie], request);
    assert_eq!(code, 200, "{response}");
    let body: serde_json::Value =
        serde_json::from_str(&response[response.find("\r\n\r\n").unwrap() + 4..]).unwrap();
    let grpcx = body["grpcx"].as_str().unwrap();
    let curl = body["curl"].as_str().unwrap();
    assert_eq!(
        grpcx,
        format!(
            "grpcx call {} helloworld.Greeter/SayHello -d '{{\"name\":\"Connect\"}}' -H 'x-trace: 1' --proto {proto} --protocol connect",
            server.addr
        )
    );
    // Both lines, pasted into a shell, make the call.
    let shell = |line: &str| {
        let out = Command::new("sh")
            .args(["-c", line])
            .env(
                "PATH",
                format!(
                    "{}:{}",
                    crate::util::bin().parent().unwrap().display(),
                    std::env::var("PATH").unwrap_or_default()
                ),
            )
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{line}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap()
    };
    assert_eq!(shell(grpcx).trim(), r#"{"message":"Hello, Connect!"}"#);
    assert_eq!(shell(curl).trim(), r#"{"message":"Hello, Connect!"}"#);
}

#[test]
fn ctrl_c_stops_the_page() {
    let data = tempfile::tempdir().unwrap();
    let mut ui = Ui::start(&[], data.path());
    let sent = Command::new("kill")
        .args(["-INT", &ui.child.id().to_string()])
        .status()
        .unwrap();
    assert!(sent.success());
    let started = std::time::Instant::now();
    let status = loop {
        if let Some(status) = ui.child.try_wait().unwrap() {
            break status;
        }
        assert!(started.elapsed() < Duration::from_secs(10), "still running");
        std::thread::sleep(Duration::from_millis(20));
    };
    assert!(status.success(), "{status:?}");
    assert!(TcpStream::connect(ui.addr()).is_err(), "still listening");
}
