//! [`Blame`]: which component must act on a failure — the local configuration, the proxy, the
//! origin or the network between them. It is not where the failure surfaced (that is the
//! [`Hop`]): a CA missing from the local trust store surfaces at the origin's TLS handshake but is
//! fixed in the local configuration, and a refusal the proxy generated arrives as an HTTP response
//! but is the proxy's.
//!
//! Every error has a blame. The site that builds an error sets it when it knows more than the
//! code says (a `no_proxy` entry that nearly matched makes a proxy refusal the local
//! configuration's); otherwise [`derive`] reads it from the code, the hop, the phase and the
//! evidence, so one table decides it for every way a code can be produced.

use std::fmt;

use serde::Serialize;

use super::{Diagnosis, ErrorKind, Evidence, Hop, Phase};

/// Who must act to fix a failure. A bounded set: safe as a metric label.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Blame {
    /// This side's configuration: a setting, a CA file, credentials, the URL, the local clock.
    LocalConfig,
    /// The forward proxy: its policy, its replies, its tunnel, its certificate.
    Proxy,
    /// The destination server: its status, its certificate, its name, its availability.
    Origin,
    /// The network in between: routes, firewalls, middleboxes, resolvers that do not answer.
    Network,
}

impl Blame {
    /// Every blame, in declaration order.
    pub const ALL: [Blame; 4] = [Self::LocalConfig, Self::Proxy, Self::Origin, Self::Network];

    /// The stable snake_case name: `local_config`, `proxy`, `origin` or `network`.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::LocalConfig => "local_config",
            Self::Proxy => "proxy",
            Self::Origin => "origin",
            Self::Network => "network",
        }
    }

    /// The blame for its name, the inverse of [`Blame::as_str`].
    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|b| b.as_str() == name)
    }
}

