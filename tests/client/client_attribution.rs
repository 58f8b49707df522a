//! Plain `http://` through a proxy: a 403 the proxy generated and a 403 the origin sent (relayed
//! by the proxy) are told apart, and `error_for_status` gives the proxy's refusal its `proxy.*`
//! code (as on CONNECT) and keeps `http.status` for the origin's, with the evidence.

use crate::common::servers::{builder, layer, squid_reply, test_proxy};
use proxyscope::client::ResponsePath;
use proxyscope::testing::{CannedReply, RawServer, Script, TestOrigin, VIA};
use proxyscope::{Hop, Phase};

#[tokio::test]
async fn proxy_generated_403_is_attributed_to_the_proxy() {
    let server = RawServer::scripted(Script::Reply(squid_reply(
        "403 Forbidden",
        "ERR_ACCESS_DENIED 0",
    )))
    .await;
    let addr = server.addr();
    let client = builder(layer(Some(&format!("http://{addr}"))))
        .build()
        .unwrap();
    let r = client
        .get("http://origin.test:8080/translate")
        .await
        .unwrap();
    assert_eq!(r.status(), 403);
    assert!(server.heads()[0].starts_with("GET http://origin.test:8080/translate HTTP/1.1"));
    let a = r.attribution().clone();
    assert_eq!(a.source, Hop::Proxy);
    assert_eq!(a.path, ResponsePath::AbsoluteForm);
    assert_eq!(a.squid_error.as_deref(), Some("ERR_ACCESS_DENIED 0"));
    assert_eq!(a.server.as_deref(), Some("squid/6.10"));

    // The same refusal as on CONNECT: the same code, hop and blame.
    let e = r.error_for_status().unwrap_err();
    assert_eq!(e.code(), "proxy.forbidden");
    assert_eq!(e.hop(), Some(Hop::Proxy));
    assert_eq!(e.blame(), proxyscope::Blame::Proxy);
    assert_eq!(e.phase(), Phase::Http);
    assert_eq!(e.evidence().status, Some(403));
    let reply = e.evidence().proxy_reply.as_ref().unwrap();
    assert_eq!(reply.header("x-squid-error"), Some("ERR_ACCESS_DENIED 0"));
    assert_eq!(
        e.evidence().attribution.as_ref().unwrap().source,
        Hop::Proxy
    );
    assert!(e.route().is_some_and(|r| r.proxy().is_some()));
    assert!(e.hint().is_some());
}

#[tokio::test]
async fn origin_403_relayed_by_the_proxy_is_attributed_to_the_origin() {
    // Proxies add Via to relayed replies too (the test proxy's names Squid): it must not make
    // the reply the proxy's.
    let o = TestOrigin::http().await;
    o.answer(
        "/translate",
        CannedReply::new(403)
            .header("Server", "nginx/1.25")
            .body("no"),
    );
    let proxy = test_proxy().start().await;
    let client = builder(layer(Some(&proxy.url()))).build().unwrap();
    let r = client
        .get(format!("http://origin.test:{}/translate", o.port()))
        .await
        .unwrap();
    assert_eq!(r.status(), 403);
    assert_eq!(r.attribution().source, Hop::Origin);
    assert_eq!(r.attribution().via.as_deref(), Some(VIA));
    assert_eq!(r.attribution().server.as_deref(), Some("nginx/1.25"));

    let e = r.error_for_status().unwrap_err();
    assert_eq!(e.code(), "http.status");
    assert_eq!(e.hop(), Some(Hop::Origin));
    assert_eq!(e.phase(), Phase::Http);
    assert_eq!(e.evidence().status, Some(403));
    assert!(e.evidence().proxy_reply.is_none());
    assert_eq!(
        e.evidence().attribution.as_ref().unwrap().source,
        Hop::Origin
    );
}

#[tokio::test]
async fn success_statuses_pass_error_for_status() {
    let o = TestOrigin::http().await;
    let client = builder(layer(None)).build().unwrap();
    let r = client
        .get(format!("http://origin.test:{}/status/204", o.addr().port()))
        .await
        .unwrap();
    let r = r.error_for_status().unwrap();
    assert_eq!(r.status(), 204);
}

#[tokio::test]
async fn a_non_2xx_connect_reply_is_never_a_response() {
    // The same Squid page as above, but in reply to CONNECT: an error, not a 403 response.
    let server = RawServer::scripted(Script::Reply(squid_reply(
        "403 Forbidden",
        "ERR_ACCESS_DENIED 0",
    )))
    .await;
    let addr = server.addr();
    let client = builder(layer(Some(&format!("http://{addr}"))))
        .build()
        .unwrap();
    let e = client.get("https://origin.test/").await.unwrap_err();
    assert_eq!(e.code(), "proxy.forbidden");
    assert_eq!(e.hop(), Some(Hop::Proxy));
}
