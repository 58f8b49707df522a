//! Provider and check URLs that carry secrets or read ambiguously: credentials in the URL
//! (`url.credentials`: sent to the origin as `Basic` authorization, never printed, but a
//! configuration file is a poor place for them) and an `@` after the host (`url.at_after_host`:
//! usually a password with an unencoded `/`, `?` or `#`, which would send the request to the
//! wrong host with the rest of the password in its path); an error when the URL's `..` segments
//! remove that `@` (`url.at_dropped`), since nothing would then mark the password as one.

use crate::diagnostic::{Diagnostic, Severity};

/// The findings for one URL value `raw` (read as `parsed` when it parses) at `path` /
/// `location`.
pub(crate) fn check(
    raw: &str,
    parsed: Option<&url::Url>,
    path: &str,
    location: Option<String>,
) -> Vec<Diagnostic> {
    let mut out = Vec::new();
    let value = raw.trim();
    let Some((_, rest)) = value.split_once("://") else {
        return out;
    };
    let end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let (authority, tail) = rest.split_at(end);
    if parsed.is_some_and(|u| crate::proxy::redact::parse_drops_at(u, value)) {
        out.push(
            Diagnostic::new(
                Severity::Error,
                "url.at_dropped",
                path,
                location.clone(),
                "an `@` follows the URL's host and its `..` segments remove it: the text before \
                 it (usually a password with `/` in it, read as the path) would be sent as the \
                 path and, with nothing left to mark it, printed",
            )
            .with_suggestion(crate::proxy::redact::DROPPED_AT_FIX),
        );
    } else if tail.contains('@') {
        out.push(
            Diagnostic::new(
                Severity::Warning,
                "url.at_after_host",
                path,
                location.clone(),
                "an `@` follows the URL's host: if it ends a user name and password that hold \
                 `/`, `?` or `#`, the request goes to the wrong host with the rest of the \
                 password in its path; output masks everything up to the last `@`",
            )
            .with_suggestion(
                "percent-encode the credentials (%2F for /, %3F for ?, %23 for #, %40 for @), or \
                 write an `@` in the path or query as %40",
            ),
        );
    } else if authority.contains('@') {
        out.push(
            Diagnostic::new(
                Severity::Warning,
                "url.credentials",
                path,
                location,
                "the URL carries credentials: they are sent to the origin as Basic \
                 authorization (as curl and reqwest do) and never printed, but anyone who can \
                 read this file can read them",
            )
            .with_suggestion(
                "remove `user:password@` from the URL and send the credentials from the code \
                 that makes the request (an Authorization header), or restrict who can read \
                 this file",
            ),
        );
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parsed(raw: &str) -> Option<url::Url> {
        url::Url::parse(raw).ok()
    }

    #[test]
    fn credentials_and_ambiguous_at_signs() {
        let codes = |raw: &str| -> Vec<String> {
            check(raw, parsed(raw).as_ref(), "providers.a.url", None)
                .into_iter()
                .map(|d| d.code)
                .collect()
        };
        assert!(codes("https://api.test/v1?key=x").is_empty());
        assert!(codes("/health").is_empty());
        assert_eq!(codes("https://u:k3y@api.test/"), ["url.credentials"]);
        assert_eq!(codes("https://u@api.test/"), ["url.credentials"]);
        assert_eq!(codes("https://u:k/3y@api.test/"), ["url.at_after_host"]);
        assert_eq!(codes("https://api.test/users/@me"), ["url.at_after_host"]);
        // The `@` that marks a password read as path, removed by `..`: an error.
        assert_eq!(codes("https://u/x:k3y@api.test/.."), ["url.at_dropped"]);
        assert_eq!(codes("https://api.test/users/@me/.."), ["url.at_dropped"]);
        let raw = "https://u/x:k3y@api.test/..";
        for d in check(raw, parsed(raw).as_ref(), "p", None) {
            assert_eq!(d.severity, Severity::Error);
            let text = format!("{d}");
            assert!(!text.contains("k3y"), "{text}");
        }
        let raw = "https://u:k/3y@api.test/";
        for d in check(raw, parsed(raw).as_ref(), "p", None) {
            let text = format!("{d}");
            assert!(!text.contains("k/3y"), "{text}");
        }
    }
}
