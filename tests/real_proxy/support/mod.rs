//! Real Squid and tinyproxy (and nghttpd, a real HTTP/2 origin) on loopback for integration
//! tests, plus the small raw-socket tools
//! the tests use to talk to them.
//!
//! Each proxy runs in the foreground from a config generated in its own `tempfile::TempDir`
//! (listening on a free `127.0.0.1` port, logs and PID file in that directory, no disk cache, no
//! system config read or written), under coreutils `timeout` so it dies after
//! [`PROXY_LIFETIME`] even if the test process is killed, and is stopped by PID on drop (SIGTERM,
//! a short grace period, then SIGKILL to its process group). Outgoing connections are bound to
//! `127.0.0.1`, so nothing a proxy does can leave loopback.
//!
//! Squid's DNS is pinned to a per-instance loopback address (`127.53.x.y`): when the tests may
//! bind port 53 there (root, as in CI) a tiny responder answers every query with NXDOMAIN, so a
//! `.invalid` name fails at once the way a real resolver fails it; otherwise nothing listens
//! there and the query times out after `dns_timeout` (500 ms). Names the tests need are served
//! from a generated `hosts_file`. Squid never reads `/etc/resolv.conf`'s nameservers.
//! tinyproxy has no resolver setting: it uses the system resolver, so tests never hand it a name
//! that would need DNS (only IP literals and names its filter rejects before resolving).
//!
//! Squid also gets a unique service name (`-n`), which names its `/dev/shm` segments, so
//! parallel instances never share them; drop removes the segments a killed Squid leaves behind.
//! `PROXYSCOPE_TEST_SQUID` / `PROXYSCOPE_TEST_TINYPROXY` point the tests at another binary.
//!
//! Layout: this file owns skipping and the process lifecycle; `real_proxy/squid.rs` and
//! `real_proxy/tinyproxy.rs` their configs and instances; `real_proxy/dns.rs` the NXDOMAIN
//! responder. The origin behind the proxies is the harness's `TestOrigin`; the raw HTTP exchange
//! is `common::wire`.
//!
//! When a proxy binary is missing or fails to start, `start` returns a [`Skip`]; the
//! [`start_or_skip!`] macro turns that into a failure under `CI=true`, and otherwise ends the test
//! with a [`Skipped`] panic that this binary's runner (`main.rs`) reports as *ignored*, with the
//! reason — never as passed.

// Each test file uses part of this module; what one leaves unused is not dead.
#![allow(dead_code)]

pub(crate) mod client;
pub(crate) mod dns;
mod nghttpd;
mod squid;
mod tinyproxy;

#[allow(unused_imports)]
pub(crate) use crate::common::wire::{Body, WireResponse, exchange, read_response};
pub(crate) use nghttpd::RealNghttpd;
#[allow(unused_imports)]
pub(crate) use proxyscope::testing::{
    ORIGIN_FORBIDDEN_BODY, ORIGIN_OK_BODY as ORIGIN_BODY, ORIGIN_SERVER, TestOrigin,
};
#[allow(unused_imports)]
pub(crate) use squid::{RealSquid, SQUID_ENV, SQUID_HOSTNAME, SQUID_REALM, SquidConfig};
#[allow(unused_imports)]
pub(crate) use tinyproxy::{RealTinyproxy, TINYPROXY_ENV, TINYPROXY_VIA_NAME, TinyproxyConfig};

use std::fs;
use std::net::{Ipv4Addr, SocketAddr, TcpStream};
use std::os::unix::fs::PermissionsExt;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use tempfile::TempDir;

/// How long a proxy may live before its `timeout` watchdog kills it, whatever the test does.
pub(crate) const PROXY_LIFETIME: Duration = Duration::from_secs(300);
/// How long `start` waits for the proxy's port to accept connections.
const READY_TIMEOUT: Duration = Duration::from_secs(10);
/// How long drop waits after SIGTERM before it sends SIGKILL to the process group.
const STOP_GRACE: Duration = Duration::from_millis(300);

/// Why a real proxy could not be used: the binary is missing, or it failed to start.
#[derive(Debug)]
pub(crate) struct Skip {
    reason: String,
}

impl Skip {
    fn new(reason: impl Into<String>) -> Self {
        Skip {
            reason: reason.into(),
        }
    }

    /// The reason, for people.
    pub(crate) fn reason(&self) -> &str {
        &self.reason
    }

    /// Ends the calling test. Under `CI=true` a missing or broken proxy fails it (panics with the
    /// reason); elsewhere it unwinds with [`Skipped`], which the runner reports as ignored.
    pub(crate) fn report(self) -> ! {
        if std::env::var("CI").is_ok_and(|v| v == "true") {
            panic!(
                "real proxy unavailable under CI=true: {}; run scripts/install-test-deps",
                self.reason
            );
        }
        std::panic::panic_any(Skipped(format!(
            "{}; run scripts/install-test-deps",
            self.reason
        )))
    }
}

