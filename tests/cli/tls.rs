//! TLS and mutual TLS against the bundled server and grpcio, with a CA and
//! certificates made fresh for each test (rcgen): what is trusted, what is
//! refused, how fast, and what the refusal says.

use std::path::PathBuf;
use std::time::Duration;

use rcgen::{
    BasicConstraints, CertificateParams, CertifiedIssuer, DnType, IsCa, KeyPair, date_time_ymd,
};
use serde_json::json;

use crate::util::{Server, bench_all_ok, run};

/// A test PKI in a temporary directory: a CA, server certificates, and a
/// client certificate, all as PEM files.
struct Pki {
    dir: tempfile::TempDir,
}

impl Pki {
    fn new() -> Pki {
        let pki = Pki {
            dir: tempfile::tempdir().unwrap(),
        };
        let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        params
            .distinguished_name
            .push(DnType::CommonName, "grpcx test CA");
        let ca = CertifiedIssuer::self_signed(params, KeyPair::generate().unwrap()).unwrap();
        pki.write("ca.pem", &ca.pem());
        let issue = |name: &str, sans: &[&str], expired: bool| {
            let mut params =
                CertificateParams::new(sans.iter().map(|s| s.to_string()).collect::<Vec<_>>())
                    .unwrap();
            params.distinguished_name.push(DnType::CommonName, name);
            if expired {
                params.not_before = date_time_ymd(2001, 1, 1);
                params.not_after = date_time_ymd(2002, 1, 1);
            }
            let key = KeyPair::generate().unwrap();
            let cert = params.signed_by(&key, &ca).unwrap();
            pki.write(&format!("{name}.pem"), &cert.pem());
            pki.write(&format!("{name}.key"), &key.serialize_pem());
        };
        issue("server", &["localhost", "127.0.0.1"], false);
        issue("other", &["other.test"], false);
        issue("expired", &["localhost", "127.0.0.1"], true);
        issue("client", &["grpcx-client"], false);
        pki
    }

    fn write(&self, name: &str, text: &str) {
        std::fs::write(self.dir.path().join(name), text).unwrap();
    }

    fn path(&self, name: &str) -> String {
        let path: PathBuf = self.dir.path().join(name);
        path.display().to_string()
    }

    /// `--tls-cert NAME.pem --tls-key NAME.key`, plus `--client-ca` for mTLS.
    fn server_args(&self, name: &str, mtls: bool) -> Vec<String> {
        let mut args = vec![
            "--tls-cert".to_string(),
            self.path(&format!("{name}.pem")),
            "--tls-key".to_string(),
            self.path(&format!("{name}.key")),
        ];
        if mtls {
            args.extend(["--client-ca".to_string(), self.path("ca.pem")]);
        }
        args
    }

    fn client_args(&self) -> Vec<String> {
        vec![
            "--cert".into(),
            self.path("client.pem"),
            "--key".into(),
            self.path("client.key"),
        ]
    }
}

fn bundled(args: &[String]) -> Server {
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    Server::bundled_with(&args)
}

fn python(args: &[String]) -> Server {
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    Server::python_with(&args)
}

fn node(args: &[String]) -> Server {
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    Server::node_with(&args)
}

fn port(server: &Server) -> &str {
    server.addr.rsplit(':').next().unwrap()
}

/// `grpcx call TARGET helloworld.Greeter/SayHello {"name":"tls"}` plus flags.
fn say_hello(target: &str, extra: &[String]) -> crate::util::Run {
    let mut args = vec![
        "call",
        target,
        "helloworld.Greeter/SayHello",
        r#"{"name":"tls"}"#,
    ];
    args.extend(extra.iter().map(String::as_str));
    run(&args)
}

const HELLO: &str = "Hello, tls!";

/// A refusal: exit 78, one ERROR line naming the cause, well under 2 s.
#[track_caller]
fn refused(out: &crate::util::Run, cause: &str) {
    out.code(78).stderr_has(cause);
    assert!(out.stdout.is_empty(), "{}", out.stdout);
    assert!(
        out.elapsed < Duration::from_secs(2),
        "took {:?}",
        out.elapsed
    );
}

/// The checks every TLS server must pass, over reflection.
fn custom_ca_and_refusals(server: &Server, pki: &Pki) {
    let https = format!("https://127.0.0.1:{}", port(server));
    let cacert = vec!["--cacert".to_string(), pki.path("ca.pem")];

    let out = say_hello(&https, &cacert);
    assert_eq!(out.ok().json_lines(), [json!({"message": HELLO})]);
    // localhost is plaintext by default; --tls (or a TLS option) says otherwise.
    let localhost = format!("localhost:{}", port(server));
    let out = say_hello(&localhost, &[cacert.clone(), vec!["--tls".into()]].concat());
    assert_eq!(out.ok().json_lines(), [json!({"message": HELLO})]);
    let out = say_hello(&localhost, &cacert);
    assert_eq!(out.ok().json_lines(), [json!({"message": HELLO})]);

    // The system roots do not know our CA.
    refused(&say_hello(&https, &[]), "signed by an unknown issuer");

    // --insecure skips verification, and says so once.
    let out = say_hello(&https, &["--insecure".into()]);
    assert_eq!(out.ok().json_lines(), [json!({"message": HELLO})]);
    assert_eq!(
        out.stderr
            .lines()
            .filter(|l| l.contains("--insecure"))
            .count(),
        1,
        "{}",
        out.stderr
    );

    // Plaintext spoken to a TLS port.
    let out = say_hello(&format!("http://127.0.0.1:{}", port(server)), &[]);
    refused(&out, "cannot connect to 127.0.0.1:");
    assert!(
        out.stderr.contains("speaks TLS") || out.stderr.contains("TLS port"),
        "{}",
        out.stderr
    );
}

