//! Client certificates in the harness: servers ([`TestOrigin`](super::TestOrigin), an `https://`
//! [`TestProxy`](super::TestProxy)) that ask for a client certificate from given CAs
//! ([`ClientAuthSpec`]), required or optional, and record what each handshake presented and
//! whether it was accepted ([`ClientAuthRecord`]). [`TestPki`] issues the client certificates
//! (see [`TestPki::client_cert`]).
//!
//! Recording works like the client's: the verifier rustls calls inside the handshake writes
//! into a slot the server sets around each accept, so concurrent handshakes never mix.

use super::recorded::Recorded;
use std::future::Future;
use std::sync::{Arc, Mutex, PoisonError};

use rustls::client::danger::HandshakeSignatureValid;
use rustls::server::WebPkiClientVerifier;
use rustls::server::danger::{ClientCertVerified, ClientCertVerifier};
use rustls::{
    DigitallySignedStruct, DistinguishedName, RootCertStore, ServerConfig, SignatureScheme,
};
use rustls_pki_types::{CertificateDer, UnixTime};

use super::HarnessError;
use super::pki::{ChainMode, TestCert, TestPki};

/// What a harness server asks of clients: a certificate issued by one of `cas`, required or
/// optional, over TLS 1.2 and 1.3 or TLS 1.2 only (where the server's refusal ends the
/// handshake instead of arriving after it).
#[derive(Debug, Clone)]
pub struct ClientAuthSpec {
    cas: Vec<TestCert>,
    required: bool,
    tls12_only: bool,
}

impl ClientAuthSpec {
    /// A certificate from one of `cas` is required: a client without one is refused.
    pub fn required(cas: &[&TestCert]) -> Self {
        Self {
            cas: cas.iter().map(|c| (*c).clone()).collect(),
            required: true,
            tls12_only: false,
        }
    }

    /// A certificate from one of `cas` is asked for, but a client without one is served.
    pub fn optional(cas: &[&TestCert]) -> Self {
        Self {
            required: false,
            ..Self::required(cas)
        }
    }

    /// Speaks TLS 1.2 only.
    pub fn tls12_only(mut self) -> Self {
        self.tls12_only = true;
        self
    }
}

/// One handshake's client authentication, as the server saw it.
#[non_exhaustive]
#[derive(Debug, Clone)]
pub struct ClientAuthRecord {
    /// The client's certificate (the leaf), when it sent one.
    pub presented: Option<CertificateDer<'static>>,
    /// Whether the handshake completed.
    pub accepted: bool,
    /// Why it did not, as rustls said.
    pub error: Option<String>,
}

type Slot = Arc<Mutex<Option<CertificateDer<'static>>>>;

tokio::task_local! {
    static SLOT: Slot;
}

/// The recorded client authentications of one server.
#[derive(Debug, Clone, Default)]
pub(crate) struct Records(Arc<Recorded<ClientAuthRecord>>);

impl Records {
    pub(crate) fn all(&self) -> Vec<ClientAuthRecord> {
        self.0.all()
    }

    /// Runs one TLS accept, recording what the client presented and how it ended.
    pub(crate) async fn accept<F, T, E>(&self, accept: F) -> Result<T, E>
    where
        F: Future<Output = Result<T, E>>,
        E: std::fmt::Display,
    {
        let slot: Slot = Arc::default();
        let result = SLOT.scope(slot.clone(), accept).await;
        let presented = slot.lock().unwrap_or_else(PoisonError::into_inner).take();
        let record = ClientAuthRecord {
            presented,
            accepted: result.is_ok(),
            error: result.as_ref().err().map(ToString::to_string),
        };
        self.0.push(record);
        result
    }
}

/// Wraps rustls's client verifier, recording the certificate presented.
#[derive(Debug)]
struct Recording {
    inner: Arc<dyn ClientCertVerifier>,
}

impl ClientCertVerifier for Recording {
    fn offer_client_auth(&self) -> bool {
        self.inner.offer_client_auth()
    }

    fn client_auth_mandatory(&self) -> bool {
        self.inner.client_auth_mandatory()
    }

    fn root_hint_subjects(&self) -> &[DistinguishedName] {
        self.inner.root_hint_subjects()
    }

    fn verify_client_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        now: UnixTime,
    ) -> Result<ClientCertVerified, rustls::Error> {
        let _ = SLOT.try_with(|s| {
            *s.lock().unwrap_or_else(PoisonError::into_inner) =
                Some(end_entity.clone().into_owned());
        });
        self.inner
            .verify_client_cert(end_entity, intermediates, now)
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.inner.verify_tls12_signature(message, cert, dss)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.inner.verify_tls13_signature(message, cert, dss)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.inner.supported_verify_schemes()
    }
}

impl TestPki {
    /// A TLS server configuration presenting `leaf` as `mode` says (ALPN `h2` and `http/1.1`)
    /// that asks clients for a certificate as `spec` says, recording what they present when
    /// served by a harness server.
    ///
    /// # Panics
    /// If rustls rejects the certificates (it does not for certificates made here).
    pub fn server_config_with_client_auth(
        &self,
        leaf: &TestCert,
        mode: ChainMode,
        spec: &ClientAuthSpec,
    ) -> Arc<ServerConfig> {
        match client_auth_config(leaf, mode, spec, &[b"h2", b"http/1.1"]) {
            Ok(c) => c,
            Err(err) => panic!("TestPki::server_config_with_client_auth: {err}"),
        }
    }
}

/// A server config for `leaf` asking for client certificates as `spec` says, offering `alpn`.
pub(crate) fn client_auth_config(
    leaf: &TestCert,
    mode: ChainMode,
    spec: &ClientAuthSpec,
    alpn: &[&[u8]],
) -> Result<Arc<ServerConfig>, HarnessError> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut roots = RootCertStore::empty();
    for ca in &spec.cas {
        let anchor = ca.anchor().unwrap_or(ca.der()).clone();
        roots.add(anchor)?;
    }
    let mut builder =
        WebPkiClientVerifier::builder_with_provider(Arc::new(roots), provider.clone());
    if !spec.required {
        builder = builder.allow_unauthenticated();
    }
    let verifier = builder
        .build()
        .map_err(|e| rustls::Error::General(e.to_string()))?;
    let versions: &[&'static rustls::SupportedProtocolVersion] = if spec.tls12_only {
        &[&rustls::version::TLS12]
    } else {
        &[&rustls::version::TLS13, &rustls::version::TLS12]
    };
    let mut config = ServerConfig::builder_with_provider(provider)
        .with_protocol_versions(versions)?
        .with_client_cert_verifier(Arc::new(Recording { inner: verifier }))
        .with_single_cert(leaf.presented_chain(mode), leaf.key_der())?;
    config.alpn_protocols = alpn.iter().map(|p| p.to_vec()).collect();
    Ok(Arc::new(config))
}
