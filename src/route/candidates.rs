//! Routes with more than one candidate: a proxy list (`proxy = ["http://a:3128", "direct"]`) or
//! a PAC script's answer (`PROXY a:3128; DIRECT`). The candidates are tried in order; one whose
//! connection fails (the proxy refuses TCP, its name does not resolve, it times out or hangs up
//! in the handshake) gives way to the next, and is skipped for a while afterwards, as browsers
//! do. A proxy that answers — even with 403 or 407 — ends the search: failover is for proxies
//! that are down, not for proxies that say no.
//!
//! [`Candidates`] is what a route shows about this: where the list came from (the setting and
//! its provenance, or the PAC file, the string it returned and what it did on the way), each
//! candidate, the one used, and why each one before it was skipped.

use std::collections::HashMap;
use std::fmt::{self, Write as _};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use serde::Serialize;

use crate::error::{Error, ErrorKind, Evidence, Hop};
use crate::proxy::ProxyUrl;
use crate::settings::Provenance;

use super::step::{Outcome, Rule, Step};

/// How long a candidate whose connection failed is skipped (Chromium's bad-proxy retry time).
pub const BACKOFF: Duration = Duration::from_secs(300);
/// The most candidates remembered as failed per profile (the oldest forgotten first).
const MAX_BACKOFF_ENTRIES: usize = 256;

/// Where a route's candidates came from.
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum CandidateSource {
    /// A `proxy` list.
    List,
    /// A PAC script's answer.
    Pac,
}

/// One candidate: a proxy, or direct.
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Candidate {
    /// As the list or the PAC answer wrote it (`PROXY a:3128`, `http://a:3128`, `direct`),
    /// without credentials.
    pub entry: String,
    /// The proxy; `None` for direct.
    pub proxy: Option<ProxyUrl>,
}

impl Candidate {
    pub(crate) fn new(entry: impl Into<String>, proxy: Option<ProxyUrl>) -> Self {
        Self {
            entry: crate::proxy::redact_text(&entry.into()),
            proxy,
        }
    }

    /// The key the back-off table remembers this candidate by.
    fn key(&self) -> String {
        self.proxy
            .as_ref()
            .map_or_else(|| "direct".to_owned(), ProxyUrl::without_credentials)
    }
}

/// A candidate that was not used, and why.
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Skipped {
    /// Its position among the candidates, from 0.
    pub index: usize,
    /// As written.
    pub entry: String,
    /// `"failed"` (tried now, its connection failed) or `"backed_off"` (it failed recently).
    pub why: &'static str,
    /// The error code of the failure (the recent one, for a back-off).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub code: Option<String>,
    /// One sentence.
    pub detail: String,
}

/// What a PAC evaluation contributed to a route.
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PacFacts {
    /// The URL passed to `FindProxyForURL`.
    pub url: String,
    /// The host passed.
    pub host: String,
    /// The string it returned (credentials redacted).
    pub returned: String,
    /// The answer came from the per-destination cache.
    pub from_cache: bool,
    /// What the script passed to `alert()`.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub alerts: Vec<String>,
    /// Names it resolved, as `name = addr, addr` (`name = (none)` when it did not resolve).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub lookups: Vec<String>,
    /// Entries of the answer that were dropped or are doubtful.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub diagnostics: Vec<String>,
}

/// A route's candidates and what became of them.
#[non_exhaustive]
#[derive(Debug, Clone, Serialize)]
pub struct Candidates {
    /// A list or a PAC answer.
    pub source: CandidateSource,
    /// Where the list or the PAC setting came from.
    pub origin: Provenance,
    /// The PAC file's path, or the list as written.
    pub setting: String,
    /// What the PAC evaluation did (PAC only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pac: Option<PacFacts>,
    /// The candidates in order.
    pub entries: Vec<Candidate>,
    /// The candidate the route uses; `None` while none has been chosen or when the PAC
    /// evaluation failed.
    pub used: Option<usize>,
    /// Candidates passed over before the one used, in order.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub skipped: Vec<Skipped>,
    /// The PAC evaluation failed: the route cannot be followed (the error is the request's).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub failure: Option<Failure>,
    /// Names the PAC script asked about that the client has not resolved yet: the connector
    /// resolves them and decides again.
    #[serde(rename = "needs_dns", skip_serializing_if = "Vec::is_empty")]
    pub pending: Vec<String>,
    /// The used candidate as a route's proxy, worked out once (a cached answer's candidates
    /// serve many routes).
    #[serde(skip)]
    pub(crate) chosen: std::sync::OnceLock<Option<Arc<super::router::Chosen>>>,
}

