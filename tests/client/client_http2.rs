//! HTTP/2 as the client speaks it on the connections it holds (through `h2` directly): request
//! bodies larger than the peer's windows go through within its flow control, responses larger
//! than the client's windows are read whole, an empty body is announced where it means
//! something, connection-specific headers never reach the wire, `HEAD` answers carry no body,
//! a failing request body is `request.body` with its cause, a request given up while its body is
//! sent has its stream reset (the peer is not left waiting), a dropped client's connection
//! closes once the last response on it is read, and a request sent from outside the
//! runtime's tasks (a `block_on` on another thread) is answered the same. Checked on the
//! harness origin's side (what it received, when its connections ended), never by timing.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use bytes::Bytes;
use futures_util::StreamExt as _;
use http::Version;
use proxyscope::client::{Body, Client};
use proxyscope::testing::{ChainMode, TestOrigin, TestPki};
use proxyscope::{Blame, Hop, Phase};

use crate::client_requests::{Chunks, has_cause};
use crate::common::servers::{builder, layer};

/// A client going direct and trusting `pki`'s root.
fn trusting(pki: &TestPki) -> Client {
    builder(layer(None).with_ca_file([pki.root_pem_path().to_path_buf()]))
        .build()
        .unwrap()
}

/// The harness's HTTPS origin (ALPN `h2`), a client trusting it, and the origin's URL for `path`.
async fn h2_setup(path: &str) -> (TestPki, TestOrigin, Client, String) {
    let pki = TestPki::new();
    let origin = TestOrigin::https(&pki, pki.localhost(), ChainMode::Full).await;
    let client = trusting(&pki);
    let url = origin.url_with_host("localhost", path);
    (pki, origin, client, url)
}

#[tokio::test]
async fn request_bodies_larger_than_the_peers_windows_arrive_whole() {
    let (_pki, origin, client, url) = h2_setup("/echo").await;
    // 6 MiB streamed (no length known) and 3 MiB in one piece (its length announced): both
    // beyond the 64 KiB the peer grants a stream at first, so both wait for its window.
    let streamed = client
        .post(&url)
        .body(Body::wrap_stream(Chunks {
            left: 96,
            size: 64 * 1024,
            fail: false,
        }))
        .send()
        .await
        .unwrap();
    assert_eq!(streamed.version(), Version::HTTP_2);
    assert_eq!(streamed.status(), 200);
    streamed.bytes().await.unwrap();
    let whole = client
        .put(&url)
        .body(vec![b'w'; 3 * 1024 * 1024])
        .send()
        .await
        .unwrap();
    assert_eq!(whole.status(), 200);
    whole.bytes().await.unwrap();
    let seen = origin.requests();
    assert_eq!(seen.len(), 2);
    assert_eq!(seen[0].version, Version::HTTP_2);
    assert_eq!(seen[0].body_len, 6 * 1024 * 1024);
    assert!(seen[0].body_complete);
    assert!(!seen[0].headers.contains_key("content-length"));
    assert_eq!(seen[1].body_len, 3 * 1024 * 1024);
    assert!(seen[1].body_complete);
    assert_eq!(seen[1].headers["content-length"], "3145728");
    assert_eq!(origin.accepted(), 1, "one connection for both");
}

#[tokio::test]
async fn responses_larger_than_the_clients_windows_are_read_whole() {
    // 5 MiB: more than the stream's (2 MiB) and the connection's (5 MiB) receive windows, which
    // only grow back as the body is read.
    let (_pki, _origin, client, url) = h2_setup("/bytes/5242880").await;
    for _ in 0..2 {
        let res = client.get(&url).send().await.unwrap();
        assert_eq!(res.version(), Version::HTTP_2);
        assert_eq!(res.bytes().await.unwrap().len(), 5 * 1024 * 1024);
    }
}

#[tokio::test]
async fn empty_bodies_are_announced_only_where_a_body_means_something() {
    let (_pki, origin, client, url) = h2_setup("/echo").await;
    client.post(&url).send().await.unwrap();
    client.get(&url).send().await.unwrap();
    let seen = origin.requests();
    assert_eq!(seen[0].headers["content-length"], "0", "POST");
    assert!(!seen[1].headers.contains_key("content-length"), "GET");
}

