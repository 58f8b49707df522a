//! [`TestProxy`]: a forward proxy on `127.0.0.1:0` driven by [`Policy`] rules. It serves HTTP
//! CONNECT and absolute-form forwarding on a plain listener, optionally the same over TLS (an
//! `https://` proxy) and SOCKS5, really connects to destinations, and records every request it
//! handled so a test can assert which proxy carried which request and what it answered.

use std::collections::HashMap;
use std::convert::Infallible;
use std::fmt;
use std::net::{IpAddr, SocketAddr};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, PoisonError};

use bytes::Bytes;
use http::{HeaderMap, HeaderValue, Method, Request, Response, StatusCode, header};
use http_body_util::{BodyExt, Full, combinators::BoxBody};
use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use rustls::{ClientConfig, ServerConfig};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio_rustls::{TlsAcceptor, TlsConnector};

use super::origin::mark_sensitive;
use super::pki::{Ca, ChainMode, TestCert, TestPki, server_config_alpn};
use super::policy::{
    Decision, GeneratedReply, OVERSIZED_HEADER_BYTES, Policy, VIA, decide, squid_page,
};
use super::tasks::Tasks;
use super::{socks, upstream};

/// Which listener of a [`TestProxy`] received a request.
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Listener {
    /// The plain `http://` listener.
    Http,
    /// The TLS `https://` listener.
    Https,
    /// The SOCKS5 listener.
    Socks5,
}

/// What the proxy did with a request.
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Handled {
    /// CONNECT answered 200 and the tunnel was opened to the destination.
    Tunnelled,
    /// CONNECT answered 200 and TLS inside the tunnel was intercepted.
    Intercepted,
    /// CONNECT answered 200 and the connection was closed ([`Policy::OkThenClose`]).
    OkThenClosed,
    /// An absolute-form request was relayed; the destination's status.
    Relayed(u16),
    /// The proxy generated this error status itself (policy or real upstream failure).
    Refused(u16),
    /// SOCKS5 reply code sent (0x00 is success).
    Socks(u8),
    /// A connection-level policy answered (garbage, stall, oversized headers): no HTTP reply.
    Misbehaved,
}

/// One request a [`TestProxy`] handled.
///
/// `Proxy-Authorization` is kept (so tests can inspect it) but marked sensitive, so `Debug`
/// shows `Sensitive` rather than the credentials.
#[non_exhaustive]
#[derive(Debug, Clone)]
pub struct ProxyRequest {
    /// The listener it arrived on.
    pub listener: Listener,
    /// `CONNECT`, `GET`, … (SOCKS5 CONNECTs are recorded as `CONNECT`).
    pub method: String,
    /// The request target as sent (`host:port` for CONNECT and SOCKS, a URL for absolute-form).
    pub target: String,
    /// Request headers (empty for SOCKS).
    pub headers: HeaderMap,
    /// Whether `Proxy-Authorization` was present (for SOCKS: whether user/password auth ran).
    pub has_proxy_authorization: bool,
    /// What the proxy did.
    pub handled: Handled,
}

pub(crate) struct Intercept {
    ca: Arc<Ca>,
    origin_trust: Arc<ClientConfig>,
}

/// State shared by a proxy's listeners and connections.
pub(crate) struct Shared {
    pub(crate) rules: Vec<Policy>,
    pub(crate) resolve: HashMap<String, IpAddr>,
    pub(crate) socks_auth: Option<(String, String)>,
    intercept: Option<Intercept>,
    records: Mutex<Vec<ProxyRequest>>,
    accepted: AtomicUsize,
    pub(crate) tasks: Tasks,
}

impl Shared {
    pub(crate) fn record(&self, request: ProxyRequest) {
        self.records
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push(request);
    }

    /// The first connection-level rule, if any.
    pub(crate) fn connection_rule(&self) -> Option<&Policy> {
        self.rules.iter().find(|r| r.is_connection_level())
    }
}

/// Configures and starts a [`TestProxy`]. Created by [`TestProxy::builder`].
pub struct TestProxyBuilder {
    rules: Vec<Policy>,
    tls: Option<Arc<ServerConfig>>,
    socks: Option<Option<(String, String)>>,
    resolve: HashMap<String, IpAddr>,
    intercept: Option<Intercept>,
}

