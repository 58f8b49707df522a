//! Which connection a request goes on: HTTPS origins that speak HTTP/2 share one connection
//! the client holds per origin; origins that answer HTTP/1.1 get connections the client keeps
//! idle between requests (given back when a response is done, however its body was read),
//! without a connection spent finding out; closing, idle and broken connections are replaced,
//! let go, or reported like any other failure. Counted on the peer's side (accepted TCP
//! connections), never inferred from timing.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use http::Version;
use hyper::body::Incoming;
use hyper_util::rt::{TokioExecutor, TokioIo};
use proxyscope::client::Client;
use proxyscope::testing::{ChainMode, TestOrigin, TestPki};
use proxyscope::{ErrorKind, Hop, Phase};
use tokio::io::AsyncWriteExt;
use tokio::net::TcpListener;

use crate::common::servers::{builder, layer};

fn trusting(pki: &TestPki) -> proxyscope::client::ClientBuilder {
    builder(layer(None).with_ca_file([pki.root_pem_path().to_path_buf()]))
}

/// The harness's HTTPS origin (ALPN `h2` and `http/1.1`), and its URL by the name its
/// certificate holds.
async fn https_origin(pki: &TestPki) -> (TestOrigin, String) {
    let origin = TestOrigin::https(pki, pki.localhost(), ChainMode::Full).await;
    let url = origin.url_with_host("localhost", "/");
    (origin, url)
}

async fn get(client: &Client, url: &str) -> http::Version {
    let res = client.get(url).send().await.unwrap();
    assert_eq!(res.status(), 200, "{url}");
    let version = res.version();
    assert!(
        res.conn_info().is_some(),
        "{url}: the response knows its connection"
    );
    res.bytes().await.unwrap();
    version
}

/// `n` concurrent GETs of `url`, each from a task of its own: the version of each answer.
async fn burst(client: &Client, url: &str, n: usize) -> Vec<Version> {
    let tasks: Vec<_> = (0..n)
        .map(|_| {
            let (client, url) = (client.clone(), url.to_owned());
            tokio::spawn(async move { get(&client, &url).await })
        })
        .collect();
    let mut versions = Vec::with_capacity(n);
    for task in tasks {
        versions.push(task.await.unwrap());
    }
    versions
}

#[tokio::test]
async fn http2_requests_to_one_origin_share_one_connection() {
    let pki = TestPki::new();
    let (origin, url) = https_origin(&pki).await;
    let client = trusting(&pki).build().unwrap();
    for _ in 0..3 {
        assert_eq!(get(&client, &url).await, Version::HTTP_2);
    }
    assert_eq!(burst(&client, &url, 8).await, [Version::HTTP_2; 8]);
    let res = client.get(&url).send().await.unwrap();
    assert_eq!(res.conn_info().unwrap().alpn.as_deref(), Some("h2"));
    assert_eq!(origin.accepted(), 1);
}

#[tokio::test]
async fn concurrent_first_requests_leave_one_connection_for_the_rest() {
    let pki = TestPki::new();
    let (origin, url) = https_origin(&pki).await;
    let client = trusting(&pki).build().unwrap();
    assert_eq!(burst(&client, &url, 6).await, [Version::HTTP_2; 6]);
    let after_burst = origin.accepted();
    assert!((1..=6).contains(&after_burst), "{after_burst}");
    for _ in 0..4 {
        assert_eq!(get(&client, &url).await, Version::HTTP_2);
    }
    assert_eq!(
        origin.accepted(),
        after_burst,
        "later requests reuse the kept connection"
    );
}

#[tokio::test]
async fn an_origin_that_answers_http1_costs_no_connection_to_find_out() {
    let pki = TestPki::new();
    let mut config = (*pki.server_config(pki.localhost(), ChainMode::Full)).clone();
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    let origin = TestOrigin::with_tls_config(Arc::new(config)).await;
    let url = origin.url_with_host("localhost", "/");
    let client = trusting(&pki).build().unwrap();
    for _ in 0..3 {
        assert_eq!(get(&client, &url).await, Version::HTTP_11);
    }
    assert_eq!(origin.accepted(), 1);
    let res = client.get(&url).send().await.unwrap();
    assert_eq!(res.conn_info().unwrap().alpn.as_deref(), Some("http/1.1"));
}

