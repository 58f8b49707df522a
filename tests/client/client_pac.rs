//! PAC files through the client: one script whose every branch uses a standard helper, each
//! branch reached by a real request (the script's `alert` says which branch ran, the route's
//! candidates say what it returned and which candidate carried the request); names the script
//! resolves go through the client's resolver; `PROXYSCOPE_PAC` from the environment.

use std::io::Write as _;
use std::net::IpAddr;

use crate::common::servers::layer;
use proxyscope::connect::Resolver;
use proxyscope::route::{CandidateSource, Outcome, Rule};
use proxyscope::settings::Provenance;
use proxyscope::testing::{TestOrigin, TestProxy};
use proxyscope::{EnvSnapshot, Settings};

fn loopback() -> [IpAddr; 1] {
    ["127.0.0.1".parse().unwrap()]
}

fn resolver() -> Resolver {
    let mut r = Resolver::pinned("origin.test", loopback());
    for name in [
        "plain",
        "a.corp.test",
        "www.local.test",
        "x.resolve.test",
        "t.time.test",
    ] {
        r = r.pin(name, loopback());
    }
    r
}

fn pac_file(src: &str) -> tempfile::NamedTempFile {
    let mut f = tempfile::NamedTempFile::new().unwrap();
    f.write_all(src.as_bytes()).unwrap();
    f
}

fn client(global: Settings, env: EnvSnapshot) -> proxyscope::Client {
    proxyscope::Client::builder()
        .global(global)
        .env(env)
        .resolver(resolver())
        .build()
        .unwrap()
}

/// The script: one helper per branch, each branch announcing itself with `alert`.
fn script(live: &str, dead: &str) -> String {
    format!(
        r#"function FindProxyForURL(url, host) {{
    if (isPlainHostName(host)) {{ alert("plain"); return "DIRECT"; }}
    if (dnsDomainIs(host, ".corp.test") && dnsDomainLevels(host) == 2) {{
        alert("corp"); return "PROXY {live}";
    }}
    if (localHostOrDomainIs(host, "www.local.test")) {{ alert("local"); return "DIRECT"; }}
    if (shExpMatch(host, "*.resolve.test") && isResolvable(host)
        && isInNet(dnsResolve(host), "127.0.0.0", "255.0.0.0")) {{
        alert("resolved"); return "PROXY {dead}; PROXY {live}";
    }}
    if (shExpMatch(url, "http://t.time.test:*")
        && weekdayRange("MON", "SUN") && dateRange("JAN", "DEC") && timeRange(0, 23)) {{
        alert("time " + myIpAddress()); return "SOCKS5 {dead}; DIRECT";
    }}
    // isInNet on a name resolves it (origin.test would match too): only IP literals here.
    if (/^[0-9.]+$/.test(host) && isInNet(host, "127.0.0.0", "255.0.0.0")) {{
        alert("loopback-ip"); return "DIRECT";
    }}
    alert("default"); return "PROXY {dead}";
}}"#
    )
}

