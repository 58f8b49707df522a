//! The effective configuration as one document ([`EffectiveConfig`]): every setting of the
//! global layer and of each provider with where it came from, the checks and the CA files read
//! at load time, with secrets masked. It is what `probe config` prints and what a service shows
//! on an endpoint such as `/_config`: one view, so both say the same thing.

use serde::Serialize;

use super::check::{Check, CheckTarget};
use super::provenance::Setting;
use super::{Config, Provider};
use crate::error::CertSummary;
use crate::proxy::{EnvSnapshot, redact_url};
use crate::settings::Sourced;

/// The effective configuration: what is in force for the global layer and each provider, each
/// value with its [`Provenance`](crate::Provenance). Proxy credentials and URL userinfo are
/// never included. Serialises to the JSON of `probe config --format json`.
#[non_exhaustive]
#[derive(Debug, Clone, Serialize)]
pub struct EffectiveConfig {
    /// The file the configuration was read from, as named.
    pub source: Option<String>,
    /// The table of the file that held it, when it was a section of a service's own file.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub section: Option<String>,
    /// Every setting of the global layer, defaults included.
    pub global: Vec<Setting>,
    /// Every provider, in file order.
    pub providers: Vec<ProviderView>,
    /// The CA files named anywhere, as read at load time.
    pub ca_files: Vec<CaFileView>,
}

/// One provider in an [`EffectiveConfig`].
#[non_exhaustive]
#[derive(Debug, Clone, Serialize)]
pub struct ProviderView {
    /// The provider's name.
    pub name: String,
    /// Its base URL without userinfo.
    pub url: Sourced<String>,
    /// Whether the service needs it to be healthy.
    pub required: Sourced<bool>,
    /// Every effective setting: its own, else the global layer's, else the default (and with
    /// an environment, the variables that supply a proxy the layers leave to it).
    pub settings: Vec<Setting>,
    /// Its declared checks.
    pub checks: Vec<Check>,
}

/// One CA file in an [`EffectiveConfig`].
#[non_exhaustive]
#[derive(Debug, Clone, Serialize)]
pub struct CaFileView {
    /// The file's resolved path.
    pub path: String,
    /// The certificates it holds.
    pub certificates: Vec<CertSummary>,
}

impl Config {
    /// The effective configuration. With `env`, where the layers leave the proxy or
    /// `no_proxy` to the environment, the values it supplies are shown with the variable as
    /// origin (see [`Config::settings_with_env`]).
    pub fn effective(&self, env: Option<&EnvSnapshot>) -> EffectiveConfig {
        let settings = |p: Option<&str>| {
            match env {
                Some(env) => self.settings_with_env(p, env),
                None => self.settings(p),
            }
            .unwrap_or_default()
        };
        EffectiveConfig {
            source: self.source().map(|p| p.display().to_string()),
            section: self.section().map(str::to_owned),
            global: settings(None),
            providers: self
                .providers()
                .iter()
                .map(|p| ProviderView {
                    name: p.name().to_owned(),
                    url: masked_url(p),
                    required: p.required().clone(),
                    settings: settings(Some(p.name())),
                    checks: p.checks().to_vec(),
                })
                .collect(),
            ca_files: self
                .ca_files()
                .iter()
                .map(|b| CaFileView {
                    path: b.path().display().to_string(),
                    certificates: b.summaries().to_vec(),
                })
                .collect(),
        }
    }
}

/// The provider's URL without userinfo or the values of secret-looking query parameters.
fn masked_url(p: &Provider) -> Sourced<String> {
    Sourced::new(redact_url(p.url().value.as_str()), p.url().origin.clone())
}

impl EffectiveConfig {
    /// Keeps only the provider called `name`; `false` (and nothing removed) when there is none.
    pub fn retain_provider(&mut self, name: &str) -> bool {
        if !self.providers.iter().any(|p| p.name == name) {
            return false;
        }
        self.providers.retain(|p| p.name == name);
        true
    }

    /// Every value as one row with the key path of the whole file (`proxy`,
    /// `providers.a.url`, `providers.a.checks.health`; under a section,
    /// `proxyscope.providers.a.url`): the lines of `probe config --show-origin`.
    pub fn rows(&self) -> Vec<Setting> {
        let qualify = |key: String| match &self.section {
            Some(s) => format!("{s}.{key}"),
            None => key,
        };
        let mut out: Vec<Setting> = self
            .global
            .iter()
            .map(|s| Setting {
                key: qualify(s.key.clone()),
                ..s.clone()
            })
            .collect();
        for p in &self.providers {
            let key = |k: &str| qualify(format!("providers.{}.{k}", p.name));
            out.push(Setting {
                key: key("url"),
                value: p.url.value.clone(),
                origin: p.url.origin.clone(),
            });
            out.push(Setting {
                key: key("required"),
                value: p.required.value.to_string(),
                origin: p.required.origin.clone(),
            });
            out.extend(p.settings.iter().map(|s| Setting {
                key: key(&s.key),
                ..s.clone()
            }));
            out.extend(p.checks.iter().map(|c| Setting {
                key: key(&format!("checks.{}", c.name)),
                value: summary(c),
                origin: c.origin.clone(),
            }));
        }
        out
    }
}

