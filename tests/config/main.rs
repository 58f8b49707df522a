//! Configuration: loading, checks, lint findings (environment, CA files, fixtures, PAC files with
//! the `pac` feature), robustness
//! against any input, and `probe lint` / `probe config` as processes.

#[path = "../common/mod.rs"]
mod common;
mod config_checks;
mod config_identity;
mod config_load;
mod config_robust;
mod lint_ca_files;
mod lint_env;
mod lint_fixtures;
// Proxy auto-config: built with the `pac` feature (`cargo test --all-features`, scripts/test).
#[cfg(feature = "pac")]
mod lint_pac;
mod lint_probe;
