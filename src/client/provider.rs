//! [`ProviderHandle`]: requests under one provider's base URL, through that provider's profile
//! (its proxy, `no_proxy`, CA files, timeouts, limits), from [`Client::provider`]. A path is
//! joined to the base URL the way the configuration's `Provider::request_url` joins it — the
//! base's path kept, one slash between, the base's own query parameters kept and winning — so
//! a configured `?key=` can be neither lost nor overridden by a caller.

use http::Method;

use super::Client;
use super::request::RequestBuilder;
use crate::error::{Error, ErrorKind};

/// One provider of a [`Client`]: its name, its base URL, and request builders under that URL
/// that always use its profile.
///
/// ```no_run
/// # async fn run(client: proxyscope::Client) -> Result<(), proxyscope::Error> {
/// // base URL https://translate.yandex.net/api/v1?key=K, its own proxy and CA
/// let yandex = client.provider("yandex")?;
/// let res = yandex.get("/getLangs").query(&[("ui", "en")]).send().await?;
/// assert_eq!(res.route().provider(), Some("yandex"));
/// // GET https://translate.yandex.net/api/v1/getLangs?key=K&ui=en
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct ProviderHandle {
    client: Client,
    name: String,
    base: url::Url,
}

impl std::fmt::Debug for ProviderHandle {
    // `url::Url`'s own `Debug` prints the password and every query value: the base URL is
    // shown as it is safe to print.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ProviderHandle")
            .field("client", &self.client)
            .field("name", &self.name)
            .field("base", &crate::proxy::redact_parsed_url(&self.base))
            .finish()
    }
}

impl Client {
    /// The provider called `name`, for requests under its base URL through its profile. An
    /// unknown name is `config.invalid`; the hint and `evidence().expected` list the known
    /// ones.
    pub fn provider(&self, name: &str) -> Result<ProviderHandle, Error> {
        let profile = self.named(name)?;
        let base = profile.base.clone().ok_or_else(|| {
            Error::new(ErrorKind::ConfigInvalid)
                .with_message(format!("provider {name} has no base URL"))
        })?;
        Ok(ProviderHandle {
            client: self.clone(),
            name: name.to_owned(),
            base,
        })
    }
}

impl ProviderHandle {
    /// The provider's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The provider's base URL.
    pub fn base_url(&self) -> &url::Url {
        &self.base
    }

    /// The URL of `path` under the base URL: the base's path kept, one `/` between the two
    /// whatever either side writes, `path`'s own query (`/x?a=1`) merged after the base's
    /// parameters, which win on a repeated name.
    ///
    /// ```
    /// # let client = proxyscope::Client::builder()
    /// #     .provider("y", "https://api.example.org/v1/?key=K", proxyscope::Settings::new())
    /// #     .build()?;
    /// let y = client.provider("y")?;
    /// assert_eq!(y.url("getLangs").as_str(), "https://api.example.org/v1/getLangs?key=K");
    /// assert_eq!(y.url("/tr?key=evil&q=1").as_str(), "https://api.example.org/v1/tr?key=K&q=1");
    /// # Ok::<(), proxyscope::Error>(())
    /// ```
    pub fn url(&self, path: &str) -> url::Url {
        let (path, query) = match path.split_once('?') {
            Some((p, q)) => (p, Some(q)),
            None => (path, None),
        };
        // A fragment is the caller's own business: it is never sent.
        let path = path.split('#').next().unwrap_or("");
        let path = format!("/{}", path.trim_start_matches('/'));
        let path = if path == "/" { "" } else { path.as_str() };
        crate::config::join_request_url(&self.base, path, query)
    }

    /// A request of `method` for `path` under the base URL (see [`ProviderHandle::url`]).
    pub fn request(&self, method: Method, path: &str) -> RequestBuilder {
        RequestBuilder::configured(
            self.client.clone(),
            Some(self.name.clone()),
            method,
            Ok(self.url(path)),
        )
        .keeping_url_params()
    }

    /// `GET path`.
    ///
    /// ```no_run
    /// # async fn run(client: proxyscope::Client) -> Result<(), proxyscope::Error> {
    /// let res = client.provider("yandex")?.get("/getLangs").query(&[("ui", "en")]).send().await?;
    /// # Ok(()) }
    /// ```
    pub fn get(&self, path: &str) -> RequestBuilder {
        self.request(Method::GET, path)
    }

    /// `POST path`.
    ///
    /// ```no_run
    /// # async fn run(client: proxyscope::Client) -> Result<(), proxyscope::Error> {
    /// let res = client.provider("yandex")?.post("/translate").form(&[("lang", "en-ru"), ("text", "hello")]).send().await?;
    /// # Ok(()) }
    /// ```
    pub fn post(&self, path: &str) -> RequestBuilder {
        self.request(Method::POST, path)
    }

