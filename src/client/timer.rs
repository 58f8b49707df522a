//! The timer a request waits for its response under, kept for the thread's next request.
//!
//! Registering a tokio timer whose deadline is earlier than every timer the runtime's driver
//! will wake for (or when it has none) wakes the driver: an `eventfd` write and one more turn
//! of a parked worker. An HTTP/1 connection keeps its first-byte timer registered between
//! requests, so a request's new timer is rarely the earliest; an HTTP/2 connection keeps none,
//! and every request over it paid that wake-up (about half an `eventfd` write per request in
//! the keep-alive bench). A timer that stays registered and is moved to a *later* deadline costs
//! nothing of the kind: tokio records the later deadline without touching its wheel.
//!
//! So a request that ends on time leaves its timer to the thread it ended on, with the id of
//! the runtime whose driver the timer belongs to; the thread's next request on that runtime
//! moves it to its own deadline instead of making one. A timer is never polled under another
//! runtime (one that was shut down would panic): a request on another runtime drops it (tokio
//! allows that after shutdown) and makes its own. A thread holds at most one timer; a kept
//! timer whose deadline passes before the next request wakes the task that last waited on it
//! once, which a future must tolerate anyway.

use std::cell::Cell;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use tokio::runtime::{Handle, Id};
use tokio::time::{Instant, Sleep};

thread_local! {
    /// The timer the last request that ended on this thread left, with its runtime.
    static KEPT: Cell<Option<Kept>> = const { Cell::new(None) };
}

struct Kept {
    runtime: Id,
    sleep: Pin<Box<Sleep>>,
}

/// A request's timer: the thread's kept one moved to this deadline, or a new one.
#[derive(Debug)]
pub(crate) struct RequestTimer {
    /// The runtime the timer belongs to (`None` outside one, where making a timer panics as
    /// tokio's own do).
    runtime: Option<Id>,
    sleep: Pin<Box<Sleep>>,
}

impl RequestTimer {
    /// A timer that expires at `deadline`.
    pub(crate) fn until(deadline: Instant) -> Self {
        let runtime = Handle::try_current().ok().map(|h| h.id());
        let kept = KEPT.try_with(Cell::take).ok().flatten();
        match (runtime, kept) {
            (Some(id), Some(mut kept)) if kept.runtime == id => {
                kept.sleep.as_mut().reset(deadline);
                Self {
                    runtime,
                    sleep: kept.sleep,
                }
            }
            // Another runtime's timer (if any) is dropped here, never polled.
            _ => Self {
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

    /// Leaves the timer to this thread's next request, when this thread runs the timer's
    /// runtime (a thread outside it keeps nothing of it).
    pub(crate) fn keep(self) {
        let Some(runtime) = self.runtime else {
            return;
        };
        if Handle::try_current().is_ok_and(|h| h.id() == runtime) {
            // A timer kept earlier on this thread is dropped (the returned value).
            let _ = KEPT.try_with(|k| {
                k.replace(Some(Kept {
                    runtime,
                    sleep: self.sleep,
                }))
            });
        }
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    fn kept_runtime() -> Option<Id> {
        KEPT.with(|k| {
            let kept = k.take();
            let id = kept.as_ref().map(|k| k.runtime);
            k.set(kept);
            id
        })
    }

    /// A kept timer is reused under its runtime, moved to the new deadline, and still fires.
    #[tokio::test]
    async fn a_kept_timer_is_moved_and_still_fires() {
        let id = Handle::current().id();
        let first = RequestTimer::until(Instant::now() + Duration::from_secs(30));
        first.keep();
        assert_eq!(kept_runtime(), Some(id));
        let at = Instant::now() + Duration::from_secs(60);
        let mut timer = RequestTimer::until(at);
        assert_eq!(kept_runtime(), None, "taken, not copied");
        assert_eq!(timer.deadline(), at);
        // Earlier than before: fires at the new deadline, not the old one.
        let sooner = Instant::now() + Duration::from_millis(20);
        timer.reset(sooner);
        std::future::poll_fn(|cx| timer.poll_expired(cx)).await;
        assert!(Instant::now() >= sooner);
        assert!(Instant::now() < at - Duration::from_secs(50));
        timer.keep();
        assert_eq!(kept_runtime(), Some(id));
    }

    /// A timer kept under a runtime that has since shut down is dropped, not polled: the next
    /// runtime's request gets a timer of its own that works.
    #[test]
    fn another_runtimes_timer_is_never_polled() {
        let make = || {
            tokio::runtime::Builder::new_current_thread()
                .enable_time()
                .build()
                .map_err(|e| e.to_string())
        };
        let (first, second) = (make(), make());
        let (Ok(first), Ok(second)) = (first, second) else {
            panic!("runtimes build");
        };
        let first_id = first.handle().id();
        first.block_on(async {
            RequestTimer::until(Instant::now() + Duration::from_secs(30)).keep();
        });
        assert_eq!(kept_runtime(), Some(first_id));
        drop(first);
        second.block_on(async {
            let mut timer = RequestTimer::until(Instant::now() + Duration::from_millis(20));
            assert_eq!(timer.runtime, Some(Handle::current().id()));
            std::future::poll_fn(|cx| timer.poll_expired(cx)).await;
            timer.keep();
        });
        assert_eq!(kept_runtime(), Some(second.handle().id()));
    }

    /// Outside any runtime nothing is kept (and nothing panics when keeping).
    #[test]
    fn a_thread_outside_the_runtime_keeps_nothing() {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_time()
            .build();
        let Ok(rt) = rt else {
            panic!("runtime builds");
        };
        let timer = rt.block_on(async { RequestTimer::until(Instant::now()) });
        std::thread::spawn(move || {
            timer.keep();
            assert_eq!(kept_runtime(), None);
        })
        .join()
        .unwrap_or_else(|_| panic!("the thread panicked"));
    }
}
