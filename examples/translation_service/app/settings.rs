//! The service's one TOML file: its own settings (`[server]`, `[translate.NAME]`) and a
//! `[proxyscope]` section (global layer, providers, proxies, CAs, checks) that proxyscope
//! validates with positions intact. Loading collects every finding of both parts; any error
//! means the service refuses to start (it never finds out at the first request).
//!
//! ```toml
//! [server]
//! listen = "127.0.0.1:8080"      # default 127.0.0.1:8080
//! health_cache = "5s"            # how long /_health/providers reuses a probe run; default 5s
//!
//! [translate.apertium]           # optional; default path "/translate"
//! path = "/translate"            # POST /v1/translate/apertium forwards here, under the url
//!
//! [proxyscope]
//! proxy = "http://egress.example.org:3128"
//! [proxyscope.providers.apertium]
//! url = "http://apertium.svc.example.org:2737"
//! proxy = "direct"
//! required = true                # failing makes /_health/providers answer 503
//! ```

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use proxyscope::config::{Config, ConfigDocument, Diagnostic, Severity};
use proxyscope::{EnvSnapshot, Provenance, Sourced};
use toml::de::{DeTable, DeValue};

/// The table of the file that holds proxyscope's own settings.
pub(crate) const SECTION: &str = "proxyscope";
/// Where `listen` defaults to.
pub(crate) const DEFAULT_LISTEN: &str = "127.0.0.1:8080";
/// How long a health result is reused by default.
pub(crate) const DEFAULT_HEALTH_CACHE: Duration = Duration::from_secs(5);
/// The translate path of providers without a `[translate.NAME]` table (Apertium APy's).
pub(crate) const DEFAULT_TRANSLATE_PATH: &str = "/translate";

const ROOT_KEYS: &[&str] = &["server", "translate", SECTION];
const SERVER_KEYS: &[&str] = &["listen", "health_cache"];
const TRANSLATE_KEYS: &[&str] = &["path"];
/// Top-level proxyscope keys that users put at the root of the service's file by mistake.
const PROXYSCOPE_KEYS: &[&str] = &[
    "proxy",
    "no_proxy",
    "roots",
    "ca_file",
    "proxy_ca_file",
    "danger_accept_invalid_certs",
    "timeouts",
    "providers",
];

/// The validated settings: the service's own values (each with its origin) and proxyscope's
/// [`Config`].
#[derive(Debug, Clone)]
pub(crate) struct Settings {
    /// The file they were read from.
    pub(crate) path: PathBuf,
    /// Where to listen.
    pub(crate) listen: Sourced<SocketAddr>,
    /// How long `/_health/providers` reuses a probe run.
    pub(crate) health_cache: Sourced<Duration>,
    /// The translate path of each provider that sets one.
    pub(crate) translate: BTreeMap<String, Sourced<String>>,
    /// Providers, layers, CAs and checks.
    pub(crate) config: Config,
    /// Warnings and infos (the service starts anyway).
    pub(crate) warnings: Vec<Diagnostic>,
}

impl Settings {
    /// The path `POST /v1/translate/{provider}` forwards to, with its origin.
    pub(crate) fn translate_path(&self, provider: &str) -> Sourced<String> {
        self.translate
            .get(provider)
            .cloned()
            .unwrap_or_else(|| Sourced::new(DEFAULT_TRANSLATE_PATH.to_owned(), Provenance::Default))
    }
}

/// Why the settings were refused: every finding (errors first), warnings included.
#[derive(Debug, Clone)]
pub(crate) struct Invalid {
    /// The file.
    pub(crate) path: PathBuf,
    /// Every finding, errors first, in file order within a severity.
    pub(crate) diagnostics: Vec<Diagnostic>,
}

impl Invalid {
    /// The process exit code for refused settings (like `probe lint`: 2 means errors).
    pub(crate) const EXIT_CODE: u8 = 2;

    /// How many findings are errors.
    pub(crate) fn errors(&self) -> usize {
        self.diagnostics.iter().filter(|d| d.is_error()).count()
    }

