//! Answers remembered per (URL as the script saw it, host), bounded in count and in age, so a
//! busy client evaluates the script once per destination and period, not once per request.
//!
//! Eviction is first-in first-out: entries expire by age anyway, so the oldest entry is the
//! one closest to expiring. Time is passed in, so the rules are tested without sleeping.

use std::collections::{HashMap, VecDeque};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// The cache key: exactly what `FindProxyForURL` was given.
pub(crate) type Key = (String, String);

pub(crate) struct AnswerCache<V> {
    capacity: usize,
    max_age: Duration,
    /// Each entry: when it was stored, its insertion number, the answer.
    entries: HashMap<Key, (Instant, u64, Arc<V>)>,
    /// Insertion order as (key, insertion number); rows whose number no longer matches the
    /// entry's are stale and skipped.
    order: VecDeque<(Key, u64)>,
    next: u64,
}

impl<V> AnswerCache<V> {
    pub(crate) fn new(capacity: usize, max_age: Duration) -> Self {
        Self {
            capacity,
            max_age,
            entries: HashMap::new(),
            order: VecDeque::new(),
            next: 0,
        }
    }

    /// The answer stored for `key` at most `max_age` before `now`.
    pub(crate) fn get(&mut self, key: &Key, now: Instant) -> Option<Arc<V>> {
        let (stored, _, value) = self.entries.get(key)?;
        if now.saturating_duration_since(*stored) <= self.max_age {
            return Some(value.clone());
        }
        self.entries.remove(key);
        None
    }

    /// Stores `value` for `key` as of `now`, evicting the oldest entries beyond the capacity.
    pub(crate) fn insert(&mut self, key: Key, value: Arc<V>, now: Instant) {
        if self.capacity == 0 {
            return;
        }
        let seq = self.next;
        self.next += 1;
        self.entries.insert(key.clone(), (now, seq, value));
        self.order.push_back((key, seq));
        // `order` may hold stale rows (a key re-inserted, or removed when it expired); a row
        // evicts its key only if the entry is still the one that row recorded.
        while self.entries.len() > self.capacity || self.order.len() > 2 * self.capacity {
            let Some((old, row)) = self.order.pop_front() else {
                break;
            };
            if self.entries.get(&old).is_some_and(|(_, n, _)| *n == row) {
                self.entries.remove(&old);
            }
        }
    }

    pub(crate) fn len(&self) -> usize {
        self.entries.len()
    }

    pub(crate) fn clear(&mut self) {
        self.entries.clear();
        self.order.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(h: &str) -> Key {
        (format!("https://{h}/"), h.to_owned())
    }

    #[test]
    fn answers_expire_after_the_max_age() {
        let t0 = Instant::now();
        let mut c = AnswerCache::new(4, Duration::from_secs(10));
        c.insert(key("a"), Arc::new(1), t0);
        assert_eq!(
            c.get(&key("a"), t0 + Duration::from_secs(10)).as_deref(),
            Some(&1)
        );
        assert_eq!(c.get(&key("a"), t0 + Duration::from_secs(11)), None);
        assert_eq!(c.len(), 0);
        assert_eq!(c.get(&key("b"), t0), None);
    }

    #[test]
    fn the_oldest_entries_go_first_and_the_count_is_bounded() {
        let t0 = Instant::now();
        let mut c = AnswerCache::new(3, Duration::from_secs(60));
        for (i, h) in ["a", "b", "c", "d"].iter().enumerate() {
            c.insert(key(h), Arc::new(i), t0 + Duration::from_secs(i as u64));
        }
        assert_eq!(c.len(), 3);
        assert_eq!(c.get(&key("a"), t0), None);
        assert!(c.get(&key("d"), t0).is_some());
        // Re-inserting a key refreshes it: the stale row of its first insertion evicts nothing.
        c.insert(key("b"), Arc::new(9), t0 + Duration::from_secs(5));
        c.insert(key("e"), Arc::new(5), t0 + Duration::from_secs(6));
        assert_eq!(
            c.get(&key("b"), t0 + Duration::from_secs(6)).as_deref(),
            Some(&9)
        );
        assert_eq!(c.get(&key("c"), t0 + Duration::from_secs(6)), None);
        for i in 0..1000 {
            c.insert(key("same"), Arc::new(i), t0);
        }
        assert!(c.len() <= 3);
        assert!(c.order.len() <= 6);
        assert_eq!(c.get(&key("same"), t0).as_deref(), Some(&999));
        c.clear();
        assert_eq!(c.len(), 0);
    }

    #[test]
    fn a_zero_capacity_cache_stores_nothing() {
        let mut c = AnswerCache::new(0, Duration::from_secs(60));
        c.insert(key("a"), Arc::new(1), Instant::now());
        assert_eq!(c.len(), 0);
    }
}
