//! A response with its provenance: the route it took, the connection facts, and who wrote it
//! ([`Attribution`]); `error_for_status` turns a failure status into an `http.status` error
//! that names the hop that produced it; body helpers read within the profile's
//! `limits.max_body` and `timeouts.request` (see [`super::body`]).

use std::sync::OnceLock;

use bytes::Bytes;
use http::{HeaderMap, StatusCode, Version};
use hyper::body::Incoming;

use std::sync::Arc;

use crate::connect::{ConnInfo, Connector, Ctx, Form, refusal};
use crate::error::{Error, ErrorKind, Hop, Phase, ProxyReply};
use crate::proxy::Secrets;
use crate::route::Route;
use crate::settings::Provenance;
use crate::wire::{attribute, evidence_headers};

use super::body::{BodyLimits, BodyReader};
use crate::error::{Attribution, ResponsePath};

/// An HTTP response, its route and its attribution.
#[derive(Debug)]
pub struct Response {
    inner: http::Response<Incoming>,
    route: Route,
    path: ResponsePath,
    /// Read from the headers on first use: most responses are never asked who wrote them,
    /// and reading the signatures costs more than the rest of a keep-alive request's own work.
    attribution: OnceLock<Attribution>,
    limits: BodyLimits,
    request: RequestFacts,
}

/// What the client knew about the request that a proxy's own reply answers: for the error that
/// names the proxy, the request and where the provider was declared. Kept without copying
/// anything out (the method is a small value, the profile a shared pointer): only an error
/// reads it.
#[derive(Debug, Clone)]
pub(crate) struct RequestFacts {
    /// The method.
    pub(crate) method: http::Method,
    /// Whether `Proxy-Authorization` was sent with it.
    pub(crate) credentials_sent: bool,
    /// The profile's connector, which knows where the provider was declared.
    pub(crate) connector: Connector,
    /// What the request carried that a peer may echo back; scrubbed from every error.
    pub(crate) secrets: Arc<Secrets>,
}

impl Response {
    pub(crate) fn new(
        inner: http::Response<Incoming>,
        route: Route,
        limits: BodyLimits,
        request: RequestFacts,
    ) -> Self {
        let path = match inner.extensions().get::<Arc<ConnInfo>>().map(|i| &**i) {
            Some(i) if i.absolute_form => ResponsePath::AbsoluteForm,
            Some(i) if i.tunnel => ResponsePath::Tunnel,
            _ if route.proxy().is_some() => ResponsePath::Tunnel,
            _ => ResponsePath::Direct,
        };
        Self {
            inner,
            route,
            path,
            attribution: OnceLock::new(),
            limits,
            request,
        }
    }

