//! What the exporter's tests share: `probe serve` as a real process (its address read from its
//! first line, stopped by PID), requests on a raw socket read by `common::wire`'s bounded
//! reply reader, a parser for the
//! exposition format, external tools that are skipped visibly when missing (and fail under
//! `CI=true`), and a runtime per test.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use crate::common::wire::{Body, try_read_response};
use libtest_mimic::{Completion, Failed};
use proxyscope::testing::{ChainMode, Policy, TestOrigin, TestPki, TestProxy};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;
use tokio::process::{Child, Command};

/// What a test returns: passed, ignored with a reason, or failed.
pub(crate) type Outcome = Result<Completion, Failed>;

/// Runs an async test body on its own multi-threaded runtime (harness servers keep serving while
/// the test awaits the exporter).
pub(crate) fn run<F, Fut>(body: F) -> Outcome
where
    F: FnOnce() -> Fut,
    Fut: std::future::Future<Output = Outcome>,
{
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(|e| Failed::from(format!("cannot start a runtime: {e}")))?;
    rt.block_on(body())
}

/// An external program, or the reason the test is skipped. Missing tools skip the test
/// (reported as ignored, with the reason) except under `CI=true`, where they fail it.
pub(crate) fn tool(name: &str) -> Result<Option<PathBuf>, Failed> {
    let found = std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|dir| dir.join(name))
            .find(|p| p.is_file())
    });
    match found {
        Some(p) => Ok(Some(p)),
        None if std::env::var("CI").is_ok_and(|v| v == "true") => Err(format!(
            "{name} is not installed and CI=true: scripts/install-test-deps installs it"
        )
        .into()),
        None => {
            eprintln!("SKIPPED: {name} is not installed (scripts/install-test-deps installs it)");
            Ok(None)
        }
    }
}

/// The `Completion` of a test skipped because `name` is missing.
pub(crate) fn skipped(name: &str) -> Completion {
    Completion::ignored_with(format!(
        "{name} is not installed; run scripts/install-test-deps"
    ))
}

/// Turns a failed expectation into the test's failure, with context.
pub(crate) fn ensure(cond: bool, what: impl FnOnce() -> String) -> Result<(), Failed> {
    if cond { Ok(()) } else { Err(what().into()) }
}

/// The `probe` example binary with the `serve` subcommand (see
/// `common::probe::example_bin_with`: with several checkouts sharing the target directory, the
/// newest build that has it).
pub(crate) fn probe_bin() -> PathBuf {
    crate::common::probe::example_bin_with("probe", "\n  serve ")
}

pub(crate) use crate::common::probe::{ConfigFile, toml_path, toml_str, without_route_vars};

impl ConfigFile {
    /// Replaces the file's content (a reload test's next configuration).
    pub(crate) fn write(&self, text: &str) {
        std::fs::write(self.path(), text).expect("rewrite config");
    }
}

/// The harness most tests start: a PKI, an HTTPS origin it signed, a plain-HTTP origin, and a
/// Squid-shaped proxy that refuses every request to 127.0.0.1 (`proxy.forbidden` on CONNECT).
pub(crate) struct Harness {
    pub(crate) pki: TestPki,
    pub(crate) tls: TestOrigin,
    pub(crate) plain: TestOrigin,
    pub(crate) deny: TestProxy,
}

impl Harness {
    pub(crate) async fn start() -> Self {
        let pki = TestPki::new();
        let tls = TestOrigin::https(&pki, pki.localhost(), ChainMode::Full).await;
        let plain = TestOrigin::http().await;
        let deny = TestProxy::builder()
            .policy(Policy::deny(&["127.0.0.1"]))
            .start()
            .await;
        Self {
            pki,
            tls,
            plain,
            deny,
        }
    }

    /// The root CA's path as a TOML string.
    pub(crate) fn ca(&self) -> String {
        toml_path(self.pki.root_pem_path())
    }
}

