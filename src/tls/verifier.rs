//! The recording verifier: wraps rustls's `WebPkiServerVerifier`, keeps the presented chain and
//! the verification time in a per-connection slot, runs the name check that a chain failure
//! hides, and returns the inner result unchanged (so the TLS alert sent to the server stays
//! right). In `danger_accept_invalid_certs` mode it records what would have failed and accepts;
//! with `danger_accept_invalid_hostnames` it does so only when the chain verified and the name
//! did not.
//!
//! One verifier is shared by every connection of a hop, and the slot is a tokio task-local set
//! around each handshake ([`recording`]). rustls only resumes a TLS session with the *same*
//! verifier `Arc` (`persist.rs`, `compatible_config`), so a fresh verifier per connection (the
//! reference sketch) would silently turn resumption off; the task-local keeps both resumption
//! and a private slot per connection (rustls calls the verifier synchronously inside the
//! handshake future's `poll`, so the slot is always in scope there).

use std::future::Future;
use std::sync::{Arc, Mutex};

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::client::{WebPkiServerVerifier, verify_server_name};
use rustls::crypto::WebPkiSupportedAlgorithms;
use rustls::server::ParsedCertificate;
use rustls::{DigitallySignedStruct, DistinguishedName, SignatureScheme};
use rustls_pki_types::{CertificateDer, ServerName, UnixTime};

/// What one handshake presented. One slot per connection attempt, so concurrent connections to
/// the same host never mix their chains.
#[derive(Debug, Default)]
pub(crate) struct Seen {
    /// Leaf first, as sent.
    pub(crate) chain: Vec<CertificateDer<'static>>,
    /// The verification time.
    pub(crate) now: Option<UnixTime>,
    /// The verifier's own verdict when it failed (also in danger mode, where it was overridden).
    pub(crate) error: Option<rustls::Error>,
    /// The name check that a chain failure hid.
    pub(crate) also_name_error: Option<rustls::Error>,
    /// The server's CertificateRequest, when it sent one: the DER subjects of the CAs it accepts.
    pub(crate) cert_request: Option<Vec<Vec<u8>>>,
}

/// A shared slot for one connection attempt.
pub(crate) type Slot = Arc<Mutex<Seen>>;

tokio::task_local! {
    static SLOT: Slot;
}

/// Runs a handshake future with `slot` as the place the verifier records into.
pub(crate) async fn recording<F: Future>(slot: Slot, handshake: F) -> F::Output {
    SLOT.scope(slot, handshake).await
}

/// Records that the server asked for a client certificate (called by the client-certificate
/// resolver inside the handshake, like the verifier).
pub(crate) fn record_cert_request(hints: &[&[u8]]) {
    let _ = SLOT.try_with(|slot| {
        let mut s = slot.lock().unwrap_or_else(|p| p.into_inner());
        s.cert_request = Some(hints.iter().map(|h| h.to_vec()).collect());
    });
}

/// Takes the slot's content, tolerating a poisoned lock (the data is plain values).
pub(crate) fn take(slot: &Slot) -> Seen {
    let mut g = slot.lock().unwrap_or_else(|p| p.into_inner());
    std::mem::take(&mut *g)
}

/// The recording verifier.
#[derive(Debug)]
pub(crate) struct Recording {
    /// `None` when there are no anchors at all (only possible in danger mode).
    pub(crate) inner: Option<Arc<WebPkiServerVerifier>>,
    pub(crate) algs: WebPkiSupportedAlgorithms,
    pub(crate) accept_invalid: bool,
    /// Accept a chain that verifies but does not name the host.
    pub(crate) accept_invalid_hostnames: bool,
}

impl ServerCertVerifier for Recording {
    fn verify_server_cert(
        &self,
        ee: &CertificateDer<'_>,
        im: &[CertificateDer<'_>],
        name: &ServerName<'_>,
        ocsp: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        let res = match &self.inner {
            Some(inner) => inner.verify_server_cert(ee, im, name, ocsp, now),
            None => Err(rustls::Error::InvalidCertificate(
                rustls::CertificateError::UnknownIssuer,
            )),
        };
        // Outside a `recording` scope (e.g. someone else's handshake on the shared config) there
        // is nowhere to record; verification is unaffected.
        let _ = SLOT.try_with(|slot| {
            let mut s = slot.lock().unwrap_or_else(|p| p.into_inner());
            s.chain = std::iter::once(ee)
                .chain(im)
                .map(|c| c.clone().into_owned())
                .collect();
            s.now = Some(now);
            if let Err(e) = &res {
                s.error = Some(e.clone());
                s.also_name_error = ParsedCertificate::try_from(ee)
                    .ok()
                    .and_then(|p| verify_server_name(&p, name).err());
            }
        });
        if self.accept_invalid || (self.accept_invalid_hostnames && is_name_only(&res)) {
            return Ok(ServerCertVerified::assertion());
        }
        res
    }

    fn verify_tls12_signature(
        &self,
        m: &[u8],
        c: &CertificateDer<'_>,
        d: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(m, c, d, &self.algs)
    }

    fn verify_tls13_signature(
        &self,
        m: &[u8],
        c: &CertificateDer<'_>,
        d: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(m, c, d, &self.algs)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.algs.supported_schemes()
    }

    fn root_hint_subjects(&self) -> Option<&[DistinguishedName]> {
        self.inner.as_ref().and_then(|i| i.root_hint_subjects())
    }
}

/// Whether verification failed on the name alone. rustls checks the chain before the name, so a
/// name error means the chain itself verified.
fn is_name_only(res: &Result<ServerCertVerified, rustls::Error>) -> bool {
    matches!(
        res,
        Err(rustls::Error::InvalidCertificate(
            rustls::CertificateError::NotValidForName
                | rustls::CertificateError::NotValidForNameContext { .. }
        ))
    )
}
