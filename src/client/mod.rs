//! The client: [`Client`], one profile (connector + connections) per provider and one for the
//! global layer. HTTP/2 connections are its own (see `pool`); the rest go through hyper-util's
//! pooled client. The route is resolved per request (pure); the connector follows it. Every
//! failure comes back as proxyscope's [`Error`] — hyper-util's `client error (Connect)` is
//! unwrapped to the connector's own error, with the route attached.
//!
//! Which profile serves a request: [`Client::request`] with `Some(name)` uses that provider.
//! With `None`, a URL under a provider's base URL (same scheme, host and port, and the base's
//! path as a prefix) uses that provider — the longest base wins — so `client.get(url)` never
//! sends a provider's traffic through the global proxy by accident; any other URL uses the
//! global layer.

mod body;
mod body_read;
#[cfg(feature = "reqwest")]
mod bridge;
mod builder;
mod exchange;
mod http2;
mod interop;
mod into_url;
mod pool;
mod provider;
mod redirect;
mod request;
mod request_body;
mod response;
mod runtime;
mod send;
mod service;
mod timer;
mod wire_body;

use std::sync::Arc;

use http::Method;
use hyper_util::client::legacy;

use crate::connect::Connector;
use crate::error::{Error, ErrorKind};
use crate::route::{Route, UriParts};
use timer::Timers;

pub use crate::error::{Attribution, Redirect, ResponsePath};
pub(crate) use body::BodyReader;
pub use body_read::BodyStream;
pub use builder::ClientBuilder;
pub use into_url::IntoUrl;
use into_url::{
    UrlRef, check_url, is_plain_path, parse_url, path_under, request_parts, to_request_url,
};
pub use provider::ProviderHandle;
pub use redirect::RedirectPolicy;
pub use request::RequestBuilder;
pub use request_body::{Body, BoxError};
pub use response::Response;

type HttpClient = legacy::Client<Connector, Body>;

struct ProfileClient {
    name: Option<String>,
    base: Option<url::Url>,
    connector: Connector,
    /// Its connections: HTTP/2 ones of its own, hyper-util's pooled client for the rest.
    http: Arc<pool::Pool>,
    /// The profile's body caps, built with it (each request only sets the timeout).
    limits: body::BodyLimits,
}

struct Inner {
    global: ProfileClient,
    providers: Vec<ProfileClient>,
    defaults: send::Defaults,
    /// Request timers kept between requests (see `timer`).
    timers: Arc<Timers>,
}

/// An HTTP client that knows its routes and explains its failures. Cheap to clone.
///
/// ```no_run
/// # async fn run() -> Result<(), proxyscope::Error> {
/// use proxyscope::client::Client;
/// use proxyscope::{Settings, ProxySetting};
///
/// let egress = ProxySetting::parse("http://yandex-egress.example.org:3128").expect("valid URL");
/// let client = Client::builder()
///     .global(Settings::new().with_proxy(ProxySetting::Direct))
///     .provider("yandex", "https://translate.yandex.net", Settings::new().with_proxy(egress))
///     .build()?;
/// // Under the provider's base URL, so the provider's proxy is used.
/// match client.get("https://translate.yandex.net/api/v1.5/tr.json/getLangs").send().await {
///     Ok(res) => println!("{} via {}", res.status(), res.route().summary()),
///     Err(e) => eprintln!("{}", e.report()),
/// }
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct Client {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for Client {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Client")
            .field(
                "providers",
                &self
                    .inner
                    .providers
                    .iter()
                    .map(|p| p.name.as_deref().unwrap_or(""))
                    .collect::<Vec<_>>(),
            )
            .finish_non_exhaustive()
    }
}

impl Client {
    /// A builder.
    pub fn builder() -> ClientBuilder {
        ClientBuilder::new()
    }

    /// A builder holding `config`'s global layer and providers; see
    /// [`ClientBuilder::from_config`].
    pub fn builder_from_config(config: &crate::config::Config) -> ClientBuilder {
        ClientBuilder::from_config(config)
    }

