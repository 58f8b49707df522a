//! What other HTTP clients would do with the same proxy variables: Go's `httpproxy`, Python's
//! urllib, requests, Node's proxy-from-env, hyper-util/reqwest and wget, as each documents and
//! tests its rules. proxyscope follows curl; these models exist only
//! so route steps and lint can warn that another part of the stack will route differently.
//!
//! Each model is a small re-statement of that tool's documented and tested rules, not a port of
//! its code. A [`PeerView`] reads a list by every tool's rules once; a host is then matched
//! against the parsed entries, at a cost linear in the list, which is fine because it only
//! runs to explain.

use std::net::{IpAddr, Ipv4Addr};

use serde::Serialize;

/// Another client whose reading of the proxy variables is compared with curl's.
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
pub enum Tool {
    /// Go's `golang.org/x/net/http/httpproxy` (and `net/http.ProxyFromEnvironment`).
    #[serde(rename = "go")]
    Go,
    /// CPython's `urllib.request`.
    #[serde(rename = "python-urllib")]
    PythonUrllib,
    /// Python requests ≥ 2.34 (its own checks, then urllib's; earlier releases matched names
    /// as a raw string suffix).
    #[serde(rename = "requests")]
    Requests,
    /// Node's `proxy-from-env` (axios, npm and many others).
    #[serde(rename = "node-proxy-from-env")]
    NodeProxyFromEnv,
    /// hyper-util's `Matcher`, used by reqwest ≥ 0.12.16.
    #[serde(rename = "hyper-util")]
    HyperUtil,
    /// GNU wget 1.x.
    #[serde(rename = "wget")]
    Wget,
}

impl Tool {
    /// Every compared tool.
    pub const ALL: [Tool; 6] = [
        Tool::Go,
        Tool::PythonUrllib,
        Tool::Requests,
        Tool::NodeProxyFromEnv,
        Tool::HyperUtil,
        Tool::Wget,
    ];

    /// The stable identifier, e.g. `"node-proxy-from-env"`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Go => "go",
            Self::PythonUrllib => "python-urllib",
            Self::Requests => "requests",
            Self::NodeProxyFromEnv => "node-proxy-from-env",
            Self::HyperUtil => "hyper-util",
            Self::Wget => "wget",
        }
    }

    /// A name for people, e.g. `"Node proxy-from-env"`.
    pub fn name(self) -> &'static str {
        match self {
            Self::Go => "Go",
            Self::PythonUrllib => "Python urllib",
            Self::Requests => "Python requests",
            Self::NodeProxyFromEnv => "Node proxy-from-env",
            Self::HyperUtil => "hyper-util/reqwest",
            Self::Wget => "wget",
        }
    }
}

impl std::fmt::Display for Tool {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// What one other tool does differently.
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PeerNote {
    /// The tool.
    pub tool: Tool,
    /// What it does, in one sentence.
    pub behaviour: String,
}

impl PeerNote {
    pub(crate) fn new(tool: Tool, behaviour: impl Into<String>) -> Self {
        Self {
            tool,
            behaviour: behaviour.into(),
        }
    }
}

/// The host of a request as each model needs it.
#[derive(Debug, Clone, Copy)]
pub struct PeerHost<'a> {
    /// The host, lowercase, IPv6 without brackets.
    pub host: &'a str,
    /// The effective port (explicit or the scheme's default).
    pub port: u16,
    /// Whether the URL wrote the port explicitly.
    pub explicit_port: bool,
}

impl PeerHost<'_> {
    fn ip(&self) -> Option<IpAddr> {
        self.host.parse().ok()
    }
}

/// Whether `tool` would bypass the proxy for `host` given the `no_proxy` value `list`.
///
/// Reads the whole list for one answer; to ask about many hosts, or every tool, read the list
/// once with [`PeerView::new`].
pub fn bypasses(tool: Tool, list: &str, host: PeerHost<'_>) -> bool {
    PeerView::new(list).bypasses(tool, host)
}

/// One `no_proxy` value as each compared tool reads it, parsed once: everything about the
/// list that does not depend on the host. Asking about a host then only matches — the
/// explanation of every route under an environment list asks all six tools, and re-reading a
/// corporate-size list six times per explanation cost most of it.
#[derive(Debug, Clone)]
pub struct PeerView {
    /// The value in lowercase, and as requests reads it (blanks deleted): the entries below
    /// are spans of these, so reading a long list allocates a handful of vectors, not a
    /// string per entry and tool.
    lower: String,
    squeezed: String,
    go: Vec<GoEntry>,
    urllib: Urllib,
    requests: Vec<RequestsEntry>,
    node: Node,
    hyper_util: Vec<HyperEntry>,
    wget: Vec<Span>,
}

