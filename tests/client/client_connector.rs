//! The connector alone, under hyper-util's legacy client as a user would put it there
//! (`Client::connector`): through an authenticated proxy over plain http (absolute-form, where
//! only `Connector::prepare` or `ConnectorLayer` can add the credentials) and https (CONNECT,
//! done by the connector), a stalling proxy timing out with the right code on both paths, and
//! errors recovered from hyper's with `Error::from_hyper`.

use std::time::Duration;

use bytes::Bytes;
use http_body_util::Empty;
use hyper_util::client::legacy::Client as HyperClient;
use hyper_util::rt::{TokioExecutor, TokioTimer};
use tower_layer::Layer as _;
use tower_service::Service as _;

use proxyscope::connect::Connector;
use proxyscope::credentials::{ProxyAuth, SecretSource};
use proxyscope::testing::{ChainMode, Policy, TestOrigin, TestPki, TestProxy, basic_auth};
use proxyscope::{Client, EnvSnapshot, Error, Hop, Phase, ProxySetting, Settings};

const USER: &str = "svc";
const PASS: &str = "c0nnector-pw";

type Hyper = HyperClient<Connector, Empty<Bytes>>;

fn hyper(connector: &Connector) -> Hyper {
    HyperClient::builder(TokioExecutor::new())
        .timer(TokioTimer::new())
        .build(connector.clone())
}

fn get(url: &str) -> http::Request<Empty<Bytes>> {
    http::Request::get(url).body(Empty::new()).unwrap()
}

/// A client through `proxy` with the password in the environment and a 1 s request timeout.
fn client(proxy: &str, pki: &TestPki) -> Client {
    client_with(proxy, pki, true)
}

/// [`client`], offering HTTP/2 to origins or not.
fn client_with(proxy: &str, pki: &TestPki, http2: bool) -> Client {
    let layer = Settings::new()
        .with_proxy(ProxySetting::parse(proxy).unwrap())
        .with_ca_file([pki.root_pem_path()])
        .with_timeout(Phase::Connect, Duration::from_secs(2))
        .with_timeout(Phase::Proxy, Duration::from_secs(1))
        .with_timeout(Phase::Http, Duration::from_secs(1))
        .with_proxy_auth(ProxyAuth::new(USER, SecretSource::env("EGRESS_PW")))
        .with_proxy_header("X-Egress-Tag", "connector");
    Client::builder()
        .global(layer)
        .env(EnvSnapshot::from_pairs([("EGRESS_PW", PASS)]))
        .http2(http2)
        .build()
        .unwrap()
}

#[tokio::test]
async fn plain_http_through_an_authenticated_proxy_needs_the_request_hook() {
    let pki = TestPki::new();
    let proxy = TestProxy::builder()
        .policy(Policy::require_basic(USER, PASS, "egress"))
        .start()
        .await;
    let origin = TestOrigin::http().await;
    let c = client(&proxy.url(), &pki);
    let connector = c.connector(None).unwrap();
    let url = origin.url("/");

    // The connector alone only makes the connection: the proxy sees no credentials.
    let res = hyper(connector).request(get(&url)).await.unwrap();
    assert_eq!(res.status(), 407);

    // `prepare` adds them (and the proxy headers) to the request.
    let mut req = get(&url);
    let route = connector.prepare(&mut req).unwrap();
    assert!(route.proxy().is_some());
    assert!(req.headers()["proxy-authorization"].is_sensitive());
    let res = hyper(connector).request(req).await.unwrap();
    assert_eq!(res.status(), 200);

    // The layer does it for every request.
    let mut svc = connector.layer().layer(hyper(connector));
    let res = svc.call(get(&url)).await.unwrap();
    assert_eq!(res.status(), 200);

    let seen = proxy.requests();
    let auth = |i: usize| seen[i].headers.get("proxy-authorization").cloned();
    assert_eq!(auth(0), None);
    assert_eq!(auth(1).unwrap(), basic_auth(USER, PASS).as_str());
    assert_eq!(auth(2).unwrap(), basic_auth(USER, PASS).as_str());
    assert_eq!(seen[2].headers["x-egress-tag"], "connector");
}

#[tokio::test]
async fn https_through_an_authenticated_proxy_works_with_the_connector_alone() {
    let pki = TestPki::new();
    let proxy = TestProxy::builder()
        .policy(Policy::require_basic(USER, PASS, "egress"))
        .start()
        .await;
    let origin = TestOrigin::https(&pki, pki.localhost(), ChainMode::Full).await;
    let c = client(&proxy.url(), &pki);
    let res = hyper(c.connector(None).unwrap())
        .request(get(&origin.url_with_host("localhost", "/")))
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let connect = &proxy.connects()[0];
    assert_eq!(
        connect.headers.get("proxy-authorization").unwrap(),
        basic_auth(USER, PASS).as_str()
    );
    assert_eq!(connect.headers["x-egress-tag"], "connector");
}

