//! Diagnostics for `no_proxy` entries: why an entry can never match under curl's rules, or
//! means something different to another tool, and the fix. Produced while a [`NoProxy`] is
//! parsed, so a list never fails to load and never drops an entry without a word.
//!
//! [`NoProxy`]: super::NoProxy

use std::fmt;
use std::net::{IpAddr, Ipv6Addr};

use serde::Serialize;

use super::no_proxy_entry::{IpEntry, normalise_name, parse_ip_entry};
use super::peers::{PeerNote, Tool, entry_notes};
use super::redact::redact_text;
use crate::diagnostic::Severity;

/// What is wrong with a `no_proxy` entry, as a stable machine-readable reason.
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum NoProxyIssue {
    /// A URL (`http://host/`) instead of a host name: never matches.
    UrlShaped,
    /// A path after the name (`host/api`): never matches.
    HasPath,
    /// A port (`host:8080`): curl never matches entries with a port.
    HasPort,
    /// Names after a blank that ended the list (curl ≥ 8.9): ignored.
    BlankSeparated,
    /// `*` as one element of a list: matches nothing in curl.
    WildcardNotAlone,
    /// `*.d` or `*d`: curl has no wildcard patterns; never matches.
    WildcardPrefix,
    /// `[v6]`: curl matches only unbracketed IPv6 entries.
    BracketedIpv6,
    /// `addr/bits` with bits missing, not a number or too large: never matches.
    InvalidCidr,
    /// `addr/0`: curl matches only that exact address, other tools every address.
    CidrZeroIsExact,
    /// `10.0.0.1/8`: host bits are set; curl ignores them (matches 10.0.0.0/8).
    CidrHostBits,
    /// Digits and dots that are not an IPv4 address (`10.`, `192.168`, `192.168/16`): never
    /// matches an IP.
    PartialIp,
    /// An IPv4 address with leading zeros or hexadecimal parts (`010.0.0.1`, `0x0a.0.0.0/8`):
    /// curl reads it as a name, so it never matches; other tools read it as an address, each
    /// its own way.
    Ipv4Form,
    /// Non-ASCII name: curl compares bytes, and URL hosts are punycode.
    NonAscii,
    /// Characters no host name has: never matches.
    InvalidChars,
    /// Empty after curl strips the dots (`.`, `..`) or contains an empty label: never matches.
    NeverMatches,
    /// `.d`: curl matches `d` itself too; Go, Node and wget match only subdomains.
    LeadingDot,
    /// `d.`: curl ignores the trailing dot; Go and hyper-util do not.
    TrailingDot,
    /// An IPv6 block (`fd00::/8`), or an IPv6 address not written as URLs write it
    /// (`fd00:0::5`, `fd00::0005`): curl before 8.18 compares an IPv6 host as text, so it never
    /// matches there (curl ≥ 8.18 and proxyscope match it as an address).
    Ipv6OlderCurl,
}

impl NoProxyIssue {
    /// The stable code, e.g. `"url_shaped"`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::UrlShaped => "url_shaped",
            Self::HasPath => "has_path",
            Self::HasPort => "has_port",
            Self::BlankSeparated => "blank_separated",
            Self::WildcardNotAlone => "wildcard_not_alone",
            Self::WildcardPrefix => "wildcard_prefix",
            Self::BracketedIpv6 => "bracketed_ipv6",
            Self::InvalidCidr => "invalid_cidr",
            Self::CidrZeroIsExact => "cidr_zero_is_exact",
            Self::CidrHostBits => "cidr_host_bits",
            Self::PartialIp => "partial_ip",
            Self::Ipv4Form => "ipv4_form",
            Self::NonAscii => "non_ascii",
            Self::InvalidChars => "invalid_chars",
            Self::NeverMatches => "never_matches",
            Self::LeadingDot => "leading_dot",
            Self::TrailingDot => "trailing_dot",
            Self::Ipv6OlderCurl => "ipv6_older_curl",
        }
    }
}

