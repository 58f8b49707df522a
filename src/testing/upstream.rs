//! How the test proxy reaches a destination: pinned names first (like curl's `--resolve`), then
//! IP literals, then the system resolver, then a real TCP connect — and how each failure maps to
//! what Squid and SOCKS5 servers answer, so unreachable destinations produce real errors.

use std::collections::HashMap;
use std::io;
use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

use tokio::net::TcpStream;

use super::policy::{CannedReply, squid_page};

/// How long the proxy waits for a destination's TCP handshake.
pub(crate) const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// Why the destination could not be reached.
#[derive(Debug)]
pub(crate) enum UpstreamError {
    /// The name did not resolve.
    Dns,
    /// Every address failed; the last error.
    Connect(io::Error),
}

impl UpstreamError {
    /// Squid's reply for this failure.
    pub(crate) fn squid_reply(&self, host: &str) -> CannedReply {
        match self {
            UpstreamError::Dns => squid_page(503, "Service Unavailable", "ERR_DNS_FAIL 0", host),
            UpstreamError::Connect(err) => {
                let errno =
                    err.raw_os_error()
                        .unwrap_or(if err.kind() == io::ErrorKind::TimedOut {
                            110
                        } else {
                            0
                        });
                squid_page(
                    503,
                    "Service Unavailable",
                    &format!("ERR_CONNECT_FAIL {errno}"),
                    host,
                )
            }
        }
    }

    /// The SOCKS5 reply code (RFC 1928 §6) for this failure.
    pub(crate) fn socks_reply(&self) -> u8 {
        match self {
            UpstreamError::Dns => 0x04,
            UpstreamError::Connect(err) => match err.kind() {
                io::ErrorKind::ConnectionRefused => 0x05,
                io::ErrorKind::TimedOut => 0x06,
                io::ErrorKind::HostUnreachable => 0x04,
                io::ErrorKind::NetworkUnreachable => 0x03,
                _ => 0x01,
            },
        }
    }
}

/// Resolves `host` (brackets allowed around IPv6) and connects to the first address that answers.
pub(crate) async fn connect(
    resolve: &HashMap<String, IpAddr>,
    host: &str,
    port: u16,
) -> Result<TcpStream, UpstreamError> {
    let bare = host.trim_start_matches('[').trim_end_matches(']');
    let addrs: Vec<SocketAddr> = if let Some(ip) = resolve.get(&bare.to_ascii_lowercase()) {
        vec![SocketAddr::new(*ip, port)]
    } else if let Ok(ip) = bare.parse::<IpAddr>() {
        vec![SocketAddr::new(ip, port)]
    } else {
        match tokio::net::lookup_host((bare, port)).await {
            Ok(found) => found.collect(),
            Err(_) => return Err(UpstreamError::Dns),
        }
    };
    if addrs.is_empty() {
        return Err(UpstreamError::Dns);
    }
    let mut last = io::Error::new(io::ErrorKind::NotFound, "no address");
    for addr in addrs {
        match tokio::time::timeout(CONNECT_TIMEOUT, TcpStream::connect(addr)).await {
            Ok(Ok(stream)) => {
                // As the proxy's accepted side: relayed bytes go out as they come.
                let _ = stream.set_nodelay(true);
                return Ok(stream);
            }
            Ok(Err(err)) => last = err,
            Err(_) => last = io::Error::new(io::ErrorKind::TimedOut, "connect timed out"),
        }
    }
    Err(UpstreamError::Connect(last))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn refused_connect_maps_to_errno_111_and_socks_05() {
        // Bind then drop to get a port nobody listens on.
        let port = {
            let l = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
            l.local_addr().expect("addr").port()
        };
        let err = connect(&HashMap::new(), "127.0.0.1", port)
            .await
            .expect_err("nothing listens there");
        assert_eq!(err.socks_reply(), 0x05);
        let reply = err.squid_reply("127.0.0.1");
        assert_eq!(reply.status, 503);
        assert!(
            reply
                .headers
                .iter()
                .any(|(n, v)| n == "X-Squid-Error" && v == "ERR_CONNECT_FAIL 111")
        );
    }

    #[tokio::test]
    async fn pinned_names_win_over_dns() {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let port = listener.local_addr().expect("addr").port();
        let mut pins = HashMap::new();
        pins.insert("origin.test".to_owned(), IpAddr::from([127, 0, 0, 1]));
        let stream = connect(&pins, "ORIGIN.test", port).await.expect("pinned");
        assert_eq!(stream.peer_addr().expect("peer").port(), port);
    }
}
