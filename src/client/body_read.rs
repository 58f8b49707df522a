//! Reading a response body: chunk by chunk within the body's deadline ([`Reader::chunk`]),
//! whole ([`Reader::collect`]), or as a `Stream` ([`BodyStream`]); decompressed on the way when
//! the client asked for a compressed body (feature `decompression`). Every failure is a coded
//! error with the route, the target and the URL: `http.timeout` (the body stopped arriving),
//! `http.protocol` (it broke off), `http.decode` (a compressed body that does not decompress).

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::{Bytes, BytesMut};
use http_body_util::BodyExt as _;
use hyper::body::Incoming;
use tokio::time::Instant;

use crate::error::{Error, ErrorKind, Hop, Phase};
use crate::route::Route;

/// What an error about this body names.
#[derive(Debug, Clone)]
pub(crate) struct Ctx {
    pub(crate) route: Route,
    pub(crate) target: String,
    pub(crate) hop: Hop,
    pub(crate) url: url::Url,
    /// The request's credentials, scrubbed from every error (a peer may echo them).
    pub(crate) secrets: std::sync::Arc<crate::proxy::Secrets>,
}

impl Ctx {
    fn error(&self, kind: ErrorKind) -> Error {
        let target = self.target.clone();
        let proxy = self.route.proxy().map(|p| p.without_credentials());
        Error::new(kind)
            .with_hop(self.hop)
            .with_phase(Phase::Http)
            .with_route(self.route.clone())
            .with_url(&self.url)
            .map_evidence(|ev| {
                ev.target = Some(target);
                ev.proxy = proxy;
            })
    }
}

/// The raw bytes of a body, each read within the body's deadline.
#[derive(Debug)]
pub(crate) struct Raw {
    body: Option<Incoming>,
    ctx: Ctx,
    /// The time allowed for the whole body, from the first read.
    timeout: Duration,
    /// The request's own deadline, which the body's cannot pass.
    request_deadline: Option<Instant>,
    deadline: Option<Instant>,
    read: u64,
}

impl Raw {
    pub(crate) fn new(
        body: Option<Incoming>,
        ctx: Ctx,
        timeout: Duration,
        request_deadline: Option<Instant>,
    ) -> Self {
        Self {
            body,
            ctx,
            timeout,
            request_deadline,
            deadline: None,
            read: 0,
        }
    }

    /// Whether the body is known to be empty (a `HEAD` response, a 204, `Content-Length: 0`).
    #[cfg(feature = "decompression")]
    pub(crate) fn is_empty(&self) -> bool {
        use hyper::body::Body as _;
        self.body.as_ref().is_none_or(Incoming::is_end_stream)
    }

    /// The next chunk, `None` at the end.
    pub(crate) async fn chunk(&mut self) -> Result<Option<Bytes>, Error> {
        let deadline = *self.deadline.get_or_insert_with(|| {
            let own = Instant::now() + self.timeout;
            self.request_deadline.map_or(own, |d| d.min(own))
        });
        let Some(body) = self.body.as_mut() else {
            return Ok(None);
        };
        loop {
            let frame = match tokio::time::timeout_at(deadline, body.frame()).await {
                Err(_) => return Err(self.timed_out()),
                Ok(None) => {
                    self.body = None;
                    return Ok(None);
                }
                Ok(Some(Err(e))) => {
                    self.body = None;
                    return Err(self.broken(e));
                }
                Ok(Some(Ok(frame))) => frame,
            };
            // Trailers carry no body bytes; empty data frames say nothing.
            if let Ok(data) = frame.into_data()
                && !data.is_empty()
            {
                self.read += data.len() as u64;
                return Ok(Some(data));
            }
        }
    }

    fn timed_out(&self) -> Error {
        let by_request = self
            .request_deadline
            .is_some_and(|d| Some(d) == self.deadline);
        let hint = if by_request {
            "the request's own timeout (RequestBuilder::timeout) expired while the body was arriving; raise it for large or slow bodies"
        } else {
            "the server sends the body too slowly or stopped sending it; check the server, or raise timeouts.request"
        };
        let timeout = self.timeout;
        self.ctx
            .error(ErrorKind::HttpTimeout)
            .with_message(format!(
                "the response body from {} did not finish in time ({} bytes read)",
                self.ctx.target, self.read
            ))
            .with_hint(hint)
            .map_evidence(|ev| ev.timeout = Some(timeout))
    }

    fn broken(&self, e: hyper::Error) -> Error {
        self.ctx
            .error(ErrorKind::HttpProtocol)
            .with_message(format!(
                "reading the response body from {} failed after {} bytes",
                self.ctx.target, self.read
            ))
            .with_hint("the connection broke or the body was malformed mid-response; retry, and check the server's logs")
            .with_source(e)
    }
}

/// A compressed body's encoding, from `Content-Encoding`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Encoding {
    Gzip,
    Brotli,
    Zstd,
}

