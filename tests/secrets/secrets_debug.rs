//! `Debug` of the public values that hold a secret as the user gave it — a provider's base URL,
//! a configuration document's raw values, a check's URL, a builder's proxy headers, a response's
//! `Set-Cookie` — prints no form of it, in `{:?}` or `{:#?}`.

use proxyscope::{Client, EnvSnapshot, Settings};

const PASS: &str = "s3cr3t-pw-XYZ";

/// Both `Debug` forms of `value` hold no trace of `PASS`, and still show `shows` (so the test
/// looked at the right value).
fn assert_clean(label: &str, value: &impl std::fmt::Debug, shows: &str) {
    for text in [format!("{value:?}"), format!("{value:#?}")] {
        assert!(!text.contains(PASS), "{label}: {text}");
        assert!(text.contains(shows), "{label} should show {shows}: {text}");
    }
}

fn no_env() -> EnvSnapshot {
    EnvSnapshot::from_pairs(Vec::<(String, String)>::new())
}

#[test]
fn a_provider_handle_hides_its_base_urls_credentials_and_keys() {
    let c = Client::builder()
        .provider(
            "a",
            &format!("https://u:{PASS}@a.test/v1?key={PASS}"),
            Settings::new(),
        )
        .env(no_env())
        .build()
        .unwrap();
    assert_clean("ProviderHandle", &c.provider("a").unwrap(), "a.test/v1");
}

#[test]
fn a_configuration_document_hides_the_values_it_read() {
    let doc = proxyscope::config::ConfigDocument::from_toml_str(
        &format!(
            "proxy = \"http://u:{PASS}@p.test:1\"\n[providers.a]\nurl = \"https://a.test/?token={PASS}\"\n"
        ),
        "doc.toml",
    );
    assert_clean("ConfigDocument", &doc, "doc.toml");
}

#[test]
fn a_check_hides_its_urls_credentials_and_keys() {
    let check =
        proxyscope::probe::Check::new("a", "n", &format!("https://u:{PASS}@a.test/x?key={PASS}"));
    assert_clean("Check", &check, "a.test/x");
}

#[test]
fn a_builders_credential_proxy_headers_are_sensitive() {
    let b = Client::builder()
        .proxy_header("Cookie", &format!("sid={PASS}"))
        .proxy_header("X-Proxy-Token", PASS)
        .proxy_header("X-Egress-Zone", "eu-1");
    // The header the layer's rule calls credentials are masked, the others shown.
    assert_clean("ClientBuilder", &b, "eu-1");
}

#[tokio::test]
async fn a_responses_set_cookie_is_sensitive() {
    use proxyscope::testing::{RawServer, read_head};
    use tokio::io::AsyncWriteExt;
    let server = RawServer::start(|mut s| async move {
        let _ = read_head(&mut s).await;
        let reply = format!(
            "HTTP/1.1 200 OK\r\nSet-Cookie: sid={PASS}; HttpOnly\r\nX-Kind: plain\r\nContent-Length: 0\r\n\r\n"
        );
        let _ = s.write_all(reply.as_bytes()).await;
    })
    .await;
    let c = Client::builder().env(no_env()).build().unwrap();
    let res = c.get(server.url()).await.unwrap();
    assert_clean("Response", &res, "x-kind");
    assert_clean("Response headers", res.headers(), "x-kind");
    // The value is still there for the caller.
    let cookie = res.headers()["set-cookie"].to_str().unwrap();
    assert!(cookie.contains(PASS));
}

/// A token an origin hands out in a header of its own (OpenStack Keystone's `X-Subject-Token`,
/// a login's `X-Auth-Token`) is as secret as a `Set-Cookie`; a challenge is not.
#[tokio::test]
async fn a_responses_token_headers_are_sensitive() {
    use proxyscope::testing::{RawServer, read_head};
    use tokio::io::AsyncWriteExt;
    let server = RawServer::start(|mut s| async move {
        let _ = read_head(&mut s).await;
        let reply = format!(
            "HTTP/1.1 201 Created\r\nX-Subject-Token: {PASS}\r\nX-Auth-Token: {PASS}\r\n\
             WWW-Authenticate: Bearer realm=\"kx\"\r\nX-Kind: plain\r\nContent-Length: 0\r\n\r\n"
        );
        let _ = s.write_all(reply.as_bytes()).await;
    })
    .await;
    let c = Client::builder().env(no_env()).build().unwrap();
    let res = c.get(server.url()).await.unwrap();
    assert_clean("Response", &res, "x-kind");
    assert_clean("Response headers", res.headers(), "realm");
    // The value is still there for the caller.
    assert_eq!(res.headers()["x-subject-token"].to_str().unwrap(), PASS);
}
