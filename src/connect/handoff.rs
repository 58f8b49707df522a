//! The hand-over between the client and its connector for one request. hyper-util's pooled
//! client gives its connector only the URI, and calls it from the request's own task; the
//! client therefore puts a [`Handoff`] in a task-local around the send. A connection the request
//! opens follows the route the client already decided (one decision per request), and records
//! when it was ready, from which moment the request timeout runs.

use std::future::Future;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::Instant;

use crate::route::Route;

tokio::task_local! {
    static HANDOFF: Arc<Handoff>;
}

/// What the client hands its connector for one request.
pub(crate) struct Handoff {
    route: Route,
    /// The connector was asked for a connection for this request.
    asked: AtomicBool,
    opened: OnceLock<Instant>,
}

impl Handoff {
    pub(crate) fn new(route: Route) -> Arc<Self> {
        Arc::new(Self {
            route,
            asked: AtomicBool::new(false),
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

    /// Runs `send` with this hand-over visible to the connector.
    pub(crate) async fn scope<F: Future>(self: Arc<Self>, send: F) -> F::Output {
        HANDOFF.scope(self, send).await
    }

    /// The hand-over of the request the calling task is sending, if any.
    pub(super) fn current() -> Option<Arc<Self>> {
        HANDOFF.try_with(Arc::clone).ok()
    }

    pub(super) fn mark_asked(&self) {
        self.asked.store(true, Ordering::Release);
    }

    pub(super) fn mark_opened(&self) {
        let _ = self.opened.set(Instant::now());
    }
}
