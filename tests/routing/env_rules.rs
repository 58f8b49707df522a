//! The environment by curl's rules: which variable supplies the proxy for each
//! scheme, which `no_proxy` variable counts, and every variable present but ignored, with why.

use proxyscope::EnvSnapshot;
use proxyscope::proxy::{IgnoredReason, ProxyUrlErrorKind, Tool};

const P: &str = "http://p.test:3128";

type LookupCase = (
    &'static [(&'static str, &'static str)],
    &'static str,
    Option<&'static str>,
);

const LOOKUPS: &[LookupCase] = &[
    // http: lowercase only; HTTP_PROXY is never read.
    (&[("http_proxy", P)], "http", Some("http_proxy")),
    (&[("HTTP_PROXY", P)], "http", None),
    (
        &[("HTTP_PROXY", P), ("http_proxy", P)],
        "http",
        Some("http_proxy"),
    ),
    (
        &[("HTTP_PROXY", P), ("all_proxy", P)],
        "http",
        Some("all_proxy"),
    ),
    (
        &[("HTTP_PROXY", P), ("ALL_PROXY", P)],
        "http",
        Some("ALL_PROXY"),
    ),
    (
        &[("http_proxy", ""), ("all_proxy", P)],
        "http",
        Some("all_proxy"),
    ),
    (&[("http_proxy", ""), ("HTTP_PROXY", P)], "http", None),
    (&[("https_proxy", P)], "http", None),
    // https: lowercase, then UPPER; empty counts as unset.
    (&[("https_proxy", P)], "https", Some("https_proxy")),
    (&[("HTTPS_PROXY", P)], "https", Some("HTTPS_PROXY")),
    (
        &[("https_proxy", P), ("HTTPS_PROXY", "http://q.test:1")],
        "https",
        Some("https_proxy"),
    ),
    (
        &[("https_proxy", ""), ("HTTPS_PROXY", P)],
        "https",
        Some("HTTPS_PROXY"),
    ),
    (&[("https_proxy", ""), ("HTTPS_PROXY", "")], "https", None),
    (&[("http_proxy", P)], "https", None),
    (
        &[("https_proxy", P), ("all_proxy", "http://q.test:1")],
        "https",
        Some("https_proxy"),
    ),
    (&[("https_proxy", P)], "HTTPS", Some("https_proxy")),
    // all_proxy, ALL_PROXY: the last resort for every scheme.
    (&[("all_proxy", P)], "https", Some("all_proxy")),
    (&[("ALL_PROXY", P)], "https", Some("ALL_PROXY")),
    (
        &[("all_proxy", P), ("ALL_PROXY", "http://q.test:1")],
        "https",
        Some("all_proxy"),
    ),
    (
        &[("all_proxy", ""), ("ALL_PROXY", P)],
        "https",
        Some("ALL_PROXY"),
    ),
    (&[("all_proxy", ""), ("ALL_PROXY", "")], "https", None),
    (
        &[("ALL_PROXY", P), ("https_proxy", "")],
        "https",
        Some("ALL_PROXY"),
    ),
    (&[("all_proxy", P)], "ftp", Some("all_proxy")),
    (&[("all_proxy", P)], "http", Some("all_proxy")),
    // Other schemes: <scheme>_proxy, <SCHEME>_PROXY.
    (&[("ftp_proxy", P)], "ftp", Some("ftp_proxy")),
    (&[("FTP_PROXY", P)], "ftp", Some("FTP_PROXY")),
    (
        &[("ftp_proxy", P), ("all_proxy", "http://q.test:1")],
        "ftp",
        Some("ftp_proxy"),
    ),
    (&[("http_proxy", P)], "ftp", None),
    (&[("gopher_proxy", P)], "gopher", Some("gopher_proxy")),
    (&[("mqtt_proxy", P)], "mqtt", Some("mqtt_proxy")),
    (
        &[("foo_proxy", P), ("all_proxy", "http://q.test:1")],
        "foo",
        Some("all_proxy"),
    ),
    // ws and wss follow http and https, after their own variables.
    (&[("http_proxy", P)], "ws", Some("http_proxy")),
    (&[("HTTP_PROXY", P)], "ws", None),
    (
        &[("ws_proxy", P), ("http_proxy", "http://q.test:1")],
        "ws",
        Some("ws_proxy"),
    ),
    (
        &[("WS_PROXY", P), ("http_proxy", "http://q.test:1")],
        "ws",
        Some("WS_PROXY"),
    ),
    (&[("https_proxy", P)], "wss", Some("https_proxy")),
    (&[("HTTPS_PROXY", P)], "wss", Some("HTTPS_PROXY")),
    (
        &[("wss_proxy", P), ("https_proxy", "http://q.test:1")],
        "wss",
        Some("wss_proxy"),
    ),
    // Names curl never reads.
    (&[("Http_Proxy", P)], "http", None),
    (&[("Https_Proxy", P)], "https", None),
    (&[("socks_proxy", P)], "https", None),
    // REQUEST_METHOD changes nothing for curl; no_proxy does not select a proxy.
    (
        &[("REQUEST_METHOD", "GET"), ("https_proxy", P)],
        "https",
        Some("https_proxy"),
    ),
    (
        &[("REQUEST_METHOD", "GET"), ("http_proxy", P)],
        "http",
        Some("http_proxy"),
    ),
    (
        &[("REQUEST_METHOD", ""), ("ALL_PROXY", P)],
        "https",
        Some("ALL_PROXY"),
    ),
    (
        &[("no_proxy", "*"), ("https_proxy", P)],
        "https",
        Some("https_proxy"),
    ),
    (&[], "https", None),
];

