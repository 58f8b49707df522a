//! Route resolution: for one (provider, URL), direct or which proxy, and why.
//!
//! The decision and its explanation are separate. A [`Router`] (one per client profile) decides
//! a route in time independent of the `no_proxy` list's length and builds no text: the proxy in
//! force for each scheme is worked out when the router is built, and a request costs one list
//! lookup. The explanation — the ordered [`Step`]s saying what was consulted, where each value
//! came from and what it decided, with warnings and other tools' readings — is built from the
//! same inputs the first time someone looks: [`Route::steps`], [`Route::explain`], the JSON
//! form, an error's report. [`resolve`] does both at once.
//!
//! Precedence: the provider's `proxy`, else the global `proxy`, else the
//! environment by curl's rules, else direct; `"direct"` ends the search, `"env"` defers to the
//! environment. `no_proxy` is resolved the same way (provider, global, `no_proxy`/`NO_PROXY`)
//! and applies to whichever proxy was chosen, explicit ones included, as curl's `NO_PROXY`
//! exempts hosts from `--proxy`.

mod auto;
mod candidates;
mod explain;
mod near_miss;
mod provider;
mod router;
mod step;
mod target;

use std::fmt::{self, Write as _};
use std::sync::{Arc, OnceLock};

use serde::Serialize;
use url::Url;

use crate::proxy::{EnvSnapshot, NoProxy, ProxyUrl, ProxyUrlError, redact_parsed_url, redact_url};
use crate::settings::{Provenance, Settings};

pub use auto::{AutoConfig, AutoConfigLoader, PAC_ENV};
pub use candidates::{
    Candidate, CandidateSource, Candidates, Failure as CandidateFailure, PacFacts, Skipped,
};
pub use near_miss::{NearMiss, address_near_miss, location};
pub use provider::{is_under, provider_for_url};
use router::PlanKey;
pub use router::Router;
pub use step::{Outcome, Rule, Step, Warning};
use target::Target;
pub(crate) use target::{UriParts, UriProblem, uri_parts};

/// The decision for one (provider, URL): direct or via a proxy, with the steps that led there.
/// Serialises as `{"url","provider","via","proxy","proxy_origin","steps"}`, a public JSON
/// contract: fields may be added, never renamed.
///
/// The decision (`proxy`, `proxy_origin`, `provider`, the `no_proxy` entry that matched) is
/// made when the route is; the URL's printed form and the steps are built on first use and then
/// kept (clones made after that share them). Cloning is cheap.
#[derive(Clone)]
pub struct Route {
    via: Via,
    source: Source,
    explained: OnceLock<Arc<Explained>>,
}

/// The proxy a route goes through and where that value came from. Shared by every route of a
/// profile that uses it (and by every route of a cached PAC answer).
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct Chosen {
    proxy: ProxyUrl,
    /// `None` only for routes made by [`Route::new`], which decide without settings.
    origin: Option<Provenance>,
}

/// The proxy a route goes through. A route on the request path refers to its router's plan
/// rather than holding the proxy, which keeps making one to a few pointer copies.
///
/// A route is returned and moved by value: at 128 bytes or less the compiler moves it with a few
/// register copies, above that with a call to `memcpy` (a test holds it there).
#[derive(Clone)]
enum Via {
    Direct,
    /// Direct because of the `no_proxy` entry at this index (kept here rather than beside
    /// `Via`: a route is moved a few times on the request path, and smaller moves cheaper).
    Bypassed(u32),
    /// The proxy the router planned for the route's scheme (http or https).
    Planned(PlanKey),
    /// A proxy the route holds itself.
    Own(Arc<Chosen>),
    /// The candidates of a proxy list or a PAC answer; the one used (see
    /// [`Route::with_shared_alternatives`]) says direct or which proxy.
    Alternatives(candidates::Shared),
}

