//! Secrets on the wire and in what peers send back:
//!
//! - userinfo in a request URL is sent as the origin's `Authorization: Basic`, never in the
//!   request target (direct, absolute-form through a proxy, tunnelled), and an explicit
//!   `Authorization` wins;
//! - secret query values are sent but never printed;
//! - a proxy that echoes the request into its error page (the harness's `EchoRequest`), and an
//!   origin that echoes the request's headers, leave no credential the client sent in any
//!   error, check result or rendering — in clear, percent-encoded or base64 form.
//!
//! The harness records the request line and headers as they arrived, so the wire assertions
//! read what was really sent.

use std::time::Duration;

use base64::Engine as _;
use proxyscope::connect::Resolver;
use proxyscope::probe::{Check, Report, Runner, prometheus, text};
use proxyscope::testing::{ChainMode, Policy, TestOrigin, TestPki, TestProxy};
use proxyscope::{Client, EnvSnapshot, Error, Phase, ProxySetting, Settings};

/// The origin's credentials, as the user wrote them in the URL (percent-encoded) and as sent.
const ORIGIN_USER: &str = "0r1g-us3r";
const ORIGIN_PASS: &str = "Ok/Q9x@Tm:P v4";
const ORIGIN_PASS_IN_URL: &str = "Ok%2FQ9x%40Tm%3AP%20v4";
/// The proxy's credentials.
const PROXY_USER: &str = "pr0xy-us3r";
const PROXY_PASS: &str = "Pz#W8k Y,j3";
const PROXY_PASS_IN_URL: &str = "Pz%23W8k%20Y%2Cj3";
/// A secret query value and a bearer token.
const QUERY_KEY: &str = "Qk7-Zr2mN";
const BEARER: &str = "Bt5-Hq8wLx";
const COOKIE: &str = "Ck4-Vn9pRs";

fn b64(s: &str) -> String {
    base64::engine::general_purpose::STANDARD.encode(s)
}

/// Every form of every secret of this file that must never be printed.
fn secret_forms() -> Vec<String> {
    let mut out = Vec::new();
    for (user, pass, in_url) in [
        (ORIGIN_USER, ORIGIN_PASS, ORIGIN_PASS_IN_URL),
        (PROXY_USER, PROXY_PASS, PROXY_PASS_IN_URL),
    ] {
        out.push(pass.to_owned());
        out.push(format!("{user}:{pass}"));
        out.push(in_url.to_owned());
        out.push(in_url.to_ascii_lowercase());
        out.push(b64(&format!("{user}:{pass}")));
    }
    // Fragments of the passwords between their special characters.
    out.extend(["Q9x", "Tm", "v4", "W8k", "j3"].map(str::to_owned));
    out.extend([QUERY_KEY, BEARER, COOKIE].map(str::to_owned));
    out
}

fn assert_clean(label: &str, text: &str) {
    for s in secret_forms() {
        assert!(!text.contains(&s), "{label}: `{s}` in\n{text}");
    }
}

fn error_texts(e: &Error) -> String {
    let mut out = format!(
        "{e}\n{e:?}\n{}\n{}\n{:?}",
        e.report(),
        serde_json::to_string(e).unwrap(),
        e.evidence()
    );
    if let Some(r) = e.route() {
        out.push_str(&r.explain());
    }
    out
}

fn resolver() -> Resolver {
    Resolver::pinned("localhost", ["127.0.0.1".parse().unwrap()])
}

fn client(proxy: Option<&str>) -> Client {
    let setting = match proxy {
        Some(p) => ProxySetting::parse(p).unwrap(),
        None => ProxySetting::Direct,
    };
    Client::builder()
        .global(
            Settings::new()
                .with_proxy(setting)
                .with_timeout(Phase::Proxy, Duration::from_secs(5))
                .with_timeout(Phase::Http, Duration::from_secs(5)),
        )
        .env(EnvSnapshot::from_pairs(Vec::<(String, String)>::new()))
        .resolver(resolver())
        .build()
        .unwrap()
}

fn origin_url(origin: &TestOrigin, path: &str) -> String {
    origin.url_with_host("localhost", path).replacen(
        "://",
        &format!("://{ORIGIN_USER}:{ORIGIN_PASS_IN_URL}@"),
        1,
    )
}

