//! Targets and channels: parses what the user typed as the server, and opens
//! the HTTP/2 channel to it.
//!
//! The rule that keeps plaintext off the network: `host:port` means plaintext
//! h2c only when the host is a loopback name or address; anywhere else it means
//! TLS. `http://` forces plaintext, `https://` forces TLS.

use std::net::IpAddr;
use std::time::Duration;

use anyhow::{Context, Result, bail};
use tonic::transport::{Channel, Endpoint};

use crate::cli::ConnArgs;
use crate::error::{StatusError, UsageError};
use crate::preface::Watch;

/// A parsed server address.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    /// Host name or IP address, without IPv6 brackets.
    pub host: String,
    pub port: u16,
    /// Whether to speak TLS.
    pub tls: bool,
}

impl Target {
    /// Parses `host:port`, `http://host:port`, `https://host[:port]`,
    /// `[::1]:port`. Errors are usage errors.
    pub fn parse(text: &str) -> Result<Target> {
        let usage = |why: &str| UsageError(format!("invalid target '{text}': {why}"));
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
        let port = match (port, default_port) {
            (Some(port), _) => port,
            (None, Some(port)) => port,
            (None, None) => return Err(usage("a port is needed, as in host:port").into()),
        };
        Ok(Target { host, port, tls })
    }

    /// `host:port`, with brackets around an IPv6 address.
    pub fn authority(&self) -> String {
        if self.host.contains(':') {
            format!("[{}]:{}", self.host, self.port)
        } else {
            format!("{}:{}", self.host, self.port)
        }
    }

    /// True for text that looks like a target rather than a service name:
    /// it has a `:` or a scheme.
    pub fn looks_like_target(text: &str) -> bool {
        text.contains(':')
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
    let port = match port {
        None => None,
        Some(port) => Some(
            port.parse::<u16>()
                .map_err(|_| "the port is not a number from 0 to 65535")?,
        ),
    };
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

/// The HTTP/2 receive windows: how many response bytes a server may send
/// before grpcx has read them.
///
/// Why these numbers: h2 (0.4.16 and later) guards against floods of tiny DATA
/// frames with a per-connection "small DATA frame budget". Each DATA frame of
/// fewer than 256 bytes that h2 holds unread costs 256 minus its length; the
/// cost is paid back when the application reads the frame. When the budget
/// runs out, h2 closes the connection with GOAWAY ENHANCE_YOUR_CALM
/// "too_many_data_frames". The budget is half the connection window, and
/// nothing above h2 (hyper, tonic) lets us set it directly.
///
/// A gRPC server may send one DATA frame per message (grpc-go does), so a
/// stream of small messages read by a slower stdout (`| wc -l` is enough)
/// piles up unread small frames. With hyper's defaults (2 MiB per stream,
/// 5 MiB per connection, so a 2.5 MiB budget) that pile blew the budget and
/// cut the stream short. Reading ahead into an in-process queue would only
/// move the pile (and bounding the queue brings the same stall back), so the
/// fix is to size the windows so that the budget cannot run out:
///
/// - unread frames on one stream hold at most STREAM_WINDOW bytes, because
///   flow control stops the server there; hyper returns a frame's window
///   credit at the same moment h2 repays its budget (when the frame is read);
/// - every non-empty frame carries at least 1 byte, so one stream's unread
///   frames cost at most 255 × STREAM_WINDOW ≈ 32 MiB;
/// - the budget is CONNECTION_WINDOW / 2 ≈ 1 GiB, room for 32 streams at
///   their worst at once; grpcx uses one (and briefly a reflection stream).
///
/// The large connection window costs no memory: what a server can make grpcx
/// hold is bounded by the stream windows. The stream window bounds memory
/// while stdout stalls: h2 keeps ~150 bytes of bookkeeping per unread frame,
/// so 512 KiB of grpc-go's ~10-byte frames held 10+ MB, 128 KiB holds about
/// 2 MB (a million-message stream peaks ~18 MB in a debug build, against 23
/// MB at 256 KiB). The price is throughput on long links: at most 128 KiB per
/// round trip per stream (6 MB/s at 20 ms).
const STREAM_WINDOW: u32 = 128 * 1024;
const CONNECTION_WINDOW: u32 = (1 << 31) - 1; // the largest HTTP/2 allows
const _: () = assert!(255 * STREAM_WINDOW as u64 * 32 <= CONNECTION_WINDOW as u64 / 2);

/// Opens a channel to the target and waits until it is connected, so that a
/// refused connection fails here, fast, with the address in the message.
pub async fn connect(target: &Target, args: &ConnArgs) -> Result<Channel> {
    if target.tls {
        bail!(
            "TLS to {} is not available in this build yet; for a plaintext server use http://{}",
            target.authority(),
            target.authority()
        );
    }
    let timeout = Duration::try_from_secs_f64(args.connect_timeout)
        .map_err(|_| UsageError("--connect-timeout must be a positive number of seconds".into()))?;
    let endpoint = Endpoint::from_shared(format!("http://{}", target.authority()))
        .with_context(|| format!("invalid target '{}'", target.authority()))?
        .connect_timeout(timeout)
        .tcp_nodelay(true)
        .initial_stream_window_size(STREAM_WINDOW)
        .initial_connection_window_size(CONNECTION_WINDOW);
    let started = tokio::time::Instant::now();
    let watch = Watch::default();
    let connector = watch.connector(target.authority());
    let channel = tokio::time::timeout(timeout, endpoint.connect_with_connector(connector))
        .await
        .map_err(|_| connect_failed(target, "timed out"))?
        .map_err(|err| connect_failed(target, &cause(&err)))?;
    // The connection counts as made once the server has spoken HTTP/2; the
    // same --connect-timeout bounds the wait for that.
    watch
        .verdict(started + timeout, timeout)
        .await
        .map_err(|why| connect_failed(target, &why))?;
    Ok(channel)
}

fn connect_failed(target: &Target, why: &str) -> anyhow::Error {
    StatusError(tonic::Status::unavailable(format!(
        "cannot connect to {}: {why}",
        target.authority()
    )))
    .into()
}

/// The innermost cause of an error, which names what actually went wrong.
fn cause(err: &(dyn std::error::Error + 'static)) -> String {
    let mut inner = err;
    while let Some(source) = inner.source() {
        inner = source;
    }
    inner.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(text: &str) -> Target {
        Target::parse(text).unwrap()
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
        assert_eq!(t("https://example.com").port, 443);
        assert_eq!(t("[::1]:7").host, "::1");
        assert_eq!(t("[::1]:7").authority(), "[::1]:7");
        assert_eq!(t("http://localhost:8080/").port, 8080);
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
            let target = Target::parse(&format!("https://{}", Target { host: host.clone(), port, tls: true }.authority())).unwrap();
            proptest::prop_assert_eq!((target.host, target.port), (host, port));
        }
    }
}
