//! The hand-over between the client and its connector for one request. hyper-util's pooled
//! client gives its connector only the URI, and calls it from inside the request's own poll;
//! the client therefore makes a [`Handoff`] visible to the connector on the polling thread for
//! the length of each poll of the send ([`Handoff::visible_during`]). A connection the request
//! opens follows the route the client already decided (one decision per request), each of its
//! phases is capped by the request's own deadline, and it records when it was ready, from
//! which moment the request timeout runs. It also tells the request whether a connection is in
//! hand: hyper-util's own way (`capture_connection`) costs every request six allocations,
//! most of them freed on another thread.
//!
//! A thread-local swapped around the poll, as tokio's task-locals are, but around the one call
//! that can reach the connector rather than as a future wrapped around the send: the response
//! then comes out of hyper-util's future without another layer to pass through, which every
//! request paid for.

use std::cell::RefCell;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, OnceLock};
use std::task::Context;
use std::time::Instant;

use futures_util::task::AtomicWaker;

use super::ConnInfo;
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
    /// When the first connection the connector opened for this request was ready, and how it
    /// was made.
    opened: OnceLock<(Instant, Arc<ConnInfo>)>,
    /// The connector is opening a connection for this request (not before it is asked, nor
    /// once that connection is ready or failed).
    connecting: AtomicBool,
    /// The request's task while it waits for a connection being opened: woken when it ends.
    waiting: AtomicWaker,
}

impl Handoff {
    pub(crate) fn new(route: Route, deadline: Option<tokio::time::Instant>) -> Arc<Self> {
        Arc::new(Self {
            route,
            deadline,
            opened: OnceLock::new(),
            connecting: AtomicBool::new(false),
            waiting: AtomicWaker::new(),
        })
    }

    /// The route the client decided.
    pub(crate) fn route(&self) -> &Route {
        &self.route
    }

    /// Whether the request whose send was just polled (and is pending) is still waiting for a
    /// connection; if so, its task is woken when the connection being opened for it is ready
    /// or fails.
    ///
    /// hyper-util asks its pool and the connector in the same poll, so a pending send that
    /// asked the connector for nothing has a pooled connection in hand; one whose connection
    /// is being opened has none until that ends, unless hyper-util's pool handed it one
    /// meanwhile (HTTP/1.1: an idle connection came back while it connects). That request
    /// then waits for its head from when its own connection was ready, not from when the
    /// pooled one was: later, never sooner, than the request timeout says.
    ///
    /// The client's own connections (`client::pool`) keep this reading: a request that
    /// finds one asks the connector nothing, one that finds none has the connector open one.
    /// This also reads hyper-util's pool in its default mode, where ALPN decides the protocol
    /// and every request that finds no idle connection asks the connector. Its HTTP/2-only mode
    /// (`http2_only`, which the client never sets) would have a request wait for another's
    /// connection without asking the connector, and this would take it for a pooled one.
    pub(crate) fn waits_for_connection(&self, cx: &Context<'_>) -> bool {
        if !self.connecting.load(Ordering::Acquire) {
            return false;
        }
        self.waiting.register(cx.waker());
        // Looked at again: a connection that ended before the registration woke nobody.
        self.connecting.load(Ordering::Acquire)
    }

    /// When the connection the connector opened for this request was ready, if it opened one.
    pub(crate) fn opened(&self) -> Option<Instant> {
        self.opened.get().map(|(at, _)| *at)
    }

    /// How the connection the connector opened for this request was made, if it opened one.
    pub(crate) fn opened_info(&self) -> Option<&ConnInfo> {
        self.opened.get().map(|(_, info)| &**info)
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
    pub(crate) fn current() -> Option<Arc<Self>> {
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

    /// The connector starts opening a connection for this request; the returned guard says
    /// how that ended (a failure when it is dropped without [`Opening::opened`]).
    pub(super) fn opening(self: Arc<Self>) -> Opening {
        self.connecting.store(true, Ordering::Release);
        Opening(self)
    }

    fn end(&self) {
        self.connecting.store(false, Ordering::Release);
        self.waiting.wake();
    }
}

/// A connection being opened for a request (see [`Handoff::opening`]).
pub(super) struct Opening(Arc<Handoff>);

impl Opening {
    /// The hand-over being followed.
    pub(super) fn handoff(&self) -> &Handoff {
        &self.0
    }

    /// The connection is ready.
    pub(super) fn opened(self, info: Arc<ConnInfo>) {
        let _ = self.0.opened.set((Instant::now(), info));
        // `Drop` ends it.
    }
}

impl Drop for Opening {
    fn drop(&mut self) {
        self.0.end();
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

    /// Counts the wake-ups of the task it stands for.
    struct Counter(std::sync::atomic::AtomicUsize);

    impl std::task::Wake for Counter {
        fn wake(self: Arc<Self>) {
            self.0.fetch_add(1, Ordering::SeqCst);
        }
    }

    fn counter() -> (Arc<Counter>, std::task::Waker) {
        let c = Arc::new(Counter(std::sync::atomic::AtomicUsize::new(0)));
        (Arc::clone(&c), std::task::Waker::from(c))
    }

    fn info(h: &Handoff) -> Arc<ConnInfo> {
        Arc::new(ConnInfo {
            route: h.route().clone(),
            absolute_form: false,
            tunnel: false,
            peer: None,
            alpn: None,
            timings: crate::error::Timings::default(),
            origin_tls: None,
            proxy_tls: None,
            failure: Arc::default(),
        })
    }

    #[test]
    fn a_request_that_opened_nothing_has_a_pooled_connection() {
        let h = handoff(100);
        let (count, waker) = counter();
        assert!(!h.waits_for_connection(&Context::from_waker(&waker)));
        assert!(h.opened().is_none() && h.opened_info().is_none());
        assert_eq!(count.0.load(Ordering::SeqCst), 0);
    }

    #[test]
    fn a_connection_being_opened_is_waited_for_until_it_is_ready() {
        let h = handoff(100);
        let (count, waker) = counter();
        let cx = Context::from_waker(&waker);
        let opening = Arc::clone(&h).opening();
        assert!(h.waits_for_connection(&cx));
        assert_eq!(
            count.0.load(Ordering::SeqCst),
            0,
            "no wake-up while it connects"
        );
        let before = Instant::now();
        opening.opened(info(&h));
        // Ready: the waiting task is woken, and its head deadline runs from then.
        assert_eq!(count.0.load(Ordering::SeqCst), 1);
        assert!(!h.waits_for_connection(&cx));
        assert!(h.opened().is_some_and(|at| at >= before));
        assert!(h.opened_info().is_some());
    }

    #[test]
    fn a_connection_that_fails_or_is_abandoned_ends_the_wait_too() {
        let h = handoff(100);
        let (count, waker) = counter();
        let cx = Context::from_waker(&waker);
        // Dropped without being ready: the connect failed, or hyper-util dropped it.
        let opening = Arc::clone(&h).opening();
        assert!(h.waits_for_connection(&cx));
        drop(opening);
        assert_eq!(count.0.load(Ordering::SeqCst), 1);
        assert!(!h.waits_for_connection(&cx));
        assert!(h.opened().is_none());
        // A retry opens another: waited for again, and its readiness is the one kept.
        let retry = Arc::clone(&h).opening();
        assert!(h.waits_for_connection(&cx));
        retry.opened(info(&h));
        assert_eq!(count.0.load(Ordering::SeqCst), 2);
        assert!(!h.waits_for_connection(&cx) && h.opened().is_some());
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