    /// The credentials the request carried, to scrub from anything built from this response.
    pub(crate) fn secrets(&self) -> &Arc<Secrets> {
        &self.request.secrets
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
        self.attribution
            .get_or_init(|| attribute(self.path, self.inner.status(), self.inner.headers(), None))
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

    /// `Ok(self)` for 1xx–3xx; for 4xx/5xx an error. A reply the proxy generated itself gets the
    /// same code as the same refusal to CONNECT (`proxy.forbidden`, `proxy.auth_required` /
    /// `proxy.auth_rejected`, `proxy.upstream`, `proxy.refused`) with hop and blame `proxy`;
    /// `http.status` is kept for statuses the origin sent. Either way the status and the
    /// attribution that decided it are in the evidence.
    pub fn error_for_status(self) -> Result<Self, Error> {
        let status = self.status();
        if !(status.is_client_error() || status.is_server_error()) {
            return Ok(self);
        }
        Err(self.status_error())
    }

    /// `Err` when the proxy wrote this reply itself, whatever its status — a login redirect, a
    /// block page, a splash page with `200` — since it is then not the origin's answer; `Ok(self)`
    /// for a reply the origin wrote (relayed or tunnelled). The error is the refusal's `proxy.*`
    /// code (`proxy.refused` for a status that is no refusal), with the attribution that decided.
    pub fn error_for_proxy_reply(self) -> Result<Self, Error> {
        if self.attribution().is_proxy_generated() {
            return Err(self.proxy_reply_error());
        }
        Ok(self)
    }

    fn status_error(&self) -> Error {
        if self.attribution().is_proxy_generated() {
            return self.proxy_reply_error();
        }
        let status = self.status();
        let a = self.attribution().clone();
        let proxy = self.route.proxy().map(|p| p.without_credentials());
        let target = self.route.target();
        Error::new(ErrorKind::HttpStatus)
            .with_hop(Hop::Origin)
            .with_phase(Phase::Http)
            .with_message(format!("{target} answered {status}"))
            .with_hint("the origin itself answered with this status; check the request (URL path, credentials, method) against the service")
            .with_route(self.route.clone())
            .map_evidence(|ev| {
                ev.status = Some(status.as_u16());
                ev.target = Some(target);
                ev.proxy = proxy;
                ev.attribution = Some(a);
            })
            // The attribution quotes headers (Server, Via) a peer may fill with what it got.
            .scrubbed(&self.request.secrets)
    }

    /// The error for a reply the proxy wrote itself (whatever its status): the refusal's code,
    /// the proxy's headers, the attribution.
    pub(crate) fn proxy_reply_error(&self) -> Error {
        let status = self.status();
        let reply = ProxyReply {
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
        };
        let ctx = Ctx::new(
            self.route.provider().map(str::to_owned),
            self.route.target(),
            self.route.proxy().cloned(),
            Some(self.route.clone()),
        )
        .with_provider_origin(
            self.request
                .connector
                .profile()
                .settings()
                .provider_origin
                .clone(),
        );
        let url = self.route.url().to_owned();
        let form = Form::Request {
            method: self.request.method.as_str(),
            url: &url,
        };
        let a = self.attribution().clone();
        refusal(&ctx, reply, self.request.credentials_sent, form)
            .with_route(self.route.clone())
            .map_evidence(|ev| ev.attribution = Some(a))
            .scrubbed(&self.request.secrets)
    }

    /// The cap [`bytes`](Response::bytes) and [`text`](Response::text) read under: the
    /// profile's `limits.max_body` (default [`Limits::DEFAULT_MAX_BODY`]), unless
    /// [`max_body`](Response::max_body) changed it.
    ///
    /// [`Limits::DEFAULT_MAX_BODY`]: crate::Limits::DEFAULT_MAX_BODY
    pub fn body_limit(&self) -> u64 {
        self.limits.max_body
    }

    /// Reads at most `bytes` of this response's body into memory instead of the profile's
    /// `limits.max_body`: for the one download known to be larger, or a call that must stay
    /// smaller.
    pub fn max_body(mut self, bytes: u64) -> Self {
        self.limits.max_body = bytes;
        self.limits.max_body_origin = Provenance::Builder {
            key: "Response::max_body".to_owned(),
        };
        self
    }

    /// The body, read chunk by chunk within the deadline (for the probe's checks; a public
    /// streaming API would hand this out).
    pub(crate) fn into_reader(self) -> BodyReader {
        let Self {
            inner,
            route,
            path,
            attribution,
            limits,
            request: _,
        } = self;
        let (head, body) = inner.into_parts();
        // The hop that sent the body names the side a body error blames.
        let source = match attribution.into_inner() {
            Some(a) => a.source,
            None => attribute(path, head.status, &head.headers, None).source,
        };
        let target = route.target();
        BodyReader::new(body, route, target, source, limits)
    }

    /// The whole body, at most [`body_limit`](Response::body_limit) bytes. A body announced
    /// (`Content-Length`) or found to be larger is `http.body_too_large` with the cap and the
    /// size seen in `evidence().size_limit` — refused before reading when announced, else as
    /// soon as the cap is passed; an early close or a broken body is `http.protocol`; a body
    /// that does not finish within `timeouts.request` of the first read is `http.timeout`.
    /// Every error has phase `http`, the hop that sent the body, and the route.
    pub async fn bytes(self) -> Result<Bytes, Error> {
        // Whatever the peer echoed of the request is evidence only once scrubbed.
        let secrets = self.request.secrets.clone();
        self.into_reader()
            .collect()
            .await
            .map_err(|e| e.scrubbed(&secrets))
    }

    /// The whole body as text (lossy UTF-8), under the same cap and deadline as
    /// [`bytes`](Response::bytes).
    pub async fn text(self) -> Result<String, Error> {
        let b = self.bytes().await?;
        Ok(String::from_utf8_lossy(&b).into_owned())
    }
}
