//! HTTP CONNECT proxies: which proxy a target goes through (`--proxy`, or
//! the environment as grpc-go reads it), and the tunnel itself. The
//! connector dials the tunnel, then hands the stream to TLS as if it were
//! the server's socket, so TLS verifies the target's name, never the
//! proxy's.
//!
//! The environment: `HTTPS_PROXY`/`https_proxy` carries every target,
//! plaintext ones too (grpc-go asks for an https URL), `ALL_PROXY` is the
//! fallback, `NO_PROXY`/`no_proxy` exempts hosts. hyper-util's matcher reads
//! them with curl's rules. Loopback and unix targets never take an
//! environment proxy; loopback is judged from the target as written, and a
//! name goes to the proxy unresolved.

use std::time::Duration;

use anyhow::Result;
use hyper_util::client::proxy::matcher::{Intercept, Matcher};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use super::{Address, Target, eyeballs, is_loopback};
use crate::error::UsageError;

/// A proxy to tunnel through.
#[derive(Clone)]
pub struct Proxy {
    host: String,
    port: u16,
    /// `Basic …`, from the URL's percent-decoded user and password.
    auth: Option<http::HeaderValue>,
    /// Where the proxy came from, for messages: `--proxy` or a variable.
    source: &'static str,
}

impl std::fmt::Debug for Proxy {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never the credentials.
        write!(f, "Proxy({})", self.address())
    }
}

/// The proxy for `target`: `--proxy` when given (loopback included), else
/// the environment's, else none.
pub fn choose(target: &Target, flag: Option<&str>) -> Result<Option<Proxy>> {
    if let Some(url) = flag {
        return parse_flag(url).map(Some);
    }
    let Address::Tcp { host, .. } = &target.address else {
        return Ok(None);
    };
    if is_loopback(host) {
        return Ok(None);
    }
    let uri: http::Uri = format!("https://{}/", target.authority())
        .parse()
        .map_err(|_| UsageError(format!("invalid target '{target}'")))?;
    match Matcher::from_env().intercept(&uri) {
        None => Ok(None),
        Some(intercept) => from_intercept(&intercept, "HTTPS_PROXY").map(Some),
    }
}

/// Parses `http://[user:pass@]host[:port]`.
fn parse_flag(url: &str) -> Result<Proxy> {
    let bad = |why: &str| UsageError(format!("invalid --proxy '{}': {why}", mask(url)));
    let uri: http::Uri = url
        .parse()
        .map_err(|_| bad("expected http://[USER:PASS@]HOST:PORT"))?;
    if let Some(other) = uri.scheme_str().filter(|s| !s.eq_ignore_ascii_case("http")) {
        return Err(bad(&format!(
            "the scheme '{other}' is not supported; only http:// proxies are"
        ))
        .into());
    }
    if uri.host().is_none_or(str::is_empty) {
        return Err(bad("no host").into());
    }
    let intercept = Matcher::builder()
        .all(url.to_string())
        .build()
        .intercept(&http::Uri::from_static("https://target/"))
        .ok_or_else(|| bad("expected http://[USER:PASS@]HOST:PORT"))?;
    from_intercept(&intercept, "--proxy")
}

fn from_intercept(intercept: &Intercept, source: &'static str) -> Result<Proxy> {
    let uri = intercept.uri();
    if uri.scheme_str() != Some("http") {
        return Err(UsageError(format!(
            "the proxy {} ({source}) is not an http:// proxy; grpcx speaks HTTP CONNECT only",
            uri.authority().map_or("", |a| a.as_str())
        ))
        .into());
    }
    let host = uri.host().unwrap_or_default();
    let host = host
        .strip_prefix('[')
        .and_then(|h| h.strip_suffix(']'))
        .unwrap_or(host);
    Ok(Proxy {
        host: host.to_string(),
        port: uri.port_u16().unwrap_or(80),
        auth: intercept.basic_auth().cloned(),
        source,
    })
}

/// The URL with any password replaced by `***`.
fn mask(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme), Some(at)) if at > scheme => {
            let userinfo = &url[scheme + 3..at];
            let user = userinfo.split(':').next().unwrap_or("");
            format!("{}{user}:***{}", &url[..scheme + 3], &url[at..])
        }
        _ => url.to_string(),
    }
}

impl Proxy {
    /// `host:port`, IPv6 in brackets.
    pub fn address(&self) -> String {
        if self.host.contains(':') {
            format!("[{}]:{}", self.host, self.port)
        } else {
            format!("{}:{}", self.host, self.port)
        }
    }

