//! [`RequestBuilder`]: one request, built in the manner of reqwest's — method and URL from
//! [`Client::get`] and friends (or a provider handle), then headers, query, body, credentials,
//! a timeout and a redirect policy — and sent with [`RequestBuilder::send`] (or `.await`).
//!
//! Every setter takes and returns the builder; the first bad input (a header with CR/LF or an
//! invalid name, a URL with credentials in it, a body that does not serialise) is kept and
//! returned by `send()` as a coded error before anything is sent, so a chain of setters never
//! needs a `?` in the middle.

use std::future::{Future, IntoFuture};
use std::pin::Pin;
use std::time::Duration;

use base64::Engine as _;
use http::header::{AUTHORIZATION, CONTENT_TYPE};
use http::{HeaderMap, HeaderName, HeaderValue, Method};
use serde::Serialize;

use super::into_url::RequestUrl;
use super::redirect::RedirectPolicy;
use super::request_body::Body;
use super::{Client, Response};
use crate::error::{Error, ErrorKind};

/// A request being built. Created by [`Client::get`], [`Client::post`], …,
/// [`Client::request`] or a [`ProviderHandle`](super::ProviderHandle); sent with
/// [`send`](RequestBuilder::send) or by awaiting it.
///
/// ```no_run
/// # async fn run(client: proxyscope::Client) -> Result<(), proxyscope::Error> {
/// use std::time::Duration;
///
/// #[derive(serde::Deserialize)]
/// struct Langs { dirs: Vec<String> }
///
/// let langs: Langs = client
///     .get("https://translate.example.org/api/v1/getLangs")
///     .query(&[("ui", "en")])
///     .bearer_auth("t0ken")
///     .timeout(Duration::from_secs(5))
///     .send()
///     .await?
///     .error_for_status()?
///     .json()
///     .await?;
/// # Ok(()) }
/// ```
#[must_use = "a request does nothing until it is sent with `.send()` or `.await`"]
pub struct RequestBuilder {
    client: Client,
    provider: Option<String>,
    method: Method,
    url: Option<RequestUrl>,
    headers: HeaderMap,
    body: Body,
    timeout: Option<Duration>,
    redirect: Option<RedirectPolicy>,
    error: Option<Error>,
    /// Built by a provider handle: parameters already in the URL (the provider's `?key=`)
    /// win over those `query` adds.
    keep_url_params: bool,
}

impl std::fmt::Debug for RequestBuilder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The URL as it is safe to print; headers print `Sensitive` for credentials.
        f.debug_struct("RequestBuilder")
            .field("provider", &self.provider)
            .field("method", &self.method)
            .field(
                "url",
                &self
                    .url
                    .as_ref()
                    .map(|u| crate::proxy::redact_url(&u.uri().to_string())),
            )
            .field("headers", &self.headers)
            .field("body", &self.body)
            .field("timeout", &self.timeout)
            .field("redirect", &self.redirect)
            .finish_non_exhaustive()
    }
}

/// The parts of a built request the client sends: everything but the client.
pub(crate) struct Parts {
    pub(crate) provider: Option<String>,
    /// The request, its URI `url`'s (the first hop sends it as it is).
    pub(crate) request: http::Request<Body>,
    pub(crate) url: RequestUrl,
    pub(crate) timeout: Option<Duration>,
    pub(crate) redirect: Option<RedirectPolicy>,
}

impl Parts {
    /// A request built elsewhere, for [`Client::execute`] and the `tower` service: its URI
    /// checked, and sent as the URL standard reads it (as is when plain, else normalized), as
    /// every hop of a redirect chain is.
    pub(crate) fn of_request<B: Into<Body>>(
        provider: Option<&str>,
        req: http::Request<B>,
    ) -> Result<Self, Error> {
        let url = RequestUrl::from_uri(req.uri().clone())?;
        let mut request = req.map(Into::into);
        *request.uri_mut() = url.uri().clone();
        Ok(Self {
            provider: provider.map(str::to_owned),
            request,
            url,
            timeout: None,
            redirect: None,
        })
    }
}

