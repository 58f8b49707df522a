//! The client end to end: which path a request took, who answered a refusal, the harness as its
//! peer, and that credentials never leak into the errors it returns.

mod client_attribution;
mod client_harness;
mod client_pac;
mod client_paths;
mod client_redaction;
mod client_refusals;
mod client_request_path;
#[path = "../common/mod.rs"]
mod common;
