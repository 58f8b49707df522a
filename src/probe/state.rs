//! The [`State`] of a check or a run, in Nagios plugin terms (0 OK, 1 WARNING, 2 CRITICAL,
//! 3 UNKNOWN): results carry it and every renderer reads it.

use std::fmt;

use serde::Serialize;

/// A Nagios state. Ordered by severity for OK/WARNING/CRITICAL; UNKNOWN sorts last so that a run
/// that could not happen is never reported as merely critical.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum State {
    /// Everything as expected.
    #[default]
    Ok,
    /// Works, but needs attention (certificate expiring soon, a body expectation failed).
    Warning,
    /// A check failed.
    Critical,
    /// The probe itself could not run.
    Unknown,
}

impl State {
    /// The plugin exit code: 0, 1, 2 or 3.
    pub fn exit_code(self) -> u8 {
        match self {
            Self::Ok => 0,
            Self::Warning => 1,
            Self::Critical => 2,
            Self::Unknown => 3,
        }
    }

    /// `OK`, `WARNING`, `CRITICAL` or `UNKNOWN`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Ok => "OK",
            Self::Warning => "WARNING",
            Self::Critical => "CRITICAL",
            Self::Unknown => "UNKNOWN",
        }
    }
}

impl fmt::Display for State {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}
