//! [`Policy`]: how a [`TestProxy`](super::TestProxy) treats each connection and request, and the
//! replies it sends when it refuses — shaped byte for byte like Squid's generated error pages
//! (`Server: squid/…`, `X-Squid-Error`, `Via`, `Mime-Version`, an `ERR_*` HTML template) and
//! RFC 9209 `Proxy-Status`, so client code can be tested against what real proxies send.

use std::fmt;

use bytes::Bytes;
use http::{HeaderName, HeaderValue, Response, StatusCode};

/// The `Server` header (and `Via` product) of every reply the test proxy generates.
pub const SQUID_SERVER: &str = "squid/6.10";
/// The host name the test proxy calls itself in `Via` and error pages.
pub const PROXY_HOST: &str = "proxyscope-test-proxy";
/// The proxy-id the test proxy uses in `Proxy-Status`.
pub const PROXY_STATUS_ID: &str = "proxyscope-test";
/// The `Via` value the proxy adds to replies it generates and to forwarded messages.
pub const VIA: &str = "1.1 proxyscope-test-proxy (squid/6.10)";
/// Size of the header section sent by [`Policy::OversizedHeaders`].
pub const OVERSIZED_HEADER_BYTES: usize = 64 * 1024;

/// One rule of a test proxy. A proxy applies its rules in the order they were added; the first
/// rule that answers a request decides, and a request no rule answers is forwarded (CONNECT
/// tunnelled, absolute-form relayed, SOCKS connected) to the real destination.
///
/// Destinations in lists are `host` (any port) or `host:port`, compared case-insensitively;
/// `.example.com` also matches every subdomain (like Squid's `dstdomain`); IPv6 hosts are
/// written in brackets (`[::1]:443`).
#[non_exhaustive]
#[derive(Clone, PartialEq, Eq)]
pub enum Policy {
    /// Forward everything (the default when no rule is given).
    AllowAll,
    /// Refuse the listed destinations with Squid's `403 ERR_ACCESS_DENIED` (SOCKS: reply 0x02).
    Deny(Vec<String>),
    /// Refuse every destination not listed, like [`Policy::Deny`].
    AllowOnly(Vec<String>),
    /// Require `Proxy-Authorization: Basic` with these credentials; otherwise (missing or wrong)
    /// `407` with `Proxy-Authenticate: Basic realm="{realm}"` and `ERR_CACHE_ACCESS_DENIED`.
    /// `Debug` never shows the password.
    RequireBasic {
        /// Expected user name.
        user: String,
        /// Expected password.
        pass: String,
        /// Realm offered in the challenge.
        realm: String,
    },
    /// Answer as if the destination refused TCP: Squid `503 ERR_CONNECT_FAIL 111`
    /// (SOCKS: 0x05).
    Unreachable,
    /// Answer as if the destination's name did not resolve: Squid `503 ERR_DNS_FAIL 0`
    /// (SOCKS: 0x04).
    Unresolvable,
    /// Answer with `status` and `Proxy-Status: proxyscope-test; {params}` (RFC 9209), e.g.
    /// [`Policy::proxy_status_dns_error`].
    ProxyStatus {
        /// Status code of the reply.
        status: u16,
        /// Parameters after the proxy-id, e.g. `error=dns_error; rcode=NXDOMAIN`.
        params: String,
    },
    /// Read the request, then answer bytes that are not HTTP (or SOCKS).
    Garbage,
    /// Close each connection right after accepting it, before reading anything.
    CloseAfterAccept,
    /// Accept and read, then never answer.
    Stall,
    /// Answer `200` with a header section of [`OVERSIZED_HEADER_BYTES`] bytes.
    OversizedHeaders,
    /// Answer `200` to CONNECT, then close the connection instead of tunnelling. Absolute-form
    /// requests and SOCKS CONNECTs are forwarded normally.
    OkThenClose,
    /// Answer `200` to CONNECT, wait for the client's first bytes through the tunnel (its TLS
    /// ClientHello), then reset the connection (RST) without a byte from any origin — a proxy
    /// that filters TLS by server name, or loses its upstream, looks like this. Acts on every
    /// connection before HTTP parsing; on the SOCKS5 listener it reports success, then resets.
    OkThenReset,
    /// Answer every request `200 Connection established`, one byte every `Duration`: a proxy
    /// that answers, but slowly (as opposed to [`Policy::Stall`], one that never answers). A
    /// CONNECT that waits long enough gets its tunnel opened (then closed). Acts before HTTP
    /// parsing; on the SOCKS5 listener it sends its replies at the same pace.
    Dribble(std::time::Duration),
    /// Intercept TLS inside CONNECT tunnels: answer 200, terminate the client's TLS with a leaf for
    /// the requested host signed by the PKI's interception CA, and re-originate TLS to the real
    /// destination (trusting the PKI's root); if that fails, every request inside the tunnel gets
    /// Squid's `503 ERR_SECURE_CONNECT_FAIL 0`, as with ssl-bump. Needs
    /// [`TestProxyBuilder::intercept`](super::TestProxyBuilder::intercept); without it the proxy
    /// answers `500 ERR_GATEWAY_FAILURE` rather than silently tunnelling. Absolute-form requests
    /// are forwarded normally; SOCKS CONNECTs get reply 0x01 (not supported over SOCKS).
    Intercept,
    /// For the listed destinations, act like Squid's ssl-bump `http_access deny`: answer 200 to
    /// CONNECT, terminate TLS with a leaf from the interception CA, and answer every request
    /// inside the tunnel with Squid's `403 ERR_ACCESS_DENIED` — a "403 from the origin" that is
    /// really the proxy's. Needs [`TestProxyBuilder::intercept`](super::TestProxyBuilder::intercept)
    /// (otherwise `500 ERR_GATEWAY_FAILURE`). Absolute-form requests get the plain 403; SOCKS
    /// CONNECTs get reply 0x02.
    DenyInsideTunnel(Vec<String>),
    /// Answer every request with this reply (SOCKS: general failure 0x01), e.g.
    /// [`CannedReply::tinyproxy`]`(500, "Unable to connect")`.
    Reply(CannedReply),
    /// Refuse every request with this status and an HTML error page that quotes the request as
    /// received — the request line and every header, `Proxy-Authorization`, `Authorization`
    /// and cookies included (HTML-escaped) — as proxies whose error templates echo the request
    /// do. For testing that a client keeps its credentials out of the evidence. SOCKS: general
    /// failure 0x01.
    EchoRequest(u16),
}

