//! SOCKS4 and SOCKS4a, the client side: `socks4://` resolves the destination locally and sends
//! its IPv4 address, `socks4a://` sends the name for the proxy to resolve, as curl does. The
//! proxy URL's user name, if any, is sent as the SOCKS4 user id (SOCKS4 has no password). Every
//! refusal keeps the reply code and its meaning; the bytes are read by `wire::socks4`.

use std::net::{IpAddr, SocketAddrV4};
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::time::Instant;

use crate::error::{
    Blame, CloseKind, CloseStage, Closure, Error, ErrorKind, Hop, Phase, ProxyReply,
};
use crate::wire::{
    SOCKS4_REPLY_LEN, Socks4Dest, Socks4Reply, parse_socks4_reply, socks4_reply_meaning,
    socks4_request,
};

use super::Ctx;
use super::stream::Stream;

/// Where to ask the proxy to connect.
pub(crate) enum Dest<'a> {
    /// A name the proxy resolves (`socks4a`).
    Name(&'a str, u16),
    /// An address we resolved (`socks4`).
    Addr(SocketAddrV4),
}

/// Runs the SOCKS4 handshake on `stream` within `timeout`, identifying as `user_id`.
pub(crate) async fn handshake(
    ctx: &Ctx,
    mut stream: Stream,
    dest: Dest<'_>,
    user_id: &str,
    timeout: Duration,
) -> Result<Stream, Error> {
    let wire_dest = match &dest {
        Dest::Name(host, port) => {
            Socks4Dest::Name(host.trim_start_matches('[').trim_end_matches(']'), *port)
        }
        Dest::Addr(a) => Socks4Dest::Addr(*a),
    };
    let request = socks4_request(wire_dest, user_id).map_err(|e| {
        ctx.error(ErrorKind::ConfigProxyUrl, Hop::Proxy, Phase::Config)
            .with_message(format!(
                "cannot ask SOCKS4 proxy {} for {}: {e}",
                ctx.proxy_display(),
                ctx.target()
            ))
            .with_hint(
                "shorten the user name in the proxy URL, or check the destination's host name",
            )
    })?;
    let started = Instant::now();
    let exchange = async {
        stream.write_all(&request).await?;
        let mut reply = [0u8; SOCKS4_REPLY_LEN];
        // Read one byte first: a proxy that is not SOCKS4 is recognised on its first byte.
        stream.read_exact(&mut reply[..1]).await?;
        if let r @ Socks4Reply::Invalid(_) = parse_socks4_reply(&reply[..1]) {
            return Ok(r);
        }
        stream.read_exact(&mut reply[1..]).await?;
        Ok::<_, std::io::Error>(parse_socks4_reply(&reply))
    };
    let parsed = match tokio::time::timeout(timeout, exchange).await {
        Ok(Ok(p)) => p,
        Ok(Err(e)) => {
            let how = if e.kind() == std::io::ErrorKind::UnexpectedEof {
                CloseKind::Closed
            } else {
                CloseKind::of(&e).unwrap_or(CloseKind::Closed)
            };
            return Err(ctx
                .error(ErrorKind::ProxyClosed, Hop::Proxy, Phase::Proxy)
                .with_message(format!(
                    "SOCKS4 proxy {} closed the connection during the handshake",
                    ctx.proxy_display()
                ))
                .with_hint("the proxy hung up mid-handshake; check that it speaks SOCKS4 and allows this client")
                .map_evidence(|ev| {
                    ev.closure = Some(Closure {
                        how,
                        stage: CloseStage::SocksHandshake,
                        bytes_received: 0,
                        after: Some(started.elapsed()),
                    });
                })
                .with_source(e));
        }
        Err(_) => {
            return Err(ctx
                .error(ErrorKind::ProxyTimeout, Hop::Proxy, Phase::Proxy)
                .with_message(format!(
                    "SOCKS4 proxy {} did not finish the handshake within {timeout:?}",
                    ctx.proxy_display()
                ))
                .with_hint("the proxy accepted the TCP connection but stalled; check the proxy, or raise timeouts.proxy")
                .map_evidence(|ev| ev.timeout = Some(timeout)));
        }
    };
    let code = match parsed {
        Socks4Reply::Granted { .. } => return Ok(stream),
        Socks4Reply::Rejected { code } => code,
        Socks4Reply::Invalid(why) => {
            return Err(ctx
                .error(ErrorKind::ProxyProtocol, Hop::Proxy, Phase::Proxy)
                .with_message(format!(
                    "SOCKS4 proxy {} sent an unusable reply: {why}",
                    ctx.proxy_display()
                ))
                .with_hint("the service does not speak SOCKS4; if it is a SOCKS5 proxy write socks5h://, if an HTTP proxy http://")
                .map_evidence(|ev| ev.cause = Some(why)));
        }
        Socks4Reply::Partial { need } => {
            let why = format!("the reply parser asked for {need} bytes with 8 in hand");
            return Err(ctx
                .error(ErrorKind::ProxyProtocol, Hop::Proxy, Phase::Proxy)
                .with_message(format!(
                    "SOCKS4 proxy {} sent an unusable reply: {why}",
                    ctx.proxy_display()
                ))
                .map_evidence(|ev| ev.cause = Some(why)));
        }
    };
    let meaning = socks4_reply_meaning(code);
    let (hint, blame) = match code {
        0x5C => (
            "the proxy wants to confirm the user with identd on this machine and none answers; ask its operators to drop the identd check, or use a SOCKS5 proxy".to_owned(),
            Blame::LocalConfig,
        ),
        0x5D => (
            "the user id sent (the user name in the proxy URL) is not the one identd reports for this process; correct the user name in the proxy URL".to_owned(),
            Blame::LocalConfig,
        ),
        _ => (
            format!(
                "the proxy's rules refused {} or it could not reach it (SOCKS4 does not say which): check the destination, or ask the proxy's operators",
                ctx.target()
            ),
            Blame::Proxy,
        ),
    };
    Err(ctx
        .error(ErrorKind::ProxyRefused, Hop::Proxy, Phase::Proxy)
        .with_message(format!(
            "SOCKS4 proxy {} refused the connection to {}: {meaning} (reply {code:#04x})",
            ctx.proxy_display(),
            ctx.target()
        ))
        .with_hint(hint)
        .with_blame(blame)
        .map_evidence(|ev| {
            ev.credentials_sent = Some(!user_id.is_empty());
            ev.proxy_reply = Some(ProxyReply {
                status: u16::from(code),
                reason: meaning.to_owned(),
                ..ProxyReply::default()
            });
        }))
}

/// The first IPv4 address of `addrs` (SOCKS4 carries no other), or the error that none is.
pub(crate) fn first_v4(ctx: &Ctx, addrs: &[std::net::SocketAddr]) -> Result<SocketAddrV4, Error> {
    addrs
        .iter()
        .find_map(|a| match a.ip() {
            IpAddr::V4(ip) => Some(SocketAddrV4::new(ip, a.port())),
            IpAddr::V6(_) => None,
        })
        .ok_or_else(|| {
            ctx.error(ErrorKind::OriginDns, Hop::Origin, Phase::Dns)
                .with_message(format!(
                    "{} has no IPv4 address, and SOCKS4 carries only IPv4",
                    ctx.target()
                ))
                .with_hint("write the proxy URL with socks4a:// (the proxy resolves the name) or use a SOCKS5 proxy")
        })
}
