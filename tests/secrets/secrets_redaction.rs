//! Secrets never leak: every failure scenario — each proxy failure code, the origin's TLS
//! failures, HTTP failures and configuration errors — runs with the credentials
//! `u53r:s3cr3t-p4ss` in the proxy URL, and the credential string (user:password, the password
//! alone, and its base64 `Basic` form) appears in no `Display`, `Debug`, `report()`, JSON,
//! hint, route explanation or lint finding, nor in anything logged through `tracing` at TRACE,
//! nor in the probe's output (`target/debug/examples/probe`, every subcommand and format).
//!
//! A second set of credentials holds the characters that stop URL and list parsers (`/ @ : ?
//! # , = ; ' ]` and blanks) and is written unencoded wherever users write passwords —
//! configuration, environment, `no_proxy` entries — and percent-encoded in a provider URL's
//! userinfo, next to a secret query parameter; requests go through a proxy that echoes them
//! into its refusal, and the exporter serves them in-process. No form of them (clear,
//! percent-encoded, base64, or a fragment between special characters) appears anywhere either.
//!
//! One test in this file: it installs the process-wide tracing subscriber that captures logs.

use std::collections::BTreeSet;
use std::io::Write as _;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use crate::common::probe::probe_bin;
use proxyscope::config::{Config, ConfigDocument};
use proxyscope::connect::Resolver;
use proxyscope::testing::{
    CannedReply, ChainMode, HOLD, Policy, RawServer, TestOrigin, TestPki, TestProxy, refused_addr,
};
use proxyscope::{Client, EnvSnapshot, Error, NoProxy, Phase, ProxySetting, ProxyUrl, Settings};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

const USER: &str = "u53r";
const PASS: &str = "s3cr3t-p4ss";
/// Credentials with every character that used to end the redactor's view of a password.
const SPECIAL_USER: &str = "sp3c-us3r";
const SPECIAL_PASS: &str = "Kv3Rn/Wd8@Qp2:Mx6 ,=;'#]?Lb5";
const SPECIAL_PASS_IN_URL: &str = "Kv3Rn%2FWd8%40Qp2%3AMx6%20%2C%3D%3B%27%23%5D%3FLb5";
/// Fragments of `SPECIAL_PASS` between its special characters.
const SPECIAL_FRAGMENTS: [&str; 5] = ["Kv3Rn", "Wd8", "Qp2", "Mx6", "Lb5"];
/// The value of a secret query parameter.
const QUERY_KEY: &str = "Qy4-Hs7Tc";

/// Every form the credentials could leak in.
fn secrets() -> Vec<String> {
    let mut out = vec![
        format!("{USER}:{PASS}"),
        PASS.to_owned(),
        proxyscope::testing::basic_auth(USER, PASS)["Basic ".len()..].to_owned(),
        format!("{SPECIAL_USER}:{SPECIAL_PASS}"),
        SPECIAL_PASS.to_owned(),
        SPECIAL_PASS_IN_URL.to_owned(),
        SPECIAL_PASS_IN_URL.to_ascii_lowercase(),
        proxyscope::testing::basic_auth(SPECIAL_USER, SPECIAL_PASS)["Basic ".len()..].to_owned(),
        QUERY_KEY.to_owned(),
    ];
    out.extend(SPECIAL_FRAGMENTS.map(str::to_owned));
    out
}

// ---------------------------------------------------------------------------------------------
// Capturing tracing output
// ---------------------------------------------------------------------------------------------

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

/// Installs a TRACE subscriber for the whole process (spans with their fields, events) and
/// returns its buffer.
fn capture_tracing() -> Buffer {
    static BUFFER: OnceLock<Buffer> = OnceLock::new();
    BUFFER
        .get_or_init(|| {
            let buffer = Buffer::default();
            let writer = buffer.clone();
            let subscriber = tracing_subscriber::fmt()
                .with_max_level(tracing::Level::TRACE)
                .with_ansi(false)
                .with_span_events(tracing_subscriber::fmt::format::FmtSpan::FULL)
                .with_writer(move || writer.clone())
                .finish();
            tracing::subscriber::set_global_default(subscriber).unwrap();
            buffer
        })
        .clone()
}

// ---------------------------------------------------------------------------------------------
// What was printed
// ---------------------------------------------------------------------------------------------

/// Everything printed during the test, by label, and the codes the scenarios ended in.
#[derive(Default)]
struct Printed {
    texts: Vec<(String, String)>,
    codes: BTreeSet<&'static str>,
}

