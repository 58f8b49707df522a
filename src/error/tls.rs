//! What a TLS failure leaves behind: [`TlsEvidence`] (the presented chain as [`CertSummary`]s,
//! the SNI, the time, the [`TrustStore`], rustls's own words), the machine-readable
//! [`Diagnosis`], the [`Fix`] found by cross-referencing every CA file the configuration and
//! environment mention, and why a CA file cannot be used ([`CaFileProblem`]).
//!
//! Only the facts live here, so that [`Error`](super::Error) can carry them without depending on
//! the TLS machinery; the `tls` module computes them (x509 parsing, trust stores, diagnosis).

use std::fmt::Write as _;

use serde::Serialize;

use super::Hop;
use crate::settings::Roots;

/// The most likely cause of a TLS failure, as a bounded set (safe as a metric label).
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Diagnosis {
    /// The server presented a single self-signed certificate that is not trusted.
    SelfSigned,
    /// The server sent only its leaf, whose issuer is not trusted: usually a missing
    /// intermediate certificate (or a private CA that is not configured).
    MissingIntermediate,
    /// The chain leads to a private CA that is not in the trust store.
    UntrustedPrivateCa,
    /// A public-looking host presented a chain from a private CA, or a chain different from
    /// the one seen on the direct path: TLS interception.
    Interception,
    /// The trust store holds a CA with the issuer's name but a different key (re-keyed or rotated).
    RotatedCa,
    /// The hop's own CA file holds a different CA from the one the chain ends at (see
    /// [`TlsEvidence::wrong_ca_file`]): the file was meant for this server but holds the wrong
    /// certificate.
    WrongCaFile,
    /// A certificate's notAfter is in the past (see [`TlsEvidence::validity`]).
    Expired,
    /// A certificate's notBefore is in the future (see [`TlsEvidence::validity`]).
    NotYetValid,
    /// The certificate does not name the host.
    HostnameMismatch,
    /// The `https://` proxy answered in plain text: it is an `http://` proxy.
    PlainHttpProxy,
    /// The origin answered in plain text: the port does not speak TLS.
    NotTls,
    /// The peer closed or reset the connection during the handshake (firewall, DPI, wrong port).
    ConnectionCut,
    /// The handshake did not finish in time.
    Stalled,
    /// The server asked for a client certificate and none was configured for the hop
    /// (see [`TlsEvidence::client_cert`]).
    ClientCertRequired,
    /// The server rejected the client certificate that was presented (see
    /// [`TlsEvidence::client_cert`]).
    ClientCertRejected,
    /// Anything else; see [`TlsEvidence::rustls_error`].
    Other,
}

impl Diagnosis {
    /// The stable snake_case name, as serialised.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::SelfSigned => "self_signed",
            Self::MissingIntermediate => "missing_intermediate",
            Self::UntrustedPrivateCa => "untrusted_private_ca",
            Self::Interception => "interception",
            Self::RotatedCa => "rotated_ca",
            Self::WrongCaFile => "wrong_ca_file",
            Self::Expired => "expired",
            Self::NotYetValid => "not_yet_valid",
            Self::HostnameMismatch => "hostname_mismatch",
            Self::PlainHttpProxy => "plain_http_proxy",
            Self::NotTls => "not_tls",
            Self::ConnectionCut => "connection_cut",
            Self::Stalled => "stalled",
            Self::ClientCertRequired => "client_cert_required",
            Self::ClientCertRejected => "client_cert_rejected",
            Self::Other => "other",
        }
    }
}

/// Which certificate is outside its validity window, and by how much.
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ValidityIssue {
    /// Index in the presented chain (0 = leaf).
    pub index: usize,
    /// Whether that certificate is self-issued (a root), for naming its role.
    pub self_issued: bool,
    /// That certificate's subject.
    pub subject: String,
    /// Seconds past notAfter (expired) or until notBefore (not yet valid).
    pub seconds: i64,
    /// The notAfter (expired) or notBefore (not yet valid) it crossed, RFC 3339 UTC.
    pub at: String,
    /// The offset is under a day: the local clock may be wrong.
    pub clock_hint: bool,
}

/// The name the client asked for and the names the certificate carries.
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct NameMismatch {
    /// The SNI / host name that was verified.
    pub expected: String,
    /// The leaf's DNS and IP SANs.
    pub presented: Vec<String>,
}

