//! Credentials on the wire: the `Proxy-Authorization: Basic …` header built from a proxy URL's
//! user name and password, or from the layer's `proxy_auth` (which wins); the origin's
//! `Authorization` from a provider's `auth`; the extra `proxy_headers`. Each is resolved once,
//! when the connector is built — a missing variable or file fails there, as `config.invalid`
//! naming the setting and where it was set — and every header carrying a secret is marked
//! sensitive so it never reaches `Debug` or logs.

use base64::Engine as _;
use http::{HeaderMap, HeaderName, HeaderValue};

use crate::credentials::{CredentialError, OriginAuth, Secret, SecretSource};
use crate::diagnostic::{Diagnostic, Severity};
use crate::error::{Error, ErrorKind};
use crate::proxy::{EnvSnapshot, ProxyUrl, Secrets};
use crate::settings::{Provenance, ProxyHeaders, Settings};

/// `Basic base64(user:password)` for a proxy URL with credentials, marked sensitive;
/// `None` when the URL has no user name. [`ProxyUrl::username`] and [`ProxyUrl::password`] are
/// already percent-decoded, so `p%40ss` in the URL is sent as `p@ss`.
pub fn basic_auth(proxy: &ProxyUrl) -> Option<HeaderValue> {
    let user = proxy.username()?;
    basic(user, proxy.password().unwrap_or(""))
}

fn basic(user: &str, pass: &str) -> Option<HeaderValue> {
    let token = base64::engine::general_purpose::STANDARD.encode(format!("{user}:{pass}"));
    sensitive(&format!("Basic {token}"))
}

fn sensitive(value: &str) -> Option<HeaderValue> {
    let mut value = HeaderValue::from_str(value).ok()?;
    value.set_sensitive(true);
    Some(value)
}

/// What one profile sends besides the request: resolved once, when the connector is built.
#[derive(Clone, Default)]
pub(crate) struct Credentials {
    /// `proxy_auth`: the user name and the resolved password.
    proxy: Option<(String, Secret)>,
    /// `Authorization` for the provider's origin.
    pub(crate) origin: Option<HeaderValue>,
    /// The builder's proxy headers followed by the layer's `proxy_headers`.
    pub(crate) proxy_headers: HeaderMap,
}

impl std::fmt::Debug for Credentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Credentials")
            .field("proxy_user", &self.proxy.as_ref().map(|(u, _)| u))
            .field("origin", &self.origin.as_ref().map(|_| "***"))
            .field("proxy_headers", &self.proxy_headers)
            .finish()
    }
}

impl Credentials {
    /// Resolves the effective layer's credentials with `env`. `provider` is the provider's name
    /// and own layer, which decides the key paths errors name.
    pub(crate) fn resolve(
        effective: &Settings,
        provider: Option<(&str, &Settings)>,
        env: &EnvSnapshot,
        builder_headers: &HeaderMap,
    ) -> Result<Self, Error> {
        let path = |own: bool, key: &str| match provider {
            Some((name, _)) if own => format!("providers.{name}.{key}"),
            _ => key.to_owned(),
        };
        let own = |f: fn(&Settings) -> bool| provider.is_some_and(|(_, l)| f(l));
        let mut out = Credentials {
            proxy_headers: builder_headers.clone(),
            ..Credentials::default()
        };
        if let Some(a) = &effective.proxy_auth {
            let base = path(own(|l| l.proxy_auth.is_some()), "proxy_auth");
            let pass = resolve_secret(&a.value.password, env, &base, "password", &a.origin)?;
            if basic(&a.value.username, pass.expose()).is_none() {
                return Err(bad_value(
                    &base,
                    &a.origin,
                    "the user name or password holds a character that cannot be sent in a header",
                ));
            }
            out.proxy = Some((a.value.username.clone(), pass));
        }
        if let Some(a) = &effective.auth {
            let base = path(true, "auth");
            let header = match &a.value {
                OriginAuth::Basic { username, password } => {
                    let pass = resolve_secret(password, env, &base, "password", &a.origin)?;
                    basic(username, pass.expose())
                }
                OriginAuth::Bearer { token } => {
                    let token = resolve_secret(token, env, &base, "bearer", &a.origin)?;
                    sensitive(&format!("Bearer {}", token.expose()))
                }
            };
            out.origin = Some(header.ok_or_else(|| {
                bad_value(
                    &base,
                    &a.origin,
                    "the credential holds a character that cannot be sent in a header",
                )
            })?);
        }
        if let Some(h) = &effective.proxy_headers {
            let base = path(own(|l| l.proxy_headers.is_some()), "proxy_headers");
            append_headers(&mut out.proxy_headers, &h.value, &base, &h.origin)?;
        }
        Ok(out)
    }

