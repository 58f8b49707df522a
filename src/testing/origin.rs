//! [`TestOrigin`]: an HTTP or HTTPS server on `127.0.0.1:0` that answers a few fixed routes and
//! records every request exactly as it arrived (method, origin-form or absolute-form target,
//! headers, HTTP version, TLS), so a test can tell whether a request came through a proxy.
//!
//! Routes: `/` (200 `ok`), `/status/{code}`, `/echo` (JSON of the request as seen), `/echo-raw`
//! (the same, credentials as received),
//! `/slow?ms=N` (answers after N ms), `/forbidden` (403 with the origin's own body and
//! `Server: proxyscope-test-origin`), `/bytes/{n}` (n bytes of `x`), redirects
//! (`/redirect?to=URL&status=N`, `/loop/{a,b}`, `/huge-location?len=N`), and hostile bodies,
//! generated as they are sent: `/stream/{n}` (any size), `/endless`, `/stall?after=N`,
//! `/dribble?ms=N`, `/cut?len=N`, `/bad-json`; anything else is 404. A test can set its own
//! reply for a path ([`TestOrigin::answer`]). Request bodies are read whole (whatever their size)
//! and recorded up to [`MAX_RECORDED_BODY`] bytes; accepted connections are counted.

use super::recorded::Recorded;
use std::collections::HashMap;
use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, PoisonError, RwLock};
use std::time::Duration;

use bytes::Bytes;
use http::{HeaderMap, HeaderValue, Method, Request, Response, StatusCode, Version, header};
use http_body_util::BodyExt as _;
use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use hyper_util::server::conn::auto;
use rustls::ServerConfig;
use tokio::net::TcpListener;
use tokio_rustls::TlsAcceptor;

use super::body::{Generated, OriginBody, Paced};
use super::client_auth::{ClientAuthRecord, ClientAuthSpec, Records};
use super::pki::{ChainMode, TestCert, TestPki};
use super::policy::CannedReply;
use super::tasks::{Exec, Tasks};

/// The replies set with [`TestOrigin::answer`], by path.
type Answers = Arc<RwLock<HashMap<String, CannedReply>>>;

/// The `Server` header every origin response carries.
pub const ORIGIN_SERVER: &str = "proxyscope-test-origin";
/// The body of the origin's `/` reply (200).
pub const ORIGIN_OK_BODY: &str = "ok\n";
/// The body of the origin's own `/forbidden` reply.
pub const ORIGIN_FORBIDDEN_BODY: &str =
    "origin forbidden: this 403 was written by the test origin\n";
/// The largest body `/bytes/{n}` serves.
pub const MAX_BYTES_ROUTE: usize = 64 * 1024 * 1024;
/// The most bytes of a request body [`OriginRequest::body`] keeps (the length counts them all).
pub const MAX_RECORDED_BODY: usize = 64 * 1024;

/// How the request target was written on the request line (RFC 9112 §3.2).
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TargetForm {
    /// `/path?query` — what a client sends directly or inside a CONNECT tunnel.
    Origin,
    /// `http://host/path` — what a client sends to a forward proxy for plain http.
    Absolute,
    /// `host:port` — CONNECT.
    Authority,
    /// `*` — server-wide OPTIONS.
    Asterisk,
}

impl TargetForm {
    /// Classifies a request URI.
    pub fn of(uri: &http::Uri) -> TargetForm {
        if uri.scheme().is_some() {
            TargetForm::Absolute
        } else if uri.authority().is_some()
            && uri.path_and_query().is_none_or(|p| p.as_str().is_empty())
        {
            TargetForm::Authority
        } else if uri.path() == "*" {
            TargetForm::Asterisk
        } else {
            TargetForm::Origin
        }
    }

    /// `"origin"`, `"absolute"`, `"authority"` or `"asterisk"`.
    pub fn as_str(self) -> &'static str {
        match self {
            TargetForm::Origin => "origin",
            TargetForm::Absolute => "absolute",
            TargetForm::Authority => "authority",
            TargetForm::Asterisk => "asterisk",
        }
    }
}

