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
    "client_cert",
    "client_key",
    "proxy_client_cert",
    "proxy_client_key",
    "min_tls_version",
    "proxy_min_tls_version",
    "danger_accept_invalid_hostnames",
    "proxy_auth",
    "proxy_headers",
];
/// Keys valid only at the top level.
pub(crate) const GLOBAL_ONLY: &[&str] = &["providers", "secret_query_params"];
/// Keys valid only in a provider (`auth`: origin credentials go to one provider's origin).
pub(crate) const PROVIDER_ONLY: &[&str] = &["url", "required", "checks", "auth"];
/// Keys of `[timeouts]`.
pub(crate) const TIMEOUT_KEYS: &[&str] = &["connect", "proxy", "tls", "request"];
/// Keys of `[limits]`.
pub(crate) const LIMIT_KEYS: &[&str] = &["max_body", "check_body"];
/// Keys of a check (`[[providers.NAME.checks]]`).
pub(crate) const CHECK_KEYS: &[&str] = &[
    "name",
    "path",
    "url",
    "method",
    "expect_status",
    "body_contains",
    "expect_header",
    "follow_redirects",
    "allow_proxy_response",
    "timeout",
];
/// Keys of a check's `expect_header` table.
pub(crate) const HEADER_KEYS: &[&str] = &["name", "contains"];
/// Keys of `proxy_auth` (a secret is never written in the file: `password_*` names where it is).
pub(crate) const PROXY_AUTH_KEYS: &[&str] = &["username", "password_env", "password_file"];
/// Keys of a provider's `auth`: Basic (`username` and one `password_*`) or Bearer (`bearer_*`).
pub(crate) const AUTH_KEYS: &[&str] = &[
    "username",
    "password_env",
    "password_file",
    "bearer_env",
    "bearer_file",
];

/// Every table of the schema, by the path docs/configuration.md writes it (`NAME` for a
/// provider's name, `[]` for an element of an array of tables), with the key lists valid in it.
/// The global settings are listed once, at the top level, although every provider accepts them.
/// A new table's keys belong here: the reference test then asks for each to be documented.
#[cfg(test)]
pub(crate) const TABLES: &[(&str, &[&[&str]])] = &[
    ("", &[LAYER_KEYS, GLOBAL_ONLY]),
    ("timeouts", &[TIMEOUT_KEYS]),
    ("limits", &[LIMIT_KEYS]),
    ("providers.NAME", &[PROVIDER_ONLY]),
    ("providers.NAME.checks[]", &[CHECK_KEYS]),
    ("providers.NAME.checks[].expect_header", &[HEADER_KEYS]),
    ("proxy_auth", &[PROXY_AUTH_KEYS]),
    ("providers.NAME.auth", &[AUTH_KEYS]),
];

