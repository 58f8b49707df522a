//! STUB: route resolution.
use crate::proxy::ProxyUrl;
use serde::Serialize;

/// The decision for one (provider, URL).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Route {
    /// The URL.
    pub url: String,
    /// The provider, if any.
    pub provider: Option<String>,
    /// The proxy, when not direct.
    pub proxy: Option<ProxyUrl>,
}

impl Route {
    /// The proxy, or `None` for a direct route.
    pub fn proxy(&self) -> Option<&ProxyUrl> {
        self.proxy.as_ref()
    }
    /// One line: `direct` or `via http://proxy:3128 (from ...)`.
    pub fn summary(&self) -> String {
        match &self.proxy {
            Some(p) => format!("via {p}"),
            None => "direct".into(),
        }
    }
}
