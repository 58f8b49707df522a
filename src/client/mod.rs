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

mod builder;
mod response;

use std::sync::Arc;

use base64::Engine as _;
use bytes::Bytes;
use http::header::{AUTHORIZATION, PROXY_AUTHORIZATION};
use http_body_util::Full;
use hyper_util::client::legacy;
use tracing::Instrument;

use crate::connect::{Connector, Ctx, absolute_form_failure, basic_auth};
use crate::error::{CauseText, Error, ErrorKind, Hop, Phase, chain_text};
use crate::proxy::redact::is_secret_param;
use crate::proxy::{ProxyScheme, Secrets, redact_url};
use crate::route::Route;

pub use crate::error::{Attribution, ResponsePath};
pub use builder::ClientBuilder;
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
    /// no I/O.
    pub fn route(&self, provider: Option<&str>, url: &str) -> Result<Route, Error> {
        let url = parse_url(url)?;
        self.profile(provider, &url)?.connector.route(&url)
    }

    /// `GET url`, choosing the provider by URL (see the module docs).
    pub async fn get(&self, url: &str) -> Result<Response, Error> {
        let req = http::Request::get(url).body(Bytes::new()).map_err(|e| {
            Error::new(ErrorKind::RequestUrl)
                .with_message(format!("invalid request URL {:?}", redact_url(url)))
                .with_hint("use an absolute URL such as https://host/path")
                .with_source(e)
        })?;
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
        let url = parse_url(&req.uri().to_string())?;
        let profile = self.profile(provider, &url)?;
        let route = profile.connector.route(&url)?;
        let mut secrets = url_secrets(&url);
        if let Some(p) = route.proxy() {
            secrets.extend(&p.secrets());
        }
        let mut req = req;
        if !url.username().is_empty() || url.password().is_some() {
            move_userinfo(&mut req, &url)?;
        }
        let result = self.send(profile, route, &url, req, &mut secrets).await;
        result.map_err(|e| e.scrubbed(&secrets))
    }

    async fn send<B: Into<Bytes>>(
        &self,
        profile: &ProfileClient,
        route: Route,
        url: &url::Url,
        req: http::Request<B>,
        secrets: &mut Secrets,
    ) -> Result<Response, Error> {
        let settings = profile.connector.profile().settings();
        let timeouts = profile.connector.profile().timeouts().clone();
        let host = url.host_str().unwrap_or("").to_owned();
        let port = url.port_or_known_default().unwrap_or(80);
        let target = if host.contains(':') {
            format!("[{host}]:{port}")
        } else {
            format!("{host}:{port}")
        };

        let facts = response::RequestFacts {
            method: req.method().as_str().to_owned(),
            credentials_sent: false,
            provider_origin: settings.provider_origin.clone(),
            secrets: Default::default(),
        };
        let (parts, body) = req.into_parts();
        let mut req = http::Request::from_parts(parts, Full::new(body.into()));
        let absolute_form = url.scheme() == "http"
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
            target = %target,
            method = %req.method(),
        );
        let request_timeout = timeouts.request_or_default();
        let mut capture = legacy::connect::capture_connection(&mut req);
        let send = profile.http.request(req);
        let result = async {
            tokio::pin!(send);
            // The request timeout runs from the moment a connection is in hand; connecting has
            // its own per-phase timeouts that report the right hop and phase.
            tokio::select! {
                r = &mut send => return Some(r),
                _ = capture.wait_for_connection_metadata() => {}
            }
            tokio::time::timeout(request_timeout, &mut send).await.ok()
        }
        .instrument(span)
        .await;
        match result {
            Some(Ok(res)) => {
                facts.secrets = std::sync::Arc::new(secrets.clone());
                Ok(Response::new(res, route, target, request_timeout, facts))
            }
            Some(Err(e)) => {
                let e = from_legacy(e, &route, &target, absolute_form);
                if !absolute_form {
                    return Err(e);
                }
                let ctx = Ctx::new(
                    profile.name.clone(),
                    target.clone(),
                    route.proxy().cloned(),
                    Some(route.clone()),
                );
                Err(absolute_form_failure(profile.connector.profile(), &ctx, e).await)
            }
            None => Err(Error::new(ErrorKind::HttpTimeout)
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
                })),
        }
    }

    fn profile(&self, provider: Option<&str>, url: &url::Url) -> Result<&ProfileClient, Error> {
        if let Some(name) = provider {
            return self
                .inner
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
                });
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

fn parse_url(s: &str) -> Result<url::Url, Error> {
    let shown = redact_url(s);
    let url = url::Url::parse(s).map_err(|e| {
        Error::new(ErrorKind::RequestUrl)
            .with_message(format!("invalid request URL {shown:?}"))
            .with_hint("use an absolute URL such as https://host/path")
            .map_evidence(|ev| ev.value = Some(shown.clone()))
            .with_source(e)
    })?;
    if url.host_str().is_none() || !matches!(url.scheme(), "http" | "https") {
        return Err(Error::new(ErrorKind::RequestUrl)
            .with_message(format!(
                "request URL {shown:?} is not an http(s) URL with a host"
            ))
            .with_hint("use an absolute URL such as https://host/path")
            .map_evidence(|ev| ev.value = Some(shown.clone())));
    }
    Ok(url)
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
            // The request's own route: the connector only saw scheme and authority.
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