fn basic(user: &str, pass: &str) -> String {
    proxyscope::testing::basic_auth(user, pass)
}

#[tokio::test]
async fn userinfo_is_sent_as_basic_credentials_and_never_in_the_request_target() {
    let origin = TestOrigin::http().await;
    let proxy = TestProxy::builder().start().await;
    let path = format!("/echo-raw?key={QUERY_KEY}&q=1");
    let url = origin_url(&origin, &path);
    let want_auth = basic(ORIGIN_USER, ORIGIN_PASS);

    // Direct: origin-form target, Basic credentials.
    let res = client(None).get(&url).await.unwrap();
    assert_eq!(res.status(), 200);
    assert_clean(
        "direct route",
        &format!("{:?} {}", res.route(), res.route().explain()),
    );
    let seen = origin.requests().pop().unwrap();
    assert_eq!(seen.target, path);
    assert_eq!(seen.headers["authorization"].to_str().unwrap(), want_auth);

    // Absolute-form through a proxy: the target the proxy receives carries no userinfo, but the
    // secret query value is still sent.
    let via = client(Some(&proxy.url()));
    let res = via.get(&url).await.unwrap();
    assert_eq!(res.status(), 200);
    let r = res.route();
    assert_clean(
        "absolute-form route",
        &format!(
            "{r:?} {} {}",
            r.explain(),
            serde_json::to_string(r).unwrap()
        ),
    );
    let sent = proxy.requests().pop().unwrap();
    assert_eq!(sent.method, "GET");
    assert_eq!(
        sent.target,
        format!("http://localhost:{}{path}", origin.port()),
        "the request target must not carry userinfo"
    );
    assert_eq!(sent.headers["authorization"].to_str().unwrap(), want_auth);
    assert!(sent.target.contains(QUERY_KEY), "the query is sent as is");
    let seen = origin.requests().pop().unwrap();
    assert_eq!(seen.headers["authorization"].to_str().unwrap(), want_auth);

    // An explicit Authorization header wins over the URL's userinfo.
    let req = http::Request::get(url.as_str())
        .header("authorization", format!("Bearer {BEARER}"))
        .body(bytes::Bytes::new())
        .unwrap();
    let res = via.execute(None, req).await.unwrap();
    assert_eq!(res.status(), 200);
    let seen = origin.requests().pop().unwrap();
    assert_eq!(
        seen.headers["authorization"].to_str().unwrap(),
        format!("Bearer {BEARER}")
    );

    // Tunnelled: CONNECT names only host:port, the credentials travel inside TLS.
    let pki = TestPki::new();
    let tls_origin = TestOrigin::https(&pki, pki.localhost(), ChainMode::Full).await;
    let tunnelled = Client::builder()
        .global(
            Settings::new()
                .with_proxy(proxy.url().parse::<ProxySetting>().unwrap())
                .with_ca_file([pki.root_pem_path().to_path_buf()]),
        )
        .env(EnvSnapshot::from_pairs(Vec::<(String, String)>::new()))
        .resolver(resolver())
        .build()
        .unwrap();
    let res = tunnelled.get(origin_url(&tls_origin, &path)).await.unwrap();
    assert_eq!(res.status(), 200);
    let connect = proxy.connects().pop().unwrap();
    assert_eq!(connect.target, format!("localhost:{}", tls_origin.port()));
    let seen = tls_origin.requests().pop().unwrap();
    assert_eq!(seen.target, path);
    assert_eq!(seen.headers["authorization"].to_str().unwrap(), want_auth);
}

