//! What an origin hands back that is a credential — a session in `Set-Cookie`, userinfo or a
//! token in a redirect's `Location` — is shown by no `Debug` of the response, and no check
//! result (error, JSON, text, Prometheus) quotes it.

use proxyscope::probe::{Check, HeaderExpectation, Runner};
use proxyscope::testing::{RawServer, read_head};
use proxyscope::{Client, EnvSnapshot, Settings};
use tokio::io::AsyncWriteExt;

const PASS: &str = "s3cr3t-pw-XYZ";

/// A server answering every request with `head` (status line and headers, no body).
async fn answering(head: String) -> RawServer {
    RawServer::start(move |mut s| {
        let head = head.clone();
        async move {
            let _ = read_head(&mut s).await;
            let reply = format!("{head}Content-Length: 0\r\nConnection: close\r\n\r\n");
            let _ = s.write_all(reply.as_bytes()).await;
        }
    })
    .await
}

fn client() -> Client {
    client_with(Client::builder())
}

fn client_with(b: proxyscope::ClientBuilder) -> Client {
    b.env(EnvSnapshot::from_pairs(Vec::<(String, String)>::new()))
        .build()
        .unwrap()
}

fn assert_clean(label: &str, text: &str) {
    assert!(!text.contains(PASS), "{label}: {text}");
}

#[tokio::test]
async fn a_check_expecting_a_cookie_does_not_quote_the_session_it_got() {
    let server = answering(format!(
        "HTTP/1.1 200 OK\r\nSet-Cookie: sid={PASS}; HttpOnly\r\n"
    ))
    .await;
    let check = Check::new("a", "login", &server.url())
        .expect_header(HeaderExpectation::containing("set-cookie", "lang="));
    let c = client_with(Client::builder().provider("a", &server.url(), Settings::new()));
    let report = Runner::new(c).run(&[check]).await;
    let result = &report.checks[0];
    let error = result.error.as_ref().expect("the expectation fails");
    assert_eq!(error.code(), "http.body");
    for (label, text) in [
        ("message", error.message.clone()),
        ("hint", error.hint.clone().unwrap_or_default()),
        ("evidence", serde_json::to_string(&error.evidence).unwrap()),
        ("json", report.to_json()),
        ("text", proxyscope::probe::text::render(&report, false)),
        ("prometheus", proxyscope::probe::prometheus::render(&report)),
        ("debug", format!("{report:?}")),
    ] {
        assert_clean(label, &text);
    }
}

#[tokio::test]
async fn a_redirects_location_credentials_are_not_in_the_responses_debug() {
    let server = answering(format!(
        "HTTP/1.1 302 Found\r\nLocation: http://u:{PASS}@other.test/next?token={PASS}\r\nX-Kind: plain\r\n"
    ))
    .await;
    let res = client().get(server.url()).await.unwrap();
    assert_eq!(res.status(), 302);
    for text in [
        format!("{res:?}"),
        format!("{res:#?}"),
        format!("{:?}", res.headers()),
    ] {
        assert_clean("Response", &text);
        assert!(text.contains("x-kind"), "{text}");
    }
    // The value is still there for the caller.
    let location = res.headers()["location"].to_str().unwrap();
    assert!(location.contains(PASS));
}
