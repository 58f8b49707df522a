//! A response with its provenance: the route it took, the connection facts, who wrote it
//! ([`Attribution`]), the URL it answers and the redirects that led there;
//! `error_for_status` turns a failure status into an `http.status` error that names the hop
//! that produced it. The body is read through [`super::body_read`] — chunk by chunk, as a
//! stream, or whole (`bytes`, `text`, `json`) within the profile's `limits.max_body` and
//! `timeouts.request` — and every way reading can fail is a coded error with the route
//! (`http.protocol`, `http.timeout`, `http.body_too_large`, `http.decode`), never a bare hyper
//! error.

use std::net::SocketAddr;
use std::sync::{Arc, OnceLock};

use bytes::Bytes;
use http::{HeaderMap, StatusCode, Version};

use crate::connect::{ConnInfo, Ctx as ConnectCtx, Form, refusal};
use crate::error::{Error, ErrorKind, Hop, Phase, ProxyReply, Redirect};
use crate::proxy::Secrets;
use crate::route::Route;
use crate::settings::Provenance;
use crate::wire::{attribute, evidence_headers, source_of};

use super::body::{BodyLimits, BodyReader, Exchanged, RawBody};
use super::body_read::{BodyStream, Ctx, Encoding, Raw, Reader, keep_request_deadline};
use crate::error::{Attribution, ResponsePath};

/// An HTTP response, its route, its attribution and how it was reached.
pub struct Response {
    head: http::response::Parts,
    /// The body until the first read, then the reader that holds it.
    body: BodyState,
    encoding: Option<Encoding>,
    /// What this answers (route, target, URL, the request's facts), shared with the body
    /// reader and its errors: building the reader clones none of it.
    x: Arc<Exchanged>,
    path: ResponsePath,
    /// Read from the headers on first use: most responses are never asked who wrote them,
    /// and reading the signatures costs more than the rest of a keep-alive request's own work.
    /// Boxed, so that a response (moved several times on its way to the caller) carries a
    /// pointer for it rather than its room.
    attribution: OnceLock<Box<Attribution>>,
    limits: BodyLimits,
    /// Boxed: most responses followed none, and carry no vector's room for them.
    redirects: Option<Box<[Redirect]>>,
}

/// Where a response's body is: as it came (until the first read), in the reader that reads it,
/// or gone (taken by a stream or a reader of its own).
enum BodyState {
    Raw(RawBody),
    Reading(Reader),
    Gone,
}

impl std::fmt::Debug for Response {
    // The URL as it is safe to print (credentials and secret query values masked), never the
    // body or the request's secrets.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Response")
            .field("status", &self.head.status)
            .field("version", &self.head.version)
            .field("url", &crate::proxy::redact_url(&self.x.url.text()))
            .field("headers", &self.head.headers)
            .field("route", &self.x.route)
            .field("attribution", self.attribution())
            .field("redirects", &self.redirects)
            .finish_non_exhaustive()
    }
}

