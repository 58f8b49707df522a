//! Credentials kept outside URLs: where a secret comes from ([`SecretSource`]: an environment
//! variable, a file, or a value handed to the builder), the proxy's credentials ([`ProxyAuth`])
//! and the origin's ([`OriginAuth`], Basic or Bearer), and their resolution into a [`Secret`]
//! when a client is built.
//!
//! A secret's value is never printed: [`Secret`] has no `Display`, its `Debug` is `Secret(***)`,
//! and a [`SecretSource`] serialises and debug-prints where the secret comes from (the variable's
//! name, the file's path), never the value. Resolution reads the environment snapshot the client
//! was built with, never the process environment behind its back, and refuses an unset or empty
//! variable and a missing, unreadable, oversized or empty file with the reason
//! ([`CredentialProblem`]), so a deployment that forgot to mount the secret fails at startup
//! instead of sending requests without credentials.

use std::fmt;
use std::path::{Path, PathBuf};

use serde::Serialize;
use serde::ser::SerializeMap;

use crate::proxy::EnvSnapshot;

/// The most bytes read from a password or token file (64 KiB). A password is a few dozen bytes;
/// anything larger is the wrong file.
pub const MAX_SECRET_FILE: u64 = 64 * 1024;

/// A resolved secret value. No `Display`; `Debug` prints `Secret(***)`; not serialisable.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    /// Wraps a value.
    pub fn new(value: impl Into<String>) -> Self {
        Self(value.into())
    }

    /// The value, for building a header. Never print it.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(***)")
    }
}

/// Where a secret comes from.
#[non_exhaustive]
#[derive(Clone, PartialEq, Eq)]
pub enum SecretSource {
    /// An environment variable of the client's environment snapshot, read when the client is
    /// built (`password_env`, `bearer_env`).
    Env(String),
    /// A file read when the client is built (`password_file`, `bearer_file`); one trailing
    /// newline (`\n` or `\r\n`) is removed, so `echo secret > file` works.
    File(PathBuf),
    /// A value handed to the builder.
    Value(Secret),
}

impl SecretSource {
    /// The secret in the variable `name`.
    pub fn env(name: impl Into<String>) -> Self {
        Self::Env(name.into())
    }

    /// The secret in the file at `path`.
    pub fn file(path: impl Into<PathBuf>) -> Self {
        Self::File(path.into())
    }

    /// A secret given directly.
    pub fn value(value: impl Into<String>) -> Self {
        Self::Value(Secret::new(value))
    }

    /// Where the secret comes from, for people: `env:VAR`, `file:/run/secrets/x` or `builder`.
    pub fn describe(&self) -> String {
        match self {
            Self::Env(v) => format!("env:{v}"),
            Self::File(p) => format!("file:{}", p.display()),
            Self::Value(_) => "builder".to_owned(),
        }
    }

    /// Reads the secret: the variable from `env`, or the file. Fails when the variable is unset
    /// or empty, or the file is missing, unreadable, not a regular file, larger than
    /// [`MAX_SECRET_FILE`] or empty.
    pub fn resolve(&self, env: &EnvSnapshot) -> Result<Secret, CredentialError> {
        match self {
            Self::Value(s) if s.0.is_empty() => {
                Err(CredentialError::new(self, CredentialProblem::Empty, None))
            }
            Self::Value(s) => Ok(s.clone()),
            Self::Env(var) => match env.credential_var(var) {
                None => Err(CredentialError::new(self, CredentialProblem::Unset, None)),
                Some("") => Err(CredentialError::new(self, CredentialProblem::Empty, None)),
                Some(v) => Ok(Secret::new(v)),
            },
            Self::File(path) => {
                let bytes = read_bounded(path, MAX_SECRET_FILE)
                    .map_err(|(problem, io)| CredentialError::new(self, problem, io))?;
                let text = String::from_utf8(bytes)
                    .map_err(|_| CredentialError::new(self, CredentialProblem::NotText, None))?;
                let value = text
                    .strip_suffix("\r\n")
                    .or_else(|| text.strip_suffix('\n'))
                    .unwrap_or(&text);
                if value.is_empty() {
                    return Err(CredentialError::new(self, CredentialProblem::Empty, None));
                }
                Ok(Secret::new(value))
            }
        }
    }
}

