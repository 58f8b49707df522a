//! Proxy auto-config (feature `pac`), one test binary: every helper against browser semantics,
//! a corporate PAC file through every branch with the cache and the resolve-again cycle, hostile
//! scripts ending in their codes, the lint's findings, and property tests of the answer parser.

mod eval;
mod helpers;
mod hostile;
mod lint;
mod prop_result;
