//! What the integration-test binaries share on top of the public harness
//! (`proxyscope::testing`, which provides every server): finding and running the `probe`
//! example, raw HTTP on a socket (the one reply reader), the connect and client tests' settings and a slow resolver
//! and Squid refusal bytes, the load tests' descriptor accounting, and the decisions recorded
//! from other tools. Each binary uses part of
//! it.

#![allow(dead_code, unreachable_pub)]

pub mod load;
pub mod probe;
pub mod recorded;
pub mod resolve;
pub mod servers;
pub mod wire;
