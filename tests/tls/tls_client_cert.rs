//! Client certificates against the harness: an origin (direct and through a CONNECT tunnel) and
//! an `https://` proxy that require one from the client CA. Required-and-missing (TLS 1.3, where
//! the refusal arrives after the handshake, and TLS 1.2, where it ends the handshake), rejected
//! (a certificate from another CA, an expired one), accepted (from files, from memory, from a
//! config file), optional requests, and the TLS knobs beside them (oldest version, the hostname
//! danger switch). Each failure asserts code, hop, phase and the client-certificate evidence.

use std::time::Duration;

use proxyscope::testing::{
    CLIENT_CA_CN, ChainMode, ClientAuthSpec, LeafSpec, Signer, TestOrigin, TestPki, TestProxy,
    Validity,
};
use proxyscope::tls::{ClientCertEvidence, Diagnosis};
use proxyscope::{Client, EnvSnapshot, Error, Hop, Phase, ProxySetting, Settings};

/// A layer that trusts the PKI's root for the origin and any https proxy, short timeouts.
fn trusting(pki: &TestPki, proxy: Option<&str>) -> Settings {
    let l = Settings::new()
        .with_ca_file([pki.root_pem_path()])
        .with_proxy_ca_file([pki.root_pem_path()])
        .with_timeout(Phase::Connect, Duration::from_secs(3))
        .with_timeout(Phase::Proxy, Duration::from_secs(3))
        .with_timeout(Phase::Tls, Duration::from_secs(3))
        .with_timeout(Phase::Http, Duration::from_secs(5));
    match proxy {
        Some(p) => l.with_proxy(ProxySetting::parse(p).unwrap()),
        None => l.with_proxy(ProxySetting::Direct),
    }
}

fn client(layer: Settings) -> Client {
    Client::builder()
        .global(layer)
        .env(EnvSnapshot::from_pairs(Vec::<(String, String)>::new()))
        .build()
        .unwrap()
}

fn client_cert_evidence(e: &Error) -> &ClientCertEvidence {
    let tls = e
        .evidence()
        .tls
        .as_ref()
        .unwrap_or_else(|| panic!("no TLS evidence: {}", e.report()));
    tls.client_cert
        .as_ref()
        .unwrap_or_else(|| panic!("no client certificate evidence: {}", e.report()))
}

async fn mtls_origin(pki: &TestPki, spec: ClientAuthSpec) -> TestOrigin {
    TestOrigin::https_with_client_auth(pki, pki.localhost(), ChainMode::Full, &spec).await
}

/// Asserts the "none configured" error at the origin hop.
fn assert_required(e: &Error, key: &str) {
    assert_eq!(e.code(), "tls.client_cert_required", "{}", e.report());
    assert_eq!(e.hop(), Some(Hop::Origin));
    assert_eq!(e.phase(), Phase::Tls);
    let tls = e.evidence().tls.as_ref().unwrap();
    assert_eq!(tls.diagnosis, Diagnosis::ClientCertRequired);
    let c = client_cert_evidence(e);
    assert!(c.requested);
    assert!(c.presented.is_none());
    assert_eq!(c.alert.as_deref(), Some("certificate_required"));
    assert_eq!(c.key, key);
    assert_eq!(c.acceptable_cas.len(), 1);
    assert!(
        c.acceptable_cas[0].contains(CLIENT_CA_CN),
        "{:?}",
        c.acceptable_cas
    );
    let hint = e.hint().unwrap_or_default();
    assert!(hint.contains(key), "{hint}");
    assert!(e.report().contains(CLIENT_CA_CN));
}

#[tokio::test]
async fn required_and_missing_is_client_cert_required_with_the_acceptable_cas() {
    let pki = TestPki::new();
    let origin = mtls_origin(&pki, ClientAuthSpec::required(&[pki.client_ca()])).await;
    let e = client(trusting(&pki, None))
        .get(origin.url_with_host("localhost", "/"))
        .await
        .unwrap_err();
    // TLS 1.3: the server refuses after the client finished its side; the refusal arrives with
    // the first read and still carries the handshake's evidence.
    assert_required(&e, "client_cert");
    assert!(e.route().is_some());
    let seen = origin.client_auth();
    assert_eq!(seen.len(), 1);
    assert!(seen[0].presented.is_none() && !seen[0].accepted);
    assert!(origin.requests().is_empty());
}

