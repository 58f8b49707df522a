//! Routes with several candidates and SOCKS4/4a, through the client against real loopback
//! servers: proxy lists and PAC answers failing over from a dead proxy to a live one and to
//! DIRECT (each attempt in the evidence), a refusal that does not fail over, the back-off, PAC
//! scripts deciding per host through the client's resolver, hostile scripts ending in their
//! code, and SOCKS4/4a success and every refusal code.

use std::io::Write as _;

use crate::common::servers::*;
use proxyscope::route::{CandidateSource, Rule};
use proxyscope::settings::ProxySetting;
use proxyscope::testing::{
    Handled, Listener, Policy, REPLY4_GRANTED, REPLY4_NO_IDENTD, REPLY4_REJECTED,
    REPLY4_USER_MISMATCH, RawServer, TestOrigin, TestProxy, refused_addr,
};
use proxyscope::{Blame, Hop, Phase, Settings};

fn list(entries: &[&str]) -> Settings {
    layer(None).with_proxy_list(entries.iter().map(|e| ProxySetting::parse(e).unwrap()))
}

#[tokio::test]
async fn a_dead_first_proxy_gives_way_to_a_live_second_and_is_backed_off() {
    let origin = TestOrigin::http().await;
    let live = TestProxy::builder().start().await;
    let dead = refused_addr();
    let client = builder(list(&[&format!("http://{dead}"), &live.url(), "direct"]))
        .build()
        .unwrap();
    let resp = client.get(origin.url("/")).await.expect("via the second");
    assert_eq!(resp.status(), 200);
    let info = resp.conn_info().expect("conn info");
    let c = info.route.candidates().expect("candidates");
    assert_eq!(c.source, CandidateSource::List);
    assert_eq!(c.used, Some(1));
    assert_eq!(c.skipped.len(), 1);
    assert_eq!(c.skipped[0].index, 0);
    assert_eq!(c.skipped[0].why, "failed");
    assert_eq!(c.skipped[0].code.as_deref(), Some("proxy.connect"));
    assert!(info.route.steps().iter().any(|s| s.rule == Rule::Candidate));
    assert_eq!(live.requests().len(), 1);
    // The dead proxy is skipped without a try by the next request (browsers' back-off).
    // (Another host name, so the pool cannot hand back the first connection.)
    let resp = client
        .get(origin.url_with_host("localhost", "/again"))
        .await
        .expect("again");
    let c = resp
        .conn_info()
        .unwrap()
        .route
        .candidates()
        .unwrap()
        .clone();
    assert_eq!(c.used, Some(1));
    assert_eq!(c.skipped[0].why, "backed_off");
    assert_eq!(c.skipped[0].code.as_deref(), Some("proxy.connect"));
    let json = serde_json::to_value(&resp.conn_info().unwrap().route).unwrap();
    assert_eq!(json["candidates"]["used"], 1);
    assert_eq!(json["candidates"]["skipped"][0]["why"], "backed_off");
}

#[tokio::test]
async fn every_proxy_dead_ends_direct_and_all_dead_keeps_each_attempt() {
    let origin = TestOrigin::http().await;
    let (a, b) = (refused_addr(), refused_addr());
    let client = builder(list(&[
        &format!("http://{a}"),
        "http://proxy.invalid:3128",
        "direct",
    ]))
    .build()
    .unwrap();
    let resp = client.get(origin.url("/")).await.expect("direct last");
    let c = resp
        .conn_info()
        .unwrap()
        .route
        .candidates()
        .unwrap()
        .clone();
    assert_eq!(c.used, Some(2));
    assert!(resp.conn_info().unwrap().route.is_direct());
    let codes: Vec<_> = c.skipped.iter().map(|s| s.code.clone().unwrap()).collect();
    assert_eq!(codes, ["proxy.connect", "proxy.dns"]);

    let client = builder(list(&[&format!("http://{a}"), &format!("socks5h://{b}")]))
        .build()
        .unwrap();
    let e = client.get(origin.url("/")).await.expect_err("all dead");
    assert_eq!(e.code(), "proxy.connect");
    assert_eq!(e.hop(), Some(Hop::Proxy));
    assert_eq!(e.phase(), Phase::Connect);
    assert_eq!(e.blame(), Blame::Proxy);
    let attempts = &e.evidence().attempts;
    assert_eq!(attempts.len(), 2);
    assert_eq!(attempts[0].index, 0);
    assert_eq!(attempts[0].code, "proxy.connect");
    assert_eq!(attempts[0].hop.as_deref(), Some("proxy"));
    assert_eq!(attempts[1].candidate, format!("socks5h://{b}"));
    assert_eq!(
        e.evidence().proxy.as_deref(),
        Some(format!("socks5h://{b}").as_str())
    );
}

