//! One exchange: a request routed, handed to its connection (`pool`), and waited for — first
//! for a connection within the request's deadline, then for the response head within the
//! request timeout — and its response or error. The redirect chain around it is `send`'s.

use std::future::Future as _;
use std::pin::Pin;
use std::sync::Arc;
use std::task::Poll;
use std::time::Duration;

use http::Method;
use http::header::PROXY_AUTHORIZATION;

use super::into_url::{RequestUrl, move_userinfo, request_parts, url_secrets};
use super::timer::RequestTimer;
use super::wire_body::Ahead;
use super::{Body, Client, ProfileClient, Response, body, pool, request, send};
use crate::connect::{Ctx, Handoff, absolute_form_failure};
use crate::error::{Error, ErrorKind};
use crate::proxy::ProxyScheme;
use crate::route::Route;

impl Client {
    /// One exchange: `req` for `url` through `provider`'s profile (chosen by URL when `None`),
    /// within `deadline` when the request has one. No redirect is followed here.
    ///
    /// Everything up to handing the request to its connection is done when this is called,
    /// before a future exists (there is nothing to wait for until then), so neither the request
    /// nor what is worked out from it takes room in the request's future. The future is boxed
    /// here, where it is made, and not copied again on its way up. A request that cannot be
    /// sent is its error, ready.
    pub(super) fn send_once(
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
    /// its connection (see `pool`).
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
        // The request's own credentials are marked and collected here, with the defaults'.
        let applied = self.inner.defaults.apply(req.headers_mut(), &mut secrets)?;
        let decode = applied.decode;
        let method = req.method().clone();
        let absolute_form = req.uri().scheme_str() == Some("http")
            && !profile.connector.profile().settings().tunnel_plain_http
            && route
                .proxy()
                .is_some_and(|p| matches!(p.scheme(), ProxyScheme::Http | ProxyScheme::Https));
        // A caller's Proxy-Authorization is never sent to an origin (directly or inside a
        // tunnel); for absolute-form the proxy's own credentials replace it.
        if applied.proxy_authorization {
            req.headers_mut().remove(PROXY_AUTHORIZATION);
        }
        // The URL the response will answer: the request's target as sent, which the headers
        // below are chosen for.
        let answered = url.answered(req.uri());
        // `proxy_auth` (or the proxy URL's credentials) and the proxy headers on an
        // absolute-form request, the provider's `auth` on a request to its own origin.
        let credentials_sent = crate::connect::prepare_request_headers(
            &profile.connector,
            &route,
            absolute_form,
            answered.uri(),
            req.headers_mut(),
        );
        // What the profile and the proxy's URL added: only a profile or proxy with credentials
        // adds any (most add none, and their requests skip this).
        let connector = profile.connector.profile();
        if connector.adds_credentials(route.proxy()) {
            // The proxy URL's own credentials are among the profile's for that proxy.
            crate::connect::mark_and_add_headers(&mut secrets, req.headers_mut());
            secrets.extend(&connector.credential_secrets(route.proxy()));
        }
        // Shared by the response (its reader's errors) and this request's own errors.
        let secrets = if secrets.is_empty() {
            no_secrets()
        } else {
            Arc::new(secrets)
        };
        let span = send::request_span(profile.name.as_deref(), &route, req.method(), url);
        let send = profile.http.send(req);
        // A new connection follows the route decided here (one decision per request), made
        // visible to the connector while the send is polled (see `Handoff`). A request on a
        // held HTTP/2 connection asks the connector nothing and needs none; should that
        // connection turn out to be closing, the one retry on a new connection is the
        // connector's alone (it decides the same route, within its own phase timeouts), and
        // the request's head timer bounds it.
        let handoff = (!send.on_held_connection())
            .then(|| Handoff::new(route.clone(), deadline.map(|d| d.at)));
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

/// A request handed to its connection, and what its response or error is made with. Owns all of
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
    send: pool::Sending,
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
            let profile_id = profile;
            let profile = client.profile_by_id(profile_id);
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
                    let _entered = span.enter();
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
                // The wait above ended right after a poll of `send` in this same poll of the
                // task, which left its waker: the first turn here starts with the timer.
                let mut just_polled = true;
                let waited = std::future::poll_fn(|cx| {
                    let _entered = span.enter();
                    if !std::mem::take(&mut just_polled)
                        && let Poll::Ready(r) =
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
            .await;
            // Moved into the match (`identity`): once it is over, nothing of the answer stays
            // in the future while the failure below is awaited.
            let why = match std::convert::identity(result) {
                send::Waited::Done(Ok(mut answer)) => {
                    // The body's start is asked for in the turn its head came in (`body::Ahead`
                    // says why); this never waits.
                    let ahead = match answer.ahead.take() {
                        Some(ahead) => ahead,
                        None => {
                            std::future::poll_fn(|cx| {
                                Poll::Ready(Ahead::read(answer.res.body_mut(), cx))
                            })
                            .await
                        }
                    };
                    let res = Ok(Response::new(
                        answer,
                        ahead,
                        body::Exchanged {
                            route,
                            url,
                            deadline: deadline.map(|d| (d.at, d.timeout)),
                            timers: Arc::clone(&client.inner.timers),
                            info: None,
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
                send::Waited::Done(Err(e)) => NoResponse::Failed(e),
                send::Waited::NoHead => NoResponse::NoHead,
                send::Waited::NoConnection => NoResponse::NoConnection,
            };
            Failure {
                client,
                profile: profile_id,
                url,
                deadline,
                route,
                secrets,
                span,
                handoff,
                absolute_form,
                profile_timeout,
                why,
            }
            .report()
            .await
        }
    }
}

/// What a request that got no response head is reported with.
struct Failure {
    client: Client,
    profile: ProfileId,
    url: RequestUrl,
    deadline: Option<send::Deadline>,
    route: Route,
    secrets: Arc<crate::proxy::Secrets>,
    span: tracing::Span,
    handoff: Option<Arc<Handoff>>,
    absolute_form: bool,
    profile_timeout: Duration,
    why: NoResponse,
}

/// Why an exchange has no response head.
enum NoResponse {
    Failed(pool::Failed),
    NoHead,
    NoConnection,
}

impl Failure {
    /// The error of a request that got no response head, scrubbed of its secrets.
    ///
    /// Out of line and cold: the request's own future holds only a box for it, and the code
    /// that builds errors stays away from the code every request runs.
    #[cold]
    #[inline(never)]
    fn report(self) -> Pin<Box<dyn std::future::Future<Output = Result<Response, Error>> + Send>> {
        Box::pin(async move {
            let profile = self.client.profile_by_id(self.profile);
            let request_timeout = send::effective_timeout(self.profile_timeout, self.deadline);
            let passed = self
                .deadline
                .filter(|d| d.at <= tokio::time::Instant::now());
            let (route, absolute_form) = (&self.route, self.absolute_form);
            let target = || send::target_of(self.url.uri());
            let e = match self.why {
                NoResponse::Failed(e) => {
                    let target = target();
                    let e = send::from_failed(e, route, &target, absolute_form);
                    if absolute_form && e.kind() != ErrorKind::RequestBody {
                        let ctx = Ctx::new(
                            profile.name.clone(),
                            target,
                            route.proxy().cloned(),
                            Some(route.clone()),
                        );
                        absolute_form_failure(profile.connector.profile(), &ctx, e).await
                    } else {
                        e
                    }
                }
                NoResponse::NoHead => send::no_head(
                    route,
                    &target(),
                    request_timeout,
                    absolute_form,
                    // The phases of the connection this request opened (a pooled one's were
                    // measured for an earlier request).
                    self.handoff
                        .as_ref()
                        .and_then(|h| h.opened_info())
                        .map(|i| i.timings),
                ),
                NoResponse::NoConnection => send::no_connection(route, &target(), request_timeout),
            };
            let e = match passed {
                Some(d) => send::blame_the_deadline(e, d),
                None => e,
            };
            // Whatever a peer echoed of the request's credentials is scrubbed.
            let outcome = Err(e.with_url(self.url.url()).scrubbed(&self.secrets));
            send::record_outcome(&self.span, &outcome);
            outcome
        })
    }
}

/// The secrets of a request that carries none, shared: most requests carry none, and each
/// would otherwise allocate an empty set for its response to hold.
fn no_secrets() -> Arc<crate::proxy::Secrets> {
    static NONE: std::sync::LazyLock<Arc<crate::proxy::Secrets>> =
        std::sync::LazyLock::new(Default::default);
    Arc::clone(&NONE)
}
