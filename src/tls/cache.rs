//! What a client's profiles share: [`TlsCache`] keeps every CA file a build has loaded (and the
//! environment's CA bundles) and every hop's rustls configuration and trust store, so a client
//! of many providers that name the same file — or none, with `SSL_CERT_FILE` and friends set —
//! parses it once, and providers of the same trust share one configuration instead of building
//! their own (about 20 KiB and a root store each).

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, OnceLock, PoisonError};

use super::bundle::CaBundle;
use super::hop::{Core, CoreKey, HopTls, core_key};
use super::settings::{KnownCa, TlsSettings, env_ca_files};
use crate::error::Error;
use crate::proxy::EnvSnapshot;

/// CA files loaded so far, by path, and the environment's. Failures are not kept: a file that
/// cannot be used fails the build at its first use anyway.
#[derive(Debug, Default)]
pub(crate) struct TlsCache {
    files: Mutex<HashMap<PathBuf, CaBundle>>,
    env: OnceLock<Vec<KnownCa>>,
    cores: Mutex<HashMap<CoreKey, Arc<Core>>>,
}

impl TlsCache {
    /// A cache holding `bundles` already (e.g. those a `Config` loaded).
    pub(crate) fn with(bundles: impl IntoIterator<Item = CaBundle>) -> Self {
        let cache = Self::default();
        {
            let mut files = cache.files.lock().unwrap_or_else(PoisonError::into_inner);
            for b in bundles {
                files.insert(b.path().to_path_buf(), b);
            }
        }
        cache
    }

    /// The CA file at `path`, read on first use.
    pub(crate) fn load(&self, path: &Path) -> Result<CaBundle, Error> {
        let mut files = self.files.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(b) = files.get(path) {
            return Ok(b.clone());
        }
        let b = CaBundle::load(path)?;
        files.insert(path.to_path_buf(), b.clone());
        Ok(b)
    }

    /// The hop for `settings`, over the configuration already built for the same trust if there
    /// is one. A failure is not kept (the next profile gets its own error, with its own keys).
    pub(crate) fn hop(&self, settings: TlsSettings) -> Result<HopTls, Error> {
        let Some(key) = core_key(&settings) else {
            return HopTls::new(settings);
        };
        let mut cores = self.cores.lock().unwrap_or_else(PoisonError::into_inner);
        let core = match cores.get(&key) {
            Some(c) => c.clone(),
            None => {
                let c = Arc::new(Core::build(&settings)?);
                cores.insert(key, c.clone());
                c
            }
        };
        Ok(HopTls::with_core(settings, core))
    }

