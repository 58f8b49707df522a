//! Reading the files a configuration names — the configuration itself, CA bundles, and any file
//! added later (PAC scripts, password files) — with bounds: only regular files are opened, never
//! more than a cap is read, and every refusal says which file and what it is.
//!
//! A FIFO would block the reader until something writes to it, `/dev/zero` never ends, and a
//! directory cannot be read at all, so the file's type is checked before it is opened (and again
//! on the opened handle). The size in the metadata is used to refuse an oversized file before
//! reading it, but never trusted alone: files under `/proc` report a size of 0, and a file can
//! grow while it is read, so the read itself stops one byte past the cap.
//!
//! The error is plain data ([`FileError`]); each caller turns it into its own coded error
//! (`config.invalid` for a configuration file, `config.ca_file` for a CA bundle).

use std::fmt;
use std::fs::{File, Metadata};
use std::io::Read as _;
use std::path::{Path, PathBuf};

/// The most bytes read from a configuration file (4 MiB). A real configuration is a few KiB; a
/// 10,000-provider file is about 0.5 MiB.
pub(crate) const MAX_CONFIG_FILE: u64 = 4 * 1024 * 1024;
/// The most bytes read from a CA bundle (8 MiB). The whole Mozilla/Debian bundle is about
/// 0.2 MiB.
pub(crate) const MAX_CA_FILE: u64 = 8 * 1024 * 1024;

/// Why a file was not read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum FileProblem {
    /// Nothing exists at the path.
    Missing,
    /// It exists but cannot be opened or read (permissions, I/O error).
    Unreadable,
    /// It is not a regular file; the string says what it is ("a directory", "a FIFO", ...).
    NotRegular(&'static str),
    /// It is larger than the cap.
    TooLarge {
        /// The cap, in bytes.
        limit: u64,
        /// The size seen: from the metadata when it announced more than the cap, else the
        /// bytes read before the read stopped (the cap plus one).
        seen: u64,
        /// Whether `seen` is the size the metadata announced (nothing was read).
        announced: bool,
    },
}

/// A file that was not read: its path, why, and the I/O error when there was one.
#[derive(Debug)]
pub(crate) struct FileError {
    pub(crate) path: PathBuf,
    pub(crate) problem: FileProblem,
    pub(crate) io: Option<std::io::Error>,
}

impl fmt::Display for FileError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let path = self.path.display();
        match self.problem {
            FileProblem::Missing => write!(f, "{path} does not exist"),
            FileProblem::Unreadable => match &self.io {
                Some(e) => write!(f, "{path} cannot be read: {e}"),
                None => write!(f, "{path} cannot be read"),
            },
            FileProblem::NotRegular(what) => write!(f, "{path} is {what}, not a regular file"),
            FileProblem::TooLarge {
                limit,
                seen,
                announced: true,
            } => write!(
                f,
                "{path} is {}, over the {} limit",
                size(seen),
                size(limit)
            ),
            FileProblem::TooLarge { limit, .. } => {
                write!(f, "{path} holds more than the {} limit", size(limit))
            }
        }
    }
}

/// `n` bytes for people: exact below 1 KiB, else in the largest binary unit it reaches.
pub(crate) fn size(n: u64) -> String {
    const UNITS: [(u64, &str); 3] = [(1 << 30, "GiB"), (1 << 20, "MiB"), (1 << 10, "KiB")];
    for (unit, name) in UNITS {
        if n >= unit {
            return if n.is_multiple_of(unit) {
                format!("{} {name}", n / unit)
            } else {
                format!("{:.1} {name}", n as f64 / unit as f64)
            };
        }
    }
    format!("{n} bytes")
}

/// Reads the regular file at `path`, at most `limit` bytes.
pub(crate) fn read(path: &Path, limit: u64) -> Result<Vec<u8>, FileError> {
    let fail = |problem, io| FileError {
        path: path.to_path_buf(),
        problem,
        io,
    };
    // Checked before opening: opening a FIFO for reading blocks until a writer appears.
    let meta = match std::fs::metadata(path) {
        Ok(m) => m,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return Err(fail(FileProblem::Missing, Some(e)));
        }
        Err(e) => return Err(fail(FileProblem::Unreadable, Some(e))),
    };
    check(&meta, limit).map_err(|p| fail(p, None))?;
    let file = open(path).map_err(|e| fail(FileProblem::Unreadable, Some(e)))?;
    // The path may have been replaced between the two looks; the handle is what is read.
    let meta = file
        .metadata()
        .map_err(|e| fail(FileProblem::Unreadable, Some(e)))?;
    check(&meta, limit).map_err(|p| fail(p, None))?;
    let expected = usize::try_from(meta.len().min(limit)).unwrap_or(0);
    let mut out = Vec::with_capacity(expected);
    file.take(limit.saturating_add(1))
        .read_to_end(&mut out)
        .map_err(|e| fail(FileProblem::Unreadable, Some(e)))?;
    let seen = out.len() as u64;
    if seen > limit {
        return Err(fail(
            FileProblem::TooLarge {
                limit,
                seen,
                announced: false,
            },
            None,
        ));
    }
    Ok(out)
}

