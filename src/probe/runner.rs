//! The [`Runner`]: every check at once, each within its own deadline, so a run takes about as long
//! as its slowest check rather than the sum. Results come back in the order the checks were
//! given, whatever order they finished in.
//!
//! A run that takes longer than a second reports progress through an optional callback (the
//! probe prints it on stderr), once a second, naming the checks still running.

use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::client::Client;

use super::check::{self, Check, DEFAULT_TIMEOUT};
use super::report::{CERT_WARN_DAYS, Report};

/// What is still running, for progress output.
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Progress {
    /// Checks finished so far.
    pub done: usize,
    /// Checks in the run.
    pub total: usize,
    /// Time since the run started.
    pub elapsed: Duration,
    /// `provider/name` of every check still running.
    pub pending: Vec<String>,
}

type ProgressFn = Arc<dyn Fn(&Progress) + Send + Sync>;

/// Runs checks concurrently through one [`Client`].
#[derive(Clone)]
pub struct Runner {
    client: Client,
    timeout: Duration,
    override_timeout: bool,
    warn_days: i64,
    progress: Option<ProgressFn>,
    progress_after: Duration,
}

impl std::fmt::Debug for Runner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Runner")
            .field("timeout", &self.timeout)
            .field("override_timeout", &self.override_timeout)
            .field("warn_days", &self.warn_days)
            .finish_non_exhaustive()
    }
}

impl Runner {
    /// A runner over `client`. For honest per-phase timings the client should not reuse
    /// connections between checks (build it with `pool_max_idle_per_host(0)`).
    pub fn new(client: Client) -> Self {
        Self {
            client,
            timeout: DEFAULT_TIMEOUT,
            override_timeout: false,
            warn_days: CERT_WARN_DAYS,
            progress: None,
            progress_after: Duration::from_secs(1),
        }
    }

    /// The deadline of checks that name none (default 10 s).
    pub fn default_timeout(mut self, d: Duration) -> Self {
        self.timeout = d;
        self.override_timeout = false;
        self
    }

    /// One deadline for every check, overriding their own (`probe check --timeout`).
    pub fn timeout(mut self, d: Duration) -> Self {
        self.timeout = d;
        self.override_timeout = true;
        self
    }

    /// Certificates expiring within this many days make a check a warning (default 14).
    pub fn warn_days(mut self, days: i64) -> Self {
        self.warn_days = days;
        self
    }

    /// Called once a second, after the first second, while checks are still running.
    pub fn on_progress(mut self, f: impl Fn(&Progress) + Send + Sync + 'static) -> Self {
        self.progress = Some(Arc::new(f));
        self
    }

    /// Runs every check concurrently and gathers the results in the given order.
    pub async fn run(&self, checks: &[Check]) -> Report {
        let started = Instant::now();
        let mut set = tokio::task::JoinSet::new();
        for (i, c) in checks.iter().enumerate() {
            let client = self.client.clone();
            let check = c.clone();
            let deadline = match (self.override_timeout, c.spec.timeout) {
                (false, Some(own)) => own,
                _ => self.timeout,
            };
            let warn_days = self.warn_days;
            set.spawn(async move { (i, check::run(&client, &check, deadline, warn_days).await) });
        }
        let mut results = vec![None; checks.len()];
        let mut ticker = tokio::time::interval_at(
            tokio::time::Instant::now() + self.progress_after,
            Duration::from_secs(1),
        );
        let mut done = 0;
        while done < checks.len() {
            tokio::select! {
                joined = set.join_next() => match joined {
                    Some(Ok((i, r))) => {
                        results[i] = Some(r);
                        done += 1;
                    }
                    Some(Err(e)) => {
                        // A check task cannot panic by design; if one does, surface it.
                        if e.is_panic() {
                            std::panic::resume_unwind(e.into_panic());
                        }
                        done += 1;
                    }
                    None => break,
                },
                _ = ticker.tick(), if self.progress.is_some() => {
                    if let Some(f) = &self.progress {
                        let pending = checks
                            .iter()
                            .zip(&results)
                            .filter(|(_, r)| r.is_none())
                            .map(|(c, _)| format!("{}/{}", c.provider, c.name()))
                            .collect();
                        f(&Progress {
                            done,
                            total: checks.len(),
                            elapsed: started.elapsed(),
                            pending,
                        });
                    }
                }
            }
        }
        Report::new(results.into_iter().flatten().collect(), started.elapsed())
    }
}
