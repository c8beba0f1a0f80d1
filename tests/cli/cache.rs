//! The descriptor cache and the reflection round trips: a hit, its
//! re-validation when the server's schema changed, the files' permissions,
//! damaged entries, and which requests leave together (judged from the
//! grpcio server's log of arrival times, through a link with a long delay).

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::util::{Run, Server, grpcx, root};

/// One-way delay of the slow link: a round trip is twice this. Requests
/// that leave together arrive within a few ms of each other; a request that
/// waited for an answer arrives a round trip later.
const DELAY_MS: f64 = 150.0;

/// grpcx with its cache in `cache` (XDG_CACHE_HOME).
fn call(cache: &Path, args: &[&str]) -> Run {
    let start = std::time::Instant::now();
    let output = grpcx()
        .env("XDG_CACHE_HOME", cache)
        .args(args)
        .output()
        .expect("grpcx runs");
    Run {
        code: output.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
        elapsed: start.elapsed(),
    }
}

fn hello(cache: &Path, addr: &str, extra: &[&str]) -> Run {
    let mut args = vec![
        "call",
        "-v",
        addr,
        "helloworld.Greeter/SayHello",
        "{\"name\":\"a\"}",
    ];
    args.extend_from_slice(extra);
    call(cache, &args)
}

/// The cache entries (`*.fds`) under `cache`.
fn entries(cache: &Path) -> Vec<PathBuf> {
    match std::fs::read_dir(cache.join("grpcx")) {
        Ok(dir) => dir
            .map(|e| e.unwrap().path())
            .filter(|p| p.extension().is_some_and(|e| e == "fds"))
            .collect(),
        Err(_) => Vec::new(),
    }
}

fn python(extra: &[&str]) -> Server {
    let mut args = vec!["--log-arrivals"];
    args.extend_from_slice(extra);
    Server::python_with(&args)
}

/// The delay proxy of bench/ in front of `upstream`.
fn slow_link(upstream: &str) -> Server {
    let mut cmd = Command::new("python3");
    cmd.arg(root().join("bench/delay_proxy.py")).args([
        "--delay-ms",
        &DELAY_MS.to_string(),
        "--upstream",
        upstream,
    ]);
    Server::start(cmd, "delay proxy")
}

/// `(what, ms)` for each `py-server: arrived WHAT at MS` line, in order.
fn arrivals(server: &Server) -> Vec<(String, f64)> {
    server
        .log()
        .lines()
        .filter_map(|line| {
            let rest = line.strip_prefix("py-server: arrived ")?;
            let (what, at) = rest.rsplit_once(" at ")?;
            Some((what.to_string(), at.trim().parse().ok()?))
        })
        .collect()
}

/// Asserts that, among the requests after the first `before`, the call to
/// `path` reached the server with the reflection request that re-validates
/// its cached types (within one link delay), not a round trip after it.
fn sent_with_reflection(server: &Server, before: usize, path: &str) {
    let log = arrivals(server)[before..].to_vec();
    let reflection = when(&log, "/grpc.reflection.v1alpha.ServerReflection/");
    let call = when(&log, path);
    assert!(
        (call - reflection).abs() < DELAY_MS,
        "{path} waited for reflection: {log:?}"
    );
}

fn when(log: &[(String, f64)], what: &str) -> f64 {
    log.iter()
        .find(|(w, _)| w.contains(what))
        .unwrap_or_else(|| panic!("no {what} in {log:?}"))
        .1
}