/// One request as the origin saw it.
///
/// Credential values (`Authorization`, `Proxy-Authorization`, `Cookie`, and every name holding
/// a credential word, such as `X-Api-Key`) are marked sensitive, so `Debug` prints `Sensitive`
/// instead of them.
#[non_exhaustive]
#[derive(Debug, Clone)]
pub struct OriginRequest {
    /// The method.
    pub method: Method,
    /// The target exactly as on the request line (for HTTP/2, the `:path` or full URI).
    pub target: String,
    /// How the target was written.
    pub form: TargetForm,
    /// HTTP version (HTTP/2 when negotiated by ALPN).
    pub version: Version,
    /// Headers as received.
    pub headers: HeaderMap,
    /// Whether the request arrived over TLS.
    pub tls: bool,
    /// The first [`MAX_RECORDED_BODY`] bytes of the request body.
    pub body: Bytes,
    /// How many body bytes arrived in all.
    pub body_len: u64,
    /// Whether the body arrived whole: `false` when the client's stream broke off midway.
    pub body_complete: bool,
}

/// An HTTP(S) origin on `127.0.0.1:0` that records every request exactly as it arrived.
///
/// Routes: `/` (200 [`ORIGIN_OK_BODY`]), `/status/{code}`, `/echo` (JSON with `method`, `target`, `form`
/// (`origin`/`absolute`/…), `version`, `tls`, `headers` (credentials redacted), `body_len` and
/// `body` (lossy text)), `/echo-raw` (the same with credentials as received, like httpbin's
/// `/headers`), `/slow?ms=N` (answers after N ms), `/forbidden` (403 with
/// [`ORIGIN_FORBIDDEN_BODY`] and `Server: proxyscope-test-origin`), `/bytes/{n}` (n bytes of
/// `x`, at most [`MAX_BYTES_ROUTE`]); anything else is 404.
///
/// Redirects: `/redirect?to=URL&status=N` (N defaults to 302; `URL` percent-encoded, relative or
/// absolute), `/loop/a` ⇄ `/loop/b` (302 to each other), `/huge-location?len=N` (302 whose
/// `Location` is N bytes long).
///
/// Hostile bodies, generated as they are sent (nothing is held in memory):
/// - `/stream/{n}`: n bytes of `x` (any `u64`) with `Content-Length`; `?chunked` leaves the
///   length unannounced; `?tail=WORD` appends `WORD` (announced in the length);
/// - `/endless`: `x` forever, length unannounced;
/// - `/stall?after=N`: N bytes of `x` (default 0), then nothing, with the connection open and
///   one byte more announced than sent;
/// - `/dribble?ms=N`: one byte every N ms, forever;
/// - `/cut?len=N`: announces N bytes, sends half, then cuts the connection;
/// - `/bad-json`: 200 `application/json` that does not parse.
///
/// Every response of these routes carries `Server:` [`ORIGIN_SERVER`]. [`TestOrigin::answer`]
/// sets a reply of your own for a path (any status, headers and body, e.g. an origin's own 403
/// with `Server: nginx`); it takes precedence over the routes above.
///
/// HTTPS origins negotiate HTTP/2 or HTTP/1.1 by ALPN; plain ones accept HTTP/1.1 and HTTP/2
/// prior knowledge. [`TestOrigin::accepted`] counts the TCP connections, so a test can tell
/// whether a client reused one.
///
/// Dropping it aborts its tasks and closes the listener; [`TestOrigin::shutdown`] does the same
/// and waits until the socket is closed. A panic in a server task is re-raised by
/// [`TestOrigin::check`], `shutdown`, or on drop.
pub struct TestOrigin {
    answers: Answers,
    accepted: Arc<AtomicUsize>,
    addr: SocketAddr,
    tls: bool,
    requests: Arc<Recorded<OriginRequest>>,
    client_auth: Records,
    tasks: Tasks,
}

impl std::fmt::Debug for TestOrigin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TestOrigin")
            .field("addr", &self.addr)
            .field("tls", &self.tls)
            .finish_non_exhaustive()
    }
}

