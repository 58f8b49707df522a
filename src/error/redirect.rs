//! [`Redirect`]: one redirect a request followed — the URL that answered with a redirect, its
//! status, and the route that request took — as a response lists them
//! (`Response::redirects`) and as a redirect loop or limit error carries them
//! (`Evidence::redirects`).

use serde::Serialize;

use crate::route::Route;

/// One hop of a redirect chain: the URL requested, the redirect status it answered with, where
/// it pointed and the route the request took (its provider and proxy).
#[non_exhaustive]
#[derive(Debug, Clone, Serialize)]
pub struct Redirect {
    /// The URL that was requested, credentials and secret query values masked.
    pub url: String,
    /// The redirect status (301, 302, 303, 307 or 308).
    pub status: u16,
    /// Where the `Location` header pointed, resolved against `url` and masked like it.
    pub location: String,
    /// The route this request took: the provider chosen for `url`, direct or the proxy.
    pub route: Route,
}

impl Redirect {
    /// A hop; the URLs are masked here.
    pub(crate) fn new(url: &url::Url, status: u16, location: &url::Url, route: Route) -> Self {
        Self {
            url: crate::proxy::redact_url(url.as_str()),
            status,
            location: crate::proxy::redact_url(location.as_str()),
            route,
        }
    }
}
