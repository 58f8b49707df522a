//! Who wrote an HTTP response that came through a proxy: the proxy itself (a denial page, an
//! upstream failure) or the origin (relayed). Decided from the path the response took and the
//! signatures proxies leave: `X-Squid-Error`, `Proxy-Status` with `error=`, `Server: squid/…`,
//! Squid and tinyproxy template bodies. `Via` is reported but decides nothing: proxies add it to
//! relayed replies too.

use http::{HeaderMap, StatusCode};
use serde::Serialize;

use crate::error::Hop;

/// How the response reached us.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ResponsePath {
    /// Straight from the origin (no proxy configured).
    Direct,
    /// Through an HTTP proxy in absolute-form: the proxy could have written it.
    AbsoluteForm,
    /// Through a CONNECT or SOCKS tunnel: the proxy cannot see inside (unless it intercepts TLS).
    Tunnel,
}

/// Who produced an HTTP response received through a proxy, and why we think so.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Attribution {
    /// `proxy` or `origin`.
    pub source: Hop,
    /// The evidence that decided it, one fact per entry.
    pub reasons: Vec<String>,
    /// How the response reached us.
    pub path: ResponsePath,
    /// `X-Squid-Error`, when present.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub squid_error: Option<String>,
    /// `Proxy-Status`, when present.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub proxy_status: Option<String>,
    /// `Server`, when present.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub server: Option<String>,
    /// `Via`, when present (proves a proxy was on the path, not who wrote the reply).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub via: Option<String>,
    /// A proxy error-template marker found in the body, when a body was examined.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub body_marker: Option<String>,
}

impl Attribution {
    /// Whether the proxy generated the response.
    pub fn is_proxy_generated(&self) -> bool {
        self.source == Hop::Proxy
    }
}

const PROXY_SERVERS: &[&str] = &[
    "squid",
    "tinyproxy",
    "envoy",
    "privoxy",
    "polipo",
    "ziproxy",
];

/// Attributes a response from its path, status, headers and (optionally) the start of its body.
pub fn attribute(
    path: ResponsePath,
    status: StatusCode,
    headers: &HeaderMap,
    body: Option<&[u8]>,
) -> Attribution {
    let text = |n: &str| {
        headers
            .get(n)
            .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned())
    };
    let squid_error = text("x-squid-error");
    let proxy_status = {
        let all: Vec<String> = headers
            .get_all("proxy-status")
            .iter()
            .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned())
            .collect();
        (!all.is_empty()).then(|| all.join(", "))
    };
    let server = text("server");
    let via = text("via");
    let body_marker = body.and_then(template_marker);

    let mut proxy_signs = Vec::new();
    if status == StatusCode::PROXY_AUTHENTICATION_REQUIRED {
        proxy_signs.push("status 407 is only ever sent by a proxy".to_owned());
    }
    if let Some(v) = &squid_error {
        proxy_signs.push(format!("X-Squid-Error: {v} (Squid generated this reply)"));
    }
    if let Some(v) = &proxy_status
        && v.split([';', ','])
            .any(|p| p.trim_start().starts_with("error="))
    {
        proxy_signs.push(format!(
            "Proxy-Status: {v} (an intermediary generated this reply)"
        ));
    }
    if let Some(s) = &server {
        let lower = s.to_ascii_lowercase();
        if let Some(name) = PROXY_SERVERS.iter().find(|p| lower.starts_with(*p)) {
            proxy_signs.push(format!(
                "Server: {s} ({name} is a proxy; relayed replies keep the origin's Server)"
            ));
        }
    }
    if let Some(m) = &body_marker {
        proxy_signs.push(format!("body carries the proxy error template marker {m}"));
    }

    let mut reasons = Vec::new();
    let source = match path {
        ResponsePath::Tunnel if proxy_signs.is_empty() => {
            reasons.push("arrived through a tunnel the proxy cannot read or write".to_owned());
            Hop::Origin
        }
        ResponsePath::Tunnel => {
            reasons.push("arrived through a tunnel, yet carries proxy signatures: the proxy likely intercepts TLS".to_owned());
            reasons.append(&mut proxy_signs);
            Hop::Proxy
        }
        ResponsePath::Direct | ResponsePath::AbsoluteForm if !proxy_signs.is_empty() => {
            if path == ResponsePath::Direct {
                reasons.push("no proxy is configured, yet the reply carries proxy signatures: a transparent proxy is likely on the path".to_owned());
            }
            reasons.append(&mut proxy_signs);
            Hop::Proxy
        }
        ResponsePath::Direct => {
            reasons.push("direct connection to the origin, no proxy signature".to_owned());
            Hop::Origin
        }
        ResponsePath::AbsoluteForm => {
            reasons.push("relayed by the proxy: no X-Squid-Error, no Proxy-Status error, no proxy Server header, no template body".to_owned());
            Hop::Origin
        }
    };
    if let Some(v) = &via {
        reasons.push(format!(
            "Via: {v} (a proxy was on the path; relayed replies carry it too)"
        ));
    }
    Attribution {
        source,
        reasons,
        path,
        squid_error,
        proxy_status,
        server,
        via,
        body_marker,
    }
}