/// Where an entry is in [`PeerView`]'s `lower` (or `squeezed`) text.
#[derive(Debug, Clone, Copy)]
struct Span(usize, usize);

impl Span {
    /// The span of `part`, a slice of `base`.
    fn of(base: &str, part: &str) -> Self {
        let start = (part.as_ptr() as usize).saturating_sub(base.as_ptr() as usize);
        Self(start, start + part.len())
    }

    fn text(self, base: &str) -> &str {
        base.get(self.0..self.1).unwrap_or("")
    }
}

/// A Go entry (lowercase).
#[derive(Debug, Clone)]
enum GoEntry {
    Star,
    Cidr(IpAddr, u8),
    /// An address, with the port written after it (`GoPort::Any` when none was).
    Ip(IpAddr, GoPort),
    Name {
        port: GoPort,
        subdomains_only: bool,
        domain: Span,
        /// The domain's ASCII (IDNA) form when it is not ASCII: Go compares that.
        ascii: Option<Box<str>>,
    },
}

/// The port of a Go entry, which Go compares as text with the request's port.
#[derive(Debug, Clone, Copy)]
enum GoPort {
    /// No port, or an empty one (`host:`): any port.
    Any,
    Is(u16),
    /// Text no request's port is written as (`08`, `http`): never.
    Never,
}

impl GoPort {
    fn read(text: &str) -> Self {
        match text.parse::<u16>() {
            _ if text.is_empty() => Self::Any,
            Ok(p) if p.to_string() == text => Self::Is(p),
            _ => Self::Never,
        }
    }

    fn admits(self, port: u16) -> bool {
        match self {
            Self::Any => true,
            Self::Is(p) => p == port,
            Self::Never => false,
        }
    }
}

/// urllib: whole value `*`, or names (blanks and leading dots stripped, lowercase).
#[derive(Debug, Clone)]
struct Urllib {
    star: bool,
    names: Vec<Span>,
}

/// A requests entry as written (blanks deleted), with its CIDR block when it is an IPv4 one
/// of at least one bit (the only kind requests compares as a network).
#[derive(Debug, Clone)]
struct RequestsEntry {
    raw: Span,
    cidr4: Option<(u32, u32)>,
}

/// proxy-from-env (lowercase): the whole value empty or `*`, else `(name, port)` entries, port
/// 0 for none.
#[derive(Debug, Clone)]
struct Node {
    empty: bool,
    star: bool,
    entries: Vec<(Span, u32)>,
}

/// A hyper-util entry (lowercase); `Name` holds the domain without its leading dot.
#[derive(Debug, Clone)]
enum HyperEntry {
    Cidr(IpAddr, u8),
    Ip(IpAddr),
    Star,
    Name(Span),
}

impl PeerView {
    /// Reads `list` (a `no_proxy` value) by every tool's rules.
    pub fn new(list: &str) -> Self {
        // Every model compares case-insensitively except requests' own checks, which compare
        // the entries as written (its urllib fallback then lowercases them).
        let lower = list.to_ascii_lowercase();
        let squeezed: String = list.chars().filter(|c| *c != ' ').collect();
        // Lowercasing keeps every byte where it was, so urllib's names (lowercased from the
        // value as written) are spans of `lower` too.
        let urllib = Urllib {
            star: list == "*",
            names: lower
                .split(',')
                .map(|raw| raw.trim().trim_start_matches('.'))
                .filter(|n| !n.is_empty())
                .map(|n| Span::of(&lower, n))
                .collect(),
        };
        let requests = squeezed
            .split(',')
            .filter(|e| !e.is_empty())
            .map(|e| RequestsEntry {
                raw: Span::of(&squeezed, e),
                cidr4: requests_cidr(e),
            })
            .collect();
        // wget skips the blanks after each comma, not those opening the value.
        let wget = lower
            .split(',')
            .enumerate()
            .map(|(i, e)| match i {
                0 => e,
                _ => e.trim_start_matches([' ', '\t', '\n', '\x0b', '\x0c', '\r']),
            })
            .filter(|e| !e.is_empty())
            .map(|e| Span::of(&lower, e))
            .collect();
        Self {
            go: go_entries(&lower),
            urllib,
            requests,
            node: node_entries(&lower),
            hyper_util: hyper_util_entries(&lower),
            wget,
            lower,
            squeezed,
        }
    }

