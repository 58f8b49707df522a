//! The SOCKS4 reply parser as the handshake will use it: never panics, never asks for more than
//! the fixed 8 bytes, and a complete reply parses the same from exactly its own bytes. The
//! request builder never panics and its output has the protocol's shape.
#![no_main]

use std::net::{Ipv4Addr, SocketAddrV4};

use libfuzzer_sys::fuzz_target;
use proxyscope::wire::{
    SOCKS4_REPLY_LEN, Socks4Dest, Socks4Reply, parse_socks4_reply, socks4_reply_meaning,
    socks4_request,
};

fuzz_target!(|data: &[u8]| {
    match parse_socks4_reply(data) {
        Socks4Reply::Partial { need } => {
            assert_eq!(need, SOCKS4_REPLY_LEN);
            assert!(data.len() < need);
        }
        Socks4Reply::Granted { bound } => {
            assert!(data.len() >= SOCKS4_REPLY_LEN);
            assert_eq!(
                parse_socks4_reply(&data[..SOCKS4_REPLY_LEN]),
                Socks4Reply::Granted { bound }
            );
        }
        Socks4Reply::Rejected { code } => {
            assert!((0x5B..=0x5D).contains(&code));
            assert!(!socks4_reply_meaning(code).is_empty());
        }
        Socks4Reply::Invalid(why) => assert!(!why.is_empty()),
    }
    // The same bytes as a user id and a host name for the request builder.
    let text = String::from_utf8_lossy(data);
    let port = data.first().map_or(1, |b| u16::from(*b) + 1);
    let dest = SocketAddrV4::new(Ipv4Addr::new(192, 0, 2, 1), port);
    if let Ok(req) = socks4_request(Socks4Dest::Addr(dest), &text) {
        assert_eq!(&req[..2], &[4, 1]);
        assert_eq!(req.len(), 9 + text.len());
        assert_eq!(req.last(), Some(&0));
    }
    if let Ok(req) = socks4_request(Socks4Dest::Name(&text, port), "") {
        assert_eq!(&req[4..8], &[0, 0, 0, 1]);
        assert_eq!(req.len(), 9 + text.len() + 1);
    }
});
