//! What a proxy says went wrong beyond it, in words: Squid's `ERR_*` name with its errno
//! (`ERR_CONNECT_FAIL 111` is "connection refused"), RFC 9209 `Proxy-Status` error types
//! (`dns_error; rcode=NXDOMAIN`), tinyproxy's reason phrases. Headlines and hints use these so
//! that a 502 that says "the destination refused the connection" never reads as "the proxy is
//! broken".

use super::signatures::{is_tinyproxy, proxy_status_error, squid_error};
use crate::error::ProxyReply;

/// The errno Squid appends to `X-Squid-Error` (`ERR_CONNECT_FAIL 111`), when it is not 0.
pub fn squid_errno(reply: &ProxyReply) -> Option<i32> {
    let v = reply.header("x-squid-error")?;
    let n: i32 = v.split_whitespace().nth(1)?.parse().ok()?;
    (n != 0).then_some(n)
}

/// A Linux errno in words, as a connect(2) or read(2) failure reads to people.
pub fn errno_words(errno: i32) -> Option<&'static str> {
    Some(match errno {
        32 => "broken pipe",
        97 => "address family not supported (no IPv6 route?)",
        99 => "no local address available",
        100 => "network is down",
        101 => "network unreachable",
        103 => "connection aborted",
        104 => "connection reset by the destination",
        110 => "connection timed out",
        111 => "connection refused",
        112 => "host is down",
        113 => "no route to host",
        _ => return None,
    })
}

/// What the proxy reports about the destination, e.g. `could not connect to it: connection
/// refused (ERR_CONNECT_FAIL, errno 111)`, or `None` when the reply names no cause.
pub fn upstream_failure(reply: &ProxyReply) -> Option<String> {
    if let Some(name) = squid_error(reply) {
        let errno = squid_errno(reply);
        let tag = match errno {
            Some(n) => format!("{name}, errno {n}"),
            None => name.clone(),
        };
        let words = errno.and_then(errno_words);
        let what = match name.as_str() {
            "ERR_DNS_FAIL" => "could not resolve its name".to_owned(),
            "ERR_CONNECT_FAIL" => match words {
                Some(w) => format!("could not connect to it: {w}"),
                None => "could not connect to it".to_owned(),
            },
            "ERR_READ_TIMEOUT" => "got no answer from it in time".to_owned(),
            "ERR_LIFETIME_EXP" => {
                "gave up: the exchange exceeded the proxy's time limit".to_owned()
            }
            "ERR_SECURE_CONNECT_FAIL" => "could not set up TLS with it".to_owned(),
            "ERR_ZERO_SIZE_OBJECT" => "got an empty reply from it".to_owned(),
            "ERR_READ_ERROR" | "ERR_WRITE_ERROR" => match words {
                Some(w) => format!("lost the connection to it: {w}"),
                None => "lost the connection to it".to_owned(),
            },
            "ERR_CANNOT_FORWARD" => {
                "has no route to it (no direct access, no parent proxy)".to_owned()
            }
            _ => return None,
        };
        return Some(format!("{what} ({tag})"));
    }
    if let Some(err) = proxy_status_error(reply) {
        let rcode = reply
            .headers
            .iter()
            .filter(|(n, _)| n.eq_ignore_ascii_case("proxy-status"))
            .find_map(|(_, v)| {
                v.split(';')
                    .find_map(|p| p.trim().strip_prefix("rcode=").map(str::to_owned))
            });
        let what = match err.as_str() {
            "dns_error" | "dns_timeout" | "destination_not_found" => "could not resolve its name",
            "destination_unavailable" => "found it unavailable",
            "destination_ip_unroutable" => "has no route to its address",
            "connection_refused" => "could not connect to it: connection refused",
            "connection_timeout" => "could not connect to it: connection timed out",
            "connection_terminated" => "lost the connection to it",
            "connection_read_timeout" | "http_response_timeout" => "got no answer from it in time",
            "tls_protocol_error" => "could not set up TLS with it",
            "tls_certificate_error" => "rejected its TLS certificate",
            _ => return None,
        };
        let tag = match rcode {
            Some(r) => format!("Proxy-Status: error={err}, rcode={}", r.trim_matches('"')),
            None => format!("Proxy-Status: error={err}"),
        };
        return Some(format!("{what} ({tag})"));
    }
    if is_tinyproxy(reply)
        && reply
            .reason
            .to_ascii_lowercase()
            .contains("unable to connect")
    {
        return Some(format!(
            "could not connect to it (tinyproxy: {})",
            reply.reason.trim()
        ));
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reply(headers: &[(&str, &str)]) -> ProxyReply {
        ProxyReply {
            status: 503,
            reason: "Service Unavailable".into(),
            headers: headers
                .iter()
                .map(|(n, v)| ((*n).to_owned(), (*v).to_owned()))
                .collect(),
            body_excerpt: None,
            body_truncated: false,
        }
    }

    #[test]
    fn squid_errors_and_errnos_read_as_words() {
        type Headers<'a> = &'a [(&'a str, &'a str)];
        let cases: &[(Headers<'_>, Option<&str>)] = &[
            (
                &[("X-Squid-Error", "ERR_CONNECT_FAIL 111")],
                Some("could not connect to it: connection refused (ERR_CONNECT_FAIL, errno 111)"),
            ),
            (
                &[("X-Squid-Error", "ERR_CONNECT_FAIL 113")],
                Some("could not connect to it: no route to host (ERR_CONNECT_FAIL, errno 113)"),
            ),
            (
                &[("X-Squid-Error", "ERR_DNS_FAIL 0")],
                Some("could not resolve its name (ERR_DNS_FAIL)"),
            ),
            (
                &[("Proxy-Status", "h2o; error=dns_error; rcode=NXDOMAIN")],
                Some("could not resolve its name (Proxy-Status: error=dns_error, rcode=NXDOMAIN)"),
            ),
            (
                &[("Proxy-Status", "envoy; error=connection_refused")],
                Some(
                    "could not connect to it: connection refused (Proxy-Status: error=connection_refused)",
                ),
            ),
            (&[("X-Squid-Error", "ERR_ACCESS_DENIED 0")], None),
            (&[("Server", "nginx")], None),
        ];
        for (headers, want) in cases {
            assert_eq!(
                upstream_failure(&reply(headers)).as_deref(),
                *want,
                "{headers:?}"
            );
        }
        assert_eq!(
            squid_errno(&reply(&[("X-Squid-Error", "ERR_DNS_FAIL 0")])),
            None
        );
        assert_eq!(errno_words(111), Some("connection refused"));
        assert_eq!(errno_words(4242), None);
    }
}
