//! The answer of `FindProxyForURL` ("PROXY a:3128; SOCKS5 b:1080; DIRECT") read strictly into
//! an ordered list of [`PacEntry`] candidates, with a [`ResultDiagnostic`] for every entry that
//! is not usable — kept with its position, never dropped without a word.
//!
//! Browsers agree on the shape: entries separated by `;`, blanks around entries and empty
//! entries ignored, keywords case-insensitive, the keyword separated from `host:port` by blanks.
//! Where they are lenient in ways that hide mistakes, the reading here keeps the entry but says
//! so (a missing port gets the keyword's default port and a warning, as browsers fill it in);
//! where they silently fall back (Chromium treats an answer with no valid entry as `DIRECT`), the
//! caller gets the diagnostics and decides (the evaluator turns "no usable entry" into
//! `pac.result`). Where they disagree (`HTTP` is a keyword to Firefox, not to Chromium), the
//! entry is read the lenient way and the disagreement is a warning.
//!
//! Pure and bounded: at most [`MAX_RESULT_LEN`] bytes are read and at most [`MAX_ENTRIES`]
//! entries kept; the rest is one diagnostic.

use std::fmt;
use std::net::{IpAddr, Ipv6Addr};

use serde::Serialize;

/// The longest answer read, in bytes; anything after it is reported, not parsed.
pub const MAX_RESULT_LEN: usize = 64 * 1024;
/// The most entries kept from one answer; further entries are reported, not parsed.
pub const MAX_ENTRIES: usize = 64;
/// The longest entry text quoted in a diagnostic, in bytes.
const MAX_QUOTE: usize = 200;

/// The kind of proxy a PAC entry names.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum PacProxyKind {
    /// `PROXY` or `HTTP`: an HTTP proxy (CONNECT for `https://`, absolute-form for `http://`).
    Http,
    /// `HTTPS`: an HTTP proxy reached over TLS.
    Https,
    /// `SOCKS` or `SOCKS4`: a SOCKS4 proxy.
    Socks4,
    /// `SOCKS5`: a SOCKS5 proxy.
    Socks5,
}

impl PacProxyKind {
    /// The keyword this kind renders as (`PROXY`, `HTTPS`, `SOCKS4`, `SOCKS5`).
    pub fn keyword(self) -> &'static str {
        match self {
            Self::Http => "PROXY",
            Self::Https => "HTTPS",
            Self::Socks4 => "SOCKS4",
            Self::Socks5 => "SOCKS5",
        }
    }

    /// The proxy URL scheme browsers use for this kind: `http`, `https`, `socks4` or `socks5h`
    /// (Chromium sends host names to a SOCKS5 proxy and resolves locally for SOCKS4).
    pub fn url_scheme(self) -> &'static str {
        match self {
            Self::Http => "http",
            Self::Https => "https",
            Self::Socks4 => "socks4",
            Self::Socks5 => "socks5h",
        }
    }

    /// The port browsers assume when an entry has none: 80, 443, 1080, 1080.
    pub fn default_port(self) -> u16 {
        match self {
            Self::Http => 80,
            Self::Https => 443,
            Self::Socks4 | Self::Socks5 => 1080,
        }
    }
}

/// One usable candidate from a PAC answer, in the order it is to be tried.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
#[serde(tag = "type", rename_all = "lowercase")]
pub enum PacEntry {
    /// `DIRECT`: connect to the destination without a proxy.
    Direct,
    /// A proxy to try.
    Proxy {
        /// What kind of proxy.
        kind: PacProxyKind,
        /// The host: a lower-case name, an IPv4 address, or an IPv6 address in brackets.
        host: String,
        /// The port.
        port: u16,
    },
}

impl PacEntry {
    /// The entry as a proxy URL (`http://a:3128`, `socks5h://b:1080`), or `"direct"`.
    pub fn to_url(&self) -> String {
        match self {
            Self::Direct => "direct".to_owned(),
            Self::Proxy { kind, host, port } => format!("{}://{host}:{port}", kind.url_scheme()),
        }
    }
}