impl fmt::Debug for TestProxyBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TestProxyBuilder")
            .field("rules", &self.rules)
            .field("tls", &self.tls.is_some())
            .field("socks5", &self.socks.is_some())
            .field("resolve", &self.resolve)
            .finish_non_exhaustive()
    }
}

impl TestProxyBuilder {
    /// Adds a rule; rules apply in the order added (see [`Policy`]).
    pub fn policy(mut self, policy: Policy) -> Self {
        self.rules.push(policy);
        self
    }

    /// Also listen for TLS (an `https://` proxy) presenting `leaf` with its intermediates,
    /// ALPN `http/1.1`.
    ///
    /// # Panics
    /// If rustls rejects the certificate (it does not for certificates made by [`TestPki`]).
    pub fn tls(self, pki: &TestPki, leaf: &TestCert) -> Self {
        self.tls_chain(pki, leaf, ChainMode::Full)
    }

    /// Like [`TestProxyBuilder::tls`], choosing which chain the proxy presents.
    ///
    /// # Panics
    /// As [`TestProxyBuilder::tls`].
    pub fn tls_chain(mut self, _pki: &TestPki, leaf: &TestCert, mode: ChainMode) -> Self {
        match server_config_alpn(leaf.presented_chain(mode), leaf.key_der(), &[b"http/1.1"]) {
            Ok(config) => self.tls = Some(config),
            Err(err) => panic!("TestProxyBuilder::tls: {err}"),
        }
        self
    }

    /// Also listen for TLS with a configuration of your own.
    pub fn tls_config(mut self, config: Arc<ServerConfig>) -> Self {
        self.tls = Some(config);
        self
    }

    /// Also listen for SOCKS5 without authentication.
    pub fn socks5(mut self) -> Self {
        self.socks = Some(None);
        self
    }

    /// Also listen for SOCKS5 requiring username/password (RFC 1929).
    pub fn socks5_auth(mut self, user: &str, pass: &str) -> Self {
        self.socks = Some(Some((user.to_owned(), pass.to_owned())));
        self
    }

    /// Resolves `host` to `ip` inside the proxy (like curl's `--resolve`), so tests can use names
    /// such as `origin.test` for loopback servers.
    pub fn resolve(mut self, host: &str, ip: IpAddr) -> Self {
        self.resolve.insert(host.to_ascii_lowercase(), ip);
        self
    }

    /// Intercepts TLS in CONNECT tunnels with `pki`'s interception CA, trusting `pki`'s root
    /// toward destinations (adds [`Policy::Intercept`] as the last rule).
    pub fn intercept(mut self, pki: &TestPki) -> Self {
        let mut trust = pki.client_config(&[pki.root()]);
        trust.alpn_protocols = vec![b"http/1.1".to_vec()];
        self.intercept = Some(Intercept {
            ca: pki.interception_authority(),
            origin_trust: Arc::new(trust),
        });
        self.rules.push(Policy::Intercept);
        self
    }

    /// Binds the listeners on `127.0.0.1:0` and starts serving.
    ///
    /// # Panics
    /// If a loopback port cannot be bound, or outside a Tokio runtime.
    pub async fn start(self) -> TestProxy {
        let tasks = Tasks::default();
        let shared = Arc::new(Shared {
            rules: self.rules,
            resolve: self.resolve,
            socks_auth: self.socks.clone().flatten(),
            intercept: self.intercept,
            records: Mutex::new(Vec::new()),
            accepted: AtomicUsize::new(0),
            tasks: tasks.clone(),
        });
        let (http_listener, addr) = bind().await;
        spawn_loop(&shared, http_listener, Kind::Http(None));
        let https_addr = match self.tls {
            Some(config) => {
                let (l, a) = bind().await;
                spawn_loop(&shared, l, Kind::Http(Some(TlsAcceptor::from(config))));
                Some(a)
            }
            None => None,
        };
        let socks_addr = match self.socks {
            Some(_) => {
                let (l, a) = bind().await;
                spawn_loop(&shared, l, Kind::Socks);
                Some(a)
            }
            None => None,
        };
        TestProxy {
            addr,
            https_addr,
            socks_addr,
            shared,
            tasks,
        }
    }
}

