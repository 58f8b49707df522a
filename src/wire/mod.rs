//! Everything that reads bytes a peer sent, without I/O: the HTTP reply head of a proxy (bounded,
//! split-read safe) with its body excerpt, evidence headers and authentication challenges; a
//! SOCKS5 reply; a SOCKS4/4a reply and request; the signatures proxies leave on replies they write themselves (Squid error names
//! and templates, `Proxy-Status`, tinyproxy); what a refusal means ([`ErrorKind`]); and who wrote
//! a response that came through a proxy ([`Attribution`]).
//!
//! The connector and the client do the reading and ask this module what the bytes say, so every
//! parser here is pure, bounded and fuzzed. It is not public API: the `fuzzing` feature exposes it
//! (hidden from the docs) to the fuzz targets and property tests only.
//!
//! [`ErrorKind`]: crate::ErrorKind
//! [`Attribution`]: crate::error::Attribution

// Without the `fuzzing` feature these items are crate-internal; the `pub` marks what the fuzz
// targets reach.
#![cfg_attr(not(feature = "fuzzing"), allow(unreachable_pub, unused_imports))]

mod attribution;
mod classify;
mod reply;
mod signatures;
// Ready for the SOCKS4 connector, which does not exist yet: until it does, only the fuzz
// targets and property tests (feature `fuzzing`) use it.
#[cfg_attr(not(feature = "fuzzing"), allow(dead_code))]
mod socks4;
mod socks5;
mod upstream;

pub(crate) use attribution::{attribute, source_of};
pub use classify::{Classified, classify};
pub(crate) use reply::{Framing, MAX_EXCERPT_SCAN, dechunk, excerpt, framing, reply_challenges};
pub use reply::{
    Head, MAX_HEAD, Parsed, auth_challenges, evidence_headers, parse as parse_reply_head,
    parse_bounded as parse_reply_head_bounded,
};
pub use signatures::{proxy_status_error, squid_error};
pub use socks4::{
    MAX_FIELD_LEN as SOCKS4_MAX_FIELD_LEN, REPLY_LEN as SOCKS4_REPLY_LEN, Socks4Dest, Socks4Reply,
    Socks4RequestError, build_request as socks4_request, parse_reply as parse_socks4_reply,
    reply_meaning as socks4_reply_meaning,
};
pub use socks5::{
    Socks5Reply, parse_reply as parse_socks5_reply, reply_meaning as socks5_reply_meaning,
};
pub use upstream::{errno_words, squid_errno, upstream_failure};