    /// What the service prints before exiting: a headline, then every finding on its own line
    /// (`file:line:col: severity[code] path: message (fix: ...)`).
    pub(crate) fn report(&self) -> String {
        let errors = self.errors();
        let mut out = format!(
            "error: {} is invalid ({errors} error{}); refusing to start:",
            self.path.display(),
            if errors == 1 { "" } else { "s" }
        );
        for d in &self.diagnostics {
            out.push_str("\n  ");
            out.push_str(&d.to_string());
        }
        out
    }
}

/// Reads and validates the settings file (a regular file of at most
/// `proxyscope::config::MAX_FILE_SIZE` bytes of UTF-8; a FIFO or device is refused unopened).
pub(crate) fn load(path: &Path, env: &EnvSnapshot) -> Result<Settings, Invalid> {
    match proxyscope::config::read_file(path) {
        Ok(text) => from_text(&text, path, env),
        Err(e) => Err(Invalid {
            path: path.to_path_buf(),
            diagnostics: e
                .evidence()
                .diagnostics
                .iter()
                .cloned()
                .map(|d| match d.code.as_str() {
                    "file.unreadable" => d.with_suggestion("check the path given with --config"),
                    _ => d,
                })
                .collect(),
        }),
    }
}

/// Validates settings text named `path` (relative CA paths resolve against its directory).
pub(crate) fn from_text(text: &str, path: &Path, env: &EnvSnapshot) -> Result<Settings, Invalid> {
    let doc = ConfigDocument::from_toml_section(text, path, SECTION);
    let mut diags: Vec<Diagnostic> = doc
        .lint(env)
        .into_iter()
        .map(|mut d| {
            // Inside the section paths are relative; say where they are in this file.
            let whole_file = matches!(d.code.as_str(), "section.missing" | "toml.syntax");
            let from_env = d.location.as_deref().is_some_and(|l| l.starts_with("env:"));
            if !whole_file && !from_env {
                d.path = if d.path.is_empty() {
                    SECTION.to_owned()
                } else {
                    format!("{SECTION}.{}", d.path)
                };
            }
            d
        })
        .collect();
    let own = Walk::new(text, path).run();
    diags.extend(own.diagnostics);

    let config = doc.to_config();
    if let Ok(config) = &config {
        for (name, (pos, _)) in &own.translate_keys {
            if config.provider(name).is_none() {
                let known: Vec<&str> = config.providers().iter().map(|p| p.name()).collect();
                diags.push(
                    Diagnostic::new(
                        Severity::Error,
                        "translate.unknown_provider",
                        format!("translate.{name}"),
                        Some(location(path, *pos)),
                        format!("[translate.{name}] names no provider of [{SECTION}.providers]"),
                    )
                    .with_suggestion(format!("known providers: {}", known.join(", "))),
                );
            }
        }
    }
    match config {
        Ok(config) if !diags.iter().any(Diagnostic::is_error) => Ok(Settings {
            path: path.to_path_buf(),
            listen: own.listen,
            health_cache: own.health_cache,
            translate: own
                .translate_keys
                .into_iter()
                .filter_map(|(name, (_, path))| Some((name, path?)))
                .collect(),
            config,
            warnings: diags,
        }),
        other => {
            if let Err(e) = other
                && !diags.iter().any(Diagnostic::is_error)
            {
                // The lint found nothing the loader refused: report the loader's findings.
                diags.extend(e.evidence().diagnostics.iter().cloned());
            }
            diags.sort_by_key(|d| !d.is_error());
            Err(Invalid {
                path: path.to_path_buf(),
                diagnostics: diags,
            })
        }
    }
}

/// 1-based line and column of a byte offset.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Pos {
    line: u32,
    col: u32,
}

fn location(path: &Path, pos: Pos) -> String {
    format!("{}:{}:{}", path.display(), pos.line, pos.col)
}

