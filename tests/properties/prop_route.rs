//! The route decision made without text (the client's `Router`, and `Client::route` on a
//! request's `http::Uri`) against the full step-by-step resolution (`route::resolve`), over
//! generated global and provider layers, environments and URLs: the same proxy, origin,
//! provider and matched `no_proxy` entry, the same error for an unusable proxy value, and —
//! once looked at — the same URL text, steps, warnings, explanation and JSON.

use proptest::prelude::*;
use proxyscope::proxy::NoProxy;
use proxyscope::route::{self, Router};
use proxyscope::settings::{ProxySetting, Settings};
use proxyscope::{Client, EnvSnapshot};
use url::Url;

const PROXIES: &[&str] = &[
    "direct",
    "env",
    "http://global.test:3128",
    "https://u:s3cret@tls-proxy.test",
    "socks5h://socks.test:1080",
    "socks4://old.test:1080",
    "http://[::1]:8080",
];

const ENTRIES: &[&str] = &[
    "localhost",
    ".example.com",
    "example.com",
    "api.example.com.",
    "10.0.0.0/8",
    "127.0.0.1",
    "::1",
    "*",
    "internal",
    "http://u:pw@example.com/",
    "a.test b.test",
    "*.wild.test",
];

const ENV_NAMES: &[&str] = &[
    "http_proxy",
    "HTTP_PROXY",
    "https_proxy",
    "HTTPS_PROXY",
    "all_proxy",
    "ALL_PROXY",
    "ws_proxy",
    "ftp_proxy",
    "no_proxy",
    "NO_PROXY",
    "Https_Proxy",
    "REQUEST_METHOD",
];

const ENV_VALUES: &[&str] = &[
    "http://env.test:3128",
    "http://u:pw@env2.test:8080",
    "socks4://s4.test",
    "",
    "localhost,.example.com,10.0.0.0/8",
    "example.com",
    "*",
    "GET",
    "not a url at all",
];

const HOSTS: &[&str] = &[
    "example.com",
    "api.example.com",
    "API.Example.COM.",
    "other.test",
    "internal",
    "x.wild.test",
    "10.1.2.3",
    "127.0.0.1",
    "[::1]",
    "localhost",
    "a.test",
];

fn setting(s: &str) -> ProxySetting {
    ProxySetting::parse(s).unwrap_or_else(|e| panic!("{s}: {e}"))
}

fn layer() -> impl Strategy<Value = Settings> {
    (
        prop::option::of(prop::sample::select(PROXIES)),
        prop::option::of(prop::collection::vec(prop::sample::select(ENTRIES), 0..4)),
        prop::option::of(any::<bool>()),
    )
        .prop_map(|(proxy, no_proxy, danger)| {
            let mut l = Settings::new();
            if let Some(p) = proxy {
                l = l.with_proxy(setting(p));
            }
            if let Some(list) = no_proxy {
                l = l.with_no_proxy(NoProxy::from_entries(list));
            }
            if let Some(d) = danger {
                l = l.with_danger_accept_invalid_certs(d);
            }
            l
        })
}

fn env() -> impl Strategy<Value = Vec<(&'static str, &'static str)>> {
    prop::collection::vec(
        (
            prop::sample::select(ENV_NAMES),
            prop::sample::select(ENV_VALUES),
        ),
        0..5,
    )
}

fn url() -> impl Strategy<Value = String> {
    (
        prop::sample::select(vec!["http", "https", "ws", "ftp", "HTTPS"]),
        prop::sample::select(vec!["", "user:pw@"]),
        prop::sample::select(HOSTS),
        prop::sample::select(vec!["", ":8443", ":80"]),
        prop::sample::select(vec!["/", "/v1/x?q=1", "/a/../b"]),
    )
        .prop_map(|(s, u, h, p, path)| format!("{s}://{u}{h}{p}{path}"))
}

/// Everything a route says, once looked at.
fn seen(r: &route::Route) -> String {
    format!(
        "{} | {:?} | {} | {:?} | {}",
        r.explain(),
        r.no_proxy_entry(),
        serde_json::to_string(r).unwrap_or_default(),
        r.warnings().collect::<Vec<_>>(),
        r.is_direct()
    )
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(400))]

    #[test]
    fn the_decision_agrees_with_the_explanation(
        global in layer(),
        provider in prop::option::of(layer()),
        pairs in env(),
        url in url(),
    ) {
        let env = EnvSnapshot::from_pairs(pairs.iter().copied());
        let parsed = Url::parse(&url).unwrap_or_else(|e| panic!("{url}: {e}"));
        let named = provider.as_ref().map(|l| ("prov", l));
        let eager = route::resolve(&global, named, &env, &parsed);
        let router = Router::new(global.clone(), provider.clone().map(|l| ("prov", l)), env.clone());
        let lazy = router.route_url(&parsed);
        match (&eager, &lazy) {
            (Ok(e), Ok(l)) => {
                // The decision first, before anything builds the explanation.
                prop_assert_eq!(e.proxy(), l.proxy(), "{}", url);
                prop_assert_eq!(e.proxy_origin(), l.proxy_origin(), "{}", url);
                prop_assert_eq!(e.provider(), l.provider());
                prop_assert_eq!(e.no_proxy_entry(), l.no_proxy_entry(), "{}", url);
                prop_assert_eq!(seen(e), seen(l));
                prop_assert_eq!(e, l);
            }
            (Err(e), Err(l)) => prop_assert_eq!(e, l),
            _ => prop_assert!(false, "{url}: eager {eager:?} vs lazy {lazy:?}"),
        }

        // The client's request path: the same decision from the request's own Uri.
        if !matches!(parsed.scheme(), "http" | "https") {
            return Ok(());
        }
        let mut b = Client::builder().global(global.clone()).env(env.clone());
        if let Some(l) = &provider {
            b = b.provider("prov", "https://provider.test/api", l.clone());
        }
        let client = b.build().unwrap_or_else(|e| panic!("{}", e.report()));
        let uri: http::Uri = url.parse().unwrap_or_else(|e| panic!("{url}: {e}"));
        let via_client = client.route(provider.as_ref().map(|_| "prov"), &uri);
        match (&eager, via_client) {
            (Ok(e), Ok(c)) => {
                prop_assert_eq!(e.proxy(), c.proxy(), "{}", url);
                prop_assert_eq!(e.no_proxy_entry(), c.no_proxy_entry(), "{}", url);
                prop_assert_eq!(seen(e), seen(&c));
            }
            (Err(e), Err(c)) => {
                let e = proxyscope::Error::from(e.clone());
                prop_assert_eq!(e.code(), c.code());
                prop_assert_eq!(&e.evidence().setting, &c.evidence().setting);
                prop_assert_eq!(&e.evidence().value, &c.evidence().value);
            }
            (e, c) => prop_assert!(false, "{url}: eager {e:?} vs client {c:?}"),
        }
    }
}
