//! [`Router`]: the route decision for one profile (the global layer, or a provider's layer over
//! it, plus the environment snapshot), made without building any text.
//!
//! Everything a decision needs that does not depend on the URL's host is worked out once, when
//! the router is built: for `http` and `https`, which proxy value is in force (provider, global,
//! environment by curl's rules) or the `config.proxy_url` error it amounts to, and which
//! `no_proxy` list applies. A decision is then the scheme's plan plus one `NoProxy` lookup,
//! whose cost does not grow with the list. The layers and the snapshot are immutable once
//! built, so nothing here ever goes stale.
//!
//! The steps, values and warnings of [`Route::explain`] come from the full resolution in
//! `explain.rs`, run on demand from the same inputs; a property test holds the two to the same
//! decision.

use std::sync::Arc;

use url::Url;

use super::auto::{AltPlan, AutoConfigLoader};
use super::candidates::Failure;
use super::explain::setting_name;
use super::{Chosen, Route, RouteError, Target, UriParts, Via};
use crate::proxy::{EnvSnapshot, NoProxy, ProxyUrlError, ProxyUrlErrorKind};
use crate::settings::{Provenance, ProxySetting, Settings};

/// What a scheme's routes do before the host is looked at.
type Plan = Result<Option<Arc<Chosen>>, RouteError>;

/// The schemes whose plans a router keeps.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum PlanKey {
    Http,
    Https,
}

/// Which `no_proxy` list applies: the provider's, the global one, the environment's, or none.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ListSource {
    Provider,
    Global,
    Env,
    None,
}

pub(super) struct Inputs {
    pub(super) global: Settings,
    pub(super) provider: Option<(Arc<str>, Settings)>,
    pub(super) env: EnvSnapshot,
    list: ListSource,
    http: Plan,
    https: Plan,
    /// A proxy list or PAC file in force; `None` on the common path.
    alt: Option<AltPlan>,
    /// Decisions made, for the tests that hold the client to one per request.
    #[cfg(test)]
    decisions: std::sync::atomic::AtomicUsize,
}

impl Inputs {
    pub(super) fn layer(&self) -> Option<&Settings> {
        self.provider.as_ref().map(|(_, l)| l)
    }

    pub(super) fn no_proxy(&self) -> Option<&NoProxy> {
        match self.list {
            ListSource::Provider => self.layer()?.no_proxy.as_ref().map(|s| &s.value),
            ListSource::Global => self.global.no_proxy.as_ref().map(|s| &s.value),
            ListSource::Env => self.env.no_proxy().map(|e| &e.list),
            ListSource::None => None,
        }
    }

    /// The proxy planned for a kept scheme.
    pub(super) fn planned(&self, key: PlanKey) -> Option<&Chosen> {
        let plan = match key {
            PlanKey::Http => &self.http,
            PlanKey::Https => &self.https,
        };
        plan.as_ref().ok()?.as_deref()
    }
}

/// Decides routes for one profile: the global layer, optionally a provider's layer over it, and
/// the environment snapshot. Cheap to clone (shared); building one does the per-scheme work once.
#[derive(Clone)]
pub struct Router {
    inputs: Arc<Inputs>,
}

impl std::fmt::Debug for Router {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Router")
            .field("provider", &self.provider())
            .finish_non_exhaustive()
    }
}

impl Router {
    /// A router for `global`, the provider `(name, layer)` if any, and `env`.
    ///
    /// A `pac` setting in force needs an evaluator this router does not have: its routes carry
    /// a `config.invalid` failure. [`Router::with_auto_config`] runs the script.
    pub fn new(global: Settings, provider: Option<(&str, Settings)>, env: EnvSnapshot) -> Self {
        Self::build(global, provider, env, None)
    }

    /// [`Router::new`], with a `pac` setting in force loaded once by `loader` (the `pac`
    /// module's `proxyscope::pac::auto_config`, feature `pac`) and run for each route.
    pub fn with_auto_config(
        global: Settings,
        provider: Option<(&str, Settings)>,
        env: EnvSnapshot,
        loader: AutoConfigLoader,
    ) -> Self {
        Self::build(global, provider, env, Some(loader))
    }

