//! What a refusal means: a non-2xx reply to CONNECT (or a reply an HTTP proxy wrote itself)
//! mapped to an [`ErrorKind`], with the signal that decided it. Vendor signals (Squid,
//! `Proxy-Status`, tinyproxy) win over the bare status because they say more.

use super::signatures::{is_tinyproxy, proxy_status_error, squid_error, tinyproxy_kind};
use crate::error::{ErrorKind, ProxyReply};

/// Why a refusal was classified the way it was: the signal that decided it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Classified {
    /// The kind.
    pub kind: ErrorKind,
    /// The deciding signal, e.g. `X-Squid-Error: ERR_DNS_FAIL` or `status 503`.
    pub signal: String,
}

/// Maps a non-2xx reply to CONNECT (or a proxy-generated absolute-form reply) to a kind.
/// Vendor signals (Squid, `Proxy-Status`, tinyproxy's reason phrases) win over the bare status
/// because they say more. A 401 is an authentication failure like 407: a reply to CONNECT is
/// always the proxy's, and tinyproxy 1.11 answers wrong credentials with 401.
pub fn classify(reply: &ProxyReply, credentials_sent: bool) -> Classified {
    if reply.status == 407 || reply.status == 401 {
        let kind = if credentials_sent {
            ErrorKind::ProxyAuthRejected
        } else {
            ErrorKind::ProxyAuthRequired
        };
        return Classified {
            kind,
            signal: format!("status {}", reply.status),
        };
    }
    if let Some(name) = squid_error(reply) {
        let kind = match name.as_str() {
            "ERR_ACCESS_DENIED"
            | "ERR_TOO_BIG"
            | "ERR_FORWARDING_DENIED"
            | "ERR_ACL_TIME_QUOTA_EXCEEDED"
            | "ERR_CONFLICT_HOST"
            | "ERR_UNSUP_REQ" => Some(ErrorKind::ProxyForbidden),
            "ERR_DNS_FAIL"
            | "ERR_CONNECT_FAIL"
            | "ERR_READ_TIMEOUT"
            | "ERR_SECURE_CONNECT_FAIL"
            | "ERR_CANNOT_FORWARD"
            | "ERR_ZERO_SIZE_OBJECT"
            | "ERR_LIFETIME_EXP"
            | "ERR_READ_ERROR"
            | "ERR_WRITE_ERROR" => Some(ErrorKind::ProxyUpstream),
            _ => None,
        };
        if let Some(kind) = kind {
            return Classified {
                kind,
                signal: format!("X-Squid-Error: {name}"),
            };
        }
    }
    if let Some(err) = proxy_status_error(reply) {
        let kind = if err == "http_request_denied" || err == "destination_ip_prohibited" {
            Some(ErrorKind::ProxyForbidden)
        } else if err.starts_with("dns_")
            || err.starts_with("destination_")
            || err.starts_with("connection_")
            || err.starts_with("tls_")
            || err.starts_with("http_response_")
        {
            Some(ErrorKind::ProxyUpstream)
        } else {
            None
        };
        if let Some(kind) = kind {
            return Classified {
                kind,
                signal: format!("Proxy-Status: error={err}"),
            };
        }
    }
    if is_tinyproxy(reply)
        && let Some(kind) = tinyproxy_kind(reply)
    {
        return Classified {
            kind,
            signal: format!("tinyproxy: {}", reply.reason.trim()),
        };
    }
    let kind = match reply.status {
        403 => ErrorKind::ProxyForbidden,
        502..=504 => ErrorKind::ProxyUpstream,
        _ => ErrorKind::ProxyRefused,
    };
    Classified {
        kind,
        signal: format!("status {}", reply.status),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire::reply::{evidence_headers, reply_challenges};

    fn reply(status: u16, headers: &[(&str, &str)], body: Option<&str>) -> ProxyReply {
        ProxyReply {
            status,
            reason: String::new(),
            headers: headers
                .iter()
                .map(|(n, v)| (n.to_string(), v.to_string()))
                .collect(),
            body_excerpt: body.map(str::to_owned),
            body_truncated: false,
        }
    }

    #[test]
    fn classification_table() {
        let cases: &[(ProxyReply, bool, ErrorKind)] = &[
            (reply(407, &[], None), false, ErrorKind::ProxyAuthRequired),
            (reply(407, &[], None), true, ErrorKind::ProxyAuthRejected),
            (reply(403, &[], None), false, ErrorKind::ProxyForbidden),
            (
                reply(403, &[("X-Squid-Error", "ERR_ACCESS_DENIED 0")], None),
                false,
                ErrorKind::ProxyForbidden,
            ),
            (
                reply(503, &[("X-Squid-Error", "ERR_DNS_FAIL 0")], None),
                false,
                ErrorKind::ProxyUpstream,
            ),
            (
                reply(502, &[("X-Squid-Error", "ERR_CONNECT_FAIL 111")], None),
                false,
                ErrorKind::ProxyUpstream,
            ),
            (
                reply(504, &[("X-Squid-Error", "ERR_READ_TIMEOUT 0")], None),
                false,
                ErrorKind::ProxyUpstream,
            ),
            (
                reply(413, &[("X-Squid-Error", "ERR_TOO_BIG 0")], None),
                false,
                ErrorKind::ProxyForbidden,
            ),
            (
                reply(500, &[], Some("<html><body id=ERR_CONNECT_FAIL>")),
                false,
                ErrorKind::ProxyUpstream,
            ),
            (
                reply(
                    502,
                    &[("Proxy-Status", "h2o; error=dns_error; rcode=NXDOMAIN")],
                    None,
                ),
                false,
                ErrorKind::ProxyUpstream,
            ),
            (
                reply(
                    400,
                    &[("Proxy-Status", "envoy; error=http_request_denied")],
                    None,
                ),
                false,
                ErrorKind::ProxyForbidden,
            ),
            (
                reply(500, &[("Server", "tinyproxy/1.11")], None),
                false,
                ErrorKind::ProxyRefused,
            ),
            (reply(517, &[], None), false, ErrorKind::ProxyRefused),
            (reply(301, &[], None), false, ErrorKind::ProxyRefused),
        ];
        for (r, creds, want) in cases {
            assert_eq!(classify(r, *creds).kind, *want, "{r:?}");
        }
        assert_eq!(
            classify(
                &reply(503, &[("X-Squid-Error", "ERR_DNS_FAIL 0")], None),
                false
            )
            .signal,
            "X-Squid-Error: ERR_DNS_FAIL"
        );
    }

    fn reply_with_reason(
        status: u16,
        reason: &str,
        headers: &[(&str, &str)],
        body: Option<&str>,
    ) -> ProxyReply {
        ProxyReply {
            reason: reason.to_owned(),
            ..reply(status, headers, body)
        }
    }

    /// What tinyproxy 1.11.1 sends, observed against the real binary (tests/real_client_*):
    /// the cause is in the reason phrase, and only tinyproxy's own replies are read that way.
    #[test]
    fn tinyproxy_reason_phrases_classify() {
        let tp = [("Server", "tinyproxy/1.11.1")];
        let cases: &[(ProxyReply, ErrorKind, &str)] = &[
            (
                reply_with_reason(500, "Unable to connect", &tp, None),
                ErrorKind::ProxyUpstream,
                "tinyproxy: Unable to connect",
            ),
            (
                reply_with_reason(
                    404,
                    "Unable to connect to upstream proxy",
                    &[("Server", "tinyproxy/1.10.0")],
                    None,
                ),
                ErrorKind::ProxyUpstream,
                "tinyproxy: Unable to connect to upstream proxy",
            ),
            (
                reply_with_reason(
                    500,
                    "Unable to connect",
                    &[],
                    Some("<p><em>Generated by tinyproxy version 1.11.1.</em></p>"),
                ),
                ErrorKind::ProxyUpstream,
                "tinyproxy: Unable to connect",
            ),
            (
                reply_with_reason(403, "Filtered", &tp, None),
                ErrorKind::ProxyForbidden,
                "tinyproxy: Filtered",
            ),
            (
                reply_with_reason(403, "Access violation", &tp, None),
                ErrorKind::ProxyForbidden,
                "tinyproxy: Access violation",
            ),
            (
                reply_with_reason(403, "Access denied", &tp, None),
                ErrorKind::ProxyForbidden,
                "tinyproxy: Access denied",
            ),
            // Not tinyproxy: a reason phrase alone decides nothing.
            (
                reply_with_reason(500, "Unable to connect", &[("Server", "nginx")], None),
                ErrorKind::ProxyRefused,
                "status 500",
            ),
            // tinyproxy, but a reason that names no cause.
            (
                reply_with_reason(400, "Bad Request", &tp, None),
                ErrorKind::ProxyRefused,
                "status 400",
            ),
        ];
        for (r, want, signal) in cases {
            let c = classify(r, false);
            assert_eq!(c.kind, *want, "{r:?}");
            assert_eq!(c.signal, *signal, "{r:?}");
        }
    }

    /// tinyproxy 1.11.1 answers wrong proxy credentials with `401 Unauthorized` and
    /// `WWW-Authenticate` instead of 407: still the proxy's authentication failure.
    #[test]
    fn status_401_to_connect_is_an_auth_failure_with_its_challenge() {
        let r = reply_with_reason(
            401,
            "Unauthorized",
            &[
                ("Server", "tinyproxy/1.11.1"),
                ("WWW-Authenticate", "Basic realm=\"Tinyproxy\""),
            ],
            None,
        );
        let rejected = classify(&r, true);
        assert_eq!(rejected.kind, ErrorKind::ProxyAuthRejected);
        assert_eq!(rejected.signal, "status 401");
        assert_eq!(classify(&r, false).kind, ErrorKind::ProxyAuthRequired);
        let (schemes, realm) = reply_challenges(&r);
        assert_eq!(schemes, ["Basic"]);
        assert_eq!(realm.as_deref(), Some("Tinyproxy"));

        let kept = evidence_headers(&r.headers);
        assert!(kept.iter().any(|(n, _)| n == "WWW-Authenticate"));

        // Proxy-Authenticate wins; WWW-Authenticate is read only on a 401.
        let both = reply(
            407,
            &[
                ("WWW-Authenticate", "Negotiate"),
                ("Proxy-Authenticate", "Basic realm=\"p\""),
            ],
            None,
        );
        assert_eq!(reply_challenges(&both).0, ["Basic"]);
        let not_401 = reply(403, &[("WWW-Authenticate", "Basic realm=\"o\"")], None);
        assert_eq!(reply_challenges(&not_401), (Vec::new(), None));
    }
}
