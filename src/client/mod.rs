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
mod builder;
mod into_url;
mod response;

use std::sync::Arc;

use base64::Engine as _;
use bytes::Bytes;
use http::header::{AUTHORIZATION, PROXY_AUTHORIZATION};
use http_body_util::Full;
use hyper_util::client::legacy;
use tracing::Instrument;

use crate::connect::{Connector, Ctx, Handoff, absolute_form_failure, basic_auth};
use crate::error::{CauseText, Error, ErrorKind, Hop, Phase, chain_text};
use crate::proxy::redact::is_secret_param;
use crate::proxy::{ProxyScheme, Secrets, redact_url};
use crate::route::{Route, UriParts};

pub use crate::error::{Attribution, ResponsePath};
pub(crate) use body::BodyReader;
pub use builder::ClientBuilder;
pub use into_url::IntoUrl;
use into_url::{UrlRef, request_parts};
pub use response::Response;

type HttpClient = legacy::Client<Connector, Full<Bytes>>;

struct ProfileClient {
    name: Option<String>,
    base: Option<url::Url>,
    connector: Connector,
    http: HttpClient,
}

struct Inner {
    global: ProfileClient,
    providers: Vec<ProfileClient>,
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
/// match client.get("https://translate.yandex.net/api/v1.5/tr.json/getLangs").await {
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
                    .route_uri(uri, &parts)
                    .map_err(Error::from)
            }
            UrlRef::Url(url) => {
                check_url(url, url.as_str())?;
                self.profile(provider, url)?.connector.route(url)
            }
        })
    }

    /// `GET url`, choosing the provider by URL (see the module docs). `url` is an
    /// `http::Uri` (used as it is), a `url::Url` or text (see [`IntoUrl`]).
    pub async fn get(&self, url: impl IntoUrl) -> Result<Response, Error> {
        let mut req = http::Request::new(Bytes::new());
        *req.uri_mut() = url.into_uri()?;
        self.request(None, req).await
    }

    /// Sends `req` through `provider`'s profile (`None`: the provider whose base URL contains
    /// the request URL, else the global layer). A non-2xx reply to CONNECT is an error, never
    /// a response.
    ///
    /// Credentials in the URL (`https://user:password@host/`) are sent to the origin as
    /// `Authorization: Basic` (unless the request has an `Authorization` header), as curl and
    /// reqwest do, and never in the request target. Every credential the request carries —
    /// those, the proxy's, sensitive headers, secret query values — is scrubbed from the
    /// evidence of any error, should a peer echo it back.
    pub async fn request<B: Into<Bytes>>(
        &self,
        provider: Option<&str>,
        req: http::Request<B>,
    ) -> Result<Response, Error> {
        let mut req = req;
        // What the URL carries that a peer may echo back; its userinfo leaves the request
        // target (for the origin's `Authorization`) before anything routes it. Only a URI with
        // userinfo or a query can carry any, so no other request reads it as a URL.
        let mut secrets = if uri_may_carry_secrets(req.uri()) {
            let url = parse_url(&req.uri().to_string())?;
            if !url.username().is_empty() || url.password().is_some() {
                move_userinfo(&mut req, &url)?;
            }
            url_secrets(&url)
        } else {
            Secrets::new()
        };
        // The request's URI is routed as it is: never printed and parsed again.
        let (profile, route, plain_http) = {
            let uri = req.uri();
            let parts = request_parts(uri)?;
            let profile = self.profile_for_uri(provider, uri, &parts)?;
            let route = profile
                .connector
                .profile()
                .router()
                .route_uri(uri, &parts)
                .map_err(Error::from)?;
            (profile, route, parts.scheme == "http")
        };
        if let Some(p) = route.proxy() {
            secrets.extend(&p.secrets());
        }
        let result = self
            .send(profile, route, plain_http, req, &mut secrets)
            .await;
        result.map_err(|e| e.scrubbed(&secrets))
    }

    async fn send<B: Into<Bytes>>(
        &self,
        profile: &ProfileClient,
        route: Route,
        plain_http: bool,
        req: http::Request<B>,
        secrets: &mut Secrets,
    ) -> Result<Response, Error> {
        let settings = profile.connector.profile().settings();
        let request_timeout = profile.connector.profile().timeouts().request_or_default();

        let facts = response::RequestFacts {
            method: req.method().clone(),
            credentials_sent: false,
            connector: profile.connector.clone(),
            secrets: Default::default(),
        };
        let (parts, body) = req.into_parts();
        let mut req = http::Request::from_parts(parts, Full::new(body.into()));
        let absolute_form = plain_http
            && !settings.tunnel_plain_http
            && route
                .proxy()
                .is_some_and(|p| matches!(p.scheme(), ProxyScheme::Http | ProxyScheme::Https));
        let mut facts = facts;
        if absolute_form && let Some(p) = route.proxy() {
            if let Some(auth) = basic_auth(p) {
                req.headers_mut().insert(PROXY_AUTHORIZATION, auth);
                facts.credentials_sent = true;
            }
            for (n, v) in &settings.proxy_headers {
                req.headers_mut().append(n.clone(), v.clone());
            }
            facts.credentials_sent |= settings.proxy_headers.contains_key(PROXY_AUTHORIZATION);
        }
        crate::connect::add_headers(secrets, req.headers());
        crate::connect::add_proxy_headers(secrets, &settings.proxy_headers);

        let span = tracing::info_span!(
            "http",
            provider = profile.name.as_deref().unwrap_or("-"),
            route = %route.summary(),
            target = %route.target(),
            method = %req.method(),
        );
        // A new connection follows this very route and says when it was ready.
        let handoff = Handoff::new(route.clone());
        let send = handoff.clone().scope(profile.http.request(req));
        let result = async {
            tokio::pin!(send);
            // The request timeout runs from the moment a connection is in hand: at once for a
            // pooled one, from when it was ready for one this request opened (connecting has
            // its own per-phase timeouts that report the right hop and phase). One timer,
            // moved on only when this request had to connect.
            let sleep = tokio::time::sleep(request_timeout);
            tokio::pin!(sleep);
            loop {
                tokio::select! {
                    biased;
                    r = &mut send => return Some(r),
                    () = &mut sleep => {}
                }
                if handoff.connecting() {
                    tokio::select! {
                        biased;
                        r = &mut send => return Some(r),
                        () = handoff.until_opened() => {}
                    }
                }
                match handoff.opened() {
                    Some(at) if at.elapsed() < request_timeout => {
                        sleep.as_mut().reset((at + request_timeout).into());
                    }
                    _ => return None,
                }
            }
        }
        .instrument(span)
        .await;
        let limits = profile.body_limits(request_timeout);
        match result {
            Some(Ok(res)) => {
                // The request's secrets move into the response (for the errors it may still
                // make); nothing on this path needs them any more.
                facts.secrets = std::sync::Arc::new(std::mem::take(secrets));
                Ok(Response::new(res, route, limits, facts))
            }
            Some(Err(e)) => {
                let target = route.target();
                let e = from_legacy(e, &route, &target, absolute_form);
                if !absolute_form {
                    return Err(e);
                }
                let ctx = Ctx::new(
                    profile.name.clone(),
                    target,
                    route.proxy().cloned(),
                    Some(route.clone()),
                );
                Err(absolute_form_failure(profile.connector.profile(), &ctx, e).await)
            }
            None => {
                let target = route.target();
                Err(Error::new(ErrorKind::HttpTimeout)
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
                }))
            }
        }
    }

    /// The provider called `name`.
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
                Error::new(ErrorKind::ConfigInvalid)
                    .with_message(format!("no provider named {name}"))
                    .with_hint(format!("known providers: {}", known.join(", ")))
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
    /// What a response's body is read under in this profile.
    fn body_limits(&self, timeout: std::time::Duration) -> body::BodyLimits {
        let limits = &self.connector.profile().effective().limits;
        let key = |k: &str| match &self.name {
            Some(name) => format!("providers.{name}.limits.{k}"),
            None => format!("limits.{k}"),
        };
        body::BodyLimits {
            max_body: limits.max_body_or_default(),
            max_body_origin: limits
                .max_body
                .as_ref()
                .map_or(crate::settings::Provenance::Default, |s| s.origin.clone()),
            max_body_key: key("max_body"),
            check_body: limits.check_body_or_default(),
            check_body_key: key("check_body"),
            timeout,
        }
    }
}

