//! What the load tests share: the process's open file descriptors (`/proc/self/fd`), the
//! `RLIMIT_NOFILE` check, a client for a proxy, and N concurrent requests.
//!
//! The limit: 1,000 concurrent tunnels hold about 4,000 descriptors in one process when the
//! harness proxy and origin run in it too (client, proxy in and out, origin). Rust cannot raise
//! `RLIMIT_NOFILE` without `libc` (and the crate forbids `unsafe`), so [`ensure_nofile`] asks
//! util-linux's `prlimit` to raise this process's soft limit up to its hard limit, and fails
//! the test with the numbers when even the hard limit is too low.
#![allow(dead_code, unreachable_pub)]

use std::time::{Duration, Instant};

use proxyscope::connect::Resolver;
use proxyscope::testing::TestPki;
use proxyscope::{Client, EnvSnapshot, Error, Phase, ProxySetting, Settings};

/// The number of concurrent requests the issue asks for.
pub const CONCURRENT: usize = 1_000;

/// Open file descriptors of this process.
pub fn open_fds() -> usize {
    std::fs::read_dir("/proc/self/fd")
        .expect("/proc/self/fd is readable on Linux")
        .count()
}

/// The soft and hard `Max open files` of this process.
pub fn nofile() -> (u64, u64) {
    let limits = std::fs::read_to_string("/proc/self/limits").expect("/proc/self/limits");
    let line = limits
        .lines()
        .find(|l| l.starts_with("Max open files"))
        .expect("a Max open files line");
    let nums: Vec<u64> = line
        .split_whitespace()
        .filter_map(|w| w.parse().ok().or((w == "unlimited").then_some(u64::MAX)))
        .collect();
    (nums[0], nums[1])
}

/// Makes sure this process may open `min` descriptors, raising the soft limit with `prlimit`
/// when needed; panics with the limits otherwise.
pub fn ensure_nofile(min: u64) {
    let (soft, hard) = nofile();
    if soft >= min {
        return;
    }
    let pid = std::process::id().to_string();
    let status = std::process::Command::new("prlimit")
        .args(["--pid", &pid, &format!("--nofile={hard}:{hard}")])
        .status();
    let (soft, hard) = nofile();
    assert!(
        soft >= min,
        "RLIMIT_NOFILE soft {soft} / hard {hard} is below the {min} this test needs, and \
         prlimit could not raise it ({status:?}); run `ulimit -n {min}` before the tests"
    );
}

/// Polls until at most `baseline` descriptors are open, for up to `within`; returns the last
/// count.
pub async fn settle_fds(baseline: usize, within: Duration) -> usize {
    let deadline = Instant::now() + within;
    loop {
        let now = open_fds();
        if now <= baseline || Instant::now() >= deadline {
            return now;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// A client through `proxy` trusting `pki`'s root, with generous timeouts (load, not failure).
pub fn client(proxy: &str, pki: &TestPki) -> Client {
    let layer = Settings::new()
        .with_proxy(ProxySetting::parse(proxy).unwrap())
        .with_ca_file([pki.root_pem_path().to_path_buf()])
        .with_timeout(Phase::Connect, Duration::from_secs(20))
        .with_timeout(Phase::Proxy, Duration::from_secs(20))
        .with_timeout(Phase::Tls, Duration::from_secs(20))
        .with_timeout(Phase::Http, Duration::from_secs(20));
    Client::builder()
        .global(layer)
        .env(EnvSnapshot::from_pairs(Vec::<(String, String)>::new()))
        .resolver(Resolver::pinned(
            "localhost",
            ["127.0.0.1".parse().unwrap()],
        ))
        .build()
        .unwrap()
}

/// Sends `n` concurrent `GET url` (reading each body) and returns the failures.
pub async fn concurrent_gets(client: &Client, url: &str, n: usize) -> Vec<Error> {
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..n {
        let client = client.clone();
        let url = url.to_owned();
        tasks.spawn(async move {
            let res = client.get(&url).await?.error_for_status()?;
            res.bytes().await.map(|_| ())
        });
    }
    let mut errors = Vec::new();
    while let Some(joined) = tasks.join_next().await {
        if let Err(e) = joined.expect("a request task never panics") {
            errors.push(e);
        }
    }
    errors
}

/// Fails with the first error's report and a count per code.
pub fn assert_no_errors(errors: &[Error]) {
    if let Some(first) = errors.first() {
        let mut codes: Vec<&str> = errors.iter().map(Error::code).collect();
        codes.sort_unstable();
        codes.dedup();
        panic!(
            "{} of {CONCURRENT} requests failed (codes {codes:?}); first:\n{}",
            errors.len(),
            first.report()
        );
    }
}