    /// Connects to the proxy and asks it to CONNECT to `authority`
    /// (`host:port` as the user wrote it, so the proxy resolves names).
    /// The error is a sentence naming the proxy.
    pub async fn tunnel(&self, authority: &str, timeout: Duration) -> Result<TcpStream, String> {
        let proxy = self.address();
        let work = async {
            let (mut stream, _) =
                eyeballs::connect(&self.host, self.port)
                    .await
                    .map_err(|err| {
                        format!("cannot reach the proxy {proxy} ({}): {err}", self.source)
                    })?;
            stream.set_nodelay(true).ok();
            let mut request =
                format!("CONNECT {authority} HTTP/1.1\r\nHost: {authority}\r\n").into_bytes();
            if let Some(auth) = &self.auth {
                request.extend_from_slice(b"Proxy-Authorization: ");
                request.extend_from_slice(auth.as_bytes());
                request.extend_from_slice(b"\r\n");
            }
            request.extend_from_slice(b"\r\n");
            let lost = |err: std::io::Error| format!("the proxy {proxy} closed the tunnel: {err}");
            stream.write_all(&request).await.map_err(lost)?;
            let head = read_head(&mut stream).await.map_err(lost)?;
            self.check(&head, authority)?;
            Ok(stream)
        };
        match tokio::time::timeout(timeout, work).await {
            Ok(result) => result,
            Err(_) => Err(format!(
                "the proxy {proxy} did not answer CONNECT within {} s",
                timeout.as_secs_f64()
            )),
        }
    }

    /// The proxy's answer: 200 opens the tunnel; anything else is a
    /// sentence saying what the user can do.
    fn check(&self, head: &[u8], authority: &str) -> Result<(), String> {
        let proxy = self.address();
        let mut headers = [httparse::EMPTY_HEADER; 64];
        let mut response = httparse::Response::new(&mut headers);
        let Ok(httparse::Status::Complete(_)) = response.parse(head) else {
            return Err(format!(
                "the proxy {proxy} answered CONNECT with something that is not HTTP"
            ));
        };
        let (code, reason) = (response.code.unwrap_or(0), response.reason.unwrap_or(""));
        match code {
            200..=299 => Ok(()),
            // tinyproxy answers wrong credentials with 401.
            401 | 407 if self.auth.is_some() => Err(format!(
                "the proxy {proxy} rejected the credentials in the proxy URL \
                 ({code} {reason})"
            )),
            401 | 407 => Err(format!(
                "the proxy {proxy} wants credentials ({code} {reason}); put them in the \
                 proxy URL, as in http://USER:PASS@{proxy}"
            )),
            _ => Err(format!(
                "the proxy {proxy} refused to CONNECT to {authority} ({code} {reason})"
            )),
        }
    }
}

/// Reads the proxy's response head, up to and including the blank line,
/// one byte at a time so that nothing the server sends after it is taken.
async fn read_head(stream: &mut TcpStream) -> std::io::Result<Vec<u8>> {
    let mut head = Vec::with_capacity(256);
    while !head.ends_with(b"\r\n\r\n") {
        if head.len() > 16 * 1024 {
            return Err(std::io::Error::other("the response head is over 16 KiB"));
        }
        let byte = stream.read_u8().await?;
        head.push(byte);
    }
    Ok(head)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_flag_takes_credentials_percent_decoded() {
        let proxy = parse_flag("http://us%40er:p%3Ass@proxy.example:3128").unwrap();
        assert_eq!(proxy.address(), "proxy.example:3128");
        // base64("us@er:p:ss")
        assert_eq!(proxy.auth.unwrap(), "Basic dXNAZXI6cDpzcw==");
        let proxy = parse_flag("http://[::1]:8080").unwrap();
        assert_eq!(proxy.address(), "[::1]:8080");
        assert!(proxy.auth.is_none());
        assert_eq!(parse_flag("http://p").unwrap().port, 80);
    }

    #[test]
    fn bad_flags_are_usage_errors_that_hide_the_password() {
        for bad in ["socks5://p:1", "https://p:1", "http://", "not a url"] {
            let err = parse_flag(bad).unwrap_err();
            assert!(err.is::<UsageError>(), "{bad}: {err}");
        }
        let err = parse_flag("socks5://u:secret@p:1").unwrap_err();
        assert!(!err.to_string().contains("secret"), "{err}");
    }

    #[test]
    fn loopback_and_unix_never_take_the_environment() {
        // With no flag and no variable naming a proxy for them.
        for target in ["localhost:1", "127.0.0.1:1", "[::1]:1", "unix:/s"] {
            let target = Target::parse(target).unwrap();
            assert!(choose(&target, None).unwrap().is_none());
        }
        // The flag applies to loopback too.
        let target = Target::parse("localhost:1").unwrap();
        assert!(choose(&target, Some("http://p:1")).unwrap().is_some());
    }

    #[test]
    fn answers_become_sentences() {
        let proxy = parse_flag("http://p:1").unwrap();
        let check = |head: &[u8]| proxy.check(head, "t:1");
        assert!(check(b"HTTP/1.1 200 OK\r\n\r\n").is_ok());
        let err = check(b"HTTP/1.0 403 Filtered\r\n\r\n").unwrap_err();
        assert!(
            err.contains("refused to CONNECT to t:1 (403 Filtered)"),
            "{err}"
        );
        let err = check(b"HTTP/1.0 407 Proxy Authentication Required\r\n\r\n").unwrap_err();
        assert!(err.contains("http://USER:PASS@p:1"), "{err}");
        assert!(check(b"SSH-2.0\r\n\r\n").is_err());
    }
}
