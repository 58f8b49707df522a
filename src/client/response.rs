//! A response with its provenance: the route it took, the connection facts, and who wrote it
//! ([`Attribution`]); `error_for_status` turns a failure status into an `http.status` error
//! that names the hop that produced it; body helpers report `http.protocol` / `http.timeout`.

use std::time::Duration;

use bytes::Bytes;
use http::{HeaderMap, StatusCode, Version};
use http_body_util::BodyExt;
use hyper::body::Incoming;

use std::sync::Arc;

use crate::connect::ConnInfo;
use crate::error::{Error, ErrorKind, Hop, Phase, ProxyReply};
use crate::proxy::Secrets;
use crate::route::Route;
use crate::wire::{attribute, evidence_headers};

use crate::error::{Attribution, ResponsePath};

/// An HTTP response, its route and its attribution.
#[derive(Debug)]
pub struct Response {
    inner: http::Response<Incoming>,
    route: Route,
    attribution: Attribution,
    target: String,
    body_timeout: Duration,
    /// What the request carried that a peer may echo back; scrubbed from every error.
    secrets: Arc<Secrets>,
}

impl Response {
    pub(crate) fn new(
        inner: http::Response<Incoming>,
        route: Route,
        target: String,
        body_timeout: Duration,
        secrets: Arc<Secrets>,
    ) -> Self {
        let path = match inner.extensions().get::<Arc<ConnInfo>>().map(|i| &**i) {
            Some(i) if i.absolute_form => ResponsePath::AbsoluteForm,
            Some(i) if i.tunnel => ResponsePath::Tunnel,
            _ if route.proxy().is_some() => ResponsePath::Tunnel,
            _ => ResponsePath::Direct,
        };
        let attribution = attribute(path, inner.status(), inner.headers(), None);
        Self {
            inner,
            route,
            attribution,
            target,
            body_timeout,
            secrets,
        }
    }

    /// The credentials the request carried, to scrub from anything built from this response.
    pub(crate) fn secrets(&self) -> &Arc<Secrets> {
        &self.secrets
    }

    /// The status code.
    pub fn status(&self) -> StatusCode {
        self.inner.status()
    }

    /// The HTTP version spoken with the origin (or the proxy, for absolute-form).
    pub fn version(&self) -> Version {
        self.inner.version()
    }

    /// The response headers.
    pub fn headers(&self) -> &HeaderMap {
        self.inner.headers()
    }

    /// The route the request took.
    pub fn route(&self) -> &Route {
        &self.route
    }

    /// How the connection was made (route, tunnel or absolute-form, peer, ALPN, timings).
    pub fn conn_info(&self) -> Option<&ConnInfo> {
        self.inner.extensions().get::<Arc<ConnInfo>>().map(|i| &**i)
    }

    /// Who wrote this response, and why we think so (from the path and the headers).
    pub fn attribution(&self) -> &Attribution {
        &self.attribution
    }

    /// The reason phrase as sent: proxies put the cause there (tinyproxy's "403 Filtered",
    /// "500 Unable to connect"); the canonical phrase when the sender used it or sent none.
    pub fn reason_phrase(&self) -> String {
        match self.inner.extensions().get::<hyper::ext::ReasonPhrase>() {
            Some(r) => String::from_utf8_lossy(r.as_bytes()).into_owned(),
            None => self.status().canonical_reason().unwrap_or("").to_owned(),
        }
    }

    /// The underlying hyper response.
    pub fn into_inner(self) -> http::Response<Incoming> {
        self.inner
    }

    /// `Ok(self)` for 1xx–3xx; for 4xx/5xx an `http.status` error whose hop is the proxy when
    /// the proxy generated the reply, with the status, the attribution and (for proxy replies)
    /// the proxy's headers as evidence.
    pub fn error_for_status(self) -> Result<Self, Error> {
        let status = self.status();
        if !(status.is_client_error() || status.is_server_error()) {
            return Ok(self);
        }
        Err(self.status_error())
    }

    fn status_error(&self) -> Error {
        let status = self.status();
        let a = self.attribution.clone();
        let hop = a.source;
        let proxy = self.route.proxy().map(|p| p.without_credentials());
        let (message, hint) = match hop {
            Hop::Proxy => (
                format!(
                    "proxy {} answered {} for {} itself; the origin never saw the request",
                    proxy.as_deref().unwrap_or("(transparent)"),
                    status,
                    self.target
                ),
                format!(
                    "the proxy generated this reply ({}); ask the proxy's operators, or check the route's steps (`Route::explain`) if this destination should not go through the proxy",
                    a.reasons.first().map_or("proxy signature", String::as_str)
                ),
            ),
            Hop::Origin => (
                format!("{} answered {}", self.target, status),
                "the origin itself answered with this status; check the request (URL path, credentials, method) against the service".to_owned(),
            ),
        };
        let reply = (hop == Hop::Proxy).then(|| ProxyReply {
            status: status.as_u16(),
            reason: self.reason_phrase(),
            headers: evidence_headers(
                &self
                    .headers()
                    .iter()
                    .map(|(n, v)| {
                        (
                            n.as_str().to_owned(),
                            String::from_utf8_lossy(v.as_bytes()).into_owned(),
                        )
                    })
                    .collect::<Vec<_>>(),
            ),
            body_excerpt: None,
            body_truncated: false,
        });
        let target = self.target.clone();
        let secrets = self.secrets.clone();
        Error::new(ErrorKind::HttpStatus)
            .with_hop(hop)
            .with_phase(Phase::Http)
            .with_message(message)
            .with_hint(hint)
            .with_route(self.route.clone())
            .map_evidence(|ev| {
                ev.status = Some(status.as_u16());
                ev.target = Some(target);
                ev.proxy = proxy;
                ev.proxy_reply = reply;
                ev.attribution = Some(a);
            })
            .scrubbed(&secrets)
    }

    /// The whole body. An early close or a broken body is `http.protocol`; a body that stops
    /// arriving for longer than the request timeout is `http.timeout`.
    pub async fn bytes(self) -> Result<Bytes, Error> {
        let Self {
            inner,
            route,
            attribution,
            target,
            body_timeout,
            secrets,
        } = self;
        let hop = attribution.source;
        let result = match tokio::time::timeout(body_timeout, inner.into_body().collect()).await {
            Ok(Ok(c)) => Ok(c.to_bytes()),
            Ok(Err(e)) => Err(Error::new(ErrorKind::HttpProtocol)
                .with_hop(hop)
                .with_message(format!("reading the response body from {target} failed"))
                .with_hint("the connection broke or the body was malformed mid-response; retry, and check the server's logs")
                .with_route(route)
                .map_evidence(|ev| ev.target = Some(target))
                .with_source(e)),
            Err(_) => Err(Error::new(ErrorKind::HttpTimeout)
                .with_hop(hop)
                .with_message(format!(
                    "the response body from {target} did not finish within {body_timeout:?}"
                ))
                .with_hint("the server sends the body too slowly; raise timeouts.request")
                .with_route(route)
                .map_evidence(|ev| {
                    ev.target = Some(target);
                    ev.timeout = Some(body_timeout);
                })),
        };
        result.map_err(|e| e.scrubbed(&secrets))
    }

    /// The whole body as text (lossy UTF-8).
    pub async fn text(self) -> Result<String, Error> {
        let b = self.bytes().await?;
        Ok(String::from_utf8_lossy(&b).into_owned())
    }
}
