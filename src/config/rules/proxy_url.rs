//! `proxy` values: `"direct"`, `"env"` or a proxy URL. [`ProxyUrl::parse`] decides and notes
//! what curl would silently assume (no scheme means `http://`, no port means 1080) or ignore (a
//! path); this module turns its notes and errors into diagnostics at the key's position, with the
//! corrected value in the suggestion. Credentials never appear.

use crate::diagnostic::{Diagnostic, Severity};
use crate::proxy::{ProxyUrl, ProxyUrlErrorKind, ProxyUrlNote, redact_url};
use crate::settings::ProxySetting;

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
    let (url, findings) = check_url(value, path, location);
    out.extend(findings);
    (url.map(ProxySetting::Url), out)
}

/// Parses one proxy URL at `path` / `location` (a `proxy` setting's, or a proxy variable's in
/// the environment, where `"direct"` and `"env"` are host names like any other); returns the
/// URL (unless it is unusable) and the findings.
pub(crate) fn check_url(
    value: &str,
    path: &str,
    location: Option<String>,
) -> (Option<ProxyUrl>, Vec<Diagnostic>) {
    let mut out = Vec::new();
    let diag =
        |sev, code: &str, msg: String| Diagnostic::new(sev, code, path, location.clone(), msg);
    let shown = redact_url(value);
    match ProxyUrl::parse(value) {
        Ok(url) => {
            let userinfo = if url.has_credentials() {
                "USER:PASSWORD@"
            } else {
                ""
            };
            let corrected = url
                .without_credentials()
                .replacen("://", &format!("://{userinfo}"), 1);
            for note in url.notes() {
                // A PAC file's URL given as the proxy (`http://wpad.corp/proxy.pac`): the
                // file is never read, and its server is used as the proxy.
                if let ProxyUrlNote::PathIgnored { rest } = note
                    && is_pac_path(rest)
                {
                    out.push(
                        diag(
                            Severity::Warning,
                            "proxy_url.pac_file",
                            format!(
                                "`{shown}`: `{rest}` names a proxy auto-config (PAC) file, but a \
                                 proxy setting names the proxy itself: the file is never read, \
                                 and {} is used as the proxy for every request",
                                url.authority()
                            ),
                        )
                        .with_suggestion(format!(
                            "save the PAC file and name it with `pac = \"<path>\"` (or \
                             PROXYSCOPE_PAC=<path>); if {} is the proxy, write `{corrected}`",
                            url.authority()
                        )),
                    );
                    continue;
                }
                let (severity, code) = match note {
                    ProxyUrlNote::SchemeAssumed => {
                        (Severity::Warning, "proxy_url.no_scheme".to_owned())
                    }
                    ProxyUrlNote::PathIgnored { .. } => {
                        (Severity::Warning, "proxy_url.path".to_owned())
                    }
                    ProxyUrlNote::DefaultPort { .. } => {
                        (Severity::Info, "proxy_url.default_port".to_owned())
                    }
                    ProxyUrlNote::EmptyPort { .. } => {
                        (Severity::Warning, "proxy_url.empty_port".to_owned())
                    }
                    ProxyUrlNote::SocksVersionAssumed => {
                        (Severity::Warning, "proxy_url.socks_version".to_owned())
                    }
                    ProxyUrlNote::AtInCredentials => {
                        (Severity::Warning, "proxy_url.at_in_credentials".to_owned())
                    }
                    ProxyUrlNote::WhitespaceTrimmed => {
                        (Severity::Warning, "proxy_url.whitespace".to_owned())
                    }
                };
                let fix = match note {
                    ProxyUrlNote::AtInCredentials => format!(
                        "percent-encode each `@` inside the user name or password as `%40`: write `{corrected}` with the credentials encoded"
                    ),
                    ProxyUrlNote::EmptyPort { .. } => format!(
                        "write the port the proxy listens on after the colon (if the value comes from a template, set its port variable); as written it means `{corrected}`"
                    ),
                    ProxyUrlNote::SocksVersionAssumed => {
                        let socks5h = corrected.replacen("socks4://", "socks5h://", 1);
                        format!(
                            "name the version: `{socks5h}` for a SOCKS5 proxy (most are; names resolved by the proxy), or `{corrected}` to keep curl's reading"
                        )
                    }
                    _ => format!("write `{corrected}`"),
                };
                out.push(diag(severity, &code, format!("`{shown}`: {note}")).with_suggestion(fix));
            }
            (Some(url), out)
        }
        Err(e) => {
            let code = match e.kind() {
                ProxyUrlErrorKind::UnsupportedScheme | ProxyUrlErrorKind::NotConnectable => {
                    "proxy_url.scheme"
                }
                ProxyUrlErrorKind::Quoted => "proxy_url.quoted",
                ProxyUrlErrorKind::List => "proxy_url.list",
                _ => "proxy_url.invalid",
            };
            let fix = match (code, value.split_once("://")) {
                ("proxy_url.scheme", Some((scheme, rest))) => {
                    let (userinfo, after) = placeholder_credentials(rest);
                    let host_port = after.split(['/', '?', '#']).next().unwrap_or(after);
                    let to = if scheme.to_ascii_lowercase().starts_with("socks") {
                        "socks5h"
                    } else {
                        "http"
                    };
                    format!("write `{to}://{userinfo}{host_port}`")
                }
                _ if e.kind() == ProxyUrlErrorKind::Slashes => {
                    // The scheme, then two slashes, then the rest as written (credentials
                    // shown as placeholders).
                    let (scheme, after) = value.trim().split_once(':').unwrap_or(("http", ""));
                    let (userinfo, rest) = placeholder_credentials(after.trim_start_matches('/'));
                    format!("write `{}://{userinfo}{rest}`", scheme.to_ascii_lowercase())
                }
                _ => e.hint().to_owned(),
            };
            out.push(diag(Severity::Error, code, e.to_string()).with_suggestion(fix));
            (None, out)
        }
    }
}

