//! Which connection a request goes on. Requests to `https` origins go on connections held
//! here — HTTP/2 spoken through `h2` directly (see `http2`), HTTP/1.1 on hyper's own
//! connection handles: one HTTP/2 connection per profile and origin,
//! shared by every request to it, or HTTP/1.1 connections, each carrying one request at a
//! time and kept idle between them. Plain `http` requests (which may go to a proxy in
//! absolute-form), `CONNECT` requests and requests that ask for another HTTP version go
//! through hyper-util's pooled client.
//!
//! Why: hyper-util's pooled client costs each request several thousand instructions on the
//! caller's thread (its checkout racing a connect, its own boxed futures, its bookkeeping),
//! which was most of what a request cost beyond hyper used directly. A request on a
//! connection held here costs a lookup and a send.
//!
//! How a request to an `https` origin finds its connection ([`Pool::send`]):
//! - an open HTTP/2 connection to the origin: the request is sent on it;
//! - an idle HTTP/1.1 connection to it (the most recently used first): the request is sent on
//!   it, in origin-form with a `Host` header, as hyper-util sends it;
//! - an HTTP/1.1 connection whose response's body has ended but that hyper has not yet made
//!   ready (its task has not run): the request waits for it, briefly ([`RETURNING_GRACE`]);
//! - nothing: the connector opens one — along the request's route, within its deadline, seen
//!   by its hand-over, as any connection it opens — and ALPN decides. `h2`: it is kept here for
//!   every request. Anything else: an HTTP/1.1 connection, which this request uses. Should
//!   another connection to the origin become available meanwhile (an HTTP/2 one kept by
//!   another request, an HTTP/1.1 one back from its response), the request takes it instead,
//!   as hyper-util's pool does: an HTTP/2 one being opened is abandoned, an HTTP/1.1 one is
//!   finished and kept idle.
//!
//! An HTTP/1.1 connection comes back once its response is done: hyper makes it ready for
//! another request once the body has been read (or read ahead whole) and the request's body
//! sent. A task per response waits for that, as hyper-util's does, and makes it idle (its idle
//! time starts then). A body dropped before its end, or one that broke, or a server that closes
//! the connection (`Connection: close`), ends it instead. At most `pool_max_idle_per_host` are
//! kept idle per origin, each for at most the pool's idle timeout (a task per profile closes the
//! expired ones, and ends when none is left).
//!
//! A request refused before it was sent (the connection was closing) is sent again: on another
//! idle HTTP/1.1 connection, else once on a new connection, as hyper-util retries canceled
//! requests. An HTTP/2 connection not used for the pool's idle timeout is let go: it closes
//! once its last response is read. With a pool of no idle connections
//! (`pool_max_idle_per_host(0)`), everything goes to hyper-util.

use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError, Weak};
use std::task::{Context, Poll};
use std::time::Duration;

use http::header::{HOST, HeaderValue};
use http::{Method, Version};
use hyper::client::conn::http1;
use hyper_util::client::legacy;
use tokio::time::Instant;
use tower_service::Service as _;

use super::http2::{self, Refused};
use super::wire_body::{Ahead, WireBody};
use super::{Body, HttpClient};
use crate::connect::{ConnInfo, Connector};
use crate::error::Error;

/// The most origins a profile remembers. Beyond it, origins without an open HTTP/2 connection
/// or an idle HTTP/1.1 one are forgotten (what they speak is found out again, at no cost in
/// connections), and a connection that finds no room serves its own request only: a client
/// sent to ever more origins holds a bounded map.
const MAX_ORIGINS: usize = 1024;

/// A profile's connections: its own, and hyper-util's client for the requests it does not
/// take (see the module's doc).
pub(super) struct Pool {
    legacy: HttpClient,
    /// `None`: every request goes to hyper-util (no idle connections kept).
    own: Option<Own>,
}

/// The connections held, by origin, and what opens new ones.
struct Own {
    origins: Mutex<Origins>,
    connector: Connector,
    http1: http1::Builder,
    /// Whether HTTP/2 is offered (by ALPN); if not, every connection is HTTP/1.1.
    http2: bool,
    idle_timeout: Option<Duration>,
    /// HTTP/1.1 connections kept idle per origin (`pool_max_idle_per_host`, at least one).
    max_idle: usize,
    next_id: AtomicU64,
    /// Woken when an HTTP/2 connection is kept or an HTTP/1.1 one comes back from its
    /// response: requests still opening their own, or waiting for one, use it.
    changed: tokio::sync::Notify,
    /// Requests waiting on `changed` (see [`Waiting`]).
    waiting: std::sync::atomic::AtomicUsize,
}

/// What is known about each origin, by the request's authority, lower-cased (the authority is
/// compared without case, as hyper-util's pool keys are).
#[derive(Default)]
struct Origins {
    map: HashMap<Box<str>, Origin>,
    /// A task closes expired idle HTTP/1.1 connections (see [`close_expired`]).
    reaping: bool,
}

/// What is known about one origin.
enum Origin {
    Http2(Held),
    /// It answered HTTP/1.1 (or nothing) to ALPN: its connections.
    Http1(Http1Origin),
}

/// A held connection and when a request last took it.
struct Held {
    conn: Shared,
    last_used: Instant,
}

/// One HTTP/2 connection, as each request holds it.
#[derive(Clone)]
struct Shared {
    send: http2::Handle,
    info: Arc<ConnInfo>,
    /// Tells this connection from a later one to the same origin.
    id: u64,
    key: Arc<str>,
}

/// One HTTP/1.1 connection: idle in the pool, or carrying one request.
pub(crate) struct Http1Conn {
    send: http1::SendRequest<Body>,
    info: Arc<ConnInfo>,
    key: Arc<str>,
}

