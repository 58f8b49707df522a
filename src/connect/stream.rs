//! The connection the connector hands to hyper: plain TCP, a tunnel whose first bytes were
//! already read during the proxy handshake, or TLS over either (TLS to an `https://` proxy, TLS
//! to the origin through a tunnel, or both at once).
//!
//! The connection also keeps two promises of its own, so that any hyper client using the
//! connector gets them, not only [`crate::Client`]: a request's first response byte must arrive
//! within the request timeout (HTTP/1; a stalling proxy or origin fails with `http.timeout`
//! instead of hanging), and a TLS 1.3 server's late refusal of our client certificate becomes
//! `tls.client_cert_required` / `tls.client_cert_rejected` (or `proxy.tls`) instead of an
//! anonymous I/O error. Both travel inside the `io::Error` hyper reports; [`Error::from_hyper`]
//! takes them out.
//!
//! [`Error::from_hyper`]: crate::Error::from_hyper

use std::future::Future;
use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::{Buf, Bytes};
use hyper_util::client::legacy::connect::{Connected, Connection};
use hyper_util::rt::TokioIo;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;
use tokio::time::{Instant, Sleep};

use super::ConnInfo;
use crate::error::{Error, ErrorKind, Hop, Phase};
use crate::tls::{HandshakeInfo, HopTls};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

/// A byte stream at any layer of the path to the origin.
#[non_exhaustive]
pub enum Stream {
    /// A TCP connection (to the origin or to the proxy).
    Tcp(TcpStream),
    /// A stream whose first bytes were read ahead (a tunnel's bytes that arrived together with
    /// the proxy's `200` reply); they are replayed before reading from the stream again.
    Prefixed(Box<Prefixed>),
    /// TLS over another stream.
    Tls(Box<tokio_rustls::client::TlsStream<Stream>>),
}

impl std::fmt::Debug for Stream {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Stream::Tcp(s) => f.debug_tuple("Tcp").field(&s.peer_addr().ok()).finish(),
            Stream::Prefixed(p) => f
                .debug_struct("Prefixed")
                .field("pending", &p.prefix.len())
                .field("inner", &p.inner)
                .finish(),
            Stream::Tls(t) => f.debug_tuple("Tls").field(&t.get_ref().0).finish(),
        }
    }
}

/// A stream with read-ahead bytes that belong to it, optionally counting what is read through it.
pub struct Prefixed {
    prefix: Bytes,
    inner: Stream,
    // Bytes read through this layer: for a tunnel, whether the origin ever sent anything.
    counter: Option<Arc<AtomicU64>>,
}

impl Stream {
    /// Wraps `inner` so `prefix` is read first; no wrapping when there is nothing to replay.
    pub fn prefixed(prefix: Bytes, inner: Stream) -> Stream {
        if prefix.is_empty() {
            inner
        } else {
            Stream::Prefixed(Box::new(Prefixed {
                prefix,
                inner,
                counter: None,
            }))
        }
    }

    /// Wraps `inner` so every byte read through it is added to `counter` (a tunnel's bytes from
    /// the far side, to tell "the proxy's tunnel carried nothing" from "the origin answered").
    pub(crate) fn counted(inner: Stream, counter: Arc<AtomicU64>) -> Stream {
        Stream::Prefixed(Box::new(Prefixed {
            prefix: Bytes::new(),
            inner,
            counter: Some(counter),
        }))
    }

    /// The ALPN protocol the outermost TLS layer negotiated, if any.
    pub fn alpn(&self) -> Option<&[u8]> {
        match self {
            Stream::Tls(t) => t.get_ref().1.alpn_protocol(),
            Stream::Prefixed(p) => p.inner.alpn(),
            Stream::Tcp(_) => None,
        }
    }
}

impl AsyncRead for Stream {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Stream::Tcp(s) => Pin::new(s).poll_read(cx, buf),
            Stream::Tls(s) => Pin::new(s.as_mut()).poll_read(cx, buf),
            Stream::Prefixed(p) => {
                let before = buf.filled().len();
                let polled = if p.prefix.has_remaining() {
                    let n = p.prefix.len().min(buf.remaining());
                    buf.put_slice(&p.prefix[..n]);
                    p.prefix.advance(n);
                    Poll::Ready(Ok(()))
                } else {
                    Pin::new(&mut p.inner).poll_read(cx, buf)
                };
                if let Some(c) = &p.counter {
                    let read = buf.filled().len().saturating_sub(before);
                    c.fetch_add(read as u64, Ordering::Relaxed);
                }
                polled
            }
        }
    }
}

