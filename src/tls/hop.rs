//! One hop's TLS client: [`HopTls`] builds the rustls `ClientConfig` once (ring provider, the
//! hop's trust store and ALPN, the shared recording verifier) and runs handshakes over any
//! `AsyncRead + AsyncWrite`, each recording into its own slot, returning the stream and a [`HandshakeInfo`] (the chain seen, ALPN,
//! warnings) or a fully diagnosed [`Error`].

use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use rustls::client::danger::ServerCertVerifier;
use rustls::client::{Resumption, WebPkiServerVerifier};
use rustls::crypto::{CryptoProvider, WebPkiSupportedAlgorithms};
use rustls::{ClientConfig, RootCertStore};
use rustls_pki_types::{CertificateDer, ServerName};
use serde::Serialize;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio_rustls::TlsConnector;
use tokio_rustls::client::TlsStream;

use super::chain::{summarize, unix_now};
use super::client_auth::{self, Resolver};
use super::diagnose::{FailedHop, Failure, diagnose};
use super::roots::{build_store, load_system_roots};
use super::settings::TlsSettings;
use super::verifier::{Recording, Seen, recording, take};
use crate::error::{CertSummary, ClientCertEvidence, Error, ErrorKind, Hop, TrustStore};
use crate::settings::{Roots, TlsVersion};

/// What a successful handshake saw.
#[non_exhaustive]
#[derive(Debug, Clone, Serialize)]
pub struct HandshakeInfo {
    /// The hop.
    pub hop: Hop,
    /// The server name sent.
    pub sni: String,
    /// The presented chain, leaf first (from the verifier, or from the resumed session): at
    /// most 16 certificates are described; `chain_omitted` counts the rest.
    pub chain: Vec<CertSummary>,
    /// Certificates of the presented chain beyond the first 16, not described.
    #[serde(skip_serializing_if = "is_zero")]
    pub chain_omitted: usize,
    /// The negotiated ALPN protocol.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub alpn: Option<String>,
    /// The TLS version, e.g. `TLSv1.3`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
    /// Whether the session was resumed (the verifier did not run).
    pub resumed: bool,
    /// Set when `danger_accept_invalid_certs` let an invalid certificate through: the error
    /// verification would have given.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub accepted_invalid: Option<String>,
    /// Whether verification was disabled for this hop.
    pub danger_accept_invalid_certs: bool,
    /// Whether a certificate for another host is accepted on this hop.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub danger_accept_invalid_hostnames: bool,
    /// Client authentication: whether the server asked, the CAs it named, what was presented.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub client_cert: Option<ClientCertEvidence>,
}

fn is_zero(n: &usize) -> bool {
    *n == 0
}

impl HandshakeInfo {
    /// Warnings to surface (route explanations, probe output, logs).
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
        if let Some(e) = &self.accepted_invalid {
            w.push(format!(
                "the {} certificate for {} is invalid ({e}) and was accepted anyway",
                self.hop, self.sni
            ));
        }
        w
    }
}

/// One hop's TLS client configuration, built once and shared by every connection.
#[derive(Debug, Clone)]
pub struct HopTls {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    settings: TlsSettings,
    core: Arc<Core>,
}

/// What hops of the same trust share — the rustls configurations and the trust store — so a
/// client of many providers builds them once ([`CoreKey`]); the per-hop part is the settings
/// (the keys its hints name, the CA files it cross-references).
#[derive(Debug)]
pub(crate) struct Core {
    /// With the shared recording verifier.
    config: Arc<ClientConfig>,
    /// With rustls's own verifier, for comparison.
    plain_config: Arc<ClientConfig>,
    algs: WebPkiSupportedAlgorithms,
    store: Arc<RootCertStore>,
    trust: TrustStore,
    /// The OS store, loaded on the first failure that needs it for cross-reference.
    system: OnceLock<Vec<CertificateDer<'static>>>,
}

/// Everything a [`Core`] is built from: the hop, the roots, the CA bundles (by path and content:
/// a client reads each file once, and in-memory bundles share labels), the danger switches, the
/// oldest TLS version, the client identity (its chain's digest: the key is checked to match the
/// leaf, so the same chain means the same identity), ALPN and resumption. Two profiles that
/// differ in any of them never share a configuration. `None` for settings that carry their own
/// system roots, which are never shared.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(crate) struct CoreKey {
    hop: Hop,
    roots: &'static str,
    ca_files: Vec<(std::path::PathBuf, [u8; 32])>,
    danger_accept_invalid_certs: bool,
    danger_accept_invalid_hostnames: bool,
    min_version: &'static str,
    client_identity: Option<[u8; 32]>,
    alpn: Vec<Vec<u8>>,
    resumption: bool,
}