    /// The route `url` would take under `provider` (or the provider its URL falls under), with
    /// no I/O: the same decision a request makes. `url` is a `&http::Uri` (as a request
    /// carries it), a `&url::Url` or text (see [`IntoUrl`]); it must be an absolute `http(s)`
    /// URL with a host, else `config.invalid`. A proxy value in force that is unusable is
    /// `config.proxy_url`.
    ///
    /// The decision costs the same whatever the length of the `no_proxy` list; the route's
    /// steps (what [`Route::explain`] prints) are built the first time someone reads them.
    pub fn route(&self, provider: Option<&str>, url: impl IntoUrl) -> Result<Route, Error> {
        url.with_url(|u| match u {
            UrlRef::Uri(uri) => {
                let parts = request_parts(uri)?;
                let profile = self.profile_for_uri(provider, uri, &parts)?;
                profile
                    .connector
                    .profile()
                    .router()
                    .route_request(uri, &parts)
            }
            UrlRef::Url(url) => {
                check_url(url, url.as_str())?;
                self.profile(provider, url)?.connector.route(url)
            }
        })
    }

    /// A request of `method` for `url`, through the profile of the provider whose base URL
    /// contains it (else the global layer); see [`RequestBuilder`]. A URL that does not parse,
    /// or is not `http(s)` is `request.url` when it is sent; credentials in it are sent as
    /// `Authorization: Basic` (see [`Client::execute`]).
    ///
    /// ```no_run
    /// # async fn run(client: proxyscope::Client) -> Result<(), proxyscope::Error> {
    /// let res = client
    ///     .request(http::Method::OPTIONS, "https://api.example.org/")
    ///     .send()
    ///     .await?;
    /// # Ok(()) }
    /// ```
    pub fn request(&self, method: Method, url: impl IntoUrl) -> RequestBuilder {
        RequestBuilder::new(self.clone(), None, method, to_request_url(url))
    }

    /// `GET url` (see [`Client::request`]). Awaiting the builder sends it.
    ///
    /// ```no_run
    /// # async fn run(client: proxyscope::Client) -> Result<(), proxyscope::Error> {
    /// let text = client.get("https://api.example.org/status").send().await?.text().await?;
    /// # Ok(()) }
    /// ```
    pub fn get(&self, url: impl IntoUrl) -> RequestBuilder {
        self.request(Method::GET, url)
    }

    /// `POST url` (see [`Client::request`]).
    ///
    /// ```no_run
    /// # async fn run(client: proxyscope::Client) -> Result<(), proxyscope::Error> {
    /// let res = client
    ///     .post("https://api.example.org/v1/items")
    ///     .json(&serde_json::json!({"name": "a"}))
    ///     .send()
    ///     .await?;
    /// # Ok(()) }
    /// ```
    pub fn post(&self, url: impl IntoUrl) -> RequestBuilder {
        self.request(Method::POST, url)
    }

    /// A request through `provider`'s profile (`None`: chosen by URL) for an absolute URL: the
    /// probe's checks, which name their provider and their full URL.
    pub(crate) fn request_via(
        &self,
        provider: Option<&str>,
        method: Method,
        url: &str,
    ) -> RequestBuilder {
        RequestBuilder::configured(
            self.clone(),
            provider.map(str::to_owned),
            method,
            parse_url(url),
        )
    }

    /// `PUT url` (see [`Client::request`]).
    ///
    /// ```no_run
    /// # async fn run(client: proxyscope::Client) -> Result<(), proxyscope::Error> {
    /// let res = client.put("https://api.example.org/v1/items/7").json(&serde_json::json!({"name": "b"})).send().await?;
    /// # Ok(()) }
    /// ```
    pub fn put(&self, url: impl IntoUrl) -> RequestBuilder {
        self.request(Method::PUT, url)
    }

    /// `PATCH url` (see [`Client::request`]).
    ///
    /// ```no_run
    /// # async fn run(client: proxyscope::Client) -> Result<(), proxyscope::Error> {
    /// let res = client.patch("https://api.example.org/v1/items/7").json(&serde_json::json!({"name": "c"})).send().await?;
    /// # Ok(()) }
    /// ```
    pub fn patch(&self, url: impl IntoUrl) -> RequestBuilder {
        self.request(Method::PATCH, url)
    }

