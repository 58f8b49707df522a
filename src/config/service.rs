//! A service's own TOML file that holds proxyscope's settings in one of its tables
//! ([`ServiceFile`]), and readers for the service's other tables ([`Table`]) that report every
//! problem the way proxyscope's own keys are reported: the key path of the whole file, its
//! `file:line:col`, a code and a fix. A service that embeds proxyscope writes none of this
//! itself: it names its keys, their types and what each must be.
//!
//! ```
//! use std::net::SocketAddr;
//! use proxyscope::EnvSnapshot;
//! use proxyscope::config::ServiceFile;
//!
//! let text = r#"
//! [server]
//! listen = "127.0.0.1:8080"
//! health_cache = "5s"
//!
//! [proxyscope]
//! proxy = "http://egress.example.org:3128"
//! [proxyscope.providers.apertium]
//! url = "http://apertium.svc.example.org:2737"
//! "#;
//! let file = ServiceFile::from_toml_str(text, "/etc/svc/service.toml", "proxyscope");
//! let mut findings = file.lint(&EnvSnapshot::default());
//! let root = file.root();
//! root.deny_unknown(&["server"], &mut findings);
//! let server = root.table("server", &mut findings);
//! let listen = server.as_ref().and_then(|t| {
//!     t.parse::<SocketAddr>("listen", "an address and port such as \"127.0.0.1:8080\"", &mut findings)
//! });
//! let cache = server.as_ref().and_then(|t| t.duration("health_cache", &mut findings));
//! if let Some(t) = &server {
//!     t.deny_unknown(&["listen", "health_cache"], &mut findings);
//! }
//! assert!(findings.iter().all(|d| !d.is_error()), "{findings:?}");
//! assert_eq!(listen.unwrap().value.port(), 8080);
//! assert_eq!(cache.unwrap().origin.to_string(), "file:/etc/svc/service.toml:4:1 (server.health_cache)");
//! let config = file.document().to_config()?;
//! let url = config.providers()[0].url();
//! assert_eq!(url.origin.to_string(), "file:/etc/svc/service.toml:9:1 (proxyscope.providers.apertium.url)");
//! # Ok::<(), proxyscope::Error>(())
//! ```

use std::path::Path;
use std::str::FromStr;
use std::time::Duration;

use super::node::{Entry, Node, Pos, Value};
use super::provenance::Source;
use super::suggest;
use super::walk::{GLOBAL_ONLY, LAYER_KEYS, Walker, join};
use super::{ConfigDocument, parse, read_file};
use crate::diagnostic::{Diagnostic, Severity};
use crate::error::Error;
use crate::proxy::EnvSnapshot;
use crate::settings::{Provenance, Sourced};

/// A service's own TOML file with proxyscope's settings in one table (`[proxyscope]`) next to
/// the service's own tables, parsed once with positions.
///
/// [`document`](ServiceFile::document) is proxyscope's section, validated like a file of its
/// own but with the whole file's key paths (`proxyscope.providers.NAME.url`) and positions;
/// [`root`](ServiceFile::root) reads the service's tables.
#[derive(Debug, Clone)]
pub struct ServiceFile {
    source: Source,
    root: Node,
    section: String,
    document: ConfigDocument,
}

impl ServiceFile {
    /// Reads `path` (through [`read_file`]: a regular file within
    /// [`MAX_FILE_SIZE`](super::MAX_FILE_SIZE)); proxyscope's settings are in the table
    /// `section`. Fails only when the file cannot be read (`config.invalid` with a `file.*`
    /// diagnostic and `evidence().file`); everything else is a finding of
    /// [`lint`](ServiceFile::lint).
    pub fn from_file(path: impl AsRef<Path>, section: &str) -> Result<Self, Error> {
        let path = path.as_ref();
        read_file(path).map(|text| Self::from_toml_str(&text, path, section))
    }

    /// Parses TOML text named `origin_name` (relative paths in it resolve against its
    /// directory); proxyscope's settings are in the table `section`. Syntax errors become
    /// findings, never a panic.
    pub fn from_toml_str(text: &str, origin_name: impl AsRef<Path>, section: &str) -> Self {
        let source = Source::file(origin_name.as_ref());
        let parsed = parse(text, &source);
        let document = ConfigDocument::section_of(
            &parsed.root,
            parsed.syntax,
            parsed.omitted,
            source.clone(),
            section,
        );
        Self {
            source,
            root: parsed.root,
            section: section.to_owned(),
            document,
        }
    }

