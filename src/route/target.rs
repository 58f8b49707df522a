//! The URL a route is decided for, read from an `http::Uri` without turning it into text: the
//! scheme, and the host exactly as the URL standard (and so the `url` crate, whose form
//! [`Route::url`](super::Route::url) prints) normalises it — lowercase, IPv4 in dotted
//! decimal, IPv6 bracketed and compressed.
//!
//! Nearly every host is already in that form (a lowercase name, or a dotted-quad address) and
//! is used as it is; anything else (upper case, percent-escapes, IPv4 in other notations,
//! IPv6, punycode labels) goes through the `url` crate's host parser, so routing sees the host
//! the explanation will print.

use std::borrow::Cow;

use http::Uri;
use url::Url;

/// The URL a route was decided for, kept as given.
#[derive(Clone)]
pub(super) enum Target {
    /// A request URI short enough to copy: what a decision keeps nearly always.
    Inline(InlineUri),
    /// A longer request URI's text, copied to the heap. Not the `Uri` itself: cloning one takes
    /// two atomic reference counts (authority and path share a buffer), and holding one would
    /// make every route 8 bytes larger than the 128 it is moved in registers within.
    Long(LongUri),
    /// Boxed: routes on the request path carry a `Uri`, and a route is moved a few times.
    Url(Box<Url>),
}

/// Bytes of URI text a route holds in place. Sized so a [`Target`] is 88 bytes and a route
/// 128 (see `Via`), and long enough for the usual API URL.
const INLINE: usize = 84;

/// A request URI's text (as `Uri` prints it) on the heap, with the ends of its scheme and of
/// its authority.
#[derive(Clone)]
pub(super) struct LongUri {
    text: Box<str>,
    scheme: u32,
    authority: u32,
}

impl LongUri {
    fn of(uri: &Uri) -> Self {
        // As `Uri` prints it (what the explanation parses); the scheme and authority are where
        // they print.
        let scheme = uri.scheme_str().map_or(0, str::len);
        let authority = uri.authority().map_or(0, |a| a.as_str().len());
        let authority = if uri.scheme().is_some() {
            scheme + 3 + authority
        } else {
            authority
        };
        let end = |n: usize| u32::try_from(n).unwrap_or(u32::MAX);
        Self {
            text: uri.to_string().into_boxed_str(),
            scheme: end(scheme),
            authority: end(authority),
        }
    }

    fn scheme(&self) -> &[u8] {
        let end = usize::try_from(self.scheme).unwrap_or(usize::MAX);
        self.text.as_bytes().get(..end).unwrap_or_default()
    }

    fn authority(&self) -> &[u8] {
        let start = usize::try_from(self.scheme).map_or(usize::MAX, |s| s + 3);
        let end = usize::try_from(self.authority).unwrap_or(usize::MAX);
        self.text.as_bytes().get(start..end).unwrap_or_default()
    }
}

/// A request URI's text (`scheme://authority/path?query`, as `Uri` prints it) copied into the
/// route. Copying a few dozen bytes is cheaper than cloning the `Uri`: that takes two atomic
/// reference counts (authority and path share a buffer) and releases them when the route is
/// dropped, which on a `NO_PROXY` hit cost more than the decision itself.
#[derive(Clone, Copy)]
pub(super) struct InlineUri {
    text: [u8; INLINE],
    len: u8,
    /// The ends of the scheme and of the authority in `text`.
    scheme: u8,
    authority: u8,
}

impl InlineUri {
    fn bytes(&self) -> &[u8] {
        &self.text[..usize::from(self.len)]
    }

    fn scheme(&self) -> &[u8] {
        &self.text[..usize::from(self.scheme)]
    }

    fn authority(&self) -> &[u8] {
        &self.text[usize::from(self.scheme) + 3..usize::from(self.authority)]
    }
}