    /// `DELETE url` (see [`Client::request`]).
    ///
    /// ```no_run
    /// # async fn run(client: proxyscope::Client) -> Result<(), proxyscope::Error> {
    /// let res = client.delete("https://api.example.org/v1/items/7").bearer_auth("t0ken").send().await?;
    /// # Ok(()) }
    /// ```
    pub fn delete(&self, url: impl IntoUrl) -> RequestBuilder {
        self.request(Method::DELETE, url)
    }

    /// `HEAD url` (see [`Client::request`]).
    ///
    /// ```no_run
    /// # async fn run(client: proxyscope::Client) -> Result<(), proxyscope::Error> {
    /// let res = client.head("https://downloads.example.org/big.iso").send().await?;
    /// # Ok(()) }
    /// ```
    pub fn head(&self, url: impl IntoUrl) -> RequestBuilder {
        self.request(Method::HEAD, url)
    }

    /// Sends a request built elsewhere through `provider`'s profile (`None`: the provider whose
    /// base URL contains the request URL, else the global layer), with the client's default
    /// headers and redirect policy. A non-2xx reply to CONNECT is an error, never a response.
    ///
    /// Credentials in the URL (`https://user:password@host/`) are sent to the origin as
    /// `Authorization: Basic` (unless the request has an `Authorization` header), as curl and
    /// reqwest do, and never in the request target; the builders do the same. Every credential
    /// the request carries — those, the proxy's, sensitive headers, secret query values — is
    /// scrubbed from the evidence of any error, should a peer echo it back.
    pub async fn execute<B: Into<Body>>(
        &self,
        provider: Option<&str>,
        req: http::Request<B>,
    ) -> Result<Response, Error> {
        request::boxed(request::Parts::of_request(provider, req).map(|p| (self.clone(), p))).await
    }

    /// The profile of the provider called `name`; an unknown name is `config.invalid` listing
    /// the known ones.
    fn named(&self, name: &str) -> Result<&ProfileClient, Error> {
        self.inner
            .providers
            .iter()
            .find(|p| p.name.as_deref() == Some(name))
            .ok_or_else(|| {
                let known: Vec<&str> = self
                    .inner
                    .providers
                    .iter()
                    .filter_map(|p| p.name.as_deref())
                    .collect();
                let list = if known.is_empty() {
                    "none".to_owned()
                } else {
                    known.join(", ")
                };
                Error::new(ErrorKind::ConfigInvalid)
                    .with_message(format!("no provider named {name}"))
                    .with_hint(format!("known providers: {list}"))
                    .map_evidence(|ev| ev.expected = Some(known.join(", ")))
            })
    }

    /// The profile for a request URI (see the module docs), compared without allocating: the
    /// host is already in the URL standard's form, and so is the path unless it has dot
    /// segments or characters the standard escapes — then the URL standard's form decides.
    fn profile_for_uri(
        &self,
        provider: Option<&str>,
        uri: &http::Uri,
        parts: &UriParts<'_>,
    ) -> Result<&ProfileClient, Error> {
        if let Some(name) = provider {
            return self.named(name);
        }
        if self.inner.providers.is_empty() {
            return Ok(&self.inner.global);
        }
        let path = uri.path();
        if !is_plain_path(path)
            && let Ok(url) = url::Url::parse(&uri.to_string())
        {
            return self.profile(None, &url);
        }
        Ok(self
            .inner
            .providers
            .iter()
            .filter_map(|p| {
                p.base
                    .as_ref()
                    .filter(|b| {
                        b.scheme() == parts.scheme
                            && b.host_str() == Some(&*parts.host)
                            && b.port_or_known_default() == Some(parts.port)
                            && path_under(path, b.path())
                    })
                    // The same key as `route::provider_for_url`, so `probe route` and the
                    // request always pick the same provider.
                    .map(|b| (b.path().trim_end_matches('/').len(), p))
            })
            .max_by_key(|(len, _)| *len)
            .map_or(&self.inner.global, |(_, p)| p))
    }

    fn profile(&self, provider: Option<&str>, url: &url::Url) -> Result<&ProfileClient, Error> {
        if let Some(name) = provider {
            return self.named(name);
        }
        let chosen = crate::route::provider_for_url(
            self.inner
                .providers
                .iter()
                .filter_map(|p| Some((p.name.as_deref()?, p.base.as_ref()?))),
            url,
        );
        Ok(chosen
            .and_then(|name| {
                self.inner
                    .providers
                    .iter()
                    .find(|p| p.name.as_deref() == Some(name))
            })
            .unwrap_or(&self.inner.global))
    }
}

