//! Hostile proxies, servers and files: oversized, endless, slow and malformed replies and bodies,
//! FIFOs, devices and gigabyte files where a config, CA, client-certificate, key or password file
//! should be, and configurations built to be slow to read — each meets a cap and a deadline,
//! never a hang, a panic or unbounded memory. Hostile PAC scripts (feature `pac`) end in their
//! codes. Hostile names, reasons and headers cannot forge a line, perfdata item or metric in any
//! output.

#[path = "../common/mod.rs"]
mod common;
mod connect_budget;
mod endless_peers;
mod hostile_bodies;
mod hostile_config;
mod hostile_files;
mod hostile_http2;
mod hostile_identity;
mod hostile_output;
mod hostile_proxy;
mod hostile_tls_chain;
mod long_lists;
mod many_addresses;
mod peak;
// Proxy auto-config: built with the `pac` feature (`cargo test --all-features`, scripts/test).
#[cfg(feature = "pac")]
mod pac_scripts;

/// The `probe` example of this checkout: its `lint` help states the findings cap (another
/// checkout's build may hold `examples/probe` in a shared target directory).
fn bounded_probe() -> std::path::PathBuf {
    static BIN: std::sync::OnceLock<std::path::PathBuf> = std::sync::OnceLock::new();
    BIN.get_or_init(|| common::probe::example_bin_with("probe", "at most 100 findings per file"))
        .clone()
}