/// A CA file configured for the hop that holds other CAs than the one the chain ends at.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct WrongCaFile {
    /// The file, as configured.
    pub file: String,
    /// The setting that names it, e.g. `providers.yandex.ca_file`.
    pub key: String,
    /// The subjects of the certificates it holds.
    pub holds: Vec<String>,
    /// The issuer the presented chain ends at (the CA the file should hold).
    pub chain_ends_at: String,
}

/// The setting that would make the chain verify, found by cross-reference.
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Fix {
    /// The exact key to set, e.g. `providers.yandex.ca_file` or `roots`.
    pub key: String,
    /// The file to set it to, when the fix is a CA file.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub file: Option<String>,
    /// The value to set, when the fix is not a file (e.g. `system` for `roots`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub value: Option<String>,
    /// Where the issuer was found: a config key (`providers.other.ca_file`), an environment
    /// variable (`SSL_CERT_FILE`) or `system store`.
    pub found_in: String,
}

/// TLS facts attached to an error (`Evidence::tls`).
#[non_exhaustive]
#[derive(Debug, Clone, Serialize)]
pub struct TlsEvidence {
    /// The hop whose handshake failed.
    pub hop: Hop,
    /// The server name sent (SNI) and verified.
    pub sni: String,
    /// The presented chain, leaf first; empty when the server sent none. At most 16
    /// certificates are described; `chain_omitted` counts the rest.
    pub chain: Vec<CertSummary>,
    /// Certificates presented after the 16 described in `chain`.
    #[serde(skip_serializing_if = "is_zero")]
    pub chain_omitted: usize,
    /// The verification time, RFC 3339 (clock-skew evidence).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub verified_at: Option<String>,
    /// The trust store the chain was checked against.
    pub trust_store: TrustStore,
    /// rustls's (or the I/O layer's) error text.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rustls_error: Option<String>,
    /// The most likely cause.
    pub diagnosis: Diagnosis,
    /// The untrusted issuer DN, for issuer-type diagnoses.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub untrusted_issuer: Option<String>,
    /// The CA file holding the stale CA, for [`Diagnosis::RotatedCa`].
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stale_ca_file: Option<String>,
    /// The hop's CA file that holds the wrong CA, for [`Diagnosis::WrongCaFile`].
    #[serde(skip_serializing_if = "Option::is_none")]
    pub wrong_ca_file: Option<WrongCaFile>,
    /// Which certificate is outside its validity window.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub validity: Option<ValidityIssue>,
    /// The name mismatch, reported even when the chain also failed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub also_name_mismatch: Option<NameMismatch>,
    /// The setting that would fix it, when cross-reference found one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fix: Option<Fix>,
    /// Client-certificate facts, when the server asked for one or one was configured.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub client_cert: Option<ClientCertEvidence>,
}

/// What happened with client authentication on one handshake: whether the server asked, which
/// CAs it said it accepts, and what was presented.
#[non_exhaustive]
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct ClientCertEvidence {
    /// The server sent a CertificateRequest.
    pub requested: bool,
    /// The subjects of the CAs the server said it accepts (from its CertificateRequest), in its
    /// order; empty when it named none (then any certificate may be tried).
    /// At most 32 are listed; `acceptable_cas_omitted` counts the rest.
    pub acceptable_cas: Vec<String>,
    /// CAs the server named after the 32 listed in `acceptable_cas`.
    #[serde(skip_serializing_if = "is_zero")]
    pub acceptable_cas_omitted: usize,
    /// The certificate presented (the leaf of the configured chain); `None` when none was
    /// configured for this hop.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub presented: Option<CertSummary>,
    /// Whether the presented certificate's issuer is among [`acceptable_cas`]
    /// (`None` when nothing was presented or the server named no CA).
    ///
    /// [`acceptable_cas`]: ClientCertEvidence::acceptable_cas
    #[serde(skip_serializing_if = "Option::is_none")]
    pub issuer_accepted: Option<bool>,
    /// The TLS alert the server sent, e.g. `certificate_required`, `bad_certificate`,
    /// `unknown_ca`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub alert: Option<String>,
    /// The configuration key that sets this hop's certificate, e.g.
    /// `providers.partner.client_cert` or `proxy_client_cert`.
    pub key: String,
}

