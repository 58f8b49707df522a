//! CA files named by `ca_file` and `proxy_ca_file`: loaded through [`CaBundle::load`] when the
//! configuration is loaded, so a missing, empty, DER-encoded or non-certificate file is reported
//! at startup with its key path and `file:line:col`, not as `CERT_UNTRUSTED` at the first
//! request. The bundles are kept on the [`Config`](super::Config) for the TLS diagnostics (which
//! CA was configured, is it a CA, when does it expire).

use std::path::Path;

use crate::diagnostic::{Diagnostic, Severity};
use crate::tls::{CaBundle, CaFileProblem};

/// Why a CA file cannot be used, or looks wrong; each maps to a stable diagnostic code.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct CaProblem {
    pub(crate) severity: Severity,
    pub(crate) code: &'static str,
    pub(crate) message: String,
    pub(crate) suggestion: String,
}

/// Loads `path`. Returns the bundle (when the file held certificates) and the problems.
pub(crate) fn load(path: &Path) -> (Option<CaBundle>, Vec<CaProblem>) {
    let shown = path.display();
    let bundle = match CaBundle::load(path) {
        Ok(b) => b,
        Err(e) => {
            let kind = e.evidence().ca_file_problem;
            let code = match kind {
                Some(CaFileProblem::Missing) => "ca_file.missing",
                Some(CaFileProblem::Unreadable) => "ca_file.unreadable",
                Some(CaFileProblem::NotRegular) => "ca_file.not_regular",
                Some(CaFileProblem::TooLarge) => "ca_file.too_large",
                Some(CaFileProblem::Empty) => "ca_file.empty",
                Some(CaFileProblem::Der) => "ca_file.der",
                Some(CaFileProblem::Truncated) => "ca_file.truncated",
                _ => "ca_file.not_pem",
            };
            // The parser's own words (`NomError(Eof)`, base64 errors) stay in the error's cause;
            // the diagnostic says what is wrong with the file.
            let message = e.to_string();
            let suggestion = match kind {
                Some(CaFileProblem::Der) => format!(
                    "convert it: openssl x509 -inform der -in {shown} -out {}",
                    path.with_extension("pem").display()
                ),
                Some(CaFileProblem::Missing) => match path.parent() {
                    Some(dir) if !dir.exists() => format!(
                        "{}; the directory {} does not exist either",
                        e.hint().unwrap_or("check the path"),
                        dir.display()
                    ),
                    _ => e.hint().unwrap_or("check the path").to_owned(),
                },
                _ => e
                    .hint()
                    .unwrap_or("point `ca_file` at a PEM file of CA certificates")
                    .to_owned(),
            };
            return (
                None,
                vec![CaProblem {
                    severity: Severity::Error,
                    code,
                    message,
                    suggestion,
                }],
            );
        }
    };
    let mut problems = Vec::new();
    for s in bundle.summaries() {
        if s.days_left < 0 {
            problems.push(CaProblem {
                severity: Severity::Warning,
                code: "ca_file.expired",
                message: format!(
                    "certificate #{} in {shown} ({}) expired on {}",
                    s.index + 1,
                    s.subject,
                    s.not_after
                ),
                suggestion: "replace it with the CA's current certificate".to_owned(),
            });
        }
    }
    if bundle.summaries().iter().all(|s| !s.is_ca) {
        let subjects: Vec<&str> = bundle
            .summaries()
            .iter()
            .map(|s| s.subject.as_str())
            .collect();
        problems.push(CaProblem {
            severity: Severity::Warning,
            code: "ca_file.not_ca",
            message: format!(
                "no certificate in {shown} is a CA (basicConstraints CA:true is missing): {}",
                subjects.join("; ")
            ),
            suggestion:
                "put the issuing CA's certificate in `ca_file`, not the server's own certificate"
                    .to_owned(),
        });
    }
    (Some(bundle), problems)
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
            let (bundle, problems) = load(&p);
            assert_eq!(codes(&problems), want, "{name}");
            if name == "ok.pem" {
                let b = bundle.unwrap();
                assert_eq!(b.summaries().len(), 1);
                assert!(b.summaries()[0].is_ca);
                assert_eq!(b.certs().len(), 1);
            }
        }
        let (_, problems) = load(&dir.path().join("nope.pem"));
        assert_eq!(codes(&problems), ["ca_file.missing"]);
        let (_, problems) = load(dir.path());
        assert_eq!(codes(&problems), ["ca_file.not_regular"]);
        let big = dir.path().join("big.pem");
        let file = std::fs::File::create(&big).unwrap();
        // Sparse: no disk is used, the metadata announces the size.
        file.set_len(crate::tls::MAX_CA_FILE_SIZE + 1).unwrap();
        let (_, problems) = load(&big);
        assert_eq!(codes(&problems), ["ca_file.too_large"]);
        #[cfg(target_os = "linux")]
        {
            let (_, problems) = load(Path::new("/dev/zero"));
            assert_eq!(codes(&problems), ["ca_file.not_regular"]);
        }
    }
}
