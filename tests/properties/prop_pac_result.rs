//! Property tests of the PAC answer parser (bounded case counts, run in CI): it never panics on
//! any text, every accepted entry re-renders and re-parses to itself, lists built from valid
//! entries with browser-tolerated blanks read back exactly, and one bad entry never hides the
//! good ones around it.

use proptest::prelude::*;
use proxyscope::pac::{
    MAX_ENTRIES, PacEntry, PacProxyKind, ResultDiagnostic, ResultProblem, ResultSeverity,
    parse_result,
};
use proxyscope::proxy::redact_list;

fn kind() -> impl Strategy<Value = (PacProxyKind, &'static str)> {
    prop_oneof![
        Just((PacProxyKind::Http, "PROXY")),
        Just((PacProxyKind::Http, "proxy")),
        Just((PacProxyKind::Http, "Http")),
        Just((PacProxyKind::Https, "HTTPS")),
        Just((PacProxyKind::Socks4, "SOCKS")),
        Just((PacProxyKind::Socks4, "socks4")),
        Just((PacProxyKind::Socks5, "SOCKS5")),
    ]
}

fn host() -> impl Strategy<Value = String> {
    prop_oneof![
        "[a-z][a-z0-9-]{0,10}(\\.[a-z][a-z0-9-]{0,10}){0,3}",
        (0u8..=255, 0u8..=255, 0u8..=255, 0u8..=255)
            .prop_map(|(a, b, c, d)| format!("{a}.{b}.{c}.{d}")),
        any::<[u16; 8]>().prop_map(|s| format!("[{}]", std::net::Ipv6Addr::from(s))),
    ]
}

/// A valid entry as written (keyword case and blanks varied) and what it must read as.
fn entry() -> impl Strategy<Value = (String, PacEntry)> {
    prop_oneof![
        1 => prop_oneof![Just("DIRECT"), Just("direct"), Just("Direct")]
            .prop_map(|d| (d.to_owned(), PacEntry::Direct)),
        4 => (kind(), host(), 1u16.., "[ \t]{1,3}").prop_map(|((k, word), h, port, gap)| {
            (format!("{word}{gap}{h}:{port}"), PacEntry::Proxy {
                kind: k,
                host: h.parse::<std::net::Ipv4Addr>().map(|v4| v4.to_string()).unwrap_or_else(|_| {
                    match h.strip_prefix('[').and_then(|x| x.strip_suffix(']')) {
                        Some(v6) => format!("[{}]", v6.parse::<std::net::Ipv6Addr>().unwrap()),
                        None => h.clone(),
                    }
                }),
                port,
            })
        }),
    ]
}

/// How many of the written entries use the keyword `HTTP`, which Chromium does not know.
fn http_worded(entries: &[(String, PacEntry)]) -> usize {
    entries
        .iter()
        .filter(|(t, _)| {
            t.get(..4).is_some_and(|k| k.eq_ignore_ascii_case("http"))
                && !t[4..].starts_with(['s', 'S'])
        })
        .count()
}

/// The diagnostics other than the doubt about `HTTP`, which must be a warning each.
fn beyond_http_doubts(diagnostics: &[ResultDiagnostic]) -> Vec<&ResultDiagnostic> {
    diagnostics
        .iter()
        .filter(|d| {
            d.problem != ResultProblem::NonPortableKeyword || d.severity != ResultSeverity::Warning
        })
        .collect()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn any_text_never_panics_and_accepted_entries_round_trip(text in "\\PC{0,200}") {
        let r = parse_result(&text);
        prop_assert!(r.entries.len() <= MAX_ENTRIES);
        for d in &r.diagnostics {
            // The quote is the entry as printed: a piece of the whole answer redacted (a
            // password may run across the `;` between entries).
            prop_assert!(redact_list(&text).contains(&d.text));
        }
        for e in &r.entries {
            let again = parse_result(&e.to_string());
            prop_assert_eq!(&again.entries, &vec![e.clone()]);
            prop_assert!(again.diagnostics.is_empty());
        }
        prop_assert_eq!(parse_result(&r.to_string()).entries, r.entries);
    }

    #[test]
    fn pac_like_text_never_panics(
        parts in prop::collection::vec(
            prop_oneof!["(PROXY|SOCKS5?|HTTPS?|DIRECT|QUIC|proxy)", "[ \t;:\\[\\]]{0,3}", "[a-z0-9.:\\[\\]]{0,12}"],
            0..20,
        )
    ) {
        let text: String = parts.concat();
        let r = parse_result(&text);
        for e in &r.entries {
            prop_assert_eq!(&parse_result(&e.to_string()).entries, &vec![e.clone()]);
        }
    }

    #[test]
    fn valid_lists_read_back_exactly(
        entries in prop::collection::vec(entry(), 1..12),
        lead in "[ \t]{0,2}",
        sep in prop_oneof![Just(";"), Just("; "), Just(" ;  "), Just(";;"), Just(";\t")],
        trailing in prop_oneof![Just(""), Just(";"), Just("; ")],
    ) {
        let text = format!(
            "{lead}{}{trailing}",
            entries.iter().map(|(t, _)| t.as_str()).collect::<Vec<_>>().join(sep)
        );
        let r = parse_result(&text);
        let want: Vec<PacEntry> = entries.iter().map(|(_, e)| e.clone()).collect();
        prop_assert_eq!(&r.entries, &want);
        // Valid entries draw no finding, but the doubt about each one worded HTTP.
        prop_assert!(beyond_http_doubts(&r.diagnostics).is_empty(), "{:?}", r.diagnostics);
        prop_assert_eq!(r.diagnostics.len(), http_worded(&entries));
    }

    #[test]
    fn a_bad_entry_is_reported_and_the_others_kept(
        before in prop::collection::vec(entry(), 0..4),
        after in prop::collection::vec(entry(), 0..4),
        bad in prop_oneof![
            Just("FTP a:21"), Just("PROXY"), Just("PROXY a:0"), Just("PROXY a:99999"),
            Just("DIRECT x"), Just("PROXY a b:1"), Just("QUIC q:443"), Just("PROXY ::1:80"),
        ],
    ) {
        let mut all: Vec<&str> = before.iter().map(|(t, _)| t.as_str()).collect();
        all.push(bad);
        all.extend(after.iter().map(|(t, _)| t.as_str()));
        let text = all.join("; ");
        let r = parse_result(&text);
        let want: Vec<PacEntry> = before.iter().chain(&after).map(|(_, e)| e.clone()).collect();
        prop_assert_eq!(&r.entries, &want);
        let found = beyond_http_doubts(&r.diagnostics);
        prop_assert_eq!(found.len(), 1);
        prop_assert_eq!(
            r.diagnostics.len(),
            1 + http_worded(&before) + http_worded(&after)
        );
        let d = found[0];
        prop_assert_eq!(d.severity, ResultSeverity::Error);
        prop_assert_eq!(d.index, before.len());
        prop_assert_eq!(&text[d.offset..d.offset + d.len], bad);
        prop_assert_eq!(d.text.as_str(), bad);
    }
}
