//! TestOrigin on the wire: routes, recorded requests, HTTP/1.1 and HTTP/2 over TLS by ALPN —
//! checked with raw sockets, hyper and tokio-rustls directly.

use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::common::wire::roundtrip;
use bytes::Bytes;
use http_body_util::{BodyExt, Empty};
use hyper_util::rt::{TokioExecutor, TokioIo};
use proxyscope::testing::{
    CannedReply, ChainMode, ORIGIN_FORBIDDEN_BODY, ORIGIN_SERVER, TargetForm, TestOrigin, TestPki,
};
use rustls_pki_types::ServerName;
use tokio::net::TcpStream;
use tokio_rustls::TlsConnector;

async fn get(origin: &TestOrigin, path: &str) -> crate::common::wire::WireResponse {
    let mut tcp = TcpStream::connect(origin.addr()).await.expect("connect");
    roundtrip(
        &mut tcp,
        &format!(
            "GET {path} HTTP/1.1\r\nHost: {}\r\nConnection: close\r\n\r\n",
            origin.addr()
        ),
        false,
    )
    .await
}

#[tokio::test]
async fn routes_answer_as_documented() {
    let origin = TestOrigin::http().await;
    let root = get(&origin, "/").await;
    assert_eq!((root.status, root.body_text().as_str()), (200, "ok\n"));
    assert_eq!(root.header("server"), Some(ORIGIN_SERVER));

    for code in [204u16, 301, 418, 500, 503] {
        assert_eq!(get(&origin, &format!("/status/{code}")).await.status, code);
    }
    assert_eq!(get(&origin, "/status/abc").await.status, 400);
    assert_eq!(get(&origin, "/status/1000").await.status, 400);

    let forbidden = get(&origin, "/forbidden").await;
    assert_eq!(forbidden.status, 403);
    assert_eq!(forbidden.body_text(), ORIGIN_FORBIDDEN_BODY);
    assert_eq!(forbidden.header("server"), Some(ORIGIN_SERVER));
    assert_eq!(forbidden.header("x-squid-error"), None);

    let bytes = get(&origin, "/bytes/1000").await;
    assert_eq!(bytes.body.len(), 1000);
    assert!(bytes.body.bytes().all(|b| b == b'x'));
    assert_eq!(get(&origin, "/bytes/-1").await.status, 400);
    assert_eq!(get(&origin, "/nope").await.status, 404);

    let started = Instant::now();
    let slow = get(&origin, "/slow?ms=150").await;
    assert_eq!(slow.status, 200);
    assert!(started.elapsed() >= Duration::from_millis(150));
}

#[tokio::test]
async fn an_answer_set_for_a_path_is_sent_as_given_and_counted_connections_show_reuse() {
    let origin = TestOrigin::http().await;
    origin.answer(
        "/translate",
        CannedReply::new(403)
            .reason("Nope")
            .header("Server", "nginx/1.25")
            .header("Via", "1.1 cdn")
            .body("no"),
    );
    origin.answer("/", CannedReply::new(200).body("mine"));
    // Query ignored; status, reason, headers and body exactly as set, no Server of the origin's.
    let r = get(&origin, "/translate?q=1").await;
    assert_eq!(
        (r.status, r.reason.as_str(), r.body.as_str()),
        (403, "Nope", "no")
    );
    assert_eq!(r.header("server"), Some("nginx/1.25"));
    assert_eq!(r.header("via"), Some("1.1 cdn"));
    assert_eq!(get(&origin, "/").await.body, "mine");
    // Other paths keep the built-in routes; a path set again gets its new reply.
    assert_eq!(get(&origin, "/forbidden").await.body, ORIGIN_FORBIDDEN_BODY);
    origin.answer("/translate", CannedReply::new(200).body("yes"));
    assert_eq!(get(&origin, "/translate").await.body, "yes");
    let targets: Vec<String> = origin.requests().into_iter().map(|r| r.target).collect();
    assert_eq!(targets, ["/translate?q=1", "/", "/forbidden", "/translate"]);
    // `get` closes each connection: one per request so far.
    assert_eq!(origin.accepted(), 4);

    // Two requests on one kept-alive connection count once.
    let mut tcp = TcpStream::connect(origin.addr()).await.expect("connect");
    let host = origin.addr();
    for close in ["", "Connection: close\r\n"] {
        let reply = roundtrip(
            &mut tcp,
            &format!("GET / HTTP/1.1\r\nHost: {host}\r\n{close}\r\n"),
            false,
        )
        .await;
        assert_eq!(reply.body, "mine");
    }
    assert_eq!(origin.accepted(), 5);
}

