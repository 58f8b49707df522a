//! Routing: curl's NO_PROXY cases, environment-variable rules, the precedence of settings over
//! the environment, `probe route` as a process, and proxy auto-config (feature `pac`): every PAC
//! helper against browser semantics, a corporate PAC file's branches, the answer cache.

#[path = "../common/mod.rs"]
mod common;
mod curl_no_proxy_versions;
mod curl_proxy_values;
mod env_rules;
mod no_proxy_curl;
// Proxy auto-config: built with the `pac` feature (`cargo test --all-features`, scripts/test).
#[cfg(feature = "pac")]
mod pac_eval;
#[cfg(feature = "pac")]
mod pac_helpers;
mod peer_models;
mod probe_route;
mod route_parity;
mod route_precedence;
