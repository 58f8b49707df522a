//! Redaction, in one place. Every value that can carry a secret is printed through one of
//! these, never as written:
//!
//! - [`redact_url`] (and [`redact_parsed_url`]) for a value meant to be one URL — proxy URLs (configuration, environment,
//!   builder), provider and check URLs, request URLs: the userinfo and the values of secret
//!   query parameters become `***`;
//! - [`redact_list`] for a `no_proxy` value, whose URL-shaped entries may hold credentials;
//! - [`redact_text`] for free text that may quote a URL (causes from other libraries), as a
//!   second line of defence;
//! - [`Secrets`] for what a peer sends back: the credentials a request carried, scrubbed from
//!   proxy error pages, reason phrases and headers kept as evidence.
//!
//! Redaction reads structure (scheme, userinfo, query) rather than matching patterns, and it is
//! total: a password may hold any character — `/`, `@`, `:`, `?`, `#`, `%`, blanks, commas,
//! quotes — and is hidden whatever it holds. Which query parameters are secret:
//! [`SECRET_QUERY_PARAMS`], names ending in a word of [`SECRET_QUERY_SUFFIXES`], and names added
//! with [`add_secret_query_param`]. Which headers are secret: [`is_secret_header`].

mod headers;
pub(crate) mod masks;
mod params;
mod secrets;

pub(crate) use headers::is_secret_header_name;
pub use headers::{SECRET_HEADER_WORDS, is_secret_header};
pub use params::{
    SECRET_QUERY_PARAMS, SECRET_QUERY_SUFFIXES, add_secret_query_param, is_secret_param,
    secret_query_params,
};
pub use secrets::Secrets;

/// What replaces a secret.
pub const MASK: &str = "***";

/// A value meant to be one URL (`[scheme://][userinfo@]host[:port][/path][?query][#fragment]`,
/// scheme optional) with its userinfo and secret query values replaced by `***`. The userinfo
/// runs to the value's last `@`, so a password holding `/`, `?`, `#` or `@` is hidden whole.
///
/// ```
/// use proxyscope::proxy::redact::redact_url;
/// assert_eq!(redact_url("http://bob:pa/ss@proxy:3128"), "http://***@proxy:3128");
/// assert_eq!(redact_url("https://api.test/v1?key=K&q=x"), "https://api.test/v1?key=***&q=x");
/// ```
pub fn redact_url(value: &str) -> String {
    masks::url(value).apply(value)
}

/// A path with an optional query (`/v1/langs?key=K`) with secret query values replaced by
/// `***`. Only for values known to be paths: a value that may be a URL without scheme
/// (`user:password@host`) goes through [`redact_url`].
pub fn redact_path(value: &str) -> String {
    masks::path(value).apply(value)
}

/// A list — a `no_proxy` value, a PAC answer — (entries separated by commas, semicolons and
/// blanks) with the credentials of any URL-shaped entry replaced by `***`, even when the
/// password holds those separators.
pub fn redact_list(value: &str) -> String {
    masks::list(value).apply(value)
}

/// Free text with the userinfo of every URL in it (and `user:password@` words) and secret
/// query values replaced by `***`; an e-mail address is left alone. Prefer [`redact_url`] for a
/// known URL: only it is total.
pub fn redact_text(text: &str) -> String {
    if !text.contains(['@', '?', '&', '#', ';']) {
        return text.to_owned();
    }
    masks::text(text).apply(text)
}

/// Whether reading `text` as `url` dropped an `@` that followed its host: a `..` segment
/// removed the path segment that held it. The text before such an `@` is most likely a password
/// the parser read as path (a user name or password with `/` in it ends the host early), and
/// once the `@` is gone nothing marks it as one: [`redact_parsed_url`] would print it. The
/// client refuses such a request URL and the configuration such a provider or check URL.
///
/// ```
/// use proxyscope::proxy::redact::parse_drops_at;
/// let text = "https://svc/acct:s3cret@api.test/..";
/// let url = url::Url::parse(text).unwrap();
/// assert_eq!(url.as_str(), "https://svc/"); // `acct:s3cret@api.test` was the path
/// assert!(parse_drops_at(&url, text));
/// let text = "https://api.test/users/@me";
/// assert!(!parse_drops_at(&url::Url::parse(text).unwrap(), text));
/// ```
pub fn parse_drops_at(url: &url::Url, text: &str) -> bool {
    let Some(start) = text.find("://").map(|i| i + 3) else {
        return false;
    };
    let rest = &text[start..];
    let after_authority = rest.find(['/', '\\', '?', '#']).map_or("", |i| &rest[i..]);
    after_authority.contains('@') && !url[url::Position::BeforePath..].contains('@')
}

/// The fix every refusal of a URL that [`parse_drops_at`] names suggests.
pub(crate) const DROPPED_AT_FIX: &str = "a user name or password with `/` in it ends the host early, and the rest becomes the path: percent-encode the `/` as %2F (or drop the `..` segments)";

/// A parsed URL, printable: without its userinfo and with secret query values masked. When an
/// `@` follows the host (the parser may have read part of a password as host, port or path),
/// everything up to the last `@` is masked instead, as [`redact_url`] does.
///
/// What a parsed URL cannot show: text whose `@` the parse itself dropped. A user name or
/// password with `/` in it ends the host early, the rest is read as the path, and a `..` segment
/// after it can remove the segment that held the `@`; nothing is left then that marks the text
/// before it as a password. Print such text with [`redact_url`] before parsing it; the client
/// refuses it as a request URL (`request.url`), and a configuration as a provider's or check's
/// `url` (`url.at_dropped`).
pub fn redact_parsed_url(url: &url::Url) -> String {
    if url[url::Position::BeforePath..].contains('@') {
        return redact_url(url.as_str());
    }
    if url.username().is_empty() && url.password().is_none() {
        return redact_url(url.as_str());
    }
    let mut clean = url.clone();
    let _ = clean.set_username("");
    let _ = clean.set_password(None);
    redact_url(clean.as_str())
}