impl AsyncWrite for Stream {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        match self.get_mut() {
            Stream::Tcp(s) => Pin::new(s).poll_write(cx, buf),
            Stream::Tls(s) => Pin::new(s.as_mut()).poll_write(cx, buf),
            Stream::Prefixed(p) => Pin::new(&mut p.inner).poll_write(cx, buf),
        }
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        match self.get_mut() {
            Stream::Tcp(s) => Pin::new(s).poll_write_vectored(cx, bufs),
            Stream::Tls(s) => Pin::new(s.as_mut()).poll_write_vectored(cx, bufs),
            Stream::Prefixed(p) => Pin::new(&mut p.inner).poll_write_vectored(cx, bufs),
        }
    }

    fn is_write_vectored(&self) -> bool {
        match self {
            Stream::Tcp(s) => s.is_write_vectored(),
            Stream::Tls(s) => s.is_write_vectored(),
            Stream::Prefixed(p) => p.inner.is_write_vectored(),
        }
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Stream::Tcp(s) => Pin::new(s).poll_flush(cx),
            Stream::Tls(s) => Pin::new(s.as_mut()).poll_flush(cx),
            Stream::Prefixed(p) => Pin::new(&mut p.inner).poll_flush(cx),
        }
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Stream::Tcp(s) => Pin::new(s).poll_shutdown(cx),
            Stream::Tls(s) => Pin::new(s.as_mut()).poll_shutdown(cx),
            Stream::Prefixed(p) => Pin::new(&mut p.inner).poll_shutdown(cx),
        }
    }
}

/// The stream with the connection's promises: the first-byte deadline and the translation of
/// a late client-certificate refusal.
struct Guarded {
    stream: Stream,
    info: Arc<ConnInfo>,
    target: String,
    /// The request timeout, for HTTP/1 connections.
    first_byte: Option<Duration>,
    /// Set by a write, cleared by a read that returns bytes: a request is waiting for its reply.
    deadline: Option<Instant>,
    sleep: Option<Pin<Box<Sleep>>>,
    /// The hop whose server asked for a client certificate, and what its handshake saw.
    late_tls: Option<Box<(HopTls, HandshakeInfo)>>,
}

impl std::fmt::Debug for Guarded {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Guarded")
            .field("stream", &self.stream)
            .field("first_byte", &self.first_byte)
            .finish_non_exhaustive()
    }
}

impl Guarded {
    /// Our error in place of an I/O error, when the I/O error is a late client-certificate
    /// refusal.
    fn translate(&mut self, e: io::Error) -> io::Error {
        let Some(late) = &self.late_tls else {
            return e;
        };
        match late.0.late_failure(&late.1, &e) {
            Some(err) => {
                let err = self.attach(err);
                let _ = self.info.failure.set(err.duplicate());
                io::Error::new(e.kind(), err)
            }
            None => e,
        }
    }

    fn attach(&self, e: Error) -> Error {
        let route = &self.info.route;
        let target = self.target.clone();
        let proxy = route.proxy().map(|p| p.without_credentials());
        e.map_evidence(|ev| {
            ev.target = Some(target);
            if ev.proxy.is_none() {
                ev.proxy = proxy;
            }
        })
        .or_route(route)
    }

    fn timed_out(&mut self, after: Duration) -> io::Error {
        self.deadline = None;
        self.sleep = None;
        let hop = if self.info.absolute_form {
            Hop::Proxy
        } else {
            Hop::Origin
        };
        let who = if self.info.absolute_form {
            format!(
                "the proxy {}",
                self.info
                    .route
                    .proxy()
                    .map(|p| p.without_credentials())
                    .unwrap_or_default()
            )
        } else {
            self.target.clone()
        };
        let err = Error::new(ErrorKind::HttpTimeout)
            .with_hop(hop)
            .with_phase(Phase::Http)
            .with_message(format!("no response from {who} within {after:?}"))
            .with_hint("the request was sent but no response arrived; the server (or the proxy relaying it) is slow or stuck — check it, or raise timeouts.request")
            .map_evidence(|ev| {
                ev.timeout = Some(after);
                // How long each phase of the connection took before the wait began.
                ev.timings = Some(self.info.timings);
            });
        let err = self.attach(err);
        let _ = self.info.failure.set(err.duplicate());
        io::Error::new(io::ErrorKind::TimedOut, err)
    }
}

impl AsyncRead for Guarded {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        let before = buf.filled().len();
        match Pin::new(&mut this.stream).poll_read(cx, buf) {
            Poll::Ready(Ok(())) => {
                if buf.filled().len() > before {
                    this.deadline = None;
                }
                Poll::Ready(Ok(()))
            }
            Poll::Ready(Err(e)) => Poll::Ready(Err(this.translate(e))),
            Poll::Pending => {
                let (Some(deadline), Some(after)) = (this.deadline, this.first_byte) else {
                    return Poll::Pending;
                };
                // One timer per connection, re-armed to the latest deadline.
                let sleep = this
                    .sleep
                    .get_or_insert_with(|| Box::pin(tokio::time::sleep_until(deadline)));
                if sleep.deadline() != deadline {
                    sleep.as_mut().reset(deadline);
                }
                match sleep.as_mut().poll(cx) {
                    Poll::Ready(()) => Poll::Ready(Err(this.timed_out(after))),
                    Poll::Pending => Poll::Pending,
                }
            }
        }
    }
}

