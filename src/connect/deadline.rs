//! A request's own deadline (`RequestBuilder::timeout`), seen by the connector. hyper-util's
//! pooled client gives its connector only the URI and drives the connection from the request's
//! own task, so the client hands the deadline over with the route (`handoff`), and a list of
//! proxies sets its own budget in a task-local around its attempts; every phase's timeout
//! (resolving and connecting together, proxy handshake, TLS) is then the shorter of the
//! profile's and the time left, and a deadline that passes mid-connection is reported as the
//! phase it hit (`origin.timeout`, `proxy.timeout`, `tls.timeout`) with the timings so far.

use std::future::Future;
use std::time::Duration;

use tokio::time::Instant;

tokio::task_local! {
    static DEADLINE: Instant;
}

/// Runs `f` with `deadline` visible to the connector (no deadline: `f` as it is).
pub(crate) async fn scope<F: Future>(deadline: Option<Instant>, f: F) -> F::Output {
    match deadline {
        Some(d) => DEADLINE.scope(d, f).await,
        None => f.await,
    }
}

/// `timeout`, or the time left before the request's deadline when that is shorter.
/// The deadline is the request's own (handed over by the client, see `handoff`) or a list's
/// budget (set here by `scope`), whichever is sooner.
pub(crate) fn cap(timeout: Duration) -> Duration {
    let scoped = DEADLINE.try_with(|d| *d).ok();
    let handed = super::Handoff::current_deadline();
    match scoped.into_iter().chain(handed).min() {
        Some(d) => timeout.min(d.saturating_duration_since(Instant::now())),
        None => timeout,
    }
}

/// The time one hop's connect has, taken once when it starts: resolving the hop's name and the
/// TCP connect to its addresses share it, as curl's connect timeout covers both. Without one
/// budget a slow resolver and a silent address each got the whole timeout.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Budget {
    /// When the time is up.
    pub(crate) until: Instant,
    /// The timeout it stands for, which errors name: the phase's, or what was left of the
    /// request's deadline when that was shorter (see [`cap`]).
    pub(crate) timeout: Duration,
}

impl Budget {
    /// `timeout` from now, capped by the request's deadline.
    pub(crate) fn start(timeout: Duration) -> Self {
        let timeout = cap(timeout);
        Self {
            until: Instant::now() + timeout,
            timeout,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn the_shorter_of_the_phase_timeout_and_the_time_left() {
        let long = Duration::from_secs(30);
        assert_eq!(cap(long), long);
        let d = Instant::now() + Duration::from_millis(200);
        let capped = scope(Some(d), async { cap(long) }).await;
        assert!(capped <= Duration::from_millis(200), "{capped:?}");
        let short = Duration::from_millis(5);
        assert_eq!(scope(Some(d), async { cap(short) }).await, short);
        let past = Instant::now();
        tokio::time::sleep(Duration::from_millis(2)).await;
        assert_eq!(scope(Some(past), async { cap(long) }).await, Duration::ZERO);
        assert_eq!(scope(None, async { cap(long) }).await, long);
    }

    #[tokio::test(start_paused = true)]
    async fn a_budget_is_taken_once_and_capped_by_the_deadline() {
        let long = Duration::from_secs(30);
        let b = Budget::start(long);
        assert_eq!((b.until - Instant::now(), b.timeout), (long, long));
        let d = Instant::now() + Duration::from_millis(200);
        let b = scope(Some(d), async { Budget::start(long) }).await;
        assert_eq!((b.until, b.timeout), (d, Duration::from_millis(200)));
    }
}
