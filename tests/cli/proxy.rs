//! HTTP CONNECT proxies, through a real tinyproxy: `--proxy`, the
//! environment variables and their exemptions, credentials, and the
//! one-line failures (a dead proxy, 403, 407), TLS through a tunnel; and
//! the `-v` line naming the address that won the dial.

use std::io::Read;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::util::{Run, Server, bench_all_ok, grpcx};

/// A tinyproxy on a free port of 127.0.0.1, with extra config lines;
/// killed on drop.
struct Tinyproxy {
    child: Child,
    port: u16,
    dir: tempfile::TempDir,
}

impl Tinyproxy {
    fn start(extra: &str) -> Tinyproxy {
        let dir = tempfile::tempdir().unwrap();
        let port = free_port();
        let log = dir.path().join("log");
        let config = format!(
            "Port {port}\nListen 127.0.0.1\nTimeout 10\nAllow 127.0.0.1\n\
             LogLevel Connect\nLogFile \"{}\"\nMaxClients 20\n{extra}\n",
            log.display()
        );
        let path = dir.path().join("tinyproxy.conf");
        std::fs::write(&path, config).unwrap();
        let child = Command::new("tinyproxy")
            .arg("-d")
            .arg("-c")
            .arg(&path)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("tinyproxy is installed (.ci/run installs it)");
        let deadline = Instant::now() + Duration::from_secs(10);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(Instant::now() < deadline, "tinyproxy did not start");
            std::thread::sleep(Duration::from_millis(20));
        }
        Tinyproxy { child, port, dir }
    }

    fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    fn address(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }

    /// The proxy's log: one line per CONNECT it served.
    fn log(&self) -> String {
        let mut text = String::new();
        if let Ok(mut file) = std::fs::File::open(self.dir.path().join("log")) {
            file.read_to_string(&mut text).unwrap();
        }
        text
    }
}

