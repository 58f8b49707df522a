//! Environment rules (`Config::lint(&EnvSnapshot)`): conflicting HTTPS_PROXY/https_proxy,
//! ignored HTTP_PROXY, NO_PROXY entries, and a provider proxy made unusable by the no_proxy list
//! in force for it (config or environment). Snapshots are passed in; nothing calls `set_var`.

use proxyscope::EnvSnapshot;
use proxyscope::config::{Config, Diagnostic, Severity};

fn cfg(text: &str) -> Config {
    Config::from_toml_str(text, "/srv/app/proxyscope.toml")
        .unwrap_or_else(|e| panic!("{}", e.report()))
}

fn find<'a>(d: &'a [Diagnostic], code: &str) -> &'a Diagnostic {
    d.iter()
        .find(|d| d.code == code)
        .unwrap_or_else(|| panic!("no {code}: {d:#?}"))
}

const USES_ENV: &str = "[providers.a]\nurl = \"https://a.test\"\n";

#[test]
fn https_proxy_case_conflict() {
    let env = EnvSnapshot::from_pairs([
        ("https_proxy", "http://lower.test:3128"),
        ("HTTPS_PROXY", "http://upper.test:3128"),
    ]);
    let d = cfg(USES_ENV).lint(&env);
    let c = find(&d, "env.conflict");
    assert_eq!(c.severity, Severity::Warning);
    assert_eq!(c.path, "HTTPS_PROXY");
    assert_eq!(c.location.as_deref(), Some("env:HTTPS_PROXY"));
    assert!(
        c.suggestion
            .as_deref()
            .unwrap()
            .contains("unset HTTPS_PROXY")
    );
}

#[test]
fn http_proxy_uppercase_is_ignored() {
    let env = EnvSnapshot::from_pairs([("HTTP_PROXY", "http://p.test:3128")]);
    let d = cfg(USES_ENV).lint(&env);
    let c = find(&d, "env.http_proxy_ignored");
    assert_eq!(c.severity, Severity::Warning);
    assert!(c.suggestion.as_deref().unwrap().contains("`http_proxy`"));
}

#[test]
fn env_findings_are_info_when_every_layer_sets_its_proxy() {
    let env = EnvSnapshot::from_pairs([
        ("HTTP_PROXY", "http://p.test:3128"),
        ("https_proxy", "http://a.test:1"),
        ("HTTPS_PROXY", "http://b.test:1"),
    ]);
    let d = cfg("proxy = \"direct\"\n[providers.a]\nurl = \"https://a.test\"\n").lint(&env);
    assert_eq!(d.len(), 2, "{d:#?}");
    assert!(d.iter().all(|d| d.severity == Severity::Info), "{d:#?}");
}

#[test]
fn url_shaped_no_proxy_in_the_environment() {
    let env = EnvSnapshot::from_pairs([("NO_PROXY", "localhost,https://a.test/")]);
    let d = cfg(USES_ENV).lint(&env);
    let c = find(&d, "no_proxy.url");
    assert_eq!(c.severity, Severity::Error);
    assert_eq!(c.path, "NO_PROXY");
    assert_eq!(c.location.as_deref(), Some("env:NO_PROXY"));
    assert!(
        c.suggestion
            .as_deref()
            .unwrap()
            .contains("write `.a.test` instead of `https://a.test/`")
    );
}

#[test]
fn ipv4_entries_curl_cannot_read_name_the_address_to_write() {
    // A block in short form and one with leading zeros: curl matches neither, ever.
    let env =
        EnvSnapshot::from_pairs([("NO_PROXY", "localhost,192.168/16,010.0.0.0/8,0x7f.0.0.1")]);
    let d = cfg(USES_ENV).lint(&env);
    let never: Vec<&Diagnostic> = d
        .iter()
        .filter(|d| d.code == "no_proxy.never_matches")
        .collect();
    assert_eq!(never.len(), 3, "{d:#?}");
    for (found, fix) in never.iter().zip([
        "write `192.168.0.0/16` instead of `192.168/16`",
        "write `10.0.0.0/8` instead of `010.0.0.0/8`",
        "write `127.0.0.1` instead of `0x7f.0.0.1`",
    ]) {
        assert_eq!(found.severity, Severity::Error);
        assert_eq!(found.path, "NO_PROXY");
        assert_eq!(found.location.as_deref(), Some("env:NO_PROXY"));
        assert!(
            found.suggestion.as_deref().is_some_and(|s| s.contains(fix)),
            "{found:#?}"
        );
    }
}

