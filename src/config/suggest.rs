//! Did-you-mean for unknown keys: the table of known misplacements (keys that other tools, or
//! proxyscope's own history, use for a setting proxyscope spells differently) first, then edit
//! distance against the keys valid at that level.

/// A known misplacement: a key from another tool and what proxyscope calls it.
pub(crate) struct Misplacement {
    /// The key proxyscope uses instead (at the same level).
    pub(crate) key: &'static str,
    /// Why the key is wrong here, including any change of meaning.
    pub(crate) why: &'static str,
    /// Whether the value's meaning is inverted (`strictSSL = false` means
    /// `danger_accept_invalid_certs = true`).
    pub(crate) inverted: bool,
}

/// Keys that people (and the 2015 cxserver config) used for proxyscope's settings.
const MISPLACEMENTS: &[(&str, Misplacement)] = &[
    ("ca", CA),
    ("cacert", CA),
    ("ca_cert", CA),
    ("cafile", CA),
    ("ca_bundle", CA),
    ("ca_certs", CA),
    ("certificate", CA),
    ("no_proxy_list", NO_PROXY),
    ("noproxy", NO_PROXY),
    ("no-proxy", NO_PROXY),
    ("noProxy", NO_PROXY),
    ("NO_PROXY", NO_PROXY),
    ("no_proxy_hosts", NO_PROXY),
    ("http_proxy", PROXY),
    ("https_proxy", PROXY),
    ("HTTP_PROXY", PROXY),
    ("HTTPS_PROXY", PROXY),
    ("all_proxy", PROXY),
    ("proxy_url", PROXY),
    (
        "strictSSL",
        Misplacement {
            key: "danger_accept_invalid_certs",
            why: "`strictSSL` is the `request` library's switch; verification is on by default here, and turning it off is spelt `danger_accept_invalid_certs = true` (the opposite polarity: `strictSSL = false` means `danger_accept_invalid_certs = true`)",
            inverted: true,
        },
    ),
    ("strict_ssl", STRICT),
    ("rejectUnauthorized", STRICT),
    ("verify", STRICT),
    ("verify_ssl", STRICT),
    ("ssl_verify", STRICT),
    ("insecure", INSECURE),
    ("insecure_skip_verify", INSECURE),
    ("accept_invalid_certs", INSECURE),
    (
        "proxy_ca",
        Misplacement {
            key: "proxy_ca_file",
            why: "trust for an https:// proxy is set with `proxy_ca_file`",
            inverted: false,
        },
    ),
    (
        "proxy_cacert",
        Misplacement {
            key: "proxy_ca_file",
            why: "trust for an https:// proxy is set with `proxy_ca_file`",
            inverted: false,
        },
    ),
    (
        "api",
        Misplacement {
            key: "url",
            why: "a provider's base URL is `url`",
            inverted: false,
        },
    ),
    (
        "timeout",
        Misplacement {
            key: "timeouts",
            why: "timeouts are per phase: `[timeouts]` with `connect`, `proxy`, `tls` and `request`",
            inverted: false,
        },
    ),
    ("max_body", LIMITS),
    ("max_body_size", LIMITS),
    ("body_size_limit", LIMITS),
    ("body_limit", LIMITS),
    ("max_response_size", LIMITS),
    (
        "mt",
        Misplacement {
            key: "providers",
            why: "upstreams are declared as `[providers.NAME]`",
            inverted: false,
        },
    ),
];

