//! Environment rules (curl's reading, DESIGN.md §4): `HTTPS_PROXY` and `https_proxy` set to
//! different values (curl reads the lowercase one, Go and hyper-util the uppercase one),
//! `HTTP_PROXY` set (never read: the httpoxy mitigation), and the `NO_PROXY` entries themselves.
//! When no layer consults the environment the findings are only informational.

use super::no_proxy::{self, EntryRef};
use crate::config::diagnostic::{Diagnostic, Severity};
use crate::proxy::EnvSnapshot;

/// The findings for `env`. `consulted` says whether any layer's proxy falls back to it.
pub(crate) fn check(env: &EnvSnapshot, consulted: bool) -> Vec<Diagnostic> {
    let mut out = Vec::new();
    let set = |name: &str| env.var(name).filter(|v| !v.trim().is_empty());
    let weight = |sev: Severity| if consulted { sev } else { Severity::Info };
    let unused = if consulted {
        ""
    } else {
        " (this configuration sets `proxy` everywhere, so the environment is not consulted)"
    };
    for (lower, upper) in [
        ("https_proxy", "HTTPS_PROXY"),
        ("no_proxy", "NO_PROXY"),
        ("all_proxy", "ALL_PROXY"),
    ] {
        if let (Some(l), Some(u)) = (set(lower), set(upper))
            && l.trim() != u.trim()
        {
            let (l, u) = (super::proxy_url::redact(l), super::proxy_url::redact(u));
            out.push(
                Diagnostic::new(
                    weight(Severity::Warning),
                    "env.conflict",
                    upper,
                    Some(format!("env:{upper}")),
                    format!("{lower}={l} and {upper}={u} differ: curl and proxyscope use {lower}, Go and hyper-util/reqwest use {upper}{unused}"),
                )
                .with_suggestion(format!("set both to the same value, or unset {upper}")),
            );
        }
    }
    if let Some(v) = set("HTTP_PROXY") {
        let same = set("http_proxy").is_some_and(|l| l.trim() == v.trim());
        let (sev, msg) = if same {
            (
                Severity::Info,
                "HTTP_PROXY is never read (httpoxy mitigation); http_proxy has the same value, so nothing changes".to_owned(),
            )
        } else {
            (
                weight(Severity::Warning),
                format!(
                    "HTTP_PROXY={} is ignored: curl and proxyscope never read it (httpoxy mitigation), so http:// URLs do not use it, while Go and hyper-util do{unused}",
                    super::proxy_url::redact(v)
                ),
            )
        };
        out.push(
            Diagnostic::new(
                sev,
                "env.http_proxy_ignored",
                "HTTP_PROXY",
                Some("env:HTTP_PROXY".into()),
                msg,
            )
            .with_suggestion("set `http_proxy` (lowercase) or `proxy` in the config instead"),
        );
    }
    for var in ["no_proxy", "NO_PROXY"] {
        let Some(v) = set(var) else { continue };
        if var == "NO_PROXY" && set("no_proxy").is_some() {
            continue; // curl reads no_proxy first; NO_PROXY is shadowed (and a conflict is reported above)
        }
        let entries: Vec<EntryRef> = v
            .split(',')
            .filter(|e| !e.trim().is_empty())
            .map(|e| EntryRef {
                text: e.trim().to_owned(),
                path: var.to_owned(),
                location: Some(format!("env:{var}")),
            })
            .collect();
        let (_, diags) = no_proxy::check(&entries, var, Some(format!("env:{var}")));
        out.extend(diags.into_iter().map(|mut d| {
            if !consulted && d.severity != Severity::Info {
                d.severity = Severity::Info;
            }
            d
        }));
        break;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn codes(pairs: &[(&str, &str)], consulted: bool) -> Vec<(String, Severity)> {
        check(&EnvSnapshot::from_pairs(pairs.iter().copied()), consulted)
            .into_iter()
            .map(|d| (d.code, d.severity))
            .collect()
    }

    /// (environment, expected findings as (code, severity)).
    type Case<'a> = (&'a [(&'a str, &'a str)], &'a [(&'a str, Severity)]);

    #[test]
    fn env_table() {
        let w = Severity::Warning;
        let cases: &[Case<'_>] = &[
            (&[], &[]),
            (
                &[("https_proxy", "http://a:1"), ("HTTPS_PROXY", "http://a:1")],
                &[],
            ),
            (
                &[("https_proxy", "http://a:1"), ("HTTPS_PROXY", "http://b:1")],
                &[("env.conflict", w)],
            ),
            (&[("https_proxy", ""), ("HTTPS_PROXY", "http://b:1")], &[]),
            (
                &[("HTTP_PROXY", "http://a:1")],
                &[("env.http_proxy_ignored", w)],
            ),
            (
                &[("HTTP_PROXY", "http://a:1"), ("http_proxy", "http://a:1")],
                &[("env.http_proxy_ignored", Severity::Info)],
            ),
            (
                &[("NO_PROXY", "http://internal.test:80")],
                &[("no_proxy.url", Severity::Error)],
            ),
        ];
        for (pairs, want) in cases {
            let want: Vec<(String, Severity)> =
                want.iter().map(|(c, s)| ((*c).to_owned(), *s)).collect();
            assert_eq!(codes(pairs, true), want, "{pairs:?}");
        }
    }

    #[test]
    fn unconsulted_environment_is_info_only() {
        let got = codes(
            &[("HTTP_PROXY", "http://a:1"), ("NO_PROXY", "http://x.test/")],
            false,
        );
        assert!(!got.is_empty());
        assert!(got.iter().all(|(_, s)| *s == Severity::Info), "{got:?}");
    }

    #[test]
    fn env_credentials_are_redacted() {
        let env = EnvSnapshot::from_pairs([
            ("https_proxy", "http://u:s3cret@a:1"),
            ("HTTPS_PROXY", "http://u:other@b:1"),
        ]);
        for d in check(&env, true) {
            assert!(
                !d.to_string().contains("s3cret") && !d.to_string().contains("other@"),
                "{d}"
            );
        }
    }
}
