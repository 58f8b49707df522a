//! One fixture per configuration mistake (tests/fixtures/config/*.toml): the lint names the
//! stable code, the key path, the file:line, and a suggestion containing the right key or value.
//! Loading each broken fixture fails with one `config.invalid` carrying the same findings.

use std::path::{Path, PathBuf};

use proxyscope::config::{Config, ConfigDocument, Diagnostic, Severity};
use proxyscope::{EnvSnapshot, Phase};

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/config")
        .join(name)
}

fn lint(name: &str) -> Vec<Diagnostic> {
    ConfigDocument::from_file(fixture(name))
        .expect("fixture readable")
        .lint(&EnvSnapshot::default())
}

/// The 1-based line of the first non-comment line containing `needle` (fixtures are checked in, so this
/// keeps the expectations readable without hard-coding line numbers).
fn line_of(name: &str, needle: &str) -> usize {
    let text = std::fs::read_to_string(fixture(name)).unwrap();
    text.lines()
        .position(|l| !l.starts_with('#') && l.contains(needle))
        .unwrap_or_else(|| panic!("{needle} not in {name}"))
        + 1
}

struct Case {
    fixture: &'static str,
    code: &'static str,
    severity: Severity,
    path: &'static str,
    /// Text on the line the location must point at.
    line_with: &'static str,
    /// What the suggestion must contain.
    fix: &'static str,
}

const CASES: &[Case] = &[
    Case {
        fixture: "wrong_key.toml",
        code: "misplaced_key",
        severity: Severity::Error,
        path: "no_proxy_list",
        line_with: "no_proxy_list",
        fix: "rename `no_proxy_list` to `no_proxy`",
    },
    Case {
        fixture: "typo_key.toml",
        code: "unknown_key",
        severity: Severity::Error,
        path: "no_proxi",
        line_with: "no_proxi",
        fix: "`no_proxy`",
    },
    Case {
        fixture: "misplaced_ca.toml",
        code: "misplaced_key",
        severity: Severity::Error,
        path: "providers.yandex.cacert",
        line_with: "cacert",
        fix: "rename `cacert` to `ca_file`",
    },
    Case {
        fixture: "misplaced_ca.toml",
        code: "misplaced_key",
        severity: Severity::Error,
        path: "providers.yandex.agentOptions.ca",
        line_with: "ca = ",
        fix: "move `agentOptions.ca` to `ca_file`",
    },
    Case {
        fixture: "url_no_proxy.toml",
        code: "no_proxy.url",
        severity: Severity::Error,
        path: "no_proxy[1]",
        line_with: "deployment-restbase02",
        fix: "`.deployment-restbase02.eqiad.wmflabs`",
    },
    Case {
        fixture: "url_no_proxy.toml",
        code: "no_proxy.url",
        severity: Severity::Error,
        path: "no_proxy[2]",
        line_with: "https://example.org/",
        fix: "write `.example.org` instead of `https://example.org/`",
    },
    Case {
        fixture: "url_no_proxy.toml",
        code: "no_proxy.path",
        severity: Severity::Error,
        path: "no_proxy[3]",
        line_with: "apertium.svc.example.org/translate",
        fix: "`.apertium.svc.example.org`",
    },
    Case {
        fixture: "ca_missing.toml",
        code: "ca_file.missing",
        severity: Severity::Error,
        path: "ca_file",
        line_with: "ca_file",
        fix: "relative paths resolve against the config file's directory",
    },
    Case {
        fixture: "ca_empty.toml",
        code: "ca_file.empty",
        severity: Severity::Error,
        path: "providers.internal.ca_file[0]",
        line_with: "ca_file",
        fix: "PEM",
    },
    Case {
        fixture: "ca_garbage.toml",
        code: "ca_file.not_pem",
        severity: Severity::Error,
        path: "proxy_ca_file",
        line_with: "proxy_ca_file",
        fix: "BEGIN CERTIFICATE",
    },
    Case {
        fixture: "proxy_no_scheme.toml",
        code: "proxy_url.no_scheme",
        severity: Severity::Warning,
        path: "proxy",
        line_with: "proxy =",
        fix: "`http://url-downloader.example.org:8080`",
    },
    Case {
        fixture: "proxy_path.toml",
        code: "proxy_url.path",
        severity: Severity::Warning,
        path: "providers.yandex.proxy",
        line_with: "proxy =",
        fix: "`http://yandex-egress.example.org:3128`",
    },
    Case {
        fixture: "proxy_scheme.toml",
        code: "proxy_url.scheme",
        severity: Severity::Error,
        path: "proxy",
        line_with: "proxy =",
        fix: "`http://url-downloader.example.org:8080`",
    },
    Case {
        fixture: "unknown_provider_key.toml",
        code: "misplaced_key",
        severity: Severity::Error,
        path: "providers.yandex.api",
        line_with: "api =",
        fix: "rename `api` to `url`",
    },
    Case {
        fixture: "unknown_provider_key.toml",
        code: "unknown_key",
        severity: Severity::Error,
        path: "providers.yandex.proxxy",
        line_with: "proxxy",
        fix: "`proxy`",
    },
    Case {
        fixture: "unknown_provider_key.toml",
        code: "provider.url_missing",
        severity: Severity::Error,
        path: "providers.yandex",
        line_with: "[providers.yandex]",
        fix: "rename `api` to `url`",
    },
    Case {
        fixture: "proxy_unusable.toml",
        code: "provider.proxy_unusable",
        severity: Severity::Warning,
        path: "providers.yandex.proxy",
        line_with: "yandex-egress",
        fix: "remove `translate.yandex.net` from `no_proxy`",
    },
    Case {
        fixture: "strict_ssl.toml",
        code: "misplaced_key",
        severity: Severity::Error,
        path: "providers.yandex.strictSSL",
        line_with: "strictSSL",
        fix: "`danger_accept_invalid_certs = true`",
    },
    Case {
        fixture: "danger.toml",
        code: "danger_accept_invalid_certs",
        severity: Severity::Warning,
        path: "providers.lab.danger_accept_invalid_certs",
        line_with: "danger_accept",
        fix: "`ca_file`",
    },
    Case {
        fixture: "bare_duration.toml",
        code: "duration.bare_number",
        severity: Severity::Error,
        path: "timeouts.connect",
        line_with: "connect",
        fix: "\"5s\"",
    },
    Case {
        fixture: "syntax_error.toml",
        code: "toml.syntax",
        severity: Severity::Error,
        path: "",
        line_with: "proxy",
        fix: "TOML",
    },
];

