//! What a probe run does for a [`Config`]: the [`Check`]s of the selected providers (a provider
//! without checks gets `GET url` expecting 2xx or 3xx) and the [`Client`] they run through — the
//! config's own layers, with connection reuse off so every check measures a fresh connection's
//! phases.

use crate::client::{Client, ClientBuilder};
use crate::config::Config;
use crate::connect::Resolver;
use crate::error::{Error, ErrorKind};
use crate::proxy::EnvSnapshot;

use super::check::Check;

/// The checks of `providers` (every provider when empty), in config order. An unknown provider
/// name is `config.invalid` naming the known ones.
pub fn checks(config: &Config, providers: &[String]) -> Result<Vec<Check>, Error> {
    for name in providers {
        if config.provider(name).is_none() {
            let known: Vec<&str> = config.providers().iter().map(|p| p.name()).collect();
            return Err(Error::new(ErrorKind::ConfigInvalid)
                .with_message(format!("there is no provider named {name}"))
                .with_hint(if known.is_empty() {
                    "the configuration declares no providers; add a [providers.NAME] table"
                        .to_owned()
                } else {
                    format!("known providers: {}", known.join(", "))
                })
                .map_evidence(|ev| ev.expected = Some(known.join(", "))));
        }
    }
    let mut out = Vec::new();
    for p in config.providers() {
        if !providers.is_empty() && !providers.iter().any(|n| n == p.name()) {
            continue;
        }
        let base = &p.url().value;
        if p.checks().is_empty() {
            out.push(Check::default_for(p.name(), base.as_str()));
            continue;
        }
        for c in p.checks() {
            out.push(Check::from_config(p.name(), base, c));
        }
    }
    Ok(out)
}

/// A client for `config`'s layers and providers that opens a fresh connection for every
/// request, so each check's DNS, connect, proxy and TLS phases are its own.
pub fn client(config: &Config, env: EnvSnapshot, resolver: Resolver) -> Result<Client, Error> {
    client_for(config, &[], env, resolver)
}

/// Like [`client`], with only the profiles of `providers` (every provider when empty): what
/// [`checks`] selected, so a run of one provider out of thousands builds one profile.
pub fn client_for(
    config: &Config,
    providers: &[String],
    env: EnvSnapshot,
    resolver: Resolver,
) -> Result<Client, Error> {
    ClientBuilder::from_config_providers(config, |name| {
        providers.is_empty() || providers.iter().any(|p| p == name)
    })
    .env(env)
    .resolver(resolver)
    .pool_max_idle_per_host(0)
    .build()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::probe::StatusExpectation;

    const TOML: &str = r#"
[providers.apertium]
url = "http://apertium.test:2737"
proxy = "direct"

[providers.yandex]
url = "https://yandex.test/base"
proxy = "direct"
[[providers.yandex.checks]]
name = "languages"
path = "/api/getLangs"
expect_status = 200
body_contains = "dirs"
[[providers.yandex.checks]]
name = "home"
url = "https://yandex.test/"
expect_status = "3xx"
follow_redirects = true
timeout = "2s"
"#;

    #[test]
    fn providers_without_checks_get_the_default_and_paths_join_the_base() {
        let cfg = Config::from_toml_str(TOML, "probe.toml").unwrap();
        let all = checks(&cfg, &[]).unwrap();
        let names: Vec<String> = all
            .iter()
            .map(|c| format!("{}/{}", c.provider, c.spec.name))
            .collect();
        assert_eq!(
            names,
            ["apertium/default", "yandex/languages", "yandex/home"]
        );
        assert_eq!(all[0].url, "http://apertium.test:2737/");
        assert_eq!(
            all[0].spec.expect_status,
            StatusExpectation::SuccessOrRedirect
        );
        assert_eq!(all[1].url, "https://yandex.test/base/api/getLangs");
        assert_eq!(all[1].spec.expect_status, StatusExpectation::Exact(200));
        assert_eq!(all[1].spec.body_contains.as_deref(), Some("dirs"));
        assert!(!all[1].spec.follow_redirects);
        assert_eq!(all[2].spec.expect_status, StatusExpectation::Class(3));
        assert!(all[2].spec.follow_redirects);
        assert_eq!(all[2].spec.timeout, Some(std::time::Duration::from_secs(2)));
    }

    #[test]
    fn provider_selection_and_unknown_names() {
        let cfg = Config::from_toml_str(TOML, "probe.toml").unwrap();
        let only = checks(&cfg, &["apertium".to_owned()]).unwrap();
        assert_eq!(only.len(), 1);
        // Only the selected provider's profile is built.
        let env = EnvSnapshot::from_pairs(Vec::<(String, String)>::new());
        let client = client_for(
            &cfg,
            &["apertium".to_owned()],
            env.clone(),
            Resolver::system(),
        )
        .unwrap();
        assert_eq!(
            format!("{client:?}"),
            r#"Client { providers: ["apertium"], .. }"#
        );
        let all = super::client(&cfg, env, Resolver::system()).unwrap();
        assert!(format!("{all:?}").contains(r#"["apertium", "yandex"]"#));
        let e = checks(&cfg, &["yandx".to_owned()]).unwrap_err();
        assert_eq!(e.code(), "config.invalid");
        assert_eq!(e.hop(), None);
        assert_eq!(e.evidence().expected.as_deref(), Some("apertium, yandex"));
    }
}
