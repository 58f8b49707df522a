//! [`Secrets`]: the credentials a request carried (the proxy's user and password, the origin's
//! Basic credentials, tokens from sensitive headers, secret query values), so that whatever a
//! peer echoes back — a proxy error page that quotes the request, a reason phrase, a header —
//! is scrubbed of them before it becomes evidence.
//!
//! A peer does not echo structure we could parse, so this is the one place where redaction
//! matches values: each secret in the forms a peer is likely to print it — as sent,
//! percent-encoded (hex digits in either case), form-encoded, HTML- and JSON-escaped, and for
//! credentials the base64 `user:password` token of the `Basic` header.

use std::fmt;

use base64::Engine as _;
use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};

use super::{MASK, is_secret_header};

/// Everything but RFC 3986's unreserved characters: how userinfo and query values are encoded.
const ENCODE: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');

/// Secret values to scrub from text a peer sent. `Debug` shows only how many there are.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct Secrets {
    /// Matched byte for byte.
    exact: Vec<String>,
    /// Lowercase; matched ASCII case-insensitively (percent-encodings).
    folded: Vec<String>,
}

impl fmt::Debug for Secrets {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Secrets({})", self.exact.len() + self.folded.len())
    }
}

impl Secrets {
    /// No secrets.
    pub fn new() -> Self {
        Self::default()
    }

    /// Whether there is nothing to scrub.
    pub fn is_empty(&self) -> bool {
        self.exact.is_empty() && self.folded.is_empty()
    }

    /// Adds one secret value in every form a peer may echo it.
    pub fn add(&mut self, secret: &str) {
        if secret.is_empty() {
            return;
        }
        self.push_exact(secret.to_owned());
        let encoded = utf8_percent_encode(secret, ENCODE).to_string();
        self.push_folded(&encoded);
        self.push_folded(&encoded.replace("%20", "+"));
        let form: String = url::form_urlencoded::byte_serialize(secret.as_bytes()).collect();
        self.push_folded(&form);
        self.push_exact(html_escape(secret));
        if let Ok(json) = serde_json::to_string(secret) {
            self.push_exact(json[1..json.len() - 1].to_owned());
        }
    }

    /// Adds credentials sent as `Basic` (to a proxy or an origin): the password, `user:password`
    /// and the base64 token. A user name alone is not a secret.
    pub fn add_credentials(&mut self, user: &str, password: Option<&str>) {
        let password = password.unwrap_or("");
        let pair = format!("{user}:{password}");
        self.push_exact(base64::engine::general_purpose::STANDARD.encode(&pair));
        if !password.is_empty() {
            self.add(&pair);
            self.add(password);
        }
    }

    /// Adds a header value the request carried, when the header holds credentials:
    /// `Authorization` and `Proxy-Authorization` (the value and the credentials after the scheme),
    /// `Cookie` (each cookie's value), and any other header whose name says it holds one
    /// ([`is_secret_header`]: `X-Auth-Token`, `Api-Key`, …) or that is marked sensitive (the
    /// whole value).
    pub fn add_header(&mut self, name: &str, value: &str, sensitive: bool) {
        if is_authorization(name) {
            self.add(value.trim());
            if let Some((_, credentials)) = value.trim().split_once(' ') {
                self.add(credentials.trim());
            }
        } else if name.eq_ignore_ascii_case("cookie") {
            for pair in value.split(';') {
                if let Some((_, v)) = pair.split_once('=') {
                    self.add(v.trim());
                }
            }
        } else if sensitive || is_secret_header(name) {
            self.add(value.trim());
        }
    }

    /// Adds every secret of `other`.
    pub fn extend(&mut self, other: &Secrets) {
        for s in &other.exact {
            self.push_exact(s.clone());
        }
        for s in &other.folded {
            self.push_folded(s);
        }
    }

    fn push_exact(&mut self, s: String) {
        if !s.is_empty() && !self.exact.contains(&s) {
            self.exact.push(s);
        }
    }

    fn push_folded(&mut self, s: &str) {
        let s = s.to_ascii_lowercase();
        if !s.is_empty() && !self.folded.contains(&s) {
            self.folded.push(s);
        }
    }

    /// `text` with every occurrence of every secret form replaced by `***`.
    pub fn scrub(&self, text: &str) -> String {
        if self.is_empty() || text.is_empty() {
            return text.to_owned();
        }
        let mut hits: Vec<(usize, usize)> = Vec::new();
        for s in &self.exact {
            hits.extend(
                text.match_indices(s.as_str())
                    .map(|(i, m)| (i, i + m.len())),
            );
            hits.extend(cut_at_end(text, s));
        }
        if !self.folded.is_empty() {
            // ASCII lowercasing keeps every byte offset, so matches map back one to one.
            let lower = text.to_ascii_lowercase();
            for s in &self.folded {
                hits.extend(
                    lower
                        .match_indices(s.as_str())
                        .map(|(i, m)| (i, i + m.len())),
                );
                hits.extend(cut_at_end(&lower, s));
            }
        }
        if hits.is_empty() {
            return text.to_owned();
        }
        hits.sort_unstable();
        let mut out = String::with_capacity(text.len());
        let mut at = 0;
        for (start, end) in hits {
            if end <= at {
                continue;
            }
            // Matches start and end on character boundaries: secrets are whole UTF-8 strings.
            let start = start.max(at);
            out.push_str(&text[at..start]);
            if start == at && out.ends_with(MASK) {
                // Overlapping matches extend one mask.
            } else {
                out.push_str(MASK);
            }
            at = end;
        }
        out.push_str(&text[at..]);
        out
    }
}

