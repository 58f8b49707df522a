//! `probe check` as a process, for what the diagnosis adds: a reply the proxy wrote itself (a
//! login redirect, a splash page that says 200) never passes a check unless the check allows it
//! (`allow_proxy_response = true`); the text output shows the route warnings that bear on a
//! failure and the blame next to hop and phase; the JSON carries `error.blame`.

use crate::common::probe::{ConfigFile, check_json, find, probe, toml_str};
use proxyscope::testing::{CannedReply, Policy, SQUID_SERVER, TestOrigin, TestProxy};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_proxy_written_reply_fails_a_check_unless_the_check_allows_it() {
    let login = "http://login.corp.test/";
    let redirecting = TestProxy::builder()
        .policy(Policy::Reply(CannedReply::login_redirect(login)))
        .start()
        .await;
    let splash = TestProxy::builder()
        .policy(Policy::Reply(
            CannedReply::new(200)
                .header("Server", SQUID_SERVER)
                .header("X-Squid-Error", "ERR_AGENT_CONFIGURE 0")
                .body("<html>Welcome to the corporate network</html>"),
        ))
        .start()
        .await;
    let cfg = ConfigFile::new(&format!(
        r#"
[providers.portal]
url = "http://localhost:9"
proxy = {redirecting}
[[providers.portal.checks]]
name = "strict"
path = "/health"
expect_status = 302
[[providers.portal.checks]]
name = "allowed"
path = "/health"
expect_status = 302
allow_proxy_response = true

[providers.splash]
url = "http://localhost:9"
proxy = {splash}
[[providers.splash.checks]]
name = "health"
path = "/health"
expect_status = 200
"#,
        redirecting = toml_str(redirecting.url()),
        splash = toml_str(splash.url()),
    ));
    let run = check_json(&cfg, &[]).await;
    assert_eq!(run.code, Some(2), "{}\n{}", run.stdout, run.stderr);
    let v = run.json();

    let strict = find(&v, "portal", "strict");
    assert_eq!(strict["ok"], false, "{strict:#}");
    assert_eq!(strict["status"], 302);
    let e = &strict["error"];
    assert_eq!(e["code"], "proxy.refused");
    assert_eq!(e["hop"], "proxy");
    assert_eq!(e["blame"], "proxy");
    assert_eq!(e["evidence"]["attribution"]["source"], "proxy");
    assert!(
        e["message"]
            .as_str()
            .is_some_and(|m| m.contains(&format!("302 Found, redirecting to {login}"))),
        "{e:#}"
    );
    assert!(
        e["evidence"]["expected"]
            .as_str()
            .is_some_and(|x| x.contains("allow_proxy_response = false")),
        "{e:#}"
    );

    let allowed = find(&v, "portal", "allowed");
    assert_eq!(allowed["ok"], true, "{allowed:#}");

    // A 200 the proxy wrote is not the provider answering either.
    let s = find(&v, "splash", "health");
    assert_eq!(s["ok"], false, "{s:#}");
    assert_eq!(s["status"], 200);
    assert_eq!(s["error"]["code"], "proxy.refused");
    assert_eq!(s["error"]["blame"], "proxy");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn check_text_shows_blame_and_the_route_warnings_that_bear_on_a_failure() {
    let origin = TestOrigin::http().await;
    let proxy = TestProxy::builder()
        .policy(Policy::deny(&["localhost"]))
        .start()
        .await;
    // The list names the loopback address, the provider's URL the name: curl never connects
    // the two, so the request goes to the proxy, which refuses it.
    let cfg = ConfigFile::new(&format!(
        r#"
proxy = {proxy}
no_proxy = ["127.0.0.1"]

[providers.local]
url = {url}
"#,
        proxy = toml_str(proxy.url()),
        url = toml_str(origin.url_with_host("localhost", "")),
    ));
    let path = cfg.path().display().to_string();
    let run = probe(&["check", "--config", &path]).await;
    assert_eq!(run.code, Some(2), "{}\n{}", run.stdout, run.stderr);
    let out = &run.stdout;
    assert!(
        out.contains("error[proxy.forbidden]:")
            && out.contains("(hop: proxy, phase: http, blame: local_config)"),
        "{out}"
    );
    assert!(
        out.contains(
            "route warning: entry `127.0.0.1` was meant for localhost but does not match it"
        ),
        "{out}"
    );
    assert!(out.contains("write `localhost`"), "{out}");
    assert!(out.contains("[near_miss]"), "{out}");

    let run = check_json(&cfg, &[]).await;
    let c = find(&run.json(), "local", "default").clone();
    assert_eq!(c["error"]["blame"], "local_config");
    assert_eq!(c["route"]["near_miss"]["write"], "localhost");
    assert!(origin.requests().is_empty(), "the proxy refused it");
}
