//! Secrets never leak: every failure of every layer (config, routing, connect, TLS, the probe as
//! a process, TRACE logs) is run with credentials and every output is searched for them; on the
//! wire, userinfo becomes Basic credentials and never reaches a request target, and what
//! echoing peers send back is scrubbed. Its own binary because it installs the process-wide
//! tracing subscriber.

#[path = "../common/mod.rs"]
mod common;
mod secrets_debug;
mod secrets_headers;
mod secrets_identity;
mod secrets_redaction;
mod secrets_response;
mod secrets_wire;
