//! Routing: curl's NO_PROXY cases, environment-variable rules, the precedence of settings over
//! the environment, and `probe route` as a process.

#[path = "../common/mod.rs"]
mod common;
mod env_rules;
mod no_proxy_curl;
mod probe_route;
mod route_precedence;
