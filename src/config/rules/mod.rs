//! Lint rules, one file per concept: unknown keys, proxy URLs and lists, PAC files, provider
//! and check URLs, `no_proxy` entries, provider and check names, the environment, and the rules that need the
//! whole configuration (a provider's proxy that can never be used).

pub(crate) mod env;
pub(crate) mod names;
pub(crate) mod no_proxy;
pub(crate) mod origin_url;
pub(crate) mod pac;
pub(crate) mod provider;
pub(crate) mod proxy_url;
pub(crate) mod unknown_key;
