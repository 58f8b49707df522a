//! [`Evidence`]: everything observed about a failure, field by field (the proxy's reply, the
//! addresses tried, timings, TLS facts, diagnostics, attribution), each present only when it was
//! observed.

use std::net::SocketAddr;
use std::time::Duration;

use serde::Serialize;

use super::{Attribution, CaFileProblem, Redirect, TlsEvidence};
use crate::diagnostic::Diagnostic;
use crate::proxy::Secrets;

/// One address the connector tried, and how it went.
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AddrAttempt {
    /// The address.
    pub addr: SocketAddr,
    /// The error, or `None` when the connect succeeded.
    pub error: Option<String>,
}

/// What a proxy said when it refused, kept verbatim (bounded) so nothing is thrown away.
#[non_exhaustive]
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

/// A size cap that was exceeded (`http.body_too_large`, a CA file too large): the cap, and the
/// size seen.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct SizeLimit {
    /// The cap, in bytes.
    pub limit: u64,
    /// The size seen, in bytes: the size announced before reading (`Content-Length`, a file's
    /// metadata) when `announced`, else the bytes read when reading stopped (more than `limit`).
    pub seen: u64,
    /// Whether `seen` was announced, so reading stopped before it began.
    pub announced: bool,
}

/// How a peer ended a connection: an orderly close (FIN) or a reset (RST).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum CloseKind {
    /// An orderly close: the peer finished sending (FIN, read returns 0).
    Closed,
    /// The peer reset the connection (RST): it aborted rather than finished.
    Reset,
}

impl CloseKind {
    /// `closed` or `reset`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Closed => "closed",
            Self::Reset => "reset",
        }
    }

    /// The kind of an I/O error that ended a read, if it was the peer ending the connection.
    pub fn of(e: &std::io::Error) -> Option<Self> {
        use std::io::ErrorKind as K;
        match e.kind() {
            K::UnexpectedEof => Some(Self::Closed),
            K::ConnectionReset | K::ConnectionAborted | K::BrokenPipe => Some(Self::Reset),
            _ => None,
        }
    }
}

/// Which exchange a connection ended in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum CloseStage {
    /// While waiting for the proxy's reply to CONNECT.
    ConnectReply,
    /// During the SOCKS5 handshake.
    SocksHandshake,
    /// After the proxy opened the tunnel and before the origin sent a byte through it.
    Tunnel,
    /// During the TLS handshake with the origin, after the origin had sent bytes.
    TlsHandshake,
}

/// How and when a peer ended a connection that was expected to carry more.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Closure {
    /// Closed (FIN) or reset (RST).
    pub how: CloseKind,
    /// The exchange it ended in.
    pub stage: CloseStage,
    /// Bytes received in that exchange before it ended.
    pub bytes_received: u64,
    /// Time from the start of that exchange to its end.
    #[serde(rename = "after_ms", serialize_with = "ser_ms")]
    pub after: Option<Duration>,
}

/// How long each phase of making a connection took; a phase that did not run is `None`.
#[non_exhaustive]
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Timings {
    /// Name resolution (proxy's or origin's).
    #[serde(serialize_with = "ser_ms")]
    pub dns: Option<Duration>,
    /// TCP connect.
    #[serde(serialize_with = "ser_ms")]
    pub connect: Option<Duration>,
    /// TLS to an https proxy plus the CONNECT / SOCKS handshake.
    #[serde(serialize_with = "ser_ms")]
    pub proxy: Option<Duration>,
    /// TLS with the origin.
    #[serde(serialize_with = "ser_ms")]
    pub tls: Option<Duration>,
}

/// A duration in milliseconds, to the microsecond: the unit of every `*_ms` field.
pub(crate) fn millis(d: Duration) -> f64 {
    (d.as_secs_f64() * 1_000_000.0).round() / 1000.0
}

