//! [`EnvSnapshot`]: the proxy-related environment, read once, interpreted by curl's rules
//! (stated below), remembering every variable that is present but ignored and why.
//!
//! curl's order for a URL scheme `s`:
//! - `http` / `ws`: (`ws_proxy`, `WS_PROXY` for ws), then `http_proxy` only. `HTTP_PROXY` is
//!   never read: in CGI, the request header `Proxy:` arrives as `HTTP_PROXY` (httpoxy).
//! - `https` / `wss`: (`wss_proxy`, `WSS_PROXY` for wss), then `https_proxy`, `HTTPS_PROXY`.
//! - any other scheme: `s_proxy`, `S_PROXY`.
//! - then `all_proxy`, `ALL_PROXY`.
//!
//! `no_proxy` comes before `NO_PROXY`. An empty value counts as unset (curl_getenv).

use std::collections::HashMap;
use std::fmt;
use std::sync::{Arc, OnceLock};

use serde::Serialize;

use super::no_proxy::NoProxy;
use super::peers::{PeerNote, PeerView, Tool};
use super::redact::{redact_list, redact_text, redact_url};
use super::url::{ProxyUrl, ProxyUrlError};

/// One environment variable that was consulted. Debug redacts credentials in the value.
#[non_exhaustive]
#[derive(Clone, PartialEq, Eq)]
pub struct EnvVar {
    /// The name, exactly as found.
    pub name: String,
    /// The value, as found. May carry credentials: print it through [`EnvVar::redacted`].
    pub value: String,
}

impl EnvVar {
    /// The value as it may be printed: a proxy variable read as one URL, a `no_proxy` variable
    /// as a list, anything else as free text; credentials and secret query values masked.
    pub fn redacted(&self) -> String {
        redacted_value(&self.name, &self.value)
    }
}

/// `value` of the variable `name`, printable: see [`EnvVar::redacted`].
fn redacted_value(name: &str, value: &str) -> String {
    let lower = name.to_ascii_lowercase();
    if lower == "no_proxy" {
        redact_list(value)
    } else if lower.ends_with("_proxy") {
        redact_url(value)
    } else {
        redact_text(value)
    }
}

impl fmt::Debug for EnvVar {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}={:?}", self.name, self.redacted())
    }
}

/// Why a variable that is present has no effect.
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum IgnoredReason {
    /// `HTTP_PROXY` is never read (httpoxy).
    Httpoxy,
    /// The value is empty, which counts as unset.
    Empty,
    /// An uppercase variable with a different value is shadowed by its lowercase twin.
    ShadowedByLowercase,
    /// A mixed-case name (`Http_Proxy`): curl reads only all-lowercase or all-uppercase names.
    MixedCase,
    /// `REQUEST_METHOD` (CGI): curl ignores it, other tools change their proxy use.
    RequestMethod,
}

impl IgnoredReason {
    /// The stable code, e.g. `"httpoxy"`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Httpoxy => "httpoxy",
            Self::Empty => "empty",
            Self::ShadowedByLowercase => "shadowed_by_lowercase",
            Self::MixedCase => "mixed_case",
            Self::RequestMethod => "request_method",
        }
    }
}

/// A variable present but ignored, why, and which other tools would use it.
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct IgnoredVar {
    /// The variable's name, exactly as found.
    pub var: String,
    /// The machine-readable reason.
    pub code: IgnoredReason,
    /// Why it was ignored, for people.
    pub reason: String,
    /// Other tools that would read it, and what they would do.
    pub used_by: Vec<PeerNote>,
}

impl IgnoredVar {
    /// Whether this variable matters for a URL of `scheme`: the variables curl would consult
    /// for it, the `no_proxy` pair, and CGI's `REQUEST_METHOD`.
    pub fn concerns(&self, scheme: &str) -> bool {
        let lower = self.var.to_ascii_lowercase();
        match lower.strip_suffix("_proxy") {
            Some("no" | "all") => true,
            Some("http") => matches!(scheme, "http" | "ws"),
            Some("https") => matches!(scheme, "https" | "wss"),
            Some(s) => s == scheme,
            None => self.code == IgnoredReason::RequestMethod,
        }
    }
}

