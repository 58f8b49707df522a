//! A `pac` setting as the router uses it: the script loaded once per profile, evaluated per URL
//! into the route's candidates ([`crate::route::Candidates`]), with the names it looks up
//! answered by what the client's resolver said ([`auto_config`] is the router's
//! [`AutoConfigLoader`](crate::route::AutoConfigLoader)).
//!
//! A PAC script that looks up a name the profile has not resolved yet answers "pending"
//! ([`Lookup::Pending`](super::Lookup::Pending)): the route then lists the names, the connector resolves them with the
//! client's resolver, tells the router ([`crate::route::Router::learn_name`]) and decides again
//! (a bounded number of rounds), so the script never blocks a runtime thread on DNS.

use std::collections::HashMap;
use std::net::IpAddr;
use std::path::Path;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use url::Url;

use crate::error::Error;
use crate::proxy::ProxyUrl;
use crate::route::{
    AutoConfig, Candidate, CandidateFailure, CandidateSource, Candidates, PacFacts,
};
use crate::settings::Provenance;

use super::result::PacEntry;
use super::script::PacScript;
use super::{Decision, Pac, PacAnswer, PacOptions};

/// Candidates built from cached answers, by the answer's address (the answer kept alive).
type Memo = HashMap<usize, (Arc<PacAnswer>, Arc<Candidates>)>;
/// The most answers whose candidates are kept (the PAC answer cache's default capacity).
const MEMO_CAPACITY: usize = 1024;

/// Loads the PAC file at `path` (set at `origin`) for a router: read within the size cap and
/// compiled now, its name lookups answered by what the client's resolver said. A file that
/// cannot be read or compiled is kept as the router's load failure (the client fails to build
/// with it). Pass it to [`Router::with_auto_config`](crate::route::Router::with_auto_config)
/// or [`resolve_with_auto_config`](crate::route::resolve_with_auto_config).
pub fn auto_config(path: &Path, origin: &Provenance) -> Arc<dyn AutoConfig> {
    Arc::new(PacPlan::load(path, origin.clone()))
}

/// A PAC setting in force: the loaded script, or why it could not be loaded.
struct PacPlan {
    origin: Provenance,
    path: String,
    loaded: Result<Arc<Pac>, CandidateFailure>,
    names: names::PacNames,
    memo: Mutex<Memo>,
}

/// The failure a route keeps for `e`: its code and message, and the error itself.
fn failure(e: Error) -> CandidateFailure {
    let mut f = CandidateFailure::new(e.code(), e.message());
    if let Some(h) = e.hint() {
        f = f.with_hint(h);
    }
    f.with_cause(Arc::new(e))
}

