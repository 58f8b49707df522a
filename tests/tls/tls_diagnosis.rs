//! One test per TLS diagnosis (issue 6): a real handshake on loopback against rcgen
//! certificates, asserting the code, hop, phase, diagnosis field, and that the hint / fix names the
//! right key and file.

use std::time::{Duration, SystemTime};

use crate::support::*;
use proxyscope::testing::{ChainMode, LeafSpec, TestPki, Validity};

const DAY: Duration = Duration::from_secs(86_400);

fn now() -> SystemTime {
    SystemTime::now()
}
use proxyscope::tls::{
    CaBundle, Diagnosis, HopTls, KnownCa, TlsSettings, diagnose_against_direct, env_ca_files,
};
use proxyscope::{EnvSnapshot, Hop, Phase, Roots};

/// Origin settings for provider `yandex`, with an empty system store so cross-reference is
/// deterministic on any machine.
fn yandex() -> TlsSettings {
    TlsSettings::origin()
        .with_key_prefix("providers.yandex")
        .with_system_roots(Vec::new())
}

fn bundle(path: &std::path::Path) -> CaBundle {
    CaBundle::load(path).unwrap()
}

#[tokio::test]
async fn self_signed_server_certificate() {
    let pki = TestPki::new();
    let leaf = pki.self_signed(&["origin.test"]);
    let server = serve(&pki, &leaf, ChainMode::LeafOnly).await;
    let addr = server.addr();
    let tls = HopTls::new(yandex()).unwrap();
    let err = handshake(&tls, "origin.test", addr).await.unwrap_err();
    assert_eq!(err.code(), "tls.unknown_issuer");
    assert_eq!(err.hop(), Some(Hop::Origin));
    assert_eq!(err.phase(), Phase::Tls);
    let ev = tls_ev(&err);
    assert_eq!(ev.diagnosis, Diagnosis::SelfSigned);
    assert_eq!(ev.chain.len(), 1);
    assert!(ev.chain[0].self_issued);
    assert_eq!(ev.sni, "origin.test");
    assert!(ev.fix.is_none());
    assert!(ev.also_name_mismatch.is_none());
    assert!(err.hint().unwrap().contains("providers.yandex.ca_file"));
}

#[tokio::test]
async fn missing_intermediate() {
    let pki = TestPki::new();
    let root = pki.make_root("Missing Root");
    let inter = pki.make_intermediate(&root, "Missing Intermediate CA", Validity::Current);
    let leaf = pki.leaf(LeafSpec::new(&["origin.test"]).issued_by(&inter));
    let root_file = root.cert().pem_path().to_path_buf();
    // The server forgets to send its intermediate.
    let server = serve(&pki, &leaf, ChainMode::LeafOnly).await;
    let addr = server.addr();
    let tls = HopTls::new(yandex().with_ca_file(bundle(&root_file))).unwrap();
    let err = handshake(&tls, "origin.test", addr).await.unwrap_err();
    assert_eq!(err.code(), "tls.unknown_issuer");
    assert_eq!(err.hop(), Some(Hop::Origin));
    let ev = tls_ev(&err);
    assert_eq!(ev.diagnosis, Diagnosis::MissingIntermediate);
    assert!(
        ev.untrusted_issuer
            .as_deref()
            .unwrap()
            .contains("Missing Intermediate CA")
    );
    assert!(ev.fix.is_none());
    // The trust store evidence lists the CA file with its anchor count.
    let src = ev
        .trust_store
        .sources
        .iter()
        .find(|s| s.path.is_some())
        .unwrap();
    assert_eq!(src.path.as_deref(), Some(root_file.to_str().unwrap()));
    assert_eq!(src.anchors, 1);
    let hint = err.hint().unwrap();
    assert!(hint.contains("Missing Intermediate CA"));
    assert!(hint.contains("providers.yandex.ca_file"));
}

