//! The exporter's own metrics, served on `/metrics`: probes run by result and their durations,
//! results reused inside the minimum interval, HTTP requests by handler and status, config
//! reloads and the findings of the configuration in force. Every label value comes from a fixed
//! set, so no request can grow the number of series.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::Mutex;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::time::Duration;

use crate::probe::prometheus::escape;

/// Upper bounds of the probe-duration histogram, in seconds.
pub const DURATION_BUCKETS: [f64; 10] = [0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0];

/// The handlers counted in `proxyscope_exporter_requests_total{handler}`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Handler {
    /// `GET /probe`.
    Probe,
    /// `GET /metrics`.
    Metrics,
    /// `GET /`.
    Page,
    /// `POST /-/reload`.
    Reload,
    /// `GET /-/healthy`.
    Healthy,
    /// Anything else.
    Other,
}

impl Handler {
    /// The label value.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Probe => "probe",
            Self::Metrics => "metrics",
            Self::Page => "page",
            Self::Reload => "reload",
            Self::Healthy => "healthy",
            Self::Other => "other",
        }
    }
}

#[derive(Debug, Default)]
struct Histogram {
    buckets: [u64; DURATION_BUCKETS.len()],
    count: u64,
    sum: f64,
}

/// Counters and gauges, updated by the exporter and rendered on `/metrics`.
#[derive(Debug, Default)]
pub struct Metrics {
    probes_ok: AtomicU64,
    probes_failed: AtomicU64,
    reused: AtomicU64,
    in_flight: AtomicI64,
    reloads_ok: AtomicU64,
    reloads_failed: AtomicU64,
    durations: Mutex<Histogram>,
    requests: Mutex<BTreeMap<(Handler, u16), u64>>,
}

/// The configuration facts rendered with the metrics, read from the exporter's state.
#[derive(Debug, Clone, Default)]
pub struct ConfigFacts {
    /// Providers in the configuration in force.
    pub providers: usize,
    /// Its lint findings by severity (`error` is always 0: such a config is refused).
    pub diagnostics: [(&'static str, usize); 3],
    /// Whether the last reload succeeded (the first load counts).
    pub last_reload_ok: bool,
    /// Error findings of the last refused configuration; 0 after a successful reload.
    pub last_reload_errors: usize,
    /// When the configuration in force was loaded, Unix seconds.
    pub loaded_at: f64,
}

impl Metrics {
    /// Records a probe that ran (not one whose result was reused).
    pub fn probe_ran(&self, ok: bool, duration: Duration) {
        let counter = if ok {
            &self.probes_ok
        } else {
            &self.probes_failed
        };
        counter.fetch_add(1, Ordering::Relaxed);
        let secs = duration.as_secs_f64();
        let mut h = lock(&self.durations);
        for (i, bound) in DURATION_BUCKETS.iter().enumerate() {
            if secs <= *bound {
                h.buckets[i] += 1;
            }
        }
        h.count += 1;
        h.sum += secs;
    }

    /// Records a scrape answered with a result younger than the minimum interval.
    pub fn reused(&self) {
        self.reused.fetch_add(1, Ordering::Relaxed);
    }

    /// Marks a probe as started; the guard marks it finished when dropped.
    pub fn in_flight(&self) -> InFlight<'_> {
        self.in_flight.fetch_add(1, Ordering::Relaxed);
        InFlight(&self.in_flight)
    }

    /// Records a reload attempt's outcome.
    pub fn reloaded(&self, ok: bool) {
        let counter = if ok {
            &self.reloads_ok
        } else {
            &self.reloads_failed
        };
        counter.fetch_add(1, Ordering::Relaxed);
    }

    /// Records an answered HTTP request.
    pub fn request(&self, handler: Handler, status: u16) {
        *lock(&self.requests).entry((handler, status)).or_insert(0) += 1;
    }

    /// Prometheus text exposition of everything, with the configuration's facts.
    pub fn render(&self, config: &ConfigFacts) -> String {
        let n = |c: &AtomicU64| c.load(Ordering::Relaxed).to_string();
        let result = |ok: &AtomicU64, failed: &AtomicU64| {
            vec![
                ("{result=\"success\"}".to_owned(), n(ok)),
                ("{result=\"failure\"}".to_owned(), n(failed)),
            ]
        };
        let one = |v: String| vec![(String::new(), v)];
        let histogram = {
            let h = lock(&self.durations);
            let mut samples: Vec<(String, String)> = DURATION_BUCKETS
                .iter()
                .zip(h.buckets)
                .map(|(bound, n)| (format!("_bucket{{le=\"{bound}\"}}"), n.to_string()))
                .collect();
            samples.push(("_bucket{le=\"+Inf\"}".to_owned(), h.count.to_string()));
            samples.push(("_sum".to_owned(), h.sum.to_string()));
            samples.push(("_count".to_owned(), h.count.to_string()));
            samples
        };
        let requests = lock(&self.requests)
            .iter()
            .map(|((handler, status), n)| {
                (
                    format!(
                        "{{handler=\"{}\",code=\"{status}\"}}",
                        escape(handler.as_str())
                    ),
                    n.to_string(),
                )
            })
            .collect();
        let diagnostics = config
            .diagnostics
            .iter()
            .map(|(severity, n)| (format!("{{severity=\"{severity}\"}}"), n.to_string()))
            .collect();
        let families: [Family; 11] = [
            (
                "proxyscope_exporter_probes_total",
                "counter",
                "Probes run, by result (success: every check of the target passed).",
                result(&self.probes_ok, &self.probes_failed),
            ),
            (
                "proxyscope_exporter_probe_results_reused_total",
                "counter",
                "Scrapes answered with a result younger than the minimum interval instead of a new probe.",
                one(n(&self.reused)),
            ),
            (
                "proxyscope_exporter_probe_duration_seconds",
                "histogram",
                "Wall time of the probes that ran.",
                histogram,
            ),
            (
                "proxyscope_exporter_probes_in_flight",
                "gauge",
                "Probes running now.",
                one(self.in_flight.load(Ordering::Relaxed).to_string()),
            ),
            (
                "proxyscope_exporter_requests_total",
                "counter",
                "HTTP requests answered, by handler and status code.",
                requests,
            ),
            (
                "proxyscope_exporter_config_reloads_total",
                "counter",
                "Configuration reloads (SIGHUP, POST /-/reload), by result; a refused config keeps the old one serving.",
                result(&self.reloads_ok, &self.reloads_failed),
            ),
            (
                "proxyscope_exporter_config_last_reload_successful",
                "gauge",
                "Whether the last configuration reload succeeded (1) or was refused (0).",
                one(u8::from(config.last_reload_ok).to_string()),
            ),
            (
                "proxyscope_exporter_config_last_reload_errors",
                "gauge",
                "Error findings of the last refused configuration (0 when the last reload succeeded).",
                one(config.last_reload_errors.to_string()),
            ),
            (
                "proxyscope_exporter_config_loaded_timestamp_seconds",
                "gauge",
                "When the configuration in force was loaded, Unix seconds.",
                one(config.loaded_at.to_string()),
            ),
            (
                "proxyscope_exporter_config_providers",
                "gauge",
                "Providers in the configuration in force.",
                one(config.providers.to_string()),
            ),
            (
                "proxyscope_exporter_config_diagnostics",
                "gauge",
                "Lint findings of the configuration in force and the environment, by severity.",
                diagnostics,
            ),
        ];
        let mut out = String::new();
        for (name, kind, help, samples) in families {
            let _ = writeln!(out, "# HELP {name} {help}");
            let _ = writeln!(out, "# TYPE {name} {kind}");
            for (suffix, value) in samples {
                let _ = writeln!(out, "{name}{suffix} {value}");
            }
        }
        out
    }
}

/// A metric family to render: name, type, help, and its samples as (name suffix and labels,
/// value).
type Family = (
    &'static str,
    &'static str,
    &'static str,
    Vec<(String, String)>,
);

/// Decrements the in-flight gauge when dropped, whatever way the probe ends.
#[derive(Debug)]
pub struct InFlight<'a>(&'a AtomicI64);