impl Target {
    /// What a route decided for `uri` keeps of it: the text in place when it fits, else the
    /// text on the heap.
    #[inline(always)]
    pub(super) fn of_uri(uri: &Uri) -> Self {
        match inline(uri) {
            Some(t) => Self::Inline(t),
            None => Self::Long(LongUri::of(uri)),
        }
    }

    /// Whether `uri` has the scheme and authority this target has (both compared without
    /// regard to ASCII case, as `http` compares them).
    pub(super) fn is_for(&self, uri: &Uri) -> bool {
        match self {
            Self::Inline(t) => same_origin(t.scheme(), t.authority(), uri),
            Self::Long(t) => same_origin(t.scheme(), t.authority(), uri),
            Self::Url(_) => false,
        }
    }

    /// The request URI's text, as `Uri` prints it.
    pub(super) fn text(&self) -> Cow<'_, str> {
        match self {
            Self::Inline(t) => String::from_utf8_lossy(t.bytes()),
            Self::Long(t) => Cow::Borrowed(&t.text),
            Self::Url(u) => Cow::Borrowed(u.as_str()),
        }
    }
}

/// Whether `uri` has this scheme and authority (ASCII case aside, as `http` compares them).
fn same_origin(scheme: &[u8], authority: &[u8], uri: &Uri) -> bool {
    let theirs = uri.scheme_str().unwrap_or("").as_bytes();
    let auth = uri.authority().map_or("", |a| a.as_str()).as_bytes();
    uri.scheme().is_some()
        && scheme.eq_ignore_ascii_case(theirs)
        && authority.eq_ignore_ascii_case(auth)
}

/// `uri`'s text in place, when it has a scheme and an authority and fits.
#[inline(always)]
fn inline(uri: &Uri) -> Option<InlineUri> {
    let scheme = uri.scheme_str()?.as_bytes();
    let auth = uri.authority()?.as_str().as_bytes();
    // An absolute URI always has a path ("/" when empty), as `Uri` prints it.
    let path = uri.path_and_query().map_or("/", |p| p.as_str()).as_bytes();
    let scheme_end = scheme.len();
    let auth_start = scheme_end + 3;
    let auth_end = auth_start + auth.len();
    let len = auth_end + path.len();
    if len > INLINE {
        return None;
    }
    let mut text = [0; INLINE];
    text[..scheme_end].copy_from_slice(scheme);
    text[scheme_end..auth_start].copy_from_slice(b"://");
    text[auth_start..auth_end].copy_from_slice(auth);
    text[auth_end..len].copy_from_slice(path);
    Some(InlineUri {
        text,
        len: u8::try_from(len).ok()?,
        scheme: u8::try_from(scheme_end).ok()?,
        authority: u8::try_from(auth_end).ok()?,
    })
}

/// Why a URI cannot be routed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum UriProblem {
    /// No scheme: a relative reference.
    Scheme,
    /// No host, or an empty one.
    NoHost,
    /// A host the URL standard rejects.
    Host(url::ParseError),
    /// A port that is not a number from 0 to 65535 (`http` reads such a port as absent).
    Port,
}

/// What routing needs from an absolute URI: its scheme (lowercase), its host as the URL
/// standard writes it, and its port (explicit, else 443 for `https`/`wss` and 80 otherwise).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct UriParts<'a> {
    pub(crate) scheme: Cow<'a, str>,
    pub(crate) host: Cow<'a, str>,
    pub(crate) port: u16,
    /// For a host that is a plain lowercase name (no IP form): the name without a trailing
    /// dot and its label count, as `no_proxy` matching compares it — read in the same pass.
    pub(crate) name: Option<(&'a str, usize)>,
}

