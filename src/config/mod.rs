//! Configuration: the TOML file (or a section of a service's own YAML/JSON/TOML config) that
//! declares the global layer, the providers and their checks; where every value came from; and
//! the lint that names the fix for each mistake.
//!
//! Loading walks the whole document and collects every problem: a config with errors fails with
//! ONE `config.invalid` [`Error`] whose `evidence().diagnostics` holds all of them. Warnings do
//! not stop loading; [`Config::lint`] returns them together with the environment's findings.
//!
//! ```
//! use proxyscope::config::Config;
//! use proxyscope::EnvSnapshot;
//!
//! let cfg = Config::from_toml_str(
//!     r#"
//! proxy = "http://egress.example.org:3128"
//! no_proxy = ["localhost", ".svc.example.org"]
//! [providers.apertium]
//! url = "http://apertium.svc.example.org:2737"
//! proxy = "direct"
//! "#,
//!     "inline.toml",
//! )?;
//! assert_eq!(cfg.providers()[0].name(), "apertium");
//! let findings = cfg.lint(&EnvSnapshot::from_pairs([("HTTP_PROXY", "http://x.test:1")]));
//! assert!(findings.iter().any(|d| d.code == "env.http_proxy_ignored"));
//! # Ok::<(), proxyscope::Error>(())
//! ```

mod ca;
mod check;
mod duration;
mod identity;
mod join;

pub(crate) use join::{join as join_request_url, merge_query};
mod node;
mod position;
mod provenance;
mod read;
mod rules;
mod schema;
mod service;
mod size;
mod suggest;
mod syntax;
mod view;
mod walk;

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Deserializer};

pub use crate::diagnostic::{Diagnostic, MAX_DIAGNOSTICS, Severity, worst};
pub use check::{Check, CheckTarget, HeaderExpectation, StatusExpectation};
pub use duration::format as format_duration;
pub use provenance::Setting;
pub use service::{ServiceFile, Table};
pub use size::format as format_size;
pub use view::{CaFileView, EffectiveConfig, ProviderView};

/// The position index of configuration text, for the fuzz target that checks it against the
/// obvious definition. Not public API.
#[cfg(feature = "fuzzing")]
#[doc(hidden)]
pub use position::{BLOCK as POSITION_BLOCK, LineIndex, Pos};

/// The largest configuration file read (4 MiB); a larger one is refused with `file.too_large`.
pub const MAX_FILE_SIZE: u64 = crate::file::MAX_CONFIG_FILE;

/// Reads a configuration file as text, the way [`Config::from_file`] does: a regular file (not
/// a FIFO, device, socket or directory) of at most [`MAX_FILE_SIZE`] bytes of UTF-8. Anything
/// else is one `config.invalid` error naming the file (`evidence().file`) with a diagnostic
/// saying what is wrong: `file.unreadable`, `file.not_regular`, `file.too_large` or
/// `file.not_utf8` (with the line and column of the first invalid byte). For services that
/// keep proxyscope's settings in a file of their own.
pub fn read_file(path: impl AsRef<Path>) -> Result<String, Error> {
    read::text(path.as_ref())
}

use crate::error::{Error, ErrorKind};
use crate::proxy::EnvSnapshot;
use crate::settings::{Provenance, ProxySetting, Settings, Sourced, Timeouts};
use crate::tls::CaBundle;
use node::Node;
use provenance::Source;

/// A validated configuration: the global [`Settings`], the providers, and the CA files read at
/// load time. Every value carries its [`Provenance`].
#[derive(Debug, Clone)]
pub struct Config {
    source: Option<PathBuf>,
    /// The table of a larger file that held it (see [`ServiceFile`]).
    section: Option<String>,
    global: Settings,
    providers: Vec<Provider>,
    ca_files: Vec<CaBundle>,
    /// Warnings and infos found while loading (errors make loading fail).
    diagnostics: Vec<Diagnostic>,
}

/// A named upstream: its base `url`, its own layer (what it overrides), and its checks.
/// `Debug` never shows credentials in the URLs.
#[derive(Clone)]
pub struct Provider {
    name: String,
    origin: Provenance,
    url: Sourced<url::Url>,
    layer: Settings,
    checks: Vec<Check>,
    required: Sourced<bool>,
}

