//! The route decision against hyper-util's `Matcher::intercept`, and what the explanation costs.
//!
//! `route_decision_{env,file}_{N}`: [`Client::route`] on a pre-parsed `http::Uri` — the
//! decision a request makes, with no text built — against `Matcher::intercept` on the same
//! `Uri`, for a `NO_PROXY` list of N = 10, 100, 1,000 and 10,000 domain entries that comes
//! from the environment (`https_proxy` + `NO_PROXY`, given to the client as an
//! [`EnvSnapshot`]) or from a configuration file (`proxy` + `no_proxy` in TOML, read by
//! [`Config::from_file`]). hyper-util's matcher is built from the same proxy and list (it reads
//! no files; its builder is what a client configured from a file would use). Cases: a host equal
//! to the last entry and a subdomain of it (a linear scan reaches them last), and a miss. Both
//! sides return an owned answer (a [`Route`], an `Intercept`) that is dropped in the loop.
//! Before measuring, every case asserts both give the same, expected, decision.
//!
//! `route_explain`: the first [`Route::explain`] of a fresh route for a 1,000-entry list (the
//! steps, the list printed with provenance, other tools' readings of it) — off the request path,
//! measured to say what looking costs. `explain_1000_{env,file}` explain routes of one client,
//! whose environment snapshot has read the list by other tools' rules already;
//! `explain_1000_env_first` is the first route explained under a new snapshot, that reading
//! included.
//!
//! `route_50_providers`: [`proxyscope::route::resolve`] for every provider's URL,
//! against the decision hyper-util's stack makes for the same URLs.
//!
//! The configuration mixes what real deployments have: a global proxy and `no_proxy` list,
//! providers that inherit, that say `"direct"`, that name their own proxy, that defer to the
//! environment, and that carry their own `no_proxy`; the environment sets `https_proxy`,
//! `http_proxy` and `NO_PROXY`.
//!
//! hyper-util has no notion of providers; its equivalent is one `Matcher` per provider, built
//! from that provider's effective proxy and `no_proxy` (built ahead, as a client would), and
//! `Matcher::intercept` on the provider's URL. That line is a reference for what the decision
//! alone costs: `resolve` also parses nothing at call time but records every step it consulted
//! (with origins and warnings), which is what `explain()` and the probe print.
//!
//! `cargo bench -p proxyscope-benches --bench route -- --warm-up-time 1 --measurement-time 3`
//!
//! With `PROXYSCOPE_BENCH_COUNT=<env|file>:<entries>:<case>:<proxyscope|hyper_util>:<n>` the
//! binary makes one `route_decision` case's decision `n` times and exits, for instruction
//! counts per decision: run it under `valgrind --tool=callgrind` with two values of `n` and
//! divide the difference in instructions by the difference in `n` (the setup cancels out).
// criterion's macros generate undocumented public functions.
#![allow(missing_docs)]

use std::hint::black_box;

use criterion::{BenchmarkId, Criterion, criterion_group};
use http::Uri;
use hyper_util::client::proxy::matcher::Matcher;
use proxyscope::route::{Route, resolve};
use proxyscope::{Client, Config, EnvSnapshot, NoProxy, ProxySetting, Settings};
use proxyscope_benches::cpu_time::{ThreadCpu, thread_cpu_criterion};
use url::Url;

const PROVIDERS: usize = 50;

fn global_no_proxy() -> Vec<String> {
    let mut v: Vec<String> = (0..20).map(|i| format!(".svc{i}.example.org")).collect();
    v.extend(["localhost".into(), "127.0.0.1".into(), "10.0.0.0/8".into()]);
    v
}

struct Provider {
    name: String,
    layer: Settings,
    url: Url,
    /// What hyper-util would be configured with for this provider: (proxy, no_proxy).
    matcher: Matcher,
}