impl Response {
    /// The response in `answer` to the exchange `x` (which gets the connection's facts), its
    /// body (`ahead`: its start, when that was read with the head) read within `limits` and
    /// decompressed when `decode`. `x` is built by the caller
    /// and moved once, into its `Arc`.
    pub(crate) fn new(
        answer: super::pool::Answer,
        ahead: (super::wire_body::Ahead, bool),
        mut x: Exchanged,
        limits: BodyLimits,
        decode: bool,
    ) -> Self {
        let super::pool::Answer {
            res: inner,
            info,
            end,
            ahead: _,
        } = answer;
        // The pool hands its connections' facts over beside the response; hyper-util's
        // connector put them in the extensions.
        x.info = info.or_else(|| inner.extensions().get::<Arc<ConnInfo>>().cloned());
        let path = match x.info.as_deref() {
            Some(i) if i.absolute_form => ResponsePath::AbsoluteForm,
            Some(i) if i.tunnel => ResponsePath::Tunnel,
            _ if x.route.proxy().is_some() => ResponsePath::Tunnel,
            _ => ResponsePath::Direct,
        };
        let (mut head, raw) = inner.into_parts();
        // A session or token the origin hands out (`Set-Cookie`, `X-Subject-Token`) is a
        // credential: `Debug` of the response or of its headers (what callers log) prints
        // `Sensitive` instead; the value stays readable. Same rule as request headers.
        // Whether the body is encoded is noted in the same pass: most responses are not, and
        // need no lookup of `Content-Encoding` after it.
        let mut encoded = false;
        for (name, value) in head.headers.iter_mut() {
            if crate::proxy::redact::is_secret_header_name(name) {
                value.set_sensitive(true);
            } else if *name == http::header::CONTENT_ENCODING {
                encoded = true;
            } else if name == http::header::LOCATION
                // A redirect may point at a URL with userinfo or a token in its query (a login
                // page's `?ticket=`): such a Location is sensitive too. Masking it changes it
                // exactly when it holds one of those. Looked at in this pass rather than looked
                // up after it.
                && let Ok(text) = std::str::from_utf8(value.as_bytes())
                && crate::proxy::redact_url(text) != text
            {
                value.set_sensitive(true);
            }
        }
        let encoding = if decode && encoded {
            decoded_encoding(&mut head.headers)
        } else {
            None
        };
        Self {
            head,
            body: BodyState::Raw(RawBody::new(raw, end, ahead)),
            encoding,
            x: Arc::new(x),
            path,
            attribution: OnceLock::new(),
            limits,
            redirects: None,
        }
    }

    pub(crate) fn with_redirects(mut self, redirects: Vec<Redirect>) -> Self {
        self.redirects = (!redirects.is_empty()).then(|| redirects.into_boxed_slice());
        self
    }

    /// The credentials the request carried, to scrub from anything built from this response.
    pub(crate) fn secrets(&self) -> &Arc<Secrets> {
        &self.x.request.secrets
    }

    /// The status code.
    pub fn status(&self) -> StatusCode {
        self.head.status
    }

    /// The HTTP version spoken with the origin (or the proxy, for absolute-form).
    pub fn version(&self) -> Version {
        self.head.version
    }

    /// The response headers. When the client decompressed the body, `Content-Encoding` and
    /// `Content-Length` (which describe the compressed bytes) are gone.
    pub fn headers(&self) -> &HeaderMap {
        &self.head.headers
    }

    /// The URL this response answers: the request's, or the last redirect's target.
    pub fn url(&self) -> &url::Url {
        self.x.url.url()
    }

    /// The redirects followed to get here, in order, each with the URL that redirected, its
    /// status, where it pointed and the route that request took (empty when none was
    /// followed).
    pub fn redirects(&self) -> &[Redirect] {
        self.redirects.as_deref().unwrap_or_default()
    }

    /// The route the request took.
    pub fn route(&self) -> &Route {
        &self.x.route
    }

    /// How the connection was made (route, tunnel or absolute-form, peer, ALPN, timings).
    pub fn conn_info(&self) -> Option<&ConnInfo> {
        self.x.info.as_deref()
    }

    /// The address the connection went to: the proxy's when the route goes through one, else
    /// the origin's.
    pub fn remote_addr(&self) -> Option<SocketAddr> {
        self.conn_info().and_then(|i| i.peer)
    }

    /// Who sent this response, as [`attribution`](Response::attribution) decides it, without
    /// writing the reasons: what a body error names, asked of every body that is read.
    fn hop(&self) -> Hop {
        match self.attribution.get() {
            Some(a) => a.source,
            None => source_of(self.head.status, &self.head.headers),
        }
    }

    /// Who wrote this response, and why we think so (from the path and the headers).
    pub fn attribution(&self) -> &Attribution {
        self.attribution.get_or_init(|| {
            Box::new(attribute(
                self.path,
                self.head.status,
                &self.head.headers,
                None,
            ))
        })
    }

