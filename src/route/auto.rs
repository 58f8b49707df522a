//! The router's side of routes with several candidates: which proxy list or PAC file is in
//! force for a profile (worked out once, when the router is built), and the candidates for one
//! URL. A profile with neither never reaches this module: its routes cost nothing more.
//!
//! Precedence, as for a single proxy: the provider's `proxy` (a list when written as one),
//! else the provider's `pac`, else the global `proxy`, else the global `pac`, else — when no
//! `proxy` is set or it is `"env"` — the environment's `PROXYSCOPE_PAC`, else curl's proxy
//! variables.
//!
//! Routing is pure and knows no JavaScript engine: a PAC file is loaded and run by an
//! [`AutoConfig`] that the layer owning the engine (the `pac` module, feature `pac`) implements
//! and hands to the router as an [`AutoConfigLoader`]. Without one, a `pac` setting in force is
//! a `config.invalid` failure of the route, never ignored.

use std::net::IpAddr;
use std::path::Path;
use std::sync::Arc;

use url::Url;

use crate::proxy::EnvSnapshot;
use crate::settings::{Provenance, ProxySetting, Settings};

use super::candidates::{Candidate, CandidateSource, Candidates, Failure};

/// The environment variable naming a PAC file.
pub const PAC_ENV: &str = "PROXYSCOPE_PAC";

/// One loaded `pac` setting, as the router uses it: the candidates its script answers for a
/// URL, the failure of loading it, and what the client's resolver said about the names it asked
/// for.
///
/// Implemented by the `pac` module (`proxyscope::pac::auto_config`, feature `pac`), above this
/// pure layer; [`Candidates`] and [`CandidateFailure`](super::CandidateFailure) are built
/// inside the crate only.
pub trait AutoConfig: Send + Sync {
    /// The candidates for `url`: the script's answer, or the names it asked about that are not
    /// resolved yet ([`Candidates::pending`]: resolve them, [`AutoConfig::learn`], ask again),
    /// or why it failed ([`Candidates::failure`]).
    fn candidates(&self, url: &Url) -> Arc<Candidates>;

    /// Why the file could not be loaded (read, compiled); a client fails to build with it.
    fn load_failure(&self) -> Option<&Failure>;

    /// Records what the resolver answered for `host` (no addresses: it does not resolve), for
    /// the evaluations that follow.
    fn learn(&self, host: &str, addrs: Vec<IpAddr>);
}

/// Loads the PAC file at `path`, set at `origin`, into an [`AutoConfig`]. Called once per
/// router (once per [`resolve_with_auto_config`](super::resolve_with_auto_config) call).
pub type AutoConfigLoader = fn(path: &Path, origin: &Provenance) -> Arc<dyn AutoConfig>;

/// What decides a profile's candidates.
pub(super) enum AltPlan {
    /// A fixed list.
    List(Arc<Candidates>),
    /// A PAC script.
    Auto(Arc<dyn AutoConfig>),
}

impl AltPlan {
    /// The plan for a profile, if it has a list or a PAC file in force. A PAC file is loaded by
    /// `loader`.
    pub(super) fn of(
        global: &Settings,
        layer: Option<&Settings>,
        env: &EnvSnapshot,
        loader: Option<AutoConfigLoader>,
    ) -> Option<Self> {
        for l in layer.into_iter().chain(Some(global)) {
            if let Some(p) = &l.proxy {
                if let Some(list) = &l.proxy_list {
                    return Some(Self::List(Arc::new(list_candidates(
                        &list.value,
                        &list.origin,
                    ))));
                }
                if p.value != ProxySetting::Env {
                    return None;
                }
                break;
            }
            if let Some(pac) = &l.pac {
                return Some(Self::Auto(load(loader, &pac.value, &pac.origin)));
            }
        }
        let path = env.var(PAC_ENV).filter(|v| !v.trim().is_empty())?;
        let origin = Provenance::Env {
            var: PAC_ENV.to_owned(),
        };
        Some(Self::Auto(load(loader, Path::new(path.trim()), &origin)))
    }

    /// Why the PAC file in force could not be loaded, for the client to fail at build.
    pub(super) fn load_failure(&self) -> Option<&Failure> {
        match self {
            Self::List(_) => None,
            Self::Auto(a) => a.load_failure(),
        }
    }

    /// The candidates for `url`.
    pub(super) fn candidates(&self, url: &Url) -> Arc<Candidates> {
        match self {
            Self::List(c) => c.clone(),
            Self::Auto(a) => a.candidates(url),
        }
    }