/// An origin's HTTP/1.1 connections: those idle, and those carrying a response.
#[derive(Default)]
struct Http1Origin {
    /// Ready for a request, the least recently used first.
    idle: Vec<Idle>,
    /// The connections carrying a response (each held by the task that waits for it to be
    /// ready), by the task's number, and whether the response's body has ended.
    busy: Vec<(u64, BodyEnd)>,
}

impl Http1Origin {
    fn is_empty(&self) -> bool {
        self.idle.is_empty() && self.busy.is_empty()
    }

    /// Whether a connection whose response's body has ended is on its way back.
    fn returning(&self) -> bool {
        self.busy.iter().any(|(_, end)| end.is_reached())
    }
}

/// An idle HTTP/1.1 connection and since when.
struct Idle {
    conn: Http1Conn,
    since: Instant,
}

/// Set when a response's body has been read to its end (or dropped once all of it was read):
/// its HTTP/1.1 connection is then about to be ready for another request, and a request that
/// finds no idle connection waits for it rather than open another (see [`RETURNING_GRACE`]).
#[derive(Debug, Clone, Default)]
pub(crate) struct BodyEnd(Arc<std::sync::atomic::AtomicBool>);

impl BodyEnd {
    pub(crate) fn reached(&self) {
        self.0.store(true, Ordering::Release);
    }

    fn is_reached(&self) -> bool {
        self.0.load(Ordering::Acquire)
    }
}

/// A request on its way: through hyper-util's client, on a connection held here, or on one
/// being found or opened for it.
pub(super) enum Sending {
    Legacy(legacy::ResponseFuture),
    /// Sent on a held connection: no connection is opened for it, unless that one turns out
    /// to be closing (then by the connector alone).
    Held(OwnFuture),
    Own(OwnFuture),
}

type OwnFuture = Pin<Box<dyn Future<Output = Result<Answer, Failed>> + Send>>;

/// A response head, and the facts of the connection it came on when the pool knows them (on
/// hyper-util's responses they are in the extensions, where its connector put them).
pub(crate) struct Answer {
    pub(crate) res: http::Response<WireBody>,
    pub(crate) info: Option<Arc<ConnInfo>>,
    /// For a response on an HTTP/1.1 connection the pool holds, to say when its body ends.
    pub(crate) end: Option<BodyEnd>,
    /// The body's start, when it was read with the head where the head arrived (HTTP/2 on a
    /// connection held here); else the exchange reads it as the head comes up to it.
    pub(crate) ahead: Option<(Ahead, bool)>,
}

impl Answer {
    fn on((res, ahead): http2::Head, info: &Arc<ConnInfo>) -> Self {
        Self {
            res,
            info: Some(Arc::clone(info)),
            end: None,
            ahead: Some(ahead),
        }
    }

    fn legacy(res: http::Response<hyper::body::Incoming>) -> Self {
        Self {
            res: res.map(WireBody::Hyper),
            info: None,
            end: None,
            ahead: None,
        }
    }

    /// A response on an HTTP/1.1 connection of `pool`; the connection goes back to the pool
    /// when its response is done (see [`give_back_when_ready`]).
    fn on_http1(
        res: http::Response<hyper::body::Incoming>,
        conn: Http1Conn,
        pool: &Arc<Pool>,
    ) -> Self {
        let info = Some(Arc::clone(&conn.info));
        let end = give_back_when_ready(pool, conn);
        Self {
            res: res.map(WireBody::Hyper),
            info,
            end,
            ahead: None,
        }
    }
}

