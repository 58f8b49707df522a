//! `HopTls` on success: any `AsyncRead + AsyncWrite` (TCP, a tokio duplex, a tunnel through the
//! harness's CONNECT proxy), the chain recorded on success, ALPN per hop, resumption, and
//! `danger_accept_invalid_certs` recording-but-accepting with warnings.

use std::time::Duration;

use crate::support::*;
use proxyscope::testing::{ChainMode, LeafSpec, TestCa, TestPki, TestProxy, Validity, read_head};
use proxyscope::tls::{CaBundle, ChainComparison, HopTls, TlsSettings, compare_chains};
use proxyscope::{Hop, Roots};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

fn trusting(ca: &TestCa) -> TlsSettings {
    TlsSettings::origin()
        .with_roots(Roots::None)
        .with_ca_file(CaBundle::load(ca.cert().pem_path()).unwrap())
}

async fn read_ok<IO: tokio::io::AsyncRead + Unpin>(mut s: IO) -> String {
    let mut buf = Vec::new();
    s.read_to_end(&mut buf).await.unwrap();
    String::from_utf8(buf).unwrap()
}

#[tokio::test]
async fn success_over_tcp_records_chain_alpn_and_version() {
    let pki = TestPki::new();
    let root = pki.make_root("Hop Root");
    let inter = pki.make_intermediate(&root, "Hop Intermediate", Validity::Current);
    let leaf = pki.leaf(LeafSpec::new(&["origin.test"]).issued_by(&inter));
    let server = serve(&pki, &leaf, ChainMode::Full).await;
    let addr = server.addr();
    let tls = HopTls::new(trusting(&root)).unwrap();
    assert!(tls.warnings().is_empty());
    let (stream, info) = handshake(&tls, "origin.test", addr).await.unwrap();
    assert_eq!(info.hop, Hop::Origin);
    assert_eq!(info.sni, "origin.test");
    assert_eq!(info.chain.len(), 2);
    assert_eq!(info.chain[0].sans, ["origin.test"]);
    assert!(info.chain[1].subject.contains("Hop Intermediate"));
    assert_eq!(info.alpn.as_deref(), Some("h2"));
    assert_eq!(info.version.as_deref(), Some("TLSv1_3"));
    assert!(info.accepted_invalid.is_none());
    assert!(info.warnings().is_empty());
    assert_eq!(read_ok(stream).await, "ok");
}

#[tokio::test]
async fn proxy_hop_offers_only_http11() {
    let pki = TestPki::new();
    let root = pki.make_root("Proxy Hop Root");
    let leaf = pki.leaf(LeafSpec::new(&["proxy.test"]).issued_by(&root));
    let server = serve(&pki, &leaf, ChainMode::LeafOnly).await;
    let addr = server.addr();
    let file = root.cert().pem_path().to_path_buf();
    let tls =
        HopTls::new(TlsSettings::proxy().with_ca_file(CaBundle::load(&file).unwrap())).unwrap();
    let (_, info) = handshake(&tls, "proxy.test", addr).await.unwrap();
    assert_eq!(info.hop, Hop::Proxy);
    assert_eq!(info.alpn.as_deref(), Some("http/1.1"));
}

#[tokio::test]
async fn works_over_a_tokio_duplex() {
    let pki = TestPki::new();
    let root = pki.make_root("Duplex Root");
    let leaf = pki.leaf(LeafSpec::new(&["duplex.test"]).issued_by(&root));
    let acceptor = tokio_rustls::TlsAcceptor::from(pki.server_config(&leaf, ChainMode::LeafOnly));
    let (client, server) = tokio::io::duplex(16 * 1024);
    let srv = tokio::spawn(async move {
        let mut tls = acceptor.accept(server).await.unwrap();
        tls.write_all(b"ok").await.unwrap();
        tls.shutdown().await.unwrap();
    });
    let tls = HopTls::new(trusting(&root)).unwrap();
    let (stream, info) = tls
        .connect("duplex.test", client, Duration::from_secs(5))
        .await
        .unwrap();
    assert_eq!(info.chain.len(), 1);
    assert_eq!(read_ok(stream).await, "ok");
    srv.await.unwrap();
}