#[test]
fn proxy_variable_per_scheme() {
    for (pairs, scheme, want) in LOOKUPS {
        let env = EnvSnapshot::from_pairs(pairs.iter().copied());
        let lookup = env.proxy_for(scheme);
        let got = lookup.found.as_ref().map(|v| v.name.as_str());
        assert_eq!(got, *want, "{pairs:?} for {scheme}");
        assert_eq!(lookup.proxy.is_some(), want.is_some(), "{pairs:?}");
        if let Some(name) = want {
            assert!(
                lookup.consulted.contains(name),
                "{name} not consulted for {scheme}"
            );
        }
        assert!(!lookup.consulted.contains(&"HTTP_PROXY"));
    }
}

#[test]
fn consulted_order_is_curls() {
    let env = EnvSnapshot::default();
    let cases: &[(&str, &[&str])] = &[
        ("http", &["http_proxy", "all_proxy", "ALL_PROXY"]),
        (
            "https",
            &["https_proxy", "HTTPS_PROXY", "all_proxy", "ALL_PROXY"],
        ),
        (
            "ws",
            &[
                "ws_proxy",
                "WS_PROXY",
                "http_proxy",
                "all_proxy",
                "ALL_PROXY",
            ],
        ),
        (
            "wss",
            &[
                "wss_proxy",
                "WSS_PROXY",
                "https_proxy",
                "HTTPS_PROXY",
                "all_proxy",
                "ALL_PROXY",
            ],
        ),
        ("ftp", &["ftp_proxy", "FTP_PROXY", "all_proxy", "ALL_PROXY"]),
    ];
    for (scheme, want) in cases {
        assert_eq!(
            env.proxy_for(scheme).consulted.as_slice(),
            *want,
            "{scheme}"
        );
    }
}

#[test]
fn no_proxy_variable() {
    type Pairs = &'static [(&'static str, &'static str)];
    let cases: &[(Pairs, Option<&str>)] = &[
        (&[("no_proxy", "a.test")], Some("no_proxy")),
        (&[("NO_PROXY", "a.test")], Some("NO_PROXY")),
        (
            &[("no_proxy", "a.test"), ("NO_PROXY", "b.test")],
            Some("no_proxy"),
        ),
        (
            &[("no_proxy", ""), ("NO_PROXY", "b.test")],
            Some("NO_PROXY"),
        ),
        (&[("no_proxy", ""), ("NO_PROXY", "")], None),
        (&[("No_Proxy", "a.test")], None),
        (&[], None),
    ];
    for (pairs, want) in cases {
        let env = EnvSnapshot::from_pairs(pairs.iter().copied());
        assert_eq!(
            env.no_proxy().map(|n| n.var.name.as_str()),
            *want,
            "{pairs:?}"
        );
    }
    let env = EnvSnapshot::from_pairs([("NO_PROXY", ".internal, 10.0.0.0/8")]);
    let list = &env.no_proxy().map(|n| n.list.clone()).unwrap_or_default();
    assert!(list.is_match("x.internal") && list.is_match("10.9.9.9"));
}

