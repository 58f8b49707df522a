//! Peers that never stop sending: a CONNECT reply whose header lines never end, a refusal whose
//! body never ends, a response head that never ends (from an origin, and from a proxy answering
//! an absolute-form request). Each ends in its code, hop, phase and blame with the evidence the
//! code promises, and the peak resident set of this process (the hostile server included) grows
//! by less than [`MARGIN`] while it runs: the reads stop at their caps (16 KiB for a proxy's
//! reply head, hyper's buffer for a response head, 16 KiB of a refusal's body), never at the
//! end of the peer's data. No time is asserted; an outer timeout catches only a hang.

use std::time::Duration;

use proxyscope::testing::TestPki;
use proxyscope::{Blame, Client, EnvSnapshot, Error, Hop, Phase};
use tokio::io::AsyncWriteExt;
use tokio::net::TcpStream;

use super::hostile_proxy::client_with;
use super::peak::{self, mib};
use proxyscope::testing::{RawServer, read_head};

/// What one capped read may add to the peak: buffers, the server's side, other tests' noise.
const MARGIN: u64 = mib(32);
/// Only a hang reaches this.
const HANG: Duration = Duration::from_secs(60);

/// Reads the request head, writes `head`, then `line` for as long as the client reads.
async fn endless(mut s: TcpStream, head: &'static [u8], line: &'static [u8]) {
    if read_head(&mut s).await.is_none() || s.write_all(head).await.is_err() {
        return;
    }
    let block = line.repeat(4096 / line.len().max(1) + 1);
    while s.write_all(&block).await.is_ok() {}
}

/// Runs `GET url` through `client` under the meter; the error and how much the peak grew.
async fn measured_failure(client: &Client, url: &str) -> (Error, u64) {
    let (r, grew) = peak::measure(tokio::time::timeout(HANG, client.get(url))).await;
    match r.expect("a hostile peer never holds a request past its deadline") {
        Ok(res) => panic!("{url}: expected a failure, got {}", res.status()),
        Err(e) => (e, grew),
    }
}

fn assert_failure(e: &Error, code: &str, hop: Hop, phase: Phase, blame: Blame) {
    assert_eq!(e.code(), code, "{}", e.report());
    assert_eq!(e.hop(), Some(hop), "{}", e.report());
    assert_eq!(e.phase(), phase, "{}", e.report());
    assert_eq!(e.blame(), blame, "{}", e.report());
    assert!(e.hint().is_some(), "{}", e.report());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_connect_reply_whose_headers_never_end_stops_at_the_head_cap() {
    let _one = peak::LOCK.lock().await;
    let pki = TestPki::new();
    for status in [
        &b"HTTP/1.1 200 Connection established\r\n"[..],
        b"HTTP/1.1 403 Forbidden\r\n",
    ] {
        let server = RawServer::start(move |s| {
            endless(s, status, b"X-Pad: aaaaaaaaaaaaaaaaaaaaaaaaaaaa\r\n")
        })
        .await;
        let addr = server.addr();
        let client = client_with(&format!("http://{addr}"), &pki, false);
        let (e, grew) = measured_failure(&client, "https://localhost:9/").await;
        assert_failure(&e, "proxy.protocol", Hop::Proxy, Phase::Proxy, Blame::Proxy);
        // The head was never complete: no reply to keep, the parser's reason instead.
        assert!(e.evidence().proxy_reply.is_none());
        assert!(e.evidence().cause.is_some());
        assert_eq!(e.evidence().target.as_deref(), Some("localhost:9"));
        assert!(grew < MARGIN, "peak grew {grew} bytes");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refusal_whose_body_never_ends_keeps_an_excerpt() {
    let _one = peak::LOCK.lock().await;
    let pki = TestPki::new();
    let server = RawServer::start(|s| {
        endless(
            s,
            b"HTTP/1.1 403 Forbidden\r\nServer: gw\r\n\r\n",
            b"<p>denied</p>\n",
        )
    })
    .await;
    let addr = server.addr();
    let client = client_with(&format!("http://{addr}"), &pki, false);
    let (e, grew) = measured_failure(&client, "https://localhost:9/").await;
    assert_failure(
        &e,
        "proxy.forbidden",
        Hop::Proxy,
        Phase::Proxy,
        Blame::Proxy,
    );
    let reply = e.evidence().proxy_reply.as_ref().expect("the refusal");
    assert_eq!(reply.status, 403);
    assert!(reply.body_truncated);
    assert!(reply.body_excerpt.as_deref().unwrap().len() <= 1024);
    assert!(grew < MARGIN, "peak grew {grew} bytes");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_response_head_that_never_ends_is_http_protocol_from_its_sender() {
    let _one = peak::LOCK.lock().await;
    const HEAD: &[u8] = b"HTTP/1.1 200 OK\r\n";
    const LINE: &[u8] = b"X-Pad: aaaaaaaaaaaaaaaaaaaaaaaaaaaa\r\n";

    // From the origin, directly.
    let origin_server = RawServer::start(|s| endless(s, HEAD, LINE)).await;
    let origin = origin_server.addr();
    let direct = Client::builder()
        .env(EnvSnapshot::from_pairs(Vec::<(String, String)>::new()))
        .build()
        .unwrap();
    let (e, grew) = measured_failure(&direct, &format!("http://{origin}/")).await;
    assert_failure(&e, "http.protocol", Hop::Origin, Phase::Http, Blame::Origin);
    assert!(e.route().is_some_and(|r| r.is_direct()));
    assert!(e.evidence().target.is_some());
    assert!(grew < MARGIN, "direct: peak grew {grew} bytes");

    // From a proxy answering an absolute-form request: the proxy sent it.
    let pki = TestPki::new();
    let proxy_server = RawServer::start(|s| endless(s, HEAD, LINE)).await;
    let proxy = proxy_server.addr();
    let client = client_with(&format!("http://{proxy}"), &pki, false);
    let (e, grew) = measured_failure(&client, "http://localhost:9/").await;
    assert_failure(&e, "http.protocol", Hop::Proxy, Phase::Http, Blame::Proxy);
    assert!(e.route().is_some_and(|r| r.proxy().is_some()));
    assert!(grew < MARGIN, "absolute-form: peak grew {grew} bytes");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn endless_informational_responses_end_at_the_request_deadline() {
    let _one = peak::LOCK.lock().await;
    let server = RawServer::start(|s| endless(s, b"", b"HTTP/1.1 100 Continue\r\n\r\n")).await;
    let origin = server.addr();
    let deadline = Duration::from_millis(500);
    let client = Client::builder()
        .env(EnvSnapshot::from_pairs(Vec::<(String, String)>::new()))
        .global(proxyscope::Settings::new().with_timeout(Phase::Http, deadline))
        .build()
        .unwrap();
    let started = std::time::Instant::now();
    let (e, grew) = measured_failure(&client, &format!("http://{origin}/")).await;
    assert_failure(&e, "http.timeout", Hop::Origin, Phase::Http, Blame::Origin);
    assert!(started.elapsed() < deadline * 4, "{:?}", started.elapsed());
    assert!(grew < MARGIN, "peak grew {grew} bytes");
}
