//! `probe route` as a process: the scenarios asserted on the example's actual JSON.
//!
//! The example binary is built by `cargo test --all-targets` (scripts/test, CI) or
//! `cargo build --examples`; these tests run it from the target directory with a clean
//! environment, never through `cargo run`.

use std::process::{Command, Output};

use crate::common::probe::probe_bin;

use serde_json::Value;

fn run(env: &[(&str, &str)], args: &[&str]) -> Output {
    Command::new(probe_bin())
        .env_clear()
        .envs(env.iter().copied())
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("running probe: {e}"))
}

/// [`run`] with a probe whose `route` runs PAC files and resolves the names they ask about (the
/// shared target directory's `examples/probe` may be another checkout's).
fn run_pac(args: &[&str]) -> Output {
    Command::new(crate::common::probe::example_bin_with(
        "probe",
        "names a PAC script asks about are resolved",
    ))
    .env_clear()
    .args(args)
    .output()
    .unwrap_or_else(|e| panic!("running probe: {e}"))
}

fn json(out: &Output) -> Value {
    let stdout = String::from_utf8_lossy(&out.stdout);
    serde_json::from_str(&stdout).unwrap_or_else(|e| panic!("not JSON ({e}): {stdout}"))
}

fn steps(v: &Value) -> &Vec<Value> {
    v["steps"]
        .as_array()
        .unwrap_or_else(|| panic!("no steps in {v}"))
}

const SCENARIO: &[(&str, &str)] = &[
    ("https_proxy", "http://u:p@proxy.test:3128"),
    ("no_proxy", ".internal"),
];

#[test]
fn https_proxy_with_credentials_is_used_and_redacted() {
    let out = run(
        SCENARIO,
        &["route", "https://a.example/", "--format", "json"],
    );
    assert_eq!(out.status.code(), Some(0));
    let raw = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(!raw.contains("u:p"), "credentials leaked: {raw}");
    let v = json(&out);
    assert_eq!(v["url"], "https://a.example/");
    assert_eq!(v["via"], "proxy");
    assert_eq!(v["proxy"], "http://proxy.test:3128");
    assert!(v["provider"].is_null());
    let st = steps(&v)
        .iter()
        .find(|s| s["origin"]["var"] == "https_proxy")
        .unwrap_or_else(|| panic!("no step names https_proxy: {v}"));
    assert_eq!(st["rule"], "env_proxy");
    assert_eq!(st["outcome"], "proxy");
    assert_eq!(st["value"], "http://proxy.test:3128");
}

#[test]
fn no_proxy_entry_sends_internal_hosts_direct() {
    let out = run(
        SCENARIO,
        &["route", "https://x.internal/", "--format", "json"],
    );
    assert_eq!(out.status.code(), Some(0));
    let v = json(&out);
    assert_eq!(v["via"], "direct");
    assert!(v["proxy"].is_null());
    let st = steps(&v)
        .iter()
        .find(|s| s["rule"] == "no_proxy")
        .unwrap_or_else(|| panic!("no no_proxy step: {v}"));
    assert_eq!(st["entry"], ".internal");
    assert_eq!(st["outcome"], "matched");
    assert_eq!(st["origin"]["var"], "no_proxy");
}

#[test]
fn uppercase_http_proxy_is_ignored_and_explained() {
    let env = [("HTTP_PROXY", "http://proxy.test:3128")];
    let out = run(&env, &["route", "http://a.example/", "--format", "json"]);
    assert_eq!(out.status.code(), Some(0));
    let v = json(&out);
    assert_eq!(v["via"], "direct");
    let st = steps(&v)
        .iter()
        .find(|s| s["origin"]["var"] == "HTTP_PROXY")
        .unwrap_or_else(|| panic!("no step names HTTP_PROXY: {v}"));
    assert_eq!(st["rule"], "ignored_variable");
    assert_eq!(st["outcome"], "ignored");
    assert_eq!(st["warnings"][0]["code"], "httpoxy");
    let tools: Vec<&str> = st["warnings"][0]["peers"]
        .as_array()
        .map(|a| a.iter().filter_map(|p| p["tool"].as_str()).collect())
        .unwrap_or_default();
    for t in [
        "go",
        "python-urllib",
        "requests",
        "node-proxy-from-env",
        "hyper-util",
    ] {
        assert!(tools.contains(&t), "{t} not named in {tools:?}");
    }
}

#[test]
fn text_output_is_the_explanation() {
    let out = run(
        SCENARIO,
        &["route", "https://x.internal/", "--provider", "intranet"],
    );
    assert_eq!(out.status.code(), Some(0));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.starts_with("route for https://x.internal/ (provider intranet): direct"));
    assert!(
        text.contains(".internal") && !text.contains("u:p"),
        "{text}"
    );
}

