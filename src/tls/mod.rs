//! STUB: TLS per hop.
use serde::Serialize;

/// TLS facts attached to an error.
#[derive(Debug, Clone, Default, Serialize)]
pub struct TlsEvidence {}

impl TlsEvidence {
    /// Lines for `Error::report`, each prefixed by `indent`.
    pub fn report_lines(&self, indent: &str) -> String {
        indent.to_owned()
    }
}
