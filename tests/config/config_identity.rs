//! The identity keys of a config file: client certificate pairs (loaded and checked at load:
//! missing, swapped, encrypted, mismatched, unpaired, expired), credentials tables (literal
//! secrets refused, one source each, password files read at load), `proxy_headers`,
//! `min_tls_version` and `danger_accept_invalid_hostnames`, each finding with its code, key
//! path and `file:line:col`.

use std::path::Path;

use proxyscope::config::{ConfigDocument, Diagnostic, Severity};
use proxyscope::testing::{LeafSpec, TestPki, Validity};
use proxyscope::{Config, EnvSnapshot, Provenance};

/// Lints `toml` written as `dir/proxyscope.toml`.
fn lint(dir: &Path, toml: &str) -> Vec<Diagnostic> {
    let path = dir.join("proxyscope.toml");
    std::fs::write(&path, toml).unwrap();
    ConfigDocument::from_file(&path)
        .unwrap()
        .lint(&EnvSnapshot::default())
}

/// Asserts the one finding with `code` at `path`: its severity, line and suggestion.
fn at(all: &[Diagnostic], code: &str, path: &str, line: u32, severity: Severity) {
    let found: Vec<&Diagnostic> = all
        .iter()
        .filter(|d| d.code == code && d.path == path)
        .collect();
    assert_eq!(found.len(), 1, "{code} at {path} in {all:#?}");
    let d = found[0];
    assert_eq!(d.severity, severity, "{d:?}");
    let loc = d.location.as_deref().unwrap_or_default();
    assert!(
        loc.contains(&format!("proxyscope.toml:{line}:")),
        "{loc} for line {line}"
    );
    assert!(d.suggestion.is_some(), "{d:?}");
}

/// An encrypted PKCS#8 key: made by openssl when it is installed (scripts/install-test-deps
/// installs it), else the PEM label alone, which is what is detected.
fn encrypted_key(pki: &TestPki, dir: &Path) -> std::path::PathBuf {
    let out = dir.join("encrypted.key.pem");
    let made = std::process::Command::new("openssl")
        .args(["pkcs8", "-topk8", "-passout", "pass:secret", "-in"])
        .arg(pki.client_cert("enc").key_path())
        .arg("-out")
        .arg(&out)
        .status()
        .is_ok_and(|s| s.success());
    if !made {
        std::fs::write(
            &out,
            "-----BEGIN ENCRYPTED PRIVATE KEY-----\nMIIBvTBXBgkqhkiG9w0BBQ0wSjApBgkqhkiG9w0BBQwwHAQI\n-----END ENCRYPTED PRIVATE KEY-----\n",
        )
        .unwrap();
    }
    out
}

#[test]
fn certificate_pairs_are_checked_when_the_config_is_loaded() {
    let pki = TestPki::new();
    let dir = tempfile::tempdir().unwrap();
    let me = pki.client_cert("svc");
    let other = pki.client_cert("other");
    let expired = pki.leaf(LeafSpec::client(&["old"]).validity(Validity::Expired));
    let encrypted = encrypted_key(&pki, dir.path());
    std::fs::copy(me.pem_path(), dir.path().join("svc.pem")).unwrap();
    std::fs::copy(me.key_path(), dir.path().join("svc.key")).unwrap();
    let p = |x: &Path| format!("{:?}", x.display().to_string());
    let toml = format!(
        "client_cert = \"svc.pem\"\nclient_key = \"svc.key\"\n\
         [providers.mismatch]\nurl = \"https://a.test\"\nclient_cert = {mc}\nclient_key = {ok}\n\
         [providers.unpaired]\nurl = \"https://b.test\"\nproxy_client_cert = {mc}\n\
         [providers.encrypted]\nurl = \"https://c.test\"\nclient_cert = {mc}\nclient_key = {enc}\n\
         [providers.swapped]\nurl = \"https://d.test\"\nclient_cert = {ok}\nclient_key = {ok}\n\
         [providers.missing]\nurl = \"https://e.test\"\nclient_cert = \"absent.pem\"\nclient_key = {ok}\n\
         [providers.expired]\nurl = \"https://f.test\"\nclient_cert = {ec}\nclient_key = {ek}\n\
         [providers.pasted]\nurl = \"https://g.test\"\nclient_cert = \"-----BEGIN CERTIFICATE-----\"\n",
        mc = p(other.pem_path()),
        ok = p(me.key_path()),
        enc = p(&encrypted),
        ec = p(expired.pem_path()),
        ek = p(expired.key_path()),
    );
    let d = lint(dir.path(), &toml);
    use Severity::{Error, Warning};
    at(
        &d,
        "client_cert.key_mismatch",
        "providers.mismatch.client_key",
        6,
        Error,
    );
    at(
        &d,
        "client_cert.unpaired",
        "providers.unpaired.proxy_client_cert",
        9,
        Error,
    );
    at(
        &d,
        "client_cert.encrypted_key",
        "providers.encrypted.client_key",
        13,
        Error,
    );
    at(
        &d,
        "client_cert.key_in_cert_file",
        "providers.swapped.client_cert",
        16,
        Error,
    );
    at(
        &d,
        "client_cert.missing",
        "providers.missing.client_cert",
        20,
        Error,
    );
    at(
        &d,
        "client_cert.expired",
        "providers.expired.client_cert",
        24,
        Warning,
    );
    at(
        &d,
        "client_cert.not_a_path",
        "providers.pasted.client_cert",
        28,
        Error,
    );
    assert_eq!(d.len(), 7, "{d:#?}");
    // The global pair (relative to the file) is fine and not reported again per provider.
    assert!(d.iter().all(|d| !d.path.starts_with("client_")), "{d:#?}");

    // Loading refuses the file with every finding; the good part alone loads with provenance.
    let err = Config::from_file(dir.path().join("proxyscope.toml")).unwrap_err();
    assert_eq!(err.code(), "config.invalid");
    assert_eq!(err.evidence().diagnostics.len(), d.len());
    let cfg = Config::from_toml_str(
        "client_cert = \"svc.pem\"\nclient_key = \"svc.key\"\n",
        dir.path().join("ok.toml"),
    )
    .unwrap();
    let rows = cfg.settings(None).unwrap();
    let row = rows.iter().find(|r| r.key == "client_key").unwrap();
    assert_eq!(row.value, dir.path().join("svc.key").display().to_string());
    assert!(matches!(&row.origin, Provenance::File { line: 2, key, .. } if key == "client_key"));
}

