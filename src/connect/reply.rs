//! What a proxy said, read without I/O: the reply head parser (bounded, split-read safe), the
//! headers worth keeping, `Proxy-Authenticate` challenges, Squid / RFC 9209 `Proxy-Status`
//! signals, and the mapping from a refusal to an [`ErrorKind`].

use crate::error::{ErrorKind, ProxyReply};

/// The most header bytes we accept from a proxy before calling its reply oversized.
pub const MAX_HEAD: usize = 16 * 1024;
/// The most body bytes kept as an excerpt.
pub const MAX_EXCERPT: usize = 1024;

/// The most body bytes read to find the excerpt: proxy error pages open with kilobytes of
/// styling (Squid 5's template spends ~3 KiB on CSS before `<body id=ERR_…>`), so the informative
/// part is looked for in a larger window than the one kept.
pub(crate) const MAX_EXCERPT_SCAN: usize = 16 * 1024;
const MAX_HEADERS: usize = 100;
const MAX_VALUE: usize = 512;

/// A parsed reply head.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Head {
    /// Status code.
    pub status: u16,
    /// Reason phrase (lossy UTF-8).
    pub reason: String,
    /// Every header, in order, values lossily decoded.
    pub headers: Vec<(String, String)>,
    /// Bytes the head occupied in the buffer.
    pub len: usize,
}

impl Head {
    /// The first header with this name (case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// The result of looking at the bytes received so far.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Parsed {
    /// More bytes are needed.
    Partial,
    /// A final (non-1xx) head; interim 1xx heads before it were skipped.
    Complete(Head),
    /// Not an HTTP reply, or a malformed one: what was wrong.
    Invalid(String),
}

/// Parses the reply head at the start of `buf`, skipping interim `1xx` replies.
pub fn parse(buf: &[u8]) -> Parsed {
    let mut offset = 0;
    loop {
        let mut headers = [httparse::EMPTY_HEADER; MAX_HEADERS];
        let mut resp = httparse::Response::new(&mut headers);
        match resp.parse(&buf[offset..]) {
            Ok(httparse::Status::Partial) => return Parsed::Partial,
            Ok(httparse::Status::Complete(len)) => {
                let status = resp.code.unwrap_or(0);
                if (100..200).contains(&status) && status != 101 {
                    offset += len;
                    continue;
                }
                let head = Head {
                    status,
                    reason: resp.reason.unwrap_or("").to_owned(),
                    headers: resp
                        .headers
                        .iter()
                        .map(|h| {
                            (
                                h.name.to_owned(),
                                String::from_utf8_lossy(h.value).into_owned(),
                            )
                        })
                        .collect(),
                    len: offset + len,
                };
                return Parsed::Complete(head);
            }
            Err(httparse::Error::TooManyHeaders) => {
                return Parsed::Invalid(format!("more than {MAX_HEADERS} headers"));
            }
            Err(e) => return Parsed::Invalid(format!("not an HTTP reply ({e})")),
        }
    }
}

/// [`parse`] with the [`MAX_HEAD`] bound applied: a head (interim replies included) longer
/// than 16 KiB, or 16 KiB received without the head ending, is [`Parsed::Invalid`]. This is
/// the decision the CONNECT handshake makes on every read, kept pure so it can be fuzzed.
pub fn parse_bounded(buf: &[u8]) -> Parsed {
    match parse(buf) {
        Parsed::Complete(h) if h.len > MAX_HEAD => {
            Parsed::Invalid(format!("reply headers exceed {MAX_HEAD} bytes"))
        }
        Parsed::Partial if buf.len() >= MAX_HEAD => {
            Parsed::Invalid(format!("reply headers exceed {MAX_HEAD} bytes"))
        }
        other => other,
    }
}

/// Whether `name` is worth keeping as evidence: the headers proxies explain themselves with.
/// Credentials and cookies are never kept.
pub fn is_evidence_header(name: &str) -> bool {
    const KEEP: &[&str] = &[
        "server",
        "via",
        "x-squid-error",
        "proxy-status",
        "proxy-authenticate",
        // tinyproxy 1.11 challenges wrong proxy credentials with 401 + WWW-Authenticate.
        "www-authenticate",
        "proxy-agent",
        "content-type",
        "content-length",
        "mime-version",
        "cache-status",
        "x-cache",
    ];
    let lower = name.to_ascii_lowercase();
    if lower.contains("authorization") || lower.contains("cookie") {
        return false;
    }
    KEEP.contains(&lower.as_str())
        || (lower.starts_with("x-") && lower.contains("err"))
        || lower.starts_with("x-brd-")
}

/// The evidence headers of `headers`, values bounded.
pub fn evidence_headers(headers: &[(String, String)]) -> Vec<(String, String)> {
    headers
        .iter()
        .filter(|(n, _)| is_evidence_header(n))
        .map(|(n, v)| (n.clone(), bounded(v)))
        .collect()
}

