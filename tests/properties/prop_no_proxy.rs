//! Property tests of `NoProxy` (bounded case counts, run in CI): parsing never panics, every
//! printed form works, and curl's equivalences hold — ASCII case on either side, one trailing
//! dot on the host or the entry, one leading dot on the entry — and matching happens only at a
//! label boundary.

use proptest::prelude::*;
use proxyscope::NoProxy;
use proxyscope::proxy::MatchRule;

/// Labels from a small alphabet, so hosts and entries share suffixes often.
fn label() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("a".to_owned()),
        Just("ex".to_owned()),
        Just("com".to_owned()),
        Just("svc".to_owned()),
        Just("Ex".to_owned()),
        "[a-z0-9][a-z0-9-]{0,6}",
    ]
}

fn name(max_labels: usize) -> impl Strategy<Value = String> {
    joined(label(), max_labels)
}

/// One to `max_labels` labels of `label`, joined with dots.
fn joined(
    label: impl Strategy<Value = String>,
    max_labels: usize,
) -> impl Strategy<Value = String> {
    prop::collection::vec(label, 1..=max_labels).prop_map(|l| l.join("."))
}

fn ascii_flip_case(s: &str, mask: u64) -> String {
    s.chars()
        .enumerate()
        .map(|(i, c)| {
            if mask >> (i % 64) & 1 == 1 {
                c.to_ascii_uppercase()
            } else {
                c.to_ascii_lowercase()
            }
        })
        .collect()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn any_text_parses_and_prints(value in "\\PC{0,64}", host in "\\PC{0,32}") {
        for list in [NoProxy::parse(&value), NoProxy::from_entries(value.split(';'))] {
            let _ = list.to_string();
            let _ = format!("{list:?}");
            prop_assert!(serde_json::to_string(&list).is_ok());
            prop_assert_eq!(list.len(), list.entries().len());
            let m = list.matches(&host);
            prop_assert_eq!(m.is_some(), list.is_match(&host));
            if let Some(m) = m {
                prop_assert_eq!(list.entries().get(m.index), Some(&m.entry));
            }
            for d in list.diagnostics() {
                prop_assert!(!d.to_string().is_empty());
            }
        }
    }

    #[test]
    fn ascii_case_never_matters(
        entries in prop::collection::vec(name(3), 1..5),
        host in name(4),
        m1 in any::<u64>(),
        m2 in any::<u64>(),
    ) {
        let value = entries.join(",");
        let list = NoProxy::parse(&value);
        let flipped_list = NoProxy::parse(&ascii_flip_case(&value, m1));
        let flipped_host = ascii_flip_case(&host, m2);
        let want = list.is_match(&host);
        prop_assert_eq!(list.is_match(&flipped_host), want);
        prop_assert_eq!(flipped_list.is_match(&host), want);
        prop_assert_eq!(flipped_list.is_match(&flipped_host), want);
    }

    #[test]
    fn one_trailing_dot_and_one_leading_dot_are_ignored(
        entries in prop::collection::vec(name(3), 1..5),
        host in name(4),
        dots in any::<u8>(),
    ) {
        let plain = NoProxy::parse(&entries.join(","));
        let dotted: Vec<String> = entries
            .iter()
            .enumerate()
            .map(|(i, e)| match (dots >> (i % 8)) & 3 {
                0 => e.clone(),
                1 => format!(".{e}"),
                2 => format!("{e}."),
                _ => format!(".{e}."),
            })
            .collect();
        let dotted = NoProxy::parse(&dotted.join(","));
        let want = plain.is_match(&host);
        prop_assert_eq!(dotted.is_match(&host), want);
        prop_assert_eq!(plain.is_match(&format!("{host}.")), want);
        prop_assert_eq!(dotted.is_match(&format!("{host}.")), want);
    }

    #[test]
    fn an_entry_matches_itself_and_subdomains_at_label_boundaries_only(
        entry in name(3),
        sub in label(),
        glue in "[a-z0-9-]{1,4}",
    ) {
        let list = NoProxy::parse(&entry);
        let m = list.matches(&entry).expect("an entry matches its own name");
        prop_assert_eq!(m.rule, MatchRule::Domain);
        let below = format!("{sub}.{entry}");
        prop_assert_eq!(list.matches(&below).map(|m| m.rule), Some(MatchRule::Subdomain));
        // Glued on without a dot, the host is a different name.
        let glued = format!("{glue}{entry}");
        let glued_matches = list.is_match(&glued);
        prop_assert!(!glued_matches, "{} matched {}", entry, glued);
    }

    #[test]
    fn the_first_matching_entry_is_reported(
        entries in prop::collection::vec(name(2), 1..6),
        host in name(3),
    ) {
        let list = NoProxy::parse(&entries.join(","));
        if let Some(m) = list.matches(&host) {
            for earlier in &list.entries()[..m.index] {
                let alone = NoProxy::parse(earlier);
                prop_assert!(!alone.is_match(&host), "{} also matches {}", earlier, host);
            }
            prop_assert!(NoProxy::parse(&m.entry).is_match(&host));
        } else {
            for e in list.entries() {
                prop_assert!(!NoProxy::parse(e).is_match(&host));
            }
        }
    }

    #[test]
    fn entries_with_a_port_never_match(entry in name(3), port in 1u16..) {
        let list = NoProxy::parse(&format!("{entry}:{port}"));
        prop_assert!(!list.is_match(&entry));
        let below = format!("www.{entry}");
        prop_assert!(!list.is_match(&below));
    }

    #[test]
    fn ipv4_cidr_matches_exactly_the_block(a in any::<u32>(), b in any::<u32>(), bits in 1u32..32) {
        let net = std::net::Ipv4Addr::from(a);
        let host = std::net::Ipv4Addr::from(b);
        let mask = u32::MAX << (32 - bits);
        let list = NoProxy::parse(&format!("{net}/{bits}"));
        prop_assert_eq!(list.is_match(&host.to_string()), a & mask == b & mask);
        let exact = NoProxy::parse(&net.to_string());
        prop_assert_eq!(exact.is_match(&host.to_string()), a == b);
    }
}

