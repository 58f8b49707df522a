//! `NO_PROXY` matching, case by case, as curl (≥ 8.18, lib/noproxy.c) decides it; then an
//! independent line-by-line re-statement of curl's loop checked against the hash-based matcher
//! on generated lists, so the fast structure cannot drift from the linear semantics.

use std::net::{Ipv4Addr, Ipv6Addr};

use proptest::prelude::*;
use proxyscope::NoProxy;
use proxyscope::proxy::{MatchRule, NoProxyIssue, Severity};

type Case = (
    &'static str,
    &'static str,
    Option<(&'static str, MatchRule)>,
);

use MatchRule::{Cidr, Domain, Ip, Subdomain, Wildcard};

const CASES: &[Case] = &[
    // `*` only as the whole value.
    ("example.com", "*", Some(("*", Wildcard))),
    ("10.0.0.1", "*", Some(("*", Wildcard))),
    ("[::1]", "*", Some(("*", Wildcard))),
    ("", "*", None),
    ("example.com", " *", None),
    ("example.com", "*,", None),
    ("example.com", "a.test,*", None),
    ("10.0.0.1", "*,a.test", None),
    (
        "example.com",
        "*, example.com",
        Some(("example.com", Domain)),
    ),
    // Names: exact, subdomain at a label boundary, case-insensitive.
    ("example.com", "example.com", Some(("example.com", Domain))),
    ("EXAMPLE.COM", "example.com", Some(("example.com", Domain))),
    ("example.com", "EXAMPLE.com", Some(("EXAMPLE.com", Domain))),
    (
        "www.example.com",
        "example.com",
        Some(("example.com", Subdomain)),
    ),
    (
        "a.b.example.com",
        "example.com",
        Some(("example.com", Subdomain)),
    ),
    (
        "WWW.Example.COM",
        "example.com",
        Some(("example.com", Subdomain)),
    ),
    ("notexample.com", "example.com", None),
    ("example.com.evil", "example.com", None),
    ("example.co", "example.com", None),
    ("com", "example.com", None),
    ("example.com", "com", Some(("com", Subdomain))),
    ("example.com", ".com", Some((".com", Subdomain))),
    ("localhost", "localhost", Some(("localhost", Domain))),
    ("sub.localhost", "localhost", Some(("localhost", Subdomain))),
    ("a-b.example", "a-b.example", Some(("a-b.example", Domain))),
    ("a_b.example", "a_b.example", Some(("a_b.example", Domain))),
    // Leading dot: ignored, so the domain itself matches too.
    (
        "example.com",
        ".example.com",
        Some((".example.com", Domain)),
    ),
    (
        "www.example.com",
        ".example.com",
        Some((".example.com", Subdomain)),
    ),
    ("nonexample.com", ".example.com", None),
    ("www.example.com", "..example.com", None),
    ("example.com", ".", None),
    ("example.com", "..", None),
    // Trailing dots on host and entry (curl ≥ 7.87).
    ("example.com.", "example.com", Some(("example.com", Domain))),
    (
        "example.com",
        "example.com.",
        Some(("example.com.", Domain)),
    ),
    (
        "www.example.com.",
        ".example.com.",
        Some((".example.com.", Subdomain)),
    ),
    ("localhost.", "localhost", Some(("localhost", Domain))),
    ("example.com", "example.com..", None),
    // Entries with a port, a path, a scheme or a wildcard prefix never match.
    ("example.com", "example.com:443", None),
    ("example.com", "example.com:80", None),
    ("example.com", "http://example.com", None),
    ("example.com", "https://example.com/", None),
    ("example.com", "example.com/", None),
    ("example.com", "example.com/api", None),
    ("example.com", "*.example.com", None),
    ("www.example.com", "*.example.com", None),
    ("www.example.com", "*example.com", None),
    // IDN: curl compares bytes; hosts arrive as punycode.
    (
        "xn--bcher-kva.example",
        "xn--bcher-kva.example",
        Some(("xn--bcher-kva.example", Domain)),
    ),
    ("xn--bcher-kva.example", "bücher.example", None),
    // Blanks and commas (curl ≥ 8.9: a blank between names ends the list).
    ("a.test", "a.test b.test", Some(("a.test", Domain))),
    ("b.test", "a.test b.test", None),
    ("b.test", "a.test, b.test", Some(("b.test", Domain))),
    ("b.test", "a.test ,b.test", Some(("b.test", Domain))),
    ("b.test", "a.test\t,\tb.test", Some(("b.test", Domain))),
    ("b.test", " a.test,b.test ", Some(("b.test", Domain))),
    ("c.test", "a.test, b.test c.test", None),
    ("b.test", "a.test, b.test c.test", Some(("b.test", Domain))),
    ("b.test", "a.test,,,b.test", Some(("b.test", Domain))),
    ("b.test", ",b.test", Some(("b.test", Domain))),
    ("b.test", "a.test\nb.test", None),
    ("b.test", "a.test;b.test", None),
    ("example.com", "", None),
    ("example.com", ",", None),
    ("example.com", " ", None),
    ("example.com", " , ,", None),
    // IPv4: exact, no implicit loopback, no name/IP crossover.
    ("127.0.0.1", "127.0.0.1", Some(("127.0.0.1", Ip))),
    ("127.0.0.2", "127.0.0.1", None),
    ("127.0.0.1", "localhost", None),
    ("localhost", "127.0.0.1", None),
    ("10.1.2.3", "10.1.2.3.", None),
    ("10.1.2.3", ".10.1.2.3", None),
    ("10.1.2.3", "010.1.2.3", None),
    ("10.1.2.3", "10.1.2.3:80", None),
    ("10.1.2.3", "10.", None),
    ("10.1.2.3", "10.1", None),
    // IPv4 CIDR; `/0` and `/32` are exact; bad bits never match.
    ("10.1.2.3", "10.0.0.0/8", Some(("10.0.0.0/8", Cidr))),
    ("11.1.2.3", "10.0.0.0/8", None),
    ("10.1.2.3", "10.1.2.3/32", Some(("10.1.2.3/32", Ip))),
    ("10.1.2.4", "10.1.2.3/32", None),
    ("10.1.2.3", "0.0.0.0/0", None),
    ("0.0.0.0", "0.0.0.0/0", Some(("0.0.0.0/0", Ip))),
    ("10.1.2.3", "10.1.2.3/0", Some(("10.1.2.3/0", Ip))),
    ("10.1.2.3", "10.9.9.9/8", Some(("10.9.9.9/8", Cidr))),
    ("10.1.2.3", "10.0.0.0/33", None),
    ("10.1.2.3", "10.0.0.0/x", None),
    ("10.1.2.3", "10.0.0.0/", None),
    ("10.1.2.3", "10.0.0.0/8x", None),
    ("10.1.2.3", "10.0.0.0/+8", None),
    ("10.1.2.3", "10.0.0.0/08", Some(("10.0.0.0/08", Cidr))),
    (
        "192.168.1.1",
        "192.168.0.0/16",
        Some(("192.168.0.0/16", Cidr)),
    ),
    (
        "192.168.1.1",
        "192.168.1.0/24",
        Some(("192.168.1.0/24", Cidr)),
    ),
    ("192.168.2.1", "192.168.1.0/24", None),
    (
        "192.168.1.129",
        "192.168.1.128/25",
        Some(("192.168.1.128/25", Cidr)),
    ),
    ("192.168.1.127", "192.168.1.128/25", None),
    (
        "172.31.255.255",
        "172.16.0.0/12",
        Some(("172.16.0.0/12", Cidr)),
    ),
    ("172.32.0.0", "172.16.0.0/12", None),
    (
        "255.255.255.255",
        "128.0.0.0/1",
        Some(("128.0.0.0/1", Cidr)),
    ),
    ("127.255.255.255", "128.0.0.0/1", None),
    ("10.1.2.3", "10.1.2.2/31", Some(("10.1.2.2/31", Cidr))),
    ("10.1.2.4", "10.1.2.2/31", None),
    ("10.1.2.3", "::ffff:10.1.2.3", None),
    (
        "10.1.2.3",
        "example.com, 10.0.0.0/8",
        Some(("10.0.0.0/8", Cidr)),
    ),
    ("10.1.2.3", "10.1.2.3 10.0.0.0/8", Some(("10.1.2.3", Ip))),
    ("10.9.9.9", "10.1.2.3 10.0.0.0/8", None),
    // IPv6: bracketed or not in the host, unbracketed in the entry, compared as addresses.
    ("[::1]", "::1", Some(("::1", Ip))),
    ("::1", "::1", Some(("::1", Ip))),
    ("[::1]", "0:0:0:0:0:0:0:1", Some(("0:0:0:0:0:0:0:1", Ip))),
    ("[0:0::1]", "::1", Some(("::1", Ip))),
    ("[2001:DB8::1]", "2001:db8::1", Some(("2001:db8::1", Ip))),
    ("[::1]", "[::1]", None),
    ("[::1]", "[::1]:80", None),
    ("[::1]", "::1/128", Some(("::1/128", Ip))),
    ("[::1]", "::1/0", Some(("::1/0", Ip))),
    ("[::2]", "::1/0", None),
    ("[::2]", "::/0", None),
    ("[::1]", "::1/64", Some(("::1/64", Cidr))),
    (
        "[2001:db8::1]",
        "2001:db8::/32",
        Some(("2001:db8::/32", Cidr)),
    ),
    ("[2001:db9::1]", "2001:db8::/32", None),
    ("[fe80::1]", "fe80::/10", Some(("fe80::/10", Cidr))),
    ("[febf::1]", "fe80::/10", Some(("fe80::/10", Cidr))),
    ("[fec0::1]", "fe80::/10", None),
    ("[fd00::1]", "fc00::/7", Some(("fc00::/7", Cidr))),
    ("[fe00::1]", "fc00::/7", None),
    ("[2001:db8::1]", "2001:db8::1/129", None),
    ("[::1]", "127.0.0.1", None),
    ("[::1]", "::1:80", None),
    ("[::1]", "localhost", None),
    (
        "[::ffff:10.1.2.3]",
        "::ffff:10.0.0.0/104",
        Some(("::ffff:10.0.0.0/104", Cidr)),
    ),
    ("[::1", "::1", None),
    // The first matching entry in list order is the one reported.
    (
        "www.example.com",
        "example.com,www.example.com",
        Some(("example.com", Subdomain)),
    ),
    (
        "www.example.com",
        "www.example.com,example.com",
        Some(("www.example.com", Domain)),
    ),
    (
        "10.1.2.3",
        "10.0.0.0/8,10.1.2.3",
        Some(("10.0.0.0/8", Cidr)),
    ),
    ("10.1.2.3", "10.1.2.3,10.0.0.0/8", Some(("10.1.2.3", Ip))),
    (
        "10.1.2.3",
        "10.1.0.0/16,10.0.0.0/8",
        Some(("10.1.0.0/16", Cidr)),
    ),
    (
        "10.1.2.3",
        "10.0.0.0/8,10.1.0.0/16",
        Some(("10.0.0.0/8", Cidr)),
    ),
    ("a.b.c.d", "c.d,b.c.d,d", Some(("c.d", Subdomain))),
];

#[test]
fn curl_decides_each_case() {
    assert!(CASES.len() >= 130, "{}", CASES.len());
    for (host, list, want) in CASES {
        let np = NoProxy::parse(list);
        let got = np.matches(host);
        let got = got.as_ref().map(|m| (m.entry.as_str(), m.rule));
        assert_eq!(got, *want, "host {host:?} with NO_PROXY={list:?}");
        assert_eq!(np.is_match(host), want.is_some(), "{host:?} {list:?}");
        if let Some(m) = np.matches(host) {
            assert_eq!(np.entries()[m.index], m.entry);
        }
    }
}

#[test]
fn config_lists_follow_the_same_rules() {
    let cases: &[(&[&str], &str, bool)] = &[
        (&["*"], "anything.test", true),
        (&[" * "], "anything.test", true),
        (&["*", "a.test"], "b.test", false),
        (&["a.test", "b.test"], "b.test", true),
        (&["a.test,b.test"], "b.test", true),
        (&["a.test b.test"], "b.test", false),
        (&["a.test b.test", "c.test"], "c.test", true),
        (&[], "a.test", false),
        (&[""], "a.test", false),
        (&["10.0.0.0/8"], "10.2.3.4", true),
        (&[".svc.example.org"], "apertium.svc.example.org", true),
        (&["http://svc.example.org"], "svc.example.org", false),
    ];
    for (entries, host, want) in cases {
        let np = NoProxy::from_entries(entries.iter().copied());
        assert_eq!(np.is_match(host), *want, "{entries:?} {host}");
    }
}

#[test]
fn diagnostics_say_why_and_how_to_fix() {
    type Row = (
        &'static str,
        &'static [(&'static str, NoProxyIssue, Severity)],
    );
    let rows: &[Row] = &[
        (
            "localhost, http://svc.example.org/",
            &[(
                "http://svc.example.org/",
                NoProxyIssue::UrlShaped,
                Severity::Error,
            )],
        ),
        (
            "localhost .example.com .example.de",
            &[(
                ".example.com .example.de",
                NoProxyIssue::BlankSeparated,
                Severity::Error,
            )],
        ),
        (
            "a.test,*",
            &[("*", NoProxyIssue::WildcardNotAlone, Severity::Error)],
        ),
        (
            "*.example.com",
            &[(
                "*.example.com",
                NoProxyIssue::WildcardPrefix,
                Severity::Error,
            )],
        ),
        (
            "example.com:8080",
            &[("example.com:8080", NoProxyIssue::HasPort, Severity::Error)],
        ),
        (
            "[::1]",
            &[("[::1]", NoProxyIssue::BracketedIpv6, Severity::Error)],
        ),
        (
            "10.0.0.0/40",
            &[("10.0.0.0/40", NoProxyIssue::InvalidCidr, Severity::Error)],
        ),
        (
            "0.0.0.0/0",
            &[(
                "0.0.0.0/0",
                NoProxyIssue::CidrZeroIsExact,
                Severity::Warning,
            )],
        ),
        (
            ".example.com",
            &[(".example.com", NoProxyIssue::LeadingDot, Severity::Info)],
        ),
        ("example.com,10.0.0.0/8,::1,localhost", &[]),
        ("", &[]),
        ("*", &[]),
    ];
    for (value, want) in rows {
        let np = NoProxy::parse(value);
        let got: Vec<(&str, NoProxyIssue, Severity)> = np
            .diagnostics()
            .iter()
            .map(|d| (d.entry.as_str(), d.issue, d.severity))
            .collect();
        assert_eq!(got.as_slice(), *want, "{value:?}");
        for d in np.diagnostics() {
            assert_eq!(d.can_match, d.severity != Severity::Error);
            assert!(!d.reason.is_empty());
        }
    }
    let url = NoProxy::parse("http://svc.example.org/");
    assert_eq!(
        url.diagnostics()[0].suggestion.as_deref(),
        Some("svc.example.org")
    );
    let json = serde_json::to_value(&url.diagnostics()[0]).unwrap_or_default();
    assert_eq!(json["issue"], "url_shaped");
    assert_eq!(json["severity"], "error");
}

