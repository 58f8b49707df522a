//! The probe as a library: `plan` + `Runner` over the real client against harness servers and a
//! small redirecting hyper server. Concurrency and order, progress, redirects (reported unless
//! followed), insecure TLS surfaced as a warning, and credentials absent from every rendering.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use crate::common::probe::{rendezvous_server, toml_str};
use proxyscope::config::Config;
use proxyscope::connect::Resolver;
use proxyscope::probe::{Report, Runner, State, plan, prometheus, text};
use proxyscope::testing::{ChainMode, Policy, TestOrigin, TestPki, TestProxy};
use proxyscope::{EnvSnapshot, Hop};

async fn run(toml: &str, runner: impl FnOnce(Runner) -> Runner) -> Report {
    let config = Config::from_toml_str(toml, "probe.toml").expect("valid config");
    let checks = plan::checks(&config, &[]).expect("checks");
    let env = EnvSnapshot::from_pairs(Vec::<(String, String)>::new());
    let client = plan::client(&config, env, Resolver::system()).expect("client");
    runner(Runner::new(client)).run(&checks).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn checks_run_concurrently_keep_their_order_and_report_progress() {
    // `/together` answers only when three requests are in flight at once; `/slow` makes the run
    // last more than a second so progress is reported.
    let (together, server) = rendezvous_server(3).await;
    let origin = TestOrigin::http().await;
    let mut toml = String::new();
    for name in ["c", "a", "b"] {
        toml.push_str(&format!(
            "[providers.{name}]\nurl = {}\nproxy = \"direct\"\n[[providers.{name}.checks]]\nname = \"together\"\npath = \"/together\"\nexpect_status = 200\n",
            toml_str(&together)
        ));
    }
    toml.push_str(&format!(
        "[providers.slow]\nurl = {}\nproxy = \"direct\"\n[[providers.slow.checks]]\nname = \"slow\"\npath = \"/slow?ms=1300\"\n",
        toml_str(origin.url(""))
    ));
    let seen = Arc::new(Mutex::new(Vec::new()));
    let sink = Arc::clone(&seen);
    let report = run(&toml, |r| {
        r.on_progress(move |p| sink.lock().unwrap().push(p.clone()))
    })
    .await;
    let order: Vec<&str> = report.checks.iter().map(|c| c.provider.as_str()).collect();
    assert_eq!(order, ["c", "a", "b", "slow"]);
    assert!(
        report.checks.iter().all(|c| c.ok && c.status == Some(200)),
        "{:?}",
        report
            .checks
            .iter()
            .map(|c| (c.id(), c.status))
            .collect::<Vec<_>>()
    );
    let progress = seen.lock().unwrap().clone();
    assert!(!progress.is_empty(), "no progress after a second");
    assert_eq!(progress[0].total, 4);
    assert!(progress[0].elapsed >= Duration::from_secs(1));
    assert_eq!(progress[0].pending.len(), 4 - progress[0].done);
    assert!(progress[0].pending.contains(&"slow/slow".to_owned()));
    server.abort();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redirects_are_reported_unless_the_check_follows_them() {
    let (url, server) = rendezvous_server(1).await;
    let toml = format!(
        r#"
[providers.svc]
url = {url}
proxy = "direct"
[[providers.svc.checks]]
name = "strict"
path = "/old"
expect_status = 200
[[providers.svc.checks]]
name = "follows"
path = "/old"
expect_status = 200
body_contains = "moved here"
follow_redirects = true
"#,
        url = toml_str(&url)
    );
    let report = run(&toml, |r| r).await;
    let strict = &report.checks[0];
    assert_eq!(strict.status, Some(302));
    let e = strict.error.as_ref().expect("a 302 on a health path fails");
    assert_eq!(e.code(), "http.status");
    assert_eq!(e.hop, Some(Hop::Origin));
    assert!(e.evidence.expected.as_deref().unwrap().contains("/new"));
    let follows = &report.checks[1];
    assert!(follows.ok, "{:?}", follows.error);
    assert_eq!(follows.status, Some(200));
    assert_eq!(follows.url, format!("{url}/old"));
    server.abort();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn insecure_tls_passes_but_warns_and_is_not_verified() {
    let pki = TestPki::new();
    let origin = TestOrigin::https(&pki, pki.localhost(), ChainMode::Full).await;
    let toml = format!(
        "[providers.lax]\nurl = {}\nproxy = \"direct\"\ndanger_accept_invalid_certs = true\n",
        toml_str(origin.url("/"))
    );
    let report = run(&toml, |r| r).await;
    let c = &report.checks[0];
    assert!(c.ok, "{:?}", c.error);
    assert_eq!(c.state, State::Warning);
    assert!(
        c.warnings
            .iter()
            .any(|w| w.contains("danger_accept_invalid_certs"))
    );
    let cert = c.certificate.as_ref().expect("the certificate is reported");
    assert!(!cert.verified);
    assert_eq!(report.state(), State::Warning);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn proxy_credentials_never_appear_in_any_output() {
    let pki = TestPki::new();
    let origin = TestOrigin::https(&pki, pki.localhost(), ChainMode::Full).await;
    let proxy = TestProxy::builder()
        .policy(Policy::require_basic("probe-user", "s3cr3t-pw", "egress"))
        .start()
        .await;
    let good = proxy.url_with_credentials("probe-user", "s3cr3t-pw");
    let bad = proxy.url_with_credentials("probe-user", "wr0ng-pw");
    let toml = format!(
        "[providers.good]\nurl = {url}\nproxy = {good}\nca_file = {ca}\n\
         [providers.bad]\nurl = {url}\nproxy = {bad}\nca_file = {ca}\n",
        url = toml_str(origin.url("/")),
        good = toml_str(&good),
        bad = toml_str(&bad),
        ca = toml_str(pki.root_pem_path().display().to_string()),
    );
    let report = run(&toml, |r| r).await;
    assert!(report.checks[0].ok, "{:?}", report.checks[0].error);
    let e = report.checks[1]
        .error
        .as_ref()
        .expect("wrong password fails");
    assert_eq!(e.code(), "proxy.auth_rejected");
    assert_eq!(e.hop, Some(Hop::Proxy));
    assert_eq!(e.evidence.credentials_sent, Some(true));
    for out in [
        report.to_json(),
        text::render(&report, false),
        prometheus::render(&report),
        format!("{report:?}"),
    ] {
        for secret in ["s3cr3t-pw", "wr0ng-pw"] {
            assert!(!out.contains(secret), "{secret} leaked:\n{out}");
        }
        assert!(out.contains("good"));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_followed_redirect_takes_the_route_of_the_provider_it_lands_on() {
    // `front` (direct) redirects to `back`, which is only reachable through its proxy: the
    // redirect must be followed through back's profile, not front's.
    let front = TestOrigin::http().await;
    let back = TestOrigin::http().await;
    let proxy = TestProxy::allow_all().await;
    let onward = back.url("/echo");
    let path = format!(
        "/redirect?to={}",
        url::form_urlencoded::byte_serialize(onward.as_bytes()).collect::<String>()
    );
    let toml = format!(
        r#"
[providers.front]
url = {front}
proxy = "direct"
[[providers.front.checks]]
name = "moved"
path = {path}
expect_status = 200
follow_redirects = true
[[providers.front.checks]]
name = "loops"
path = "/loop/a"
follow_redirects = true

[providers.back]
url = {back}
proxy = {proxy}
"#,
        front = toml_str(front.url("")),
        back = toml_str(back.url("")),
        path = toml_str(&path),
        proxy = toml_str(proxy.url()),
    );
    let report = run(&toml, |r| r).await;
    let moved = &report.checks[0];
    assert!(moved.ok, "{:?}", moved.error);
    assert_eq!(moved.status, Some(200));
    let route = moved.route.as_ref().expect("the final route");
    assert_eq!(route.provider(), Some("back"));
    assert!(route.proxy().is_some());
    // (back's own default check goes through the proxy too.)
    let via_proxy: Vec<String> = proxy.requests().into_iter().map(|r| r.target).collect();
    assert!(
        via_proxy.iter().any(|t| t.ends_with("/echo")),
        "the redirect went through back's proxy: {via_proxy:?}"
    );
    assert!(front.requests().iter().all(|r| !r.target.contains("/echo")));

    let loops = &report.checks[1];
    let e = loops.error.as_ref().expect("a loop fails the check");
    assert_eq!(e.code(), "http.redirect_loop");
    assert_eq!(e.hop, Some(Hop::Origin));
    assert_eq!(e.blame.as_str(), "origin");
    assert_eq!(e.evidence.redirects.len(), 2);
}
