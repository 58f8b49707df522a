//! The models of other tools' `no_proxy` readings (`proxyscope::proxy::peers`) checked against
//! those tools themselves: hyper-util's own `Matcher` (a dependency, so it runs here) on
//! generated lists and hosts; Python's urllib, requests and Node's proxy-from-env on the
//! decisions they made for 3,000 generated cases (`tests/fixtures/peers/decisions.jsonl`,
//! written by `scripts/peer-decisions/generate.py`); and Go's `httpproxy` on the cases its own
//! test suite pins. A route step that says "Go would connect directly" is only worth reading if
//! Go would.

use proptest::prelude::*;
use proxyscope::proxy::Tool;
use proxyscope::proxy::peers::{PeerHost, bypasses};

use crate::common::recorded::{recorded, text};

/// What proxyscope hands a model: the host as the URL standard parsed it (lowercase, ASCII,
/// IPv6 without brackets) and the effective port.
fn peer_host(url: &url::Url) -> PeerHost<'_> {
    let host = url.host_str().unwrap_or("");
    PeerHost {
        host: host.trim_start_matches('[').trim_end_matches(']'),
        port: url.port_or_known_default().unwrap_or(0),
        explicit_port: url.port().is_some(),
    }
}

fn go(list: &str, url: &str) -> bool {
    let url = url::Url::parse(url).unwrap_or_else(|e| panic!("test URL {url}: {e}"));
    bypasses(Tool::Go, list, peer_host(&url))
}

/// Each case of the recorded decisions, for each tool recorded, decided as the tool decided it.
#[test]
fn python_and_node_models_agree_with_their_recorded_decisions() {
    let (header, recorded) = recorded("decisions.jsonl");
    assert!(header["versions"]["requests"].is_string(), "{header}");
    let tools = [Tool::PythonUrllib, Tool::Requests, Tool::NodeProxyFromEnv];
    let mut checked = 0;
    let mut wrong = Vec::new();
    for case in &recorded {
        let (list, text) = (text(case, "no_proxy"), text(case, "url"));
        let url = url::Url::parse(text).unwrap_or_else(|e| panic!("{text}: {e}"));
        for tool in tools {
            let Some(want) = case[tool.as_str()].as_bool() else {
                panic!("{case}: no decision of {tool}");
            };
            checked += 1;
            if bypasses(tool, list, peer_host(&url)) != want {
                wrong.push(format!("{tool}: no_proxy={list:?} {text}: direct={want}"));
            }
        }
    }
    assert_eq!(checked, 9000, "every recorded decision is checked");
    assert!(
        wrong.is_empty(),
        "{} differ:\n{}",
        wrong.len(),
        wrong.join("\n")
    );
}

/// The `no_proxy` value of Go's `TestUseProxy`, and its table: each host with port 80, and
/// whether Go connects directly (the table says whether it uses the proxy: the opposite).
#[test]
fn go_model_decides_go_use_proxy_table() {
    let list = "foobar.com, .barbaz.net, *.wildcard.io, 192.168.1.1, 192.168.1.2:81, \
                192.168.1.3:80, 10.0.0.0/30, 2001:db8::52:0:1, [2001:db8::52:0:2]:443, \
                [2001:db8::52:0:3]:80, 2002:db8:a::45/64";
    let direct = [
        // localhost and loopback: never through a proxy, listed or not.
        ("localhost", true),
        ("127.0.0.1", true),
        ("127.0.0.2", true),
        ("[::1]", true),
        ("[::2]", false),
        // IPv4: exact, with a port that differs, with the same port, unlisted, in a block.
        ("192.168.1.1", true),
        ("192.168.1.2", false),
        ("192.168.1.3", true),
        ("192.168.1.4", false),
        ("10.0.0.2", true),
        // IPv6 likewise.
        ("[2001:db8::52:0:1]", true),
        ("[2001:db8::52:0:2]", false),
        ("[2001:db8::52:0:3]", true),
        ("[2002:db8:a::123]", true),
        ("[fe80::424b:c8be:1643:a1b6]", false),
        // Names: `.d` subdomains only, `d` itself and subdomains, `*.d` subdomains only.
        ("barbaz.net", false),
        ("www.barbaz.net", true),
        ("foobar.com", true),
        ("www.foobar.com", true),
        ("foofoobar.com", false),
        ("baz.com", false),
        ("localhost.net", false),
        ("local.localhost", false),
        ("barbarbaz.net", false),
        ("wildcard.io", false),
        ("nested.wildcard.io", true),
        ("awildcard.io", false),
    ];
    for (host, want) in direct {
        let url = format!("http://{host}:80/");
        assert_eq!(go(list, &url), want, "Go with no_proxy={list:?} for {host}");
        // `*` alone: every host directly.
        assert!(go("*", &url), "Go with no_proxy=* for {host}");
    }
}