    /// The `Proxy-Authorization` value for `proxy`: `proxy_auth` when set, else the URL's
    /// credentials.
    pub(crate) fn proxy_authorization(&self, proxy: &ProxyUrl) -> Option<HeaderValue> {
        match &self.proxy {
            Some((user, pass)) => basic(user, pass.expose()),
            None => basic_auth(proxy),
        }
    }

    /// What a proxy may echo back from our handshake with `proxy`: the proxy URL's credentials,
    /// `proxy_auth`'s, and the values of the proxy headers.
    pub(crate) fn proxy_secrets(&self, proxy: &ProxyUrl) -> Secrets {
        let mut s = proxy_secrets(proxy, &self.proxy_headers);
        if let Some((user, pass)) = &self.proxy {
            s.add_credentials(user, Some(pass.expose()));
        }
        s
    }

    /// Whether there is no credential and no proxy header to add to any request.
    pub(crate) fn is_empty(&self) -> bool {
        self.proxy.is_none() && self.origin.is_none() && self.proxy_headers.is_empty()
    }

    /// Every credential this profile adds to requests, for scrubbing what a peer echoes: the
    /// [proxy's](Credentials::proxy_secrets) and the origin's `Authorization`.
    pub(crate) fn secrets(&self, proxy: Option<&ProxyUrl>) -> Secrets {
        let mut s = match proxy {
            Some(p) => self.proxy_secrets(p),
            None => {
                let mut s = Secrets::new();
                add_proxy_headers(&mut s, &self.proxy_headers);
                s
            }
        };
        if let Some(v) = &self.origin {
            s.add_header(
                "authorization",
                &String::from_utf8_lossy(v.as_bytes()),
                true,
            );
        }
        s
    }

    /// The SOCKS5 user name and password for `proxy`, by the same precedence.
    pub(crate) fn socks_credentials<'a>(
        &'a self,
        proxy: &'a ProxyUrl,
    ) -> Option<(&'a str, &'a str)> {
        match &self.proxy {
            Some((user, pass)) => Some((user.as_str(), pass.expose())),
            None => proxy
                .username()
                .map(|u| (u, proxy.password().unwrap_or(""))),
        }
    }
}

fn append_headers(
    map: &mut HeaderMap,
    headers: &ProxyHeaders,
    base: &str,
    origin: &Provenance,
) -> Result<(), Error> {
    for (name, value) in &headers.0 {
        let n = HeaderName::from_bytes(name.as_bytes());
        let v = HeaderValue::from_str(value);
        match (n, v) {
            (Ok(n), Ok(mut v)) => {
                if ProxyHeaders::is_sensitive(n.as_str()) {
                    v.set_sensitive(true);
                }
                map.append(n, v);
            }
            _ => {
                return Err(bad_value(
                    &format!("{base}.{name}"),
                    origin,
                    "is not a valid header: names are tokens, values visible ASCII",
                ));
            }
        }
    }
    Ok(())
}

/// `file:line:col` for a file origin, as diagnostics write locations.
pub(crate) fn location(origin: &Provenance) -> Option<String> {
    match origin {
        Provenance::File {
            path, line, col, ..
        } => Some(format!("{}:{line}:{col}", path.display())),
        _ => None,
    }
}

