//! Proxy auto-config (feature `pac`): a PAC script's `FindProxyForURL(url, host)` evaluated in a
//! sandboxed JavaScript engine with time, memory and stack limits, its answer read strictly into
//! candidates ([`parse_result`]), answers cached per destination for a bounded time, and a lint
//! for the classic PAC mistakes ([`lint`]).
//!
//! Pure with respect to the network: names the script resolves go through a [`PacResolver`]
//! (pinned names in tests, the client's resolver through [`auto_config`]), the time
//! the date helpers see comes from a [`PacClock`].
//!
//! ```
//! use proxyscope::pac::{Decision, Pac, PacOptions, PacScript};
//!
//! let script = PacScript::from_source(
//!     r#"function FindProxyForURL(url, host) {
//!         if (dnsDomainIs(host, ".corp.example")) return "DIRECT";
//!         return "PROXY egress.example:3128; DIRECT";
//!     }"#,
//!     "inline",
//! )?;
//! let pac = Pac::new(script, PacOptions::new())?;
//! let url = url::Url::parse("https://www.example.org/path").unwrap();
//! let Decision::Answer { answer, .. } = pac.find_proxy(&url)? else { unreachable!() };
//! assert_eq!(answer.returned, "PROXY egress.example:3128; DIRECT");
//! assert_eq!(answer.result.entries.len(), 2);
//! # Ok::<(), proxyscope::Error>(())
//! ```

mod cache;
mod engine;
mod host;
mod ip;
mod lint;
mod result;
mod routing;
mod script;

use std::fmt;
use std::net::IpAddr;
use std::sync::{Arc, Condvar, Mutex, PoisonError};
use std::time::{Duration, Instant};

use serde::Serialize;
use url::Url;

use crate::error::{Error, ErrorKind, PacEvidence};

use cache::AnswerCache;
use engine::{CallOutput, Engine, Failure, FailureKind, Returned};

pub use host::{FixedClock, Lookup, PacClock, PacResolver, PinnedNames, SystemClock};
pub use lint::{LintOptions, lint};
pub use result::{
    MAX_ENTRIES, MAX_RESULT_LEN, PacEntry, PacProxyKind, PacResult, ResultDiagnostic,
    ResultProblem, ResultSeverity, parse_result,
};
pub use routing::auto_config;
pub use script::{MAX_SCRIPT_LEN, PacScript};

/// How much one evaluation may take. Exceeding one is a coded error (`pac.timeout`, or
/// `pac.runtime` naming the memory or stack limit), never a hang or an allocation failure.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PacLimits {
    /// Wall-clock time for one evaluation, name lookups included (default 2 s). Also bounds
    /// the script's top-level code when an engine loads it.
    pub time: Duration,
    /// Bytes the engine may allocate, script and helpers included (default 32 MiB).
    pub memory: usize,
    /// Bytes of the calling thread's stack the script may use (default 256 KiB).
    pub stack: usize,
    /// Engines kept loaded for concurrent evaluations (default 2); a caller finding all busy
    /// waits for one until its deadline.
    pub engines: usize,
}

impl Default for PacLimits {
    fn default() -> Self {
        Self {
            time: Duration::from_secs(2),
            memory: 32 * 1024 * 1024,
            stack: 256 * 1024,
            engines: 2,
        }
    }
}

/// How a [`Pac`] evaluates: limits, resolver, clock, cache and URL policy.
#[derive(Clone)]
pub struct PacOptions {
    limits: PacLimits,
    resolver: Arc<dyn PacResolver>,
    clock: Arc<dyn PacClock>,
    cache_capacity: usize,
    cache_max_age: Duration,
    strip_paths: bool,
}

impl fmt::Debug for PacOptions {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PacOptions")
            .field("limits", &self.limits)
            .field("cache_capacity", &self.cache_capacity)
            .field("cache_max_age", &self.cache_max_age)
            .field("strip_paths", &self.strip_paths)
            .finish_non_exhaustive()
    }
}

impl Default for PacOptions {
    fn default() -> Self {
        Self::new()
    }
}

impl PacOptions {
    /// Default limits, no name resolves ([`PinnedNames::new`]), the system clock, 1024 cached
    /// answers for up to 60 s each, URLs passed as Chromium passes them.
    pub fn new() -> Self {
        Self {
            limits: PacLimits::default(),
            resolver: Arc::new(PinnedNames::new()),
            clock: Arc::new(SystemClock),
            cache_capacity: 1024,
            cache_max_age: Duration::from_secs(60),
            strip_paths: false,
        }
    }

