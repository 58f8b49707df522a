//! Sending a built request: the client's defaults (headers, `User-Agent`, `Accept-Encoding`,
//! redirect policy), the request's own deadline, the redirect chain (each hop a new exchange
//! whose route and provider are decided from its own URL), and the `tracing` span each request
//! runs in. The exchange itself is [`Client::send_once`].

use std::time::Duration;

use futures_util::future::Either;
use http::Method;
use http::header::{self, HeaderMap, HeaderValue, LOCATION};
use tokio::time::Instant;

use super::into_url::RequestUrl;
use super::pool::Failed;
use super::redirect::{self, RedirectPolicy};
use super::request::{Parts, ResponseFuture, check_value};
use super::request_body::{Body, BodyStreamError};
use super::{Client, Response};
use crate::error::{Error, ErrorKind, Hop, Phase, Redirect, Timings, chain_text};
use crate::proxy::Secrets;
use crate::route::Route;

/// The `User-Agent` sent unless the client or the request sets one.
pub(crate) const USER_AGENT: &str = concat!("proxyscope/", env!("CARGO_PKG_VERSION"));

/// What the client adds to every request.
#[derive(Debug, Clone)]
pub(crate) struct Defaults {
    /// Headers sent unless the request sets the same name (`User-Agent` among them); those that
    /// hold credentials are marked sensitive.
    headers: HeaderMap,
    /// The credentials among `headers`, for scrubbing what a peer echoes: collected once, here,
    /// rather than from every request's headers.
    secrets: Secrets,
    /// Which of the headers every request is asked about `headers` holds: known once, so that
    /// a request is asked only about its own.
    has: Has,
    /// What a request with no headers of its own sends: `headers`, and `Accept-Encoding` when
    /// the client asks for its encodings. Copied whole into such a request (most requests),
    /// which looks up no name.
    alone: HeaderMap,
    /// The redirect policy of requests that set none.
    pub(crate) redirect: RedirectPolicy,
    /// The encodings the client decompresses, as an `Accept-Encoding` value (`None`: the
    /// client decompresses nothing and asks for nothing).
    pub(crate) accept_encoding: Option<HeaderValue>,
}

/// Which of `Accept-Encoding`, `Range` and `Proxy-Authorization` a set of headers holds.
#[derive(Debug, Clone, Copy, Default)]
struct Has {
    accept_encoding: bool,
    range: bool,
    proxy_authorization: bool,
}

impl Has {
    fn note(&mut self, name: &http::HeaderName) {
        self.accept_encoding |= *name == header::ACCEPT_ENCODING;
        self.range |= *name == header::RANGE;
        self.proxy_authorization |= *name == header::PROXY_AUTHORIZATION;
    }

    fn of(headers: &HeaderMap) -> Self {
        let mut has = Self::default();
        for name in headers.keys() {
            has.note(name);
        }
        has
    }

    fn or(self, other: Self) -> Self {
        Self {
            accept_encoding: self.accept_encoding || other.accept_encoding,
            range: self.range || other.range,
            proxy_authorization: self.proxy_authorization || other.proxy_authorization,
        }
    }
}

/// What [`Defaults::apply`] found and did.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Applied {
    /// The client asked for its encodings on the request's behalf (the request asked for none
    /// itself, and for no range): the response is decoded.
    pub(crate) decode: bool,
    /// The request carries a `Proxy-Authorization` (its own or a default).
    pub(crate) proxy_authorization: bool,
}

impl Defaults {
    /// The defaults of a client: `headers` are marked sensitive where they hold credentials.
    pub(crate) fn new(
        mut headers: HeaderMap,
        redirect: RedirectPolicy,
        accept_encoding: Option<HeaderValue>,
    ) -> Self {
        let mut secrets = Secrets::new();
        crate::connect::mark_and_add_headers(&mut secrets, &mut headers);
        let has = Has::of(&headers);
        let mut alone = headers.clone();
        if let Some(ae) = &accept_encoding
            && !has.accept_encoding
            && !has.range
        {
            alone.insert(header::ACCEPT_ENCODING, ae.clone());
        }
        Self {
            has,
            alone,
            headers,
            secrets,
            redirect,
            accept_encoding,
        }
    }

