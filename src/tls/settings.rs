//! What one hop trusts: [`TlsSettings`] (roots, CA files, ALPN, the danger switch, the config key
//! that would fix it) and [`KnownCa`], every CA file the configuration or environment mentions,
//! which failure diagnosis cross-references against the presented chain.

use std::path::Path;

use rustls_pki_types::CertificateDer;

use super::bundle::CaBundle;
use super::identity::ClientIdentity;
use crate::error::{Error, Hop};
use crate::proxy::{CA_ENV_VARS, EnvSnapshot};
use crate::settings::{Roots, TlsVersion};

/// A CA file mentioned somewhere: under a config key (`providers.yandex.ca_file`,
/// `proxy_ca_file`, a misplaced `cacert`) or an environment variable (`SSL_CERT_FILE`).
#[non_exhaustive]
#[derive(Debug, Clone)]
pub struct KnownCa {
    /// The config key path or environment variable name.
    pub key: String,
    /// The loaded file.
    pub bundle: CaBundle,
}

impl KnownCa {
    /// A CA file found under `key`.
    pub fn new(key: impl Into<String>, bundle: CaBundle) -> Self {
        Self {
            key: key.into(),
            bundle,
        }
    }
}

/// Loads the CA files named by [`CA_ENV_VARS`] in `env`. Each variable set gives one entry: the
/// loaded file, or the `config.ca_file` error saying why it cannot be used (never dropped).
pub fn env_ca_files(env: &EnvSnapshot) -> Vec<Result<KnownCa, Error>> {
    CA_ENV_VARS
        .iter()
        .filter_map(|var| env.var(var).map(|path| (*var, path)))
        .map(|(var, path)| {
            CaBundle::load(Path::new(path))
                .map(|b| KnownCa::new(var, b))
                .map_err(|e| e.with_hint(format!("{var} names a CA file that cannot be used")))
        })
        .collect()
}

/// The TLS settings of one hop. Build with [`TlsSettings::origin`] or [`TlsSettings::proxy`] and
/// the setters, then [`super::HopTls::new`].
#[non_exhaustive]
#[derive(Debug, Clone)]
pub struct TlsSettings {
    /// The hop these settings are for.
    pub hop: Hop,
    /// The base store.
    pub roots: Roots,
    /// CA files added to the roots (`ca_file` for the origin, `proxy_ca_file` for the proxy).
    pub ca_files: Vec<CaBundle>,
    /// Record but do not enforce verification.
    pub danger_accept_invalid_certs: bool,
    /// Every CA file the configuration and environment mention, for cross-reference.
    pub known_ca_files: Vec<KnownCa>,
    /// ALPN protocols offered, in preference order.
    pub alpn: Vec<Vec<u8>>,
    /// The config key that adds a CA file to this hop (named by fix hints).
    pub ca_key: String,
    /// The config key that selects this hop's roots (named by fix hints).
    pub roots_key: String,
    /// What `roots = "system"` loads (and cross-reference consults); `None` reads the OS store.
    pub system_roots: Option<Vec<CertificateDer<'static>>>,
    /// TLS session resumption. Off means every handshake verifies (and records) a fresh chain.
    pub resumption: bool,
    /// The client certificate offered when the server asks for one.
    pub client_identity: Option<ClientIdentity>,
    /// The config key that sets this hop's client certificate (named by hints).
    pub client_cert_key: String,
    /// The config key that sets this hop's client key (named by hints).
    pub client_key_key: String,
    /// The oldest TLS version accepted.
    pub min_version: TlsVersion,
    /// Accept a certificate that chains to a trusted root but does not name the host.
    pub danger_accept_invalid_hostnames: bool,
}

impl TlsSettings {
    /// Settings for the origin hop: webpki roots, ALPN `h2` + `http/1.1`, keys `ca_file`/`roots`.
    pub fn origin() -> Self {
        Self {
            hop: Hop::Origin,
            roots: Roots::Webpki,
            ca_files: Vec::new(),
            danger_accept_invalid_certs: false,
            known_ca_files: Vec::new(),
            alpn: vec![b"h2".to_vec(), b"http/1.1".to_vec()],
            ca_key: "ca_file".to_owned(),
            roots_key: "roots".to_owned(),
            system_roots: None,
            resumption: true,
            client_identity: None,
            client_cert_key: "client_cert".to_owned(),
            client_key_key: "client_key".to_owned(),
            min_version: TlsVersion::Tls12,
            danger_accept_invalid_hostnames: false,
        }
    }

    /// Settings for the `https://` proxy hop: webpki roots, ALPN `http/1.1`, keys
    /// `proxy_ca_file`/`roots`.
    pub fn proxy() -> Self {
        Self {
            hop: Hop::Proxy,
            alpn: vec![b"http/1.1".to_vec()],
            ca_key: "proxy_ca_file".to_owned(),
            client_cert_key: "proxy_client_cert".to_owned(),
            client_key_key: "proxy_client_key".to_owned(),
            ..Self::origin()
        }
    }

    /// Sets the base store.
    pub fn with_roots(mut self, roots: Roots) -> Self {
        self.roots = roots;
        self
    }

