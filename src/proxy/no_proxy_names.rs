//! [`Names`]: the names of a `no_proxy` list, found by their exact text.
//!
//! A request whose host is a name looks the host up here, then each of its suffixes that could
//! be present (see `NoProxy::find_name`), so this lookup is on every request's path and its
//! latency is what counts. With a `HashMap<Box<str>, u32>` and FxHash a lookup was a chain of
//! dependent steps: a multiply per 8 bytes and another per trailing byte, the control bytes,
//! the key's pointer, then a call to `memcmp` — about 20 ns of a 90 ns route decision on a hit.
//! Here a name is hashed by one to three 128-bit multiplies, a slot holds the hash's high half,
//! the name's length and where its text is (all names share one string), and the text is
//! compared in place, 8 bytes at a time.
//!
//! Open addressing with linear probing, never more than half full, so a probe nearly always
//! reads one slot. The keys come from configuration (a file, the environment), not from
//! whoever the client sends requests for, so the hash needs no per-process seed.

/// A slot nobody has taken.
const EMPTY: u32 = u32::MAX;

/// Name → value (a `no_proxy` entry's index, with a flag), first insertion kept.
#[derive(Clone, Default, PartialEq, Eq)]
pub(super) struct Names {
    /// A power of two in length (or empty), at most half taken.
    slots: Vec<Slot>,
    /// Every name's text, one after the other.
    text: String,
    taken: usize,
}

#[derive(Clone, Copy, PartialEq, Eq)]
struct Slot {
    /// The high half of the name's hash (the low half chose the slot).
    tag: u32,
    /// [`EMPTY`] for a free slot.
    value: u32,
    start: usize,
    len: usize,
}

const FREE: Slot = Slot {
    tag: 0,
    value: EMPTY,
    start: 0,
    len: 0,
};

impl Names {
    /// Whether no name was added.
    pub(super) fn is_empty(&self) -> bool {
        self.taken == 0
    }

    /// The value of `name`, if it was added.
    #[inline]
    pub(super) fn get(&self, name: &str) -> Option<u32> {
        self.find(name.as_bytes(), hash(name.as_bytes())).ok()
    }

    /// Adds `name` with `value` unless it is there already (the first value stays, as the
    /// first entry in list order is the one curl reports).
    pub(super) fn insert_first(&mut self, name: &str, value: u32) {
        // A value equal to the free marker would read as a free slot: 2^32 - 1 entries cannot
        // be held in memory, so saturated indices never get here in practice; keep them out.
        if value == EMPTY {
            return;
        }
        if (self.taken + 1) * 2 > self.slots.len() {
            self.grow();
        }
        let h = hash(name.as_bytes());
        if let Err(free) = self.find(name.as_bytes(), h) {
            let start = self.text.len();
            self.text.push_str(name);
            self.slots[free] = Slot {
                tag: tag(h),
                value,
                start,
                len: name.len(),
            };
            self.taken += 1;
        }
    }

    /// Every name with its value and its place, for [`Names::set`].
    pub(super) fn iter(&self) -> impl Iterator<Item = (usize, &str, u32)> {
        self.slots
            .iter()
            .enumerate()
            .filter(|(_, s)| s.value != EMPTY)
            .map(|(i, s)| (i, self.text_of(s), s.value))
    }

    /// Replaces the value of the name at `place` (from [`Names::iter`]).
    pub(super) fn set(&mut self, place: usize, value: u32) {
        if let Some(s) = self.slots.get_mut(place)
            && s.value != EMPTY
            && value != EMPTY
        {
            s.value = value;
        }
    }

    fn text_of(&self, s: &Slot) -> &str {
        self.text.get(s.start..s.start + s.len).unwrap_or_default()
    }

    /// The slot holding `name` (`Ok`, with its value) or the free slot where it would go.
    #[inline]
    fn find(&self, name: &[u8], h: u64) -> Result<u32, usize> {
        let mask = self.slots.len().wrapping_sub(1);
        let tag = tag(h);
        // Truncation intended: the low bits choose the slot.
        let mut i = h as usize & mask;
        loop {
            let Some(s) = self.slots.get(i) else {
                return Err(i);
            };
            if s.value == EMPTY {
                return Err(i);
            }
            if s.tag == tag
                && s.len == name.len()
                && self
                    .text
                    .as_bytes()
                    .get(s.start..s.start + s.len)
                    .is_some_and(|t| same(t, name))
            {
                return Ok(s.value);
            }
            i = (i + 1) & mask;
        }
    }

    /// Twice the slots (at least 8), every name placed again.
    fn grow(&mut self) {
        let size = (self.slots.len() * 2).max(8);
        let old = std::mem::replace(&mut self.slots, vec![FREE; size]);
        let mask = size - 1;
        for s in old.into_iter().filter(|s| s.value != EMPTY) {
            let h = hash(self.text_of(&s).as_bytes());
            let mut i = h as usize & mask;
            while self.slots[i].value != EMPTY {
                i = (i + 1) & mask;
            }
            self.slots[i] = s;
        }
    }
}

/// The high half of a hash.
fn tag(h: u64) -> u32 {
    (h >> 32) as u32
}

/// Hex digits of pi: arbitrary odd constants with bits spread over the word.
const K0: u64 = 0x243f_6a88_85a3_08d3;
const K1: u64 = 0x1319_8a2e_0370_7345;
const K2: u64 = 0xa409_3822_299f_31d1;