/// A forward proxy for tests. See the [module docs](self) and [`Policy`].
///
/// Dropping it aborts every task and closes every listener; [`TestProxy::shutdown`] also waits
/// until they are closed. A panic in a proxy task is re-raised by [`TestProxy::check`],
/// `shutdown`, or on drop.
pub struct TestProxy {
    addr: SocketAddr,
    https_addr: Option<SocketAddr>,
    socks_addr: Option<SocketAddr>,
    shared: Arc<Shared>,
    tasks: Tasks,
}

impl fmt::Debug for TestProxy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TestProxy")
            .field("addr", &self.addr)
            .field("https_addr", &self.https_addr)
            .field("socks_addr", &self.socks_addr)
            .field("rules", &self.shared.rules)
            .finish_non_exhaustive()
    }
}

impl TestProxy {
    /// A builder with no rules (forward everything).
    pub fn builder() -> TestProxyBuilder {
        TestProxyBuilder {
            rules: Vec::new(),
            tls: None,
            socks: None,
            resolve: HashMap::new(),
            intercept: None,
        }
    }

    /// Starts a plain HTTP proxy that forwards everything.
    pub async fn allow_all() -> TestProxy {
        TestProxy::builder().start().await
    }

    /// Address of the plain HTTP listener.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `http://127.0.0.1:{port}`.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// `http://{user}:{pass}@127.0.0.1:{port}` (percent-encode special characters yourself).
    pub fn url_with_credentials(&self, user: &str, pass: &str) -> String {
        format!("http://{user}:{pass}@{}", self.addr)
    }

    /// Address of the TLS listener, if [`TestProxyBuilder::tls`] was used.
    pub fn https_addr(&self) -> Option<SocketAddr> {
        self.https_addr
    }

    /// `https://localhost:{port}` (the name [`TestPki::localhost`] is valid for), if TLS is on.
    pub fn https_url(&self) -> Option<String> {
        self.https_addr
            .map(|a| format!("https://localhost:{}", a.port()))
    }

    /// Address of the SOCKS5 listener, if enabled.
    pub fn socks5_addr(&self) -> Option<SocketAddr> {
        self.socks_addr
    }

    /// `socks5://127.0.0.1:{port}`, if SOCKS5 is enabled.
    pub fn socks5_url(&self) -> Option<String> {
        self.socks_addr.map(|a| format!("socks5://{a}"))
    }

