//! The probe as a Prometheus exporter in blackbox_exporter's multi-target style: one
//! [`Exporter`] per egress zone, scraped by Prometheus, runs a provider's checks when a scrape
//! asks for them and answers in the exposition format.
//!
//! [`Exporter::handle`] answers one HTTP request (`http` types, no server): `GET /probe?target=P
//! [&check=C]`, `GET /metrics` (its own metrics), `GET /` (a status page), `POST /-/reload`,
//! `GET /-/healthy`. The accept loop, signals and sockets belong to the program that embeds it
//! (`probe serve`).
//!
//! It cannot be used to amplify traffic: a result younger than the minimum interval is reused
//! (and a scrape for a target already being probed waits for that probe instead of starting
//! another), at most `max_concurrent` probes run at once, and every probe's deadline comes from
//! the scrape's timeout header, capped. Only the probed provider's client is built, on first
//! use. A reload that finds errors in the file is refused and the configuration in force keeps
//! serving; concurrent reloads coalesce.

mod generation;
pub mod metrics;
pub mod page;
pub mod request;

pub use generation::{MAX_CONFIG_BYTES, client_for};

use std::collections::HashMap;
use std::fmt::Write as _;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant};

use http::{Method, Request, Response, StatusCode, header};

use crate::config::Config;
use crate::connect::Resolver;
use crate::error::{Error, ErrorKind};
use crate::probe::check::Check;
use crate::probe::report::{CERT_WARN_DAYS, CheckError, CheckResult, Report, RunError};
use crate::probe::{Runner, blame, plan, prometheus};
use crate::proxy::{EnvSnapshot, redact_parsed_url};

use generation::{Generation, load};
use metrics::{ConfigFacts, Handler, Metrics};
use request::{DeadlinePolicy, ProbeQuery, parse_probe_query};

/// How much the exporter does for one scrape, at most.
#[derive(Debug, Clone, PartialEq)]
pub struct Limits {
    /// How the probe's deadline follows the scrape timeout.
    pub deadline: DeadlinePolicy,
    /// Probes running at once; a scrape that cannot get a slot within its deadline gets 503.
    pub max_concurrent: usize,
    /// A target's result younger than this is reused instead of probing again.
    pub min_interval: Duration,
    /// Certificates expiring within this many days make a check a warning.
    pub warn_days: i64,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            deadline: DeadlinePolicy::default(),
            max_concurrent: 4,
            min_interval: Duration::from_secs(10),
            warn_days: CERT_WARN_DAYS,
        }
    }
}

/// What a reload did: the number of providers now in force, or why the file was refused (its
/// code, message, hint and every lint finding).
#[derive(Debug, Clone)]
pub struct ReloadOutcome {
    /// Providers in force after a successful reload.
    pub providers: usize,
    /// Why the file was refused; `None` when the reload succeeded.
    pub refused: Option<RunError>,
}

impl ReloadOutcome {
    /// Whether the new configuration is in force.
    pub fn is_ok(&self) -> bool {
        self.refused.is_none()
    }
}

/// A Prometheus exporter over a configuration file. Cheap to clone; clones share everything.
#[derive(Clone)]
pub struct Exporter {
    shared: Arc<Shared>,
}

impl std::fmt::Debug for Exporter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Exporter")
            .field("config", &self.shared.path)
            .field("limits", &self.shared.limits)
            .finish_non_exhaustive()
    }
}

struct Shared {
    path: PathBuf,
    env: EnvSnapshot,
    resolver: Resolver,
    limits: Limits,
    current: RwLock<Arc<Generation>>,
    status: Mutex<ReloadStatus>,
    reload: tokio::sync::Mutex<Option<CompletedReload>>,
    probes: tokio::sync::Semaphore,
    last: Mutex<HashMap<(String, String), (CheckResult, i64)>>,
    metrics: Metrics,
}

#[derive(Default)]
struct ReloadStatus {
    /// When the last reload was refused and how many errors the file had; `None` once one succeeds.
    refused: Option<(i64, usize)>,
}

struct CompletedReload {
    started: Instant,
    outcome: ReloadOutcome,
}

/// A target's last result, kept for the minimum interval.
struct Cached {
    at: Instant,
    deadline: Duration,
    report: Arc<Report>,
}