/// The panic payload that ends a test whose proxy is unavailable: the runner catches it and
/// reports the test as ignored with this reason (libtest has no way to ignore at run time, which
/// is why this binary has its own runner).
#[derive(Debug)]
pub(crate) struct Skipped(pub(crate) String);

/// Evaluates to the started proxy, or ends the test through [`Skip::report`].
macro_rules! start_or_skip {
    ($start:expr) => {
        match $start {
            Ok(proxy) => proxy,
            Err(skip) => skip.report(),
        }
    };
}
pub(crate) use start_or_skip;

/// A username and password a proxy requires (Basic).
#[derive(Clone)]
pub(crate) struct Credentials {
    /// The user name.
    pub(crate) user: String,
    /// The password; never printed by this module.
    pub(crate) password: String,
}

impl std::fmt::Debug for Credentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Credentials")
            .field("user", &self.user)
            .field("password", &"<redacted>")
            .finish()
    }
}

/// A proxy process under a `timeout` watchdog, in its own process group.
struct ProxyProcess {
    name: &'static str,
    child: Child,
    addr: SocketAddr,
    dir: TempDir,
    /// The prefix of the `/dev/shm` files the proxy creates; a killed Squid leaves them behind.
    shm_prefix: Option<String>,
}

impl ProxyProcess {
    fn spawn(
        name: &'static str,
        binary: &Path,
        args: &[String],
        dir: TempDir,
        port: u16,
        shm_prefix: Option<String>,
    ) -> Result<ProxyProcess, Skip> {
        let timeout = find_binary("timeout", &["/usr/bin/timeout", "/bin/timeout"])
            .ok_or_else(|| Skip::new("coreutils `timeout` is missing"))?;
        let out = fs::File::create(dir.path().join("stdout.log"))
            .map_err(|e| Skip::new(format!("cannot create {name}'s stdout log: {e}")))?;
        let err = fs::File::create(dir.path().join("stderr.log"))
            .map_err(|e| Skip::new(format!("cannot create {name}'s stderr log: {e}")))?;
        // `timeout -k 5 300 proxy …`: the watchdog sends SIGTERM at the end of the lifetime (or
        // when it is itself sent SIGTERM) and SIGKILL five seconds later, time enough for a
        // graceful Squid exit, which removes its /dev/shm segments. It survives this test
        // process, so a crashed test cannot leave a proxy running for long.
        let child = Command::new(timeout)
            .arg("-k")
            .arg("5")
            .arg(PROXY_LIFETIME.as_secs().to_string())
            .arg(binary)
            .args(args)
            .current_dir(dir.path())
            .stdin(Stdio::null())
            .stdout(out)
            .stderr(err)
            .process_group(0)
            .spawn()
            .map_err(|e| Skip::new(format!("cannot run {name}: {e}")))?;
        let mut process = ProxyProcess {
            name,
            child,
            addr: SocketAddr::from((Ipv4Addr::LOCALHOST, port)),
            dir,
            shm_prefix,
        };
        process.wait_ready()?;
        Ok(process)
    }