/// Every key the loader accepts, as a full path (`timeouts.connect`,
/// `providers.NAME.checks[].name`), in [`TABLES`] order.
#[cfg(test)]
pub(crate) fn known_keys() -> Vec<String> {
    TABLES
        .iter()
        .flat_map(|(table, lists)| {
            lists
                .iter()
                .flat_map(|keys| keys.iter())
                .map(move |k| join(table, k))
        })
        .collect()
}

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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::ConfigDocument;
    use crate::proxy::EnvSnapshot;

    /// One `### \`key\`` section of the reference: its key and its text up to the next heading.
    struct Section {
        key: String,
        body: String,
    }

    fn sections(doc: &str) -> Vec<Section> {
        let mut out: Vec<Section> = Vec::new();
        let mut in_code = false;
        let mut current: Option<Section> = None;
        for line in doc.lines() {
            if line.starts_with("```") {
                in_code = !in_code;
            }
            if !in_code && line.starts_with('#') {
                out.extend(current.take());
                current = line
                    .strip_prefix("### `")
                    .and_then(|rest| rest.strip_suffix('`'))
                    .map(|key| Section {
                        key: key.to_owned(),
                        body: String::new(),
                    });
                continue;
            }
            if let Some(s) = &mut current {
                s.body.push_str(line);
                s.body.push('\n');
            }
        }
        out.extend(current);
        out
    }

    /// The first ```toml block of `body`.
    fn example(body: &str) -> Option<String> {
        let start = body.find("```toml\n")? + "```toml\n".len();
        let len = body[start..].find("```")?;
        Some(body[start..start + len].to_owned())
    }

    /// docs/configuration.md has a section for every key the loader accepts and none for a key
    /// it does not; each section gives the type, the default (or says the key is required) and
    /// an example that loads. A key added to a list in this file (or a new table in `TABLES`)
    /// fails here until it is documented. A key whose **Type** starts with "table" (fixed keys)
    /// or "array of tables" must have its keys in `TABLES`; a table of free-form names (header
    /// names, say) is written "map" and has none.
    #[test]
    fn the_reference_documents_every_key() {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/docs/configuration.md");
        let doc = std::fs::read_to_string(path).expect("docs/configuration.md exists");
        let documented = sections(&doc);
        let known = known_keys();
        let mut problems = Vec::new();
        for key in &known {
            if !documented.iter().any(|s| &s.key == key) {
                problems.push(format!(
                    "`{key}` is accepted but has no \"### `{key}`\" section in docs/configuration.md"
                ));
            }
        }
        for s in &documented {
            let key = &s.key;
            if !known.contains(key) {
                problems.push(format!(
                    "docs/configuration.md documents `{key}`, which the loader does not accept (a key path as TABLES in src/config/walk.rs writes it)"
                ));
                continue;
            }
            if documented.iter().filter(|d| &d.key == key).count() > 1 {
                problems.push(format!("`{key}` has two sections"));
            }
            let Some(ty) = s.body.split("**Type**: ").nth(1) else {
                problems.push(format!("`{key}`: no **Type**"));
                continue;
            };
            if !s.body.contains("**Default**: ") && !s.body.contains("**Required") {
                problems.push(format!("`{key}`: no **Default** (or **Required**)"));
            }
            let ty = ty.to_ascii_lowercase();
            let table = if ty.starts_with("array of tables") {
                Some(format!("{key}[]"))
            } else if ty.starts_with("table of provider tables") {
                Some(format!("{key}.NAME"))
            } else if ty.starts_with("table") || ty.starts_with("inline table") {
                Some(key.clone())
            } else {
                None
            };
            if let Some(t) = table
                && !TABLES.iter().any(|(name, _)| *name == t)
            {
                problems.push(format!(
                    "`{key}` is a table but TABLES in src/config/walk.rs does not list `{t}` and its keys"
                ));
            }
            let Some(toml) = example(&s.body) else {
                problems.push(format!("`{key}`: no ```toml example"));
                continue;
            };
            if !toml.contains(last_key(key)) {
                problems.push(format!("`{key}`: the example does not set it"));
            }
            // The examples name CA, certificate and password files and environment variables
            // that need not exist on this machine.
            let errors: Vec<String> =
                ConfigDocument::from_toml_str(&toml, "/etc/proxyscope/reference.toml")
                    .lint(&EnvSnapshot::default())
                    .into_iter()
                    .filter(|d| d.is_error() && !names_the_readers_machine(&d.code))
                    .map(|d| format!("{} at {}: {}", d.code, d.path, d.message))
                    .collect();
            if !errors.is_empty() {
                problems.push(format!("`{key}`: the example does not load: {errors:?}"));
            }
        }
        // The complete example loads too.
        let whole = doc
            .split("## A complete example")
            .nth(1)
            .and_then(example)
            .expect("a complete example");
        let errors: Vec<_> = ConfigDocument::from_toml_str(&whole, "/etc/proxyscope/p.toml")
            .lint(&EnvSnapshot::default())
            .into_iter()
            .filter(|d| d.is_error())
            .collect();
        if !errors.is_empty() {
            problems.push(format!("the complete example does not load: {errors:?}"));
        }
        assert!(problems.is_empty(), "{}", problems.join("\n"));
    }

    /// A finding about a file or variable the example names, which the reader's machine has
    /// and this one need not.
    fn names_the_readers_machine(code: &str) -> bool {
        code.starts_with("ca_file.")
            || matches!(
                code,
                "client_cert.missing" | "credentials.missing" | "credentials.unset"
            )
            // A PAC file (and a build without the `pac` feature refuses any).
            || matches!(code, "pac.file" | "pac.unavailable")
    }

    #[test]
    fn the_reference_test_finds_a_missing_and_an_unknown_key() {
        let doc = "## x\n\n### `proxy`\n\n**Type**: string. **Default**: env.\n\n```toml\nproxy = \"direct\"\n```\n\n### `nonsense`\n\ntext\n";
        let keys: Vec<String> = sections(doc).into_iter().map(|s| s.key).collect();
        assert_eq!(keys, ["proxy", "nonsense"]);
        assert!(!known_keys().contains(&"nonsense".to_owned()));
        assert!(
            known_keys().contains(&"providers.NAME.checks[].expect_header.contains".to_owned())
        );
        assert_eq!(
            example("a\n```toml\nk = 1\n```\n").as_deref(),
            Some("k = 1\n")
        );
    }
}
