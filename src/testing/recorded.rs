//! What a harness server remembers of what it saw (requests, heads, TLS handshakes): the most
//! recent [`RECORDED_MAX`] in arrival order, and how many there were in all. A server in a load
//! test or a long benchmark sees millions; keeping each for the life of the server would grow
//! without bound.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Mutex, PoisonError};

/// How many of the most recent records each harness server keeps.
pub const RECORDED_MAX: usize = 10_000;

/// A bounded record: the last [`RECORDED_MAX`] entries and the number seen.
#[derive(Debug)]
pub(crate) struct Recorded<T> {
    inner: Mutex<Inner<T>>,
    max: usize,
    /// Off: entries are counted, not kept (see [`Recorded::set_keeping`]).
    keeping: AtomicBool,
}

#[derive(Debug)]
struct Inner<T> {
    kept: VecDeque<T>,
    seen: u64,
}

impl<T> Default for Recorded<T> {
    fn default() -> Self {
        Self::with_max(RECORDED_MAX)
    }
}

impl<T> Recorded<T> {
    fn with_max(max: usize) -> Self {
        Self {
            inner: Mutex::new(Inner {
                kept: VecDeque::new(),
                seen: 0,
            }),
            max,
            keeping: AtomicBool::new(true),
        }
    }

    /// Whether entries are kept (on from the start); counted either way.
    pub(crate) fn keeping(&self) -> bool {
        self.keeping.load(Ordering::Relaxed)
    }

    /// Turns keeping on or off; what was kept stays.
    pub(crate) fn set_keeping(&self, on: bool) {
        self.keeping.store(on, Ordering::Relaxed);
    }

    /// Counts an entry without keeping it.
    pub(crate) fn count(&self) {
        self.inner
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .seen += 1;
    }

    /// Adds `entry`, forgetting the oldest one kept when there is no room; only counts it
    /// when keeping is off.
    pub(crate) fn push(&self, entry: T) {
        if !self.keeping() {
            return self.count();
        }
        let mut inner = self.inner.lock().unwrap_or_else(PoisonError::into_inner);
        let forgotten = (inner.kept.len() == self.max)
            .then(|| inner.kept.pop_front())
            .flatten();
        inner.kept.push_back(entry);
        inner.seen += 1;
        drop(inner);
        // Dropped after the lock: an origin's request frees its headers and body.
        drop(forgotten);
    }

    /// How many entries were pushed in all, kept or not.
    pub(crate) fn seen(&self) -> u64 {
        self.inner
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .seen
    }
}

impl<T: Clone> Recorded<T> {
    /// The entries kept, oldest first.
    pub(crate) fn all(&self) -> Vec<T> {
        self.inner
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .kept
            .iter()
            .cloned()
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_the_most_recent_in_order_and_counts_all() {
        let r = Recorded::with_max(3);
        assert!(r.all().is_empty());
        assert_eq!(r.seen(), 0);
        for i in 0..5 {
            r.push(i);
        }
        assert_eq!(r.all(), [2, 3, 4]);
        assert_eq!(r.seen(), 5);
    }

    #[test]
    fn off_counts_without_keeping() {
        let r = Recorded::with_max(3);
        r.push(1);
        r.set_keeping(false);
        r.push(2);
        r.count();
        assert_eq!(r.all(), [1]);
        assert_eq!(r.seen(), 3);
        r.set_keeping(true);
        r.push(4);
        assert_eq!(r.all(), [1, 4]);
    }

    #[test]
    fn default_keeps_the_documented_number() {
        let r = Recorded::default();
        for i in 0..RECORDED_MAX + 7 {
            r.push(i);
        }
        let all = r.all();
        assert_eq!(all.len(), RECORDED_MAX);
        assert_eq!(all.first(), Some(&7));
        assert_eq!(r.seen(), (RECORDED_MAX + 7) as u64);
    }
}
