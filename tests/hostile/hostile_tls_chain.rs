//! A TLS server presenting a chain built to be expensive to describe: a leaf with thousands of
//! subjectAltNames and dozens of extra certificates, all within rustls's 64 KiB handshake
//! message. The error's evidence describes at most 16 certificates and 64 names per
//! certificate, and counts the rest, so a peer cannot make every error, JSON document and probe
//! page carry thousands of entries.

use std::sync::Arc;

use proxyscope::testing::RawServer;
use proxyscope::{Client, EnvSnapshot, Hop, Phase};
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};

const NAMES: usize = 3_000;
const EXTRA: usize = 60;

fn hostile_config() -> rustls::ServerConfig {
    let key = rcgen::KeyPair::generate().unwrap();
    let names: Vec<String> = (0..NAMES).map(|i| format!("a{i}")).collect();
    let leaf = rcgen::CertificateParams::new(names)
        .unwrap()
        .self_signed(&key)
        .unwrap();
    let ca_key = rcgen::KeyPair::generate().unwrap();
    let mut ca = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
    ca.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
    let ca = ca.self_signed(&ca_key).unwrap();
    let mut chain: Vec<CertificateDer<'static>> = vec![leaf.der().clone()];
    chain.extend(std::iter::repeat_n(ca.der().clone(), EXTRA));
    let size: usize = chain.iter().map(|c| c.len() + 3).sum();
    assert!(
        size < 64 * 1024 - 64,
        "the chain must fit one handshake message: {size}"
    );
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(
            chain,
            PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(key.serialize_der())),
        )
        .unwrap()
}

#[tokio::test]
async fn a_chain_built_to_be_expensive_to_describe_is_described_within_caps() {
    let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(hostile_config()));
    let server = RawServer::start(move |s| {
        let acceptor = acceptor.clone();
        async move {
            let _ = acceptor.accept(s).await;
        }
    })
    .await;
    // `a0` is the leaf's first name: pinned to loopback, so the name check is not what fails.
    let client = Client::builder()
        .env(EnvSnapshot::from_pairs(Vec::<(String, String)>::new()))
        .resolver(proxyscope::connect::Resolver::pinned(
            "a0",
            [std::net::Ipv4Addr::LOCALHOST.into()],
        ))
        .build()
        .unwrap();
    let e = client
        .get(format!("https://a0:{}/", server.addr().port()))
        .send()
        .await
        .unwrap_err();
    assert!(e.code().starts_with("tls."), "{}", e.report());
    assert_eq!((e.hop(), e.phase()), (Some(Hop::Origin), Phase::Tls));
    let tls = e.evidence().tls.as_ref().expect("TLS evidence");
    assert_eq!(
        tls.chain.len(),
        16,
        "{} certificates described",
        tls.chain.len()
    );
    assert_eq!(tls.chain_omitted, 1 + EXTRA - 16);
    let leaf = &tls.chain[0];
    assert_eq!(leaf.sans.len(), 64, "{} names listed", leaf.sans.len());
    assert_eq!(leaf.sans_omitted, NAMES - 64);
    assert_eq!(leaf.sans[0], "a0");
}