impl TestOrigin {
    /// A plain-HTTP origin (HTTP/1.1 and HTTP/2 prior knowledge).
    ///
    /// # Panics
    /// If no loopback port can be bound, or outside a Tokio runtime.
    pub async fn http() -> TestOrigin {
        TestOrigin::start(None).await
    }

    /// An HTTPS origin presenting `leaf` as `chain` says (ALPN h2 and http/1.1).
    ///
    /// # Panics
    /// As [`TestOrigin::http`].
    pub async fn https(pki: &TestPki, leaf: &TestCert, chain: ChainMode) -> TestOrigin {
        TestOrigin::start(Some(pki.server_config(leaf, chain))).await
    }

    /// An HTTPS origin that asks clients for a certificate as `spec` says and records what each
    /// handshake presented ([`TestOrigin::client_auth`]).
    ///
    /// # Panics
    /// As [`TestOrigin::http`].
    pub async fn https_with_client_auth(
        pki: &TestPki,
        leaf: &TestCert,
        chain: ChainMode,
        spec: &ClientAuthSpec,
    ) -> TestOrigin {
        TestOrigin::start(Some(pki.server_config_with_client_auth(leaf, chain, spec))).await
    }

    /// An HTTPS origin with a TLS configuration of your own.
    ///
    /// # Panics
    /// As [`TestOrigin::http`].
    pub async fn with_tls_config(config: Arc<ServerConfig>) -> TestOrigin {
        TestOrigin::start(Some(config)).await
    }

    async fn start(tls: Option<Arc<ServerConfig>>) -> TestOrigin {
        let answers = Answers::default();
        let accepted = Arc::new(AtomicUsize::new(0));
        let (loop_answers, loop_accepted) = (Arc::clone(&answers), Arc::clone(&accepted));
        let listener = match TcpListener::bind(("127.0.0.1", 0)).await {
            Ok(l) => l,
            Err(err) => panic!("TestOrigin: binding 127.0.0.1:0: {err}"),
        };
        let addr = match listener.local_addr() {
            Ok(a) => a,
            Err(err) => panic!("TestOrigin: local_addr: {err}"),
        };
        let tasks = Tasks::default();
        let requests = Arc::new(Recorded::default());
        let client_auth = Records::default();
        let is_tls = tls.is_some();
        let acceptor = tls.map(TlsAcceptor::from);
        let loop_tasks = tasks.clone();
        let loop_requests = Arc::clone(&requests);
        let loop_records = client_auth.clone();
        tasks.spawn(async move {
            loop {
                let Ok((stream, _)) = listener.accept().await else {
                    // Out of descriptors or similar: back off instead of spinning.
                    tokio::time::sleep(std::time::Duration::from_millis(10)).await;
                    continue;
                };
                loop_accepted.fetch_add(1, Ordering::Relaxed);
                let answers = Arc::clone(&loop_answers);
                let tasks = loop_tasks.clone();
                let requests = Arc::clone(&loop_requests);
                let acceptor = acceptor.clone();
                let records = loop_records.clone();
                loop_tasks.spawn(async move {
                    match acceptor {
                        None => serve(stream, false, requests, answers, tasks).await,
                        Some(acceptor) => {
                            // A failed handshake is the client's business (tests provoke it).
                            if let Ok(tls) = records.accept(acceptor.accept(stream)).await {
                                serve(tls, true, requests, answers, tasks).await;
                            }
                        }
                    }
                });
            }
        });
        TestOrigin {
            answers,
            accepted,
            addr,
            tls: is_tls,
            requests,
            client_auth,
            tasks,
        }
    }

    /// The listening address (always 127.0.0.1).
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The listening port.
    pub fn port(&self) -> u16 {
        self.addr.port()
    }

    /// Whether this origin speaks TLS.
    pub fn is_tls(&self) -> bool {
        self.tls
    }

    /// `http(s)://127.0.0.1:{port}{path}`.
    pub fn url(&self, path: &str) -> String {
        self.url_with_host("127.0.0.1", path)
    }

