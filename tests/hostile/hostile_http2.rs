//! Hostile HTTP/2 origins, on the connections the client holds itself: a header block that
//! never ends (`CONTINUATION` frames forever) and an origin that says `h2` by ALPN and then
//! never answers. Each ends with its code, hop, phase and evidence, within a deadline and with
//! memory bounded, and the next request is not sent on what broke.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use proxyscope::client::Client;
use proxyscope::testing::{ChainMode, TestPki};
use proxyscope::{Hop, Phase};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;
use tokio_rustls::server::TlsStream;

use super::peak::{self, mib};
use crate::common::servers::{builder, layer};

/// Only a hang reaches this.
const HANG: Duration = Duration::from_secs(30);

/// An HTTP/2 frame: length, type, flags, stream, payload.
fn frame(kind: u8, flags: u8, stream: u32, payload: &[u8]) -> Vec<u8> {
    let len = u32::try_from(payload.len()).expect("frame fits");
    let mut out = len.to_be_bytes()[1..].to_vec();
    out.extend([kind, flags]);
    out.extend(stream.to_be_bytes());
    out.extend(payload);
    out
}

/// HPACK: a literal header field without indexing, with a new name (both shorter than 127).
fn literal(name: &[u8], value: &[u8]) -> Vec<u8> {
    let mut out = vec![0x00, u8::try_from(name.len()).expect("short name")];
    out.extend(name);
    out.push(u8::try_from(value.len()).expect("short value"));
    out.extend(value);
    out
}

/// A TLS origin on loopback that negotiates `h2` and hands each connection to `serve` once its
/// handshake is done; returns its URL and how many connections it accepted.
async fn h2_origin<F, Fut>(pki: &TestPki, serve: F) -> (String, Arc<AtomicUsize>)
where
    F: Fn(TlsStream<tokio::net::TcpStream>) -> Fut + Send + Sync + 'static,
    Fut: std::future::Future<Output = ()> + Send + 'static,
{
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let mut config = (*pki.server_config(pki.localhost(), ChainMode::Full)).clone();
    config.alpn_protocols = vec![b"h2".to_vec()];
    let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(config));
    let accepted = Arc::new(AtomicUsize::new(0));
    let counter = Arc::clone(&accepted);
    let serve = Arc::new(serve);
    tokio::spawn(async move {
        while let Ok((tcp, _)) = listener.accept().await {
            counter.fetch_add(1, Ordering::Relaxed);
            let (acceptor, serve) = (acceptor.clone(), Arc::clone(&serve));
            tokio::spawn(async move {
                if let Ok(tls) = acceptor.accept(tcp).await {
                    serve(tls).await;
                }
            });
        }
    });
    (format!("https://localhost:{port}/"), accepted)
}

fn client(pki: &TestPki) -> Client {
    builder(layer(None).with_ca_file([pki.root_pem_path().to_path_buf()]))
        .build()
        .unwrap()
}

/// Reads what the client sends until its first request's HEADERS frame has arrived (or the
/// connection ends), answering its SETTINGS as a server must.
async fn until_first_request(tls: &mut TlsStream<tokio::net::TcpStream>) -> bool {
    // Our SETTINGS (empty) first, as the server's preface.
    if tls.write_all(&frame(0x4, 0, 0, &[])).await.is_err() {
        return false;
    }
    let mut seen = Vec::new();
    let mut buf = [0u8; 4096];
    let preface = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n".len();
    loop {
        match tls.read(&mut buf).await {
            Ok(0) | Err(_) => return false,
            Ok(n) => seen.extend_from_slice(&buf[..n]),
        }
        // Walk the frames after the preface; a HEADERS frame (type 1) is the request.
        let mut at = preface;
        while seen.len() >= at + 9 {
            let len = usize::from(seen[at]) << 16
                | usize::from(seen[at + 1]) << 8
                | usize::from(seen[at + 2]);
            if seen[at + 3] == 0x1 {
                return true;
            }
            at += 9 + len;
        }
    }
}

