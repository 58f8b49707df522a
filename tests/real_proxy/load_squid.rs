//! Load through a real Squid: 1,000 concurrent HTTPS requests tunnelled with CONNECT complete
//! with zero errors, and once the client is dropped this process's open file descriptors
//! return to their level before the client existed. Squid runs as its own process (see
//! `tests/support/real_proxy.rs`); a missing Squid fails under `CI=true` and skips elsewhere.

use std::time::{Duration, Instant};

use crate::common::load::*;
use crate::support::{RealSquid, SquidConfig, start_or_skip};
use proxyscope::testing::{ChainMode, TestOrigin, TestPki};

pub(crate) async fn a_thousand_concurrent_tunnels_through_squid() {
    // Squid inherits this limit: it holds two descriptors per tunnel.
    ensure_nofile(8 * CONCURRENT as u64);
    let squid = start_or_skip!(RealSquid::start(SquidConfig::new()));
    let pki = TestPki::new();
    let origin = TestOrigin::https(&pki, pki.localhost(), ChainMode::Full).await;
    // An IP literal: Squid needs no DNS for it (the leaf names 127.0.0.1).
    let url = origin.url_with_host("127.0.0.1", "/");

    let baseline = open_fds();
    let started = Instant::now();
    let client = client(&squid.url(), &pki);
    let errors = concurrent_gets(&client, &url, CONCURRENT).await;
    let took = started.elapsed();
    assert_no_errors(&errors);
    assert_eq!(origin.requests().len(), CONCURRENT);

    drop(client);
    let after = settle_fds(baseline, Duration::from_secs(10)).await;
    assert!(
        after <= baseline,
        "{after} descriptors open 10 s after the client was dropped, {baseline} before it"
    );
    eprintln!(
        "{CONCURRENT} requests through squid/{} in {took:?}; fds {baseline} -> {after}",
        squid.version()
    );
    origin.check();
}
