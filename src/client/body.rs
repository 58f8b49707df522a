//! Reading a response body within bounds. [`BodyReader`] hands out the body chunk by chunk, each
//! read within the body's deadline, counting what was read; [`BodyReader::collect`] buffers it
//! whole within a size cap. Every way reading can end badly is a coded error with the route and
//! the target: a body that stops arriving is `http.timeout`, one that breaks off is
//! `http.protocol`, one larger than the cap is `http.body_too_large` — refused before reading
//! when the peer announced its size (`Content-Length`), else as soon as the bytes read pass the
//! cap, so at most the cap plus one chunk is ever held.
//!
//! Buffered helpers (`Response::bytes`, `text`) and the probe's checks read through it; a
//! streaming API can hand out [`BodyReader::chunk`] as it is.

use std::pin::Pin;
use std::sync::Arc;
use std::task::Poll;
use std::time::Duration;

use bytes::{Bytes, BytesMut};
use hyper::body::{Body as _, Frame, SizeHint};
use tokio::time::Instant;

use super::into_url::RequestUrl;
use super::pool::BodyEnd;
use super::timer::{RequestTimer, Timers};
use super::wire_body::{Ahead, WireBody, WireError};
use crate::error::{Error, ErrorKind, Hop, Phase, SizeLimit};
use crate::proxy::Secrets;
use crate::route::Route;
use crate::settings::Provenance;

/// The caps a response's body is read under: the profile's `limits.max_body` (with where it came
/// from and the key that changes it) and the time allowed for the whole body. Built once per
/// profile; a request copies it (one reference count, whatever the keys) and sets its timeout.
#[derive(Debug, Clone)]
pub(crate) struct BodyLimits {
    /// The most bytes buffered by `bytes()`/`text()`.
    pub(crate) max_body: u64,
    /// The most bytes a probe check reads (`limits.check_body`).
    pub(crate) check_body: u64,
    /// The time allowed to read the whole body, from the first read.
    pub(crate) timeout: Duration,
    /// Where the caps came from and the keys that change them, shared by the profile's
    /// requests: only an error reads them.
    pub(crate) keys: Arc<LimitKeys>,
}

/// What an error about a cap names: where `max_body` came from and the keys that change the caps.
#[derive(Debug, Clone)]
pub(crate) struct LimitKeys {
    /// Where `max_body` came from (`Provenance::Default` when nothing set it).
    pub(crate) max_body_origin: Provenance,
    /// The key that changes it for this profile (`limits.max_body` or
    /// `providers.NAME.limits.max_body`).
    pub(crate) max_body_key: Arc<str>,
    /// The key that changes `check_body` for this profile.
    pub(crate) check_body_key: Arc<str>,
}

impl BodyLimits {
    /// The caps of the profile named `provider` (`None`: the global profile) under `limits`,
    /// with a zero timeout that each request replaces.
    pub(crate) fn for_profile(provider: Option<&str>, limits: &crate::settings::Limits) -> Self {
        let key = |k: &str| -> Arc<str> {
            match provider {
                Some(name) => format!("providers.{name}.limits.{k}").into(),
                None => format!("limits.{k}").into(),
            }
        };
        Self {
            max_body: limits.max_body_or_default(),
            check_body: limits.check_body_or_default(),
            timeout: Duration::ZERO,
            keys: Arc::new(LimitKeys {
                max_body_origin: limits
                    .max_body
                    .as_ref()
                    .map_or(Provenance::Default, |s| s.origin.clone()),
                max_body_key: key("max_body"),
                check_body_key: key("check_body"),
            }),
        }
    }
}

/// What a response answers: the route it took, the `host:port` it reached, its URL and the
/// request's facts. One per exchange, behind an `Arc` shared by the response, its body reader
/// and the reader's errors.
#[derive(Debug)]
pub(crate) struct Exchanged {
    pub(crate) route: Route,
    pub(crate) url: RequestUrl,
    pub(crate) request: RequestFacts,
    /// The client's kept request timers (see `client::timer`).
    pub(crate) timers: Arc<Timers>,
    /// The request's own deadline and the timeout it came from, which the body's reading
    /// keeps to.
    pub(crate) deadline: Option<(Instant, Duration)>,
    /// The facts of the connection the response came on (set by `Response::new`).
    pub(crate) info: Option<Arc<crate::connect::ConnInfo>>,
}

impl Exchanged {
    /// The `host:port` the response came from, as routing read the request's target: for the
    /// errors that name it, worked out when one is made rather than for every request.
    pub(crate) fn target(&self) -> String {
        super::send::target_of(self.url.uri())
    }
}

