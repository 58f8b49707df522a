//! Route resolution: for one (provider, URL), direct or which proxy, and why. [`resolve`] is a
//! pure function of the global layer, the provider's layer, an [`EnvSnapshot`] and the URL; it
//! returns a [`Route`] whose ordered [`Step`]s say what was consulted, where each value came
//! from and what it decided.
//!
//! Precedence: the provider's `proxy`, else the global `proxy`, else the
//! environment by curl's rules, else direct; `"direct"` ends the search, `"env"` defers to the
//! environment. `no_proxy` is resolved the same way (provider, global, `no_proxy`/`NO_PROXY`)
//! and applies to whichever proxy was chosen, explicit ones included, as curl's `NO_PROXY`
//! exempts hosts from `--proxy`.

mod step;

use std::fmt::{self, Write as _};

use serde::Serialize;
use url::Url;

use crate::proxy::peers::{self, PeerHost, PeerNote, Tool};
use crate::proxy::{
    EnvSnapshot, IgnoredVar, NoProxy, ProxyUrl, ProxyUrlError, ProxyUrlErrorKind, Severity,
    redact_text,
};
use crate::settings::{Provenance, ProxySetting, Settings, Sourced};

pub use step::{Outcome, Rule, Step, Warning};

/// The decision for one (provider, URL): direct or via a proxy, with the steps that led there.
/// Serialises as `{"url","provider","via","proxy","proxy_origin","steps"}`, a public JSON
/// contract: fields may be added, never renamed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Route {
    url: String,
    provider: Option<String>,
    proxy: Option<ProxyUrl>,
    proxy_origin: Option<Provenance>,
    steps: Vec<Step>,
}

impl Route {
    /// A route without steps, for code that decides routes itself (tests, custom connectors).
    /// `url` is redacted of credentials.
    pub fn new(url: &str, provider: Option<&str>, proxy: Option<ProxyUrl>) -> Self {
        Self {
            url: redact_text(url),
            provider: provider.map(str::to_owned),
            proxy,
            proxy_origin: None,
            steps: Vec::new(),
        }
    }

    /// The proxy, or `None` for a direct route.
    pub fn proxy(&self) -> Option<&ProxyUrl> {
        self.proxy.as_ref()
    }
    /// Whether the route goes direct.
    pub fn is_direct(&self) -> bool {
        self.proxy.is_none()
    }
    /// The URL, without credentials.
    pub fn url(&self) -> &str {
        &self.url
    }
    /// The provider, if the route was resolved for one.
    pub fn provider(&self) -> Option<&str> {
        self.provider.as_deref()
    }
    /// Where the chosen proxy came from.
    pub fn proxy_origin(&self) -> Option<&Provenance> {
        self.proxy_origin.as_ref()
    }
    /// The ordered steps of the decision.
    pub fn steps(&self) -> &[Step] {
        &self.steps
    }
    /// Every warning of every step, in order.
    pub fn warnings(&self) -> impl Iterator<Item = &Warning> {
        self.steps.iter().flat_map(|s| s.warnings.iter())
    }

    /// One line: `direct` or `via http://proxy:3128 (from env:https_proxy)`.
    pub fn summary(&self) -> String {
        match (&self.proxy, &self.proxy_origin) {
            (Some(p), Some(o)) => format!("via {p} (from {o})"),
            (Some(p), None) => format!("via {p}"),
            (None, _) => "direct".into(),
        }
    }

    /// The decision for people: a headline, then each step with its warnings.
    pub fn explain(&self) -> String {
        let mut out = format!("route for {}", self.url);
        if let Some(p) = &self.provider {
            let _ = write!(out, " (provider {p})");
        }
        let _ = write!(out, ": {}", self.summary());
        for (i, s) in self.steps.iter().enumerate() {
            let _ = write!(out, "\n  {}. {s}", i + 1);
        }
        out
    }
}

impl fmt::Display for Route {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.summary())
    }
}

impl Serialize for Route {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeStruct;
        let mut st = s.serialize_struct("Route", 6)?;
        st.serialize_field("url", &self.url)?;
        st.serialize_field("provider", &self.provider)?;
        st.serialize_field("via", if self.is_direct() { "direct" } else { "proxy" })?;
        st.serialize_field("proxy", &self.proxy)?;
        st.serialize_field("proxy_origin", &self.proxy_origin)?;
        st.serialize_field("steps", &self.steps)?;
        st.end()
    }
}

/// The URL with its userinfo removed.
fn url_without_credentials(url: &Url) -> String {
    if url.username().is_empty() && url.password().is_none() {
        return url.as_str().to_owned();
    }
    let mut u = url.clone();
    let _ = u.set_username("");
    let _ = u.set_password(None);
    u.as_str().to_owned()
}