    /// The reason phrase as sent: proxies put the cause there (tinyproxy's "403 Filtered",
    /// "500 Unable to connect"); the canonical phrase when the sender used it or sent none.
    pub fn reason_phrase(&self) -> String {
        match self.head.extensions.get::<hyper::ext::ReasonPhrase>() {
            Some(r) => String::from_utf8_lossy(r.as_bytes()).into_owned(),
            None => self.status().canonical_reason().unwrap_or("").to_owned(),
        }
    }

    /// `Ok(self)` for 1xx–3xx; for 4xx/5xx an error. A reply the proxy generated itself gets the
    /// same code as the same refusal to CONNECT (`proxy.forbidden`, `proxy.auth_required` /
    /// `proxy.auth_rejected`, `proxy.upstream`, `proxy.refused`) with hop and blame `proxy`;
    /// `http.status` is kept for statuses the origin sent. Either way the status, the
    /// attribution that decided it, the URL and the redirects followed are in the evidence.
    ///
    /// ```no_run
    /// # async fn run(client: proxyscope::Client) {
    /// use proxyscope::{Blame, Hop};
    /// let res = client.get("http://api.example.org/v1/items").send().await;
    /// match res.and_then(|r| r.error_for_status()) {
    ///     Ok(res) => println!("{}", res.status()),
    ///     // The proxy refused on its own: its status, never the origin's.
    ///     Err(e) if e.hop() == Some(Hop::Proxy) => eprintln!("proxy: {}", e.report()),
    ///     Err(e) if e.is_status() => eprintln!("origin said {:?}", e.status()),
    ///     Err(e) if e.blame() == Blame::LocalConfig => eprintln!("fix the settings: {}", e.report()),
    ///     Err(e) => eprintln!("{}", e.report()),
    /// }
    /// # }
    /// ```
    pub fn error_for_status(self) -> Result<Self, Error> {
        let status = self.status();
        if !(status.is_client_error() || status.is_server_error()) {
            return Ok(self);
        }
        Err(self.status_error())
    }

    /// `Err` when the proxy wrote this reply itself, whatever its status — a login redirect, a
    /// block page, a splash page with `200` — since it is then not the origin's answer; `Ok(self)`
    /// for a reply the origin wrote (relayed or tunnelled). The error is the refusal's `proxy.*`
    /// code (`proxy.refused` for a status that is no refusal), with the attribution that decided.
    ///
    /// ```no_run
    /// # async fn run(client: proxyscope::Client) -> Result<(), proxyscope::Error> {
    /// let body = client
    ///     .get("http://api.example.org/v1/items")
    ///     .send()
    ///     .await?
    ///     .error_for_proxy_reply()?
    ///     .text()
    ///     .await?;
    /// # Ok(()) }
    /// ```
    pub fn error_for_proxy_reply(self) -> Result<Self, Error> {
        if self.attribution().is_proxy_generated() {
            return Err(self.proxy_reply_error());
        }
        Ok(self)
    }

    fn status_error(&self) -> Error {
        if self.attribution().is_proxy_generated() {
            return self.proxy_reply_error();
        }
        let status = self.status();
        let a = self.attribution().clone();
        let proxy = self.x.route.proxy().map(|p| p.without_credentials());
        let target = self.x.target();
        let redirects = self.redirects().to_vec();
        Error::new(ErrorKind::HttpStatus)
            .with_hop(Hop::Origin)
            .with_phase(Phase::Http)
            .with_message(format!("{target} answered {status}"))
            .with_hint("the origin itself answered with this status; check the request (URL path, credentials, method) against the service")
            .with_route(self.x.route.clone())
            .with_url(self.x.url.url())
            .map_evidence(|ev| {
                ev.status = Some(status.as_u16());
                ev.target = Some(target);
                ev.proxy = proxy;
                ev.attribution = Some(a);
                ev.redirects = redirects;
            })
            .scrubbed(&self.x.request.secrets)
    }