    /// Whether `tool` would bypass the proxy for `host` under this list.
    pub fn bypasses(&self, tool: Tool, host: PeerHost<'_>) -> bool {
        if tool == Tool::Requests {
            return requests_bypass(self, host);
        }
        let lower_host = host.host.to_ascii_lowercase();
        let host = PeerHost {
            host: &lower_host,
            ..host
        };
        match tool {
            Tool::Go => go_bypass(self, host),
            Tool::PythonUrllib => urllib_bypass(self, host),
            Tool::Requests => requests_bypass(self, host),
            Tool::NodeProxyFromEnv => node_bypass(self, host),
            Tool::HyperUtil => hyper_util_bypass(self, host),
            Tool::Wget => wget_bypass(self, host),
        }
    }
}

fn parse_cidr(s: &str) -> Option<(IpAddr, u8)> {
    let (ip, bits) = s.split_once('/')?;
    let ip: IpAddr = ip.parse().ok()?;
    if bits.is_empty() || !bits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let bits: u8 = bits.parse().ok()?;
    let max = if ip.is_ipv4() { 32 } else { 128 };
    (bits <= max).then_some((ip, bits))
}

fn in_net(addr: IpAddr, net: IpAddr, bits: u8) -> bool {
    match (addr, net) {
        (IpAddr::V4(a), IpAddr::V4(n)) => {
            let mask = u32::MAX.checked_shl(32 - u32::from(bits)).unwrap_or(0);
            u32::from(a) & mask == u32::from(n) & mask
        }
        (IpAddr::V6(a), IpAddr::V6(n)) => {
            let mask = u128::MAX.checked_shl(128 - u32::from(bits)).unwrap_or(0);
            u128::from(a) & mask == u128::from(n) & mask
        }
        _ => false,
    }
}

fn split_host_port(p: &str) -> Option<(&str, u16)> {
    if let Some(rest) = p.strip_prefix('[') {
        let (h, port) = rest.split_once("]:")?;
        return Some((h, port.parse().ok()?));
    }
    let (h, port) = p.rsplit_once(':')?;
    if h.contains(':') {
        return None;
    }
    Some((h, port.parse().ok()?))
}

/// Go's reading of a (lowercased) list: `*` anywhere, CIDR and IPs, `host:port` (the port
/// compared as text, an empty one meaning any), `.d` and `*.d` subdomains only, bare `d` the
/// host and its subdomains, non-ASCII names in their IDNA form; an entry with nothing before
/// its port is skipped.
fn go_entries(list: &str) -> Vec<GoEntry> {
    list.split(',')
        .map(str::trim)
        .filter(|p| !p.is_empty())
        .filter_map(|p| {
            if p == "*" {
                return Some(GoEntry::Star);
            }
            // A block keeps its family: Go compares an IPv4-mapped host with IPv4 blocks only.
            if let Some((net, bits)) = parse_cidr(p) {
                return Some(GoEntry::Cidr(net, bits));
            }
            let (phost, port) = match go_split_host_port(p) {
                Some((ph, pp)) => (ph, GoPort::read(pp)),
                None => (p, GoPort::Any),
            };
            if let Ok(ip) = phost.parse::<IpAddr>() {
                return Some(GoEntry::Ip(go_ip(ip), port));
            }
            if phost.is_empty() {
                return None;
            }
            let (subdomains_only, domain) = match phost.strip_prefix("*.") {
                Some(rest) => (true, rest),
                None => match phost.strip_prefix('.') {
                    Some(rest) => (true, rest),
                    None => (false, phost),
                },
            };
            let ascii = (!domain.is_ascii())
                .then(|| match url::Host::parse(domain) {
                    Ok(url::Host::Domain(d)) => Some(d.into_boxed_str()),
                    _ => None,
                })
                .flatten();
            Some(GoEntry::Name {
                port,
                subdomains_only,
                domain: Span::of(list, domain),
                ascii,
            })
        })
        .collect()
}

/// Go's `net.SplitHostPort`: `[host]:port` or `host:port` with no other colon; the port is
/// any text, empty included.
fn go_split_host_port(p: &str) -> Option<(&str, &str)> {
    if let Some(rest) = p.strip_prefix('[') {
        let (h, after) = rest.split_once(']')?;
        let port = after.strip_prefix(':')?;
        return (!port.contains([':', '[', ']'])).then_some((h, port));
    }
    let (h, port) = p.rsplit_once(':')?;
    (!h.contains([':', '[', ']']) && !port.contains([']', '['])).then_some((h, port))
}