/// What curl consulted for one scheme, and what it found.
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EnvLookup {
    /// The URL scheme the lookup was for (lowercase).
    pub scheme: String,
    /// The variables curl consults, in order.
    pub consulted: Vec<&'static str>,
    /// The first consulted variable with a non-empty value.
    pub found: Option<EnvVar>,
    /// That value parsed; `None` when nothing was found.
    pub proxy: Option<Result<ProxyUrl, ProxyUrlError>>,
}

/// The `no_proxy` list from the environment, with the variable it came from.
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EnvNoProxy {
    /// `no_proxy` or `NO_PROXY`, and its value.
    pub var: EnvVar,
    /// The value parsed by curl's rules.
    pub list: NoProxy,
}

/// The proxy-related environment, read once. Tests build one from pairs instead of `set_var`.
#[derive(Clone, Default)]
pub struct EnvSnapshot {
    /// Relevant variables with non-empty values, by exact name.
    vars: HashMap<String, String>,
    /// Parsed proxy values, by exact name (parsed once, looked up per route).
    parsed: HashMap<String, Result<ProxyUrl, ProxyUrlError>>,
    no_proxy: Option<EnvNoProxy>,
    ignored: Vec<IgnoredVar>,
    /// The `no_proxy` value as other tools read it, parsed on first use (the first route
    /// explained under this list) and shared by every clone of the snapshot.
    peer_view: Arc<OnceLock<PeerView>>,
    /// Every other variable, empty ones included, kept only so that credentials named by a
    /// `*_env` setting resolve from the same snapshot; never printed, never serialised.
    others: std::sync::Arc<HashMap<String, String>>,
}

fn is_relevant(name: &str) -> bool {
    name == "REQUEST_METHOD"
        || name == "PROXYSCOPE_PAC"
        || (name.len() > 6 && name.to_ascii_lowercase().ends_with("_proxy"))
        || is_ca_var(name)
}

/// The environment variables other tools read a CA bundle from. The snapshot keeps them (see
/// [`EnvSnapshot::var`]) so TLS diagnosis can cross-reference them on failure; they are never
/// treated as proxy variables.
pub const CA_ENV_VARS: &[&str] = &[
    "SSL_CERT_FILE",
    "NODE_EXTRA_CA_CERTS",
    "REQUESTS_CA_BUNDLE",
    "CURL_CA_BUNDLE",
];

fn is_ca_var(name: &str) -> bool {
    CA_ENV_VARS.contains(&name)
}

fn is_consulted_name(name: &str) -> bool {
    let lower = name.to_ascii_lowercase();
    (name == lower || name == name.to_ascii_uppercase()) && name != "HTTP_PROXY"
}

/// Tools that read `HTTP_PROXY` for http:// URLs, given whether `REQUEST_METHOD` is set.
fn http_proxy_users(cgi: bool) -> Vec<PeerNote> {
    let mut v = Vec::new();
    if cgi {
        v.push(PeerNote::new(
            Tool::Go,
            "reads HTTP_PROXY first, but with REQUEST_METHOD set returns an error for http:// \
             requests",
        ));
        v.push(PeerNote::new(
            Tool::NodeProxyFromEnv,
            "uses it (no httpoxy protection)",
        ));
    } else {
        v.push(PeerNote::new(
            Tool::Go,
            "reads HTTP_PROXY before http_proxy",
        ));
        v.push(PeerNote::new(
            Tool::PythonUrllib,
            "uses it when http_proxy is unset (names are case-insensitive)",
        ));
        v.push(PeerNote::new(Tool::Requests, "uses it through urllib"));
        v.push(PeerNote::new(
            Tool::NodeProxyFromEnv,
            "uses it when http_proxy is unset",
        ));
        v.push(PeerNote::new(
            Tool::HyperUtil,
            "reads HTTP_PROXY before http_proxy",
        ));
    }
    v
}

