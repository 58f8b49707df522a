//! Which provider a URL falls under when the caller names none: the provider whose base URL
//! contains it (same scheme, host and port, and the base's path as a prefix at a segment
//! boundary), the longest base winning. The client and `probe route` both decide with
//! [`provider_for_url`], so the explanation can never pick another provider than the request.

use url::Url;

/// The provider among `providers` (name, base URL) whose base contains `url`; `None` when no
/// base does (the global layer applies).
pub fn provider_for_url<'a>(
    providers: impl IntoIterator<Item = (&'a str, &'a Url)>,
    url: &Url,
) -> Option<&'a str> {
    providers
        .into_iter()
        .filter(|(_, base)| is_under(url, base))
        .max_by_key(|(_, base)| base.path().trim_end_matches('/').len())
        .map(|(name, _)| name)
}

/// Whether `url` lies under `base`: same scheme, host and port, and `base`'s path as a prefix
/// at a segment boundary.
pub fn is_under(url: &Url, base: &Url) -> bool {
    if url.scheme() != base.scheme()
        || url.host_str().map(str::to_ascii_lowercase)
            != base.host_str().map(str::to_ascii_lowercase)
        || url.port_or_known_default() != base.port_or_known_default()
    {
        return false;
    }
    let bp = base.path().trim_end_matches('/');
    let up = url.path();
    bp.is_empty()
        || up == bp
        || up
            .strip_prefix(bp)
            .is_some_and(|rest| rest.starts_with('/'))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn u(s: &str) -> Url {
        Url::parse(s).expect("url")
    }

    #[test]
    fn urls_under_a_base_match_at_segment_boundaries() {
        let cases = [
            ("https://api.test/v1", "https://api.test/v1/x", true),
            ("https://api.test/v1", "https://api.test/v1", true),
            ("https://api.test/v1/", "https://api.test/v1/x?q", true),
            ("https://api.test/v1", "https://api.test/v10", false),
            ("https://api.test", "https://API.test/anything", true),
            ("https://api.test", "https://api.test:443/", true),
            ("https://api.test", "http://api.test/", false),
            ("https://api.test", "https://api.test:8443/", false),
            ("https://api.test", "https://other.test/", false),
        ];
        for (base, url, want) in cases {
            assert_eq!(is_under(&u(url), &u(base)), want, "{url} under {base}");
        }
    }

    #[test]
    fn the_longest_base_wins() {
        let all = u("https://api.test/");
        let v2 = u("https://api.test/v2/");
        let providers = [("all", &all), ("v2", &v2)];
        assert_eq!(
            provider_for_url(providers, &u("https://api.test/v2/x")),
            Some("v2")
        );
        assert_eq!(
            provider_for_url(providers, &u("https://api.test/v1")),
            Some("all")
        );
        assert_eq!(provider_for_url(providers, &u("https://else.test/")), None);
    }
}
