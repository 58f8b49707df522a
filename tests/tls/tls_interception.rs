//! Certificate failures told apart and blamed on the right component: TLS interception by the
//! route's proxy (named, with where it was set, the intercepting CA and both fixes), a CA file
//! that holds the wrong CA, an incomplete chain (the server's fault) against an untrusted root
//! (local trust), and validity windows in dates and days rather than seconds and indexes.

use std::time::Duration;

use proxyscope::testing::{
    ChainMode, INTERCEPTION_CN, INTERMEDIATE_CN, ROOT_CN, TestOrigin, TestPki, TestProxy,
};
use proxyscope::tls::Diagnosis;
use proxyscope::{Blame, Client, EnvSnapshot, Error, Hop, Phase, ProxySetting, Settings};

/// A client whose provider `internal` covers `base`, with `layer` as its own settings; the
/// global layer goes direct and the environment is empty.
fn client(base: &str, layer: Settings) -> Client {
    Client::builder()
        .global(Settings::new().with_proxy(ProxySetting::Direct))
        .env(EnvSnapshot::from_pairs(Vec::<(String, String)>::new()))
        .provider(
            "internal",
            base,
            layer.with_timeout(Phase::Tls, Duration::from_secs(3)),
        )
        .build()
        .expect("client")
}

fn via(proxy: &str) -> Settings {
    Settings::new().with_proxy(ProxySetting::parse(proxy).expect("proxy url"))
}

async fn get_err(c: &Client, url: &str) -> Error {
    match c.get(url).await {
        Ok(r) => panic!("expected a failure, got {}", r.status()),
        Err(e) => e,
    }
}

fn diagnosis(e: &Error) -> Diagnosis {
    e.evidence().tls.as_deref().expect("tls evidence").diagnosis
}

fn has(text: &str, words: &str) {
    assert!(text.contains(words), "{text:?} lacks {words:?}");
}

// Pattern 2: interception is recognised, the proxy named, both fixes given.

#[tokio::test]
async fn the_routes_proxy_intercepting_tls_is_named_with_both_fixes() {
    let pki = TestPki::new();
    let origin = TestOrigin::https(&pki, pki.localhost(), ChainMode::Full).await;
    let proxy = TestProxy::builder()
        .intercept_presenting_ca(&pki)
        .start()
        .await;
    let base = origin.url_with_host("localhost", "");
    let root = pki.root_pem_path().display().to_string();
    // The provider trusts its origin's CA; through the proxy the chain ends at the proxy's CA.
    let c = client(
        &base,
        via(&proxy.url()).with_ca_file([pki.root_pem_path().to_path_buf()]),
    );
    let e = get_err(&c, &format!("{base}/")).await;
    let report = e.report();
    assert_eq!(e.code(), "tls.unknown_issuer", "{report}");
    assert_eq!(e.hop(), Some(Hop::Origin), "{report}");
    assert_eq!(e.blame(), Blame::Proxy, "{report}");
    assert_eq!(diagnosis(&e), Diagnosis::Interception, "{report}");
    let headline = e.to_string();
    has(
        &headline,
        &format!(
            "proxy {} (set in the client builder's `proxy`) is intercepting TLS to localhost",
            proxy.url()
        ),
    );
    has(&headline, INTERCEPTION_CN);
    has(
        &headline,
        &format!("providers.internal.ca_file {root} holds"),
    );
    let hint = e.hint().unwrap_or_default();
    has(hint, "add the certificate of `");
    has(
        hint,
        &format!("to {root} (named by providers.internal.ca_file)"),
    );
    has(hint, "set providers.internal.proxy = \"direct\"");
    has(hint, "add `localhost` to providers.internal.no_proxy");
    assert!(origin.requests().is_empty(), "the origin was never reached");
}

/// The interception CA is already configured elsewhere (the global `ca_file`, which this provider
/// replaces with its own): the fix keeps the provider's CA file and adds that exact file.
#[tokio::test]
async fn an_interception_ca_known_elsewhere_gives_the_exact_files() {
    let pki = TestPki::new();
    let origin = TestOrigin::https(&pki, pki.localhost(), ChainMode::Full).await;
    let proxy = TestProxy::builder()
        .intercept_presenting_ca(&pki)
        .start()
        .await;
    let base = origin.url_with_host("localhost", "");
    let root = pki.root_pem_path().display().to_string();
    let corp = pki.interception_ca_path().display().to_string();
    let c = Client::builder()
        .global(
            Settings::new()
                .with_proxy(ProxySetting::Direct)
                .with_ca_file([pki.interception_ca_path().to_path_buf()]),
        )
        .env(EnvSnapshot::from_pairs(Vec::<(String, String)>::new()))
        .provider(
            "internal",
            &base,
            via(&proxy.url()).with_ca_file([pki.root_pem_path().to_path_buf()]),
        )
        .build()
        .expect("client");
    let e = get_err(&c, &format!("{base}/")).await;
    assert_eq!(e.code(), "tls.unknown_issuer", "{}", e.report());
    assert_eq!(e.blame(), Blame::Proxy);
    assert_eq!(diagnosis(&e), Diagnosis::Interception);
    has(&e.to_string(), "is intercepting TLS to localhost");
    let hint = e.hint().unwrap_or_default();
    has(
        hint,
        &format!(
            "set providers.internal.ca_file = [\"{root}\", \"{corp}\"] (the second file holds `"
        ),
    );
    has(hint, "found via ca_file)");
    has(hint, "set providers.internal.proxy = \"direct\"");
}