    /// The evaluation limits.
    pub fn limits(mut self, limits: PacLimits) -> Self {
        self.limits = limits;
        self
    }

    /// The resolver behind `dnsResolve`, `isResolvable`, `isInNet` and `myIpAddress`.
    pub fn resolver(mut self, resolver: impl PacResolver) -> Self {
        self.resolver = Arc::new(resolver);
        self
    }

    /// The clock behind `weekdayRange`, `dateRange` and `timeRange`.
    pub fn clock(mut self, clock: impl PacClock) -> Self {
        self.clock = Arc::new(clock);
        self
    }

    /// At most `capacity` answers kept, each for at most `max_age` (`capacity` 0 disables).
    pub fn cache(mut self, capacity: usize, max_age: Duration) -> Self {
        self.cache_capacity = capacity;
        self.cache_max_age = max_age;
        self
    }

    /// Pass every URL to the script as `scheme://host[:port]/`, as Firefox does by default.
    /// Without it only `https:` and `wss:` URLs are cut so, and `http:` URLs keep their path
    /// and query, as Chromium does. Cutting every URL makes the cache per destination for
    /// every scheme.
    pub fn strip_paths(mut self, strip: bool) -> Self {
        self.strip_paths = strip;
        self
    }
}

/// A name the script resolved during an evaluation and what it got.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PacLookup {
    /// The name.
    pub host: String,
    /// Its addresses; empty when it did not resolve.
    pub addresses: Vec<IpAddr>,
}

/// One evaluation's answer: what the script was given, what it returned, the candidates read
/// from it, and what it said and looked up on the way — everything an explanation shows.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PacAnswer {
    /// Where the script came from.
    pub script: String,
    /// The URL passed to `FindProxyForURL`.
    pub url: String,
    /// The host passed to `FindProxyForURL`.
    pub host: String,
    /// The string it returned.
    pub returned: String,
    /// The candidates, in order, and the diagnostics of entries that were dropped or doubtful.
    pub result: PacResult,
    /// What the script passed to `alert()`, in order (at most 16, each at most 1 KiB).
    pub alerts: Vec<String>,
    /// The names it resolved (at most 32 recorded).
    pub lookups: Vec<PacLookup>,
}

/// The outcome of asking a [`Pac`] about a URL.
#[derive(Debug, Clone)]
pub enum Decision {
    /// The script answered with at least one usable candidate.
    Answer {
        /// The answer (shared with the cache).
        answer: Arc<PacAnswer>,
        /// Whether it came from the cache rather than a fresh evaluation.
        from_cache: bool,
    },
    /// The script looked up names the resolver answered [`Lookup::Pending`] for: resolve these
    /// and ask again (nothing was cached).
    NeedsDns(Vec<String>),
}

/// A loaded PAC script ready to answer, with its engines and its answer cache. `Send + Sync`;
/// share it behind an `Arc`.
pub struct Pac {
    script: PacScript,
    options: PacOptions,
    pool: Pool,
    cache: Mutex<AnswerCache<PacAnswer>>,
}

impl fmt::Debug for Pac {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Pac")
            .field("script", &self.script)
            .field("options", &self.options)
            .finish_non_exhaustive()
    }
}

impl Pac {
    /// Loads `script` into a first engine now, so a syntax error or a top-level failure is
    /// reported at startup (`pac.syntax`, `pac.runtime`, `pac.timeout`), not at the first
    /// request.
    pub fn new(script: PacScript, options: PacOptions) -> Result<Self, Error> {
        let pac = Self {
            pool: Pool::new(options.limits.engines.max(1)),
            cache: Mutex::new(AnswerCache::new(
                options.cache_capacity,
                options.cache_max_age,
            )),
            script,
            options,
        };
        let deadline = Instant::now() + pac.options.limits.time;
        let engine = pac.load(deadline).map_err(|f| pac.error(f, None))?;
        pac.pool.add_loaded(engine);
        Ok(pac)
    }

    /// The script.
    pub fn script(&self) -> &PacScript {
        &self.script
    }

    /// The options it evaluates with.
    pub fn options(&self) -> &PacOptions {
        &self.options
    }

