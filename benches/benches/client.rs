//! Requests through a local CONNECT proxy to a TLS origin: proxyscope's [`Client`] against
//! hyper-util's legacy client with its `Tunnel` connector and hyper-rustls (the stack reqwest
//! uses), and both against going direct.
//!
//! The servers are the public harness: a [`TestProxy`] that allows every CONNECT and a
//! [`TestOrigin`] over TLS whose leaf chains to a [`TestPki`] root. Both clients trust only that
//! root through the *same* rustls `ClientConfig` settings: hyper-rustls gets
//! [`HopTls::plain_config`] built from the very `TlsSettings` proxyscope's client builds for
//! its origin hop (ring provider, protocol versions, ALPN, resumption); the only difference is
//! that proxyscope's config carries its recording verifier (benched on its own in
//! `benches/benches/verifier.rs`). Both sides get the same pre-parsed `http::Uri`. The
//! connection is kept alive between iterations, so a sample is one request on a warm pooled
//! connection.
//!
//! Groups: `client_small_{h1,h2}` (a 64-byte body: latency) and `client_1mib_{h1,h2}` (a
//! 1 MiB body: throughput), each with `proxyscope_proxy`, `hyper_util_proxy`,
//! `hyper_util_proxy_wrapped` (hyper-util with a request timeout and a body timeout around it,
//! as any production caller adds), `proxyscope_direct` and `hyper_util_direct`. The small
//! groups add `proxyscope_env_proxy` and `proxyscope_env_proxy_no_proxy_1000`: the same client
//! configured from the environment (`https_proxy`), without and with a 1,000-entry `NO_PROXY`
//! that does not match the origin — what a corporate list costs a request — and
//! `hyper_util_proxy_same_headers` and `hyper_util_direct_same_headers`: hyper-util sending
//! exactly the headers proxyscope's client sends (its `User-Agent`, read from the origin's
//! `/echo`), so that both sides send the same request.
//!
//! Wall time by default. With `PROXYSCOPE_BENCH_CLOCK=cpu` the same requests are measured in
//! CPU time of the whole process (client, proxy and origin together; groups end in `_cpu`),
//! which other processes on a shared machine do not inflate.
//!
//! `cargo bench -p proxyscope-benches --bench client -- --warm-up-time 1 --measurement-time 3`
//!
//! With `PROXYSCOPE_BENCH_COUNT=<client>:<h1|h2>:<n>[:<body bytes>[:task]]` (client one of
//! `proxyscope_proxy`, `proxyscope_direct`, `proxyscope_env_proxy`,
//! `proxyscope_env_proxy_no_proxy_1000`, `hyper_util_proxy`, `hyper_util_direct`,
//! `hyper_util_proxy_wrapped`, `hyper_util_direct_wrapped`, `hyper_util_proxy_same_headers`,
//! `hyper_util_direct_same_headers`, or `hyper_util_over_proxyscope_proxy`
//! and `hyper_util_over_proxyscope_direct`: hyper-util's client over the proxyscope client's own
//! connector, which tells the connection path's cost from the client's; and with `h2`,
//! `hyper_h2_connection_over_proxyscope_direct`: hyper's own HTTP/2 connection API on one
//! connection from that connector, sending the same headers, no pool — what a request costs
//! once a connection is in hand) the binary runs no criterion group:
//! it warms that client's pool, then sends exactly `n` keep-alive requests for a body of that
//! size (64 bytes unless given) and exits. A fixed amount of work is what instruction counters
//! (`valgrind --tool=callgrind`) and `perf stat` need to compare the two clients per request;
//! run it twice with different `n` and divide the difference by the difference of `n`, so the
//! setup cancels out. From `block_on` it prints the calling thread's CPU time per request
//! (`/proc/thread-self/schedstat`). With `:task` the requests are sent from a spawned task on a worker
//! thread, as a service sends them, instead of from `block_on` on the main thread (where every
//! task the request wakes must be handed to a worker).
//!
//! Two more knobs of the count mode. `PROXYSCOPE_BENCH_WARM_ALL=1` first sends one request
//! through every client, so that — as in the criterion groups, which warm them all — every
//! client holds an open connection while the counted one runs. The clients
//! `hyper_util_proxy_busy` and `hyper_util_direct_busy` are hyper-util's, with
//! `PROXYSCOPE_BENCH_CALLER_WORK_US` microseconds of busy CPU on the calling thread per request
//! (half before sending, half after the head): they show how latency from `block_on` depends on
//! how long the caller's thread stays busy between its hand-offs to the workers.
//! `hyper_util_proxy_busy_in_flight` and `hyper_util_direct_busy_in_flight` spend the same busy
//! time right after the request was handed to its connection, while it is in flight: whether
//! work a client does then costs less wall time than work before sending or after the head.
//!
//! With `PROXYSCOPE_BENCH_PAIRED=<a>,<b>:<h1|h2>:<pairs>[:<block>[:task]]` (two clients of the
//! count mode, 64-byte bodies, blocks of 100 requests unless given) the binary compares two
//! clients in one run: it sends a block through `a`, then one through `b`, then `b` then `a`,
//! and so on for `pairs` pairs, and prints each client's median per-request latency, their
//! ratio, and the median and quartiles of the per-pair ratios of block times. A criterion group
//! measures each client for seconds at a time, one after the other; on a shared machine the
//! load drifts between those windows, and two runs of one client can then differ by 10% or more
//! (compare `proxyscope_proxy` with `proxyscope_env_proxy`, the same client). Blocks taken in
//! turn share the drift, and the ratio of adjacent blocks cancels it. `:task` sends from a
//! spawned task, as in the count mode.
//!
//! `hyper_util_proxy_footprint` and `hyper_util_direct_footprint` (count and paired modes) are
//! hyper-util's client running 192 small distinct functions per request before it sends:
//! about 3.5 K instructions over about 290 lines of code that nothing else touches. They tell
//! what a request path that touches more code costs on a machine whose caches other work
//! keeps evicting, apart from the instructions themselves.
//!
//! Every client, the origin and the proxy share one runtime of two worker threads (this
//! machine's two cores); `PROXYSCOPE_BENCH_WORKERS=<n>` gives it `n` instead, in the criterion
//! groups and the count mode alike.
// criterion's macros generate undocumented public functions.
#![allow(missing_docs)]

