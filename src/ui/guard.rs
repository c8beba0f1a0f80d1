//! Who may drive the page: the token, and the `Host` and `Origin` checks.
//!
//! The page can make calls to any server the user reaches, so no other web
//! page may drive it. Three checks, each enough to stop a cross-site request
//! on its own:
//! - a random token, in the printed URL (`/?token=…`) and then in a cookie
//!   (`HttpOnly`, `SameSite=Strict`, named after the port, since cookies
//!   ignore ports) that every request must carry;
//! - the `Host` must be the address listened on (`127.0.0.1:PORT` or
//!   `localhost:PORT`), which defeats DNS rebinding (a page of `evil.test`
//!   that made its name point to 127.0.0.1 still sends `Host: evil.test`);
//! - an `Origin`, when the browser sends one, must be this very origin.

use std::net::{IpAddr, SocketAddr};

use anyhow::Result;
use http::HeaderMap;

/// The secret and where it is valid.
#[derive(Debug, Clone)]
pub struct Guard {
    token: String,
    addr: SocketAddr,
}

/// Why a request was refused (the text of the 403).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refused(pub &'static str);

impl Guard {
    /// A fresh random token for a page served on `addr`.
    pub fn new(addr: SocketAddr) -> Result<Guard> {
        let mut bytes = [0u8; 24];
        getrandom::getrandom(&mut bytes)
            .map_err(|err| anyhow::anyhow!("cannot draw a random token: {err}"))?;
        let token = bytes.iter().map(|b| format!("{b:02x}")).collect();
        Ok(Guard { token, addr })
    }

    #[cfg(test)]
    fn with_token(addr: SocketAddr, token: &str) -> Guard {
        Guard {
            token: token.to_string(),
            addr,
        }
    }

    pub fn token(&self) -> &str {
        &self.token
    }

    /// The cookie's name: one per port, so that two pages never share one.
    pub fn cookie_name(&self) -> String {
        format!("grpcx-ui-{}", self.addr.port())
    }

    /// The `Set-Cookie` value that keeps the token after the first visit.
    pub fn set_cookie(&self) -> String {
        format!(
            "{}={}; Path=/; HttpOnly; SameSite=Strict",
            self.cookie_name(),
            self.token
        )
    }

    /// Checks the Host and Origin of a request. `Ok(true)` when it carries
    /// the token in its cookie, `Ok(false)` when only in `query_token` (the
    /// first visit, to be answered with the cookie).
    pub fn check(&self, headers: &HeaderMap, query_token: Option<&str>) -> Result<bool, Refused> {
        let host = headers
            .get(http::header::HOST)
            .and_then(|h| h.to_str().ok())
            .ok_or(Refused("the request has no Host header"))?;
        if !self.host_allowed(host) {
            return Err(Refused(
                "the Host header is not the address grpcx ui listens on",
            ));
        }
        for origin in headers.get_all(http::header::ORIGIN) {
            let origin = origin.to_str().unwrap_or("");
            if origin != format!("http://{host}") {
                return Err(Refused("the request comes from another site (Origin)"));
            }
        }
        if headers
            .get("sec-fetch-site")
            .is_some_and(|site| site == "cross-site" || site == "same-site")
        {
            return Err(Refused("the request comes from another site"));
        }
        if self.cookie_matches(headers) {
            return Ok(true);
        }
        match query_token {
            Some(token) if same(token, &self.token) => Ok(false),
            Some(_) => Err(Refused("the token is wrong")),
            None => Err(Refused(
                "the request has no token: open the URL that grpcx ui printed",
            )),
        }
    }

    fn cookie_matches(&self, headers: &HeaderMap) -> bool {
        let name = self.cookie_name();
        headers
            .get_all(http::header::COOKIE)
            .iter()
            .filter_map(|value| value.to_str().ok())
            .flat_map(|value| value.split(';'))
            .filter_map(|pair| pair.trim().split_once('='))
            .any(|(key, value)| key == name && same(value, &self.token))
    }

