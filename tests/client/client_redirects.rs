//! Redirects against the harness origin's redirect routes: off by default, opt-in per client or
//! per request, each hop re-resolving the provider and the route from its own URL (asserted per
//! hop across two providers behind two proxies), credentials stripped across hosts and
//! `Proxy-Authorization` never sent to an origin, and hostile redirects — loops, limits, other
//! schemes, huge `Location` headers — ending in coded errors or in the 3xx itself.

use std::net::IpAddr;

use proxyscope::client::{Body, RedirectPolicy};
use proxyscope::testing::{TestOrigin, TestProxy};
use proxyscope::{Blame, Hop, Phase};

use crate::common::servers::{builder, layer};

const LOOPBACK: IpAddr = IpAddr::V4(std::net::Ipv4Addr::LOCALHOST);

fn to(target: &str) -> String {
    format!(
        "/redirect?to={}",
        url::form_urlencoded::byte_serialize(target.as_bytes()).collect::<String>()
    )
}

#[tokio::test]
async fn redirects_are_off_by_default_and_opt_in_per_client_or_request() {
    let origin = TestOrigin::http().await;
    let client = builder(layer(None)).build().unwrap();
    let start = origin.url(&to("/echo"));

    let res = client.get(&start).send().await.unwrap();
    assert_eq!(res.status(), 302);
    assert!(res.redirects().is_empty());
    assert_eq!(origin.requests().len(), 1);

    let res = client
        .get(&start)
        .redirect(RedirectPolicy::limited(3))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    assert_eq!(res.url().as_str(), origin.url("/echo"));
    assert_eq!(res.redirects().len(), 1);
    assert_eq!(res.redirects()[0].status, 302);
    assert_eq!(res.redirects()[0].location, origin.url("/echo"));
    assert!(res.redirects()[0].route.is_direct());

    let following = builder(layer(None))
        .redirect(RedirectPolicy::limited(3))
        .build()
        .unwrap();
    let res = following.get(&start).send().await.unwrap();
    assert_eq!(res.status(), 200);
    // A request can turn it off again.
    let res = following
        .get(&start)
        .redirect(RedirectPolicy::none())
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 302);
}

#[tokio::test]
async fn each_hop_chooses_its_provider_and_route_from_its_own_url() {
    let a = TestOrigin::http().await;
    let b = TestOrigin::http().await;
    let proxy_a = TestProxy::builder()
        .resolve("a.test", LOOPBACK)
        .start()
        .await;
    let proxy_b = TestProxy::builder()
        .resolve("b.test", LOOPBACK)
        .start()
        .await;
    let client = builder(layer(None))
        .provider(
            "alpha",
            &a.url_with_host("a.test", "/"),
            layer(Some(&proxy_a.url())),
        )
        .provider(
            "beta",
            &b.url_with_host("b.test", "/"),
            layer(Some(&proxy_b.url())),
        )
        .build()
        .unwrap();
    let onward = b.url_with_host("b.test", "/echo");
    let res = client
        .provider("alpha")
        .unwrap()
        .get(&to(&onward))
        .bearer_auth("alpha-t0ken")
        .header("cookie", "sid=alpha-c00kie")
        .header("x-kept", "yes")
        .redirect(RedirectPolicy::limited(5))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    assert_eq!(res.url().as_str(), onward);

    // Hop 1: alpha's provider and proxy; hop 2 (the response): beta's.
    let hops = res.redirects();
    assert_eq!(hops.len(), 1);
    assert_eq!(hops[0].route.provider(), Some("alpha"));
    let port = |p: &TestProxy| p.addr().port().to_string();
    let proxy_of = |r: &proxyscope::Route| {
        r.proxy()
            .map(|p| p.without_credentials())
            .unwrap_or_default()
    };
    assert!(proxy_of(&hops[0].route).contains(&port(&proxy_a)));
    assert_eq!(res.route().provider(), Some("beta"));
    assert!(proxy_of(res.route()).contains(&port(&proxy_b)));
    assert_eq!(proxy_a.requests().len(), 1);
    assert!(proxy_a.requests()[0].target.contains("a.test"));
    assert_eq!(proxy_b.requests().len(), 1);
    assert!(proxy_b.requests()[0].target.contains("b.test"));

    // Credentials for a.test never reached b.test (nor its proxy); other headers did.
    let at_b = &b.requests()[0];
    assert!(!at_b.headers.contains_key("authorization"));
    assert!(!at_b.headers.contains_key("cookie"));
    assert_eq!(at_b.headers["x-kept"], "yes");
    assert!(!proxy_b.requests()[0].headers.contains_key("authorization"));
    assert!(a.requests()[0].headers.contains_key("authorization"));
}

#[tokio::test]
async fn same_origin_redirects_keep_credentials_and_proxy_authorization_never_travels() {
    let origin = TestOrigin::http().await;
    let client = builder(layer(None)).build().unwrap();
    let res = client
        .get(origin.url(&to("/echo")))
        .bearer_auth("same-t0ken")
        .header("x-api-key", "same-k3y")
        .header("proxy-authorization", "Basic cHJveHk6c2VjcmV0")
        .redirect(RedirectPolicy::limited(2))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let seen = origin.requests();
    assert_eq!(seen.len(), 2);
    for r in &seen {
        assert!(
            r.headers.contains_key("authorization") && r.headers.contains_key("x-api-key"),
            "same origin keeps them"
        );
        assert!(
            !r.headers.contains_key("proxy-authorization"),
            "never sent to an origin"
        );
    }
    // Another port is another origin: dropped, and so is a key in a header of the service's
    // own naming; an ordinary header travels.
    let other = TestOrigin::http().await;
    client
        .get(origin.url(&to(&other.url("/echo"))))
        .bearer_auth("same-t0ken")
        .header("x-api-key", "same-k3y")
        .header("x-auth-token", "same-t0k")
        .header("x-request-id", "rid-1")
        .redirect(RedirectPolicy::limited(2))
        .send()
        .await
        .unwrap();
    let at_other = &other.requests()[0];
    for name in ["authorization", "x-api-key", "x-auth-token"] {
        assert!(!at_other.headers.contains_key(name), "{name} travelled");
    }
    assert!(at_other.headers.contains_key("x-request-id"));
}

