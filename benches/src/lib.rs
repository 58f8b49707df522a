//! Support shared by proxyscope's criterion benches (`benches/benches/*.rs`): a CPU-time
//! [`Measurement`](criterion::measurement::Measurement) for a machine shared with other work.
//!
//! The benches live in this workspace member, not in the main crate, so that building the
//! examples or running the test suite never compiles criterion and its plotting stack.

pub mod cpu_time;