impl ClientCertEvidence {
    /// Lines for reports, each prefixed by `indent`.
    pub fn report_lines(&self, indent: &str) -> String {
        let mut out = format!(
            "{indent}client certificate: {}",
            if self.requested {
                "requested by the server"
            } else {
                "not requested by the server"
            }
        );
        if !self.acceptable_cas.is_empty() {
            let _ = write!(
                out,
                "\n{indent}  acceptable CAs: {}",
                self.acceptable_cas.join("; ")
            );
            if self.acceptable_cas_omitted > 0 {
                let _ = write!(out, " and {} more", self.acceptable_cas_omitted);
            }
        }
        match &self.presented {
            Some(c) => {
                let _ = write!(
                    out,
                    "\n{indent}  presented: s: {}\n{indent}             i: {}\n{indent}             valid {} .. {} ({} days left)",
                    c.subject, c.issuer, c.not_before, c.not_after, c.days_left
                );
            }
            None => {
                let _ = write!(out, "\n{indent}  presented: none ({} is not set)", self.key);
            }
        }
        if let Some(a) = &self.alert {
            let _ = write!(out, "\n{indent}  server alert: {a}");
        }
        out
    }
}

impl TlsEvidence {
    /// Lines for `Error::report`, each prefixed by `indent`.
    pub fn report_lines(&self, indent: &str) -> String {
        let mut out = format!("{indent}tls ({}): sni {}", self.hop, self.sni);
        if let Some(t) = &self.verified_at {
            let _ = write!(out, ", verified at {t}");
        }
        for c in &self.chain {
            let left = if c.days_left < 0 {
                format!("expired {} ago", human_duration(-c.days_left * 86_400))
            } else {
                format!("{} days left", c.days_left)
            };
            let _ = write!(
                out,
                "\n{indent}  [{}] {}: s: {}\n{indent}      i: {}\n{indent}      valid {} .. {} ({left}){}{}\n{indent}      sha256 {}",
                c.index,
                c.position(),
                c.subject,
                c.issuer,
                c.not_before,
                c.not_after,
                if c.is_ca { ", CA" } else { "" },
                match (c.sans.is_empty(), c.sans_omitted) {
                    (true, _) => String::new(),
                    (false, 0) => format!(", SANs {}", c.sans.join(",")),
                    (false, n) => format!(", SANs {} and {n} more", c.sans.join(",")),
                },
                c.sha256
            );
        }
        if self.chain.is_empty() {
            let _ = write!(out, "\n{indent}  no certificate was presented");
        }
        if self.chain_omitted > 0 {
            let _ = write!(
                out,
                "\n{indent}  and {} more certificate(s), not described",
                self.chain_omitted
            );
        }
        let _ = write!(
            out,
            "\n{indent}  trust store: {}",
            self.trust_store.describe()
        );
        let _ = write!(out, "\n{indent}  diagnosis: {}", self.diagnosis.as_str());
        if let Some(v) = &self.validity {
            let _ = write!(
                out,
                " ({} `{}`, {}{})",
                v.position(),
                v.subject,
                v.describe(self.diagnosis == Diagnosis::Expired),
                if v.clock_hint {
                    "; check the clock"
                } else {
                    ""
                }
            );
        }
        if let Some(i) = &self.untrusted_issuer {
            let _ = write!(out, "\n{indent}  untrusted issuer: {i}");
        }
        if let Some(w) = &self.wrong_ca_file {
            let _ = write!(
                out,
                "\n{indent}  {} = {} holds {}; the chain ends at {}",
                w.key,
                w.file,
                w.holds.join(" + "),
                w.chain_ends_at
            );
        }
        if let Some(m) = &self.also_name_mismatch {
            let _ = write!(
                out,
                "\n{indent}  also: not valid for {} (names: {})",
                m.expected,
                m.presented.join(", ")
            );
        }
        if let Some(f) = &self.fix {
            match (&f.file, &f.value) {
                (Some(file), _) => {
                    let _ = write!(
                        out,
                        "\n{indent}  fix: {} = \"{file}\" (issuer found via {})",
                        f.key, f.found_in
                    );
                }
                (None, Some(v)) => {
                    let _ = write!(
                        out,
                        "\n{indent}  fix: {} = \"{v}\" (issuer found in {})",
                        f.key, f.found_in
                    );
                }
                (None, None) => {}
            }
        }
        if let Some(c) = &self.client_cert {
            let _ = write!(out, "\n{}", c.report_lines(&format!("{indent}  ")));
        }
        if let Some(e) = &self.rustls_error {
            let _ = write!(out, "\n{indent}  rustls: {e}");
        }
        out
    }
}