impl std::fmt::Debug for Provider {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Provider")
            .field("name", &self.name)
            .field("origin", &self.origin)
            .field("url", &crate::proxy::redact_parsed_url(&self.url.value))
            .field("url_origin", &self.url.origin)
            .field("layer", &self.layer)
            .field("checks", &self.checks)
            .field("required", &self.required)
            .finish()
    }
}

impl Provider {
    /// The provider's name (the key in `[providers.NAME]`).
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Where the provider was declared.
    pub fn origin(&self) -> &Provenance {
        &self.origin
    }

    /// The base URL, with its origin.
    pub fn url(&self) -> &Sourced<url::Url> {
        &self.url
    }

    /// Only what this provider sets itself; combine with [`Config::global_layer`] through
    /// [`Settings::over`], or use [`Config::effective_layer`].
    pub fn layer(&self) -> &Settings {
        &self.layer
    }

    /// The declared checks (empty: the probe requests `url` expecting 2xx/3xx).
    pub fn checks(&self) -> &[Check] {
        &self.checks
    }

    /// Whether the service needs this provider to be healthy (`required`, default `true`).
    pub fn is_required(&self) -> bool {
        self.required.value
    }

    /// The `required` flag with its origin (`Provenance::Default` when not written).
    pub fn required(&self) -> &Sourced<bool> {
        &self.required
    }

    /// The URL of a request for `path` (appended to the base URL's path) with the caller's
    /// `query`: the base URL's own query parameters are kept and win, so a configured `?key=`
    /// can be neither dropped nor overridden by the caller; the caller's other parameters
    /// follow in their order and spelling.
    ///
    /// ```
    /// # let cfg = proxyscope::Config::from_toml_str(
    /// #     "[providers.y]\nurl = \"https://api.example.org/v1/?key=K\"\n",
    /// #     "x.toml",
    /// # )?;
    /// let p = cfg.provider("y").unwrap();
    /// let url = p.request_url("/translate", Some("lang=en-ru&key=mine"));
    /// assert_eq!(url.as_str(), "https://api.example.org/v1/translate?key=K&lang=en-ru");
    /// # Ok::<(), proxyscope::Error>(())
    /// ```
    pub fn request_url(&self, path: &str, query: Option<&str>) -> url::Url {
        join::join(&self.url.value, path, query)
    }
}

impl Config {
    /// Reads and validates a TOML file. Relative paths in it resolve against its directory.
    pub fn from_file(path: impl AsRef<Path>) -> Result<Self, Error> {
        ConfigDocument::from_file(path)?.to_config()
    }

    /// Validates TOML text; `origin_name` names it in origins and locations (and its directory
    /// is where relative paths resolve).
    pub fn from_toml_str(text: &str, origin_name: impl AsRef<Path>) -> Result<Self, Error> {
        ConfigDocument::from_toml_str(text, origin_name).to_config()
    }

    /// The file the configuration was read from, if any.
    pub fn source(&self) -> Option<&Path> {
        self.source.as_deref()
    }

    /// The table of the file that held the configuration when it was a section of a service's
    /// own file (`proxyscope`, see [`ServiceFile`]); key paths in origins and diagnostics start
    /// with it.
    pub fn section(&self) -> Option<&str> {
        self.section.as_deref()
    }

    /// The global layer (top-level keys).
    pub fn global_layer(&self) -> &Settings {
        &self.global
    }

    /// The providers, in file order.
    pub fn providers(&self) -> &[Provider] {
        &self.providers
    }

    /// The provider called `name`.
    pub fn provider(&self, name: &str) -> Option<&Provider> {
        self.providers.iter().find(|p| p.name == name)
    }

    /// The provider's layer over the global one: what is in force for it (not the environment).
    pub fn effective_layer(&self, provider: &str) -> Option<Settings> {
        self.provider(provider).map(|p| p.layer.over(&self.global))
    }

    /// The global timeouts (each provider's are in its effective layer).
    pub fn timeouts(&self) -> &Timeouts {
        &self.global.timeouts
    }

