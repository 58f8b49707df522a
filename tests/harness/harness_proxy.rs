//! TestProxy's forwarding paths on the wire: CONNECT tunnels (plain and over an https proxy),
//! absolute-form relaying with `Via`, real upstream failures, name pinning and the records.

use std::net::IpAddr;
use std::sync::Arc;

use crate::common::wire::roundtrip;
use proxyscope::testing::basic_auth;
use proxyscope::testing::{
    ChainMode, Handled, Listener, ORIGIN_SERVER, SQUID_SERVER, TargetForm, TestOrigin, TestPki,
    TestProxy, VIA,
};
use rustls_pki_types::ServerName;
use tokio::net::TcpStream;
use tokio_rustls::TlsConnector;

#[tokio::test]
async fn connect_tunnels_to_the_origin_and_is_recorded() {
    let origin = TestOrigin::http().await;
    let proxy = TestProxy::allow_all().await;
    let mut tcp = TcpStream::connect(proxy.addr())
        .await
        .expect("connect proxy");
    let target = origin.addr().to_string();
    let reply = roundtrip(
        &mut tcp,
        &format!(
            "CONNECT {target} HTTP/1.1\r\nHost: {target}\r\nProxy-Authorization: {}\r\n\r\n",
            basic_auth("u", "hunter2")
        ),
        true,
    )
    .await;
    assert_eq!(reply.status, 200);
    // Inside the tunnel the origin sees origin-form, no proxy headers.
    let inner = roundtrip(
        &mut tcp,
        "GET /echo HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n",
        false,
    )
    .await;
    let json: serde_json::Value = serde_json::from_str(&inner.body).expect("json");
    assert_eq!(json["form"], "origin");
    assert!(json["headers"].get("via").is_none());
    assert_eq!(inner.header("server"), Some(ORIGIN_SERVER));

    let connects = proxy.connects();
    assert_eq!(connects.len(), 1);
    assert_eq!(proxy.connect_count(), 1);
    let c = &connects[0];
    assert_eq!(
        (c.listener, c.method.as_str(), c.target.as_str()),
        (Listener::Http, "CONNECT", target.as_str())
    );
    assert!(c.has_proxy_authorization);
    assert_eq!(c.handled, Handled::Tunnelled);
    let debug = format!("{c:?}");
    assert!(
        !debug.contains("hunter2") && !debug.contains(&basic_auth("u", "hunter2")),
        "{debug}"
    );
    assert_eq!(proxy.accepted(), 1);
    proxy.check();
}

#[tokio::test]
async fn absolute_form_is_relayed_with_via_and_origin_form_upstream() {
    let origin = TestOrigin::http().await;
    let proxy = TestProxy::allow_all().await;
    let mut tcp = TcpStream::connect(proxy.addr())
        .await
        .expect("connect proxy");
    let url = origin.url("/forbidden");
    let reply = roundtrip(
        &mut tcp,
        &format!(
            "GET {url} HTTP/1.1\r\nHost: {}\r\nProxy-Authorization: {}\r\n\r\n",
            origin.addr(),
            basic_auth("u", "p")
        ),
        false,
    )
    .await;
    // The origin's own 403, relayed: its Server header and body, plus the proxy's Via.
    assert_eq!(reply.status, 403);
    assert_eq!(reply.header("server"), Some(ORIGIN_SERVER));
    assert_eq!(reply.header("via"), Some(VIA));
    assert_eq!(reply.header("x-squid-error"), None);

    let seen = origin.requests();
    assert_eq!(seen.len(), 1);
    assert_eq!(seen[0].form, TargetForm::Origin);
    assert_eq!(seen[0].target, "/forbidden");
    assert_eq!(seen[0].headers["via"], VIA);
    assert!(
        !seen[0].headers.contains_key("proxy-authorization"),
        "credentials are not forwarded"
    );

    let recorded = proxy.requests();
    assert_eq!(recorded.len(), 1);
    assert_eq!(proxy.request_count(), 1);
    assert_eq!(recorded[0].method, "GET");
    assert_eq!(recorded[0].target, url);
    assert_eq!(recorded[0].handled, Handled::Relayed(403));
    assert_eq!(proxy.connect_count(), 0);
}