    /// The decision for `url`, from the cache when an answer for the same (URL as passed,
    /// host) is young enough, else from a fresh evaluation that is then cached.
    pub fn find_proxy(&self, url: &Url) -> Result<Decision, Error> {
        let (url_arg, host) = self.arguments(url);
        let key = (url_arg, host);
        if let Some(answer) = self.lock_cache().get(&key, Instant::now()) {
            return Ok(Decision::Answer {
                answer,
                from_cache: true,
            });
        }
        let decision = self.evaluate_args(&key.0, &key.1)?;
        if let Decision::Answer { answer, .. } = &decision {
            self.lock_cache()
                .insert(key, answer.clone(), Instant::now());
        }
        Ok(decision)
    }

    /// A fresh evaluation for `url`, bypassing (and not filling) the cache.
    pub fn evaluate(&self, url: &Url) -> Result<Decision, Error> {
        let (url_arg, host) = self.arguments(url);
        self.evaluate_args(&url_arg, &host)
    }

    /// A fresh evaluation of `FindProxyForURL(url, host)` with exactly these strings.
    pub fn evaluate_args(&self, url: &str, host: &str) -> Result<Decision, Error> {
        let deadline = Instant::now() + self.options.limits.time;
        let engine = match self.pool.checkout(deadline) {
            Some(Some(engine)) => engine,
            Some(None) => match self.load(deadline) {
                Ok(engine) => engine,
                Err(f) => {
                    self.pool.checkin(None);
                    return Err(self.error(f, Some((url, host))));
                }
            },
            None => {
                return Err(self.error(
                    Failure {
                        kind: FailureKind::Timeout,
                        exception: Some(format!(
                            "all {} PAC engines stayed busy until the deadline",
                            self.pool.max
                        )),
                        location: None,
                        alerts: Vec::new(),
                    },
                    Some((url, host)),
                ));
            }
        };
        let outcome = engine.call(url, host, deadline);
        // An engine stopped by a limit may hold half-updated globals, and one whose script
        // keeps growing its globals would soon fail every call: both are replaced. (Measuring
        // the memory walks the heap, so it is done after a throw and every 64th call.)
        let healthy = match &outcome {
            Ok(_) if !engine.due_for_checkup() => true,
            Ok(_)
            | Err(Failure {
                kind: FailureKind::Runtime,
                ..
            }) => (engine.memory_used() as u64) < (self.options.limits.memory as u64) / 4 * 3,
            Err(_) => false,
        };
        self.pool.checkin(healthy.then_some(engine));
        let out = outcome.map_err(|f| self.error(f, Some((url, host))))?;
        self.answer(url, host, out)
    }

    /// Forgets every cached answer (after the script or the network changed).
    pub fn clear_cache(&self) {
        self.lock_cache().clear();
    }

    /// The number of cached answers.
    pub fn cached(&self) -> usize {
        self.lock_cache().len()
    }

    fn lock_cache(&self) -> std::sync::MutexGuard<'_, AnswerCache<PacAnswer>> {
        self.cache.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn load(&self, deadline: Instant) -> Result<Engine, Failure> {
        Engine::new(
            &self.script,
            &self.options.limits,
            self.options.resolver.clone(),
            self.options.clock.clone(),
            deadline,
        )
    }

    /// The (url, host) arguments for `url`: credentials and fragment never passed, the host
    /// without IPv6 brackets, the path and query stripped as [`PacOptions::strip_paths`] says.
    fn arguments(&self, url: &Url) -> (String, String) {
        let mut u = url.clone();
        let _ = u.set_username("");
        let _ = u.set_password(None);
        u.set_fragment(None);
        if self.options.strip_paths || matches!(u.scheme(), "https" | "wss") {
            u.set_path("/");
            u.set_query(None);
        }
        let host = url
            .host_str()
            .unwrap_or("")
            .trim_start_matches('[')
            .trim_end_matches(']')
            .to_owned();
        (u.to_string(), host)
    }