/// Why [`resolve`] found no route: the proxy value in force is not a usable proxy URL. Converts
/// into the crate's [`Error`](crate::Error) as `config.proxy_url`, naming the setting or
/// environment variable that holds the value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RouteError {
    setting: String,
    source: ProxyUrlError,
}

impl RouteError {
    /// The setting (`providers.yandex.proxy`, `proxy`) or environment variable (`https_proxy`)
    /// whose value was rejected.
    pub fn setting(&self) -> &str {
        &self.setting
    }
    /// Why the value was rejected.
    pub fn proxy_url_error(&self) -> &ProxyUrlError {
        &self.source
    }
    /// The rejection, without the setting.
    pub fn into_proxy_url_error(self) -> ProxyUrlError {
        self.source
    }
}

impl fmt::Display for RouteError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.setting, self.source)
    }
}

impl std::error::Error for RouteError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        Some(&self.source)
    }
}

/// The error for a proxy value from `setting`.
fn proxy_url_error(e: ProxyUrlError, setting: &str) -> RouteError {
    RouteError {
        setting: setting.to_owned(),
        source: e,
    }
}

/// The name of the setting an origin stands for, for error evidence.
fn setting_name(origin: &Provenance) -> String {
    match origin {
        Provenance::File { key, .. }
        | Provenance::Embedded { key }
        | Provenance::Builder { key } => key.clone(),
        Provenance::Env { var } => var.clone(),
        Provenance::Default => "proxy".to_owned(),
    }
}

/// Warnings for what a proxy value said that the parse did not use.
fn url_note_warnings(p: &ProxyUrl) -> Vec<Warning> {
    p.notes()
        .iter()
        .map(|n| Warning::new(n.code(), n.to_string()))
        .collect()
}

/// Resolves the route for `url`: pure, no I/O.
///
/// `provider` is the provider's name and layer; `global` the global layer; `env` the
/// environment snapshot. The [`RouteError`] says that the chosen proxy value is not a valid
/// proxy URL or is of a scheme proxyscope cannot connect through (SOCKS4/4a), and names the
/// setting or variable; as an [`Error`](crate::Error) it is `config.proxy_url`. There is never a
/// silent fallback.
pub fn resolve(
    global: &Settings,
    provider: Option<(&str, &Settings)>,
    env: &EnvSnapshot,
    url: &Url,
) -> Result<Route, RouteError> {
    let scheme = url.scheme();
    let mut r = Route::new("", provider.map(|(n, _)| n), None);
    r.url = url_without_credentials(url);
    let Some(host) = url.host_str() else {
        r.steps.push(Step::new(
            Rule::Default,
            Outcome::Direct,
            format!("a {scheme}: URL has no host, so no proxy applies (as in curl)"),
        ));
        return Ok(r);
    };
    let consulted = EnvSnapshot::consulted_vars(scheme);
    r.steps.push(Step::new(
        Rule::Scheme,
        Outcome::Noted,
        format!(
            "host {host}, scheme {scheme}: the environment's proxy would come from {}",
            consulted.join(", ")
        ),
    ));

    // 1. Which proxy: provider, global, environment.
    let provider_layer = provider.map(|(_, l)| l);
    let mut setting: Option<(&Sourced<ProxySetting>, Rule)> = None;
    if let Some(layer) = provider_layer {
        match &layer.proxy {
            Some(s) => setting = Some((s, Rule::ProviderProxy)),
            None => r.steps.push(Step::new(
                Rule::ProviderProxy,
                Outcome::NotSet,
                "the provider sets no proxy: the global setting applies",
            )),
        }
    }
    if setting.is_none() {
        match &global.proxy {
            Some(s) => setting = Some((s, Rule::GlobalProxy)),
            None => r.steps.push(Step::new(
                Rule::GlobalProxy,
                Outcome::NotSet,
                "no proxy configured: the environment decides",
            )),
        }
    }
    let candidate: Option<(ProxyUrl, Provenance)> = match setting {
        Some((s, rule)) => match &s.value {
            ProxySetting::Direct => {
                r.steps.push(
                    Step::new(rule, Outcome::Direct, "\"direct\": never use a proxy")
                        .origin(s.origin.clone())
                        .value("direct"),
                );
                None
            }
            ProxySetting::Url(p) => {
                let mut st = Step::new(rule, Outcome::Proxy, format!("use {p}"))
                    .origin(s.origin.clone())
                    .value(p.without_credentials());
                st.warnings = url_note_warnings(p);
                r.steps.push(st);
                Some((p.clone(), s.origin.clone()))
            }
            ProxySetting::Env => {
                r.steps.push(
                    Step::new(rule, Outcome::Env, "\"env\": the environment decides")
                        .origin(s.origin.clone())
                        .value("env"),
                );
                env_proxy(&mut r.steps, env, scheme)?
            }
        },
        None => env_proxy(&mut r.steps, env, scheme)?,
    };

    let Some((proxy, origin)) = candidate else {
        if !matches!(r.steps.last().map(|s| s.outcome), Some(Outcome::Direct)) {
            r.steps.push(Step::new(
                Rule::Default,
                Outcome::Direct,
                "no proxy chosen: connect directly",
            ));
        }
        push_tls_warning(&mut r.steps, global, provider_layer);
        return Ok(r);
    };
    if !proxy.scheme().is_connectable() {
        let setting = setting_name(&origin);
        let e = ProxyUrlError::new(
            ProxyUrlErrorKind::NotConnectable,
            &proxy.without_credentials(),
        );
        return Err(proxy_url_error(e, &setting));
    }

    // 2. no_proxy: provider, global, environment; applies to the chosen proxy.
    let bypass = apply_no_proxy(&mut r.steps, global, provider_layer, env, url, host);
    push_tls_warning(&mut r.steps, global, provider_layer);
    if !bypass {
        r.proxy = Some(proxy);
        r.proxy_origin = Some(origin);
    }
    Ok(r)
}

