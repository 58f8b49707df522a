//! Secrets never leak: every failure of every layer (config, routing, connect, TLS, the probe as
//! a process, TRACE logs) is run with credentials and every output is searched for them. Its own
//! binary because it installs the process-wide tracing subscriber.

#[path = "../common/mod.rs"]
mod common;
mod secrets_redaction;
