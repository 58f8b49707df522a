//! The PAC answer parser (`pac::parse_result`): never panics, stays within its bounds, every
//! diagnostic points at its entry (credentials redacted across the whole answer), and every
//! accepted entry renders as PAC text that parses back to itself — alone and as the whole list.
#![no_main]

use libfuzzer_sys::fuzz_target;
use proxyscope::pac::{MAX_ENTRIES, MAX_RESULT_LEN, parse_result};
use proxyscope::proxy::redact_list;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let r = parse_result(&text);
    assert!(r.entries.len() <= MAX_ENTRIES);
    // What the parser reads: the answer cut to its bound, on a character boundary.
    let mut end = text.len().min(MAX_RESULT_LEN);
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    let read = &text[..end];
    // Credentials are masked across the whole answer (a password may hold the `;` that splits
    // it), as `redact_list` masks it; with nothing to mask, the quote is the entry itself.
    let maskable = read.contains(['@', '=']);
    let redacted = redact_list(read);
    for d in &r.diagnostics {
        assert!(d.offset + d.len <= read.len());
        assert!(d.text.len() <= 200);
        // The quote is the entry as written, credentials redacted, then cut.
        if maskable {
            assert!(redacted.contains(&d.text), "{:?} not in {redacted:?}", d.text);
        } else {
            assert!(read[d.offset..d.offset + d.len].starts_with(&d.text));
        }
        let _ = d.to_string();
    }
    for e in &r.entries {
        let again = parse_result(&e.to_string());
        assert_eq!(again.entries, [e.clone()], "{e}");
        assert!(again.diagnostics.is_empty(), "{e}");
        let _ = e.to_url();
    }
    let whole = parse_result(&r.to_string());
    assert_eq!(whole.entries, r.entries);
    let _ = serde_json::to_string(&r).unwrap();
});
