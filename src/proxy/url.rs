//! STUB: `ProxyUrl`.
use serde::Serialize;
use std::fmt;

/// A proxy's scheme.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum ProxyScheme {
    /// `http://`
    Http,
    /// `https://`
    Https,
    /// `socks4://`
    Socks4,
    /// `socks4a://`
    Socks4a,
    /// `socks5://` (names resolved locally)
    Socks5,
    /// `socks5h://` (names resolved by the proxy)
    Socks5h,
}

/// A parsed proxy URL. Display, Debug and Serialize redact credentials.
#[derive(Clone, PartialEq, Eq)]
pub struct ProxyUrl {
    scheme: ProxyScheme,
    host: String,
    port: u16,
    username: Option<String>,
    password: Option<String>,
}

impl ProxyUrl {
    /// Parses a proxy URL.
    pub fn parse(s: &str) -> Result<Self, ProxyUrlError> {
        let s = s.trim();
        let (scheme, rest) = match s.split_once("://") {
            Some(("http", r)) => (ProxyScheme::Http, r),
            Some(("https", r)) => (ProxyScheme::Https, r),
            Some(("socks5", r)) => (ProxyScheme::Socks5, r),
            Some(("socks5h", r)) => (ProxyScheme::Socks5h, r),
            Some(_) => {
                return Err(ProxyUrlError {
                    input: s.to_owned(),
                });
            }
            None => (ProxyScheme::Http, s),
        };
        let (creds, hostport) = match rest.rsplit_once('@') {
            Some((c, h)) => (Some(c), h),
            None => (None, rest),
        };
        let hostport = hostport.split('/').next().unwrap_or("");
        let (host, port) = match hostport.rsplit_once(':') {
            Some((h, p)) => (
                h,
                p.parse().map_err(|_| ProxyUrlError {
                    input: s.to_owned(),
                })?,
            ),
            None => (
                hostport,
                if scheme == ProxyScheme::Https {
                    443
                } else if scheme == ProxyScheme::Http {
                    80
                } else {
                    1080
                },
            ),
        };
        let (username, password) = match creds {
            Some(c) => match c.split_once(':') {
                Some((u, p)) => (Some(u.to_owned()), Some(p.to_owned())),
                None => (Some(c.to_owned()), None),
            },
            None => (None, None),
        };
        Ok(Self {
            scheme,
            host: host.trim_matches(['[', ']']).to_owned(),
            port,
            username,
            password,
        })
    }
    /// The scheme.
    pub fn scheme(&self) -> ProxyScheme {
        self.scheme
    }
    /// The host, without brackets for IPv6.
    pub fn host(&self) -> &str {
        &self.host
    }
    /// The port (explicit or the scheme's default).
    pub fn port(&self) -> u16 {
        self.port
    }
    /// The decoded user name.
    pub fn username(&self) -> Option<&str> {
        self.username.as_deref()
    }
    /// The decoded password.
    pub fn password(&self) -> Option<&str> {
        self.password.as_deref()
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
        format!(
            "{}://{}",
            match self.scheme {
                ProxyScheme::Http => "http",
                ProxyScheme::Https => "https",
                ProxyScheme::Socks4 => "socks4",
                ProxyScheme::Socks4a => "socks4a",
                ProxyScheme::Socks5 => "socks5",
                ProxyScheme::Socks5h => "socks5h",
            },
            self.authority()
        )
    }
}

impl fmt::Display for ProxyUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.without_credentials())
    }
}
impl fmt::Debug for ProxyUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.without_credentials())
    }
}
impl Serialize for ProxyUrl {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.without_credentials())
    }
}

/// Why a proxy URL was rejected.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProxyUrlError {
    input: String,
}
impl fmt::Display for ProxyUrlError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "invalid proxy URL {}", self.input)
    }
}
impl std::error::Error for ProxyUrlError {}