#[tokio::test]
async fn required_and_missing_over_tls12_ends_the_handshake() {
    let pki = TestPki::new();
    let spec = ClientAuthSpec::required(&[pki.client_ca()]).tls12_only();
    let origin = mtls_origin(&pki, spec).await;
    let e = client(trusting(&pki, None))
        .get(origin.url_with_host("localhost", "/"))
        .await
        .unwrap_err();
    assert_required(&e, "client_cert");
    // The server's certificate was verified before it asked: the chain is evidence too.
    assert_eq!(e.evidence().tls.as_ref().unwrap().chain.len(), 2);
}

#[tokio::test]
async fn a_certificate_from_another_ca_is_rejected_naming_its_issuer() {
    let pki = TestPki::new();
    let origin = mtls_origin(&pki, ClientAuthSpec::required(&[pki.client_ca()])).await;
    let stranger = pki.leaf(LeafSpec::client(&["svc.test"]).signer(Signer::Interception));
    let layer =
        trusting(&pki, None).with_client_cert_files(stranger.pem_path(), stranger.key_path());
    let e = client(layer)
        .get(origin.url_with_host("localhost", "/"))
        .await
        .unwrap_err();
    assert_eq!(e.code(), "tls.client_cert_rejected", "{}", e.report());
    assert_eq!((e.hop(), e.phase()), (Some(Hop::Origin), Phase::Tls));
    let tls = e.evidence().tls.as_ref().unwrap();
    assert_eq!(tls.diagnosis, Diagnosis::ClientCertRejected);
    let c = client_cert_evidence(&e);
    let presented = c.presented.as_ref().unwrap();
    assert!(presented.subject.contains("svc.test"));
    assert!(
        presented.issuer.contains("interception"),
        "{}",
        presented.issuer
    );
    assert_eq!(c.issuer_accepted, Some(false));
    assert_eq!(c.alert.as_deref(), Some("unknown_ca"));
    let hint = e.hint().unwrap_or_default();
    assert!(
        hint.contains("not among the CAs") && hint.contains("client_cert"),
        "{hint}"
    );
    let seen = origin.client_auth();
    assert_eq!(seen[0].presented.as_ref(), Some(stranger.der()));
    assert!(!seen[0].accepted);
}

#[tokio::test]
async fn an_expired_client_certificate_is_rejected_with_its_validity() {
    let pki = TestPki::new();
    let spec = ClientAuthSpec::required(&[pki.client_ca()]).tls12_only();
    let origin = mtls_origin(&pki, spec).await;
    let old = pki.leaf(LeafSpec::client(&["old.test"]).validity(Validity::Expired));
    let layer = trusting(&pki, None).with_client_cert_files(old.pem_path(), old.key_path());
    let e = client(layer)
        .get(origin.url_with_host("localhost", "/"))
        .await
        .unwrap_err();
    assert_eq!(e.code(), "tls.client_cert_rejected", "{}", e.report());
    let c = client_cert_evidence(&e);
    assert_eq!(c.alert.as_deref(), Some("certificate_expired"));
    let leaf = c.presented.as_ref().unwrap();
    assert!(leaf.days_left < 0);
    assert_eq!(c.issuer_accepted, Some(true));
    assert!(e.hint().unwrap_or_default().contains("validity"));
}

#[tokio::test]
async fn the_right_certificate_is_accepted_and_shown_in_the_connection_info() {
    let pki = TestPki::new();
    let origin = mtls_origin(&pki, ClientAuthSpec::required(&[pki.client_ca()])).await;
    let me = pki.client_cert("svc-translation");
    let layer = trusting(&pki, None).with_client_cert_files(me.pem_path(), me.key_path());
    let res = client(layer)
        .get(origin.url_with_host("localhost", "/"))
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let info = res.conn_info().unwrap().origin_tls.clone().unwrap();
    let c = info.client_cert.unwrap();
    assert!(c.requested);
    assert!(c.presented.unwrap().subject.contains("svc-translation"));
    assert_eq!(c.issuer_accepted, Some(true));
    let seen = origin.client_auth();
    assert_eq!(seen[0].presented.as_ref(), Some(me.der()));
    assert!(seen[0].accepted);
}

