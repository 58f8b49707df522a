//! A tiny loopback origin server that answers in raw HTTP/1.1 (the raw exchange with a proxy is
//! `common::wire`).

use std::net::{Ipv4Addr, SocketAddr};

use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// A tiny HTTP/1.1 origin on 127.0.0.1:0: `/forbidden` answers 403, everything else 200, both
/// with `Server: proxyscope-test-origin`. Stops when dropped.
pub(crate) struct LoopbackOrigin {
    addr: SocketAddr,
    task: tokio::task::JoinHandle<()>,
}

/// The `Server` header of [`LoopbackOrigin`]'s replies.
pub(crate) const ORIGIN_SERVER: &str = "proxyscope-test-origin";
/// The body of [`LoopbackOrigin`]'s 200 replies.
pub(crate) const ORIGIN_BODY: &str = "hello from the origin";
/// The body of [`LoopbackOrigin`]'s 403 replies.
pub(crate) const ORIGIN_FORBIDDEN_BODY: &str = "the origin says no";

impl LoopbackOrigin {
    /// Binds 127.0.0.1:0 and serves until dropped.
    pub(crate) async fn start() -> LoopbackOrigin {
        let listener = tokio::net::TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
            .await
            .expect("bind the origin");
        let addr = listener.local_addr().expect("origin address");
        let task = tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                tokio::spawn(serve_origin(stream));
            }
        });
        LoopbackOrigin { addr, task }
    }

    /// Where the origin listens.
    pub(crate) fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Its port.
    pub(crate) fn port(&self) -> u16 {
        self.addr.port()
    }
}

impl Drop for LoopbackOrigin {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn serve_origin(mut stream: tokio::net::TcpStream) {
    loop {
        let mut head = Vec::new();
        let mut byte = [0u8; 1];
        while !head.ends_with(b"\r\n\r\n") {
            match stream.read(&mut byte).await {
                Ok(1) => head.push(byte[0]),
                _ => return,
            }
            if head.len() > 16 * 1024 {
                return;
            }
        }
        let text = String::from_utf8_lossy(&head);
        let target = text.split(' ').nth(1).unwrap_or("/");
        let (status, body) = if target.ends_with("/forbidden") {
            ("403 Forbidden", ORIGIN_FORBIDDEN_BODY)
        } else {
            ("200 OK", ORIGIN_BODY)
        };
        let reply = format!(
            "HTTP/1.1 {status}\r\nServer: {ORIGIN_SERVER}\r\nContent-Type: text/plain\r\n\
             Content-Length: {}\r\n\r\n{body}",
            body.len()
        );
        if stream.write_all(reply.as_bytes()).await.is_err() {
            return;
        }
    }
}
