//! The connector: a `tower_service::Service<http::Uri>` that takes a request's [`Route`] and
//! builds the connection along it — DNS behind a pluggable [`Resolver`], TCP with every address
//! recorded, TLS to an `https://` proxy, our own CONNECT handshake or SOCKS5, and TLS to the
//! origin through whatever stream came before — each phase within its own timeout (resolving a
//! hop's name and connecting to it share one, `timeouts.connect`) and each failure a
//! structured [`Error`] naming the hop and phase.
//!
//! One connector serves one profile (the global layer, or a provider's layer over it). hyper's
//! pool keys connections by scheme and authority, and within a profile the route is a pure
//! function of those, so a pooled connection always matches the route it was built for.

mod auth;
mod ctx;
pub(crate) mod deadline;
mod dns;
mod explain;
mod failover;
mod handoff;
mod http_connect;
mod refusal;
mod request;
mod socks4;
mod socks5;
mod stream;
mod tcp;
mod tls;
mod tls_probe;

use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::AtomicU64;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use http::{HeaderMap, Uri};
use serde::Serialize;
use tracing::Instrument;

use crate::error::{Error, ErrorKind, Hop, Phase};
use crate::proxy::{EnvSnapshot, ProxyScheme, ProxyUrl};
use crate::route::{Route, Router, UriProblem, uri_parts};
use crate::settings::{Provenance, Settings, Timeouts};
use crate::tls::{HandshakeInfo, TlsCache};

pub use auth::basic_auth;
pub(crate) use auth::mark_and_add_headers;
pub(crate) use ctx::Ctx;
pub use dns::{Resolve, Resolver, Resolving};
pub(crate) use explain::absolute_form_failure;
pub use failover::BACKOFF;
pub(crate) use handoff::Handoff;
pub(crate) use refusal::{Form, refusal};
pub use request::{ConnectorLayer, ConnectorService};
pub(crate) use request::{connection_failure, prepare_request_headers};
pub use stream::{Conn, Stream};

pub use crate::error::Timings;

/// What is known about how a connection was made. hyper copies it into every response's
/// extensions as an `Arc<ConnInfo>`; [`crate::Response::conn_info`] reads it.
#[non_exhaustive]
#[derive(Debug, Clone, Serialize)]
pub struct ConnInfo {
    /// The route the connection follows.
    pub route: Route,
    /// Requests on this connection go to an HTTP proxy in absolute-form (plain `http://`).
    pub absolute_form: bool,
    /// The connection is a tunnel (CONNECT or SOCKS) through the proxy.
    pub tunnel: bool,
    /// The TCP peer (the proxy's or the origin's address).
    pub peer: Option<SocketAddr>,
    /// The ALPN protocol negotiated with the origin (`h2`, `http/1.1`).
    pub alpn: Option<String>,
    /// Per-phase durations.
    pub timings: Timings,
    /// What the TLS handshake with the origin saw (chain, ALPN, version), for `https://`.
    pub origin_tls: Option<HandshakeInfo>,
    /// What the TLS handshake with an `https://` proxy saw.
    pub proxy_tls: Option<HandshakeInfo>,
    /// The connection's own failure once it had one (a late client-certificate refusal, the
    /// first-byte deadline): HTTP/2 keeps only the text of the I/O errors it reports, so the
    /// client looks here when hyper's error carries no proxyscope error.
    #[serde(skip)]
    pub(crate) failure: Arc<std::sync::OnceLock<Error>>,
}

impl ConnInfo {
    /// The connection's own failure (see the field), as a fresh copy.
    pub(crate) fn failure(&self) -> Option<Error> {
        self.failure.get().map(Error::duplicate)
    }
}

