//! The no-arguments mode: mock providers on loopback, built from proxyscope's test harness, and
//! a settings file for them in a temporary directory — so a newcomer can `curl` the service at
//! once. The three providers take the three routes of the 2015 deployment:
//!
//! - `apertium`: plain HTTP, `proxy = "direct"` (an internal service never goes via egress);
//! - `yandex`: HTTPS with a private CA (`ca_file`), through its own proxy that demands the
//!   credentials in its URL (CONNECT tunnel);
//! - `google`: plain HTTP, inheriting the global proxy (absolute-form), not required.

use std::io;
use std::net::{IpAddr, Ipv4Addr};
use std::path::{Path, PathBuf};

use proxyscope::testing::{ChainMode, Policy, TestOrigin, TestPki, TestProxy};

/// The user the yandex proxy expects.
pub(crate) const YANDEX_PROXY_USER: &str = "cxserver";
/// The password the yandex proxy expects (appears only in the settings file).
pub(crate) const YANDEX_PROXY_PASS: &str = "egress-s3cret";
/// The host name the yandex origin is reached by (its certificate names it).
pub(crate) const YANDEX_HOST: &str = "localhost";

/// The running mock providers and the settings file that points at them. Dropping it stops
/// them and removes the files.
pub(crate) struct Demo {
    dir: tempfile::TempDir,
    config_path: PathBuf,
    /// The private PKI whose root signs the yandex origin's certificate.
    pub(crate) pki: TestPki,
    /// `apertium`: plain HTTP, reached directly.
    pub(crate) apertium: TestOrigin,
    /// `yandex`: HTTPS with the private CA.
    pub(crate) yandex: TestOrigin,
    /// `google`: plain HTTP, via the global proxy.
    pub(crate) google: TestOrigin,
    /// yandex's own proxy (basic auth).
    pub(crate) yandex_proxy: TestProxy,
    /// The global egress proxy.
    pub(crate) egress_proxy: TestProxy,
}

impl Demo {
    /// Starts the mock providers and proxies and writes `service.toml` for them
    /// (`listen = "127.0.0.1:0"`, `health_cache`) into a new temporary directory.
    pub(crate) async fn start(health_cache: &str) -> io::Result<Demo> {
        let pki = TestPki::try_new().map_err(io::Error::other)?;
        let loopback = IpAddr::V4(Ipv4Addr::LOCALHOST);
        let apertium = TestOrigin::http().await;
        let yandex = TestOrigin::https(&pki, pki.localhost(), ChainMode::Full).await;
        let google = TestOrigin::http().await;
        let yandex_proxy = TestProxy::builder()
            .policy(yandex_auth())
            .resolve(YANDEX_HOST, loopback)
            .start()
            .await;
        let egress_proxy = TestProxy::builder()
            .resolve(YANDEX_HOST, loopback)
            .start()
            .await;
        let dir = tempfile::Builder::new()
            .prefix("translation-service-")
            .tempdir()?;
        let config_path = dir.path().join("service.toml");
        let demo = Demo {
            config_path,
            pki,
            apertium,
            yandex,
            google,
            yandex_proxy,
            egress_proxy,
            dir,
        };
        std::fs::write(&demo.config_path, demo.settings_text(health_cache))?;
        Ok(demo)
    }

    /// The settings file.
    pub(crate) fn config_path(&self) -> &Path {
        &self.config_path
    }

    /// The temporary directory holding it.
    pub(crate) fn dir(&self) -> &Path {
        self.dir.path()
    }

    /// Makes yandex's proxy refuse the yandex origin (Squid's `403 ERR_ACCESS_DENIED`), as an
    /// egress ACL change would; `false` allows it again.
    pub(crate) fn deny_yandex(&self, deny: bool) {
        let mut rules = vec![yandex_auth()];
        if deny {
            rules.push(Policy::deny(&[YANDEX_HOST]));
        }
        self.yandex_proxy.set_policies(rules);
    }

    /// Denies (or allows again) a provider by name in its proxy: `yandex` in its own proxy,
    /// `google` in the global one. `false` for any other name (apertium has no proxy).
    pub(crate) fn deny(&self, provider: &str, deny: bool) -> bool {
        match provider {
            "yandex" => self.deny_yandex(deny),
            "google" => self.egress_proxy.set_policy(if deny {
                Policy::deny(&["127.0.0.1"])
            } else {
                Policy::AllowAll
            }),
            _ => return false,
        }
        true
    }

    /// The TOML text for the running providers.
    pub(crate) fn settings_text(&self, health_cache: &str) -> String {
        let q = |p: &Path| toml_string(&p.display().to_string());
        format!(
            r#"# translation_service demo settings, written for the mock providers of this run.

[server]
listen = "127.0.0.1:0"
health_cache = {health_cache}

# Where POST /v1/translate/NAME forwards the body (joined to the provider's url).
# The mock providers echo the request they received.
[translate.apertium]
path = "/echo"
[translate.yandex]
path = "/echo"
[translate.google]
path = "/echo"

[proxyscope]
proxy = "{egress}"                  # the global egress proxy
no_proxy = [".svc.cluster.local"]   # replaces NO_PROXY from the environment

[proxyscope.timeouts]
connect = "2s"
proxy = "2s"
tls = "2s"
request = "5s"

[proxyscope.providers.apertium]     # internal: never through the egress proxy
url = "{apertium}"
proxy = "direct"
required = true
[[proxyscope.providers.apertium.checks]]
name = "root"
path = "/"
expect_status = 200
body_contains = "ok"

[proxyscope.providers.yandex]       # its own proxy (with credentials) and its own CA
url = "https://{yandex_host}:{yandex_port}"
proxy = "{yandex_proxy}"
ca_file = {ca}
required = true
[[proxyscope.providers.yandex.checks]]
name = "echo"
path = "/echo"
expect_status = 200
body_contains = "method"

[proxyscope.providers.google]       # inherits the global proxy
url = "{google}"
required = false
"#,
            health_cache = toml_string(health_cache),
            egress = self.egress_proxy.url(),
            apertium = self.apertium.url(""),
            yandex_host = YANDEX_HOST,
            yandex_port = self.yandex.port(),
            yandex_proxy = self
                .yandex_proxy
                .url_with_credentials(YANDEX_PROXY_USER, YANDEX_PROXY_PASS),
            ca = q(self.pki.root_pem_path()),
            google = self.google.url(""),
        )
    }
}

fn yandex_auth() -> Policy {
    Policy::require_basic(YANDEX_PROXY_USER, YANDEX_PROXY_PASS, "yandex-egress")
}

/// A TOML basic string.
fn toml_string(s: &str) -> String {
    toml::Value::String(s.to_owned()).to_string()
}