#[tokio::test]
async fn untrusted_private_ca_found_in_another_providers_ca_file() {
    let pki = TestPki::new();
    let root = pki.make_root("Private Root");
    let inter = pki.make_intermediate(&root, "Private Issuing CA", Validity::Current);
    let leaf = pki.leaf(LeafSpec::new(&["origin.test"]).issued_by(&inter));
    let root_file = root.cert().pem_path().to_path_buf();
    let server = serve(&pki, &leaf, ChainMode::Full).await;
    let addr = server.addr();
    let tls = HopTls::new(yandex().with_known_ca(KnownCa::new(
        "providers.apertium.ca_file",
        bundle(&root_file),
    )))
    .unwrap();
    let err = handshake(&tls, "origin.test", addr).await.unwrap_err();
    assert_eq!(err.code(), "tls.unknown_issuer");
    let ev = tls_ev(&err);
    assert_eq!(ev.diagnosis, Diagnosis::UntrustedPrivateCa);
    assert_eq!(ev.chain.len(), 2);
    let fix = ev.fix.as_ref().unwrap();
    assert_eq!(fix.key, "providers.yandex.ca_file");
    assert_eq!(fix.file.as_deref(), Some(root_file.to_str().unwrap()));
    assert_eq!(fix.found_in, "providers.apertium.ca_file");
    let hint = err.hint().unwrap();
    assert!(hint.contains("providers.yandex.ca_file"));
    assert!(hint.contains(root_file.to_str().unwrap()));
}

/// The 2015 failure: the CA was configured, but under the key for the other hop (or a key that
/// nothing reads). Cross-reference names the key that would work.
#[tokio::test]
async fn cross_reference_names_the_key_for_misplaced_and_proxy_ca_files() {
    let pki = TestPki::new();
    let root = pki.make_root("Misplaced Root");
    let leaf = pki.leaf(LeafSpec::new(&["origin.test"]).issued_by(&root));
    let root_file = root.cert().pem_path().to_path_buf();
    let server = serve(&pki, &leaf, ChainMode::LeafOnly).await;
    let addr = server.addr();
    for found_in in ["providers.yandex.proxy_ca_file", "providers.yandex.cacert"] {
        let tls = HopTls::new(yandex().with_known_ca(KnownCa::new(found_in, bundle(&root_file))))
            .unwrap();
        let err = handshake(&tls, "origin.test", addr).await.unwrap_err();
        assert_eq!(err.code(), "tls.unknown_issuer");
        let ev = tls_ev(&err);
        // A leaf-only chain whose issuer turns up in a CA file: a private CA, not a missing
        // intermediate.
        assert_eq!(ev.diagnosis, Diagnosis::UntrustedPrivateCa, "{found_in}");
        let fix = ev.fix.as_ref().unwrap();
        assert_eq!(fix.key, "providers.yandex.ca_file");
        assert_eq!(fix.file.as_deref(), Some(root_file.to_str().unwrap()));
        assert_eq!(fix.found_in, found_in);
        assert!(err.hint().unwrap().contains(found_in));
    }
}