#[tokio::test]
async fn identity_and_trust_from_memory_say_builder() {
    let pki = TestPki::new();
    let origin = mtls_origin(&pki, ClientAuthSpec::required(&[pki.client_ca()])).await;
    let me = pki.client_cert("svc-memory");
    let key = std::fs::read(me.key_path()).unwrap();
    let layer = Settings::new()
        .with_proxy(ProxySetting::Direct)
        .with_roots(proxyscope::Roots::None)
        .with_ca_certs([pki.root().der()])
        .with_client_cert_pem(me.pem(), &key);
    let c = client(layer);
    let res = c.get(origin.url_with_host("localhost", "/")).await.unwrap();
    assert_eq!(res.status(), 200);
    assert!(origin.client_auth()[0].accepted);

    // The trust store the evidence describes names the in-memory source.
    let wrong = TestOrigin::https(&pki, &pki.self_signed(&["localhost"]), ChainMode::Full).await;
    let e = c
        .get(wrong.url_with_host("localhost", "/"))
        .await
        .unwrap_err();
    assert_eq!(e.code(), "tls.unknown_issuer");
    let store = &e.evidence().tls.as_ref().unwrap().trust_store;
    assert_eq!(
        store.sources[0].kind,
        proxyscope::tls::TrustSourceKind::Builder
    );
    assert_eq!(store.describe(), "builder:ca_certs[0] (1 anchor)");

    // Bad PEM in memory fails at build time, as a CA file would.
    let e = Client::builder()
        .global(Settings::new().with_ca_pem("not a certificate"))
        .env(EnvSnapshot::default())
        .build()
        .unwrap_err();
    assert_eq!(e.code(), "config.ca_file");
    assert_eq!(e.evidence().file.as_deref(), Some("builder:ca_certs[0]"));
}

#[tokio::test]
async fn through_a_connect_tunnel_the_origin_gets_the_certificate() {
    let pki = TestPki::new();
    let origin = mtls_origin(&pki, ClientAuthSpec::required(&[pki.client_ca()])).await;
    let proxy = TestProxy::allow_all().await;
    let url = origin.url_with_host("localhost", "/");

    let e = client(trusting(&pki, Some(&proxy.url())))
        .get(&url)
        .await
        .unwrap_err();
    assert_required(&e, "client_cert");
    assert_eq!(e.evidence().proxy.as_deref(), Some(proxy.url().as_str()));

    let me = pki.client_cert("svc-tunnel");
    let layer =
        trusting(&pki, Some(&proxy.url())).with_client_cert_files(me.pem_path(), me.key_path());
    let res = client(layer).get(&url).await.unwrap();
    assert_eq!(res.status(), 200);
    assert_eq!(proxy.connect_count(), 2);
    let seen = origin.client_auth();
    assert_eq!(seen.len(), 2);
    assert_eq!(seen[1].presented.as_ref(), Some(me.der()));
}

#[tokio::test]
async fn an_https_proxy_with_its_own_client_certificate() {
    let pki = TestPki::new();
    let origin = mtls_origin(&pki, ClientAuthSpec::required(&[pki.client_ca()])).await;
    let proxy = TestProxy::builder()
        .tls_with_client_auth(
            &pki,
            pki.localhost(),
            &ClientAuthSpec::required(&[pki.client_ca()]),
        )
        .start()
        .await;
    let proxy_url = proxy.https_url().unwrap();
    let url = origin.url_with_host("localhost", "/");

    // No proxy certificate: the proxy hop fails, as proxy.tls with the client-cert diagnosis.
    let e = client(trusting(&pki, Some(&proxy_url)))
        .get(&url)
        .await
        .unwrap_err();
    assert_eq!(e.code(), "proxy.tls", "{}", e.report());
    assert_eq!((e.hop(), e.phase()), (Some(Hop::Proxy), Phase::Proxy));
    let tls = e.evidence().tls.as_ref().unwrap();
    assert_eq!(tls.hop, Hop::Proxy);
    assert_eq!(tls.diagnosis, Diagnosis::ClientCertRequired);
    let c = client_cert_evidence(&e);
    assert_eq!(c.key, "proxy_client_cert");
    assert!(e.hint().unwrap_or_default().contains("proxy_client_cert"));

    // One certificate for the proxy, another for the origin: each hop gets its own.
    let for_proxy = pki.client_cert("svc-to-proxy");
    let for_origin = pki.client_cert("svc-to-origin");
    let layer = trusting(&pki, Some(&proxy_url))
        .with_proxy_client_cert_files(for_proxy.pem_path(), for_proxy.key_path())
        .with_client_cert_files(for_origin.pem_path(), for_origin.key_path());
    let res = client(layer).get(&url).await.unwrap();
    assert_eq!(res.status(), 200);
    let info = res.conn_info().unwrap();
    let proxy_seen = info
        .proxy_tls
        .as_ref()
        .unwrap()
        .client_cert
        .clone()
        .unwrap();
    assert!(
        proxy_seen
            .presented
            .unwrap()
            .subject
            .contains("svc-to-proxy")
    );
    let last = proxy.client_auth().pop().unwrap();
    assert_eq!(last.presented.as_ref(), Some(for_proxy.der()));
    assert!(last.accepted);
    let last = origin.client_auth().pop().unwrap();
    assert_eq!(last.presented.as_ref(), Some(for_origin.der()));
}

