//! [`Ctx`]: what every error of one connection attempt names — the provider and where it was
//! declared, the target, the proxy and the route — and the phrases hints are written with.

use crate::error::{Error, ErrorKind, Hop, Phase};
use crate::proxy::ProxyUrl;
use crate::route::Route;
use crate::settings::Provenance;

/// The context every error in one connection attempt is built from.
pub(crate) struct Ctx {
    provider: Option<String>,
    provider_origin: Option<Provenance>,
    target: String,
    proxy: Option<ProxyUrl>,
    route: Option<Route>,
}

impl Ctx {
    pub(crate) fn new(
        provider: Option<String>,
        target: String,
        proxy: Option<ProxyUrl>,
        route: Option<Route>,
    ) -> Self {
        Self {
            provider,
            provider_origin: None,
            target,
            proxy,
            route,
        }
    }

    /// Where the provider was declared (its `[providers.NAME]` table), for hints that name the
    /// key to add there.
    pub(crate) fn with_provider_origin(mut self, origin: Option<Provenance>) -> Self {
        self.provider_origin = origin;
        self
    }

    pub(crate) fn provider_origin(&self) -> Option<&Provenance> {
        self.provider_origin.as_ref()
    }

    pub(crate) fn route(&self) -> Option<&Route> {
        self.route.as_ref()
    }

    /// The same context with another route (one that learned more after resolution).
    pub(crate) fn with_route(&self, route: Route) -> Ctx {
        Ctx {
            provider: self.provider.clone(),
            provider_origin: self.provider_origin.clone(),
            target: self.target.clone(),
            proxy: self.proxy.clone(),
            route: Some(route),
        }
    }

    /// Where the proxy in use was set, for hints: `cfg.toml:3:9 (proxy)`, `the https_proxy
    /// environment variable`.
    pub(crate) fn proxy_setting(&self) -> String {
        self.route
            .as_ref()
            .and_then(Route::proxy_origin)
            .map_or_else(|| "the proxy setting".to_owned(), crate::route::location)
    }

    /// The proxy's URL under another scheme, without credentials: `https://proxy.example:3128`.
    pub(crate) fn proxy_url_with_scheme(&self, scheme: &str) -> String {
        match &self.proxy {
            Some(p) => format!("{scheme}://{}", p.authority()),
            None => format!("{scheme}://host:port"),
        }
    }

    /// The proxy's URL with `USER:PASSWORD` where credentials go, e.g.
    /// `http://USER:PASSWORD@proxy.example:3128`.
    pub(crate) fn proxy_url_with_placeholder_credentials(&self) -> String {
        match &self.proxy {
            Some(p) => format!("{}://USER:PASSWORD@{}", p.scheme().as_str(), p.authority()),
            None => "http://USER:PASSWORD@host:port".to_owned(),
        }
    }

    /// An error of `kind` at `hop`/`phase` with the target, proxy and route attached.
    pub(crate) fn error(&self, kind: ErrorKind, hop: Hop, phase: Phase) -> Error {
        let target = self.target.clone();
        let proxy = self.proxy.as_ref().map(ProxyUrl::without_credentials);
        let mut e = Error::new(kind)
            .with_hop(hop)
            .with_phase(phase)
            .map_evidence(|ev| {
                ev.target = Some(target);
                ev.proxy = proxy;
            });
        if let Some(r) = &self.route {
            e = e.with_route(r.clone());
        }
        e
    }

    /// Adds the request's target, proxy and route to an error built elsewhere (the TLS layer).
    pub(crate) fn attach(&self, e: Error) -> Error {
        let target = self.target.clone();
        let proxy = self.proxy.as_ref().map(ProxyUrl::without_credentials);
        let mut e = e.map_evidence(|ev| {
            // The target is always the request's destination; the proxy's name is in `proxy`.
            ev.target = Some(target);
            if ev.proxy.is_none() {
                ev.proxy = proxy;
            }
        });
        if let Some(r) = &self.route {
            e = e.or_route(r);
        }
        e
    }

    pub(crate) fn target(&self) -> &str {
        &self.target
    }

    pub(crate) fn proxy_display(&self) -> String {
        self.proxy
            .as_ref()
            .map_or_else(|| "(transparent)".to_owned(), ProxyUrl::without_credentials)
    }

    pub(crate) fn provider_noun(&self) -> String {
        match &self.provider {
            Some(p) => format!("provider ({p})"),
            None => "client".to_owned(),
        }
    }

    pub(crate) fn proxy_key(&self) -> String {
        match &self.provider {
            Some(p) => format!("providers.{p}.proxy = \"direct\""),
            None => "proxy = \"direct\"".to_owned(),
        }
    }

    /// "the route shows proxy X came from …", or the route summary.
    pub(crate) fn route_origin_phrase(&self) -> String {
        match (&self.route, &self.proxy) {
            (Some(r), Some(p)) => match r.proxy_origin() {
                Some(origin) => format!(
                    "the route shows proxy {} came from {origin}",
                    p.without_credentials()
                ),
                None => format!(
                    "the route shows proxy {} was chosen ({})",
                    p.without_credentials(),
                    r.summary()
                ),
            },
            (Some(r), None) => format!("route: {}", r.summary()),
            _ => "the route's steps (`Route::explain`) say why it was chosen".to_owned(),
        }
    }

    pub(crate) fn route_phrase(&self) -> String {
        self.route.as_ref().map_or_else(
            || "route unknown".to_owned(),
            |r| format!("route: {}", r.summary()),
        )
    }
}
