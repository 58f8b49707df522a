//! `no_proxy` entries, in the config or in `NO_PROXY`: URL-shaped entries and entries with paths
//! (the 2015 mistake) are errors with the host-name fix; entries curl can never match are
//! warnings; entries that other clients (Go, Python, Node) read differently are reported as info
//! so a user sees that the same list routes differently elsewhere in their stack.

use std::net::IpAddr;

use crate::config::diagnostic::{Diagnostic, Severity};
use crate::proxy::NoProxy;

/// One entry as written, with where it is.
pub(crate) struct EntryRef {
    pub(crate) text: String,
    pub(crate) path: String,
    pub(crate) location: Option<String>,
}

/// Checks a whole list; returns the list curl would use (unusable entries dropped) and the
/// findings. `list_path` / `list_location` name the list itself.
pub(crate) fn check(
    entries: &[EntryRef],
    list_path: &str,
    list_location: Option<String>,
) -> (NoProxy, Vec<Diagnostic>) {
    let mut out = Vec::new();
    let mut kept: Vec<&str> = Vec::new();
    let mut leading_dot = Vec::new();
    let mut bare_domain = Vec::new();
    let mut cidr = Vec::new();
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
    for entry in entries {
        let e = entry.text.trim();
        let diag = |sev, code: &str, msg: String| {
            Diagnostic::new(sev, code, entry.path.clone(), entry.location.clone(), msg)
        };
        match classify(e, entries.len()) {
            Kind::Host { leading_dot: true } => {
                leading_dot.push(e.to_owned());
                kept.push(e);
            }
            Kind::Host { leading_dot: false } => {
                if !e.eq_ignore_ascii_case("localhost") {
                    bare_domain.push(e.to_owned());
                }
                kept.push(e);
            }
            Kind::Ip | Kind::Everything => kept.push(e),
            Kind::Cidr { zero } => {
                cidr.push(e.to_owned());
                if zero {
                    out.push(
                        diag(Severity::Warning, "no_proxy.peer_difference", format!("`{e}`: to curl a /0 block matches only that exact address; Go, hyper-util and wget2 read it as every address"))
                            .with_suggestion(format!("write `{}` for one address, or `*` (alone) for every host", e.split('/').next().unwrap_or(e))),
                    );
                }
                kept.push(e);
            }
            Kind::Empty => out.push(
                diag(Severity::Warning, "no_proxy.never_matches", "an empty entry matches nothing".to_owned())
                    .with_suggestion("remove the empty entry"),
            ),
            Kind::Url { host } => out.push(
                diag(Severity::Error, "no_proxy.url", format!("`{e}` is a URL; no_proxy entries are host names, domains or IP blocks, so this entry never matches"))
                    .with_suggestion(format!("write `{}` instead of `{e}`", host_fix(&host))),
            ),
            Kind::Path { host } => out.push(
                diag(Severity::Error, "no_proxy.path", format!("`{e}` contains a path; no_proxy entries are host names, domains or IP blocks, so this entry never matches"))
                    .with_suggestion(format!("write `{}` instead of `{e}`", host_fix(&host))),
            ),
            Kind::Port { host } => out.push(
                diag(Severity::Warning, "no_proxy.never_matches", format!("`{e}` has a port: curl never matches entries with a port, while Go and Python compare it and would bypass the proxy"))
                    .with_suggestion(format!("write `{host}` instead of `{e}`")),
            ),
            Kind::Bracketed { inner } => out.push(
                diag(Severity::Warning, "no_proxy.never_matches", format!("`{e}` is a bracketed IPv6 address; curl matches IPv6 entries only unbracketed (Node's proxy-from-env needs the brackets)"))
                    .with_suggestion(format!("write `{inner}` instead of `{e}`")),
            ),
            Kind::WildcardPrefix { rest } => out.push(
                diag(Severity::Warning, "no_proxy.never_matches", format!("`{e}`: curl does not understand `*.` wildcards (Go and Node do); this entry never matches for curl"))
                    .with_suggestion(format!("write `.{rest}` instead of `{e}`")),
            ),
            Kind::StarInList => out.push(
                diag(Severity::Warning, "no_proxy.never_matches", "`*` means every host only when it is the whole list; among other entries curl ignores it, while Go treats it as everything".to_owned())
                    .with_suggestion("write `no_proxy = [\"*\"]` to bypass the proxy for every host, or remove `*`"),
            ),
            Kind::Blank { first } => out.push(
                diag(Severity::Warning, "no_proxy.never_matches", format!("`{e}` contains a blank: curl stops reading at it (only `{first}` counts), while Node's proxy-from-env reads separate entries"))
                    .with_suggestion(format!("separate the names with commas: `{}`", e.split_whitespace().collect::<Vec<_>>().join(","))),
            ),
        }
    }
    let peer = |entries: &[String], msg: &str, fix: &str| {
        Diagnostic::new(
            Severity::Info,
            "no_proxy.peer_difference",
            list_path,
            list_location.clone(),
            format!("{}: {msg}", quote_list(entries)),
        )
        .with_suggestion(fix.to_owned())
    };
    if !leading_dot.is_empty() {
        out.push(peer(
            &leading_dot,
            "curl matches the domain itself and its subdomains; Go, Node's proxy-from-env and wget match only subdomains",
            "list the bare domain too if other clients must bypass it",
        ));
    }
    if !bare_domain.is_empty() {
        out.push(peer(
            &bare_domain,
            "curl, Go and Python also match subdomains; Node's proxy-from-env and wget2 match only the exact host",
            "add a `.domain` entry if Node clients must bypass subdomains too",
        ));
    }
    if !cidr.is_empty() {
        out.push(peer(
            &cidr,
            "Python's urllib and Node's proxy-from-env do not understand CIDR blocks and never match them",
            "list the hosts by name as well if Python or Node clients share this list",
        ));
    }
    let list = NoProxy::from_entries(kept.iter().copied());
    for d in list.diagnostics() {
        if out
            .iter()
            .any(|o| o.message.contains(&format!("`{}`", d.entry)))
        {
            continue;
        }
        let code = if d.reason.contains(' ') {
            "no_proxy.note".to_owned()
        } else {
            format!("no_proxy.{}", d.reason)
        };
        out.push(Diagnostic::new(
            Severity::Warning,
            code,
            list_path,
            list_location.clone(),
            format!("`{}`: {}", d.entry, d.reason),
        ));
    }
    (list, out)
}

