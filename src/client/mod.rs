//! The client: [`Client`] over hyper-util's pooled client, one profile (connector + pool) per
//! provider and one for the global layer. The route is resolved per request (pure); the
//! connector follows it. Every failure comes back as proxyscope's [`Error`] — hyper-util's
//! `client error (Connect)` is unwrapped to the connector's own error, with the route attached.
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
mod interop;
mod into_url;
mod provider;
mod redirect;
mod request;
mod request_body;
mod response;
mod send;
mod service;
mod timer;

use std::future::Future as _;
use std::pin::Pin;
use std::sync::Arc;
use std::task::Poll;
use std::time::Duration;

use http::Method;
use http::header::PROXY_AUTHORIZATION;
use hyper_util::client::legacy;
use tracing::Instrument;

use crate::connect::{Connector, Ctx, Handoff, absolute_form_failure};
use crate::error::{Error, ErrorKind, Hop, Phase};
use crate::proxy::ProxyScheme;
use crate::route::{Route, UriParts};
use timer::{RequestTimer, Timers};

pub use crate::error::{Attribution, Redirect, ResponsePath};
pub(crate) use body::BodyReader;
pub use body_read::BodyStream;
pub use builder::ClientBuilder;
pub use into_url::IntoUrl;
use into_url::{
    RequestUrl, UrlRef, check_url, is_plain_path, move_userinfo, parse_url, path_under,
    request_parts, to_request_url, url_secrets,
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
    http: HttpClient,
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
        let parts = request::Parts::of_request(provider, req)?;
        self.clone().execute_parts(parts).await
    }

    /// One exchange: `req` for `url` through `provider`'s profile (chosen by URL when `None`),
    /// within `deadline` when the request has one. No redirect is followed here.
    ///
    /// Everything up to handing the request to hyper-util is done when this is called, before
    /// a future exists (there is nothing to wait for until then), so neither the request nor
    /// what is worked out from it takes room in the request's future. The future is boxed
    /// here, where it is made, and not copied again on its way up. A request that cannot be
    /// sent is its error, ready.
    fn send_once(
        self,
        provider: Option<&str>,
        url: &RequestUrl,
        req: http::Request<Body>,
        deadline: Option<send::Deadline>,
    ) -> request::ResponseFuture {
        match self.start(provider, url, req, deadline) {
            Ok(sent) => Box::pin(sent.exchange()),
            Err(e) => Box::pin(std::future::ready(Err(e))),
        }
    }

    /// Decides the request's route (once: the connector follows it), adds the client's and the
    /// route's headers, collects what is to be scrubbed from errors, and hands the request to
    /// hyper-util.
    fn start(
        self,
        provider: Option<&str>,
        url: &RequestUrl,
        mut req: http::Request<Body>,
        deadline: Option<send::Deadline>,
    ) -> Result<InFlight, Error> {
        let mut secrets = url_secrets(url);
        // Only a URL the standard parsed can carry userinfo (a plain `Uri` has none).
        if let Some(u) = url.parsed()
            && (!u.username().is_empty() || u.password().is_some())
        {
            move_userinfo(&mut req, u)?;
        }
        // Decided from the request's URI, so the connector follows this very route (one
        // decision per request) when it opens a connection.
        let (profile, route) = {
            let uri = req.uri();
            let parts = match url.parts_of(uri) {
                Some(parts) => parts,
                None => request_parts(uri)?,
            };
            let profile = self.profile_for_uri(provider, uri, &parts)?;
            let route = profile
                .connector
                .profile()
                .router()
                .route_request::<Error>(uri, &parts)?;
            (profile, route)
        };
        if let Some(p) = route.proxy() {
            secrets.extend(&p.secrets());
        }
        let decode = self.inner.defaults.accept_encoding.is_some()
            && !req.headers().contains_key(http::header::ACCEPT_ENCODING)
            && !req.headers().contains_key(http::header::RANGE);
        self.inner.defaults.apply(req.headers_mut())?;
        let method = req.method().clone();
        let absolute_form = req.uri().scheme_str() == Some("http")
            && !profile.connector.profile().settings().tunnel_plain_http
            && route
                .proxy()
                .is_some_and(|p| matches!(p.scheme(), ProxyScheme::Http | ProxyScheme::Https));
        // A caller's Proxy-Authorization is never sent to an origin (directly or inside a
        // tunnel); for absolute-form the proxy's own credentials replace it.
        req.headers_mut().remove(PROXY_AUTHORIZATION);
        // `proxy_auth` (or the proxy URL's credentials) and the proxy headers on an
        // absolute-form request, the provider's `auth` on a request to its own origin.
        // The URL the response will answer: the request's target as sent, which the headers
        // below are chosen for.
        let answered = url.answered(req.uri());
        let credentials_sent = crate::connect::prepare_request_headers(
            &profile.connector,
            &route,
            absolute_form,
            answered.uri(),
            req.headers_mut(),
        );
        crate::connect::mark_and_add_headers(&mut secrets, req.headers_mut());
        secrets.extend(
            &profile
                .connector
                .profile()
                .credential_secrets(route.proxy()),
        );
        // Shared by the response (its reader's errors) and this request's own errors.
        let secrets = if secrets.is_empty() {
            no_secrets()
        } else {
            Arc::new(secrets)
        };
        let span = send::request_span(profile.name.as_deref(), &route, req.method(), url);
        // A new connection follows the route decided here (one decision per request).
        // Visible to the connector while the send is polled (see `Handoff`).
        let handoff = Some(Handoff::new(route.clone(), deadline.map(|d| d.at)));
        let send = profile.http.request(req);
        let profile = self.profile_id(profile);
        Ok(InFlight {
            client: self,
            profile,
            url: answered,
            deadline,
            route,
            secrets,
            span,
            handoff,
            send,
            method,
            decode,
            absolute_form,
            credentials_sent,
        })
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

/// Which of a client's profiles: the global one, or a provider's by its place in the list
/// (fixed once the client is built).
#[derive(Debug, Clone, Copy)]
enum ProfileId {
    Global,
    Provider(usize),
}

impl Client {
    fn profile_id(&self, profile: &ProfileClient) -> ProfileId {
        self.inner
            .providers
            .iter()
            .position(|p| std::ptr::eq(p, profile))
            .map_or(ProfileId::Global, ProfileId::Provider)
    }

    fn profile_by_id(&self, id: ProfileId) -> &ProfileClient {
        match id {
            ProfileId::Provider(i) => self.inner.providers.get(i).unwrap_or(&self.inner.global),
            ProfileId::Global => &self.inner.global,
        }
    }
}

/// A request handed to hyper-util, and what its response or error is made with. Owns all of
/// it, so that the request's future borrows nothing and needs no future around it.
struct InFlight {
    client: Client,
    profile: ProfileId,
    /// The URL the response answers: the request's, without userinfo.
    url: RequestUrl,
    deadline: Option<send::Deadline>,
    route: Route,
    secrets: Arc<crate::proxy::Secrets>,
    span: tracing::Span,
    handoff: Option<Arc<Handoff>>,
    send: legacy::ResponseFuture,
    method: Method,
    decode: bool,
    absolute_form: bool,
    credentials_sent: bool,
}

impl InFlight {
    /// Waits for the response head: for a connection within the request's deadline, then for
    /// the head within the request timeout; the error otherwise, scrubbed of the request's
    /// secrets.
    ///
    /// Taken apart here, not in the future: each piece is then held once, not also as part of
    /// the whole.
    fn exchange(
        self,
    ) -> impl std::future::Future<Output = Result<Response, Error>> + Send + 'static {
        let InFlight {
            client,
            profile,
            url,
            deadline,
            route,
            secrets,
            span,
            mut handoff,
            mut send,
            method,
            decode,
            absolute_form,
            credentials_sent,
        } = self;
        async move {
            let profile = client.profile_by_id(profile);
            let profile_timeout = profile.connector.profile().timeouts().request_or_default();
            let result = async {
                // The request timeout runs from the moment a connection is in hand; connecting has
                // its own per-phase timeouts (capped by the request's deadline) that report the
                // right hop and phase. Past the deadline, a request still waiting for a connection
                // (a pool checkout) ends here.
                let stall = send::deadline_sleep(deadline, Duration::from_millis(250));
                tokio::pin!(stall);
                // Whether a connection is in hand is read from the hand-over after each poll of
                // `send` (see `Handoff::waits_for_connection`): a pooled one needs no waker and
                // no wake-up of this task; one being opened wakes it when it is ready.
                // Matched where it is awaited: a named `Option` would keep its room in the
                // future through the wait for the head below.
                if let Some(waited) = std::future::poll_fn(|cx| {
                    if let Poll::Ready(r) =
                        Handoff::visible_during(&mut handoff, || Pin::new(&mut send).poll(cx))
                    {
                        return Poll::Ready(Some(send::Waited::Done(r)));
                    }
                    if !handoff.as_ref().is_some_and(|h| h.waits_for_connection(cx)) {
                        return Poll::Ready(None);
                    }
                    stall
                        .as_mut()
                        .poll(cx)
                        .map(|()| Some(send::Waited::NoConnection))
                })
                .await
                {
                    return waited;
                }
                let opened = handoff.as_ref().and_then(|h| h.opened());
                let until = send::head_deadline(profile_timeout, opened, deadline);
                // The send first, then the deadline, as `timeout_at` polls them; the timer is one
                // the client kept when it has one (see `timer`).
                let mut timer = RequestTimer::until(&client.inner.timers, until);
                let waited = std::future::poll_fn(|cx| {
                    if let Poll::Ready(r) =
                        Handoff::visible_during(&mut handoff, || Pin::new(&mut send).poll(cx))
                    {
                        return Poll::Ready(send::Waited::Done(r));
                    }
                    timer.poll_expired(cx).map(|()| send::Waited::NoHead)
                })
                .await;
                timer.keep(&client.inner.timers);
                waited
            }
            .instrument(span.clone())
            .await;
            let request_timeout = send::effective_timeout(profile_timeout, deadline);
            let passed = deadline.filter(|d| d.at <= tokio::time::Instant::now());
            let e = match result {
                send::Waited::Done(Ok(res)) => {
                    let res = Ok(Response::new(
                        res,
                        body::Exchanged {
                            route,
                            url,
                            deadline: deadline.map(|d| (d.at, d.timeout)),
                            timers: Arc::clone(&client.inner.timers),
                            request: body::RequestFacts {
                                method,
                                credentials_sent,
                                provider_origin: profile
                                    .connector
                                    .profile()
                                    .settings()
                                    .provider_origin
                                    .clone(),
                                secrets: Arc::clone(&secrets),
                            },
                        },
                        profile.body_limits(profile_timeout),
                        decode,
                    ));
                    send::record_outcome(&span, &res);
                    return res;
                }
                send::Waited::Done(Err(e)) => {
                    let target = send::target_of(url.uri());
                    // HTTP/2 keeps only the text of an I/O error: a failure the connection recorded
                    // itself (a late client-certificate refusal) is the one to report.
                    let recorded = Error::find_in(&e)
                        .is_none()
                        .then(|| crate::connect::connection_failure(&e))
                        .flatten();
                    let e = match recorded {
                        Some(recorded) => recorded.with_route(route.clone()),
                        None => send::from_legacy_or_body(e, &route, &target, absolute_form),
                    };
                    if absolute_form && e.kind() != ErrorKind::RequestBody {
                        // Boxed with its context: neither takes room in the request's future.
                        Box::pin(async {
                            let ctx = Ctx::new(
                                profile.name.clone(),
                                target,
                                route.proxy().cloned(),
                                Some(route.clone()),
                            );
                            absolute_form_failure(profile.connector.profile(), &ctx, e).await
                        })
                        .await
                    } else {
                        e
                    }
                }
                send::Waited::NoHead => {
                    let target = send::target_of(url.uri());
                    Error::new(ErrorKind::HttpTimeout)
                    .with_hop(if absolute_form { Hop::Proxy } else { Hop::Origin })
                    .with_phase(Phase::Http)
                    .with_message(format!(
                        "no response from {target} within {request_timeout:?}"
                    ))
                    .with_hint(if absolute_form {
                        "the proxy took the request but no response head came back in time: the proxy or the origin behind it is slow or stuck — check the proxy's log for this request, or raise timeouts.request"
                    } else {
                        "the connection was made but the response head did not arrive; the server is slow or stuck — check it, or raise timeouts.request"
                    })
                    .with_route(route.clone())
                    .map_evidence(|ev| {
                        ev.target = Some(target);
                        ev.proxy = route.proxy().map(|p| p.without_credentials());
                        ev.timeout = Some(request_timeout);
                        // How long each phase of the connection took before the wait began.
                        // (Those of the connection this request opened: a pooled one's were
                        // measured for an earlier request.)
                        ev.timings = handoff
                            .as_ref()
                            .and_then(|h| h.opened_info())
                            .map(|i| i.timings);
                    })
                }
                send::Waited::NoConnection => {
                    send::no_connection(&route, &send::target_of(url.uri()), request_timeout)
                }
            };
            let e = match passed {
                Some(d) => send::blame_the_deadline(e, d),
                None => e,
            };
            // Whatever a peer echoed of the request's credentials is scrubbed.
            let outcome = Err(e.with_url(url.url()).scrubbed(&secrets));
            send::record_outcome(&span, &outcome);
            outcome
        }
    }
}

/// The secrets of a request that carries none, shared: most requests carry none, and each
/// would otherwise allocate an empty set for its response to hold.
fn no_secrets() -> Arc<crate::proxy::Secrets> {
    static NONE: std::sync::LazyLock<Arc<crate::proxy::Secrets>> =
        std::sync::LazyLock::new(Default::default);
    Arc::clone(&NONE)
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
