//! [`RawServer`]: a TCP server on `127.0.0.1:0` that hands every connection to the test's own
//! code, or answers it from a [`Script`] of exact bytes — for peers that send what no
//! well-behaved server library (and so neither [`TestProxy`](super::TestProxy) nor
//! [`TestOrigin`](super::TestOrigin)) would: an SSH banner where a CONNECT reply belongs, a
//! 400-header reply, a chunked 502, a close after the request, silence. With [`read_head`] (the
//! request-head reader) and [`refused_addr`] (an address nothing listens on).

use super::recorded::Recorded;
use std::future::Future;
use std::net::{Ipv4Addr, SocketAddr};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpSocket, TcpStream};

use super::tasks::Tasks;

/// The largest request head [`read_head`] reads; a longer one is not a head it returns.
pub const MAX_REQUEST_HEAD: usize = 64 * 1024;
/// How long [`read_head`] waits for a complete head.
pub const HEAD_DEADLINE: Duration = Duration::from_secs(10);
/// How long [`Script::ReplyAndHold`] and [`Script::Stall`] keep a connection open (the client's
/// own timeout is meant to end it first).
pub const HOLD: Duration = Duration::from_secs(30);

/// Reads an HTTP request head (up to and including the blank line) from `stream`: returns the
/// head without the final `\r\n\r\n` (lossy UTF-8) and whatever bytes arrived after it. `None`
/// when the peer closes or fails first, the head exceeds [`MAX_REQUEST_HEAD`] or takes longer
/// than [`HEAD_DEADLINE`].
pub async fn read_head<S: AsyncRead + Unpin>(stream: &mut S) -> Option<(String, Vec<u8>)> {
    let work = async {
        let mut buf = Vec::new();
        let mut chunk = [0u8; 4096];
        loop {
            if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
                let rest = buf[i + 4..].to_vec();
                return Some((String::from_utf8_lossy(&buf[..i]).into_owned(), rest));
            }
            if buf.len() > MAX_REQUEST_HEAD {
                return None;
            }
            let n = stream.read(&mut chunk).await.ok()?;
            if n == 0 {
                return None;
            }
            buf.extend_from_slice(&chunk[..n]);
        }
    };
    tokio::time::timeout(HEAD_DEADLINE, work)
        .await
        .ok()
        .flatten()
}

/// How many ports [`refused_addr`] holds; consecutive calls cycle through them.
const REFUSED_PORTS: usize = 4;

/// An address on 127.0.0.1 where nothing listens, so a connection there is refused.
///
/// The port stays reserved for the life of the process: a socket is bound to it and never
/// listens. No other socket can bind it in the meantime (the reservation does not set
/// `SO_REUSEADDR`), and the kernel never picks an explicitly bound port as the local port of an
/// outgoing connection, so a connection there cannot meet itself. A port bound and released at
/// once guaranteed neither: under a parallel test run another test's listener, or a connection's
/// own source port, could take it and turn "refused" into an answer. The process holds four
/// such ports; consecutive calls return different ones (two dead proxies in one list are two
/// addresses).
///
/// # Panics
/// If no loopback port can be reserved.
pub fn refused_addr() -> SocketAddr {
    static RESERVED: OnceLock<Vec<(TcpSocket, SocketAddr)>> = OnceLock::new();
    static NEXT: AtomicUsize = AtomicUsize::new(0);
    let reserved = RESERVED.get_or_init(|| (0..REFUSED_PORTS).map(|_| reserve_port()).collect());
    reserved[NEXT.fetch_add(1, Ordering::Relaxed) % reserved.len()].1
}

/// A socket bound to a free loopback port that never listens, and its address.
fn reserve_port() -> (TcpSocket, SocketAddr) {
    let reserved = TcpSocket::new_v4().and_then(|socket| {
        socket.bind((Ipv4Addr::LOCALHOST, 0).into())?;
        let addr = socket.local_addr()?;
        Ok((socket, addr))
    });
    match reserved {
        Ok(reserved) => reserved,
        Err(err) => panic!("refused_addr: reserving a port on 127.0.0.1: {err}"),
    }
}

/// What a [`RawServer::scripted`] server does after reading a request head.
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Script {
    /// Writes these bytes, then closes (FIN).
    Reply(Vec<u8>),
    /// Writes these bytes and keeps the connection open without another byte (for [`HOLD`]).
    ReplyAndHold(Vec<u8>),
    /// Never answers (keeps the connection open for [`HOLD`]).
    Stall,
    /// Closes without a byte.
    Close,
}