/// An address as Go compares it: an IPv4-mapped IPv6 address is the IPv4 address.
fn go_ip(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
        IpAddr::V4(_) => ip,
    }
}

/// Go: UPPER first (handled by the caller), `localhost` and loopback always direct, then any
/// entry that matches; a name entry is compared as text with every host, addresses included.
fn go_bypass(v: &PeerView, h: PeerHost<'_>) -> bool {
    let host_ip = h.ip().map(go_ip);
    if h.host == "localhost" || host_ip.is_some_and(|ip| ip.is_loopback()) {
        return true;
    }
    v.go.iter().any(|e| match e {
        GoEntry::Star => true,
        GoEntry::Cidr(net, bits) => host_ip.is_some_and(|ip| in_net(ip, *net, *bits)),
        GoEntry::Ip(ip, port) => host_ip == Some(*ip) && port.admits(h.port),
        GoEntry::Name {
            port,
            subdomains_only,
            domain,
            ascii,
        } => {
            let domain = ascii.as_deref().unwrap_or_else(|| domain.text(&v.lower));
            port.admits(h.port)
                && ((!subdomains_only && h.host == domain) || is_label_suffix(h.host, domain))
        }
    })
}

/// `host` ends with `.` + `d`.
fn is_label_suffix(host: &str, d: &str) -> bool {
    host.len() > d.len() && host.ends_with(d) && host.as_bytes()[host.len() - d.len() - 1] == b'.'
}

/// urllib (`proxy_bypass_environment`) on the host it is given: `host[:port]` as the URL
/// wrote it (brackets kept, the port only when written).
fn urllib_bypass(v: &PeerView, h: PeerHost<'_>) -> bool {
    let host = if h.host.contains(':') {
        format!("[{}]", h.host)
    } else {
        h.host.to_owned()
    };
    let host = match h.explicit_port {
        true => format!("{host}:{}", h.port),
        false => host,
    };
    urllib_matches(v, &host)
}

/// urllib's rule on `host` (any text): whole value `*`; else the host lowercased, its port
/// split off where the text ends in `:` and digits (so an unbracketed IPv6 address loses its
/// last group), and each entry, stripped of blanks and every leading dot, equal to the host
/// with or without its port, or a suffix of either after a dot.
fn urllib_matches(v: &PeerView, host: &str) -> bool {
    if v.urllib.star {
        return true;
    }
    let host = host.to_lowercase();
    let host_only = match host.rsplit_once(':') {
        Some((h, port)) if port.bytes().all(|b| b.is_ascii_digit()) => h,
        _ => host.as_str(),
    };
    v.urllib.names.iter().any(|name| {
        let name = name.text(&v.lower);
        host_only == name
            || host == name
            || is_label_suffix(host_only, name)
            || is_label_suffix(&host, name)
    })
}

/// requests (`should_bypass_proxies`): blanks deleted from the value; an IPv4 host (as
/// `inet_aton` reads addresses) against each valid IPv4 block (`inet_aton` address, mask 1 to
/// 32) or an entry equal to it; any other host, entries stripped of leading dots, equal to the
/// host or `host:port`, or a suffix of either after a dot, as written (the host is lowercase,
/// the entries are not); then urllib's rule on the bare host name, without its port or
/// brackets.
fn requests_bypass(v: &PeerView, h: PeerHost<'_>) -> bool {
    let raw = |e: &RequestsEntry| e.raw.text(&v.squeezed);
    if let Some(addr) = inet_aton(h.host) {
        for e in &v.requests {
            match e.cidr4 {
                Some((net, mask)) => {
                    if addr & mask == net & mask {
                        return true;
                    }
                }
                None => {
                    if raw(e) == h.host {
                        return true;
                    }
                }
            }
        }
    } else {
        let with_port = h.explicit_port.then(|| format!("{}:{}", h.host, h.port));
        for e in &v.requests {
            let e = raw(e).trim_start_matches('.');
            let hp = with_port.as_deref();
            if h.host == e
                || hp == Some(e)
                || is_label_suffix(h.host, e)
                || hp.is_some_and(|hp| is_label_suffix(hp, e))
            {
                return true;
            }
        }
    }
    urllib_matches(v, h.host)
}

