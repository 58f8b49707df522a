//! Shared helpers for the tests that run the examples as processes: locate an example binary
//! (`probe`, `translation_service`), write a config that points at harness servers running in
//! the test process, and run the probe as a real process.

#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::Output;

/// The `probe` example binary; see [`example_bin`].
pub(crate) fn probe_bin() -> PathBuf {
    example_bin("probe")
}

/// An example binary (`probe`, `translation_service`), built by `cargo build --examples`, which
/// scripts/test (and so CI) runs before the tests — `cargo test --all-targets` builds examples
/// only as test harnesses, under another name. Test binaries live in `<target>/<profile>/deps/`,
/// examples in `<target>/<profile>/examples/`.
pub(crate) fn example_bin(name: &str) -> PathBuf {
    let bin = examples_dir().join(format!("{name}{}", std::env::consts::EXE_SUFFIX));
    assert!(
        bin.exists(),
        "{} is missing: run `cargo build --examples` (scripts/test does it first)",
        bin.display()
    );
    bin
}

/// Like [`example_bin`], for a test of a feature the binary must have: `--help` mentions
/// `feature`. When several checkouts share one target directory, `examples/<name>` is whichever
/// checkout built it last, so unless its dep-info names this checkout's sources, the newest
/// `examples/<name>-<hash>` whose `--help` mentions `feature` is used instead (test harnesses,
/// which `cargo test` builds from the same sources, are skipped).
pub(crate) fn example_bin_with(name: &str, feature: &str) -> PathBuf {
    let uplifted = example_bin(name);
    let dep_info = std::fs::read_to_string(format!("{}.d", uplifted.display())).unwrap_or_default();
    if dep_info.contains(concat!(env!("CARGO_MANIFEST_DIR"), "/examples/")) {
        return uplifted;
    }
    let mut hashed: Vec<(std::time::SystemTime, PathBuf)> = std::fs::read_dir(examples_dir())
        .into_iter()
        .flatten()
        .flatten()
        .map(|e| e.path())
        .filter(|p| {
            p.file_name()
                .and_then(|f| f.to_str())
                .and_then(|f| f.strip_prefix(name)?.strip_prefix('-'))
                .is_some_and(|hash| hash.chars().all(|c| c.is_ascii_hexdigit()))
        })
        .filter_map(|p| Some((p.metadata().ok()?.modified().ok()?, p)))
        .collect();
    hashed.sort_by_key(|h| std::cmp::Reverse(h.0));
    std::iter::once(uplifted.clone())
        .chain(hashed.into_iter().map(|(_, p)| p))
        .find(|p| help_mentions(p, feature))
        .unwrap_or(uplifted)
}

fn examples_dir() -> PathBuf {
    let exe = std::env::current_exe().expect("the test binary knows its path");
    exe.parent()
        .and_then(Path::parent)
        .expect("tests run from <target>/<profile>/deps")
        .join("examples")
}

/// Whether `bin --help` succeeds, is not libtest's (`--test-threads`) and mentions `feature`.
fn help_mentions(bin: &Path, feature: &str) -> bool {
    std::process::Command::new(bin)
        .arg("--help")
        .stdin(std::process::Stdio::null())
        .output()
        .is_ok_and(|o| {
            let help = String::from_utf8_lossy(&o.stdout);
            o.status.success() && !help.contains("--test-threads") && help.contains(feature)
        })
}

/// A temporary directory holding one config file.
pub(crate) struct ConfigFile {
    dir: tempfile::TempDir,
    path: PathBuf,
}

impl ConfigFile {
    /// Writes `toml` to `probe.toml` in a fresh temporary directory.
    pub(crate) fn new(toml: &str) -> Self {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("probe.toml");
        std::fs::write(&path, toml).expect("write config");
        Self { dir, path }
    }

    /// The file's path.
    pub(crate) fn path(&self) -> &Path {
        &self.path
    }

    /// The directory the file is in.
    pub(crate) fn dir(&self) -> &Path {
        self.dir.path()
    }
}

