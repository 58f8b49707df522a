//! Client authentication on a hop: the resolver rustls asks for a client certificate, which
//! records the server's CertificateRequest (the CAs it accepts) in the handshake's slot and
//! offers the configured [`ClientIdentity`], if any; and the classification of the server's
//! alert into "a certificate was required and none is configured" or "the one presented was
//! rejected", with the evidence and a hint naming the key to set.
//!
//! Under TLS 1.2 the server's alert ends the handshake. Under TLS 1.3 the client finishes its
//! side first and the alert arrives with the first read, so the connector also hands read
//! errors of an established connection to [`failure`] (see `connect::stream`).

use std::sync::Arc;

use rustls::AlertDescription;
use rustls::SignatureScheme;
use rustls::client::ResolvesClientCert;
use rustls::sign::CertifiedKey;
use x509_parser::prelude::FromDer;
use x509_parser::x509::X509Name;

use super::diagnose::FailedHop;
use super::identity::ClientIdentity;
use super::verifier::record_cert_request;
use crate::error::{
    CertSummary, ClientCertEvidence, Diagnosis, Error, ErrorKind, Hop, Phase, TlsEvidence,
};

/// Offers the hop's certificate (if one is configured) and records that the server asked.
#[derive(Debug)]
pub(crate) struct Resolver {
    pub(crate) identity: Option<ClientIdentity>,
}

impl ResolvesClientCert for Resolver {
    fn resolve(
        &self,
        root_hint_subjects: &[&[u8]],
        _sigschemes: &[SignatureScheme],
    ) -> Option<Arc<CertifiedKey>> {
        record_cert_request(root_hint_subjects);
        self.identity.as_ref().map(ClientIdentity::certified)
    }

    fn has_certs(&self) -> bool {
        self.identity.is_some()
    }
}

/// The most CA names of a CertificateRequest listed: a server can name thousands in one 64 KiB
/// message, and the list goes into the evidence, the message and the hint. The rest are counted.
pub(crate) const MAX_ACCEPTABLE_CAS: usize = 32;

/// What a handshake learnt about client authentication: `None` when the server did not ask and
/// no certificate is configured.
pub(crate) fn evidence(
    identity: Option<&ClientIdentity>,
    key: &str,
    request: Option<&[Vec<u8>]>,
) -> Option<ClientCertEvidence> {
    if request.is_none() && identity.is_none() {
        return None;
    }
    let hints = request.unwrap_or_default();
    let presented = request.and(identity).map(|id| id.leaf().clone());
    let issuer_accepted = presented
        .as_ref()
        .filter(|_| !hints.is_empty())
        .map(|leaf| hints.contains(&leaf.issuer_der));
    Some(ClientCertEvidence {
        requested: request.is_some(),
        acceptable_cas: hints
            .iter()
            .take(MAX_ACCEPTABLE_CAS)
            .map(|h| dn(h))
            .collect(),
        acceptable_cas_omitted: hints.len().saturating_sub(MAX_ACCEPTABLE_CAS),
        presented,
        issuer_accepted,
        alert: None,
        key: key.to_owned(),
    })
}

/// A DER distinguished name as text (`CN=..., O=...`), or its hex when it does not parse; cut
/// to [`MAX_NAME_CHARS`](super::chain::MAX_NAME_CHARS) characters either way (a server can name
/// one CA with most of a 64 KiB message).
fn dn(der: &[u8]) -> String {
    use super::chain::{MAX_NAME_CHARS, capped};
    match X509Name::from_der(der) {
        Ok((_, name)) => capped(name.to_string()),
        // Two hex digits a byte: no more bytes than the cap can show are turned into text.
        Err(_) => capped(super::chain::hex(
            &der[..der.len().min(MAX_NAME_CHARS / 2 + 1)],
        )),
    }
}