impl Exporter {
    /// Loads the configuration at `path` (refusing it, like a reload would, when it has
    /// errors) and returns an exporter over it. Probes route with `env` and resolve with
    /// `resolver`.
    pub fn new(
        path: impl Into<PathBuf>,
        env: EnvSnapshot,
        resolver: Resolver,
        limits: Limits,
    ) -> Result<Self, Error> {
        let path = path.into();
        let generation = load(&path, &env)?;
        Ok(Self {
            shared: Arc::new(Shared {
                probes: tokio::sync::Semaphore::new(limits.max_concurrent.max(1)),
                path,
                env,
                resolver,
                limits,
                current: RwLock::new(Arc::new(generation)),
                status: Mutex::new(ReloadStatus::default()),
                reload: tokio::sync::Mutex::new(None),
                last: Mutex::new(HashMap::new()),
                metrics: Metrics::default(),
            }),
        })
    }

    /// The names of the providers in force.
    pub fn providers(&self) -> Vec<String> {
        let generation = self.generation();
        generation
            .config
            .providers()
            .iter()
            .map(|p| p.name().to_owned())
            .collect()
    }

    /// The providers whose client has been built: only those probed since the last reload.
    pub fn built_clients(&self) -> Vec<String> {
        self.generation().built_clients()
    }

    /// Answers one request. Never fails: every problem is a status code and a one-line reason.
    pub async fn handle(&self, req: &Request<()>) -> Response<String> {
        let path = req.uri().path();
        let (handler, allowed) = match path {
            "/probe" => (Handler::Probe, Method::GET),
            "/metrics" => (Handler::Metrics, Method::GET),
            "/" => (Handler::Page, Method::GET),
            "/-/reload" => (Handler::Reload, Method::POST),
            "/-/healthy" => (Handler::Healthy, Method::GET),
            _ => (Handler::Other, Method::GET),
        };
        let res = if handler == Handler::Other {
            text(
                StatusCode::NOT_FOUND,
                "not found; see / for what this exporter serves\n",
            )
        } else if req.method() != allowed {
            let mut res = text(
                StatusCode::METHOD_NOT_ALLOWED,
                &format!("{path} accepts {allowed} only\n"),
            );
            if let Ok(v) = header::HeaderValue::from_str(allowed.as_str()) {
                res.headers_mut().insert(header::ALLOW, v);
            }
            res
        } else {
            match handler {
                Handler::Probe => self.probe(req).await,
                Handler::Metrics => self.own_metrics(),
                Handler::Page => self.page(),
                Handler::Reload => reload_response(&self.reload().await),
                Handler::Healthy | Handler::Other => text(StatusCode::OK, "OK\n"),
            }
        };
        self.shared.metrics.request(handler, res.status().as_u16());
        res
    }

    /// Re-reads the configuration file. A file with errors is refused and the configuration
    /// in force keeps serving. A reload requested while another runs waits for it, and shares
    /// its outcome when that one started after the request arrived.
    pub async fn reload(&self) -> ReloadOutcome {
        let arrived = Instant::now();
        let mut done = self.shared.reload.lock().await;
        if let Some(d) = done.as_ref().filter(|d| d.started >= arrived) {
            return d.outcome.clone();
        }
        let started = Instant::now();
        let path = self.shared.path.clone();
        let env = self.shared.env.clone();
        let loaded = tokio::task::spawn_blocking(move || load(&path, &env))
            .await
            .unwrap_or_else(|e| {
                Err(Error::new(ErrorKind::ConfigInvalid)
                    .with_message("loading the configuration did not complete")
                    .with_source(e))
            });
        let outcome = match loaded {
            Ok(generation) => {
                let providers = generation.config.providers().len();
                let keep: Vec<(String, String)> = plan::checks(&generation.config, &[])
                    .unwrap_or_default()
                    .into_iter()
                    .map(|c| (c.provider.clone(), c.name().to_owned()))
                    .collect();
                lock(&self.shared.last).retain(|k, _| keep.contains(k));
                *self
                    .shared
                    .current
                    .write()
                    .unwrap_or_else(std::sync::PoisonError::into_inner) = Arc::new(generation);
                lock(&self.shared.status).refused = None;
                tracing::info!(providers, "configuration reloaded");
                ReloadOutcome {
                    providers,
                    refused: None,
                }
            }
            Err(e) => {
                let refused = RunError::from_error(&e);
                let errors = refused
                    .diagnostics
                    .iter()
                    .filter(|d| d.is_error())
                    .count()
                    .max(1);
                lock(&self.shared.status).refused = Some((unix_now(), errors));
                tracing::warn!(
                    code = refused.code,
                    errors,
                    "configuration reload refused; the previous configuration keeps serving"
                );
                ReloadOutcome {
                    providers: self.generation().config.providers().len(),
                    refused: Some(refused),
                }
            }
        };
        self.shared.metrics.reloaded(outcome.is_ok());
        *done = Some(CompletedReload {
            started,
            outcome: outcome.clone(),
        });
        outcome
    }