#[test]
fn ignored_variables_and_why() {
    type Row = (
        &'static [(&'static str, &'static str)],
        &'static [(&'static str, IgnoredReason)],
    );
    let rows: &[Row] = &[
        (
            &[("HTTP_PROXY", P)],
            &[("HTTP_PROXY", IgnoredReason::Httpoxy)],
        ),
        (
            &[("HTTP_PROXY", "")],
            &[("HTTP_PROXY", IgnoredReason::Httpoxy)],
        ),
        (
            &[("http_proxy", "")],
            &[("http_proxy", IgnoredReason::Empty)],
        ),
        (
            &[("HTTPS_PROXY", "")],
            &[("HTTPS_PROXY", IgnoredReason::Empty)],
        ),
        (
            &[("HTTPS_PROXY", P), ("https_proxy", "http://q.test:1")],
            &[("HTTPS_PROXY", IgnoredReason::ShadowedByLowercase)],
        ),
        (&[("HTTPS_PROXY", P), ("https_proxy", P)], &[]),
        (
            &[("NO_PROXY", "a.test"), ("no_proxy", "b.test")],
            &[("NO_PROXY", IgnoredReason::ShadowedByLowercase)],
        ),
        (
            &[("ALL_PROXY", P), ("all_proxy", "")],
            &[("all_proxy", IgnoredReason::Empty)],
        ),
        (
            &[("Http_Proxy", P)],
            &[("Http_Proxy", IgnoredReason::MixedCase)],
        ),
        (
            &[("No_Proxy", "a")],
            &[("No_Proxy", IgnoredReason::MixedCase)],
        ),
        (
            &[("REQUEST_METHOD", "GET")],
            &[("REQUEST_METHOD", IgnoredReason::RequestMethod)],
        ),
        (
            &[("REQUEST_METHOD", "")],
            &[("REQUEST_METHOD", IgnoredReason::RequestMethod)],
        ),
        (
            &[("HTTP_PROXY", P), ("REQUEST_METHOD", "POST")],
            &[
                ("HTTP_PROXY", IgnoredReason::Httpoxy),
                ("REQUEST_METHOD", IgnoredReason::RequestMethod),
            ],
        ),
        (
            &[("PATH", "/bin"), ("https_proxy", P), ("no_proxy", "x")],
            &[],
        ),
    ];
    for (pairs, want) in rows {
        let env = EnvSnapshot::from_pairs(pairs.iter().copied());
        let got: Vec<(&str, IgnoredReason)> = env
            .ignored()
            .iter()
            .map(|i| (i.var.as_str(), i.code))
            .collect();
        assert_eq!(got.as_slice(), *want, "{pairs:?}");
        for i in env.ignored() {
            assert!(!i.reason.is_empty());
        }
    }
}

#[test]
fn httpoxy_names_the_tools_that_would_use_http_proxy() {
    let env = EnvSnapshot::from_pairs([("HTTP_PROXY", P)]);
    let ig = &env.ignored()[0];
    let tools: Vec<Tool> = ig.used_by.iter().map(|n| n.tool).collect();
    for t in [
        Tool::Go,
        Tool::PythonUrllib,
        Tool::Requests,
        Tool::NodeProxyFromEnv,
        Tool::HyperUtil,
    ] {
        assert!(tools.contains(&t), "{t:?} missing from {tools:?}");
    }
    assert!(ig.concerns("http") && ig.concerns("ws") && !ig.concerns("https"));
    // Under CGI, hyper-util and Python drop it; Go errors; Node still uses it.
    let cgi = EnvSnapshot::from_pairs([("HTTP_PROXY", P), ("REQUEST_METHOD", "GET")]);
    let tools: Vec<Tool> = cgi.ignored()[0].used_by.iter().map(|n| n.tool).collect();
    assert!(tools.contains(&Tool::NodeProxyFromEnv));
    assert!(!tools.contains(&Tool::HyperUtil) && !tools.contains(&Tool::PythonUrllib));
}

#[test]
fn invalid_values_are_reported_not_dropped() {
    let cases: &[(&str, ProxyUrlErrorKind)] = &[
        ("ftp://p.test:21", ProxyUrlErrorKind::UnsupportedScheme),
        ("http://p.test:99999", ProxyUrlErrorKind::InvalidPort),
        ("http://", ProxyUrlErrorKind::MissingHost),
        ("\"http://p.test:3128\"", ProxyUrlErrorKind::Quoted),
        ("http://a.test:1,http://b.test:1", ProxyUrlErrorKind::List),
        ("http=a.test:80;https=a.test:443", ProxyUrlErrorKind::List),
    ];
    for (value, kind) in cases {
        let env = EnvSnapshot::from_pairs([("https_proxy", *value)]);
        match env.proxy_for("https").proxy {
            Some(Err(e)) => assert_eq!(e.kind(), *kind, "{value}"),
            other => panic!("{value}: {other:?}"),
        }
    }
    // A value without scheme is http://, with the assumption noted.
    let env = EnvSnapshot::from_pairs([("https_proxy", "p.test:3128")]);
    match env.proxy_for("https").proxy {
        Some(Ok(p)) => {
            assert_eq!(p.without_credentials(), "http://p.test:3128");
            assert_eq!(p.notes()[0].code(), "scheme_assumed");
        }
        other => panic!("{other:?}"),
    }
}
