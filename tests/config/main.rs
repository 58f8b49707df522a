//! Configuration: loading, checks, lint findings (environment, CA files, fixtures), robustness
//! against any input, and `probe lint` / `probe config` as processes.

#[path = "../common/mod.rs"]
mod common;
mod config_checks;
mod config_load;
mod config_robust;
mod lint_ca_files;
mod lint_env;
mod lint_fixtures;
mod lint_probe;
