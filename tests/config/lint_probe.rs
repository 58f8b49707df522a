//! `probe lint` and `probe config` as processes: exit codes 0 (clean), 1 (warnings only),
//! 2 (errors), 3 (unreadable file); the documented JSON shape; `--config` from PROXYSCOPE_CONFIG;
//! `probe config --show-origin` prints each value with its origin and never a secret.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use crate::common::probe::probe_bin;

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/config")
        .join(name)
}

/// Runs the probe with a clean environment (plus `env`) so the host's proxy variables never
/// change the outcome.
fn run(args: &[&str], env: &[(&str, &str)]) -> Output {
    Command::new(probe_bin())
        .args(args)
        .env_clear()
        .envs(env.iter().copied())
        .output()
        .expect("probe runs")
}

fn code(o: &Output) -> i32 {
    o.status.code().expect("exited normally")
}

#[test]
fn lint_exit_codes_follow_the_worst_finding() {
    let cases = [
        ("clean.toml", 0),
        ("proxy_no_scheme.toml", 1),
        ("proxy_unusable.toml", 1),
        ("danger.toml", 1),
        ("wrong_key.toml", 2),
        ("url_no_proxy.toml", 2),
        ("ca_empty.toml", 2),
        ("syntax_error.toml", 2),
    ];
    for (name, want) in cases {
        let path = fixture(name);
        let o = run(&["lint", "--config", path.to_str().unwrap()], &[]);
        assert_eq!(
            code(&o),
            want,
            "{name}: {}",
            String::from_utf8_lossy(&o.stdout)
        );
    }
}

#[test]
fn lint_exit_3_when_the_file_cannot_be_read() {
    let o = run(&["lint", "--config", "/nonexistent/proxyscope.toml"], &[]);
    assert_eq!(code(&o), 3);
    let o = run(
        &[
            "lint",
            "--config",
            "/nonexistent/p.toml",
            "--format",
            "json",
        ],
        &[],
    );
    assert_eq!(code(&o), 3);
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["diagnostics"][0]["code"], "file.unreadable");
    assert_eq!(v["error"]["code"], "config.invalid");
}

#[test]
fn lint_json_shape_and_config_from_the_environment_variable() {
    let path = fixture("wrong_key.toml");
    let o = run(
        &["lint", "--format", "json"],
        &[("PROXYSCOPE_CONFIG", path.to_str().unwrap())],
    );
    assert_eq!(code(&o), 2);
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let d = &v["diagnostics"][0];
    assert_eq!(d["severity"], "error");
    assert_eq!(d["code"], "misplaced_key");
    assert_eq!(d["path"], "no_proxy_list");
    assert_eq!(d["location"], format!("{}:3:1", path.display()));
    assert!(d["message"].is_string());
    assert!(
        d["suggestion"]
            .as_str()
            .unwrap()
            .contains("rename `no_proxy_list` to `no_proxy`")
    );
}

#[test]
fn lint_text_names_location_path_and_fix() {
    let path = fixture("url_no_proxy.toml");
    let o = run(&["lint", "--config", path.to_str().unwrap()], &[]);
    let out = String::from_utf8(o.stdout).unwrap();
    let line = out.lines().find(|l| l.contains("no_proxy[2]")).expect(&out);
    assert!(
        line.starts_with(&format!("{}:6:3: error[no_proxy.url]", path.display())),
        "{line}"
    );
    assert!(
        line.contains("write `.example.org` instead of `https://example.org/`"),
        "{line}"
    );
}

#[test]
fn lint_includes_the_environment() {
    let path = fixture("clean.toml");
    // clean.toml sets `proxy` everywhere, so an ignored HTTP_PROXY is info only: still exit 0.
    let o = run(
        &["lint", "--config", path.to_str().unwrap()],
        &[("HTTP_PROXY", "http://p.test:1")],
    );
    assert_eq!(code(&o), 0);
    assert!(String::from_utf8_lossy(&o.stdout).contains("env.http_proxy_ignored"));
    // Without a config every provider would use the environment: a warning.
    let o = run(&["lint"], &[("HTTP_PROXY", "http://p.test:1")]);
    assert_eq!(code(&o), 1, "{}", String::from_utf8_lossy(&o.stdout));
}