/// The alert the peer sent, if `err` (or anything in its source chain, `io::Error` payloads
/// included) is rustls's "received fatal alert".
pub(crate) fn received_alert(err: &(dyn std::error::Error + 'static)) -> Option<AlertDescription> {
    let mut cur = Some(err);
    while let Some(e) = cur {
        if let Some(rustls::Error::AlertReceived(a)) = e.downcast_ref::<rustls::Error>() {
            return Some(*a);
        }
        if let Some(io) = e.downcast_ref::<std::io::Error>()
            && let Some(rustls::Error::AlertReceived(a)) =
                io.get_ref().and_then(|i| i.downcast_ref::<rustls::Error>())
        {
            return Some(*a);
        }
        cur = e.source();
    }
    None
}

/// Whether `alert`, after the server asked for a certificate, means it refused our client
/// authentication (none sent, or the one sent).
fn is_client_auth_alert(alert: AlertDescription, presented: bool) -> bool {
    use AlertDescription as A;
    match alert {
        A::CertificateRequired
        | A::HandshakeFailure
        | A::BadCertificate
        | A::UnsupportedCertificate
        | A::CertificateRevoked
        | A::CertificateExpired
        | A::CertificateUnknown
        | A::UnknownCA
        | A::AccessDenied => true,
        // The server could not verify our CertificateVerify signature.
        A::DecryptError => presented,
        _ => false,
    }
}

/// `certificate_required` for `CertificateRequired`: the alert's name as in RFC 8446.
pub(crate) fn alert_name(alert: AlertDescription) -> String {
    let camel = format!("{alert:?}");
    let mut out = String::with_capacity(camel.len() + 4);
    let mut prev_upper = None;
    for c in camel.chars() {
        if c.is_ascii_uppercase() {
            // A new word starts at an uppercase letter that follows a lowercase one.
            if prev_upper == Some(false) {
                out.push('_');
            }
            out.push(c.to_ascii_lowercase());
        } else {
            out.push(c);
        }
        prev_upper = Some(c.is_ascii_uppercase());
    }
    out
}

/// The error for a client-authentication failure on `tls`'s hop, when `alert` after the
/// server's CertificateRequest means one; `None` otherwise (diagnosis handles it).
pub(crate) fn failure(
    tls: &dyn FailedHop,
    sni: &str,
    chain: Vec<CertSummary>,
    client: Option<ClientCertEvidence>,
    alert: AlertDescription,
    rustls_error: String,
) -> Option<Error> {
    let mut client = client.filter(|c| c.requested)?;
    let presented = client.presented.is_some();
    if !is_client_auth_alert(alert, presented) {
        return None;
    }
    client.alert = Some(alert_name(alert));
    let settings = tls.settings();
    let hop = settings.hop;
    let diagnosis = if presented {
        Diagnosis::ClientCertRejected
    } else {
        Diagnosis::ClientCertRequired
    };
    let cas = match (
        client.acceptable_cas.is_empty(),
        client.acceptable_cas_omitted,
    ) {
        (true, _) => "the server named no CA".to_owned(),
        (false, 0) => client.acceptable_cas.join("; "),
        (false, n) => format!("{} and {n} more", client.acceptable_cas.join("; ")),
    };
    let key = &settings.client_cert_key;
    let key_key = &settings.client_key_key;
    let (message, hint) = match &client.presented {
        None => (
            "the server requires a client certificate and none is configured".to_owned(),
            format!(
                "set {key} and {key_key} to a certificate (and its key) issued by a CA the server accepts ({cas})"
            ),
        ),
        Some(leaf) => {
            let why = if !leaf.is_valid_at(super::chain::unix_now()) {
                format!(
                    "`{}` is outside its validity window (valid {} .. {}): renew it and set {key}",
                    leaf.subject, leaf.not_before, leaf.not_after
                )
            } else if client.issuer_accepted == Some(false) {
                format!(
                    "`{}` was issued by `{}`, which is not among the CAs the server accepts ({cas}): set {key} and {key_key} to a certificate from one of them",
                    leaf.subject, leaf.issuer
                )
            } else {
                format!(
                    "the server refused `{}` (issued by `{}`): ask its operator whether this certificate or its CA is allowed, or set {key} and {key_key} to one that is",
                    leaf.subject, leaf.issuer
                )
            };
            (
                format!(
                    "the server rejected the client certificate `{}` ({})",
                    leaf.subject,
                    client.alert.as_deref().unwrap_or("alert")
                ),
                why,
            )
        }
    };
    let (kind, phase) = match (hop, presented) {
        (Hop::Proxy, _) => (ErrorKind::ProxyTls, Phase::Proxy),
        (Hop::Origin, false) => (ErrorKind::TlsClientCertRequired, Phase::Tls),
        (Hop::Origin, true) => (ErrorKind::TlsClientCertRejected, Phase::Tls),
    };
    let hop_words = match hop {
        Hop::Proxy => "TLS to the proxy",
        Hop::Origin => "TLS to the origin",
    };
    let ev = TlsEvidence {
        hop,
        sni: sni.to_owned(),
        chain,
        // The caller that still has the presented chain sets the count of undescribed ones.
        chain_omitted: 0,
        verified_at: None,
        trust_store: tls.trust_store().clone(),
        rustls_error: Some(rustls_error),
        diagnosis,
        untrusted_issuer: None,
        stale_ca_file: None,
        wrong_ca_file: None,
        validity: None,
        also_name_mismatch: None,
        fix: None,
        client_cert: Some(client),
    };
    Some(
        Error::new(kind)
            .with_hop(hop)
            .with_phase(phase)
            .with_message(format!("{hop_words} {sni}: {message}"))
            .with_hint(hint)
            .map_evidence(|e| e.tls = Some(Box::new(ev))),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn alert_names_follow_the_rfc() {
        assert_eq!(
            alert_name(AlertDescription::CertificateRequired),
            "certificate_required"
        );
        assert_eq!(alert_name(AlertDescription::UnknownCA), "unknown_ca");
        assert_eq!(
            alert_name(AlertDescription::BadCertificate),
            "bad_certificate"
        );
    }

    #[test]
    fn alerts_are_found_inside_io_errors() {
        let io = std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            rustls::Error::AlertReceived(AlertDescription::CertificateRequired),
        );
        assert_eq!(
            received_alert(&io),
            Some(AlertDescription::CertificateRequired)
        );
        let other = std::io::Error::other("x");
        assert_eq!(received_alert(&other), None);
        assert!(is_client_auth_alert(AlertDescription::DecryptError, true));
        assert!(!is_client_auth_alert(AlertDescription::DecryptError, false));
        assert!(!is_client_auth_alert(
            AlertDescription::ProtocolVersion,
            true
        ));
    }
}