#[test]
fn a_first_call_asks_both_reflection_versions_and_every_file_in_one_round() {
    let cache = tempfile::tempdir().unwrap();
    let server = python(&[]);
    let link = slow_link(&server.addr);
    let out = hello(cache.path(), &link.addr, &[]);
    out.ok();
    assert_eq!(out.stdout.trim(), r#"{"message":"Hello, a!"}"#);
    let log = arrivals(&server);
    let v1 = when(&log, "/grpc.reflection.v1.ServerReflection/");
    let v1alpha = when(&log, "/grpc.reflection.v1alpha.ServerReflection/");
    let call = when(&log, "/helloworld.Greeter/SayHello");
    // v1 (which grpcio lacks) and v1alpha left together...
    assert!((v1 - v1alpha).abs() < DELAY_MS, "{log:?}");
    // ...and every reflection request in that first flight: none waited.
    let requests: Vec<f64> = log
        .iter()
        .filter(|(w, _)| w.starts_with("reflection "))
        .map(|(_, at)| *at)
        .collect();
    assert!(!requests.is_empty(), "{log:?}");
    assert!(
        requests.iter().all(|at| (at - v1alpha).abs() < DELAY_MS),
        "a reflection request waited for an answer: {log:?}"
    );
    // The call needs the answer: one round trip later, not two.
    let round_trip = 2.0 * DELAY_MS;
    assert!(call - v1alpha > DELAY_MS, "{log:?}");
    assert!(call - v1alpha < 1.5 * round_trip, "{log:?}");
}

#[test]
fn a_warm_cache_sends_the_call_with_the_reflection_request() {
    let cache = tempfile::tempdir().unwrap();
    let server = python(&[]);
    let link = slow_link(&server.addr);
    hello(cache.path(), &link.addr, &[]).ok();
    let before = arrivals(&server).len();
    let out = hello(cache.path(), &link.addr, &[]);
    out.ok()
        .stderr_has("found helloworld.Greeter.SayHello (cached)");
    assert_eq!(out.stdout.trim(), r#"{"message":"Hello, a!"}"#);
    sent_with_reflection(&server, before, "/helloworld.Greeter/SayHello");
}

/// A stream of requests starts with the cached request type too: it
/// leaves with the reflection request that re-validates that type, not a
/// round trip after it.
#[test]
fn a_warm_cache_sends_a_client_stream_with_the_reflection_request() {
    let cache = tempfile::tempdir().unwrap();
    let server = python(&[]);
    let link = slow_link(&server.addr);
    let stream = |cache: &Path| {
        call(
            cache,
            &[
                "call",
                "-v",
                &link.addr,
                "helloworld.Greeter/SayHelloClientStream",
                r#"{"name":"a"} {"name":"b"}"#,
            ],
        )
    };
    stream(cache.path()).ok();
    let before = arrivals(&server).len();
    let out = stream(cache.path());
    out.ok()
        .stderr_has("found helloworld.Greeter.SayHelloClientStream (cached)");
    assert_eq!(out.stdout.trim(), r#"{"message":"Hello, a, b!"}"#);
    sent_with_reflection(&server, before, "/helloworld.Greeter/SayHelloClientStream");
}

#[test]
fn the_cache_is_private_and_keyed_by_target() {
    let cache = tempfile::tempdir().unwrap();
    let server = Server::bundled();
    let out = hello(cache.path(), &server.addr, &[]);
    out.ok();
    assert!(!out.stderr.contains("(cached)"), "{}", out.stderr);
    let files = entries(cache.path());
    assert_eq!(files.len(), 1, "{files:?}");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode(&cache.path().join("grpcx")), 0o700);
        assert_eq!(mode(&files[0]), 0o600);
    }
    hello(cache.path(), &server.addr, &[])
        .ok()
        .stderr_has("(cached)");
    // The same server under another name is another target.
    let other = server.addr.replace("127.0.0.1", "localhost");
    let out = hello(cache.path(), &other, &[]);
    out.ok();
    assert!(!out.stderr.contains("(cached)"), "{}", out.stderr);
    assert_eq!(entries(cache.path()).len(), 2);
}

#[test]
fn no_cache_and_cache_clear() {
    let cache = tempfile::tempdir().unwrap();
    let server = Server::bundled();
    hello(cache.path(), &server.addr, &["--no-cache"]).ok();
    assert!(entries(cache.path()).is_empty());
    hello(cache.path(), &server.addr, &[]).ok();
    let out = hello(cache.path(), &server.addr, &["--no-cache"]);
    out.ok();
    assert!(!out.stderr.contains("(cached)"), "{}", out.stderr);
    assert_eq!(entries(cache.path()).len(), 1);
    call(cache.path(), &["cache", "clear"])
        .ok()
        .stderr_has("removed 1 entry");
    assert!(entries(cache.path()).is_empty());
    let out = hello(cache.path(), &server.addr, &[]);
    out.ok();
    assert!(!out.stderr.contains("(cached)"), "{}", out.stderr);
}

#[test]
fn damaged_entries_are_ignored_and_replaced() {
    let cache = tempfile::tempdir().unwrap();
    let server = Server::bundled();
    hello(cache.path(), &server.addr, &[]).ok();
    let entry = entries(cache.path()).pop().unwrap();
    let whole = std::fs::read(&entry).unwrap();
    let mut garbage = whole.clone();
    let middle = garbage.len() / 2;
    garbage[middle] ^= 0xff;
    for damaged in [whole[..whole.len() / 2].to_vec(), garbage, b"\0\0".to_vec()] {
        std::fs::write(&entry, &damaged).unwrap();
        let out = hello(cache.path(), &server.addr, &[]);
        out.ok();
        assert!(!out.stderr.contains("(cached)"), "{}", out.stderr);
        assert_eq!(out.stdout.trim(), r#"{"message":"Hello, a!"}"#);
        assert_eq!(
            std::fs::read(&entry).unwrap(),
            whole,
            "the entry was not replaced"
        );
    }
}

#[test]
fn processes_writing_one_entry_at_once_leave_a_whole_one() {
    let cache = tempfile::tempdir().unwrap();
    let server = Server::bundled();
    let runs: Vec<_> = (0..4)
        .map(|_| {
            let mut cmd = crate::util::grpcx_std();
            cmd.env("XDG_CACHE_HOME", cache.path())
                .args(["call", &server.addr, "helloworld.Greeter/SayHello", "{}"])
                .stdout(std::process::Stdio::null())
                .stderr(std::process::Stdio::null());
            cmd.spawn().unwrap()
        })
        .collect();
    for mut run in runs {
        assert!(run.wait().unwrap().success());
    }
    assert_eq!(entries(cache.path()).len(), 1);
    hello(cache.path(), &server.addr, &[])
        .ok()
        .stderr_has("(cached)");
}

/// proto/ with HelloReply grown a field, and HelloRequest too when `request`.
fn changed_protos(request: bool) -> tempfile::TempDir {
    changed_protos_with(|mut text| {
        text = text.replace(
            "  string message = 1;\n",
            "  string message = 1;\n  string shout = 2;\n",
        );
        if request {
            text = text.replace(
                "  string name = 1;\n",
                "  string name = 1;\n  int32 times = 2;\n",
            );
        }
        text
    })
}

/// proto/ with helloworld.proto rewritten by `change`.
fn changed_protos_with(change: impl Fn(String) -> String) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    for entry in walk(&root().join("proto")) {
        let rel = entry.strip_prefix(root().join("proto")).unwrap();
        let to = dir.path().join(rel);
        std::fs::create_dir_all(to.parent().unwrap()).unwrap();
        std::fs::copy(&entry, &to).unwrap();
    }
    let path = dir.path().join("helloworld.proto");
    let text = std::fs::read_to_string(&path).unwrap();
    std::fs::write(&path, change(text)).unwrap();
    dir
}

fn walk(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            out.extend(walk(&path));
        } else {
            out.push(path);
        }
    }
    out
}