/// The 2015 mistake through a proxy is not interception: the origin's own CA, configured under
/// the proxy hop's key, is a misplaced CA and the fix names the origin hop's key.
#[tokio::test]
async fn the_origins_ca_under_proxy_ca_file_is_a_misplacement_not_interception() {
    let pki = TestPki::new();
    let origin = TestOrigin::https(&pki, pki.localhost(), ChainMode::Full).await;
    let proxy = TestProxy::allow_all().await;
    let base = origin.url_with_host("localhost", "");
    let root = pki.root_pem_path().display().to_string();
    let c = client(
        &base,
        via(&proxy.url()).with_proxy_ca_file([pki.root_pem_path().to_path_buf()]),
    );
    let e = get_err(&c, &format!("{base}/")).await;
    assert_eq!(e.code(), "tls.unknown_issuer", "{}", e.report());
    assert_eq!(diagnosis(&e), Diagnosis::UntrustedPrivateCa);
    assert_eq!(e.blame(), Blame::LocalConfig);
    let hint = e.hint().unwrap_or_default();
    has(
        hint,
        &format!("set providers.internal.ca_file = \"{root}\""),
    );
    assert!(!hint.contains("intercept"), "{hint}");
}

/// A leaf alone from an unknown issuer through a proxy proves nothing: the diagnosis stays
/// (an incomplete chain, the server's), and the hint names the proxy as the other explanation.
#[tokio::test]
async fn a_leaf_alone_through_a_proxy_keeps_its_diagnosis_and_names_the_proxy_second() {
    let pki = TestPki::new();
    let origin = TestOrigin::https(&pki, pki.localhost(), ChainMode::Full).await;
    let proxy = TestProxy::builder().intercept(&pki).start().await;
    let base = origin.url_with_host("localhost", "");
    let c = client(
        &base,
        via(&proxy.url()).with_ca_file([pki.root_pem_path().to_path_buf()]),
    );
    let e = get_err(&c, &format!("{base}/")).await;
    assert_eq!(e.code(), "tls.unknown_issuer");
    assert_eq!(diagnosis(&e), Diagnosis::MissingIntermediate);
    assert_eq!(e.blame(), Blame::Origin);
    has(&e.to_string(), "incomplete certificate chain");
    let hint = e.hint().unwrap_or_default();
    has(
        hint,
        &format!(
            "this went through proxy {} (set in the client builder's `proxy`): if that proxy intercepts TLS",
            proxy.url()
        ),
    );
    has(
        hint,
        "or set providers.internal.proxy = \"direct\" to go around it",
    );
}

// Pattern 3: a CA file holding the wrong CA.

#[tokio::test]
async fn a_ca_file_holding_the_wrong_ca_says_which_ca_it_holds_and_which_the_chain_needs() {
    let pki = TestPki::new();
    let origin = TestOrigin::https(&pki, pki.localhost(), ChainMode::Full).await;
    let base = origin.url_with_host("localhost", "");
    let wrong = pki.interception_ca_path().display().to_string();
    let c = client(
        &base,
        Settings::new()
            .with_proxy(ProxySetting::Direct)
            .with_ca_file([pki.interception_ca_path().to_path_buf()]),
    );
    let e = get_err(&c, &format!("{base}/")).await;
    assert_eq!(e.code(), "tls.unknown_issuer", "{}", e.report());
    assert_eq!(e.hop(), Some(Hop::Origin));
    assert_eq!(e.blame(), Blame::LocalConfig);
    assert_eq!(diagnosis(&e), Diagnosis::WrongCaFile);
    let headline = e.to_string();
    has(
        &headline,
        &format!("providers.internal.ca_file {wrong} holds CN={INTERCEPTION_CN}"),
    );
    has(
        &headline,
        &format!("the server's chain ends at CN={ROOT_CN}"),
    );
    let w = e
        .evidence()
        .tls
        .as_deref()
        .and_then(|t| t.wrong_ca_file.clone())
        .expect("wrong_ca_file evidence");
    assert_eq!(w.file, wrong);
    assert_eq!(w.key, "providers.internal.ca_file");
    has(
        e.hint().unwrap_or_default(),
        &format!("put the certificate of CN={ROOT_CN}"),
    );
    has(
        e.hint().unwrap_or_default(),
        &format!("in {wrong} (or point providers.internal.ca_file at a file that holds it)"),
    );
}

