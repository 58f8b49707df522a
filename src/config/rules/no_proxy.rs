//! `no_proxy` entries, in the config or in `NO_PROXY`. [`NoProxy`] owns the semantics and
//! explains each suspicious entry; this module places each finding at the entry's key path and
//! `file:line:col`, gives it a stable code (`no_proxy.url`, `no_proxy.path`,
//! `no_proxy.never_matches`, `no_proxy.peer_difference`) and a fix naming the value to write.
//! URL-shaped entries and entries with paths (the 2015 mistake) are errors.

use std::net::IpAddr;

use crate::diagnostic::{Diagnostic, Severity};
use crate::proxy::{NoProxy, NoProxyDiagnostic, NoProxyIssue, redact_list};

/// One entry as written, with where it is.
pub(crate) struct EntryRef {
    pub(crate) text: String,
    pub(crate) path: String,
    pub(crate) location: Option<String>,
}

/// Checks a whole list; returns the parsed list (curl's reading) and the findings.
/// `list_path` / `list_location` name the list itself.
pub(crate) fn check(
    entries: &[EntryRef],
    list_path: &str,
    list_location: Option<String>,
) -> (NoProxy, Vec<Diagnostic>) {
    let mut out = Vec::new();
    if entries.is_empty() {
        out.push(
            Diagnostic::new(
                Severity::Warning,
                "no_proxy.empty",
                list_path,
                list_location.clone(),
                "`no_proxy` is an empty list: it replaces NO_PROXY from the environment and bypasses nothing",
            )
            .with_suggestion("remove `no_proxy` to inherit, or list the hosts to reach directly, e.g. [\"localhost\", \".svc.example.org\"]"),
        );
    }
    let (list, sources) =
        NoProxy::from_entries_with_sources(entries.iter().map(|e| e.text.as_str()));
    // Diagnostics name entries as printed (credentials masked); so are the entries here.
    let shown: Vec<String> = entries.iter().map(|e| redact_list(e.text.trim())).collect();
    for (i, d) in list.diagnostics().iter().enumerate() {
        // The entry the finding is about (found by index: a search per finding was quadratic
        // in a long list), else the list as a whole.
        let at = sources.get(i).copied().filter(|&i| i < entries.len());
        let (path, location) = match at {
            Some(i) => (entries[i].path.clone(), entries[i].location.clone()),
            None => (list_path.to_owned(), list_location.clone()),
        };
        let written = at.map(|i| shown[i].as_str());
        out.push(diagnostic(d, written, path, location));
    }
    (list, out)
}

/// One [`NoProxyDiagnostic`] as a config diagnostic with a stable code and a concrete fix.
/// `written` is the whole entry as written (redacted), which for a blank-separated entry is more
/// than the part curl ignores.
fn diagnostic(
    d: &NoProxyDiagnostic,
    written: Option<&str>,
    path: String,
    location: Option<String>,
) -> Diagnostic {
    let code = match d.issue {
        NoProxyIssue::UrlShaped => "no_proxy.url",
        NoProxyIssue::HasPath => "no_proxy.path",
        _ if d.can_match => "no_proxy.peer_difference",
        _ => "no_proxy.never_matches",
    };
    let severity = d.severity;
    let mut message = format!("`{}`: {}", d.entry, d.reason);
    if !d.peers.is_empty() {
        let peers: Vec<String> = d
            .peers
            .iter()
            .map(|p| format!("{} {}", p.tool.name(), p.behaviour))
            .collect();
        message.push_str(&format!(" (other tools: {})", peers.join("; ")));
    }
    // The proxy module's copy of the entry: credentials in URL-shaped entries are redacted.
    let entry = d.entry.as_str();
    let suggestion = match (d.issue, d.suggestion.as_deref()) {
        (NoProxyIssue::UrlShaped | NoProxyIssue::HasPath, Some(host)) => {
            format!("write `{}` instead of `{entry}`", host_fix(host))
        }
        (NoProxyIssue::BlankSeparated, _) => format!(
            "separate the names with commas (one entry each): `{}`",
            written
                .unwrap_or(entry)
                .split_whitespace()
                .collect::<Vec<_>>()
                .join(",")
        ),
        (NoProxyIssue::WildcardNotAlone, _) => {
            "write `no_proxy = [\"*\"]` to bypass the proxy for every host, or remove `*`"
                .to_owned()
        }
        (NoProxyIssue::Ipv6OlderCurl, None) => "nothing to change for proxyscope and curl 8.18 or later; where an older curl shares the list, also list the IPv6 addresses it must reach directly, one by one".to_owned(),
        (NoProxyIssue::Ipv6OlderCurl, Some(s)) => format!(
            "write `{s}` instead of `{entry}` (the same address for proxyscope and curl 8.18 or later)"
        ),
        (NoProxyIssue::LeadingDot, _) => format!(
            "also list `{}` if Go or Node clients must bypass the domain itself",
            d.entry.trim_start_matches('.')
        ),
        (_, Some(s)) => format!("write `{s}` instead of `{entry}`"),
        (_, None) => {
            "remove the entry or write a host name, domain, IP address or CIDR block".to_owned()
        }
    };
    Diagnostic::new(severity, code, path, location, message).with_suggestion(suggestion)
}

