//! The public test harness (feature `testing`) tested from the outside: PKI, origin, proxy
//! policies, SOCKS5 and lifecycle (its load test runs in the real-proxy binary, alone).

#[path = "../common/mod.rs"]
mod common;
mod harness_lifecycle;
mod harness_origin;
mod harness_pki;
mod harness_policies;
mod harness_proxy;
mod harness_socks;
