//! The example translation service run in-process against the harness.

#[path = "../../examples/translation_service/app/mod.rs"]
mod app;
mod translation_service;
