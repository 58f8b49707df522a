//! A real Prometheus (Debian's `prometheus`) on loopback, with the scrape configuration and alert
//! rules of docs/monitoring/ (zones pointed at one `probe serve`, intervals shortened), scraping
//! the exporter against the harness: its query API must show `probe_success` 1 for the healthy
//! provider, 0 with `proxyscope_check_error{code="proxy.forbidden",blame="proxy"}` for the one
//! the proxy refuses, the exporter's own metrics, and every documented rule evaluating cleanly.

use std::path::Path;
use std::process::Stdio;
use std::time::Duration;

use libtest_mimic::Completion;
use serde_json::Value;

use super::support::{
    ConfigFile, Harness, Outcome, Serve, ensure, eventually, free_port, request, skipped,
    stop_child, toml_str, tool,
};

/// The documented scrape configuration, with every zone's exporter replaced by `exporter`, the
/// example providers by `targets`, and 1 s intervals.
pub(crate) fn documented_config(exporter: &str, targets: &str) -> Result<String, String> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/monitoring/prometheus.yml");
    let mut text =
        std::fs::read_to_string(&path).map_err(|e| format!("{}: {e}", path.display()))?;
    for (from, to, times) in [
        ("scrape_interval: 30s", "scrape_interval: 1s", 1),
        ("scrape_timeout: 10s", "scrape_timeout: 1s", 1),
        ("evaluation_interval: 30s", "evaluation_interval: 1s", 1),
        ("probe-zone-a.example.org:9115", exporter, 2),
        ("probe-zone-b.example.org:9115", exporter, 2),
        ("[apertium, yandex]", targets, 2),
    ] {
        let found = text.matches(from).count();
        if found != times {
            return Err(format!(
                "docs/monitoring/prometheus.yml has {found} times {from:?}, the test expects {times}"
            ));
        }
        text = text.replace(from, to);
    }
    Ok(text)
}

/// Runs an instant query; the result vector.
async fn query(addr: std::net::SocketAddr, promql: &str) -> Option<Vec<Value>> {
    let q: String = url::form_urlencoded::byte_serialize(promql.as_bytes()).collect();
    let r = request(addr, "GET", &format!("/api/v1/query?query={q}"), &[])
        .await
        .ok()?;
    let v: Value = serde_json::from_str(&r.body).ok()?;
    v["data"]["result"].as_array().cloned()
}

fn label<'a>(sample: &'a Value, name: &str) -> &'a str {
    sample["metric"][name].as_str().unwrap_or("")
}

fn value(sample: &Value) -> &str {
    sample["value"][1].as_str().unwrap_or("")
}

pub(crate) async fn a_real_prometheus_scrapes_the_documented_config() -> Outcome {
    let Some(prometheus) = tool("prometheus")? else {
        return Ok(skipped("prometheus"));
    };
    let h = Harness::start().await;
    let cfg = ConfigFile::new(&format!(
        "ca_file = {ca}\n[providers.healthy]\nurl = {o}\nproxy = \"direct\"\n[providers.denied]\nurl = {o}\nproxy = {p}\n",
        ca = h.ca(),
        o = toml_str(h.tls.url("/")),
        p = toml_str(h.deny.url()),
    ));
    let serve = Serve::start(cfg.path(), &["--min-interval", "500ms"]).await?;

    let dir = cfg.dir();
    std::fs::write(
        dir.join("prometheus.yml"),
        documented_config(&serve.addr.to_string(), "[healthy, denied]")?,
    )
    .map_err(|e| e.to_string())?;
    std::fs::copy(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/monitoring/proxyscope.rules.yml"),
        dir.join("proxyscope.rules.yml"),
    )
    .map_err(|e| e.to_string())?;
    let port = free_port()?;
    let log = std::fs::File::create(dir.join("prometheus.log")).map_err(|e| e.to_string())?;
    let mut child = tokio::process::Command::new(prometheus)
        .arg(format!(
            "--config.file={}",
            dir.join("prometheus.yml").display()
        ))
        .arg(format!(
            "--storage.tsdb.path={}",
            dir.join("data").display()
        ))
        .arg(format!("--web.listen-address=127.0.0.1:{port}"))
        .arg("--log.level=warn")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(log)
        .kill_on_drop(true)
        .spawn()
        .map_err(|e| format!("prometheus: {e}"))?;
    let api: std::net::SocketAddr = ([127, 0, 0, 1], port).into();
    let outcome = check(api, dir).await;
    // Stopped by PID: SIGTERM, then SIGKILL if it lingers.
    stop_child(&mut child).await;
    outcome?;
    serve.stop().await?;
    Ok(Completion::Completed)
}

