//! Which connection a request goes on. HTTPS origins that speak HTTP/2 get one connection per
//! profile and origin, held here on hyper's own `http2::SendRequest` and shared by every
//! request to that origin; everything else (plain HTTP, origins that answer HTTP/1.1) goes
//! through hyper-util's pooled client, as before.
//!
//! Why: hyper-util's pooled client costs each request about 8 K instructions on the caller's
//! thread (its checkout racing a connect, its own boxed futures, its bookkeeping), which was
//! most of what an HTTP/2 request cost beyond hyper-util used directly. A request on a
//! connection held here costs a lookup and a send.
//!
//! How a request to an `https` origin finds its connection ([`Pool::send`]):
//! - an open HTTP/2 connection to the origin: the request is sent on it;
//! - an origin known to answer HTTP/1.1: hyper-util's pool;
//! - nothing yet: the connector opens one — along the request's route, within its deadline,
//!   seen by its hand-over, as any connection it opens — and ALPN decides. `h2`: it is kept
//!   here. Anything else: the origin is remembered as HTTP/1.1 and the connection goes to
//!   hyper-util's pool through the hand-over (the connector hands it over instead of opening
//!   another), so finding out costs no connection.
//!
//! Requests that find nothing at the same moment each start opening a connection (ALPN is not
//! known yet); the first one ready is kept, and the others abandon theirs and use it, as
//! hyper-util's pool hands waiting requests the first HTTP/2 connection. A connection that was
//! ready before it learned of the kept one serves its own request and closes.
//!
//! A request refused before it was sent (the connection was closing) is sent again once, on a
//! new connection, as hyper-util retries. A connection not used for the pool's idle timeout is
//! let go: it closes once its last response is read. With `http2(false)` or a pool of no idle
//! connections (`pool_max_idle_per_host(0)`), everything goes to hyper-util.

use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError, Weak};
use std::task::{Context, Poll};
use std::time::Duration;

use hyper::body::Incoming;
use hyper::client::conn::http2;
use hyper_util::client::legacy;
use hyper_util::rt::{TokioExecutor, TokioTimer};
use tokio::time::Instant;
use tower_service::Service as _;

use super::{Body, HttpClient};
use crate::connect::{ConnInfo, Connector, Handoff};
use crate::error::Error;

/// The most origins a profile remembers. Beyond it, what is known of origins without an open
/// HTTP/2 connection is forgotten (it is found out again, at no cost in connections), and a
/// connection that finds no room serves its own request only: a client sent to ever more
/// origins holds a bounded map.
const MAX_ORIGINS: usize = 1024;

/// A profile's connections: its own HTTP/2 ones, and hyper-util's client for the rest.
pub(super) struct Pool {
    http1: HttpClient,
    /// `None`: every request goes to hyper-util (HTTP/2 off, or no idle connections kept).
    http2: Option<Http2>,
}

/// The HTTP/2 connections held, by origin, and what opens new ones.
struct Http2 {
    /// By the request's authority, lower-cased (the authority is compared without case, as
    /// hyper-util's pool keys are).
    origins: Mutex<HashMap<Box<str>, Origin>>,
    connector: Connector,
    builder: http2::Builder<TokioExecutor>,
    idle_timeout: Option<Duration>,
    next_id: AtomicU64,
    /// Woken when a connection is kept: requests still opening their own use it instead.
    kept: tokio::sync::Notify,
}

/// What is known about one origin.
enum Origin {
    Http2(Held),
    /// It answered HTTP/1.1 (or nothing) to ALPN: hyper-util's pool serves it.
    Http1,
}

/// A held connection and when a request last took it.
struct Held {
    conn: Shared,
    last_used: Instant,
}

/// One HTTP/2 connection, as each request holds it.
#[derive(Clone)]
struct Shared {
    send: http2::SendRequest<Body>,
    info: Arc<ConnInfo>,
    /// Tells this connection from a later one to the same origin.
    id: u64,
    key: Arc<str>,
}

/// A request on its way: through hyper-util's client, on a connection held here, or on one
/// being found or opened for it.
pub(super) enum Sending {
    Legacy(legacy::ResponseFuture),
    /// Sent on a held HTTP/2 connection: no connection is opened for it, unless that one
    /// turns out to be closing (then once, by the connector alone).
    Held(OwnFuture),
    Own(OwnFuture),
}

