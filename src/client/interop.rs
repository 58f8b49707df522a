//! The client's connection path for other HTTP clients: [`Client::connector`] hands a
//! provider's connector to a hyper client of the caller's own, and [`Client::diagnose`] runs
//! the connection path alone (DNS, TCP, proxy, TLS; no request) to explain a failure another
//! client reported. The reqwest bridge (feature `reqwest`) builds on both.

use super::into_url::{target_without_userinfo, to_url};
use super::{Client, IntoUrl};
use crate::connect::{ConnInfo, Connector};
use crate::error::Error;

impl Client {
    /// The connector of `provider`'s profile (`None`: the global layer's), to put under a hyper
    /// client of your own; with [`Connector::layer`] (or [`Connector::prepare`] per request) it
    /// behaves like this client. Fails with `config.invalid` for an unknown provider.
    pub fn connector(&self, provider: Option<&str>) -> Result<&Connector, Error> {
        match provider {
            None => Ok(&self.inner.global.connector),
            Some(name) => self.named(name).map(|p| &p.connector),
        }
    }

    /// Runs the connection path `url` would take under `provider` (chosen as for
    /// [`Client::request`]): DNS, TCP, the proxy handshake and TLS, without sending a request.
    /// `Ok` carries what was learnt (route, timings, certificates); `Err` is the same structured
    /// error a request would have failed with — use it to explain a failure another HTTP client
    /// (reqwest, your own hyper client) reported for the same URL. A URL that is not an
    /// absolute `http(s)` URL with a host is `request.url`.
    pub async fn diagnose(
        &self,
        provider: Option<&str>,
        url: impl IntoUrl,
    ) -> Result<ConnInfo, Error> {
        let url = to_url(url)?;
        let profile = self.profile(provider, &url)?;
        let uri = target_without_userinfo(&url)?;
        let conn = profile.connector.connect(uri).await?;
        Ok(conn.info().clone())
    }
}
