//! The request builder against the harness origin: every method and body kind arrives as built
//! (the origin records bodies), bad input is refused before a byte is sent, a per-request
//! timeout is coded with the route and the phase it hit, a streaming body that fails midway is
//! `request.body`, a 100 MiB streamed body goes through with bounded memory, and `Client` works
//! under tower middleware.

use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::Bytes;
use http::Method;
use proxyscope::client::Body;
use proxyscope::testing::{TargetForm, TestOrigin, TestProxy};
use proxyscope::{Blame, Hop, Phase};

use crate::common::servers::{builder, layer};

fn direct() -> proxyscope::Client {
    builder(layer(None)).build().unwrap()
}

/// A stream of `n` chunks of `size` bytes, then (when `fail`) an error; counts the chunks it
/// handed out that are not yet dropped, to show the client never holds many.
pub(crate) struct Chunks {
    pub(crate) left: usize,
    pub(crate) size: usize,
    pub(crate) fail: bool,
}

impl futures_core::Stream for Chunks {
    type Item = Result<Bytes, std::io::Error>;

    fn poll_next(mut self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        if self.left == 0 {
            return Poll::Ready(self.fail.then(|| {
                Err(std::io::Error::other(
                    "the upload source broke (s3cret-cause)",
                ))
            }));
        }
        self.left -= 1;
        Poll::Ready(Some(Ok(Bytes::from(vec![b'u'; self.size]))))
    }
}

#[tokio::test]
async fn every_method_and_body_kind_arrives_as_built() {
    let origin = TestOrigin::http().await;
    let client = direct();
    let url = origin.url("/echo");

    for (method, res) in [
        (Method::GET, client.get(&url).send().await),
        (
            Method::POST,
            client.post(&url).body("text body").send().await,
        ),
        (
            Method::PUT,
            client.put(&url).body(vec![1u8, 2, 3]).send().await,
        ),
        (
            Method::PATCH,
            client
                .patch(&url)
                .body(Bytes::from_static(b"p"))
                .send()
                .await,
        ),
        (Method::DELETE, client.delete(&url).send().await),
        (Method::HEAD, client.head(&url).send().await),
        (
            Method::OPTIONS,
            client.request(Method::OPTIONS, &url).send().await,
        ),
    ] {
        let res = res.unwrap_or_else(|e| panic!("{method}: {}", e.report()));
        assert_eq!(res.status(), 200, "{method}");
        assert_eq!(res.url().as_str(), url, "{method}");
    }
    let seen = origin.requests();
    let methods: Vec<&str> = seen.iter().map(|r| r.method.as_str()).collect();
    assert_eq!(
        methods,
        ["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"]
    );
    assert_eq!(&seen[1].body[..], b"text body");
    assert_eq!(&seen[2].body[..], &[1, 2, 3]);
    assert_eq!(&seen[3].body[..], b"p");
    assert!(
        seen.iter()
            .all(|r| r.body_complete && r.form == TargetForm::Origin)
    );
    // The default User-Agent.
    let ua = seen[0].headers.get("user-agent").unwrap().to_str().unwrap();
    assert!(ua.starts_with("proxyscope/"), "{ua}");

    // JSON, form, query and a stream.
    #[derive(serde::Serialize)]
    struct Msg<'a> {
        lang: &'a str,
        text: &'a str,
    }
    let echoed: serde_json::Value = client
        .post(&url)
        .query(&[("q", "a b"), ("n", "1")])
        .json(&Msg {
            lang: "en-ru",
            text: "hello",
        })
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(echoed["target"], "/echo?q=a+b&n=1");
    assert_eq!(echoed["headers"]["content-type"][0], "application/json");
    assert_eq!(echoed["body"], r#"{"lang":"en-ru","text":"hello"}"#);
    let echoed: serde_json::Value = client
        .post(&url)
        .form(&[("lang", "en-ru"), ("text", "a&b")])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        echoed["headers"]["content-type"][0],
        "application/x-www-form-urlencoded"
    );
    assert_eq!(echoed["body"], "lang=en-ru&text=a%26b");
    let res = client
        .post(&url)
        .body(Body::wrap_stream(Chunks {
            left: 3,
            size: 5,
            fail: false,
        }))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let last = origin.requests().pop().unwrap();
    assert_eq!(last.body_len, 15);
    assert!(last.body_complete);
}