fn setup() -> (Settings, EnvSnapshot, Vec<Provider>) {
    let global_np = global_no_proxy();
    let global = Settings::new()
        .with_proxy(ProxySetting::parse("http://egress.example.org:3128").expect("proxy parses"))
        .with_no_proxy(NoProxy::from_entries(global_np.iter().map(String::as_str)));
    let env_np = "localhost,.internal.example.net,192.168.0.0/16";
    let env = EnvSnapshot::from_pairs([
        ("https_proxy", "http://env-proxy.example.org:8080"),
        ("http_proxy", "http://env-proxy.example.org:8080"),
        ("NO_PROXY", env_np),
    ]);
    let providers = (0..PROVIDERS)
        .map(|i| {
            let name = format!("provider{i}");
            let host = match i % 5 {
                0 => format!("api{i}.svc{}.example.org", i % 20),
                1 => format!("translate{i}.vendor.example.com"),
                2 => format!("10.1.{i}.7"),
                3 => format!("mt{i}.internal.example.net"),
                _ => format!("api.provider{i}.example.com"),
            };
            let scheme = if i % 2 == 0 { "https" } else { "http" };
            let url_s = format!("{scheme}://{host}/v1/translate?q={i}");
            let own_proxy = format!("http://proxy{i}.example.org:3128");
            // (layer, effective hyper-util proxy, effective no_proxy)
            let (layer, proxy, np): (Settings, Option<String>, String) = match i % 6 {
                0 => (Settings::new(), Some(global_proxy()), global_np.join(",")),
                1 => (
                    Settings::new().with_proxy(ProxySetting::Direct),
                    None,
                    global_np.join(","),
                ),
                2 => (
                    Settings::new().with_proxy(ProxySetting::parse(&own_proxy).expect("parses")),
                    Some(own_proxy.clone()),
                    global_np.join(","),
                ),
                3 => (
                    Settings::new().with_proxy(ProxySetting::Env),
                    Some("http://env-proxy.example.org:8080".into()),
                    global_np.join(","),
                ),
                4 => (
                    Settings::new()
                        .with_proxy(ProxySetting::parse(&own_proxy).expect("parses"))
                        .with_no_proxy(NoProxy::parse(&format!("mt{i}.internal.example.net"))),
                    Some(own_proxy.clone()),
                    format!("mt{i}.internal.example.net"),
                ),
                _ => (
                    Settings::new().with_no_proxy(NoProxy::parse("")),
                    Some(global_proxy()),
                    String::new(),
                ),
            };
            let mut b = Matcher::builder().no(np);
            if let Some(p) = proxy {
                b = b.all(p);
            }
            Provider {
                name,
                layer,
                url: Url::parse(&url_s).expect("bench URL parses"),
                matcher: b.build(),
            }
        })
        .collect();
    (global, env, providers)
}

fn global_proxy() -> String {
    "http://egress.example.org:3128".to_owned()
}

fn routes(c: &mut Criterion<ThreadCpu>) {
    let (global, env, providers) = setup();
    let uris: Vec<Uri> = providers
        .iter()
        .map(|p| p.url.as_str().parse().expect("URL is a Uri"))
        .collect();
    // Both stacks must agree on direct vs proxy for every provider, or the comparison is void.
    for (p, u) in providers.iter().zip(&uris) {
        let route = resolve(&global, Some((&p.name, &p.layer)), &env, &p.url)
            .expect("every bench route resolves");
        assert_eq!(
            route.is_direct(),
            p.matcher.intercept(u).is_none(),
            "{} {}",
            p.name,
            p.url
        );
    }

    let mut g = c.benchmark_group("route_50_providers");
    g.bench_function("proxyscope_resolve_all", |b| {
        b.iter(|| {
            for p in &providers {
                let r = resolve(
                    black_box(&global),
                    Some((&p.name, &p.layer)),
                    black_box(&env),
                    black_box(&p.url),
                );
                black_box(r.is_ok());
            }
        })
    });
    g.bench_function("hyper_util_intercept_all", |b| {
        b.iter(|| {
            for (p, u) in providers.iter().zip(&uris) {
                black_box(black_box(&p.matcher).intercept(black_box(u)).is_some());
            }
        })
    });
    g.bench_function("proxyscope_resolve_and_explain_one", |b| {
        let p = &providers[4];
        b.iter(|| {
            resolve(&global, Some((&p.name, &p.layer)), &env, black_box(&p.url))
                .map(|r| r.explain().len())
        })
    });
    g.finish();
}

