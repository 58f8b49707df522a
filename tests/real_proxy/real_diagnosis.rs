//! The diagnosis against real proxies: when Squid or tinyproxy refuses (or cannot reach) a host
//! that the route's `no_proxy` list was meant to send direct — a URL-shaped entry, a `*.` pattern,
//! a CIDR written for a name — the error's hint leads with the entry to write and where the list
//! lives, blames the local configuration, and names the proxy's operators only second; the same
//! for CONNECT and for plain `http://` (absolute-form) requests, which get the same code.

use proxyscope::connect::Resolver;
use proxyscope::{Blame, Error, Hop, NoProxy, Phase};

use crate::support::client::{builder, via};
use crate::support::{RealSquid, RealTinyproxy, SquidConfig, TinyproxyConfig, start_or_skip};

fn assert_leads_with_the_local_fix(e: &Error, entry: &str, host: &str, write: &str) {
    let report = e.report();
    assert_eq!(e.blame(), Blame::LocalConfig, "{report}");
    assert_eq!(e.hop(), Some(Hop::Proxy), "{report}");
    let hint = e.hint().unwrap_or_default();
    assert!(
        hint.starts_with(&format!(
            "no_proxy entry `{entry}` in the client builder's `no_proxy` does not match {host}"
        )),
        "{report}"
    );
    assert!(
        hint.contains(&format!(
            "write `{write}` there so {host} bypasses the proxy"
        )),
        "{report}"
    );
    // What the proxy's side could do comes second, only for the case the route is meant.
    let second = hint.find("; only if ").expect("the proxy's side second");
    assert!(hint.find("write `") < Some(second), "{report}");
}

pub(crate) async fn squid_refusing_a_near_missed_host_leads_with_the_no_proxy_fix() {
    let squid = start_or_skip!(RealSquid::start(
        SquidConfig::new().deny_domain(".corp.test")
    ));
    let client = builder(via(&squid.url()).with_no_proxy(NoProxy::parse("https://git.corp.test/")))
        .build()
        .expect("client");
    // CONNECT.
    let e = client.get("https://git.corp.test:8443/").await.unwrap_err();
    assert_eq!(e.code(), "proxy.forbidden", "{}", e.report());
    assert_eq!(e.phase(), Phase::Proxy);
    assert_leads_with_the_local_fix(
        &e,
        "https://git.corp.test/",
        "git.corp.test",
        "git.corp.test",
    );
    // Absolute-form: Squid's own 403 page, the same code and the same lead.
    let e = client
        .get("http://git.corp.test/")
        .await
        .expect("Squid's reply")
        .error_for_status()
        .unwrap_err();
    assert_eq!(e.code(), "proxy.forbidden", "{}", e.report());
    assert_eq!(e.phase(), Phase::Http);
    assert_leads_with_the_local_fix(
        &e,
        "https://git.corp.test/",
        "git.corp.test",
        "git.corp.test",
    );
    assert_eq!(
        e.evidence().attribution.as_ref().map(|a| a.source),
        Some(Hop::Proxy)
    );
}

pub(crate) async fn tinyproxy_filtering_a_near_missed_host_leads_with_the_no_proxy_fix() {
    let proxy = start_or_skip!(RealTinyproxy::start(
        TinyproxyConfig::new().filter(r"(^|\.)corp\.test$")
    ));
    let client = builder(via(&proxy.url()).with_no_proxy(NoProxy::parse("*.corp.test")))
        .build()
        .expect("client");
    let e = client.get("https://git.corp.test:8443/").await.unwrap_err();
    assert_eq!(e.code(), "proxy.forbidden", "{}", e.report());
    assert_leads_with_the_local_fix(&e, "*.corp.test", "git.corp.test", ".corp.test");
}

/// Squid cannot resolve an internal name; this machine resolves it to an address the list
/// covers by CIDR, but curl's rules never compare a name with addresses.
pub(crate) async fn squid_failing_an_internal_name_whose_address_is_in_no_proxy_says_so() {
    let squid = start_or_skip!(RealSquid::start(SquidConfig::new()));
    let client = builder(via(&squid.url()).with_no_proxy(NoProxy::parse("localhost,10.0.0.0/8")))
        .resolver(Resolver::pinned(
            "wiki.invalid",
            ["10.1.2.3".parse().expect("ip")],
        ))
        .build()
        .expect("client");
    let e = client.get("https://wiki.invalid/").await.unwrap_err();
    assert_eq!(e.code(), "proxy.upstream", "{}", e.report());
    assert_leads_with_the_local_fix(&e, "10.0.0.0/8", "wiki.invalid", "wiki.invalid");
    assert!(
        e.hint()
            .unwrap_or_default()
            .contains("wiki.invalid resolves to 10.1.2.3"),
        "{}",
        e.report()
    );
}
