//! Credential redaction, in one place: [`redact_text`] for text that may carry URLs (error
//! messages, causes from other libraries, environment values shown in route steps) and
//! [`redact_input`] for a value meant to be one proxy URL (config values, rejected input).
//! `user:password@` becomes `***@`.
//!
//! For URLs shown to people (the exporter's status page, its logs), [`redact_url`] also masks
//! the values of query parameters that usually carry keys (`api_key=`, `token=`, `sig=`, …).

/// Characters that end a URL-looking token in free text.
fn is_delim(c: char) -> bool {
    c.is_whitespace()
        || matches!(
            c,
            '"' | '\'' | '`' | '<' | '>' | '(' | ')' | ',' | ';' | '{' | '}' | '[' | ']' | '='
        )
}

/// Redacts `user:password@` (and `user@` after a `scheme://`) in every URL-looking part of
/// `text`, replacing the userinfo by `***`. An e-mail address (`bob@example.org`: no scheme, no
/// `:` before the `@`) is left alone.
pub fn redact_text(text: &str) -> String {
    if !text.contains('@') {
        return text.to_owned();
    }
    let mut out = String::with_capacity(text.len());
    let mut copied = 0;
    for (at, _) in text.match_indices('@') {
        let before = &text[copied..at];
        let seg_start = before
            .char_indices()
            .rev()
            .find(|&(_, c)| is_delim(c))
            .map_or(copied, |(i, c)| copied + i + c.len_utf8());
        let seg = &text[seg_start..at];
        let (user_start, has_scheme) = match seg.rfind("://") {
            Some(i) => (seg_start + i + 3, true),
            None => (seg_start, false),
        };
        let userinfo = &text[user_start..at];
        if userinfo.is_empty() || userinfo.contains('/') {
            continue;
        }
        if has_scheme || userinfo.contains(':') {
            out.push_str(&text[copied..user_start]);
            out.push_str("***");
            copied = at;
        }
    }
    out.push_str(&text[copied..]);
    out
}

/// Redacts a value meant to be one proxy URL: any userinfo in its authority (with or without a
/// scheme, user name alone included) becomes `***`; the rest goes through [`redact_text`].
pub(crate) fn redact_input(input: &str) -> String {
    // Only a real scheme (RFC 3986 characters) ends at `://`; a `://` after userinfo, as in
    // `u:p@host/?next=http://x`, must not hide the userinfo before it.
    let start = input
        .find("://")
        .filter(|&i| {
            input[..i]
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'+' | b'-' | b'.'))
        })
        .map_or(0, |i| i + 3);
    let end = input[start..]
        .find(['/', '?', '#'])
        .map_or(input.len(), |i| start + i);
    match input[start..end].rfind('@') {
        Some(at) => {
            let at = start + at;
            format!("{}***{}", &input[..start], redact_text(&input[at..]))
        }
        None => redact_text(input),
    }
}

/// Whether a query parameter of this name usually carries a secret: `key`, `api_key`,
/// `access_token`, `password`, `signature`, … (ASCII case-insensitive, `-` and `_` alike).
pub fn is_secret_param(name: &str) -> bool {
    let n = name.to_ascii_lowercase().replace('-', "_");
    const EXACT: &[&str] = &[
        "key",
        "apikey",
        "auth",
        "authorization",
        "pass",
        "passwd",
        "password",
        "pwd",
        "secret",
        "token",
        "sig",
        "signature",
        "session",
        "sessionid",
        "sid",
        "credential",
        "credentials",
        "jwt",
        "bearer",
    ];
    const SUFFIXES: &[&str] = &["key", "token", "secret", "password"];
    EXACT.contains(&n.as_str()) || SUFFIXES.iter().any(|s| n.ends_with(s))
}

/// A URL for display: userinfo becomes `***`, and the value of every query parameter that
/// [`is_secret_param`] becomes `***`; everything else is kept byte for byte. Parsed, not
/// pattern-matched: the query is split into `name=value` pairs and rebuilt. Input that is not
/// an absolute URL goes through [`redact_text`].
pub fn redact_url(input: &str) -> String {
    if url::Url::parse(input).is_err() {
        return redact_text(input);
    }
    let userinfo_free = redact_input(input);
    let (before_fragment, fragment) = match userinfo_free.find('#') {
        Some(i) => userinfo_free.split_at(i),
        None => (userinfo_free.as_str(), ""),
    };
    let Some((base, query)) = before_fragment.split_once('?') else {
        return userinfo_free;
    };
    let pairs: Vec<String> = query
        .split('&')
        .map(|pair| match pair.split_once('=') {
            Some((name, _)) if is_secret_param(&decode(name)) => format!("{name}=***"),
            _ => pair.to_owned(),
        })
        .collect();
    format!("{base}?{}{fragment}", pairs.join("&"))
}

