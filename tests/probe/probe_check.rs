//! `probe check` as a process against harness servers in this test process: JSON fields and
//! Nagios exit codes for OK, WARNING (a certificate expiring within 14 days, a soft body
//! failure), CRITICAL (a proxy 403, an untrusted CA, a refused origin, a 404 health path) and
//! UNKNOWN (a bad config, an unknown provider, bad arguments), plus the text output's status line
//! and progress on stderr.

use std::time::Duration;

use crate::common::probe::{
    ConfigFile, check_json, find, probe, rendezvous_server, toml_path, toml_str,
};
use proxyscope::testing::{ChainMode, LeafSpec, Policy, TestOrigin, TestPki, TestProxy, Validity};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ok_through_the_providers_own_proxy_with_its_private_ca() {
    let pki = TestPki::new();
    let origin = TestOrigin::https(&pki, pki.localhost(), ChainMode::Full).await;
    let plain = TestOrigin::http().await;
    let egress = TestProxy::allow_all().await;
    let cfg = ConfigFile::new(&format!(
        r#"
[providers.yandex]
url = {url}
proxy = {proxy}
ca_file = {ca}
[[providers.yandex.checks]]
name = "home"
path = "/"
expect_status = 200
body_contains = "ok"
expect_header = {{ name = "Content-Type", contains = "text/plain" }}

[providers.apertium]
url = {plain}
proxy = "direct"
"#,
        url = toml_str(origin.url("")),
        proxy = toml_str(egress.url()),
        ca = toml_path(pki.root_pem_path()),
        plain = toml_str(plain.url("")),
    ));
    let run = check_json(&cfg, &[]).await;
    assert_eq!(
        run.code,
        Some(0),
        "stdout:\n{}\nstderr:\n{}",
        run.stdout,
        run.stderr
    );
    let v = run.json();
    assert_eq!(v["ok"], true);
    assert_eq!(v["state"], "ok");
    assert!(v["error"].is_null());

    let y = find(&v, "yandex", "home");
    assert_eq!(y["ok"], true);
    assert_eq!(y["status"], 200);
    assert!(y["error"].is_null());
    assert_eq!(y["route"]["via"], "proxy");
    assert_eq!(y["route"]["proxy"], egress.url());
    for phase in ["dns", "connect", "proxy", "tls", "first_byte", "total"] {
        assert!(
            y["timings_ms"][phase].as_f64().is_some_and(|ms| ms >= 0.0),
            "timing {phase} missing: {}",
            y["timings_ms"]
        );
    }
    let cert = &y["certificate"];
    assert_eq!(cert["verified"], true);
    assert!(cert["days_left"].as_i64().unwrap() >= 80, "{cert}");
    assert!(cert["subject"].as_str().unwrap().contains("localhost"));
    assert!(cert["not_after"].as_str().unwrap().ends_with('Z'));
    // The check really went through the provider's proxy, as a CONNECT tunnel.
    assert_eq!(egress.connect_count(), 1);

    let a = find(&v, "apertium", "default");
    assert_eq!(a["ok"], true);
    assert_eq!(a["status"], 200);
    assert_eq!(a["route"]["via"], "direct");
    assert!(a["certificate"].is_null());
    assert!(a["timings_ms"]["proxy"].is_null());
    assert!(a["timings_ms"]["tls"].is_null());
    assert_eq!(plain.requests().len(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn warning_when_the_certificate_expires_within_14_days() {
    let pki = TestPki::new();
    let now = std::time::SystemTime::now();
    let day = Duration::from_secs(86_400);
    let leaf = pki.leaf(
        LeafSpec::new(&["localhost", "127.0.0.1"]).validity(Validity::Window {
            not_before: now - day,
            // Five days and an hour: `days_left` is 5 whatever the test's own duration.
            not_after: now + 5 * day + Duration::from_secs(3600),
        }),
    );
    let origin = TestOrigin::https(&pki, &leaf, ChainMode::Full).await;
    let cfg = ConfigFile::new(&format!(
        "[providers.soon]\nurl = {}\nproxy = \"direct\"\nca_file = {}\n",
        toml_str(origin.url("/")),
        toml_path(pki.root_pem_path()),
    ));
    let run = check_json(&cfg, &[]).await;
    assert_eq!(run.code, Some(1), "{}", run.stdout);
    let v = run.json();
    // Nothing failed; the state says it needs attention.
    assert_eq!(v["ok"], true);
    assert_eq!(v["state"], "warning");
    let c = find(&v, "soon", "default");
    assert_eq!(c["ok"], true);
    assert_eq!(c["state"], "warning");
    assert!(c["error"].is_null());
    assert_eq!(c["certificate"]["days_left"], 5);
    assert_eq!(c["certificate"]["verified"], true);
    assert_eq!(c["warnings"].as_array().unwrap().len(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn warning_when_only_a_body_expectation_fails() {
    let origin = TestOrigin::http().await;
    let cfg = ConfigFile::new(&format!(
        "[providers.p]\nurl = {}\nproxy = \"direct\"\n[[providers.p.checks]]\nname = \"langs\"\npath = \"/\"\nbody_contains = \"dirs\"\n",
        toml_str(origin.url("")),
    ));
    let run = check_json(&cfg, &[]).await;
    assert_eq!(run.code, Some(1), "{}", run.stdout);
    let c = find(&run.json(), "p", "langs").clone();
    assert_eq!(c["ok"], false);
    assert_eq!(c["state"], "warning");
    assert_eq!(c["status"], 200);
    let e = &c["error"];
    assert_eq!(e["code"], "http.body");
    assert_eq!(e["hop"], "origin");
    assert_eq!(e["phase"], "http");
    assert_eq!(e["evidence"]["status"], 200);
    assert!(e["evidence"]["expected"].as_str().unwrap().contains("dirs"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn critical_when_the_proxy_refuses_the_destination() {
    let pki = TestPki::new();
    let origin = TestOrigin::https(&pki, pki.localhost(), ChainMode::Full).await;
    let squid = TestProxy::builder()
        .policy(Policy::deny(&["127.0.0.1"]))
        .start()
        .await;
    let cfg = ConfigFile::new(&format!(
        "proxy = {}\n[providers.yandex]\nurl = {}\nca_file = {}\n",
        toml_str(squid.url()),
        toml_str(origin.url("/")),
        toml_path(pki.root_pem_path()),
    ));
    let run = check_json(&cfg, &[]).await;
    assert_eq!(run.code, Some(2), "{}", run.stdout);
    let v = run.json();
    assert_eq!(v["ok"], false);
    assert_eq!(v["state"], "critical");
    let c = find(&v, "yandex", "default");
    assert_eq!(c["ok"], false);
    assert!(
        c["status"].is_null(),
        "a CONNECT refusal is never the origin's status"
    );
    assert_eq!(c["route"]["via"], "proxy");
    let e = &c["error"];
    assert_eq!(e["code"], "proxy.forbidden");
    assert_eq!(e["hop"], "proxy");
    assert_eq!(e["phase"], "proxy");
    assert!(e["hint"].is_string());
    let reply = &e["evidence"]["proxy_reply"];
    assert_eq!(reply["status"], 403);
    let squid_error = reply["headers"]
        .as_array()
        .unwrap()
        .iter()
        .find(|h| {
            h[0].as_str()
                .is_some_and(|n| n.eq_ignore_ascii_case("x-squid-error"))
        })
        .expect("X-Squid-Error kept in evidence");
    assert!(
        squid_error[1]
            .as_str()
            .unwrap()
            .starts_with("ERR_ACCESS_DENIED")
    );
    // The phases that completed before the refusal are timed; the refused one is not.
    for phase in ["dns", "connect"] {
        assert!(
            c["timings_ms"][phase].as_f64().is_some(),
            "{phase}: {}",
            c["timings_ms"]
        );
    }
    assert!(c["timings_ms"]["tls"].is_null());
    assert!(origin.requests().is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn critical_when_the_ca_is_not_trusted_and_the_certificate_is_still_reported() {
    let pki = TestPki::new();
    let origin = TestOrigin::https(&pki, pki.localhost(), ChainMode::Full).await;
    // No ca_file: the private root is unknown to the bundled roots.
    let cfg = ConfigFile::new(&format!(
        "[providers.private]\nurl = {}\nproxy = \"direct\"\n",
        toml_str(origin.url("/")),
    ));
    let run = check_json(&cfg, &[]).await;
    assert_eq!(run.code, Some(2), "{}", run.stdout);
    let c = find(&run.json(), "private", "default").clone();
    let e = &c["error"];
    assert_eq!(e["code"], "tls.unknown_issuer");
    assert_eq!(e["hop"], "origin");
    assert_eq!(e["phase"], "tls");
    let chain = e["evidence"]["tls"]["chain"].as_array().unwrap();
    assert!(!chain.is_empty());
    // Expiry stays visible when verification fails (blackbox_exporter drops it).
    let cert = &c["certificate"];
    assert_eq!(cert["verified"], false);
    assert!(cert["days_left"].as_i64().unwrap() > 14);
    assert_eq!(cert["chain_len"], chain.len());
    assert!(c["timings_ms"]["total"].as_f64().is_some());
    assert!(c["timings_ms"]["connect"].as_f64().is_some());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn critical_when_the_origin_refuses_the_connection() {
    let port = proxyscope::testing::refused_addr().port();
    let cfg = ConfigFile::new(&format!(
        "[providers.down]\nurl = \"http://127.0.0.1:{port}/\"\nproxy = \"direct\"\n"
    ));
    let run = check_json(&cfg, &[]).await;
    assert_eq!(run.code, Some(2), "{}", run.stdout);
    let c = find(&run.json(), "down", "default").clone();
    let e = &c["error"];
    assert_eq!(e["code"], "origin.connect");
    assert_eq!(e["hop"], "origin");
    assert_eq!(e["phase"], "connect");
    let tried = e["evidence"]["addresses"].as_array().unwrap();
    assert_eq!(tried[0]["addr"], format!("127.0.0.1:{port}"));
    assert!(tried[0]["error"].is_string());
    assert_eq!(c["status"], serde_json::Value::Null);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn critical_when_the_health_path_404s_or_redirects() {
    let origin = TestOrigin::http().await;
    let cfg = ConfigFile::new(&format!(
        r#"
[providers.svc]
url = {url}
proxy = "direct"
[[providers.svc.checks]]
name = "health"
path = "/healthz"
expect_status = 200
[[providers.svc.checks]]
name = "moved"
path = "/status/302"
expect_status = 200
"#,
        url = toml_str(origin.url("")),
    ));
    let run = check_json(&cfg, &[]).await;
    assert_eq!(run.code, Some(2), "{}", run.stdout);
    let v = run.json();
    for (name, status) in [("health", 404), ("moved", 302)] {
        let c = find(&v, "svc", name);
        assert_eq!(c["status"], status);
        let e = &c["error"];
        assert_eq!(e["code"], "http.status", "{name}");
        assert_eq!(e["hop"], "origin");
        assert_eq!(e["phase"], "http");
        assert_eq!(e["evidence"]["status"], status);
        assert!(e["evidence"]["expected"].as_str().unwrap().contains("200"));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unknown_when_the_config_is_bad_and_json_still_comes_out() {
    let cfg = ConfigFile::new(
        "[providers.yandex]\nurl = \"https://translate.yandex.test\"\nca = \"/etc/ssl/certum.pem\"\n",
    );
    let run = check_json(&cfg, &[]).await;
    assert_eq!(run.code, Some(3), "{}", run.stdout);
    let v = run.json();
    assert_eq!(v["ok"], false);
    assert_eq!(v["state"], "unknown");
    assert_eq!(v["checks"], serde_json::json!([]));
    assert_eq!(v["error"]["code"], "config.invalid");
    assert!(v["error"]["message"].is_string());
    assert!(v["error"]["hint"].is_string());
    let d = v["error"]["diagnostics"]
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["code"] == "misplaced_key")
        .expect("the misplaced `ca` is diagnosed");
    assert_eq!(d["path"], "providers.yandex.ca");
    assert!(d["suggestion"].as_str().unwrap().contains("ca_file"));

    // A missing file, an unknown provider and a bad flag are UNKNOWN too.
    let run = probe(&[
        "check",
        "--config",
        "/nonexistent/probe.toml",
        "--format",
        "json",
    ])
    .await;
    assert_eq!(run.code, Some(3));
    assert_eq!(run.json()["error"]["code"], "config.invalid");
    let good =
        ConfigFile::new("[providers.a]\nurl = \"http://127.0.0.1:9/\"\nproxy = \"direct\"\n");
    let run = check_json(&good, &["--provider", "b"]).await;
    assert_eq!(run.code, Some(3));
    assert_eq!(run.json()["error"]["code"], "config.invalid");
    let run = check_json(&good, &["--timeout", "soon"]).await;
    assert_eq!(run.code, Some(3));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn text_output_opens_with_a_nagios_line_and_reports_progress_on_slow_runs() {
    let origin = TestOrigin::http().await;
    let cfg = ConfigFile::new(&format!(
        r#"
[providers.a]
url = {url}
proxy = "direct"
[[providers.a.checks]]
name = "slow"
path = "/slow?ms=1500"
[providers.b]
url = {url}
proxy = "direct"
[[providers.b.checks]]
name = "slow"
path = "/slow?ms=1500"
[providers.c]
url = {url}
proxy = "direct"
[[providers.c.checks]]
name = "missing"
path = "/nope"
expect_status = 200
"#,
        url = toml_str(origin.url("")),
    ));
    let path = cfg.path().display().to_string();
    let run = probe(&["check", "--config", &path]).await;
    assert_eq!(run.code, Some(2), "{}\n{}", run.stdout, run.stderr);
    let first = run.stdout.lines().next().unwrap();
    assert!(
        first.starts_with("PROXYSCOPE CRITICAL - 1 of 3 checks failed"),
        "{first}"
    );
    let (_, perf) = first.split_once(" | ").expect("perfdata after |");
    assert_eq!(perf.matches("'=").count(), 3, "{perf}");
    assert!(run.stdout.contains("error[http.status]"));
    // Not a terminal: no colour.
    assert!(!run.stdout.contains('\x1b'));
    // A run longer than a second shows progress on stderr, naming what is still running.
    assert!(
        run.stderr.contains("checks done after"),
        "stderr: {}",
        run.stderr
    );
    assert!(run.stderr.contains("a/slow"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_check_deadline_ends_a_stuck_check_and_provider_filter_selects() {
    let origin = TestOrigin::http().await;
    let cfg = ConfigFile::new(&format!(
        r#"
[providers.stuck]
url = {url}
proxy = "direct"
[[providers.stuck.checks]]
name = "slow"
path = "/slow?ms=5000"
timeout = "300ms"
[providers.other]
url = {url}
proxy = "direct"
"#,
        url = toml_str(origin.url("")),
    ));
    let run = check_json(&cfg, &["--provider", "stuck"]).await;
    assert_eq!(run.code, Some(2), "{}", run.stdout);
    let v = run.json();
    assert_eq!(v["checks"].as_array().unwrap().len(), 1);
    let e = &find(&v, "stuck", "slow")["error"];
    assert_eq!(e["code"], "http.timeout");
    assert_eq!(e["phase"], "http");
    assert_eq!(e["evidence"]["timeout"], 300);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_providers_checks_run_at_the_same_time() {
    // The server answers only when all three requests are in flight together: if the probe ran
    // them one after another, each would wait alone and fail.
    let (url, server) = rendezvous_server(3).await;
    let mut toml = String::new();
    for name in ["a", "b", "c"] {
        toml.push_str(&format!(
            "[providers.{name}]\nurl = {}\nproxy = \"direct\"\n[[providers.{name}.checks]]\nname = \"together\"\npath = \"/together\"\nexpect_status = 200\n",
            toml_str(&url)
        ));
    }
    let cfg = ConfigFile::new(&toml);
    let run = check_json(&cfg, &[]).await;
    assert_eq!(run.code, Some(0), "{}", run.stdout);
    let v = run.json();
    for name in ["a", "b", "c"] {
        assert_eq!(find(&v, name, "together")["status"], 200);
    }
    server.abort();
}