/// Opens `path` for reading. On Unix without blocking: should a FIFO replace the regular file
/// between the metadata check and the open, opening it must not wait for a writer (the handle's
/// own metadata then refuses it). Reads of a regular file are not affected by the flag.
fn open(path: &Path) -> std::io::Result<File> {
    let mut options = std::fs::OpenOptions::new();
    options.read(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt as _;
        options.custom_flags(libc::O_NONBLOCK);
    }
    options.open(path)
}

/// The refusal the metadata alone justifies: not a regular file, or announced over the cap.
fn check(meta: &Metadata, limit: u64) -> Result<(), FileProblem> {
    if !meta.is_file() {
        return Err(FileProblem::NotRegular(kind(meta)));
    }
    if meta.len() > limit {
        return Err(FileProblem::TooLarge {
            limit,
            seen: meta.len(),
            announced: true,
        });
    }
    Ok(())
}

/// What a file that is not a regular file is, for the message.
fn kind(meta: &Metadata) -> &'static str {
    let t = meta.file_type();
    if t.is_dir() {
        return "a directory";
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::FileTypeExt as _;
        if t.is_fifo() {
            return "a FIFO (named pipe)";
        }
        if t.is_socket() {
            return "a socket";
        }
        if t.is_char_device() {
            return "a character device";
        }
        if t.is_block_device() {
            return "a block device";
        }
    }
    "not a regular file"
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn regular_files_are_read_within_the_cap() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("a.toml");
        std::fs::write(&p, b"0123456789").unwrap();
        assert_eq!(read(&p, 10).unwrap(), b"0123456789");
        let e = read(&p, 9).unwrap_err();
        assert_eq!(
            e.problem,
            FileProblem::TooLarge {
                limit: 9,
                seen: 10,
                announced: true,
            }
        );
        assert!(e.to_string().contains("a.toml"), "{e}");
    }

    #[test]
    fn what_is_not_a_regular_file_is_named() {
        let dir = tempfile::tempdir().unwrap();
        let e = read(dir.path(), MAX_CONFIG_FILE).unwrap_err();
        assert_eq!(e.problem, FileProblem::NotRegular("a directory"));
        let e = read(&dir.path().join("nope"), MAX_CONFIG_FILE).unwrap_err();
        assert_eq!(e.problem, FileProblem::Missing);
        #[cfg(unix)]
        {
            let sock = dir.path().join("s.sock");
            let _listener = std::os::unix::net::UnixListener::bind(&sock).unwrap();
            let e = read(&sock, MAX_CONFIG_FILE).unwrap_err();
            assert_eq!(e.problem, FileProblem::NotRegular("a socket"));
            let fifo = dir.path().join("f.fifo");
            let made = std::process::Command::new("mkfifo").arg(&fifo).status();
            assert!(made.is_ok_and(|s| s.success()), "mkfifo (coreutils) failed");
            // Would block forever if it were opened.
            let e = read(&fifo, MAX_CONFIG_FILE).unwrap_err();
            assert_eq!(e.problem, FileProblem::NotRegular("a FIFO (named pipe)"));
        }
        #[cfg(target_os = "linux")]
        {
            let e = read(Path::new("/dev/zero"), MAX_CONFIG_FILE).unwrap_err();
            assert_eq!(e.problem, FileProblem::NotRegular("a character device"));
            // Size 0 in the metadata, content when read: the bounded read is what decides.
            let status = read(Path::new("/proc/self/status"), MAX_CONFIG_FILE).unwrap();
            assert!(!status.is_empty());
            let e = read(Path::new("/proc/self/status"), 16).unwrap_err();
            assert_eq!(
                e.problem,
                FileProblem::TooLarge {
                    limit: 16,
                    seen: 17,
                    announced: false,
                }
            );
        }
    }

    #[test]
    fn sizes_read_like_people_write_them() {
        assert_eq!(size(512), "512 bytes");
        assert_eq!(size(4 * 1024 * 1024), "4 MiB");
        assert_eq!(size(1536), "1.5 KiB");
        assert_eq!(size(1 << 30), "1 GiB");
    }
}
