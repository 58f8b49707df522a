//! Successful requests along every kind of route, against real servers on loopback: direct,
//! via CONNECT, via absolute-form, via an https proxy, via SOCKS5h, HTTP/2 through a tunnel,
//! and connection reuse through the pool.

use std::sync::Arc;

use crate::common::servers::{builder, layer, test_proxy};
use proxyscope::client::ResponsePath;
use proxyscope::testing::{CannedReply, ChainMode, Policy, TestOrigin, TestPki, basic_auth};
use proxyscope::{Hop, Settings};
use rustls::ServerConfig;

/// A 200 with `body`: each origin answers with its own, so the test sees which one replied.
fn ok(body: &str) -> CannedReply {
    CannedReply::new(200).body(body)
}

/// An HTTP origin answering `paths` with 200 `body`.
async fn plain_origin(paths: &[&str], body: &str) -> TestOrigin {
    let origin = TestOrigin::http().await;
    for path in paths {
        origin.answer(path, ok(body));
    }
    origin
}

/// An HTTPS origin for `origin.test` under `pki`, offering `alpn` (some paths are tested over
/// HTTP/1.1 alone, without h2), answering `/` with 200 `body`.
async fn tls_origin(pki: &TestPki, alpn: &[&[u8]], body: &str) -> TestOrigin {
    let leaf = pki.leaf_for(&["origin.test"]);
    let mut config = ServerConfig::clone(&pki.server_config(&leaf, ChainMode::Full));
    config.alpn_protocols = alpn.iter().map(|a| a.to_vec()).collect();
    let origin = TestOrigin::with_tls_config(Arc::new(config)).await;
    origin.answer("/", ok(body));
    origin
}

/// The PKI's root, the file a client trusts.
fn ca_file(pki: &TestPki) -> std::path::PathBuf {
    pki.root_pem_path().to_path_buf()
}

#[tokio::test]
async fn direct_http_and_https() {
    let plain = plain_origin(&["/a"], "plain").await;
    let pki = TestPki::new();
    let tls = tls_origin(&pki, &[b"h2", b"http/1.1"], "secure").await;
    tls.answer("/b", ok("secure"));
    let client = builder(layer(None).with_ca_file([ca_file(&pki)]))
        .build()
        .unwrap();

    let r = client
        .get(format!("http://origin.test:{}/a", plain.port()))
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert!(r.route().proxy().is_none());
    assert_eq!(r.attribution().path, ResponsePath::Direct);
    assert_eq!(r.text().await.unwrap(), "plain");

    let r = client
        .get(format!("https://origin.test:{}/b", tls.port()))
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let info = r.conn_info().unwrap();
    assert!(!info.tunnel && !info.absolute_form);
    assert!(
        info.origin_tls
            .as_ref()
            .is_some_and(|t| !t.chain.is_empty())
    );
    assert_eq!(r.text().await.unwrap(), "secure");
}

#[tokio::test]
async fn https_via_connect_tunnel() {
    let pki = TestPki::new();
    let o = tls_origin(&pki, &[b"http/1.1"], "tunnelled").await;
    let proxy = test_proxy().start().await;
    let global = layer(Some(&proxy.url())).with_ca_file([ca_file(&pki)]);
    let client = builder(global).build().unwrap();
    let r = client
        .get(format!("https://origin.test:{}/", o.port()))
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert!(r.conn_info().unwrap().tunnel);
    assert_eq!(r.attribution().source, Hop::Origin);
    assert_eq!(r.attribution().path, ResponsePath::Tunnel);
    assert_eq!(r.text().await.unwrap(), "tunnelled");
    let connect = &proxy.requests()[0];
    assert_eq!(connect.method, "CONNECT");
    assert_eq!(connect.target, format!("origin.test:{}", o.port()));
}

