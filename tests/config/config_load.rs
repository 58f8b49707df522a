//! Loading and provenance: the documented example config loads; every value's origin is
//! file:line:col + key path through the layers (inherited values show the global's origin);
//! relative paths resolve against the config file's directory; checks are parsed; a config
//! nested in JSON or TOML deserialises (unknown keys still linted); secrets never leak.

use std::path::Path;
use std::time::Duration;

use proxyscope::config::{CheckTarget, Config, ConfigDocument, StatusExpectation};
use proxyscope::{EnvSnapshot, Provenance, ProxySetting, Roots};

const EXAMPLE: &str = r#"proxy = "http://url-downloader.example.org:8080"
no_proxy = ["localhost", "127.0.0.1", ".svc.example.org", "10.0.0.0/8"]
roots = "webpki"
[timeouts]
connect = "5s"
proxy = "5s"
tls = "5s"
request = "30s"

[providers.apertium]
url = "http://apertium.svc.example.org:2737"
proxy = "direct"

[providers.yandex]
url = "https://translate.yandex.net"
proxy = "http://yandex-egress.example.org:3128"
required = false
timeouts = { request = "1m" }
[[providers.yandex.checks]]
name = "languages"
path = "/api/v1.5/tr.json/getLangs"
expect_status = 200
body_contains = "dirs"
[[providers.yandex.checks]]
name = "root"
url = "https://translate.yandex.net/"
method = "head"
expect_status = "3xx"
expect_header = { name = "location", contains = "yandex" }
follow_redirects = true
timeout = "250ms"
"#;

fn file_origin(o: &Provenance) -> (u32, u32, &str) {
    match o {
        Provenance::File { line, col, key, .. } => (*line, *col, key.as_str()),
        other => panic!("not a file origin: {other:?}"),
    }
}

#[test]
fn design_example_loads_with_origins_through_layers() {
    let cfg = Config::from_toml_str(EXAMPLE, "/etc/proxyscope/config.toml").unwrap();
    let g = cfg.global_layer();
    assert_eq!(
        file_origin(&g.proxy.as_ref().unwrap().origin),
        (1, 1, "proxy")
    );
    assert_eq!(g.roots.as_ref().unwrap().value, Roots::Webpki);
    assert_eq!(
        file_origin(&g.timeouts.connect.as_ref().unwrap().origin),
        (5, 1, "timeouts.connect")
    );
    assert_eq!(cfg.timeouts().request_or_default(), Duration::from_secs(30));

    let names: Vec<&str> = cfg.providers().iter().map(|p| p.name()).collect();
    assert_eq!(names, ["apertium", "yandex"]);

    let apertium = cfg.effective_layer("apertium").unwrap();
    assert_eq!(apertium.proxy.as_ref().unwrap().value, ProxySetting::Direct);
    assert_eq!(
        file_origin(&apertium.proxy.as_ref().unwrap().origin),
        (12, 1, "providers.apertium.proxy")
    );
    // Inherited: the global's value and the global's origin.
    assert_eq!(
        file_origin(&apertium.no_proxy.as_ref().unwrap().origin),
        (2, 1, "no_proxy")
    );
    assert_eq!(
        file_origin(&apertium.timeouts.tls.as_ref().unwrap().origin),
        (7, 1, "timeouts.tls")
    );

    let yandex = cfg.provider("yandex").unwrap();
    assert!(!yandex.is_required());
    assert!(cfg.provider("apertium").unwrap().is_required());
    assert_eq!(
        cfg.provider("apertium").unwrap().required().origin,
        Provenance::Default
    );
    assert_eq!(
        file_origin(&yandex.url().origin),
        (15, 1, "providers.yandex.url")
    );
    let eff = cfg.effective_layer("yandex").unwrap();
    assert_eq!(eff.timeouts.request_or_default(), Duration::from_secs(60));
    assert_eq!(
        file_origin(&eff.timeouts.request.as_ref().unwrap().origin),
        (18, 14, "providers.yandex.timeouts.request")
    );
    assert_eq!(eff.timeouts.connect_or_default(), Duration::from_secs(5));

    let checks = yandex.checks();
    assert_eq!(checks.len(), 2);
    assert_eq!(
        checks[0].target,
        CheckTarget::Path("/api/v1.5/tr.json/getLangs".into())
    );
    assert_eq!(checks[0].method, http::Method::GET);
    assert_eq!(checks[0].expect_status, StatusExpectation::Exact(200));
    assert_eq!(checks[0].body_contains.as_deref(), Some("dirs"));
    assert!(!checks[0].follow_redirects);
    assert_eq!(
        checks[0].url(&yandex.url().value).as_str(),
        "https://translate.yandex.net/api/v1.5/tr.json/getLangs"
    );
    assert_eq!(checks[1].method, http::Method::HEAD);
    assert_eq!(checks[1].expect_status, StatusExpectation::Class(3));
    assert_eq!(
        checks[1]
            .expect_header
            .as_ref()
            .unwrap()
            .contains
            .as_deref(),
        Some("yandex")
    );
    assert!(checks[1].follow_redirects);
    assert_eq!(checks[1].timeout, Some(Duration::from_millis(250)));
    assert_eq!(
        file_origin(&checks[1].origin).2,
        "providers.yandex.checks[1]"
    );
}

