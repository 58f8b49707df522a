//! The walk's state and its typed readers: where the document came from, the findings so far,
//! the CA files read, which keys exist at which level, and how a string, boolean, duration or size is
//! read from a positioned node (a type error becomes a diagnostic and the walk goes on). The
//! schema, the checks and the lint rules build on it; it imports none of them.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

use super::ca;
use super::duration;
use super::node::{Node, Pos, Value};
use super::provenance::Source;
use super::size;
use crate::diagnostic::{Diagnostic, Severity};
use crate::tls::CaBundle;

/// Keys of a layer, valid at the top level and in every provider.
pub(crate) const LAYER_KEYS: &[&str] = &[
    "proxy",
    "pac",
    "no_proxy",
    "roots",
    "ca_file",
    "proxy_ca_file",
    "danger_accept_invalid_certs",
    "timeouts",
    "limits",
];
/// Keys valid only at the top level.
pub(crate) const GLOBAL_ONLY: &[&str] = &["providers", "secret_query_params"];
/// Keys valid only in a provider.
pub(crate) const PROVIDER_ONLY: &[&str] = &["url", "required", "checks"];
/// Keys of `[timeouts]`.
pub(crate) const TIMEOUT_KEYS: &[&str] = &["connect", "proxy", "tls", "request"];
/// Keys of `[limits]`.
pub(crate) const LIMIT_KEYS: &[&str] = &["max_body", "check_body"];

/// The walk's state: where the document came from, findings so far, CA files read.
pub(crate) struct Walker<'a> {
    pub(crate) src: &'a Source,
    pub(crate) diags: Vec<Diagnostic>,
    pub(crate) ca_files: BTreeMap<PathBuf, (Option<CaBundle>, Vec<ca::CaProblem>)>,
}

/// Where an unknown key was found; decides which suggestions make sense.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Level {
    Global,
    Provider,
    Timeouts,
    Limits,
    Check,
}

pub(crate) fn join(prefix: &str, key: &str) -> String {
    if prefix.is_empty() {
        key.to_owned()
    } else {
        format!("{prefix}.{key}")
    }
}

impl<'a> Walker<'a> {
    /// A walk over a document read from `src`, with no findings yet.
    pub(crate) fn new(src: &'a Source) -> Self {
        Self {
            src,
            diags: Vec::new(),
            ca_files: BTreeMap::new(),
        }
    }
}

impl Walker<'_> {
    pub(crate) fn diag(
        &mut self,
        severity: Severity,
        code: &str,
        path: &str,
        pos: Option<Pos>,
        message: impl Into<String>,
        suggestion: Option<String>,
    ) {
        let mut d = Diagnostic::new(severity, code, path, self.src.location(pos), message);
        if let Some(s) = suggestion {
            // Through the setter: a suggestion quotes keys from the file, and is clamped.
            d = d.with_suggestion(s);
        }
        self.diags.push(d);
    }

    pub(crate) fn type_error(
        &self,
        path: &str,
        pos: Option<Pos>,
        want: &str,
        got: &Value,
    ) -> Diagnostic {
        Diagnostic::new(
            Severity::Error,
            "type_mismatch",
            path,
            self.src.location(pos),
            format!(
                "`{}` must be {want}, found {}",
                display_path(path),
                got.type_name()
            ),
        )
    }

    /// The string at `node`, or a type error.
    pub(crate) fn string<'n>(&mut self, path: &str, node: &'n Node, fix: &str) -> Option<&'n str> {
        match &node.value {
            Value::Str(s) => Some(s),
            other => {
                let d = self
                    .type_error(path, node.pos, "a string", other)
                    .with_suggestion(fix.to_owned());
                self.diags.push(d);
                None
            }
        }
    }

    /// The boolean at `node`, or a type error (with the unquoted fix for `"true"`).
    pub(crate) fn boolean(&mut self, path: &str, node: &Node) -> Option<bool> {
        match &node.value {
            Value::Bool(b) => Some(*b),
            other => {
                let fix = match other {
                    Value::Str(s)
                        if s.eq_ignore_ascii_case("true") || s.eq_ignore_ascii_case("false") =>
                    {
                        format!(
                            "write `{} = {}` without quotes",
                            last_key(path),
                            s.to_ascii_lowercase()
                        )
                    }
                    _ => format!(
                        "write `{} = true` or `{} = false`",
                        last_key(path),
                        last_key(path)
                    ),
                };
                let d = self
                    .type_error(path, node.pos, "true or false", other)
                    .with_suggestion(fix);
                self.diags.push(d);
                None
            }
        }
    }

    /// A duration (`"5s"`), or the reason it is not one.
    pub(crate) fn duration(&mut self, path: &str, node: &Node) -> Option<Duration> {
        let err = match &node.value {
            Value::Str(s) => match duration::parse(s) {
                Ok(d) => return Some(d),
                Err(e) => e,
            },
            Value::Int(n) => duration::bare_number(&n.to_string()),
            Value::Float(x) => duration::bare_number(&x.to_string()),
            other => {
                let d = self
                    .type_error(path, node.pos, "a duration string", other)
                    .with_suggestion("write a number with a unit, e.g. \"5s\" or \"250ms\"");
                self.diags.push(d);
                return None;
            }
        };
        self.diag(
            Severity::Error,
            err.code,
            path,
            node.pos,
            err.message,
            Some(err.suggestion),
        );
        None
    }
}

impl Walker<'_> {
    /// A size (`"16MiB"`), or the reason it is not one.
    pub(crate) fn size(&mut self, path: &str, node: &Node) -> Option<u64> {
        let err = match &node.value {
            Value::Str(s) => match size::parse(s) {
                Ok(n) => return Some(n),
                Err(e) => e,
            },
            Value::Int(n) => size::bare_number(&n.to_string()),
            other => {
                let d = self
                    .type_error(path, node.pos, "a size string", other)
                    .with_suggestion("write a whole number with a unit, e.g. \"16MiB\"");
                self.diags.push(d);
                return None;
            }
        };
        self.diag(
            Severity::Error,
            err.code,
            path,
            node.pos,
            err.message,
            Some(err.suggestion),
        );
        None
    }
}

pub(crate) fn last_key(path: &str) -> &str {
    let k = path.rsplit('.').next().unwrap_or(path);
    k.split('[').next().unwrap_or(k)
}

fn display_path(path: &str) -> &str {
    if path.is_empty() { "(document)" } else { path }
}
