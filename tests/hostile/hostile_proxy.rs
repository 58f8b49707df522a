//! Hostile proxies: small tokio servers on 127.0.0.1:0 that misbehave the ways real middleboxes
//! do — headers trickled a byte a second, an endless body after a 403, a 1 MiB header line,
//! invalid UTF-8, an HTTP/0.9 reply, 1xx before the 200, bytes after the 200 that belong to the
//! tunnel, resets (RST through `SO_LINGER` 0) at each stage, and a SOCKS5 server that lies
//! about lengths. Each is a `RawServer` running the case's code; the origin is the harness's
//! `TestOrigin`.
//!
//! Each case ends in its documented code, hop and phase within its timeout plus 100 ms, with
//! no panic. Timeouts are short (300 ms) and time is measured around the request only, with the
//! client built beforehand.

use std::time::{Duration, Instant};

use proxyscope::connect::Resolver;
use proxyscope::testing::{ChainMode, RawServer, TestOrigin, TestPki, read_head};
use proxyscope::tls::Diagnosis;
use proxyscope::{Client, EnvSnapshot, Error, Hop, Phase, ProxySetting, Settings};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// The proxy handshake and TLS timeouts every case runs under.
const TIMEOUT: Duration = Duration::from_millis(300);
/// What the issue allows past the timeout.
const SLACK: Duration = Duration::from_millis(100);

/// The `host:port` a CONNECT head asks for, as a loopback address.
fn connect_port(head: &str) -> Option<u16> {
    head.lines()
        .next()?
        .split_whitespace()
        .nth(1)?
        .rsplit(':')
        .next()?
        .parse()
        .ok()
}

/// Resets the connection: `SO_LINGER` 0, then close, so the peer sees RST, not FIN.
fn reset(s: TcpStream) {
    let _ = s.set_zero_linger();
    drop(s);
}

/// Writes `bytes`, then holds the connection open for a while without another byte.
async fn write_and_hold(mut s: TcpStream, bytes: &[u8]) {
    let _ = s.write_all(bytes).await;
    let _ = s.flush().await;
    tokio::time::sleep(Duration::from_secs(10)).await;
}

fn client_via(proxy: &str, pki: &TestPki) -> Client {
    client_with(proxy, pki, false)
}

pub(super) fn client_with(proxy: &str, pki: &TestPki, tunnel_plain_http: bool) -> Client {
    let layer = Settings::new()
        .with_proxy(ProxySetting::parse(proxy).unwrap())
        .with_ca_file([pki.root_pem_path().to_path_buf()])
        .with_timeout(Phase::Connect, Duration::from_secs(2))
        .with_timeout(Phase::Proxy, TIMEOUT)
        .with_timeout(Phase::Tls, TIMEOUT)
        .with_timeout(Phase::Http, TIMEOUT);
    Client::builder()
        .global(layer)
        .env(EnvSnapshot::from_pairs(Vec::<(String, String)>::new()))
        .resolver(Resolver::pinned(
            "localhost",
            ["127.0.0.1".parse().unwrap()],
        ))
        .tunnel_plain_http(tunnel_plain_http)
        .build()
        .unwrap()
}

/// Runs `GET url` and returns the error with the time it took, failing if it succeeded.
async fn failing_get(client: &Client, url: &str) -> (Error, Duration) {
    let started = Instant::now();
    let result = client.get(url).await;
    let elapsed = started.elapsed();
    match result {
        Ok(res) => panic!("expected a failure, got status {}", res.status()),
        Err(e) => (e, elapsed),
    }
}

fn assert_code(e: &Error, elapsed: Duration, code: &str, hop: Hop, phase: Phase) {
    assert_eq!(e.code(), code, "{}", e.report());
    assert_eq!(e.hop(), Some(hop), "{}", e.report());
    assert_eq!(e.phase(), phase, "{}", e.report());
    assert!(
        elapsed <= TIMEOUT + SLACK,
        "{code} took {elapsed:?}, more than {TIMEOUT:?} + {SLACK:?}"
    );
}