#[tokio::test]
async fn a_header_block_that_never_ends_is_http_protocol_with_memory_bounded() {
    let pki = TestPki::new();
    let (url, accepted) = h2_origin(&pki, |mut tls| async move {
        if !until_first_request(&mut tls).await {
            return;
        }
        let _ = tls.write_all(&frame(0x4, 0x1, 0, &[])).await; // SETTINGS ACK
        // HEADERS for stream 1 without END_HEADERS, then CONTINUATION frames for ever: each
        // carries valid header fields, so only a cap on the block ends it.
        let mut block = vec![0x88]; // :status 200 (static table)
        block.extend(literal(b"x-flood", &[b'a'; 100]));
        if tls.write_all(&frame(0x1, 0, 1, &block)).await.is_err() {
            return;
        }
        let more: Vec<u8> = (0..100)
            .flat_map(|_| literal(b"x-flood", &[b'a'; 100]))
            .collect();
        let continuation = frame(0x9, 0, 1, &more);
        while tls.write_all(&continuation).await.is_ok() {}
    })
    .await;
    let client = client(&pki);
    let _measured = peak::LOCK.lock().await;
    let (e, grew) = peak::measure(async {
        tokio::time::timeout(HANG, client.get(&url).send())
            .await
            .expect("ends before the hang guard")
            .expect_err("an endless header block is no response")
    })
    .await;
    assert_eq!(e.code(), "http.protocol", "{}", e.report());
    assert_eq!(e.hop(), Some(Hop::Origin));
    assert_eq!(e.phase(), Phase::Http);
    assert_eq!(
        e.evidence().target.as_deref(),
        Some(url.trim_start_matches("https://").trim_end_matches('/'))
    );
    assert!(e.evidence().cause.is_some());
    assert!(e.route().is_some_and(|r| r.is_direct()));
    assert!(grew < mib(32), "peak grew {grew} bytes");
    // The next request opens a new connection rather than reuse the broken one.
    let before = accepted.load(Ordering::Relaxed);
    let again = tokio::time::timeout(HANG, client.get(&url).send())
        .await
        .expect("ends before the hang guard")
        .expect_err("the origin floods again");
    assert_eq!(again.code(), "http.protocol");
    assert_eq!(accepted.load(Ordering::Relaxed), before + 1);
}

#[tokio::test]
async fn an_origin_that_negotiates_h2_and_never_answers_times_out_on_the_origin_hop() {
    let pki = TestPki::new();
    let (url, _accepted) = h2_origin(&pki, |mut tls| async move {
        // The preface and the request are read, and nothing is ever written back.
        let mut buf = [0u8; 4096];
        while matches!(tls.read(&mut buf).await, Ok(n) if n > 0) {}
    })
    .await;
    let client = client(&pki);
    // Long enough for the TLS handshake on a loaded machine: the head is what never comes.
    let timeout = Duration::from_millis(1500);
    let e = tokio::time::timeout(HANG, client.get(&url).timeout(timeout).send())
        .await
        .expect("ends before the hang guard")
        .expect_err("a silent origin is no response");
    assert_eq!(e.code(), "http.timeout", "{}", e.report());
    assert_eq!(e.hop(), Some(Hop::Origin));
    assert_eq!(e.phase(), Phase::Http);
    assert_eq!(e.evidence().timeout, Some(timeout));
    assert!(e.route().is_some_and(|r| r.is_direct()));
}

/// An origin that answers the first request on each connection with `reply` (frames, after
/// acknowledging the client's SETTINGS), then holds the connection until the client closes it.
async fn answering(pki: &TestPki, reply: Vec<u8>) -> String {
    let (url, _accepted) = h2_origin(pki, move |mut tls| {
        let reply = reply.clone();
        async move {
            if !until_first_request(&mut tls).await {
                return;
            }
            let _ = tls.write_all(&frame(0x4, 0x1, 0, &[])).await; // SETTINGS ACK
            let _ = tls.write_all(&reply).await;
            let mut buf = [0u8; 4096];
            while matches!(tls.read(&mut buf).await, Ok(n) if n > 0) {}
        }
    })
    .await;
    url
}

