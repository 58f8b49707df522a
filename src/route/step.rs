//! [`Step`]: one thing the resolver consulted, where its value came from, what it decided, and
//! the warnings attached (other tools' readings, ignored variables, insecure settings).

use std::fmt;

use serde::Serialize;

use crate::diagnostic::printable;

use crate::proxy::PeerNote;
use crate::settings::Provenance;

/// What a step consulted.
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Rule {
    /// The URL's scheme and host, and which variables curl consults for it.
    Scheme,
    /// The provider layer's `proxy`.
    ProviderProxy,
    /// The global layer's `proxy`.
    GlobalProxy,
    /// The proxy variables of the environment (curl's rules).
    EnvProxy,
    /// An environment variable present but ignored.
    IgnoredVariable,
    /// The `no_proxy` list in force.
    NoProxy,
    /// The fallback when nothing chose a proxy.
    Default,
    /// TLS settings of the effective layer that deserve a warning.
    Tls,
    /// A `proxy` list: candidates tried in order.
    ProxyList,
    /// A proxy auto-config (PAC) script: its answer, the candidates tried in order.
    Pac,
    /// One candidate of a list or a PAC answer: used, skipped (and why), or not tried.
    Candidate,
}

impl Rule {
    /// The rule's stable name, e.g. `"no_proxy"`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Scheme => "scheme",
            Self::ProviderProxy => "provider_proxy",
            Self::GlobalProxy => "global_proxy",
            Self::EnvProxy => "env_proxy",
            Self::IgnoredVariable => "ignored_variable",
            Self::NoProxy => "no_proxy",
            Self::Default => "default",
            Self::Tls => "tls",
            Self::ProxyList => "proxy_list",
            Self::Pac => "pac",
            Self::Candidate => "candidate",
        }
    }
}

/// What a step decided.
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    /// Information only; the decision is made by a later step.
    Noted,
    /// Nothing set here; the next source decides.
    NotSet,
    /// Go direct.
    Direct,
    /// Use the proxy.
    Proxy,
    /// Consult the environment.
    Env,
    /// A `no_proxy` entry matched: go direct.
    Matched,
    /// No `no_proxy` entry matched: keep the proxy.
    NotMatched,
    /// The variable has no effect.
    Ignored,
    /// A setting that weakens security is in force.
    Warning,
    /// A candidate passed over (its connection failed, now or recently).
    Skipped,
    /// The source failed (a PAC script that threw or ran out of time).
    Failed,
}

impl Outcome {
    /// The outcome's stable name, e.g. `"not_matched"`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Noted => "noted",
            Self::NotSet => "not_set",
            Self::Direct => "direct",
            Self::Proxy => "proxy",
            Self::Env => "env",
            Self::Matched => "matched",
            Self::NotMatched => "not_matched",
            Self::Ignored => "ignored",
            Self::Warning => "warning",
            Self::Skipped => "skipped",
            Self::Failed => "failed",
        }
    }
}

/// Something a step wants a person to know.
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Warning {
    /// A stable code, e.g. `"peer_difference"`, `"httpoxy"`, `"url_shaped"`.
    pub code: String,
    /// One sentence.
    pub message: String,
    /// Other tools concerned, and what they would do.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub peers: Vec<PeerNote>,
}

impl Warning {
    pub(crate) fn new(code: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            code: code.into(),
            message: message.into(),
            peers: Vec::new(),
        }
    }

    pub(crate) fn with_peers(mut self, peers: Vec<PeerNote>) -> Self {
        self.peers = peers;
        self
    }
}

/// One step of a route decision: what was consulted, where the value came from, what it
/// decided. Values never carry credentials.
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Step {
    /// What was consulted.
    pub rule: Rule,
    /// Where the value came from (config key, builder, environment variable).
    pub origin: Option<Provenance>,
    /// The value consulted, credentials redacted.
    pub value: Option<String>,
    /// What it decided.
    pub outcome: Outcome,
    /// The decision in one sentence.
    pub detail: String,
    /// The `no_proxy` entry that matched, as written.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub entry: Option<String>,
    /// Warnings attached to this step.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub warnings: Vec<Warning>,
}

impl Step {
    pub(crate) fn new(rule: Rule, outcome: Outcome, detail: impl Into<String>) -> Self {
        Self {
            rule,
            origin: None,
            value: None,
            outcome,
            detail: detail.into(),
            entry: None,
            warnings: Vec::new(),
        }
    }

    pub(crate) fn origin(mut self, origin: Provenance) -> Self {
        self.origin = Some(origin);
        self
    }

    pub(crate) fn value(mut self, value: impl Into<String>) -> Self {
        self.value = Some(value.into());
        self
    }

    pub(crate) fn warn(mut self, warning: Warning) -> Self {
        self.warnings.push(warning);
        self
    }

    /// The variable this step names when its value came from the environment.
    pub fn env_var(&self) -> Option<&str> {
        match &self.origin {
            Some(Provenance::Env { var }) => Some(var),
            _ => None,
        }
    }
}

impl fmt::Display for Step {
    /// The step, then one line per warning; values from the configuration or the environment
    /// have their control characters escaped, so they cannot add lines.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} ({})", self.rule.as_str(), self.outcome.as_str())?;
        if let Some(o) = &self.origin {
            write!(f, " {o}")?;
            if let Some(v) = &self.value {
                write!(f, " = {}", printable(v))?;
            }
        }
        write!(f, ": {}", printable(&self.detail))?;
        for w in &self.warnings {
            write!(f, "\n     ! {} [{}]", printable(&w.message), w.code)?;
            for p in &w.peers {
                write!(f, "\n       - {}: {}", p.tool, p.behaviour)?;
            }
        }
        Ok(())
    }
}
