//! [`ErrorKind`]: the stable, machine-readable codes (`proxy.forbidden`, `tls.unknown_issuer`,
//! ...) with the hop and phase each belongs to by default. The codes are a public contract:
//! scripts and monitoring match on them, so they are only ever added, never renamed.

use std::fmt;

use serde::Serialize;

use super::{Hop, Phase};

/// What went wrong, as a stable machine-readable kind. See [`ErrorKind::code`].
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum ErrorKind {
    /// The configuration failed validation; the diagnostics are in the evidence.
    ConfigInvalid,
    /// A CA file is missing, unreadable, empty or not PEM.
    ConfigCaFile,
    /// A proxy URL is invalid or of an unsupported scheme.
    ConfigProxyUrl,
    /// The proxy's host name did not resolve.
    ProxyDns,
    /// TCP connect to the proxy was refused or the proxy was unreachable.
    ProxyConnect,
    /// Connecting to the proxy, or the proxy handshake, did not finish in time.
    ProxyTimeout,
    /// TLS to an `https://` proxy failed.
    ProxyTls,
    /// The proxy answered 407 and no credentials were sent.
    ProxyAuthRequired,
    /// The proxy answered 407 although credentials were sent.
    ProxyAuthRejected,
    /// The proxy refused the destination (403, Squid `ERR_ACCESS_DENIED`, ...).
    ProxyForbidden,
    /// The proxy could not reach the destination (502/503/504, `ERR_DNS_FAIL`, ...).
    ProxyUpstream,
    /// Any other non-2xx reply to CONNECT, or a SOCKS failure reply.
    ProxyRefused,
    /// The proxy's reply is not HTTP/SOCKS, is malformed or oversized.
    ProxyProtocol,
    /// The proxy closed the connection during the handshake.
    ProxyClosed,
    /// The destination's name did not resolve.
    OriginDns,
    /// TCP connect to the destination was refused or unreachable.
    OriginConnect,
    /// Connecting to the destination did not finish in time.
    OriginTimeout,
    /// The origin's chain does not lead to a trusted root.
    TlsUnknownIssuer,
    /// The origin's certificate is not valid for the host name.
    TlsHostnameMismatch,
    /// A certificate in the origin's chain has expired.
    TlsExpired,
    /// A certificate in the origin's chain is not yet valid.
    TlsNotYetValid,
    /// Any other TLS failure with the origin.
    TlsHandshake,
    /// The TLS handshake with the origin stalled.
    TlsTimeout,
    /// The origin asked for a client certificate and none was configured.
    TlsClientCertRequired,
    /// The origin rejected the client certificate that was presented (its alert is evidence).
    TlsClientCertRejected,
    /// The origin answered with an unexpected status.
    HttpStatus,
    /// A check's body or header expectation failed.
    HttpBody,
    /// The response was malformed or the connection closed early.
    HttpProtocol,
    /// The response did not arrive in time.
    HttpTimeout,
    /// A body read into memory was larger than its cap (the cap and the size seen are in
    /// `evidence().size_limit`).
    HttpBodyTooLarge,
    /// A proxy auto-config (PAC) script does not compile: a JavaScript syntax error.
    PacSyntax,
    /// A PAC script failed while it ran: it threw, called a missing function, or exceeded its
    /// memory or stack limit.
    PacRuntime,
    /// A PAC script did not finish within its time limit.
    PacTimeout,
    /// A PAC script's answer is not a usable proxy list (not a string, empty, or no entry
    /// parses).
    PacResult,
    /// The request's URL is malformed or not an absolute `http(s)://` URL with a host; nothing
    /// was sent.
    RequestUrl,
    /// A request header's name or value is invalid (a CR or LF in a value, a name that is not an
    /// HTTP token); nothing was sent.
    RequestHeader,
    /// The request's body could not be produced: it could not be serialised (JSON, form), so
    /// nothing was sent, or a streaming body failed midway and the request was abandoned.
    RequestBody,
    /// The response body could not be decoded: JSON that does not parse into the requested
    /// type, or a compressed body that does not decompress.
    HttpDecode,
    /// A redirect led back to a URL already visited in the same chain.
    HttpRedirectLoop,
    /// More redirects than the request's limit allowed.
    HttpTooManyRedirects,
}

