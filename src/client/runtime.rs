//! Where a request runs: in the task that awaits it, or, when what awaits it is not a task of
//! the runtime (a `block_on`, a thread entered into the runtime), in a task spawned for it.
//!
//! Why: a request's work — the pool's lock, `h2`'s stream state, the head timer, the body's
//! first read — is shared with the connection's task, which runs on the runtime's threads. Done
//! from a thread outside them, every piece of it moves memory between threads, and every
//! hand-over between the request and the connection wakes a thread that had gone to sleep.
//! From a spawned task the request meets its connection on the runtime's own threads, and the
//! caller is woken once, with the answer. docs/benchmarks.md has the measurements.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use tracing::Instrument as _;

use crate::error::{Blame, Error, ErrorKind, Phase};

/// A request's boxed future, as the client makes them.
type Boxed<T> = Pin<Box<dyn Future<Output = Result<T, Error>> + Send + 'static>>;

/// `request`, run where the module's doc says: as it is when awaited from a task of the
/// runtime (or with no runtime entered), else in a task spawned on the runtime entered, under
/// the caller's current `tracing` span. Dropping the returned future cancels the spawned task;
/// a panic in it is resumed in the caller.
pub(crate) fn in_task<T: Send + 'static>(request: Boxed<T>) -> Boxed<T> {
    if tokio::task::try_id().is_some() {
        return request;
    }
    let Ok(runtime) = tokio::runtime::Handle::try_current() else {
        return request;
    };
    let span = tracing::Span::current();
    Box::pin(async move {
        let task = AbortOnDrop(runtime.spawn(request.instrument(span)));
        match task.await {
            Ok(answer) => answer,
            Err(e) if e.is_panic() => std::panic::resume_unwind(e.into_panic()),
            // The caller's runtime went away under its request.
            Err(_) => Err(Error::new(ErrorKind::HttpProtocol)
                .with_blame(Blame::LocalConfig)
                .with_phase(Phase::Http)
                .with_message("the request was abandoned: its runtime shut down")
                .with_hint(
                    "keep the tokio runtime the client's requests run on alive until they end",
                )),
        }
    })
}

/// A spawned task, aborted when its handle is dropped unfinished.
struct AbortOnDrop<T>(tokio::task::JoinHandle<T>);

impl<T> Future for AbortOnDrop<T> {
    type Output = Result<T, tokio::task::JoinError>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        Pin::new(&mut self.0).poll(cx)
    }
}

impl<T> Drop for AbortOnDrop<T> {
    fn drop(&mut self) {
        self.0.abort();
    }
}