/// What the client knew about the request that a proxy's own reply answers: for the error that
/// names the proxy, the request and where the provider was declared.
#[derive(Debug, Clone, Default)]
pub(crate) struct RequestFacts {
    /// The method.
    pub(crate) method: http::Method,
    /// Whether `Proxy-Authorization` was sent with it.
    pub(crate) credentials_sent: bool,
    /// Where the provider was declared.
    pub(crate) provider_origin: Option<Provenance>,
    /// What the request carried that a peer may echo back; scrubbed from every error.
    pub(crate) secrets: Arc<Secrets>,
}

/// A response's body as hyper hands it and, when the client's pool holds the HTTP/1.1
/// connection it came on, where to say that the body has ended: read to its end, or dropped
/// once all of it was read. The connection is then about to be ready for another request.
#[derive(Debug)]
pub(crate) struct RawBody {
    body: WireBody,
    end: Option<BodyEnd>,
    /// What was read as the head arrived (see [`Ahead`]), handed out before anything else.
    ahead: Ahead,
}

impl RawBody {
    /// `ahead`: what was read as the head arrived, and whether the body had ended then.
    pub(crate) fn new(body: WireBody, end: Option<BodyEnd>, (ahead, ended): (Ahead, bool)) -> Self {
        let mut raw = Self { body, end, ahead };
        // A body already over gives its connection back now, not when it is read.
        if ended {
            raw.ended();
        }
        raw
    }

    /// What is left to read: hyper's hint, plus the chunk read ahead.
    fn size_hint(&self) -> SizeHint {
        let hint = self.body.size_hint();
        let Ahead::Data(data) = &self.ahead else {
            return hint;
        };
        let n = data.len() as u64;
        if let Some(left) = hint.exact() {
            return SizeHint::with_exact(left.saturating_add(n));
        }
        let mut more = SizeHint::new();
        more.set_lower(hint.lower().saturating_add(n));
        if let Some(upper) = hint.upper() {
            more.set_upper(upper.saturating_add(n));
        }
        more
    }

    /// The whole body, when it was read ahead whole (or was empty) and is at most `cap` bytes:
    /// taken out, and the body's end told. `None`, leaving everything in place, otherwise.
    pub(crate) fn take_whole(&mut self, cap: u64) -> Option<Bytes> {
        let Ahead::Data(data) = &mut self.ahead else {
            return None;
        };
        if data.len() as u64 > cap || !self.body.is_end_stream() {
            return None;
        }
        let whole = std::mem::take(data);
        self.ended();
        Some(whole)
    }

    /// Tells the pool, when it holds the connection, that the body has ended.
    fn ended(&mut self) {
        if let Some(end) = self.end.take() {
            end.reached();
        }
    }

    fn poll_frame(
        &mut self,
        cx: &mut std::task::Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, WireError>>> {
        if let Some(frame) = self.ahead.take() {
            return Poll::Ready(Some(frame));
        }
        let polled = Pin::new(&mut self.body).poll_frame(cx);
        if let Poll::Ready(None) = polled {
            self.ended();
        }
        polled
    }
}

impl Drop for RawBody {
    fn drop(&mut self) {
        // All of it was read (a body read whole in its first chunk is not polled to its end).
        if let Some(end) = self.end.take()
            && self.body.is_end_stream()
        {
            end.reached();
        }
    }
}

/// A response body being read: the chunks, the deadline, what was read so far and what an error
/// must name.
#[derive(Debug)]
pub(crate) struct BodyReader {
    body: RawBody,
    /// The exchange an error names (route, target), shared with the response.
    at: Arc<Exchanged>,
    hop: Hop,
    limits: BodyLimits,
    /// The body's deadline, which runs from when someone starts reading it: set at the first
    /// read that has to wait, else once the first read returns (no time passed before it).
    deadline: Option<Instant>,
    /// The one timer of that deadline, taken at the first read that has to wait and polled by
    /// every later one (a timer per chunk would register and cancel one per chunk); left to the
    /// client's next requests when the body ends.
    sleep: Option<RequestTimer>,
    /// What a timeout's hint tells the reader to raise.
    timeout_key: &'static str,
    /// The whole body's size as announced before reading (the size hint shrinks as it is read).
    announced: Option<u64>,
    read: u64,
}

impl BodyReader {
    pub(crate) fn new(body: RawBody, at: Arc<Exchanged>, hop: Hop, limits: BodyLimits) -> Self {
        Self {
            announced: body.size_hint().exact(),
            body,
            at,
            hop,
            limits,
            deadline: None,
            sleep: None,
            timeout_key: "timeouts.request",
            read: 0,
        }
    }

    /// The size the peer announced (`Content-Length`), if it did.
    pub(crate) fn announced(&self) -> Option<u64> {
        self.announced
    }

