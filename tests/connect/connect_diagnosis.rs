//! Which component a connection failure points at, in words that tell the causes apart: a tunnel
//! the proxy ended before the origin's first byte (closed or reset, CONNECT or SOCKS) is the
//! proxy's, a cut the origin made is not; a proxy that never answers and one that answers
//! slowly; closed and reset CONNECTs; an oversized reply that began `200`; an `http://` proxy
//! that speaks TLS and an `https://` one that does not, each with the exact URL to write; missing
//! and rejected credentials; a destination the proxy could not reach, with its errno in words.
//!
//! Each test asserts the code, hop, blame, the headline's distinguishing words and, where a hint
//! names a value, that exact value.

use std::time::Duration;

use tokio::io::AsyncReadExt;

use crate::common::servers::{builder, layer};
use proxyscope::error::{CloseKind, CloseStage};
use proxyscope::testing::{
    ChainMode, Policy, RawServer, Script, TestOrigin, TestPki, TestProxy, refused_addr,
};
use proxyscope::tls::Diagnosis;
use proxyscope::{Blame, Error, Hop, Phase, Settings};

fn via(proxy: &str, pki: &TestPki) -> Settings {
    layer(Some(proxy)).with_ca_file([pki.root_pem_path().to_path_buf()])
}

async fn proxy_with(policy: Policy) -> TestProxy {
    TestProxy::builder().policy(policy).start().await
}

async fn get_err(settings: Settings, url: &str) -> Error {
    match builder(settings).build().expect("client").get(url).await {
        Ok(r) => panic!("expected a failure, got {}", r.status()),
        Err(e) => e,
    }
}

fn assert_is(e: &Error, code: &str, hop: Hop, blame: Blame, phase: Phase) {
    let report = e.report();
    assert_eq!(e.code(), code, "{report}");
    assert_eq!(e.hop(), Some(hop), "{report}");
    assert_eq!(e.blame(), blame, "{report}");
    assert_eq!(e.phase(), phase, "{report}");
    // The blame is in every rendering.
    assert!(report.contains(&format!("blame: {blame}")), "{report}");
    let json = serde_json::to_value(e).expect("json");
    assert_eq!(json["blame"], blame.as_str(), "{json}");
}

fn headline_has(e: &Error, words: &str) {
    assert!(
        e.to_string().contains(words),
        "headline {:?} lacks {words:?}",
        e.to_string()
    );
}

fn hint_has(e: &Error, value: &str) {
    let hint = e.hint().unwrap_or_default();
    assert!(hint.contains(value), "hint {hint:?} lacks {value:?}");
}

// Pattern 1: a tunnel that ends before the origin's first byte is the proxy's.

#[tokio::test]
async fn a_tunnel_closed_after_the_200_is_the_proxys_not_the_origins() {
    let pki = TestPki::new();
    let proxy = proxy_with(Policy::OkThenClose).await;
    let e = get_err(via(&proxy.url(), &pki), "https://localhost:9/").await;
    assert_is(&e, "proxy.closed", Hop::Proxy, Blame::Proxy, Phase::Tls);
    headline_has(&e, "closed the tunnel to localhost:9");
    headline_has(
        &e,
        "after answering 200 to CONNECT, before the origin sent a single byte",
    );
    hint_has(&e, "check the proxy's log for this CONNECT");
    let c = e.evidence().closure.expect("closure");
    assert_eq!(
        (c.how, c.stage, c.bytes_received),
        (CloseKind::Closed, CloseStage::Tunnel, 0)
    );
    // The handshake's own facts stay: SNI and rustls's words.
    let tls = e.evidence().tls.as_deref().expect("tls evidence");
    assert_eq!(tls.diagnosis, Diagnosis::ConnectionCut);
    assert_eq!(tls.sni, "localhost");
}

#[tokio::test]
async fn a_tunnel_reset_after_the_200_says_reset() {
    let pki = TestPki::new();
    let proxy = proxy_with(Policy::OkThenReset).await;
    let e = get_err(via(&proxy.url(), &pki), "https://localhost:9/").await;
    assert_is(&e, "proxy.closed", Hop::Proxy, Blame::Proxy, Phase::Tls);
    headline_has(&e, "reset the tunnel to localhost:9");
    let c = e.evidence().closure.expect("closure");
    assert_eq!(
        (c.how, c.stage, c.bytes_received),
        (CloseKind::Reset, CloseStage::Tunnel, 0)
    );
}

