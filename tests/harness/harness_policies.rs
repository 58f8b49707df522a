//! Each TestProxy policy's bytes on the wire, read with raw sockets and tokio-rustls: status,
//! Squid/RFC 9209 headers, bodies, misbehaviours, and the interception CA's certificate.

use std::sync::Arc;
use std::time::Duration;

use crate::common::wire::{read_to_close, roundtrip};
use proxyscope::testing::basic_auth;
use proxyscope::testing::{
    CannedReply, ChainMode, Handled, INTERCEPTION_CN, ORIGIN_FORBIDDEN_BODY, ORIGIN_SERVER,
    OVERSIZED_HEADER_BYTES, Policy, SQUID_SERVER, TestOrigin, TestPki, TestProxy, VIA,
};
use rustls_pki_types::ServerName;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio_rustls::TlsConnector;

async fn proxy_with(policy: Policy) -> TestProxy {
    TestProxy::builder().policy(policy).start().await
}

async fn connect_reply(
    proxy: &TestProxy,
    target: &str,
    extra: &str,
) -> crate::common::wire::WireResponse {
    let mut tcp = TcpStream::connect(proxy.addr())
        .await
        .expect("connect proxy");
    roundtrip(
        &mut tcp,
        &format!("CONNECT {target} HTTP/1.1\r\nHost: {target}\r\n{extra}\r\n"),
        true,
    )
    .await
}

/// The headers every Squid-generated reply carries, per `src/HttpReply.cc` / `errorpage.cc`.
fn assert_squid_shape(reply: &crate::common::wire::WireResponse, squid_error: &str) {
    assert_eq!(reply.header("server"), Some(SQUID_SERVER));
    assert_eq!(reply.header("mime-version"), Some("1.0"));
    assert_eq!(
        reply.header("content-type"),
        Some("text/html;charset=utf-8")
    );
    assert_eq!(reply.header("x-squid-error"), Some(squid_error));
    assert_eq!(reply.header("via"), Some(VIA));
    assert_eq!(reply.header("content-language"), Some("en"));
    assert!(reply.header("date").is_some());
    let name = squid_error.split(' ').next().expect("name");
    let body = reply.body_text();
    assert!(body.contains(&format!("<body id={name}>")), "{body}");
    assert!(body.contains(&format!("<!-- {name} -->")), "{body}");
    assert!(body.contains(&format!("({SQUID_SERVER})")), "{body}");
}

#[tokio::test]
async fn deny_answers_connect_with_squids_403() {
    let origin = TestOrigin::http().await;
    let proxy = proxy_with(Policy::deny(&["blocked.test", &origin.addr().to_string()])).await;
    let reply = connect_reply(&proxy, "blocked.test:443", "").await;
    assert_eq!((reply.status, reply.reason.as_str()), (403, "Forbidden"));
    assert_squid_shape(&reply, "ERR_ACCESS_DENIED 0");
    let reply = connect_reply(&proxy, &origin.addr().to_string(), "").await;
    assert_eq!(reply.status, 403);
    assert!(
        origin.requests().is_empty(),
        "the origin never saw a denied request"
    );
    assert_eq!(proxy.connects()[0].handled, Handled::Refused(403));
}

#[tokio::test]
async fn deny_in_absolute_form_is_told_apart_from_the_origins_403() {
    let origin = TestOrigin::http().await;
    let denied_host = format!("127.0.0.1:{}", origin.port());
    let proxy = proxy_with(Policy::Deny(vec![denied_host])).await;
    let allowed = TestProxy::allow_all().await;

    let mut tcp = TcpStream::connect(proxy.addr()).await.expect("connect");
    let url = origin.url("/forbidden");
    let request = format!("GET {url} HTTP/1.1\r\nHost: {}\r\n\r\n", origin.addr());
    let from_proxy = roundtrip(&mut tcp, &request, false).await;
    let mut tcp = TcpStream::connect(allowed.addr()).await.expect("connect");
    let from_origin = roundtrip(&mut tcp, &request, false).await;

    assert_eq!((from_proxy.status, from_origin.status), (403, 403));
    assert_squid_shape(&from_proxy, "ERR_ACCESS_DENIED 0");
    assert_eq!(from_origin.header("server"), Some(ORIGIN_SERVER));
    assert_eq!(from_origin.header("x-squid-error"), None);
    assert_eq!(from_origin.body_text(), ORIGIN_FORBIDDEN_BODY);
    // Via is on both: it proves the path, not who wrote the reply.
    assert_eq!(from_origin.header("via"), Some(VIA));
    assert_eq!(
        origin.requests().len(),
        1,
        "only the allowed proxy reached the origin"
    );
}

