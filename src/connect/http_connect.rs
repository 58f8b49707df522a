//! Our own CONNECT handshake: the request (Host, Basic `Proxy-Authorization`, extra proxy
//! headers), the reply read bounded at 16 KiB and within the proxy timeout, any 2xx opening the
//! tunnel (bytes read past the head stay in the tunnel), and every refusal turned into a
//! structured error that keeps what the proxy said.

use std::time::Duration;

use bytes::{Bytes, BytesMut};
use http::{HeaderMap, HeaderValue};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::time::Instant;

use crate::error::{Error, ErrorKind, Hop, Phase, ProxyReply};

use super::Ctx;
use super::stream::Stream;
use crate::wire::{self as reply, Framing, Parsed};

/// How long we wait for the body of a refusal, at most: the excerpt is evidence, not a reason
/// to hang.
const BODY_DEADLINE: Duration = Duration::from_millis(1500);

/// Asks the proxy on `stream` to open a tunnel to `host:port`.
pub(crate) async fn handshake(
    ctx: &Ctx,
    mut stream: Stream,
    host: &str,
    port: u16,
    auth: Option<&HeaderValue>,
    extra: &HeaderMap,
    timeout: Duration,
) -> Result<Stream, Error> {
    let deadline = Instant::now() + timeout;
    let authority = authority(host, port);
    let mut req = Vec::with_capacity(256);
    req.extend_from_slice(
        format!("CONNECT {authority} HTTP/1.1\r\nHost: {authority}\r\n").as_bytes(),
    );
    if let Some(a) = auth {
        req.extend_from_slice(b"Proxy-Authorization: ");
        req.extend_from_slice(a.as_bytes());
        req.extend_from_slice(b"\r\n");
    }
    for (name, value) in extra {
        req.extend_from_slice(name.as_str().as_bytes());
        req.extend_from_slice(b": ");
        req.extend_from_slice(value.as_bytes());
        req.extend_from_slice(b"\r\n");
    }
    req.extend_from_slice(b"\r\n");

    let write = async {
        stream.write_all(&req).await?;
        stream.flush().await
    };
    match tokio::time::timeout_at(deadline, write).await {
        Ok(Ok(())) => {}
        Ok(Err(e)) => {
            return Err(closed(ctx, 0).with_source(e));
        }
        Err(_) => return Err(timed_out(ctx, timeout, 0)),
    }

    let mut buf = BytesMut::with_capacity(4096);
    let head = loop {
        match reply::parse_reply_head_bounded(&buf) {
            Parsed::Complete(h) => break h,
            Parsed::Invalid(why) => return Err(protocol(ctx, &buf, why)),
            Parsed::Partial => {}
        }
        let room = reply::MAX_HEAD + 1 - buf.len();
        let mut chunk = vec![0u8; room.min(8192)];
        match tokio::time::timeout_at(deadline, stream.read(&mut chunk)).await {
            Ok(Ok(0)) => return Err(closed(ctx, buf.len())),
            Ok(Ok(n)) => buf.extend_from_slice(&chunk[..n]),
            Ok(Err(e)) => return Err(closed(ctx, buf.len()).with_source(e)),
            Err(_) => return Err(timed_out(ctx, timeout, buf.len())),
        }
    };

    let rest = buf.split_off(head.len).freeze();
    if (200..300).contains(&head.status) {
        return Ok(Stream::prefixed(rest, stream));
    }

    let body_deadline = deadline.min(Instant::now() + BODY_DEADLINE);
    let (body, more) = read_excerpt(&mut stream, reply::framing(&head), rest, body_deadline).await;
    let (body_excerpt, body_truncated) = reply::excerpt(&body, more);
    let reply = ProxyReply {
        status: head.status,
        reason: head.reason.clone(),
        headers: reply::evidence_headers(&head.headers),
        body_excerpt,
        body_truncated,
    };
    Err(refusal(ctx, reply, auth.is_some(), &authority))
}

/// Reads up to [`reply::MAX_EXCERPT_SCAN`] decoded body bytes (plus one, to know there was more),
/// honouring `Content-Length` and chunked framing, never past `deadline`.
async fn read_excerpt(
    stream: &mut Stream,
    framing: Framing,
    already: Bytes,
    deadline: Instant,
) -> (Vec<u8>, bool) {
    let want = reply::MAX_EXCERPT_SCAN + 1;
    let limit = match framing {
        Framing::Length(n) => n.min(want as u64) as usize,
        Framing::Chunked | Framing::UntilClose => usize::MAX,
    };
    let mut raw = already.to_vec();
    loop {
        let (decoded, done) = match framing {
            Framing::Chunked => reply::dechunk(&raw),
            Framing::Length(n) => {
                let have = raw.len().min(n as usize);
                (raw[..have].to_vec(), raw.len() as u64 >= n)
            }
            Framing::UntilClose => (raw.clone(), false),
        };
        if done || decoded.len() >= want || decoded.len() >= limit {
            let more = decoded.len() > reply::MAX_EXCERPT_SCAN;
            return (decoded, more);
        }
        if raw.len() > 4 * want {
            // Chunk framing overhead beyond reason: keep what decoded.
            return (decoded, true);
        }
        let mut chunk = [0u8; 2048];
        match tokio::time::timeout_at(deadline, stream.read(&mut chunk)).await {
            Ok(Ok(n)) if n > 0 => raw.extend_from_slice(&chunk[..n]),
            _ => return (decoded, false),
        }
    }
}

