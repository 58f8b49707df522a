//! Request headers whose names say they carry a credential (`X-Auth-Token`, `Api-Key`,
//! `X-Goog-Api-Key`, `X-Vault-Token`, …), not only `Authorization` and `Cookie`: a proxy or an
//! origin that echoes them back puts none of their values into an error's evidence, its JSON,
//! its report, or a check result — whether the header was set on the request, as a default
//! header of the client, or on an `http::Request` handed to `execute`.

use proxyscope::probe::{Check, Runner, prometheus, text};
use proxyscope::testing::{RawServer, TestOrigin, read_head};
use proxyscope::{Client, EnvSnapshot, Error, Hop, Phase, ProxySetting, Settings};
use tokio::io::AsyncWriteExt;

/// A value per header name; none of them may be printed.
const HEADERS: &[(&str, &str)] = &[
    ("X-Auth-Token", "tok-SECRET-a1"),
    ("Api-Key", "key-SECRET-b2"),
    ("X-Goog-Api-Key", "goog-SECRET-c3"),
    ("X-Amz-Security-Token", "amz-SECRET-d4"),
    ("X-Vault-Token", "vault-SECRET-e5"),
    ("X-Access-Token", "access-SECRET-f6"),
];

fn assert_clean(label: &str, text: &str) {
    for (_, value) in HEADERS {
        assert!(!text.contains(value), "{label}: `{value}` in\n{text}");
    }
}

fn no_env() -> EnvSnapshot {
    EnvSnapshot::from_pairs(Vec::<(String, String)>::new())
}

/// A forward proxy that refuses every absolute-form request as Squid does, quoting the
/// request's header lines in its `Proxy-Status` details and its reason phrase, as proxies
/// whose error templates echo the request do.
async fn echoing_proxy() -> RawServer {
    RawServer::start(|mut s| async move {
        let Some((head, _)) = read_head(&mut s).await else {
            return;
        };
        let echoed: Vec<&str> = head.lines().skip(1).filter(|l| !l.is_empty()).collect();
        let echoed = echoed.join(", ").replace('"', "'");
        let reply = format!(
            "HTTP/1.1 403 Forbidden ({echoed})\r\nServer: squid/6.10\r\n\
             X-Squid-Error: ERR_ACCESS_DENIED 0\r\n\
             Proxy-Status: squid; error=http_request_denied; details=\"{echoed}\"\r\n\
             Via: 1.1 squid (squid/6.10)\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
        );
        let _ = s.write_all(reply.as_bytes()).await;
    })
    .await
}

fn error_texts(e: &Error) -> Vec<(&'static str, String)> {
    vec![
        ("display", e.to_string()),
        ("debug", format!("{e:?}")),
        ("alternate debug", format!("{e:#?}")),
        ("report", e.report()),
        ("json", serde_json::to_string(e).unwrap()),
        ("evidence", serde_json::to_string(e.evidence()).unwrap()),
    ]
}

#[tokio::test]
async fn a_proxy_echoing_token_headers_puts_none_of_them_in_the_evidence() {
    let proxy = echoing_proxy().await;
    let via = ProxySetting::parse(&proxy.url()).unwrap();
    let c = Client::builder()
        .global(Settings::new().with_proxy(via))
        .env(no_env())
        .build()
        .unwrap();
    let mut req = c.get("http://origin.test:9/v1/items");
    for (name, value) in HEADERS {
        req = req.header(*name, *value);
    }
    let res = req.header("X-Request-Id", "rid-42").send().await.unwrap();
    let e = res.error_for_proxy_reply().unwrap_err();
    assert_eq!(e.code(), "proxy.forbidden");
    assert_eq!(e.hop(), Some(Hop::Proxy));
    assert_eq!(e.phase(), Phase::Http);
    let reply = e
        .evidence()
        .proxy_reply
        .as_ref()
        .expect("the reply is kept");
    assert_eq!(reply.status, 403);
    // The echo is evidence (scrubbed, not dropped): an ordinary header is still quoted.
    assert!(reply.reason.contains("rid-42"), "{}", reply.reason);
    assert!(reply.reason.contains("***"), "{}", reply.reason);
    for (label, text) in error_texts(&e) {
        assert_clean(label, &text);
    }
}

