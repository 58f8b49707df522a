//! A TLS server presenting a chain built to be expensive to describe: a leaf with thousands of
//! subjectAltNames and dozens of extra certificates, all within rustls's 64 KiB handshake
//! message. The error's evidence describes at most 16 certificates and 64 names per
//! certificate, and counts the rest, so a peer cannot make every error, JSON document and probe
//! page carry thousands of entries. Likewise a request for a client certificate naming
//! thousands of acceptable CAs: 32 are listed.

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

/// A server verifier that asks for a client certificate naming thousands of acceptable CAs
/// (each `CN=a`) and accepts nothing in particular: the client has none to give.
#[derive(Debug)]
struct ManyHints(Vec<rustls::DistinguishedName>);

impl rustls::server::danger::ClientCertVerifier for ManyHints {
    fn root_hint_subjects(&self) -> &[rustls::DistinguishedName] {
        &self.0
    }
    fn verify_client_cert(
        &self,
        _: &CertificateDer<'_>,
        _: &[CertificateDer<'_>],
        _: rustls::pki_types::UnixTime,
    ) -> Result<rustls::server::danger::ClientCertVerified, rustls::Error> {
        Ok(rustls::server::danger::ClientCertVerified::assertion())
    }
    fn verify_tls12_signature(
        &self,
        _: &[u8],
        _: &CertificateDer<'_>,
        _: &rustls::DigitallySignedStruct,
    ) -> Result<rustls::client::danger::HandshakeSignatureValid, rustls::Error> {
        Ok(rustls::client::danger::HandshakeSignatureValid::assertion())
    }
    fn verify_tls13_signature(
        &self,
        _: &[u8],
        _: &CertificateDer<'_>,
        _: &rustls::DigitallySignedStruct,
    ) -> Result<rustls::client::danger::HandshakeSignatureValid, rustls::Error> {
        Ok(rustls::client::danger::HandshakeSignatureValid::assertion())
    }
    fn supported_verify_schemes(&self) -> Vec<rustls::SignatureScheme> {
        rustls::crypto::ring::default_provider()
            .signature_verification_algorithms
            .supported_schemes()
    }
}

#[tokio::test]
async fn a_certificate_request_naming_thousands_of_cas_is_listed_within_a_cap() {
    const HINTS: usize = 3_000;
    let pki = proxyscope::testing::TestPki::new();
    let leaf = pki.localhost();
    // DER of the name `CN=a`.
    let cn_a = vec![
        0x30, 0x0c, 0x31, 0x0a, 0x30, 0x08, 0x06, 0x03, 0x55, 0x04, 0x03, 0x0c, 0x01, 0x61,
    ];
    let hints = vec![rustls::DistinguishedName::from(cn_a); HINTS];
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_client_cert_verifier(Arc::new(ManyHints(hints)))
        .with_single_cert(
            leaf.presented_chain(proxyscope::testing::ChainMode::Full),
            leaf.key_der(),
        )
        .unwrap();
    let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(config));
    let server = RawServer::start(move |s| {
        let acceptor = acceptor.clone();
        async move {
            if let Ok(mut tls) = acceptor.accept(s).await {
                let _ = tokio::io::AsyncReadExt::read(&mut tls, &mut [0u8; 64]).await;
            }
        }
    })
    .await;
    let client = Client::builder()
        .global(proxyscope::Settings::new().with_ca_file([pki.root_pem_path()]))
        .env(EnvSnapshot::from_pairs(Vec::<(String, String)>::new()))
        .build()
        .unwrap();
    let e = client
        .get(format!("https://localhost:{}/", server.addr().port()))
        .send()
        .await
        .unwrap_err();
    assert_eq!(e.code(), "tls.client_cert_required", "{}", e.report());
    assert_eq!((e.hop(), e.phase()), (Some(Hop::Origin), Phase::Tls));
    let tls = e.evidence().tls.as_ref().expect("TLS evidence");
    let cc = tls
        .client_cert
        .as_ref()
        .expect("client certificate evidence");
    assert_eq!(
        cc.acceptable_cas.len(),
        32,
        "{} CAs listed",
        cc.acceptable_cas.len()
    );
    assert_eq!(cc.acceptable_cas_omitted, HINTS - 32);
    assert!(e.message().len() + e.hint().map_or(0, str::len) < 4096);
}