impl fmt::Display for PacEntry {
    /// The entry as PAC writes it: `DIRECT`, `PROXY host:port`, `SOCKS5 host:port`, ...
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Direct => f.write_str("DIRECT"),
            Self::Proxy { kind, host, port } => write!(f, "{} {host}:{port}", kind.keyword()),
        }
    }
}

/// Whether a diagnosed entry was kept or dropped.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum ResultSeverity {
    /// The entry was not usable and is not in the list.
    Error,
    /// The entry is in the list, but it probably does not say what was meant.
    Warning,
}

/// What is wrong with one entry of a PAC answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum ResultProblem {
    /// The keyword is none of `DIRECT`, `PROXY`, `HTTP`, `HTTPS`, `SOCKS`, `SOCKS4`, `SOCKS5`.
    UnknownKeyword,
    /// A keyword browsers know that proxyscope does not connect through (`QUIC`).
    UnsupportedKeyword,
    /// A proxy keyword without `host:port`.
    MissingHost,
    /// The host is not a name, an IPv4 address or a bracketed IPv6 address.
    BadHost,
    /// The port is not a number from 1 to 65535.
    BadPort,
    /// No port: the keyword's default port is used, as browsers do (warning).
    MissingPort,
    /// `HTTP`: read as `PROXY` here and by Firefox, but not a keyword Chromium knows — Chromium
    /// drops the entry and goes on to the next, or to `DIRECT` (warning).
    NonPortableKeyword,
    /// Text after `DIRECT` or after `host:port`.
    TrailingText,
    /// The answer has more than [`MAX_ENTRIES`] entries; the rest were not read.
    TooManyEntries,
    /// The answer is longer than [`MAX_RESULT_LEN`] bytes; the rest was not read.
    TooLong,
}

impl ResultProblem {
    /// A stable code, e.g. `pac_result.unknown_keyword`.
    pub fn code(self) -> &'static str {
        match self {
            Self::UnknownKeyword => "pac_result.unknown_keyword",
            Self::UnsupportedKeyword => "pac_result.unsupported_keyword",
            Self::MissingHost => "pac_result.missing_host",
            Self::BadHost => "pac_result.bad_host",
            Self::BadPort => "pac_result.bad_port",
            Self::MissingPort => "pac_result.missing_port",
            Self::NonPortableKeyword => "pac_result.non_portable_keyword",
            Self::TrailingText => "pac_result.trailing_text",
            Self::TooManyEntries => "pac_result.too_many_entries",
            Self::TooLong => "pac_result.too_long",
        }
    }

    fn describe(self) -> &'static str {
        match self {
            Self::UnknownKeyword => "unknown keyword",
            Self::UnsupportedKeyword => "a keyword proxyscope does not connect through",
            Self::MissingHost => "no host:port after the keyword",
            Self::BadHost => "the host is not a name or an IP address",
            Self::BadPort => "the port is not a number from 1 to 65535",
            Self::MissingPort => "no port; the keyword's default port is used, as browsers do",
            Self::NonPortableKeyword => {
                "HTTP is read as PROXY here and by Firefox, but Chromium drops the entry; write PROXY"
            }
            Self::TrailingText => "unexpected text after the entry",
            Self::TooManyEntries => "too many entries; the rest were not read",
            Self::TooLong => "the answer is too long; the rest was not read",
        }
    }
}

/// One finding about an entry of a PAC answer: where it is, what it says, what is wrong.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ResultDiagnostic {
    /// Dropped (error) or kept with a doubt (warning).
    pub severity: ResultSeverity,
    /// What is wrong.
    pub problem: ResultProblem,
    /// The entry's number among the `;`-separated entries, from 0 (empty entries count).
    pub index: usize,
    /// The byte offset of the entry's first non-blank character in the answer.
    pub offset: usize,
    /// The entry's length in the answer, in bytes, blanks trimmed.
    pub len: usize,
    /// The entry as written, blanks trimmed, credentials (`user:password@`) redacted, at most
    /// 200 bytes.
    pub text: String,
}

impl fmt::Display for ResultDiagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let sev = match self.severity {
            ResultSeverity::Error => "error",
            ResultSeverity::Warning => "warning",
        };
        write!(
            f,
            "{sev}: entry {} at byte {} \"{}\": {}",
            self.index,
            self.offset,
            self.text,
            self.problem.describe()
        )
    }
}

