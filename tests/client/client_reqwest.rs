//! The reqwest bridge against the harness (feature `reqwest`; compiled only with it): reqwest
//! keeps the hot path, proxyscope decides each route through `Client::reqwest_proxy`
//! (provider proxies, `no_proxy`, credentials from `proxy_auth`, proxy headers), reqwest uses proxyscope's
//! rustls configuration for the origin, and `Client::diagnose_reqwest` explains reqwest's
//! failure with the structured error.

use std::time::Duration;

use proxyscope::credentials::{ProxyAuth, SecretSource};
use proxyscope::testing::{ChainMode, Handled, Policy, TestOrigin, TestPki, TestProxy, basic_auth};
use proxyscope::{Client, EnvSnapshot, Hop, NoProxy, Phase, ProxySetting, Settings};

const USER: &str = "svc";
const PASS: &str = "r3qwest-pw";

fn reqwest_client(
    proxy: reqwest::Proxy,
    tls: Option<proxyscope::rustls::ClientConfig>,
) -> reqwest::Client {
    let b = reqwest::Client::builder()
        .proxy(proxy)
        .timeout(Duration::from_secs(5));
    let b = match tls {
        Some(t) => b.tls_backend_preconfigured(t),
        None => b,
    };
    b.build().unwrap()
}

#[tokio::test]
async fn reqwest_routes_through_proxyscope_with_credentials() {
    let pki = TestPki::new();
    let egress = TestProxy::builder()
        .policy(Policy::require_basic(USER, PASS, "egress"))
        .start()
        .await;
    let plain = TestOrigin::http().await;
    let secure = TestOrigin::https(&pki, pki.localhost(), ChainMode::Full).await;
    let global = Settings::new()
        .with_proxy(ProxySetting::parse(&egress.url()).unwrap())
        .with_no_proxy(NoProxy::parse("direct.test"))
        .with_ca_file([pki.root_pem_path()])
        .with_proxy_auth(ProxyAuth::new(USER, SecretSource::env("EGRESS_PW")))
        .with_proxy_header("X-Egress-Tag", "via-reqwest");
    let client = Client::builder()
        .global(global)
        .http2(false)
        .env(EnvSnapshot::from_pairs([("EGRESS_PW", PASS)]))
        .build()
        .unwrap();
    let proxy = client.reqwest_proxy(None).unwrap();
    let shown = format!("{proxy:?}");
    assert!(!shown.contains(PASS), "{shown}");
    let tls = (*client.connector(None).unwrap().origin_tls().config()).clone();
    let r = reqwest_client(proxy, Some(tls));

    // Plain http: absolute-form with Proxy-Authorization from proxyscope's proxy_auth.
    let res = r.get(plain.url("/")).send().await.unwrap();
    assert_eq!(res.status(), 200);
    // https: CONNECT with the credentials, TLS with proxyscope's trust.
    let res = r
        .get(secure.url_with_host("localhost", "/"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let seen = egress.requests();
    assert_eq!(seen.len(), 2, "{seen:?}");
    assert_eq!(seen[0].handled, Handled::Relayed(200));
    assert_eq!(seen[1].method, "CONNECT");
    for s in &seen {
        assert_eq!(
            s.headers.get("proxy-authorization").unwrap(),
            basic_auth(USER, PASS).as_str()
        );
        // The layer's proxy headers travel with reqwest's requests to the proxy too.
        assert_eq!(s.headers["x-egress-tag"], "via-reqwest");
    }
}

#[tokio::test]
async fn a_reqwest_failure_is_explained_by_diagnose() {
    let pki = TestPki::new();
    let origin = TestOrigin::https(&pki, pki.localhost(), ChainMode::Full).await;
    let egress = TestProxy::builder()
        .policy(Policy::deny(&["localhost"]))
        .start()
        .await;
    let client = Client::builder()
        .provider(
            "partner",
            &origin.url_with_host("localhost", ""),
            Settings::new()
                .with_proxy(ProxySetting::parse(&egress.url()).unwrap())
                .with_ca_file([pki.root_pem_path()]),
        )
        .http2(false)
        .env(EnvSnapshot::default())
        .build()
        .unwrap();
    let tls = (*client
        .connector(Some("partner"))
        .unwrap()
        .origin_tls()
        .config())
    .clone();
    let r = reqwest_client(client.reqwest_proxy(Some("partner")).unwrap(), Some(tls));
    let failed = r
        .get(origin.url_with_host("localhost", "/"))
        .send()
        .await
        .unwrap_err();
    // reqwest knows the tunnel failed; proxyscope says why.
    let e = client
        .diagnose_reqwest(Some("partner"), &failed)
        .await
        .unwrap_err();
    assert_eq!(e.code(), "proxy.forbidden", "{}", e.report());
    assert_eq!((e.hop(), e.phase()), (Some(Hop::Proxy), Phase::Proxy));
    let reply = e.evidence().proxy_reply.as_ref().unwrap();
    assert_eq!(reply.status, 403);
    assert!(
        reply
            .header("x-squid-error")
            .is_some_and(|v| v.starts_with("ERR_ACCESS_DENIED"))
    );
    assert_eq!(e.route().and_then(|r| r.provider()), Some("partner"));
    // Nothing reached the origin, by either client.
    assert!(origin.requests().is_empty());
}

#[tokio::test]
async fn an_invalid_proxy_value_fails_the_bridge_instead_of_going_direct() {
    let client = Client::builder()
        .env(EnvSnapshot::from_pairs([(
            "https_proxy",
            "gopher://x.test:70",
        )]))
        .build()
        .unwrap();
    let e = client.reqwest_proxy(None).unwrap_err();
    assert_eq!(e.code(), "config.proxy_url");
    assert_eq!(e.evidence().setting.as_deref(), Some("https_proxy"));
}

#[tokio::test]
async fn a_proxy_list_or_pac_file_fails_the_bridge_instead_of_going_direct() {
    let list = Settings::new().with_proxy_list([
        ProxySetting::parse("http://a.test:3128").unwrap(),
        ProxySetting::Direct,
    ]);
    let client = Client::builder().global(list).build().unwrap();
    let e = client.reqwest_proxy(None).unwrap_err();
    assert_eq!(e.code(), "config.invalid");
    assert_eq!(e.evidence().setting.as_deref(), Some("proxy"));

    let dir = tempfile::tempdir().unwrap();
    let pac = dir.path().join("corp.pac");
    std::fs::write(
        &pac,
        "function FindProxyForURL(u, h) { return 'PROXY a.test:3128; DIRECT'; }",
    )
    .unwrap();
    let client = Client::builder()
        .provider("api", "https://api.test/", Settings::new().with_pac(&pac))
        .build()
        .unwrap();
    let e = client.reqwest_proxy(Some("api")).unwrap_err();
    assert_eq!(e.code(), "config.invalid");
    assert_eq!(e.evidence().setting.as_deref(), Some("providers.api.pac"));
    // By URL, every profile counts.
    assert_eq!(
        client.reqwest_proxy(None).unwrap_err().code(),
        "config.invalid"
    );
}
