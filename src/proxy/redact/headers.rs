//! Which header names carry credentials: the one rule behind every `Debug` of request, default
//! and proxy headers (their values are marked sensitive), the secrets scrubbed from what peers
//! echo ([`Secrets`](super::Secrets)), and the probe's header expectations.
//!
//! Services put API keys and tokens in headers of their own naming (`X-Auth-Token`, `Api-Key`,
//! `X-Goog-Api-Key`, `X-Vault-Token`, `Private-Token`), not only in `Authorization` and
//! `Cookie`, so the rule reads the name: a name holding any of [`SECRET_HEADER_WORDS`] is
//! secret. Hiding too much costs a value in a `Debug`; hiding too little leaks a key. The one
//! exception keeps the challenges `WWW-Authenticate` and `Proxy-Authenticate` readable: they
//! say how to log in, never with what.

/// Parts of a header name (ASCII case-insensitive, anywhere in the name) that make its value
/// secret. `auth` covers `Authorization`, `Proxy-Authorization`, `X-Auth-Token` and
/// `Authentication`; `key` covers `X-Api-Key`, `Apikey` and `Ocp-Apim-Subscription-Key` (and
/// `Sec-WebSocket-Key`, a nonce: hidden for nothing, harmlessly); `passw` covers `password` and
/// `passwd`.
pub const SECRET_HEADER_WORDS: &[&str] = &[
    "auth",
    "bearer",
    "cookie",
    "credential",
    "jwt",
    "key",
    "passw",
    "pwd",
    "secret",
    "session",
    "token",
];

/// Whether a header named `name` carries a credential, so its value is never printed and is
/// scrubbed from whatever a peer echoes: `Authorization`, `Cookie` and any name holding one of
/// [`SECRET_HEADER_WORDS`] except the challenge headers ending in `-Authenticate`.
///
/// Compares in place, without a lowercased copy: this runs for every header of every request.
///
/// ```
/// use proxyscope::proxy::redact::is_secret_header;
/// assert!(is_secret_header("X-Auth-Token"));
/// assert!(is_secret_header("x-goog-api-key"));
/// assert!(!is_secret_header("Accept-Encoding"));
/// assert!(!is_secret_header("WWW-Authenticate"));
/// ```
pub fn is_secret_header(name: &str) -> bool {
    // The names nearly every response and request carries, as `HeaderName` spells them
    // (lowercase): one comparison by length and bytes instead of a scan of every position.
    // A test holds each of them to the rule below.
    if PLAIN_NAMES.iter().any(|plain| plain.as_str() == name) {
        return false;
    }
    let b = name.as_bytes();
    // Every word has three letters at least: a word starting at `i` needs `b[i + 2]`.
    let mut i = 2;
    while i < b.len() {
        if has_pair(&FIRST_PAIRS, b[i - 2], b[i - 1])
            && has_pair(&NEXT_PAIRS, b[i - 1], b[i])
            && is_word_at(&b[i - 2..])
        {
            return true;
        }
        i += 1;
    }
    false
}

/// [`is_secret_header`] of a parsed name: the names of [`PLAIN_NAMES`] are told apart by
/// `http`'s own tag for them, without reading any text (every request and response meets
/// several of them), the others as [`is_secret_header`] reads them.
pub(crate) fn is_secret_header_name(name: &http::HeaderName) -> bool {
    !PLAIN_NAMES.contains(name) && is_secret_header(name.as_str())
}

/// Common header names that hold none of [`SECRET_HEADER_WORDS`]: answered without the scan.
/// Ordered by how often a keep-alive exchange meets them, since a miss reads them all.
const PLAIN_NAMES: [http::HeaderName; 12] = {
    use http::header::{
        ACCEPT, ACCEPT_ENCODING, CACHE_CONTROL, CONTENT_ENCODING, CONTENT_LENGTH, CONTENT_TYPE,
        DATE, ETAG, HOST, SERVER, USER_AGENT, VARY,
    };
    [
        CONTENT_TYPE,
        CONTENT_LENGTH,
        DATE,
        SERVER,
        CONTENT_ENCODING,
        CACHE_CONTROL,
        VARY,
        ETAG,
        USER_AGENT,
        ACCEPT,
        ACCEPT_ENCODING,
        HOST,
    ]
};