    fn wait_ready(&mut self) -> Result<(), Skip> {
        let deadline = Instant::now() + READY_TIMEOUT;
        loop {
            if let Ok(Some(status)) = self.child.try_wait() {
                return Err(Skip::new(format!(
                    "{} exited during startup ({status}): {}",
                    self.name,
                    self.startup_output()
                )));
            }
            if TcpStream::connect_timeout(&self.addr, Duration::from_millis(200)).is_ok() {
                return Ok(());
            }
            if Instant::now() > deadline {
                return Err(Skip::new(format!(
                    "{} did not accept connections on {} within {:?}: {}",
                    self.name,
                    self.addr,
                    READY_TIMEOUT,
                    self.startup_output()
                )));
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    fn startup_output(&self) -> String {
        let mut lines = Vec::new();
        for file in ["stderr.log", "stdout.log", "cache.log", "tinyproxy.log"] {
            let text = self.read(file);
            let tail: Vec<String> = text.lines().rev().take(5).map(str::to_owned).collect();
            lines.extend(tail.into_iter().rev());
        }
        lines.join(" | ")
    }

    fn read(&self, file: &str) -> String {
        fs::read_to_string(self.dir.path().join(file)).unwrap_or_default()
    }

    fn signal(&self, signal: &str, target: String) {
        // std has no kill(2) and the crate forbids unsafe code; the shell's builtin does it.
        let _ = Command::new("sh")
            .arg("-c")
            .arg("kill -s \"$1\" -- \"$2\" 2>/dev/null")
            .arg("sh")
            .arg(signal)
            .arg(target)
            .status();
    }
}

impl Drop for ProxyProcess {
    fn drop(&mut self) {
        self.stop();
        if let Some(prefix) = &self.shm_prefix {
            remove_shm_segments(prefix);
        }
    }
}

impl ProxyProcess {
    fn stop(&mut self) {
        if let Ok(Some(_)) = self.child.try_wait() {
            return;
        }
        // SIGTERM to the watchdog, which forwards it to the proxy; a graceful Squid shutdown
        // takes over a second even with `shutdown_lifetime 0`, more than a test should wait, so
        // after a short grace the whole process group (watchdog, proxy, auth helpers) is killed.
        self.signal("TERM", self.child.id().to_string());
        let deadline = Instant::now() + STOP_GRACE;
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        self.signal("KILL", format!("-{}", self.child.id()));
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Removes `/dev/shm/<prefix>*`: the segments of one Squid instance, by its unique service name.
fn remove_shm_segments(prefix: &str) {
    let Ok(entries) = fs::read_dir("/dev/shm") else {
        return;
    };
    for entry in entries.flatten() {
        if entry.file_name().to_string_lossy().starts_with(prefix) {
            let _ = fs::remove_file(entry.path());
        }
    }
}

/// A temporary directory the proxy can use after it drops privileges: Squid started as root
/// switches to `cache_effective_user` (Debian: `proxy`) before it opens its logs.
fn private_dir() -> Result<TempDir, Skip> {
    let dir = tempfile::Builder::new()
        .prefix("proxyscope-realproxy-")
        .tempdir()
        .map_err(|e| Skip::new(format!("cannot create a temporary directory: {e}")))?;
    fs::set_permissions(dir.path(), fs::Permissions::from_mode(0o777))
        .map_err(|e| Skip::new(format!("cannot open up the temporary directory: {e}")))?;
    Ok(dir)
}

fn write_file(path: &Path, contents: &str, mode: u32) -> Result<(), Skip> {
    fs::write(path, contents)
        .and_then(|()| fs::set_permissions(path, fs::Permissions::from_mode(mode)))
        .map_err(|e| Skip::new(format!("cannot write {}: {e}", path.display())))
}

fn path_str(path: &Path) -> Result<String, Skip> {
    let s = path
        .to_str()
        .ok_or_else(|| Skip::new(format!("non-UTF-8 path {}", path.display())))?;
    if s.contains(char::is_whitespace) || s.contains('"') {
        return Err(Skip::new(format!("unusable path for a proxy config: {s}")));
    }
    Ok(s.to_owned())
}

/// A loopback port free right now, for a child process to bind: bound and released at once,
/// so another socket may take it in between (callers retry). Not `refused_addr`, whose ports
/// stay held by this process and so cannot be bound by a child.
pub(crate) fn loopback_port_now_free() -> std::io::Result<u16> {
    Ok(std::net::TcpListener::bind((Ipv4Addr::LOCALHOST, 0))?
        .local_addr()?
        .port())
}

/// [`loopback_port_now_free`], for a proxy process to take.
fn free_port() -> Result<u16, Skip> {
    loopback_port_now_free().map_err(|e| Skip::new(format!("no free loopback port: {e}")))
}

/// The binary named by `env` when set (which must then exist), else the system's.
fn proxy_binary(env: &str, name: &str, candidates: &[&str]) -> Result<PathBuf, Skip> {
    match std::env::var_os(env) {
        Some(path) => {
            let path = PathBuf::from(path);
            if path.is_file() {
                Ok(path)
            } else {
                Err(Skip::new(format!("{env}={} is not a file", path.display())))
            }
        }
        None => find_binary(name, candidates)
            .ok_or_else(|| Skip::new(format!("{name} is not installed"))),
    }
}

fn find_binary(name: &str, candidates: &[&str]) -> Option<PathBuf> {
    let on_path = std::env::var_os("PATH").into_iter().flat_map(|paths| {
        std::env::split_paths(&paths)
            .map(|p| p.join(name))
            .collect::<Vec<_>>()
    });
    candidates
        .iter()
        .map(PathBuf::from)
        .chain(on_path)
        .find(|p| p.is_file())
}

/// Unit tests of the support code, registered in `main.rs` (no `cfg(test)` under this runner).
pub(crate) mod tests {
    use super::*;

    pub(crate) fn credentials_debug_hides_the_password() {
        let c = Credentials {
            user: "alice".into(),
            password: "s3cret-pw".into(),
        };
        let shown = format!("{c:?}");
        assert!(shown.contains("alice"));
        assert!(!shown.contains("s3cret-pw"));
    }
}