#[tokio::test]
async fn a_socks_tunnel_reset_before_the_origin_spoke_is_the_proxys() {
    let pki = TestPki::new();
    let proxy = TestProxy::builder()
        .socks5()
        .policy(Policy::OkThenReset)
        .start()
        .await;
    let url = proxy
        .socks5_url()
        .expect("socks5")
        .replace("socks5://", "socks5h://");
    let e = get_err(via(&url, &pki), "https://localhost:9/").await;
    assert_is(&e, "proxy.closed", Hop::Proxy, Blame::Proxy, Phase::Tls);
    headline_has(&e, "reset the tunnel to localhost:9");
    headline_has(&e, "after reporting success to the SOCKS CONNECT");
}

/// The contrast: an origin that hangs up during its own handshake, reached directly, stays the
/// origin hop's TLS failure (the network's to explain: nothing proves a proxy did it).
#[tokio::test]
async fn an_origin_that_hangs_up_directly_stays_the_origin_hops_failure() {
    let server = RawServer::start(|mut s| async move {
        // Read the whole ClientHello first: closing with unread bytes would send RST.
        let mut hello = [0u8; 4096];
        let _ = s.read(&mut hello).await;
        tokio::time::sleep(Duration::from_millis(50)).await;
        let _ = tokio::time::timeout(Duration::from_millis(50), s.read(&mut hello)).await;
    })
    .await;
    let e = get_err(
        layer(None),
        &format!("https://localhost:{}/", server.addr().port()),
    )
    .await;
    assert_is(&e, "tls.handshake", Hop::Origin, Blame::Network, Phase::Tls);
    headline_has(&e, "the connection was closed during the TLS handshake");
}

/// A tunnel whose origin did answer (the real origin sent its certificate) is not the proxy's:
/// a good chain through the tunnel succeeds, and the counter does not mislead.
#[tokio::test]
async fn a_working_tunnel_is_untouched() {
    let pki = TestPki::new();
    let origin = TestOrigin::https(&pki, pki.localhost(), ChainMode::Full).await;
    let proxy = TestProxy::allow_all().await;
    let res = builder(via(&proxy.url(), &pki))
        .build()
        .expect("client")
        .get(origin.url_with_host("localhost", "/"))
        .await
        .expect("tunnelled");
    assert_eq!(res.status(), 200);
}

// Pattern 6: never answers vs answers slowly; closed vs reset.

#[tokio::test]
async fn a_proxy_that_never_answers_and_one_that_answers_slowly_read_differently() {
    let pki = TestPki::new();
    let short = |p: &str| via(p, &pki).with_timeout(Phase::Proxy, Duration::from_millis(600));
    let silent = proxy_with(Policy::Stall).await;
    let e = get_err(short(&silent.url()), "https://localhost:9/").await;
    assert_is(&e, "proxy.timeout", Hop::Proxy, Blame::Proxy, Phase::Proxy);
    headline_has(&e, "never answered CONNECT: not a byte within");
    assert_eq!(e.evidence().bytes_received, Some(0));

    let slow = proxy_with(Policy::Dribble(Duration::from_millis(100))).await;
    let e = get_err(short(&slow.url()), "https://localhost:9/").await;
    assert_is(&e, "proxy.timeout", Hop::Proxy, Blame::Proxy, Phase::Proxy);
    headline_has(&e, "answers too slowly");
    assert!(
        e.evidence().bytes_received.is_some_and(|n| n > 0),
        "{:?}",
        e.evidence()
    );
    hint_has(&e, "raise timeouts.proxy");
}

/// A server that reads the CONNECT and resets the connection.
async fn resetting_proxy() -> RawServer {
    RawServer::start(|mut s| async move {
        let mut head = [0u8; 512];
        let _ = s.read(&mut head).await;
        let _ = s.set_zero_linger();
        drop(s);
    })
    .await
}

