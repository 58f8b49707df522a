//! The one public [`Error`]: a stable [`ErrorKind`] code, the failing [`Hop`] and [`Phase`], the
//! [`Route`] that was taken, the [`Evidence`] gathered on the way and a hint that names the fix.
//!
//! Errors are built where the failure is observed (connector, TLS verifier, config loader) with
//! [`Error::new`] and the `with_*` methods; everything else reads them through accessors. The codes
//! are a public contract: scripts and monitoring match on them, so they are only ever added.

use std::fmt;
use std::net::SocketAddr;
use std::time::Duration;

use serde::Serialize;

use crate::route::Route;

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
    /// The origin answered with an unexpected status.
    HttpStatus,
    /// A check's body or header expectation failed.
    HttpBody,
    /// The response was malformed or the connection closed early.
    HttpProtocol,
    /// The response did not arrive in time.
    HttpTimeout,
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
        Self::HttpStatus,
        Self::HttpBody,
        Self::HttpProtocol,
        Self::HttpTimeout,
        Self::PacSyntax,
        Self::PacRuntime,
        Self::PacTimeout,
        Self::PacResult,
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
            Self::HttpStatus => "http.status",
            Self::HttpBody => "http.body",
            Self::HttpProtocol => "http.protocol",
            Self::HttpTimeout => "http.timeout",
            Self::PacSyntax => "pac.syntax",
            Self::PacRuntime => "pac.runtime",
            Self::PacTimeout => "pac.timeout",
            Self::PacResult => "pac.result",
        }
    }

    /// The kind for a code string, the inverse of [`ErrorKind::code`].
    pub fn from_code(code: &str) -> Option<Self> {
        Self::ALL.iter().copied().find(|k| k.code() == code)
    }

    /// A short sentence describing the kind, used when no more specific message was given.
    fn summary(self) -> &'static str {
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
            Self::HttpStatus => "unexpected HTTP status",
            Self::HttpBody => "the response did not meet the expectation",
            Self::HttpProtocol => "the HTTP exchange failed",
            Self::HttpTimeout => "the response did not arrive in time",
            Self::PacSyntax => "the PAC script does not compile",
            Self::PacRuntime => "the PAC script failed",
            Self::PacTimeout => "the PAC script did not finish in time",
            Self::PacResult => "the PAC script's answer is not a proxy list",
        }
    }

    /// The hop a kind belongs to when the failure site does not say otherwise.
    pub fn default_hop(self) -> Option<Hop> {
        let code = self.code();
        if code.starts_with("proxy.") {
            Some(Hop::Proxy)
        } else if code.starts_with("config.") || code.starts_with("pac.") {
            // A PAC script is local configuration that decides the route: no hop was reached.
            None
        } else {
            Some(Hop::Origin)
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
            | Self::PacResult => Phase::Config,
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
            | Self::TlsTimeout => Phase::Tls,
            Self::HttpStatus | Self::HttpBody | Self::HttpProtocol | Self::HttpTimeout => {
                Phase::Http
            }
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

/// Which side of the connection failed.
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
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Phase {
    /// Loading or validating configuration.
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

/// One address the connector tried, and how it went.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AddrAttempt {
    /// The address.
    pub addr: SocketAddr,
    /// The error, or `None` when the connect succeeded.
    pub error: Option<String>,
}

/// What a proxy said when it refused, kept verbatim (bounded) so nothing is thrown away.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct ProxyReply {
    /// The status code (HTTP) or the reply code (SOCKS).
    pub status: u16,
    /// The reason phrase, or the SOCKS reply's meaning.
    pub reason: String,
    /// `Server`, `Via`, `X-Squid-Error`, `Proxy-Status`, `Proxy-Authenticate`, `Content-Type`,
    /// and vendor error headers, in the order received, credentials never included.
    pub headers: Vec<(String, String)>,
    /// At most 1 KiB of the body, lossily decoded.
    pub body_excerpt: Option<String>,
    /// Whether the body was longer than the excerpt.
    pub body_truncated: bool,
}

impl ProxyReply {
    /// The first header with this name (case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// Everything observed about a failure. Each field is present only when it was observed.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Evidence {
    /// The target (`host:port`) being reached.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub target: Option<String>,
    /// The proxy (`scheme://host:port`, never credentials), when one was used.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub proxy: Option<String>,
    /// Addresses tried, in order.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub addresses: Vec<AddrAttempt>,
    /// The proxy's reply to CONNECT / SOCKS, or the proxy-generated response for absolute-form.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub proxy_reply: Option<ProxyReply>,
    /// Whether credentials were sent to the proxy.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub credentials_sent: Option<bool>,
    /// The authentication schemes the proxy offered (from `Proxy-Authenticate`).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub auth_schemes: Vec<String>,
    /// The realm the proxy named.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub auth_realm: Option<String>,
    /// The HTTP status that was unexpected (`http.status`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status: Option<u16>,
    /// Who produced an HTTP response: `"proxy"` or `"origin"`, and why we think so.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub attribution: Option<crate::client::Attribution>,
    /// How long each connection phase that completed before the failure took.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub timings: Option<crate::connect::Timings>,
    /// The timeout that expired.
    #[serde(
        skip_serializing_if = "Option::is_none",
        serialize_with = "ser_opt_duration"
    )]
    pub timeout: Option<Duration>,
    /// TLS facts: the presented chain, the trust store, the diagnosis.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tls: Option<Box<crate::tls::TlsEvidence>>,
    /// Config diagnostics (`config.invalid`).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub diagnostics: Vec<crate::config::Diagnostic>,
    /// The file a `config.ca_file` error is about.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub file: Option<String>,
    /// What an expectation wanted and what was seen (`http.body`, `http.status`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub expected: Option<String>,
    /// The setting or environment variable a configuration error is about, e.g. `https_proxy`
    /// or `providers.yandex.proxy`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub setting: Option<String>,
    /// The offending value as written, credentials redacted (`config.*` errors).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub value: Option<String>,
    /// The low-level cause, as text, for logs (never credentials).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cause: Option<String>,
    /// Why the file of a `config.ca_file` error cannot be used.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ca_file_problem: Option<crate::tls::CaFileProblem>,
    /// What a proxy auto-config script was asked and did (`pac.*` errors).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pac: Option<Box<PacEvidence>>,
}

