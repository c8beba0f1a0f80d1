//! The test kit: a clean `grpcx` command, and real servers on 127.0.0.1,
//! port 0: the bundled one (`grpcx serve`) and the other-implementation
//! servers under `tests/servers/`.

#![allow(dead_code)]

use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

/// The repository root.
pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// A path under `proto/`.
pub fn proto(name: &str) -> String {
    root().join("proto").join(name).display().to_string()
}

/// The grpcx binary under test.
pub fn bin() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_grpcx"))
}

/// `grpcx` with a clean environment: no colour or terminal settings leak
/// in from the developer's shell.
pub fn grpcx() -> assert_cmd::Command {
    let mut cmd = assert_cmd::Command::new(bin());
    clean_env(cmd.env_clear());
    cmd.timeout(Duration::from_secs(60));
    cmd
}

/// A `std::process::Command` for grpcx, for tests that drive stdin/stdout
/// by hand (interactivity, signals).
pub fn grpcx_std() -> Command {
    let mut cmd = Command::new(bin());
    cmd.env_clear();
    for (key, value) in base_env() {
        cmd.env(key, value);
    }
    cmd
}

/// `count` HelloRequests, one a line: `{"name":"0"}` and on.
pub fn names(count: usize) -> String {
    (0..count)
        .map(|i| format!("{{\"name\":\"{i}\"}}\n"))
        .collect()
}

/// `grpcx call --each --concurrency 8` of SayHello on `addr`, with `input`
/// on stdin.
pub fn each_hello(addr: &str, input: &str) -> Run {
    run_with_stdin(
        &[
            "call",
            "--each",
            "--concurrency",
            "8",
            addr,
            "helloworld.Greeter/SayHello",
            "@-",
        ],
        input,
    )
}

/// grpcx started with `args`, its stdout and stderr piped, for a test that
/// acts on it (a signal, a server stopped) while it runs.
pub fn spawn_piped(args: &[&str]) -> std::process::Child {
    grpcx_std()
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap()
}

fn base_env() -> Vec<(&'static str, String)> {
    let mut env = vec![("PATH", std::env::var("PATH").unwrap_or_default())];
    if let Ok(home) = std::env::var("HOME") {
        env.push(("HOME", home));
    }
    // The descriptor cache is off unless a test gives it a directory (by
    // setting XDG_CACHE_HOME again): nothing can be written under /dev/null,
    // so no test sees another's entries, nor the developer's.
    env.push(("XDG_CACHE_HOME", "/dev/null/grpcx-cache".to_string()));
    env
}

fn clean_env(cmd: &mut assert_cmd::Command) -> &mut assert_cmd::Command {
    for (key, value) in base_env() {
        cmd.env(key, value);
    }
    cmd
}

/// Output of a finished command, as text.
pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
    pub elapsed: Duration,
}

/// Runs grpcx with `args` (and optional stdin), waiting for it to end.
pub fn run(args: &[&str]) -> Run {
    run_with_stdin(args, "")
}

pub fn run_with_stdin(args: &[&str], stdin: &str) -> Run {
    let start = Instant::now();
    let output = grpcx()
        .args(args)
        .write_stdin(stdin)
        .output()
        .expect("grpcx runs");
    Run {
        code: output.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
        elapsed: start.elapsed(),
    }
}

impl Run {
    /// Panics with the whole output unless the exit code is `code`.
    #[track_caller]
    pub fn code(&self, code: i32) -> &Self {
        assert_eq!(
            self.code, code,
            "exit code\n--- stdout\n{}\n--- stderr\n{}",
            self.stdout, self.stderr
        );
        self
    }

    #[track_caller]
    pub fn ok(&self) -> &Self {
        self.code(0)
    }

    /// stdout parsed as one JSON value per line.
    #[track_caller]
    pub fn json_lines(&self) -> Vec<serde_json::Value> {
        self.stdout
            .lines()
            .map(|line| {
                serde_json::from_str(line).unwrap_or_else(|e| panic!("not JSON: {line:?}: {e}"))
            })
            .collect()
    }

    #[track_caller]
    pub fn stderr_has(&self, text: &str) -> &Self {
        assert!(
            self.stderr.contains(text),
            "stderr lacks {text:?}:\n{}",
            self.stderr
        );
        self
    }
}

/// A server child process; killed on drop.
pub struct Server {
    child: Child,
    /// `127.0.0.1:PORT`.
    pub addr: String,
    log: Arc<Mutex<String>>,
    _stdin: Option<ChildStdin>,
}

impl Server {
    /// `grpcx serve` on a free port.
    pub fn bundled() -> Server {
        Self::bundled_with(&[])
    }

    pub fn bundled_with(extra: &[&str]) -> Server {
        let mut cmd = grpcx_std();
        cmd.args(["serve", "--addr", "127.0.0.1:0"]).args(extra);
        Server::start(cmd, "grpcx serve")
    }

    /// The grpcio server (v1alpha reflection only), a new one per test.
    pub fn python_with(extra: &[&str]) -> Server {
        let python = std::env::var("GRPCX_TEST_PYTHON").unwrap_or_else(|_| "python3".into());
        let mut cmd = Command::new(python);
        cmd.arg(root().join("tests/servers/py/server.py"))
            .args(extra);
        Server::start(cmd, "python grpcio server")
    }

    pub fn python() -> Server {
        Self::python_with(&[])
    }

