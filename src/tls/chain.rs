//! Certificate facts for people and machines: computes a [`CertSummary`] for each certificate
//! (subject, issuer, SANs, validity, fingerprint, serial), and [`compare_chains`] tells whether
//! two recorded chains are the same chain.
//!
//! Summaries are computed with x509-parser from the DER the server sent, so they exist even when
//! rustls rejected the chain: the evidence of a failed handshake is exactly what was presented.

use rustls_pki_types::CertificateDer;
use serde::Serialize;
use x509_parser::extensions::GeneralName;
use x509_parser::prelude::{FromDer, X509Certificate};

use crate::error::CertSummary;

/// The most certificates of a presented chain described. webpki builds paths of at most six
/// intermediates, so more is padding; a peer must not make every error carry hundreds of
/// summaries (rustls lets a chain fill a 64 KiB message). The rest are counted, see [`omitted`].
pub(crate) const MAX_CHAIN: usize = 16;
/// The most subjectAltNames listed per certificate; the rest are counted in `sans_omitted` (one
/// 64 KiB certificate can carry thousands of short names).
pub(crate) const MAX_SANS: usize = 64;

/// The most characters of one name shown (a subject, an issuer, a subjectAltName, a CA named by
/// a server asking for a client certificate): a DNS name has at most 253, but a hostile peer can
/// fill a 64 KiB certificate with one name, and each goes into the evidence, the message and the
/// hint. A longer one is cut and ends in `…`.
pub(crate) const MAX_NAME_CHARS: usize = 256;

/// `name`, cut to [`MAX_NAME_CHARS`] characters (ending in `…`) when longer.
pub(crate) fn capped(name: String) -> String {
    match name.char_indices().nth(MAX_NAME_CHARS) {
        None => name,
        Some((at, _)) => {
            let mut cut = name;
            cut.truncate(at);
            cut.push('…');
            cut
        }
    }
}

/// Why a certificate could not be described.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct NotACertificate(pub(crate) String);

impl CertSummary {
    /// Describes one DER certificate at `index`, with `now` (UNIX seconds) for `days_left`.
    pub(crate) fn from_der(index: usize, der: &[u8], now: i64) -> Result<Self, NotACertificate> {
        let (_, cert) =
            X509Certificate::from_der(der).map_err(|e| NotACertificate(e.to_string()))?;
        let subject_der = cert.subject().as_raw().to_vec();
        let issuer_der = cert.issuer().as_raw().to_vec();
        let mut sans = Vec::new();
        let mut sans_omitted = 0;
        if let Ok(Some(ext)) = cert.subject_alternative_name() {
            for name in &ext.value.general_names {
                let listed = match name {
                    GeneralName::DNSName(d) => Some(capped((*d).to_owned())),
                    GeneralName::IPAddress(b) => ip_from_bytes(b).map(|ip| ip.to_string()),
                    _ => None,
                };
                match listed {
                    Some(n) if sans.len() < MAX_SANS => sans.push(n),
                    Some(_) => sans_omitted += 1,
                    None => {}
                }
            }
        }
        let not_before_unix = cert.validity().not_before.timestamp();
        let not_after_unix = cert.validity().not_after.timestamp();
        Ok(Self {
            index,
            subject: capped(cert.subject().to_string()),
            issuer: capped(cert.issuer().to_string()),
            sans,
            sans_omitted,
            not_before: rfc3339(not_before_unix),
            not_after: rfc3339(not_after_unix),
            not_before_unix,
            not_after_unix,
            days_left: (not_after_unix - now).div_euclid(86_400),
            is_ca: cert.is_ca(),
            self_issued: subject_der == issuer_der,
            sha256: hex(ring::digest::digest(&ring::digest::SHA256, der).as_ref()),
            serial: hex(cert.raw_serial()),
            subject_der,
            issuer_der,
            spki_der: cert.public_key().raw.to_vec(),
        })
    }
}