#[tokio::test]
async fn default_headers_and_user_agent_are_overridable() {
    let origin = TestOrigin::http().await;
    let mut defaults = http::HeaderMap::new();
    defaults.insert("x-team", http::HeaderValue::from_static("mt"));
    let client = builder(layer(None))
        .default_headers(defaults)
        .user_agent("translator/2")
        .build()
        .unwrap();
    client.get(origin.url("/")).send().await.unwrap();
    client
        .get(origin.url("/"))
        .header("user-agent", "mine/1")
        .header("x-team", "other")
        .send()
        .await
        .unwrap();
    let seen = origin.requests();
    assert_eq!(seen[0].headers["user-agent"], "translator/2");
    assert_eq!(seen[0].headers["x-team"], "mt");
    assert_eq!(seen[1].headers["user-agent"], "mine/1");
    assert_eq!(seen[1].headers.get_all("x-team").iter().count(), 1);
    assert_eq!(seen[1].headers["x-team"], "other");
    // Without the decompression switches, nothing asks for an encoding.
    assert!(
        seen.iter()
            .all(|r| !r.headers.contains_key("accept-encoding"))
    );
}

#[tokio::test]
async fn bad_input_is_refused_before_anything_is_sent() {
    let origin = TestOrigin::http().await;
    let client = direct();
    let url = origin.url("/echo");
    let mut map = std::collections::BTreeMap::new();
    map.insert((1, 2), "non-string key");
    let cases = [
        (
            "request.header",
            client.get(&url).header("x-a", "v\r\nInjected: 1"),
        ),
        ("request.header", client.get(&url).header("bad name", "v")),
        ("request.header", client.get(&url).bearer_auth("t0ken\nx")),
        ("request.url", client.get("ftp://127.0.0.1/")),
        ("request.url", client.get("/relative")),
        ("request.body", client.post(&url).json(&map)),
    ];
    for (code, b) in cases {
        let e = b.send().await.unwrap_err();
        assert_eq!(e.code(), code);
        assert_eq!(e.hop(), None, "{code}");
        assert_eq!(e.blame(), Blame::LocalConfig, "{code}");
        assert_eq!(e.phase(), Phase::Config, "{code}");
        assert!(e.is_request() || e.is_config(), "{code}");
        let all = format!("{e} {e:?} {}", e.report());
        for secret in ["t0ken", "Injected", ":pw@"] {
            assert!(!all.contains(secret), "{secret} in {all}");
        }
    }
    assert!(origin.requests().is_empty(), "nothing was sent");
}

#[tokio::test]
async fn a_body_stream_failing_midway_is_request_body_with_its_cause() {
    let origin = TestOrigin::http().await;
    let client = direct();
    let e = client
        .post(origin.url("/echo"))
        .body(Body::wrap_stream(Chunks {
            left: 4,
            size: 1024,
            fail: true,
        }))
        .send()
        .await
        .unwrap_err();
    assert_eq!(e.code(), "request.body");
    assert_eq!(e.blame(), Blame::LocalConfig);
    assert_eq!(e.phase(), Phase::Http);
    assert!(e.route().is_some_and(|r| r.is_direct()));
    assert_eq!(
        e.url().map(url::Url::as_str),
        Some(origin.url("/echo").as_str())
    );
    // The stream's own error is in the chain, typed.
    assert!(
        has_cause::<std::io::Error>(&e),
        "the io::Error is downcastable: {}",
        e.report()
    );
}

