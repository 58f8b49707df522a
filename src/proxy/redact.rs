//! Credential redaction, in one place: [`redact_text`] for text that may carry URLs (error
//! messages, causes from other libraries, environment values shown in route steps) and
//! [`redact_input`] for a value meant to be one proxy URL (config values, rejected input).
//! `user:password@` becomes `***@`.

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
}