#[tokio::test]
async fn an_optional_request_is_recorded_and_served() {
    let pki = TestPki::new();
    let origin = mtls_origin(&pki, ClientAuthSpec::optional(&[pki.client_ca()])).await;
    let res = client(trusting(&pki, None))
        .get(origin.url_with_host("localhost", "/"))
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let c = res
        .conn_info()
        .and_then(|i| i.origin_tls.clone())
        .and_then(|t| t.client_cert)
        .unwrap();
    assert!(c.requested && c.presented.is_none());
    assert!(c.acceptable_cas[0].contains(CLIENT_CA_CN));
}

#[tokio::test]
async fn min_tls_version_refuses_an_older_server() {
    let pki = TestPki::new();
    let spec = ClientAuthSpec::optional(&[pki.client_ca()]).tls12_only();
    let origin = mtls_origin(&pki, spec).await;
    let url = origin.url_with_host("localhost", "/");
    let ok =
        client(trusting(&pki, None).with_min_tls_version(proxyscope::settings::TlsVersion::Tls12))
            .get(&url)
            .await
            .unwrap();
    assert_eq!(
        ok.conn_info()
            .unwrap()
            .origin_tls
            .as_ref()
            .unwrap()
            .version
            .as_deref(),
        Some("TLSv1_2")
    );
    let e =
        client(trusting(&pki, None).with_min_tls_version(proxyscope::settings::TlsVersion::Tls13))
            .get(&url)
            .await
            .unwrap_err();
    assert_eq!(e.code(), "tls.handshake", "{}", e.report());
    assert_eq!((e.hop(), e.phase()), (Some(Hop::Origin), Phase::Tls));
    let rustls = e
        .evidence()
        .tls
        .as_ref()
        .unwrap()
        .rustls_error
        .clone()
        .unwrap_or_default();
    assert!(rustls.contains("ProtocolVersion"), "{rustls}");
}

#[tokio::test]
async fn danger_accept_invalid_hostnames_accepts_only_a_trusted_chain_and_warns() {
    let pki = TestPki::new();
    let other_host = TestOrigin::https(&pki, &pki.wrong_host(), ChainMode::Full).await;
    let url = other_host.url_with_host("localhost", "/");
    let e = client(trusting(&pki, None)).get(&url).await.unwrap_err();
    assert_eq!(e.code(), "tls.hostname_mismatch");

    let c = client(trusting(&pki, None).with_danger_accept_invalid_hostnames(true));
    let res = c.get(&url).await.unwrap();
    assert_eq!(res.status(), 200);
    let info = res.conn_info().unwrap().origin_tls.clone().unwrap();
    assert!(info.danger_accept_invalid_hostnames);
    assert!(info.accepted_invalid.is_some());
    let warnings = info.warnings();
    assert!(
        warnings
            .iter()
            .any(|w| w.contains("danger_accept_invalid_hostnames")),
        "{warnings:?}"
    );
    let route = c.route(None, &url).unwrap();
    assert!(
        route
            .warnings()
            .any(|w| w.code == "danger_accept_invalid_hostnames"),
        "{}",
        route.explain()
    );

    // An untrusted chain is still refused: the switch covers names only.
    let stranger = TestOrigin::https(&pki, &pki.self_signed(&["localhost"]), ChainMode::Full).await;
    let e = c
        .get(stranger.url_with_host("localhost", "/"))
        .await
        .unwrap_err();
    assert_eq!(e.code(), "tls.unknown_issuer");
}
