//! [`ProxyUrl`]: a proxy address parsed the way curl reads `--proxy` and `*_proxy` values, with
//! default ports, percent-decoded credentials, and notes for everything the input said that the
//! parse did not use. Credentials never leave this type in any printed form.

use std::fmt;
use std::net::Ipv6Addr;
use std::str::FromStr;

use serde::Serialize;

use super::redact::{Secrets, redact_url};
use crate::parse_error::ParseError;

/// A proxy's scheme.
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum ProxyScheme {
    /// `http://`: plain HTTP to the proxy, `CONNECT` for tunnels.
    Http,
    /// `https://`: TLS to the proxy, then as `http://`.
    Https,
    /// `socks4://`: SOCKS4, the destination resolved locally and sent as an IPv4 address; the
    /// URL's user name is the SOCKS4 user id (SOCKS4 has no password).
    Socks4,
    /// `socks4a://`: SOCKS4a, the destination's name sent for the proxy to resolve.
    Socks4a,
    /// `socks5://`: names resolved locally.
    Socks5,
    /// `socks5h://`: names resolved by the proxy.
    Socks5h,
}

impl ProxyScheme {
    /// The scheme as written in a URL, e.g. `"socks5h"`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Http => "http",
            Self::Https => "https",
            Self::Socks4 => "socks4",
            Self::Socks4a => "socks4a",
            Self::Socks5 => "socks5",
            Self::Socks5h => "socks5h",
        }
    }

    /// The port used when the URL names none: curl's defaults, 443 for `https://` and 1080
    /// for every other proxy scheme (`http://` included; Go, Python, requests, Node and
    /// hyper-util use 80 there, see [`ProxyUrlNote::DefaultPort`]).
    pub fn default_port(self) -> u16 {
        match self {
            Self::Https => 443,
            _ => 1080,
        }
    }

    /// Whether proxyscope's connector can use this scheme: every recognised scheme since
    /// SOCKS4 and SOCKS4a gained support.
    pub fn is_connectable(self) -> bool {
        true
    }
}

/// The scheme for a name, case-insensitive.
impl FromStr for ProxyScheme {
    type Err = ParseError;

    fn from_str(name: &str) -> Result<Self, ParseError> {
        const ALL: [ProxyScheme; 6] = [
            ProxyScheme::Http,
            ProxyScheme::Https,
            ProxyScheme::Socks4,
            ProxyScheme::Socks4a,
            ProxyScheme::Socks5,
            ProxyScheme::Socks5h,
        ];
        ALL.into_iter()
            .find(|s| s.as_str().eq_ignore_ascii_case(name))
            .ok_or_else(|| {
                ParseError::new(
                    name,
                    "a proxy scheme (http, https, socks4, socks4a, socks5, socks5h)",
                )
            })
    }
}

impl fmt::Display for ProxyScheme {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Something the input said that the parsed URL does not carry, reported instead of dropped.
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "code", rename_all = "snake_case")]
pub enum ProxyUrlNote {
    /// The value had no scheme; `http://` was assumed (curl, Go, requests, hyper-util), where
    /// Node's proxy-from-env would use the request's scheme instead.
    SchemeAssumed,
    /// The value named no port; the scheme's curl default was used.
    DefaultPort {
        /// The port used.
        port: u16,
    },
    /// A colon after the host with no port after it (`http://proxy:`), most often a template
    /// variable left empty (`http://proxy:${PORT}`). Read as curl reads it after a written
    /// scheme: the scheme's curl default port (1080 for `http://`), where Go, Python,
    /// requests, Node and hyper-util use 80. Without a written scheme curl refuses such a
    /// value, and so does proxyscope ([`ProxyUrlErrorKind::InvalidPort`]).
    EmptyPort {
        /// The port used.
        port: u16,
    },
    /// The scheme `socks://` names no SOCKS version; it is read as SOCKS4, as curl reads it
    /// (names resolved locally, IPv4 only). Python (urllib3: "Unable to determine SOCKS
    /// version") and Go refuse the scheme. Desktop proxy settings write it
    /// (`all_proxy=socks://127.0.0.1:1080/`), mostly for SOCKS5 proxies.
    SocksVersionAssumed,
    /// A path, query or fragment followed the authority; a proxy URL has no use for it.
    PathIgnored {
        /// What followed the authority, as written (secret query values masked).
        rest: String,
    },
    /// Blanks around the value were removed. curl refuses such a value ("Unsupported proxy
    /// syntax", exit 5), so does Python requests, and hyper-util drops it (connects directly):
    /// tools sharing it disagree.
    WhitespaceTrimmed,
    /// The user name or password holds an unencoded `@`. proxyscope, Go, Python, Node and
    /// reqwest end the credentials at the last `@`; curl ends them at the first and then
    /// refuses the value ("Unsupported proxy syntax"); hyper-util's environment matcher ends
    /// them at the first and sends the rest of the password nowhere. Tools sharing the value
    /// disagree.
    AtInCredentials,
}

