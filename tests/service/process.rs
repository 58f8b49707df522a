//! The service binary as an operator runs it: SIGTERM and SIGINT stop it cleanly and remove
//! the demo's temporary files (the settings file with the mock proxy's password, the test PKI's
//! private keys); when the process runs out of file descriptors it closes its oldest idle
//! connections one per descriptor it needs, backs off, logs one line per interval, and keeps
//! answering.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

use rustix::process::{Pid, Signal, kill_process};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;
use tokio::process::{Child, Command};

use crate::common::probe::{example_bin_with, without_route_vars};
use crate::common::wire::{Body, read_response};
use crate::support::is_closed;

/// The service started in demo mode, with what it printed at startup.
struct Running {
    child: Child,
    url: String,
    settings: PathBuf,
}

/// The first line of `stdout` that starts with `prefix`, without it.
async fn line_after<R: tokio::io::AsyncBufRead + Unpin>(lines: &mut R, prefix: &str) -> String {
    let mut line = String::new();
    loop {
        line.clear();
        let n = lines.read_line(&mut line).await.expect("read stdout");
        assert!(n > 0, "the service exited before printing {prefix:?}");
        if let Some(rest) = line.trim_end().strip_prefix(prefix) {
            return rest.to_owned();
        }
    }
}

/// `program args`, with the service's output piped, logs at WARN without colour, and no
/// proxy or config variables inherited from the test's environment.
fn command(program: &Path, args: &[&str]) -> Command {
    let mut cmd = Command::new(program);
    without_route_vars(&mut cmd)
        .args(args)
        .env("RUST_LOG", "warn")
        .env("NO_COLOR", "1")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true);
    cmd
}

async fn start_demo() -> Running {
    let mut child = command(&service_bin(), &[])
        .spawn()
        .expect("start translation_service");
    let stdout = child.stdout.take().expect("stdout");
    let mut lines = BufReader::new(stdout);
    let startup = async {
        let url = line_after(&mut lines, "translation_service listening on ").await;
        let settings = PathBuf::from(line_after(&mut lines, "settings: ").await);
        (url, settings)
    };
    let (url, settings) = tokio::time::timeout(Duration::from_secs(30), startup)
        .await
        .expect("the service started within 30 s");
    // Keep draining stdout so the service never blocks on a full pipe.
    tokio::spawn(async move {
        let mut rest = Vec::new();
        let _ = lines.read_to_end(&mut rest).await;
    });
    Running {
        child,
        url,
        settings,
    }
}

/// The directory of the `ca_file` the demo's settings name: the test PKI's.
/// The service binary of this version: its `--help` describes the shutdown on SIGTERM.
fn service_bin() -> PathBuf {
    example_bin_with("translation_service", "SIGTERM")
}

fn pki_dir(settings: &Path) -> PathBuf {
    let text = std::fs::read_to_string(settings).expect("read the demo settings");
    let line = text
        .lines()
        .find(|l| l.starts_with("ca_file = "))
        .expect("the demo settings name a ca_file");
    let value: toml::Value = toml::from_str(line).expect("a TOML line");
    let path = PathBuf::from(value["ca_file"].as_str().expect("a path"));
    path.parent().expect("a directory").to_path_buf()
}

fn signal(child: &Child, sig: Signal) {
    let pid = child
        .id()
        .and_then(|id| Pid::from_raw(i32::try_from(id).ok()?))
        .expect("the service is running");
    kill_process(pid, sig).expect("send the signal");
}

