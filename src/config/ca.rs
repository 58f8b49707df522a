//! CA files named by `ca_file` and `proxy_ca_file`: read and parsed when the configuration is
//! loaded, so a missing, empty, DER-encoded or non-certificate file is reported at startup with
//! its key path, not as `CERT_UNTRUSTED` at the first request. The facts ([`CaFile`]) are kept
//! for the TLS diagnostics (which CA was configured, is it a CA, when does it expire).

use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

use rustls_pki_types::CertificateDer;
use rustls_pki_types::pem::PemObject;
use serde::Serialize;

use super::diagnostic::{Diagnostic, Severity};

/// A CA file as read at load time.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CaFile {
    /// The resolved (absolute) path.
    pub path: PathBuf,
    /// The certificates found in it, in file order.
    pub certificates: Vec<CaCertificate>,
    #[serde(skip)]
    der: Vec<CertificateDer<'static>>,
}

impl CaFile {
    /// The certificates' DER encodings, for building a trust store.
    pub fn der(&self) -> &[CertificateDer<'static>] {
        &self.der
    }
}

/// Facts about one certificate in a CA file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CaCertificate {
    /// The subject's distinguished name.
    pub subject: String,
    /// Whether `basicConstraints` says `CA:true`.
    pub is_ca: bool,
    /// The end of validity, as printed by the certificate parser.
    pub not_after: String,
    /// Whole days until `not_after` (negative when expired).
    pub days_left: i64,
}

/// Why a CA file cannot be used; each maps to a stable diagnostic code.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct CaProblem {
    pub(crate) severity: Severity,
    pub(crate) code: &'static str,
    pub(crate) message: String,
    pub(crate) suggestion: String,
}

/// Reads and parses `path`. Returns the facts (when the file held certificates) and the problems.
pub(crate) fn load(path: &Path) -> (Option<CaFile>, Vec<CaProblem>) {
    let shown = path.display();
    let bytes = match std::fs::read(path) {
        Ok(b) => b,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            let hint = match path.parent() {
                Some(dir) if !dir.exists() => {
                    format!("the directory {} does not exist either; fix the path (relative paths resolve against the config file's directory)", dir.display())
                }
                _ => "fix the path (relative paths resolve against the config file's directory), or create the file".to_owned(),
            };
            return (
                None,
                vec![problem(
                    Severity::Error,
                    "ca_file.missing",
                    format!("CA file {shown} does not exist"),
                    hint,
                )],
            );
        }
        Err(e) => {
            let what = if path.is_dir() {
                "is a directory".to_owned()
            } else {
                format!("cannot be read: {e}")
            };
            return (
                None,
                vec![problem(
                    Severity::Error,
                    "ca_file.unreadable",
                    format!("CA file {shown} {what}"),
                    "point `ca_file` at a readable PEM file (check permissions for the service's user)".to_owned(),
                )],
            );
        }
    };
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return (
            None,
            vec![problem(
                Severity::Error,
                "ca_file.empty",
                format!("CA file {shown} is empty"),
                "write the CA certificate(s) into it as PEM (-----BEGIN CERTIFICATE-----)"
                    .to_owned(),
            )],
        );
    }
    let mut der = Vec::new();
    for item in CertificateDer::pem_slice_iter(&bytes) {
        match item {
            Ok(c) => der.push(c),
            Err(e) => {
                return (
                    None,
                    vec![problem(
                        Severity::Error,
                        "ca_file.not_pem",
                        format!("CA file {shown} has malformed PEM: {e}"),
                        "re-export the CA certificate as PEM".to_owned(),
                    )],
                );
            }
        }
    }
    if der.is_empty() {
        return (None, vec![not_certificates(path, &bytes)]);
    }
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX));
    let mut certificates = Vec::new();
    let mut problems = Vec::new();
    for (i, c) in der.iter().enumerate() {
        match x509_parser::parse_x509_certificate(c.as_ref()) {
            Ok((_, cert)) => {
                let not_after = cert.validity().not_after;
                let facts = CaCertificate {
                    subject: cert.subject().to_string(),
                    is_ca: cert.is_ca(),
                    not_after: not_after.to_string(),
                    days_left: (not_after.timestamp() - now).div_euclid(86_400),
                };
                if not_after.timestamp() < now {
                    problems.push(problem(
                        Severity::Warning,
                        "ca_file.expired",
                        format!(
                            "certificate #{} in {shown} ({}) expired on {}",
                            i + 1,
                            facts.subject,
                            facts.not_after
                        ),
                        "replace it with the CA's current certificate".to_owned(),
                    ));
                }
                certificates.push(facts);
            }
            Err(e) => problems.push(problem(
                Severity::Error,
                "ca_file.not_pem",
                format!("certificate #{} in {shown} cannot be parsed: {e}", i + 1),
                "re-export the CA certificate as PEM".to_owned(),
            )),
        }
    }
    if !certificates.is_empty() && certificates.iter().all(|c| !c.is_ca) {
        let subjects: Vec<&str> = certificates.iter().map(|c| c.subject.as_str()).collect();
        problems.push(problem(
            Severity::Warning,
            "ca_file.not_ca",
            format!(
                "no certificate in {shown} is a CA (basicConstraints CA:true is missing): {}",
                subjects.join("; ")
            ),
            "put the issuing CA's certificate in `ca_file`, not the server's own certificate"
                .to_owned(),
        ));
    }
    let file = CaFile {
        path: path.to_path_buf(),
        certificates,
        der,
    };
    (Some(file), problems)
}