#[tokio::test]
async fn allow_only_refuses_everything_else_and_ports_matter() {
    let origin = TestOrigin::http().await;
    let proxy = proxy_with(Policy::allow_only(&[&origin.addr().to_string()])).await;
    assert_eq!(
        connect_reply(&proxy, &origin.addr().to_string(), "")
            .await
            .status,
        200
    );
    assert_eq!(connect_reply(&proxy, "127.0.0.1:1", "").await.status, 403);
    assert_eq!(
        connect_reply(&proxy, "elsewhere.test:443", "").await.status,
        403
    );
}

#[tokio::test]
async fn require_basic_sends_407_until_the_right_credentials_arrive() {
    let origin = TestOrigin::http().await;
    let proxy = proxy_with(Policy::require_basic("alice", "s3cret", "corp proxy")).await;
    let target = origin.addr().to_string();

    let missing = connect_reply(&proxy, &target, "").await;
    assert_eq!(
        (missing.status, missing.reason.as_str()),
        (407, "Proxy Authentication Required")
    );
    assert_eq!(
        missing.header("proxy-authenticate"),
        Some("Basic realm=\"corp proxy\"")
    );
    assert_squid_shape(&missing, "ERR_CACHE_ACCESS_DENIED 0");

    let wrong = connect_reply(
        &proxy,
        &target,
        &format!("Proxy-Authorization: {}\r\n", basic_auth("alice", "nope")),
    )
    .await;
    assert_eq!(wrong.status, 407);
    assert_eq!(
        wrong.header("proxy-authenticate"),
        Some("Basic realm=\"corp proxy\"")
    );

    let right = connect_reply(
        &proxy,
        &target,
        &format!("Proxy-Authorization: {}\r\n", basic_auth("alice", "s3cret")),
    )
    .await;
    assert_eq!(right.status, 200);

    let handled: Vec<(bool, Handled)> = proxy
        .connects()
        .iter()
        .map(|c| (c.has_proxy_authorization, c.handled))
        .collect();
    assert_eq!(
        handled,
        vec![
            (false, Handled::Refused(407)),
            (true, Handled::Refused(407)),
            (true, Handled::Tunnelled)
        ]
    );
    let debug = format!("{:?} {:?}", proxy, proxy.requests());
    assert!(
        !debug.contains("s3cret") && !debug.contains(&basic_auth("alice", "s3cret")),
        "{debug}"
    );
}

#[tokio::test]
async fn a_407_on_keep_alive_allows_the_retry_on_the_same_connection() {
    let origin = TestOrigin::http().await;
    let proxy = proxy_with(Policy::require_basic("u", "p", "r")).await;
    let target = origin.addr().to_string();
    let mut tcp = TcpStream::connect(proxy.addr()).await.expect("connect");
    let first = roundtrip(
        &mut tcp,
        &format!("CONNECT {target} HTTP/1.1\r\nHost: {target}\r\n\r\n"),
        true,
    )
    .await;
    assert_eq!(first.status, 407);
    let retry = format!(
        "CONNECT {target} HTTP/1.1\r\nHost: {target}\r\nProxy-Authorization: {}\r\n\r\n",
        basic_auth("u", "p")
    );
    assert_eq!(roundtrip(&mut tcp, &retry, true).await.status, 200);
    assert_eq!(proxy.accepted(), 1);
}

#[tokio::test]
async fn unreachable_and_unresolvable_answer_squids_503s() {
    let proxy = proxy_with(Policy::Unreachable).await;
    let reply = connect_reply(&proxy, "example.test:443", "").await;
    assert_eq!(
        (reply.status, reply.reason.as_str()),
        (503, "Service Unavailable")
    );
    assert_squid_shape(&reply, "ERR_CONNECT_FAIL 111");

    let proxy = proxy_with(Policy::Unresolvable).await;
    let reply = connect_reply(&proxy, "example.test:443", "").await;
    assert_eq!(reply.status, 503);
    assert_squid_shape(&reply, "ERR_DNS_FAIL 0");
}