/// An IPv4 block as requests validates one: `address/mask`, the address as `inet_aton` reads
/// it, the mask an integer as Python reads one, 1 to 32. The network and its mask.
fn requests_cidr(entry: &str) -> Option<(u32, u32)> {
    let (addr, mask) = entry.split_once('/')?;
    if mask.contains('/') {
        return None;
    }
    let bits = python_int(mask).filter(|b| (1..=32).contains(b))?;
    let net = inet_aton(addr)?;
    Some((net, u32::MAX << (32 - bits)))
}

/// Python's `int()` of text: blanks around, a sign, decimal digits with single underscores
/// between them.
fn python_int(text: &str) -> Option<i64> {
    let t = text.trim();
    let (negative, digits) = match t.as_bytes().first() {
        Some(b'-') => (true, &t[1..]),
        Some(b'+') => (false, &t[1..]),
        _ => (false, t),
    };
    if digits.is_empty()
        || digits.starts_with('_')
        || digits.ends_with('_')
        || digits.contains("__")
        || !digits.bytes().all(|b| b.is_ascii_digit() || b == b'_')
    {
        return None;
    }
    let n: i64 = digits.replace('_', "").parse().ok()?;
    Some(if negative { -n } else { n })
}

/// glibc's `inet_aton`: one to four parts, each decimal, octal (a leading `0`) or hex (`0x`),
/// the last filling the remaining bytes; text after a blank is ignored.
fn inet_aton(text: &str) -> Option<u32> {
    let text = text
        .split(|c: char| c.is_ascii_whitespace())
        .next()
        .unwrap_or("");
    let mut parts = [0u32; 4];
    let mut n = 0;
    for part in text.split('.') {
        if n == 4 || !part.starts_with(|c: char| c.is_ascii_digit()) {
            return None;
        }
        let (radix, digits) =
            if let Some(hex) = part.strip_prefix("0x").or_else(|| part.strip_prefix("0X")) {
                (16, hex)
            } else if part.len() > 1 && part.starts_with('0') {
                (8, &part[1..])
            } else {
                (10, part)
            };
        parts[n] = if digits.is_empty() {
            0
        } else {
            u32::from_str_radix(digits, radix).ok()?
        };
        n += 1;
    }
    let last_max = match n {
        1 => u32::MAX,
        2 => 0xff_ffff,
        3 => 0xffff,
        _ => 0xff,
    };
    if parts[..n - 1].iter().any(|p| *p > 0xff) || parts[n - 1] > last_max {
        return None;
    }
    let head = parts[..n - 1]
        .iter()
        .enumerate()
        .fold(0u32, |acc, (i, p)| acc | (p << (24 - 8 * i)));
    Some(head | parts[n - 1])
}

/// proxy-from-env's reading of a (lowercased) list: split on commas and whitespace, `:port`
/// split off.
fn node_entries(list: &str) -> Node {
    Node {
        empty: list.is_empty(),
        star: list == "*",
        entries: list
            .split(|c: char| c == ',' || c.is_whitespace())
            .filter(|e| !e.is_empty())
            .map(|entry| {
                let (name, port) = match entry.rsplit_once(':') {
                    Some((n, p))
                        if !n.is_empty()
                            && !p.is_empty()
                            && p.bytes().all(|b| b.is_ascii_digit()) =>
                    {
                        (n, p.parse::<u32>().unwrap_or(u32::MAX))
                    }
                    _ => (entry, 0),
                };
                (Span::of(list, name), port)
            })
            .collect(),
    }
}

/// proxy-from-env: lowercase value, whole `*`, `:port` against the effective port, exact host
/// unless the entry starts with `.` or `*` (then a raw string suffix; IPv6 hosts keep their
/// brackets).
fn node_bypass(v: &PeerView, h: PeerHost<'_>) -> bool {
    let n = &v.node;
    if n.empty {
        return false;
    }
    if n.star {
        return true;
    }
    let host = if h.host.contains(':') {
        format!("[{}]", h.host)
    } else {
        h.host.to_owned()
    };
    n.entries.iter().any(|(name, port)| {
        let name = name.text(&v.lower);
        if *port != 0 && *port != u32::from(h.port) {
            return false;
        }
        if !name.starts_with(['.', '*']) {
            return host == name;
        }
        let suffix = name.strip_prefix('*').unwrap_or(name);
        host.ends_with(suffix)
    })
}

