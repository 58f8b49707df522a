//! [`NearMiss`]: a `no_proxy` entry that was meant for the host being routed but does not match
//! it under curl's rules — a URL instead of a name, a port, `*.d` for `.d`, bracketed IPv6, a
//! blank that ended the list, `127.0.0.1` written for `localhost` — with the entry to write
//! instead. Found when the route is explained (pure; never on the request path, where nothing
//! reads it), so a proxy's refusal of that host can lead with the local fix rather than "ask
//! the proxy's operators".

use std::net::IpAddr;

use serde::Serialize;

use crate::proxy::{NoProxy, Severity};
use crate::settings::Provenance;

/// A `no_proxy` entry that nearly matched the routed host, and the entry that would.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct NearMiss {
    /// The entry as written (credentials redacted).
    pub entry: String,
    /// The entry to write so that curl's rules match the host.
    pub write: String,
    /// Why the written entry does not match, as a stable code (`url_shaped`, `has_port`,
    /// `wildcard_prefix`, `ip_for_name`, ...).
    pub issue: String,
    /// Why, for people.
    pub reason: String,
    /// Where the list was set (a config key at file:line, or an environment variable).
    pub origin: Provenance,
}

impl NearMiss {
    /// Where the list lives, for a hint: `cfg.toml:4:12 (providers.x.no_proxy)` or
    /// `the NO_PROXY environment variable`.
    pub fn location(&self) -> String {
        location(&self.origin)
    }
}

/// Where a value was set, for a hint: `file:line:col (key)`, `the X environment variable`,
/// `the builder's key`, or `the default`.
pub fn location(origin: &Provenance) -> String {
    match origin {
        Provenance::File {
            path,
            line,
            col,
            key,
        } => format!("{}:{line}:{col} ({key})", path.display()),
        Provenance::Embedded { key } => format!("the configuration's `{key}`"),
        Provenance::Env { var } => format!("the {var} environment variable"),
        Provenance::Builder { key } => format!("the client builder's `{key}`"),
        Provenance::Default => "the default".to_owned(),
    }
}

/// The first entry of `list` that was evidently meant for `host` but does not match it.
pub(super) fn find(list: &NoProxy, host: &str, origin: &Provenance) -> Option<NearMiss> {
    for d in list.diagnostics() {
        if d.can_match || d.severity < Severity::Warning {
            continue;
        }
        let Some(fix) = &d.suggestion else { continue };
        if NoProxy::parse(fix).is_match(host) {
            // A suggestion can list several names (a blank-separated list); name only the one
            // that matches this host.
            let write = fix
                .split(',')
                .find(|e| NoProxy::parse(e).is_match(host))
                .unwrap_or(fix)
                .to_owned();
            return Some(NearMiss {
                entry: d.entry.clone(),
                write,
                issue: d.issue.as_str().to_owned(),
                reason: d.reason.clone(),
                origin: origin.clone(),
            });
        }
    }
    loopback_alias(list, host, origin)
}

/// `localhost` routed while the list names only a loopback address, or the reverse: curl never
/// resolves names for `no_proxy`, so the two are different hosts to it.
fn loopback_alias(list: &NoProxy, host: &str, origin: &Provenance) -> Option<NearMiss> {
    let bare = host.trim_start_matches('[').trim_end_matches(']');
    let host_is_name = bare.eq_ignore_ascii_case("localhost");
    // Cheap test first: this runs on every route a list does not match.
    let host_is_loopback = !host_is_name
        && (bare.starts_with("127.") || bare.contains(':'))
        && bare.parse::<IpAddr>().is_ok_and(|ip| ip.is_loopback());
    if !host_is_name && !host_is_loopback {
        return None;
    }
    let entry = list.entries().iter().find(|e| {
        let e = e.trim_end_matches('.');
        if host_is_name {
            e.parse::<IpAddr>().is_ok_and(|ip| ip.is_loopback())
        } else {
            e.eq_ignore_ascii_case("localhost")
        }
    })?;
    Some(NearMiss {
        entry: entry.clone(),
        write: bare.to_owned(),
        issue: "ip_for_name".to_owned(),
        reason: format!(
            "curl compares the URL's host literally and never resolves names for no_proxy: `{entry}` \
             does not cover {bare}"
        ),
        origin: origin.clone(),
    })
}

