//! proxyscope: outbound HTTP(S) through forward proxies that explains itself.
//!
//! A [`Client`] resolves, for every request, whether it goes direct or through which proxy —
//! global or per-provider settings, `no_proxy` lists and the environment, all by curl's rules —
//! and remembers why ([`Route`]). When a request fails, the [`Error`] carries a stable
//! [`code`](Error::code) (`proxy.forbidden`, `tls.unknown_issuer`, …), the failing [`Hop`] and
//! [`Phase`], the evidence (the proxy's status and `X-Squid-Error`, the presented certificate
//! chain, the addresses tried) and a hint that names the fix.
//!
//! # Quick start
//!
//! ```no_run
//! use proxyscope::{Client, Config, EnvSnapshot};
//!
//! # async fn run() -> Result<(), proxyscope::Error> {
//! let config = Config::from_toml_str(
//!     r#"
//!     proxy = "http://egress.example.org:3128"
//!     no_proxy = [".svc.example.org"]
//!
//!     [providers.apertium]
//!     url = "http://apertium.svc.example.org:2737"
//!     proxy = "direct"
//!     "#,
//!     "inline.toml",
//! )?;
//! // Routing is pure: ask before sending anything.
//! let client = Client::builder_from_config(&config).env(EnvSnapshot::from_process()).build()?;
//! let route = client.route(Some("apertium"), "http://apertium.svc.example.org:2737/listPairs")?;
//! println!("{}", route.explain());
//!
//! match client.get("http://apertium.svc.example.org:2737/listPairs").await {
//!     Ok(resp) => println!("{} via {}", resp.status(), resp.route().summary()),
//!     Err(e) => eprintln!("{}", e.report()), // code, hop, phase, evidence, hint
//! }
//! # Ok(())
//! # }
//! ```
//!
//! The same decisions are available from the command line through the `probe` example
//! (`probe route`, `probe lint`, `probe config --show-origin`, `probe check`, `probe demo`), and
//! the `testing` feature adds the harness (module `testing`) that proxyscope's own tests use: a local
//! PKI, a TLS origin and a policy-driven forward proxy.

pub mod client;
pub mod config;
pub mod connect;
pub mod error;
pub mod layer;
#[cfg(feature = "pac")]
pub mod pac;
pub mod probe;
pub mod proxy;
pub mod route;
#[cfg(feature = "testing")]
pub mod testing;
pub mod tls;

pub use client::{Client, ClientBuilder, Response};
pub use config::Config;
pub use error::{Error, ErrorKind, Evidence, Hop, Phase, Result};
pub use layer::{Layer, Origin, ProxySetting, Roots, Sourced, Timeouts};
pub use proxy::{EnvSnapshot, NoProxy, ProxyUrl};
pub use route::Route;