#[test]
fn large_lists_still_match_exactly() {
    let mut entries: Vec<String> = (0..10_000)
        .map(|i| format!("host{i}.corp.example"))
        .collect();
    entries.extend((0..=255).map(|i| format!("10.{i}.0.0/16")));
    entries.push(".svc.example.org".into());
    let np = NoProxy::from_entries(entries.iter().map(String::as_str));
    assert_eq!(np.len(), 10_257);
    assert!(np.is_match("host9999.corp.example"));
    assert!(np.is_match("a.host5.corp.example"));
    assert!(!np.is_match("host10000.corp.example"));
    assert!(np.is_match("x.svc.example.org"));
    assert!(np.is_match("10.200.3.4"));
    assert!(!np.is_match("11.0.0.1"));
    assert_eq!(
        np.matches("10.255.1.1").map(|m| m.index),
        Some(10_000 + 255)
    );
}

// ---- curl's loop, re-stated without shortcuts, for the generated comparison ----

fn cidr4(host: &str, token: &str, bits: Option<u32>) -> bool {
    let (Ok(h), Ok(n)) = (host.parse::<Ipv4Addr>(), token.parse::<Ipv4Addr>()) else {
        return false;
    };
    let Some(bits) = bits else { return false };
    if bits > 32 {
        return false;
    }
    if bits == 0 || bits == 32 {
        return h == n;
    }
    let mask = u32::MAX << (32 - bits);
    (u32::from(h) ^ u32::from(n)) & mask == 0
}

