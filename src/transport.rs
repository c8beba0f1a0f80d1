//! Targets and channels: parses what the user typed as the server, and opens
//! the HTTP/2 channel to it over TCP, TLS or a unix socket. grpcx dials
//! itself (`dial.rs`), so that it controls TLS verification and watches the
//! server's first bytes: a TLS answer to plaintext, an early close, or
//! silence each end the connection with a message saying so, rather than a
//! hang or an h2 error.
//!
//! The rule that keeps plaintext off the network: `host:port` means plaintext
//! h2c only when the host is a loopback name or address; anywhere else it means
//! TLS. `http://` forces plaintext, `https://` forces TLS, `unix:` is a
//! plaintext unix socket; `--plaintext` and `--tls` override them all.

use std::fmt;
use std::net::IpAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Result;

use crate::cli::ConnArgs;
use crate::error::{StatusError, UsageError};
use crate::tls;

pub(crate) mod bdp;
mod client;
mod coalesce;
mod dial;
pub mod eyeballs;
mod failure;
pub mod h2;
mod http;
pub mod proxy;

pub use client::Client;
use dial::Dial;
pub(crate) use dial::Io;
pub use failure::{
    ConnectFailure, DeadlinePassed, explain, find_failure, is_sent_by_server, is_unprocessed,
    never_processed, not_ready, sent_by_server,
};
pub use http::HttpClient;

/// Where the server listens.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Address {
    /// Host name or IP address (without IPv6 brackets) and port.
    Tcp {
        host: String,
        port: u16,
    },
    Unix(PathBuf),
}

/// A parsed server address.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    pub address: Address,
    /// Whether to speak TLS.
    pub tls: bool,
    /// Whether the user chose the transport (a scheme or `unix:`), rather
    /// than the loopback rule.
    pub explicit: bool,
}

impl Target {
    /// Parses `host:port`, `http://host:port`, `https://host[:port]`,
    /// `[::1]:port`, `unix:/path`, `unix:///abs/path`. Errors are usage errors.
    pub fn parse(text: &str) -> Result<Target> {
        let usage = |why: &str| UsageError(format!("invalid target '{text}': {why}"));
        if let Some(prefix) = text.get(..5)
            && prefix.eq_ignore_ascii_case("unix:")
        {
            let path = &text[5..];
            // unix:///abs/path is the URI spelling of unix:/abs/path.
            let path = path.strip_prefix("//").unwrap_or(path);
            if path.is_empty() {
                return Err(usage("no socket path, as in unix:/run/app.sock").into());
            }
            return Ok(Target {
                address: Address::Unix(PathBuf::from(path)),
                tls: false,
                explicit: true,
            });
        }
        let (scheme, rest) = match text.split_once("://") {
            Some((scheme, rest)) => (Some(scheme.to_ascii_lowercase()), rest),
            None => (None, text),
        };
        let rest = rest.strip_suffix('/').unwrap_or(rest);
        if rest.is_empty() {
            return Err(usage("no host").into());
        }
        if rest.contains('/') {
            return Err(usage("a target has no path").into());
        }
        let (host, port) = split_host_port(rest).map_err(&usage)?;
        let (tls, default_port) = match scheme.as_deref() {
            None => (!is_loopback(&host), None),
            Some("http") => (false, Some(80)),
            Some("https") => (true, Some(443)),
            Some(other) => return Err(usage(&format!("unknown scheme '{other}'")).into()),
        };
        let port = port
            .or(default_port)
            .ok_or_else(|| usage("a port is needed, as in host:port"))?;
        Ok(Target {
            address: Address::Tcp { host, port },
            tls,
            explicit: scheme.is_some(),
        })
    }

    /// The default `:authority`: `host:port` (IPv6 in brackets), or
    /// `localhost` for a unix socket, as gRPC clients send.
    pub fn authority(&self) -> String {
        match &self.address {
            Address::Tcp { host, port } if host.contains(':') => format!("[{host}]:{port}"),
            Address::Tcp { host, port } => format!("{host}:{port}"),
            Address::Unix(_) => "localhost".to_string(),
        }
    }

    /// The host a certificate is checked against, unless --authority says.
    fn host(&self) -> &str {
        match &self.address {
            Address::Tcp { host, .. } => host,
            Address::Unix(_) => "localhost",
        }
    }

    /// True for text that looks like a target rather than a service name:
    /// it has a `:` or a scheme.
    pub fn looks_like_target(text: &str) -> bool {
        text.contains(':')
    }
}

impl fmt::Display for Target {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.address {
            Address::Unix(path) => write!(f, "unix:{}", path.display()),
            Address::Tcp { .. } => f.write_str(&self.authority()),
        }
    }
}

