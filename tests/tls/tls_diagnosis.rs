//! One test per TLS diagnosis (issue 6): a real handshake on loopback against rcgen
//! certificates, asserting the code, hop, phase, diagnosis field, and that the hint / fix names the
//! right key and file.

use crate::support::*;
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
    let leaf = Leaf::self_signed(&["origin.test"]);
    let addr = serve(vec![leaf.cert.clone()], leaf.key).await;
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
    let dir = tempfile::tempdir().unwrap();
    let root = Ca::root("Missing Root");
    let inter = root.intermediate("Missing Intermediate CA");
    let leaf = inter.leaf(&["origin.test"]);
    let root_file = write_pem(dir.path(), "root.pem", &[&root.der()]);
    // The server forgets to send its intermediate.
    let addr = serve(vec![leaf.cert.clone()], leaf.key).await;
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
    let dir = tempfile::tempdir().unwrap();
    let root = Ca::root("Private Root");
    let inter = root.intermediate("Private Issuing CA");
    let leaf = inter.leaf(&["origin.test"]);
    let root_file = write_pem(dir.path(), "private-root.pem", &[&root.der()]);
    let addr = serve(vec![leaf.cert.clone(), inter.der()], leaf.key).await;
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
    let dir = tempfile::tempdir().unwrap();
    let root = Ca::root("Misplaced Root");
    let leaf = root.leaf(&["origin.test"]);
    let root_file = write_pem(dir.path(), "root.pem", &[&root.der()]);
    let addr = serve(vec![leaf.cert.clone()], leaf.key).await;
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
    let dir = tempfile::tempdir().unwrap();
    let root = Ca::root("Env Root");
    let leaf = root.leaf(&["origin.test"]);
    let root_file = write_pem(dir.path(), "env-root.pem", &[&root.der()]);
    let other = write_pem(dir.path(), "other.pem", &[&Ca::root("Other").der()]);
    let addr = serve(vec![leaf.cert.clone()], leaf.key).await;
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
    let root = Ca::root("OS-Installed Root");
    let inter = root.intermediate("OS-Installed Issuing CA");
    let leaf = inter.leaf(&["origin.test"]);
    let addr = serve(vec![leaf.cert.clone(), inter.der()], leaf.key).await;
    let tls = HopTls::new(yandex().with_system_roots(vec![root.der()])).unwrap();
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
            .with_system_roots(vec![root.der()]),
    )
    .unwrap();
    handshake(&tls, "origin.test", addr).await.unwrap();
}

#[tokio::test]
async fn interception_of_a_public_host_by_a_private_ca() {
    let inspection = Ca::root("Corp SSL Inspection CA");
    let leaf = inspection.leaf(&["translate.yandex.net"]);
    // Like the appliances in the corpus, the box sends its own root as certificate 1.
    let addr = serve(vec![leaf.cert.clone(), inspection.der()], leaf.key).await;
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
    let dir = tempfile::tempdir().unwrap();
    let real = Ca::root("Real Root");
    let real_leaf = real.leaf(&["origin.test"]);
    let real_file = write_pem(dir.path(), "real.pem", &[&real.der()]);
    let direct_addr = serve(vec![real_leaf.cert.clone()], real_leaf.key).await;
    let mitm = Ca::root("mitmproxy");
    let fake_leaf = mitm.leaf(&["origin.test"]);
    let proxied_addr = serve(vec![fake_leaf.cert.clone(), mitm.der()], fake_leaf.key).await;

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
    let dir = tempfile::tempdir().unwrap();
    let old = Ca::root("Internal Root");
    let new = Ca::root("Internal Root");
    let leaf = new.leaf(&["origin.test"]);
    let old_file = write_pem(dir.path(), "old-root.pem", &[&old.der()]);
    let new_file = write_pem(dir.path(), "new-root.pem", &[&new.der()]);
    let addr = serve(vec![leaf.cert.clone()], leaf.key).await;
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
    let dir = tempfile::tempdir().unwrap();
    let root = Ca::root("Expiry Root");
    let leaf = root.leaf_valid(&["origin.test"], now() - 400 * 86_400, now() - 10 * 86_400);
    let root_file = write_pem(dir.path(), "root.pem", &[&root.der()]);
    let addr = serve(vec![leaf.cert.clone()], leaf.key).await;
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
    let dir = tempfile::tempdir().unwrap();
    let root = Ca::root("Expiry Root 2");
    let inter = root.intermediate_valid(
        "Old Intermediate",
        now() - 900 * 86_400,
        now() - 30 * 86_400,
    );
    let leaf = inter.leaf(&["origin.test"]);
    let root_file = write_pem(dir.path(), "root.pem", &[&root.der()]);
    let addr = serve(vec![leaf.cert.clone(), inter.der()], leaf.key).await;
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
    let dir = tempfile::tempdir().unwrap();
    let root = Ca::root("Clock Root");
    let leaf = root.leaf_valid(&["origin.test"], now() + 3600, now() + 90 * 86_400);
    let root_file = write_pem(dir.path(), "root.pem", &[&root.der()]);
    let addr = serve(vec![leaf.cert.clone()], leaf.key).await;
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
    let dir = tempfile::tempdir().unwrap();
    let root = Ca::root("Name Root");
    let leaf = root.leaf(&["other.test", "www.other.test"]);
    let root_file = write_pem(dir.path(), "root.pem", &[&root.der()]);
    let addr = serve(vec![leaf.cert.clone()], leaf.key).await;
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
    let leaf = Leaf::self_signed(&["wrong.test"]);
    let addr = serve(vec![leaf.cert.clone()], leaf.key).await;
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
    let addr = serve_misbehaving(Misbehave::PlainHttp).await;
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
    let addr = serve_misbehaving(Misbehave::PlainHttp).await;
    let tls = HopTls::new(yandex()).unwrap();
    let err = handshake(&tls, "origin.test", addr).await.unwrap_err();
    assert_eq!(err.code(), "tls.handshake");
    assert_eq!(err.hop(), Some(Hop::Origin));
    assert_eq!(tls_ev(&err).diagnosis, Diagnosis::NotTls);
}

#[tokio::test]
async fn connection_cut_during_the_handshake() {
    let addr = serve_misbehaving(Misbehave::Cut).await;
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
    let addr = serve_misbehaving(Misbehave::Stall).await;
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
    let dir = tempfile::tempdir().unwrap();
    let root = Ca::root("Proxy Root");
    let leaf = root.leaf(&["proxy.test"]);
    let root_file = write_pem(dir.path(), "proxy-root.pem", &[&root.der()]);
    let addr = serve(vec![leaf.cert.clone(), root.der()], leaf.key).await;
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
    let leaf = Leaf::self_signed(&["origin.test"]);
    let addr = serve(vec![leaf.cert.clone()], leaf.key).await;
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
