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
use crate::error::{CaFileProblem, CertSummary, Error, ErrorKind, SizeLimit};
use crate::file::{self, FileProblem};

/// The largest CA file read (8 MiB; the whole Mozilla bundle is about 0.2 MiB). A larger one is
/// `config.ca_file` with [`CaFileProblem::TooLarge`].
pub const MAX_CA_FILE_SIZE: u64 = file::MAX_CA_FILE;

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
    /// unreadable, not a regular file (a directory, FIFO, device or socket is never opened),
    /// larger than [`MAX_CA_FILE_SIZE`] (the sizes in `evidence().size_limit`), empty, DER,
    /// holds no certificate, or is not PEM.
    pub fn load(path: &Path) -> Result<CaBundle, Error> {
        let bytes = file::read(path, MAX_CA_FILE_SIZE).map_err(|e| {
            let kind = match e.problem {
                FileProblem::Missing => CaFileProblem::Missing,
                FileProblem::Unreadable => CaFileProblem::Unreadable,
                FileProblem::NotRegular(_) => CaFileProblem::NotRegular,
                FileProblem::TooLarge { .. } => CaFileProblem::TooLarge,
            };
            let message = format!("CA file {e}");
            let err = problem(path, kind, e.io).with_message(message);
            match e.problem {
                FileProblem::TooLarge {
                    limit,
                    seen,
                    announced,
                } => err.map_evidence(|ev| {
                    ev.size_limit = Some(SizeLimit {
                        limit,
                        seen,
                        announced,
                    });
                }),
                _ => err,
            }
        })?;
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
                // A certificate section that never ends: the file was cut short.
                Err(e @ rustls_pki_types::pem::Error::MissingSectionEnd { .. })
                    if is_certificate_end(&e) =>
                {
                    return Err(truncated(path, certs.len(), "its END line is missing")
                        .map_evidence(|ev| ev.cause = Some(e.to_string())));
                }
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
                // The parser's words (`NomError(Eof)`) stay in the cause, not the headline.
                Err(e) if der_is_cut(c.as_ref()) => {
                    return Err(
                        truncated(path, i, "its base64 stops before the certificate ends")
                            .map_evidence(|ev| {
                                ev.cause =
                                    Some(format!("certificate {} does not parse: {}", i + 1, e.0));
                            }),
                    );
                }
                Err(e) => {
                    return Err(
                        problem(path, CaFileProblem::Garbage, None).map_evidence(|ev| {
                            ev.cause =
                                Some(format!("certificate {} does not parse: {}", i + 1, e.0));
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

fn is_certificate_end(e: &rustls_pki_types::pem::Error) -> bool {
    match e {
        rustls_pki_types::pem::Error::MissingSectionEnd { end_marker } => {
            end_marker.windows(11).any(|w| w == b"CERTIFICATE")
        }
        _ => false,
    }
}

/// Whether a DER value declares more bytes than it has: a certificate whose PEM was cut short.
fn der_is_cut(der: &[u8]) -> bool {
    let (Some(&0x30), Some(&first)) = (der.first(), der.get(1)) else {
        return false;
    };
    let (declared, header) = if first < 0x80 {
        (usize::from(first), 2)
    } else {
        let n = usize::from(first & 0x7f);
        if n == 0 || n > 4 || der.len() < 2 + n {
            return false;
        }
        let len = der[2..2 + n]
            .iter()
            .fold(0usize, |acc, b| (acc << 8) | usize::from(*b));
        (len, 2 + n)
    };
    der.len() < header + declared
}

/// `config.ca_file` for a file cut short: `complete` certificates parsed before the cut one.
fn truncated(path: &Path, complete: usize, why: &str) -> Error {
    let shown = path.display().to_string();
    let before = match complete {
        0 => String::new(),
        1 => " (after 1 complete certificate)".to_owned(),
        n => format!(" (after {n} complete certificates)"),
    };
    Error::new(ErrorKind::ConfigCaFile)
        .with_message(format!(
            "CA file {shown} is truncated: certificate {} starts but {why}{before}",
            complete + 1
        ))
        .with_hint(format!(
            "{shown} was cut short (an interrupted copy or download): fetch the CA certificate again; \
             every -----BEGIN CERTIFICATE----- needs its base64 and its -----END CERTIFICATE-----"
        ))
        .map_evidence(|ev| {
            ev.file = Some(shown);
            ev.ca_file_problem = Some(CaFileProblem::Truncated);
        })
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
        CaFileProblem::NotRegular => (
            format!("CA file {shown} is not a regular file"),
            "point at the PEM file itself; directories, pipes, devices and sockets are not read",
        ),
        CaFileProblem::TooLarge => (
            format!("CA file {shown} is too large"),
            "a CA bundle is at most a few hundred KiB; point at the PEM file of the CA(s) you need",
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
        CaFileProblem::Truncated => (
            format!("CA file {shown} is truncated"),
            "the file was cut short: fetch the CA certificate again",
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
