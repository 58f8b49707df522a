//! The accept loop of the example servers (`probe serve` and the translation service), and what
//! it protects them from: too many connections, clients that never finish a request head
//! (slowloris, idle sockets), and running out of file descriptors.
//!
//! - At most `max_connections` connections are open. At the limit, a new connection closes the
//!   oldest idle one (no request in flight: idle sockets, slow heads, idle keep-alives) and
//!   takes its place, so a real request keeps getting in while idle sockets pile up; when every
//!   connection is busy, the new one gets the server's canned `503` at once, without its request
//!   being read, and is closed.
//! - A request head must arrive within `header_timeout` (hyper's header read timer, which also
//!   bounds how long an idle keep-alive connection is kept), and fit in `max_head_bytes`.
//! - When accept fails because the process or system is out of descriptors (EMFILE, ENFILE),
//!   the loop closes the oldest idle connection to free one, then stops accepting until a
//!   connection's task has ended (its descriptor is free then) or a back-off has passed (5 ms
//!   doubling to 500 ms; 500 ms after closing one), logging one line per 10 s that counts the
//!   failures it did not log. Closing a connection is not instant: its task drops the socket
//!   when a worker next runs it. Accepting again before that fails again (the kernel wants a
//!   free descriptor before it looks at the queue, so it fails even with nobody waiting), and
//!   a loop that closed one per failure would close every idle connection in a burst, down
//!   to the one it had just accepted, whose request it had not read (its client gets a reset).
//!
//! Only HTTP/1.1 is served: its header timeout starts the moment a connection is accepted,
//! which an HTTP/2 preface sniff would delay without a bound.
//!
//! Shared by the two examples with `#[path]`: each keeps only its own limits and 503 answer.

use std::collections::BTreeMap;
use std::convert::Infallible;
use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper::{Request, Response};
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::{AbortHandle, JoinSet};

/// How often a repeated accept failure or refusal is logged.
pub(crate) const LOG_INTERVAL: Duration = Duration::from_secs(10);
/// The first back-off after a failed accept.
const BACKOFF_START: Duration = Duration::from_millis(5);
/// The longest back-off.
const BACKOFF_MAX: Duration = Duration::from_millis(500);

/// Linux and macOS agree: "too many open files" in the process (EMFILE) or the system (ENFILE).
const EMFILE: i32 = 24;
const ENFILE: i32 = 23;

/// What the accept loop enforces.
#[derive(Debug, Clone)]
pub(crate) struct Limits {
    /// Connections open at once (at least one).
    pub(crate) max_connections: usize,
    /// Time to receive a request head; also how long an idle keep-alive connection is kept.
    pub(crate) header_timeout: Duration,
    /// The most bytes buffered while reading a request head (hyper's read buffer; at least
    /// 8 KiB); `None` keeps hyper's default.
    pub(crate) max_head_bytes: Option<usize>,
    /// The whole answer (head and body, `connection: close`) to a connection over the limit
    /// when every connection is busy.
    pub(crate) overloaded: &'static [u8],
}

/// One open connection: how to close it, and whether a request is in flight on it.
struct Open {
    abort: AbortHandle,
    in_flight: Arc<AtomicUsize>,
}

/// Counts a connection's requests in flight while a request future lives (also when it is
/// dropped half-way).
struct InFlight(Arc<AtomicUsize>);

impl InFlight {
    fn enter(counter: &Arc<AtomicUsize>) -> Self {
        counter.fetch_add(1, Ordering::SeqCst);
        Self(Arc::clone(counter))
    }
}

impl Drop for InFlight {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
    }
}

/// Logs at most once per interval and says how many it did not log.
#[derive(Debug)]
pub(crate) struct RateLimited {
    interval: Duration,
    last: Option<Instant>,
    suppressed: u64,
}

impl RateLimited {
    /// A limiter that lets one line through per `interval`.
    pub(crate) fn new(interval: Duration) -> Self {
        Self {
            interval,
            last: None,
            suppressed: 0,
        }
    }

    /// `Some(n)` when a line should be logged at `now`, `n` being the events not logged since
    /// the previous line; `None` when this one is suppressed.
    pub(crate) fn hit(&mut self, now: Instant) -> Option<u64> {
        match self.last {
            Some(at) if now.saturating_duration_since(at) < self.interval => {
                self.suppressed += 1;
                None
            }
            _ => {
                self.last = Some(now);
                Some(std::mem::take(&mut self.suppressed))
            }
        }
    }
}

