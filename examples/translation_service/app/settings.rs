//! The service's one TOML file: its own settings (`[server]`, `[translate.NAME]`) and a
//! `[proxyscope]` section (global layer, providers, proxies, CAs, checks). proxyscope's
//! `ServiceFile` parses it once and reports every finding of both parts with the whole file's
//! key paths and `file:line:col`; any error means the service refuses to start (it never finds
//! out at the first request). This module only names the service's keys and their defaults.
//!
//! ```toml
//! [server]
//! listen = "127.0.0.1:8080"      # loopback by default: /_config and /_health are for operators
//! health_cache = "5s"            # how long /_health/providers reuses a probe run
//! max_connections = 256          # open connections; beyond: an idle one is closed, else 503
//! header_timeout = "10s"         # to receive a request head (also closes idle keep-alives)
//! body_timeout = "30s"           # to receive a request body
//! max_body = 1048576             # bytes of a translate request body
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

use proxyscope::config::{Config, Diagnostic, ServiceFile, Table};
use proxyscope::{EnvSnapshot, Provenance, Sourced};

/// The table of the file that holds proxyscope's own settings.
pub(crate) const SECTION: &str = "proxyscope";
/// Where the service listens by default: loopback only, because `/_config` and
/// `/_health/providers` describe the egress setup to whoever can reach them.
pub(crate) const DEFAULT_LISTEN: SocketAddr =
    SocketAddr::new(std::net::IpAddr::V4(std::net::Ipv4Addr::LOCALHOST), 8080);
/// How long a health result is reused by default.
pub(crate) const DEFAULT_HEALTH_CACHE: Duration = Duration::from_secs(5);
/// The translate path of providers without a `[translate.NAME]` table (Apertium APy's).
pub(crate) const DEFAULT_TRANSLATE_PATH: &str = "/translate";

const ROOT_KEYS: &[&str] = &["server", "translate"];
const SERVER_KEYS: &[&str] = &[
    "listen",
    "health_cache",
    "max_connections",
    "header_timeout",
    "body_timeout",
    "max_body",
];
const TRANSLATE_KEYS: &[&str] = &["path"];

/// What the service accepts from its own callers. Every value has a default and a
/// `[server]` key.
#[derive(Debug, Clone)]
pub(crate) struct Limits {
    /// Open connections at once (`max_connections`). At the limit, a new connection closes
    /// the oldest idle one (no request in flight), or is answered 503 without being read.
    pub(crate) max_connections: Sourced<usize>,
    /// Time to receive a request head (`header_timeout`); also how long an idle keep-alive
    /// connection is kept.
    pub(crate) header_timeout: Sourced<Duration>,
    /// Time to receive a request body (`body_timeout`).
    pub(crate) body_timeout: Sourced<Duration>,
    /// Bytes of a request body (`max_body`).
    pub(crate) max_body: Sourced<usize>,
}

impl Limits {
    /// Default `max_connections`: well under the common `nofile` limit of 1024, leaving room
    /// for outbound connections and files.
    pub(crate) const MAX_CONNECTIONS: usize = 256;
    /// Default `header_timeout`.
    pub(crate) const HEADER_TIMEOUT: Duration = Duration::from_secs(10);
    /// Default `body_timeout`.
    pub(crate) const BODY_TIMEOUT: Duration = Duration::from_secs(30);
    /// Default `max_body`: 1 MiB.
    pub(crate) const MAX_BODY: usize = 1 << 20;
    /// The largest `max_connections` accepted.
    const MAX_CONNECTIONS_CEILING: u64 = 65_536;
    /// The largest `max_body` accepted: 64 MiB.
    const MAX_BODY_CEILING: u64 = 64 << 20;
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_connections: Sourced::new(Self::MAX_CONNECTIONS, Provenance::Default),
            header_timeout: Sourced::new(Self::HEADER_TIMEOUT, Provenance::Default),
            body_timeout: Sourced::new(Self::BODY_TIMEOUT, Provenance::Default),
            max_body: Sourced::new(Self::MAX_BODY, Provenance::Default),
        }
    }
}

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
    /// What the service accepts from its callers.
    pub(crate) limits: Limits,
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
    match ServiceFile::from_file(path, SECTION) {
        Ok(file) => validate(&file, env),
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
    validate(&ServiceFile::from_toml_str(text, path, SECTION), env)
}