impl UriParts<'_> {
    /// Whether the scheme is `http` or `https`, the two the client sends requests for.
    pub(crate) fn is_http(&self) -> bool {
        matches!(self.scheme.as_ref(), "http" | "https")
    }

    /// `host:port`, as `format!("{}:{}", host, port)` writes it, made on every request without
    /// the formatting machinery.
    pub(crate) fn host_port(&self) -> String {
        let mut digits = [0u8; 5];
        let mut at = digits.len();
        let mut port = self.port;
        loop {
            at -= 1;
            // `port % 10` is a digit: the cast cannot truncate.
            digits[at] = b'0' + (port % 10) as u8;
            port /= 10;
            if port == 0 {
                break;
            }
        }
        let mut text = String::with_capacity(self.host.len() + 1 + digits.len() - at);
        text.push_str(&self.host);
        text.push(':');
        for &d in &digits[at..] {
            text.push(char::from(d));
        }
        text
    }
}

/// The routing view of an absolute URI, or why there is none. This runs for every request, so
/// the common authority (a lowercase name or a dotted quad, maybe a port) is read in one pass;
/// everything else takes the general path through the `url` crate's host parser.
pub(crate) fn uri_parts(uri: &Uri) -> Result<UriParts<'_>, UriProblem> {
    let scheme = uri.scheme_str().ok_or(UriProblem::Scheme)?;
    // http's own constants are lowercase already; other schemes keep the case they came in.
    let scheme = if scheme.bytes().any(|b| b.is_ascii_uppercase()) {
        Cow::Owned(scheme.to_ascii_lowercase())
    } else {
        Cow::Borrowed(scheme)
    };
    let auth = uri.authority().map_or("", |a| a.as_str());
    let scan = scan(auth.as_bytes());
    let (host, port, name) = if scan.other {
        let (raw, port) = split_authority(auth);
        if raw.is_empty() {
            return Err(UriProblem::NoHost);
        }
        (canonical_host(raw).map_err(UriProblem::Host)?, port, None)
    } else {
        let raw = &auth[scan.start..scan.end];
        let port = (scan.end < auth.len()).then(|| &auth[scan.end + 1..]);
        let b = raw.as_bytes();
        let Some(&last) = b.last() else {
            return Err(UriProblem::NoHost);
        };
        // The standard ignores one trailing dot when it looks at the last label.
        let (from, to) = if last == b'.' {
            scan.prev
        } else {
            (scan.label, scan.end)
        };
        if !ends_in_a_number(&auth.as_bytes()[from..to]) {
            let (stem, labels) = match raw.strip_suffix('.') {
                Some(stem) => (stem, scan.dots),
                None => (raw, scan.dots + 1),
            };
            (Cow::Borrowed(raw), port, Some((stem, labels)))
        } else {
            (canonical_host(raw).map_err(UriProblem::Host)?, port, None)
        }
    };
    let port = match port {
        None | Some("") => None,
        Some(digits) if digits.bytes().all(|b| b.is_ascii_digit()) => {
            Some(digits.parse().map_err(|_| UriProblem::Port)?)
        }
        // `http` reads `a.test:x` as the host `a.test` with no port; the URL standard rejects
        // it, and so does routing.
        Some(_) => return Err(UriProblem::Port),
    };
    let default = if matches!(scheme.as_ref(), "https" | "wss") {
        443
    } else {
        80
    };
    Ok(UriParts {
        scheme,
        host,
        port: port.unwrap_or(default),
        name,
    })
}

/// Byte classes for [`scan`]: one table load per byte.
const OTHER: u8 = 0;
const NAME: u8 = 1;
const DOT: u8 = 2;
const X: u8 = 3;
const COLON: u8 = 4;
const AT: u8 = 5;
const CLASSES: [u8; 256] = {
    let mut t = [OTHER; 256];
    let mut b = 0;
    while b < 256 {
        t[b] = match b as u8 {
            b'x' => X,
            b'.' => DOT,
            b':' => COLON,
            b'@' => AT,
            b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' => NAME,
            _ => OTHER,
        };
        b += 1;
    }
    t
};

