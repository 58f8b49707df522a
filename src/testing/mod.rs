//! The public test harness (feature `testing`): a local PKI ([`TestPki`]), an HTTP(S) origin
//! ([`TestOrigin`]), a policy-driven forward proxy ([`TestProxy`]) and, for peers that send what
//! no server library would, a raw TCP server ([`RawServer`]) with its request-head reader
//! ([`read_head`]) — everything a test needs to reproduce, on loopback and on demand, the proxy
//! and TLS failures real deployments hit. [`refused_addr`] is an address nothing listens on.
//!
//! The harness is built on hyper, tokio and tokio-rustls directly, never on proxyscope's client,
//! so it can test that client (and any other) from the outside. Enabling the feature adds this
//! module and changes nothing else.
//!
//! # Lifecycle
//! Servers bind `127.0.0.1:0` and run on the current Tokio runtime. Every task a handle starts is
//! owned by that handle: dropping it aborts them and closes its listeners; `shutdown().await`
//! does the same and returns once every socket is closed. A panic inside a server task is
//! re-raised in the owning test by `check()`, by `shutdown()`, or when the handle is dropped.
//!
//! # Example
//! ```
//! use proxyscope::testing::{ChainMode, Policy, TestOrigin, TestPki, TestProxy};
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() {
//! let pki = TestPki::new();
//! let origin = TestOrigin::https(&pki, pki.localhost(), ChainMode::Full).await;
//! let proxy = TestProxy::builder()
//!     .policy(Policy::deny(&["blocked.example"]))
//!     .start()
//!     .await;
//! // Point the client under test at `proxy.url()`, trust `pki.root_pem_path()`,
//! // request `origin.url("/echo")`, then assert on what each side saw:
//! assert!(proxy.connects().is_empty());
//! assert!(origin.requests().is_empty());
//! # }
//! ```

mod body;
mod ca;
mod client_auth;
mod http_proxy;
mod misbehave;
mod origin;
mod pki;
mod policy;
mod proxy;
mod raw;
mod recorded;
mod shared;
mod socks;
mod socks4;
mod tasks;
mod upstream;

pub use ca::TestCa;
pub use client_auth::{ClientAuthRecord, ClientAuthSpec};
pub use origin::{
    MAX_BYTES_ROUTE, MAX_RECORDED_BODY, ORIGIN_FORBIDDEN_BODY, ORIGIN_OK_BODY, ORIGIN_SERVER,
    OriginRequest, TargetForm, TestOrigin,
};
pub use pki::{
    CLIENT_CA_CN, ChainMode, INTERCEPTION_CN, INTERCEPTION_ORG, INTERMEDIATE_CN, LeafSpec, ROOT_CN,
    Signer, TestCert, TestPki, Validity,
};
pub use policy::{
    CannedReply, OVERSIZED_HEADER_BYTES, PROXY_HOST, PROXY_STATUS_ID, Policy, SQUID_SERVER, VIA,
    basic_auth,
};
pub use proxy::{TestProxy, TestProxyBuilder};
pub use raw::{HEAD_DEADLINE, HOLD, MAX_REQUEST_HEAD, RawServer, Script, read_head, refused_addr};
pub use recorded::RECORDED_MAX;
pub use shared::{Handled, Listener, ProxyRequest};
pub use socks::{
    REPLY_ADDRESS_NOT_SUPPORTED, REPLY_COMMAND_NOT_SUPPORTED, REPLY_CONNECTION_REFUSED,
    REPLY_GENERAL_FAILURE, REPLY_HOST_UNREACHABLE, REPLY_NOT_ALLOWED,
};
pub use socks4::{REPLY4_GRANTED, REPLY4_NO_IDENTD, REPLY4_REJECTED, REPLY4_USER_MISMATCH};

/// Why the harness could not set something up (certificate generation, files, TLS config).
#[non_exhaustive]
#[derive(Debug, thiserror::Error)]
pub enum HarnessError {
    /// Writing the PKI's files failed.
    #[error("test PKI file I/O failed")]
    Io(#[from] std::io::Error),
    /// rcgen rejected the certificate parameters (e.g. a name that is not a DNS name or IP).
    #[error("generating a test certificate failed")]
    Certificate(#[from] rcgen::Error),
    /// rustls rejected the TLS configuration.
    #[error("building a test TLS configuration failed")]
    Tls(#[from] rustls::Error),
}
