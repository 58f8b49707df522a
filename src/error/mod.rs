//! The one public [`Error`]: a stable [`ErrorKind`] code, the failing [`Hop`] and [`Phase`], the
//! [`Route`] that was taken, the [`Evidence`] gathered on the way and a hint that names the fix.
//!
//! Errors are built where the failure is observed (connector, TLS verifier, config loader) with
//! [`Error::new`] and the `with_*` methods; everything else reads them through accessors. The codes
//! are a public contract: scripts and monitoring match on them, so they are only ever added.
//!
//! This module is the floor for everything that does I/O or policy: the evidence types an error
//! carries (timings, TLS facts, CA-file problems, diagnostics, attribution) are defined here or
//! below, so `error` imports nothing from `wire`, `tls`, `connect`, `client`, `config` or
//! `probe`. The pure layers below it (`proxy`, `settings`, `route`) have errors of their own,
//! which convert into [`Error`] here.

mod attempt;
mod attribution;
mod blame;
mod evidence;
mod foreign;
mod kind;
mod query;
mod redirect;
mod status;
mod tls;

use std::fmt;

use serde::Serialize;

pub use self::attempt::Attempt;
pub use self::attribution::{Attribution, ResponsePath};
pub use self::blame::Blame;
pub use self::evidence::{
    AddrAttempt, CloseKind, CloseStage, Closure, Evidence, PacEvidence, ProxyReply, SizeLimit,
    Timings,
};
pub(crate) use self::evidence::{millis, ser_ms};
pub use self::kind::ErrorKind;
pub use self::redirect::Redirect;
pub(crate) use self::tls::human_duration;
pub use self::tls::{
    CaFileProblem, CertSummary, ClientCertEvidence, Diagnosis, Fix, NameMismatch, TlsEvidence,
    TrustSource, TrustSourceKind, TrustStore, ValidityIssue, WrongCaFile,
};
pub use crate::diagnostic::{Diagnostic, Severity};
pub use crate::hop::{Hop, Phase};
use crate::proxy::{ProxyUrlError, Secrets};
use crate::route::{Route, RouteError};

type Source = Box<dyn std::error::Error + Send + Sync + 'static>;
/// A cause is shared, not copied: an error a hyper client holds by reference is handed back
/// with its cause intact (an `io::Error`, a `rustls::Error`, a `hyper::Error` that callers
/// downcast), not flattened to text.
type SharedSource = std::sync::Arc<dyn std::error::Error + Send + Sync + 'static>;

struct Inner {
    kind: ErrorKind,
    hop: Option<Hop>,
    blame: Option<Blame>,
    phase: Phase,
    message: Option<String>,
    hint: Option<String>,
    route: Option<Route>,
    evidence: Evidence,
    /// The request's URL, credentials and secret query values masked.
    url: Option<url::Url>,
    source: Option<SharedSource>,
}

/// A proxyscope failure: pointer-sized, `Send + Sync`, with a stable [`code`](Error::code).
pub struct Error {
    inner: Box<Inner>,
}

