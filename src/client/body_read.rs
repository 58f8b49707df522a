//! Reading a response body: chunk by chunk within the body's deadline ([`Reader::chunk`]),
//! whole within its size cap ([`Reader::collect`]), or as a `Stream` ([`BodyStream`]);
//! decompressed on the way when the client asked for a compressed body (feature
//! `decompression`). The raw bytes come through [`BodyReader`]. Every failure is a coded error
//! with the route, the target and the URL: `http.timeout` (the body stopped arriving),
//! `http.protocol` (it broke off), `http.body_too_large` (past the cap, decompressed size
//! counted), `http.decode` (a compressed body that does not decompress).

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::Bytes;
use tokio::time::Instant;

use super::BodyReader;
use super::body::Exchanged;
#[cfg(feature = "decompression")]
use super::body::{Overflow, Sender, timed_out, too_large};
use crate::error::{Error, Hop};
#[cfg(feature = "decompression")]
use crate::error::{ErrorKind, Phase};

/// What an error about this body names: the exchange (route, target, URL, and the request's
/// credentials, scrubbed from every error since a peer may echo them) and the hop that sent it.
#[derive(Debug, Clone)]
pub(crate) struct Ctx {
    pub(crate) at: Arc<Exchanged>,
    /// Only decompression errors name the hop; other body errors come from the reader.
    #[cfg_attr(not(feature = "decompression"), allow(dead_code))]
    pub(crate) hop: Hop,
}

impl Ctx {
    #[cfg(feature = "decompression")]
    fn error(&self, kind: ErrorKind) -> Error {
        let target = self.at.target();
        let proxy = self.at.route.proxy().map(|p| p.without_credentials());
        Error::new(kind)
            .with_hop(self.hop)
            .with_phase(Phase::Http)
            .with_route(self.at.route.clone())
            .with_url(self.at.url.url())
            .map_evidence(|ev| {
                ev.target = Some(target);
                ev.proxy = proxy;
            })
    }
}

/// Builds `http.body_too_large` for a buffered body past its cap after `seen` bytes.
#[cfg(feature = "decompression")]
type TooLarge = Box<dyn Fn(u64) -> Error + Send + Sync>;

/// Builds `http.timeout` for a decompressed body past its deadline after `produced` bytes out.
#[cfg(feature = "decompression")]
type TimedOut = Box<dyn Fn(u64) -> Error + Send + Sync>;

/// The raw bytes of a body, read through [`BodyReader`] (the body's deadline and size cap),
/// its errors naming the URL too.
#[derive(Debug)]
pub(crate) struct Raw {
    reader: BodyReader,
    ctx: Ctx,
    done: bool,
}

impl Raw {
    /// `reader` ending at `request_deadline` (the request's own timeout) when that is sooner.
    pub(crate) fn new(
        mut reader: BodyReader,
        ctx: Ctx,
        request_deadline: Option<(Instant, Duration)>,
    ) -> Self {
        keep_request_deadline(&mut reader, request_deadline);
        Self {
            reader,
            ctx,
            done: false,
        }
    }

    /// Whether the body is known to be empty (a `HEAD` response, a 204, `Content-Length: 0`).
    #[cfg(feature = "decompression")]
    pub(crate) fn is_empty(&self) -> bool {
        self.reader.announced() == Some(0)
    }

    /// The next chunk, `None` at the end (and after an error).
    pub(crate) async fn chunk(&mut self) -> Result<Option<Bytes>, Error> {
        if self.done {
            return Ok(None);
        }
        match self.reader.chunk().await {
            Ok(Some(b)) => Ok(Some(b)),
            Ok(None) => {
                self.done = true;
                Ok(None)
            }
            Err(e) => {
                self.done = true;
                Err(e.with_url(self.ctx.at.url.url()))
            }
        }
    }

    /// The rest of the body in memory, within the profile's `limits.max_body` (refused unread
    /// when its announced size is larger).
    async fn collect(&mut self) -> Result<Bytes, Error> {
        let at = &self.ctx.at;
        self.reader
            .collect()
            .await
            .map_err(|e| e.with_url(at.url.url()))
    }

    /// The body's deadline, started now if no read has started it, and the error for passing
    /// it after `produced` bytes: what a decompressor keeps to while it hands out output it
    /// already holds (a small compressed chunk can expand to gigabytes without another read).
    #[cfg(feature = "decompression")]
    fn deadline(&mut self) -> (Instant, TimedOut) {
        let (deadline, timeout, key) = self.reader.start_deadline();
        let ctx = self.ctx.clone();
        let error: TimedOut = Box::new(move |produced| {
            let at = Sender {
                at: &ctx.at,
                hop: ctx.hop,
            };
            timed_out(&at, timeout, produced, key).with_url(ctx.at.url.url())
        });
        (deadline, error)
    }

