//! [`NoProxy`]: a `no_proxy` list read and matched exactly as curl (≥ 8.18) does, with lookups
//! whose cost does not grow with the list.
//!
//! curl's rules, which this module states once and everything else relies on:
//! - `*` means "every host" only when it is the whole value; as one element of a list it is an
//!   ordinary name that matches nothing (noproxy.c compares the whole value with `"*"`).
//! - The value is split at commas; blanks (space, tab) around an entry are skipped, but a blank
//!   *between* two names ends the list (curl ≥ 8.9; 7.86 to 8.8 read the names after it too,
//!   and 7.88 to 8.8 say so in verbose output only): `localhost .example.com` is `localhost`.
//! - Host names: one trailing dot is ignored on the host and on the entry, then one leading dot
//!   on the entry; the entry matches the host itself or any host ending in `.` + entry;
//!   ASCII case-insensitive. Entries with a port, a path or a scheme therefore never match.
//! - IP hosts (IPv4, IPv6 bracketed or not) are matched only against IP entries: an address or
//!   `address/bits`. `/0` (and `/32`, `/128`) mean an exact match, as in curl; more bits than
//!   the family has never match. IPv6 entries must be unbracketed.
//!
//! Matching walks the host's label suffixes (one hash lookup per label) and, for IPs, one
//! lookup per prefix length present in the list (at most 33 or 129): a list of 10,000 entries
//! costs what a list of 10 does.

use std::borrow::Cow;
use std::collections::HashMap;
use std::fmt;
use std::hash::{BuildHasherDefault, Hasher};
use std::net::{Ipv4Addr, Ipv6Addr};

use serde::Serialize;

use super::no_proxy_entry::{IpEntry, curl_tokens, normalise_name, parse_ip_entry};
use super::no_proxy_lint::{NoProxyDiagnostic, blank_stop, diagnose, wildcard_not_alone};
use super::no_proxy_names::Names;
use super::redact::masks;

/// FxHash: the map keys are configuration, not attacker-chosen, and the hot path is a handful
/// of short-key lookups, where SipHash would dominate the cost.
#[derive(Default, Clone, Copy)]
struct FxHasher(u64);

impl Hasher for FxHasher {
    fn write(&mut self, bytes: &[u8]) {
        const K: u64 = 0x517c_c1b7_2722_0a95;
        let mut chunks = bytes.chunks_exact(8);
        for c in &mut chunks {
            let mut w = [0u8; 8];
            w.copy_from_slice(c);
            self.0 = (self.0.rotate_left(5) ^ u64::from_le_bytes(w)).wrapping_mul(K);
        }
        for &b in chunks.remainder() {
            self.0 = (self.0.rotate_left(5) ^ u64::from(b)).wrapping_mul(K);
        }
    }
    fn finish(&self) -> u64 {
        self.0
    }
}

type FastMap<K> = HashMap<K, u32, BuildHasherDefault<FxHasher>>;

/// A parsed `no_proxy` list with curl's matching. Parsing never fails: every rejected or
/// suspicious entry becomes a [`NoProxyDiagnostic`].
#[derive(Clone, Default, PartialEq, Eq)]
pub struct NoProxy {
    /// The entries curl reads, as written (blanks removed, credentials masked), in order. The
    /// raw text lives on only in the lookup maps, which nothing prints.
    entries: Vec<String>,
    /// The whole value is `*`.
    all: bool,
    /// Normalised name → the first entry in list order among that name and every shorter
    /// name it ends with (`.b.c`, `.c`) that the list also holds, with [`VIA_SUFFIX`] set when
    /// that entry is a shorter name. The longest of a host's suffixes found here therefore
    /// already names curl's answer: the walk stops at the first hit.
    domains: Names,
    /// Bit `k` is set when some name in `domains` has `k` labels (63: 63 or more), so a lookup
    /// keeps to the host's suffixes that could be present at all.
    label_counts: u64,
    v4_exact: FastMap<u32>,
    v4_nets: Vec<(u8, FastMap<u32>)>,
    v6_exact: FastMap<u128>,
    v6_nets: Vec<(u8, FastMap<u128>)>,
    diagnostics: Vec<NoProxyDiagnostic>,
}