impl ProxyUrlNote {
    /// The note's stable code, e.g. `"scheme_assumed"`.
    pub fn code(&self) -> &'static str {
        match self {
            Self::SchemeAssumed => "scheme_assumed",
            Self::DefaultPort { .. } => "default_port",
            Self::EmptyPort { .. } => "empty_port",
            Self::SocksVersionAssumed => "socks_version_assumed",
            Self::PathIgnored { .. } => "path_ignored",
            Self::WhitespaceTrimmed => "whitespace_trimmed",
            Self::AtInCredentials => "at_in_credentials",
        }
    }
}

impl fmt::Display for ProxyUrlNote {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::SchemeAssumed => f.write_str(
                "no scheme given: http:// assumed (curl, Go, requests, hyper-util); Node's \
                 proxy-from-env would use the request's scheme",
            ),
            Self::DefaultPort { port } => write!(
                f,
                "no port given: curl's default {port} used (for http:// proxies Go, Python, \
                 requests, Node and hyper-util would use 80)"
            ),
            Self::EmptyPort { port } => write!(
                f,
                "the port after `:` is empty (a template variable left unset?): curl's default \
                 {port} used (for http:// proxies Go, Python, requests, Node and hyper-util \
                 would use 80)"
            ),
            Self::SocksVersionAssumed => f.write_str(
                "socks:// names no SOCKS version: read as SOCKS4 (names resolved locally, IPv4 \
                 only), as curl reads it; Python and Go refuse the scheme, and a proxy that \
                 speaks only SOCKS5 refuses SOCKS4",
            ),
            Self::PathIgnored { rest } => {
                write!(f, "`{rest}` after the proxy's address is ignored")
            }
            Self::WhitespaceTrimmed => f.write_str(
                "blanks around the value were removed here, but curl refuses the value as it is \
                 (\"Unsupported proxy syntax\", exit 5), so does Python requests, and \
                 hyper-util/reqwest drop the proxy without a word and connect directly",
            ),
            Self::AtInCredentials => f.write_str(
                "the user name or password holds an unencoded `@`: the credentials end at the \
                 last `@` here and in Go, Python, Node and reqwest, but curl ends them at the \
                 first and refuses the proxy (\"Unsupported proxy syntax\"), and hyper-util \
                 ends them at the first and sends a cut password",
            ),
        }
    }
}

/// A parsed proxy URL. Display, Debug and Serialize never show credentials.
#[derive(Clone, PartialEq, Eq)]
pub struct ProxyUrl {
    scheme: ProxyScheme,
    host: String,
    port: u16,
    username: Option<String>,
    password: Option<String>,
    notes: Vec<ProxyUrlNote>,
}

