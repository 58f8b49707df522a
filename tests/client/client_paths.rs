//! Successful requests along every kind of route, against real servers on loopback: direct,
//! via CONNECT, via absolute-form, via an https proxy, via SOCKS5h, HTTP/2 through a tunnel,
//! and connection reuse through the pool.

use crate::common::servers::*;
use proxyscope::client::ResponsePath;
use proxyscope::{Hop, Settings};

#[tokio::test]
async fn direct_http_and_https() {
    let plain = origin(None, 200, &[], "plain").await;
    let pki = pki(&["origin.test"], &[b"h2", b"http/1.1"]);
    let tls = origin(Some(pki.server.clone()), 200, &[], "secure").await;
    let client = builder(layer(None).with_ca_file([pki.ca_file.clone()]))
        .build()
        .unwrap();

    let r = client
        .get(format!("http://origin.test:{}/a", plain.addr.port()))
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert!(r.route().proxy().is_none());
    assert_eq!(r.attribution().path, ResponsePath::Direct);
    assert_eq!(r.text().await.unwrap(), "plain");

    let r = client
        .get(format!("https://origin.test:{}/b", tls.addr.port()))
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
    let pki = pki(&["origin.test"], &[b"http/1.1"]);
    let o = origin(Some(pki.server.clone()), 200, &[], "tunnelled").await;
    let proxy = forward_proxy(None, None).await;
    let global = layer(Some(&format!("http://{}", proxy.addr))).with_ca_file([pki.ca_file.clone()]);
    let client = builder(global).build().unwrap();
    let r = client
        .get(format!("https://origin.test:{}/", o.addr.port()))
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert!(r.conn_info().unwrap().tunnel);
    assert_eq!(r.attribution().source, Hop::Origin);
    assert_eq!(r.attribution().path, ResponsePath::Tunnel);
    assert_eq!(r.text().await.unwrap(), "tunnelled");
    assert_eq!(
        proxy.heads()[0].lines().next(),
        Some(&*format!("CONNECT origin.test:{} HTTP/1.1", o.addr.port()))
    );
}

#[tokio::test]
async fn plain_http_via_absolute_form_with_credentials() {
    let o = origin(None, 200, &[("server", "nginx")], "relayed").await;
    let proxy = forward_proxy(None, Some("Basic dTpwQHNz")).await;
    // `p%40ss` in the URL is sent decoded: u:p@ss.
    let global = layer(Some(&format!("http://u:p%40ss@{}", proxy.addr)));
    let client = builder(global).build().unwrap();
    let r = client
        .get(format!("http://origin.test:{}/x?q=1", o.addr.port()))
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert!(r.conn_info().unwrap().absolute_form);
    assert_eq!(r.attribution().path, ResponsePath::AbsoluteForm);
    assert_eq!(r.attribution().source, Hop::Origin);
    let head = &proxy.heads()[0];
    assert!(
        head.to_ascii_lowercase()
            .contains("proxy-authorization: basic dtpwqhnz")
    );
    assert!(head.starts_with(&format!(
        "GET http://origin.test:{}/x?q=1 HTTP/1.1",
        o.addr.port()
    )));
    assert_eq!(proxy.connects(), 0);
}

#[tokio::test]
async fn plain_http_can_be_tunnelled_instead() {
    let o = origin(None, 200, &[], "t").await;
    let proxy = forward_proxy(None, None).await;
    let client = builder(layer(Some(&format!("http://{}", proxy.addr))))
        .tunnel_plain_http(true)
        .build()
        .unwrap();
    let r = client
        .get(format!("http://origin.test:{}/", o.addr.port()))
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert!(r.conn_info().unwrap().tunnel);
    assert_eq!(proxy.connects(), 1);
}

#[tokio::test]
async fn https_via_an_https_proxy_trusted_by_proxy_ca_file() {
    let proxy_pki = pki(&["proxy.test"], &[b"http/1.1"]);
    let origin_pki = pki(&["origin.test"], &[b"h2", b"http/1.1"]);
    let o = origin(Some(origin_pki.server.clone()), 200, &[], "double tls").await;
    let proxy = forward_proxy(Some(proxy_pki.server.clone()), Some("Basic dTpw")).await;
    let global = layer(Some(&format!(
        "https://u:p@proxy.test:{}",
        proxy.addr.port()
    )))
    .with_proxy_ca_file([proxy_pki.ca_file.clone()])
    .with_ca_file([origin_pki.ca_file.clone()]);
    let client = builder(global).build().unwrap();
    let r = client
        .get(format!("https://origin.test:{}/", o.addr.port()))
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let info = r.conn_info().unwrap();
    assert!(info.proxy_tls.is_some());
    assert!(info.origin_tls.is_some());
    assert_eq!(r.text().await.unwrap(), "double tls");
    assert_eq!(proxy.connects(), 1);
}