/// A PAC answer read into candidates and diagnostics.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct PacResult {
    /// The usable candidates, in order.
    pub entries: Vec<PacEntry>,
    /// Every entry that was dropped or is doubtful, in order.
    pub diagnostics: Vec<ResultDiagnostic>,
}

impl PacResult {
    /// Whether any entry was dropped.
    pub fn has_errors(&self) -> bool {
        self.diagnostics
            .iter()
            .any(|d| d.severity == ResultSeverity::Error)
    }
}

impl fmt::Display for PacResult {
    /// The candidates as PAC writes them, `; `-separated (`PROXY a:3128; DIRECT`).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, e) in self.entries.iter().enumerate() {
            if i > 0 {
                f.write_str("; ")?;
            }
            write!(f, "{e}")?;
        }
        Ok(())
    }
}

/// PAC's blanks: browsers trim spaces and tabs; line breaks are treated the same so an answer
/// built with `+ "\n"` reads as written.
fn is_blank(c: char) -> bool {
    matches!(c, ' ' | '\t' | '\r' | '\n')
}

/// Reads a PAC answer strictly. Never panics; reads at most [`MAX_RESULT_LEN`] bytes and keeps
/// at most [`MAX_ENTRIES`] entries.
pub fn parse_result(answer: &str) -> PacResult {
    let mut out = PacResult::default();
    let (text, truncated) = if answer.len() > MAX_RESULT_LEN {
        let mut end = MAX_RESULT_LEN;
        while !answer.is_char_boundary(end) {
            end -= 1;
        }
        (&answer[..end], true)
    } else {
        (answer, false)
    };
    // Entries are quoted in diagnostics as printed: credentials masked across the whole answer,
    // since a password may hold the `;` that splits it.
    let masks = crate::proxy::redact::masks::list(text);
    let shown = |at: usize, entry: &str| masks.apply_within(text, at..at + entry.len());
    let mut offset = 0;
    let mut kept = 0;
    for (index, raw) in text.split(';').enumerate() {
        let start = offset;
        offset += raw.len() + 1;
        let entry = raw.trim_matches(is_blank);
        if entry.is_empty() {
            continue;
        }
        let lead = raw.len() - raw.trim_start_matches(is_blank).len();
        let at = start + lead;
        if kept == MAX_ENTRIES {
            out.diagnostics.push(diag(
                ResultSeverity::Error,
                ResultProblem::TooManyEntries,
                index,
                at,
                entry.len(),
                &shown(at, entry),
            ));
            break;
        }
        match parse_entry(entry) {
            Ok((e, warnings)) => {
                for problem in warnings.into_iter().flatten() {
                    out.diagnostics.push(diag(
                        ResultSeverity::Warning,
                        problem,
                        index,
                        at,
                        entry.len(),
                        &shown(at, entry),
                    ));
                }
                out.entries.push(e);
                kept += 1;
            }
            Err(problem) => {
                out.diagnostics.push(diag(
                    ResultSeverity::Error,
                    problem,
                    index,
                    at,
                    entry.len(),
                    &shown(at, entry),
                ));
            }
        }
    }
    if truncated {
        out.diagnostics.push(diag(
            ResultSeverity::Error,
            ResultProblem::TooLong,
            text.split(';').count(),
            text.len(),
            0,
            "",
        ));
    }
    out
}

/// A finding about the entry of `len` bytes at `offset`, quoted as `shown` (already redacted,
/// before it is cut, so a cut can never keep a password whose `@` fell beyond it).
fn diag(
    severity: ResultSeverity,
    problem: ResultProblem,
    index: usize,
    offset: usize,
    len: usize,
    shown: &str,
) -> ResultDiagnostic {
    let quoted = shown;
    let mut end = quoted.len().min(MAX_QUOTE);
    while !quoted.is_char_boundary(end) {
        end -= 1;
    }
    ResultDiagnostic {
        severity,
        problem,
        index,
        offset,
        len,
        text: quoted[..end].to_owned(),
    }
}