/// A TCP server on `127.0.0.1:0` that runs the test's code on every connection
/// ([`RawServer::start`]), or a [`Script`] after reading the request head
/// ([`RawServer::scripted`], which records the heads).
///
/// Dropping it aborts every connection task and closes the listener; [`RawServer::shutdown`]
/// also waits until they are closed. A panic in a connection task is re-raised by
/// [`RawServer::check`], `shutdown`, or on drop.
pub struct RawServer {
    addr: SocketAddr,
    heads: Arc<Recorded<String>>,
    tasks: Tasks,
}

impl std::fmt::Debug for RawServer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RawServer")
            .field("addr", &self.addr)
            .finish_non_exhaustive()
    }
}

impl RawServer {
    /// Runs `behave` on every accepted connection.
    ///
    /// # Panics
    /// If no loopback port can be bound, or outside a Tokio runtime.
    pub async fn start<F, Fut>(behave: F) -> RawServer
    where
        F: Fn(TcpStream) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = ()> + Send + 'static,
    {
        let listener = match TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).await {
            Ok(l) => l,
            Err(err) => panic!("RawServer: binding 127.0.0.1:0: {err}"),
        };
        let addr = match listener.local_addr() {
            Ok(a) => a,
            Err(err) => panic!("RawServer: local_addr: {err}"),
        };
        let tasks = Tasks::default();
        let loop_tasks = tasks.clone();
        tasks.spawn(async move {
            loop {
                let Ok((stream, _)) = listener.accept().await else {
                    // Out of descriptors or similar: back off instead of spinning.
                    tokio::time::sleep(Duration::from_millis(10)).await;
                    continue;
                };
                loop_tasks.spawn(behave(stream));
            }
        });
        RawServer {
            addr,
            heads: Arc::default(),
            tasks,
        }
    }

    /// Reads each connection's request head with [`read_head`], records it
    /// ([`RawServer::heads`]), then does what `script` says. A connection that sends no complete
    /// head is closed.
    ///
    /// # Panics
    /// As [`RawServer::start`].
    pub async fn scripted(script: Script) -> RawServer {
        let heads: Arc<Recorded<String>> = Arc::default();
        let seen = Arc::clone(&heads);
        let mut server = RawServer::start(move |mut stream| {
            let seen = Arc::clone(&seen);
            let script = script.clone();
            async move {
                let Some((head, _)) = read_head(&mut stream).await else {
                    return;
                };
                seen.push(head);
                match script {
                    Script::Reply(bytes) => {
                        let _ = stream.write_all(&bytes).await;
                        let _ = stream.shutdown().await;
                    }
                    Script::ReplyAndHold(bytes) => {
                        let _ = stream.write_all(&bytes).await;
                        let _ = stream.flush().await;
                        tokio::time::sleep(HOLD).await;
                    }
                    Script::Stall => tokio::time::sleep(HOLD).await,
                    Script::Close => drop(stream),
                }
            }
        })
        .await;
        server.heads = heads;
        server
    }

    /// The listening address (always 127.0.0.1).
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `http://127.0.0.1:{port}` (as a proxy URL).
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// The request heads a [`RawServer::scripted`] server read so far, in order (request line and
    /// header lines as sent, joined by `\r\n`, without the blank line). Always empty for
    /// [`RawServer::start`].
    pub fn heads(&self) -> Vec<String> {
        self.heads.all()
    }

    /// Re-raises a panic from a connection task, if one happened.
    pub fn check(&self) {
        self.tasks.check();
    }

    /// Stops the server and waits until its listener and connections are closed.
    pub async fn shutdown(self) {
        self.tasks.shutdown().await;
    }
}