impl Policy {
    /// `Deny` from string slices.
    pub fn deny(list: &[&str]) -> Policy {
        Policy::Deny(list.iter().map(|s| (*s).to_owned()).collect())
    }

    /// `AllowOnly` from string slices.
    pub fn allow_only(list: &[&str]) -> Policy {
        Policy::AllowOnly(list.iter().map(|s| (*s).to_owned()).collect())
    }

    /// `RequireBasic` from string slices.
    pub fn require_basic(user: &str, pass: &str, realm: &str) -> Policy {
        Policy::RequireBasic {
            user: user.to_owned(),
            pass: pass.to_owned(),
            realm: realm.to_owned(),
        }
    }

    /// `502` with `Proxy-Status: proxyscope-test; error=dns_error; rcode=NXDOMAIN`.
    pub fn proxy_status_dns_error() -> Policy {
        Policy::ProxyStatus {
            status: 502,
            params: "error=dns_error; rcode=NXDOMAIN".to_owned(),
        }
    }

    /// `502` with `Proxy-Status: proxyscope-test; error=connection_refused`.
    pub fn proxy_status_connection_refused() -> Policy {
        Policy::ProxyStatus {
            status: 502,
            params: "error=connection_refused".to_owned(),
        }
    }

    /// Whether the rule acts on the connection before any request is read.
    pub(crate) fn is_connection_level(&self) -> bool {
        matches!(
            self,
            Policy::Garbage
                | Policy::CloseAfterAccept
                | Policy::Stall
                | Policy::OversizedHeaders
                | Policy::OkThenReset
                | Policy::Dribble(_)
        )
    }
}