type OwnFuture = Pin<Box<dyn Future<Output = Result<Answer, Failed>> + Send>>;

/// A response head, and the facts of the connection it came on when the pool knows them (on
/// hyper-util's responses they are in the extensions, where its connector put them).
pub(crate) struct Answer {
    pub(crate) res: http::Response<Incoming>,
    pub(crate) info: Option<Arc<ConnInfo>>,
}

impl Answer {
    fn on(res: http::Response<Incoming>, info: &Arc<ConnInfo>) -> Self {
        Self {
            res,
            info: Some(Arc::clone(info)),
        }
    }

    fn legacy(res: http::Response<Incoming>) -> Self {
        Self { res, info: None }
    }
}

/// Why a request got no response head.
pub(crate) enum Failed {
    /// hyper-util's client failed (its connector's error inside, when that was the cause).
    Legacy(legacy::Error),
    /// The connector could not open a connection.
    Connect(Error),
    /// hyper failed on an HTTP/2 connection held here.
    Http2 {
        error: hyper::Error,
        info: Arc<ConnInfo>,
    },
}

impl Sending {
    /// Whether the request went on a held connection: the connector is not asked for one, so
    /// the request needs no hand-over for it.
    pub(super) fn on_held_connection(&self) -> bool {
        matches!(self, Sending::Held(_))
    }
}

impl Future for Sending {
    type Output = Result<Answer, Failed>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        match self.get_mut() {
            Sending::Legacy(f) => Pin::new(f)
                .poll(cx)
                .map(|r| r.map(Answer::legacy).map_err(Failed::Legacy)),
            Sending::Held(f) | Sending::Own(f) => f.as_mut().poll(cx),
        }
    }
}

impl Pool {
    /// `http2`: whether HTTP/2 is offered by ALPN; `max_idle`: hyper-util's
    /// `pool_max_idle_per_host` (0 keeps no connection, HTTP/2 ones included).
    pub(super) fn new(
        http1: HttpClient,
        connector: Connector,
        http2: bool,
        idle_timeout: Option<Duration>,
        max_idle: usize,
    ) -> Self {
        let http2 = (http2 && max_idle > 0).then(|| {
            let mut builder = http2::Builder::new(TokioExecutor::new());
            builder.timer(TokioTimer::new());
            Http2 {
                origins: Mutex::new(HashMap::new()),
                connector,
                builder,
                idle_timeout,
                next_id: AtomicU64::new(0),
                kept: tokio::sync::Notify::new(),
            }
        });
        Self { http1, http2 }
    }

    /// Sends `req` (absolute URI) on the connection the module's doc describes.
    pub(super) fn send(self: &Arc<Self>, req: http::Request<Body>) -> Sending {
        let authority = match (&self.http2, req.uri().scheme_str(), req.uri().authority()) {
            (Some(_), Some("https"), Some(a)) => a.as_str(),
            _ => return Sending::Legacy(self.http1.request(req)),
        };
        let key = key_of(authority);
        match self.checkout(&key) {
            Found::Http2(conn) => Sending::Held(Box::pin(send_on(Arc::clone(self), conn, req))),
            Found::Http1 => Sending::Legacy(self.http1.request(req)),
            Found::Nothing => {
                let key: Arc<str> = Arc::from(&*key);
                Sending::Own(Box::pin(open_and_send(Arc::clone(self), key, req)))
            }
        }
    }