#[tokio::test]
async fn default_and_raw_request_headers_follow_the_same_rule() {
    let proxy = echoing_proxy().await;
    let via = ProxySetting::parse(&proxy.url()).unwrap();
    let mut defaults = http::HeaderMap::new();
    let mut raw = http::Request::get("http://origin.test:9/");
    for (i, (name, value)) in HEADERS.iter().enumerate() {
        // Half as the client's default headers, half on the raw request.
        if i % 2 == 0 {
            defaults.insert(*name, value.parse().unwrap());
        } else {
            raw = raw.header(*name, *value);
        }
    }
    let b = Client::builder()
        .global(Settings::new().with_proxy(via))
        .default_headers(defaults)
        .env(no_env());
    assert_clean("ClientBuilder", &format!("{b:?}"));
    let c = b.build().unwrap();
    let res = c
        .execute(None, raw.body(bytes::Bytes::new()).unwrap())
        .await
        .unwrap();
    let e = res.error_for_status().unwrap_err();
    assert_eq!(e.code(), "proxy.forbidden");
    assert_eq!(e.hop(), Some(Hop::Proxy));
    assert_eq!(e.phase(), Phase::Http);
    for (label, text) in error_texts(&e) {
        assert_clean(label, &text);
    }
}

#[tokio::test]
async fn a_check_against_an_echoing_origin_quotes_no_token_header() {
    let origin = TestOrigin::http().await;
    let url = origin.url("/echo-raw");
    let mut defaults = http::HeaderMap::new();
    for (name, value) in HEADERS {
        defaults.insert(*name, value.parse().unwrap());
    }
    let c = Client::builder()
        .provider("a", &url, Settings::new())
        .default_headers(defaults)
        .env(no_env())
        .build()
        .unwrap();
    // The origin answers with the headers it received: the body expectation fails and keeps
    // an excerpt of them.
    let check = Check::new("a", "body", &url).body_contains("never there");
    let report = Runner::new(c).run(&[check]).await;
    let error = report.checks[0]
        .error
        .as_ref()
        .expect("the expectation fails");
    assert_eq!(error.code(), "http.body");
    assert_eq!(error.hop, Some(Hop::Origin));
    assert_eq!(error.phase, Phase::Http);
    let expected = error.evidence.expected.as_deref().unwrap_or_default();
    assert!(
        expected.contains("***"),
        "the echo is kept, scrubbed: {expected}"
    );
    for (label, text) in [
        ("evidence", serde_json::to_string(&error.evidence).unwrap()),
        ("json", report.to_json().to_string()),
        ("text", text::render(&report, false)),
        ("prometheus", prometheus::render(&report)),
        ("debug", format!("{report:?}")),
    ] {
        assert_clean(label, &text);
    }
}

/// A check whose URL loses the `@` after its host to its `..` segments (a user name with `/` in
/// it, read as the path) is refused as `request.url` before anything is sent, and no form of
/// the report shows the password.
#[tokio::test]
async fn a_check_url_whose_dot_segments_remove_its_at_is_refused_unprinted() {
    let c = Client::builder().env(no_env()).build().unwrap();
    let check = Check::new("a", "c", "https://svc/acct:Zq7Kx@a.test/..");
    let report = Runner::new(c).run(&[check]).await;
    let error = report.checks[0].error.as_ref().expect("refused");
    assert_eq!(error.code(), "request.url");
    assert_eq!(error.phase, Phase::Config);
    for (label, out) in [
        ("json", report.to_json().to_string()),
        ("text", text::render(&report, false)),
        ("prometheus", prometheus::render(&report)),
        ("debug", format!("{report:?}")),
    ] {
        assert!(!out.contains("Zq7Kx"), "{label}: {out}");
    }
}

/// The same URL as a provider's, given to the builder: the client is not built, and its error
/// shows none of the password.
#[test]
fn a_provider_url_whose_dot_segments_remove_its_at_fails_the_build_unprinted() {
    let e = Client::builder()
        .provider(
            "a",
            "https://svc/acct:Zq7Kx@a.test/x/../..",
            Settings::new(),
        )
        .env(no_env())
        .build()
        .expect_err("refused");
    assert_eq!(e.code(), "config.invalid");
    assert_eq!(e.phase(), Phase::Config);
    for out in [
        e.to_string(),
        e.report(),
        format!("{e:?}"),
        serde_json::to_string(&e).unwrap(),
    ] {
        assert!(!out.contains("Zq7Kx"), "{out}");
    }
}