/// Stops a program a test started: SIGTERM by PID, SIGKILL when it is still there after 10 s.
pub(crate) async fn stop_child(child: &mut Child) {
    if let Some(pid) = child
        .id()
        .and_then(|id| rustix::process::Pid::from_raw(id as i32))
    {
        let _ = rustix::process::kill_process(pid, rustix::process::Signal::TERM);
    }
    if tokio::time::timeout(Duration::from_secs(10), child.wait())
        .await
        .is_err()
    {
        let _ = child.kill().await;
    }
}

/// A running `probe serve`, killed when dropped.
pub(crate) struct Serve {
    child: Child,
    /// Where it listens.
    pub(crate) addr: SocketAddr,
    stderr: Arc<Mutex<String>>,
}

impl Serve {
    /// Starts `probe serve --config <config> --listen 127.0.0.1:0` plus `extra`, without proxy
    /// variables from the test's environment, and waits for its "listening on" line.
    pub(crate) async fn start(config: &Path, extra: &[&str]) -> Result<Self, Failed> {
        let mut cmd = Command::new(probe_bin());
        without_route_vars(&mut cmd)
            .arg("serve")
            .arg("--config")
            .arg(config)
            .args(["--listen", "127.0.0.1:0"])
            .args(extra)
            .env("RUST_LOG", "info")
            .env("NO_COLOR", "1")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true);
        let mut child = cmd.spawn().map_err(|e| format!("probe serve: {e}"))?;
        let stderr = Arc::new(Mutex::new(String::new()));
        if let Some(err) = child.stderr.take() {
            let sink = Arc::clone(&stderr);
            tokio::spawn(async move {
                let mut lines = BufReader::new(err).lines();
                while let Ok(Some(line)) = lines.next_line().await {
                    let mut s = sink.lock().unwrap_or_else(|e| e.into_inner());
                    // Bounded: a runaway log cannot exhaust the test's memory.
                    if s.len() < 1 << 20 {
                        s.push_str(&line);
                        s.push('\n');
                    }
                }
            });
        }
        let stdout = child.stdout.take().ok_or("no stdout")?;
        let mut lines = BufReader::new(stdout).lines();
        let first = tokio::time::timeout(Duration::from_secs(20), lines.next_line())
            .await
            .map_err(|_| "probe serve printed nothing within 20 s")?
            .map_err(|e| e.to_string())?;
        let Some(first) = first else {
            let status = child.wait().await.map_err(|e| e.to_string())?;
            tokio::time::sleep(Duration::from_millis(100)).await;
            return Err(format!(
                "probe serve exited ({status}) before listening:\n{}",
                stderr.lock().unwrap_or_else(|e| e.into_inner())
            )
            .into());
        };
        let addr = first
            .split("http://")
            .nth(1)
            .and_then(|rest| rest.split_whitespace().next())
            .and_then(|a| a.parse().ok())
            .ok_or_else(|| format!("unexpected first line: {first}"))?;
        Ok(Self {
            child,
            addr,
            stderr,
        })
    }

    /// The process id.
    pub(crate) fn pid(&self) -> i32 {
        self.child.id().map_or(0, |id| id as i32)
    }

    /// Sends `signal` to the process.
    pub(crate) fn signal(&self, signal: rustix::process::Signal) -> Result<(), Failed> {
        let pid = rustix::process::Pid::from_raw(self.pid()).ok_or("no pid")?;
        rustix::process::kill_process(pid, signal).map_err(|e| Failed::from(e.to_string()))
    }

    /// Everything it logged so far.
    pub(crate) fn stderr(&self) -> String {
        self.stderr
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// Whether it is still running.
    pub(crate) fn is_running(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(None))
    }

    /// `GET path` with extra headers.
    pub(crate) async fn get(&self, path: &str, headers: &[(&str, &str)]) -> Result<Reply, Failed> {
        request(self.addr, "GET", path, headers).await
    }

    /// `POST path`.
    pub(crate) async fn post(&self, path: &str) -> Result<Reply, Failed> {
        request(self.addr, "POST", path, &[]).await
    }

    /// Stops it with SIGTERM and waits (SIGKILL after 5 s).
    pub(crate) async fn stop(mut self) -> Result<(), Failed> {
        self.signal(rustix::process::Signal::TERM)?;
        match tokio::time::timeout(Duration::from_secs(5), self.child.wait()).await {
            Ok(status) => {
                let status = status.map_err(|e| e.to_string())?;
                ensure(status.success(), || {
                    format!("probe serve exited with {status}")
                })
            }
            Err(_) => {
                let _ = self.child.kill().await;
                Err("probe serve did not stop on SIGTERM".into())
            }
        }
    }
}