/// What one pass over an authority found, positions in the authority.
struct Scan {
    /// The host starts after the last `@` and ends at the first `:` after it.
    start: usize,
    end: usize,
    /// The last label's start, the bounds of the one before it, and the dots in the host.
    label: usize,
    prev: (usize, usize),
    dots: usize,
    /// The host has something other than lowercase letters, digits, `-`, `_` and `.` (upper
    /// case, brackets, escapes), or a punycode label: the general path reads it.
    other: bool,
}

impl Scan {
    /// Nothing seen yet of a host that starts at `start`.
    fn from(start: usize, end: usize) -> Self {
        Self {
            start,
            end,
            label: start,
            prev: (start, start),
            dots: 0,
            other: false,
        }
    }
}

fn scan(auth: &[u8]) -> Scan {
    let mut s = Scan::from(0, auth.len());
    let mut i = 0;
    let n = auth.len();
    while i < n {
        // Name bytes are nearly all of a host: skipped in a loop of their own, one compare
        // each (in the loop below, the compiler dispatches every byte through a jump table).
        i += auth[i..]
            .iter()
            .position(|&c| CLASSES[usize::from(c)] != NAME)
            .unwrap_or(n - i);
        let Some(&c) = auth.get(i) else { break };
        match CLASSES[usize::from(c)] {
            DOT => {
                s.prev = (s.label, i);
                s.label = i + 1;
                s.dots += 1;
            }
            // Userinfo ends here: the host starts again.
            AT => s = Scan::from(i + 1, auth.len()),
            // The port, or a password: nothing after it matters but a later `@`, after
            // which the host starts again.
            COLON => {
                s.end = i;
                match auth[i..].iter().rposition(|&b| b == b'@') {
                    Some(at) => {
                        i += at + 1;
                        s = Scan::from(i, auth.len());
                        continue;
                    }
                    None => break,
                }
            }
            X if i != s.label || !auth[i..].starts_with(b"xn--") => {}
            _ => s.other = true,
        }
        i += 1;
    }
    s
}

/// The host (IPv6 with its brackets) and what follows a `:` after it, userinfo skipped.
fn split_authority(auth: &str) -> (&str, Option<&str>) {
    let hostport = match auth.rfind('@') {
        Some(at) => &auth[at + 1..],
        None => auth,
    };
    let end = if hostport.starts_with('[') {
        hostport.find(']').map_or(hostport.len(), |i| i + 1)
    } else {
        hostport.find(':').unwrap_or(hostport.len())
    };
    let (host, rest) = hostport.split_at(end);
    match rest.strip_prefix(':') {
        Some(port) => (host, Some(port)),
        // Anything else after a bracketed host is not a port: let the port check refuse it.
        None if rest.is_empty() => (host, None),
        None => (host, Some(rest)),
    }
}

/// `host` as the URL standard normalises the host of an `http(s)` URL.
fn canonical_host(host: &str) -> Result<Cow<'_, str>, url::ParseError> {
    if is_dotted_quad(host.as_bytes()) {
        return Ok(Cow::Borrowed(host));
    }
    url::Host::parse(host).map(|h| Cow::Owned(h.to_string()))
}

/// Four decimal octets from 0 to 255 without leading zeros: the form the standard writes IPv4
/// in, so such a host is already canonical.
fn is_dotted_quad(b: &[u8]) -> bool {
    let (mut dots, mut value, mut digits) = (0, 0u32, 0);
    for &c in b {
        match c {
            b'.' if digits > 0 && dots < 3 => {
                dots += 1;
                (value, digits) = (0, 0);
            }
            // A leading zero makes the standard read the octet as octal.
            b'0'..=b'9' if !(digits == 1 && value == 0) => {
                value = value * 10 + u32::from(c - b'0');
                digits += 1;
                if value > 255 {
                    return false;
                }
            }
            _ => return false,
        }
    }
    dots == 3 && digits > 0
}