fn validate(file: &ServiceFile, env: &EnvSnapshot) -> Result<Settings, Invalid> {
    let mut diags = file.lint(env);
    let root = file.root();
    root.deny_unknown(ROOT_KEYS, &mut diags);

    let mut listen = Sourced::new(DEFAULT_LISTEN, Provenance::Default);
    let mut health_cache = Sourced::new(DEFAULT_HEALTH_CACHE, Provenance::Default);
    let mut limits = Limits::default();
    if let Some(server) = root.table("server", &mut diags) {
        server.deny_unknown(SERVER_KEYS, &mut diags);
        let address = "an IP address and port such as \"127.0.0.1:8080\" or \"[::]:8080\" (port 0 picks a free one)";
        listen = server
            .parse("listen", address, &mut diags)
            .unwrap_or(listen);
        health_cache = server
            .duration("health_cache", &mut diags)
            .unwrap_or(health_cache);
        limits = Limits {
            max_connections: count(
                &server,
                "max_connections",
                Limits::MAX_CONNECTIONS_CEILING,
                &mut diags,
            )
            .unwrap_or(limits.max_connections),
            header_timeout: server
                .duration("header_timeout", &mut diags)
                .unwrap_or(limits.header_timeout),
            body_timeout: server
                .duration("body_timeout", &mut diags)
                .unwrap_or(limits.body_timeout),
            max_body: count(&server, "max_body", Limits::MAX_BODY_CEILING, &mut diags)
                .unwrap_or(limits.max_body),
        };
    }

    let mut translate = BTreeMap::new();
    let mut translate_tables = Vec::new();
    if let Some(t) = root.table("translate", &mut diags) {
        for (provider, table) in t.tables(&mut diags) {
            table.deny_unknown(TRANSLATE_KEYS, &mut diags);
            if let Some(path) = table.string("path", &mut diags) {
                if path.value.starts_with('/') && !path.value.contains("://") {
                    translate.insert(provider.to_owned(), path);
                } else {
                    diags.push(table.error(
                        "path",
                        "translate.path",
                        format!("`{}` is not a path", path.value),
                        format!("write a path that starts with `/`; it is joined to {SECTION}.providers.{provider}.url"),
                    ));
                }
            }
            translate_tables.push((provider, table));
        }
    }

    let config = file.document().to_config();
    if let Ok(config) = &config {
        for (name, table) in &translate_tables {
            if config.provider(name).is_none() {
                let known: Vec<&str> = config.providers().iter().map(|p| p.name()).collect();
                diags.push(table.error(
                    "",
                    "translate.unknown_provider",
                    format!(
                        "[{}] names no provider of [{SECTION}.providers]",
                        table.path()
                    ),
                    format!("known providers: {}", known.join(", ")),
                ));
            }
        }
    }
    match config {
        Ok(config) if !diags.iter().any(Diagnostic::is_error) => Ok(Settings {
            path: file.path().to_path_buf(),
            listen,
            health_cache,
            limits,
            translate,
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
                path: file.path().to_path_buf(),
                diagnostics: diags,
            })
        }
    }
}

/// A positive whole number up to `max`, as a `usize`.
fn count(
    table: &Table<'_>,
    key: &str,
    max: u64,
    diags: &mut Vec<Diagnostic>,
) -> Option<Sourced<usize>> {
    let n = table.integer(key, 1, max, diags)?;
    let value = usize::try_from(n.value).ok()?;
    Some(Sourced::new(value, n.origin))
}
