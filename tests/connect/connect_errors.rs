//! One test per failure code on the request path, against real servers on loopback: each
//! asserts the code, the hop, the phase and the evidence fields — never message text.

use std::time::Duration;

use crate::common::servers::*;
use proxyscope::testing::{Policy, RawServer, Script, TestPki, TestProxy, refused_addr};
use proxyscope::{Hop, Phase, Settings};

async fn get_err(global: Settings, url: &str) -> proxyscope::Error {
    let client = builder(global).build().unwrap();
    client.get(url).await.expect_err("the request must fail")
}

#[tokio::test]
async fn unresolvable_proxy_is_proxy_dns() {
    let e = get_err(
        layer(Some("http://proxy.invalid:3128")),
        "https://origin.test/",
    )
    .await;
    assert_eq!(e.code(), "proxy.dns");
    assert_eq!(e.hop(), Some(Hop::Proxy));
    assert_eq!(e.phase(), Phase::Dns);
    assert_eq!(
        e.evidence().proxy.as_deref(),
        Some("http://proxy.invalid:3128")
    );
    assert_eq!(e.evidence().target.as_deref(), Some("origin.test:443"));
    assert!(e.route().is_some_and(|r| r.proxy().is_some()));
    assert!(e.hint().is_some());
}

#[tokio::test]
async fn refused_proxy_port_is_proxy_connect_with_every_address() {
    let addr = refused_addr();
    let e = get_err(
        layer(Some(&format!("http://{addr}"))),
        "https://origin.test/",
    )
    .await;
    assert_eq!(e.code(), "proxy.connect");
    assert_eq!(e.hop(), Some(Hop::Proxy));
    assert_eq!(e.phase(), Phase::Connect);
    let tried = &e.evidence().addresses;
    assert_eq!(tried.len(), 1);
    assert_eq!(tried[0].addr, addr);
    assert!(tried[0].error.is_some());
    assert!(e.hint().is_some());
}

#[tokio::test]
async fn stalled_proxy_is_proxy_timeout() {
    let server = RawServer::scripted(Script::Stall).await;
    let addr = server.addr();
    let global = layer(Some(&format!("http://{addr}")))
        .with_timeout(Phase::Proxy, Duration::from_millis(300));
    let e = get_err(global, "https://origin.test/").await;
    assert_eq!(e.code(), "proxy.timeout");
    assert_eq!(e.hop(), Some(Hop::Proxy));
    assert_eq!(e.phase(), Phase::Proxy);
    assert_eq!(e.evidence().timeout, Some(Duration::from_millis(300)));
    assert!(server.heads()[0].starts_with("CONNECT origin.test:443 HTTP/1.1"));
}

#[tokio::test]
async fn garbage_reply_is_proxy_protocol() {
    let server = RawServer::scripted(Script::Reply(b"SSH-2.0-OpenSSH_9.6\r\n\r\n".to_vec())).await;
    let addr = server.addr();
    let e = get_err(
        layer(Some(&format!("http://{addr}"))),
        "https://origin.test/",
    )
    .await;
    assert_eq!(e.code(), "proxy.protocol");
    assert_eq!(e.hop(), Some(Hop::Proxy));
    assert_eq!(e.phase(), Phase::Proxy);
    assert!(
        e.evidence()
            .cause
            .as_deref()
            .is_some_and(|c| c.contains("SSH-2.0"))
    );
    assert!(e.evidence().proxy_reply.is_none());
}

#[tokio::test]
async fn closed_connection_is_proxy_closed() {
    let server = RawServer::scripted(Script::Close).await;
    let addr = server.addr();
    let e = get_err(
        layer(Some(&format!("http://{addr}"))),
        "https://origin.test/",
    )
    .await;
    assert_eq!(e.code(), "proxy.closed");
    assert_eq!(e.hop(), Some(Hop::Proxy));
    assert_eq!(e.phase(), Phase::Proxy);
    assert_eq!(e.evidence().target.as_deref(), Some("origin.test:443"));
}

