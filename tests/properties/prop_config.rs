//! Property tests of config loading and lint with credentials (bounded case counts, run in
//! CI): whatever the document — valid or not, credentials in the global proxy, a provider's
//! proxy, a URL-shaped `no_proxy` entry or a provider's URL, percent-encoded or not — the
//! password never appears in a lint finding (Display, Debug, JSON), in the `config.invalid`
//! error (Display, Debug, `report()`, JSON), or in the loaded config's Debug and settings.

use proptest::prelude::*;
use proxyscope::EnvSnapshot;
use proxyscope::config::{Config, ConfigDocument};

fn scheme() -> impl Strategy<Value = &'static str> {
    prop::sample::select(vec!["http://", "https://", "socks5h://", "ftp://", ""])
}

fn host() -> impl Strategy<Value = &'static str> {
    prop::sample::select(vec![
        "proxy.test:3128",
        "proxy.test",
        "[::1]:8080",
        "bad host:1",
        "proxy.test:99999",
        "proxy.test:3128/path",
        "",
    ])
}

/// Where the credentials go.
#[derive(Debug, Clone, Copy)]
enum Place {
    GlobalProxy,
    ProviderProxy,
    NoProxyEntry,
    ProviderUrl,
    EnvProxy,
}

fn place() -> impl Strategy<Value = Place> {
    prop::sample::select(vec![
        Place::GlobalProxy,
        Place::ProviderProxy,
        Place::NoProxyEntry,
        Place::ProviderUrl,
        Place::EnvProxy,
    ])
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn credentials_never_print(
        secret in "Zq[a-zA-Z0-9]{8,12}",
        encode in any::<bool>(),
        scheme in scheme(),
        host in host(),
        place in place(),
        unknown_key in any::<bool>(),
    ) {
        let pass = if encode { format!("{secret}%21") } else { secret.clone() };
        let with_creds = format!("{scheme}u53r:{pass}@{host}");
        let mut text = String::new();
        match place {
            Place::GlobalProxy => text.push_str(&format!("proxy = {with_creds:?}\n")),
            Place::NoProxyEntry => {
                text.push_str(&format!("no_proxy = [\"localhost\", {with_creds:?}]\n"));
            }
            _ => {}
        }
        if unknown_key {
            text.push_str("cacert = \"x.pem\"\n");
        }
        text.push_str("[providers.p]\n");
        match place {
            Place::ProviderUrl => {
                text.push_str(&format!("url = \"https://u53r:{pass}@p.test/\"\n"));
            }
            _ => text.push_str("url = \"https://p.test/\"\n"),
        }
        if let Place::ProviderProxy = place {
            text.push_str(&format!("proxy = {with_creds:?}\n"));
        }
        let env = match place {
            Place::EnvProxy => EnvSnapshot::from_pairs([
                ("https_proxy", with_creds.clone()),
                ("HTTP_PROXY", with_creds.clone()),
            ]),
            _ => EnvSnapshot::default(),
        };

        let mut printed = Vec::new();
        for d in ConfigDocument::from_toml_str(&text, "p.toml").lint(&env) {
            printed.push(format!("{d} {d:?} {}", serde_json::to_string(&d).unwrap()));
        }
        match Config::from_toml_str(&text, "p.toml") {
            Ok(cfg) => {
                printed.push(format!("{cfg:?}"));
                for d in cfg.lint(&env) {
                    printed.push(format!("{d} {d:?}"));
                }
                for provider in [None, Some("p")] {
                    for s in cfg.settings_with_env(provider, &env).unwrap_or_default() {
                        printed.push(format!("{s:?}"));
                    }
                }
            }
            Err(e) => {
                prop_assert!(e.code().starts_with("config."));
                printed.push(format!("{e} {e:?} {}", e.report()));
                printed.push(serde_json::to_string(&e).unwrap());
            }
        }
        for out in printed {
            prop_assert!(!out.contains(&secret), "{:?} in {}", place, out);
        }
    }
}