impl fmt::Display for NoProxyIssue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A rejected or suspicious `no_proxy` entry.
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct NoProxyDiagnostic {
    /// The entry as written (for [`NoProxyIssue::BlankSeparated`], the ignored text).
    pub entry: String,
    /// The machine-readable reason.
    pub issue: NoProxyIssue,
    /// How serious it is.
    pub severity: Severity,
    /// Whether the entry can ever make curl bypass the proxy.
    pub can_match: bool,
    /// Why, for people.
    pub reason: String,
    /// The entry to write instead, when there is an obvious one.
    pub suggestion: Option<String>,
    /// What other tools would do differently with this entry.
    pub peers: Vec<PeerNote>,
}

impl NoProxyDiagnostic {
    /// The finding in one sentence, with the fix: ``no_proxy entry `x`: why (write `y`)``.
    pub fn message(&self) -> String {
        let mut m = format!("no_proxy entry `{}`: {}", self.entry, self.reason);
        if let Some(s) = &self.suggestion {
            m.push_str(&format!(" (write `{s}`)"));
        }
        m
    }
}

impl fmt::Display for NoProxyDiagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} [{}] {}", self.severity, self.issue, self.message())
    }
}

/// How curl before 8.18 (commit ff2aaed9ba) reads an IPv6 host, checked with curl 7.88.1: the
/// reason behind every finding about IPv6 entries that older curl decides differently.
const OLDER_CURL_IPV6: &str = "curl before 8.18 (7.88 among them) compares an IPv6 host as text";

fn diag(
    entry: &str,
    issue: NoProxyIssue,
    severity: Severity,
    reason: impl Into<String>,
    suggestion: Option<String>,
) -> NoProxyDiagnostic {
    let can_match = severity != Severity::Error;
    // A URL-shaped entry can carry `user:password@`; it never reaches output unredacted.
    let entry = redact_text(entry);
    NoProxyDiagnostic {
        peers: entry_notes(&entry),
        entry,
        issue,
        severity,
        can_match,
        reason: reason.into(),
        // Suggestions are built from the entry, so they can carry the same userinfo.
        suggestion: suggestion.map(|s| redact_text(&s)),
    }
}

/// The text after a blank that ended the list.
pub(crate) fn blank_stop(rest: &str) -> NoProxyDiagnostic {
    let mut d = diag(
        rest,
        NoProxyIssue::BlankSeparated,
        Severity::Error,
        "a blank between two names ends the list in curl ≥ 8.9, so these entries are ignored \
         (curl 7.86 to 8.8, Debian 12's 7.88 among them, still read them, with a notice in \
         verbose output only); separate entries with commas",
        Some(
            rest.split([' ', '\t', ','])
                .filter(|n| !n.is_empty())
                .collect::<Vec<_>>()
                .join(","),
        ),
    );
    d.peers = vec![
        PeerNote::new(
            Tool::NodeProxyFromEnv,
            "splits on blanks too and reads these as separate entries",
        ),
        PeerNote::new(
            Tool::Requests,
            "deletes every blank, gluing the names on both sides into one entry",
        ),
        PeerNote::new(
            Tool::Go,
            "keeps the blank inside one entry, which then matches nothing",
        ),
        PeerNote::new(
            Tool::HyperUtil,
            "keeps the blank inside one entry, which then matches nothing",
        ),
    ];
    d
}

/// `*` as one element of a list.
pub(crate) fn wildcard_not_alone() -> NoProxyDiagnostic {
    diag(
        "*",
        NoProxyIssue::WildcardNotAlone,
        Severity::Error,
        "curl treats `*` as \"every host\" only when it is the whole value; in a list it matches \
         nothing",
        Some("*".to_owned()),
    )
}

