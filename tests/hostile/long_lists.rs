//! Long proxy lists of unreachable candidates, and a SOCKS4 proxy that never answers: the time
//! a request spends connecting is bounded by the request timeout (or the request's own
//! deadline), however many candidates the list has. Time is the runtime's paused clock, which
//! jumps to the next timer whenever nothing else can run: elapsed times are exact, never
//! measured.

use std::net::IpAddr;
use std::time::Duration;

use proxyscope::connect::Resolver;
use proxyscope::settings::ProxySetting;
use proxyscope::testing::RawServer;
use proxyscope::{Blame, Client, EnvSnapshot, Hop, Phase, Settings};

use crate::many_addresses::black_hole;

/// A client with `settings` globally, no proxy variables and `resolver`.
fn client(settings: Settings, resolver: Resolver) -> Client {
    Client::builder()
        .global(settings)
        .env(EnvSnapshot::from_pairs(Vec::<(String, String)>::new()))
        .resolver(resolver)
        .build()
        .unwrap()
}

fn paused() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .start_paused(true)
        .build()
        .unwrap()
}

/// Twenty proxies that never answer, each with a 400 ms connect timeout, used to hold a request
/// for 8 s (each candidate its full timeout, the request timeout not covering connecting). The
/// request timeout (1 s) now bounds the whole list: the candidates it leaves no time for are
/// skipped as `out_of_time`, not tried, not backed off.
#[test]
fn the_request_timeout_bounds_a_list_of_unreachable_proxies() {
    let n = 20;
    let connect = Duration::from_millis(400);
    let request = Duration::from_secs(1);
    let rt = paused();
    let (listener, _queued) = rt.block_on(async { black_hole() });
    let port = listener.local_addr().unwrap().port();
    let loopback: IpAddr = "127.0.0.1".parse().unwrap();
    let names: Vec<String> = (0..n).map(|i| format!("p{i}.test")).collect();
    let mut resolver = Resolver::pinned("origin.test", [loopback]);
    for name in &names {
        resolver = resolver.pin(name, [loopback]);
    }
    let entries: Vec<String> = names.iter().map(|h| format!("http://{h}:{port}")).collect();
    rt.block_on(async {
        let settings = Settings::new()
            .with_timeout(Phase::Connect, connect)
            .with_timeout(Phase::Http, request)
            .with_proxy_list(entries.iter().map(|e| ProxySetting::parse(e).unwrap()));
        let client = client(settings, resolver);
        let started = tokio::time::Instant::now();
        let e = client.get("https://origin.test/").send().await.unwrap_err();
        let elapsed = started.elapsed();
        assert_eq!(e.code(), "proxy.timeout", "{}", e.report());
        assert_eq!((e.hop(), e.phase()), (Some(Hop::Proxy), Phase::Connect));
        assert_eq!(e.blame(), Blame::Network);
        // Two full connect timeouts, then the third candidate gets what is left (200 ms).
        let attempts = &e.evidence().attempts;
        assert_eq!(attempts.len(), 3, "{attempts:?}");
        assert!(attempts.iter().all(|a| a.code == "proxy.timeout"));
        assert_eq!(attempts[2].candidate, entries[2]);
        assert_eq!(e.evidence().timeout, Some(Duration::from_millis(200)));
        assert!(elapsed <= request, "{n} candidates took {elapsed:?}");
        // The route: the last attempt used, the first two failed, the other 17 not tried.
        let c = e.route().unwrap().candidates().unwrap();
        assert_eq!(c.used, Some(2));
        let why: Vec<&str> = c.skipped.iter().map(|s| s.why).collect();
        assert_eq!(why[..2], ["failed", "failed"]);
        assert_eq!(why[2..], vec!["out_of_time"; n - 3][..]);
        assert_eq!(c.skipped[2].index, 3);
        assert_eq!(c.skipped[2].code, None);
        let json = serde_json::to_value(&e).unwrap();
        let skipped = &json["route"]["candidates"]["skipped"];
        assert_eq!(skipped[n - 2]["why"], "out_of_time");
        assert_eq!(skipped[n - 2]["entry"], entries[n - 1].as_str());
        assert_eq!(json["evidence"]["attempts"].as_array().unwrap().len(), 3);

        // The candidates not tried were not backed off: the next request tries the fourth
        // (the three that failed are skipped without a try).
        let e = client
            .get("https://origin.test/again")
            .send()
            .await
            .unwrap_err();
        let attempts = &e.evidence().attempts;
        assert_eq!(attempts[0].index, 3, "{attempts:?}");
        let c = e.route().unwrap().candidates().unwrap();
        let backed_off = c.skipped.iter().filter(|s| s.why == "backed_off").count();
        assert_eq!(backed_off, 3);
    });
}

