//! `GET /_config`: the effective configuration, every value with where it came from
//! (`file:line:col` and key, environment variable, or default) — the view that would have shown
//! in 2015 that the deployed file never set the provider's proxy. proxyscope's
//! `Config::effective` builds the `[proxyscope]` part (the same view `probe config` prints),
//! with proxy credentials and URL userinfo masked; this module adds the service's own keys.
//!
//! It describes the egress setup (proxies, CA file paths) to whoever can reach it: the service
//! listens on loopback unless `server.listen` says otherwise.

use std::net::SocketAddr;

use proxyscope::config::{Setting, format_duration};
use proxyscope::{EnvSnapshot, Sourced};
use serde_json::{Value, json};

use super::settings::Settings;

/// The JSON document.
pub(crate) fn render(settings: &Settings, env: &EnvSnapshot, listening: SocketAddr) -> Value {
    let limits = &settings.limits;
    let mut service = vec![
        row("server.listen", &settings.listen, |a| a.to_string()),
        row("server.health_cache", &settings.health_cache, |d| {
            format_duration(*d)
        }),
        row("server.max_connections", &limits.max_connections, |n| {
            n.to_string()
        }),
        row("server.header_timeout", &limits.header_timeout, |d| {
            format_duration(*d)
        }),
        row("server.body_timeout", &limits.body_timeout, |d| {
            format_duration(*d)
        }),
        row("server.max_body", &limits.max_body, |n| n.to_string()),
    ];
    for p in settings.config.providers() {
        let path = settings.translate_path(p.name());
        service.push(row(
            &format!("translate.{}.path", p.name()),
            &path,
            String::clone,
        ));
    }
    json!({
        "file": settings.path.display().to_string(),
        "listening": listening.to_string(),
        "service": service,
        "proxyscope": settings.config.effective(Some(env)),
        "warnings": settings.warnings,
    })
}

fn row<T>(key: &str, value: &Sourced<T>, show: impl Fn(&T) -> String) -> Setting {
    Setting::new(key, show(&value.value), value.origin.clone())
}
