//! The hand-over between the client and its connector for one request. hyper-util's pooled
//! client gives its connector only the URI, and calls it from inside the request's own poll;
//! the client therefore makes a [`Handoff`] visible to the connector on the polling thread for
//! the length of each poll of the send ([`Handoff::visible_during`]). A connection the request
//! opens follows the route the client already decided (one decision per request), each of its
//! phases is capped by the request's own deadline, and it records when it was ready, from
//! which moment the request timeout runs.
//!
//! A thread-local swapped around the poll, as tokio's task-locals are, but around the one call
//! that can reach the connector rather than as a future wrapped around the send: the response
//! then comes out of hyper-util's future without another layer to pass through, which every
//! request paid for.

use std::cell::RefCell;
use std::sync::{Arc, OnceLock};
use std::time::Instant;

use crate::route::Route;

thread_local! {
    /// The hand-over of the request being polled on this thread, if any.
    static CURRENT: RefCell<Option<Arc<Handoff>>> = const { RefCell::new(None) };
}

/// What the client hands its connector for one request.
pub(crate) struct Handoff {
    route: Route,
    /// The request's own deadline (`RequestBuilder::timeout`), which caps every phase of a
    /// connection it opens.
    deadline: Option<tokio::time::Instant>,
    opened: OnceLock<Instant>,
}

impl Handoff {
    pub(crate) fn new(route: Route, deadline: Option<tokio::time::Instant>) -> Arc<Self> {
        Arc::new(Self {
            route,
            deadline,
            opened: OnceLock::new(),
        })
    }

    /// The route the client decided.
    pub(crate) fn route(&self) -> &Route {
        &self.route
    }

    /// When a connection this request asked the connector for was ready, if it did.
    pub(crate) fn opened(&self) -> Option<Instant> {
        self.opened.get().copied()
    }

    /// Runs `poll` (one poll of the request's send) with the hand-over in `slot` visible to
    /// the connector, and puts it back in `slot` afterwards, however `poll` ends.
    pub(crate) fn visible_during<T>(slot: &mut Option<Arc<Self>>, poll: impl FnOnce() -> T) -> T {
        /// Swaps the slot back on the way out, unwinding included.
        struct Restore<'a>(&'a mut Option<Arc<Handoff>>);
        impl Drop for Restore<'_> {
            fn drop(&mut self) {
                // `try_with`: during thread teardown there is nothing left to restore.
                let _ = CURRENT.try_with(|c| std::mem::swap(self.0, &mut *c.borrow_mut()));
            }
        }
        let swapped = CURRENT
            .try_with(|c| {
                c.try_borrow_mut()
                    .map(|mut c| std::mem::swap(slot, &mut *c))
                    .is_ok()
            })
            .unwrap_or(false);
        if !swapped {
            return poll();
        }
        let _restore = Restore(slot);
        poll()
    }

    /// The hand-over of the request being polled on this thread, if any.
    pub(super) fn current() -> Option<Arc<Self>> {
        CURRENT
            .try_with(|c| c.try_borrow().ok().and_then(|c| c.clone()))
            .ok()
            .flatten()
    }

    /// The deadline of the request being polled on this thread, if it has one.
    pub(super) fn current_deadline() -> Option<tokio::time::Instant> {
        CURRENT
            .try_with(|c| c.try_borrow().ok().and_then(|c| c.as_ref()?.deadline))
            .ok()
            .flatten()
    }

    pub(super) fn mark_opened(&self) {
        let _ = self.opened.set(Instant::now());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn handoff(deadline_ms: u64) -> Arc<Handoff> {
        let url = url::Url::parse("http://origin.test/").unwrap();
        let route = crate::route::resolve(
            &crate::settings::Settings::default(),
            None,
            &crate::proxy::EnvSnapshot::from_pairs::<&str, &str>([]),
            &url,
        )
        .unwrap();
        let at = tokio::time::Instant::now() + std::time::Duration::from_millis(deadline_ms);
        Handoff::new(route, Some(at))
    }

    #[test]
    fn visible_only_during_the_poll_and_back_in_its_slot_after() {
        assert!(Handoff::current().is_none());
        let outer = handoff(100);
        let mut slot = Some(Arc::clone(&outer));
        let seen = Handoff::visible_during(&mut slot, || {
            assert!(Handoff::current().is_some_and(|h| Arc::ptr_eq(&h, &outer)));
            // A request polled inside another's poll sees its own, then the outer one again.
            let inner = handoff(5);
            let mut inner_slot = Some(Arc::clone(&inner));
            Handoff::visible_during(&mut inner_slot, || {
                assert!(Handoff::current().is_some_and(|h| Arc::ptr_eq(&h, &inner)));
            });
            assert!(inner_slot.is_some_and(|h| Arc::ptr_eq(&h, &inner)));
            Handoff::current_deadline()
        });
        assert_eq!(seen, outer.deadline);
        assert!(slot.is_some_and(|h| Arc::ptr_eq(&h, &outer)));
        assert!(Handoff::current().is_none());
        assert!(Handoff::current_deadline().is_none());
    }

    #[test]
    fn put_back_when_the_poll_panics() {
        let h = handoff(100);
        let mut slot = Some(Arc::clone(&h));
        let caught = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            Handoff::visible_during(&mut slot, || panic!("poll panicked"))
        }));
        assert!(caught.is_err());
        assert!(Handoff::current().is_none());
        assert!(slot.is_some_and(|s| Arc::ptr_eq(&s, &h)));
    }
}
