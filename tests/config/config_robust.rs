//! Bad input never panics, hangs or silently passes: arbitrary text and arbitrary values under
//! every known key either load or fail with `config.invalid` whose diagnostics are all errors or
//! warnings with a key path, and the lint always returns.

use proptest::prelude::*;
use proxyscope::EnvSnapshot;
use proxyscope::config::{Config, ConfigDocument, Severity};

const KEYS: &[&str] = &[
    "proxy",
    "no_proxy",
    "roots",
    "ca_file",
    "proxy_ca_file",
    "danger_accept_invalid_certs",
    "timeouts",
    "providers",
    "no_proxy_list",
    "strictSSL",
];

fn value() -> impl Strategy<Value = String> {
    prop_oneof![
        "[a-z:/.@*\\[\\] 0-9-]{0,30}".prop_map(|s| format!("{s:?}")),
        any::<i64>().prop_map(|n| n.to_string()),
        any::<bool>().prop_map(|b| b.to_string()),
        prop::collection::vec("[a-z:/.*0-9-]{0,20}", 0..4).prop_map(|v| format!("{v:?}")),
        Just("{ connect = 5 }".to_owned()),
        Just("{ a = { url = 1 } }".to_owned()),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn arbitrary_text_never_panics(text in "[\\[\\]a-z_=\". \n0-9{},:/]{0,200}") {
        let doc = ConfigDocument::from_toml_str(&text, "fuzz.toml");
        let diags = doc.lint(&EnvSnapshot::default());
        if let Err(e) = doc.to_config() {
            prop_assert_eq!(e.code(), "config.invalid");
            prop_assert!(e.evidence().diagnostics.iter().any(|d| d.severity == Severity::Error));
        }
        for d in diags {
            prop_assert!(!d.code.is_empty());
        }
    }

    #[test]
    fn arbitrary_values_under_known_keys(pairs in prop::collection::vec((0..KEYS.len(), value()), 1..5)) {
        let mut text = String::new();
        let mut seen = std::collections::HashSet::new();
        for (k, v) in pairs {
            if seen.insert(k) {
                text.push_str(&format!("{} = {v}\n", KEYS[k]));
            }
        }
        match Config::from_toml_str(&text, "fuzz.toml") {
            Ok(cfg) => {
                let _ = cfg.lint(&EnvSnapshot::default());
            }
            Err(e) => {
                prop_assert_eq!(e.code(), "config.invalid");
                let errors: Vec<_> = e.evidence().diagnostics.iter().filter(|d| d.is_error()).collect();
                prop_assert!(!errors.is_empty());
                for d in errors {
                    prop_assert!(d.suggestion.is_some(), "{}", d);
                }
            }
        }
    }
}
