//! `probe route URL --config F` explains the route the client takes, never another one: over
//! every configuration the tests ship (and the README's example), for every provider and a set
//! of URLs under and beside each provider's `url`, the route `probe route` prints — with
//! `--provider P` and without it, when the provider is chosen by URL as the client chooses —
//! equals [`Client::route`]'s, step for step.

use std::path::{Path, PathBuf};
use std::process::Command;

use proxyscope::{Client, Config, EnvSnapshot};
use serde_json::Value;

use crate::common::probe::probe_bin;

/// The README's configuration block, minus any CA file it names (not on this machine).
fn readme_config(dir: &Path) -> PathBuf {
    let readme =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md")).expect("README");
    // The first toml block that declares providers (the one before it is the Cargo lines).
    let block = readme
        .split("```toml\n")
        .skip(1)
        .map(|b| &b[..b.find("```").expect("its end")])
        .find(|b| b.contains("[providers."))
        .expect("a toml block with providers");
    let toml: String = block
        .lines()
        .filter(|l| !l.trim_start().starts_with("ca_file"))
        .map(|l| format!("{l}\n"))
        .collect();
    let path = dir.join("readme.toml");
    std::fs::write(&path, toml).expect("write");
    path
}

fn configs(dir: &Path) -> Vec<PathBuf> {
    let fixtures = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/config");
    let mut all: Vec<PathBuf> = std::fs::read_dir(&fixtures)
        .expect("fixtures")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "toml"))
        .collect();
    all.sort();
    all.push(readme_config(dir));
    all
}

/// URLs under each provider's `url`, beside it (another scheme, port or path), and elsewhere.
fn urls(config: &Config) -> Vec<String> {
    let mut out = vec![
        "https://elsewhere.example.net/".to_owned(),
        "http://localhost/".to_owned(),
        "http://10.1.2.3:8080/x".to_owned(),
    ];
    for p in config.providers() {
        let base = &p.url().value;
        out.push(base.to_string());
        let mut under = base.clone();
        under.set_path(&format!("{}/api/v1/x", base.path().trim_end_matches('/')));
        out.push(under.to_string());
        let mut other_scheme = base.clone();
        let _ = other_scheme.set_scheme(if base.scheme() == "https" {
            "http"
        } else {
            "https"
        });
        out.push(other_scheme.to_string());
        let mut other_port = base.clone();
        let _ = other_port.set_port(Some(8443));
        out.push(other_port.to_string());
    }
    out
}

fn probe_route(config: &Path, url: &str, provider: Option<&str>) -> (Option<i32>, Value, String) {
    let mut cmd = Command::new(probe_bin());
    cmd.env_clear()
        .args(["route", url, "--format", "json", "--config"])
        .arg(config);
    if let Some(p) = provider {
        cmd.args(["--provider", p]);
    }
    let out = cmd.output().expect("probe runs");
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    let v = serde_json::from_str(&stdout).unwrap_or(Value::Null);
    (
        out.status.code(),
        v,
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn probe_route_and_the_client_choose_the_same_route_for_every_provider_and_url() {
    let dir = tempfile::tempdir().expect("dir");
    let mut compared = 0;
    let mut loaded = 0;
    for path in configs(dir.path()) {
        // Configurations that do not load are the lint tests' business: probe route refuses them
        // too (exit 3), and there is no client to compare with.
        let Ok(config) = Config::from_file(&path) else {
            let (code, _, _) = probe_route(&path, "https://elsewhere.example.net/", None);
            assert_eq!(code, Some(3), "{}", path.display());
            continue;
        };
        loaded += 1;
        let client = Client::builder_from_config(&config)
            .env(EnvSnapshot::from_pairs(Vec::<(String, String)>::new()))
            .build()
            .unwrap_or_else(|e| panic!("{}: {}", path.display(), e.report()));
        let names: Vec<Option<&str>> = std::iter::once(None)
            .chain(config.providers().iter().map(|p| Some(p.name())))
            .collect();
        for url in urls(&config) {
            for provider in &names {
                let want = client
                    .route(*provider, &url)
                    .map(|r| serde_json::to_value(r).expect("json"));
                let (code, got, stderr) = probe_route(&path, &url, *provider);
                let what = format!("{} {url} --provider {provider:?}", path.display());
                match want {
                    Ok(want) => {
                        assert_eq!(code, Some(0), "{what}: {stderr}");
                        assert_eq!(got, want, "{what}");
                    }
                    Err(e) => assert_eq!(code, Some(2), "{what}: {}", e.report()),
                }
                compared += 1;
            }
        }
    }
    assert!(loaded >= 5, "only {loaded} configurations loaded");
    assert!(compared >= 100, "only {compared} pairs compared");
}

/// The README's own example: a URL under `yandex`'s `url`, asked without `--provider`, goes
/// through yandex's proxy — as `Client::get` sends it — not the global one.
#[test]
fn the_readme_example_is_explained_through_the_providers_proxy() {
    let dir = tempfile::tempdir().expect("dir");
    let cfg = readme_config(dir.path());
    let (code, v, stderr) = probe_route(
        &cfg,
        "https://translate.yandex.net/api/v1.5/tr.json/getLangs",
        None,
    );
    assert_eq!(code, Some(0), "{stderr}");
    assert_eq!(v["provider"], "yandex", "{v:#}");
    assert_eq!(v["proxy"], "http://yandex-egress.example.org:3128", "{v:#}");
    // Outside every provider's url, the global layer decides.
    let (_, v, _) = probe_route(&cfg, "https://elsewhere.example.net/", None);
    assert_eq!(v["provider"], Value::Null, "{v:#}");
    assert_eq!(
        v["proxy"], "http://url-downloader.example.org:8080",
        "{v:#}"
    );
}