#[tokio::test]
async fn a_proxy_that_refuses_is_final_not_a_failover() {
    let origin = TestOrigin::http().await;
    let strict = TestProxy::builder()
        .policy(Policy::deny(&["127.0.0.1"]))
        .start()
        .await;
    let spare = TestProxy::builder().start().await;
    let client = builder(list(&[&strict.url(), &spare.url()]))
        .build()
        .unwrap();
    let resp = client.get(origin.url("/")).await;
    // Absolute-form: the 403 is the response (or an error naming it), never the spare's 200.
    match resp {
        Ok(r) => assert_eq!(r.status(), 403),
        Err(e) => assert_eq!(e.code(), "proxy.forbidden"),
    }
    assert!(spare.requests().is_empty(), "no failover on a refusal");
}

#[tokio::test]
async fn socks4_and_socks4a_connect_and_each_refusal_code_is_kept() {
    let origin = TestOrigin::http().await;
    let proxy = TestProxy::builder()
        .socks5()
        .resolve("origin.test", "127.0.0.1".parse().unwrap())
        .start()
        .await;
    for url in [proxy.socks4_url().unwrap(), proxy.socks4a_url().unwrap()] {
        let client = builder(layer(Some(&url))).build().unwrap();
        let resp = client
            .get(origin.url_with_host("origin.test", "/"))
            .await
            .expect(&url);
        assert_eq!(resp.status(), 200);
    }
    let seen = proxy.connects();
    assert_eq!(seen.len(), 2);
    assert!(seen.iter().all(|r| r.listener == Listener::Socks4));
    assert!(
        seen.iter()
            .all(|r| r.handled == Handled::Socks(REPLY4_GRANTED))
    );
    // socks4 sends the address it resolved, socks4a the name.
    assert!(seen[0].target.starts_with("127.0.0.1:"));
    assert!(seen[1].target.starts_with("origin.test:"));

    for (code, blame) in [
        (REPLY4_NO_IDENTD, Blame::LocalConfig),
        (REPLY4_USER_MISMATCH, Blame::LocalConfig),
    ] {
        let p = TestProxy::builder().socks4_reply(code).start().await;
        let client = builder(layer(Some(&p.socks4a_url().unwrap())))
            .build()
            .unwrap();
        let e = client.get(origin.url("/")).await.expect_err("refused");
        assert_eq!(e.code(), "proxy.refused");
        assert_eq!(e.hop(), Some(Hop::Proxy));
        assert_eq!(e.phase(), Phase::Proxy);
        assert_eq!(e.blame(), blame);
        assert_eq!(
            e.evidence().proxy_reply.as_ref().unwrap().status,
            u16::from(code)
        );
    }
    let p = TestProxy::builder()
        .socks5()
        .policy(Policy::deny(&["origin.test"]))
        .start()
        .await;
    let client = builder(layer(Some(&p.socks4a_url().unwrap())))
        .build()
        .unwrap();
    let e = client
        .get(origin.url_with_host("origin.test", "/"))
        .await
        .expect_err("denied");
    assert_eq!(e.code(), "proxy.refused");
    assert_eq!(e.blame(), Blame::Proxy);
    let reply = e.evidence().proxy_reply.as_ref().unwrap();
    assert_eq!(reply.status, u16::from(REPLY4_REJECTED));
    // A SOCKS5 proxy answering a SOCKS4 request is a protocol error, not a hang.
    let socks5_only = RawServer::start(|mut stream| async move {
        use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
        let mut request = [0u8; 64];
        let _ = stream.read(&mut request).await;
        // A SOCKS5 "general failure" reply (version 5, where SOCKS4 replies start with 0).
        let _ = stream.write_all(&[5, 1, 0, 1, 0, 0, 0, 0, 0, 0]).await;
    })
    .await;
    let addr = socks5_only.addr();
    let client = builder(layer(Some(&format!("socks4a://{addr}"))))
        .build()
        .unwrap();
    let e = client.get(origin.url("/")).await.expect_err("not socks4");
    assert!(
        matches!(e.code(), "proxy.protocol" | "proxy.closed"),
        "{}",
        e.code()
    );
}

fn pac_file(src: &str) -> tempfile::NamedTempFile {
    let mut f = tempfile::NamedTempFile::new().unwrap();
    f.write_all(src.as_bytes()).unwrap();
    f
}

