//! A response's body as it comes off its connection, before the client reads it: from hyper
//! (HTTP/1.1, and every response through hyper-util's client) or from an HTTP/2 stream the
//! client's pool speaks itself (see `http2`). One type, so that everything above reads both
//! alike.

use std::pin::Pin;
use std::task::{Context, Poll};

use bytes::Bytes;
use hyper::body::{Body as _, Frame, Incoming, SizeHint};

use h2::RecvStream;
use http::HeaderMap;
use http::header::CONTENT_LENGTH;

/// A response's body as it comes off its connection: from hyper (HTTP/1.1, and every response
/// through hyper-util's client) or from an HTTP/2 stream the client's pool speaks itself.
#[derive(Debug)]
pub(crate) enum WireBody {
    Hyper(Incoming),
    Http2(H2Body),
    /// An HTTP/2 body read whole with its head: its stream was let go where the head arrived
    /// (letting go of a stream wakes its connection's task, best done from that task's side).
    Ended,
}

/// Why reading a body off its connection failed: hyper's error or `h2`'s, as it came (the cause
/// of the error the reader returns, downcastable).
#[derive(Debug)]
pub(crate) enum WireError {
    Hyper(hyper::Error),
    Http2(h2::Error),
}

impl WireError {
    /// The error as it came, boxed: the cause an error of ours carries.
    pub(crate) fn into_source(self) -> Box<dyn std::error::Error + Send + Sync> {
        match self {
            WireError::Hyper(e) => Box::new(e),
            WireError::Http2(e) => Box::new(e),
        }
    }
}

impl hyper::body::Body for WireBody {
    type Data = Bytes;
    type Error = WireError;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, WireError>>> {
        match self.get_mut() {
            WireBody::Hyper(b) => Pin::new(b)
                .poll_frame(cx)
                .map(|f| f.map(|r| r.map_err(WireError::Hyper))),
            WireBody::Http2(b) => Pin::new(b)
                .poll_frame(cx)
                .map(|f| f.map(|r| r.map_err(WireError::Http2))),
            WireBody::Ended => Poll::Ready(None),
        }
    }

    fn is_end_stream(&self) -> bool {
        match self {
            WireBody::Hyper(b) => b.is_end_stream(),
            WireBody::Http2(b) => b.is_end_stream(),
            WireBody::Ended => true,
        }
    }

    fn size_hint(&self) -> SizeHint {
        match self {
            WireBody::Hyper(b) => b.size_hint(),
            WireBody::Http2(b) => b.size_hint(),
            WireBody::Ended => SizeHint::with_exact(0),
        }
    }
}

/// The start of a body, read in the same turn of the task as its response head, when hyper
/// has it already.
///
/// Asking hyper for a body's first chunk tells the connection's task that the reader wants it,
/// and that wakes the task. Asked in the turn the head arrived in, the task (and the thread it
/// runs on) is most likely still awake; asked later, once the response has been handed up and
/// the caller comes back for its body, the task has often gone to sleep, and waking it costs a
/// system call and a sleep on both sides.
#[derive(Debug)]
pub(crate) enum Ahead {
    /// The first chunk of data, held in place; empty when none was read ahead (or the chunk
    /// was empty, which a reader is as well without).
    Data(Bytes),
    /// Trailers before any data, or an error: rare, so held out of line, which keeps every
    /// response small.
    Other(Box<Result<Frame<Bytes>, WireError>>),
}

impl Ahead {
    /// Nothing read ahead.
    pub(crate) const NONE: Self = Self::Data(Bytes::new());

