//! Proxy values at the edge: [`ProxyUrl`] (parse, default ports, redaction), [`NoProxy`]
//! (curl's matching, with diagnostics), the environment snapshot [`EnvSnapshot`] (curl's
//! variable rules, read once), and models of what other clients would do with the same values
//! ([`peers`]), so that routes and lint can warn where the stack disagrees.

mod env;
mod no_proxy;
mod no_proxy_entry;
mod no_proxy_lint;
mod no_proxy_names;
pub mod peers;
pub mod redact;
mod url;

pub use crate::diagnostic::Severity;
pub use env::{CA_ENV_VARS, EnvLookup, EnvNoProxy, EnvSnapshot, EnvVar, IgnoredReason, IgnoredVar};
pub use no_proxy::{MatchRule, NoProxy, NoProxyMatch};
pub use no_proxy_lint::{NoProxyDiagnostic, NoProxyIssue};
pub use peers::{PeerNote, PeerView, Tool};
pub use redact::{
    Secrets, is_secret_param, redact_list, redact_parsed_url, redact_text, redact_url,
};
pub use url::{ProxyScheme, ProxyUrl, ProxyUrlError, ProxyUrlErrorKind, ProxyUrlNote};