    /// `http(s)://{host}:{port}{path}`, e.g. with `localhost` or a name the proxy pins.
    pub fn url_with_host(&self, host: &str, path: &str) -> String {
        let scheme = if self.tls { "https" } else { "http" };
        format!("{scheme}://{host}:{}{path}", self.addr.port())
    }

    /// Answers every later request for `path` (the path alone, query ignored) with `reply`,
    /// exactly as given (no `Server` header unless it has one), instead of the built-in route.
    /// Requests are recorded as always. Setting a path again replaces its reply.
    ///
    /// ```
    /// use proxyscope::testing::{CannedReply, TestOrigin};
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() {
    /// let origin = TestOrigin::http().await;
    /// // An origin's own refusal, to tell apart from a proxy's.
    /// origin.answer(
    ///     "/translate",
    ///     CannedReply::new(403).header("Server", "nginx/1.25").body("no"),
    /// );
    /// // Request `origin.url("/translate")` through the client under test, then:
    /// assert!(origin.requests().is_empty());
    /// assert_eq!(origin.accepted(), 0);
    /// # }
    /// ```
    pub fn answer(&self, path: &str, reply: CannedReply) {
        self.answers
            .write()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(path.to_owned(), reply);
    }

    /// How many TCP connections the origin accepted so far (including ones whose TLS
    /// handshake failed): one for many requests means the client reused its connection.
    pub fn accepted(&self) -> usize {
        self.accepted.load(Ordering::Relaxed)
    }

    /// The requests received so far, in arrival order: every one, or the most recent
    /// [`RECORDED_MAX`](super::RECORDED_MAX) after more (see [`TestOrigin::request_count`]).
    pub fn requests(&self) -> Vec<OriginRequest> {
        self.requests.all()
    }

    /// How many requests the origin received in all, including those
    /// [`requests`](TestOrigin::requests) no longer keeps.
    pub fn request_count(&self) -> u64 {
        self.requests.seen()
    }

    /// Whether the origin keeps the requests it receives (on from the start) for
    /// [`requests`](TestOrigin::requests); [`request_count`](TestOrigin::request_count) counts
    /// them either way, and `/echo` still answers with what it saw. A benchmark or load test
    /// turns it off, so the origin does no more per request than answer: a kept request is a
    /// copy of its headers, which holds on to the connection's read buffer while it is kept.
    pub fn set_recording(&self, on: bool) {
        self.requests.set_keeping(on);
    }

    /// Every TLS handshake so far, in order: the client certificate presented (if any) and
    /// whether the handshake completed. Only a server that asks for client certificates
    /// ([`TestOrigin::https_with_client_auth`]) sees any.
    pub fn client_auth(&self) -> Vec<ClientAuthRecord> {
        self.client_auth.all()
    }

    /// Re-raises a panic from a server task, if one happened.
    pub fn check(&self) {
        self.tasks.check();
    }

    /// Stops the server and waits until its listener and connections are closed.
    pub async fn shutdown(self) {
        self.tasks.shutdown().await;
    }
}

impl Drop for TestOrigin {
    fn drop(&mut self) {
        self.tasks.abort();
    }
}

async fn serve<S>(
    stream: S,
    tls: bool,
    requests: Arc<Recorded<OriginRequest>>,
    answers: Answers,
    tasks: Tasks,
) where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
{
    let service = service_fn(move |req: Request<Incoming>| {
        let requests = Arc::clone(&requests);
        let answers = Arc::clone(&answers);
        async move {
            let head = req.method() == Method::HEAD;
            let mut res = handle(req, tls, &requests, &answers).await;
            if head {
                without_body(&mut res);
            }
            Ok::<_, Infallible>(res)
        }
    });
    let _ = auto::Builder::new(Exec(tasks))
        .serve_connection(TokioIo::new(stream), service)
        .await;
}

/// A `HEAD` answer: the head a `GET` would get (its `Content-Length` too), without the body.
/// hyper's HTTP/1.1 server leaves the body out itself; its HTTP/2 server sends it, which a
/// client must refuse as malformed (RFC 9113 §8.1.1).
fn without_body(res: &mut Response<OriginBody>) {
    use hyper::body::Body as _;
    if let Some(n) = res.body().size_hint().exact()
        && !res.headers().contains_key(header::CONTENT_LENGTH)
    {
        res.headers_mut()
            .insert(header::CONTENT_LENGTH, HeaderValue::from(n));
    }
    *res.body_mut() = OriginBody::from(Bytes::new());
}

/// Reads a request body whole, keeping its first [`MAX_RECORDED_BODY`] bytes: the length,
/// the prefix, and whether it ended cleanly.
async fn read_body(mut body: Incoming) -> (Bytes, u64, bool) {
    let mut kept = bytes::BytesMut::new();
    let mut len = 0u64;
    loop {
        match body.frame().await {
            None => return (kept.freeze(), len, true),
            Some(Err(_)) => return (kept.freeze(), len, false),
            Some(Ok(frame)) => {
                if let Some(data) = frame.data_ref() {
                    len += data.len() as u64;
                    let room = MAX_RECORDED_BODY.saturating_sub(kept.len());
                    kept.extend_from_slice(&data[..data.len().min(room)]);
                }
            }
        }
    }
}

/// What the origin records of a request.
fn seen_request(
    req: &Request<()>,
    tls: bool,
    body: Bytes,
    body_len: u64,
    body_complete: bool,
) -> OriginRequest {
    let mut headers = req.headers().clone();
    mark_sensitive(&mut headers);
    OriginRequest {
        method: req.method().clone(),
        // HTTP/2 carries the target in pseudo-headers; hyper rebuilds a full URI from them.
        target: if req.version() == Version::HTTP_2 {
            req.uri()
                .path_and_query()
                .map_or("/", |p| p.as_str())
                .to_owned()
        } else {
            req.uri().to_string()
        },
        form: if req.version() == Version::HTTP_2 {
            TargetForm::Origin
        } else {
            TargetForm::of(req.uri())
        },
        version: req.version(),
        headers,
        tls,
        body,
        body_len,
        body_complete,
    }
}

async fn handle(
    req: Request<Incoming>,
    tls: bool,
    requests: &Recorded<OriginRequest>,
    answers: &RwLock<HashMap<String, CannedReply>>,
) -> Response<OriginBody> {
    let (parts, body) = req.into_parts();
    let (body, body_len, body_complete) = read_body(body).await;
    let req = Request::from_parts(parts, ());
    let path = req.uri().path().to_owned();
    let echo = path == "/echo" || path == "/echo-raw";
    // Made once, only when kept or echoed (an origin that keeps nothing, a benchmark's, does no
    // more per request than answer it), and copied only when it is both.
    let seen = echo.then(|| seen_request(&req, tls, body.clone(), body_len, body_complete));
    match (&seen, requests.keeping()) {
        (Some(seen), true) => requests.push(seen.clone()),
        (None, true) => requests.push(seen_request(&req, tls, body, body_len, body_complete)),
        (_, false) => requests.count(),
    }
    let query = req.uri().query().unwrap_or("").to_owned();
    if !body_complete {
        return reply(
            StatusCode::BAD_REQUEST,
            "text/plain",
            Bytes::from_static(b"the request body broke off\n"),
        );
    }
    if let Some(answer) = answers
        .read()
        .unwrap_or_else(PoisonError::into_inner)
        .get(&path)
    {
        return answer.response(OriginBody::from);
    }
    if let Some(res) = hostile(&path, &query) {
        return res;
    }
    if path == "/" {
        return reply(
            StatusCode::OK,
            "text/plain",
            Bytes::from_static(ORIGIN_OK_BODY.as_bytes()),
        );
    }
    if path == "/echo" || path == "/echo-raw" {
        return reply(
            StatusCode::OK,
            "application/json",
            Bytes::from(
                seen.as_ref()
                    .map_or_else(String::new, |seen| echo_json(seen, path == "/echo")),
            ),
        );
    }
    if path == "/forbidden" {
        return reply(
            StatusCode::FORBIDDEN,
            "text/plain",
            Bytes::from_static(ORIGIN_FORBIDDEN_BODY.as_bytes()),
        );
    }
    if path == "/slow" {
        let ms = query
            .split('&')
            .find_map(|kv| kv.strip_prefix("ms="))
            .and_then(|v| v.parse::<u64>().ok())
            .unwrap_or(1000);
        tokio::time::sleep(Duration::from_millis(ms)).await;
        return reply(
            StatusCode::OK,
            "text/plain",
            Bytes::from_static(b"slow ok\n"),
        );
    }
    if let Some(code) = path.strip_prefix("/status/") {
        return match code
            .parse::<u16>()
            .ok()
            .and_then(|c| StatusCode::from_u16(c).ok())
        {
            Some(status) => reply(
                status,
                "text/plain",
                Bytes::from(format!("status {code}\n")),
            ),
            None => reply(
                StatusCode::BAD_REQUEST,
                "text/plain",
                Bytes::from_static(b"bad status\n"),
            ),
        };
    }
    if let Some(n) = path.strip_prefix("/bytes/") {
        return match n.parse::<usize>() {
            Ok(n) if n <= MAX_BYTES_ROUTE => reply(
                StatusCode::OK,
                "application/octet-stream",
                Bytes::from(vec![b'x'; n]),
            ),
            _ => reply(
                StatusCode::BAD_REQUEST,
                "text/plain",
                Bytes::from_static(b"bad size\n"),
            ),
        };
    }
    if let Some(body) = generated(&path, &query) {
        return reply(StatusCode::OK, "application/octet-stream", body);
    }
    reply(
        StatusCode::NOT_FOUND,
        "text/plain",
        Bytes::from_static(b"not found\n"),
    )
}

/// The redirect and hostile-body routes.
fn hostile(path: &str, query: &str) -> Option<Response<OriginBody>> {
    let param = |name: &str| {
        url::form_urlencoded::parse(query.as_bytes())
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.into_owned())
    };
    let number = |name: &str, default: u64| {
        param(name)
            .and_then(|v| v.parse::<u64>().ok())
            .unwrap_or(default)
    };
    let redirect = |status: u16, location: &[u8]| {
        let mut res = reply(
            StatusCode::from_u16(status).unwrap_or(StatusCode::FOUND),
            "text/plain",
            Bytes::from_static(b"moved\n"),
        );
        if let Ok(v) = HeaderValue::from_bytes(location) {
            res.headers_mut().insert(header::LOCATION, v);
        }
        res
    };
    Some(match path {
        "/redirect" => {
            let status = u16::try_from(number("status", 302)).unwrap_or(302);
            redirect(status, param("to").unwrap_or_default().as_bytes())
        }
        "/loop/a" => redirect(302, b"/loop/b"),
        "/loop/b" => redirect(302, b"/loop/a"),
        "/huge-location" => {
            let len = usize::try_from(number("len", 1 << 20)).unwrap_or(1 << 20);
            let mut loc = vec![b'a'; len.clamp(1, 1 << 20)];
            loc[0] = b'/';
            redirect(302, &loc)
        }
        "/dribble" => streaming(Paced::new(
            Bytes::from_static(b"x"),
            Some(Duration::from_millis(number("ms", 100))),
        )),
        "/bad-json" => reply(
            StatusCode::OK,
            "application/json",
            Bytes::from_static(b"{\"token\": \"s3cret-in-body\", \"n\": tru"),
        ),
        "/cut" => {
            // Content-Length promises more than is sent; dropping the body ends the connection.
            let len = number("len", 1024);
            let mut res = streaming(Paced::new(Bytes::from(vec![b'x'; 512]), None).limit(len / 2));
            if let Ok(v) = HeaderValue::from_str(&len.to_string()) {
                res.headers_mut().insert(header::CONTENT_LENGTH, v);
            }
            res
        }
        _ => return None,
    })
}