    fn origins(&self) -> Option<MutexGuard<'_, HashMap<Box<str>, Origin>>> {
        let h2 = self.http2.as_ref()?;
        Some(h2.origins.lock().unwrap_or_else(PoisonError::into_inner))
    }

    fn checkout(&self, key: &str) -> Found {
        let Some(mut origins) = self.origins() else {
            return Found::Http1;
        };
        match origins.get_mut(key) {
            Some(Origin::Http2(held)) if !held.conn.send.is_closed() => {
                held.last_used = Instant::now();
                Found::Http2(held.conn.clone())
            }
            Some(Origin::Http2(_)) => {
                origins.remove(key);
                Found::Nothing
            }
            Some(Origin::Http1) => Found::Http1,
            None => Found::Nothing,
        }
    }

    /// Lets go of `conn` (it refused a request: it is closing).
    fn forget(&self, conn: &Shared) {
        if let Some(mut origins) = self.origins()
            && matches!(origins.get(&*conn.key), Some(Origin::Http2(h)) if h.conn.id == conn.id)
        {
            origins.remove(&*conn.key);
        }
    }

    /// Keeps `conn` for later requests unless an open one is kept already, or there is no room;
    /// `true` if kept.
    fn keep(&self, conn: &Shared) -> bool {
        let Some(mut origins) = self.origins() else {
            return false;
        };
        if matches!(origins.get(&*conn.key), Some(Origin::Http2(h)) if !h.conn.send.is_closed())
            || !room_for(&mut origins, &conn.key)
        {
            return false;
        }
        origins.insert(
            Box::from(&*conn.key),
            Origin::Http2(Held {
                conn: conn.clone(),
                last_used: Instant::now(),
            }),
        );
        drop(origins);
        if let Some(h2) = &self.http2 {
            h2.kept.notify_waiters();
        }
        true
    }

    fn remember_http1(&self, key: &str) {
        if let Some(mut origins) = self.origins()
            && room_for(&mut origins, key)
        {
            origins.insert(Box::from(key), Origin::Http1);
        }
    }
}

/// Whether `key` can be added (or is there already); when the map is full, it first forgets
/// every origin without an open HTTP/2 connection.
fn room_for(origins: &mut HashMap<Box<str>, Origin>, key: &str) -> bool {
    if origins.len() < MAX_ORIGINS || origins.contains_key(key) {
        return true;
    }
    origins.retain(|_, o| matches!(o, Origin::Http2(h) if !h.conn.send.is_closed()));
    origins.len() < MAX_ORIGINS
}

enum Found {
    Http2(Shared),
    Http1,
    Nothing,
}

/// The pool's key for `authority`: as written, unless it has upper-case letters.
fn key_of(authority: &str) -> std::borrow::Cow<'_, str> {
    if authority.bytes().any(|b| b.is_ascii_uppercase()) {
        std::borrow::Cow::Owned(authority.to_ascii_lowercase())
    } else {
        std::borrow::Cow::Borrowed(authority)
    }
}

/// Sends `req` on a held connection; if the connection refused it unsent (it was closing), on
/// a new one.
async fn send_on(
    pool: Arc<Pool>,
    mut conn: Shared,
    req: http::Request<Body>,
) -> Result<Answer, Failed> {
    match conn.send.try_send_request(req).await {
        Ok(res) => Ok(Answer::on(res, &conn.info)),
        // Its own future: the refused request is then not held in this one, which every
        // request's send is boxed as (a third of its size).
        Err(e) => resend_or_fail(pool, conn, e).await,
    }
}

/// A request `conn` refused: sent on a new connection when it was refused unsent (the
/// connection was closing), else its error.
fn resend_or_fail(
    pool: Arc<Pool>,
    conn: Shared,
    mut e: hyper::client::conn::TrySendError<http::Request<Body>>,
) -> OwnFuture {
    match e.take_message() {
        Some(req) => {
            tracing::debug!(error = %e.error(), "held HTTP/2 connection refused the request unsent; sending it on a new one");
            pool.forget(&conn);
            Box::pin(open_and_send(pool, conn.key, req))
        }
        None => Box::pin(std::future::ready(Err(Failed::Http2 {
            error: e.into_error(),
            info: conn.info,
        }))),
    }
}

