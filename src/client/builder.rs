//! [`ClientBuilder`]: the global layer, providers (name, base URL, layer), the environment
//! snapshot, the resolver, extra proxy headers and pool settings. The first error is kept and
//! returned by `build()`, which also loads every CA file so a bad one fails at startup.

use std::time::Duration;

use http::header::USER_AGENT;
use http::{HeaderMap, HeaderName, HeaderValue};
use hyper_util::client::legacy;
use hyper_util::rt::{TokioExecutor, TokioTimer};

use crate::connect::{Connector, ConnectorSettings, Resolver};
use crate::error::{Error, ErrorKind};
use crate::proxy::{EnvSnapshot, redact_url};
use crate::settings::{Provenance, Settings};
use crate::tls::{CaBundle, TlsCache};

use super::body::BodyLimits;
use super::redirect::RedirectPolicy;
use super::{Client, Inner, ProfileClient};

/// One provider as given to the builder.
struct ProviderEntry {
    name: String,
    url: String,
    layer: Settings,
    /// Where it was declared, when it came from a configuration file.
    origin: Option<Provenance>,
}

/// Builds a [`Client`]. Setters take and return the builder by value. `Debug` never shows the
/// providers' URLs with their credentials.
pub struct ClientBuilder {
    global: Settings,
    providers: Vec<ProviderEntry>,
    env: Option<EnvSnapshot>,
    resolver: Resolver,
    proxy_headers: HeaderMap,
    tunnel_plain_http: bool,
    http2: bool,
    pool_idle_timeout: Option<Duration>,
    pool_max_idle_per_host: usize,
    default_headers: HeaderMap,
    redirect: RedirectPolicy,
    gzip: bool,
    brotli: bool,
    zstd: bool,
    /// CA files already loaded (a `Config`'s), used instead of reading them again.
    ca_files: Vec<CaBundle>,
    error: Option<Error>,
}

impl std::fmt::Debug for ClientBuilder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let providers: Vec<(&str, String)> = self
            .providers
            .iter()
            .map(|p| (p.name.as_str(), redact_url(&p.url)))
            .collect();
        f.debug_struct("ClientBuilder")
            .field("global", &self.global)
            .field("providers", &providers)
            .field("env", &self.env)
            .field("proxy_headers", &self.proxy_headers)
            .field("tunnel_plain_http", &self.tunnel_plain_http)
            .field("http2", &self.http2)
            .field("error", &self.error)
            .finish_non_exhaustive()
    }
}

impl Default for ClientBuilder {
    fn default() -> Self {
        Self::new()
    }
}

impl ClientBuilder {
    /// An empty builder: no global settings, no providers, the process environment.
    pub fn new() -> Self {
        Self {
            global: Settings::new(),
            providers: Vec::new(),
            env: None,
            resolver: Resolver::system(),
            proxy_headers: HeaderMap::new(),
            tunnel_plain_http: false,
            http2: true,
            pool_idle_timeout: Some(Duration::from_secs(90)),
            pool_max_idle_per_host: usize::MAX,
            default_headers: {
                let mut h = HeaderMap::new();
                h.insert(
                    USER_AGENT,
                    HeaderValue::from_static(super::send::USER_AGENT),
                );
                h
            },
            redirect: RedirectPolicy::none(),
            gzip: false,
            brotli: false,
            zstd: false,
            ca_files: Vec::new(),
            error: None,
        }
    }

    /// A builder holding `config`'s global layer and every provider (name, base URL, layer).
    /// The environment, resolver and pool settings can still be changed before `build()`.
    pub fn from_config(config: &crate::config::Config) -> Self {
        Self::from_config_providers(config, |_| true)
    }

    /// A builder holding `config`'s global layer and only the providers `keep` selects: a client
    /// for the few providers a caller will use costs nothing for the rest (their CA files are
    /// not even read again). The CA files the config loaded are reused.
    pub fn from_config_providers(
        config: &crate::config::Config,
        mut keep: impl FnMut(&str) -> bool,
    ) -> Self {
        let mut b = Self::new().global(config.global_layer().clone());
        b.ca_files = config.ca_files().to_vec();
        for p in config.providers().iter().filter(|p| keep(p.name())) {
            b = b.provider(p.name(), p.url().value.as_str(), p.layer().clone());
            if let Some(entry) = b.providers.last_mut() {
                entry.origin = Some(p.origin().clone());
            }
        }
        b
    }