    /// Checks every header the request carries, marks those that hold credentials sensitive
    /// and adds their values to `secrets` (before the defaults go in, and only when the request
    /// has headers of its own: the defaults' credentials were collected when the client was
    /// built), then adds the default headers the request lacks, and `Accept-Encoding` when the
    /// client decodes and the request asked for no encoding and no range of its own.
    pub(crate) fn apply(
        &self,
        headers: &mut HeaderMap,
        secrets: &mut Secrets,
    ) -> Result<Applied, Error> {
        // A default the request replaced is scrubbed all the same: a credential of this client
        // either way.
        if !self.secrets.is_empty() {
            secrets.extend(&self.secrets);
        }
        if headers.is_empty() {
            headers.clone_from(&self.alone);
            return Ok(Applied {
                decode: self.accept_encoding.is_some(),
                proxy_authorization: self.has.proxy_authorization,
            });
        }
        let mut own = Has::default();
        for (name, value) in headers.iter() {
            check_value(name, value)?;
            own.note(name);
        }
        crate::connect::mark_and_add_headers(secrets, headers);
        for name in self.headers.keys() {
            // One lookup for the test and the insert.
            if let http::header::Entry::Vacant(slot) = headers.entry(name) {
                let mut values = self.headers.get_all(name).iter();
                if let Some(first) = values.next() {
                    let mut entry = slot.insert_entry(first.clone());
                    for v in values {
                        entry.append(v.clone());
                    }
                }
            }
        }
        // A default is in whenever the request lacked it: the two together are what is sent.
        let sent = own.or(self.has);
        if let Some(ae) = &self.accept_encoding
            && !sent.accept_encoding
            // A range of an encoded body is a range of the encoded bytes: ask for it plain.
            && !sent.range
        {
            headers.insert(header::ACCEPT_ENCODING, ae.clone());
        }
        Ok(Applied {
            decode: self.accept_encoding.is_some() && !own.accept_encoding && !own.range,
            proxy_authorization: sent.proxy_authorization,
        })
    }
}

/// A request's own deadline and the timeout it came from.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Deadline {
    pub(crate) at: Instant,
    pub(crate) timeout: Duration,
}

impl Deadline {
    /// The deadline of a request with `timeout`, sent from now.
    fn from_now(timeout: Option<Duration>) -> Option<Self> {
        timeout.map(|t| Self {
            at: Instant::now() + t,
            timeout: t,
        })
    }
}

/// How waiting for one exchange ended.
#[expect(
    clippy::large_enum_variant,
    reason = "made once per request and matched at once; boxing the answer would cost an allocation per request"
)]
pub(crate) enum Waited {
    /// hyper or hyper-util answered (a response head or an error).
    Done(Result<super::pool::Answer, Failed>),
    /// A connection was in hand but no response head arrived in time.
    NoHead,
    /// The request's deadline passed before any connection was in hand.
    NoConnection,
}

/// `host:port` of a request's target as routing reads it, for the errors that name it: worked
/// out when one is made, not for every request.
pub(crate) fn target_of(uri: &http::Uri) -> String {
    super::into_url::request_parts(uri).map_or_else(|_| uri.to_string(), |p| p.host_port())
}

/// Sleeps until `grace` after the deadline (forever without one): the connector's phases end a
/// connection attempt at the deadline themselves, this only ends a wait for a pooled one.
pub(crate) fn deadline_sleep(
    deadline: Option<Deadline>,
    grace: Duration,
) -> impl std::future::Future<Output = ()> {
    match deadline {
        Some(d) => Either::Left(tokio::time::sleep_until(d.at + grace)),
        None => Either::Right(std::future::pending()),
    }
}

/// When the response head must have arrived: the profile's request timeout from when the
/// connection was ready, or the request's deadline when sooner.
pub(crate) fn head_deadline(
    profile: Duration,
    opened: Option<std::time::Instant>,
    deadline: Option<Deadline>,
) -> Instant {
    // From when the connection this request opened was ready (a pooled one: from now).
    let from = opened.map_or_else(Instant::now, Instant::from_std);
    let own = from + profile;
    deadline.map_or(own, |d| own.min(d.at))
}

/// The timeout an error names: the request's own when it was the shorter, else the profile's.
pub(crate) fn effective_timeout(profile: Duration, deadline: Option<Deadline>) -> Duration {
    deadline.map_or(profile, |d| d.timeout.min(profile))
}

