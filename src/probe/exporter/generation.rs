//! One loaded configuration and everything built from it — the clients of the providers probed
//! so far and the per-target result slots — replaced whole by a reload; and the loading itself:
//! the library's bounded read of a regular file ([`crate::config::read_file`]), then the same lint
//! as `probe lint`, refusing any error.

use std::collections::HashMap;
use std::path::Path;
use std::sync::{Arc, Mutex};

use crate::client::{Client, ClientBuilder};
use crate::config::{Config, ConfigDocument, Severity};
use crate::connect::Resolver;
use crate::error::{Error, ErrorKind};
use crate::proxy::EnvSnapshot;

use super::request::ProbeQuery;
use super::{Cached, lock, unix_now};

/// The largest configuration file a reload reads: the cap on every configuration file,
/// [`crate::config::MAX_FILE_SIZE`].
pub const MAX_CONFIG_BYTES: u64 = crate::config::MAX_FILE_SIZE;

type SlotKey = (String, Option<String>);
pub(super) type Slot = Arc<tokio::sync::Mutex<Option<Cached>>>;

/// One loaded configuration and everything built from it, replaced whole by a reload.
pub(super) struct Generation {
    pub(super) config: Config,
    pub(super) loaded_at: i64,
    pub(super) diagnostics: [(&'static str, usize); 3],
    /// The clients built so far, one per probed provider.
    clients: Mutex<HashMap<String, Client>>,
    /// Per target (and check), the last result and the lock that makes concurrent scrapes of
    /// it wait for one probe.
    slots: Mutex<HashMap<SlotKey, Slot>>,
}

impl Generation {
    pub(super) fn slot(&self, query: &ProbeQuery) -> Slot {
        // Only configured names reach here, so the map is bounded by the configuration.
        let key = (query.target.clone(), query.check.clone());
        Arc::clone(lock(&self.slots).entry(key).or_default())
    }

    /// The providers whose client exists, sorted.
    pub(super) fn built_clients(&self) -> Vec<String> {
        let mut names: Vec<String> = lock(&self.clients).keys().cloned().collect();
        names.sort();
        names
    }

    pub(super) fn client(
        &self,
        provider: &str,
        env: &EnvSnapshot,
        resolver: &Resolver,
    ) -> Result<Client, Error> {
        let mut clients = lock(&self.clients);
        if let Some(c) = clients.get(provider) {
            return Ok(c.clone());
        }
        let client = client_for(&self.config, provider, env, resolver)?;
        clients.insert(provider.to_owned(), client.clone());
        Ok(client)
    }
}

/// A client for one provider of `config` (and the global layer), opening a fresh connection for
/// every request so each check measures its own phases. The other providers' TLS settings and
/// CA files are not touched.
pub fn client_for(
    config: &Config,
    provider: &str,
    env: &EnvSnapshot,
    resolver: &Resolver,
) -> Result<Client, Error> {
    ClientBuilder::from_config_providers(config, |name| name == provider)
        .env(env.clone())
        .resolver(resolver.clone())
        .pool_max_idle_per_host(0)
        .build()
}

/// Reads, lints and validates the file: a [`Generation`], or the `config.invalid` error with
/// every finding when anything is an error.
pub(super) fn load(path: &Path, env: &EnvSnapshot) -> Result<Generation, Error> {
    let text = crate::config::read_file(path)?;
    let doc = ConfigDocument::from_toml_str(&text, path);
    let config = doc.to_config()?;
    let diagnostics = doc.lint(env);
    let errors: Vec<_> = diagnostics
        .iter()
        .filter(|d| d.is_error())
        .cloned()
        .collect();
    if !errors.is_empty() {
        return Err(Error::new(ErrorKind::ConfigInvalid)
            .with_message(format!(
                "{} has {} error(s) with this environment",
                path.display(),
                errors.len()
            ))
            .with_hint("run `probe lint` with the same environment and fix the errors")
            .map_evidence(|ev| ev.diagnostics = errors));
    }
    let count = |s| diagnostics.iter().filter(|d| d.severity == s).count();
    Ok(Generation {
        loaded_at: unix_now(),
        diagnostics: [
            ("error", 0),
            ("warning", count(Severity::Warning)),
            ("info", count(Severity::Info)),
        ],
        config,
        clients: Mutex::new(HashMap::new()),
        slots: Mutex::new(HashMap::new()),
    })
}