impl ProxyUrl {
    /// Parses a proxy URL: `[scheme://][user[:password]@]host[:port][/...]`.
    ///
    /// A value without scheme is `http://`; a missing port is the scheme's curl default
    /// ([`ProxyScheme::default_port`]); credentials are percent-decoded; a path, query or
    /// fragment is kept as a [`ProxyUrlNote`], not silently dropped.
    pub fn parse(input: &str) -> Result<Self, ProxyUrlError> {
        let err = |kind| ProxyUrlError {
            kind,
            input: redact_url(input),
        };
        let mut notes = Vec::new();
        let s = input.trim_matches([' ', '\t', '\r', '\n']);
        if s.is_empty() {
            return Err(err(ProxyUrlErrorKind::Empty));
        }
        if s.len() != input.len() {
            notes.push(ProxyUrlNote::WhitespaceTrimmed);
        }
        if s.len() >= 2
            && let Some(q) = s.chars().next().filter(|c| matches!(c, '"' | '\''))
            && s.ends_with(q)
        {
            return Err(err(ProxyUrlErrorKind::Quoted));
        }
        // `http:/proxy:3128`, `http:///proxy:3128`, `http:proxy:3128`: not `://`, though the
        // scheme is one of ours. (`http:8080` stays what it is: a host named `http`.)
        if let Some((name, after)) = s.split_once(':')
            && url_scheme(name).is_some()
        {
            let rest = after.trim_start_matches('/');
            let slashes = after.len() - rest.len();
            let port_only = slashes == 0 && rest.bytes().all(|b| b.is_ascii_digit());
            if slashes != 2 && !rest.is_empty() && !port_only {
                return Err(err(ProxyUrlErrorKind::Slashes));
            }
        }
        let (scheme, rest) = match s.split_once("://") {
            Some((name, rest)) => match url_scheme(name) {
                Some((scheme, version_assumed)) => {
                    if version_assumed {
                        notes.push(ProxyUrlNote::SocksVersionAssumed);
                    }
                    (scheme, rest)
                }
                None => return Err(err(ProxyUrlErrorKind::UnsupportedScheme)),
            },
            None => {
                notes.push(ProxyUrlNote::SchemeAssumed);
                (ProxyScheme::Http, s)
            }
        };
        let scheme_written = !notes.contains(&ProxyUrlNote::SchemeAssumed);
        let end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
        let (authority, tail) = rest.split_at(end);
        if tail.contains('@') {
            // `http://user:pa/ss@proxy`: curl would read host `user` and port `pa`, with the
            // rest of the password as a path. An `@` after the authority is almost always a
            // password with an unencoded `/`, `?` or `#`; refusing it keeps the password off
            // the wire and names the fix (percent-encoding).
            return Err(err(ProxyUrlErrorKind::InvalidCredentials));
        }
        // A lone "/" (as in `http://proxy:3128/`) is how many people write proxy URLs; it says
        // nothing a proxy could use, so only real paths, queries and fragments are noted.
        if !tail.is_empty() && tail != "/" {
            notes.push(ProxyUrlNote::PathIgnored {
                rest: redact_url(tail),
            });
        }
        let (userinfo, hostport) = match authority.rsplit_once('@') {
            Some((u, h)) => (Some(u), h),
            None => (None, authority),
        };
        if hostport.contains([',', ';', '=']) {
            return Err(err(ProxyUrlErrorKind::List));
        }
        if userinfo.is_some_and(|u| u.contains('@')) {
            notes.push(ProxyUrlNote::AtInCredentials);
        }
        let (username, password) = match userinfo {
            None => (None, None),
            Some(u) => {
                let (user, pass) = match u.split_once(':') {
                    Some((user, pass)) => (user, Some(pass)),
                    None => (u, None),
                };
                let decode = |v: &str| {
                    percent_encoding::percent_decode_str(v)
                        .decode_utf8()
                        .map(|c| c.into_owned())
                        .map_err(|_| err(ProxyUrlErrorKind::InvalidCredentials))
                };
                (Some(decode(user)?), pass.map(decode).transpose()?)
            }
        };
        let (host, port) = split_host_port(hostport).map_err(err)?;
        let port = match port {
            WrittenPort::Number(p) => p,
            WrittenPort::Absent => {
                let port = scheme.default_port();
                notes.push(ProxyUrlNote::DefaultPort { port });
                port
            }
            // As curl 7.88.1 reads it: after a written scheme an empty port is the default
            // port (`http://proxy:` is proxy:1080); without one the value is refused
            // ("Unsupported proxy syntax").
            WrittenPort::Empty if scheme_written => {
                let port = scheme.default_port();
                notes.push(ProxyUrlNote::EmptyPort { port });
                port
            }
            WrittenPort::Empty => return Err(err(ProxyUrlErrorKind::InvalidPort)),
        };
        Ok(Self {
            scheme,
            host,
            port,
            username,
            password,
            notes,
        })
    }

    /// The scheme.
    pub fn scheme(&self) -> ProxyScheme {
        self.scheme
    }
    /// The host, lowercase, without brackets for IPv6.
    pub fn host(&self) -> &str {
        &self.host
    }
    /// The port (explicit or the scheme's default).
    pub fn port(&self) -> u16 {
        self.port
    }
    /// The percent-decoded user name.
    pub fn username(&self) -> Option<&str> {
        self.username.as_deref()
    }
    /// The percent-decoded password.
    pub fn password(&self) -> Option<&str> {
        self.password.as_deref()
    }
    /// Whether the URL carries a user name or a password.
    pub fn has_credentials(&self) -> bool {
        self.username.is_some() || self.password.is_some()
    }
    /// What the input said that this value does not carry (see [`ProxyUrlNote`]).
    pub fn notes(&self) -> &[ProxyUrlNote] {
        &self.notes
    }
    /// `host:port`, IPv6 bracketed.
    pub fn authority(&self) -> String {
        if self.host.contains(':') {
            format!("[{}]:{}", self.host, self.port)
        } else {
            format!("{}:{}", self.host, self.port)
        }
    }
    /// `scheme://host:port`, never credentials.
    pub fn without_credentials(&self) -> String {
        format!("{}://{}", self.scheme.as_str(), self.authority())
    }

