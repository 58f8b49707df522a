//! The recording verifier against rustls's plain `WebPkiServerVerifier` on successful loopback
//! handshakes (full handshakes: resumption off on both sides, so the verifier runs every time).
//!
//! `plain_rustls`: tokio-rustls with `HopTls::plain_config()` (same provider, roots, ALPN).
//! `recording`: `HopTls::connect` — the shared recording verifier, the task-local slot, the chain
//! summaries (x509 parsing + SHA-256 of every certificate) that the probe reports on success.
//! Target: recording within 2% of plain (see docs/benchmarks.md).
//!
//! The machine is shared, so wall time is noisy. Three views:
//! - `plain_rustls` / `recording`: wall time, interleaved — every iteration runs one plain and one
//!   recording handshake and each benchmark times only its own, so load from other processes falls
//!   on both alike;
//! - `cpu/*`: on-CPU time of the client thread (Linux `/proc/thread-self/schedstat`, read once per
//!   sample), which preemption by other processes does not inflate. The server runs on its own
//!   runtime thread, so this is the client's handshake cost alone;
//! - `sequential/*`: plain wall time, one after the other.
#![allow(missing_docs)]

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use criterion::{Criterion, criterion_group, criterion_main};
use proxyscope::Roots;
use proxyscope::tls::{CaBundle, HopTls, TlsSettings};
use rcgen::{BasicConstraints, CertificateParams, CertifiedIssuer, DnType, IsCa, KeyPair};
use rustls::ServerConfig;
use rustls_pki_types::{PrivateKeyDer, PrivatePkcs8KeyDer, ServerName};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio_rustls::{TlsAcceptor, TlsConnector};

struct Fixture {
    addr: SocketAddr,
    tls: HopTls,
    _dir: tempfile::TempDir,
}

/// Nanoseconds this thread has spent on a CPU, if the kernel says.
fn thread_cpu() -> Option<Duration> {
    let s = std::fs::read_to_string("/proc/thread-self/schedstat").ok()?;
    let ns: u64 = s.split_whitespace().next()?.parse().ok()?;
    Some(Duration::from_nanos(ns))
}

async fn fixture(server_rt: &tokio::runtime::Handle) -> Fixture {
    let mut ca = CertificateParams::new(Vec::<String>::new()).unwrap();
    ca.distinguished_name.push(DnType::CommonName, "Bench Root");
    ca.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    let root = CertifiedIssuer::self_signed(ca, KeyPair::generate().unwrap()).unwrap();
    let mut inter = CertificateParams::new(Vec::<String>::new()).unwrap();
    inter
        .distinguished_name
        .push(DnType::CommonName, "Bench Intermediate");
    inter.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    let inter = CertifiedIssuer::signed_by(inter, KeyPair::generate().unwrap(), &root).unwrap();
    let key = KeyPair::generate().unwrap();
    let leaf = CertificateParams::new(vec!["bench.test".to_owned()])
        .unwrap()
        .signed_by(&key, &inter)
        .unwrap();

    let mut server =
        ServerConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_no_client_auth()
            .with_single_cert(
                vec![leaf.der().clone(), inter.der().clone()],
                PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(key.serialize_der())),
            )
            .unwrap();
    server.session_storage = Arc::new(rustls::server::NoServerSessionStorage {});
    server.send_tls13_tickets = 0;
    let acceptor = TlsAcceptor::from(Arc::new(server));
    let std_listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    std_listener.set_nonblocking(true).unwrap();
    let addr = std_listener.local_addr().unwrap();
    server_rt.spawn(async move {
        let listener = TcpListener::from_std(std_listener).unwrap();
        while let Ok((tcp, _)) = listener.accept().await {
            let acceptor = acceptor.clone();
            tokio::spawn(async move {
                if let Ok(mut s) = acceptor.accept(tcp).await {
                    let _ = s.write_all(b"k").await;
                    let _ = s.shutdown().await;
                }
            });
        }
    });

    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("root.pem");
    std::fs::write(&path, root.pem()).unwrap();
    let settings = TlsSettings::origin()
        .with_roots(Roots::Webpki)
        .with_ca_file(CaBundle::load(&path).unwrap())
        .with_resumption(false);
    let tls = HopTls::new(settings).unwrap();
    Fixture {
        addr,
        tls,
        _dir: dir,
    }
}

async fn plain(f: &Fixture, connector: &TlsConnector) {
    let tcp = TcpStream::connect(f.addr).await.unwrap();
    let name = ServerName::try_from("bench.test").unwrap();
    let mut s = connector.connect(name, tcp).await.unwrap();
    let mut b = [0u8; 1];
    s.read_exact(&mut b).await.unwrap();
}

async fn recording(f: &Fixture) {
    let tcp = TcpStream::connect(f.addr).await.unwrap();
    let (mut s, info) = f
        .tls
        .connect("bench.test", tcp, Duration::from_secs(5))
        .await
        .unwrap();
    assert_eq!(info.chain.len(), 2);
    let mut b = [0u8; 1];
    s.read_exact(&mut b).await.unwrap();
}

fn handshakes(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let server_rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap();
    let f = rt.block_on(fixture(server_rt.handle()));
    let connector = TlsConnector::from(f.tls.plain_config());
    // Both paths must succeed before they are timed.
    rt.block_on(plain(&f, &connector));
    rt.block_on(recording(&f));

    let mut g = c.benchmark_group("tls_handshake");
    g.sample_size(60);
    g.measurement_time(Duration::from_secs(10));
    // Interleaved: both run every iteration, each bench times its own half.
    g.bench_function("plain_rustls", |b| {
        b.to_async(&rt).iter_custom(|n| {
            let (f, connector) = (&f, &connector);
            async move {
                let mut own = Duration::ZERO;
                for _ in 0..n {
                    let t = Instant::now();
                    plain(f, connector).await;
                    own += t.elapsed();
                    recording(f).await;
                }
                own
            }
        })
    });
    g.bench_function("recording", |b| {
        b.to_async(&rt).iter_custom(|n| {
            let (f, connector) = (&f, &connector);
            async move {
                let mut own = Duration::ZERO;
                for _ in 0..n {
                    plain(f, connector).await;
                    let t = Instant::now();
                    recording(f).await;
                    own += t.elapsed();
                }
                own
            }
        })
    });
    g.bench_function("cpu/plain_rustls", |b| {
        b.to_async(&rt).iter_custom(|n| {
            let (f, connector) = (&f, &connector);
            async move {
                let (t, c) = (Instant::now(), thread_cpu());
                for _ in 0..n {
                    plain(f, connector).await;
                }
                match (c, thread_cpu()) {
                    (Some(a), Some(b)) => b - a,
                    _ => t.elapsed(),
                }
            }
        })
    });
    g.bench_function("cpu/recording", |b| {
        b.to_async(&rt).iter_custom(|n| {
            let f = &f;
            async move {
                let (t, c) = (Instant::now(), thread_cpu());
                for _ in 0..n {
                    recording(f).await;
                }
                match (c, thread_cpu()) {
                    (Some(a), Some(b)) => b - a,
                    _ => t.elapsed(),
                }
            }
        })
    });
    g.bench_function("sequential/plain_rustls", |b| {
        b.to_async(&rt).iter(|| plain(&f, &connector))
    });
    g.bench_function("sequential/recording", |b| {
        b.to_async(&rt).iter(|| recording(&f))
    });
    g.finish();
}

criterion_group!(benches, handshakes);
criterion_main!(benches);
