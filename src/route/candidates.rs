//! Routes with more than one candidate: a proxy list (`proxy = ["http://a:3128", "direct"]`) or
//! a PAC script's answer (`PROXY a:3128; DIRECT`). The connector tries them in order and fails
//! over on connect failure (`connect::failover`); this module only holds what a route shows
//! about them: where the list came from (the setting and its provenance, or the PAC file, the
//! string it returned and what it did on the way), each candidate, the one used, and why each
//! one before it was skipped. Plain data: nothing here knows how an error is built or how a
//! script is run.

use std::fmt::{self, Write as _};
use std::sync::Arc;

use serde::Serialize;

use crate::proxy::ProxyUrl;
use crate::settings::Provenance;

use super::Chosen;
use super::step::{Outcome, Rule, Step};

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

    /// The key a back-off table remembers this candidate by: the proxy without credentials, or
    /// `direct`.
    pub(crate) fn key(&self) -> String {
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
    /// `"failed"` (tried now, its connection failed), `"backed_off"` (it failed recently) or
    /// `"out_of_time"` (not tried: the time for the whole list, the request timeout or the
    /// request's own deadline, ran out on the candidates before it).
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
    pub(crate) chosen: std::sync::OnceLock<Option<Arc<Chosen>>>,
}

/// A failed PAC evaluation kept with a route: its code and message as data, and the error
/// itself (type-erased, so this layer needs no error type) for the request that follows the
/// route to fail with exactly that error.
#[derive(Clone, Serialize)]
pub struct Failure {
    /// The error code (`pac.timeout`, `pac.syntax`, `config.invalid`, ...).
    pub code: &'static str,
    /// Its message (credentials redacted).
    pub message: String,
    #[serde(skip)]
    hint: Option<String>,
    #[serde(skip)]
    cause: Option<Arc<dyn std::error::Error + Send + Sync>>,
}

impl fmt::Debug for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Failure")
            .field("code", &self.code)
            .field("message", &self.message)
            .field("hint", &self.hint)
            .finish_non_exhaustive()
    }
}

impl Failure {
    /// A failure with `code` (one of the error codes) and a one-sentence `message`.
    pub(crate) fn new(code: &'static str, message: impl Into<String>) -> Self {
        Self {
            code,
            message: message.into(),
            hint: None,
            cause: None,
        }
    }

    /// With the most likely fix.
    pub(crate) fn with_hint(mut self, hint: impl Into<String>) -> Self {
        self.hint = Some(hint.into());
        self
    }

    /// With the error the failure stands for, kept whole for the request.
    // Only the PAC evaluator (feature `pac`) keeps a cause.
    #[cfg_attr(not(feature = "pac"), allow(dead_code))]
    pub(crate) fn with_cause(mut self, cause: Arc<dyn std::error::Error + Send + Sync>) -> Self {
        self.cause = Some(cause);
        self
    }

    /// The most likely fix, if one is known.
    pub fn hint(&self) -> Option<&str> {
        self.hint.as_deref()
    }

    /// The error this failure stands for, when the layer that failed kept it (a PAC
    /// evaluation's `proxyscope::Error`, with its evidence).
    pub fn cause(&self) -> Option<&(dyn std::error::Error + Send + Sync + 'static)> {
        self.cause.as_deref()
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

/// Shared so a route can be re-made with a different candidate cheaply.
pub(crate) type Shared = Arc<Candidates>;

#[cfg(test)]
mod tests {
    use super::*;

    fn cand(s: &str) -> Candidate {
        Candidate::new(s, ProxyUrl::parse(s).ok())
    }

    #[test]
    fn candidates_explain_used_skipped_and_untried() {
        let c = Candidates::new(
            CandidateSource::List,
            Provenance::Builder {
                key: "proxy".to_owned(),
            },
            "[a, b, c]".to_owned(),
            vec![
                cand("http://a.test:1"),
                cand("http://b.test:1"),
                Candidate::new("direct", None),
            ],
        );
        let skipped = Skipped {
            index: 0,
            entry: "http://a.test:1".to_owned(),
            why: "failed",
            code: Some("proxy.connect".to_owned()),
            detail: "skipped: down (proxy.connect)".to_owned(),
        };
        let c = c.following(1, vec![skipped]);
        let outcomes: Vec<Outcome> = c.steps().iter().map(|s| s.outcome).collect();
        assert_eq!(
            outcomes,
            [
                Outcome::Noted,
                Outcome::Skipped,
                Outcome::Proxy,
                Outcome::Noted
            ]
        );
        assert_eq!(
            c.used_candidate().map(Candidate::key).as_deref(),
            Some("http://b.test:1")
        );
        assert_eq!(Candidate::new("direct", None).key(), "direct");
    }

    #[test]
    fn a_failure_keeps_its_cause_and_hint() {
        let io = std::io::Error::other("boom");
        let f = Failure::new("pac.runtime", "it threw")
            .with_hint("fix the script")
            .with_cause(Arc::new(io));
        assert_eq!(f.hint(), Some("fix the script"));
        assert!(
            f.cause()
                .is_some_and(|c| c.downcast_ref::<std::io::Error>().is_some())
        );
        let json = serde_json::to_value(&f).unwrap();
        assert_eq!(
            json,
            serde_json::json!({"code": "pac.runtime", "message": "it threw"})
        );
    }
}