/// Steps for the environment's proxy variables; the chosen proxy, if any.
fn env_proxy(
    steps: &mut Vec<Step>,
    env: &EnvSnapshot,
    scheme: &str,
) -> Result<Option<(ProxyUrl, Provenance)>, RouteError> {
    for iv in env.ignored() {
        if iv.concerns(scheme) && !iv.var.eq_ignore_ascii_case("no_proxy") {
            steps.push(ignored_step(iv));
        }
    }
    let lookup = env.proxy_for(scheme);
    let (Some(var), Some(parsed)) = (lookup.found, lookup.proxy) else {
        steps.push(Step::new(
            Rule::EnvProxy,
            Outcome::NotSet,
            format!("none of {} is set", lookup.consulted.join(", ")),
        ));
        return Ok(None);
    };
    let origin = Provenance::Env {
        var: var.name.clone(),
    };
    let p = parsed.map_err(|e| proxy_url_error(e, &var.name))?;
    let mut st = Step::new(Rule::EnvProxy, Outcome::Proxy, format!("use {p}"))
        .origin(origin.clone())
        .value(p.without_credentials());
    st.warnings = url_note_warnings(&p);
    let lower = var.name.to_ascii_lowercase();
    if lower == "all_proxy" {
        let mut peers = vec![
            PeerNote::new(Tool::Go, "does not read ALL_PROXY: would connect directly"),
            PeerNote::new(
                Tool::PythonUrllib,
                "reads all_proxy but never uses it: would connect directly",
            ),
        ];
        if !matches!(scheme, "http" | "https") {
            peers.push(PeerNote::new(
                Tool::HyperUtil,
                format!("uses ALL_PROXY for http and https only, not {scheme}"),
            ));
        }
        st = st.warn(
            Warning::new(
                "peer_difference",
                format!("{} is a fallback other tools do not all share", var.name),
            )
            .with_peers(peers),
        );
    } else if !matches!(scheme, "http" | "https") {
        st = st.warn(
            Warning::new(
                "peer_difference",
                format!("{} applies to {scheme}: URLs in curl only", var.name),
            )
            .with_peers(vec![
                PeerNote::new(Tool::Go, "reads proxies for http and https only"),
                PeerNote::new(Tool::HyperUtil, "reads proxies for http and https only"),
            ]),
        );
    }
    steps.push(st);
    Ok(Some((p, origin)))
}

fn ignored_step(iv: &IgnoredVar) -> Step {
    let mut st = Step::new(Rule::IgnoredVariable, Outcome::Ignored, iv.reason.clone()).origin(
        Provenance::Env {
            var: iv.var.clone(),
        },
    );
    if !iv.used_by.is_empty() {
        st = st.warn(
            Warning::new(
                iv.code.as_str(),
                format!("{} is ignored here, but other tools read it", iv.var),
            )
            .with_peers(iv.used_by.clone()),
        );
    }
    st
}

