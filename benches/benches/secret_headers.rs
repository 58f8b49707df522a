//! Which request headers hold credentials, decided for every header of every request: to mark
//! values sensitive (`Debug`, logs) and to collect the secrets scrubbed from what peers echo.
//! Measured over a typical request's eight headers.
//!
//! - `main`: the rules before the shared one, copied verbatim and called as the request path
//!   called them: a pass marking with `is_credential` (on the `HeaderName`: `Authorization`,
//!   `Proxy-Authorization`, `Cookie`, `x-api-key`), then a pass collecting from the headers not
//!   marked with `holds_credentials` (on the name: any `…-Authorization`, `Cookie`);
//! - `shared`: [`is_secret_header`] as the request path calls it now, once per header not yet
//!   marked, in the one pass that marks and collects;
//! - `main_rule` and `shared_rule`: the rules alone, once per header (the request path's
//!   passes without the map's iteration and marking).
//!
//! Two header sets: `bearer` (an `Authorization` among ordinary headers) and `token` (an
//! `X-Auth-Token` instead, which only the shared rule recognises). Before measuring, each case
//! asserts what each rule decides.
//!
//! `cargo bench -p proxyscope-benches --bench secret_headers -- --warm-up-time 1 --measurement-time 3`
// criterion's macros generate undocumented public functions.
#![allow(missing_docs)]

use std::hint::black_box;

use criterion::{BatchSize, Criterion, criterion_group, criterion_main};
use http::header::{
    AUTHORIZATION, COOKIE, HeaderMap, HeaderName, HeaderValue, PROXY_AUTHORIZATION,
};
use proxyscope::proxy::redact::is_secret_header;
use proxyscope_benches::cpu_time::{ThreadCpu, thread_cpu_criterion};

/// `is_credential` as it was (src/client/request.rs).
fn main_is_credential(name: &HeaderName) -> bool {
    name == AUTHORIZATION
        || name == PROXY_AUTHORIZATION
        || name == COOKIE
        || name.as_str() == "x-api-key"
}

/// `holds_credentials` as it was (src/proxy/redact/secrets.rs).
fn main_holds_credentials(name: &str) -> bool {
    main_is_authorization(name) || name.eq_ignore_ascii_case("cookie")
}

fn main_is_authorization(name: &str) -> bool {
    name.len()
        .checked_sub("authorization".len())
        .and_then(|at| name.get(at..))
        .is_some_and(|end| end.eq_ignore_ascii_case("authorization"))
}

/// The request path before: a pass marking (`mark_sensitive`), then a pass collecting from
/// the headers not marked (`add_headers`). Returns how many headers each pass took.
fn main_path(headers: &mut HeaderMap) -> (usize, usize) {
    let mut marked = 0;
    for (name, value) in headers.iter_mut() {
        if main_is_credential(name) {
            value.set_sensitive(true);
            marked += 1;
        }
    }
    let mut collected = 0;
    for (name, value) in headers.iter() {
        if !value.is_sensitive() && !main_holds_credentials(name.as_str()) {
            continue;
        }
        collected += 1;
    }
    (marked, collected)
}

/// The request path now: one pass marks and collects (`mark_and_add_headers`).
fn shared_path(headers: &mut HeaderMap) -> (usize, usize) {
    let mut collected = 0;
    for (name, value) in headers.iter_mut() {
        if !value.is_sensitive() {
            if !is_secret_header(name.as_str()) {
                continue;
            }
            value.set_sensitive(true);
        }
        collected += 1;
    }
    (collected, collected)
}

/// The rules alone, once per header: before (both of main's), and the shared one.
fn main_rule(headers: &HeaderMap) -> usize {
    headers
        .keys()
        .filter(|n| main_is_credential(n) || main_holds_credentials(n.as_str()))
        .count()
}

fn shared_rule(headers: &HeaderMap) -> usize {
    headers
        .keys()
        .filter(|n| is_secret_header(n.as_str()))
        .count()
}

/// A typical API request's eight headers, with `credential` (name, value) among them.
fn request_headers(credential: (&'static str, &'static str)) -> HeaderMap {
    let mut h = HeaderMap::new();
    for (n, v) in [
        ("host", "api.example.org"),
        ("user-agent", "proxyscope/0.1.0"),
        ("accept", "application/json"),
        ("accept-encoding", "gzip, br"),
        ("content-type", "application/json"),
        ("content-length", "42"),
        ("x-request-id", "7f3c2a9e-1b4d-4e8f-9a6b-2c1d0e9f8a7b"),
        credential,
    ] {
        h.insert(HeaderName::from_static(n), HeaderValue::from_static(v));
    }
    h
}

fn bench(c: &mut Criterion<ThreadCpu>) {
    let sets = [
        (
            "bearer",
            request_headers(("authorization", "Bearer t0ken")),
            (1, 1),
            (1, 1),
        ),
        (
            "token",
            request_headers(("x-auth-token", "t0ken")),
            (0, 0),
            (1, 1),
        ),
    ];
    let mut g = c.benchmark_group("secret_headers");
    for (name, headers, main_wants, shared_wants) in sets {
        assert_eq!(headers.len(), 8);
        assert_eq!(main_path(&mut headers.clone()), main_wants, "{name}: main");
        assert_eq!(
            shared_path(&mut headers.clone()),
            shared_wants,
            "{name}: shared"
        );
        assert_eq!(main_rule(&headers), main_wants.1, "{name}: main rule");
        assert_eq!(shared_rule(&headers), shared_wants.1, "{name}: shared rule");
        g.bench_function(format!("{name}/main_rule"), |b| {
            b.iter(|| main_rule(black_box(&headers)))
        });
        g.bench_function(format!("{name}/shared_rule"), |b| {
            b.iter(|| shared_rule(black_box(&headers)))
        });
        // A fresh request's headers each time: none marked yet, as a raw `http::Request`'s.
        g.bench_function(format!("{name}/main"), |b| {
            b.iter_batched_ref(
                || headers.clone(),
                |h| main_path(black_box(h)),
                BatchSize::SmallInput,
            )
        });
        g.bench_function(format!("{name}/shared"), |b| {
            b.iter_batched_ref(
                || headers.clone(),
                |h| shared_path(black_box(h)),
                BatchSize::SmallInput,
            )
        });
    }
    g.finish();
}

criterion_group! {
    name = benches;
    config = thread_cpu_criterion();
    targets = bench
}
criterion_main!(benches);