/// How a host matched an entry.
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum MatchRule {
    /// The whole value is `*`.
    Wildcard,
    /// The host is the entry's name (leading and trailing dots aside).
    Domain,
    /// The host is within the entry's domain, at a label boundary.
    Subdomain,
    /// The host is the entry's IP address (also `/0`, `/32`, `/128`).
    Ip,
    /// The host's address is within the entry's CIDR block.
    Cidr,
}

impl MatchRule {
    /// The rule's stable name, e.g. `"subdomain"`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Wildcard => "wildcard",
            Self::Domain => "domain",
            Self::Subdomain => "subdomain",
            Self::Ip => "ip",
            Self::Cidr => "cidr",
        }
    }
}

/// Which entry matched a host, and by which rule. When several match, the first in list order
/// is reported, as curl stops there.
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct NoProxyMatch {
    /// The entry as written (credentials masked, see [`NoProxy::entries`]).
    pub entry: String,
    /// Its position among [`NoProxy::entries`].
    pub index: usize,
    /// How it matched.
    pub rule: MatchRule,
}

/// A host reduced to what curl compares.
enum HostKind<'a> {
    V4(u32),
    V6(u128),
    /// A lowercased name without its trailing dot, and its label count (dots + 1).
    Name(Cow<'a, str>, usize),
}

/// What [`classify`] notes of a byte.
const COLON: u8 = 1;
const UPPER: u8 = 2;
const NOT_DIGIT_OR_DOT: u8 = 4;
const BYTE_KINDS: [u8; 256] = {
    let mut t = [NOT_DIGIT_OR_DOT; 256];
    let mut b = 0;
    while b < 256 {
        t[b] = match b as u8 {
            b'0'..=b'9' | b'.' => 0,
            b':' => COLON | NOT_DIGIT_OR_DOT,
            b'A'..=b'Z' => UPPER | NOT_DIGIT_OR_DOT,
            _ => NOT_DIGIT_OR_DOT,
        };
        b += 1;
    }
    t
};

fn classify(host: &str) -> Option<HostKind<'_>> {
    if host.is_empty() {
        return None;
    }
    if let Some(inner) = host.strip_prefix('[') {
        let inner = inner.strip_suffix(']')?;
        return inner
            .parse::<Ipv6Addr>()
            .ok()
            .map(|a| HostKind::V6(a.into()));
    }
    // One pass says what the host can be: only digits and dots can be an IPv4 address and only
    // a string with a colon an IPv6 one, so names skip both parsers; it also counts the labels
    // and sees whether lowercasing is needed. In short lists this pass is most of a lookup.
    // One table load per byte and no branch: a `match` here compiled to a chain of compares
    // and jumps whose speed moved with code placement.
    let (mut dots, mut seen) = (0usize, 0u8);
    for &c in host.as_bytes() {
        dots += usize::from(c == b'.');
        seen |= BYTE_KINDS[usize::from(c)];
    }
    let colon = seen & COLON != 0;
    let upper = seen & UPPER != 0;
    let digits_and_dots = seen & NOT_DIGIT_OR_DOT == 0;
    if colon {
        if let Ok(a) = host.parse::<Ipv6Addr>() {
            return Some(HostKind::V6(a.into()));
        }
    } else if digits_and_dots && let Ok(a) = host.parse::<Ipv4Addr>() {
        return Some(HostKind::V4(a.into()));
    }
    let name = match host.strip_suffix('.') {
        Some(n) => {
            dots -= 1;
            n
        }
        None => host,
    };
    let name = if upper {
        Cow::Owned(name.to_ascii_lowercase())
    } else {
        Cow::Borrowed(name)
    };
    Some(HostKind::Name(name, dots + 1))
}

/// Keeps the hit with the lowest entry index: curl stops at the first entry in list order.
fn offer(best: &mut Option<(u32, MatchRule)>, hit: Option<&u32>, rule: MatchRule) {
    if let Some(&i) = hit
        && best.is_none_or(|(b, _)| i < b)
    {
        *best = Some((i, rule));
    }
}

