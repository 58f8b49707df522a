//! STUB: client.
use serde::Serialize;

/// Who produced an HTTP response received through a proxy, and why we think so.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Attribution {
    /// `proxy` or `origin`.
    pub source: crate::error::Hop,
    /// The evidence that decided it.
    pub reasons: Vec<String>,
}
