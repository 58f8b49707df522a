//! Proxy values read as curl reads them: where curl connects for each value of
//! `tests/fixtures/peers/curl-proxy-values.jsonl` (recorded from curl itself by
//! `scripts/peer-decisions/curl-proxy-values.py`: every scheme, host form, port form, tail and
//! user-info form, and malformed values), proxyscope's `ProxyUrl` connects too — the same
//! address and port, resolved by proxyscope's own resolver — and where curl refuses the value,
//! so does proxyscope. The differences are deliberate, listed in `deliberate` with the reason,
//! and never silent: a value curl refuses and proxyscope reads carries a note.

use proxyscope::connect::Resolver;
use proxyscope::proxy::{ProxyUrl, ProxyUrlErrorKind, ProxyUrlNote};

use crate::common::recorded::{recorded, text};

/// Why proxyscope refuses a value curl connects through, or `None` when that is a bug.
fn deliberate(value: &str, kind: ProxyUrlErrorKind) -> Option<&'static str> {
    let lower = value.to_ascii_lowercase();
    let authority = lower
        .split_once("://")
        .map_or(lower.as_str(), |(_, rest)| rest);
    let authority = authority.split(['/', '?', '#']).next().unwrap_or(authority);
    let hostport = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
    let port = hostport
        .rsplit_once(':')
        .map(|(_, p)| p)
        .filter(|_| !hostport.ends_with(']'));
    match kind {
        // curl reads `http:/p` and `http:///p` as `http://p`; Python and Node find no host,
        // hyper-util drops the proxy: an error that names the value to write.
        ProxyUrlErrorKind::Slashes => Some("slashes"),
        // curl dials port 0 and fails; nothing listens there.
        ProxyUrlErrorKind::InvalidPort
            if port.is_some_and(|p| !p.is_empty() && p.bytes().all(|b| b == b'0')) =>
        {
            Some("port 0")
        }
        // curl percent-decodes the host name; no other tool does.
        ProxyUrlErrorKind::InvalidHost if hostport.contains('%') => Some("percent-encoded host"),
        _ => None,
    }
}

#[test]
fn proxy_values_are_read_as_curl_reads_them() {
    let (header, recorded) = recorded("curl-proxy-values.jsonl");
    assert_eq!(header["tool"], "curl", "{header}");
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap_or_else(|e| panic!("{e}"));
    let resolver = Resolver::system();
    let (mut agreed, mut differences, mut wrong) = (0, Vec::new(), Vec::new());
    for case in &recorded {
        let value = text(case, "value");
        let ours = ProxyUrl::parse(value);
        match (case["curl"].as_str(), &ours) {
            (Some("connect"), Ok(u)) => {
                let want: std::net::IpAddr = case["address"]
                    .as_str()
                    .and_then(|a| a.parse().ok())
                    .unwrap_or_else(|| panic!("{case}"));
                let port = case["port"].as_u64().unwrap_or_else(|| panic!("{case}"));
                let dialled = rt.block_on(resolver.lookup(u.host(), u.port()));
                let same = u64::from(u.port()) == port
                    && dialled
                        .as_ref()
                        .is_ok_and(|a| a.iter().any(|a| a.ip() == want));
                match same {
                    true => agreed += 1,
                    false => wrong.push(format!(
                        "{value:?}: curl dials {want} port {port}, proxyscope {}:{} ({dialled:?})",
                        u.host(),
                        u.port()
                    )),
                }
            }
            (Some("resolve"), Ok(u)) => {
                let name = case["name"].as_str().unwrap_or_else(|| panic!("{case}"));
                match u.host() == name.to_ascii_lowercase() {
                    true => agreed += 1,
                    false => wrong.push(format!(
                        "{value:?}: curl looks up {name}, proxyscope {}",
                        u.host()
                    )),
                }
            }
            (Some("refuse"), Err(_)) => agreed += 1,
            (Some("connect" | "resolve"), Err(e)) => match deliberate(value, e.kind()) {
                Some(why) => differences.push((why, value.to_owned())),
                None => wrong.push(format!("{value:?}: curl connects, proxyscope: {e}")),
            },
            // Read here, refused by curl: only with a note saying so.
            (Some("refuse"), Ok(u)) => {
                let noted = u.notes().iter().any(|n| {
                    matches!(
                        n,
                        ProxyUrlNote::WhitespaceTrimmed | ProxyUrlNote::AtInCredentials
                    )
                });
                match noted {
                    true => differences.push(("noted", value.to_owned())),
                    false => wrong.push(format!(
                        "{value:?}: curl refuses, proxyscope reads {} without a note",
                        u.authority()
                    )),
                }
            }
            (other, _) => panic!("{case}: unknown curl outcome {other:?}"),
        }
    }
    assert!(
        wrong.is_empty(),
        "{} of {} values read differently from curl {}:\n{}",
        wrong.len(),
        agreed + differences.len() + wrong.len(),
        header["version"],
        wrong.join("\n")
    );
    // Most of the table agrees; the deliberate differences stay few and each kind is seen.
    assert!(agreed >= 600, "{agreed}");
    for why in ["slashes", "port 0", "percent-encoded host", "noted"] {
        assert!(
            differences.iter().any(|(w, _)| *w == why),
            "no case of {why}: {differences:?}"
        );
    }
    assert!(differences.len() <= 45, "{differences:#?}");
}
