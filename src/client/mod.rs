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

#[cfg(feature = "reqwest")]
mod bridge;
mod builder;
mod response;

use std::sync::Arc;

use bytes::Bytes;
use http_body_util::Full;
use hyper_util::client::legacy;
use tracing::Instrument;

use crate::connect::Connector;
use crate::error::{Error, ErrorKind, Hop, Phase};
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
///     .global(Settings::new().proxy(ProxySetting::Direct))
///     .provider("yandex", "https://translate.yandex.net", Settings::new().proxy(egress))
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

    /// The connector of `provider`'s profile (`None`: the global layer's), to put under a hyper
    /// client of your own; with [`Connector::layer`] (or [`Connector::prepare`] per request) it
    /// behaves like this client. Fails with `config.invalid` for an unknown provider.
    pub fn connector(&self, provider: Option<&str>) -> Result<&Connector, Error> {
        match provider {
            None => Ok(&self.inner.global.connector),
            Some(_) => {
                let any = url::Url::parse("http://any.invalid/").map_err(|e| {
                    Error::new(ErrorKind::ConfigInvalid).with_source(e)
                })?;
                self.profile(provider, &any).map(|p| &p.connector)
            }
        }
    }

    /// Runs the connection path `url` would take under `provider` (chosen as for
    /// [`Client::request`]): DNS, TCP, the proxy handshake and TLS, without sending a request.
    /// `Ok` carries what was learnt (route, timings, certificates); `Err` is the same structured
    /// error a request would have failed with — use it to explain a failure another HTTP client
    /// (reqwest, your own hyper client) reported for the same URL.
    pub async fn diagnose(
        &self,
        provider: Option<&str>,
        url: &str,
    ) -> Result<crate::connect::ConnInfo, Error> {
        let parsed = parse_url(url)?;
        let profile = self.profile(provider, &parsed)?;
        let uri: http::Uri = parsed.as_str().parse().map_err(|e| {
            Error::new(ErrorKind::ConfigInvalid)
                .with_message(format!("invalid request URL {url:?}"))
                .with_source(e)
        })?;
        let conn = profile.connector.connect(uri).await?;
        Ok(conn.info().clone())
    }

    /// `GET url`, choosing the provider by URL (see the module docs).
    pub async fn get(&self, url: &str) -> Result<Response, Error> {
        let req = http::Request::get(url).body(Bytes::new()).map_err(|e| {
            Error::new(ErrorKind::ConfigInvalid)
                .with_message(format!("invalid request URL {url:?}"))
                .with_hint("use an absolute URL such as https://host/path")
                .with_source(e)
        })?;
        self.request(None, req).await
    }

    /// Sends `req` through `provider`'s profile (`None`: the provider whose base URL contains
    /// the request URL, else the global layer). A non-2xx reply to CONNECT is an error, never
    /// a response.
    pub async fn request<B: Into<Bytes>>(
        &self,
        provider: Option<&str>,
        req: http::Request<B>,
    ) -> Result<Response, Error> {
        let url = parse_url(&req.uri().to_string())?;
        let profile = self.profile(provider, &url)?;
        let route = profile.connector.route(&url)?;
        let timeouts = profile.connector.profile().timeouts().clone();
        let host = url.host_str().unwrap_or("").to_owned();
        let port = url.port_or_known_default().unwrap_or(80);
        let target = if host.contains(':') {
            format!("[{host}]:{port}")
        } else {
            format!("{host}:{port}")
        };

        let (parts, body) = req.into_parts();
        let mut req = http::Request::from_parts(parts, Full::new(body.into()));
        let absolute_form = crate::connect::prepare_request_headers(
            &profile.connector,
            &route,
            &url,
            req.headers_mut(),
        );

        let span = tracing::info_span!(
            "http",
            provider = profile.name.as_deref().unwrap_or("-"),
            route = %route.summary(),
            target = %target,
            method = %req.method(),
        );
        let request_timeout = timeouts.request();
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
            Some(Ok(res)) => Ok(Response::new(res, route, target, request_timeout)),
            Some(Err(e)) => match crate::connect::connection_failure(&capture) {
                Some(recorded) if Error::find_in(&e).is_none() => {
                    Err(recorded.with_route(route.clone()))
                }
                _ => Err(from_legacy(e, &route, &target, absolute_form)),
            },
            None => Err(Error::new(ErrorKind::HttpTimeout)
                .with_hop(if absolute_form { Hop::Proxy } else { Hop::Origin })
                .with_phase(Phase::Http)
                .with_message(format!(
                    "no response from {target} within {request_timeout:?}"
                ))
                .with_hint("the connection was made but the response head did not arrive; the server is slow or stuck — check it, or raise timeouts.request")
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
        Ok(self
            .inner
            .providers
            .iter()
            .filter_map(|p| {
                p.base
                    .as_ref()
                    .filter(|b| is_under(url, b))
                    .map(|b| (b.path().len(), p))
            })
            .max_by_key(|(len, _)| *len)
            .map_or(&self.inner.global, |(_, p)| p))
    }
}