    fn build(
        global: Settings,
        provider: Option<(&str, Settings)>,
        env: EnvSnapshot,
        loader: Option<AutoConfigLoader>,
    ) -> Self {
        let provider = provider.map(|(n, l)| (Arc::<str>::from(n), l));
        let layer = provider.as_ref().map(|(_, l)| l);
        let list = if layer.is_some_and(|l| l.no_proxy.is_some()) {
            ListSource::Provider
        } else if global.no_proxy.is_some() {
            ListSource::Global
        } else if env.no_proxy().is_some() {
            ListSource::Env
        } else {
            ListSource::None
        };
        let http = plan(&global, layer, &env, "http");
        let https = plan(&global, layer, &env, "https");
        let alt = AltPlan::of(&global, layer, &env, loader);
        Self {
            inputs: Arc::new(Inputs {
                global,
                provider,
                env,
                list,
                http,
                https,
                alt,
                #[cfg(test)]
                decisions: std::sync::atomic::AtomicUsize::new(0),
            }),
        }
    }

    /// The provider this router decides for; `None` for the global layer.
    pub fn provider(&self) -> Option<&str> {
        self.inputs.provider.as_ref().map(|(n, _)| &**n)
    }

    /// The route for `url`: pure, no I/O, no text built. The [`RouteError`] is the
    /// `config.proxy_url` error of an unusable proxy value in force for the URL's scheme.
    pub fn route_url(&self, url: &Url) -> Result<Route, RouteError> {
        let target = Target::Url(Box::new(url.clone()));
        self.decide(url.scheme(), url.host_str(), None, target)
    }

    /// The route for `uri`, read as [`super::uri_parts`] gave `parts`. The URI is kept,
    /// unparsed (its text copied), for the explanation. The error comes already as the
    /// caller's (the crate's `Error`): the request path returns this value as it is, where
    /// converting a `Result` that holds a route would move the route once more. The route is
    /// built last, in the caller's place.
    #[inline]
    pub(crate) fn route_request<E: From<RouteError>>(
        &self,
        uri: &http::Uri,
        parts: &UriParts<'_>,
    ) -> Result<Route, E> {
        let router = self.clone();
        let target = Target::of_uri(uri);
        match self.via(&parts.scheme, Some(&parts.host), parts.name) {
            Ok(Some(via)) => Ok(Route::decided(via, router, target)),
            Ok(None) => Ok(self.decide_alternatives(&parts.host, parts.name, target)),
            Err(e) => Err(e.into()),
        }
    }

    #[inline]
    fn decide(
        &self,
        scheme: &str,
        host: Option<&str>,
        name: Option<(&str, usize)>,
        target: Target,
    ) -> Result<Route, RouteError> {
        Ok(match self.via(scheme, host, name)? {
            Some(via) => Route::decided(via, self.clone(), target),
            None => self.decide_alternatives(host.unwrap_or_default(), name, target),
        })
    }

    /// What a route for (scheme, host) goes through, decided without building the route;
    /// `None` when a proxy list or PAC file in force decides (see `decide_alternatives`).
    #[inline]
    fn via(
        &self,
        scheme: &str,
        host: Option<&str>,
        name: Option<(&str, usize)>,
    ) -> Result<Option<Via>, RouteError> {
        let inputs = &*self.inputs;
        #[cfg(test)]
        inputs
            .decisions
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let Some(host) = host else {
            return Ok(Some(Via::Direct));
        };
        if inputs.alt.is_some() {
            return Ok(None);
        }
        // http and https were planned when the router was built; other schemes (ws, ftp, …)
        // never reach the client's request path and are planned on the spot.
        let via = match scheme {
            "http" => planned(&inputs.http, PlanKey::Http)?,
            "https" => planned(&inputs.https, PlanKey::Https)?,
            other => plan(&inputs.global, inputs.layer(), &inputs.env, other)?
                .map_or(Via::Direct, Via::Own),
        };
        // The list matters only when a proxy was chosen; the entry that matched is part of the
        // decision (curl's first in list order), its text is looked up only when asked for.
        let bypass = match (&via, inputs.no_proxy()) {
            (Via::Direct | Via::Bypassed(_), _) | (_, None) => None,
            (_, Some(list)) => match name {
                Some((name, labels)) => list.first_match_name(name, labels),
                None => list.first_match(host),
            },
        };
        Ok(Some(match bypass.map(u32::try_from) {
            None => via,
            Some(Ok(index)) => Via::Bypassed(index),
            // More than 4 billion entries: direct, the entry unnamed.
            Some(Err(_)) => Via::Direct,
        }))
    }