    /// The credentials in the forms a proxy may echo back (see [`Secrets`]); empty without
    /// credentials.
    pub fn secrets(&self) -> Secrets {
        let mut s = Secrets::new();
        if let Some(user) = &self.username {
            s.add_credentials(user, self.password.as_deref());
        }
        s
    }
}

/// The scheme a proxy URL's scheme name stands for, and whether it left the SOCKS version to
/// be assumed: `socks` is SOCKS4, as curl reads it.
fn url_scheme(name: &str) -> Option<(ProxyScheme, bool)> {
    match name.parse::<ProxyScheme>() {
        Ok(scheme) => Some((scheme, false)),
        Err(_) if name.eq_ignore_ascii_case("socks") => Some((ProxyScheme::Socks4, true)),
        Err(_) => None,
    }
}

/// The port of a proxy's address, as written.
enum WrittenPort {
    /// No colon after the host.
    Absent,
    /// A colon and nothing after it (`http://proxy:`).
    Empty,
    /// A port from 1 to 65535.
    Number(u16),
}

/// Splits `host[:port]` / `[v6][:port]`; the host comes back lowercase and unbracketed.
fn split_host_port(s: &str) -> Result<(String, WrittenPort), ProxyUrlErrorKind> {
    let (host, port) = if let Some(inner) = s.strip_prefix('[') {
        let (addr, after) = inner
            .split_once(']')
            .ok_or(ProxyUrlErrorKind::InvalidHost)?;
        if addr.parse::<Ipv6Addr>().is_err() {
            return Err(ProxyUrlErrorKind::InvalidHost);
        }
        let port = match after {
            "" => None,
            p => Some(p.strip_prefix(':').ok_or(ProxyUrlErrorKind::InvalidHost)?),
        };
        (addr, port)
    } else {
        match s.rsplit_once(':') {
            Some((h, p)) => (h, Some(p)),
            None => (s, None),
        }
    };
    if host.is_empty() {
        return Err(ProxyUrlErrorKind::MissingHost);
    }
    let bracketed = s.starts_with('[');
    if !bracketed && host.contains(':') {
        // An IPv6 literal must be bracketed in a URL; unbracketed, its last group would be
        // mistaken for the port.
        return Err(ProxyUrlErrorKind::InvalidHost);
    }
    if !bracketed
        && !host
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_'))
    {
        return Err(ProxyUrlErrorKind::InvalidHost);
    }
    let port = match port {
        None => WrittenPort::Absent,
        Some("") => WrittenPort::Empty,
        Some(p) => {
            if !p.bytes().all(|b| b.is_ascii_digit()) {
                return Err(ProxyUrlErrorKind::InvalidPort);
            }
            match p.parse::<u16>() {
                Ok(0) | Err(_) => return Err(ProxyUrlErrorKind::InvalidPort),
                Ok(n) => WrittenPort::Number(n),
            }
        }
    };
    Ok((host.to_ascii_lowercase(), port))
}

/// Like [`ProxyUrl::parse`].
impl FromStr for ProxyUrl {
    type Err = ProxyUrlError;

    fn from_str(s: &str) -> Result<Self, ProxyUrlError> {
        Self::parse(s)
    }
}

impl fmt::Display for ProxyUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.without_credentials())
    }
}
impl fmt::Debug for ProxyUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ProxyUrl")
            .field("url", &self.without_credentials())
            .field("credentials", &self.has_credentials())
            .field("notes", &self.notes)
            .finish()
    }
}
impl Serialize for ProxyUrl {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.without_credentials())
    }
}