    /// The CA files named anywhere in the configuration (`ca_file`, `proxy_ca_file`, every
    /// provider), as loaded at startup: the TLS diagnostics cross-check presented chains
    /// against them.
    pub fn ca_files(&self) -> &[CaBundle] {
        &self.ca_files
    }

    /// The CA file at `path` (resolved, as in the layers), as loaded at startup.
    pub fn ca_file(&self, path: &Path) -> Option<&CaBundle> {
        self.ca_files.iter().find(|f| f.path() == path)
    }

    /// Every effective setting for `provider` (or the global layer for `None`), defaults
    /// included, each with its origin; inherited values show the global's origin. `None` when
    /// there is no such provider.
    pub fn settings(&self, provider: Option<&str>) -> Option<Vec<Setting>> {
        self.layer_for(provider)
            .map(|l| provenance::settings(&l, None))
    }

    /// Like [`Config::settings`], and where the layers leave the proxy or `no_proxy` to the
    /// environment, the values `env` supplies (curl's rules: `proxy.http`, `proxy.https`), with
    /// the variable as origin: the third source below provider and global.
    pub fn settings_with_env(
        &self,
        provider: Option<&str>,
        env: &EnvSnapshot,
    ) -> Option<Vec<Setting>> {
        self.layer_for(provider)
            .map(|l| provenance::settings(&l, Some(env)))
    }

    fn layer_for(&self, provider: Option<&str>) -> Option<Settings> {
        match provider {
            Some(name) => self.effective_layer(name),
            None => Some(self.global.clone()),
        }
    }

    /// The load-time warnings plus the environment's findings and the rules that need both, at
    /// most [`MAX_DIAGNOSTICS`] of them (then a `diagnostics.truncated` summary).
    pub fn lint(&self, env: &EnvSnapshot) -> Vec<Diagnostic> {
        let mut out = self.diagnostics.clone();
        out.extend(rules::env::check(env, self.consults_env()));
        out.extend(qualified(
            self.section.as_deref(),
            rules::provider::check(self, env),
        ));
        out.extend(qualified(
            self.section.as_deref(),
            self.credential_findings(env),
        ));
        let file = self.source.as_ref().map(|p| p.display().to_string());
        crate::diagnostic::capped(out, 0, file)
    }

    /// Credentials read from variables that `env` does not set (or sets empty).
    fn credential_findings(&self, env: &EnvSnapshot) -> Vec<Diagnostic> {
        let mut layers = vec![(String::new(), &self.global)];
        for p in &self.providers {
            layers.push((format!("providers.{}", p.name), &p.layer));
        }
        identity::env_findings(&layers, env)
    }

    /// Whether any layer's proxy falls back to the environment (unset or `"env"`).
    fn consults_env(&self) -> bool {
        let uses_env = |l: &Settings| {
            l.proxy
                .as_ref()
                .is_none_or(|s| s.value == ProxySetting::Env)
        };
        uses_env(&self.global)
            || self
                .providers
                .iter()
                .any(|p| uses_env(&p.layer.over(&self.global)))
    }
}

/// A configuration as written, not yet validated: read from TOML with positions, or
/// deserialised from any serde format (nested in a service's own config). [`lint`] it to get
/// every finding, errors included, or turn it into a [`Config`].
///
/// [`lint`]: ConfigDocument::lint
#[derive(Clone)]
pub struct ConfigDocument {
    root: Node,
    source: Source,
    syntax: Vec<Diagnostic>,
    /// Syntax errors counted but not kept (a document of errors; see `node::parse_toml`).
    omitted: usize,
}

impl std::fmt::Debug for ConfigDocument {
    // The tree holds every value as written — proxy passwords, keys in URLs — before anything
    // parsed them: only where it came from and what was found wrong are shown (diagnostics
    // are redacted where they are made).
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ConfigDocument")
            .field("source", &self.source)
            .field("syntax", &self.syntax)
            .field("omitted", &self.omitted)
            .finish_non_exhaustive()
    }
}

