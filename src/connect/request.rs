//! What the connector adds to the requests of a hyper client it serves, so that the user's own
//! hyper-util client behaves like [`crate::Client`]: [`Connector::prepare`] puts the proxy's
//! credentials and headers on absolute-form requests (plain `http://` through an HTTP proxy:
//! the connector never sees those requests, only their connection) and the provider's `auth` on
//! requests to its origin; [`ConnectorLayer`] is a `tower` layer that calls it for every
//! request, enforces the request timeout (from the moment a connection is in hand, like
//! `Client`) and returns proxyscope's [`Error`] (see [`Error::from_hyper`]).
//!
//! ```no_run
//! # async fn run() -> Result<(), proxyscope::Error> {
//! use bytes::Bytes;
//! use http_body_util::Empty;
//! use hyper_util::client::legacy::Client as HyperClient;
//! use hyper_util::rt::TokioExecutor;
//! use tower_layer::Layer as _;
//! use tower_service::Service as _;
//!
//! let client = proxyscope::Client::builder().build()?;
//! let connector = client.connector(None)?.clone();
//! let hyper = HyperClient::builder(TokioExecutor::new()).build(connector.clone());
//! let mut svc = connector.layer().layer(hyper);
//! let req = http::Request::get("http://example.org/").body(Empty::<Bytes>::new())
//!     .expect("valid request");
//! let res = svc.call(req).await?; // proxyscope::Error on failure
//! # Ok(()) }
//! ```

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use http::header::{AUTHORIZATION, PROXY_AUTHORIZATION};
use http::{HeaderMap, Request, Response};
use hyper_util::client::legacy::connect::{CaptureConnection, capture_connection};

use super::{Connector, Profile};
use crate::error::{Error, ErrorKind, Hop, Phase};
use crate::proxy::ProxyScheme;
use crate::route::Route;

impl Connector {
    /// Prepares `req` for a hyper client that uses this connector, and returns its route: on a
    /// plain `http://` request that goes to an HTTP(S) proxy in absolute-form, adds
    /// `Proxy-Authorization` (from `proxy_auth` or the proxy URL, unless the request has one)
    /// and the proxy headers; on a request to the provider's own origin (its base URL's scheme,
    /// host and port), adds the provider's `auth` as `Authorization` (unless the request has
    /// one). Every added credential header is marked sensitive.
    pub fn prepare<B>(&self, req: &mut Request<B>) -> Result<Route, Error> {
        self.prepare_request(req).map(|(route, _)| route)
    }

    /// [`Connector::prepare`], also saying whether the request goes in absolute-form.
    fn prepare_request<B>(&self, req: &mut Request<B>) -> Result<(Route, bool), Error> {
        let url = url::Url::parse(&req.uri().to_string()).map_err(|e| {
            Error::new(ErrorKind::ConfigInvalid)
                .with_message(format!(
                    "invalid request URL {:?}",
                    crate::proxy::redact_url(&req.uri().to_string())
                ))
                .with_hint("use an absolute URL such as https://host/path")
                .with_source(e)
        })?;
        let route = self.profile.route(&url)?;
        let absolute_form = is_absolute_form(&self.profile, &route, url.scheme() == "http");
        let uri = req.uri().clone();
        prepare(
            &self.profile,
            &route,
            absolute_form,
            &uri,
            req.headers_mut(),
        );
        Ok((route, absolute_form))
    }

    /// A `tower` layer that wraps a hyper client using this connector: every request is
    /// [prepared](Connector::prepare), the request timeout applies, and errors are proxyscope's.
    pub fn layer(&self) -> ConnectorLayer {
        ConnectorLayer {
            connector: self.clone(),
        }
    }
}

/// [`prepare`] for the client, which has the route already; returns whether the request
/// carries `Proxy-Authorization` to the proxy.
pub(crate) fn prepare_request_headers(
    connector: &Connector,
    route: &Route,
    absolute_form: bool,
    uri: &http::Uri,
    headers: &mut HeaderMap,
) -> bool {
    prepare(&connector.profile, route, absolute_form, uri, headers)
}