fn quote_list(entries: &[String]) -> String {
    let q: Vec<String> = entries.iter().map(|e| format!("`{e}`")).collect();
    q.join(", ")
}

/// What to write instead: `.domain` for names, the address for IP literals.
fn host_fix(host: &str) -> String {
    let bare = host.trim_start_matches('[').trim_end_matches(']');
    if bare.parse::<IpAddr>().is_ok() || host.is_empty() {
        bare.to_owned()
    } else {
        format!(".{}", host.trim_start_matches('.'))
    }
}

enum Kind {
    Host { leading_dot: bool },
    Ip,
    Cidr { zero: bool },
    Everything,
    Empty,
    Url { host: String },
    Path { host: String },
    Port { host: String },
    Bracketed { inner: String },
    WildcardPrefix { rest: String },
    StarInList,
    Blank { first: String },
}

fn classify(e: &str, list_len: usize) -> Kind {
    if e.is_empty() {
        return Kind::Empty;
    }
    if e == "*" {
        return if list_len > 1 {
            Kind::StarInList
        } else {
            Kind::Everything
        };
    }
    if e.contains("://") {
        let host = url::Url::parse(e)
            .ok()
            .and_then(|u| u.host_str().map(str::to_owned))
            .unwrap_or_else(|| {
                let rest = e.split_once("://").map_or(e, |(_, r)| r);
                strip_port(rest.split(['/', '?', '#']).next().unwrap_or(rest)).to_owned()
            });
        return Kind::Url { host };
    }
    if e.split_whitespace().nth(1).is_some() {
        let first = e.split_whitespace().next().unwrap_or(e).to_owned();
        return Kind::Blank { first };
    }
    if let Some((addr, prefix)) = e.split_once('/') {
        if addr.parse::<IpAddr>().is_ok() && prefix.parse::<u8>().is_ok() {
            return Kind::Cidr {
                zero: prefix == "0",
            };
        }
        return Kind::Path {
            host: strip_port(addr).to_owned(),
        };
    }
    if e.parse::<IpAddr>().is_ok() {
        return Kind::Ip;
    }
    if let Some(inner) = e.strip_prefix('[') {
        let inner = inner.split(']').next().unwrap_or(inner).to_owned();
        return Kind::Bracketed { inner };
    }
    if let Some((host, port)) = e.rsplit_once(':')
        && port.chars().all(|c| c.is_ascii_digit())
    {
        return Kind::Port {
            host: host.to_owned(),
        };
    }
    if let Some(rest) = e.strip_prefix("*.") {
        return Kind::WildcardPrefix {
            rest: rest.to_owned(),
        };
    }
    Kind::Host {
        leading_dot: e.starts_with('.'),
    }
}

