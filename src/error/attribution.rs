//! [`Attribution`]: who wrote an HTTP response that came through a proxy (the proxy itself or the
//! origin), the [`ResponsePath`] it took and the signatures that decided it. The decision is made
//! from the bytes by the wire module; this is the record an error or a response carries.

use serde::Serialize;

use super::Hop;

/// How the response reached us.
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ResponsePath {
    /// Straight from the origin (no proxy configured).
    Direct,
    /// Through an HTTP proxy in absolute-form: the proxy could have written it.
    AbsoluteForm,
    /// Through a CONNECT or SOCKS tunnel: the proxy cannot see inside (unless it intercepts TLS).
    Tunnel,
}

/// Who produced an HTTP response received through a proxy, and why we think so.
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Attribution {
    /// `proxy` or `origin`.
    pub source: Hop,
    /// The evidence that decided it, one fact per entry.
    pub reasons: Vec<String>,
    /// How the response reached us.
    pub path: ResponsePath,
    /// `X-Squid-Error`, when present.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub squid_error: Option<String>,
    /// `Proxy-Status`, when present.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub proxy_status: Option<String>,
    /// `Server`, when present.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub server: Option<String>,
    /// `Via`, when present (proves a proxy was on the path, not who wrote the reply).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub via: Option<String>,
    /// A proxy error-template marker found in the body, when a body was examined.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub body_marker: Option<String>,
}

impl Attribution {
    /// Whether the proxy generated the response.
    pub fn is_proxy_generated(&self) -> bool {
        self.source == Hop::Proxy
    }
}
