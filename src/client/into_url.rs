//! A request's URL: [`IntoUrl`], what [`Client::route`](super::Client::route) and the request
//! builders accept — an `http::Uri` as a request carries it, a `url::Url`, or text — in the
//! manner of reqwest's `IntoUrl`; [`RequestUrl`], the URL a request is sent with, in both forms
//! (a plain `Uri` is sent as it is, never printed and parsed again); the checks (absolute
//! `http(s)` with a host); and what a URL carries that must not travel or leak — its userinfo
//! (sent as `Authorization: Basic`, never in the request target) and its secret parameters.

use std::sync::{LazyLock, OnceLock};

use base64::Engine as _;
use http::Uri;
use http::header::AUTHORIZATION;
use url::Url;

use crate::error::{Error, ErrorKind};
use crate::proxy::redact::is_secret_param;
use crate::proxy::{Secrets, redact_url};
use crate::route::{UriParts, UriProblem, uri_parts};

/// A URL the client can route: `&http::Uri`, `http::Uri`, `&url::Url`, `url::Url`, `&str`,
/// `&String` or `String`. Text is parsed by the URL standard (the `url` crate); a parsed value is
/// used as it is. Sealed: the client decides what it accepts.
pub trait IntoUrl: sealed::Sealed {}

pub(crate) use sealed::UrlRef;

pub(crate) mod sealed {
    use super::{Error, Uri, Url};

