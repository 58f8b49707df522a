//! Where the secrets are in a value: the byte ranges to mask, found by reading the value's
//! structure (scheme, userinfo, query), then applied to the whole value or to any slice of it.
//!
//! The userinfo of a URL ends at its last `@`, wherever that is: a password may hold any byte,
//! `/`, `?`, `#`, `@` and blanks unencoded included, and a parser that ended the authority at the
//! first `/` would print the rest of such a password as a path. Masking up to the last `@` hides
//! every password whatever it holds; the price is that a URL with an `@` in its path or query
//! shows `***` where its host and path were (write `%40` there).

use std::ops::Range;

use super::MASK;
use super::params::is_secret_param;

/// The sorted, disjoint byte ranges of one value that hold secrets.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub(crate) struct Masks(Vec<Range<usize>>);

impl Masks {
    fn push(&mut self, r: Range<usize>) {
        if r.start < r.end {
            self.0.push(r);
        }
    }

    fn finish(mut self) -> Self {
        self.0.sort_by_key(|r| r.start);
        let mut merged: Vec<Range<usize>> = Vec::with_capacity(self.0.len());
        for r in self.0 {
            match merged.last_mut() {
                Some(last) if r.start <= last.end => last.end = last.end.max(r.end),
                _ => merged.push(r),
            }
        }
        Self(merged)
    }

    /// `value` with every masked range replaced by `***`.
    pub(crate) fn apply(&self, value: &str) -> String {
        self.apply_within(value, 0..value.len())
    }

    /// `value[range]` with the masked ranges (clipped to it) replaced by `***`. `range` must lie
    /// on character boundaries.
    pub(crate) fn apply_within(&self, value: &str, range: Range<usize>) -> String {
        let mut out = String::with_capacity(range.len());
        let mut at = range.start;
        for m in &self.0 {
            let (start, end) = (m.start.max(range.start), m.end.min(range.end));
            if start >= end {
                continue;
            }
            out.push_str(&value[at..start]);
            out.push_str(MASK);
            at = end;
        }
        out.push_str(&value[at..range.end]);
        out
    }
}

/// The end of a `scheme://` prefix starting exactly at `from` (RFC 3986 scheme characters).
fn scheme_end(s: &str, from: usize) -> Option<usize> {
    let b = s.as_bytes();
    if !b.get(from)?.is_ascii_alphabetic() {
        return None;
    }
    let mut i = from;
    while i < b.len() && (b[i].is_ascii_alphanumeric() || matches!(b[i], b'+' | b'-' | b'.')) {
        i += 1;
    }
    s[i..].starts_with("://").then_some(i + 3)
}

/// Masks for a value meant to be one URL (a proxy or origin URL, with or without scheme): the
/// userinfo (everything between the scheme and the last `@`) and secret query values.
pub(crate) fn url(value: &str) -> Masks {
    let mut m = Masks::default();
    let lead = value.len() - value.trim_start().len();
    let start = scheme_end(value, lead).unwrap_or(lead);
    if let Some(at) = value.rfind('@')
        && at > start
    {
        m.push(start..at);
    }
    query(value, &mut m, false);
    m.finish()
}

/// Masks for a path with an optional query (a check's `path`): secret query values only; a
/// path has no userinfo.
pub(crate) fn path(value: &str) -> Masks {
    let mut m = Masks::default();
    query(value, &mut m, false);
    m.finish()
}

/// Masks for a list: a `no_proxy` value, or a PAC answer (`PROXY host:port; DIRECT`), whose
/// entries are separated by commas, semicolons and blanks. A URL-shaped entry's
/// password may hold commas and blanks, so its userinfo runs from the first entry that could
/// start one (it holds `:` or `@`) to the value's last `@`. An IPv6 entry before it is masked
/// too: `fe80::1,x@host` may be the user `fe80` with the password `:1,x`.
pub(crate) fn list(value: &str) -> Masks {
    let mut m = Masks::default();
    if let Some(last_at) = value.rfind('@') {
        let start = tokens(value)
            .take_while(|(at, _)| *at <= last_at)
            .find(|(_, t)| t.contains(['@', ':']))
            .map(|(at, _)| {
                scheme_end(value, at)
                    .filter(|e| *e <= last_at)
                    .unwrap_or(at)
            });
        if let Some(start) = start {
            m.push(start..last_at);
        }
    }
    query(value, &mut m, false);
    m.finish()
}