impl ProfileClient {
    /// What a response's body is read under in this profile, within `timeout`.
    fn body_limits(&self, timeout: std::time::Duration) -> body::BodyLimits {
        body::BodyLimits {
            timeout,
            ..self.limits.clone()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::Phase;

    /// One decision per request: the connector follows the route the client handed it when it
    /// opens a connection, and a pooled connection needs none.
    #[tokio::test]
    async fn each_request_decides_its_route_once() {
        let origin = crate::testing::TestOrigin::http().await;
        let proxy = crate::testing::TestProxy::allow_all().await;
        // Through a proxy, with a list that misses the origin's 127.0.0.1 but names
        // `localhost`: the explanation would report that entry as a near miss, which is work
        // no successful request should pay for.
        let client = Client::builder()
            .env(crate::proxy::EnvSnapshot::from_pairs([
                ("http_proxy", proxy.url().as_str()),
                ("NO_PROXY", "localhost"),
            ]))
            .http2(false)
            .build()
            .unwrap();
        let uri: http::Uri = origin.url("/").parse().unwrap();
        for n in 1..=3 {
            let res = client.get(&uri).await.unwrap();
            assert!(res.status().is_success());
            assert!(res.conn_info().is_some_and(|i| i.route.proxy().is_some()));
            // Nothing on the request path explained the route (no steps, no near-miss search).
            assert!(!res.route().is_explained(), "request {n}");
            let _ = res.bytes().await.unwrap();
            let decided = client.inner.global.connector.profile().router().decisions();
            assert_eq!(decided, n, "request {n}");
        }
        // A connector used on its own, without a client's hand-over, decides for itself.
        let connector = client.inner.global.connector.clone();
        let conn = connector.connect(uri.clone()).await.unwrap();
        assert!(conn.info().route.proxy().is_some());
        assert_eq!(connector.profile().router().decisions(), 4);
        // Looked at, the same route names the near miss.
        let route = client.route(None, &uri).unwrap();
        assert_eq!(
            route
                .near_miss()
                .map(|n| (n.entry.as_str(), n.issue.as_str())),
            Some(("localhost", "ip_for_name"))
        );
        origin.shutdown().await;
    }

    #[test]
    fn routes_follow_the_provider_a_url_falls_under() {
        use crate::settings::{ProxySetting, Settings};
        let client = Client::builder()
            .global(Settings::new().with_proxy(ProxySetting::Direct))
            .provider(
                "yandex",
                "https://translate.test/api",
                Settings::new().with_proxy(ProxySetting::parse("http://egress.test:3128").unwrap()),
            )
            .env(crate::proxy::EnvSnapshot::from_pairs(
                Vec::<(String, String)>::new(),
            ))
            .build()
            .unwrap();
        let r = client
            .route(None, "https://translate.test/api/langs")
            .unwrap();
        assert_eq!(r.provider(), Some("yandex"));
        assert!(r.proxy().is_some());
        let r = client.route(None, "https://translate.test/other").unwrap();
        assert!(r.is_direct());
        let r = client
            .route(Some("yandex"), "https://elsewhere.test/")
            .unwrap();
        assert!(r.proxy().is_some());
        for bad in [
            "ftp://translate.test/",
            "not a url",
            "http://",
            "https://u:s3cret@[::1",
        ] {
            let e = client.route(None, bad).unwrap_err();
            assert_eq!(e.kind(), ErrorKind::RequestUrl, "{bad}");
            assert_eq!(e.code(), "request.url");
            assert_eq!((e.hop(), e.phase()), (None, Phase::Config), "{bad}");
            assert!(e.evidence().value.is_some(), "{bad}");
            assert!(!format!("{e} {}", e.report()).contains("s3cret"), "{bad}");
        }
        let e = Client::builder()
            .provider("a", "not a url", Settings::new())
            .build()
            .unwrap_err();
        assert_eq!(e.code(), "config.invalid");
        let e = Client::builder()
            .provider("a", "https://a.test", Settings::new())
            .provider("a", "https://b.test", Settings::new())
            .build()
            .unwrap_err();
        assert_eq!(e.code(), "config.invalid");
    }
}
