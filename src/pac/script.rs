//! A PAC script's text and where it came from, read with a size cap through the crate's one
//! bounded file reader: a file that is not a regular file, is not UTF-8 or is larger than
//! [`MAX_SCRIPT_LEN`] is refused with a `config.invalid` error naming the file, never opened
//! when it would block and never read without bound.

use std::fmt;
use std::path::Path;
use std::sync::Arc;

use crate::error::{Error, ErrorKind, SizeLimit};
use crate::file::{self, FileProblem};

/// The largest PAC script read, in bytes (1 MiB; real ones are a few KiB to a few hundred).
pub const MAX_SCRIPT_LEN: usize = 1024 * 1024;

/// A PAC script's source and provenance. Cheap to clone.
#[derive(Clone)]
pub struct PacScript {
    source: Arc<str>,
    origin: Arc<str>,
}

impl fmt::Debug for PacScript {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PacScript")
            .field("origin", &self.origin)
            .field("len", &self.source.len())
            .finish()
    }
}

impl PacScript {
    /// A script given as text; `origin` says where it came from (`inline`, a setting's name).
    pub fn from_source(
        source: impl Into<String>,
        origin: impl Into<String>,
    ) -> Result<Self, Error> {
        let source = source.into();
        let origin: String = origin.into();
        if source.len() > MAX_SCRIPT_LEN {
            return Err(too_large(&origin, source.len() as u64, true));
        }
        Ok(Self {
            source: source.into(),
            origin: origin.into(),
        })
    }

    /// Reads the script from `path`: a regular file (a FIFO, device, socket or directory is
    /// refused unopened) of at most [`MAX_SCRIPT_LEN`] bytes of UTF-8 (a leading byte-order mark
    /// is dropped). A refusal is `config.invalid` naming the file in `evidence().file`; an
    /// oversized file also has the cap and the size seen in `evidence().size_limit`.
    pub fn from_file(path: impl AsRef<Path>) -> Result<Self, Error> {
        let path = path.as_ref();
        let origin = path.display().to_string();
        let fail = |why: String| {
            Error::new(ErrorKind::ConfigInvalid)
                .with_message(format!("PAC file {origin} cannot be used: {why}"))
                .with_hint("point the pac setting at a readable PAC file (JavaScript defining FindProxyForURL)")
                .map_evidence(|ev| ev.file = Some(origin.clone()))
        };
        let bytes = match file::read(path, MAX_SCRIPT_LEN as u64) {
            Ok(b) => b,
            Err(e) => {
                return Err(match e.problem {
                    FileProblem::TooLarge {
                        seen, announced, ..
                    } => too_large(&origin, seen, announced),
                    _ => {
                        let why = e.to_string();
                        match e.io {
                            Some(io) => fail(why).with_source(io),
                            None => fail(why),
                        }
                    }
                });
            }
        };
        let text = String::from_utf8(bytes).map_err(|e| {
            fail(format!(
                "not UTF-8 (invalid byte at offset {})",
                e.utf8_error().valid_up_to()
            ))
        })?;
        let text = text
            .strip_prefix('\u{feff}')
            .map(str::to_owned)
            .unwrap_or(text);
        Ok(Self {
            source: text.into(),
            origin: origin.into(),
        })
    }

    /// The script's text.
    pub fn source(&self) -> &str {
        &self.source
    }

    /// Where the script came from: its path, or the origin given with the text.
    pub fn origin(&self) -> &str {
        &self.origin
    }

    /// 1-based line and column (in characters) of byte offset `at` in the source.
    pub(crate) fn line_col(&self, at: usize) -> (usize, usize) {
        let mut end = at.min(self.source.len());
        while !self.source.is_char_boundary(end) {
            end -= 1;
        }
        let before = &self.source[..end];
        let line = before.matches('\n').count() + 1;
        let col = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
        (line, col)
    }
}

/// A script over [`MAX_SCRIPT_LEN`]: `seen` bytes, announced (by the file's size or the text's
/// length) or found by reading one byte past the cap.
fn too_large(origin: &str, seen: u64, announced: bool) -> Error {
    let size = if announced {
        format!("is {seen} bytes")
    } else {
        "holds more than that".to_owned()
    };
    Error::new(ErrorKind::ConfigInvalid)
        .with_message(format!(
            "PAC file {origin} {size}, over the {MAX_SCRIPT_LEN}-byte limit"
        ))
        .with_hint("a PAC file is a short script; check that the pac setting names the right file")
        .map_evidence(|ev| {
            ev.file = Some(origin.to_owned());
            ev.size_limit = Some(SizeLimit {
                limit: MAX_SCRIPT_LEN as u64,
                seen,
                announced,
            });
        })
}
