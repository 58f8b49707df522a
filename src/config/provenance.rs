//! Where each value came from. [`Source`] turns a position in a file (or an embedded config)
//! into an [`Provenance`] and a `file:line:col` location, and resolves relative paths against the
//! config file's directory; [`Setting`] is one effective value with its origin, the rows of
//! `probe config --show-origin`.

use std::path::{Path, PathBuf};

use serde::Serialize;

use super::duration;
use super::node::Pos;
use super::size;
use crate::proxy::EnvSnapshot;
use crate::settings::{
    OriginAuth, PemSource, Provenance, ProxySetting, Roots, Settings, Sourced, TlsVersion,
};

/// The document a configuration was read from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Source {
    /// The file as named by the caller; `None` for a config embedded in another format.
    pub(crate) path: Option<PathBuf>,
    /// Where relative file paths resolve.
    pub(crate) base_dir: PathBuf,
    /// The key of the table that holds the document when it is a section of a larger file
    /// (`proxyscope`): key paths in origins and diagnostics start with it.
    pub(crate) section: Option<String>,
}

impl Source {
    /// A TOML file (or text named after one).
    pub(crate) fn file(path: &Path) -> Self {
        let base_dir = match path.parent() {
            Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
            _ => current_dir(),
        };
        Self {
            path: Some(path.to_path_buf()),
            base_dir: absolute(&base_dir),
            section: None,
        }
    }

    /// A configuration embedded in another serde format: positions are unknown and relative
    /// paths resolve against the working directory.
    pub(crate) fn embedded() -> Self {
        Self {
            path: None,
            base_dir: current_dir(),
            section: None,
        }
    }

    /// `path` (relative to the document) as a key path of the whole file: inside a section,
    /// `providers.a.url` is `proxyscope.providers.a.url`, and the document itself is
    /// `proxyscope`.
    pub(crate) fn qualify(&self, path: &str) -> String {
        match (&self.section, path.is_empty()) {
            (None, _) => path.to_owned(),
            (Some(section), true) => section.clone(),
            (Some(section), false) => format!("{section}.{path}"),
        }
    }

    /// The origin of the value at `key` (a dotted key path) found at `pos`.
    pub(crate) fn origin(&self, key: &str, pos: Option<Pos>) -> Provenance {
        let key = self.qualify(key);
        match (&self.path, pos) {
            (Some(path), Some(pos)) => Provenance::File {
                path: path.clone(),
                line: pos.line,
                col: pos.col,
                key,
            },
            _ => Provenance::Embedded { key },
        }
    }

    /// `file:line:col`, or `None` when positions are unknown.
    pub(crate) fn location(&self, pos: Option<Pos>) -> Option<String> {
        match (&self.path, pos) {
            (Some(path), Some(pos)) => Some(format!("{}:{}:{}", path.display(), pos.line, pos.col)),
            _ => None,
        }
    }

    /// `p` as written, made absolute against the config file's directory.
    pub(crate) fn resolve(&self, p: &str) -> PathBuf {
        let p = Path::new(p);
        if p.is_absolute() {
            p.to_path_buf()
        } else {
            self.base_dir.join(p)
        }
    }
}

fn current_dir() -> PathBuf {
    std::env::current_dir().unwrap_or_else(|_| PathBuf::from("."))
}

fn absolute(p: &Path) -> PathBuf {
    if p.is_absolute() {
        p.to_path_buf()
    } else {
        current_dir().join(p)
    }
}

/// The `file:line:col` part of an origin, for diagnostics about values already in a [`Settings`].
pub(crate) fn origin_location(origin: &Provenance) -> Option<String> {
    match origin {
        Provenance::File {
            path, line, col, ..
        } => Some(format!("{}:{line}:{col}", path.display())),
        _ => None,
    }
}

/// One effective setting: the key, its value as it would be written (credentials redacted),
/// and where it came from.
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Setting {
    /// The key, e.g. `proxy`, `timeouts.connect`.
    pub key: String,
    /// The value as text; proxy credentials are never included.
    pub value: String,
    /// Where it came from (`Provenance::Default` for built-in defaults).
    pub origin: Provenance,
}

impl Setting {
    /// A row: `key`, the value as text (the caller masks secrets), and its origin.
    pub fn new(key: impl Into<String>, value: impl Into<String>, origin: Provenance) -> Self {
        Self {
            key: key.into(),
            value: value.into(),
            origin,
        }
    }
}

