//! The connector: a `tower_service::Service<http::Uri>` that takes a request's [`Route`] and
//! builds the connection along it — DNS behind a pluggable [`Resolver`], TCP with every address
//! recorded, TLS to an `https://` proxy, our own CONNECT handshake or SOCKS5, and TLS to the
//! origin through whatever stream came before — each phase within its own timeout and each
//! failure a structured [`Error`] naming the hop and phase.
//!
//! One connector serves one profile (the global layer, or a provider's layer over it). hyper's
//! pool keys connections by scheme and authority, and within a profile the route is a pure
//! function of those, so a pooled connection always matches the route it was built for.

mod auth;
mod dns;
mod http_connect;
mod request;
mod socks5;
mod stream;
mod tcp;
mod tls;

use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use http::{HeaderMap, Uri};
use serde::Serialize;
use tracing::Instrument;

use crate::error::{Error, ErrorKind, Hop, Phase};
use crate::proxy::{EnvSnapshot, ProxyScheme, ProxyUrl};
use crate::route::Route;
use crate::settings::{Settings, Timeouts};
use crate::tls::HandshakeInfo;

pub use auth::basic_auth;
pub use dns::{Resolve, Resolver, Resolving};
pub use request::{ConnectorLayer, ConnectorService};
pub(crate) use request::{connection_failure, prepare_request_headers};
pub use stream::{Conn, Stream};

pub use crate::error::Timings;

/// What is known about how a connection was made. hyper copies it into every response's
/// extensions as an `Arc<ConnInfo>`; [`crate::Response::conn_info`] reads it.
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
#[derive(Debug, Clone)]
pub struct ConnectorSettings {
    /// The provider this profile serves; `None` for the global layer.
    pub provider: Option<String>,
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
}

impl Profile {
    pub(crate) fn timeouts(&self) -> &Timeouts {
        &self.effective.timeouts
    }