impl fmt::Debug for Policy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Policy::AllowAll => f.write_str("AllowAll"),
            Policy::Deny(list) => f.debug_tuple("Deny").field(list).finish(),
            Policy::AllowOnly(list) => f.debug_tuple("AllowOnly").field(list).finish(),
            Policy::RequireBasic { user, realm, .. } => f
                .debug_struct("RequireBasic")
                .field("user", user)
                .field("pass", &"[redacted]")
                .field("realm", realm)
                .finish(),
            Policy::Unreachable => f.write_str("Unreachable"),
            Policy::Unresolvable => f.write_str("Unresolvable"),
            Policy::ProxyStatus { status, params } => f
                .debug_struct("ProxyStatus")
                .field("status", status)
                .field("params", params)
                .finish(),
            Policy::Garbage => f.write_str("Garbage"),
            Policy::CloseAfterAccept => f.write_str("CloseAfterAccept"),
            Policy::Stall => f.write_str("Stall"),
            Policy::OversizedHeaders => f.write_str("OversizedHeaders"),
            Policy::OkThenClose => f.write_str("OkThenClose"),
            Policy::OkThenReset => f.write_str("OkThenReset"),
            Policy::Dribble(d) => f.debug_tuple("Dribble").field(d).finish(),
            Policy::Intercept => f.write_str("Intercept"),
            Policy::DenyInsideTunnel(list) => {
                f.debug_tuple("DenyInsideTunnel").field(list).finish()
            }
            Policy::Reply(reply) => f.debug_tuple("Reply").field(reply).finish(),
            Policy::EchoRequest(status) => f.debug_tuple("EchoRequest").field(status).finish(),
        }
    }
}

/// What the rules decided for one request.
#[derive(Debug)]
pub(crate) enum Decision {
    /// Forward to the destination (tunnel, relay or SOCKS connect).
    Forward,
    /// Forward, intercepting TLS.
    Intercept,
    /// Intercept TLS and deny every request inside the tunnel.
    DenyInsideTunnel,
    /// Answer 200 to CONNECT and close.
    OkThenClose,
    /// Refuse with this generated reply; `socks` is the SOCKS5 reply code for the same refusal.
    Refuse { reply: CannedReply, socks: u8 },
    /// Refuse with this status and a page quoting the request ([`echo_page`]).
    Echo(u16),
}

/// A reply the proxy sends itself: a status, an optional custom reason phrase, headers and a
/// body. Squid-shaped replies come from the built-in policies; use [`Policy::Reply`] with this to
/// imitate any other proxy (tinyproxy, Envoy, a corporate gateway with a JSON body, a vendor's
/// 5xx code). An origin answers with one too, on a path set with
/// [`TestOrigin::answer`](super::TestOrigin::answer) (e.g. an origin's own 403 with
/// `Server: nginx`). `Content-Length` and `Date` are added when it is sent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CannedReply {
    pub(crate) status: u16,
    pub(crate) reason: Option<String>,
    pub(crate) headers: Vec<(String, String)>,
    pub(crate) body: String,
}

impl CannedReply {
    /// A reply with `status`, its standard reason phrase, no headers and an empty body.
    /// HTTP cannot carry a status outside 100–999; such a reply is sent as `502` instead.
    pub fn new(status: u16) -> CannedReply {
        CannedReply {
            status,
            reason: None,
            headers: Vec::new(),
            body: String::new(),
        }
    }

    /// Uses `reason` as the reason phrase (e.g. tinyproxy's `Unable to connect`).
    pub fn reason(mut self, reason: &str) -> CannedReply {
        self.reason = Some(reason.to_owned());
        self
    }