/// Where a route's explanation comes from.
#[derive(Clone)]
enum Source {
    /// Built with the route ([`resolve`], [`Route::new`]).
    Built { provider: Option<Arc<str>> },
    /// Built on demand from the router's inputs and the URL as requested.
    Router { router: Router, target: Target },
}

/// The text of a route, built on first use.
struct Explained {
    url: String,
    steps: Vec<Step>,
    /// Found with the steps (a list entry meant for the host), or added after resolution (an
    /// address entry for the host's name); never looked for on the request path.
    near_miss: Option<NearMiss>,
}

impl Route {
    /// A route without steps, for code that decides routes itself (tests, custom connectors).
    /// `url` is kept redacted: no userinfo, no secret query values.
    pub fn new(url: &str, provider: Option<&str>, proxy: Option<ProxyUrl>) -> Self {
        Self::built(
            provider,
            proxy.map(|proxy| Chosen {
                proxy,
                origin: None,
            }),
            None,
            Explained {
                url: redact_url(url),
                steps: Vec::new(),
                near_miss: None,
            },
        )
    }

    fn built(
        provider: Option<&str>,
        proxy: Option<Chosen>,
        bypass: Option<usize>,
        explained: Explained,
    ) -> Self {
        let via = match (proxy, bypass.and_then(|i| u32::try_from(i).ok())) {
            (Some(c), _) => Via::Own(Arc::new(c)),
            (None, Some(i)) => Via::Bypassed(i),
            (None, None) => Via::Direct,
        };
        Self {
            via,
            source: Source::Built {
                provider: provider.map(Arc::from),
            },
            explained: OnceLock::from(Arc::new(explained)),
        }
    }

    /// A route decided by `router`, to be explained on demand.
    #[inline]
    fn decided(via: Via, router: Router, target: Target) -> Self {
        Self {
            via,
            source: Source::Router { router, target },
            explained: OnceLock::new(),
        }
    }

    /// This route with `alternatives`, following its candidate `used` (direct when that is
    /// `None` or a direct candidate). The explanation is built afresh.
    pub(crate) fn with_alternatives(&self, alternatives: Candidates) -> Self {
        self.with_shared_alternatives(Arc::new(alternatives))
    }

    /// [`Route::with_alternatives`] with candidates shared with other routes (a cached PAC
    /// answer's): the proxy to use is worked out once per shared value.
    pub(crate) fn with_shared_alternatives(&self, alternatives: Arc<Candidates>) -> Self {
        alternatives.chosen.get_or_init(|| {
            let proxy = alternatives.used_candidate()?.proxy.clone()?;
            let origin = Some(alternatives.origin.clone());
            Some(Arc::new(Chosen { proxy, origin }))
        });
        let explained = OnceLock::new();
        if let Source::Built { .. } = self.source {
            // A built route has no inputs to rebuild from: keep its steps, add the candidates'.
            let mut steps = self.steps().to_vec();
            alternatives.replace_default(&mut steps);
            let _ = explained.set(Arc::new(Explained {
                url: self.url().to_owned(),
                steps,
                near_miss: self.explained().near_miss.clone(),
            }));
        }
        Self {
            via: Via::Alternatives(alternatives),
            source: self.source.clone(),
            explained,
        }
    }

    /// The candidates of a proxy list or a PAC answer this route follows, with the one used
    /// and why earlier ones were skipped; `None` for a route with one proxy (or none).
    pub fn candidates(&self) -> Option<&Candidates> {
        match &self.via {
            Via::Alternatives(c) => Some(c),
            _ => None,
        }
    }

    fn chosen(&self) -> Option<&Chosen> {
        match (&self.via, &self.source) {
            (Via::Direct | Via::Bypassed(_), _) => None,
            (Via::Own(c), _) => Some(c),
            (Via::Alternatives(c), _) => c.chosen.get().and_then(Option::as_deref),
            (Via::Planned(key), Source::Router { router, .. }) => router.inputs().planned(*key),
            (Via::Planned(_), Source::Built { .. }) => None,
        }
    }

