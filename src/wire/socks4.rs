//! SOCKS4 and SOCKS4a, the wire format: the CONNECT request a client sends and the 8-byte reply
//! it reads back. Pure, so the handshake's reading of a proxy's reply can be fuzzed; the
//! connector (socks4:// resolves the destination locally and sends an IPv4 address, socks4a://
//! sends the name for the proxy to resolve, as curl does) drives it.
//!
//! Request: `VN=4 CD=1 DSTPORT(2) DSTIP(4) USERID NUL`, and for SOCKS4a `DSTIP=0.0.0.1` followed
//! by `HOSTNAME NUL`. Reply: `VN=0 CD DSTPORT(2) DSTIP(4)`, CD `0x5A` granted, `0x5B` rejected or
//! failed, `0x5C` and `0x5D` rejected for identd reasons.

use std::fmt;
use std::net::{Ipv4Addr, SocketAddrV4};

/// The length of every SOCKS4 reply.
pub const REPLY_LEN: usize = 8;
/// The longest user id or host name sent, in bytes (curl's bound for both).
pub const MAX_FIELD_LEN: usize = 255;

/// Where to ask the proxy to connect.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Socks4Dest<'a> {
    /// An IPv4 address resolved by the client (SOCKS4).
    Addr(SocketAddrV4),
    /// A host name the proxy resolves (SOCKS4a), and the port.
    Name(&'a str, u16),
}

/// Why a SOCKS4 request cannot be built.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Socks4RequestError {
    /// The user id is longer than [`MAX_FIELD_LEN`] bytes or contains a NUL byte.
    BadUserId,
    /// The host name is empty, longer than [`MAX_FIELD_LEN`] bytes or contains a NUL byte.
    BadHostName,
}

impl fmt::Display for Socks4RequestError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::BadUserId => "the SOCKS4 user id must be at most 255 bytes without NUL",
            Self::BadHostName => "a SOCKS4a host name must be 1 to 255 bytes without NUL",
        })
    }
}

impl std::error::Error for Socks4RequestError {}

/// The CONNECT request for `dest`, identifying as `user_id` (often empty).
pub fn build_request(dest: Socks4Dest<'_>, user_id: &str) -> Result<Vec<u8>, Socks4RequestError> {
    if user_id.len() > MAX_FIELD_LEN || user_id.contains('\0') {
        return Err(Socks4RequestError::BadUserId);
    }
    let (ip, port, name) = match dest {
        Socks4Dest::Addr(a) => (*a.ip(), a.port(), None),
        Socks4Dest::Name(host, port) => {
            if host.is_empty() || host.len() > MAX_FIELD_LEN || host.contains('\0') {
                return Err(Socks4RequestError::BadHostName);
            }
            // 0.0.0.x with x non-zero tells a SOCKS4a proxy that a name follows.
            (Ipv4Addr::new(0, 0, 0, 1), port, Some(host))
        }
    };
    let mut req = Vec::with_capacity(9 + user_id.len() + name.map_or(0, |n| n.len() + 1));
    req.extend_from_slice(&[4, 1]);
    req.extend_from_slice(&port.to_be_bytes());
    req.extend_from_slice(&ip.octets());
    req.extend_from_slice(user_id.as_bytes());
    req.push(0);
    if let Some(n) = name {
        req.extend_from_slice(n.as_bytes());
        req.push(0);
    }
    Ok(req)
}

/// The meaning of a SOCKS4 reply code.
pub fn reply_meaning(code: u8) -> &'static str {
    match code {
        0x5A => "request granted",
        0x5B => "request rejected or failed",
        0x5C => "request rejected because the SOCKS server cannot connect to identd on the client",
        0x5D => "request rejected because the client program and identd report different user ids",
        _ => "unassigned reply code",
    }
}