/// Why a request got no response head.
pub(crate) enum Failed {
    /// hyper-util's client failed (its connector's error inside, when that was the cause).
    Legacy(legacy::Error),
    /// The connector could not open a connection.
    Connect(Error),
    /// hyper failed on an HTTP/1.1 connection held here.
    Conn {
        error: hyper::Error,
        info: Arc<ConnInfo>,
    },
    /// A request on an HTTP/2 connection held here failed.
    Http2 {
        error: http2::Failure,
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

/// Gives `conn` back to `pool` for later requests once its response is done: at once when
/// hyper says it is ready for another (a response without a body, or one hyper read ahead
/// whole), else from a task that waits for that, as hyper-util's pool does — once the
/// response's body has been read to its end and the request's own body sent. A body dropped
/// before its end, or one that broke, closes the connection instead, and the task ends with
/// it. The response's body says through the returned [`BodyEnd`] when it has ended: a request
/// that finds no idle connection meanwhile waits for this one rather than open another. The
/// task holds the pool weakly: a response outliving its client keeps no pool alive.
fn give_back_when_ready(pool: &Arc<Pool>, conn: Http1Conn) -> Option<BodyEnd> {
    if conn.send.is_ready() {
        pool.put_idle(conn);
        return None;
    }
    let own = pool.own.as_ref()?;
    let id = own.next_id.fetch_add(1, Ordering::Relaxed);
    let end = BodyEnd::default();
    {
        let mut origins = own.origins.lock().unwrap_or_else(PoisonError::into_inner);
        match origin_entry(&mut origins.map, &conn.key) {
            Some(Origin::Http1(o)) => o.busy.push((id, end.clone())),
            // No room (it serves its own response only), or the origin now speaks HTTP/2:
            // this one closes after its response.
            _ => return None,
        }
    }
    let mut watch = Watch {
        pool: Arc::downgrade(pool),
        id,
        conn: Some(conn),
    };
    tokio::spawn(async move {
        let ready = std::future::poll_fn(|cx| match watch.conn.as_mut() {
            Some(conn) => conn.send.poll_ready(cx).map(|r| r.is_ok()),
            None => Poll::Ready(false),
        })
        .await;
        watch.done(ready);
    });
    Some(end)
}

/// The task's hold on a connection carrying a response. Dropped unfinished (its runtime shut
/// down, taking the connection's own task with it), it still takes the connection off the
/// origin's busy list: a client used from one runtime after another never waits for a
/// connection no task will give back.
struct Watch {
    pool: Weak<Pool>,
    id: u64,
    conn: Option<Http1Conn>,
}

impl Watch {
    fn done(&mut self, ready: bool) {
        if let Some(conn) = self.conn.take()
            && let Some(pool) = self.pool.upgrade()
        {
            pool.give_back(Some(self.id), conn, ready);
        }
    }
}

impl Drop for Watch {
    fn drop(&mut self) {
        self.done(false);
    }
}

impl Pool {
    /// `http2`: whether HTTP/2 is offered by ALPN; `max_idle`: hyper-util's
    /// `pool_max_idle_per_host` (0 keeps no connection: everything goes to hyper-util).
    pub(super) fn new(
        legacy: HttpClient,
        connector: Connector,
        http2: bool,
        idle_timeout: Option<Duration>,
        max_idle: usize,
    ) -> Self {
        let own = (max_idle > 0).then(|| Own {
            origins: Mutex::new(Origins::default()),
            connector,
            http1: http1::Builder::new(),
            http2,
            idle_timeout,
            max_idle,
            next_id: AtomicU64::new(0),
            changed: tokio::sync::Notify::new(),
            waiting: std::sync::atomic::AtomicUsize::new(0),
        });
        Self { legacy, own }
    }

    /// Sends `req` (absolute URI) on the connection the module's doc describes.
    pub(super) fn send(self: &Arc<Self>, req: http::Request<Body>) -> Sending {
        let authority = match (&self.own, req.uri().scheme_str(), req.uri().authority()) {
            (Some(_), Some("https"), Some(a))
                if req.method() != Method::CONNECT
                    && matches!(req.version(), Version::HTTP_11 | Version::HTTP_10) =>
            {
                a.as_str()
            }
            _ => return Sending::Legacy(self.legacy.request(req)),
        };
        let key = key_of(authority);
        match self.checkout(&key, true) {
            Found::Http2(conn) => Sending::Held(Box::pin(send_on(Arc::clone(self), conn, req))),
            Found::Http1(conn) => {
                Sending::Held(Box::pin(send_on_http1(Arc::clone(self), conn, req)))
            }
            // Asks the connector when the connection is not ready in time: as a request that
            // found nothing, it has the hand-over.
            Found::Returning => {
                let key: Arc<str> = Arc::from(&*key);
                Sending::Own(Box::pin(when_returned(Arc::clone(self), key, req)))
            }
            Found::Nothing => {
                let key: Arc<str> = Arc::from(&*key);
                Sending::Own(Box::pin(open_and_send(Arc::clone(self), key, req)))
            }
        }
    }

    fn origins(&self) -> Option<MutexGuard<'_, Origins>> {
        let own = self.own.as_ref()?;
        Some(own.origins.lock().unwrap_or_else(PoisonError::into_inner))
    }

    /// The origin's open HTTP/2 connection, else its most recently used idle HTTP/1.1 one
    /// (those closed or expired meanwhile are let go), else nothing.
    fn checkout(&self, key: &str, returning: bool) -> Found {
        let Some(mut origins) = self.origins() else {
            return Found::Nothing;
        };
        match origins.map.get_mut(key) {
            Some(Origin::Http2(held)) if !held.conn.send.is_closed() => {
                held.last_used = Instant::now();
                Found::Http2(held.conn.clone())
            }
            Some(Origin::Http2(_)) => {
                origins.map.remove(key);
                Found::Nothing
            }
            Some(Origin::Http1(o)) => {
                let timeout = self.own.as_ref().and_then(|o| o.idle_timeout);
                let now = Instant::now();
                // The most recently used idle one; those closed (idle ones were ready when
                // they became idle: one that is not any more was closed by its server) or
                // expired are let go.
                while let Some(Idle { conn, since }) = o.idle.pop() {
                    if conn.send.is_ready() && timeout.is_none_or(|t| now < since + t) {
                        return Found::Http1(conn);
                    }
                }
                // One whose body has ended, not yet readied by hyper (its task has not run).
                if returning && o.returning() {
                    return Found::Returning;
                }
                Found::Nothing
            }
            None => Found::Nothing,
        }
    }

    /// Lets go of `conn` (it refused a request: it is closing).
    fn forget(&self, conn: &Shared) {
        if let Some(mut origins) = self.origins()
            && matches!(origins.map.get(&*conn.key), Some(Origin::Http2(h)) if h.conn.id == conn.id)
        {
            origins.map.remove(&*conn.key);
        }
    }

    /// Keeps `conn` for later requests unless an open one is kept already, or there is no room;
    /// `true` if kept.
    fn keep(&self, conn: &Shared) -> bool {
        let Some(mut origins) = self.origins() else {
            return false;
        };
        if matches!(origins.map.get(&*conn.key), Some(Origin::Http2(h)) if !h.conn.send.is_closed())
            || !room_for(&mut origins.map, &conn.key)
        {
            return false;
        }
        let before = origins.map.insert(
            Box::from(&*conn.key),
            Origin::Http2(Held {
                conn: conn.clone(),
                last_used: Instant::now(),
            }),
        );
        drop(origins);
        // The origin's idle HTTP/1.1 connections, if it had any, close outside the lock.
        drop(before);
        if let Some(own) = &self.own {
            own.changed.notify_waiters();
        }
        true
    }

    /// Keeps an HTTP/1.1 connection ready for another request, unless its origin has as many
    /// idle already (the newcomer closes, as in hyper-util's pool), now speaks HTTP/2, or there
    /// is no room.
    fn put_idle(self: &Arc<Self>, conn: Http1Conn) {
        self.give_back(None, conn, true);
    }

    /// After the lock: wakes the requests opening a connection of their own when one became
    /// idle, closes one that was refused, and starts the task that closes expired ones.
    fn after_idle(self: &Arc<Self>, own: &Own, refused: Option<Http1Conn>, start_reaping: bool) {
        if own.waiting.load(Ordering::SeqCst) > 0 {
            own.changed.notify_waiters();
        }
        drop(refused);
        if let (true, Some(timeout)) = (start_reaping, own.idle_timeout) {
            close_expired(Arc::downgrade(self), timeout);
        }
    }

    /// `conn`, back from its response (off its origin's busy list when it was on it as
    /// `busy`): idle when `ready` (see [`Pool::put_idle`]), else let go (hyper closed it).
    fn give_back(self: &Arc<Self>, busy: Option<u64>, conn: Http1Conn, ready: bool) {
        let Some(own) = &self.own else { return };
        let mut origins = own.origins.lock().unwrap_or_else(PoisonError::into_inner);
        let origins_ref = &mut *origins;
        if let Some(id) = busy
            && let Some(Origin::Http1(o)) = origins_ref.map.get_mut(&*conn.key)
            && let Some(i) = o.busy.iter().position(|(b, _)| *b == id)
        {
            o.busy.swap_remove(i);
        }
        let origin = match (ready, busy) {
            (false, _) => None,
            // Back from a response: to an origin still known.
            (true, Some(_)) => origins_ref.map.get_mut(&*conn.key),
            (true, None) => origin_entry(&mut origins_ref.map, &conn.key),
        };
        let refused = match origin {
            Some(origin) => idle_in(own, origin, conn),
            None => Some(conn),
        };
        let start_reaping = reaping_needed(own, origins_ref, refused.is_none());
        drop(origins);
        // A request waiting for this one learns that it closed, too.
        self.after_idle(own, refused, start_reaping);
    }

    /// Whether a connection to `key` whose response's body has ended is on its way back.
    #[cfg(test)]
    fn returning(&self, key: &str) -> bool {
        self.origins()
            .is_some_and(|o| matches!(o.map.get(key), Some(Origin::Http1(h)) if h.returning()))
    }

    /// Remembers that `key` answers HTTP/1.1, unless something is known of it already.
    fn remember_http1(&self, key: &str) {
        if let Some(mut origins) = self.origins() {
            origin_entry(&mut origins.map, key);
        }
    }
}

/// What is known of `key`, remembered as answering HTTP/1.1 when nothing was; `None` when it
/// is new and there is no room. The key is copied only for a new entry (this runs for nearly
/// every HTTP/1.1 response).
fn origin_entry<'a>(
    origins: &'a mut HashMap<Box<str>, Origin>,
    key: &str,
) -> Option<&'a mut Origin> {
    if !origins.contains_key(key) {
        if !room_for(origins, key) {
            return None;
        }
        origins.insert(Box::from(key), Origin::Http1(Http1Origin::default()));
    }
    origins.get_mut(key)
}

