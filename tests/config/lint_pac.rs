//! PAC lint: one script per finding, asserting the finding's code, severity and location; a
//! clean corporate PAC file has none.

use proxyscope::config::{Diagnostic, Severity};
use proxyscope::pac::{LintOptions, PacScript, lint};

fn findings(src: &str, resolver: bool) -> Vec<Diagnostic> {
    let script = PacScript::from_source(src, "proxy.pac").unwrap();
    lint(
        &script,
        &LintOptions {
            resolver_configured: resolver,
            ..LintOptions::default()
        },
    )
}

fn codes(d: &[Diagnostic]) -> Vec<(&str, Severity, Option<&str>)> {
    d.iter()
        .map(|d| (d.code.as_str(), d.severity, d.location.as_deref()))
        .collect()
}

#[test]
fn a_clean_pac_file_has_no_findings() {
    let script = PacScript::from_file(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/pac/corp.pac"
    ))
    .unwrap();
    let d = lint(&script, &LintOptions::default());
    assert!(d.is_empty(), "{d:#?}");
}

#[test]
fn syntax_errors_have_line_and_column() {
    let d = findings(
        "function FindProxyForURL(url, host) {\n    return 'DIRECT'\n    if (host ==\n}\n",
        true,
    );
    assert_eq!(d.len(), 1, "{d:#?}");
    assert_eq!(d[0].code, "pac.syntax");
    assert_eq!(d[0].severity, Severity::Error);
    let loc = d[0].location.as_deref().unwrap();
    assert!(loc.starts_with("proxy.pac:4:"), "{loc}");
    assert_eq!(d[0].path, "pac");
}

#[test]
fn a_missing_function_is_an_error() {
    let d = findings(
        "function FindProxyForUrl(url, host) { return 'DIRECT'; }",
        true,
    );
    assert_eq!(
        codes(&d),
        [("pac.missing_function", Severity::Error, Some("proxy.pac"))]
    );
}

#[test]
fn non_string_answers_and_throws_on_samples_are_errors() {
    let d = findings(
        "function FindProxyForURL(url, host) {\n  if (isPlainHostName(host)) return;\n  return 'DIRECT';\n}",
        true,
    );
    assert_eq!(d.len(), 1, "{d:#?}");
    assert_eq!(d[0].code, "pac.result");
    assert!(d[0].message.contains("intranet"), "{}", d[0].message);

    let d = findings(
        "function FindProxyForURL(url, host) {\n  if (host == '10.20.30.40') throw new Error('no');\n  return 'DIRECT';\n}",
        true,
    );
    assert_eq!(
        codes(&d),
        [("pac.runtime", Severity::Error, Some("proxy.pac:2:40"))]
    );

    // Reported once: the lint stops at the first sample that runs out of time.
    let d = findings(
        "function FindProxyForURL(url, host) { while (true) {} }",
        true,
    );
    assert_eq!(d.len(), 1, "{d:#?}");
    assert_eq!(
        (d[0].code.as_str(), d[0].severity),
        ("pac.timeout", Severity::Error)
    );
    assert!(
        d[0].location
            .as_deref()
            .unwrap()
            .starts_with("proxy.pac:1:")
    );
}

#[test]
fn doubtful_entries_are_warnings() {
    let d = findings(
        "function FindProxyForURL(url, host) { return 'PROXY egress; FTP x:1; DIRECT'; }",
        true,
    );
    assert!(!d.is_empty());
    assert!(
        d.iter()
            .all(|d| d.code == "pac.result" && d.severity == Severity::Warning),
        "{d:#?}"
    );
}