/// The request's own deadline (`RequestBuilder::timeout`) bounds a list too, when sooner than
/// the request timeout.
#[test]
fn the_requests_own_deadline_bounds_a_list() {
    let rt = paused();
    let (listener, _queued) = rt.block_on(async { black_hole() });
    let port = listener.local_addr().unwrap().port();
    let loopback: IpAddr = "127.0.0.1".parse().unwrap();
    let resolver = Resolver::pinned("origin.test", [loopback])
        .pin("a.test", [loopback])
        .pin("b.test", [loopback])
        .pin("c.test", [loopback]);
    rt.block_on(async {
        let settings = Settings::new()
            .with_timeout(Phase::Connect, Duration::from_secs(5))
            .with_proxy_list(
                ["a.test", "b.test", "c.test"]
                    .iter()
                    .map(|h| ProxySetting::parse(&format!("http://{h}:{port}")).unwrap()),
            );
        let client = client(settings, resolver);
        let deadline = Duration::from_millis(700);
        let started = tokio::time::Instant::now();
        let e = client
            .get("https://origin.test/")
            .timeout(deadline)
            .send()
            .await
            .unwrap_err();
        assert!(started.elapsed() <= deadline, "{:?}", started.elapsed());
        assert_eq!(e.code(), "proxy.timeout", "{}", e.report());
        assert_eq!((e.hop(), e.phase()), (Some(Hop::Proxy), Phase::Connect));
        assert_eq!(e.evidence().attempts.len(), 1);
        assert_eq!(e.evidence().timeout, Some(deadline));
        let c = e.route().unwrap().candidates().unwrap();
        let why: Vec<&str> = c.skipped.iter().map(|s| s.why).collect();
        assert_eq!(why, ["out_of_time", "out_of_time"]);
    });
}

/// A SOCKS4 proxy that accepts and never answers: its handshake (and the local name lookup
/// SOCKS4 does) used the profile's timeouts uncapped, so a request's own 500 ms deadline
/// waited the whole 5 s proxy timeout.
#[test]
fn a_silent_socks4_proxy_ends_at_the_requests_deadline() {
    let rt = paused();
    rt.block_on(async {
        let silent = RawServer::start(|stream| async move {
            tokio::time::sleep(Duration::from_secs(60)).await;
            drop(stream);
        })
        .await;
        let proxy = format!("socks4://{}", silent.addr());
        let settings = Settings::new()
            .with_timeout(Phase::Proxy, Duration::from_secs(5))
            .with_proxy(ProxySetting::parse(&proxy).unwrap());
        let loopback: IpAddr = "127.0.0.1".parse().unwrap();
        let client = client(settings, Resolver::pinned("origin.test", [loopback]));
        let deadline = Duration::from_millis(500);
        let started = tokio::time::Instant::now();
        let e = client
            .get("http://origin.test/")
            .timeout(deadline)
            .send()
            .await
            .unwrap_err();
        assert!(started.elapsed() <= deadline, "{:?}", started.elapsed());
        assert_eq!(e.code(), "proxy.timeout", "{}", e.report());
        assert_eq!((e.hop(), e.phase()), (Some(Hop::Proxy), Phase::Proxy));
        assert_eq!(e.evidence().timeout, Some(deadline));
    });
}
