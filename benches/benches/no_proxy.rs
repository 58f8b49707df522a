//! NO_PROXY matching: proxyscope's [`NoProxy`] against hyper-util's
//! `hyper_util::client::proxy::matcher::Matcher`, on the same lists and the same hosts.
//!
//! hyper-util's only public matching call is `Matcher::intercept(&Uri)`; its `NoProxy` type is
//! private. The matcher here is built with `no(list)` and `all(proxy)` (without a proxy
//! `intercept` answers `None` for every host and a miss cannot be told from a hit). A hit is the
//! no-proxy check alone; a miss is the check plus a scheme match and a clone of the configured
//! `Intercept`, whose cost `no_proxy_floor/hyper_util_intercept_clone` measures on its own so it
//! can be subtracted. Both sides receive the same pre-parsed `http::Uri`; proxyscope's side
//! reads `uri.host()` and calls [`NoProxy::is_match`], the decision without the explanation. A
//! third line, `proxyscope_explain`, measures [`NoProxy::matches`], which also names the first
//! matching entry in list order and its rule.
//!
//! One criterion group per list size, both implementations side by side. Before measuring,
//! every case asserts that both implementations return the same decision and that it is the
//! expected one, so the two sides never do different work.
//!
//! `cargo bench -p proxyscope-benches --bench no_proxy -- --warm-up-time 1 --measurement-time 3`
// criterion's macros generate undocumented public functions.
#![allow(missing_docs)]

use std::hint::black_box;

use criterion::{BenchmarkId, Criterion, criterion_group, criterion_main};
use http::Uri;
use hyper_util::client::proxy::matcher::Matcher;
use proxyscope::proxy::NoProxy;
use proxyscope_benches::cpu_time::{ThreadCpu, thread_cpu_criterion};

/// The list sizes the performance targets name (docs/benchmarks.md).
const DOMAIN_SIZES: [usize; 4] = [10, 100, 1_000, 10_000];
const IP_SIZES: [usize; 3] = [10, 100, 1_000];
/// The proxy hyper-util's matcher selects on a miss (never contacted).
const PROXY: &str = "http://proxy.invalid:3128";

/// A realistic internal-name list: every other entry with a leading dot, varied depth.
fn domain_list(n: usize) -> Vec<String> {
    (0..n)
        .map(|i| {
            let dot = if i % 2 == 0 { "." } else { "" };
            match i % 3 {
                0 => format!("{dot}svc{i}.internal.example.org"),
                1 => format!("{dot}host-{i}.corp{}.example.net", i % 17),
                _ => format!("{dot}team{i}.example{}.com", i % 29),
            }
        })
        .collect()
}

/// Mixed IPv4 addresses, IPv4 /24 and /16 blocks, and IPv6 /64 blocks and addresses.
fn ip_list(n: usize) -> Vec<String> {
    (0..n)
        .map(|i| {
            let (a, b) = (i / 256 % 256, i % 256);
            match i % 4 {
                0 => format!("10.{a}.{b}.0/24"),
                1 => format!("192.168.{b}.{}", a + 1),
                2 => format!("2001:db8:{i:x}::/64"),
                _ => format!("fd00::{i:x}"),
            }
        })
        .collect()
}

struct Case {
    name: &'static str,
    url: String,
    expect: bool,
}

fn domain_cases(n: usize) -> Vec<Case> {
    // The last entries: a linear scan reaches them last.
    let last = n - 1;
    let exact = match last % 3 {
        0 => format!("svc{last}.internal.example.org"),
        1 => format!("host-{last}.corp{}.example.net", last % 17),
        _ => format!("team{last}.example{}.com", last % 29),
    };
    vec![
        Case {
            name: "hit_exact_last",
            url: format!("https://{exact}/"),
            expect: true,
        },
        Case {
            name: "hit_subdomain_last",
            url: format!("https://api.v2.{exact}/"),
            expect: true,
        },
        Case {
            name: "hit_first",
            url: "https://a.svc0.internal.example.org/".to_owned(),
            expect: true,
        },
        Case {
            name: "miss",
            url: "https://translate.yandex.net/api/v1.5".to_owned(),
            expect: false,
        },
    ]
}