/// SHA-256 over DER certificates, each length-prefixed so that no two lists collide by
/// concatenation.
fn digest_certs(certs: &[CertificateDer<'_>]) -> [u8; 32] {
    let mut ctx = ring::digest::Context::new(&ring::digest::SHA256);
    for c in certs {
        ctx.update(&(c.len() as u64).to_be_bytes());
        ctx.update(c);
    }
    let mut out = [0; 32];
    out.copy_from_slice(ctx.finish().as_ref());
    out
}

/// The key of `settings`' core, when it can be shared.
pub(crate) fn core_key(settings: &TlsSettings) -> Option<CoreKey> {
    if settings.system_roots.is_some() {
        return None;
    }
    Some(CoreKey {
        hop: settings.hop,
        roots: settings.roots.as_str(),
        ca_files: settings
            .ca_files
            .iter()
            .map(|b| (b.path().to_path_buf(), digest_certs(b.certs())))
            .collect(),
        danger_accept_invalid_certs: settings.danger_accept_invalid_certs,
        danger_accept_invalid_hostnames: settings.danger_accept_invalid_hostnames,
        min_version: settings.min_version.as_str(),
        client_identity: settings
            .client_identity
            .as_ref()
            .map(|id| digest_certs(id.chain())),
        alpn: settings.alpn.clone(),
        resumption: settings.resumption,
    })
}

impl HopTls {
    /// Builds the hop's `ClientConfig` (ring provider explicitly). Fails with `config.invalid`
    /// when the trust store is empty (`roots = "none"` and no CA file) and verification is on.
    pub fn new(settings: TlsSettings) -> Result<HopTls, Error> {
        let core = Arc::new(Core::build(&settings)?);
        Ok(Self::with_core(settings, core))
    }

    /// The hop for `settings` over a core already built for the same [`CoreKey`].
    pub(crate) fn with_core(settings: TlsSettings, core: Arc<Core>) -> HopTls {
        HopTls {
            inner: Arc::new(Inner { settings, core }),
        }
    }
}

impl Core {
    /// The rustls configurations and trust store for `settings`.
    pub(crate) fn build(settings: &TlsSettings) -> Result<Core, Error> {
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let algs = provider.signature_verification_algorithms;
        let (store, trust) = build_store(
            settings.roots,
            &settings.ca_files,
            settings.system_roots.as_deref(),
        );
        let store = Arc::new(store);
        let plain = if store.is_empty() {
            None
        } else {
            Some(
                WebPkiServerVerifier::builder_with_provider(store.clone(), provider.clone())
                    .build()
                    .map_err(|e| config_error(settings, &trust, e.to_string()))?,
            )
        };
        if plain.is_none() && !settings.danger_accept_invalid_certs {
            return Err(config_error(
                settings,
                &trust,
                "no root trust anchors".to_owned(),
            ));
        }
        let recording: Arc<dyn ServerCertVerifier> = Arc::new(Recording {
            inner: plain.clone(),
            algs,
            accept_invalid: settings.danger_accept_invalid_certs,
            accept_invalid_hostnames: settings.danger_accept_invalid_hostnames,
        });
        let config = build_config(settings, provider.clone(), recording.clone())?;
        let plain_config = match plain {
            Some(p) => build_config(settings, provider, p)?,
            None => build_config(settings, provider, recording)?,
        };
        Ok(Core {
            config: Arc::new(config),
            plain_config: Arc::new(plain_config),
            algs,
            store,
            trust,
            system: OnceLock::new(),
        })
    }
}

impl HopTls {
    /// The settings it was built from.
    pub fn settings(&self) -> &TlsSettings {
        &self.inner.settings
    }

    /// The trust store, described.
    pub fn trust_store(&self) -> &TrustStore {
        &self.inner.core.trust
    }

    /// Warnings for anything that weakens this hop (see [`TlsSettings::warnings`]).
    pub fn warnings(&self) -> Vec<String> {
        self.inner.settings.warnings()
    }

    /// The same config with rustls's own verifier instead of the recording one (no evidence on
    /// failure): the baseline the benchmark compares against, or for code that does its own
    /// handshakes without diagnostics.
    pub fn plain_config(&self) -> Arc<ClientConfig> {
        self.inner.core.plain_config.clone()
    }

    /// The rustls configuration this hop's handshakes use (trust store, client certificate,
    /// oldest version, ALPN, the danger switches), for a client that does its own TLS, e.g.
    /// reqwest's `tls_backend_preconfigured`.
    pub fn config(&self) -> Arc<ClientConfig> {
        self.inner.core.config.clone()
    }

    /// The error for a read or write failure of a connection this hop established, when it is
    /// the server's late refusal of client authentication (TLS 1.3 servers refuse after the
    /// client has finished its side of the handshake); `None` for any other failure.
    pub fn late_failure(
        &self,
        info: &HandshakeInfo,
        err: &(dyn std::error::Error + 'static),
    ) -> Option<Error> {
        let alert = client_auth::received_alert(err)?;
        let e = client_auth::failure(
            self,
            &info.sni,
            info.chain.clone(),
            info.client_cert.clone(),
            alert,
            err.to_string(),
        )?;
        Some(e.map_evidence(|ev| {
            if let Some(tls) = ev.tls.as_mut() {
                tls.chain_omitted = info.chain_omitted;
            }
        }))
    }

    /// Runs a TLS handshake with `server_name` over `io` within `timeout`. On failure the error
    /// carries the hop, the chain presented, the trust store, the diagnosis and the fix; codes
    /// `tls.*` for the origin hop, `proxy.tls` / `proxy.timeout` for the proxy hop.
    pub async fn connect<IO>(
        &self,
        server_name: &str,
        io: IO,
        timeout: Duration,
    ) -> Result<(TlsStream<IO>, HandshakeInfo), Error>
    where
        IO: AsyncRead + AsyncWrite + Unpin,
    {
        let sni = server_name
            .strip_prefix('[')
            .and_then(|s| s.strip_suffix(']'))
            .unwrap_or(server_name);
        let name = ServerName::try_from(sni.to_owned()).map_err(|e| self.bad_name(sni, e))?;
        let seen = Arc::new(Mutex::new(Seen::default()));
        let connector = TlsConnector::from(self.inner.core.config.clone());
        let handshake = recording(seen.clone(), connector.connect(name, io));
        let result = tokio::time::timeout(timeout, handshake).await;
        let stream = match result {
            Ok(Ok(s)) => s,
            Ok(Err(e)) => return Err(self.failed(sni, take(&seen), Failure::Io(e))),
            Err(_) => return Err(self.failed(sni, take(&seen), Failure::Timeout(timeout))),
        };
        let seen = take(&seen);
        let client_cert = self.client_evidence(seen.cert_request.as_deref());
        let (_, conn) = stream.get_ref();
        let resumed = seen.now.is_none();
        let now = seen
            .now
            .map_or_else(unix_now, |t| i64::try_from(t.as_secs()).unwrap_or(i64::MAX));
        let (chain, chain_omitted) = if seen.chain.is_empty() {
            conn.peer_certificates()
                .map(|c| (summarize(c, now), super::chain::omitted(c)))
                .unwrap_or_default()
        } else {
            (
                summarize(&seen.chain, now),
                super::chain::omitted(&seen.chain),
            )
        };
        let info = HandshakeInfo {
            hop: self.inner.settings.hop,
            sni: sni.to_owned(),
            chain,
            chain_omitted,
            alpn: conn
                .alpn_protocol()
                .map(|p| String::from_utf8_lossy(p).into_owned()),
            version: conn
                .protocol_version()
                .and_then(|v| v.as_str())
                .map(str::to_owned),
            resumed,
            accepted_invalid: seen.error.map(|e| e.to_string()),
            danger_accept_invalid_certs: self.inner.settings.danger_accept_invalid_certs,
            danger_accept_invalid_hostnames: self.inner.settings.danger_accept_invalid_hostnames,
            client_cert,
        };
        if let Some(e) = &info.accepted_invalid {
            tracing::warn!(
                hop = %info.hop,
                sni = %info.sni,
                error = %e,
                "invalid certificate accepted because danger_accept_invalid_certs is set"
            );
        }
        Ok((stream, info))
    }

    fn client_evidence(&self, request: Option<&[Vec<u8>]>) -> Option<ClientCertEvidence> {
        let s = &self.inner.settings;
        client_auth::evidence(s.client_identity.as_ref(), &s.client_cert_key, request)
    }

    /// A failed handshake: a refused client certificate when the server's alert says so, else
    /// the diagnosis; either way with the client-certificate facts when the server asked.
    fn failed(&self, sni: &str, seen: super::verifier::Seen, failure: Failure) -> Error {
        let client = self.client_evidence(seen.cert_request.as_deref());
        if let Failure::Io(e) = &failure
            && let Some(alert) = client_auth::received_alert(e)
        {
            let now = seen
                .now
                .map_or_else(unix_now, |t| i64::try_from(t.as_secs()).unwrap_or(i64::MAX));
            let chain = summarize(&seen.chain, now);
            let chain_omitted = super::chain::omitted(&seen.chain);
            if let Some(err) =
                client_auth::failure(self, sni, chain, client.clone(), alert, e.to_string())
            {
                return err.map_evidence(|ev| {
                    if let Some(tls) = ev.tls.as_mut() {
                        tls.chain_omitted = chain_omitted;
                    }
                });
            }
        }
        let err = diagnose(self, sni, seen, failure);
        match client.filter(|c| c.requested) {
            Some(c) => err.map_evidence(|ev| {
                if let Some(tls) = ev.tls.as_mut() {
                    tls.client_cert = Some(c);
                }
            }),
            None => err,
        }
    }

    fn bad_name(&self, sni: &str, e: impl std::error::Error + Send + Sync + 'static) -> Error {
        let kind = match self.inner.settings.hop {
            Hop::Origin => ErrorKind::TlsHandshake,
            Hop::Proxy => ErrorKind::ProxyTls,
        };
        Error::new(kind)
            .with_hop(self.inner.settings.hop)
            .with_message(format!("{sni:?} is not a valid TLS server name"))
            .with_hint("use a DNS name or an IP address as the host")
            .with_source(e)
            .map_evidence(|ev| ev.target = Some(sni.to_owned()))
    }
}

impl FailedHop for HopTls {
    fn settings(&self) -> &TlsSettings {
        &self.inner.settings
    }

    fn trust_store(&self) -> &TrustStore {
        &self.inner.core.trust
    }

    fn store(&self) -> &RootCertStore {
        &self.inner.core.store
    }

    /// What counts as the system store: the override in the settings, else the OS store (read
    /// once per hop, only when a failure needs it).
    fn system_roots(&self) -> &[CertificateDer<'static>] {
        match &self.inner.settings.system_roots {
            Some(c) => c,
            None => self.inner.core.system.get_or_init(load_system_roots),
        }
    }

    fn algs(&self) -> &WebPkiSupportedAlgorithms {
        &self.inner.core.algs
    }
}

fn build_config(
    settings: &TlsSettings,
    provider: Arc<CryptoProvider>,
    verifier: Arc<dyn ServerCertVerifier>,
) -> Result<ClientConfig, Error> {
    let versions: &[&'static rustls::SupportedProtocolVersion] = match settings.min_version {
        TlsVersion::Tls13 => &[&rustls::version::TLS13],
        _ => &[&rustls::version::TLS13, &rustls::version::TLS12],
    };
    let builder = ClientConfig::builder_with_provider(provider)
        .with_protocol_versions(versions)
        .map_err(|e| {
            Error::new(ErrorKind::TlsHandshake)
                .with_hop(settings.hop)
                .with_message("the TLS provider supports no protocol version")
                .with_source(e)
        })?;
    let mut cfg = builder
        .dangerous()
        .with_custom_certificate_verifier(verifier)
        .with_client_cert_resolver(Arc::new(Resolver {
            identity: settings.client_identity.clone(),
        }));
    cfg.alpn_protocols = settings.alpn.clone();
    if !settings.resumption {
        cfg.resumption = Resumption::disabled();
    }
    Ok(cfg)
}

fn config_error(settings: &TlsSettings, trust: &TrustStore, why: String) -> Error {
    Error::new(ErrorKind::ConfigInvalid)
        .with_hop(settings.hop)
        .with_message(format!(
            "the {} hop has no usable trust anchors: {why}",
            settings.hop
        ))
        .with_hint(if settings.roots == Roots::System {
            // An empty system store: the OS package is missing, or the environment points the
            // store at files that are not certificates (skipped, never read without bounds).
            format!(
                "the system trust store is empty: check SSL_CERT_FILE and SSL_CERT_DIR (when set, they replace the system store; only regular files of at most {} are read) and the system's CA certificates, or set {} to the CA file(s) to trust",
                crate::file::size(crate::file::MAX_CA_FILE),
                settings.ca_key
            )
        } else {
            format!(
                "with {} = \"none\" set {} to the CA file(s) to trust, or choose roots \"webpki\" or \"system\"",
                settings.roots_key, settings.ca_key
            )
        })
        .map_evidence(|ev| ev.cause = Some(trust.describe()))
}