/// Masks for free text that may mention URLs (causes from other libraries): the userinfo
/// before each `@` back to the nearest `scheme://` on the same line, or a `user:password@`
/// word; secret query values up to the next blank or quote. An e-mail address is left alone.
pub(crate) fn text(value: &str) -> Masks {
    let mut m = Masks::default();
    let b = value.as_bytes();
    let mut floor = 0;
    for (at, _) in value.match_indices('@') {
        let line = value[..at].rfind(['\n', '\r']).map_or(0, |i| i + 1);
        let lo = floor.max(line);
        let scheme = value[lo..at]
            .match_indices("://")
            .filter_map(|(i, _)| {
                let colon = lo + i;
                let mut s = colon;
                while s > lo
                    && (b[s - 1].is_ascii_alphanumeric() || matches!(b[s - 1], b'+' | b'-' | b'.'))
                {
                    s -= 1;
                }
                let bounded = s == 0 || is_text_delim(b[s - 1]);
                (bounded && s < colon && scheme_end(value, s) == Some(colon + 3))
                    .then_some(colon + 3)
            })
            .last();
        match scheme {
            Some(start) => m.push(start..at),
            None => {
                let word = value[lo..at]
                    .rfind(|c: char| c.is_ascii() && is_text_delim(c as u8))
                    .map_or(lo, |i| lo + i + 1);
                if value[word..at].contains(':') {
                    m.push(word..at);
                }
            }
        }
        floor = at + 1;
    }
    query(value, &mut m, true);
    m.finish()
}

/// Characters that end a word in free text.
fn is_text_delim(c: u8) -> bool {
    c.is_ascii_whitespace()
        || matches!(
            c,
            b'"' | b'\''
                | b'`'
                | b'<'
                | b'>'
                | b'('
                | b')'
                | b','
                | b';'
                | b'{'
                | b'}'
                | b'['
                | b']'
                | b'='
        )
}

/// Secret query values: after `?`, `&`, `;` or `#`, a `name=` whose name is secret; the value
/// runs to the next `&` or `#` (in free text also to the next blank or quote), and a fragment
/// right after a secret value is masked with it.
fn query(value: &str, m: &mut Masks, text: bool) {
    let b = value.as_bytes();
    let ends_value = |c: u8| matches!(c, b'&' | b'#') || (text && is_text_delim(c) && c != b'=');
    for (i, &c) in b.iter().enumerate() {
        if !matches!(c, b'?' | b'&' | b';' | b'#') {
            continue;
        }
        let name_start = i + 1;
        let mut j = name_start;
        while j < b.len()
            && !matches!(b[j], b'=' | b'&' | b'#' | b'?' | b';' | b'/')
            && !(text && is_text_delim(b[j]))
        {
            j += 1;
        }
        if j == name_start || b.get(j) != Some(&b'=') || !is_secret_param(&value[name_start..j]) {
            continue;
        }
        let mut k = j + 1;
        while k < b.len() && !ends_value(b[k]) {
            k += 1;
        }
        if !text && b.get(k) == Some(&b'#') {
            // A `#` in a secret value cuts it on the wire too; what follows is no use to
            // anyone reading the output, and may be the rest of the secret.
            k = b.len();
        }
        m.push(j + 1..k);
    }
}