/// Opens a connection for `req` and sends it there: on HTTP/2 kept in the pool, else through
/// hyper-util's pool, which the hand-over gives this connection to.
async fn open_and_send(
    pool: Arc<Pool>,
    key: Arc<str>,
    req: http::Request<Body>,
) -> Result<Answer, Failed> {
    let Some(h2) = pool.http2.as_ref() else {
        return through_legacy(&pool, req).await;
    };
    // The origin's scheme and authority, as hyper-util asks its connector (the key came from
    // a valid authority, so this builds).
    let Ok(uri) = http::Uri::builder()
        .scheme("https")
        .authority(&*key)
        .path_and_query("/")
        .build()
    else {
        return through_legacy(&pool, req).await;
    };
    // Called from the request's poll, so the connector sees its hand-over (route, deadline,
    // and the request waiting for the connection).
    let connect = h2.connector.clone().call(uri);
    let conn = match kept_or_own(h2, &pool, &key, connect).await {
        Opened::Kept(conn) => {
            // Another request's connection was kept meanwhile: this one is abandoned (its
            // opening ends, so the request stops waiting for a connection) and the request
            // goes on the kept one, as hyper-util's pool hands a waiting request the first
            // HTTP/2 connection ready.
            return Box::pin(send_on(pool, conn, req)).await;
        }
        Opened::Own(conn) => conn.map_err(Failed::Connect)?,
    };
    let info = Arc::clone(conn.shared_info());
    if info.alpn.as_deref() != Some("h2") {
        pool.remember_http1(&key);
        if let Some(handoff) = Handoff::current() {
            handoff.preopen(conn);
        }
        return through_legacy(&pool, req).await;
    }
    let (send, connection) = match h2.builder.handshake(conn).await {
        Ok(pair) => pair,
        Err(error) => return Err(Failed::Http2 { error, info }),
    };
    tokio::spawn(async move {
        if let Err(e) = connection.await {
            tracing::debug!(error = %e, "HTTP/2 connection ended");
        }
    });
    let mut conn = Shared {
        send,
        info,
        id: h2.next_id.fetch_add(1, Ordering::Relaxed),
        key,
    };
    if pool.keep(&conn)
        && let Some(timeout) = h2.idle_timeout
    {
        let_go_when_idle(
            Arc::downgrade(&pool),
            conn.id,
            Arc::clone(&conn.key),
            timeout,
        );
    }
    match conn.send.try_send_request(req).await {
        Ok(res) => Ok(Answer::on(res, &conn.info)),
        Err(e) => Err(Failed::Http2 {
            error: e.into_error(),
            info: conn.info,
        }),
    }
}

/// Sends `req` through hyper-util's pool.
async fn through_legacy(pool: &Pool, req: http::Request<Body>) -> Result<Answer, Failed> {
    pool.http1
        .request(req)
        .await
        .map(Answer::legacy)
        .map_err(Failed::Legacy)
}

/// What a request opening a connection ends up with.
enum Opened {
    /// A connection another request opened, kept while this one was being opened.
    Kept(Shared),
    /// Its own (or the connector's error).
    Own(Result<crate::connect::Conn, Error>),
}

/// Waits for `connect`, or for an open HTTP/2 connection to `key` to be kept by another
/// request, whichever comes first; `connect` is dropped (the connection abandoned) in the
/// second case.
async fn kept_or_own(
    h2: &Http2,
    pool: &Pool,
    key: &str,
    mut connect: Pin<Box<dyn Future<Output = Result<crate::connect::Conn, Error>> + Send>>,
) -> Opened {
    loop {
        // Registered before the pool is looked at: a connection kept in between still wakes it.
        let kept = h2.kept.notified();
        tokio::pin!(kept);
        kept.as_mut().enable();
        if let Found::Http2(conn) = pool.checkout(key) {
            return Opened::Kept(conn);
        }
        let woke = std::future::poll_fn(|cx| {
            if let Poll::Ready(r) = connect.as_mut().poll(cx) {
                return Poll::Ready(Some(r));
            }
            kept.as_mut().poll(cx).map(|()| None)
        })
        .await;
        if let Some(own) = woke {
            return Opened::Own(own);
        }
    }
}