impl ConfigDocument {
    /// Reads a TOML file; fails only when it cannot be read ([`read_file`]: `config.invalid`
    /// with a `file.*` diagnostic and `evidence().file`).
    pub fn from_file(path: impl AsRef<Path>) -> Result<Self, Error> {
        let path = path.as_ref();
        read_file(path).map(|text| Self::from_toml_str(&text, path))
    }

    /// Parses TOML text named `origin_name`. Syntax errors become diagnostics (never a panic);
    /// past [`MAX_DIAGNOSTICS`] of them the rest are only counted and nothing else in the text is
    /// read.
    pub fn from_toml_str(text: &str, origin_name: impl AsRef<Path>) -> Self {
        let source = Source::file(origin_name.as_ref());
        let parsed = parse(text, &source);
        Self {
            root: parsed.root,
            source,
            syntax: parsed.syntax,
            omitted: parsed.omitted,
        }
    }

    /// Parses the table at `key` of a TOML file that holds more than proxyscope's settings (a
    /// service's own config with a `[proxyscope]` section). Unlike deserialising the section
    /// through serde, positions are kept, so origins and diagnostics name `file:line:col`, and
    /// relative paths resolve against the file's directory. Syntax errors anywhere in the file
    /// are reported; a missing or non-table `key` is a `section.missing` error diagnostic. Key
    /// paths are the whole file's (`proxyscope.providers.yandex.proxy`). To read the service's
    /// own tables of the same file too, use [`ServiceFile`].
    pub fn from_toml_section(text: &str, origin_name: impl AsRef<Path>, key: &str) -> Self {
        let source = Source::file(origin_name.as_ref());
        let parsed = parse(text, &source);
        Self::section_of(&parsed.root, parsed.syntax, parsed.omitted, source, key)
    }

    /// The document at `key` of a parsed file (`omitted`: syntax errors counted, not kept).
    fn section_of(
        root: &Node,
        mut syntax: Vec<Diagnostic>,
        omitted: usize,
        source: Source,
        key: &str,
    ) -> Self {
        let entry = match &root.value {
            node::Value::Table(entries) => entries.iter().find(|e| e.key == key),
            _ => None,
        };
        let source = Source {
            section: Some(key.to_owned()),
            ..source
        };
        match entry {
            Some(entry) if matches!(entry.node.value, node::Value::Table(_)) => Self {
                root: entry.node.clone(),
                source,
                syntax,
                omitted,
            },
            // A document of syntax errors was not read: whether it has the section is unknown.
            _ if omitted > 0 => Self {
                root: Node {
                    value: node::Value::Table(Vec::new()),
                    pos: root.pos,
                },
                source,
                syntax,
                omitted,
            },
            found => {
                let (pos, what) = match found {
                    Some(e) => (
                        e.key_pos,
                        format!("`{key}` is {}", e.node.value.type_name()),
                    ),
                    None => (root.pos, format!("there is no [{key}] section")),
                };
                syntax.push(
                    Diagnostic::new(
                        Severity::Error,
                        "section.missing",
                        key,
                        source.location(pos),
                        format!("{what}; proxyscope's settings are expected in a [{key}] table"),
                    )
                    .with_suggestion(format!(
                        "add a [{key}] table with the providers (and [{key}.providers.NAME] tables)"
                    )),
                );
                Self {
                    root: Node {
                        value: node::Value::Table(Vec::new()),
                        pos: root.pos,
                    },
                    source,
                    syntax,
                    omitted,
                }
            }
        }
    }

    /// Every finding of the document and the environment, errors included: at most
    /// [`MAX_DIAGNOSTICS`], then a `diagnostics.truncated` summary of the rest.
    pub fn lint(&self, env: &EnvSnapshot) -> Vec<Diagnostic> {
        let (config, mut diags) = self.build();
        diags.extend(rules::env::check(env, config.consults_env()));
        diags.extend(qualified(
            self.source.section.as_deref(),
            rules::provider::check(&config, env),
        ));
        diags.extend(qualified(
            self.source.section.as_deref(),
            config.credential_findings(env),
        ));
        self.capped(diags)
    }

