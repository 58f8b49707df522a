//! The timers requests wait for their responses under, kept by the client for its next
//! requests.
//!
//! Registering a tokio timer whose deadline is earlier than every timer the runtime's driver
//! will wake for (or when it has none) wakes the driver: an `eventfd` write and one more turn
//! of a parked worker. An HTTP/1 connection keeps its first-byte timer registered between
//! requests, so a request's new timer is rarely the earliest; an HTTP/2 connection keeps none,
//! and every request over it paid that wake-up (about half an `eventfd` write per request in
//! the keep-alive bench). A timer that stays registered and is moved to a *later* deadline costs
//! nothing of the kind: tokio records the later deadline without touching its wheel.
//!
//! So a request that ends leaves its timer to the client ([`Timers`], a few per client), tagged
//! with the id of the runtime whose driver it belongs to; a later request on that runtime moves
//! it to its own deadline instead of making one. A timer is never polled under another runtime
//! (one that was shut down would panic): it stays unused until newer timers push it out, or the
//! client is dropped. The kept timers live and die with the client, as its pooled connections
//! (registered with the same drivers) do: dropping the client and the runtime leaves nothing
//! behind. The pool is never waited for: a request that finds it busy makes its own timer, and
//! one that finds it full lets the oldest go. A kept timer holds no task's waker (see
//! [`RequestTimer::keep`]).

use std::future::Future;
use std::pin::Pin;
use std::sync::Mutex;
use std::task::{Context, Poll, Waker};

use tokio::runtime::{Handle, Id};
use tokio::time::{Instant, Sleep};

/// How many timers a client keeps: enough for that many requests at once to start without a
/// new registration.
const KEPT: usize = 16;

/// The timers a client keeps between requests.
#[derive(Default)]
pub(crate) struct Timers {
    kept: Mutex<Vec<Kept>>,
}

impl std::fmt::Debug for Timers {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let kept = self.kept.try_lock().map(|k| k.len()).ok();
        f.debug_struct("Timers").field("kept", &kept).finish()
    }
}

struct Kept {
    runtime: Id,
    sleep: Pin<Box<Sleep>>,
}

/// A request's timer: one the client kept, moved to this deadline, or a new one.
#[derive(Debug)]
pub(crate) struct RequestTimer {
    /// The runtime the timer belongs to (`None` outside one, where making a timer panics as
    /// tokio's own do).
    runtime: Option<Id>,
    sleep: Pin<Box<Sleep>>,
}

impl RequestTimer {
    /// A timer that expires at `deadline`: a kept one of this runtime when there is one.
    pub(crate) fn until(timers: &Timers, deadline: Instant) -> Self {
        let runtime = Handle::try_current().ok().map(|h| h.id());
        let taken = runtime.and_then(|id| {
            let mut kept = timers.kept.try_lock().ok()?;
            let at = kept.iter().rposition(|k| k.runtime == id)?;
            Some(kept.swap_remove(at))
        });
        match taken {
            Some(mut kept) => {
                kept.sleep.as_mut().reset(deadline);
                Self {
                    runtime,
                    sleep: kept.sleep,
                }
            }
            None => Self {
                runtime,
                sleep: Box::pin(tokio::time::sleep_until(deadline)),
            },
        }
    }

    /// The deadline.
    #[cfg(test)]
    fn deadline(&self) -> Instant {
        self.sleep.deadline()
    }

    /// Moves the deadline.
    pub(crate) fn reset(&mut self, deadline: Instant) {
        if self.sleep.deadline() != deadline {
            self.sleep.as_mut().reset(deadline);
        }
    }

    /// Ready once the deadline has passed.
    pub(crate) fn poll_expired(&mut self, cx: &mut Context<'_>) -> Poll<()> {
        self.sleep.as_mut().poll(cx)
    }

