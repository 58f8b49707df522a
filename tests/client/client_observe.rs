//! What the client shows around a request: `tracing` spans with the provider, the route and, on
//! failure, the code, hop, phase and blame — never a credential; and, with the `decompression`
//! feature, compressed bodies decoded only when asked for, a corrupt one `http.decode`.

use std::sync::{Arc, Mutex};

use proxyscope::testing::{TestOrigin, TestProxy};

use crate::common::servers::{builder, layer};

/// A `tracing` writer into a shared buffer.
#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl std::io::Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl<'a> tracing_subscriber::fmt::MakeWriter<'a> for Captured {
    type Writer = Captured;
    fn make_writer(&'a self) -> Self::Writer {
        self.clone()
    }
}

impl Captured {
    fn text(&self) -> String {
        String::from_utf8_lossy(&self.0.lock().unwrap()).into_owned()
    }
}

#[tokio::test]
async fn spans_carry_the_route_and_the_failure_and_never_a_secret() {
    let captured = Captured::default();
    let subscriber = tracing_subscriber::fmt()
        .with_writer(captured.clone())
        .with_max_level(tracing::Level::TRACE)
        .with_span_events(tracing_subscriber::fmt::format::FmtSpan::CLOSE)
        .with_ansi(false)
        .finish();
    // The test runtime is single-threaded: every task of the request runs under this default.
    let _guard = tracing::subscriber::set_default(subscriber);
    // With a single registered dispatcher tracing-core computes a new callsite's interest from
    // the *registering thread's* default: a span first reached by another test's thread would
    // be cached as "never" and vanish from this capture. A second registered dispatcher makes it
    // ask every registered one (interest "sometimes", decided per thread).
    let _second = tracing::Dispatch::new(tracing::subscriber::NoSubscriber::default());

    let origin = TestOrigin::http().await;
    let proxy = TestProxy::allow_all().await;
    let proxied = proxy.url_with_credentials("puser", "pr0xy-pw");
    let client = builder(layer(None))
        .provider("alpha", &origin.url("/"), layer(Some(&proxied)))
        .build()
        .unwrap();
    client
        .get(origin.url("/echo?api_key=qu3ry-secret"))
        .bearer_auth("b3arer-t0ken")
        .header("cookie", "sid=c00kie")
        .send()
        .await
        .unwrap();
    let e = client
        .get("http://127.0.0.1:9/nothing-listens")
        .basic_auth("u", Some("ba5ic-pw"))
        .send()
        .await
        .unwrap_err();
    assert_eq!(e.code(), "origin.connect");

    let out = captured.text();
    // The request span: provider, method, via, proxy without credentials.
    assert!(
        out.contains("provider=\"alpha\"") || out.contains("provider=alpha"),
        "{out}"
    );
    assert!(
        out.contains("via=\"proxy\"") || out.contains("via=proxy"),
        "{out}"
    );
    assert!(
        out.contains(&format!("127.0.0.1:{}", proxy.addr().port())),
        "{out}"
    );
    // The phases' spans.
    for phase in ["connect", "proxy", "tcp"] {
        assert!(out.contains(phase), "{phase} span in {out}");
    }
    // The failure's fields.
    assert!(out.contains("origin.connect"), "{out}");
    assert!(
        out.contains("blame=\"origin\"") || out.contains("blame=origin"),
        "{out}"
    );
    // Never a secret.
    for secret in [
        "pr0xy-pw",
        "qu3ry-secret",
        "b3arer-t0ken",
        "c00kie",
        "ba5ic-pw",
        "cHVzZXI6",
    ] {
        assert!(!out.contains(secret), "{secret} leaked into tracing: {out}");
    }
}

#[cfg(feature = "decompression")]
mod decompression {
    use super::*;
    use proxyscope::testing::{RawServer, Script};
    use tokio::io::AsyncWriteExt as _;

    async fn compressed(encoding: &str, plain: &[u8]) -> Vec<u8> {
        use async_compression::tokio::write::{BrotliEncoder, GzipEncoder, ZstdEncoder};
        let mut out = Vec::new();
        match encoding {
            "gzip" => {
                let mut w = GzipEncoder::new(&mut out);
                w.write_all(plain).await.unwrap();
                w.shutdown().await.unwrap();
            }
            "br" => {
                let mut w = BrotliEncoder::new(&mut out);
                w.write_all(plain).await.unwrap();
                w.shutdown().await.unwrap();
            }
            _ => {
                let mut w = ZstdEncoder::new(&mut out);
                w.write_all(plain).await.unwrap();
                w.shutdown().await.unwrap();
            }
        }
        out
    }