#[tokio::test]
async fn private_ca_origin_through_a_connect_tunnel() {
    let pki = TestPki::new();
    let root = pki.make_root("Tunnel Root");
    let leaf = pki.leaf(LeafSpec::new(&["origin.test"]).issued_by(&root));
    let origin_server = serve(&pki, &leaf, ChainMode::LeafOnly).await;
    let origin = origin_server.addr();
    let proxy = TestProxy::allow_all().await;

    let mut tcp = TcpStream::connect(proxy.addr()).await.unwrap();
    tcp.write_all(format!("CONNECT {origin} HTTP/1.1\r\nHost: {origin}\r\n\r\n").as_bytes())
        .await
        .unwrap();
    // The proxy sends nothing after its reply until the client speaks TLS.
    let (head, rest) = read_head(&mut tcp).await.unwrap();
    assert!(head.starts_with("HTTP/1.1 200"), "{head}");
    assert!(rest.is_empty());
    // The origin hop's CA applies inside the tunnel.
    let tls = HopTls::new(trusting(&root)).unwrap();
    let (stream, info) = tls
        .connect("origin.test", tcp, Duration::from_secs(5))
        .await
        .unwrap();
    assert!(info.chain[0].issuer.contains("Tunnel Root"));
    assert_eq!(read_ok(stream).await, "ok");
}

#[tokio::test]
async fn danger_accept_invalid_certs_records_and_warns() {
    let pki = TestPki::new();
    let leaf = pki.self_signed(&["wrong.test"]);
    let server = serve(&pki, &leaf, ChainMode::LeafOnly).await;
    let addr = server.addr();
    let settings = TlsSettings::origin()
        .with_system_roots(Vec::new())
        .with_danger_accept_invalid_certs(true);
    let tls = HopTls::new(settings).unwrap();
    assert_eq!(tls.warnings().len(), 1);
    let (stream, info) = handshake(&tls, "origin.test", addr).await.unwrap();
    assert!(info.danger_accept_invalid_certs);
    assert!(info.accepted_invalid.is_some());
    assert_eq!(info.chain.len(), 1);
    assert_eq!(info.warnings().len(), 2);
    assert_eq!(read_ok(stream).await, "ok");
}

#[tokio::test]
async fn danger_works_without_any_anchor_but_an_empty_store_is_a_config_error() {
    let pki = TestPki::new();
    let leaf = pki.self_signed(&["origin.test"]);
    let server = serve(&pki, &leaf, ChainMode::LeafOnly).await;
    let addr = server.addr();
    let err = HopTls::new(TlsSettings::origin().with_roots(Roots::None)).unwrap_err();
    assert_eq!(err.code(), "config.invalid");
    assert_eq!(err.hop(), Some(Hop::Origin));
    assert!(err.hint().unwrap().contains("ca_file"));
    let tls = HopTls::new(
        TlsSettings::origin()
            .with_roots(Roots::None)
            .with_danger_accept_invalid_certs(true),
    )
    .unwrap();
    let (_, info) = handshake(&tls, "origin.test", addr).await.unwrap();
    assert!(info.accepted_invalid.is_some());
}

#[tokio::test]
async fn valid_chain_under_danger_has_only_the_setting_warning() {
    let pki = TestPki::new();
    let root = pki.make_root("Danger Root");
    let leaf = pki.leaf(LeafSpec::new(&["origin.test"]).issued_by(&root));
    let server = serve(&pki, &leaf, ChainMode::LeafOnly).await;
    let addr = server.addr();
    let tls = HopTls::new(trusting(&root).with_danger_accept_invalid_certs(true)).unwrap();
    let (_, info) = handshake(&tls, "origin.test", addr).await.unwrap();
    assert!(info.accepted_invalid.is_none());
    assert_eq!(info.warnings().len(), 1);
}

