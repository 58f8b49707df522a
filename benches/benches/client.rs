//! Requests through a local CONNECT proxy to a TLS origin: proxyscope's [`Client`] against
//! hyper-util's legacy client with its `Tunnel` connector, and both against going direct.
//!
//! The servers are the public harness: a [`TestProxy`] that allows every CONNECT and a
//! [`TestOrigin`] over TLS whose leaf chains to a [`TestPki`] root. Both clients trust only that
//! root through the *same* rustls `ClientConfig` settings: hyper-util's side uses
//! [`HopTls::plain_config`] built from the very `TlsSettings` proxyscope's client builds for
//! its origin hop (ring provider, protocol versions, ALPN, resumption); the only difference is
//! that proxyscope's config carries its recording verifier (benched on its own in
//! `benches/benches/verifier.rs`). The connection is kept alive between iterations, so a sample
//! is one request on a warm pooled connection.
//!
//! Groups: `client_small_{h1,h2}` (a 64-byte body: latency) and `client_1mib_{h1,h2}` (a
//! 1 MiB body: throughput), each with `proxyscope_proxy`, `hyper_util_proxy`,
//! `hyper_util_proxy_wrapped` (hyper-util with the per-request timeout wrappers proxyscope's
//! client adds, to tell their cost apart), `proxyscope_direct` and `hyper_util_direct`.
//!
//! Wall time by default. With `PROXYSCOPE_BENCH_CLOCK=cpu` the same requests are measured in
//! CPU time of the whole process (client, proxy and origin together; groups end in `_cpu`),
//! which other processes on a shared machine do not inflate.
//!
//! `cargo bench -p proxyscope-benches --bench client -- --warm-up-time 1 --measurement-time 3`
// criterion's macros generate undocumented public functions.
#![allow(missing_docs)]

use std::error::Error as StdError;
use std::future::{Future, poll_fn};
use std::hint::black_box;
use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::Bytes;
use criterion::measurement::Measurement;
use criterion::{BenchmarkId, Criterion, Throughput};
use http::Uri;
use http_body_util::{BodyExt, Full};
use hyper::rt::{Read, ReadBufCursor, Write};
use hyper_util::client::legacy::Client as LegacyClient;
use hyper_util::client::legacy::connect::proxy::Tunnel;
use hyper_util::client::legacy::connect::{Connected, Connection, HttpConnector};
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use proxyscope::client::Client;
use proxyscope::testing::{ChainMode, TestOrigin, TestPki, TestProxy};
use proxyscope::tls::{CaBundle, HopTls, TlsSettings};
use proxyscope::{EnvSnapshot, ProxySetting, Roots, Settings};
use proxyscope_benches::cpu_time::ProcessCpu;
use rustls::pki_types::ServerName;
use tokio::net::TcpStream;
use tokio_rustls::TlsConnector;
use tokio_rustls::client::TlsStream;
use tower_service::Service;

type BoxError = Box<dyn StdError + Send + Sync>;

/// The TLS stream hyper-util's client speaks over: it reports h2 when ALPN chose it, as
/// hyper-rustls does.
struct TlsIo(TokioIo<TlsStream<TcpStream>>);

impl Connection for TlsIo {
    fn connected(&self) -> Connected {
        let (_, conn) = self.0.inner().get_ref();
        if conn.alpn_protocol() == Some(b"h2") {
            Connected::new().negotiated_h2()
        } else {
            Connected::new()
        }
    }
}

impl Read for TlsIo {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: ReadBufCursor<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.0).poll_read(cx, buf)
    }
}

impl Write for TlsIo {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.0).poll_write(cx, buf)
    }
    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.0).poll_flush(cx)
    }
    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.0).poll_shutdown(cx)
    }
    fn is_write_vectored(&self) -> bool {
        self.0.is_write_vectored()
    }
    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.0).poll_write_vectored(cx, bufs)
    }
}

/// hyper-util's way to reach an https origin: TCP (through `Tunnel` when a proxy is set),
/// then rustls with the given config.
#[derive(Clone)]
struct TlsConnect {
    tunnel: Option<Tunnel<HttpConnector>>,
    http: HttpConnector,
    tls: TlsConnector,
}

impl Service<Uri> for TlsConnect {
    type Response = TlsIo;
    type Error = BoxError;
    type Future = Pin<Box<dyn Future<Output = Result<TlsIo, BoxError>> + Send>>;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), BoxError>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, dst: Uri) -> Self::Future {
        let mut this = self.clone();
        Box::pin(async move {
            let host = dst.host().ok_or("no host")?.to_owned();
            let tcp = match this.tunnel.as_mut() {
                Some(t) => {
                    poll_fn(|cx| t.poll_ready(cx)).await?;
                    t.call(dst).await?
                }
                None => {
                    poll_fn(|cx| this.http.poll_ready(cx)).await?;
                    this.http.call(dst).await?
                }
            };
            let name = ServerName::try_from(host)?;
            let tls = this.tls.connect(name, tcp.into_inner()).await?;
            Ok(TlsIo(TokioIo::new(tls)))
        })
    }
}

type HyperClient = LegacyClient<TlsConnect, Full<Bytes>>;