    /// `diags` within [`MAX_DIAGNOSTICS`], counting the syntax errors never kept.
    fn capped(&self, diags: Vec<Diagnostic>) -> Vec<Diagnostic> {
        let file = self.source.path.as_ref().map(|p| p.display().to_string());
        crate::diagnostic::capped(diags, self.omitted, file)
    }

    /// Validates the document: a [`Config`], or one `config.invalid` error carrying the
    /// diagnostics (warnings too; at most [`MAX_DIAGNOSTICS`] and a summary) in
    /// `evidence().diagnostics`.
    pub fn to_config(&self) -> Result<Config, Error> {
        let (mut config, diags) = self.build();
        let errors = diags.iter().filter(|d| d.is_error()).count() + self.omitted;
        if errors == 0 {
            config.diagnostics = diags;
            return Ok(config);
        }
        let diags = self.capped(diags);
        let name = match &self.source.path {
            Some(p) => p.display().to_string(),
            None => "the configuration".to_owned(),
        };
        let first = diags.iter().find(|d| d.is_error());
        let hint = first
            .and_then(|d| d.suggestion.clone())
            .map(|s| {
                format!("{s}; every finding is in the error's diagnostics (or `Config::lint`)")
            })
            .unwrap_or_else(|| {
                "every finding is in the error's diagnostics (or `Config::lint`)".to_owned()
            });
        let mut message = format!(
            "{name} is invalid: {errors} error{}",
            if errors == 1 { "" } else { "s" }
        );
        if let Some(d) = first {
            let _ = write!(
                message,
                ", first: {}: {}",
                crate::diagnostic::printable(&d.path),
                crate::diagnostic::printable(&d.message)
            );
        }
        let file = self.source.path.as_ref().map(|p| p.display().to_string());
        Err(Error::new(ErrorKind::ConfigInvalid)
            .with_message(message)
            .with_hint(hint)
            .map_evidence(|ev| {
                ev.diagnostics = diags;
                ev.file = file;
            }))
    }

    fn build(&self) -> (Config, Vec<Diagnostic>) {
        let (config, diags) = schema::build(&self.root, &self.source);
        let mut all = self.syntax.clone();
        all.extend(qualified(self.source.section.as_deref(), diags));
        (config, all)
    }
}

/// Diagnostics about keys of a section, with key paths of the whole file.
fn qualified(section: Option<&str>, diags: Vec<Diagnostic>) -> Vec<Diagnostic> {
    let Some(section) = section else {
        return diags;
    };
    diags
        .into_iter()
        .map(|mut d| {
            d.path = if d.path.is_empty() {
                section.to_owned()
            } else {
                format!("{section}.{}", d.path)
            };
            d
        })
        .collect()
}

/// A parsed file: the positioned tree, its `toml.syntax` diagnostics (at most
/// [`MAX_DIAGNOSTICS`]) and how many more syntax errors were only counted.
struct ParsedFile {
    root: Node,
    syntax: Vec<Diagnostic>,
    omitted: usize,
}

/// Parses TOML text into a positioned tree; syntax errors become `toml.syntax` diagnostics.
/// Past [`MAX_DIAGNOSTICS`] of them the rest are only counted and the tree is empty.
fn parse(text: &str, source: &Source) -> ParsedFile {
    let parsed = node::parse_toml(text, MAX_DIAGNOSTICS);
    let syntax = parsed
        .errors
        .into_iter()
        .map(|e| {
            Diagnostic::new(
                Severity::Error,
                "toml.syntax",
                "",
                source.location(e.pos),
                format!("TOML syntax error: {}", e.message),
            )
            .with_suggestion("fix the TOML syntax at this position")
        })
        .collect();
    ParsedFile {
        root: parsed.root,
        syntax,
        omitted: parsed.omitted,
    }
}

impl<'de> Deserialize<'de> for ConfigDocument {
    /// Accepts any map; problems are found by [`ConfigDocument::lint`], not here.
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        Ok(Self {
            root: Node::deserialize(d)?,
            source: Source::embedded(),
            syntax: Vec::new(),
            omitted: 0,
        })
    }
}

