//! A SOCKS5 proxy's reply to CONNECT (RFC 1928 §6), read without I/O: how many bytes it needs,
//! whether the proxy connected, and what a failure code means. The handshake in `connect` reads
//! bytes and asks this parser what they say, so the reading can be fuzzed.

use std::net::SocketAddr;

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
