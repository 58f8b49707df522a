//! Property tests: config parsing, CONNECT/SOCKS reply parsing, NO_PROXY matching, proxy URL
//! parsing and PAC answers (feature `pac`) never panic and keep their invariants for any input;
//! a password of any characters never reaches any output; the route decision made without text
//! agrees with the step-by-step resolution.

#[path = "../common/mod.rs"]
mod common;
mod prop_config;
mod prop_connect;
mod prop_no_proxy;
// Proxy auto-config: built with the `pac` feature (`cargo test --all-features`, scripts/test).
#[cfg(feature = "pac")]
mod prop_pac_result;
mod prop_proxy_url;
mod prop_redaction;
mod prop_route;