/// What the walk over the service's own tables found.
struct Own {
    listen: Sourced<SocketAddr>,
    health_cache: Sourced<Duration>,
    /// Provider name → (position of its table, its path when valid).
    translate_keys: BTreeMap<String, (Pos, Option<Sourced<String>>)>,
    diagnostics: Vec<Diagnostic>,
}

/// Walks the file's root, `[server]` and `[translate]` (syntax errors are proxyscope's
/// section parser's to report; the walk reads whatever could be parsed).
struct Walk<'a> {
    text: &'a str,
    path: &'a Path,
    line_starts: Vec<usize>,
    diagnostics: Vec<Diagnostic>,
}

impl<'a> Walk<'a> {
    fn new(text: &'a str, path: &'a Path) -> Self {
        let mut line_starts = vec![0];
        line_starts.extend(text.match_indices('\n').map(|(i, _)| i + 1));
        Self {
            text,
            path,
            line_starts,
            diagnostics: Vec::new(),
        }
    }

    fn pos(&self, offset: usize) -> Pos {
        let offset = offset.min(self.text.len());
        let line = self.line_starts.partition_point(|&s| s <= offset).max(1);
        let start = self.line_starts[line - 1];
        let col = self
            .text
            .get(start..offset)
            .map_or(offset - start, |s| s.chars().count());
        Pos {
            line: u32::try_from(line).unwrap_or(u32::MAX),
            col: u32::try_from(col + 1).unwrap_or(u32::MAX),
        }
    }

    fn origin(&self, key: &str, pos: Pos) -> Provenance {
        Provenance::File {
            path: self.path.to_path_buf(),
            line: pos.line,
            col: pos.col,
            key: key.to_owned(),
        }
    }

    fn error(&mut self, code: &str, key: &str, pos: Pos, message: String, fix: String) {
        self.diagnostics.push(
            Diagnostic::new(
                Severity::Error,
                code,
                key,
                Some(location(self.path, pos)),
                message,
            )
            .with_suggestion(fix),
        );
    }

    fn unknown(&mut self, key: &str, pos: Pos, known: &[&str], fix: Option<String>) {
        let fix = fix.unwrap_or_else(|| format!("known keys here: {}", known.join(", ")));
        self.error("unknown_key", key, pos, format!("unknown key `{key}`"), fix);
    }

    fn run(mut self) -> Own {
        let (root, _syntax) = DeTable::parse_recoverable(self.text);
        let mut own = Own {
            listen: Sourced::new(
                SocketAddr::from(([127, 0, 0, 1], 8080)),
                Provenance::Default,
            ),
            health_cache: Sourced::new(DEFAULT_HEALTH_CACHE, Provenance::Default),
            translate_keys: BTreeMap::new(),
            diagnostics: Vec::new(),
        };
        for (k, v) in root.get_ref().iter() {
            let key = k.get_ref().as_ref();
            let pos = self.pos(k.span().start);
            match key {
                "server" => self.server(v, pos, &mut own),
                "translate" => self.translate(v, pos, &mut own),
                SECTION => {}
                other if PROXYSCOPE_KEYS.contains(&other) => {
                    let fix = format!("move `{other}` into the [{SECTION}] section");
                    self.unknown(other, pos, ROOT_KEYS, Some(fix));
                }
                other => self.unknown(other, pos, ROOT_KEYS, None),
            }
        }
        own.diagnostics = self.diagnostics;
        own
    }

    fn table<'v, 'de>(
        &mut self,
        key: &str,
        pos: Pos,
        v: &'v serde_spanned::Spanned<DeValue<'de>>,
    ) -> Option<&'v DeTable<'de>> {
        match v.get_ref() {
            DeValue::Table(t) => Some(t),
            _ => {
                self.error(
                    "type",
                    key,
                    pos,
                    format!("`{key}` must be a table"),
                    format!("write it as a [{key}] table"),
                );
                None
            }
        }
    }