    /// Adds a CA file to this hop's trust.
    pub fn with_ca_file(mut self, bundle: CaBundle) -> Self {
        self.ca_files.push(bundle);
        self
    }

    /// Adds a CA file mentioned elsewhere, for cross-reference.
    pub fn with_known_ca(mut self, known: KnownCa) -> Self {
        self.known_ca_files.push(known);
        self
    }

    /// Adds several known CA files (e.g. the `Ok` ones from [`env_ca_files`]).
    pub fn with_known_cas(mut self, known: impl IntoIterator<Item = KnownCa>) -> Self {
        self.known_ca_files.extend(known);
        self
    }

    /// Records but does not enforce certificate verification. Every handshake then carries a
    /// warning.
    pub fn with_danger_accept_invalid_certs(mut self, yes: bool) -> Self {
        self.danger_accept_invalid_certs = yes;
        self
    }

    /// Sets the ALPN protocols offered.
    pub fn with_alpn(mut self, protocols: impl IntoIterator<Item = impl Into<Vec<u8>>>) -> Self {
        self.alpn = protocols.into_iter().map(Into::into).collect();
        self
    }

    /// Names the config section these settings come from, e.g. `providers.yandex`, so fix hints
    /// say `providers.yandex.ca_file`. An empty prefix means the global layer.
    pub fn with_key_prefix(mut self, prefix: &str) -> Self {
        let (base, cert, key) = match self.hop {
            Hop::Origin => ("ca_file", "client_cert", "client_key"),
            Hop::Proxy => ("proxy_ca_file", "proxy_client_cert", "proxy_client_key"),
        };
        let join = |k: &str| {
            if prefix.is_empty() {
                k.to_owned()
            } else {
                format!("{prefix}.{k}")
            }
        };
        self.ca_key = join(base);
        self.roots_key = join("roots");
        self.client_cert_key = join(cert);
        self.client_key_key = join(key);
        self
    }

    /// Offers `identity` to servers that ask for a client certificate.
    pub fn with_client_identity(mut self, identity: ClientIdentity) -> Self {
        self.client_identity = Some(identity);
        self
    }

    /// Sets the oldest TLS version accepted.
    pub fn with_min_version(mut self, v: TlsVersion) -> Self {
        self.min_version = v;
        self
    }

    /// Accepts a certificate that chains to a trusted root but does not name the host. Every
    /// handshake that needed it carries a warning.
    pub fn with_danger_accept_invalid_hostnames(mut self, yes: bool) -> Self {
        self.danger_accept_invalid_hostnames = yes;
        self
    }

    /// Replaces what `roots = "system"` loads (and what cross-reference consults as the system
    /// store), e.g. for a container image whose store lives elsewhere, or for tests.
    pub fn with_system_roots(mut self, certs: Vec<CertificateDer<'static>>) -> Self {
        self.system_roots = Some(certs);
        self
    }

    /// Turns TLS session resumption on or off (on by default; probes turn it off).
    pub fn with_resumption(mut self, on: bool) -> Self {
        self.resumption = on;
        self
    }

    /// Warnings that anyone using these settings must see (route explanations, probe output).
    pub fn warnings(&self) -> Vec<String> {
        let mut w = Vec::new();
        if self.danger_accept_invalid_certs {
            w.push(format!(
                "danger_accept_invalid_certs is set for the {} hop: certificates are not verified",
                self.hop
            ));
        }
        if self.danger_accept_invalid_hostnames {
            w.push(format!(
                "danger_accept_invalid_hostnames is set for the {} hop: a certificate for another host is accepted",
                self.hop
            ));
        }
        w
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_prefix_names_the_hop_key() {
        let s = TlsSettings::origin().with_key_prefix("providers.yandex");
        assert_eq!(s.ca_key, "providers.yandex.ca_file");
        assert_eq!(s.roots_key, "providers.yandex.roots");
        let s = TlsSettings::proxy().with_key_prefix("");
        assert_eq!(s.ca_key, "proxy_ca_file");
        assert_eq!(s.alpn, vec![b"http/1.1".to_vec()]);
    }

    #[test]
    fn env_ca_files_reports_every_variable_set() {
        let env = EnvSnapshot::from_pairs([
            ("SSL_CERT_FILE", "/nonexistent/ca.pem"),
            ("CURL_CA_BUNDLE", ""),
            ("PATH", "/bin"),
        ]);
        let found = env_ca_files(&env);
        assert_eq!(found.len(), 1);
        let err = found.into_iter().next().and_then(|r| r.err());
        let err = err.as_ref().map(|e| (e.code(), e.evidence().file.clone()));
        assert_eq!(
            err,
            Some(("config.ca_file", Some("/nonexistent/ca.pem".to_owned())))
        );
    }

    #[test]
    fn danger_shows_as_a_warning() {
        assert!(TlsSettings::origin().warnings().is_empty());
        let w = TlsSettings::origin()
            .with_danger_accept_invalid_certs(true)
            .warnings();
        assert_eq!(w.len(), 1);
    }
}