impl EnvSnapshot {
    /// Reads the process environment once (only the proxy-related variables).
    pub fn from_process() -> Self {
        Self::from_pairs(
            std::env::vars_os()
                .filter_map(|(k, v)| Some((k.into_string().ok()?, v.into_string().ok()?))),
        )
    }

    /// Builds a snapshot from pairs (tests, or an environment captured elsewhere).
    pub fn from_pairs<K: Into<String>, V: Into<String>>(
        pairs: impl IntoIterator<Item = (K, V)>,
    ) -> Self {
        let all: Vec<(String, String)> = pairs
            .into_iter()
            .map(|(k, v)| (k.into(), v.into()))
            .collect();
        let (mut present, others): (Vec<_>, Vec<_>) =
            all.into_iter().partition(|(k, _)| is_relevant(k));
        present.sort();
        present.dedup_by(|a, b| a.0 == b.0);
        let cgi = present.iter().any(|(k, _)| k == "REQUEST_METHOD");
        let mut snap = Self {
            others: std::sync::Arc::new(others.into_iter().collect()),
            ..Self::default()
        };
        for (name, value) in present.iter().filter(|(n, _)| !is_ca_var(n)) {
            snap.classify(name, value, &present, cgi);
        }
        for (name, value) in present {
            if value.is_empty() || name == "REQUEST_METHOD" {
                continue;
            }
            if is_consulted_name(&name)
                && !name.eq_ignore_ascii_case("no_proxy")
                && !is_ca_var(&name)
            {
                snap.parsed.insert(name.clone(), ProxyUrl::parse(&value));
            }
            snap.vars.insert(name, value);
        }
        snap.no_proxy = ["no_proxy", "NO_PROXY"].iter().find_map(|n| {
            let value = snap.vars.get(*n)?;
            Some(EnvNoProxy {
                var: EnvVar {
                    name: (*n).to_owned(),
                    value: value.clone(),
                },
                list: NoProxy::parse(value),
            })
        });
        snap
    }

    /// Records why `name` is ignored, if it is.
    fn classify(&mut self, name: &str, value: &str, all: &[(String, String)], cgi: bool) {
        let get = |n: &str| all.iter().find(|(k, _)| k == n).map(|(_, v)| v.as_str());
        let mut push = |code, reason: String, used_by| {
            self.ignored.push(IgnoredVar {
                var: name.to_owned(),
                code,
                reason,
                used_by,
            })
        };
        if name == "REQUEST_METHOD" {
            push(
                IgnoredReason::RequestMethod,
                "curl does not consult REQUEST_METHOD (it never reads HTTP_PROXY anyway)".into(),
                vec![
                    PeerNote::new(
                        Tool::HyperUtil,
                        "disables every proxy from the environment (HTTPS and ALL included)",
                    ),
                    PeerNote::new(
                        Tool::PythonUrllib,
                        "drops HTTP_PROXY (uppercase) but keeps http_proxy",
                    ),
                    PeerNote::new(
                        Tool::Go,
                        "returns an error for http:// requests with an HTTP proxy; HTTPS_PROXY \
                         still applies",
                    ),
                ],
            );
            return;
        }
        let lower = name.to_ascii_lowercase();
        if name != lower && name != name.to_ascii_uppercase() {
            push(
                IgnoredReason::MixedCase,
                format!(
                    "curl reads only `{lower}` or `{}`",
                    name.to_ascii_uppercase()
                ),
                vec![PeerNote::new(
                    Tool::PythonUrllib,
                    "matches variable names case-insensitively and would use it",
                )],
            );
            return;
        }
        if name == "HTTP_PROXY" {
            let mut reason = "curl never reads HTTP_PROXY: in CGI the request header `Proxy:` \
                              arrives as HTTP_PROXY (httpoxy), so only lowercase http_proxy \
                              counts"
                .to_owned();
            if value.is_empty() {
                reason.push_str(" (it is empty as well)");
            }
            push(IgnoredReason::Httpoxy, reason, http_proxy_users(cgi));
            return;
        }
        if value.is_empty() {
            let mut used_by = Vec::new();
            if name == lower {
                used_by.push(PeerNote::new(
                    Tool::PythonUrllib,
                    format!(
                        "an empty {name} removes the setting and masks {}",
                        name.to_ascii_uppercase()
                    ),
                ));
            } else {
                used_by.push(PeerNote::new(
                    Tool::HyperUtil,
                    format!("an empty {name} masks {lower}"),
                ));
            }
            push(
                IgnoredReason::Empty,
                "an empty value counts as unset".into(),
                used_by,
            );
            return;
        }
        if name != lower && get(&lower).is_some_and(|lv| !lv.is_empty() && lv != value) {
            let mut used_by = Vec::new();
            if matches!(name, "HTTPS_PROXY" | "NO_PROXY") {
                used_by.push(PeerNote::new(
                    Tool::Go,
                    format!("reads {name} before {lower}"),
                ));
            }
            if matches!(name, "ALL_PROXY" | "HTTPS_PROXY" | "NO_PROXY") {
                used_by.push(PeerNote::new(
                    Tool::HyperUtil,
                    format!("reads {name} before {lower}"),
                ));
            }
            push(
                IgnoredReason::ShadowedByLowercase,
                format!("{lower} is set to a different value and curl reads it first"),
                used_by,
            );
        }
    }