/// Adds `conn` to `origin`'s idle connections if there is room; else hands it back.
fn idle_in(own: &Own, origin: &mut Origin, conn: Http1Conn) -> Option<Http1Conn> {
    match origin {
        Origin::Http1(o) if o.idle.len() < own.max_idle => {
            o.idle.push(Idle {
                conn,
                since: Instant::now(),
            });
            None
        }
        _ => Some(conn),
    }
}

/// Whether a connection just made idle needs the task that closes expired ones started (it
/// is then marked started).
fn reaping_needed(own: &Own, origins: &mut Origins, kept: bool) -> bool {
    let start = kept && own.idle_timeout.is_some() && !origins.reaping;
    if start {
        origins.reaping = true;
    }
    start
}

/// Whether `key` can be added (or is there already); when the map is full, it first forgets
/// every origin without an open HTTP/2 connection or an idle HTTP/1.1 one.
fn room_for(origins: &mut HashMap<Box<str>, Origin>, key: &str) -> bool {
    if origins.len() < MAX_ORIGINS || origins.contains_key(key) {
        return true;
    }
    origins.retain(|_, o| match o {
        Origin::Http2(h) => !h.conn.send.is_closed(),
        Origin::Http1(o) => {
            o.idle.retain(|i| i.conn.send.is_ready());
            !o.is_empty()
        }
    });
    origins.len() < MAX_ORIGINS
}

enum Found {
    Http2(Shared),
    /// An HTTP/1.1 connection ready for a request.
    Http1(Http1Conn),
    /// None idle, but one whose response's body has ended is about to be (see
    /// [`RETURNING_GRACE`]).
    Returning,
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
    conn: Shared,
    req: http::Request<Body>,
) -> Result<Answer, Failed> {
    match http2::send(conn.send.clone(), req).await {
        Ok(res) => Ok(Answer::on(res, &conn.info)),
        // Its own future: the refused request is then not held in this one, which every
        // request's send is boxed as (a third of its size).
        Err(e) => resend_or_fail(pool, conn, e).await,
    }
}

/// A request `conn` refused: sent on a new connection when it was refused unsent (the
/// connection was closing), else its error.
fn resend_or_fail(pool: Arc<Pool>, conn: Shared, e: Refused) -> OwnFuture {
    match e {
        Refused::Unsent(req, e) => {
            tracing::debug!(error = %e, "held HTTP/2 connection refused the request unsent; sending it on a new one");
            pool.forget(&conn);
            Box::pin(open_and_send(pool, conn.key, *req))
        }
        Refused::Failed(error) => Box::pin(std::future::ready(Err(Failed::Http2 {
            error,
            info: conn.info,
        }))),
    }
}

/// Sends `req` on an idle HTTP/1.1 connection; if the connection refused it unsent (it was
/// closing), on the origin's next idle one, else on a new one.
async fn send_on_http1(
    pool: Arc<Pool>,
    mut conn: Http1Conn,
    mut req: http::Request<Body>,
) -> Result<Answer, Failed> {
    for_http1(&mut req);
    match conn.send.try_send_request(req).await {
        Ok(res) => Ok(Answer::on_http1(res, conn, &pool)),
        Err(e) => Box::pin(resend_or_fail_http1(pool, conn, e)).await,
    }
}

