//! Secrets kept outside URLs never leak either: a proxy password from a file, a bearer token and
//! a Basic password from the environment, a password handed to the builder and a client
//! certificate's private key (from a file and from memory) are used on successful and failing
//! requests (407, a rejected client certificate, an unset variable), and none of them — nor the
//! base64 `Basic` form of a credential — appears in any `Display`, `Debug`, `report()`, JSON,
//! provenance row, lint finding, route explanation, connection info or TRACE log line, nor in a
//! request prepared by the connector or an error recovered from a plain hyper client's, nor in
//! the probe's `config --show-origin`, `lint` and `check` output.
//!
//! Logs are captured with a subscriber scoped to this test's thread (a current-thread runtime),
//! so this file does not compete with the process-wide one of `secrets_redaction`.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use crate::common::probe::probe_bin;
use proxyscope::credentials::{OriginAuth, ProxyAuth, SecretSource};
use proxyscope::testing::{
    ChainMode, ClientAuthSpec, LeafSpec, Policy, Signer, TestOrigin, TestPki, TestProxy, basic_auth,
};
use proxyscope::{Client, Config, EnvSnapshot, Error, Phase, ProxySetting, Settings};

const USER: &str = "svc-id";
const FILE_PASS: &str = "f1le-pr0xy-s3cret";
const TOKEN: &str = "b34rer-t0ken-fr0m-env";
const BASIC_PASS: &str = "b4sic-env-s3cret";
const MEMORY_PASS: &str = "m3m0ry-builder-s3cret";

#[derive(Clone, Default)]
struct Buffer(Arc<Mutex<Vec<u8>>>);

impl std::io::Write for Buffer {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[derive(Default)]
struct Printed(Vec<(String, String)>);

impl Printed {
    fn text(&mut self, label: &str, t: impl Into<String>) {
        self.0.push((label.to_owned(), t.into()));
    }

