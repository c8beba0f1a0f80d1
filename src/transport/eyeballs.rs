//! Happy Eyeballs (RFC 8305): dialing a host name whose addresses span both
//! families, where one family may be black-holed (broken IPv6 often is).
//!
//! `TcpStream::connect((host, port))` tries the addresses one after another,
//! so a silent first address stalls the call until `--connect-timeout`. Here
//! the addresses are interleaved by family and raced: the next attempt starts
//! 250 ms after the previous one (or as soon as it fails), the first to
//! connect wins and the others are dropped. Resolution is a parameter, so
//! tests can hand in a black-holed address first.

use std::io;
use std::net::SocketAddr;
use std::time::Duration;

use futures_util::stream::{FuturesUnordered, StreamExt};
use tokio::net::TcpStream;

/// How long an attempt runs alone before the next one starts (RFC 8305's
/// recommended "Connection Attempt Delay").
pub const ATTEMPT_DELAY: Duration = Duration::from_millis(250);

/// Resolves `host` with the system resolver and races its addresses.
pub async fn connect(host: &str, port: u16) -> io::Result<(TcpStream, SocketAddr)> {
    let addrs: Vec<SocketAddr> = tokio::net::lookup_host((host, port)).await?.collect();
    race(addrs, ATTEMPT_DELAY).await
}

/// Orders addresses as RFC 8305 section 4 says: alternate the families,
/// starting with the family of the first address the resolver gave.
fn interleave(addrs: Vec<SocketAddr>) -> Vec<SocketAddr> {
    let first_v6 = addrs.first().is_some_and(SocketAddr::is_ipv6);
    let (first, second): (Vec<_>, Vec<_>) =
        addrs.into_iter().partition(|a| a.is_ipv6() == first_v6);
    let mut out = Vec::with_capacity(first.len() + second.len());
    let mut second = second.into_iter();
    for a in first {
        out.push(a);
        out.extend(second.next());
    }
    out.extend(second);
    out
}

/// Races connections to `addrs`, starting one every `delay` (or at once when
/// all running attempts have failed). Returns the first that connects, or
/// the last error when none does.
pub async fn race(addrs: Vec<SocketAddr>, delay: Duration) -> io::Result<(TcpStream, SocketAddr)> {
    let mut queue = interleave(addrs).into_iter();
    let mut running = FuturesUnordered::new();
    let mut last_error = None;
    loop {
        if let Some(addr) = queue.next() {
            running.push(async move { (addr, TcpStream::connect(addr).await) });
        } else if running.is_empty() {
            return Err(last_error.unwrap_or_else(|| {
                io::Error::new(io::ErrorKind::NotFound, "the name has no addresses")
            }));
        }
        let more = queue.len() > 0;
        let timer = tokio::time::sleep(delay);
        tokio::pin!(timer);
        // Wait for an attempt to finish, or for the delay to pass when
        // there is another address to start.
        loop {
            tokio::select! {
                Some((addr, result)) = running.next() => match result {
                    Ok(stream) => return Ok((stream, addr)),
                    Err(err) => {
                        last_error = Some(err);
                        // A failure starts the next attempt at once.
                        if running.is_empty() || more {
                            break;
                        }
                    }
                },
                () = &mut timer, if more => break,
                else => break,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Instant;

    fn a(text: &str) -> SocketAddr {
        text.parse().unwrap()
    }

    #[test]
    fn families_alternate_from_the_first() {
        let v6_first = ["[::1]:1", "[::2]:1", "[::3]:1", "10.0.0.1:1"].map(a);
        let got = interleave(v6_first.to_vec());
        assert_eq!(got, ["[::1]:1", "10.0.0.1:1", "[::2]:1", "[::3]:1"].map(a));
        let got = interleave(["10.0.0.1:1", "10.0.0.2:1", "[::1]:1"].map(a).to_vec());
        assert_eq!(got, ["10.0.0.1:1", "[::1]:1", "10.0.0.2:1"].map(a));
    }

    /// A black-holed first address (TEST-NET-1 drops SYNs, or the network
    /// is unreachable and fails at once) does not hold up the second one.
    #[tokio::test]
    async fn a_black_holed_address_loses_the_race() {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let good = listener.local_addr().unwrap();
        let black_hole = a(&format!("192.0.2.1:{}", good.port()));
        let start = Instant::now();
        let (_stream, won) = race(vec![black_hole, good], Duration::from_millis(250))
            .await
            .unwrap();
        assert_eq!(won, good);
        // Serially this would wait for the OS connect timeout (minutes).
        assert!(
            start.elapsed() < Duration::from_secs(5),
            "{:?}",
            start.elapsed()
        );
    }

    #[tokio::test]
    async fn every_address_failing_gives_the_last_error() {
        // Bind then drop, so the port refuses.
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let err = race(vec![a(&format!("127.0.0.1:{port}"))], ATTEMPT_DELAY)
            .await
            .unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::ConnectionRefused);
        let err = race(vec![], ATTEMPT_DELAY).await.unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::NotFound);
    }
}