#[test]
fn shexpmatch_on_url_with_a_host_pattern() {
    let src = "function FindProxyForURL(url, host) {\n  // shExpMatch(url, \"*.commented.example\") is not code\n  if (shExpMatch(url, \"*.internal.example\")) return \"DIRECT\";\n  if (shExpMatch(url, 'http://ok.example/*')) return \"DIRECT\";\n  if (shExpMatch(host, \"*.fine.example\")) return \"DIRECT\";\n  return \"PROXY p:3128\";\n}";
    let d = findings(src, true);
    assert_eq!(
        codes(&d),
        [(
            "pac.shexp_url_host_pattern",
            Severity::Warning,
            Some("proxy.pac:3:7")
        )]
    );
    // Parameters named differently are followed.
    let d = findings(
        "function FindProxyForURL(u, h) { if (shExpMatch(u, '*.x.example*')) return 'DIRECT'; return 'DIRECT'; }",
        true,
    );
    assert_eq!(d.len(), 1);
    assert_eq!(d[0].code, "pac.shexp_url_host_pattern");
}

#[test]
fn name_lookups_on_every_call() {
    let every = "function FindProxyForURL(url, host) {\n  var ip = dnsResolve(host);\n  if (isPlainHostName(host)) return 'DIRECT';\n  return 'PROXY p:3128';\n}";
    let d = findings(every, true);
    assert_eq!(
        codes(&d),
        [(
            "pac.dns_every_call",
            Severity::Warning,
            Some("proxy.pac:2:12")
        )]
    );

    let every = "function FindProxyForURL(url, host) {\n  if (isInNet(host, '10.0.0.0', '255.0.0.0')) return 'DIRECT';\n  return 'PROXY p:3128';\n}";
    let d = findings(every, true);
    assert_eq!(
        codes(&d),
        [(
            "pac.dns_every_call",
            Severity::Warning,
            Some("proxy.pac:2:7")
        )]
    );

    // Guarded by a cheap test first: only some hosts are resolved.
    let guarded = "function FindProxyForURL(url, host) {\n  if (dnsDomainIs(host, '.corp.example.net') && isInNet(host, '10.0.0.0', '255.0.0.0')) return 'DIRECT';\n  return 'PROXY p:3128';\n}";
    assert!(findings(guarded, true).is_empty());
}

#[test]
fn is_in_net_on_names_without_a_resolver() {
    let src = "function FindProxyForURL(url, host) {\n  if (dnsDomainIs(host, '.corp.example.net') && isInNet(host, '10.0.0.0', '255.0.0.0')) return 'DIRECT';\n  return 'PROXY p:3128';\n}";
    let d = findings(src, false);
    assert_eq!(
        codes(&d),
        [(
            "pac.isinnet_no_resolver",
            Severity::Warning,
            Some("proxy.pac:2:49")
        )]
    );
    assert!(findings(src, true).is_empty());
}

#[test]
fn is_in_net_ex_on_names_is_always_false() {
    // An IPv6-aware script written for Windows, whose entry point is FindProxyForURLEx.
    let src = "function FindProxyForURLEx(url, h) {\n  if (isInNetEx(h, '10.0.0.0/8')) return 'DIRECT';\n  return 'PROXY p:3128';\n}";
    for resolver in [true, false] {
        let d = findings(src, resolver);
        assert_eq!(
            codes(&d),
            [(
                "pac.isinnetex_name",
                Severity::Warning,
                Some("proxy.pac:2:7")
            )]
        );
        assert!(
            d[0].suggestion
                .as_deref()
                .unwrap()
                .contains("dnsResolveEx(h)")
        );
    }
    // On an address the script resolved itself, it is what the script means.
    let resolved = "function FindProxyForURLEx(url, host) {\n  var ip = dnsDomainIs(host, '.corp.example') ? dnsResolveEx(host).split(';')[0] : '';\n  return isInNetEx(ip, '10.0.0.0/8') ? 'DIRECT' : 'PROXY p:3128';\n}";
    assert!(
        findings(resolved, true).is_empty(),
        "{:?}",
        findings(resolved, true)
    );
}

#[test]
fn resolving_the_destination_with_the_ipv6_helpers_on_every_call_is_found() {
    let src = "function FindProxyForURL(url, host) {\n  if (isResolvableEx(host)) return 'DIRECT';\n  return 'PROXY p:3128';\n}";
    assert_eq!(
        codes(&findings(src, true)),
        [(
            "pac.dns_every_call",
            Severity::Warning,
            Some("proxy.pac:2:7")
        )]
    );
}