/// Every setting of an effective layer, defaults included, in a fixed order. With `env`, a
/// proxy or `no_proxy` the layer leaves to the environment is followed there too (curl's rules),
/// with the variable as origin.
pub(crate) fn settings(layer: &Settings, env: Option<&EnvSnapshot>) -> Vec<Setting> {
    let mut out = Vec::new();
    let mut push = |key: &str, value: Option<(String, Provenance)>, default: &str| {
        let (value, origin) = value.unwrap_or_else(|| (default.to_owned(), Provenance::Default));
        out.push(Setting {
            key: key.to_owned(),
            value,
            origin,
        });
    };
    push(
        "proxy",
        layer
            .proxy
            .as_ref()
            .map(|s| (s.value.to_string(), s.origin.clone())),
        "env",
    );
    if layer.no_proxy.is_some() || env.is_none_or(|e| e.no_proxy().is_none()) {
        push(
            "no_proxy",
            layer
                .no_proxy
                .as_ref()
                .map(|s| (no_proxy_text(&s.value), s.origin.clone())),
            "[]",
        );
    }
    if let Some(env) = env {
        let uses_env = layer
            .proxy
            .as_ref()
            .is_none_or(|p| p.value == ProxySetting::Env);
        if uses_env {
            for scheme in ["http", "https"] {
                let lookup = env.proxy_for(scheme);
                let (value, origin) = match (&lookup.found, &lookup.proxy) {
                    (Some(var), Some(Ok(url))) => (
                        url.to_string(),
                        Provenance::Env {
                            var: var.name.clone(),
                        },
                    ),
                    (Some(var), _) => (
                        format!("{} (invalid)", var.redacted()),
                        Provenance::Env {
                            var: var.name.clone(),
                        },
                    ),
                    (None, _) => ("direct (no variable set)".to_owned(), Provenance::Default),
                };
                out.push(Setting {
                    key: format!("proxy.{scheme}"),
                    value,
                    origin,
                });
            }
        }
        if layer.no_proxy.is_none()
            && let Some(np) = env.no_proxy()
        {
            out.push(Setting {
                key: "no_proxy".to_owned(),
                value: no_proxy_text(&np.list),
                origin: Provenance::Env {
                    var: np.var.name.clone(),
                },
            });
        }
    }
    let mut push = |key: &str, value: Option<(String, Provenance)>, default: &str| {
        let (value, origin) = value.unwrap_or_else(|| (default.to_owned(), Provenance::Default));
        out.push(Setting {
            key: key.to_owned(),
            value,
            origin,
        });
    };
    push(
        "roots",
        layer
            .roots
            .as_ref()
            .map(|s| (s.value.as_str().to_owned(), s.origin.clone())),
        Roots::default().as_str(),
    );
    push("ca_file", files(layer.ca_file.as_ref()), "[]");
    push("proxy_ca_file", files(layer.proxy_ca_file.as_ref()), "[]");
    push(
        "danger_accept_invalid_certs",
        layer
            .danger_accept_invalid_certs
            .as_ref()
            .map(|s| (s.value.to_string(), s.origin.clone())),
        "false",
    );
    push(
        "danger_accept_invalid_hostnames",
        layer
            .danger_accept_invalid_hostnames
            .as_ref()
            .map(|s| (s.value.to_string(), s.origin.clone())),
        "false",
    );
    for (key, v) in [
        ("min_tls_version", &layer.min_tls_version),
        ("proxy_min_tls_version", &layer.proxy_min_tls_version),
    ] {
        let shown = v
            .as_ref()
            .map(|s| (s.value.as_str().to_owned(), s.origin.clone()));
        push(key, shown, TlsVersion::default().as_str());
    }
    for (key, v) in [
        ("client_cert", &layer.client_cert),
        ("client_key", &layer.client_key),
        ("proxy_client_cert", &layer.proxy_client_cert),
        ("proxy_client_key", &layer.proxy_client_key),
    ] {
        push(
            key,
            v.as_ref().map(|s| (s.value.describe(), s.origin.clone())),
            "none",
        );
    }
    for (key, v) in [
        ("ca_certs", &layer.ca_certs),
        ("proxy_ca_certs", &layer.proxy_ca_certs),
    ] {
        if let Some(s) = v {
            let list: Vec<String> = s.value.iter().map(PemSource::describe).collect();
            push(
                key,
                Some((format!("[{}]", list.join(", ")), s.origin.clone())),
                "[]",
            );
        }
    }
    // Credentials: where the secret comes from, never the secret.
    push(
        "proxy_auth",
        layer.proxy_auth.as_ref().map(|s| {
            let a = &s.value;
            (
                format!(
                    "username {}, password from {}",
                    a.username,
                    a.password.describe()
                ),
                s.origin.clone(),
            )
        }),
        "none",
    );
    if let Some(s) = &layer.auth {
        let text = match &s.value {
            OriginAuth::Basic { username, password } => {
                format!(
                    "basic: username {username}, password from {}",
                    password.describe()
                )
            }
            OriginAuth::Bearer { token } => format!("bearer: token from {}", token.describe()),
        };
        push("auth", Some((text, s.origin.clone())), "none");
    }
    push(
        "proxy_headers",
        layer
            .proxy_headers
            .as_ref()
            .map(|s| (format!("{{{}}}", s.value.describe()), s.origin.clone())),
        "{}",
    );
    let t = &layer.timeouts;
    for (key, value, default) in [
        ("timeouts.connect", &t.connect, t.connect_or_default()),
        ("timeouts.proxy", &t.proxy, t.proxy_or_default()),
        ("timeouts.tls", &t.tls, t.tls_or_default()),
        ("timeouts.request", &t.request, t.request_or_default()),
    ] {
        push(
            key,
            value
                .as_ref()
                .map(|s| (duration::format(s.value), s.origin.clone())),
            &duration::format(default),
        );
    }
    let l = &layer.limits;
    for (key, value, default) in [
        ("limits.max_body", &l.max_body, l.max_body_or_default()),
        (
            "limits.check_body",
            &l.check_body,
            l.check_body_or_default(),
        ),
    ] {
        push(
            key,
            value
                .as_ref()
                .map(|s| (size::format(s.value), s.origin.clone())),
            &size::format(default),
        );
    }
    out
}

