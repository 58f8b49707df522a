//! NO_PROXY parsing and matching: the first line is a `NO_PROXY` value (also read as a config
//! list, one entry per `;`-separated part), every further line a host to match. Parsing never
//! panics, every printed form works, and the answers agree with each other and with curl's
//! case and trailing-dot rules. Every other tool's reading of the value (`PeerView`) is asked
//! about every host too, and never panics.
#![no_main]

use libfuzzer_sys::fuzz_target;
use proxyscope::NoProxy;
use proxyscope::proxy::peers::PeerHost;
use proxyscope::proxy::{PeerView, Tool};

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let mut lines = text.split('\n');
    let value = lines.next().unwrap_or("");
    let from_env = NoProxy::parse(value);
    let from_list = NoProxy::from_entries(value.split(';'));
    let peers = PeerView::new(value);
    for (i, host) in lines.clone().enumerate() {
        for tool in Tool::ALL {
            let _ = peers.bypasses(
                tool,
                PeerHost {
                    host,
                    port: [80, 443, 0, 8080][i % 4],
                    explicit_port: i % 2 == 1,
                },
            );
        }
    }
    for list in [&from_env, &from_list] {
        let _ = list.to_string();
        let _ = format!("{list:?}");
        let _ = serde_json::to_string(list).expect("a NoProxy always serialises");
        for d in list.diagnostics() {
            let _ = d.to_string();
            let _ = d.message();
        }
        assert_eq!(list.len(), list.entries().len());
        assert_eq!(list.is_empty(), list.entries().is_empty());
        for host in lines.clone() {
            let m = list.matches(host);
            assert_eq!(
                m.is_some(),
                list.is_match(host),
                "matches/is_match disagree"
            );
            if let Some(m) = &m {
                assert_eq!(list.entries().get(m.index), Some(&m.entry));
            }
            // ASCII case never changes the decision (IPv6 hex digits included).
            assert_eq!(
                list.is_match(host),
                list.is_match(&host.to_ascii_uppercase()),
                "case changed the decision for {host:?}"
            );
            // One trailing dot on a name is ignored.
            let is_ip = host.parse::<std::net::IpAddr>().is_ok() || host.starts_with('[');
            if !is_ip && !host.is_empty() && !host.ends_with('.') {
                let dotted = format!("{host}.");
                if dotted.parse::<std::net::IpAddr>().is_err() {
                    assert_eq!(
                        list.is_match(host),
                        list.is_match(&dotted),
                        "a trailing dot changed the decision for {host:?}"
                    );
                }
            }
        }
    }
});
