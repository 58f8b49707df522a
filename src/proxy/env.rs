//! STUB: `EnvSnapshot`.
use serde::Serialize;

/// The proxy-related environment, read once.
#[derive(Debug, Clone, Default)]
pub struct EnvSnapshot {
    vars: Vec<(String, String)>,
}

/// A variable present but ignored, and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct IgnoredVar {
    /// The variable's name.
    pub var: String,
    /// Why it was ignored.
    pub reason: String,
}

/// The result of looking up the proxy for a scheme.
#[derive(Debug, Clone, Default)]
pub struct EnvLookup {
    /// The variable that supplied the value, and the value.
    pub found: Option<(String, String)>,
}

impl EnvSnapshot {
    /// Reads the process environment once.
    pub fn from_process() -> Self {
        Self::from_pairs(std::env::vars())
    }
    /// Builds a snapshot from pairs (tests).
    pub fn from_pairs<K: Into<String>, V: Into<String>>(
        pairs: impl IntoIterator<Item = (K, V)>,
    ) -> Self {
        Self {
            vars: pairs
                .into_iter()
                .map(|(k, v)| (k.into(), v.into()))
                .collect(),
        }
    }
    /// Any variable's value, exactly by name; an empty value counts as unset.
    pub fn var(&self, name: &str) -> Option<&str> {
        self.vars
            .iter()
            .find(|(k, v)| k == name && !v.is_empty())
            .map(|(_, v)| v.as_str())
    }
    /// The proxy variable for a URL scheme, curl's rules.
    pub fn proxy_for(&self, scheme: &str) -> EnvLookup {
        let name = format!("{scheme}_proxy");
        EnvLookup {
            found: self
                .vars
                .iter()
                .find(|(k, v)| *k == name && !v.is_empty())
                .cloned(),
        }
    }
}