#[tokio::test]
async fn cross_reference_finds_the_issuer_in_env_ca_files() {
    let pki = TestPki::new();
    let root = pki.make_root("Env Root");
    let leaf = pki.leaf(LeafSpec::new(&["origin.test"]).issued_by(&root));
    let root_file = root.cert().pem_path().to_path_buf();
    let other = pki.make_root("Other").cert().pem_path().to_path_buf();
    let server = serve(&pki, &leaf, ChainMode::LeafOnly).await;
    let addr = server.addr();
    for var in [
        "SSL_CERT_FILE",
        "NODE_EXTRA_CA_CERTS",
        "REQUESTS_CA_BUNDLE",
        "CURL_CA_BUNDLE",
    ] {
        let env = EnvSnapshot::from_pairs([
            (var, root_file.to_str().unwrap()),
            // Another variable pointing at an unrelated CA must not be named.
            (
                if var == "SSL_CERT_FILE" {
                    "CURL_CA_BUNDLE"
                } else {
                    "SSL_CERT_FILE"
                },
                other.to_str().unwrap(),
            ),
        ]);
        let known: Vec<KnownCa> = env_ca_files(&env).into_iter().map(Result::unwrap).collect();
        assert_eq!(known.len(), 2);
        let tls = HopTls::new(yandex().with_known_cas(known)).unwrap();
        let err = handshake(&tls, "origin.test", addr).await.unwrap_err();
        let fix = tls_ev(&err).fix.clone().unwrap();
        assert_eq!(fix.found_in, var);
        assert_eq!(fix.key, "providers.yandex.ca_file");
        assert_eq!(fix.file.as_deref(), Some(root_file.to_str().unwrap()));
        assert!(err.hint().unwrap().contains(var));
    }
}

#[tokio::test]
async fn cross_reference_suggests_system_roots_when_the_issuer_is_only_there() {
    let pki = TestPki::new();
    let root = pki.make_root("OS-Installed Root");
    let inter = pki.make_intermediate(&root, "OS-Installed Issuing CA", Validity::Current);
    let leaf = pki.leaf(LeafSpec::new(&["origin.test"]).issued_by(&inter));
    let server = serve(&pki, &leaf, ChainMode::Full).await;
    let addr = server.addr();
    let tls = HopTls::new(yandex().with_system_roots(vec![root.cert().der().clone()])).unwrap();
    let err = handshake(&tls, "origin.test", addr).await.unwrap_err();
    assert_eq!(err.code(), "tls.unknown_issuer");
    let ev = tls_ev(&err);
    let fix = ev.fix.as_ref().unwrap();
    assert_eq!(fix.key, "providers.yandex.roots");
    assert_eq!(fix.value.as_deref(), Some("system"));
    assert_eq!(fix.file, None);
    assert!(
        err.hint()
            .unwrap()
            .contains("providers.yandex.roots = \"system\"")
    );
    // And with roots = system the same chain verifies.
    let tls = HopTls::new(
        yandex()
            .with_roots(Roots::System)
            .with_system_roots(vec![root.cert().der().clone()]),
    )
    .unwrap();
    handshake(&tls, "origin.test", addr).await.unwrap();
}

#[tokio::test]
async fn interception_of_a_public_host_by_a_private_ca() {
    let pki = TestPki::new();
    let inspection = pki.make_root("Corp SSL Inspection CA");
    let leaf = pki.leaf(LeafSpec::new(&["translate.yandex.net"]).issued_by(&inspection));
    // Like the appliances in the corpus, the box sends its own root as certificate 1.
    let server = serve(&pki, &leaf, ChainMode::WithRoot).await;
    let addr = server.addr();
    let tls = HopTls::new(yandex()).unwrap();
    let err = handshake(&tls, "translate.yandex.net", addr)
        .await
        .unwrap_err();
    assert_eq!(err.code(), "tls.unknown_issuer");
    assert_eq!(err.hop(), Some(Hop::Origin));
    let ev = tls_ev(&err);
    assert_eq!(ev.diagnosis, Diagnosis::Interception);
    assert!(
        ev.untrusted_issuer
            .as_deref()
            .unwrap()
            .contains("Corp SSL Inspection CA")
    );
    let hint = err.hint().unwrap();
    assert!(hint.contains("providers.yandex.ca_file"));
    assert!(hint.contains("Corp SSL Inspection CA"));
}