impl RequestBuilder {
    /// A request for `url`. Credentials in it (`https://user:password@host/`) are sent to the
    /// origin as `Authorization: Basic` — never in the request target, never printed — and
    /// dropped on a redirect to another origin, as curl and reqwest do.
    pub(crate) fn new(
        client: Client,
        provider: Option<String>,
        method: Method,
        url: Result<RequestUrl, Error>,
    ) -> Self {
        let (url, error) = match url {
            Ok(u) => (Some(u), None),
            Err(e) => (None, Some(e)),
        };
        Self {
            client,
            provider,
            method,
            url,
            headers: HeaderMap::new(),
            body: Body::empty(),
            timeout: None,
            redirect: None,
            error,
            keep_url_params: false,
        }
    }

    /// A request for a URL built from the configuration (a provider's base URL, a check's
    /// URL); the same rules as [`RequestBuilder::new`].
    pub(crate) fn configured(
        client: Client,
        provider: Option<String>,
        method: Method,
        url: Result<url::Url, Error>,
    ) -> Self {
        Self::new(client, provider, method, url.and_then(RequestUrl::from_url))
    }

    /// A builder whose URL's own query parameters cannot be overridden by `query`.
    pub(crate) fn keeping_url_params(mut self) -> Self {
        self.keep_url_params = true;
        self
    }

    fn keep(&mut self, e: Error) {
        if self.error.is_none() {
            self.error = Some(e);
        }
    }

    /// Adds a header (appended: a name may repeat). A name that is not an HTTP token, or a value
    /// with CR, LF or NUL, is `request.header` at `send()`, and nothing is sent.
    ///
    /// ```no_run
    /// # async fn run(client: proxyscope::Client) -> Result<(), proxyscope::Error> {
    /// let res = client
    ///     .get("https://api.example.org/v1/items")
    ///     .header("accept", "application/json")
    ///     .header(http::header::ACCEPT_LANGUAGE, "en")
    ///     .send()
    ///     .await?;
    /// # Ok(()) }
    /// ```
    pub fn header<K, V>(mut self, name: K, value: V) -> Self
    where
        K: TryInto<HeaderName>,
        K::Error: std::fmt::Display,
        V: TryInto<HeaderValue>,
        V::Error: std::fmt::Display,
    {
        match name.try_into() {
            Err(e) => self.keep(bad_header(None, &e.to_string())),
            Ok(name) => match value.try_into() {
                Err(e) => self.keep(bad_header(Some(&name), &e.to_string())),
                Ok(value) => match check_value(&name, &value) {
                    Ok(()) => {
                        let sensitive = is_credential(&name);
                        self.headers.append(name, value);
                        if sensitive {
                            mark_sensitive(&mut self.headers);
                        }
                    }
                    Err(e) => self.keep(e),
                },
            },
        }
        self
    }

    /// Adds every header of `headers`, replacing those of the same names already set.
    ///
    /// ```no_run
    /// # async fn run(client: proxyscope::Client) -> Result<(), proxyscope::Error> {
    /// let mut headers = http::HeaderMap::new();
    /// headers.insert("x-request-id", http::HeaderValue::from_static("42"));
    /// let res = client.get("https://api.example.org/").headers(headers).send().await?;
    /// # Ok(()) }
    /// ```
    pub fn headers(mut self, headers: HeaderMap) -> Self {
        let mut last: Option<HeaderName> = None;
        for (name, value) in headers {
            let name = match name {
                Some(n) => n,
                None => match &last {
                    Some(n) => n.clone(),
                    None => continue,
                },
            };
            if let Err(e) = check_value(&name, &value) {
                self.keep(e);
                continue;
            }
            if last.as_ref() != Some(&name) {
                self.headers.remove(&name);
            }
            self.headers.append(name.clone(), value);
            last = Some(name);
        }
        mark_sensitive(&mut self.headers);
        self
    }