/// One trimmed, non-empty entry: the candidate and, when it is kept with doubts, the warnings
/// (about its keyword, then its port).
fn parse_entry(entry: &str) -> Result<(PacEntry, [Option<ResultProblem>; 2]), ResultProblem> {
    let (keyword, rest) = match entry.find(is_blank) {
        Some(i) => (&entry[..i], entry[i..].trim_start_matches(is_blank)),
        None => (entry, ""),
    };
    let upper = keyword.to_ascii_uppercase();
    let kind = match upper.as_str() {
        "DIRECT" => {
            return if rest.is_empty() {
                Ok((PacEntry::Direct, [None, None]))
            } else {
                Err(ResultProblem::TrailingText)
            };
        }
        "PROXY" | "HTTP" => PacProxyKind::Http,
        "HTTPS" => PacProxyKind::Https,
        "SOCKS" | "SOCKS4" => PacProxyKind::Socks4,
        "SOCKS5" => PacProxyKind::Socks5,
        "QUIC" => return Err(ResultProblem::UnsupportedKeyword),
        _ => return Err(ResultProblem::UnknownKeyword),
    };
    if rest.is_empty() {
        return Err(ResultProblem::MissingHost);
    }
    if rest.contains(is_blank) {
        return Err(ResultProblem::TrailingText);
    }
    let (host, port) = split_host_port(rest)?;
    let (port, warning) = match port {
        Some(p) => (p, None),
        None => (kind.default_port(), Some(ResultProblem::MissingPort)),
    };
    let keyword_warning = (upper == "HTTP").then_some(ResultProblem::NonPortableKeyword);
    Ok((
        PacEntry::Proxy { kind, host, port },
        [keyword_warning, warning],
    ))
}

/// `host[:port]` with the host a name, an IPv4 address or `[IPv6]`; the port, when present,
/// 1 to 65535 in decimal.
fn split_host_port(s: &str) -> Result<(String, Option<u16>), ResultProblem> {
    let (host, port) = if let Some(inner) = s.strip_prefix('[') {
        let close = inner.find(']').ok_or(ResultProblem::BadHost)?;
        let v6: Ipv6Addr = inner[..close].parse().map_err(|_| ResultProblem::BadHost)?;
        let after = &inner[close + 1..];
        let port = match after.strip_prefix(':') {
            Some(p) => Some(p),
            None if after.is_empty() => None,
            None => return Err(ResultProblem::BadHost),
        };
        (format!("[{v6}]"), port)
    } else {
        let (host, port) = match s.rsplit_once(':') {
            Some((h, p)) => (h, Some(p)),
            None => (s, None),
        };
        if host.contains(':') {
            // An unbracketed IPv6 address: ambiguous with a port, refused like browsers do.
            return Err(ResultProblem::BadHost);
        }
        (valid_host(host)?, port)
    };
    let port = match port {
        None => None,
        Some(p) => Some(parse_port(p)?),
    };
    Ok((host, port))
}

fn parse_port(p: &str) -> Result<u16, ResultProblem> {
    if p.is_empty() || p.len() > 5 || !p.bytes().all(|b| b.is_ascii_digit()) {
        return Err(ResultProblem::BadPort);
    }
    match p.parse::<u16>() {
        Ok(0) | Err(_) => Err(ResultProblem::BadPort),
        Ok(n) => Ok(n),
    }
}