fn hyper_client(config: Arc<rustls::ClientConfig>, proxy: Option<&str>) -> HyperClient {
    let mut http = HttpConnector::new();
    http.enforce_http(false);
    http.set_nodelay(true);
    let tunnel = proxy.map(|p| Tunnel::new(p.parse().expect("proxy URL is a Uri"), http.clone()));
    let connect = TlsConnect {
        tunnel,
        http,
        tls: TlsConnector::from(config),
    };
    LegacyClient::builder(TokioExecutor::new())
        .pool_timer(TokioTimer::new())
        .timer(TokioTimer::new())
        .build(connect)
}

async fn hyper_get(client: &HyperClient, uri: &Uri) -> usize {
    let req = http::Request::get(uri.clone())
        .body(Full::new(Bytes::new()))
        .expect("request builds");
    let res = client.request(req).await.expect("hyper-util request");
    assert!(res.status().is_success());
    let body = res.into_body().collect().await.expect("body").to_bytes();
    body.len()
}

/// hyper-util's request wrapped the way proxyscope's `Client::request` wraps it: the request
/// timeout starts once a connection is in hand (`capture_connection` raced against the send),
/// and the body is read under its own timeout. Tells the cost of those wrappers apart from the
/// rest of proxyscope's per-request work.
async fn hyper_get_wrapped(client: &HyperClient, uri: &Uri) -> usize {
    let timeout = Duration::from_secs(30);
    let mut req = http::Request::get(uri.clone())
        .body(Full::new(Bytes::new()))
        .expect("request builds");
    let mut capture = hyper_util::client::legacy::connect::capture_connection(&mut req);
    let send = client.request(req);
    let res = async {
        tokio::pin!(send);
        tokio::select! {
            r = &mut send => return Some(r),
            _ = capture.wait_for_connection_metadata() => {}
        }
        tokio::time::timeout(timeout, &mut send).await.ok()
    }
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

async fn proxyscope_get(client: &Client, url: &str) -> usize {
    let res = client.get(url).await.expect("proxyscope request");
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
    theirs_proxy: HyperClient,
    theirs_direct: HyperClient,
}

fn setup(rt: &tokio::runtime::Runtime, h2: bool) -> Setup {
    rt.block_on(async {
        let pki = TestPki::new();
        let origin = TestOrigin::https(&pki, pki.localhost(), ChainMode::Full).await;
        let proxy = TestProxy::allow_all().await;
        let root = pki.root_pem_path().to_path_buf();

        let ours = |setting: ProxySetting| {
            Client::builder()
                .global(
                    Settings::new()
                        .with_proxy(setting)
                        .with_roots(Roots::None)
                        .with_ca_file([root.clone()]),
                )
                .env(EnvSnapshot::from_pairs(Vec::<(String, String)>::new()))
                .http2(h2)
                .build()
                .expect("proxyscope client builds")
        };
        let ours_proxy = ours(ProxySetting::parse(&proxy.url()).expect("proxy URL"));
        let ours_direct = ours(ProxySetting::Direct);

        // The settings proxyscope's client derives for its origin hop, with rustls's verifier.
        let mut settings = TlsSettings::origin()
            .with_roots(Roots::None)
            .with_ca_file(CaBundle::load(&root).expect("root PEM loads"));
        if !h2 {
            settings = settings.with_alpn([b"http/1.1".to_vec()]);
        }
        let config = HopTls::new(settings).expect("TLS config").plain_config();
        let theirs_proxy = hyper_client(config.clone(), Some(&proxy.url()));
        let theirs_direct = hyper_client(config, None);

        Setup {
            base: origin.url(""),
            _pki: pki,
            _origin: origin,
            proxy,
            ours_proxy,
            ours_direct,
            theirs_proxy,
            theirs_direct,
        }
    })
}

fn requests<M: Measurement + 'static>(c: &mut Criterion<M>, suffix: &str) {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    for h2 in [false, true] {
        let proto = if h2 { "h2" } else { "h1" };
        let s = setup(&rt, h2);
        for (label, size) in [("small", 64usize), ("1mib", 1 << 20)] {
            let url = format!("{}/bytes/{size}", s.base);
            let uri: Uri = url.parse().expect("origin URL is a Uri");
            // Warm every pool and prove each client really gets the body, and that the proxied
            // clients really went through the proxy.
            rt.block_on(async {
                assert_eq!(proxyscope_get(&s.ours_proxy, &url).await, size);
                assert_eq!(proxyscope_get(&s.ours_direct, &url).await, size);
                assert_eq!(hyper_get(&s.theirs_proxy, &uri).await, size);
                assert_eq!(hyper_get(&s.theirs_direct, &uri).await, size);
            });
            assert!(
                s.proxy.connect_count() >= 2,
                "both proxied clients tunnelled"
            );

            let mut g = c.benchmark_group(format!("client_{label}_{proto}{suffix}"));
            g.throughput(Throughput::Bytes(size as u64));
            g.bench_function(BenchmarkId::new("proxyscope_proxy", size), |b| {
                b.to_async(&rt)
                    .iter(|| async { black_box(proxyscope_get(&s.ours_proxy, &url).await) })
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
                    .iter(|| async { black_box(proxyscope_get(&s.ours_direct, &url).await) })
            });
            g.bench_function(BenchmarkId::new("hyper_util_direct", size), |b| {
                b.to_async(&rt)
                    .iter(|| async { black_box(hyper_get(&s.theirs_direct, &uri).await) })
            });
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

fn main() {
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
