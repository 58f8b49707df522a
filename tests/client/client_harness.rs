//! The client against the public harness (`TestPki`, `TestOrigin`, `TestProxy` with policies):
//! each proxy failure code with its evidence and the route's steps, and the successful paths.

use std::time::Duration;

use crate::common::servers::{builder, layer};
use proxyscope::testing::{ChainMode, Handled, Policy, TestOrigin, TestPki, TestProxy};
use proxyscope::{Hop, Phase, Settings};

fn via(proxy: &str, pki: &TestPki) -> Settings {
    layer(Some(proxy)).with_ca_file([pki.root_pem_path().to_path_buf()])
}

async fn tls_origin(pki: &TestPki) -> TestOrigin {
    TestOrigin::https(pki, pki.localhost(), ChainMode::Full).await
}

async fn proxy_with(policy: Policy) -> TestProxy {
    TestProxy::builder().policy(policy).start().await
}

#[tokio::test]
async fn acl_denial_is_proxy_forbidden_with_route_steps_and_hint() {
    let pki = TestPki::new();
    let origin = tls_origin(&pki).await;
    let proxy = proxy_with(Policy::deny(&["localhost"])).await;
    let client = builder(via(&proxy.url(), &pki)).build().unwrap();
    let e = client
        .get(origin.url_with_host("localhost", "/"))
        .await
        .unwrap_err();
    assert_eq!(e.code(), "proxy.forbidden");
    assert_eq!(e.hop(), Some(Hop::Proxy));
    assert_eq!(e.phase(), Phase::Proxy);
    let reply = e.evidence().proxy_reply.as_ref().unwrap();
    assert_eq!(reply.status, 403);
    assert!(
        reply
            .header("x-squid-error")
            .is_some_and(|v| v.starts_with("ERR_ACCESS_DENIED"))
    );
    let route = e.route().unwrap();
    assert!(!route.steps().is_empty());
    assert!(route.proxy_origin().is_some());
    assert!(e.hint().is_some());
    assert_eq!(proxy.requests()[0].handled, Handled::Refused(403));
    assert!(origin.requests().is_empty());
}

#[tokio::test]
async fn upstream_failures_are_proxy_upstream() {
    let pki = TestPki::new();
    for (policy, signal) in [
        (Policy::Unreachable, "X-Squid-Error: ERR_CONNECT_FAIL"),
        (Policy::Unresolvable, "X-Squid-Error: ERR_DNS_FAIL"),
        (
            Policy::proxy_status_dns_error(),
            "Proxy-Status: error=dns_error",
        ),
        (
            Policy::proxy_status_connection_refused(),
            "Proxy-Status: error=connection_refused",
        ),
    ] {
        let proxy = proxy_with(policy).await;
        let client = builder(via(&proxy.url(), &pki)).build().unwrap();
        let e = client.get("https://localhost:9/").await.unwrap_err();
        assert_eq!(e.code(), "proxy.upstream", "{signal}");
        assert_eq!(e.hop(), Some(Hop::Proxy));
        assert_eq!(e.phase(), Phase::Proxy);
        assert_eq!(e.evidence().cause.as_deref(), Some(signal));
        assert!(
            e.evidence()
                .proxy_reply
                .as_ref()
                .is_some_and(|r| r.status >= 500)
        );
    }
}

#[tokio::test]
async fn basic_auth_missing_wrong_and_right() {
    let pki = TestPki::new();
    let origin = tls_origin(&pki).await;
    let proxy = proxy_with(Policy::require_basic("alice", "s3cret", "corp")).await;
    let url = origin.url_with_host("localhost", "/");

    let e = builder(via(&proxy.url(), &pki))
        .build()
        .unwrap()
        .get(&url)
        .await
        .unwrap_err();
    assert_eq!(e.code(), "proxy.auth_required");
    assert_eq!(e.evidence().auth_schemes, ["Basic"]);
    assert_eq!(e.evidence().auth_realm.as_deref(), Some("corp"));
    assert_eq!(e.evidence().credentials_sent, Some(false));

    let wrong = proxy.url_with_credentials("alice", "nope");
    let e = builder(via(&wrong, &pki))
        .build()
        .unwrap()
        .get(&url)
        .await
        .unwrap_err();
    assert_eq!(e.code(), "proxy.auth_rejected");
    assert_eq!(e.hop(), Some(Hop::Proxy));
    assert_eq!(e.evidence().credentials_sent, Some(true));

    let right = proxy.url_with_credentials("alice", "s3cret");
    let r = builder(via(&right, &pki))
        .build()
        .unwrap()
        .get(&url)
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert!(proxy.connects().last().unwrap().has_proxy_authorization);
}

#[tokio::test]
async fn misbehaving_proxies() {
    let pki = TestPki::new();
    let cases = [
        (Policy::Garbage, "proxy.protocol", Phase::Proxy),
        (Policy::OversizedHeaders, "proxy.protocol", Phase::Proxy),
        (Policy::CloseAfterAccept, "proxy.closed", Phase::Proxy),
        (Policy::Stall, "proxy.timeout", Phase::Proxy),
    ];
    for (policy, code, phase) in cases {
        let proxy = proxy_with(policy).await;
        let global = via(&proxy.url(), &pki).with_timeout(Phase::Proxy, Duration::from_millis(400));
        let e = builder(global)
            .build()
            .unwrap()
            .get("https://localhost:9/")
            .await
            .unwrap_err();
        assert_eq!(e.code(), code);
        assert_eq!(e.hop(), Some(Hop::Proxy));
        assert_eq!(e.phase(), phase);
        assert_eq!(e.evidence().target.as_deref(), Some("localhost:9"));
    }
}