/// Serves `listener` with `handle` until `stopped` completes; dropping the future (or
/// returning) closes every connection.
pub(crate) async fn serve<H, Fut, B>(
    listener: TcpListener,
    limits: Limits,
    handle: H,
    stopped: impl Future<Output = ()>,
) where
    H: Fn(Request<Incoming>) -> Fut + Clone + Send + Sync + 'static,
    Fut: Future<Output = Response<B>> + Send + 'static,
    B: hyper::body::Body + Send + 'static,
    B::Data: Send,
    B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    let max = limits.max_connections.max(1);
    // The connection tasks, and by age (oldest first) how to close each.
    let mut connections: JoinSet<u64> = JoinSet::new();
    let mut open: BTreeMap<u64, Open> = BTreeMap::new();
    let mut next_id = 0u64;
    let mut backoff = BACKOFF_START;
    // After a failed accept: accept again at this time, or as soon as a connection ends.
    let mut paused: Option<tokio::time::Instant> = None;
    let mut accept_log = RateLimited::new(LOG_INTERVAL);
    let mut refusal_log = RateLimited::new(LOG_INTERVAL);
    tokio::pin!(stopped);
    loop {
        let accepted = tokio::select! {
            a = listener.accept(), if paused.is_none() => a,
            () = sleep_until(paused), if paused.is_some() => {
                paused = None;
                continue;
            }
            () = &mut stopped => break,
            Some(done) = connections.join_next(), if !connections.is_empty() => {
                // Ended or closed, its socket is dropped: a descriptor is free.
                paused = None;
                if let Ok(id) = done {
                    open.remove(&id);
                }
                continue;
            }
        };
        let stream = match accepted {
            Ok((stream, _)) => {
                backoff = BACKOFF_START;
                stream
            }
            Err(e) => {
                let out_of_fds = matches!(e.raw_os_error(), Some(EMFILE | ENFILE));
                // One idle connection per failure, and no accept until its task has ended.
                let closed = out_of_fds && close_oldest_idle(&mut open);
                if let Some(suppressed) = accept_log.hit(Instant::now()) {
                    tracing::warn!(
                        error = %e,
                        out_of_fds,
                        open = open.len(),
                        suppressed,
                        "accept failed; backing off"
                    );
                }
                let wait = if closed { BACKOFF_MAX } else { backoff };
                backoff = (backoff * 2).min(BACKOFF_MAX);
                paused = Some(tokio::time::Instant::now() + wait);
                continue;
            }
        };
        if open.len() >= max && !close_oldest_idle(&mut open) {
            refuse(&stream, limits.overloaded);
            if let Some(suppressed) = refusal_log.hit(Instant::now()) {
                tracing::warn!(
                    max_connections = max,
                    suppressed,
                    "every connection is busy; answered 503"
                );
            }
            continue;
        }
        let id = next_id;
        next_id += 1;
        let in_flight = Arc::new(AtomicUsize::new(0));
        let abort = connections.spawn(connection(
            id,
            stream,
            handle.clone(),
            Arc::clone(&in_flight),
            limits.clone(),
        ));
        open.insert(id, Open { abort, in_flight });
    }
}

/// Serves one connection; returns its id when it ends.
async fn connection<H, Fut, B>(
    id: u64,
    stream: TcpStream,
    handle: H,
    in_flight: Arc<AtomicUsize>,
    limits: Limits,
) -> u64
where
    H: Fn(Request<Incoming>) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Response<B>> + Send + 'static,
    B: hyper::body::Body + Send + 'static,
    B::Data: Send,
    B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    let service = service_fn(move |req| {
        let busy = InFlight::enter(&in_flight);
        let res = handle(req);
        async move {
            let res = res.await;
            drop(busy);
            Ok::<_, Infallible>(res)
        }
    });
    let mut http = hyper::server::conn::http1::Builder::new();
    http.timer(TokioTimer::new())
        .header_read_timeout(limits.header_timeout);
    if let Some(max) = limits.max_head_bytes {
        http.max_buf_size(max.max(8192));
    }
    let _ = http.serve_connection(TokioIo::new(stream), service).await;
    id
}

/// Completes at `at`; never when there is no time (its `select!` branch is disabled then).
async fn sleep_until(at: Option<tokio::time::Instant>) {
    match at {
        Some(at) => tokio::time::sleep_until(at).await,
        None => std::future::pending().await,
    }
}

/// Closes the oldest connection with no request in flight; `false` when all are busy.
fn close_oldest_idle(open: &mut BTreeMap<u64, Open>) -> bool {
    let idle = open
        .iter()
        .find(|(_, c)| c.in_flight.load(Ordering::SeqCst) == 0)
        .map(|(id, _)| *id);
    match idle.and_then(|id| open.remove(&id)) {
        Some(c) => {
            c.abort.abort();
            true
        }
        None => false,
    }
}

/// Writes the canned answer without reading the request and closes: a fresh socket's send
/// buffer takes the whole answer at once, and nothing waits on a client that does not read it.
fn refuse(stream: &TcpStream, answer: &[u8]) {
    // A full buffer (WouldBlock) or a reset peer: nothing more to do either way.
    let _ = stream.try_write(answer);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_line_per_interval_counting_the_rest() {
        let mut log = RateLimited::new(Duration::from_secs(10));
        let t0 = Instant::now();
        assert_eq!(log.hit(t0), Some(0));
        for i in 1..=5 {
            assert_eq!(log.hit(t0 + Duration::from_secs(i)), None);
        }
        assert_eq!(log.hit(t0 + Duration::from_secs(10)), Some(5));
        assert_eq!(log.hit(t0 + Duration::from_secs(11)), None);
        assert_eq!(log.hit(t0 + Duration::from_secs(25)), Some(1));
    }
}