use std::hint::black_box;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use criterion::measurement::Measurement;
use criterion::{BenchmarkId, Criterion, Throughput};
use http::Uri;
use http_body_util::{BodyExt, Full};
use hyper_rustls::HttpsConnector;
use hyper_util::client::legacy::Client as LegacyClient;
use hyper_util::client::legacy::connect::proxy::Tunnel;
use hyper_util::client::legacy::connect::{Connect, HttpConnector};
use hyper_util::rt::{TokioExecutor, TokioTimer};
use proxyscope::client::Client;
use proxyscope::connect::Connector;
use proxyscope::testing::{ChainMode, TestOrigin, TestPki, TestProxy};
use proxyscope::tls::{CaBundle, HopTls, TlsSettings};
use proxyscope::{EnvSnapshot, ProxySetting, Roots, Settings};
use proxyscope_benches::cpu_time::{ProcessCpu, thread_cpu_ns};

/// hyper-util's legacy client over hyper-rustls, through hyper-util's `Tunnel` when proxied.
type HyperClient<C> = LegacyClient<HttpsConnector<C>, Full<Bytes>>;

fn tcp() -> HttpConnector {
    let mut http = HttpConnector::new();
    http.enforce_http(false);
    http.set_nodelay(true);
    http
}

fn hyper_proxied(
    config: Arc<rustls::ClientConfig>,
    proxy: &str,
) -> HyperClient<Tunnel<HttpConnector>> {
    let tunnel = Tunnel::new(proxy.parse().expect("proxy URL is a Uri"), tcp());
    legacy_client(HttpsConnector::from((tunnel, config)))
}

fn hyper_direct(config: Arc<rustls::ClientConfig>) -> HyperClient<HttpConnector> {
    legacy_client(HttpsConnector::from((tcp(), config)))
}

/// hyper-util's legacy client over `connector` (hyper-rustls over hyper-util's own, or
/// proxyscope's), with the timers every client here has.
fn legacy_client<C>(connector: C) -> LegacyClient<C, Full<Bytes>>
where
    C: Connect + Clone + Send + Sync + 'static,
{
    LegacyClient::builder(TokioExecutor::new())
        .pool_timer(TokioTimer::new())
        .timer(TokioTimer::new())
        .build(connector)
}

/// A GET of `uri` with an empty body, as every hyper-util client here sends it.
fn empty_get(uri: &Uri) -> http::Request<Full<Bytes>> {
    http::Request::get(uri.clone())
        .body(Full::new(Bytes::new()))
        .expect("request builds")
}

/// `empty_get` with `headers`: the request proxyscope's client sends (its `User-Agent`).
fn get_with(uri: &Uri, headers: &http::HeaderMap) -> http::Request<Full<Bytes>> {
    let mut req = empty_get(uri);
    req.headers_mut().clone_from(headers);
    req
}

/// The length of a successful response's whole body.
async fn body_len(res: http::Response<hyper::body::Incoming>) -> usize {
    assert!(res.status().is_success());
    let body = res.into_body().collect().await.expect("body").to_bytes();
    body.len()
}

