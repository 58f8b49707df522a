//! Route precedence: provider `proxy` > global `proxy` > environment > direct,
//! `"direct"` and `"env"`, `no_proxy` per layer applying to whichever proxy was chosen; the
//! errors for unusable proxy values; steps, warnings and redaction.

use proxyscope::proxy::{NoProxy, Tool};
use proxyscope::route::{self, Outcome, Route, Rule};
use proxyscope::settings::{Provenance, ProxySetting, Settings};
use proxyscope::{EnvSnapshot, Phase};
use url::Url;

fn setting(s: &str) -> ProxySetting {
    ProxySetting::parse(s).unwrap_or_else(|e| panic!("{s}: {e}"))
}

fn layer(proxy: Option<&str>, no_proxy: Option<&[&str]>) -> Settings {
    let mut l = Settings::new();
    if let Some(p) = proxy {
        l = l.with_proxy(setting(p));
    }
    if let Some(n) = no_proxy {
        l = l.with_no_proxy(NoProxy::from_entries(n.iter().copied()));
    }
    l
}

fn resolve(
    global: &Settings,
    provider: Option<&Settings>,
    env: &[(&str, &str)],
    url: &str,
) -> Route {
    let env = EnvSnapshot::from_pairs(env.iter().copied());
    let url = Url::parse(url).unwrap_or_else(|e| panic!("{url}: {e}"));
    route::resolve(global, provider.map(|l| ("prov", l)), &env, &url)
        .map_err(proxyscope::Error::from)
        .unwrap_or_else(|e| panic!("{}", e.report()))
}

const ENV_P: &str = "http://env.test:3128";
const GLOBAL_P: &str = "http://global.test:3128";
const PROV_P: &str = "http://prov.test:3128";

/// (provider proxy, global proxy, env https_proxy, expected proxy authority, expected rule)
type Row = (
    Option<Option<&'static str>>,
    Option<&'static str>,
    Option<&'static str>,
    Option<&'static str>,
    Rule,
);

#[test]
fn proxy_precedence() {
    let rows: &[Row] = &[
        (
            Some(Some(PROV_P)),
            Some(GLOBAL_P),
            Some(ENV_P),
            Some("prov.test:3128"),
            Rule::ProviderProxy,
        ),
        (
            Some(None),
            Some(GLOBAL_P),
            Some(ENV_P),
            Some("global.test:3128"),
            Rule::GlobalProxy,
        ),
        (
            None,
            Some(GLOBAL_P),
            Some(ENV_P),
            Some("global.test:3128"),
            Rule::GlobalProxy,
        ),
        (
            Some(None),
            None,
            Some(ENV_P),
            Some("env.test:3128"),
            Rule::EnvProxy,
        ),
        (
            None,
            None,
            Some(ENV_P),
            Some("env.test:3128"),
            Rule::EnvProxy,
        ),
        (Some(None), None, None, None, Rule::Default),
        (
            Some(Some("direct")),
            Some(GLOBAL_P),
            Some(ENV_P),
            None,
            Rule::ProviderProxy,
        ),
        (
            Some(Some("env")),
            Some(GLOBAL_P),
            Some(ENV_P),
            Some("env.test:3128"),
            Rule::EnvProxy,
        ),
        (Some(Some("env")), Some(GLOBAL_P), None, None, Rule::Default),
        (
            Some(None),
            Some("direct"),
            Some(ENV_P),
            None,
            Rule::GlobalProxy,
        ),
        (
            None,
            Some("env"),
            Some(ENV_P),
            Some("env.test:3128"),
            Rule::EnvProxy,
        ),
        (
            Some(Some(PROV_P)),
            Some("direct"),
            None,
            Some("prov.test:3128"),
            Rule::ProviderProxy,
        ),
        (
            Some(Some("direct")),
            None,
            Some(ENV_P),
            None,
            Rule::ProviderProxy,
        ),
    ];
    for (i, (prov, global, env, want, rule)) in rows.iter().enumerate() {
        let g = layer(*global, None);
        let p = prov.map(|p| layer(p, None));
        let env: Vec<(&str, &str)> = env.iter().map(|v| ("https_proxy", *v)).collect();
        let r = resolve(&g, p.as_ref(), &env, "https://api.example/");
        assert_eq!(
            r.proxy().map(|p| p.authority()).as_deref(),
            *want,
            "row {i}"
        );
        assert_eq!(r.is_direct(), want.is_none(), "row {i}");
        let deciding = r
            .steps()
            .iter()
            .rev()
            .find(|s| matches!(s.outcome, Outcome::Proxy | Outcome::Direct))
            .map(|s| s.rule);
        assert_eq!(deciding, Some(*rule), "row {i}: {}", r.explain());
    }
}