#[tokio::test]
async fn echo_and_records_show_the_target_form_and_headers() {
    let origin = TestOrigin::http().await;
    let mut tcp = TcpStream::connect(origin.addr()).await.expect("connect");
    let echo = roundtrip(
        &mut tcp,
        "GET /echo?x=1 HTTP/1.1\r\nHost: a.test\r\nX-Trace: 7\r\nAuthorization: Bearer sekrit\r\n\r\n",
        false,
    )
    .await;
    let json: serde_json::Value = serde_json::from_str(&echo.body).expect("json");
    assert_eq!(json["method"], "GET");
    assert_eq!(json["target"], "/echo?x=1");
    assert_eq!(json["form"], "origin");
    assert_eq!(json["tls"], false);
    assert_eq!(json["headers"]["x-trace"][0], "7");
    assert_eq!(json["headers"]["authorization"][0], "[redacted]");

    // Absolute-form on the same connection: what a proxy that forgot to rewrite would send.
    let echo = roundtrip(
        &mut tcp,
        "GET http://a.test/echo HTTP/1.1\r\nHost: a.test\r\nConnection: close\r\n\r\n",
        false,
    )
    .await;
    let json: serde_json::Value = serde_json::from_str(&echo.body).expect("json");
    assert_eq!(json["form"], "absolute");
    assert_eq!(json["target"], "http://a.test/echo");

    let seen = origin.requests();
    assert_eq!(seen.len(), 2);
    assert_eq!(seen[0].form, TargetForm::Origin);
    assert_eq!(seen[0].version, http::Version::HTTP_11);
    assert_eq!(seen[0].headers["x-trace"], "7");
    assert!(!seen[0].tls);
    assert_eq!(seen[1].form, TargetForm::Absolute);
    let debug = format!("{seen:?}");
    assert!(!debug.contains("sekrit"), "{debug}");
    origin.check();
}

async fn tls_connect(
    pki: &TestPki,
    origin: &TestOrigin,
    alpn: &[&[u8]],
) -> tokio_rustls::client::TlsStream<TcpStream> {
    let mut config = pki.client_config(&[pki.root()]);
    config.alpn_protocols = alpn.iter().map(|p| p.to_vec()).collect();
    let tcp = TcpStream::connect(origin.addr()).await.expect("connect");
    TlsConnector::from(Arc::new(config))
        .connect(ServerName::try_from("localhost").expect("name"), tcp)
        .await
        .expect("handshake")
}

#[tokio::test]
async fn https_origin_speaks_h2_and_http1_by_alpn() {
    let pki = TestPki::new();
    let origin = TestOrigin::https(&pki, pki.localhost(), ChainMode::Full).await;
    assert!(origin.url("/x").starts_with("https://127.0.0.1:"));

    let tls = tls_connect(&pki, &origin, &[b"h2"]).await;
    assert_eq!(tls.get_ref().1.alpn_protocol(), Some(&b"h2"[..]));
    let (mut sender, conn) =
        hyper::client::conn::http2::handshake(TokioExecutor::new(), TokioIo::new(tls))
            .await
            .expect("h2 handshake");
    tokio::spawn(conn);
    let req = http::Request::get(origin.url_with_host("localhost", "/status/201"))
        .body(Empty::<Bytes>::new())
        .expect("request");
    let resp = sender.send_request(req).await.expect("h2 response");
    assert_eq!(resp.status(), 201);
    assert_eq!(resp.version(), http::Version::HTTP_2);

    let tls = tls_connect(&pki, &origin, &[b"http/1.1"]).await;
    let (mut sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(tls))
        .await
        .expect("h1 handshake");
    tokio::spawn(conn);
    let req = http::Request::get("/echo")
        .header("host", "localhost")
        .body(Empty::<Bytes>::new())
        .expect("request");
    let resp = sender.send_request(req).await.expect("h1 response");
    let body = resp.into_body().collect().await.expect("body").to_bytes();
    let json: serde_json::Value = serde_json::from_slice(&body).expect("json");
    assert_eq!(json["tls"], true);
    assert_eq!(json["version"], "HTTP/1.1");

    let seen = origin.requests();
    assert_eq!(seen.len(), 2);
    assert_eq!(
        (seen[0].version, seen[0].tls),
        (http::Version::HTTP_2, true)
    );
    assert_eq!(seen[0].target, "/status/201");
    assert_eq!(seen[0].form, TargetForm::Origin);
    assert_eq!(
        (seen[1].version, seen[1].tls),
        (http::Version::HTTP_11, true)
    );
}