/// A host name (letters, digits, `-`, `_`, dot-separated labels of 1 to 63 bytes, at most 253
/// bytes, one trailing dot allowed) or an IPv4 address; lower-cased.
fn valid_host(host: &str) -> Result<String, ResultProblem> {
    if let Ok(IpAddr::V4(v4)) = host.parse::<IpAddr>() {
        return Ok(v4.to_string());
    }
    let name = host.strip_suffix('.').unwrap_or(host);
    let ok = !name.is_empty()
        && host.len() <= 253
        && name.split('.').all(|label| {
            !label.is_empty()
                && label.len() <= 63
                && label
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        });
    // A name of digits and dots only is a malformed IPv4 address, not a name.
    let numeric = name.bytes().all(|b| b.is_ascii_digit() || b == b'.');
    if ok && !numeric {
        Ok(host.to_ascii_lowercase())
    } else {
        Err(ResultProblem::BadHost)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn proxy(kind: PacProxyKind, host: &str, port: u16) -> PacEntry {
        PacEntry::Proxy {
            kind,
            host: host.to_owned(),
            port,
        }
    }

    #[test]
    fn every_keyword_reads_case_insensitively() {
        use PacProxyKind::*;
        let r = parse_result(
            "PROXY a:1; proxy b:2;HTTP c:3; https d:4; SOCKS e:5; Socks4 f:6; socks5 g:7; direct",
        );
        assert_eq!(
            r.entries,
            [
                proxy(Http, "a", 1),
                proxy(Http, "b", 2),
                proxy(Http, "c", 3),
                proxy(Https, "d", 4),
                proxy(Socks4, "e", 5),
                proxy(Socks4, "f", 6),
                proxy(Socks5, "g", 7),
                PacEntry::Direct,
            ]
        );
        // Only HTTP draws a doubt: Chromium does not know it.
        let found: Vec<_> = r
            .diagnostics
            .iter()
            .map(|d| (d.problem, d.index, d.severity))
            .collect();
        assert_eq!(
            found,
            [(
                ResultProblem::NonPortableKeyword,
                2,
                ResultSeverity::Warning
            )]
        );
        // With no port either: both doubts, the keyword's first.
        let r = parse_result("HTTP c");
        assert_eq!(r.entries, [proxy(Http, "c", 80)]);
        let found: Vec<_> = r.diagnostics.iter().map(|d| d.problem).collect();
        assert_eq!(
            found,
            [
                ResultProblem::NonPortableKeyword,
                ResultProblem::MissingPort
            ]
        );
        assert_eq!(
            ResultProblem::NonPortableKeyword.code(),
            "pac_result.non_portable_keyword"
        );
    }

    #[test]
    fn blanks_and_empty_entries_are_tolerated_as_browsers_do() {
        let r = parse_result(" \tPROXY  a.example:3128 ;; ;\n DIRECT ;");
        assert_eq!(
            r.entries,
            [
                proxy(PacProxyKind::Http, "a.example", 3128),
                PacEntry::Direct
            ]
        );
        assert!(r.diagnostics.is_empty());
        assert_eq!(parse_result("").entries, []);
        assert_eq!(parse_result(" ; ;").entries, []);
    }

    #[test]
    fn bad_entries_are_diagnosed_with_their_position_and_the_rest_kept() {
        let answer = "PROXY a:3128; FTP b:21; PROXY c:99999;  SOCKS5; DIRECT now; PROXY [::1]:8080";
        let r = parse_result(answer);
        assert_eq!(
            r.entries,
            [
                proxy(PacProxyKind::Http, "a", 3128),
                proxy(PacProxyKind::Http, "[::1]", 8080)
            ]
        );
        let found: Vec<_> = r
            .diagnostics
            .iter()
            .map(|d| (d.problem, d.index, d.offset, d.text.as_str()))
            .collect();
        assert_eq!(
            found,
            [
                (ResultProblem::UnknownKeyword, 1, 14, "FTP b:21"),
                (ResultProblem::BadPort, 2, 24, "PROXY c:99999"),
                (ResultProblem::MissingHost, 3, 40, "SOCKS5"),
                (ResultProblem::TrailingText, 4, 48, "DIRECT now"),
            ]
        );
        for d in &r.diagnostics {
            assert_eq!(&answer[d.offset..d.offset + d.len], d.text);
            assert_eq!(d.severity, ResultSeverity::Error);
        }
        assert!(r.has_errors());
    }

    #[test]
    fn hosts_and_ports_are_strict() {
        for bad in [
            "PROXY :80",
            "PROXY a:",
            "PROXY a:0",
            "PROXY a:+80",
            "PROXY a:8o",
            "PROXY a b:80",
            "PROXY ::1:80",
            "PROXY [::1",
            "PROXY [::1]x",
            "PROXY [nope]:80",
            "PROXY a..b:80",
            "PROXY 1.2.3:80",
            "PROXY 999.1.1.1:80",
            "PROXY a/b:80",
            "PROXY user@a:80",
            "QUIC a:443",
        ] {
            let r = parse_result(bad);
            assert!(r.entries.is_empty(), "{bad} read as {:?}", r.entries);
            assert_eq!(r.diagnostics.len(), 1, "{bad}");
        }
        let r = parse_result("PROXY Egress.Example.ORG.:3128; PROXY 10.0.0.1:8080");
        assert_eq!(
            r.entries,
            [
                proxy(PacProxyKind::Http, "egress.example.org.", 3128),
                proxy(PacProxyKind::Http, "10.0.0.1", 8080)
            ]
        );
    }

    #[test]
    fn a_missing_port_takes_the_default_with_a_warning() {
        let r = parse_result("PROXY a; HTTPS b; SOCKS c; SOCKS5 [::1]");
        assert_eq!(
            r.entries,
            [
                proxy(PacProxyKind::Http, "a", 80),
                proxy(PacProxyKind::Https, "b", 443),
                proxy(PacProxyKind::Socks4, "c", 1080),
                proxy(PacProxyKind::Socks5, "[::1]", 1080),
            ]
        );
        assert_eq!(r.diagnostics.len(), 4);
        assert!(
            r.diagnostics
                .iter()
                .all(|d| d.severity == ResultSeverity::Warning
                    && d.problem == ResultProblem::MissingPort)
        );
        assert!(!r.has_errors());
    }

    #[test]
    fn entries_render_and_reparse_to_themselves() {
        let r = parse_result("proxy A:1; http b:2; socks c:3; HTTPS [::ffff:1.2.3.4]:4; direct");
        let again = parse_result(&r.to_string());
        assert_eq!(again.entries, r.entries);
        assert!(again.diagnostics.is_empty());
        assert_eq!(
            r.to_string(),
            "PROXY a:1; PROXY b:2; SOCKS4 c:3; HTTPS [::ffff:1.2.3.4]:4; DIRECT"
        );
        assert_eq!(r.entries[2].to_url(), "socks4://c:3");
        assert_eq!(r.entries[4].to_url(), "direct");
        assert_eq!(
            parse_result("SOCKS5 s:1080").entries[0].to_url(),
            "socks5h://s:1080"
        );
    }

    #[test]
    fn credentials_in_an_entry_are_never_quoted() {
        let r = parse_result("PROXY user:s3cret@proxy.example:3128; DIRECT");
        assert_eq!(r.entries, [PacEntry::Direct]);
        assert_eq!(r.diagnostics[0].problem, ResultProblem::BadHost);
        assert!(!r.diagnostics[0].text.contains("s3cret"));
        assert_eq!(
            r.diagnostics[0].len,
            "PROXY user:s3cret@proxy.example:3128".len()
        );
        // Even where the quote is cut before the `@`.
        let long = format!("PROXY u:{}@p:1", "s".repeat(400));
        let r = parse_result(&long);
        assert!(
            !r.diagnostics[0].text.contains("ss"),
            "{}",
            r.diagnostics[0].text
        );
        // A password holding the `;` and blanks that split the answer.
        let r = parse_result("PROXY us3r:Kq8;Zw5 Vb2@proxy.example:3128; DIRECT");
        let quoted: Vec<&str> = r.diagnostics.iter().map(|d| d.text.as_str()).collect();
        assert!(!quoted.is_empty());
        for part in ["Kq8", "Zw5", "Vb2"] {
            assert!(quoted.iter().all(|q| !q.contains(part)), "{quoted:?}");
        }
    }

    #[test]
    fn input_and_entry_counts_are_bounded() {
        let many = "DIRECT;".repeat(MAX_ENTRIES + 10);
        let r = parse_result(&many);
        assert_eq!(r.entries.len(), MAX_ENTRIES);
        assert_eq!(r.diagnostics.len(), 1);
        assert_eq!(r.diagnostics[0].problem, ResultProblem::TooManyEntries);
        assert_eq!(r.diagnostics[0].index, MAX_ENTRIES);

        let long = format!("PROXY a:1; {}", "é".repeat(MAX_RESULT_LEN));
        let r = parse_result(&long);
        assert_eq!(r.entries.len(), 1);
        assert_eq!(
            r.diagnostics.last().map(|d| d.problem),
            Some(ResultProblem::TooLong)
        );
        assert!(r.diagnostics.iter().all(|d| d.text.len() <= MAX_QUOTE));
    }
}