#[tokio::test]
async fn an_idle_http2_connection_is_let_go_after_the_idle_timeout() {
    let pki = TestPki::new();
    let (origin, url) = https_origin(&pki).await;
    let client = trusting(&pki)
        .pool_idle_timeout(Some(Duration::from_secs(1)))
        .build()
        .unwrap();
    // Used more often than the timeout, for longer than it in all: kept (each use counts).
    // Wide margins: a loaded machine may stall a request for a while.
    for _ in 0..4 {
        assert_eq!(get(&client, &url).await, Version::HTTP_2);
        tokio::time::sleep(Duration::from_millis(400)).await;
    }
    assert_eq!(origin.accepted(), 1);
    // Idle for longer: let go, and the next request opens another.
    tokio::time::sleep(Duration::from_millis(2500)).await;
    assert_eq!(get(&client, &url).await, Version::HTTP_2);
    assert_eq!(origin.accepted(), 2);
}

#[tokio::test]
async fn no_idle_connections_means_none_kept_for_http2_either() {
    let pki = TestPki::new();
    let (origin, url) = https_origin(&pki).await;
    let client = trusting(&pki).pool_max_idle_per_host(0).build().unwrap();
    for _ in 0..3 {
        assert_eq!(get(&client, &url).await, Version::HTTP_2);
    }
    assert_eq!(origin.accepted(), 3);
}

#[tokio::test]
async fn with_http2_off_the_origin_is_asked_for_http1() {
    let pki = TestPki::new();
    let (origin, url) = https_origin(&pki).await;
    let client = trusting(&pki).http2(false).build().unwrap();
    for _ in 0..2 {
        assert_eq!(get(&client, &url).await, Version::HTTP_11);
    }
    assert_eq!(origin.accepted(), 1);
}

/// What an [`h2_origin`] does with its `n`th connection (from 0).
#[derive(Clone, Copy)]
enum Serve {
    /// Answers one request, then closes the connection gracefully (GOAWAY), as servers do at
    /// their per-connection request limit or when they restart.
    OneRequest,
    /// Answers the first connection's requests and never completes the TLS handshake of any
    /// later one.
    FirstConnectionOnly,
}

/// An HTTP/2 origin on loopback answering `200 once`, serving its connections as `how` says;
/// its URL and how many TCP connections it accepted.
async fn h2_origin(pki: &TestPki, how: Serve) -> (String, Arc<AtomicUsize>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let acceptor =
        tokio_rustls::TlsAcceptor::from(pki.server_config(pki.localhost(), ChainMode::Full));
    let accepted = Arc::new(AtomicUsize::new(0));
    let counter = Arc::clone(&accepted);
    tokio::spawn(async move {
        while let Ok((tcp, _)) = listener.accept().await {
            let nth = counter.fetch_add(1, Ordering::Relaxed);
            let acceptor = acceptor.clone();
            tokio::spawn(async move {
                if matches!(how, Serve::FirstConnectionOnly) && nth > 0 {
                    // Held open, never answered, until the client gives up on it.
                    let mut tcp = tcp;
                    let _ = tokio::io::copy(&mut tcp, &mut tokio::io::sink()).await;
                    return;
                }
                let Ok(tls) = acceptor.accept(tcp).await else {
                    return;
                };
                let (served, mut served_rx) = tokio::sync::mpsc::unbounded_channel::<()>();
                let svc = hyper::service::service_fn(move |_req: http::Request<Incoming>| {
                    let _ = served.send(());
                    async {
                        Ok::<_, std::convert::Infallible>(http::Response::new(
                            http_body_util::Full::new(bytes::Bytes::from_static(b"once")),
                        ))
                    }
                });
                let conn = hyper::server::conn::http2::Builder::new(TokioExecutor::new())
                    .serve_connection(TokioIo::new(tls), svc);
                tokio::pin!(conn);
                if matches!(how, Serve::OneRequest) {
                    tokio::select! {
                        _ = conn.as_mut() => return,
                        _ = served_rx.recv() => {}
                    }
                    conn.as_mut().graceful_shutdown();
                }
                let _ = conn.await;
            });
        }
    });
    (format!("https://localhost:{port}/"), accepted)
}