fn parse_url(s: &str) -> Result<url::Url, Error> {
    let url = url::Url::parse(s).map_err(|e| {
        Error::new(ErrorKind::ConfigInvalid)
            .with_message(format!("invalid request URL {s:?}"))
            .with_hint("use an absolute URL such as https://host/path")
            .with_source(e)
    })?;
    if url.host_str().is_none() || !matches!(url.scheme(), "http" | "https") {
        return Err(Error::new(ErrorKind::ConfigInvalid)
            .with_message(format!(
                "request URL {s:?} is not an http(s) URL with a host"
            ))
            .with_hint("use an absolute URL such as https://host/path"));
    }
    Ok(url)
}

/// Whether `url` lies under `base`: same scheme, host and port, and `base`'s path as a prefix
/// at a segment boundary.
fn is_under(url: &url::Url, base: &url::Url) -> bool {
    if url.scheme() != base.scheme()
        || url.host_str().map(str::to_ascii_lowercase)
            != base.host_str().map(str::to_ascii_lowercase)
        || url.port_or_known_default() != base.port_or_known_default()
    {
        return false;
    }
    let bp = base.path().trim_end_matches('/');
    let up = url.path();
    up == bp || up.starts_with(&format!("{bp}/")) || bp.is_empty()
}

/// hyper-util's error, unwrapped back to ours: the connector's error when it is the cause,
/// else an `http.*` error built from hyper's.
fn from_legacy(e: legacy::Error, route: &Route, target: &str, absolute_form: bool) -> Error {
    if let Some(ours) = Error::find_in(&e) {
        // The request's own route: the connector only saw scheme and authority.
        return ours.duplicate().with_route(route.clone());
    }
    let mut src: Option<&(dyn std::error::Error + 'static)> = std::error::Error::source(&e);
    let mut hyper_err: Option<&hyper::Error> = None;
    while let Some(s) = src {
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
    let source_text = crate::proxy::redact_text(&crate::error::chain_text(&e));
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_under_a_base_match_at_segment_boundaries() {
        let cases = [
            ("https://api.test/v1", "https://api.test/v1/x", true),
            ("https://api.test/v1", "https://api.test/v1", true),
            ("https://api.test/v1/", "https://api.test/v1/x?q", true),
            ("https://api.test/v1", "https://api.test/v10", false),
            ("https://api.test", "https://API.test/anything", true),
            ("https://api.test", "https://api.test:443/", true),
            ("https://api.test", "http://api.test/", false),
            ("https://api.test", "https://api.test:8443/", false),
            ("https://api.test", "https://other.test/", false),
        ];
        for (base, url, want) in cases {
            let b = url::Url::parse(base).unwrap();
            let u = url::Url::parse(url).unwrap();
            assert_eq!(is_under(&u, &b), want, "{url} under {base}");
        }
    }

    #[test]
    fn routes_follow_the_provider_a_url_falls_under() {
        use crate::settings::{ProxySetting, Settings};
        let client = Client::builder()
            .global(Settings::new().proxy(ProxySetting::Direct))
            .provider(
                "yandex",
                "https://translate.test/api",
                Settings::new().proxy(ProxySetting::parse("http://egress.test:3128").unwrap()),
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
        let e = client.route(None, "ftp://translate.test/").unwrap_err();
        assert_eq!(e.code(), "config.invalid");
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
