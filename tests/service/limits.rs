//! The service's inbound limits against hostile callers: more idle sockets than
//! `max_connections`, every connection busy, a slowloris head, a silent socket, a slow body and a
//! large one. Time bounds are generous (several times the configured value) so a busy machine
//! cannot make them flaky; what is asserted is that the service closes or answers instead of
//! waiting forever, and with which code.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use http::{Method, StatusCode};
use proxyscope::testing::Policy;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::app::demo::Demo;
use crate::common::wire::{Body, read_response};
use crate::support::{Caller, is_closed, start_with};

/// Reads until the service closes the connection; what it sent and how long it took. Fails
/// after `limit`.
async fn until_closed(stream: &mut TcpStream, limit: Duration) -> (Vec<u8>, Duration) {
    let started = Instant::now();
    let mut got = Vec::new();
    let read = async {
        let mut buf = [0u8; 1024];
        loop {
            match stream.read(&mut buf).await {
                Ok(0) | Err(_) => break,
                Ok(n) => got.extend_from_slice(&buf[..n]),
            }
        }
    };
    tokio::time::timeout(limit, read)
        .await
        .unwrap_or_else(|_| panic!("the service kept the connection open for {limit:?}"));
    (got, started.elapsed())
}

async fn info_status(addr: SocketAddr) -> u16 {
    let mut s = TcpStream::connect(addr).await.expect("connect");
    s.write_all(b"GET /_info HTTP/1.1\r\nhost: svc\r\n\r\n")
        .await
        .expect("write");
    read_response(&mut s, Body::ByLength).await.status
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn idle_sockets_beyond_the_limit_close_the_oldest_and_info_still_answers() {
    let demo = Demo::start("1s").await.unwrap();
    // A long head timeout: whatever closes sockets here is the connection limit.
    let service = start_with(&demo, "max_connections = 32\nheader_timeout = \"1m\"", &[]).await;
    let addr = service.addr();
    let sockets: Vec<std::net::TcpStream> = (0..64)
        .map(|_| {
            let s = std::net::TcpStream::connect(addr).expect("connect");
            s.set_nonblocking(true).expect("non-blocking");
            s
        })
        .collect();
    // Each socket over the limit closed the oldest idle one: 32 closed, 32 open.
    let deadline = Instant::now() + Duration::from_secs(20);
    let mut closed = 0;
    while Instant::now() < deadline {
        closed = sockets.iter().filter(|s| is_closed(s)).count();
        if closed >= 32 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(closed, 32, "sockets closed by the limit");
    // A real request still gets in (closing one more idle socket) and is answered.
    let status = tokio::time::timeout(Duration::from_secs(10), info_status(addr))
        .await
        .expect("/_info answered within 10 s");
    assert_eq!(status, 200);
    tokio::time::sleep(Duration::from_millis(100)).await;
    let still_open = sockets.iter().filter(|s| !is_closed(s)).count();
    assert!(
        still_open <= 31,
        "{still_open} idle sockets open beside /_info's"
    );
    service.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn when_every_connection_is_busy_a_new_one_gets_503_without_being_read() {
    let demo = Demo::start("1s").await.unwrap();
    // google's requests hang in the global proxy until the request timeout.
    demo.egress_proxy.set_policy(Policy::Stall);
    let service = start_with(
        &demo,
        "max_connections = 2",
        &[("request = \"5s\"", "request = \"4s\"")],
    )
    .await;
    let addr = service.addr();
    let busy: Vec<_> = (0..2)
        .map(|_| {
            let c = Caller::new(&service);
            tokio::spawn(async move { c.translate("google").await.status })
        })
        .collect();
    let deadline = Instant::now() + Duration::from_secs(10);
    while demo.egress_proxy.accepted() < 2 {
        assert!(
            Instant::now() < deadline,
            "the two calls never reached the proxy"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }

    let started = Instant::now();
    let mut third = TcpStream::connect(addr).await.expect("connect");
    // Nothing is sent: the answer does not wait for a request.
    let reply = read_response(&mut third, Body::ByLength).await;
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(reply.status, 503);
    assert_eq!(reply.header("retry-after"), Some("1"));
    let body: serde_json::Value = serde_json::from_str(&reply.body).expect("JSON body");
    assert_eq!(body["error"]["code"], "service.overloaded");

    for call in busy {
        let status = call.await.expect("the busy call finished");
        assert_eq!(status, StatusCode::GATEWAY_TIMEOUT);
    }
    // Capacity is back once they are done.
    assert_eq!(info_status(addr).await, 200);
    service.shutdown().await;
}

#[tokio::test]
async fn a_slowloris_head_and_a_silent_socket_are_cut_at_the_header_timeout() {
    let demo = Demo::start("1s").await.unwrap();
    let service = start_with(&demo, "header_timeout = \"1s\"", &[]).await;
    let addr = service.addr();

    // One header line every 200 ms: the head never completes.
    let slow = TcpStream::connect(addr).await.expect("connect");
    let (mut read_half, mut write_half) = slow.into_split();
    let trickle = tokio::spawn(async move {
        let _ = write_half
            .write_all(b"GET /_info HTTP/1.1\r\nhost: svc\r\n")
            .await;
        for i in 0..200 {
            tokio::time::sleep(Duration::from_millis(200)).await;
            if write_half
                .write_all(format!("x-slow-{i}: 1\r\n").as_bytes())
                .await
                .is_err()
            {
                break;
            }
        }
    });
    let started = Instant::now();
    let mut got = Vec::new();
    let read = async {
        let mut buf = [0u8; 1024];
        loop {
            match read_half.read(&mut buf).await {
                Ok(0) | Err(_) => break,
                Ok(n) => got.extend_from_slice(&buf[..n]),
            }
        }
    };
    tokio::time::timeout(Duration::from_secs(15), read)
        .await
        .expect("the slow head was cut within 15 s");
    let took = started.elapsed();
    trickle.abort();
    assert!(
        took >= Duration::from_millis(800),
        "cut after {took:?}, before the timeout"
    );
    assert!(
        !String::from_utf8_lossy(&got).contains(" 200 "),
        "a head that never completed was answered: {}",
        String::from_utf8_lossy(&got)
    );

    // A socket that sends nothing at all.
    let mut silent = TcpStream::connect(addr).await.expect("connect");
    let (got, took) = until_closed(&mut silent, Duration::from_secs(15)).await;
    assert!(took >= Duration::from_millis(800), "closed after {took:?}");
    assert!(!String::from_utf8_lossy(&got).contains(" 200 "));

    // The service itself is fine.
    assert_eq!(info_status(addr).await, 200);
    service.shutdown().await;
}

#[tokio::test]
async fn bodies_are_bounded_in_time_and_size() {
    let demo = Demo::start("1s").await.unwrap();
    let service = start_with(&demo, "body_timeout = \"1s\"\nmax_body = 64", &[]).await;
    let addr = service.addr();

    let mut slow = TcpStream::connect(addr).await.expect("connect");
    slow.write_all(
        b"POST /v1/translate/apertium HTTP/1.1\r\nhost: svc\r\ncontent-length: 40\r\n\r\n0123456789",
    )
    .await
    .expect("write");
    let started = Instant::now();
    let reply = read_response(&mut slow, Body::ByLength).await;
    let took = started.elapsed();
    assert_eq!(reply.status, 408);
    assert!(
        took >= Duration::from_millis(800),
        "answered after {took:?}"
    );
    let body: serde_json::Value = serde_json::from_str(&reply.body).expect("JSON body");
    assert_eq!(body["error"]["code"], "service.body_timeout");
    assert!(
        demo.apertium.requests().is_empty(),
        "nothing reached the provider"
    );

    let c = Caller::new(&service);
    let big = c
        .call(Method::POST, "/v1/translate/apertium", &"x".repeat(65))
        .await;
    assert_eq!(big.status, StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(big.json()["error"]["code"], "service.body_too_large");
    let fits = c
        .call(Method::POST, "/v1/translate/apertium", &"x".repeat(64))
        .await;
    assert_eq!(fits.status, StatusCode::OK, "{}", fits.text);
    service.shutdown().await;
}