#[tokio::test]
async fn every_helper_and_branch_decides_a_real_request() {
    let origin = TestOrigin::http().await;
    let live = TestProxy::builder()
        .resolve("a.corp.test", "127.0.0.1".parse().unwrap())
        .resolve("x.resolve.test", "127.0.0.1".parse().unwrap())
        .start()
        .await;
    let dead = proxyscope::testing::refused_addr().to_string();
    let f = pac_file(&script(&live.addr().to_string(), &dead));
    let client = client(Settings::new().with_pac(f.path()), EnvSnapshot::default());
    // (host, the branch's alert, the candidate used, whether it went through the live proxy)
    let cases: &[(&str, &str, usize, bool)] = &[
        ("plain", "plain", 0, false),
        ("a.corp.test", "corp", 0, true),
        ("www.local.test", "local", 0, false),
        ("127.0.0.1", "loopback-ip", 0, false),
        ("x.resolve.test", "resolved", 1, true),
        ("t.time.test", "time 127.0.0.1", 1, false),
    ];
    for &(host, alert, used, proxied) in cases {
        let before = live.requests().len();
        let resp = client
            .get(origin.url_with_host(host, "/"))
            .await
            .unwrap_or_else(|e| panic!("{host}: {}", e.report()));
        assert_eq!(resp.status(), 200, "{host}");
        let route = &resp.conn_info().expect("conn info").route;
        let c = route.candidates().expect("candidates");
        assert_eq!(c.source, CandidateSource::Pac, "{host}");
        let pac = c.pac.as_ref().expect("pac facts");
        assert_eq!(pac.host, host);
        assert_eq!(pac.alerts, [alert], "{host}");
        assert_eq!(c.used, Some(used), "{host}: {}", route.explain());
        assert_eq!(route.proxy().is_some(), proxied, "{host}");
        assert_eq!(live.requests().len() > before, proxied, "{host}");
        // The explanation: the PAC file with its provenance, what it returned, each candidate.
        let pac_step = route.steps().iter().find(|s| s.rule == Rule::Pac).unwrap();
        assert_eq!(
            pac_step.origin,
            Some(Provenance::Builder { key: "pac".into() })
        );
        assert_eq!(
            pac_step.value.as_deref(),
            Some(&*f.path().display().to_string())
        );
        let cand_steps: Vec<_> = route
            .steps()
            .iter()
            .filter(|s| s.rule == Rule::Candidate)
            .collect();
        assert_eq!(cand_steps.len(), c.entries.len());
        for (i, s) in cand_steps.iter().enumerate() {
            if i < used {
                assert_eq!(s.outcome, Outcome::Skipped, "{host} #{i}");
            }
        }
        assert!(
            matches!(cand_steps[used].outcome, Outcome::Proxy | Outcome::Direct),
            "{host}"
        );
    }
    // The resolved branch asked the client's resolver, and says so; the same URL again is
    // answered from the cache (http:// URLs are keyed with their path, as Chromium passes it).
    let r = client
        .route(None, origin.url_with_host("x.resolve.test", "/"))
        .unwrap();
    let pac = r.candidates().unwrap().pac.clone().unwrap();
    assert!(pac.from_cache, "the second answer for the URL is cached");
    assert!(
        pac.lookups
            .iter()
            .any(|l| l == "x.resolve.test = 127.0.0.1"),
        "{:?}",
        pac.lookups
    );
    // The default branch: its only proxy is dead, so the request fails with the attempt kept.
    let e = client
        .get(origin.url_with_host("origin.test", "/"))
        .await
        .expect_err("dead proxy only");
    assert_eq!(e.code(), "proxy.connect");
    assert_eq!(e.evidence().attempts.len(), 1);
    assert_eq!(e.evidence().attempts[0].candidate, format!("PROXY {dead}"));
    let c = e
        .route()
        .and_then(|r| r.candidates())
        .expect("the route says");
    assert_eq!(c.pac.as_ref().unwrap().alerts, ["default"]);
}

#[tokio::test]
async fn proxyscope_pac_from_the_environment_is_used_with_its_variable_as_provenance() {
    let origin = TestOrigin::http().await;
    let f = pac_file("function FindProxyForURL(u, h) { return 'DIRECT'; }");
    let env = EnvSnapshot::from_pairs([("PROXYSCOPE_PAC", f.path().display().to_string())]);
    let client = client(Settings::new(), env.clone());
    let resp = client.get(origin.url("/")).await.unwrap();
    let route = &resp.conn_info().unwrap().route;
    let c = route.candidates().unwrap();
    assert_eq!(
        c.origin,
        Provenance::Env {
            var: "PROXYSCOPE_PAC".into()
        }
    );
    assert_eq!(c.pac.as_ref().unwrap().returned, "DIRECT");
    // A configured proxy wins over the environment's PAC file, as over its proxy variables.
    let proxied = client_with_proxy(env);
    let r = proxied.route(None, origin.url("/")).unwrap();
    assert!(r.candidates().is_none());
}

fn client_with_proxy(env: EnvSnapshot) -> proxyscope::Client {
    client(layer(Some("http://proxy.test:3128")), env)
}

#[tokio::test]
async fn client_route_shows_the_pac_answer_in_text_and_json() {
    let f = pac_file(
        "function FindProxyForURL(u, h) { alert('hi'); return 'PROXY p.test:3128; BOGUS x; DIRECT'; }",
    );
    let client = client(Settings::new().with_pac(f.path()), EnvSnapshot::default());
    let r = client
        .route(None, "https://user:s3cr3t-pw@www.example.test/x")
        .unwrap();
    assert_eq!(r.proxy().map(|p| p.authority()), Some("p.test:3128".into()));
    let text = r.explain();
    assert!(
        text.contains("PROXY p.test:3128; BOGUS x; DIRECT"),
        "{text}"
    );
    let json = serde_json::to_value(&r).unwrap();
    assert_eq!(json["via"], "proxy");
    assert_eq!(json["candidates"]["source"], "pac");
    assert_eq!(json["candidates"]["used"], 0);
    assert_eq!(json["candidates"]["entries"][1]["entry"], "DIRECT");
    assert_eq!(json["candidates"]["pac"]["alerts"][0], "hi");
    assert_eq!(
        json["candidates"]["pac"]["diagnostics"]
            .as_array()
            .map(Vec::len),
        Some(1),
        "the unknown entry is a diagnostic"
    );
    // A password distinctive enough that nothing else in the JSON (a temporary path, a
    // generated name) can contain it by chance.
    assert!(!json.to_string().contains("s3cr3t-pw"));
}