    fn answer(&self, url: &str, host: &str, out: CallOutput) -> Result<Decision, Error> {
        if !out.pending.is_empty() {
            return Ok(Decision::NeedsDns(out.pending));
        }
        let lookups = out
            .lookups
            .into_iter()
            .map(|l| PacLookup {
                host: l.host,
                addresses: match l.answer {
                    Lookup::Found(a) => a,
                    Lookup::NotFound | Lookup::Pending => Vec::new(),
                },
            })
            .collect();
        let returned = match out.returned {
            Returned::String(s) => s,
            Returned::Other(ty) => {
                return Err(self.result_error(
                    url,
                    host,
                    format!("not a string: {ty}"),
                    out.alerts,
                    format!("FindProxyForURL returned {ty}, not a string"),
                ));
            }
        };
        let result = parse_result(&returned);
        // The answer is shown in explanations and errors: never with credentials in it. Only
        // what the parser read is kept (the answer is cached, and the script's strings are
        // bounded by the engine's memory limit, not the host's copies); cut after redacting,
        // so the cut cannot expose part of a credential.
        let returned = engine::cut(&crate::proxy::redact_list(&returned), MAX_RESULT_LEN);
        if result.entries.is_empty() {
            let why = match result.diagnostics.first() {
                Some(d) => format!("no usable entry ({d})"),
                None => "no entry".to_owned(),
            };
            return Err(self.result_error(
                url,
                host,
                engine::cut(&returned, 1024),
                out.alerts,
                format!(
                    "FindProxyForURL returned \"{}\": {why}",
                    engine::cut(&returned, 200)
                ),
            ));
        }
        Ok(Decision::Answer {
            answer: Arc::new(PacAnswer {
                script: self.script.origin().to_owned(),
                url: url.to_owned(),
                host: host.to_owned(),
                returned,
                result,
                alerts: out.alerts,
                lookups,
            }),
            from_cache: false,
        })
    }

    fn result_error(
        &self,
        url: &str,
        host: &str,
        returned: String,
        alerts: Vec<String>,
        what: String,
    ) -> Error {
        let origin = self.script.origin();
        Error::new(ErrorKind::PacResult)
            .with_message(format!("PAC script {origin}: {what}"))
            .with_hint("make FindProxyForURL in the file the `pac` setting names return a string such as \"PROXY host:port; DIRECT\" on every path (the configuration lint evaluates it on sample URLs)")
            .map_evidence(|ev| {
                ev.pac = Some(Box::new(PacEvidence {
                    script: origin.to_owned(),
                    url: Some(url.to_owned()),
                    host: Some(host.to_owned()),
                    returned: Some(returned),
                    alerts,
                    ..PacEvidence::default()
                }));
            })
    }

    fn error(&self, f: Failure, call: Option<(&str, &str)>) -> Error {
        let origin = self.script.origin();
        let limits = &self.options.limits;
        let at = f
            .location
            .as_ref()
            .map(|l| format!(" at {l}"))
            .unwrap_or_default();
        let exception = f.exception.clone().unwrap_or_default();
        let (kind, limit, message, hint) = match f.kind {
            FailureKind::Syntax => (
                ErrorKind::PacSyntax,
                None,
                format!("PAC script {origin} does not compile{at}: {exception}"),
                "fix the JavaScript syntax error at that line and column".to_owned(),
            ),
            FailureKind::Runtime => (
                ErrorKind::PacRuntime,
                None,
                format!("PAC script {origin} failed{at}: {exception}"),
                "fix FindProxyForURL in the file the `pac` setting names where it threw (the configuration lint runs it on sample URLs and shows where)".to_owned(),
            ),
            FailureKind::Memory => (
                ErrorKind::PacRuntime,
                Some("memory"),
                format!(
                    "PAC script {origin} ran out of memory{at} ({exception}; the limit is {} KiB)",
                    limits.memory / 1024
                ),
                "the script builds ever larger strings or arrays; a PAC file needs a few KiB".to_owned(),
            ),
            FailureKind::Stack => (
                ErrorKind::PacRuntime,
                Some("stack"),
                format!("PAC script {origin} exceeded its stack limit (runaway recursion){at}"),
                "a function in the script calls itself without end".to_owned(),
            ),
            FailureKind::Timeout => (
                ErrorKind::PacTimeout,
                Some("time"),
                format!(
                    "PAC script {origin} did not finish within {:?}{at}",
                    limits.time
                ),
                "the script loops without end or waits on slow name lookups; PAC evaluations take microseconds".to_owned(),
            ),
        };
        let (url, host) = match call {
            Some((u, h)) => (Some(u.to_owned()), Some(h.to_owned())),
            None => (None, None),
        };
        Error::new(kind)
            .with_message(message)
            .with_hint(hint)
            .map_evidence(|ev| {
                if f.kind == FailureKind::Timeout {
                    ev.timeout = Some(limits.time);
                }
                ev.pac = Some(Box::new(PacEvidence {
                    script: origin.to_owned(),
                    url,
                    host,
                    location: f.location,
                    limit: limit.map(str::to_owned),
                    exception: f.exception,
                    returned: None,
                    alerts: f.alerts,
                }));
            })
    }
}