/// hyper-util's reading of a (lowercased) list: comma entries trimmed; IPs and CIDR blocks,
/// `*`, and domains without their leading dot.
fn hyper_util_entries(list: &str) -> Vec<HyperEntry> {
    list.split(',')
        .map(str::trim)
        .filter(|e| !e.is_empty())
        .map(|e| {
            if let Some((net, bits)) = ipnet_cidr(e) {
                HyperEntry::Cidr(net, bits)
            } else if let Ok(addr) = e.parse::<IpAddr>() {
                HyperEntry::Ip(addr)
            } else if e == "*" {
                HyperEntry::Star
            } else {
                HyperEntry::Name(Span::of(list, e.strip_prefix('.').unwrap_or(e)))
            }
        })
        .collect()
}

/// A block as the `ipnet` crate reads it (hyper-util parses `no_proxy` entries with it): IPv4
/// octets of one to three decimal digits, leading zeros read as decimal (`010` is 10); a prefix
/// of at most two digits (three for IPv6), leading zeros allowed.
fn ipnet_cidr(s: &str) -> Option<(IpAddr, u8)> {
    let (addr, bits) = s.split_once('/')?;
    let (ip, digits, max) = match ipnet_v4(addr) {
        Some(v4) => (IpAddr::V4(v4), 2, 32),
        None => (IpAddr::V6(ipnet_v6(addr)?), 3, 128),
    };
    if bits.is_empty() || bits.len() > digits || !bits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let bits: u8 = bits.parse().ok()?;
    (bits <= max).then_some((ip, bits))
}

fn ipnet_v4(s: &str) -> Option<Ipv4Addr> {
    let mut octets = [0u8; 4];
    let mut parts = s.split('.');
    for octet in &mut octets {
        let part = parts.next()?;
        if part.is_empty() || part.len() > 3 || !part.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        *octet = part.parse().ok()?;
    }
    parts.next().is_none().then_some(Ipv4Addr::from(octets))
}

/// IPv6 as `ipnet` reads it: the standard form, with an embedded IPv4 address read as above.
fn ipnet_v6(s: &str) -> Option<std::net::Ipv6Addr> {
    match s.rsplit_once(':') {
        Some((head, tail)) if tail.contains('.') => {
            format!("{head}:{}", ipnet_v4(tail)?).parse().ok()
        }
        _ => s.parse().ok(),
    }
}

/// hyper-util: IPs and CIDR (any prefix, `/0` is everything) for IP hosts; `*` matches every
/// domain host but no IP; `.d` and `d` match `d` and subdomains.
fn hyper_util_bypass(v: &PeerView, h: PeerHost<'_>) -> bool {
    let ip = h.ip();
    v.hyper_util.iter().any(|e| match e {
        HyperEntry::Cidr(net, bits) => ip.is_some_and(|a| in_net(a, *net, *bits)),
        HyperEntry::Ip(addr) => ip == Some(*addr),
        HyperEntry::Star => ip.is_none(),
        HyperEntry::Name(d) => {
            let d = d.text(&v.lower);
            ip.is_none() && (h.host == d || is_label_suffix(h.host, d))
        }
    })
}

/// wget 1.x: comma entries, the blanks after each comma skipped (those opening the value are
/// kept, so ` d` never matches); a case-insensitive suffix that must start at a label
/// boundary, or anywhere when the entry starts with `.` (so `.d` never matches `d`).
fn wget_bypass(v: &PeerView, h: PeerHost<'_>) -> bool {
    let host = h.host;
    v.wget.iter().any(|e| {
        let e = e.text(&v.lower);
        if !host.ends_with(e) {
            return false;
        }
        let i = host.len() - e.len();
        i == 0 || host.as_bytes()[i - 1] == b'.' || e.starts_with('.')
    })
}

