//! Where and when in a request something happened: the [`Hop`] (proxy or origin) and the
//! [`Phase`] (config, DNS, connect, proxy handshake, TLS, HTTP).
//!
//! The lowest module of the crate: settings name timeouts by phase and errors carry both, so
//! these two enums sit below everything that uses them. Re-exported from [`crate::error`].

use std::fmt;

use serde::Serialize;

/// Which side of the connection failed.
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Hop {
    /// The forward proxy (its name, its TCP port, its TLS, its handshake, its replies).
    Proxy,
    /// The destination server, reached directly or through a tunnel.
    Origin,
}

impl Hop {
    /// `"proxy"` or `"origin"`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Proxy => "proxy",
            Self::Origin => "origin",
        }
    }
}

impl fmt::Display for Hop {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// When in the life of a request the failure happened.
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Phase {
    /// Before any I/O: loading or validating the configuration, or the request's own inputs
    /// (its URL).
    Config,
    /// Name resolution.
    Dns,
    /// TCP connect.
    Connect,
    /// CONNECT, SOCKS, or TLS to an `https://` proxy.
    Proxy,
    /// TLS with the origin.
    Tls,
    /// The HTTP exchange with the origin (or the proxy, for absolute-form requests).
    Http,
}

impl Phase {
    /// The phase's lowercase name, as serialised.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Config => "config",
            Self::Dns => "dns",
            Self::Connect => "connect",
            Self::Proxy => "proxy",
            Self::Tls => "tls",
            Self::Http => "http",
        }
    }
}

impl fmt::Display for Phase {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}