const LIMITS: Misplacement = Misplacement {
    key: "limits",
    why: "caps on what is read into memory are in `[limits]`: `max_body` for the client, `check_body` for probe checks",
    inverted: false,
};
const CA: Misplacement = Misplacement {
    key: "ca_file",
    why: "the CA setting is `ca_file` (a PEM path or a list of them); it applies to the origin hop whether the connection is direct or tunnelled through a proxy",
    inverted: false,
};
const NO_PROXY: Misplacement = Misplacement {
    key: "no_proxy",
    why: "the bypass list is `no_proxy`; under another name the list is ignored and every request goes through the proxy",
    inverted: false,
};
const PROXY: Misplacement = Misplacement {
    key: "proxy",
    why: "the proxy is set with `proxy` (a URL, \"direct\" or \"env\"); one `proxy` serves both http:// and https:// URLs",
    inverted: false,
};
const STRICT: Misplacement = Misplacement {
    key: "danger_accept_invalid_certs",
    why: "certificate verification is on by default; turning it off is spelt `danger_accept_invalid_certs = true` (the opposite polarity of this key: `false` here means `true` there)",
    inverted: true,
};
const INSECURE: Misplacement = Misplacement {
    key: "danger_accept_invalid_certs",
    why: "turning certificate verification off is spelt `danger_accept_invalid_certs` (same polarity: `true` means do not verify)",
    inverted: false,
};

/// The known misplacement for `key`, if any.
pub(crate) fn misplacement(key: &str) -> Option<&'static Misplacement> {
    MISPLACEMENTS
        .iter()
        .find(|(k, _)| *k == key)
        .or_else(|| {
            MISPLACEMENTS
                .iter()
                .find(|(k, _)| k.eq_ignore_ascii_case(key))
        })
        .map(|(_, m)| m)
}

/// The closest of `candidates` to `input` by edit distance (case-insensitive), if close enough
/// to be a plausible typo.
pub(crate) fn did_you_mean<'a>(input: &str, candidates: &[&'a str]) -> Option<&'a str> {
    let lower = input.to_ascii_lowercase();
    let limit = (lower.chars().count() / 3).max(1);
    candidates
        .iter()
        .map(|c| (levenshtein(&lower, &c.to_ascii_lowercase()), *c))
        .filter(|(d, _)| *d <= limit)
        .min_by_key(|(d, _)| *d)
        .map(|(_, c)| c)
}

/// Levenshtein distance over characters.
pub(crate) fn levenshtein(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    let mut cur = vec![0; b.len() + 1];
    for (i, ca) in a.chars().enumerate() {
        cur[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let cost = usize::from(ca != *cb);
            cur[j + 1] = (prev[j] + cost).min(prev[j + 1] + 1).min(cur[j] + 1);
        }
        std::mem::swap(&mut prev, &mut cur);
    }
    prev[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn levenshtein_table() {
        for (a, b, d) in [
            ("", "", 0),
            ("proxy", "proxy", 0),
            ("proxi", "proxy", 1),
            ("no_prxy", "no_proxy", 1),
            ("kitten", "sitting", 3),
        ] {
            assert_eq!(levenshtein(a, b), d, "{a} {b}");
        }
    }

    #[test]
    fn did_you_mean_finds_close_keys_only() {
        let keys = ["proxy", "no_proxy", "ca_file", "roots"];
        assert_eq!(did_you_mean("proxie", &keys), Some("proxy"));
        assert_eq!(did_you_mean("no_proxi", &keys), Some("no_proxy"));
        assert_eq!(did_you_mean("CA_FILE", &keys), Some("ca_file"));
        assert_eq!(did_you_mean("colour", &keys), None);
    }

    #[test]
    fn misplacement_table_covers_the_2015_keys() {
        for (key, want, inverted) in [
            ("ca", "ca_file", false),
            ("cacert", "ca_file", false),
            ("ca_cert", "ca_file", false),
            ("no_proxy_list", "no_proxy", false),
            ("noproxy", "no_proxy", false),
            ("http_proxy", "proxy", false),
            ("https_proxy", "proxy", false),
            ("strictSSL", "danger_accept_invalid_certs", true),
            ("insecure", "danger_accept_invalid_certs", false),
        ] {
            let m = misplacement(key).unwrap_or_else(|| panic!("{key}"));
            assert_eq!(m.key, want, "{key}");
            assert_eq!(m.inverted, inverted, "{key}");
        }
        assert!(misplacement("StrictSsl").is_some());
        assert!(misplacement("provider").is_none());
    }
}
