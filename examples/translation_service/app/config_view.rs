//! `GET /_config`: the effective configuration, every value with where it came from
//! (`file:line:col`, environment variable, or default) — the view that would have shown in
//! 2015 that the deployed file never set the provider's proxy. Secrets are never shown:
//! proxyscope's settings redact proxy credentials, and provider URLs lose their userinfo and
//! the values of secret query parameters (`?key=`, `?token=`, …) here.

use std::net::SocketAddr;

use proxyscope::Provenance;
use proxyscope::config::format_duration;
use proxyscope::proxy::redact_parsed_url;
use serde_json::{Value, json};

use super::settings::Settings;

/// The JSON document.
pub(crate) fn render(settings: &Settings, listening: SocketAddr) -> Value {
    let config = &settings.config;
    let mut service = vec![
        row(
            "server.listen",
            settings.listen.value.to_string(),
            &settings.listen.origin,
        ),
        row(
            "server.health_cache",
            format_duration(settings.health_cache.value),
            &settings.health_cache.origin,
        ),
    ];
    for p in config.providers() {
        let path = settings.translate_path(p.name());
        service.push(row(
            &format!("translate.{}.path", p.name()),
            path.value,
            &path.origin,
        ));
    }
    let providers: Vec<Value> = config
        .providers()
        .iter()
        .map(|p| {
            json!({
                "name": p.name(),
                "url": { "value": redact_parsed_url(&p.url().value), "origin": p.url().origin },
                "required": { "value": p.is_required(), "origin": p.required().origin },
                "checks": p.checks().iter().map(|c| c.name.clone()).collect::<Vec<_>>(),
                "settings": config.settings(Some(p.name())).unwrap_or_default(),
            })
        })
        .collect();
    json!({
        "file": settings.path.display().to_string(),
        "listening": listening.to_string(),
        "service": service,
        "proxyscope": {
            "global": config.settings(None).unwrap_or_default(),
            "providers": providers,
        },
        "warnings": settings.warnings,
    })
}

fn row(key: &str, value: String, origin: &Provenance) -> Value {
    json!({ "key": key, "value": value, "origin": origin })
}
