//! How curl reads a `no_proxy` value and each entry in it: the tokens a value splits into (and
//! the text a blank cut off), the name an entry compares as, and an entry read as an IP address
//! with its prefix length. Shared by the matcher ([`NoProxy`](super::NoProxy)) and its lint, so
//! both read an entry the same way.

use std::net::{Ipv4Addr, Ipv6Addr};

/// The name curl compares for an entry: one trailing dot, then one leading dot removed.
pub(crate) fn normalise_name(token: &str) -> String {
    let t = token.strip_suffix('.').unwrap_or(token);
    let t = t.strip_prefix('.').unwrap_or(t);
    t.to_ascii_lowercase()
}

/// An IP entry as curl reads it for IP hosts: the address and the prefix length (`None` when
/// the bits are missing or malformed, so the entry can never match).
pub(crate) enum IpEntry {
    V4(Ipv4Addr, Option<u32>),
    V6(Ipv6Addr, Option<u32>),
}

pub(crate) fn parse_ip_entry(token: &str) -> Option<IpEntry> {
    let (addr, bits) = match token.split_once('/') {
        Some((a, b)) => {
            // curl accepts only plain digits up to 128 after the slash.
            let bits = (!b.is_empty() && b.bytes().all(|c| c.is_ascii_digit()))
                .then(|| b.parse::<u32>().ok())
                .flatten()
                .filter(|n| *n <= 128);
            (a, Some(bits))
        }
        None => (token, None),
    };
    if let Ok(a) = addr.parse::<Ipv4Addr>() {
        return Some(IpEntry::V4(a, bits.unwrap_or(Some(0))));
    }
    if let Ok(a) = addr.parse::<Ipv6Addr>() {
        return Some(IpEntry::V6(a, bits.unwrap_or(Some(0))));
    }
    None
}

/// Splits a value into the tokens curl reads and the text after a blank that ended the list.
pub(crate) fn curl_tokens(value: &str) -> (Vec<&str>, Option<&str>) {
    let b = value.as_bytes();
    let blank = |c: u8| c == b' ' || c == b'\t';
    let (mut tokens, mut rest, mut i) = (Vec::new(), None, 0);
    while i < b.len() {
        while i < b.len() && blank(b[i]) {
            i += 1;
        }
        let start = i;
        while i < b.len() && !blank(b[i]) && b[i] != b',' {
            i += 1;
        }
        if i > start {
            tokens.push(&value[start..i]);
        }
        while i < b.len() && blank(b[i]) {
            i += 1;
        }
        if i < b.len() && b[i] != b',' {
            rest = Some(value[i..].trim_end_matches([' ', '\t']));
            break;
        }
        while i < b.len() && b[i] == b',' {
            i += 1;
        }
    }
    (tokens, rest)
}
