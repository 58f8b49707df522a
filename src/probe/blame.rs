//! Who must act on a failed check — `local_config`, `proxy`, `origin` or `network` — so an alert
//! can be routed to the team that can fix it: a CA missing from the local trust store surfaces at
//! the origin hop but is fixed in the local configuration; a Squid `ERR_ACCESS_DENIED` is the
//! proxy team's, whatever the origin is doing.
//!
//! The blame is the library error's own ([`Error::blame`](crate::Error::blame)), decided where the
//! failure was observed and copied into the [`CheckError`]; every renderer asks [`of`].

use crate::error::Blame;

use super::report::CheckError;

/// Every blame value, the bounded label set of `proxyscope_check_error{blame}`.
pub const ALL: [&str; 4] = [
    Blame::LocalConfig.as_str(),
    Blame::Proxy.as_str(),
    Blame::Origin.as_str(),
    Blame::Network.as_str(),
];

/// Who must act on `error`: `local_config`, `proxy`, `origin` or `network`.
pub fn of(error: &CheckError) -> &'static str {
    error.blame.as_str()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::{Error, ErrorKind, Hop};

    #[test]
    fn every_kind_has_a_blame_from_the_bounded_set() {
        for &kind in ErrorKind::ALL {
            let e = CheckError::from_error(&Error::new(kind));
            assert!(ALL.contains(&of(&e)), "{kind}: {}", of(&e));
            assert_eq!(of(&e), Error::new(kind).blame().as_str());
        }
        assert_eq!(ALL.len(), Blame::ALL.len());
    }

    #[test]
    fn the_check_keeps_the_errors_own_blame() {
        let e = Error::new(ErrorKind::HttpStatus).with_hop(Hop::Proxy);
        assert_eq!(of(&CheckError::from_error(&e)), "proxy");
        let e = Error::new(ErrorKind::ProxyForbidden).with_blame(Blame::LocalConfig);
        assert_eq!(of(&CheckError::from_error(&e)), "local_config");
    }
}