/// The host of a URL-shaped entry, for the suggestion.
fn url_host(entry: &str) -> Option<String> {
    let rest = entry.split_once("://")?.1;
    let authority = rest.split(['/', '?', '#']).next()?;
    let hostport = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
    let host = match hostport.strip_prefix('[') {
        Some(v6) => v6.split(']').next()?,
        None => hostport.split(':').next()?,
    };
    (!host.is_empty()).then(|| host.to_owned())
}

/// `10.` → `10.0.0.0/8`, `192.168` → `192.168.0.0/16`: what a prefix of octets means.
fn octet_prefix_cidr(entry: &str) -> Option<String> {
    let parts: Vec<&str> = entry.trim_end_matches('.').split('.').collect();
    if parts.is_empty() || parts.len() > 3 || parts.iter().any(|p| p.parse::<u8>().is_err()) {
        return None;
    }
    let mut octets = parts.clone();
    octets.resize(4, "0");
    Some(format!("{}/{}", octets.join("."), parts.len() * 8))
}

/// The diagnostic for one entry, if anything is worth saying.
pub(crate) fn diagnose(entry: &str) -> Option<NoProxyDiagnostic> {
    use NoProxyIssue as I;
    use Severity as S;
    if entry.contains("://") {
        return Some(diag(
            entry,
            I::UrlShaped,
            S::Error,
            "entries are host names, not URLs; curl compares the whole text with the host, so \
             this never matches",
            url_host(entry),
        ));
    }
    if let Some(rest) = entry.strip_prefix('*') {
        let fix = format!(".{}", rest.trim_start_matches('.'));
        return Some(diag(
            entry,
            I::WildcardPrefix,
            S::Error,
            "curl has no wildcard patterns; `*` is only special as the whole value, so this \
             never matches",
            (fix.len() > 1).then_some(fix),
        ));
    }
    if let Some(inner) = entry.strip_prefix('[') {
        // `[v6]`, `[v6]:port`, and a block bracketed either way: `[v6]/bits`, `[v6/bits]`.
        let (inside, after) = inner.split_once(']').unwrap_or((inner, ""));
        let (addr, bits) = match inside.split_once('/') {
            Some((addr, bits)) => (addr, Some(bits)),
            None => (inside, after.strip_prefix('/')),
        };
        if addr.parse::<Ipv6Addr>().is_ok() {
            return Some(diag(
                entry,
                I::BracketedIpv6,
                S::Error,
                "curl matches IPv6 entries only without brackets (and never with a port)",
                Some(bits.map_or_else(|| addr.to_owned(), |b| format!("{addr}/{b}"))),
            ));
        }
    }
    if let Some((before, bits)) = entry.split_once('/') {
        if let Some(ip) = parse_ip_entry(entry) {
            return diagnose_cidr(entry, ip, bits);
        }
        return match Ipv4Form::read(before) {
            Some(form) => Some(form.diagnose(entry, before, Some(bits))),
            None => Some(diag(
                entry,
                I::HasPath,
                S::Error,
                "entries are host names; the `/...` part means curl never matches this entry",
                (!before.is_empty()).then(|| before.to_owned()),
            )),
        };
    }
    if let Ok(ip) = entry.parse::<IpAddr>() {
        let canonical = Some(ip)
            .filter(IpAddr::is_ipv6)
            .map(|ip| ip.to_string())
            .filter(|c| !entry.eq_ignore_ascii_case(c))?;
        return Some(diag(
            entry,
            I::Ipv6OlderCurl,
            S::Info,
            format!(
                "{OLDER_CURL_IPV6}, so there this entry matches only when written as URLs write \
                 the address, `{canonical}`"
            ),
            Some(canonical),
        ));
    }
    if let Some((host, port)) = entry.rsplit_once(':')
        && !host.contains(':')
        && !port.is_empty()
        && port.bytes().all(|b| b.is_ascii_digit())
    {
        return Some(diag(
            entry,
            I::HasPort,
            S::Error,
            "curl does not support ports in no_proxy: an entry with a port never matches",
            (!host.is_empty()).then(|| host.to_owned()),
        ));
    }
    if let Some(form) = Ipv4Form::read(entry).filter(|f| f.hex || f.padded) {
        return Some(form.diagnose(entry, entry, None));
    }
    if entry.bytes().any(|b| b.is_ascii_digit())
        && entry.bytes().all(|b| b.is_ascii_digit() || b == b'.')
    {
        return Some(diag(
            entry,
            I::PartialIp,
            S::Error,
            "not a complete IPv4 address: curl matches IP hosts only against whole addresses \
             or CIDR blocks, so this never matches",
            octet_prefix_cidr(entry),
        ));
    }
    if !entry.is_ascii() {
        let puny = url::Host::parse(entry.trim_matches('.'))
            .ok()
            .map(|h| h.to_string());
        return Some(diag(
            entry,
            I::NonAscii,
            S::Error,
            "URL hosts are compared in their ASCII (punycode) form; a Unicode entry never \
             matches in curl",
            puny.map(|p| {
                if entry.starts_with('.') {
                    format!(".{p}")
                } else {
                    p
                }
            }),
        ));
    }
    if !entry
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b'_'))
    {
        // A quote at either end: the whole value was quoted, and the quotes kept (an env file
        // read by `docker --env-file`, a value quoted twice in YAML). The first and the last
        // entries then carry one each.
        let unquoted = entry.trim_matches(['"', '\'']);
        if unquoted.len() != entry.len()
            && !unquoted.is_empty()
            && unquoted
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b'_'))
        {
            return Some(diag(
                entry,
                I::InvalidChars,
                S::Error,
                "holds a quote, so it never matches: quotes around the whole value are part of \
                 it where `docker --env-file` or a value quoted twice in YAML keeps them, and \
                 the first and last entries carry one each",
                Some(unquoted.to_owned()),
            ));
        }
        // `.::1`: curl before 8.18 compared an IPv6 host as text, dropping the entry's leading
        // dot, and so matched it (checked with curl 7.88.1); as an address it never matches.
        let undotted = entry.trim_start_matches('.');
        if undotted.len() != entry.len() && undotted.parse::<Ipv6Addr>().is_ok() {
            return Some(diag(
                entry,
                I::InvalidChars,
                S::Error,
                format!(
                    "a leading dot before an IPv6 address: curl 8.18 and later never match it \
                     ({OLDER_CURL_IPV6} and reads it as `{undotted}`)"
                ),
                Some(undotted.to_owned()),
            ));
        }
        return Some(diag(
            entry,
            I::InvalidChars,
            S::Error,
            "contains characters no host name has, so it never matches",
            None,
        ));
    }
    let name = normalise_name(entry);
    if name.is_empty() || name.split('.').any(str::is_empty) {
        return Some(diag(
            entry,
            I::NeverMatches,
            S::Error,
            "after curl drops one leading and one trailing dot, no host name can match this",
            None,
        ));
    }
    if entry.starts_with('.') {
        return Some(diag(
            entry,
            I::LeadingDot,
            S::Info,
            format!(
                "curl matches {name} itself and its subdomains; Go, Node's proxy-from-env and wget \
                 match only subdomains"
            ),
            None,
        ));
    }
    if entry.ends_with('.') {
        return Some(diag(
            entry,
            I::TrailingDot,
            S::Info,
            "curl ignores the trailing dot; most other tools keep it and never match",
            Some(name),
        ));
    }
    None
}