#[tokio::test]
async fn a_connect_closed_and_a_connect_reset_read_differently() {
    let pki = TestPki::new();
    // Reads the CONNECT, then closes: an orderly FIN.
    let server = RawServer::scripted(Script::Close).await;
    let closing = server.addr();
    let e = get_err(
        via(&format!("http://{closing}"), &pki),
        "https://localhost:9/",
    )
    .await;
    assert_is(&e, "proxy.closed", Hop::Proxy, Blame::Proxy, Phase::Proxy);
    headline_has(&e, "closed the connection without answering CONNECT");
    assert_eq!(e.evidence().closure.map(|c| c.how), Some(CloseKind::Closed));

    let server = resetting_proxy().await;
    let addr = server.addr();
    let e = get_err(via(&format!("http://{addr}"), &pki), "https://localhost:9/").await;
    assert_is(&e, "proxy.closed", Hop::Proxy, Blame::Proxy, Phase::Proxy);
    headline_has(&e, "reset the connection during CONNECT");
    let c = e.evidence().closure.expect("closure");
    assert_eq!(
        (c.how, c.stage),
        (CloseKind::Reset, CloseStage::ConnectReply)
    );
}

// Pattern 7: a hint never contradicts its evidence.

#[tokio::test]
async fn an_oversized_reply_that_began_200_is_not_called_a_non_http_service() {
    let pki = TestPki::new();
    let proxy = proxy_with(Policy::OversizedHeaders).await;
    let e = get_err(via(&proxy.url(), &pki), "https://localhost:9/").await;
    assert_is(&e, "proxy.protocol", Hop::Proxy, Blame::Proxy, Phase::Proxy);
    headline_has(&e, "(`HTTP/1.1 200 OK`)");
    let hint = e.hint().unwrap_or_default();
    assert!(
        !hint.contains("does not answer like an HTTP proxy"),
        "{hint}"
    );
    hint_has(
        &e,
        "the proxy answers in HTTP, but its reply head is unusable",
    );
}

#[tokio::test]
async fn a_destination_the_proxy_could_not_connect_to_says_so_with_the_errno_in_words() {
    let pki = TestPki::new();
    let proxy = proxy_with(Policy::Unreachable).await;
    let e = get_err(via(&proxy.url(), &pki), "https://localhost:9/").await;
    assert_is(
        &e,
        "proxy.upstream",
        Hop::Proxy,
        Blame::Origin,
        Phase::Proxy,
    );
    headline_has(
        &e,
        "could not reach localhost:9: it could not connect to it: connection refused (ERR_CONNECT_FAIL, errno 111)",
    );
    hint_has(
        &e,
        "the proxy works but could not connect to it: connection refused",
    );
}

#[tokio::test]
async fn a_destination_the_proxy_could_not_resolve_says_so() {
    let pki = TestPki::new();
    let proxy = proxy_with(Policy::proxy_status_dns_error()).await;
    let e = get_err(via(&proxy.url(), &pki), "https://localhost:9/").await;
    assert_is(
        &e,
        "proxy.upstream",
        Hop::Proxy,
        Blame::Origin,
        Phase::Proxy,
    );
    headline_has(
        &e,
        "could not resolve its name (Proxy-Status: error=dns_error, rcode=NXDOMAIN)",
    );
    hint_has(&e, "check the host name localhost");
}

// Pattern 6: missing vs rejected credentials, with the exact URL shape to write.

#[tokio::test]
async fn missing_and_rejected_credentials_read_differently() {
    let pki = TestPki::new();
    let proxy = proxy_with(Policy::require_basic("alice", "s3cret", "corp")).await;
    let e = get_err(via(&proxy.url(), &pki), "https://localhost:9/").await;
    assert_is(
        &e,
        "proxy.auth_required",
        Hop::Proxy,
        Blame::LocalConfig,
        Phase::Proxy,
    );
    headline_has(&e, "requires credentials and none were sent");
    headline_has(&e, "it offers Basic realm=\"corp\"");
    let addr = proxy.addr();
    hint_has(
        &e,
        &format!("http://USER:PASSWORD@{addr} in the client builder's `proxy`"),
    );

    let wrong = proxy.url_with_credentials("alice", "wrong");
    let e = get_err(via(&wrong, &pki), "https://localhost:9/").await;
    assert_is(
        &e,
        "proxy.auth_rejected",
        Hop::Proxy,
        Blame::LocalConfig,
        Phase::Proxy,
    );
    headline_has(&e, "rejected the credentials it was sent");
    hint_has(
        &e,
        "correct the user name or password in the proxy URL set in the client builder's `proxy`",
    );
    assert!(!format!("{e} {}", e.report()).contains("wrong"));
}

// Pattern 5 and the `http://`-at-TLS item: the hint names the exact URL to write.

