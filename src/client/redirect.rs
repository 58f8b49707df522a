//! Redirects: the policy ([`RedirectPolicy`] — none by default, or up to a limit) and the pure
//! decision for one redirect response ([`next`]): where the next request goes, with which method
//! and body, and which headers it must not carry. The client sends each hop as a new request, so
//! the route and the provider are decided again from the new URL; this module does no I/O.
//!
//! The rules, as browsers, curl (`-L`) and reqwest apply them:
//! - 301, 302, 303, 307 and 308 are followed; any other status is the answer.
//! - 303 turns the request into `GET` (a `HEAD` stays `HEAD`); 301 and 302 turn a `POST` into
//!   `GET`; 307 and 308 keep the method and the body — unless the body was a stream, which
//!   cannot be sent twice: then the redirect response is the answer.
//! - Moving to another origin (scheme, host or port) drops `Authorization`, `Cookie`,
//!   `Cookie2`, `WWW-Authenticate` and a `Host` set by the caller.
//! - `Proxy-Authorization` is never carried into the next request: a proxy's credentials are
//!   the connector's to add, for the proxy alone.
//! - A `Location` that is not a URL, not `http(s)`, or longer than 16 KiB ends the chain: the
//!   response is the answer, as it is when redirects are off.
//! - A redirect the proxy wrote itself (its login page) is never followed: it is not the
//!   origin's answer, and comes back for `Response::error_for_proxy_reply`.

use http::header::{self, HeaderMap, HeaderName};
use http::{HeaderValue, Method, StatusCode};

/// Whether and how far a request follows redirects. The default follows none: a probe or a
/// health check must see a redirect as the answer, not where it leads.
///
/// ```no_run
/// # async fn run(client: proxyscope::Client) -> Result<(), proxyscope::Error> {
/// use proxyscope::client::RedirectPolicy;
/// // Per request (or for every request with `ClientBuilder::redirect`).
/// let res = client
///     .get("https://example.org/moved")
///     .redirect(RedirectPolicy::limited(5))
///     .send()
///     .await?;
/// for hop in res.redirects() {
///     println!("{} {} -> {} via {}", hop.status, hop.url, hop.location, hop.route.summary());
/// }
/// # Ok(()) }
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct RedirectPolicy {
    limit: usize,
}

impl RedirectPolicy {
    /// The limit reqwest and browsers use, for callers that want "follow like a browser".
    pub const DEFAULT_LIMIT: usize = 10;

    /// Follow no redirect: a 3xx is the response (the default).
    pub fn none() -> Self {
        Self { limit: 0 }
    }

    /// Follow up to `max` redirects; one more is `http.too_many_redirects`, and a redirect back
    /// to a request already made in the chain is `http.redirect_loop`.
    pub fn limited(max: usize) -> Self {
        Self { limit: max }
    }

    /// The most redirects followed (0: none).
    pub fn limit(&self) -> usize {
        self.limit
    }

    /// Whether redirects are followed at all.
    pub fn is_enabled(&self) -> bool {
        self.limit > 0
    }
}

/// The request a redirect response asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Next {
    /// The new URL, resolved against the one that answered.
    pub(crate) url: url::Url,
    /// The method of the next request.
    pub(crate) method: Method,
    /// Whether the next request carries the same body (307/308); otherwise it has none.
    pub(crate) keep_body: bool,
    /// Whether the next request goes to another origin (scheme, host or port).
    pub(crate) cross_origin: bool,
}

/// The longest `Location` followed, in bytes.
pub(crate) const MAX_LOCATION: usize = 16 * 1024;

/// The next request for a response of `status` with `location`, to a request of `method` for
/// `current`; `None` when the response is the answer. `replayable` says whether the body can be
/// sent again (a stream cannot).
pub(crate) fn next(
    status: StatusCode,
    location: Option<&HeaderValue>,
    current: &url::Url,
    method: &Method,
    replayable: bool,
) -> Option<Next> {
    let (method, keep_body) = match status.as_u16() {
        303 if *method == Method::HEAD => (Method::HEAD, false),
        303 => (Method::GET, false),
        301 | 302 if *method == Method::POST => (Method::GET, false),
        301 | 302 => (method.clone(), false),
        307 | 308 => (method.clone(), true),
        _ => return None,
    };
    let location = location?;
    // A Location longer than any real URL is hostile or broken: not followed (the 3xx is the
    // answer), and never copied into the chain every later error carries.
    if location.len() > MAX_LOCATION {
        return None;
    }
    // Location is bytes on the wire: servers send UTF-8 there, which `url` percent-encodes.
    let text = std::str::from_utf8(location.as_bytes()).ok()?;
    let url = current.join(text.trim()).ok()?;
    if !matches!(url.scheme(), "http" | "https") || url.host_str().is_none() {
        return None;
    }
    if keep_body && !replayable {
        return None;
    }
    let cross_origin = url.origin() != current.origin();
    Some(Next {
        url,
        method,
        keep_body,
        cross_origin,
    })
}