/// One request and its whole body through a legacy client over any connector (hyper-rustls
/// over hyper-util's own, or proxyscope's).
async fn hyper_get<C>(client: &LegacyClient<C, Full<Bytes>>, uri: &Uri) -> usize
where
    C: Connect + Clone + Send + Sync + 'static,
{
    let res = client.request(empty_get(uri)).await;
    body_len(res.expect("hyper-util request")).await
}

/// `hyper_get` with the headers proxyscope's client sends by default (its `User-Agent`): the
/// same request on the wire, so the comparison is of the clients and not of the requests.
async fn hyper_get_same_headers<C>(
    client: &LegacyClient<C, Full<Bytes>>,
    uri: &Uri,
    headers: &http::HeaderMap,
) -> usize
where
    C: Connect + Clone + Send + Sync + 'static,
{
    let res = client.request(get_with(uri, headers)).await;
    body_len(res.expect("hyper-util request")).await
}

/// The headers proxyscope's client sends on a plain GET (`Host` aside), as the harness origin's
/// `/echo` saw them.
async fn headers_sent_by(client: &Client, base: &str) -> http::HeaderMap {
    let res = client
        .get(format!("{base}/echo"))
        .await
        .expect("echo request");
    let echo: serde_json::Value =
        serde_json::from_slice(&res.bytes().await.expect("echo body")).expect("echo is JSON");
    let mut headers = http::HeaderMap::new();
    for (name, values) in echo["headers"].as_object().expect("echo lists headers") {
        if name == "host" {
            continue;
        }
        for v in values.as_array().expect("header values") {
            headers.append(
                http::HeaderName::from_bytes(name.as_bytes()).expect("a header name"),
                http::HeaderValue::from_str(v.as_str().expect("a text value")).expect("a value"),
            );
        }
    }
    headers
}

/// Where `hyper_get_busy` spends its caller's busy time.
#[derive(Clone, Copy)]
enum BusyWhen {
    /// Half before the request is sent, half after its head arrives: between the caller's
    /// hand-offs to the workers, where proxyscope's client does its own work.
    Around,
    /// All of it right after the request was handed to the connection (its first poll), while
    /// it is in flight.
    InFlight,
}

/// `hyper_get` with `work` of busy CPU on the calling thread per request, spent `when` says:
/// how hyper-util's own client fares when its caller does as much per request as proxyscope's
/// client does on top of it, and whether doing that work while the request is in flight would
/// hide it (count mode only).
async fn hyper_get_busy<C>(
    client: &LegacyClient<C, Full<Bytes>>,
    uri: &Uri,
    work: Duration,
    when: BusyWhen,
) -> usize
where
    C: Connect + Clone + Send + Sync + 'static,
{
    let (before, in_flight, after) = match when {
        BusyWhen::Around => (work / 2, Duration::ZERO, work - work / 2),
        BusyWhen::InFlight => (Duration::ZERO, work, Duration::ZERO),
    };
    busy(before);
    let mut send = std::pin::pin!(client.request(empty_get(uri)));
    let mut sent = false;
    let res = std::future::poll_fn(|cx| {
        let polled = send.as_mut().poll(cx);
        if !sent {
            sent = true;
            busy(in_flight);
        }
        polled
    })
    .await
    .expect("hyper-util request");
    assert!(res.status().is_success());
    busy(after);
    let body = res.into_body().collect().await.expect("body").to_bytes();
    body.len()
}

/// One of 192 distinct functions of about one cache line of code each (the constant makes each
/// instance's code its own): `hyper_get_footprint` runs them all per request.
#[inline(never)]
fn touch<const N: u64>(x: u64) -> u64 {
    let mut y = x ^ N;
    y = y
        .wrapping_mul(0x9E37_79B9_7F4A_7C15 ^ N)
        .rotate_left((N % 61) as u32);
    y ^= y >> 29;
    y = y.wrapping_mul(0xBF58_476D_1CE4_E5B9 ^ N);
    y ^= y >> 32;
    y.wrapping_add(N)
}

/// Sixteen of the `touch` functions, the `row`th sixteen.
macro_rules! touch_row {
    ($x:ident, $row:literal) => {
        $x = touch::<{ $row * 16 + 0 }>(black_box($x));
        $x = touch::<{ $row * 16 + 1 }>(black_box($x));
        $x = touch::<{ $row * 16 + 2 }>(black_box($x));
        $x = touch::<{ $row * 16 + 3 }>(black_box($x));
        $x = touch::<{ $row * 16 + 4 }>(black_box($x));
        $x = touch::<{ $row * 16 + 5 }>(black_box($x));
        $x = touch::<{ $row * 16 + 6 }>(black_box($x));
        $x = touch::<{ $row * 16 + 7 }>(black_box($x));
        $x = touch::<{ $row * 16 + 8 }>(black_box($x));
        $x = touch::<{ $row * 16 + 9 }>(black_box($x));
        $x = touch::<{ $row * 16 + 10 }>(black_box($x));
        $x = touch::<{ $row * 16 + 11 }>(black_box($x));
        $x = touch::<{ $row * 16 + 12 }>(black_box($x));
        $x = touch::<{ $row * 16 + 13 }>(black_box($x));
        $x = touch::<{ $row * 16 + 14 }>(black_box($x));
        $x = touch::<{ $row * 16 + 15 }>(black_box($x));
    };
}

