//! Settings layers and provenance: what a [`Settings`] holds, how a provider's layer overrides the
//! global one, and where every value came from ([`Provenance`]).
//!
//! A key a provider sets replaces the global value wholesale (lists are not merged); a key it
//! omits is inherited. The environment is the lowest source and is consulted by the route
//! resolver, not stored here.

use std::fmt;
use std::path::PathBuf;
use std::str::FromStr;
use std::time::Duration;

use serde::Serialize;

use crate::diagnostic::printable;
use crate::hop::Phase;
use crate::parse_error::ParseError;
use crate::proxy::{NoProxy, ProxyUrl, ProxyUrlError};

/// Where a value came from, like `git config --show-origin`.
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "lowercase")]
pub enum Provenance {
    /// A configuration file: the file, 1-based line and column, and the key path.
    File {
        /// The file's path as given.
        path: PathBuf,
        /// 1-based line.
        line: u32,
        /// 1-based column.
        col: u32,
        /// The dotted key path, e.g. `providers.yandex.proxy`.
        key: String,
    },
    /// A configuration embedded in another format, where positions are unknown.
    Embedded {
        /// The dotted key path.
        key: String,
    },
    /// An environment variable.
    Env {
        /// The variable's name, exactly as found.
        var: String,
    },
    /// Set through the builder API.
    Builder {
        /// The setting's key, e.g. `proxy`.
        key: String,
    },
    /// Nothing set it; the built-in default applies.
    Default,
}

impl fmt::Display for Provenance {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::File {
                path,
                line,
                col,
                key,
            } => {
                let path = path.display().to_string();
                write!(
                    f,
                    "file:{}:{line}:{col} ({})",
                    printable(&path),
                    printable(key)
                )
            }
            Self::Embedded { key } => write!(f, "config ({})", printable(key)),
            Self::Env { var } => write!(f, "env:{}", printable(var)),
            Self::Builder { key } => write!(f, "builder ({})", printable(key)),
            Self::Default => f.write_str("default"),
        }
    }
}

/// A value with its [`Provenance`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Sourced<T> {
    /// The value.
    pub value: T,
    /// Where it came from.
    pub origin: Provenance,
}

impl<T> Sourced<T> {
    /// A value with an origin.
    pub fn new(value: T, origin: Provenance) -> Self {
        Self { value, origin }
    }

    /// A value set through the builder API under `key`.
    pub fn builder(value: T, key: &str) -> Self {
        Self::new(
            value,
            Provenance::Builder {
                key: key.to_owned(),
            },
        )
    }
}

/// What a layer says about the proxy.
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum ProxySetting {
    /// `"direct"`: never use a proxy.
    Direct,
    /// `"env"`: consult the environment (curl's rules).
    Env,
    /// This proxy.
    Url(ProxyUrl),
}

impl ProxySetting {
    /// Parses `"direct"`, `"env"` or a proxy URL.
    pub fn parse(s: &str) -> Result<Self, ProxyUrlError> {
        match s.trim() {
            v if v.eq_ignore_ascii_case("direct") => Ok(Self::Direct),
            v if v.eq_ignore_ascii_case("env") => Ok(Self::Env),
            v => ProxyUrl::parse(v).map(Self::Url),
        }
    }
}

/// Like [`ProxySetting::parse`].
impl FromStr for ProxySetting {
    type Err = ProxyUrlError;

    fn from_str(s: &str) -> Result<Self, ProxyUrlError> {
        Self::parse(s)
    }
}

impl fmt::Display for ProxySetting {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Direct => f.write_str("direct"),
            Self::Env => f.write_str("env"),
            Self::Url(u) => fmt::Display::fmt(u, f),
        }
    }
}

/// Which root certificates a hop trusts before `ca_file` is added.
#[non_exhaustive]
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Roots {
    /// Mozilla's roots bundled through `webpki-roots`.
    #[default]
    Webpki,
    /// The operating system's store, through `rustls-native-certs`.
    System,
    /// Only the configured `ca_file`s.
    None,
}

/// Parses `webpki`, `system` or `none` (exactly; the configuration spelling).
impl FromStr for Roots {
    type Err = ParseError;

