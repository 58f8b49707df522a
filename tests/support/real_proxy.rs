//! Real Squid and tinyproxy on loopback for integration tests, plus the small raw-socket tools
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
//! When a proxy binary is missing or fails to start, `start` returns a [`Skip`]; the
//! [`start_or_skip!`] macro turns that into a failure under `CI=true` and an early return with a
//! "skipped: …; run scripts/install-test-deps" line on stderr otherwise.
#![allow(dead_code)]

use std::fmt::Write as _;
use std::fs;
use std::hash::{BuildHasher, Hasher};
use std::io::Write as _;
use std::net::{IpAddr, Ipv4Addr, SocketAddr, TcpListener, TcpStream, UdpSocket};
use std::os::unix::fs::PermissionsExt;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use tempfile::TempDir;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// How long a proxy may live before its `timeout` watchdog kills it, whatever the test does.
pub(crate) const PROXY_LIFETIME: Duration = Duration::from_secs(300);
/// How long `start` waits for the proxy's port to accept connections.
const READY_TIMEOUT: Duration = Duration::from_secs(10);
/// How long drop waits after SIGTERM before it sends SIGKILL to the process group.
const STOP_GRACE: Duration = Duration::from_millis(300);
/// Where Debian's squid package puts the Basic auth helper for htpasswd files.
const SQUID_NCSA_HELPER: &str = "/usr/lib/squid/basic_ncsa_auth";
/// The `visible_hostname` of every test Squid; it shows up in `Via` and `X-Cache`.
pub(crate) const SQUID_HOSTNAME: &str = "proxyscope-test-squid";
/// The `ViaProxyName` of every test tinyproxy.
pub(crate) const TINYPROXY_VIA_NAME: &str = "proxyscope-test-tinyproxy";
/// Names the squid binary to use instead of the one on the system (another version, say).
pub(crate) const SQUID_ENV: &str = "PROXYSCOPE_TEST_SQUID";
/// Names the tinyproxy binary to use instead of the one on the system.
pub(crate) const TINYPROXY_ENV: &str = "PROXYSCOPE_TEST_TINYPROXY";
/// The realm of every test Squid's Basic auth.
pub(crate) const SQUID_REALM: &str = "proxyscope-test";

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

    /// Under `CI=true` a missing or broken proxy fails the test (panics with the reason);
    /// elsewhere it prints why the test is skipped and how to fix that.
    pub(crate) fn report(self) {
        if std::env::var("CI").is_ok_and(|v| v == "true") {
            panic!(
                "real proxy unavailable under CI=true: {}; run scripts/install-test-deps",
                self.reason
            );
        }
        eprintln!("skipped: {}; run scripts/install-test-deps", self.reason);
    }
}