fn bounded(v: &str) -> String {
    if v.len() <= MAX_VALUE {
        return v.to_owned();
    }
    let mut end = MAX_VALUE;
    while !v.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}…", &v[..end])
}

/// The authentication schemes offered in `Proxy-Authenticate` values, and the first realm.
/// Handles several challenges per field (`Negotiate, NTLM, Basic realm="corp"`) and quoted
/// commas.
pub fn auth_challenges<'a>(
    values: impl IntoIterator<Item = &'a str>,
) -> (Vec<String>, Option<String>) {
    let mut schemes = Vec::new();
    let mut realm = None;
    for value in values {
        for part in split_quoted(value, ',') {
            let part = part.trim();
            if part.is_empty() {
                continue;
            }
            let (first, rest) = match part.split_once(char::is_whitespace) {
                Some((f, r)) => (f, r.trim()),
                None => (part, ""),
            };
            let param = if first.contains('=') {
                part
            } else {
                if !schemes
                    .iter()
                    .any(|s: &String| s.eq_ignore_ascii_case(first))
                {
                    schemes.push(first.to_owned());
                }
                rest
            };
            if realm.is_none()
                && let Some((k, v)) = param.split_once('=')
                && k.trim().eq_ignore_ascii_case("realm")
            {
                realm = Some(v.trim().trim_matches('"').to_owned());
            }
        }
    }
    (schemes, realm)
}

fn split_quoted(s: &str, sep: char) -> Vec<&str> {
    let mut out = Vec::new();
    let mut start = 0;
    let mut quoted = false;
    let mut escaped = false;
    for (i, c) in s.char_indices() {
        if escaped {
            escaped = false;
        } else if quoted && c == '\\' {
            escaped = true;
        } else if c == '"' {
            quoted = !quoted;
        } else if c == sep && !quoted {
            out.push(&s[start..i]);
            start = i + c.len_utf8();
        }
    }
    out.push(&s[start..]);
    out
}

/// The Squid error name (`ERR_ACCESS_DENIED`) from `X-Squid-Error`, else from the error
/// template's body markers (`<!-- ERR_X -->`, `id=ERR_X`).
pub fn squid_error(reply: &ProxyReply) -> Option<String> {
    if let Some(v) = reply.header("x-squid-error") {
        let name = v.split_whitespace().next().unwrap_or("");
        if name.starts_with("ERR_") {
            return Some(name.to_owned());
        }
    }
    let body = reply.body_excerpt.as_deref()?;
    for marker in ["<!-- ERR_", "id=ERR_", "id=\"ERR_"] {
        if let Some(i) = body.find(marker) {
            let from = i + marker.len() - 4;
            let name: String = body[from..]
                .chars()
                .take_while(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || *c == '_')
                .collect();
            if name.len() > 4 {
                return Some(name);
            }
        }
    }
    None
}

/// The `error=` type of the first `Proxy-Status` member that has one (RFC 9209).
pub fn proxy_status_error(reply: &ProxyReply) -> Option<String> {
    reply
        .headers
        .iter()
        .filter(|(n, _)| n.eq_ignore_ascii_case("proxy-status"))
        .flat_map(|(_, v)| split_quoted(v, ','))
        .flat_map(|member| split_quoted(member, ';'))
        .find_map(|param| {
            let (k, v) = param.split_once('=')?;
            (k.trim() == "error").then(|| v.trim().trim_matches('"').to_owned())
        })
}

/// The challenges a refusal carries: `Proxy-Authenticate`, or for a 401 (tinyproxy's answer to
/// wrong proxy credentials) `WWW-Authenticate`. Schemes in order, and the first realm.
pub(crate) fn reply_challenges(reply: &ProxyReply) -> (Vec<String>, Option<String>) {
    let values = |name: &str| -> Vec<&str> {
        reply
            .headers
            .iter()
            .filter(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
            .collect()
    };
    let mut found = values("proxy-authenticate");
    if found.is_empty() && reply.status == 401 {
        found = values("www-authenticate");
    }
    auth_challenges(found)
}

/// Whether tinyproxy wrote this reply: its `Server: tinyproxy/…` header, or its error template
/// ("Generated by tinyproxy") when a header was stripped on the way.
fn is_tinyproxy(reply: &ProxyReply) -> bool {
    reply
        .header("server")
        .is_some_and(|s| s.trim_start().to_ascii_lowercase().starts_with("tinyproxy"))
        || reply
            .body_excerpt
            .as_deref()
            .is_some_and(|b| b.contains("Generated by tinyproxy"))
}

/// tinyproxy names the cause only in the reason phrase (`src/reqs.c`): "Unable to connect"
/// (destination refused, unreachable or unresolvable; "… to upstream proxy" for its parent),
/// "Filtered" (`Filter`), "Access violation" (`ConnectPort`), "Access denied" (`Allow`/`Deny`).
fn tinyproxy_kind(reply: &ProxyReply) -> Option<ErrorKind> {
    let reason = reply.reason.trim().to_ascii_lowercase();
    if reason.starts_with("unable to connect") {
        Some(ErrorKind::ProxyUpstream)
    } else if matches!(
        reason.as_str(),
        "filtered" | "access violation" | "access denied"
    ) {
        Some(ErrorKind::ProxyForbidden)
    } else {
        None
    }
}

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

/// How the body after a head is framed, as far as an excerpt needs to know.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Framing {
    /// `Content-Length: n`.
    Length(u64),
    /// `Transfer-Encoding: chunked`.
    Chunked,
    /// Neither: the body runs until the proxy closes (or our deadline).
    UntilClose,
}