#[test]
fn settings_show_inherited_and_default_origins() {
    let cfg = Config::from_toml_str(EXAMPLE, "/etc/proxyscope/config.toml").unwrap();
    let s = cfg.settings(Some("apertium")).unwrap();
    let get = |k: &str| s.iter().find(|s| s.key == k).unwrap();
    assert_eq!(get("proxy").value, "direct");
    assert_eq!(
        file_origin(&get("proxy").origin).2,
        "providers.apertium.proxy"
    );
    assert_eq!(file_origin(&get("roots").origin).2, "roots");
    assert_eq!(
        get("danger_accept_invalid_certs").origin,
        Provenance::Default
    );
    assert_eq!(get("danger_accept_invalid_certs").value, "false");
    assert_eq!(get("timeouts.connect").value, "5s");
}

#[test]
fn relative_paths_resolve_against_the_config_directory() {
    let dir = tempfile::tempdir().unwrap();
    let sub = dir.path().join("conf.d");
    std::fs::create_dir(&sub).unwrap();
    let text = "[providers.a]\nurl = \"https://a.test\"\nca_file = [\"../missing.pem\", \"/abs/missing.pem\"]\n";
    std::fs::write(sub.join("p.toml"), text).unwrap();
    let d = ConfigDocument::from_file(sub.join("p.toml"))
        .unwrap()
        .lint(&EnvSnapshot::default());
    let msgs: Vec<&str> = d.iter().map(|d| d.message.as_str()).collect();
    assert!(
        msgs[0].contains(&sub.join("../missing.pem").display().to_string()),
        "{msgs:?}"
    );
    assert!(msgs[1].contains("/abs/missing.pem"), "{msgs:?}");
}

#[test]
fn nested_in_a_services_own_toml_and_json() {
    #[derive(serde::Deserialize)]
    struct Service {
        #[allow(dead_code)]
        port: u16,
        egress: Config,
    }
    let svc: Service = toml::from_str(
        "port = 8080\n[egress]\nproxy = \"http://p.test:3128\"\n[egress.providers.a]\nurl = \"https://a.test\"\n",
    )
    .unwrap();
    assert_eq!(svc.egress.providers()[0].name(), "a");
    assert_eq!(
        svc.egress.global_layer().proxy.as_ref().unwrap().origin,
        Provenance::Embedded {
            key: "proxy".into()
        }
    );

    let err = serde_json::from_str::<Service>(
        r#"{"port": 1, "egress": {"no_proxy_list": ["x"], "providers": {"a": {"url": "https://a.test", "proxxy": "direct"}}}}"#,
    )
    .err()
    .expect("unknown keys fail deserialisation");
    let msg = err.to_string();
    assert!(msg.contains("config.invalid"), "{msg}");
    assert!(
        msg.contains("`no_proxy`") && msg.contains("`proxy`"),
        "every error is listed: {msg}"
    );

    #[derive(serde::Deserialize)]
    struct Lenient {
        egress: ConfigDocument,
    }
    let doc: Lenient = serde_json::from_str(
        r#"{"egress": {"no_proxy_list": ["x"], "providers": {"a": {"url": "https://a.test", "proxxy": "direct"}}}}"#,
    )
    .unwrap();
    let d = doc.egress.lint(&EnvSnapshot::default());
    let found: Vec<(&str, &str, Option<&str>)> = d
        .iter()
        .map(|d| (d.code.as_str(), d.path.as_str(), d.location.as_deref()))
        .collect();
    assert_eq!(
        found,
        [
            ("misplaced_key", "no_proxy_list", None),
            ("unknown_key", "providers.a.proxxy", None)
        ]
    );
}

#[test]
fn type_errors_are_collected_not_fatal() {
    let text = "proxy = 3128\nroots = \"sytem\"\ndanger_accept_invalid_certs = \"true\"\nno_proxy = \"a.test, b.test\"\n[providers]\nproxy = \"x\"\n[providers.b]\nurl = \"translate.example.org\"\n[[providers.b.checks]]\nname = \"x\"\n";
    let err = Config::from_toml_str(text, "t.toml").unwrap_err();
    let got: Vec<(&str, &str, &str)> = err
        .evidence()
        .diagnostics
        .iter()
        .map(|d| {
            (
                d.code.as_str(),
                d.path.as_str(),
                d.suggestion.as_deref().unwrap_or(""),
            )
        })
        .collect();
    let want_codes = [
        ("type_mismatch", "proxy"),
        ("invalid_value", "roots"),
        ("type_mismatch", "danger_accept_invalid_certs"),
        ("type_mismatch", "providers.proxy"),
        ("provider.url_invalid", "providers.b.url"),
        ("check.target_missing", "providers.b.checks[0]"),
    ];
    let codes: Vec<(&str, &str)> = got.iter().map(|(c, p, _)| (*c, *p)).collect();
    for w in want_codes {
        assert!(codes.contains(&w), "{w:?} missing from {codes:?}");
    }
    let fix = |path: &str| got.iter().find(|(_, p, _)| *p == path).unwrap().2;
    assert!(fix("roots").contains("\"system\""));
    assert!(fix("danger_accept_invalid_certs").contains("without quotes"));
    assert!(fix("providers.proxy").contains("top level"));
    assert!(fix("providers.b.url").contains("https://translate.example.org"));
}

