//! The example translation service, run in-process against the harness: every route answers,
//! provider failures come back as proxyscope's codes with a status of the service's choosing,
//! and denying one provider in its proxy turns `/_health/providers` into a 503 that names
//! `proxy.forbidden` for that provider while the others stay OK.

use http::{Method, StatusCode};
use proxyscope::EnvSnapshot;
use proxyscope::testing::{Handled, Policy};

use crate::app;
use crate::app::demo::{Demo, YANDEX_PROXY_PASS, YANDEX_PROXY_USER};
use crate::support::{Caller, capture_logs, capture_logs_at, provider, start, start_file};

#[tokio::test]
async fn every_route_answers_then_a_denied_provider_turns_health_503() {
    let (logs, _guard) = capture_logs();
    let demo = Demo::start("1s").await.unwrap();
    let service = start(&demo).await;
    let c = Caller::new(&service);

    // /_info: static.
    let info = c.get("/_info").await;
    assert_eq!(info.status, StatusCode::OK);
    assert_eq!(info.json()["name"], "translation_service");
    assert_eq!(info.json()["version"], env!("CARGO_PKG_VERSION"));

    // Every provider answers through its own route; the body is the provider's answer.
    let body = r#"{"q":"hello","langpair":"en|es"}"#;
    let a = c
        .call(Method::POST, "/v1/translate/apertium?markUnknown=0", body)
        .await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.text);
    assert_eq!(a.headers["x-proxyscope-route"], "direct");
    let echo = a.json();
    assert_eq!(echo["method"], "POST");
    assert_eq!(
        echo["target"], "/echo?markUnknown=0",
        "path and query forwarded"
    );
    assert_eq!(echo["headers"]["content-length"][0], body.len().to_string());
    assert_eq!(echo["headers"]["content-type"][0], "application/json");
    let seen = demo.apertium.requests();
    assert_eq!(
        seen.last().map(|r| r.target.as_str()),
        Some("/echo?markUnknown=0")
    );

    let y = c.translate("yandex").await;
    assert_eq!(y.status, StatusCode::OK, "{}", y.text);
    assert_eq!(y.headers["x-proxyscope-route"], "proxy");
    assert_eq!(
        y.json()["tls"],
        true,
        "the private CA was trusted through the tunnel"
    );
    let connects = demo.yandex_proxy.connects();
    assert_eq!(connects.len(), 1);
    assert!(connects[0].has_proxy_authorization);
    assert_eq!(connects[0].handled, Handled::Tunnelled);

    let g = c.translate("google").await;
    assert_eq!(g.status, StatusCode::OK, "{}", g.text);
    assert_eq!(g.headers["x-proxyscope-route"], "proxy");
    let relayed = demo.egress_proxy.requests();
    assert_eq!(relayed.len(), 1);
    assert_eq!(relayed[0].method, "POST");
    assert_eq!(relayed[0].handled, Handled::Relayed(200));
    assert!(
        demo.yandex_proxy
            .requests()
            .iter()
            .all(|r| r.method == "CONNECT")
    );

    // /_config: effective values with their file positions, secrets redacted.
    let cfg = c.get("/_config").await;
    assert_eq!(cfg.status, StatusCode::OK);
    assert!(!cfg.text.contains(YANDEX_PROXY_PASS), "{}", cfg.text);
    let cfg = cfg.json();
    let yandex = cfg["proxyscope"]["providers"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["name"] == "yandex")
        .unwrap();
    let proxy = yandex["settings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["key"] == "proxy")
        .unwrap();
    assert_eq!(proxy["origin"]["kind"], "file");
    assert_eq!(proxy["origin"]["key"], "proxyscope.providers.yandex.proxy");
    assert!(proxy["origin"]["line"].as_u64().unwrap() > 1);
    assert_eq!(
        proxy["value"],
        demo.yandex_proxy.url(),
        "the URL without its credentials"
    );
    assert_eq!(yandex["required"]["value"], true);
    assert_eq!(yandex["required"]["origin"]["kind"], "file");
    let cache = cfg["service"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["key"] == "server.health_cache")
        .unwrap();
    assert_eq!(cache["value"], "1s");
    assert_eq!(cache["origin"]["line"], 5);

    // /_health/providers: all pass.
    let h = c.fresh_health().await;
    assert_eq!(h.status, StatusCode::OK, "{}", h.text);
    let health = h.json();
    assert_eq!(
        (health["ok"].clone(), health["status"].clone()),
        (true.into(), "ok".into())
    );
    for (name, via) in [
        ("apertium", "direct"),
        ("yandex", "proxy"),
        ("google", "proxy"),
    ] {
        let p = provider(&health, name);
        assert_eq!(p["ok"], true, "{p}");
        assert!(p["code"].is_null());
        assert_eq!(p["route"]["via"], via, "{name}");
        assert!(p["phases_ms"]["connect"].is_number(), "{p}");
    }
    assert!(provider(&health, "yandex")["phases_ms"]["tls"].is_number());
    assert!(provider(&health, "yandex")["phases_ms"]["proxy"].is_number());

    // Break yandex: its proxy now refuses the destination.
    demo.deny_yandex(true);
    let h = c.fresh_health().await;
    assert_eq!(h.status, StatusCode::SERVICE_UNAVAILABLE, "{}", h.text);
    assert!(!h.text.contains(YANDEX_PROXY_PASS));
    let health = h.json();
    assert_eq!(health["ok"], false);
    assert_eq!(health["status"], "failing");
    assert_eq!(health["failing"], serde_json::json!(["yandex"]));
    let y = provider(&health, "yandex");
    assert_eq!(y["ok"], false);
    assert_eq!(y["required"], true);
    assert_eq!(y["code"], "proxy.forbidden");
    assert_eq!(y["hop"], "proxy");
    assert_eq!(y["phase"], "proxy");
    assert!(y["hint"].as_str().is_some_and(|h| !h.is_empty()));
    assert_eq!(y["route"]["via"], "proxy");
    assert_eq!(
        y["checks"][0]["error"]["evidence"]["proxy_reply"]["status"],
        403
    );
    for other in ["apertium", "google"] {
        let p = provider(&health, other);
        assert_eq!(p["ok"], true, "{p}");
        assert!(p["code"].is_null());
    }

    // And back.
    demo.deny_yandex(false);
    let h = c.fresh_health().await;
    assert_eq!(h.status, StatusCode::OK, "{}", h.text);

    // One log line per outbound request: provider, route, and the code on failure.
    let logs = logs.text();
    assert!(!logs.contains(YANDEX_PROXY_PASS), "{logs}");
    assert!(!logs.contains(YANDEX_PROXY_USER), "{logs}");
    let translate_lines = logs
        .lines()
        .filter(|l| l.contains("outbound translate request"))
        .count();
    assert_eq!(translate_lines, 3, "{logs}");
    assert!(
        logs.lines()
            .any(|l| l.contains("outbound health check failed")
                && l.contains("provider=yandex")
                && l.contains("proxy.forbidden")
                && l.contains("route=via")),
        "{logs}"
    );
    service.shutdown().await;
}