/// Loaded engines, at most `max` alive, handed to one evaluation at a time.
struct Pool {
    max: usize,
    state: Mutex<PoolState>,
    freed: Condvar,
}

struct PoolState {
    idle: Vec<Engine>,
    live: usize,
}

impl Pool {
    fn new(max: usize) -> Self {
        Self {
            max,
            state: Mutex::new(PoolState {
                idle: Vec::new(),
                live: 0,
            }),
            freed: Condvar::new(),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, PoolState> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn add_loaded(&self, engine: Engine) {
        let mut st = self.lock();
        st.live += 1;
        st.idle.push(engine);
    }

    /// `Some(Some(e))`: an idle engine; `Some(None)`: a slot to load a new one into;
    /// `None`: every engine stayed busy until `deadline`.
    fn checkout(&self, deadline: Instant) -> Option<Option<Engine>> {
        let mut st = self.lock();
        loop {
            if let Some(e) = st.idle.pop() {
                return Some(Some(e));
            }
            if st.live < self.max {
                st.live += 1;
                return Some(None);
            }
            let left = deadline.checked_duration_since(Instant::now())?;
            st = self
                .freed
                .wait_timeout(st, left)
                .unwrap_or_else(PoisonError::into_inner)
                .0;
        }
    }

    /// Returns an engine (`Some`) or gives its slot back (`None`: it was discarded).
    fn checkin(&self, engine: Option<Engine>) {
        let mut st = self.lock();
        match engine {
            Some(e) => st.idle.push(e),
            None => st.live -= 1,
        }
        drop(st);
        self.freed.notify_one();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pac(src: &str) -> Pac {
        Pac::new(
            PacScript::from_source(src, "test.pac").unwrap(),
            PacOptions::new(),
        )
        .unwrap()
    }

    #[test]
    fn arguments_follow_chromium_and_never_carry_credentials() {
        let p = pac("function FindProxyForURL(u, h) { return 'DIRECT'; }");
        let args = |u: &str| p.arguments(&Url::parse(u).unwrap());
        assert_eq!(
            args("https://user:pw@Example.COM:8443/a/b?q=1#f"),
            (
                "https://example.com:8443/".to_owned(),
                "example.com".to_owned()
            )
        );
        assert_eq!(
            args("http://user:pw@example.com/a/b?q=1#f"),
            (
                "http://example.com/a/b?q=1".to_owned(),
                "example.com".to_owned()
            )
        );
        assert_eq!(args("http://[::1]:8080/x").1, "::1");
        let stripped = Pac::new(p.script().clone(), PacOptions::new().strip_paths(true)).unwrap();
        assert_eq!(
            stripped
                .arguments(&Url::parse("http://example.com/a?b").unwrap())
                .0,
            "http://example.com/"
        );
    }

    #[test]
    fn the_pool_never_exceeds_its_size_and_times_out_when_all_are_busy() {
        let pool = Pool::new(1);
        let soon = Instant::now() + Duration::from_millis(20);
        assert!(matches!(pool.checkout(soon), Some(None)));
        assert!(pool.checkout(soon).is_none(), "the only slot is taken");
        pool.checkin(None);
        assert!(matches!(pool.checkout(soon), Some(None)));
    }

    #[test]
    fn the_system_clock_reaches_the_date_helpers() {
        // Every range that always holds, under the system clock and time zone.
        let p = pac(r#"function FindProxyForURL(u, h) {
            return weekdayRange("SUN", "SAT") && dateRange("JAN", "DEC") && timeRange(0, 23)
                && weekdayRange("SUN", "SAT", "GMT") ? "DIRECT" : "PROXY wrong.test:1";
        }"#);
        let Ok(Decision::Answer { answer, .. }) = p.evaluate_args("http://a.test/", "a.test")
        else {
            panic!("no answer")
        };
        assert_eq!(answer.returned, "DIRECT");
    }

    #[test]
    fn pac_is_send_and_sync() {
        fn assert_send_sync<T: Send + Sync>() {}
        assert_send_sync::<Pac>();
    }
}
