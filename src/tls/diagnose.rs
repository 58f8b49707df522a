//! Diagnosis: turns a failed handshake (rustls's verdict, the recorded chain, the trust store and
//! every CA file mentioned anywhere) into a fully-evidenced [`Error`] whose hint names the fix.
//!
//! The heuristics: which certificate is outside its
//! window and by how much; self-signed vs missing intermediate vs private CA vs interception vs
//! rotated CA for an unknown issuer; the name check rustls hides; and a plain-HTTP proxy behind an
//! `https://` URL. Cross-reference re-runs path building against each candidate file, so a fix is
//! only suggested when it would actually make the chain verify.

use std::net::IpAddr;
use std::time::Duration;

use rustls::client::verify_server_cert_signed_by_trust_anchor;
use rustls::crypto::WebPkiSupportedAlgorithms;
use rustls::server::ParsedCertificate;
use rustls::{CertificateError, RootCertStore};
use rustls_pki_types::{CertificateDer, UnixTime};

use super::chain::{
    ChainComparison, compare_chains, name_value, omitted, rfc3339, summarize, unix_now,
};
use super::settings::TlsSettings;
use super::verifier::Seen;
use crate::error::{
    CertSummary, Diagnosis, Error, ErrorKind, Fix, Hop, NameMismatch, Phase, TlsEvidence,
    TrustStore, ValidityIssue, WrongCaFile,
};
use crate::settings::Roots;

