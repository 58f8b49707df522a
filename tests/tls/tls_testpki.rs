//! The diagnoses again, with the harness's `TestPki` certificates (the shapes the client and
//! probe tests use): missing intermediate, private CA, interception, rotated CA, validity, name,
//! self-signed, and the PKI's bad CA files.

use crate::support::*;
use proxyscope::testing::{ChainMode, LeafSpec, Signer, TestPki};
use proxyscope::tls::{CaBundle, CaFileProblem, Diagnosis, HopTls, KnownCa, TlsSettings};
use proxyscope::{Hop, Phase};

fn settings() -> TlsSettings {
    TlsSettings::origin()
        .with_key_prefix("providers.translate")
        .with_system_roots(Vec::new())
}

fn trusting_root(pki: &TestPki) -> TlsSettings {
    settings().with_ca_file(CaBundle::load(pki.root_pem_path()).unwrap())
}

#[tokio::test]
async fn testpki_missing_intermediate() {
    let pki = TestPki::new();
    let leaf = pki.leaf_for(&["origin.test"]);
    let server = serve_config(pki.server_config(&leaf, ChainMode::LeafOnly)).await;
    let addr = server.addr();
    let tls = HopTls::new(trusting_root(&pki)).unwrap();
    let err = handshake(&tls, "origin.test", addr).await.unwrap_err();
    assert_eq!(err.code(), "tls.unknown_issuer");
    assert_eq!(tls_ev(&err).diagnosis, Diagnosis::MissingIntermediate);
    // The full chain verifies with the same settings.
    let server = serve_config(pki.server_config(&leaf, ChainMode::Full)).await;
    let addr = server.addr();
    handshake(&tls, "origin.test", addr).await.unwrap();
}

#[tokio::test]
async fn testpki_private_ca_configured_for_another_provider() {
    let pki = TestPki::new();
    let leaf = pki.leaf_for(&["origin.test"]);
    let server = serve_config(pki.server_config(&leaf, ChainMode::Full)).await;
    let addr = server.addr();
    let known = KnownCa::new(
        "providers.apertium.ca_file",
        CaBundle::load(pki.bundle_path()).unwrap(),
    );
    let tls = HopTls::new(settings().with_known_ca(known)).unwrap();
    let err = handshake(&tls, "origin.test", addr).await.unwrap_err();
    assert_eq!(err.code(), "tls.unknown_issuer");
    assert_eq!(err.hop(), Some(Hop::Origin));
    let ev = tls_ev(&err);
    assert_eq!(ev.diagnosis, Diagnosis::UntrustedPrivateCa);
    let fix = ev.fix.as_ref().unwrap();
    assert_eq!(fix.key, "providers.translate.ca_file");
    assert_eq!(fix.file.as_deref(), pki.bundle_path().to_str());
    assert!(err.hint().unwrap().contains("providers.translate.ca_file"));
}

#[tokio::test]
async fn testpki_interception_ca_sent_with_the_leaf() {
    let pki = TestPki::new();
    let leaf = pki.leaf(LeafSpec::new(&["translate.yandex.net"]).signer(Signer::Interception));
    let server = serve_config(pki.server_config(&leaf, ChainMode::WithRoot)).await;
    let addr = server.addr();
    let tls = HopTls::new(trusting_root(&pki)).unwrap();
    let err = handshake(&tls, "translate.yandex.net", addr)
        .await
        .unwrap_err();
    assert_eq!(err.code(), "tls.unknown_issuer");
    let ev = tls_ev(&err);
    assert_eq!(ev.diagnosis, Diagnosis::Interception);
    let issuer = ev.untrusted_issuer.as_deref().unwrap();
    assert!(
        issuer.contains(proxyscope::testing::INTERCEPTION_ORG),
        "{issuer}"
    );
}

#[tokio::test]
async fn testpki_interception_ca_in_the_system_store() {
    // A corporate CA installed in the OS store, while the hop uses webpki: the hint says to
    // switch roots for this provider.
    let pki = TestPki::new();
    let leaf = pki.leaf(LeafSpec::new(&["translate.yandex.net"]).signer(Signer::Interception));
    let server = serve_config(pki.server_config(&leaf, ChainMode::Full)).await;
    let addr = server.addr();
    let tls = HopTls::new(settings().with_system_roots(vec![pki.interception_ca().der().clone()]))
        .unwrap();
    let err = handshake(&tls, "translate.yandex.net", addr)
        .await
        .unwrap_err();
    let ev = tls_ev(&err);
    assert_eq!(ev.diagnosis, Diagnosis::Interception);
    let fix = ev.fix.as_ref().unwrap();
    assert_eq!(fix.key, "providers.translate.roots");
    assert_eq!(fix.value.as_deref(), Some("system"));
    assert!(err.hint().unwrap().contains("providers.translate.roots"));
}

#[tokio::test]
async fn testpki_rotated_root() {
    let pki = TestPki::new();
    let leaf = pki.leaf_for(&["origin.test"]);
    let server = serve_config(pki.server_config(&leaf, ChainMode::Full)).await;
    let addr = server.addr();
    let stale = pki.bundle(&[pki.rotated_root()]);
    let tls = HopTls::new(
        settings()
            .with_ca_file(CaBundle::load(&stale).unwrap())
            .with_known_ca(KnownCa::new(
                "SSL_CERT_FILE",
                CaBundle::load(pki.root_pem_path()).unwrap(),
            )),
    )
    .unwrap();
    let err = handshake(&tls, "origin.test", addr).await.unwrap_err();
    assert_eq!(err.code(), "tls.unknown_issuer");
    let ev = tls_ev(&err);
    assert_eq!(ev.diagnosis, Diagnosis::RotatedCa);
    assert_eq!(ev.stale_ca_file.as_deref(), stale.to_str());
    let fix = ev.fix.as_ref().unwrap();
    assert_eq!(fix.found_in, "SSL_CERT_FILE");
    assert_eq!(fix.file.as_deref(), pki.root_pem_path().to_str());
}

