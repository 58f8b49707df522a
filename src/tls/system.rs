//! The operating system's trust store (`roots = "system"`, and the TLS diagnosis that asks
//! whether the system would have trusted a chain), read with bounds.
//!
//! `SSL_CERT_FILE` and `SSL_CERT_DIR` in the process environment replace the platform's store,
//! as OpenSSL and rustls-native-certs read them. Those are paths anyone who sets the environment
//! chooses, so they are read here rather than by rustls-native-certs (which reads whatever is
//! there to the end: a FIFO blocks it forever, `/dev/zero` fills memory): regular files only,
//! each through the bounded file reader, at most [`MAX_STORE_BYTES`] and
//! [`MAX_DIR_ENTRIES`] per directory in all. The store is best effort: what is refused is
//! skipped (logged), and the anchor count in a failed handshake's evidence shows what was
//! loaded. Without those variables the platform's own store is read by rustls-native-certs.

use std::collections::HashSet;
use std::ffi::OsString;
use std::path::{Path, PathBuf};

use rustls_pki_types::CertificateDer;
use rustls_pki_types::pem::PemObject as _;

use crate::file;

/// The most bytes read from the files `SSL_CERT_FILE` and `SSL_CERT_DIR` name, all together
/// (each file also within the CA-file cap). A whole distribution store is under 1 MiB.
pub const MAX_STORE_BYTES: u64 = 32 * 1024 * 1024;
/// The most entries looked at in one `SSL_CERT_DIR` directory (a distribution's holds a few
/// hundred, hash links included).
pub const MAX_DIR_ENTRIES: usize = 10_000;

/// The certificates of the system store: those the environment's `SSL_CERT_FILE` and
/// `SSL_CERT_DIR` name when either is set (bounded), else the platform's.
pub(crate) fn load() -> Vec<CertificateDer<'static>> {
    match from_env(
        std::env::var_os("SSL_CERT_FILE"),
        std::env::var_os("SSL_CERT_DIR"),
    ) {
        Some((file, dirs)) => from_paths(file.as_deref(), &dirs),
        None => rustls_native_certs::load_native_certs().certs,
    }
}

/// The file and directories the variables name, or `None` when neither names any (an empty
/// `SSL_CERT_DIR` names none), as rustls-native-certs decides.
fn from_env(
    file: Option<OsString>,
    dir: Option<OsString>,
) -> Option<(Option<PathBuf>, Vec<PathBuf>)> {
    let dirs: Vec<PathBuf> = dir
        .map(|d| {
            std::env::split_paths(&d)
                .filter(|p| !p.as_os_str().is_empty())
                .collect()
        })
        .unwrap_or_default();
    let file = file.map(PathBuf::from);
    (file.is_some() || !dirs.is_empty()).then_some((file, dirs))
}

/// What is left to read, and the files already read (by device and inode: a certificate
/// directory holds several links to each file).
struct Reading {
    left: u64,
    seen: HashSet<(u64, u64)>,
    certs: Vec<CertificateDer<'static>>,
}

/// The certificates in `file` and in the regular files of `dirs` (not recursively), read
/// within the bounds; duplicates removed.
fn from_paths(file: Option<&Path>, dirs: &[PathBuf]) -> Vec<CertificateDer<'static>> {
    within(file, dirs, MAX_STORE_BYTES)
}

/// [`from_paths`] reading at most `budget` bytes in all.
fn within(file: Option<&Path>, dirs: &[PathBuf], budget: u64) -> Vec<CertificateDer<'static>> {
    let mut r = Reading {
        left: budget,
        seen: HashSet::new(),
        certs: Vec::new(),
    };
    if let Some(f) = file {
        r.read(f);
    }
    for dir in dirs {
        let entries = match std::fs::read_dir(dir) {
            Ok(e) => e,
            Err(e) => {
                tracing::warn!(dir = %dir.display(), error = %e, "SSL_CERT_DIR: directory not read");
                continue;
            }
        };
        for (i, entry) in entries.enumerate() {
            if i == MAX_DIR_ENTRIES {
                tracing::warn!(
                    dir = %dir.display(),
                    max = MAX_DIR_ENTRIES,
                    "SSL_CERT_DIR: entries past the limit not read"
                );
                break;
            }
            let Ok(entry) = entry else { continue };
            let path = entry.path();
            // Followed like OpenSSL follows them; anything but a regular file is not a
            // certificate file (and is skipped quietly, as rustls-native-certs does).
            if std::fs::metadata(&path).is_ok_and(|m| m.is_file()) {
                r.read(&path);
            }
        }
    }
    let mut certs = r.certs;
    certs.sort_unstable_by(|a, b| a.as_ref().cmp(b.as_ref()));
    certs.dedup();
    certs
}