/// What to write instead of a URL: `.domain` for names (the domain and its subdomains, as the
/// URL's author meant), the address for IP literals.
fn host_fix(host: &str) -> String {
    let bare = host.trim_start_matches('[').trim_end_matches(']');
    if bare.parse::<IpAddr>().is_ok() || host.is_empty() {
        bare.to_owned()
    } else {
        format!(".{}", host.trim_start_matches('.'))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(list: &[&str]) -> Vec<Diagnostic> {
        let entries: Vec<EntryRef> = list
            .iter()
            .enumerate()
            .map(|(i, e)| EntryRef {
                text: (*e).to_owned(),
                path: format!("no_proxy[{i}]"),
                location: Some(format!("f.toml:{}:3", i + 2)),
            })
            .collect();
        check(&entries, "no_proxy", None).1
    }

    #[test]
    fn entry_table() {
        use Severity::{Error, Info, Warning};
        let cases: &[(&str, &str, Severity, &str)] = &[
            (
                "https://example.org/",
                "no_proxy.url",
                Error,
                "write `.example.org` instead of `https://example.org/`",
            ),
            (
                "http://deployment-restbase02.eqiad.wmflabs:7231",
                "no_proxy.url",
                Error,
                "`.deployment-restbase02.eqiad.wmflabs`",
            ),
            (
                "http://10.0.0.1:80/x",
                "no_proxy.url",
                Error,
                "`10.0.0.1` instead",
            ),
            (
                "example.org/api",
                "no_proxy.path",
                Error,
                "`.example.org` instead",
            ),
            (
                "example.org:8080",
                "no_proxy.never_matches",
                Error,
                "`example.org` instead",
            ),
            ("[::1]", "no_proxy.never_matches", Error, "`::1` instead"),
            (
                "*.example.org",
                "no_proxy.never_matches",
                Error,
                "`.example.org` instead",
            ),
            (
                "localhost .example.com",
                "no_proxy.never_matches",
                Error,
                "`localhost,.example.com`",
            ),
            (
                "10.0.0.0/0",
                "no_proxy.peer_difference",
                Warning,
                "`10.0.0.0`",
            ),
            (
                ".svc.example.org",
                "no_proxy.peer_difference",
                Info,
                "`svc.example.org`",
            ),
        ];
        for (entry, code, sev, fix) in cases {
            let d = run(&[entry]);
            let hit = d
                .iter()
                .find(|d| d.code == *code)
                .unwrap_or_else(|| panic!("{entry}: {d:?}"));
            assert_eq!(hit.severity, *sev, "{entry}");
            assert_eq!(hit.path, "no_proxy[0]", "{entry}");
            assert_eq!(hit.location.as_deref(), Some("f.toml:2:3"), "{entry}");
            let got = hit.suggestion.as_deref().unwrap_or("");
            assert!(got.contains(fix), "{entry}: {got:?}");
        }
    }

    #[test]
    fn findings_point_at_their_own_entry() {
        let d = run(&["localhost", "127.0.0.1", "https://a.test/", "b.test:80"]);
        let at: Vec<(&str, &str)> = d
            .iter()
            .map(|d| (d.code.as_str(), d.path.as_str()))
            .collect();
        assert_eq!(
            at,
            [
                ("no_proxy.url", "no_proxy[2]"),
                ("no_proxy.never_matches", "no_proxy[3]")
            ]
        );
    }

    #[test]
    fn credentials_in_url_shaped_entries_never_appear() {
        let d = run(&["localhost", "http://alice:hunter2@a.test:8080/"]);
        assert_eq!(d.len(), 1, "{d:?}");
        assert_eq!(d[0].path, "no_proxy[1]");
        assert!(d[0].suggestion.as_deref().unwrap().contains("`.a.test`"));
        let all = format!("{d:?} {}", serde_json::to_string(&d).unwrap());
        assert!(!all.contains("hunter2"), "{all}");
    }

    #[test]
    fn star_alone_is_everything_but_not_in_a_list() {
        assert!(run(&["*"]).is_empty());
        let d = run(&["*", "localhost"]);
        let hit = d.iter().find(|d| d.path == "no_proxy[0]").unwrap();
        assert_eq!(hit.code, "no_proxy.never_matches");
        assert!(
            hit.suggestion
                .as_deref()
                .unwrap()
                .contains("no_proxy = [\"*\"]")
        );
    }

    #[test]
    fn empty_list_is_a_warning_naming_the_list() {
        let d = run(&[]);
        assert_eq!(d.len(), 1);
        assert_eq!(d[0].code, "no_proxy.empty");
        assert_eq!(d[0].path, "no_proxy");
    }
}