/// Notes on how other tools read one `no_proxy` entry, where they differ from curl.
pub(crate) fn entry_notes(entry: &str) -> Vec<PeerNote> {
    let e = entry.trim();
    let mut notes = Vec::new();
    let bare = e.trim_start_matches('.');
    let is_ip = bare.parse::<IpAddr>().is_ok() || parse_cidr(bare).is_some();
    // Digits and dots (or hex parts) that some tool reads as an IPv4 address.
    let numeric = e.split('/').next().is_some_and(|a| inet_aton(a).is_some());
    if e == "*" {
        notes.push(PeerNote::new(
            Tool::Go,
            "a `*` entry anywhere bypasses every host",
        ));
        notes.push(PeerNote::new(
            Tool::NodeProxyFromEnv,
            "a `*` entry anywhere bypasses every host",
        ));
        notes.push(PeerNote::new(
            Tool::HyperUtil,
            "a `*` entry anywhere bypasses every domain host, but not IP literals",
        ));
    } else if let Some(rest) = e.strip_prefix("*.") {
        notes.push(PeerNote::new(
            Tool::Go,
            format!("reads it as `.{rest}`: subdomains of {rest} only"),
        ));
        notes.push(PeerNote::new(
            Tool::NodeProxyFromEnv,
            format!("reads it as a suffix `.{rest}`: subdomains of {rest} only"),
        ));
    } else if e.starts_with('*') {
        notes.push(PeerNote::new(
            Tool::NodeProxyFromEnv,
            "reads it as a raw string suffix, so it matches inside labels too",
        ));
    } else if e.starts_with('.') && !is_ip {
        for tool in [Tool::Go, Tool::NodeProxyFromEnv, Tool::Wget] {
            notes.push(PeerNote::new(
                tool,
                format!("matches only subdomains of {bare}, not {bare} itself"),
            ));
        }
    } else if !is_ip && !numeric && !e.contains([':', '/']) {
        notes.push(PeerNote::new(
            Tool::NodeProxyFromEnv,
            format!("matches only the exact host {e}, not its subdomains"),
        ));
        notes.push(PeerNote::new(
            Tool::Requests,
            format!("before 2.34, also matches hosts that merely end in `{e}` (raw string suffix)"),
        ));
    }
    if numeric && !is_ip {
        // An address curl does not read as one (`192.168/16`, `010.0.0.0/8`): as a block, two
        // tools read it, each its own way.
        if let Some((net, mask)) = requests_cidr(e) {
            let addr = e.split('/').next().unwrap_or(e);
            notes.push(PeerNote::new(
                Tool::Requests,
                format!(
                    "reads `{addr}` as {} (as `inet_aton` does), so it matches {}/{}",
                    Ipv4Addr::from(net),
                    Ipv4Addr::from(net & mask),
                    mask.count_ones()
                ),
            ));
        }
        if let Some((net, bits)) = ipnet_cidr(e) {
            notes.push(PeerNote::new(
                Tool::HyperUtil,
                format!("reads leading zeros as decimal, so it matches {net}/{bits}"),
            ));
        }
    }
    if e.ends_with('.') && !is_ip && e.len() > 1 {
        notes.push(PeerNote::new(
            Tool::Go,
            "keeps the trailing dot, so the entry matches no normal host name",
        ));
        notes.push(PeerNote::new(
            Tool::HyperUtil,
            "keeps the trailing dot, so the entry matches no normal host name",
        ));
    }
    if let Some((_, bits)) = parse_cidr(e) {
        if bits == 0 {
            for tool in [Tool::Go, Tool::HyperUtil, Tool::Wget] {
                notes.push(PeerNote::new(
                    tool,
                    "`/0` matches every address of the family",
                ));
            }
        }
        notes.push(PeerNote::new(
            Tool::PythonUrllib,
            "has no CIDR support: never matches",
        ));
        notes.push(PeerNote::new(
            Tool::NodeProxyFromEnv,
            "has no CIDR support: never matches",
        ));
        if e.contains(':') {
            notes.push(PeerNote::new(
                Tool::Requests,
                "supports IPv4 CIDR only: never matches",
            ));
        }
    }
    if e.starts_with('[') {
        notes.push(PeerNote::new(
            Tool::NodeProxyFromEnv,
            "requires IPv6 entries in brackets, so it matches there",
        ));
        notes.push(PeerNote::new(
            Tool::Go,
            "accepts `[v6]:port` and compares the port",
        ));
    } else if e.parse::<std::net::Ipv6Addr>().is_ok() {
        notes.push(PeerNote::new(
            Tool::NodeProxyFromEnv,
            "compares IPv6 hosts with their brackets, so an unbracketed entry never matches",
        ));
        notes.push(PeerNote::new(
            Tool::PythonUrllib,
            "compares IPv6 hosts with their brackets, so an unbracketed entry never matches",
        ));
    }
    if split_host_port(e).is_some() && !e.contains("://") {
        notes.push(PeerNote::new(
            Tool::Go,
            "compares the port with the request's effective port",
        ));
        notes.push(PeerNote::new(
            Tool::NodeProxyFromEnv,
            "compares the port with the request's effective port",
        ));
        notes.push(PeerNote::new(
            Tool::PythonUrllib,
            "matches only URLs that write that port explicitly",
        ));
    }
    if e == "localhost" || e.parse::<Ipv4Addr>().is_ok_and(|ip| ip.is_loopback()) {
        notes.push(PeerNote::new(
            Tool::Go,
            "never proxies localhost or loopback addresses, listed or not",
        ));
    }
    notes
}

