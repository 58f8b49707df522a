//! Who wrote an HTTP response that came through a proxy: the proxy itself (a denial page, an
//! upstream failure) or the origin (relayed). Decided from the path the response took and the
//! signatures proxies leave: `X-Squid-Error`, `Proxy-Status` with `error=`, `Server: squid/…`,
//! Squid and tinyproxy template bodies. `Via` is reported but decides nothing: proxies add it to
//! relayed replies too.

use http::{HeaderMap, StatusCode, header};

use super::signatures::{PROXY_SERVERS, template_marker};
use crate::error::{Attribution, Hop, ResponsePath};

/// Who sent a response, exactly as [`attribute`] decides it without a body, but without
/// writing a reason or copying a header: what a body error names, asked of every response
/// whose body is read. Any proxy signature makes it the proxy's, whatever the path.
pub(crate) fn source_of(status: StatusCode, headers: &HeaderMap) -> Hop {
    if status == StatusCode::PROXY_AUTHENTICATION_REQUIRED {
        return Hop::Proxy;
    }
    // One pass over the few headers a response has, instead of a hashed lookup per name.
    let mut server_seen = false;
    for (name, value) in headers {
        let signed = if name == header::SERVER {
            // Only the first `Server` counts, as `HeaderMap::get` reads it.
            !std::mem::replace(&mut server_seen, true) && proxy_server(value.as_bytes()).is_some()
        } else {
            match name.as_str() {
                "x-squid-error" => true,
                "proxy-status" => proxy_status_error(&String::from_utf8_lossy(value.as_bytes())),
                _ => false,
            }
        };
        if signed {
            return Hop::Proxy;
        }
    }
    Hop::Origin
}

/// Whether a `Proxy-Status` value reports an error (`error=` in one of its members).
fn proxy_status_error(v: &str) -> bool {
    v.split([';', ','])
        .any(|p| p.trim_start().starts_with("error="))
}

/// The proxy a `Server` value names at its start (case-insensitive), if any.
fn proxy_server(server: &[u8]) -> Option<&'static str> {
    PROXY_SERVERS.iter().copied().find(|p| {
        server
            .get(..p.len())
            .is_some_and(|start| start.eq_ignore_ascii_case(p.as_bytes()))
    })
}

/// Attributes a response from its path, status, headers and (optionally) the start of its body.
pub(crate) fn attribute(
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
        && proxy_status_error(v)
    {
        proxy_signs.push(format!(
            "Proxy-Status: {v} (an intermediary generated this reply)"
        ));
    }
    if let Some(s) = &server
        && let Some(name) = proxy_server(s.as_bytes())
    {
        proxy_signs.push(format!(
            "Server: {s} ({name} is a proxy; relayed replies keep the origin's Server)"
        ));
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
            if body.is_none() {
                let status = StatusCode::from_u16(*status).unwrap();
                assert_eq!(source_of(status, &headers(hs)), a.source, "{hs:?}");
            }
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
            if body.is_none() {
                let status = StatusCode::from_u16(*status).unwrap();
                assert_eq!(source_of(status, &headers(hs)), a.source, "{hs:?}");
            }
        }
    }

    /// The hop alone (asked of every body read) and the full attribution never disagree,
    /// whatever bytes the headers carry.
    #[test]
    fn the_hop_alone_agrees_with_the_attribution() {
        let values: &[&[u8]] = &[
            b"squid/6.10",
            b"SQUID",
            b"Tinyproxy/1.11.1",
            b"nginx",
            b"sq",
            b"\xffsquid",
            b"squ\xffid",
            b"envoy\xff",
            b"",
            b"error=connection_refused",
            b"proxy; error=dns_timeout",
            b"a, b;error=x",
            b"a; detail=error=no",
            b"\xfe\xff; error=x",
        ];
        let names = ["server", "proxy-status", "x-squid-error", "via"];
        for status in [200, 403, 407, 502] {
            let status = StatusCode::from_u16(status).unwrap();
            for name in names {
                for v in values {
                    for twice in [false, true] {
                        let mut h = HeaderMap::new();
                        let value = http::HeaderValue::from_bytes(v).unwrap();
                        if twice {
                            h.append(name, http::HeaderValue::from_static("plain"));
                        }
                        h.append(name, value);
                        for path in [
                            ResponsePath::Direct,
                            ResponsePath::Tunnel,
                            ResponsePath::AbsoluteForm,
                        ] {
                            let full = attribute(path, status, &h, None).source;
                            assert_eq!(source_of(status, &h), full, "{path:?} {status} {h:?}");
                        }
                    }
                }
            }
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