    /// The proxy variable for a URL scheme, by curl's rules (see the module docs).
    pub fn proxy_for(&self, scheme: &str) -> EnvLookup {
        let scheme = scheme.to_ascii_lowercase();
        let consulted = consulted_vars(&scheme);
        let found = consulted.iter().find_map(|n| {
            self.vars.get(*n).map(|v| EnvVar {
                name: (*n).to_owned(),
                value: v.clone(),
            })
        });
        let proxy = found
            .as_ref()
            .and_then(|f| self.parsed.get(&f.name).cloned());
        EnvLookup {
            scheme,
            consulted,
            found,
            proxy,
        }
    }

    /// The variables curl consults for a URL `scheme`, in order (see the module docs).
    pub fn consulted_vars(scheme: &str) -> Vec<&'static str> {
        consulted_vars(&scheme.to_ascii_lowercase())
    }

    /// `no_proxy`, else `NO_PROXY` (empty values count as unset), parsed once.
    pub fn no_proxy(&self) -> Option<&EnvNoProxy> {
        self.no_proxy.as_ref()
    }

    /// The `no_proxy` value as each other tool reads it (see [`PeerView`]), parsed once per
    /// snapshot: explaining a route only matches its host against it.
    pub(crate) fn no_proxy_peers(&self) -> Option<&PeerView> {
        let value = &self.no_proxy.as_ref()?.var.value;
        Some(self.peer_view.get_or_init(|| PeerView::new(value)))
    }

    /// Every relevant variable present but ignored, and why.
    pub fn ignored(&self) -> &[IgnoredVar] {
        &self.ignored
    }

    /// The value of one relevant variable (proxy variables, `REQUEST_METHOD`, and the CA-file
    /// variables of `tls::CA_ENV_VARS`), if present and non-empty.
    pub fn var(&self, name: &str) -> Option<&str> {
        self.vars.get(name).map(String::as_str)
    }

    /// The variable `name` of the snapshot, whatever it is (an empty value is `Some("")`): where
    /// a `password_env` or `bearer_env` credential is read. The values are never printed.
    pub(crate) fn credential_var(&self, name: &str) -> Option<&str> {
        self.vars
            .get(name)
            .or_else(|| self.others.get(name))
            .map(String::as_str)
    }
}