/// `GET /health expect 200 body~"ok" header x-up~"1"`.
fn summary(c: &Check) -> String {
    let target = match &c.target {
        CheckTarget::Path(p) => crate::proxy::redact::redact_path(p),
        CheckTarget::Url(u) => redact_url(u.as_str()),
    };
    let mut s = format!("{} {target} expect {}", c.method, c.expect_status);
    if let Some(b) = &c.body_contains {
        s.push_str(&format!(" body~{b:?}"));
    }
    if let Some(h) = &c.expect_header {
        s.push_str(&format!(" header {}", h.name));
        if let Some(v) = &h.contains {
            s.push_str(&format!("~{v:?}"));
        }
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::ServiceFile;
    use crate::settings::Provenance;

    #[test]
    fn one_view_with_origins_and_no_secrets() {
        let text = "proxy = \"http://user:pa55w0rd@egress.test:3128\"\n[providers.a]\nurl = \"https://key:s3cret@a.test/v1?api_key=qu3ry\"\nrequired = false\n[[providers.a.checks]]\nname = \"health\"\npath = \"/health\"\nexpect_status = 200\nbody_contains = \"ok\"\n[providers.b]\nurl = \"http://b.test\"\nproxy = \"direct\"\n";
        let cfg = Config::from_toml_str(text, "/etc/p/cfg.toml").unwrap();
        let view = cfg.effective(None);
        let json = serde_json::to_string(&view).unwrap();
        for secret in ["pa55w0rd", "s3cret", "user:", "key:", "qu3ry"] {
            assert!(!json.contains(secret), "{secret} in {json}");
        }
        assert_eq!(view.source.as_deref(), Some("/etc/p/cfg.toml"));
        assert_eq!(view.section, None);
        let v: serde_json::Value = serde_json::from_str(&json).unwrap();
        assert!(v.get("section").is_none());
        assert_eq!(v["providers"][0]["name"], "a");
        assert_eq!(v["providers"][0]["url"]["origin"]["line"], 3);
        assert_eq!(v["providers"][0]["required"]["value"], false);
        assert_eq!(v["providers"][0]["checks"][0]["name"], "health");
        assert_eq!(v["providers"][1]["required"]["origin"]["kind"], "default");
        let proxy = |p: usize| {
            v["providers"][p]["settings"]
                .as_array()
                .unwrap()
                .iter()
                .find(|s| s["key"] == "proxy")
                .unwrap()
                .clone()
        };
        assert_eq!(
            proxy(0)["origin"]["key"],
            "proxy",
            "inherited from the global layer"
        );
        assert_eq!(proxy(1)["value"], "direct");

        let rows = view.rows();
        let row = |k: &str| {
            rows.iter()
                .find(|r| r.key == k)
                .unwrap_or_else(|| panic!("{k}"))
        };
        assert_eq!(row("providers.a.required").value, "false");
        assert_eq!(
            row("providers.a.checks.health").value,
            "GET /health expect 200 body~\"ok\""
        );
        assert!(matches!(
            row("proxy").origin,
            Provenance::File { line: 1, .. }
        ));
        assert!(!format!("{rows:?}").contains("pa55w0rd"));

        let mut only_b = view.clone();
        assert!(only_b.retain_provider("b"));
        assert_eq!(only_b.providers.len(), 1);
        assert!(!only_b.retain_provider("zz"));
        assert_eq!(only_b.providers.len(), 1);
    }

    #[test]
    fn a_section_view_names_the_whole_files_keys() {
        let text = "[server]\nlisten = \"127.0.0.1:0\"\n[proxyscope]\nproxy = \"direct\"\n[proxyscope.providers.a]\nurl = \"http://a.test\"\n";
        let cfg = ServiceFile::from_toml_str(text, "/srv/s.toml", "proxyscope")
            .document()
            .to_config()
            .unwrap();
        let view = cfg.effective(Some(&EnvSnapshot::default()));
        assert_eq!(view.section.as_deref(), Some("proxyscope"));
        let rows = view.rows();
        let proxy = rows.iter().find(|r| r.key == "proxyscope.proxy").unwrap();
        assert!(
            matches!(&proxy.origin, Provenance::File { line: 4, key, .. } if key == "proxyscope.proxy")
        );
        assert!(rows.iter().any(|r| r.key == "proxyscope.providers.a.url"));
    }
}
