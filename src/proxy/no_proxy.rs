//! STUB: `NoProxy`.
use serde::Serialize;

/// A parsed `no_proxy` list with curl's matching.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct NoProxy {
    entries: Vec<String>,
}

/// Which entry matched a host.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct NoProxyMatch {
    /// The entry as written.
    pub entry: String,
}

/// A rejected or suspicious entry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct NoProxyDiagnostic {
    /// The entry as written.
    pub entry: String,
    /// Why.
    pub reason: String,
}

impl NoProxy {
    /// Parses a comma-separated list (an environment value). Never fails.
    pub fn parse(s: &str) -> Self {
        Self::from_entries(s.split(','))
    }
    /// Builds from a list of entries (a config array). Never fails.
    pub fn from_entries<'a>(entries: impl IntoIterator<Item = &'a str>) -> Self {
        Self {
            entries: entries
                .into_iter()
                .map(|e| e.trim().to_owned())
                .filter(|e| !e.is_empty())
                .collect(),
        }
    }
    /// The entry that matches `host`, if any.
    pub fn matches(&self, host: &str) -> Option<NoProxyMatch> {
        self.entries
            .iter()
            .find(|e| e.as_str() == host)
            .map(|e| NoProxyMatch { entry: e.clone() })
    }
    /// Diagnostics for rejected or suspicious entries.
    pub fn diagnostics(&self) -> &[NoProxyDiagnostic] {
        &[]
    }
}