    /// Appends query parameters, serialised as a form (`a=1&b=x+y`): pairs, a map or a struct.
    /// Parameters already in the URL stay. Under a [provider handle](super::ProviderHandle), a
    /// parameter whose name the URL already has is dropped, so a configured `?key=` can be
    /// neither overridden nor doubled. A value that cannot be a query (a nested struct) is
    /// `request.url` at `send()`.
    ///
    /// ```no_run
    /// # async fn run(client: proxyscope::Client) -> Result<(), proxyscope::Error> {
    /// let res = client
    ///     .get("https://api.example.org/search?v=2")
    ///     .query(&[("q", "proxy servers"), ("page", "1")])
    ///     .send() // https://api.example.org/search?v=2&q=proxy+servers&page=1
    ///     .await?;
    /// # Ok(()) }
    /// ```
    pub fn query<T: Serialize + ?Sized>(mut self, query: &T) -> Self {
        let Some(current) = self.url.as_ref() else {
            return self;
        };
        match serde_urlencoded::to_string(query) {
            Ok(q) if q.is_empty() => {}
            Ok(q) => {
                let mut url = current.url().clone();
                let merged = match url.query() {
                    own if self.keep_url_params => crate::config::merge_query(own, Some(&q)),
                    Some(own) if !own.is_empty() => format!("{own}&{q}"),
                    _ => q,
                };
                url.set_query(Some(&merged));
                match RequestUrl::from_url(url) {
                    Ok(u) => self.url = Some(u),
                    Err(e) => self.keep(e),
                }
            }
            Err(e) => {
                let e = Error::new(ErrorKind::RequestUrl)
                    .with_message("the query parameters cannot be written as a query string")
                    .with_hint(
                        "pass pairs, a map or a flat struct of strings and numbers to query()",
                    )
                    .with_source(e);
                self.keep(e);
            }
        }
        self
    }

    /// The body: bytes, text, a [`Body`] stream. Sets no `Content-Type` (say what it is with
    /// [`header`](RequestBuilder::header)).
    ///
    /// ```no_run
    /// # async fn run(client: proxyscope::Client) -> Result<(), proxyscope::Error> {
    /// let res = client
    ///     .put("https://api.example.org/v1/blob")
    ///     .header("content-type", "application/octet-stream")
    ///     .body(vec![0u8; 16])
    ///     .send()
    ///     .await?;
    /// # Ok(()) }
    /// ```
    pub fn body(mut self, body: impl Into<Body>) -> Self {
        self.body = body.into();
        self
    }

    /// The body as JSON (serde), with `Content-Type: application/json` unless one is set. A
    /// value that cannot be serialised (a map with non-string keys, a failing `Serialize`) is
    /// `request.body` at `send()`, and nothing is sent.
    ///
    /// ```no_run
    /// # async fn run(client: proxyscope::Client) -> Result<(), proxyscope::Error> {
    /// #[derive(serde::Serialize)]
    /// struct Translate<'a> { lang: &'a str, text: &'a str }
    ///
    /// let res = client
    ///     .post("https://api.example.org/v1/translate")
    ///     .json(&Translate { lang: "en-ru", text: "hello" })
    ///     .send()
    ///     .await?;
    /// # Ok(()) }
    /// ```
    pub fn json<T: Serialize + ?Sized>(mut self, value: &T) -> Self {
        match serde_json::to_vec(value) {
            Ok(v) => {
                self.body = v.into();
                self.default_content_type("application/json");
            }
            Err(e) => self.keep(
                Error::new(ErrorKind::RequestBody)
                    .with_message("the JSON body cannot be serialised")
                    .with_hint(
                        "JSON objects need string keys; check the value's Serialize implementation",
                    )
                    .with_source(e),
            ),
        }
        self
    }

    /// The body as a form (`a=1&b=x+y`), with `Content-Type:
    /// application/x-www-form-urlencoded` unless one is set. A value that cannot be a form (a
    /// nested struct) is `request.body` at `send()`.
    ///
    /// ```no_run
    /// # async fn run(client: proxyscope::Client) -> Result<(), proxyscope::Error> {
    /// let res = client
    ///     .post("https://api.example.org/v1/translate")
    ///     .form(&[("lang", "en-ru"), ("text", "hello")])
    ///     .send()
    ///     .await?;
    /// # Ok(()) }
    /// ```
    pub fn form<T: Serialize + ?Sized>(mut self, form: &T) -> Self {
        match serde_urlencoded::to_string(form) {
            Ok(s) => {
                self.body = s.into();
                self.default_content_type("application/x-www-form-urlencoded");
            }
            Err(e) => self.keep(
                Error::new(ErrorKind::RequestBody)
                    .with_message("the form body cannot be serialised")
                    .with_hint(
                        "pass pairs, a map or a flat struct of strings and numbers to form()",
                    )
                    .with_source(e),
            ),
        }
        self
    }