async fn tls_origin(pki: &TestPki) -> TestOrigin {
    TestOrigin::https(pki, pki.localhost(), ChainMode::Full).await
}

// ---------------------------------------------------------------------------------------------
// The reply head
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn headers_trickled_a_byte_a_second_end_in_proxy_timeout() {
    let pki = TestPki::new();
    let server = RawServer::start(|mut s| async move {
        if read_head(&mut s).await.is_none() {
            return;
        }
        for b in b"HTTP/1.1 200 Connection established\r\n\r\n" {
            if s.write_all(&[*b]).await.is_err() {
                return;
            }
            tokio::time::sleep(Duration::from_secs(1)).await;
        }
    })
    .await;
    let addr = server.addr();
    let client = client_via(&format!("http://{addr}"), &pki);
    let (e, elapsed) = failing_get(&client, "https://localhost:9/").await;
    assert_code(&e, elapsed, "proxy.timeout", Hop::Proxy, Phase::Proxy);
    assert_eq!(e.evidence().timeout, Some(TIMEOUT));
    assert_eq!(e.evidence().target.as_deref(), Some("localhost:9"));
    assert!(e.evidence().proxy_reply.is_none());
}

#[tokio::test]
async fn an_endless_body_after_a_403_is_cut_to_an_excerpt() {
    let pki = TestPki::new();
    for head in [
        &b"HTTP/1.1 403 Forbidden\r\nServer: gw\r\n\r\n"[..],
        b"HTTP/1.1 403 Forbidden\r\nServer: gw\r\nContent-Length: 99999999999\r\n\r\n",
        b"HTTP/1.1 403 Forbidden\r\nServer: gw\r\nTransfer-Encoding: chunked\r\n\r\n",
    ] {
        let chunked = head.ends_with(b"chunked\r\n\r\n");
        let server = RawServer::start(move |mut s| async move {
            if read_head(&mut s).await.is_none() || s.write_all(head).await.is_err() {
                return;
            }
            let block = if chunked {
                format!("1000\r\n{}\r\n", "x".repeat(4096)).into_bytes()
            } else {
                vec![b'x'; 4096]
            };
            while s.write_all(&block).await.is_ok() {}
        })
        .await;
        let addr = server.addr();
        let client = client_via(&format!("http://{addr}"), &pki);
        let (e, elapsed) = failing_get(&client, "https://localhost:9/").await;
        assert_code(&e, elapsed, "proxy.forbidden", Hop::Proxy, Phase::Proxy);
        let reply = e.evidence().proxy_reply.as_ref().unwrap();
        assert_eq!(reply.status, 403);
        assert_eq!(reply.header("server"), Some("gw"));
        assert!(reply.body_truncated);
        let excerpt = reply.body_excerpt.as_deref().unwrap();
        assert!(excerpt.len() <= 1024 && excerpt.bytes().all(|b| b == b'x'));
    }
}

#[tokio::test]
async fn a_slow_body_after_a_403_ends_within_the_proxy_timeout() {
    let pki = TestPki::new();
    let server = RawServer::start(|mut s| async move {
        if read_head(&mut s).await.is_none() {
            return;
        }
        write_and_hold(s, b"HTTP/1.1 403 Forbidden\r\nServer: gw\r\n\r\npolicy").await;
    })
    .await;
    let addr = server.addr();
    let client = client_via(&format!("http://{addr}"), &pki);
    let (e, elapsed) = failing_get(&client, "https://localhost:9/").await;
    assert_code(&e, elapsed, "proxy.forbidden", Hop::Proxy, Phase::Proxy);
    let reply = e.evidence().proxy_reply.as_ref().unwrap();
    assert_eq!(reply.body_excerpt.as_deref(), Some("policy"));
    assert!(!reply.body_truncated);
}