/// A response, read by the suite's one reply reader.
pub(crate) use crate::common::wire::WireResponse as Reply;

impl Reply {
    /// The body parsed as exposition.
    pub(crate) fn exposition(&self) -> Result<Exposition, Failed> {
        Exposition::parse(&self.body).map_err(|e| format!("{e}\n{}", self.body).into())
    }
}

/// How long connecting, sending, and reading a reply's head and body may each take.
const EXCHANGE: Duration = Duration::from_secs(30);

/// One HTTP/1.1 request with `Connection: close`; the reply as [`raw`] reads it.
pub(crate) async fn request(
    addr: SocketAddr,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
) -> Result<Reply, Failed> {
    let mut head = format!("{method} {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n");
    for (n, v) in headers {
        head.push_str(&format!("{n}: {v}\r\n"));
    }
    if method == "POST" {
        head.push_str("Content-Length: 0\r\n");
    }
    head.push_str("\r\n");
    raw(addr, head.as_bytes()).await
}

/// Sends `bytes` and reads the reply: the head, then the body by length or until the peer
/// closes (a chunked one decoded), at most 4 MiB, each part within 30 s.
pub(crate) async fn raw(addr: SocketAddr, bytes: &[u8]) -> Result<Reply, Failed> {
    let mut s = tokio::time::timeout(EXCHANGE, TcpStream::connect(addr))
        .await
        .map_err(|_| "no connection within 30 s")?
        .map_err(|e| e.to_string())?;
    tokio::time::timeout(EXCHANGE, s.write_all(bytes))
        .await
        .map_err(|_| "request not sent within 30 s")?
        .map_err(|e| e.to_string())?;
    Ok(try_read_response(&mut s, Body::ByLengthOrClose, EXCHANGE).await?)
}

/// A loopback port free right now, for a child process to bind.
pub(crate) fn free_port() -> Result<u16, Failed> {
    crate::support::loopback_port_now_free()
        .map_err(|e| Failed::from(format!("no free loopback port: {e}")))
}