#[cfg(test)]
mod tests {
    use super::*;

    fn host(h: &str, port: u16) -> PeerHost<'_> {
        PeerHost {
            host: h,
            port,
            explicit_port: false,
        }
    }

    /// (list, host, port) → expected decision for each tool in `Tool::ALL` order:
    /// Go, urllib, requests, Node, hyper-util, wget. Rows follow the reference table.
    #[test]
    fn peers_disagree_as_documented() {
        type Row = (&'static str, &'static str, u16, [bool; 6]);
        let rows: &[Row] = &[
            // leading dot: curl matches the domain itself; Go, Node, wget do not.
            (
                ".example.com",
                "example.com",
                443,
                [false, true, true, false, true, false],
            ),
            (
                ".example.com",
                "a.example.com",
                443,
                [true, true, true, true, true, true],
            ),
            // bare domain: Node matches the exact host only.
            (
                "example.com",
                "a.example.com",
                443,
                [true, true, true, false, true, true],
            ),
            // `*` element.
            (
                "a.test,*",
                "x.test",
                443,
                [true, false, false, true, true, false],
            ),
            (
                "a.test,*",
                "10.0.0.1",
                443,
                [true, false, false, true, false, false],
            ),
            // `*.d`.
            (
                "*.example.com",
                "a.example.com",
                443,
                [true, false, false, true, false, false],
            ),
            // ports.
            (
                "example.com:443",
                "example.com",
                443,
                [true, false, false, true, false, false],
            ),
            // CIDR.
            (
                "10.0.0.0/8",
                "10.1.2.3",
                80,
                [true, false, true, false, true, false],
            ),
            (
                "0.0.0.0/0",
                "10.1.2.3",
                80,
                [true, false, false, false, true, false],
            ),
            // loopback: Go never proxies it.
            (
                "",
                "127.0.0.1",
                80,
                [true, false, false, false, false, false],
            ),
            // requests ≥ 2.34 compares at a label boundary (earlier releases: raw suffix).
            (
                "ample.com",
                "example.com",
                443,
                [false, false, false, false, false, false],
            ),
            // a short IPv4 block: requests reads `10.1` as 10.0.0.1 (`inet_aton`).
            (
                "10.1/24",
                "10.0.0.7",
                80,
                [false, false, true, false, false, false],
            ),
            // an IPv4-mapped block: Go and hyper-util keep it IPv6, so no IPv4 host is in it.
            (
                "::ffff:10.0.0.0/104",
                "10.1.2.3",
                80,
                [false, false, false, false, false, false],
            ),
            // leading zeros in a block: hyper-util reads them as decimal, requests as octal.
            (
                "010.0.0.0/8",
                "10.1.2.3",
                80,
                [false, false, false, false, true, false],
            ),
            (
                "010.0.0.0/8",
                "8.1.2.3",
                80,
                [false, false, true, false, false, false],
            ),
            // blank-separated list.
            (
                "localhost .example.com",
                "a.example.com",
                443,
                [false, false, false, true, false, false],
            ),
            // wget keeps the blanks opening the value (checked with GNU Wget 1.21.3).
            (
                " 10.0.0.1",
                "10.0.0.1",
                80,
                [true, true, true, true, true, false],
            ),
            (
                "x, 10.0.0.1",
                "10.0.0.1",
                80,
                [true, true, true, true, true, true],
            ),
        ];
        for (list, h, port, want) in rows {
            for (tool, want) in Tool::ALL.iter().zip(want) {
                assert_eq!(
                    bypasses(*tool, list, host(h, *port)),
                    *want,
                    "{tool:?} with no_proxy={list:?} for {h}"
                );
            }
        }
    }

    #[test]
    fn entry_notes_name_the_tools() {
        let tools = |e: &str| -> Vec<Tool> { entry_notes(e).iter().map(|n| n.tool).collect() };
        assert!(tools(".example.com").contains(&Tool::Go));
        assert!(tools("example.com").contains(&Tool::NodeProxyFromEnv));
        assert!(tools("*").contains(&Tool::HyperUtil));
        assert!(tools("0.0.0.0/0").contains(&Tool::Go));
        assert!(tools("example.com:8080").contains(&Tool::PythonUrllib));
        assert!(tools("localhost").contains(&Tool::Go));
        assert_eq!(
            serde_json::to_string(&Tool::NodeProxyFromEnv)
                .ok()
                .as_deref(),
            Some("\"node-proxy-from-env\"")
        );
    }
}
