//! Ownership of the harness's server tasks: every accept loop and connection a handle starts is
//! spawned into one [`Tasks`] set, so dropping the handle aborts them all (closing listeners and
//! sockets) and a panic inside any of them is re-raised in the test that owns the handle.

use std::any::Any;
use std::future::Future;
use std::panic;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use tokio::task::JoinSet;

/// A shared set of tasks with their recorded panics.
#[derive(Clone, Default)]
pub(crate) struct Tasks {
    inner: Arc<Mutex<Inner>>,
}

#[derive(Default)]
struct Inner {
    set: JoinSet<()>,
    panics: Vec<Box<dyn Any + Send>>,
    closed: bool,
}

impl Inner {
    /// Collects finished tasks so the set does not grow, keeping any panic payload.
    fn reap(&mut self) {
        while let Some(done) = self.set.try_join_next() {
            if let Err(err) = done
                && err.is_panic()
            {
                self.panics.push(err.into_panic());
            }
        }
    }
}

impl Tasks {
    fn lock(&self) -> MutexGuard<'_, Inner> {
        // A poisoned lock only means another test thread panicked; the data is still usable.
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Spawns `fut` on the current runtime unless the owner has shut down.
    pub(crate) fn spawn<F>(&self, fut: F)
    where
        F: Future<Output = ()> + Send + 'static,
    {
        let mut inner = self.lock();
        inner.reap();
        if !inner.closed {
            inner.set.spawn(fut);
        }
    }

    /// Re-raises the first panic any finished task produced.
    pub(crate) fn check(&self) {
        let payload = {
            let mut inner = self.lock();
            inner.reap();
            take_first(&mut inner.panics)
        };
        if let Some(payload) = payload {
            panic::resume_unwind(payload);
        }
    }

    /// Aborts every task; used on Drop. Re-raises a panic that had already happened unless the
    /// thread is already unwinding (a double panic would abort the test binary).
    pub(crate) fn abort(&self) {
        let payload = {
            let mut inner = self.lock();
            inner.reap();
            inner.closed = true;
            inner.set.abort_all();
            take_first(&mut inner.panics)
        };
        if let Some(payload) = payload
            && !std::thread::panicking()
        {
            panic::resume_unwind(payload);
        }
    }

    /// Aborts every task and waits until all of them are gone, so their sockets are closed when
    /// this returns. Re-raises the first panic any of them produced.
    pub(crate) async fn shutdown(&self) {
        let mut set = {
            let mut inner = self.lock();
            inner.closed = true;
            inner.set.abort_all();
            std::mem::take(&mut inner.set)
        };
        let mut panics = Vec::new();
        while let Some(done) = set.join_next().await {
            if let Err(err) = done
                && err.is_panic()
            {
                panics.push(err.into_panic());
            }
        }
        let payload = {
            let mut inner = self.lock();
            inner.panics.append(&mut panics);
            take_first(&mut inner.panics)
        };
        if let Some(payload) = payload {
            panic::resume_unwind(payload);
        }
    }
}

fn take_first(panics: &mut Vec<Box<dyn Any + Send>>) -> Option<Box<dyn Any + Send>> {
    if panics.is_empty() {
        None
    } else {
        Some(panics.remove(0))
    }
}

/// A hyper executor that spawns HTTP/2 stream tasks into the owner's [`Tasks`], so they are
/// aborted with everything else.
#[derive(Clone)]
pub(crate) struct Exec(pub(crate) Tasks);

impl<F> hyper::rt::Executor<F> for Exec
where
    F: Future + Send + 'static,
    F::Output: Send + 'static,
{
    fn execute(&self, fut: F) {
        self.0.spawn(async move {
            let _ = fut.await;
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_task_panic_is_raised_by_check() {
        let tasks = Tasks::default();
        tasks.spawn(async { panic!("server side boom") });
        tokio::task::yield_now().await;
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
        let caught = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| tasks.check()));
        let payload = caught.expect_err("check must re-raise the task's panic");
        assert_eq!(payload.downcast_ref::<&str>(), Some(&"server side boom"));
        // The panic is reported once; the set is clean afterwards.
        tasks.check();
    }

    #[tokio::test]
    async fn shutdown_waits_for_aborted_tasks() {
        let tasks = Tasks::default();
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        tasks.spawn(async move {
            let _keep = tx;
            std::future::pending::<()>().await;
        });
        tasks.shutdown().await;
        // The task was dropped, so its sender is gone.
        assert!(rx.await.is_err());
        // Nothing new starts after shutdown.
        let (tx2, rx2) = tokio::sync::oneshot::channel::<()>();
        tasks.spawn(async move {
            let _ = tx2.send(());
        });
        assert!(rx2.await.is_err());
    }
}