    /// Bytes read so far.
    pub(crate) fn read(&self) -> u64 {
        self.read
    }

    /// Ends reading at `deadline` at the latest, if that is sooner than the body's own: a
    /// caller's deadline of `timeout`, changed with `key` (named by the timeout's hint).
    pub(crate) fn deadline_at(&mut self, deadline: Instant, timeout: Duration, key: &'static str) {
        let own = self.start();
        if deadline < own {
            self.deadline = Some(deadline);
            self.limits.timeout = timeout;
            self.timeout_key = key;
        }
    }

    /// The next chunk of the body, `None` at its end. `http.timeout` when the deadline passes,
    /// `http.protocol` when the body breaks off or is malformed.
    pub(crate) async fn chunk(&mut self) -> Result<Option<Bytes>, Error> {
        let chunk = self.next_chunk().await;
        // The deadline runs from the first read: a read that waited started it then, one that
        // did not (no time passed) starts it now, for the reads after this one.
        self.start();
        chunk
    }

    /// The deadline, started now if no read has started it.
    fn start(&mut self) -> Instant {
        *self
            .deadline
            .get_or_insert_with(|| Instant::now() + self.limits.timeout)
    }

    /// [`chunk`](Self::chunk), except that a first read that finds a chunk ready at once
    /// leaves the deadline unstarted: no clock is read for a body that is here whole.
    async fn next_chunk(&mut self) -> Result<Option<Bytes>, Error> {
        // A deadline set by this very call cannot have passed yet: the first frame needs no
        // look at the clock (a small body is read without one).
        let mut fresh = self.deadline.is_none();
        loop {
            // The body first, then the deadline, as `timeout_at` polls them; the deadline is
            // started and the timer made only when the body is not ready at once.
            let (body, sleep, timers) = (&mut self.body, &mut self.sleep, &self.at.timers);
            let (started, timeout) = (&mut self.deadline, self.limits.timeout);
            let polled = std::future::poll_fn(|cx| {
                if let Poll::Ready(frame) = body.poll_frame(cx) {
                    return Poll::Ready(Some(frame));
                }
                let deadline = *started.get_or_insert_with(|| Instant::now() + timeout);
                let timer = sleep.get_or_insert_with(|| RequestTimer::until(timers, deadline));
                timer.reset(deadline);
                timer.poll_expired(cx).map(|()| None)
            })
            .await;
            let frame = match polled {
                None => return Err(self.timed_out()),
                Some(None) => {
                    if let Some(timer) = self.sleep.take() {
                        timer.keep(&self.at.timers);
                    }
                    return Ok(None);
                }
                Some(Some(Err(e))) => return Err(self.broken(e)),
                // The timer above fires only while the body is pending: a peer that keeps data
                // waiting for a slower reader (or floods empty frames) would never reach it, so
                // every frame that was ready at once is held to the deadline too.
                Some(Some(Ok(_))) if !fresh && Instant::now() >= self.start() => {
                    return Err(self.timed_out());
                }
                Some(Some(Ok(frame))) => frame,
            };
            // Trailers carry no body bytes; empty data frames say nothing.
            if let Ok(data) = frame.into_data()
                && !data.is_empty()
            {
                self.read += data.len() as u64;
                return Ok(Some(data));
            }
            // The frames after an empty one are held to the deadline, started by now.
            fresh = false;
            self.start();
        }
    }

    /// The whole body, at most `limits.max_body` bytes.
    pub(crate) async fn collect(&mut self) -> Result<Bytes, Error> {
        let cap = self.limits.max_body;
        self.collect_within(cap).await
    }

    /// The whole body, at most `cap` bytes: refused unread when the announced size is larger,
    /// else as soon as the bytes read pass `cap`. Borrows the reader rather than taking it, so
    /// that the reader is not copied into each future that reads it.
    pub(crate) async fn collect_within(&mut self, cap: u64) -> Result<Bytes, Error> {
        if let Some(n) = self.announced()
            && n > cap
        {
            return Err(self.too_large(cap, n, true, &self.limits.keys.max_body_key));
        }
        let expected = self.announced().unwrap_or(0).min(cap);
        // Allocated at the second chunk: a body that comes whole in its first needs no buffer.
        let mut buf = BytesMut::new();
        while let Some(chunk) = self.next_chunk().await? {
            if self.read > cap {
                return Err(self.too_large(cap, self.read, false, &self.limits.keys.max_body_key));
            }
            if buf.is_empty() {
                if self.read == chunk.len() as u64 && expected == self.read {
                    // The whole body in one chunk: hand it out without copying (or a look at
                    // the clock, when it was there at once).
                    return Ok(chunk);
                }
                // More to read: the reads after the first are held to the deadline.
                self.start();
                buf.reserve(usize::try_from(expected).unwrap_or(0).max(chunk.len()));
            }
            buf.extend_from_slice(&chunk);
        }
        Ok(buf.freeze())
    }