#[test]
fn credentials_tables_refuse_literal_secrets_and_ambiguity() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("empty.pw"), "").unwrap();
    let d = lint(
        dir.path(),
        "proxy = \"http://u:p@proxy.test:3128\"\n\
         proxy_auth = { username = \"svc\", password_env = \"PW\" }\n\
         auth = { bearer_env = \"T\" }\n\
         [providers.a]\nurl = \"https://a.test\"\n\
         proxy_auth = { username = \"svc\", password = \"hunter2\" }\n\
         [providers.b]\nurl = \"https://b.test\"\n\
         proxy_auth = { username = \"svc\", password_env = \"PW\", password_file = \"pw\" }\n\
         [providers.c]\nurl = \"https://c.test\"\n\
         auth = { username = \"u\", password_env = \"P\", bearer_env = \"T\" }\n\
         [providers.d]\nurl = \"https://d.test\"\n\
         proxy_auth = { username = \"svc\", pasword_env = \"PW\" }\n\
         [providers.e]\nurl = \"https://e.test\"\n\
         proxy_auth = { username = \"svc\", password_file = \"empty.pw\" }\n\
         proxy_headers = { \"Bad Header\" = \"x\", \"X-Ok\" = \"y\" }\n\
         min_tls_version = \"1.1\"\n\
         danger_accept_invalid_hostnames = true\n",
    );
    use Severity::{Error, Warning};
    at(&d, "proxy_auth.overrides_url", "proxy_auth", 2, Warning);
    at(
        &d,
        "proxy_auth.overrides_url",
        "providers.e.proxy_auth",
        18,
        Warning,
    );
    at(&d, "unknown_key", "auth", 3, Error);
    let global_auth = d.iter().find(|d| d.path == "auth").unwrap();
    assert!(
        global_auth
            .suggestion
            .as_deref()
            .unwrap_or("")
            .contains("provider")
    );
    at(
        &d,
        "unknown_key",
        "providers.d.proxy_auth.pasword_env",
        15,
        Error,
    );
    let typo = d.iter().find(|d| d.path.ends_with("pasword_env")).unwrap();
    assert!(
        typo.suggestion
            .as_deref()
            .unwrap_or("")
            .contains("password_env")
    );
    at(
        &d,
        "credentials.literal",
        "providers.a.proxy_auth.password",
        6,
        Error,
    );
    at(
        &d,
        "credentials.conflict",
        "providers.b.proxy_auth",
        9,
        Error,
    );
    at(&d, "auth.conflict", "providers.c.auth", 12, Error);
    at(&d, "credentials.empty", "providers.e.proxy_auth", 18, Error);
    at(
        &d,
        "proxy_headers.invalid",
        "providers.e.proxy_headers.Bad Header",
        19,
        Error,
    );
    at(
        &d,
        "invalid_value",
        "providers.e.min_tls_version",
        20,
        Error,
    );
    at(
        &d,
        "danger_accept_invalid_hostnames",
        "providers.e.danger_accept_invalid_hostnames",
        21,
        Warning,
    );
    // The literal password is never repeated back.
    assert!(!format!("{d:?}").contains("hunter2"));
}

#[test]
fn tls_versions_accept_strings_and_bare_numbers() {
    let cfg = Config::from_toml_str(
        "min_tls_version = 1.3\nproxy_min_tls_version = \"1.2\"\n",
        "v.toml",
    )
    .unwrap();
    let rows = cfg.settings(None).unwrap();
    let get = |k: &str| rows.iter().find(|r| r.key == k).unwrap().value.clone();
    assert_eq!(get("min_tls_version"), "1.3");
    assert_eq!(get("proxy_min_tls_version"), "1.2");
    assert_eq!(get("danger_accept_invalid_hostnames"), "false");
}

#[test]
fn tls_version_parses_from_text_like_the_config_key() {
    use proxyscope::settings::TlsVersion;
    assert_eq!("1.2".parse::<TlsVersion>().unwrap(), TlsVersion::Tls12);
    assert_eq!(" 1.3 ".parse::<TlsVersion>().unwrap(), TlsVersion::Tls13);
    for bad in ["1.1", "1.0", "TLSv1.3", "", "1.3.0"] {
        assert!(bad.parse::<TlsVersion>().is_err(), "{bad:?}");
    }
    // Display gives back the configuration spelling.
    assert_eq!(TlsVersion::Tls13.to_string(), "1.3");
    assert_eq!(
        TlsVersion::Tls12.to_string().parse::<TlsVersion>().unwrap(),
        TlsVersion::Tls12
    );
}
