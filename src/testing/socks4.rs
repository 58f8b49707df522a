//! The SOCKS4 and SOCKS4a side of [`TestProxy`](super::TestProxy)'s SOCKS listener: the CONNECT
//! command with an IPv4 address or (4a) a name, a user id, and reply codes chosen by the proxy's
//! [`Policy`](super::Policy) rules, by [`TestProxyBuilder::socks4_reply`]
//! (super::TestProxyBuilder::socks4_reply), or by the real connect to the destination.

use std::net::Ipv4Addr;
use std::sync::Arc;

use http::HeaderMap;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use super::policy::{Decision, decide};
use super::shared::{Handled, Listener, ProxyRequest, Shared, splice};
use super::upstream;

/// Reply code: request granted.
pub const REPLY4_GRANTED: u8 = 0x5A;
/// Reply code: request rejected or failed.
pub const REPLY4_REJECTED: u8 = 0x5B;
/// Reply code: rejected, the server cannot connect to identd on the client.
pub const REPLY4_NO_IDENTD: u8 = 0x5C;
/// Reply code: rejected, the client and identd report different user ids.
pub const REPLY4_USER_MISMATCH: u8 = 0x5D;

/// The longest user id or name read (the protocol's fields end at a NUL; real servers cap them).
const MAX_FIELD: usize = 256;

/// Serves one SOCKS4/4a exchange on a connection whose first byte is 4.
pub(crate) async fn serve(stream: &mut TcpStream, shared: &Arc<Shared>) -> std::io::Result<()> {
    let mut head = [0u8; 8];
    stream.read_exact(&mut head).await?;
    let port = u16::from_be_bytes([head[2], head[3]]);
    let ip = Ipv4Addr::new(head[4], head[5], head[6], head[7]);
    let user_id = read_field(stream).await?;
    // 0.0.0.x with x non-zero: SOCKS4a, a name follows.
    let host = if ip.octets()[..3] == [0, 0, 0] && ip.octets()[3] != 0 {
        read_field(stream).await?
    } else {
        ip.to_string()
    };
    let mut record = ProxyRequest {
        listener: Listener::Socks4,
        method: "CONNECT".to_owned(),
        target: format!("{host}:{port}"),
        headers: HeaderMap::new(),
        has_proxy_authorization: !user_id.is_empty(),
        handled: Handled::Socks(REPLY4_REJECTED),
    };
    let code = if head[1] != 0x01 {
        record.method = format!("SOCKS-CMD-{}", head[1]);
        Some(REPLY4_REJECTED)
    } else if let Some(code) = shared.socks4_reply {
        Some(code)
    } else {
        match decide(&shared.rules(), &host, port, None, true) {
            Decision::Refuse { .. }
            | Decision::Intercept
            | Decision::DenyInsideTunnel
            | Decision::Echo(_) => Some(REPLY4_REJECTED),
            Decision::Forward | Decision::OkThenClose => None,
        }
    };
    if let Some(code) = code {
        record.handled = Handled::Socks(code);
        shared.record(record);
        return reply(stream, code).await;
    }
    match upstream::connect(&shared.resolve, &host, port).await {
        Err(_) => {
            shared.record(record);
            reply(stream, REPLY4_REJECTED).await
        }
        Ok(upstream) => {
            record.handled = Handled::Socks(REPLY4_GRANTED);
            shared.record(record);
            reply(stream, REPLY4_GRANTED).await?;
            splice(stream, upstream).await;
            Ok(())
        }
    }
}

/// Reads a NUL-terminated field of at most [`MAX_FIELD`] bytes.
async fn read_field(stream: &mut TcpStream) -> std::io::Result<String> {
    let mut out = Vec::new();
    loop {
        let b = stream.read_u8().await?;
        if b == 0 {
            return Ok(String::from_utf8_lossy(&out).into_owned());
        }
        if out.len() == MAX_FIELD {
            return Err(std::io::Error::other("SOCKS4 field too long"));
        }
        out.push(b);
    }
}

/// Sends VN=0 CD DSTPORT DSTIP (zeros: unused for CONNECT).
async fn reply(stream: &mut TcpStream, code: u8) -> std::io::Result<()> {
    stream.write_all(&[0, code, 0, 0, 0, 0, 0, 0]).await
}