    fn generation(&self) -> Arc<Generation> {
        Arc::clone(
            &self
                .shared
                .current
                .read()
                .unwrap_or_else(std::sync::PoisonError::into_inner),
        )
    }

    async fn probe(&self, req: &Request<()>) -> Response<String> {
        let started = Instant::now();
        let query = match parse_probe_query(req.uri().query()) {
            Ok(q) => q,
            Err(e) => {
                let status = StatusCode::from_u16(e.status).unwrap_or(StatusCode::BAD_REQUEST);
                return text(status, &format!("{}\n", e.message));
            }
        };
        let generation = self.generation();
        let checks = match select(&generation.config, &query) {
            Ok(checks) => checks,
            Err(message) => return text(StatusCode::BAD_REQUEST, &message),
        };
        let deadline = self.shared.limits.deadline.deadline(
            req.headers()
                .get("x-prometheus-scrape-timeout-seconds")
                .map(|v| v.as_bytes()),
        );
        let slot = generation.slot(&query);
        let Ok(mut cached) = tokio::time::timeout(deadline, slot.lock()).await else {
            return busy("a probe of this target is still running; try again after it finishes");
        };
        if let Some(c) = cached
            .as_ref()
            .filter(|c| c.at.elapsed() < self.shared.limits.min_interval)
        {
            self.shared.metrics.reused();
            return exposition(&c.report, c.deadline, c.at.elapsed());
        }
        let remaining = deadline.saturating_sub(started.elapsed());
        let Ok(Ok(_permit)) = tokio::time::timeout(remaining, self.shared.probes.acquire()).await
        else {
            return busy("too many probes are running; try again later");
        };
        let remaining = deadline.saturating_sub(started.elapsed());
        let report = {
            let _running = self.shared.metrics.in_flight();
            self.run(&generation, &query.target, checks, remaining)
                .await
        };
        self.shared
            .metrics
            .probe_ran(report.is_ok(), report.duration);
        self.remember(&report);
        let report = Arc::new(report);
        *cached = Some(Cached {
            at: Instant::now(),
            deadline,
            report: Arc::clone(&report),
        });
        exposition(&report, deadline, Duration::ZERO)
    }

    /// Runs `checks` of `provider` within `deadline` (a check's own shorter timeout still
    /// applies) through the provider's client, building it on first use.
    async fn run(
        &self,
        generation: &Generation,
        provider: &str,
        mut checks: Vec<Check>,
        deadline: Duration,
    ) -> Report {
        for c in &mut checks {
            c.spec.timeout = Some(c.spec.timeout.map_or(deadline, |own| own.min(deadline)));
        }
        let client = match generation.client(provider, &self.shared.env, &self.shared.resolver) {
            Ok(client) => client,
            Err(e) => return unbuildable(&checks, &e),
        };
        Runner::new(client)
            .default_timeout(deadline)
            .warn_days(self.shared.limits.warn_days)
            .run(&checks)
            .await
    }

    /// Keeps each check's result for the page, and logs failures by code (never URLs or text
    /// that could carry a secret).
    fn remember(&self, report: &Report) {
        let now = unix_now();
        let mut last = lock(&self.shared.last);
        for c in &report.checks {
            if let Some(e) = &c.error {
                tracing::warn!(
                    provider = %c.provider,
                    check = %c.name,
                    code = e.code(),
                    blame = blame::of(e),
                    hop = e.hop.map_or("none", |h| h.as_str()),
                    phase = e.phase.as_str(),
                    "check failed"
                );
            }
            last.insert((c.provider.clone(), c.name.clone()), (c.clone(), now));
        }
    }

