//! Settings layers and provenance: what a [`Settings`] holds, how a provider's layer overrides the
//! global one, and where every value came from ([`Provenance`]).
//!
//! A key a provider sets replaces the global value wholesale (lists are not merged); a key it
//! omits is inherited. The environment is the lowest source and is consulted by the route
//! resolver, not stored here.

use std::fmt;
use std::path::PathBuf;
use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use rustls_pki_types::CertificateDer;
use serde::Serialize;

pub use crate::credentials::{OriginAuth, ProxyAuth, SecretSource};
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

/// PEM text in a file or in memory: CA certificates, a client certificate chain, or its key.
///
/// `Debug` and `Serialize` show the path, or only the size of what is in memory (a key is a
/// secret).
#[non_exhaustive]
#[derive(Clone, PartialEq, Eq)]
pub enum PemSource {
    /// A file, read when the client is built.
    File(PathBuf),
    /// PEM text handed to the builder.
    Memory(Arc<[u8]>),
}

impl PemSource {
    /// `the file PATH` or `PEM in memory (N bytes)`, for people.
    pub fn describe(&self) -> String {
        match self {
            Self::File(p) => p.display().to_string(),
            Self::Memory(b) => format!("PEM in memory ({} bytes)", b.len()),
        }
    }

    /// DER certificates as PEM text in memory.
    pub fn from_certs<'a>(certs: impl IntoIterator<Item = &'a CertificateDer<'a>>) -> Self {
        use base64::Engine as _;
        let mut pem = String::new();
        for c in certs {
            let b64 = base64::engine::general_purpose::STANDARD.encode(c.as_ref());
            pem.push_str("-----BEGIN CERTIFICATE-----\n");
            for line in b64.as_bytes().chunks(64) {
                pem.push_str(&String::from_utf8_lossy(line));
                pem.push('\n');
            }
            pem.push_str("-----END CERTIFICATE-----\n");
        }
        Self::Memory(Arc::from(pem.into_bytes()))
    }
}

impl fmt::Debug for PemSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::File(p) => f.debug_tuple("File").field(p).finish(),
            Self::Memory(b) => write!(f, "Memory({} bytes)", b.len()),
        }
    }
}

impl Serialize for PemSource {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.describe())
    }
}

/// The oldest TLS version a hop accepts (`min_tls_version`, `proxy_min_tls_version`).
#[non_exhaustive]
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub enum TlsVersion {
    /// TLS 1.2 and 1.3 (the default).
    #[default]
    #[serde(rename = "1.2")]
    Tls12,
    /// TLS 1.3 only.
    #[serde(rename = "1.3")]
    Tls13,
}

impl FromStr for TlsVersion {
    type Err = ParseError;

    /// `"1.2"` or `"1.3"` (surrounding blanks ignored).
    fn from_str(s: &str) -> Result<Self, ParseError> {
        match s.trim() {
            "1.2" => Ok(Self::Tls12),
            "1.3" => Ok(Self::Tls13),
            _ => Err(ParseError::new(s, "1.2 or 1.3")),
        }
    }
}

impl std::fmt::Display for TlsVersion {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl TlsVersion {
    /// The configuration spelling, `1.2` or `1.3`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Tls12 => "1.2",
            Self::Tls13 => "1.3",
        }
    }
}

/// Extra headers sent to the proxy (`proxy_headers`), in order.
///
/// Values of headers whose name says it holds a credential
/// ([`is_secret_header`](crate::proxy::redact::is_secret_header): `auth`, `token`, `key`,
/// `secret`, `cookie`, `password`, `session`, …) are shown as `***` by `Debug` and `Serialize`.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct ProxyHeaders(pub Vec<(String, String)>);

impl ProxyHeaders {
    /// Whether a header of this name carries a credential, so its value is never shown: the
    /// rule of every header, [`is_secret_header`](crate::proxy::redact::is_secret_header).
    pub fn is_sensitive(name: &str) -> bool {
        crate::proxy::redact::is_secret_header(name)
    }

    fn shown(&self) -> Vec<(&str, &str)> {
        self.0
            .iter()
            .map(|(n, v)| {
                let v = if Self::is_sensitive(n) {
                    "***"
                } else {
                    v.as_str()
                };
                (n.as_str(), v)
            })
            .collect()
    }

    /// `Name: value, Name: ***`, for people.
    pub fn describe(&self) -> String {
        self.shown()
            .iter()
            .map(|(n, v)| format!("{n}: {v}"))
            .collect::<Vec<_>>()
            .join(", ")
    }
}

impl fmt::Debug for ProxyHeaders {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list().entries(self.shown()).finish()
    }
}

impl Serialize for ProxyHeaders {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        let shown = self.shown();
        let mut m = s.serialize_map(Some(shown.len()))?;
        for (n, v) in shown {
            m.serialize_entry(n, v)?;
        }
        m.end()
    }
}