    fn from_str(s: &str) -> Result<Self, ParseError> {
        match s {
            "webpki" => Ok(Self::Webpki),
            "system" => Ok(Self::System),
            "none" => Ok(Self::None),
            _ => Err(ParseError::new(s, "webpki, system or none")),
        }
    }
}

impl Roots {
    /// The configuration spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Webpki => "webpki",
            Self::System => "system",
            Self::None => "none",
        }
    }
}

/// Per-phase timeouts; each is optional in a layer.
#[non_exhaustive]
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Timeouts {
    /// TCP connect (each address).
    pub connect: Option<Sourced<Duration>>,
    /// CONNECT / SOCKS handshake, TLS to an https proxy included.
    pub proxy: Option<Sourced<Duration>>,
    /// TLS handshake with the origin.
    pub tls: Option<Sourced<Duration>>,
    /// The whole request, from sending to the response head.
    pub request: Option<Sourced<Duration>>,
}

impl Timeouts {
    /// Built-in defaults: connect 10s, proxy 10s, tls 10s, request 30s.
    pub const DEFAULT_CONNECT: Duration = Duration::from_secs(10);
    /// Default proxy handshake timeout.
    pub const DEFAULT_PROXY: Duration = Duration::from_secs(10);
    /// Default TLS handshake timeout.
    pub const DEFAULT_TLS: Duration = Duration::from_secs(10);
    /// Default request timeout.
    pub const DEFAULT_REQUEST: Duration = Duration::from_secs(30);

    /// Each timeout of `self`, else of `base` (per key, not wholesale).
    pub fn over(&self, base: &Timeouts) -> Timeouts {
        Timeouts {
            connect: self.connect.clone().or_else(|| base.connect.clone()),
            proxy: self.proxy.clone().or_else(|| base.proxy.clone()),
            tls: self.tls.clone().or_else(|| base.tls.clone()),
            request: self.request.clone().or_else(|| base.request.clone()),
        }
    }

    /// The connect timeout in force.
    pub fn connect_or_default(&self) -> Duration {
        self.connect
            .as_ref()
            .map_or(Self::DEFAULT_CONNECT, |s| s.value)
    }
    /// The proxy handshake timeout in force.
    pub fn proxy_or_default(&self) -> Duration {
        self.proxy.as_ref().map_or(Self::DEFAULT_PROXY, |s| s.value)
    }
    /// The TLS handshake timeout in force.
    pub fn tls_or_default(&self) -> Duration {
        self.tls.as_ref().map_or(Self::DEFAULT_TLS, |s| s.value)
    }
    /// The request timeout in force.
    pub fn request_or_default(&self) -> Duration {
        self.request
            .as_ref()
            .map_or(Self::DEFAULT_REQUEST, |s| s.value)
    }
}

/// Caps on what is read into memory, each optional in a layer (merged per key, like
/// [`Timeouts`]). Exceeding one is `http.body_too_large`, never an allocation failure.
#[non_exhaustive]
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Limits {
    /// `limits.max_body`: the most bytes [`Response::bytes`](crate::Response::bytes) and
    /// [`Response::text`](crate::Response::text) read into memory.
    pub max_body: Option<Sourced<u64>>,
    /// `limits.check_body`: the most bytes of a body a probe check reads (the `body_contains`
    /// search stops there).
    pub check_body: Option<Sourced<u64>>,
}

impl Limits {
    /// Default `max_body`: 16 MiB.
    pub const DEFAULT_MAX_BODY: u64 = 16 * 1024 * 1024;
    /// Default `check_body`: 1 MiB (a health endpoint's answer is small; a check that reads a
    /// whole download is not a health check).
    pub const DEFAULT_CHECK_BODY: u64 = 1024 * 1024;

    /// Each limit of `self`, else of `base` (per key).
    pub fn over(&self, base: &Limits) -> Limits {
        Limits {
            max_body: self.max_body.clone().or_else(|| base.max_body.clone()),
            check_body: self.check_body.clone().or_else(|| base.check_body.clone()),
        }
    }

    /// The `max_body` in force.
    pub fn max_body_or_default(&self) -> u64 {
        self.max_body
            .as_ref()
            .map_or(Self::DEFAULT_MAX_BODY, |s| s.value)
    }

