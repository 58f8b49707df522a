//! Hostile proxies and servers: oversized, endless, slow and malformed replies meet a cap and a
//! deadline, never a hang or a panic. Hostile PAC scripts (feature `pac`) end in their codes.
//! Hostile names, reasons and headers cannot forge a line, perfdata item or metric in any output.

mod hostile_output;
mod hostile_proxy;
// Proxy auto-config: built with the `pac` feature (`cargo test --all-features`, scripts/test).
#[cfg(feature = "pac")]
mod pac_scripts;