    /// Whether this route was decided for `uri`'s scheme and authority, all a connection to
    /// it depends on within one profile.
    pub(crate) fn is_for(&self, uri: &http::Uri) -> bool {
        match &self.source {
            Source::Router { target, .. } => target.is_for(uri),
            Source::Built { .. } => false,
        }
    }

    /// The proxy, or `None` for a direct route.
    pub fn proxy(&self) -> Option<&ProxyUrl> {
        self.chosen().map(|c| &c.proxy)
    }
    /// Whether the route goes direct.
    #[inline]
    pub fn is_direct(&self) -> bool {
        match &self.via {
            Via::Direct | Via::Bypassed(_) => true,
            Via::Planned(_) | Via::Own(_) => false,
            Via::Alternatives(_) => self.chosen().is_none(),
        }
    }
    /// The URL, without credentials or secret query values (see [`crate::proxy::redact`]).
    pub fn url(&self) -> &str {
        &self.explained().url
    }
    /// The provider, if the route was resolved for one.
    pub fn provider(&self) -> Option<&str> {
        match &self.source {
            Source::Built { provider } => provider.as_deref(),
            Source::Router { router, .. } => router.provider(),
        }
    }
    /// Where the chosen proxy came from.
    pub fn proxy_origin(&self) -> Option<&Provenance> {
        self.chosen().and_then(|c| c.origin.as_ref())
    }
    /// The `no_proxy` entry, as written, that sent the host direct (the first in list order
    /// that matches, as in curl); `None` when no list entry decided the route.
    pub fn no_proxy_entry(&self) -> Option<&str> {
        let Via::Bypassed(i) = self.via else {
            return None;
        };
        let i = usize::try_from(i).ok()?;
        match &self.source {
            Source::Router { router, .. } => router
                .inputs()
                .no_proxy()
                .and_then(|l| l.entries().get(i))
                .map(String::as_str),
            Source::Built { .. } => self
                .steps()
                .iter()
                .find(|s| s.rule == Rule::NoProxy)
                .and_then(|s| s.entry.as_deref()),
        }
    }
    /// The ordered steps of the decision (built on first use).
    pub fn steps(&self) -> &[Step] {
        &self.explained().steps
    }
    /// A `no_proxy` entry meant for this host that does not match it (a URL, a port, `*.d`, an
    /// address for a name), with the entry that would: when a proxy refuses this host, that entry
    /// is the likely fix.
    ///
    /// Part of the explanation: looked for on first use (an error's report, `probe route`, the
    /// JSON form), not when the route is decided.
    pub fn near_miss(&self) -> Option<&NearMiss> {
        self.explained().near_miss.as_ref()
    }

    /// The route with a near miss found after resolution (by resolving the host's addresses).
    /// Explains the route first: this is for error reports.
    pub(crate) fn with_near_miss(self, near_miss: NearMiss) -> Self {
        let e = self.explained();
        let explained = Explained {
            url: e.url.clone(),
            steps: e.steps.clone(),
            near_miss: Some(near_miss),
        };
        Self {
            explained: OnceLock::from(Arc::new(explained)),
            ..self
        }
    }

    /// When a provider sets no proxy of its own and the proxy in use came from the global
    /// layer or the environment: the provider's name.
    pub fn inherited_proxy(&self) -> Option<&str> {
        let provider = self.provider()?;
        self.proxy()?;
        let not_set = self
            .steps()
            .iter()
            .any(|s| s.rule == Rule::ProviderProxy && s.outcome == Outcome::NotSet);
        not_set.then_some(provider)
    }

    /// Every warning of every step, in order.
    pub fn warnings(&self) -> impl Iterator<Item = &Warning> {
        self.steps().iter().flat_map(|s| s.warnings.iter())
    }