/// Evaluates to the started proxy, or reports the [`Skip`] and returns from the calling test.
macro_rules! start_or_skip {
    ($start:expr) => {
        match $start {
            Ok(proxy) => proxy,
            Err(skip) => {
                skip.report();
                return;
            }
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

/// What a test Squid allows, denies and requires.
///
/// The policy is the shape of Debian's default `squid.conf`: `Safe_ports` (80, 443, 1025-65535)
/// and `SSL_ports` (443, 1025-65535, so CONNECT reaches loopback test servers on ephemeral ports
/// while CONNECT to 25 is refused), then the deny lists, then the allow lists (when any is set,
/// everything else is denied), then `proxy_auth` when credentials are set, then loopback clients.
#[derive(Clone, Debug, Default)]
pub(crate) struct SquidConfig {
    deny_domains: Vec<String>,
    deny_dsts: Vec<IpAddr>,
    allow_domains: Vec<String>,
    allow_dsts: Vec<IpAddr>,
    auth: Option<Credentials>,
    hosts: Vec<(String, IpAddr)>,
}

impl SquidConfig {
    /// A Squid that forwards anything from loopback to any safe port.
    pub(crate) fn new() -> Self {
        Self::default()
    }

    /// Denies a destination domain (`dstdomain -n`: `.example.test` also covers subdomains;
    /// `-n` because a reverse lookup of an IP destination must not be attempted).
    pub(crate) fn deny_domain(mut self, domain: &str) -> Self {
        self.deny_domains.push(domain.to_owned());
        self
    }

    /// Denies a destination address (`dst`).
    pub(crate) fn deny_dst(mut self, ip: IpAddr) -> Self {
        self.deny_dsts.push(ip);
        self
    }

    /// Allows a destination domain; once any allow rule is set, other destinations are denied.
    pub(crate) fn allow_domain(mut self, domain: &str) -> Self {
        self.allow_domains.push(domain.to_owned());
        self
    }

    /// Allows a destination address; once any allow rule is set, other destinations are denied.
    pub(crate) fn allow_dst(mut self, ip: IpAddr) -> Self {
        self.allow_dsts.push(ip);
        self
    }

    /// Requires `proxy_auth` Basic with these credentials (an htpasswd file with an `$apr1$`
    /// hash, checked by Squid's `basic_ncsa_auth` helper).
    pub(crate) fn basic_auth(mut self, user: &str, password: &str) -> Self {
        self.auth = Some(Credentials {
            user: user.to_owned(),
            password: password.to_owned(),
        });
        self
    }

    /// Resolves `name` to `ip` through Squid's `hosts_file` (no DNS involved).
    pub(crate) fn host(mut self, name: &str, ip: IpAddr) -> Self {
        self.hosts.push((name.to_owned(), ip));
        self
    }
}

/// A Squid running on loopback with a generated config; stopped on drop.
pub(crate) struct RealSquid {
    process: ProxyProcess,
    version: String,
    dns: Option<DnsResponder>,
}

impl RealSquid {
    /// Writes the config, checks it with `squid -k parse`, starts `squid -N` and waits until its
    /// port accepts connections.
    pub(crate) fn start(config: SquidConfig) -> Result<RealSquid, Skip> {
        let squid = proxy_binary(
            SQUID_ENV,
            "squid",
            &["/usr/sbin/squid", "/usr/local/sbin/squid"],
        )?;
        if config.auth.is_some() && !Path::new(SQUID_NCSA_HELPER).exists() {
            return Err(Skip::new(format!("{SQUID_NCSA_HELPER} is missing")));
        }
        let version = squid_version(&squid)?;
        let dns_ip = random_dns_address();
        let dns = DnsResponder::start(dns_ip);
        let mut last = Skip::new("squid did not start");
        // A free port found by binding :0 can be taken before Squid binds it; try a few.
        for _ in 0..3 {
            let dir = private_dir()?;
            let port = free_port()?;
            let conf = write_squid_config(dir.path(), port, dns_ip, &config)?;
            // Squid names its shared-memory segments after the service name (`-n`): a unique
            // one keeps parallel instances, and leftovers of other users, apart.
            let service = format!("proxyscope{}p{port}", std::process::id());
            check_squid_config(&squid, &service, &conf)?;
            let args = [
                "-n".to_owned(),
                service.clone(),
                "-N".to_owned(),
                "-f".to_owned(),
                path_str(&conf)?,
            ];
            let shm = Some(format!("{service}-"));
            match ProxyProcess::spawn("squid", &squid, &args, dir, port, shm) {
                Ok(process) => {
                    return Ok(RealSquid {
                        process,
                        version,
                        dns,
                    });
                }
                Err(skip) => last = skip,
            }
        }
        Err(last)
    }

    /// The address Squid listens on.
    pub(crate) fn addr(&self) -> SocketAddr {
        self.process.addr
    }

    /// `http://127.0.0.1:<port>`.
    pub(crate) fn url(&self) -> String {
        format!("http://{}", self.process.addr)
    }

    /// The version `squid -v` reports, such as `5.7`.
    pub(crate) fn version(&self) -> &str {
        &self.version
    }

    /// The major version number (`5` for `5.7`); 0 when it could not be read.
    pub(crate) fn major_version(&self) -> u32 {
        self.version
            .split('.')
            .next()
            .and_then(|m| m.parse().ok())
            .unwrap_or(0)
    }

    /// Whether `.invalid` names get an NXDOMAIN answer (a responder runs) rather than a timeout.
    pub(crate) fn answers_dns(&self) -> bool {
        self.dns.is_some()
    }

    /// Squid's `access.log` so far (for failure messages).
    pub(crate) fn access_log(&self) -> String {
        self.process.read("access.log")
    }

    /// The first `access.log` line containing `needle`, waiting up to two seconds for it: Squid
    /// writes the line after it has sent the reply.
    pub(crate) fn access_log_line(&self, needle: &str) -> Option<String> {
        let deadline = Instant::now() + Duration::from_secs(2);
        loop {
            let log = self.access_log();
            if let Some(line) = log.lines().find(|l| l.contains(needle)) {
                return Some(line.to_owned());
            }
            if Instant::now() > deadline {
                return None;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Squid's `cache.log` so far (for failure messages).
    pub(crate) fn cache_log(&self) -> String {
        self.process.read("cache.log")
    }

    /// The temporary directory holding the config, logs and PID file.
    pub(crate) fn dir(&self) -> &Path {
        self.process.dir.path()
    }
}

/// What a test tinyproxy allows, filters and requires.
#[derive(Clone, Debug, Default)]
pub(crate) struct TinyproxyConfig {
    filters: Vec<String>,
    filter_default_deny: bool,
    connect_ports: Vec<u16>,
    auth: Option<Credentials>,
}

impl TinyproxyConfig {
    /// A tinyproxy that forwards anything from loopback, CONNECT to any port.
    pub(crate) fn new() -> Self {
        Self::default()
    }

    /// Adds an extended regular expression to the `Filter` file (matched against the host).
    /// Without [`Self::filter_default_deny`] matching hosts are refused with 403 "Filtered".
    pub(crate) fn filter(mut self, pattern: &str) -> Self {
        self.filters.push(pattern.to_owned());
        self
    }

    /// `FilterDefaultDeny Yes`: the filter list becomes an allow list.
    pub(crate) fn filter_default_deny(mut self) -> Self {
        self.filter_default_deny = true;
        self
    }

    /// Limits CONNECT to these ports (`ConnectPort`); others get 403 "Access violation".
    pub(crate) fn connect_port(mut self, port: u16) -> Self {
        self.connect_ports.push(port);
        self
    }

    /// Requires Basic credentials (`BasicAuth user password`; the realm is "Tinyproxy").
    pub(crate) fn basic_auth(mut self, user: &str, password: &str) -> Self {
        self.auth = Some(Credentials {
            user: user.to_owned(),
            password: password.to_owned(),
        });
        self
    }
}

/// A tinyproxy running on loopback with a generated config; stopped on drop.
pub(crate) struct RealTinyproxy {
    process: ProxyProcess,
    version: String,
}

impl RealTinyproxy {
    /// Writes the config, starts `tinyproxy -d` and waits until its port accepts connections.
    pub(crate) fn start(config: TinyproxyConfig) -> Result<RealTinyproxy, Skip> {
        let tinyproxy = proxy_binary(
            TINYPROXY_ENV,
            "tinyproxy",
            &[
                "/usr/bin/tinyproxy",
                "/usr/sbin/tinyproxy",
                "/usr/local/bin/tinyproxy",
            ],
        )?;
        let version = tinyproxy_version(&tinyproxy)?;
        let mut last = Skip::new("tinyproxy did not start");
        for _ in 0..3 {
            let dir = private_dir()?;
            let port = free_port()?;
            let conf = write_tinyproxy_config(dir.path(), port, &config)?;
            let args = ["-d".to_owned(), "-c".to_owned(), path_str(&conf)?];
            match ProxyProcess::spawn("tinyproxy", &tinyproxy, &args, dir, port, None) {
                Ok(process) => return Ok(RealTinyproxy { process, version }),
                Err(skip) => last = skip,
            }
        }
        Err(last)
    }

    /// The address tinyproxy listens on.
    pub(crate) fn addr(&self) -> SocketAddr {
        self.process.addr
    }

    /// `http://127.0.0.1:<port>`.
    pub(crate) fn url(&self) -> String {
        format!("http://{}", self.process.addr)
    }

    /// The version `tinyproxy -v` reports, such as `1.11.1`.
    pub(crate) fn version(&self) -> &str {
        &self.version
    }

    /// tinyproxy's log so far (for failure messages).
    pub(crate) fn log(&self) -> String {
        self.process.read("tinyproxy.log")
    }

    /// The temporary directory holding the config, filter file, log and PID file.
    pub(crate) fn dir(&self) -> &Path {
        self.process.dir.path()
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
        // `timeout -k 2 300 proxy …`: the watchdog sends SIGTERM at the end of the lifetime (or
        // when it is itself sent SIGTERM) and SIGKILL two seconds later; it survives this test
        // process, so a crashed test cannot leave a proxy running for long.
        let child = Command::new(timeout)
            .arg("-k")
            .arg("2")
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
        let mut out = String::new();
        for file in ["stderr.log", "stdout.log", "cache.log", "tinyproxy.log"] {
            let text = self.read(file);
            let tail: Vec<&str> = text.lines().rev().take(5).collect();
            for line in tail.into_iter().rev() {
                let _ = write!(out, "{line} | ");
            }
        }
        out
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

/// Answers every DNS query on `<ip>:53` with NXDOMAIN, until dropped.
struct DnsResponder {
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl DnsResponder {
    /// `None` when port 53 cannot be bound there (not root); Squid's queries then time out.
    fn start(ip: Ipv4Addr) -> Option<DnsResponder> {
        let socket = UdpSocket::bind((ip, 53)).ok()?;
        socket
            .set_read_timeout(Some(Duration::from_millis(50)))
            .ok()?;
        let stop = Arc::new(AtomicBool::new(false));
        let flag = Arc::clone(&stop);
        let thread = std::thread::spawn(move || {
            let mut buf = [0u8; 1500];
            while !flag.load(Ordering::Relaxed) {
                let Ok((n, from)) = socket.recv_from(&mut buf) else {
                    continue;
                };
                if let Some(reply) = nxdomain_reply(&buf[..n]) {
                    let _ = socket.send_to(&reply, from);
                }
            }
        });
        Some(DnsResponder {
            stop,
            thread: Some(thread),
        })
    }
}

impl Drop for DnsResponder {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// The NXDOMAIN answer to a one-question DNS query: same id and question, QR, RD copied, RA,
/// RCODE 3, no records. `None` for anything that is not such a query.
fn nxdomain_reply(query: &[u8]) -> Option<Vec<u8>> {
    if query.len() < 12 || query[2] & 0x80 != 0 || query[4..6] != [0, 1] {
        return None;
    }
    // The question: labels up to the root label, then QTYPE and QCLASS.
    let mut at = 12;
    loop {
        let len = usize::from(*query.get(at)?);
        if len == 0 {
            at += 1;
            break;
        }
        if len & 0xc0 != 0 {
            return None;
        }
        at += 1 + len;
    }
    let end = at + 4;
    if end > query.len() {
        return None;
    }
    let mut reply = Vec::with_capacity(end);
    reply.extend_from_slice(&query[..2]);
    reply.push(0x80 | (query[2] & 0x01));
    reply.push(0x80 | 0x03);
    reply.extend_from_slice(&[0, 1, 0, 0, 0, 0, 0, 0]);
    reply.extend_from_slice(&query[12..end]);
    Some(reply)
}

/// A loopback address no one else uses, for one Squid's nameserver.
fn random_dns_address() -> Ipv4Addr {
    let mut hasher = std::collections::hash_map::RandomState::new().build_hasher();
    hasher.write_u32(std::process::id());
    hasher.write_u128(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or_default(),
    );
    let bits = hasher.finish();
    let a = (bits % 254) as u8 + 1;
    let b = ((bits >> 8) % 254) as u8 + 1;
    Ipv4Addr::new(127, 53, a, b)
}

fn write_squid_config(
    dir: &Path,
    port: u16,
    dns_ip: Ipv4Addr,
    config: &SquidConfig,
) -> Result<PathBuf, Skip> {
    let d = path_str(dir)?;
    let mut hosts = String::from("127.0.0.1 localhost\n");
    for (name, ip) in &config.hosts {
        let _ = writeln!(hosts, "{ip} {name}");
    }
    write_file(&dir.join("hosts"), &hosts, 0o644)?;

    let mut c = String::new();
    let _ = writeln!(
        c,
        "# Generated by tests/support/real_proxy.rs; loopback only."
    );
    let _ = writeln!(c, "http_port 127.0.0.1:{port}");
    let _ = writeln!(c, "visible_hostname {SQUID_HOSTNAME}");
    let _ = writeln!(c, "pid_filename {d}/squid.pid");
    let _ = writeln!(c, "coredump_dir {d}");
    let _ = writeln!(c, "access_log stdio:{d}/access.log");
    let _ = writeln!(c, "cache_log {d}/cache.log");
    let _ = writeln!(c, "cache_store_log none");
    let _ = writeln!(c, "netdb_filename none");
    let _ = writeln!(c, "cache deny all");
    let _ = writeln!(c, "cache_mem 0 MB");
    let _ = writeln!(c, "digest_generation off");
    let _ = writeln!(c, "client_db off");
    let _ = writeln!(c, "pinger_enable off");
    let _ = writeln!(c, "shutdown_lifetime 0 seconds");
    // DNS never leaves loopback: a nameserver of our own, a short timeout, our hosts file.
    let _ = writeln!(c, "dns_nameservers {dns_ip}");
    let _ = writeln!(c, "dns_timeout 500 milliseconds");
    let _ = writeln!(c, "dns_retransmit_interval 250 milliseconds");
    let _ = writeln!(c, "hosts_file {d}/hosts");
    let _ = writeln!(c, "udp_incoming_address 127.0.0.1");
    let _ = writeln!(c, "udp_outgoing_address 127.0.0.1");
    let _ = writeln!(c, "tcp_outgoing_address 127.0.0.1");
    let _ = writeln!(c, "connect_timeout 2 seconds");
    let _ = writeln!(c, "acl SSL_ports port 443 1025-65535");
    let _ = writeln!(c, "acl Safe_ports port 80 443 1025-65535");
    let _ = writeln!(c, "acl CONNECT method CONNECT");
    let _ = writeln!(c, "acl loopback src 127.0.0.0/8");
    if let Some(auth) = &config.auth {
        let hash = apr1_hash(&auth.password)?;
        write_file(
            &dir.join("htpasswd"),
            &format!("{}:{hash}\n", auth.user),
            0o644,
        )?;
        let _ = writeln!(
            c,
            "auth_param basic program {SQUID_NCSA_HELPER} {d}/htpasswd"
        );
        let _ = writeln!(c, "auth_param basic realm {SQUID_REALM}");
        let _ = writeln!(c, "auth_param basic children 1 startup=1 idle=1");
        let _ = writeln!(c, "acl authenticated proxy_auth REQUIRED");
    }
    let list = |name: &str, kind: &str, items: Vec<String>, c: &mut String| {
        if !items.is_empty() {
            let _ = writeln!(c, "acl {name} {kind} {}", items.join(" "));
        }
    };
    list(
        "denied_domains",
        "dstdomain -n",
        config.deny_domains.clone(),
        &mut c,
    );
    list(
        "denied_dsts",
        "dst",
        config.deny_dsts.iter().map(IpAddr::to_string).collect(),
        &mut c,
    );
    list(
        "allowed_domains",
        "dstdomain -n",
        config.allow_domains.clone(),
        &mut c,
    );
    list(
        "allowed_dsts",
        "dst",
        config.allow_dsts.iter().map(IpAddr::to_string).collect(),
        &mut c,
    );
    let _ = writeln!(c, "http_access deny !Safe_ports");
    let _ = writeln!(c, "http_access deny CONNECT !SSL_ports");
    if !config.deny_domains.is_empty() {
        let _ = writeln!(c, "http_access deny denied_domains");
    }
    if !config.deny_dsts.is_empty() {
        let _ = writeln!(c, "http_access deny denied_dsts");
    }
    let mut not_allowed = String::new();
    if !config.allow_domains.is_empty() {
        not_allowed.push_str(" !allowed_domains");
    }
    if !config.allow_dsts.is_empty() {
        not_allowed.push_str(" !allowed_dsts");
    }
    if !not_allowed.is_empty() {
        let _ = writeln!(c, "http_access deny{not_allowed}");
    }
    if config.auth.is_some() {
        let _ = writeln!(c, "http_access deny !authenticated");
    }
    let _ = writeln!(c, "http_access allow loopback");
    let _ = writeln!(c, "http_access deny all");
    let conf = dir.join("squid.conf");
    write_file(&conf, &c, 0o644)?;
    Ok(conf)
}

fn write_tinyproxy_config(
    dir: &Path,
    port: u16,
    config: &TinyproxyConfig,
) -> Result<PathBuf, Skip> {
    let d = path_str(dir)?;
    let mut c = String::new();
    let _ = writeln!(
        c,
        "# Generated by tests/support/real_proxy.rs; loopback only."
    );
    let _ = writeln!(c, "Port {port}");
    let _ = writeln!(c, "Listen 127.0.0.1");
    let _ = writeln!(c, "Bind 127.0.0.1");
    let _ = writeln!(c, "Timeout 10");
    let _ = writeln!(c, "PidFile \"{d}/tinyproxy.pid\"");
    let _ = writeln!(c, "LogFile \"{d}/tinyproxy.log\"");
    let _ = writeln!(c, "LogLevel Info");
    let _ = writeln!(c, "MaxClients 32");
    let _ = writeln!(c, "Allow 127.0.0.1");
    let _ = writeln!(c, "ViaProxyName \"{TINYPROXY_VIA_NAME}\"");
    for port in &config.connect_ports {
        let _ = writeln!(c, "ConnectPort {port}");
    }
    if !config.filters.is_empty() || config.filter_default_deny {
        let mut filter = String::new();
        for pattern in &config.filters {
            let _ = writeln!(filter, "{pattern}");
        }
        write_file(&dir.join("filter"), &filter, 0o644)?;
        let _ = writeln!(c, "Filter \"{d}/filter\"");
        let _ = writeln!(c, "FilterType ere");
        if config.filter_default_deny {
            let _ = writeln!(c, "FilterDefaultDeny Yes");
        }
    }
    if let Some(auth) = &config.auth {
        let _ = writeln!(c, "BasicAuth {} {}", auth.user, auth.password);
    }
    let conf = dir.join("tinyproxy.conf");
    // The config holds a password in clear: readable by its owner only.
    write_file(&conf, &c, 0o600)?;
    Ok(conf)
}

/// `squid -k parse` first, so a config error is reported as such rather than as a start failure.
fn check_squid_config(squid: &Path, service: &str, conf: &Path) -> Result<(), Skip> {
    let out = Command::new(squid)
        .arg("-n")
        .arg(service)
        .arg("-k")
        .arg("parse")
        .arg("-f")
        .arg(conf)
        .stdin(Stdio::null())
        .output()
        .map_err(|e| Skip::new(format!("cannot run squid -k parse: {e}")))?;
    let text = String::from_utf8_lossy(&out.stderr);
    let problems: Vec<&str> = text
        .lines()
        .filter(|l| l.contains("FATAL") || l.contains("ERROR") || l.contains("WARNING"))
        .collect();
    if !out.status.success() || !problems.is_empty() {
        return Err(Skip::new(format!(
            "squid -k parse rejected the generated config ({}): {}",
            out.status,
            problems.join(" | ")
        )));
    }
    Ok(())
}

fn squid_version(squid: &Path) -> Result<String, Skip> {
    let out = Command::new(squid)
        .arg("-v")
        .stdin(Stdio::null())
        .output()
        .map_err(|e| Skip::new(format!("cannot run squid -v: {e}")))?;
    let text = String::from_utf8_lossy(&out.stdout);
    text.lines()
        .find_map(|l| l.split("Version ").nth(1))
        .map(|v| v.trim().to_owned())
        .ok_or_else(|| Skip::new(format!("squid -v printed no version: {text}")))
}

fn tinyproxy_version(tinyproxy: &Path) -> Result<String, Skip> {
    let out = Command::new(tinyproxy)
        .arg("-v")
        .stdin(Stdio::null())
        .output()
        .map_err(|e| Skip::new(format!("cannot run tinyproxy -v: {e}")))?;
    let text = String::from_utf8_lossy(&out.stdout);
    text.lines()
        .find_map(|l| l.strip_prefix("tinyproxy "))
        .map(|v| v.trim().to_owned())
        .ok_or_else(|| Skip::new(format!("tinyproxy -v printed no version: {text}")))
}

/// An Apache MD5 (`$apr1$`) hash, which `basic_ncsa_auth` accepts (as it does `$1$`, DES and
/// SHA-crypt); the password goes through stdin so it never shows up in a process list.
fn apr1_hash(password: &str) -> Result<String, Skip> {
    let openssl = find_binary("openssl", &["/usr/bin/openssl"])
        .ok_or_else(|| Skip::new("openssl is not installed (needed to hash the test password)"))?;
    let mut child = Command::new(openssl)
        .args(["passwd", "-apr1", "-stdin"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| Skip::new(format!("cannot run openssl passwd: {e}")))?;
    if let Some(mut stdin) = child.stdin.take() {
        let _ = writeln!(stdin, "{password}");
    }
    let out = child
        .wait_with_output()
        .map_err(|e| Skip::new(format!("openssl passwd failed: {e}")))?;
    let hash = String::from_utf8_lossy(&out.stdout).trim().to_owned();
    if !out.status.success() || !hash.starts_with("$apr1$") {
        return Err(Skip::new(format!(
            "openssl passwd -apr1 failed ({}): {}",
            out.status,
            String::from_utf8_lossy(&out.stderr).trim()
        )));
    }
    Ok(hash)
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

fn free_port() -> Result<u16, Skip> {
    TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .map_err(|e| Skip::new(format!("cannot find a free loopback port: {e}")))
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

/// A port on 127.0.0.1 where nothing listens (bound, then released).
pub(crate) fn closed_port() -> u16 {
    let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).expect("bind 127.0.0.1:0");
    listener.local_addr().expect("local addr").port()
}

/// `Proxy-Authorization: Basic …` value for `user:password`.
pub(crate) fn basic_auth_value(user: &str, password: &str) -> String {
    use base64::Engine as _;
    let token = base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"));
    format!("Basic {token}")
}

/// One HTTP response head (and, when read, its body) as it came off the wire.
#[derive(Debug, Clone)]
pub(crate) struct RawResponse {
    /// `HTTP/1.0` or `HTTP/1.1`.
    pub(crate) version: String,
    /// The status code.
    pub(crate) status: u16,
    /// The reason phrase, exactly as sent.
    pub(crate) reason: String,
    /// Header fields in order, names as sent.
    pub(crate) headers: Vec<(String, String)>,
    /// The body (empty unless read).
    pub(crate) body: String,
}

impl RawResponse {
    /// The first value of a header, by case-insensitive name.
    pub(crate) fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// Every header as `Name: value` lines, for failure messages.
    pub(crate) fn head_text(&self) -> String {
        let mut s = format!("{} {} {}\n", self.version, self.status, self.reason);
        for (n, v) in &self.headers {
            let _ = writeln!(s, "{n}: {v}");
        }
        s
    }
}

/// Sends `head` (a request head without the final blank line) to `proxy` and reads the reply
/// head; the body too when `read_body` (by Content-Length, else until close). Returns the
/// stream so a tunnel can be used afterwards. Bounded by a 5-second timeout.
pub(crate) async fn exchange(
    proxy: SocketAddr,
    head: &str,
    read_body: bool,
) -> (tokio::net::TcpStream, RawResponse) {
    let work = async {
        let mut stream = tokio::net::TcpStream::connect(proxy)
            .await
            .expect("connect to the proxy");
        stream
            .write_all(format!("{head}\r\n\r\n").as_bytes())
            .await
            .expect("write the request");
        let response = read_response(&mut stream, read_body).await;
        (stream, response)
    };
    tokio::time::timeout(Duration::from_secs(5), work)
        .await
        .expect("the proxy answered within 5 s")
}

/// Reads one response from `stream`: the head byte by byte (so nothing after it is consumed),
/// then the body when asked.
pub(crate) async fn read_response(
    stream: &mut tokio::net::TcpStream,
    read_body: bool,
) -> RawResponse {
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        let n = stream.read(&mut byte).await.expect("read the reply head");
        assert!(
            n == 1,
            "connection closed inside the reply head: {:?}",
            String::from_utf8_lossy(&head)
        );
        head.push(byte[0]);
        assert!(head.len() < 64 * 1024, "reply head over 64 KiB");
    }
    let text = String::from_utf8_lossy(&head).into_owned();
    let mut lines = text.split("\r\n");
    let status_line = lines.next().unwrap_or_default();
    let mut parts = status_line.splitn(3, ' ');
    let version = parts.next().unwrap_or_default().to_owned();
    let status = parts
        .next()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("bad status line {status_line:?}"));
    let reason = parts.next().unwrap_or_default().to_owned();
    let headers: Vec<(String, String)> = lines
        .filter(|l| !l.is_empty())
        .filter_map(|l| l.split_once(':'))
        .map(|(n, v)| (n.trim().to_owned(), v.trim().to_owned()))
        .collect();
    let mut response = RawResponse {
        version,
        status,
        reason,
        headers,
        body: String::new(),
    };
    if read_body {
        let mut body = Vec::new();
        match response
            .header("content-length")
            .and_then(|v| v.parse::<usize>().ok())
        {
            Some(len) => {
                body.resize(len, 0);
                stream.read_exact(&mut body).await.expect("read the body");
            }
            None => {
                stream.read_to_end(&mut body).await.expect("read the body");
            }
        }
        response.body = String::from_utf8_lossy(&body).into_owned();
    }
    response
}

/// A tiny HTTP/1.1 origin on 127.0.0.1:0: `/forbidden` answers 403, everything else 200, both
/// with `Server: proxyscope-test-origin`. Stops when dropped.
pub(crate) struct LoopbackOrigin {
    addr: SocketAddr,
    task: tokio::task::JoinHandle<()>,
}

/// The `Server` header of [`LoopbackOrigin`]'s replies.
pub(crate) const ORIGIN_SERVER: &str = "proxyscope-test-origin";
/// The body of [`LoopbackOrigin`]'s 200 replies.
pub(crate) const ORIGIN_BODY: &str = "hello from the origin";
/// The body of [`LoopbackOrigin`]'s 403 replies.
pub(crate) const ORIGIN_FORBIDDEN_BODY: &str = "the origin says no";

impl LoopbackOrigin {
    /// Binds 127.0.0.1:0 and serves until dropped.
    pub(crate) async fn start() -> LoopbackOrigin {
        let listener = tokio::net::TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
            .await
            .expect("bind the origin");
        let addr = listener.local_addr().expect("origin address");
        let task = tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                tokio::spawn(serve_origin(stream));
            }
        });
        LoopbackOrigin { addr, task }
    }

    /// Where the origin listens.
    pub(crate) fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Its port.
    pub(crate) fn port(&self) -> u16 {
        self.addr.port()
    }
}

impl Drop for LoopbackOrigin {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn serve_origin(mut stream: tokio::net::TcpStream) {
    loop {
        let mut head = Vec::new();
        let mut byte = [0u8; 1];
        while !head.ends_with(b"\r\n\r\n") {
            match stream.read(&mut byte).await {
                Ok(1) => head.push(byte[0]),
                _ => return,
            }
            if head.len() > 16 * 1024 {
                return;
            }
        }
        let text = String::from_utf8_lossy(&head);
        let target = text.split(' ').nth(1).unwrap_or("/");
        let (status, body) = if target.ends_with("/forbidden") {
            ("403 Forbidden", ORIGIN_FORBIDDEN_BODY)
        } else {
            ("200 OK", ORIGIN_BODY)
        };
        let reply = format!(
            "HTTP/1.1 {status}\r\nServer: {ORIGIN_SERVER}\r\nContent-Type: text/plain\r\n\
             Content-Length: {}\r\n\r\n{body}",
            body.len()
        );
        if stream.write_all(reply.as_bytes()).await.is_err() {
            return;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nxdomain_reply_keeps_id_and_question_and_sets_rcode_3() {
        // id 0xbeef, RD, one question: x.invalid A IN
        let mut query = vec![0xbe, 0xef, 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0];
        query.extend_from_slice(b"\x01x\x07invalid\x00\x00\x01\x00\x01");
        let reply = nxdomain_reply(&query).expect("a reply");
        assert_eq!(&reply[..2], &[0xbe, 0xef]);
        assert_eq!(reply[2], 0x81, "QR and RD");
        assert_eq!(reply[3] & 0x0f, 3, "NXDOMAIN");
        assert_eq!(&reply[4..12], &[0, 1, 0, 0, 0, 0, 0, 0]);
        assert_eq!(&reply[12..], &query[12..]);
    }

    #[test]
    fn nxdomain_reply_ignores_answers_and_garbage() {
        assert!(nxdomain_reply(&[0; 5]).is_none());
        let mut answer = vec![0xbe, 0xef, 0x81, 0x80, 0, 1, 0, 0, 0, 0, 0, 0];
        answer.extend_from_slice(b"\x01x\x00\x00\x01\x00\x01");
        assert!(
            nxdomain_reply(&answer).is_none(),
            "a response is not a query"
        );
        let truncated = [0xbe, 0xef, 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0, 0x05, b'a'];
        assert!(nxdomain_reply(&truncated).is_none());
    }

    #[test]
    fn credentials_debug_hides_the_password() {
        let c = Credentials {
            user: "alice".into(),
            password: "s3cret-pw".into(),
        };
        let shown = format!("{c:?}");
        assert!(shown.contains("alice"));
        assert!(!shown.contains("s3cret-pw"));
    }
}
