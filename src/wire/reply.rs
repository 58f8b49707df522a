//! A proxy's HTTP reply, read without I/O: the head parser (bounded, split-read safe), the body
//! framing and the bounded excerpt kept as evidence, the headers worth keeping, and the
//! authentication challenges (`Proxy-Authenticate`, or tinyproxy's `WWW-Authenticate` on 401).

use crate::error::ProxyReply;

/// The most header bytes we accept from a proxy before calling its reply oversized.
pub const MAX_HEAD: usize = 16 * 1024;
/// The most body bytes kept as an excerpt.
pub(crate) const MAX_EXCERPT: usize = 1024;

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
pub(crate) fn is_evidence_header(name: &str) -> bool {
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
        // A proxy that redirects instead of relaying (a login page, a captive portal).
        "location",
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

pub(crate) fn split_quoted(s: &str, sep: char) -> Vec<&str> {
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

/// How the body after a head is framed, as far as an excerpt needs to know.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Framing {
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