    /// `Authorization: Basic` for the origin, marked sensitive: never printed in `Debug`, never
    /// in a log, span or error, and dropped when a redirect leaves the origin.
    ///
    /// ```no_run
    /// # async fn run(client: proxyscope::Client) -> Result<(), proxyscope::Error> {
    /// let res = client
    ///     .get("https://api.example.org/private")
    ///     .basic_auth("user", Some("pa55word"))
    ///     .send()
    ///     .await?;
    /// # Ok(()) }
    /// ```
    pub fn basic_auth(
        self,
        user: impl std::fmt::Display,
        password: Option<impl std::fmt::Display>,
    ) -> Self {
        let pair = match password {
            Some(p) => format!("{user}:{p}"),
            None => format!("{user}:"),
        };
        let token = base64::engine::general_purpose::STANDARD.encode(pair);
        self.credential(format!("Basic {token}"), "basic_auth")
    }

    /// `Authorization: Bearer <token>` for the origin, marked sensitive like
    /// [`basic_auth`](RequestBuilder::basic_auth).
    ///
    /// ```no_run
    /// # async fn run(client: proxyscope::Client) -> Result<(), proxyscope::Error> {
    /// let res = client
    ///     .get("https://api.example.org/private")
    ///     .bearer_auth("t0ken")
    ///     .send()
    ///     .await?;
    /// # Ok(()) }
    /// ```
    pub fn bearer_auth(self, token: impl std::fmt::Display) -> Self {
        self.credential(format!("Bearer {token}"), "bearer_auth")
    }

    fn credential(mut self, value: String, setter: &str) -> Self {
        match HeaderValue::from_str(&value) {
            Ok(mut v) => {
                v.set_sensitive(true);
                self.headers.insert(AUTHORIZATION, v);
            }
            // The value is a secret: say where it came from, never what it was.
            Err(_) => self.keep(
                Error::new(ErrorKind::RequestHeader)
                    .with_message(format!(
                        "the credentials given to {setter} contain a character a header cannot carry (CR, LF or another control character)"
                    ))
                    .with_hint("pass the credentials without control characters or line breaks")
                    .map_evidence(|ev| ev.setting = Some(format!("RequestBuilder::{setter}"))),
            ),
        }
        self
    }