    /// Adds a header (repeatable).
    pub fn header(mut self, name: &str, value: &str) -> CannedReply {
        self.headers.push((name.to_owned(), value.to_owned()));
        self
    }

    /// Sets the body.
    pub fn body(mut self, body: &str) -> CannedReply {
        self.body = body.to_owned();
        self
    }

    /// A tinyproxy error page (`src/html-error.c`): `status reason`, `Server: tinyproxy/1.11.2`,
    /// `Content-Type: text/html`, `Connection: close`, "Generated by tinyproxy".
    pub fn tinyproxy(status: u16, reason: &str) -> CannedReply {
        CannedReply::new(status)
            .reason(reason)
            .header("Server", "tinyproxy/1.11.2")
            .header("Content-Type", "text/html")
            .header("Connection", "close")
            .body(&format!(
                "<?xml version=\"1.0\" encoding=\"UTF-8\" ?>\n<html><head><title>{status} {reason}</title></head>\n\
<body><h1>{reason}</h1><p>{reason}</p><hr /><p><em>Generated by tinyproxy version 1.11.2.</em></p></body></html>\n",
                reason = html_escape(reason),
            ))
    }

    /// A proxy that sends clients to its login page instead of relaying (Squid's `deny_info`
    /// with a URL, captive portals, corporate gateways before authentication): `302 Found`,
    /// `Location: location`, `Server: squid/…`, `Via`, a short HTML body.
    pub fn login_redirect(location: &str) -> CannedReply {
        CannedReply::new(302)
            .header("Server", SQUID_SERVER)
            .header("Location", location)
            .header("Content-Type", "text/html")
            .header("Via", VIA)
            .body(&format!(
                "<html><body>Please <a href=\"{}\">log in</a> first.</body></html>\n",
                html_escape(location)
            ))
    }

    /// The status code.
    pub fn status(&self) -> u16 {
        self.status
    }

    /// This reply as an HTTP response whose body `body` makes from the reply's bytes. A status
    /// outside 100–999 becomes `502`; a header hyper cannot carry is left out.
    pub(crate) fn response<B>(&self, body: impl FnOnce(Bytes) -> B) -> Response<B> {
        let mut resp = Response::new(body(Bytes::from(self.body.clone())));
        *resp.status_mut() = StatusCode::from_u16(self.status).unwrap_or(StatusCode::BAD_GATEWAY);
        for (name, value) in &self.headers {
            if let (Ok(name), Ok(value)) = (
                HeaderName::from_bytes(name.as_bytes()),
                HeaderValue::from_str(value),
            ) {
                resp.headers_mut().append(name, value);
            }
        }
        if let Some(reason) = &self.reason
            && let Ok(reason) = hyper::ext::ReasonPhrase::try_from(reason.as_bytes())
        {
            resp.extensions_mut().insert(reason);
        }
        resp
    }
}

/// The `Proxy-Authorization` (or `Authorization`) value for HTTP Basic credentials:
/// `Basic base64(user:pass)` — what [`Policy::RequireBasic`] expects, for tests that write
/// requests by hand or check that a token never leaks.
///
/// ```
/// assert_eq!(proxyscope::testing::basic_auth("alice", "s3cret"), "Basic YWxpY2U6czNjcmV0");
/// ```
pub fn basic_auth(user: &str, pass: &str) -> String {
    use base64::Engine;
    format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(format!("{user}:{pass}"))
    )
}

