//! The harness's PKI, checked through real TLS handshakes with tokio-rustls (not proxyscope's
//! client): which chain each server presents and how rustls judges it, plus the bad files.

use std::sync::Arc;

use proxyscope::testing::{
    ChainMode, INTERCEPTION_CN, INTERMEDIATE_CN, LeafSpec, ROOT_CN, Signer, TestCert, TestOrigin,
    TestPki, Validity,
};
use rustls::CertificateError;
use rustls_pki_types::{CertificateDer, ServerName};
use tokio::net::TcpStream;
use tokio_rustls::TlsConnector;

/// Handshakes with `origin` as `host`, trusting `roots`; returns the presented chain or the
/// rustls error.
async fn handshake(
    pki: &TestPki,
    origin: &TestOrigin,
    host: &str,
    roots: &[&TestCert],
) -> Result<Vec<CertificateDer<'static>>, rustls::Error> {
    let config = Arc::new(pki.client_config(roots));
    let tcp = TcpStream::connect(origin.addr()).await.expect("connect");
    let name = ServerName::try_from(host.to_owned()).expect("server name");
    match TlsConnector::from(config).connect(name, tcp).await {
        Ok(tls) => Ok(tls
            .get_ref()
            .1
            .peer_certificates()
            .expect("peer certs")
            .to_vec()),
        Err(err) => Err(err
            .get_ref()
            .and_then(|e| e.downcast_ref::<rustls::Error>())
            .cloned()
            .unwrap_or_else(|| panic!("not a rustls error: {err:?}"))),
    }
}

fn cert_error(err: rustls::Error) -> CertificateError {
    match err {
        rustls::Error::InvalidCertificate(e) => e,
        other => panic!("expected a certificate error, got {other:?}"),
    }
}

fn subject_cn(der: &[u8]) -> String {
    let (_, cert) = x509_parser::parse_x509_certificate(der).expect("parse");
    cert.subject()
        .iter_common_name()
        .next()
        .and_then(|cn| cn.as_str().ok())
        .unwrap_or_default()
        .to_owned()
}

fn issuer_cn(der: &[u8]) -> String {
    let (_, cert) = x509_parser::parse_x509_certificate(der).expect("parse");
    cert.issuer()
        .iter_common_name()
        .next()
        .and_then(|cn| cn.as_str().ok())
        .unwrap_or_default()
        .to_owned()
}

#[tokio::test]
async fn full_chain_verifies_for_dns_name_and_ip() {
    let pki = TestPki::new();
    let origin = TestOrigin::https(&pki, pki.localhost(), ChainMode::Full).await;
    for host in ["localhost", "127.0.0.1"] {
        let chain = handshake(&pki, &origin, host, &[pki.root()])
            .await
            .unwrap_or_else(|e| panic!("{host}: {e:?}"));
        assert_eq!(chain.len(), 2, "leaf + intermediate");
        assert_eq!(chain[0].as_ref(), pki.localhost().der().as_ref());
        assert_eq!(subject_cn(&chain[1]), INTERMEDIATE_CN);
        assert_eq!(issuer_cn(&chain[1]), ROOT_CN);
    }
}

#[tokio::test]
async fn chain_modes_control_what_is_presented() {
    let pki = TestPki::new();
    let with_root = TestOrigin::https(&pki, pki.localhost(), ChainMode::WithRoot).await;
    let chain = handshake(&pki, &with_root, "localhost", &[pki.root()])
        .await
        .expect("valid with root included");
    assert_eq!(chain.len(), 3);
    assert_eq!(chain[2].as_ref(), pki.root().der().as_ref());

    let leaf_only = TestOrigin::https(&pki, pki.localhost(), ChainMode::LeafOnly).await;
    let err = handshake(&pki, &leaf_only, "localhost", &[pki.root()])
        .await
        .expect_err("the intermediate is missing");
    assert_eq!(cert_error(err), CertificateError::UnknownIssuer);
    // Trusting the intermediate directly makes the bare leaf acceptable, proving it is the
    // missing intermediate and nothing else.
    handshake(&pki, &leaf_only, "localhost", &[pki.intermediate()])
        .await
        .expect("leaf verifies against its intermediate");
}

/// Whether a certificate error is the one a broken leaf should cause.
type Expectation = fn(&CertificateError) -> bool;