fn streaming(body: Paced) -> Response<OriginBody> {
    reply(
        StatusCode::OK,
        "application/octet-stream",
        OriginBody::Paced(body),
    )
}

/// The hostile-body routes: `/stream/{n}[?chunked][&tail=WORD]`, `/endless`, `/stall?after=N`.
fn generated(path: &str, query: &str) -> Option<OriginBody> {
    let param = |name: &str| {
        query.split('&').find_map(|kv| match kv.split_once('=') {
            Some((k, v)) if k == name => Some(v),
            None if kv == name => Some(""),
            _ => None,
        })
    };
    let g = if let Some(n) = path.strip_prefix("/stream/") {
        let tail = param("tail").map(|t| Bytes::from(t.to_owned()));
        Generated::sized(n.parse().ok()?, tail, param("chunked").is_none())
    } else if path == "/endless" {
        Generated::endless()
    } else if path == "/stall" {
        Generated::stalling(param("after").and_then(|n| n.parse().ok()).unwrap_or(0))
    } else {
        return None;
    };
    Some(OriginBody::Generated(g))
}

fn reply(
    status: StatusCode,
    content_type: &'static str,
    body: impl Into<OriginBody>,
) -> Response<OriginBody> {
    let mut resp = Response::new(body.into());
    *resp.status_mut() = status;
    resp.headers_mut()
        .insert(header::SERVER, HeaderValue::from_static(ORIGIN_SERVER));
    resp.headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    resp
}