    /// The error for a reply the proxy wrote itself (whatever its status): the refusal's code,
    /// the proxy's headers, the attribution.
    pub(crate) fn proxy_reply_error(&self) -> Error {
        let status = self.status();
        let reply = ProxyReply {
            status: status.as_u16(),
            reason: self.reason_phrase(),
            headers: evidence_headers(
                &self
                    .headers()
                    .iter()
                    .map(|(n, v)| {
                        (
                            n.as_str().to_owned(),
                            String::from_utf8_lossy(v.as_bytes()).into_owned(),
                        )
                    })
                    .collect::<Vec<_>>(),
            ),
            body_excerpt: None,
            body_truncated: false,
        };
        let ctx = ConnectCtx::new(
            self.x.route.provider().map(str::to_owned),
            self.x.target(),
            self.x.route.proxy().cloned(),
            Some(self.x.route.clone()),
        )
        .with_provider_origin(self.x.request.provider_origin.clone());
        let url = self.x.route.url().to_owned();
        let form = Form::Request {
            method: self.x.request.method.as_str(),
            url: &url,
        };
        let a = self.attribution().clone();
        let redirects = self.redirects().to_vec();
        refusal(&ctx, reply, self.x.request.credentials_sent, form)
            .with_route(self.x.route.clone())
            .with_url(self.x.url.url())
            .map_evidence(|ev| {
                ev.attribution = Some(a);
                ev.redirects = redirects;
            })
            .scrubbed(&self.x.request.secrets)
    }

    /// The cap [`bytes`](Response::bytes), [`text`](Response::text) and
    /// [`json`](Response::json) read under: the profile's `limits.max_body` (default
    /// [`Limits::DEFAULT_MAX_BODY`]), unless [`max_body`](Response::max_body) changed it.
    ///
    /// [`Limits::DEFAULT_MAX_BODY`]: crate::Limits::DEFAULT_MAX_BODY
    pub fn body_limit(&self) -> u64 {
        self.limits.max_body
    }

    /// Reads at most `bytes` of this response's body into memory instead of the profile's
    /// `limits.max_body`: for the one download known to be larger, or a call that must stay
    /// smaller. Streaming ([`chunk`](Response::chunk), [`bytes_stream`](Response::bytes_stream))
    /// holds one chunk at a time and has no cap.
    pub fn max_body(mut self, bytes: u64) -> Self {
        self.limits.max_body = bytes;
        Arc::make_mut(&mut self.limits.keys).max_body_origin = Provenance::Builder {
            key: "Response::max_body".to_owned(),
        };
        self
    }

    /// The raw body, read chunk by chunk within the deadline (the probe's checks); `None` once
    /// reading has started through the response.
    pub(crate) fn into_reader(mut self) -> Option<BodyReader> {
        let body = self.take_raw()?;
        let hop = self.hop();
        Some(BodyReader::new(body, self.x, hop, self.limits))
    }

    /// The body as it came, if no read has started; it is then gone from the response.
    fn take_raw(&mut self) -> Option<RawBody> {
        match std::mem::replace(&mut self.body, BodyState::Gone) {
            BodyState::Raw(body) => Some(body),
            other => {
                self.body = other;
                None
            }
        }
    }

    /// The body's reader, `None` only when the body is gone (read as a finished one reads).
    fn reader(&mut self) -> Option<&mut Reader> {
        // Built once, on the first read; later reads (one per chunk) only look it up.
        if !matches!(self.body, BodyState::Reading(_)) {
            let hop = self.hop();
            let reader = match self.take_raw() {
                Some(body) => {
                    let ctx = Ctx {
                        at: Arc::clone(&self.x),
                        hop,
                    };
                    let reader =
                        BodyReader::new(body, Arc::clone(&self.x), hop, self.limits.clone());
                    Reader::new(Raw::new(reader, ctx, self.x.deadline), self.encoding)
                }
                None => Reader::finished(),
            };
            self.body = BodyState::Reading(reader);
        }
        match &mut self.body {
            BodyState::Reading(reader) => Some(reader),
            BodyState::Raw(_) | BodyState::Gone => None,
        }
    }

