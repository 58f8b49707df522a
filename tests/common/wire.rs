//! Raw HTTP/1.x on a socket, for tests that must see the bytes a peer sent (the harness's
//! proxy and origin, real Squid and tinyproxy): write a request, read one reply head exactly as
//! sent and its body. Deliberately not proxyscope's client, which is what the other tests test.
//! This is the only reply reader of the test suite; Basic credentials come from
//! [`proxyscope::testing::basic_auth`].

use std::fmt::Write as _;
use std::net::SocketAddr;
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};

/// How long a peer may take to send a reply head (and, separately, its body).
pub(crate) const READ_DEADLINE: Duration = Duration::from_secs(10);
/// The largest reply head the reader accepts; larger fails the test.
const MAX_HEAD: usize = 64 * 1024;
/// The largest reply body the reader accepts; larger fails the test.
const MAX_BODY: usize = 4 << 20;

/// A reply as read off the wire.
#[derive(Debug, Clone)]
pub(crate) struct WireResponse {
    /// `HTTP/1.0` or `HTTP/1.1`, as sent.
    pub(crate) version: String,
    /// The status code.
    pub(crate) status: u16,
    /// The reason phrase, exactly as sent.
    pub(crate) reason: String,
    /// Header fields in order, names as sent.
    pub(crate) headers: Vec<(String, String)>,
    /// The body as text (lossy UTF-8; empty unless read).
    pub(crate) body: String,
}

impl WireResponse {
    /// The first value of `name` (case-insensitive).
    pub(crate) fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// The body as text.
    pub(crate) fn body_text(&self) -> String {
        self.body.clone()
    }

    /// The status line and every header as `Name: value` lines, for failure messages.
    pub(crate) fn head_text(&self) -> String {
        let mut s = format!("{} {} {}\n", self.version, self.status, self.reason);
        for (n, v) in &self.headers {
            let _ = writeln!(s, "{n}: {v}");
        }
        s
    }
}

/// How much of the body [`read_response`] reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Body {
    /// None: the head only (the stream is left at the first body byte, e.g. a tunnel).
    Skip,
    /// `Content-Length` bytes; none when the header is absent.
    ByLength,
    /// `Content-Length` bytes, or everything until the peer closes when the header is absent.
    ByLengthOrClose,
    /// Like `ByLength`, but none after a 2xx: the reply to a CONNECT, with the tunnel after it.
    UnlessTunnel,
}

/// Reads one reply from `stream` (TCP, or TLS inside a tunnel): the head byte by byte, so
/// nothing after it is consumed, then the body as `body` says. Fails the test when
/// [`try_read_response`] fails (within [`READ_DEADLINE`] per part).
pub(crate) async fn read_response<S: AsyncRead + Unpin>(
    stream: &mut S,
    body: Body,
) -> WireResponse {
    match try_read_response(stream, body, READ_DEADLINE).await {
        Ok(response) => response,
        Err(err) => panic!("{err}"),
    }
}

