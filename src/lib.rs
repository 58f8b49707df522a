//! proxyscope: outbound HTTP(S) through forward proxies that explains itself.
//!
//! STUB crate root; modules are filled in by their issues.

pub mod client;
pub mod config;
pub mod connect;
pub mod error;
pub mod layer;
pub mod probe;
pub mod proxy;
pub mod route;
#[cfg(feature = "testing")]
pub mod testing;
pub mod tls;

pub use client::{Client, ClientBuilder, Response};
pub use error::{Error, ErrorKind, Evidence, Hop, Phase, Result};
pub use layer::{Layer, Origin, ProxySetting, Roots, Sourced, Timeouts};
pub use proxy::{EnvSnapshot, NoProxy, ProxyUrl};
pub use route::Route;