impl fmt::Display for Blame {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The blame an error carries when its producer did not set one.
pub(super) fn derive(kind: ErrorKind, hop: Option<Hop>, phase: Phase, ev: &Evidence) -> Blame {
    use ErrorKind as K;
    let diagnosis = ev.tls.as_deref().map(|t| (t.diagnosis, t));
    match kind {
        K::ConfigInvalid | K::ConfigCaFile | K::ConfigProxyUrl | K::RequestUrl => {
            Blame::LocalConfig
        }
        // A header or body the caller built wrong, or a body stream of the caller's that failed.
        K::RequestHeader | K::RequestBody => Blame::LocalConfig,
        // A PAC script is configuration, whoever wrote it.
        K::PacSyntax | K::PacRuntime | K::PacTimeout | K::PacResult => Blame::LocalConfig,
        // The name in the proxy URL does not exist; a resolver that does not answer is the
        // network's.
        K::ProxyDns | K::OriginDns if resolver_failed(ev) => Blame::Network,
        K::ProxyDns | K::OriginDns => Blame::LocalConfig,
        // Refused: nothing listens there (the server is down or the port is wrong); anything
        // else (unreachable, no route) is the path to it.
        K::ProxyConnect if any_refused(ev) => Blame::Proxy,
        K::OriginConnect if any_refused(ev) => Blame::Origin,
        K::ProxyConnect | K::OriginConnect => Blame::Network,
        K::ProxyTimeout | K::OriginTimeout if matches!(phase, Phase::Dns | Phase::Connect) => {
            Blame::Network
        }
        K::ProxyTimeout => Blame::Proxy,
        K::OriginTimeout => Blame::Network,
        K::ProxyTls => match diagnosis {
            Some((d, t)) => tls_blame(d, t, Blame::Proxy),
            None => Blame::Proxy,
        },
        K::ProxyAuthRequired | K::ProxyAuthRejected => Blame::LocalConfig,
        // A certificate the server wants (or one it refuses) is this side's to configure.
        K::TlsClientCertRequired | K::TlsClientCertRejected => Blame::LocalConfig,
        K::ProxyForbidden | K::ProxyRefused | K::ProxyProtocol | K::ProxyClosed => Blame::Proxy,
        K::ProxyUpstream => Blame::Origin,
        K::TlsUnknownIssuer
        | K::TlsHostnameMismatch
        | K::TlsExpired
        | K::TlsNotYetValid
        | K::TlsHandshake => match diagnosis {
            Some((d, t)) => tls_blame(d, t, Blame::Origin),
            None => Blame::Origin,
        },
        K::TlsTimeout => Blame::Network,
        // A body that does not decode or is larger than its cap (usually the wrong resource;
        // the cap is raised locally only when such bodies are normal), and redirects that loop
        // or never end, are whoever sent them: the origin, or a proxy writing its own replies.
        K::HttpStatus
        | K::HttpBody
        | K::HttpProtocol
        | K::HttpTimeout
        | K::HttpDecode
        | K::HttpRedirectLoop
        | K::HttpTooManyRedirects
        | K::HttpBodyTooLarge => match hop {
            Some(Hop::Proxy) => Blame::Proxy,
            _ => Blame::Origin,
        },
    }
}

/// The blame of a TLS diagnosis; `server` is the side that presented the certificate.
fn tls_blame(d: Diagnosis, t: &super::TlsEvidence, server: Blame) -> Blame {
    match d {
        // Trust is configured here: a CA this side lacks, holds stale, or holds the wrong one of.
        Diagnosis::SelfSigned
        | Diagnosis::UntrustedPrivateCa
        | Diagnosis::RotatedCa
        | Diagnosis::WrongCaFile => Blame::LocalConfig,
        // The CA that would complete the chain is already configured elsewhere.
        Diagnosis::MissingIntermediate if t.fix.is_some() => Blame::LocalConfig,
        Diagnosis::MissingIntermediate => server,
        // Something on the path re-signs TLS; when the route's proxy is the one, the connector
        // says so and blames the proxy.
        Diagnosis::Interception => Blame::Network,
        // Off by less than a day: this machine's clock, not the certificate.
        Diagnosis::Expired | Diagnosis::NotYetValid
            if t.validity.as_ref().is_some_and(|v| v.clock_hint) =>
        {
            Blame::LocalConfig
        }
        Diagnosis::Expired | Diagnosis::NotYetValid | Diagnosis::HostnameMismatch => server,
        // The URL's scheme (or port) says TLS where the peer speaks plain text.
        Diagnosis::PlainHttpProxy | Diagnosis::NotTls => Blame::LocalConfig,
        // The client certificate is configured here (missing, wrong CA, wrong key usage).
        Diagnosis::ClientCertRequired | Diagnosis::ClientCertRejected => Blame::LocalConfig,
        Diagnosis::ConnectionCut | Diagnosis::Stalled => Blame::Network,
        Diagnosis::Other => server,
    }
}

fn any_refused(ev: &Evidence) -> bool {
    ev.addresses.iter().any(|a| {
        a.error
            .as_deref()
            .is_some_and(|e| e.to_ascii_lowercase().contains("refused"))
    })
}

/// The resolver itself failed (no answer, SERVFAIL), as opposed to the name not existing.
fn resolver_failed(ev: &Evidence) -> bool {
    ev.cause.as_deref().is_some_and(|c| {
        let c = c.to_ascii_lowercase();
        c.contains("temporary failure") || c.contains("try again") || c.contains("servfail")
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::{AddrAttempt, Error};

    #[test]
    fn names_round_trip_and_serialise_snake_case() {
        for b in Blame::ALL {
            assert_eq!(Blame::from_name(b.as_str()), Some(b));
            assert_eq!(
                serde_json::to_value(b).ok(),
                Some(serde_json::Value::String(b.as_str().to_owned()))
            );
        }
        assert_eq!(Blame::from_name("someone"), None);
    }

    #[test]
    fn every_code_has_a_default_blame() {
        use ErrorKind as K;
        let want = |k: K| match k {
            K::ConfigInvalid
            | K::ConfigCaFile
            | K::ConfigProxyUrl
            | K::RequestUrl
            | K::RequestHeader
            | K::RequestBody
            | K::PacSyntax
            | K::PacRuntime
            | K::PacTimeout
            | K::PacResult
            | K::ProxyDns
            | K::OriginDns
            | K::ProxyAuthRequired
            | K::ProxyAuthRejected
            | K::TlsClientCertRequired
            | K::TlsClientCertRejected => Blame::LocalConfig,
            K::ProxyTimeout
            | K::ProxyTls
            | K::ProxyForbidden
            | K::ProxyRefused
            | K::ProxyProtocol
            | K::ProxyClosed => Blame::Proxy,
            K::ProxyConnect | K::OriginConnect | K::OriginTimeout | K::TlsTimeout => Blame::Network,
            _ => Blame::Origin,
        };
        for k in ErrorKind::ALL {
            assert_eq!(Error::new(*k).blame(), want(*k), "{}", k.code());
        }
    }

    #[test]
    fn evidence_refines_the_default() {
        let refused = |kind| {
            Error::new(kind).map_evidence(|ev| {
                ev.addresses.push(AddrAttempt {
                    addr: "127.0.0.1:9".parse().expect("addr"),
                    error: Some("Connection refused (os error 111)".into()),
                });
            })
        };
        assert_eq!(refused(ErrorKind::ProxyConnect).blame(), Blame::Proxy);
        assert_eq!(refused(ErrorKind::OriginConnect).blame(), Blame::Origin);
        let e = Error::new(ErrorKind::ProxyTimeout).with_phase(Phase::Connect);
        assert_eq!(e.blame(), Blame::Network);
        let e = Error::new(ErrorKind::HttpStatus).with_hop(Hop::Proxy);
        assert_eq!(e.blame(), Blame::Proxy);
        let e = Error::new(ErrorKind::OriginDns).map_evidence(|ev| {
            ev.cause = Some("failed to lookup address information: Temporary failure".into());
        });
        assert_eq!(e.blame(), Blame::Network);
        // An explicit blame wins over the derived one.
        let e = Error::new(ErrorKind::ProxyForbidden).with_blame(Blame::LocalConfig);
        assert_eq!(e.blame(), Blame::LocalConfig);
    }
}
