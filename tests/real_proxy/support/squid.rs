//! Squid: its generated config (policy, auth, DNS pinned to loopback), the checks before it
//! starts, and the running instance.

use std::fmt::Write as _;
use std::io::Write as _;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use super::dns::{DnsResponder, random_dns_address};
use super::{
    Credentials, ProxyProcess, Skip, find_binary, free_port, path_str, private_dir, proxy_binary,
    write_file,
};

/// Where Debian's squid package puts the Basic auth helper for htpasswd files.
const SQUID_NCSA_HELPER: &str = "/usr/lib/squid/basic_ncsa_auth";
/// Where Debian's squid package keeps the untranslated error templates.
const SQUID_TEMPLATES: &str = "/usr/share/squid/errors/templates";
/// The `visible_hostname` of every test Squid; it shows up in `Via` and `X-Cache`.
pub(crate) const SQUID_HOSTNAME: &str = "proxyscope-test-squid";
/// Names the squid binary to use instead of the one on the system (another version, say).
pub(crate) const SQUID_ENV: &str = "PROXYSCOPE_TEST_SQUID";
/// The realm of every test Squid's Basic auth.
pub(crate) const SQUID_REALM: &str = "proxyscope-test";

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
    echo_denials: bool,
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

    /// Answers denied destinations with a custom error page (`deny_info`) that quotes the
    /// request with Squid's `%R` code: the request line and headers as received, which Squid
    /// prints with `Authorization` and `Proxy-Authorization` masked but every other header
    /// (cookies, custom proxy headers) and the query in clear.
    pub(crate) fn echo_denials(mut self) -> Self {
        self.echo_denials = true;
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

    /// Whether this Squid is `major.minor` or newer (behaviour differs across versions).
    pub(crate) fn version_at_least(&self, major: u32, minor: u32) -> bool {
        let mut parts = self
            .version
            .split(|c: char| !c.is_ascii_digit())
            .map(|p| p.parse::<u32>().unwrap_or(0));
        let have = (parts.next().unwrap_or(0), parts.next().unwrap_or(0));
        have >= (major, minor)
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
    // Every origin is on loopback, where a closed port refuses at once: no test waits for
    // this timeout. On a loaded machine the 1,000-tunnel load test saw 94 of Squid's connects
    // take more than 2 s. Below the load tests' 20 s client timeouts, so a connect that never
    // completes is still Squid's error to report.
    let _ = writeln!(c, "connect_timeout 15 seconds");
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
    if config.echo_denials {
        // A deny_info page must live in error_directory, which then needs every template.
        let errors = dir.join("errors");
        let templates = Path::new(SQUID_TEMPLATES);
        let entries = std::fs::read_dir(templates).map_err(|e| {
            Skip::new(format!(
                "cannot read Squid's templates {SQUID_TEMPLATES}: {e}"
            ))
        })?;
        std::fs::create_dir_all(&errors)
            .map_err(|e| Skip::new(format!("cannot create {}: {e}", errors.display())))?;
        for entry in entries.flatten() {
            let text = std::fs::read_to_string(entry.path()).unwrap_or_default();
            write_file(&errors.join(entry.file_name()), &text, 0o644)?;
        }
        write_file(
            &errors.join("ERR_ECHO"),
            "<html><body id=ERR_ECHO><h1>Denied</h1><pre>%R</pre></body></html>\n",
            0o644,
        )?;
        let _ = writeln!(c, "error_directory {}", path_str(&errors)?);
        if !config.deny_domains.is_empty() {
            let _ = writeln!(c, "deny_info ERR_ECHO denied_domains");
        }
    }
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
        // WARNINGs (deprecations and the like) vary by version and do not stop Squid.
        .filter(|l| l.contains("FATAL") || l.contains("ERROR"))
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