/// Headers that name credentials for one origin: dropped when the next request goes elsewhere,
/// with every header [`is_secret_header`](crate::proxy::redact::is_secret_header) names.
const ORIGIN_CREDENTIALS: [HeaderName; 4] = [
    header::AUTHORIZATION,
    header::COOKIE,
    HeaderName::from_static("cookie2"),
    header::WWW_AUTHENTICATE,
];

/// Headers that describe a body: dropped when the next request has none.
const BODY_HEADERS: [HeaderName; 4] = [
    header::CONTENT_TYPE,
    header::CONTENT_LENGTH,
    header::CONTENT_ENCODING,
    header::TRANSFER_ENCODING,
];

/// The headers of the request that follows `next`, from those of the request before it.
pub(crate) fn carry_headers(headers: &mut HeaderMap, next: &Next) {
    headers.remove(header::PROXY_AUTHORIZATION);
    if next.cross_origin {
        for name in ORIGIN_CREDENTIALS {
            headers.remove(name);
        }
        // An API key or token in a header of the service's own naming (`X-Auth-Token`,
        // `X-Api-Key`) is as much the first origin's as its `Authorization`: a redirect must not
        // hand it to another host. Same rule as everywhere else; collected first because a map
        // cannot drop entries while it is read (only on a cross-origin redirect).
        let secret: Vec<HeaderName> = headers
            .keys()
            .filter(|n| crate::proxy::redact::is_secret_header(n.as_str()))
            .cloned()
            .collect();
        for name in secret {
            headers.remove(name);
        }
        headers.remove(header::HOST);
    }
    if !next.keep_body {
        for name in BODY_HEADERS {
            headers.remove(name);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn url(s: &str) -> url::Url {
        url::Url::parse(s).unwrap_or_else(|e| panic!("{s}: {e}"))
    }

    fn decide(status: u16, loc: &str, method: Method, replayable: bool) -> Option<Next> {
        next(
            StatusCode::from_u16(status).unwrap_or_else(|e| panic!("{e}")),
            Some(&HeaderValue::from_str(loc).unwrap_or_else(|e| panic!("{e}"))),
            &url("https://a.test/app/page?x=1"),
            &method,
            replayable,
        )
    }

    #[test]
    fn statuses_methods_and_bodies_follow_the_browsers_rules() {
        // (status, method in, method out, body kept)
        let table = [
            (301, Method::GET, Method::GET, false),
            (301, Method::POST, Method::GET, false),
            (301, Method::PUT, Method::PUT, false),
            (302, Method::POST, Method::GET, false),
            (302, Method::DELETE, Method::DELETE, false),
            (303, Method::POST, Method::GET, false),
            (303, Method::PUT, Method::GET, false),
            (303, Method::HEAD, Method::HEAD, false),
            (307, Method::POST, Method::POST, true),
            (308, Method::PUT, Method::PUT, true),
        ];
        for (status, before, after, kept) in table {
            let n = decide(status, "/next", before.clone(), true)
                .unwrap_or_else(|| panic!("{status} {before} is followed"));
            assert_eq!((n.method, n.keep_body), (after, kept), "{status} {before}");
            assert_eq!(n.url.as_str(), "https://a.test/next");
            assert!(!n.cross_origin);
        }
        for status in [200, 300, 304, 305, 404] {
            assert!(
                decide(status, "/next", Method::GET, true).is_none(),
                "{status}"
            );
        }
    }

    #[test]
    fn a_stream_cannot_be_sent_twice() {
        assert!(decide(307, "/next", Method::POST, false).is_none());
        assert!(decide(308, "/next", Method::PUT, false).is_none());
        // A 303 sends no body, so a stream does not matter.
        assert!(decide(303, "/next", Method::POST, false).is_some());
    }

    #[test]
    fn locations_resolve_against_the_current_url() {
        let cases = [
            ("next", "https://a.test/app/next"),
            ("../up", "https://a.test/up"),
            ("?y=2", "https://a.test/app/page?y=2"),
            ("//b.test/x", "https://b.test/x"),
            ("http://b.test:8080/x", "http://b.test:8080/x"),
            ("  /spaced  ", "https://a.test/spaced"),
        ];
        for (loc, want) in cases {
            let n = decide(302, loc, Method::GET, true).unwrap_or_else(|| panic!("{loc}"));
            assert_eq!(n.url.as_str(), want, "{loc}");
        }
        // UTF-8 on the wire is percent-encoded, as browsers do.
        let raw =
            HeaderValue::from_bytes("/caf\u{e9}".as_bytes()).unwrap_or_else(|e| panic!("{e}"));
        let n = next(
            StatusCode::FOUND,
            Some(&raw),
            &url("https://a.test/"),
            &Method::GET,
            true,
        );
        assert_eq!(
            n.map(|n| n.url.to_string()).as_deref(),
            Some("https://a.test/caf%C3%A9")
        );
    }

    #[test]
    fn unusable_locations_end_the_chain() {
        for loc in [
            "ftp://b.test/x",
            "mailto:a@b.test",
            "http://",
            "http://[::1",
        ] {
            assert!(decide(302, loc, Method::GET, true).is_none(), "{loc}");
        }
        let huge = format!("/{}", "a".repeat(MAX_LOCATION));
        assert!(decide(302, &huge, Method::GET, true).is_none());
        let fits = format!("/{}", "a".repeat(MAX_LOCATION - 1));
        assert!(decide(302, &fits, Method::GET, true).is_some());
        let none = next(
            StatusCode::FOUND,
            None,
            &url("https://a.test/"),
            &Method::GET,
            true,
        );
        assert!(none.is_none());
    }

    #[test]
    fn another_origin_is_scheme_host_or_port() {
        for (loc, cross) in [
            ("https://a.test/x", false),
            ("https://A.TEST:443/x", false),
            ("http://a.test/x", true),
            ("https://a.test:8443/x", true),
            ("https://b.a.test/x", true),
        ] {
            let n = decide(302, loc, Method::GET, true).unwrap_or_else(|| panic!("{loc}"));
            assert_eq!(n.cross_origin, cross, "{loc}");
        }
    }

    #[test]
    fn credentials_stay_with_their_origin_and_proxy_credentials_never_travel() {
        let mut base = HeaderMap::new();
        for (n, v) in [
            ("authorization", "Bearer t0ken"),
            ("cookie", "sid=1"),
            ("cookie2", "x"),
            ("proxy-authorization", "Basic cHg="),
            ("host", "a.test"),
            ("content-type", "application/json"),
            ("content-length", "2"),
            ("x-auth-token", "t0k"),
            ("x-goog-api-key", "k3y"),
            ("x-kept", "yes"),
        ] {
            base.insert(HeaderName::from_static(n), HeaderValue::from_static(v));
        }
        fn names(h: &HeaderMap) -> Vec<&str> {
            let mut v: Vec<&str> = h.keys().map(HeaderName::as_str).collect();
            v.sort_unstable();
            v
        }

        let same = decide(307, "/x", Method::POST, true).unwrap_or_else(|| panic!("307"));
        let mut h = base.clone();
        carry_headers(&mut h, &same);
        assert_eq!(
            names(&h),
            [
                "authorization",
                "content-length",
                "content-type",
                "cookie",
                "cookie2",
                "host",
                "x-auth-token",
                "x-goog-api-key",
                "x-kept"
            ]
        );

        let other =
            decide(302, "https://b.test/x", Method::POST, true).unwrap_or_else(|| panic!("302"));
        let mut h = base.clone();
        carry_headers(&mut h, &other);
        assert_eq!(names(&h), ["x-kept"]);
    }

    #[test]
    fn the_default_follows_nothing() {
        assert!(!RedirectPolicy::default().is_enabled());
        assert_eq!(RedirectPolicy::none(), RedirectPolicy::default());
        assert_eq!(RedirectPolicy::limited(3).limit(), 3);
        assert!(!RedirectPolicy::limited(0).is_enabled());
    }
}