/// Lowercase labels only (no digits: a name of digits could read as an IPv4 address), from a
/// small alphabet so that entries and hosts share suffixes often.
fn plain_label() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("a".to_owned()),
        Just("ex".to_owned()),
        Just("com".to_owned()),
        Just("svc".to_owned()),
        "[a-z][a-z-]{0,5}",
    ]
}

fn plain_name(max_labels: usize) -> impl Strategy<Value = String> {
    joined(plain_label(), max_labels)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    /// A long list answers as a scan of its entries in order would: the first entry that is the
    /// host or a parent domain of it at a label boundary. Hosts include entries themselves,
    /// subdomains of entries and unrelated names; lists are long enough that the lookup table
    /// grows several times.
    #[test]
    fn long_lists_answer_as_a_scan_in_order_does(
        entries in prop::collection::vec(plain_name(5), 20..300),
        picks in prop::collection::vec((any::<prop::sample::Index>(), plain_name(3), 0u8..3), 1..40),
    ) {
        let list = NoProxy::parse(&entries.join(","));
        let scan = |host: &str| {
            entries
                .iter()
                .position(|e| host == e || host.ends_with(&format!(".{e}")))
        };
        for (at, other, how) in picks {
            let entry = at.get(&entries);
            let host = match how {
                0 => entry.clone(),
                1 => format!("{other}.{entry}"),
                _ => other,
            };
            prop_assert_eq!(
                list.matches(&host).map(|m| m.index),
                scan(&host),
                "host {}",
                host
            );
            prop_assert_eq!(list.is_match(&host), scan(&host).is_some(), "host {}", host);
        }
    }
}
