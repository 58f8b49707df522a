//! The connect phase: every way a proxy hop fails (refused, stalled, garbage, refusals by
//! status, SOCKS5 replies, tunnels cut before the origin spoke, wrong proxy schemes), asserted by
//! code, hop, blame, phase and evidence.

#[path = "../common/mod.rs"]
mod common;
mod connect_diagnosis;
mod connect_errors;
mod connect_failover;