/// Applies `rules` to a request for `host:port`; `proxy_authorization` is the raw header value.
pub(crate) fn decide(
    rules: &[Policy],
    host: &str,
    port: u16,
    proxy_authorization: Option<&[u8]>,
    is_socks: bool,
) -> Decision {
    for rule in rules {
        match rule {
            Policy::AllowAll
            | Policy::Garbage
            | Policy::CloseAfterAccept
            | Policy::Stall
            | Policy::OversizedHeaders
            | Policy::OkThenReset
            | Policy::Dribble(_) => {}
            Policy::Deny(list) => {
                if list.iter().any(|e| entry_matches(e, host, port)) {
                    return access_denied(host);
                }
            }
            Policy::AllowOnly(list) => {
                if !list.iter().any(|e| entry_matches(e, host, port)) {
                    return access_denied(host);
                }
            }
            Policy::RequireBasic { user, pass, realm } => {
                // SOCKS authenticates in its own sub-negotiation (RFC 1929).
                if !is_socks && !basic_matches(proxy_authorization, user, pass) {
                    return Decision::Refuse {
                        reply: squid_page(
                            407,
                            "Proxy Authentication Required",
                            "ERR_CACHE_ACCESS_DENIED 0",
                            host,
                        )
                        .header("Proxy-Authenticate", &format!("Basic realm=\"{realm}\"")),
                        socks: 0x02,
                    };
                }
            }
            Policy::Unreachable => {
                return Decision::Refuse {
                    reply: squid_page(503, "Service Unavailable", "ERR_CONNECT_FAIL 111", host),
                    socks: 0x05,
                };
            }
            Policy::Unresolvable => {
                return Decision::Refuse {
                    reply: squid_page(503, "Service Unavailable", "ERR_DNS_FAIL 0", host),
                    socks: 0x04,
                };
            }
            Policy::ProxyStatus { status, params } => {
                return Decision::Refuse {
                    reply: proxy_status_reply(*status, params),
                    socks: 0x01,
                };
            }
            Policy::Reply(reply) => {
                return Decision::Refuse {
                    reply: reply.clone(),
                    socks: 0x01,
                };
            }
            Policy::EchoRequest(status) => {
                return if is_socks {
                    Decision::Refuse {
                        reply: CannedReply::new(*status),
                        socks: 0x01,
                    }
                } else {
                    Decision::Echo(*status)
                };
            }
            Policy::OkThenClose => return Decision::OkThenClose,
            Policy::Intercept => return Decision::Intercept,
            Policy::DenyInsideTunnel(list) => {
                if list.iter().any(|e| entry_matches(e, host, port)) {
                    return if is_socks {
                        access_denied(host)
                    } else {
                        Decision::DenyInsideTunnel
                    };
                }
            }
        }
    }
    Decision::Forward
}

fn access_denied(host: &str) -> Decision {
    Decision::Refuse {
        reply: squid_page(403, "Forbidden", "ERR_ACCESS_DENIED 0", host),
        socks: 0x02,
    }
}

/// Whether a list entry (`host` or `host:port`) names `host:port`.
pub(crate) fn entry_matches(entry: &str, host: &str, port: u16) -> bool {
    let host = host.trim_start_matches('[').trim_end_matches(']');
    let entry = entry.trim();
    let (entry_host, entry_port) = split_host_port(entry);
    let entry_host = entry_host.trim_start_matches('[').trim_end_matches(']');
    let host_matches = match entry_host.strip_prefix('.') {
        // Squid's `.example.com`: the domain and every subdomain.
        Some(domain) => {
            let host = host.to_ascii_lowercase();
            let domain = domain.to_ascii_lowercase();
            host == domain || host.ends_with(&format!(".{domain}"))
        }
        None => entry_host.eq_ignore_ascii_case(host),
    };
    host_matches && entry_port.is_none_or(|p| p == port)
}

/// Splits `host[:port]`, understanding `[v6]:port` and bare IPv6 literals.
fn split_host_port(entry: &str) -> (&str, Option<u16>) {
    if let Some(rest) = entry.strip_prefix('[') {
        if let Some((host, after)) = rest.split_once(']') {
            let port = after.strip_prefix(':').and_then(|p| p.parse().ok());
            return (host, port);
        }
        return (entry, None);
    }
    match entry.rsplit_once(':') {
        Some((host, port)) if !host.contains(':') => match port.parse() {
            Ok(port) => (host, Some(port)),
            Err(_) => (entry, None),
        },
        _ => (entry, None),
    }
}

