//! SOCKS5 (RFC 1928) with username/password authentication (RFC 1929). `socks5://` resolves the
//! destination locally and sends the address; `socks5h://` sends the name for the proxy to
//! resolve. Every failure keeps the reply code and its RFC meaning.

use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::time::Instant;

use crate::error::{Error, ErrorKind, Hop, Phase, ProxyReply};

use super::Ctx;
use super::stream::Stream;

/// The RFC 1928 meaning of a SOCKS5 reply code.
pub fn reply_meaning(code: u8) -> &'static str {
    match code {
        0 => "succeeded",
        1 => "general SOCKS server failure",
        2 => "connection not allowed by ruleset",
        3 => "network unreachable",
        4 => "host unreachable",
        5 => "connection refused",
        6 => "TTL expired",
        7 => "command not supported",
        8 => "address type not supported",
        _ => "unassigned reply code",
    }
}

/// What the bytes of a SOCKS5 reply to CONNECT (RFC 1928 §6: `VER REP RSV ATYP BND.ADDR
/// BND.PORT`) say so far. Pure, so the handshake's reading of a proxy's reply can be fuzzed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Socks5Reply {
    /// The reply is not complete: at least `need` bytes in all are required (always more than
    /// were given).
    Partial {
        /// The total length to read before parsing again.
        need: usize,
    },
    /// The proxy connected to the destination; the reply took `len` bytes and every byte after
    /// it belongs to the tunnel.
    Succeeded {
        /// The bound address the proxy reported (`ip:port`, or `name:port`, lossily decoded).
        bound: String,
        /// The reply's length in bytes.
        len: usize,
    },
    /// The proxy refused: the reply code (never 0), see [`reply_meaning`]. Decided as soon as
    /// the fixed 4-byte head is in; the bound address of a failure reply is not read.
    Failed {
        /// The RFC 1928 reply code.
        code: u8,
    },
    /// Not a SOCKS5 reply: what was wrong.
    Invalid(String),
}

/// Reads the SOCKS5 reply at the start of `buf`. Never panics, whatever the bytes; a length
/// the proxy declares is only ever a request for more bytes, bounded by 4 + 1 + 255 + 2.
pub fn parse_reply(buf: &[u8]) -> Socks5Reply {
    let Some(&[version, code, _reserved, atyp]) = buf.first_chunk::<4>() else {
        return Socks5Reply::Partial { need: 4 };
    };
    if version != 5 {
        return Socks5Reply::Invalid(format!(
            "version byte {version:#04x} in the reply, expected 0x05"
        ));
    }
    if code != 0 {
        return Socks5Reply::Failed { code };
    }
    let (start, addr_len) = match atyp {
        1 => (4, 4),
        4 => (4, 16),
        3 => match buf.get(4) {
            Some(&n) => (5, usize::from(n)),
            None => return Socks5Reply::Partial { need: 5 },
        },
        t => {
            return Socks5Reply::Invalid(format!("unknown address type {t:#04x} in the reply"));
        }
    };
    let len = start + addr_len + 2;
    let Some(reply) = buf.get(..len) else {
        return Socks5Reply::Partial { need: len };
    };
    let addr = &reply[start..start + addr_len];
    let port = u16::from_be_bytes([reply[len - 2], reply[len - 1]]);
    let bound = match (atyp, <[u8; 4]>::try_from(addr), <[u8; 16]>::try_from(addr)) {
        (1, Ok(v4), _) => SocketAddr::from((v4, port)).to_string(),
        (4, _, Ok(v6)) => SocketAddr::from((v6, port)).to_string(),
        _ => format!("{}:{port}", String::from_utf8_lossy(addr)),
    };
    Socks5Reply::Succeeded { bound, len }
}

/// Where to ask the proxy to connect.
pub(crate) enum Dest<'a> {
    /// A name the proxy resolves (`socks5h`).
    Name(&'a str, u16),
    /// An address we resolved (`socks5`).
    Addr(SocketAddr),
}

