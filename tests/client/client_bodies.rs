//! Reading responses against the harness origin: `json`, `text`, `bytes`, `chunk`,
//! `bytes_stream`, `headers`, `remote_addr`, `error_for_status`; and hostile bodies — endless,
//! dribbling, cut short, JSON that does not parse — each a coded error with the route, never a
//! bare hyper error and never the body's content in the message.

use std::time::Duration;

use futures_util::StreamExt as _;
use proxyscope::testing::{CannedReply, RawServer, Script, TestOrigin, TestProxy};
use proxyscope::{Blame, Hop, Phase, Settings};

use crate::client_requests::has_cause;
use crate::common::servers::{builder, layer};

fn short_request_timeout() -> Settings {
    layer(None).with_timeout(Phase::Http, Duration::from_millis(400))
}

#[tokio::test]
async fn a_response_reads_as_json_text_bytes_chunks_or_a_stream() {
    let origin = TestOrigin::http().await;
    let client = builder(layer(None)).build().unwrap();

    let res = client.get(origin.url("/echo")).send().await.unwrap();
    assert_eq!(res.headers()["content-type"], "application/json");
    assert_eq!(res.remote_addr(), Some(origin.addr()));
    let v: serde_json::Value = res.json().await.unwrap();
    assert_eq!(v["method"], "GET");

    let text = client
        .get(origin.url("/"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert_eq!(text, "ok\n");

    let mut res = client
        .get(origin.url("/bytes/100000"))
        .send()
        .await
        .unwrap();
    let mut total = 0;
    while let Some(chunk) = res.chunk().await.unwrap() {
        assert!(chunk.iter().all(|b| *b == b'x'));
        total += chunk.len();
    }
    assert_eq!(total, 100_000);
    assert_eq!(res.chunk().await.unwrap(), None, "the end stays the end");

    let mut stream = client
        .get(origin.url("/bytes/70000"))
        .send()
        .await
        .unwrap()
        .bytes_stream();
    let mut total = 0;
    while let Some(chunk) = stream.next().await {
        total += chunk.unwrap().len();
    }
    assert_eq!(total, 70_000);

    // Through a proxy, remote_addr is the proxy's.
    let proxy = TestProxy::allow_all().await;
    let via = builder(layer(Some(&proxy.url()))).build().unwrap();
    let res = via.get(origin.url("/")).send().await.unwrap();
    assert_eq!(res.remote_addr(), Some(proxy.addr()));
    assert_eq!(res.bytes().await.unwrap(), "ok\n");
}

#[tokio::test]
async fn error_for_status_is_http_status_with_the_url_and_route() {
    let origin = TestOrigin::http().await;
    let client = builder(layer(None)).build().unwrap();
    let e = client
        .get(origin.url("/status/503"))
        .send()
        .await
        .unwrap()
        .error_for_status()
        .unwrap_err();
    assert_eq!(e.code(), "http.status");
    assert_eq!(e.hop(), Some(Hop::Origin));
    assert_eq!(e.blame(), Blame::Origin);
    assert_eq!(e.phase(), Phase::Http);
    assert_eq!(e.status().map(|s| s.as_u16()), Some(503));
    assert!(e.is_status());
    assert_eq!(
        e.url().map(url::Url::as_str),
        Some(origin.url("/status/503").as_str())
    );
    assert!(e.route().is_some_and(|r| r.is_direct()));
    assert!(
        client
            .get(origin.url("/"))
            .send()
            .await
            .unwrap()
            .error_for_status()
            .is_ok()
    );
}

#[tokio::test]
async fn json_that_does_not_parse_is_http_decode_without_the_body() {
    let origin = TestOrigin::http().await;
    let client = builder(layer(None)).build().unwrap();
    #[derive(serde::Deserialize, Debug)]
    #[allow(dead_code)]
    struct Expected {
        token: String,
    }
    let e = client
        .get(origin.url("/bad-json"))
        .send()
        .await
        .unwrap()
        .json::<Expected>()
        .await
        .unwrap_err();
    assert_eq!(e.code(), "http.decode");
    assert_eq!(e.hop(), Some(Hop::Origin));
    assert_eq!(e.blame(), Blame::Origin);
    assert_eq!(e.phase(), Phase::Http);
    assert!(e.is_body());
    assert!(e.route().is_some());
    assert!(
        e.evidence()
            .expected
            .as_deref()
            .is_some_and(|t| t.contains("Expected"))
    );
    let all = format!("{e} {e:?} {}", e.report());
    assert!(!all.contains("s3cret-in-body"), "{all}");
    // Valid JSON of the wrong shape is the same code.
    let e = client
        .get(origin.url("/echo"))
        .send()
        .await
        .unwrap()
        .json::<Vec<u8>>()
        .await
        .unwrap_err();
    assert_eq!(e.code(), "http.decode");
}

#[tokio::test]
async fn endless_and_dribbling_bodies_end_in_http_timeout_with_the_route() {
    let origin = TestOrigin::http().await;
    let client = builder(short_request_timeout()).build().unwrap();
    for path in ["/endless", "/dribble?ms=20"] {
        let res = client.get(origin.url(path)).send().await.unwrap();
        let e = res.bytes().await.unwrap_err();
        assert_eq!(e.hop(), Some(Hop::Origin), "{path}");
        assert_eq!(e.phase(), Phase::Http, "{path}");
        assert!(e.route().is_some(), "{path}");
        assert!(e.url().is_some(), "{path}");
        // Either the deadline or a size cap ends it, never memory.
        assert!(
            matches!(e.code(), "http.timeout" | "http.body_too_large"),
            "{path}: {}",
            e.report()
        );
    }
    // Streaming an endless body: chunks keep coming until the body's deadline.
    let mut res = client.get(origin.url("/endless")).send().await.unwrap();
    let mut read = 0usize;
    let e = loop {
        match res.chunk().await {
            Ok(Some(c)) => read += c.len(),
            Ok(None) => panic!("an endless body ended"),
            Err(e) => break e,
        }
    };
    assert!(read > 0);
    assert_eq!(e.code(), "http.timeout");
    assert_eq!(e.blame(), Blame::Origin);
    assert!(e.is_timeout());
}

#[tokio::test]
async fn a_body_cut_short_is_http_protocol_with_a_typed_cause() {
    let origin = TestOrigin::http().await;
    let client = builder(layer(None)).build().unwrap();
    let e = client
        .get(origin.url("/cut?len=100000"))
        .send()
        .await
        .unwrap()
        .bytes()
        .await
        .unwrap_err();
    assert_eq!(e.code(), "http.protocol");
    assert_eq!(e.hop(), Some(Hop::Origin));
    assert_eq!(e.phase(), Phase::Http);
    assert!(e.route().is_some());
    assert!(
        has_cause::<hyper::Error>(&e),
        "the hyper::Error is downcastable: {}",
        e.report()
    );
}

/// A body that breaks off (or ends in trailers) right after its head may do so before the
/// response is handed over: the client takes a body's first frame with its head when hyper
/// has it. What it took waits for the reader: the same error, with the same code, hop and
/// phase, whichever way the body is read; trailers alone read as an empty body. The origin
/// writes exactly these bytes, then ends its side of the stream.
#[tokio::test]
async fn a_body_that_ends_right_after_its_head_reads_as_it_was_sent() {
    let client = builder(layer(None)).build().unwrap();
    let cut = [
        // Fewer bytes than announced, then the end of the stream.
        &b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc"[..],
        // None of them.
        b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n",
        // A chunked body that ends without its last chunk.
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n",
    ];
    for reply in cut {
        let server = RawServer::scripted(Script::Reply(reply.to_vec())).await;
        let url = format!("http://{}/", server.addr());
        let whole = client.get(&url).send().await.unwrap().bytes().await;
        let mut res = client.get(&url).send().await.unwrap();
        let mut read = 0;
        let by_chunk = loop {
            match res.chunk().await {
                Ok(Some(c)) => read += c.len(),
                Ok(None) => break Ok(read),
                Err(e) => break Err(e),
            }
        };
        assert!(read <= 3);
        for e in [whole.unwrap_err(), by_chunk.unwrap_err()] {
            assert_eq!(e.code(), "http.protocol", "{}", e.report());
            assert_eq!(e.hop(), Some(Hop::Origin));
            assert_eq!(e.phase(), Phase::Http);
            assert!(e.route().is_some() && e.url().is_some());
        }
    }
    // Trailers and nothing else: an empty body, read whole or by chunk.
    let server = RawServer::scripted(Script::Reply(
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n0\r\nX-Checksum: 0\r\n\r\n".to_vec(),
    ))
    .await;
    let url = format!("http://{}/", server.addr());
    let res = client.get(&url).send().await.unwrap();
    assert!(res.bytes().await.unwrap().is_empty());
    let mut res = client.get(&url).send().await.unwrap();
    assert_eq!(res.chunk().await.unwrap(), None);
}

/// A body error names the hop that wrote the response, read from its headers as
/// `Response::attribution` reads them: a proxy's own reply (`X-Squid-Error`) past the cap is the
/// proxy's, however the body is read (whole, as text, as JSON).
#[tokio::test]
async fn a_body_error_names_the_hop_that_sent_the_body() {
    let origin = TestOrigin::http().await;
    origin.answer(
        "/denied",
        CannedReply::new(200)
            .header("X-Squid-Error", "ERR_ACCESS_DENIED 0")
            .header("Content-Type", "text/html")
            .body("access denied by the proxy's policy"),
    );
    let client = builder(layer(None)).build().unwrap();
    let res = || async { client.get(origin.url("/denied")).send().await.unwrap() };
    for e in [
        res().await.max_body(4).bytes().await.unwrap_err(),
        res().await.max_body(4).text().await.unwrap_err(),
    ] {
        assert_eq!(e.code(), "http.body_too_large", "{}", e.report());
        assert_eq!(e.hop(), Some(Hop::Proxy));
        assert_eq!(e.phase(), Phase::Http);
        assert!(e.route().is_some() && e.url().is_some());
    }
    // A body that reads whole but is not JSON: the same hop, and the content type the reply
    // declared in the evidence.
    let e = res().await.json::<Vec<u8>>().await.unwrap_err();
    assert_eq!(e.code(), "http.decode", "{}", e.report());
    assert_eq!(e.hop(), Some(Hop::Proxy));
    assert_eq!(e.evidence().value.as_deref(), Some("text/html"));
    // The same origin's plain route is the origin's.
    let e = client
        .get(origin.url("/stream/100"))
        .send()
        .await
        .unwrap()
        .max_body(4)
        .bytes()
        .await
        .unwrap_err();
    assert_eq!(e.hop(), Some(Hop::Origin));
}
