//! A realistic corporate PAC file through every branch, the answer cache, and the
//! resolve-then-ask-again cycle an asynchronous caller uses.

use std::net::IpAddr;
use std::time::Duration;

use proxyscope::pac::{
    Decision, Lookup, Pac, PacAnswer, PacEntry, PacOptions, PacProxyKind, PacResolver, PacScript,
    PinnedNames,
};
use url::Url;

const CORP: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/pac/corp.pac");

fn corp(options: PacOptions) -> Pac {
    Pac::new(PacScript::from_file(CORP).unwrap(), options).unwrap()
}

fn answer(d: Decision) -> std::sync::Arc<PacAnswer> {
    match d {
        Decision::Answer { answer, .. } => answer,
        Decision::NeedsDns(n) => panic!("needs DNS for {n:?}"),
    }
}

#[test]
fn every_branch_of_a_corporate_pac_file() {
    let pac = corp(PacOptions::new());
    let egress = "PROXY egress-a.example.com:3128; PROXY egress-b.example.com:3128; DIRECT";
    for (url, returned) in [
        ("http://intranet/", "DIRECT"),
        ("http://localhost:8080/", "DIRECT"),
        ("https://build.build.example.com/job/1", "DIRECT"),
        ("https://WIKI.Wiki.Example.com/", "DIRECT"),
        (
            "http://update.example.com/patch.cab",
            "PROXY updates.example.com:8080; DIRECT",
        ),
        (
            "https://dl.windowsupdate.com/x",
            "PROXY updates.example.com:8080; DIRECT",
        ),
        (
            "https://acme.my.salesforce.com/",
            "PROXY saas-egress.example.com:3128; PROXY egress-b.example.com:3128",
        ),
        (
            "https://api.github.com/repos",
            "PROXY saas-egress.example.com:3128; PROXY egress-b.example.com:3128",
        ),
        ("http://10.20.30.40/status", "DIRECT"),
        ("http://192.168.7.1/", "DIRECT"),
        ("http://8.8.8.8/", egress),
        (
            "https://a.b.c.d.example.de/",
            "PROXY deep-egress.example.com:3128",
        ),
        ("http://a.b.c.d.example.de/", egress),
        ("https://www.example.org/", egress),
    ] {
        let a = answer(pac.find_proxy(&Url::parse(url).unwrap()).unwrap());
        assert_eq!(a.returned, returned, "{url}");
        assert!(a.result.diagnostics.is_empty(), "{url}");
        assert_eq!(a.script, CORP);
    }
    let a = answer(
        pac.find_proxy(&Url::parse("https://www.example.org/").unwrap())
            .unwrap(),
    );
    assert_eq!(
        a.result.entries,
        [
            PacEntry::Proxy {
                kind: PacProxyKind::Http,
                host: "egress-a.example.com".into(),
                port: 3128
            },
            PacEntry::Proxy {
                kind: PacProxyKind::Http,
                host: "egress-b.example.com".into(),
                port: 3128
            },
            PacEntry::Direct,
        ]
    );
}

#[test]
fn answers_are_cached_per_destination_and_expire() {
    let pac = corp(PacOptions::new().cache(2, Duration::from_secs(3600)));
    let url = |u: &str| Url::parse(u).unwrap();
    let first = pac.find_proxy(&url("https://www.example.org/a")).unwrap();
    assert!(matches!(
        first,
        Decision::Answer {
            from_cache: false,
            ..
        }
    ));
    // https paths are not passed to the script, so another path is the same question.
    let again = pac.find_proxy(&url("https://www.example.org/b?c")).unwrap();
    assert!(matches!(
        again,
        Decision::Answer {
            from_cache: true,
            ..
        }
    ));
    // http paths are passed: a different question.
    let http = pac.find_proxy(&url("http://www.example.org/a")).unwrap();
    assert!(matches!(
        http,
        Decision::Answer {
            from_cache: false,
            ..
        }
    ));
    pac.find_proxy(&url("https://third.example/")).unwrap();
    assert_eq!(pac.cached(), 2, "bounded to its capacity");
    // The oldest answer was evicted.
    let evicted = pac.find_proxy(&url("https://www.example.org/")).unwrap();
    assert!(matches!(
        evicted,
        Decision::Answer {
            from_cache: false,
            ..
        }
    ));
    // evaluate() never reads or fills the cache.
    pac.clear_cache();
    assert!(matches!(
        pac.evaluate(&url("https://x.example/")).unwrap(),
        Decision::Answer {
            from_cache: false,
            ..
        }
    ));
    assert_eq!(pac.cached(), 0);

    let aging = corp(PacOptions::new().cache(16, Duration::ZERO));
    aging.find_proxy(&url("https://www.example.org/")).unwrap();
    std::thread::sleep(Duration::from_millis(5));
    let stale = aging.find_proxy(&url("https://www.example.org/")).unwrap();
    assert!(matches!(
        stale,
        Decision::Answer {
            from_cache: false,
            ..
        }
    ));
}