/// The names curl consults for `scheme`, in order. Names for the common schemes are static;
/// other schemes get leaked-free names from a small table of the ones curl speaks.
fn consulted_vars(scheme: &str) -> Vec<&'static str> {
    let mut v: Vec<&'static str> = Vec::with_capacity(6);
    match scheme {
        "http" => v.push("http_proxy"),
        "ws" => v.extend(["ws_proxy", "WS_PROXY", "http_proxy"]),
        "https" => v.extend(["https_proxy", "HTTPS_PROXY"]),
        "wss" => v.extend(["wss_proxy", "WSS_PROXY", "https_proxy", "HTTPS_PROXY"]),
        other => {
            if let Some(pair) = OTHER_SCHEMES.iter().find(|(s, _, _)| *s == other) {
                v.extend([pair.1, pair.2]);
            }
        }
    }
    v.extend(["all_proxy", "ALL_PROXY"]);
    v
}

/// The other schemes curl speaks, with their variable names.
const OTHER_SCHEMES: &[(&str, &str, &str)] = &[
    ("ftp", "ftp_proxy", "FTP_PROXY"),
    ("ftps", "ftps_proxy", "FTPS_PROXY"),
    ("gopher", "gopher_proxy", "GOPHER_PROXY"),
    ("gophers", "gophers_proxy", "GOPHERS_PROXY"),
    ("dict", "dict_proxy", "DICT_PROXY"),
    ("imap", "imap_proxy", "IMAP_PROXY"),
    ("imaps", "imaps_proxy", "IMAPS_PROXY"),
    ("pop3", "pop3_proxy", "POP3_PROXY"),
    ("pop3s", "pop3s_proxy", "POP3S_PROXY"),
    ("smtp", "smtp_proxy", "SMTP_PROXY"),
    ("smtps", "smtps_proxy", "SMTPS_PROXY"),
    ("rtsp", "rtsp_proxy", "RTSP_PROXY"),
    ("mqtt", "mqtt_proxy", "MQTT_PROXY"),
    ("ldap", "ldap_proxy", "LDAP_PROXY"),
    ("ldaps", "ldaps_proxy", "LDAPS_PROXY"),
    ("scp", "scp_proxy", "SCP_PROXY"),
    ("sftp", "sftp_proxy", "SFTP_PROXY"),
    ("smb", "smb_proxy", "SMB_PROXY"),
    ("smbs", "smbs_proxy", "SMBS_PROXY"),
    ("telnet", "telnet_proxy", "TELNET_PROXY"),
    ("tftp", "tftp_proxy", "TFTP_PROXY"),
];

impl fmt::Debug for EnvSnapshot {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut names: Vec<&String> = self.vars.keys().collect();
        names.sort();
        let vars: Vec<String> = names
            .into_iter()
            .map(|n| format!("{n}={}", redacted_value(n, &self.vars[n])))
            .collect();
        f.debug_struct("EnvSnapshot")
            .field("vars", &vars)
            .field("ignored", &self.ignored.len())
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Other tools' readings of the list are parsed once per snapshot and shared by its
    /// clones (every router of a client holds one), not per explained route.
    #[test]
    fn peer_readings_are_parsed_once_per_snapshot() {
        let env = EnvSnapshot::from_pairs([("NO_PROXY", ".a.test,10.0.0.0/8")]);
        let clone = env.clone();
        let first = env.no_proxy_peers().map(std::ptr::from_ref);
        assert!(first.is_some());
        assert_eq!(first, clone.no_proxy_peers().map(std::ptr::from_ref));
        assert_eq!(first, env.no_proxy_peers().map(std::ptr::from_ref));
        let none = EnvSnapshot::from_pairs([("https_proxy", "http://p.test:1")]);
        assert!(none.no_proxy_peers().is_none());
    }

    #[test]
    fn debug_never_shows_credentials() {
        let env = EnvSnapshot::from_pairs([("https_proxy", "http://u:secret@p:1")]);
        let dbg = format!("{env:?} {:?}", env.proxy_for("https"));
        assert!(!dbg.contains("secret"), "{dbg}");
        assert!(dbg.contains("https_proxy"));
    }

    #[test]
    fn unrelated_variables_are_not_kept() {
        let env = EnvSnapshot::from_pairs([("PATH", "/bin"), ("HOME", "/root")]);
        assert!(env.vars.is_empty() && env.ignored().is_empty());
    }
}