    fn error(&mut self, label: &str, e: &Error) {
        self.text(label, format!("{e} | {e:?} | {e:#?} | {}", e.report()));
        self.text(label, serde_json::to_string(e).unwrap());
        let mut src = std::error::Error::source(e);
        while let Some(s) = src {
            self.text(label, s.to_string());
            src = s.source();
        }
        if let Some(r) = e.route() {
            self.text(label, r.explain());
        }
    }
}

/// Every form a secret could take in output.
fn secrets(key_lines: &[String]) -> Vec<String> {
    let mut s = vec![
        FILE_PASS.to_owned(),
        TOKEN.to_owned(),
        BASIC_PASS.to_owned(),
        MEMORY_PASS.to_owned(),
    ];
    for (u, p) in [(USER, FILE_PASS), (USER, MEMORY_PASS), ("api", BASIC_PASS)] {
        s.push(basic_auth(u, p)["Basic ".len()..].to_owned());
    }
    s.extend(key_lines.iter().cloned());
    s
}

/// The base64 lines of a PEM private key (any of them would be a leak).
fn key_lines(pem: &str) -> Vec<String> {
    pem.lines()
        .filter(|l| !l.starts_with("-----") && l.len() > 20)
        .map(str::to_owned)
        .collect()
}

async fn scenarios(p: &mut Printed, pki: &TestPki, dir: &std::path::Path) {
    let egress = TestProxy::builder()
        .policy(Policy::require_basic(USER, FILE_PASS, "egress"))
        .start()
        .await;
    let mtls = TestOrigin::https_with_client_auth(
        pki,
        pki.localhost(),
        ChainMode::Full,
        &ClientAuthSpec::required(&[pki.client_ca()]),
    )
    .await;
    let plain = TestOrigin::http().await;
    let me = pki.client_cert("svc-id");
    let stranger = pki.leaf(LeafSpec::client(&["stranger"]).signer(Signer::Interception));
    let key_pem = std::fs::read_to_string(stranger.key_path()).unwrap();

    let pw_file = dir.join("egress.pw");
    std::fs::write(&pw_file, format!("{FILE_PASS}\n")).unwrap();
    let toml = format!(
        "proxy = \"{proxy}\"\nca_file = {ca:?}\n\
         proxy_auth = {{ username = \"{USER}\", password_file = \"egress.pw\" }}\n\
         client_cert = {cert:?}\nclient_key = {key:?}\n\
         [timeouts]\nproxy = \"2s\"\ntls = \"2s\"\nrequest = \"3s\"\n\
         [providers.partner]\nurl = \"{partner}\"\nauth = {{ bearer_env = \"PARTNER_TOKEN\" }}\n\
         proxy_headers = {{ \"X-Api-Key\" = \"{TOKEN}\", \"X-Tag\" = \"visible\" }}\n\
         [providers.legacy]\nurl = \"{legacy}\"\nproxy = \"direct\"\n\
         auth = {{ username = \"api\", password_env = \"LEGACY_PASSWORD\" }}\n",
        proxy = egress.url(),
        ca = pki.root_pem_path().display().to_string(),
        cert = me.pem_path().display().to_string(),
        key = me.key_path().display().to_string(),
        partner = plain.url(""),
        legacy = mtls.url_with_host("localhost", ""),
    );
    let config_path = dir.join("proxyscope.toml");
    std::fs::write(&config_path, &toml).unwrap();
    let config = Config::from_file(&config_path).unwrap();
    let env = EnvSnapshot::from_pairs([("PARTNER_TOKEN", TOKEN), ("LEGACY_PASSWORD", BASIC_PASS)]);
    p.text("config", format!("{config:?}"));
    for name in [None, Some("partner"), Some("legacy")] {
        for s in config.settings_with_env(name, &env).unwrap_or_default() {
            p.text("setting", format!("{} = {} ({})", s.key, s.value, s.origin));
            p.text("setting", serde_json::to_string(&s).unwrap());
        }
    }
    p.text(
        "global layer",
        serde_json::to_string(config.global_layer()).unwrap(),
    );
    for d in config.lint(&EnvSnapshot::default()) {
        p.text("lint", format!("{d} {d:?}"));
    }

    let builder = Client::builder_from_config(&config).env(env.clone());
    p.text("builder", format!("{builder:?}"));
    let client = builder.build().unwrap();
    p.text(
        "client",
        format!(
            "{client:?} {:?}",
            client.connector(Some("partner")).unwrap()
        ),
    );
    for (label, url) in [
        ("partner", plain.url("/")),
        ("legacy", mtls.url_with_host("localhost", "/")),
    ] {
        let res = client
            .get(&url)
            .await
            .unwrap_or_else(|e| panic!("{label}: {}", e.report()));
        p.text(label, format!("{res:?}"));
        if let Some(info) = res.conn_info() {
            p.text(label, serde_json::to_string(info).unwrap());
        }
        p.text(label, res.text().await.unwrap());
    }

    // Failures: a stale password (407), a refused client certificate with a key from memory,
    // an unset variable.
    let stale = Settings::new()
        .with_proxy(ProxySetting::parse(&egress.url()).unwrap())
        .with_proxy_auth(ProxyAuth::new(USER, SecretSource::value(MEMORY_PASS)))
        .with_timeout(Phase::Http, Duration::from_secs(3));
    let c = Client::builder()
        .global(stale)
        .env(EnvSnapshot::default())
        .build()
        .unwrap();
    let res = c.get(plain.url("/")).await.unwrap();
    let e = res.error_for_status().unwrap_err();
    assert_eq!(e.code(), "proxy.auth_rejected");
    p.error("407", &e);
    let e = c
        .diagnose(None, &mtls.url_with_host("localhost", "/"))
        .await
        .unwrap_err();
    p.error("407 connect", &e);

    // The connector under a plain hyper client: a prepared request's headers, and the CONNECT
    // refusal recovered from hyper's error, bare and through the layer.
    let connector = c.connector(None).unwrap().clone();
    let hyper = hyper_util::client::legacy::Client::builder(hyper_util::rt::TokioExecutor::new())
        .build::<_, http_body_util::Empty<bytes::Bytes>>(connector.clone());
    let get = |url: &str| {
        http::Request::get(url)
            .body(http_body_util::Empty::<bytes::Bytes>::new())
            .unwrap()
    };
    let mut req = get(&plain.url("/"));
    connector.prepare(&mut req).unwrap();
    assert!(req.headers().contains_key("proxy-authorization"));
    p.text("prepared request", format!("{req:?}"));
    let err = hyper
        .request(get(&mtls.url_with_host("localhost", "/")))
        .await
        .unwrap_err();
    p.text("hyper error", format!("{err} {err:?}"));
    let e = Error::from_hyper(&err);
    assert_eq!(e.code(), "proxy.auth_rejected");
    p.error("from_hyper", &e);
    let mut svc = tower_layer::Layer::layer(&connector.layer(), hyper);
    let e = tower_service::Service::call(&mut svc, get(&mtls.url_with_host("localhost", "/")))
        .await
        .unwrap_err();
    assert_eq!(e.code(), "proxy.auth_rejected");
    p.error("layer", &e);

    let refused = Settings::new()
        .with_proxy(ProxySetting::Direct)
        .with_ca_file([pki.root_pem_path()])
        .with_client_cert_pem(stranger.pem(), &key_pem);
    p.text("settings with key", format!("{refused:?}"));
    p.text(
        "settings with key",
        serde_json::to_string(&refused).unwrap(),
    );
    let c = Client::builder()
        .global(refused)
        .env(EnvSnapshot::default())
        .build()
        .unwrap();
    let e = c
        .get(mtls.url_with_host("localhost", "/"))
        .await
        .unwrap_err();
    assert_eq!(e.code(), "tls.client_cert_rejected");
    p.error("rejected", &e);

    let unset = Client::builder_from_config(&config)
        .env(EnvSnapshot::from_pairs([("PARTNER_TOKEN", TOKEN)]))
        .build()
        .unwrap_err();
    assert_eq!(unset.code(), "config.invalid");
    p.error("unset", &unset);
    let auth = OriginAuth::basic("api", SecretSource::value(MEMORY_PASS));
    p.text(
        "origin auth",
        format!("{auth:?} {}", serde_json::to_string(&auth).unwrap()),
    );
}

#[test]
fn secrets_outside_urls_never_appear_in_any_output() {
    let pki = TestPki::new();
    let dir = tempfile::tempdir().unwrap();
    let logs = Buffer::default();
    let writer = logs.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::TRACE)
        .with_ansi(false)
        .with_span_events(tracing_subscriber::fmt::format::FmtSpan::FULL)
        .with_writer(move || writer.clone())
        .finish();
    let mut p = Printed::default();
    // A second registered dispatcher: with only one, tracing-core caches the interest of a
    // callsite another test's thread reaches first from that thread's (empty) default, and
    // this capture would miss its spans.
    let _second = tracing::Dispatch::new(tracing::subscriber::NoSubscriber::default());
    tracing::subscriber::with_default(subscriber, || {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap()
            .block_on(scenarios(&mut p, &pki, dir.path()));
    });
    let logged = String::from_utf8_lossy(&logs.0.lock().unwrap()).into_owned();
    assert!(logged.contains("connect"), "nothing was logged");
    p.text("TRACE logs", logged);