impl Encoding {
    /// The single encoding a `Content-Encoding` value names, when it is one the client
    /// decompresses (`identity` and stacked encodings are left as they are).
    pub(crate) fn of(value: &http::HeaderValue) -> Option<Self> {
        match value.to_str().ok()?.trim().to_ascii_lowercase().as_str() {
            "gzip" | "x-gzip" => Some(Self::Gzip),
            "br" => Some(Self::Brotli),
            "zstd" => Some(Self::Zstd),
            _ => None,
        }
    }

    #[cfg(feature = "decompression")]
    fn name(self) -> &'static str {
        match self {
            Self::Gzip => "gzip",
            Self::Brotli => "br",
            Self::Zstd => "zstd",
        }
    }
}

/// A body being read: raw, or through a decompressor.
#[derive(Debug)]
pub(crate) struct Reader {
    inner: Inner,
    secrets: std::sync::Arc<crate::proxy::Secrets>,
}

enum Inner {
    Raw(Box<Raw>),
    #[cfg(feature = "decompression")]
    Decoded(Box<decode::Decoder>),
    Finished,
}

impl std::fmt::Debug for Inner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Raw(r) => r.fmt(f),
            #[cfg(feature = "decompression")]
            Self::Decoded(_) => f.write_str("Decoded"),
            Self::Finished => f.write_str("Finished"),
        }
    }
}

impl Reader {
    /// A reader of `raw`, decompressing `encoding` when given.
    pub(crate) fn new(raw: Raw, encoding: Option<Encoding>) -> Self {
        let secrets = std::sync::Arc::clone(&raw.ctx.secrets);
        let inner = match encoding {
            #[cfg(feature = "decompression")]
            Some(enc) if !raw.is_empty() => {
                Inner::Decoded(Box::new(decode::Decoder::new(raw, enc)))
            }
            _ => Inner::Raw(Box::new(raw)),
        };
        Self { inner, secrets }
    }

    /// A reader with nothing left to read.
    pub(crate) fn finished() -> Self {
        Self {
            inner: Inner::Finished,
            secrets: std::sync::Arc::default(),
        }
    }

    /// The next chunk (decompressed), `None` at the end.
    pub(crate) async fn chunk(&mut self) -> Result<Option<Bytes>, Error> {
        let read = match &mut self.inner {
            Inner::Raw(r) => r.chunk().await,
            #[cfg(feature = "decompression")]
            Inner::Decoded(d) => d.chunk().await,
            Inner::Finished => Ok(None),
        };
        read.map_err(|e| e.scrubbed(&self.secrets))
    }

    /// The rest of the body in memory.
    pub(crate) async fn collect(&mut self) -> Result<Bytes, Error> {
        let mut buf = BytesMut::new();
        let mut first: Option<Bytes> = None;
        while let Some(chunk) = self.chunk().await? {
            // The whole body in one chunk: hand it out without copying.
            match first.take() {
                None if buf.is_empty() => first = Some(chunk),
                None => buf.extend_from_slice(&chunk),
                Some(f) => {
                    buf.extend_from_slice(&f);
                    buf.extend_from_slice(&chunk);
                }
            }
        }
        Ok(first.unwrap_or_else(|| buf.freeze()))
    }
}

type Step<R> = Pin<Box<dyn Future<Output = (Box<R>, Result<Option<Bytes>, Error>)> + Send>>;

/// A reader with an `async fn chunk` as a `Stream`: the reader moves into the future that
/// reads the next chunk and comes back with it, so no borrow outlives a poll.
pub(crate) struct Chunks<R> {
    state: State<R>,
    step: fn(Box<R>) -> Step<R>,
}

enum State<R> {
    Idle(Box<R>),
    Busy(Step<R>),
    Done,
}

impl<R> Chunks<R> {
    pub(crate) fn new(reader: R, step: fn(Box<R>) -> Step<R>) -> Self {
        Self {
            state: State::Idle(Box::new(reader)),
            step,
        }
    }

    pub(crate) fn poll_chunk(
        &mut self,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Bytes, Error>>> {
        loop {
            match std::mem::replace(&mut self.state, State::Done) {
                State::Done => return Poll::Ready(None),
                State::Idle(r) => self.state = State::Busy((self.step)(r)),
                State::Busy(mut f) => match f.as_mut().poll(cx) {
                    Poll::Pending => {
                        self.state = State::Busy(f);
                        return Poll::Pending;
                    }
                    Poll::Ready((r, Ok(Some(b)))) => {
                        self.state = State::Idle(r);
                        return Poll::Ready(Some(Ok(b)));
                    }
                    // The end, or an error after which nothing more is read.
                    Poll::Ready((_, Ok(None))) => return Poll::Ready(None),
                    Poll::Ready((_, Err(e))) => return Poll::Ready(Some(Err(e))),
                },
            }
        }
    }
}

/// A response body as a `futures_core::Stream` of chunks, from
/// [`Response::bytes_stream`](super::Response::bytes_stream). Each item is a chunk or the
/// coded error that ended the body (after which the stream ends).
pub struct BodyStream {
    chunks: Chunks<Reader>,
}

impl std::fmt::Debug for BodyStream {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("BodyStream")
    }
}