#[tokio::test]
async fn ok_then_close_is_the_proxys_tunnel_not_the_origin() {
    let pki = TestPki::new();
    let proxy = proxy_with(Policy::OkThenClose).await;
    let e = builder(via(&proxy.url(), &pki))
        .build()
        .unwrap()
        .get("https://localhost:9/")
        .await
        .unwrap_err();
    // The origin never sent a byte through the tunnel: the proxy closed it.
    assert_eq!(e.code(), "proxy.closed", "{}", e.report());
    assert_eq!(e.hop(), Some(Hop::Proxy));
    assert_eq!(e.blame(), proxyscope::Blame::Proxy);
    assert_eq!(e.phase(), Phase::Tls);
    let closure = e.evidence().closure.expect("closure");
    assert_eq!(closure.how, proxyscope::error::CloseKind::Closed);
    assert_eq!(closure.stage, proxyscope::error::CloseStage::Tunnel);
}

#[tokio::test]
async fn socks5_denial_keeps_the_reply_code() {
    let pki = TestPki::new();
    let proxy = TestProxy::builder()
        .socks5()
        .policy(Policy::deny(&["localhost"]))
        .start()
        .await;
    let e = builder(via(
        &proxy
            .socks5_url()
            .unwrap()
            .replace("socks5://", "socks5h://"),
        &pki,
    ))
    .build()
    .unwrap()
    .get("https://localhost:9/")
    .await
    .unwrap_err();
    assert_eq!(e.code(), "proxy.refused");
    assert_eq!(e.phase(), Phase::Proxy);
    let reply = e.evidence().proxy_reply.as_ref().unwrap();
    assert_eq!(
        (reply.status, reply.reason.as_str()),
        (2, "connection not allowed by ruleset")
    );
}

#[tokio::test]
async fn successful_paths_through_the_harness() {
    let pki = TestPki::new();
    let origin = tls_origin(&pki).await;
    let url = origin.url_with_host("localhost", "/");
    let proxy = TestProxy::builder()
        .tls(&pki, pki.localhost())
        .socks5()
        .start()
        .await;

    // CONNECT, reused: one tunnel for several requests, HTTP/2 inside it.
    let client = builder(via(&proxy.url(), &pki)).build().unwrap();
    for _ in 0..3 {
        let r = client.get(&url).await.unwrap();
        assert_eq!(r.status(), 200);
        assert_eq!(r.version(), http::Version::HTTP_2);
        r.bytes().await.unwrap();
    }
    assert_eq!(proxy.connect_count(), 1);

    // An https:// proxy, trusted through proxy_ca_file.
    let https_proxy = proxy.https_url().unwrap().replace("127.0.0.1", "localhost");
    let global = via(&https_proxy, &pki).with_proxy_ca_file([pki.root_pem_path().to_path_buf()]);
    let r = builder(global).build().unwrap().get(&url).await.unwrap();
    assert_eq!(r.status(), 200);
    assert!(r.conn_info().unwrap().proxy_tls.is_some());

    // SOCKS5h.
    let socks = proxy
        .socks5_url()
        .unwrap()
        .replace("socks5://", "socks5h://");
    let r = builder(via(&socks, &pki))
        .build()
        .unwrap()
        .get(&url)
        .await
        .unwrap();
    assert_eq!(r.status(), 200);

    // Plain http in absolute-form, relayed.
    let plain = TestOrigin::http().await;
    let r = builder(via(&proxy.url(), &pki))
        .build()
        .unwrap()
        .get(plain.url_with_host("localhost", "/"))
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert!(r.conn_info().unwrap().absolute_form);
    assert!(
        proxy
            .requests()
            .iter()
            .any(|q| q.handled == Handled::Relayed(200))
    );
}

#[tokio::test]
async fn interception_is_an_untrusted_origin_chain_on_the_origin_hop() {
    let pki = TestPki::new();
    let origin = tls_origin(&pki).await;
    let proxy = TestProxy::builder().intercept(&pki).start().await;
    let e = builder(via(&proxy.url(), &pki))
        .build()
        .unwrap()
        .get(origin.url_with_host("localhost", "/"))
        .await
        .unwrap_err();
    assert_eq!(e.code(), "tls.unknown_issuer");
    assert_eq!(e.hop(), Some(Hop::Origin));
    assert_eq!(e.phase(), Phase::Tls);
    assert!(e.evidence().tls.is_some());
    assert!(e.evidence().proxy.is_some());
}

#[tokio::test]
async fn harness_origin_403_relayed_versus_proxy_403_generated() {
    let pki = TestPki::new();
    let plain = TestOrigin::http().await;
    // The origin's own 403, relayed by an allowing proxy.
    let proxy = TestProxy::allow_all().await;
    let r = builder(via(&proxy.url(), &pki))
        .build()
        .unwrap()
        .get(plain.url_with_host("localhost", "/forbidden"))
        .await
        .unwrap();
    assert_eq!(r.status(), 403);
    let e = r.error_for_status().unwrap_err();
    assert_eq!(e.code(), "http.status");
    assert_eq!(e.hop(), Some(Hop::Origin));
    // The proxy's own 403 for the same URL.
    let denying = proxy_with(Policy::deny(&["localhost"])).await;
    let r = builder(via(&denying.url(), &pki))
        .build()
        .unwrap()
        .get(plain.url_with_host("localhost", "/forbidden"))
        .await
        .unwrap();
    assert_eq!(r.status(), 403);
    let e = r.error_for_status().unwrap_err();
    assert_eq!(e.code(), "proxy.forbidden");
    assert_eq!(e.hop(), Some(Hop::Proxy));
    assert!(
        e.evidence()
            .attribution
            .as_ref()
            .unwrap()
            .squid_error
            .is_some()
    );
}