    /// Starts the command and waits for its `LISTENING addr` line.
    pub fn start(mut cmd: Command, what: &str) -> Server {
        cmd.stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let mut child = cmd
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {what}: {e}"));
        let log = Arc::new(Mutex::new(String::new()));
        let mut stderr = child.stderr.take().expect("stderr");
        let sink = log.clone();
        std::thread::spawn(move || {
            let mut buf = [0u8; 4096];
            while let Ok(n) = stderr.read(&mut buf) {
                if n == 0 {
                    break;
                }
                sink.lock()
                    .unwrap()
                    .push_str(&String::from_utf8_lossy(&buf[..n]));
            }
        });
        let stdout = child.stdout.take().expect("stdout");
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let mut lines = BufReader::new(stdout).lines();
            if let Some(Ok(line)) = lines.next() {
                let _ = tx.send(line);
            }
            for _ in lines {}
        });
        let line = match rx.recv_timeout(Duration::from_secs(60)) {
            Ok(line) => line,
            Err(_) => {
                let _ = child.kill();
                std::thread::sleep(Duration::from_millis(100));
                panic!("{what} did not start:\n{}", log.lock().unwrap());
            }
        };
        let addr = line
            .strip_prefix("LISTENING ")
            .unwrap_or_else(|| panic!("{what} said {line:?}, not LISTENING"))
            .trim()
            .to_string();
        let stdin = child.stdin.take();
        Server {
            child,
            addr,
            log,
            _stdin: stdin,
        }
    }

    /// What the server wrote to stderr so far (one line per call).
    pub fn log(&self) -> String {
        self.log.lock().unwrap().clone()
    }

    /// The process id, to kill it mid-test.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.kill();
    }
}

/// Polls `check` for up to 10 s: a server's log arrives on a pipe read by
/// a thread of the test's, and can trail the answer and grpcx's exit.
pub fn wait_for<T>(mut check: impl FnMut() -> Option<T>) -> T {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        if let Some(found) = check() {
            return found;
        }
        assert!(
            Instant::now() < deadline,
            "the server did not log it in time"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// A protoset of every file under `proto/`, written by protoc itself
/// (`protoc --descriptor_set_out --include_imports`), once per test run.
pub fn protoset() -> &'static Path {
    static PROTOSET: OnceLock<PathBuf> = OnceLock::new();
    PROTOSET.get_or_init(|| {
        let dir = std::env::temp_dir().join(format!("grpcx-test-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let out = dir.join("all.protoset");
        let status = Command::new("protoc")
            .arg(format!("--descriptor_set_out={}", out.display()))
            .arg("--include_imports")
            .arg("-I")
            .arg(root().join("proto"))
            .args([
                "helloworld.proto",
                "grpcx/test/v1/everything.proto",
                "grpcx/test/v1/note.proto",
                "nopkg.proto",
            ])
            .status()
            .expect("protoc is installed (.ci/run installs protobuf-compiler)");
        assert!(status.success(), "protoc failed");
        out
    })
}

impl Server {
    /// The grpc-go server (`tests/servers/go/`), a new one per test. The
    /// binary is built once per test run by `tests/servers/go/build.sh`.
    pub fn go_with(extra: &[&str]) -> Server {
        let mut cmd = Command::new(go_server_binary());
        cmd.args(extra);
        Server::start(cmd, "grpc-go server")
    }

    pub fn go() -> Server {
        Self::go_with(&[])
    }
}

/// Runs `tests/servers/go/build.sh` once (it installs Go and the Debian
/// packages when missing) and returns the path it prints.
pub fn go_server_binary() -> &'static Path {
    static BINARY: OnceLock<PathBuf> = OnceLock::new();
    BINARY.get_or_init(|| {
        let output = Command::new("bash")
            .arg(root().join("tests/servers/go/build.sh"))
            .stderr(Stdio::inherit())
            .output()
            .expect("bash runs tests/servers/go/build.sh");
        assert!(output.status.success(), "tests/servers/go/build.sh failed");
        let path = String::from_utf8(output.stdout).expect("a UTF-8 path");
        PathBuf::from(path.trim())
    })
}

impl Server {
    /// The grpc-js server (`tests/servers/node/grpc_server.js`), a new one
    /// per test. Its packages come from `npm ci` in that directory (`.ci/run`).
    pub fn node_with(extra: &[&str]) -> Server {
        let dir = root().join("tests/servers/node");
        assert!(
            dir.join("node_modules/@grpc/grpc-js").is_dir(),
            "run `npm ci` in tests/servers/node (.ci/run does)"
        );
        let mut cmd = Command::new("node");
        cmd.arg(dir.join("grpc_server.js")).args(extra);
        Server::start(cmd, "grpc-js server")
    }

    pub fn node() -> Server {
        Self::node_with(&[])
    }
}

/// grpcx with stdin to write to and stdout read line by line on a thread,
/// for tests that interleave the two (bidi, `call --each` on open stdin).
pub fn interactive(
    args: &[&str],
) -> (
    std::process::Child,
    std::process::ChildStdin,
    std::sync::mpsc::Receiver<String>,
) {
    let mut child = grpcx_std()
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let stdin = child.stdin.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    let stdout = child.stdout.take().unwrap();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines() {
            let _ = tx.send(line.unwrap());
        }
    });
    (child, stdin, rx)
}

/// `grpcx bench TARGET helloworld.Greeter/SayHello -n 200 -c 8
/// --connections 2` plus `extra`: every call must end OK.
#[track_caller]
pub fn bench_all_ok(target: &str, extra: &[&str]) {
    let args = [
        "bench",
        target,
        "helloworld.Greeter/SayHello",
        r#"{"name":"a"}{"name":"b"}"#,
        "-n",
        "200",
        "-c",
        "8",
        "--connections",
        "2",
        "--format",
        "json",
    ];
    let out = run(&[&args[..], extra].concat());
    let report = &out.ok().json_lines()[0];
    assert_eq!(report["status"], serde_json::json!({"OK": 200}), "{report}");
}
