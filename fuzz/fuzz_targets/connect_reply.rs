//! The CONNECT reply head parser as the handshake uses it (bounded at 16 KiB): never panics,
//! never accepts a head over the bound, agrees with itself across split reads, and everything
//! built from a head (classification, evidence headers, challenges) works on any bytes.
#![no_main]

use libfuzzer_sys::fuzz_target;
use proxyscope::wire::{
    MAX_HEAD, Parsed, auth_challenges, classify, evidence_headers, parse_reply_head_bounded,
    proxy_status_error, squid_error,
};
use proxyscope::error::ProxyReply;

fuzz_target!(|data: &[u8]| {
    // The first byte picks where a split read cuts the input.
    let Some((&cut, data)) = data.split_first() else {
        return;
    };
    match parse_reply_head_bounded(data) {
        Parsed::Complete(head) => {
            assert!(head.len <= MAX_HEAD, "accepted a {}-byte head", head.len);
            assert!(head.len <= data.len());
            assert!(!(100..200).contains(&head.status) || head.status == 101);
            // Exactly the head's bytes parse to the same head; a shorter read is partial.
            assert_eq!(
                parse_reply_head_bounded(&data[..head.len]),
                Parsed::Complete(head.clone())
            );
            let short = usize::from(cut) * head.len / 256;
            assert_eq!(parse_reply_head_bounded(&data[..short]), Parsed::Partial);
            // `ProxyReply` is `#[non_exhaustive]`: filled in field by field, as a caller would.
            let mut reply = ProxyReply::default();
            reply.status = head.status;
            reply.reason = head.reason.clone();
            reply.headers = evidence_headers(&head.headers);
            reply.body_excerpt = Some(String::from_utf8_lossy(&data[head.len..]).into_owned());
            let _ = classify(&reply, cut % 2 == 0);
            let _ = squid_error(&reply);
            let _ = proxy_status_error(&reply);
            let _ = auth_challenges(reply.headers.iter().map(|(_, v)| v.as_str()));
            for (name, _) in &reply.headers {
                let lower = name.to_ascii_lowercase();
                assert!(!lower.contains("authorization") && !lower.contains("cookie"));
            }
        }
        Parsed::Partial => assert!(data.len() < MAX_HEAD),
        Parsed::Invalid(why) => assert!(!why.is_empty()),
    }
});