    /// The next chunk of the body (decompressed when the client asked for a compressed one),
    /// `None` at its end. Reading stops with `http.timeout` when the body does not finish
    /// within `timeouts.request` of the first read (or the request's own deadline),
    /// `http.protocol` when it breaks off, `http.decode` when a compressed body is corrupt.
    ///
    /// ```no_run
    /// # async fn run(client: proxyscope::Client) -> Result<(), proxyscope::Error> {
    /// let mut res = client.get("https://downloads.example.org/big.iso").send().await?;
    /// let mut total = 0;
    /// while let Some(chunk) = res.chunk().await? {
    ///     total += chunk.len(); // write it somewhere; nothing is kept in memory
    /// }
    /// # Ok(()) }
    /// ```
    pub async fn chunk(&mut self) -> Result<Option<Bytes>, Error> {
        match self.reader() {
            Some(reader) => reader.chunk().await,
            None => Ok(None),
        }
    }

    /// The body as a `Stream` of chunks (`futures_core::Stream<Item = Result<Bytes, Error>>`),
    /// with the errors of [`chunk`](Response::chunk).
    ///
    /// ```no_run
    /// # async fn run(client: proxyscope::Client) -> Result<(), proxyscope::Error> {
    /// use futures_util::StreamExt as _;
    /// let mut stream = client.get("https://api.example.org/feed").send().await?.bytes_stream();
    /// while let Some(chunk) = stream.next().await {
    ///     let chunk = chunk?;
    ///     println!("{} bytes", chunk.len());
    /// }
    /// # Ok(()) }
    /// ```
    pub fn bytes_stream(mut self) -> BodyStream {
        self.reader();
        match std::mem::replace(&mut self.body, BodyState::Gone) {
            BodyState::Reading(reader) => BodyStream::new(reader),
            BodyState::Raw(_) | BodyState::Gone => BodyStream::new(Reader::finished()),
        }
    }

    /// The whole body in memory, at most [`body_limit`](Response::body_limit) bytes
    /// (decompressed). A body announced (`Content-Length`) or found to be larger is
    /// `http.body_too_large` with the cap and the size seen in `evidence().size_limit` — refused
    /// before reading when announced, else as soon as the cap is passed; an early close or a
    /// broken body is `http.protocol`; a body that does not finish within `timeouts.request` of
    /// the first read (or the request's own deadline) is `http.timeout`. Every error has phase
    /// `http`, the hop that sent the body, the route and the URL.
    pub async fn bytes(mut self) -> Result<Bytes, Error> {
        self.read_all().await
    }

    /// The whole body, as [`bytes`](Response::bytes) reads it, leaving the head for an error
    /// about the body to read.
    async fn read_all(&mut self) -> Result<Bytes, Error> {
        // A plain body that was here whole with its head (a small answer on a kept connection,
        // the common case) is handed out as it is: nothing to wait for, so no reader, no
        // deadline and nothing that could fail. A larger one than the cap takes the reader's
        // path below, which refuses it with the evidence.
        if self.encoding.is_none()
            && let BodyState::Raw(raw) = &mut self.body
            && let Some(whole) = raw.take_whole(self.limits.max_body)
        {
            self.body = BodyState::Gone;
            return Ok(whole);
        }
        // A plain body not read yet (nearly every call) is read by a `BodyReader` held right in
        // this future: nothing boxed for later reads, and who sent the body (a pass over the
        // headers) is worked out only when an error names it.
        if self.encoding.is_none()
            && let Some(body) = self.take_raw()
        {
            // The hop given here is never seen: every error gets the real one below.
            let mut reader =
                BodyReader::new(body, Arc::clone(&self.x), Hop::Origin, self.limits.clone());
            keep_request_deadline(&mut reader, self.x.deadline);
            return reader.collect().await.map_err(|e| {
                e.with_hop(self.hop())
                    .with_url(self.x.url.url())
                    .scrubbed(&self.x.request.secrets)
            });
        }
        match self.reader() {
            Some(reader) => reader.collect().await,
            None => Ok(Bytes::new()),
        }
    }

