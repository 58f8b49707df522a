//! IP literals and prefixes as the PAC helpers read them: what `isPlainHostName`,
//! `isInNetEx` and `sortIpAddressList` accept, to the rules Chromium applies, so that a script
//! written for a browser (or for Windows' IPv6 extensions) answers here what it answers there.
//!
//! Pure and bounded: the helpers pass at most [`MAX_LITERAL_LEN`] bytes; longer text is never
//! an address.

use std::net::IpAddr;

/// The longest text read as an IP literal or a prefix, in bytes. The longest usual IPv6
/// literal is 45 bytes; a longer one is only possible with runs of leading zeros.
pub(crate) const MAX_LITERAL_LEN: usize = 255;

/// Whitespace trimmed around each half of a prefix (`"10.0.0.0 / 8"`), the ASCII set.
const BLANKS: &[char] = &[' ', '\t', '\n', '\u{b}', '\u{c}', '\r'];

/// `text` as an IP literal, or `None`.
///
/// Text holding a `:` is IPv6 (no brackets, no zone: `[::1]` and `fe80::1%eth0` are not
/// literals). Any other text is IPv4 in every form a URL host may take, as in Chromium: the
/// dotted quad, but also fewer parts (`127.1`), hexadecimal (`0x7f.1`) and octal (`0177.0.0.1`).
pub(crate) fn ip_literal(text: &str) -> Option<IpAddr> {
    if text.is_empty() || text.len() > MAX_LITERAL_LEN {
        return None;
    }
    if text.contains(':') {
        if text.contains(['[', ']']) {
            return None;
        }
        return match url::Host::parse(&format!("[{text}]")) {
            Ok(url::Host::Ipv6(a)) => Some(IpAddr::V6(a)),
            _ => None,
        };
    }
    // Only the characters an IPv4 literal can hold: the URL host parser would otherwise
    // percent-decode or map other characters into one first, which a PAC helper does not.
    if !text.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'.') {
        return None;
    }
    match url::Host::parse(text) {
        Ok(url::Host::Ipv4(a)) => Some(IpAddr::V4(a)),
        _ => None,
    }
}

/// `text` as `address/bits`, or `None`: an IP literal, a `/`, and a decimal number of bits no
/// larger than the address has, with blanks allowed around each half.
pub(crate) fn prefix(text: &str) -> Option<(IpAddr, u32)> {
    if text.len() > MAX_LITERAL_LEN {
        return None;
    }
    let (address, bits) = text.split_once('/')?;
    let bits = bits.trim_matches(BLANKS);
    if bits.is_empty() || !bits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let address = ip_literal(address.trim_matches(BLANKS))?;
    let bits: u32 = bits.parse().ok()?;
    let max = if address.is_ipv4() { 32 } else { 128 };
    (bits <= max).then_some((address, bits))
}

/// Whether `address` lies in `network/bits`. An IPv4 address and an IPv6 network (or the
/// reverse) are compared as IPv4-mapped IPv6 (`::ffff:a.b.c.d`), as Chromium does.
pub(crate) fn in_prefix(address: IpAddr, network: IpAddr, bits: u32) -> bool {
    match (address, network) {
        (IpAddr::V4(a), IpAddr::V4(n)) => same_top_bits(
            u128::from(a.to_bits()) << 96,
            u128::from(n.to_bits()) << 96,
            bits,
        ),
        (IpAddr::V6(a), IpAddr::V6(n)) => same_top_bits(a.to_bits(), n.to_bits(), bits),
        (IpAddr::V4(a), IpAddr::V6(n)) => {
            same_top_bits(a.to_ipv6_mapped().to_bits(), n.to_bits(), bits)
        }
        (IpAddr::V6(a), IpAddr::V4(n)) => {
            same_top_bits(a.to_bits(), n.to_ipv6_mapped().to_bits(), bits + 96)
        }
    }
}

fn same_top_bits(a: u128, b: u128, bits: u32) -> bool {
    let mask = u128::MAX.checked_shl(128 - bits.min(128)).unwrap_or(0);
    a & mask == b & mask
}

/// A key that orders addresses as `sortIpAddressList` does: every IPv6 address before every
/// IPv4 address, each family in ascending numeric order.
pub(crate) fn sort_key(address: IpAddr) -> String {
    match address {
        IpAddr::V6(a) => format!("0{:032x}", a.to_bits()),
        IpAddr::V4(a) => format!("1{:08x}", a.to_bits()),
    }
}