    /// The file as named.
    pub fn path(&self) -> &Path {
        self.source.path.as_deref().unwrap_or(Path::new(""))
    }

    /// The table that holds proxyscope's settings.
    pub fn section(&self) -> &str {
        &self.section
    }

    /// proxyscope's section as a document: [`ConfigDocument::to_config`] validates it.
    pub fn document(&self) -> &ConfigDocument {
        &self.document
    }

    /// Every finding about proxyscope's section and the environment (syntax errors anywhere
    /// in the file included), with the whole file's key paths. The service's own tables are
    /// checked by reading them through [`root`](ServiceFile::root).
    pub fn lint(&self, env: &EnvSnapshot) -> Vec<Diagnostic> {
        self.document.lint(env)
    }

    /// The file's top-level table, to read the service's own tables from.
    pub fn root(&self) -> Table<'_> {
        let entries = match &self.root.value {
            Value::Table(entries) => entries.as_slice(),
            _ => &[],
        };
        Table {
            file: self,
            path: String::new(),
            pos: self.root.pos,
            entries,
        }
    }
}

/// One table of a [`ServiceFile`], read key by key. Every reader returns the value with its
/// [`Provenance`] (`file:line:col` and the key path) or, when the key is there but unusable,
/// pushes a [`Diagnostic`] onto `out` and returns `None`, so one pass reports every problem.
/// An absent key is `None` without a finding: the caller applies its default.
///
/// Codes: `type_mismatch` (wrong TOML type), `invalid_value` (a string [`parse`](Table::parse)
/// rejected, an integer out of range), `duration.*` (see [`duration`](Table::duration)),
/// `unknown_key` ([`deny_unknown`](Table::deny_unknown)).
#[derive(Debug, Clone)]
pub struct Table<'a> {
    file: &'a ServiceFile,
    path: String,
    pos: Option<Pos>,
    entries: &'a [Entry],
}

impl<'a> Table<'a> {
    /// The table's key path (`server`, `translate.apertium`; empty for the root).
    pub fn path(&self) -> &str {
        &self.path
    }

    /// The key path of `key` in this table (the table's own path for `""`).
    pub fn key_path(&self, key: &str) -> String {
        if key.is_empty() {
            self.path.clone()
        } else {
            join(&self.path, key)
        }
    }

    /// Where the table starts, `file:line:col`.
    pub fn location(&self) -> Option<String> {
        self.file.source.location(self.pos)
    }

    /// Where the table was declared, as a [`Provenance`].
    pub fn origin(&self) -> Provenance {
        self.file.source.origin(&self.path, self.pos)
    }

    /// The keys, in file order.
    pub fn keys(&self) -> impl Iterator<Item = &'a str> + '_ {
        self.entries.iter().map(|e| e.key.as_str())
    }

    /// Whether `key` is set.
    pub fn contains(&self, key: &str) -> bool {
        self.entry(key).is_some()
    }

