//! CA files: [`CaBundle`] is a PEM file of certificates, parsed once at the edge (through
//! `rustls-pki-types`' `PemObject`), with a [`CertSummary`] per certificate for lint and reports.
//!
//! Every way a file can be unusable has its own [`CaFileProblem`], reported as `config.ca_file`
//! with the file in the evidence, so "the CA file is wrong" never surfaces later as an
//! `UnknownIssuer` during a handshake.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use rustls_pki_types::CertificateDer;
use rustls_pki_types::pem::PemObject;

use super::chain::unix_now;
use crate::error::{CaFileProblem, CertSummary, Error, ErrorKind};

/// A loaded PEM CA file: its path, its certificates, and a summary of each. Cheap to clone.
#[derive(Debug, Clone)]
pub struct CaBundle {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    path: PathBuf,
    certs: Vec<CertificateDer<'static>>,
    summaries: Vec<CertSummary>,
    in_memory: bool,
}

impl CaBundle {
    /// Reads and parses a PEM file. Fails with `config.ca_file` (the file in
    /// `evidence().file`, the reason in `evidence().ca_file_problem`) when the file is missing,
    /// unreadable, empty, DER, holds no certificate, or is not PEM.
    pub fn load(path: &Path) -> Result<CaBundle, Error> {
        let bytes = match std::fs::read(path) {
            Ok(b) => b,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Err(problem(path, CaFileProblem::Missing, Some(e)));
            }
            Err(e) => return Err(problem(path, CaFileProblem::Unreadable, Some(e))),
        };
        Self::from_pem(path, &bytes)
    }

    /// Parses PEM bytes as if read from `path` (which only labels the evidence). Same errors as
    /// [`CaBundle::load`] except missing/unreadable.
    pub fn from_pem(path: impl AsRef<Path>, bytes: &[u8]) -> Result<CaBundle, Error> {
        Self::parse(path.as_ref(), bytes, false)
    }

    /// Parses PEM text handed to the builder; `label` (e.g. `builder:ca_certs[0]`) names it in
    /// evidence and in the trust store's description, whose source kind is
    /// [`TrustSourceKind::Builder`](crate::error::TrustSourceKind::Builder). Same errors as
    /// [`CaBundle::from_pem`].
    pub fn from_memory(label: &str, bytes: &[u8]) -> Result<CaBundle, Error> {
        Self::parse(Path::new(label), bytes, true)
    }

    fn parse(path: &Path, bytes: &[u8], in_memory: bool) -> Result<CaBundle, Error> {
        if bytes.iter().all(u8::is_ascii_whitespace) {
            return Err(problem(path, CaFileProblem::Empty, None));
        }
        if bytes.starts_with(&[0x30, 0x82]) || bytes.starts_with(&[0x30, 0x81]) {
            return Err(problem(path, CaFileProblem::Der, None));
        }
        let mut certs = Vec::new();
        for item in CertificateDer::pem_slice_iter(bytes) {
            match item {
                Ok(c) => certs.push(c),
                Err(e) => {
                    return Err(problem(path, CaFileProblem::Garbage, None)
                        .map_evidence(|ev| ev.cause = Some(e.to_string())));
                }
            }
        }
        if certs.is_empty() {
            let kind = if has_complete_pem_section(bytes) {
                CaFileProblem::NoCertificates
            } else {
                CaFileProblem::Garbage
            };
            return Err(problem(path, kind, None));
        }
        let now = unix_now();
        let mut summaries = Vec::with_capacity(certs.len());
        for (i, c) in certs.iter().enumerate() {
            match CertSummary::from_der(i, c.as_ref(), now) {
                Ok(s) => summaries.push(s),
                Err(e) => {
                    return Err(
                        problem(path, CaFileProblem::Garbage, None).map_evidence(|ev| {
                            ev.cause = Some(format!("certificate {i} does not parse: {}", e.0));
                        }),
                    );
                }
            }
        }
        Ok(CaBundle {
            inner: Arc::new(Inner {
                path: path.to_path_buf(),
                certs,
                summaries,
                in_memory,
            }),
        })
    }

    /// The file it was read from (for an in-memory bundle, its label).
    pub fn path(&self) -> &Path {
        &self.inner.path
    }

    /// Whether it was handed to the builder in memory rather than read from a file.
    pub fn is_in_memory(&self) -> bool {
        self.inner.in_memory
    }

    /// The certificates, in file order.
    pub fn certs(&self) -> &[CertificateDer<'static>] {
        &self.inner.certs
    }

    /// One summary per certificate, in file order (`index` is the position in the file).
    pub fn summaries(&self) -> &[CertSummary] {
        &self.inner.summaries
    }
}

/// Whether the bytes hold at least one `-----BEGIN X-----` ... `-----END X-----` pair (a PEM file
/// of something other than certificates, e.g. a key), as opposed to junk with a stray marker.
fn has_complete_pem_section(bytes: &[u8]) -> bool {
    let text = String::from_utf8_lossy(bytes);
    let mut rest = text.as_ref();
    while let Some(i) = rest.find("-----BEGIN ") {
        rest = &rest[i + 11..];
        let Some(j) = rest.find("-----") else {
            return false;
        };
        let label = &rest[..j];
        if !label.contains('\n') && rest.contains(&format!("-----END {label}-----")) {
            return true;
        }
    }
    false
}

fn problem(path: &Path, kind: CaFileProblem, io: Option<std::io::Error>) -> Error {
    let shown = path.display().to_string();
    let (message, hint) = match kind {
        CaFileProblem::Missing => (
            format!("CA file {shown} does not exist"),
            "check the path; relative paths resolve against the config file's directory",
        ),
        CaFileProblem::Unreadable => (
            format!("CA file {shown} cannot be read"),
            "make the file readable by this process (and make sure it is a file, not a directory)",
        ),
        CaFileProblem::Empty => (
            format!("CA file {shown} is empty"),
            "put the PEM certificate(s) of the CA (-----BEGIN CERTIFICATE-----) in the file",
        ),
        CaFileProblem::NoCertificates => (
            format!("CA file {shown} holds no PEM certificate"),
            "the file has PEM sections but no CERTIFICATE (a key or CSR?); use the CA's certificate",
        ),
        CaFileProblem::Der => (
            format!("CA file {shown} is DER (binary), not PEM"),
            "convert it: openssl x509 -inform der -in FILE -out FILE.pem",
        ),
        CaFileProblem::Garbage => (
            format!("CA file {shown} is not a PEM certificate file"),
            "the file must contain -----BEGIN CERTIFICATE----- sections with valid base64 DER",
        ),
    };
    let mut err = Error::new(ErrorKind::ConfigCaFile)
        .with_message(message)
        .with_hint(hint)
        .map_evidence(|ev| {
            ev.file = Some(shown);
            ev.ca_file_problem = Some(kind);
        });
    if let Some(io) = io {
        err = err.with_source(io);
    }
    err
}