impl Reading {
    /// Adds the certificates of `path`, read once, within the CA-file cap and what is left.
    fn read(&mut self, path: &Path) {
        if let Ok(meta) = std::fs::metadata(path)
            && !self.first_visit(&meta)
        {
            return;
        }
        let cap = self.left.min(file::MAX_CA_FILE);
        let bytes = match file::read(path, cap) {
            Ok(b) => b,
            Err(e) => {
                tracing::warn!(error = %e, "system trust store: file skipped");
                return;
            }
        };
        self.left -= bytes.len() as u64;
        self.certs.extend(
            CertificateDer::pem_slice_iter(&bytes)
                .filter_map(Result::ok)
                .map(|c| c.into_owned()),
        );
    }

    #[cfg(unix)]
    fn first_visit(&mut self, meta: &std::fs::Metadata) -> bool {
        use std::os::unix::fs::MetadataExt as _;
        self.seen.insert((meta.dev(), meta.ino()))
    }

    #[cfg(not(unix))]
    fn first_visit(&mut self, _meta: &std::fs::Metadata) -> bool {
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::TestPki;

    #[test]
    fn only_the_variables_that_name_something_replace_the_platform_store() {
        assert_eq!(from_env(None, None), None);
        assert_eq!(from_env(None, Some("".into())), None);
        assert_eq!(
            from_env(Some("/a.pem".into()), None),
            Some((Some(PathBuf::from("/a.pem")), Vec::new()))
        );
        assert_eq!(
            from_env(None, Some("/d1::/d2".into())),
            Some((None, vec![PathBuf::from("/d1"), PathBuf::from("/d2")]))
        );
    }

    #[test]
    fn hostile_entries_are_skipped_and_certificates_around_them_loaded() {
        let pki = TestPki::new();
        let dir = tempfile::tempdir().unwrap();
        std::fs::copy(pki.root_pem_path(), dir.path().join("ca.pem")).unwrap();
        // The same file again through a link: read once.
        std::os::unix::fs::symlink(dir.path().join("ca.pem"), dir.path().join("abcd.0")).unwrap();
        std::os::unix::fs::symlink("/dev/zero", dir.path().join("zero.pem")).unwrap();
        let fifo = dir.path().join("fifo.pem");
        let made = std::process::Command::new("mkfifo").arg(&fifo).status();
        assert!(made.is_ok_and(|s| s.success()), "mkfifo (coreutils)");
        // Sparse: the metadata says more than the cap, no disk is used.
        std::fs::File::create(dir.path().join("big.pem"))
            .unwrap()
            .set_len(file::MAX_CA_FILE + 1)
            .unwrap();
        let certs = from_paths(Some(&fifo), &[dir.path().to_path_buf()]);
        assert_eq!(certs, [pki.root().der().clone()]);
        assert!(from_paths(Some(Path::new("/dev/zero")), &[]).is_empty());
        assert!(from_paths(None, &[dir.path().join("missing")]).is_empty());
    }

    #[test]
    fn what_is_read_in_all_is_bounded() {
        let pki = TestPki::new();
        let dir = tempfile::tempdir().unwrap();
        let ca = std::fs::read(pki.root_pem_path()).unwrap();
        let budget = ca.len() as u64 * 2 + 10;
        // Two files fit the budget; the third is refused whole, not read in part.
        for name in ["a.pem", "b.pem", "c.pem"] {
            let mut text = ca.clone();
            text.extend_from_slice(name.as_bytes());
            std::fs::write(dir.path().join(name), text).unwrap();
        }
        let certs = within(None, &[dir.path().to_path_buf()], budget);
        // The same certificate twice is one anchor; what matters is that reading stopped.
        assert_eq!(certs.len(), 1);
        let mut r = Reading {
            left: budget,
            seen: HashSet::new(),
            certs: Vec::new(),
        };
        for name in ["a.pem", "b.pem", "c.pem"] {
            r.read(&dir.path().join(name));
        }
        assert_eq!(r.certs.len(), 2);
        assert!(r.left < ca.len() as u64);
    }
}