    // The probe as a process: the same config, the secrets in its environment.
    let probe = probe_bin();
    let config = dir.path().join("proxyscope.toml");
    let c = config.to_str().unwrap();
    for args in [
        vec!["config", "--config", c, "--show-origin"],
        vec!["lint", "--config", c],
        vec!["check", "--config", c, "--format", "json"],
    ] {
        let out = std::process::Command::new(&probe)
            .args(&args)
            .env_remove("PROXYSCOPE_CONFIG")
            .env("PARTNER_TOKEN", TOKEN)
            .env("LEGACY_PASSWORD", BASIC_PASS)
            .output()
            .unwrap();
        let label = format!("probe {}", args.join(" "));
        let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
        assert!(!stdout.is_empty(), "{label} printed nothing");
        p.text(&label, stdout);
        p.text(&label, String::from_utf8_lossy(&out.stderr).into_owned());
    }

    let mut key_pems = Vec::new();
    for entry in std::fs::read_dir(pki.dir()).unwrap() {
        let path = entry.unwrap().path();
        if path.to_string_lossy().ends_with(".key.pem") {
            key_pems.extend(key_lines(&std::fs::read_to_string(path).unwrap()));
        }
    }
    assert!(!key_pems.is_empty());
    let mut leaks = Vec::new();
    for (label, text) in &p.0 {
        for s in secrets(&key_pems) {
            if text.contains(&s) {
                leaks.push(format!("{label}: contains {s:?}"));
            }
        }
    }
    assert!(leaks.is_empty(), "secrets leaked:\n{}", leaks.join("\n"));
    // The test looked where the secrets were in play: the names of their sources are shown.
    let all: String = p.0.iter().map(|(_, t)| t.as_str()).collect();
    for shown in [
        "env:PARTNER_TOKEN",
        "egress.pw",
        "X-Tag: visible",
        "X-Api-Key: ***",
    ] {
        assert!(all.contains(shown), "{shown} is never shown");
    }
}