    /// One line: `direct` or `via http://proxy:3128 (from env:https_proxy)`.
    pub fn summary(&self) -> String {
        match (self.proxy(), self.proxy_origin()) {
            (Some(p), Some(o)) => format!("via {p} (from {o})"),
            (Some(p), None) => format!("via {p}"),
            (None, _) => "direct".into(),
        }
    }

    /// The decision for people: a headline, then each step with its warnings.
    pub fn explain(&self) -> String {
        let mut out = format!("route for {}", self.url());
        if let Some(p) = self.provider() {
            let _ = write!(out, " (provider {})", crate::diagnostic::printable(p));
        }
        let _ = write!(out, ": {}", self.summary());
        for (i, s) in self.steps().iter().enumerate() {
            let _ = write!(out, "\n  {}. {s}", i + 1);
        }
        out
    }

    /// Whether the explanation has been built (the tests that keep it off the request path).
    #[cfg(test)]
    pub(crate) fn is_explained(&self) -> bool {
        self.explained.get().is_some()
    }

    fn explained(&self) -> &Explained {
        self.explained.get_or_init(|| match &self.source {
            Source::Router { router, target } => {
                let mut e = explain_target(router, target);
                if let Via::Alternatives(alt) = &self.via {
                    alt.replace_default(&mut e.steps);
                }
                Arc::new(e)
            }
            // Built routes are created with their explanation.
            Source::Built { .. } => Arc::new(Explained {
                url: String::new(),
                steps: Vec::new(),
                near_miss: None,
            }),
        })
    }
}

/// The full resolution for a routed target, from the router's inputs.
fn explain_target(router: &Router, target: &Target) -> Explained {
    let inputs = router.inputs();
    let parsed;
    let url = match target {
        Target::Url(u) => &**u,
        Target::Long(_) | Target::Inline(_) => match Url::parse(&target.text()) {
            Ok(u) => {
                parsed = u;
                &parsed
            }
            // The request path accepted the URI (its scheme and host were checked), so the URL
            // parser accepts it too; should that ever not hold, say so rather than panic.
            Err(e) => {
                return Explained {
                    url: redact_url(&target.text()),
                    steps: vec![Step::new(
                        Rule::Default,
                        Outcome::Noted,
                        format!("the URL could not be re-read to explain the route: {e}"),
                    )],
                    near_miss: None,
                };
            }
        },
    };
    match explain::build(&inputs.global, inputs.layer(), &inputs.env, url) {
        Ok(b) => Explained {
            url: b.url,
            steps: b.steps,
            near_miss: b.near_miss,
        },
        Err(e) => Explained {
            url: redact_parsed_url(url),
            steps: vec![Step::new(
                Rule::Default,
                Outcome::Noted,
                format!("the explanation disagrees with the decision: {e}"),
            )],
            near_miss: None,
        },
    }
}

impl PartialEq for Route {
    fn eq(&self, other: &Self) -> bool {
        self.proxy() == other.proxy()
            && self.proxy_origin() == other.proxy_origin()
            && self.provider() == other.provider()
            && self.url() == other.url()
            && self.steps() == other.steps()
    }
}

impl Eq for Route {}

impl fmt::Debug for Route {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Route")
            .field("url", &self.url())
            .field("provider", &self.provider())
            .field("proxy", &self.proxy())
            .field("proxy_origin", &self.proxy_origin())
            .field("steps", &self.steps())
            .finish()
    }
}

impl fmt::Display for Route {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.summary())
    }
}

impl Serialize for Route {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeStruct;
        let mut st = s.serialize_struct("Route", 8)?;
        st.serialize_field("url", self.url())?;
        st.serialize_field("provider", &self.provider())?;
        st.serialize_field("via", if self.is_direct() { "direct" } else { "proxy" })?;
        st.serialize_field("proxy", &self.proxy())?;
        st.serialize_field("proxy_origin", &self.proxy_origin())?;
        st.serialize_field("steps", self.steps())?;
        match self.near_miss() {
            Some(n) => st.serialize_field("near_miss", n)?,
            None => st.skip_field("near_miss")?,
        }
        match self.candidates() {
            Some(c) => st.serialize_field("candidates", c)?,
            None => st.skip_field("candidates")?,
        }
        st.end()
    }
}