#[tokio::test]
async fn requests_opening_connections_take_the_first_one_kept_and_abandon_theirs() {
    let pki = TestPki::new();
    let (url, accepted) = h2_origin(&pki, Serve::FirstConnectionOnly).await;
    let client = trusting(&pki).build().unwrap();
    // A request left waiting for its own handshake would fail at the TLS timeout (2 s).
    assert_eq!(burst(&client, &url, 6).await, [Version::HTTP_2; 6]);
    assert!(accepted.load(Ordering::Relaxed) >= 1);
}

#[tokio::test]
async fn a_connection_the_origin_closes_is_replaced_and_no_request_fails() {
    let pki = TestPki::new();
    let (url, accepted) = h2_origin(&pki, Serve::OneRequest).await;
    let client = trusting(&pki).build().unwrap();
    for i in 1..=4 {
        assert_eq!(get(&client, &url).await, Version::HTTP_2, "request {i}");
    }
    assert_eq!(accepted.load(Ordering::Relaxed), 4);
}

#[tokio::test]
async fn an_origin_that_breaks_http2_is_http_protocol_on_the_origin_hop() {
    let pki = TestPki::new();
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let acceptor =
        tokio_rustls::TlsAcceptor::from(pki.server_config(pki.localhost(), ChainMode::Full));
    tokio::spawn(async move {
        while let Ok((tcp, _)) = listener.accept().await {
            let acceptor = acceptor.clone();
            tokio::spawn(async move {
                // ALPN says h2; what follows is not HTTP/2.
                let Ok(mut tls) = acceptor.accept(tcp).await else {
                    return;
                };
                let _ = tls
                    .write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\n\r\n")
                    .await;
                let _ = tls.shutdown().await;
            });
        }
    });
    let client = trusting(&pki).build().unwrap();
    let url = format!("https://localhost:{port}/");
    let e = client.get(&url).send().await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::HttpProtocol, "{}", e.report());
    assert_eq!(e.code(), "http.protocol");
    assert_eq!(e.hop(), Some(Hop::Origin));
    assert_eq!(e.phase(), Phase::Http);
    assert_eq!(
        e.evidence().target.as_deref(),
        Some(format!("localhost:{port}").as_str())
    );
    assert!(e.evidence().cause.is_some());
    assert!(e.route().is_some_and(|r| r.is_direct()));
    // The next request does not reuse what broke.
    let e = client.get(&url).send().await.unwrap_err();
    assert_eq!(e.code(), "http.protocol");
}

#[tokio::test]
async fn a_refused_https_connection_keeps_its_connect_error() {
    let pki = TestPki::new();
    let closed = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = closed.local_addr().unwrap().port();
    drop(closed);
    let client = trusting(&pki).build().unwrap();
    let e = client
        .get(format!("https://localhost:{port}/"))
        .send()
        .await
        .unwrap_err();
    assert_eq!(e.code(), "origin.connect", "{}", e.report());
    assert_eq!(e.hop(), Some(Hop::Origin));
    assert_eq!(e.phase(), Phase::Connect);
    assert_eq!(
        e.evidence().target.as_deref(),
        Some(format!("localhost:{port}").as_str())
    );
    assert!(e.route().is_some_and(|r| r.is_direct()));
    assert!(e.url().is_some());
}

// ---- HTTP/1.1 connections the client holds ----

