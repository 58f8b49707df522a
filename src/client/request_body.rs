//! [`Body`]: what a request sends — nothing, bytes held in memory (which a 307/308 redirect can
//! send again), or a stream pulled as the connection takes it (never buffered whole, never
//! replayed). A stream that fails midway ends the request with `request.body`, its error kept
//! as the cause; hyper never hands back its own error for it.

use std::error::Error as StdError;
use std::fmt;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use bytes::Bytes;
use futures_core::Stream;
use http_body::{Frame, SizeHint};

/// The error type a body stream may fail with.
pub type BoxError = Box<dyn StdError + Send + Sync + 'static>;

type BoxStream = Pin<Box<dyn Stream<Item = Result<Bytes, BoxError>> + Send + 'static>>;
type BoxBody = http_body_util::combinators::UnsyncBoxBody<Bytes, BoxError>;

/// A request body. Build one from bytes or text (`Body::from`), from a stream of chunks
/// ([`Body::wrap_stream`]) or from any `http_body::Body` ([`Body::wrap`]).
///
/// ```
/// use proxyscope::client::Body;
///
/// let held = Body::from("lang=en-ru");
/// assert_eq!(held.as_bytes(), Some(&b"lang=en-ru"[..]));
///
/// let chunks = vec![Ok::<_, std::io::Error>(bytes::Bytes::from_static(b"a")), Ok("b".into())];
/// let streamed = Body::wrap_stream(tokio_stream_like(chunks));
/// assert!(streamed.as_bytes().is_none()); // a stream is not held, so it cannot be replayed
/// # fn tokio_stream_like<T: Send + 'static>(v: Vec<T>) -> impl futures_core::Stream<Item = T> + Send + 'static {
/// #     struct It<T>(std::vec::IntoIter<T>);
/// #     impl<T> Unpin for It<T> {}
/// #     impl<T> futures_core::Stream for It<T> {
/// #         type Item = T;
/// #         fn poll_next(mut self: std::pin::Pin<&mut Self>, _: &mut std::task::Context<'_>) -> std::task::Poll<Option<T>> {
/// #             std::task::Poll::Ready(self.0.next())
/// #         }
/// #     }
/// #     It(v.into_iter())
/// # }
/// ```
pub struct Body {
    kind: Kind,
}

enum Kind {
    /// Held in memory; `None` once sent.
    Full(Option<Bytes>),
    /// Pulled chunk by chunk.
    Stream(BoxStream),
    /// Another `http_body::Body`.
    Http(BoxBody),
}

impl Body {
    /// No body.
    pub fn empty() -> Self {
        Self {
            kind: Kind::Full(None),
        }
    }

    /// A body read from `stream` as the connection takes it: never held whole in memory, so a
    /// 307/308 redirect cannot send it again (the redirect is then the response). An `Err` item
    /// ends the request with `request.body`, the stream's error as the cause.
    pub fn wrap_stream<S, E>(stream: S) -> Self
    where
        S: Stream<Item = Result<Bytes, E>> + Send + 'static,
        E: Into<BoxError>,
    {
        Self {
            kind: Kind::Stream(Box::pin(MapErr(Box::pin(stream)))),
        }
    }

    /// Any `http_body::Body` (a `tower` or `hyper` caller's own); streamed like
    /// [`Body::wrap_stream`].
    pub fn wrap<B>(body: B) -> Self
    where
        B: http_body::Body<Data = Bytes> + Send + 'static,
        B::Error: Into<BoxError>,
    {
        use http_body_util::BodyExt as _;
        Self {
            kind: Kind::Http(body.map_err(Into::into).boxed_unsync()),
        }
    }

    /// The bytes, when the body is held in memory (`None` for a stream).
    pub fn as_bytes(&self) -> Option<&[u8]> {
        match &self.kind {
            Kind::Full(b) => Some(b.as_deref().unwrap_or(&[])),
            Kind::Stream(_) | Kind::Http(_) => None,
        }
    }

