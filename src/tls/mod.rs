//! TLS per hop, with certificate diagnostics that name the fix.
//!
//! Each hop (the `https://` proxy, the origin) gets its own [`TlsSettings`] — roots (`webpki`,
//! `system`, `none`), CA files ([`CaBundle`]), ALPN, the oldest TLS version, a client certificate
//! ([`ClientIdentity`]), `danger_accept_invalid_certs` and `danger_accept_invalid_hostnames` —
//! built once into a [`HopTls`]. Every handshake runs with a fresh recording verifier that wraps rustls's
//! `WebPkiServerVerifier`: the presented chain is kept (as [`CertSummary`]s) on success and on
//! failure, and a failure becomes an [`Error`](crate::Error) whose [`TlsEvidence`] holds the chain,
//! the trust store, rustls's words, a [`Diagnosis`] (self-signed, missing intermediate, private
//! CA, a CA file holding the wrong CA, interception, rotated CA, validity, name, plain-HTTP
//! proxy, cut connection) and, when
//! cross-reference finds the issuer in a CA file mentioned anywhere ([`KnownCa`]) or in the
//! system store, the [`Fix`]: the exact key and file to set.
//!
//! ```no_run
//! # async fn run(io: tokio::net::TcpStream) -> Result<(), proxyscope::Error> {
//! use std::path::Path;
//! use std::time::Duration;
//! use proxyscope::tls::{CaBundle, HopTls, TlsSettings};
//!
//! let ca = CaBundle::load(Path::new("/etc/ssl/internal-root.pem"))?;
//! let tls = HopTls::new(TlsSettings::origin().with_key_prefix("providers.yandex").with_ca_file(ca))?;
//! let (_stream, info) = tls.connect("translate.yandex.net", io, Duration::from_secs(5)).await?;
//! println!("leaf expires {}", info.chain[0].not_after);
//! # Ok(()) }
//! ```

mod bundle;
mod cache;
mod chain;
mod client_auth;
mod diagnose;
mod hop;
mod identity;
mod interception;
mod roots;
mod settings;
mod system;
mod verifier;

pub use bundle::{CaBundle, MAX_CA_FILE_SIZE};
pub(crate) use cache::TlsCache;
pub(crate) use chain::rfc3339;
pub use chain::{ChainComparison, compare_chains};
pub use diagnose::diagnose_against_direct;
pub use hop::{HandshakeInfo, HopTls};
pub use identity::{
    ClientIdentity, IdentityError, IdentityPart, IdentityProblem, MAX_IDENTITY_FILE,
};
pub(crate) use interception::{ViaProxy, through_proxy};
pub use settings::{KnownCa, TlsSettings, env_ca_files};
pub use system::{MAX_DIR_ENTRIES, MAX_STORE_BYTES};

// The facts a TLS failure leaves behind are defined with the error that carries them; they are
// re-exported here, where the code that computes them lives.
pub use crate::error::{
    CaFileProblem, CertSummary, ClientCertEvidence, Diagnosis, Fix, NameMismatch, TlsEvidence,
    TrustSource, TrustSourceKind, TrustStore, ValidityIssue, WrongCaFile,
};
pub use crate::proxy::CA_ENV_VARS;