/// What is known about a failed proxy auto-config (PAC) evaluation. Every field is bounded: the
/// strings are cut to at most 1 KiB and the alerts to the first few.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct PacEvidence {
    /// Where the script came from: its file path, or `inline`.
    pub script: String,
    /// The URL passed to `FindProxyForURL` (credentials never included).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    /// The host passed to `FindProxyForURL`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub host: Option<String>,
    /// `line:column` in the script of a syntax error or of the statement that threw.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub location: Option<String>,
    /// The limit the script hit: `time`, `memory` or `stack`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub limit: Option<String>,
    /// The exception the script threw, as JavaScript prints it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub exception: Option<String>,
    /// What `FindProxyForURL` returned (`pac.result`): the string, or the type of a non-string.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub returned: Option<String>,
    /// What the script passed to `alert()` during this evaluation, in order.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub alerts: Vec<String>,
}

fn ser_opt_duration<S: serde::Serializer>(d: &Option<Duration>, s: S) -> Result<S::Ok, S::Error> {
    match d {
        Some(d) => s.serialize_u64(d.as_millis() as u64),
        None => s.serialize_none(),
    }
}

type Source = Box<dyn std::error::Error + Send + Sync + 'static>;

struct Inner {
    kind: ErrorKind,
    hop: Option<Hop>,
    phase: Phase,
    message: Option<String>,
    hint: Option<String>,
    route: Option<Route>,
    evidence: Evidence,
    source: Option<Source>,
}

/// A proxyscope failure: pointer-sized, `Send + Sync`, with a stable [`code`](Error::code).
pub struct Error {
    inner: Box<Inner>,
}

impl Error {
    /// A new error of `kind`, with the kind's default hop and phase.
    pub fn new(kind: ErrorKind) -> Self {
        Self {
            inner: Box::new(Inner {
                kind,
                hop: kind.default_hop(),
                phase: kind.default_phase(),
                message: None,
                hint: None,
                route: None,
                evidence: Evidence::default(),
                source: None,
            }),
        }
    }

    /// Sets the one-line message (a fact about this failure, no `Debug` output).
    pub fn with_message(mut self, message: impl Into<String>) -> Self {
        self.inner.message = Some(message.into());
        self
    }