/// (provider no_proxy, global no_proxy, env no_proxy, host, bypass?, the entry reported)
type NoRow = (
    Option<&'static [&'static str]>,
    Option<&'static [&'static str]>,
    Option<&'static str>,
    &'static str,
    Option<&'static str>,
);

#[test]
fn no_proxy_precedence_and_scope() {
    let rows: &[NoRow] = &[
        (
            Some(&["a.test"]),
            Some(&["b.test"]),
            Some("c.test"),
            "a.test",
            Some("a.test"),
        ),
        // The provider's list replaces the global one wholesale.
        (Some(&["a.test"]), Some(&["b.test"]), None, "b.test", None),
        (
            None,
            Some(&["b.test"]),
            Some("c.test"),
            "b.test",
            Some("b.test"),
        ),
        // A configured list replaces the environment's.
        (None, Some(&["b.test"]), Some("c.test"), "c.test", None),
        // Even an empty configured list (curl's --noproxy "").
        (None, Some(&[]), Some("c.test"), "c.test", None),
        (None, None, Some("c.test"), "c.test", Some("c.test")),
        (None, None, Some("c.test"), "x.c.test", Some("c.test")),
        (None, None, Some("*"), "anything.test", Some("*")),
        (None, None, None, "c.test", None),
        (
            Some(&[".internal"]),
            None,
            None,
            "x.internal",
            Some(".internal"),
        ),
    ];
    for (i, (prov, global, env, host, want)) in rows.iter().enumerate() {
        // The proxy is explicit (global): NO_PROXY exempts hosts from it too, as in curl.
        let g = layer(Some(GLOBAL_P), *global);
        let p = layer(None, *prov);
        let env: Vec<(&str, &str)> = env.iter().map(|v| ("no_proxy", *v)).collect();
        let r = resolve(&g, Some(&p), &env, &format!("https://{host}/"));
        assert_eq!(r.is_direct(), want.is_some(), "row {i}: {}", r.explain());
        let step = r.steps().iter().find(|s| s.rule == Rule::NoProxy);
        assert_eq!(step.and_then(|s| s.entry.as_deref()), *want, "row {i}");
    }
}

#[test]
fn no_proxy_origin_names_its_source() {
    let g = layer(Some(GLOBAL_P), Some(&["b.test"]));
    let r = resolve(&g, None, &[], "https://b.test/");
    let st = r.steps().iter().find(|s| s.rule == Rule::NoProxy).cloned();
    assert_eq!(
        st.and_then(|s| s.origin),
        Some(Provenance::Builder {
            key: "no_proxy".into()
        })
    );
    let r = resolve(
        &Settings::new(),
        None,
        &[("https_proxy", ENV_P), ("NO_PROXY", "b.test")],
        "https://b.test/",
    );
    let st = r.steps().iter().find(|s| s.rule == Rule::NoProxy);
    assert_eq!(st.and_then(|s| s.env_var()), Some("NO_PROXY"));
}