fn cidr6(host: &str, token: &str, bits: Option<u32>) -> bool {
    let (Ok(h), Ok(n)) = (host.parse::<Ipv6Addr>(), token.parse::<Ipv6Addr>()) else {
        return false;
    };
    let Some(mut bits) = bits else { return false };
    if bits == 0 {
        bits = 128;
    }
    if bits > 128 {
        return false;
    }
    let (h, n) = (h.octets(), n.octets());
    let (bytes, rest) = ((bits / 8) as usize, bits % 8);
    if h[..bytes] != n[..bytes] {
        return false;
    }
    if rest > 0 && (h[bytes] ^ n[bytes]) & (0xffu8 << (8 - rest)) != 0 {
        return false;
    }
    true
}

fn curl_reference(name: &str, no_proxy: &str) -> bool {
    #[derive(PartialEq)]
    enum T {
        Host,
        V4,
        V6,
    }
    if name.is_empty() || no_proxy.is_empty() {
        return false;
    }
    if no_proxy == "*" {
        return true;
    }
    let (name, ty) = if let Some(inner) = name.strip_prefix('[') {
        match inner.find(']') {
            Some(i) => (&inner[..i], T::V6),
            None => return false,
        }
    } else if name.parse::<Ipv4Addr>().is_ok() {
        (name, T::V4)
    } else if name.parse::<Ipv6Addr>().is_ok() {
        (name, T::V6)
    } else {
        (name.strip_suffix('.').unwrap_or(name), T::Host)
    };
    let b = no_proxy.as_bytes();
    let blank = |c: u8| c == b' ' || c == b'\t';
    let mut p = 0;
    while p < b.len() {
        while p < b.len() && blank(b[p]) {
            p += 1;
        }
        let start = p;
        while p < b.len() && !blank(b[p]) && b[p] != b',' {
            p += 1;
        }
        let token = &b[start..p];
        if !token.is_empty() {
            let matched = if ty == T::Host {
                let mut t = token;
                if t.last() == Some(&b'.') {
                    t = &t[..t.len() - 1];
                }
                if t.first() == Some(&b'.') {
                    t = &t[1..];
                }
                let n = name.as_bytes();
                if t.len() == n.len() {
                    t.eq_ignore_ascii_case(n)
                } else if t.len() < n.len() {
                    n[n.len() - t.len() - 1] == b'.'
                        && n[n.len() - t.len()..].eq_ignore_ascii_case(t)
                } else {
                    false
                }
            } else {
                let token = std::str::from_utf8(token).unwrap_or("");
                let (addr, bits) = match token.split_once('/') {
                    Some((a, bits)) => {
                        let ok = !bits.is_empty() && bits.bytes().all(|c| c.is_ascii_digit());
                        (
                            a,
                            if ok {
                                bits.parse::<u32>().ok().filter(|v| *v <= 128)
                            } else {
                                None
                            },
                        )
                    }
                    None => (token, Some(0)),
                };
                if ty == T::V6 {
                    cidr6(name, addr, bits)
                } else {
                    cidr4(name, addr, bits)
                }
            };
            if matched {
                return true;
            }
        }
        while p < b.len() && blank(b[p]) {
            p += 1;
        }
        if p >= b.len() || b[p] != b',' {
            break;
        }
        while p < b.len() && b[p] == b',' {
            p += 1;
        }
    }
    false
}

