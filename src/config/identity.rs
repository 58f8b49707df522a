//! The keys about who we are and what we send: client certificates (`client_cert`,
//! `client_key`, `proxy_client_cert`, `proxy_client_key`), credentials kept outside URLs
//! (`proxy_auth`, a provider's `auth`), `proxy_headers`, the oldest TLS version per hop and
//! `danger_accept_invalid_hostnames`.
//!
//! Parsing turns each into its typed value with its origin; the checks after the walk load
//! every certificate/key pair once (missing file, encrypted key, key that does not match,
//! certificate without key are errors; an expired certificate is a warning) and read every
//! password file, so a deployment that forgot to mount one fails at startup. Environment
//! variables are checked by [`Config::lint`](super::Config::lint), which has the environment.

use std::collections::BTreeMap;
use std::path::PathBuf;

use super::node::{Entry, Node, Value};
use super::suggest;
use super::walk::{AUTH_KEYS, PROXY_AUTH_KEYS, Walker, join};
use crate::credentials::{OriginAuth, ProxyAuth, SecretSource};
use crate::diagnostic::{Diagnostic, Severity};
use crate::proxy::EnvSnapshot;
use crate::settings::{PemSource, ProxyHeaders, ProxySetting, Settings, Sourced, TlsVersion};
use crate::tls::{ClientIdentity, IdentityProblem};

/// The certificate/key pairs of a layer: (certificate key, key key, hop noun).
const PAIRS: [(&str, &str); 2] = [
    ("client_cert", "client_key"),
    ("proxy_client_cert", "proxy_client_key"),
];