#[test]
fn findings_serialise_as_lint_json() {
    let d = findings(
        "function FindProxyForURL(url, host) { return shExpMatch(url, '*.a.example') ? 'DIRECT' : 'DIRECT'; }",
        true,
    );
    let json = serde_json::to_value(&d).unwrap();
    assert_eq!(json[0]["code"], "pac.shexp_url_host_pattern");
    assert_eq!(json[0]["severity"], "warning");
    assert!(json[0]["suggestion"].as_str().unwrap().contains("host"));
}

/// `probe lint` on a config whose `pac` (relative to the config's directory) holds `src`: the
/// exit code and the findings' (code, path).
fn probe_lint(src: &str) -> (i32, Vec<(String, String, Option<String>)>) {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("proxy.pac"), src).unwrap();
    let config = dir.path().join("proxyscope.toml");
    std::fs::write(
        &config,
        "[providers.api]\nurl = \"https://api.example/\"\npac = \"proxy.pac\"\n",
    )
    .unwrap();
    run_lint(&["--config", config.to_str().unwrap()], &[])
}

/// `probe lint --format json` with `args` in the environment `env` only: the exit code and the
/// findings' (code, path, location).
fn run_lint(args: &[&str], env: &[(&str, &str)]) -> (i32, Vec<(String, String, Option<String>)>) {
    let out = std::process::Command::new(crate::common::probe::example_bin_with(
        "probe",
        "PAC answers",
    ))
    .arg("lint")
    .args(args)
    .args(["--format", "json"])
    .env_clear()
    .envs(env.iter().copied())
    .output()
    .unwrap();
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let found = v["diagnostics"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| {
            (
                d["code"].as_str().unwrap_or_default().to_owned(),
                d["path"].as_str().unwrap_or_default().to_owned(),
                d["location"].as_str().map(str::to_owned),
            )
        })
        .collect();
    (out.status.code().unwrap(), found)
}

/// A script whose only mistake needs a host without DNS to show.
const ISINNET_ON_HOST: &str = "function FindProxyForURL(url, host) {\n  if (isPlainHostName(host)) return 'DIRECT';\n  if (dnsDomainIs(host, '.corp.example') && isInNet(host, '10.0.0.0', '255.0.0.0')) return 'DIRECT';\n  return 'PROXY p.example:3128';\n}\n";

#[test]
fn probe_lint_no_dns_reports_isinnet_on_a_host_name() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("proxy.pac"), ISINNET_ON_HOST).unwrap();
    let config = dir.path().join("proxyscope.toml");
    std::fs::write(
        &config,
        "[providers.api]\nurl = \"https://api.example/\"\npac = \"proxy.pac\"\n",
    )
    .unwrap();
    let cfg = config.to_str().unwrap();
    // Where names resolve, the script is clean.
    let (status, found) = run_lint(&["--config", cfg], &[]);
    assert_eq!((status, found.len()), (0, 0), "{found:?}");
    let (status, found) = run_lint(&["--config", cfg, "--no-dns"], &[]);
    assert_eq!(status, 1, "{found:?}");
    assert_eq!(found.len(), 1, "{found:?}");
    assert_eq!(found[0].0, "pac.isinnet_no_resolver");
    assert_eq!(found[0].1, "providers.api.pac");
    // The call's line:col in the PAC file.
    let loc = found[0].2.as_deref().unwrap_or_default();
    assert!(loc.ends_with("proxy.pac:3:45"), "{loc}");
}