#[test]
fn the_reference_agrees_with_the_case_table() {
    for (host, list, want) in CASES {
        assert_eq!(
            curl_reference(host, list),
            want.is_some(),
            "{host:?} {list:?}"
        );
    }
}

fn host_strategy() -> impl Strategy<Value = String> {
    let name = (
        prop::collection::vec(
            prop::sample::select(vec!["a", "b", "ex", "com", "x-y", "B"]),
            1..4,
        ),
        any::<bool>(),
    )
        .prop_map(|(labels, dot)| format!("{}{}", labels.join("."), if dot { "." } else { "" }));
    let ip = prop::sample::select(vec![
        "10.0.0.1",
        "10.1.2.3",
        "192.168.1.1",
        "127.0.0.1",
        "[::1]",
        "::1",
        "[2001:db8::5]",
        "[fe80::1]",
    ])
    .prop_map(str::to_owned);
    prop_oneof![name, ip]
}

fn list_strategy() -> impl Strategy<Value = String> {
    let entry = prop::sample::select(vec![
        "a",
        "b",
        "ex",
        "com",
        ".com",
        "ex.com",
        ".ex.com",
        "a.ex.com.",
        "B.EX",
        "*",
        "*.com",
        "ex.com:80",
        "10.0.0.0/8",
        "10.1.2.3",
        "10.0.0.0/0",
        "10.1.0.0/16",
        "192.168.1.1/33",
        "::1",
        "::/0",
        "2001:db8::/32",
        "fe80::/10",
        "[::1]",
        "127.0.0.1/8",
        ".",
        "a..b",
        "x-y.b",
        "10.0.0.0/x",
        "2001:db8::/129",
    ]);
    let sep = prop::sample::select(vec![",", ", ", " ,", ",,", " ", "\t,"]);
    prop::collection::vec((entry, sep), 0..7).prop_map(|parts| {
        let mut s = String::new();
        for (e, sep) in parts {
            s.push_str(e);
            s.push_str(sep);
        }
        s
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]
    #[test]
    fn hash_matcher_equals_curls_loop(host in host_strategy(), list in list_strategy()) {
        let np = NoProxy::parse(&list);
        prop_assert_eq!(np.is_match(&host), curl_reference(&host, &list), "{} in {:?}", host, list);
    }

    #[test]
    fn whole_star_or_single_entry_lists(host in host_strategy(), e in "[a-z.*:/0-9]{0,8}") {
        let np = NoProxy::parse(&e);
        prop_assert_eq!(np.is_match(&host), curl_reference(&host, &e));
    }
}