#[test]
fn paths_can_be_stripped_for_every_scheme() {
    let pac = corp(PacOptions::new().strip_paths(true));
    // The update rule matches on the URL's path prefix "http://update.example.com/*": with
    // paths stripped the URL is "http://update.example.com/", which still matches it.
    let a = answer(
        pac.find_proxy(&Url::parse("http://update.example.com/x.cab").unwrap())
            .unwrap(),
    );
    assert_eq!(a.url, "http://update.example.com/");
    assert_eq!(a.returned, "PROXY updates.example.com:8080; DIRECT");
}

const RESOLVING: &str = r#"
function FindProxyForURL(url, host) {
    if (isPlainHostName(host)) return "DIRECT";
    if (isInNet(host, "10.0.0.0", "255.0.0.0")) return "DIRECT";
    if (isResolvable("wpad-check.corp.example")) return "PROXY inside.corp.example:8080";
    return "PROXY outside.example:3128";
}"#;

#[test]
fn an_asynchronous_caller_resolves_the_names_asked_for_and_asks_again() {
    // Names not in the table are Pending: the evaluation says which to resolve.
    let table = PinnedNames::new().unknown_pending();
    let pac = Pac::new(
        PacScript::from_source(RESOLVING, "resolving.pac").unwrap(),
        PacOptions::new().resolver(table),
    )
    .unwrap();
    let url = Url::parse("https://app.corp.example/").unwrap();
    match pac.find_proxy(&url).unwrap() {
        Decision::NeedsDns(names) => {
            assert_eq!(names, ["app.corp.example", "wpad-check.corp.example"])
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(
        pac.cached(),
        0,
        "an answer built on unknown names is not cached"
    );

    // The caller resolved them (here: pinned) and asks again.
    let ip = |s: &str| s.parse::<IpAddr>().unwrap();
    let resolved = PinnedNames::new()
        .pin("app.corp.example", [ip("10.4.5.6")])
        .pin("wpad-check.corp.example", []);
    let pac = Pac::new(pac.script().clone(), PacOptions::new().resolver(resolved)).unwrap();
    let a = answer(pac.find_proxy(&url).unwrap());
    assert_eq!(a.returned, "DIRECT");
    assert_eq!(a.lookups.len(), 1);
    assert_eq!(a.lookups[0].host, "app.corp.example");
    assert_eq!(a.lookups[0].addresses, [ip("10.4.5.6")]);
}

/// A resolver that takes its time: the lookup is bounded by the evaluation's deadline.
struct Slow;

impl PacResolver for Slow {
    fn lookup(&self, _host: &str, deadline: std::time::Instant) -> Lookup {
        std::thread::sleep(deadline.saturating_duration_since(std::time::Instant::now()));
        Lookup::NotFound
    }
}

#[test]
fn a_resolver_that_uses_up_the_deadline_ends_in_a_timeout() {
    let pac = Pac::new(
        PacScript::from_source(
            "function FindProxyForURL(u, h) { dnsResolve(h); while (true) {} }",
            "slow.pac",
        )
        .unwrap(),
        PacOptions::new()
            .resolver(Slow)
            .limits(proxyscope::pac::PacLimits {
                time: Duration::from_millis(100),
                ..Default::default()
            }),
    )
    .unwrap();
    let err = pac
        .evaluate_args("https://a.example/", "a.example")
        .unwrap_err();
    assert_eq!(err.code(), "pac.timeout");
}

#[test]
fn credentials_never_reach_the_script_the_answer_or_the_error() {
    let pac = Pac::new(
        PacScript::from_source(
            "function FindProxyForURL(url, host) {
                alert(url);
                if (host === 'boom.example') throw new Error('failed for ' + url);
                if (host === 'bad.example') return 'PROXY user:pw-in-pac@p.example:1';
                return 'PROXY user:pw-in-pac@p.example:1; DIRECT';
            }",
            "secrets.pac",
        )
        .unwrap(),
        PacOptions::new(),
    )
    .unwrap();
    let url = |h: &str| Url::parse(&format!("http://alice:hunter2@{h}/path?q#frag")).unwrap();
    let a = answer(pac.find_proxy(&url("ok.example")).unwrap());
    let shown = format!("{a:?} {}", serde_json::to_string(&*a).unwrap());
    for secret in ["hunter2", "alice", "pw-in-pac", "frag"] {
        assert!(!shown.contains(secret), "{secret} in {shown}");
    }
    assert_eq!(a.url, "http://ok.example/path?q");
    assert_eq!(a.alerts, ["http://ok.example/path?q"]);
    for host in ["boom.example", "bad.example"] {
        let err = pac.find_proxy(&url(host)).unwrap_err();
        let shown = format!(
            "{} {err:?} {}",
            err.report(),
            serde_json::to_string(&err).unwrap()
        );
        for secret in ["hunter2", "alice", "pw-in-pac", "frag"] {
            assert!(!shown.contains(secret), "{secret} in {shown}");
        }
    }
}
