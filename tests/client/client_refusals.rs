//! One code per refusal, whatever the request form, and hints that lead with the local fix.
//!
//! A refusal the proxy wrote for a plain-`http://` (absolute-form) request gets the code the same
//! refusal to CONNECT gets — `proxy.forbidden`, `proxy.auth_required` / `proxy.auth_rejected`,
//! `proxy.upstream` — with hop and blame the proxy's and the attribution that decided it, from
//! `error_for_status()`; the origin's own statuses keep `http.status`; a reply the proxy wrote
//! with any other status (a login redirect) is the proxy's through `error_for_proxy_reply()`.
//!
//! When the route passed a `no_proxy` list with an entry meant for the refused host (a URL, a
//! `*.` pattern, an address for a name) or the provider inherited its proxy, the hint leads with
//! that entry or key and where it lives, and "ask the proxy's operators" comes second.

use std::net::IpAddr;

use crate::common::servers::{builder, layer};
use proxyscope::connect::Resolver;
use proxyscope::testing::{CannedReply, Policy, TestOrigin, TestProxy};
use proxyscope::{Blame, Client, Config, EnvSnapshot, Error, Hop, NoProxy, Phase, Response};

async fn proxy_with(policies: &[Policy]) -> TestProxy {
    let mut b = TestProxy::builder();
    for p in policies {
        b = b.policy(p.clone());
    }
    b.start().await
}

async fn plain_get(c: &Client, url: &str) -> Response {
    c.get(url).await.expect("a reply")
}

fn assert_refusal(e: &Error, code: &str, blame: Blame) {
    let report = e.report();
    assert_eq!(e.code(), code, "{report}");
    assert_eq!(e.hop(), Some(Hop::Proxy), "{report}");
    assert_eq!(e.blame(), blame, "{report}");
    assert_eq!(e.phase(), Phase::Http, "{report}");
    let a = e.evidence().attribution.as_ref().expect("attribution kept");
    assert_eq!(a.source, Hop::Proxy, "{report}");
    assert!(!a.reasons.is_empty());
    assert!(e.evidence().proxy_reply.is_some(), "{report}");
}

fn has(text: &str, words: &str) {
    assert!(text.contains(words), "{text:?} lacks {words:?}");
}

// Pattern 12: the absolute-form refusals get the CONNECT codes.

#[tokio::test]
async fn absolute_form_refusals_get_the_same_codes_as_on_connect() {
    let origin = TestOrigin::http().await;
    let url = origin.url_with_host("localhost", "/");

    let deny = proxy_with(&[Policy::deny(&["localhost"])]).await;
    let c = builder(layer(Some(&deny.url()))).build().expect("client");
    let e = plain_get(&c, &url).await.error_for_status().unwrap_err();
    assert_refusal(&e, "proxy.forbidden", Blame::Proxy);
    has(&e.to_string(), "denies access to localhost");
    has(
        &e.to_string(),
        "the proxy wrote this reply; the origin never saw the request",
    );

    let auth = proxy_with(&[Policy::require_basic("alice", "s3cret", "corp")]).await;
    let c = builder(layer(Some(&auth.url()))).build().expect("client");
    let e = plain_get(&c, &url).await.error_for_status().unwrap_err();
    assert_refusal(&e, "proxy.auth_required", Blame::LocalConfig);
    has(&e.to_string(), "requires credentials and none were sent");
    assert_eq!(e.evidence().auth_realm.as_deref(), Some("corp"));
    let c = builder(layer(Some(&auth.url_with_credentials("alice", "nope"))))
        .build()
        .expect("client");
    let e = plain_get(&c, &url).await.error_for_status().unwrap_err();
    assert_refusal(&e, "proxy.auth_rejected", Blame::LocalConfig);
    has(&e.to_string(), "rejected the credentials it was sent");

    let unreachable = proxy_with(&[Policy::Unreachable]).await;
    let c = builder(layer(Some(&unreachable.url())))
        .build()
        .expect("client");
    let e = plain_get(&c, &url).await.error_for_status().unwrap_err();
    assert_refusal(&e, "proxy.upstream", Blame::Origin);
    has(
        &e.to_string(),
        "connection refused (ERR_CONNECT_FAIL, errno 111)",
    );

    // The origin's own 403, relayed: http.status, the origin's.
    let relay = TestProxy::allow_all().await;
    let c = builder(layer(Some(&relay.url()))).build().expect("client");
    let e = plain_get(&c, &origin.url_with_host("localhost", "/forbidden"))
        .await
        .error_for_status()
        .unwrap_err();
    assert_eq!(e.code(), "http.status");
    assert_eq!((e.hop(), e.blame()), (Some(Hop::Origin), Blame::Origin));
    assert!(e.evidence().proxy_reply.is_none());
    assert!(
        origin
            .requests()
            .iter()
            .any(|r| r.target.ends_with("/forbidden"))
    );
}