/// Why a proxy URL was rejected, without detail that could carry a secret.
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ProxyUrlErrorKind {
    /// The value is empty or only blanks.
    Empty,
    /// The scheme is not one of http, https, socks4, socks4a, socks5, socks5h.
    UnsupportedScheme,
    /// No host between the scheme (or credentials) and the port.
    MissingHost,
    /// The host has characters a host name cannot have, or a malformed IPv6 literal.
    InvalidHost,
    /// The port is not a number, 0 or above 65535, or empty in a value without a scheme
    /// (`proxy:`, which curl refuses too; after a scheme it is [`ProxyUrlNote::EmptyPort`]).
    InvalidPort,
    /// The credentials are not valid percent-encoded UTF-8, or an `@` follows the first `/`,
    /// `?` or `#` (a password with one of those characters unencoded).
    InvalidCredentials,
    /// The scheme is recognised but proxyscope cannot connect through it. No scheme is so any
    /// more (SOCKS4/4a are supported); kept so matching code and the code string stay valid.
    NotConnectable,
    /// The value is wrapped in quotes (`"http://proxy:3128"`), which are part of it: an env
    /// file read by `docker --env-file`, or a value quoted twice in a manifest, keeps them.
    /// No tool reads such a value as a proxy.
    Quoted,
    /// The address holds `,`, `;` or `=`: a list of proxies (`http://a:1,http://b:1`) or
    /// Windows' per-scheme form (`http=a:1;https=b:1`). A proxy variable or setting names one
    /// proxy, in curl, Go, Python and Node alike.
    List,
    /// A known scheme followed by one slash, three or more, or none (`http:/proxy:3128`)
    /// instead of `://`. curl reads it as if written with two; Python and Node find no host
    /// (or a host named after the scheme); hyper-util drops it and connects directly.
    Slashes,
}

impl ProxyUrlErrorKind {
    /// The kind's stable code, e.g. `"unsupported_scheme"`.
    pub fn code(self) -> &'static str {
        match self {
            Self::Empty => "empty",
            Self::UnsupportedScheme => "unsupported_scheme",
            Self::MissingHost => "missing_host",
            Self::InvalidHost => "invalid_host",
            Self::InvalidPort => "invalid_port",
            Self::InvalidCredentials => "invalid_credentials",
            Self::NotConnectable => "not_connectable",
            Self::Quoted => "quoted",
            Self::List => "list",
            Self::Slashes => "slashes",
        }
    }

    fn reason(self) -> &'static str {
        match self {
            Self::Empty => "the value is empty",
            Self::UnsupportedScheme => {
                "the scheme is not one of http, https, socks4, socks4a, socks5, socks5h"
            }
            Self::MissingHost => "it names no host",
            Self::InvalidHost => "the host is not a valid host name or IP literal",
            Self::InvalidPort => "the port is not a number between 1 and 65535",
            Self::InvalidCredentials => {
                "the credentials are not valid percent-encoded UTF-8, or hold an unencoded `/`, `?`, `#` or `@`"
            }
            Self::NotConnectable => "proxyscope cannot connect through this scheme",
            Self::Quoted => "the value is wrapped in quotes, which are part of it",
            Self::List => {
                "it names several proxies (a list, or Windows' per-scheme `http=…;https=…` form), where one proxy URL is read"
            }
            Self::Slashes => {
                "the scheme is not followed by exactly two slashes: curl reads the value as if it were, but Python and Node find no host in it, and hyper-util/reqwest drop the proxy and connect directly"
            }
        }
    }

    fn hint(self) -> &'static str {
        match self {
            Self::Empty => "set a proxy URL such as http://proxy.example:3128, or \"direct\"",
            Self::UnsupportedScheme => {
                "write the proxy as http://, https://, socks4://, socks4a://, socks5:// or socks5h://host:port"
            }
            Self::MissingHost | Self::InvalidHost => {
                "write the proxy as scheme://host:port (IPv6 in brackets)"
            }
            Self::InvalidPort => "give the proxy's port as a number, e.g. http://proxy:3128",
            Self::InvalidCredentials => {
                "percent-encode special characters in the user name and password (%40 for @, %2F for /, %3F for ?, %23 for #)"
            }
            Self::NotConnectable => "use a socks5:// or socks5h:// proxy instead",
            Self::Quoted => {
                "remove the quotes from the value itself (docker --env-file and a value quoted twice in YAML keep them; a shell would have removed them)"
            }
            Self::List => {
                "give one proxy URL per variable or `proxy` setting (http_proxy for http:// requests, https_proxy for https://); to fail over between proxies, a PAC file lists several"
            }
            Self::Slashes => "write the scheme with two slashes: http://proxy.example:3128",
        }
    }
}

/// A rejected proxy URL: the kind and the input with credentials redacted.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ProxyUrlError {
    kind: ProxyUrlErrorKind,
    input: String,
}

impl ProxyUrlError {
    /// An error of `kind` about `input` (credentials are redacted here).
    pub fn new(kind: ProxyUrlErrorKind, input: &str) -> Self {
        Self {
            kind,
            input: redact_url(input),
        }
    }
    /// Why the URL was rejected.
    pub fn kind(&self) -> ProxyUrlErrorKind {
        self.kind
    }
    /// The input as given, with the userinfo and secret query values replaced by `***`.
    pub fn input(&self) -> &str {
        &self.input
    }
    /// The most likely fix.
    pub fn hint(&self) -> &'static str {
        self.kind.hint()
    }
}

