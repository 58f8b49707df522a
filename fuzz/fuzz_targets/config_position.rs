//! The configuration position index: for any text, `LineIndex::pos` agrees with the obvious
//! definition (count the newlines before the offset, then the characters since the last one)
//! at every offset the fuzzer picks — inside multi-byte characters, on block boundaries, past
//! the end — and positions never go backwards as the offset grows.
#![no_main]

use libfuzzer_sys::fuzz_target;
use proxyscope::config::{LineIndex, POSITION_BLOCK, Pos};

/// The obvious definition, swept once over the text for offsets in increasing order: newlines
/// before the offset, then the characters (bytes that are not UTF-8 continuation bytes) since
/// the last one; an offset past the end is the end.
struct Naive<'a> {
    text: &'a [u8],
    at: usize,
    line: usize,
    col: usize,
}

impl Naive<'_> {
    fn pos(&mut self, offset: usize) -> Pos {
        let offset = offset.min(self.text.len());
        assert!(offset >= self.at, "offsets are swept in order");
        for &b in &self.text[self.at..offset] {
            if b == b'\n' {
                self.line += 1;
                self.col = 1;
            } else if (b & 0xC0) != 0x80 {
                self.col += 1;
            }
        }
        self.at = offset;
        Pos {
            line: u32::try_from(self.line).unwrap(),
            col: u32::try_from(self.col).unwrap(),
        }
    }
}

fuzz_target!(|data: &[u8]| {
    // The first two bytes pick how many times the text repeats, so long lines and many blocks
    // are reached from short inputs.
    let (times, rest) = match data {
        [a, b, rest @ ..] => (usize::from(*a % 8) * 64 + usize::from(*b % 64) + 1, rest),
        _ => (1, data),
    };
    let Ok(unit) = std::str::from_utf8(rest) else {
        return;
    };
    let text = unit.repeat(times.min(64 * 1024 / unit.len().max(1)).max(1));
    let index = LineIndex::new(&text);
    let mut last = Pos { line: 1, col: 1 };
    // Every offset of a short text; around every block boundary and the end of a long one.
    let offsets: Vec<usize> = if text.len() <= 4 * POSITION_BLOCK {
        (0..=text.len() + 2).collect()
    } else {
        (0..=text.len() / POSITION_BLOCK + 1)
            .flat_map(|k| {
                let b = k * POSITION_BLOCK;
                b.saturating_sub(2)..b + 3
            })
            .chain(text.len().saturating_sub(3)..text.len() + 3)
            .collect()
    };
    let mut sorted = offsets;
    sorted.sort_unstable();
    sorted.dedup();
    let mut naive = Naive {
        text: text.as_bytes(),
        at: 0,
        line: 1,
        col: 1,
    };
    for offset in sorted {
        let pos = index.pos(offset);
        assert_eq!(pos, naive.pos(offset), "offset {offset}");
        assert!(pos >= last, "positions go backwards at offset {offset}");
        last = pos;
    }
});