/// A timeout that happened because the request's own deadline passed says so: the fix is the
/// caller's timeout, not the profile's.
pub(crate) fn blame_the_deadline(e: Error, deadline: Deadline) -> Error {
    if !e.is_timeout() {
        return e;
    }
    let phase = e.phase();
    let hint = format!(
        "the request's own timeout ({:?}, RequestBuilder::timeout) expired during the {phase} phase; raise it if this {phase} phase is expected to take longer{}",
        deadline.timeout,
        e.hint()
            .map(|h| format!(" — otherwise: {h}"))
            .unwrap_or_default()
    );
    e.with_hint(hint).map_evidence(|ev| {
        ev.timeout = Some(deadline.timeout);
        ev.setting = Some("RequestBuilder::timeout".to_owned());
    })
}

/// No connection was in hand when the request's deadline passed (waiting for the pool).
pub(crate) fn no_connection(route: &Route, target: &str, timeout: Duration) -> Error {
    let (kind, hop) = match route.proxy() {
        Some(_) => (ErrorKind::ProxyTimeout, Hop::Proxy),
        None => (ErrorKind::OriginTimeout, Hop::Origin),
    };
    Error::new(kind)
        .with_hop(hop)
        .with_phase(Phase::Connect)
        .with_message(format!(
            "no connection to {target} was ready within {timeout:?}"
        ))
        .with_hint("every pooled connection was busy and a new one was not ready in time; raise the request's timeout or lower the concurrency")
        .with_route(route.clone())
        .map_evidence(|ev| {
            ev.target = Some(target.to_owned());
            ev.proxy = route.proxy().map(|p| p.without_credentials());
            ev.timeout = Some(timeout);
        })
}

/// No response head arrived within `timeout` of a connection being in hand: the proxy's
/// fault on an absolute-form request, else the origin's; `timings` are the connection's phases
/// before the wait began.
pub(crate) fn no_head(
    route: &Route,
    target: &str,
    timeout: Duration,
    absolute_form: bool,
    timings: Option<Timings>,
) -> Error {
    let (hop, hint) = if absolute_form {
        (
            Hop::Proxy,
            "the proxy took the request but no response head came back in time: the proxy or the origin behind it is slow or stuck — check the proxy's log for this request, or raise timeouts.request",
        )
    } else {
        (
            Hop::Origin,
            "the connection was made but the response head did not arrive; the server is slow or stuck — check it, or raise timeouts.request",
        )
    };
    Error::new(ErrorKind::HttpTimeout)
        .with_hop(hop)
        .with_phase(Phase::Http)
        .with_message(format!("no response from {target} within {timeout:?}"))
        .with_hint(hint)
        .with_route(route.clone())
        .map_evidence(|ev| {
            ev.target = Some(target.to_owned());
            ev.proxy = route.proxy().map(|p| p.without_credentials());
            ev.timeout = Some(timeout);
            ev.timings = timings;
        })
}

/// Why a request got no response head, as ours: what its connection recorded itself (HTTP/2
/// keeps only the text of an I/O error, so a late client-certificate refusal is read from the
/// connection), else the error as [`from_foreign_or_body`] reads it.
pub(crate) fn from_failed(f: Failed, route: &Route, target: &str, absolute_form: bool) -> Error {
    match f {
        Failed::Connect(e) => on_route(e, route),
        Failed::Legacy(e) => recorded_or_foreign(
            e,
            crate::connect::connection_failure,
            route,
            target,
            absolute_form,
        ),
        Failed::Conn { error, info } => {
            recorded_or_foreign(error, |_| info.failure(), route, target, absolute_form)
        }
        Failed::Http2 { error, info } => {
            recorded_or_foreign(error, |_| info.failure(), route, target, absolute_form)
        }
    }
}

/// The failure `recorded` finds on the connection of `e` when `e` holds none of ours, else `e`
/// as [`from_foreign_or_body`] reads it.
fn recorded_or_foreign<E: std::error::Error + Send + Sync + 'static>(
    e: E,
    recorded: impl FnOnce(&E) -> Option<Error>,
    route: &Route,
    target: &str,
    absolute_form: bool,
) -> Error {
    match Error::find_in(&e).is_none().then(|| recorded(&e)).flatten() {
        Some(recorded) => recorded.with_route(route.clone()),
        None => from_foreign_or_body(e, route, target, absolute_form),
    }
}