    /// `127.0.0.1:PORT`, `localhost:PORT`, `[::1]:PORT` and the address
    /// listened on; with an unspecified address (`0.0.0.0`), any IP literal
    /// with the port (an IP literal cannot be rebound, a name can).
    fn host_allowed(&self, host: &str) -> bool {
        let Some((name, port)) = host.rsplit_once(':') else {
            return false;
        };
        if port.parse::<u16>().ok() != Some(self.addr.port()) {
            return false;
        }
        let ip = name
            .strip_prefix('[')
            .and_then(|n| n.strip_suffix(']'))
            .unwrap_or(name);
        if name.eq_ignore_ascii_case("localhost") {
            return true;
        }
        match ip.parse::<IpAddr>() {
            Ok(ip) if ip.is_loopback() => true,
            Ok(ip) if ip == self.addr.ip() => true,
            Ok(_) => self.addr.ip().is_unspecified(),
            Err(_) => false,
        }
    }
}

/// Compares two secrets in time that does not depend on where they differ.
fn same(a: &str, b: &str) -> bool {
    a.len() == b.len()
        && a.bytes()
            .zip(b.bytes())
            .fold(0u8, |acc, (x, y)| acc | (x ^ y))
            == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    fn guard() -> Guard {
        Guard::with_token("127.0.0.1:8123".parse().unwrap(), "s3cret")
    }

    fn headers(pairs: &[(&str, &str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (k, v) in pairs {
            map.append(
                http::HeaderName::from_bytes(k.as_bytes()).unwrap(),
                v.parse().unwrap(),
            );
        }
        map
    }

    #[test]
    fn the_token_comes_from_the_query_then_the_cookie() {
        let g = guard();
        let h = headers(&[("host", "127.0.0.1:8123")]);
        assert_eq!(g.check(&h, Some("s3cret")), Ok(false));
        assert!(g.check(&h, Some("wrong")).is_err());
        assert!(g.check(&h, None).is_err());
        let h = headers(&[
            ("host", "localhost:8123"),
            ("cookie", "a=b; grpcx-ui-8123=s3cret"),
        ]);
        assert_eq!(g.check(&h, None), Ok(true));
        // Another port's cookie is not ours.
        let h = headers(&[("host", "localhost:8123"), ("cookie", "grpcx-ui-9=s3cret")]);
        assert!(g.check(&h, None).is_err());
    }

    #[test]
    fn a_foreign_host_or_origin_is_refused() {
        let g = guard();
        let cookie = ("cookie", "grpcx-ui-8123=s3cret");
        for host in [
            "evil.test:8123",
            "127.0.0.1:80",
            "127.0.0.1",
            "10.0.0.1:8123",
        ] {
            assert!(g.check(&headers(&[("host", host), cookie]), None).is_err());
        }
        let h = headers(&[
            ("host", "127.0.0.1:8123"),
            ("origin", "http://evil.test"),
            cookie,
        ]);
        assert!(g.check(&h, None).is_err());
        let h = headers(&[
            ("host", "127.0.0.1:8123"),
            ("origin", "http://127.0.0.1:8123"),
            cookie,
        ]);
        assert_eq!(g.check(&h, None), Ok(true));
        assert!(g.check(&headers(&[cookie]), None).is_err());
    }

    #[test]
    fn an_unspecified_listen_address_takes_ip_literals_only() {
        let g = Guard::with_token("0.0.0.0:8123".parse().unwrap(), "t");
        assert!(g.host_allowed("192.168.1.5:8123"));
        assert!(g.host_allowed("[::1]:8123"));
        assert!(!g.host_allowed("evil.test:8123"));
        assert!(!g.host_allowed("192.168.1.5:8124"));
    }

    #[test]
    fn tokens_are_random() {
        let addr = "127.0.0.1:1".parse().unwrap();
        let (a, b) = (Guard::new(addr).unwrap(), Guard::new(addr).unwrap());
        assert_eq!(a.token().len(), 48);
        assert_ne!(a.token(), b.token());
    }
}
