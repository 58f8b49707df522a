//! Who must act on a failed check — `local_config`, `proxy`, `origin` or `network` — so an alert
//! can be routed to the team that can fix it: a CA missing from the local trust store surfaces at
//! the origin hop but is fixed in the local configuration; a Squid `ERR_ACCESS_DENIED` is the
//! proxy team's, whatever the origin is doing.
//!
//! The library's `Error` is to carry its blame itself, decided where the failure is observed.
//! Until it does, [`of`] derives it from the facts a [`CheckError`] already holds (kind, hop,
//! phase, TLS diagnosis), and every renderer asks [`of`], so moving to the error's own blame
//! changes that one function's body and nothing else.

use crate::error::{ErrorKind, Hop, Phase};
use crate::tls::Diagnosis;

use super::report::CheckError;

/// Every blame value, the bounded label set of `proxyscope_check_error{blame}`.
pub const ALL: [&str; 4] = ["local_config", "proxy", "origin", "network"];

/// Who must act on `error`: `local_config`, `proxy`, `origin` or `network`.
pub fn of(error: &CheckError) -> &'static str {
    let diagnosis = error.evidence.tls.as_ref().map(|t| t.diagnosis);
    derive(error.kind, error.hop, error.phase, diagnosis)
}

/// The blame for a failure's kind, hop, phase and (for TLS failures) diagnosis.
fn derive(
    kind: ErrorKind,
    hop: Option<Hop>,
    phase: Phase,
    diagnosis: Option<Diagnosis>,
) -> &'static str {
    use ErrorKind as K;
    let side = match hop {
        Some(Hop::Proxy) => "proxy",
        Some(Hop::Origin) => "origin",
        None => "local_config",
    };
    match kind {
        K::ConfigInvalid | K::ConfigCaFile | K::ConfigProxyUrl => "local_config",
        // A certificate the server wants (or one it refuses) is ours to configure.
        K::TlsClientCertRequired | K::TlsClientCertRejected => "local_config",
        // The credentials (or their absence) are ours to fix.
        K::ProxyAuthRequired | K::ProxyAuthRejected => "local_config",
        // Name resolution and a connect that never completes are the path's, not a server's; a
        // refused connect means the host answered and nothing listens: that server is down.
        K::ProxyDns | K::OriginDns | K::OriginTimeout => "network",
        K::ProxyTimeout if phase == Phase::Connect => "network",
        K::ProxyConnect => "proxy",
        K::OriginConnect => "origin",
        K::ProxyForbidden
        | K::ProxyRefused
        | K::ProxyProtocol
        | K::ProxyClosed
        | K::ProxyTimeout => "proxy",
        // The proxy is up and says the destination is not reachable from it.
        K::ProxyUpstream => "origin",
        K::ProxyTls
        | K::TlsUnknownIssuer
        | K::TlsHostnameMismatch
        | K::TlsExpired
        | K::TlsNotYetValid
        | K::TlsHandshake
        | K::TlsTimeout => tls(diagnosis, side),
        K::HttpBody | K::HttpTimeout => "origin",
        K::HttpStatus | K::HttpProtocol => side,
    }
}

/// TLS failures: the diagnosis tells a trust store that lacks a CA (ours) from a server that
/// presents a broken chain (theirs) from something in between.
fn tls(diagnosis: Option<Diagnosis>, side: &'static str) -> &'static str {
    match diagnosis {
        Some(
            Diagnosis::UntrustedPrivateCa
            | Diagnosis::RotatedCa
            | Diagnosis::PlainHttpProxy
            | Diagnosis::ClientCertRequired
            | Diagnosis::ClientCertRejected,
        ) => "local_config",
        Some(Diagnosis::Interception | Diagnosis::ConnectionCut | Diagnosis::Stalled) => "network",
        _ => side,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::Error;

    fn blame(kind: ErrorKind) -> &'static str {
        of(&CheckError::from_error(&Error::new(kind)))
    }

    #[test]
    fn every_kind_has_a_blame_from_the_bounded_set() {
        for &kind in ErrorKind::ALL {
            assert!(ALL.contains(&blame(kind)), "{kind}: {}", blame(kind));
        }
    }

    #[test]
    fn blame_by_kind() {
        let table = [
            (ErrorKind::ConfigCaFile, "local_config"),
            (ErrorKind::ProxyAuthRequired, "local_config"),
            (ErrorKind::ProxyAuthRejected, "local_config"),
            (ErrorKind::ProxyDns, "network"),
            (ErrorKind::OriginDns, "network"),
            (ErrorKind::ProxyConnect, "proxy"),
            (ErrorKind::OriginConnect, "origin"),
            (ErrorKind::ProxyForbidden, "proxy"),
            (ErrorKind::ProxyUpstream, "origin"),
            (ErrorKind::ProxyClosed, "proxy"),
            (ErrorKind::ProxyTls, "proxy"),
            (ErrorKind::TlsExpired, "origin"),
            (ErrorKind::TlsHostnameMismatch, "origin"),
            (ErrorKind::HttpStatus, "origin"),
            (ErrorKind::HttpBody, "origin"),
        ];
        for (kind, want) in table {
            assert_eq!(blame(kind), want, "{kind}");
        }
    }

    #[test]
    fn a_proxy_connect_timeout_is_the_network_and_a_stalled_handshake_the_proxy() {
        let e = |phase| {
            of(&CheckError::from_error(
                &Error::new(ErrorKind::ProxyTimeout).with_phase(phase),
            ))
        };
        assert_eq!(e(Phase::Connect), "network");
        assert_eq!(e(Phase::Proxy), "proxy");
    }

    #[test]
    fn an_http_status_the_proxy_generated_is_the_proxy_s() {
        let e = Error::new(ErrorKind::HttpStatus).with_hop(Hop::Proxy);
        assert_eq!(of(&CheckError::from_error(&e)), "proxy");
    }

    #[test]
    fn tls_blame_follows_the_diagnosis() {
        assert_eq!(
            derive(
                ErrorKind::TlsUnknownIssuer,
                Some(Hop::Origin),
                Phase::Tls,
                Some(Diagnosis::UntrustedPrivateCa)
            ),
            "local_config"
        );
        assert_eq!(
            derive(
                ErrorKind::TlsUnknownIssuer,
                Some(Hop::Origin),
                Phase::Tls,
                Some(Diagnosis::MissingIntermediate)
            ),
            "origin"
        );
        assert_eq!(
            derive(
                ErrorKind::TlsUnknownIssuer,
                Some(Hop::Origin),
                Phase::Tls,
                Some(Diagnosis::Interception)
            ),
            "network"
        );
        assert_eq!(
            derive(
                ErrorKind::ProxyTls,
                Some(Hop::Proxy),
                Phase::Proxy,
                Some(Diagnosis::PlainHttpProxy)
            ),
            "local_config"
        );
    }
}