#[tokio::test]
async fn interception_when_the_proxied_chain_differs_from_the_direct_one() {
    let pki = TestPki::new();
    let real = pki.make_root("Real Root");
    let real_leaf = pki.leaf(LeafSpec::new(&["origin.test"]).issued_by(&real));
    let real_file = real.cert().pem_path().to_path_buf();
    let direct_addr_server = serve(&pki, &real_leaf, ChainMode::LeafOnly).await;
    let direct_addr = direct_addr_server.addr();
    let mitm = pki.make_root("mitmproxy");
    let fake_leaf = pki.leaf(LeafSpec::new(&["origin.test"]).issued_by(&mitm));
    let proxied_addr_server = serve(&pki, &fake_leaf, ChainMode::WithRoot).await;
    let proxied_addr = proxied_addr_server.addr();

    let tls = HopTls::new(yandex().with_ca_file(bundle(&real_file))).unwrap();
    let (_, direct) = handshake(&tls, "origin.test", direct_addr).await.unwrap();
    let err = handshake(&tls, "origin.test", proxied_addr)
        .await
        .unwrap_err();
    // A .test host: on its own this is a CA file that holds another CA than the chain's ...
    assert_eq!(tls_ev(&err).diagnosis, Diagnosis::WrongCaFile);
    // ... but compared with the direct path, it is interception.
    let err = diagnose_against_direct(err, &direct.chain);
    assert_eq!(err.code(), "tls.unknown_issuer");
    let ev = tls_ev(&err);
    assert_eq!(ev.diagnosis, Diagnosis::Interception);
    assert!(
        ev.untrusted_issuer
            .as_deref()
            .unwrap()
            .contains("mitmproxy")
    );
    assert!(err.hint().unwrap().contains("mitmproxy"));
    // The same chain on both paths is left alone.
    let err = handshake(&tls, "origin.test", proxied_addr)
        .await
        .unwrap_err();
    let fake_chain = tls_ev(&err).chain.clone();
    let err = diagnose_against_direct(err, &fake_chain);
    assert_eq!(tls_ev(&err).diagnosis, Diagnosis::WrongCaFile);
}

#[tokio::test]
async fn rotated_ca_same_name_different_key() {
    let pki = TestPki::new();
    let old = pki.make_root("Internal Root");
    let new = pki.make_root("Internal Root");
    let leaf = pki.leaf(LeafSpec::new(&["origin.test"]).issued_by(&new));
    let old_file = old.cert().pem_path().to_path_buf();
    let new_file = new.cert().pem_path().to_path_buf();
    let server = serve(&pki, &leaf, ChainMode::LeafOnly).await;
    let addr = server.addr();
    let tls = HopTls::new(
        yandex()
            .with_ca_file(bundle(&old_file))
            .with_known_ca(KnownCa::new(
                "providers.apertium.ca_file",
                bundle(&new_file),
            )),
    )
    .unwrap();
    let err = handshake(&tls, "origin.test", addr).await.unwrap_err();
    assert_eq!(err.code(), "tls.unknown_issuer");
    let ev = tls_ev(&err);
    assert_eq!(ev.diagnosis, Diagnosis::RotatedCa);
    assert_eq!(
        ev.stale_ca_file.as_deref(),
        Some(old_file.to_str().unwrap())
    );
    let fix = ev.fix.as_ref().unwrap();
    assert_eq!(fix.key, "providers.yandex.ca_file");
    assert_eq!(fix.file.as_deref(), Some(new_file.to_str().unwrap()));
    let hint = err.hint().unwrap();
    assert!(hint.contains(old_file.to_str().unwrap()));
    assert!(hint.contains(new_file.to_str().unwrap()));
}