/// Lets go of connection `id` to `key` once no request took it for `timeout`, or once it is
/// closed (its last response still reads to the end: the connection closes after it).
fn let_go_when_idle(pool: Weak<Pool>, id: u64, key: Arc<str>, timeout: Duration) {
    tokio::spawn(async move {
        let mut at = Instant::now() + timeout;
        loop {
            tokio::time::sleep_until(at).await;
            let Some(pool) = pool.upgrade() else { return };
            let Some(mut origins) = pool.origins() else {
                return;
            };
            let until = match origins.get(&*key) {
                Some(Origin::Http2(h)) if h.conn.id == id => {
                    (!h.conn.send.is_closed()).then_some(h.last_used + timeout)
                }
                // Replaced or forgotten: another watches its successor.
                _ => return,
            };
            match until {
                Some(until) if until > Instant::now() => at = until,
                _ => {
                    origins.remove(&*key);
                    return;
                }
            }
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::connect::ConnectorSettings;
    use crate::settings::Settings;

    fn pool() -> Pool {
        let connector = Connector::new(ConnectorSettings::new(Settings::default())).unwrap();
        let http1 = legacy::Client::builder(TokioExecutor::new()).build(connector.clone());
        Pool::new(http1, connector, true, None, usize::MAX)
    }

    #[test]
    fn origins_known_to_answer_http1_are_bounded() {
        let pool = pool();
        for i in 0..3 * MAX_ORIGINS {
            pool.remember_http1(&format!("origin-{i}.test:443"));
            assert!(pool.origins().unwrap().len() <= MAX_ORIGINS);
        }
        // The newest is remembered: the map was emptied of the old ones to make room.
        assert!(matches!(
            pool.checkout(&format!("origin-{}.test:443", 3 * MAX_ORIGINS - 1)),
            Found::Http1
        ));
        assert!(matches!(pool.checkout("never.test:443"), Found::Nothing));
    }

    /// A request queued on a held connection that ends before taking it (hyper hands it back
    /// unsent) is sent once more, on a new connection, and the dead one is forgotten.
    #[cfg(feature = "testing")]
    #[tokio::test]
    async fn a_request_handed_back_unsent_is_sent_on_a_new_connection() {
        use crate::testing::{ChainMode, TestOrigin, TestPki};

        let pki = TestPki::new();
        let origin = TestOrigin::https(&pki, pki.localhost(), ChainMode::Full).await;
        let settings = Settings::new()
            .with_proxy(crate::ProxySetting::Direct)
            .with_ca_file([pki.root_pem_path().to_path_buf()]);
        let connector = Connector::new(ConnectorSettings::new(settings)).unwrap();
        let http1 = legacy::Client::builder(TokioExecutor::new()).build(connector.clone());
        let pool = Arc::new(Pool::new(http1, connector, true, None, usize::MAX));

        // A connection whose request loop is never run: what is sent on it waits in its queue.
        let (io, _peer) = tokio::io::duplex(64 * 1024);
        let (send, stalled) = pool
            .http2
            .as_ref()
            .unwrap()
            .builder
            .handshake::<_, Body>(hyper_util::rt::TokioIo::new(io))
            .await
            .unwrap();
        let url = origin.url_with_host("localhost", "/");
        let key = key_of(
            url.parse::<http::Uri>()
                .unwrap()
                .authority()
                .unwrap()
                .as_str(),
        )
        .into_owned();
        let info = {
            // Any connection's facts: the held one never answers.
            let probe = pool.http2.as_ref().unwrap().connector.clone();
            let conn = probe.connect(url.parse().unwrap()).await.unwrap();
            Arc::clone(conn.shared_info())
        };
        let accepted_before = origin.accepted();
        let stale = Shared {
            send,
            info,
            id: u64::MAX,
            key: Arc::from(key.as_str()),
        };
        assert!(pool.keep(&stale));

        let req = http::Request::get(&url).body(Body::empty()).unwrap();
        let sending = pool.send(req);
        assert!(sending.on_held_connection());
        let pending = tokio::spawn(sending);
        tokio::task::yield_now().await;
        // The connection ends with the request still queued: hyper hands it back.
        drop(stalled);
        let res = pending
            .await
            .unwrap()
            .unwrap_or_else(|_| panic!("the retry failed"));
        assert_eq!(res.res.status(), 200);
        assert!(
            res.info.is_some(),
            "the new connection's facts come with the response"
        );
        assert_eq!(origin.accepted(), accepted_before + 1);
        match pool.checkout(&key) {
            Found::Http2(conn) => assert_ne!(conn.id, u64::MAX, "the dead connection is forgotten"),
            _ => panic!("the new connection is kept"),
        }
    }

    #[test]
    fn keys_ignore_the_case_of_the_authority() {
        assert_eq!(key_of("Example.ORG:8443"), "example.org:8443");
        assert!(matches!(
            key_of("example.org"),
            std::borrow::Cow::Borrowed(_)
        ));
    }

    #[test]
    fn without_http2_or_idle_connections_everything_goes_to_hyper_util() {
        let connector = Connector::new(ConnectorSettings::new(Settings::default())).unwrap();
        let http1 = || legacy::Client::builder(TokioExecutor::new()).build(connector.clone());
        for pool in [
            Pool::new(http1(), connector.clone(), false, None, usize::MAX),
            Pool::new(http1(), connector.clone(), true, None, 0),
        ] {
            assert!(pool.http2.is_none());
            assert!(matches!(pool.checkout("origin.test:443"), Found::Http1));
        }
    }
}
