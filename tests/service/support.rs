//! What the service's tests share: starting the service in-process on a settings file, calling
//! it over HTTP, capturing its log lines, and telling a socket it closed from an idle one.

use std::io::Write;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bytes::Bytes;
use http::{HeaderMap, Method, Request, StatusCode};
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::Client as HttpClient;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use proxyscope::EnvSnapshot;
use serde_json::Value;

use crate::app;
use crate::app::demo::Demo;
use crate::app::server::Handle;

/// One answer of the service.
pub(crate) struct Answer {
    pub(crate) status: StatusCode,
    pub(crate) headers: HeaderMap,
    pub(crate) text: String,
}

impl Answer {
    pub(crate) fn json(&self) -> Value {
        serde_json::from_str(&self.text).unwrap_or_else(|e| panic!("not JSON ({e}): {}", self.text))
    }
}

pub(crate) struct Caller {
    http: HttpClient<HttpConnector, Full<Bytes>>,
    base: String,
}

impl Caller {
    pub(crate) fn new(handle: &Handle) -> Self {
        Self {
            http: HttpClient::builder(TokioExecutor::new()).build_http(),
            base: handle.url(),
        }
    }

    pub(crate) async fn call(&self, method: Method, path: &str, body: &str) -> Answer {
        let req = Request::builder()
            .method(method)
            .uri(format!("{}{path}", self.base))
            .header("content-type", "application/json")
            .body(Full::new(Bytes::from(body.to_owned())))
            .unwrap();
        let res = self.http.request(req).await.unwrap();
        let status = res.status();
        let headers = res.headers().clone();
        let bytes = res.into_body().collect().await.unwrap().to_bytes();
        Answer {
            status,
            headers,
            text: String::from_utf8_lossy(&bytes).into_owned(),
        }
    }

    pub(crate) async fn get(&self, path: &str) -> Answer {
        self.call(Method::GET, path, "").await
    }

    pub(crate) async fn translate(&self, provider: &str) -> Answer {
        self.call(
            Method::POST,
            &format!("/v1/translate/{provider}"),
            r#"{"q":"hello","langpair":"en|es"}"#,
        )
        .await
    }

    /// `/_health/providers?verbose=1` from a fresh probe run (waits out the cache).
    pub(crate) async fn fresh_health(&self) -> Answer {
        let deadline = Instant::now() + Duration::from_secs(15);
        loop {
            let a = self.get("/_health/providers?verbose=1").await;
            if a.json()["cached"] == false || Instant::now() > deadline {
                return a;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
}

/// Log lines written while a test runs (tracing's fmt layer, no colours).
#[derive(Clone, Default)]
pub(crate) struct Logs(Arc<Mutex<Vec<u8>>>);

impl Logs {
    pub(crate) fn text(&self) -> String {
        String::from_utf8_lossy(&self.0.lock().unwrap()).into_owned()
    }
}

impl Write for Logs {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

pub(crate) fn capture_logs() -> (Logs, tracing::subscriber::DefaultGuard) {
    capture_logs_at(tracing::Level::INFO)
}

pub(crate) fn capture_logs_at(level: tracing::Level) -> (Logs, tracing::subscriber::DefaultGuard) {
    let logs = Logs::default();
    let writer = logs.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_ansi(false)
        .with_writer(move || writer.clone())
        .with_max_level(level)
        .finish();
    // Tests run on a current-thread runtime, so the thread's default reaches every task.
    (logs, tracing::subscriber::set_default(subscriber))
}

pub(crate) async fn start(demo: &Demo) -> Handle {
    start_file(demo.config_path()).await
}

pub(crate) async fn start_file(path: &Path) -> Handle {
    let env = EnvSnapshot::default();
    let settings = match app::settings::load(path, &env) {
        Ok(s) => s,
        Err(invalid) => panic!("demo settings invalid: {:#?}", invalid.diagnostics),
    };
    match app::start(settings, env, None).await {
        Ok(h) => h,
        Err(e) => panic!("service did not start: {e}"),
    }
}

pub(crate) fn provider<'a>(health: &'a Value, name: &str) -> &'a Value {
    health["providers"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["name"] == name)
        .unwrap_or_else(|| panic!("no provider {name} in {health}"))
}

/// Starts the service on the demo's settings with `server` lines added to `[server]` and each
/// `(from, to)` replacement applied (each must match), written next to the demo's file.
pub(crate) async fn start_with(demo: &Demo, server: &str, replace: &[(&str, &str)]) -> Handle {
    let mut text =
        demo.settings_text("1s")
            .replacen("[server]\n", &format!("[server]\n{server}\n"), 1);
    for (from, to) in replace {
        assert!(text.contains(from), "{from:?} is not in the demo settings");
        text = text.replacen(from, to, 1);
    }
    let path = demo.dir().join(format!("variant-{}.toml", unique()));
    std::fs::write(&path, text).expect("write the settings variant");
    start_file(&path).await
}

fn unique() -> usize {
    static NEXT: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed)
}

/// Whether a non-blocking socket has been closed by the service (EOF or reset); `false` while
/// it is open and silent.
pub(crate) fn is_closed(s: &std::net::TcpStream) -> bool {
    let mut buf = [0u8; 512];
    match std::io::Read::read(&mut &*s, &mut buf) {
        Ok(0) => true,
        Ok(_) => panic!("an idle socket got an answer it never asked for"),
        Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => false,
        Err(_) => true,
    }
}