impl PacPlan {
    fn load(path: &Path, origin: Provenance) -> Self {
        let names = names::PacNames::default();
        let loaded = PacScript::from_file(path)
            .and_then(|script| Pac::new(script, PacOptions::new().resolver(names.clone())))
            .map(Arc::new)
            .map_err(|e| {
                let where_ = origin.to_string();
                failure(e.map_evidence(|ev| {
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
            memo: Mutex::default(),
        }
    }

    fn empty(&self) -> Candidates {
        let mut c = Candidates::new(
            CandidateSource::Pac,
            self.origin.clone(),
            self.path.clone(),
            Vec::new(),
        );
        c.used = None;
        c
    }

    fn lock_memo(&self) -> MutexGuard<'_, Memo> {
        self.memo.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn fill(&self, c: &mut Candidates, answer: &PacAnswer, from_cache: bool) {
        c.entries = answer
            .result
            .entries
            .iter()
            .map(|e| match e {
                PacEntry::Direct => Candidate::new("DIRECT", None),
                PacEntry::Proxy { .. } => {
                    Candidate::new(e.to_string(), ProxyUrl::parse(&e.to_url()).ok())
                }
            })
            .collect();
        c.used = (!c.entries.is_empty()).then_some(0);
        c.pac = Some(PacFacts {
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
}

impl AutoConfig for PacPlan {
    fn candidates(&self, url: &Url) -> Arc<Candidates> {
        let mut c = self.empty();
        let pac = match &self.loaded {
            Ok(p) => p,
            Err(f) => {
                c.failure = Some(f.clone());
                return Arc::new(c);
            }
        };
        match pac.find_proxy(url) {
            Err(e) => c.failure = Some(failure(e)),
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

    fn load_failure(&self) -> Option<&CandidateFailure> {
        self.loaded.as_ref().err()
    }

    fn learn(&self, host: &str, addrs: Vec<IpAddr>) {
        self.names.learn(host, addrs);
    }
}

mod names {
    //! The names a profile's PAC script may use, as the client's resolver answered them:
    //! unknown names are pending (the connector resolves them and asks again), answers are kept
    //! for a bounded time and count.

    use std::collections::HashMap;
    use std::net::IpAddr;
    use std::sync::{Arc, Mutex, PoisonError};
    use std::time::{Duration, Instant};

    use super::super::host::{Lookup, PacResolver};

    /// How long a resolved name is believed.
    const TTL: Duration = Duration::from_secs(60);
    /// The most names kept.
    pub(super) const MAX_NAMES: usize = 1024;

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

        #[cfg(test)]
        pub(super) fn len(&self) -> usize {
            self.known
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .len()
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

#[cfg(test)]
mod tests {
    use std::io::Write as _;
    use std::time::Instant;

    use super::*;
    use crate::pac::{Lookup, PacResolver};

    fn script(text: &str) -> tempfile::NamedTempFile {
        let mut f = tempfile::NamedTempFile::new().unwrap();
        f.write_all(text.as_bytes()).unwrap();
        f
    }

    fn origin() -> Provenance {
        Provenance::Builder {
            key: "pac".to_owned(),
        }
    }

    #[test]
    fn names_are_pending_until_learned_then_answer() {
        let f = script(
            r#"function FindProxyForURL(u, h) {
                return isInNet(h, "10.0.0.0", "255.0.0.0") ? "PROXY in.test:3128" : "DIRECT";
            }"#,
        );
        let plan = auto_config(f.path(), &origin());
        assert!(plan.load_failure().is_none());
        let url = Url::parse("http://build.corp.test/").unwrap();
        let c = plan.candidates(&url);
        assert_eq!(c.pending, ["build.corp.test"]);
        assert_eq!(c.used, None);
        plan.learn("BUILD.corp.test", vec!["10.1.2.3".parse().unwrap()]);
        let c = plan.candidates(&url);
        assert!(c.pending.is_empty());
        assert_eq!(c.entries[0].entry, "PROXY in.test:3128");
        let pac = c.pac.as_ref().unwrap();
        assert_eq!(pac.lookups, ["build.corp.test = 10.1.2.3"]);
        // The same destination again: the cached answer's candidates, shared.
        let again = plan.candidates(&url);
        assert!(again.pac.as_ref().unwrap().from_cache);
        assert!(Arc::ptr_eq(&again, &plan.candidates(&url)));
    }

    #[test]
    fn a_file_that_does_not_compile_is_the_load_failure_with_its_error() {
        let f = script("function FindProxyForURL(u, h) { return ");
        let plan = auto_config(f.path(), &origin());
        let failure = plan.load_failure().expect("a load failure");
        assert_eq!(failure.code, "pac.syntax");
        let e = failure
            .cause()
            .and_then(|c| c.downcast_ref::<Error>())
            .expect("the error kept whole");
        assert_eq!(e.code(), "pac.syntax");
        assert_eq!(
            e.evidence().setting.as_deref(),
            Some(origin().to_string().as_str())
        );
        let c = plan.candidates(&Url::parse("http://a.test/").unwrap());
        assert_eq!(c.failure.as_ref().map(|f| f.code), Some("pac.syntax"));
    }

    #[test]
    fn the_name_table_is_bounded_and_forgets_nothing_it_was_told_within_bounds() {
        let names = names::PacNames::default();
        let soon = Instant::now() + std::time::Duration::from_secs(1);
        assert!(matches!(names.lookup("a.test", soon), Lookup::Pending));
        names.learn("a.test", Vec::new());
        assert!(matches!(names.lookup("a.test", soon), Lookup::NotFound));
        for i in 0..(names::MAX_NAMES + 10) {
            names.learn(&format!("h{i}.test"), vec!["10.0.0.1".parse().unwrap()]);
        }
        assert!(names.len() <= names::MAX_NAMES);
    }
}