#[tokio::test]
async fn expired_leaf_says_which_certificate_and_by_how_much() {
    let pki = TestPki::new();
    let root = pki.make_root("Expiry Root");
    let leaf = pki.leaf(LeafSpec::new(&["origin.test"]).issued_by(&root).validity(
        Validity::Window {
            not_before: now() - 400 * DAY,
            not_after: now() - 10 * DAY,
        },
    ));
    let root_file = root.cert().pem_path().to_path_buf();
    let server = serve(&pki, &leaf, ChainMode::LeafOnly).await;
    let addr = server.addr();
    let tls = HopTls::new(yandex().with_ca_file(bundle(&root_file))).unwrap();
    let err = handshake(&tls, "origin.test", addr).await.unwrap_err();
    assert_eq!(err.code(), "tls.expired");
    assert_eq!(err.hop(), Some(Hop::Origin));
    assert_eq!(err.phase(), Phase::Tls);
    let ev = tls_ev(&err);
    assert_eq!(ev.diagnosis, Diagnosis::Expired);
    let v = ev.validity.as_ref().unwrap();
    assert_eq!(v.index, 0);
    assert!(
        (10 * 86_400..10 * 86_400 + 120).contains(&v.seconds),
        "{}",
        v.seconds
    );
    assert!(!v.clock_hint);
    assert!(ev.chain[0].days_left < -9);
    assert!(ev.verified_at.is_some());
}

#[tokio::test]
async fn expired_intermediate_is_named_not_the_leaf() {
    let pki = TestPki::new();
    let root = pki.make_root("Expiry Root 2");
    let inter = pki.make_intermediate(
        &root,
        "Old Intermediate",
        Validity::Window {
            not_before: now() - 900 * DAY,
            not_after: now() - 30 * DAY,
        },
    );
    let leaf = pki.leaf(LeafSpec::new(&["origin.test"]).issued_by(&inter));
    let root_file = root.cert().pem_path().to_path_buf();
    let server = serve(&pki, &leaf, ChainMode::Full).await;
    let addr = server.addr();
    let tls = HopTls::new(yandex().with_ca_file(bundle(&root_file))).unwrap();
    let err = handshake(&tls, "origin.test", addr).await.unwrap_err();
    assert_eq!(err.code(), "tls.expired");
    let v = tls_ev(&err).validity.clone().unwrap();
    assert_eq!(v.index, 1);
    assert!(v.subject.contains("Old Intermediate"));
    assert!(v.seconds >= 30 * 86_400);
}

#[tokio::test]
async fn not_yet_valid_by_less_than_a_day_suggests_the_clock() {
    let pki = TestPki::new();
    let root = pki.make_root("Clock Root");
    let leaf = pki.leaf(LeafSpec::new(&["origin.test"]).issued_by(&root).validity(
        Validity::Window {
            not_before: now() + Duration::from_secs(3600),
            not_after: now() + 90 * DAY,
        },
    ));
    let root_file = root.cert().pem_path().to_path_buf();
    let server = serve(&pki, &leaf, ChainMode::LeafOnly).await;
    let addr = server.addr();
    let tls = HopTls::new(yandex().with_ca_file(bundle(&root_file))).unwrap();
    let err = handshake(&tls, "origin.test", addr).await.unwrap_err();
    assert_eq!(err.code(), "tls.not_yet_valid");
    assert_eq!(err.hop(), Some(Hop::Origin));
    let ev = tls_ev(&err);
    assert_eq!(ev.diagnosis, Diagnosis::NotYetValid);
    let v = ev.validity.as_ref().unwrap();
    assert_eq!(v.index, 0);
    assert!((3500..=3600).contains(&v.seconds), "{}", v.seconds);
    assert!(v.clock_hint);
    assert!(err.hint().unwrap().contains("clock"));
}

#[tokio::test]
async fn hostname_mismatch() {
    let pki = TestPki::new();
    let root = pki.make_root("Name Root");
    let leaf = pki.leaf(LeafSpec::new(&["other.test", "www.other.test"]).issued_by(&root));
    let root_file = root.cert().pem_path().to_path_buf();
    let server = serve(&pki, &leaf, ChainMode::LeafOnly).await;
    let addr = server.addr();
    let tls = HopTls::new(yandex().with_ca_file(bundle(&root_file))).unwrap();
    let err = handshake(&tls, "origin.test", addr).await.unwrap_err();
    assert_eq!(err.code(), "tls.hostname_mismatch");
    assert_eq!(err.hop(), Some(Hop::Origin));
    let ev = tls_ev(&err);
    assert_eq!(ev.diagnosis, Diagnosis::HostnameMismatch);
    assert_eq!(ev.chain[0].sans, ["other.test", "www.other.test"]);
    assert!(err.hint().unwrap().contains("other.test"));
}