    /// The caps this body is read under.
    pub(crate) fn limits(&self) -> &BodyLimits {
        &self.limits
    }

    /// `http.body_too_large`: the cap, the size seen, and `key`, the setting that raises the cap.
    pub(crate) fn too_large(&self, cap: u64, seen: u64, announced: bool, key: &str) -> Error {
        let at = Sender {
            at: &self.at,
            hop: self.hop,
        };
        too_large(
            &at,
            &self.limits,
            Overflow {
                cap,
                seen,
                announced,
            },
            key,
        )
    }

    fn timed_out(&self) -> Error {
        let at = Sender {
            at: &self.at,
            hop: self.hop,
        };
        timed_out(&at, self.limits.timeout, self.read, self.timeout_key)
    }

    /// Starts the body's deadline now, if no read has started it, and returns it with the
    /// timeout it stands for and the key that changes that timeout: what a reader above this
    /// one (a decompressor handing out what it already holds) keeps to.
    #[cfg(feature = "decompression")]
    pub(crate) fn start_deadline(&mut self) -> (Instant, Duration, &'static str) {
        let deadline = self.start();
        (deadline, self.limits.timeout, self.timeout_key)
    }

    fn broken(&self, e: WireError) -> Error {
        let target = self.at.target();
        let source = e.into_source();
        Error::new(ErrorKind::HttpProtocol)
            .with_hop(self.hop)
            .with_phase(Phase::Http)
            .with_message(format!(
                "reading the response body from {target} failed after {} bytes",
                self.read
            ))
            .with_hint("the connection broke or the body was malformed mid-response; retry, and check the server's logs")
            .with_route(self.at.route.clone())
            .map_evidence(|ev| {
                ev.target = Some(target);
                ev.cause = Some(crate::proxy::redact_text(&source.to_string()));
            })
            .with_source(source)
    }
}

/// Who sent a body: what an error about it names (the exchange's route and target, and the
/// hop).
pub(crate) struct Sender<'a> {
    pub(crate) at: &'a Exchanged,
    pub(crate) hop: Hop,
}

/// How far past its cap a body went.
pub(crate) struct Overflow {
    pub(crate) cap: u64,
    pub(crate) seen: u64,
    pub(crate) announced: bool,
}

/// `http.body_too_large` for a body `at` sent, past `o.cap`; `key` is the setting that raises
/// the cap (a decompressed body is held to the same cap as a plain one).
pub(crate) fn too_large(at: &Sender<'_>, limits: &BodyLimits, o: Overflow, key: &str) -> Error {
    let Overflow {
        cap,
        seen,
        announced,
    } = o;
    let target = at.at.target();
    let key = key.to_owned();
    let seen_text = if announced {
        format!("announces {seen} bytes")
    } else {
        format!("sent more than {cap} bytes ({seen} read)")
    };
    let origin = match &limits.keys.max_body_origin {
        Provenance::Default => "the default".to_owned(),
        o => o.to_string(),
    };
    Error::new(ErrorKind::HttpBodyTooLarge)
        .with_hop(at.hop)
        .with_phase(Phase::Http)
        .with_message(format!(
            "the response body from {target} {seen_text}, over the {cap}-byte cap"
        ))
        .with_hint(format!(
            "raise `{key}` (in force: {cap} bytes, from {origin}) if bodies this large are expected, or check that the URL is the one meant"
        ))
        .with_route(at.at.route.clone())
        .map_evidence(|ev| {
            ev.target = Some(target);
            ev.setting = Some(key);
            ev.size_limit = Some(SizeLimit {
                limit: cap,
                seen,
                announced,
            });
        })
}

/// `http.timeout` for a body `at` sent that did not finish within `timeout` (`read` bytes read);
/// `key` is the setting that raises the timeout.
pub(crate) fn timed_out(at: &Sender<'_>, timeout: Duration, read: u64, key: &str) -> Error {
    let target = at.at.target();
    Error::new(ErrorKind::HttpTimeout)
        .with_hop(at.hop)
        .with_phase(Phase::Http)
        .with_message(format!(
            "the response body from {target} did not finish in time ({read} bytes read)"
        ))
        .with_hint(format!(
            "the server sends the body too slowly or stopped sending it; check the server, or raise {key}"
        ))
        .with_route(at.at.route.clone())
        .map_evidence(|ev| {
            ev.target = Some(target);
            ev.timeout = Some(timeout);
            ev.proxy = at.at.route.proxy().map(|p| p.without_credentials());
        })
}
