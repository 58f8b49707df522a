//! Where a request under a provider's base URL goes: the base's path kept and the request's
//! path appended, and the base's query parameters kept — a caller (or a check) can add
//! parameters but never drop or override one the configuration set, such as an API `key`.

/// `path` under `base` with `query` merged into the base's own query: every parameter of the
/// base stays as written and first; a parameter of `query` whose name the base already has is
/// dropped; the others follow in their order and spelling. Names are compared percent-decoded
/// (`+` as a space), so `%6Bey=` cannot smuggle a second `key`.
pub(crate) fn join(base: &url::Url, path: &str, query: Option<&str>) -> url::Url {
    let mut url = base.clone();
    let joined = format!("{}{}", base.path().trim_end_matches('/'), path);
    url.set_path(&joined);
    let merged = merge_query(base.query(), query);
    url.set_query((!merged.is_empty()).then_some(merged.as_str()));
    url
}

/// `own` query parameters, all kept and first, then those of `added` whose names `own` lacks
/// (compared decoded, as [`join`] compares them).
pub(crate) fn merge_query(own: Option<&str>, added: Option<&str>) -> String {
    let own: Vec<&str> = own
        .into_iter()
        .flat_map(|q| q.split('&'))
        .filter(|p| !p.is_empty())
        .collect();
    let own_names: Vec<String> = own.iter().map(|p| name(p)).collect();
    let added = added
        .into_iter()
        .flat_map(|q| q.split('&'))
        .filter(|p| !p.is_empty() && !own_names.contains(&name(p)));
    own.iter()
        .copied()
        .chain(added)
        .collect::<Vec<_>>()
        .join("&")
}

/// A parameter's name, decoded as a form would be.
fn name(pair: &str) -> String {
    let raw = pair.split('=').next().unwrap_or("");
    url::form_urlencoded::parse(raw.as_bytes())
        .next()
        .map(|(k, _)| k.into_owned())
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn j(base: &str, path: &str, query: Option<&str>) -> String {
        join(&url::Url::parse(base).unwrap(), path, query).to_string()
    }

    #[test]
    fn the_base_keeps_its_path_and_its_parameters_win() {
        let cases: &[(&str, &str, Option<&str>, &str)] = &[
            (
                "https://a.test/v1.5/tr.json/",
                "/translate",
                Some("lang=en-ru"),
                "https://a.test/v1.5/tr.json/translate?lang=en-ru",
            ),
            ("https://a.test/", "/t", None, "https://a.test/t"),
            (
                "https://a.test/?key=K",
                "/t",
                None,
                "https://a.test/t?key=K",
            ),
            (
                "https://a.test/?key=K",
                "/t",
                Some("q=hi"),
                "https://a.test/t?key=K&q=hi",
            ),
            // Neither dropped nor overridden, however the caller spells the name.
            (
                "https://a.test/?key=K",
                "/t",
                Some("key=evil&q=1"),
                "https://a.test/t?key=K&q=1",
            ),
            (
                "https://a.test/?key=K",
                "/t",
                Some("%6Bey=evil"),
                "https://a.test/t?key=K",
            ),
            (
                "https://a.test/?my+key=K",
                "/t",
                Some("my%20key=x&my+key=y"),
                "https://a.test/t?my+key=K",
            ),
            (
                "https://a.test/?key=K",
                "/t",
                Some("key"),
                "https://a.test/t?key=K",
            ),
            // The caller's other parameters keep their order, repeats and spelling.
            (
                "https://a.test/?key=K&v=2",
                "/t",
                Some("a=1&&a=2&b=%20x"),
                "https://a.test/t?key=K&v=2&a=1&a=2&b=%20x",
            ),
            ("https://a.test/p?", "/t", Some(""), "https://a.test/p/t"),
        ];
        for (base, path, query, want) in cases {
            assert_eq!(j(base, path, *query), *want, "{base} + {path} + {query:?}");
        }
    }
}
