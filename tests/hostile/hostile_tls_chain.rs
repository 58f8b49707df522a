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
    let e = late_refusal(
        0,
        vec![rustls::DistinguishedName::from(CN_A.to_vec()); HINTS],
    )
    .await;
    let tls = refused_for_its_client_cert(&e);
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

/// A TLS 1.3 server with the PKI's valid chain padded to `extra` more copies of its
/// intermediate, asking for a client certificate naming `hints`: the handshake verifies, then
/// the server refuses the missing certificate with its first read (the late refusal).
async fn late_refusal(extra: usize, hints: Vec<rustls::DistinguishedName>) -> proxyscope::Error {
    let pki = proxyscope::testing::TestPki::new();
    let leaf = pki.localhost();
    let mut chain = leaf.presented_chain(proxyscope::testing::ChainMode::Full);
    let intermediate = chain[1].clone();
    chain.extend(std::iter::repeat_n(intermediate, extra));
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ServerConfig::builder_with_provider(provider)
        .with_protocol_versions(&[&rustls::version::TLS13])
        .unwrap()
        .with_client_cert_verifier(Arc::new(ManyHints(hints)))
        .with_single_cert(chain, leaf.key_der())
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
    client
        .get(format!("https://localhost:{}/", server.addr().port()))
        .send()
        .await
        .unwrap_err()
}

/// DER of the name `CN=a`.
const CN_A: [u8; 14] = [
    0x30, 0x0c, 0x31, 0x0a, 0x30, 0x08, 0x06, 0x03, 0x55, 0x04, 0x03, 0x0c, 0x01, 0x61,
];

/// The TLS evidence of `e`, once it is known to be the origin's late refusal of a missing
/// client certificate.
fn refused_for_its_client_cert(e: &proxyscope::Error) -> &proxyscope::error::TlsEvidence {
    assert_eq!(e.code(), "tls.client_cert_required", "{}", e.report());
    assert_eq!((e.hop(), e.phase()), (Some(Hop::Origin), Phase::Tls));
    e.evidence().tls.as_ref().expect("TLS evidence")
}

/// DER of a name with one `commonName` of `len` bytes of `x` (long-form lengths).
fn long_cn(len: usize) -> Vec<u8> {
    fn tlv(tag: u8, body: &[u8]) -> Vec<u8> {
        let mut out = vec![tag];
        match body.len() {
            n if n < 0x80 => out.push(n as u8),
            n if n < 0x100 => out.extend([0x81, n as u8]),
            n => out.extend([0x82, (n >> 8) as u8, n as u8]),
        }
        out.extend_from_slice(body);
        out
    }
    let value = tlv(0x0c, &vec![b'x'; len]);
    let oid = [0x06, 0x03, 0x55, 0x04, 0x03];
    let atv = tlv(0x30, &[&oid[..], &value].concat());
    tlv(0x30, &tlv(0x31, &atv))
}

/// Under TLS 1.3 the refusal of a client certificate arrives after the handshake, and its
/// evidence was built from the handshake's summaries, already cut to 16 certificates: a chain
/// of 30 read `chain_omitted = 0`. The handshake now keeps the count.
#[tokio::test]
async fn a_late_client_cert_refusal_counts_the_chain_it_did_not_describe() {
    let e = late_refusal(28, vec![rustls::DistinguishedName::from(CN_A.to_vec())]).await;
    let tls = refused_for_its_client_cert(&e);
    assert_eq!(tls.chain.len(), 16);
    assert_eq!(tls.chain_omitted, 30 - 16);
    let json = serde_json::to_value(e.evidence()).unwrap();
    assert_eq!(json["tls"]["chain_omitted"], 30 - 16);
}

/// A CertificateRequest naming CAs with 20,000-character names (and one that is not a name at
/// all): every name in the evidence is cut to 256 characters and marked, so three names cannot
/// put 60 KB into the error, its message and its hint.
#[tokio::test]
async fn each_acceptable_ca_name_is_cut_to_a_cap() {
    let garbage = vec![0xffu8; 20_000];
    let hints = vec![
        rustls::DistinguishedName::from(long_cn(20_000)),
        rustls::DistinguishedName::from(long_cn(300)),
        rustls::DistinguishedName::from(garbage),
    ];
    let e = late_refusal(0, hints).await;
    let tls = refused_for_its_client_cert(&e);
    let cc = tls
        .client_cert
        .as_ref()
        .expect("client certificate evidence");
    assert_eq!(cc.acceptable_cas.len(), 3);
    for name in &cc.acceptable_cas {
        assert_eq!(name.chars().count(), 257, "{} bytes", name.len());
        assert!(name.ends_with('…'));
    }
    assert!(cc.acceptable_cas[0].starts_with("CN=xxxx"));
    assert!(e.message().len() + e.hint().map_or(0, str::len) < 4096);
    assert!(e.report().len() < 8192, "{}", e.report().len());
}
