//! The connect phase: every way a proxy hop fails (refused, stalled, garbage, refusals by
//! status, SOCKS5 replies), asserted by code, hop, phase and evidence.

#[path = "../common/mod.rs"]
mod common;
mod connect_errors;