/// A TOML basic string for a path or any text.
pub(crate) fn toml_str(s: impl AsRef<str>) -> String {
    let mut out = String::from("\"");
    for c in s.as_ref().chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '"' => out.push_str("\\\""),
            // TOML basic strings take no raw control characters.
            c if c.is_control() => out.push_str(&format!("\\u{:04X}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// Same, for a path.
pub(crate) fn toml_path(p: &Path) -> String {
    toml_str(p.display().to_string())
}

/// What a probe run produced.
pub(crate) struct Run {
    /// The exit code (`None` when killed by a signal).
    pub(crate) code: Option<i32>,
    /// Standard output.
    pub(crate) stdout: String,
    /// Standard error.
    pub(crate) stderr: String,
}

impl Run {
    /// Standard output parsed as JSON; panics with both streams when it is not JSON.
    pub(crate) fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.stdout).unwrap_or_else(|e| {
            panic!(
                "stdout is not JSON ({e}):\n{}\nstderr:\n{}",
                self.stdout, self.stderr
            )
        })
    }
}

impl From<Output> for Run {
    fn from(o: Output) -> Self {
        Self {
            code: o.status.code(),
            stdout: String::from_utf8_lossy(&o.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&o.stderr).into_owned(),
        }
    }
}

/// Runs the probe binary with `args`, with no proxy variables or `PROXYSCOPE_CONFIG` inherited
/// from the environment, so only the config decides routes. Async so the harness servers in
/// this process keep serving while it runs.
pub(crate) async fn probe(args: &[&str]) -> Run {
    probe_at(&probe_bin(), args).await
}

/// Variables that would change a child's route, configuration or trust: removed so only what
/// the test sets counts, whatever the machine running the tests has in its environment.
pub(crate) const ROUTE_VARS: &[&str] = &[
    "http_proxy",
    "https_proxy",
    "HTTPS_PROXY",
    "HTTP_PROXY",
    "all_proxy",
    "ALL_PROXY",
    "no_proxy",
    "NO_PROXY",
    "PROXYSCOPE_CONFIG",
    "PROXYSCOPE_PAC",
    "SSL_CERT_FILE",
    "TRANSLATION_SERVICE_CONFIG",
];

/// Removes [`ROUTE_VARS`] from `cmd`'s environment.
pub(crate) fn without_route_vars(
    cmd: &mut tokio::process::Command,
) -> &mut tokio::process::Command {
    for var in ROUTE_VARS {
        cmd.env_remove(var);
    }
    cmd
}

/// [`probe`] with a given binary (see [`example_bin_with`]).
pub(crate) async fn probe_at(bin: &Path, args: &[&str]) -> Run {
    let mut cmd = tokio::process::Command::new(bin);
    without_route_vars(&mut cmd).args(args);
    let out = tokio::time::timeout(std::time::Duration::from_secs(60), cmd.output())
        .await
        .expect("the probe finishes within a minute")
        .expect("the probe binary starts");
    out.into()
}

/// `probe check --config <file> --format json` plus `extra`.
pub(crate) async fn check_json(config: &ConfigFile, extra: &[&str]) -> Run {
    let path = config.path().display().to_string();
    let mut args = vec!["check", "--config", path.as_str(), "--format", "json"];
    args.extend_from_slice(extra);
    probe(&args).await
}

/// The check named `provider/name` in a JSON report.
pub(crate) fn find<'a>(
    report: &'a serde_json::Value,
    provider: &str,
    name: &str,
) -> &'a serde_json::Value {
    report["checks"]
        .as_array()
        .expect("checks is an array")
        .iter()
        .find(|c| c["provider"] == provider && c["name"] == name)
        .unwrap_or_else(|| panic!("no check {provider}/{name} in {report:#}"))
}

/// A plain-HTTP server on 127.0.0.1:0 that answers `/together` with 200 only once `n` requests
/// are in flight at the same time (503 `alone` if they do not arrive together within 10 s),
/// `/old` with a redirect to `/new`, and `/new` with 200 `moved here`. Checks that all pass
/// against `/together` prove they ran concurrently, without timing anything.
pub(crate) async fn rendezvous_server(n: usize) -> (String, tokio::task::JoinHandle<()>) {
    use std::convert::Infallible;
    use std::sync::Arc;

    use bytes::Bytes;
    use http_body_util::Full;
    use hyper::service::service_fn;
    use hyper_util::rt::TokioIo;

    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind 127.0.0.1:0");
    let url = format!("http://{}", listener.local_addr().expect("local addr"));
    let barrier = Arc::new(tokio::sync::Barrier::new(n));
    let task = tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            let barrier = Arc::clone(&barrier);
            tokio::spawn(async move {
                let svc = service_fn(move |req: http::Request<hyper::body::Incoming>| {
                    let barrier = Arc::clone(&barrier);
                    async move {
                        let (status, location, body): (u16, Option<&str>, &'static [u8]) = match req
                            .uri()
                            .path()
                        {
                            "/together" => {
                                let wait = barrier.wait();
                                match tokio::time::timeout(std::time::Duration::from_secs(10), wait)
                                    .await
                                {
                                    Ok(_) => (200, None, b"together"),
                                    Err(_) => (503, None, b"alone"),
                                }
                            }
                            "/old" => (302, Some("/new"), b""),
                            "/new" => (200, None, b"moved here"),
                            _ => (404, None, b""),
                        };
                        let mut res = http::Response::builder().status(status);
                        if let Some(l) = location {
                            res = res.header("location", l);
                        }
                        Ok::<_, Infallible>(
                            res.body(Full::new(Bytes::from_static(body)))
                                .unwrap_or_default(),
                        )
                    }
                });
                let _ = hyper::server::conn::http1::Builder::new()
                    .serve_connection(TokioIo::new(stream), svc)
                    .await;
            });
        }
    });
    (url, task)
}