/// A span of time for people: `45 seconds`, `12 minutes`, `5 hours`, `30 days`.
pub(crate) fn human_duration(seconds: i64) -> String {
    let s = seconds.unsigned_abs();
    let (n, unit) = match s {
        0..120 => (s, "second"),
        120..7_200 => (s / 60, "minute"),
        7_200..172_800 => (s / 3_600, "hour"),
        _ => (s / 86_400, "day"),
    };
    format!("{n} {unit}{}", if n == 1 { "" } else { "s" })
}

/// The date part of an RFC 3339 timestamp (`2024-01-02T03:04:05Z` → `2024-01-02`).
pub(crate) fn date_of(rfc3339: &str) -> &str {
    rfc3339.split('T').next().unwrap_or(rfc3339)
}

/// A certificate's role in a presented chain, for people: `the server's certificate`,
/// `intermediate 1`, `the root`.
pub(crate) fn position_name(index: usize, self_issued: bool) -> String {
    match (index, self_issued) {
        (0, _) => "the server's certificate".to_owned(),
        (_, true) => "the root".to_owned(),
        (i, false) => format!("intermediate {i}"),
    }
}

impl ValidityIssue {
    /// The certificate's role: `the server's certificate`, `intermediate 1`, `the root`.
    pub fn position(&self) -> String {
        position_name(self.index, self.self_issued)
    }

    /// `expired on 2024-01-02 (30 days ago)` or `valid only from 2031-05-06 (in 3 hours)`.
    pub fn describe(&self, expired: bool) -> String {
        let when = human_duration(self.seconds);
        if expired {
            format!("expired on {} ({when} ago)", date_of(&self.at))
        } else {
            format!("valid only from {} (in {when})", date_of(&self.at))
        }
    }
}

/// One certificate, described (subject, issuer, SANs, validity, fingerprint, serial) the way
/// `openssl s_client` and blackbox_exporter do. Summaries are computed from the DER the server
/// sent, so they exist even when the chain was rejected.
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CertSummary {
    /// Position in the presented chain (0 = leaf), or in the bundle.
    pub index: usize,
    /// The subject DN, e.g. `CN=api.example.org, O=Example`.
    pub subject: String,
    /// The issuer DN.
    pub issuer: String,
    /// DNS names and IP addresses from subjectAltName, cleaned (no `DnsName("…")` wrapping); at
    /// most 64, `sans_omitted` counts the rest.
    pub sans: Vec<String>,
    /// Names in subjectAltName after the 64 listed in `sans`.
    #[serde(skip_serializing_if = "is_zero")]
    pub sans_omitted: usize,
    /// notBefore, RFC 3339 UTC.
    pub not_before: String,
    /// notAfter, RFC 3339 UTC.
    pub not_after: String,
    /// notBefore as UNIX seconds.
    pub not_before_unix: i64,
    /// notAfter as UNIX seconds.
    pub not_after_unix: i64,
    /// Whole days from now until notAfter (negative once expired), at the time of the summary.
    pub days_left: i64,
    /// basicConstraints CA:TRUE.
    pub is_ca: bool,
    /// Subject equals issuer (a root, or a self-signed server certificate).
    pub self_issued: bool,
    /// SHA-256 of the DER, lowercase hex.
    pub sha256: String,
    /// The serial number, lowercase hex of its bytes (leading zeros kept).
    pub serial: String,
    /// The DER of the subject name, for matching issuers to subjects. Not serialised.
    #[serde(skip)]
    pub(crate) subject_der: Vec<u8>,
    /// The DER of the issuer name. Not serialised.
    #[serde(skip)]
    pub(crate) issuer_der: Vec<u8>,
    /// The DER of the subjectPublicKeyInfo. Not serialised.
    #[serde(skip)]
    pub(crate) spki_der: Vec<u8>,
}