#[tokio::test]
async fn credentials_are_sent_but_never_logged_or_printed() {
    let origin = TestOrigin::http().await;
    let client = direct();
    let b = client
        .get(origin.url("/echo"))
        .basic_auth("user", Some("s3cret-pw"))
        .header("cookie", "sid=c00kie");
    assert!(!format!("{b:?}").contains("c00kie"));
    let res = b.send().await.unwrap();
    let echoed: serde_json::Value = res.json().await.unwrap();
    // The origin got the header (it redacts it in /echo itself).
    assert_eq!(echoed["headers"]["authorization"][0], "[redacted]");
    let seen = origin.requests();
    assert_eq!(
        seen[0].headers["authorization"],
        proxyscope::testing::basic_auth("user", "s3cret-pw")
    );
    let bearer = client
        .get(origin.url("/status/401"))
        .bearer_auth("b3arer-t0ken")
        .send()
        .await
        .unwrap()
        .error_for_status()
        .unwrap_err();
    let all = format!("{bearer} {bearer:?} {}", bearer.report());
    assert!(!all.contains("b3arer-t0ken"), "{all}");
}

/// The request's own timeout runs from when it is sent (`into_future`, which `.await` and
/// `send()` call), as reqwest's does, not from the first poll of its future: a future made and
/// left unpolled past its timeout fails at its first poll and names the request's timeout —
/// while connecting, or (a loopback connect can complete within that poll) waiting for the
/// head.
#[tokio::test]
async fn a_request_timeout_runs_from_when_the_request_is_sent() {
    use std::future::IntoFuture;
    let origin = TestOrigin::http().await;
    // A new client: the request has a connection to open, not a pooled one.
    let sent = direct()
        .get(origin.url("/"))
        .timeout(Duration::from_millis(50))
        .into_future();
    tokio::time::sleep(Duration::from_millis(150)).await;
    let e = sent.await.unwrap_err();
    let expected = match e.phase() {
        Phase::Connect => "origin.timeout",
        _ => "http.timeout",
    };
    assert_eq!(e.code(), expected, "{}", e.report());
    assert!(
        matches!(e.phase(), Phase::Connect | Phase::Http),
        "{}",
        e.report()
    );
    assert_eq!(e.hop(), Some(Hop::Origin));
    assert!(e.is_timeout());
    assert_eq!(e.evidence().timeout, Some(Duration::from_millis(50)));
    assert_eq!(
        e.evidence().setting.as_deref(),
        Some("RequestBuilder::timeout")
    );
    // Awaited where it is built, the same request has all of its time.
    let res = direct()
        .get(origin.url("/"))
        .timeout(Duration::from_millis(2000))
        .await
        .unwrap();
    assert!(res.status().is_success());
}

#[tokio::test]
async fn a_per_request_timeout_is_coded_with_the_route_and_the_phase_it_hit() {
    let origin = TestOrigin::http().await;
    let client = direct();
    // Waiting for the head.
    let e = client
        .get(origin.url("/slow?ms=3000"))
        .timeout(Duration::from_millis(200))
        .send()
        .await
        .unwrap_err();
    assert_eq!(e.code(), "http.timeout");
    assert_eq!(e.hop(), Some(Hop::Origin));
    assert_eq!(e.phase(), Phase::Http);
    assert_eq!(e.blame(), Blame::Origin);
    assert!(e.is_timeout());
    assert!(e.route().is_some_and(|r| r.is_direct()));
    assert_eq!(e.evidence().timeout, Some(Duration::from_millis(200)));
    assert_eq!(
        e.evidence().setting.as_deref(),
        Some("RequestBuilder::timeout")
    );
    assert!(e.url().is_some());
    // The connection's phases, measured before the wait began.
    assert!(e.evidence().timings.is_some_and(|t| t.connect.is_some()));

    // Through a proxy: the route names it; the proxy's own hop answers for the head.
    let proxy = TestProxy::allow_all().await;
    let client = builder(layer(Some(&proxy.url()))).build().unwrap();
    let e = client
        .get(origin.url("/slow?ms=3000"))
        .timeout(Duration::from_millis(200))
        .send()
        .await
        .unwrap_err();
    assert_eq!(e.code(), "http.timeout");
    assert_eq!(e.hop(), Some(Hop::Proxy));
    assert_eq!(e.blame(), Blame::Proxy);
    let shown = e
        .route()
        .and_then(|r| r.proxy())
        .map(|p| p.without_credentials());
    assert!(
        shown.is_some_and(|p| p.contains(&proxy.addr().port().to_string())),
        "{}",
        e.report()
    );

    // Reading the body: the same deadline covers it.
    let res = direct()
        .get(origin.url("/dribble?ms=50"))
        .timeout(Duration::from_millis(300))
        .send()
        .await
        .unwrap();
    let e = res.bytes().await.unwrap_err();
    assert_eq!(e.code(), "http.timeout");
    assert_eq!(e.hop(), Some(Hop::Origin));
    assert_eq!(e.phase(), Phase::Http);
    assert!(e.route().is_some());
}