#[tokio::test]
async fn https_via_socks5h_sends_the_name_and_socks5_the_address() {
    let pki = pki(&["origin.test"], &[b"http/1.1"]);
    let o = origin(Some(pki.server.clone()), 200, &[], "socks").await;
    let (addr, seen) = socks5(Socks::Pipe {
        creds: Some(("u".into(), "pw".into())),
    })
    .await;
    let url = format!("https://origin.test:{}/", o.addr.port());
    let global = layer(Some(&format!("socks5h://u:pw@{addr}"))).with_ca_file([pki.ca_file.clone()]);
    let r = builder(global).build().unwrap().get(&url).await.unwrap();
    assert_eq!(r.text().await.unwrap(), "socks");
    assert_eq!(
        seen.lock().unwrap()[0],
        format!("name origin.test:{}", o.addr.port())
    );

    let global = layer(Some(&format!("socks5://u:pw@{addr}"))).with_ca_file([pki.ca_file.clone()]);
    let r = builder(global).build().unwrap().get(&url).await.unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(
        seen.lock().unwrap()[1],
        format!("ip 127.0.0.1:{}", o.addr.port())
    );
}

#[tokio::test]
async fn http2_through_a_tunnel() {
    let pki = pki(&["origin.test"], &[b"h2", b"http/1.1"]);
    let o = origin(Some(pki.server.clone()), 200, &[], "h2").await;
    let proxy = forward_proxy(None, None).await;
    let global = layer(Some(&format!("http://{}", proxy.addr))).with_ca_file([pki.ca_file.clone()]);
    let client = builder(global).build().unwrap();
    let r = client
        .get(format!("https://origin.test:{}/", o.addr.port()))
        .await
        .unwrap();
    assert_eq!(r.version(), http::Version::HTTP_2);
    assert_eq!(r.headers()["x-origin-version"], "HTTP/2.0");
    assert_eq!(r.conn_info().unwrap().alpn.as_deref(), Some("h2"));
}

#[tokio::test]
async fn the_pool_reuses_one_tunnel_for_many_requests() {
    let pki = pki(&["origin.test"], &[b"http/1.1"]);
    let o = origin(Some(pki.server.clone()), 200, &[], "again").await;
    let proxy = forward_proxy(None, None).await;
    let global = layer(Some(&format!("http://{}", proxy.addr))).with_ca_file([pki.ca_file.clone()]);
    let client = builder(global).build().unwrap();
    for _ in 0..5 {
        let r = client
            .get(format!("https://origin.test:{}/", o.addr.port()))
            .await
            .unwrap();
        assert_eq!(r.text().await.unwrap(), "again");
    }
    assert_eq!(proxy.connects(), 1);
    assert_eq!(*o.connections.lock().unwrap(), 1);
}

#[tokio::test]
async fn a_url_under_a_provider_uses_that_providers_route() {
    let o = origin(None, 200, &[], "p").await;
    let proxy = forward_proxy(None, None).await;
    let base = format!("http://origin.test:{}/api", o.addr.port());
    let client = builder(layer(None))
        .provider(
            "yandex",
            &base,
            Settings::new().with_proxy(
                proxyscope::ProxySetting::parse(&format!("http://{}", proxy.addr)).unwrap(),
            ),
        )
        .build()
        .unwrap();
    // Under the provider's base URL: the provider's proxy, without naming the provider.
    let r = client.get(format!("{base}/v1")).await.unwrap();
    assert_eq!(r.route().provider(), Some("yandex"));
    assert!(r.route().proxy().is_some());
    assert_eq!(proxy.heads().len(), 1);
    // Outside it: the global layer (direct).
    let r = client
        .get(format!("http://origin.test:{}/other", o.addr.port()))
        .await
        .unwrap();
    assert!(r.route().proxy().is_none());
    assert_eq!(proxy.heads().len(), 1);
}

#[tokio::test]
async fn extra_proxy_headers_reach_the_proxy_on_connect_and_absolute_form() {
    let pki = pki(&["origin.test"], &[b"http/1.1"]);
    let tls = origin(Some(pki.server.clone()), 200, &[], "t").await;
    let plain = origin(None, 200, &[], "p").await;
    let proxy = forward_proxy(None, None).await;
    let global = layer(Some(&format!("http://{}", proxy.addr))).with_ca_file([pki.ca_file.clone()]);
    let client = builder(global)
        .proxy_header("X-Egress-Tag", "translation")
        .build()
        .unwrap();
    client
        .get(format!("https://origin.test:{}/", tls.addr.port()))
        .await
        .unwrap();
    client
        .get(format!("http://origin.test:{}/", plain.addr.port()))
        .await
        .unwrap();
    let heads = proxy.heads();
    assert_eq!(heads.len(), 2);
    for h in heads {
        assert!(
            h.to_ascii_lowercase().contains("x-egress-tag: translation"),
            "{h}"
        );
    }
}
