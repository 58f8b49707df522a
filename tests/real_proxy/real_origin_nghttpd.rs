//! proxyscope's client against a real HTTP/2 server of another implementation: nghttpd (nghttp2)
//! on loopback. The client speaks HTTP/2 through the `h2` crate itself; nghttp2 is strict about
//! what a client may send (connection-specific headers, a `Content-Length` that disagrees with
//! the body, flow control), so a request it accepts is a well-formed one. Bodies larger than the
//! windows go both ways and come back whole; `HEAD` gets a head; a missing file is `http.status`
//! at the origin hop. The tests skip without nghttpd and fail under `CI=true`.

use std::time::Duration;

use bytes::Bytes;
use http::Version;
use proxyscope::client::Body;
use proxyscope::connect::Resolver;
use proxyscope::testing::TestPki;
use proxyscope::{Hop, Phase, Settings};

use crate::support::client::builder;
use crate::support::{RealNghttpd, start_or_skip};

/// 1 MiB that is not one byte repeated: a body cut or reordered anywhere differs.
fn pattern(len: usize) -> Vec<u8> {
    (0..len).map(|i| (i % 251) as u8).collect()
}

/// A client trusting `pki`'s root that finds `localhost` at nghttpd's address.
fn client(pki: &TestPki, server: &RealNghttpd) -> proxyscope::Client {
    builder(
        Settings::new()
            .with_ca_file([pki.root_pem_path().to_path_buf()])
            .with_timeout(Phase::Http, Duration::from_secs(10)),
    )
    .resolver(Resolver::pinned("localhost", [server.addr().ip()]))
    .build()
    .expect("the client builds")
}

pub(crate) async fn http2_bodies_from_nghttpd_arrive_whole_on_one_connection() {
    let pki = TestPki::new();
    let big = pattern(1 << 20);
    let server = start_or_skip!(RealNghttpd::start(
        &pki,
        &[("big.bin", &big), ("small.txt", b"small\n")]
    ));
    let client = client(&pki, &server);
    for _ in 0..3 {
        let res = client.get(server.url("/big.bin")).send().await.unwrap();
        assert_eq!(res.version(), Version::HTTP_2);
        assert_eq!(res.conn_info().unwrap().alpn.as_deref(), Some("h2"));
        assert_eq!(res.bytes().await.unwrap(), Bytes::from(big.clone()));
        let res = client.get(server.url("/small.txt")).send().await.unwrap();
        assert_eq!(&res.bytes().await.unwrap()[..], b"small\n");
    }
    // A head and no body.
    let res = client.head(server.url("/big.bin")).send().await.unwrap();
    assert_eq!(res.status(), 200);
    assert_eq!(res.headers()["content-length"], "1048576");
    assert!(res.bytes().await.unwrap().is_empty());
    // Headers HTTP/2 forbids are left out, or nghttp2 would reset the stream.
    let res = client
        .get(server.url("/small.txt"))
        .header("connection", "keep-alive, x-hop")
        .header("x-hop", "1")
        .header("keep-alive", "timeout=5")
        .header("te", "gzip")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200, "nghttpd took the request");
    // A missing file: nghttpd's 404, at the origin hop.
    let e = client
        .get(server.url("/missing"))
        .send()
        .await
        .unwrap()
        .error_for_status()
        .unwrap_err();
    assert_eq!(e.code(), "http.status");
    assert_eq!(e.hop(), Some(Hop::Origin));
    assert_eq!(e.evidence().status, Some(404));
}

pub(crate) async fn uploads_to_nghttpd_come_back_whole() {
    let pki = TestPki::new();
    let server = start_or_skip!(RealNghttpd::start(&pki, &[("index.html", b"index\n")]));
    let client = client(&pki, &server);
    // Announced (3 MiB in one piece) and streamed (2 MiB in 64 KiB chunks, no length): both
    // beyond nghttpd's initial windows, so both wait for its flow control.
    let whole = pattern(3 << 20);
    let res = client
        .put(server.url("/upload"))
        .body(whole.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(res.version(), Version::HTTP_2);
    assert_eq!(res.bytes().await.unwrap(), Bytes::from(whole));
    let streamed = pattern(2 << 20);
    let chunks: Vec<Result<Bytes, std::io::Error>> = streamed
        .chunks(64 * 1024)
        .map(|c| Ok(Bytes::copy_from_slice(c)))
        .collect();
    let res = client
        .post(server.url("/upload"))
        .body(Body::wrap_stream(futures_util::stream::iter(chunks)))
        .send()
        .await
        .unwrap();
    assert_eq!(res.bytes().await.unwrap(), Bytes::from(streamed));
}