    /// The global layer: applies to every request, and under every provider's layer.
    pub fn global(mut self, layer: Settings) -> Self {
        self.global = layer;
        self
    }

    /// Adds a provider: a name, its base URL, and its layer (applied over the global one).
    /// A request whose URL lies under the base URL uses this provider even when the caller
    /// does not name it (see [`Client::request`]).
    pub fn provider(mut self, name: &str, url: &str, layer: Settings) -> Self {
        if self.providers.iter().any(|p| p.name == name) {
            self.keep(
                Error::new(ErrorKind::ConfigInvalid)
                    .with_message(format!("provider {name} is defined twice"))
                    .with_hint("give each provider a unique name"),
            );
        } else {
            self.providers.push(ProviderEntry {
                name: name.to_owned(),
                url: url.to_owned(),
                layer,
                origin: None,
            });
        }
        self
    }

    /// The environment snapshot consulted for `proxy = "env"` or unset proxies (default: the
    /// process environment, read once at `build()`).
    pub fn env(mut self, env: EnvSnapshot) -> Self {
        self.env = Some(env);
        self
    }

    /// The resolver (default: the system's). Pin names with [`Resolver::pinned`].
    pub fn resolver(mut self, resolver: Resolver) -> Self {
        self.resolver = resolver;
        self
    }

    /// A header sent to the proxy on every CONNECT and absolute-form request, by every profile
    /// (before the layers' own `proxy_headers`). Marked sensitive, so `Debug` and logs never
    /// show it, when the name says it holds a credential (the rule of every header,
    /// [`is_secret_header`](crate::proxy::redact::is_secret_header): `auth`, `token`, `key`,
    /// `secret`, `cookie`, `password`, `session`, …).
    pub fn proxy_header(mut self, name: &str, value: &str) -> Self {
        match (
            HeaderName::from_bytes(name.as_bytes()),
            HeaderValue::from_str(value),
        ) {
            (Ok(n), Ok(mut v)) => {
                // One rule for the builder's headers and the layers' `proxy_headers`: a
                // cookie or token sent to the proxy is as secret as its authorization.
                if crate::settings::ProxyHeaders::is_sensitive(n.as_str()) {
                    v.set_sensitive(true);
                }
                self.proxy_headers.append(n, v);
            }
            _ => self.keep(
                Error::new(ErrorKind::ConfigInvalid)
                    .with_message(format!("proxy header {name} is not a valid header"))
                    .with_hint("header names are tokens; values are visible ASCII"),
            ),
        }
        self
    }

    /// Masks the values of the query parameter `name` (case-insensitive) in every URL
    /// proxyscope prints, from now on and in the whole process, besides the built-in list
    /// ([`SECRET_QUERY_PARAMS`](crate::proxy::redact::SECRET_QUERY_PARAMS)). The values are
    /// still sent. The configuration key `secret_query_params` does the same.
    pub fn secret_query_param(self, name: &str) -> Self {
        crate::proxy::redact::add_secret_query_param(name);
        self
    }

    /// Tunnel plain `http://` through an HTTP proxy with CONNECT instead of sending
    /// absolute-form requests (default: absolute-form, as curl does).
    pub fn tunnel_plain_http(mut self, yes: bool) -> Self {
        self.tunnel_plain_http = yes;
        self
    }

    /// Offer HTTP/2 to `https://` origins by ALPN (default: yes).
    pub fn http2(mut self, yes: bool) -> Self {
        self.http2 = yes;
        self
    }

    /// How long an idle pooled connection is kept (`None`: forever).
    pub fn pool_idle_timeout(mut self, d: Option<Duration>) -> Self {
        self.pool_idle_timeout = d;
        self
    }

    /// The most idle connections kept per host.
    pub fn pool_max_idle_per_host(mut self, n: usize) -> Self {
        self.pool_max_idle_per_host = n;
        self
    }