fn strip_port(hostport: &str) -> &str {
    if hostport.starts_with('[') {
        return hostport
            .split(']')
            .next()
            .map_or(hostport, |h| h.trim_start_matches('['));
    }
    match hostport.rsplit_once(':') {
        Some((h, p)) if p.chars().all(|c| c.is_ascii_digit()) => h,
        _ => hostport,
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
                location: None,
            })
            .collect();
        check(&entries, "no_proxy", None).1
    }

    #[test]
    fn entry_table() {
        let cases: &[(&str, &str, Severity, &str)] = &[
            (
                "https://example.org/",
                "no_proxy.url",
                Severity::Error,
                "`.example.org` instead of `https://example.org/`",
            ),
            (
                "http://deployment-restbase02.eqiad.wmflabs:7231",
                "no_proxy.url",
                Severity::Error,
                "`.deployment-restbase02.eqiad.wmflabs`",
            ),
            (
                "http://10.0.0.1:80/x",
                "no_proxy.url",
                Severity::Error,
                "`10.0.0.1` instead",
            ),
            (
                "example.org/api",
                "no_proxy.path",
                Severity::Error,
                "`.example.org` instead",
            ),
            (
                "example.org:8080",
                "no_proxy.never_matches",
                Severity::Warning,
                "`example.org` instead",
            ),
            (
                "[::1]",
                "no_proxy.never_matches",
                Severity::Warning,
                "`::1` instead",
            ),
            (
                "*.example.org",
                "no_proxy.never_matches",
                Severity::Warning,
                "`.example.org` instead",
            ),
            (
                "localhost .example.com",
                "no_proxy.never_matches",
                Severity::Warning,
                "`localhost,.example.com`",
            ),
            (
                "10.0.0.0/0",
                "no_proxy.peer_difference",
                Severity::Warning,
                "`10.0.0.0`",
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
            assert!(
                hit.suggestion.as_deref().unwrap_or("").contains(fix),
                "{entry}: {:?}",
                hit.suggestion
            );
        }
    }

    #[test]
    fn clean_entries_only_get_peer_notes() {
        let d = run(&[
            "localhost",
            "127.0.0.1",
            "::1",
            ".svc.example.org",
            "10.0.0.0/8",
        ]);
        assert!(d.iter().all(|d| d.severity == Severity::Info), "{d:?}");
        assert!(d.iter().all(|d| d.code == "no_proxy.peer_difference"));
        assert_eq!(d.len(), 2, "leading dot + CIDR: {d:?}");
    }

    #[test]
    fn star_alone_is_everything_but_not_in_a_list() {
        assert!(run(&["*"]).is_empty());
        let d = run(&["*", "localhost"]);
        assert!(
            d.iter()
                .any(|d| d.code == "no_proxy.never_matches" && d.path == "no_proxy[0]")
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