/// A request an idle HTTP/1.1 connection refused: see [`send_on_http1`].
async fn resend_or_fail_http1(
    pool: Arc<Pool>,
    conn: Http1Conn,
    mut e: hyper::client::conn::TrySendError<http::Request<Body>>,
) -> Result<Answer, Failed> {
    let Some(mut req) = e.take_message() else {
        return Err(Failed::Conn {
            error: e.into_error(),
            info: conn.info,
        });
    };
    let key = conn.key;
    tracing::debug!(error = %e.error(), "idle HTTP/1.1 connection refused the request unsent; sending it on another");
    // Each turn lets go of a closing connection: at most the origin's idle ones.
    while let Found::Http1(mut next) = pool.checkout(&key, false) {
        match next.send.try_send_request(req).await {
            Ok(res) => return Ok(Answer::on_http1(res, next, &pool)),
            Err(mut e) => match e.take_message() {
                Some(r) => req = r,
                None => {
                    return Err(Failed::Conn {
                        error: e.into_error(),
                        info: next.info,
                    });
                }
            },
        }
    }
    // Back to the absolute form the connector is asked with.
    *req.uri_mut() = absolute(&key, req.uri());
    open_and_send(pool, key, req).await
}

/// How long a request waits for an HTTP/1.1 connection whose response's body has ended to be
/// ready, before opening another. hyper readies it on the connection's own task once the
/// response is read; that task may not have run yet when the next request comes (measured
/// here: 0.1 to 0.9 ms when it had not). A connection not ready by then is still sending its
/// request body (the server answered before reading all of it) and is closed.
const RETURNING_GRACE: Duration = Duration::from_millis(20);

/// Sends `req` on the connection to `key` whose response's body has ended, once hyper has made
/// it ready (or on another that becomes idle first); on a new connection if none is within
/// [`RETURNING_GRACE`], or if none is on its way back any more (it closed).
async fn when_returned(
    pool: Arc<Pool>,
    key: Arc<str>,
    req: http::Request<Body>,
) -> Result<Answer, Failed> {
    let Some(own) = pool.own.as_ref() else {
        return through_legacy(&pool, req).await;
    };
    let waiting = Waiting::new(&own.waiting);
    let found = tokio::time::timeout(RETURNING_GRACE, async {
        loop {
            // Registered before the pool is looked at: one given back in between still wakes it.
            let changed = own.changed.notified();
            tokio::pin!(changed);
            changed.as_mut().enable();
            match pool.checkout(&key, true) {
                Found::Http1(conn) => return Some(conn),
                Found::Returning => changed.await,
                // None on its way back any more (it closed), or the origin now speaks HTTP/2.
                _ => return None,
            }
        }
    })
    .await;
    drop(waiting);
    match found {
        Ok(Some(conn)) => send_on_http1(Arc::clone(&pool), conn, req).await,
        _ => {
            tracing::debug!("no HTTP/1.1 connection came back in time; opening another");
            open_and_send(pool, key, req).await
        }
    }
}

/// Counts a request waiting for [`Own::changed`] while it lives: connections made idle wake
/// waiters only when there are some.
struct Waiting<'a>(&'a std::sync::atomic::AtomicUsize);

impl<'a> Waiting<'a> {
    fn new(count: &'a std::sync::atomic::AtomicUsize) -> Self {
        count.fetch_add(1, Ordering::SeqCst);
        Self(count)
    }
}

impl Drop for Waiting<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
    }
}

/// The URI `https://{key}{path}` of a request turned to origin-form.
fn absolute(key: &str, origin_form: &http::Uri) -> http::Uri {
    let pq = origin_form
        .path_and_query()
        .map_or("/", http::uri::PathAndQuery::as_str);
    http::Uri::builder()
        .scheme("https")
        .authority(key)
        .path_and_query(pq)
        .build()
        .unwrap_or_else(|_| origin_form.clone())
}

/// Turns `req` (absolute URI) into what an HTTP/1.1 connection to its origin is sent, as
/// hyper-util sends it: a `Host` header unless it has one (the port only when not the
/// scheme's default), and the target in origin-form.
fn for_http1(req: &mut http::Request<Body>) {
    let uri = req.uri();
    if !req.headers().contains_key(HOST)
        && let Some(host) = uri.host()
    {
        let value = match uri.port_u16() {
            Some(port) if Some(port) != default_port(uri.scheme_str()) => {
                HeaderValue::from_str(&format!("{host}:{port}"))
            }
            _ => HeaderValue::from_str(host),
        };
        if let Ok(value) = value {
            req.headers_mut().insert(HOST, value);
        }
    }
    let origin_form = match req.uri().path_and_query() {
        Some(pq) if pq.as_str() != "/" => {
            let mut parts = http::uri::Parts::default();
            parts.path_and_query = Some(pq.clone());
            http::Uri::from_parts(parts).unwrap_or_default()
        }
        _ => http::Uri::default(),
    };
    *req.uri_mut() = origin_form;
}

fn default_port(scheme: Option<&str>) -> Option<u16> {
    match scheme {
        Some("https") => Some(443),
        Some("http") => Some(80),
        _ => None,
    }
}