#[tokio::test]
async fn provider_failures_are_json_errors_with_our_status() {
    let (logs, _guard) = capture_logs();
    let demo = Demo::start("1s").await.unwrap();
    // A fresh service: no pooled tunnel from an earlier, allowed request.
    demo.deny_yandex(true);
    let service = start(&demo).await;
    let c = Caller::new(&service);

    let y = c.translate("yandex").await;
    assert_eq!(y.status, StatusCode::BAD_GATEWAY, "{}", y.text);
    assert_eq!(y.headers["x-proxyscope-error"], "proxy.forbidden");
    assert!(!y.text.contains(YANDEX_PROXY_PASS));
    let e = &y.json()["error"];
    assert_eq!(e["code"], "proxy.forbidden");
    assert_eq!(e["hop"], "proxy");
    assert_eq!(e["phase"], "proxy");
    assert_eq!(e["provider"], "yandex");
    assert!(e["hint"].as_str().is_some_and(|h| !h.is_empty()));
    assert_eq!(e["route"]["via"], "proxy");
    assert_eq!(e["route"]["proxy"], demo.yandex_proxy.url());
    assert_eq!(e["evidence"]["proxy_reply"]["status"], 403);

    // The global proxy refuses google: a 403 the proxy wrote, relayed in absolute-form.
    assert!(demo.deny("google", true));
    assert!(
        !demo.deny("apertium", true),
        "apertium has no proxy to deny it"
    );
    let g = c.translate("google").await;
    assert_eq!(g.status, StatusCode::BAD_GATEWAY, "{}", g.text);
    let e = &g.json()["error"];
    // The proxy's own 403 has the code a refused CONNECT has, and blames the proxy.
    assert_eq!(e["code"], "proxy.forbidden");
    assert_eq!(e["hop"], "proxy");
    assert_eq!(e["blame"], "proxy");
    assert_eq!(e["upstream_status"], 403);
    assert_eq!(e["attribution"]["source"], "proxy");

    // Unknown provider, wrong method, unknown route: the service's own codes.
    let n = c.translate("nope").await;
    assert_eq!(n.status, StatusCode::NOT_FOUND);
    assert_eq!(n.json()["error"]["code"], "service.unknown_provider");
    let m = c.get("/v1/translate/apertium").await;
    assert_eq!(m.status, StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(m.headers["allow"], "POST");
    assert_eq!(m.json()["error"]["code"], "service.method");
    let m = c.call(Method::POST, "/_info", "").await;
    assert_eq!(m.status, StatusCode::METHOD_NOT_ALLOWED);
    let r = c.get("/").await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    assert_eq!(r.json()["error"]["code"], "service.not_found");

    // An optional provider failing degrades the health check without failing it... but
    // yandex is required and denied, so: 503, google named too.
    let h = c.fresh_health().await;
    assert_eq!(h.status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(provider(&h.json(), "google")["ok"], false);
    assert_eq!(provider(&h.json(), "google")["hop"], "proxy");
    demo.deny_yandex(false);
    let h = c.fresh_health().await;
    assert_eq!(h.status, StatusCode::OK, "{}", h.text);
    assert_eq!(h.json()["status"], "degraded");
    assert_eq!(provider(&h.json(), "google")["required"], false);

    let logs = logs.text();
    assert!(
        logs.lines()
            .any(|l| l.contains("outbound translate request failed")
                && l.contains("provider=yandex")
                && l.contains("code=\"proxy.forbidden\"")
                && l.contains("route=via http://127.0.0.1:")),
        "{logs}"
    );
    assert!(!logs.contains(YANDEX_PROXY_PASS), "{logs}");
    service.shutdown().await;
}

#[tokio::test]
async fn an_origin_error_status_is_reported_not_copied() {
    let demo = Demo::start("1s").await.unwrap();
    // apertium's translate path answers 403 itself; google's times out in the proxy.
    let text = demo
        .settings_text("1s")
        .replacen(
            "[translate.apertium]\npath = \"/echo\"",
            "[translate.apertium]\npath = \"/forbidden\"",
            1,
        )
        .replacen("request = \"5s\"", "request = \"300ms\"", 1);
    let path = demo.dir().join("origin-errors.toml");
    std::fs::write(&path, text).unwrap();
    let service = start_file(&path).await;
    let c = Caller::new(&service);

    let a = c.translate("apertium").await;
    assert_eq!(
        a.status,
        StatusCode::BAD_GATEWAY,
        "never the origin's 403: {}",
        a.text
    );
    let e = &a.json()["error"];
    assert_eq!(e["code"], "http.status");
    assert_eq!(e["hop"], "origin");
    assert_eq!(e["blame"], "origin");
    assert_eq!(e["phase"], "http");
    assert_eq!(e["upstream_status"], 403);
    assert_eq!(e["attribution"]["source"], "origin");
    assert_eq!(e["route"]["via"], "direct");

    // A relative ca_file resolves against the settings file's directory, not the cwd.
    std::fs::copy(demo.pki.root_pem_path(), demo.dir().join("yandex-ca.pem")).unwrap();
    let ca_line = format!(
        "ca_file = {}",
        toml::Value::String(demo.pki.root_pem_path().display().to_string())
    );
    let relative = std::fs::read_to_string(&path).unwrap().replacen(
        &ca_line,
        "ca_file = \"yandex-ca.pem\"",
        1,
    );
    assert!(
        relative.contains("ca_file = \"yandex-ca.pem\""),
        "{relative}"
    );
    let rel_path = demo.dir().join("relative-ca.toml");
    std::fs::write(&rel_path, relative).unwrap();
    let second = start_file(&rel_path).await;
    let y = Caller::new(&second).translate("yandex").await;
    assert_eq!(y.status, StatusCode::OK, "{}", y.text);
    assert_eq!(y.json()["tls"], true);
    second.shutdown().await;

    demo.egress_proxy.set_policy(Policy::Stall);
    let g = c.translate("google").await;
    assert_eq!(g.status, StatusCode::GATEWAY_TIMEOUT, "{}", g.text);
    let e = &g.json()["error"];
    assert_eq!(e["code"], "http.timeout");
    assert_eq!(e["hop"], "proxy");
    service.shutdown().await;
}

#[tokio::test]
async fn health_results_are_cached_for_the_configured_time() {
    let demo = Demo::start("1m").await.unwrap();
    let service = start(&demo).await;
    let c = Caller::new(&service);
    // Concurrent callers share one probe run.
    let (first, other, third) = tokio::join!(
        c.get("/_health/providers"),
        c.get("/_health/providers"),
        c.get("/_health/providers")
    );
    assert_eq!(
        demo.yandex_proxy.connects().len(),
        1,
        "one run for three callers"
    );
    let cached = [&first, &other, &third]
        .iter()
        .filter(|a| a.json()["cached"] == true)
        .count();
    assert_eq!(cached, 2);
    let first = [first, other, third]
        .into_iter()
        .find(|a| a.json()["cached"] == false)
        .unwrap();
    assert_eq!(first.status, StatusCode::OK);
    assert_eq!(first.json()["cached"], false);
    assert_eq!(first.json()["cache_ms"], 60_000.0);

    demo.deny_yandex(true);
    let second = c.get("/_health/providers").await;
    assert_eq!(second.status, StatusCode::OK, "the cached run is reused");
    assert_eq!(second.json()["cached"], true);
    assert_eq!(second.json()["providers"], first.json()["providers"]);
    assert_eq!(demo.yandex_proxy.connects().len(), 1, "no second probe run");
    service.shutdown().await;
}

#[tokio::test]
async fn invalid_settings_list_every_finding() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("bad.toml");
    std::fs::write(
        &path,
        r#"proxy = "http://egress.test:3128"
[server]
listen = "localhost"
health_cache = "5 parsecs"
port = 8080
[translate.apertium]
path = "translate"
[proxyscope]
[proxyscope.providers.apertium]
url = "http://apertium.test:2737"
cacert = "/etc/ssl/x.pem"
"#,
    )
    .unwrap();
    let invalid = app::settings::load(&path, &EnvSnapshot::default()).unwrap_err();
    let found: Vec<(&str, &str, String)> = invalid
        .diagnostics
        .iter()
        .filter(|d| d.is_error())
        .map(|d| {
            let line = d
                .location
                .as_deref()
                .and_then(|l| l.rsplit(':').nth(1))
                .unwrap_or("")
                .to_owned();
            (d.code.as_str(), d.path.as_str(), line)
        })
        .collect();
    for want in [
        ("unknown_key", "proxy", "1"),
        ("invalid_value", "server.listen", "3"),
        ("duration.invalid", "server.health_cache", "4"),
        ("unknown_key", "server.port", "5"),
        ("translate.path", "translate.apertium.path", "7"),
        (
            "misplaced_key",
            "proxyscope.providers.apertium.cacert",
            "11",
        ),
    ] {
        assert!(
            found.iter().any(|(c, p, l)| (*c, *p, l.as_str()) == want),
            "missing {want:?} in {found:?}"
        );
    }
    assert_eq!(invalid.errors(), 6, "{:#?}", invalid.diagnostics);
    let moved = invalid
        .diagnostics
        .iter()
        .find(|d| d.path == "proxy")
        .unwrap();
    assert!(
        moved
            .suggestion
            .as_deref()
            .unwrap()
            .contains("[proxyscope]")
    );

    // A translate table for a provider that does not exist.
    std::fs::write(
        &path,
        "[translate.yandx]\npath = \"/t\"\n[proxyscope.providers.yandex]\nurl = \"https://y.test\"\n",
    )
    .unwrap();
    let invalid = app::settings::load(&path, &EnvSnapshot::default()).unwrap_err();
    assert_eq!(invalid.errors(), 1, "{:?}", invalid.diagnostics);
    assert_eq!(invalid.diagnostics[0].code, "translate.unknown_provider");
    assert_eq!(invalid.diagnostics[0].path, "translate.yandx");

    // No [proxyscope] section at all; a file that cannot be read.
    std::fs::write(&path, "[server]\nlisten = \"127.0.0.1:0\"\n").unwrap();
    let invalid = app::settings::load(&path, &EnvSnapshot::default()).unwrap_err();
    assert_eq!(invalid.diagnostics[0].code, "section.missing");
    let invalid =
        app::settings::load(&dir.path().join("absent.toml"), &EnvSnapshot::default()).unwrap_err();
    assert_eq!(invalid.diagnostics[0].code, "file.unreadable");
}

/// Credentials in a provider's URL and proxy, a secret query parameter, and a proxy that echoes
/// the request into its refusal: none of them reaches `/_config`, `/_health/providers`, a
/// translate error or the service's logs at TRACE, in clear, percent-encoded or base64 form.
#[tokio::test]
async fn no_secret_reaches_any_caller_or_log() {
    use base64::Engine as _;
    const ORIGIN_PASS: &str = "K3y/z@qW";
    const PROXY_PASS: &str = "Pz#W8k Y";
    const QUERY_KEY: &str = "Qk7Zr2mN";
    const TOKEN: &str = "T0k9Lp3v";
    let (logs, _guard) = capture_logs_at(tracing::Level::TRACE);
    let echo = proxyscope::testing::TestProxy::builder()
        .policy(Policy::EchoRequest(403))
        .start()
        .await;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("leaky.toml");
    std::fs::write(
        &path,
        format!(
            "[server]\nlisten = \"127.0.0.1:0\"\nhealth_cache = \"1s\"\n\
             [translate.leaky]\npath = \"/translate\"\n\
             [proxyscope]\n[proxyscope.timeouts]\nproxy = \"2s\"\nrequest = \"3s\"\n\
             [proxyscope.providers.leaky]\n\
             url = \"https://0r1g-us3r:K3y%2Fz%40qW@localhost:1/v1?key={QUERY_KEY}\"\n\
             proxy = \"http://pr0xy-us3r:Pz%23W8k%20Y@{}\"\n\
             [[proxyscope.providers.leaky.checks]]\nname = \"c\"\npath = \"/h?token={TOKEN}\"\n",
            echo.addr()
        ),
    )
    .unwrap();
    let service = start_file(&path).await;
    let c = Caller::new(&service);

    let config = c.get("/_config").await;
    assert_eq!(config.status, StatusCode::OK);
    let health = c.fresh_health().await;
    let concise = c.get("/_health/providers").await;
    assert_eq!(
        health.status,
        StatusCode::SERVICE_UNAVAILABLE,
        "{}",
        health.text
    );
    assert_eq!(
        provider(&concise.json(), "leaky")["code"],
        "proxy.forbidden"
    );
    assert!(
        health
            .text
            .to_ascii_lowercase()
            .contains("proxy-authorization: basic ***"),
        "the proxy's echo is in the evidence, scrubbed: {}",
        health.text
    );
    let translate = c.translate("leaky").await;
    assert_eq!(translate.json()["error"]["code"], "proxy.forbidden");
    let sent = echo.connects();
    assert!(
        !sent.is_empty() && sent.iter().all(|r| r.has_proxy_authorization),
        "credentials were sent"
    );
    assert!(
        logs.text().contains("leaky"),
        "the service logged the failures"
    );

    let b64 = |s: &str| base64::engine::general_purpose::STANDARD.encode(s);
    let forms = [
        ORIGIN_PASS.to_owned(),
        "K3y%2Fz%40qW".to_owned(),
        "K3y%2fz%40qW".to_owned(),
        b64(&format!("0r1g-us3r:{ORIGIN_PASS}")),
        PROXY_PASS.to_owned(),
        "Pz%23W8k".to_owned(),
        b64(&format!("pr0xy-us3r:{PROXY_PASS}")),
        QUERY_KEY.to_owned(),
        TOKEN.to_owned(),
    ];
    service.shutdown().await;
    for (label, text) in [
        ("/_config", config.text),
        ("/_health/providers?verbose=1", health.text),
        ("/_health/providers", concise.text),
        ("translate", translate.text),
        ("logs", logs.text()),
    ] {
        for f in &forms {
            assert!(!text.contains(f.as_str()), "{label}: `{f}` in\n{text}");
        }
    }
}
