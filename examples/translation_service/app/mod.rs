//! The translation service behind `examples/translation_service`: its settings file
//! ([`settings`]), the accept loop and its limits ([`listener`] over the
//! examples' shared [`accept`]), the routes ([`server`]),
//! provider calls ([`translate`]), the deep health check ([`health`]), the effective-config
//! view ([`config_view`]) and the harness-backed demo setup ([`demo`]).
//!
//! It is a module tree rather than one `main.rs` so the integration test
//! (`tests/translation_service.rs`) can include it with `#[path]` and run the real server
//! in-process, next to the harness it breaks.

// The example binary and its integration test each use a different part of this tree.
#![allow(dead_code)]

// The accept loop `probe serve` shares.
#[path = "../../serving/listener.rs"]
pub(crate) mod accept;
pub(crate) mod config_view;
pub(crate) mod demo;
pub(crate) mod health;
pub(crate) mod listener;
pub(crate) mod server;
pub(crate) mod settings;
pub(crate) mod translate;

pub(crate) use server::start;