/// Credentials for RFC 1929.
pub(crate) struct Creds<'a> {
    pub(crate) user: &'a str,
    pub(crate) pass: &'a str,
}

#[derive(Debug)]
enum Fail {
    Closed,
    Io(std::io::Error),
    Protocol(String),
}

impl From<std::io::Error> for Fail {
    fn from(e: std::io::Error) -> Self {
        if e.kind() == std::io::ErrorKind::UnexpectedEof {
            Fail::Closed
        } else {
            Fail::Io(e)
        }
    }
}

/// Runs the SOCKS5 handshake on `stream` within `timeout`.
pub(crate) async fn handshake(
    ctx: &Ctx,
    mut stream: Stream,
    dest: Dest<'_>,
    creds: Option<Creds<'_>>,
    timeout: Duration,
) -> Result<Stream, Error> {
    let deadline = Instant::now() + timeout;
    let creds_sent = creds.is_some();
    match tokio::time::timeout_at(deadline, run(ctx, &mut stream, &dest, creds)).await {
        Ok(Ok(())) => Ok(stream),
        Ok(Err(Ok(e))) => Err(e),
        Ok(Err(Err(Fail::Closed))) => Err(ctx
            .error(ErrorKind::ProxyClosed, Hop::Proxy, Phase::Proxy)
            .with_message(format!(
                "SOCKS proxy {} closed the connection during the handshake",
                ctx.proxy_display()
            ))
            .with_hint("the proxy hung up mid-handshake; check that it is a SOCKS5 proxy and that it allows this client")
            .map_evidence(|ev| ev.credentials_sent = Some(creds_sent))),
        Ok(Err(Err(Fail::Io(e)))) => Err(ctx
            .error(ErrorKind::ProxyClosed, Hop::Proxy, Phase::Proxy)
            .with_message(format!(
                "the connection to SOCKS proxy {} failed during the handshake",
                ctx.proxy_display()
            ))
            .with_hint("the connection broke mid-handshake; check the proxy's logs")
            .with_source(e)),
        Ok(Err(Err(Fail::Protocol(why)))) => Err(ctx
            .error(ErrorKind::ProxyProtocol, Hop::Proxy, Phase::Proxy)
            .with_message(format!(
                "SOCKS proxy {} sent an unusable reply: {why}",
                ctx.proxy_display()
            ))
            .with_hint("the service does not speak SOCKS5; if it is an HTTP proxy write its URL with http://")
            .map_evidence(|ev| ev.cause = Some(why))),
        Err(_) => Err(ctx
            .error(ErrorKind::ProxyTimeout, Hop::Proxy, Phase::Proxy)
            .with_message(format!(
                "SOCKS proxy {} did not finish the handshake within {timeout:?}",
                ctx.proxy_display()
            ))
            .with_hint("the proxy accepted the TCP connection but stalled; check the proxy, or raise timeouts.proxy")
            .map_evidence(|ev| ev.timeout = Some(timeout))),
    }
}

