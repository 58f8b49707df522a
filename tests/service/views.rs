//! What callers see besides translations: the provider URL a translate call reaches (the
//! provider's own query parameters always win), `/_config` (the library's effective view plus
//! the service's keys, every value with its origin, secrets masked) and `/_health/providers`
//! (one entry per provider, details on request).

use http::{Method, StatusCode};
use serde_json::Value;

use crate::app::demo::{Demo, YANDEX_PROXY_PASS, YANDEX_PROXY_USER};
use crate::support::{Caller, provider, start, start_with};

/// A value of the provider URL that must never reach a caller.
const API_KEY: &str = "Pr0v1derK3y";
/// A password in a provider URL's userinfo.
const URL_PASSWORD: &str = "Us3rinf0Pass";

fn row<'a>(rows: &'a Value, key: &str) -> &'a Value {
    rows.as_array()
        .unwrap_or_else(|| panic!("not an array: {rows}"))
        .iter()
        .find(|r| r["key"] == key)
        .unwrap_or_else(|| panic!("no row {key} in {rows}"))
}

#[tokio::test]
async fn a_callers_query_is_added_to_the_providers_and_never_replaces_it() {
    let demo = Demo::start("1s").await.unwrap();
    let plain = format!("url = \"{}\"", demo.apertium.url(""));
    let keyed = format!("url = \"{}/?key={API_KEY}&v=2\"", demo.apertium.url(""));
    let service = start_with(&demo, "", &[(&plain, &keyed)]).await;
    let c = Caller::new(&service);

    for (query, want) in [
        // The caller's own parameters follow the provider's, in their order and spelling.
        (
            "?q=hello&markUnknown=no",
            format!("/echo?key={API_KEY}&v=2&q=hello&markUnknown=no"),
        ),
        // A caller can neither override nor drop the configured key, however it is spelled.
        ("?key=stolen&q=1", format!("/echo?key={API_KEY}&v=2&q=1")),
        ("?%6Bey=stolen&v=9", format!("/echo?key={API_KEY}&v=2")),
        ("", format!("/echo?key={API_KEY}&v=2")),
    ] {
        let a = c
            .call(
                Method::POST,
                &format!("/v1/translate/apertium{query}"),
                "{}",
            )
            .await;
        assert_eq!(a.status, StatusCode::OK, "{query}: {}", a.text);
        let seen = demo.apertium.requests();
        let last = seen.last().expect("the origin recorded the request");
        assert_eq!(last.target, want, "caller query {query:?}");
    }
    service.shutdown().await;
}

#[tokio::test]
async fn config_shows_every_value_with_its_origin_and_masks_secrets() {
    let demo = Demo::start("1s").await.unwrap();
    let plain = format!("url = \"{}\"", demo.apertium.url(""));
    let with_secrets = format!(
        "url = \"http://svc:{URL_PASSWORD}@127.0.0.1:{}/?api_key={API_KEY}\"",
        demo.apertium.port()
    );
    let service = start_with(
        &demo,
        "max_connections = 40\nbody_timeout = \"7s\"",
        &[(&plain, &with_secrets)],
    )
    .await;
    let c = Caller::new(&service);
    let cfg = c.get("/_config").await;
    assert_eq!(cfg.status, StatusCode::OK);
    for secret in [YANDEX_PROXY_PASS, API_KEY, URL_PASSWORD] {
        assert!(!cfg.text.contains(secret), "{secret} in {}", cfg.text);
    }
    let v = cfg.json();

    // The service's own keys: set ones with their line, the rest defaults.
    let max = row(&v["service"], "server.max_connections");
    assert_eq!(max["value"], "40");
    assert_eq!(max["origin"]["kind"], "file");
    assert_eq!(max["origin"]["key"], "server.max_connections");
    assert_eq!(row(&v["service"], "server.body_timeout")["value"], "7s");
    for (key, value) in [
        ("server.header_timeout", "10s"),
        ("server.max_body", "1048576"),
    ] {
        let r = row(&v["service"], key);
        assert_eq!(
            (r["value"].as_str(), &r["origin"]["kind"]),
            (Some(value), &Value::from("default")),
            "{key}"
        );
    }
    assert_eq!(row(&v["service"], "server.listen")["value"], "127.0.0.1:0");

    // proxyscope's part is the library's view: whole-file key paths, masked values.
    let ps = &v["proxyscope"];
    assert_eq!(ps["section"], "proxyscope");
    assert!(ps["source"].as_str().is_some_and(|s| s.ends_with(".toml")));
    let apertium = ps["providers"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["name"] == "apertium")
        .unwrap();
    assert_eq!(
        apertium["url"]["origin"]["key"],
        "proxyscope.providers.apertium.url"
    );
    assert!(
        apertium["url"]["value"]
            .as_str()
            .is_some_and(|u| u.contains("api_key=") && !u.contains(API_KEY)),
        "{apertium}"
    );
    assert_eq!(apertium["checks"][0]["name"], "root");
    assert_eq!(
        row(&ps["global"], "proxy")["origin"]["key"],
        "proxyscope.proxy"
    );
    assert!(
        ps["ca_files"][0]["certificates"][0]["subject"]
            .as_str()
            .is_some_and(|s| !s.is_empty())
    );
    assert!(!cfg.text.contains(&format!("{YANDEX_PROXY_USER}:")));
    service.shutdown().await;
}