fn parse_url(s: &str) -> Result<url::Url, Error> {
    let shown = redact_url(s);
    let url = url::Url::parse(s).map_err(|e| {
        Error::new(ErrorKind::RequestUrl)
            .with_message(format!("invalid request URL {shown:?}"))
            .with_hint("use an absolute URL such as https://host/path")
            .map_evidence(|ev| ev.value = Some(shown.clone()))
            .with_source(e)
    })?;
    check_url(&url, s)?;
    Ok(url)
}

/// `url` (written `s` by the caller) is an absolute `http(s)` URL with a host.
fn check_url(url: &url::Url, s: &str) -> Result<(), Error> {
    if url.host_str().is_none() || !matches!(url.scheme(), "http" | "https") {
        let shown = crate::proxy::redact_text(s);
        return Err(Error::new(ErrorKind::RequestUrl)
            .with_message(format!(
                "request URL {shown:?} is not an http(s) URL with a host"
            ))
            .with_hint("use an absolute URL such as https://host/path")
            .map_evidence(|ev| ev.value = Some(shown.clone())));
    }
    Ok(())
}

/// A path the URL standard leaves as written: no dot segments (`.`, `..`, or their escapes),
/// and only characters it does not escape.
fn is_plain_path(path: &str) -> bool {
    let bytes_ok = path.bytes().all(|b| {
        b.is_ascii_alphanumeric()
            || matches!(
                b,
                b'/' | b'-'
                    | b'.'
                    | b'_'
                    | b'~'
                    | b'!'
                    | b'$'
                    | b'&'
                    | b'\''
                    | b'('
                    | b')'
                    | b'*'
                    | b'+'
                    | b','
                    | b';'
                    | b'='
                    | b':'
                    | b'@'
                    | b'%'
            )
    });
    let lower_dot_escape = |p: &str| p.contains("%2e") || p.contains("%2E");
    bytes_ok && !path.contains("/.") && !lower_dot_escape(path)
}

