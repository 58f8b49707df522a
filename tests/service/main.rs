//! The example translation service: in-process against the harness (routes, provider failures,
//! settings, inbound limits, query merging, the health and config views) and as a process
//! (signals, running out of descriptors).

#[path = "../../examples/translation_service/app/mod.rs"]
mod app;
#[path = "../common/mod.rs"]
mod common;
mod limits;
mod process;
mod support;
mod translation_service;
mod views;
