//! The connection the connector hands to hyper: plain TCP, a tunnel whose first bytes were
//! already read during the proxy handshake, or TLS over either (TLS to an `https://` proxy, TLS
//! to the origin through a tunnel, or both at once).

use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};

use bytes::{Buf, Bytes};
use hyper_util::client::legacy::connect::{Connected, Connection};
use hyper_util::rt::TokioIo;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;

use super::ConnInfo;
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

/// The connection handed to hyper: the stream plus what we know about how it was made.
#[derive(Debug)]
pub struct Conn {
    io: TokioIo<Stream>,
    // Shared: hyper copies it into every response's extensions, and a deep copy (route, the
    // certificate chain's summaries) per request is measurable on small keep-alive requests.
    info: Arc<ConnInfo>,
}

impl Conn {
    pub(crate) fn new(stream: Stream, info: ConnInfo) -> Self {
        Self {
            io: TokioIo::new(stream),
            info: Arc::new(info),
        }
    }

    /// How this connection was made (route, proxy, timings).
    pub fn info(&self) -> &ConnInfo {
        &self.info
    }
}

impl Connection for Conn {
    fn connected(&self) -> Connected {
        let mut c = Connected::new()
            .proxy(self.info.absolute_form)
            .extra(self.info.clone());
        if self.io.inner().alpn() == Some(b"h2") {
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