#[tokio::test]
async fn plain_http_via_absolute_form_with_credentials() {
    let o = TestOrigin::http().await;
    o.answer(
        "/x",
        CannedReply::new(200)
            .header("Server", "nginx")
            .body("relayed"),
    );
    let proxy = test_proxy()
        .policy(Policy::require_basic("u", "p@ss", "test"))
        .start()
        .await;
    // `p%40ss` in the URL is sent decoded: u:p@ss.
    let global = layer(Some(&proxy.url_with_credentials("u", "p%40ss")));
    let client = builder(global).build().unwrap();
    let r = client
        .get(format!("http://origin.test:{}/x?q=1", o.port()))
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert!(r.conn_info().unwrap().absolute_form);
    assert_eq!(r.attribution().path, ResponsePath::AbsoluteForm);
    assert_eq!(r.attribution().source, Hop::Origin);
    let seen = &proxy.requests()[0];
    assert_eq!(seen.headers["proxy-authorization"], basic_auth("u", "p@ss"));
    assert_eq!(basic_auth("u", "p@ss"), "Basic dTpwQHNz");
    assert_eq!(seen.method, "GET");
    assert_eq!(
        seen.target,
        format!("http://origin.test:{}/x?q=1", o.port())
    );
    assert_eq!(proxy.connect_count(), 0);
}

#[tokio::test]
async fn plain_http_can_be_tunnelled_instead() {
    let o = plain_origin(&["/"], "t").await;
    let proxy = test_proxy().start().await;
    let client = builder(layer(Some(&proxy.url())))
        .tunnel_plain_http(true)
        .build()
        .unwrap();
    let r = client
        .get(format!("http://origin.test:{}/", o.port()))
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert!(r.conn_info().unwrap().tunnel);
    assert_eq!(proxy.connect_count(), 1);
}

#[tokio::test]
async fn https_via_an_https_proxy_trusted_by_proxy_ca_file() {
    // Two PKIs: the proxy's root is trusted only through `proxy_ca_file`.
    let proxy_pki = TestPki::new();
    let origin_pki = TestPki::new();
    let o = tls_origin(&origin_pki, &[b"h2", b"http/1.1"], "double tls").await;
    let proxy = test_proxy()
        .tls(&proxy_pki, &proxy_pki.leaf_for(&["proxy.test"]))
        .policy(Policy::require_basic("u", "p", "test"))
        .start()
        .await;
    let proxy_port = proxy.https_addr().unwrap().port();
    let global = layer(Some(&format!("https://u:p@proxy.test:{proxy_port}")))
        .with_proxy_ca_file([ca_file(&proxy_pki)])
        .with_ca_file([ca_file(&origin_pki)]);
    let client = builder(global).build().unwrap();
    let r = client
        .get(format!("https://origin.test:{}/", o.port()))
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let info = r.conn_info().unwrap();
    assert!(info.proxy_tls.is_some());
    assert!(info.origin_tls.is_some());
    assert_eq!(r.text().await.unwrap(), "double tls");
    assert_eq!(proxy.connect_count(), 1);
    assert_eq!(
        proxy.connects()[0].headers["proxy-authorization"],
        basic_auth("u", "p")
    );
}

#[tokio::test]
async fn https_via_socks5h_sends_the_name_and_socks5_the_address() {
    let pki = TestPki::new();
    let o = tls_origin(&pki, &[b"http/1.1"], "socks").await;
    let proxy = test_proxy().socks5_auth("u", "pw").start().await;
    let addr = proxy.socks5_addr().unwrap();
    let url = format!("https://origin.test:{}/", o.port());
    let global = layer(Some(&format!("socks5h://u:pw@{addr}"))).with_ca_file([ca_file(&pki)]);
    let r = builder(global).build().unwrap().get(&url).await.unwrap();
    assert_eq!(r.text().await.unwrap(), "socks");
    assert_eq!(
        proxy.connects()[0].target,
        format!("origin.test:{}", o.port())
    );

    let global = layer(Some(&format!("socks5://u:pw@{addr}"))).with_ca_file([ca_file(&pki)]);
    let r = builder(global).build().unwrap().get(&url).await.unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(
        proxy.connects()[1].target,
        format!("127.0.0.1:{}", o.port())
    );
    assert!(proxy.connects().iter().all(|c| c.has_proxy_authorization));
}