#[tokio::test]
async fn echo_hides_every_credential_header_and_echo_raw_shows_them() {
    let origin = TestOrigin::http().await;
    let headers = "Authorization: Bearer tok-a1\r\nCookie: sid=c00k1e\r\nX-Api-Key: k3y-777\r\n\
                   X-Auth-Token: t0k3n-9\r\nX-Request-Id: req-42\r\nAccept: text/plain\r\n";
    let ask = |path: &str| {
        format!(
            "GET {path} HTTP/1.1\r\nHost: {}\r\n{headers}Connection: close\r\n\r\n",
            origin.addr()
        )
    };
    let json = |res: crate::common::wire::WireResponse| -> serde_json::Value {
        serde_json::from_str(&res.body_text()).expect("echo is JSON")
    };
    let mut tcp = TcpStream::connect(origin.addr()).await.expect("connect");
    let echo = json(roundtrip(&mut tcp, &ask("/echo"), false).await);
    for name in ["authorization", "cookie", "x-api-key", "x-auth-token"] {
        assert_eq!(echo["headers"][name][0], "[redacted]", "{name}");
    }
    assert_eq!(echo["headers"]["x-request-id"][0], "req-42");
    assert_eq!(echo["headers"]["accept"][0], "text/plain");

    let mut tcp = TcpStream::connect(origin.addr()).await.expect("connect");
    let raw = json(roundtrip(&mut tcp, &ask("/echo-raw"), false).await);
    assert_eq!(raw["headers"]["x-api-key"][0], "k3y-777");
    assert_eq!(raw["headers"]["authorization"][0], "Bearer tok-a1");

    // What the origin recorded keeps the values, and its `Debug` does not print them.
    let seen = origin.requests();
    let debug = format!("{seen:?}");
    for secret in ["tok-a1", "c00k1e", "k3y-777", "t0k3n-9"] {
        assert!(!debug.contains(secret), "{secret} in {debug}");
    }
    assert!(debug.contains("req-42"));
    assert_eq!(seen[0].headers["x-api-key"], "k3y-777");
}

/// A long-running origin keeps the most recent requests, not all of them: a benchmark or load
/// test sending millions would otherwise grow it without bound. The count covers every one.
#[tokio::test]
async fn the_origin_keeps_the_most_recent_requests_and_counts_all() {
    use proxyscope::testing::RECORDED_MAX;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    let origin = TestOrigin::http().await;
    let extra = 50;
    let total = RECORDED_MAX + extra;
    // Pipelined on one keep-alive connection; the last one closes it.
    let mut requests = String::new();
    for i in 0..total {
        let close = if i + 1 == total {
            "Connection: close\r\n"
        } else {
            ""
        };
        requests.push_str(&format!(
            "GET /bytes/1?n={i} HTTP/1.1\r\nHost: t\r\n{close}\r\n"
        ));
    }
    let tcp = TcpStream::connect(origin.addr()).await.expect("connect");
    let (mut read, mut write) = tcp.into_split();
    let drain = tokio::spawn(async move {
        let mut sink = Vec::new();
        read.read_to_end(&mut sink).await.map(|_| sink.len())
    });
    write
        .write_all(requests.as_bytes())
        .await
        .expect("requests written");
    let read_back = tokio::time::timeout(Duration::from_secs(60), drain)
        .await
        .expect("the origin answers every request within a minute")
        .expect("reader task")
        .expect("responses read");
    assert!(read_back > 0);

    assert_eq!(origin.request_count(), total as u64);
    let kept = origin.requests();
    assert_eq!(kept.len(), RECORDED_MAX);
    assert_eq!(
        kept.first().map(|r| r.target.as_str()),
        Some(format!("/bytes/1?n={extra}").as_str())
    );
    assert_eq!(
        kept.last().map(|r| r.target.as_str()),
        Some(format!("/bytes/1?n={}", total - 1).as_str())
    );
}

/// With recording off, the origin keeps nothing but still counts every request, and `/echo`
/// still answers with what it saw.
#[tokio::test]
async fn recording_off_counts_without_keeping_and_echo_still_answers() {
    let origin = TestOrigin::http().await;
    assert_eq!(get(&origin, "/bytes/3").await.status, 200);
    origin.set_recording(false);
    assert_eq!(get(&origin, "/bytes/3").await.status, 200);
    let echo = get(&origin, "/echo").await;
    assert_eq!(echo.status, 200);
    let json: serde_json::Value = serde_json::from_str(&echo.body_text()).expect("echo is JSON");
    assert_eq!(json["target"], "/echo");
    assert_eq!(origin.request_count(), 3);
    let kept: Vec<String> = origin.requests().into_iter().map(|r| r.target).collect();
    assert_eq!(kept, ["/bytes/3"]);

    origin.set_recording(true);
    assert_eq!(get(&origin, "/").await.status, 200);
    let kept: Vec<String> = origin.requests().into_iter().map(|r| r.target).collect();
    assert_eq!(kept, ["/bytes/3", "/"]);
    assert_eq!(origin.request_count(), 4);
}