    /// `PUT path`.
    ///
    /// ```no_run
    /// # async fn run(client: proxyscope::Client) -> Result<(), proxyscope::Error> {
    /// let res = client.provider("yandex")?.put("/glossary/7").json(&serde_json::json!({"terms": []})).send().await?;
    /// # Ok(()) }
    /// ```
    pub fn put(&self, path: &str) -> RequestBuilder {
        self.request(Method::PUT, path)
    }

    /// `PATCH path`.
    ///
    /// ```no_run
    /// # async fn run(client: proxyscope::Client) -> Result<(), proxyscope::Error> {
    /// let res = client.provider("yandex")?.patch("/glossary/7").json(&serde_json::json!({"name": "b"})).send().await?;
    /// # Ok(()) }
    /// ```
    pub fn patch(&self, path: &str) -> RequestBuilder {
        self.request(Method::PATCH, path)
    }

    /// `DELETE path`.
    ///
    /// ```no_run
    /// # async fn run(client: proxyscope::Client) -> Result<(), proxyscope::Error> {
    /// let res = client.provider("yandex")?.delete("/glossary/7").send().await?;
    /// # Ok(()) }
    /// ```
    pub fn delete(&self, path: &str) -> RequestBuilder {
        self.request(Method::DELETE, path)
    }

    /// `HEAD path`.
    ///
    /// ```no_run
    /// # async fn run(client: proxyscope::Client) -> Result<(), proxyscope::Error> {
    /// let res = client.provider("yandex")?.head("/getLangs").send().await?;
    /// # Ok(()) }
    /// ```
    pub fn head(&self, path: &str) -> RequestBuilder {
        self.request(Method::HEAD, path)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::settings::{ProxySetting, Settings};

    fn client() -> Client {
        Client::builder()
            .env(crate::proxy::EnvSnapshot::from_pairs(
                Vec::<(String, String)>::new(),
            ))
            .provider("plain", "https://api.test", Settings::new())
            .provider("slash", "https://api.test/v1/", Settings::new())
            .provider("noslash", "https://api.test/v1", Settings::new())
            .provider(
                "keyed",
                "https://keyed.test/api/?key=K",
                Settings::new().with_proxy(
                    ProxySetting::parse("http://egress.test:3128")
                        .unwrap_or_else(|e| panic!("{e}")),
                ),
            )
            .build()
            .unwrap_or_else(|e| panic!("{e}"))
    }

    #[test]
    fn paths_join_with_one_slash_and_the_base_query_wins() {
        let c = client();
        let cases = [
            ("plain", "/x", "https://api.test/x"),
            ("plain", "x", "https://api.test/x"),
            ("plain", "", "https://api.test/"),
            ("plain", "/", "https://api.test/"),
            ("slash", "/x", "https://api.test/v1/x"),
            ("slash", "x", "https://api.test/v1/x"),
            ("slash", "//x", "https://api.test/v1/x"),
            ("noslash", "/x/", "https://api.test/v1/x/"),
            ("noslash", "x?a=1&b=2", "https://api.test/v1/x?a=1&b=2"),
            ("noslash", "", "https://api.test/v1"),
            ("noslash", "x#frag", "https://api.test/v1/x"),
            (
                "keyed",
                "/getLangs",
                "https://keyed.test/api/getLangs?key=K",
            ),
            (
                "keyed",
                "/t?key=evil&q=1",
                "https://keyed.test/api/t?key=K&q=1",
            ),
            ("keyed", "/t?%6Bey=evil", "https://keyed.test/api/t?key=K"),
        ];
        for (name, path, want) in cases {
            let h = c.provider(name).unwrap_or_else(|e| panic!("{e}"));
            assert_eq!(h.url(path).as_str(), want, "{name} + {path:?}");
        }
    }

    #[test]
    fn a_handle_uses_its_provider_and_an_unknown_name_lists_the_known() {
        let c = client();
        let h = c.provider("keyed").unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(h.name(), "keyed");
        let req = h.post("/x").build().unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(req.uri().to_string(), "https://keyed.test/api/x?key=K");
        // `query` under a handle cannot override or double the provider's own parameter.
        let req = h
            .get("/x?a=1")
            .query(&[("key", "evil"), ("b", "2"), ("b", "3")])
            .build()
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            req.uri().to_string(),
            "https://keyed.test/api/x?key=K&a=1&b=2&b=3"
        );
        let e = c
            .provider("yandx")
            .err()
            .unwrap_or_else(|| panic!("unknown"));
        assert_eq!(e.code(), "config.invalid");
        let known = e.evidence().expected.clone().unwrap_or_default();
        for name in ["plain", "slash", "noslash", "keyed"] {
            assert!(known.contains(name), "{known}");
        }
        assert!(e.hint().is_some_and(|h| h.contains("keyed")));
    }
}
