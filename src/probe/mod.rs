//! The probe: checks every provider's real egress path the way monitoring should, and reports in
//! the formats monitoring already reads.
//!
//! A [`Check`] is a request with expectations, run through the real [`Client`](crate::client::Client)
//! — the provider's own route, DNS, connect, proxy handshake, TLS, HTTP — by [`check::run`]; a
//! [`Runner`] runs many at once, each within its own deadline, into a [`Report`]. Renderers turn
//! a report into a table for people ([`text`]), JSON (`Report` is `Serialize`; see [`report`] for the contract),
//! Prometheus exposition with blackbox_exporter's names ([`prometheus`]) and a Nagios status line
//! and exit code ([`nagios`]). The [`exporter`] serves the same exposition to Prometheus scrapes,
//! one target at a time, with [`blame`] saying who must act on each failure. Names, messages and
//! peers' text reach every format through [`escape`], so none of it can forge a line, a perfdata
//! item or a metric.

pub mod blame;
mod body;
pub mod check;
pub mod escape;
pub mod exporter;
pub mod nagios;
pub mod plan;
pub mod prometheus;
pub mod report;
pub mod runner;
mod state;
pub mod text;

pub use check::{Check, HeaderExpectation, StatusExpectation};
pub use report::{Certificate, CheckError, CheckResult, CheckTimings, Report, RunError};
pub use runner::{Progress, Runner};
pub use state::State;