#[tokio::test]
async fn proxy_status_replies_carry_rfc_9209_fields() {
    let proxy = proxy_with(Policy::proxy_status_dns_error()).await;
    let reply = connect_reply(&proxy, "nxdomain.test:443", "").await;
    assert_eq!(reply.status, 502);
    assert_eq!(
        reply.header("proxy-status"),
        Some("proxyscope-test; error=dns_error; rcode=NXDOMAIN")
    );
    assert_eq!(reply.header("x-squid-error"), None);

    let proxy = proxy_with(Policy::ProxyStatus {
        status: 504,
        params: "error=connection_timeout".into(),
    })
    .await;
    let mut tcp = TcpStream::connect(proxy.addr()).await.expect("connect");
    let reply = roundtrip(
        &mut tcp,
        "GET http://slow.test/ HTTP/1.1\r\nHost: slow.test\r\n\r\n",
        false,
    )
    .await;
    assert_eq!(reply.status, 504);
    assert_eq!(
        reply.header("proxy-status"),
        Some("proxyscope-test; error=connection_timeout")
    );
}

#[tokio::test]
async fn garbage_is_not_http() {
    let proxy = proxy_with(Policy::Garbage).await;
    let mut tcp = TcpStream::connect(proxy.addr()).await.expect("connect");
    tcp.write_all(b"CONNECT a.test:443 HTTP/1.1\r\nHost: a.test:443\r\n\r\n")
        .await
        .expect("write");
    let bytes = read_to_close(&mut tcp).await;
    assert!(!bytes.is_empty());
    assert!(!bytes.starts_with(b"HTTP/"), "{bytes:?}");
    let recorded = proxy.requests();
    assert_eq!(
        (recorded[0].method.as_str(), recorded[0].handled),
        ("CONNECT", Handled::Misbehaved)
    );
}

#[tokio::test]
async fn close_after_accept_closes_before_reading() {
    let proxy = proxy_with(Policy::CloseAfterAccept).await;
    let mut tcp = TcpStream::connect(proxy.addr()).await.expect("connect");
    let _ = tcp.write_all(b"CONNECT a.test:443 HTTP/1.1\r\n\r\n").await;
    let mut buf = [0u8; 16];
    let n = tokio::time::timeout(Duration::from_secs(5), tcp.read(&mut buf))
        .await
        .expect("closed promptly");
    // EOF, or a reset because our bytes arrived after the close: either way, nothing was sent.
    assert!(matches!(n, Ok(0) | Err(_)), "{n:?}");
    assert_eq!(proxy.accepted(), 1);
    assert!(proxy.requests().is_empty());
}

#[tokio::test]
async fn stall_never_answers() {
    let proxy = proxy_with(Policy::Stall).await;
    let mut tcp = TcpStream::connect(proxy.addr()).await.expect("connect");
    tcp.write_all(b"CONNECT a.test:443 HTTP/1.1\r\nHost: a.test:443\r\n\r\n")
        .await
        .expect("write");
    let mut buf = [0u8; 16];
    let waited = tokio::time::timeout(Duration::from_millis(300), tcp.read(&mut buf)).await;
    assert!(
        waited.is_err(),
        "the proxy must stay silent, got {waited:?}"
    );
}

#[tokio::test]
async fn oversized_headers_exceed_64_kib() {
    let proxy = proxy_with(Policy::OversizedHeaders).await;
    let mut tcp = TcpStream::connect(proxy.addr()).await.expect("connect");
    tcp.write_all(b"CONNECT a.test:443 HTTP/1.1\r\nHost: a.test:443\r\n\r\n")
        .await
        .expect("write");
    let bytes = read_to_close(&mut tcp).await;
    assert!(bytes.starts_with(b"HTTP/1.1 200 OK\r\n"));
    let head_end = bytes
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .expect("head ends");
    assert!(head_end >= OVERSIZED_HEADER_BYTES, "{head_end}");
}