/// The body framing a head declares.
pub(crate) fn framing(head: &Head) -> Framing {
    if head
        .header("transfer-encoding")
        .is_some_and(|v| v.to_ascii_lowercase().contains("chunked"))
    {
        return Framing::Chunked;
    }
    match head
        .header("content-length")
        .map(|v| v.trim().parse::<u64>())
    {
        Some(Ok(n)) => Framing::Length(n),
        _ => Framing::UntilClose,
    }
}

/// Decodes as much of a chunked body as `raw` holds; returns the data and whether the final
/// chunk was seen. Malformed framing ends decoding with what was read so far.
pub(crate) fn dechunk(raw: &[u8]) -> (Vec<u8>, bool) {
    let mut out = Vec::new();
    let mut rest = raw;
    loop {
        let Some(eol) = rest.iter().position(|&b| b == b'\n') else {
            return (out, false);
        };
        let line = String::from_utf8_lossy(&rest[..eol]);
        let size_txt = line
            .trim()
            .split(';')
            .next()
            .unwrap_or("")
            .trim()
            .to_owned();
        let Ok(size) = usize::from_str_radix(&size_txt, 16) else {
            return (out, false);
        };
        rest = &rest[eol + 1..];
        if size == 0 {
            return (out, true);
        }
        let take = size.min(rest.len());
        out.extend_from_slice(&rest[..take]);
        if take < size {
            return (out, false);
        }
        rest = &rest[size..];
        rest = rest
            .strip_prefix(b"\r\n")
            .or_else(|| rest.strip_prefix(b"\n"))
            .unwrap_or(rest);
    }
}

/// A bounded excerpt: at most [`MAX_EXCERPT`] bytes, lossily decoded, starting at an HTML page's
/// `<body` when there is one (what precedes it is styling, not explanation); and whether any of
/// the body was left out.
pub(crate) fn excerpt(body: &[u8], more: bool) -> (Option<String>, bool) {
    if body.is_empty() {
        return (None, more);
    }
    let start = find_ascii_ci(body, b"<body").unwrap_or(0);
    let rest = &body[start..];
    let cut = rest.len().min(MAX_EXCERPT);
    let mut text = String::from_utf8_lossy(&rest[..cut]).into_owned();
    // A multi-byte character cut in half decodes to U+FFFD (3 bytes): stay within the bound.
    while text.len() > MAX_EXCERPT {
        text.pop();
    }
    (Some(text), more || start > 0 || rest.len() > MAX_EXCERPT)
}

fn find_ascii_ci(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len())
        .position(|w| w.eq_ignore_ascii_case(needle))
}

#[cfg(test)]
mod tests {
    use super::*;

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
    fn head_parses_across_split_reads() {
        let full = b"HTTP/1.1 403 Forbidden\r\nServer: squid/6.10\r\nX-Squid-Error: ERR_ACCESS_DENIED 0\r\n\r\nbody";
        for cut in 0..full.len() - 4 {
            match parse(&full[..cut]) {
                Parsed::Partial => {}
                other => panic!("cut {cut}: {other:?}"),
            }
        }
        let Parsed::Complete(h) = parse(full) else {
            panic!("complete head expected")
        };
        assert_eq!(h.status, 403);
        assert_eq!(h.reason, "Forbidden");
        assert_eq!(h.header("x-squid-error"), Some("ERR_ACCESS_DENIED 0"));
        assert_eq!(&full[h.len..], b"body");
    }

