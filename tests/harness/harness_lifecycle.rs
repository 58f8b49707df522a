//! Handles own their servers: dropping every handle (or `shutdown().await`) closes every listener
//! and connection, so the old ports refuse connections and the process's file descriptor count
//! returns to where it was. The descriptor count is process-wide and the other tests of this
//! binary run in parallel, so the test re-runs itself alone in a child process of the same binary.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use proxyscope::testing::{ChainMode, TestOrigin, TestPki, TestProxy};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

fn open_fds() -> usize {
    std::fs::read_dir("/proc/self/fd")
        .map(|d| d.count())
        .unwrap_or(0)
}

async fn is_refused(addr: SocketAddr) -> bool {
    matches!(
        TcpStream::connect(addr).await,
        Err(e) if e.kind() == std::io::ErrorKind::ConnectionRefused
    )
}

/// Waits (up to 5 s) until every address refuses and the fd count is back to `baseline`.
async fn settle(addrs: &[SocketAddr], baseline: usize) -> (Vec<SocketAddr>, usize) {
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let mut still_open = Vec::new();
        for addr in addrs {
            if !is_refused(*addr).await {
                still_open.push(*addr);
            }
        }
        let fds = open_fds();
        if (still_open.is_empty() && fds <= baseline) || Instant::now() > deadline {
            return (still_open, fds);
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Set in the child process that runs the lifecycle test alone.
const ALONE: &str = "PROXYSCOPE_LIFECYCLE_ALONE";

/// Runs `test` (a function of this module) alone in a child process of this test binary and
/// asserts that exactly that one test ran and passed.
fn run_alone(test: &str) {
    // `module_path!()` is `harness::harness_lifecycle`; libtest names tests without the crate.
    let module = module_path!().split_once("::").map_or("", |(_, m)| m);
    let name = format!("{module}::{test}");
    let exe = std::env::current_exe().expect("the test binary knows its path");
    let out = std::process::Command::new(exe)
        .args([name.as_str(), "--exact", "--test-threads=1"])
        .env(ALONE, "1")
        .output()
        .expect("the test binary runs");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success() && stdout.contains("1 passed"),
        "{name} alone: {}\n{stdout}\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
}

#[tokio::test]
async fn dropping_or_shutting_down_every_handle_leaves_no_socket_behind() {
    if std::env::var_os(ALONE).is_none() {
        run_alone("dropping_or_shutting_down_every_handle_leaves_no_socket_behind");
        return;
    }
    let pki = TestPki::new();
    // Warm up lazily created runtime resources so they are part of the baseline.
    drop(TestOrigin::http().await);
    tokio::time::sleep(Duration::from_millis(50)).await;
    let baseline = open_fds();

    let http = TestOrigin::http().await;
    let https = TestOrigin::https(&pki, pki.localhost(), ChainMode::Full).await;
    let proxy = TestProxy::builder()
        .tls(&pki, pki.localhost())
        .socks5()
        .intercept(&pki)
        .start()
        .await;
    let addrs = vec![
        http.addr(),
        https.addr(),
        proxy.addr(),
        proxy.https_addr().expect("https listener"),
        proxy.socks5_addr().expect("socks listener"),
    ];
    assert!(open_fds() > baseline, "listeners are open");

    // Live connections: a keep-alive request to the origin and an open (idle) CONNECT tunnel.
    let mut to_origin = TcpStream::connect(http.addr()).await.expect("origin");
    to_origin
        .write_all(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
        .await
        .expect("write");
    let mut buf = [0u8; 64];
    assert!(to_origin.read(&mut buf).await.expect("read") > 0);
    let mut tunnel = TcpStream::connect(proxy.addr()).await.expect("proxy");
    tunnel
        .write_all(format!("CONNECT {} HTTP/1.1\r\nHost: x\r\n\r\n", http.addr()).as_bytes())
        .await
        .expect("write");
    assert!(tunnel.read(&mut buf).await.expect("read") > 0);

    drop(http);
    drop(https);
    drop(proxy);
    // The server side of our connections is gone: both see EOF.
    // (EOF or reset, depending on timing; what matters is that it ends.)
    for stream in [&mut to_origin, &mut tunnel] {
        let _eof_or_reset =
            tokio::time::timeout(Duration::from_secs(5), stream.read_to_end(&mut Vec::new()))
                .await
                .expect("the server side closed the connection");
    }
    drop(to_origin);
    drop(tunnel);
    let (still_open, fds) = settle(&addrs, baseline).await;
    assert!(still_open.is_empty(), "still accepting on {still_open:?}");
    assert!(
        fds <= baseline,
        "fd count {fds} did not return to {baseline}"
    );

    // shutdown().await is deterministic: the port refuses as soon as it returns.
    let origin = TestOrigin::http().await;
    let proxy = TestProxy::builder().socks5().start().await;
    let (o, p, s) = (
        origin.addr(),
        proxy.addr(),
        proxy.socks5_addr().expect("socks"),
    );
    origin.shutdown().await;
    proxy.shutdown().await;
    for addr in [o, p, s] {
        assert!(
            is_refused(addr).await,
            "{addr} refused right after shutdown"
        );
    }
    assert!(
        open_fds() <= baseline,
        "fds back to baseline after shutdown"
    );
}