    /// A deadline for the whole request — connecting, every redirect, and reading the body
    /// through [`Response::bytes`]/[`text`](Response::text)/[`json`](Response::json) or the
    /// stream. When it passes, the error is the phase it hit (`origin.timeout` while
    /// connecting, `proxy.timeout` in the proxy handshake, `tls.timeout`, or `http.timeout`
    /// waiting for the response or its body), with the route and the timings so far. The
    /// profile's own per-phase timeouts still apply when they are shorter.
    ///
    /// ```no_run
    /// # async fn run(client: proxyscope::Client) {
    /// use std::time::Duration;
    /// match client.get("https://slow.example.org/").timeout(Duration::from_millis(300)).send().await {
    ///     Err(e) if e.is_timeout() => eprintln!("{} ({}) via {:?}", e.code(), e.phase(), e.route().map(|r| r.summary())),
    ///     Err(e) => eprintln!("{}", e.report()),
    ///     Ok(res) => println!("{}", res.status()),
    /// }
    /// # }
    /// ```
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = Some(timeout);
        self
    }

    /// Whether this request follows redirects, overriding the client's policy (default: none).
    /// Each hop is a new request: its route and provider are decided from its own URL.
    ///
    /// ```no_run
    /// # async fn run(client: proxyscope::Client) -> Result<(), proxyscope::Error> {
    /// use proxyscope::client::RedirectPolicy;
    /// let res = client
    ///     .get("https://example.org/old")
    ///     .redirect(RedirectPolicy::limited(3))
    ///     .send()
    ///     .await?;
    /// println!("ended at {} after {} redirects", res.url(), res.redirects().len());
    /// # Ok(()) }
    /// ```
    pub fn redirect(mut self, policy: RedirectPolicy) -> Self {
        self.redirect = Some(policy);
        self
    }

    /// A copy of this builder, when its body is held in memory (`None` for a stream): for
    /// sending the same request again.
    pub fn try_clone(&self) -> Option<Self> {
        Some(Self {
            client: self.client.clone(),
            provider: self.provider.clone(),
            method: self.method.clone(),
            url: self.url.clone(),
            headers: self.headers.clone(),
            body: self.body.try_clone()?,
            timeout: self.timeout,
            redirect: self.redirect,
            error: self.error.as_ref().map(Error::duplicate),
            keep_url_params: self.keep_url_params,
        })
    }

    /// The request as an `http::Request` (e.g. for a `tower` stack around the [`Client`]), or
    /// the first error a setter kept. The client's default headers are added when it is sent.
    pub fn build(self) -> Result<http::Request<Body>, Error> {
        Ok(self.into_parts()?.1.request)
    }

    /// Sends the request and waits for the response head (the body is read from the
    /// [`Response`]). Awaiting the builder does the same.
    pub async fn send(self) -> Result<Response, Error> {
        self.await
    }

    fn into_parts(self) -> Result<(Client, Parts), Error> {
        if let Some(e) = self.error {
            return Err(e);
        }
        let Some(url) = self.url else {
            return Err(Error::new(ErrorKind::RequestUrl));
        };
        let mut request = http::Request::new(self.body);
        *request.method_mut() = self.method;
        *request.uri_mut() = url.uri().clone();
        *request.headers_mut() = self.headers;
        Ok((
            self.client,
            Parts {
                provider: self.provider,
                request,
                url,
                timeout: self.timeout,
                redirect: self.redirect,
            },
        ))
    }

    fn default_content_type(&mut self, value: &'static str) {
        if !self.headers.contains_key(CONTENT_TYPE) {
            self.headers
                .insert(CONTENT_TYPE, HeaderValue::from_static(value));
        }
    }
}

impl IntoFuture for RequestBuilder {
    type Output = Result<Response, Error>;
    type IntoFuture = ResponseFuture;

    fn into_future(self) -> Self::IntoFuture {
        boxed(self.into_parts())
    }
}

/// The boxed future of one request, as awaiting a builder and the `tower` service return it.
pub(crate) type ResponseFuture =
    Pin<Box<dyn Future<Output = Result<Response, Error>> + Send + 'static>>;

/// The client's own request future, boxed where it is made (see [`Client::execute_parts`]) and
/// run in a task (see `runtime`), or the error that kept the request from being built, ready.
pub(crate) fn boxed(parts: Result<(Client, Parts), Error>) -> ResponseFuture {
    match parts {
        Ok((client, parts)) => super::runtime::in_task(client.execute_parts(parts)),
        Err(e) => Box::pin(std::future::ready(Err(e))),
    }
}

fn bad_header(name: Option<&HeaderName>, why: &str) -> Error {
    let (message, setting) = match name {
        None => (
            format!("a request header name is not a valid HTTP token ({why})"),
            None,
        ),
        Some(n) => (
            format!(
                "the value of request header {n} is invalid ({why}): CR, LF and other control characters cannot be sent"
            ),
            Some(n.as_str().to_owned()),
        ),
    };
    Error::new(ErrorKind::RequestHeader)
        .with_message(message)
        .with_hint("header names are letters, digits and !#$%&'*+-.^_`|~; values are visible text without line breaks")
        .map_evidence(|ev| ev.setting = setting)
}

/// A value built unchecked (`HeaderValue::from_maybe_shared_unchecked`) may still hold CR, LF
/// or NUL: refuse it rather than let it split the request.
pub(crate) fn check_value(name: &HeaderName, value: &HeaderValue) -> Result<(), Error> {
    if value
        .as_bytes()
        .iter()
        .any(|b| matches!(b, b'\r' | b'\n' | 0))
    {
        return Err(bad_header(Some(name), "a CR, LF or NUL byte"));
    }
    Ok(())
}

/// Headers whose values are credentials, by the one rule for header names
/// ([`is_secret_header`](crate::proxy::redact::is_secret_header)).
pub(crate) fn is_credential(name: &HeaderName) -> bool {
    crate::proxy::redact::is_secret_header_name(name)
}