#[test]
fn probe_lint_lints_the_pac_file_proxyscope_pac_names() {
    let dir = tempfile::tempdir().unwrap();
    let pac = dir.path().join("env.pac");
    std::fs::write(
        &pac,
        "function FindProxyForURL(url, host) {\n  if (shExpMatch(url, '*.corp.example')) return 'DIRECT';\n  return 'PROXY p.example:3128';\n}\n",
    )
    .unwrap();
    let path = pac.to_str().unwrap();
    let (status, found) = run_lint(&[], &[("PROXYSCOPE_PAC", path)]);
    assert_eq!(status, 1, "{found:?}");
    let hit = found
        .iter()
        .find(|f| f.0 == "pac.shexp_url_host_pattern")
        .unwrap_or_else(|| panic!("{found:?}"));
    assert_eq!(hit.1, "PROXYSCOPE_PAC");
    assert!(
        hit.2.as_deref().is_some_and(|l| l.ends_with("env.pac:2:7")),
        "{hit:?}"
    );
    // With --no-dns the environment's file gets the DNS finding too.
    std::fs::write(&pac, ISINNET_ON_HOST).unwrap();
    let (_, found) = run_lint(&["--no-dns"], &[("PROXYSCOPE_PAC", path)]);
    assert!(
        found
            .iter()
            .any(|f| f.0 == "pac.isinnet_no_resolver" && f.1 == "PROXYSCOPE_PAC"),
        "{found:?}"
    );
    // A file that does not exist is an error, not a silent route.
    let (status, found) = run_lint(&[], &[("PROXYSCOPE_PAC", "/nonexistent/corp.pac")]);
    assert_eq!(status, 2, "{found:?}");
    assert!(
        found
            .iter()
            .any(|f| f.0 == "pac.file" && f.1 == "PROXYSCOPE_PAC"),
        "{found:?}"
    );
}

#[test]
fn probe_lint_reports_each_classic_pac_mistake_under_the_pac_key() {
    let cases: &[(&str, &str, i32)] = &[
        (
            "function FindProxyForURL(url, host) {\n  return 'DIRECT'\n  if (host ==\n}\n",
            "pac.syntax",
            2,
        ),
        (
            "function findProxy(url, host) { return 'DIRECT'; }",
            "pac.missing_function",
            2,
        ),
        (
            "function FindProxyForURL(url, host) { return 42; }",
            "pac.result",
            2,
        ),
        (
            "function FindProxyForURL(url, host) {\n  if (shExpMatch(url, \"*.corp.example\")) return 'DIRECT';\n  return 'PROXY p.example:3128';\n}\n",
            "pac.shexp_url_host_pattern",
            1,
        ),
        (
            "function FindProxyForURL(url, host) {\n  if (isInNet(dnsResolve(host), '10.0.0.0', '255.0.0.0')) return 'DIRECT';\n  return 'PROXY p.example:3128';\n}\n",
            "pac.dns_every_call",
            1,
        ),
    ];
    for &(src, code, exit) in cases {
        let (status, found) = probe_lint(src);
        let hit = found
            .iter()
            .find(|f| f.0 == code)
            .unwrap_or_else(|| panic!("{code} not reported: {found:?}"));
        assert_eq!(hit.1, "providers.api.pac", "{code}");
        assert_eq!(status, exit, "{code}: {found:?}");
        if code == "pac.syntax" {
            // line:col inside the PAC file.
            let loc = hit.2.as_deref().unwrap_or_default();
            assert!(
                loc.ends_with(":4:1") || loc.contains(":3:") || loc.contains(":4:"),
                "{loc}"
            );
        }
    }
    // A clean script lints clean.
    let (status, found) = probe_lint("function FindProxyForURL(url, host) { return 'DIRECT'; }");
    assert_eq!((status, found.len()), (0, 0), "{found:?}");
    // A PAC file that is not a regular file is an error, not a hang.
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("proxyscope.toml");
    std::fs::write(&config, "pac = \"/dev/zero\"\n").unwrap();
    let d = proxyscope::config::ConfigDocument::from_file(&config)
        .unwrap()
        .lint(&proxyscope::EnvSnapshot::default());
    assert!(
        d.iter().any(|d| d.code == "pac.file" && d.path == "pac"),
        "{d:?}"
    );
}