#[tokio::test]
async fn a_one_mebibyte_header_line_is_proxy_protocol() {
    let pki = TestPki::new();
    for status_line in [
        "HTTP/1.1 200 Connection established",
        "HTTP/1.1 403 Forbidden",
    ] {
        let server = RawServer::start(move |mut s| async move {
            if read_head(&mut s).await.is_none() {
                return;
            }
            let mut reply = format!("{status_line}\r\nX-Big: ").into_bytes();
            reply.extend(std::iter::repeat_n(b'a', 1 << 20));
            reply.extend_from_slice(b"\r\n\r\n");
            write_and_hold(s, &reply).await;
        })
        .await;
        let addr = server.addr();
        let client = client_via(&format!("http://{addr}"), &pki);
        let (e, elapsed) = failing_get(&client, "https://localhost:9/").await;
        assert_code(&e, elapsed, "proxy.protocol", Hop::Proxy, Phase::Proxy);
        assert!(e.evidence().cause.is_some());
        assert!(e.evidence().proxy_reply.is_none());
    }
    // A 1 MiB reason phrase is the same failure.
    let server = RawServer::start(|mut s| async move {
        if read_head(&mut s).await.is_none() {
            return;
        }
        let mut reply = b"HTTP/1.1 403 ".to_vec();
        reply.extend(std::iter::repeat_n(b'r', 1 << 20));
        reply.extend_from_slice(b"\r\n\r\n");
        write_and_hold(s, &reply).await;
    })
    .await;
    let addr = server.addr();
    let client = client_via(&format!("http://{addr}"), &pki);
    let (e, elapsed) = failing_get(&client, "https://localhost:9/").await;
    assert_code(&e, elapsed, "proxy.protocol", Hop::Proxy, Phase::Proxy);
}

#[tokio::test]
async fn invalid_utf8_in_reason_and_headers_keeps_the_classification() {
    let pki = TestPki::new();
    let server = RawServer::start(|mut s| async move {
        if read_head(&mut s).await.is_none() {
            return;
        }
        let reply: &[u8] = b"HTTP/1.1 403 Verboten \xff\xfe\r\nServer: gw\xc3\x28\r\nX-Squid-Error: ERR_ACCESS_DENIED 0\r\nContent-Length: 4\r\n\r\n\xff\xfeno";
        write_and_hold(s, reply).await;
    })
    .await;
    let addr = server.addr();
    let client = client_via(&format!("http://{addr}"), &pki);
    let (e, elapsed) = failing_get(&client, "https://localhost:9/").await;
    assert_code(&e, elapsed, "proxy.forbidden", Hop::Proxy, Phase::Proxy);
    let reply = e.evidence().proxy_reply.as_ref().unwrap();
    assert_eq!(reply.status, 403);
    assert_eq!(reply.header("server"), Some("gw\u{FFFD}("));
    assert_eq!(reply.body_excerpt.as_deref(), Some("\u{FFFD}\u{FFFD}no"));
    assert_eq!(
        e.evidence().cause.as_deref(),
        Some("X-Squid-Error: ERR_ACCESS_DENIED")
    );
    // JSON of the evidence stays valid.
    let json: serde_json::Value = serde_json::to_value(&e).unwrap();
    assert_eq!(json["code"], "proxy.forbidden");
}

#[tokio::test]
async fn invalid_utf8_in_a_200_still_opens_the_tunnel() {
    let pki = TestPki::new();
    let origin = tls_origin(&pki).await;
    let server = RawServer::start(|mut s| async move {
        let Some((head, _)) = read_head(&mut s).await else {
            return;
        };
        let Some(port) = connect_port(&head) else {
            return;
        };
        let Ok(mut up) = TcpStream::connect(("127.0.0.1", port)).await else {
            return;
        };
        if s.write_all(b"HTTP/1.1 200 Verbunden \xff\r\nVia: \xc3\x28 p\r\n\r\n")
            .await
            .is_ok()
        {
            let _ = tokio::io::copy_bidirectional(&mut s, &mut up).await;
        }
    })
    .await;
    let addr = server.addr();
    let client = client_via(&format!("http://{addr}"), &pki);
    let res = client
        .get(origin.url_with_host("localhost", "/"))
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    assert_eq!(origin.requests().len(), 1);
}