/// The connector's error with the request's own route: the connector only saw scheme and
/// authority. A route with candidates keeps the connector's copy, which says which were tried.
fn on_route(e: Error, route: &Route) -> Error {
    if e.route().is_some_and(|r| r.candidates().is_some()) {
        e
    } else {
        e.with_route(route.clone())
    }
}

/// hyper's or hyper-util's error: a failing request body is `request.body` (the caller's
/// stream failed, not the peer), anything else as [`from_foreign`] reads it.
fn from_foreign_or_body<E: std::error::Error + Send + Sync + 'static>(
    e: E,
    route: &Route,
    target: &str,
    absolute_form: bool,
) -> Error {
    let mut src: Option<&(dyn std::error::Error + 'static)> = Some(&e);
    while let Some(s) = src {
        if let Some(b) = s.downcast_ref::<BodyStreamError>() {
            return Error::new(ErrorKind::RequestBody)
                .with_phase(Phase::Http)
                .with_message(format!(
                    "the request body stream failed while it was being sent to {target}; the request was abandoned"
                ))
                .with_hint("the stream handed to Body::wrap_stream returned an error (the cause); the peer may have received part of the body")
                .with_route(route.clone())
                .map_evidence(|ev| ev.target = Some(target.to_owned()))
                .with_shared_source(b.0.clone());
        }
        src = s.source();
    }
    from_foreign(e, route, target, absolute_form)
}

/// hyper's or hyper-util's error, unwrapped back to ours: the connector's error when it is the
/// cause, else an `http.*` error built from hyper's.
fn from_foreign<E: std::error::Error + Send + Sync + 'static>(
    e: E,
    route: &Route,
    target: &str,
    absolute_form: bool,
) -> Error {
    if let Some(ours) = Error::find_in(&e) {
        return on_route(ours.duplicate(), route);
    }
    let mut src: Option<&(dyn std::error::Error + 'static)> = Some(&e);
    let mut hyper_err: Option<&hyper::Error> = None;
    let mut h2_err: Option<&h2::Error> = None;
    while let Some(s) = src {
        if hyper_err.is_none() {
            hyper_err = s.downcast_ref::<hyper::Error>();
        }
        if h2_err.is_none() {
            h2_err = s.downcast_ref::<h2::Error>();
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
        None if h2_err.is_some_and(|e| e.is_io() || e.is_go_away()) => "closed the connection",
        None if h2_err.is_some_and(h2::Error::is_reset) => "reset the request's stream",
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

/// The span a request runs in: the provider, the method, the URL (credentials and secret query
/// values masked), and the route — `via` (`direct` or `proxy`) and the proxy without
/// credentials. The outcome is recorded by [`record_outcome`].
pub(crate) fn request_span(
    provider: Option<&str>,
    route: &Route,
    method: &Method,
    url: &RequestUrl,
) -> tracing::Span {
    let span = tracing::info_span!(
        "http",
        provider = provider.unwrap_or("-"),
        method = %method,
        url = %crate::proxy::redact_url(&url.text()),
        via = if route.proxy().is_some() { "proxy" } else { "direct" },
        proxy = tracing::field::Empty,
        status = tracing::field::Empty,
        code = tracing::field::Empty,
        hop = tracing::field::Empty,
        phase = tracing::field::Empty,
        blame = tracing::field::Empty,
    );
    // The proxy's text is built only when a subscriber records the span (the other fields
    // are only evaluated then too): no allocation per request otherwise.
    if !span.is_disabled() {
        let proxy = route
            .proxy()
            .map(crate::proxy::ProxyUrl::without_credentials);
        span.record("proxy", proxy.as_deref().unwrap_or("-"));
    }
    span
}

/// Records how an exchange ended on its span: the status, or the error's code, hop, phase and
/// blame (bounded values only: never a message, which may quote a peer).
///
/// A span no subscriber records is left alone: recording on it still looks each field up by
/// name, for nothing.
pub(crate) fn record_outcome(span: &tracing::Span, outcome: &Result<Response, Error>) {
    match outcome {
        Ok(res) => {
            if !span.is_disabled() {
                span.record("status", res.status().as_u16());
            }
        }
        Err(e) => {
            if !span.is_disabled() {
                span.record("code", e.code());
                span.record("hop", e.hop().map_or("-", Hop::as_str));
                span.record("phase", e.phase().as_str());
                span.record("blame", e.blame().as_str());
            }
            tracing::debug!(parent: span, code = e.code(), "request failed");
        }
    }
}

impl Client {
    /// Sends a built request, following redirects as its policy (else the client's) says. The
    /// future borrows nothing, so the builder boxes it where it is made.
    ///
    /// Not an `async fn`: one would keep `parts` whole beside the pieces taken out of it, and
    /// the request beside the exchange it was moved into, for the future's whole life. The
    /// pieces are taken apart here and the future holds each once; every request moves that
    /// future into its box, so its size is paid per request. Without redirects to follow, the
    /// request is handed to hyper-util here and the future is the exchange's alone (see
    /// [`Client::send_once`]), small enough for the allocator's per-thread cache.
    ///
    /// Boxed here, where each future is made: passed up by value first, a future is copied
    /// whole at every step (several copies of a kilobyte per request).
    pub(crate) fn execute_parts(self, parts: Parts) -> ResponseFuture {
        let Parts {
            provider,
            request,
            url,
            timeout,
            redirect: policy,
        } = parts;
        let policy = policy.unwrap_or(self.inner.defaults.redirect);
        // The request's own timeout runs from when it is sent, as reqwest's does.
        let deadline = Deadline::from_now(timeout);
        if !policy.is_enabled() {
            // One exchange and nothing kept for a next hop: the request goes as it was built,
            // without the hop's bookkeeping, and its future is the exchange's own (no future
            // around it holding the request and its URL). Its extensions stay the caller's, as
            // on any hop.
            let mut request = request;
            request.extensions_mut().clear();
            return self.send_once(provider.as_deref(), &url, request, deadline);
        }
        let (head, body) = request.into_parts();
        // The first hop's target is the request's own URI, already parsed from this URL.
        let mut uri = Some(head.uri);
        let mut hop = Step {
            provider,
            method: head.method,
            url,
            headers: head.headers,
            version: head.version,
            body,
        };
        Box::pin(async move {
            let mut chain: Vec<Redirect> = Vec::new();
            let mut seen: Vec<(Method, url::Url)> = Vec::new();
            loop {
                let replay = hop.body.try_clone();
                let replayable = replay.is_some();
                let req = hop.request(uri.take());
                let res = self
                    .clone()
                    .send_once(hop.provider.as_deref(), &hop.url, req, deadline)
                    .await
                    .map_err(|e| with_chain(e, &chain))?;
                let Some(next) = redirect::next(
                    res.status(),
                    res.headers().get(LOCATION),
                    hop.url.url(),
                    &hop.method,
                    replayable,
                ) else {
                    return Ok(res.with_redirects(chain));
                };
                // A redirect the proxy wrote itself (to its login or consent page) is not the
                // origin's answer: it comes back as the response, for `error_for_proxy_reply`.
                // Asked only of a redirect: a response that is none stays unattributed until read.
                if res.attribution().is_proxy_generated() {
                    return Ok(res.with_redirects(chain));
                }
                // Every hop sent so far, this one included, for the loop check below.
                seen.push((hop.method.clone(), hop.url.url().clone()));
                let mut next_url = next.url.clone();
                // Credentials a server puts in a Location are never used.
                let _ = next_url.set_password(None);
                let _ = next_url.set_username("");
                chain.push(Redirect::new(
                    hop.url.url(),
                    res.status().as_u16(),
                    &next_url,
                    res.route().clone(),
                ));
                let sender = res.attribution().source;
                if chain.len() > policy.limit() {
                    return Err(redirect_error(
                        ErrorKind::HttpTooManyRedirects,
                        sender,
                        &res,
                        &chain,
                        policy,
                    ));
                }
                if seen
                    .iter()
                    .any(|(m, u)| *m == next.method && *u == next_url)
                {
                    return Err(redirect_error(
                        ErrorKind::HttpRedirectLoop,
                        sender,
                        &res,
                        &chain,
                        policy,
                    ));
                }
                hop.provider = self.next_provider(hop.url.url(), &next_url, res.route());
                redirect::carry_headers(&mut hop.headers, &next);
                hop.method = next.method;
                hop.url = RequestUrl::from_url(next_url).map_err(|e| with_chain(e, &chain))?;
                hop.body = if next.keep_body {
                    replay.unwrap_or_default()
                } else {
                    Body::empty()
                };
            }
        })
    }

    /// The provider of the next hop of a redirect chain: the one whose base URL contains the
    /// new URL; else, on the same origin as the hop before, that hop's provider (a provider's
    /// server moving a path keeps the provider's route and trust); else none — the global
    /// layer.
    fn next_provider(&self, from: &url::Url, to: &url::Url, route: &Route) -> Option<String> {
        let by_url = self.profile(None, to).ok().and_then(|p| p.name.clone());
        if by_url.is_some() {
            return None;
        }
        (from.origin() == to.origin())
            .then(|| route.provider().map(str::to_owned))
            .flatten()
    }
}

/// One request of a redirect chain, before it is built.
struct Step {
    provider: Option<String>,
    method: Method,
    url: RequestUrl,
    headers: HeaderMap,
    version: http::Version,
    body: Body,
}

impl Step {
    /// This hop's request: to `uri` when given (the first hop's own), else to its URL; its
    /// headers kept for the next hop. Built here rather than in the request's future, where a
    /// local borrowed while it is built would keep its room there.
    fn request(&mut self, uri: Option<http::Uri>) -> http::Request<Body> {
        let mut req = http::Request::new(std::mem::take(&mut self.body));
        *req.method_mut() = self.method.clone();
        *req.uri_mut() = match uri {
            Some(uri) => uri,
            None => self.url.uri().clone(),
        };
        *req.version_mut() = self.version;
        *req.headers_mut() = self.headers.clone();
        req
    }
}

fn with_chain(e: Error, chain: &[Redirect]) -> Error {
    if chain.is_empty() {
        return e;
    }
    let chain = chain.to_vec();
    e.map_evidence(|ev| ev.redirects = chain)
}

fn redirect_error(
    kind: ErrorKind,
    sender: Hop,
    last: &Response,
    chain: &[Redirect],
    policy: RedirectPolicy,
) -> Error {
    let path: Vec<&str> = chain.iter().map(|r| r.url.as_str()).collect();
    let (message, hint) = match kind {
        ErrorKind::HttpRedirectLoop => (
            format!(
                "the redirects lead in a loop after {} hops: {} -> {}",
                chain.len(),
                path.join(" -> "),
                chain.last().map_or("", |r| r.location.as_str())
            ),
            "the server redirects back to a URL already requested; fix the redirects on the server (a missing cookie or a scheme/host rewrite that fights another one is the usual cause)".to_owned(),
        ),
        _ => (
            format!(
                "more than {} redirects: {} -> {}",
                policy.limit(),
                path.join(" -> "),
                chain.last().map_or("", |r| r.location.as_str())
            ),
            format!(
                "request the final URL directly, or raise the limit (RedirectPolicy::limited({}))",
                policy.limit()
            ),
        ),
    };
    Error::new(kind)
        .with_hop(sender)
        .with_phase(Phase::Http)
        .with_message(message)
        .with_hint(hint)
        .with_route(last.route().clone())
        .with_url(last.url())
        .map_evidence(|ev| {
            ev.status = None;
            ev.redirects = chain.to_vec();
            ev.attribution = Some(last.attribution().clone());
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A header map of `(name, value)` pairs, in order (a name given twice gets both values).
    fn map(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        let mut headers = HeaderMap::new();
        for (name, value) in pairs {
            headers.append(*name, HeaderValue::from_static(value));
        }
        headers
    }

    /// A client's defaults asking for gzip, over `pairs`.
    fn gzip_defaults(pairs: &[(&'static str, &'static str)]) -> Defaults {
        Defaults::new(
            map(pairs),
            RedirectPolicy::none(),
            Some(HeaderValue::from_static("gzip")),
        )
    }

    /// `d` applied to `req`, which must pass.
    fn apply(d: &Defaults, req: &mut HeaderMap) -> Applied {
        d.apply(req, &mut Secrets::new())
            .unwrap_or_else(|e| panic!("{e}"))
    }

    #[test]
    fn defaults_fill_only_what_the_request_lacks() {
        let d = gzip_defaults(&[
            ("user-agent", USER_AGENT),
            ("x-team", "mt"),
            ("x-team", "ops"),
        ]);
        let mut req = map(&[("user-agent", "mine/1")]);
        let applied = apply(&d, &mut req);
        assert!(applied.decode, "the client asked for its encodings");
        assert!(!applied.proxy_authorization);
        assert_eq!(
            req.get(header::USER_AGENT).map(HeaderValue::as_bytes),
            Some(&b"mine/1"[..])
        );
        // Every value of a default the request lacks, in order.
        let team: Vec<_> = req.get_all("x-team").iter().collect();
        assert_eq!(team, ["mt", "ops"]);
        assert_eq!(
            req.get(header::ACCEPT_ENCODING).map(HeaderValue::as_bytes),
            Some(&b"gzip"[..])
        );
        let mut ranged = map(&[("range", "bytes=0-1")]);
        let applied = apply(&d, &mut ranged);
        assert!(ranged.get(header::ACCEPT_ENCODING).is_none());
        assert!(!applied.decode, "a range is asked for plain");
        // A request that names its own encodings gets them, undecoded; one that carries a
        // Proxy-Authorization says so (it is never sent to an origin).
        let mut own = map(&[
            ("accept-encoding", "br"),
            ("proxy-authorization", "Basic eDp5"),
        ]);
        let applied = apply(&d, &mut own);
        assert_eq!(
            own.get(header::ACCEPT_ENCODING).map(HeaderValue::as_bytes),
            Some(&b"br"[..])
        );
        assert!(!applied.decode);
        assert!(applied.proxy_authorization);
        // A client whose defaults name the encodings sends those; the request itself asked for
        // nothing, so the response is decoded as before; a default Proxy-Authorization is
        // flagged too.
        let d = gzip_defaults(&[
            ("accept-encoding", "identity"),
            ("proxy-authorization", "Basic eDp5"),
        ]);
        let mut req = HeaderMap::new();
        let applied = apply(&d, &mut req);
        assert_eq!(
            req.get(header::ACCEPT_ENCODING).map(HeaderValue::as_bytes),
            Some(&b"identity"[..])
        );
        assert!(applied.decode);
        assert!(applied.proxy_authorization);
    }

    /// The defaults' credentials are collected once, when the client is built; the request's
    /// own are marked sensitive and collected as the defaults go in. Both end up scrubbed.
    #[test]
    fn credentials_of_defaults_and_of_the_request_are_collected() {
        let mut headers = HeaderMap::new();
        headers.insert("x-api-key", HeaderValue::from_static("default-key-1"));
        let d = Defaults::new(headers, RedirectPolicy::none(), None);
        assert!(
            d.headers
                .get("x-api-key")
                .is_some_and(HeaderValue::is_sensitive),
            "a default credential is marked when the client is built"
        );
        let mut req = HeaderMap::new();
        req.insert("x-auth-token", HeaderValue::from_static("own-token-2"));
        req.insert("x-team", HeaderValue::from_static("mt"));
        let mut secrets = Secrets::new();
        d.apply(&mut req, &mut secrets)
            .unwrap_or_else(|e| panic!("{e}"));
        assert!(
            req.get("x-auth-token")
                .is_some_and(HeaderValue::is_sensitive)
        );
        assert!(req.get("x-team").is_some_and(|v| !v.is_sensitive()));
        assert!(req.get("x-api-key").is_some_and(HeaderValue::is_sensitive));
        let echoed = secrets.scrub("seen: default-key-1, own-token-2, mt");
        assert!(!echoed.contains("default-key-1"), "{echoed}");
        assert!(!echoed.contains("own-token-2"), "{echoed}");
        assert!(echoed.contains("mt"), "{echoed}");
        // A request with nothing of its own gets the defaults' credentials all the same.
        let mut bare = Secrets::new();
        d.apply(&mut HeaderMap::new(), &mut bare)
            .unwrap_or_else(|e| panic!("{e}"));
        assert!(!bare.scrub("default-key-1").contains("default-key-1"));
    }
}