/// The prefix length a contiguous netmask stands for (`255.255.0.0` is 16), of the family
/// whose addresses have `max` bits.
fn netmask_prefix(text: &str, max: u32) -> Option<u32> {
    let mask = match (text.parse::<IpAddr>().ok()?, max) {
        (IpAddr::V4(m), 32) => u128::from(u32::from(m)) << 96,
        (IpAddr::V6(m), 128) => u128::from(m),
        _ => return None,
    };
    let ones = mask.leading_ones();
    (ones > 0 && mask.checked_shl(ones).unwrap_or(0) == 0).then_some(ones)
}

/// An IPv4 address written in a form curl does not read as one: fewer than four parts
/// (`192.168`), leading zeros (`010.0.0.1`) or hexadecimal parts (`0x0a`), each part 0 to 255.
struct Ipv4Form {
    parts: Vec<u32>,
    hex: bool,
    padded: bool,
}

impl Ipv4Form {
    fn read(text: &str) -> Option<Self> {
        if text.parse::<std::net::Ipv4Addr>().is_ok() {
            return None;
        }
        let mut form = Self {
            parts: Vec::new(),
            hex: false,
            padded: false,
        };
        for part in text.split('.') {
            let hex = part.strip_prefix("0x").or_else(|| part.strip_prefix("0X"));
            let (digits, radix) = match hex {
                Some(h) => (h, 16),
                None => (part, 10),
            };
            let valid = |b: u8| b.is_ascii_digit() || (radix == 16 && b.is_ascii_hexdigit());
            if form.parts.len() == 4
                || digits.is_empty()
                || digits.len() > 3
                || !digits.bytes().all(valid)
            {
                return None;
            }
            let value = u32::from_str_radix(digits, radix)
                .ok()
                .filter(|v| *v <= 255)?;
            form.hex |= radix == 16;
            form.padded |= radix == 10 && digits.len() > 1 && digits.starts_with('0');
            form.parts.push(value);
        }
        Some(form)
    }