    /// The cap a buffered read is held to, and the error for passing it after `seen` bytes.
    #[cfg(feature = "decompression")]
    fn cap(&self) -> (u64, TooLarge) {
        let limits = self.reader.limits().clone();
        let ctx = self.ctx.clone();
        let cap = limits.max_body;
        let error: TooLarge = Box::new(move |seen| {
            let at = Sender {
                at: &ctx.at,
                hop: ctx.hop,
            };
            let o = Overflow {
                cap,
                seen,
                announced: false,
            };
            too_large(&at, &limits, o, &limits.keys.max_body_key).with_url(ctx.at.url.url())
        });
        (cap, error)
    }
}

/// Makes `reader` end at `request_deadline` (the request's own timeout) when that is sooner
/// than the body's own deadline.
pub(crate) fn keep_request_deadline(
    reader: &mut BodyReader,
    request_deadline: Option<(Instant, Duration)>,
) {
    if let Some((at, timeout)) = request_deadline {
        reader.deadline_at(at, timeout, "RequestBuilder::timeout");
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
        let secrets = Arc::clone(&raw.ctx.at.request.secrets);
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

    /// The rest of the body in memory, within the profile's `limits.max_body`
    /// (`http.body_too_large` past it; a decompressed body is held to the cap by its
    /// decompressed size, so a small compressed body cannot expand past it).
    pub(crate) async fn collect(&mut self) -> Result<Bytes, Error> {
        let read = match std::mem::replace(&mut self.inner, Inner::Finished) {
            Inner::Raw(mut r) => r.collect().await,
            #[cfg(feature = "decompression")]
            Inner::Decoded(mut d) => d.collect().await,
            Inner::Finished => Ok(Bytes::new()),
        };
        read.map_err(|e| e.scrubbed(&self.secrets))
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
    //! The decoders' own memory is bounded by their windows: 32 KiB for gzip, 16 MiB for
    //! brotli, 8 MiB for zstd (HTTP's limit; a frame asking for more does not decompress).

    use std::io;
    use std::pin::Pin;

    use async_compression::tokio::bufread::{BrotliDecoder, GzipDecoder, ZstdDecoder};
    use bytes::Bytes;
    use tokio::io::{AsyncRead, AsyncReadExt as _};
    use tokio::time::Instant;
    use tokio_util::io::StreamReader;

    use super::{Chunks, Ctx, Encoding, Raw, TimedOut, TooLarge};
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
        /// The cap of a buffered read, by decompressed size, and its error.
        cap: u64,
        too_large: TooLarge,
        /// The body's deadline (the raw reader's), and its error.
        deadline: Instant,
        timed_out: TimedOut,
    }

    impl Decoder {
        pub(super) fn new(mut raw: Raw, encoding: Encoding) -> Self {
            let ctx = raw.ctx.clone();
            let (cap, too_large) = raw.cap();
            let (deadline, timed_out) = raw.deadline();
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
                // HTTP's zstd allows an 8 MiB window (RFC 9659); the library's own ceiling is
                // 128 MiB, which a few kilobytes of hostile input make the decoder allocate
                // and fill for every response read as a stream.
                Encoding::Zstd => Box::pin(ZstdDecoder::new_for_http(input)),
            };
            Self {
                read,
                buf: vec![0; OUT].into_boxed_slice(),
                encoding,
                ctx,
                produced: 0,
                done: false,
                cap,
                too_large,
                deadline,
                timed_out,
            }
        }

        /// The rest of the body in memory, held to the cap by its decompressed size.
        pub(super) async fn collect(&mut self) -> Result<Bytes, Error> {
            let mut buf = bytes::BytesMut::new();
            while let Some(chunk) = self.chunk().await? {
                let seen = (buf.len() + chunk.len()) as u64;
                if seen > self.cap {
                    return Err((self.too_large)(seen));
                }
                buf.extend_from_slice(&chunk);
            }
            Ok(buf.freeze())
        }

        pub(super) async fn chunk(&mut self) -> Result<Option<Bytes>, Error> {
            if self.done {
                return Ok(None);
            }
            // Output decoded from input already in hand needs no read of the body, so the raw
            // reader's deadline alone would let one small chunk expand for as long as the
            // caller reads: the decoder keeps the same deadline itself.
            if self.produced > 0 && Instant::now() >= self.deadline {
                self.done = true;
                return Err((self.timed_out)(self.produced));
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
                    self.ctx.at.target(), self.produced
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