/// Steps for the `no_proxy` list in force; whether the host bypasses the proxy.
fn apply_no_proxy(
    steps: &mut Vec<Step>,
    global: &Settings,
    provider: Option<&Settings>,
    env: &EnvSnapshot,
    url: &Url,
    host: &str,
) -> bool {
    let layered = provider
        .and_then(|l| l.no_proxy.as_ref())
        .or(global.no_proxy.as_ref());
    let (list, origin, env_value): (&NoProxy, Provenance, Option<&str>) = match layered {
        Some(s) => (&s.value, s.origin.clone(), None),
        None => {
            for iv in env.ignored() {
                if iv.var.eq_ignore_ascii_case("no_proxy") {
                    steps.push(ignored_step(iv));
                }
            }
            match env.no_proxy() {
                Some(e) => (
                    &e.list,
                    Provenance::Env {
                        var: e.var.name.clone(),
                    },
                    Some(e.var.value.as_str()),
                ),
                None => {
                    steps.push(Step::new(
                        Rule::NoProxy,
                        Outcome::NotSet,
                        "no no_proxy list (neither configured nor no_proxy/NO_PROXY set): the \
                         proxy applies to every host",
                    ));
                    return false;
                }
            }
        }
    };
    let found = list.matches(host);
    let mut st = match &found {
        Some(m) => {
            let mut st = Step::new(
                Rule::NoProxy,
                Outcome::Matched,
                format!(
                    "host {host} matches entry `{}` ({}): connect directly",
                    m.entry,
                    m.rule.as_str()
                ),
            );
            st.entry = Some(m.entry.clone());
            st
        }
        None => Step::new(
            Rule::NoProxy,
            Outcome::NotMatched,
            format!(
                "host {host} matches none of the {} entries: use the proxy",
                list.len()
            ),
        ),
    }
    .origin(origin)
    .value(redact_text(&list.to_string()));
    for d in list.diagnostics() {
        if d.severity >= Severity::Warning {
            st.warnings
                .push(Warning::new(d.issue.as_str(), d.message()).with_peers(d.peers.clone()));
        }
    }
    if let Some(value) = env_value {
        let peer_host = PeerHost {
            host: host.trim_start_matches('[').trim_end_matches(']'),
            port: url.port_or_known_default().unwrap_or(0),
            explicit_port: url.port().is_some(),
        };
        let curl = found.is_some();
        let differing: Vec<PeerNote> = Tool::ALL
            .iter()
            .filter(|t| peers::bypasses(**t, value, peer_host) != curl)
            .map(|t| {
                PeerNote::new(
                    *t,
                    if curl {
                        "would use the proxy for this host with the same no_proxy value"
                    } else {
                        "would connect directly to this host with the same no_proxy value"
                    },
                )
            })
            .collect();
        if !differing.is_empty() {
            st.warnings.push(
                Warning::new(
                    "peer_difference",
                    format!("other tools read this no_proxy value differently for {host}"),
                )
                .with_peers(differing),
            );
        }
    }
    steps.push(st);
    found.is_some()
}

fn push_tls_warning(steps: &mut Vec<Step>, global: &Settings, provider: Option<&Settings>) {
    let danger = provider
        .and_then(|l| l.danger_accept_invalid_certs.as_ref())
        .or(global.danger_accept_invalid_certs.as_ref());
    if let Some(d) = danger.filter(|d| d.value) {
        steps.push(
            Step::new(
                Rule::Tls,
                Outcome::Warning,
                "danger_accept_invalid_certs is set: the origin's certificate is not verified",
            )
            .origin(d.origin.clone())
            .value("true")
            .warn(Warning::new(
                "danger_accept_invalid_certs",
                "any certificate is accepted on this route, TLS interception included",
            )),
        );
    }
    let hostnames = provider
        .and_then(|l| l.danger_accept_invalid_hostnames.as_ref())
        .or(global.danger_accept_invalid_hostnames.as_ref());
    if let Some(d) = hostnames.filter(|d| d.value) {
        steps.push(
            Step::new(
                Rule::Tls,
                Outcome::Warning,
                "danger_accept_invalid_hostnames is set: the origin's certificate may name another host",
            )
            .origin(d.origin.clone())
            .value("true")
            .warn(Warning::new(
                "danger_accept_invalid_hostnames",
                "a certificate from a trusted CA for any host is accepted on this route",
            )),
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn url(s: &str) -> Url {
        Url::parse(s).unwrap_or_else(|e| panic!("{s}: {e}"))
    }

    #[test]
    fn url_credentials_never_reach_the_route() {
        let env = EnvSnapshot::from_pairs([("https_proxy", "http://u:pw@p.test:1")]);
        let r = resolve(
            &Settings::new(),
            None,
            &env,
            &url("https://bob:hunter2@a.test/x"),
        )
        .unwrap();
        let json = serde_json::to_string(&r).unwrap_or_default();
        let text = format!("{json} {} {r:?}", r.explain());
        assert!(
            !text.contains("hunter2") && !text.contains("u:pw"),
            "{text}"
        );
        assert_eq!(r.url(), "https://a.test/x");
    }

    #[test]
    fn file_urls_are_direct() {
        let env = EnvSnapshot::from_pairs([("all_proxy", "http://p.test:1")]);
        let r = resolve(&Settings::new(), None, &env, &url("file:///etc/hosts")).unwrap();
        assert!(r.is_direct());
        assert_eq!(r.steps()[0].rule, Rule::Default);
    }
}
