//! Client certificates: [`ClientIdentity`] is a certificate chain and its private key, read from
//! PEM files or memory once, checked (the key must be unencrypted and must match the leaf), and
//! described (the leaf's [`CertSummary`]) for lint, route explanations and the evidence of a
//! rejected handshake.
//!
//! Every way a pair can be unusable has its own [`IdentityProblem`], so "the key does not match
//! the certificate" is reported at startup with the key path that names the file, not as a
//! handshake failure at the first request.

use std::path::Path;
use std::sync::Arc;

use rustls::sign::CertifiedKey;
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer};
use serde::Serialize;

use super::chain::unix_now;
use crate::credentials::{CredentialProblem, read_bounded};
use crate::error::CertSummary;
use crate::settings::PemSource;

/// The most bytes read from a client certificate or key file (1 MiB).
pub const MAX_IDENTITY_FILE: u64 = 1024 * 1024;

/// Which half of a certificate/key pair a problem is about.
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum IdentityPart {
    /// The certificate (`client_cert`, `proxy_client_cert`).
    Cert,
    /// The private key (`client_key`, `proxy_client_key`).
    Key,
}

/// Why a client certificate or key cannot be used, or looks wrong.
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum IdentityProblem {
    /// The certificate is set but its key is not (or the other way round).
    Unpaired,
    /// The file does not exist.
    Missing,
    /// The file cannot be read, or is not a regular file, or is too large.
    Unreadable,
    /// The file or the in-memory PEM is empty.
    Empty,
    /// The certificate file holds no PEM certificate (or one that does not parse).
    NoCertificate,
    /// The certificate file holds a private key and no certificate: the two are swapped.
    KeyInCertFile,
    /// The key file holds no unencrypted PEM private key.
    NoKey,
    /// The private key is encrypted (`ENCRYPTED PRIVATE KEY` or `Proc-Type: 4,ENCRYPTED`);
    /// proxyscope does not ask for pass phrases.
    EncryptedKey,
    /// The key's algorithm is not supported by the TLS provider.
    UnsupportedKey,
    /// The private key does not belong to the certificate.
    KeyMismatch,
    /// The certificate has expired (a warning: servers will reject it).
    Expired,
    /// The certificate is not yet valid (a warning).
    NotYetValid,
}

impl IdentityProblem {
    /// The stable snake_case name; lint codes are `client_cert.NAME`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Unpaired => "unpaired",
            Self::Missing => "missing",
            Self::Unreadable => "unreadable",
            Self::Empty => "empty",
            Self::NoCertificate => "no_certificate",
            Self::KeyInCertFile => "key_in_cert_file",
            Self::NoKey => "no_key",
            Self::EncryptedKey => "encrypted_key",
            Self::UnsupportedKey => "unsupported_key",
            Self::KeyMismatch => "key_mismatch",
            Self::Expired => "expired",
            Self::NotYetValid => "not_yet_valid",
        }
    }

    /// What to do about it.
    pub fn suggestion(self) -> &'static str {
        match self {
            Self::Unpaired => {
                "set both the certificate and its key (client_cert with client_key, proxy_client_cert with proxy_client_key)"
            }
            Self::Missing => {
                "check the path; relative paths resolve against the config file's directory"
            }
            Self::Unreadable => "make the file a regular file readable by this process",
            Self::Empty => {
                "put the PEM certificate chain (leaf first) or the PEM private key in the file"
            }
            Self::NoCertificate => {
                "the certificate file must hold -----BEGIN CERTIFICATE----- sections, the client certificate first"
            }
            Self::KeyInCertFile => {
                "the certificate and key settings are swapped: point the certificate key at the certificate and the key setting at the key"
            }
            Self::NoKey => {
                "the key file must hold an unencrypted PEM private key (PRIVATE KEY, RSA PRIVATE KEY or EC PRIVATE KEY)"
            }
            Self::EncryptedKey => {
                "decrypt the key once (openssl pkey -in key.pem -out key-plain.pem) and protect the file instead"
            }
            Self::UnsupportedKey => "use an RSA, ECDSA (P-256/P-384) or Ed25519 key",
            Self::KeyMismatch => {
                "the key belongs to another certificate: use the key that was generated with this certificate's request"
            }
            Self::Expired => "renew the client certificate: servers reject an expired one",
            Self::NotYetValid => {
                "the certificate's validity starts in the future: check its dates and this machine's clock"
            }
        }
    }

    /// Whether the pair can still be used (only validity problems are warnings).
    pub fn is_warning(self) -> bool {
        matches!(self, Self::Expired | Self::NotYetValid)
    }
}