impl Drop for InFlight<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::Relaxed);
    }
}

/// A poisoned lock only means another thread panicked while counting; the counts stay usable.
fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_and_histogram_render() {
        let m = Metrics::default();
        m.probe_ran(true, Duration::from_millis(80));
        m.probe_ran(false, Duration::from_secs(3));
        m.reused();
        m.reloaded(false);
        m.request(Handler::Probe, 400);
        m.request(Handler::Probe, 400);
        {
            let _running = m.in_flight();
            assert!(m.render(&ConfigFacts::default()).contains("in_flight 1\n"));
        }
        let text = m.render(&ConfigFacts {
            providers: 3,
            diagnostics: [("error", 0), ("warning", 2), ("info", 1)],
            last_reload_ok: false,
            last_reload_errors: 4,
            loaded_at: 1.5,
        });
        for line in [
            "proxyscope_exporter_probes_total{result=\"success\"} 1",
            "proxyscope_exporter_probes_total{result=\"failure\"} 1",
            "proxyscope_exporter_probe_results_reused_total 1",
            "proxyscope_exporter_probe_duration_seconds_bucket{le=\"0.05\"} 0",
            "proxyscope_exporter_probe_duration_seconds_bucket{le=\"0.1\"} 1",
            "proxyscope_exporter_probe_duration_seconds_bucket{le=\"5\"} 2",
            "proxyscope_exporter_probe_duration_seconds_bucket{le=\"+Inf\"} 2",
            "proxyscope_exporter_probe_duration_seconds_count 2",
            "proxyscope_exporter_probes_in_flight 0",
            "proxyscope_exporter_requests_total{handler=\"probe\",code=\"400\"} 2",
            "proxyscope_exporter_config_reloads_total{result=\"failure\"} 1",
            "proxyscope_exporter_config_last_reload_successful 0",
            "proxyscope_exporter_config_last_reload_errors 4",
            "proxyscope_exporter_config_providers 3",
            "proxyscope_exporter_config_diagnostics{severity=\"warning\"} 2",
        ] {
            assert!(text.contains(&format!("{line}\n")), "{line}\n{text}");
        }
    }
}
