//! Environment rules (curl's reading, see [`crate::proxy::EnvSnapshot`]). [`EnvSnapshot`] knows
//! which variables are present but ignored and why (`HTTP_PROXY` under httpoxy, `HTTPS_PROXY`
//! shadowed by a different `https_proxy`, mixed-case names, empty values); this module turns
//! each into a diagnostic with a stable code and a fix, and lints the proxy URLs and `NO_PROXY`
//! entries in force and the PAC file `PROXYSCOPE_PAC` names. When no layer consults the
//! environment, the findings are only informational.

use std::path::Path;

use super::no_proxy::{self, EntryRef};
use crate::diagnostic::{Diagnostic, Severity};
use crate::proxy::{EnvSnapshot, IgnoredReason};
use crate::route::PAC_ENV;

/// The findings for `env`. `consulted` says whether any layer's proxy falls back to it.
pub(crate) fn check(env: &EnvSnapshot, consulted: bool) -> Vec<Diagnostic> {
    let mut out = Vec::new();
    let weight = |sev: Severity| if consulted { sev } else { Severity::Info };
    let unused = if consulted {
        ""
    } else {
        " (this configuration sets `proxy` everywhere, so the environment is not consulted)"
    };
    for iv in env.ignored() {
        let var = iv.var.as_str();
        let (severity, code, fix) = match iv.code {
            IgnoredReason::Httpoxy => {
                let same = env.var("http_proxy").map(str::trim) == env.var(var).map(str::trim);
                (
                    if same {
                        Severity::Info
                    } else {
                        weight(Severity::Warning)
                    },
                    "env.http_proxy_ignored".to_owned(),
                    "set `http_proxy` (lowercase) or `proxy` in the config instead".to_owned(),
                )
            }
            IgnoredReason::ShadowedByLowercase => (
                weight(Severity::Warning),
                "env.conflict".to_owned(),
                format!(
                    "set {} and {var} to the same value, or unset {var}",
                    var.to_ascii_lowercase()
                ),
            ),
            IgnoredReason::MixedCase => (
                weight(Severity::Warning),
                "env.mixed_case".to_owned(),
                format!(
                    "rename {var} to {} (curl reads only all-lowercase or all-uppercase names)",
                    var.to_ascii_lowercase()
                ),
            ),
            IgnoredReason::Empty => (
                Severity::Info,
                "env.empty".to_owned(),
                format!("unset {var} if it is not meant to mask anything"),
            ),
            other => (
                weight(Severity::Warning),
                format!("env.{}", other.as_str()),
                format!("unset {var} if it is not meant for this process"),
            ),
        };
        let mut message = format!("{var} is ignored: {}{unused}", iv.reason);
        if !iv.used_by.is_empty() {
            let peers: Vec<String> = iv
                .used_by
                .iter()
                .map(|p| format!("{} {}", p.tool.name(), p.behaviour))
                .collect();
            message.push_str(&format!(" (other tools: {})", peers.join("; ")));
        }
        out.push(
            Diagnostic::new(severity, code, var, Some(format!("env:{var}")), message)
                .with_suggestion(fix),
        );
    }
    // The proxy variables in force (the first curl reads for `http` and for `https`), read as
    // a `proxy` setting is: an unusable value, a quoted one, a missing scheme or port.
    let mut seen: Vec<String> = Vec::new();
    for scheme in ["http", "https"] {
        let Some(found) = env.proxy_for(scheme).found else {
            continue;
        };
        if seen.contains(&found.name) {
            continue;
        }
        let var = found.name.clone();
        let (_, diags) =
            super::proxy_url::check_url(&found.value, &var, Some(format!("env:{var}")));
        out.extend(diags.into_iter().map(|mut d| {
            if !consulted {
                d.severity = Severity::Info;
            }
            d
        }));
        seen.push(var);
    }
    if let Some(np) = env.no_proxy() {
        let var = np.var.name.as_str();
        let location = Some(format!("env:{var}"));
        // The whole value, as curl reads it: a URL-shaped entry's password may hold commas,
        // and its credentials are masked across them.
        let entries = [EntryRef {
            text: np.var.value.clone(),
            path: var.to_owned(),
            location: location.clone(),
        }];
        let (_, diags) = no_proxy::check(&entries, var, location);
        out.extend(diags.into_iter().map(|mut d| {
            if !consulted {
                d.severity = Severity::Info;
            }
            d
        }));
    }
    // The PAC file `PROXYSCOPE_PAC` names, linted like a `pac` setting's (relative to the
    // working directory, as the client reads it).
    if let Some(path) = env.var(PAC_ENV).map(str::trim).filter(|p| !p.is_empty()) {
        let diags = super::pac::lint(Path::new(path), PAC_ENV, Some(format!("env:{PAC_ENV}")));
        out.extend(diags.into_iter().map(|mut d| {
            if !consulted {
                d.severity = Severity::Info;
            }
            d
        }));
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
            (
                &[("HTTP_PROXY", "http://a:1")],
                &[("env.http_proxy_ignored", w)],
            ),
            (
                &[("HTTP_PROXY", "http://a:1"), ("http_proxy", "http://a:1")],
                &[("env.http_proxy_ignored", Severity::Info)],
            ),
            (&[("Https_Proxy", "http://a:1")], &[("env.mixed_case", w)]),
            (
                &[("NO_PROXY", "http://internal.test:80")],
                &[("no_proxy.url", Severity::Error)],
            ),
            // The proxy variables in force are read as `proxy` settings are.
            (
                &[("https_proxy", "ftp://p.test:21")],
                &[("proxy_url.scheme", Severity::Error)],
            ),
            (
                &[("https_proxy", "\"http://p.test:3128\"")],
                &[("proxy_url.quoted", Severity::Error)],
            ),
            (
                &[("https_proxy", "http=p.test:80;https=p.test:443")],
                &[("proxy_url.list", Severity::Error)],
            ),
            (
                &[("https_proxy", "p.test:3128")],
                &[("proxy_url.no_scheme", w)],
            ),
            (
                &[("http_proxy", "http://p.test")],
                &[("proxy_url.default_port", Severity::Info)],
            ),
            // Read for both schemes, reported once.
            (
                &[("all_proxy", "http://u:a@b@p.test:3128")],
                &[("proxy_url.at_in_credentials", w)],
            ),
            (
                &[
                    ("http_proxy", "p.test:3128"),
                    ("https_proxy", "'http://p.test:3128'"),
                ],
                &[
                    ("proxy_url.no_scheme", w),
                    ("proxy_url.quoted", Severity::Error),
                ],
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
        let d = check(&env, true);
        assert!(!d.is_empty());
        for d in d {
            assert!(
                !d.to_string().contains("s3cret") && !d.to_string().contains("other@"),
                "{d}"
            );
        }
        // Findings about the proxy URLs in force quote them redacted too.
        for value in [
            "\"http://u:Kq8Zw5@a:1\"",
            "u:Kq8Zw5@a:1",
            "http://u:Kq8@Zw5@a:1",
            "ftp://u:Kq8Zw5@a:1",
            "http://u:Kq8Zw5@a:99999",
        ] {
            let d = check(&EnvSnapshot::from_pairs([("https_proxy", value)]), true);
            assert!(!d.is_empty(), "{value}");
            for d in d {
                let text = format!("{d} {d:?} {}", serde_json::to_string(&d).unwrap());
                assert!(!text.contains("Kq8") && !text.contains("Zw5"), "{text}");
            }
        }
    }
}