#[tokio::test]
async fn real_upstream_failures_produce_squid_errors() {
    let closed_port = proxyscope::testing::refused_addr().port();
    let proxy = TestProxy::allow_all().await;
    let mut tcp = TcpStream::connect(proxy.addr())
        .await
        .expect("connect proxy");
    let reply = roundtrip(
        &mut tcp,
        &format!("CONNECT 127.0.0.1:{closed_port} HTTP/1.1\r\nHost: x\r\n\r\n"),
        true,
    )
    .await;
    assert_eq!(reply.status, 503);
    assert_eq!(reply.header("x-squid-error"), Some("ERR_CONNECT_FAIL 111"));
    assert_eq!(reply.header("server"), Some(SQUID_SERVER));
    assert_eq!(proxy.connects()[0].handled, Handled::Refused(503));

    // A request without a usable target is rejected like Squid's ERR_INVALID_URL.
    let reply = roundtrip(&mut tcp, "GET /relative HTTP/1.1\r\nHost: x\r\n\r\n", false).await;
    assert_eq!(reply.status, 400);
    assert_eq!(reply.header("x-squid-error"), Some("ERR_INVALID_URL 0"));
}

#[tokio::test]
async fn pinned_names_reach_loopback_origins() {
    let origin = TestOrigin::http().await;
    let proxy = TestProxy::builder()
        .resolve("origin.test", IpAddr::from([127, 0, 0, 1]))
        .start()
        .await;
    let mut tcp = TcpStream::connect(proxy.addr())
        .await
        .expect("connect proxy");
    let url = origin.url_with_host("origin.test", "/echo");
    let reply = roundtrip(
        &mut tcp,
        &format!(
            "GET {url} HTTP/1.1\r\nHost: origin.test:{}\r\nConnection: close\r\n\r\n",
            origin.port()
        ),
        false,
    )
    .await;
    assert_eq!(reply.status, 200);
    let json: serde_json::Value = serde_json::from_str(&reply.body).expect("json");
    assert_eq!(
        json["headers"]["host"][0],
        format!("origin.test:{}", origin.port())
    );
}

#[tokio::test]
async fn https_proxy_tunnels_to_an_https_origin() {
    let pki = TestPki::new();
    let origin = TestOrigin::https(&pki, pki.localhost(), ChainMode::Full).await;
    let proxy = TestProxy::builder()
        .tls(&pki, pki.localhost())
        .start()
        .await;
    let https_url = proxy.https_url().expect("tls listener");
    assert!(https_url.starts_with("https://localhost:"));
    let config = Arc::new(pki.client_config(&[pki.root()]));
    let tcp = TcpStream::connect(proxy.https_addr().expect("addr"))
        .await
        .expect("connect");
    let mut to_proxy = TlsConnector::from(Arc::clone(&config))
        .connect(ServerName::try_from("localhost").expect("name"), tcp)
        .await
        .expect("TLS to the proxy");
    let target = format!("localhost:{}", origin.port());
    let reply = roundtrip(
        &mut to_proxy,
        &format!("CONNECT {target} HTTP/1.1\r\nHost: {target}\r\n\r\n"),
        true,
    )
    .await;
    assert_eq!(reply.status, 200);
    // TLS to the origin inside TLS to the proxy.
    let mut to_origin = TlsConnector::from(config)
        .connect(ServerName::try_from("localhost").expect("name"), to_proxy)
        .await
        .expect("TLS to the origin through the tunnel");
    let inner = roundtrip(
        &mut to_origin,
        "GET /status/202 HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n",
        false,
    )
    .await;
    assert_eq!(inner.status, 202);
    let c = &proxy.connects()[0];
    assert_eq!(
        (c.listener, c.handled),
        (Listener::Https, Handled::Tunnelled)
    );
    assert!(origin.requests()[0].tls);
}