    /// Headers sent with every request that does not set the same name itself (the request's
    /// value wins). Replaces earlier defaults of the same names; a `User-Agent` here replaces
    /// the default `proxyscope/<version>`. Credential headers (`Authorization`, `Cookie`) are
    /// marked sensitive, and are dropped like the request's own when a redirect leaves the
    /// origin. A value with CR, LF or NUL is `request.header` at `build()`.
    ///
    /// ```
    /// let mut headers = http::HeaderMap::new();
    /// headers.insert("x-team", http::HeaderValue::from_static("mt"));
    /// let client = proxyscope::Client::builder().default_headers(headers).build()?;
    /// # Ok::<(), proxyscope::Error>(())
    /// ```
    pub fn default_headers(mut self, headers: HeaderMap) -> Self {
        let mut last: Option<HeaderName> = None;
        for (name, value) in headers {
            let Some(name) = name.or_else(|| last.clone()) else {
                continue;
            };
            if let Err(e) = super::request::check_value(&name, &value) {
                self.keep(e);
                continue;
            }
            if last.as_ref() != Some(&name) {
                self.default_headers.remove(&name);
            }
            self.default_headers.append(name.clone(), value);
            last = Some(name);
        }
        super::request::mark_sensitive(&mut self.default_headers);
        self
    }

    /// The `User-Agent` of requests that set none (default `proxyscope/<version>`). A value a
    /// header cannot carry is `request.header` at `build()`.
    pub fn user_agent(mut self, value: &str) -> Self {
        match HeaderValue::from_str(value) {
            Ok(v) => {
                self.default_headers.insert(USER_AGENT, v);
            }
            Err(_) => self.keep(
                Error::new(ErrorKind::RequestHeader)
                    .with_message("the User-Agent is not a valid header value (CR, LF or another control character)")
                    .with_hint("use visible text without line breaks")
                    .map_evidence(|ev| ev.setting = Some("user_agent".to_owned())),
            ),
        }
        self
    }

    /// The redirect policy of requests that set none (default: [`RedirectPolicy::none`], so a
    /// 3xx is the response — what probes and health checks need).
    pub fn redirect(mut self, policy: RedirectPolicy) -> Self {
        self.redirect = policy;
        self
    }

    /// Ask for gzip bodies (`Accept-Encoding`) and decompress them (default: no). Only when the
    /// request sets no `Accept-Encoding` (or `Range`) of its own; the decompressed size counts
    /// against the body's caps. Needs the `decompression` feature.
    #[cfg(feature = "decompression")]
    #[cfg_attr(docsrs, doc(cfg(feature = "decompression")))]
    pub fn gzip(mut self, yes: bool) -> Self {
        self.gzip = yes;
        self
    }

    /// Ask for brotli bodies (`br`) and decompress them, as [`gzip`](ClientBuilder::gzip) does.
    #[cfg(feature = "decompression")]
    #[cfg_attr(docsrs, doc(cfg(feature = "decompression")))]
    pub fn brotli(mut self, yes: bool) -> Self {
        self.brotli = yes;
        self
    }

    /// Ask for zstd bodies and decompress them, as [`gzip`](ClientBuilder::gzip) does.
    #[cfg(feature = "decompression")]
    #[cfg_attr(docsrs, doc(cfg(feature = "decompression")))]
    pub fn zstd(mut self, yes: bool) -> Self {
        self.zstd = yes;
        self
    }

    fn accept_encoding(&self) -> Option<HeaderValue> {
        let names: Vec<&str> = [
            (self.gzip, "gzip"),
            (self.brotli, "br"),
            (self.zstd, "zstd"),
        ]
        .into_iter()
        .filter_map(|(on, name)| on.then_some(name))
        .collect();
        (!names.is_empty())
            .then(|| HeaderValue::from_str(&names.join(", ")).ok())
            .flatten()
    }

    fn keep(&mut self, e: Error) {
        if self.error.is_none() {
            self.error = Some(e);
        }
    }