    /// Every request handled so far, in order.
    pub fn requests(&self) -> Vec<ProxyRequest> {
        self.shared
            .records
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// The CONNECT requests (HTTP and SOCKS) handled so far.
    pub fn connects(&self) -> Vec<ProxyRequest> {
        self.requests()
            .into_iter()
            .filter(|r| r.method == "CONNECT")
            .collect()
    }

    /// How many CONNECTs were handled.
    pub fn connect_count(&self) -> usize {
        self.connects().len()
    }

    /// How many TCP connections the listeners accepted (including ones a policy dropped).
    pub fn accepted(&self) -> usize {
        self.shared.accepted.load(Ordering::Relaxed)
    }

    /// Re-raises a panic from a proxy task, if one happened.
    pub fn check(&self) {
        self.tasks.check();
    }

    /// Stops every listener and waits until all sockets are closed.
    pub async fn shutdown(self) {
        self.tasks.shutdown().await;
    }
}

impl Drop for TestProxy {
    fn drop(&mut self) {
        self.tasks.abort();
    }
}

enum Kind {
    Http(Option<TlsAcceptor>),
    Socks,
}

async fn bind() -> (TcpListener, SocketAddr) {
    let listener = match TcpListener::bind(("127.0.0.1", 0)).await {
        Ok(l) => l,
        Err(err) => panic!("TestProxy: binding 127.0.0.1:0: {err}"),
    };
    match listener.local_addr() {
        Ok(addr) => (listener, addr),
        Err(err) => panic!("TestProxy: local_addr: {err}"),
    }
}

fn spawn_loop(shared: &Arc<Shared>, listener: TcpListener, kind: Kind) {
    let shared_loop = Arc::clone(shared);
    shared.tasks.spawn(async move {
        loop {
            let Ok((stream, _)) = listener.accept().await else {
                continue;
            };
            shared_loop.accepted.fetch_add(1, Ordering::Relaxed);
            let shared = Arc::clone(&shared_loop);
            match &kind {
                Kind::Socks => shared_loop
                    .tasks
                    .spawn(async move { socks::serve(stream, shared).await }),
                Kind::Http(None) => shared_loop
                    .tasks
                    .spawn(async move { serve_http(stream, Listener::Http, shared).await }),
                Kind::Http(Some(acceptor)) => {
                    let acceptor = acceptor.clone();
                    shared_loop.tasks.spawn(async move {
                        if let Ok(tls) = acceptor.accept(stream).await {
                            serve_http(tls, Listener::Https, shared).await;
                        }
                    });
                }
            }
        }
    });
}

/// Serves one client connection of the HTTP (or HTTPS) listener.
async fn serve_http<S>(mut stream: S, listener: Listener, shared: Arc<Shared>)
where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    if let Some(rule) = shared.connection_rule() {
        misbehave(&mut stream, rule, listener, &shared).await;
        return;
    }
    let service_shared = Arc::clone(&shared);
    let service = service_fn(move |req: Request<Incoming>| {
        let shared = Arc::clone(&service_shared);
        async move { Ok::<_, Infallible>(handle(req, listener, shared).await) }
    });
    let _ = hyper::server::conn::http1::Builder::new()
        .serve_connection(TokioIo::new(stream), service)
        .with_upgrades()
        .await;
}

/// Carries out a connection-level [`Policy`].
pub(crate) async fn misbehave<S>(stream: &mut S, rule: &Policy, listener: Listener, shared: &Shared)
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    if *rule == Policy::CloseAfterAccept {
        return;
    }
    let head = read_head(stream).await;
    if listener != Listener::Socks5 {
        let (method, target) = parse_request_line(&head);
        shared.record(ProxyRequest {
            listener,
            method,
            target,
            headers: HeaderMap::new(),
            has_proxy_authorization: contains_proxy_authorization(&head),
            handled: Handled::Misbehaved,
        });
    }
    match rule {
        Policy::Garbage => {
            let _ = stream
                .write_all(b"\x00\x7f\xffGARBAGE this is not a protocol reply \x01\x02\r\n\r\n")
                .await;
            let _ = stream.shutdown().await;
        }
        Policy::OversizedHeaders => {
            let mut reply = String::from("HTTP/1.1 200 OK\r\nServer: squid/6.10\r\n");
            let filler = "a".repeat(1000);
            let mut n = 0;
            while reply.len() < OVERSIZED_HEADER_BYTES {
                reply.push_str(&format!("X-Filler-{n}: {filler}\r\n"));
                n += 1;
            }
            reply.push_str("Content-Length: 0\r\n\r\n");
            let _ = stream.write_all(reply.as_bytes()).await;
            let _ = stream.shutdown().await;
        }
        _ => {
            // Stall: keep the connection open and silent until the client gives up.
            let mut sink = [0u8; 1024];
            while let Ok(n) = stream.read(&mut sink).await {
                if n == 0 {
                    break;
                }
            }
        }
    }
}

/// Reads up to the end of an HTTP head (or 16 KiB, or EOF, or the first bytes of a non-HTTP
/// greeting such as SOCKS).
async fn read_head<S: AsyncRead + Unpin>(stream: &mut S) -> Vec<u8> {
    let mut head = Vec::new();
    let mut buf = [0u8; 1024];
    while head.len() < 16 * 1024 {
        match stream.read(&mut buf).await {
            Ok(0) | Err(_) => break,
            Ok(n) => head.extend_from_slice(&buf[..n]),
        }
        let is_http = head.first().is_some_and(u8::is_ascii_uppercase);
        if !is_http || head.windows(4).any(|w| w == b"\r\n\r\n") {
            break;
        }
    }
    head
}