/// A client certificate or key that cannot be used: which half, why, where, and the details.
#[non_exhaustive]
#[derive(Debug)]
pub struct IdentityError {
    /// The half the problem is about.
    pub part: IdentityPart,
    /// Why.
    pub problem: IdentityProblem,
    /// The file's path, or `PEM in memory (N bytes)`.
    pub source: String,
    /// A detail from the parser, when there is one.
    pub detail: Option<String>,
}

impl std::fmt::Display for IdentityError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let what = match self.part {
            IdentityPart::Cert => "client certificate",
            IdentityPart::Key => "client key",
        };
        let why = match self.problem {
            IdentityProblem::Unpaired => match self.part {
                IdentityPart::Cert => "is set without its key",
                IdentityPart::Key => "is set without its certificate",
            },
            IdentityProblem::Missing => "does not exist",
            IdentityProblem::Unreadable => {
                "cannot be read (or is not a regular file, or is over 1 MiB)"
            }
            IdentityProblem::Empty => "is empty",
            IdentityProblem::NoCertificate => "holds no PEM certificate",
            IdentityProblem::KeyInCertFile => "holds a private key, not a certificate",
            IdentityProblem::NoKey => "holds no PEM private key",
            IdentityProblem::EncryptedKey => "is encrypted with a pass phrase",
            IdentityProblem::UnsupportedKey => "is of an unsupported key type",
            IdentityProblem::KeyMismatch => "does not match the certificate",
            IdentityProblem::Expired => "has expired",
            IdentityProblem::NotYetValid => "is not yet valid",
        };
        write!(f, "{what} {} {why}", self.source)?;
        if let Some(d) = &self.detail {
            write!(f, " ({d})")?;
        }
        Ok(())
    }
}

impl std::error::Error for IdentityError {}

/// A client certificate chain with its private key, checked. Cheap to clone; `Debug` shows the
/// leaf's subject, never the key.
#[derive(Clone)]
pub struct ClientIdentity {
    inner: Arc<Inner>,
}

struct Inner {
    certified: Arc<CertifiedKey>,
    leaf: CertSummary,
}

impl std::fmt::Debug for ClientIdentity {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ClientIdentity")
            .field("subject", &self.inner.leaf.subject)
            .field("issuer", &self.inner.leaf.issuer)
            .field("not_after", &self.inner.leaf.not_after)
            .finish_non_exhaustive()
    }
}

impl ClientIdentity {
    /// Reads and checks a certificate and its key, each from a file or memory.
    pub fn load(cert: &PemSource, key: &PemSource) -> Result<ClientIdentity, IdentityError> {
        let cert_bytes = read(cert, IdentityPart::Cert)?;
        let key_bytes = read(key, IdentityPart::Key)?;
        Self::parse(&cert_bytes, &cert.describe(), &key_bytes, &key.describe())
    }

    /// Checks PEM text: the certificate chain (leaf first) and its private key.
    pub fn from_pem(cert: &[u8], key: &[u8]) -> Result<ClientIdentity, IdentityError> {
        let c = PemSource::Memory(Arc::from(cert));
        let k = PemSource::Memory(Arc::from(key));
        Self::parse(cert, &c.describe(), key, &k.describe())
    }