#[tokio::test]
async fn oversized_reply_headers_are_proxy_protocol() {
    let mut reply = b"HTTP/1.1 200 Connection established\r\n".to_vec();
    for i in 0..400 {
        reply.extend_from_slice(format!("X-Padding-{i:03}: {}\r\n", "a".repeat(40)).as_bytes());
    }
    reply.extend_from_slice(b"\r\n");
    let server = RawServer::scripted(Script::ReplyAndHold(reply)).await;
    let addr = server.addr();
    let e = get_err(
        layer(Some(&format!("http://{addr}"))),
        "https://origin.test/",
    )
    .await;
    assert_eq!(e.code(), "proxy.protocol");
    assert_eq!(e.hop(), Some(Hop::Proxy));
    assert_eq!(e.phase(), Phase::Proxy);
    assert!(e.evidence().cause.is_some());
}

#[tokio::test]
async fn squid_403_is_proxy_forbidden_with_the_proxys_words() {
    let server = RawServer::scripted(Script::Reply(squid_reply(
        "403 Forbidden",
        "ERR_ACCESS_DENIED 0",
    )))
    .await;
    let addr = server.addr();
    let e = get_err(
        layer(Some(&format!("http://{addr}"))),
        "https://origin.test/",
    )
    .await;
    assert_eq!(e.code(), "proxy.forbidden");
    assert_eq!(e.hop(), Some(Hop::Proxy));
    assert_eq!(e.phase(), Phase::Proxy);
    let reply = e.evidence().proxy_reply.as_ref().unwrap();
    assert_eq!(reply.status, 403);
    assert_eq!(reply.reason, "Forbidden");
    assert_eq!(reply.header("x-squid-error"), Some("ERR_ACCESS_DENIED 0"));
    assert_eq!(reply.header("server"), Some("squid/6.10"));
    assert!(reply.header("via").is_some());
    assert!(
        reply
            .body_excerpt
            .as_deref()
            .is_some_and(|b| b.starts_with("<body") && b.contains("ERR_ACCESS_DENIED"))
    );
    // `<html>` before the body was left out of the excerpt.
    assert!(reply.body_truncated);
    assert_eq!(e.evidence().credentials_sent, Some(false));
    let route = e.route().expect("route attached");
    assert!(route.proxy().is_some());
    assert!(e.hint().is_some());
}

#[tokio::test]
async fn squid_503_dns_fail_is_proxy_upstream() {
    let server = RawServer::scripted(Script::Reply(squid_reply(
        "503 Service Unavailable",
        "ERR_DNS_FAIL 0",
    )))
    .await;
    let addr = server.addr();
    let e = get_err(
        layer(Some(&format!("http://{addr}"))),
        "https://origin.test/",
    )
    .await;
    assert_eq!(e.code(), "proxy.upstream");
    assert_eq!(e.hop(), Some(Hop::Proxy));
    assert_eq!(e.phase(), Phase::Proxy);
    assert_eq!(e.evidence().proxy_reply.as_ref().unwrap().status, 503);
    assert_eq!(
        e.evidence().cause.as_deref(),
        Some("X-Squid-Error: ERR_DNS_FAIL")
    );
}

#[tokio::test]
async fn squid_502_connect_fail_is_proxy_upstream() {
    let server = RawServer::scripted(Script::Reply(squid_reply(
        "502 Bad Gateway",
        "ERR_CONNECT_FAIL 111",
    )))
    .await;
    let addr = server.addr();
    let e = get_err(
        layer(Some(&format!("http://{addr}"))),
        "https://origin.test/",
    )
    .await;
    assert_eq!(e.code(), "proxy.upstream");
    assert_eq!(e.phase(), Phase::Proxy);
    let reply = e.evidence().proxy_reply.as_ref().unwrap();
    assert_eq!(reply.status, 502);
    assert_eq!(reply.header("x-squid-error"), Some("ERR_CONNECT_FAIL 111"));
    assert_eq!(
        e.evidence().cause.as_deref(),
        Some("X-Squid-Error: ERR_CONNECT_FAIL")
    );
}