/// [`read_response`] for callers that handle a bad reply themselves (a server still starting,
/// a peer sent garbage on purpose): `Err` when the peer closes or fails inside the head, the
/// head exceeds 64 KiB or is not an HTTP/1.x reply, the body exceeds 4 MiB or breaks off, or
/// either part takes longer than `deadline`. A chunked body read until close is decoded.
pub(crate) async fn try_read_response<S: AsyncRead + Unpin>(
    stream: &mut S,
    body: Body,
    deadline: Duration,
) -> Result<WireResponse, String> {
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    let read_head = async {
        while !head.ends_with(b"\r\n\r\n") {
            let n = stream.read(&mut byte).await.map_err(|e| e.to_string())?;
            if n != 1 {
                return Err(format!(
                    "connection closed inside the reply head after {:?}",
                    String::from_utf8_lossy(&head)
                ));
            }
            head.push(byte[0]);
            if head.len() >= MAX_HEAD {
                return Err("reply head over 64 KiB".to_owned());
            }
        }
        Ok(())
    };
    tokio::time::timeout(deadline, read_head)
        .await
        .map_err(|_| format!("no reply head within {deadline:?}"))??;
    let text = String::from_utf8_lossy(&head).into_owned();
    let mut lines = text.split("\r\n");
    let status_line = lines.next().unwrap_or_default();
    let mut parts = status_line.splitn(3, ' ');
    let version = parts.next().unwrap_or_default().to_owned();
    let status = parts.next().and_then(|s| s.parse().ok());
    let (true, Some(status)) = (version.starts_with("HTTP/1."), status) else {
        return Err(format!("bad status line {status_line:?}"));
    };
    let reason = parts.next().unwrap_or_default().to_owned();
    let headers = lines
        .filter(|l| !l.is_empty())
        .map(|l| {
            l.split_once(':')
                .map(|(n, v)| (n.trim().to_owned(), v.trim().to_owned()))
                .ok_or_else(|| format!("bad header line {l:?}"))
        })
        .collect::<Result<Vec<_>, _>>()?;
    let mut response = WireResponse {
        version,
        status,
        reason,
        headers,
        body: String::new(),
    };
    let length = match response.header("content-length") {
        Some(v) => Some(
            v.parse::<usize>()
                .ok()
                .filter(|n| *n <= MAX_BODY)
                .ok_or_else(|| format!("Content-Length {v:?} is not a length up to 4 MiB"))?,
        ),
        None => None,
    };
    let chunked = response
        .header("transfer-encoding")
        .is_some_and(|v| v.eq_ignore_ascii_case("chunked"));
    let mut bytes = Vec::new();
    let read_body = async {
        match (body, length) {
            (Body::Skip, _) | (Body::ByLength | Body::UnlessTunnel, None) => {}
            (Body::UnlessTunnel, Some(_)) if (200..300).contains(&response.status) => {}
            (_, Some(len)) => {
                bytes.resize(len, 0);
                stream.read_exact(&mut bytes).await?;
            }
            (Body::ByLengthOrClose, None) => {
                (&mut *stream)
                    .take(MAX_BODY as u64 + 1)
                    .read_to_end(&mut bytes)
                    .await?;
            }
        }
        Ok::<_, std::io::Error>(())
    };
    tokio::time::timeout(deadline, read_body)
        .await
        .map_err(|_| format!("no reply body within {deadline:?}"))?
        .map_err(|e| format!("reading the reply body: {e}"))?;
    if bytes.len() > MAX_BODY {
        return Err("reply body over 4 MiB".to_owned());
    }
    if chunked && body == Body::ByLengthOrClose {
        bytes = dechunk(&bytes)?;
    }
    response.body = String::from_utf8_lossy(&bytes).into_owned();
    Ok(response)
}

/// Decodes a chunked body read whole (Prometheus streams its API answers).
fn dechunk(mut rest: &[u8]) -> Result<Vec<u8>, String> {
    let mut out = Vec::new();
    loop {
        let line_end = rest
            .windows(2)
            .position(|w| w == b"\r\n")
            .ok_or("truncated chunk size")?;
        let size = String::from_utf8_lossy(&rest[..line_end]);
        let size = usize::from_str_radix(size.split(';').next().unwrap_or("").trim(), 16)
            .map_err(|_| format!("bad chunk size {size:?}"))?;
        if size == 0 {
            return Ok(out);
        }
        let after = &rest[line_end + 2..];
        out.extend_from_slice(after.get(..size).ok_or("truncated chunk")?);
        rest = after
            .get(size..)
            .and_then(|r| r.strip_prefix(b"\r\n"))
            .ok_or("chunk without CRLF")?;
    }
}

/// Sends `request` (complete, blank line included) and reads the reply: the head only for a
/// 2xx answer to CONNECT when `connect` (the tunnel follows), else the body by length.
pub(crate) async fn roundtrip<S: AsyncRead + AsyncWrite + Unpin>(
    stream: &mut S,
    request: &str,
    connect: bool,
) -> WireResponse {
    stream
        .write_all(request.as_bytes())
        .await
        .expect("write request");
    let body = if connect {
        Body::UnlessTunnel
    } else {
        Body::ByLength
    };
    read_response(stream, body).await
}

/// Sends `head` (a request head without the final blank line) to `proxy` and reads the reply
/// head; the body too when `read_body` (by Content-Length, else until close). Returns the
/// stream so a tunnel can be used afterwards. Bounded by a 5-second timeout.
pub(crate) async fn exchange(
    proxy: SocketAddr,
    head: &str,
    read_body: bool,
) -> (tokio::net::TcpStream, WireResponse) {
    let work = async {
        let mut stream = tokio::net::TcpStream::connect(proxy)
            .await
            .expect("connect to the proxy");
        stream
            .write_all(format!("{head}\r\n\r\n").as_bytes())
            .await
            .expect("write the request");
        let body = if read_body {
            Body::ByLengthOrClose
        } else {
            Body::Skip
        };
        let response = read_response(&mut stream, body).await;
        (stream, response)
    };
    tokio::time::timeout(Duration::from_secs(5), work)
        .await
        .expect("the proxy answered within 5 s")
}

/// Reads until EOF (or 5 s) and returns everything.
pub(crate) async fn read_to_close<S: AsyncRead + Unpin>(stream: &mut S) -> Vec<u8> {
    let mut out = Vec::new();
    let _ = tokio::time::timeout(Duration::from_secs(5), stream.read_to_end(&mut out)).await;
    out
}