/// Opens a connection for `req` and sends it there: on HTTP/2 kept in the pool, else on an
/// HTTP/1.1 connection given back to the pool when its response is done.
async fn open_and_send(
    pool: Arc<Pool>,
    key: Arc<str>,
    mut req: http::Request<Body>,
) -> Result<Answer, Failed> {
    let Some(own) = pool.own.as_ref() else {
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
    let connect = own.connector.clone().call(uri);
    let conn = match kept_or_own(own, &pool, &key, connect).await {
        Opened::Kept(conn) => {
            // Another request's HTTP/2 connection was kept meanwhile: this one is abandoned
            // (its opening ends, so the request stops waiting for a connection) and the
            // request goes on the kept one, as hyper-util's pool hands a waiting request the
            // first HTTP/2 connection ready.
            return Box::pin(send_on(pool, conn, req)).await;
        }
        Opened::Idle(conn, connect) => {
            // An HTTP/1.1 connection came back meanwhile: the request goes on it, and the
            // one being opened is finished and kept for later, as hyper-util's pool does.
            let background = Arc::clone(&pool);
            let key = Arc::clone(&key);
            tokio::spawn(async move {
                if let Ok(conn) = connect.await
                    && let Some(own) = background.own.as_ref()
                    && let Ok(Established::Http1(conn)) =
                        establish(&background, own, key, conn).await
                {
                    give_back_when_ready(&background, conn);
                }
            });
            return Box::pin(send_on_http1(pool, conn, req)).await;
        }
        Opened::Own(conn) => conn.map_err(Failed::Connect)?,
    };
    match establish(&pool, own, key, conn).await? {
        Established::Http1(mut conn) => {
            for_http1(&mut req);
            // A new connection takes its first request before it is polled (hyper buffers
            // one).
            match conn.send.try_send_request(req).await {
                Ok(res) => Ok(Answer::on_http1(res, conn, &pool)),
                Err(e) => Err(Failed::Conn {
                    error: e.into_error(),
                    info: conn.info,
                }),
            }
        }
        Established::Http2(conn) => match http2::send(conn.send.clone(), req).await {
            Ok(res) => Ok(Answer::on(res, &conn.info)),
            Err(refused) => Err(Failed::Http2 {
                error: refused.into_failure(),
                info: conn.info,
            }),
        },
    }
}

/// A new connection, its protocol settled.
enum Established {
    Http1(Http1Conn),
    /// Kept in the pool for every request, unless one was kept first (then it serves the
    /// requests already on it and closes).
    Http2(Shared),
}

/// Runs hyper's handshake on a new connection to `key`, as ALPN says (HTTP/2 only when it is
/// offered), its task spawned; an HTTP/2 connection is kept in the pool.
async fn establish(
    pool: &Arc<Pool>,
    own: &Own,
    key: Arc<str>,
    conn: crate::connect::Conn,
) -> Result<Established, Failed> {
    let info = Arc::clone(conn.shared_info());
    if !(own.http2 && info.alpn.as_deref() == Some("h2")) {
        pool.remember_http1(&key);
        let (send, connection) = match own.http1.handshake(conn).await {
            Ok(pair) => pair,
            Err(error) => return Err(Failed::Conn { error, info }),
        };
        tokio::spawn(async move {
            if let Err(e) = connection.with_upgrades().await {
                tracing::debug!(error = %e, "HTTP/1.1 connection ended");
            }
        });
        return Ok(Established::Http1(Http1Conn { send, info, key }));
    };
    let send = match http2::handshake(conn).await {
        Ok(send) => send,
        Err(e) => {
            return Err(Failed::Http2 {
                error: http2::Failure::Protocol(e),
                info,
            });
        }
    };
    let conn = Shared {
        send,
        info,
        id: own.next_id.fetch_add(1, Ordering::Relaxed),
        key,
    };
    if pool.keep(&conn)
        && let Some(timeout) = own.idle_timeout
    {
        let_go_when_idle(
            Arc::downgrade(pool),
            conn.id,
            Arc::clone(&conn.key),
            timeout,
        );
    }
    Ok(Established::Http2(conn))
}

/// Sends `req` through hyper-util's pool.
async fn through_legacy(pool: &Pool, req: http::Request<Body>) -> Result<Answer, Failed> {
    pool.legacy
        .request(req)
        .await
        .map(Answer::legacy)
        .map_err(Failed::Legacy)
}

/// A connection being opened by the connector.
type Connecting = Pin<Box<dyn Future<Output = Result<crate::connect::Conn, Error>> + Send>>;

/// What a request opening a connection ends up with.
enum Opened {
    /// An HTTP/2 connection another request opened, kept while this one was being opened.
    Kept(Shared),
    /// An idle HTTP/1.1 connection that came back while this one was being opened (still
    /// being opened, handed back with it).
    Idle(Http1Conn, Connecting),
    /// Its own (or the connector's error).
    Own(Result<crate::connect::Conn, Error>),
}

/// Waits for `connect`, or for another connection to `key` to become available — an open
/// HTTP/2 connection kept by another request, an HTTP/1.1 connection back from its response —
/// whichever comes first.
async fn kept_or_own(own: &Own, pool: &Pool, key: &str, mut connect: Connecting) -> Opened {
    let _waiting = Waiting::new(&own.waiting);
    loop {
        // Registered before the pool is looked at: a connection kept in between still wakes it.
        let changed = own.changed.notified();
        tokio::pin!(changed);
        changed.as_mut().enable();
        match pool.checkout(key, false) {
            Found::Http2(conn) => return Opened::Kept(conn),
            Found::Http1(conn) => return Opened::Idle(conn, connect),
            // Left for the others: its task wakes this loop once it is ready.
            Found::Returning | Found::Nothing => {}
        }
        let woke = std::future::poll_fn(|cx| {
            if let Poll::Ready(r) = connect.as_mut().poll(cx) {
                return Poll::Ready(Some(r));
            }
            changed.as_mut().poll(cx).map(|()| None)
        })
        .await;
        if let Some(own) = woke {
            return Opened::Own(own);
        }
    }
}

/// Lets go of HTTP/2 connection `id` to `key` once no request took it for `timeout`, or once
/// it is closed (its last response still reads to the end: the connection closes after it).
fn let_go_when_idle(pool: Weak<Pool>, id: u64, key: Arc<str>, timeout: Duration) {
    on_timer(pool, Instant::now() + timeout, move |origins, now| {
        let until = match origins.map.get(&*key) {
            Some(Origin::Http2(h)) if h.conn.id == id => {
                (!h.conn.send.is_closed()).then_some(h.last_used + timeout)
            }
            // Replaced or forgotten: another watches its successor.
            _ => return (None, None),
        };
        match until {
            Some(until) if until > now => (Some(until), None),
            _ => (None, origins.map.remove(&*key)),
        }
    });
}

/// Closes the idle HTTP/1.1 connections not used for `timeout` (and those their server
/// closed), each at most `timeout` late, as hyper-util's pool does; ends when none is left
/// idle (the next one kept starts it again) or the pool is gone.
fn close_expired(pool: Weak<Pool>, timeout: Duration) {
    on_timer(pool, Instant::now() + timeout, move |origins, now| {
        let mut expired = Vec::new();
        let mut next: Option<Instant> = None;
        for origin in origins.map.values_mut() {
            let Origin::Http1(Http1Origin { idle, .. }) = origin else {
                continue;
            };
            let (keep, gone): (Vec<Idle>, Vec<Idle>) = std::mem::take(idle)
                .into_iter()
                .partition(|i| i.conn.send.is_ready() && now < i.since + timeout);
            *idle = keep;
            expired.extend(gone);
            if let Some(oldest) = idle.first() {
                let due = oldest.since + timeout;
                next = Some(next.map_or(due, |n| n.min(due)));
            }
        }
        if next.is_none() {
            origins.reaping = false;
        }
        (next, expired)
    });
}

/// A task that runs `turn` on the pool's origins at `at`, then again at the time `turn` says,
/// until it says none or the pool is gone. What `turn` hands out besides (connections let go)
/// is dropped after the lock is released: connections close outside it.
fn on_timer<T: Send + 'static>(
    pool: Weak<Pool>,
    mut at: Instant,
    mut turn: impl FnMut(&mut Origins, Instant) -> (Option<Instant>, T) + Send + 'static,
) {
    tokio::spawn(async move {
        loop {
            tokio::time::sleep_until(at).await;
            let Some(pool) = pool.upgrade() else { return };
            let Some(mut origins) = pool.origins() else {
                return;
            };
            let (next, let_go) = turn(&mut origins, Instant::now());
            drop(origins);
            drop(let_go);
            match next {
                Some(next) => at = next,
                None => return,
            }
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::connect::ConnectorSettings;
    use crate::settings::Settings;
    use hyper_util::rt::TokioExecutor;

    fn pool() -> Pool {
        let connector = Connector::new(ConnectorSettings::new(Settings::default())).unwrap();
        let http1 = legacy::Client::builder(TokioExecutor::new()).build(connector.clone());
        Pool::new(http1, connector, true, None, usize::MAX)
    }

    /// A connector going direct and trusting the root in `root` (a PEM file).
    fn trusting(root: std::path::PathBuf) -> Connector {
        let settings = Settings::new()
            .with_proxy(crate::ProxySetting::Direct)
            .with_ca_file([root]);
        Connector::new(ConnectorSettings::new(settings)).unwrap()
    }

    /// The pool's key for `url`.
    fn key_for(url: &str) -> String {
        let uri: http::Uri = url.parse().unwrap();
        key_of(uri.authority().unwrap().as_str()).into_owned()
    }

    /// A pool over `connector`, offering HTTP/2 when `http2`.
    fn pool_over(connector: &Connector, http2: bool) -> Arc<Pool> {
        let legacy = legacy::Client::builder(TokioExecutor::new()).build(connector.clone());
        Arc::new(Pool::new(
            legacy,
            connector.clone(),
            http2,
            None,
            usize::MAX,
        ))
    }

    #[test]
    fn origins_known_to_answer_http1_are_bounded() {
        let pool = pool();
        for i in 0..3 * MAX_ORIGINS {
            pool.remember_http1(&format!("origin-{i}.test:443"));
            assert!(pool.origins().unwrap().map.len() <= MAX_ORIGINS);
        }
        // The newest is remembered: the map was emptied of the old ones to make room.
        let newest = format!("origin-{}.test:443", 3 * MAX_ORIGINS - 1);
        assert!(matches!(
            pool.origins().unwrap().map.get(newest.as_str()),
            Some(Origin::Http1(o)) if o.is_empty()
        ));
        assert!(matches!(pool.checkout(&newest, true), Found::Nothing));
    }

    /// A request on a held connection that turns out to be gone (it ended after the pool last
    /// looked: `h2` refuses the stream before anything is sent) is sent once more, on a new
    /// connection, and the dead one is forgotten.
    #[cfg(feature = "testing")]
    #[tokio::test]
    async fn a_request_handed_back_unsent_is_sent_on_a_new_connection() {
        use crate::testing::{ChainMode, TestOrigin, TestPki};

        let pki = TestPki::new();
        let origin = TestOrigin::https(&pki, pki.localhost(), ChainMode::Full).await;
        let pool = pool_over(&trusting(pki.root_pem_path().to_path_buf()), true);

        // A connection whose peer went away: its task ends at once. The pool is handed it as
        // if it had not seen that yet.
        let (io, peer) = tokio::io::duplex(64 * 1024);
        let send = http2::handshake(hyper_util::rt::TokioIo::new(io))
            .await
            .unwrap();
        drop(peer);
        tokio::time::timeout(std::time::Duration::from_secs(5), async {
            while !send.is_closed() {
                tokio::time::sleep(std::time::Duration::from_millis(1)).await;
            }
        })
        .await
        .expect("the connection's task ends with its peer");
        let send = send.as_if_open();
        let url = origin.url_with_host("localhost", "/");
        let key = key_for(&url);
        let info = {
            // Any connection's facts: the held one never answers.
            let probe = pool.own.as_ref().unwrap().connector.clone();
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
        let res = sending.await.unwrap_or_else(|_| panic!("the retry failed"));
        assert_eq!(res.res.status(), 200);
        assert!(
            res.info.is_some(),
            "the new connection's facts come with the response"
        );
        assert_eq!(origin.accepted(), accepted_before + 1);
        match pool.checkout(&key, true) {
            Found::Http2(conn) => assert_ne!(conn.id, u64::MAX, "the dead connection is forgotten"),
            _ => panic!("the new connection is kept"),
        }
    }

    /// An idle HTTP/1.1 connection that ended between the checkout and the send hands the
    /// request back unsent: it goes on a new connection, in origin-form with its `Host`.
    #[cfg(feature = "testing")]
    #[tokio::test]
    async fn an_http1_request_handed_back_unsent_is_sent_on_a_new_connection() {
        use crate::testing::{ChainMode, TargetForm, TestOrigin, TestPki};

        let pki = TestPki::new();
        let origin = TestOrigin::https(&pki, pki.localhost(), ChainMode::Full).await;
        let connector = trusting(pki.root_pem_path().to_path_buf());
        let pool = pool_over(&connector, false);
        let url = origin.url_with_host("localhost", "/echo?x=1");
        let key = key_for(&url);
        let info = Arc::clone(
            connector
                .connect(url.parse().unwrap())
                .await
                .unwrap()
                .shared_info(),
        );
        // A connection whose task is gone: what is sent on it comes back unsent.
        let (io, _peer) = tokio::io::duplex(64 * 1024);
        let (send, gone) = http1::Builder::new()
            .handshake::<_, Body>(hyper_util::rt::TokioIo::new(io))
            .await
            .unwrap();
        drop(gone);
        let accepted_before = origin.accepted();

        let conn = Http1Conn {
            send,
            info,
            key: Arc::from(key.as_str()),
        };
        let req = http::Request::get(&url).body(Body::empty()).unwrap();
        let answer = send_on_http1(Arc::clone(&pool), conn, req)
            .await
            .unwrap_or_else(|_| panic!("the resend failed"));
        assert_eq!(answer.res.status(), 200);
        assert_eq!(origin.accepted(), accepted_before + 1);
        let seen = origin.requests().pop().unwrap();
        assert_eq!(seen.form, TargetForm::Origin);
        assert_eq!(seen.target, "/echo?x=1");
        assert_eq!(
            seen.headers.get(http::header::HOST).unwrap(),
            &format!("localhost:{}", origin.port())
        );
        // Read to its end, the new connection is kept for the next request.
        let mut body = answer.res.into_body();
        while let Some(frame) = http_body_util::BodyExt::frame(&mut body).await {
            frame.unwrap();
        }
        let mut found = pool.checkout(&key, true);
        for _ in 0..100 {
            if matches!(found, Found::Http1(_)) {
                break;
            }
            // The task that gives it back runs on its own.
            tokio::time::sleep(Duration::from_millis(10)).await;
            found = pool.checkout(&key, true);
        }
        assert!(matches!(found, Found::Http1(_)));
    }

    /// A response's task that ends with its runtime still takes the connection off the busy
    /// list: a later request, in another runtime, does not wait for it.
    #[cfg(feature = "testing")]
    #[test]
    fn a_connection_whose_runtime_ended_is_not_waited_for() {
        use crate::testing::{ChainMode, TestOrigin, TestPki};

        let pki = TestPki::new();
        // The origin lives in a runtime of its own, on its own thread.
        let (tx, rx) = std::sync::mpsc::channel();
        let root = pki.root_pem_path().to_path_buf();
        let origin_thread = std::thread::spawn(move || {
            let rt = tokio::runtime::Runtime::new().unwrap();
            rt.block_on(async {
                let origin = TestOrigin::https(&pki, pki.localhost(), ChainMode::Full).await;
                tx.send(origin.url_with_host("localhost", "/stream/300000"))
                    .unwrap();
                // Serves until the test ends.
                std::future::pending::<()>().await;
            });
        });
        let url = rx.recv().unwrap();
        let _ = origin_thread;
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        let pool = rt.block_on(async { pool_over(&trusting(root), false) });
        let key = key_for(&url);
        rt.block_on(async {
            let req = http::Request::get(&url).body(Body::empty()).unwrap();
            let answer = match pool.send(req).await {
                Ok(a) => a,
                Err(_) => panic!("the request failed"),
            };
            // Busy: the body is far from read.
            assert!(answer.end.is_some());
            answer.end.unwrap().reached();
            assert!(pool.returning(&key));
        });
        // The runtime ends with the response's task unfinished.
        drop(rt);
        assert!(!pool.returning(&key));
    }

    #[test]
    fn the_host_header_names_the_port_only_when_not_the_default() {
        for (url, host, target) in [
            ("https://example.org/a?b", "example.org", "/a?b"),
            ("https://example.org:443/", "example.org", "/"),
            ("https://example.org:8443/", "example.org:8443", "/"),
            ("https://[::1]:9/x", "[::1]:9", "/x"),
        ] {
            let mut req = http::Request::get(url).body(Body::empty()).unwrap();
            for_http1(&mut req);
            assert_eq!(req.headers()[HOST], host, "{url}");
            assert_eq!(req.uri(), target, "{url}");
        }
        // A Host the caller set is kept.
        let mut req = http::Request::get("https://example.org/")
            .header(HOST, "other.example")
            .body(Body::empty())
            .unwrap();
        for_http1(&mut req);
        assert_eq!(req.headers()[HOST], "other.example");
        assert_eq!(req.uri(), "/");
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
    fn without_idle_connections_everything_goes_to_hyper_util() {
        let connector = Connector::new(ConnectorSettings::new(Settings::default())).unwrap();
        let http1 = || legacy::Client::builder(TokioExecutor::new()).build(connector.clone());
        let none_idle = Pool::new(http1(), connector.clone(), true, None, 0);
        assert!(none_idle.own.is_none());
        assert!(matches!(
            none_idle.checkout("origin.test:443", true),
            Found::Nothing
        ));
        // Without HTTP/2 the pool still holds its HTTP/1.1 connections.
        let http1_only = Pool::new(http1(), connector.clone(), false, None, usize::MAX);
        assert!(http1_only.own.as_ref().is_some_and(|o| !o.http2));
    }
}