    fn own_metrics(&self) -> Response<String> {
        let generation = self.generation();
        let refused = lock(&self.shared.status).refused;
        let facts = ConfigFacts {
            providers: generation.config.providers().len(),
            diagnostics: generation.diagnostics,
            last_reload_ok: refused.is_none(),
            last_reload_errors: refused.map_or(0, |(_, n)| n),
            loaded_at: generation.loaded_at as f64,
        };
        let mut res = text(StatusCode::OK, &self.shared.metrics.render(&facts));
        set(&mut res, header::CONTENT_TYPE, EXPOSITION);
        res
    }

    fn page(&self) -> Response<String> {
        let generation = self.generation();
        let last = lock(&self.shared.last);
        let checks = plan::checks(&generation.config, &[]).unwrap_or_default();
        let providers = generation
            .config
            .providers()
            .iter()
            .map(|p| page::ProviderRow {
                name: p.name(),
                url: redact_parsed_url(&p.url().value),
                checks: checks
                    .iter()
                    .filter(|c| c.provider == p.name())
                    .map(|c| page::CheckRow {
                        name: c.name(),
                        last: last
                            .get(&(c.provider.clone(), c.name().to_owned()))
                            .map(|(r, at)| (r, *at)),
                    })
                    .collect(),
            })
            .collect();
        let input = page::PageInput {
            config: self
                .shared
                .path
                .file_name()
                .map_or_else(String::new, |n| n.to_string_lossy().into_owned()),
            loaded_at: generation.loaded_at,
            refused: lock(&self.shared.status).refused,
            providers,
        };
        let mut res = text(StatusCode::OK, &page::render(&input));
        set(&mut res, header::CONTENT_TYPE, "text/html; charset=utf-8");
        set(
            &mut res,
            header::CONTENT_SECURITY_POLICY,
            page::content_security_policy(),
        );
        set(&mut res, header::REFERRER_POLICY, "no-referrer");
        res
    }
}

/// The checks a query selects, or the 400 body naming what exists.
fn select(config: &Config, query: &ProbeQuery) -> Result<Vec<Check>, String> {
    let known = || {
        config
            .providers()
            .iter()
            .map(|p| p.name())
            .collect::<Vec<_>>()
            .join(", ")
    };
    if config.provider(&query.target).is_none() {
        return Err(format!(
            "unknown target {:?}; known providers: {}\n",
            query.target,
            known()
        ));
    }
    let checks =
        plan::checks(config, std::slice::from_ref(&query.target)).map_err(|e| format!("{e}\n"))?;
    let Some(name) = &query.check else {
        return Ok(checks);
    };
    let names: Vec<&str> = checks.iter().map(|c| c.name()).collect();
    if !names.contains(&name.as_str()) {
        return Err(format!(
            "provider {:?} has no check {name:?}; its checks: {}\n",
            query.target,
            names.join(", ")
        ));
    }
    Ok(checks.into_iter().filter(|c| c.name() == name).collect())
}

/// A report for checks whose client could not be built: each fails with that error.
fn unbuildable(checks: &[Check], e: &Error) -> Report {
    let results = checks
        .iter()
        .map(|c| {
            let mut r = CheckResult::new(&c.provider, c.name(), c.spec.method.as_str(), &c.url);
            r.fail(CheckError::from_error(e));
            r
        })
        .collect();
    Report::new(results, Duration::ZERO)
}

const EXPOSITION: &str = "text/plain; version=0.0.4; charset=utf-8";