/// The standard's "ends in a number" test on the last label: all digits, or `0x` followed by
/// hex digits. Such hosts are read as IPv4 addresses (`127.1` and `0x7f.1` included).
fn ends_in_a_number(last: &[u8]) -> bool {
    if !last.is_empty() && last.iter().all(u8::is_ascii_digit) {
        return true;
    }
    last.strip_prefix(b"0x")
        .or_else(|| last.strip_prefix(b"0X"))
        .is_some_and(|hex| hex.iter().all(u8::is_ascii_hexdigit))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every host reads as the `url` crate reads it in a full URL: routing and the printed
    /// explanation see the same host.
    #[test]
    fn hosts_read_as_the_url_crate_reads_them() {
        let hosts = [
            "a.test",
            "A.Test",
            "a_b.test",
            "127.0.0.1",
            "127.1",
            "0x7f.0.0.1",
            "1.2.3",
            "010.0.0.1",
            "a.1",
            "a.0x1f",
            "a.test.",
            "[::1]",
            "[::FFFF:1.2.3.4]",
            "[2001:DB8::1]",
            "xn--nxasmq6b.test",
            "xn--a.test",
            "a!b.test",
            "a$b.test",
            "example.com.",
            "1.2.3.4.",
            "a..",
            "a.1.",
            "a.0x.",
            "ab.xn--p1ai",
            "axn--b.test",
            "_.test",
        ];
        for h in hosts {
            let uri: Uri = format!("http://u@{h}:8080/x")
                .parse()
                .unwrap_or_else(|e| panic!("{h}: {e}"));
            // The name handed to no_proxy matching is the host less one trailing dot.
            if let Ok(UriParts {
                name: Some((stem, labels)),
                host,
                ..
            }) = uri_parts(&uri)
            {
                assert_eq!(host.strip_suffix('.').unwrap_or(&host), stem, "{h}");
                assert_eq!(stem.split('.').count(), labels, "{h}");
            }
            let ours = uri_parts(&uri).map(|p| p.host.into_owned()).ok();
            let theirs = Url::parse(&uri.to_string())
                .ok()
                .and_then(|u| u.host_str().map(str::to_owned));
            assert_eq!(ours, theirs, "{h}");
        }
    }

    /// A decision keeps a short URI's text in place and a long one's on the heap: either way
    /// the text printed later, and the scheme and authority a connection is matched on, are
    /// the `Uri`'s own.
    #[test]
    fn targets_keep_the_uri_as_it_prints() {
        let long = format!("https://a.test/{}", "x".repeat(INLINE));
        let fits = format!(
            "https://a.test/{}",
            "x".repeat(INLINE - "https://a.test/".len())
        );
        let x = "x".repeat(INLINE);
        // Long forms of the awkward cases: userinfo, case, a port, a query, IPv6, escapes.
        let long_userinfo = format!("HTTP://U:pw@A.Test:8080/{x}?q=1#f");
        let long_v6 = format!("https://[::1]:443/{x}?y");
        let long_escaped = format!("wss://a.test/%20{x}");
        let long_query = format!("http://a.test/?{x}");
        for (s, inline) in [
            ("https://a.test/", true),
            ("https://a.test", true),
            ("HTTP://U:pw@A.Test:8080/p?q=1#f", true),
            ("https://[::1]:443/x?y", true),
            ("wss://a.test/%20", true),
            (fits.as_str(), true),
            (long.as_str(), false),
            (long_userinfo.as_str(), false),
            (long_v6.as_str(), false),
            (long_escaped.as_str(), false),
            (long_query.as_str(), false),
        ] {
            let uri: Uri = s.parse().unwrap_or_else(|e| panic!("{s}: {e}"));
            let t = Target::of_uri(&uri);
            assert_eq!(matches!(t, Target::Inline(_)), inline, "{s}");
            assert_eq!(t.text(), uri.to_string(), "{s}");
            assert!(t.is_for(&uri), "{s}");
            let other_scheme = format!("ftp{}", &s[s.find(':').unwrap_or(0)..]);
            let other_host = s
                .replacen("a.test", "b.test", 1)
                .replacen("A.Test", "b.test", 1);
            for other in [other_scheme, other_host] {
                let o: Uri = other.parse().unwrap_or_else(|e| panic!("{other}: {e}"));
                let same = uri.scheme() == o.scheme() && uri.authority() == o.authority();
                assert_eq!(t.is_for(&o), same, "{s} vs {other}");
            }
        }
        // Case does not tell a scheme or an authority apart, as in `http`'s comparison.
        let uri: Uri = "https://a.test:1/"
            .parse()
            .unwrap_or_else(|e| panic!("{e}"));
        let upper: Uri = "HTTPS://A.TEST:1/z"
            .parse()
            .unwrap_or_else(|e| panic!("{e}"));
        assert!(Target::of_uri(&uri).is_for(&upper));
        assert!(!Target::of_uri(&uri).is_for(&"/a".parse().unwrap_or_else(|e| panic!("{e}"))));
        // No larger than the `Uri` it replaces.
        assert!(std::mem::size_of::<Target>() <= std::mem::size_of::<Uri>() + 8);
    }

    #[test]
    fn dotted_quads_are_exactly_what_std_accepts() {
        for h in [
            "1.2.3.4",
            "0.0.0.0",
            "255.255.255.255",
            "256.1.1.1",
            "01.2.3.4",
            "1.2.3",
            "1.2.3.4.",
            "1..3.4",
            ".1.2.3",
            "1.2.3.4.5",
            "10.0.0.0",
            "1.2.3.04",
            "",
            "a.b.c.d",
        ] {
            let std = h.parse::<std::net::Ipv4Addr>().is_ok();
            assert_eq!(is_dotted_quad(h.as_bytes()), std, "{h:?}");
        }
    }

    #[test]
    fn only_absolute_http_uris_with_a_host_are_routed() {
        let uri = |s: &str| s.parse::<Uri>().unwrap_or_else(|e| panic!("{s}: {e}"));
        let parts = |s: &str| {
            uri_parts(&uri(s)).map(|p| (p.scheme.into_owned(), p.host.into_owned(), p.port))
        };
        assert_eq!(parts("/relative").err(), Some(UriProblem::Scheme));
        assert!(matches!(parts("http://[v1.x]/"), Err(UriProblem::Host(_))));
        for bad_port in [
            "http://a.test:x/",
            "http://a.test:65536/",
            "http://[::1]:1x/",
        ] {
            assert_eq!(parts(bad_port).err(), Some(UriProblem::Port), "{bad_port}");
        }
        let want = |s: &str, h: &str, p: u16| Ok((s.to_owned(), h.to_owned(), p));
        assert_eq!(parts("http://a.test:/"), want("http", "a.test", 80));
        assert_eq!(parts("http://u@[::1]:81/"), want("http", "[::1]", 81));
        assert_eq!(
            parts("HTTPS://U:pw@A.test:8443/x"),
            want("https", "a.test", 8443)
        );
        assert_eq!(parts("http://a.test/"), want("http", "a.test", 80));
        assert_eq!(parts("wss://a.test/"), want("wss", "a.test", 443));
        let https = uri("https://a.test/");
        let ftp = uri("ftp://a.test/");
        assert!(uri_parts(&https).is_ok_and(|p| p.is_http()));
        assert!(uri_parts(&ftp).is_ok_and(|p| !p.is_http()));
    }

    /// `host_port` writes what `format!("{}:{}", host, port)` writes, every port included.
    #[test]
    fn host_port_is_the_formatted_text() {
        for host in ["a.test", "[::1]", "127.0.0.1", ""] {
            for port in (0..=u16::MAX)
                .step_by(7)
                .chain([0, 1, 9, 10, 99, 100, 65535])
            {
                let p = UriParts {
                    scheme: "http".into(),
                    host: host.into(),
                    port,
                    name: None,
                };
                assert_eq!(p.host_port(), format!("{host}:{port}"));
            }
        }
    }
}