#[test]
fn invalid_env_proxy_is_an_error_naming_the_variable() {
    let env = EnvSnapshot::from_pairs([("https_proxy", "ftp://user:hunter2@p.test:21")]);
    let url = Url::parse("https://a.test/").unwrap_or_else(|e| panic!("{e}"));
    let e = route::resolve(&Settings::new(), None, &env, &url)
        .map_err(proxyscope::Error::from)
        .expect_err("must fail");
    assert_eq!(e.code(), "config.proxy_url");
    assert_eq!(e.hop(), None);
    assert_eq!(e.phase(), Phase::Config);
    assert_eq!(e.evidence().setting.as_deref(), Some("https_proxy"));
    assert_eq!(e.evidence().value.as_deref(), Some("ftp://***@p.test:21"));
    assert!(e.hint().is_some());
    let all = format!(
        "{e} {e:?} {} {}",
        e.report(),
        serde_json::to_string(&e).unwrap_or_default()
    );
    assert!(!all.contains("hunter2") && !all.contains("user:"), "{all}");
    // The same value is not consulted for http://, nor when the config names a proxy.
    let http = Url::parse("http://a.test/").unwrap_or_else(|e| panic!("{e}"));
    assert!(route::resolve(&Settings::new(), None, &env, &http).is_ok());
    let g = layer(Some(GLOBAL_P), None);
    assert!(route::resolve(&g, None, &env, &url).is_ok());
}

#[test]
fn socks4_and_socks4a_are_routed_from_env_and_config_as_curl_does() {
    let url = Url::parse("https://a.test/").unwrap_or_else(|e| panic!("{e}"));
    let env = EnvSnapshot::from_pairs([("all_proxy", "socks4://s.test:1080")]);
    let r = route::resolve(&Settings::new(), None, &env, &url).expect("socks4 from env");
    let p = r.proxy().expect("a proxy");
    assert_eq!(p.scheme(), proxyscope::proxy::ProxyScheme::Socks4);
    assert_eq!(p.authority(), "s.test:1080");
    let g = layer(Some("socks4a://u:pw@s.test"), None);
    let r = route::resolve(&g, None, &EnvSnapshot::default(), &url).expect("socks4a");
    assert_eq!(
        r.proxy().map(|p| p.scheme()),
        Some(proxyscope::proxy::ProxyScheme::Socks4a)
    );
    assert!(!format!("{r:?} {}", r.explain()).contains("pw"));
    // no_proxy exempts hosts from a SOCKS4 proxy like from any other.
    let g = layer(Some("socks4://s.test"), Some(&["a.test"]));
    assert!(
        route::resolve(&g, None, &EnvSnapshot::default(), &url)
            .expect("bypassed")
            .is_direct()
    );
}

#[test]
fn uppercase_http_proxy_is_ignored_with_a_step_saying_why() {
    let r = resolve(
        &Settings::new(),
        None,
        &[("HTTP_PROXY", ENV_P)],
        "http://a.example/",
    );
    assert!(r.is_direct());
    let st = r
        .steps()
        .iter()
        .find(|s| s.rule == Rule::IgnoredVariable)
        .unwrap_or_else(|| panic!("{}", r.explain()));
    assert_eq!(st.env_var(), Some("HTTP_PROXY"));
    assert_eq!(st.outcome, Outcome::Ignored);
    assert_eq!(st.warnings[0].code, "httpoxy");
    let tools: Vec<Tool> = st.warnings[0].peers.iter().map(|p| p.tool).collect();
    assert!(tools.contains(&Tool::Go) && tools.contains(&Tool::NodeProxyFromEnv));
    // Not mentioned for https://, where it would not be consulted by anyone.
    let r = resolve(
        &Settings::new(),
        None,
        &[("HTTP_PROXY", ENV_P)],
        "https://a.example/",
    );
    assert!(!r.steps().iter().any(|s| s.rule == Rule::IgnoredVariable));
}

#[test]
fn peers_that_disagree_are_named() {
    // curl: `example.com` covers subdomains; Node's proxy-from-env matches the exact host only.
    let env = [("https_proxy", ENV_P), ("no_proxy", "example.com")];
    let r = resolve(&Settings::new(), None, &env, "https://api.example.com/");
    assert!(r.is_direct());
    let w = r
        .warnings()
        .find(|w| w.code == "peer_difference")
        .unwrap_or_else(|| panic!("{}", r.explain()));
    assert!(w.peers.iter().any(|p| p.tool == Tool::NodeProxyFromEnv));
    // all_proxy: Go never reads it.
    let r = resolve(
        &Settings::new(),
        None,
        &[("all_proxy", ENV_P)],
        "https://a.test/",
    );
    let w = r.warnings().find(|w| w.code == "peer_difference");
    assert!(w.is_some_and(|w| w.peers.iter().any(|p| p.tool == Tool::Go)));
}