#[tokio::test]
async fn an_http_0_9_reply_is_proxy_protocol() {
    let pki = TestPki::new();
    for hold in [false, true] {
        let server = RawServer::start(move |mut s| async move {
            if read_head(&mut s).await.is_none() {
                return;
            }
            let body = b"<html><body>Access denied by policy</body></html>\n";
            if hold {
                write_and_hold(s, body).await;
            } else {
                let _ = s.write_all(body).await;
                let _ = s.shutdown().await;
            }
        })
        .await;
        let addr = server.addr();
        let client = client_via(&format!("http://{addr}"), &pki);
        let (e, elapsed) = failing_get(&client, "https://localhost:9/").await;
        assert_code(&e, elapsed, "proxy.protocol", Hop::Proxy, Phase::Proxy);
        assert!(e.evidence().proxy_reply.is_none());
        assert!(
            e.evidence()
                .cause
                .as_deref()
                .is_some_and(|c| c.contains("<html>"))
        );
    }
}

#[tokio::test]
async fn interim_1xx_replies_before_the_200_are_skipped() {
    let pki = TestPki::new();
    let origin = tls_origin(&pki).await;
    let server = RawServer::start(|mut s| async move {
        let Some((head, _)) = read_head(&mut s).await else {
            return;
        };
        let Some(port) = connect_port(&head) else {
            return;
        };
        let Ok(mut up) = TcpStream::connect(("127.0.0.1", port)).await else {
            return;
        };
        for part in [
            &b"HTTP/1.1 100 Continue\r\n\r\n"[..],
            b"HTTP/1.1 102 Processing\r\nX-Progress: 1\r\n\r\n",
            b"HTTP/1.1 200 Connection established\r\n\r\n",
        ] {
            if s.write_all(part).await.is_err() {
                return;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        let _ = tokio::io::copy_bidirectional(&mut s, &mut up).await;
    })
    .await;
    let addr = server.addr();
    let client = client_via(&format!("http://{addr}"), &pki);
    let res = client
        .get(origin.url_with_host("localhost", "/"))
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    assert_eq!(origin.requests().len(), 1);
}

// ---------------------------------------------------------------------------------------------
// Bytes after the 200
// ---------------------------------------------------------------------------------------------

/// The TLS diagnosis in `e`'s evidence.
fn diagnosis(e: &Error) -> Option<Diagnosis> {
    e.evidence().tls.as_ref().map(|t| t.diagnosis)
}

/// The proxy writes its 200 and, in the same segment, a TLS record from "the origin": a fatal
/// `handshake_failure` alert. The client's TLS must receive exactly those bytes: it reports
/// that very alert (a dropped or shifted byte would be a different error, or a timeout).
#[tokio::test]
async fn bytes_after_the_200_reach_tls_intact() {
    let pki = TestPki::new();
    let server = RawServer::start(|mut s| async move {
        if read_head(&mut s).await.is_none() {
            return;
        }
        let reply = b"HTTP/1.1 200 Connection established\r\n\r\n\x15\x03\x03\x00\x02\x02\x28";
        write_and_hold(s, reply).await;
    })
    .await;
    let addr = server.addr();
    let client = client_via(&format!("http://{addr}"), &pki);
    let (e, elapsed) = failing_get(&client, "https://localhost:9/").await;
    assert_code(&e, elapsed, "tls.handshake", Hop::Origin, Phase::Tls);
    let alert = rustls::Error::AlertReceived(rustls::AlertDescription::HandshakeFailure);
    let tls = e.evidence().tls.as_ref().unwrap();
    assert_eq!(tls.rustls_error, Some(alert.to_string()));
    assert_eq!(tls.hop, Hop::Origin);
}

/// A plain `http://` request tunnelled with CONNECT: the proxy sends a whole HTTP response in
/// the same write as its 200, before the request is sent. The bytes reach HTTP unaltered, and
/// HTTP/1.1 rejects a response that precedes its request: `http.protocol` at the origin hop,
/// at once, never a hang and never a response mistaken for the origin's.
#[tokio::test]
async fn an_unsolicited_response_after_the_200_is_http_protocol() {
    let pki = TestPki::new();
    let server = RawServer::start(|mut s| async move {
        if read_head(&mut s).await.is_none() {
            return;
        }
        let reply = b"HTTP/1.1 200 Connection established\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 12\r\n\r\nfrom-the-tun";
        write_and_hold(s, reply).await;
    })
    .await;
    let addr = server.addr();
    let client = client_with(&format!("http://{addr}"), &pki, true);
    let (e, elapsed) = failing_get(&client, "http://localhost:9/").await;
    assert_code(&e, elapsed, "http.protocol", Hop::Origin, Phase::Http);
    assert!(e.evidence().proxy_reply.is_none());
}

/// Bytes after the 200 that are not TLS reach the origin's TLS handshake, which fails on them:
/// they were neither dropped nor read as part of the proxy's reply.
#[tokio::test]
async fn non_tls_bytes_after_the_200_fail_the_origin_handshake() {
    let pki = TestPki::new();
    let server = RawServer::start(|mut s| async move {
        if read_head(&mut s).await.is_none() {
            return;
        }
        write_and_hold(
            s,
            b"HTTP/1.1 200 Connection established\r\n\r\nHTTP/1.1 200 OK\r\n\r\n",
        )
        .await;
    })
    .await;
    let addr = server.addr();
    let client = client_via(&format!("http://{addr}"), &pki);
    let (e, elapsed) = failing_get(&client, "https://localhost:9/").await;
    assert_code(&e, elapsed, "tls.handshake", Hop::Origin, Phase::Tls);
    assert_eq!(diagnosis(&e), Some(Diagnosis::NotTls));
    assert_eq!(e.evidence().target.as_deref(), Some("localhost:9"));
}

// ---------------------------------------------------------------------------------------------
// Resets at each stage
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn a_reset_right_after_accept_is_proxy_closed() {
    let pki = TestPki::new();
    let server = RawServer::start(|s| async move { reset(s) }).await;
    let addr = server.addr();
    let client = client_via(&format!("http://{addr}"), &pki);
    let (e, elapsed) = failing_get(&client, "https://localhost:9/").await;
    assert_code(&e, elapsed, "proxy.closed", Hop::Proxy, Phase::Proxy);
}

#[tokio::test]
async fn a_reset_mid_head_is_proxy_closed() {
    let pki = TestPki::new();
    let server = RawServer::start(|mut s| async move {
        if read_head(&mut s).await.is_none() {
            return;
        }
        let _ = s.write_all(b"HTTP/1.1 200 Connec").await;
        tokio::time::sleep(Duration::from_millis(30)).await;
        reset(s);
    })
    .await;
    let addr = server.addr();
    let client = client_via(&format!("http://{addr}"), &pki);
    let (e, elapsed) = failing_get(&client, "https://localhost:9/").await;
    assert_code(&e, elapsed, "proxy.closed", Hop::Proxy, Phase::Proxy);
}

#[tokio::test]
async fn a_reset_after_the_200_fails_the_origin_handshake() {
    let pki = TestPki::new();
    let server = RawServer::start(|mut s| async move {
        if read_head(&mut s).await.is_none() {
            return;
        }
        let _ = s
            .write_all(b"HTTP/1.1 200 Connection established\r\n\r\n")
            .await;
        // Wait for the ClientHello: the client has read the 200 and started TLS.
        let mut hello = [0u8; 1];
        let _ = s.read(&mut hello).await;
        reset(s);
    })
    .await;
    let addr = server.addr();
    let client = client_via(&format!("http://{addr}"), &pki);
    let (e, elapsed) = failing_get(&client, "https://localhost:9/").await;
    // Nothing from the origin ever came through the tunnel: the proxy's tunnel broke it.
    assert_code(&e, elapsed, "proxy.closed", Hop::Proxy, Phase::Tls);
    assert_eq!(e.blame(), proxyscope::Blame::Proxy);
    let closure = e.evidence().closure.expect("closure");
    assert_eq!(closure.how, proxyscope::error::CloseKind::Reset);
    assert_eq!(closure.stage, proxyscope::error::CloseStage::Tunnel);
    assert_eq!(closure.bytes_received, 0);
    assert_eq!(diagnosis(&e), Some(Diagnosis::ConnectionCut));
}

#[tokio::test]
async fn a_reset_mid_tls_fails_the_origin_handshake() {
    let pki = TestPki::new();
    let origin = tls_origin(&pki).await;
    let server = RawServer::start(|mut s| async move {
        let Some((head, _)) = read_head(&mut s).await else {
            return;
        };
        let Some(port) = connect_port(&head) else {
            return;
        };
        let Ok(mut up) = TcpStream::connect(("127.0.0.1", port)).await else {
            return;
        };
        let _ = s
            .write_all(b"HTTP/1.1 200 Connection established\r\n\r\n")
            .await;
        // Relay the ClientHello, then half of the server's first flight, then reset.
        let mut buf = vec![0u8; 16 * 1024];
        let Ok(n) = s.read(&mut buf).await else {
            return;
        };
        if up.write_all(&buf[..n]).await.is_err() {
            return;
        }
        let Ok(n) = up.read(&mut buf).await else {
            return;
        };
        let _ = s.write_all(&buf[..n / 2]).await;
        tokio::time::sleep(Duration::from_millis(30)).await;
        reset(s);
    })
    .await;
    let addr = server.addr();
    let client = client_via(&format!("http://{addr}"), &pki);
    let (e, elapsed) = failing_get(&client, &origin.url_with_host("localhost", "/")).await;
    assert_code(&e, elapsed, "tls.handshake", Hop::Origin, Phase::Tls);
    assert_eq!(diagnosis(&e), Some(Diagnosis::ConnectionCut));
}

#[tokio::test]
async fn a_reset_mid_response_through_an_absolute_form_proxy_is_http_protocol() {
    let pki = TestPki::new();
    let server = RawServer::start(|mut s| async move {
        if read_head(&mut s).await.is_none() {
            return;
        }
        let _ = s.write_all(b"HTTP/1.1 200 OK\r\nContent-Le").await;
        tokio::time::sleep(Duration::from_millis(30)).await;
        reset(s);
    })
    .await;
    let addr = server.addr();
    let client = client_via(&format!("http://{addr}"), &pki);
    let (e, elapsed) = failing_get(&client, "http://localhost:9/").await;
    assert_eq!(e.code(), "http.protocol", "{}", e.report());
    assert_eq!(e.phase(), Phase::Http);
    assert!(e.hop().is_some());
    assert!(elapsed <= TIMEOUT + SLACK, "{elapsed:?}");
}

// ---------------------------------------------------------------------------------------------
// A SOCKS5 server that lies about lengths
// ---------------------------------------------------------------------------------------------

/// A SOCKS5 server that accepts no-auth, reads the request, then sends `reply` and holds (or
/// closes when `close`).
async fn lying_socks(reply: Vec<u8>, close: bool) -> RawServer {
    RawServer::start(move |mut s| {
        let reply = reply.clone();
        async move {
            let mut greeting = [0u8; 2];
            if s.read_exact(&mut greeting).await.is_err() {
                return;
            }
            let mut methods = vec![0u8; usize::from(greeting[1])];
            if s.read_exact(&mut methods).await.is_err() || s.write_all(&[5, 0]).await.is_err() {
                return;
            }
            let mut req = [0u8; 512];
            if s.read(&mut req).await.is_err() {
                return;
            }
            if close {
                let _ = s.write_all(&reply).await;
                let _ = s.shutdown().await;
            } else {
                write_and_hold(s, &reply).await;
            }
        }
    })
    .await
}

#[tokio::test]
async fn a_socks_reply_longer_than_it_sends_is_proxy_timeout_or_closed() {
    let pki = TestPki::new();
    // Declares a 200-byte bound name, sends 3 bytes of it.
    let short = vec![5, 0, 0, 3, 200, b'a', b'b', b'c'];
    let socks = lying_socks(short.clone(), false).await;
    let addr = socks.addr();
    let client = client_via(&format!("socks5h://{addr}"), &pki);
    let (e, elapsed) = failing_get(&client, "https://localhost:9/").await;
    assert_code(&e, elapsed, "proxy.timeout", Hop::Proxy, Phase::Proxy);
    assert_eq!(e.evidence().timeout, Some(TIMEOUT));

    let socks = lying_socks(short, true).await;
    let addr = socks.addr();
    let client = client_via(&format!("socks5h://{addr}"), &pki);
    let (e, elapsed) = failing_get(&client, "https://localhost:9/").await;
    assert_code(&e, elapsed, "proxy.closed", Hop::Proxy, Phase::Proxy);
}

#[tokio::test]
async fn a_socks_reply_shorter_than_it_sends_leaves_bytes_in_the_tunnel() {
    let pki = TestPki::new();
    // Declares a 1-byte bound name but sends eight: the extra bytes are the tunnel's, and the
    // origin's TLS handshake fails on them.
    let reply = [&[5u8, 0, 0, 3, 1][..], b"longname", &[0, 80]].concat();
    let socks = lying_socks(reply, false).await;
    let addr = socks.addr();
    let client = client_via(&format!("socks5h://{addr}"), &pki);
    let (e, elapsed) = failing_get(&client, "https://localhost:9/").await;
    assert_code(&e, elapsed, "tls.handshake", Hop::Origin, Phase::Tls);
    assert_eq!(diagnosis(&e), Some(Diagnosis::NotTls));
}

#[tokio::test]
async fn socks_replies_that_are_not_socks5_are_proxy_protocol() {
    let pki = TestPki::new();
    for reply in [
        vec![4u8, 0, 0, 1, 127, 0, 0, 1, 0, 80],
        vec![5, 0, 0, 9, 127, 0, 0, 1, 0, 80],
        b"HTTP/1.1 400 Bad Request\r\n\r\n".to_vec(),
    ] {
        let socks = lying_socks(reply, false).await;
        let addr = socks.addr();
        let client = client_via(&format!("socks5h://{addr}"), &pki);
        let (e, elapsed) = failing_get(&client, "https://localhost:9/").await;
        assert_code(&e, elapsed, "proxy.protocol", Hop::Proxy, Phase::Proxy);
        assert!(e.evidence().cause.is_some());
    }
    // A method selection that picks a method never offered.
    let server = RawServer::start(|mut s| async move {
        let mut greeting = [0u8; 3];
        if s.read_exact(&mut greeting).await.is_ok() {
            write_and_hold(s, &[5, 2]).await;
        }
    })
    .await;
    let addr = server.addr();
    let client = client_via(&format!("socks5h://{addr}"), &pki);
    let (e, elapsed) = failing_get(&client, "https://localhost:9/").await;
    assert_code(&e, elapsed, "proxy.protocol", Hop::Proxy, Phase::Proxy);
}

#[tokio::test]
async fn a_socks_failure_reply_with_a_lying_address_is_proxy_refused() {
    let pki = TestPki::new();
    // Reply code 5 (connection refused) with an address length that is never sent.
    let socks = lying_socks(vec![5, 5, 0, 3, 255], false).await;
    let addr = socks.addr();
    let client = client_via(&format!("socks5h://{addr}"), &pki);
    let (e, elapsed) = failing_get(&client, "https://localhost:9/").await;
    assert_code(&e, elapsed, "proxy.refused", Hop::Proxy, Phase::Proxy);
    assert_eq!(e.evidence().proxy_reply.as_ref().map(|r| r.status), Some(5));
}