pub(crate) fn authority(host: &str, port: u16) -> String {
    let bare = host.trim_start_matches('[').trim_end_matches(']');
    if bare.contains(':') {
        format!("[{bare}]:{port}")
    } else {
        format!("{bare}:{port}")
    }
}

fn closed(ctx: &Ctx, received: usize) -> Error {
    ctx.error(ErrorKind::ProxyClosed, Hop::Proxy, Phase::Proxy)
        .with_message(format!(
            "proxy {} closed the connection during CONNECT after {received} byte(s) of reply",
            ctx.proxy_display()
        ))
        .with_hint(format!(
            "the proxy hung up instead of answering CONNECT; it may not be an HTTP proxy on this port, or it drops clients it does not allow — check its logs; {}",
            ctx.route_origin_phrase()
        ))
}

fn timed_out(ctx: &Ctx, timeout: Duration, received: usize) -> Error {
    ctx.error(ErrorKind::ProxyTimeout, Hop::Proxy, Phase::Proxy)
        .with_message(format!(
            "proxy {} did not answer CONNECT within {timeout:?} ({received} byte(s) received)",
            ctx.proxy_display()
        ))
        .with_hint("the proxy accepted the TCP connection but never answered; it may be overloaded or waiting on its own upstream — check the proxy, or raise timeouts.proxy")
        .map_evidence(|ev| ev.timeout = Some(timeout))
}

fn protocol(ctx: &Ctx, buf: &[u8], why: String) -> Error {
    let tls = buf.first() == Some(&0x16);
    let hint = if tls {
        "the proxy answered with TLS: it is an https:// proxy — write its URL with https://"
            .to_owned()
    } else if buf.starts_with(b"\x05") || buf.starts_with(b"\x00") {
        "the proxy answered in a binary protocol; if it is a SOCKS proxy, write its URL with socks5:// or socks5h://".to_owned()
    } else {
        format!(
            "the service at {} does not answer like an HTTP proxy; check the proxy's port and scheme",
            ctx.proxy_display()
        )
    };
    let first: String = String::from_utf8_lossy(&buf[..buf.len().min(64)])
        .chars()
        .map(|c| if c.is_control() { '.' } else { c })
        .collect();
    ctx.error(ErrorKind::ProxyProtocol, Hop::Proxy, Phase::Proxy)
        .with_message(format!(
            "proxy {} sent an unusable reply to CONNECT: {why}",
            ctx.proxy_display()
        ))
        .with_hint(hint)
        .map_evidence(|ev| ev.cause = Some(format!("{why}; first bytes: {first:?}")))
}

