//! Route resolution for 50 providers: [`proxyscope::route::resolve`] for every provider's URL,
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
// criterion's macros generate undocumented public functions.
#![allow(missing_docs)]

use std::hint::black_box;
use std::time::Duration;

use criterion::{Criterion, criterion_group, criterion_main};
use http::Uri;
use hyper_util::client::proxy::matcher::Matcher;
use proxyscope::route::resolve;
use proxyscope::{EnvSnapshot, NoProxy, ProxySetting, Settings};
use proxyscope_benches::cpu_time::ThreadCpu;
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

fn config() -> Criterion<ThreadCpu> {
    Criterion::default()
        .with_measurement(ThreadCpu)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3))
}

criterion_group! {
    name = benches;
    config = config();
    targets = routes
}
criterion_main!(benches);