/// The harness's HTTPS origin offering only HTTP/1.1, and its URL for `path`.
async fn http1_origin(pki: &TestPki, path: &str) -> (TestOrigin, String) {
    let mut config = (*pki.server_config(pki.localhost(), ChainMode::Full)).clone();
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    let origin = TestOrigin::with_tls_config(Arc::new(config)).await;
    let url = origin.url_with_host("localhost", path);
    (origin, url)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn http1_requests_reuse_one_connection_however_the_body_is_read() {
    use futures_util::StreamExt as _;
    let pki = TestPki::new();
    let (origin, _) = http1_origin(&pki, "/").await;
    let url = |path: &str| origin.url_with_host("localhost", path);
    let client = trusting(&pki).build().unwrap();
    for round in 0..20 {
        // Small, whole in one chunk.
        assert_eq!(get(&client, &url("/")).await, Version::HTTP_11);
        // Large, in many chunks.
        let res = client.get(url("/bytes/100000")).send().await.unwrap();
        assert_eq!(res.bytes().await.unwrap().len(), 100_000);
        // Chunked, read chunk by chunk to the end, the response kept after.
        let mut res = client
            .get(url("/stream/5000?chunked"))
            .send()
            .await
            .unwrap();
        let mut n = 0;
        while let Some(c) = res.chunk().await.unwrap() {
            n += c.len();
        }
        assert_eq!(n, 5000);
        // As a stream.
        let mut stream = client
            .get(url("/bytes/3000"))
            .send()
            .await
            .unwrap()
            .bytes_stream();
        let mut n = 0;
        while let Some(c) = stream.next().await {
            n += c.unwrap().len();
        }
        assert_eq!(n, 3000);
        // No body at all, the response dropped unread.
        let res = client.head(url("/")).send().await.unwrap();
        assert_eq!(res.status(), 200);
        drop(res);
        let res = client.get(url("/status/204")).send().await.unwrap();
        assert_eq!(res.status(), 204);
        drop(res);
        assert_eq!(origin.accepted(), 1, "round {round}");
    }
    assert_eq!(origin.request_count(), 120);
}

/// A body that keeps its connection busy while it is held unread: larger than what hyper takes
/// off the connection ahead of its reader (a chunk for the reader and one waiting, each up to
/// its read buffer of some 400 KB). A smaller one may be off the connection, and the
/// connection free for another request, before anyone reads it.
const HELD: &str = "/stream/3000000";

/// `n` GETs of `url` sent one after another, each response held with its body unread.
async fn hold(client: &Client, url: &str, n: usize) -> Vec<proxyscope::client::Response> {
    let mut held = Vec::with_capacity(n);
    for _ in 0..n {
        held.push(client.get(url).send().await.unwrap());
    }
    held
}

#[tokio::test]
async fn concurrent_http1_requests_each_get_a_connection_and_all_are_kept() {
    let pki = TestPki::new();
    let (origin, url) = http1_origin(&pki, HELD).await;
    let client = trusting(&pki).build().unwrap();
    for round in 0..3 {
        // Three responses held at once, bodies unread: three connections busy.
        let held = hold(&client, &url, 3).await;
        for res in held {
            assert_eq!(res.version(), Version::HTTP_11);
            assert_eq!(res.bytes().await.unwrap().len(), 3_000_000);
        }
        assert_eq!(origin.accepted(), 3, "round {round}: all three were kept");
    }
}

#[tokio::test]
async fn a_small_body_held_unread_leaves_its_connection_free() {
    let pki = TestPki::new();
    let (origin, url) = http1_origin(&pki, "/bytes/1000").await;
    let client = trusting(&pki).build().unwrap();
    let held = hold(&client, &url, 3).await;
    // hyper read each whole before the next request: one connection served them all.
    assert_eq!(origin.accepted(), 1);
    for res in held {
        assert_eq!(res.bytes().await.unwrap().len(), 1000);
    }
}

#[tokio::test]
async fn pool_max_idle_per_host_bounds_the_idle_http1_connections() {
    let pki = TestPki::new();
    let (origin, url) = http1_origin(&pki, HELD).await;
    let client = trusting(&pki).pool_max_idle_per_host(1).build().unwrap();
    let held = hold(&client, &url, 3).await;
    for res in held {
        res.bytes().await.unwrap();
    }
    assert_eq!(origin.accepted(), 3);
    // One of the three was kept: three at once now need two more.
    let held = hold(&client, &url, 3).await;
    for res in held {
        res.bytes().await.unwrap();
    }
    assert_eq!(origin.accepted(), 5);
}

#[tokio::test]
async fn an_http1_body_dropped_unread_closes_its_connection_and_nothing_fails() {
    let pki = TestPki::new();
    let (origin, url) = http1_origin(&pki, "/bytes/100000").await;
    let client = trusting(&pki).build().unwrap();
    let res = client.get(&url).send().await.unwrap();
    assert_eq!(res.status(), 200);
    // Part of it read, the rest dropped: the connection cannot carry another request.
    let mut res = res;
    assert!(res.chunk().await.unwrap().is_some());
    drop(res);
    for _ in 0..3 {
        let res = client.get(&url).send().await.unwrap();
        assert_eq!(res.bytes().await.unwrap().len(), 100_000);
    }
    assert_eq!(origin.accepted(), 2);
}

#[tokio::test]
async fn an_http1_connection_the_server_closes_is_replaced_and_nothing_fails() {
    let pki = TestPki::new();
    let (origin, url) = http1_origin(&pki, "/last").await;
    origin.answer(
        "/last",
        proxyscope::testing::CannedReply::new(200)
            .header("connection", "close")
            .body("bye"),
    );
    let client = trusting(&pki).build().unwrap();
    for i in 1..=4 {
        let res = client.get(&url).send().await.unwrap();
        assert_eq!(res.text().await.unwrap(), "bye", "request {i}");
    }
    assert_eq!(origin.accepted(), 4);
}

/// An HTTPS origin on loopback speaking HTTP/1.1 only, answering `200 ok`, that closes each
/// connection idle for `idle_close` (`None`: never); its URL, the connections it accepted, and
/// how many of them ended.
async fn counting_http1_origin(
    pki: &TestPki,
    idle_close: Option<Duration>,
) -> (String, Arc<AtomicUsize>, Arc<AtomicUsize>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let mut config = (*pki.server_config(pki.localhost(), ChainMode::Full)).clone();
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(config));
    let accepted = Arc::new(AtomicUsize::new(0));
    let closed = Arc::new(AtomicUsize::new(0));
    let (a, c) = (Arc::clone(&accepted), Arc::clone(&closed));
    tokio::spawn(async move {
        while let Ok((tcp, _)) = listener.accept().await {
            a.fetch_add(1, Ordering::Relaxed);
            let (acceptor, c) = (acceptor.clone(), Arc::clone(&c));
            tokio::spawn(async move {
                let Ok(tls) = acceptor.accept(tcp).await else {
                    return;
                };
                let svc = hyper::service::service_fn(|_req: http::Request<Incoming>| async {
                    Ok::<_, std::convert::Infallible>(http::Response::new(
                        http_body_util::Full::new(bytes::Bytes::from_static(b"ok")),
                    ))
                });
                let mut b = hyper::server::conn::http1::Builder::new();
                if let Some(idle) = idle_close {
                    b.timer(hyper_util::rt::TokioTimer::new())
                        .header_read_timeout(idle);
                }
                // Ended: by the client, or by the server's own idle timeout.
                let _ = b.serve_connection(TokioIo::new(tls), svc).await;
                c.fetch_add(1, Ordering::Relaxed);
            });
        }
    });
    (format!("https://localhost:{port}/"), accepted, closed)
}