/// `(set at FILE:LINE:COL)` / `(set through the builder)` …, for messages.
pub(crate) fn set_at(origin: &Provenance) -> String {
    match origin {
        Provenance::Builder { .. } => "set through the builder".to_owned(),
        other => format!("set at {other}"),
    }
}

fn bad_value(setting: &str, origin: &Provenance, why: &str) -> Error {
    let d = Diagnostic::new(
        Severity::Error,
        "credentials.invalid",
        setting,
        location(origin),
        format!("`{setting}` {why}"),
    );
    Error::new(ErrorKind::ConfigInvalid)
        .with_message(format!("`{setting}` ({}) {why}", set_at(origin)))
        .with_hint(format!("fix `{setting}`"))
        .map_evidence(|ev| {
            ev.setting = Some(setting.to_owned());
            ev.diagnostics.push(d);
        })
}

/// Resolves a secret of the setting `base` (`proxy_auth`, `providers.x.auth`); `what` is
/// `password` or `bearer`, which with the source names the sub-key (`password_env`, …).
fn resolve_secret(
    src: &SecretSource,
    env: &EnvSnapshot,
    base: &str,
    what: &str,
    origin: &Provenance,
) -> Result<Secret, Error> {
    src.resolve(env)
        .map_err(|e| credential_error(e, src, &format!("{base}.{}", sub_key(src, what)), origin))
}

fn sub_key(src: &SecretSource, what: &str) -> String {
    match src {
        SecretSource::Env(_) => format!("{what}_env"),
        SecretSource::File(_) => format!("{what}_file"),
        _ => what.to_owned(),
    }
}

/// `config.invalid` for a secret that cannot be resolved: the setting and its origin, where the
/// secret was looked for (never its value), one diagnostic `credentials.<problem>`.
fn credential_error(
    e: CredentialError,
    src: &SecretSource,
    setting: &str,
    origin: &Provenance,
) -> Error {
    let code = format!("credentials.{}", e.problem().as_str());
    let hint = match src {
        SecretSource::Env(var) => format!(
            "set {var} (non-empty) in the environment the client is built with, or change `{setting}`"
        ),
        SecretSource::File(p) => format!(
            "put the secret in {} (a regular file, one line) or change `{setting}`",
            p.display()
        ),
        _ => format!("give `{setting}` a non-empty value"),
    };
    let d = Diagnostic::new(
        Severity::Error,
        code,
        setting,
        location(origin),
        e.to_string(),
    )
    .with_suggestion(hint.clone());
    let file = match src {
        SecretSource::File(p) => Some(p.display().to_string()),
        _ => None,
    };
    let looked = e.looked_in().to_owned();
    Error::new(ErrorKind::ConfigInvalid)
        .with_message(format!("`{setting}` ({}): {e}", set_at(origin)))
        .with_hint(hint)
        .map_evidence(|ev| {
            ev.setting = Some(setting.to_owned());
            ev.value = Some(looked);
            ev.file = file;
            ev.diagnostics.push(d);
        })
        .with_source(e)
}

/// What a proxy may echo back from our handshake: the proxy URL's credentials and the values
/// of the extra proxy headers.
pub(crate) fn proxy_secrets(proxy: &ProxyUrl, headers: &HeaderMap) -> Secrets {
    let mut s = proxy.secrets();
    add_proxy_headers(&mut s, headers);
    s
}

/// Adds the value of every extra proxy header: headers configured for the proxy usually
/// authenticate to it (`X-Proxy-Token`), and proxies echo them in clear (Squid's `%R` masks
/// only `Authorization` and `Proxy-Authorization`).
pub(crate) fn add_proxy_headers(s: &mut Secrets, headers: &HeaderMap) {
    for (name, value) in headers {
        s.add_header(
            name.as_str(),
            &String::from_utf8_lossy(value.as_bytes()),
            true,
        );
    }
}

