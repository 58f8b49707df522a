//! `GET /_health/providers`: the deep health check `/_info` can never be. It runs proxyscope's
//! probe over every provider's real egress path (route, DNS, connect, proxy handshake, TLS,
//! HTTP, with each provider's declared checks) and answers 200 only when every *required*
//! provider passes, 503 otherwise. A run is reused for `server.health_cache`, and concurrent
//! callers share one run, so a monitoring storm never becomes a provider storm.
//!
//! The answer is one line per provider (`name`, `required`, `ok`, and on failure the `code`,
//! `hop`, `blame` — who must act: `local_config`, `proxy`, `origin`, `network` — and `hint`);
//! `?verbose=1` adds each provider's route, phase timings and every check's
//! full result.

use std::time::{Duration, Instant};

use proxyscope::config::Config;
use proxyscope::connect::Resolver;
use proxyscope::probe::{Check, CheckResult, Report, Runner, blame, plan};
use proxyscope::{Client, EnvSnapshot};
use serde_json::{Map, Value, json};
use tokio::sync::Mutex;

/// A provider as the health check reports it.
#[derive(Debug, Clone)]
struct ProviderInfo {
    name: String,
    required: bool,
    url: String,
}

/// One finished run.
#[derive(Debug, Clone)]
struct Cached {
    at: Instant,
    ok: bool,
    body: Value,
}

/// The deep health check with its cache.
pub(crate) struct Health {
    cache_for: Duration,
    client: Client,
    runner: Runner,
    checks: Vec<Check>,
    providers: Vec<ProviderInfo>,
    last: Mutex<Option<Cached>>,
}

impl Health {
    /// The checks of every provider of `config`, run through a client that opens a fresh
    /// connection per check (so each phase is measured), reused for `cache_for`.
    pub(crate) fn new(
        config: &Config,
        env: EnvSnapshot,
        cache_for: Duration,
    ) -> Result<Self, proxyscope::Error> {
        let client = plan::client(config, env, Resolver::system())?;
        let checks = plan::checks(config, &[])?;
        let providers = config
            .providers()
            .iter()
            .map(|p| ProviderInfo {
                name: p.name().to_owned(),
                required: p.is_required(),
                url: p.url().value.to_string(),
            })
            .collect();
        Ok(Self {
            cache_for,
            runner: Runner::new(client.clone()),
            client,
            checks,
            providers,
            last: Mutex::new(None),
        })
    }

    /// Whether every required provider passes, and the JSON document (`verbose`: with every
    /// check's details). A run younger than the cache time is reused (`"cached": true`).
    pub(crate) async fn status(&self, verbose: bool) -> (bool, Value) {
        let shape = |body: &Value| if verbose { body.clone() } else { concise(body) };
        // Held across the run: callers that arrive meanwhile wait for it and reuse it.
        let mut last = self.last.lock().await;
        if let Some(c) = last.as_ref()
            && c.at.elapsed() < self.cache_for
        {
            let body = shape(&c.body);
            return (c.ok, stamp(body, true, c.at.elapsed(), self.cache_for));
        }
        let report = self.runner.run(&self.checks).await;
        for r in &report.checks {
            log(r);
        }
        let (ok, body) = self.summarize(&report);
        let fresh = stamp(shape(&body), false, Duration::ZERO, self.cache_for);
        *last = Some(Cached {
            at: Instant::now(),
            ok,
            body,
        });
        (ok, fresh)
    }

    fn summarize(&self, report: &Report) -> (bool, Value) {
        let mut providers = Vec::new();
        let mut required_ok = true;
        let mut all_ok = true;
        let mut failing = Vec::new();
        for p in &self.providers {
            let results: Vec<&CheckResult> = report
                .checks
                .iter()
                .filter(|c| c.provider == p.name)
                .collect();
            let ok = results.iter().all(|c| c.is_ok());
            if !ok {
                failing.push(p.name.clone());
            }
            all_ok &= ok;
            required_ok &= ok || !p.required;
            providers.push(provider_json(p, ok, &results, &self.client));
        }
        let status = if all_ok {
            "ok"
        } else if required_ok {
            "degraded"
        } else {
            "failing"
        };
        let body = json!({
            "ok": required_ok,
            "status": status,
            "failing": failing,
            "duration_ms": ms(report.duration),
            "providers": providers,
        });
        (required_ok, body)
    }
}

/// One provider: its route, the first failure's code, hop, phase and hint, the phases of its
/// first check, and every check's full result.
fn provider_json(p: &ProviderInfo, ok: bool, results: &[&CheckResult], client: &Client) -> Value {
    let route = results
        .iter()
        .find_map(|c| c.route.as_ref())
        .map(|r| json!(r))
        .or_else(|| client.route(Some(&p.name), &p.url).ok().map(|r| json!(r)))
        .unwrap_or(Value::Null);
    let failed = results
        .iter()
        .find_map(|c| c.error.as_ref().map(|e| (c, e)));
    let phases: Map<String, Value> = results
        .first()
        .map(|c| {
            c.timings
                .phases()
                .into_iter()
                .map(|(name, d)| (name.to_owned(), json!(ms(d))))
                .collect()
        })
        .unwrap_or_default();
    json!({
        "name": p.name,
        "required": p.required,
        "ok": ok,
        "route": route,
        "code": failed.map(|(_, e)| e.code()),
        "hop": failed.and_then(|(_, e)| e.hop),
        "phase": failed.map(|(_, e)| e.phase),
        "blame": failed.map(|(_, e)| blame::of(e)),
        "hint": failed.and_then(|(_, e)| e.hint.clone()),
        "failed_check": failed.map(|(c, _)| c.name.clone()),
        "phases_ms": phases,
        "checks": results,
    })
}

/// The log line of one probe request: provider, route, and on failure the code.
fn log(r: &CheckResult) {
    let route = r
        .route
        .as_ref()
        .map_or_else(|| "unknown".to_owned(), |r| r.summary());
    let elapsed_ms = r.timings.total.map_or(0, |d| d.as_millis());
    match &r.error {
        None => tracing::info!(
            provider = %r.provider,
            check = %r.name,
            route = %route,
            status = r.status,
            elapsed_ms,
            "outbound health check"
        ),
        Some(e) => tracing::warn!(
            provider = %r.provider,
            check = %r.name,
            route = %route,
            code = e.code(),
            hop = e.hop.map_or("-", |h| h.as_str()),
            phase = %e.phase,
            elapsed_ms,
            "outbound health check failed"
        ),
    }
}

/// The fields of a provider in the default answer.
const CONCISE: &[&str] = &["name", "required", "ok", "code", "hop", "blame", "hint"];

/// The full document with each provider cut to its [`CONCISE`] fields.
fn concise(full: &Value) -> Value {
    let mut body = full.clone();
    if let Some(providers) = body.get_mut("providers").and_then(Value::as_array_mut) {
        for p in providers {
            if let Value::Object(m) = p {
                m.retain(|k, _| CONCISE.contains(&k.as_str()));
            }
        }
    }
    body
}

fn stamp(mut body: Value, cached: bool, age: Duration, cache_for: Duration) -> Value {
    if let Value::Object(m) = &mut body {
        m.insert("cached".to_owned(), json!(cached));
        m.insert("age_ms".to_owned(), json!(ms(age)));
        m.insert("cache_ms".to_owned(), json!(ms(cache_for)));
    }
    body
}

fn ms(d: Duration) -> f64 {
    (d.as_secs_f64() * 1000.0 * 10.0).round() / 10.0
}
