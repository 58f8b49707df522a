//! The explanation of a route: every step the resolution consulted, where each value came from,
//! what it decided, and the warnings attached (ignored variables, list diagnostics, other tools'
//! readings). Built only when someone looks — [`Route::explain`](super::Route::explain), its
//! JSON, an error's report, `probe route` — never on the request path.

use url::Url;

use super::RouteError;
use super::near_miss::{self, NearMiss};
use super::step::{Outcome, Rule, Step, Warning};
use crate::proxy::peers::{PeerHost, PeerNote, Tool};
use crate::proxy::{
    EnvSnapshot, IgnoredVar, NoProxy, ProxyUrl, ProxyUrlError, ProxyUrlErrorKind, Severity,
    redact_parsed_url,
};
use crate::settings::{Provenance, ProxySetting, Settings, Sourced};

/// The name of the setting an origin stands for, for error evidence.
pub(super) fn setting_name(origin: &Provenance) -> String {
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

/// What the full resolution found: the redacted URL, every step, and the proxy it chose (with
/// its origin) — the same decision [`super::Router`] makes without any of the text.
pub(super) struct Built {
    pub(super) url: String,
    pub(super) steps: Vec<Step>,
    pub(super) proxy: Option<(ProxyUrl, Provenance)>,
    /// The index of the `no_proxy` entry that sent the host direct.
    pub(super) bypass: Option<usize>,
    /// An entry of the list in force meant for the host that does not match it.
    pub(super) near_miss: Option<NearMiss>,
}

/// Resolves `url` step by step, recording what was consulted, where each value came from and
/// what it decided. Pure; its cost grows with the `no_proxy` list (it prints the list and asks
/// other tools' models about it), which is why it runs only when someone looks.
pub(super) fn build(
    global: &Settings,
    provider: Option<&Settings>,
    env: &EnvSnapshot,
    url: &Url,
) -> Result<Built, RouteError> {
    let scheme = url.scheme();
    let mut steps = Vec::new();
    let url_text = redact_parsed_url(url);
    let Some(host) = url.host_str() else {
        steps.push(Step::new(
            Rule::Default,
            Outcome::Direct,
            format!("a {scheme}: URL has no host, so no proxy applies (as in curl)"),
        ));
        return Ok(Built {
            url: url_text,
            steps,
            proxy: None,
            bypass: None,
            near_miss: None,
        });
    };
    let consulted = EnvSnapshot::consulted_vars(scheme);
    steps.push(Step::new(
        Rule::Scheme,
        Outcome::Noted,
        format!(
            "host {host}, scheme {scheme}: the environment's proxy would come from {}",
            consulted.join(", ")
        ),
    ));

    // 1. Which proxy: provider, global, environment.
    let provider_layer = provider;
    let mut setting: Option<(&Sourced<ProxySetting>, Rule)> = None;
    if let Some(layer) = provider_layer {
        match &layer.proxy {
            Some(s) => setting = Some((s, Rule::ProviderProxy)),
            None => steps.push(Step::new(
                Rule::ProviderProxy,
                Outcome::NotSet,
                "the provider sets no proxy: the global setting applies",
            )),
        }
    }
    if setting.is_none() {
        match &global.proxy {
            Some(s) => setting = Some((s, Rule::GlobalProxy)),
            None => steps.push(Step::new(
                Rule::GlobalProxy,
                Outcome::NotSet,
                "no proxy configured: the environment decides",
            )),
        }
    }
    let candidate: Option<(ProxyUrl, Provenance)> = match setting {
        Some((s, rule)) => match &s.value {
            ProxySetting::Direct => {
                steps.push(
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
                steps.push(st);
                Some((p.clone(), s.origin.clone()))
            }
            ProxySetting::Env => {
                steps.push(
                    Step::new(rule, Outcome::Env, "\"env\": the environment decides")
                        .origin(s.origin.clone())
                        .value("env"),
                );
                env_proxy(&mut steps, env, scheme)?
            }
        },
        None => env_proxy(&mut steps, env, scheme)?,
    };

    let Some((proxy, origin)) = candidate else {
        if !matches!(steps.last().map(|s| s.outcome), Some(Outcome::Direct)) {
            steps.push(Step::new(
                Rule::Default,
                Outcome::Direct,
                "no proxy chosen: connect directly",
            ));
        }
        push_tls_warning(&mut steps, global, provider_layer);
        return Ok(Built {
            url: url_text,
            steps,
            proxy: None,
            bypass: None,
            near_miss: None,
        });
    };
    if !proxy.scheme().is_connectable() {
        let setting = setting_name(&origin);
        let e = ProxyUrlError::new(
            ProxyUrlErrorKind::NotConnectable,
            &proxy.without_credentials(),
        );
        return Err(RouteError::new(e, &setting));
    }

    // 2. no_proxy: provider, global, environment; applies to the chosen proxy.
    let (bypass, near_miss) = apply_no_proxy(&mut steps, global, provider_layer, env, url, host);
    push_tls_warning(&mut steps, global, provider_layer);
    Ok(Built {
        url: url_text,
        steps,
        proxy: bypass.is_none().then_some((proxy, origin)),
        bypass,
        near_miss,
    })
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
    let p = parsed.map_err(|e| RouteError::new(e, &var.name))?;
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

/// Steps for the `no_proxy` list in force; the entry that sends the host direct, if any, and
/// the entry meant for the host that does not match it, if any.
fn apply_no_proxy(
    steps: &mut Vec<Step>,
    global: &Settings,
    provider: Option<&Settings>,
    env: &EnvSnapshot,
    url: &Url,
    host: &str,
) -> (Option<usize>, Option<NearMiss>) {
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
                    return (None, None);
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
    .value(crate::proxy::redact::redact_list(&list.to_string()));
    // Only a host the list does not match can be a near miss.
    let near_miss = match found {
        None => near_miss::find(list, host, &origin),
        Some(_) => None,
    };
    st = st.origin(origin);
    if let Some(n) = &near_miss {
        st.warnings.push(Warning::new(
            "near_miss",
            format!(
                "entry `{}` was meant for {host} but does not match it ({}): write `{}`",
                n.entry, n.reason, n.write
            ),
        ));
    }
    for d in list.diagnostics() {
        if d.severity >= Severity::Warning {
            st.warnings
                .push(Warning::new(d.issue.as_str(), d.message()).with_peers(d.peers.clone()));
        }
    }
    if let Some(view) = env_value.and(env.no_proxy_peers()) {
        let peer_host = PeerHost {
            host: host.trim_start_matches('[').trim_end_matches(']'),
            port: url.port_or_known_default().unwrap_or(0),
            explicit_port: url.port().is_some(),
        };
        let curl = found.is_some();
        let differing: Vec<PeerNote> = Tool::ALL
            .iter()
            .filter(|t| view.bypasses(**t, peer_host) != curl)
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
    (found.map(|m| m.index), near_miss)
}

fn push_tls_warning(steps: &mut Vec<Step>, global: &Settings, provider: Option<&Settings>) {
    type Switch = fn(&Settings) -> Option<&Sourced<bool>>;
    let switches: [(&str, Switch, &str, &str); 2] = [
        (
            "danger_accept_invalid_certs",
            |l| l.danger_accept_invalid_certs.as_ref(),
            "danger_accept_invalid_certs is set: the origin's certificate is not verified",
            "any certificate is accepted on this route, TLS interception included",
        ),
        (
            "danger_accept_invalid_hostnames",
            |l| l.danger_accept_invalid_hostnames.as_ref(),
            "danger_accept_invalid_hostnames is set: the origin's certificate may name another host",
            "a certificate from a trusted CA for any host is accepted on this route",
        ),
    ];
    for (key, switch, step, warning) in switches {
        // The provider's value wins over the global one, `false` included.
        let set = provider.and_then(switch).or(switch(global));
        if let Some(d) = set.filter(|d| d.value) {
            steps.push(
                Step::new(Rule::Tls, Outcome::Warning, step)
                    .origin(d.origin.clone())
                    .value("true")
                    .warn(Warning::new(key, warning)),
            );
        }
    }
}
