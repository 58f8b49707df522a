//! Proxy values at the edge: [`ProxyUrl`] (parse, default ports, redaction), [`NoProxy`]
//! (curl's matching, with diagnostics and what other clients would do), and the environment
//! snapshot [`EnvSnapshot`] (curl's variable rules, read once).

mod env;
mod no_proxy;
mod url;

pub use env::{EnvLookup, EnvSnapshot, IgnoredVar};
pub use no_proxy::{NoProxy, NoProxyDiagnostic, NoProxyMatch};
pub use url::{ProxyScheme, ProxyUrl, ProxyUrlError};

/// Redacts `user:password@` (and `user@`) in every URL-looking part of `text`.
/// Used on any text that may carry a proxy URL before it is displayed or logged.
pub fn redact_text(text: &str) -> String {
    // STUB: replaced by the proxy module's implementation.
    text.to_owned()
}