/// `Err(Ok(e))` is a finished proxyscope error, `Err(Err(f))` a transport/protocol failure.
async fn run(
    ctx: &Ctx,
    s: &mut Stream,
    dest: &Dest<'_>,
    creds: Option<Creds<'_>>,
) -> Result<(), Result<Error, Fail>> {
    let creds_sent = creds.is_some();
    let greeting: &[u8] = if creds.is_some() {
        &[5, 2, 0, 2]
    } else {
        &[5, 1, 0]
    };
    s.write_all(greeting).await.map_err(|e| Err(e.into()))?;
    let mut sel = [0u8; 2];
    s.read_exact(&mut sel).await.map_err(|e| Err(e.into()))?;
    if sel[0] != 5 {
        return Err(Err(Fail::Protocol(format!(
            "version byte {:#04x} in the method selection, expected 0x05",
            sel[0]
        ))));
    }
    match sel[1] {
        0 => {}
        2 => {
            let Some(c) = creds else {
                return Err(Err(Fail::Protocol(
                    "selected username/password although it was not offered".into(),
                )));
            };
            if c.user.len() > 255 || c.pass.len() > 255 {
                return Err(Ok(ctx
                    .error(ErrorKind::ConfigProxyUrl, Hop::Proxy, Phase::Proxy)
                    .with_message("SOCKS5 user name and password must be at most 255 bytes each")
                    .with_hint("shorten the credentials in the proxy URL")));
            }
            let mut msg = vec![1, c.user.len() as u8];
            msg.extend_from_slice(c.user.as_bytes());
            msg.push(c.pass.len() as u8);
            msg.extend_from_slice(c.pass.as_bytes());
            s.write_all(&msg).await.map_err(|e| Err(e.into()))?;
            let mut st = [0u8; 2];
            s.read_exact(&mut st).await.map_err(|e| Err(e.into()))?;
            if st[1] != 0 {
                return Err(Ok(ctx
                    .error(ErrorKind::ProxyAuthRejected, Hop::Proxy, Phase::Proxy)
                    .with_message(format!(
                        "SOCKS proxy {} rejected the user name and password (status {})",
                        ctx.proxy_display(),
                        st[1]
                    ))
                    .with_hint("check the user name and password in the proxy URL (percent-encode special characters)")
                    .map_evidence(|ev| {
                        ev.credentials_sent = Some(true);
                        ev.auth_schemes = vec!["username/password".into()];
                        ev.proxy_reply = Some(ProxyReply {
                            status: u16::from(st[1]),
                            reason: "username/password authentication failed".into(),
                            ..ProxyReply::default()
                        });
                    })));
            }
        }
        0xFF => {
            let sent = creds.is_some();
            return Err(Ok(ctx
                .error(ErrorKind::ProxyAuthRequired, Hop::Proxy, Phase::Proxy)
                .with_message(format!(
                    "SOCKS proxy {} accepted none of the offered authentication methods",
                    ctx.proxy_display()
                ))
                .with_hint(if sent {
                    "the proxy accepts neither no-auth nor username/password; it may need GSSAPI, which proxyscope does not speak"
                } else {
                    "the proxy requires authentication; put credentials in the proxy URL, e.g. socks5h://user:password@host:port"
                })
                .map_evidence(|ev| {
                    ev.credentials_sent = Some(sent);
                    ev.proxy_reply = Some(ProxyReply {
                        status: 0xFF,
                        reason: "no acceptable methods".into(),
                        ..ProxyReply::default()
                    });
                })));
        }
        m => {
            return Err(Err(Fail::Protocol(format!(
                "selected method {m:#04x} that was not offered"
            ))));
        }
    }

    let mut req = vec![5, 1, 0];
    let port = match dest {
        Dest::Name(host, port) => {
            let host = host.trim_start_matches('[').trim_end_matches(']');
            if let Ok(ip) = host.parse::<IpAddr>() {
                push_ip(&mut req, ip);
            } else {
                if host.len() > 255 {
                    return Err(Ok(ctx
                        .error(ErrorKind::OriginDns, Hop::Origin, Phase::Dns)
                        .with_message("the destination host name is longer than 255 bytes")
                        .with_hint(
                            "SOCKS5 cannot carry names over 255 bytes; check the URL",
                        )));
                }
                req.push(3);
                req.push(host.len() as u8);
                req.extend_from_slice(host.as_bytes());
            }
            *port
        }
        Dest::Addr(a) => {
            push_ip(&mut req, a.ip());
            a.port()
        }
    };
    req.extend_from_slice(&port.to_be_bytes());
    s.write_all(&req).await.map_err(|e| Err(e.into()))?;

    let mut reply = vec![0u8; 4];
    s.read_exact(&mut reply).await.map_err(|e| Err(e.into()))?;
    let code = loop {
        match parse_reply(&reply) {
            Socks5Reply::Succeeded { .. } => return Ok(()),
            Socks5Reply::Failed { code } => break code,
            Socks5Reply::Invalid(why) => return Err(Err(Fail::Protocol(why))),
            Socks5Reply::Partial { need } if need > reply.len() => {
                let have = reply.len();
                reply.resize(need, 0);
                s.read_exact(&mut reply[have..])
                    .await
                    .map_err(|e| Err(e.into()))?;
            }
            Socks5Reply::Partial { need } => {
                return Err(Err(Fail::Protocol(format!(
                    "reply parser asked for {need} bytes with {} in hand",
                    reply.len()
                ))));
            }
        }
    };
    let meaning = reply_meaning(code);
    Err(Ok(ctx
        .error(ErrorKind::ProxyRefused, Hop::Proxy, Phase::Proxy)
        .with_message(format!(
            "SOCKS proxy {} refused the connection to {}: {meaning} (reply {code})",
            ctx.proxy_display(),
            ctx.target()
        ))
        .with_hint(match code {
            2 => "the proxy's rules do not allow this destination; ask its operators, or route this destination differently (no_proxy)".to_owned(),
            3..=6 => format!("the proxy could not reach {}; check the destination's host name and port — the destination, not the proxy, is the likely problem", ctx.target()),
            8 => "the proxy does not accept this address type; try socks5h:// (names) or socks5:// (addresses)".to_owned(),
            _ => "the proxy failed the request; check its logs".to_owned(),
        })
        .map_evidence(|ev| {
            ev.credentials_sent = Some(creds_sent);
            ev.proxy_reply = Some(ProxyReply {
                status: u16::from(code),
                reason: meaning.to_owned(),
                ..ProxyReply::default()
            });
        })))
}