#[tokio::test]
async fn an_idle_http1_connection_is_closed_after_the_idle_timeout_without_a_request() {
    let pki = TestPki::new();
    let (url, accepted, closed) = counting_http1_origin(&pki, None).await;
    let client = trusting(&pki)
        .pool_idle_timeout(Some(Duration::from_millis(500)))
        .build()
        .unwrap();
    for _ in 0..2 {
        assert_eq!(get(&client, &url).await, Version::HTTP_11);
    }
    assert_eq!(accepted.load(Ordering::Relaxed), 1);
    assert_eq!(closed.load(Ordering::Relaxed), 0);
    // No request comes: the client closes it on its own (at most one timeout late). Wide
    // margins: a loaded machine may stall a while.
    let mut waited = Duration::ZERO;
    while closed.load(Ordering::Relaxed) == 0 && waited < Duration::from_secs(10) {
        tokio::time::sleep(Duration::from_millis(100)).await;
        waited += Duration::from_millis(100);
    }
    assert_eq!(closed.load(Ordering::Relaxed), 1, "closed by the client");
    assert!(
        waited >= Duration::from_millis(400),
        "not before the timeout: {waited:?}"
    );
    // The next request opens another.
    assert_eq!(get(&client, &url).await, Version::HTTP_11);
    assert_eq!(accepted.load(Ordering::Relaxed), 2);
}

#[tokio::test]
async fn an_http1_connection_its_server_closed_while_idle_is_not_used_again() {
    let pki = TestPki::new();
    let (url, accepted, _) = counting_http1_origin(&pki, Some(Duration::from_millis(100))).await;
    let client = trusting(&pki).build().unwrap();
    for i in 1..=3 {
        assert_eq!(get(&client, &url).await, Version::HTTP_11, "request {i}");
        // Longer than the server keeps an idle connection.
        tokio::time::sleep(Duration::from_millis(400)).await;
    }
    assert_eq!(accepted.load(Ordering::Relaxed), 3);
}