fn basic_matches(header: Option<&[u8]>, user: &str, pass: &str) -> bool {
    use base64::Engine;
    let Some(header) = header else {
        return false;
    };
    let Ok(text) = std::str::from_utf8(header) else {
        return false;
    };
    let mut parts = text.trim().splitn(2, ' ');
    let scheme = parts.next().unwrap_or("");
    let token = parts.next().unwrap_or("").trim();
    if !scheme.eq_ignore_ascii_case("basic") {
        return false;
    }
    let Ok(decoded) = base64::engine::general_purpose::STANDARD.decode(token) else {
        return false;
    };
    decoded == format!("{user}:{pass}").as_bytes()
}

/// A Squid-style generated error reply (`errors/templates/ERR_*`).
pub(crate) fn squid_page(
    status: u16,
    reason: &'static str,
    squid_error: &str,
    host: &str,
) -> CannedReply {
    let err_name = squid_error.split(' ').next().unwrap_or("ERR_UNKNOWN");
    let body = format!(
        "<!DOCTYPE html PUBLIC \"-//W3C//DTD HTML 4.01//EN\" \"http://www.w3.org/TR/html4/strict.dtd\">\n\
<html><head>\n\
<meta type=\"copyright\" content=\"Copyright (C) 1996-2024 The Squid Software Foundation and contributors\">\n\
<meta http-equiv=\"Content-Type\" content=\"text/html; charset=utf-8\">\n\
<title>ERROR: The requested URL could not be retrieved</title>\n\
</head><body id={err_name}>\n\
<div id=\"titles\"><h1>ERROR</h1><h2>The requested URL could not be retrieved</h2></div>\n\
<div id=\"content\"><p>The following error was encountered while trying to retrieve the URL: <a href=\"{host}\">{host}</a></p>\n\
<blockquote id=\"error\"><p><b>{reason}</b></p></blockquote>\n\
<p>Your cache administrator is <a href=\"mailto:webmaster\">webmaster</a>.</p>\n\
</div>\n\
<!-- {err_name} -->\n\
<div id=\"footer\"><p>Generated by {PROXY_HOST} ({SQUID_SERVER})</p></div>\n\
</body></html>\n",
        host = html_escape(host),
    );
    CannedReply {
        status,
        reason: Some(reason.to_owned()),
        headers: vec![
            ("Server".to_owned(), SQUID_SERVER.to_owned()),
            ("Mime-Version".to_owned(), "1.0".to_owned()),
            (
                "Content-Type".to_owned(),
                "text/html;charset=utf-8".to_owned(),
            ),
            ("X-Squid-Error".to_owned(), squid_error.to_owned()),
            ("Vary".to_owned(), "Accept-Language".to_owned()),
            ("Content-Language".to_owned(), "en".to_owned()),
            ("Via".to_owned(), VIA.to_owned()),
        ],
        body,
    }
}

/// An RFC 9209 reply: `status` with `Proxy-Status: proxyscope-test; {params}`.
pub(crate) fn proxy_status_reply(status: u16, params: &str) -> CannedReply {
    CannedReply {
        status,
        reason: None,
        headers: vec![
            ("Server".to_owned(), SQUID_SERVER.to_owned()),
            ("Content-Type".to_owned(), "text/plain".to_owned()),
            (
                "Proxy-Status".to_owned(),
                format!("{PROXY_STATUS_ID}; {params}"),
            ),
            ("Via".to_owned(), VIA.to_owned()),
        ],
        body: format!("proxy error: {params}\n"),
    }
}