fn parse_request_line(head: &[u8]) -> (String, String) {
    let text = String::from_utf8_lossy(head);
    let first = text.lines().next().unwrap_or("");
    let mut parts = first.split(' ');
    (
        parts.next().unwrap_or("").to_owned(),
        parts.next().unwrap_or("").to_owned(),
    )
}

fn contains_proxy_authorization(head: &[u8]) -> bool {
    String::from_utf8_lossy(head)
        .lines()
        .any(|l| l.to_ascii_lowercase().starts_with("proxy-authorization:"))
}

type ProxyBody = BoxBody<Bytes, hyper::Error>;

fn generated(reply: &GeneratedReply) -> Response<ProxyBody> {
    let mut resp = Response::new(
        Full::new(Bytes::from(reply.body.clone()))
            .map_err(|never| match never {})
            .boxed(),
    );
    *resp.status_mut() = StatusCode::from_u16(reply.status).unwrap_or(StatusCode::BAD_GATEWAY);
    for (name, value) in &reply.headers {
        if let Ok(value) = HeaderValue::from_str(value) {
            resp.headers_mut().append(*name, value);
        }
    }
    resp
}

fn empty(status: StatusCode) -> Response<ProxyBody> {
    let mut resp = Response::new(
        Full::new(Bytes::new())
            .map_err(|never| match never {})
            .boxed(),
    );
    *resp.status_mut() = status;
    resp
}

/// Handles one request on the HTTP(S) listener.
async fn handle(
    req: Request<Incoming>,
    listener: Listener,
    shared: Arc<Shared>,
) -> Response<ProxyBody> {
    let mut headers = req.headers().clone();
    mark_sensitive(&mut headers);
    let is_connect = req.method() == Method::CONNECT;
    let target = req.uri().to_string();
    let mut record = ProxyRequest {
        listener,
        method: req.method().as_str().to_owned(),
        target: target.clone(),
        has_proxy_authorization: headers.contains_key(header::PROXY_AUTHORIZATION),
        headers,
        handled: Handled::Misbehaved,
    };
    let host_port = req.uri().authority().map(|a| {
        let default = if req.uri().scheme_str() == Some("https") {
            443
        } else {
            80
        };
        (a.host().to_owned(), a.port_u16().unwrap_or(default))
    });
    let valid = match (&host_port, is_connect) {
        (Some(_), true) => req.uri().port_u16().is_some(),
        (Some(_), false) => req.uri().scheme_str() == Some("http"),
        (None, _) => false,
    };
    let Some((host, port)) = host_port.filter(|_| valid) else {
        let reply = squid_page(400, "Bad Request", "ERR_INVALID_URL 0", &target);
        record.handled = Handled::Refused(400);
        shared.record(record);
        return generated(&reply);
    };
    let auth = req
        .headers()
        .get(header::PROXY_AUTHORIZATION)
        .map(|v| v.as_bytes().to_vec());
    let decision = decide(&shared.rules, &host, port, auth.as_deref(), false);
    match decision {
        Decision::Refuse { reply, .. } => {
            record.handled = Handled::Refused(reply.status);
            shared.record(record);
            generated(&reply)
        }
        Decision::OkThenClose if is_connect => {
            record.handled = Handled::OkThenClosed;
            shared.record(record);
            shared.tasks.spawn(async move {
                // Taking and dropping the upgraded stream closes the connection.
                drop(hyper::upgrade::on(req).await);
            });
            empty(StatusCode::OK)
        }
        Decision::Intercept if is_connect && shared.intercept.is_none() => {
            let reply = squid_page(500, "Internal Server Error", "ERR_GATEWAY_FAILURE 0", &host);
            record.handled = Handled::Refused(500);
            shared.record(record);
            generated(&reply)
        }
        decision => {
            let upstream = match upstream::connect(&shared.resolve, &host, port).await {
                Ok(s) => s,
                Err(err) => {
                    let reply = err.squid_reply(&host);
                    record.handled = Handled::Refused(reply.status);
                    shared.record(record);
                    return generated(&reply);
                }
            };
            if is_connect {
                let intercept = matches!(decision, Decision::Intercept);
                record.handled = if intercept {
                    Handled::Intercepted
                } else {
                    Handled::Tunnelled
                };
                shared.record(record);
                let tunnel_shared = Arc::clone(&shared);
                shared.tasks.spawn(async move {
                    if let Ok(upgraded) = hyper::upgrade::on(req).await {
                        let client = TokioIo::new(upgraded);
                        if intercept {
                            intercept_tunnel(client, upstream, &host, &tunnel_shared).await;
                        } else {
                            splice(client, upstream).await;
                        }
                    }
                });
                empty(StatusCode::OK)
            } else {
                relay(req, upstream, record, &shared).await
            }
        }
    }
}