/// The shortest prefix a cut secret still has to show to be masked.
const MIN_CUT: usize = 4;

/// Where `text` ends with the start of `secret` (at least [`MIN_CUT`] bytes of it): an excerpt
/// cut inside an echoed token must not keep the token's first half.
fn cut_at_end(text: &str, secret: &str) -> Option<(usize, usize)> {
    (MIN_CUT..secret.len())
        .rev()
        .find(|&k| secret.is_char_boundary(k) && text.ends_with(&secret[..k]))
        .map(|k| (text.len() - k, text.len()))
}

fn html_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// `Authorization`, `Proxy-Authorization` and any `…-Authorization`: a scheme, then the
/// credentials. Compared without a lowercased copy: this runs for every secret header.
fn is_authorization(name: &str) -> bool {
    name.len()
        .checked_sub("authorization".len())
        .and_then(|at| name.get(at..))
        .is_some_and(|end| end.eq_ignore_ascii_case("authorization"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_echoed_form_is_scrubbed() {
        let mut s = Secrets::new();
        s.add_credentials("alice", Some("p@ss/w rd<&>\"x"));
        let b64 = base64::engine::general_purpose::STANDARD.encode("alice:p@ss/w rd<&>\"x");
        let page = format!(
            "<pre>Proxy-Authorization: Basic {b64}\npass p@ss/w rd<&>\"x enc p%40SS%2fw%20rd%3c%26%3e%22x \
             form p%40ss%2Fw+rd%3C%26%3E%22x html p@ss/w rd&lt;&amp;&gt;&quot;x json p@ss/w rd<&>\\\"x</pre>"
        );
        let out = s.scrub(&page);
        for leaked in [
            b64.as_str(),
            "p@ss/w rd",
            "p%40SS",
            "p%40ss",
            "rd&lt;",
            "rd<&>",
        ] {
            assert!(!out.contains(leaked), "{leaked} in {out}");
        }
        assert!(out.starts_with("<pre>Proxy-Authorization: Basic ***"));
    }

    #[test]
    fn a_token_cut_by_the_excerpt_is_masked_too() {
        let mut s = Secrets::new();
        s.add_credentials("alice", Some("wonderland"));
        let b64 = base64::engine::general_purpose::STANDARD.encode("alice:wonderland");
        let cut = format!("Proxy-Authorization: Basic {}", &b64[..9]);
        assert_eq!(s.scrub(&cut), "Proxy-Authorization: Basic ***");
        assert_eq!(s.scrub("pass wond"), "pass ***");
        assert_eq!(s.scrub("pass won"), "pass won");
    }

    #[test]
    fn headers_and_nothing_else() {
        let mut s = Secrets::new();
        s.add_header("Authorization", "Bearer tok-123", false);
        s.add_header("Cookie", "sid=abc123; theme=dark", false);
        s.add_header("X-Api-Key", "k-999", true);
        s.add_header("Accept", "text/html", false);
        let out = s.scrub("Bearer tok-123 / tok-123 / sid=abc123 / dark / k-999 / text/html");
        assert_eq!(out, "*** / *** / sid=*** / *** / *** / text/html");
        assert!(!format!("{s:?}").contains("tok"));
        assert_eq!(Secrets::new().scrub("same"), "same");
    }

    /// A header whose name says it holds a credential is taken whole even when nobody marked
    /// its value sensitive (a peer echoes what was sent, marked or not).
    #[test]
    fn token_headers_are_taken_by_their_names() {
        let mut s = Secrets::new();
        s.add_header("X-Auth-Token", "tok-SECRET", false);
        s.add_header("x-goog-api-key", "g00g-k3y", false);
        s.add_header("X-Request-Id", "rid-42", false);
        assert_eq!(s.scrub("tok-SECRET g00g-k3y rid-42"), "*** *** rid-42");
    }

    /// Header names match whatever their case. Only a name ending in `authorization` is read
    /// as `scheme credentials` and only `Cookie` as cookies: another secret name (even one that
    /// merely holds `authorization`, or is not ASCII) is taken whole.
    #[test]
    fn header_names_match_in_any_case() {
        let mut s = Secrets::new();
        s.add_header("PROXY-AUTHORIZATION", "Basic cXc6cA==", false);
        s.add_header("cOOKIE", "a=c00kie", false);
        s.add_header("x-authorizationx", "Whole v4lue-1", false);
        s.add_header("ä-authorizatioñ", "Whole v4lue-2", false);
        s.add_header("X-Request-Id", "not-secret", false);
        assert_eq!(
            s.scrub("cXc6cA== c00kie Whole v4lue-1 v4lue-1 Whole v4lue-2 not-secret"),
            "*** *** *** v4lue-1 *** not-secret"
        );
    }
}
