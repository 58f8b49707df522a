//! The SOCKS5 side of [`TestProxy`](super::TestProxy) (RFC 1928, with RFC 1929
//! username/password): method negotiation, the CONNECT command with IPv4, domain and IPv6
//! addresses, and reply codes chosen by the proxy's [`Policy`](super::Policy) rules or by the
//! real connect to the destination.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::Arc;

use http::HeaderMap;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use super::misbehave::misbehave;
use super::policy::{Decision, decide};
use super::shared::{Handled, Listener, ProxyRequest, Shared, splice};
use super::upstream;

const VERSION: u8 = 0x05;
const NO_AUTH: u8 = 0x00;
const USER_PASS: u8 = 0x02;
const NO_ACCEPTABLE: u8 = 0xff;

/// Reply code: general failure.
pub const REPLY_GENERAL_FAILURE: u8 = 0x01;
/// Reply code: connection not allowed by ruleset.
pub const REPLY_NOT_ALLOWED: u8 = 0x02;
/// Reply code: host unreachable.
pub const REPLY_HOST_UNREACHABLE: u8 = 0x04;
/// Reply code: connection refused.
pub const REPLY_CONNECTION_REFUSED: u8 = 0x05;
/// Reply code: command not supported.
pub const REPLY_COMMAND_NOT_SUPPORTED: u8 = 0x07;
/// Reply code: address type not supported.
pub const REPLY_ADDRESS_NOT_SUPPORTED: u8 = 0x08;

/// Serves one SOCKS5 client connection.
pub(crate) async fn serve(mut stream: TcpStream, shared: Arc<Shared>) {
    if let Some(rule) = shared.connection_rule() {
        misbehave(&mut stream, &rule, Listener::Socks5, &shared).await;
        return;
    }
    // The first byte is the version: the listener answers SOCKS4/4a as well.
    let mut first = [0u8; 1];
    if matches!(stream.peek(&mut first).await, Ok(1)) && first[0] == 4 {
        let _ = super::socks4::serve(&mut stream, &shared).await;
        return;
    }
    // A malformed or truncated exchange just ends the connection, as real servers do.
    let _ = negotiate(&mut stream, &shared).await;
}

async fn negotiate(stream: &mut TcpStream, shared: &Arc<Shared>) -> std::io::Result<()> {
    let mut head = [0u8; 2];
    stream.read_exact(&mut head).await?;
    if head[0] != VERSION {
        return Ok(());
    }
    let mut methods = vec![0u8; usize::from(head[1])];
    stream.read_exact(&mut methods).await?;
    let wanted = if shared.socks_auth.is_some() {
        USER_PASS
    } else {
        NO_AUTH
    };
    if !methods.contains(&wanted) {
        stream.write_all(&[VERSION, NO_ACCEPTABLE]).await?;
        return Ok(());
    }
    stream.write_all(&[VERSION, wanted]).await?;
    let authenticated = match &shared.socks_auth {
        Some((user, pass)) => {
            // RFC 1929: VER=1, ULEN, UNAME, PLEN, PASSWD; reply VER=1, STATUS.
            let mut ver_len = [0u8; 2];
            stream.read_exact(&mut ver_len).await?;
            let mut uname = vec![0u8; usize::from(ver_len[1])];
            stream.read_exact(&mut uname).await?;
            let mut plen = [0u8; 1];
            stream.read_exact(&mut plen).await?;
            let mut passwd = vec![0u8; usize::from(plen[0])];
            stream.read_exact(&mut passwd).await?;
            let ok = ver_len[0] == 0x01 && uname == user.as_bytes() && passwd == pass.as_bytes();
            stream
                .write_all(&[0x01, if ok { 0x00 } else { 0x01 }])
                .await?;
            if !ok {
                return Ok(());
            }
            true
        }
        None => false,
    };
    // Request: VER CMD RSV ATYP DST.ADDR DST.PORT
    let mut req = [0u8; 4];
    stream.read_exact(&mut req).await?;
    let host = match req[3] {
        0x01 => {
            let mut ip = [0u8; 4];
            stream.read_exact(&mut ip).await?;
            Ipv4Addr::from(ip).to_string()
        }
        0x03 => {
            let mut len = [0u8; 1];
            stream.read_exact(&mut len).await?;
            let mut name = vec![0u8; usize::from(len[0])];
            stream.read_exact(&mut name).await?;
            String::from_utf8_lossy(&name).into_owned()
        }
        0x04 => {
            let mut ip = [0u8; 16];
            stream.read_exact(&mut ip).await?;
            format!("[{}]", Ipv6Addr::from(ip))
        }
        _ => {
            reply(stream, REPLY_ADDRESS_NOT_SUPPORTED, None).await?;
            return Ok(());
        }
    };
    let mut port = [0u8; 2];
    stream.read_exact(&mut port).await?;
    let port = u16::from_be_bytes(port);
    let mut record = ProxyRequest {
        listener: Listener::Socks5,
        method: "CONNECT".to_owned(),
        target: format!("{host}:{port}"),
        headers: HeaderMap::new(),
        has_proxy_authorization: authenticated,
        handled: Handled::Socks(REPLY_GENERAL_FAILURE),
    };
    if req[1] != 0x01 {
        record.method = format!("SOCKS-CMD-{}", req[1]);
        record.handled = Handled::Socks(REPLY_COMMAND_NOT_SUPPORTED);
        shared.record(record);
        reply(stream, REPLY_COMMAND_NOT_SUPPORTED, None).await?;
        return Ok(());
    }
    let code = match decide(&shared.rules(), &host, port, None, true) {
        Decision::Refuse { socks, .. } => Some(socks),
        Decision::Echo(_) => Some(REPLY_GENERAL_FAILURE),
        Decision::Intercept | Decision::DenyInsideTunnel => Some(REPLY_GENERAL_FAILURE),
        Decision::Forward | Decision::OkThenClose => None,
    };
    if let Some(code) = code {
        record.handled = Handled::Socks(code);
        shared.record(record);
        reply(stream, code, None).await?;
        return Ok(());
    }
    match upstream::connect(&shared.resolve, &host, port).await {
        Err(err) => {
            record.handled = Handled::Socks(err.socks_reply());
            shared.record(record);
            reply(stream, err.socks_reply(), None).await?;
        }
        Ok(upstream) => {
            record.handled = Handled::Socks(0x00);
            shared.record(record);
            reply(stream, 0x00, upstream.local_addr().ok()).await?;
            splice(stream, upstream).await;
        }
    }
    Ok(())
}

/// Sends VER REP RSV ATYP BND.ADDR BND.PORT.
async fn reply(stream: &mut TcpStream, code: u8, bound: Option<SocketAddr>) -> std::io::Result<()> {
    let bound = bound.unwrap_or_else(|| SocketAddr::new(IpAddr::V4(Ipv4Addr::UNSPECIFIED), 0));
    let mut out = vec![VERSION, code, 0x00];
    match bound.ip() {
        IpAddr::V4(ip) => {
            out.push(0x01);
            out.extend_from_slice(&ip.octets());
        }
        IpAddr::V6(ip) => {
            out.push(0x04);
            out.extend_from_slice(&ip.octets());
        }
    }
    out.extend_from_slice(&bound.port().to_be_bytes());
    stream.write_all(&out).await
}