/// A failed PAC evaluation kept with a route: enough to give the request the same error.
#[derive(Debug, Clone, Serialize)]
pub struct Failure {
    /// The error code (`pac.timeout`, `pac.syntax`, ...).
    pub code: &'static str,
    /// Its message.
    pub message: String,
    #[serde(skip)]
    kind: ErrorKind,
    #[serde(skip)]
    hint: Option<String>,
    #[serde(skip)]
    evidence: Evidence,
}

impl Failure {
    pub(crate) fn of(e: &Error) -> Self {
        Self {
            code: e.code(),
            message: e.message(),
            kind: e.kind(),
            hint: e.hint().map(str::to_owned),
            evidence: e.evidence().clone(),
        }
    }

    /// The error again, for the request that follows the route.
    pub(crate) fn to_error(&self) -> Error {
        let mut e = Error::new(self.kind).with_message(self.message.clone());
        if let Some(h) = &self.hint {
            e = e.with_hint(h.clone());
        }
        e.with_evidence(self.evidence.clone())
    }
}

impl Candidates {
    pub(crate) fn new(
        source: CandidateSource,
        origin: Provenance,
        setting: String,
        entries: Vec<Candidate>,
    ) -> Self {
        Self {
            source,
            origin,
            setting,
            pac: None,
            used: (!entries.is_empty()).then_some(0),
            entries,
            skipped: Vec::new(),
            failure: None,
            pending: Vec::new(),
            chosen: std::sync::OnceLock::new(),
        }
    }

    /// A copy following candidate `used`, with `skipped` (in index order).
    pub(crate) fn following(&self, used: usize, mut skipped: Vec<Skipped>) -> Self {
        let mut c = self.clone();
        c.used = Some(used);
        skipped.sort_by_key(|s| s.index);
        c.skipped = skipped;
        c.chosen = std::sync::OnceLock::new();
        c
    }

    /// The candidate in use.
    pub fn used_candidate(&self) -> Option<&Candidate> {
        self.entries.get(self.used?)
    }

    /// Appends the steps that explain these candidates to a route's own, dropping the
    /// "nothing chose a proxy" fallback step a PAC file makes moot.
    pub(crate) fn replace_default(&self, steps: &mut Vec<Step>) {
        if self.source == CandidateSource::Pac {
            steps.retain(|s| s.rule != Rule::Default);
        }
        steps.extend(self.steps());
    }

    /// The steps that explain these candidates, after the route's own.
    pub(crate) fn steps(&self) -> Vec<Step> {
        let mut out = Vec::new();
        let rule = match self.source {
            CandidateSource::List => Rule::ProxyList,
            CandidateSource::Pac => Rule::Pac,
        };
        let mut head = match (&self.pac, &self.failure) {
            (_, Some(f)) => Step::new(
                rule,
                Outcome::Failed,
                format!("the PAC script failed ({}): {}", f.code, f.message),
            ),
            (Some(p), None) => {
                let mut d = format!(
                    "FindProxyForURL(\"{}\", \"{}\") returned \"{}\"{}",
                    p.url,
                    p.host,
                    p.returned,
                    if p.from_cache { " (cached answer)" } else { "" }
                );
                for a in &p.alerts {
                    let _ = write!(d, "; alert: {a}");
                }
                for l in &p.lookups {
                    let _ = write!(d, "; resolved {l}");
                }
                for x in &p.diagnostics {
                    let _ = write!(d, "; {x}");
                }
                Step::new(rule, Outcome::Noted, d)
            }
            (None, None) if !self.pending.is_empty() => Step::new(
                rule,
                Outcome::Noted,
                format!(
                    "the script asked about names not resolved yet ({}): a request resolves them with the client's resolver and evaluates again",
                    self.pending.join(", ")
                ),
            ),
            (None, None) => Step::new(
                rule,
                Outcome::Noted,
                format!(
                    "{} candidates, tried in order on connect failure",
                    self.entries.len()
                ),
            ),
        };
        head = head.origin(self.origin.clone()).value(self.setting.clone());
        out.push(head);
        for (i, c) in self.entries.iter().enumerate() {
            let (outcome, detail) = if let Some(s) = self.skipped.iter().find(|s| s.index == i) {
                (
                    Outcome::Skipped,
                    format!("candidate {}: {}", i + 1, s.detail),
                )
            } else if self.used == Some(i) {
                let o = if c.proxy.is_some() {
                    Outcome::Proxy
                } else {
                    Outcome::Direct
                };
                (o, format!("candidate {}: used", i + 1))
            } else {
                (
                    Outcome::Noted,
                    format!("candidate {}: not tried (an earlier one was used)", i + 1),
                )
            };
            let mut st = Step::new(Rule::Candidate, outcome, detail).value(c.entry.clone());
            st.entry = Some(c.entry.clone());
            out.push(st);
        }
        out
    }
}