#[tokio::test]
async fn a_proxy_that_echoes_the_request_gets_no_credential_into_the_evidence() {
    let pki = TestPki::new();
    let origin = TestOrigin::https(&pki, pki.localhost(), ChainMode::Full).await;
    let echo = TestProxy::builder()
        .policy(Policy::EchoRequest(403))
        .start()
        .await;
    let proxy_url = format!("http://{PROXY_USER}:{PROXY_PASS_IN_URL}@{}", echo.addr());
    let c = client(Some(&proxy_url));

    // CONNECT: the refusal's body quotes Proxy-Authorization; the excerpt keeps the page, not
    // the credentials.
    let e = c
        .get(origin_url(&origin, &format!("/?key={QUERY_KEY}")))
        .await
        .unwrap_err();
    assert_eq!(e.code(), "proxy.forbidden");
    let connect = echo.connects().pop().unwrap();
    assert_eq!(
        connect.headers["proxy-authorization"].to_str().unwrap(),
        basic(PROXY_USER, PROXY_PASS),
        "the credentials were sent, so the page did echo them"
    );
    let excerpt = e
        .evidence()
        .proxy_reply
        .as_ref()
        .and_then(|r| r.body_excerpt.clone())
        .unwrap_or_default();
    assert!(
        excerpt
            .to_ascii_lowercase()
            .contains("proxy-authorization: basic ***"),
        "the echo is kept, scrubbed: {excerpt}"
    );
    assert_clean("CONNECT refusal", &error_texts(&e));

    // Absolute-form: the request line (with the secret query value), Authorization and Cookie
    // are echoed too.
    let req = http::Request::get(format!(
        "http://localhost:{}/x?key={QUERY_KEY}&access_token={BEARER}",
        origin.port()
    ))
    .header("cookie", format!("session={COOKIE}"))
    .header("authorization", format!("Bearer {BEARER}"))
    .body(bytes::Bytes::new())
    .unwrap();
    let res = c.execute(None, req).await.unwrap();
    assert_eq!(res.status(), 403);
    assert_clean("absolute-form route", &res.route().explain());
    let e = res.error_for_status().unwrap_err();
    assert_clean("absolute-form refusal", &error_texts(&e));
    let sent = echo.requests().pop().unwrap();
    assert!(sent.target.contains(QUERY_KEY) && !sent.target.contains('@'));
}

#[tokio::test]
async fn checks_through_echoing_peers_print_no_credential_in_any_format() {
    let pki = TestPki::new();
    let tls_origin = TestOrigin::https(&pki, pki.localhost(), ChainMode::Full).await;
    let origin = TestOrigin::http().await;
    let echo = TestProxy::builder()
        .policy(Policy::EchoRequest(502))
        .start()
        .await;
    let forwarding = TestProxy::builder()
        .policy(Policy::require_basic(PROXY_USER, PROXY_PASS, "r"))
        .start()
        .await;
    let creds = |addr| format!("http://{PROXY_USER}:{PROXY_PASS_IN_URL}@{addr}");
    let layer = |proxy: &str| {
        Settings::new()
            .with_proxy(proxy.parse::<ProxySetting>().unwrap())
            .with_ca_file([pki.root_pem_path().to_path_buf()])
    };
    let echo_base = origin_url(&tls_origin, &format!("/?key={QUERY_KEY}"));
    let origin_base = origin_url(&origin, &format!("/echo-raw?key={QUERY_KEY}"));
    let client = Client::builder()
        .provider("echoing-proxy", &echo_base, layer(&creds(echo.addr())))
        .provider(
            "echoing-origin",
            &origin_base,
            layer(&creds(forwarding.addr())),
        )
        .env(EnvSnapshot::from_pairs(Vec::<(String, String)>::new()))
        .resolver(resolver())
        .build()
        .unwrap();
    let checks = vec![
        Check::default_for("echoing-proxy", &echo_base),
        // The origin answers with the headers it received (Authorization, Proxy-Authorization
        // in absolute-form) and the target with the query: the body expectation fails and
        // keeps an excerpt of it.
        Check::new("echoing-origin", "body", &origin_base).body_contains("never there"),
    ];
    let report: Report = Runner::new(client)
        .timeout(Duration::from_secs(10))
        .run(&checks)
        .await;
    let codes: Vec<&str> = report
        .checks
        .iter()
        .filter_map(|c| c.error.as_ref().map(|e| e.code()))
        .collect();
    assert_eq!(codes, ["proxy.upstream", "http.body"], "{report:?}");
    let body_error = report.checks[1].error.as_ref().unwrap();
    assert!(
        body_error
            .evidence
            .expected
            .as_deref()
            .is_some_and(|x| x.contains("***")),
        "the origin's echo reached the excerpt, scrubbed: {:?}",
        body_error.evidence.expected
    );
    for (label, rendered) in [
        ("json", report.to_json().to_string()),
        ("text", text::render(&report, false)),
        ("prometheus", prometheus::render(&report)),
        ("debug", format!("{report:?}")),
    ] {
        assert_clean(label, &rendered);
    }
}
