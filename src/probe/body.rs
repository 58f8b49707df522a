//! How a check reads a response body: never whole. A check reads at most its provider's
//! `limits.check_body` bytes (1 MiB by default) and stops at the first decision:
//!
//! - with `body_contains`, the stream is searched through a window the length of the needle, so
//!   a needle split across chunks still matches; found → pass (nothing more is read), the end
//!   of the body → `http.body`, the cap → `http.body_too_large`;
//! - without it, the verdict was made on the head; the body is read and discarded to measure
//!   `transfer` and to notice a body that breaks off, up to the cap, where reading simply stops.
//!
//! The bytes are compared as bytes: the needle is matched against the body as sent, whatever its
//! encoding.

use memchr::memmem::Finder;
use tokio::time::Instant;

use crate::client::BodyReader;
use crate::error::{Error, ErrorKind, Phase};

/// The most body bytes kept for a failed `body_contains`'s evidence.
const EXCERPT: usize = 200;

/// A search for `needle` over a stream of chunks, remembering only the last `needle.len() - 1`
/// bytes between chunks and the first [`EXCERPT`] bytes for evidence.
#[derive(Debug)]
pub(crate) struct Window<'n> {
    finder: Finder<'n>,
    /// The end of the data seen so far, as much as a match across the next boundary can need.
    tail: Vec<u8>,
    /// The start of the body, for the evidence of a failed search.
    excerpt: Vec<u8>,
}

impl<'n> Window<'n> {
    pub(crate) fn new(needle: &'n [u8]) -> Self {
        Self {
            finder: Finder::new(needle),
            tail: Vec::with_capacity(needle.len()),
            excerpt: Vec::new(),
        }
    }

    /// Whether the needle ends in `chunk` (it may start in earlier chunks).
    pub(crate) fn feed(&mut self, chunk: &[u8]) -> bool {
        let keep = self.finder.needle().len().saturating_sub(1);
        if self.excerpt.len() < EXCERPT {
            let more = (EXCERPT - self.excerpt.len()).min(chunk.len());
            self.excerpt.extend_from_slice(&chunk[..more]);
        }
        if self.finder.needle().is_empty() {
            return true;
        }
        if !self.tail.is_empty() {
            // A match that starts in the tail ends within the chunk's first `keep` bytes.
            let mut seam = self.tail.clone();
            seam.extend_from_slice(&chunk[..keep.min(chunk.len())]);
            if self.finder.find(&seam).is_some() {
                return true;
            }
        }
        if self.finder.find(chunk).is_some() {
            return true;
        }
        if chunk.len() >= keep {
            self.tail.clear();
            self.tail.extend_from_slice(&chunk[chunk.len() - keep..]);
        } else {
            self.tail.extend_from_slice(chunk);
            let excess = self.tail.len().saturating_sub(keep);
            self.tail.drain(..excess);
        }
        false
    }

    /// The start of the body, lossily decoded, for evidence.
    pub(crate) fn excerpt(&self) -> String {
        String::from_utf8_lossy(&self.excerpt).into_owned()
    }
}

/// Reads `body` for a check: at most its `limits.check_body` bytes, by `deadline` (the check's
/// own, of `timeout`), searching for `needle` when there is one. `Ok(None)` passes, `Ok(Some)`
/// is the expectation's failure (`http.body`, `http.body_too_large`); an `Err` is the body's own
/// failure (`http.timeout`, `http.protocol`).
pub(crate) async fn read(
    mut body: BodyReader,
    needle: Option<&str>,
    deadline: Instant,
    timeout: std::time::Duration,
    status: u16,
) -> Result<Option<Error>, Error> {
    let cap = body.limits().check_body;
    let key = body.limits().keys.check_body_key.clone();
    body.deadline_at(deadline, timeout, "the check's `timeout`");
    let Some(needle) = needle else {
        // The verdict is already made; read to measure the transfer, never past the cap.
        while body.read() < cap {
            if body.chunk().await?.is_none() {
                break;
            }
        }
        return Ok(None);
    };
    let mut window = Window::new(needle.as_bytes());
    loop {
        let Some(chunk) = body.chunk().await? else {
            let read = body.read();
            return Ok(Some(not_found(needle, status, read, &window.excerpt())));
        };
        // Only the bytes within the cap count: a match past it was not looked for.
        let before = body.read() - chunk.len() as u64;
        let within = usize::try_from(cap.saturating_sub(before)).unwrap_or(usize::MAX);
        if window.feed(&chunk[..within.min(chunk.len())]) {
            return Ok(None);
        }
        if body.read() >= cap {
            let (seen, announced) = match body.announced() {
                Some(n) if n > body.read() => (n, true),
                _ => (body.read(), false),
            };
            let e = body
                .too_large(cap, seen, announced, &key)
                .with_message(format!(
                    "{needle:?} is not in the first {cap} bytes of the body, and the body goes on"
                ))
                .with_hint(format!("a check reads at most {cap} bytes of a body; raise `{key}`, or point the check at a smaller resource"))
                .map_evidence(|ev| {
                    ev.status = Some(status);
                    ev.expected = Some(format!(
                        "body containing {needle:?} within the first {cap} bytes; got a body starting {:?}",
                        window.excerpt()
                    ));
                });
            return Ok(Some(e));
        }
    }
}

/// `http.body`: the whole body was read and the needle is not in it.
fn not_found(needle: &str, status: u16, size: u64, excerpt: &str) -> Error {
    Error::new(ErrorKind::HttpBody)
        .with_phase(Phase::Http)
        .with_message(format!("the body ({size} bytes) does not contain {needle:?}"))
        .with_hint("the endpoint answered, but not with the expected content; check `body_contains` and whether the path is the right one")
        .map_evidence(|ev| {
            ev.status = Some(status);
            ev.expected = Some(format!(
                "body containing {needle:?}; got {size} bytes starting {excerpt:?}"
            ));
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Feeds `body` cut at every set of split points a small body allows and checks the window
    /// agrees with a plain search of the whole body.
    fn agrees(body: &[u8], needle: &[u8]) {
        let want = body.windows(needle.len().max(1)).any(|w| w == needle) || needle.is_empty();
        // Every split into up to three chunks.
        for i in 0..=body.len() {
            for j in i..=body.len() {
                let mut w = Window::new(needle);
                let found = [&body[..i], &body[i..j], &body[j..]]
                    .iter()
                    .any(|c| w.feed(c));
                assert_eq!(found, want, "{body:?} / {needle:?} split at {i},{j}");
            }
        }
        // One byte at a time.
        let mut w = Window::new(needle);
        let found = body.chunks(1).any(|c| w.feed(c));
        assert_eq!(found, want, "bytewise");
    }

    #[test]
    fn a_needle_across_chunk_boundaries_is_found() {
        agrees(b"the quick brown fox", b"brown");
        agrees(b"aaaaaaab", b"aab");
        agrees(b"abababac", b"ababac");
        agrees(b"xxxxx", b"xy");
        agrees(b"dirs", b"dirs");
        agrees(b"di", b"dirs");
        agrees(b"", b"x");
    }

    #[test]
    fn the_excerpt_is_the_start_of_the_body_and_bounded() {
        let mut w = Window::new(b"zz");
        for _ in 0..100 {
            assert!(!w.feed(b"0123456789"));
        }
        assert_eq!(w.excerpt().len(), EXCERPT);
        assert!(w.excerpt().starts_with("0123456789"));
        assert!(w.tail.len() <= 1);
    }
}