#[tokio::test]
async fn a_pac_script_routes_per_host_with_every_helper_and_fails_over() {
    let origin = TestOrigin::http().await;
    let live = TestProxy::builder()
        .resolve("origin.test", "127.0.0.1".parse().unwrap())
        .start()
        .await;
    let dead = refused_addr();
    let script = format!(
        r#"function FindProxyForURL(url, host) {{
            alert("asked " + host);
            if (isPlainHostName(host) || localHostOrDomainIs(host, "localhost")) return "DIRECT";
            if (dnsDomainIs(host, ".invalid")) return "DIRECT";
            if (shExpMatch(host, "origin.*") && isResolvable(host)
                && isInNet(dnsResolve(host), "127.0.0.0", "255.0.0.0")
                && dnsDomainLevels(host) == 1)
                return "PROXY {dead}; PROXY {live}; DIRECT";
            return "PROXY {dead}";
        }}"#,
        live = live.addr()
    );
    let f = pac_file(&script);
    let client = builder(Settings::new().with_pac(f.path())).build().unwrap();
    let resp = client
        .get(origin.url_with_host("origin.test", "/"))
        .await
        .expect("via PAC's second proxy");
    assert_eq!(resp.status(), 200);
    let route = &resp.conn_info().unwrap().route;
    let c = route.candidates().unwrap();
    assert_eq!(c.source, CandidateSource::Pac);
    assert_eq!(c.used, Some(1));
    assert_eq!(c.skipped[0].code.as_deref(), Some("proxy.connect"));
    let pac = c.pac.as_ref().unwrap();
    assert_eq!(pac.host, "origin.test");
    assert_eq!(pac.alerts, ["asked origin.test"]);
    assert!(
        pac.lookups
            .iter()
            .any(|l| l.starts_with("origin.test = 127.0.0.1"))
    );
    assert_eq!(c.setting, f.path().display().to_string());
    assert!(route.steps().iter().any(|s| s.rule == Rule::Pac));
    assert_eq!(live.requests().len(), 1);
    // Another host takes the other branch: a dead proxy alone is a plain connect failure.
    let e = client.get(origin.url_with_host("localhost", "/")).await;
    assert!(e.is_ok(), "localhost goes DIRECT");
}

#[tokio::test]
async fn hostile_pac_scripts_end_in_their_code_through_the_client() {
    let origin = TestOrigin::http().await;
    let looping = pac_file("function FindProxyForURL(u, h) { while (true) {} }");
    let client = builder(Settings::new().with_pac(looping.path()))
        .build()
        .unwrap();
    let e = client.get(origin.url("/")).await.expect_err("loops");
    assert_eq!(e.code(), "pac.timeout");
    assert_eq!(e.hop(), None);
    assert_eq!(e.blame(), Blame::LocalConfig);
    assert!(
        e.evidence()
            .pac
            .as_ref()
            .is_some_and(|p| p.limit.as_deref() == Some("time"))
    );
    // Ended by the evaluation's limit (the default 2 s), which the evidence names.
    assert_eq!(
        e.evidence().timeout,
        Some(std::time::Duration::from_secs(2))
    );

    let deep = pac_file(
        "function f(n) { return f(n + 1) + 1; } function FindProxyForURL(u, h) { return f(0); }",
    );
    let client = builder(Settings::new().with_pac(deep.path()))
        .build()
        .unwrap();
    let e = client.get(origin.url("/")).await.expect_err("recursion");
    assert_eq!(e.code(), "pac.runtime");
    assert_eq!(
        e.evidence().pac.as_ref().unwrap().limit.as_deref(),
        Some("stack")
    );

    // A string doubled past the engine's length limit: the memory limit's code, whatever the
    // machine's speed (tests/hostile/pac_scripts.rs has the open-ended allocations).
    let huge = pac_file(
        "function FindProxyForURL(u, h) { var s = 'x'; for (var i = 0; i < 40; i++) s += s; return s; }",
    );
    let client = builder(Settings::new().with_pac(huge.path()))
        .build()
        .unwrap();
    let e = client.get(origin.url("/")).await.expect_err("huge");
    assert_eq!(e.code(), "pac.runtime");
    assert_eq!(
        e.evidence().pac.as_ref().unwrap().limit.as_deref(),
        Some("memory")
    );

    let broken = pac_file("function FindProxyForURL(u, h) { return 'DIRECT' ");
    let e = builder(Settings::new().with_pac(broken.path()))
        .build()
        .expect_err("syntax error at build");
    assert_eq!(e.code(), "pac.syntax");
    assert!(e.evidence().pac.as_ref().unwrap().location.is_some());
}