    /// A borrowed, parsed URL of either kind.
    pub enum UrlRef<'a> {
        /// As a request carries it.
        Uri(&'a Uri),
        /// As the URL standard parsed it.
        Url(&'a Url),
    }

    /// Lends the parsed URL to `f`, parsing text first.
    pub trait Sealed {
        /// Calls `f` with the URL; text that does not parse is the error.
        fn with_url<R>(self, f: impl FnOnce(UrlRef<'_>) -> Result<R, Error>) -> Result<R, Error>;

        /// The URL as a request carries it: an `http::Uri` is used as it is, text is parsed
        /// as a request target, a `url::Url` is converted.
        fn into_uri(self) -> Result<http::Uri, Error>;
    }
}

impl sealed::Sealed for &Uri {
    fn with_url<R>(self, f: impl FnOnce(UrlRef<'_>) -> Result<R, Error>) -> Result<R, Error> {
        f(UrlRef::Uri(self))
    }

    fn into_uri(self) -> Result<http::Uri, Error> {
        Ok(self.clone())
    }
}
impl IntoUrl for &Uri {}

impl sealed::Sealed for Uri {
    fn with_url<R>(self, f: impl FnOnce(UrlRef<'_>) -> Result<R, Error>) -> Result<R, Error> {
        f(UrlRef::Uri(&self))
    }

    fn into_uri(self) -> Result<http::Uri, Error> {
        Ok(self)
    }
}
impl IntoUrl for Uri {}

impl sealed::Sealed for &Url {
    fn with_url<R>(self, f: impl FnOnce(UrlRef<'_>) -> Result<R, Error>) -> Result<R, Error> {
        f(UrlRef::Url(self))
    }

    fn into_uri(self) -> Result<http::Uri, Error> {
        uri_from_text(self.as_str())
    }
}
impl IntoUrl for &Url {}

impl sealed::Sealed for Url {
    fn with_url<R>(self, f: impl FnOnce(UrlRef<'_>) -> Result<R, Error>) -> Result<R, Error> {
        f(UrlRef::Url(&self))
    }

    fn into_uri(self) -> Result<http::Uri, Error> {
        uri_from_text(self.as_str())
    }
}
impl IntoUrl for Url {}

impl sealed::Sealed for &str {
    fn with_url<R>(self, f: impl FnOnce(UrlRef<'_>) -> Result<R, Error>) -> Result<R, Error> {
        let url = parse_url(self)?;
        f(UrlRef::Url(&url))
    }

    fn into_uri(self) -> Result<http::Uri, Error> {
        uri_from_text(self)
    }
}
impl IntoUrl for &str {}

impl sealed::Sealed for &String {
    fn with_url<R>(self, f: impl FnOnce(UrlRef<'_>) -> Result<R, Error>) -> Result<R, Error> {
        self.as_str().with_url(f)
    }

    fn into_uri(self) -> Result<http::Uri, Error> {
        uri_from_text(self)
    }
}
impl IntoUrl for &String {}

impl sealed::Sealed for String {
    fn with_url<R>(self, f: impl FnOnce(UrlRef<'_>) -> Result<R, Error>) -> Result<R, Error> {
        self.as_str().with_url(f)
    }

    fn into_uri(self) -> Result<http::Uri, Error> {
        uri_from_text(&self)
    }
}
impl IntoUrl for String {}

/// A request's URL in both of its forms: the `http::Uri` it is sent with and the URL standard's
/// `url::Url` (what a provider's base URL, a redirect, [`Response::url`](super::Response::url)
/// and an error read). A request given as a *plain* `Uri` — one the URL standard writes exactly
/// as it is — is sent as it came and its `url::Url` is made only when something asks for it, so
/// the request path never prints a URI to parse it again. Any other input is parsed by the URL
/// standard first and sent in that form.
#[derive(Debug, Clone)]
pub(crate) struct RequestUrl {
    uri: Uri,
    /// Set from the start, except for a plain `Uri`: made from it on first use.
    url: OnceLock<Url>,
    /// A plain `Uri`'s routing view, read when it was checked, so sending it does not read the
    /// authority again (see [`RequestUrl::parts_of`]).
    plain: Option<PlainParts>,
}

/// Where a plain `Uri`'s routing view lies in its authority: the host is the authority's first
/// `host` bytes, the name (when the host is one) the host's first `name.0` bytes.
#[derive(Debug, Clone, Copy)]
struct PlainParts {
    host: usize,
    port: u16,
    name: Option<(usize, usize)>,
}

impl RequestUrl {
    /// A URL the URL standard parsed (and checked: absolute `http(s)` with a host).
    pub(crate) fn from_url(url: Url) -> Result<Self, Error> {
        let uri = url.as_str().parse().map_err(|e| {
            Error::new(ErrorKind::RequestUrl)
                .with_message(format!(
                    "the request URL {:?} is not a valid request target",
                    crate::proxy::redact_url(url.as_str())
                ))
                .with_hint("use an absolute URL such as https://host/path")
                .with_url(&url)
                .with_source(e)
        })?;
        Ok(Self {
            uri,
            url: OnceLock::from(url),
            plain: None,
        })
    }

    /// A request URI: kept as it is when plain, else read by the URL standard like text.
    pub(crate) fn from_uri(uri: Uri) -> Result<Self, Error> {
        let parts = request_parts(&uri)?;
        if is_plain(&uri, &parts) {
            let plain = PlainParts {
                host: parts.host.len(),
                port: parts.port,
                name: parts.name.map(|(name, labels)| (name.len(), labels)),
            };
            return Ok(Self {
                uri,
                url: OnceLock::new(),
                plain: Some(plain),
            });
        }
        Self::from_url(parse_url(&uri.to_string())?)
    }

    /// The request target as sent.
    pub(crate) fn uri(&self) -> &Uri {
        &self.uri
    }

    /// The routing view of `uri` (what [`request_parts`] reads) without reading it again, when
    /// this is a plain `Uri` with the same scheme and authority text as `uri`; `None` otherwise.
    pub(crate) fn parts_of<'u>(&self, uri: &'u Uri) -> Option<UriParts<'u>> {
        let plain = self.plain?;
        let scheme = uri.scheme_str()?;
        let auth = uri.authority()?.as_str();
        if Some(scheme) != self.uri.scheme_str()
            || Some(auth) != self.uri.authority().map(|a| a.as_str())
        {
            return None;
        }
        let host = auth.get(..plain.host)?;
        let name = match plain.name {
            Some((len, labels)) => Some((host.get(..len)?, labels)),
            None => None,
        };
        Some(UriParts {
            scheme: scheme.into(),
            host: host.into(),
            port: plain.port,
            name,
        })
    }

    /// The URL standard's form (made from a plain `Uri` on first use).
    pub(crate) fn url(&self) -> &Url {
        self.url.get_or_init(|| plain_url(&self.uri))
    }

    /// The URL standard's form, if it was made already: what is known without parsing.
    pub(crate) fn parsed(&self) -> Option<&Url> {
        self.url.get()
    }

    /// The URL as text (the URL standard's form, which a plain `Uri` already is).
    pub(crate) fn text(&self) -> std::borrow::Cow<'_, str> {
        match self.url.get() {
            Some(url) => url.as_str().into(),
            None => self.uri.to_string().into(),
        }
    }

    /// What a response to this URL answers: the request target as sent (`sent`, its userinfo
    /// taken out by then) and the URL without user name and password.
    pub(crate) fn answered(&self, sent: &Uri) -> Self {
        Self {
            uri: sent.clone(),
            url: match self.url.get() {
                Some(url) => OnceLock::from(without_userinfo(url)),
                None => OnceLock::new(),
            },
            plain: None,
        }
    }
}

/// Whether the URL standard writes `uri` exactly as it is, so that sending it unparsed is
/// sending what parsing would have sent: lowercase `http` or `https`, no userinfo, the host in
/// its canonical form, a port only when not the scheme's default (and without leading zeros),
/// and a path and query made only of characters the standard leaves alone, with no dot
/// segments. Anything else takes the URL standard's reading (percent-encoding, dot segments,
/// IDNA, case), as text does.
fn is_plain(uri: &Uri, parts: &UriParts<'_>) -> bool {
    let Some(auth) = uri.authority() else {
        return false;
    };
    let auth = auth.as_str();
    let default = match uri.scheme_str() {
        Some("https") => 443,
        Some("http") => 80,
        _ => return false,
    };
    let Some(rest) = auth.strip_prefix(&*parts.host) else {
        return false;
    };
    let port_ok = match rest.strip_prefix(':') {
        None => rest.is_empty(),
        Some(digits) => {
            !digits.starts_with('0')
                && !digits.is_empty()
                && digits.bytes().all(|b| b.is_ascii_digit())
                && parts.port != default
        }
    };
    let query_ok = uri.query().is_none_or(|q| {
        q.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-._~!$&()*+,;=:@%/?".contains(&b))
    });
    port_ok && query_ok && is_plain_path(uri.path())
}

/// The URL standard's form of a plain `Uri` (see [`is_plain`]): its own text, which always
/// parses — an absolute `http(s)` URL whose host routing already validated by the standard's
/// rules, with a path and query of characters the standard accepts as they are. Were that ever
/// not so, the URL of the scheme and host alone stands in, then a placeholder: never a panic.
fn plain_url(uri: &Uri) -> Url {
    Url::parse(&uri.to_string())
        .or_else(|_| {
            Url::parse(&format!(
                "{}://{}/",
                uri.scheme_str().unwrap_or("http"),
                uri.host().unwrap_or("invalid.")
            ))
        })
        .unwrap_or_else(|_| PLACEHOLDER.clone())
}

/// `http://invalid./`, the reserved name that never resolves (RFC 6761).
static PLACEHOLDER: LazyLock<Url> = LazyLock::new(|| {
    Url::parse("http://invalid./").unwrap_or_else(|e| unreachable!("a literal URL: {e}"))
});

/// Text as a request target, as `http::Request::get` reads it.
fn uri_from_text(s: &str) -> Result<Uri, Error> {
    Uri::try_from(s).map_err(|e| {
        let shown = crate::proxy::redact_url(s);
        Error::new(ErrorKind::RequestUrl)
            .with_message(format!("invalid request URL {shown:?}"))
            .with_hint("use an absolute URL such as https://host/path")
            .map_evidence(|ev| ev.value = Some(shown))
            .with_source(e)
    })
}

/// The routing view of a request's URI: an absolute `http(s)` URI with a host the URL standard
/// accepts, else the error `url` parsing would have given for the same text.
#[inline]
pub(crate) fn request_parts(uri: &Uri) -> Result<UriParts<'_>, Error> {
    match uri_parts(uri) {
        Ok(p) if p.is_http() => Ok(p),
        other => Err(request_url_error(uri, other.err())),
    }
}

/// Why `uri` is not routable as a request URL (`problem` is `None` for a scheme other than
/// `http(s)`). Out of line: the request path only calls it to fail.
#[cold]
#[inline(never)]
fn request_url_error(uri: &Uri, problem: Option<UriProblem>) -> Error {
    let bad = |what: &str| {
        let shown = crate::proxy::redact_url(&uri.to_string());
        Error::new(ErrorKind::RequestUrl)
            .with_message(format!("request URL {shown:?} {what}"))
            .with_hint("use an absolute URL such as https://host/path")
            .map_evidence(|ev| ev.value = Some(shown))
    };
    match problem {
        None | Some(UriProblem::Scheme | UriProblem::NoHost) => {
            bad("is not an http(s) URL with a host")
        }
        Some(UriProblem::Host(e)) => bad("has an invalid host").with_source(e),
        Some(UriProblem::Port) => bad("has an invalid port"),
    }
}

/// Any [`IntoUrl`] as a request's URL: a plain `http::Uri` as it is, anything else read by the
/// URL standard; checked like text (absolute `http(s)` with a host).
pub(super) fn to_request_url(url: impl IntoUrl) -> Result<RequestUrl, Error> {
    url.with_url(|u| match u {
        UrlRef::Url(u) => RequestUrl::from_url(parse_url(u.as_str())?),
        UrlRef::Uri(uri) => RequestUrl::from_uri(uri.clone()),
    })
}

/// Any [`IntoUrl`] as a `url::Url`, checked like text: absolute `http(s)` with a host.
pub(super) fn to_url(url: impl IntoUrl) -> Result<url::Url, Error> {
    url.with_url(|u| match u {
        UrlRef::Url(u) => parse_url(u.as_str()),
        UrlRef::Uri(uri) => parse_url(&uri.to_string()),
    })
}

pub(super) fn parse_url(s: &str) -> Result<url::Url, Error> {
    let url = url::Url::parse(s).map_err(|e| {
        // Redacted only to fail: every request comes through here.
        let shown = redact_url(s);
        Error::new(ErrorKind::RequestUrl)
            .with_message(format!("invalid request URL {shown:?}"))
            .with_hint("use an absolute URL such as https://host/path")
            .map_evidence(|ev| ev.value = Some(shown.clone()))
            .with_source(e)
    })?;
    check_url(&url, s)?;
    Ok(url)
}

/// `url` (written `s` by the caller) is an absolute `http(s)` URL with a host, and reading it
/// lost no `@` after its host.
pub(super) fn check_url(url: &url::Url, s: &str) -> Result<(), Error> {
    if url.host_str().is_none() || !matches!(url.scheme(), "http" | "https") {
        let shown = crate::proxy::redact_text(s);
        return Err(Error::new(ErrorKind::RequestUrl)
            .with_message(format!(
                "request URL {shown:?} is not an http(s) URL with a host"
            ))
            .with_hint("use an absolute URL such as https://host/path")
            .map_evidence(|ev| ev.value = Some(shown.clone())));
    }
    if crate::proxy::redact::parse_drops_at(url, s) {
        // Printed as text, where everything up to the last `@` is masked.
        let shown = crate::proxy::redact_url(s);
        return Err(Error::new(ErrorKind::RequestUrl)
            .with_message(format!(
                "request URL {shown:?} has an `@` after its host that its dot segments (`..`) remove"
            ))
            .with_hint(crate::proxy::redact::DROPPED_AT_FIX)
            .map_evidence(|ev| ev.value = Some(shown.clone())));
    }
    Ok(())
}

/// A path the URL standard leaves as written: no dot segments (`.`, `..`, or their escapes),
/// and only characters it does not escape.
pub(super) fn is_plain_path(path: &str) -> bool {
    // One pass: a byte the standard escapes, a dot right after a slash (a possible dot
    // segment), or `%2e`/`%2E` (an escaped dot) makes the path not plain.
    let b = path.as_bytes();
    for (i, &c) in b.iter().enumerate() {
        let plain = c.is_ascii_alphanumeric()
            || matches!(
                c,
                b'/' | b'-'
                    | b'.'
                    | b'_'
                    | b'~'
                    | b'!'
                    | b'$'
                    | b'&'
                    | b'\''
                    | b'('
                    | b')'
                    | b'*'
                    | b'+'
                    | b','
                    | b';'
                    | b'='
                    | b':'
                    | b'@'
                    | b'%'
            );
        let dot_segment = c == b'.' && i > 0 && b[i - 1] == b'/';
        let escaped_dot =
            c == b'%' && b.get(i + 1) == Some(&b'2') && matches!(b.get(i + 2), Some(b'e' | b'E'));
        if !plain || dot_segment || escaped_dot {
            return false;
        }
    }
    true
}

/// Whether the path `up` lies under the base path `base`: equal, or `base` a prefix ending at a
/// segment boundary.
pub(super) fn path_under(up: &str, base: &str) -> bool {
    let bp = base.trim_end_matches('/');
    bp.is_empty()
        || up == bp
        || up
            .strip_prefix(bp)
            .is_some_and(|rest| rest.starts_with('/'))
}

/// The secrets a request's URL carries: its userinfo and the values of secret query (and
/// fragment) parameters, as written and decoded. A plain `Uri` has neither userinfo nor
/// fragment: only its query is read, without parsing the URL.
pub(super) fn url_secrets(url: &RequestUrl) -> Secrets {
    let mut s = Secrets::new();
    let Some(url) = url.parsed() else {
        secret_params(&mut s, url.uri().query());
        return s;
    };
    if !url.username().is_empty() || url.password().is_some() {
        let decode = |v: &str| {
            percent_encoding::percent_decode_str(v)
                .decode_utf8_lossy()
                .into_owned()
        };
        s.add_credentials(
            &decode(url.username()),
            url.password().map(decode).as_deref(),
        );
        s.add(url.username());
        if let Some(p) = url.password() {
            s.add(p);
        }
    }
    secret_params(&mut s, url.query());
    secret_params(&mut s, url.fragment());
    s
}

/// Adds the values of the secret parameters of a query (or fragment) to `s`.
fn secret_params(s: &mut Secrets, query: Option<&str>) {
    for part in query.into_iter().flat_map(|q| q.split(['&', ';'])) {
        if let Some((name, value)) = part.split_once('=')
            && is_secret_param(name)
        {
            s.add(value);
            s.add(
                &percent_encoding::percent_decode_str(&value.replace('+', " ")).decode_utf8_lossy(),
            );
        }
    }
}

/// `url` without its user name and password (they were sent as `Authorization`).
pub(super) fn without_userinfo(url: &url::Url) -> url::Url {
    let mut bare = url.clone();
    // Fails only for URLs that cannot have userinfo: nothing to take out.
    let _ = bare.set_password(None);
    let _ = bare.set_username("");
    bare
}

/// `url` without its userinfo, as a request target.
pub(super) fn target_without_userinfo(url: &url::Url) -> Result<Uri, Error> {
    without_userinfo(url).as_str().parse().map_err(|e| {
        Error::new(ErrorKind::RequestUrl)
            .with_message(format!(
                "invalid request URL {:?}",
                redact_url(url.as_str())
            ))
            .with_hint("use an absolute URL such as https://host/path")
            .with_source(e)
    })
}

/// Takes the userinfo out of the request target (RFC 9112 forbids it there, and an
/// absolute-form request would hand it to the proxy) and sends it as the origin's `Basic`
/// credentials, unless the request carries its own `Authorization`.
pub(super) fn move_userinfo<B>(req: &mut http::Request<B>, url: &url::Url) -> Result<(), Error> {
    *req.uri_mut() = target_without_userinfo(url)?;
    if !req.headers().contains_key(AUTHORIZATION) {
        let mut pair = percent_encoding::percent_decode_str(url.username()).collect::<Vec<u8>>();
        pair.push(b':');
        pair.extend(percent_encoding::percent_decode_str(
            url.password().unwrap_or(""),
        ));
        let token = base64::engine::general_purpose::STANDARD.encode(&pair);
        if let Ok(mut value) = http::HeaderValue::from_str(&format!("Basic {token}")) {
            value.set_sensitive(true);
            req.headers_mut().insert(AUTHORIZATION, value);
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A path is plain exactly when the URL standard writes it as it is.
    #[test]
    fn plain_paths_are_the_ones_the_url_standard_keeps() {
        for path in [
            "/",
            "/bytes/64",
            "/a.b/c..d/e.",
            "/x%20y/%41",
            "/~u/!$&'()*+,;=:@",
            "/a/./b",
            "/a/../b",
            "/.",
            "/..",
            "/a/%2e/b",
            "/a/%2E%2e/b",
            "/a/.%2e/b",
            "/a%2",
            "/a%",
            "/a b",
            "/a{b}",
            "/a`b",
            "/a\\b",
            "/a|b",
            "/a^b",
            "/é",
        ] {
            let Ok(url) = url::Url::parse(&format!("https://h.test{path}")) else {
                continue;
            };
            if is_plain_path(path) {
                assert_eq!(
                    url.path(),
                    path,
                    "{path:?} is plain but the standard rewrites it"
                );
            }
        }
        assert!(is_plain_path("/bytes/64"));
        assert!(is_plain_path("/a.b/c..d/e."));
        for rewritten in [
            "/a/./b",
            "/a/../b",
            "/.",
            "/a/%2e/b",
            "/a/%2E%2e/b",
            "/a b",
            "/a{b}",
        ] {
            assert!(!is_plain_path(rewritten), "{rewritten:?}");
        }
    }

    fn kind(input: impl IntoUrl) -> Result<&'static str, Error> {
        input.with_url(|u| {
            Ok(match u {
                UrlRef::Uri(_) => "uri",
                UrlRef::Url(_) => "url",
            })
        })
    }

    #[test]
    fn every_form_lends_a_parsed_url() {
        let uri: Uri = "https://a.test/".parse().unwrap_or_else(|e| panic!("{e}"));
        let url = Url::parse("https://a.test/").unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(kind(&uri).ok(), Some("uri"));
        assert_eq!(kind(uri).ok(), Some("uri"));
        assert_eq!(kind(&url).ok(), Some("url"));
        assert_eq!(kind(url).ok(), Some("url"));
        assert_eq!(kind("https://a.test/").ok(), Some("url"));
        // `&String` too, as reqwest's `IntoUrl` takes it.
        let owned = "https://a.test/".to_owned();
        let borrowed: &String = &owned;
        assert_eq!(kind(borrowed).ok(), Some("url"));
        assert_eq!(kind("https://a.test/".to_owned()).ok(), Some("url"));
        let e = kind("not a url").err().map(|e| e.code());
        assert_eq!(e, Some("request.url"));
    }

    /// A user name or password with `/` in it ends the host early and the rest is read as the
    /// path; when its `..` segments then drop the `@` that followed, nothing in the URL would
    /// mark that text as a password any more: such a URL is refused, and its error shows none of
    /// it. An `@` the path keeps is a path's own.
    #[test]
    fn a_url_whose_dot_segments_remove_its_at_is_refused_without_its_password() {
        for input in [
            "http://u:/Zq7Kx/y@h.test/..",
            "http://R..../:Zq7Kx./..@h.test/x/../..",
            "https://h.test/a:Zq7Kx@scope/../p",
        ] {
            let e = kind(input)
                .err()
                .unwrap_or_else(|| panic!("{input} is refused"));
            assert_eq!(e.code(), "request.url", "{input}");
            assert_eq!(e.phase(), crate::Phase::Config, "{input}");
            let shown = e.evidence().value.clone().unwrap_or_default();
            assert!(shown.contains("***"), "{input}: {shown}");
            for text in [e.to_string(), e.report(), format!("{e:?}"), shown] {
                assert!(!text.contains("Zq7Kx"), "{input}: {text}");
            }
        }
        for fine in [
            "https://registry.test/@scope/pkg",
            "https://h.test/p?x=a@b",
            "https://h.test/a/../@b",
            "https://u:p@h.test/a/..",
        ] {
            assert!(kind(fine).is_ok(), "{fine}");
        }
    }

    #[test]
    fn request_uris_must_be_absolute_http_with_a_valid_host() {
        for bad in [
            "/relative",
            "ftp://a.test/",
            "http://[v1.x]/",
            "http://a.test:x/",
        ] {
            let uri: Uri = bad.parse().unwrap_or_else(|e| panic!("{bad}: {e}"));
            let e = request_parts(&uri).err();
            assert_eq!(e.map(|e| e.code()), Some("request.url"), "{bad}");
        }
        let uri: Uri = "http://u:s3cret@a.test:99999/"
            .parse()
            .unwrap_or_else(|e| panic!("{e}"));
        let e = request_parts(&uri)
            .err()
            .map(|e| e.report())
            .unwrap_or_default();
        assert!(!e.contains("s3cret"), "{e}");
    }

    /// Whatever `Uri` comes in, the request sends what the URL standard writes for it (as it
    /// always did), and its `url::Url` is that reading; only the plain ones skip the parse.
    #[test]
    fn a_request_uri_is_sent_as_the_url_standard_writes_it() {
        let cases = [
            // (input, plain)
            ("https://a.test/", true),
            ("https://a.test", true),
            ("http://127.0.0.1:8080/bytes/64", true),
            ("https://a.test/p/q.json?x=1&y=%20z&k=a:b@c/d?e", true),
            ("https://xn--bcher-kva.test/", true),
            ("http://[::1]:9/", true),
            ("https://a.test:8443/x", true),
            // `http` reads a known scheme in any case as its own lowercase constant.
            ("HTTPS://a.test/", true),
            ("https://A.test/", false),
            ("https://a.test:443/", false),
            ("http://a.test:80/", false),
            ("http://a.test:0080/", false),
            ("http://a.test:/", false),
            ("https://a.test/a/../b", false),
            ("https://a.test/a/./b", false),
            ("https://a.test/a/%2e%2E/b", false),
            ("https://a.test/%2E", false),
            ("https://a.test/x?q='a'", false),
            ("https://a.test/x{y}", false),
            ("https://a.test/x?q={y}|z^", false),
            ("https://u:p@a.test/", false),
            ("https://a.test./", true),
            ("http://127.1/", false),
            ("http://0x7f.0.0.1/", false),
            ("http://[0:0::1]/", false),
        ];
        for (input, plain) in cases {
            let uri: Uri = input.parse().unwrap_or_else(|e| panic!("{input}: {e}"));
            let r = RequestUrl::from_uri(uri).unwrap_or_else(|e| panic!("{input}: {e}"));
            assert_eq!(r.parsed().is_none(), plain, "{input}");
            let standard = Url::parse(input).unwrap_or_else(|e| panic!("{input}: {e}"));
            let sent = r.uri().to_string();
            // The standard writes an empty path as `/`; hyper sends `/` for it too.
            let sent = if r.uri().path_and_query().is_none() {
                format!("{sent}/")
            } else {
                sent
            };
            let standard_no_userinfo = {
                let mut u = standard.clone();
                let _ = u.set_password(None);
                let _ = u.set_username("");
                u
            };
            if !input.contains('@') {
                assert_eq!(sent, standard.as_str(), "{input}");
            }
            assert_eq!(r.url().as_str(), standard.as_str(), "{input}");
            assert_eq!(r.text(), standard.as_str(), "{input}");
            let answered = r.answered(&standard_no_userinfo.as_str().parse().unwrap());
            assert_eq!(answered.url(), &standard_no_userinfo, "{input}");
            // A plain URI's kept routing view is the one reading it again gives.
            let view = |p: UriParts<'_>| {
                (
                    p.scheme.into_owned(),
                    p.host.into_owned(),
                    p.port,
                    p.name.map(|(n, l)| (n.to_owned(), l)),
                )
            };
            let again = request_parts(r.uri()).ok().map(view);
            assert_eq!(r.parts_of(r.uri()).map(view).is_some(), plain, "{input}");
            if plain {
                assert_eq!(r.parts_of(r.uri()).map(view), again, "{input}");
                // Another scheme or authority is read again, never taken from this one.
                for other in ["http://b.test/", "https://a.test:1/", "http://a.test/"] {
                    let other: Uri = other.parse().unwrap_or_else(|e| panic!("{other}: {e}"));
                    if other.authority() != r.uri().authority()
                        || other.scheme() != r.uri().scheme()
                    {
                        assert!(r.parts_of(&other).is_none(), "{input} vs {other}");
                    }
                }
            }
        }
    }

    #[test]
    fn request_uris_that_are_not_urls_are_request_url_errors() {
        for bad in [
            "/relative",
            "ftp://a.test/",
            "http://[v1.x]/",
            "http://a.test:x/",
            "http://a.test:99999/",
            "http://a%00b.test/",
            "http://a b.test/",
        ] {
            let Ok(uri) = bad.parse::<Uri>() else {
                continue;
            };
            let e = RequestUrl::from_uri(uri).err().map(|e| e.code());
            assert_eq!(e, Some("request.url"), "{bad}");
        }
    }

    #[test]
    fn the_placeholder_is_a_url() {
        assert_eq!(PLACEHOLDER.host_str(), Some("invalid."));
    }
}
