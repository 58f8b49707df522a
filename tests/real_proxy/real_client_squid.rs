//! proxyscope's [`Client`](proxyscope::Client) through a real Squid on loopback: each refusal
//! comes back with the stable code, hop, phase and the evidence Squid itself produced
//! (`X-Squid-Error`, `Server`, `Proxy-Authenticate`), a tunnel carries TLS that verifies with a
//! provider's private CA, and plain-http replies are attributed to Squid or to the origin.
//!
//! Observed with Debian bookworm's Squid 5.7 (`tests/real_proxy_squid.rs` records the raw
//! replies). Squid resolves destinations from its generated hosts file, with its DNS pinned to
//! loopback; the client resolves nothing (see `support/real_client.rs`). The tests skip without
//! Squid and fail under `CI=true`.

use std::net::{IpAddr, Ipv4Addr};

use crate::support::client::{
    assert_connect_refused, assert_no_secret, builder, via, with_credentials,
};
use crate::support::{RealSquid, SQUID_HOSTNAME, SQUID_REALM, SquidConfig, start_or_skip};
use proxyscope::client::ResponsePath;
use proxyscope::testing::refused_addr;
use proxyscope::testing::{ChainMode, ORIGIN_SERVER, TestOrigin, TestPki};
use proxyscope::tls::Diagnosis;
use proxyscope::{Blame, Error, Hop, Phase, ProxySetting, Settings};

/// The Squid-generated facts of a refusal: `X-Squid-Error`, `Server: squid/<version>`, and the
/// classifier's deciding signal naming the Squid error.
fn assert_squid_evidence(e: &Error, squid: &RealSquid, squid_error: &str) {
    let report = e.report();
    let reply = e
        .evidence()
        .proxy_reply
        .as_ref()
        .expect("the reply is kept");
    assert_eq!(reply.header("x-squid-error"), Some(squid_error), "{report}");
    assert_eq!(
        reply.header("server"),
        Some(format!("squid/{}", squid.version()).as_str()),
        "{report}"
    );
    // A 407 is decided by its status (only the client knows whether credentials were sent);
    // every other Squid refusal by the error it names.
    let name = squid_error.split(' ').next().unwrap_or_default();
    let signal = if reply.status == 407 {
        "status 407".to_owned()
    } else {
        format!("X-Squid-Error: {name}")
    };
    assert_eq!(
        e.evidence().cause.as_deref(),
        Some(signal.as_str()),
        "{report}"
    );
    // Squid's page opens with ~3 KiB of CSS; the excerpt is the page's body, which names the
    // error, and stays within 1 KiB.
    let excerpt = reply.body_excerpt.as_deref().expect("Squid sends a page");
    assert!(excerpt.len() <= 1024, "{report}");
    assert!(
        excerpt.contains(&format!("id={name}")) || excerpt.contains(&format!("id=\"{name}\"")),
        "{report}"
    );
}