/// The failure the connection recorded itself (see `ConnInfo`), for an error from hyper that
/// carries no proxyscope error (HTTP/2 keeps only the text of I/O errors).
fn captured_failure(capture: &CaptureConnection) -> Option<Error> {
    let connected = capture.connection_metadata();
    recorded_failure(connected.as_ref()?)
}

/// The same for an error of hyper-util's pooled client, which names the connection it
/// happened on.
pub(crate) fn connection_failure(e: &hyper_util::client::legacy::Error) -> Option<Error> {
    recorded_failure(e.connect_info()?)
}

fn recorded_failure(connected: &hyper_util::client::legacy::connect::Connected) -> Option<Error> {
    let mut ext = http::Extensions::new();
    connected.get_extras(&mut ext);
    ext.get::<std::sync::Arc<super::ConnInfo>>()?.failure()
}

/// The phase timings of the connection a request was sent on, once one is in hand.
fn connection_timings(capture: &CaptureConnection) -> Option<crate::error::Timings> {
    let meta = capture.connection_metadata();
    let mut ext = http::Extensions::new();
    meta.as_ref()?.get_extras(&mut ext);
    ext.get::<std::sync::Arc<super::ConnInfo>>()
        .map(|i| i.timings)
}

/// hyper's error as ours: the proxyscope error inside it, else the one the connection recorded,
/// else hyper's failure classified.
pub(crate) fn hyper_error(
    e: &(dyn std::error::Error + 'static),
    capture: &CaptureConnection,
) -> Error {
    if Error::find_in(e).is_none()
        && let Some(recorded) = captured_failure(capture)
    {
        return recorded;
    }
    Error::from_hyper(e)
}

/// Whether requests on `route` go to the proxy in absolute-form (`plain_http`: the request's
/// scheme is `http`).
pub(crate) fn is_absolute_form(profile: &Profile, route: &Route, plain_http: bool) -> bool {
    plain_http
        && !profile.settings.tunnel_plain_http
        && route
            .proxy()
            .is_some_and(|p| matches!(p.scheme(), ProxyScheme::Http | ProxyScheme::Https))
}

/// Adds the profile's credentials and proxy headers to `headers`; returns whether the request
/// carries `Proxy-Authorization` to the proxy.
pub(crate) fn prepare(
    profile: &Profile,
    route: &Route,
    absolute_form: bool,
    uri: &http::Uri,
    headers: &mut HeaderMap,
) -> bool {
    let creds = &profile.creds;
    if absolute_form && let Some(p) = route.proxy() {
        if !headers.contains_key(PROXY_AUTHORIZATION)
            && let Some(auth) = creds.proxy_authorization(p)
        {
            headers.insert(PROXY_AUTHORIZATION, auth);
        }
        for (n, v) in &creds.proxy_headers {
            headers.append(n.clone(), v.clone());
        }
    }
    if let (Some(auth), Some(base)) = (&creds.origin, &profile.settings.base_url)
        && same_origin(uri, base)
        && !headers.contains_key(AUTHORIZATION)
    {
        headers.insert(AUTHORIZATION, auth.clone());
    }
    absolute_form && headers.contains_key(PROXY_AUTHORIZATION)
}

/// Same scheme, host (case-insensitive) and port: where a provider's credentials may go.
fn same_origin(uri: &http::Uri, base: &url::Url) -> bool {
    let default = |scheme: &str| match scheme {
        "http" => Some(80),
        "https" => Some(443),
        _ => None,
    };
    let Some(scheme) = uri.scheme_str() else {
        return false;
    };
    let host = uri
        .host()
        .map(|h| h.trim_start_matches('[').trim_end_matches(']'));
    let base_host = base
        .host_str()
        .map(|h| h.trim_start_matches('[').trim_end_matches(']'));
    scheme.eq_ignore_ascii_case(base.scheme())
        && host.is_some()
        && host.map(str::to_ascii_lowercase) == base_host.map(str::to_ascii_lowercase)
        && uri
            .port_u16()
            .or_else(|| default(&scheme.to_ascii_lowercase()))
            == base.port_or_known_default()
}

/// A `tower` layer around a hyper client that uses a [`Connector`]: see
/// [`Connector::layer`].
#[derive(Debug, Clone)]
pub struct ConnectorLayer {
    connector: Connector,
}

impl<S> tower_layer::Layer<S> for ConnectorLayer {
    type Service = ConnectorService<S>;

    fn layer(&self, inner: S) -> ConnectorService<S> {
        ConnectorService {
            inner,
            connector: self.connector.clone(),
        }
    }
}

/// The service [`ConnectorLayer`] makes: prepares each request, enforces the request timeout,
/// and turns failures into proxyscope's [`Error`].
#[derive(Debug, Clone)]
pub struct ConnectorService<S> {
    inner: S,
    connector: Connector,
}

impl<S, B, R> tower_service::Service<Request<B>> for ConnectorService<S>
where
    S: tower_service::Service<Request<B>, Response = Response<R>>,
    S::Error: std::error::Error + Send + Sync + 'static,
    S::Future: Send + 'static,
    R: Send + 'static,
{
    type Response = Response<R>;
    type Error = Error;
    type Future = Pin<Box<dyn Future<Output = Result<Response<R>, Error>> + Send>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Error>> {
        self.inner.poll_ready(cx).map_err(|e| Error::from_hyper(&e))
    }

    fn call(&mut self, mut req: Request<B>) -> Self::Future {
        let (route, absolute_form) = match self.connector.prepare_request(&mut req) {
            Ok(r) => r,
            Err(e) => return Box::pin(std::future::ready(Err(e))),
        };
        let timeout = self.connector.profile.timeouts().request_or_default();
        // `host:port`, as the client's errors and the connection's own first-byte deadline
        // name it (both can report this wait; whichever ends it says the same).
        let target = crate::route::uri_parts(req.uri())
            .map(|p| format!("{}:{}", p.host, p.port))
            .unwrap_or_default();
        let mut capture = capture_connection(&mut req);
        let send = self.inner.call(req);
        Box::pin(async move {
            tokio::pin!(send);
            // Connecting has its own per-phase timeouts, which report the right hop and phase;
            // the request timeout runs once a connection is in hand.
            let result = async {
                tokio::select! {
                    r = &mut send => return Some(r),
                    _ = capture.wait_for_connection_metadata() => {}
                }
                tokio::time::timeout(timeout, &mut send).await.ok()
            }
            .await;
            match result {
                Some(Ok(res)) => Ok(res),
                Some(Err(e)) => Err(hyper_error(&e, &capture).or_route(&route)),
                None => Err(Error::new(ErrorKind::HttpTimeout)
                    .with_hop(if absolute_form { Hop::Proxy } else { Hop::Origin })
                    .with_phase(Phase::Http)
                    .with_message(format!("no response from {target} within {timeout:?}"))
                    .with_hint(if absolute_form {
                        "the proxy took the request but no response head came back in time: the proxy or the origin behind it is slow or stuck — check the proxy's log for this request, or raise timeouts.request"
                    } else {
                        "the connection was made but the response head did not arrive; the server is slow or stuck — check it, or raise timeouts.request"
                    })
                    .map_evidence(|ev| {
                        ev.target = Some(target.clone());
                        ev.proxy = route.proxy().map(|p| p.without_credentials());
                        ev.timeout = Some(timeout);
                        ev.timings = connection_timings(&capture);
                    })
                    .with_route(route)),
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn origins_match_on_scheme_host_and_port() {
        let base = url::Url::parse("https://api.test/v1").unwrap_or_else(|e| panic!("{e}"));
        for (u, want) in [
            ("https://API.test/other", true),
            ("https://api.test:443/x", true),
            ("http://api.test/", false),
            ("https://api.test:8443/", false),
            ("https://evil.test/", false),
            ("HTTPS://api.test/", true),
        ] {
            let uri: http::Uri = u.parse().unwrap_or_else(|e| panic!("{e}"));
            assert_eq!(same_origin(&uri, &base), want, "{u}");
        }
    }
}