/// Serialises an optional duration as [`millis`], `null` when absent.
pub(crate) fn ser_ms<S: serde::Serializer>(d: &Option<Duration>, s: S) -> Result<S::Ok, S::Error> {
    match d {
        Some(d) => s.serialize_f64(millis(*d)),
        None => s.serialize_none(),
    }
}

/// Everything observed about a failure. Each field is present only when it was observed.
#[non_exhaustive]
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
    pub attribution: Option<Attribution>,
    /// How long each connection phase that completed before the failure took.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub timings: Option<Timings>,
    /// How and when the peer ended the connection (`proxy.closed`, a tunnel that closed).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub closure: Option<Closure>,
    /// Bytes the peer had sent when a timeout expired: none means it never answered, some that
    /// it answers too slowly.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub bytes_received: Option<u64>,
    /// The timeout that expired.
    #[serde(
        skip_serializing_if = "Option::is_none",
        serialize_with = "ser_opt_duration"
    )]
    pub timeout: Option<Duration>,
    /// TLS facts: the presented chain, the trust store, the diagnosis.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tls: Option<Box<TlsEvidence>>,
    /// Config diagnostics (`config.invalid`).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub diagnostics: Vec<Diagnostic>,
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
    /// The offending value as written, credentials redacted (`config.*` and `request.url`
    /// errors).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub value: Option<String>,
    /// The low-level cause, as text, for logs (never credentials).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cause: Option<String>,
    /// Why the file of a `config.ca_file` error cannot be used.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ca_file_problem: Option<CaFileProblem>,
    /// The cap that was exceeded and the size seen (`http.body_too_large`, a CA file over its
    /// cap).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub size_limit: Option<SizeLimit>,
    /// What a proxy auto-config script was asked and did (`pac.*` errors).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pac: Option<Box<PacEvidence>>,
    /// Each candidate of a proxy list or PAC answer tried for this request, in order, with
    /// how its connection failed (the last one is this error itself).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub attempts: Vec<super::attempt::Attempt>,
    /// The redirects followed before the failure, in order, each with its route
    /// (`http.redirect_loop`, `http.too_many_redirects`, and any failure after a redirect).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub redirects: Vec<Redirect>,
}

/// What is known about a failed proxy auto-config (PAC) evaluation. Every field is bounded: the
/// strings are cut to at most 1 KiB and the alerts to the first few.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct PacEvidence {
    /// Where the script came from: its file path, or the origin given with its text.
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

impl Evidence {
    /// Scrubs `secrets` from every field a peer or a request could have put them in.
    pub(crate) fn scrub(&mut self, secrets: &Secrets) {
        let scrub = |s: &mut String| *s = secrets.scrub(s);
        self.target.iter_mut().for_each(scrub);
        self.expected.iter_mut().for_each(scrub);
        self.value.iter_mut().for_each(scrub);
        self.cause.iter_mut().for_each(scrub);
        self.auth_realm.iter_mut().for_each(scrub);
        self.auth_schemes.iter_mut().for_each(scrub);
        for a in &mut self.addresses {
            a.error.iter_mut().for_each(scrub);
        }
        if let Some(r) = &mut self.proxy_reply {
            scrub(&mut r.reason);
            for (_, v) in &mut r.headers {
                scrub(v);
            }
            r.body_excerpt.iter_mut().for_each(scrub);
        }
        if let Some(a) = &mut self.attribution {
            a.reasons.iter_mut().for_each(scrub);
            for field in [
                &mut a.squid_error,
                &mut a.proxy_status,
                &mut a.server,
                &mut a.via,
                &mut a.body_marker,
            ] {
                field.iter_mut().for_each(scrub);
            }
        }
    }
}

fn ser_opt_duration<S: serde::Serializer>(d: &Option<Duration>, s: S) -> Result<S::Ok, S::Error> {
    match d {
        Some(d) => s.serialize_u64(d.as_millis() as u64),
        None => s.serialize_none(),
    }
}