/// A `200` head for stream 1 (`END_HEADERS`), with a `Content-Length` when `length` is given.
fn head_200(length: Option<&[u8]>) -> Vec<u8> {
    let mut block = vec![0x88]; // :status 200 (static table)
    if let Some(length) = length {
        block.extend(literal(b"content-length", length));
    }
    frame(0x1, 0x4, 1, &block)
}

/// `RST_STREAM` for stream 1 with `NO_ERROR`.
fn reset_no_error() -> Vec<u8> {
    frame(0x3, 0, 1, &0u32.to_be_bytes())
}

/// Asks an origin answering with `reply` and checks what comes back: `http.protocol` at the
/// origin hop, in the HTTP phase, with the cause in the evidence and the route taken.
async fn broken_origin(pki: &TestPki, reply: Vec<u8>) {
    let url = answering(pki, reply).await;
    let e = failure(&client(pki), &url).await;
    assert_eq!(e.code(), "http.protocol", "{}", e.report());
    assert_eq!(e.hop(), Some(Hop::Origin));
    assert_eq!(e.phase(), Phase::Http);
    assert!(e.evidence().cause.is_some());
    assert!(e.route().is_some_and(|r| r.is_direct()));
}

/// The request's error, whether it came with the head or while the body was read.
async fn failure(client: &Client, url: &str) -> proxyscope::Error {
    let res = tokio::time::timeout(HANG, client.get(url).send())
        .await
        .expect("ends before the hang guard");
    match res {
        Err(e) => e,
        Ok(res) => tokio::time::timeout(HANG, res.bytes())
            .await
            .expect("ends before the hang guard")
            .expect_err("a body that breaks its promise is no body"),
    }
}

#[tokio::test]
async fn a_body_shorter_than_its_content_length_is_http_protocol_on_the_origin_hop() {
    let pki = TestPki::new();
    let mut reply = head_200(Some(b"10"));
    reply.extend(frame(0x0, 0x1, 1, b"hello")); // DATA, END_STREAM: 5 of 10 bytes
    broken_origin(&pki, reply).await;
}

#[tokio::test]
async fn a_stream_reset_with_no_error_before_its_promised_length_is_http_protocol() {
    let pki = TestPki::new();
    let mut reply = head_200(Some(b"10"));
    reply.extend(frame(0x0, 0, 1, b"hello")); // 5 of 10 bytes, the stream left open
    reply.extend(reset_no_error());
    broken_origin(&pki, reply).await;
}

#[tokio::test]
async fn a_stream_reset_with_an_error_mid_body_is_http_protocol_not_a_short_body() {
    let pki = TestPki::new();
    let mut reply = head_200(None);
    reply.extend(frame(0x0, 0, 1, b"hello"));
    reply.extend(frame(0x3, 0, 1, &2u32.to_be_bytes())); // RST_STREAM INTERNAL_ERROR
    broken_origin(&pki, reply).await;
}

#[tokio::test]
async fn a_stream_reset_with_no_error_after_a_body_of_no_promised_length_ends_it() {
    // RFC 9113 §8.1: a server may answer and then reset the stream with NO_ERROR; with no
    // length promised, what came is the body (as hyper reads it too).
    let pki = TestPki::new();
    let mut reply = head_200(None);
    reply.extend(frame(0x0, 0, 1, b"hello"));
    reply.extend(reset_no_error());
    let url = answering(&pki, reply).await;
    let res = tokio::time::timeout(HANG, client(&pki).get(&url).send())
        .await
        .expect("ends before the hang guard")
        .unwrap();
    assert_eq!(res.status(), 200);
    assert_eq!(&res.bytes().await.unwrap()[..], b"hello");
}
