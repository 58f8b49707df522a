//! What a client leaves behind: nothing, once it and its runtime are dropped. A service that
//! builds a runtime for a job (a CLI, a batch step, a test) must get every descriptor back — the
//! client keeps request timers and pooled connections between requests, and both are registered
//! with the runtime's driver (an `epoll` descriptor and an `eventfd`), so anything kept outside
//! the client (in a thread-local, say) would hold a dead runtime's driver open.
//!
//! Descriptors are process-wide and the other tests of this binary open sockets all the time,
//! so the check runs in a child process of its own: the test re-runs this binary for itself
//! alone. Linux only: descriptors are counted in `/proc/self/fd`.
#![cfg(target_os = "linux")]

use proxyscope::testing::{ChainMode, TestOrigin, TestPki, TestProxy};

use crate::common::load::{client as proxied_client, open_fds};
use crate::common::servers::{builder, layer};

/// Set in the child process, which runs the check itself.
const CHILD: &str = "PROXYSCOPE_LIFECYCLE_CHILD";

/// One runtime's life: plain HTTP/1.1 to an origin, HTTPS (HTTP/2) to another through a
/// CONNECT proxy — kept timers, pooled connections, TLS sessions — then everything dropped.
fn one_runtime() {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap_or_else(|e| panic!("runtime: {e}"));
    rt.block_on(async {
        let origin = TestOrigin::http().await;
        let client = builder(layer(None)).build().unwrap();
        for path in ["/", "/bytes/100000", "/echo"] {
            let res = client.get(origin.url(path)).send().await.unwrap();
            assert!(res.status().is_success(), "{path}");
            res.bytes().await.unwrap();
        }
        drop(client);
        drop(origin);

        let pki = TestPki::new();
        let proxy = TestProxy::builder().start().await;
        let origin = TestOrigin::https(&pki, pki.localhost(), ChainMode::Full).await;
        let client = proxied_client(&proxy.url(), &pki);
        for path in ["/", "/bytes/100000"] {
            let res = client
                .get(origin.url_with_host("localhost", path))
                .send()
                .await
                .unwrap();
            assert_eq!(res.version(), http::Version::HTTP_2, "{path}");
            res.bytes().await.unwrap();
        }
        drop(client);
        drop(origin);
        drop(proxy);
    });
    drop(rt);
}

#[test]
fn a_dropped_client_and_runtime_leave_no_descriptor_open() {
    if std::env::var_os(CHILD).is_some() {
        // Warm-up on a thread of its own, which then exits: what tokio opens once per process
        // and keeps (its signal driver's socket pair) is opened there, and whatever that thread
        // itself held goes with it. Then runtimes on this thread must each give back all.
        std::thread::spawn(one_runtime)
            .join()
            .unwrap_or_else(|_| panic!("the warm-up thread panicked"));
        let before = open_fds();
        for _ in 0..3 {
            one_runtime();
        }
        let after = open_fds();
        assert_eq!(
            after, before,
            "descriptors left open by three dropped runtimes"
        );
        return;
    }
    let me = std::env::current_exe().unwrap_or_else(|e| panic!("current_exe: {e}"));
    let out = std::process::Command::new(me)
        .args([
            "--exact",
            "client_lifecycle::a_dropped_client_and_runtime_leave_no_descriptor_open",
            "--test-threads=1",
            "--nocapture",
        ])
        .env(CHILD, "1")
        .output()
        .unwrap_or_else(|e| panic!("run the child: {e}"));
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "child failed:\n{stdout}\n{stderr}");
    // The child ran the check, not zero tests.
    assert!(stdout.contains("1 passed"), "child ran no test:\n{stdout}");
}

/// Runs `fut` on this thread, parking it until woken: an executor that is not tokio's, as a
/// caller with a runtime merely entered (`Handle::enter`) may have.
fn park_on<F: std::future::Future>(fut: F) -> F::Output {
    struct Unpark(std::thread::Thread);
    impl std::task::Wake for Unpark {
        fn wake(self: std::sync::Arc<Self>) {
            self.0.unpark();
        }
    }
    let waker = std::task::Waker::from(std::sync::Arc::new(Unpark(std::thread::current())));
    let mut cx = std::task::Context::from_waker(&waker);
    let mut fut = std::pin::pin!(fut);
    loop {
        if let std::task::Poll::Ready(v) = fut.as_mut().poll(&mut cx) {
            return v;
        }
        std::thread::park();
    }
}

/// A request awaited outside the runtime's tasks runs in a task of the runtime entered; when
/// that runtime is dropped under it, the request ends with `http.protocol`, not a hang or a
/// panic.
#[test]
fn a_request_whose_runtime_is_dropped_under_it_ends_with_an_error() {
    // Accepts nothing and answers nothing: the request waits for its answer.
    let silent = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}/", silent.local_addr().unwrap());
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap();
    let handle = rt.handle().clone();
    let _entered = handle.enter();
    let client = builder(layer(None)).build().unwrap();
    let request = client
        .get(&url)
        .timeout(std::time::Duration::from_secs(60))
        .send();
    let dropper = std::thread::spawn(move || {
        std::thread::sleep(std::time::Duration::from_millis(300));
        drop(rt);
    });
    let e = park_on(request).expect_err("its runtime is gone");
    dropper.join().unwrap();
    assert_eq!(e.code(), "http.protocol", "{}", e.report());
    assert_eq!(e.phase(), proxyscope::Phase::Http);
    // Which goes first as the runtime drops its tasks: the request's own task (then the error
    // says the runtime went away, and blames the caller) or the connection's (then the request
    // sees its connection close under it, at the origin hop).
    match e.hop() {
        None => assert_eq!(e.blame(), proxyscope::Blame::LocalConfig),
        Some(hop) => assert_eq!(hop, proxyscope::Hop::Origin, "{}", e.report()),
    }
    drop(silent);
}
