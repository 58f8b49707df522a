//! The harness's `TestProxy` imitates Squid; these tests hold the imitation to the real thing.
//!
//! Each test sends the same raw request to a `TestProxy` and to a real Squid configured alike and
//! compares what a client classifies a refusal by: status, `X-Squid-Error`, the `squid/` product
//! in `Server`, `Mime-Version`, `Content-Type`, the `<body id=ERR_…>` template marker and the
//! `Proxy-Authenticate` challenge. So tests written against the harness stay valid against Squid.
//!
//! Known differences, outside what a client should classify by: the harness says `squid/6.10`
//! and answers an unresolvable name with 503 `ERR_DNS_FAIL 0`, as fixed Squids do, where
//! Debian's 5.7 sends 500 `ERR_CANNOT_FORWARD 0` (CONNECT) or 502 `ERR_READ_ERROR 0` (plain
//! http; see `real_proxy_squid.rs`), so DNS is not compared here; the harness adds `Via` to
//! every reply where Squid sends none on a failed CONNECT; Squid 5 adds `X-Cache` and
//! `X-Cache-Lookup`, the harness does not.

use crate::support::{
    ORIGIN_SERVER, RealSquid, SQUID_REALM, SquidConfig, TestOrigin, WireResponse, exchange,
    start_or_skip,
};
use proxyscope::testing::basic_auth;
use proxyscope::testing::refused_addr;
use proxyscope::testing::{Policy, TestProxy};

/// The fields a client decides "who refused, and why" by.
#[derive(Debug, PartialEq, Eq)]
struct Classification {
    status: u16,
    squid_error: Option<String>,
    server_is_squid: bool,
    mime_version: Option<String>,
    content_type: Option<String>,
    template: Option<String>,
    proxy_authenticate: Option<String>,
}

fn classify(reply: &WireResponse) -> Classification {
    let template = reply
        .body
        .split("<body id=")
        .nth(1)
        .and_then(|rest| rest.split('>').next())
        .map(str::to_owned);
    Classification {
        status: reply.status,
        squid_error: reply.header("X-Squid-Error").map(str::to_owned),
        server_is_squid: reply
            .header("Server")
            .is_some_and(|s| s.starts_with("squid/")),
        mime_version: reply.header("Mime-Version").map(str::to_owned),
        content_type: reply.header("Content-Type").map(str::to_owned),
        template,
        proxy_authenticate: reply.header("Proxy-Authenticate").map(str::to_owned),
    }
}

/// Sends `head` to both and returns (harness, real) replies, bodies read.
async fn both(harness: &TestProxy, squid: &RealSquid, head: &str) -> (WireResponse, WireResponse) {
    let (_, from_harness) = exchange(harness.addr(), head, true).await;
    let (_, from_squid) = exchange(squid.addr(), head, true).await;
    (from_harness, from_squid)
}

fn assert_same_classification(harness: &WireResponse, squid: &WireResponse) {
    assert_eq!(
        classify(harness),
        classify(squid),
        "harness:\n{}\nsquid:\n{}",
        harness.head_text(),
        squid.head_text()
    );
}

fn connect_head(authority: &str, auth: Option<&str>) -> String {
    let mut head = format!("CONNECT {authority} HTTP/1.1\r\nHost: {authority}");
    if let Some(auth) = auth {
        head.push_str(&format!("\r\nProxy-Authorization: {auth}"));
    }
    head
}

pub(crate) async fn denied_destination_classifies_alike() {
    let squid = start_or_skip!(RealSquid::start(
        SquidConfig::new().deny_domain("blocked.test")
    ));
    let harness = TestProxy::builder()
        .policy(Policy::deny(&["blocked.test"]))
        .start()
        .await;
    let (h, s) = both(&harness, &squid, &connect_head("blocked.test:8443", None)).await;
    assert_eq!(s.status, 403);
    assert_same_classification(&h, &s);

    let get = "GET http://blocked.test/ HTTP/1.1\r\nHost: blocked.test";
    let (h, s) = both(&harness, &squid, get).await;
    assert_eq!(s.status, 403);
    assert_same_classification(&h, &s);
}

pub(crate) async fn missing_and_wrong_credentials_classify_alike() {
    let squid = start_or_skip!(RealSquid::start(
        SquidConfig::new().basic_auth("alice", "correct horse")
    ));
    let harness = TestProxy::builder()
        .policy(Policy::require_basic("alice", "correct horse", SQUID_REALM))
        .start()
        .await;
    let (h, s) = both(&harness, &squid, &connect_head("127.0.0.1:8443", None)).await;
    assert_eq!(s.status, 407);
    assert_same_classification(&h, &s);

    let wrong = basic_auth("alice", "battery staple");
    let (h, s) = both(
        &harness,
        &squid,
        &connect_head("127.0.0.1:8443", Some(&wrong)),
    )
    .await;
    assert_eq!(s.status, 407);
    assert_same_classification(&h, &s);
}

pub(crate) async fn refused_destination_classifies_alike() {
    let squid = start_or_skip!(RealSquid::start(SquidConfig::new()));
    // No policy: the harness really tries the destination, as Squid does.
    let harness = TestProxy::allow_all().await;
    let authority = format!("127.0.0.1:{}", refused_addr().port());
    let (h, s) = both(&harness, &squid, &connect_head(&authority, None)).await;
    assert_eq!(s.status, 503);
    assert_same_classification(&h, &s);

    let get = format!("GET http://{authority}/ HTTP/1.1\r\nHost: {authority}");
    let (h, s) = both(&harness, &squid, &get).await;
    assert_eq!(s.status, 503);
    assert_same_classification(&h, &s);
}

pub(crate) async fn tunnel_and_relayed_origin_403_classify_alike() {
    let origin = TestOrigin::http().await;
    let squid = start_or_skip!(RealSquid::start(SquidConfig::new()));
    let harness = TestProxy::allow_all().await;
    let authority = origin.addr().to_string();

    let (_, h) = exchange(harness.addr(), &connect_head(&authority, None), false).await;
    let (_, s) = exchange(squid.addr(), &connect_head(&authority, None), false).await;
    assert_eq!((h.status, s.status), (200, 200));

    // Relayed: the origin's reply, no Squid markers, in both.
    let get = format!("GET http://{authority}/forbidden HTTP/1.1\r\nHost: {authority}");
    let (h, s) = both(&harness, &squid, &get).await;
    assert_eq!(s.status, 403);
    assert_eq!(s.header("Server"), Some(ORIGIN_SERVER));
    assert_eq!(h.header("Server"), Some(ORIGIN_SERVER), "{}", h.head_text());
    assert_same_classification(&h, &s);
}