#[test]
fn each_mistake_is_named_with_path_location_and_fix() {
    for c in CASES {
        let diags = lint(c.fixture);
        let d = diags
            .iter()
            .find(|d| d.code == c.code && d.path == c.path)
            .unwrap_or_else(|| panic!("{}: no {} at {}: {diags:#?}", c.fixture, c.code, c.path));
        assert_eq!(d.severity, c.severity, "{}: {d}", c.fixture);
        let loc = d
            .location
            .as_deref()
            .unwrap_or_else(|| panic!("{}: no location", c.fixture));
        let file = fixture(c.fixture).display().to_string();
        let line = line_of(c.fixture, c.line_with);
        assert!(
            loc.starts_with(&format!("{file}:{line}:")),
            "{}: location {loc}, want line {line}",
            c.fixture
        );
        let fix = d.suggestion.as_deref().unwrap_or("");
        assert!(
            fix.contains(c.fix),
            "{}: suggestion {fix:?} lacks {:?}",
            c.fixture,
            c.fix
        );
    }
}

#[test]
fn the_clean_fixture_has_no_findings() {
    assert_eq!(lint("clean.toml"), Vec::<Diagnostic>::new());
}

#[test]
fn broken_fixtures_fail_to_load_with_all_diagnostics() {
    for name in [
        "wrong_key.toml",
        "misplaced_ca.toml",
        "url_no_proxy.toml",
        "ca_missing.toml",
        "ca_empty.toml",
        "ca_garbage.toml",
        "proxy_scheme.toml",
        "unknown_provider_key.toml",
        "strict_ssl.toml",
        "bare_duration.toml",
        "syntax_error.toml",
    ] {
        let err = Config::from_file(fixture(name)).expect_err(name);
        assert_eq!(err.code(), "config.invalid", "{name}");
        assert_eq!(err.hop(), None, "{name}");
        assert_eq!(err.phase(), Phase::Config, "{name}");
        let ev = err.evidence();
        assert_eq!(
            ev.file.as_deref(),
            Some(fixture(name).display().to_string().as_str())
        );
        let file_errors: Vec<Diagnostic> =
            lint(name).into_iter().filter(|d| d.is_error()).collect();
        let carried: Vec<Diagnostic> = ev
            .diagnostics
            .iter()
            .filter(|d| d.is_error())
            .cloned()
            .collect();
        assert_eq!(
            carried, file_errors,
            "{name}: every error is carried, not just the first"
        );
        assert!(err.hint().is_some(), "{name}");
    }
}

