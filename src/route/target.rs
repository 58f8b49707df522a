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
use std::net::Ipv4Addr;

use http::Uri;
use url::Url;

/// The URL a route was decided for, kept as given.
#[derive(Clone)]
pub(super) enum Target {
    Uri(Uri),
    Url(Url),
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
}

impl UriParts<'_> {
    /// Whether the scheme is `http` or `https`, the two the client sends requests for.
    pub(crate) fn is_http(&self) -> bool {
        matches!(self.scheme.as_ref(), "http" | "https")
    }
}

/// The routing view of an absolute URI, or why there is none.
pub(crate) fn uri_parts(uri: &Uri) -> Result<UriParts<'_>, UriProblem> {
    let scheme = uri.scheme_str().ok_or(UriProblem::Scheme)?;
    // http's own constants are lowercase already; other schemes keep the case they came in.
    let scheme = if scheme.bytes().any(|b| b.is_ascii_uppercase()) {
        Cow::Owned(scheme.to_ascii_lowercase())
    } else {
        Cow::Borrowed(scheme)
    };
    let raw = uri
        .host()
        .filter(|h| !h.is_empty())
        .ok_or(UriProblem::NoHost)?;
    let host = canonical_host(raw).map_err(UriProblem::Host)?;
    let default = if matches!(scheme.as_ref(), "https" | "wss") {
        443
    } else {
        80
    };
    Ok(UriParts {
        scheme,
        host,
        port: explicit_port(uri)?.unwrap_or(default),
    })
}

/// The port the authority writes, if any. `http` reads `a.test:x` as the host `a.test` with no
/// port; the URL standard rejects it, and so does routing.
fn explicit_port(uri: &Uri) -> Result<Option<u16>, UriProblem> {
    let Some(auth) = uri.authority().map(|a| a.as_str()) else {
        return Ok(None);
    };
    let hostport = auth.rsplit_once('@').map_or(auth, |(_, h)| h);
    let after_host = match hostport.strip_prefix('[') {
        Some(v6) => v6.split_once(']').map_or("", |(_, rest)| rest),
        None => hostport.find(':').map_or("", |i| &hostport[i..]),
    };
    match after_host.strip_prefix(':') {
        None if after_host.is_empty() => Ok(None),
        Some("") => Ok(None),
        Some(digits) if digits.bytes().all(|b| b.is_ascii_digit()) => {
            digits.parse().map(Some).map_err(|_| UriProblem::Port)
        }
        _ => Err(UriProblem::Port),
    }
}

/// `host` as the URL standard normalises the host of an `http(s)` URL.
fn canonical_host(host: &str) -> Result<Cow<'_, str>, url::ParseError> {
    if is_plain_name(host) || is_dotted_quad(host) {
        return Ok(Cow::Borrowed(host));
    }
    url::Host::parse(host).map(|h| Cow::Owned(h.to_string()))
}

/// A name the URL standard leaves exactly as written: lowercase letters, digits, `-`, `_` and
/// `.`, no punycode label (those are validated), and not ending in a number (the standard
/// reads such hosts as IPv4 addresses, `127.1` and `0x7f.1` included).
fn is_plain_name(host: &str) -> bool {
    let ok = host
        .bytes()
        .all(|b| matches!(b, b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.'));
    ok && !host.is_empty() && !ends_in_a_number(host) && !host.contains("xn--")
}

/// The standard's "ends in a number" test: the last label (one trailing dot aside) is all
/// digits, or `0x` followed by hex digits.
fn ends_in_a_number(host: &str) -> bool {
    let h = host.strip_suffix('.').unwrap_or(host);
    let last = h.rsplit('.').next().unwrap_or(h);
    if !last.is_empty() && last.bytes().all(|b| b.is_ascii_digit()) {
        return true;
    }
    last.strip_prefix("0x")
        .or_else(|| last.strip_prefix("0X"))
        .is_some_and(|hex| hex.bytes().all(|b| b.is_ascii_hexdigit()))
}

/// Four decimal octets without leading zeros: the form the standard serialises IPv4 in.
fn is_dotted_quad(host: &str) -> bool {
    // std's parser rejects leading zeros, so what it accepts is already canonical.
    host.bytes().all(|b| b.is_ascii_digit() || b == b'.') && host.parse::<Ipv4Addr>().is_ok()
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
        ];
        for h in hosts {
            let uri: Uri = format!("http://{h}/x")
                .parse()
                .unwrap_or_else(|e| panic!("{h}: {e}"));
            let ours = uri_parts(&uri).map(|p| p.host.into_owned()).ok();
            let theirs = Url::parse(&uri.to_string())
                .ok()
                .and_then(|u| u.host_str().map(str::to_owned));
            assert_eq!(ours, theirs, "{h}");
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
}