/// The `/probe` answer: the report's exposition, plus the deadline it ran under and the age of
/// the result (non-zero when it was reused, whose deadline is the one it ran under).
fn exposition(report: &Report, deadline: Duration, age: Duration) -> Response<String> {
    let mut body = prometheus::render(report);
    let _ = write!(
        body,
        "# HELP probe_timeout_seconds The deadline the probe ran under, from the scrape timeout.\n\
         # TYPE probe_timeout_seconds gauge\nprobe_timeout_seconds {}\n\
         # HELP proxyscope_probe_result_age_seconds Age of the result: 0 when probed for this scrape, more when a recent result was reused.\n\
         # TYPE proxyscope_probe_result_age_seconds gauge\nproxyscope_probe_result_age_seconds {}\n",
        deadline.as_secs_f64(),
        age.as_secs_f64()
    );
    let mut res = text(StatusCode::OK, &body);
    set(&mut res, header::CONTENT_TYPE, EXPOSITION);
    res
}

fn reload_response(outcome: &ReloadOutcome) -> Response<String> {
    match &outcome.refused {
        None => text(
            StatusCode::OK,
            &format!("reloaded: {} providers\n", outcome.providers),
        ),
        Some(e) => {
            let mut body = format!(
                "reload refused ({}): {}; the previous configuration keeps serving\n",
                e.code, e.message
            );
            for d in &e.diagnostics {
                let _ = writeln!(body, "{d}");
            }
            // Prometheus and Alertmanager answer a failed reload with 500; so does this.
            text(StatusCode::INTERNAL_SERVER_ERROR, &body)
        }
    }
}

fn busy(reason: &str) -> Response<String> {
    let mut res = text(StatusCode::SERVICE_UNAVAILABLE, &format!("{reason}\n"));
    set(&mut res, header::RETRY_AFTER, "1");
    res
}

fn text(status: StatusCode, body: &str) -> Response<String> {
    let mut res = Response::new(body.to_owned());
    *res.status_mut() = status;
    set(&mut res, header::CONTENT_TYPE, "text/plain; charset=utf-8");
    set(&mut res, header::X_CONTENT_TYPE_OPTIONS, "nosniff");
    set(&mut res, header::CACHE_CONTROL, "no-store");
    res
}

fn set(res: &mut Response<String>, name: header::HeaderName, value: &'static str) {
    res.headers_mut()
        .insert(name, header::HeaderValue::from_static(value));
}

fn unix_now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64)
}

/// A poisoned lock only means another request panicked; the data stays usable.
fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

#[cfg(test)]
mod tests {
    use super::*;

    const TOML: &str = r#"
[providers.web]
url = "http://web.test:1/"
proxy = "direct"
[[providers.web.checks]]
name = "home"
path = "/"
[[providers.web.checks]]
name = "api"
path = "/api"

[providers.other]
url = "https://other.test:1/"
proxy = "direct"
"#;