/// Everything a connector needs for one profile. Built by [`crate::client::ClientBuilder`];
/// public so a caller can put the connector under their own hyper client.
#[non_exhaustive]
#[derive(Debug, Clone)]
pub struct ConnectorSettings {
    /// The provider this profile serves; `None` for the global layer.
    pub provider: Option<String>,
    /// Where the provider was declared (its `[providers.NAME]` table), so hints can name the
    /// file and line to add a key to.
    pub provider_origin: Option<Provenance>,
    /// The global layer.
    pub global: Settings,
    /// The provider's own layer (applied over `global`).
    pub layer: Option<Settings>,
    /// The environment snapshot (lowest source of proxy settings).
    pub env: EnvSnapshot,
    /// Name resolution.
    pub resolver: Resolver,
    /// Extra headers sent to the proxy (on CONNECT, and on absolute-form requests).
    pub proxy_headers: HeaderMap,
    /// Tunnel plain `http://` through an HTTP proxy with CONNECT instead of absolute-form.
    pub tunnel_plain_http: bool,
    /// Offer HTTP/2 to origins by ALPN.
    pub http2: bool,
    /// The provider's base URL: the layer's `auth` is sent only to this origin (same scheme,
    /// host and port). `None` for the global layer, or to send no origin credentials.
    pub base_url: Option<url::Url>,
}

impl ConnectorSettings {
    /// Settings for the global layer alone, the process environment and the system resolver.
    pub fn new(global: Settings) -> Self {
        Self {
            provider: None,
            provider_origin: None,
            global,
            layer: None,
            env: EnvSnapshot::from_process(),
            resolver: Resolver::system(),
            proxy_headers: HeaderMap::new(),
            tunnel_plain_http: false,
            http2: true,
            base_url: None,
        }
    }
}

pub(crate) struct Profile {
    settings: ConnectorSettings,
    effective: Settings,
    tls: tls::ProfileTls,
    creds: auth::Credentials,
    /// Whether `creds` holds anything to add to a request (worked out once: every request asks).
    adds_credentials: bool,
    router: Router,
    /// Candidates of proxy lists and PAC answers whose connection failed recently.
    backoff: failover::Backoff,
}

impl Profile {
    pub(crate) fn timeouts(&self) -> &Timeouts {
        &self.effective.timeouts
    }

    /// The profile's layer over the global one.
    pub(crate) fn effective(&self) -> &Settings {
        &self.effective
    }

    pub(crate) fn settings(&self) -> &ConnectorSettings {
        &self.settings
    }

    /// Whether requests through `proxy` may get credentials from this profile or from the proxy's
    /// URL (see [`crate::connect::prepare_request_headers`]): when not, they carry only what the
    /// caller and the client's defaults put in.
    pub(crate) fn adds_credentials(&self, proxy: Option<&ProxyUrl>) -> bool {
        self.adds_credentials || proxy.is_some_and(|p| p.username().is_some())
    }

    /// Every credential this profile adds to requests through `proxy` (see
    /// [`auth::Credentials::secrets`]), for scrubbing what a peer echoes back.
    pub(crate) fn credential_secrets(&self, proxy: Option<&ProxyUrl>) -> crate::proxy::Secrets {
        self.creds.secrets(proxy)
    }

    /// Decides this profile's routes (the per-scheme work done once, at build).
    pub(crate) fn router(&self) -> &Router {
        &self.router
    }

    /// The route for `url` under this profile (pure).
    pub(crate) fn route(&self, url: &url::Url) -> Result<Route, Error> {
        self.router.route_url(url).map_err(Error::from)
    }
}

/// The connector: one per profile. Cheap to clone.
#[derive(Clone)]
pub struct Connector {
    profile: Arc<Profile>,
}

impl std::fmt::Debug for Connector {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Connector")
            .field("provider", &self.profile.settings.provider)
            .finish_non_exhaustive()
    }
}

impl Connector {
    /// A connector for `settings`; loads the CA files, client certificates and keys of both
    /// hops and resolves every credential now, so a bad file fails here (`config.ca_file`, or
    /// `config.invalid` naming the setting) and a missing variable or password file too
    /// (`config.invalid`), rather than at the first request.
    pub fn new(settings: ConnectorSettings) -> Result<Self, Error> {
        Self::with_cache(settings, &TlsCache::default())
    }