/// Marks credential-bearing headers sensitive so `Debug` (and `/echo`) hides them: a name
/// holding any of [`CREDENTIAL_WORDS`] (`Authorization`, `Proxy-Authorization`, `Cookie`,
/// `X-Api-Key`, `X-Auth-Token`, …).
///
/// The harness keeps its own rule rather than the client's (`proxy::redact`): it is the
/// independent peer that tests check the client against, so it shares none of its code.
pub(crate) fn mark_sensitive(headers: &mut HeaderMap) {
    for (name, value) in headers.iter_mut() {
        let name = name.as_str();
        if CREDENTIAL_WORDS.iter().any(|w| name.contains(w)) {
            value.set_sensitive(true);
        }
    }
}

/// Words that make a request header a credential for the harness (header names arrive
/// lower-cased).
const CREDENTIAL_WORDS: &[&str] = &[
    "auth",
    "bearer",
    "cookie",
    "credential",
    "jwt",
    "key",
    "passw",
    "pwd",
    "secret",
    "session",
    "token",
];

fn echo_json(seen: &OriginRequest, redact: bool) -> String {
    let mut headers = serde_json::Map::new();
    for (name, value) in &seen.headers {
        let shown = if redact && value.is_sensitive() {
            "[redacted]".to_owned()
        } else {
            String::from_utf8_lossy(value.as_bytes()).into_owned()
        };
        let slot = headers
            .entry(name.as_str().to_owned())
            .or_insert_with(|| serde_json::Value::Array(Vec::new()));
        if let serde_json::Value::Array(values) = slot {
            values.push(serde_json::Value::String(shown));
        }
    }
    serde_json::json!({
        "method": seen.method.as_str(),
        "target": seen.target,
        "form": seen.form.as_str(),
        "version": format!("{:?}", seen.version),
        "tls": seen.tls,
        "headers": headers,
        "body_len": seen.body_len,
        "body": String::from_utf8_lossy(&seen.body),
    })
    .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn target_forms_are_classified() {
        let cases = [
            ("/a?b", TargetForm::Origin),
            ("http://h/a", TargetForm::Absolute),
            ("h:443", TargetForm::Authority),
            ("*", TargetForm::Asterisk),
        ];
        for (uri, form) in cases {
            let uri: http::Uri = uri.parse().expect("uri");
            assert_eq!(TargetForm::of(&uri), form, "{uri}");
        }
    }

    #[tokio::test]
    async fn a_server_side_panic_is_raised_when_the_handle_drops() {
        let origin = TestOrigin::http().await;
        origin.tasks.spawn(async { panic!("handler exploded") });
        tokio::time::sleep(Duration::from_millis(20)).await;
        let caught = std::panic::catch_unwind(std::panic::AssertUnwindSafe(move || drop(origin)));
        let payload = caught.expect_err("dropping the handle re-raises the panic");
        assert_eq!(payload.downcast_ref::<&str>(), Some(&"handler exploded"));
    }
}