#[test]
fn an_ipv4_block_curl_cannot_read_uses_the_proxy_and_names_who_reads_it() {
    // curl reads `010.0.0.0/8` as a host name: 10.1.2.3 goes through the proxy. hyper-util
    // reads the zero as decimal (10.0.0.0/8, direct); requests as octal (8.0.0.0/8).
    let env = [("https_proxy", ENV_P), ("no_proxy", "010.0.0.0/8")];
    let r = resolve(&Settings::new(), None, &env, "https://10.1.2.3/");
    assert!(!r.is_direct(), "{}", r.explain());
    let codes: Vec<&str> = r.warnings().map(|w| w.code.as_str()).collect();
    assert!(codes.contains(&"ipv4_form"), "{codes:?}");
    let w = r
        .warnings()
        .find(|w| w.code == "peer_difference")
        .unwrap_or_else(|| panic!("{}", r.explain()));
    let tools: Vec<Tool> = w.peers.iter().map(|p| p.tool).collect();
    assert_eq!(tools, [Tool::HyperUtil], "{}", r.explain());
    let r = resolve(&Settings::new(), None, &env, "https://8.1.2.3/");
    assert!(!r.is_direct());
    let w = r.warnings().find(|w| w.code == "peer_difference");
    assert!(
        w.is_some_and(|w| w.peers.iter().map(|p| p.tool).eq([Tool::Requests])),
        "{}",
        r.explain()
    );
}

#[test]
fn an_at_sign_inside_proxy_credentials_is_a_warning_naming_curl() {
    // curl ends the credentials at the first `@` and refuses this value ("Unsupported proxy
    // syntax"); proxyscope, like Go, Python and Node, ends them at the last.
    let env = [("https_proxy", "http://user:Kq8@Zw5@p.test:3128")];
    let r = resolve(&Settings::new(), None, &env, "https://a.example/");
    assert!(!r.is_direct());
    assert!(
        r.warnings().any(|w| w.code == "at_in_credentials"),
        "{}",
        r.explain()
    );
    let shown = format!("{} {}", r.explain(), serde_json::to_string(&r).unwrap());
    for part in ["Kq8", "Zw5"] {
        assert!(!shown.contains(part), "{shown}");
    }
    // Percent-encoded, every tool reads it alike.
    let env = [("https_proxy", "http://user:Kq8%40Zw5@p.test:3128")];
    let r = resolve(&Settings::new(), None, &env, "https://a.example/");
    assert!(!r.warnings().any(|w| w.code == "at_in_credentials"));
}

#[test]
fn list_diagnostics_reach_the_route() {
    let env = [
        ("https_proxy", ENV_P),
        ("no_proxy", "localhost .example.com"),
    ];
    let r = resolve(&Settings::new(), None, &env, "https://a.example.com/");
    assert!(!r.is_direct());
    assert!(
        r.warnings().any(|w| w.code == "blank_separated"),
        "{}",
        r.explain()
    );
    let g = layer(Some(GLOBAL_P), Some(&["http://a.example.com/"]));
    let r = resolve(&g, None, &[], "https://a.example.com/");
    assert!(!r.is_direct());
    assert!(r.warnings().any(|w| w.code == "url_shaped"));
}

#[test]
fn danger_accept_invalid_certs_is_warned_about() {
    let g = Settings::new().with_danger_accept_invalid_certs(true);
    let r = resolve(&g, None, &[], "https://a.test/");
    let st = r.steps().iter().find(|s| s.rule == Rule::Tls);
    assert_eq!(st.map(|s| s.outcome), Some(Outcome::Warning));
    assert!(
        r.warnings()
            .any(|w| w.code == "danger_accept_invalid_certs")
    );
    // The provider can switch it off again.
    let p = Settings::new().with_danger_accept_invalid_certs(false);
    let r = resolve(&g, Some(&p), &[], "https://a.test/");
    assert!(!r.steps().iter().any(|s| s.rule == Rule::Tls));
}