/// Asserts the first-byte deadline's error: `http.timeout` at `hop`, phase `http`, the 1 s
/// request timeout, `target`, the proxy (without credentials), the route through it and the
/// connection's timings.
fn assert_first_byte_timeout(e: &Error, hop: Hop, target: &str, proxy: &TestProxy) {
    assert_eq!(e.code(), "http.timeout", "{}", e.report());
    assert_eq!(
        (e.hop(), e.phase()),
        (Some(hop), Phase::Http),
        "{}",
        e.report()
    );
    assert_eq!(e.evidence().timeout, Some(Duration::from_secs(1)));
    assert_eq!(e.evidence().target.as_deref(), Some(target));
    assert_eq!(e.evidence().proxy.as_deref(), Some(proxy.url().as_str()));
    assert!(e.route().is_some_and(|r| r.proxy().is_some()));
    // The connection's phases before the wait are evidence too.
    assert!(e.evidence().timings.is_some_and(|t| t.connect.is_some()));
}

/// Asserts the CONNECT handshake's timeout: `proxy.timeout` at the proxy hop, phase `proxy`.
fn assert_connect_timeout(e: &Error, proxy: &TestProxy) {
    assert_eq!(e.code(), "proxy.timeout", "{}", e.report());
    assert_eq!((e.hop(), e.phase()), (Some(Hop::Proxy), Phase::Proxy));
    assert_eq!(e.evidence().timeout, Some(Duration::from_secs(1)));
    assert_eq!(e.evidence().target.as_deref(), Some("origin.test:443"));
    assert_eq!(e.evidence().proxy.as_deref(), Some(proxy.url().as_str()));
    // TCP to the proxy was made: its timing is part of the evidence.
    assert!(e.evidence().timings.is_some_and(|t| t.connect.is_some()));
}

#[tokio::test]
async fn a_stalling_proxy_times_out_with_the_right_code_under_a_plain_hyper_client() {
    let pki = TestPki::new();
    let proxy = TestProxy::builder().policy(Policy::Stall).start().await;
    let c = client(&proxy.url(), &pki);
    let connector = c.connector(None).unwrap();

    // Plain http: the connection is made, the request sent, no byte comes back. The
    // connection's first-byte deadline (timeouts.request) ends it, with nothing around the
    // hyper client to enforce a timeout.
    let started = std::time::Instant::now();
    let err = hyper(connector)
        .request(get("http://origin.test/"))
        .await
        .unwrap_err();
    let waited = started.elapsed();
    assert!(
        waited >= Duration::from_secs(1) && waited < Duration::from_secs(10),
        "{waited:?}"
    );
    assert_first_byte_timeout(
        &Error::from_hyper(&err),
        Hop::Proxy,
        "origin.test:80",
        &proxy,
    );

    // https: the CONNECT handshake has its own timeout, reported at the proxy hop.
    let err = hyper(connector)
        .request(get("https://origin.test/"))
        .await
        .unwrap_err();
    assert_connect_timeout(&Error::from_hyper(&err), &proxy);

    // Through the layer: the same errors, already proxyscope's.
    let mut svc = connector.layer().layer(hyper(connector));
    let e = svc.call(get("http://origin.test/")).await.unwrap_err();
    assert_first_byte_timeout(&e, Hop::Proxy, "origin.test:80", &proxy);
    let e = svc.call(get("https://origin.test/")).await.unwrap_err();
    assert_connect_timeout(&e, &proxy);
    assert_eq!(proxy.accepted(), 4);
}

#[tokio::test]
async fn a_stalling_origin_behind_connect_times_out_under_a_plain_hyper_client() {
    // The tunnel is made (credentials from the environment), TLS too; then the origin keeps
    // quiet. HTTP/1.1 (the connection's first-byte deadline guards HTTP/1 only: hyper's
    // HTTP/2 reads and writes on an idle connection, see the docs).
    let pki = TestPki::new();
    let proxy = TestProxy::builder()
        .policy(Policy::require_basic(USER, PASS, "egress"))
        .start()
        .await;
    let origin = TestOrigin::https(&pki, pki.localhost(), ChainMode::Full).await;
    let c = client_with(&proxy.url(), &pki, false);
    let connector = c.connector(None).unwrap();
    let url = origin.url_with_host("localhost", "/slow?ms=5000");
    let target = format!("localhost:{}", origin.addr().port());

    let started = std::time::Instant::now();
    let err = hyper(connector).request(get(&url)).await.unwrap_err();
    assert!(started.elapsed() < Duration::from_secs(5));
    let e = Error::from_hyper(&err);
    assert_first_byte_timeout(&e, Hop::Origin, &target, &proxy);
    // The tunnel and the handshake were done before the wait began.
    let t = e.evidence().timings.expect("timings");
    assert!(t.proxy.is_some() && t.tls.is_some(), "{t:?}");

    let mut svc = connector.layer().layer(hyper(connector));
    let e = svc.call(get(&url)).await.unwrap_err();
    assert_first_byte_timeout(&e, Hop::Origin, &target, &proxy);
    assert_eq!(proxy.connects().len(), 2);
}