impl<'de> Deserialize<'de> for Config {
    /// Deserialises and validates in one step. On errors the serde error's message lists
    /// every diagnostic; use [`ConfigDocument`] to get them as values.
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let doc = ConfigDocument::deserialize(d)?;
        doc.to_config().map_err(|e| {
            let mut msg = format!("{}: {e}", e.code());
            for diag in e.evidence().diagnostics.iter().filter(|d| d.is_error()) {
                let _ = write!(msg, "; {diag}");
            }
            serde::de::Error::custom(msg)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn inherited_values_show_the_global_origin() {
        let cfg = Config::from_toml_str(
            "proxy = \"http://g.test:3128\"\n[providers.a]\nurl = \"http://a.test\"\nroots = \"system\"\n",
            "/etc/p/cfg.toml",
        )
        .unwrap();
        let s = cfg.settings(Some("a")).unwrap();
        let proxy = s.iter().find(|s| s.key == "proxy").unwrap();
        assert!(
            matches!(&proxy.origin, Provenance::File { line: 1, col: 1, key, .. } if key == "proxy")
        );
        let roots = s.iter().find(|s| s.key == "roots").unwrap();
        assert!(
            matches!(&roots.origin, Provenance::File { line: 4, key, .. } if key == "providers.a.roots")
        );
        assert!(cfg.settings(Some("nope")).is_none());
    }

    #[test]
    fn embedded_documents_are_linted_without_positions() {
        let doc: ConfigDocument =
            serde_json::from_str(r#"{"no_proxy_list": ["a"], "providers": {"x": {"url": "http://x.test", "ca": "/x.pem"}}}"#)
                .unwrap();
        let d = doc.lint(&EnvSnapshot::default());
        let paths: Vec<&str> = d.iter().map(|d| d.path.as_str()).collect();
        assert_eq!(paths, ["no_proxy_list", "providers.x.ca"]);
        assert!(
            d.iter()
                .all(|d| d.location.is_none() && d.code == "misplaced_key")
        );
        let err = doc.to_config().unwrap_err();
        assert_eq!(err.code(), "config.invalid");
        assert_eq!(err.evidence().diagnostics.len(), 2);
    }

    #[test]
    fn serde_config_fails_listing_every_error() {
        let err =
            serde_json::from_str::<Config>(r#"{"proxi": "direct", "cacert": "/x"}"#).unwrap_err();
        let msg = err.to_string();
        assert!(msg.contains("proxi") && msg.contains("cacert"), "{msg}");
        let ok: Config = serde_json::from_str(r#"{"proxy": "direct"}"#).unwrap();
        assert!(
            matches!(&ok.global_layer().proxy.as_ref().unwrap().origin, Provenance::Embedded { key } if key == "proxy")
        );
    }

    #[test]
    fn a_section_of_a_larger_file_keeps_file_positions() {
        let text = "[server]\nlisten = \"127.0.0.1:0\"\n\n[proxyscope]\nproxy = \"direct\"\n[proxyscope.providers.a]\nurl = \"http://a.test\"\nca_file = \"ca.pem\"\n";
        let doc = ConfigDocument::from_toml_section(text, "/srv/svc/service.toml", "proxyscope");
        let d = doc.lint(&EnvSnapshot::default());
        let missing_ca = d
            .iter()
            .find(|d| d.path == "proxyscope.providers.a.ca_file")
            .unwrap();
        assert_eq!(
            missing_ca.location.as_deref(),
            Some("/srv/svc/service.toml:8:11")
        );
        assert!(doc.to_config().is_err());

        let ok = "[server]\nx = 1\n[proxyscope]\nproxy = \"direct\"\n[proxyscope.providers.a]\nurl = \"http://a.test\"\n";
        let cfg = ConfigDocument::from_toml_section(ok, "/srv/svc/service.toml", "proxyscope")
            .to_config()
            .unwrap();
        let s = cfg.settings(Some("a")).unwrap();
        let proxy = s.iter().find(|s| s.key == "proxy").unwrap();
        assert!(
            matches!(&proxy.origin, Provenance::File { line: 4, key, .. } if key == "proxyscope.proxy")
        );

        for (text, path) in [
            ("[server]\n", "proxyscope"),
            ("proxyscope = 3\n", "proxyscope"),
        ] {
            let d = ConfigDocument::from_toml_section(text, "s.toml", "proxyscope")
                .lint(&EnvSnapshot::default());
            assert_eq!(d.len(), 1, "{d:?}");
            assert_eq!(
                (d[0].code.as_str(), d[0].path.as_str()),
                ("section.missing", path)
            );
            assert!(d[0].is_error() && d[0].location.is_some());
        }
    }

    #[test]
    fn limits_are_layer_settings_with_provenance_and_lint() {
        let cfg = Config::from_toml_str(
            "[limits]\nmax_body = \"64MiB\"\n[providers.a]\nurl = \"http://a.test\"\n[providers.a.limits]\ncheck_body = \"4KiB\"\n",
            "/etc/p/cfg.toml",
        )
        .unwrap();
        let a = cfg.effective_layer("a").unwrap();
        assert_eq!(a.limits.max_body_or_default(), 64 << 20);
        assert_eq!(a.limits.check_body_or_default(), 4096);
        let s = cfg.settings(Some("a")).unwrap();
        let check = s.iter().find(|s| s.key == "limits.check_body").unwrap();
        assert_eq!(check.value, "4KiB");
        assert!(
            matches!(&check.origin, Provenance::File { line: 6, key, .. } if key == "providers.a.limits.check_body")
        );

        let cases = [
            (
                "[limits]\nmax_body = 16\n",
                "size.bare_number",
                "limits.max_body",
            ),
            (
                "[limits]\nmax_body = \"16MB\"\n",
                "size.invalid",
                "limits.max_body",
            ),
            (
                "[limits]\ncheck_body = \"0B\"\n",
                "size.zero",
                "limits.check_body",
            ),
            (
                "[limits]\nmax_body = true\n",
                "type_mismatch",
                "limits.max_body",
            ),
            ("limits = 3\n", "type_mismatch", "limits"),
            (
                "[limits]\nmax_bdy = \"1MiB\"\n",
                "unknown_key",
                "limits.max_bdy",
            ),
            (
                "max_body_size = \"1MiB\"\n",
                "misplaced_key",
                "max_body_size",
            ),
        ];
        for (text, code, path) in cases {
            let d = ConfigDocument::from_toml_str(text, "c.toml").lint(&EnvSnapshot::default());
            assert_eq!(d.len(), 1, "{text}: {d:?}");
            assert_eq!(
                (d[0].code.as_str(), d[0].path.as_str()),
                (code, path),
                "{text}"
            );
            assert!(d[0].is_error() && d[0].suggestion.is_some(), "{text}");
        }
        let d = ConfigDocument::from_toml_str("max_body = \"2MiB\"\n", "c.toml")
            .lint(&EnvSnapshot::default());
        assert!(
            d[0].suggestion.as_deref().unwrap().contains("[limits]"),
            "{d:?}"
        );
    }

    #[test]
    fn a_file_of_errors_reports_a_bounded_list_and_counts_the_rest() {
        let text = format!("# {}\n", "\0".repeat(10_000));
        let doc = ConfigDocument::from_toml_str(&text, "/etc/p/nul.toml");
        let d = doc.lint(&EnvSnapshot::default());
        assert_eq!(d.len(), MAX_DIAGNOSTICS + 1);
        let last = d.last().unwrap();
        assert_eq!(last.code, "diagnostics.truncated");
        assert!(last.is_error());
        assert!(
            last.message.starts_with("and 9900 more (9900 errors)"),
            "{}",
            last.message
        );
        let e = doc.to_config().unwrap_err();
        assert_eq!(e.evidence().diagnostics.len(), MAX_DIAGNOSTICS + 1);
        assert!(e.to_string().contains("10000 errors"), "{e}");
        // The same in a service's file: no section.missing guess about a file that was not read.
        let d = ConfigDocument::from_toml_section(&text, "s.toml", "proxyscope")
            .lint(&EnvSnapshot::default());
        assert!(d.iter().all(|d| d.code != "section.missing"));
    }
}