#[test]
fn json_contract_and_redaction() {
    let p = layer(Some("http://alice:s3cr3t@prov.test:3128"), None);
    let r = resolve(
        &Settings::new(),
        Some(&p),
        &[],
        "https://bob:pw2@a.test/x?y=1",
    );
    let v = serde_json::to_value(&r).unwrap_or_default();
    assert_eq!(v["url"], "https://a.test/x?y=1");
    assert_eq!(v["provider"], "prov");
    assert_eq!(v["via"], "proxy");
    assert_eq!(v["proxy"], "http://prov.test:3128");
    assert!(v["steps"].is_array());
    for key in ["rule", "origin", "value", "outcome", "detail"] {
        assert!(v["steps"][0].get(key).is_some(), "step lacks {key}");
    }
    let text = format!("{v} {r:?} {} {}", r.explain(), r.summary());
    for secret in ["s3cr3t", "alice", "pw2", "bob:"] {
        assert!(!text.contains(secret), "{secret} in {text}");
    }
    assert_eq!(
        r.summary(),
        "via http://prov.test:3128 (from builder (proxy))"
    );
    let direct = resolve(&Settings::new(), None, &[], "https://a.test/");
    let v = serde_json::to_value(&direct).unwrap_or_default();
    assert_eq!(v["via"], "direct");
    assert!(v["proxy"].is_null());
    assert!(v["provider"].is_null());
    assert_eq!(direct.summary(), "direct");
}

#[test]
fn many_providers_resolve_independently() {
    let env = EnvSnapshot::from_pairs([("https_proxy", ENV_P), ("no_proxy", ".svc.local")]);
    let global = layer(None, None);
    let providers: Vec<(String, Settings)> = (0..50)
        .map(|i| {
            let l = match i % 3 {
                0 => layer(Some("direct"), None),
                1 => layer(Some(&format!("http://p{i}.test:3128")), None),
                _ => layer(None, None),
            };
            (format!("p{i}"), l)
        })
        .collect();
    let url = Url::parse("https://api.example/").unwrap_or_else(|e| panic!("{e}"));
    for (i, (name, l)) in providers.iter().enumerate() {
        let r = route::resolve(&global, Some((name, l)), &env, &url)
            .map_err(proxyscope::Error::from)
            .unwrap_or_else(|e| panic!("{}", e.report()));
        let want = match i % 3 {
            0 => None,
            1 => Some(format!("p{i}.test:3128")),
            _ => Some("env.test:3128".to_owned()),
        };
        assert_eq!(r.proxy().map(|p| p.authority()), want, "{name}");
        assert_eq!(r.provider(), Some(name.as_str()));
    }
}

#[test]
fn schemes_pick_their_variables() {
    let env = [
        ("http_proxy", "http://h.test:1"),
        ("https_proxy", "http://s.test:2"),
        ("ftp_proxy", "http://f.test:3"),
        ("all_proxy", "socks5h://a.test:4"),
    ];
    let cases: &[(&str, &str)] = &[
        ("http://x.test/", "h.test:1"),
        ("ws://x.test/", "h.test:1"),
        ("https://x.test/", "s.test:2"),
        ("wss://x.test/", "s.test:2"),
        ("ftp://x.test/", "f.test:3"),
        ("gopher://x.test/", "a.test:4"),
    ];
    for (url, want) in cases {
        let r = resolve(&Settings::new(), None, &env, url);
        assert_eq!(
            r.proxy().map(|p| p.authority()).as_deref(),
            Some(*want),
            "{url}"
        );
    }
}

#[test]
fn ip_literal_hosts_match_ip_entries() {
    let env = [
        ("https_proxy", ENV_P),
        ("no_proxy", "::1,10.0.0.0/8,localhost"),
    ];
    for (url, direct) in [
        ("https://[::1]:8443/", true),
        ("https://10.2.3.4/", true),
        ("https://127.0.0.1/", false),
        ("https://localhost/", true),
        ("https://[::2]/", false),
    ] {
        let r = resolve(&Settings::new(), None, &env, url);
        assert_eq!(r.is_direct(), direct, "{url}: {}", r.explain());
    }
}
