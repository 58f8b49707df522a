//! [`IntoUrl`]: what [`Client::route`](super::Client::route) accepts — an `http::Uri` as a
//! request carries it, a `url::Url`, or text — in the manner of reqwest's `IntoUrl`. A parsed
//! value is routed as it is, never printed and parsed again.

use http::Uri;
use url::Url;

use crate::error::{Error, ErrorKind};
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
        let url = super::parse_url(self)?;
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
pub(crate) fn request_parts(uri: &Uri) -> Result<UriParts<'_>, Error> {
    let bad = |what: &str| {
        let shown = crate::proxy::redact_url(&uri.to_string());
        Error::new(ErrorKind::RequestUrl)
            .with_message(format!("request URL {shown:?} {what}"))
            .with_hint("use an absolute URL such as https://host/path")
            .map_evidence(|ev| ev.value = Some(shown))
    };
    match uri_parts(uri) {
        Ok(p) if p.is_http() => Ok(p),
        Ok(_) | Err(UriProblem::Scheme | UriProblem::NoHost) => {
            Err(bad("is not an http(s) URL with a host"))
        }
        Err(UriProblem::Host(e)) => Err(bad("has an invalid host").with_source(e)),
        Err(UriProblem::Port) => Err(bad("has an invalid port")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
}