#[tokio::test]
async fn an_http_proxy_url_at_a_tls_proxy_hints_the_exact_https_url() {
    let pki = TestPki::new();
    let origin = TestOrigin::https(&pki, pki.localhost(), ChainMode::Full).await;
    let proxy = TestProxy::builder()
        .tls(&pki, pki.localhost())
        .start()
        .await;
    let tls_addr = proxy.https_addr().expect("tls listener");
    // CONNECT (an https origin) and absolute-form (a plain http origin) alike.
    for url in [
        origin.url_with_host("localhost", "/"),
        "http://localhost:9/".to_owned(),
    ] {
        let e = get_err(via(&format!("http://{tls_addr}"), &pki), &url).await;
        assert_eq!(e.code(), "proxy.protocol", "{url}: {}", e.report());
        assert_eq!(
            (e.hop(), e.blame()),
            (Some(Hop::Proxy), Blame::LocalConfig),
            "{url}"
        );
        headline_has(&e, "speaks TLS, not plain HTTP");
        hint_has(
            &e,
            &format!("`https://{tls_addr}` in the client builder's `proxy`"),
        );
    }
}

/// A TLS server that drops a plain-text request without a byte (as OpenSSL-based servers do)
/// is recognised by a ClientHello on a second connection.
#[tokio::test]
async fn an_http_proxy_url_at_a_silent_tls_server_is_recognised_too() {
    let pki = TestPki::new();
    let acceptor =
        tokio_rustls::TlsAcceptor::from(pki.server_config(pki.localhost(), ChainMode::Full));
    let server = RawServer::start(move |s| {
        let acceptor = acceptor.clone();
        async move {
            let mut first = [0u8; 1];
            if s.peek(&mut first).await.is_ok() && first[0] == 0x16 {
                let _ = acceptor.accept(s).await;
            }
            // Anything else: hang up without a word.
        }
    })
    .await;
    let addr = server.addr();
    let e = get_err(via(&format!("http://{addr}"), &pki), "https://localhost:9/").await;
    assert_is(
        &e,
        "proxy.protocol",
        Hop::Proxy,
        Blame::LocalConfig,
        Phase::Proxy,
    );
    headline_has(&e, "speaks TLS, not plain HTTP");
    hint_has(&e, &format!("`https://{addr}`"));
    assert_eq!(e.evidence().closure.map(|c| c.bytes_received), Some(0));
}

#[tokio::test]
async fn an_https_proxy_url_at_a_plain_proxy_hints_the_exact_http_url() {
    let pki = TestPki::new();
    let proxy = TestProxy::allow_all().await;
    let addr = proxy.addr();
    let e = get_err(
        via(&format!("https://{addr}"), &pki),
        "https://localhost:9/",
    )
    .await;
    assert_is(
        &e,
        "proxy.tls",
        Hop::Proxy,
        Blame::LocalConfig,
        Phase::Proxy,
    );
    headline_has(&e, "the proxy answered in plain HTTP, not TLS");
    hint_has(
        &e,
        &format!("write its URL as `http://{addr}` in the client builder's `proxy`"),
    );
}

// Pattern 5: hints name where the value lives — the variable, or the builder key.

#[tokio::test]
async fn proxy_dns_and_connect_hints_name_where_the_proxy_is_set() {
    let refused = refused_addr();
    let from_env = |proxy: String| {
        proxyscope::Client::builder()
            .env(proxyscope::EnvSnapshot::from_pairs([(
                "https_proxy",
                proxy,
            )]))
            .resolver(crate::common::servers::resolver())
            .build()
            .expect("client")
    };
    let e = from_env("http://proxy.invalid:3128".to_owned())
        .get("https://localhost:9/")
        .await
        .unwrap_err();
    assert_is(&e, "proxy.dns", Hop::Proxy, Blame::LocalConfig, Phase::Dns);
    hint_has(
        &e,
        "the proxy's host name proxy.invalid does not resolve here: check it in the https_proxy environment variable",
    );

    let e = from_env(format!("http://{refused}"))
        .get("https://localhost:9/")
        .await
        .unwrap_err();
    assert_is(
        &e,
        "proxy.connect",
        Hop::Proxy,
        Blame::Proxy,
        Phase::Connect,
    );
    hint_has(
        &e,
        "nothing listens at the proxy's address: the proxy is down, or the port in the https_proxy environment variable is wrong",
    );
}