impl CertSummary {
    /// The role for people: `the server's certificate`, `intermediate 1`, `the root`.
    pub fn position(&self) -> String {
        position_name(self.index, self.self_issued)
    }

    /// A short role for reports: `leaf`, `intermediate` or `root-like` (self-issued CA).
    pub fn role(&self) -> &'static str {
        if self.index == 0 {
            "leaf"
        } else if self.self_issued {
            "root-like"
        } else {
            "intermediate"
        }
    }

    /// Whether `now` (UNIX seconds) is inside the validity window.
    pub fn is_valid_at(&self, now: i64) -> bool {
        self.not_before_unix <= now && now <= self.not_after_unix
    }
}

/// Where trust anchors came from.
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum TrustSourceKind {
    /// Mozilla's roots bundled through `webpki-roots`.
    Webpki,
    /// The operating system's store (`rustls-native-certs`).
    System,
    /// A configured CA file.
    CaFile,
    /// CA certificates handed to the builder in memory (`ca_certs`, `proxy_ca_certs`).
    Builder,
}

/// One source of trust anchors and how many anchors it gave.
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TrustSource {
    /// What kind of source.
    pub kind: TrustSourceKind,
    /// The file, for `ca_file` sources.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
    /// Anchors added.
    pub anchors: usize,
    /// Certificates that could not be used as anchors.
    #[serde(skip_serializing_if = "is_zero")]
    pub rejected: usize,
}

fn is_zero(n: &usize) -> bool {
    *n == 0
}

/// The trust store a hop verified against.
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TrustStore {
    /// The `roots` setting.
    pub roots: Roots,
    /// Every source, in the order added.
    pub sources: Vec<TrustSource>,
}

impl TrustStore {
    /// Total anchors over all sources.
    pub fn anchors(&self) -> usize {
        self.sources.iter().map(|s| s.anchors).sum()
    }

    /// One line: `webpki (146 anchors) + ca_file /etc/ssl/x.pem (1 anchor)`.
    pub fn describe(&self) -> String {
        if self.sources.is_empty() {
            return "empty (roots = \"none\" and no ca_file)".to_owned();
        }
        let parts: Vec<String> = self
            .sources
            .iter()
            .map(|s| {
                let name = match (s.kind, &s.path) {
                    (TrustSourceKind::Webpki, _) => "webpki".to_owned(),
                    (TrustSourceKind::System, _) => "system".to_owned(),
                    (TrustSourceKind::CaFile, Some(p)) => format!("ca_file {p}"),
                    (TrustSourceKind::CaFile, None) => "ca_file".to_owned(),
                    (TrustSourceKind::Builder, Some(p)) => p.clone(),
                    (TrustSourceKind::Builder, None) => "builder".to_owned(),
                };
                let plural = if s.anchors == 1 { "" } else { "s" };
                format!("{name} ({} anchor{plural})", s.anchors)
            })
            .collect();
        parts.join(" + ")
    }
}

/// Why a CA file cannot be used.
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum CaFileProblem {
    /// The file does not exist.
    Missing,
    /// The file exists but cannot be read (permissions, I/O error).
    Unreadable,
    /// The path is not a regular file (a directory, FIFO, device or socket); it was not opened.
    NotRegular,
    /// The file is larger than the cap on CA files (see `evidence().size_limit`).
    TooLarge,
    /// The file is empty or only whitespace.
    Empty,
    /// The file is PEM but holds no `CERTIFICATE` section (e.g. only a private key).
    NoCertificates,
    /// The file is DER (binary), not PEM.
    Der,
    /// The file is neither PEM nor DER, or a PEM section is broken.
    Garbage,
    /// A certificate section starts but the file ends before it does (no `-----END
    /// CERTIFICATE-----`, or base64 that stops mid-certificate): a copy or download cut short.
    Truncated,
}

impl CaFileProblem {
    /// The stable snake_case name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Missing => "missing",
            Self::Unreadable => "unreadable",
            Self::NotRegular => "not_regular",
            Self::TooLarge => "too_large",
            Self::Empty => "empty",
            Self::NoCertificates => "no_certificates",
            Self::Der => "der",
            Self::Garbage => "garbage",
            Self::Truncated => "truncated",
        }
    }
}