    /// Builds the client: one pooled connection set per provider plus one for the global layer.
    /// Fails with the first error seen by a setter, a provider URL that does not parse
    /// (`config.invalid`), or a CA file that cannot be used (`config.ca_file`). Each CA file
    /// (and the environment's CA bundles) is read once for all profiles.
    pub fn build(self) -> Result<Client, Error> {
        if let Some(e) = self.error {
            return Err(e);
        }
        let accept_encoding = self.accept_encoding();
        let cache = TlsCache::with(self.ca_files.iter().cloned());
        let env = self.env.unwrap_or_else(EnvSnapshot::from_process);
        let settings = |provider: Option<String>,
                        provider_origin: Option<Provenance>,
                        layer: Option<Settings>,
                        base_url: Option<url::Url>| ConnectorSettings {
            provider,
            provider_origin,
            global: self.global.clone(),
            layer,
            env: env.clone(),
            resolver: self.resolver.clone(),
            proxy_headers: self.proxy_headers.clone(),
            tunnel_plain_http: self.tunnel_plain_http,
            http2: self.http2,
            base_url,
        };
        let make = |connector: Connector| -> ProfileClientParts {
            let mut b = legacy::Client::builder(TokioExecutor::new());
            b.pool_idle_timeout(self.pool_idle_timeout)
                .pool_max_idle_per_host(self.pool_max_idle_per_host)
                .pool_timer(TokioTimer::new())
                .timer(TokioTimer::new());
            let http = std::sync::Arc::new(super::pool::Pool::new(
                b.build(connector.clone()),
                connector.clone(),
                self.http2,
                self.pool_idle_timeout,
                self.pool_max_idle_per_host,
            ));
            (connector, http)
        };
        if self.global.auth.is_some() {
            return Err(Error::new(ErrorKind::ConfigInvalid)
                .with_message("`auth` is set in the global layer; origin credentials belong to one provider")
                .with_hint("move `auth` into the provider whose origin expects it: it is sent only to that provider's base URL")
                .map_evidence(|ev| ev.setting = Some("auth".to_owned())));
        }
        let (connector, http) = make(Connector::with_cache(
            settings(None, None, None, None),
            &cache,
        )?);
        let global = ProfileClient {
            name: None,
            base: None,
            limits: BodyLimits::for_profile(None, &connector.profile().effective().limits),
            connector,
            http,
        };
        let mut providers = Vec::with_capacity(self.providers.len());
        for ProviderEntry {
            name,
            url,
            layer,
            origin,
        } in &self.providers
        {
            let base = url::Url::parse(url).map_err(|e| {
                Error::new(ErrorKind::ConfigInvalid)
                    .with_message(format!(
                        "provider {name} has an invalid url {:?}",
                        redact_url(url)
                    ))
                    .with_hint(
                        "write the provider's url as an absolute URL, e.g. https://api.example.org",
                    )
                    .with_source(e)
            })?;
            if crate::proxy::redact::parse_drops_at(&base, url) {
                return Err(Error::new(ErrorKind::ConfigInvalid)
                    .with_message(format!(
                        "provider {name}'s url {:?} has an `@` after its host that its `..` segments remove",
                        redact_url(url)
                    ))
                    .with_hint(crate::proxy::redact::DROPPED_AT_FIX));
            }
            let (connector, http) = make(Connector::with_cache(
                settings(
                    Some(name.clone()),
                    origin.clone(),
                    Some(layer.clone()),
                    Some(base.clone()),
                ),
                &cache,
            )?);
            providers.push(ProfileClient {
                limits: BodyLimits::for_profile(
                    Some(name),
                    &connector.profile().effective().limits,
                ),
                name: Some(name.clone()),
                base: Some(base),
                connector,
                http,
            });
        }
        let defaults = super::send::Defaults::new(
            self.default_headers.clone(),
            self.redirect,
            accept_encoding,
        );
        Ok(Client {
            inner: std::sync::Arc::new(Inner {
                timers: Default::default(),
                global,
                providers,
                defaults,
            }),
        })
    }
}

type ProfileClientParts = (Connector, std::sync::Arc<super::pool::Pool>);