impl fmt::Debug for SecretSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Env(v) => f.debug_tuple("Env").field(v).finish(),
            Self::File(p) => f.debug_tuple("File").field(p).finish(),
            Self::Value(s) => f.debug_tuple("Value").field(s).finish(),
        }
    }
}

/// `{"env": "VAR"}`, `{"file": "/path"}` or `{"value": "***"}`.
impl Serialize for SecretSource {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut m = s.serialize_map(Some(1))?;
        match self {
            Self::Env(v) => m.serialize_entry("env", v)?,
            Self::File(p) => m.serialize_entry("file", &p.display().to_string())?,
            Self::Value(_) => m.serialize_entry("value", "***")?,
        }
        m.end()
    }
}

/// Why a secret could not be resolved.
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum CredentialProblem {
    /// The environment variable is not set.
    Unset,
    /// The variable, the file or the value is empty.
    Empty,
    /// The file does not exist.
    Missing,
    /// The file cannot be read, or is not a regular file.
    Unreadable,
    /// The file is larger than [`MAX_SECRET_FILE`].
    TooLarge,
    /// The file is not UTF-8 text.
    NotText,
}

impl CredentialProblem {
    /// The stable snake_case name (the suffix of the lint code `credentials.*`).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Unset => "unset",
            Self::Empty => "empty",
            Self::Missing => "missing",
            Self::Unreadable => "unreadable",
            Self::TooLarge => "too_large",
            Self::NotText => "not_text",
        }
    }
}

/// A secret that could not be resolved: its source (never its value), why, and the I/O error.
#[derive(Debug)]
pub struct CredentialError {
    source: String,
    problem: CredentialProblem,
    io: Option<std::io::Error>,
}

impl CredentialError {
    fn new(source: &SecretSource, problem: CredentialProblem, io: Option<std::io::Error>) -> Self {
        Self {
            source: source.describe(),
            problem,
            io,
        }
    }

    /// Why.
    pub fn problem(&self) -> CredentialProblem {
        self.problem
    }

    /// Where the secret was looked for: `env:VAR`, `file:/path` or `builder`.
    pub fn looked_in(&self) -> &str {
        &self.source
    }
}

impl fmt::Display for CredentialError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let what = match (self.source.split_once(':'), self.problem) {
            (Some(("env", var)), CredentialProblem::Unset) => {
                return write!(f, "the environment variable {var} is not set");
            }
            (Some(("env", var)), _) => {
                return write!(f, "the environment variable {var} is empty");
            }
            (_, CredentialProblem::Unset | CredentialProblem::Empty) => "is empty",
            (_, CredentialProblem::Missing) => "does not exist",
            (_, CredentialProblem::Unreadable) => "cannot be read (or is not a regular file)",
            (_, CredentialProblem::TooLarge) => "is larger than 64 KiB",
            (_, CredentialProblem::NotText) => "is not UTF-8 text",
        };
        match self.source.split_once(':') {
            Some(("file", path)) => write!(f, "the secret file {path} {what}"),
            _ => write!(f, "the secret given to the builder {what}"),
        }
    }
}

impl std::error::Error for CredentialError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.io
            .as_ref()
            .map(|e| e as &(dyn std::error::Error + 'static))
    }
}

/// Credentials for the proxy, kept outside its URL (`proxy_auth = { username = "...",
/// password_env = "VAR" }`). They apply to whichever proxy the route chooses for the layer,
/// an environment proxy included (as curl's `--proxy-user` does), and take precedence over
/// credentials written in the proxy URL.
#[non_exhaustive]
#[derive(Clone, PartialEq, Eq, Serialize)]
pub struct ProxyAuth {
    /// The user name (not secret).
    pub username: String,
    /// Where the password comes from.
    pub password: SecretSource,
}

impl ProxyAuth {
    /// A user name and where its password comes from.
    pub fn new(username: impl Into<String>, password: SecretSource) -> Self {
        Self {
            username: username.into(),
            password,
        }
    }
}

impl fmt::Debug for ProxyAuth {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ProxyAuth")
            .field("username", &self.username)
            .field("password", &self.password)
            .finish()
    }
}

/// Credentials for a provider's origin, sent as `Authorization` on requests to the provider's
/// base URL (same scheme, host and port), never to other hosts.
#[non_exhaustive]
#[derive(Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum OriginAuth {
    /// `Authorization: Basic base64(username:password)`.
    Basic {
        /// The user name (not secret).
        username: String,
        /// Where the password comes from.
        password: SecretSource,
    },
    /// `Authorization: Bearer TOKEN`.
    Bearer {
        /// Where the token comes from.
        token: SecretSource,
    },
}

