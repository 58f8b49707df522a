//! Load through the harness proxy: 1,000 concurrent HTTPS requests, each its own CONNECT tunnel
//! and TLS handshake, complete with zero errors, and once the client is dropped the process's
//! open file descriptors return to their level before the client existed (the harness's own
//! listeners are part of that baseline). One test per file: descriptor counts are per process.

use std::time::{Duration, Instant};

use crate::common::load::*;
use proxyscope::testing::{ChainMode, TestOrigin, TestPki, TestProxy};

pub(crate) async fn a_thousand_concurrent_tunnels_through_the_harness_proxy() {
    ensure_nofile(8 * CONCURRENT as u64);
    let pki = TestPki::new();
    let origin = TestOrigin::https(&pki, pki.localhost(), ChainMode::Full).await;
    let proxy = TestProxy::builder().start().await;
    let url = origin.url_with_host("localhost", "/");

    let baseline = open_fds();
    let started = Instant::now();
    let client = client(&proxy.url(), &pki);
    let errors = concurrent_gets(&client, &url, CONCURRENT).await;
    let took = started.elapsed();
    assert_no_errors(&errors);
    assert_eq!(origin.requests().len(), CONCURRENT);
    let tunnels = proxy.connect_count();
    assert!((1..=CONCURRENT).contains(&tunnels), "{tunnels} tunnels");
    assert!(
        open_fds() > baseline,
        "the pool keeps connections while the client lives"
    );

    drop(client);
    let after = settle_fds(baseline, Duration::from_secs(10)).await;
    assert!(
        after <= baseline,
        "{after} descriptors open 10 s after the client was dropped, {baseline} before it"
    );
    eprintln!(
        "{CONCURRENT} requests over {tunnels} tunnels in {took:?}; fds {baseline} -> {after}"
    );
    proxy.check();
    origin.check();
}