impl Drop for RawServer {
    fn drop(&mut self) {
        self.tasks.abort();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn read_head_returns_the_head_and_the_bytes_after_it() {
        let (mut client, mut server) = tokio::io::duplex(1024);
        client
            .write_all(b"CONNECT a.test:443 HTTP/1.1\r\nHost: a.test:443\r\n\r\n\x16\x03")
            .await
            .unwrap();
        let (head, rest) = read_head(&mut server).await.expect("a head");
        assert_eq!(head, "CONNECT a.test:443 HTTP/1.1\r\nHost: a.test:443");
        assert_eq!(rest, b"\x16\x03");
    }

    #[tokio::test]
    async fn read_head_gives_up_on_close_and_on_oversized_heads() {
        let (mut client, mut server) = tokio::io::duplex(4096);
        client
            .write_all(b"GET / HTTP/1.1\r\nHost: x")
            .await
            .unwrap();
        drop(client);
        assert_eq!(read_head(&mut server).await, None);

        let (mut client, mut server) = tokio::io::duplex(4096);
        let writer = tokio::spawn(async move {
            let line = format!("X-Filler: {}\r\n", "a".repeat(1000));
            // Never a blank line: only the cap ends the read.
            while client.write_all(line.as_bytes()).await.is_ok() {}
        });
        assert_eq!(read_head(&mut server).await, None);
        writer.abort();
    }

    #[tokio::test]
    async fn refused_addr_refuses() {
        let addr = refused_addr();
        assert!(addr.ip().is_loopback());
        let err = TcpStream::connect(addr).await.expect_err("nothing listens");
        assert_eq!(err.kind(), std::io::ErrorKind::ConnectionRefused);
    }

    #[tokio::test]
    async fn a_refused_port_stays_reserved_and_consecutive_calls_differ() {
        let first = refused_addr();
        let second = refused_addr();
        assert_ne!(first, second, "two dead proxies are two addresses");
        // Another listener (tokio's sets SO_REUSEADDR) cannot take the port in between.
        let err = TcpListener::bind(first)
            .await
            .expect_err("the port is held");
        assert_eq!(err.kind(), std::io::ErrorKind::AddrInUse);
        // Still refused after other calls, every time.
        for _ in 0..2 * REFUSED_PORTS {
            let addr = refused_addr();
            let err = TcpStream::connect(addr).await.expect_err("nothing listens");
            assert_eq!(err.kind(), std::io::ErrorKind::ConnectionRefused);
        }
    }

    #[tokio::test]
    async fn a_scripted_server_records_heads_and_sends_exact_bytes() {
        let server = RawServer::scripted(Script::Reply(b"SSH-2.0-x\r\n".to_vec())).await;
        let mut s = TcpStream::connect(server.addr()).await.unwrap();
        s.write_all(b"CONNECT o.test:443 HTTP/1.1\r\nHost: o.test:443\r\n\r\n")
            .await
            .unwrap();
        let mut got = Vec::new();
        s.read_to_end(&mut got).await.unwrap();
        assert_eq!(got, b"SSH-2.0-x\r\n");
        assert_eq!(
            server.heads(),
            ["CONNECT o.test:443 HTTP/1.1\r\nHost: o.test:443"]
        );
        assert_eq!(server.url(), format!("http://{}", server.addr()));

        let closing = RawServer::scripted(Script::Close).await;
        let mut s = TcpStream::connect(closing.addr()).await.unwrap();
        s.write_all(b"GET / HTTP/1.1\r\n\r\n").await.unwrap();
        let mut got = Vec::new();
        let _ = s.read_to_end(&mut got).await;
        assert!(got.is_empty());
        assert_eq!(closing.heads(), ["GET / HTTP/1.1"]);
    }

    #[tokio::test]
    async fn dropping_the_server_closes_held_connections() {
        let server =
            RawServer::scripted(Script::ReplyAndHold(b"HTTP/1.1 200 OK\r\n".to_vec())).await;
        let mut s = TcpStream::connect(server.addr()).await.unwrap();
        s.write_all(b"GET / HTTP/1.1\r\n\r\n").await.unwrap();
        let mut first = [0u8; 17];
        s.read_exact(&mut first).await.unwrap();
        server.shutdown().await;
        let mut rest = Vec::new();
        let n = tokio::time::timeout(Duration::from_secs(5), s.read_to_end(&mut rest))
            .await
            .expect("closed, not held")
            .unwrap_or(0);
        assert_eq!(n, 0);
    }

    #[tokio::test]
    async fn a_panic_in_the_tests_code_is_raised_by_check() {
        let server = RawServer::start(|_stream| async { panic!("raw boom") }).await;
        let _ = TcpStream::connect(server.addr()).await.unwrap();
        tokio::time::sleep(Duration::from_millis(50)).await;
        let caught = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| server.check()));
        let payload = caught.expect_err("check re-raises the panic");
        assert_eq!(payload.downcast_ref::<&str>(), Some(&"raw boom"));
    }
}