    fn parse(
        cert: &[u8],
        cert_src: &str,
        key: &[u8],
        key_src: &str,
    ) -> Result<ClientIdentity, IdentityError> {
        let fail = |part, problem, detail: Option<String>| IdentityError {
            part,
            problem,
            source: match part {
                IdentityPart::Cert => cert_src.to_owned(),
                IdentityPart::Key => key_src.to_owned(),
            },
            detail,
        };
        if cert.iter().all(u8::is_ascii_whitespace) {
            return Err(fail(IdentityPart::Cert, IdentityProblem::Empty, None));
        }
        let chain: Vec<CertificateDer<'static>> = CertificateDer::pem_slice_iter(cert)
            .collect::<Result<_, _>>()
            .map_err(|e| {
                fail(
                    IdentityPart::Cert,
                    IdentityProblem::NoCertificate,
                    Some(e.to_string()),
                )
            })?;
        let Some(first) = chain.first() else {
            let problem = if PrivateKeyDer::from_pem_slice(cert).is_ok() || is_encrypted(cert) {
                IdentityProblem::KeyInCertFile
            } else {
                IdentityProblem::NoCertificate
            };
            return Err(fail(IdentityPart::Cert, problem, None));
        };
        let leaf = CertSummary::from_der(0, first.as_ref(), unix_now()).map_err(|e| {
            fail(
                IdentityPart::Cert,
                IdentityProblem::NoCertificate,
                Some(e.0),
            )
        })?;
        if key.iter().all(u8::is_ascii_whitespace) {
            return Err(fail(IdentityPart::Key, IdentityProblem::Empty, None));
        }
        if is_encrypted(key) {
            return Err(fail(IdentityPart::Key, IdentityProblem::EncryptedKey, None));
        }
        let der = PrivateKeyDer::from_pem_slice(key).map_err(|e| {
            fail(
                IdentityPart::Key,
                IdentityProblem::NoKey,
                Some(e.to_string()),
            )
        })?;
        let provider = rustls::crypto::ring::default_provider();
        let certified = CertifiedKey::from_der(chain, der, &provider).map_err(|e| match e {
            rustls::Error::InconsistentKeys(_) => {
                fail(IdentityPart::Key, IdentityProblem::KeyMismatch, None)
            }
            other => fail(
                IdentityPart::Key,
                IdentityProblem::UnsupportedKey,
                Some(other.to_string()),
            ),
        })?;
        Ok(ClientIdentity {
            inner: Arc::new(Inner {
                certified: Arc::new(certified),
                leaf,
            }),
        })
    }

    /// The leaf certificate, described.
    pub fn leaf(&self) -> &CertSummary {
        &self.inner.leaf
    }

    /// The certificate chain as presented, leaf first.
    pub fn chain(&self) -> &[CertificateDer<'static>] {
        &self.inner.certified.cert
    }

    /// Problems that do not stop the pair from being used (expired, not yet valid), as of now.
    pub fn warnings(&self) -> Vec<IdentityProblem> {
        let now = unix_now();
        let leaf = &self.inner.leaf;
        if leaf.not_after_unix < now {
            vec![IdentityProblem::Expired]
        } else if leaf.not_before_unix > now {
            vec![IdentityProblem::NotYetValid]
        } else {
            Vec::new()
        }
    }

    pub(crate) fn certified(&self) -> Arc<CertifiedKey> {
        self.inner.certified.clone()
    }
}

fn read(src: &PemSource, part: IdentityPart) -> Result<Vec<u8>, IdentityError> {
    match src {
        PemSource::Memory(b) => Ok(b.to_vec()),
        PemSource::File(p) => read_file(p).map_err(|problem| IdentityError {
            part,
            problem,
            source: p.display().to_string(),
            detail: None,
        }),
    }
}

