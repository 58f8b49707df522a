//! Real Squid and tinyproxy on loopback: the proxies' own replies, the client through them,
//! parity with the harness's imitation, an https:// proxy, and load.

#[path = "../common/mod.rs"]
mod common;
mod load_squid;
mod real_client_squid;
mod real_client_tinyproxy;
mod real_proxy_parity;
mod real_proxy_squid;
mod real_proxy_tinyproxy;
mod real_proxy_tls;
mod support;