// Pattern 6: an incomplete chain (the server's fault) against an untrusted root (local trust).

#[tokio::test]
async fn an_incomplete_chain_and_an_untrusted_root_read_and_blame_differently() {
    let pki = TestPki::new();
    let leaf_only = TestOrigin::https(&pki, pki.localhost(), ChainMode::LeafOnly).await;
    let base = leaf_only.url_with_host("localhost", "");
    let c = client(
        &base,
        Settings::new()
            .with_proxy(ProxySetting::Direct)
            .with_ca_file([pki.root_pem_path().to_path_buf()]),
    );
    let e = get_err(&c, &format!("{base}/")).await;
    assert_eq!(e.code(), "tls.unknown_issuer");
    assert_eq!(diagnosis(&e), Diagnosis::MissingIntermediate);
    assert_eq!(e.blame(), Blame::Origin);
    has(
        &e.to_string(),
        &format!(
            "incomplete certificate chain: the server sent no intermediate certificate for its issuer `CN={INTERMEDIATE_CN}"
        ),
    );
    has(
        e.hint().unwrap_or_default(),
        "its operators must serve the full chain",
    );

    let full = TestOrigin::https(&pki, pki.localhost(), ChainMode::Full).await;
    let base = full.url_with_host("localhost", "");
    let c = client(&base, Settings::new().with_proxy(ProxySetting::Direct));
    let e = get_err(&c, &format!("{base}/")).await;
    assert_eq!(e.code(), "tls.unknown_issuer");
    assert_eq!(diagnosis(&e), Diagnosis::UntrustedPrivateCa);
    assert_eq!(e.blame(), Blame::LocalConfig);
    has(
        &e.to_string(),
        &format!("untrusted root: the chain ends at `CN={ROOT_CN}"),
    );
    has(
        e.hint().unwrap_or_default(),
        "add its certificate with providers.internal.ca_file",
    );
}

// Pattern 9: dates and days, roles rather than indexes.

#[tokio::test]
async fn validity_failures_say_which_certificate_by_role_with_dates_and_days() {
    let pki = TestPki::new();
    let trust = || {
        Settings::new()
            .with_proxy(ProxySetting::Direct)
            .with_ca_file([pki.root_pem_path().to_path_buf()])
    };
    let expired = TestOrigin::https(&pki, &pki.expired(&["localhost"]), ChainMode::Full).await;
    let base = expired.url_with_host("localhost", "");
    let e = get_err(&client(&base, trust()), &format!("{base}/")).await;
    assert_eq!(e.code(), "tls.expired", "{}", e.report());
    assert_eq!(e.blame(), Blame::Origin);
    let tls = e.evidence().tls.as_deref().expect("tls");
    let v = tls.validity.clone().expect("validity");
    let date = &tls.chain[0].not_after[..10];
    let headline = e.to_string();
    has(
        &headline,
        &format!("the server's certificate (CN=localhost) expired on {date} (24 hours ago)"),
    );
    assert!(!headline.contains(&format!("{}s", v.seconds)), "{headline}");
    assert!(!headline.contains("certificate 0"), "{headline}");
    has(
        e.hint().unwrap_or_default(),
        "the server's operators must renew it",
    );

    let early = TestOrigin::https(&pki, &pki.not_yet_valid(&["localhost"]), ChainMode::Full).await;
    let base = early.url_with_host("localhost", "");
    let e = get_err(&client(&base, trust()), &format!("{base}/")).await;
    assert_eq!(e.code(), "tls.not_yet_valid", "{}", e.report());
    let tls = e.evidence().tls.as_deref().expect("tls");
    let date = &tls.chain[0].not_before[..10];
    let days = tls.validity.as_ref().expect("validity").seconds / 86_400;
    assert!((29..=30).contains(&days), "{days}");
    has(
        &e.to_string(),
        &format!(
            "the server's certificate (CN=localhost) is valid only from {date} (in {days} days)"
        ),
    );
    // The report names the role too.
    has(&e.report(), "[0] the server's certificate: s: CN=localhost");
}