/// Marks every credential header sensitive, so `Debug` and logs print `Sensitive`.
pub(crate) fn mark_sensitive(headers: &mut HeaderMap) {
    for (name, value) in headers.iter_mut() {
        if is_credential(name) {
            value.set_sensitive(true);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn client() -> Client {
        Client::builder()
            .env(crate::proxy::EnvSnapshot::from_pairs(
                Vec::<(String, String)>::new(),
            ))
            .build()
            .unwrap_or_else(|e| panic!("{e}"))
    }

    /// A request without redirects to follow is boxed at the exchange's own size, which must
    /// stay within glibc malloc's per-thread cache (requests of up to 1,032 bytes): a larger
    /// box takes the arena's slower path on every request. Fails when the exchange's future
    /// grows past it, or when it is boxed inside the redirect loop's future again.
    #[tokio::test]
    async fn a_request_without_redirects_fits_the_allocators_thread_cache() {
        let (client, parts) = client()
            .get("http://127.0.0.1:9/")
            .into_parts()
            .unwrap_or_else(|e| panic!("{e}"));
        assert!(parts.redirect.is_none(), "the client's default policy");
        let fut = client.execute_parts(parts);
        let size = std::mem::size_of_val(&*fut);
        assert!(size <= 1032, "the exchange's future is {size} bytes");
    }

    fn built(b: RequestBuilder) -> Result<http::Request<Body>, Error> {
        b.build()
    }

    #[test]
    fn bad_headers_are_request_header_errors_kept_until_send() {
        let c = client();
        let cases: Vec<RequestBuilder> = vec![
            c.get("https://a.test/").header("bad name", "v"),
            c.get("https://a.test/")
                .header("x-a", "line\r\nInjected: yes"),
            c.get("https://a.test/").header("x-a", "nul\0"),
            c.get("https://a.test/").header("", "v"),
            c.get("https://a.test/").bearer_auth("t0ken\r\nx: y"),
        ];
        // Basic credentials are base64: any byte in them is sendable.
        assert!(built(c.get("https://a.test/").basic_auth("u", Some("p\n"))).is_ok());
        for b in cases {
            let e = built(b).err().unwrap_or_else(|| panic!("refused"));
            assert_eq!(e.code(), "request.header");
            assert_eq!(e.hop(), None);
            let all = format!("{e} {e:?} {}", e.report());
            assert!(!all.contains("t0ken") && !all.contains("Injected"), "{all}");
        }
        // An unchecked value with a line break is caught too.
        let mut h = HeaderMap::new();
        h.insert(
            "x-a",
            HeaderValue::from_maybe_shared(bytes::Bytes::from_static(b"ok"))
                .unwrap_or_else(|e| panic!("{e}")),
        );
        assert!(built(c.get("https://a.test/").headers(h)).is_ok());
        // The first error wins; later good setters do not clear it.
        let e = built(
            c.get("https://a.test/")
                .header("bad name", "v")
                .json(&[1, 2])
                .header("x-ok", "fine"),
        )
        .err()
        .map(|e| e.code());
        assert_eq!(e, Some("request.header"));
    }

    #[test]
    fn bad_urls_and_queries_are_request_url() {
        let c = client();
        // Userinfo is not an error: it is sent as Basic credentials (see the client).
        assert!(built(c.get("https://user:s3cret@a.test/")).is_ok());
        #[derive(Serialize)]
        struct Nested {
            inner: Vec<(u8, u8)>,
        }
        let e = built(c.get("https://a.test/").query(&Nested {
            inner: vec![(1, 2)],
        }));
        assert_eq!(e.err().map(|e| e.code()), Some("request.url"));
        for bad in ["not a url", "ftp://a.test/", "http://"] {
            let e = built(c.get(bad)).err().map(|e| e.code());
            assert_eq!(e, Some("request.url"), "{bad}");
        }
    }

    #[test]
    fn bodies_that_do_not_serialise_are_request_body() {
        let c = client();
        let mut map = std::collections::BTreeMap::new();
        map.insert(vec![1u8], 1);
        let e = built(c.post("https://a.test/").json(&map)).err();
        assert_eq!(e.map(|e| e.code()), Some("request.body"));
        #[derive(Serialize)]
        struct Nested {
            inner: Vec<u8>,
        }
        let e = built(c.post("https://a.test/").form(&Nested { inner: vec![1] })).err();
        assert_eq!(e.map(|e| e.code()), Some("request.body"));
    }

    #[test]
    fn a_built_request_carries_what_was_set() {
        let c = client();
        let req = built(
            c.post("https://a.test/p?v=1")
                .query(&[("q", "a b"), ("n", "1")])
                .header("x-one", "1")
                .header("x-one", "2")
                .json(&serde_json::json!({"k": "v"}))
                .bearer_auth("t0ken"),
        )
        .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(req.method(), Method::POST);
        assert_eq!(req.uri().to_string(), "https://a.test/p?v=1&q=a+b&n=1");
        assert_eq!(req.headers().get_all("x-one").iter().count(), 2);
        assert_eq!(
            req.headers().get(CONTENT_TYPE).map(HeaderValue::as_bytes),
            Some(&b"application/json"[..])
        );
        let auth = req
            .headers()
            .get(AUTHORIZATION)
            .unwrap_or_else(|| panic!("auth"));
        assert!(auth.is_sensitive());
        assert!(!format!("{:?}", req.headers()).contains("t0ken"));
        assert_eq!(req.body().as_bytes(), Some(&br#"{"k":"v"}"#[..]));

        let req = built(
            c.post("https://a.test/")
                .header("content-type", "text/plain")
                .form(&[("a", "1")])
                .basic_auth("user", Some("pw")),
        )
        .unwrap_or_else(|e| panic!("{e}"));
        // A Content-Type the caller set wins.
        assert_eq!(
            req.headers().get(CONTENT_TYPE).map(HeaderValue::as_bytes),
            Some(&b"text/plain"[..])
        );
        assert_eq!(
            req.headers().get(AUTHORIZATION).map(HeaderValue::as_bytes),
            Some(&b"Basic dXNlcjpwdw=="[..])
        );
        // `headers` replaces same-named headers and marks credentials sensitive.
        let mut h = HeaderMap::new();
        h.insert("x-one", HeaderValue::from_static("3"));
        h.insert("cookie", HeaderValue::from_static("sid=s3cret"));
        let req = built(c.get("https://a.test/").header("x-one", "1").headers(h))
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(req.headers().get_all("x-one").iter().count(), 1);
        assert!(!format!("{:?}", req.headers()).contains("s3cret"));
    }

    #[test]
    fn debug_never_prints_credentials() {
        let c = client();
        let b = c
            .get("https://a.test/x?api_key=K3Y")
            .basic_auth("user", Some("s3cret"))
            .header("cookie", "sid=c00kie")
            .body("password=hunter2");
        let shown = format!("{b:?}");
        for secret in ["s3cret", "K3Y", "c00kie", "hunter2", "dXNlcjpzM2NyZXQ"] {
            assert!(!shown.contains(secret), "{secret} in {shown}");
        }
    }

    /// Headers that are not `Authorization` or `Cookie` but whose names say they carry a
    /// credential are as hidden, whether set one by one or as a map; ordinary ones still show.
    #[test]
    fn debug_hides_token_headers_by_their_names() {
        let c = client();
        let mut h = HeaderMap::new();
        h.insert("x-vault-token", HeaderValue::from_static("tok-SECRET-3"));
        h.insert("x-request-id", HeaderValue::from_static("rid-42"));
        let b = c
            .get("https://a.test/")
            .header("X-Auth-Token", "tok-SECRET")
            .header("Api-Key", "tok-SECRET-2")
            .headers(h);
        let shown = format!("{b:?}");
        assert!(!shown.contains("tok-SECRET"), "{shown}");
        assert!(shown.contains("rid-42"), "{shown}");
        let req = built(b).unwrap_or_else(|e| panic!("{e}"));
        for name in ["x-auth-token", "api-key", "x-vault-token"] {
            assert!(req.headers()[name].is_sensitive(), "{name}");
        }
        assert!(!req.headers()["x-request-id"].is_sensitive());
    }
}
