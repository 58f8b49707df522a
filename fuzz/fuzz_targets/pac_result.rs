//! The PAC answer parser (`pac::parse_result`): never panics, stays within its bounds, every
//! diagnostic points at its entry (credentials redacted), and every accepted entry renders as PAC text that parses
//! back to itself — alone and as the whole list.
#![no_main]

use libfuzzer_sys::fuzz_target;
use proxyscope::pac::{MAX_ENTRIES, MAX_RESULT_LEN, parse_result};
use proxyscope::proxy::redact_text;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let r = parse_result(&text);
    assert!(r.entries.len() <= MAX_ENTRIES);
    for d in &r.diagnostics {
        assert!(d.offset + d.len <= text.len().min(MAX_RESULT_LEN));
        assert!(d.text.len() <= 200);
        // The quote is the entry as written, credentials redacted, then cut.
        assert!(redact_text(&text[d.offset..d.offset + d.len]).starts_with(&d.text));
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