/// Splits `host:port` or `[v6]:port`; the port may be missing.
fn split_host_port(text: &str) -> Result<(String, Option<u16>), &'static str> {
    let (host, port) = if let Some(rest) = text.strip_prefix('[') {
        let (host, after) = rest.split_once(']').ok_or("unclosed '['")?;
        match after {
            "" => (host, None),
            _ => (host, Some(after.strip_prefix(':').ok_or("junk after ']'")?)),
        }
    } else {
        match text.rsplit_once(':') {
            Some((host, _)) if host.contains(':') => {
                return Err("an IPv6 address needs brackets, as in [::1]:50051");
            }
            Some((host, port)) => (host, Some(port)),
            None => (text, None),
        }
    };
    if host.is_empty() {
        return Err("no host");
    }
    let port = port.map(str::parse::<u16>).transpose();
    let port = port.map_err(|_| "the port is not a number from 0 to 65535")?;
    Ok((host.to_string(), port))
}

/// `localhost`, `*.localhost`, 127.0.0.0/8 and ::1.
pub fn is_loopback(host: &str) -> bool {
    let host = host.to_ascii_lowercase();
    if host == "localhost" || host.ends_with(".localhost") {
        return true;
    }
    host.parse::<IpAddr>().is_ok_and(|ip| ip.is_loopback())
}

/// Whether the connection speaks TLS: the flags, then options that only make
/// sense with TLS, then the target's own rule.
pub fn uses_tls(target: &Target, args: &ConnArgs) -> Result<bool> {
    let tls_option = [
        (args.cacert.is_some(), "--cacert"),
        (args.cert.is_some(), "--cert"),
        (args.insecure, "--insecure"),
    ]
    .into_iter()
    .find_map(|(given, flag)| given.then_some(flag));
    let plaintext_asked = args.plaintext || (target.explicit && !target.tls && !args.tls);
    match tls_option {
        Some(flag) if plaintext_asked => {
            let why = if args.plaintext {
                "--plaintext".to_string()
            } else {
                format!("the target {target}")
            };
            Err(UsageError(format!("{flag} needs TLS, but {why} asks for plaintext")).into())
        }
        Some(_) => Ok(true),
        None => Ok(args.tls || (!args.plaintext && target.tls)),
    }
}

/// "connected to TARGET (TLS)" or "(plaintext)", and the route the
/// connection took, for `-v`.
pub fn describe(target: &Target, args: &ConnArgs, route: Option<&str>) -> String {
    let how = match uses_tls(target, args) {
        Ok(true) if args.insecure => "TLS, not verified",
        Ok(true) => "TLS",
        _ => "plaintext",
    };
    match route {
        Some(route) => format!("connected to {target} ({how}) {route}"),
        None => format!("connected to {target} ({how})"),
    }
}

/// What dialing the target needs, checked before any dial: the dialer, the
/// scheme and the `:authority`. gRPC offers h2 only; the HTTP client (`http`)
/// lets ALPN choose between h2 and http/1.1, and over plaintext speaks
/// HTTP/1.1 unless `--http2-prior-knowledge`.
fn dialer(
    target: &Target,
    args: &ConnArgs,
    http: bool,
) -> Result<(Arc<Dial>, ::http::uri::Scheme, ::http::uri::Authority)> {
    let use_tls = uses_tls(target, args)?;
    let authority = args.authority.clone().unwrap_or_else(|| target.authority());
    let authority = ::http::uri::Authority::try_from(authority.as_str())
        .map_err(|_| UsageError(format!("invalid authority '{authority}'")))?;
    let tls = match use_tls {
        false => None,
        true => {
            if args.insecure {
                eprintln!("grpcx: warning: --insecure: the server's certificate is not verified");
            }
            let mut config = tls::client_config(args)?;
            if http {
                let alpn = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
                Arc::make_mut(&mut config).alpn_protocols = alpn;
            }
            let name = tls::server_name(args.authority.as_deref(), target.host())?;
            Some((tokio_rustls::TlsConnector::from(config), name))
        }
    };
    let dial = Arc::new(Dial {
        target: target.clone(),
        tls,
        client_cert: args.cert.is_some(),
        timeout: Duration::from_secs_f64(args.connect_timeout),
        http1: http && (use_tls || !args.http2_prior_knowledge),
        proxy: proxy::choose(target, args.proxy.as_deref())?,
        // HTTP/2 pings (HTTP/1.1 has none).
        keepalive: args.keepalive.map(Duration::from_secs_f64),
    });
    let scheme = match use_tls {
        true => ::http::uri::Scheme::HTTPS,
        false => ::http::uri::Scheme::HTTP,
    };
    Ok((dial, scheme, authority))
}

/// Opens a channel to the target and waits until it is connected, so that a
/// refused connection or a failed TLS handshake fails here, fast, naming the
/// cause.
pub async fn connect(target: &Target, args: &ConnArgs) -> Result<Client> {
    let (dial, scheme, authority) = dialer(target, args, false)?;
    let first = dial
        .connect()
        .await
        .map_err(|err| dial_failed(target, &err))?;
    Ok(Client::new(dial, scheme, authority, first))
}