#[tokio::test]
async fn testpki_validity_windows() {
    let pki = TestPki::new();
    let tls = HopTls::new(trusting_root(&pki)).unwrap();

    let expired = pki.expired(&["origin.test"]);
    let server = serve_config(pki.server_config(&expired, ChainMode::Full)).await;
    let addr = server.addr();
    let err = handshake(&tls, "origin.test", addr).await.unwrap_err();
    assert_eq!(err.code(), "tls.expired");
    assert_eq!(err.phase(), Phase::Tls);
    let v = tls_ev(&err).validity.clone().unwrap();
    assert_eq!(v.index, 0);
    assert!(v.seconds >= 86_000 && !v.clock_hint, "{v:?}");

    let future = pki.not_yet_valid(&["origin.test"]);
    let server = serve_config(pki.server_config(&future, ChainMode::Full)).await;
    let addr = server.addr();
    let err = handshake(&tls, "origin.test", addr).await.unwrap_err();
    assert_eq!(err.code(), "tls.not_yet_valid");
    let v = tls_ev(&err).validity.clone().unwrap();
    assert_eq!(v.index, 0);
    assert!(v.seconds > 29 * 86_400 && !v.clock_hint, "{v:?}");
}

#[tokio::test]
async fn testpki_wrong_host_and_self_signed() {
    let pki = TestPki::new();
    let tls = HopTls::new(trusting_root(&pki)).unwrap();
    let wrong = pki.wrong_host();
    let server = serve_config(pki.server_config(&wrong, ChainMode::Full)).await;
    let addr = server.addr();
    let err = handshake(&tls, "localhost", addr).await.unwrap_err();
    assert_eq!(err.code(), "tls.hostname_mismatch");
    assert_eq!(tls_ev(&err).diagnosis, Diagnosis::HostnameMismatch);

    let own = pki.self_signed(&["localhost"]);
    let server = serve_config(pki.server_config(&own, ChainMode::Full)).await;
    let addr = server.addr();
    let err = handshake(&tls, "localhost", addr).await.unwrap_err();
    assert_eq!(err.code(), "tls.unknown_issuer");
    assert_eq!(tls_ev(&err).diagnosis, Diagnosis::SelfSigned);

    let ok = pki.localhost();
    let server = serve_config(pki.server_config(ok, ChainMode::Full)).await;
    let addr = server.addr();
    let (_, info) = handshake(&tls, "localhost", addr).await.unwrap();
    assert_eq!(info.chain.len(), 2);
}

#[test]
fn testpki_bad_ca_files() {
    let pki = TestPki::new();
    for (path, problem) in [
        (pki.empty_file(), CaFileProblem::Empty),
        (pki.garbage_file(), CaFileProblem::Garbage),
        (pki.der_in_pem_file(), CaFileProblem::Der),
        (pki.truncated_file(), CaFileProblem::Truncated),
    ] {
        let err = CaBundle::load(path).unwrap_err();
        assert_eq!(err.code(), "config.ca_file");
        assert_eq!(err.evidence().file.as_deref(), path.to_str());
        assert_eq!(
            err.evidence().ca_file_problem,
            Some(problem),
            "{}",
            path.display()
        );
    }
    // A leaf where a CA is expected loads (lint reports it) and says it is not a CA.
    let b = CaBundle::load(pki.leaf_as_ca_file()).unwrap();
    assert!(!b.summaries()[0].is_ca);
    let b = CaBundle::load(pki.bundle_path()).unwrap();
    assert_eq!(b.certs().len(), 2);
    assert!(b.summaries().iter().all(|s| s.is_ca));
}

/// A truncated CA file fails the client at build time as truncated, blamed on the local
/// configuration, and the lint names it so, without the parser's words.
#[test]
fn testpki_truncated_ca_file_fails_at_build_and_lints_as_truncated() {
    let pki = TestPki::new();
    let e = proxyscope::Client::builder()
        .global(proxyscope::Settings::new().with_ca_file([pki.truncated_file().to_path_buf()]))
        .build()
        .unwrap_err();
    assert_eq!(e.code(), "config.ca_file");
    assert_eq!(e.blame(), proxyscope::Blame::LocalConfig);
    assert_eq!(e.evidence().ca_file_problem, Some(CaFileProblem::Truncated));
    assert!(
        e.to_string()
            .contains("is truncated: certificate 1 starts but its END line is missing"),
        "{e}"
    );

    let dir = tempfile::tempdir().unwrap();
    let cfg = dir.path().join("p.toml");
    std::fs::write(
        &cfg,
        format!("ca_file = \"{}\"\n", pki.truncated_file().display()),
    )
    .unwrap();
    let diags = proxyscope::config::ConfigDocument::from_file(&cfg)
        .unwrap()
        .lint(&proxyscope::EnvSnapshot::default());
    let d = diags
        .iter()
        .find(|d| d.code == "ca_file.truncated")
        .unwrap_or_else(|| panic!("{diags:#?}"));
    assert!(d.message.contains("is truncated"), "{}", d.message);
    assert!(
        !d.message.contains("Nom") && !d.message.contains("missing section end"),
        "{}",
        d.message
    );
    assert!(
        d.suggestion
            .as_deref()
            .is_some_and(|s| s.contains("cut short")),
        "{d:?}"
    );
}