    #[test]
    fn interim_replies_are_skipped_and_lf_only_lines_accepted() {
        let buf = b"HTTP/1.1 100 Continue\n\nHTTP/1.0 200 Connection established\nVia: x\n\nTUN";
        let Parsed::Complete(h) = parse(buf) else {
            panic!("complete head expected")
        };
        assert_eq!(h.status, 200);
        assert_eq!(h.header("via"), Some("x"));
        assert_eq!(&buf[h.len..], b"TUN");
        assert_eq!(
            parse(b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 2"),
            Parsed::Partial
        );
    }

    #[test]
    fn garbage_and_too_many_headers_are_invalid() {
        assert!(matches!(
            parse(b"SSH-2.0-OpenSSH_9.6\r\n"),
            Parsed::Invalid(_)
        ));
        assert!(matches!(
            parse(b"\x16\x03\x01\x00\x05hello"),
            Parsed::Invalid(_)
        ));
        let mut many = b"HTTP/1.1 200 OK\r\n".to_vec();
        for i in 0..150 {
            many.extend_from_slice(format!("X-H{i}: v\r\n").as_bytes());
        }
        many.extend_from_slice(b"\r\n");
        assert!(matches!(parse(&many), Parsed::Invalid(_)));
    }

    #[test]
    fn bounded_parse_refuses_heads_over_16_kib() {
        let mut long = b"HTTP/1.1 200 OK\r\nX-Pad: ".to_vec();
        long.resize(MAX_HEAD + 10, b'a');
        long.extend_from_slice(b"\r\n\r\n");
        assert!(matches!(parse(&long), Parsed::Complete(_)));
        assert!(matches!(parse_bounded(&long), Parsed::Invalid(_)));
        assert!(matches!(
            parse_bounded(&long[..MAX_HEAD]),
            Parsed::Invalid(_)
        ));
        assert_eq!(parse_bounded(&long[..MAX_HEAD - 1]), Parsed::Partial);
        let mut interim = Vec::new();
        while interim.len() <= MAX_HEAD {
            interim.extend_from_slice(b"HTTP/1.1 100 Continue\r\n\r\n");
        }
        interim.extend_from_slice(b"HTTP/1.1 200 OK\r\n\r\n");
        assert!(matches!(parse_bounded(&interim), Parsed::Invalid(_)));
        assert!(matches!(
            parse_bounded(b"HTTP/1.1 200 OK\r\n\r\n"),
            Parsed::Complete(h) if h.status == 200
        ));
    }

    #[test]
    fn evidence_headers_never_keep_credentials() {
        let hs = vec![
            ("Server".to_owned(), "squid/6.10".to_owned()),
            ("Set-Cookie".to_owned(), "s=1".to_owned()),
            (
                "Proxy-Authorization".to_owned(),
                "Basic c2VjcmV0".to_owned(),
            ),
            ("X-BRD-Err-Code".to_owned(), "client_10100".to_owned()),
            ("X-Tinyproxy".to_owned(), "10.0.0.1".to_owned()),
            ("Via".to_owned(), "x".repeat(2000)),
        ];
        let kept = evidence_headers(&hs);
        let names: Vec<&str> = kept.iter().map(|(n, _)| n.as_str()).collect();
        assert_eq!(names, ["Server", "X-BRD-Err-Code", "Via"]);
        assert!(kept[2].1.len() < 600);
    }

    #[test]
    fn challenges_list_every_scheme_and_the_realm() {
        let (s, r) = auth_challenges([
            "Negotiate, NTLM",
            "Basic realm=\"corp, west\", charset=\"UTF-8\"",
        ]);
        assert_eq!(s, ["Negotiate", "NTLM", "Basic"]);
        assert_eq!(r.as_deref(), Some("corp, west"));
        let (s, r) = auth_challenges(["Digest realm=\"x\", nonce=\"a,b\", qop=\"auth\""]);
        assert_eq!(s, ["Digest"]);
        assert_eq!(r.as_deref(), Some("x"));
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

    #[test]
    fn chunked_bodies_decode_partially() {
        assert_eq!(
            dechunk(b"5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n"),
            (b"hello world".to_vec(), true)
        );
        assert_eq!(dechunk(b"5\r\nhel"), (b"hel".to_vec(), false));
        assert_eq!(dechunk(b"zz\r\n"), (Vec::new(), false));
        let mut page = b"<html><head><style>".to_vec();
        page.extend_from_slice(&[b'x'; 3000]);
        page.extend_from_slice(b"</style></head><BODY id=ERR_ACCESS_DENIED><p>denied</p>");
        let (ex, more) = excerpt(&page, false);
        let ex = ex.unwrap();
        assert!(ex.starts_with("<BODY id=ERR_ACCESS_DENIED>"), "{ex}");
        assert!(more, "the styling was left out");
        let (ex, more) = excerpt("é".repeat(600).as_bytes(), false);
        assert!(ex.unwrap().len() <= MAX_EXCERPT);
        assert!(more);
        let (ex, more) = excerpt(&[b'a'; 3000], false);
        assert_eq!(ex.map(|s| s.len()), Some(MAX_EXCERPT));
        assert!(more);
    }
}