fn port(addr: &str) -> &str {
    addr.rsplit_once(':').unwrap().1
}

/// A grpcio server called once (so the cache, returned, holds its schema),
/// then redeployed on the same address serving `protos`; the last part
/// keeps that server and its files until the test ends.
fn redeployed(
    protos: tempfile::TempDir,
) -> (tempfile::TempDir, String, (Server, tempfile::TempDir)) {
    let cache = tempfile::tempdir().unwrap();
    let mut server = python(&[]);
    let addr = server.addr.clone();
    hello(cache.path(), &addr, &[]).ok();
    server.kill();
    let proto_dir = protos.path().display().to_string();
    let server = python(&["--port", port(&addr), "--proto-dir", &proto_dir]);
    (cache, addr, (server, protos))
}

#[test]
fn a_server_redeployed_with_new_fields_shows_them_on_the_next_call() {
    let (cache, addr, _server) = redeployed(changed_protos(false));
    let out = hello(cache.path(), &addr, &[]);
    out.ok().stderr_has("(cached)");
    assert_eq!(
        out.stdout.trim(),
        r#"{"message":"Hello, a!","shout":"Hello, a!"}"#
    );
    // The request type did not change: nothing to warn about.
    assert!(!out.stderr.contains("older"), "{}", out.stderr);
}