fn push_ip(req: &mut Vec<u8>, ip: IpAddr) {
    match ip {
        IpAddr::V4(v4) => {
            req.push(1);
            req.extend_from_slice(&v4.octets());
        }
        IpAddr::V6(v6) => {
            req.push(4);
            req.extend_from_slice(&v6.octets());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reply_codes_have_rfc_meanings() {
        assert_eq!(reply_meaning(2), "connection not allowed by ruleset");
        assert_eq!(reply_meaning(5), "connection refused");
        assert_eq!(reply_meaning(42), "unassigned reply code");
    }

    #[test]
    fn replies_parse_by_their_declared_lengths() {
        use Socks5Reply::*;
        assert_eq!(parse_reply(&[]), Partial { need: 4 });
        assert_eq!(parse_reply(&[5, 0, 0]), Partial { need: 4 });
        assert_eq!(parse_reply(&[5, 0, 0, 1, 127, 0]), Partial { need: 10 });
        assert_eq!(
            parse_reply(&[5, 0, 0, 1, 127, 0, 0, 1, 0x1f, 0x90, 0xAA]),
            Succeeded {
                bound: "127.0.0.1:8080".into(),
                len: 10
            }
        );
        assert_eq!(parse_reply(&[5, 0, 0, 3]), Partial { need: 5 });
        assert_eq!(parse_reply(&[5, 0, 0, 3, 255, b'a']), Partial { need: 262 });
        assert_eq!(
            parse_reply(&[5, 0, 0, 3, 1, b'a', 0, 80]),
            Succeeded {
                bound: "a:80".into(),
                len: 8
            }
        );
        let mut v6 = vec![5, 0, 0, 4];
        v6.extend_from_slice(&[0; 15]);
        v6.extend_from_slice(&[1, 1, 187]);
        assert_eq!(
            parse_reply(&v6),
            Succeeded {
                bound: "[::1]:443".into(),
                len: 22
            }
        );
        assert_eq!(parse_reply(&[5, 2, 0, 9]), Failed { code: 2 });
        assert!(matches!(parse_reply(&[4, 0, 0, 1]), Invalid(_)));
        assert!(matches!(parse_reply(&[5, 0, 0, 2]), Invalid(_)));
    }
}