impl Printed {
    fn text(&mut self, label: &str, text: impl Into<String>) {
        self.texts.push((label.to_owned(), text.into()));
    }

    /// Every printed form of an error (and of its route and evidence).
    fn error(&mut self, label: &str, e: &Error) {
        self.codes.insert(e.code());
        self.text(label, e.to_string());
        self.text(label, format!("{e:?}"));
        self.text(label, format!("{e:#?}"));
        self.text(label, e.report());
        self.text(label, e.message());
        self.text(label, serde_json::to_string(e).unwrap());
        self.text(label, e.hint().unwrap_or_default());
        self.text(label, format!("{:?}", e.evidence()));
        self.text(label, serde_json::to_string(e.evidence()).unwrap());
        let mut src = std::error::Error::source(e);
        while let Some(s) = src {
            self.text(label, s.to_string());
            src = s.source();
        }
        if let Some(r) = e.route() {
            self.route(label, r);
        }
    }

    fn route(&mut self, label: &str, r: &proxyscope::Route) {
        self.text(label, r.explain());
        self.text(label, r.summary());
        self.text(label, format!("{r:?}"));
        self.text(label, serde_json::to_string(r).unwrap());
    }

    /// Runs `GET url` on `client`; records the error, or the response's route and status.
    async fn get(&mut self, label: &str, client: &Client, url: &str) -> Option<&'static str> {
        match client.get(url).await.and_then(|r| r.error_for_status()) {
            Ok(res) => {
                self.route(label, res.route());
                self.text(label, format!("{:?}", res.attribution()));
                None
            }
            Err(e) => {
                self.error(label, &e);
                Some(e.code())
            }
        }
    }

    fn assert_clean(&self) {
        for secret in secrets() {
            for (label, text) in &self.texts {
                assert!(
                    !text.contains(&secret),
                    "{label}: a credential form appears in:\n{text}"
                );
            }
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Clients and servers
// ---------------------------------------------------------------------------------------------

fn creds_url(scheme: &str, addr: SocketAddr) -> String {
    format!("{scheme}://{USER}:{PASS}@{addr}")
}

fn resolver() -> Resolver {
    Resolver::pinned("localhost", ["127.0.0.1".parse().unwrap()]).pin("proxy.invalid", [])
}

fn layer(proxy: &str, pki: &TestPki) -> Settings {
    Settings::new()
        .with_proxy(ProxySetting::parse(proxy).unwrap())
        .with_ca_file([pki.root_pem_path().to_path_buf()])
        .with_timeout(Phase::Connect, Duration::from_secs(2))
        .with_timeout(Phase::Proxy, Duration::from_millis(500))
        .with_timeout(Phase::Tls, Duration::from_millis(500))
        .with_timeout(Phase::Http, Duration::from_millis(500))
}

fn client(layer: Settings) -> Client {
    Client::builder()
        .global(layer)
        .env(EnvSnapshot::from_pairs(Vec::<(String, String)>::new()))
        .resolver(resolver())
        .build()
        .unwrap()
}

async fn proxy(policy: Policy) -> TestProxy {
    TestProxy::builder().policy(policy).start().await
}

/// A TCP server that accepts and never says a word.
async fn silent() -> RawServer {
    RawServer::start(|s| async move {
        tokio::time::sleep(HOLD).await;
        drop(s);
    })
    .await
}

/// A SOCKS5 server that accepts none of the offered methods.
async fn socks_no_method() -> RawServer {
    RawServer::start(|mut s| async move {
        let mut greeting = [0u8; 4];
        let _ = s.read(&mut greeting).await;
        let _ = s.write_all(&[5, 0xFF]).await;
    })
    .await
}

// ---------------------------------------------------------------------------------------------
// The probe
// ---------------------------------------------------------------------------------------------

/// Runs the probe with `args`; records stdout and stderr and returns stdout.
async fn run_probe(
    printed: &mut Printed,
    probe: &Path,
    args: &[&str],
    env: &[(&str, &str)],
) -> String {
    let out = tokio::process::Command::new(probe)
        .args(args)
        .env_remove("PROXYSCOPE_CONFIG")
        .envs(env.iter().copied())
        .output()
        .await
        .unwrap();
    let label = format!("probe {}", args.join(" "));
    assert!(
        out.status.code().is_some(),
        "{label} was killed by a signal"
    );
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(
        !stdout.is_empty() || !stderr.is_empty(),
        "{label} printed nothing"
    );
    printed.text(&label, stdout.clone());
    printed.text(&label, stderr);
    stdout
}

// ---------------------------------------------------------------------------------------------
// The test
// ---------------------------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn credentials_never_appear_in_any_output_of_any_failure() {
    let logs = capture_tracing();
    let mut p = Printed::default();
    let pki = TestPki::new();
    let origin = TestOrigin::https(&pki, pki.localhost(), ChainMode::Full).await;
    let url = origin.url_with_host("localhost", "/");

    // proxy.dns, proxy.connect, proxy.timeout
    let c = client(layer(
        &format!("http://{USER}:{PASS}@proxy.invalid:3128"),
        &pki,
    ));
    p.get("proxy.dns", &c, &url).await;
    let c = client(layer(&creds_url("http", refused_addr()), &pki));
    p.get("proxy.connect", &c, &url).await;
    let silent_proxy = silent().await;
    let c = client(layer(&creds_url("http", silent_proxy.addr()), &pki));
    p.get("proxy.timeout", &c, &url).await;

    // proxy.tls: an https:// proxy whose certificate the client does not trust.
    let tls_proxy = TestProxy::builder()
        .tls(&pki, pki.localhost())
        .start()
        .await;
    let c = client(
        layer(&creds_url("https", tls_proxy.https_addr().unwrap()), &pki)
            .with_ca_file(Vec::<PathBuf>::new()),
    );
    p.get("proxy.tls", &c, &url).await;

    // Refusals by an HTTP proxy.
    for (label, policy) in [
        (
            "success with credentials",
            Policy::require_basic(USER, PASS, "corp"),
        ),
        (
            "proxy.auth_rejected",
            Policy::require_basic(USER, "other", "corp"),
        ),
        ("proxy.forbidden", Policy::deny(&["localhost"])),
        ("proxy.upstream", Policy::Unreachable),
        ("proxy.upstream dns", Policy::Unresolvable),
        (
            "proxy.refused",
            Policy::Reply(CannedReply::new(517).reason("Odd")),
        ),
        ("proxy.protocol", Policy::Garbage),
        ("proxy.protocol oversized", Policy::OversizedHeaders),
        ("proxy.closed", Policy::CloseAfterAccept),
    ] {
        let proxy = proxy(policy).await;
        let c = client(layer(&creds_url("http", proxy.addr()), &pki));
        p.get(label, &c, &url).await;
        // Plain http:// through the same proxy: absolute-form, Proxy-Authorization on the request.
        p.get(
            &format!("{label} (absolute-form)"),
            &c,
            "http://localhost:9/",
        )
        .await;
    }

    // SOCKS5 with credentials: rejected, no acceptable method, refused destination.
    let socks = TestProxy::builder()
        .socks5_auth(USER, "other")
        .start()
        .await;
    let c = client(layer(
        &creds_url("socks5h", socks.socks5_addr().unwrap()),
        &pki,
    ));
    p.get("socks proxy.auth_rejected", &c, &url).await;
    let no_method = socks_no_method().await;
    let c = client(layer(&creds_url("socks5", no_method.addr()), &pki));
    p.get("socks proxy.auth_required", &c, &url).await;
    let socks = TestProxy::builder()
        .policy(Policy::deny(&["localhost"]))
        .socks5_auth(USER, PASS)
        .start()
        .await;
    let c = client(layer(
        &creds_url("socks5h", socks.socks5_addr().unwrap()),
        &pki,
    ));
    p.get("socks proxy.refused", &c, &url).await;

    // Failover: a list whose dead first proxy and live SOCKS4a second carry credentials (the
    // attempts, the skipped candidate, the route of the response); every candidate dead.
    let socks4 = TestProxy::builder().socks5().start().await;
    let dead = creds_url("http", refused_addr());
    let list = |second: String| {
        layer(&dead, &pki).with_proxy_list([
            ProxySetting::parse(&dead).unwrap(),
            ProxySetting::parse(&second).unwrap(),
        ])
    };
    let c = client(list(creds_url("socks4a", socks4.socks5_addr().unwrap())));
    p.get("failover to socks4a", &c, &url).await;
    let c = client(list(creds_url("socks4", refused_addr())));
    p.get("failover all dead", &c, &url).await;
    // A PAC answer written with credentials (browsers do not accept them; the entry is dropped
    // and the answer shown redacted).
    #[cfg(feature = "pac")]
    {
        let dir = tempfile::tempdir().unwrap();
        let pac = dir.path().join("creds.pac");
        std::fs::write(
            &pac,
            format!(
                "function FindProxyForURL(u, h) {{ return 'PROXY {USER}:{PASS}@127.0.0.1:9; {}'; }}",
                dead.replace("http://", "PROXY ")
            ),
        )
        .unwrap();
        let c = Client::builder()
            .global(Settings::new().with_pac(&pac))
            .env(EnvSnapshot::from_pairs(Vec::<(String, String)>::new()))
            .resolver(resolver())
            .build()
            .unwrap();
        p.get("pac answer with credentials (pac in force)", &c, &url)
            .await;
        if let Ok(r) = c.route(None, url.as_str()) {
            p.route("pac route", &r);
        }
    }

    // The origin's TLS failures, through a proxy that takes the credentials.
    let ok_proxy = proxy(Policy::require_basic(USER, PASS, "corp")).await;
    let via = creds_url("http", ok_proxy.addr());
    for (label, leaf) in [
        ("tls.hostname_mismatch", pki.wrong_host()),
        ("tls.expired", pki.expired(&["localhost"])),
        ("tls.not_yet_valid", pki.not_yet_valid(&["localhost"])),
        ("tls.unknown_issuer", pki.self_signed(&["localhost"])),
    ] {
        let bad = TestOrigin::https(&pki, &leaf, ChainMode::Full).await;
        let c = client(layer(&via, &pki));
        p.get(label, &c, &bad.url_with_host("localhost", "/")).await;
    }
    let plain = TestOrigin::http().await;
    let c = client(layer(&via, &pki));
    p.get(
        "tls.handshake",
        &c,
        &plain
            .url_with_host("localhost", "/")
            .replace("http://", "https://"),
    )
    .await;
    let c = client(layer(&via, &pki));
    let silent_origin = silent().await;
    p.get(
        "tls.timeout",
        &c,
        &format!("https://localhost:{}/", silent_origin.addr().port()),
    )
    .await;

    // HTTP: an origin 403 through the tunnel, a request timeout through absolute-form.
    let c = client(layer(&via, &pki));
    p.get(
        "http.status",
        &c,
        &origin.url_with_host("localhost", "/status/403"),
    )
    .await;
    let stalled = proxy(Policy::Stall).await;
    let c = client(layer(&creds_url("http", stalled.addr()), &pki));
    p.get("http.timeout (absolute-form)", &c, "http://localhost:9/")
        .await;

    // The diagnosis's second looks: a refusal led by a near-miss no_proxy entry that itself
    // carries the credentials, a tunnel the proxy cut, a proxy's own login redirect, and an
    // http:// proxy URL at a TLS listener (the hint writes the https:// URL).
    let both = TestProxy::builder()
        .policy(Policy::require_basic(USER, PASS, "corp"))
        .policy(Policy::deny(&["localhost"]))
        .start()
        .await;
    let c = client(
        layer(&creds_url("http", both.addr()), &pki).with_no_proxy(NoProxy::parse(&format!(
            "http://{USER}:{PASS}@localhost:9/"
        ))),
    );
    p.get("proxy.forbidden (near miss)", &c, "https://localhost:9/")
        .await;
    let cut = proxy(Policy::OkThenReset).await;
    let c = client(layer(&creds_url("http", cut.addr()), &pki));
    p.get("proxy.closed (tunnel)", &c, "https://localhost:9/")
        .await;
    // Portals send the requested URL along (encoded, so no `key=` is visible) to return to it,
    // and sometimes the credentials they saw.
    let portal = proxy(Policy::Reply(CannedReply::login_redirect(&format!(
        "http://login.corp.test/?next=http%3A%2F%2Flocalhost%3A9%2F%3Fkey%3D{QUERY_KEY}&token={PASS}"
    ))))
    .await;
    let c = client(layer(&creds_url("http", portal.addr()), &pki));
    match c
        .get(format!("http://localhost:9/?key={QUERY_KEY}"))
        .await
        .and_then(|r| r.error_for_proxy_reply())
    {
        Ok(r) => panic!("a login redirect is the proxy's: {}", r.status()),
        Err(e) => {
            // The redirect's target is shown (the secrets in it are not).
            assert!(e.report().contains("login.corp.test"), "{}", e.report());
            p.error("proxy.refused (login redirect)", &e);
        }
    }
    let tls_proxy = TestProxy::builder()
        .tls(&pki, pki.localhost())
        .start()
        .await;
    let tls_addr = tls_proxy.https_addr().expect("tls listener");
    let c = client(layer(&creds_url("http", tls_addr), &pki));
    p.get("proxy.protocol (speaks TLS)", &c, "https://localhost:9/")
        .await;

    // The request builder: origin credentials set through basic_auth, bearer_auth and a cookie,
    // sent through a proxy with credentials, redirected until the loop error; a URL with
    // userinfo; a header with a line break after the credentials.
    let looping = TestOrigin::http().await;
    let open_proxy = TestProxy::allow_all().await;
    let c = client(layer(&creds_url("http", open_proxy.addr()), &pki));
    let b = c
        .get(looping.url_with_host("localhost", "/loop/a"))
        .basic_auth(USER, Some(PASS))
        .header("cookie", format!("sid={PASS}"))
        .redirect(proxyscope::client::RedirectPolicy::limited(5));
    p.text("RequestBuilder", format!("{b:?}"));
    match b.send().await {
        Ok(r) => panic!("a loop is an error: {}", r.status()),
        Err(e) => p.error("http.redirect_loop (credentials)", &e),
    }
    let res = c
        .get(looping.url_with_host("localhost", "/status/418"))
        .bearer_auth(PASS)
        .send()
        .await
        .expect("a reply");
    p.text("Response", format!("{res:?} {:?}", res.redirects()));
    if let Err(e) = res.error_for_status() {
        p.error("http.status (bearer)", &e);
    }
    for b in [
        c.get(format!("http://{USER}:{PASS}@localhost:9/")),
        c.get("http://localhost:9/")
            .bearer_auth(format!("{PASS}\r\nx: y")),
        c.get("http://localhost:9/")
            .header("x-token", format!("{PASS}\n")),
    ] {
        // Userinfo is sent as Basic (the proxy answers); the others are refused unsent.
        match b.send().await {
            Ok(r) => p.text("Response (userinfo)", format!("{r:?} {:?}", r.route())),
            Err(e) => p.error("request.* (credentials)", &e),
        }
    }
    // TLS interception by the route's proxy: the headline names that proxy and where it was set.
    let mitm = TestProxy::builder()
        .intercept_presenting_ca(&pki)
        .start()
        .await;
    let c = client(layer(&creds_url("http", mitm.addr()), &pki));
    assert_eq!(
        p.get("tls.unknown_issuer (interception)", &c, &url).await,
        Some("tls.unknown_issuer")
    );
    #[cfg(feature = "pac")]
    pac_outputs(&mut p);

    // Configuration errors that carry the credentials.
    for bad in [
        format!("http://{USER}:{PASS}@bad host:3128"),
        format!("ftp://{USER}:{PASS}@proxy.test:21"),
        format!("http://{USER}:{PASS}@proxy.test:99999"),
        format!("{USER}:{PASS}@[::1"),
    ] {
        match ProxyUrl::parse(&bad) {
            Ok(u) => p.text("ProxyUrl", format!("{u} {u:?}")),
            Err(e) => {
                p.text("ProxyUrlError", format!("{e} {e:?} {}", e.input()));
                p.error("config.proxy_url", &Error::from(e));
            }
        }
    }
    let env = EnvSnapshot::from_pairs([
        ("https_proxy", format!("http://{USER}:{PASS}@bad host:1")),
        ("HTTPS_PROXY", format!("http://{USER}:{PASS}@other.test:1")),
        ("HTTP_PROXY", format!("http://{USER}:{PASS}@ignored.test:1")),
        (
            "no_proxy",
            format!("http://{USER}:{PASS}@x.test/,localhost"),
        ),
    ]);
    p.text("EnvSnapshot", format!("{env:?}"));
    let c = Client::builder()
        .env(env.clone())
        .resolver(resolver())
        .build()
        .unwrap();
    p.get("env proxy", &c, &url).await;
    if let Err(e) = c.route(None, &url) {
        p.error("env route", &e);
    }
    let list = NoProxy::parse(&format!("localhost,http://{USER}:{PASS}@x.test/"));
    p.text(
        "NoProxy",
        format!("{list} {list:?} {}", serde_json::to_string(&list).unwrap()),
    );
    for d in list.diagnostics() {
        p.text("NoProxy diagnostic", format!("{d} {d:?} {}", d.message()));
    }
    let missing_ca = Client::builder()
        .global(layer(&via, &pki).with_ca_file([pki.dir().join("missing.pem")]))
        .env(EnvSnapshot::default())
        .build();
    if let Err(e) = missing_ca {
        p.error("config.ca_file", &e);
    }
    let bad_config = format!(
        "proxy = \"ftp://{USER}:{PASS}@proxy.test:21\"\nno_proxy = [\"http://{USER}:{PASS}@x.test/\"]\ncacert = \"x\"\n[providers.a]\nurl = \"https://{USER}:{PASS}@a.test/\"\nproxy = \"http://{USER}:{PASS}@bad host\"\n"
    );
    for d in ConfigDocument::from_toml_str(&bad_config, "bad.toml").lint(&env) {
        p.text(
            "lint",
            format!("{d} {d:?} {}", serde_json::to_string(&d).unwrap()),
        );
    }
    if let Err(e) = Config::from_toml_str(&bad_config, "bad.toml") {
        p.error("config.invalid", &e);
    }
    let good_config = format!(
        "proxy = \"http://{USER}:{PASS}@proxy.test:3128\"\n[providers.a]\nurl = \"https://a.test/\"\nproxy = \"socks5h://{USER}:{PASS}@socks.test:1080\"\n"
    );
    let cfg = Config::from_toml_str(&good_config, "good.toml").unwrap();
    p.text("Config", format!("{cfg:?}"));
    for d in cfg.lint(&env) {
        p.text("lint", format!("{d} {d:?}"));
    }
    for s in cfg.settings_with_env(Some("a"), &env).unwrap_or_default() {
        p.text("setting", format!("{s:?}"));
    }

    // The probe example (scripts/test builds the examples before the tests; CI does too).
    let probe = probe_bin();
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("probe.toml");
    let deny = proxy(Policy::deny(&["localhost"])).await;
    let wrong = proxy(Policy::require_basic(USER, "other", "corp")).await;
    let config = format!(
        "proxy = \"{via}\"\nca_file = {ca:?}\n[timeouts]\nproxy = \"1s\"\ntls = \"1s\"\nrequest = \"2s\"\n\
             [providers.ok]\nurl = \"{url}\"\n\
             [providers.denied]\nurl = \"{url}\"\nproxy = \"{denied}\"\n\
             [providers.rejected]\nurl = \"{url}\"\nproxy = \"{rejected}\"\n\
             [providers.refused]\nurl = \"{url}\"\nproxy = \"{refused}\"\n",
        ca = pki.root_pem_path().display().to_string(),
        denied = creds_url("http", deny.addr()),
        rejected = creds_url("http", wrong.addr()),
        refused = creds_url("http", refused_addr()),
    );
    std::fs::File::create(&file)
        .unwrap()
        .write_all(config.as_bytes())
        .unwrap();
    let bad_file = dir.path().join("bad.toml");
    std::fs::write(&bad_file, &bad_config).unwrap();
    let f = file.to_str().unwrap();
    let b = bad_file.to_str().unwrap();
    let env_proxy = format!("http://{USER}:{PASS}@proxy.test:3128");
    let json = run_probe(
        &mut p,
        &probe,
        &["check", "--config", f, "--format", "json"],
        &[],
    )
    .await;
    let json: serde_json::Value = serde_json::from_str(&json).unwrap();
    let codes: BTreeSet<&str> = json["checks"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|c| c["error"]["code"].as_str())
        .collect();
    for code in ["proxy.forbidden", "proxy.auth_rejected", "proxy.connect"] {
        assert!(codes.contains(code), "probe check codes {codes:?}");
    }
    for args in [
        &["check", "--config", f][..],
        &["check", "--config", f, "--format", "prometheus"],
        &["check", "--config", b, "--format", "json"],
        &["check", "--config", b],
        &["lint", "--config", f],
        &["lint", "--config", b, "--format", "json"],
        &["config", "--config", f, "--show-origin"],
        &["route", &url, "--config", f, "--provider", "denied"],
        &["route", &url, "--config", f, "--format", "json"],
        &["route", "https://x.test/", "--format", "json"],
    ] {
        run_probe(
            &mut p,
            &probe,
            args,
            &[
                ("https_proxy", &env_proxy),
                ("HTTP_PROXY", &env_proxy),
                ("RUST_LOG", "trace"),
            ],
        )
        .await;
    }

    special_characters_everywhere(&mut p, &pki, &origin, &probe).await;

    // Every scenario ran and ended in its code.
    for code in [
        "proxy.dns",
        "proxy.connect",
        "proxy.timeout",
        "proxy.tls",
        "proxy.auth_required",
        "proxy.auth_rejected",
        "proxy.forbidden",
        "proxy.upstream",
        "proxy.refused",
        "proxy.protocol",
        "proxy.closed",
        "tls.unknown_issuer",
        "tls.hostname_mismatch",
        "tls.expired",
        "tls.not_yet_valid",
        "tls.handshake",
        "tls.timeout",
        "http.status",
        "http.timeout",
        "config.proxy_url",
        "config.ca_file",
        "config.invalid",
    ] {
        assert!(
            p.codes.contains(code),
            "no scenario ended in {code}: {:?}",
            p.codes
        );
    }

    let logged = String::from_utf8_lossy(&logs.0.lock().unwrap()).into_owned();
    assert!(
        logged.contains("proxy") && logged.lines().count() > 50,
        "the tracing subscriber captured the client's spans"
    );
    p.text("tracing", logged);
    p.assert_clean();
}

/// PAC answers, alerts and exceptions that carry the credentials (in a proxy entry, a URL, or
/// split by the `;` that separates entries): the decision, its errors and the PAC lint.
#[cfg(feature = "pac")]
fn pac_outputs(p: &mut Printed) {
    use proxyscope::pac::{LintOptions, Pac, PacOptions, PacScript, lint};
    let url = url::Url::parse(&format!("https://a.test/x?key={QUERY_KEY}")).unwrap();
    let bodies = [
        format!("return \"PROXY {USER}:{PASS}@proxy.test:3128; DIRECT\";"),
        format!("return \"PROXY http://{USER}:{PASS}@proxy.test:3128\";"),
        format!("return \"PROXY {SPECIAL_USER}:{SPECIAL_PASS}@proxy.test:3128\";"),
        format!(
            "alert(\"via http://{USER}:{PASS}@proxy.test:3128 for \" + url); \
             throw new Error(\"no http://{USER}:{PASS}@proxy.test\");"
        ),
        "alert(url); return \"PROXY proxy.test:3128\";".to_owned(),
    ];
    for (body, shows) in bodies.iter().zip([
        "proxy.test",
        "proxy.test",
        "proxy.test",
        "proxy.test",
        "a.test",
    ]) {
        let source = format!("function FindProxyForURL(url, host) {{ {body} }}");
        let script = PacScript::from_source(source, "inline.pac").unwrap();
        for d in lint(&script, &LintOptions::default()) {
            p.text("pac lint", format!("{d} {d:?}"));
        }
        let pac = Pac::new(script, PacOptions::new()).unwrap();
        // Each case must show the part of the answer around the secret, or it proves nothing.
        match pac.find_proxy(&url) {
            Ok(d) => {
                let text = format!("{d:?}");
                assert!(text.contains(shows), "{body}: {text}");
                p.text("pac decision", text);
            }
            Err(e) => {
                assert!(e.report().contains(shows), "{body}: {}", e.report());
                p.error("pac error", &e);
            }
        }
    }
}

/// The special credentials, unencoded in configuration, environment and `no_proxy`, encoded in
/// provider URLs next to a secret query parameter, through a proxy that echoes every request;
/// the client, the exporter (in-process, so its logs reach the capture) and the probe binary.
async fn special_characters_everywhere(
    p: &mut Printed,
    pki: &TestPki,
    origin: &TestOrigin,
    probe: &Path,
) {
    let (su, sp, enc) = (SPECIAL_USER, SPECIAL_PASS, SPECIAL_PASS_IN_URL);
    // Configuration and environment, written as users write them.
    let raw_config = format!(
        "proxy = \"http://{su}:{sp}@proxy.test:3128\"\n\
         no_proxy = [\"localhost\", \"http://{su}:{sp}@x.test/\"]\n\
         [providers.a]\nurl = \"https://{su}:{enc}@a.test/v1?key={QUERY_KEY}\"\n\
         proxy = \"{su}:{sp}@p.test:1\"\n"
    );
    let env = EnvSnapshot::from_pairs([
        ("https_proxy", format!("http://{su}:{sp}@proxy.test:3128")),
        (
            "no_proxy",
            format!("localhost,http://{su}:{sp}@x.test/,.svc.test"),
        ),
    ]);
    p.text("special EnvSnapshot", format!("{env:?}"));
    for d in ConfigDocument::from_toml_str(&raw_config, "special.toml").lint(&env) {
        p.text(
            "special lint",
            format!("{d} {d:?} {}", serde_json::to_string(&d).unwrap()),
        );
    }
    if let Err(e) = Config::from_toml_str(&raw_config, "special.toml") {
        p.error("special config.invalid", &e);
    }
    let c = Client::builder()
        .env(env)
        .resolver(resolver())
        .build()
        .unwrap();
    if let Err(e) = c.route(None, "https://a.test/") {
        p.error("special env route", &e);
    }

    // A provider URL with userinfo and a secret query value, through a proxy (with the special
    // credentials, encoded) that echoes each request into its 403.
    let echo = proxy(Policy::EchoRequest(403)).await;
    let via = format!("http://{su}:{enc}@{}", echo.addr());
    let https_url = origin.url_with_host("localhost", &format!("/x?key={QUERY_KEY}"));
    let with_userinfo = |u: &str| u.replacen("://", &format!("://{su}:{enc}@"), 1);
    let client = Client::builder()
        .provider("p", &with_userinfo(&https_url), layer(&via, pki))
        .env(EnvSnapshot::from_pairs(Vec::<(String, String)>::new()))
        .resolver(resolver())
        .build()
        .unwrap();
    assert_eq!(
        p.get(
            "special echo (CONNECT)",
            &client,
            &with_userinfo(&https_url)
        )
        .await,
        Some("proxy.forbidden")
    );
    let plain = format!("http://localhost:{}/x?key={QUERY_KEY}", origin.port());
    p.get(
        "special echo (absolute-form)",
        &client,
        &with_userinfo(&plain),
    )
    .await;
    assert!(
        echo.requests().iter().any(|r| r.has_proxy_authorization),
        "the echoing proxy received the credentials it echoed"
    );

    // The exporter, in-process: its probes and logs run under the capturing subscriber.
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("exporter.toml");
    let exporter_config = format!(
        "ca_file = {ca:?}\n[timeouts]\nproxy = \"1s\"\nrequest = \"2s\"\n\
         [providers.echoed]\nurl = \"{url}\"\nproxy = \"{via}\"\n",
        ca = pki.root_pem_path().display().to_string(),
        url = with_userinfo(&https_url),
    );
    std::fs::write(&file, &exporter_config).unwrap();
    let exporter = proxyscope::probe::exporter::Exporter::new(
        &file,
        EnvSnapshot::from_pairs(Vec::<(String, String)>::new()),
        resolver(),
        proxyscope::probe::exporter::Limits::default(),
    )
    .unwrap();
    for target in ["/probe?target=echoed", "/", "/metrics"] {
        let req = http::Request::get(target).body(()).unwrap();
        let res = exporter.handle(&req).await;
        p.text(&format!("exporter {target}"), res.body().clone());
    }

    // The probe binary over a file with the special credentials, valid and invalid.
    let good = dir.path().join("special.toml");
    std::fs::write(&good, &exporter_config).unwrap();
    let bad = dir.path().join("special-bad.toml");
    std::fs::write(&bad, &raw_config).unwrap();
    let (g, b) = (good.to_str().unwrap(), bad.to_str().unwrap());
    let env_proxy = format!("http://{su}:{sp}@proxy.test:3128");
    let json = run_probe(p, probe, &["check", "--config", g, "--format", "json"], &[]).await;
    assert!(json.contains("proxy.forbidden"), "{json}");
    for args in [
        &["check", "--config", g][..],
        &["check", "--config", g, "--format", "prometheus"],
        &["check", "--config", b, "--format", "json"],
        &["check", "--config", b],
        &["lint", "--config", b],
        &["lint", "--config", b, "--format", "json"],
        &["config", "--config", g, "--show-origin"],
        &["config", "--config", g, "--format", "json"],
        &[
            "route",
            &with_userinfo(&plain),
            "--config",
            g,
            "--provider",
            "echoed",
        ],
        &["route", &with_userinfo(&plain), "--format", "json"],
    ] {
        run_probe(
            p,
            probe,
            args,
            &[
                ("https_proxy", &env_proxy),
                ("no_proxy", &env_proxy),
                ("RUST_LOG", "trace"),
            ],
        )
        .await;
    }
}