/// The first `access.log` line containing `needle`, waiting up to a second without blocking the
/// runtime (a dropped client's connections close on it; Squid logs a tunnel when it closes).
async fn logged(squid: &RealSquid, needle: &str) -> Option<String> {
    for _ in 0..50 {
        if let Some(line) = squid.access_log().lines().find(|l| l.contains(needle)) {
            return Some(line.to_owned());
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    None
}

/// Squids before 6 lose DNS failures (squid-cache bug 5294): ERR_CANNOT_FORWARD on CONNECT,
/// ERR_READ_ERROR on plain http, instead of ERR_DNS_FAIL.
fn loses_dns_failures(squid: &RealSquid) -> bool {
    !squid.version_at_least(6, 0)
}

pub(crate) async fn tunnel_carries_tls_verified_with_the_providers_private_ca() {
    let pki = TestPki::new();
    let origin = TestOrigin::https(&pki, pki.localhost(), ChainMode::Full).await;
    let squid = start_or_skip!(RealSquid::start(SquidConfig::new()));
    let base = origin.url("");
    let client = builder(Settings::new().with_proxy(ProxySetting::Direct))
        .provider(
            "private",
            &base,
            via(&squid.url()).with_ca_file([pki.root_pem_path().to_path_buf()]),
        )
        .build()
        .expect("client");

    let res = client.get(origin.url("/")).await.expect("tunnelled GET");
    assert_eq!(res.status(), 200);
    let a = res.attribution();
    assert_eq!(a.source, Hop::Origin);
    assert_eq!(a.path, ResponsePath::Tunnel);
    let info = res.conn_info().expect("connection facts");
    assert!(info.tunnel && !info.absolute_form);
    assert_eq!(info.peer, Some(squid.addr()), "the TCP peer is Squid");
    assert!(
        info.origin_tls.is_some(),
        "TLS with the origin, inside the tunnel"
    );
    assert_eq!(res.text().await.expect("body").trim_end(), "ok");
    assert_eq!(origin.requests().len(), 1);
    assert!(origin.requests()[0].tls);
    // Squid logs a tunnel when it closes: drop the client and its pooled connection first.
    drop(client);
    assert!(
        logged(&squid, &format!("CONNECT 127.0.0.1:{}", origin.port()))
            .await
            .is_some_and(|l| l.contains("TCP_TUNNEL/200")),
        "{}",
        squid.access_log()
    );
}

/// The 2015 mistake through a real tunnel: the private CA set where the origin hop never reads
/// it (`proxy_ca_file`). The failure is the origin hop's TLS, and the fix names `ca_file`.
pub(crate) async fn private_ca_in_the_wrong_key_fails_at_the_origin_hop_through_the_tunnel() {
    let pki = TestPki::new();
    let origin = TestOrigin::https(&pki, pki.localhost(), ChainMode::Full).await;
    let squid = start_or_skip!(RealSquid::start(SquidConfig::new()));
    let root = pki.root_pem_path().to_path_buf();
    let client = builder(Settings::new().with_proxy(ProxySetting::Direct))
        .provider(
            "private",
            &origin.url(""),
            via(&squid.url()).with_proxy_ca_file([root.clone()]),
        )
        .build()
        .expect("client");

    let e = client.get(origin.url("/")).await.unwrap_err();
    let report = e.report();
    assert_eq!(e.code(), "tls.unknown_issuer", "{report}");
    assert_eq!(e.hop(), Some(Hop::Origin), "{report}");
    assert_eq!(e.phase(), Phase::Tls, "{report}");
    let tls = e.evidence().tls.as_ref().expect("TLS evidence");
    assert_eq!(tls.hop, Hop::Origin);
    assert_eq!(tls.diagnosis, Diagnosis::UntrustedPrivateCa, "{report}");
    let fix = tls.fix.as_ref().expect("cross-reference finds the CA");
    assert_eq!(fix.found_in, "providers.private.proxy_ca_file");
    assert_eq!(
        fix.key, "providers.private.ca_file",
        "the provider's own key, not the global one"
    );
    assert_eq!(fix.file.as_deref(), root.to_str());
    assert!(
        origin.requests().is_empty(),
        "no request reached the origin"
    );
}

pub(crate) async fn acl_deny_is_proxy_forbidden_with_err_access_denied() {
    let squid = start_or_skip!(RealSquid::start(
        SquidConfig::new().deny_domain(".blocked.test")
    ));
    let client = builder(via(&squid.url())).build().expect("client");
    let e = client
        .get("https://api.blocked.test:8443/")
        .await
        .unwrap_err();
    assert_connect_refused(&e, "proxy.forbidden", &squid.url(), false, 403, "Forbidden");
    assert_squid_evidence(&e, &squid, "ERR_ACCESS_DENIED 0");
    let reply = e.evidence().proxy_reply.as_ref().expect("reply");
    assert!(
        reply
            .header("via")
            .is_some_and(|v| v.contains(SQUID_HOSTNAME)),
        "{reply:?}"
    );
    // Squid 5.7's template spends its first 3 KiB on CSS: the excerpt skips it and starts at
    // the page's `<body id=ERR_…>`, so what is kept is Squid's explanation.
    assert!(reply.body_truncated, "{reply:?}");
    assert!(
        reply
            .body_excerpt
            .as_deref()
            .is_some_and(|b| b.starts_with("<body") && b.contains("ERR_ACCESS_DENIED")),
        "the template's body is excerpted: {reply:?}"
    );
    assert_eq!(
        e.evidence().target.as_deref(),
        Some("api.blocked.test:8443")
    );
}

pub(crate) async fn connect_to_a_port_outside_ssl_ports_is_proxy_forbidden() {
    let squid = start_or_skip!(RealSquid::start(SquidConfig::new()));
    let client = builder(via(&squid.url())).build().expect("client");
    // `http_access deny CONNECT !SSL_ports`: refused before Squid connects anywhere.
    let e = client.get("https://127.0.0.1:25/").await.unwrap_err();
    assert_connect_refused(&e, "proxy.forbidden", &squid.url(), false, 403, "Forbidden");
    assert_squid_evidence(&e, &squid, "ERR_ACCESS_DENIED 0");
}

pub(crate) async fn missing_credentials_are_auth_required_with_basic_and_the_realm() {
    let squid = start_or_skip!(RealSquid::start(
        SquidConfig::new().basic_auth("alice", "correct horse")
    ));
    let client = builder(via(&squid.url())).build().expect("client");
    let e = client.get("https://127.0.0.1:8443/").await.unwrap_err();
    assert_connect_refused(
        &e,
        "proxy.auth_required",
        &squid.url(),
        false,
        407,
        "Proxy Authentication Required",
    );
    assert_squid_evidence(&e, &squid, "ERR_CACHE_ACCESS_DENIED 0");
    assert_eq!(e.evidence().auth_schemes, ["Basic"]);
    assert_eq!(e.evidence().auth_realm.as_deref(), Some(SQUID_REALM));
}

pub(crate) async fn wrong_credentials_are_auth_rejected_and_right_ones_reach_the_origin() {
    let pki = TestPki::new();
    let origin = TestOrigin::https(&pki, pki.localhost(), ChainMode::Full).await;
    let squid = start_or_skip!(RealSquid::start(
        SquidConfig::new().basic_auth("alice", "correct horse")
    ));
    let ca = [pki.root_pem_path().to_path_buf()];

    let wrong = with_credentials(&squid.url(), "alice", "battery staple");
    let client = builder(via(&wrong).with_ca_file(ca.clone()))
        .build()
        .expect("client");
    let e = client.get(origin.url("/")).await.unwrap_err();
    // Squid sends the same 407 for wrong and missing credentials: only the client knows.
    assert_connect_refused(
        &e,
        "proxy.auth_rejected",
        &squid.url(),
        true,
        407,
        "Proxy Authentication Required",
    );
    assert_squid_evidence(&e, &squid, "ERR_CACHE_ACCESS_DENIED 0");
    assert_eq!(e.evidence().auth_schemes, ["Basic"]);
    assert_eq!(e.evidence().auth_realm.as_deref(), Some(SQUID_REALM));
    assert_no_secret(&e, "alice", "battery staple");
    assert!(origin.requests().is_empty());

    let right = with_credentials(&squid.url(), "alice", "correct horse");
    let client = builder(via(&right).with_ca_file(ca))
        .build()
        .expect("client");
    let res = client.get(origin.url("/")).await.expect("authenticated");
    assert_eq!(res.status(), 200);
    assert_eq!(res.attribution().source, Hop::Origin);
    drop(res);
    drop(client);
    assert!(
        logged(&squid, "TCP_TUNNEL/200")
            .await
            .is_some_and(|l| l.contains(" alice ")),
        "Squid logs the authenticated user: {}",
        squid.access_log()
    );
}

pub(crate) async fn plain_http_carries_the_credentials_in_absolute_form() {
    let origin = TestOrigin::http().await;
    let squid = start_or_skip!(RealSquid::start(
        SquidConfig::new().basic_auth("alice", "correct horse")
    ));
    let right = with_credentials(&squid.url(), "alice", "correct horse");
    let client = builder(via(&right)).build().expect("client");
    let res = client.get(origin.url("/")).await.expect("through Squid");
    assert_eq!(res.status(), 200);
    assert_eq!(res.attribution().path, ResponsePath::AbsoluteForm);
    assert_eq!(res.attribution().source, Hop::Origin);

    // Without credentials Squid answers the request itself: a 407 that is Squid's.
    let client = builder(via(&squid.url())).build().expect("client");
    let res = client.get(origin.url("/")).await.expect("a reply");
    assert_eq!(res.status(), 407);
    assert!(res.attribution().is_proxy_generated());
    // The same refusal as on CONNECT: the same code, whatever the request form.
    let e = res.error_for_status().unwrap_err();
    assert_eq!(e.code(), "proxy.auth_required", "{}", e.report());
    assert_eq!(e.hop(), Some(Hop::Proxy));
    assert_eq!(e.blame(), Blame::LocalConfig);
    assert_eq!(e.phase(), Phase::Http);
    assert!(
        e.to_string()
            .contains("requires credentials and none were sent"),
        "{e}"
    );
    assert_eq!(e.evidence().auth_realm.as_deref(), Some(SQUID_REALM));
    let reply = e
        .evidence()
        .proxy_reply
        .as_ref()
        .expect("the proxy's reply");
    assert_eq!(reply.status, 407);
    assert_eq!(
        reply.header("x-squid-error"),
        Some("ERR_CACHE_ACCESS_DENIED 0")
    );
    assert_eq!(
        reply.header("proxy-authenticate"),
        Some(format!("Basic realm=\"{SQUID_REALM}\"").as_str())
    );
    assert_eq!(origin.requests().len(), 1, "only the authenticated request");
}

/// Squid's `%R` (the request, quoted in a `deny_info` page) masks `Proxy-Authorization` but
/// echoes every other header: a proxy header carrying a token comes back in the refusal's body,
/// and the excerpt keeps the page without it.
pub(crate) async fn an_error_page_quoting_the_request_leaves_no_secret_in_the_evidence() {
    const TOKEN: &str = "Tk5-Egr3ss-Wq8";
    let squid = start_or_skip!(RealSquid::start(
        SquidConfig::new()
            .deny_domain(".blocked.test")
            .echo_denials()
    ));
    let proxy = with_credentials(&squid.url(), "alice", "p@ss/w rd,Zx9");
    let client = builder(via(&proxy))
        .proxy_header("X-Egress-Token", TOKEN)
        .build()
        .expect("client");
    let e = client
        .get("https://api.blocked.test:8443/?key=Qk4-Vz7")
        .await
        .unwrap_err();
    assert_connect_refused(&e, "proxy.forbidden", &squid.url(), true, 403, "Forbidden");
    let excerpt = e
        .evidence()
        .proxy_reply
        .as_ref()
        .and_then(|r| r.body_excerpt.clone())
        .expect("Squid's page");
    assert!(
        excerpt.to_ascii_lowercase().contains("x-egress-token: ***"),
        "Squid echoed the header, scrubbed: {excerpt}"
    );
    assert!(
        excerpt.contains("NOT DISPLAYED"),
        "Squid masks Proxy-Authorization itself: {excerpt}"
    );
    assert_no_secret(&e, "alice", "p@ss/w rd,Zx9");
    let shown = format!(
        "{e} {e:?} {} {}",
        e.report(),
        serde_json::to_string(&e).expect("json")
    );
    for secret in [TOKEN, "Zx9", "Qk4-Vz7"] {
        assert!(!shown.contains(secret), "`{secret}` in {shown}");
    }
}

pub(crate) async fn unreachable_destination_is_proxy_upstream_err_connect_fail() {
    let squid = start_or_skip!(RealSquid::start(SquidConfig::new()));
    let client = builder(via(&squid.url())).build().expect("client");
    let port = refused_addr().port();
    let e = client
        .get(format!("https://127.0.0.1:{port}/"))
        .await
        .unwrap_err();
    assert_connect_refused(
        &e,
        "proxy.upstream",
        &squid.url(),
        false,
        503,
        "Service Unavailable",
    );
    // 111 is ECONNREFUSED: Squid tried and the destination refused — said in words.
    assert_squid_evidence(&e, &squid, "ERR_CONNECT_FAIL 111");
    assert_eq!(e.blame(), Blame::Origin);
    assert!(
        e.to_string().contains(
            "could not reach 127.0.0.1:{port}: it could not connect to it: connection refused (ERR_CONNECT_FAIL, errno 111)"
                .replace("{port}", &port.to_string())
                .as_str()
        ),
        "{e}"
    );

    // Plain http: Squid answers the same failure as a response, attributed to Squid.
    let res = client
        .get(format!("http://127.0.0.1:{port}/"))
        .await
        .expect("a reply");
    assert_eq!(res.status(), 503);
    let a = res.attribution();
    assert_eq!(a.source, Hop::Proxy);
    assert_eq!(a.squid_error.as_deref(), Some("ERR_CONNECT_FAIL 111"));
    let e = res.error_for_status().unwrap_err();
    assert_eq!(e.code(), "proxy.upstream", "{}", e.report());
    assert_eq!(e.hop(), Some(Hop::Proxy));
    assert_eq!(e.blame(), Blame::Origin);
    assert_eq!(e.evidence().status, Some(503));
    assert!(
        e.to_string()
            .contains("connection refused (ERR_CONNECT_FAIL, errno 111)"),
        "{e}"
    );
    assert_eq!(
        e.evidence().attribution.as_ref().map(|a| a.source),
        Some(Hop::Proxy)
    );
}

pub(crate) async fn unresolvable_destination_is_proxy_upstream() {
    let squid = start_or_skip!(RealSquid::start(SquidConfig::new()));
    let client = builder(via(&squid.url())).build().expect("client");
    let e = client.get("https://x.invalid/").await.unwrap_err();
    if loses_dns_failures(&squid) {
        // Squid 5.7: `500 Internal Server Error`, ERR_CANNOT_FORWARD — still the destination's
        // failure as seen by the proxy, so proxy.upstream.
        assert_connect_refused(
            &e,
            "proxy.upstream",
            &squid.url(),
            false,
            500,
            "Internal Server Error",
        );
        assert_squid_evidence(&e, &squid, "ERR_CANNOT_FORWARD 0");
    } else {
        assert_eq!(e.code(), "proxy.upstream", "{}", e.report());
        assert_eq!(e.hop(), Some(Hop::Proxy));
        assert_eq!(e.phase(), Phase::Proxy);
    }

    let res = client.get("http://y.invalid/").await.expect("a reply");
    assert!(res.attribution().is_proxy_generated());
    if loses_dns_failures(&squid) {
        assert_eq!(res.status(), 502);
        assert_eq!(
            res.attribution().squid_error.as_deref(),
            Some("ERR_READ_ERROR 0")
        );
    }
    let e = res.error_for_status().unwrap_err();
    assert_eq!(e.code(), "proxy.upstream", "{}", e.report());
    assert_eq!(e.hop(), Some(Hop::Proxy));
    assert_eq!(e.phase(), Phase::Http);
}

pub(crate) async fn plain_http_403_from_squid_and_from_the_origin_name_different_hops() {
    let origin = TestOrigin::http().await;
    let squid = start_or_skip!(RealSquid::start(
        SquidConfig::new()
            .deny_domain(".blocked.test")
            .host("origin.test", IpAddr::V4(Ipv4Addr::LOCALHOST))
    ));
    let client = builder(via(&squid.url())).build().expect("client");

    // Squid generates this 403: the destination is denied by an ACL.
    let res = client
        .get("http://www.blocked.test/")
        .await
        .expect("Squid's reply");
    assert_eq!(res.status(), 403);
    let a = res.attribution().clone();
    assert_eq!(a.source, Hop::Proxy);
    assert_eq!(a.path, ResponsePath::AbsoluteForm);
    assert_eq!(a.squid_error.as_deref(), Some("ERR_ACCESS_DENIED 0"));
    let server = format!("squid/{}", squid.version());
    assert_eq!(a.server.as_deref(), Some(server.as_str()));
    // Squid's own 403: the code a CONNECT refusal gets, hop and blame the proxy.
    let e = res.error_for_status().unwrap_err();
    assert_eq!(e.code(), "proxy.forbidden", "{}", e.report());
    assert_eq!(e.hop(), Some(Hop::Proxy));
    assert_eq!(e.blame(), Blame::Proxy);
    assert_eq!(e.phase(), Phase::Http);
    assert_eq!(e.evidence().status, Some(403));
    assert!(
        e.to_string().contains(
            "denies access to www.blocked.test:80 (403 Forbidden, X-Squid-Error: ERR_ACCESS_DENIED)"
        ),
        "{e}"
    );
    let reply = e.evidence().proxy_reply.as_ref().expect("Squid's reply");
    assert_eq!(reply.status, 403);
    assert_eq!(reply.reason, "Forbidden");
    assert_eq!(reply.header("x-squid-error"), Some("ERR_ACCESS_DENIED 0"));
    assert_eq!(reply.header("server"), Some(server.as_str()));
    assert_eq!(
        e.evidence().attribution.as_ref().map(|a| a.source),
        Some(Hop::Proxy)
    );

    // The origin generates this 403 and Squid relays it (origin.test from Squid's hosts file).
    let res = client
        .get(origin.url_with_host("origin.test", "/forbidden"))
        .await
        .expect("the origin's reply");
    assert_eq!(res.status(), 403);
    let a = res.attribution().clone();
    assert_eq!(a.source, Hop::Origin);
    assert_eq!(a.path, ResponsePath::AbsoluteForm);
    assert_eq!(a.squid_error, None);
    assert_eq!(a.server.as_deref(), Some(ORIGIN_SERVER));
    // Via is there too: it proves the path, not the author.
    assert!(
        a.via.as_deref().is_some_and(|v| v.contains(SQUID_HOSTNAME)),
        "{a:?}"
    );
    // The origin's own 403 keeps http.status.
    let e = res.error_for_status().unwrap_err();
    assert_eq!(e.code(), "http.status");
    assert_eq!(e.hop(), Some(Hop::Origin));
    assert_eq!(e.blame(), Blame::Origin);
    assert_eq!(e.phase(), Phase::Http);
    assert_eq!(e.evidence().status, Some(403));
    assert!(e.evidence().proxy_reply.is_none(), "not the proxy's reply");
    assert_eq!(origin.requests().len(), 1, "only the relayed request");
}
