//! The exporter (`probe serve`), end to end: its endpoints as a real process against the harness,
//! scraped by a real Prometheus, side by side with Prometheus's blackbox_exporter, its status
//! page in a real headless Chromium, and the monitoring docs checked by promtool.
//!
//! These tests live in this binary for its runner: a test whose external program is missing
//! returns an ignored [`Outcome`] with the reason (visibly not passed), and fails under
//! `CI=true` (see [`support::tool`]). `main.rs` registers each one with `exporter!`.

pub(crate) mod blackbox;
pub(crate) mod browser;
pub(crate) mod connections;
pub(crate) mod docs;
pub(crate) mod endpoints;
pub(crate) mod prometheus_server;
pub(crate) mod support;

pub(crate) use support::{Outcome, run};