impl fmt::Display for ProxyUrlError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "invalid proxy URL `{}`: {}",
            self.input,
            self.kind.reason()
        )
    }
}

impl std::error::Error for ProxyUrlError {}

#[cfg(test)]
mod tests {
    use super::*;

    fn ok(s: &str) -> ProxyUrl {
        match ProxyUrl::parse(s) {
            Ok(u) => u,
            Err(e) => panic!("{s}: {e}"),
        }
    }

    fn kind(s: &str) -> ProxyUrlErrorKind {
        match ProxyUrl::parse(s) {
            Ok(u) => panic!("{s} parsed as {u}"),
            Err(e) => e.kind(),
        }
    }

    #[test]
    fn schemes_hosts_and_ports() {
        let cases: &[(&str, ProxyScheme, &str, u16)] = &[
            (
                "http://proxy.test:3128",
                ProxyScheme::Http,
                "proxy.test",
                3128,
            ),
            (
                "HTTP://Proxy.Test:3128",
                ProxyScheme::Http,
                "proxy.test",
                3128,
            ),
            ("https://proxy.test", ProxyScheme::Https, "proxy.test", 443),
            ("http://proxy.test", ProxyScheme::Http, "proxy.test", 1080),
            ("socks5://10.0.0.1", ProxyScheme::Socks5, "10.0.0.1", 1080),
            (
                "socks5h://s.test:9050",
                ProxyScheme::Socks5h,
                "s.test",
                9050,
            ),
            ("socks4://s.test:1", ProxyScheme::Socks4, "s.test", 1),
            ("socks4a://s.test", ProxyScheme::Socks4a, "s.test", 1080),
            ("proxy.test:8080", ProxyScheme::Http, "proxy.test", 8080),
            ("http://[::1]:3128", ProxyScheme::Http, "::1", 3128),
            (
                "http://[2001:db8::1]",
                ProxyScheme::Http,
                "2001:db8::1",
                1080,
            ),
            (
                "http://proxy.test:3128/",
                ProxyScheme::Http,
                "proxy.test",
                3128,
            ),
            (
                "http://proxy_1.test:65535",
                ProxyScheme::Http,
                "proxy_1.test",
                65535,
            ),
        ];
        for (input, scheme, host, port) in cases {
            let u = ok(input);
            assert_eq!(
                (u.scheme(), u.host(), u.port()),
                (*scheme, *host, *port),
                "{input}"
            );
        }
        assert_eq!(ok("http://[::1]:3128").authority(), "[::1]:3128");
        assert_eq!(
            ok("socks5h://u:p@s.test:9050").without_credentials(),
            "socks5h://s.test:9050"
        );
    }

    #[test]
    fn credentials_are_percent_decoded() {
        let u = ok("http://us%40er:p%3Ass%2F@proxy.test:3128");
        assert_eq!(u.username(), Some("us@er"));
        assert_eq!(u.password(), Some("p:ss/"));
        assert!(u.has_credentials());
        let u = ok("http://only@proxy.test:3128");
        assert_eq!((u.username(), u.password()), (Some("only"), None));
        // The last '@' ends the userinfo, as in Go, Python, Node and reqwest; curl ends it at
        // the first and refuses the value, which the note says.
        let u = ok("http://a@b:c@proxy.test:1");
        assert_eq!(
            (u.username(), u.password(), u.host()),
            (Some("a@b"), Some("c"), "proxy.test")
        );
        assert_eq!(u.notes(), [ProxyUrlNote::AtInCredentials]);
        let u = ok("socks5h://user:p@ss@proxy.test:1080");
        assert_eq!((u.username(), u.password()), (Some("user"), Some("p@ss")));
        assert_eq!(u.notes(), [ProxyUrlNote::AtInCredentials]);
        // Percent-encoded, every tool reads it alike: no note.
        let u = ok("http://user:p%40ss@proxy.test:1");
        assert_eq!(u.password(), Some("p@ss"));
        assert!(u.notes().is_empty());
        assert!(!ProxyUrlNote::AtInCredentials.to_string().contains("p@ss"));
        assert!(!ok("http://proxy.test:1").has_credentials());
    }

