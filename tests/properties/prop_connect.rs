//! Property tests of the proxy reply parsers (bounded case counts, run in CI): the CONNECT
//! reply head parser as the handshake uses it never accepts a head over 16 KiB, gives the same
//! answer however the bytes are split, and never panics; the SOCKS5 reply parser reads exactly
//! the declared lengths and never panics.

use proptest::prelude::*;
use proxyscope::wire::{
    MAX_HEAD, Parsed, Socks5Reply, parse_reply_head_bounded, parse_socks5_reply,
};

/// A reply head with `interim` 1xx heads first and a padding header of `pad` bytes.
fn head(status: u16, interim: usize, pad: usize, lf_only: bool) -> Vec<u8> {
    let eol = if lf_only { "\n" } else { "\r\n" };
    let mut h = String::new();
    for _ in 0..interim {
        h.push_str(&format!("HTTP/1.1 100 Continue{eol}{eol}"));
    }
    h.push_str(&format!("HTTP/1.1 {status} Reason{eol}Via: 1.1 p{eol}"));
    if pad > 0 {
        h.push_str(&format!("X-Pad: {}{eol}", "a".repeat(pad)));
    }
    h.push_str(eol);
    h.into_bytes()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn heads_over_16_kib_are_never_accepted(
        status in 200u16..600,
        interim in 0usize..4,
        pad in prop_oneof![0usize..2048, 15_000usize..18_000, 18_000usize..40_000],
        lf_only in any::<bool>(),
        tail in prop::collection::vec(any::<u8>(), 0..64),
    ) {
        let h = head(status, interim, pad, lf_only);
        let mut buf = h.clone();
        buf.extend_from_slice(&tail);
        match parse_reply_head_bounded(&buf) {
            Parsed::Complete(parsed) => {
                prop_assert!(h.len() <= MAX_HEAD);
                prop_assert_eq!(parsed.len, h.len());
                prop_assert_eq!(parsed.status, status);
                prop_assert_eq!(&buf[parsed.len..], &tail[..]);
            }
            Parsed::Invalid(_) => prop_assert!(h.len() > MAX_HEAD),
            Parsed::Partial => prop_assert!(false, "a complete head read as partial"),
        }
    }

    #[test]
    fn every_split_of_a_head_reads_partial_until_the_end(
        status in 200u16..600,
        interim in 0usize..3,
        pad in 0usize..600,
        cut in any::<prop::sample::Index>(),
    ) {
        let h = head(status, interim, pad, false);
        let at = cut.index(h.len());
        prop_assert_eq!(parse_reply_head_bounded(&h[..at]), Parsed::Partial);
        prop_assert!(matches!(parse_reply_head_bounded(&h), Parsed::Complete(_)));
    }

    #[test]
    fn arbitrary_bytes_never_panic_or_exceed_the_bound(bytes in prop::collection::vec(any::<u8>(), 0..512)) {
        match parse_reply_head_bounded(&bytes) {
            Parsed::Complete(h) => {
                prop_assert!(h.len <= bytes.len() && h.len <= MAX_HEAD);
                prop_assert!(!(100..200).contains(&h.status) || h.status == 101);
            }
            Parsed::Partial | Parsed::Invalid(_) => {}
        }
    }

    #[test]
    fn http_like_bytes_never_panic(
        line in "HTTP/1\\.[01] [0-9]{3} [\\PC]{0,20}",
        headers in prop::collection::vec("[!-~]{1,10}: [\\PC]{0,30}", 0..8),
        garbage in prop::collection::vec(any::<u8>(), 0..32),
    ) {
        let mut buf = format!("{line}\r\n{}\r\n", headers.join("\r\n")).into_bytes();
        buf.extend_from_slice(&garbage);
        buf.extend_from_slice(b"\r\n\r\n");
        if let Parsed::Complete(h) = parse_reply_head_bounded(&buf) {
            prop_assert!(h.len <= buf.len());
        }
    }

    #[test]
    fn socks5_replies_are_read_by_their_declared_lengths(
        atyp in prop::sample::select(vec![1u8, 3, 4]),
        name_len in 0u8..=255,
        code in any::<u8>(),
        filler in any::<u8>(),
        extra in prop::collection::vec(any::<u8>(), 0..8),
    ) {
        let addr_len = match atyp { 1 => 4, 4 => 16, _ => usize::from(name_len) };
        let mut reply = vec![5, code, 0, atyp];
        if atyp == 3 {
            reply.push(name_len);
        }
        reply.extend(std::iter::repeat_n(filler, addr_len));
        reply.extend_from_slice(&[0x01, 0xbb]);
        let len = reply.len();
        reply.extend_from_slice(&extra);
        match parse_socks5_reply(&reply) {
            Socks5Reply::Failed { code: c } => prop_assert!(code != 0 && c == code),
            Socks5Reply::Succeeded { len: l, bound } => {
                prop_assert_eq!(code, 0);
                prop_assert_eq!(l, len);
                prop_assert!(bound.ends_with(":443"));
            }
            other => prop_assert!(false, "{:?}", other),
        }
        if code == 0 {
            for cut in 0..len {
                match parse_socks5_reply(&reply[..cut]) {
                    Socks5Reply::Partial { need } => prop_assert!(need > cut && need <= len),
                    other => prop_assert!(false, "cut {}: {:?}", cut, other),
                }
            }
        }
    }

    #[test]
    fn socks5_arbitrary_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..300)) {
        match parse_socks5_reply(&bytes) {
            Socks5Reply::Partial { need } => prop_assert!(need > bytes.len() && need <= 262),
            Socks5Reply::Succeeded { len, .. } => prop_assert!(len <= bytes.len()),
            Socks5Reply::Failed { code } => prop_assert_ne!(code, 0),
            Socks5Reply::Invalid(why) => prop_assert!(!why.is_empty()),
        }
    }
}