#[test]
fn proxy_values_curl_reads_differently_are_named() {
    // Blanks around the value: proxyscope removes them; curl 7.88.1 refuses the value
    // ("Unsupported proxy syntax", exit 5) and requests 2.34.2 fails on it, checked by hand.
    let env = EnvSnapshot::from_pairs([("https_proxy", "http://proxy.test:3128 ")]);
    let d = cfg(USES_ENV).lint(&env);
    let c = find(&d, "proxy_url.whitespace");
    assert_eq!(c.severity, Severity::Warning);
    assert_eq!(c.path, "https_proxy");
    assert_eq!(c.location.as_deref(), Some("env:https_proxy"));
    assert_eq!(
        c.suggestion.as_deref(),
        Some("write `http://proxy.test:3128`")
    );
    // One slash, three, or none after the scheme: curl reads them as `://`, urllib and
    // requests find no host. An error that names the value to write, credentials as
    // placeholders.
    for (value, fix) in [
        ("http:/proxy.test:3128", "write `http://proxy.test:3128`"),
        ("HTTP:///proxy.test:3128", "write `http://proxy.test:3128`"),
        (
            "socks5h:u:s3cr3t@proxy.test:1080",
            "write `socks5h://USER:PASSWORD@proxy.test:1080`",
        ),
    ] {
        let env = EnvSnapshot::from_pairs([("https_proxy", value)]);
        let d = cfg(USES_ENV).lint(&env);
        let c = find(&d, "proxy_url.invalid");
        assert_eq!(c.severity, Severity::Error, "{value}");
        assert_eq!(c.path, "https_proxy");
        assert_eq!(c.suggestion.as_deref(), Some(fix), "{value}");
        assert!(!format!("{c:?}").contains("s3cr3t"), "{c:?}");
    }
}

#[test]
fn an_empty_port_is_curls_default_port_with_a_warning() {
    // `http_proxy=http://proxy:${PORT}` with PORT unset. curl 7.88.1 connects to port 1080
    // (`Trying 127.0.0.1:1080`), requests 2.34.2 and urllib to 80, checked by hand; without a
    // scheme curl refuses the value. The route follows curl and says so.
    let env = EnvSnapshot::from_pairs([("http_proxy", "http://u:s3cr3t@proxy.test:")]);
    let d = cfg(USES_ENV).lint(&env);
    let c = find(&d, "proxy_url.empty_port");
    assert_eq!(c.severity, Severity::Warning);
    assert_eq!(c.path, "http_proxy");
    assert_eq!(c.location.as_deref(), Some("env:http_proxy"));
    assert!(
        c.suggestion
            .as_deref()
            .is_some_and(|s| s.contains("`http://USER:PASSWORD@proxy.test:1080`")),
        "{c:#?}"
    );
    assert!(!format!("{c:?}").contains("s3cr3t"), "{c:?}");
    let route = proxyscope::Client::builder()
        .env(env)
        .build()
        .expect("an empty port is not an error")
        .route(None, "http://origin.test/")
        .expect("route");
    let proxy = route.proxy().expect("via the proxy");
    assert_eq!((proxy.host(), proxy.port()), ("proxy.test", 1080));
    assert!(
        route.warnings().any(|w| w.code == "empty_port"),
        "{}",
        route.explain()
    );

    let env = EnvSnapshot::from_pairs([("http_proxy", "proxy.test:")]);
    let d = cfg(USES_ENV).lint(&env);
    let c = find(&d, "proxy_url.invalid");
    assert_eq!(c.severity, Severity::Error);
    assert_eq!(c.path, "http_proxy");
}