#[tokio::test]
async fn resumed_sessions_still_report_the_chain_and_can_be_disabled() {
    let pki = TestPki::new();
    let root = pki.make_root("Resume Root");
    let leaf = pki.leaf(LeafSpec::new(&["origin.test"]).issued_by(&root));
    let server = serve(&pki, &leaf, ChainMode::LeafOnly).await;
    let addr = server.addr();

    let tls = HopTls::new(trusting(&root)).unwrap();
    let (s, first) = handshake(&tls, "origin.test", addr).await.unwrap();
    // Reading to the end lets the client receive the session ticket.
    read_ok(s).await;
    let (_, second) = handshake(&tls, "origin.test", addr).await.unwrap();
    assert!(!first.resumed);
    assert!(second.resumed);
    assert_eq!(
        compare_chains(&first.chain, &second.chain),
        ChainComparison::Same
    );

    let tls = HopTls::new(trusting(&root).with_resumption(false)).unwrap();
    let (s, _) = handshake(&tls, "origin.test", addr).await.unwrap();
    read_ok(s).await;
    let (_, again) = handshake(&tls, "origin.test", addr).await.unwrap();
    assert!(!again.resumed);
    assert_eq!(again.chain.len(), 1);
}

#[tokio::test]
async fn invalid_server_name_is_an_error_not_a_panic() {
    let pki = TestPki::new();
    let leaf = pki.self_signed(&["origin.test"]);
    let server = serve(&pki, &leaf, ChainMode::LeafOnly).await;
    let addr = server.addr();
    let tls = HopTls::new(TlsSettings::origin()).unwrap();
    let err = handshake(&tls, "bad name!", addr).await.unwrap_err();
    assert_eq!(err.code(), "tls.handshake");
    assert_eq!(err.hop(), Some(Hop::Origin));
    assert_eq!(err.evidence().target.as_deref(), Some("bad name!"));
}

#[tokio::test]
async fn ip_address_server_names_are_verified() {
    let pki = TestPki::new();
    let root = pki.make_root("IP Root");
    let leaf = pki.leaf(LeafSpec::new(&["127.0.0.1"]).issued_by(&root));
    let server = serve(&pki, &leaf, ChainMode::LeafOnly).await;
    let addr = server.addr();
    let tls = HopTls::new(trusting(&root)).unwrap();
    let (_, info) = handshake(&tls, "127.0.0.1", addr).await.unwrap();
    assert_eq!(info.chain[0].sans, ["127.0.0.1"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_handshakes_never_mix_their_chains() {
    let pki = TestPki::new();
    let root = pki.make_root("Concurrent Root");
    let a = pki.leaf(LeafSpec::new(&["a.test"]).issued_by(&root));
    let b = pki.leaf(LeafSpec::new(&["b.test"]).issued_by(&root));
    let addr_a_server = serve(&pki, &a, ChainMode::LeafOnly).await;
    let addr_a = addr_a_server.addr();
    let addr_b_server = serve(&pki, &b, ChainMode::LeafOnly).await;
    let addr_b = addr_b_server.addr();
    // One failing host among them: its evidence must hold its own chain.
    let bad = pki.self_signed(&["c.test"]);
    let addr_c_server = serve(&pki, &bad, ChainMode::LeafOnly).await;
    let addr_c = addr_c_server.addr();
    let tls = HopTls::new(trusting(&root).with_resumption(false)).unwrap();
    let mut tasks = Vec::new();
    for i in 0..30 {
        let tls = tls.clone();
        let (name, addr) = [("a.test", addr_a), ("b.test", addr_b), ("c.test", addr_c)][i % 3];
        tasks.push(tokio::spawn(async move {
            let sans = match handshake(&tls, name, addr).await {
                Ok((_, info)) => info.chain[0].sans.clone(),
                Err(e) => tls_ev(&e).chain[0].sans.clone(),
            };
            (name, sans)
        }));
    }
    for t in tasks {
        let (name, sans) = t.await.unwrap();
        assert_eq!(sans, [name]);
    }
}