    /// The whole body as text (lossy UTF-8), read as [`bytes`](Response::bytes) reads it.
    pub async fn text(self) -> Result<String, Error> {
        let b = self.bytes().await?;
        Ok(String::from_utf8_lossy(&b).into_owned())
    }

    /// The whole body parsed as JSON into `T`, read as [`bytes`](Response::bytes) reads it. A
    /// body that is not JSON, or not JSON of `T`'s shape, is `http.decode` with serde's line and
    /// column (never the body itself, which may carry secrets) in the evidence.
    ///
    /// ```no_run
    /// # async fn run(client: proxyscope::Client) -> Result<(), proxyscope::Error> {
    /// #[derive(serde::Deserialize)]
    /// struct Status { healthy: bool }
    /// let s: Status = client.get("https://api.example.org/status").send().await?.json().await?;
    /// # Ok(()) }
    /// ```
    pub async fn json<T: serde::de::DeserializeOwned>(mut self) -> Result<T, Error> {
        let body = self.read_all().await?;
        // Who sent the body and what it said it was are read from the head only for an error.
        serde_json::from_slice(&body).map_err(|e| {
            let x = &self.x;
            let hop = self.hop();
            let content_type = self
                .headers()
                .get(http::header::CONTENT_TYPE)
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned);
            let (line, column) = (e.line(), e.column());
            Error::new(ErrorKind::HttpDecode)
                .with_hop(hop)
                .with_phase(Phase::Http)
                .with_message(format!(
                    "the response body from {} is not the JSON expected ({} at line {line}, column {column}; {} bytes)",
                    x.target(),
                    json_problem(&e),
                    body.len()
                ))
                .with_hint(match content_type.as_deref() {
                    Some(ct) if !ct.contains("json") => format!(
                        "the response is {ct}, not JSON: check the URL and the status before decoding (error_for_status)"
                    ),
                    _ => "check what the endpoint returns against the type asked for".to_owned(),
                })
                .with_route(x.route.clone())
                .with_url(x.url.url())
                .map_evidence(|ev| {
                    ev.target = Some(x.target());
                    ev.expected = Some(std::any::type_name::<T>().to_owned());
                    ev.value = content_type;
                })
                .scrubbed(&x.request.secrets)
            // serde's own message quotes the offending value, which may be a token: the
            // category, line and column say enough.
        })
    }
}

/// The encoding the client will decompress, with `Content-Encoding` and `Content-Length`
/// (which describe the compressed bytes) taken out of `headers`; `None` leaves them as sent.
fn decoded_encoding(headers: &mut HeaderMap) -> Option<Encoding> {
    let mut values = headers.get_all(http::header::CONTENT_ENCODING).iter();
    let enc = values.next().and_then(Encoding::of)?;
    if values.next().is_some() {
        return None;
    }
    headers.remove(http::header::CONTENT_ENCODING);
    headers.remove(http::header::CONTENT_LENGTH);
    Some(enc)
}

/// serde_json's category of failure, without the message (which may quote the body).
fn json_problem(e: &serde_json::Error) -> &'static str {
    use serde_json::error::Category;
    match e.classify() {
        Category::Io => "an I/O error",
        Category::Syntax => "a syntax error",
        Category::Data => "a value of the wrong type",
        Category::Eof => "an early end",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A response moves several times between the exchange and the caller (out of the request
    /// future, through the redirect loop, into `Ok`): what only some responses need (their
    /// attribution) or only the body reader reads (the deadline) stays out of its bytes.
    #[test]
    fn a_response_stays_small() {
        // 280 bytes with any features, the body's first chunk read with the head (32 of them)
        // included: the body and its reader share their room, and the redirects followed
        // (most responses none) are a boxed slice.
        assert!(std::mem::size_of::<Response>() <= 280);
    }
}