/// The `no_proxy` cases of Go's `TestProxyForURL`, and its `TestInvalidNoProxy`.
#[test]
fn go_model_decides_go_proxy_for_url_cases() {
    let cases = [
        ("example.com", "http://example.com/", true),
        (".example.com", "http://example.com/", false),
        ("ample.com", "http://example.com/", false),
        ("example.com", "http://foo.example.com/", true),
        (".foo.com", "http://example.com/", false),
        // Go converts entries and hosts to their ASCII (IDNA) form before comparing.
        (".示例.com", "http://www.示例.com/", true),
        ("xn--fsq092h.com", "http://www.示例.com/", true),
        ("示例.com", "http://www.xn--fsq092h.com/", true),
        // An entry with no host before its port is skipped, never matched.
        (":1", "http://example.com/", false),
        (":1", "http://example.com.:1/", false),
    ];
    for (list, url, want) in cases {
        assert_eq!(go(list, url), want, "Go with no_proxy={list:?} for {url}");
    }
}

/// What Go's reading does that its test table leaves out, read from its code: a name entry is
/// compared as text with every host, IP literals included; `host:` (an empty port) matches any
/// port; `[v6]` without a port is a name, so it never matches an address.
#[test]
fn go_model_follows_go_code_beyond_its_table() {
    let cases = [
        ("168.1.1", "http://192.168.1.1/", true),
        ("1.1", "http://10.0.1.1/", true),
        ("foo.com:", "http://foo.com:8080/", true),
        ("foo.com:8080", "http://foo.com/", false),
        ("foo.com:8080", "http://foo.com:8080/", true),
        ("[2001:db8::1]", "http://[2001:db8::1]/", false),
        ("2001:db8::1", "http://[2001:db8::1]/", true),
    ];
    for (list, url, want) in cases {
        assert_eq!(go(list, url), want, "Go with no_proxy={list:?} for {url}");
    }
}

/// One `no_proxy` entry, from pieces that exercise every branch of hyper-util's reading.
fn entry() -> impl Strategy<Value = String> {
    let name = prop::sample::select(vec![
        "example.com",
        "EXAMPLE.com",
        "a.example.com",
        "ample.com",
        "com",
        "localhost",
        "b-c.test",
        "example.com.",
        "xn--fsq092h.com",
    ]);
    let ip = prop::sample::select(vec![
        "10.0.0.1",
        "10.0.0.0",
        "127.0.0.1",
        "192.168.1.1",
        "::1",
        "2001:db8::1",
        "::ffff:10.0.0.1",
        "[::1]",
        "010.0.0.1",
    ]);
    let bits = prop::sample::select(vec![
        "", "/0", "/8", "/24", "/32", "/33", "/64", "/128", "/", "/x", "/08",
    ]);
    let prefix = prop::sample::select(vec!["", ".", "..", "*", "*.", " ", "\t"]);
    let suffix = prop::sample::select(vec!["", ":80", ":", " ", ".", "/path"]);
    prop_oneof![
        (prefix.clone(), name, suffix.clone()).prop_map(|(p, n, s)| format!("{p}{n}{s}")),
        (ip, bits, suffix).prop_map(|(i, b, s)| format!("{i}{b}{s}")),
        prop::sample::select(vec!["*", "", " ", "*.*", ".", "*com"]).prop_map(str::to_owned),
        // Anything made of the characters entries are made of.
        "[a-c0-9.:*/\\[\\] fx-]{0,14}",
    ]
}

