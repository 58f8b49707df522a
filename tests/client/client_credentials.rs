//! Credentials outside URLs against the harness: `proxy_auth` with the password in an
//! environment variable or a file (present, missing, empty) on CONNECT and absolute-form, its
//! precedence over the URL's credentials, a provider's `auth` (Bearer, Basic) sent only to its
//! own origin, and per-provider `proxy_headers`. Every failure asserts code, setting, where the
//! secret was looked for and the diagnostic code.

use std::time::Duration;

use proxyscope::credentials::{OriginAuth, ProxyAuth, SecretSource};
use proxyscope::testing::{Policy, TestOrigin, TestProxy, basic_auth};
use proxyscope::{Client, EnvSnapshot, Error, Phase, ProxySetting, Settings};

const USER: &str = "svc-egress";
const PASS: &str = "pr0xy-p4ss";

fn via(proxy: &str) -> Settings {
    Settings::new()
        .with_proxy(ProxySetting::parse(proxy).unwrap())
        .with_timeout(Phase::Connect, Duration::from_secs(2))
        .with_timeout(Phase::Proxy, Duration::from_secs(2))
        .with_timeout(Phase::Http, Duration::from_secs(3))
}

fn env(pairs: &[(&str, &str)]) -> EnvSnapshot {
    EnvSnapshot::from_pairs(pairs.iter().copied())
}

async fn authenticated_proxy() -> TestProxy {
    TestProxy::builder()
        .policy(Policy::require_basic(USER, PASS, "egress"))
        .start()
        .await
}

fn build(global: Settings, env: EnvSnapshot) -> Result<Client, Error> {
    Client::builder().global(global).env(env).build()
}

/// Asserts a credential error: `config.invalid` naming the setting, the source, the code.
fn assert_credential_error(e: &Error, setting: &str, looked_in: &str, code: &str) {
    assert_eq!(e.code(), "config.invalid", "{}", e.report());
    assert_eq!(e.hop(), None);
    assert_eq!(e.phase(), Phase::Config);
    assert_eq!(e.evidence().setting.as_deref(), Some(setting));
    assert_eq!(e.evidence().value.as_deref(), Some(looked_in));
    let d = &e.evidence().diagnostics;
    assert_eq!(d.len(), 1, "{d:?}");
    assert_eq!(d[0].code, code);
    assert_eq!(d[0].path, setting);
    assert!(
        e.hint().is_some_and(|h| h.contains(setting)),
        "{:?}",
        e.hint()
    );
}

#[tokio::test]
async fn proxy_auth_from_the_environment_authenticates_connect_and_absolute_form() {
    let proxy = authenticated_proxy().await;
    let origin = TestOrigin::http().await;
    let layer = via(&proxy.url())
        .with_proxy_auth(ProxyAuth::new(USER, SecretSource::env("EGRESS_PASSWORD")));
    let client = build(layer, env(&[("EGRESS_PASSWORD", PASS)])).unwrap();

    // Plain http: absolute-form, the credentials on the request itself.
    let res = client.get(origin.url("/")).await.unwrap();
    assert_eq!(res.status(), 200);
    // https:// is not served by this origin; a tunnel to it is enough to see CONNECT's header.
    let tunnel = client
        .diagnose(None, &origin.url("/").replace("http://", "https://"))
        .await;
    assert!(tunnel.is_err()); // the origin does not speak TLS
    let seen = proxy.requests();
    let want = basic_auth(USER, PASS);
    assert_eq!(seen.len(), 2, "{seen:?}");
    for r in &seen {
        let got = r
            .headers
            .get("proxy-authorization")
            .map(|v| v.to_str().unwrap_or(""));
        assert_eq!(got, Some(want.as_str()), "{} {}", r.method, r.target);
    }
    assert_eq!(seen[1].method, "CONNECT");
    assert_eq!(tunnel.unwrap_err().code(), "tls.handshake");
}

#[tokio::test]
async fn proxy_auth_from_a_file_drops_one_trailing_newline() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("egress.pw");
    std::fs::write(&file, format!("{PASS}\n")).unwrap();
    let proxy = authenticated_proxy().await;
    let origin = TestOrigin::http().await;
    let layer = via(&proxy.url()).with_proxy_auth(ProxyAuth::new(USER, SecretSource::file(&file)));
    let res = build(layer, env(&[]))
        .unwrap()
        .get(origin.url("/"))
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
}