    fn exporter(toml: &str) -> (tempfile::TempDir, Exporter) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("probe.toml");
        std::fs::write(&path, toml).unwrap();
        let e = Exporter::new(
            &path,
            EnvSnapshot::from_pairs::<&str, &str>([]),
            // Names pinned to loopback, where nothing listens on port 1: no lookup leaves the
            // machine.
            Resolver::pinned("web.test", [std::net::Ipv4Addr::LOCALHOST.into()])
                .pin("other.test", [std::net::Ipv4Addr::LOCALHOST.into()]),
            Limits::default(),
        )
        .unwrap();
        (dir, e)
    }

    fn get(path: &str) -> Request<()> {
        Request::get(path).body(()).unwrap()
    }

    fn metric(text: &str, line_start: &str) -> f64 {
        text.lines()
            .find_map(|l| l.strip_prefix(line_start))
            .and_then(|v| v.trim().parse().ok())
            .unwrap_or_else(|| panic!("{line_start} missing:\n{text}"))
    }

    #[test]
    fn queries_select_a_provider_or_one_of_its_checks() {
        let cfg = Config::from_toml_str(TOML, "probe.toml").unwrap();
        let q = |target: &str, check: Option<&str>| ProbeQuery {
            target: target.to_owned(),
            check: check.map(str::to_owned),
        };
        assert_eq!(select(&cfg, &q("web", None)).unwrap().len(), 2);
        let one = select(&cfg, &q("web", Some("api"))).unwrap();
        assert_eq!(one.len(), 1);
        assert_eq!(one[0].url, "http://web.test:1/api");
        let e = select(&cfg, &q("nope", None)).unwrap_err();
        assert!(e.contains("known providers: web, other"), "{e}");
        let e = select(&cfg, &q("web", Some("nope"))).unwrap_err();
        assert!(e.contains("its checks: home, api"), "{e}");
    }

    #[tokio::test]
    async fn routes_methods_and_unknown_paths() {
        let (_dir, e) = exporter(TOML);
        assert_eq!(e.handle(&get("/nope")).await.status(), 404);
        assert_eq!(e.handle(&get("/-/healthy")).await.status(), 200);
        let res = e.handle(&get("/-/reload")).await;
        assert_eq!(res.status(), 405);
        assert_eq!(res.headers()[header::ALLOW], "POST");
        let post = Request::post("/probe?target=web").body(()).unwrap();
        assert_eq!(e.handle(&post).await.status(), 405);
        let res = e.handle(&get("/probe?target=nope")).await;
        assert_eq!(res.status(), 400);
        let page = e.handle(&get("/")).await;
        assert_eq!(
            page.headers()[header::CONTENT_TYPE],
            "text/html; charset=utf-8"
        );
        assert!(
            page.headers()[header::CONTENT_SECURITY_POLICY]
                .to_str()
                .unwrap()
                .starts_with("default-src 'none'")
        );
        assert_eq!(page.body().matches("data-state=\"unprobed\"").count(), 3);
        let metrics = e.handle(&get("/metrics")).await.into_body();
        assert_eq!(
            metric(
                &metrics,
                "proxyscope_exporter_requests_total{handler=\"other\",code=\"404\"}"
            ),
            1.0
        );
        // Nothing was probed, so no client was built.
        assert!(e.built_clients().is_empty());
    }

    #[tokio::test]
    async fn a_probe_builds_only_its_provider_s_client() {
        let (_dir, e) = exporter(TOML);
        // Nothing listens on web.test:1: the probe fails fast, but its client exists now.
        let res = e.handle(&get("/probe?target=web&check=home")).await;
        assert_eq!(res.status(), 200);
        assert!(
            res.body().contains("code=\"origin.connect\""),
            "{}",
            res.body()
        );
        assert_eq!(e.built_clients(), ["web"]);
    }

    #[tokio::test]
    async fn concurrent_reloads_share_one_read_of_the_file() {
        let (dir, e) = exporter(TOML);
        let outcomes = futures_util::future::join_all((0..20).map(|_| e.reload())).await;
        assert!(outcomes.iter().all(ReloadOutcome::is_ok));
        let metrics = e.handle(&get("/metrics")).await.into_body();
        // The first reload runs; those that arrived while it ran run one more (the file may
        // have changed after the first started reading it), which the rest share. One read is
        // also right: a clock that returns the same instant twice lets the second share the first.
        let reads = metric(
            &metrics,
            "proxyscope_exporter_config_reloads_total{result=\"success\"}",
        );
        assert!(
            (1.0..=2.0).contains(&reads),
            "20 reloads read the file {reads} times"
        );
        // A refused file keeps the configuration in force.
        std::fs::write(dir.path().join("probe.toml"), "[providers.x]\nurll = 1\n").unwrap();
        let refused = e.reload().await;
        let why = refused.refused.as_ref().unwrap();
        assert_eq!(why.code, "config.invalid");
        assert!(
            why.diagnostics.iter().any(|d| d.code == "unknown_key"),
            "{why:?}"
        );
        assert_eq!(refused.providers, 2);
        assert_eq!(e.providers(), ["web", "other"]);
    }

    #[tokio::test]
    async fn files_that_cannot_be_read_in_full_are_refused() {
        let (dir, e) = exporter(TOML);
        let path = dir.path().join("probe.toml");
        let big = format!("{TOML}#{}\n", "x".repeat(MAX_CONFIG_BYTES as usize));
        std::fs::write(&path, big).unwrap();
        assert!(!e.reload().await.is_ok());
        std::fs::remove_file(&path).unwrap();
        std::fs::create_dir(&path).unwrap();
        let outcome = e.reload().await;
        assert_eq!(outcome.refused.unwrap().code, "config.invalid");
        std::fs::remove_dir(&path).unwrap();
        std::fs::write(&path, [0xff, 0xfe, 0x00]).unwrap();
        assert!(!e.reload().await.is_ok());
        assert_eq!(e.providers(), ["web", "other"]);
    }
}