fn read_file(path: &Path) -> Result<Vec<u8>, IdentityProblem> {
    read_bounded(path, MAX_IDENTITY_FILE).map_err(|(p, _)| match p {
        CredentialProblem::Missing => IdentityProblem::Missing,
        _ => IdentityProblem::Unreadable,
    })
}

/// PKCS#8 `ENCRYPTED PRIVATE KEY`, or a legacy OpenSSL key with `Proc-Type: 4,ENCRYPTED`.
fn is_encrypted(pem: &[u8]) -> bool {
    let text = String::from_utf8_lossy(pem);
    text.contains("-----BEGIN ENCRYPTED PRIVATE KEY-----")
        || text.contains("Proc-Type: 4,ENCRYPTED")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pair() -> (String, String) {
        let mut params = rcgen::CertificateParams::new(vec!["client.test".into()])
            .unwrap_or_else(|e| panic!("{e}"));
        params
            .distinguished_name
            .push(rcgen::DnType::CommonName, "client.test");
        let key = rcgen::KeyPair::generate().unwrap_or_else(|e| panic!("{e}"));
        let cert = params.self_signed(&key).unwrap_or_else(|e| panic!("{e}"));
        (cert.pem(), key.serialize_pem())
    }

    fn problem(cert: &str, key: &str) -> Option<(IdentityPart, IdentityProblem)> {
        ClientIdentity::from_pem(cert.as_bytes(), key.as_bytes())
            .err()
            .map(|e| (e.part, e.problem))
    }

    #[test]
    fn pairs_are_checked() {
        let (cert, key) = pair();
        let (_, other_key) = pair();
        let id = ClientIdentity::from_pem(cert.as_bytes(), key.as_bytes())
            .unwrap_or_else(|e| panic!("{e}"));
        assert!(id.leaf().subject.contains("client.test"));
        assert_eq!(id.chain().len(), 1);
        assert!(id.warnings().is_empty());
        assert!(!format!("{id:?}").contains("PRIVATE"));
        use IdentityPart::{Cert, Key};
        let encrypted =
            "-----BEGIN ENCRYPTED PRIVATE KEY-----\nMIIB\n-----END ENCRYPTED PRIVATE KEY-----\n";
        let cases = [
            (
                (cert.as_str(), other_key.as_str()),
                (Key, IdentityProblem::KeyMismatch),
            ),
            (
                (cert.as_str(), encrypted),
                (Key, IdentityProblem::EncryptedKey),
            ),
            ((cert.as_str(), " \n"), (Key, IdentityProblem::Empty)),
            (
                (cert.as_str(), cert.as_str()),
                (Key, IdentityProblem::NoKey),
            ),
            (
                (key.as_str(), key.as_str()),
                (Cert, IdentityProblem::KeyInCertFile),
            ),
            (
                ("junk", key.as_str()),
                (Cert, IdentityProblem::NoCertificate),
            ),
            (("", key.as_str()), (Cert, IdentityProblem::Empty)),
        ];
        for ((c, k), want) in cases {
            assert_eq!(problem(c, k), Some(want), "{want:?}");
        }
    }

    #[test]
    fn files_are_read_bounded() {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let (cert, key) = pair();
        let c = dir.path().join("c.pem");
        std::fs::write(&c, &cert).unwrap_or_else(|e| panic!("{e}"));
        let k = PemSource::File(dir.path().join("absent.pem"));
        let e = ClientIdentity::load(&PemSource::File(c.clone()), &k).err();
        assert_eq!(
            e.map(|e| (e.part, e.problem)),
            Some((IdentityPart::Key, IdentityProblem::Missing))
        );
        let d = PemSource::File(dir.path().to_path_buf());
        let e = ClientIdentity::load(&d, &PemSource::Memory(Arc::from(key.as_bytes()))).err();
        assert_eq!(
            e.map(|e| (e.part, e.problem)),
            Some((IdentityPart::Cert, IdentityProblem::Unreadable))
        );
    }
}