#[test]
fn bad_url_exits_2() {
    let out = run(&[], &["route", "not a url", "--format", "json"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(out.stdout.is_empty());
    assert!(!out.stderr.is_empty());
}

/// A user name with `/` in it ends the host early and the password becomes the path; when the
/// URL's `..` then removes the `@`, nothing would mark the password as one: refused, unprinted.
#[test]
fn a_url_whose_dot_segments_remove_its_at_exits_2_without_the_password() {
    for format in ["json", "text"] {
        let out = run(
            &[],
            &[
                "route",
                "https://svc/acct:Zq7Kx@api.test/..",
                "--format",
                format,
            ],
        );
        assert_eq!(out.status.code(), Some(2), "{format}");
        assert!(out.stdout.is_empty(), "{format}");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(stderr.contains("***"), "{stderr}");
        assert!(!stderr.contains("Zq7Kx"), "{stderr}");
    }
}

#[test]
fn invalid_proxy_variable_exits_2_with_a_coded_error() {
    let env = [("https_proxy", "gopher://u:secret@proxy.test")];
    let out = run(&env, &["route", "https://a.example/", "--format", "json"]);
    assert_eq!(out.status.code(), Some(2));
    let raw = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(!raw.contains("secret"), "{raw}");
    let v = json(&out);
    assert_eq!(v["error"]["code"], "config.proxy_url");
    assert_eq!(v["error"]["phase"], "config");
    assert_eq!(v["error"]["evidence"]["setting"], "https_proxy");
}

#[test]
fn probe_route_shows_the_pac_file_its_answer_and_each_candidate() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("corp.pac"),
        "function FindProxyForURL(url, host) {\n  if (dnsDomainIs(host, '.internal')) return 'DIRECT';\n  return 'PROXY a.proxy.test:3128; SOCKS5 b.proxy.test:1080; DIRECT';\n}\n",
    )
    .unwrap();
    let config = dir.path().join("proxyscope.toml");
    std::fs::write(&config, "pac = \"corp.pac\"\n").unwrap();
    let cfg = config.to_str().unwrap();
    let out = run_pac(&[
        "route",
        "https://a.example/",
        "--config",
        cfg,
        "--format",
        "json",
    ]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v = json(&out);
    assert_eq!(v["via"], "proxy");
    assert_eq!(v["proxy"], "http://a.proxy.test:3128");
    assert_eq!(v["candidates"]["source"], "pac");
    assert_eq!(v["candidates"]["origin"]["kind"], "file");
    assert_eq!(
        v["candidates"]["pac"]["returned"],
        "PROXY a.proxy.test:3128; SOCKS5 b.proxy.test:1080; DIRECT"
    );
    assert_eq!(v["candidates"]["entries"].as_array().map(Vec::len), Some(3));
    assert_eq!(v["candidates"]["used"], 0);
    assert!(steps(&v).iter().any(|s| s["rule"] == "pac"));
    assert_eq!(
        steps(&v)
            .iter()
            .filter(|s| s["rule"] == "candidate")
            .count(),
        3
    );
    // The other branch, in text.
    let out = run_pac(&["route", "https://db.internal/", "--config", cfg]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("returned \"DIRECT\""), "{text}");
    assert!(text.contains("direct"), "{text}");
}

#[test]
fn probe_route_resolves_the_names_a_pac_script_looks_up() {
    // localhost resolves from the hosts file, on every test machine, without a network.
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("corp.pac"),
        "function FindProxyForURL(url, host) {\n  if (isInNet(host, '127.0.0.0', '255.0.0.0')) return 'DIRECT';\n  if (isResolvable(host)) return 'PROXY resolvable.proxy.test:3128';\n  return 'PROXY unresolved.proxy.test:3128';\n}\n",
    )
    .unwrap();
    let config = dir.path().join("proxyscope.toml");
    std::fs::write(&config, "pac = \"corp.pac\"\n").unwrap();
    let cfg = config.to_str().unwrap();
    let out = run_pac(&[
        "route",
        "http://localhost:8080/x",
        "--config",
        cfg,
        "--format",
        "json",
    ]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v = json(&out);
    assert_eq!(v["via"], "direct", "{v}");
    let c = &v["candidates"];
    assert!(c.get("needs_dns").is_none(), "{c}");
    assert_eq!(c["pac"]["returned"], "DIRECT");
    let lookups = c["pac"]["lookups"].as_array().expect("lookups");
    assert!(
        lookups.iter().any(|l| l
            .as_str()
            .is_some_and(|l| l.starts_with("localhost = ") && l.contains("127.0.0.1"))),
        "{lookups:?}"
    );
    // A name that cannot resolve (the reserved .invalid domain fails without asking a server)
    // takes the script's other branch, and the explanation says it did not resolve.
    let out = run_pac(&[
        "route",
        "http://nothing.invalid/",
        "--config",
        cfg,
        "--format",
        "json",
    ]);
    let v = json(&out);
    assert_eq!(v["proxy"], "http://unresolved.proxy.test:3128", "{v}");
    let lookups = v["candidates"]["pac"]["lookups"]
        .as_array()
        .expect("lookups");
    assert!(
        lookups.iter().any(|l| l == "nothing.invalid = (none)"),
        "{lookups:?}"
    );
}