    /// The `check_body` in force.
    pub fn check_body_or_default(&self) -> u64 {
        self.check_body
            .as_ref()
            .map_or(Self::DEFAULT_CHECK_BODY, |s| s.value)
    }
}

/// One layer of settings: the global layer or a provider's. Every field is optional; `None`
/// means "not set here, inherit".
#[non_exhaustive]
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Settings {
    /// `proxy`: URL, `"direct"` or `"env"`; with a list, its first entry.
    pub proxy: Option<Sourced<ProxySetting>>,
    /// `proxy = [..]`: the whole list, tried in order on connect failure (`proxy` holds its
    /// first entry, so code that reads one proxy sees the primary). Each entry is a URL or
    /// `"direct"`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub proxy_list: Option<Sourced<Vec<ProxySetting>>>,
    /// `pac`: a proxy auto-config file (feature `pac`), consulted where `proxy` would be when
    /// this layer sets no `proxy`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pac: Option<Sourced<PathBuf>>,
    /// `no_proxy`: applies to whichever proxy was chosen.
    pub no_proxy: Option<Sourced<NoProxy>>,
    /// `roots`: the base trust store for the origin hop.
    pub roots: Option<Sourced<Roots>>,
    /// `ca_file`: PEM files added to the origin hop's roots (absolute paths).
    pub ca_file: Option<Sourced<Vec<PathBuf>>>,
    /// `proxy_ca_file`: PEM files trusted for `https://` proxies (the proxy hop).
    pub proxy_ca_file: Option<Sourced<Vec<PathBuf>>>,
    /// `danger_accept_invalid_certs`: skip origin certificate verification.
    pub danger_accept_invalid_certs: Option<Sourced<bool>>,
    /// `timeouts`: merged per key.
    pub timeouts: Timeouts,
    /// `limits`: merged per key.
    pub limits: Limits,
}

impl Settings {
    /// An empty layer: everything inherited.
    pub fn new() -> Self {
        Self::default()
    }

    /// Sets `proxy` (builder origin).
    pub fn with_proxy(mut self, setting: ProxySetting) -> Self {
        self.proxy = Some(Sourced::builder(setting, "proxy"));
        self
    }

    /// Sets `proxy` to a failover list (builder origin): URLs and `"direct"`, tried in order on
    /// connect failure. An empty list leaves `proxy` unset.
    pub fn with_proxy_list(mut self, list: impl IntoIterator<Item = ProxySetting>) -> Self {
        let list: Vec<ProxySetting> = list.into_iter().collect();
        let Some(first) = list.first().cloned() else {
            return self;
        };
        self.proxy = Some(Sourced::builder(first, "proxy"));
        self.proxy_list = (list.len() > 1).then(|| Sourced::builder(list, "proxy"));
        self
    }

    /// Sets `pac`, the proxy auto-config file (builder origin).
    pub fn with_pac(mut self, path: impl Into<PathBuf>) -> Self {
        self.pac = Some(Sourced::builder(path.into(), "pac"));
        self
    }

    /// Sets `no_proxy` (builder origin).
    pub fn with_no_proxy(mut self, list: NoProxy) -> Self {
        self.no_proxy = Some(Sourced::builder(list, "no_proxy"));
        self
    }

    /// Sets `roots` (builder origin).
    pub fn with_roots(mut self, roots: Roots) -> Self {
        self.roots = Some(Sourced::builder(roots, "roots"));
        self
    }

    /// Sets `ca_file` (builder origin).
    pub fn with_ca_file(mut self, files: impl IntoIterator<Item = impl Into<PathBuf>>) -> Self {
        let files = files.into_iter().map(Into::into).collect();
        self.ca_file = Some(Sourced::builder(files, "ca_file"));
        self
    }

    /// Sets `proxy_ca_file` (builder origin).
    pub fn with_proxy_ca_file(
        mut self,
        files: impl IntoIterator<Item = impl Into<PathBuf>>,
    ) -> Self {
        let files = files.into_iter().map(Into::into).collect();
        self.proxy_ca_file = Some(Sourced::builder(files, "proxy_ca_file"));
        self
    }

