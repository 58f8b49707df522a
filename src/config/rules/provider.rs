//! Rules that need the whole configuration and the environment: a provider whose own `proxy`
//! can never be used because its `url` matches the `no_proxy` list in force for it (the
//! provider's, else the global one, else `no_proxy`/`NO_PROXY`).

use crate::config::Config;
use crate::config::provenance::origin_location;
use crate::diagnostic::{Diagnostic, Severity};
use crate::proxy::EnvSnapshot;
use crate::settings::{Provenance, ProxySetting};

/// The findings for every provider of `config` under `env`.
pub(crate) fn check(config: &Config, env: &EnvSnapshot) -> Vec<Diagnostic> {
    let mut out = Vec::new();
    for p in config.providers() {
        let Some(proxy) = &p.layer().proxy else {
            continue;
        };
        let ProxySetting::Url(proxy_url) = &proxy.value else {
            continue;
        };
        let Some(host) = p.url().value.host_str() else {
            continue;
        };
        let host = host.trim_start_matches('[').trim_end_matches(']');
        let (list, origin) = match p
            .layer()
            .no_proxy
            .as_ref()
            .or(config.global_layer().no_proxy.as_ref())
        {
            Some(s) => (s.value.clone(), s.origin.clone()),
            None => match env.no_proxy() {
                Some(np) => (
                    np.list.clone(),
                    Provenance::Env {
                        var: np.var.name.clone(),
                    },
                ),
                None => continue,
            },
        };
        let Some(hit) = list.matches(host) else {
            continue;
        };
        let path = format!("providers.{}.proxy", p.name());
        let from = match &origin {
            Provenance::Env { var } => format!("the environment ({var})"),
            Provenance::File { key, .. }
            | Provenance::Embedded { key }
            | Provenance::Builder { key } => {
                format!("`{key}`")
            }
            Provenance::Default => "the default".to_owned(),
        };
        let fix = match &origin {
            Provenance::Env { var } => format!(
                "remove `{}` from {var}, or give [providers.{}] its own `no_proxy` without it, or set `proxy = \"direct\"` if going direct is intended",
                hit.entry,
                p.name()
            ),
            _ => format!(
                "remove `{}` from {from}, or give [providers.{}] its own `no_proxy` without it, or set `proxy = \"direct\"` if going direct is intended",
                hit.entry,
                p.name()
            ),
        };
        let at = origin_location(&origin)
            .map(|l| format!(" at {l}"))
            .unwrap_or_default();
        out.push(
            Diagnostic::new(
                Severity::Warning,
                "provider.proxy_unusable",
                path,
                origin_location(&proxy.origin),
                format!(
                    "provider `{}` sets its own proxy {proxy_url}, but its url host `{host}` matches no_proxy entry `{}` from {from}{at}, so its requests always go direct",
                    p.name(),
                    hit.entry
                ),
            )
            .with_suggestion(fix),
        );
    }
    out
}