#[tokio::test]
async fn proxy_status_dns_error_is_proxy_upstream() {
    let reply = b"HTTP/1.1 502 Bad Gateway\r\nProxy-Status: h2o; error=dns_error; rcode=NXDOMAIN\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nnope!\r\n0\r\n\r\n".to_vec();
    let server = RawServer::scripted(Script::ReplyAndHold(reply)).await;
    let addr = server.addr();
    let e = get_err(
        layer(Some(&format!("http://{addr}"))),
        "https://origin.test/",
    )
    .await;
    assert_eq!(e.code(), "proxy.upstream");
    assert_eq!(
        e.evidence().cause.as_deref(),
        Some("Proxy-Status: error=dns_error")
    );
    assert_eq!(
        e.evidence()
            .proxy_reply
            .as_ref()
            .unwrap()
            .body_excerpt
            .as_deref(),
        Some("nope!")
    );
}

#[tokio::test]
async fn proxy_407_without_credentials_is_auth_required() {
    let reply = b"HTTP/1.1 407 Proxy Authentication Required\r\nProxy-Authenticate: Negotiate\r\nProxy-Authenticate: Basic realm=\"corp proxy\"\r\nContent-Length: 0\r\n\r\n".to_vec();
    let server = RawServer::scripted(Script::Reply(reply)).await;
    let addr = server.addr();
    let e = get_err(
        layer(Some(&format!("http://{addr}"))),
        "https://origin.test/",
    )
    .await;
    assert_eq!(e.code(), "proxy.auth_required");
    assert_eq!(e.hop(), Some(Hop::Proxy));
    assert_eq!(e.phase(), Phase::Proxy);
    assert_eq!(e.evidence().auth_schemes, ["Negotiate", "Basic"]);
    assert_eq!(e.evidence().auth_realm.as_deref(), Some("corp proxy"));
    assert_eq!(e.evidence().credentials_sent, Some(false));
    assert_eq!(e.evidence().proxy_reply.as_ref().unwrap().status, 407);
}

#[tokio::test]
async fn proxy_407_with_wrong_credentials_is_auth_rejected() {
    let proxy = TestProxy::builder()
        .policy(Policy::require_basic("right", "right", "test"))
        .start()
        .await;
    let url = format!("http://alice:wrong@{}", proxy.addr());
    let e = get_err(layer(Some(&url)), "https://origin.test/").await;
    assert_eq!(e.code(), "proxy.auth_rejected");
    assert_eq!(e.hop(), Some(Hop::Proxy));
    assert_eq!(e.phase(), Phase::Proxy);
    assert_eq!(e.evidence().credentials_sent, Some(true));
    assert_eq!(e.evidence().auth_schemes, ["Basic"]);
    assert_eq!(e.evidence().auth_realm.as_deref(), Some("test"));
    // The proxy did receive our Basic credentials (alice:wrong).
    let seen = &proxy.requests()[0];
    assert_eq!(
        seen.headers.get("proxy-authorization").unwrap(),
        "Basic YWxpY2U6d3Jvbmc="
    );
}

#[tokio::test]
async fn other_refusals_are_proxy_refused() {
    let reply =
        b"HTTP/1.1 418 I'm a teapot\r\nServer: teapot\r\nContent-Length: 5\r\n\r\nshort".to_vec();
    let server = RawServer::scripted(Script::Reply(reply)).await;
    let addr = server.addr();
    let e = get_err(
        layer(Some(&format!("http://{addr}"))),
        "https://origin.test/",
    )
    .await;
    assert_eq!(e.code(), "proxy.refused");
    assert_eq!(e.hop(), Some(Hop::Proxy));
    let reply = e.evidence().proxy_reply.as_ref().unwrap();
    assert_eq!((reply.status, reply.reason.as_str()), (418, "I'm a teapot"));
    assert_eq!(reply.body_excerpt.as_deref(), Some("short"));
}