fn ip_cases(n: usize) -> Vec<Case> {
    let last_v4_net = (0..n).rev().find(|i| i % 4 == 0).unwrap_or(0);
    let (a, b) = (last_v4_net / 256 % 256, last_v4_net % 256);
    let last_v6 = (0..n).rev().find(|i| i % 4 == 3).unwrap_or(3);
    vec![
        Case {
            name: "hit_v4_cidr_last",
            url: format!("http://10.{a}.{b}.77/"),
            expect: true,
        },
        Case {
            name: "hit_v6_exact_last",
            url: format!("http://[fd00::{last_v6:x}]/"),
            expect: true,
        },
        Case {
            name: "miss_v4",
            url: "http://172.16.5.4/".to_owned(),
            expect: false,
        },
        Case {
            name: "miss_v6",
            url: "http://[2001:db9::1]/".to_owned(),
            expect: false,
        },
    ]
}

fn bench_group(c: &mut Criterion<ThreadCpu>, group: &str, list: &[String], cases: Vec<Case>) {
    let value = list.join(",");
    let ours = NoProxy::parse(&value);
    assert_eq!(ours.len(), list.len(), "every entry parsed");
    let theirs = Matcher::builder().all(PROXY).no(value.as_str()).build();

    let mut g = c.benchmark_group(group);
    for case in cases {
        let uri: Uri = case.url.parse().expect("bench URL parses");
        let host = uri.host().unwrap_or_default();
        assert_eq!(
            ours.is_match(host),
            case.expect,
            "proxyscope on {}",
            case.url
        );
        assert_eq!(
            theirs.intercept(&uri).is_none(),
            case.expect,
            "hyper-util on {}",
            case.url
        );
        g.bench_with_input(BenchmarkId::new("proxyscope", case.name), &uri, |b, u| {
            b.iter(|| black_box(&ours).is_match(black_box(u).host().unwrap_or_default()))
        });
        g.bench_with_input(BenchmarkId::new("hyper_util", case.name), &uri, |b, u| {
            b.iter(|| black_box(&theirs).intercept(black_box(u)).is_none())
        });
        g.bench_with_input(
            BenchmarkId::new("proxyscope_explain", case.name),
            &uri,
            |b, u| b.iter(|| black_box(&ours).matches(black_box(u).host().unwrap_or_default())),
        );
    }
    g.finish();
}

fn domains(c: &mut Criterion<ThreadCpu>) {
    for n in DOMAIN_SIZES {
        bench_group(
            c,
            &format!("no_proxy_domains_{n}"),
            &domain_list(n),
            domain_cases(n),
        );
    }
}

fn ips(c: &mut Criterion<ThreadCpu>) {
    for n in IP_SIZES {
        bench_group(c, &format!("no_proxy_ips_{n}"), &ip_list(n), ip_cases(n));
    }
}

/// What hyper-util's `intercept` adds on a miss besides matching: cloning the selected proxy.
fn floor(c: &mut Criterion<ThreadCpu>) {
    let m = Matcher::builder().all(PROXY).build();
    let uri: Uri = "https://translate.yandex.net/".parse().expect("URL parses");
    let selected = m.intercept(&uri).expect("a proxy is configured");
    let mut g = c.benchmark_group("no_proxy_floor");
    g.bench_function("hyper_util_intercept_clone", |b| {
        b.iter(|| black_box(&selected).clone())
    });
    g.bench_function("hyper_util_intercept_empty_list", |b| {
        b.iter(|| black_box(&m).intercept(black_box(&uri)).is_none())
    });
    g.finish();
}

criterion_group! {
    name = benches;
    config = thread_cpu_criterion();
    targets = floor, domains, ips
}
criterion_main!(benches);
