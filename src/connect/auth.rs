//! Proxy credentials: the `Proxy-Authorization: Basic …` header built from a proxy URL's user
//! name and password, always marked sensitive so it never reaches `Debug` or logs.

use base64::Engine as _;
use http::{HeaderMap, HeaderValue};

use crate::proxy::{ProxyUrl, Secrets};

/// `Basic base64(user:password)` for a proxy URL with credentials, marked sensitive;
/// `None` when the URL has no user name. [`ProxyUrl::username`] and [`ProxyUrl::password`] are
/// already percent-decoded, so `p%40ss` in the URL is sent as `p@ss`.
pub fn basic_auth(proxy: &ProxyUrl) -> Option<HeaderValue> {
    let user = proxy.username()?;
    let pass = proxy.password().unwrap_or("");
    let token = base64::engine::general_purpose::STANDARD.encode(format!("{user}:{pass}"));
    let mut value = HeaderValue::from_str(&format!("Basic {token}")).ok()?;
    value.set_sensitive(true);
    Some(value)
}

/// What a proxy may echo back from our handshake: the proxy URL's credentials and the values
/// of the extra proxy headers.
pub(crate) fn proxy_secrets(proxy: &ProxyUrl, headers: &HeaderMap) -> Secrets {
    let mut s = proxy.secrets();
    add_proxy_headers(&mut s, headers);
    s
}

/// Adds the value of every extra proxy header: headers configured for the proxy usually
/// authenticate to it (`X-Proxy-Token`), and proxies echo them in clear (Squid's `%R` masks
/// only `Authorization` and `Proxy-Authorization`).
pub(crate) fn add_proxy_headers(s: &mut Secrets, headers: &HeaderMap) {
    for (name, value) in headers {
        s.add_header(
            name.as_str(),
            &String::from_utf8_lossy(value.as_bytes()),
            true,
        );
    }
}

/// Adds the credentials among `headers` (see [`Secrets::add_header`]).
pub(crate) fn add_headers(s: &mut Secrets, headers: &HeaderMap) {
    for (name, value) in headers {
        s.add_header(
            name.as_str(),
            &String::from_utf8_lossy(value.as_bytes()),
            value.is_sensitive(),
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn basic_credentials_are_encoded_and_sensitive() {
        let p = ProxyUrl::parse("http://alice:s3cret@proxy.test:3128").unwrap();
        let v = basic_auth(&p).unwrap();
        assert!(v.is_sensitive());
        assert_eq!(v.to_str().unwrap(), "Basic YWxpY2U6czNjcmV0");
        assert!(!format!("{v:?}").contains("YWxp"));
        assert!(basic_auth(&ProxyUrl::parse("http://proxy.test:3128").unwrap()).is_none());
    }
}