/// A proxy's login redirect is no refusal status, but it is not the origin's answer either.
#[tokio::test]
async fn a_proxys_login_redirect_is_the_proxys_reply_not_the_origins() {
    let login = "http://login.corp.test/?next=%2F";
    let proxy = proxy_with(&[Policy::Reply(CannedReply::login_redirect(login))]).await;
    let c = builder(layer(Some(&proxy.url()))).build().expect("client");
    let res = plain_get(&c, "http://localhost:9/health").await;
    assert_eq!(res.status(), 302);
    assert!(res.attribution().is_proxy_generated());
    let res = res
        .error_for_status()
        .expect("a 302 is not an error status");
    let e = res.error_for_proxy_reply().unwrap_err();
    assert_refusal(&e, "proxy.refused", Blame::Proxy);
    has(
        &e.to_string(),
        &format!(
            "answered GET http://localhost:9/health itself with 302 Found, redirecting to {login}, instead of relaying it"
        ),
    );
    has(e.hint().unwrap_or_default(), "allow_proxy_response = true");
    // The origin's replies pass through it untouched.
    let origin = TestOrigin::http().await;
    let relay = TestProxy::allow_all().await;
    let c = builder(layer(Some(&relay.url()))).build().expect("client");
    let res = plain_get(&c, &origin.url_with_host("localhost", "/")).await;
    assert!(res.error_for_proxy_reply().is_ok());
}

// Pattern 4: the route's near misses lead the hint.

/// A client from the environment alone: `https_proxy`/`http_proxy` and `no_proxy`.
fn env_client(proxy: &str, no_proxy: &str, resolver: Resolver) -> Client {
    Client::builder()
        .env(EnvSnapshot::from_pairs([
            ("https_proxy", proxy),
            ("http_proxy", proxy),
            ("no_proxy", no_proxy),
        ]))
        .resolver(resolver)
        .build()
        .expect("client")
}

fn loopback() -> IpAddr {
    IpAddr::from([127, 0, 0, 1])
}

#[tokio::test]
async fn a_url_shaped_no_proxy_entry_leads_the_hint_of_a_refusal() {
    let proxy = TestProxy::builder()
        .policy(Policy::deny(&[".corp.test"]))
        .resolve("git.corp.test", loopback())
        .start()
        .await;
    for (no_proxy, write) in [
        ("https://git.corp.test:8443", "git.corp.test"),
        ("*.corp.test", ".corp.test"),
        ("git.corp.test:8443", "git.corp.test"),
    ] {
        let c = env_client(&proxy.url(), no_proxy, Resolver::system());
        let e = c.get("https://git.corp.test:8443/").await.unwrap_err();
        assert_eq!(e.code(), "proxy.forbidden", "{}", e.report());
        assert_eq!(e.hop(), Some(Hop::Proxy));
        assert_eq!(e.blame(), Blame::LocalConfig, "{no_proxy}");
        let hint = e.hint().unwrap_or_default();
        let lead = format!(
            "no_proxy entry `{no_proxy}` in the no_proxy environment variable does not match git.corp.test"
        );
        assert!(hint.starts_with(&lead), "{hint}");
        has(
            hint,
            &format!("write `{write}` there so git.corp.test bypasses the proxy"),
        );
        let local = hint.find("write `").unwrap_or(usize::MAX);
        let operators = hint
            .find("ask the proxy's operators")
            .expect("operators second");
        assert!(local < operators, "{hint}");
        let near = e
            .route()
            .and_then(|r| r.near_miss())
            .expect("near miss on the route");
        assert_eq!(near.write, write);
    }
}