#[test]
fn several_mistakes_in_one_file_are_all_reported() {
    let d = lint("unknown_provider_key.toml");
    let errors: Vec<&str> = d
        .iter()
        .filter(|d| d.is_error())
        .map(|d| d.path.as_str())
        .collect();
    assert_eq!(
        errors,
        [
            "providers.yandex.api",
            "providers.yandex.proxxy",
            "providers.yandex"
        ]
    );
    let d = lint("url_no_proxy.toml");
    assert_eq!(d.iter().filter(|d| d.is_error()).count(), 3);
}

#[test]
fn warning_only_fixtures_still_load() {
    for name in [
        "proxy_no_scheme.toml",
        "proxy_path.toml",
        "proxy_unusable.toml",
        "danger.toml",
    ] {
        let cfg =
            Config::from_file(fixture(name)).unwrap_or_else(|e| panic!("{name}: {}", e.report()));
        assert!(
            cfg.lint(&EnvSnapshot::default())
                .iter()
                .any(|d| d.severity == Severity::Warning),
            "{name}"
        );
    }
}

#[test]
fn strict_ssl_true_means_remove_not_disable() {
    let doc = ConfigDocument::from_toml_str(
        "[providers.y]\nurl = \"https://y.test\"\nstrictSSL = true\ninsecure = true\n",
        "inline.toml",
    );
    let d = doc.lint(&EnvSnapshot::default());
    let strict = d
        .iter()
        .find(|d| d.path == "providers.y.strictSSL")
        .unwrap();
    assert!(
        strict
            .suggestion
            .as_deref()
            .unwrap()
            .starts_with("remove `strictSSL = true`")
    );
    let insecure = d.iter().find(|d| d.path == "providers.y.insecure").unwrap();
    assert!(
        insecure
            .suggestion
            .as_deref()
            .unwrap()
            .contains("`danger_accept_invalid_certs = true`")
    );
}

#[test]
fn a_single_timeout_moves_into_the_timeouts_table() {
    let d = ConfigDocument::from_toml_str("timeout = \"30s\"\n", "inline.toml")
        .lint(&EnvSnapshot::default());
    assert_eq!(d.len(), 1, "{d:#?}");
    assert_eq!(d[0].code, "misplaced_key");
    assert!(
        d[0].suggestion
            .as_deref()
            .unwrap()
            .contains("`[timeouts]` as `request = \"30s\"`")
    );
}

#[test]
fn misplacement_table_at_the_top_level() {
    let text = "ca = \"/x.pem\"\nca_cert = \"/x.pem\"\nnoproxy = [\"a\"]\nhttp_proxy = \"http://p.test:1\"\nhttps_proxy = \"http://p.test:1\"\n[agent_options]\nca = \"/x.pem\"\n";
    let d = ConfigDocument::from_toml_str(text, "inline.toml").lint(&EnvSnapshot::default());
    let want = [
        ("ca", "`ca_file`"),
        ("ca_cert", "`ca_file`"),
        ("noproxy", "`no_proxy`"),
        ("http_proxy", "`proxy`"),
        ("https_proxy", "`proxy`"),
        ("agent_options.ca", "`ca_file`"),
    ];
    for (path, fix) in want {
        let hit = d
            .iter()
            .find(|d| d.path == path)
            .unwrap_or_else(|| panic!("{path}: {d:#?}"));
        assert_eq!(hit.code, "misplaced_key", "{path}");
        assert!(hit.suggestion.as_deref().unwrap().contains(fix), "{path}");
    }
}
