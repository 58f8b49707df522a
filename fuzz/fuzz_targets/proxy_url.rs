//! Proxy URL parsing: never panics; a parsed URL prints as `scheme://host:port` and re-parses
//! to itself; and credentials placed in the authority never appear in any printed form of the
//! value or of the error (Display, Debug, JSON, `report()`).
#![no_main]

use libfuzzer_sys::fuzz_target;
use proxyscope::{Error, ProxyUrl};

const SECRET: &str = "s3cr3t-p4ss";
const USERINFO: &str = "u53r:s3cr3t-p4ss@";

fn printed_url(u: &ProxyUrl) -> Vec<String> {
    let mut out = vec![
        u.to_string(),
        format!("{u:?}"),
        serde_json::to_string(u).expect("a ProxyUrl always serialises"),
        u.without_credentials(),
        u.authority(),
    ];
    out.extend(u.notes().iter().map(|n| format!("{n} {n:?}")));
    out
}

fn printed_error(e: proxyscope::proxy::ProxyUrlError) -> Vec<String> {
    let mut out = vec![e.to_string(), format!("{e:?}"), e.input().to_owned()];
    let e: Error = e.into();
    out.push(e.to_string());
    out.push(format!("{e:?}"));
    out.push(e.report());
    out.push(serde_json::to_string(&e).expect("an Error always serialises"));
    out
}

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    // 1. Arbitrary input.
    if let Ok(u) = ProxyUrl::parse(text) {
        printed_url(&u);
        let again = ProxyUrl::parse(&u.to_string()).expect("a printed proxy URL re-parses");
        assert_eq!(
            (again.scheme(), again.host(), again.port()),
            (u.scheme(), u.host(), u.port())
        );
        assert!(!again.has_credentials());
    }
    // 2. The same text after credentials in the authority: `scheme://u53r:s3cr3t-p4ss@<text>`
    //    (the first byte picks the scheme, or none).
    // Hosts are lowercased: the secret must not be in the input in any case.
    if text.to_ascii_lowercase().contains("s3cr3t") {
        return;
    }
    let Some((&pick, rest)) = data.split_first() else {
        return;
    };
    let Ok(rest) = std::str::from_utf8(rest) else {
        return;
    };
    let scheme = [
        "",
        "http://",
        "https://",
        "socks5://",
        "socks5h://",
        "HTTP://",
        "ftp://",
    ][usize::from(pick) % 7];
    let input = format!("{scheme}{USERINFO}{rest}");
    let printed = match ProxyUrl::parse(&input) {
        Ok(u) => {
            // The last `@` of the authority ends the userinfo, so `rest` may extend it.
            assert!(u.password().is_some_and(|p| p.starts_with(SECRET)));
            printed_url(&u)
        }
        Err(e) => printed_error(e),
    };
    for p in printed {
        assert!(
            !p.contains(SECRET),
            "credential in {p:?} for input {input:?}"
        );
    }
});