/// Labels in a name as the suffix walk counts them: one more than its dots.
fn label_count(name: &str) -> usize {
    name.bytes().filter(|&b| b == b'.').count() + 1
}

fn label_bit(labels: usize) -> u64 {
    1u64 << labels.min(63)
}

/// The bits of every label count below `labels` (all bits once counts share bit 63).
fn fewer_labels(labels: usize) -> u64 {
    if labels > 63 {
        u64::MAX
    } else {
        label_bit(labels) - 1
    }
}

/// Marks a [`NoProxy::domains`] value whose entry is a shorter name than the key.
const VIA_SUFFIX: u32 = 1 << 31;

fn mask32(bits: u8) -> u32 {
    u32::MAX.checked_shl(32 - u32::from(bits)).unwrap_or(0)
}
fn mask128(bits: u8) -> u128 {
    u128::MAX.checked_shl(128 - u32::from(bits)).unwrap_or(0)
}

/// Like [`NoProxy::parse`]: never fails.
impl std::str::FromStr for NoProxy {
    type Err = std::convert::Infallible;

    fn from_str(value: &str) -> Result<Self, Self::Err> {
        Ok(Self::parse(value))
    }
}

impl NoProxy {
    /// Parses an environment value (`NO_PROXY`): comma-separated, curl's blank rule, `*` only
    /// as the whole value. Never fails.
    pub fn parse(value: &str) -> Self {
        let mut list = Self::default();
        if value == "*" {
            list.all = true;
            list.entries.push("*".to_owned());
            return list;
        }
        list.push_value(value);
        list.finish()
    }

    /// Reads one value as curl does. Entries are kept (and diagnosed) in their printed form:
    /// a URL-shaped entry's credentials are masked across the whole value, since a password
    /// may hold the commas and blanks that split it.
    fn push_value(&mut self, value: &str) {
        let masks = masks::list(value);
        let shown = |part: &str| {
            let at = part.as_ptr() as usize - value.as_ptr() as usize;
            masks.apply_within(value, at..at + part.len())
        };
        let (tokens, rest) = curl_tokens(value);
        for t in tokens {
            self.push(t, shown(t));
        }
        if let Some(rest) = rest {
            self.diagnostics.push(blank_stop(&shown(rest)));
        }
    }