    /// Sets `danger_accept_invalid_certs` (builder origin).
    pub fn with_danger_accept_invalid_certs(mut self, yes: bool) -> Self {
        self.danger_accept_invalid_certs =
            Some(Sourced::builder(yes, "danger_accept_invalid_certs"));
        self
    }

    /// Sets one timeout (builder origin).
    pub fn with_timeout(mut self, phase: Phase, d: Duration) -> Self {
        let s = Some(Sourced::builder(d, &format!("timeouts.{phase}")));
        match phase {
            Phase::Connect | Phase::Dns => self.timeouts.connect = s,
            Phase::Proxy => self.timeouts.proxy = s,
            Phase::Tls => self.timeouts.tls = s,
            Phase::Http | Phase::Config => self.timeouts.request = s,
        }
        self
    }

    /// Sets `limits.max_body`, in bytes (builder origin).
    pub fn with_max_body(mut self, bytes: u64) -> Self {
        self.limits.max_body = Some(Sourced::builder(bytes, "limits.max_body"));
        self
    }

    /// Sets `limits.check_body`, in bytes (builder origin).
    pub fn with_check_body(mut self, bytes: u64) -> Self {
        self.limits.check_body = Some(Sourced::builder(bytes, "limits.check_body"));
        self
    }

    /// This layer over `base`: each key set here wins wholesale, the rest is inherited;
    /// timeouts and limits merge per key.
    pub fn over(&self, base: &Settings) -> Settings {
        Settings {
            proxy: self.proxy.clone().or_else(|| base.proxy.clone()),
            // The list goes with the `proxy` it belongs to.
            proxy_list: if self.proxy.is_some() {
                self.proxy_list.clone()
            } else {
                base.proxy_list.clone()
            },
            pac: self.pac.clone().or_else(|| base.pac.clone()),
            no_proxy: self.no_proxy.clone().or_else(|| base.no_proxy.clone()),
            roots: self.roots.clone().or_else(|| base.roots.clone()),
            ca_file: self.ca_file.clone().or_else(|| base.ca_file.clone()),
            proxy_ca_file: self
                .proxy_ca_file
                .clone()
                .or_else(|| base.proxy_ca_file.clone()),
            danger_accept_invalid_certs: self
                .danger_accept_invalid_certs
                .clone()
                .or_else(|| base.danger_accept_invalid_certs.clone()),
            timeouts: self.timeouts.over(&base.timeouts),
            limits: self.limits.over(&base.limits),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn provider_keys_replace_global_wholesale_and_inherit_the_rest() {
        let global = Settings::new()
            .with_proxy(ProxySetting::parse("http://global.test:3128").unwrap())
            .with_ca_file(["/a.pem", "/b.pem"])
            .with_timeout(Phase::Connect, Duration::from_secs(3));
        let provider = Settings::new()
            .with_ca_file(["/c.pem"])
            .with_timeout(Phase::Tls, Duration::from_secs(4));
        let eff = provider.over(&global);
        assert_eq!(eff.proxy, global.proxy);
        assert_eq!(eff.ca_file.unwrap().value, vec![PathBuf::from("/c.pem")]);
        assert_eq!(eff.timeouts.connect_or_default(), Duration::from_secs(3));
        assert_eq!(eff.timeouts.tls_or_default(), Duration::from_secs(4));
        assert_eq!(eff.timeouts.request_or_default(), Timeouts::DEFAULT_REQUEST);
        assert_eq!(eff.limits.max_body_or_default(), Limits::DEFAULT_MAX_BODY);
        let eff = Settings::new()
            .with_check_body(10)
            .over(&Settings::new().with_max_body(20).with_check_body(30));
        assert_eq!(
            (
                eff.limits.max_body_or_default(),
                eff.limits.check_body_or_default()
            ),
            (20, 10)
        );
    }

    #[test]
    fn proxy_setting_keywords() {
        assert_eq!(ProxySetting::parse("direct").unwrap(), ProxySetting::Direct);
        assert_eq!(ProxySetting::parse("ENV").unwrap(), ProxySetting::Env);
        assert!(matches!(
            ProxySetting::parse("proxy.test:3128").unwrap(),
            ProxySetting::Url(_)
        ));
    }
}