    /// Sets the hint: the most likely fix.
    pub fn with_hint(mut self, hint: impl Into<String>) -> Self {
        self.inner.hint = Some(hint.into());
        self
    }

    /// Overrides the hop.
    pub fn with_hop(mut self, hop: Hop) -> Self {
        self.inner.hop = Some(hop);
        self
    }

    /// Overrides the phase.
    pub fn with_phase(mut self, phase: Phase) -> Self {
        self.inner.phase = phase;
        self
    }

    /// Attaches the route the request took.
    pub fn with_route(mut self, route: Route) -> Self {
        self.inner.route = Some(route);
        self
    }

    /// Attaches the route unless one is already attached.
    pub fn or_route(mut self, route: &Route) -> Self {
        if self.inner.route.is_none() {
            self.inner.route = Some(route.clone());
        }
        self
    }

    /// Replaces the evidence.
    pub fn with_evidence(mut self, evidence: Evidence) -> Self {
        self.inner.evidence = evidence;
        self
    }

    /// Edits the evidence in place.
    pub fn map_evidence(mut self, f: impl FnOnce(&mut Evidence)) -> Self {
        f(&mut self.inner.evidence);
        self
    }

    /// Sets the underlying cause, kept for [`std::error::Error::source`].
    pub fn with_source(mut self, source: impl Into<Source>) -> Self {
        let source = source.into();
        if self.inner.evidence.cause.is_none() {
            self.inner.evidence.cause = Some(crate::proxy::redact_text(&source.to_string()));
        }
        self.inner.source = Some(source);
        self
    }

    /// The kind.
    pub fn kind(&self) -> ErrorKind {
        self.inner.kind
    }

    /// The stable code, e.g. `proxy.forbidden`.
    pub fn code(&self) -> &'static str {
        self.inner.kind.code()
    }

    /// The failing hop; `None` for configuration errors.
    pub fn hop(&self) -> Option<Hop> {
        self.inner.hop
    }

    /// The failing phase.
    pub fn phase(&self) -> Phase {
        self.inner.phase
    }

    /// The route taken, when the failure happened on a request.
    pub fn route(&self) -> Option<&Route> {
        self.inner.route.as_ref()
    }

    /// The evidence gathered.
    pub fn evidence(&self) -> &Evidence {
        &self.inner.evidence
    }

    /// The most likely fix.
    pub fn hint(&self) -> Option<&str> {
        self.inner.hint.as_deref()
    }

    /// The one-line message (same as `Display`).
    pub fn message(&self) -> String {
        self.to_string()
    }

    /// The whole story: the message, each cause, the route, the evidence that matters, the hint.
    pub fn report(&self) -> String {
        use std::fmt::Write as _;
        let mut out = format!("error[{}]: {self}", self.code());
        let mut src = std::error::Error::source(self);
        while let Some(s) = src {
            let _ = write!(
                out,
                "\n  caused by: {}",
                crate::proxy::redact_text(&s.to_string())
            );
            src = s.source();
        }
        if let Some(hop) = self.hop() {
            let _ = write!(out, "\n  hop: {hop}, phase: {}", self.phase());
        }
        if let Some(route) = self.route() {
            let _ = write!(out, "\n  route: {}", route.summary());
        }
        let ev = &self.inner.evidence;
        if let Some(r) = &ev.proxy_reply {
            let _ = write!(out, "\n  proxy replied: {} {}", r.status, r.reason);
            for (n, v) in &r.headers {
                let _ = write!(out, "\n    {n}: {v}");
            }
            if let Some(b) = &r.body_excerpt {
                let line = b.split_whitespace().collect::<Vec<_>>().join(" ");
                let short: String = line.chars().take(200).collect();
                let _ = write!(out, "\n    body: {short}");
            }
        }
        for a in &ev.addresses {
            match &a.error {
                Some(e) => {
                    let _ = write!(out, "\n  tried {}: {e}", a.addr);
                }
                None => {
                    let _ = write!(out, "\n  connected to {}", a.addr);
                }
            }
        }
        if let Some(tls) = &ev.tls {
            let _ = write!(out, "\n{}", tls.report_lines("  "));
        }
        for d in &ev.diagnostics {
            let _ = write!(out, "\n  {d}");
        }
        if let Some(pac) = &ev.pac {
            let _ = write!(out, "\n  pac script: {}", pac.script);
            if let Some(loc) = &pac.location {
                let _ = write!(out, " at {loc}");
            }
            if let (Some(url), Some(host)) = (&pac.url, &pac.host) {
                let _ = write!(out, "\n  FindProxyForURL(\"{url}\", \"{host}\")");
            }
            if let Some(r) = &pac.returned {
                let _ = write!(out, "\n  returned: {r}");
            }
            for a in &pac.alerts {
                let _ = write!(out, "\n  alert: {a}");
            }
        }
        if let Some(h) = self.hint() {
            let _ = write!(out, "\n  hint: {h}");
        }
        out
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.inner.message {
            Some(m) => f.write_str(m),
            None => f.write_str(self.inner.kind.summary()),
        }
    }
}