/// Polls `f` every 200 ms until it returns `Some`, for at most `limit`.
pub(crate) async fn eventually<T, F, Fut>(limit: Duration, mut f: F) -> Option<T>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    let end = tokio::time::Instant::now() + limit;
    loop {
        if let Some(v) = f().await {
            return Some(v);
        }
        if tokio::time::Instant::now() >= end {
            return None;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// One sample.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Sample {
    /// Metric name.
    pub(crate) name: String,
    /// Labels.
    pub(crate) labels: BTreeMap<String, String>,
    /// Value.
    pub(crate) value: f64,
}

/// A parsed exposition: the declared families (name → type) and the samples, in order.
#[derive(Debug, Default)]
pub(crate) struct Exposition {
    /// `# TYPE` per family.
    pub(crate) types: BTreeMap<String, String>,
    /// Every sample.
    pub(crate) samples: Vec<Sample>,
}

impl Exposition {
    /// Parses the text format; every sample must follow its family's HELP and TYPE.
    pub(crate) fn parse(text: &str) -> Result<Self, String> {
        let mut out = Self::default();
        let mut helped = std::collections::BTreeSet::new();
        for (n, line) in text.lines().enumerate() {
            if line.is_empty() {
                continue;
            }
            if let Some(rest) = line.strip_prefix("# HELP ") {
                helped.insert(rest.split(' ').next().unwrap_or("").to_owned());
            } else if let Some(rest) = line.strip_prefix("# TYPE ") {
                let (name, kind) = rest.split_once(' ').ok_or(format!("line {n}: bad TYPE"))?;
                if out.types.insert(name.to_owned(), kind.to_owned()).is_some() {
                    return Err(format!("line {n}: {name} declared twice"));
                }
            } else if !line.starts_with('#') {
                let s = parse_sample(line).map_err(|e| format!("line {n}: {e}: {line}"))?;
                let family = ["_bucket", "_sum", "_count"]
                    .iter()
                    .find_map(|suffix| {
                        s.name
                            .strip_suffix(suffix)
                            .filter(|f| out.types.get(*f).is_some_and(|t| t == "histogram"))
                    })
                    .unwrap_or(&s.name)
                    .to_owned();
                if !out.types.contains_key(&family) || !helped.contains(&family) {
                    return Err(format!("line {n}: {} has no HELP/TYPE before it", s.name));
                }
                out.samples.push(s);
            }
        }
        Ok(out)
    }

    /// The value of the one sample of `name` whose labels include `want`.
    pub(crate) fn value(&self, name: &str, want: &[(&str, &str)]) -> Option<f64> {
        let found: Vec<&Sample> = self.matching(name, want).collect();
        assert!(found.len() <= 1, "{name} {want:?} is ambiguous: {found:?}");
        found.first().map(|s| s.value)
    }

    /// Every sample of `name` whose labels include `want`.
    pub(crate) fn matching<'a>(
        &'a self,
        name: &'a str,
        want: &'a [(&'a str, &'a str)],
    ) -> impl Iterator<Item = &'a Sample> + 'a {
        self.samples.iter().filter(move |s| {
            s.name == name
                && want
                    .iter()
                    .all(|(k, v)| s.labels.get(*k).map(String::as_str) == Some(*v))
        })
    }
}

fn parse_sample(line: &str) -> Result<Sample, String> {
    let (name_labels, value) = line.rsplit_once(' ').ok_or("no value")?;
    let value = match value {
        "+Inf" => f64::INFINITY,
        "-Inf" => f64::NEG_INFINITY,
        v => v.parse::<f64>().map_err(|_| format!("bad value {v:?}"))?,
    };
    let (name, labels) = match name_labels.split_once('{') {
        None => (name_labels, BTreeMap::new()),
        Some((name, rest)) => {
            let body = rest.strip_suffix('}').ok_or("unterminated labels")?;
            (name, parse_labels(body)?)
        }
    };
    if name.is_empty()
        || !name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == ':')
    {
        return Err(format!("bad metric name {name:?}"));
    }
    Ok(Sample {
        name: name.to_owned(),
        labels,
        value,
    })
}

fn parse_labels(body: &str) -> Result<BTreeMap<String, String>, String> {
    let mut labels = BTreeMap::new();
    let mut chars = body.chars().peekable();
    while chars.peek().is_some() {
        let name: String = chars.by_ref().take_while(|c| *c != '=').collect();
        if chars.next() != Some('"') {
            return Err(format!("label {name} has no quoted value"));
        }
        let mut value = String::new();
        loop {
            match chars.next().ok_or("unterminated label value")? {
                '"' => break,
                '\\' => value.push(match chars.next() {
                    Some('n') => '\n',
                    Some('\\') => '\\',
                    Some('"') => '"',
                    other => return Err(format!("bad escape {other:?}")),
                }),
                c => value.push(c),
            }
        }
        if labels.insert(name.clone(), value).is_some() {
            return Err(format!("label {name} repeated"));
        }
        match chars.next() {
            None | Some(',') => {}
            Some(c) => return Err(format!("expected , after a label, got {c:?}")),
        }
    }
    Ok(labels)
}