/// The userinfo of `[userinfo@]rest` as a placeholder, and the rest. The userinfo ends at the
/// last `@`: a password may hold `/`, `?` or `#`.
fn placeholder_credentials(rest: &str) -> (&'static str, &str) {
    match rest.rsplit_once('@') {
        Some((_, after)) => ("USER:PASSWORD@", after),
        None => ("", rest),
    }
}

/// Whether what follows a proxy's address names a PAC file: a path ending in `.pac`, or
/// `wpad.dat` (the name WPAD looks up), before any query or fragment.
fn is_pac_path(rest: &str) -> bool {
    let path = rest
        .split(['?', '#'])
        .next()
        .unwrap_or(rest)
        .to_ascii_lowercase();
    path.ends_with(".pac") || path.ends_with("/wpad.dat")
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
                &["proxy_url.pac_file"],
                "`http://p.test:3128`",
            ),
            (
                "http://p.test:3128/squid",
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
            // curl reads `socks://` as SOCKS4; Python and Go refuse it: a warning that asks
            // for the version.
            (
                "socks://p.test:1080",
                true,
                &["proxy_url.socks_version"],
                "`socks5h://p.test:1080` for a SOCKS5 proxy",
            ),
            (
                "socks6://p.test:1080",
                false,
                &["proxy_url.scheme"],
                "`socks5h://p.test:1080`",
            ),
            (
                "socks5h://user:p@ss@p.test:1080",
                true,
                &["proxy_url.at_in_credentials"],
                "`%40`",
            ),
            (
                "'http://p.test:3128'",
                false,
                &["proxy_url.quoted"],
                "remove the quotes",
            ),
            (
                "http://a.test:1,http://b.test:1",
                false,
                &["proxy_url.list"],
                "one proxy URL",
            ),
            ("", false, &["proxy_url.empty"], "\"direct\""),
            ("none", false, &["proxy_url.keyword"], "\"direct\""),
            ("http://", false, &["proxy_url.invalid"], "host:port"),
            // A port variable left empty: curl's reading (the default port), with a warning.
            (
                "http://p.test:",
                true,
                &["proxy_url.empty_port"],
                "`http://p.test:1080`",
            ),
            ("p.test:", false, &["proxy_url.invalid"], "as a number"),
            (
                "http:/p.test:3128",
                false,
                &["proxy_url.invalid"],
                "`http://p.test:3128`",
            ),
            // Blanks around the `proxy` key's value are the file's own, and only proxyscope
            // reads the file: no finding (in a proxy variable, shared with other tools, they
            // are `proxy_url.whitespace`; see tests/config/lint_env.rs).
            (" http://p.test:3128", true, &[], ""),
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
            "user:Kq8Zw5@p.test:3128",
            "ftp://user:Kq8Zw5@p.test:21",
            "http://user:Kq8Zw5@p.test:3128/x",
            "http://user:Kq8/Zw5@p.test:3128",
            "ftp://user:Kq8/Zw5@p.test:21",
            "socks://user:Kq8?Zw5@p.test:1080",
            "http://user:Kq8#Zw5@p.test",
            "user:Kq8@Zw5@p.test",
            "http://user:Kq8 Zw5,x@p.test:99999",
            "http://p.test:3128/?token=Kq8Zw5",
        ] {
            let (_, d) = check(raw, "proxy", None);
            assert!(!d.is_empty(), "{raw}");
            for d in d {
                let text = format!("{d} {d:?} {}", serde_json::to_string(&d).unwrap());
                for part in ["Kq8", "Zw5"] {
                    assert!(!text.contains(part), "{raw}: {text}");
                }
            }
        }
    }
}