/// Runs 192 distinct small functions: about 3.5 K instructions, spread over about 290 lines of
/// code that nothing else runs (callgrind's instruction-cache misses on the caller's thread).
fn footprint(mut x: u64) -> u64 {
    touch_row!(x, 0);
    touch_row!(x, 1);
    touch_row!(x, 2);
    touch_row!(x, 3);
    touch_row!(x, 4);
    touch_row!(x, 5);
    touch_row!(x, 6);
    touch_row!(x, 7);
    touch_row!(x, 8);
    touch_row!(x, 9);
    touch_row!(x, 10);
    touch_row!(x, 11);
    x
}

/// `hyper_get` that first runs [`footprint`]: what touching that much more code per request
/// costs hyper-util's client, whose own code is then as far from proxyscope's in lines touched
/// as proxyscope's is from it (count and paired modes).
async fn hyper_get_footprint<C>(client: &LegacyClient<C, Full<Bytes>>, uri: &Uri) -> usize
where
    C: Connect + Clone + Send + Sync + 'static,
{
    black_box(footprint(black_box(1)));
    hyper_get(client, uri).await
}

/// Spins for `d` without yielding: CPU work a caller does, not a wait.
fn busy(d: Duration) {
    let start = std::time::Instant::now();
    while start.elapsed() < d {
        std::hint::spin_loop();
    }
}

/// hyper-util's request under a request timeout and a body timeout, as a production caller
/// wraps it (and as proxyscope's client does): tells the cost of the two timers apart from the
/// rest of proxyscope's per-request work.
async fn hyper_get_wrapped<C>(client: &HyperClient<C>, uri: &Uri) -> usize
where
    HttpsConnector<C>: Connect + Clone + Send + Sync + 'static,
{
    let timeout = Duration::from_secs(30);
    let req = empty_get(uri);
    let res = tokio::time::timeout(timeout, client.request(req))
        .await
        .expect("in time")
        .expect("hyper-util request");
    assert!(res.status().is_success());
    let body = tokio::time::timeout(timeout, res.into_body().collect())
        .await
        .expect("in time")
        .expect("body")
        .to_bytes();
    body.len()
}

/// hyper's own HTTP/2 connection API over proxyscope's connector: one connection, no pool, no
/// legacy client. What sending on an HTTP/2 connection in hand costs by itself — the floor for
/// a pool of the client's own (count mode only, HTTP/2 only).
async fn h2_connection(
    client: &Client,
    uri: &Uri,
) -> hyper::client::conn::http2::SendRequest<Full<Bytes>> {
    let conn = client
        .connector(None)
        .expect("the global connector")
        .connect(uri.clone())
        .await
        .expect("connects");
    assert_eq!(
        conn.info().alpn.as_deref(),
        Some("h2"),
        "the origin speaks h2"
    );
    let (send, connection) = hyper::client::conn::http2::Builder::new(TokioExecutor::new())
        .timer(TokioTimer::new())
        .handshake(conn)
        .await
        .expect("HTTP/2 handshake");
    tokio::spawn(connection);
    send
}

/// `hyper_get_same_headers` on an HTTP/2 connection in hand (see [`h2_connection`]).
async fn h2_get_same_headers(
    send: &mut hyper::client::conn::http2::SendRequest<Full<Bytes>>,
    uri: &Uri,
    headers: &http::HeaderMap,
) -> usize {
    let res = send.send_request(get_with(uri, headers)).await;
    body_len(res.expect("HTTP/2 request")).await
}

async fn proxyscope_get(client: &Client, uri: &Uri) -> usize {
    let res = client.get(uri).await.expect("proxyscope request");
    assert!(res.status().is_success());
    res.bytes().await.expect("body").len()
}

struct Setup {
    _pki: TestPki,
    _origin: TestOrigin,
    proxy: TestProxy,
    base: String,
    ours_proxy: Client,
    ours_direct: Client,
    ours_env: Client,
    ours_env_list: Client,
    theirs_proxy: HyperClient<Tunnel<HttpConnector>>,
    theirs_direct: HyperClient<HttpConnector>,
    /// What proxyscope's client sends besides `Host`, for `hyper_get_same_headers`.
    ours_headers: http::HeaderMap,
    /// hyper-util's client over proxyscope's connectors: the connection path alone.
    legacy_over_ours_proxy: LegacyClient<Connector, Full<Bytes>>,
    legacy_over_ours_direct: LegacyClient<Connector, Full<Bytes>>,
}