#[tokio::test]
async fn broken_leaves_fail_the_way_their_names_say() {
    let pki = TestPki::new();
    let names = ["localhost", "127.0.0.1"];
    let cases: Vec<(TestCert, Expectation)> = vec![
        (pki.expired(&names), |e| {
            matches!(
                e,
                CertificateError::Expired | CertificateError::ExpiredContext { .. }
            )
        }),
        (pki.not_yet_valid(&names), |e| {
            matches!(
                e,
                CertificateError::NotValidYet | CertificateError::NotValidYetContext { .. }
            )
        }),
        (pki.wrong_host(), |e| {
            matches!(
                e,
                CertificateError::NotValidForName | CertificateError::NotValidForNameContext { .. }
            )
        }),
        (pki.self_signed(&names), |e| {
            *e == CertificateError::UnknownIssuer
        }),
        (
            pki.leaf(LeafSpec::new(&names).signer(Signer::Interception)),
            |e| *e == CertificateError::UnknownIssuer,
        ),
    ];
    for (leaf, is_expected) in cases {
        let origin = TestOrigin::https(&pki, &leaf, ChainMode::Full).await;
        let err = cert_error(
            handshake(&pki, &origin, "localhost", &[pki.root()])
                .await
                .expect_err(leaf.label()),
        );
        assert!(is_expected(&err), "{}: {err:?}", leaf.label());
    }
}

#[tokio::test]
async fn root_signed_and_interception_signed_leaves_chain_to_their_own_roots() {
    let pki = TestPki::new();
    let by_root = pki.leaf(LeafSpec::new(&["localhost"]).signer(Signer::Root));
    assert!(by_root.intermediates().is_empty());
    let origin = TestOrigin::https(&pki, &by_root, ChainMode::Full).await;
    let chain = handshake(&pki, &origin, "localhost", &[pki.root()])
        .await
        .expect("root-signed");
    assert_eq!(chain.len(), 1);

    let intercepted = pki.leaf(LeafSpec::new(&["localhost"]).signer(Signer::Interception));
    let origin = TestOrigin::https(&pki, &intercepted, ChainMode::Full).await;
    let chain = handshake(&pki, &origin, "localhost", &[pki.interception_ca()])
        .await
        .expect("trusting the interception CA accepts it");
    assert_eq!(issuer_cn(&chain[0]), INTERCEPTION_CN);
}

#[tokio::test]
async fn rotated_root_has_the_same_subject_but_does_not_verify_the_old_chain() {
    let pki = TestPki::new();
    let (_, old) = x509_parser::parse_x509_certificate(pki.root().der()).expect("root");
    let (_, new) = x509_parser::parse_x509_certificate(pki.rotated_root().der()).expect("rotated");
    assert_eq!(old.subject().to_string(), new.subject().to_string());
    assert_ne!(old.public_key().raw, new.public_key().raw);
    let origin = TestOrigin::https(&pki, pki.localhost(), ChainMode::Full).await;
    let err = handshake(&pki, &origin, "localhost", &[pki.rotated_root()])
        .await
        .expect_err("signature does not match the rotated key");
    let err = cert_error(err);
    assert!(
        matches!(
            err,
            CertificateError::BadSignature | CertificateError::UnknownIssuer
        ),
        "{err:?}"
    );
}

#[test]
fn files_on_disk_match_the_certificates() {
    let pki = TestPki::new();
    for cert in [
        pki.root(),
        pki.intermediate(),
        pki.interception_ca(),
        pki.localhost(),
    ] {
        assert!(cert.pem_path().starts_with(pki.dir()));
        assert_eq!(
            std::fs::read_to_string(cert.pem_path()).expect("pem"),
            cert.pem()
        );
        let key = std::fs::read_to_string(cert.key_path()).expect("key");
        assert!(
            key.starts_with("-----BEGIN PRIVATE KEY-----"),
            "{}",
            cert.label()
        );
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(cert.key_path())
                .expect("meta")
                .permissions()
                .mode();
            assert_eq!(mode & 0o077, 0, "key files are private");
        }
    }
    assert_eq!(pki.root_pem_path(), pki.root().pem_path());
    assert_eq!(pki.intermediate_pem_path(), pki.intermediate().pem_path());
    assert_eq!(pki.interception_ca_path(), pki.interception_ca().pem_path());
    // The chain file of the leaf is leaf + intermediate, as a server's fullchain.pem.
    let chain = std::fs::read_to_string(pki.localhost().chain_pem_path()).expect("chain");
    assert_eq!(
        chain,
        format!("{}{}", pki.localhost().pem(), pki.intermediate().pem())
    );
    let bundle = std::fs::read_to_string(pki.bundle_path()).expect("bundle");
    assert_eq!(
        bundle,
        format!("{}{}", pki.root().pem(), pki.intermediate().pem())
    );
    let custom = pki.bundle(&[pki.interception_ca(), pki.root()]);
    assert_eq!(
        std::fs::read_to_string(custom).expect("custom bundle"),
        format!("{}{}", pki.interception_ca().pem(), pki.root().pem())
    );
}