    /// Tells the PAC script in force what the resolver answered for `host`.
    pub(super) fn learn(&self, host: &str, addrs: Vec<IpAddr>) {
        if let Self::Auto(a) = self {
            a.learn(host, addrs);
        }
    }
}

fn load(loader: Option<AutoConfigLoader>, path: &Path, origin: &Provenance) -> Arc<dyn AutoConfig> {
    match loader {
        Some(load) => load(path, origin),
        None => Arc::new(Unavailable::new(path, origin)),
    }
}

fn list_candidates(list: &[ProxySetting], origin: &Provenance) -> Candidates {
    let entries: Vec<Candidate> = list
        .iter()
        .filter_map(|s| match s {
            ProxySetting::Url(p) => Some(Candidate::new(p.without_credentials(), Some(p.clone()))),
            ProxySetting::Direct => Some(Candidate::new("direct", None)),
            // "env" is refused in lists when the configuration is read.
            _ => None,
        })
        .collect();
    let setting = entries
        .iter()
        .map(|c| c.entry.as_str())
        .collect::<Vec<_>>()
        .join(", ");
    Candidates::new(
        CandidateSource::List,
        origin.clone(),
        format!("[{setting}]"),
        entries,
    )
}

/// A `pac` setting with no evaluator to run it: every route fails with `config.invalid`.
struct Unavailable {
    candidates: Arc<Candidates>,
}

impl Unavailable {
    fn new(path: &Path, origin: &Provenance) -> Self {
        let path = path.display().to_string();
        let failure = if cfg!(feature = "pac") {
            Failure::new(
                "config.invalid",
                format!(
                    "pac = {path} ({origin}) is set, but this route was decided without a PAC evaluator"
                ),
            )
            .with_hint(
                "decide it with Router::with_auto_config or route::resolve_with_auto_config and pac::auto_config, as the client does",
            )
        } else {
            Failure::new(
                "config.invalid",
                format!(
                    "pac = {path} ({origin}) is set, but proxyscope was built without the `pac` feature"
                ),
            )
            .with_hint("build proxyscope with the `pac` feature, or set proxy instead of pac")
        };
        let mut c = Candidates::new(CandidateSource::Pac, origin.clone(), path, Vec::new());
        c.failure = Some(failure);
        Self {
            candidates: Arc::new(c),
        }
    }
}

impl AutoConfig for Unavailable {
    fn candidates(&self, _url: &Url) -> Arc<Candidates> {
        self.candidates.clone()
    }

    fn load_failure(&self) -> Option<&Failure> {
        self.candidates.failure.as_ref()
    }

    fn learn(&self, _host: &str, _addrs: Vec<IpAddr>) {}
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_pac_setting_without_an_evaluator_is_a_failure_not_ignored() {
        let global = Settings::new().with_pac("corp.pac");
        let plan = AltPlan::of(&global, None, &EnvSnapshot::default(), None).expect("a plan");
        let f = plan.load_failure().expect("a failure");
        assert_eq!(f.code, "config.invalid");
        let url = Url::parse("https://a.test/").unwrap();
        let c = plan.candidates(&url);
        assert_eq!(c.source, CandidateSource::Pac);
        assert_eq!(c.used, None);
        assert_eq!(c.failure.as_ref().map(|f| f.code), Some("config.invalid"));
    }

    #[test]
    fn a_list_wins_over_pac_and_env_defers_to_it() {
        let global = Settings::new()
            .with_pac("corp.pac")
            .with_proxy_list([ProxySetting::Direct, ProxySetting::Direct]);
        let env = EnvSnapshot::default();
        assert!(matches!(
            AltPlan::of(&global, None, &env, None),
            Some(AltPlan::List(_))
        ));
        // A provider's "env" skips the global layer for PROXYSCOPE_PAC and curl's variables.
        let provider = Settings::new().with_proxy(ProxySetting::Env);
        assert!(AltPlan::of(&global, Some(&provider), &env, None).is_none());
        let with_pac = EnvSnapshot::from_pairs([(PAC_ENV, "env.pac")]);
        assert!(matches!(
            AltPlan::of(&global, Some(&provider), &with_pac, None),
            Some(AltPlan::Auto(_))
        ));
        let direct = Settings::new().with_proxy(ProxySetting::Direct);
        assert!(AltPlan::of(&global, Some(&direct), &env, None).is_none());
    }
}
