//! [`Attempt`]: one candidate of a proxy list or PAC answer that was tried for a request and
//! failed, kept in the final error's evidence so every failure of a failover is visible.

use serde::Serialize;

use super::Error;

/// One failed try of a failover.
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Attempt {
    /// The candidate's position among the candidates, from 0.
    pub index: usize,
    /// The candidate as written (`PROXY a:3128`, `http://a:3128`, `direct`), no credentials.
    pub candidate: String,
    /// The failure's code (`proxy.connect`, `origin.dns`, ...).
    pub code: String,
    /// The hop that failed (`proxy`, `origin`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hop: Option<String>,
    /// The phase that failed (`connect`, `dns`, `proxy`, ...).
    pub phase: String,
    /// The failure's message.
    pub message: String,
}

impl Attempt {
    pub(crate) fn of(index: usize, candidate: &str, e: &Error) -> Self {
        Self {
            index,
            candidate: candidate.to_owned(),
            code: e.code().to_owned(),
            hop: e.hop().map(|h| h.to_string()),
            phase: e.phase().to_string(),
            message: e.message(),
        }
    }
}