#[tokio::test]
async fn proxy_auth_wins_over_credentials_in_the_proxy_url() {
    let proxy = authenticated_proxy().await;
    let origin = TestOrigin::http().await;
    let stale = proxy.url_with_credentials(USER, "old-password");
    let layer = via(&stale).with_proxy_auth(ProxyAuth::new(USER, SecretSource::value(PASS)));
    let res = build(layer, env(&[]))
        .unwrap()
        .get(origin.url("/"))
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    // Without proxy_auth the URL's (stale) password is sent, and the proxy says so.
    let res = build(via(&stale), env(&[]))
        .unwrap()
        .get(origin.url("/"))
        .await
        .unwrap();
    assert_eq!(res.status(), 407);
    assert_eq!(res.attribution().source, proxyscope::Hop::Proxy);
}

#[tokio::test]
async fn missing_or_empty_secrets_fail_at_build_naming_the_setting() {
    let dir = tempfile::tempdir().unwrap();
    let empty = dir.path().join("empty.pw");
    std::fs::write(&empty, "\n").unwrap();
    let absent = dir.path().join("absent.pw");
    let unset = ProxyAuth::new(USER, SecretSource::env("EGRESS_PASSWORD"));
    let layer = via("http://proxy.test:3128");

    let e = build(layer.clone().with_proxy_auth(unset.clone()), env(&[])).unwrap_err();
    assert_credential_error(
        &e,
        "proxy_auth.password_env",
        "env:EGRESS_PASSWORD",
        "credentials.unset",
    );
    let e = build(
        layer.clone().with_proxy_auth(unset),
        env(&[("EGRESS_PASSWORD", "")]),
    )
    .unwrap_err();
    assert_credential_error(
        &e,
        "proxy_auth.password_env",
        "env:EGRESS_PASSWORD",
        "credentials.empty",
    );
    let by_file = |p: &std::path::Path| ProxyAuth::new(USER, SecretSource::file(p));
    let e = build(layer.clone().with_proxy_auth(by_file(&absent)), env(&[])).unwrap_err();
    let looked = format!("file:{}", absent.display());
    assert_credential_error(
        &e,
        "proxy_auth.password_file",
        &looked,
        "credentials.missing",
    );
    assert_eq!(e.evidence().file, Some(absent.display().to_string()));
    let e = build(layer.clone().with_proxy_auth(by_file(&empty)), env(&[])).unwrap_err();
    let looked = format!("file:{}", empty.display());
    assert_credential_error(&e, "proxy_auth.password_file", &looked, "credentials.empty");
    let e = build(layer.with_proxy_auth(by_file(dir.path())), env(&[])).unwrap_err();
    assert_eq!(e.evidence().diagnostics[0].code, "credentials.unreadable");

    // A provider's own secret names the provider's key.
    let e = Client::builder()
        .global(via("http://proxy.test:3128"))
        .provider(
            "partner",
            "https://partner.test",
            Settings::new().with_auth(OriginAuth::bearer(SecretSource::env("PARTNER_TOKEN"))),
        )
        .env(env(&[]))
        .build()
        .unwrap_err();
    assert_credential_error(
        &e,
        "providers.partner.auth.bearer_env",
        "env:PARTNER_TOKEN",
        "credentials.unset",
    );
}

#[tokio::test]
async fn a_providers_auth_goes_to_its_origin_only() {
    let origin = TestOrigin::http().await;
    let other = TestOrigin::http().await;
    let base = origin.url("");
    let client = Client::builder()
        .global(Settings::new().with_proxy(ProxySetting::Direct))
        .provider(
            "partner",
            &base,
            Settings::new().with_auth(OriginAuth::bearer(SecretSource::env("PARTNER_TOKEN"))),
        )
        .provider(
            "legacy",
            &other.url("/v1"),
            Settings::new().with_auth(OriginAuth::basic("api", SecretSource::value("b4sic"))),
        )
        .env(env(&[("PARTNER_TOKEN", "t0ken-abc")]))
        .build()
        .unwrap();
    assert_eq!(client.get(origin.url("/echo")).await.unwrap().status(), 200);
    assert_eq!(client.get(other.url("/v1/x")).await.unwrap().status(), 404);
    // The partner's profile asked for another host: no credentials travel there.
    let req = http::Request::get(other.url("/"))
        .body(Vec::<u8>::new())
        .unwrap();
    client.execute(Some("partner"), req).await.unwrap();

    let auth = |o: &TestOrigin, i: usize| {
        o.requests()[i]
            .headers
            .get("authorization")
            .map(|v| v.to_str().unwrap_or("").to_owned())
    };
    assert_eq!(auth(&origin, 0).as_deref(), Some("Bearer t0ken-abc"));
    assert_eq!(auth(&other, 0), Some(basic_auth("api", "b4sic")));
    assert_eq!(auth(&other, 1), None);
}