impl fmt::Debug for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Error")
            .field("code", &self.code())
            .field("hop", &self.inner.hop)
            .field("phase", &self.inner.phase)
            .field("message", &self.to_string())
            .field("hint", &self.inner.hint)
            .field("route", &self.inner.route)
            .field("evidence", &self.inner.evidence)
            .finish()
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.inner
            .source
            .as_deref()
            .map(|s| s as &(dyn std::error::Error + 'static))
    }
}

impl Serialize for Error {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeStruct;
        let mut st = s.serialize_struct("Error", 7)?;
        st.serialize_field("code", self.code())?;
        st.serialize_field("hop", &self.inner.hop)?;
        st.serialize_field("phase", &self.inner.phase)?;
        st.serialize_field("message", &self.to_string())?;
        st.serialize_field("hint", &self.inner.hint)?;
        st.serialize_field("route", &self.inner.route)?;
        st.serialize_field("evidence", &self.inner.evidence)?;
        st.end()
    }
}

/// `Result` with proxyscope's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_the_public_contract() {
        // A change here is deliberate: scripts and alerts match these strings.
        let codes: Vec<&str> = ErrorKind::ALL.iter().map(|k| k.code()).collect();
        assert_eq!(
            codes,
            [
                "config.invalid",
                "config.ca_file",
                "config.proxy_url",
                "proxy.dns",
                "proxy.connect",
                "proxy.timeout",
                "proxy.tls",
                "proxy.auth_required",
                "proxy.auth_rejected",
                "proxy.forbidden",
                "proxy.upstream",
                "proxy.refused",
                "proxy.protocol",
                "proxy.closed",
                "origin.dns",
                "origin.connect",
                "origin.timeout",
                "tls.unknown_issuer",
                "tls.hostname_mismatch",
                "tls.expired",
                "tls.not_yet_valid",
                "tls.handshake",
                "tls.timeout",
                "http.status",
                "http.body",
                "http.protocol",
                "http.timeout",
                "pac.syntax",
                "pac.runtime",
                "pac.timeout",
                "pac.result",
            ]
        );
        for k in ErrorKind::ALL {
            assert_eq!(ErrorKind::from_code(k.code()), Some(*k));
        }
    }

    #[test]
    fn error_is_one_word_and_thread_safe() {
        fn assert_send_sync<T: Send + Sync + 'static>() {}
        assert_send_sync::<Error>();
        assert_eq!(size_of::<Error>(), size_of::<usize>());
    }

    #[test]
    fn defaults_follow_the_code() {
        let e = Error::new(ErrorKind::ProxyForbidden);
        assert_eq!(e.hop(), Some(Hop::Proxy));
        assert_eq!(e.phase(), Phase::Proxy);
        let e = Error::new(ErrorKind::TlsExpired);
        assert_eq!(e.hop(), Some(Hop::Origin));
        assert_eq!(e.phase(), Phase::Tls);
        let e = Error::new(ErrorKind::ConfigInvalid);
        assert_eq!(e.hop(), None);
        assert_eq!(e.phase(), Phase::Config);
        for kind in [
            ErrorKind::PacSyntax,
            ErrorKind::PacRuntime,
            ErrorKind::PacTimeout,
            ErrorKind::PacResult,
        ] {
            let e = Error::new(kind);
            assert_eq!(e.hop(), None, "{kind}");
            assert_eq!(e.phase(), Phase::Config, "{kind}");
        }
    }
}
