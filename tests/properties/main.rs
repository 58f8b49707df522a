//! Property tests: config parsing, CONNECT/SOCKS reply parsing, NO_PROXY matching and proxy
//! URL parsing never panic and keep their invariants for any input.

mod prop_config;
mod prop_connect;
mod prop_no_proxy;
mod prop_proxy_url;