#[tokio::test]
async fn long_refusal_bodies_are_excerpted_to_one_kib() {
    let body = "x".repeat(5000);
    let reply = format!(
        "HTTP/1.1 403 Forbidden\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    )
    .into_bytes();
    let server = RawServer::scripted(Script::ReplyAndHold(reply)).await;
    let addr = server.addr();
    let e = get_err(
        layer(Some(&format!("http://{addr}"))),
        "https://origin.test/",
    )
    .await;
    assert_eq!(e.code(), "proxy.forbidden");
    let reply = e.evidence().proxy_reply.as_ref().unwrap();
    assert_eq!(reply.body_excerpt.as_ref().map(String::len), Some(1024));
    assert!(reply.body_truncated);
}

#[tokio::test]
async fn socks5_failure_reply_is_proxy_refused_with_the_code() {
    // Policy::Unreachable answers SOCKS with 0x05 (connection refused).
    let proxy = TestProxy::builder()
        .socks5()
        .policy(Policy::Unreachable)
        .start()
        .await;
    let addr = proxy.socks5_addr().unwrap();
    let e = get_err(
        layer(Some(&format!("socks5h://{addr}"))),
        "https://origin.test/",
    )
    .await;
    assert_eq!(e.code(), "proxy.refused");
    assert_eq!(e.hop(), Some(Hop::Proxy));
    assert_eq!(e.phase(), Phase::Proxy);
    let reply = e.evidence().proxy_reply.as_ref().unwrap();
    assert_eq!(reply.status, 5);
    assert_eq!(reply.reason, "connection refused");
    // socks5h: the name went to the proxy, not an address.
    assert_eq!(proxy.connects()[0].target, "origin.test:443");

    // Policy::allow_only(&[]) refuses every destination: SOCKS 0x02 (not allowed).
    let proxy = TestProxy::builder()
        .socks5()
        .policy(Policy::allow_only(&[]))
        .start()
        .await;
    let addr = proxy.socks5_addr().unwrap();
    let e = get_err(
        layer(Some(&format!("socks5://{addr}"))),
        "https://origin.test/",
    )
    .await;
    assert_eq!(e.code(), "proxy.refused");
    assert_eq!(e.evidence().proxy_reply.as_ref().unwrap().status, 2);
}

#[tokio::test]
async fn socks5_bad_credentials_and_no_method() {
    let proxy = TestProxy::builder().socks5_auth("u", "right").start().await;
    let addr = proxy.socks5_addr().unwrap();
    let e = get_err(
        layer(Some(&format!("socks5h://u:wrong@{addr}"))),
        "https://origin.test/",
    )
    .await;
    assert_eq!(e.code(), "proxy.auth_rejected");
    assert_eq!(e.hop(), Some(Hop::Proxy));
    assert_eq!(e.evidence().credentials_sent, Some(true));

    // The proxy wants username/password; a client without credentials offers only "no
    // authentication", so no method is acceptable (0xFF).
    let proxy = TestProxy::builder().socks5_auth("u", "right").start().await;
    let addr = proxy.socks5_addr().unwrap();
    let e = get_err(
        layer(Some(&format!("socks5h://{addr}"))),
        "https://origin.test/",
    )
    .await;
    assert_eq!(e.code(), "proxy.auth_required");
    assert_eq!(e.phase(), Phase::Proxy);
    assert_eq!(e.evidence().credentials_sent, Some(false));
    assert_eq!(e.evidence().proxy_reply.as_ref().unwrap().status, 0xFF);
}

#[tokio::test]
async fn unresolvable_origin_on_a_direct_route_is_origin_dns() {
    let e = get_err(layer(None), "https://origin.invalid/").await;
    assert_eq!(e.code(), "origin.dns");
    assert_eq!(e.hop(), Some(Hop::Origin));
    assert_eq!(e.phase(), Phase::Dns);
    assert_eq!(e.evidence().target.as_deref(), Some("origin.invalid:443"));
    assert!(e.evidence().proxy.is_none());
    assert!(e.route().is_some_and(|r| r.proxy().is_none()));
}

#[tokio::test]
async fn refused_origin_on_a_direct_route_is_origin_connect() {
    let addr = refused_addr();
    let e = get_err(layer(None), &format!("http://origin.test:{}/", addr.port())).await;
    assert_eq!(e.code(), "origin.connect");
    assert_eq!(e.hop(), Some(Hop::Origin));
    assert_eq!(e.phase(), Phase::Connect);
    assert_eq!(e.evidence().addresses.len(), 1);
    assert_eq!(e.evidence().addresses[0].addr.port(), addr.port());
}

#[tokio::test]
async fn stalled_origin_response_is_http_timeout() {
    let server = RawServer::scripted(Script::Stall).await;
    let addr = server.addr();
    let global = layer(None).with_timeout(Phase::Http, Duration::from_millis(300));
    let e = get_err(global, &format!("http://origin.test:{}/", addr.port())).await;
    assert_eq!(e.code(), "http.timeout");
    assert_eq!(e.hop(), Some(Hop::Origin));
    assert_eq!(e.phase(), Phase::Http);
    assert_eq!(e.evidence().timeout, Some(Duration::from_millis(300)));
}

#[tokio::test]
async fn garbage_origin_response_is_http_protocol() {
    let server =
        RawServer::scripted(Script::Reply(b"220 smtp.example ESMTP\r\n\r\n".to_vec())).await;
    let addr = server.addr();
    let e = get_err(layer(None), &format!("http://origin.test:{}/", addr.port())).await;
    assert_eq!(e.code(), "http.protocol");
    assert_eq!(e.hop(), Some(Hop::Origin));
    assert_eq!(e.phase(), Phase::Http);
    assert!(e.evidence().cause.is_some());
}

#[tokio::test]
async fn untrusted_https_proxy_is_proxy_tls() {
    let pki = TestPki::new();
    let proxy = TestProxy::builder()
        .tls(&pki, &pki.leaf_for(&["proxy.test"]))
        .start()
        .await;
    // No proxy_ca_file: the proxy's private CA is not trusted.
    let url = format!("https://proxy.test:{}", proxy.https_addr().unwrap().port());
    let e = get_err(layer(Some(&url)), "https://origin.test/").await;
    assert_eq!(e.code(), "proxy.tls");
    assert_eq!(e.hop(), Some(Hop::Proxy));
    assert_eq!(e.phase(), Phase::Proxy);
    assert_eq!(e.evidence().target.as_deref(), Some("origin.test:443"));
    assert!(e.evidence().tls.is_some());
    assert_eq!(proxy.connect_count(), 0);
}

#[tokio::test]
async fn unknown_provider_names_are_config_errors() {
    let client = builder(layer(None)).build().unwrap();
    let req = http::Request::get("http://origin.test/")
        .body(bytes::Bytes::new())
        .unwrap();
    let e = client.execute(Some("nope"), req).await.unwrap_err();
    assert_eq!(e.code(), "config.invalid");
    assert_eq!(e.hop(), None);
    assert_eq!(e.phase(), Phase::Config);
}

#[tokio::test]
async fn missing_ca_file_fails_at_build() {
    let e = builder(layer(None).with_ca_file(["/nonexistent/proxyscope-ca.pem"]))
        .build()
        .unwrap_err();
    assert_eq!(e.code(), "config.ca_file");
    assert_eq!(
        e.evidence().file.as_deref(),
        Some("/nonexistent/proxyscope-ca.pem")
    );
}

#[tokio::test]
async fn proxy_hanging_up_on_an_absolute_form_request_is_http_protocol_at_the_proxy() {
    let server = RawServer::scripted(Script::Close).await;
    let addr = server.addr();
    let e = get_err(
        layer(Some(&format!("http://{addr}"))),
        "http://origin.test:8080/",
    )
    .await;
    assert_eq!(e.code(), "http.protocol");
    assert_eq!(e.hop(), Some(Hop::Proxy));
    assert_eq!(e.phase(), Phase::Http);
    assert_eq!(
        e.evidence().proxy.as_deref(),
        Some(&*format!("http://{addr}"))
    );
    assert!(server.heads()[0].starts_with("GET http://origin.test:8080/ HTTP/1.1"));
}