/// Copies bytes both ways until either side closes.
pub(crate) async fn splice<A, B>(mut a: A, mut b: B)
where
    A: AsyncRead + AsyncWrite + Unpin,
    B: AsyncRead + AsyncWrite + Unpin,
{
    let _ = tokio::io::copy_bidirectional(&mut a, &mut b).await;
}

/// Terminates the client's TLS with a leaf for `host` from the interception CA and re-originates
/// TLS to the destination.
async fn intercept_tunnel<C>(client: C, upstream: TcpStream, host: &str, shared: &Shared)
where
    C: AsyncRead + AsyncWrite + Unpin,
{
    let Some(intercept) = &shared.intercept else {
        return;
    };
    let bare = host.trim_start_matches('[').trim_end_matches(']');
    let Ok((chain, key)) = intercept.ca.issue_in_memory(&[bare]) else {
        return;
    };
    let Ok(config) = server_config_alpn(chain, key, &[b"http/1.1"]) else {
        return;
    };
    let Ok(client_tls) = TlsAcceptor::from(config).accept(client).await else {
        return;
    };
    let Ok(name) = rustls_pki_types::ServerName::try_from(bare.to_owned()) else {
        return;
    };
    let connector = TlsConnector::from(Arc::clone(&intercept.origin_trust));
    let Ok(origin_tls) = connector.connect(name, upstream).await else {
        return;
    };
    splice(client_tls, origin_tls).await;
}

/// Forwards an absolute-form request to the destination and relays its response, adding `Via`.
async fn relay(
    req: Request<Incoming>,
    upstream: TcpStream,
    mut record: ProxyRequest,
    shared: &Shared,
) -> Response<ProxyBody> {
    let (mut parts, body) = req.into_parts();
    let host = parts.uri.host().unwrap_or("").to_owned();
    parts.uri = match parts.uri.path_and_query() {
        Some(pq) => pq
            .as_str()
            .parse()
            .unwrap_or_else(|_| http::Uri::from_static("/")),
        None => http::Uri::from_static("/"),
    };
    parts.headers.remove(header::PROXY_AUTHORIZATION);
    parts.headers.remove("proxy-connection");
    parts
        .headers
        .append(header::VIA, HeaderValue::from_static(VIA));
    let upstream_req = Request::from_parts(parts, body);
    let failed = |record: &mut ProxyRequest| {
        let reply = squid_page(502, "Bad Gateway", "ERR_READ_ERROR 104", &host);
        record.handled = Handled::Refused(502);
        generated(&reply)
    };
    let Ok((mut sender, conn)) =
        hyper::client::conn::http1::handshake(TokioIo::new(upstream)).await
    else {
        let resp = failed(&mut record);
        shared.record(record);
        return resp;
    };
    shared.tasks.spawn(async move {
        let _ = conn.await;
    });
    match sender.send_request(upstream_req).await {
        Ok(resp) => {
            let (mut parts, body) = resp.into_parts();
            parts
                .headers
                .append(header::VIA, HeaderValue::from_static(VIA));
            record.handled = Handled::Relayed(parts.status.as_u16());
            shared.record(record);
            Response::from_parts(parts, body.boxed())
        }
        Err(_) => {
            let resp = failed(&mut record);
            shared.record(record);
            resp
        }
    }
}
