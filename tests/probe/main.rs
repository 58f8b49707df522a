//! The probe: `probe check`, the demo, Prometheus output and the runner, as processes and as a
//! library; and every command in the README, run.

#[path = "../common/mod.rs"]
mod common;
mod probe_check;
mod probe_demo;
mod probe_diagnosis;
mod probe_prometheus;
mod probe_runner;
mod readme;