/// Marks every header whose name holds a credential sensitive (so `Debug` and logs never show
/// it) and adds the credentials among `headers` (see [`Secrets::add_header`]). One pass, one
/// rule ([`is_secret_header`](crate::proxy::redact::is_secret_header)): it runs for every
/// header of every request, after the client's defaults and the profile's credentials are in.
pub(crate) fn mark_and_add_headers(s: &mut Secrets, headers: &mut HeaderMap) {
    for (name, value) in headers.iter_mut() {
        // Only a header that can hold a secret is read as text (most of a request's are not).
        if !value.is_sensitive() {
            if !crate::proxy::redact::is_secret_header_name(name) {
                continue;
            }
            value.set_sensitive(true);
        }
        s.add_header(
            name.as_str(),
            &String::from_utf8_lossy(value.as_bytes()),
            value.is_sensitive(),
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::credentials::ProxyAuth;

    #[test]
    fn basic_credentials_are_encoded_and_sensitive() {
        let p = ProxyUrl::parse("http://alice:s3cret@proxy.test:3128").unwrap();
        let v = basic_auth(&p).unwrap();
        assert!(v.is_sensitive());
        assert_eq!(v.to_str().unwrap(), "Basic YWxpY2U6czNjcmV0");
        assert!(!format!("{v:?}").contains("YWxp"));
        assert!(basic_auth(&ProxyUrl::parse("http://proxy.test:3128").unwrap()).is_none());
    }

    /// A profile without `proxy_auth`, `auth` or proxy headers adds nothing to any request (its
    /// requests skip collecting what it adds); any one of the three makes it add something.
    #[test]
    fn credentials_are_empty_only_without_all_three() {
        let env = EnvSnapshot::from_pairs([("PW", "from-env")]);
        let none = Credentials::resolve(&Settings::new(), None, &env, &HeaderMap::new()).unwrap();
        assert!(none.is_empty());
        assert!(none.secrets(None).is_empty());
        let with_auth =
            Settings::new().with_proxy_auth(ProxyAuth::new("bob", SecretSource::env("PW")));
        let c = Credentials::resolve(&with_auth, None, &env, &HeaderMap::new()).unwrap();
        assert!(!c.is_empty());
        let mut headers = HeaderMap::new();
        headers.insert("x-proxy-token", HeaderValue::from_static("t0k"));
        let c = Credentials::resolve(&Settings::new(), None, &env, &headers).unwrap();
        assert!(!c.is_empty());
        assert!(!c.secrets(None).is_empty());
    }

    #[test]
    fn proxy_auth_wins_over_url_credentials_and_errors_name_the_setting() {
        let env = EnvSnapshot::from_pairs([("PW", "from-env")]);
        let layer = Settings::new().with_proxy_auth(ProxyAuth::new("bob", SecretSource::env("PW")));
        let c = Credentials::resolve(&layer, None, &env, &HeaderMap::new()).unwrap();
        let p = ProxyUrl::parse("http://alice:s3cret@proxy.test:3128").unwrap();
        let header = c.proxy_authorization(&p).unwrap();
        let want = base64::engine::general_purpose::STANDARD.encode("bob:from-env");
        assert_eq!(header.to_str().unwrap(), format!("Basic {want}"));
        assert!(!format!("{c:?}").contains("from-env"));

        let provider =
            Settings::new().with_proxy_auth(ProxyAuth::new("bob", SecretSource::env("NOPE")));
        let e = Credentials::resolve(&provider, Some(("p", &provider)), &env, &HeaderMap::new())
            .err()
            .unwrap_or_else(|| panic!("unset variable accepted"));
        assert_eq!(e.code(), "config.invalid");
        assert_eq!(
            e.evidence().setting.as_deref(),
            Some("providers.p.proxy_auth.password_env")
        );
        assert_eq!(e.evidence().value.as_deref(), Some("env:NOPE"));
        assert_eq!(e.evidence().diagnostics[0].code, "credentials.unset");
    }
}