async fn get(url: &str, path: &str) -> u16 {
    let addr = url.trim_start_matches("http://");
    let mut s = TcpStream::connect(addr).await.expect("connect");
    s.write_all(format!("GET {path} HTTP/1.1\r\nhost: svc\r\n\r\n").as_bytes())
        .await
        .expect("write");
    read_response(&mut s, Body::ByLength).await.status
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_and_sigint_stop_it_and_remove_the_temporary_files() {
    for (sig, name) in [(Signal::TERM, "SIGTERM"), (Signal::INT, "SIGINT")] {
        let mut svc = start_demo().await;
        let dir = svc
            .settings
            .parent()
            .expect("the settings file is in a directory")
            .to_path_buf();
        let pki = pki_dir(&svc.settings);
        assert!(svc.settings.is_file() && pki.join("root.pem").is_file());
        let keys = std::fs::read_dir(&pki)
            .expect("list the PKI")
            .filter(|e| {
                e.as_ref()
                    .is_ok_and(|e| e.file_name().to_string_lossy().ends_with(".key.pem"))
            })
            .count();
        assert!(keys > 0, "the PKI directory holds private keys");
        // Serving, with a connection open while the signal arrives.
        assert_eq!(get(&svc.url, "/_info").await, 200);
        let _open = TcpStream::connect(svc.url.trim_start_matches("http://"))
            .await
            .expect("connect");

        signal(&svc.child, sig);
        let status = tokio::time::timeout(Duration::from_secs(20), svc.child.wait())
            .await
            .unwrap_or_else(|_| panic!("still running 20 s after {name}"))
            .expect("wait");
        assert_eq!(status.code(), Some(0), "{name}");
        assert!(!dir.exists(), "{name} left {}", dir.display());
        assert!(!pki.exists(), "{name} left {}", pki.display());
    }
}

/// The service's descriptor limit in the test below, and the connections it opens.
const LIMIT: u32 = 64;
const HELD: usize = 150;

/// How many descriptors the process `pid` has open below [`LIMIT`]: the ones the limit
/// counts (an inherited descriptor may have a higher number).
fn descriptors(pid: u32) -> usize {
    std::fs::read_dir(format!("/proc/{pid}/fd"))
        .expect("list the service's descriptors")
        .filter_map(|entry| entry.ok()?.file_name().to_str()?.parse::<u32>().ok())
        .filter(|&fd| fd < LIMIT)
        .count()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn out_of_descriptors_it_backs_off_logs_once_and_keeps_answering() {
    let dir = tempfile::tempdir().expect("temp dir");
    let settings = dir.path().join("service.toml");
    std::fs::write(
        &settings,
        "[server]\nlisten = \"127.0.0.1:0\"\nmax_connections = 1000\nheader_timeout = \"60s\"\n\
         [proxyscope.providers.local]\nurl = \"http://127.0.0.1:9\"\nproxy = \"direct\"\n",
    )
    .expect("write settings");
    // A shell lowers the descriptor limit for the service alone; `exec` keeps the pid.
    let bin = service_bin();
    let script = format!(
        "ulimit -n {LIMIT} && exec '{}' --config '{}'",
        bin.display(),
        settings.display()
    );
    let mut child = command(Path::new("sh"), &["-c", &script])
        .spawn()
        .expect("start the service under ulimit");
    let stdout = child.stdout.take().expect("stdout");
    let mut lines = BufReader::new(stdout);
    let url = tokio::time::timeout(
        Duration::from_secs(30),
        line_after(&mut lines, "translation_service listening on "),
    )
    .await
    .expect("started within 30 s");
    let addr = url.trim_start_matches("http://").to_owned();
    let pid = child.id().expect("the service is running");
    let before = descriptors(pid);

    // Far more sockets than descriptors: accept fails with EMFILE again and again.
    let mut held = Vec::new();
    for _ in 0..HELD {
        let stream = TcpStream::connect(&addr).await.expect("connect");
        held.push(stream.into_std().expect("a std socket"));
    }
    // Each failure closes one idle connection, the oldest, and accepts again once its socket
    // is dropped: the newest connections stay open in every descriptor but the one kept free
    // (accept fails without one even when nobody waits). Closing one per failure without
    // waiting for the drop closes many more, in a burst that can reach a connection accepted
    // a moment before with its request unread.
    let stays_open = usize::try_from(LIMIT - 1).expect("small") - before;
    let deadline = Instant::now() + Duration::from_secs(10);
    let closed_now = || -> Vec<usize> { (0..HELD).filter(|&i| is_closed(&held[i])).collect() };
    while HELD - closed_now().len() != stays_open && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    // And it stays there: a burst would pass through that count on its way further down.
    tokio::time::sleep(Duration::from_millis(300)).await;
    let closed = closed_now();
    assert_eq!(
        HELD - closed.len(),
        stays_open,
        "connections left open with {before} descriptors in use before; {} in use after",
        descriptors(pid)
    );
    assert_eq!(closed, (0..closed.len()).collect::<Vec<_>>(), "the oldest");
    let started = Instant::now();
    let status = tokio::time::timeout(Duration::from_secs(10), get(&url, "/_info"))
        .await
        .expect("/_info answered within 10 s while out of descriptors");
    assert_eq!(status, 200);
    assert!(started.elapsed() < Duration::from_secs(10));

    signal(&child, Signal::TERM);
    let mut stderr = child.stderr.take().expect("stderr");
    let mut log = String::new();
    tokio::time::timeout(Duration::from_secs(20), stderr.read_to_string(&mut log))
        .await
        .expect("the service exited")
        .expect("read stderr");
    let status = child.wait().await.expect("wait");
    assert_eq!(status.code(), Some(0), "{log}");
    let failures: Vec<&str> = log
        .lines()
        .filter(|l| l.contains("accept failed"))
        .collect();
    // The run is shorter than the 10 s log interval: one line, however many failures.
    assert_eq!(failures.len(), 1, "{log}");
    assert!(failures[0].contains("out_of_fds=true"), "{log}");
    drop(held);
}