/// The entry in `list` that matches one of `addrs` (what the host resolves to), for a host name
/// the list does not name: the list was written with the address, the URL with the name.
pub fn address_near_miss(
    list: &NoProxy,
    host: &str,
    addrs: &[IpAddr],
    origin: &Provenance,
) -> Option<NearMiss> {
    let (ip, m) = addrs
        .iter()
        .find_map(|ip| list.matches(&ip.to_string()).map(|m| (ip, m)))?;
    Some(NearMiss {
        entry: m.entry.clone(),
        write: host.to_owned(),
        issue: "ip_for_name".to_owned(),
        reason: format!(
            "{host} resolves to {ip}, which `{}` covers, but curl compares the URL's host name and \
             never its addresses",
            m.entry
        ),
        origin: origin.clone(),
    })
}

/// Whether an issue code is one [`find`] can report.
#[cfg(test)]
fn is_near_miss_issue(issue: crate::proxy::NoProxyIssue) -> bool {
    use crate::proxy::NoProxyIssue as I;
    matches!(
        issue,
        I::UrlShaped
            | I::HasPath
            | I::HasPort
            | I::BlankSeparated
            | I::WildcardPrefix
            | I::BracketedIpv6
            | I::NonAscii
            | I::PartialIp
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn origin() -> Provenance {
        Provenance::Env {
            var: "no_proxy".into(),
        }
    }

    #[test]
    fn near_misses_name_the_entry_to_write() {
        // (list, host, the near miss: entry, entry to write, issue)
        type Case<'a> = (&'a str, &'a str, Option<(&'a str, &'a str, &'a str)>);
        let cases: &[Case<'_>] = &[
            (
                "https://api.internal/v1",
                "api.internal",
                Some(("https://api.internal/v1", "api.internal", "url_shaped")),
            ),
            (
                "api.internal:8443",
                "api.internal",
                Some(("api.internal:8443", "api.internal", "has_port")),
            ),
            (
                "*.corp.example",
                "git.corp.example",
                Some(("*.corp.example", ".corp.example", "wildcard_prefix")),
            ),
            (
                "api.internal/path",
                "api.internal",
                Some(("api.internal/path", "api.internal", "has_path")),
            ),
            (
                "localhost .corp.example",
                "git.corp.example",
                Some((".corp.example", ".corp.example", "blank_separated")),
            ),
            (
                "127.0.0.1",
                "localhost",
                Some(("127.0.0.1", "localhost", "ip_for_name")),
            ),
            (
                "localhost",
                "127.0.0.1",
                Some(("localhost", "127.0.0.1", "ip_for_name")),
            ),
            // Meant for another host: not a near miss of this one.
            ("https://other.internal", "api.internal", None),
            ("*.corp.example", "corp.example.net", None),
        ];
        for (list, host, want) in cases {
            let l = NoProxy::parse(list);
            assert!(!l.is_match(host), "{list} must not match {host}");
            let got = find(&l, host, &origin());
            let got = got
                .as_ref()
                .map(|n| (n.entry.as_str(), n.write.as_str(), n.issue.as_str()));
            match (got, want) {
                (Some((_, write, issue)), Some((_, w, i))) => {
                    assert_eq!((write, issue), (*w, *i), "{list} / {host}");
                    assert!(NoProxy::parse(write).is_match(host), "{write} / {host}");
                }
                (got, want) => assert_eq!(got.is_some(), want.is_some(), "{list} / {host}"),
            }
        }
    }

    #[test]
    fn an_address_entry_for_a_name_is_a_near_miss_once_resolved() {
        let l = NoProxy::parse("10.0.0.0/8,localhost");
        let n = address_near_miss(
            &l,
            "api.internal",
            &["10.1.2.3".parse().expect("ip")],
            &origin(),
        )
        .expect("near miss");
        assert_eq!(
            (n.entry.as_str(), n.write.as_str()),
            ("10.0.0.0/8", "api.internal")
        );
        assert!(
            address_near_miss(&l, "x.test", &["192.0.2.1".parse().expect("ip")], &origin())
                .is_none()
        );
        assert_eq!(n.location(), "the no_proxy environment variable");
    }

    #[test]
    fn every_reported_issue_is_a_near_miss_kind() {
        for (list, host) in [
            ("http://a.test", "a.test"),
            ("a.test:1", "a.test"),
            ("*.a.test", "b.a.test"),
        ] {
            let l = NoProxy::parse(list);
            let n = find(&l, host, &origin()).expect("near miss");
            let issue = l
                .diagnostics()
                .iter()
                .map(|d| d.issue)
                .find(|i| i.as_str() == n.issue)
                .expect("issue");
            assert!(is_near_miss_issue(issue), "{issue:?}");
        }
    }
}
