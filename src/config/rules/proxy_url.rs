//! `proxy` values: `"direct"`, `"env"` or a proxy URL. Flags what curl would silently assume
//! (no scheme means `http://`), what it ignores (a path), and what no client supports (an
//! unknown scheme), with the corrected value in the suggestion. Credentials never appear.

use crate::config::diagnostic::{Diagnostic, Severity};
use crate::layer::ProxySetting;

/// The schemes a proxy URL may use.
const SCHEMES: &[&str] = &["http", "https", "socks4", "socks4a", "socks5", "socks5h"];

/// Words people write for "no proxy" that are not `"direct"`.
const NO_PROXY_WORDS: &[&str] = &["none", "null", "nil", "off", "no", "false", "-", "disabled"];

/// Parses one `proxy` value at `path` / `location`; returns the setting (unless it is unusable)
/// and the findings.
pub(crate) fn check(
    raw: &str,
    path: &str,
    location: Option<String>,
) -> (Option<ProxySetting>, Vec<Diagnostic>) {
    let mut out = Vec::new();
    let value = raw.trim();
    let diag =
        |sev, code: &str, msg: String| Diagnostic::new(sev, code, path, location.clone(), msg);
    if value.is_empty() {
        out.push(
            diag(Severity::Error, "proxy_url.empty", "`proxy` is empty".to_owned()).with_suggestion(
                "write `proxy = \"direct\"` for no proxy, `\"env\"` for the environment, or remove the key to inherit",
            ),
        );
        return (None, out);
    }
    if NO_PROXY_WORDS.iter().any(|w| value.eq_ignore_ascii_case(w)) {
        out.push(
            diag(
                Severity::Error,
                "proxy_url.keyword",
                format!("`{value}` is not a proxy; the keyword for no proxy is \"direct\""),
            )
            .with_suggestion("write `proxy = \"direct\"`"),
        );
        return (None, out);
    }
    if value.eq_ignore_ascii_case("direct") || value.eq_ignore_ascii_case("env") {
        return (ProxySetting::parse(value).ok(), out);
    }
    let shown = redact(value);
    let (scheme, rest) = match value.split_once("://") {
        Some((s, r)) => (Some(s.to_ascii_lowercase()), r),
        None => (None, value),
    };
    let authority_end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let (authority, tail) = rest.split_at(authority_end);
    let host_port = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
    let userinfo = if authority.contains('@') {
        "USER:PASSWORD@"
    } else {
        ""
    };
    let corrected = format!(
        "{}://{userinfo}{host_port}",
        scheme.as_deref().unwrap_or("http")
    );
    match &scheme {
        Some(s) if !SCHEMES.contains(&s.as_str()) => {
            let fix = match s.as_str() {
                "socks" => "socks5h".to_owned(),
                "tcp" | "ws" | "proxy" => "http".to_owned(),
                _ => "http".to_owned(),
            };
            out.push(
                diag(
                    Severity::Error,
                    "proxy_url.scheme",
                    format!("`{shown}` has the unsupported scheme `{s}://`; supported: http, https, socks4, socks4a, socks5, socks5h"),
                )
                .with_suggestion(format!("write `{fix}://{userinfo}{host_port}`")),
            );
            return (None, out);
        }
        Some(_) => {}
        None => out.push(
            diag(
                Severity::Warning,
                "proxy_url.no_scheme",
                format!("`{shown}` has no scheme; curl (and proxyscope) assume http://, while Node's proxy-from-env uses the request's scheme"),
            )
            .with_suggestion(format!("write `{corrected}`")),
        ),
    }
    if !tail.is_empty() && tail != "/" {
        out.push(
            diag(
                Severity::Warning,
                "proxy_url.path",
                format!("`{shown}` has a path `{tail}`, which is ignored: a forward proxy is addressed by host and port only"),
            )
            .with_suggestion(format!("write `{corrected}`")),
        );
    }
    if host_port.is_empty() {
        out.push(
            diag(
                Severity::Error,
                "proxy_url.invalid",
                format!("`{shown}` has no host"),
            )
            .with_suggestion("write `http://proxy.example.org:3128`"),
        );
        return (None, out);
    }
    match ProxySetting::parse(value) {
        Ok(s) => (Some(s), out),
        Err(e) => {
            out.push(
                diag(
                    Severity::Error,
                    "proxy_url.invalid",
                    format!(
                        "`{shown}` is not a valid proxy URL: {}",
                        crate::proxy::redact_text(&redact(&e.to_string()))
                    ),
                )
                .with_suggestion(format!(
                    "write `{corrected}` with a numeric port, e.g. `http://proxy.example.org:3128`"
                )),
            );
            (None, out)
        }
    }
}

/// Replaces `user:password@` in a URL-ish string with `***@`.
pub(crate) fn redact(s: &str) -> String {
    let (prefix, rest) = match s.find("://") {
        Some(i) => s.split_at(i + 3),
        None => ("", s),
    };
    let end = rest.find(['/', '?', '#', ' ']).unwrap_or(rest.len());
    match rest[..end].rfind('@') {
        Some(at) => format!("{prefix}***@{}", &rest[at + 1..]),
        None => s.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn codes(raw: &str) -> (bool, Vec<String>, Vec<String>) {
        let (s, d) = check(raw, "proxy", None);
        (
            s.is_some(),
            d.iter().map(|d| d.code.clone()).collect(),
            d.iter().filter_map(|d| d.suggestion.clone()).collect(),
        )
    }

    #[test]
    fn proxy_value_table() {
        let cases: &[(&str, bool, &[&str], &str)] = &[
            ("direct", true, &[], ""),
            ("ENV", true, &[], ""),
            ("http://p.test:3128", true, &[], ""),
            (
                "p.test:3128",
                true,
                &["proxy_url.no_scheme"],
                "`http://p.test:3128`",
            ),
            (
                "http://p.test:3128/proxy.pac",
                true,
                &["proxy_url.path"],
                "`http://p.test:3128`",
            ),
            (
                "ftp://p.test:21",
                false,
                &["proxy_url.scheme"],
                "`http://p.test:21`",
            ),
            (
                "socks://p.test:1080",
                false,
                &["proxy_url.scheme"],
                "`socks5h://p.test:1080`",
            ),
            ("", false, &["proxy_url.empty"], "\"direct\""),
            ("none", false, &["proxy_url.keyword"], "\"direct\""),
            ("http://", false, &["proxy_url.invalid"], "http://"),
        ];
        for (raw, ok, want, fix) in cases {
            let (got_ok, got, fixes) = codes(raw);
            assert_eq!(got_ok, *ok, "{raw}");
            assert_eq!(got, *want, "{raw}");
            if !fix.is_empty() {
                assert!(fixes.iter().any(|f| f.contains(fix)), "{raw}: {fixes:?}");
            }
        }
    }

    #[test]
    fn credentials_never_reach_diagnostics() {
        for raw in [
            "user:s3cret@p.test:3128",
            "ftp://user:s3cret@p.test:21",
            "http://user:s3cret@p.test:3128/x",
        ] {
            let (_, d) = check(raw, "proxy", None);
            assert!(!d.is_empty(), "{raw}");
            for d in d {
                let text = format!("{d} {d:?} {}", serde_json::to_string(&d).unwrap());
                assert!(!text.contains("s3cret"), "{text}");
            }
        }
    }
}