#[tokio::test]
async fn connection_specific_headers_never_reach_the_wire() {
    let (_pki, origin, client, url) = h2_setup("/echo").await;
    let res = client
        .get(&url)
        .header("connection", "x-hop-only")
        .header("x-hop-only", "1")
        .header("keep-alive", "timeout=5")
        .header("proxy-connection", "keep-alive")
        .header("te", "gzip")
        .header("upgrade", "websocket")
        .header("x-kept", "yes")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let seen = &origin.requests()[0];
    assert_eq!(seen.version, Version::HTTP_2);
    for gone in [
        "connection",
        "x-hop-only",
        "keep-alive",
        "proxy-connection",
        "te",
        "upgrade",
    ] {
        assert!(!seen.headers.contains_key(gone), "{gone} was sent");
    }
    assert_eq!(seen.headers["x-kept"], "yes");
}

#[tokio::test]
async fn a_head_answer_has_no_body_whatever_its_length_says() {
    let (_pki, _origin, client, url) = h2_setup("/bytes/1000").await;
    let res = client.head(&url).send().await.unwrap();
    assert_eq!(res.version(), Version::HTTP_2);
    assert_eq!(res.status(), 200);
    assert!(res.bytes().await.unwrap().is_empty());
    // The connection is still good for the next request.
    let res = client.get(&url).send().await.unwrap();
    assert_eq!(res.bytes().await.unwrap().len(), 1000);
}

#[tokio::test]
async fn a_request_body_failing_over_http2_is_request_body_with_its_cause() {
    let (_pki, origin, client, url) = h2_setup("/echo").await;
    let e = client
        .post(&url)
        .body(Body::wrap_stream(Chunks {
            left: 4,
            size: 1024,
            fail: true,
        }))
        .send()
        .await
        .unwrap_err();
    assert_eq!(e.code(), "request.body", "{}", e.report());
    assert_eq!(e.blame(), Blame::LocalConfig);
    assert_eq!(e.phase(), Phase::Http);
    assert!(e.route().is_some_and(|r| r.is_direct()));
    assert_eq!(e.url().map(url::Url::as_str), Some(url.as_str()));
    assert!(has_cause::<std::io::Error>(&e), "{}", e.report());
    // The stream was reset, not the connection: the next request goes on it.
    let res = client.get(&url).send().await.unwrap();
    assert_eq!(res.version(), Version::HTTP_2);
    assert_eq!(origin.accepted(), 1);
}