    /// [`Connector::new`], reading CA files through `cache` (shared by a client's profiles).
    pub(crate) fn with_cache(settings: ConnectorSettings, cache: &TlsCache) -> Result<Self, Error> {
        let effective = match &settings.layer {
            Some(l) => l.over(&settings.global),
            None => settings.global.clone(),
        };
        let provider = settings.provider.as_deref().zip(settings.layer.as_ref());
        let tls = tls::profile_tls(
            &settings.global,
            provider,
            &effective,
            &settings.env,
            settings.http2,
            cache,
        )?;
        let creds = auth::Credentials::resolve(
            &effective,
            provider,
            &settings.env,
            &settings.proxy_headers,
        )?;
        let owned = settings.provider.as_deref().zip(settings.layer.clone());
        // A `pac` setting is run by the `pac` module's evaluator; without the feature the router
        // reports it as unusable (below), never ignores it.
        #[cfg(feature = "pac")]
        let router = Router::with_auto_config(
            settings.global.clone(),
            owned,
            settings.env.clone(),
            crate::pac::auto_config,
        );
        #[cfg(not(feature = "pac"))]
        let router = Router::new(settings.global.clone(), owned, settings.env.clone());
        // A PAC file that cannot be read or does not compile fails the build, not a request.
        if let Some(f) = router.auto_config_failure() {
            return Err(failover::failure_error(f));
        }
        Ok(Self {
            profile: Arc::new(Profile {
                settings,
                effective,
                tls,
                adds_credentials: !creds.is_empty(),
                creds,
                router,
                backoff: failover::Backoff::default(),
            }),
        })
    }

    /// The provider this connector serves; `None` for the global layer.
    pub fn provider(&self) -> Option<&str> {
        self.profile.settings.provider.as_deref()
    }

    /// The origin hop's TLS, e.g. its rustls configuration ([`HopTls::config`]) for a client
    /// that does its own TLS.
    ///
    /// [`HopTls::config`]: crate::tls::HopTls::config
    pub fn origin_tls(&self) -> &crate::tls::HopTls {
        &self.profile.tls.origin
    }

    /// The `https://` proxy hop's TLS.
    pub fn proxy_tls(&self) -> &crate::tls::HopTls {
        &self.profile.tls.proxy
    }

    /// The timeouts in force for this profile.
    pub fn timeouts(&self) -> &Timeouts {
        self.profile.timeouts()
    }

    /// The headers sent to proxies: the builder's, then the layer's `proxy_headers`.
    #[cfg(feature = "reqwest")]
    pub(crate) fn proxy_headers(&self) -> &HeaderMap {
        &self.profile.creds.proxy_headers
    }

    /// The user name and password sent to `proxy`: `proxy_auth`'s, else the URL's.
    #[cfg(feature = "reqwest")]
    pub(crate) fn proxy_credentials<'a>(
        &'a self,
        proxy: &'a ProxyUrl,
    ) -> Option<(&'a str, &'a str)> {
        self.profile.creds.socks_credentials(proxy)
    }

    pub(crate) fn profile(&self) -> &Arc<Profile> {
        &self.profile
    }

    /// The route this connector takes for `url` (pure, no I/O).
    pub fn route(&self, url: &url::Url) -> Result<Route, Error> {
        self.profile.route(url)
    }

    /// Makes a connection for `uri` along its route.
    pub async fn connect(&self, uri: Uri) -> Result<Conn, Error> {
        connect(&self.profile, uri, None).await
    }
}

impl tower_service::Service<Uri> for Connector {
    type Response = Conn;
    type Error = Error;
    type Future = Pin<Box<dyn Future<Output = Result<Conn, Error>> + Send>>;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), Error>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, uri: Uri) -> Self::Future {
        let profile = self.profile.clone();
        // Taken during the request's poll (hyper-util calls this there): the request then
        // knows a connection is being opened for it, and is woken when that ends.
        let handoff = Handoff::current();
        let opening = handoff.map(Handoff::opening);
        Box::pin(async move {
            let conn = connect(&profile, uri, opening.as_ref().map(|o| o.handoff())).await?;
            if let Some(o) = opening {
                o.opened(Arc::clone(conn.shared_info()));
            }
            Ok(conn)
        })
    }
}