/// The list sizes the targets name.
const SIZES: [usize; 4] = [10, 100, 1_000, 10_000];
/// The proxy both sides choose when no entry matches (never contacted).
const PROXY: &str = "http://proxy.invalid:3128";

/// Internal names as lists have them: every other entry with a leading dot, 3–5 labels (the
/// same lists as the `no_proxy` bench).
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

/// (case, URI, expected direct?) for a list of `n`.
fn decision_cases(n: usize) -> Vec<(&'static str, Uri, bool)> {
    let last = n - 1;
    let exact = match last % 3 {
        0 => format!("svc{last}.internal.example.org"),
        1 => format!("host-{last}.corp{}.example.net", last % 17),
        _ => format!("team{last}.example{}.com", last % 29),
    };
    let uri = |s: String| s.parse::<Uri>().expect("bench URI parses");
    vec![
        ("hit_exact_last", uri(format!("https://{exact}/v1/x")), true),
        (
            "hit_subdomain_last",
            uri(format!("https://api.v2.{exact}/v1/x")),
            true,
        ),
        (
            "miss",
            uri("https://translate.yandex.net/api/v1.5/tr.json".to_owned()),
            false,
        ),
    ]
}

/// A client whose list comes from the environment, and one whose list comes from a TOML file.
fn clients(list: &[String], dir: &std::path::Path) -> [(&'static str, Client); 2] {
    let env = EnvSnapshot::from_pairs([
        ("https_proxy".to_owned(), PROXY.to_owned()),
        ("NO_PROXY".to_owned(), list.join(",")),
    ]);
    let from_env = Client::builder()
        .env(env)
        .build()
        .expect("env client builds");
    let entries: Vec<String> = list.iter().map(|e| format!("{e:?}")).collect();
    let path = dir.join(format!("proxyscope-{}.toml", list.len()));
    std::fs::write(
        &path,
        format!("proxy = {PROXY:?}\nno_proxy = [{}]\n", entries.join(", ")),
    )
    .expect("config written");
    let config = Config::from_file(&path).expect("config loads");
    let from_file = Client::builder_from_config(&config)
        .env(EnvSnapshot::from_pairs(Vec::<(String, String)>::new()))
        .build()
        .expect("file client builds");
    [("env", from_env), ("file", from_file)]
}

fn decisions(c: &mut Criterion<ThreadCpu>) {
    let dir = tempfile::tempdir().expect("temp dir");
    for n in SIZES {
        let list = domain_list(n);
        let matchers = [
            (
                "env",
                Matcher::builder().https(PROXY).no(list.join(",")).build(),
            ),
            (
                "file",
                Matcher::builder().all(PROXY).no(list.join(",")).build(),
            ),
        ];
        for ((source, client), (_, matcher)) in clients(&list, dir.path()).iter().zip(&matchers) {
            let cases = decision_cases(n);
            for (name, uri, direct) in &cases {
                let ours = client.route(None, uri).expect("routes");
                assert_eq!(ours.is_direct(), *direct, "{source} {n} {name}");
                assert_eq!(
                    matcher.intercept(uri).is_none(),
                    *direct,
                    "{source} {n} {name}"
                );
            }
            let mut g = c.benchmark_group(format!("route_decision_{source}_{n}"));
            for (name, uri, _) in &cases {
                g.bench_with_input(BenchmarkId::new("proxyscope", name), uri, |b, uri| {
                    b.iter(|| {
                        black_box(
                            client
                                .route(None, black_box(uri))
                                .is_ok_and(|r| r.is_direct()),
                        )
                    })
                });
                g.bench_with_input(BenchmarkId::new("hyper_util", name), uri, |b, uri| {
                    b.iter(|| black_box(matcher.intercept(black_box(uri)).is_none()))
                });
            }
            g.finish();
        }
    }
}

fn explanations(c: &mut Criterion<ThreadCpu>) {
    let dir = tempfile::tempdir().expect("temp dir");
    let list = domain_list(1_000);
    let mut g = c.benchmark_group("route_explain");
    for (source, client) in clients(&list, dir.path()) {
        for (name, uri, _) in decision_cases(1_000) {
            let fresh = || client.route(None, &uri).expect("routes");
            assert!(fresh().explain().contains("no_proxy"));
            g.bench_function(
                BenchmarkId::new(format!("explain_1000_{source}"), name),
                |b| {
                    b.iter_batched(
                        fresh,
                        |r: Route| black_box(r.explain().len()),
                        criterion::BatchSize::SmallInput,
                    )
                },
            );
        }
    }
    // The first route explained under a new environment snapshot also reads the list by
    // every other tool's rules (once per snapshot; the cases above reuse that reading).
    let env_client = || {
        Client::builder()
            .env(EnvSnapshot::from_pairs([
                ("https_proxy".to_owned(), PROXY.to_owned()),
                ("NO_PROXY".to_owned(), list.join(",")),
            ]))
            .build()
            .expect("env client builds")
    };
    for (name, uri, _) in decision_cases(1_000) {
        g.bench_function(BenchmarkId::new("explain_1000_env_first", name), |b| {
            b.iter_batched(
                || env_client().route(None, &uri).expect("routes"),
                |r: Route| black_box(r.explain().len()),
                criterion::BatchSize::PerIteration,
            )
        });
    }
    g.finish();
}

criterion_group! {
    name = benches;
    config = thread_cpu_criterion();
    targets = decisions, explanations, routes
}

/// The fixed-count mode of the module's documentation: one decision case, `n` times, for
/// instruction counts (callgrind) without criterion's own work in the profile.
fn count(spec: &str) {
    let parts: Vec<&str> = spec.split(':').collect();
    let [source, entries, case, side, n] = parts[..] else {
        panic!(
            "PROXYSCOPE_BENCH_COUNT is <env|file>:<entries>:<case>:<proxyscope|hyper_util>:<n>, \
             not {spec:?}"
        );
    };
    let entries: usize = entries.parse().expect("an entry count");
    let n: u64 = n.parse().expect("an iteration count");
    let list = domain_list(entries);
    let dir = tempfile::tempdir().expect("temp dir");
    let [env, file] = clients(&list, dir.path());
    let (client, matcher) = match source {
        "env" => (
            env.1,
            Matcher::builder().https(PROXY).no(list.join(",")).build(),
        ),
        "file" => (
            file.1,
            Matcher::builder().all(PROXY).no(list.join(",")).build(),
        ),
        other => panic!("no list source {other:?}"),
    };
    let (_, uri, direct) = decision_cases(entries)
        .into_iter()
        .find(|(name, _, _)| *name == case)
        .unwrap_or_else(|| panic!("no case {case:?}"));
    let mut same = 0u64;
    for _ in 0..n {
        let got = match side {
            "proxyscope" => client
                .route(None, black_box(&uri))
                .is_ok_and(|r| r.is_direct()),
            "hyper_util" => black_box(&matcher).intercept(black_box(&uri)).is_none(),
            other => panic!("no side {other:?}"),
        };
        same += u64::from(black_box(got) == direct);
    }
    assert_eq!(same, n, "every decision as expected");
}

fn main() {
    if let Ok(spec) = std::env::var("PROXYSCOPE_BENCH_COUNT") {
        count(&spec);
        return;
    }
    benches();
    Criterion::default().configure_from_args().final_summary();
}