/// One bit per pair of letters that starts a word of [`SECRET_HEADER_WORDS`] (`FIRST_PAIRS`),
/// and per pair of its second and third letters (`NEXT_PAIRS`): two lookups rule out almost
/// every position of an ordinary name (`content` starts like `cookie`, but `on` follows no
/// word's first letter). Built from the list, so the list stays the rule; a position they let
/// through by accident (`& 31` also folds some non-letters onto letters) is read in full by
/// [`is_word_at`].
const FIRST_PAIRS: [u64; 16] = pairs(0);
const NEXT_PAIRS: [u64; 16] = pairs(1);

fn has_pair(table: &[u64; 16], a: u8, b: u8) -> bool {
    let p = pair_index(a, b);
    table[p / 64] & (1 << (p % 64)) != 0
}

/// The pair's bit: five bits a letter, the same for both cases.
const fn pair_index(a: u8, b: u8) -> usize {
    (((a & 31) as usize) << 5) | (b & 31) as usize
}

/// The table of every word's pair of letters at `at` and `at + 1`.
const fn pairs(at: usize) -> [u64; 16] {
    let mut table = [0u64; 16];
    let mut i = 0;
    while i < SECRET_HEADER_WORDS.len() {
        let w = SECRET_HEADER_WORDS[i].as_bytes();
        // Lowercase letters only, three at least: what the tables and `is_word_at` read.
        assert!(
            w.len() >= 3,
            "a secret header word has three letters at least"
        );
        let mut j = 0;
        while j < w.len() {
            assert!(
                w[j].is_ascii_lowercase(),
                "a secret header word is lowercase letters"
            );
            j += 1;
        }
        let p = pair_index(w[at], w[at + 1]);
        table[p / 64] |= 1 << (p % 64);
        i += 1;
    }
    table
}

/// Whether a word of the list starts `rest` (not the challenge `authenticate`). Only the words
/// with `rest`'s first letter are read: a pair let through is rarely more than one word.
fn is_word_at(rest: &[u8]) -> bool {
    let mut words = BY_FIRST_LETTER[usize::from(rest[0] & 31)];
    while words != 0 {
        let w = SECRET_HEADER_WORDS[words.trailing_zeros() as usize].as_bytes();
        if starts(rest, w) {
            return !is_challenge(rest);
        }
        words &= words - 1;
    }
    false
}

/// For each letter (`& 31`), bit `k` set when word `k` of [`SECRET_HEADER_WORDS`] starts with it.
const BY_FIRST_LETTER: [u32; 32] = by_first_letter();

const fn by_first_letter() -> [u32; 32] {
    assert!(SECRET_HEADER_WORDS.len() <= 32, "one bit a word");
    let mut table = [0u32; 32];
    let mut k = 0;
    while k < SECRET_HEADER_WORDS.len() {
        table[(SECRET_HEADER_WORDS[k].as_bytes()[0] & 31) as usize] |= 1 << k;
        k += 1;
    }
    table
}

fn starts(rest: &[u8], word: &[u8]) -> bool {
    rest.get(..word.len())
        .is_some_and(|head| head.eq_ignore_ascii_case(word))
}