#[test]
fn a_pac_file_url_given_as_the_proxy_is_named_as_such() {
    // The classic mix-up: the PAC file's URL in the proxy variable (or the `proxy` key). The
    // file is never read; its server becomes the proxy.
    let env = EnvSnapshot::from_pairs([("https_proxy", "http://wpad.corp.test/proxy.pac")]);
    let d = cfg(USES_ENV).lint(&env);
    let c = find(&d, "proxy_url.pac_file");
    assert_eq!(c.severity, Severity::Warning);
    assert_eq!(c.path, "https_proxy");
    assert!(
        c.suggestion
            .as_deref()
            .is_some_and(|s| s.contains("pac = ")),
        "{c:#?}"
    );
    assert!(d.iter().all(|d| d.code != "proxy_url.path"), "{d:#?}");
    let d = cfg("proxy = \"http://wpad.corp.test:80/WPAD.DAT\"\n")
        .lint(&EnvSnapshot::from_pairs(Vec::<(String, String)>::new()));
    let c = find(&d, "proxy_url.pac_file");
    assert_eq!(c.path, "proxy");
    assert_eq!(c.location.as_deref(), Some("/srv/app/proxyscope.toml:1:9"));
    // Any other path stays what it was.
    let env = EnvSnapshot::from_pairs([("https_proxy", "http://proxy.test:3128/pac")]);
    let d = cfg(USES_ENV).lint(&env);
    assert_eq!(find(&d, "proxy_url.path").severity, Severity::Warning);
}

#[test]
fn provider_proxy_unusable_because_of_env_no_proxy() {
    let text = "[providers.yandex]\nurl = \"https://translate.yandex.net\"\nproxy = \"http://egress.test:3128\"\n";
    let env = EnvSnapshot::from_pairs([("no_proxy", "localhost,translate.yandex.net")]);
    let d = cfg(text).lint(&env);
    let c = find(&d, "provider.proxy_unusable");
    assert_eq!(c.severity, Severity::Warning);
    assert_eq!(c.path, "providers.yandex.proxy");
    assert_eq!(c.location.as_deref(), Some("/srv/app/proxyscope.toml:3:1"));
    assert!(
        c.suggestion
            .as_deref()
            .unwrap()
            .contains("remove `translate.yandex.net` from no_proxy")
    );
    assert!(cfg(text).lint(&EnvSnapshot::default()).is_empty());
}

#[test]
fn provider_no_proxy_overrides_the_global_list() {
    let text = "no_proxy = [\"translate.yandex.net\"]\n[providers.yandex]\nurl = \"https://translate.yandex.net\"\nproxy = \"http://egress.test:3128\"\nno_proxy = [\"localhost\"]\n";
    let d = cfg(text).lint(&EnvSnapshot::default());
    assert!(
        d.iter().all(|d| d.code != "provider.proxy_unusable"),
        "{d:#?}"
    );
}

#[test]
fn inherited_global_proxy_bypassed_by_no_proxy_is_not_a_finding() {
    let text = "proxy = \"http://egress.test:3128\"\nno_proxy = [\"localhost\", \"a.test\"]\n[providers.a]\nurl = \"https://a.test\"\n";
    let d = cfg(text).lint(&EnvSnapshot::default());
    assert!(
        d.iter().all(|d| d.code != "provider.proxy_unusable"),
        "{d:#?}"
    );
}

#[test]
fn env_secrets_never_appear() {
    let env = EnvSnapshot::from_pairs([
        ("https_proxy", "http://alice:hunter2@lower.test:3128"),
        ("HTTPS_PROXY", "http://bob:swordfish@upper.test:3128"),
        ("HTTP_PROXY", "http://carol:letmein@p.test:3128"),
    ]);
    let d = cfg(USES_ENV).lint(&env);
    let all = format!("{d:?} {}", serde_json::to_string(&d).unwrap());
    for secret in ["hunter2", "swordfish", "letmein"] {
        assert!(!all.contains(secret), "{secret} leaked: {all}");
    }
}