    fn string(
        &mut self,
        key: &str,
        v: &serde_spanned::Spanned<DeValue<'_>>,
    ) -> Option<(String, Pos)> {
        let pos = self.pos(v.span().start);
        match v.get_ref() {
            DeValue::String(s) => Some((s.to_string(), pos)),
            _ => {
                self.error(
                    "type",
                    key,
                    pos,
                    format!("`{key}` must be a string"),
                    "quote the value".to_owned(),
                );
                None
            }
        }
    }

    fn server(&mut self, v: &serde_spanned::Spanned<DeValue<'_>>, pos: Pos, own: &mut Own) {
        let Some(table) = self.table("server", pos, v) else {
            return;
        };
        for (k, v) in table.iter() {
            let name = k.get_ref().as_ref();
            let key = format!("server.{name}");
            let key_pos = self.pos(k.span().start);
            match name {
                "listen" => {
                    let Some((s, at)) = self.string(&key, v) else {
                        continue;
                    };
                    match s.parse::<SocketAddr>() {
                        Ok(addr) => own.listen = Sourced::new(addr, self.origin(&key, key_pos)),
                        Err(_) => self.error(
                            "server.listen",
                            &key,
                            at,
                            format!("`{s}` is not an IP address and port"),
                            "write an address and port such as \"127.0.0.1:8080\" or \"[::]:8080\"; port 0 picks a free one".to_owned(),
                        ),
                    }
                }
                "health_cache" => {
                    let Some((s, at)) = self.string(&key, v) else {
                        continue;
                    };
                    match parse_duration(&s) {
                        Some(d) => own.health_cache = Sourced::new(d, self.origin(&key, key_pos)),
                        None => self.error(
                            "server.health_cache",
                            &key,
                            at,
                            format!("`{s}` is not a duration"),
                            "write a number with a unit: \"5s\", \"500ms\", \"1m\"; \"0s\" disables the cache".to_owned(),
                        ),
                    }
                }
                other => self.unknown(&format!("server.{other}"), key_pos, SERVER_KEYS, None),
            }
        }
    }

    fn translate(&mut self, v: &serde_spanned::Spanned<DeValue<'_>>, pos: Pos, own: &mut Own) {
        let Some(table) = self.table("translate", pos, v) else {
            return;
        };
        for (k, v) in table.iter() {
            let provider = k.get_ref().to_string();
            let table_key = format!("translate.{provider}");
            let table_pos = self.pos(k.span().start);
            let mut path = None;
            if let Some(t) = self.table(&table_key, table_pos, v) {
                for (k, v) in t.iter() {
                    let name = k.get_ref().as_ref();
                    let key = format!("{table_key}.{name}");
                    let key_pos = self.pos(k.span().start);
                    if name != "path" {
                        self.unknown(&key, key_pos, TRANSLATE_KEYS, None);
                        continue;
                    }
                    let Some((s, at)) = self.string(&key, v) else {
                        continue;
                    };
                    if s.starts_with('/') && !s.contains("://") {
                        path = Some(Sourced::new(s, self.origin(&key, key_pos)));
                    } else {
                        self.error(
                            "translate.path",
                            &key,
                            at,
                            format!("`{s}` is not a path"),
                            format!("write a path that starts with `/`; it is joined to providers.{provider}.url"),
                        );
                    }
                }
            }
            own.translate_keys.insert(provider, (table_pos, path));
        }
    }
}

/// `250ms`, `5s`, `2m`, `1h`; `None` for anything else.
pub(crate) fn parse_duration(s: &str) -> Option<Duration> {
    let s = s.trim();
    let split = s.find(|c: char| !c.is_ascii_digit())?;
    let (number, unit) = s.split_at(split);
    let n: u64 = number.parse().ok()?;
    match unit.trim() {
        "ms" => Some(Duration::from_millis(n)),
        "s" => Some(Duration::from_secs(n)),
        "m" => n.checked_mul(60).map(Duration::from_secs),
        "h" => n.checked_mul(3600).map(Duration::from_secs),
        _ => None,
    }
}