#[tokio::test]
async fn proxy_headers_are_per_provider_over_the_builders() {
    let proxy = TestProxy::allow_all().await;
    let origin = TestOrigin::http().await;
    let client = Client::builder()
        .global(via(&proxy.url()).with_proxy_header("X-Egress-Tag", "global"))
        .provider(
            "tagged",
            &origin.url("/tagged"),
            Settings::new().with_proxy_header("X-Egress-Tag", "tagged"),
        )
        .proxy_header("X-Service", "translation")
        .env(env(&[]))
        .build()
        .unwrap();
    client.get(origin.url("/tagged/a")).await.unwrap();
    client.get(origin.url("/other")).await.unwrap();
    let seen = proxy.requests();
    let values = |i: usize, name: &str| -> Vec<String> {
        seen[i]
            .headers
            .get_all(name)
            .iter()
            .map(|v| v.to_str().unwrap_or("").to_owned())
            .collect()
    };
    assert_eq!(values(0, "x-egress-tag"), ["tagged"]);
    assert_eq!(values(1, "x-egress-tag"), ["global"]);
    assert_eq!(values(0, "x-service"), ["translation"]);
    assert_eq!(values(1, "x-service"), ["translation"]);
}

#[tokio::test]
async fn credentials_from_a_config_file_resolve_against_its_directory() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("egress.pw"), PASS).unwrap();
    let proxy = authenticated_proxy().await;
    let origin = TestOrigin::http().await;
    let toml = format!(
        "proxy = \"{}\"\nproxy_auth = {{ username = \"{USER}\", password_file = \"egress.pw\" }}\n\
         [providers.partner]\nurl = \"{}\"\nauth = {{ bearer_env = \"PARTNER_TOKEN\" }}\n\
         proxy_headers = {{ \"X-Egress-Tag\" = \"partner\" }}\n",
        proxy.url(),
        origin.url("")
    );
    let path = dir.path().join("proxyscope.toml");
    std::fs::write(&path, &toml).unwrap();
    let config = proxyscope::Config::from_file(&path).unwrap();
    let rows = config.settings(Some("partner")).unwrap();
    let row = |k: &str| rows.iter().find(|r| r.key == k).unwrap().clone();
    assert_eq!(
        row("proxy_auth").value,
        format!(
            "username {USER}, password from file:{}",
            dir.path().join("egress.pw").display()
        )
    );
    assert!(matches!(
        row("proxy_auth").origin,
        proxyscope::Provenance::File { line: 2, .. }
    ));
    assert_eq!(row("auth").value, "bearer: token from env:PARTNER_TOKEN");
    assert_eq!(row("proxy_headers").value, "{X-Egress-Tag: partner}");

    // Lint with the environment reports the unset variable before anything is built.
    let findings = config.lint(&env(&[]));
    let unset = findings
        .iter()
        .find(|d| d.code == "credentials.unset")
        .unwrap_or_else(|| panic!("{findings:?}"));
    assert_eq!(unset.path, "providers.partner.auth");
    assert!(
        unset
            .location
            .as_deref()
            .is_some_and(|l| l.ends_with(":5:1")),
        "{unset:?}"
    );

    let client = Client::builder_from_config(&config)
        .env(env(&[("PARTNER_TOKEN", "t0ken")]))
        .build()
        .unwrap();
    assert_eq!(client.get(origin.url("/")).await.unwrap().status(), 200);
    let seen = &proxy.requests()[0];
    assert_eq!(seen.headers.get("x-egress-tag").unwrap(), "partner");
    assert!(seen.has_proxy_authorization);
}