    /// Builds from a list of entries (a config array). A list whose only entry is `*` matches
    /// every host; otherwise each entry is read as curl reads one `NO_PROXY` value (so a comma
    /// inside an entry separates names and a blank between names ends that entry). Never fails.
    pub fn from_entries<'a>(entries: impl IntoIterator<Item = &'a str>) -> Self {
        Self::from_entries_with_sources(entries).0
    }

    /// [`NoProxy::from_entries`], also saying which entry (by index) each of
    /// [`NoProxy::diagnostics`] is about, so lint places every finding in one step even when a
    /// list holds a hundred thousand entries.
    pub(crate) fn from_entries_with_sources<'a>(
        entries: impl IntoIterator<Item = &'a str>,
    ) -> (Self, Vec<usize>) {
        let entries: Vec<&str> = entries.into_iter().collect();
        let mut list = Self::default();
        if entries.len() == 1 && entries[0].trim_matches([' ', '\t']) == "*" {
            list.all = true;
            list.entries.push("*".to_owned());
            return (list, Vec::new());
        }
        let mut sources = Vec::new();
        for (i, e) in entries.into_iter().enumerate() {
            list.push_value(e);
            sources.resize(list.diagnostics.len(), i);
        }
        (list.finish(), sources)
    }

    /// Adds one entry: `token` as curl compares it, `shown` as it is printed and diagnosed
    /// (the same text unless it holds credentials).
    fn push(&mut self, token: &str, shown: String) {
        let index = u32::try_from(self.entries.len()).unwrap_or(u32::MAX);
        if token == "*" {
            self.diagnostics.push(wildcard_not_alone());
        } else if let Some(d) = diagnose(&shown) {
            self.diagnostics.push(d);
        }
        self.entries.push(shown);
        // Every entry is compared as a name when the host is a name, as curl does; names that
        // cannot occur in a URL host simply never get looked up.
        let name = normalise_name(token);
        self.label_counts |= label_bit(label_count(&name));
        self.domains.insert_first(&name, index);
        match parse_ip_entry(token) {
            Some(IpEntry::V4(addr, Some(bits))) if bits <= 32 => {
                let a = u32::from(addr);
                if bits == 0 || bits == 32 {
                    self.v4_exact.entry(a).or_insert(index);
                } else {
                    let bits = bits as u8;
                    net_map(&mut self.v4_nets, bits)
                        .entry(a & mask32(bits))
                        .or_insert(index);
                }
            }
            Some(IpEntry::V6(addr, Some(bits))) if bits <= 128 => {
                let a = u128::from(addr);
                if bits == 0 || bits == 128 {
                    self.v6_exact.entry(a).or_insert(index);
                } else {
                    let bits = bits as u8;
                    net_map(&mut self.v6_nets, bits)
                        .entry(a & mask128(bits))
                        .or_insert(index);
                }
            }
            _ => {}
        }
    }

    fn finish(mut self) -> Self {
        self.v4_nets.sort_by_key(|(b, _)| *b);
        self.v6_nets.sort_by_key(|(b, _)| *b);
        // Fold each name's shorter names into its value (see `domains`); indices stay far
        // below the flag bit (a list of 2^31 entries cannot be held in memory).
        let folded: Vec<(usize, u32)> = self
            .domains
            .iter()
            .filter_map(|(place, name, own)| {
                let best = name
                    .match_indices('.')
                    .filter_map(|(i, _)| self.domains.get(&name[i + 1..]))
                    .map(|v| v & !VIA_SUFFIX)
                    .min()
                    .filter(|&s| s < own)?;
                Some((place, best | VIA_SUFFIX))
            })
            .collect();
        for (place, v) in folded {
            self.domains.set(place, v);
        }
        self
    }

    /// The entry that makes curl bypass the proxy for `host`, if any. `host` is a URL's host
    /// without port: a name, an IPv4 address, or an IPv6 address with or without brackets.
    pub fn matches(&self, host: &str) -> Option<NoProxyMatch> {
        let (index, rule) = self.find(host, false)?;
        let entry = self.entries.get(index)?.clone();
        Some(NoProxyMatch { entry, index, rule })
    }

    /// The position of the entry [`NoProxy::matches`] reports for `host`, without copying it:
    /// the routing decision keeps the index and names the entry only when explaining.
    pub(crate) fn first_match(&self, host: &str) -> Option<usize> {
        self.find(host, false).map(|(i, _)| i)
    }

    /// Whether curl bypasses the proxy for `host` (the same decision as [`NoProxy::matches`],
    /// without building the answer).
    pub fn is_match(&self, host: &str) -> bool {
        self.find(host, true).is_some()
    }

    /// The first entry in list order that matches `host`, or with `any`, whichever matching
    /// entry is found first (same decision, less work).
    fn find(&self, host: &str, any: bool) -> Option<(usize, MatchRule)> {
        let kind = classify(host)?;
        if self.all {
            return Some((0, MatchRule::Wildcard));
        }
        let mut best: Option<(u32, MatchRule)> = None;
        match kind {
            HostKind::Name(name, labels) => best = self.find_name(&name, labels),
            HostKind::V4(a) => {
                offer(&mut best, self.v4_exact.get(&a), MatchRule::Ip);
                for (bits, map) in &self.v4_nets {
                    if any && best.is_some() {
                        break;
                    }
                    offer(&mut best, map.get(&(a & mask32(*bits))), MatchRule::Cidr);
                }
            }
            HostKind::V6(a) => {
                offer(&mut best, self.v6_exact.get(&a), MatchRule::Ip);
                for (bits, map) in &self.v6_nets {
                    if any && best.is_some() {
                        break;
                    }
                    offer(&mut best, map.get(&(a & mask128(*bits))), MatchRule::Cidr);
                }
            }
        }
        best.map(|(i, r)| (i as usize, r))
    }

    /// The first entry in list order that matches the name `name` (lowercase, no trailing
    /// dot) of `labels` labels. The host itself, then its suffixes, longest first, only while
    /// a name of that many labels exists; the first hit is the answer (see `domains`).
    fn find_name(&self, name: &str, mut labels: usize) -> Option<(u32, MatchRule)> {
        if self.domains.is_empty() {
            return None;
        }
        let hit = |key: &str, rule| {
            self.domains.get(key).map(|v| {
                if v & VIA_SUFFIX != 0 {
                    (v & !VIA_SUFFIX, MatchRule::Subdomain)
                } else {
                    (v, rule)
                }
            })
        };
        if self.label_counts & label_bit(labels) != 0
            && let Some(found) = hit(name, MatchRule::Domain)
        {
            return Some(found);
        }
        // Dot to dot, while a shorter name could be present.
        let mut rest = name;
        while self.label_counts & fewer_labels(labels) != 0 {
            let Some(dot) = rest.bytes().position(|c| c == b'.') else {
                break;
            };
            rest = &rest[dot + 1..];
            labels -= 1;
            if self.label_counts & label_bit(labels) != 0
                && let Some(found) = hit(rest, MatchRule::Subdomain)
            {
                return Some(found);
            }
        }
        None
    }

    /// [`NoProxy::first_match`] for a host the caller already read as a lowercase name (not an
    /// IP address in any form) without a trailing dot, with its label count.
    pub(crate) fn first_match_name(&self, name: &str, labels: usize) -> Option<usize> {
        if self.all {
            return Some(0);
        }
        self.find_name(name, labels).map(|(i, _)| i as usize)
    }

    /// Diagnostics for rejected or suspicious entries, in list order.
    pub fn diagnostics(&self) -> &[NoProxyDiagnostic] {
        &self.diagnostics
    }

    /// The entries curl reads, as written, in order (`["*"]` for the wildcard value). The
    /// userinfo of a URL-shaped entry is masked (`http://***@host/`): it is never a host name.
    pub fn entries(&self) -> &[String] {
        &self.entries
    }

    /// Whether the whole value is `*`: every host bypasses the proxy.
    pub fn is_wildcard(&self) -> bool {
        self.all
    }

    /// Whether the list has no entries (matches nothing).
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// The number of entries.
    pub fn len(&self) -> usize {
        self.entries.len()
    }
}

