//! docs/monitoring: the alert rules pass `promtool check rules` and their own unit tests
//! (`promtool test rules`), the scrape config passes `promtool check config` and is the one
//! docs/monitoring.md shows, and every metric the rules and the Grafana dashboard query is one
//! the exporter really emits (collected from `probe serve` against the harness).

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use libtest_mimic::{Completion, Failed};

use super::support::{ConfigFile, Harness, Outcome, Serve, ensure, skipped, toml_str, tool};

fn monitoring() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/monitoring")
}

fn read(path: &Path) -> Result<String, Failed> {
    std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()).into())
}

async fn promtool(promtool: &Path, args: &[&str]) -> Result<(), Failed> {
    let out = tokio::process::Command::new(promtool)
        .args(args)
        .current_dir(monitoring())
        .kill_on_drop(true)
        .output()
        .await
        .map_err(|e| format!("promtool: {e}"))?;
    ensure(out.status.success(), || {
        format!(
            "promtool {}: {}\n{}{}",
            args.join(" "),
            out.status,
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )
    })
}

pub(crate) async fn alert_rules_pass_promtool_and_their_unit_tests() -> Outcome {
    // The documented scrape config is the file, verbatim.
    let doc = read(&monitoring().with_extension("md"))?;
    let config = read(&monitoring().join("prometheus.yml"))?;
    ensure(doc.contains(&format!("```yaml\n{config}```")), || {
        "docs/monitoring.md does not show docs/monitoring/prometheus.yml verbatim".into()
    })?;
    let Some(promtool_bin) = tool("promtool")? else {
        return Ok(skipped("promtool"));
    };
    promtool(&promtool_bin, &["check", "rules", "proxyscope.rules.yml"]).await?;
    promtool(
        &promtool_bin,
        &["test", "rules", "proxyscope.rules.test.yml"],
    )
    .await?;
    promtool(&promtool_bin, &["check", "config", "prometheus.yml"]).await?;
    Ok(Completion::Completed)
}

/// Every `probe_*` and `proxyscope_*` name in `text`.
fn metric_names(text: &str) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    let is_name = |c: char| c.is_ascii_alphanumeric() || c == '_' || c == ':';
    for (i, _) in text.match_indices(['p']) {
        let before = text[..i].chars().next_back();
        if before.is_some_and(is_name) {
            continue;
        }
        let name: String = text[i..].chars().take_while(|c| is_name(*c)).collect();
        if name.starts_with("probe_") || name.starts_with("proxyscope_") {
            out.insert(name);
        }
    }
    out
}

pub(crate) async fn the_dashboard_queries_only_metrics_the_exporter_emits() -> Outcome {
    let h = Harness::start().await;
    let cfg = ConfigFile::new(&format!(
        "[providers.tls]\nurl = {}\nproxy = \"direct\"\nca_file = {}\n[providers.denied]\nurl = {}\nproxy = {}\n",
        toml_str(h.tls.url("/")),
        h.ca(),
        toml_str(h.plain.url("/")),
        toml_str(h.deny.url()),
    ));
    let serve = Serve::start(cfg.path(), &[]).await?;
    let mut emitted = BTreeSet::new();
    for path in ["/probe?target=tls", "/probe?target=denied", "/metrics"] {
        let e = serve.get(path, &[]).await?.exposition()?;
        emitted.extend(e.samples.into_iter().map(|s| s.name));
    }
    serve.stop().await?;

    let dashboard: serde_json::Value =
        serde_json::from_str(&read(&monitoring().join("grafana-dashboard.json"))?)
            .map_err(|e| format!("grafana-dashboard.json: {e}"))?;
    let panels = dashboard["panels"].as_array().ok_or("no panels")?;
    let titles: Vec<&str> = panels.iter().filter_map(|p| p["title"].as_str()).collect();
    for want in [
        "Success by provider",
        "Phase durations",
        "Errors by code and blame",
        "Days to certificate expiry",
    ] {
        ensure(titles.contains(&want), || {
            format!("no panel {want:?}: {titles:?}")
        })?;
    }
    for p in panels {
        for t in p["targets"].as_array().ok_or("a panel without targets")? {
            let expr = t["expr"].as_str().ok_or("a target without expr")?;
            let names = metric_names(expr);
            ensure(!names.is_empty(), || {
                format!("{expr} queries no exporter metric")
            })?;
            for n in names {
                ensure(emitted.contains(&n), || {
                    format!("the dashboard queries {n}, which the exporter does not emit ({expr})")
                })?;
            }
        }
    }
    let rules = read(&monitoring().join("proxyscope.rules.yml"))?;
    for line in rules
        .lines()
        .filter(|l| l.trim_start().starts_with("expr:"))
    {
        for n in metric_names(line) {
            ensure(emitted.contains(&n), || {
                format!("a rule queries {n}, which the exporter does not emit: {line}")
            })?;
        }
    }
    Ok(Completion::Completed)
}