/// The entries of a list (a `no_proxy` value, a PAC answer) with their byte offsets: split at
/// commas, semicolons and blanks.
pub(crate) fn tokens(value: &str) -> impl Iterator<Item = (usize, &str)> {
    let is_sep = |c: char| matches!(c, ',' | ';') || c.is_whitespace();
    let mut rest = value;
    let mut offset = 0;
    std::iter::from_fn(move || {
        let skip = rest.len() - rest.trim_start_matches(is_sep).len();
        rest = &rest[skip..];
        offset += skip;
        if rest.is_empty() {
            return None;
        }
        let len = rest.find(is_sep).unwrap_or(rest.len());
        let token = (offset, &rest[..len]);
        rest = &rest[len..];
        offset += len;
        Some(token)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn u(s: &str) -> String {
        url(s).apply(s)
    }
    fn l(s: &str) -> String {
        list(s).apply(s)
    }
    fn t(s: &str) -> String {
        text(s).apply(s)
    }

    #[test]
    fn one_url_value() {
        let cases: &[(&str, &str)] = &[
            ("http://proxy:3128", "http://proxy:3128"),
            ("http://u:p@proxy:3128", "http://***@proxy:3128"),
            ("http://user@proxy:3128", "http://***@proxy:3128"),
            ("u:p@proxy:3128", "***@proxy:3128"),
            ("http://u:pa/ss@proxy:3128", "http://***@proxy:3128"),
            ("http://u:p?a#b@c@proxy:3128/", "http://***@proxy:3128/"),
            ("http://u:p ss,x=y;'@h", "http://***@h"),
            ("http://u:a://b@h", "http://***@h"),
            ("http://:@h", "http://***@h"),
            ("http://@h", "http://@h"),
            ("  http://u:p@h ", "  http://***@h "),
            (
                "https://api.test/v1?key=K1&q=x&Token=T2#f",
                "https://api.test/v1?key=***&q=x&Token=***",
            ),
            (
                "https://a.test/cb#access_token=T&x=1",
                "https://a.test/cb#access_token=***&x=1",
            ),
            ("https://a.test/?key=K#ey&x", "https://a.test/?key=***"),
            ("https://a.test/?q=a@b.c&key=K", "https://***@b.c&key=***"),
            ("direct", "direct"),
            ("/p:Zq@h", "***@h"),
        ];
        for (input, want) in cases {
            assert_eq!(u(input), *want, "{input}");
        }
    }

    #[test]
    fn paths() {
        let p = "/users/@me?token=T&q=1";
        assert_eq!(path(p).apply(p), "/users/@me?token=***&q=1");
    }

    #[test]
    fn lists() {
        let cases: &[(&str, &str)] = &[
            ("localhost,.svc.test", "localhost,.svc.test"),
            (
                "localhost,http://u:p@x.test/",
                "localhost,http://***@x.test/",
            ),
            (
                "localhost,http://u:p,ss@x.test/,other",
                "localhost,http://***@x.test/,other",
            ),
            ("10.0.0.0/8,http://u:p ss@h", "10.0.0.0/8,http://***@h"),
            ("::1,localhost,http://u:p@h", "***@h"),
            ("fe80::1,x@h", "***@h"),
            ("a,u:p,q@h", "a,***@h"),
            ("bob@h", "***@h"),
        ];
        for (input, want) in cases {
            assert_eq!(l(input), *want, "{input}");
        }
        let v = "localhost,http://u:p,ss@x.test/";
        let m = list(v);
        let shown: Vec<String> = tokens(v)
            .map(|(at, tok)| m.apply_within(v, at..at + tok.len()))
            .collect();
        assert_eq!(shown, ["localhost", "http://***", "***@x.test/"]);
    }

    #[test]
    fn free_text() {
        let cases: &[(&str, &str)] = &[
            ("no secrets here", "no secrets here"),
            (
                "connect to http://u:p@a:1 failed, then https://x:y@b:2/",
                "connect to http://***@a:1 failed, then https://***@b:2/",
            ),
            ("mail bob@example.org", "mail bob@example.org"),
            ("'socks5h://a:b@s:1'", "'socks5h://***@s:1'"),
            (
                "env https_proxy=http://u:p ss@h:1",
                "env https_proxy=http://***@h:1",
            ),
            ("u:p@proxy:3128", "***@proxy:3128"),
            ("http://u:a://b@h", "http://***@h"),
            (
                "GET http://h/?key=K1 HTTP/1.1",
                "GET http://h/?key=*** HTTP/1.1",
            ),
            ("ünï http://ü:p@h", "ünï http://***@h"),
        ];
        for (input, want) in cases {
            assert_eq!(t(input), *want, "{input}");
        }
    }
}