#[tokio::test]
async fn an_address_written_for_a_name_is_found_by_resolving_the_name() {
    // The proxy cannot resolve the internal name; the client can, to an address its no_proxy
    // covers by CIDR — but curl never matches names against addresses.
    let proxy = proxy_with(&[Policy::Unresolvable]).await;
    let resolver = Resolver::pinned("wiki.internal", ["10.1.2.3".parse().expect("ip")]);
    let c = env_client(&proxy.url(), "localhost,10.0.0.0/8", resolver);
    let e = c.get("https://wiki.internal/").await.unwrap_err();
    assert_eq!(e.code(), "proxy.upstream", "{}", e.report());
    assert_eq!(e.blame(), Blame::LocalConfig);
    let hint = e.hint().unwrap_or_default();
    assert!(
        hint.starts_with(
            "no_proxy entry `10.0.0.0/8` in the no_proxy environment variable does not match wiki.internal (wiki.internal resolves to 10.1.2.3"
        ),
        "{hint}"
    );
    has(hint, "write `wiki.internal` there");
}

#[tokio::test]
async fn a_loopback_address_written_for_localhost_leads_an_absolute_form_refusal() {
    let proxy = proxy_with(&[Policy::deny(&["localhost"])]).await;
    let dir = tempfile::tempdir().expect("dir");
    let cfg = dir.path().join("proxyscope.toml");
    std::fs::write(
        &cfg,
        format!("proxy = \"{}\"\nno_proxy = [\"127.0.0.1\"]\n", proxy.url()),
    )
    .expect("write");
    let config = Config::from_file(&cfg).expect("config");
    let c = Client::builder_from_config(&config)
        .env(EnvSnapshot::from_pairs(Vec::<(String, String)>::new()))
        .build()
        .expect("client");
    let e = c
        .get("http://localhost:9/")
        .await
        .expect("a reply")
        .error_for_status()
        .unwrap_err();
    assert_refusal(&e, "proxy.forbidden", Blame::LocalConfig);
    let hint = e.hint().unwrap_or_default();
    let lead = format!("no_proxy entry `127.0.0.1` in {}:2:", cfg.display());
    assert!(hint.starts_with(&lead), "{hint}");
    has(hint, "(no_proxy) does not match localhost");
    has(hint, "write `localhost` there");
}

#[tokio::test]
async fn an_inherited_proxy_leads_the_hint_with_the_providers_key_and_its_file_line() {
    let proxy = proxy_with(&[Policy::deny(&["localhost"])]).await;
    let origin = TestOrigin::http().await;
    let base = origin.url_with_host("localhost", "");
    let dir = tempfile::tempdir().expect("dir");
    let cfg = dir.path().join("proxyscope.toml");
    std::fs::write(
        &cfg,
        format!(
            "proxy = \"{}\"\n\n[providers.wiki]\nurl = \"{base}\"\n",
            proxy.url()
        ),
    )
    .expect("write");
    let config = Config::from_file(&cfg).expect("config");
    let c = Client::builder_from_config(&config)
        .env(EnvSnapshot::from_pairs(Vec::<(String, String)>::new()))
        .build()
        .expect("client");
    let e = c
        .get(format!("{base}/"))
        .await
        .expect("a reply")
        .error_for_status()
        .unwrap_err();
    // Inheriting is how layering works: the blame stays the proxy's, the hint leads with the key.
    assert_refusal(&e, "proxy.forbidden", Blame::Proxy);
    let hint = e.hint().unwrap_or_default();
    let path = cfg.display();
    assert!(
        hint.starts_with(&format!(
            "provider wiki sets no proxy of its own and inherited {} from {path}:1:",
            proxy.url()
        )),
        "{hint}"
    );
    has(
        hint,
        &format!("set providers.wiki.proxy (\"direct\", or wiki's own proxy URL) in {path}:3:"),
    );
    assert!(
        hint.find("providers.wiki.proxy") < hint.find("ask the proxy's operators"),
        "{hint}"
    );
}

#[tokio::test]
async fn without_a_local_cause_the_hint_names_the_proxys_policy() {
    let proxy = proxy_with(&[Policy::deny(&["localhost"])]).await;
    let c = builder(layer(Some(&proxy.url())).with_no_proxy(NoProxy::parse("other.test")))
        .build()
        .expect("client");
    let e = c.get("https://localhost:9/").await.unwrap_err();
    assert_eq!(e.code(), "proxy.forbidden");
    assert_eq!(e.blame(), Blame::Proxy);
    let hint = e.hint().unwrap_or_default();
    assert!(
        hint.starts_with("the proxy's policy denies localhost:9 (it answered 403 Forbidden, X-Squid-Error: ERR_ACCESS_DENIED): ask its operators to allow it"),
        "{hint}"
    );
    assert!(e.route().is_some_and(|r| r.near_miss().is_none()));
}
