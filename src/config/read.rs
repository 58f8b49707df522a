//! Reading a configuration file from disk: a regular file of at most
//! [`MAX_FILE_SIZE`](super::MAX_FILE_SIZE) bytes of UTF-8, or one `config.invalid` error whose
//! diagnostic names the file and what is wrong with it (`file.unreadable`, `file.not_regular`,
//! `file.too_large`, `file.not_utf8`).

use std::path::Path;

use crate::diagnostic::{Diagnostic, Severity};
use crate::error::{Error, ErrorKind};
use crate::file::{self, FileProblem};

use super::position::LineIndex;

/// Reads the configuration file at `path` as text. See [`super::read_file`].
pub(crate) fn text(path: &Path) -> Result<String, Error> {
    let shown = path.display().to_string();
    let bytes = match file::read(path, file::MAX_CONFIG_FILE) {
        Ok(b) => b,
        Err(e) => {
            let (code, fix) = match e.problem {
                FileProblem::Missing | FileProblem::Unreadable => (
                    "file.unreadable",
                    "check that the configuration file exists at this path and is readable"
                        .to_owned(),
                ),
                FileProblem::NotRegular(_) => (
                    "file.not_regular",
                    "point at the configuration file itself; pipes, devices and directories are not read"
                        .to_owned(),
                ),
                FileProblem::TooLarge { limit, .. } => (
                    "file.too_large",
                    format!(
                        "a configuration is a few KiB; files over {} are refused (is this the right file?)",
                        file::size(limit)
                    ),
                ),
            };
            let message = e.to_string();
            let d = Diagnostic::new(Severity::Error, code, "", Some(shown.clone()), &message)
                .with_suggestion(fix.clone());
            let mut err = Error::new(ErrorKind::ConfigInvalid)
                .with_message(format!("cannot read config file: {message}"))
                .with_hint(fix)
                .map_evidence(|ev| {
                    ev.file = Some(shown);
                    ev.diagnostics.push(d);
                });
            if let Some(io) = e.io {
                err = err.with_source(io);
            }
            return Err(err);
        }
    };
    String::from_utf8(bytes).map_err(|e| {
        let at = e.utf8_error().valid_up_to();
        let text = String::from_utf8_lossy(e.as_bytes());
        let pos = LineIndex::new(&text).pos(at);
        let location = format!("{shown}:{}:{}", pos.line, pos.col);
        let message = format!(
            "{shown} is not UTF-8 text: invalid byte at line {}, column {}",
            pos.line, pos.col
        );
        let fix = "save the file as UTF-8 (TOML files are UTF-8)";
        let d = Diagnostic::new(
            Severity::Error,
            "file.not_utf8",
            "",
            Some(location),
            &message,
        )
        .with_suggestion(fix);
        Error::new(ErrorKind::ConfigInvalid)
            .with_message(format!("cannot read config file: {message}"))
            .with_hint(fix)
            .map_evidence(|ev| {
                ev.file = Some(shown);
                ev.diagnostics.push(d);
            })
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn diag_code(e: &Error) -> &str {
        e.evidence().diagnostics[0].code.as_str()
    }

    #[test]
    fn every_refusal_is_config_invalid_naming_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let big = dir.path().join("big.toml");
        std::fs::write(&big, vec![b'#'; (file::MAX_CONFIG_FILE + 1) as usize]).unwrap();
        let latin1 = dir.path().join("latin1.toml");
        std::fs::write(&latin1, b"# ok\nproxy = \"caf\xe9\"\n").unwrap();
        let cases = [
            (dir.path().join("missing.toml"), "file.unreadable"),
            (dir.path().to_path_buf(), "file.not_regular"),
            (big, "file.too_large"),
            (latin1.clone(), "file.not_utf8"),
        ];
        for (path, code) in cases {
            let e = text(&path).unwrap_err();
            assert_eq!(e.code(), "config.invalid", "{}", path.display());
            assert_eq!(diag_code(&e), code, "{}", path.display());
            assert_eq!(
                e.evidence().file.as_deref(),
                Some(path.display().to_string().as_str())
            );
            assert!(e.hint().is_some());
        }
        let e = text(&latin1).unwrap_err();
        let at = e.evidence().diagnostics[0].location.clone().unwrap();
        assert!(at.ends_with(":2:13"), "{at}");
    }
}