/// The route for a new connection to `uri`: the one the client handed over when it is for this
/// URI (it always is when the client sent the request), else decided here — the connector
/// also serves callers that put it under their own hyper client.
fn route_for(profile: &Profile, uri: &Uri, handed: Option<&Handoff>) -> Result<Route, Error> {
    if let Some(h) = handed.filter(|h| h.route().is_for(uri)) {
        return Ok(h.route().clone());
    }
    let parts = uri_parts(uri).map_err(|p| {
        let uri = crate::proxy::redact_text(&uri.to_string());
        let e = Error::new(ErrorKind::HttpProtocol)
            .with_hint("use an absolute URL such as https://host/path");
        match p {
            UriProblem::NoHost => e.with_message(format!("the URL {uri} has no host")),
            UriProblem::Scheme => e.with_message(format!("the URL {uri} has no scheme")),
            UriProblem::Host(source) => e
                .with_message(format!("the URL {uri} cannot be parsed"))
                .with_source(source),
            UriProblem::Port => e.with_message(format!("the URL {uri} has an invalid port")),
        }
    })?;
    profile.router.route_request(uri, &parts)
}

async fn connect(profile: &Profile, uri: Uri, handed: Option<&Handoff>) -> Result<Conn, Error> {
    let route = route_for(profile, &uri, handed)?;
    if route.candidates().is_some() {
        return failover::connect(profile, &uri, route).await;
    }
    connect_one(profile, &uri, route).await
}

/// A connection along `route`'s one proxy (or direct).
async fn connect_one(profile: &Profile, uri: &Uri, route: Route) -> Result<Conn, Error> {
    let scheme = uri.scheme_str().unwrap_or("http").to_ascii_lowercase();
    // The host as written, for DNS and TLS (the route has already read it the URL way).
    let host = uri.host().unwrap_or_default().to_owned();
    let https = matches!(scheme.as_str(), "https" | "wss");
    let port = uri.port_u16().unwrap_or(if https { 443 } else { 80 });
    let target = http_connect::authority(&host, port);
    let ctx = Ctx::new(
        profile.settings.provider.clone(),
        target.clone(),
        route.proxy().cloned(),
        Some(route.clone()),
    )
    .with_provider_origin(profile.settings.provider_origin.clone());
    let span = tracing::info_span!(
        "connect",
        provider = profile.settings.provider.as_deref().unwrap_or("-"),
        route = %route.summary(),
        target = %target,
    );
    // The phases that completed before a failure are evidence too: the probe reports them.
    let mut timings = Timings::default();
    build(profile, &ctx, route, &scheme, &host, port, &mut timings)
        .instrument(span)
        .await
        .map_err(|e| e.map_evidence(|ev| ev.timings = Some(timings)))
}