/// Whether the path `up` lies under the base path `base`: equal, or `base` a prefix ending at a
/// segment boundary.
fn path_under(up: &str, base: &str) -> bool {
    let bp = base.trim_end_matches('/');
    bp.is_empty()
        || up == bp
        || up
            .strip_prefix(bp)
            .is_some_and(|rest| rest.starts_with('/'))
}

/// Whether a request URI can carry a secret: userinfo, or a query (secret parameters).
fn uri_may_carry_secrets(uri: &http::Uri) -> bool {
    uri.query().is_some() || uri.authority().is_some_and(|a| a.as_str().contains('@'))
}

/// The secrets a URL carries: its userinfo and the values of secret query parameters (as
/// written and decoded).
fn url_secrets(url: &url::Url) -> Secrets {
    let mut s = Secrets::new();
    if !url.username().is_empty() || url.password().is_some() {
        let decode = |v: &str| {
            percent_encoding::percent_decode_str(v)
                .decode_utf8_lossy()
                .into_owned()
        };
        s.add_credentials(
            &decode(url.username()),
            url.password().map(decode).as_deref(),
        );
        s.add(url.username());
        if let Some(p) = url.password() {
            s.add(p);
        }
    }
    for part in url
        .query()
        .into_iter()
        .chain(url.fragment())
        .flat_map(|q| q.split(['&', ';']))
    {
        if let Some((name, value)) = part.split_once('=')
            && is_secret_param(name)
        {
            s.add(value);
            s.add(
                &percent_encoding::percent_decode_str(&value.replace('+', " ")).decode_utf8_lossy(),
            );
        }
    }
    s
}