/// The 128-bit product of `a` and `b`, its halves folded together.
#[inline]
fn fold(a: u64, b: u64) -> u64 {
    let p = u128::from(a) * u128::from(b);
    (p as u64) ^ ((p >> 64) as u64)
}

/// The 8 bytes at `at` (0 past the end: callers stay within it).
#[inline]
fn word(b: &[u8], at: usize) -> u64 {
    b.get(at..at + 8)
        .and_then(|w| <[u8; 8]>::try_from(w).ok())
        .map_or(0, u64::from_le_bytes)
}

/// The 4 bytes at `at`, likewise.
#[inline]
fn half(b: &[u8], at: usize) -> u64 {
    b.get(at..at + 4)
        .and_then(|w| <[u8; 4]>::try_from(w).ok())
        .map_or(0, |w| u64::from(u32::from_le_bytes(w)))
}

/// A hash of `b` whose steps depend on each other as little as possible: up to 16 bytes are
/// two (overlapping) words and one multiply; longer names add one multiply per 16 bytes.
#[inline]
fn hash(b: &[u8]) -> u64 {
    let n = b.len();
    let mut acc = K0 ^ n as u64;
    let (lo, hi) = match n {
        0 => (0, 0),
        1..=3 => (
            u64::from(b[0]) | u64::from(b[n / 2]) << 8 | u64::from(b[n - 1]) << 16,
            0,
        ),
        4..=7 => (half(b, 0), half(b, n - 4)),
        8..=16 => (word(b, 0), word(b, n - 8)),
        _ => {
            let mut i = 0;
            while i + 16 < n {
                acc = fold(word(b, i) ^ K1, word(b, i + 8) ^ acc);
                i += 16;
            }
            (word(b, n - 16), word(b, n - 8))
        }
    };
    fold(lo ^ K1, hi ^ acc ^ K2)
}

/// Whether `a` and `b`, of the same length, hold the same bytes: compared a word at a time in
/// place (a slice comparison calls `memcmp`, a call on every request for a few dozen bytes).
#[inline]
fn same(a: &[u8], b: &[u8]) -> bool {
    let n = a.len();
    if n != b.len() {
        return false;
    }
    match n {
        0..=3 => a == b,
        4..=7 => half(a, 0) == half(b, 0) && half(a, n - 4) == half(b, n - 4),
        _ => {
            let mut i = 0;
            while i + 8 < n {
                if word(a, i) != word(b, i) {
                    return false;
                }
                i += 8;
            }
            word(a, n - 8) == word(b, n - 8)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every name added is found with its first value, names that were not are not, whatever
    /// their length (each branch of the hash and of the comparison), and growing keeps them.
    #[test]
    fn names_are_found_by_their_exact_text() {
        let names: Vec<String> = (0..300)
            .map(|i| match i % 5 {
                0 => String::new() + &"a".repeat(i % 4),
                1 => format!("h{i}"),
                2 => format!("svc{i}.internal"),
                3 => format!("team{i}.example.org"),
                _ => format!("{}.{i}.example.com", "x".repeat(i % 40)),
            })
            .collect();
        let mut t = Names::default();
        assert!(t.is_empty() && t.get("a").is_none());
        for (i, n) in names.iter().enumerate() {
            t.insert_first(n, u32::try_from(i).unwrap_or(0));
            // A repeat keeps the first value.
            t.insert_first(n, 9999);
        }
        for (i, n) in names.iter().enumerate() {
            let first = names.iter().position(|m| m == n).unwrap_or(i);
            assert_eq!(t.get(n), u32::try_from(first).ok(), "{n:?}");
            // One byte different, one byte more or less: not found.
            let mut other = n.clone().into_bytes();
            if let Some(b) = other.last_mut() {
                *b ^= 1;
                let other = String::from_utf8(other).unwrap_or_default();
                if !names.contains(&other) {
                    assert_eq!(t.get(&other), None, "{other:?}");
                }
            }
            for other in [format!("{n}a"), n.chars().skip(1).collect()] {
                if !names.contains(&other) {
                    assert_eq!(t.get(&other), None, "{other:?}");
                }
            }
        }
        let count = t.iter().count();
        let distinct: std::collections::HashSet<&String> = names.iter().collect();
        assert_eq!(count, distinct.len());
        assert!(t.slots.len() >= 2 * count, "at most half full");
    }

    #[test]
    fn values_are_replaced_in_place() {
        let mut t = Names::default();
        t.insert_first("a.test", 1);
        t.insert_first("b.test", 2);
        let place = t.iter().find(|(_, n, _)| *n == "b.test").map(|(p, _, _)| p);
        t.set(place.unwrap_or(usize::MAX), 7);
        assert_eq!((t.get("a.test"), t.get("b.test")), (Some(1), Some(7)));
        // The free marker is never a value.
        t.insert_first("c.test", EMPTY);
        assert_eq!(t.get("c.test"), None);
    }

    #[test]
    fn words_compare_exactly() {
        for (a, b, eq) in [
            ("", "", true),
            ("abc", "abd", false),
            ("abcdefg", "abcdefg", true),
            ("abcdefgh", "abcdefgi", false),
            ("abcdefghijklmnopq", "abcdefghijklmnopq", true),
            ("abcdefghXjklmnopq", "abcdefghijklmnopq", false),
            ("abc", "abcd", false),
        ] {
            assert_eq!(same(a.as_bytes(), b.as_bytes()), eq, "{a} {b}");
        }
    }
}
