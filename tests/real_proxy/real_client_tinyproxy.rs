//! proxyscope's [`Client`](proxyscope::Client) through a real tinyproxy on loopback: its
//! refusals (filter, `ConnectPort`, 407, the 401 it sends for wrong credentials, "Unable to
//! connect") come back with the stable code, hop, phase and the evidence tinyproxy produced
//! (`Server: tinyproxy/…`, the reason phrase that carries the cause, the challenge), a tunnel
//! carries TLS that verifies with a provider's private CA, and plain-http replies are attributed
//! to tinyproxy or to the origin.
//!
//! Observed with Debian bookworm's tinyproxy 1.11.1 (`tests/real_proxy_tinyproxy.rs` records the
//! raw replies). tinyproxy resolves through the system resolver, so these tests give it only
//! `127.0.0.1` destinations or names its filter refuses before any lookup. The tests skip
//! without tinyproxy and fail under `CI=true`.

use crate::support::client::{
    assert_connect_refused, assert_no_secret, builder, via, with_credentials,
};
use crate::support::{RealTinyproxy, TINYPROXY_VIA_NAME, TinyproxyConfig, start_or_skip};
use proxyscope::client::ResponsePath;
use proxyscope::testing::refused_addr;
use proxyscope::testing::{ChainMode, ORIGIN_SERVER, TestOrigin, TestPki};
use proxyscope::{Error, Hop, Phase, ProxySetting, Settings};

/// tinyproxy's own facts in a refusal: `Server: tinyproxy/<version>`, its template body, and
/// the classifier's deciding signal.
fn assert_tinyproxy_evidence(e: &Error, proxy: &RealTinyproxy, signal: &str) {
    let report = e.report();
    let reply = e
        .evidence()
        .proxy_reply
        .as_ref()
        .expect("the reply is kept");
    assert_eq!(
        reply.header("server"),
        Some(format!("tinyproxy/{}", proxy.version()).as_str()),
        "{report}"
    );
    assert!(
        reply
            .body_excerpt
            .as_deref()
            .is_some_and(|b| b.contains("tinyproxy")),
        "the template body is excerpted: {report}"
    );
    assert_eq!(e.evidence().cause.as_deref(), Some(signal), "{report}");
}