/// 1,000 internal names, none of which is the origin's `127.0.0.1`.
fn no_proxy_1000() -> String {
    (0..1_000)
        .map(|i| match i % 3 {
            0 => format!(".svc{i}.internal.example.org"),
            1 => format!("host-{i}.corp{}.example.net", i % 17),
            _ => format!(".team{i}.example{}.com", i % 29),
        })
        .collect::<Vec<_>>()
        .join(",")
}

/// One request through each client the criterion groups run, each proved to get the whole body:
/// every pool then holds a warm connection.
async fn warm_every_client(s: &Setup, uri: &Uri, size: usize) {
    for c in [&s.ours_proxy, &s.ours_direct, &s.ours_env, &s.ours_env_list] {
        assert_eq!(proxyscope_get(c, uri).await, size);
    }
    assert_eq!(hyper_get(&s.theirs_proxy, uri).await, size);
    assert_eq!(hyper_get(&s.theirs_direct, uri).await, size);
    let h = &s.ours_headers;
    assert_eq!(hyper_get_same_headers(&s.theirs_proxy, uri, h).await, size);
    assert_eq!(hyper_get_same_headers(&s.theirs_direct, uri, h).await, size);
}

fn setup(rt: &tokio::runtime::Runtime, h2: bool) -> Setup {
    rt.block_on(async {
        let pki = TestPki::new();
        let origin = TestOrigin::https(&pki, pki.localhost(), ChainMode::Full).await;
        // The origin answers and keeps nothing: a kept request holds a copy of its headers and
        // the read buffer under them, and a log filling up over a run made the origin's work
        // per request depend on when a client was measured (later, slower) and on its headers.
        origin.set_recording(false);
        let proxy = TestProxy::allow_all().await;
        let root = pki.root_pem_path().to_path_buf();

        let ours = |setting: Option<ProxySetting>, env: Vec<(String, String)>| {
            let mut layer = Settings::new()
                .with_roots(Roots::None)
                .with_ca_file([root.clone()]);
            if let Some(s) = setting {
                layer = layer.with_proxy(s);
            }
            Client::builder()
                .global(layer)
                .env(EnvSnapshot::from_pairs(env))
                .http2(h2)
                .build()
                .expect("proxyscope client builds")
        };
        let ours_proxy = ours(
            Some(ProxySetting::parse(&proxy.url()).expect("proxy URL")),
            Vec::new(),
        );
        let ours_direct = ours(Some(ProxySetting::Direct), Vec::new());
        let https_proxy = ("https_proxy".to_owned(), proxy.url());
        let ours_env = ours(None, vec![https_proxy.clone()]);
        let ours_env_list = ours(
            None,
            vec![https_proxy, ("NO_PROXY".to_owned(), no_proxy_1000())],
        );

        // The settings proxyscope's client derives for its origin hop, with rustls's verifier.
        let mut settings = TlsSettings::origin()
            .with_roots(Roots::None)
            .with_ca_file(CaBundle::load(&root).expect("root PEM loads"));
        if !h2 {
            settings = settings.with_alpn([b"http/1.1".to_vec()]);
        }
        let config = HopTls::new(settings).expect("TLS config").plain_config();
        let theirs_proxy = hyper_proxied(config.clone(), &proxy.url());
        let theirs_direct = hyper_direct(config);
        let over = |client: &Client| {
            legacy_client(
                client
                    .connector(None)
                    .expect("the global connector")
                    .clone(),
            )
        };
        let legacy_over_ours_proxy = over(&ours_proxy);
        let legacy_over_ours_direct = over(&ours_direct);
        let ours_headers = headers_sent_by(&ours_direct, &origin.url("")).await;
        assert!(
            ours_headers.contains_key(http::header::USER_AGENT),
            "proxyscope's client sends a User-Agent"
        );

        Setup {
            base: origin.url(""),
            _pki: pki,
            _origin: origin,
            proxy,
            ours_proxy,
            ours_direct,
            ours_env,
            ours_env_list,
            theirs_proxy,
            theirs_direct,
            ours_headers,
            legacy_over_ours_proxy,
            legacy_over_ours_direct,
        }
    })
}

/// The runtime every client, the origin and the proxy share: two workers (this machine's two
/// cores), or `PROXYSCOPE_BENCH_WORKERS`.
fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(env_number("PROXYSCOPE_BENCH_WORKERS", 2))
        .enable_all()
        .build()
        .expect("runtime")
}

