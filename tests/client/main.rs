//! The client end to end: which path a request took, who answered a refusal, the harness as its
//! peer, that credentials never leak into the errors it returns, and the request builder,
//! response bodies and redirects against the harness.

mod client_attribution;
mod client_bodies;
mod client_connector;
mod client_credentials;
mod client_harness;
mod client_http2;
mod client_lifecycle;
mod client_observe;
mod client_pac;
mod client_paths;
mod client_pool;
mod client_redaction;
mod client_redirects;
mod client_refusals;
mod client_request_path;
mod client_requests;
// Only with the reqwest bridge: keeps reqwest out of every build that does not ask for it.
#[cfg(feature = "reqwest")]
mod client_reqwest;
#[path = "../common/mod.rs"]
mod common;