#[tokio::test]
async fn a_slow_origin_under_http2_times_out_through_the_layer() {
    // hyper's HTTP/2 hides the connection's own deadline; the layer's request timeout holds.
    let pki = TestPki::new();
    let origin = TestOrigin::https(&pki, pki.localhost(), ChainMode::Full).await;
    let layer = Settings::new()
        .with_proxy(ProxySetting::Direct)
        .with_ca_file([pki.root_pem_path()])
        .with_timeout(Phase::Http, Duration::from_millis(300));
    let c = Client::builder()
        .global(layer)
        .env(EnvSnapshot::default())
        .build()
        .unwrap();
    let connector = c.connector(None).unwrap();
    let mut svc = connector.layer().layer(hyper(connector));
    let e = svc
        .call(get(&origin.url_with_host("localhost", "/slow?ms=5000")))
        .await
        .unwrap_err();
    assert_eq!(e.code(), "http.timeout", "{}", e.report());
    assert_eq!((e.hop(), e.phase()), (Some(Hop::Origin), Phase::Http));
    assert_eq!(e.evidence().timeout, Some(Duration::from_millis(300)));
}

#[tokio::test]
async fn client_connector_names_providers() {
    let c = Client::builder()
        .provider("partner", "https://partner.test", Settings::new())
        .env(EnvSnapshot::default())
        .build()
        .unwrap();
    assert_eq!(
        c.connector(Some("partner")).unwrap().provider(),
        Some("partner")
    );
    assert_eq!(c.connector(None).unwrap().provider(), None);
    let e = c.connector(Some("nope")).unwrap_err();
    assert_eq!(e.code(), "config.invalid");
}

#[tokio::test]
async fn public_signatures_take_the_reexported_types() {
    // Only proxyscope's re-exports are named here: this compiles only if they are the very
    // types the signatures use (a second copy of a crate would be a different type).
    use proxyscope::rustls::pki_types::CertificateDer;
    let pki = TestPki::new();
    let origin = TestOrigin::https(&pki, pki.localhost(), ChainMode::Full).await;
    let root: CertificateDer<'static> = pki.root().der().clone();
    let c = Client::builder()
        .global(
            Settings::new()
                .with_proxy(ProxySetting::Direct)
                .with_roots(proxyscope::Roots::None)
                .with_ca_certs([&root]),
        )
        .env(EnvSnapshot::default())
        .build()
        .unwrap();
    let url = proxyscope::url::Url::parse(&origin.url_with_host("localhost", "/")).unwrap();
    assert!(c.route(None, &url).unwrap().is_direct());
    let req = proxyscope::http::Request::get(url.as_str())
        .body(Vec::<u8>::new())
        .unwrap();
    let body: proxyscope::bytes::Bytes = c.execute(None, req).await.unwrap().bytes().await.unwrap();
    assert!(!body.is_empty());
    let tls: std::sync::Arc<proxyscope::rustls::ClientConfig> =
        c.connector(None).unwrap().origin_tls().config();
    assert!(!tls.alpn_protocols.is_empty());
}

#[tokio::test]
async fn diagnose_runs_the_connection_path_without_a_request() {
    let pki = TestPki::new();
    let origin = TestOrigin::https(&pki, pki.localhost(), ChainMode::Full).await;
    let proxy = TestProxy::builder()
        .policy(Policy::require_basic(USER, PASS, "egress"))
        .start()
        .await;
    let c = client(&proxy.url(), &pki);
    let url = origin.url_with_host("localhost", "/never-requested");

    // The path works: tunnel (with proxy_auth's credentials) and TLS, and what was learnt.
    let info = c.diagnose(None, &url).await.unwrap();
    assert!(info.tunnel && !info.absolute_form);
    assert!(info.route.proxy().is_some());
    assert!(info.timings.proxy.is_some() && info.timings.tls.is_some());
    assert!(info.origin_tls.is_some());
    assert_eq!(proxy.connects().len(), 1);
    // No request was sent through the tunnel.
    assert!(origin.requests().is_empty());

    // The path fails: the same structured error a request would get.
    let denied = Client::builder()
        .global(
            Settings::new()
                .with_proxy(ProxySetting::parse(&proxy.url()).unwrap())
                .with_ca_file([pki.root_pem_path()]),
        )
        .env(EnvSnapshot::default())
        .build()
        .unwrap();
    let e = denied.diagnose(None, &url).await.unwrap_err();
    assert_eq!(e.code(), "proxy.auth_required", "{}", e.report());
    assert_eq!((e.hop(), e.phase()), (Some(Hop::Proxy), Phase::Proxy));
    assert_eq!(
        e.evidence().proxy_reply.as_ref().map(|r| r.status),
        Some(407)
    );
    assert_eq!(e.evidence().auth_realm.as_deref(), Some("egress"));
    assert!(e.route().is_some_and(|r| r.proxy().is_some()));

    // Bad input: a URL that is not http(s), an unknown provider.
    let e = c.diagnose(None, "ftp://files.test/").await.unwrap_err();
    assert_eq!(e.code(), "request.url");
    let e = c.diagnose(Some("nope"), &url).await.unwrap_err();
    assert_eq!(e.code(), "config.invalid");
    assert!(origin.requests().is_empty());
}