/// Why [`resolve`] found no route: the proxy value in force is not a usable proxy URL. Converts
/// into the crate's [`Error`](crate::Error) as `config.proxy_url`, naming the setting or
/// environment variable that holds the value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RouteError {
    setting: String,
    source: ProxyUrlError,
}

impl RouteError {
    fn new(source: ProxyUrlError, setting: &str) -> Self {
        Self {
            setting: setting.to_owned(),
            source,
        }
    }

    /// The setting (`providers.yandex.proxy`, `proxy`) or environment variable (`https_proxy`)
    /// whose value was rejected.
    pub fn setting(&self) -> &str {
        &self.setting
    }
    /// Why the value was rejected.
    pub fn proxy_url_error(&self) -> &ProxyUrlError {
        &self.source
    }
    /// The rejection, without the setting.
    pub fn into_proxy_url_error(self) -> ProxyUrlError {
        self.source
    }
}

impl fmt::Display for RouteError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.setting, self.source)
    }
}

impl std::error::Error for RouteError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        Some(&self.source)
    }
}

/// Resolves the route for `url` and its explanation at once: pure, no I/O.
///
/// `provider` is the provider's name and layer; `global` the global layer; `env` the
/// environment snapshot. The [`RouteError`] says that the chosen proxy value is not a valid
/// proxy URL or is of a scheme proxyscope cannot connect through, and names the
/// setting or variable; as an [`Error`](crate::Error) it is `config.proxy_url`. There is never a
/// silent fallback.
///
/// A `proxy` list in force gives the route its [`Candidates`]. A `pac` setting in force needs a
/// PAC evaluator, which this pure function does not have: the route's candidates then carry a
/// `config.invalid` failure; use [`resolve_with_auto_config`] to run the script.
///
/// Every step is built here, at a cost that grows with the `no_proxy` list; to route many URLs
/// under the same settings, build a [`Router`] once and explain only the routes someone reads.
pub fn resolve(
    global: &Settings,
    provider: Option<(&str, &Settings)>,
    env: &EnvSnapshot,
    url: &Url,
) -> Result<Route, RouteError> {
    resolve_with(global, provider, env, url, None)
}

/// [`resolve`], with a `pac` setting in force loaded by `loader` and run for `url` (the `pac`
/// module's `proxyscope::pac::auto_config`, feature `pac`). The file is read and compiled on
/// every call: to route many URLs, build a [`Router::with_auto_config`] once. Names the script
/// looks up that the evaluator has not learned are listed in [`Candidates::pending`] rather
/// than looked up.
pub fn resolve_with_auto_config(
    global: &Settings,
    provider: Option<(&str, &Settings)>,
    env: &EnvSnapshot,
    url: &Url,
    loader: AutoConfigLoader,
) -> Result<Route, RouteError> {
    resolve_with(global, provider, env, url, Some(loader))
}

fn resolve_with(
    global: &Settings,
    provider: Option<(&str, &Settings)>,
    env: &EnvSnapshot,
    url: &Url,
    loader: Option<AutoConfigLoader>,
) -> Result<Route, RouteError> {
    let b = explain::build(global, provider.map(|(_, l)| l), env, url)?;
    let bypassed = b.bypass.is_some();
    let route = Route::built(
        provider.map(|(n, _)| n),
        b.proxy.map(|(proxy, origin)| Chosen {
            proxy,
            origin: Some(origin),
        }),
        b.bypass,
        Explained {
            url: b.url,
            steps: b.steps,
            near_miss: b.near_miss,
        },
    );
    // A proxy list or PAC file in force. A `no_proxy` match still goes direct.
    if bypassed || url.host_str().is_none() {
        return Ok(route);
    }
    Ok(
        match auto::AltPlan::of(global, provider.map(|(_, l)| l), env, loader) {
            Some(plan) => route.with_shared_alternatives(plan.candidates(url)),
            None => route,
        },
    )
}

