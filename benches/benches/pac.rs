//! PAC evaluation (feature `pac`) beside the static route decision it would replace: a
//! realistic corporate PAC file (`tests/fixtures/pac/corp.pac`: plain names, eight internal
//! zones, SaaS patterns, private ranges, a three-candidate default) answering eight different
//! destinations in turn.
//!
//! - `uncached`: a fresh `FindProxyForURL` call in a warm engine, answer parsed (`Pac::evaluate`).
//! - `cached`: the same questions answered from the per-destination cache (`Pac::find_proxy`).
//! - `load`: a new engine with the helpers and the script compiled (what a cold start or an
//!   engine replaced after a limit costs).
//! - `parse_result`: reading a three-entry answer.
//! - `static_route`: `route::resolve` for one provider with a global proxy and `no_proxy` list,
//!   the decision a PAC file stands in for.
//!
//! - `route_decision/*`: one route decided by a [`Router`] (what the client does per request;
//!   with `pac`, a router given the PAC evaluator, as the client's),
//!   static (a proxy and a `no_proxy` list) or with `pac` set to the same file, its answer
//!   cached, or not (each iteration a host the cache has never seen; the static route is
//!   measured on the same fresh URLs).
//!
//! `cargo bench -p proxyscope-benches --bench pac -- --warm-up-time 1 --measurement-time 3`
// criterion's macros generate undocumented public functions.
#![allow(missing_docs)]

use std::hint::black_box;

use criterion::{Criterion, criterion_group, criterion_main};
use proxyscope::pac::{Decision, Pac, PacOptions, PacScript, parse_result};
use proxyscope::route::{Router, resolve};
use proxyscope::{EnvSnapshot, NoProxy, ProxySetting, Settings};
use proxyscope_benches::cpu_time::{ThreadCpu, thread_cpu_criterion};
use url::Url;

const CORP: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../tests/fixtures/pac/corp.pac"
);

const URLS: &[&str] = &[
    "https://intranet/",
    "https://build.build.example.com/job/1",
    "http://update.example.com/x.cab",
    "https://acme.my.salesforce.com/",
    "http://10.20.30.40/status",
    "https://a.b.c.d.example.de/",
    "https://www.example.org/",
    "https://api.github.com/repos",
];

fn pac_benches(c: &mut Criterion<ThreadCpu>) {
    let script = PacScript::from_file(CORP).expect("fixture loads");
    let pac = Pac::new(script.clone(), PacOptions::new()).expect("fixture compiles");
    let urls: Vec<Url> = URLS
        .iter()
        .map(|u| Url::parse(u).expect("bench URL"))
        .collect();
    for u in &urls {
        assert!(
            matches!(pac.find_proxy(u), Ok(Decision::Answer { .. })),
            "{u}"
        );
    }

    let mut g = c.benchmark_group("pac_corp_8_destinations");
    g.bench_function("uncached", |b| {
        b.iter(|| {
            for u in &urls {
                black_box(pac.evaluate(black_box(u)).is_ok());
            }
        })
    });
    g.bench_function("cached", |b| {
        b.iter(|| {
            for u in &urls {
                black_box(pac.find_proxy(black_box(u)).is_ok());
            }
        })
    });
    g.bench_function("static_route", |b| {
        let global = Settings::new()
            .with_proxy(ProxySetting::parse("http://egress-a.example.com:3128").expect("proxy"))
            .with_no_proxy(NoProxy::from_entries([
                "localhost",
                ".corp.example.com",
                ".svc.example.com",
                ".intranet.example.net",
                ".lab.example.org",
                ".build.example.com",
                "10.0.0.0/8",
                "172.16.0.0/12",
                "192.168.0.0/16",
            ]));
        let env = EnvSnapshot::from_pairs(Vec::<(String, String)>::new());
        b.iter(|| {
            for u in &urls {
                black_box(resolve(&global, None, &env, black_box(u)).is_ok());
            }
        })
    });
    g.finish();

    route_decisions(c, &urls);

    let mut g = c.benchmark_group("pac_parts");
    g.bench_function("load", |b| {
        b.iter(|| {
            Pac::new(black_box(script.clone()), PacOptions::new())
                .map(|p| p.cached())
                .is_ok()
        })
    });
    g.bench_function("parse_result", |b| {
        b.iter(|| {
            parse_result(black_box(
                "PROXY egress-a.example.com:3128; PROXY egress-b.example.com:3128; DIRECT",
            ))
            .entries
            .len()
        })
    });
    g.finish();
}

fn static_settings() -> Settings {
    Settings::new()
        .with_proxy(ProxySetting::parse("http://egress-a.example.com:3128").expect("proxy"))
        .with_no_proxy(NoProxy::from_entries([
            "localhost",
            ".corp.example.com",
            ".svc.example.com",
            ".intranet.example.net",
            ".lab.example.org",
            ".build.example.com",
            "10.0.0.0/8",
            "172.16.0.0/12",
            "192.168.0.0/16",
        ]))
}

/// Route decisions as the client makes them: a router built once, one decision per URL.
fn route_decisions(c: &mut Criterion<ThreadCpu>, urls: &[Url]) {
    let env = EnvSnapshot::from_pairs(Vec::<(String, String)>::new());
    let fixed = Router::new(static_settings(), None, env.clone());
    let pac = Router::with_auto_config(
        Settings::new().with_pac(CORP),
        None,
        env,
        proxyscope::pac::auto_config,
    );
    for u in urls {
        let r = pac.route_url(u).expect("routes");
        assert!(r.candidates().is_some_and(|c| c.failure.is_none()), "{u}");
    }
    let mut g = c.benchmark_group("route_decision");
    g.bench_function("static_8", |b| {
        b.iter(|| {
            for u in urls {
                black_box(fixed.route_url(black_box(u)).is_ok());
            }
        })
    });
    g.bench_function("pac_cached_8", |b| {
        b.iter(|| {
            for u in urls {
                black_box(pac.route_url(black_box(u)).is_ok());
            }
        })
    });
    let mut n = 0u64;
    let mut fresh = || {
        n += 1;
        Url::parse(&format!("https://h{n}.example.org/")).expect("bench URL")
    };
    g.bench_function("static_fresh_host", |b| {
        b.iter(|| black_box(fixed.route_url(black_box(&fresh())).is_ok()))
    });
    g.bench_function("pac_uncached_fresh_host", |b| {
        b.iter(|| black_box(pac.route_url(black_box(&fresh())).is_ok()))
    });
    g.finish();
}

criterion_group! {
    name = benches;
    config = thread_cpu_criterion();
    targets = pac_benches
}
criterion_main!(benches);
