//! Credentials in a proxy URL never appear in an error's Display, Debug, report() or JSON, nor in
//! a route, whatever the failure.

use crate::common::servers::*;
use proxyscope::testing::{Policy, RawServer, Script, TestProxy, refused_addr};

const USER: &str = "sekrit-user";
const PASS: &str = "hunter2-pass";

fn assert_clean(e: &proxyscope::Error) {
    let json = serde_json::to_string(e).unwrap();
    for text in [e.to_string(), format!("{e:?}"), e.report(), json] {
        assert!(!text.contains(PASS), "password leaked: {text}");
        assert!(!text.contains(USER), "user name leaked: {text}");
        // base64("sekrit-user:hunter2-pass") — the Proxy-Authorization value
        assert!(
            !text.contains("c2Vrcml0LXVzZXI6aHVudGVyMi1wYXNz"),
            "auth header leaked: {text}"
        );
    }
}

#[tokio::test]
async fn credentials_never_leak_from_errors() {
    // Rejected credentials (the proxy saw them), an unreachable proxy, and a refusal page.
    let proxy = TestProxy::builder()
        .policy(Policy::require_basic("other", "other", "test"))
        .start()
        .await;
    let server = RawServer::scripted(Script::Reply(squid_reply(
        "403 Forbidden",
        "ERR_ACCESS_DENIED 0",
    )))
    .await;
    let squid = server.addr();
    let refused = refused_addr();
    for addr in [proxy.addr(), squid, refused] {
        let url = format!("http://{USER}:{PASS}@{addr}");
        let client = builder(layer(Some(&url))).build().unwrap();
        let e = client.get("https://origin.test/").await.unwrap_err();
        assert_clean(&e);
    }
    let url = format!("http://{USER}:{PASS}@proxy.invalid:3128");
    let client = builder(layer(Some(&url))).build().unwrap();
    let e = client.get("https://origin.test/").await.unwrap_err();
    assert_eq!(e.code(), "proxy.dns");
    assert_clean(&e);
}

#[tokio::test]
async fn credentials_never_leak_from_absolute_form_status_errors() {
    let server = RawServer::scripted(Script::Reply(squid_reply(
        "403 Forbidden",
        "ERR_ACCESS_DENIED 0",
    )))
    .await;
    let squid = server.addr();
    let url = format!("http://{USER}:{PASS}@{squid}");
    let client = builder(layer(Some(&url))).build().unwrap();
    let r = client.get("http://origin.test/").await.unwrap();
    let route = serde_json::to_string(r.route()).unwrap();
    assert!(!route.contains(PASS));
    let e = r.error_for_status().unwrap_err();
    assert_eq!(e.code(), "proxy.forbidden");
    assert_clean(&e);
}

#[derive(Clone, Default)]
struct Capture(std::sync::Arc<std::sync::Mutex<Vec<u8>>>);

impl std::io::Write for Capture {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[tokio::test]
async fn credentials_never_reach_the_trace_log() {
    let capture = Capture::default();
    let sink = capture.clone();
    // Global, not scoped: a scoped default races with the other tests of this binary over
    // callsite interest, and then records nothing. Their logs land here too, and must be just
    // as free of credentials. New spans are logged so their fields (route, target) are checked.
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::TRACE)
        .with_span_events(tracing_subscriber::fmt::format::FmtSpan::NEW)
        .with_writer(move || sink.clone())
        .finish();
    tracing::subscriber::set_global_default(subscriber).expect("only this test installs one");
    let proxy = TestProxy::builder()
        .policy(Policy::require_basic("other", "other", "test"))
        .start()
        .await;
    let url = format!("http://{USER}:{PASS}@{}", proxy.addr());
    let client = builder(layer(Some(&url))).build().unwrap();
    let e = client.get("https://origin.test/").await.unwrap_err();
    assert_eq!(e.code(), "proxy.auth_rejected");
    let log = String::from_utf8_lossy(&capture.0.lock().unwrap()).into_owned();
    assert!(log.contains("proxy"), "spans were recorded: {log}");
    assert!(!log.contains(PASS) && !log.contains(USER));
    assert!(!log.contains("c2Vrcml0LXVzZXI6aHVudGVyMi1wYXNz"));
}