impl Error {
    /// A new error of `kind`, with the kind's default hop and phase.
    // Cold: whatever leads to an error is laid out away from the request's own path, which
    // then takes fewer cache lines of code.
    #[cold]
    pub fn new(kind: ErrorKind) -> Self {
        Self {
            inner: Box::new(Inner {
                kind,
                hop: kind.default_hop(),
                blame: None,
                phase: kind.default_phase(),
                message: None,
                hint: None,
                route: None,
                evidence: Evidence::default(),
                url: None,
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

    /// Sets who must act, overriding what the code, hop and evidence say (see [`Error::blame`]).
    pub fn with_blame(mut self, blame: Blame) -> Self {
        self.inner.blame = Some(blame);
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
    pub fn with_source(self, source: impl Into<Source>) -> Self {
        let source: Source = source.into();
        self.with_shared_source(source.into())
    }

    /// Sets a cause shared with another error (a copy of an error held by reference keeps its
    /// typed cause).
    pub(crate) fn with_shared_source(mut self, source: SharedSource) -> Self {
        if self.inner.evidence.cause.is_none() {
            self.inner.evidence.cause = Some(crate::proxy::redact_text(&source.to_string()));
        }
        self.inner.source = Some(source);
        self
    }

    /// The cause, shared (see [`Error::with_shared_source`]).
    pub(crate) fn shared_source(&self) -> Option<SharedSource> {
        self.inner.source.clone()
    }

    /// Attaches the request's URL; user name, password and the values of query parameters that
    /// usually carry keys are masked before it is stored, so [`Error::url`] is safe to log.
    pub fn with_url(mut self, url: &url::Url) -> Self {
        let mut bare = url.clone();
        // Setting the user name fails only for URLs that cannot have one: nothing to mask.
        let _ = bare.set_password(None);
        let _ = bare.set_username("");
        self.inner.url = url::Url::parse(&crate::proxy::redact_url(bare.as_str())).ok();
        self
    }

    /// The same error with every secret of `secrets` scrubbed from its text: message, hint,
    /// cause, and the evidence a peer supplied (reply, headers, body excerpt, attribution) —
    /// for peers that echo the request, credentials included, into their error pages.
    pub(crate) fn scrubbed(mut self, secrets: &Secrets) -> Self {
        if secrets.is_empty() {
            return self;
        }
        let scrub = |s: &mut String| *s = secrets.scrub(s);
        let inner = &mut *self.inner;
        inner.message.iter_mut().for_each(scrub);
        inner.hint.iter_mut().for_each(scrub);
        inner.evidence.scrub(secrets);
        if let Some(source) = &inner.source {
            let text = chain_text(&**source);
            let clean = secrets.scrub(&text);
            if clean != text {
                inner.source = Some(std::sync::Arc::new(CauseText(clean)));
            }
        }
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

    /// Who must act: the local configuration, the proxy, the origin or the network. Distinct
    /// from [`Error::hop`], where the failure surfaced: a CA missing from the local trust store
    /// surfaces at the origin hop but is [`Blame::LocalConfig`]. Set by the site that built the
    /// error when it knew more than the code says, else derived from the code, hop, phase and
    /// evidence.
    pub fn blame(&self) -> Blame {
        self.inner.blame.unwrap_or_else(|| {
            blame::derive(
                self.inner.kind,
                self.inner.hop,
                self.inner.phase,
                &self.inner.evidence,
            )
        })
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
        match self.hop() {
            Some(hop) => {
                let _ = write!(
                    out,
                    "\n  hop: {hop}, phase: {}, blame: {}",
                    self.phase(),
                    self.blame()
                );
            }
            None => {
                let _ = write!(out, "\n  blame: {}", self.blame());
            }
        }
        if let Some(url) = self.url() {
            let _ = write!(out, "\n  url: {url}");
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
        for r in &ev.redirects {
            let _ = write!(
                out,
                "\n  redirect: {} answered {} -> {} ({})",
                r.url,
                r.status,
                r.location,
                r.route.summary()
            );
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
            .field("blame", &self.blame())
            .field("phase", &self.inner.phase)
            .field("message", &self.to_string())
            .field("hint", &self.inner.hint)
            .field("url", &self.inner.url.as_ref().map(url::Url::as_str))
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
        let mut st = s.serialize_struct("Error", 8)?;
        st.serialize_field("code", self.code())?;
        st.serialize_field("hop", &self.inner.hop)?;
        st.serialize_field("blame", &self.blame())?;
        st.serialize_field("phase", &self.inner.phase)?;
        st.serialize_field("message", &self.to_string())?;
        st.serialize_field("hint", &self.inner.hint)?;
        if let Some(u) = &self.inner.url {
            st.serialize_field("url", u.as_str())?;
        } else {
            st.skip_field("url")?;
        }
        st.serialize_field("route", &self.inner.route)?;
        st.serialize_field("evidence", &self.inner.evidence)?;
        st.end()
    }
}

/// An error's cause chain as one line, `a: b: c`.
pub(crate) fn chain_text(e: &dyn std::error::Error) -> String {
    let mut out = e.to_string();
    let mut src = e.source();
    while let Some(s) = src {
        out.push_str(": ");
        out.push_str(&s.to_string());
        src = s.source();
    }
    out
}

/// A cause kept as text: a copy of a chain we only hold by reference, or a scrubbed copy of
/// one that held a secret.
#[derive(Debug)]
pub(crate) struct CauseText(pub(crate) String);

impl fmt::Display for CauseText {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for CauseText {}

/// `Result` with proxyscope's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// A rejected proxy URL is `config.proxy_url`, with the redacted input as `evidence().value`.
impl From<ProxyUrlError> for Error {
    fn from(e: ProxyUrlError) -> Self {
        let hint = e.hint();
        let input = e.input().to_owned();
        Error::new(ErrorKind::ConfigProxyUrl)
            .with_message(e.to_string())
            .with_hint(hint)
            .map_evidence(|ev| ev.value = Some(input))
            .with_source(e)
    }
}

/// A route that cannot be resolved is the `config.proxy_url` error of the proxy value in force,
/// with the setting or environment variable that holds it as `evidence().setting`.
impl From<RouteError> for Error {
    fn from(e: RouteError) -> Self {
        let message = e.to_string();
        let setting = e.setting().to_owned();
        Error::from(e.into_proxy_url_error())
            .with_message(message)
            .map_evidence(|ev| ev.setting = Some(setting))
    }
}

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
                "tls.client_cert_required",
                "tls.client_cert_rejected",
                "http.status",
                "http.body",
                "http.protocol",
                "http.timeout",
                "http.body_too_large",
                "pac.syntax",
                "pac.runtime",
                "pac.timeout",
                "pac.result",
                "request.url",
                "request.header",
                "request.body",
                "http.decode",
                "http.redirect_loop",
                "http.too_many_redirects",
            ]
        );
        for k in ErrorKind::ALL {
            assert_eq!(ErrorKind::from_code(k.code()), Some(*k));
        }
    }

    #[test]
    fn the_readme_table_lists_every_code_with_its_gateway_status() {
        let readme = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md"))
            .unwrap_or_default();
        for k in ErrorKind::ALL {
            let row = readme
                .lines()
                .find(|l| l.starts_with(&format!("| `{}` |", k.code())))
                .unwrap_or_else(|| panic!("README's code table has no row for {}", k.code()));
            let status = k.gateway_status().as_u16().to_string();
            assert!(
                row.trim_end().ends_with(&format!("| {status} |")),
                "README's row for {} does not end with its gateway status {status}",
                k.code()
            );
        }
    }

    #[test]
    fn error_is_one_word_and_thread_safe() {
        fn assert_send_sync<T: Send + Sync + 'static>() {}
        assert_send_sync::<Error>();
        assert_eq!(size_of::<Error>(), size_of::<usize>());
    }

    #[test]
    fn proxy_url_errors_convert_to_config_proxy_url() {
        let e: Error = crate::ProxyUrl::parse("gopher://u:pw@proxy.test")
            .unwrap_err()
            .into();
        assert_eq!(e.code(), "config.proxy_url");
        assert_eq!(e.hop(), None);
        assert_eq!(e.phase(), Phase::Config);
        let value = e.evidence().value.clone().unwrap_or_default();
        assert_eq!(value, "gopher://***@proxy.test");
        let cause = e.evidence().cause.clone().unwrap_or_default();
        assert!(!cause.contains("pw"), "{cause}");
        assert!(e.hint().is_some());
        assert!(std::error::Error::source(&e).is_some());
        let all = format!("{e} {e:?} {}", e.report());
        assert!(!all.contains("u:pw"), "{all}");
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