    /// The usable CA bundles the environment names (`SSL_CERT_FILE`, ...), read on first use;
    /// the first snapshot asked for is the one used (a client has one).
    pub(crate) fn env(&self, env: &EnvSnapshot) -> Vec<KnownCa> {
        self.env
            .get_or_init(|| env_ca_files(env).into_iter().flatten().collect())
            .clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::settings::TlsVersion;
    use crate::tls::ClientIdentity;

    #[test]
    fn files_are_read_once_and_failures_are_not_kept() {
        let dir = tempfile::tempdir().unwrap();
        let pki = crate::testing::TestPki::new();
        let root = pki.root().pem();
        let path = dir.path().join("ca.pem");
        std::fs::write(&path, root).unwrap();
        let cache = TlsCache::default();
        let env = EnvSnapshot::from_pairs([("SSL_CERT_FILE", path.display().to_string())]);
        let a = cache.load(&path).unwrap();
        assert_eq!(cache.env(&env).len(), 1);
        // Gone from disk, still served: neither is read twice.
        std::fs::remove_file(&path).unwrap();
        let b = cache.load(&path).unwrap();
        assert_eq!(a.certs(), b.certs());
        assert_eq!(cache.env(&env).len(), 1);

        let missing = dir.path().join("missing.pem");
        assert_eq!(cache.load(&missing).unwrap_err().code(), "config.ca_file");
        std::fs::write(&missing, root).unwrap();
        assert!(cache.load(&missing).is_ok());

        let seeded = TlsCache::with([a.clone()]);
        assert!(seeded.load(&path).is_ok());
    }

    #[test]
    fn hops_of_the_same_trust_share_their_configuration() {
        let cache = TlsCache::default();
        let a = cache
            .hop(TlsSettings::origin().with_key_prefix("providers.a"))
            .unwrap();
        let b = cache
            .hop(TlsSettings::origin().with_key_prefix("providers.b"))
            .unwrap();
        assert!(Arc::ptr_eq(&a.plain_config(), &b.plain_config()));
        // Each keeps its own keys for hints.
        assert_eq!(b.settings().ca_key, "providers.b.ca_file");
        let proxy = cache.hop(TlsSettings::proxy()).unwrap();
        assert!(!Arc::ptr_eq(&a.plain_config(), &proxy.plain_config()));
        let danger = cache
            .hop(TlsSettings::origin().with_danger_accept_invalid_certs(true))
            .unwrap();
        assert!(!Arc::ptr_eq(&a.plain_config(), &danger.plain_config()));
        // Profiles of different identities or oldest versions never share a configuration
        // (it holds the client certificate and the protocol versions); the same identity does.
        let pki = crate::testing::TestPki::new();
        let id = |name: &str| {
            let c = pki.client_cert(name);
            let cert = std::fs::read(c.pem_path()).unwrap();
            let key = std::fs::read(c.key_path()).unwrap();
            ClientIdentity::from_pem(&cert, &key).unwrap()
        };
        let alice = id("alice");
        let with = |id: &ClientIdentity| {
            cache
                .hop(TlsSettings::origin().with_client_identity(id.clone()))
                .unwrap()
        };
        let (a1, a2, bob) = (with(&alice), with(&alice), with(&id("bob")));
        assert!(Arc::ptr_eq(&a1.plain_config(), &a2.plain_config()));
        assert!(!Arc::ptr_eq(&a1.plain_config(), &bob.plain_config()));
        assert!(!Arc::ptr_eq(&a.plain_config(), &a1.plain_config()));
        let v13 = cache
            .hop(TlsSettings::origin().with_min_version(TlsVersion::Tls13))
            .unwrap();
        assert!(!Arc::ptr_eq(&a.plain_config(), &v13.plain_config()));
        let hostnames = cache
            .hop(TlsSettings::origin().with_danger_accept_invalid_hostnames(true))
            .unwrap();
        assert!(!Arc::ptr_eq(&a.plain_config(), &hostnames.plain_config()));
        // In-memory CA bundles share one label scheme: their content tells them apart.
        let mem = |pem: &str| {
            cache
                .hop(TlsSettings::origin().with_ca_file(
                    CaBundle::from_memory("builder:ca_certs[0]", pem.as_bytes()).unwrap(),
                ))
                .unwrap()
        };
        let (m1, m2) = (mem(pki.root().pem()), mem(pki.client_ca().pem()));
        assert!(!Arc::ptr_eq(&m1.plain_config(), &m2.plain_config()));
        // Settings that bring their own system roots are never shared.
        let own = cache
            .hop(TlsSettings::origin().with_system_roots(Vec::new()))
            .unwrap();
        assert!(!Arc::ptr_eq(&a.plain_config(), &own.plain_config()));
        // A failure is the profile's own, with its own keys.
        let e = cache
            .hop(
                TlsSettings::origin()
                    .with_roots(crate::settings::Roots::None)
                    .with_key_prefix("providers.c"),
            )
            .unwrap_err();
        assert_eq!(e.code(), "config.invalid");
        assert!(
            e.hint().unwrap().contains("providers.c.ca_file"),
            "{:?}",
            e.hint()
        );
    }
}