    /// The address people mean by it: each part in decimal, the missing ones zero.
    fn dotted(&self) -> String {
        let mut parts = self.parts.clone();
        parts.resize(4, 0);
        parts
            .iter()
            .map(u32::to_string)
            .collect::<Vec<_>>()
            .join(".")
    }

    /// `addr` is the address part of `entry`, `bits` the text after its `/`, if any.
    fn diagnose(&self, entry: &str, addr: &str, bits: Option<&str>) -> NoProxyDiagnostic {
        let short = self.parts.len() < 4;
        let suggestion = match bits {
            Some(b) => (!b.is_empty() && b.bytes().all(|c| c.is_ascii_digit()))
                .then(|| b.parse::<u32>().ok().filter(|n| *n <= 32))
                .flatten()
                .map(|n| format!("{}/{n}", self.dotted())),
            None if short => Some(format!("{}/{}", self.dotted(), self.parts.len() * 8)),
            None => Some(self.dotted()),
        };
        if !self.hex && !self.padded {
            return diag(
                entry,
                NoProxyIssue::PartialIp,
                Severity::Error,
                format!(
                    "`{addr}` is not a complete IPv4 address: curl reads this entry as a host \
                     name, so it never matches"
                ),
                suggestion,
            );
        }
        let mut reason = "curl reads an IPv4 address only as four decimal numbers without \
                          leading zeros or `0x`, so this entry is a host name to it and never \
                          matches"
            .to_owned();
        if self.padded {
            reason.push_str("; URL parsers and Python read a leading zero as octal (`010` is 8)");
        }
        diag(
            entry,
            NoProxyIssue::Ipv4Form,
            Severity::Error,
            reason,
            suggestion,
        )
    }
}