    #[test]
    fn notes_report_what_was_not_used() {
        let codes = |s: &str| -> Vec<&'static str> {
            ok(s).notes().iter().map(ProxyUrlNote::code).collect()
        };
        assert_eq!(codes("proxy.test:3128"), ["scheme_assumed"]);
        assert_eq!(codes("http://proxy.test"), ["default_port"]);
        assert_eq!(codes("http://proxy.test:"), ["empty_port"]);
        assert_eq!(codes("socks://proxy.test:1080"), ["socks_version_assumed"]);
        assert_eq!(
            codes("SOCKS://proxy.test"),
            ["socks_version_assumed", "default_port"]
        );
        assert_eq!(ok("socks://proxy.test:1080").scheme(), ProxyScheme::Socks4);
        assert_eq!(
            ok("socks://u:p@proxy.test:1080/").to_string(),
            "socks4://proxy.test:1080"
        );
        assert_eq!(codes("http://proxy.test:1/path?q#f"), ["path_ignored"]);
        assert_eq!(codes(" http://proxy.test:1 "), ["whitespace_trimmed"]);
        assert_eq!(codes("http://a:b@c@proxy.test:1"), ["at_in_credentials"]);
        assert!(codes("http://proxy.test:1/").is_empty());
        match &ok("http://p.test:1/x?y").notes()[0] {
            ProxyUrlNote::PathIgnored { rest } => assert_eq!(rest, "/x?y"),
            other => panic!("{other:?}"),
        }
    }

    /// An empty port after a written scheme, as curl 7.88.1 reads it (`curl -x VALUE`, and the
    /// same value in `http_proxy`): the scheme's default port, noted. Without a scheme curl
    /// refuses the value ("Unsupported proxy syntax"), as `rejected_inputs` pins.
    #[test]
    fn an_empty_port_after_a_scheme_is_the_default_port_noted() {
        for (value, host, port) in [
            ("http://127.0.0.1:", "127.0.0.1", 1080),
            ("HTTP://127.0.0.1:", "127.0.0.1", 1080),
            ("http://127.0.0.1:/", "127.0.0.1", 1080),
            ("https://127.0.0.1:", "127.0.0.1", 443),
            ("socks5://127.0.0.1:", "127.0.0.1", 1080),
            ("http://[::1]:", "::1", 1080),
            ("http://u:p@proxy.test:", "proxy.test", 1080),
        ] {
            let u = ok(value);
            assert_eq!((u.host(), u.port()), (host, port), "{value}");
            assert_eq!(u.notes(), [ProxyUrlNote::EmptyPort { port }], "{value}");
        }
        assert_eq!(ok("http://u:p@proxy.test:").password(), Some("p"));
        let note = ProxyUrlNote::EmptyPort { port: 1080 };
        assert_eq!(note.code(), "empty_port");
        assert!(note.to_string().contains("1080"));
    }

    #[test]
    fn rejected_inputs() {
        let cases: &[(&str, ProxyUrlErrorKind)] = &[
            ("", ProxyUrlErrorKind::Empty),
            ("   ", ProxyUrlErrorKind::Empty),
            ("ftp://proxy.test:21", ProxyUrlErrorKind::UnsupportedScheme),
            ("foo://proxy.test", ProxyUrlErrorKind::UnsupportedScheme),
            ("http://", ProxyUrlErrorKind::MissingHost),
            ("http://:3128", ProxyUrlErrorKind::MissingHost),
            ("http://u:p@:3128", ProxyUrlErrorKind::MissingHost),
            ("proxy.test:", ProxyUrlErrorKind::InvalidPort),
            ("u:p@proxy.test:/", ProxyUrlErrorKind::InvalidPort),
            ("http://proxy.test:0", ProxyUrlErrorKind::InvalidPort),
            ("http://proxy.test:65536", ProxyUrlErrorKind::InvalidPort),
            ("http://proxy.test:80a", ProxyUrlErrorKind::InvalidPort),
            ("http://pro xy.test:1", ProxyUrlErrorKind::InvalidHost),
            ("http://[::1:3128", ProxyUrlErrorKind::InvalidHost),
            ("http://[zz::1]:1", ProxyUrlErrorKind::InvalidHost),
            ("http://::1:3128", ProxyUrlErrorKind::InvalidHost),
            (
                "http://u:%ff@proxy.test:1",
                ProxyUrlErrorKind::InvalidCredentials,
            ),
            (
                "http://u:pa/ss@proxy.test:1",
                ProxyUrlErrorKind::InvalidCredentials,
            ),
            (
                "http://u:12/ss@proxy.test:1",
                ProxyUrlErrorKind::InvalidCredentials,
            ),
            ("u:p?s@proxy.test:1", ProxyUrlErrorKind::InvalidCredentials),
            (
                "http://u:p#s@proxy.test",
                ProxyUrlErrorKind::InvalidCredentials,
            ),
            (
                "http://proxy.test:1/p@th",
                ProxyUrlErrorKind::InvalidCredentials,
            ),
            // Quotes kept from an env file or a twice-quoted manifest value.
            ("\"http://proxy.test:3128\"", ProxyUrlErrorKind::Quoted),
            ("'http://proxy.test:3128'", ProxyUrlErrorKind::Quoted),
            (" \"proxy.test:3128\" ", ProxyUrlErrorKind::Quoted),
            ("\"\"", ProxyUrlErrorKind::Quoted),
            // Not `://` after a scheme of ours.
            ("http:/proxy.test:3128", ProxyUrlErrorKind::Slashes),
            ("http:///proxy.test:3128", ProxyUrlErrorKind::Slashes),
            ("HTTPS:proxy.test:3128", ProxyUrlErrorKind::Slashes),
            ("socks5h:////proxy.test", ProxyUrlErrorKind::Slashes),
            // One quote only: not a quoted value, just a bad scheme.
            (
                "\"http://proxy.test:3128",
                ProxyUrlErrorKind::UnsupportedScheme,
            ),
            // Several proxies where one is read.
            ("http://a.test:1,http://b.test:1", ProxyUrlErrorKind::List),
            ("a.test:1;b.test:2", ProxyUrlErrorKind::List),
            ("http=a.test:80;https=a.test:443", ProxyUrlErrorKind::List),
            ("https=a.test:443", ProxyUrlErrorKind::List),
        ];
        for (input, want) in cases {
            assert_eq!(kind(input), *want, "{input}");
        }
        let e = ProxyUrl::parse("\"http://u:Kq8Zw5@proxy.test:3128\"").unwrap_err();
        assert!(!format!("{e} {e:?}").contains("Kq8Zw5"));
    }

    #[test]
    fn scheme_helpers() {
        assert!(ProxyScheme::Socks5h.is_connectable());
        assert!(ProxyScheme::Socks4.is_connectable());
        assert!(ProxyScheme::Socks4a.is_connectable());
        assert_eq!("SOCKS5H".parse::<ProxyScheme>(), Ok(ProxyScheme::Socks5h));
        let e = "ftp".parse::<ProxyScheme>().unwrap_err();
        assert_eq!(e.input(), "ftp");
        assert!(e.to_string().contains("socks5h"));
        assert_eq!(
            "http://u:p@proxy.test:3128".parse::<ProxyUrl>().unwrap(),
            ProxyUrl::parse("http://u:p@proxy.test:3128").unwrap()
        );
        assert_eq!(ProxyScheme::Https.default_port(), 443);
    }

    #[test]
    fn secrets_never_printed() {
        let u = ok("http://alice:s3cr3t@proxy.test:3128");
        for text in [
            u.to_string(),
            format!("{u:?}"),
            serde_json::to_string(&u).unwrap_or_default(),
        ] {
            assert!(
                !text.contains("s3cr3t") && !text.contains("alice"),
                "{text}"
            );
        }
        let e = ProxyUrl::parse("ftp://alice:s3cr3t@proxy.test:21").unwrap_err();
        for text in [
            e.to_string(),
            format!("{e:?}"),
            serde_json::to_string(&e).unwrap_or_default(),
            e.input().to_owned(),
        ] {
            assert!(
                !text.contains("s3cr3t") && !text.contains("alice"),
                "{text}"
            );
        }
        let e = ProxyUrl::parse("alice:s3cr3t@proxy.test:99999").unwrap_err();
        assert!(!e.to_string().contains("s3cr3t"), "{e}");
        for pass in [
            "Zq9/Xw7",
            "Zq9?Xw7",
            "Zq9#Xw7",
            "Zq9@Xw7",
            "Zq9 Xw7,Vb4",
            "Zq9%ffXw7",
        ] {
            let input = format!("http://alice:{pass}@proxy.test:3128");
            let text = match ProxyUrl::parse(&input) {
                Ok(u) => format!("{u} {u:?}"),
                Err(e) => format!("{e} {e:?} {}", e.input()),
            };
            for part in ["alice", "Zq9", "Xw7", "Vb4"] {
                assert!(!text.contains(part), "{pass}: {text}");
            }
        }
        let u = ok("http://proxy.test:3128/x?token=T0K3N");
        assert!(!format!("{:?}", u.notes()).contains("T0K3N"));
    }
}