impl BodyStream {
    pub(crate) fn new(reader: Reader) -> Self {
        Self {
            chunks: Chunks::new(reader, |mut r| {
                Box::pin(async move {
                    let c = r.chunk().await;
                    (r, c)
                })
            }),
        }
    }
}

impl futures_core::Stream for BodyStream {
    type Item = Result<Bytes, Error>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        self.get_mut().chunks.poll_chunk(cx)
    }
}

#[cfg(feature = "decompression")]
mod decode {
    //! Decompression through async-compression's decoders over the raw chunks. Output is read
    //! 64 KiB at a time, so a small compressed body that expands enormously is handed out in
    //! bounded chunks (and a buffered read stops at its cap) instead of being inflated whole.

    use std::io;
    use std::pin::Pin;

    use async_compression::tokio::bufread::{BrotliDecoder, GzipDecoder, ZstdDecoder};
    use bytes::Bytes;
    use tokio::io::{AsyncRead, AsyncReadExt as _};
    use tokio_util::io::StreamReader;

    use super::{Chunks, Ctx, Encoding, Raw};
    use crate::error::{Error, ErrorKind};

    const OUT: usize = 64 * 1024;

    /// The raw chunks as the `io::Result` stream a `StreamReader` reads; our errors travel
    /// inside `io::Error` and come back out unchanged.
    struct RawStream(Chunks<Raw>);

    impl futures_core::Stream for RawStream {
        type Item = io::Result<Bytes>;

        fn poll_next(
            self: Pin<&mut Self>,
            cx: &mut std::task::Context<'_>,
        ) -> std::task::Poll<Option<Self::Item>> {
            self.get_mut()
                .0
                .poll_chunk(cx)
                .map(|o| o.map(|r| r.map_err(io::Error::other)))
        }
    }

    pub(super) struct Decoder {
        read: Pin<Box<dyn AsyncRead + Send>>,
        buf: Box<[u8]>,
        encoding: Encoding,
        ctx: Ctx,
        produced: u64,
        done: bool,
    }

    impl Decoder {
        pub(super) fn new(raw: Raw, encoding: Encoding) -> Self {
            let ctx = raw.ctx.clone();
            let stream = RawStream(Chunks::new(raw, |mut r| {
                Box::pin(async move {
                    let c = r.chunk().await;
                    (r, c)
                })
            }));
            let input = StreamReader::new(stream);
            let read: Pin<Box<dyn AsyncRead + Send>> = match encoding {
                Encoding::Gzip => Box::pin(GzipDecoder::new(input)),
                Encoding::Brotli => Box::pin(BrotliDecoder::new(input)),
                Encoding::Zstd => Box::pin(ZstdDecoder::new(input)),
            };
            Self {
                read,
                buf: vec![0; OUT].into_boxed_slice(),
                encoding,
                ctx,
                produced: 0,
                done: false,
            }
        }

        pub(super) async fn chunk(&mut self) -> Result<Option<Bytes>, Error> {
            if self.done {
                return Ok(None);
            }
            match self.read.read(&mut self.buf).await {
                Ok(0) => {
                    self.done = true;
                    Ok(None)
                }
                Ok(n) => {
                    self.produced += n as u64;
                    Ok(Some(Bytes::copy_from_slice(&self.buf[..n])))
                }
                Err(e) => {
                    self.done = true;
                    Err(self.failed(e))
                }
            }
        }

        fn failed(&self, e: io::Error) -> Error {
            // A failure reading the raw body (timeout, broken connection) is that failure.
            if e.get_ref().is_some_and(|i| i.is::<Error>()) {
                if let Some(inner) = e.into_inner()
                    && let Ok(ours) = inner.downcast::<Error>()
                {
                    return *ours;
                }
                return self.ctx.error(ErrorKind::HttpProtocol);
            }
            let enc = self.encoding.name();
            self.ctx
                .error(ErrorKind::HttpDecode)
                .with_message(format!(
                    "the {enc}-compressed response body from {} does not decompress (after {} bytes out)",
                    self.ctx.target, self.produced
                ))
                .with_hint(format!(
                    "the server labelled the body Content-Encoding: {enc} but sent something else or cut it short; check the server"
                ))
                .with_source(e)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_single_known_encodings_are_decoded() {
        let cases = [
            ("gzip", Some(Encoding::Gzip)),
            ("x-gzip", Some(Encoding::Gzip)),
            (" GZIP ", Some(Encoding::Gzip)),
            ("br", Some(Encoding::Brotli)),
            ("zstd", Some(Encoding::Zstd)),
            ("identity", None),
            ("gzip, br", None),
            ("deflate", None),
            ("", None),
        ];
        for (v, want) in cases {
            let h = http::HeaderValue::from_static(v);
            assert_eq!(Encoding::of(&h), want, "{v:?}");
        }
    }
}