#[tokio::test]
async fn methods_and_bodies_follow_the_status() {
    let origin = TestOrigin::http().await;
    let client = builder(layer(None))
        .redirect(RedirectPolicy::limited(3))
        .build()
        .unwrap();
    let via = |status: u16| origin.url(&format!("{}&status={status}", to("/echo")));
    // 303: GET without the body; 307/308: the same method and body.
    client.post(via(303)).body("payload").send().await.unwrap();
    client.post(via(307)).body("payload").send().await.unwrap();
    client.put(via(308)).body("payload").send().await.unwrap();
    let seen = origin.requests();
    let summary: Vec<(&str, &[u8])> = seen
        .iter()
        .map(|r| (r.method.as_str(), &r.body[..]))
        .collect();
    assert_eq!(
        summary,
        [
            ("POST", &b"payload"[..]),
            ("GET", &b""[..]),
            ("POST", &b"payload"[..]),
            ("POST", &b"payload"[..]),
            ("PUT", &b"payload"[..]),
            ("PUT", &b"payload"[..]),
        ]
    );
    assert!(!seen[1].headers.contains_key("content-type"));
    // A stream cannot be sent twice: the 307 is the answer.
    let stream = Body::wrap_stream(futures_util::stream::iter([Ok::<_, std::io::Error>(
        bytes::Bytes::from_static(b"once"),
    )]));
    let res = client.post(via(307)).body(stream).send().await.unwrap();
    assert_eq!(res.status(), 307);
    assert!(res.redirects().is_empty());
}

#[tokio::test]
async fn loops_and_limits_are_coded_errors_with_the_chain() {
    let origin = TestOrigin::http().await;
    let client = builder(layer(None)).build().unwrap();
    let e = client
        .get(origin.url("/loop/a"))
        .redirect(RedirectPolicy::limited(10))
        .send()
        .await
        .unwrap_err();
    assert_eq!(e.code(), "http.redirect_loop");
    assert_eq!(e.hop(), Some(Hop::Origin));
    assert_eq!(e.blame(), Blame::Origin);
    assert_eq!(e.phase(), Phase::Http);
    assert!(e.is_redirect());
    let chain = &e.evidence().redirects;
    assert_eq!(chain.len(), 2);
    assert_eq!(chain[0].url, origin.url("/loop/a"));
    assert_eq!(chain[1].location, origin.url("/loop/a"));
    assert!(chain.iter().all(|r| r.status == 302 && r.route.is_direct()));
    assert!(e.route().is_some());
    assert_eq!(
        origin.requests().len(),
        2,
        "the loop is caught before it is requested again"
    );

    let e = client
        .get(origin.url("/loop/a"))
        .redirect(RedirectPolicy::limited(1))
        .send()
        .await
        .unwrap_err();
    assert_eq!(e.code(), "http.too_many_redirects");
    assert_eq!(e.hop(), Some(Hop::Origin));
    assert_eq!(e.blame(), Blame::Origin);
    assert_eq!(e.evidence().redirects.len(), 2);
    assert!(e.hint().is_some_and(|h| h.contains("limited(1)")));
    // The JSON carries the chain.
    let json = serde_json::to_value(e.evidence()).unwrap();
    assert_eq!(json["redirects"].as_array().map(Vec::len), Some(2));
}

#[tokio::test]
async fn redirects_to_other_schemes_or_with_huge_locations_are_not_followed() {
    let origin = TestOrigin::http().await;
    let client = builder(layer(None))
        .redirect(RedirectPolicy::limited(5))
        .build()
        .unwrap();
    for target in [
        "file:///etc/passwd",
        "ftp://127.0.0.1/x",
        "javascript:alert(1)",
        "http://",
    ] {
        let res = client.get(origin.url(&to(target))).send().await.unwrap();
        assert_eq!(res.status(), 302, "{target}");
        assert!(res.redirects().is_empty(), "{target}");
    }
    // Longer than any URL: the 3xx is the answer, never copied into a chain.
    let res = client
        .get(origin.url("/huge-location?len=20000"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 302);
    // Larger than a response head may be: a coded protocol error, bounded.
    let e = client
        .get(origin.url("/huge-location?len=1048576"))
        .send()
        .await
        .unwrap_err();
    assert_eq!(e.code(), "http.protocol");
    assert_eq!(e.hop(), Some(Hop::Origin));
    assert!(e.to_string().len() < 4096);
}

#[tokio::test]
async fn credentials_in_a_location_are_dropped_and_never_shown() {
    let origin = TestOrigin::http().await;
    let client = builder(layer(None)).build().unwrap();
    let with_creds = origin
        .url("/echo")
        .replace("http://", "http://evil:l0cation-pw@");
    let res = client
        .get(origin.url(&to(&with_creds)))
        .redirect(RedirectPolicy::limited(2))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    assert!(!origin.requests()[1].headers.contains_key("authorization"));
    // The request URL is the caller's own (it quotes the Location in its query); what the
    // server sent is never repeated: not in the chain, not in the final URL.
    assert_eq!(res.redirects()[0].location, origin.url("/echo"));
    assert_eq!(res.url().as_str(), origin.url("/echo"));
    assert_eq!(res.url().password(), None);
}