#[tokio::test]
async fn a_request_given_up_while_its_body_is_sent_resets_its_stream() {
    let (_pki, origin, client, url) = h2_setup("/echo").await;
    // The connection first, so that the deadline below can only pass waiting for the answer
    // (however long a loaded machine takes over the handshake).
    client
        .get(&url)
        .send()
        .await
        .unwrap()
        .bytes()
        .await
        .unwrap();
    // One chunk, then a stream that never ends: only the request's deadline ends the request.
    let body = futures_util::stream::iter([Ok::<_, std::io::Error>(Bytes::from_static(b"first"))])
        .chain(futures_util::stream::pending());
    let timeout = Duration::from_millis(500);
    let e = client
        .post(&url)
        .timeout(timeout)
        .body(Body::wrap_stream(body))
        .send()
        .await
        .unwrap_err();
    assert_eq!(e.code(), "http.timeout", "{}", e.report());
    assert_eq!(e.hop(), Some(Hop::Origin));
    assert_eq!(e.phase(), Phase::Http);
    assert_eq!(e.evidence().timeout, Some(timeout));
    // The origin sees the body end unfinished: the stream was reset, not left open for ever.
    let seen = tokio::time::timeout(Duration::from_secs(10), async {
        loop {
            let seen = origin.requests();
            if let Some(post) = seen.into_iter().find(|r| r.method == http::Method::POST) {
                return post;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    })
    .await
    .expect("the origin saw the request's stream end");
    assert_eq!(seen.body_len, 5);
    assert!(!seen.body_complete);
    assert_eq!(
        origin.accepted(),
        1,
        "the request went on the held connection"
    );
}

/// An HTTP/2 origin (hyper's server) answering every request with 1 MiB; its URL and how many
/// of its connections have ended.
async fn counting_origin(pki: &TestPki) -> (String, Arc<AtomicUsize>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let acceptor =
        tokio_rustls::TlsAcceptor::from(pki.server_config(pki.localhost(), ChainMode::Full));
    let ended = Arc::new(AtomicUsize::new(0));
    let counter = Arc::clone(&ended);
    tokio::spawn(async move {
        while let Ok((tcp, _)) = listener.accept().await {
            let (acceptor, counter) = (acceptor.clone(), Arc::clone(&counter));
            tokio::spawn(async move {
                let Ok(tls) = acceptor.accept(tcp).await else {
                    return;
                };
                let svc = hyper::service::service_fn(|_req| async {
                    Ok::<_, std::convert::Infallible>(http::Response::new(
                        http_body_util::Full::new(Bytes::from(vec![b'x'; 1 << 20])),
                    ))
                });
                let _ =
                    hyper::server::conn::http2::Builder::new(hyper_util::rt::TokioExecutor::new())
                        .serve_connection(hyper_util::rt::TokioIo::new(tls), svc)
                        .await;
                counter.fetch_add(1, Ordering::SeqCst);
            });
        }
    });
    (format!("https://localhost:{port}/"), ended)
}

/// Waits (at most 10 s, else fails saying `what`) until one of the origin's connections ended.
async fn until_one_ended(ended: &AtomicUsize, what: &str) {
    tokio::time::timeout(Duration::from_secs(10), async {
        while ended.load(Ordering::SeqCst) == 0 {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    })
    .await
    .unwrap_or_else(|_| panic!("{what}"));
}

#[tokio::test]
async fn a_dropped_clients_connection_closes_once_its_last_response_is_read() {
    let pki = TestPki::new();
    let (url, ended) = counting_origin(&pki).await;
    let client = trusting(&pki);
    let res = client.get(&url).send().await.unwrap();
    assert_eq!(res.version(), Version::HTTP_2);
    drop(client);
    // The response still reads from the connection: it stays open meanwhile.
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(ended.load(Ordering::SeqCst), 0, "closed under a response");
    assert_eq!(res.bytes().await.unwrap().len(), 1 << 20);
    until_one_ended(&ended, "the connection closes once nothing holds it").await;
}

#[tokio::test]
async fn a_dropped_clients_idle_connection_closes() {
    let pki = TestPki::new();
    let (url, ended) = counting_origin(&pki).await;
    let client = trusting(&pki);
    let res = client.get(&url).send().await.unwrap();
    assert_eq!(res.bytes().await.unwrap().len(), 1 << 20);
    // Nothing on the connection now: dropping the client that holds it is what ends it.
    drop(client);
    until_one_ended(&ended, "the connection closes with its client").await;
}

#[test]
fn a_request_from_outside_the_runtimes_tasks_is_answered_the_same() {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let (_pki, origin, client, url) = rt.block_on(h2_setup("/bytes/64"));
    // From `block_on` on this thread, and from a task: the same answer on the one connection.
    for _ in 0..3 {
        let res = rt.block_on(client.get(&url).send()).unwrap();
        assert_eq!(res.version(), Version::HTTP_2);
        assert_eq!(rt.block_on(res.bytes()).unwrap().len(), 64);
    }
    let (c, u) = (client.clone(), url.clone());
    let len = rt
        .block_on(
            rt.spawn(async move { c.get(&u).send().await.unwrap().bytes().await.unwrap().len() }),
        )
        .unwrap();
    assert_eq!(len, 64);
    // A failure from `block_on` keeps its code, hop and phase.
    let e = rt
        .block_on(
            client
                .get(origin.url_with_host("localhost", "/status/599"))
                .send(),
        )
        .map(|r| r.error_for_status().unwrap_err())
        .unwrap();
    assert_eq!(e.code(), "http.status");
    assert_eq!(e.hop(), Some(Hop::Origin));
    assert_eq!(origin.accepted(), 1);
    drop(client);
    rt.block_on(async move { drop(origin) });
}