/// `addresses` as `dnsResolveEx` and `myIpAddressEx` answer them: separated by `;`, IPv6 in
/// its shortest form.
pub(crate) fn join(addresses: &[IpAddr]) -> String {
    let mut out = String::new();
    for (i, a) in addresses.iter().enumerate() {
        if i > 0 {
            out.push(';');
        }
        out.push_str(&a.to_string());
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn literals_follow_url_host_rules_for_ipv4_and_strict_rules_for_ipv6() {
        let cases: &[(&str, Option<&str>)] = &[
            ("192.168.1.1", Some("192.168.1.1")),
            ("127.1", Some("127.0.0.1")),
            ("0x7f.1", Some("127.0.0.1")),
            ("0X7F000001", Some("127.0.0.1")),
            ("0177.0.0.1", Some("127.0.0.1")),
            ("1234", Some("0.0.4.210")),
            ("1.2.3.4.", Some("1.2.3.4")),
            ("::1", Some("::1")),
            ("0:0::1", Some("::1")),
            ("::192.168.1.1", Some("::c0a8:101")),
            ("::ffff:192.168.100.5", Some("::ffff:192.168.100.5")),
            (
                "2001:4898:28:3:201:2ff:feea:fc14",
                Some("2001:4898:28:3:201:2ff:feea:fc14"),
            ),
            ("256.0.0.1", None),
            ("192.89.132.a", None),
            ("1.2.3.4 ", None),
            (" 1.2.3.4", None),
            ("%31.2.3.4", None),
            ("０.１.２.３", None),
            ("[::1]", None),
            ("[:]", None),
            (":", None),
            ("foopy::1", None),
            ("foo:112", None),
            ("0:0:0:1", None),
            ("fe80::1%eth0", None),
            ("google", None),
            ("", None),
        ];
        for (text, want) in cases {
            assert_eq!(ip_literal(text), want.map(ip), "{text:?}");
        }
        let long = format!("{}1.2.3.4", "0".repeat(MAX_LITERAL_LEN));
        assert_eq!(ip_literal(&long), None);
    }

    #[test]
    fn prefixes_need_a_literal_a_slash_and_a_length_that_fits() {
        assert_eq!(prefix("198.95.0.0/16"), Some((ip("198.95.0.0"), 16)));
        assert_eq!(
            prefix("3ffe:8311:ffff::/48"),
            Some((ip("3ffe:8311:ffff::"), 48))
        );
        assert_eq!(prefix(" 10.0.0.0 / 8 "), Some((ip("10.0.0.0"), 8)));
        assert_eq!(prefix("10.0.0.0/008"), Some((ip("10.0.0.0"), 8)));
        assert_eq!(prefix("::/128"), Some((ip("::"), 128)));
        for bad in [
            "198.95.0.0/34",
            "::1/129",
            "127.0.0.1",
            "127.0.0.1/",
            "/8",
            "10.0.0.0/8/8",
            "10.0.0.0/+8",
            "10.0.0.0/-1",
            "10.0.0.0/0x8",
            "10.0.0.0/99999999999999999999",
            "256.0.0.0/8",
        ] {
            assert_eq!(prefix(bad), None, "{bad}");
        }
    }

    #[test]
    fn membership_maps_ipv4_into_ipv6_when_the_families_differ() {
        let cases: &[(&str, &str, bool)] = &[
            ("198.95.249.79", "198.95.249.79/32", true),
            ("198.95.249.78", "198.95.249.79/32", false),
            ("198.95.1.1", "198.95.3.3/16", true),
            ("198.96.115.10", "198.95.0.0/16", false),
            ("10.1.2.3", "0.0.0.0/0", true),
            ("3ffe:8311:ffff:abcd::101", "3ffe:8311:ffff::/48", true),
            ("3fff:8311:ffff:abcd::101", "3ffe:8311:ffff::/48", false),
            ("::7f00:1", "::7f00:1/32", true),
            // IPv4 against an IPv6 network: 127.0.0.1 is ::ffff:7f00:1.
            ("127.0.0.1", "::7f00:1/16", true),
            ("192.168.24.3", "fe80::c0a8:1803/32", false),
            ("192.168.1.1", "::ffff:192.168.1.1/112", true),
            ("192.168.1.1", "::fffe:192.168.1.1/112", false),
            ("10.168.1.1", "::ffff:192.168.1.1/112", false),
            // IPv6 against an IPv4 network: the network becomes ::ffff:a.b.c.d/(96 + bits).
            ("::ffff:192.168.100.5", "192.168.1.1/16", true),
            ("::ffff:10.168.100.5", "192.168.1.1/16", false),
            ("::fffe:192.168.100.5", "192.168.1.1/16", false),
        ];
        for (address, net, want) in cases {
            let (n, bits) = prefix(net).unwrap();
            assert_eq!(
                in_prefix(ip_literal(address).unwrap(), n, bits),
                *want,
                "{address} in {net}"
            );
        }
    }

    mod properties {
        use super::*;
        use proptest::prelude::*;

        proptest! {
            #![proptest_config(ProptestConfig::with_cases(512))]

            /// Whatever the text, an answer and no panic; an address read back from its own
            /// spelling is itself; a prefix always fits its family.
            #[test]
            fn any_text_reads_consistently(text in "[0-9a-fA-FxX:./ \\[\\]%]{0,48}") {
                if let Some(a) = ip_literal(&text) {
                    prop_assert_eq!(ip_literal(&a.to_string()), Some(a));
                }
                if let Some((n, bits)) = prefix(&text) {
                    let max = if n.is_ipv4() { 32 } else { 128 };
                    prop_assert!(bits <= max);
                    prop_assert!(in_prefix(n, n, bits));
                }
            }

            #[test]
            fn membership_agrees_with_shifting(a in any::<u32>(), n in any::<u32>(), bits in 0u32..=32) {
                let (a4, n4) = (IpAddr::V4(a.into()), IpAddr::V4(n.into()));
                let want = bits == 0 || (a >> (32 - bits)) == (n >> (32 - bits));
                prop_assert_eq!(in_prefix(a4, n4, bits), want);
                // The same question across families gives the same answer.
                let n6 = IpAddr::V6(std::net::Ipv4Addr::from(n).to_ipv6_mapped());
                prop_assert_eq!(in_prefix(a4, n6, 96 + bits), want);
            }
        }
    }

    #[test]
    fn sort_keys_put_ipv6_first_then_ascending() {
        let mut list = [
            ip("157.59.139.22"),
            ip("2001:4898:28:3:201:2ff:feea:fc14"),
            ip("fe80::5efe:157:9d3b:8b16"),
            ip("10.0.0.1"),
            ip("::1"),
        ];
        list.sort_by_key(|a| sort_key(*a));
        assert_eq!(
            join(&list),
            "::1;2001:4898:28:3:201:2ff:feea:fc14;fe80::5efe:157:9d3b:8b16;10.0.0.1;157.59.139.22"
        );
    }
}
