//! Connection-level misbehaviour of [`TestProxy`](super::TestProxy) — garbage replies, closing
//! after accept, stalling, answering slowly, oversized headers, a reset after a 200 — done on the
//! raw socket, before any HTTP or SOCKS
//! parsing, because a well-behaved server library cannot produce them.

use http::{HeaderMap, HeaderName, HeaderValue};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};

use super::origin::mark_sensitive;
use super::policy::{OVERSIZED_HEADER_BYTES, Policy};
use super::shared::{Handled, Listener, ProxyRequest, Shared};

/// Carries out a connection-level [`Policy`].
pub(crate) async fn misbehave<S>(stream: &mut S, rule: &Policy, listener: Listener, shared: &Shared)
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    if *rule == Policy::CloseAfterAccept {
        return;
    }
    let head = read_head(stream).await;
    if listener != Listener::Socks5 {
        let (method, target, headers) = parse_head(&head);
        shared.record(ProxyRequest {
            listener,
            method,
            target,
            has_proxy_authorization: headers.contains_key(http::header::PROXY_AUTHORIZATION),
            headers,
            handled: Handled::Misbehaved,
        });
    }
    if listener == Listener::Socks5 && matches!(rule, Policy::OkThenReset | Policy::Dribble(_)) {
        socks_success(stream, rule).await;
        return;
    }
    match rule {
        Policy::Garbage => {
            let _ = stream
                .write_all(b"\x00\x7f\xffGARBAGE this is not a protocol reply \x01\x02\r\n\r\n")
                .await;
            let _ = stream.shutdown().await;
        }
        Policy::OkThenReset => {
            let _ = stream
                .write_all(b"HTTP/1.1 200 Connection established\r\n\r\n")
                .await;
            let _ = stream.flush().await;
            // Wait for the client's first bytes through the "tunnel", then drop: the listener set
            // SO_LINGER to zero on this socket, so dropping it sends RST.
            let mut hello = [0u8; 1];
            let _ = stream.read(&mut hello).await;
        }
        Policy::Dribble(every) => {
            for b in b"HTTP/1.1 200 Connection established\r\n\r\n" {
                if stream.write_all(&[*b]).await.is_err() || stream.flush().await.is_err() {
                    return;
                }
                tokio::time::sleep(*every).await;
            }
            let _ = stream.shutdown().await;
        }
        Policy::OversizedHeaders => {
            let mut reply = String::from("HTTP/1.1 200 OK\r\nServer: squid/6.10\r\n");
            let filler = "a".repeat(1000);
            let mut n = 0;
            while reply.len() < OVERSIZED_HEADER_BYTES {
                reply.push_str(&format!("X-Filler-{n}: {filler}\r\n"));
                n += 1;
            }
            reply.push_str("Content-Length: 0\r\n\r\n");
            let _ = stream.write_all(reply.as_bytes()).await;
            let _ = stream.shutdown().await;
        }
        _ => {
            // Stall: keep the connection open and silent until the client gives up.
            let mut sink = [0u8; 1024];
            while let Ok(n) = stream.read(&mut sink).await {
                if n == 0 {
                    break;
                }
            }
        }
    }
}

/// The SOCKS5 side of [`Policy::OkThenReset`] and [`Policy::Dribble`]: method "no auth", then
/// success for the CONNECT (slowly, for `Dribble`), then a reset after the client's first bytes.
async fn socks_success<S>(stream: &mut S, rule: &Policy)
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    let pace = match rule {
        Policy::Dribble(every) => Some(*every),
        _ => None,
    };
    if write_paced(stream, &[5, 0], pace).await.is_err() {
        return;
    }
    let mut request = [0u8; 262];
    if matches!(stream.read(&mut request).await, Ok(0) | Err(_)) {
        return;
    }
    if write_paced(stream, &[5, 0, 0, 1, 127, 0, 0, 1, 0, 0], pace)
        .await
        .is_err()
    {
        return;
    }
    let mut hello = [0u8; 1];
    let _ = stream.read(&mut hello).await;
}

async fn write_paced<S>(
    stream: &mut S,
    bytes: &[u8],
    pace: Option<std::time::Duration>,
) -> std::io::Result<()>
where
    S: AsyncWrite + Unpin,
{
    match pace {
        None => {
            stream.write_all(bytes).await?;
            stream.flush().await
        }
        Some(every) => {
            for b in bytes {
                stream.write_all(&[*b]).await?;
                stream.flush().await?;
                tokio::time::sleep(every).await;
            }
            Ok(())
        }
    }
}

/// Reads up to the end of an HTTP head (or 16 KiB, or EOF, or the first bytes of a non-HTTP
/// greeting such as SOCKS).
async fn read_head<S: AsyncRead + Unpin>(stream: &mut S) -> Vec<u8> {
    let mut head = Vec::new();
    let mut buf = [0u8; 1024];
    while head.len() < 16 * 1024 {
        match stream.read(&mut buf).await {
            Ok(0) | Err(_) => break,
            Ok(n) => head.extend_from_slice(&buf[..n]),
        }
        let is_http = head.first().is_some_and(u8::is_ascii_uppercase);
        if !is_http || head.windows(4).any(|w| w == b"\r\n\r\n") {
            break;
        }
    }
    head
}

/// Parses a request head as far as it goes: method, target and the well-formed header lines.
fn parse_head(head: &[u8]) -> (String, String, HeaderMap) {
    let text = String::from_utf8_lossy(head);
    let mut lines = text.split("\r\n");
    let first = lines.next().unwrap_or("");
    let mut parts = first.split(' ');
    let method = parts.next().unwrap_or("").to_owned();
    let target = parts.next().unwrap_or("").to_owned();
    let mut headers = HeaderMap::new();
    for line in lines.take_while(|l| !l.is_empty()) {
        if let Some((name, value)) = line.split_once(':')
            && let (Ok(name), Ok(value)) = (
                HeaderName::from_bytes(name.trim().as_bytes()),
                HeaderValue::from_str(value.trim()),
            )
        {
            headers.append(name, value);
        }
    }
    mark_sensitive(&mut headers);
    (method, target, headers)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn heads_are_parsed_leniently_and_secrets_marked() {
        let head = b"CONNECT a.test:443 HTTP/1.1\r\nHost: a.test:443\r\nProxy-Authorization: Basic eDp5\r\nbroken line\r\n\r\n";
        let (method, target, headers) = parse_head(head);
        assert_eq!(
            (method.as_str(), target.as_str()),
            ("CONNECT", "a.test:443")
        );
        assert_eq!(headers["host"], "a.test:443");
        assert!(headers["proxy-authorization"].is_sensitive());
        let (method, target, headers) = parse_head(b"\x05\x01\x00");
        assert_eq!(headers.len(), 0);
        assert!(target.is_empty(), "{method:?} {target:?}");
    }
}