impl Walker<'_> {
    /// One of this module's layer keys; `false` when `e` is not one of them.
    pub(crate) fn identity_key(&mut self, layer: &mut Settings, prefix: &str, e: &Entry) -> bool {
        let path = join(prefix, &e.key);
        let origin = self.src.origin(&path, e.key_pos);
        let node = &e.node;
        match e.key.as_str() {
            "client_cert" | "client_key" | "proxy_client_cert" | "proxy_client_key" => {
                let Some(p) = self.pem_path(&path, node) else {
                    return true;
                };
                let slot = match e.key.as_str() {
                    "client_cert" => &mut layer.client_cert,
                    "client_key" => &mut layer.client_key,
                    "proxy_client_cert" => &mut layer.proxy_client_cert,
                    _ => &mut layer.proxy_client_key,
                };
                *slot = Some(Sourced::new(PemSource::File(p), origin));
            }
            "min_tls_version" | "proxy_min_tls_version" => {
                let v = match &node.value {
                    Value::Str(s) => s.parse::<TlsVersion>().ok(),
                    Value::Float(f) if (*f - 1.2).abs() < 1e-9 => Some(TlsVersion::Tls12),
                    Value::Float(f) if (*f - 1.3).abs() < 1e-9 => Some(TlsVersion::Tls13),
                    _ => None,
                };
                let Some(v) = v else {
                    self.diag(
                        Severity::Error,
                        "invalid_value",
                        &path,
                        node.pos,
                        format!("`{}` must be \"1.2\" or \"1.3\"", e.key),
                        Some(format!(
                            "write `{} = \"1.3\"` (or \"1.2\", the default)",
                            e.key
                        )),
                    );
                    return true;
                };
                let slot = if e.key == "min_tls_version" {
                    &mut layer.min_tls_version
                } else {
                    &mut layer.proxy_min_tls_version
                };
                *slot = Some(Sourced::new(v, origin));
            }
            "danger_accept_invalid_hostnames" => {
                if let Some(b) = self.boolean(&path, node) {
                    if b {
                        self.diag(
                            Severity::Warning,
                            "danger_accept_invalid_hostnames",
                            &path,
                            node.pos,
                            "host name verification is off: a certificate a trusted CA issued for any other host is accepted",
                            Some("remove `danger_accept_invalid_hostnames` and connect with a host name the server's certificate names".into()),
                        );
                    }
                    layer.danger_accept_invalid_hostnames = Some(Sourced::new(b, origin));
                }
            }
            "proxy_auth" => {
                if let Some(a) = self.proxy_auth(&path, node) {
                    layer.proxy_auth = Some(Sourced::new(a, origin));
                }
            }
            "auth" => {
                if let Some(a) = self.origin_auth(&path, node) {
                    layer.auth = Some(Sourced::new(a, origin));
                }
            }
            "proxy_headers" => {
                if let Some(h) = self.proxy_headers(&path, node) {
                    layer.proxy_headers = Some(Sourced::new(h, origin));
                }
            }
            _ => return false,
        }
        true
    }

    /// A PEM file path (relative to the config file), refusing PEM text pasted in.
    fn pem_path(&mut self, path: &str, node: &Node) -> Option<PathBuf> {
        let raw = self.string(path, node, "write the PEM file's path as a string")?;
        if raw.trim_start().starts_with("-----BEGIN") {
            self.diag(
                Severity::Error,
                "client_cert.not_a_path",
                path,
                node.pos,
                "this is PEM content, not a file path",
                Some(format!(
                    "save the PEM to a file and set `{path} = \"/path/to/file.pem\"` (or pass the PEM to the builder)"
                )),
            );
            return None;
        }
        Some(self.src.resolve(raw.trim()))
    }

    /// The entries of a table at `path`, or a type error suggesting `example`.
    fn table<'n>(&mut self, path: &str, node: &'n Node, example: &str) -> Option<&'n [Entry]> {
        match &node.value {
            Value::Table(t) => Some(t),
            other => {
                let d = self
                    .type_error(path, node.pos, "a table", other)
                    .with_suggestion(format!("write `{example}`"));
                self.diags.push(d);
                None
            }
        }
    }

    /// `{ username = "...", password_env = "VAR" }` or `password_file = "path"`.
    fn proxy_auth(&mut self, path: &str, node: &Node) -> Option<ProxyAuth> {
        let example = "proxy_auth = { username = \"svc\", password_env = \"PROXY_PASSWORD\" }";
        let entries = self.table(path, node, example)?;
        let fields = self.secret_fields(path, entries, PROXY_AUTH_KEYS)?;
        let user = fields.get("username").cloned();
        let secret = self.one_secret(path, node, &fields, "password", example)?;
        let Some(user) = user else {
            self.diag(
                Severity::Error,
                "proxy_auth.username_missing",
                path,
                node.pos,
                "`proxy_auth` has no `username`",
                Some(format!("write `{example}`")),
            );
            return None;
        };
        Some(ProxyAuth::new(user, secret))
    }

    /// `{ username, password_env | password_file }` (Basic) or `{ bearer_env | bearer_file }`.
    fn origin_auth(&mut self, path: &str, node: &Node) -> Option<OriginAuth> {
        let example = "auth = { bearer_env = \"API_TOKEN\" }";
        let entries = self.table(path, node, example)?;
        let fields = self.secret_fields(path, entries, AUTH_KEYS)?;
        let has = |k: &str| fields.contains_key(k);
        let basic = has("username") || has("password_env") || has("password_file");
        let bearer = has("bearer_env") || has("bearer_file");
        if basic && bearer {
            self.diag(
                Severity::Error,
                "auth.conflict",
                path,
                node.pos,
                "`auth` sets both Basic (`username`/`password_*`) and Bearer (`bearer_*`) credentials",
                Some("keep one: `{ username = \"u\", password_env = \"VAR\" }` or `{ bearer_env = \"VAR\" }`".into()),
            );
            return None;
        }
        if bearer {
            let token = self.one_secret(path, node, &fields, "bearer", example)?;
            return Some(OriginAuth::bearer(token));
        }
        let password = self.one_secret(path, node, &fields, "password", example)?;
        let Some(user) = fields.get("username").cloned() else {
            self.diag(
                Severity::Error,
                "auth.username_missing",
                path,
                node.pos,
                "Basic `auth` has no `username`",
                Some("write `auth = { username = \"u\", password_env = \"VAR\" }`".into()),
            );
            return None;
        };
        Some(OriginAuth::basic(user, password))
    }

    /// The string fields of a credentials table; a literal secret or an unknown key is an error.
    fn secret_fields(
        &mut self,
        path: &str,
        entries: &[Entry],
        valid: &[&str],
    ) -> Option<BTreeMap<String, String>> {
        let mut out = BTreeMap::new();
        let mut ok = true;
        for e in entries {
            let kpath = join(path, &e.key);
            if matches!(e.key.as_str(), "password" | "token" | "bearer") {
                self.diag(
                    Severity::Error,
                    "credentials.literal",
                    &kpath,
                    e.key_pos,
                    "a secret written in the configuration file ends up in backups, repositories and `probe config` screens",
                    Some(format!(
                        "put it in an environment variable or a file and write `{0}_env = \"VAR\"` or `{0}_file = \"/run/secrets/...\"`",
                        if e.key == "password" { "password" } else { "bearer" }
                    )),
                );
                ok = false;
                continue;
            }
            if !valid.contains(&e.key.as_str()) {
                let fix = match suggest::did_you_mean(&e.key, valid) {
                    Some(near) => format!("did you mean `{near}`?"),
                    None => format!("valid keys here: {}", valid.join(", ")),
                };
                self.diag(
                    Severity::Error,
                    "unknown_key",
                    &kpath,
                    e.key_pos,
                    format!("unknown key `{}` in `{path}`", e.key),
                    Some(fix),
                );
                ok = false;
                continue;
            }
            match self.string(&kpath, &e.node, "write a string") {
                Some(s) if s.trim().is_empty() => {
                    self.diag(
                        Severity::Error,
                        "credentials.empty_name",
                        &kpath,
                        e.node.pos,
                        format!("`{}` is empty", e.key),
                        Some("name the variable or file that holds the secret".into()),
                    );
                    ok = false;
                }
                Some(s) => {
                    let v = if e.key.ends_with("_file") {
                        self.src.resolve(s.trim()).display().to_string()
                    } else {
                        s.trim().to_owned()
                    };
                    out.insert(e.key.clone(), v);
                }
                None => ok = false,
            }
        }
        ok.then_some(out)
    }

    /// Exactly one of `WHAT_env` and `WHAT_file`.
    fn one_secret(
        &mut self,
        path: &str,
        node: &Node,
        fields: &BTreeMap<String, String>,
        what: &str,
        example: &str,
    ) -> Option<SecretSource> {
        let env = fields.get(&format!("{what}_env"));
        let file = fields.get(&format!("{what}_file"));
        match (env, file) {
            (Some(v), None) => Some(SecretSource::env(v)),
            (None, Some(f)) => Some(SecretSource::file(f)),
            (Some(_), Some(_)) => {
                self.diag(
                    Severity::Error,
                    "credentials.conflict",
                    path,
                    node.pos,
                    format!("both `{what}_env` and `{what}_file` are set"),
                    Some(format!("keep one of `{what}_env` and `{what}_file`")),
                );
                None
            }
            (None, None) => {
                self.diag(
                    Severity::Error,
                    "credentials.missing_secret",
                    path,
                    node.pos,
                    format!("`{path}` names no `{what}_env` or `{what}_file`"),
                    Some(format!("write `{example}`")),
                );
                None
            }
        }
    }

    /// `proxy_headers = { "X-Egress-Tag" = "translation" }`.
    fn proxy_headers(&mut self, path: &str, node: &Node) -> Option<ProxyHeaders> {
        let entries = self.table(path, node, "proxy_headers = { \"X-Egress-Tag\" = \"svc\" }")?;
        let mut out = Vec::new();
        for e in entries {
            let kpath = join(path, &e.key);
            let Some(v) = self.string(&kpath, &e.node, "write the header's value as a string")
            else {
                continue;
            };
            let name_ok = http::HeaderName::from_bytes(e.key.as_bytes()).is_ok();
            let value_ok = http::HeaderValue::from_str(v).is_ok();
            if !name_ok || !value_ok {
                self.diag(
                    Severity::Error,
                    "proxy_headers.invalid",
                    &kpath,
                    e.key_pos,
                    format!(
                        "`{}` is not a valid header {}",
                        e.key,
                        if name_ok { "value" } else { "name" }
                    ),
                    Some(
                        "header names are tokens (letters, digits, `-`); values are visible ASCII"
                            .into(),
                    ),
                );
                continue;
            }
            if e.key.eq_ignore_ascii_case("proxy-authorization") {
                self.diag(
                    Severity::Warning,
                    "proxy_headers.credentials",
                    &kpath,
                    e.key_pos,
                    "a literal Proxy-Authorization header keeps the credential in the configuration file",
                    Some("use `proxy_auth = { username = \"...\", password_env = \"VAR\" }` instead".into()),
                );
            }
            out.push((e.key.clone(), v.to_owned()));
        }
        Some(ProxyHeaders(out))
    }

    /// After the walk: the pairs of the layer at `prefix` (effective layer `eff`, own layer
    /// `own` for a provider) load and match, and its password files are there.
    pub(crate) fn identity_checks(&mut self, prefix: &str, eff: &Settings, own: Option<&Settings>) {
        let is_own = |f: fn(&Settings) -> bool| own.is_none_or(f);
        for (cert_key, key_key) in PAIRS {
            let (cert, key, mine) = match cert_key {
                "client_cert" => (
                    &eff.client_cert,
                    &eff.client_key,
                    is_own(|l| l.client_cert.is_some() || l.client_key.is_some()),
                ),
                _ => (
                    &eff.proxy_client_cert,
                    &eff.proxy_client_key,
                    is_own(|l| l.proxy_client_cert.is_some() || l.proxy_client_key.is_some()),
                ),
            };
            // Inherited pairs were checked at the top level.
            if !mine {
                continue;
            }
            match (cert, key) {
                (None, None) => {}
                (Some(c), None) => self.pair_problem(
                    &join(prefix, cert_key),
                    &c.origin,
                    IdentityProblem::Unpaired,
                    format!(
                        "`{}` is set without `{}`",
                        join(prefix, cert_key),
                        join(prefix, key_key)
                    ),
                ),
                (None, Some(k)) => self.pair_problem(
                    &join(prefix, key_key),
                    &k.origin,
                    IdentityProblem::Unpaired,
                    format!(
                        "`{}` is set without `{}`",
                        join(prefix, key_key),
                        join(prefix, cert_key)
                    ),
                ),
                (Some(c), Some(k)) => match ClientIdentity::load(&c.value, &k.value) {
                    Ok(id) => {
                        for w in id.warnings() {
                            let leaf = id.leaf();
                            self.pair_problem(
                                &join(prefix, cert_key),
                                &c.origin,
                                w,
                                format!(
                                    "client certificate `{}` {} (valid {} .. {})",
                                    leaf.subject,
                                    if w == IdentityProblem::Expired {
                                        "has expired"
                                    } else {
                                        "is not yet valid"
                                    },
                                    leaf.not_before,
                                    leaf.not_after
                                ),
                            );
                        }
                    }
                    Err(e) => {
                        let (path, origin) = match e.part {
                            crate::tls::IdentityPart::Cert => (join(prefix, cert_key), &c.origin),
                            crate::tls::IdentityPart::Key => (join(prefix, key_key), &k.origin),
                        };
                        self.pair_problem(&path, origin, e.problem, e.to_string());
                    }
                },
            }
        }
        for (key, secret, mine) in [
            (
                "proxy_auth",
                eff.proxy_auth
                    .as_ref()
                    .map(|a| (&a.value.password, &a.origin)),
                is_own(|l| l.proxy_auth.is_some()),
            ),
            (
                "auth",
                eff.auth.as_ref().map(|a| (a.value.secret(), &a.origin)),
                true,
            ),
        ] {
            let Some((src @ SecretSource::File(_), origin)) = secret.filter(|_| mine) else {
                continue;
            };
            if let Err(e) = src.resolve(&EnvSnapshot::default()) {
                let d = Diagnostic::new(
                    Severity::Error,
                    format!("credentials.{}", e.problem().as_str()),
                    join(prefix, key),
                    super::provenance::origin_location(origin),
                    e.to_string(),
                )
                .with_suggestion("put the secret in the file (one line), or point the setting at the file that holds it");
                self.diags.push(d);
            }
        }
        let url_has_credentials = eff
            .proxy
            .as_ref()
            .is_some_and(|p| matches!(&p.value, ProxySetting::Url(u) if u.username().is_some()));
        if url_has_credentials && eff.proxy_auth.is_some() && is_own(|l| l.proxy_auth.is_some()) {
            let origin = eff.proxy_auth.as_ref().map(|a| a.origin.clone());
            let d = Diagnostic::new(
                Severity::Warning,
                "proxy_auth.overrides_url",
                join(prefix, "proxy_auth"),
                origin.as_ref().and_then(super::provenance::origin_location),
                "the proxy URL carries credentials too; `proxy_auth` wins and the URL's are never sent",
            )
            .with_suggestion("remove the user name and password from the proxy URL");
            self.diags.push(d);
        }
    }

    fn pair_problem(
        &mut self,
        path: &str,
        origin: &crate::settings::Provenance,
        problem: IdentityProblem,
        message: String,
    ) {
        let severity = if problem.is_warning() {
            Severity::Warning
        } else {
            Severity::Error
        };
        let d = Diagnostic::new(
            severity,
            format!("client_cert.{}", problem.as_str()),
            path,
            super::provenance::origin_location(origin),
            message,
        )
        .with_suggestion(problem.suggestion());
        self.diags.push(d);
    }
}

/// Findings that need the environment: a `*_env` credential whose variable is unset or empty.
pub(crate) fn env_findings(layers: &[(String, &Settings)], env: &EnvSnapshot) -> Vec<Diagnostic> {
    let mut out = Vec::new();
    for (prefix, layer) in layers {
        for (key, auth) in [
            (
                "proxy_auth",
                layer
                    .proxy_auth
                    .as_ref()
                    .map(|a| (&a.value.password, &a.origin)),
            ),
            (
                "auth",
                layer.auth.as_ref().map(|a| (a.value.secret(), &a.origin)),
            ),
        ] {
            let Some((src @ SecretSource::Env(var), origin)) = auth else {
                continue;
            };
            if let Err(e) = src.resolve(env) {
                out.push(
                    Diagnostic::new(
                        Severity::Error,
                        format!("credentials.{}", e.problem().as_str()),
                        join(prefix, key),
                        super::provenance::origin_location(origin),
                        e.to_string(),
                    )
                    .with_suggestion(format!(
                        "set {var} (non-empty) in the environment of the service, or change `{}`",
                        join(prefix, key)
                    )),
                );
            }
        }
    }
    out
}