    /// A copy for sending again (a redirect's 307/308), when the body is held in memory.
    pub(crate) fn try_clone(&self) -> Option<Body> {
        match &self.kind {
            Kind::Full(b) => Some(Self {
                kind: Kind::Full(b.clone()),
            }),
            Kind::Stream(_) | Kind::Http(_) => None,
        }
    }
}

impl Default for Body {
    fn default() -> Self {
        Self::empty()
    }
}

impl fmt::Debug for Body {
    // Never the bytes: a body may carry credentials (a login form, a token exchange).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.kind {
            Kind::Full(b) => write!(f, "Body({} bytes)", b.as_ref().map_or(0, Bytes::len)),
            Kind::Stream(_) | Kind::Http(_) => f.write_str("Body(stream)"),
        }
    }
}

impl From<Bytes> for Body {
    fn from(b: Bytes) -> Self {
        Self {
            kind: Kind::Full((!b.is_empty()).then_some(b)),
        }
    }
}

impl From<Vec<u8>> for Body {
    fn from(v: Vec<u8>) -> Self {
        Bytes::from(v).into()
    }
}

impl From<String> for Body {
    fn from(s: String) -> Self {
        Bytes::from(s).into()
    }
}

impl From<&'static str> for Body {
    fn from(s: &'static str) -> Self {
        Bytes::from_static(s.as_bytes()).into()
    }
}

impl From<&'static [u8]> for Body {
    fn from(s: &'static [u8]) -> Self {
        Bytes::from_static(s).into()
    }
}

impl From<()> for Body {
    fn from((): ()) -> Self {
        Self::empty()
    }
}

/// The error a failing body stream ended the request with, as hyper carries it: the stream's
/// own error, shared so the client can hand it back as the cause of `request.body`.
#[derive(Debug, Clone)]
pub(crate) struct BodyStreamError(pub(crate) Arc<dyn StdError + Send + Sync + 'static>);

impl fmt::Display for BodyStreamError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "the request body stream failed: {}", self.0)
    }
}

impl StdError for BodyStreamError {
    fn source(&self) -> Option<&(dyn StdError + 'static)> {
        Some(&*self.0)
    }
}

impl http_body::Body for Body {
    type Data = Bytes;
    /// A [`BoxError`] whose concrete type the client recognises when hyper hands it back, so a
    /// failing stream is `request.body` with the stream's own error as the cause.
    type Error = BoxError;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, BoxError>>> {
        let wrap = |e: BoxError| -> BoxError { Box::new(BodyStreamError(Arc::from(e))) };
        match &mut self.kind {
            Kind::Full(b) => Poll::Ready(b.take().map(|b| Ok(Frame::data(b)))),
            Kind::Stream(s) => match s.as_mut().poll_next(cx) {
                Poll::Ready(Some(Ok(b))) => Poll::Ready(Some(Ok(Frame::data(b)))),
                Poll::Ready(Some(Err(e))) => Poll::Ready(Some(Err(wrap(e)))),
                Poll::Ready(None) => Poll::Ready(None),
                Poll::Pending => Poll::Pending,
            },
            Kind::Http(b) => Pin::new(b).poll_frame(cx).map_err(wrap),
        }
    }

    fn is_end_stream(&self) -> bool {
        match &self.kind {
            Kind::Full(b) => b.is_none(),
            Kind::Stream(_) => false,
            Kind::Http(b) => b.is_end_stream(),
        }
    }

    fn size_hint(&self) -> SizeHint {
        match &self.kind {
            Kind::Full(b) => SizeHint::with_exact(b.as_ref().map_or(0, |b| b.len() as u64)),
            Kind::Stream(_) => SizeHint::default(),
            Kind::Http(b) => b.size_hint(),
        }
    }
}

/// A stream whose errors are boxed; the stream itself is pinned in a box of its own, so the
/// wrapper is `Unpin` and needs no projection.
struct MapErr<S>(Pin<Box<S>>);

impl<S, E> Stream for MapErr<S>
where
    S: Stream<Item = Result<Bytes, E>>,
    E: Into<BoxError>,
{
    type Item = Result<Bytes, BoxError>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        self.get_mut()
            .0
            .as_mut()
            .poll_next(cx)
            .map(|o| o.map(|r| r.map_err(Into::into)))
    }
}