#[tokio::test]
async fn a_100_mib_streamed_body_is_sent_with_bounded_memory() {
    let origin = TestOrigin::http().await;
    let client = direct();
    let live = Arc::new(AtomicUsize::new(0));
    let max_live = Arc::new(AtomicUsize::new(0));
    // Each chunk counts itself while alive: the client must drop chunks as it writes them.
    struct Counted {
        left: usize,
        live: Arc<AtomicUsize>,
        max_live: Arc<AtomicUsize>,
    }
    impl futures_core::Stream for Counted {
        type Item = Result<Bytes, std::io::Error>;
        fn poll_next(mut self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<Option<Self::Item>> {
            if self.left == 0 {
                return Poll::Ready(None);
            }
            self.left -= 1;
            let now = self.live.fetch_add(1, Ordering::SeqCst) + 1;
            self.max_live.fetch_max(now, Ordering::SeqCst);
            let live = Arc::clone(&self.live);
            let chunk = Bytes::from_owner(Tracked(vec![b'u'; 64 * 1024], live));
            Poll::Ready(Some(Ok(chunk)))
        }
    }
    struct Tracked(Vec<u8>, Arc<AtomicUsize>);
    impl AsRef<[u8]> for Tracked {
        fn as_ref(&self) -> &[u8] {
            &self.0
        }
    }
    impl Drop for Tracked {
        fn drop(&mut self) {
            self.1.fetch_sub(1, Ordering::SeqCst);
        }
    }
    let chunks = 100 * 1024 / 64; // 100 MiB in 64 KiB chunks
    let res = client
        .post(origin.url("/echo"))
        .timeout(Duration::from_secs(120))
        .body(Body::wrap_stream(Counted {
            left: chunks,
            live: Arc::clone(&live),
            max_live: Arc::clone(&max_live),
        }))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let seen = origin.requests().pop().unwrap();
    assert_eq!(seen.body_len, 100 * 1024 * 1024);
    assert!(seen.body_complete);
    // A handful of chunks in flight at most (hyper's write buffer), never the whole body.
    let peak = max_live.load(Ordering::SeqCst);
    assert!(peak <= 8, "{peak} chunks of 64 KiB alive at once");
}

#[tokio::test]
async fn tower_middleware_wraps_the_client() {
    use tower_service::Service as _;
    let origin = TestOrigin::http().await;
    // A counting layer and a retry around the client: a 503 is retried once, through the same
    // Client (route, defaults and errors intact).
    #[derive(Clone)]
    struct CountingRetry {
        inner: proxyscope::Client,
        calls: Arc<AtomicUsize>,
    }
    impl tower_service::Service<http::Request<Body>> for CountingRetry {
        type Response = proxyscope::Response;
        type Error = proxyscope::Error;
        type Future = Pin<
            Box<
                dyn std::future::Future<Output = Result<proxyscope::Response, proxyscope::Error>>
                    + Send,
            >,
        >;
        fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
            tower_service::Service::<http::Request<Body>>::poll_ready(&mut self.inner, cx)
        }
        fn call(&mut self, req: http::Request<Body>) -> Self::Future {
            let mut inner = self.inner.clone();
            let calls = Arc::clone(&self.calls);
            Box::pin(async move {
                let (parts, body) = req.into_parts();
                let again = body.as_bytes().map(Bytes::copy_from_slice);
                calls.fetch_add(1, Ordering::SeqCst);
                let first = inner
                    .call(http::Request::from_parts(parts.clone(), body))
                    .await?;
                if first.status() != 503 {
                    return Ok(first);
                }
                calls.fetch_add(1, Ordering::SeqCst);
                let body = again.map_or_else(Body::empty, Body::from);
                let mut parts = parts;
                parts.uri = parts
                    .uri
                    .to_string()
                    .replace("/status/503", "/echo")
                    .parse()
                    .unwrap();
                inner.call(http::Request::from_parts(parts, body)).await
            })
        }
    }
    let calls = Arc::new(AtomicUsize::new(0));
    let mut svc = CountingRetry {
        inner: direct(),
        calls: Arc::clone(&calls),
    };
    std::future::poll_fn(|cx| svc.poll_ready(cx)).await.unwrap();
    let req = http::Request::post(origin.url("/status/503"))
        .body(Body::from("x"))
        .unwrap();
    let res = svc.call(req).await.unwrap();
    assert_eq!(res.status(), 200);
    assert!(res.route().is_direct());
    assert_eq!(calls.load(Ordering::SeqCst), 2);
    assert_eq!(origin.requests().len(), 2);
    assert!(
        origin.requests()[1].headers["user-agent"]
            .to_str()
            .unwrap()
            .starts_with("proxyscope/")
    );
    // An error through the service is the same coded error.
    let mut plain = direct();
    let e = plain
        .call(
            http::Request::get("http://127.0.0.1:9/")
                .body(Body::empty())
                .unwrap(),
        )
        .await
        .unwrap_err();
    assert_eq!(e.code(), "origin.connect");
    assert_eq!(e.hop(), Some(Hop::Origin));
}