/// What the bytes of a SOCKS4 reply say so far.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Socks4Reply {
    /// Fewer than [`REPLY_LEN`] bytes: read until `need` bytes in all.
    Partial {
        /// Always [`REPLY_LEN`].
        need: usize,
    },
    /// The proxy connected; every byte after the first [`REPLY_LEN`] belongs to the tunnel.
    Granted {
        /// The address and port in the reply (meaningless for CONNECT, kept for evidence).
        bound: SocketAddrV4,
    },
    /// The proxy refused: `0x5B`, `0x5C` or `0x5D`, see [`reply_meaning`].
    Rejected {
        /// The reply code.
        code: u8,
    },
    /// Not a SOCKS4 reply: what was wrong.
    Invalid(String),
}

/// Reads the SOCKS4 reply at the start of `buf`. Never panics; never asks for more than 8 bytes.
pub fn parse_reply(buf: &[u8]) -> Socks4Reply {
    if let Some(&version) = buf.first()
        && version != 0
    {
        // curl refuses the same; a 0x05 here usually means a SOCKS5 proxy, an 'H' an HTTP one.
        return Socks4Reply::Invalid(format!(
            "version byte {version:#04x} in the reply, expected 0x00"
        ));
    }
    let Some(reply) = buf.first_chunk::<REPLY_LEN>() else {
        return Socks4Reply::Partial { need: REPLY_LEN };
    };
    let [_, code, p1, p2, a, b, c, d] = *reply;
    match code {
        0x5A => Socks4Reply::Granted {
            bound: SocketAddrV4::new(Ipv4Addr::new(a, b, c, d), u16::from_be_bytes([p1, p2])),
        },
        0x5B..=0x5D => Socks4Reply::Rejected { code },
        other => Socks4Reply::Invalid(format!("unknown reply code {other:#04x}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requests_follow_the_protocol() {
        let dest = Socks4Dest::Addr(SocketAddrV4::new(Ipv4Addr::new(192, 0, 2, 1), 443));
        assert_eq!(
            build_request(dest, "").unwrap(),
            [4, 1, 0x01, 0xBB, 192, 0, 2, 1, 0]
        );
        assert_eq!(
            build_request(dest, "fred").unwrap(),
            [4, 1, 0x01, 0xBB, 192, 0, 2, 1, b'f', b'r', b'e', b'd', 0]
        );
        assert_eq!(
            build_request(Socks4Dest::Name("a.example", 80), "u").unwrap(),
            [
                4, 1, 0, 80, 0, 0, 0, 1, b'u', 0, b'a', b'.', b'e', b'x', b'a', b'm', b'p', b'l',
                b'e', 0
            ]
        );
    }

    #[test]
    fn requests_refuse_what_the_protocol_cannot_carry() {
        let dest = Socks4Dest::Addr(SocketAddrV4::new(Ipv4Addr::LOCALHOST, 1));
        assert_eq!(
            build_request(dest, "a\0b"),
            Err(Socks4RequestError::BadUserId)
        );
        assert_eq!(
            build_request(dest, &"u".repeat(256)),
            Err(Socks4RequestError::BadUserId)
        );
        assert!(build_request(dest, &"u".repeat(255)).is_ok());
        for bad in ["", "a\0b"] {
            assert_eq!(
                build_request(Socks4Dest::Name(bad, 1), ""),
                Err(Socks4RequestError::BadHostName)
            );
        }
        let long = "h".repeat(256);
        assert_eq!(
            build_request(Socks4Dest::Name(&long, 1), ""),
            Err(Socks4RequestError::BadHostName)
        );
    }

    #[test]
    fn replies_parse_by_their_fixed_length() {
        use Socks4Reply::*;
        assert_eq!(parse_reply(&[]), Partial { need: 8 });
        assert_eq!(parse_reply(&[0, 0x5A, 0, 80]), Partial { need: 8 });
        assert_eq!(
            parse_reply(&[0, 0x5A, 0x1F, 0x90, 10, 0, 0, 1, 0xAA]),
            Granted {
                bound: "10.0.0.1:8080".parse().unwrap()
            }
        );
        for code in [0x5B, 0x5C, 0x5D] {
            assert_eq!(parse_reply(&[0, code, 0, 0, 0, 0, 0, 0]), Rejected { code });
            assert!(reply_meaning(code).starts_with("request rejected"));
        }
        assert!(matches!(parse_reply(&[0, 0, 0, 0, 0, 0, 0, 0]), Invalid(_)));
        assert!(matches!(
            parse_reply(&[0, 0x5E, 0, 0, 0, 0, 0, 0]),
            Invalid(_)
        ));
        // Decided on the first byte: an HTTP or SOCKS5 proxy's answer is never waited out.
        assert!(matches!(parse_reply(b"H"), Invalid(_)));
        assert!(matches!(parse_reply(&[5, 0]), Invalid(_)));
        assert!(matches!(
            parse_reply(&[4, 0x5A, 0, 0, 0, 0, 0, 0]),
            Invalid(_)
        ));
        assert_eq!(reply_meaning(0x5A), "request granted");
        assert_eq!(reply_meaning(1), "unassigned reply code");
    }

    // Properties (bounded case counts): the parser never panics, never asks for more than the
    // 8-byte reply and decides a complete reply from exactly its own bytes however it was split;
    // built requests always carry the destination where the protocol puts it.
    mod properties {
        use super::*;
        use proptest::prelude::*;

        proptest! {
            #![proptest_config(ProptestConfig::with_cases(512))]

            #[test]
            fn arbitrary_bytes_never_panic_or_overask(bytes in prop::collection::vec(any::<u8>(), 0..32)) {
                match parse_reply(&bytes) {
                    Socks4Reply::Partial { need } => {
                        prop_assert_eq!(need, REPLY_LEN);
                        prop_assert!(bytes.len() < need);
                    }
                    Socks4Reply::Granted { bound } => {
                        prop_assert_eq!(bytes[1], 0x5A);
                        prop_assert_eq!(bound.port(), u16::from_be_bytes([bytes[2], bytes[3]]));
                    }
                    Socks4Reply::Rejected { code } => prop_assert!((0x5B..=0x5D).contains(&code)),
                    Socks4Reply::Invalid(_) => {}
                }
            }

            #[test]
            fn every_prefix_of_a_valid_reply_is_partial(
                code in prop_oneof![Just(0x5Au8), Just(0x5B), Just(0x5C), Just(0x5D)],
                port in any::<u16>(),
                ip in any::<[u8; 4]>(),
                tail in prop::collection::vec(any::<u8>(), 0..16),
            ) {
                let mut reply = vec![0, code];
                reply.extend_from_slice(&port.to_be_bytes());
                reply.extend_from_slice(&ip);
                for cut in 0..REPLY_LEN {
                    prop_assert_eq!(parse_reply(&reply[..cut]), Socks4Reply::Partial { need: 8 });
                }
                let whole = parse_reply(&reply);
                reply.extend_from_slice(&tail);
                prop_assert_eq!(parse_reply(&reply), whole.clone());
                match whole {
                    Socks4Reply::Granted { bound } => {
                        prop_assert_eq!(bound, SocketAddrV4::new(Ipv4Addr::from(ip), port))
                    }
                    Socks4Reply::Rejected { code: c } => prop_assert_eq!(c, code),
                    other => prop_assert!(false, "{other:?}"),
                }
            }

            #[test]
            fn requests_carry_the_destination(
                ip in any::<[u8; 4]>(),
                port in any::<u16>(),
                user in "[a-zA-Z0-9._-]{0,40}",
                host in "[a-z0-9.-]{1,60}",
            ) {
                let addr = SocketAddrV4::new(Ipv4Addr::from(ip), port);
                let req = build_request(Socks4Dest::Addr(addr), &user).unwrap();
                prop_assert_eq!(&req[..2], &[4u8, 1][..]);
                prop_assert_eq!(&req[2..4], &port.to_be_bytes()[..]);
                prop_assert_eq!(&req[4..8], &ip[..]);
                prop_assert_eq!(&req[8..8 + user.len()], user.as_bytes());
                prop_assert_eq!(req.len(), 9 + user.len());

                let req = build_request(Socks4Dest::Name(&host, port), &user).unwrap();
                prop_assert_eq!(&req[4..8], &[0u8, 0, 0, 1][..]);
                let name_at = 9 + user.len();
                prop_assert_eq!(&req[name_at..name_at + host.len()], host.as_bytes());
                prop_assert_eq!(req.last(), Some(&0u8));
            }
        }
    }
}
