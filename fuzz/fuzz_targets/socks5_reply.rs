//! The SOCKS5 reply parser as the handshake uses it: never panics, a length the proxy declares
//! only ever asks for a bounded number of further bytes, and a complete reply parses the same
//! from exactly its own bytes.
#![no_main]

use libfuzzer_sys::fuzz_target;
use proxyscope::wire::{Socks5Reply, parse_socks5_reply, socks5_reply_meaning};

fuzz_target!(|data: &[u8]| {
    match parse_socks5_reply(data) {
        Socks5Reply::Partial { need } => {
            assert!(
                need > data.len(),
                "asked for {need} with {} in hand",
                data.len()
            );
            assert!(need <= 4 + 1 + 255 + 2);
        }
        Socks5Reply::Succeeded { bound, len } => {
            assert!(len <= data.len() && len >= 7);
            assert_eq!(
                parse_socks5_reply(&data[..len]),
                Socks5Reply::Succeeded { bound, len }
            );
            assert_eq!(
                parse_socks5_reply(&data[..len - 1]),
                Socks5Reply::Partial { need: len }
            );
        }
        Socks5Reply::Failed { code } => {
            assert_ne!(code, 0);
            assert!(!socks5_reply_meaning(code).is_empty());
        }
        Socks5Reply::Invalid(why) => assert!(!why.is_empty()),
    }
});