#[test]
fn bundled_server_with_a_custom_ca() {
    let pki = Pki::new();
    custom_ca_and_refusals(&bundled(&pki.server_args("server", false)), &pki);
}

#[test]
fn grpcio_with_a_custom_ca() {
    let pki = Pki::new();
    custom_ca_and_refusals(&python(&pki.server_args("server", false)), &pki);
}

#[test]
fn grpc_js_with_a_custom_ca() {
    let pki = Pki::new();
    custom_ca_and_refusals(&node(&pki.server_args("server", false)), &pki);
}

#[test]
fn tls_spoken_to_a_plaintext_port() {
    let server = Server::bundled();
    let out = say_hello(&format!("https://127.0.0.1:{}", port(&server)), &[]);
    refused(&out, "seems to speak plaintext");
    let out = say_hello(&server.addr, &["--tls".into()]);
    refused(&out, "use http://HOST:PORT or --plaintext");
}

fn mutual_tls(server: &Server, pki: &Pki) {
    let https = format!("https://127.0.0.1:{}", port(server));
    let cacert = vec!["--cacert".to_string(), pki.path("ca.pem")];

    let out = say_hello(&https, &[cacert.clone(), pki.client_args()].concat());
    assert_eq!(out.ok().json_lines(), [json!({"message": HELLO})]);

    let out = say_hello(&https, &cacert);
    refused(&out, "client certificate");
}

/// bench speaks over the same TLS connection: every call of a
/// run with client certificates succeeds, on each of its connections.
#[test]
fn bench_over_mutual_tls() {
    let pki = Pki::new();
    let server = bundled(&pki.server_args("server", true));
    let https = format!("https://localhost:{}", port(&server));
    let cacert = pki.path("ca.pem");
    let client = pki.client_args();
    let mut extra = vec!["--cacert", &cacert];
    extra.extend(client.iter().map(String::as_str));
    bench_all_ok(&https, &extra);
}

#[test]
fn bundled_server_with_mutual_tls() {
    let pki = Pki::new();
    mutual_tls(&bundled(&pki.server_args("server", true)), &pki);
}

#[test]
fn grpcio_with_mutual_tls() {
    let pki = Pki::new();
    mutual_tls(&python(&pki.server_args("server", true)), &pki);
}

#[test]
fn grpc_js_with_mutual_tls() {
    let pki = Pki::new();
    mutual_tls(&node(&pki.server_args("server", true)), &pki);
}

#[test]
fn authority_overrides_the_checked_name() {
    let pki = Pki::new();
    for server in [
        bundled(&pki.server_args("other", false)),
        python(&pki.server_args("other", false)),
    ] {
        let https = format!("https://127.0.0.1:{}", port(&server));
        let cacert = vec!["--cacert".to_string(), pki.path("ca.pem")];
        let out = say_hello(&https, &cacert);
        refused(&out, "not valid for the name '127.0.0.1'");
        out.stderr_has("other.test");

        let out = say_hello(
            &https,
            &[cacert, vec!["--authority".into(), "other.test".into()]].concat(),
        );
        assert_eq!(out.ok().json_lines(), [json!({"message": HELLO})]);
    }
}

#[test]
fn an_expired_certificate_is_refused() {
    let pki = Pki::new();
    let server = bundled(&pki.server_args("expired", false));
    let https = format!("https://127.0.0.1:{}", port(&server));
    let out = say_hello(&https, &["--cacert".into(), pki.path("ca.pem")]);
    refused(&out, "certificate has expired");
}

#[test]
fn tls_flags_with_plaintext_are_usage_errors() {
    let out = say_hello("http://127.0.0.1:1", &["--cacert".into(), "ca.pem".into()]);
    out.code(2).stderr_has("--cacert needs TLS");
    let out = say_hello("localhost:1", &["--plaintext".into(), "--insecure".into()]);
    out.code(2).stderr_has("--insecure needs TLS");
}

#[test]
fn unreadable_pem_files_are_local_errors() {
    let pki = Pki::new();
    let out = say_hello(
        "https://127.0.0.1:1",
        &["--cacert".into(), pki.path("missing.pem")],
    );
    out.code(1).stderr_has("missing.pem");
    let out = say_hello(
        "https://127.0.0.1:1",
        &["--cacert".into(), pki.path("client.key")],
    );
    out.code(1).stderr_has("holds no PEM certificate");
}