fn diagnose_cidr(entry: &str, ip: IpEntry, bits_text: &str) -> Option<NoProxyDiagnostic> {
    use NoProxyIssue as I;
    use Severity as S;
    let (bits, max) = match ip {
        IpEntry::V4(_, b) => (b, 32),
        IpEntry::V6(_, b) => (b, 128),
    };
    let addr = entry.split('/').next().unwrap_or(entry);
    let Some(bits) = bits.filter(|b| *b <= max) else {
        // A netmask where the prefix length goes (`192.168.0.0/255.255.0.0`): no tool reads
        // it, and the fix is the prefix it stands for, not the bare address.
        if let Some(prefix) = netmask_prefix(bits_text, max) {
            return Some(diag(
                entry,
                I::InvalidCidr,
                S::Error,
                format!(
                    "`/{bits_text}` is a netmask; curl (like every other tool) reads only a prefix \
                     length after the `/`, so this never matches"
                ),
                Some(format!("{addr}/{prefix}")),
            ));
        }
        // curl before 8.18 read the prefix with `atoi`: blanks, a sign, then digits.
        let lenient = bits_text
            .trim_start_matches([' ', '\t', '\n', '\x0b', '\x0c', '\r'])
            .trim_start_matches('+');
        let digits = lenient.len()
            - lenient
                .trim_start_matches(|c: char| c.is_ascii_digit())
                .len();
        let old_reading = lenient[..digits].parse::<u32>().ok().filter(|n| *n <= max);
        let mut reason =
            format!("`/{bits_text}` is not a prefix length between 0 and {max}; never matches");
        if let Some(n) = old_reading {
            reason.push_str(&format!(" (curl before 8.18 read it as `/{n}`)"));
        }
        return Some(diag(
            entry,
            I::InvalidCidr,
            S::Error,
            reason,
            Some(old_reading.map_or_else(|| addr.to_owned(), |n| format!("{addr}/{n}"))),
        ));
    };
    if bits == 0 {
        let older = match ip {
            IpEntry::V6(..) => format!("; {OLDER_CURL_IPV6}, so there it matches nothing"),
            IpEntry::V4(..) => String::new(),
        };
        return Some(diag(
            entry,
            I::CidrZeroIsExact,
            S::Warning,
            format!(
                "curl reads `/0` as an exact match of {addr}, not as every address (Go, \
                 hyper-util and wget2 match every address){older}"
            ),
            Some(if addr.contains(':') || addr == "0.0.0.0" {
                "*".to_owned()
            } else {
                addr.to_owned()
            }),
        ));
    }
    let host_bits = match ip {
        IpEntry::V4(a, _) => u32::from(a) & !u32::MAX.checked_shl(32 - bits).unwrap_or(0) != 0,
        IpEntry::V6(a, _) => u128::from(a) & !u128::MAX.checked_shl(128 - bits).unwrap_or(0) != 0,
    };
    if host_bits {
        let net = match ip {
            IpEntry::V4(a, _) => std::net::Ipv4Addr::from(
                u32::from(a) & u32::MAX.checked_shl(32 - bits).unwrap_or(0),
            )
            .to_string(),
            IpEntry::V6(a, _) => {
                Ipv6Addr::from(u128::from(a) & u128::MAX.checked_shl(128 - bits).unwrap_or(0))
                    .to_string()
            }
        };
        return Some(diag(
            entry,
            I::CidrHostBits,
            S::Info,
            format!("host bits are set; curl ignores them and matches {net}/{bits}"),
            Some(format!("{net}/{bits}")),
        ));
    }
    matches!(ip, IpEntry::V6(..)).then(|| {
        diag(
            entry,
            I::Ipv6OlderCurl,
            S::Info,
            format!(
                "{OLDER_CURL_IPV6}, so this block never matches there; curl 8.18 and later \
                 match it as a block"
            ),
            None,
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_issue_has_a_reason_and_fix() {
        type Row = (&'static str, Option<NoProxyIssue>, Option<&'static str>);
        let rows: &[Row] = &[
            (
                "http://example.com/",
                Some(NoProxyIssue::UrlShaped),
                Some("example.com"),
            ),
            (
                "https://u:p@h.test:8443/x",
                Some(NoProxyIssue::UrlShaped),
                Some("h.test"),
            ),
            (
                "example.com/api",
                Some(NoProxyIssue::HasPath),
                Some("example.com"),
            ),
            (
                "example.com:8080",
                Some(NoProxyIssue::HasPort),
                Some("example.com"),
            ),
            (
                "*.example.com",
                Some(NoProxyIssue::WildcardPrefix),
                Some(".example.com"),
            ),
            (
                "*example.com",
                Some(NoProxyIssue::WildcardPrefix),
                Some(".example.com"),
            ),
            ("[::1]", Some(NoProxyIssue::BracketedIpv6), Some("::1")),
            ("[::1]:80", Some(NoProxyIssue::BracketedIpv6), Some("::1")),
            // A bracketed block keeps its prefix in the fix, brackets inside or out.
            (
                "[fd00::]/8",
                Some(NoProxyIssue::BracketedIpv6),
                Some("fd00::/8"),
            ),
            (
                "[fd00::/8]",
                Some(NoProxyIssue::BracketedIpv6),
                Some("fd00::/8"),
            ),
            (
                "10.0.0.0/33",
                Some(NoProxyIssue::InvalidCidr),
                Some("10.0.0.0"),
            ),
            (
                "10.0.0.0/x",
                Some(NoProxyIssue::InvalidCidr),
                Some("10.0.0.0"),
            ),
            (
                "10.0.0.0/",
                Some(NoProxyIssue::InvalidCidr),
                Some("10.0.0.0"),
            ),
            ("::/129", Some(NoProxyIssue::InvalidCidr), Some("::")),
            // A netmask where the prefix length goes: the fix is the prefix.
            (
                "192.168.0.0/255.255.0.0",
                Some(NoProxyIssue::InvalidCidr),
                Some("192.168.0.0/16"),
            ),
            (
                "10.0.0.0/255.255.255.255",
                Some(NoProxyIssue::InvalidCidr),
                Some("10.0.0.0/32"),
            ),
            (
                "fd00::/ffff:ff00::",
                Some(NoProxyIssue::InvalidCidr),
                Some("fd00::/24"),
            ),
            // Not contiguous: no prefix stands for it.
            (
                "10.0.0.0/255.0.255.0",
                Some(NoProxyIssue::InvalidCidr),
                Some("10.0.0.0"),
            ),
            // curl before 8.18 read these with `atoi` (checked with curl 7.88.1: both matched).
            (
                "10.0.0.0/8x",
                Some(NoProxyIssue::InvalidCidr),
                Some("10.0.0.0/8"),
            ),
            (
                "10.0.0.0/+8",
                Some(NoProxyIssue::InvalidCidr),
                Some("10.0.0.0/8"),
            ),
            ("0.0.0.0/0", Some(NoProxyIssue::CidrZeroIsExact), Some("*")),
            ("::1/0", Some(NoProxyIssue::CidrZeroIsExact), Some("*")),
            // curl 7.88.1 bypasses `http://[::1]/` for `.::1`; curl 8.18 and proxyscope never.
            (".::1", Some(NoProxyIssue::InvalidChars), Some("::1")),
            (
                "10.1.2.3/0",
                Some(NoProxyIssue::CidrZeroIsExact),
                Some("10.1.2.3"),
            ),
            (
                "10.1.2.3/8",
                Some(NoProxyIssue::CidrHostBits),
                Some("10.0.0.0/8"),
            ),
            ("10.", Some(NoProxyIssue::PartialIp), Some("10.0.0.0/8")),
            // IPv4 in a form curl does not read: a block in short form, leading zeros, hex.
            (
                "192.168/16",
                Some(NoProxyIssue::PartialIp),
                Some("192.168.0.0/16"),
            ),
            (
                "172.16/12",
                Some(NoProxyIssue::PartialIp),
                Some("172.16.0.0/12"),
            ),
            ("10/8x", Some(NoProxyIssue::PartialIp), None),
            (
                "010.0.0.0/8",
                Some(NoProxyIssue::Ipv4Form),
                Some("10.0.0.0/8"),
            ),
            ("010.0.0.1", Some(NoProxyIssue::Ipv4Form), Some("10.0.0.1")),
            ("0x0a.0.0.1", Some(NoProxyIssue::Ipv4Form), Some("10.0.0.1")),
            ("0X7F.1", Some(NoProxyIssue::Ipv4Form), Some("127.1.0.0/16")),
            ("10.0.0.0/08", None, None),
            ("256.1/16", Some(NoProxyIssue::HasPath), Some("256.1")),
            ("0x.0.0.1", None, None),
            // Quotes kept from an env file: the fix is the name without them.
            (
                "\"localhost",
                Some(NoProxyIssue::InvalidChars),
                Some("localhost"),
            ),
            (
                ".corp.example'",
                Some(NoProxyIssue::InvalidChars),
                Some(".corp.example"),
            ),
            ("a\"b", Some(NoProxyIssue::InvalidChars), None),
            (
                "192.168",
                Some(NoProxyIssue::PartialIp),
                Some("192.168.0.0/16"),
            ),
            (
                "bücher.example",
                Some(NoProxyIssue::NonAscii),
                Some("xn--bcher-kva.example"),
            ),
            ("a@b", Some(NoProxyIssue::InvalidChars), None),
            (".", Some(NoProxyIssue::NeverMatches), None),
            ("a..b", Some(NoProxyIssue::NeverMatches), None),
            (".example.com", Some(NoProxyIssue::LeadingDot), None),
            (
                "example.com.",
                Some(NoProxyIssue::TrailingDot),
                Some("example.com"),
            ),
            ("example.com", None, None),
            ("10.0.0.0/8", None, None),
            // curl 7.88.1, checked by hand (`http://[fd00::5]/`): `fd00::5` and `FD00::5`
            // bypass the proxy, `fd00:0::5`, `fd00::/8` and `fd00::5/128` do not.
            ("fd00::/8", Some(NoProxyIssue::Ipv6OlderCurl), None),
            ("fd00::5/128", Some(NoProxyIssue::Ipv6OlderCurl), None),
            (
                "fd00:0::5",
                Some(NoProxyIssue::Ipv6OlderCurl),
                Some("fd00::5"),
            ),
            ("::0001", Some(NoProxyIssue::Ipv6OlderCurl), Some("::1")),
            ("::1", None, None),
            ("FD00::5", None, None),
            ("127.0.0.1", None, None),
        ];
        for (entry, issue, fix) in rows {
            let d = diagnose(entry);
            assert_eq!(d.as_ref().map(|d| d.issue), *issue, "{entry}");
            if let Some(d) = d {
                assert_eq!(d.suggestion.as_deref(), *fix, "{entry}");
                assert!(!d.reason.is_empty());
                assert_eq!(d.can_match, d.severity != Severity::Error, "{entry}");
            }
        }
    }

    #[test]
    fn older_curls_ipv6_reading_is_named_in_the_reason() {
        for entry in ["::1/0", ".::1", "..fd00::5"] {
            let d = diagnose(entry).unwrap_or_else(|| panic!("{entry}: no finding"));
            assert!(
                d.reason.contains("curl before 8.18"),
                "{entry}: {}",
                d.reason
            );
        }
        let d = diagnose("10.0.0.1/0").unwrap_or_else(|| panic!("no finding"));
        assert!(!d.reason.contains("curl before 8.18"), "{}", d.reason);
    }

    #[test]
    fn blank_stop_names_node_and_requests() {
        let d = blank_stop(".example.com .example.de");
        assert_eq!(d.issue, NoProxyIssue::BlankSeparated);
        assert_eq!(d.suggestion.as_deref(), Some(".example.com,.example.de"));
        let tools: Vec<Tool> = d.peers.iter().map(|p| p.tool).collect();
        assert!(tools.contains(&Tool::NodeProxyFromEnv) && tools.contains(&Tool::Requests));
    }

    #[test]
    fn suggestions_never_carry_credentials() {
        // Found by tests/prop_config.rs: the fix for a path entry repeated its userinfo.
        let d = diagnose("u53r:s3cr3t@proxy.test:3128/path").unwrap();
        assert_eq!(d.issue, NoProxyIssue::HasPath);
        assert_eq!(d.entry, "***@proxy.test:3128/path");
        assert_eq!(d.suggestion.as_deref(), Some("***@proxy.test:3128"));
    }
}