#[tokio::test]
async fn ok_then_close_answers_200_and_hangs_up() {
    let origin = TestOrigin::http().await;
    let proxy = proxy_with(Policy::OkThenClose).await;
    let mut tcp = TcpStream::connect(proxy.addr()).await.expect("connect");
    let target = origin.addr().to_string();
    let reply = roundtrip(
        &mut tcp,
        &format!("CONNECT {target} HTTP/1.1\r\nHost: {target}\r\n\r\n"),
        true,
    )
    .await;
    assert_eq!(reply.status, 200);
    let _ = tcp.write_all(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n").await;
    assert!(
        read_to_close(&mut tcp).await.is_empty(),
        "nothing after the 200"
    );
    assert_eq!(proxy.connects()[0].handled, Handled::OkThenClosed);
    assert!(origin.requests().is_empty());
}

#[tokio::test]
async fn intercept_presents_a_leaf_from_the_interception_ca_and_reaches_the_origin() {
    let pki = TestPki::new();
    let origin = TestOrigin::https(&pki, pki.localhost(), ChainMode::Full).await;
    let proxy = TestProxy::builder().intercept(&pki).start().await;
    let mut tcp = TcpStream::connect(proxy.addr()).await.expect("connect");
    let target = format!("localhost:{}", origin.port());
    let reply = roundtrip(
        &mut tcp,
        &format!("CONNECT {target} HTTP/1.1\r\nHost: {target}\r\n\r\n"),
        true,
    )
    .await;
    assert_eq!(reply.status, 200);

    // Trusting only the real root, the intercepted chain is rejected…
    let strict = Arc::new(pki.client_config(&[pki.root()]));
    let err = TlsConnector::from(strict)
        .connect(ServerName::try_from("localhost").expect("name"), tcp)
        .await
        .expect_err("the interception CA is not trusted");
    let err = err
        .get_ref()
        .and_then(|e| e.downcast_ref::<rustls::Error>())
        .cloned();
    assert_eq!(
        err,
        Some(rustls::Error::InvalidCertificate(
            rustls::CertificateError::UnknownIssuer
        ))
    );

    // …and trusting the interception CA, the request reaches the real origin.
    let mut tcp = TcpStream::connect(proxy.addr()).await.expect("connect");
    let reply = roundtrip(
        &mut tcp,
        &format!("CONNECT {target} HTTP/1.1\r\nHost: {target}\r\n\r\n"),
        true,
    )
    .await;
    assert_eq!(reply.status, 200);
    let trusting = Arc::new(pki.client_config(&[pki.interception_ca()]));
    let mut tls = TlsConnector::from(trusting)
        .connect(ServerName::try_from("localhost").expect("name"), tcp)
        .await
        .expect("trusting the interception CA");
    let leaf = tls.get_ref().1.peer_certificates().expect("certs")[0].clone();
    let (_, cert) = x509_parser::parse_x509_certificate(&leaf).expect("parse");
    let issuer = cert
        .issuer()
        .iter_common_name()
        .next()
        .and_then(|c| c.as_str().ok())
        .map(str::to_owned);
    assert_eq!(issuer.as_deref(), Some(INTERCEPTION_CN));
    assert_ne!(leaf.as_ref(), pki.localhost().der().as_ref());
    let inner = roundtrip(
        &mut tls,
        "GET /echo HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n",
        false,
    )
    .await;
    assert_eq!(inner.status, 200);
    assert_eq!(inner.header("server"), Some(ORIGIN_SERVER));
    assert_eq!(
        origin.requests().len(),
        1,
        "re-originated over TLS to the origin"
    );
    assert!(origin.requests()[0].tls);
    assert!(
        proxy
            .connects()
            .iter()
            .all(|c| c.handled == Handled::Intercepted)
    );
}

#[tokio::test]
async fn intercept_without_a_pki_is_an_explicit_gateway_failure() {
    let origin = TestOrigin::http().await;
    let proxy = proxy_with(Policy::Intercept).await;
    let reply = connect_reply(&proxy, &origin.addr().to_string(), "").await;
    assert_eq!(reply.status, 500);
    assert_squid_shape(&reply, "ERR_GATEWAY_FAILURE 0");
}

#[tokio::test]
async fn deny_inside_tunnel_is_a_proxy_403_behind_an_intercepted_certificate() {
    let pki = TestPki::new();
    let origin = TestOrigin::https(&pki, pki.localhost(), ChainMode::Full).await;
    let proxy = TestProxy::builder()
        .policy(Policy::DenyInsideTunnel(vec!["localhost".into()]))
        .intercept(&pki)
        .start()
        .await;
    let mut tcp = TcpStream::connect(proxy.addr()).await.expect("connect");
    let target = format!("localhost:{}", origin.port());
    let reply = roundtrip(
        &mut tcp,
        &format!("CONNECT {target} HTTP/1.1\r\nHost: {target}\r\n\r\n"),
        true,
    )
    .await;
    assert_eq!(reply.status, 200, "the CONNECT itself succeeds");
    let trusting = Arc::new(pki.client_config(&[pki.interception_ca()]));
    let mut tls = TlsConnector::from(trusting)
        .connect(ServerName::try_from("localhost").expect("name"), tcp)
        .await
        .expect("TLS with the corporate CA");
    let leaf = tls.get_ref().1.peer_certificates().expect("certs")[0].clone();
    let (_, cert) = x509_parser::parse_x509_certificate(&leaf).expect("parse");
    let issuer = cert
        .issuer()
        .iter_common_name()
        .next()
        .and_then(|c| c.as_str().ok())
        .map(str::to_owned);
    assert_eq!(issuer.as_deref(), Some(INTERCEPTION_CN));
    let inner = roundtrip(
        &mut tls,
        "GET /status/200 HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n",
        false,
    )
    .await;
    assert_eq!(inner.status, 403);
    assert_squid_shape(&inner, "ERR_ACCESS_DENIED 0");
    assert!(origin.requests().is_empty(), "the origin never saw it");
    assert_eq!(proxy.connects()[0].handled, Handled::DeniedInsideTunnel);

    // Other hosts are intercepted and forwarded as usual.
    let proxy_other = TestProxy::builder()
        .policy(Policy::DenyInsideTunnel(vec!["elsewhere.test".into()]))
        .intercept(&pki)
        .start()
        .await;
    let reply = connect_reply(&proxy_other, &target, "").await;
    assert_eq!(reply.status, 200);
    assert_eq!(proxy_other.connects()[0].handled, Handled::Intercepted);

    // Without a PKI to intercept with, the proxy says so instead of tunnelling silently.
    let no_pki = proxy_with(Policy::DenyInsideTunnel(vec!["localhost".into()])).await;
    let reply = connect_reply(&no_pki, &target, "").await;
    assert_eq!(reply.status, 500);
    assert_squid_shape(&reply, "ERR_GATEWAY_FAILURE 0");
}

#[tokio::test]
async fn canned_replies_imitate_other_proxies_with_their_reason_phrases() {
    let proxy = proxy_with(Policy::Reply(CannedReply::tinyproxy(
        500,
        "Unable to connect",
    )))
    .await;
    let reply = connect_reply(&proxy, "down.test:443", "").await;
    assert_eq!(
        (reply.status, reply.reason.as_str()),
        (500, "Unable to connect")
    );
    assert_eq!(reply.header("server"), Some("tinyproxy/1.11.2"));
    assert_eq!(reply.header("content-type"), Some("text/html"));
    assert!(reply.body_text().contains("Generated by tinyproxy"));
    assert_eq!(proxy.connects()[0].handled, Handled::Refused(500));

    let gateway = CannedReply::new(403)
        .reason("Tunnel or SSL Forbidden")
        .header("Via", "1.1 WCG1")
        .header("Content-Type", "application/json")
        .body(r#"{"error":"network_target_denied"}"#);
    let proxy = proxy_with(Policy::Reply(gateway)).await;
    let reply = connect_reply(&proxy, "api.test:443", "").await;
    assert_eq!(
        (reply.status, reply.reason.as_str()),
        (403, "Tunnel or SSL Forbidden")
    );
    assert_eq!(reply.header("via"), Some("1.1 WCG1"));
    assert_eq!(reply.body_text(), r#"{"error":"network_target_denied"}"#);
}

#[tokio::test]
async fn dotted_deny_entries_cover_subdomains() {
    let origin = TestOrigin::http().await;
    let proxy = TestProxy::builder()
        .policy(Policy::deny(&[".blocked.test"]))
        .resolve("notblocked.test", std::net::IpAddr::from([127, 0, 0, 1]))
        .start()
        .await;
    assert_eq!(
        connect_reply(&proxy, "blocked.test:443", "").await.status,
        403
    );
    assert_eq!(
        connect_reply(&proxy, "api.blocked.test:443", "")
            .await
            .status,
        403
    );
    // A name that only ends like the entry is not covered and is tunnelled.
    let target = format!("notblocked.test:{}", origin.port());
    assert_eq!(connect_reply(&proxy, &target, "").await.status, 200);
}

#[tokio::test]
async fn intercepting_proxy_reports_the_origins_bad_tls_as_its_own_503_inside_the_tunnel() {
    let pki = TestPki::new();
    let origin = TestOrigin::https(&pki, &pki.self_signed(&["localhost"]), ChainMode::Full).await;
    let proxy = TestProxy::builder().intercept(&pki).start().await;
    let mut tcp = TcpStream::connect(proxy.addr()).await.expect("connect");
    let target = format!("localhost:{}", origin.port());
    let reply = roundtrip(
        &mut tcp,
        &format!("CONNECT {target} HTTP/1.1\r\nHost: {target}\r\n\r\n"),
        true,
    )
    .await;
    assert_eq!(reply.status, 200);
    let trusting = Arc::new(pki.client_config(&[pki.interception_ca()]));
    let mut tls = TlsConnector::from(trusting)
        .connect(ServerName::try_from("localhost").expect("name"), tcp)
        .await
        .expect("TLS to the proxy's interception leaf");
    let inner = roundtrip(
        &mut tls,
        "GET / HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n",
        false,
    )
    .await;
    assert_eq!(inner.status, 503);
    assert_squid_shape(&inner, "ERR_SECURE_CONNECT_FAIL 0");
    assert!(origin.requests().is_empty());
}
