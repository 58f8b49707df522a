//! proxyscope reads `no_proxy` as curl ≥ 8.18 does; an older curl (Debian 12 ships 7.88.1)
//! decides some lists differently, and the lint is meant to say where. Checked against that
//! curl itself: `tests/fixtures/peers/curl-no-proxy.jsonl` holds 1,500 generated lists and
//! URLs with the recorded curl's decision (written by `scripts/peer-decisions/curl-no-proxy.py`).
//! Each case goes through a client built from those variables; wherever the recorded curl
//! decided otherwise, the list must carry a finding that names the older curl's reading.

use proxyscope::proxy::{NoProxyIssue, Severity};
use proxyscope::{Client, EnvSnapshot, NoProxy};

use crate::common::recorded::{recorded, text};

/// Whether the list has a finding that explains an older curl's different decision.
fn names_the_older_reading(list: &NoProxy) -> bool {
    list.diagnostics().iter().any(|d| {
        // A blank ends the list since curl 8.9 (7.86 to 8.8 read the names after it); curl
        // 8.18 made IPv6 hosts addresses. The other findings say what the older curl read
        // (`atoi` prefixes, `/0` and `.::1` against an IPv6 host) in their reason.
        matches!(
            d.issue,
            NoProxyIssue::BlankSeparated | NoProxyIssue::Ipv6OlderCurl
        ) || d.reason.contains("curl before 8.18")
    })
}

#[test]
fn every_decision_of_an_older_curl_that_differs_is_named_by_the_lint() {
    let (header, recorded) = recorded("curl-no-proxy.jsonl");
    assert_eq!(header["tool"], "curl", "{header}");
    let (mut cases, mut differ, mut unexplained) = (0, 0, Vec::new());
    for case in &recorded {
        let (list, url) = (text(case, "no_proxy"), text(case, "url"));
        let curl_direct = case["direct"].as_bool().unwrap_or_else(|| panic!("{case}"));
        let client = Client::builder()
            .env(EnvSnapshot::from_pairs([
                ("http_proxy", "http://127.0.0.1:18001"),
                ("no_proxy", list),
            ]))
            .build()
            .unwrap_or_else(|e| panic!("{case}: {}", e.report()));
        let route = client
            .route(None, url)
            .unwrap_or_else(|e| panic!("{case}: {}", e.report()));
        cases += 1;
        if route.is_direct() == curl_direct {
            continue;
        }
        differ += 1;
        let parsed = NoProxy::parse(list);
        if !names_the_older_reading(&parsed) {
            let found: Vec<String> = parsed
                .diagnostics()
                .iter()
                .map(|d| format!("{} {}", d.issue, d.entry))
                .collect();
            unexplained.push(format!(
                "no_proxy={list:?} {url}: curl {} direct={curl_direct}, found {found:?}",
                header["version"]
            ));
        }
    }
    assert_eq!(cases, 1500, "every recorded case is checked");
    assert!(
        unexplained.is_empty(),
        "{} of {differ} differing decisions are not named by the lint:\n{}",
        unexplained.len(),
        unexplained.join("\n")
    );
    // The fixture holds the older readings it is meant to check.
    assert!(differ >= 20, "{differ}");
    assert!(
        NoProxy::parse("::/127")
            .diagnostics()
            .iter()
            .all(|d| d.severity == Severity::Info)
    );
}
