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