/// The `no_proxy` list that applies under these layers (provider, else global, else the
/// environment), and where it was set.
pub(crate) fn no_proxy_in_force<'a>(
    global: &'a Settings,
    provider: Option<&'a Settings>,
    env: &'a EnvSnapshot,
) -> Option<(&'a NoProxy, Provenance)> {
    if let Some(s) = provider
        .and_then(|l| l.no_proxy.as_ref())
        .or(global.no_proxy.as_ref())
    {
        return Some((&s.value, s.origin.clone()));
    }
    env.no_proxy().map(|e| {
        (
            &e.list,
            Provenance::Env {
                var: e.var.name.clone(),
            },
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn url(s: &str) -> Url {
        Url::parse(s).unwrap_or_else(|e| panic!("{s}: {e}"))
    }

    #[test]
    fn url_credentials_never_reach_the_route() {
        let env = EnvSnapshot::from_pairs([("https_proxy", "http://u:pw@p.test:1")]);
        let r = resolve(
            &Settings::new(),
            None,
            &env,
            &url("https://bob:hunter2@a.test/x"),
        )
        .unwrap();
        let json = serde_json::to_string(&r).unwrap_or_default();
        let text = format!("{json} {} {r:?}", r.explain());
        assert!(
            !text.contains("hunter2") && !text.contains("u:pw"),
            "{text}"
        );
        assert_eq!(r.url(), "https://a.test/x");
    }

    /// A near miss is part of the explanation: deciding the route looks for none, the first
    /// look (an error's report, `probe route`, the JSON form) finds it, and the decided route
    /// and the step-by-step one agree on it.
    #[test]
    fn near_misses_are_found_when_explained_not_when_decided() {
        let env = EnvSnapshot::from_pairs([
            ("https_proxy", "http://p.test:3128"),
            ("NO_PROXY", "localhost,https://api.internal/v1"),
        ]);
        let router = Router::new(Settings::new(), None, env.clone());
        let u = url("https://api.internal/v1/x");
        let r = router.route_url(&u).unwrap();
        assert!(!r.is_direct());
        assert!(r.explained.get().is_none(), "deciding built no explanation");
        let n = r.near_miss().expect("near miss once explained");
        assert_eq!(
            (n.entry.as_str(), n.write.as_str(), n.issue.as_str()),
            ("https://api.internal/v1", "api.internal", "url_shaped")
        );
        assert!(r.warnings().any(|w| w.code == "near_miss"));
        let full = resolve(&Settings::new(), None, &env, &u).unwrap();
        assert_eq!(full.near_miss(), r.near_miss());
        let json = serde_json::to_value(&r).unwrap_or_default();
        assert_eq!(json["near_miss"]["write"], "api.internal");
        // A host the list matches has none, and the decision still built no text.
        let hit = router.route_url(&url("https://localhost/")).unwrap();
        assert!(hit.is_direct() && hit.explained.get().is_none());
        assert!(hit.near_miss().is_none());
    }

    /// A route is returned and moved by value on every request: within 128 bytes (also inside
    /// the `Result` the client returns, whose error is one pointer) the compiler moves it with
    /// register copies rather than a call to `memcpy`.
    #[test]
    fn routes_move_in_registers() {
        assert!(std::mem::size_of::<Route>() <= 128);
        assert!(std::mem::size_of::<Result<Route, Box<RouteError>>>() <= 128);
    }

    #[test]
    fn file_urls_are_direct() {
        let env = EnvSnapshot::from_pairs([("all_proxy", "http://p.test:1")]);
        let r = resolve(&Settings::new(), None, &env, &url("file:///etc/hosts")).unwrap();
        assert!(r.is_direct());
        assert_eq!(r.steps()[0].rule, Rule::Default);
    }
}