#[tokio::test]
async fn name_mismatch_is_reported_even_when_the_chain_also_fails() {
    let pki = TestPki::new();
    let leaf = pki.self_signed(&["wrong.test"]);
    let server = serve(&pki, &leaf, ChainMode::LeafOnly).await;
    let addr = server.addr();
    let tls = HopTls::new(yandex()).unwrap();
    let err = handshake(&tls, "origin.test", addr).await.unwrap_err();
    // rustls says only UnknownIssuer ...
    assert_eq!(err.code(), "tls.unknown_issuer");
    let ev = tls_ev(&err);
    assert_eq!(ev.diagnosis, Diagnosis::SelfSigned);
    // ... the evidence says the name is wrong too.
    let m = ev.also_name_mismatch.as_ref().unwrap();
    assert_eq!(m.expected, "origin.test");
    assert_eq!(m.presented, ["wrong.test"]);
    assert!(err.hint().unwrap().contains("wrong.test"));
}

#[tokio::test]
async fn plain_http_proxy_configured_as_https() {
    let server = serve_misbehaving(Misbehave::PlainHttp).await;
    let addr = server.addr();
    let tls = HopTls::new(TlsSettings::proxy().with_system_roots(Vec::new())).unwrap();
    let err = handshake(&tls, "proxy.test", addr).await.unwrap_err();
    assert_eq!(err.code(), "proxy.tls");
    assert_eq!(err.hop(), Some(Hop::Proxy));
    assert_eq!(err.phase(), Phase::Proxy);
    let ev = tls_ev(&err);
    assert_eq!(ev.hop, Hop::Proxy);
    assert_eq!(ev.diagnosis, Diagnosis::PlainHttpProxy);
    assert!(ev.chain.is_empty());
    assert!(err.hint().unwrap().contains("http://"));
}

#[tokio::test]
async fn origin_that_does_not_speak_tls() {
    let server = serve_misbehaving(Misbehave::PlainHttp).await;
    let addr = server.addr();
    let tls = HopTls::new(yandex()).unwrap();
    let err = handshake(&tls, "origin.test", addr).await.unwrap_err();
    assert_eq!(err.code(), "tls.handshake");
    assert_eq!(err.hop(), Some(Hop::Origin));
    assert_eq!(tls_ev(&err).diagnosis, Diagnosis::NotTls);
}

#[tokio::test]
async fn connection_cut_during_the_handshake() {
    let server = serve_misbehaving(Misbehave::Cut).await;
    let addr = server.addr();
    let tls = HopTls::new(yandex()).unwrap();
    let err = handshake(&tls, "origin.test", addr).await.unwrap_err();
    assert_eq!(err.code(), "tls.handshake");
    assert_eq!(err.hop(), Some(Hop::Origin));
    assert_eq!(err.phase(), Phase::Tls);
    assert_eq!(tls_ev(&err).diagnosis, Diagnosis::ConnectionCut);
    assert!(err.evidence().cause.is_some());

    let tls = HopTls::new(TlsSettings::proxy().with_system_roots(Vec::new())).unwrap();
    let err = handshake(&tls, "proxy.test", addr).await.unwrap_err();
    assert_eq!(err.code(), "proxy.tls");
    assert_eq!(err.hop(), Some(Hop::Proxy));
    assert_eq!(tls_ev(&err).diagnosis, Diagnosis::ConnectionCut);
}

