//! `probe check` over 1, 10 and 100 providers: the [`Runner`]'s wall time against the slowest
//! single check (the target: about as long as the slowest check, not the sum).
//!
//! Every provider reaches one TLS [`TestOrigin`] through one allow-all [`TestProxy`] (CONNECT),
//! trusting the [`TestPki`] root, with connection reuse off as `probe check` runs it — so each
//! check pays TCP, CONNECT, a full TLS handshake and the request. Provider `p0` asks
//! `/slow?ms=100`; the others ask for 20–99 ms. `providers/1` is `p0` alone, i.e. the slowest
//! single check; `providers/10` and `providers/100` add faster ones. The ratio of their medians
//! to `providers/1` is the number to read: 1.0 is perfect concurrency; N would be sequential.
//!
//! `cargo bench -p proxyscope-benches --bench probe -- --warm-up-time 1 --measurement-time 3`
// criterion's macros generate undocumented public functions.
#![allow(missing_docs)]

use std::time::Duration;

use criterion::{BenchmarkId, Criterion, criterion_group, criterion_main};
use proxyscope::client::Client;
use proxyscope::probe::{Check, Runner};
use proxyscope::testing::{ChainMode, TestOrigin, TestPki, TestProxy};
use proxyscope::{EnvSnapshot, ProxySetting, Roots, Settings};

const SLOWEST_MS: u64 = 100;

/// Provider `i`'s delay: `p0` is the slowest, the rest spread over 20–99 ms.
fn delay_ms(i: usize) -> u64 {
    if i == 0 {
        SLOWEST_MS
    } else {
        20 + (i as u64 * 37) % 80
    }
}

fn probe(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    let pki = TestPki::new();
    let (origin, proxy) = rt.block_on(async {
        (
            TestOrigin::https(&pki, pki.localhost(), ChainMode::Full).await,
            TestProxy::allow_all().await,
        )
    });
    let via = ProxySetting::parse(&proxy.url()).expect("proxy URL");
    let mut builder = Client::builder()
        .env(EnvSnapshot::from_pairs(Vec::<(String, String)>::new()))
        .pool_max_idle_per_host(0);
    let mut checks = Vec::new();
    for i in 0..100 {
        let name = format!("p{i}");
        let layer = Settings::new()
            .with_proxy(via.clone())
            .with_roots(Roots::None)
            .with_ca_file([pki.root_pem_path().to_path_buf()]);
        builder = builder.provider(&name, &origin.url("/"), layer);
        let url = origin.url(&format!("/slow?ms={}", delay_ms(i)));
        checks.push(Check::new(&name, "slow", &url));
    }
    // Building a client loads every provider's TLS config; the runtime is needed for none of it.
    let client = builder.build().expect("client builds");
    let runner = Runner::new(client).default_timeout(Duration::from_secs(30));

    let mut g = c.benchmark_group("probe_check");
    g.sample_size(10);
    for n in [1usize, 10, 100] {
        let subset = &checks[..n];
        let report = rt.block_on(runner.run(subset));
        assert!(report.is_ok(), "every check passes: {}", report.to_json());
        g.bench_with_input(BenchmarkId::new("providers", n), &subset, |b, s| {
            b.to_async(&rt).iter(|| async {
                let report = runner.run(s).await;
                assert!(report.is_ok());
                report
            })
        });
    }
    g.finish();
    assert!(proxy.connect_count() > 0, "checks went through the proxy");
    rt.block_on(async move {
        drop(origin);
        drop(proxy);
    });
}

fn config() -> Criterion {
    Criterion::default()
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3))
}

criterion_group! {
    name = benches;
    config = config();
    targets = probe
}
criterion_main!(benches);
