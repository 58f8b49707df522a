//! The origin's response bodies: a fixed body, or one generated as it is sent — a gigabyte, an
//! endless stream, a body that stalls — so a test can serve hostile bodies without holding them
//! in memory.

use std::convert::Infallible;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::Bytes;
use http_body_util::Full;
use hyper::body::{Body, Frame, SizeHint};

/// The size of each generated chunk.
const CHUNK: usize = 64 * 1024;

/// A body the origin sends.
#[derive(Debug)]
pub(crate) enum OriginBody {
    /// Known bytes, sent with `Content-Length`.
    Full(Full<Bytes>),
    /// Generated as it is sent.
    Generated(Generated),
    /// Paced or cut short.
    Paced(Paced),
}

/// The error a body ends with to make hyper cut the connection.
pub(crate) type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// A body that repeats `chunk` forever (or up to `limit` bytes, then fails, which makes hyper
/// cut the connection), optionally waiting `every` between chunks.
#[derive(Debug)]
pub(crate) struct Paced {
    chunk: Bytes,
    every: Option<Duration>,
    sleep: Option<Pin<Box<tokio::time::Sleep>>>,
    limit: Option<u64>,
    sent: u64,
}

impl Paced {
    /// `chunk` again and again, `every` apart when given.
    pub(crate) fn new(chunk: Bytes, every: Option<Duration>) -> Self {
        Self {
            chunk,
            every,
            sleep: None,
            limit: None,
            sent: 0,
        }
    }

    /// Fails after `n` bytes.
    pub(crate) fn limit(mut self, n: u64) -> Self {
        self.limit = Some(n);
        self
    }

    fn poll_chunk(&mut self, cx: &mut Context<'_>) -> Poll<Option<Result<Frame<Bytes>, BoxError>>> {
        if let Some(limit) = self.limit
            && self.sent >= limit
        {
            return Poll::Ready(Some(Err("cut on purpose".into())));
        }
        if let Some(every) = self.every {
            let sleep = self
                .sleep
                .get_or_insert_with(|| Box::pin(tokio::time::sleep(every)));
            if sleep.as_mut().poll(cx).is_pending() {
                return Poll::Pending;
            }
            self.sleep = None;
        }
        let chunk = match self.limit {
            Some(limit) => {
                let left = usize::try_from(limit - self.sent).unwrap_or(usize::MAX);
                self.chunk.slice(..self.chunk.len().min(left))
            }
            None => self.chunk.clone(),
        };
        self.sent += chunk.len() as u64;
        Poll::Ready(Some(Ok(Frame::data(chunk))))
    }
}

impl From<Bytes> for OriginBody {
    fn from(b: Bytes) -> Self {
        OriginBody::Full(Full::new(b))
    }
}

/// `x` bytes, then an optional tail, generated in [`CHUNK`]-sized pieces.
#[derive(Debug)]
pub(crate) struct Generated {
    /// Bytes of `x` still to send; `None`: endless.
    remaining: Option<u64>,
    /// Sent after the `x` bytes.
    tail: Option<Bytes>,
    /// Whether the length is announced (`Content-Length`) or left open (chunked).
    announce: bool,
    /// After the `x` bytes, never send anything again (and never end).
    stall: bool,
    chunk: Bytes,
}

impl Generated {
    /// `n` bytes of `x` followed by `tail`; `announce` sends `Content-Length`.
    pub(crate) fn sized(n: u64, tail: Option<Bytes>, announce: bool) -> Self {
        Self::new(Some(n), tail, announce, false)
    }

    /// `x` forever, without a length.
    pub(crate) fn endless() -> Self {
        Self::new(None, None, false, false)
    }

    /// `n` bytes of `x`, then silence with the connection open; the announced length is one
    /// byte more, so the body is never complete.
    pub(crate) fn stalling(n: u64) -> Self {
        Self::new(Some(n), None, true, true)
    }

    fn new(remaining: Option<u64>, tail: Option<Bytes>, announce: bool, stall: bool) -> Self {
        Self {
            remaining,
            tail,
            announce,
            stall,
            chunk: Bytes::from(vec![b'x'; CHUNK]),
        }
    }
}

impl Body for OriginBody {
    type Data = Bytes;
    type Error = BoxError;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, BoxError>>> {
        match self.get_mut() {
            OriginBody::Full(f) => Pin::new(f)
                .poll_frame(cx)
                .map(|o| o.map(|r| r.map_err(|never: Infallible| match never {}))),
            OriginBody::Paced(p) => p.poll_chunk(cx),
            OriginBody::Generated(g) => {
                let next = match g.remaining {
                    None => Some(g.chunk.clone()),
                    Some(0) => match g.tail.take() {
                        Some(t) => Some(t),
                        // Never woken again: the body neither continues nor ends.
                        None if g.stall => return Poll::Pending,
                        None => None,
                    },
                    Some(n) => {
                        let len = usize::try_from(n).map_or(CHUNK, |n| n.min(CHUNK));
                        g.remaining = Some(n - len as u64);
                        Some(g.chunk.slice(..len))
                    }
                };
                Poll::Ready(next.map(|b| Ok(Frame::data(b))))
            }
        }
    }

    fn is_end_stream(&self) -> bool {
        match self {
            OriginBody::Full(f) => f.is_end_stream(),
            OriginBody::Generated(g) => !g.stall && g.remaining == Some(0) && g.tail.is_none(),
            OriginBody::Paced(_) => false,
        }
    }

    fn size_hint(&self) -> SizeHint {
        match self {
            OriginBody::Full(f) => f.size_hint(),
            OriginBody::Generated(g) if g.announce => {
                let tail = g.tail.as_ref().map_or(0, |t| t.len() as u64);
                let stall = u64::from(g.stall);
                match g.remaining {
                    Some(n) => SizeHint::with_exact(n.saturating_add(tail).saturating_add(stall)),
                    None => SizeHint::default(),
                }
            }
            OriginBody::Generated(_) | OriginBody::Paced(_) => SizeHint::default(),
        }
    }
}

#[cfg(test)]
mod tests {
    use http_body_util::BodyExt as _;

    use super::*;

    #[tokio::test]
    async fn generated_bodies_have_their_length_and_tail() {
        let body = OriginBody::Generated(Generated::sized(
            CHUNK as u64 + 3,
            Some(Bytes::from_static(b"end")),
            true,
        ));
        assert_eq!(body.size_hint().exact(), Some(CHUNK as u64 + 6));
        let all = body.collect().await.unwrap().to_bytes();
        assert_eq!(all.len(), CHUNK + 6);
        assert!(all.ends_with(b"xxxend"));
        let open = OriginBody::Generated(Generated::sized(10, None, false));
        assert_eq!(open.size_hint().exact(), None);
        let mut endless = OriginBody::Generated(Generated::endless());
        for _ in 0..100 {
            let f = endless.frame().await.unwrap().unwrap();
            assert_eq!(f.into_data().unwrap().len(), CHUNK);
        }
        let mut stall = OriginBody::Generated(Generated::stalling(5));
        assert_eq!(stall.size_hint().exact(), Some(6));
        assert_eq!(
            stall
                .frame()
                .await
                .unwrap()
                .unwrap()
                .into_data()
                .unwrap()
                .len(),
            5
        );
        let next = tokio::time::timeout(std::time::Duration::from_millis(50), stall.frame()).await;
        assert!(next.is_err(), "a stalling body never yields again");
    }
}