/// `authenticate` ending the name or a word of it (`WWW-Authenticate`, `Proxy-Authenticate`):
/// a challenge, not a credential. `Authentication` and `X-Authenticated-User` stay secret.
fn is_challenge(rest: &[u8]) -> bool {
    const WORD: &[u8] = b"authenticate";
    starts(rest, WORD)
        && rest
            .get(WORD.len())
            .is_none_or(|b| !b.is_ascii_alphanumeric())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The names answered without the scan are ordinary by the scan too.
    #[test]
    fn the_plain_names_hold_no_word() {
        for name in PLAIN_NAMES.iter().map(http::HeaderName::as_str) {
            let b = name.as_bytes();
            let found = (0..b.len()).any(|i| {
                SECRET_HEADER_WORDS
                    .iter()
                    .any(|w| starts(&b[i..], w.as_bytes()))
            });
            assert!(!found, "{name}");
            assert_eq!(name, name.to_ascii_lowercase(), "as HeaderName spells it");
        }
    }

    /// A parsed name is read by the same rule as its text: the plain names `http` knows, the
    /// secret ones, and names `http` does not know.
    #[test]
    fn a_parsed_name_follows_the_rule_of_its_text() {
        let names = PLAIN_NAMES.iter().map(http::HeaderName::as_str).chain([
            "authorization",
            "proxy-authorization",
            "cookie",
            "set-cookie",
            "www-authenticate",
            "proxy-authenticate",
            "x-api-key",
            "x-goog-api-key",
            "x-subject-token",
            "location",
            "x-team",
            "content-language",
        ]);
        for name in names {
            let parsed = http::HeaderName::from_static(name);
            assert_eq!(
                is_secret_header_name(&parsed),
                is_secret_header(name),
                "{name}"
            );
        }
        assert!(is_secret_header_name(&http::header::SET_COOKIE));
        assert!(!is_secret_header_name(&http::header::CONTENT_TYPE));
    }

    /// The tables are built from the list: every word is found, in any case, at any place.
    #[test]
    fn every_word_of_the_list_is_found_anywhere() {
        for w in SECRET_HEADER_WORDS {
            let upper = w.to_ascii_uppercase();
            for name in [w.to_string(), format!("X-{upper}"), format!("x_a{w}z-1")] {
                assert!(is_secret_header(&name), "{name}");
            }
        }
    }

    #[test]
    fn names_that_hold_credentials_and_names_that_do_not() {
        for name in [
            "Authorization",
            "authorization",
            "Proxy-Authorization",
            "X-Upstream-Authorization",
            "Cookie",
            "COOKIE",
            "Set-Cookie",
            "X-Auth-Token",
            "X-AUTH-TOKEN",
            "X-Auth-User",
            "Auth",
            "Authentication",
            "X-Authenticated-User",
            "X-Api-Key",
            "Api-Key",
            "Apikey",
            "X_API_KEY",
            "X-Access-Token",
            "X-Amz-Security-Token",
            "X-Goog-Api-Key",
            "X-Vault-Token",
            "Private-Token",
            "X-CSRFToken",
            "X-Xsrf-Token",
            "Ocp-Apim-Subscription-Key",
            "X-Functions-Key",
            "X-Client-Secret",
            "X-Password",
            "X-Passwd",
            "X-Pwd",
            "X-Session-Id",
            "Sessionid",
            "X-Amz-Credential",
            "X-Jwt-Assertion",
            "X-Bearer",
            "X-OAuth-Token",
            "Sec-WebSocket-Key",
            "Idempotency-Key",
            "X-Authenticate-Token",
        ] {
            assert!(is_secret_header(name), "{name} holds a credential");
        }
        for name in [
            "",
            "Accept",
            "Accept-Encoding",
            "Accept-Language",
            "Content-Type",
            "Content-Length",
            "Content-Encoding",
            "Keep-Alive",
            "Cache-Control",
            "Connection",
            "User-Agent",
            "Host",
            "Transfer-Encoding",
            "If-None-Match",
            "Range",
            "Referer",
            "Origin",
            "X-Request-Id",
            "X-Forwarded-For",
            "X-Egress-Zone",
            "Traceparent",
            "WWW-Authenticate",
            "Proxy-Authenticate",
            "Via",
            "Upgrade-Insecure-Requests",
            "ä-ö",
        ] {
            assert!(!is_secret_header(name), "{name} is ordinary");
        }
    }
}