/// Per-phase timeouts; each is optional in a layer.
#[non_exhaustive]
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Timeouts {
    /// Resolving a hop's name and the TCP connect to its addresses, together (as curl's
    /// connect timeout); `Phase::Dns` sets it too.
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
    /// CA certificates handed to the builder in memory, trusted for the origin hop besides
    /// `roots` and `ca_file` (provenance: builder).
    pub ca_certs: Option<Sourced<Vec<PemSource>>>,
    /// CA certificates handed to the builder in memory, trusted for an `https://` proxy besides
    /// `proxy_ca_file`.
    pub proxy_ca_certs: Option<Sourced<Vec<PemSource>>>,
    /// `client_cert`: the client certificate (chain, leaf first) presented to origins that ask.
    pub client_cert: Option<Sourced<PemSource>>,
    /// `client_key`: the private key of `client_cert` (unencrypted PEM: PKCS#8, PKCS#1 or SEC1).
    pub client_key: Option<Sourced<PemSource>>,
    /// `proxy_client_cert`: the client certificate presented to an `https://` proxy.
    pub proxy_client_cert: Option<Sourced<PemSource>>,
    /// `proxy_client_key`: the private key of `proxy_client_cert`.
    pub proxy_client_key: Option<Sourced<PemSource>>,
    /// `min_tls_version`: the oldest TLS version accepted from origins.
    pub min_tls_version: Option<Sourced<TlsVersion>>,
    /// `proxy_min_tls_version`: the oldest TLS version accepted from an `https://` proxy.
    pub proxy_min_tls_version: Option<Sourced<TlsVersion>>,
    /// `danger_accept_invalid_hostnames`: accept an origin certificate that chains to a trusted
    /// root but does not name the host.
    pub danger_accept_invalid_hostnames: Option<Sourced<bool>>,
    /// `proxy_auth`: credentials for the proxy, outside its URL.
    pub proxy_auth: Option<Sourced<ProxyAuth>>,
    /// `auth`: credentials for a provider's origin (only in a provider's layer).
    pub auth: Option<Sourced<OriginAuth>>,
    /// `proxy_headers`: extra headers sent to the proxy on CONNECT and absolute-form requests.
    pub proxy_headers: Option<Sourced<ProxyHeaders>>,
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

    /// Adds CA certificates given as PEM text to the origin hop's trust (builder origin; they
    /// are parsed when the client is built, where a bad one fails with `config.ca_file`).
    pub fn with_ca_pem(mut self, pem: impl AsRef<[u8]>) -> Self {
        let add = PemSource::Memory(Arc::from(pem.as_ref()));
        push_memory(&mut self.ca_certs, add, "ca_certs");
        self
    }

    /// Adds DER CA certificates to the origin hop's trust (builder origin).
    pub fn with_ca_certs<'a>(
        mut self,
        certs: impl IntoIterator<Item = &'a CertificateDer<'a>>,
    ) -> Self {
        push_memory(&mut self.ca_certs, PemSource::from_certs(certs), "ca_certs");
        self
    }

    /// Adds CA certificates given as PEM text to the `https://` proxy hop's trust.
    pub fn with_proxy_ca_pem(mut self, pem: impl AsRef<[u8]>) -> Self {
        let add = PemSource::Memory(Arc::from(pem.as_ref()));
        push_memory(&mut self.proxy_ca_certs, add, "proxy_ca_certs");
        self
    }

    /// Adds DER CA certificates to the `https://` proxy hop's trust.
    pub fn with_proxy_ca_certs<'a>(
        mut self,
        certs: impl IntoIterator<Item = &'a CertificateDer<'a>>,
    ) -> Self {
        push_memory(
            &mut self.proxy_ca_certs,
            PemSource::from_certs(certs),
            "proxy_ca_certs",
        );
        self
    }

    /// Sets `client_cert` and `client_key` to PEM files (builder origin).
    pub fn with_client_cert_files(
        mut self,
        cert: impl Into<PathBuf>,
        key: impl Into<PathBuf>,
    ) -> Self {
        self.client_cert = Some(Sourced::builder(
            PemSource::File(cert.into()),
            "client_cert",
        ));
        self.client_key = Some(Sourced::builder(PemSource::File(key.into()), "client_key"));
        self
    }

    /// Sets `client_cert` and `client_key` to PEM text held in memory (builder origin).
    pub fn with_client_cert_pem(mut self, cert: impl AsRef<[u8]>, key: impl AsRef<[u8]>) -> Self {
        let (c, k) = memory_pair(cert.as_ref(), key.as_ref());
        self.client_cert = Some(Sourced::builder(c, "client_cert"));
        self.client_key = Some(Sourced::builder(k, "client_key"));
        self
    }

    /// Sets `proxy_client_cert` and `proxy_client_key` to PEM files (builder origin).
    pub fn with_proxy_client_cert_files(
        mut self,
        cert: impl Into<PathBuf>,
        key: impl Into<PathBuf>,
    ) -> Self {
        let c = PemSource::File(cert.into());
        self.proxy_client_cert = Some(Sourced::builder(c, "proxy_client_cert"));
        let k = PemSource::File(key.into());
        self.proxy_client_key = Some(Sourced::builder(k, "proxy_client_key"));
        self
    }

    /// Sets `proxy_client_cert` and `proxy_client_key` to PEM text held in memory.
    pub fn with_proxy_client_cert_pem(
        mut self,
        cert: impl AsRef<[u8]>,
        key: impl AsRef<[u8]>,
    ) -> Self {
        let (c, k) = memory_pair(cert.as_ref(), key.as_ref());
        self.proxy_client_cert = Some(Sourced::builder(c, "proxy_client_cert"));
        self.proxy_client_key = Some(Sourced::builder(k, "proxy_client_key"));
        self
    }

    /// Sets `min_tls_version` (origins).
    pub fn with_min_tls_version(mut self, v: TlsVersion) -> Self {
        self.min_tls_version = Some(Sourced::builder(v, "min_tls_version"));
        self
    }

    /// Sets `proxy_min_tls_version` (`https://` proxies).
    pub fn with_proxy_min_tls_version(mut self, v: TlsVersion) -> Self {
        self.proxy_min_tls_version = Some(Sourced::builder(v, "proxy_min_tls_version"));
        self
    }

    /// Sets `danger_accept_invalid_hostnames` (builder origin).
    pub fn with_danger_accept_invalid_hostnames(mut self, yes: bool) -> Self {
        self.danger_accept_invalid_hostnames =
            Some(Sourced::builder(yes, "danger_accept_invalid_hostnames"));
        self
    }

    /// Sets `proxy_auth` (builder origin).
    pub fn with_proxy_auth(mut self, auth: ProxyAuth) -> Self {
        self.proxy_auth = Some(Sourced::builder(auth, "proxy_auth"));
        self
    }

    /// Sets `auth`, the origin's credentials (builder origin; meaningful in a provider's layer).
    pub fn with_auth(mut self, auth: OriginAuth) -> Self {
        self.auth = Some(Sourced::builder(auth, "auth"));
        self
    }

    /// Adds one of `proxy_headers` (builder origin).
    pub fn with_proxy_header(mut self, name: &str, value: &str) -> Self {
        let mut headers = self
            .proxy_headers
            .take()
            .filter(|h| matches!(h.origin, Provenance::Builder { .. }))
            .map(|h| h.value)
            .unwrap_or_default();
        headers.0.push((name.to_owned(), value.to_owned()));
        self.proxy_headers = Some(Sourced::builder(headers, "proxy_headers"));
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
            ca_certs: pick(&self.ca_certs, &base.ca_certs),
            proxy_ca_certs: pick(&self.proxy_ca_certs, &base.proxy_ca_certs),
            client_cert: pick(&self.client_cert, &base.client_cert),
            client_key: pick(&self.client_key, &base.client_key),
            proxy_client_cert: pick(&self.proxy_client_cert, &base.proxy_client_cert),
            proxy_client_key: pick(&self.proxy_client_key, &base.proxy_client_key),
            min_tls_version: pick(&self.min_tls_version, &base.min_tls_version),
            proxy_min_tls_version: pick(&self.proxy_min_tls_version, &base.proxy_min_tls_version),
            danger_accept_invalid_hostnames: pick(
                &self.danger_accept_invalid_hostnames,
                &base.danger_accept_invalid_hostnames,
            ),
            proxy_auth: pick(&self.proxy_auth, &base.proxy_auth),
            // A provider's credentials are never inherited from the global layer: they would be
            // sent to every provider's origin.
            auth: self.auth.clone(),
            proxy_headers: pick(&self.proxy_headers, &base.proxy_headers),
            limits: self.limits.over(&base.limits),
        }
    }
}

fn pick<T: Clone>(own: &Option<Sourced<T>>, base: &Option<Sourced<T>>) -> Option<Sourced<T>> {
    own.clone().or_else(|| base.clone())
}

/// Appends to a builder-set list, or starts one (replacing a value from elsewhere: a layer's
/// key is set wholesale).
fn push_memory(slot: &mut Option<Sourced<Vec<PemSource>>>, add: PemSource, key: &str) {
    let mut list = slot
        .take()
        .filter(|s| matches!(s.origin, Provenance::Builder { .. }))
        .map(|s| s.value)
        .unwrap_or_default();
    list.push(add);
    *slot = Some(Sourced::builder(list, key));
}

fn memory_pair(cert: &[u8], key: &[u8]) -> (PemSource, PemSource) {
    (
        PemSource::Memory(Arc::from(cert)),
        PemSource::Memory(Arc::from(key)),
    )
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
