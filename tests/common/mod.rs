//! What the integration-test binaries share: finding and running the `probe` example, raw HTTP
//! on a socket (one reply reader, one Basic encoder), scripted servers for the connect and client
//! tests, and the load tests' descriptor accounting. Each binary uses part of it.

#![allow(dead_code, unreachable_pub)]

pub mod load;
pub mod probe;
pub mod servers;
pub mod wire;
