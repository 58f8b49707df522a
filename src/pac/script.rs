//! A PAC script's text and where it came from, read with a size cap: a file that is not a
//! regular file, is not UTF-8 or is larger than [`MAX_SCRIPT_LEN`] is refused with a
//! `config.invalid` error naming the file, never read without bound.

use std::fmt;
use std::io::Read;
use std::path::Path;
use std::sync::Arc;

use crate::error::{Error, ErrorKind};

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
            return Err(too_large(&origin, source.len() as u64));
        }
        Ok(Self {
            source: source.into(),
            origin: origin.into(),
        })
    }

    /// Reads the script from `path`: a regular file of at most [`MAX_SCRIPT_LEN`] bytes of
    /// UTF-8 (a leading byte-order mark is dropped).
    pub fn from_file(path: impl AsRef<Path>) -> Result<Self, Error> {
        let path = path.as_ref();
        let origin = path.display().to_string();
        let fail = |why: String| {
            Error::new(ErrorKind::ConfigInvalid)
                .with_message(format!("PAC file {origin} cannot be used: {why}"))
                .with_hint("point the pac setting at a readable PAC file (JavaScript defining FindProxyForURL)")
                .map_evidence(|ev| ev.file = Some(origin.clone()))
        };
        let meta = std::fs::metadata(path).map_err(|e| fail(e.to_string()))?;
        if !meta.is_file() {
            return Err(fail("not a regular file".to_owned()));
        }
        if meta.len() > MAX_SCRIPT_LEN as u64 {
            return Err(too_large(&origin, meta.len()));
        }
        let file = std::fs::File::open(path).map_err(|e| fail(e.to_string()))?;
        let mut bytes = Vec::new();
        // The file may grow between the size check and the read: read one byte past the cap.
        file.take(MAX_SCRIPT_LEN as u64 + 1)
            .read_to_end(&mut bytes)
            .map_err(|e| fail(e.to_string()))?;
        if bytes.len() > MAX_SCRIPT_LEN {
            return Err(too_large(&origin, bytes.len() as u64));
        }
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

fn too_large(origin: &str, len: u64) -> Error {
    Error::new(ErrorKind::ConfigInvalid)
        .with_message(format!(
            "PAC file {origin} is {len} bytes, over the {MAX_SCRIPT_LEN}-byte limit"
        ))
        .with_hint("a PAC file is a short script; check that the pac setting names the right file")
        .map_evidence(|ev| ev.file = Some(origin.to_owned()))
}