fn host() -> impl Strategy<Value = String> {
    prop::sample::select(vec![
        "example.com",
        "EXAMPLE.COM",
        "www.example.com",
        "a.example.com",
        "notexample.com",
        "ample.com",
        "com",
        "localhost",
        "sub.localhost",
        "b-c.test",
        "xn--fsq092h.com",
        "www.xn--fsq092h.com",
        "10.0.0.1",
        "10.0.0.7",
        "127.0.0.1",
        "192.168.1.1",
        "11.0.0.1",
        "[::1]",
        "[2001:db8::1]",
        "[2001:db8::2]",
        "[::ffff:10.0.0.1]",
    ])
    .prop_map(str::to_owned)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    /// Any value, any host, any port: every model answers (a debug build panics on an
    /// arithmetic overflow, as a block of `/104` read as IPv4 once did).
    #[test]
    fn every_model_answers_any_value(
        entries in prop::collection::vec(prop_oneof![
            "[0-9a-fx:./*, \\[\\]%-]{0,24}",
            (
                prop::sample::select(vec![
                    "10.0.0.0", "::ffff:10.0.0.0", "::", "0.0.0.0", "010.1", "0x0a.0.0.1",
                    "[::1]", "fe80::1%eth0",
                ]),
                0u32..300,
            )
                .prop_map(|(a, b)| format!("{a}/{b}")),
        ], 0..4),
        host in prop::sample::select(vec![
            "10.0.0.1", "::ffff:10.0.0.1", "::1", "2001:db8::1", "localhost", "a.example",
            "0.0.0.0", "255.255.255.255", "", ".", "[::1]",
        ]),
        port in any::<u16>(),
        explicit_port in any::<bool>(),
    ) {
        let list = entries.join(",");
        let view = proxyscope::proxy::PeerView::new(&list);
        for tool in Tool::ALL {
            let _ = view.bypasses(tool, PeerHost { host, port, explicit_port });
        }
    }

    /// hyper-util's `Matcher` (what reqwest ≥ 0.12.16 uses) decides, given the same `no_proxy`
    /// value, exactly what the model says it decides.
    #[test]
    fn hyper_util_model_agrees_with_hyper_util(
        entries in prop::collection::vec(entry(), 0..5),
        sep in prop::sample::select(vec![",", ", ", " ,", ",,"]),
        host in host(),
        https in any::<bool>(),
    ) {
        let list = entries.join(sep);
        let scheme = if https { "https" } else { "http" };
        let text = format!("{scheme}://{host}/");
        let matcher = hyper_util::client::proxy::matcher::Matcher::builder()
            .http("http://proxy.invalid:3128")
            .https("http://proxy.invalid:3128")
            .no(list.as_str())
            .build();
        let uri: http::Uri = text.parse().unwrap_or_else(|e| panic!("{text}: {e}"));
        let hyper_util_direct = matcher.intercept(&uri).is_none();
        let url = url::Url::parse(&text).unwrap_or_else(|e| panic!("{text}: {e}"));
        let model_direct = bypasses(Tool::HyperUtil, &list, peer_host(&url));
        prop_assert_eq!(
            model_direct,
            hyper_util_direct,
            "no_proxy={:?} host={}",
            list,
            host
        );
    }
}

/// What the proxy URL lint says of hyper-util, checked against it: a proxy value with blanks
/// around it, or without exactly two slashes after its scheme, is dropped without a word (the
/// request goes direct), where curl refuses the first and reads the second as `://`.
#[test]
fn hyper_util_drops_proxy_values_the_lint_warns_about() {
    let uri: http::Uri = "http://origin.test/"
        .parse()
        .unwrap_or_else(|e| panic!("{e}"));
    let intercept = |value: &str| {
        hyper_util::client::proxy::matcher::Matcher::builder()
            .http(value)
            .build()
            .intercept(&uri)
            .map(|i| i.uri().to_string())
    };
    for dropped in [
        " http://127.0.0.1:3128",
        "http://127.0.0.1:3128 ",
        "http:/127.0.0.1:3128",
        "http:///127.0.0.1:3128",
        "http:127.0.0.1:3128",
    ] {
        assert_eq!(intercept(dropped), None, "{dropped:?}");
        // proxyscope: a warning (blanks, removed) or an error (slashes), never silence.
        let notes = proxyscope::proxy::ProxyUrl::parse(dropped).map(|u| u.notes().to_vec());
        assert!(
            notes.as_ref().map_or(true, |n| !n.is_empty()),
            "{dropped:?}: {notes:?}"
        );
    }
    assert_eq!(
        intercept("http://127.0.0.1:3128").as_deref(),
        Some("http://127.0.0.1:3128/")
    );
    // An empty port: hyper-util keeps the proxy with no port, so its connector dials the
    // scheme's port 80; curl (and proxyscope, with the `empty_port` note) dial 1080.
    let kept = hyper_util::client::proxy::matcher::Matcher::builder()
        .http("http://127.0.0.1:")
        .build()
        .intercept(&uri)
        .map(|i| i.uri().port_u16());
    assert_eq!(kept, Some(None));
    let ours =
        proxyscope::proxy::ProxyUrl::parse("http://127.0.0.1:").unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(ours.port(), 1080);
    assert_eq!(ours.notes()[0].code(), "empty_port");
}