    /// Leaves the timer to the client's next requests on its runtime.
    pub(crate) fn keep(mut self, timers: &Timers) {
        let Some(runtime) = self.runtime else {
            return;
        };
        // The timer still holds the waker of the task that last waited on it: that task may be
        // long gone, its memory kept alive by the waker, and the old deadline would wake it for
        // nothing. A poll with a waker that does nothing takes its place — only under the
        // timer's own runtime, whose driver is then known to be running (polling a timer of a
        // runtime that was shut down panics).
        if Handle::try_current().is_ok_and(|h| h.id() == runtime) {
            let mut cx = Context::from_waker(Waker::noop());
            let _ = self.sleep.as_mut().poll(&mut cx);
        }
        // Dropped after the lock is released: the oldest timer when the pool was full, or this
        // one when the pool was busy.
        let _out = match timers.kept.try_lock() {
            Ok(mut kept) => {
                let out = (kept.len() >= KEPT).then(|| kept.remove(0));
                kept.push(Kept {
                    runtime,
                    sleep: self.sleep,
                });
                out.map(|k| k.sleep)
            }
            Err(_) => Some(self.sleep),
        };
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    fn kept(timers: &Timers) -> Vec<Id> {
        timers
            .kept
            .lock()
            .map(|k| k.iter().map(|k| k.runtime).collect())
            .unwrap_or_default()
    }

    /// A kept timer is reused under its runtime, moved to the new deadline, and still fires.
    #[tokio::test]
    async fn a_kept_timer_is_moved_and_still_fires() {
        let timers = Timers::default();
        let id = Handle::current().id();
        RequestTimer::until(&timers, Instant::now() + Duration::from_secs(30)).keep(&timers);
        assert_eq!(kept(&timers), vec![id]);
        let at = Instant::now() + Duration::from_secs(60);
        let mut timer = RequestTimer::until(&timers, at);
        assert!(kept(&timers).is_empty(), "taken, not copied");
        assert_eq!(timer.deadline(), at);
        // Earlier than before: fires at the new deadline, not the old one.
        let sooner = Instant::now() + Duration::from_millis(20);
        timer.reset(sooner);
        std::future::poll_fn(|cx| timer.poll_expired(cx)).await;
        assert!(Instant::now() >= sooner);
        assert!(Instant::now() < at - Duration::from_secs(50));
        timer.keep(&timers);
        assert_eq!(kept(&timers), vec![id]);
    }

    /// Keeping a timer lets go of the waker of the task that waited on it: the task's memory is
    /// not held by the pool, and the old deadline wakes nobody.
    #[tokio::test]
    async fn a_kept_timer_holds_no_waker() {
        struct Flag;
        impl std::task::Wake for Flag {
            fn wake(self: std::sync::Arc<Self>) {}
        }
        let timers = Timers::default();
        let flag = std::sync::Arc::new(Flag);
        let waker = Waker::from(std::sync::Arc::clone(&flag));
        let mut timer = RequestTimer::until(&timers, Instant::now() + Duration::from_secs(30));
        assert!(
            timer
                .poll_expired(&mut Context::from_waker(&waker))
                .is_pending()
        );
        drop(waker);
        assert_eq!(
            std::sync::Arc::strong_count(&flag),
            2,
            "the timer holds the waker"
        );
        timer.keep(&timers);
        assert_eq!(
            std::sync::Arc::strong_count(&flag),
            1,
            "kept, it holds none"
        );
        assert_eq!(kept(&timers).len(), 1);
    }

    /// A timer kept under a runtime that has since shut down is never polled: the next
    /// runtime's request gets a timer of its own that works, and the pool stays bounded.
    #[test]
    fn another_runtimes_timer_is_never_polled() {
        let make = || {
            tokio::runtime::Builder::new_current_thread()
                .enable_time()
                .build()
                .map_err(|e| e.to_string())
        };
        let timers = Timers::default();
        let (Ok(first), Ok(second)) = (make(), make()) else {
            panic!("runtimes build");
        };
        let first_id = first.handle().id();
        first.block_on(async {
            // Three requests at once: three timers, all kept.
            let three: Vec<_> = (0..3)
                .map(|_| RequestTimer::until(&timers, Instant::now() + Duration::from_secs(30)))
                .collect();
            for t in three {
                t.keep(&timers);
            }
        });
        assert_eq!(kept(&timers), vec![first_id; 3]);
        drop(first);
        let second_id = second.handle().id();
        second.block_on(async {
            let mut timer =
                RequestTimer::until(&timers, Instant::now() + Duration::from_millis(20));
            assert_eq!(timer.runtime, Some(second_id));
            std::future::poll_fn(|cx| timer.poll_expired(cx)).await;
            timer.keep(&timers);
            // Many at once fill the pool: the oldest (the dead runtime's first) go.
            let many: Vec<_> = (0..KEPT + 2)
                .map(|_| RequestTimer::until(&timers, Instant::now() + Duration::from_secs(30)))
                .collect();
            for t in many {
                t.keep(&timers);
            }
        });
        let left = kept(&timers);
        assert_eq!(left.len(), KEPT);
        assert!(left.iter().all(|&id| id == second_id));
    }

    /// Outside any runtime nothing is kept, and a busy pool is never waited for.
    #[test]
    fn no_runtime_and_a_busy_pool_keep_nothing() {
        let timers = Timers::default();
        let Ok(rt) = tokio::runtime::Builder::new_current_thread()
            .enable_time()
            .build()
        else {
            panic!("runtime builds");
        };
        rt.block_on(async {
            let guard = timers.kept.lock();
            RequestTimer::until(&timers, Instant::now()).keep(&timers);
            drop(guard);
            assert!(kept(&timers).is_empty());
        });
        let sleep = {
            let _entered = rt.enter();
            Box::pin(tokio::time::sleep_until(Instant::now()))
        };
        let outside = RequestTimer {
            runtime: None,
            sleep,
        };
        outside.keep(&timers);
        assert!(kept(&timers).is_empty());
    }
}
