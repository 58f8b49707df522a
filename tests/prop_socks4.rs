//! Property tests of the SOCKS4 reply parser and request builder (bounded case counts, run in
//! CI): the parser never panics, never asks for more than the 8-byte reply, decides a complete
//! reply from exactly its own bytes however it was split; built requests always carry the
//! destination where the protocol puts it.

use std::net::{Ipv4Addr, SocketAddrV4};

use proptest::prelude::*;
use proxyscope::connect::{
    SOCKS4_REPLY_LEN, Socks4Dest, Socks4Reply, parse_socks4_reply, socks4_request,
};

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn arbitrary_bytes_never_panic_or_overask(bytes in prop::collection::vec(any::<u8>(), 0..32)) {
        match parse_socks4_reply(&bytes) {
            Socks4Reply::Partial { need } => {
                prop_assert_eq!(need, SOCKS4_REPLY_LEN);
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
        for cut in 0..SOCKS4_REPLY_LEN {
            prop_assert_eq!(parse_socks4_reply(&reply[..cut]), Socks4Reply::Partial { need: 8 });
        }
        let whole = parse_socks4_reply(&reply);
        reply.extend_from_slice(&tail);
        prop_assert_eq!(parse_socks4_reply(&reply), whole.clone());
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
        let req = socks4_request(Socks4Dest::Addr(addr), &user).unwrap();
        prop_assert_eq!(&req[..2], &[4u8, 1][..]);
        prop_assert_eq!(&req[2..4], &port.to_be_bytes()[..]);
        prop_assert_eq!(&req[4..8], &ip[..]);
        prop_assert_eq!(&req[8..8 + user.len()], user.as_bytes());
        prop_assert_eq!(req.len(), 9 + user.len());

        let req = socks4_request(Socks4Dest::Name(&host, port), &user).unwrap();
        prop_assert_eq!(&req[4..8], &[0u8, 0, 0, 1][..]);
        let name_at = 9 + user.len();
        prop_assert_eq!(&req[name_at..name_at + host.len()], host.as_bytes());
        prop_assert_eq!(req.last(), Some(&0u8));
    }
}