    /// The route of a profile with a proxy list or a PAC file: `no_proxy` first (a match goes
    /// direct, as for a single proxy), then the candidates.
    #[cold]
    fn decide_alternatives(
        &self,
        host: &str,
        name: Option<(&str, usize)>,
        target: Target,
    ) -> Route {
        let Some(alt) = &self.inputs.alt else {
            return Route::decided(Via::Direct, self.clone(), target);
        };
        let bypass = self.inputs.no_proxy().and_then(|list| match name {
            Some((name, labels)) => list.first_match_name(name, labels),
            None => list.first_match(host),
        });
        if let Some(index) = bypass {
            let via = u32::try_from(index).map_or(Via::Direct, Via::Bypassed);
            return Route::decided(via, self.clone(), target);
        }
        let url = match &target {
            Target::Url(u) => Some((**u).clone()),
            Target::Long(_) | Target::Inline(_) => Url::parse(&target.text()).ok(),
        };
        let base = Route::decided(Via::Direct, self.clone(), target);
        match url {
            Some(url) => base.with_shared_alternatives(alt.candidates(&url)),
            None => base,
        }
    }

    /// Why the PAC file in force could not be loaded (read, compiled; or no evaluator), for a
    /// client to fail at build rather than at its first request.
    pub fn auto_config_failure(&self) -> Option<&Failure> {
        self.inputs.alt.as_ref().and_then(AltPlan::load_failure)
    }

    /// Tells the PAC script in force what the resolver answered for `host` (no addresses: it
    /// does not resolve), so the routes decided next can use it. The names to resolve are a
    /// route's [`Candidates::pending`](super::Candidates::pending).
    pub fn learn_name(&self, host: &str, addrs: Vec<std::net::IpAddr>) {
        if let Some(alt) = &self.inputs.alt {
            alt.learn(host, addrs);
        }
    }

    /// How many routes this router has decided.
    #[cfg(test)]
    pub(crate) fn decisions(&self) -> usize {
        self.inputs
            .decisions
            .load(std::sync::atomic::Ordering::Relaxed)
    }

    pub(super) fn inputs(&self) -> &Inputs {
        &self.inputs
    }
}

/// A kept plan as a route refers to it; the plan's error is the route's.
#[inline]
fn planned(plan: &Plan, key: PlanKey) -> Result<Via, RouteError> {
    match plan {
        Ok(Some(_)) => Ok(Via::Planned(key)),
        Ok(None) => Ok(Via::Direct),
        Err(e) => Err(e.clone()),
    }
}

/// Which proxy is in force for `scheme` before `no_proxy` is consulted: the provider's `proxy`,
/// else the global one, else the environment by curl's rules; `"direct"` ends the search and
/// `"env"` defers to the environment. A value proxyscope cannot connect through is the error.
fn plan(global: &Settings, layer: Option<&Settings>, env: &EnvSnapshot, scheme: &str) -> Plan {
    let setting = layer
        .and_then(|l| l.proxy.as_ref())
        .or(global.proxy.as_ref());
    let chosen = match setting.map(|s| (&s.value, &s.origin)) {
        Some((ProxySetting::Direct, _)) => None,
        Some((ProxySetting::Url(p), origin)) => Some(Chosen {
            proxy: p.clone(),
            origin: Some(origin.clone()),
        }),
        Some((ProxySetting::Env, _)) | None => {
            let lookup = env.proxy_for(scheme);
            match (lookup.found, lookup.proxy) {
                (Some(var), Some(parsed)) => Some(Chosen {
                    proxy: parsed.map_err(|e| RouteError::new(e, &var.name))?,
                    origin: Some(Provenance::Env { var: var.name }),
                }),
                _ => None,
            }
        }
    };
    if let Some(c) = &chosen
        && !c.proxy.scheme().is_connectable()
    {
        let e = ProxyUrlError::new(
            ProxyUrlErrorKind::NotConnectable,
            &c.proxy.without_credentials(),
        );
        let setting = c
            .origin
            .as_ref()
            .map_or_else(|| "proxy".to_owned(), setting_name);
        return Err(RouteError::new(e, &setting));
    }
    Ok(chosen.map(Arc::new))
}