pub(crate) async fn tunnel_carries_tls_verified_with_the_providers_private_ca() {
    let pki = TestPki::new();
    let origin = TestOrigin::https(&pki, pki.localhost(), ChainMode::Full).await;
    let proxy = start_or_skip!(RealTinyproxy::start(TinyproxyConfig::new()));
    let client = builder(Settings::new().with_proxy(ProxySetting::Direct))
        .provider(
            "private",
            &origin.url(""),
            via(&proxy.url()).with_ca_file([pki.root_pem_path().to_path_buf()]),
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
    assert_eq!(info.peer, Some(proxy.addr()), "the TCP peer is tinyproxy");
    assert!(
        info.origin_tls.is_some(),
        "TLS with the origin, inside the tunnel"
    );
    assert_eq!(res.text().await.expect("body").trim_end(), "ok");
    assert_eq!(origin.requests().len(), 1);
    assert!(origin.requests()[0].tls);
}

pub(crate) async fn filtered_host_is_proxy_forbidden() {
    let proxy = start_or_skip!(RealTinyproxy::start(
        TinyproxyConfig::new().filter(r"(^|\.)blocked\.test$")
    ));
    let client = builder(via(&proxy.url())).build().expect("client");
    let e = client
        .get("https://api.blocked.test:8443/")
        .await
        .unwrap_err();
    // `403 Filtered`: the reason phrase is tinyproxy's only statement of the cause.
    assert_connect_refused(&e, "proxy.forbidden", &proxy.url(), false, 403, "Filtered");
    assert_tinyproxy_evidence(&e, &proxy, "tinyproxy: Filtered");
    assert_eq!(
        e.evidence().target.as_deref(),
        Some("api.blocked.test:8443")
    );
}

pub(crate) async fn connect_to_a_port_outside_connect_port_is_proxy_forbidden() {
    let proxy = start_or_skip!(RealTinyproxy::start(
        TinyproxyConfig::new().connect_port(443)
    ));
    let client = builder(via(&proxy.url())).build().expect("client");
    let e = client.get("https://127.0.0.1:25/").await.unwrap_err();
    assert_connect_refused(
        &e,
        "proxy.forbidden",
        &proxy.url(),
        false,
        403,
        "Access violation",
    );
    assert_tinyproxy_evidence(&e, &proxy, "tinyproxy: Access violation");
}

pub(crate) async fn missing_credentials_are_auth_required_with_basic_and_the_realm() {
    let proxy = start_or_skip!(RealTinyproxy::start(
        TinyproxyConfig::new().basic_auth("alice", "correct-horse")
    ));
    let client = builder(via(&proxy.url())).build().expect("client");
    let e = client.get("https://127.0.0.1:8443/").await.unwrap_err();
    assert_connect_refused(
        &e,
        "proxy.auth_required",
        &proxy.url(),
        false,
        407,
        "Proxy Authentication Required",
    );
    assert_tinyproxy_evidence(&e, &proxy, "status 407");
    assert_eq!(e.evidence().auth_schemes, ["Basic"]);
    assert_eq!(e.evidence().auth_realm.as_deref(), Some("Tinyproxy"));
}

/// tinyproxy 1.11.1 answers wrong credentials with `401 Unauthorized` and `WWW-Authenticate`:
/// an origin-style challenge, but a reply to CONNECT is always the proxy's.
pub(crate) async fn wrong_credentials_get_401_yet_are_auth_rejected_and_right_ones_reach_the_origin()
 {
    let pki = TestPki::new();
    let origin = TestOrigin::https(&pki, pki.localhost(), ChainMode::Full).await;
    let proxy = start_or_skip!(RealTinyproxy::start(
        TinyproxyConfig::new().basic_auth("alice", "correct-horse")
    ));
    let ca = [pki.root_pem_path().to_path_buf()];

    let wrong = with_credentials(&proxy.url(), "alice", "battery-staple");
    let client = builder(via(&wrong).with_ca_file(ca.clone()))
        .build()
        .expect("client");
    let e = client.get(origin.url("/")).await.unwrap_err();
    assert_connect_refused(
        &e,
        "proxy.auth_rejected",
        &proxy.url(),
        true,
        401,
        "Unauthorized",
    );
    assert_tinyproxy_evidence(&e, &proxy, "status 401");
    let reply = e.evidence().proxy_reply.as_ref().expect("reply");
    assert_eq!(
        reply.header("www-authenticate"),
        Some("Basic realm=\"Tinyproxy\"")
    );
    assert_eq!(reply.header("proxy-authenticate"), None);
    assert_eq!(e.evidence().auth_schemes, ["Basic"]);
    assert_eq!(e.evidence().auth_realm.as_deref(), Some("Tinyproxy"));
    assert_no_secret(&e, "alice", "battery-staple");
    assert!(origin.requests().is_empty());

    let right = with_credentials(&proxy.url(), "alice", "correct-horse");
    let client = builder(via(&right).with_ca_file(ca))
        .build()
        .expect("client");
    let res = client.get(origin.url("/")).await.expect("authenticated");
    assert_eq!(res.status(), 200);
    assert_eq!(res.attribution().source, Hop::Origin);
    assert_eq!(origin.requests().len(), 1);
}

pub(crate) async fn unable_to_connect_is_proxy_upstream() {
    let proxy = start_or_skip!(RealTinyproxy::start(TinyproxyConfig::new()));
    let client = builder(via(&proxy.url())).build().expect("client");
    let port = refused_addr().port();
    let e = client
        .get(format!("https://127.0.0.1:{port}/"))
        .await
        .unwrap_err();
    // `500 Unable to connect`: the destination refused tinyproxy, not tinyproxy us.
    assert_connect_refused(
        &e,
        "proxy.upstream",
        &proxy.url(),
        false,
        500,
        "Unable to connect",
    );
    assert_tinyproxy_evidence(&e, &proxy, "tinyproxy: Unable to connect");

    // Plain http: the same failure as a response, attributed to tinyproxy, with its reason.
    let res = client
        .get(format!("http://127.0.0.1:{port}/"))
        .await
        .expect("a reply");
    assert_eq!(res.status(), 500);
    assert_eq!(res.reason_phrase(), "Unable to connect");
    assert!(res.attribution().is_proxy_generated());
    // The same code as the refusal to CONNECT above.
    let e = res.error_for_status().unwrap_err();
    assert_eq!(e.code(), "proxy.upstream", "{}", e.report());
    assert_eq!(e.hop(), Some(Hop::Proxy));
    assert_eq!(e.blame(), proxyscope::Blame::Origin);
    assert_eq!(e.phase(), Phase::Http);
    assert!(
        e.to_string()
            .contains("could not connect to it (tinyproxy: Unable to connect)"),
        "{e}"
    );
    let reply = e
        .evidence()
        .proxy_reply
        .as_ref()
        .expect("tinyproxy's reply");
    assert_eq!(reply.status, 500);
    assert_eq!(reply.reason, "Unable to connect");
}

pub(crate) async fn plain_http_403_from_tinyproxy_and_from_the_origin_name_different_hops() {
    let origin = TestOrigin::http().await;
    let proxy = start_or_skip!(RealTinyproxy::start(
        TinyproxyConfig::new().filter(r"(^|\.)blocked\.test$")
    ));
    let client = builder(via(&proxy.url())).build().expect("client");
    let server = format!("tinyproxy/{}", proxy.version());

    // tinyproxy generates this 403: its filter matches.
    let res = client
        .get("http://www.blocked.test/")
        .await
        .expect("tinyproxy's reply");
    assert_eq!(res.status(), 403);
    assert_eq!(res.reason_phrase(), "Filtered");
    let a = res.attribution().clone();
    assert_eq!(a.source, Hop::Proxy);
    assert_eq!(a.path, ResponsePath::AbsoluteForm);
    assert_eq!(a.server.as_deref(), Some(server.as_str()));
    let e = res.error_for_status().unwrap_err();
    assert_eq!(e.code(), "proxy.forbidden", "{}", e.report());
    assert_eq!(e.hop(), Some(Hop::Proxy));
    assert_eq!(e.blame(), proxyscope::Blame::Proxy);
    assert_eq!(e.phase(), Phase::Http);
    assert_eq!(e.evidence().status, Some(403));
    assert!(
        e.to_string()
            .contains("denies access to www.blocked.test:80"),
        "{e}"
    );
    let reply = e
        .evidence()
        .proxy_reply
        .as_ref()
        .expect("tinyproxy's reply");
    assert_eq!(reply.status, 403);
    assert_eq!(reply.reason, "Filtered");
    assert_eq!(reply.header("server"), Some(server.as_str()));

    // The origin generates this 403 and tinyproxy relays it.
    let res = client
        .get(origin.url("/forbidden"))
        .await
        .expect("the origin's reply");
    assert_eq!(res.status(), 403);
    let a = res.attribution().clone();
    assert_eq!(a.source, Hop::Origin);
    assert_eq!(a.path, ResponsePath::AbsoluteForm);
    assert_eq!(a.server.as_deref(), Some(ORIGIN_SERVER));
    // tinyproxy adds Via to what it relays: it proves the path, not the author.
    assert_eq!(
        a.via.as_deref(),
        Some(format!("1.1 {TINYPROXY_VIA_NAME} ({server})").as_str())
    );
    let e = res.error_for_status().unwrap_err();
    assert_eq!(e.code(), "http.status");
    assert_eq!(e.hop(), Some(Hop::Origin));
    assert_eq!(e.phase(), Phase::Http);
    assert_eq!(e.evidence().status, Some(403));
    assert!(e.evidence().proxy_reply.is_none(), "not the proxy's reply");
    assert_eq!(origin.requests().len(), 1, "only the relayed request");
}