async fn build(
    profile: &Profile,
    ctx: &Ctx,
    route: Route,
    scheme: &str,
    host: &str,
    port: u16,
    timings: &mut Timings,
) -> Result<Conn, Error> {
    let t = profile.timeouts();
    let resolver = &profile.settings.resolver;
    let https = scheme == "https" || scheme == "wss";
    let mut absolute_form = false;
    let mut tunnel = false;
    let mut proxy_tls = None;
    let mut origin_tls = None;
    let mut tunnel_facts: Option<explain::Tunnel> = None;

    let (stream, peer) = match route.proxy().cloned() {
        None => {
            let (tcp, peer) = dial(
                resolver,
                ctx,
                Hop::Origin,
                host,
                port,
                t.connect_or_default(),
                timings,
            )
            .await?;
            (Stream::Tcp(tcp), peer)
        }
        Some(proxy) => {
            let (tcp, peer) = dial(
                resolver,
                ctx,
                Hop::Proxy,
                proxy.host(),
                proxy.port(),
                t.connect_or_default(),
                timings,
            )
            .await?;
            let started = Instant::now();
            let span = tracing::info_span!("proxy", proxy = %proxy.without_credentials());
            let stream = async {
                let mut stream = Stream::Tcp(tcp);
                match proxy.scheme() {
                    ProxyScheme::Http | ProxyScheme::Https => {
                        if proxy.scheme() == ProxyScheme::Https {
                            let (s, info) = tls::handshake(
                                ctx,
                                &profile.tls.proxy,
                                proxy.host(),
                                stream,
                                deadline::cap(t.proxy_or_default()),
                            )
                            .await
                            .map_err(|e| explain::proxy_tls_failure(ctx, e))?;
                            stream = s;
                            proxy_tls = Some(info);
                        }
                        if !https && !profile.settings.tunnel_plain_http {
                            absolute_form = true;
                            return Ok(stream);
                        }
                        tunnel = true;
                        let auth = profile.creds.proxy_authorization(&proxy);
                        let result = http_connect::handshake(
                            ctx,
                            stream,
                            host,
                            port,
                            auth.as_ref(),
                            &profile.creds.proxy_headers,
                            deadline::cap(t.proxy_or_default()),
                        )
                        .await;
                        // A TLS 1.3 proxy refuses a client certificate after its handshake:
                        // the alert is what the CONNECT reply read gets.
                        match (result, &proxy_tls) {
                            (Err(e), Some(info)) => Err(profile
                                .tls
                                .proxy
                                .late_failure(info, &e)
                                .map_or(e, |late| ctx.attach(late))),
                            (r, _) => r,
                        }
                    }
                    ProxyScheme::Socks5 | ProxyScheme::Socks5h => {
                        tunnel = true;
                        let creds = profile
                            .creds
                            .socks_credentials(&proxy)
                            .map(|(user, pass)| socks5::Creds { user, pass });
                        if proxy.scheme() == ProxyScheme::Socks5h {
                            socks5::handshake(
                                ctx,
                                stream,
                                socks5::Dest::Name(host, port),
                                creds,
                                deadline::cap(t.proxy_or_default()),
                            )
                            .await
                        } else {
                            let addrs = dns::resolve(
                                resolver,
                                ctx,
                                Hop::Origin,
                                host,
                                port,
                                deadline::Budget::start(t.connect_or_default()),
                            )
                            .await?;
                            let Some(&first) = addrs.first() else {
                                return Err(ctx.error(
                                    ErrorKind::OriginDns,
                                    Hop::Origin,
                                    Phase::Dns,
                                ));
                            };
                            socks5::handshake(
                                ctx,
                                stream,
                                socks5::Dest::Addr(first),
                                creds,
                                deadline::cap(t.proxy_or_default()),
                            )
                            .await
                        }
                    }
                    ProxyScheme::Socks4 | ProxyScheme::Socks4a => {
                        tunnel = true;
                        let user_id = proxy.username().unwrap_or("");
                        let dest = if proxy.scheme() == ProxyScheme::Socks4a {
                            socks4::Dest::Name(host, port)
                        } else {
                            let addrs = dns::resolve(
                                resolver,
                                ctx,
                                Hop::Origin,
                                host,
                                port,
                                deadline::Budget::start(t.connect_or_default()),
                            )
                            .await?;
                            socks4::Dest::Addr(socks4::first_v4(ctx, &addrs)?)
                        };
                        let timeout = deadline::cap(t.proxy_or_default());
                        socks4::handshake(ctx, stream, dest, user_id, timeout).await
                    }
                }
            }
            .instrument(span)
            .await;
            let stream = match stream {
                Ok(s) => s,
                Err(e) => {
                    let e = explain::proxy_failure(profile, ctx, &proxy, peer, host, port, e).await;
                    // A proxy that echoes the request into its refusal puts our credentials there.
                    return Err(e.scrubbed(&profile.creds.proxy_secrets(&proxy)));
                }
            };
            timings.proxy = Some(started.elapsed());
            if tunnel {
                // Count what comes back through the tunnel: a tunnel that ends before the
                // origin's first byte is the proxy's doing, not the origin's.
                let received = Arc::new(AtomicU64::new(0));
                tunnel_facts = Some(explain::Tunnel {
                    opened: Instant::now(),
                    received: received.clone(),
                    socks: !matches!(proxy.scheme(), ProxyScheme::Http | ProxyScheme::Https),
                });
                (Stream::counted(stream, received), peer)
            } else {
                (stream, peer)
            }
        }
    };

    let stream = if https {
        let started = Instant::now();
        let (s, info) = tls::handshake(
            ctx,
            &profile.tls.origin,
            host,
            stream,
            deadline::cap(t.tls_or_default()),
        )
        .instrument(tracing::info_span!("tls", server_name = %host))
        .await
        .map_err(|e| explain::origin_tls_failure(ctx, e, host, port, tunnel_facts.as_ref()))?;
        timings.tls = Some(started.elapsed());
        origin_tls = Some(info);
        s
    } else {
        stream
    };
    let alpn = stream
        .alpn()
        .filter(|_| https)
        .map(|p| String::from_utf8_lossy(p).into_owned());
    tracing::debug!(
        absolute_form,
        tunnel,
        alpn = alpn.as_deref().unwrap_or("-"),
        "connected"
    );
    // The TLS layer whose server may still refuse our client authentication after the
    // handshake (TLS 1.3): the outermost one that was asked for a certificate.
    let late_tls = match (&origin_tls, &proxy_tls) {
        (Some(i), _) if i.client_cert.as_ref().is_some_and(|c| c.requested) => {
            Some((profile.tls.origin.clone(), i.clone()))
        }
        (None, Some(i)) if i.client_cert.as_ref().is_some_and(|c| c.requested) => {
            Some((profile.tls.proxy.clone(), i.clone()))
        }
        _ => None,
    };
    // hyper's HTTP/2 keeps a read pending on an idle connection and writes frames of its own,
    // so a first-byte deadline cannot tell waiting from idle there; HTTP/2 relies on the
    // caller's request timeout (`Client`, or `ConnectorLayer`).
    let first_byte = (alpn.as_deref() != Some("h2")).then(|| t.request_or_default());
    let info = ConnInfo {
        route,
        absolute_form,
        tunnel,
        peer,
        alpn,
        timings: *timings,
        origin_tls,
        proxy_tls,
        failure: Arc::default(),
    };
    Ok(Conn::new(
        stream,
        info,
        first_byte,
        late_tls,
        ctx.target().to_owned(),
    ))
}

/// Resolves `host` and connects to it for `hop`: one `timeout` (`timeouts.connect`, capped by
/// the request's deadline) for both, taken before resolving, as curl's connect timeout is —
/// what resolution leaves is the connect's. Each is timed on its own for the probe.
async fn dial(
    resolver: &Resolver,
    ctx: &Ctx,
    hop: Hop,
    host: &str,
    port: u16,
    timeout: Duration,
    timings: &mut Timings,
) -> Result<(tokio::net::TcpStream, Option<SocketAddr>), Error> {
    let started = Instant::now();
    let budget = deadline::Budget::start(timeout);
    let addrs = dns::resolve(resolver, ctx, hop, host, port, budget)
        .instrument(tracing::info_span!("dns", hop = %hop, host = %host))
        .await?;
    let resolved = Instant::now();
    timings.dns = Some(resolved - started);
    let tcp = tcp::connect(ctx, hop, host, &addrs, budget)
        .instrument(tracing::info_span!("tcp", hop = %hop, host = %host, port))
        .await?;
    timings.connect = Some(resolved.elapsed());
    let peer = tcp.peer_addr().ok();
    Ok((tcp, peer))
}