#[tokio::test]
async fn stalled_handshake_times_out_per_hop() {
    let server = serve_misbehaving(Misbehave::Stall).await;
    let addr = server.addr();
    let timeout = std::time::Duration::from_millis(300);
    let tls = HopTls::new(yandex()).unwrap();
    let tcp = tokio::net::TcpStream::connect(addr).await.unwrap();
    let err = tls.connect("origin.test", tcp, timeout).await.unwrap_err();
    assert_eq!(err.code(), "tls.timeout");
    assert_eq!(err.hop(), Some(Hop::Origin));
    assert_eq!(err.phase(), Phase::Tls);
    assert_eq!(err.evidence().timeout, Some(timeout));
    assert_eq!(tls_ev(&err).diagnosis, Diagnosis::Stalled);

    let tls = HopTls::new(TlsSettings::proxy().with_system_roots(Vec::new())).unwrap();
    let tcp = tokio::net::TcpStream::connect(addr).await.unwrap();
    let err = tls.connect("proxy.test", tcp, timeout).await.unwrap_err();
    assert_eq!(err.code(), "proxy.timeout");
    assert_eq!(err.hop(), Some(Hop::Proxy));
    assert_eq!(err.phase(), Phase::Proxy);
    assert_eq!(err.evidence().timeout, Some(timeout));
}

#[tokio::test]
async fn proxy_hop_untrusted_ca_names_proxy_ca_file() {
    let pki = TestPki::new();
    let root = pki.make_root("Proxy Root");
    let leaf = pki.leaf(LeafSpec::new(&["proxy.test"]).issued_by(&root));
    let root_file = root.cert().pem_path().to_path_buf();
    let server = serve(&pki, &leaf, ChainMode::WithRoot).await;
    let addr = server.addr();
    // The proxy's CA was put under ca_file (the origin hop's key).
    let tls = HopTls::new(
        TlsSettings::proxy()
            .with_system_roots(Vec::new())
            .with_known_ca(KnownCa::new("ca_file", bundle(&root_file))),
    )
    .unwrap();
    let err = handshake(&tls, "proxy.test", addr).await.unwrap_err();
    assert_eq!(err.code(), "proxy.tls");
    assert_eq!(err.hop(), Some(Hop::Proxy));
    assert_eq!(err.phase(), Phase::Proxy);
    let ev = tls_ev(&err);
    assert_eq!(ev.diagnosis, Diagnosis::UntrustedPrivateCa);
    let fix = ev.fix.as_ref().unwrap();
    assert_eq!(fix.key, "proxy_ca_file");
    assert_eq!(fix.file.as_deref(), Some(root_file.to_str().unwrap()));
    assert_eq!(fix.found_in, "ca_file");
    assert!(err.hint().unwrap().contains("proxy_ca_file"));
}

#[tokio::test]
async fn evidence_serialises_with_snake_case_diagnosis_and_chain_facts() {
    let pki = TestPki::new();
    let leaf = pki.self_signed(&["origin.test"]);
    let server = serve(&pki, &leaf, ChainMode::LeafOnly).await;
    let addr = server.addr();
    let tls = HopTls::new(yandex()).unwrap();
    let err = handshake(&tls, "origin.test", addr).await.unwrap_err();
    let json = serde_json::to_value(&err).unwrap();
    assert_eq!(json["code"], "tls.unknown_issuer");
    assert_eq!(json["hop"], "origin");
    let t = &json["evidence"]["tls"];
    assert_eq!(t["diagnosis"], "self_signed");
    assert_eq!(t["hop"], "origin");
    assert_eq!(t["sni"], "origin.test");
    assert_eq!(t["trust_store"]["roots"], "webpki");
    assert_eq!(t["chain"][0]["sha256"].as_str().unwrap().len(), 64);
    assert_eq!(t["chain"][0]["sans"][0], "origin.test");
    assert!(t["rustls_error"].as_str().is_some());
    // The report carries the chain and the hint.
    let report = err.report();
    assert!(report.contains("sha256"));
    assert!(report.contains("hint:"));
}