    /// The body's first frame, if hyper has it already: `NONE` when the reader would have to
    /// wait (the waker of `cx` is then registered, as for any read; a later read from another
    /// task replaces it) or when the body had ended. `true` when the body is over, read ahead
    /// whole or empty: its connection is then given back now rather than when it is read.
    pub(crate) fn read(body: &mut WireBody, cx: &mut std::task::Context<'_>) -> (Self, bool) {
        match Pin::new(&mut *body).poll_frame(cx) {
            Poll::Ready(Some(Ok(frame))) => match frame.into_data() {
                Ok(data) => (Self::Data(data), body.is_end_stream()),
                Err(frame) => (Self::Other(Box::new(Ok(frame))), false),
            },
            Poll::Ready(Some(Err(e))) => (Self::Other(Box::new(Err(e))), false),
            // Polled again, the body says it has ended again.
            Poll::Ready(None) => (Self::NONE, true),
            Poll::Pending => (Self::NONE, false),
        }
    }

    /// The frame read ahead, leaving `NONE`.
    pub(crate) fn take(&mut self) -> Option<Result<Frame<Bytes>, WireError>> {
        match std::mem::replace(self, Self::NONE) {
            Self::Data(data) if data.is_empty() => None,
            Self::Data(data) => Some(Ok(Frame::data(data))),
            Self::Other(frame) => Some(*frame),
        }
    }
}

/// A response's body on an HTTP/2 stream: its data as it comes (each chunk's room in the
/// receive window released as it is handed out), then its trailers. As small as `h2`'s stream
/// and a count: a response is moved several times and holds its body in place.
#[derive(Debug)]
pub(crate) struct H2Body {
    recv: RecvStream,
    /// What `Content-Length` promised and is still to come (`h2` checks that the stream keeps
    /// to it); [`UNKNOWN`] when the response did not say.
    left: u64,
    /// Whether the body was seen to end early: reset with `NO_ERROR` and nothing owed (`h2`
    /// says such a stream has not ended, as it never got `END_STREAM`).
    done: bool,
}

/// [`H2Body::left`] when the response promised no length.
const UNKNOWN: u64 = u64::MAX;

impl H2Body {
    /// The body of a response with `headers` (its `Content-Length`, if any, is what is to come;
    /// nothing is, after `HEAD`).
    pub(crate) fn new(recv: RecvStream, is_head: bool, headers: &HeaderMap) -> Self {
        let left = if is_head {
            0
        } else {
            headers
                .get(CONTENT_LENGTH)
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.parse().ok())
                .map_or(UNKNOWN, |n: u64| n.min(UNKNOWN - 1))
        };
        Self {
            recv,
            left,
            done: false,
        }
    }

    /// A stream reset with `NO_ERROR` is an early end (RFC 9113 §8.1) unless a promised length
    /// is still owed.
    fn early_end(&self, e: &h2::Error) -> bool {
        e.reason() == Some(h2::Reason::NO_ERROR) && (self.left == 0 || self.left == UNKNOWN)
    }
}

impl http_body::Body for H2Body {
    type Data = Bytes;
    type Error = h2::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, h2::Error>>> {
        let this = &mut *self;
        if this.done {
            return Poll::Ready(None);
        }
        // Once the data has ended `h2` says so again at once.
        match this.recv.poll_data(cx) {
            Poll::Ready(Some(Ok(data))) => {
                let _ = this.recv.flow_control().release_capacity(data.len());
                if this.left != UNKNOWN {
                    this.left = this.left.saturating_sub(data.len() as u64);
                }
                return Poll::Ready(Some(Ok(Frame::data(data))));
            }
            Poll::Ready(Some(Err(e))) => {
                this.done = this.early_end(&e);
                return Poll::Ready((!this.done).then_some(Err(e)));
            }
            Poll::Ready(None) => {}
            Poll::Pending => return Poll::Pending,
        }
        match this.recv.poll_trailers(cx) {
            Poll::Ready(Ok(t)) => Poll::Ready(t.map(|t| Ok(Frame::trailers(t)))),
            Poll::Ready(Err(e)) => {
                this.done = this.early_end(&e);
                Poll::Ready((!this.done).then_some(Err(e)))
            }
            Poll::Pending => Poll::Pending,
        }
    }

    fn is_end_stream(&self) -> bool {
        self.done || self.recv.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        match self.left {
            UNKNOWN => SizeHint::default(),
            left => SizeHint::with_exact(left),
        }
    }
}