/// The page of [`Policy::EchoRequest`]: `status`, Squid's headers, and `request` (the request
/// line and headers as received) quoted in the body.
pub(crate) fn echo_page(status: u16, request: &str) -> CannedReply {
    CannedReply::new(status)
        .header("Server", SQUID_SERVER)
        .header("Content-Type", "text/html;charset=utf-8")
        .header("Via", VIA)
        .body(&format!(
            "<html><head><title>ERROR</title></head><body><h1>ERROR</h1>\n\
             <p>The request could not be served. Your request was:</p>\n<pre>{}</pre>\n\
             <hr><address>Generated by {PROXY_HOST} ({SQUID_SERVER})</address></body></html>\n",
            html_escape(request)
        ))
}

fn html_escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn list_entries_match_host_and_optional_port() {
        let cases: &[(&str, &str, u16, bool)] = &[
            ("example.com", "example.com", 443, true),
            ("EXAMPLE.com", "example.COM", 80, true),
            ("example.com:443", "example.com", 443, true),
            ("example.com:443", "example.com", 8443, false),
            ("example.com", "www.example.com", 443, false),
            ("127.0.0.1:9", "127.0.0.1", 9, true),
            ("[::1]:443", "[::1]", 443, true),
            ("::1", "::1", 80, true),
            ("example.com:notaport", "example.com", 443, false),
            (".example.com", "example.com", 443, true),
            (".example.com", "a.b.EXAMPLE.com", 443, true),
            (".example.com", "badexample.com", 443, false),
            (".example.com:8080", "www.example.com", 443, false),
        ];
        for (entry, host, port, want) in cases {
            assert_eq!(
                entry_matches(entry, host, *port),
                *want,
                "{entry} vs {host}:{port}"
            );
        }
    }

    #[test]
    fn basic_auth_encodes_user_colon_password() {
        // RFC 7617 §2's example.
        assert_eq!(
            basic_auth("Aladdin", "open sesame"),
            "Basic QWxhZGRpbjpvcGVuIHNlc2FtZQ=="
        );
        // What RequireBasic accepts is exactly what basic_auth writes.
        let value = basic_auth("u:x", "p@ss w");
        assert!(basic_matches(Some(value.as_bytes()), "u:x", "p@ss w"));
    }

    #[test]
    fn basic_credentials_are_checked_exactly() {
        use base64::Engine;
        let good = format!(
            "Basic {}",
            base64::engine::general_purpose::STANDARD.encode("alice:s3cret")
        );
        assert!(basic_matches(Some(good.as_bytes()), "alice", "s3cret"));
        assert!(!basic_matches(Some(good.as_bytes()), "alice", "other"));
        assert!(!basic_matches(None, "alice", "s3cret"));
        assert!(!basic_matches(Some(b"Bearer abc"), "alice", "s3cret"));
        assert!(!basic_matches(Some(b"Basic !!!"), "alice", "s3cret"));
    }

    #[test]
    fn rules_apply_in_order() {
        let rules = vec![
            Policy::require_basic("u", "p", "r"),
            Policy::deny(&["x.test"]),
        ];
        match decide(&rules, "x.test", 443, None, false) {
            Decision::Refuse { reply, .. } => assert_eq!(reply.status, 407),
            other => panic!("expected 407, got {other:?}"),
        }
        match decide(&rules, "y.test", 443, None, true) {
            Decision::Forward => {}
            other => panic!("socks skips Basic and y.test is allowed, got {other:?}"),
        }
        match decide(
            &[Policy::allow_only(&["a.test"])],
            "b.test",
            80,
            None,
            false,
        ) {
            Decision::Refuse { reply, socks } => {
                assert_eq!((reply.status, socks), (403, 0x02));
            }
            other => panic!("expected 403, got {other:?}"),
        }
    }

    #[test]
    fn debug_hides_the_password() {
        let shown = format!("{:?}", Policy::require_basic("alice", "hunter2", "corp"));
        assert!(!shown.contains("hunter2"), "{shown}");
        assert!(shown.contains("alice"), "{shown}");
    }
}