    /// The route for `url` under this profile (pure).
    pub(crate) fn route(&self, url: &url::Url) -> Result<Route, Error> {
        crate::route::resolve(
            &self.settings.global,
            self.settings
                .provider
                .as_deref()
                .zip(self.settings.layer.as_ref()),
            &self.settings.env,
            url,
        )
        .map_err(Error::from)
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
        )?;
        let creds =
            auth::Credentials::resolve(&effective, provider, &settings.env, &settings.proxy_headers)?;
        Ok(Self {
            profile: Arc::new(Profile {
                settings,
                effective,
                tls,
                creds,
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
    pub(crate) fn proxy_headers(&self) -> &HeaderMap {
        &self.profile.creds.proxy_headers
    }

    /// The user name and password sent to `proxy`: `proxy_auth`'s, else the URL's.
    pub(crate) fn proxy_credentials<'a>(&'a self, proxy: &'a ProxyUrl) -> Option<(&'a str, &'a str)> {
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
        connect(&self.profile, uri).await
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
        Box::pin(async move { connect(&profile, uri).await })
    }
}

/// The context every error in one connection attempt is built from.
pub(crate) struct Ctx {
    provider: Option<String>,
    target: String,
    proxy: Option<ProxyUrl>,
    route: Option<Route>,
}

impl Ctx {
    pub(crate) fn new(
        provider: Option<String>,
        target: String,
        proxy: Option<ProxyUrl>,
        route: Option<Route>,
    ) -> Self {
        Self {
            provider,
            target,
            proxy,
            route,
        }
    }

    /// An error of `kind` at `hop`/`phase` with the target, proxy and route attached.
    pub(crate) fn error(&self, kind: ErrorKind, hop: Hop, phase: Phase) -> Error {
        let target = self.target.clone();
        let proxy = self.proxy.as_ref().map(ProxyUrl::without_credentials);
        let mut e = Error::new(kind)
            .with_hop(hop)
            .with_phase(phase)
            .map_evidence(|ev| {
                ev.target = Some(target);
                ev.proxy = proxy;
            });
        if let Some(r) = &self.route {
            e = e.with_route(r.clone());
        }
        e
    }

    /// Adds the request's target, proxy and route to an error built elsewhere (the TLS layer).
    pub(crate) fn attach(&self, e: Error) -> Error {
        let target = self.target.clone();
        let proxy = self.proxy.as_ref().map(ProxyUrl::without_credentials);
        let mut e = e.map_evidence(|ev| {
            // The target is always the request's destination; the proxy's name is in `proxy`.
            ev.target = Some(target);
            if ev.proxy.is_none() {
                ev.proxy = proxy;
            }
        });
        if let Some(r) = &self.route {
            e = e.or_route(r);
        }
        e
    }

    pub(crate) fn target(&self) -> &str {
        &self.target
    }

    pub(crate) fn proxy_display(&self) -> String {
        self.proxy
            .as_ref()
            .map_or_else(|| "(none)".to_owned(), ProxyUrl::without_credentials)
    }

    pub(crate) fn proxy_authority(&self) -> String {
        self.proxy
            .as_ref()
            .map_or_else(|| "host:port".to_owned(), ProxyUrl::authority)
    }

    pub(crate) fn provider_noun(&self) -> String {
        match &self.provider {
            Some(p) => format!("provider ({p})"),
            None => "client".to_owned(),
        }
    }

    pub(crate) fn proxy_key(&self) -> String {
        match &self.provider {
            Some(p) => format!("providers.{p}.proxy = \"direct\""),
            None => "proxy = \"direct\"".to_owned(),
        }
    }

    /// "the route shows proxy X came from …", or the route summary.
    pub(crate) fn route_origin_phrase(&self) -> String {
        match (&self.route, &self.proxy) {
            (Some(r), Some(p)) => match r.proxy_origin() {
                Some(origin) => format!(
                    "the route shows proxy {} came from {origin}",
                    p.without_credentials()
                ),
                None => format!(
                    "the route shows proxy {} was chosen ({})",
                    p.without_credentials(),
                    r.summary()
                ),
            },
            (Some(r), None) => format!("route: {}", r.summary()),
            _ => "the route's steps (`Route::explain`) say why it was chosen".to_owned(),
        }
    }

    pub(crate) fn route_phrase(&self) -> String {
        self.route.as_ref().map_or_else(
            || "route unknown".to_owned(),
            |r| format!("route: {}", r.summary()),
        )
    }
}

fn default_port(scheme: &str) -> u16 {
    match scheme {
        "https" | "wss" => 443,
        _ => 80,
    }
}

async fn connect(profile: &Profile, uri: Uri) -> Result<Conn, Error> {
    let scheme = uri.scheme_str().unwrap_or("http").to_ascii_lowercase();
    let Some(host) = uri.host().map(str::to_owned) else {
        return Err(Error::new(ErrorKind::HttpProtocol)
            .with_message(format!("the URL {uri} has no host"))
            .with_hint("use an absolute URL such as https://host/path"));
    };
    let port = uri.port_u16().unwrap_or_else(|| default_port(&scheme));
    let url = url::Url::parse(&uri.to_string()).map_err(|e| {
        Error::new(ErrorKind::HttpProtocol)
            .with_message(format!("the URL {uri} cannot be parsed"))
            .with_source(e)
    })?;
    let route = profile.route(&url)?;
    let target = http_connect::authority(&host, port);
    let ctx = Ctx::new(
        profile.settings.provider.clone(),
        target.clone(),
        route.proxy().cloned(),
        Some(route.clone()),
    );
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

    let (stream, peer) = match route.proxy().cloned() {
        None => {
            let (tcp, peer) =
                dial(resolver, ctx, Hop::Origin, host, port, t.connect(), timings).await?;
            (Stream::Tcp(tcp), peer)
        }
        Some(proxy) => {
            let (tcp, peer) = dial(
                resolver,
                ctx,
                Hop::Proxy,
                proxy.host(),
                proxy.port(),
                t.connect(),
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
                                t.proxy(),
                            )
                            .await?;
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
                            t.proxy(),
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
                                t.proxy(),
                            )
                            .await
                        } else {
                            let addrs =
                                dns::resolve(resolver, ctx, Hop::Origin, host, port, t.connect())
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
                                t.proxy(),
                            )
                            .await
                        }
                    }
                    other => Err(ctx
                        .error(ErrorKind::ConfigProxyUrl, Hop::Proxy, Phase::Config)
                        .with_message(format!("proxy scheme {other:?} is not supported"))
                        .with_hint("use an http://, https://, socks5:// or socks5h:// proxy")),
                }
            }
            .instrument(span)
            .await?;
            timings.proxy = Some(started.elapsed());
            (stream, peer)
        }
    };

    let stream = if https {
        let started = Instant::now();
        let (s, info) = tls::handshake(ctx, &profile.tls.origin, host, stream, t.tls())
            .instrument(tracing::info_span!("tls", server_name = %host))
            .await?;
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
    let first_byte = (alpn.as_deref() != Some("h2")).then(|| t.request());
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
    Ok(Conn::new(stream, info, first_byte, late_tls, ctx.target().to_owned()))
}

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
    let addrs = dns::resolve(resolver, ctx, hop, host, port, timeout)
        .instrument(tracing::info_span!("dns", hop = %hop, host = %host))
        .await?;
    timings.dns = Some(started.elapsed());
    let started = Instant::now();
    let tcp = tcp::connect(ctx, hop, host, &addrs, timeout)
        .instrument(tracing::info_span!("tcp", hop = %hop, host = %host, port))
        .await?;
    timings.connect = Some(started.elapsed());
    let peer = tcp.peer_addr().ok();
    Ok((tcp, peer))
}