impl ErrorKind {
    /// Every kind, in code order. Used by tests and by renderers that enumerate codes.
    pub const ALL: &'static [ErrorKind] = &[
        Self::ConfigInvalid,
        Self::ConfigCaFile,
        Self::ConfigProxyUrl,
        Self::ProxyDns,
        Self::ProxyConnect,
        Self::ProxyTimeout,
        Self::ProxyTls,
        Self::ProxyAuthRequired,
        Self::ProxyAuthRejected,
        Self::ProxyForbidden,
        Self::ProxyUpstream,
        Self::ProxyRefused,
        Self::ProxyProtocol,
        Self::ProxyClosed,
        Self::OriginDns,
        Self::OriginConnect,
        Self::OriginTimeout,
        Self::TlsUnknownIssuer,
        Self::TlsHostnameMismatch,
        Self::TlsExpired,
        Self::TlsNotYetValid,
        Self::TlsHandshake,
        Self::TlsTimeout,
        Self::TlsClientCertRequired,
        Self::TlsClientCertRejected,
        Self::HttpStatus,
        Self::HttpBody,
        Self::HttpProtocol,
        Self::HttpTimeout,
        Self::HttpBodyTooLarge,
        Self::PacSyntax,
        Self::PacRuntime,
        Self::PacTimeout,
        Self::PacResult,
        Self::RequestUrl,
        Self::RequestHeader,
        Self::RequestBody,
        Self::HttpDecode,
        Self::HttpRedirectLoop,
        Self::HttpTooManyRedirects,
    ];

    /// The stable dotted code, e.g. `proxy.forbidden`. Never renamed.
    pub fn code(self) -> &'static str {
        match self {
            Self::ConfigInvalid => "config.invalid",
            Self::ConfigCaFile => "config.ca_file",
            Self::ConfigProxyUrl => "config.proxy_url",
            Self::ProxyDns => "proxy.dns",
            Self::ProxyConnect => "proxy.connect",
            Self::ProxyTimeout => "proxy.timeout",
            Self::ProxyTls => "proxy.tls",
            Self::ProxyAuthRequired => "proxy.auth_required",
            Self::ProxyAuthRejected => "proxy.auth_rejected",
            Self::ProxyForbidden => "proxy.forbidden",
            Self::ProxyUpstream => "proxy.upstream",
            Self::ProxyRefused => "proxy.refused",
            Self::ProxyProtocol => "proxy.protocol",
            Self::ProxyClosed => "proxy.closed",
            Self::OriginDns => "origin.dns",
            Self::OriginConnect => "origin.connect",
            Self::OriginTimeout => "origin.timeout",
            Self::TlsUnknownIssuer => "tls.unknown_issuer",
            Self::TlsHostnameMismatch => "tls.hostname_mismatch",
            Self::TlsExpired => "tls.expired",
            Self::TlsNotYetValid => "tls.not_yet_valid",
            Self::TlsHandshake => "tls.handshake",
            Self::TlsTimeout => "tls.timeout",
            Self::TlsClientCertRequired => "tls.client_cert_required",
            Self::TlsClientCertRejected => "tls.client_cert_rejected",
            Self::HttpStatus => "http.status",
            Self::HttpBody => "http.body",
            Self::HttpProtocol => "http.protocol",
            Self::HttpTimeout => "http.timeout",
            Self::HttpBodyTooLarge => "http.body_too_large",
            Self::PacSyntax => "pac.syntax",
            Self::PacRuntime => "pac.runtime",
            Self::PacTimeout => "pac.timeout",
            Self::PacResult => "pac.result",
            Self::RequestUrl => "request.url",
            Self::RequestHeader => "request.header",
            Self::RequestBody => "request.body",
            Self::HttpDecode => "http.decode",
            Self::HttpRedirectLoop => "http.redirect_loop",
            Self::HttpTooManyRedirects => "http.too_many_redirects",
        }
    }

    /// The kind for a code string, the inverse of [`ErrorKind::code`].
    pub fn from_code(code: &str) -> Option<Self> {
        Self::ALL.iter().copied().find(|k| k.code() == code)
    }

    /// A short sentence describing the kind, used when no more specific message was given.
    pub(super) fn summary(self) -> &'static str {
        match self {
            Self::ConfigInvalid => "the configuration is invalid",
            Self::ConfigCaFile => "a CA file cannot be used",
            Self::ConfigProxyUrl => "a proxy URL is invalid",
            Self::ProxyDns => "the proxy's host name did not resolve",
            Self::ProxyConnect => "could not connect to the proxy",
            Self::ProxyTimeout => "the proxy did not answer in time",
            Self::ProxyTls => "TLS to the proxy failed",
            Self::ProxyAuthRequired => "the proxy requires authentication",
            Self::ProxyAuthRejected => "the proxy rejected the credentials",
            Self::ProxyForbidden => "the proxy refused the destination",
            Self::ProxyUpstream => "the proxy could not reach the destination",
            Self::ProxyRefused => "the proxy refused the tunnel",
            Self::ProxyProtocol => "the proxy's reply is malformed",
            Self::ProxyClosed => "the proxy closed the connection during the handshake",
            Self::OriginDns => "the destination's host name did not resolve",
            Self::OriginConnect => "could not connect to the destination",
            Self::OriginTimeout => "the destination did not accept the connection in time",
            Self::TlsUnknownIssuer => "the server's certificate chain is not trusted",
            Self::TlsHostnameMismatch => "the server's certificate is not valid for the host name",
            Self::TlsExpired => "a certificate in the server's chain has expired",
            Self::TlsNotYetValid => "a certificate in the server's chain is not yet valid",
            Self::TlsHandshake => "the TLS handshake failed",
            Self::TlsTimeout => "the TLS handshake did not finish in time",
            Self::TlsClientCertRequired => {
                "the server requires a client certificate and none is configured"
            }
            Self::TlsClientCertRejected => "the server rejected the client certificate",
            Self::HttpStatus => "unexpected HTTP status",
            Self::HttpBody => "the response did not meet the expectation",
            Self::HttpProtocol => "the HTTP exchange failed",
            Self::HttpTimeout => "the response did not arrive in time",
            Self::HttpBodyTooLarge => "the response body is larger than its cap",
            Self::PacSyntax => "the PAC script does not compile",
            Self::PacRuntime => "the PAC script failed",
            Self::PacTimeout => "the PAC script did not finish in time",
            Self::PacResult => "the PAC script's answer is not a proxy list",
            Self::RequestUrl => "the request URL is invalid",
            Self::RequestHeader => "a request header is invalid",
            Self::RequestBody => "the request body could not be produced",
            Self::HttpDecode => "the response body could not be decoded",
            Self::HttpRedirectLoop => "the redirects lead in a loop",
            Self::HttpTooManyRedirects => "too many redirects",
        }
    }

    /// The hop a kind belongs to when the failure site does not say otherwise.
    pub fn default_hop(self) -> Option<Hop> {
        match self.default_phase() {
            // Nothing was sent: no hop failed (configuration, a PAC script deciding the route, a
            // request URL).
            Phase::Config => None,
            _ if self.code().starts_with("proxy.") => Some(Hop::Proxy),
            _ => Some(Hop::Origin),
        }
    }

    /// The phase a kind belongs to when the failure site does not say otherwise.
    pub fn default_phase(self) -> Phase {
        match self {
            // The route is decided before any connection; a PAC failure is a failure to decide
            // it, which is configuration (the script), not DNS or connect.
            Self::ConfigInvalid
            | Self::ConfigCaFile
            | Self::ConfigProxyUrl
            | Self::PacSyntax
            | Self::PacRuntime
            | Self::PacTimeout
            | Self::PacResult
            | Self::RequestUrl
            | Self::RequestHeader
            | Self::RequestBody => Phase::Config,
            Self::ProxyDns | Self::OriginDns => Phase::Dns,
            Self::ProxyConnect | Self::OriginConnect | Self::OriginTimeout => Phase::Connect,
            Self::ProxyTimeout
            | Self::ProxyTls
            | Self::ProxyAuthRequired
            | Self::ProxyAuthRejected
            | Self::ProxyForbidden
            | Self::ProxyUpstream
            | Self::ProxyRefused
            | Self::ProxyProtocol
            | Self::ProxyClosed => Phase::Proxy,
            Self::TlsUnknownIssuer
            | Self::TlsHostnameMismatch
            | Self::TlsExpired
            | Self::TlsNotYetValid
            | Self::TlsHandshake
            | Self::TlsTimeout
            | Self::TlsClientCertRequired
            | Self::TlsClientCertRejected => Phase::Tls,
            Self::HttpStatus
            | Self::HttpBody
            | Self::HttpProtocol
            | Self::HttpTimeout
            | Self::HttpDecode
            | Self::HttpRedirectLoop
            | Self::HttpTooManyRedirects
            | Self::HttpBodyTooLarge => Phase::Http,
        }
    }
}

impl fmt::Display for ErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}

impl Serialize for ErrorKind {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.code())
    }
}