fn net_map<K>(nets: &mut Vec<(u8, FastMap<K>)>, bits: u8) -> &mut FastMap<K> {
    let pos = match nets.iter().position(|(b, _)| *b == bits) {
        Some(p) => p,
        None => {
            nets.push((bits, FastMap::default()));
            nets.len() - 1
        }
    };
    &mut nets[pos].1
}

impl fmt::Debug for NoProxy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("NoProxy")
            .field("entries", &self.entries)
            .field("diagnostics", &self.diagnostics.len())
            .finish()
    }
}

impl fmt::Display for NoProxy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.entries.join(","))
    }
}

impl Serialize for NoProxy {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        self.entries.serialize(s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// curl's own table (tests/unit/unit1614.c), restated: (host, list, match).
    #[test]
    fn curl_unit_1614_cases() {
        let long128 = "localhost,127.0.0.1.127.0.0.1.127.0.0.1.127.0.0.1.127.0.0.1.127.0.0.1.\
                       127.0.0.1.127.0.0.1.127.0.0.1.127.0.0.1.127.0.0.1.127.0.0.1.127.0.0.";
        let cases: &[(&str, &str, bool)] = &[
            (
                "www.example.com",
                "localhost .example.com .example.de",
                false,
            ),
            ("localhost", "localhost .example.com .example.de", true),
            (
                "www.example.com",
                "localhost,.example.com,.example.de",
                true,
            ),
            (
                "www.example.com.",
                "localhost,.example.com,.example.de",
                true,
            ),
            ("example.com", "localhost,.example.com,.example.de", true),
            ("example.com.", "localhost,.example.com,.example.de", true),
            (
                "www.example.com",
                "localhost,.example.com.,.example.de",
                true,
            ),
            (
                "www.example.com",
                "localhost,www.example.com.,.example.de",
                true,
            ),
            ("example.com", "localhost,example.com,.example.de", true),
            ("example.com.", "localhost,example.com,.example.de", true),
            ("nexample.com", "localhost,example.com,.example.de", false),
            ("www.example.com", "localhost,example.com,.example.de", true),
            ("127.0.0.1", "127.0.0.1,localhost", true),
            ("127.0.0.1", "127.0.0.1,localhost,", true),
            ("127.0.0.1", "127.0.0.1/8,localhost,", true),
            ("127.0.0.1", "127.0.0.1/28,localhost,", true),
            ("127.0.0.1", "127.0.0.1/31,localhost,", true),
            ("127.0.0.1", "localhost,127.0.0.1", true),
            ("127.0.0.1", long128, false),
            ("localhost", "localhost,127.0.0.1", true),
            ("localhost", "127.0.0.1,localhost", true),
            ("foobar", "barfoo", false),
            ("foobar", "foobar", true),
            ("192.168.0.1", "foobar", false),
            ("192.168.0.1", "192.168.0.0/16", true),
            ("192.168.0.1", "192.168.0.0/24", true),
            ("192.168.0.1", "192.168.0.0/32", false),
            ("192.168.0.1", "192.168.0.0", false),
            ("192.168.1.1", "192.168.0.0/24", false),
            ("192.168.1.1", "foo, bar, 192.168.0.0/24", false),
            ("192.168.1.1", "foo, bar, 192.168.0.0/16", true),
            ("[::1]", "foo, bar, 192.168.0.0/16", false),
            ("[::1]", "foo, bar, ::1/64", true),
            ("::1", "foo, bar, ::1/64", true),
            ("bar", "foo, bar, ::1/64", true),
            ("BAr", "foo, bar, ::1/64", true),
            ("BAr", "foo,,,,,              bar, ::1/64", true),
            ("www.example.com", "foo, .example.com", true),
            ("www.example.com", "www2.example.com, .example.net", false),
            ("example.com", ".example.com, .example.net", true),
            ("nonexample.com", ".example.com, .example.net", false),
        ];
        for (host, list, want) in cases {
            assert_eq!(
                NoProxy::parse(list).is_match(host),
                *want,
                "{host} in {list:?}"
            );
        }
    }

    /// The fast paths (IP parsers skipped for names, suffixes filtered by label count, the
    /// early stop of `is_match`) must not change a single decision.
    #[test]
    fn fast_paths_keep_every_decision() {
        let deep = vec!["a"; 70].join(".");
        let list = format!(
            "example.com,.b.example.org,1.2.3,.,x:y,{deep},10.0.0.0/8,10.1.0.0/16,::1/64,fd00::1"
        );
        let l = NoProxy::parse(&list);
        let cases: &[(&str, bool)] = &[
            ("example.com", true),
            ("a.b.c.example.com", true),
            ("EXAMPLE.COM.", true),
            ("b.example.org", true),
            ("x.b.example.org", true),
            ("example.org", false),
            ("1.2.3", true),
            ("0.1.2.3", false), // an IPv4 address: names never match it
            ("1.2.3.4", false),
            ("1.2.3.4.5", false),
            ("x:y", true),
            ("q.x:y", true),
            (&deep, true),
            ("z.a.a.a", false),
            ("10.1.2.3", true),
            ("11.1.2.3", false),
            ("::1", true),
            ("[::2]", true),
            ("[fd00::1]", true),
            ("fd00::2", false),
            ("com", false),
        ];
        let deeper = format!("z.{deep}");
        for (host, want) in cases.iter().copied().chain([(deeper.as_str(), true)]) {
            assert_eq!(l.is_match(host), want, "is_match({host:?})");
            assert_eq!(l.matches(host).is_some(), want, "matches({host:?})");
        }
        // `.` names the empty domain, which only the empty name (host `.`) reaches.
        assert_eq!(
            l.matches(".").map(|m| (m.entry, m.rule)),
            Some((".".to_owned(), MatchRule::Domain))
        );
        // The first entry in list order is still the one reported when several match.
        let l = NoProxy::parse("c.b.a,b.a,a");
        let m = l.matches("x.c.b.a").map(|m| (m.index, m.rule));
        assert_eq!(m, Some((0, MatchRule::Subdomain)));
        let l = NoProxy::parse("a,b.a,c.b.a");
        let m = l.matches("x.c.b.a").map(|m| (m.index, m.rule));
        assert_eq!(m, Some((0, MatchRule::Subdomain)));
    }

    #[test]
    fn reports_first_matching_entry_and_rule() {
        let l = NoProxy::parse("a.example.com,example.com,10.0.0.0/8,10.1.2.3");
        let m = l.matches("x.a.example.com").unwrap();
        assert_eq!(
            (m.entry.as_str(), m.index, m.rule),
            ("a.example.com", 0, MatchRule::Subdomain)
        );
        let m = l.matches("example.com").unwrap();
        assert_eq!(
            (m.entry.as_str(), m.rule),
            ("example.com", MatchRule::Domain)
        );
        let m = l.matches("10.1.2.3").unwrap();
        assert_eq!((m.entry.as_str(), m.rule), ("10.0.0.0/8", MatchRule::Cidr));
        let l = NoProxy::parse("example.com,a.example.com");
        assert_eq!(l.matches("a.example.com").unwrap().entry, "example.com");
    }

    #[test]
    fn tokens_follow_curls_loop() {
        let cases: &[(&str, &[&str], Option<&str>)] = &[
            ("a,b", &["a", "b"], None),
            (" a , b ,", &["a", "b"], None),
            ("a,,,b", &["a", "b"], None),
            ("a b", &["a"], Some("b")),
            ("a\tb,c", &["a"], Some("b,c")),
            ("a, b c, d ", &["a", "b"], Some("c, d")),
            ("", &[], None),
            (",,", &[], None),
        ];
        for (value, tokens, rest) in cases {
            let (t, r) = curl_tokens(value);
            assert_eq!((t.as_slice(), r), (*tokens, *rest), "{value:?}");
        }
    }

    #[test]
    fn credentials_in_entries_never_print_whatever_the_password_holds() {
        for pass in [
            "Pw9",
            "Pw9 Xk4",
            "Pw9,Xk4",
            "Pw9=Xk4;'Xk4]",
            "Pw9/Xk4@Xk4",
            "Pw9 ,Xk4",
        ] {
            let value = format!("localhost,http://us3r:{pass}@x.test/,10.0.0.0/8");
            for list in [
                NoProxy::parse(&value),
                NoProxy::from_entries([value.as_str()]),
            ] {
                let diags: Vec<String> = list
                    .diagnostics()
                    .iter()
                    .map(|d| format!("{d} {d:?}"))
                    .collect();
                let text = format!(
                    "{list} {list:?} {} {:?} {diags:?}",
                    serde_json::to_string(&list).unwrap_or_default(),
                    list.entries()
                );
                for part in ["Pw9", "Xk4", "us3r"] {
                    assert!(!text.contains(part), "{pass}: {text}");
                }
                assert!(list.is_match("localhost"), "{value}");
            }
        }
    }

    #[test]
    fn equal_lists_compare_equal_and_serialize_as_entries() {
        assert_eq!(NoProxy::parse("a, b"), NoProxy::from_entries(["a", "b"]));
        assert_eq!(
            serde_json::to_string(&NoProxy::parse("a,.b"))
                .ok()
                .as_deref(),
            Some(r#"["a",".b"]"#)
        );
        assert!(NoProxy::from_entries(["*"]).is_wildcard());
        assert!(!NoProxy::from_entries(["*", "a"]).is_wildcard());
    }

    #[test]
    fn url_shaped_entries_never_print_credentials() {
        let l = NoProxy::parse("a.test,http://user:s3cret@b.test/");
        let text = format!(
            "{l} {l:?} {} {:?}",
            serde_json::to_string(&l).unwrap_or_default(),
            l.diagnostics()
        );
        assert!(
            !text.contains("s3cret") && !text.contains("user:"),
            "{text}"
        );
        assert_eq!(l.diagnostics()[0].entry, "http://***@b.test/");
    }
}