impl Drop for Tinyproxy {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn port_of(server: &Server) -> &str {
    server.addr.rsplit(':').next().unwrap()
}

/// `grpcx call TARGET SayHello` with extra arguments and environment.
fn hello(target: &str, extra: &[&str], env: &[(&str, &str)]) -> Run {
    let mut cmd = grpcx();
    cmd.args([
        "call",
        target,
        "helloworld.Greeter/SayHello",
        r#"{"name":"proxy"}"#,
    ])
    .args(extra);
    for (key, value) in env {
        cmd.env(key, value);
    }
    let start = Instant::now();
    let output = cmd.output().unwrap();
    Run {
        code: output.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
        elapsed: start.elapsed(),
    }
}

/// A failure: exit 78, fast, one line that names the proxy.
#[track_caller]
fn fails_naming(out: &Run, proxy: &str, text: &str) {
    out.code(78).stderr_has(proxy).stderr_has(text);
    assert_eq!(out.stderr.lines().count(), 1, "{}", out.stderr);
    assert!(out.stdout.is_empty(), "{}", out.stdout);
    assert!(
        out.elapsed < Duration::from_secs(2),
        "took {:?}",
        out.elapsed
    );
}

#[test]
fn the_flag_sends_even_loopback_through_the_proxy() {
    let server = Server::bundled();
    let proxy = Tinyproxy::start("");
    let out = hello(&server.addr, &["--proxy", &proxy.url(), "-v"], &[]);
    out.ok()
        .stderr_has(&format!("via proxy {}", proxy.address()));
    assert!(out.stdout.contains("Hello, proxy!"), "{}", out.stdout);
    let target = format!("127.0.0.1:{}", port_of(&server));
    assert!(
        proxy.log().contains(&target),
        "the proxy did not see {target}:\n{}",
        proxy.log()
    );
}

/// bench opens each of its two connections through the proxy, and its
/// calls go through the tunnels.
#[test]
fn bench_connects_each_connection_through_the_proxy() {
    let server = Server::bundled();
    let proxy = Tinyproxy::start("");
    bench_all_ok(&server.addr, &["--proxy", &proxy.url()]);
    let target = format!("127.0.0.1:{}", port_of(&server));
    let log = proxy.log();
    let tunnels = log
        .lines()
        .filter(|line| line.contains("CONNECT") && line.contains(&target))
        .count();
    assert_eq!(tunnels, 2, "{log}");
}

#[test]
fn the_environment_carries_other_hosts_but_never_loopback() {
    let server = Server::bundled();
    let proxy = Tinyproxy::start("");
    let env = [("HTTPS_PROXY", proxy.url())];
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    // Loopback as written: straight to the server, whatever the variable says.
    let out = hello(&server.addr, &["-v"], &env);
    out.ok();
    assert!(!out.stderr.contains("via proxy"), "{}", out.stderr);
    // `127.1` is not loopback as written (as in Go, it is no IP address),
    // so it takes the proxy, whose resolver reads it as 127.0.0.1;
    // plaintext is carried too.
    let target = format!("http://127.1:{}", port_of(&server));
    let out = hello(&target, &["-v"], &env);
    out.ok()
        .stderr_has(&format!("via proxy {}", proxy.address()));
    assert!(proxy.log().contains("127.1:"), "{}", proxy.log());
    // ALL_PROXY is the fallback, and lowercase https_proxy counts.
    for var in ["ALL_PROXY", "https_proxy"] {
        let out = hello(&target, &["-v"], &[(var, &proxy.url())]);
        out.ok().stderr_has("via proxy");
    }
    // NO_PROXY exempts it: by suffix, and `*` for all.
    for no in ["127.1", "*", "example.com, 127.1"] {
        let out = hello(&target, &["-v"], &[env[0], ("NO_PROXY", no)]);
        out.ok();
        assert!(
            !out.stderr.contains("via proxy"),
            "NO_PROXY={no}: {}",
            out.stderr
        );
    }
}

#[test]
fn a_name_goes_to_the_proxy_unresolved() {
    let proxy = Tinyproxy::start("");
    // No resolver knows this name; the proxy is asked for it by name and
    // fails to connect, which grpcx reports naming the proxy.
    let out = hello(
        "https://grpcx-no-such-host.invalid:443",
        &[],
        &[("HTTPS_PROXY", &proxy.url())],
    );
    fails_naming(&out, &proxy.address(), "grpcx-no-such-host.invalid:443");
    assert!(
        proxy.log().contains("grpcx-no-such-host.invalid"),
        "{}",
        proxy.log()
    );
}

#[test]
fn a_dead_proxy_fails_fast_naming_it() {
    let server = Server::bundled();
    let dead = format!("127.0.0.1:{}", free_port());
    let out = hello(&server.addr, &["--proxy", &format!("http://{dead}")], &[]);
    fails_naming(&out, &dead, "cannot reach the proxy");
}

#[test]
fn a_proxy_refusing_connect_is_403() {
    let server = Server::bundled();
    // Only port 443 may be tunnelled to; the server's port is refused.
    let proxy = Tinyproxy::start("ConnectPort 443");
    let out = hello(&server.addr, &["--proxy", &proxy.url()], &[]);
    fails_naming(&out, &proxy.address(), "refused to CONNECT");
    out.stderr_has("403");
}

#[test]
fn credentials_from_the_url_are_sent_and_masked() {
    let server = Server::bundled();
    let proxy = Tinyproxy::start("BasicAuth grpcx s3cr-t");
    // Without credentials: 407 and the hint.
    let out = hello(&server.addr, &["--proxy", &proxy.url()], &[]);
    fails_naming(&out, &proxy.address(), "407");
    out.stderr_has("http://USER:PASS@");
    // Wrong ones: 407, saying the credentials were rejected.
    let wrong = format!("http://grpcx:nope@{}", proxy.address());
    let out = hello(&server.addr, &["--proxy", &wrong], &[]);
    fails_naming(&out, &proxy.address(), "rejected the credentials");
    // The right ones, percent-encoded in the URL (%2D is `-`): through,
    // and -v never shows the password.
    let right = format!("http://grpcx:s3cr%2Dt@{}", proxy.address());
    let out = hello(&server.addr, &["--proxy", &right, "-v"], &[]);
    out.ok()
        .stderr_has(&format!("via proxy {}", proxy.address()));
    assert!(!out.stderr.contains("s3cr"), "{}", out.stderr);
}

#[test]
fn a_bad_proxy_url_is_a_usage_error() {
    let out = hello("127.0.0.1:1", &["--proxy", "socks5://u:secret@p:1"], &[]);
    out.code(2);
    assert!(!out.stderr.contains("secret"), "{}", out.stderr);
}

/// Through a proxy, TLS verifies the target's name, not the proxy's: the
/// certificate is for `localhost` only, the proxy is 127.0.0.1.
#[test]
fn tls_through_the_proxy_checks_the_target_name() {
    use rcgen::{BasicConstraints, CertificateParams, CertifiedIssuer, IsCa, KeyPair};
    let dir = tempfile::tempdir().unwrap();
    let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
    params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    let ca = CertifiedIssuer::self_signed(params, KeyPair::generate().unwrap()).unwrap();
    let key = KeyPair::generate().unwrap();
    let cert = CertificateParams::new(vec!["localhost".to_string()])
        .unwrap()
        .signed_by(&key, &ca)
        .unwrap();
    let path = |name: &str| dir.path().join(name).display().to_string();
    std::fs::write(path("ca.pem"), ca.pem()).unwrap();
    std::fs::write(path("server.pem"), cert.pem()).unwrap();
    std::fs::write(path("server.key"), key.serialize_pem()).unwrap();
    let server = Server::bundled_with(&[
        "--tls-cert",
        &path("server.pem"),
        "--tls-key",
        &path("server.key"),
    ]);
    let proxy = Tinyproxy::start("");
    let target = format!("https://localhost:{}", port_of(&server));
    let out = hello(
        &target,
        &["--proxy", &proxy.url(), "--cacert", &path("ca.pem"), "-v"],
        &[],
    );
    out.ok().stderr_has("(TLS) via proxy");
    assert!(out.stdout.contains("Hello, proxy!"), "{}", out.stdout);
    // A name the certificate lacks fails, though the proxy reaches it.
    let target = format!("https://127.0.0.1:{}", port_of(&server));
    let out = hello(
        &target,
        &["--proxy", &proxy.url(), "--cacert", &path("ca.pem")],
        &[],
    );
    out.code(78);
}

/// `-v` names the address that won the connection race.
#[test]
fn verbose_names_the_address_that_won() {
    let server = Server::bundled();
    let target = format!("localhost:{}", port_of(&server));
    let out = hello(&target, &["-v"], &[]);
    out.ok()
        .stderr_has(&format!("at 127.0.0.1:{}", port_of(&server)));
}
