//! Raw wire helpers shared by the harness tests: write request bytes, read a response head and
//! body exactly as sent. Deliberately not proxyscope's client (the harness tests its peers).

#![allow(dead_code)]

use std::time::Duration;

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};

/// A response as read off the wire.
#[derive(Debug)]
pub(crate) struct WireResponse {
    pub(crate) status: u16,
    pub(crate) reason: String,
    pub(crate) headers: Vec<(String, String)>,
    pub(crate) body: Vec<u8>,
}

impl WireResponse {
    /// The first value of `name` (case-insensitive).
    pub(crate) fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    pub(crate) fn body_text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
}

/// Reads one HTTP/1.x response; the body by Content-Length (none for a 2xx to CONNECT).
pub(crate) async fn read_response<S: AsyncRead + Unpin>(
    stream: &mut S,
    connect: bool,
) -> WireResponse {
    let mut buf = Vec::new();
    let mut byte = [0u8; 1];
    while !buf.ends_with(b"\r\n\r\n") {
        let n = tokio::time::timeout(Duration::from_secs(10), stream.read(&mut byte))
            .await
            .expect("response head within 10s")
            .expect("read");
        assert!(
            n == 1,
            "connection closed in the head after {:?}",
            String::from_utf8_lossy(&buf)
        );
        buf.push(byte[0]);
    }
    let head = String::from_utf8(buf).expect("utf-8 head");
    let mut lines = head.split("\r\n");
    let status_line = lines.next().expect("status line");
    let mut parts = status_line.splitn(3, ' ');
    assert!(
        parts.next().expect("version").starts_with("HTTP/1."),
        "{status_line}"
    );
    let status: u16 = parts
        .next()
        .expect("status")
        .parse()
        .expect("numeric status");
    let reason = parts.next().unwrap_or("").to_owned();
    let headers: Vec<(String, String)> = lines
        .filter(|l| !l.is_empty())
        .map(|l| {
            let (n, v) = l.split_once(':').expect("header line");
            (n.trim().to_owned(), v.trim().to_owned())
        })
        .collect();
    let mut resp = WireResponse {
        status,
        reason,
        headers,
        body: Vec::new(),
    };
    if connect && (200..300).contains(&status) {
        return resp;
    }
    if let Some(len) = resp.header("content-length") {
        let len: usize = len.parse().expect("content-length");
        let mut body = vec![0u8; len];
        stream.read_exact(&mut body).await.expect("body");
        resp.body = body;
    }
    resp
}

/// Sends `request` and reads the reply.
pub(crate) async fn roundtrip<S: AsyncRead + AsyncWrite + Unpin>(
    stream: &mut S,
    request: &str,
    connect: bool,
) -> WireResponse {
    stream
        .write_all(request.as_bytes())
        .await
        .expect("write request");
    read_response(stream, connect).await
}

/// `Proxy-Authorization: Basic …` value for `user:pass`.
pub(crate) fn basic(user: &str, pass: &str) -> String {
    use base64::Engine;
    format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(format!("{user}:{pass}"))
    )
}

/// Reads until EOF (or 5 s) and returns everything.
pub(crate) async fn read_to_close<S: AsyncRead + Unpin>(stream: &mut S) -> Vec<u8> {
    let mut out = Vec::new();
    let _ = tokio::time::timeout(Duration::from_secs(5), stream.read_to_end(&mut out)).await;
    out
}