#[test]
fn config_show_origin_text_and_json() {
    let path = fixture("clean.toml");
    let p = path.to_str().unwrap();
    let o = run(&["config", "--config", p, "--show-origin"], &[]);
    assert_eq!(code(&o), 0);
    let out = String::from_utf8(o.stdout).unwrap();
    let row = |key: &str| {
        out.lines()
            .find(|l| {
                l.split('\t')
                    .nth(1)
                    .is_some_and(|kv| kv.starts_with(&format!("{key}=")))
            })
            .unwrap_or_else(|| panic!("{key} not in {out}"))
            .to_owned()
    };
    assert_eq!(
        row("proxy"),
        format!("file:{p}:2:1 (proxy)\tproxy=http://url-downloader.example.org:8080")
    );
    assert_eq!(
        row("danger_accept_invalid_certs"),
        "default\tdanger_accept_invalid_certs=false"
    );
    assert_eq!(
        row("providers.apertium.proxy"),
        format!("file:{p}:12:1 (providers.apertium.proxy)\tproviders.apertium.proxy=direct")
    );
    // Inherited from the global layer: the global's origin.
    assert_eq!(
        row("providers.apertium.timeouts.connect"),
        format!("file:{p}:7:1 (timeouts.connect)\tproviders.apertium.timeouts.connect=5s")
    );
    assert!(
        row("providers.yandex.checks.languages")
            .contains("GET /api/v1.5/tr.json/getLangs expect 200")
    );

    let o = run(
        &[
            "config",
            "--config",
            p,
            "--format",
            "json",
            "--provider",
            "yandex",
        ],
        &[],
    );
    assert_eq!(code(&o), 0);
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let y = &v["providers"][0];
    assert_eq!(y["name"], "yandex");
    assert_eq!(y["url"]["origin"]["kind"], "file");
    assert_eq!(y["url"]["origin"]["line"], 15);
    let proxy = y["settings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["key"] == "proxy")
        .unwrap();
    assert_eq!(proxy["value"], "http://yandex-egress.example.org:3128");
    assert_eq!(proxy["origin"]["key"], "providers.yandex.proxy");
    assert_eq!(y["checks"][0]["expect_status"]["exact"], 200);
}

#[test]
fn config_show_origin_follows_the_environment() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = dir.path().join("c.toml");
    std::fs::write(&cfg, "[providers.a]\nurl = \"https://a.test\"\n[providers.b]\nurl = \"https://b.test\"\nproxy = \"direct\"\n").unwrap();
    let o = run(
        &["config", "--config", cfg.to_str().unwrap(), "--show-origin"],
        &[
            ("https_proxy", "http://dave:hunter2@egress.test:3128"),
            ("no_proxy", "localhost"),
        ],
    );
    assert_eq!(code(&o), 0);
    let out = String::from_utf8(o.stdout).unwrap();
    assert!(!out.contains("hunter2"), "{out}");
    let lines: Vec<&str> = out.lines().collect();
    assert!(
        lines.contains(&"env:https_proxy\tproviders.a.proxy.https=http://egress.test:3128"),
        "{out}"
    );
    assert!(
        lines.contains(&"env:no_proxy\tproviders.a.no_proxy=[\"localhost\"]"),
        "{out}"
    );
    assert!(
        !out.contains("providers.b.proxy.https"),
        "b sets its own proxy: {out}"
    );
}

#[test]
fn config_redacts_credentials_and_fails_with_3_on_a_bad_config() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = dir.path().join("c.toml");
    std::fs::write(
        &cfg,
        "proxy = \"http://alice:hunter2@p.test:3128/pac\"\n[providers.a]\nurl = \"https://bob:hunter2@a.test/\"\n[[providers.a.checks]]\nname = \"c\"\nurl = \"https://carol:hunter2@a.test/h\"\n",
    )
    .unwrap();
    let c = cfg.to_str().unwrap();
    for args in [
        vec!["config", "--config", c, "--show-origin"],
        vec!["config", "--config", c, "--format", "json"],
        vec!["lint", "--config", c, "--format", "json"],
    ] {
        let o = run(&args, &[]);
        let all = format!(
            "{}{}",
            String::from_utf8_lossy(&o.stdout),
            String::from_utf8_lossy(&o.stderr)
        );
        assert!(!all.contains("hunter2"), "{args:?}: {all}");
        assert!(all.contains("p.test:3128"), "{args:?}: {all}");
    }
    let o = run(
        &[
            "config",
            "--config",
            fixture("wrong_key.toml").to_str().unwrap(),
        ],
        &[],
    );
    assert_eq!(code(&o), 3);
    assert!(String::from_utf8_lossy(&o.stderr).contains("no_proxy_list"));
}

#[test]
fn route_uses_the_configs_layers() {
    let p = fixture("clean.toml");
    let p = p.to_str().unwrap();
    let route = |url: &str, provider: &str| {
        let o = run(
            &[
                "route",
                url,
                "--config",
                p,
                "--provider",
                provider,
                "--format",
                "json",
            ],
            &[],
        );
        assert_eq!(code(&o), 0, "{}", String::from_utf8_lossy(&o.stderr));
        serde_json::from_slice::<serde_json::Value>(&o.stdout).unwrap()
    };
    let y = route("https://translate.yandex.net/api", "yandex");
    assert_eq!(y["via"], "proxy");
    assert_eq!(y["proxy"], "http://yandex-egress.example.org:3128");
    let a = route("http://apertium.svc.example.org:2737/x", "apertium");
    assert_eq!(a["via"], "direct");
    // Without --provider the global layer applies; PROXYSCOPE_CONFIG names the file.
    let o = run(
        &["route", "https://other.example.org/", "--format", "json"],
        &[("PROXYSCOPE_CONFIG", p)],
    );
    let g: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(g["proxy"], "http://url-downloader.example.org:8080");

    let o = run(
        &[
            "route",
            "http://x.test/",
            "--config",
            p,
            "--provider",
            "nope",
        ],
        &[],
    );
    assert_eq!(code(&o), 3);
    assert!(String::from_utf8_lossy(&o.stderr).contains("apertium, yandex"));
    let o = run(
        &[
            "route",
            "http://x.test/",
            "--config",
            fixture("wrong_key.toml").to_str().unwrap(),
        ],
        &[],
    );
    assert_eq!(code(&o), 3);
}