fn files(v: Option<&Sourced<Vec<PathBuf>>>) -> Option<(String, Provenance)> {
    v.map(|s| {
        let list: Vec<String> = s
            .value
            .iter()
            .map(|p| format!("{:?}", p.display().to_string()))
            .collect();
        (format!("[{}]", list.join(", ")), s.origin.clone())
    })
}

fn no_proxy_text(list: &crate::proxy::NoProxy) -> String {
    let items: Vec<String> = list.entries().iter().map(|e| format!("{e:?}")).collect();
    format!("[{}]", items.join(", "))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn no_proxy_entries_are_shown_without_credentials() {
        // Found by tests/secrets_redaction.rs: a URL-shaped entry with userinfo was shown as is.
        let list = crate::proxy::NoProxy::parse("localhost,http://u:s3cr3t@x.test/");
        assert_eq!(
            no_proxy_text(&list),
            r#"["localhost", "http://***@x.test/"]"#
        );
    }

    #[test]
    fn file_origin_and_location() {
        let src = Source::file(Path::new("/etc/proxyscope/cfg.toml"));
        let pos = Some(Pos { line: 3, col: 5 });
        assert_eq!(
            src.origin("providers.a.proxy", pos),
            Provenance::File {
                path: "/etc/proxyscope/cfg.toml".into(),
                line: 3,
                col: 5,
                key: "providers.a.proxy".into()
            }
        );
        assert_eq!(
            src.location(pos).as_deref(),
            Some("/etc/proxyscope/cfg.toml:3:5")
        );
        assert_eq!(
            src.resolve("ca.pem"),
            PathBuf::from("/etc/proxyscope/ca.pem")
        );
        assert_eq!(src.resolve("/abs.pem"), PathBuf::from("/abs.pem"));
    }

    #[test]
    fn settings_follow_the_layer_into_the_environment() {
        let env = EnvSnapshot::from_pairs([
            ("https_proxy", "http://u:s3cret@egress.test:3128"),
            ("NO_PROXY", "localhost,.svc.test"),
        ]);
        let s = settings(&Settings::new(), Some(&env));
        let get = |k: &str| {
            s.iter()
                .find(|s| s.key == k)
                .unwrap_or_else(|| panic!("{k}: {s:?}"))
        };
        assert_eq!(get("proxy").value, "env");
        assert_eq!(get("proxy.https").value, "http://egress.test:3128");
        assert_eq!(
            get("proxy.https").origin,
            Provenance::Env {
                var: "https_proxy".into()
            }
        );
        assert_eq!(get("proxy.http").origin, Provenance::Default);
        assert_eq!(
            get("no_proxy").origin,
            Provenance::Env {
                var: "NO_PROXY".into()
            }
        );
        assert_eq!(s.iter().filter(|s| s.key == "no_proxy").count(), 1);
        assert!(!format!("{s:?}").contains("s3cret"));
        // A layer that sets its proxy never consults the environment.
        let set = Settings::new().with_proxy(ProxySetting::Direct);
        assert!(
            settings(&set, Some(&env))
                .iter()
                .all(|s| s.key != "proxy.https")
        );
    }

    #[test]
    fn embedded_has_no_location() {
        let src = Source::embedded();
        assert_eq!(
            src.origin("proxy", Some(Pos { line: 1, col: 1 })),
            Provenance::Embedded {
                key: "proxy".into()
            }
        );
        assert_eq!(src.location(None), None);
        assert!(src.resolve("x.pem").is_absolute());
    }

    #[test]
    fn settings_list_defaults_with_default_origin() {
        let s = settings(&Settings::new(), None);
        let roots = s.iter().find(|s| s.key == "roots").unwrap();
        assert_eq!(roots.value, "webpki");
        assert_eq!(roots.origin, Provenance::Default);
        let req = s.iter().find(|s| s.key == "timeouts.request").unwrap();
        assert_eq!(req.value, "30s");
        let body = s.iter().find(|s| s.key == "limits.max_body").unwrap();
        assert_eq!(
            (body.value.as_str(), &body.origin),
            ("16MiB", &Provenance::Default)
        );
        let check = s.iter().find(|s| s.key == "limits.check_body").unwrap();
        assert_eq!(check.value, "1MiB");
    }
}
