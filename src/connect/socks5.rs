//! SOCKS5 (RFC 1928) with username/password authentication (RFC 1929). `socks5://` resolves the
//! destination locally and sends the address; `socks5h://` sends the name for the proxy to
//! resolve. Every failure keeps the reply code and its RFC meaning.

use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::time::Instant;

use crate::error::{
    Blame, CloseKind, CloseStage, Closure, Error, ErrorKind, Hop, Phase, ProxyReply,
};

use super::Ctx;
use super::stream::Stream;
use crate::wire::{
    Socks5Reply, parse_socks5_reply as parse_reply, socks5_reply_meaning as reply_meaning,
};

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
    let started = Instant::now();
    let deadline = started + timeout;
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
            .map_evidence(|ev| {
                ev.credentials_sent = Some(creds_sent);
                ev.closure = Some(Closure {
                    how: CloseKind::Closed,
                    stage: CloseStage::SocksHandshake,
                    bytes_received: 0,
                    after: Some(started.elapsed()),
                });
            })),
        Ok(Err(Err(Fail::Io(e)))) => {
            let reset = CloseKind::of(&e) == Some(CloseKind::Reset);
            let (message, hint) = if reset {
                (
                    format!(
                        "SOCKS proxy {} reset the connection during the handshake",
                        ctx.proxy_display()
                    ),
                    "the proxy (or a firewall in front of it) aborted the handshake: it may refuse this client's address — check the proxy's logs",
                )
            } else {
                (
                    format!(
                        "the connection to SOCKS proxy {} failed during the handshake",
                        ctx.proxy_display()
                    ),
                    "the connection broke mid-handshake; check the proxy's logs",
                )
            };
            Err(ctx
                .error(ErrorKind::ProxyClosed, Hop::Proxy, Phase::Proxy)
                .with_message(message)
                .with_hint(hint)
                .map_evidence(|ev| {
                    ev.closure = reset.then(|| Closure {
                        how: CloseKind::Reset,
                        stage: CloseStage::SocksHandshake,
                        bytes_received: 0,
                        after: Some(started.elapsed()),
                    });
                })
                .with_source(e))
        }
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
    let local = super::refusal::local_fix(ctx);
    let lead = |ask: String| match &local {
        Some(fix) => format!(
            "{fix}; only if {} must go through this proxy, {ask}",
            ctx.target()
        ),
        None => ask,
    };
    let blame = match code {
        2..=6 if local.is_some() && ctx.route().is_some_and(|r| r.near_miss().is_some()) => {
            Blame::LocalConfig
        }
        3 => Blame::Network,
        4..=6 => Blame::Origin,
        8 => Blame::LocalConfig,
        _ => Blame::Proxy,
    };
    Err(Ok(ctx
        .error(ErrorKind::ProxyRefused, Hop::Proxy, Phase::Proxy)
        .with_message(format!(
            "SOCKS proxy {} refused the connection to {}: {meaning} (reply {code})",
            ctx.proxy_display(),
            ctx.target()
        ))
        .with_hint(match code {
            2 => lead("ask the proxy's operators to allow it (its rules do not), or route this destination differently (no_proxy)".to_owned()),
            3..=6 => lead(format!("the proxy works but could not reach {}: check the destination's host name and port and that it is up", ctx.target())),
            8 => format!(
                "the proxy does not accept this address type: write the proxy URL as `{}` (names resolved by the proxy) or `{}` (addresses) in {}",
                ctx.proxy_url_with_scheme("socks5h"),
                ctx.proxy_url_with_scheme("socks5"),
                ctx.proxy_setting()
            ),
            _ => "the proxy failed the request; check its logs".to_owned(),
        })
        .with_blame(blame)
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