#[test]
fn a_changed_request_type_is_reported() {
    let (cache, addr, _server) = redeployed(changed_protos(true));
    let out = hello(cache.path(), &addr, &[]);
    out.ok()
        .stderr_has("the request was encoded with the cached schema of helloworld.HelloRequest");
    assert!(
        out.stdout.contains(r#""shout":"Hello, a!""#),
        "{}",
        out.stdout
    );
    // The cache now holds the new schema: no warning, and the new request
    // field is known.
    let out = call(
        cache.path(),
        &[
            "call",
            "-v",
            &addr,
            "helloworld.Greeter/SayHello",
            r#"{"name":"b","times":2}"#,
        ],
    );
    out.ok().stderr_has("(cached)");
    assert!(!out.stderr.contains("warning"), "{}", out.stderr);
}

#[test]
fn a_request_the_cached_schema_cannot_read_waits_for_the_new_one() {
    let (cache, addr, _server) = redeployed(changed_protos(true));
    // `times` is unknown to the cached schema, known to the server's.
    let out = call(
        cache.path(),
        &[
            "call",
            &addr,
            "helloworld.Greeter/SayHello",
            r#"{"name":"c","times":2}"#,
        ],
    );
    out.ok();
    assert!(!out.stderr.contains("warning"), "{}", out.stderr);
    assert!(
        out.stdout.contains(r#""shout":"Hello, c!""#),
        "{}",
        out.stdout
    );
}

/// A stream of requests that began with a cached request type the server
/// has changed since is cancelled before its end (the server never takes
/// it for a complete input), and says so; the next call uses the new type.
#[test]
fn a_client_stream_begun_with_a_changed_request_type_is_cancelled() {
    let (cache, addr, _server) = redeployed(changed_protos(true));
    let stream = |cache: &Path| {
        call(
            cache,
            &[
                "call",
                &addr,
                "helloworld.Greeter/SayHelloClientStream",
                r#"{"name":"a"} {"name":"b"}"#,
            ],
        )
    };
    let out = stream(cache.path());
    out.code(1)
        .stderr_has("the server has changed helloworld.HelloRequest since grpcx cached its schema");
    assert_eq!(out.stdout, "", "no answer to a cancelled stream");
    let out = stream(cache.path());
    out.ok();
    assert!(
        out.stdout.contains(r#""shout":"Hello, a, b!""#),
        "{}",
        out.stdout
    );
}

#[test]
fn describe_asks_for_every_service_in_one_round() {
    let server = python(&[]);
    let link = slow_link(&server.addr);
    crate::util::run(&["describe", &link.addr]).ok();
    let log = arrivals(&server);
    let symbols: Vec<f64> = log
        .iter()
        .filter(|(w, _)| w == "reflection file_containing_symbol")
        .map(|(_, at)| *at)
        .collect();
    // Greeter, Echo, Hello, greet and reflection itself.
    assert!(symbols.len() >= 4, "{log:?}");
    let first = symbols.iter().cloned().fold(f64::MAX, f64::min);
    let last = symbols.iter().cloned().fold(f64::MIN, f64::max);
    assert!(last - first < DELAY_MS, "a symbol request waited: {log:?}");
}

#[test]
fn a_method_gone_from_the_server_leaves_the_cache() {
    let (cache, addr, _server) = redeployed(changed_protos_with(|text| {
        text.replace("  rpc SayHello(HelloRequest) returns (HelloReply) {}\n", "")
    }));
    // The cached method went out, and the server said it has no such method.
    hello(cache.path(), &addr, &[]).code(64 + 12);
    // The entry is gone: the next call asks reflection first.
    let out = hello(cache.path(), &addr, &[]);
    out.code(1).stderr_has("method 'SayHello' not found");
    assert!(!out.stderr.contains("(cached)"), "{}", out.stderr);
}
