//! The router's side of routes with several candidates: which proxy list or PAC file is in
//! force for a profile (worked out once, when the router is built), and the candidates for one
//! URL. A profile with neither never reaches this module: its routes cost nothing more.
//!
//! Precedence, as for a single proxy: the provider's `proxy` (a list when written as one),
//! else the provider's `pac`, else the global `proxy`, else the global `pac`, else — when no
//! `proxy` is set or it is `"env"` — the environment's `PROXYSCOPE_PAC`, else curl's proxy
//! variables.
//!
//! A PAC script that looks up a name the profile has not resolved yet answers "pending"
//! ([`crate::pac::Lookup::Pending`]): the route then lists the names, the connector resolves
//! them with the client's resolver and decides again (a bounded number of rounds), so the
//! script never blocks a runtime thread on DNS.

use std::path::Path;
use std::sync::Arc;

use crate::proxy::EnvSnapshot;
use crate::settings::{Provenance, ProxySetting, Settings};

use super::candidates::{Candidate, CandidateSource, Candidates};

/// The environment variable naming a PAC file.
pub const PAC_ENV: &str = "PROXYSCOPE_PAC";

/// What decides a profile's candidates.
pub(super) enum AltPlan {
    /// A fixed list.
    List(Arc<Candidates>),
    /// A PAC script.
    Pac(Box<PacPlan>),
}

/// A PAC setting in force: the loaded script, or why it could not be loaded.
pub(super) struct PacPlan {
    origin: Provenance,
    path: String,
    #[cfg(feature = "pac")]
    loaded: Result<std::sync::Arc<crate::pac::Pac>, super::candidates::Failure>,
    #[cfg(feature = "pac")]
    names: pac_names::PacNames,
    #[cfg(feature = "pac")]
    memo: std::sync::Mutex<Memo>,
}

/// Candidates built from cached answers, by the answer's address (the answer kept alive).
#[cfg(feature = "pac")]
type Memo = std::collections::HashMap<usize, (Arc<crate::pac::PacAnswer>, Arc<Candidates>)>;
/// The most answers whose candidates are kept (the PAC answer cache's default capacity).
#[cfg(feature = "pac")]
const MEMO_CAPACITY: usize = 1024;

