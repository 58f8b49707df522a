//! The raw-socket side of the tests: HTTP/1.1 request/reply exchange with a proxy, the parsed
//! reply, and a tiny loopback origin server.

use std::fmt::Write as _;
use std::net::{Ipv4Addr, SocketAddr, TcpListener};
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// A port on 127.0.0.1 where nothing listens (bound, then released).
pub(crate) fn closed_port() -> u16 {
    let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).expect("bind 127.0.0.1:0");
    listener.local_addr().expect("local addr").port()
}

/// `Proxy-Authorization: Basic …` value for `user:password`.
pub(crate) fn basic_auth_value(user: &str, password: &str) -> String {
    use base64::Engine as _;
    let token = base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"));
    format!("Basic {token}")
}

/// One HTTP response head (and, when read, its body) as it came off the wire.
#[derive(Debug, Clone)]
pub(crate) struct RawResponse {
    /// `HTTP/1.0` or `HTTP/1.1`.
    pub(crate) version: String,
    /// The status code.
    pub(crate) status: u16,
    /// The reason phrase, exactly as sent.
    pub(crate) reason: String,
    /// Header fields in order, names as sent.
    pub(crate) headers: Vec<(String, String)>,
    /// The body (empty unless read).
    pub(crate) body: String,
}

impl RawResponse {
    /// The first value of a header, by case-insensitive name.
    pub(crate) fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// Every header as `Name: value` lines, for failure messages.
    pub(crate) fn head_text(&self) -> String {
        let mut s = format!("{} {} {}\n", self.version, self.status, self.reason);
        for (n, v) in &self.headers {
            let _ = writeln!(s, "{n}: {v}");
        }
        s
    }
}

/// Sends `head` (a request head without the final blank line) to `proxy` and reads the reply
/// head; the body too when `read_body` (by Content-Length, else until close). Returns the
/// stream so a tunnel can be used afterwards. Bounded by a 5-second timeout.
pub(crate) async fn exchange(
    proxy: SocketAddr,
    head: &str,
    read_body: bool,
) -> (tokio::net::TcpStream, RawResponse) {
    let work = async {
        let mut stream = tokio::net::TcpStream::connect(proxy)
            .await
            .expect("connect to the proxy");
        stream
            .write_all(format!("{head}\r\n\r\n").as_bytes())
            .await
            .expect("write the request");
        let response = read_response(&mut stream, read_body).await;
        (stream, response)
    };
    tokio::time::timeout(Duration::from_secs(5), work)
        .await
        .expect("the proxy answered within 5 s")
}

/// Reads one response from `stream` (a TCP stream or a TLS stream inside a tunnel): the head
/// byte by byte (so nothing after it is consumed), then the body when asked.
pub(crate) async fn read_response<S>(stream: &mut S, read_body: bool) -> RawResponse
where
    S: tokio::io::AsyncRead + Unpin,
{
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        let n = stream.read(&mut byte).await.expect("read the reply head");
        assert!(
            n == 1,
            "connection closed inside the reply head: {:?}",
            String::from_utf8_lossy(&head)
        );
        head.push(byte[0]);
        assert!(head.len() < 64 * 1024, "reply head over 64 KiB");
    }
    let text = String::from_utf8_lossy(&head).into_owned();
    let mut lines = text.split("\r\n");
    let status_line = lines.next().unwrap_or_default();
    let mut parts = status_line.splitn(3, ' ');
    let version = parts.next().unwrap_or_default().to_owned();
    let status = parts
        .next()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("bad status line {status_line:?}"));
    let reason = parts.next().unwrap_or_default().to_owned();
    let headers: Vec<(String, String)> = lines
        .filter(|l| !l.is_empty())
        .filter_map(|l| l.split_once(':'))
        .map(|(n, v)| (n.trim().to_owned(), v.trim().to_owned()))
        .collect();
    let mut response = RawResponse {
        version,
        status,
        reason,
        headers,
        body: String::new(),
    };
    if read_body {
        let mut body = Vec::new();
        match response
            .header("content-length")
            .and_then(|v| v.parse::<usize>().ok())
        {
            Some(len) => {
                body.resize(len, 0);
                stream.read_exact(&mut body).await.expect("read the body");
            }
            None => {
                stream.read_to_end(&mut body).await.expect("read the body");
            }
        }
        response.body = String::from_utf8_lossy(&body).into_owned();
    }
    response
}

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