/// Describes the first [`MAX_CHAIN`] certificates of a chain; certificates that do not parse are
/// skipped (the handshake error already says the encoding is bad).
pub(crate) fn summarize(chain: &[CertificateDer<'_>], now: i64) -> Vec<CertSummary> {
    chain
        .iter()
        .take(MAX_CHAIN)
        .enumerate()
        .filter_map(|(i, c)| CertSummary::from_der(i, c.as_ref(), now).ok())
        .collect()
}

/// How many certificates of `chain` [`summarize`] leaves out.
pub(crate) fn omitted(chain: &[CertificateDer<'_>]) -> usize {
    chain.len().saturating_sub(MAX_CHAIN)
}

/// How two recorded chains relate, e.g. the chain seen directly and the one seen via a proxy.
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ChainComparison {
    /// Same certificates in the same order.
    Same,
    /// Same leaf, different intermediates or order (a normal re-issue of the chain).
    SameLeaf,
    /// Different leaf key and different issuer: another party answered (interception).
    Differs,
    /// Same leaf key, re-issued certificate (renewal).
    Renewed,
    /// One of the chains is empty; nothing to compare.
    Unknown,
}

/// Compares two recorded chains by SHA-256 (and the leaf's issuer and key).
pub fn compare_chains(a: &[CertSummary], b: &[CertSummary]) -> ChainComparison {
    let (Some(la), Some(lb)) = (a.first(), b.first()) else {
        return ChainComparison::Unknown;
    };
    if a.len() == b.len() && a.iter().zip(b).all(|(x, y)| x.sha256 == y.sha256) {
        return ChainComparison::Same;
    }
    if la.sha256 == lb.sha256 {
        return ChainComparison::SameLeaf;
    }
    if la.spki_der == lb.spki_der || la.issuer_der == lb.issuer_der {
        return ChainComparison::Renewed;
    }
    ChainComparison::Differs
}

/// Lowercase hex.
pub(crate) fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write as _;
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        let _ = write!(s, "{b:02x}");
    }
    s
}

fn ip_from_bytes(b: &[u8]) -> Option<std::net::IpAddr> {
    match b.len() {
        4 => <[u8; 4]>::try_from(b).ok().map(std::net::IpAddr::from),
        16 => <[u8; 16]>::try_from(b).ok().map(std::net::IpAddr::from),
        _ => None,
    }
}

/// RFC 3339 UTC (`2026-01-02T03:04:05Z`) from UNIX seconds, without a date-time dependency.
pub(crate) fn rfc3339(unix: i64) -> String {
    let days = unix.div_euclid(86_400);
    let secs = unix.rem_euclid(86_400);
    // Howard Hinnant's civil_from_days.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z",
        secs / 3600,
        (secs % 3600) / 60,
        secs % 60
    )
}

/// Seconds since the UNIX epoch, now.
pub(crate) fn unix_now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
}

/// Strips the outer `SEQUENCE` header from a DER `Name`, giving the form webpki stores in
/// `TrustAnchor::subject`.
pub(crate) fn name_value(der: &[u8]) -> &[u8] {
    if der.len() < 2 || der[0] != 0x30 {
        return der;
    }
    let len_byte = der[1];
    let header = if len_byte < 0x80 {
        2
    } else {
        2 + usize::from(len_byte & 0x7f)
    };
    der.get(header..).unwrap_or(der)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc3339_matches_known_instants() {
        assert_eq!(rfc3339(0), "1970-01-01T00:00:00Z");
        assert_eq!(rfc3339(951_782_400), "2000-02-29T00:00:00Z");
        assert_eq!(rfc3339(1_609_459_200), "2021-01-01T00:00:00Z");
        assert_eq!(rfc3339(1_795_532_269), "2026-11-24T14:57:49Z");
        assert_eq!(rfc3339(-1), "1969-12-31T23:59:59Z");
    }

    #[test]
    fn hex_keeps_leading_zeros() {
        assert_eq!(hex(&[0x00, 0x0a, 0xff]), "000aff");
    }

    #[test]
    fn name_value_strips_short_and_long_headers() {
        assert_eq!(name_value(&[0x30, 0x02, 0xaa, 0xbb]), &[0xaa, 0xbb]);
        let mut long = vec![0x30, 0x81, 0x80];
        long.extend(std::iter::repeat_n(7u8, 0x80));
        assert_eq!(name_value(&long).len(), 0x80);
        assert_eq!(name_value(&[0x01]), &[0x01]);
    }

    #[test]
    fn garbage_is_not_a_certificate() {
        assert!(CertSummary::from_der(0, b"not der", 0).is_err());
    }
}