impl AltPlan {
    /// The plan for a profile, if it has a list or a PAC file in force.
    pub(super) fn of(
        global: &Settings,
        layer: Option<&Settings>,
        env: &EnvSnapshot,
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
                return Some(Self::Pac(Box::new(PacPlan::load(
                    &pac.value,
                    pac.origin.clone(),
                ))));
            }
        }
        let path = env.var(PAC_ENV).filter(|v| !v.trim().is_empty())?;
        Some(Self::Pac(Box::new(PacPlan::load(
            Path::new(path.trim()),
            Provenance::Env {
                var: PAC_ENV.to_owned(),
            },
        ))))
    }

    /// The error of a PAC file that could not be loaded, for the client to fail at build.
    pub(super) fn load_error(&self) -> Option<crate::Error> {
        match self {
            Self::List(_) => None,
            #[cfg(feature = "pac")]
            Self::Pac(p) => p
                .loaded
                .as_ref()
                .err()
                .map(super::candidates::Failure::to_error),
            #[cfg(not(feature = "pac"))]
            Self::Pac(p) => Some(p.unavailable().to_error()),
        }
    }

    /// The candidates for `url`.
    pub(super) fn candidates(&self, url: &url::Url) -> Arc<Candidates> {
        match self {
            Self::List(c) => c.clone(),
            Self::Pac(p) => p.candidates(url),
        }
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

impl PacPlan {
    fn empty(&self) -> Candidates {
        Candidates::new(
            CandidateSource::Pac,
            self.origin.clone(),
            self.path.clone(),
            Vec::new(),
        )
    }

    #[cfg(not(feature = "pac"))]
    fn load(path: &Path, origin: Provenance) -> Self {
        Self {
            origin,
            path: path.display().to_string(),
        }
    }

    #[cfg(not(feature = "pac"))]
    fn unavailable(&self) -> super::candidates::Failure {
        super::candidates::Failure::of(
            &crate::Error::new(crate::ErrorKind::ConfigInvalid)
                .with_message(format!(
                    "pac = {} ({}) is set, but proxyscope was built without the `pac` feature",
                    self.path, self.origin
                ))
                .with_hint("build proxyscope with the `pac` feature, or set proxy instead of pac"),
        )
    }

    #[cfg(not(feature = "pac"))]
    fn candidates(&self, _url: &url::Url) -> Arc<Candidates> {
        let mut c = self.empty();
        c.used = None;
        c.failure = Some(self.unavailable());
        Arc::new(c)
    }

    #[cfg(feature = "pac")]
    fn load(path: &Path, origin: Provenance) -> Self {
        use crate::pac::{Pac, PacOptions, PacScript};
        let names = pac_names::PacNames::default();
        let loaded = PacScript::from_file(path)
            .and_then(|script| Pac::new(script, PacOptions::new().resolver(names.clone())))
            .map(Arc::new)
            .map_err(|e| {
                let where_ = origin.to_string();
                super::candidates::Failure::of(&e.map_evidence(|ev| {
                    if ev.setting.is_none() {
                        ev.setting = Some(where_);
                    }
                }))
            });
        Self {
            origin,
            path: path.display().to_string(),
            loaded,
            names,
            memo: std::sync::Mutex::default(),
        }
    }

    #[cfg(feature = "pac")]
    fn candidates(&self, url: &url::Url) -> Arc<Candidates> {
        use crate::pac::Decision;
        let mut c = self.empty();
        c.used = None;
        let pac = match &self.loaded {
            Ok(p) => p,
            Err(f) => {
                c.failure = Some(f.clone());
                return Arc::new(c);
            }
        };
        match pac.find_proxy(url) {
            Err(e) => c.failure = Some(super::candidates::Failure::of(&e)),
            Ok(Decision::NeedsDns(names)) => c.pending = names,
            Ok(Decision::Answer { answer, from_cache }) => {
                // A cached answer's candidates are built once and shared by its routes.
                let key = Arc::as_ptr(&answer) as usize;
                if from_cache && let Some((_, built)) = self.lock_memo().get(&key) {
                    return built.clone();
                }
                self.fill(&mut c, &answer, from_cache);
                let built = Arc::new(c);
                let shared = if from_cache {
                    built.clone()
                } else {
                    let mut shared = (*built).clone();
                    if let Some(p) = &mut shared.pac {
                        p.from_cache = true;
                    }
                    Arc::new(shared)
                };
                let mut memo = self.lock_memo();
                if memo.len() >= MEMO_CAPACITY {
                    memo.clear();
                }
                // The answer is kept alive with its entry, so its address is not reused.
                memo.insert(key, (answer, shared));
                return built;
            }
        }
        Arc::new(c)
    }

    #[cfg(feature = "pac")]
    fn lock_memo(&self) -> std::sync::MutexGuard<'_, Memo> {
        self.memo
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    #[cfg(feature = "pac")]
    fn fill(&self, c: &mut Candidates, answer: &crate::pac::PacAnswer, from_cache: bool) {
        use crate::pac::PacEntry;
        c.entries = answer
            .result
            .entries
            .iter()
            .map(|e| match e {
                PacEntry::Direct => Candidate::new("DIRECT", None),
                PacEntry::Proxy { .. } => Candidate::new(
                    e.to_string(),
                    crate::proxy::ProxyUrl::parse(&e.to_url()).ok(),
                ),
            })
            .collect();
        c.used = (!c.entries.is_empty()).then_some(0);
        c.pac = Some(super::candidates::PacFacts {
            url: answer.url.clone(),
            host: answer.host.clone(),
            returned: answer.returned.clone(),
            from_cache,
            alerts: answer.alerts.clone(),
            lookups: answer
                .lookups
                .iter()
                .map(|l| {
                    let addrs: Vec<String> = l.addresses.iter().map(ToString::to_string).collect();
                    if addrs.is_empty() {
                        format!("{} = (none)", l.host)
                    } else {
                        format!("{} = {}", l.host, addrs.join(", "))
                    }
                })
                .collect(),
            diagnostics: answer
                .result
                .diagnostics
                .iter()
                .map(ToString::to_string)
                .collect(),
        });
    }

    /// Records what the client's resolver said about `host`, for the next evaluation.
    #[cfg(feature = "pac")]
    pub(super) fn learn(&self, host: &str, addrs: Vec<std::net::IpAddr>) {
        self.names.learn(host, addrs);
    }
}

#[cfg(feature = "pac")]
mod pac_names {
    //! The names a profile's PAC script may use, as the client's resolver answered them:
    //! unknown names are pending (the connector resolves them and asks again), answers are kept
    //! for a bounded time and count.

    use std::collections::HashMap;
    use std::net::IpAddr;
    use std::sync::{Arc, Mutex, PoisonError};
    use std::time::{Duration, Instant};

    use crate::pac::{Lookup, PacResolver};

    /// How long a resolved name is believed.
    const TTL: Duration = Duration::from_secs(60);
    /// The most names kept.
    const MAX_NAMES: usize = 1024;

    /// Each name: when it was learned, its addresses (empty: it does not resolve).
    type Known = HashMap<String, (Instant, Vec<IpAddr>)>;

    #[derive(Clone, Default)]
    pub(crate) struct PacNames {
        known: Arc<Mutex<Known>>,
    }

    impl PacNames {
        pub(crate) fn learn(&self, host: &str, addrs: Vec<IpAddr>) {
            let mut known = self.known.lock().unwrap_or_else(PoisonError::into_inner);
            if known.len() >= MAX_NAMES {
                let now = Instant::now();
                known.retain(|_, (at, _)| now.saturating_duration_since(*at) < TTL);
                if known.len() >= MAX_NAMES {
                    known.clear();
                }
            }
            known.insert(host.to_ascii_lowercase(), (Instant::now(), addrs));
        }
    }

    impl PacResolver for PacNames {
        fn lookup(&self, host: &str, _deadline: Instant) -> Lookup {
            let known = self.known.lock().unwrap_or_else(PoisonError::into_inner);
            match known.get(&host.to_ascii_lowercase()) {
                Some((at, _)) if at.elapsed() >= TTL => Lookup::Pending,
                Some((_, a)) if a.is_empty() => Lookup::NotFound,
                Some((_, a)) => Lookup::Found(a.clone()),
                None => Lookup::Pending,
            }
        }
    }
}