#[test]
fn bad_files_are_bad_in_the_documented_way() {
    let pki = TestPki::new();
    assert_eq!(std::fs::read(pki.empty_file()).expect("empty").len(), 0);
    let garbage = std::fs::read(pki.garbage_file()).expect("garbage");
    assert!(!garbage.is_empty());
    assert!(!String::from_utf8_lossy(&garbage).contains("BEGIN CERTIFICATE"));
    let der = std::fs::read(pki.der_in_pem_file()).expect("der");
    assert_eq!(der, pki.root().der().as_ref(), "raw DER under a .pem name");
    assert_eq!(
        pki.der_in_pem_file().extension().and_then(|e| e.to_str()),
        Some("pem")
    );
    let leaf_pem = std::fs::read_to_string(pki.leaf_as_ca_file()).expect("leaf");
    let (_, pem) = x509_parser::pem::parse_x509_pem(leaf_pem.as_bytes()).expect("pem");
    let cert = pem.parse_x509().expect("x509");
    assert!(!cert.is_ca(), "a leaf where a CA is expected");
}

#[test]
fn validity_windows_are_relative_to_now() {
    let pki = TestPki::new();
    let now = x509_parser::time::ASN1Time::now();
    let check = |cert: &TestCert, before_now: bool, after_now: bool| {
        let (_, x) = x509_parser::parse_x509_certificate(cert.der()).expect("parse");
        assert_eq!(
            x.validity().not_before < now,
            before_now,
            "{} not_before",
            cert.label()
        );
        assert_eq!(
            x.validity().not_after > now,
            after_now,
            "{} not_after",
            cert.label()
        );
    };
    check(&pki.leaf(LeafSpec::new(&["a.test"])), true, true);
    check(
        &pki.leaf(LeafSpec::new(&["a.test"]).validity(Validity::Expired)),
        true,
        false,
    );
    let soon = pki.expiring_in(&["a.test"], std::time::Duration::from_secs(3 * 24 * 3600));
    check(&soon, true, true);
    let (_, x) = x509_parser::parse_x509_certificate(soon.der()).expect("parse");
    let left = x.validity().time_to_expiration().expect("still valid");
    assert!(
        left.whole_days() <= 3 && left.whole_hours() >= 71,
        "{left:?}"
    );
    check(
        &pki.leaf(LeafSpec::new(&["a.test"]).validity(Validity::NotYetValid)),
        false,
        true,
    );
}

#[test]
fn invalid_names_are_errors_not_panics() {
    let pki = TestPki::new();
    assert!(pki.try_leaf(LeafSpec::new(&["bücher.example"])).is_err());
}

#[test]
fn debug_never_shows_private_keys() {
    let pki = TestPki::new();
    let shown = format!("{:?} {:?}", pki, pki.localhost());
    assert!(!shown.contains("PRIVATE KEY"), "{shown}");
    assert!(shown.contains("pem_path"), "{shown}");
}

#[test]
fn the_directory_is_removed_with_the_pki() {
    let pki = TestPki::new();
    let dir = pki.dir().to_owned();
    let leaf = pki.leaf_for(&["x.test"]);
    assert!(leaf.pem_path().exists());
    drop(pki);
    assert!(!dir.exists(), "{} left behind", dir.display());
    // A TestCert outlives its files but keeps its PEM/DER in memory.
    assert!(leaf.pem().starts_with("-----BEGIN CERTIFICATE-----"));
}