impl fmt::Display for Candidates {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let list: Vec<&str> = self.entries.iter().map(|c| c.entry.as_str()).collect();
        write!(f, "{}", list.join("; "))
    }
}

/// Whether a failed connection to a candidate lets the next one be tried: the candidate is
/// unreachable or broke off before answering. A proxy's answer (403, 407, a SOCKS refusal,
/// an upstream failure it reports) is final, as in browsers.
pub(crate) fn fails_over(e: &Error) -> bool {
    match e.kind() {
        ErrorKind::ProxyDns
        | ErrorKind::ProxyConnect
        | ErrorKind::ProxyTimeout
        | ErrorKind::ProxyTls
        | ErrorKind::ProxyClosed
        | ErrorKind::ProxyProtocol => e.hop() == Some(Hop::Proxy),
        ErrorKind::OriginDns | ErrorKind::OriginConnect | ErrorKind::OriginTimeout => true,
        _ => false,
    }
}

/// Candidates whose connection failed recently, per profile: skipped until their time is up
/// (unless every candidate is, then they are tried anyway, as browsers do).
#[derive(Debug, Default)]
pub(crate) struct Backoff {
    failed: Mutex<HashMap<String, (Instant, &'static str)>>,
}

impl Backoff {
    /// When `c` failed, with which code, if within [`BACKOFF`] of `now`.
    pub(crate) fn recent(&self, c: &Candidate, now: Instant) -> Option<(Instant, &'static str)> {
        let mut failed = self.failed.lock().unwrap_or_else(PoisonError::into_inner);
        let key = c.key();
        match failed.get(&key) {
            Some(&(at, code)) if now.saturating_duration_since(at) < BACKOFF => Some((at, code)),
            Some(_) => {
                failed.remove(&key);
                None
            }
            None => None,
        }
    }

    pub(crate) fn failed(&self, c: &Candidate, code: &'static str, now: Instant) {
        let mut failed = self.failed.lock().unwrap_or_else(PoisonError::into_inner);
        if failed.len() >= MAX_BACKOFF_ENTRIES {
            let oldest = failed
                .iter()
                .min_by_key(|(_, (at, _))| *at)
                .map(|(k, _)| k.clone());
            if let Some(k) = oldest {
                failed.remove(&k);
            }
        }
        failed.insert(c.key(), (now, code));
    }

    pub(crate) fn succeeded(&self, c: &Candidate) {
        self.failed
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .remove(&c.key());
    }
}

/// Shared so a route can be re-made with a different candidate cheaply.
pub(crate) type Shared = Arc<Candidates>;

#[cfg(test)]
mod tests {
    use super::*;

    fn cand(s: &str) -> Candidate {
        Candidate::new(s, ProxyUrl::parse(s).ok())
    }

    #[test]
    fn backoff_expires_and_is_bounded() {
        let b = Backoff::default();
        let t0 = Instant::now();
        let a = cand("http://a.test:1");
        assert!(b.recent(&a, t0).is_none());
        b.failed(&a, "proxy.connect", t0);
        assert_eq!(b.recent(&a, t0).map(|r| r.1), Some("proxy.connect"));
        assert!(
            b.recent(&a, t0 + BACKOFF + Duration::from_secs(1))
                .is_none()
        );
        for i in 0..(MAX_BACKOFF_ENTRIES + 10) {
            b.failed(&cand(&format!("http://h{i}.test:1")), "proxy.connect", t0);
        }
        assert!(b.failed.lock().unwrap().len() <= MAX_BACKOFF_ENTRIES);
        b.succeeded(&cand("http://h300.test:1"));
    }

    #[test]
    fn only_unreachable_candidates_fail_over() {
        let e = |k| Error::new(k);
        assert!(fails_over(&e(ErrorKind::ProxyConnect)));
        assert!(fails_over(&e(ErrorKind::OriginConnect)));
        assert!(!fails_over(&e(ErrorKind::ProxyForbidden)));
        assert!(!fails_over(&e(ErrorKind::ProxyAuthRequired)));
        assert!(!fails_over(&e(ErrorKind::ProxyRefused)));
        assert!(!fails_over(&e(ErrorKind::TlsUnknownIssuer)));
    }
}