/// The file has content but no CERTIFICATE block: DER, another PEM kind, or garbage.
fn not_certificates(path: &Path, bytes: &[u8]) -> CaProblem {
    let shown = path.display();
    if bytes.first() == Some(&0x30) && x509_parser::parse_x509_certificate(bytes).is_ok() {
        return problem(
            Severity::Error,
            "ca_file.der",
            format!("CA file {shown} is a DER (binary) certificate; PEM is required"),
            format!(
                "convert it: openssl x509 -inform der -in {shown} -out {}",
                path.with_extension("pem").display()
            ),
        );
    }
    let text = String::from_utf8_lossy(bytes);
    let labels: Vec<&str> = text
        .split("-----BEGIN ")
        .skip(1)
        .filter_map(|s| s.split("-----").next())
        .collect();
    if labels.is_empty() {
        problem(
            Severity::Error,
            "ca_file.not_pem",
            format!("CA file {shown} is not PEM: it has no -----BEGIN CERTIFICATE----- block"),
            "point `ca_file` at the CA certificate in PEM form".to_owned(),
        )
    } else {
        problem(
            Severity::Error,
            "ca_file.not_pem",
            format!(
                "CA file {shown} holds no certificate, only: {}",
                labels.join(", ")
            ),
            "point `ca_file` at the CA certificate (-----BEGIN CERTIFICATE-----), not a key or request".to_owned(),
        )
    }
}

fn problem(
    severity: Severity,
    code: &'static str,
    message: String,
    suggestion: String,
) -> CaProblem {
    CaProblem {
        severity,
        code,
        message,
        suggestion,
    }
}

impl CaProblem {
    /// The problem as a diagnostic at `path` / `location`.
    pub(crate) fn into_diagnostic(self, path: &str, location: Option<String>) -> Diagnostic {
        Diagnostic::new(self.severity, self.code, path, location, self.message)
            .with_suggestion(self.suggestion)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn codes(p: &[CaProblem]) -> Vec<&str> {
        p.iter().map(|p| p.code).collect()
    }

    fn ca_pem(is_ca: bool) -> (String, Vec<u8>) {
        let mut params = rcgen::CertificateParams::new(vec!["ca.test".into()]).unwrap();
        if is_ca {
            params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
        }
        let key = rcgen::KeyPair::generate().unwrap();
        let cert = params.self_signed(&key).unwrap();
        (cert.pem(), cert.der().to_vec())
    }

    #[test]
    fn file_problems_table() {
        let dir = tempfile::tempdir().unwrap();
        let (pem, der) = ca_pem(true);
        let (leaf, _) = ca_pem(false);
        let cases: [(&str, &[u8], &[&str]); 6] = [
            ("empty.pem", b"  \n", &["ca_file.empty"]),
            ("garbage.pem", b"hello world", &["ca_file.not_pem"]),
            ("ca.der", &der, &["ca_file.der"]),
            (
                "key.pem",
                b"-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n",
                &["ca_file.not_pem"],
            ),
            ("leaf.pem", leaf.as_bytes(), &["ca_file.not_ca"]),
            ("ok.pem", pem.as_bytes(), &[]),
        ];
        for (name, content, want) in cases {
            let p = dir.path().join(name);
            std::fs::write(&p, content).unwrap();
            let (file, problems) = load(&p);
            assert_eq!(codes(&problems), want, "{name}");
            if name == "ok.pem" {
                let f = file.unwrap();
                assert_eq!(f.certificates.len(), 1);
                assert!(f.certificates[0].is_ca);
                assert!(f.certificates[0].days_left > 0);
                assert_eq!(f.der().len(), 1);
            }
        }
        let (_, problems) = load(&dir.path().join("nope.pem"));
        assert_eq!(codes(&problems), ["ca_file.missing"]);
        let (_, problems) = load(dir.path());
        assert_eq!(codes(&problems), ["ca_file.unreadable"]);
    }
}
