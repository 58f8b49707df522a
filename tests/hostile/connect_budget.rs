//! A slow resolver in front of an address that never answers: `timeouts.connect` is one budget
//! for resolving a hop's name and connecting to it, as curl's connect timeout is. Resolution
//! used to get the whole timeout and the TCP connect the whole timeout again, so a resolver
//! taking 60% of it followed by a silent address held the request for 1.6 times the setting.
//! Time is the runtime's paused clock, which jumps to the next timer whenever nothing else can
//! run: elapsed times are exact, never measured.

use std::time::Duration;

use proxyscope::connect::Resolver;
use proxyscope::settings::ProxySetting;
use proxyscope::{Blame, Client, EnvSnapshot, Error, Hop, Phase, Settings};

use crate::common::resolve::SlowResolver;

use crate::many_addresses::paused_black_hole;

/// The connect timeout of every test here: a few hundred milliseconds of paused clock.
const BUDGET: Duration = Duration::from_millis(500);

/// Runs one request to the black hole through a client whose resolver takes `resolving`, at
/// `hop`: directly to it (origin hop), or to an origin through a proxy that is the black hole
/// (proxy hop). `own` is the request's own timeout, if any. Returns the error and how long the
/// request took.
fn fail_at(hop: Hop, resolving: Duration, own: Option<Duration>) -> (Error, Duration) {
    let hole = paused_black_hole();
    let port = hole.port;
    hole.rt.block_on(async {
        let mut settings = Settings::new().with_timeout(Phase::Connect, BUDGET);
        let url = if hop == Hop::Proxy {
            let proxy = format!("http://silent-proxy.test:{port}");
            settings = settings.with_proxy(ProxySetting::parse(&proxy).unwrap());
            "http://origin.test/".to_owned()
        } else {
            format!("http://silent.test:{port}/")
        };
        let client = Client::builder()
            .global(settings)
            .env(EnvSnapshot::from_pairs(Vec::<(String, String)>::new()))
            .resolver(Resolver::custom(SlowResolver(resolving)))
            .build()
            .unwrap();
        let mut request = client.get(url.as_str());
        if let Some(own) = own {
            request = request.timeout(own);
        }
        let started = tokio::time::Instant::now();
        let e = request.send().await.expect_err("nothing answers");
        (e, started.elapsed())
    })
}

fn timeout_code(hop: Hop) -> &'static str {
    if hop == Hop::Proxy {
        "proxy.timeout"
    } else {
        "origin.timeout"
    }
}

/// Resolution takes 60% of the budget, then the connect never completes: the connect-phase
/// timeout comes when the budget is spent (1x), not a whole timeout after resolution (1.6x).
#[test]
fn resolving_and_connecting_share_the_connect_timeout() {
    for hop in [Hop::Origin, Hop::Proxy] {
        let (e, elapsed) = fail_at(hop, BUDGET * 3 / 5, None);
        assert_eq!(e.code(), timeout_code(hop), "{}", e.report());
        assert_eq!((e.hop(), e.phase()), (Some(hop), Phase::Connect), "{hop}");
        assert_eq!(e.blame(), Blame::Network, "{hop}");
        // The budget, not what was left of it when the connect began.
        assert_eq!(e.evidence().timeout, Some(BUDGET), "{hop}");
        assert!(!e.evidence().addresses.is_empty(), "{hop}");
        // Resolution finished and counts as its own phase; the connect never did.
        let timings = e.evidence().timings.expect("timings so far");
        assert!(timings.dns.is_some() && timings.connect.is_none(), "{hop}");
        assert!(
            elapsed < BUDGET * 13 / 10,
            "{hop}: resolving for {:?} and connecting took {elapsed:?} of a {BUDGET:?} budget",
            BUDGET * 3 / 5
        );
    }
}

/// A resolver slower than the whole budget: the timeout is the resolution's (phase `dns`),
/// with the same evidence.
#[test]
fn a_resolver_slower_than_the_budget_is_a_dns_timeout() {
    for hop in [Hop::Origin, Hop::Proxy] {
        let (e, elapsed) = fail_at(hop, BUDGET * 2, None);
        assert_eq!(e.code(), timeout_code(hop), "{}", e.report());
        assert_eq!((e.hop(), e.phase()), (Some(hop), Phase::Dns), "{hop}");
        assert_eq!(e.evidence().timeout, Some(BUDGET), "{hop}");
        assert!(e.evidence().addresses.is_empty(), "{hop}");
        assert!(elapsed < BUDGET * 13 / 10, "{hop}: {elapsed:?}");
    }
}

/// The request's own timeout, when shorter than the budget, still ends the connect and is
/// the one the error names.
#[test]
fn the_requests_own_timeout_still_wins_when_sooner() {
    let own = Duration::from_millis(400);
    for hop in [Hop::Origin, Hop::Proxy] {
        let (e, elapsed) = fail_at(hop, BUDGET * 3 / 5, Some(own));
        assert_eq!(e.code(), timeout_code(hop), "{}", e.report());
        assert_eq!((e.hop(), e.phase()), (Some(hop), Phase::Connect), "{hop}");
        assert_eq!(e.evidence().timeout, Some(own), "{hop}");
        assert_eq!(
            e.evidence().setting.as_deref(),
            Some("RequestBuilder::timeout"),
            "{hop}"
        );
        assert!(elapsed <= own, "{hop}: {elapsed:?}");
    }
}