    fn reply(encoding: &str, body: &[u8]) -> Vec<u8> {
        let mut r = format!(
            "HTTP/1.1 200 OK\r\nContent-Encoding: {encoding}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
            body.len()
        )
        .into_bytes();
        r.extend_from_slice(body);
        r
    }

    #[tokio::test]
    async fn compressed_bodies_are_decoded_only_when_asked_for() {
        let plain = "translated text ".repeat(1000);
        for enc in ["gzip", "br", "zstd"] {
            let body = compressed(enc, plain.as_bytes()).await;
            let seen = RawServer::scripted(Script::Reply(reply(enc, &body))).await;
            let addr = seen.addr();
            let url = format!("http://{addr}/");
            let client = builder(layer(None))
                .gzip(true)
                .brotli(true)
                .zstd(true)
                .build()
                .unwrap();
            let res = client.get(&url).send().await.unwrap();
            assert!(res.headers().get("content-encoding").is_none(), "{enc}");
            assert_eq!(res.text().await.unwrap(), plain, "{enc}");
            let head = seen.heads().pop().unwrap().to_ascii_lowercase();
            assert!(head.contains("accept-encoding: gzip, br, zstd"), "{head}");

            // Not enabled: nothing asked for, the body handed over as sent.
            let seen = RawServer::scripted(Script::Reply(reply(enc, &body))).await;
            let addr = seen.addr();
            let plain_client = builder(layer(None)).build().unwrap();
            let res = plain_client
                .get(format!("http://{addr}/"))
                .send()
                .await
                .unwrap();
            assert_eq!(res.headers()["content-encoding"], enc);
            assert_eq!(res.bytes().await.unwrap(), body);
            assert!(
                !seen.heads()[0]
                    .to_ascii_lowercase()
                    .contains("accept-encoding")
            );
        }
    }

    #[tokio::test]
    async fn a_corrupt_compressed_body_is_http_decode() {
        let mut body = compressed("gzip", b"hello hello hello").await;
        let n = body.len();
        body[n / 2..].iter_mut().for_each(|b| *b ^= 0x5a);
        let server = RawServer::scripted(Script::Reply(reply("gzip", &body))).await;
        let addr = server.addr();
        let client = builder(layer(None)).gzip(true).build().unwrap();
        let e = client
            .get(format!("http://{addr}/"))
            .send()
            .await
            .unwrap()
            .bytes()
            .await
            .unwrap_err();
        assert_eq!(e.code(), "http.decode");
        assert_eq!(e.hop(), Some(proxyscope::Hop::Origin));
        assert_eq!(e.blame(), proxyscope::Blame::Origin);
        assert!(e.route().is_some());
    }

    #[tokio::test]
    async fn a_small_compressed_body_cannot_expand_past_the_cap() {
        // 8 MiB of zeros compress to a few KiB: the cap counts what it decompresses to.
        let body = compressed("gzip", &vec![0u8; 8 << 20]).await;
        assert!(body.len() < 64 * 1024);
        let server = RawServer::scripted(Script::Reply(reply("gzip", &body))).await;
        let addr = server.addr();
        let client = builder(layer(None).with_max_body(1 << 20))
            .gzip(true)
            .build()
            .unwrap();
        let url = format!("http://{addr}/");
        let e = client
            .get(&url)
            .send()
            .await
            .unwrap()
            .bytes()
            .await
            .unwrap_err();
        assert_eq!(e.code(), "http.body_too_large");
        assert_eq!(e.hop(), Some(proxyscope::Hop::Origin));
        assert_eq!(e.blame(), proxyscope::Blame::Origin);
        let limit = e.evidence().size_limit.unwrap();
        assert_eq!(limit.limit, 1 << 20);
        assert!(limit.seen > 1 << 20 && !limit.announced);
        assert_eq!(e.url().map(url::Url::as_str), Some(url.as_str()));

        // Streamed, the same body comes out in bounded chunks, whole.
        let server = RawServer::scripted(Script::Reply(reply("gzip", &body))).await;
        let addr = server.addr();
        let mut res = client.get(format!("http://{addr}/")).send().await.unwrap();
        let mut total = 0usize;
        while let Some(chunk) = res.chunk().await.unwrap() {
            assert!(chunk.len() <= 64 * 1024);
            total += chunk.len();
        }
        assert_eq!(total, 8 << 20);
    }
}