#[test]
fn secrets_never_appear_in_config_output() {
    let text = "proxy = \"http://alice:hunter2@p.test:3128\"\n[providers.a]\nurl = \"https://carol:letmein@a.test\"\nproxy = \"bob:swordfish@q.test:3128/path\"\n[[providers.a.checks]]\nname = \"c\"\nurl = \"https://dave:opensesame@a.test/h\"\n";
    let doc = ConfigDocument::from_toml_str(text, "s.toml");
    let d = doc.lint(&EnvSnapshot::default());
    assert!(!d.is_empty());
    let cfg = doc.to_config().unwrap();
    let all = format!(
        "{d:?} {} {cfg:?} {} {:?} {:?} {}",
        serde_json::to_string(&d).unwrap(),
        serde_json::to_string(cfg.providers()[0].checks()).unwrap(),
        cfg.global_layer(),
        cfg.settings(Some("a")),
        serde_json::to_string(&cfg.settings(Some("a"))).unwrap(),
    );
    for secret in ["hunter2", "swordfish", "letmein", "opensesame"] {
        assert!(!all.contains(secret), "{secret} leaked: {all}");
    }
}

/// A provider's or check's URL whose `..` segments remove the `@` after its host (a user name
/// or password with `/` in it, read as the path) fails the load: nothing would mark that text
/// as a password once parsed. The error shows none of it.
#[test]
fn a_url_whose_dot_segments_remove_its_at_fails_the_load_unprinted() {
    let text = "[providers.a]\nurl = \"https://svc/acct:Zq7Kx@a.test/..\"\n[[providers.a.checks]]\nname = \"c\"\nurl = \"https://svc/acct:Zq7Kx@a.test/x/../..\"\n";
    let err = Config::from_toml_str(text, "d.toml").unwrap_err();
    assert_eq!(err.code(), "config.invalid");
    assert_eq!(err.phase(), proxyscope::Phase::Config);
    let found: Vec<(&str, &str)> = err
        .evidence()
        .diagnostics
        .iter()
        .map(|d| (d.code.as_str(), d.path.as_str()))
        .collect();
    assert!(
        found.contains(&("url.at_dropped", "providers.a.url")),
        "{found:?}"
    );
    assert!(
        found.contains(&("url.at_dropped", "providers.a.checks[0].url")),
        "{found:?}"
    );
    let all = format!(
        "{err} {err:?} {} {}",
        err.report(),
        serde_json::to_string(&err).unwrap()
    );
    assert!(!all.contains("Zq7Kx"), "{all}");
}

#[test]
fn unreadable_file_is_one_config_error_with_the_file() {
    let path = Path::new("/nonexistent/proxyscope.toml");
    let err = Config::from_file(path).unwrap_err();
    assert_eq!(err.code(), "config.invalid");
    assert_eq!(err.hop(), None);
    assert_eq!(
        err.evidence().file.as_deref(),
        Some("/nonexistent/proxyscope.toml")
    );
    assert_eq!(err.evidence().diagnostics[0].code, "file.unreadable");
    assert!(std::error::Error::source(&err).is_some());
}

#[test]
fn proxy_lists_load_in_order_and_refuse_env_and_emptiness() {
    let c = Config::from_toml_str(
        "proxy = [\"http://a.test:3128\", \"socks4a://b.test\", \"direct\"]\n",
        "list.toml",
    )
    .unwrap();
    let g = c.global_layer();
    let list = &g.proxy_list.as_ref().unwrap().value;
    assert_eq!(list.len(), 3);
    assert_eq!(list[2], ProxySetting::Direct);
    // `proxy` is the list's first entry, for code that reads one proxy.
    assert!(
        matches!(&g.proxy.as_ref().unwrap().value, ProxySetting::Url(u) if u.authority() == "a.test:3128")
    );
    for bad in [
        "proxy = [\"http://a.test:1\", \"env\"]\n",
        "proxy = []\n",
        "proxy = [\"http://a.test:1\", 3]\n",
    ] {
        let e = Config::from_toml_str(bad, "bad.toml").expect_err(bad);
        assert_eq!(e.code(), "config.invalid", "{bad}");
        assert!(!e.evidence().diagnostics.is_empty(), "{bad}");
    }
}