/// The number `name` holds, or `default` when it is unset; anything else stops the bench.
fn env_number<T: std::str::FromStr>(name: &str, default: T) -> T {
    std::env::var(name).map_or(default, |v| {
        v.parse()
            .unwrap_or_else(|_| panic!("{name} is a whole number, not {v:?}"))
    })
}

fn requests<M: Measurement + 'static>(c: &mut Criterion<M>, suffix: &str) {
    let rt = runtime();
    for h2 in [false, true] {
        let proto = if h2 { "h2" } else { "h1" };
        let s = setup(&rt, h2);
        for (label, size) in [("small", 64usize), ("1mib", 1 << 20)] {
            let url = format!("{}/bytes/{size}", s.base);
            let uri: Uri = url.parse().expect("origin URL is a Uri");
            // Warm every pool and prove each client really gets the body, and that the proxied
            // clients really went through the proxy.
            rt.block_on(warm_every_client(&s, &uri, size));
            assert!(
                s.proxy.connect_count() >= 4,
                "every proxied client tunnelled"
            );

            let mut g = c.benchmark_group(format!("client_{label}_{proto}{suffix}"));
            g.throughput(Throughput::Bytes(size as u64));
            g.bench_function(BenchmarkId::new("proxyscope_proxy", size), |b| {
                b.to_async(&rt)
                    .iter(|| async { black_box(proxyscope_get(&s.ours_proxy, &uri).await) })
            });
            g.bench_function(BenchmarkId::new("hyper_util_proxy", size), |b| {
                b.to_async(&rt)
                    .iter(|| async { black_box(hyper_get(&s.theirs_proxy, &uri).await) })
            });
            g.bench_function(BenchmarkId::new("hyper_util_proxy_wrapped", size), |b| {
                b.to_async(&rt)
                    .iter(|| async { black_box(hyper_get_wrapped(&s.theirs_proxy, &uri).await) })
            });
            g.bench_function(BenchmarkId::new("proxyscope_direct", size), |b| {
                b.to_async(&rt)
                    .iter(|| async { black_box(proxyscope_get(&s.ours_direct, &uri).await) })
            });
            g.bench_function(BenchmarkId::new("hyper_util_direct", size), |b| {
                b.to_async(&rt)
                    .iter(|| async { black_box(hyper_get(&s.theirs_direct, &uri).await) })
            });
            if label == "small" {
                let h = &s.ours_headers;
                g.bench_function(
                    BenchmarkId::new("hyper_util_proxy_same_headers", size),
                    |b| {
                        b.to_async(&rt).iter(|| async {
                            black_box(hyper_get_same_headers(&s.theirs_proxy, &uri, h).await)
                        })
                    },
                );
                g.bench_function(
                    BenchmarkId::new("hyper_util_direct_same_headers", size),
                    |b| {
                        b.to_async(&rt).iter(|| async {
                            black_box(hyper_get_same_headers(&s.theirs_direct, &uri, h).await)
                        })
                    },
                );
                g.bench_function(BenchmarkId::new("proxyscope_env_proxy", size), |b| {
                    b.to_async(&rt)
                        .iter(|| async { black_box(proxyscope_get(&s.ours_env, &uri).await) })
                });
                g.bench_function(
                    BenchmarkId::new("proxyscope_env_proxy_no_proxy_1000", size),
                    |b| {
                        b.to_async(&rt).iter(|| async {
                            black_box(proxyscope_get(&s.ours_env_list, &uri).await)
                        })
                    },
                );
            }
            g.finish();
        }
        // Dropping the harness handles needs the runtime (their tasks live there).
        rt.block_on(async move { drop(s) });
    }
}

fn config() -> Criterion {
    Criterion::default()
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3))
}