/// The hop whose handshake failed, as diagnosis sees it: its settings, the trust it verified
/// against and the system store for cross-reference. `HopTls` implements it; diagnosis depends
/// on this view rather than on the handshake code that calls it.
pub(crate) trait FailedHop {
    /// The settings the hop was built from.
    fn settings(&self) -> &TlsSettings;
    /// The trust store, described.
    fn trust_store(&self) -> &TrustStore;
    /// The trust anchors the chain was verified against.
    fn store(&self) -> &RootCertStore;
    /// The signature algorithms verification uses.
    fn algs(&self) -> &WebPkiSupportedAlgorithms;
    /// The system store, for cross-reference (loaded only when asked).
    fn system_roots(&self) -> &[CertificateDer<'static>];
}

/// How a handshake failed, before diagnosis.
#[derive(Debug)]
pub(crate) enum Failure {
    /// The handshake returned an error (tokio-rustls wraps rustls errors in `io::Error`).
    Io(std::io::Error),
    /// The handshake did not finish in time.
    Timeout(Duration),
}

/// Diagnoses a failed handshake of `tls` with `sni`.
pub(crate) fn diagnose(tls: &dyn FailedHop, sni: &str, seen: Seen, failure: Failure) -> Error {
    let now = seen
        .now
        .map_or_else(unix_now, |t| i64::try_from(t.as_secs()).unwrap_or(i64::MAX));
    let chain = summarize(&seen.chain, now);
    let chain_omitted = omitted(&seen.chain);
    let settings = tls.settings();
    let hop = settings.hop;

    let (rustls_err, io_err, timeout) = match failure {
        Failure::Io(e) => {
            let inner = e
                .get_ref()
                .and_then(|r| r.downcast_ref::<rustls::Error>())
                .cloned();
            (inner.or(seen.error.clone()), Some(e), None)
        }
        Failure::Timeout(d) => (seen.error.clone(), None, Some(d)),
    };

    let mut ev = TlsEvidence {
        hop,
        sni: sni.to_owned(),
        chain,
        chain_omitted,
        verified_at: seen.now.map(|_| rfc3339(now)),
        trust_store: tls.trust_store().clone(),
        rustls_error: rustls_err
            .as_ref()
            .map(ToString::to_string)
            .or_else(|| io_err.as_ref().map(ToString::to_string)),
        diagnosis: Diagnosis::Other,
        untrusted_issuer: None,
        stale_ca_file: None,
        wrong_ca_file: None,
        validity: None,
        also_name_mismatch: None,
        fix: None,
        client_cert: None,
    };
    if seen.also_name_error.is_some() {
        ev.also_name_mismatch = Some(name_mismatch(&ev));
    }

    let origin_kind = if timeout.is_some() {
        ev.diagnosis = Diagnosis::Stalled;
        ErrorKind::TlsTimeout
    } else {
        match &rustls_err {
            Some(rustls::Error::InvalidCertificate(ce)) => match ce {
                CertificateError::Expired | CertificateError::ExpiredContext { .. } => {
                    ev.diagnosis = Diagnosis::Expired;
                    ev.validity = out_of_window(&ev.chain, now, true);
                    ErrorKind::TlsExpired
                }
                CertificateError::NotValidYet | CertificateError::NotValidYetContext { .. } => {
                    ev.diagnosis = Diagnosis::NotYetValid;
                    ev.validity = out_of_window(&ev.chain, now, false);
                    ErrorKind::TlsNotYetValid
                }
                CertificateError::NotValidForName
                | CertificateError::NotValidForNameContext { .. } => {
                    ev.diagnosis = Diagnosis::HostnameMismatch;
                    ev.also_name_mismatch = None;
                    ErrorKind::TlsHostnameMismatch
                }
                CertificateError::UnknownIssuer | CertificateError::BadSignature => {
                    diagnose_issuer(tls, &seen.chain, now, &mut ev);
                    ErrorKind::TlsUnknownIssuer
                }
                _ => ErrorKind::TlsHandshake,
            },
            Some(rustls::Error::InvalidMessage(rustls::InvalidMessage::InvalidContentType)) => {
                ev.diagnosis = match hop {
                    Hop::Proxy => Diagnosis::PlainHttpProxy,
                    Hop::Origin => Diagnosis::NotTls,
                };
                ErrorKind::TlsHandshake
            }
            Some(_) => ErrorKind::TlsHandshake,
            None => {
                if io_err.as_ref().is_some_and(|e| is_cut(e.kind())) {
                    ev.diagnosis = Diagnosis::ConnectionCut;
                }
                ErrorKind::TlsHandshake
            }
        }
    };

    let hint = hint(tls, &ev);
    let message = message(&ev, origin_kind);
    let (kind, phase) = match (hop, timeout.is_some()) {
        (Hop::Origin, _) => (origin_kind, Phase::Tls),
        (Hop::Proxy, false) => (ErrorKind::ProxyTls, Phase::Proxy),
        (Hop::Proxy, true) => (ErrorKind::ProxyTimeout, Phase::Proxy),
    };
    let mut err = Error::new(kind)
        .with_hop(hop)
        .with_phase(phase)
        .with_message(message)
        .with_hint(hint);
    // The rustls error itself when there is one: `io::Error::source` skips the error it wraps,
    // so a caller could never downcast to `rustls::Error` through the I/O error.
    match (rustls_err, io_err) {
        (Some(r), _) => err = err.with_source(r),
        (None, Some(e)) => err = err.with_source(e),
        (None, None) => {}
    }
    err.map_evidence(|e| {
        e.timeout = timeout;
        e.target = Some(sni.to_owned());
        e.tls = Some(Box::new(ev));
    })
}

/// Marks an error as interception when its recorded chain differs from the chain `direct` seen
/// for the same host on the direct path (a different leaf key and issuer). Returns the error
/// unchanged otherwise.
pub fn diagnose_against_direct(err: Error, direct: &[CertSummary]) -> Error {
    let Some(tls) = err.evidence().tls.as_deref() else {
        return err;
    };
    if compare_chains(&tls.chain, direct) != ChainComparison::Differs {
        return err;
    }
    let issuer = tls.chain.last().map(|c| c.issuer.clone());
    let hint = format!(
        "the chain presented on this path differs from the one seen directly (issuer `{}` instead of `{}`): \
         something between you and the server re-signs TLS (interception); trust its CA with the hop's \
         CA file key only if that is intended",
        issuer.as_deref().unwrap_or("?"),
        direct.last().map_or("?", |c| c.issuer.as_str())
    );
    err.with_hint(hint).map_evidence(|e| {
        if let Some(t) = e.tls.as_deref_mut() {
            t.diagnosis = Diagnosis::Interception;
            t.untrusted_issuer = issuer;
        }
    })
}

fn is_cut(kind: std::io::ErrorKind) -> bool {
    use std::io::ErrorKind as K;
    matches!(
        kind,
        K::UnexpectedEof | K::ConnectionReset | K::ConnectionAborted | K::BrokenPipe
    )
}

fn name_mismatch(ev: &TlsEvidence) -> NameMismatch {
    NameMismatch {
        expected: ev.sni.clone(),
        presented: ev.chain.first().map(|c| c.sans.clone()).unwrap_or_default(),
    }
}

/// The first certificate (leaf first) outside its window in the given direction.
fn out_of_window(chain: &[CertSummary], now: i64, expired: bool) -> Option<ValidityIssue> {
    chain.iter().find_map(|c| {
        let seconds = if expired {
            now - c.not_after_unix
        } else {
            c.not_before_unix - now
        };
        (seconds > 0).then(|| ValidityIssue {
            index: c.index,
            self_issued: c.self_issued,
            subject: c.subject.clone(),
            seconds,
            at: if expired {
                c.not_after.clone()
            } else {
                c.not_before.clone()
            },
            clock_hint: seconds < 86_400,
        })
    })
}

/// Tells apart the causes of an unknown issuer and cross-references the CA files.
fn diagnose_issuer(
    tls: &dyn FailedHop,
    der: &[CertificateDer<'static>],
    now: i64,
    ev: &mut TlsEvidence,
) {
    let (Some(leaf), Some(top)) = (ev.chain.first(), ev.chain.last()) else {
        return;
    };
    ev.untrusted_issuer = Some(top.issuer.clone());
    ev.fix = cross_reference(tls, der, now);

    let issuer_name = name_value(&top.issuer_der);
    let top_key = name_value(&top.spki_der);
    let wrong = wrong_ca_file(tls.settings(), top, issuer_name);
    let rotated = tls.store().roots.iter().any(|a| {
        a.subject.as_ref() == issuer_name
            && (!top.self_issued || a.subject_public_key_info.as_ref() != top_key)
    });
    ev.diagnosis = if rotated {
        ev.stale_ca_file = tls
            .settings()
            .ca_files
            .iter()
            .find(|b| {
                b.summaries()
                    .iter()
                    .any(|s| s.subject_der == top.issuer_der)
            })
            .map(|b| b.path().display().to_string());
        Diagnosis::RotatedCa
    } else if ev.chain.len() == 1 && leaf.self_issued {
        Diagnosis::SelfSigned
    } else if ev.chain.len() == 1 && !top.self_issued {
        // Leaf only: a public CA's intermediate left out, or a private CA. Only when the issuer
        // turns up in a CA file or the system store do we know it is a private CA, and a
        // private CA for a public host is an interception CA. Without the intermediate nothing
        // links the leaf to the CA file's root, so the file cannot be called wrong.
        match (ev.fix.is_some(), is_public_host(&ev.sni)) {
            (true, true) => Diagnosis::Interception,
            (true, false) => Diagnosis::UntrustedPrivateCa,
            (false, _) => Diagnosis::MissingIntermediate,
        }
    } else if in_webpki(issuer_name) {
        // A public root signed the top certificate, yet the path failed: something in between
        // is missing or wrong.
        Diagnosis::MissingIntermediate
    } else if is_public_host(&ev.sni) {
        Diagnosis::Interception
    } else if wrong.is_some() {
        Diagnosis::WrongCaFile
    } else {
        Diagnosis::UntrustedPrivateCa
    };
    if ev.diagnosis != Diagnosis::MissingIntermediate {
        ev.wrong_ca_file = wrong;
    }
}

/// The hop's own CA file, when it holds CAs but not the one the chain ends at — and that CA is
/// not a public root either (a public chain missing an intermediate is not the file's fault).
fn wrong_ca_file(s: &TlsSettings, top: &CertSummary, issuer_name: &[u8]) -> Option<WrongCaFile> {
    let file = s.ca_files.first()?;
    if in_webpki(issuer_name) {
        return None;
    }
    let holds_issuer = s.ca_files.iter().any(|b| {
        b.summaries()
            .iter()
            .any(|c| c.subject_der == top.issuer_der || c.subject_der == top.subject_der)
    });
    if holds_issuer {
        return None;
    }
    let holds = s
        .ca_files
        .iter()
        .flat_map(|b| b.summaries().iter().map(|c| c.subject.clone()))
        .collect();
    Some(WrongCaFile {
        file: file.path().display().to_string(),
        key: s.ca_key.clone(),
        holds,
        chain_ends_at: if top.self_issued {
            top.subject.clone()
        } else {
            top.issuer.clone()
        },
    })
}

fn in_webpki(name: &[u8]) -> bool {
    webpki_roots::TLS_SERVER_ROOTS
        .iter()
        .any(|a| a.subject.as_ref() == name)
}

/// Whether a chain verifies (path building only, no name) against `certs`.
fn verifies_with(
    tls: &dyn FailedHop,
    der: &[CertificateDer<'static>],
    now: i64,
    certs: &[CertificateDer<'static>],
) -> bool {
    let Some((leaf, rest)) = der.split_first() else {
        return false;
    };
    let Ok(parsed) = ParsedCertificate::try_from(leaf) else {
        return false;
    };
    let mut store = RootCertStore::empty();
    store.add_parsable_certificates(certs.iter().cloned());
    if store.is_empty() {
        return false;
    }
    let now = UnixTime::since_unix_epoch(Duration::from_secs(u64::try_from(now).unwrap_or(0)));
    verify_server_cert_signed_by_trust_anchor(&parsed, &store, rest, now, tls.algs().all).is_ok()
}

/// Finds the setting that would make the chain verify: a CA file mentioned elsewhere (config
/// keys first, then environment variables), then the system store when it is not in use.
fn cross_reference(tls: &dyn FailedHop, der: &[CertificateDer<'static>], now: i64) -> Option<Fix> {
    let s = tls.settings();
    let own: Vec<_> = s.ca_files.iter().map(|b| b.path()).collect();
    for known in &s.known_ca_files {
        if own.contains(&known.bundle.path()) {
            continue;
        }
        if verifies_with(tls, der, now, known.bundle.certs()) {
            return Some(Fix {
                key: s.ca_key.clone(),
                file: Some(known.bundle.path().display().to_string()),
                value: None,
                found_in: known.key.clone(),
            });
        }
    }
    if s.roots != Roots::System && verifies_with(tls, der, now, tls.system_roots()) {
        return Some(Fix {
            key: s.roots_key.clone(),
            file: None,
            value: Some("system".to_owned()),
            found_in: "system store".to_owned(),
        });
    }
    None
}

/// Public-looking: not an IP, not single-label, not a reserved or internal-use suffix.
pub(crate) fn is_public_host(host: &str) -> bool {
    let h = host.trim_end_matches('.').to_ascii_lowercase();
    if h.trim_matches(['[', ']']).parse::<IpAddr>().is_ok() || !h.contains('.') {
        return false;
    }
    const PRIVATE: &[&str] = &[
        ".test",
        ".local",
        ".localhost",
        ".internal",
        ".invalid",
        ".example",
        ".lan",
        ".home",
        ".home.arpa",
        ".corp",
        ".intranet",
        ".private",
        ".localdomain",
        ".svc",
        ".cluster.local",
    ];
    !PRIVATE.iter().any(|s| h.ends_with(s))
}

fn message(ev: &TlsEvidence, kind: ErrorKind) -> String {
    let hop = match ev.hop {
        Hop::Proxy => "TLS to the proxy",
        Hop::Origin => "TLS to the origin",
    };
    let issuer = ev.untrusted_issuer.as_deref().unwrap_or("an unknown CA");
    let what = match ev.diagnosis {
        Diagnosis::SelfSigned => format!(
            "the server presented a self-signed certificate ({}) that is not trusted",
            ev.chain.first().map_or("?", |c| c.subject.as_str())
        ),
        // Incomplete chain: the server's fault, told apart from an untrusted root below.
        Diagnosis::MissingIntermediate => format!(
            "incomplete certificate chain: the server sent no intermediate certificate for its issuer `{issuer}`"
        ),
        Diagnosis::UntrustedPrivateCa => {
            format!("untrusted root: the chain ends at `{issuer}`, which is not in the trust store")
        }
        Diagnosis::WrongCaFile => match &ev.wrong_ca_file {
            Some(w) => format!(
                "{} {} holds {}; the server's chain ends at {}",
                w.key,
                w.file,
                w.holds.join(" + "),
                w.chain_ends_at
            ),
            None => "the configured CA file holds a different CA".to_owned(),
        },
        Diagnosis::Interception => format!(
            "TLS interception: the certificate was issued by the private CA `{issuer}` for a public host"
        ),
        Diagnosis::RotatedCa => format!(
            "rotated CA: the trusted CA named `{issuer}` has a different key than the one that signed the chain"
        ),
        Diagnosis::Expired => match &ev.validity {
            Some(v) => format!("{} ({}) {}", v.position(), v.subject, v.describe(true)),
            None => "a certificate in the chain has expired".to_owned(),
        },
        Diagnosis::NotYetValid => match &ev.validity {
            Some(v) => format!("{} ({}) is {}", v.position(), v.subject, v.describe(false)),
            None => "a certificate in the chain is not yet valid".to_owned(),
        },
        Diagnosis::HostnameMismatch => format!("the certificate is not valid for {}", ev.sni),
        Diagnosis::PlainHttpProxy => "the proxy answered in plain HTTP, not TLS".to_owned(),
        Diagnosis::NotTls => "the server answered in plain text, not TLS".to_owned(),
        Diagnosis::ConnectionCut => match ev.rustls_error.as_deref() {
            Some(e) if e.to_ascii_lowercase().contains("reset") => {
                "the connection was reset during the TLS handshake".to_owned()
            }
            _ => "the connection was closed during the TLS handshake".to_owned(),
        },
        Diagnosis::Stalled => "the TLS handshake did not finish in time".to_owned(),
        Diagnosis::ClientCertRequired => {
            "the server requires a client certificate and none is configured".to_owned()
        }
        Diagnosis::ClientCertRejected => {
            "the server rejected the client certificate presented".to_owned()
        }
        Diagnosis::Other => match &ev.rustls_error {
            Some(e) => format!("handshake failed: {e}"),
            None => kind.code().to_owned(),
        },
    };
    format!("{hop} {}: {what}", ev.sni)
}

fn hint(tls: &dyn FailedHop, ev: &TlsEvidence) -> String {
    let s = tls.settings();
    let issuer = ev.untrusted_issuer.as_deref().unwrap_or("?");
    let store = ev.trust_store.describe();
    let mut h = match ev.diagnosis {
        Diagnosis::SelfSigned => format!(
            "the server uses a self-signed certificate; if it is expected, add that certificate with {}",
            s.ca_key
        ),
        Diagnosis::MissingIntermediate => format!(
            "the server sent only its own certificate, issued by `{issuer}`, which is not in the trust store \
             ({store}): the server omits its intermediate certificate(s) — its operators must serve the full \
             chain; only if `{issuer}` is a private CA of yours, add its certificate with {}",
            s.ca_key
        ),
        Diagnosis::UntrustedPrivateCa => format!(
            "the chain ends at the private CA `{issuer}`, which is not in the trust store ({store}); add its \
             certificate with {}",
            s.ca_key
        ),
        Diagnosis::WrongCaFile => match &ev.wrong_ca_file {
            Some(w) => format!(
                "{} = \"{}\" holds {} but the server's chain ends at {}: put the certificate of {} in {} \
                 (or point {} at a file that holds it)",
                w.key,
                w.file,
                w.holds.join(" + "),
                w.chain_ends_at,
                w.chain_ends_at,
                w.file,
                w.key
            ),
            None => format!("the file named by {} holds a different CA", s.ca_key),
        },
        Diagnosis::Interception => format!(
            "{} is a public host but its certificate comes from the private CA `{issuer}`: TLS interception \
             (corporate proxy, antivirus, mitmproxy?); if that is intended, add the interception CA with {} \
             or use {} = \"system\"",
            ev.sni, s.ca_key, s.roots_key
        ),
        Diagnosis::RotatedCa => format!(
            "the trust store has a CA named `{issuer}` but with a different key (re-keyed or rotated CA){}; \
             replace it with the CA's current certificate",
            ev.stale_ca_file
                .as_deref()
                .map(|f| format!(" in {f}"))
                .unwrap_or_default()
        ),
        Diagnosis::Expired | Diagnosis::NotYetValid => match &ev.validity {
            Some(v) if v.clock_hint => format!(
                "{} (`{}`) is outside its validity window by only {}: check this machine's clock",
                v.position(),
                v.subject,
                crate::error::human_duration(v.seconds)
            ),
            Some(v) if ev.diagnosis == Diagnosis::Expired => format!(
                "{} (`{}`) {}: the server's operators must renew it{}",
                v.position(),
                v.subject,
                v.describe(true),
                if v.index > 0 { " or send a current intermediate" } else { "" }
            ),
            Some(v) => format!(
                "{} (`{}`) is {}: check the server's certificate and this machine's clock",
                v.position(),
                v.subject,
                v.describe(false)
            ),
            None => "a certificate is outside its validity window: check the clock".to_owned(),
        },
        Diagnosis::HostnameMismatch => format!(
            "the certificate names {} but not {}: use a host name the certificate covers, or fix the server's \
             certificate",
            ev.chain.first().map(|c| c.sans.join(", ")).unwrap_or_default(),
            ev.sni
        ),
        Diagnosis::PlainHttpProxy => {
            "the proxy does not speak TLS: configure it as http:// instead of https://".to_owned()
        }
        Diagnosis::NotTls => {
            "the server does not speak TLS on this port: is the URL http:// or the port wrong?".to_owned()
        }
        Diagnosis::ConnectionCut => "the peer closed the connection during the handshake: a firewall or DPI \
             device cutting TLS, a wrong port, or a server that rejects the SNI"
            .to_owned(),
        Diagnosis::Stalled => "the server accepted the connection but did not complete the handshake: a \
             wrong port or a middlebox holding the connection; raise timeouts.tls only if the server is slow"
            .to_owned(),
        Diagnosis::ClientCertRequired | Diagnosis::ClientCertRejected => format!(
            "see the client certificate evidence; the key is {}",
            s.client_cert_key
        ),
        Diagnosis::Other => "see the rustls error in the evidence".to_owned(),
    };
    if let Some(f) = &ev.fix {
        let fix = match (&f.file, &f.value) {
            (Some(file), _) => Some(format!(
                "set {} = \"{file}\": the issuer `{issuer}` is in that file, which {} names, but not in \
                 this hop's trust store",
                f.key, f.found_in
            )),
            (None, Some(v)) => Some(format!(
                "set {} = \"{v}\": the issuer `{issuer}` is in the system store, but roots = \"{}\"",
                f.key,
                s.roots.as_str()
            )),
            (None, None) => None,
        };
        if let Some(fix) = fix {
            // The generic advice ("add its certificate with ...") is what the fix spells out; keep
            // only what adds to it.
            h = match ev.diagnosis {
                Diagnosis::Interception | Diagnosis::RotatedCa | Diagnosis::WrongCaFile => {
                    format!("{fix}. {h}")
                }
                _ => fix,
            };
        }
    }
    if let Some(m) = &ev.also_name_mismatch {
        h.push_str(&format!(
            "; also, the certificate is not valid for {} (it names {})",
            m.expected,
            m.presented.join(", ")
        ));
    }
    h
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn public_hosts_table() {
        for (host, public) in [
            ("translate.yandex.net", true),
            ("api.example.org", true),
            ("origin.test", false),
            ("printer.local", false),
            ("db.corp.internal", false),
            ("localhost", false),
            ("intranet", false),
            ("127.0.0.1", false),
            ("[::1]", false),
            ("svc.cluster.local.", false),
        ] {
            assert_eq!(is_public_host(host), public, "{host}");
        }
    }

    #[test]
    fn out_of_window_picks_the_first_offending_cert() {
        let mk = |index, nb, na| CertSummary {
            index,
            subject: format!("CN={index}"),
            issuer: String::new(),
            sans: vec![],
            sans_omitted: 0,
            not_before: String::new(),
            not_after: String::new(),
            not_before_unix: nb,
            not_after_unix: na,
            days_left: 0,
            is_ca: false,
            self_issued: false,
            sha256: String::new(),
            serial: String::new(),
            subject_der: vec![],
            issuer_der: vec![],
            spki_der: vec![],
        };
        let chain = [mk(0, 0, 2_000_000), mk(1, 0, 1_000)];
        let v = out_of_window(&chain, 1_000_000, true).map(|v| (v.index, v.seconds, v.clock_hint));
        assert_eq!(v, Some((1, 999_000, false)));
        let v = out_of_window(&chain, 100, false);
        assert_eq!(v, None);
        let chain = [mk(0, 1_000_060, 2_000_000)];
        let v = out_of_window(&chain, 1_000_000, false).map(|v| (v.index, v.seconds, v.clock_hint));
        assert_eq!(v, Some((0, 60, true)));
    }
}