impl Guarded {
    /// After a write the reply's deadline runs. The timer is armed here, with the writer's
    /// waker: hyper's HTTP/1 dispatcher polls its read *before* it writes the request, and then
    /// waits for the socket alone — a silent peer never wakes it, so a timer first polled by a
    /// later read would never be polled at all.
    fn wrote<T>(&mut self, cx: &mut Context<'_>, r: Poll<io::Result<T>>) -> Poll<io::Result<T>> {
        match r {
            Poll::Ready(Ok(n)) => {
                if let Some(after) = self.first_byte {
                    let deadline = Instant::now() + after;
                    self.deadline = Some(deadline);
                    let sleep = self
                        .sleep
                        .get_or_insert_with(|| Box::pin(tokio::time::sleep_until(deadline)));
                    if sleep.deadline() != deadline {
                        sleep.as_mut().reset(deadline);
                    }
                    // Registers the waker; the deadline is `after` away, so it is not ready
                    // (and if it were, the read that follows reports it).
                    let _ = sleep.as_mut().poll(cx);
                }
                Poll::Ready(Ok(n))
            }
            Poll::Ready(Err(e)) => Poll::Ready(Err(self.translate(e))),
            Poll::Pending => Poll::Pending,
        }
    }
}

impl AsyncWrite for Guarded {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        let r = Pin::new(&mut this.stream).poll_write(cx, buf);
        this.wrote(cx, r)
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        let r = Pin::new(&mut this.stream).poll_write_vectored(cx, bufs);
        this.wrote(cx, r)
    }

    fn is_write_vectored(&self) -> bool {
        self.stream.is_write_vectored()
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        match Pin::new(&mut this.stream).poll_flush(cx) {
            Poll::Ready(Err(e)) => Poll::Ready(Err(this.translate(e))),
            other => other,
        }
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().stream).poll_shutdown(cx)
    }
}

/// The connection handed to hyper: the stream plus what we know about how it was made.
#[derive(Debug)]
pub struct Conn {
    io: TokioIo<Guarded>,
    // Shared: hyper copies it into every response's extensions, and a deep copy (route, the
    // certificate chain's summaries) per request is measurable on small keep-alive requests.
    info: Arc<ConnInfo>,
}

impl Conn {
    pub(crate) fn new(
        stream: Stream,
        info: ConnInfo,
        first_byte: Option<Duration>,
        late_tls: Option<(HopTls, HandshakeInfo)>,
        target: String,
    ) -> Self {
        let info = Arc::new(info);
        Self {
            io: TokioIo::new(Guarded {
                stream,
                info: info.clone(),
                target,
                first_byte,
                deadline: None,
                sleep: None,
                late_tls: late_tls.map(Box::new),
            }),
            info,
        }
    }

    /// How this connection was made (route, proxy, timings).
    pub fn info(&self) -> &ConnInfo {
        &self.info
    }

    /// The same, shared.
    pub(crate) fn shared_info(&self) -> &Arc<ConnInfo> {
        &self.info
    }
}

impl Connection for Conn {
    fn connected(&self) -> Connected {
        let mut c = Connected::new()
            .proxy(self.info.absolute_form)
            .extra(self.info.clone());
        if self.io.inner().stream.alpn() == Some(b"h2") {
            c = c.negotiated_h2();
        }
        c
    }
}

impl hyper::rt::Read for Conn {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: hyper::rt::ReadBufCursor<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().io).poll_read(cx, buf)
    }
}

impl hyper::rt::Write for Conn {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().io).poll_write(cx, buf)
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().io).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().io).poll_shutdown(cx)
    }

    fn is_write_vectored(&self) -> bool {
        self.io.is_write_vectored()
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().io).poll_write_vectored(cx, bufs)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    #[tokio::test]
    async fn prefixed_bytes_are_read_before_the_socket() {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let server = tokio::spawn(async move {
            let (mut s, _) = listener.accept().await.unwrap();
            s.write_all(b" world").await.unwrap();
        });
        let tcp = TcpStream::connect(addr).await.unwrap();
        let mut s = Stream::prefixed(Bytes::from_static(b"hello"), Stream::Tcp(tcp));
        let mut out = Vec::new();
        s.read_to_end(&mut out).await.unwrap();
        assert_eq!(out, b"hello world");
        server.await.unwrap();
    }
}