/// Squid (`<!-- ERR_X -->`, `id=ERR_X`, `(squid/`) and tinyproxy ("Generated by tinyproxy")
/// template markers.
fn template_marker(body: &[u8]) -> Option<String> {
    let text = String::from_utf8_lossy(&body[..body.len().min(8192)]);
    for marker in ["<!-- ERR_", "id=ERR_", "id=\"ERR_"] {
        if let Some(i) = text.find(marker) {
            let start = i + marker.len() - 4;
            let name: String = text[start..]
                .chars()
                .take_while(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || *c == '_')
                .collect();
            if name.len() > 4 {
                return Some(name);
            }
        }
    }
    if text.contains("Generated by tinyproxy") {
        return Some("Generated by tinyproxy".to_owned());
    }
    if text.contains("(squid/") {
        return Some("(squid/".to_owned());
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (n, v) in pairs {
            h.append(*n, http::HeaderValue::from_static(v));
        }
        h
    }

    type Headers = &'static [(&'static str, &'static str)];
    type Case = (ResponsePath, u16, Headers, Option<&'static [u8]>, Hop);

    #[test]
    fn attribution_table() {
        let cases: &[Case] = &[
            (
                ResponsePath::AbsoluteForm,
                403,
                &[
                    ("x-squid-error", "ERR_ACCESS_DENIED 0"),
                    ("server", "squid/6.10"),
                ],
                None,
                Hop::Proxy,
            ),
            (
                ResponsePath::AbsoluteForm,
                403,
                &[("server", "nginx"), ("via", "1.1 proxy (squid/6.10)")],
                None,
                Hop::Origin,
            ),
            (
                ResponsePath::AbsoluteForm,
                502,
                &[("proxy-status", "h2o; error=dns_error; rcode=NXDOMAIN")],
                None,
                Hop::Proxy,
            ),
            (
                ResponsePath::AbsoluteForm,
                200,
                &[("proxy-status", "h2o; received-status=200")],
                None,
                Hop::Origin,
            ),
            (
                ResponsePath::AbsoluteForm,
                403,
                &[],
                Some(b"<html><body id=ERR_ACCESS_DENIED>"),
                Hop::Proxy,
            ),
            (
                ResponsePath::AbsoluteForm,
                500,
                &[("server", "tinyproxy/1.11.2")],
                None,
                Hop::Proxy,
            ),
            (ResponsePath::AbsoluteForm, 407, &[], None, Hop::Proxy),
            (
                ResponsePath::Tunnel,
                403,
                &[("server", "nginx")],
                None,
                Hop::Origin,
            ),
            (
                ResponsePath::Tunnel,
                403,
                &[("x-squid-error", "ERR_ACCESS_DENIED 0")],
                None,
                Hop::Proxy,
            ),
            (ResponsePath::Direct, 403, &[], None, Hop::Origin),
            (
                ResponsePath::Direct,
                403,
                &[("x-squid-error", "ERR_ACCESS_DENIED 0")],
                None,
                Hop::Proxy,
            ),
        ];
        for (path, status, hs, body, want) in cases {
            let a = attribute(
                *path,
                StatusCode::from_u16(*status).unwrap(),
                &headers(hs),
                *body,
            );
            assert_eq!(a.source, *want, "{path:?} {status} {hs:?}");
            assert!(!a.reasons.is_empty());
        }
    }

    /// Header shapes recorded from the real proxies (Squid 5.7, tinyproxy 1.11.1; see
    /// tests/real_client_*.rs): a proxy's name in `Via` or `X-Cache` never makes a relayed
    /// reply the proxy's; its `Server` on its own error pages does.
    #[test]
    fn real_proxy_shapes() {
        let cases: &[Case] = &[
            // tinyproxy relays the origin's 403 and adds Via naming itself.
            (
                ResponsePath::AbsoluteForm,
                403,
                &[
                    ("server", "proxyscope-test-origin"),
                    ("via", "1.1 proxyscope-test-tinyproxy (tinyproxy/1.11.1)"),
                ],
                None,
                Hop::Origin,
            ),
            // tinyproxy's own "403 Filtered" and "500 Unable to connect" pages.
            (
                ResponsePath::AbsoluteForm,
                403,
                &[
                    ("server", "tinyproxy/1.11.1"),
                    ("content-type", "text/html"),
                ],
                Some(b"<p><em>Generated by tinyproxy version 1.11.1.</em></p>"),
                Hop::Proxy,
            ),
            // tinyproxy's 401 for wrong proxy credentials looks like an origin challenge.
            (
                ResponsePath::AbsoluteForm,
                401,
                &[
                    ("server", "tinyproxy/1.11.1"),
                    ("www-authenticate", "Basic realm=\"Tinyproxy\""),
                ],
                None,
                Hop::Proxy,
            ),
            // Squid relays the origin's 403 with Via and X-Cache naming itself.
            (
                ResponsePath::AbsoluteForm,
                403,
                &[
                    ("server", "proxyscope-test-origin"),
                    ("via", "1.1 proxyscope-test-squid (squid/5.7)"),
                    ("x-cache", "MISS from proxyscope-test-squid"),
                ],
                None,
                Hop::Origin,
            ),
            // Squid's own 502 for a name it could not resolve (5.7: ERR_READ_ERROR).
            (
                ResponsePath::AbsoluteForm,
                502,
                &[
                    ("server", "squid/5.7"),
                    ("x-squid-error", "ERR_READ_ERROR 0"),
                ],
                None,
                Hop::Proxy,
            ),
        ];
        for (path, status, hs, body, want) in cases {
            let a = attribute(
                *path,
                StatusCode::from_u16(*status).unwrap(),
                &headers(hs),
                *body,
            );
            assert_eq!(a.source, *want, "{status} {hs:?}");
        }
    }

    #[test]
    fn evidence_fields_are_kept() {
        let a = attribute(
            ResponsePath::AbsoluteForm,
            StatusCode::FORBIDDEN,
            &headers(&[
                ("x-squid-error", "ERR_ACCESS_DENIED 0"),
                ("via", "1.1 p"),
                ("server", "squid"),
            ]),
            Some(b"<!-- ERR_ACCESS_DENIED -->"),
        );
        assert_eq!(a.squid_error.as_deref(), Some("ERR_ACCESS_DENIED 0"));
        assert_eq!(a.via.as_deref(), Some("1.1 p"));
        assert_eq!(a.body_marker.as_deref(), Some("ERR_ACCESS_DENIED"));
        assert!(a.is_proxy_generated());
    }
}