/// Whether `e`'s `source()` chain holds a `T`.
pub(crate) fn has_cause<T: std::error::Error + 'static>(e: &proxyscope::Error) -> bool {
    let mut src = std::error::Error::source(e);
    while let Some(s) = src {
        if s.downcast_ref::<T>().is_some() {
            return true;
        }
        src = s.source();
    }
    false
}

#[tokio::test]
async fn errors_answer_reqwest_style_queries_and_chain_to_typed_causes() {
    use proxyscope::testing::{ChainMode, TestPki};
    // Connect refused: io::Error underneath.
    let e = direct()
        .get("http://127.0.0.1:9/")
        .send()
        .await
        .unwrap_err();
    assert_eq!(e.code(), "origin.connect");
    assert!(e.is_connect() && !e.is_timeout() && !e.is_proxy() && !e.is_tls());
    assert_eq!(e.url().map(url::Url::as_str), Some("http://127.0.0.1:9/"));
    assert!(has_cause::<std::io::Error>(&e), "{}", e.report());

    // An untrusted origin certificate: rustls::Error underneath.
    let pki = TestPki::new();
    let origin = TestOrigin::https(&pki, pki.localhost(), ChainMode::Full).await;
    let e = direct()
        .get(origin.url_with_host("localhost", "/"))
        .send()
        .await
        .unwrap_err();
    assert_eq!(e.code(), "tls.unknown_issuer");
    // As in reqwest, a handshake failure is also a connect failure (no request was sent).
    assert!(e.is_tls() && e.is_connect());
    assert_eq!(e.hop(), Some(Hop::Origin));
    assert!(has_cause::<rustls::Error>(&e), "{}", e.report());

    // A proxy that refuses: is_proxy, and the status it answered.
    let proxy = TestProxy::builder()
        .policy(proxyscope::testing::Policy::deny(&["localhost"]))
        .start()
        .await;
    let e = builder(layer(Some(&proxy.url())))
        .build()
        .unwrap()
        .get(origin.url_with_host("localhost", "/"))
        .send()
        .await
        .unwrap_err();
    assert_eq!(e.code(), "proxy.forbidden");
    assert!(e.is_proxy());
    assert_eq!(e.status().map(|s| s.as_u16()), Some(403));

    // Configuration: an unknown provider.
    let e = direct().provider("nope").unwrap_err();
    assert_eq!(e.code(), "config.invalid");
    assert!(e.is_config());
    assert_eq!(e.blame(), Blame::LocalConfig);
}