/// A dial's io error as the status the command exits with: the failure the
/// dialer saw, else the innermost cause, which names what actually went wrong.
fn dial_failed(target: &Target, err: &std::io::Error) -> anyhow::Error {
    let why = match find_failure(err) {
        Some(failure) => failure.to_string(),
        None => {
            let chain = std::iter::successors(Some(err as &dyn std::error::Error), |e| e.source());
            let inner = chain.last().expect("the error itself");
            ConnectFailure::new(target, &inner.to_string()).to_string()
        }
    };
    StatusError(tonic::Status::unavailable(why)).into()
}

/// Runs a command's work under `--max-time`: past the deadline the work is
/// dropped (which cancels any call in flight) and the command ends with
/// DeadlineExceeded.
pub async fn within<T>(
    max_time: Option<Duration>,
    work: impl Future<Output = Result<T>>,
) -> Result<T> {
    let Some(limit) = max_time else {
        return work.await;
    };
    tokio::time::timeout(limit, work)
        .await
        .unwrap_or_else(|_| Err(StatusError(DeadlinePassed(limit).status()).into()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(text: &str) -> Target {
        Target::parse(text).unwrap()
    }

    fn port(target: &Target) -> u16 {
        match target.address {
            Address::Tcp { port, .. } => port,
            Address::Unix(_) => panic!("not tcp"),
        }
    }

    #[test]
    fn loopback_is_plaintext_and_the_rest_is_tls() {
        assert!(!t("localhost:50051").tls);
        assert!(!t("127.0.0.2:1").tls);
        assert!(!t("[::1]:1").tls);
        assert!(t("example.com:443").tls);
        assert!(t("10.0.0.1:80").tls);
        assert!(!t("http://example.com:80").tls);
        assert!(t("https://localhost:1").tls);
    }

    #[test]
    fn ports_and_brackets() {
        assert_eq!(port(&t("https://example.com")), 443);
        assert_eq!(t("[::1]:7").host(), "::1");
        assert_eq!(t("[::1]:7").authority(), "[::1]:7");
        assert_eq!(port(&t("http://localhost:8080/")), 8080);
    }

    #[test]
    fn unix_sockets_in_both_spellings() {
        for text in ["unix:/run/a.sock", "unix:///run/a.sock", "UNIX:/run/a.sock"] {
            let target = t(text);
            assert_eq!(
                target.address,
                Address::Unix("/run/a.sock".into()),
                "{text}"
            );
            assert!(!target.tls);
            assert_eq!(target.to_string(), "unix:/run/a.sock");
            assert_eq!(target.authority(), "localhost");
        }
        assert_eq!(t("unix:rel.sock").address, Address::Unix("rel.sock".into()));
    }

    #[test]
    fn flags_override_the_rule() {
        let args = |f: fn(&mut ConnArgs)| {
            let mut args = ConnArgs::default();
            f(&mut args);
            args
        };
        let local = t("localhost:1");
        let remote = t("example.com:1");
        assert!(!uses_tls(&local, &args(|_| {})).unwrap());
        assert!(uses_tls(&local, &args(|a| a.tls = true)).unwrap());
        assert!(!uses_tls(&remote, &args(|a| a.plaintext = true)).unwrap());
        assert!(uses_tls(&local, &args(|a| a.insecure = true)).unwrap());
        assert!(uses_tls(&t("unix:/s"), &args(|a| a.tls = true)).unwrap());
        let err = uses_tls(&t("http://h:1"), &args(|a| a.cacert = Some("ca".into()))).unwrap_err();
        assert!(err.is::<UsageError>(), "{err}");
        let both = args(|a| (a.plaintext, a.insecure) = (true, true));
        assert!(uses_tls(&remote, &both).is_err());
    }

    #[test]
    fn bad_targets_are_usage_errors() {
        for bad in [
            "",
            "localhost",
            "host:99999",
            "::1:5",
            "ftp://x:1",
            "h:1/path",
            ":5",
            "unix:",
            "unix://",
            "  \u{1f300}",
        ] {
            let err = Target::parse(bad).unwrap_err();
            assert!(err.is::<UsageError>(), "{bad}: {err}");
        }
    }

    proptest::proptest! {
        /// Any text is a target or a usage error, never a panic.
        #[test]
        fn any_text_parses_or_is_a_usage_error(text in "\\PC{0,40}") {
            if let Err(err) = Target::parse(&text) {
                proptest::prop_assert!(err.is::<UsageError>());
            }
        }

        /// What a target prints as its authority parses back to itself.
        #[test]
        fn authorities_round_trip(host in "[a-z][a-z0-9.-]{0,20}|[0-9]{1,3}(\\.[0-9]{1,3}){3}|::1", port: u16) {
            let address = Address::Tcp { host: host.clone(), port };
            let written = Target { address: address.clone(), tls: true, explicit: true };
            let target = Target::parse(&format!("https://{}", written.authority())).unwrap();
            proptest::prop_assert_eq!(target.address, address);
        }
    }
}