async fn check(api: std::net::SocketAddr, dir: &Path) -> Result<(), libtest_mimic::Failed> {
    let log = || std::fs::read_to_string(dir.join("prometheus.log")).unwrap_or_default();
    // Prometheus starts its scrape loops a few seconds after it starts.
    let success = eventually(Duration::from_secs(40), || async {
        let r = query(api, "probe_success{job=\"proxyscope-zone-a\"}").await?;
        (r.len() == 2).then_some(r)
    })
    .await
    .ok_or_else(|| format!("no probe_success for both targets within 40 s\n{}", log()))?;
    for s in &success {
        let want = match label(s, "instance") {
            "healthy" => "1",
            "denied" => "0",
            other => return Err(format!("unexpected instance {other}: {s}").into()),
        };
        ensure(value(s) == want && label(s, "zone") == "zone-a", || {
            format!("{s}")
        })?;
    }
    let errors = query(
        api,
        "proxyscope_check_error{code=\"proxy.forbidden\",blame=\"proxy\",job=\"proxyscope-zone-a\"}",
    )
    .await
    .unwrap_or_default();
    ensure(
        errors.len() == 1
            && label(&errors[0], "instance") == "denied"
            && label(&errors[0], "hop") == "proxy"
            && value(&errors[0]) == "1",
        || format!("{errors:?}"),
    )?;
    let healthy_errors = query(api, "proxyscope_check_error{instance=\"healthy\"}")
        .await
        .unwrap_or_default();
    ensure(healthy_errors.is_empty(), || format!("{healthy_errors:?}"))?;
    // Both zones probe (zone-b's scrape loop may start a few seconds after zone-a's); the
    // exporter's own metrics are scraped too.
    let zones = eventually(Duration::from_secs(20), || async {
        query(api, "count by (zone) (probe_success)")
            .await
            .filter(|r| r.len() == 2)
    })
    .await;
    ensure(zones.is_some(), || {
        format!(
            "probe_success did not appear for both zones within 20 s\n{}",
            log()
        )
    })?;
    let own = eventually(Duration::from_secs(10), || async {
        query(
            api,
            "proxyscope_exporter_probes_total{job=\"proxyscope-exporters\"}",
        )
        .await
        .filter(|r| !r.is_empty())
    })
    .await
    .ok_or("the exporter's own metrics were not scraped")?;
    ensure(own.iter().any(|s| label(s, "result") == "failure"), || {
        format!("{own:?}")
    })?;
    // Every documented rule evaluates against real data without an error.
    let rules = || async {
        let r = request(api, "GET", "/api/v1/rules", &[]).await.ok()?;
        let v: Value = serde_json::from_str(&r.body).ok()?;
        let rules: Vec<Value> = v["data"]["groups"]
            .as_array()?
            .iter()
            .flat_map(|g| g["rules"].as_array().cloned().unwrap_or_default())
            .collect();
        Some(rules)
    };
    let healthy = eventually(Duration::from_secs(10), || async {
        rules()
            .await
            .filter(|r| r.len() == 5 && r.iter().all(|r| r["health"] == "ok"))
    })
    .await;
    if healthy.is_none() {
        let seen = rules().await.unwrap_or_default();
        return Err(format!(
            "the rules did not all evaluate cleanly: {seen:#?}\n{}",
            log()
        )
        .into());
    }
    Ok(())
}
