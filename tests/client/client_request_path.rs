//! The request path: the route a request takes is decided once, from the request's `Uri` as it
//! is, and the request timeout runs from the moment a connection is in hand — connecting has
//! its own per-phase timeouts.

use std::time::Duration;

use proxyscope::connect::Resolver;
use proxyscope::testing::TestOrigin;
use proxyscope::{Client, EnvSnapshot, Hop, Phase, Settings};

use crate::common::resolve::SlowResolver;

fn slow_connect_client() -> Client {
    Client::builder()
        .global(
            Settings::new()
                .with_timeout(Phase::Connect, Duration::from_secs(5))
                .with_timeout(Phase::Http, Duration::from_millis(300)),
        )
        .env(EnvSnapshot::from_pairs(Vec::<(String, String)>::new()))
        .resolver(Resolver::custom(SlowResolver(Duration::from_millis(900))))
        .build()
        .unwrap()
}

#[tokio::test]
async fn a_slow_connect_does_not_use_up_the_request_timeout() {
    let origin = TestOrigin::http().await;
    let client = slow_connect_client();
    let url = format!("http://origin.test:{}/", origin.port());
    let res = client
        .get(url.as_str())
        .await
        .unwrap_or_else(|e| panic!("{}", e.report()));
    assert!(res.status().is_success());
    origin.shutdown().await;
}

#[tokio::test]
async fn a_stalled_reply_after_a_slow_connect_is_http_timeout() {
    let origin = TestOrigin::http().await;
    let client = slow_connect_client();
    let url = format!("http://origin.test:{}/slow?ms=5000", origin.port());
    let e = client
        .get(url.as_str())
        .await
        .expect_err("the reply stalls");
    assert_eq!(e.code(), "http.timeout", "{}", e.report());
    assert_eq!(e.hop(), Some(Hop::Origin));
    assert_eq!(e.phase(), Phase::Http);
    assert_eq!(e.evidence().timeout, Some(Duration::from_millis(300)));
    assert_eq!(
        e.evidence().target.as_deref(),
        Some(format!("origin.test:{}", origin.port()).as_str())
    );
    assert!(e.route().is_some_and(|r| r.is_direct()));
    origin.shutdown().await;
}

/// `Client::route` takes the request's own `Uri`, a `url::Url` or text, and they agree; bad
/// ones are `request.url` before any I/O.
#[test]
fn routes_from_a_uri_a_url_and_text_agree() {
    let client = Client::builder()
        .global(
            Settings::new()
                .with_proxy(proxyscope::ProxySetting::parse("http://p.test:3128").unwrap()),
        )
        .env(EnvSnapshot::from_pairs([(
            "no_proxy",
            "internal.test,10.0.0.0/8",
        )]))
        .build()
        .unwrap();
    for (text, direct) in [
        ("https://api.internal.test/x?y=1", true),
        ("https://API.Internal.TEST./x", true),
        ("http://10.1.2.3:8080/", true),
        ("http://[::1]/", false),
        ("https://u:pw@elsewhere.test/", false),
    ] {
        let uri: http::Uri = text.parse().unwrap();
        let url = url::Url::parse(text).unwrap();
        let routes = [
            client.route(None, &uri).unwrap(),
            client.route(None, &url).unwrap(),
            client.route(None, text).unwrap(),
        ];
        for r in &routes {
            assert_eq!(r.is_direct(), direct, "{text}");
            assert_eq!(r, &routes[0], "{text}");
            assert!(!r.url().contains("pw"), "{text}");
        }
    }
    for bad in [
        "/relative",
        "ftp://a.test/",
        "http://a.test:99999/",
        "http://[v1.x]/",
    ] {
        let e = match bad.parse::<http::Uri>() {
            Ok(uri) => client.route(None, &uri).unwrap_err(),
            Err(_) => client.route(None, bad).unwrap_err(),
        };
        assert_eq!(e.code(), "request.url", "{bad}");
        assert_eq!(e.hop(), None, "{bad}");
        assert_eq!(e.phase(), Phase::Config, "{bad}");
    }
}