impl OriginAuth {
    /// Basic credentials.
    pub fn basic(username: impl Into<String>, password: SecretSource) -> Self {
        Self::Basic {
            username: username.into(),
            password,
        }
    }

    /// A bearer token.
    pub fn bearer(token: SecretSource) -> Self {
        Self::Bearer { token }
    }

    /// The scheme, `basic` or `bearer`.
    pub fn scheme(&self) -> &'static str {
        match self {
            Self::Basic { .. } => "basic",
            Self::Bearer { .. } => "bearer",
        }
    }

    /// Where the secret comes from.
    pub fn secret(&self) -> &SecretSource {
        match self {
            Self::Basic { password, .. } => password,
            Self::Bearer { token } => token,
        }
    }
}

impl fmt::Debug for OriginAuth {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Basic { username, password } => f
                .debug_struct("Basic")
                .field("username", username)
                .field("password", password)
                .finish(),
            Self::Bearer { token } => f.debug_struct("Bearer").field("token", token).finish(),
        }
    }
}

/// Reads the regular file at `path`, at most `limit` bytes, through the crate's one bounded
/// file reader (regular files only, opened without blocking, stopped one byte past the cap). The
/// one file read of this module and of client-certificate loading.
pub(crate) fn read_bounded(
    path: &Path,
    limit: u64,
) -> Result<Vec<u8>, (CredentialProblem, Option<std::io::Error>)> {
    use crate::file::FileProblem;
    crate::file::read(path, limit).map_err(|e| {
        let problem = match e.problem {
            FileProblem::Missing => CredentialProblem::Missing,
            FileProblem::Unreadable | FileProblem::NotRegular(_) => CredentialProblem::Unreadable,
            FileProblem::TooLarge { .. } => CredentialProblem::TooLarge,
        };
        (problem, e.io)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sources_resolve_or_say_why() {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let good = dir.path().join("pw");
        std::fs::write(&good, "s3cret\n").unwrap_or_else(|e| panic!("{e}"));
        let empty = dir.path().join("empty");
        std::fs::write(&empty, "\n").unwrap_or_else(|e| panic!("{e}"));
        let env = EnvSnapshot::from_pairs([("PW", "from-env"), ("BLANK", "")]);
        let cases: [(SecretSource, Result<&str, CredentialProblem>); 7] = [
            (SecretSource::env("PW"), Ok("from-env")),
            (SecretSource::env("NOPE"), Err(CredentialProblem::Unset)),
            (SecretSource::env("BLANK"), Err(CredentialProblem::Empty)),
            (SecretSource::file(&good), Ok("s3cret")),
            (SecretSource::file(&empty), Err(CredentialProblem::Empty)),
            (
                SecretSource::file(dir.path().join("absent")),
                Err(CredentialProblem::Missing),
            ),
            (
                SecretSource::file(dir.path()),
                Err(CredentialProblem::Unreadable),
            ),
        ];
        for (src, want) in cases {
            let got = src.resolve(&env);
            let got = got.as_ref().map(Secret::expose).map_err(|e| e.problem());
            assert_eq!(got, want, "{src:?}");
        }
    }

    #[test]
    fn values_never_print() {
        let src = SecretSource::value("hunter2");
        let auth = ProxyAuth::new("alice", src.clone());
        let origin = OriginAuth::bearer(src.clone());
        let shown = format!(
            "{src:?} {auth:?} {origin:?} {} {} {:?}",
            serde_json::to_string(&auth).unwrap_or_default(),
            serde_json::to_string(&origin).unwrap_or_default(),
            src.resolve(&EnvSnapshot::default()).ok()
        );
        assert!(!shown.contains("hunter2"), "{shown}");
        assert!(shown.contains("alice") && shown.contains("***"), "{shown}");
    }

    #[test]
    fn errors_name_the_source_never_a_value() {
        let e = SecretSource::env("PROXY_PW")
            .resolve(&EnvSnapshot::default())
            .err()
            .map(|e| e.to_string());
        assert_eq!(
            e.as_deref(),
            Some("the environment variable PROXY_PW is not set")
        );
    }
}
