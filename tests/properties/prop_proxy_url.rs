//! Property tests of `ProxyUrl` (bounded case counts, run in CI): parsing never panics; a
//! parsed URL prints as `scheme://host:port` and re-parses to the same proxy; and credentials —
//! raw or percent-encoded — never appear in Display, Debug or JSON of the URL, nor in Display,
//! Debug, `report()` or JSON of the error a bad URL becomes.

use proptest::prelude::*;
use proxyscope::proxy::ProxyUrlError;
use proxyscope::{Error, ProxyUrl};

fn printed(u: &ProxyUrl) -> Vec<String> {
    let mut out = vec![
        u.to_string(),
        format!("{u:?}"),
        format!("{u:#?}"),
        serde_json::to_string(u).unwrap(),
        u.without_credentials(),
        u.authority(),
    ];
    out.extend(u.notes().iter().map(|n| format!("{n} / {n:?}")));
    out
}

fn printed_error(e: ProxyUrlError) -> Vec<String> {
    let mut out = vec![e.to_string(), format!("{e:?}"), e.input().to_owned()];
    let e: Error = e.into();
    assert_eq!(e.code(), "config.proxy_url");
    out.extend([
        e.to_string(),
        format!("{e:?}"),
        e.report(),
        serde_json::to_string(&e).unwrap(),
    ]);
    out
}

/// Percent-encodes everything but unreserved characters, as a user would write a password.
fn encode(s: &str) -> String {
    s.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

fn scheme() -> impl Strategy<Value = &'static str> {
    prop::sample::select(vec![
        "",
        "http://",
        "https://",
        "socks5://",
        "socks5h://",
        "HTTPS://",
        "ftp://",
        "socks4://",
    ])
}

/// A host part that is sometimes invalid, so both `Ok` and `Err` paths are exercised.
fn host_port() -> impl Strategy<Value = String> {
    prop_oneof![
        "[a-z][a-z0-9.-]{0,12}(:[0-9]{1,5})?",
        Just("[::1]:3128".to_owned()),
        Just("[::1".to_owned()),
        Just("proxy.example:0".to_owned()),
        Just("proxy.example:99999".to_owned()),
        Just("bad host:3128".to_owned()),
        Just(String::new()),
        "\\PC{0,12}",
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn any_text_parses_without_panic(input in "\\PC{0,48}") {
        match ProxyUrl::parse(&input) {
            Ok(u) => {
                let shown = u.to_string();
                prop_assert_eq!(&shown, &u.without_credentials());
                let again = ProxyUrl::parse(&shown).unwrap();
                prop_assert_eq!(again.scheme(), u.scheme());
                prop_assert_eq!(again.host(), u.host());
                prop_assert_eq!(again.port(), u.port());
                prop_assert!(!again.has_credentials());
            }
            Err(e) => {
                let e: Error = e.into();
                prop_assert_eq!(e.code(), "config.proxy_url");
                prop_assert!(e.hop().is_none());
            }
        }
    }

    #[test]
    fn credentials_never_print(
        scheme in scheme(),
        user in "[a-zA-Z0-9._-]{1,10}",
        secret in "Zq[\\PC]{6,16}",
        encoded in any::<bool>(),
        rest in host_port(),
        tail in prop::sample::select(vec!["", "/", "/path", "?q=1", "#f"]),
    ) {
        let pass = if encoded { encode(&secret) } else { secret.replace(['@', '/', '?', '#', ':'], "x") };
        let input = format!("{scheme}{user}:{pass}@{rest}{tail}");
        let outputs = match ProxyUrl::parse(&input) {
            Ok(u) => {
                prop_assert!(u.has_credentials());
                printed(&u)
            }
            Err(e) => printed_error(e),
        };
        let raw = if encoded { secret.clone() } else { pass.clone() };
        for out in outputs {
            prop_assert!(!out.contains(&raw), "password in {:?} (input {:?})", out, input);
            prop_assert!(!out.contains(&pass), "password in {:?} (input {:?})", out, input);
        }
    }
}

/// Found by `cargo fuzz run proxy_url`: a `://` after the userinfo of a scheme-less value was
/// taken for the scheme's, and the userinfo before it was printed in the error.
#[test]
fn userinfo_before_a_later_scheme_separator_is_redacted() {
    for input in [
        "u53r:s3cr3t-p4ss@ck\rs50://***@",
        "u53r:s3cr3t-p4ss@proxy:3128/?next=http://x",
        "u53r:s3cr3t-p4ss@bad host/x://y",
    ] {
        let outputs = match ProxyUrl::parse(input) {
            Ok(u) => printed(&u),
            Err(e) => printed_error(e),
        };
        for out in outputs {
            assert!(!out.contains("s3cr3t-p4ss"), "password in {out:?}");
        }
    }
}