/// The fixed-count mode of the module's documentation.
/// One request through the client named `which` (the names of the count mode), and the length
/// of its whole body. `h2` is the connection of `hyper_h2_connection_over_proxyscope_direct`.
async fn one(
    s: &Setup,
    which: &str,
    uri: &Uri,
    h2: Option<&mut hyper::client::conn::http2::SendRequest<Full<Bytes>>>,
    work: Duration,
) -> usize {
    match which {
        "proxyscope_proxy" => proxyscope_get(&s.ours_proxy, uri).await,
        "proxyscope_direct" => proxyscope_get(&s.ours_direct, uri).await,
        "proxyscope_env_proxy" => proxyscope_get(&s.ours_env, uri).await,
        "proxyscope_env_proxy_no_proxy_1000" => proxyscope_get(&s.ours_env_list, uri).await,
        "hyper_util_proxy" => hyper_get(&s.theirs_proxy, uri).await,
        "hyper_util_direct" => hyper_get(&s.theirs_direct, uri).await,
        "hyper_util_proxy_footprint" => hyper_get_footprint(&s.theirs_proxy, uri).await,
        "hyper_util_direct_footprint" => hyper_get_footprint(&s.theirs_direct, uri).await,
        "hyper_util_proxy_same_headers" => {
            hyper_get_same_headers(&s.theirs_proxy, uri, &s.ours_headers).await
        }
        "hyper_util_direct_same_headers" => {
            hyper_get_same_headers(&s.theirs_direct, uri, &s.ours_headers).await
        }
        "hyper_util_proxy_wrapped" => hyper_get_wrapped(&s.theirs_proxy, uri).await,
        "hyper_util_direct_wrapped" => hyper_get_wrapped(&s.theirs_direct, uri).await,
        "hyper_util_proxy_busy" => {
            hyper_get_busy(&s.theirs_proxy, uri, work, BusyWhen::Around).await
        }
        "hyper_util_direct_busy" => {
            hyper_get_busy(&s.theirs_direct, uri, work, BusyWhen::Around).await
        }
        "hyper_util_proxy_busy_in_flight" => {
            hyper_get_busy(&s.theirs_proxy, uri, work, BusyWhen::InFlight).await
        }
        "hyper_util_direct_busy_in_flight" => {
            hyper_get_busy(&s.theirs_direct, uri, work, BusyWhen::InFlight).await
        }
        "hyper_util_over_proxyscope_proxy" => hyper_get(&s.legacy_over_ours_proxy, uri).await,
        "hyper_util_over_proxyscope_direct" => hyper_get(&s.legacy_over_ours_direct, uri).await,
        "hyper_h2_connection_over_proxyscope_direct" => {
            let send = h2.expect("the HTTP/2 connection, made by the caller");
            h2_get_same_headers(send, uri, &s.ours_headers).await
        }
        other => panic!("no client {other:?}"),
    }
}

/// The connection `one` sends `hyper_h2_connection_over_proxyscope_direct`'s requests on, when
/// that client is among `clients`.
async fn h2_connection_for(
    s: &Setup,
    clients: &[&str],
    uri: &Uri,
) -> Option<hyper::client::conn::http2::SendRequest<Full<Bytes>>> {
    if clients.contains(&"hyper_h2_connection_over_proxyscope_direct") {
        Some(h2_connection(&s.ours_direct, uri).await)
    } else {
        None
    }
}

/// The colon-separated fields of a mode's `spec`, at most `N` (`form` says what it should be).
fn fields<'s, const N: usize>(spec: &'s str, form: &str) -> [Option<&'s str>; N] {
    let mut parts = spec.split(':');
    let fields = std::array::from_fn(|_| parts.next());
    assert!(parts.next().is_none(), "{form}, not {spec:?}");
    fields
}

/// Runs `requests` on `rt` from `block_on`, or from a task it spawns when `in_task`.
fn run_requests(
    rt: &tokio::runtime::Runtime,
    in_task: bool,
    requests: impl std::future::Future<Output = ()> + Send + 'static,
) {
    if in_task {
        // As a service sends them: from a task on a worker thread, not from `block_on`.
        rt.block_on(async { tokio::spawn(requests).await.expect("the request task") });
    } else {
        rt.block_on(requests);
    }
}

/// Whether the requests are sent from a spawned task (`task` in the field `from`) rather than
/// from `block_on`.
fn from_task(from: Option<&str>) -> bool {
    match from {
        None => false,
        Some("task") => true,
        Some(other) => panic!("the field after the count is `task` or nothing, not {other:?}"),
    }
}