/// The error for a non-2xx reply to CONNECT (or a proxy-generated reply in absolute-form).
pub(crate) fn refusal(ctx: &Ctx, reply: ProxyReply, credentials_sent: bool, target: &str) -> Error {
    let c = reply::classify(&reply, credentials_sent);
    let proxy = ctx.proxy_display();
    let (schemes, realm) = reply::reply_challenges(&reply);
    let offered = if schemes.is_empty() {
        "none named".to_owned()
    } else {
        schemes.join(", ")
    };
    let basic_offered =
        schemes.is_empty() || schemes.iter().any(|s| s.eq_ignore_ascii_case("basic"));
    let message = format!(
        "proxy {proxy} refused CONNECT to {target}: {} {}{}",
        reply.status,
        reply.reason,
        if c.signal.starts_with("status") {
            String::new()
        } else {
            format!(" ({})", c.signal)
        }
    );
    let hint = match c.kind {
        ErrorKind::ProxyAuthRequired => format!(
            "the proxy requires authentication (offered: {offered}); put credentials in the proxy URL, e.g. http://user:password@{}",
            ctx.proxy_authority()
        ),
        ErrorKind::ProxyAuthRejected if !basic_offered => format!(
            "the proxy does not accept Basic authentication (offered: {offered}); proxyscope sends Basic only — ask for a Basic-capable proxy account or an exemption"
        ),
        ErrorKind::ProxyAuthRejected => format!(
            "the proxy rejected the credentials in the proxy URL (offered: {offered}); check the user name and password, percent-encoding special characters"
        ),
        ErrorKind::ProxyForbidden => format!(
            "the proxy's ACL denies {target}; ask the proxy's operators to allow it, or if this {} must not use this proxy set {} / no_proxy — {}",
            ctx.provider_noun(),
            ctx.proxy_key(),
            ctx.route_origin_phrase()
        ),
        ErrorKind::ProxyUpstream => format!(
            "the proxy could not reach {target} ({}); check the destination's host name and port, and the proxy's own DNS and egress — the destination, not the proxy, is the likely problem",
            c.signal
        ),
        _ => format!(
            "the proxy answered {} {} to CONNECT {target}; its reply is in the evidence — ask the proxy's operators what it means; {}",
            reply.status,
            reply.reason,
            ctx.route_origin_phrase()
        ),
    };
    ctx.error(c.kind, Hop::Proxy, Phase::Proxy)
        .with_message(message)
        .with_hint(hint)
        .map_evidence(|ev| {
            ev.credentials_sent = Some(credentials_sent);
            if matches!(
                c.kind,
                ErrorKind::ProxyAuthRequired | ErrorKind::ProxyAuthRejected
            ) {
                ev.auth_schemes = schemes;
                ev.auth_realm = realm;
            }
            ev.cause = Some(c.signal);
            ev.proxy_reply = Some(reply);
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::net::{TcpListener, TcpStream};

    /// A proxy that writes `parts` with pauses between them, then holds the connection.
    async fn dribble(parts: Vec<&'static [u8]>) -> std::net::SocketAddr {
        let l = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = l.local_addr().unwrap();
        tokio::spawn(async move {
            let (mut s, _) = l.accept().await.unwrap();
            let mut buf = [0u8; 1024];
            let _ = s.read(&mut buf).await;
            for p in parts {
                s.write_all(p).await.unwrap();
                s.flush().await.unwrap();
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
            tokio::time::sleep(Duration::from_secs(5)).await;
        });
        addr
    }

    fn ctx() -> Ctx {
        Ctx::new(None, "origin.test:443".into(), None, None)
    }

    #[tokio::test]
    async fn split_reply_opens_the_tunnel_and_keeps_early_tunnel_bytes() {
        let addr = dribble(vec![
            b"HTTP/1.1 2",
            b"00 Connection established\r\nVia: p\r",
            b"\n\r\nEARLY",
        ])
        .await;
        let tcp = TcpStream::connect(addr).await.unwrap();
        let mut s = handshake(
            &ctx(),
            Stream::Tcp(tcp),
            "origin.test",
            443,
            None,
            &HeaderMap::new(),
            Duration::from_secs(2),
        )
        .await
        .unwrap();
        let mut early = [0u8; 5];
        s.read_exact(&mut early).await.unwrap();
        assert_eq!(&early, b"EARLY");
    }

    #[tokio::test]
    async fn any_2xx_opens_the_tunnel() {
        let addr = dribble(vec![b"HTTP/1.0 204 No Content\r\n\r\n"]).await;
        let tcp = TcpStream::connect(addr).await.unwrap();
        assert!(
            handshake(
                &ctx(),
                Stream::Tcp(tcp),
                "origin.test",
                443,
                None,
                &HeaderMap::new(),
                Duration::from_secs(2)
            )
            .await
            .is_ok()
        );
    }

    #[tokio::test]
    async fn a_refusal_without_framing_is_excerpted_within_the_body_deadline() {
        // No Content-Length and the connection stays open: the excerpt must not wait forever.
        let addr = dribble(vec![
            b"HTTP/1.1 403 Forbidden\r\nServer: corp-gw\r\n\r\npolicy says no",
        ])
        .await;
        let tcp = TcpStream::connect(addr).await.unwrap();
        let started = std::time::Instant::now();
        let e = handshake(
            &ctx(),
            Stream::Tcp(tcp),
            "origin.test",
            443,
            None,
            &HeaderMap::new(),
            Duration::from_secs(10),
        )
        .await
        .unwrap_err();
        assert!(started.elapsed() < Duration::from_secs(4));
        assert_eq!(e.code(), "proxy.forbidden");
        let reply = e.evidence().proxy_reply.as_ref().unwrap();
        assert_eq!(reply.body_excerpt.as_deref(), Some("policy says no"));
        assert_eq!(reply.header("server"), Some("corp-gw"));
    }

    #[test]
    fn authorities_bracket_ipv6() {
        assert_eq!(authority("example.org", 443), "example.org:443");
        assert_eq!(authority("[::1]", 8443), "[::1]:8443");
        assert_eq!(authority("::1", 80), "[::1]:80");
    }
}