/// Every `scheme://…` token in free text redacted as [`redact_url`] does, and any remaining
/// userinfo as [`redact_text`] does.
pub fn redact_urls_in_text(text: &str) -> String {
    let ends_token = |c: char| c.is_whitespace() || matches!(c, '"' | '\'' | '`' | '<' | '>');
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(i) = rest.find("://") {
        let start = rest[..i]
            .char_indices()
            .rev()
            .take_while(|&(_, c)| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.'))
            .last()
            .map_or(i, |(j, _)| j);
        let end = rest[i..].find(ends_token).map_or(rest.len(), |j| i + j);
        out.push_str(&rest[..start]);
        out.push_str(&redact_url(&rest[start..end]));
        rest = &rest[end..];
    }
    out.push_str(rest);
    redact_text(&out)
}

fn decode(name: &str) -> String {
    percent_encoding::percent_decode_str(&name.replace('+', " "))
        .decode_utf8_lossy()
        .into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redacts_userinfo_in_text() {
        let cases: &[(&str, &str)] = &[
            ("no secrets here", "no secrets here"),
            ("http://u:p@proxy:3128", "http://***@proxy:3128"),
            ("http://user@proxy:3128", "http://***@proxy:3128"),
            (
                "connect to http://u:p@a:1 failed, then https://x:y@b:2/",
                "connect to http://***@a:1 failed, then https://***@b:2/",
            ),
            ("u:p@proxy:3128", "***@proxy:3128"),
            ("mail bob@example.org", "mail bob@example.org"),
            ("'socks5h://a:b@s:1'", "'socks5h://***@s:1'"),
            ("http://h/path@x", "http://h/path@x"),
            (
                "env https_proxy=http://u:p@h:1",
                "env https_proxy=http://***@h:1",
            ),
            ("http://a@b:c@h:1", "http://******@h:1"),
            ("ünï http://ü:p@h", "ünï http://***@h"),
        ];
        for (input, want) in cases {
            assert_eq!(redact_text(input), *want, "{input}");
        }
    }

    #[test]
    fn redacts_one_proxy_value() {
        let cases: &[(&str, &str)] = &[
            ("http://u:p@proxy:3128", "http://***@proxy:3128"),
            ("alice@proxy:3128", "***@proxy:3128"),
            ("ftp://a:b@c@proxy/x", "ftp://***@proxy/x"),
            ("proxy:3128", "proxy:3128"),
            ("http://proxy/p@th", "http://proxy/p@th"),
            // Found by fuzzing: a later `://` is not the scheme's.
            ("u:p@h\rs50://x@", "***@h\rs50://***@"),
            (
                "u:p@proxy:3128/?next=http://x",
                "***@proxy:3128/?next=http://x",
            ),
        ];
        for (input, want) in cases {
            assert_eq!(redact_input(input), *want, "{input}");
        }
    }
    #[test]
    fn masks_secret_query_values_and_userinfo_in_urls() {
        let cases: &[(&str, &str)] = &[
            ("https://h/p?q=1", "https://h/p?q=1"),
            (
                "https://u:p@h/p?key=abc&lang=en&api_key=x#frag",
                "https://***@h/p?key=***&lang=en&api_key=***#frag",
            ),
            (
                "https://h/?Access-Token=t&x",
                "https://h/?Access-Token=***&x",
            ),
            ("https://h/?%6Bey=v", "https://h/?%6Bey=***"),
            ("https://h/?monkey=v", "https://h/?monkey=***"),
            ("https://h/?keyboard=v", "https://h/?keyboard=v"),
            ("not a url key=v", "not a url key=v"),
        ];
        for (input, want) in cases {
            assert_eq!(redact_url(input), *want, "{input}");
        }
    }

    #[test]
    fn masks_urls_inside_text() {
        assert_eq!(
            redact_urls_in_text(
                "GET \"https://h/x?token=s3cr3t&a=1\" via http://u:p@proxy:1 failed; user:pw@h"
            ),
            "GET \"https://h/x?token=***&a=1\" via http://***@proxy:1 failed; ***@h"
        );
        assert_eq!(redact_urls_in_text("no urls"), "no urls");
        assert_eq!(redact_urls_in_text("://x?key=1"), "://x?key=1");
    }
}
