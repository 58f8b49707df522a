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

/// A login's one-time credential in a redirect's query — a CAS service ticket, an OAuth 2.0
/// authorization code, a SAML artifact — buys a session like a token does: the `Location`
/// holding one prints `Sensitive`, and the caller still reads it.
#[tokio::test]
async fn a_redirect_carrying_a_login_ticket_or_code_is_not_in_the_responses_debug() {
    for query in [
        format!("service=app&ticket={PASS}"),
        format!("code={PASS}&state=s1"),
        format!("SAMLart={PASS}"),
    ] {
        let server = answering(format!(
            "HTTP/1.1 302 Found\r\nLocation: http://app.test/cb?{query}\r\nX-Kind: plain\r\n"
        ))
        .await;
        let res = client().get(server.url()).await.unwrap();
        assert_eq!(res.status(), 302);
        for text in [format!("{res:?}"), format!("{:?}", res.headers())] {
            assert_clean(&query, &text);
            assert!(text.contains("x-kind"), "{text}");
        }
        let location = res.headers()["location"].to_str().unwrap();
        assert!(location.contains(PASS));
    }
}

/// A proxy's login portal redirects with a token of its own in the `Location` and in the link
/// of its page: no request secret matches it, so only its structure can hide it.
#[tokio::test]
async fn a_proxys_login_redirect_keeps_its_token_out_of_the_evidence() {
    use proxyscope::testing::{CannedReply, Policy, TestProxy};
    use proxyscope::{ProxySetting, Settings};
    let proxy = TestProxy::builder()
        .policy(Policy::Reply(CannedReply::login_redirect(&format!(
            "http://login.corp.test/?token={PASS}&u=1"
        ))))
        .start()
        .await;
    let via = ProxySetting::parse(&format!("http://{}", proxy.addr())).unwrap();
    let c = client_with(Client::builder().global(Settings::new().with_proxy(via)));
    // CONNECT, and absolute-form (the reply the proxy wrote itself).
    for url in ["https://localhost:9/", "http://localhost:9/"] {
        let e = match c.get(url).await.and_then(|r| r.error_for_proxy_reply()) {
            Ok(r) => panic!("a login redirect is the proxy's: {}", r.status()),
            Err(e) => e,
        };
        assert_eq!(e.code(), "proxy.refused", "{url}");
        let reply = e
            .evidence()
            .proxy_reply
            .as_ref()
            .expect("the reply is kept");
        assert_eq!(reply.status, 302);
        let location = reply
            .headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case("location"))
            .map(|(_, v)| v.as_str())
            .expect("Location is evidence");
        assert!(
            location.starts_with("http://login.corp.test/"),
            "{location}"
        );
        for text in [
            e.to_string(),
            format!("{e:?}"),
            format!("{e:#?}"),
            e.report(),
            serde_json::to_string(&e).unwrap(),
        ] {
            assert_clean(url, &text);
        }
    }
}
