//! Positions in configuration text: [`LineIndex`] turns a byte offset into a 1-based line and
//! column ([`Pos`]) in O(log n) time, whatever the length of the line.
//!
//! Every value in a configuration remembers where it was written, so a file with many values on
//! one line (a 160,000-entry `no_proxy` array) asks for many positions on one very long line.
//! Counting the characters from the line's start for each of them is quadratic; instead the
//! index keeps the line starts (found by binary search) and, for text that is not pure ASCII,
//! the number of characters before every [`BLOCK`]-th byte, so a column costs at most one
//! block's scan. Building the index is one pass over the text.
//!
//! Columns count characters (Unicode scalar values), like editors do. For an offset inside a
//! multi-byte character, the character it falls in counts as started.

// Without the `fuzzing` feature these items are crate-internal; the `pub` marks what the fuzz
// target reaches.
#![cfg_attr(not(feature = "fuzzing"), allow(unreachable_pub))]

/// Bytes between two character-count checkpoints: the most a column lookup scans.
pub const BLOCK: usize = 256;

/// A 1-based line and column in the source text.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Pos {
    /// 1-based line (lines end at `\n`).
    pub line: u32,
    /// 1-based column, in characters.
    pub col: u32,
}

/// Maps byte offsets of one text to [`Pos`]itions.
#[derive(Debug, Clone)]
pub struct LineIndex<'a> {
    text: &'a [u8],
    /// The byte offset where each line starts; the first is 0.
    starts: Vec<usize>,
    /// For text with non-ASCII bytes: `checkpoints[k]` is the number of characters that start
    /// before byte `k * BLOCK`. Empty for ASCII text, where bytes and characters coincide.
    checkpoints: Vec<usize>,
}

impl<'a> LineIndex<'a> {
    /// Indexes `text` in one pass.
    pub fn new(text: &'a str) -> Self {
        let bytes = text.as_bytes();
        let mut starts = vec![0];
        starts.extend(
            bytes
                .iter()
                .enumerate()
                .filter(|(_, b)| **b == b'\n')
                .map(|(i, _)| i + 1),
        );
        let checkpoints = if text.is_ascii() {
            Vec::new()
        } else {
            let mut out = Vec::with_capacity(bytes.len() / BLOCK + 1);
            let mut before = 0;
            for block in bytes.chunks(BLOCK) {
                out.push(before);
                before += char_starts(block);
            }
            out.push(before);
            out
        };
        Self {
            text: bytes,
            starts,
            checkpoints,
        }
    }

    /// The line and column of byte `offset` (offsets past the end are the end).
    pub fn pos(&self, offset: usize) -> Pos {
        let offset = offset.min(self.text.len());
        let line = self.starts.partition_point(|&s| s <= offset).max(1);
        let start = self.starts[line - 1];
        let col = self.chars_before(offset) - self.chars_before(start);
        Pos {
            line: u32::try_from(line).unwrap_or(u32::MAX),
            col: u32::try_from(col + 1).unwrap_or(u32::MAX),
        }
    }

    /// How many characters start before byte `offset`.
    fn chars_before(&self, offset: usize) -> usize {
        if self.checkpoints.is_empty() {
            return offset;
        }
        let block = offset / BLOCK;
        self.checkpoints[block] + char_starts(&self.text[block * BLOCK..offset])
    }
}

/// The number of characters that start in `bytes`: every byte that is not a UTF-8
/// continuation byte (`10xxxxxx`).
fn char_starts(bytes: &[u8]) -> usize {
    bytes.iter().filter(|&&b| (b & 0xC0) != 0x80).count()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The obvious definition: count newlines, then characters since the last one.
    fn naive(text: &str, offset: usize) -> Pos {
        let offset = offset.min(text.len());
        let before = &text.as_bytes()[..offset];
        let line = before.iter().filter(|&&b| b == b'\n').count() + 1;
        let start = before
            .iter()
            .rposition(|&b| b == b'\n')
            .map_or(0, |i| i + 1);
        let col = char_starts(&before[start..]) + 1;
        Pos {
            line: line as u32,
            col: col as u32,
        }
    }

    #[test]
    fn columns_count_characters_not_bytes() {
        let idx = LineIndex::new("é = 1\nab");
        assert_eq!(idx.pos(0), Pos { line: 1, col: 1 });
        assert_eq!(idx.pos(3), Pos { line: 1, col: 3 });
        assert_eq!(idx.pos(7), Pos { line: 2, col: 1 });
        assert_eq!(idx.pos(9), Pos { line: 2, col: 3 });
        assert_eq!(idx.pos(1000), Pos { line: 2, col: 3 });
        // Inside `é`: the character has started.
        assert_eq!(idx.pos(1), Pos { line: 1, col: 2 });
    }

    #[test]
    fn agrees_with_the_naive_definition_across_block_boundaries() {
        let mut text = String::new();
        for i in 0..40 {
            text.push_str(&"x".repeat(i * 13 % 300));
            text.push_str(["é", "字", "😀", "a", "\n", "\r\n"][i % 6]);
        }
        let idx = LineIndex::new(&text);
        for offset in 0..=text.len() + 2 {
            assert_eq!(idx.pos(offset), naive(&text, offset), "offset {offset}");
        }
        let ascii = "a = 1\n\nbb = [1, 2]\n".repeat(50);
        let idx = LineIndex::new(&ascii);
        for offset in 0..=ascii.len() {
            assert_eq!(idx.pos(offset), naive(&ascii, offset), "offset {offset}");
        }
        assert_eq!(LineIndex::new("").pos(0), Pos { line: 1, col: 1 });
    }

    #[test]
    fn a_position_far_into_a_long_line_scans_at_most_a_block() {
        // One line of 1 MiB with a non-ASCII character at its start: the naive column would
        // count a million characters per lookup.
        let text = format!("é{}", "x".repeat(1 << 20));
        let idx = LineIndex::new(&text);
        assert_eq!(idx.checkpoints.len(), text.len() / BLOCK + 2);
        let last = text.len();
        assert_eq!(idx.pos(last), naive(&text, last));
    }
}