    fn entry(&self, key: &str) -> Option<&'a Entry> {
        self.entries.iter().find(|e| e.key == key)
    }

    fn walk<T>(&self, out: &mut Vec<Diagnostic>, f: impl FnOnce(&mut Walker<'_>) -> T) -> T {
        let mut w = Walker::new(&self.file.source);
        let value = f(&mut w);
        out.append(&mut w.diags);
        value
    }

    fn sourced<T>(&self, e: &Entry, value: T) -> Sourced<T> {
        Sourced::new(
            value,
            self.file.source.origin(&self.key_path(&e.key), e.key_pos),
        )
    }

    /// The table at `key`; `type_mismatch` when it is something else.
    pub fn table(&self, key: &str, out: &mut Vec<Diagnostic>) -> Option<Table<'a>> {
        let e = self.entry(key)?;
        self.as_table(e, out)
    }

    /// Every entry of this table as a table of its own, by key (`[translate.NAME]`); an entry
    /// that is not a table is a `type_mismatch`.
    pub fn tables(&self, out: &mut Vec<Diagnostic>) -> Vec<(&'a str, Table<'a>)> {
        self.entries
            .iter()
            .filter_map(|e| Some((e.key.as_str(), self.as_table(e, out)?)))
            .collect()
    }

    fn as_table(&self, e: &'a Entry, out: &mut Vec<Diagnostic>) -> Option<Table<'a>> {
        let path = self.key_path(&e.key);
        match &e.node.value {
            Value::Table(entries) => Some(Table {
                file: self.file,
                path,
                pos: e.key_pos,
                entries,
            }),
            other => {
                let fix = format!("write it as a [{path}] table");
                self.walk(out, |w| {
                    let d = w
                        .type_error(&path, e.node.pos, "a table", other)
                        .with_suggestion(fix);
                    w.diags.push(d);
                });
                None
            }
        }
    }

    /// The string at `key`.
    pub fn string(&self, key: &str, out: &mut Vec<Diagnostic>) -> Option<Sourced<String>> {
        let e = self.entry(key)?;
        let path = self.key_path(key);
        let s = self.walk(out, |w| {
            w.string(&path, &e.node, "quote the value")
                .map(str::to_owned)
        })?;
        Some(self.sourced(e, s))
    }

    /// The boolean at `key`.
    pub fn boolean(&self, key: &str, out: &mut Vec<Diagnostic>) -> Option<Sourced<bool>> {
        let e = self.entry(key)?;
        let path = self.key_path(key);
        let b = self.walk(out, |w| w.boolean(&path, &e.node))?;
        Some(self.sourced(e, b))
    }

    /// The integer at `key`, which must lie in `min..=max` (`invalid_value` otherwise).
    pub fn integer(
        &self,
        key: &str,
        min: u64,
        max: u64,
        out: &mut Vec<Diagnostic>,
    ) -> Option<Sourced<u64>> {
        let e = self.entry(key)?;
        let path = self.key_path(key);
        let fix = format!("write a whole number from {min} to {max}, without quotes");
        let n = self.walk(out, |w| match &e.node.value {
            Value::Int(n) => match u64::try_from(*n) {
                Ok(n) if (min..=max).contains(&n) => Some(n),
                _ => {
                    w.diag(
                        Severity::Error,
                        "invalid_value",
                        &path,
                        e.node.pos,
                        format!("`{path}` is {n}, outside {min}..={max}"),
                        Some(fix),
                    );
                    None
                }
            },
            other => {
                let d = w
                    .type_error(&path, e.node.pos, "an integer", other)
                    .with_suggestion(fix);
                w.diags.push(d);
                None
            }
        })?;
        Some(self.sourced(e, n))
    }

    /// A duration in proxyscope's syntax (`"250ms"`, `"5s"`, `"1m30s"`): a bare number, an
    /// unknown unit or zero is a `duration.*` finding with the fix.
    pub fn duration(&self, key: &str, out: &mut Vec<Diagnostic>) -> Option<Sourced<Duration>> {
        let e = self.entry(key)?;
        let path = self.key_path(key);
        let d = self.walk(out, |w| w.duration(&path, &e.node))?;
        Some(self.sourced(e, d))
    }

    /// The string at `key` parsed by [`FromStr`]; when it does not parse, an `invalid_value`
    /// finding whose fix asks for `expected` (e.g. `an address and port such as
    /// "127.0.0.1:8080"`).
    pub fn parse<T: FromStr>(
        &self,
        key: &str,
        expected: &str,
        out: &mut Vec<Diagnostic>,
    ) -> Option<Sourced<T>> {
        let raw = self.string(key, out)?;
        match raw.value.trim().parse::<T>() {
            Ok(v) => Some(Sourced::new(v, raw.origin)),
            Err(_) => {
                let e = self.entry(key)?;
                out.push(self.finding(
                    e,
                    "invalid_value",
                    format!(
                        "`{}` is not {expected}",
                        crate::proxy::redact::redact_url(&raw.value)
                    ),
                    format!("write {expected}"),
                ));
                None
            }
        }
    }

    /// An error finding about `key` of this table (at the key's position when it is set, else
    /// at the table's; `""` is the table itself): for rules only the service knows, such as a
    /// reference to a provider that does not exist.
    pub fn error(
        &self,
        key: &str,
        code: &str,
        message: impl Into<String>,
        fix: impl Into<String>,
    ) -> Diagnostic {
        let pos = self.entry(key).map_or(self.pos, |e| e.key_pos);
        Diagnostic::new(
            Severity::Error,
            code,
            self.key_path(key),
            self.file.source.location(pos),
            message,
        )
        .with_suggestion(fix)
    }

    fn finding(&self, e: &Entry, code: &str, message: String, fix: String) -> Diagnostic {
        Diagnostic::new(
            Severity::Error,
            code,
            self.key_path(&e.key),
            self.file.source.location(e.node.pos),
            message,
        )
        .with_suggestion(fix)
    }

    /// An `unknown_key` error for every key not in `known`, with a did-you-mean or the list of
    /// valid keys. At the file's root, proxyscope's section is always known, and proxyscope's
    /// own keys (`proxy`, `providers`, ...) get "move it into the `[section]` table".
    pub fn deny_unknown(&self, known: &[&str], out: &mut Vec<Diagnostic>) {
        let at_root = self.path.is_empty();
        let section = self.file.section.as_str();
        let here = if at_root {
            "at the top level".to_owned()
        } else {
            format!("in [{}]", self.path)
        };
        for e in self.entries {
            let key = e.key.as_str();
            if known.contains(&key) || (at_root && key == section) {
                continue;
            }
            let fix = if at_root && (LAYER_KEYS.contains(&key) || GLOBAL_ONLY.contains(&key)) {
                format!("`{key}` is a proxyscope setting: move it into the [{section}] table")
            } else if let Some(near) = suggest::did_you_mean(key, known) {
                format!("did you mean `{near}`? rename `{key}` to `{near}`")
            } else {
                let mut valid = known.to_vec();
                if at_root {
                    valid.push(section);
                }
                format!("remove `{key}`; valid keys here: {}", valid.join(", "))
            };
            out.push(
                Diagnostic::new(
                    Severity::Error,
                    "unknown_key",
                    self.key_path(key),
                    self.file.source.location(e.key_pos),
                    format!("unknown key `{key}` {here}"),
                )
                .with_suggestion(fix),
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use std::net::SocketAddr;

    use super::*;

    const FILE: &str = "/srv/svc/service.toml";

    fn line(d: &Diagnostic) -> u32 {
        let loc = d.location.as_deref().unwrap_or_default();
        loc.rsplit(':')
            .nth(1)
            .and_then(|l| l.parse().ok())
            .unwrap_or(0)
    }

    #[test]
    fn every_problem_of_the_service_tables_has_its_key_path_line_and_code() {
        let text = "\
proxy = \"http://egress.test:3128\"
[server]
listen = \"localhost\"
health_cache = \"5 parsecs\"
max_connections = -3
lisen = \"x\"
verbose = \"yes\"
[translate]
apertium = 3
[translate.yandex]
path = 7
[proxyscope.providers.a]
url = \"http://a.test\"
";
        let file = ServiceFile::from_toml_str(text, FILE, "proxyscope");
        let mut out = file.lint(&EnvSnapshot::default());
        assert!(out.is_empty(), "{out:?}");
        let root = file.root();
        root.deny_unknown(&["server", "translate"], &mut out);
        let server = root.table("server", &mut out).unwrap();
        assert_eq!(server.path(), "server");
        assert!(
            server
                .parse::<SocketAddr>("listen", "an address", &mut out)
                .is_none()
        );
        assert!(server.duration("health_cache", &mut out).is_none());
        assert!(server.integer("max_connections", 1, 10, &mut out).is_none());
        assert!(server.boolean("verbose", &mut out).is_none());
        assert!(server.string("absent", &mut out).is_none());
        server.deny_unknown(
            &[
                "listen",
                "health_cache",
                "max_connections",
                "verbose",
                "listen_backlog",
            ],
            &mut out,
        );
        let translate = root.table("translate", &mut out).unwrap();
        let tables = translate.tables(&mut out);
        assert_eq!(tables.len(), 1);
        assert_eq!(tables[0].1.path(), "translate.yandex");
        assert!(tables[0].1.string("path", &mut out).is_none());

        let found: Vec<(&str, &str, u32)> = out
            .iter()
            .map(|d| (d.code.as_str(), d.path.as_str(), line(d)))
            .collect();
        assert_eq!(
            found,
            [
                ("unknown_key", "proxy", 1),
                ("invalid_value", "server.listen", 3),
                ("duration.invalid", "server.health_cache", 4),
                ("invalid_value", "server.max_connections", 5),
                ("type_mismatch", "server.verbose", 7),
                ("unknown_key", "server.lisen", 6),
                ("type_mismatch", "translate.apertium", 9),
                ("type_mismatch", "translate.yandex.path", 11),
            ]
        );
        assert!(out.iter().all(|d| d.is_error() && d.suggestion.is_some()));
        let fix = |path: &str| {
            out.iter()
                .find(|d| d.path == path)
                .and_then(|d| d.suggestion.clone())
                .unwrap_or_default()
        };
        assert!(fix("proxy").contains("[proxyscope]"), "{}", fix("proxy"));
        assert!(fix("server.lisen").contains("`listen`"));
    }

    #[test]
    fn values_carry_their_origin_and_the_section_keeps_whole_file_paths() {
        let text = "[server]\nlisten = \"127.0.0.1:0\"\nmax_body = 1024\nstrict = true\nname = \"x\"\n\n[proxyscope]\nproxy = \"direct\"\ncacert = \"/x.pem\"\n[proxyscope.providers.a]\nurl = \"http://a.test\"\n";
        let file = ServiceFile::from_toml_str(text, FILE, "proxyscope");
        assert_eq!(file.path(), Path::new(FILE));
        assert_eq!(file.section(), "proxyscope");
        let mut out = Vec::new();
        let server = file.root().table("server", &mut out).unwrap();
        assert_eq!(
            server.location().as_deref(),
            Some("/srv/svc/service.toml:1:2")
        );
        assert!(server.contains("listen") && !server.contains("port"));
        assert_eq!(
            server.keys().collect::<Vec<_>>(),
            ["listen", "max_body", "strict", "name"]
        );
        let listen = server
            .parse::<SocketAddr>("listen", "an address", &mut out)
            .unwrap();
        assert_eq!(listen.value.port(), 0);
        assert_eq!(
            listen.origin,
            Provenance::File {
                path: FILE.into(),
                line: 2,
                col: 1,
                key: "server.listen".into()
            }
        );
        assert_eq!(
            server
                .integer("max_body", 1, 1 << 20, &mut out)
                .unwrap()
                .value,
            1024
        );
        assert!(server.boolean("strict", &mut out).unwrap().value);
        assert_eq!(server.string("name", &mut out).unwrap().value, "x");
        assert!(out.is_empty(), "{out:?}");
        let e = server.error("name", "svc.name", "taken", "choose another");
        assert_eq!((e.path.as_str(), line(&e)), ("server.name", 5));
        assert!(e.is_error());
        let e = server.error("", "svc.server", "unused", "remove it");
        assert_eq!((e.path.as_str(), line(&e)), ("server", 1));

        // proxyscope's findings and origins name the whole file's keys.
        let d = file.lint(&EnvSnapshot::default());
        let cacert = d.iter().find(|d| d.code == "misplaced_key").unwrap();
        assert_eq!(cacert.path, "proxyscope.cacert");
        assert_eq!(line(cacert), 9);
        let fixed = text.replace("cacert = \"/x.pem\"\n", "");
        let cfg = ServiceFile::from_toml_str(&fixed, FILE, "proxyscope")
            .document()
            .to_config()
            .unwrap();
        assert_eq!(cfg.section(), Some("proxyscope"));
        assert!(matches!(
            &cfg.global_layer().proxy.as_ref().unwrap().origin,
            Provenance::File { line: 8, key, .. } if key == "proxyscope.proxy"
        ));
    }

    #[test]
    fn a_file_without_the_section_or_unreadable_is_reported() {
        let file = ServiceFile::from_toml_str("[server]\n", FILE, "proxyscope");
        let d = file.lint(&EnvSnapshot::default());
        assert_eq!(d.len(), 1, "{d:?}");
        assert_eq!(
            (d[0].code.as_str(), d[0].path.as_str()),
            ("section.missing", "proxyscope")
        );
        let file = ServiceFile::from_toml_str("[server\nx = ", FILE, "proxyscope");
        let d = file.lint(&EnvSnapshot::default());
        assert!(d.iter().any(|d| d.code == "toml.syntax"), "{d:?}");
        let e =
            ServiceFile::from_file("/nonexistent/proxyscope/svc.toml", "proxyscope").unwrap_err();
        assert_eq!(e.code(), "config.invalid");
        assert_eq!(e.evidence().diagnostics[0].code, "file.unreadable");
        assert_eq!(
            e.evidence().file.as_deref(),
            Some("/nonexistent/proxyscope/svc.toml")
        );
    }
}