/// The paired mode (`PROXYSCOPE_BENCH_PAIRED`, see the module's doc): blocks of requests
/// through two clients in turn, A B B A, so that whatever slows the machine down over a run
/// falls on both alike.
fn paired(spec: &str) {
    let form = "PROXYSCOPE_BENCH_PAIRED is <a>,<b>:<h1|h2>:<pairs>[:<block>[:task]]";
    let [Some(clients), Some(proto), Some(pairs), block, from] = fields(spec, form) else {
        panic!("{form}, not {spec:?}");
    };
    let in_task = from_task(from);
    let Some((a, b)) = clients.split_once(',') else {
        panic!("PROXYSCOPE_BENCH_PAIRED names two clients, <a>,<b>, not {clients:?}");
    };
    let (a, b) = (a.to_owned(), b.to_owned());
    let proto = proto.to_owned();
    let pairs: usize = pairs.parse().expect("a number of pairs");
    let block: usize = block.map_or(100, |b| b.parse().expect("a block size"));
    assert!(pairs > 0 && block > 0, "at least one pair of one request");
    let rt = runtime();
    let s = Arc::new(setup(&rt, proto == "h2"));
    let uri: Uri = format!("{}/bytes/64", s.base).parse().expect("a Uri");
    let run = {
        let s = Arc::clone(&s);
        async move {
            warm_every_client(&s, &uri, 64).await;
            let mut h2 = h2_connection_for(&s, &[a.as_str(), b.as_str()], &uri).await;
            let mut latency = [Vec::new(), Vec::new()];
            let mut ratios = Vec::with_capacity(pairs);
            for pair in 0..pairs {
                let mut took = [Duration::ZERO; 2];
                let order = if pair % 2 == 0 { [0, 1] } else { [1, 0] };
                for side in order {
                    let which = [&a, &b][side];
                    for _ in 0..block {
                        let started = std::time::Instant::now();
                        assert_eq!(one(&s, which, &uri, h2.as_mut(), Duration::ZERO).await, 64);
                        let t = started.elapsed();
                        took[side] += t;
                        latency[side].push(t);
                    }
                }
                ratios.push(took[0].as_secs_f64() / took[1].as_secs_f64());
            }
            let median = |v: &mut Vec<Duration>| {
                v.sort_unstable();
                v[v.len() / 2]
            };
            let (ma, mb) = (median(&mut latency[0]), median(&mut latency[1]));
            ratios.sort_unstable_by(f64::total_cmp);
            let at = |q: f64| ratios[((ratios.len() - 1) as f64 * q).round() as usize];
            let from = if in_task { " (from a task)" } else { "" };
            let us = |d: Duration| d.as_secs_f64() * 1e6;
            println!(
                "{proto}{from} {a} / {b}: per-request median {:.1} / {:.1} µs = {:.3}; block \
                 ratios ({pairs} pairs of {block}) median {:.3}, quartiles {:.3} to {:.3}",
                us(ma),
                us(mb),
                us(ma) / us(mb),
                at(0.5),
                at(0.25),
                at(0.75),
            );
        }
    };
    run_requests(&rt, in_task, run);
    rt.block_on(async move { drop(s) });
}

fn count(spec: &str) {
    let form = "PROXYSCOPE_BENCH_COUNT is <client>:<h1|h2>:<n>[:<body bytes>[:task]]";
    let [Some(which), Some(proto), Some(n), size, from] = fields(spec, form) else {
        panic!("{form}, not {spec:?}");
    };
    let n: u64 = n.parse().expect("a request count");
    let size: usize = size.map_or(64, |s| s.parse().expect("a body size"));
    let in_task = from_task(from);
    let rt = runtime();
    let s = Arc::new(setup(&rt, proto == "h2"));
    let uri: Uri = format!("{}/bytes/{size}", s.base).parse().expect("a Uri");
    if std::env::var("PROXYSCOPE_BENCH_WARM_ALL").is_ok_and(|v| v == "1") {
        // As the criterion groups run: every client holds a warm connection, not only this one.
        rt.block_on(warm_every_client(&s, &uri, size));
    }
    let work = Duration::from_micros(env_number("PROXYSCOPE_BENCH_CALLER_WORK_US", 0));
    let which = which.to_owned();
    let requests = {
        let s = Arc::clone(&s);
        async move {
            let mut h2 = h2_connection_for(&s, &[which.as_str()], &uri).await;
            // One request first, so the connection (TCP, CONNECT, handshake) is not counted.
            let mut counted_from = None;
            for i in 0..=n {
                if i == 1 {
                    counted_from = thread_cpu_ns();
                }
                let got = one(&s, &which, &uri, h2.as_mut(), work).await;
                assert_eq!(got, size);
            }
            // From `block_on`, the calling thread's own CPU time: the work between its hand-offs
            // to the runtime's workers, which decides whether they fall asleep in between. (A
            // task may move between workers, so with `:task` there is no one thread to read.)
            if !in_task
                && n > 0
                && let (Some(from), Some(to)) = (counted_from, thread_cpu_ns())
            {
                let per = to.saturating_sub(from) / n;
                eprintln!("caller thread CPU per request: {per} ns ({n} requests)");
            }
        }
    };
    run_requests(&rt, in_task, requests);
    rt.block_on(async move { drop(s) });
}

fn main() {
    if let Ok(spec) = std::env::var("PROXYSCOPE_BENCH_PAIRED") {
        paired(&spec);
        return;
    }
    if let Ok(spec) = std::env::var("PROXYSCOPE_BENCH_COUNT") {
        count(&spec);
        return;
    }
    if std::env::var("PROXYSCOPE_BENCH_CLOCK").is_ok_and(|v| v == "cpu") {
        let mut c = config().with_measurement(ProcessCpu).configure_from_args();
        requests(&mut c, "_cpu");
        c.final_summary();
    } else {
        let mut c = config().configure_from_args();
        requests(&mut c, "");
        c.final_summary();
    }
}
