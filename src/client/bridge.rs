//! The reqwest bridge (feature `reqwest`): keep reqwest on the hot path and let proxyscope decide
//! its routes and explain its failures. [`Client::reqwest_proxy`] is a `reqwest::Proxy` whose
//! every decision is proxyscope's route (per provider, `no_proxy`, the environment by curl's
//! rules), with the proxy's credentials (from `proxy_auth` or the proxy URL) and the proxy
//! headers; [`Client::diagnose_reqwest`] runs proxyscope's connection path for the URL of a
//! failed reqwest request and returns the structured error.
//!
//! reqwest's connector is sealed, so the bridge cannot put proxyscope's TLS under reqwest; for
//! the same trust and client certificate, hand reqwest the origin hop's rustls configuration
//! (`Connector::origin_tls().config()`) with `ClientBuilder::tls_backend_preconfigured`.

use crate::client::Client;
use crate::connect::ConnInfo;
use crate::error::{Error, ErrorKind};

impl Client {
    /// A `reqwest::Proxy` that routes like this client for `provider` (`None`: by URL, as
    /// [`Client::request`] chooses, with the global layer's proxy headers). The proxy URL it
    /// hands reqwest carries the credentials (`proxy_auth` wins over the URL's), so reqwest
    /// sends `Proxy-Authorization` on CONNECT and on plain-http requests; reqwest prints such a
    /// proxy as `Custom(_)`, never the credentials.
    ///
    /// Fails when a proxy value in force (a layer's, or an environment variable's) is invalid,
    /// or a proxy list or PAC file is in force (`config.invalid`; reqwest takes one proxy per
    /// request and could not fail over): reqwest would otherwise go direct in silence. SOCKS
    /// routes need reqwest's `socks` feature.
    #[cfg_attr(docsrs, doc(cfg(feature = "reqwest")))]
    pub fn reqwest_proxy(&self, provider: Option<&str>) -> Result<reqwest::Proxy, Error> {
        let headers = self.connector(provider)?.proxy_headers().clone();
        // Route errors depend on the scheme's proxy value only, never on the host: check both
        // schemes now instead of failing open per request.
        for probe in ["http://proxyscope.invalid/", "https://proxyscope.invalid/"] {
            self.route(provider, probe)?;
        }
        self.refuse_candidates(provider)?;
        let client = self.clone();
        let provider = provider.map(str::to_owned);
        let proxy = reqwest::Proxy::custom(move |url: &url::Url| {
            let profile = client.profile(provider.as_deref(), url).ok()?;
            let route = profile.connector.route(url).ok()?;
            let proxy = route.proxy()?;
            let mut out = url::Url::parse(&proxy.without_credentials()).ok()?;
            if let Some((user, pass)) = profile.connector.proxy_credentials(proxy) {
                out.set_username(user).ok()?;
                out.set_password(Some(pass)).ok()?;
            }
            Some(out)
        });
        Ok(if headers.is_empty() {
            proxy
        } else {
            proxy.headers(headers)
        })
    }

    /// A proxy list or PAC file in force for `provider` (every profile, for `None`): reqwest
    /// takes one proxy per request from the bridge, so it could not fail over, wait for the
    /// names a PAC script asks about, or report the script's failure — it would go direct in
    /// silence. Refused when the bridge is made instead.
    fn refuse_candidates(&self, provider: Option<&str>) -> Result<(), Error> {
        let profiles: Vec<_> = match provider {
            Some(name) => vec![self.named(name)?],
            None => self
                .inner
                .providers
                .iter()
                .chain(std::iter::once(&self.inner.global))
                .collect(),
        };
        for p in profiles {
            for probe in ["http://proxyscope.invalid/", "https://proxyscope.invalid/"] {
                let Ok(url) = url::Url::parse(probe) else {
                    continue;
                };
                let Ok(route) = p.connector.route(&url) else {
                    continue;
                };
                let Some(c) = route.candidates() else {
                    continue;
                };
                let key = match &p.name {
                    Some(n) => format!("providers.{n}."),
                    None => String::new(),
                };
                let what = match c.source {
                    crate::route::CandidateSource::Pac => "pac",
                    _ => "proxy",
                };
                return Err(Error::new(ErrorKind::ConfigInvalid)
                    .with_message(format!(
                        "{key}{what} ({}) gives several candidates, which a reqwest::Proxy cannot follow: reqwest takes one proxy per request (no failover, no PAC name lookups)",
                        c.origin
                    ))
                    .with_hint(format!(
                        "send these requests through proxyscope's Client, or set one proxy in {key}proxy for the reqwest bridge"
                    ))
                    .map_evidence(|ev| ev.setting = Some(format!("{key}{what}"))));
            }
        }
        Ok(())
    }

    /// Runs proxyscope's connection path (DNS, TCP, the proxy handshake, TLS; no request) for
    /// the URL of a request reqwest failed, under `provider` (`None`: by URL). `Err` is the
    /// structured error explaining it; `Ok` says the path works from here (then the failure
    /// was above the connection, or reqwest's own TLS settings differ from proxyscope's).
    #[cfg_attr(docsrs, doc(cfg(feature = "reqwest")))]
    pub async fn diagnose_reqwest(
        &self,
        provider: Option<&str>,
        err: &reqwest::Error,
    ) -> Result<ConnInfo, Error> {
        let Some(url) = err.url() else {
            return Err(Error::new(ErrorKind::ConfigInvalid)
                .with_message("the reqwest error carries no URL to diagnose")
                .with_hint("call Client::diagnose with the URL the request was sent to"));
        };
        self.diagnose(provider, url).await
    }
}