#[tokio::test]
async fn http2_through_a_tunnel() {
    let pki = TestPki::new();
    let o = tls_origin(&pki, &[b"h2", b"http/1.1"], "h2").await;
    let proxy = test_proxy().start().await;
    let global = layer(Some(&proxy.url())).with_ca_file([ca_file(&pki)]);
    let client = builder(global).build().unwrap();
    let r = client
        .get(format!("https://origin.test:{}/", o.port()))
        .await
        .unwrap();
    assert_eq!(r.version(), http::Version::HTTP_2);
    assert_eq!(o.requests()[0].version, http::Version::HTTP_2);
    assert_eq!(r.conn_info().unwrap().alpn.as_deref(), Some("h2"));
}

#[tokio::test]
async fn the_pool_reuses_one_tunnel_for_many_requests() {
    let pki = TestPki::new();
    let o = tls_origin(&pki, &[b"http/1.1"], "again").await;
    let proxy = test_proxy().start().await;
    let global = layer(Some(&proxy.url())).with_ca_file([ca_file(&pki)]);
    let client = builder(global).build().unwrap();
    for _ in 0..5 {
        let r = client
            .get(format!("https://origin.test:{}/", o.port()))
            .await
            .unwrap();
        assert_eq!(r.text().await.unwrap(), "again");
    }
    assert_eq!(proxy.connect_count(), 1);
    assert_eq!(o.accepted(), 1);
}

#[tokio::test]
async fn a_url_under_a_provider_uses_that_providers_route() {
    let o = plain_origin(&["/api/v1", "/other"], "p").await;
    let proxy = test_proxy().start().await;
    let base = format!("http://origin.test:{}/api", o.port());
    let client = builder(layer(None))
        .provider(
            "yandex",
            &base,
            Settings::new().with_proxy(proxyscope::ProxySetting::parse(&proxy.url()).unwrap()),
        )
        .build()
        .unwrap();
    // Under the provider's base URL: the provider's proxy, without naming the provider.
    let r = client.get(format!("{base}/v1")).await.unwrap();
    assert_eq!(r.route().provider(), Some("yandex"));
    assert!(r.route().proxy().is_some());
    assert_eq!(proxy.requests().len(), 1);
    // Outside it: the global layer (direct).
    let r = client
        .get(format!("http://origin.test:{}/other", o.port()))
        .await
        .unwrap();
    assert!(r.route().proxy().is_none());
    assert_eq!(proxy.requests().len(), 1);
}

#[tokio::test]
async fn extra_proxy_headers_reach_the_proxy_on_connect_and_absolute_form() {
    let pki = TestPki::new();
    let tls = tls_origin(&pki, &[b"http/1.1"], "t").await;
    let plain = plain_origin(&["/"], "p").await;
    let proxy = test_proxy().start().await;
    let global = layer(Some(&proxy.url())).with_ca_file([ca_file(&pki)]);
    let client = builder(global)
        .proxy_header("X-Egress-Tag", "translation")
        .build()
        .unwrap();
    client
        .get(format!("https://origin.test:{}/", tls.port()))
        .await
        .unwrap();
    client
        .get(format!("http://origin.test:{}/", plain.port()))
        .await
        .unwrap();
    let seen = proxy.requests();
    assert_eq!(seen.len(), 2);
    assert_eq!(
        (seen[0].method.as_str(), seen[1].method.as_str()),
        ("CONNECT", "GET")
    );
    for r in seen {
        assert_eq!(r.headers["x-egress-tag"], "translation", "{r:?}");
    }
}