/// Takes the userinfo out of the request target (RFC 9112 forbids it there, and an
/// absolute-form request would hand it to the proxy) and sends it as the origin's `Basic`
/// credentials, unless the request carries its own `Authorization`.
fn move_userinfo<B>(req: &mut http::Request<B>, url: &url::Url) -> Result<(), Error> {
    let mut clean = url.clone();
    let _ = clean.set_username("");
    let _ = clean.set_password(None);
    *req.uri_mut() = clean.as_str().parse().map_err(|e| {
        Error::new(ErrorKind::RequestUrl)
            .with_message(format!(
                "invalid request URL {:?}",
                redact_url(url.as_str())
            ))
            .with_hint("use an absolute URL such as https://host/path")
            .with_source(e)
    })?;
    if !req.headers().contains_key(AUTHORIZATION) {
        let mut pair = percent_encoding::percent_decode_str(url.username()).collect::<Vec<u8>>();
        pair.push(b':');
        pair.extend(percent_encoding::percent_decode_str(
            url.password().unwrap_or(""),
        ));
        let token = base64::engine::general_purpose::STANDARD.encode(&pair);
        if let Ok(mut value) = http::HeaderValue::from_str(&format!("Basic {token}")) {
            value.set_sensitive(true);
            req.headers_mut().insert(AUTHORIZATION, value);
        }
    }
    Ok(())
}

/// hyper-util's error, unwrapped back to ours: the connector's error when it is the cause,
/// else an `http.*` error built from hyper's.
fn from_legacy(e: legacy::Error, route: &Route, target: &str, absolute_form: bool) -> Error {
    let mut src: Option<&(dyn std::error::Error + 'static)> = std::error::Error::source(&e);
    let mut hyper_err: Option<&hyper::Error> = None;
    while let Some(s) = src {
        if let Some(ours) = s.downcast_ref::<Error>() {
            // The request's own route: the connector only saw scheme and authority. A route
            // with candidates keeps the connector's copy, which says which were tried.
            if ours.route().is_some_and(|r| r.candidates().is_some()) {
                return rebuild(ours);
            }
            return rebuild(ours).with_route(route.clone());
        }
        if hyper_err.is_none() {
            hyper_err = s.downcast_ref::<hyper::Error>();
        }
        src = s.source();
    }
    let hop = if absolute_form {
        Hop::Proxy
    } else {
        Hop::Origin
    };
    let timed_out = hyper_err.is_some_and(hyper::Error::is_timeout);
    let kind = if timed_out {
        ErrorKind::HttpTimeout
    } else {
        ErrorKind::HttpProtocol
    };
    let what = match hyper_err {
        Some(h) if h.is_incomplete_message() => "closed the connection before a complete response",
        Some(h) if h.is_parse() || h.is_parse_status() => "sent a malformed response",
        Some(h) if h.is_canceled() || h.is_closed() => "closed the connection",
        _ => "broke the HTTP exchange",
    };
    let who = if absolute_form {
        format!(
            "the proxy {}",
            route
                .proxy()
                .map(|p| p.without_credentials())
                .unwrap_or_default()
        )
    } else {
        target.to_owned()
    };
    let source_text = crate::proxy::redact_text(&chain_text(&e));
    Error::new(kind)
        .with_hop(hop)
        .with_phase(Phase::Http)
        .with_message(format!("{who} {what}"))
        .with_hint(if absolute_form {
            "the proxy forwarded the request but the reply was unusable; check the proxy's logs, or try tunnel_plain_http"
        } else {
            "the server's reply was not valid HTTP or it hung up mid-response; check that the port speaks HTTP (https:// for TLS ports) and the server's logs"
        })
        .with_route(route.clone())
        .map_evidence(|ev| {
            ev.target = Some(target.to_owned());
            ev.proxy = route.proxy().map(|p| p.without_credentials());
            ev.cause = Some(source_text);
        })
        .with_source(e)
}

/// A copy of an error we only hold by reference (hyper-util owns the original): every field
/// through the public API, the cause chain as text.
fn rebuild(e: &Error) -> Error {
    let mut out = Error::new(e.kind())
        .with_blame(e.blame())
        .with_phase(e.phase())
        .with_message(e.to_string())
        .with_evidence(e.evidence().clone());
    if let Some(h) = e.hop() {
        out = out.with_hop(h);
    }
    if let Some(h) = e.hint() {
        out = out.with_hint(h);
    }
    if let Some(r) = e.route() {
        out = out.with_route(r.clone());
    }
    if let Some(s) = std::error::Error::source(e) {
        out = out.with_source(CauseText(crate::proxy::redact_text(&chain_text(s))));
    }
    out
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