#[tokio::test]
async fn health_is_one_entry_per_provider_unless_asked_for_details() {
    let demo = Demo::start("1s").await.unwrap();
    demo.deny_yandex(true);
    let service = start(&demo).await;
    let c = Caller::new(&service);

    let concise = c.get("/_health/providers").await;
    assert_eq!(
        concise.status,
        StatusCode::SERVICE_UNAVAILABLE,
        "{}",
        concise.text
    );
    let h = concise.json();
    assert_eq!(h["status"], "failing");
    assert_eq!(h["cached"], false);
    let y = provider(&h, "yandex");
    let mut keys: Vec<&str> = y.as_object().unwrap().keys().map(String::as_str).collect();
    keys.sort_unstable();
    assert_eq!(
        keys,
        ["blame", "code", "hint", "hop", "name", "ok", "required"]
    );
    assert_eq!(
        (
            y["ok"].as_bool(),
            y["code"].as_str(),
            y["hop"].as_str(),
            y["blame"].as_str()
        ),
        (
            Some(false),
            Some("proxy.forbidden"),
            Some("proxy"),
            Some("proxy")
        )
    );
    assert!(y["hint"].as_str().is_some_and(|h| !h.is_empty()));
    let a = provider(&h, "apertium");
    assert_eq!(
        (a["ok"].as_bool(), &a["code"], &a["blame"]),
        (Some(true), &Value::Null, &Value::Null)
    );
    assert!(a.get("checks").is_none() && a.get("route").is_none());
    assert!(!concise.text.contains(YANDEX_PROXY_PASS));

    // The same (cached) run in full: route, phases and every check.
    for query in ["?verbose=1", "?verbose=true", "?x=1&verbose=yes"] {
        let full = c.get(&format!("/_health/providers{query}")).await;
        assert_eq!(full.status, StatusCode::SERVICE_UNAVAILABLE);
        let h = full.json();
        assert_eq!(h["cached"], true, "{query}");
        let y = provider(&h, "yandex");
        assert_eq!(y["code"], "proxy.forbidden");
        assert_eq!(y["route"]["via"], "proxy");
        assert_eq!(
            y["checks"][0]["error"]["evidence"]["proxy_reply"]["status"],
            403
        );
        assert!(provider(&h, "apertium")["phases_ms"]["connect"].is_number());
        assert!(!full.text.contains(YANDEX_PROXY_PASS));
    }
    let not_verbose = c.get("/_health/providers?verbose=0").await.json();
    assert!(provider(&not_verbose, "yandex").get("checks").is_none());
    service.shutdown().await;
}
