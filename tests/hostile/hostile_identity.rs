//! Hostile client certificates, keys and password files: garbage, binary and truncated PEM, a
//! certificate whose base64 is corrupt, a DER file, a FIFO, `/dev/zero`, a directory, a sparse
//! 1 GiB file, a CA certificate where the key belongs. Each fails `ClientBuilder::build` at once
//! with `config.invalid`, the setting, the file and one `client_cert.*` (or `credentials.*`)
//! diagnostic — never a panic, a hang or a read past the cap — and the config file's lint says
//! the same.

use std::path::{Path, PathBuf};
use std::time::Duration;

use proxyscope::credentials::{ProxyAuth, SecretSource};
use proxyscope::testing::TestPki;
use proxyscope::{Blame, Client, EnvSnapshot, Error, Phase, Settings};

/// Runs `f` on a thread of its own and waits at most 30 s: a reader that blocks fails the test
/// instead of hanging the suite.
fn within_seconds<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> T {
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let _ = tx.send(f());
    });
    rx.recv_timeout(Duration::from_secs(30))
        .expect("a hostile file never blocks the reader")
}

/// `build()` of a client whose global layer is `layer`, on a thread with a deadline.
fn build_error(layer: Settings, env: EnvSnapshot) -> Error {
    within_seconds(move || {
        Client::builder()
            .global(layer)
            .env(env)
            .build()
            .expect_err("a hostile identity input must not build")
    })
}

/// Asserts a build error about `setting`: `config.invalid`, local configuration, phase config,
/// the setting and file named, and exactly one diagnostic, with `code`.
fn assert_identity_error(e: &Error, setting: &str, file: Option<&Path>, code: &str, what: &str) {
    assert_eq!(e.code(), "config.invalid", "{what}: {}", e.report());
    assert_eq!((e.hop(), e.phase()), (None, Phase::Config), "{what}");
    assert_eq!(e.blame(), Blame::LocalConfig, "{what}");
    assert_eq!(e.evidence().setting.as_deref(), Some(setting), "{what}");
    let shown = file.map(|f| f.display().to_string());
    assert_eq!(e.evidence().file, shown, "{what}");
    let codes: Vec<&str> = e
        .evidence()
        .diagnostics
        .iter()
        .map(|d| d.code.as_str())
        .collect();
    assert_eq!(codes, [code], "{what}: {}", e.report());
    assert!(e.hint().is_some(), "{what}");
}

/// The hostile files of one directory, with the code each gets as a certificate file.
struct Files {
    dir: tempfile::TempDir,
    cases: Vec<(&'static str, PathBuf, &'static str)>,
}

fn files(pki: &TestPki) -> Files {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let write = |name: &str, bytes: &[u8]| {
        let p = d.join(name);
        std::fs::write(&p, bytes).unwrap();
        p
    };
    let fifo = d.join("fifo");
    let made = std::process::Command::new("mkfifo").arg(&fifo).status();
    assert!(made.is_ok_and(|s| s.success()), "mkfifo (coreutils)");
    let big = d.join("big.pem");
    // Sparse: the metadata says 1 GiB, no disk is used.
    std::fs::File::create(&big)
        .unwrap()
        .set_len(1 << 30)
        .unwrap();
    // Just over the 1 MiB cap, written for real (so the cap, not the metadata, stops it).
    let mut over = b"-----BEGIN CERTIFICATE-----\n".to_vec();
    over.resize(proxyscope::tls::MAX_IDENTITY_FILE as usize + 100, b'A');
    let over = write("over.pem", &over);
    let cert = pki.client_cert("svc").pem().to_owned();
    // Corrupt base64 between intact markers.
    let corrupt = cert.replacen("MII", "M*I", 1);
    let truncated = &cert[..cert.len() / 2];
    let der = pki.client_cert("der").der().to_vec();
    let binary: Vec<u8> = (0..=255u8).cycle().take(4096).collect();
    let cases = vec![
        (
            "garbage text",
            write("garbage.pem", b"hello, I am not PEM\n"),
            "client_cert.no_certificate",
        ),
        (
            "binary bytes",
            write("binary.pem", &binary),
            "client_cert.no_certificate",
        ),
        (
            "DER certificate",
            write("cert.der", &der),
            "client_cert.no_certificate",
        ),
        (
            "corrupt base64",
            write("corrupt.pem", corrupt.as_bytes()),
            "client_cert.no_certificate",
        ),
        (
            "truncated PEM",
            write("truncated.pem", truncated.as_bytes()),
            "client_cert.no_certificate",
        ),
        ("empty file", write("empty.pem", b""), "client_cert.empty"),
        ("absent file", d.join("absent.pem"), "client_cert.missing"),
        ("fifo", fifo, "client_cert.unreadable"),
        (
            "device",
            PathBuf::from("/dev/zero"),
            "client_cert.unreadable",
        ),
        ("directory", d.join("."), "client_cert.unreadable"),
        ("sparse 1 GiB file", big, "client_cert.unreadable"),
        ("file over the cap", over, "client_cert.unreadable"),
    ];
    Files { dir, cases }
}

#[test]
fn hostile_certificate_files_fail_the_build_with_their_code() {
    let pki = TestPki::new();
    let f = files(&pki);
    let me = pki.client_cert("svc");
    for (what, path, code) in &f.cases {
        // The certificate slot (origin hop).
        let layer = Settings::new().with_client_cert_files(path, me.key_path());
        let e = build_error(layer, EnvSnapshot::default());
        assert_identity_error(&e, "client_cert", Some(path), code, what);
        // The key slot (proxy hop): a hostile key file gets the key's codes.
        let code = match *code {
            "client_cert.no_certificate" => "client_cert.no_key",
            other => other,
        };
        let layer = Settings::new().with_proxy_client_cert_files(me.pem_path(), path);
        let e = build_error(layer, EnvSnapshot::default());
        assert_identity_error(&e, "proxy_client_key", Some(path), code, what);
    }
    drop(f.dir);
}

/// What is handed to the builder (certificate, key), and the setting and code it must get.
type Case<'a> = (&'a str, &'a [u8], &'a [u8], &'a str, &'a str);

#[test]
fn hostile_pem_in_memory_fails_the_build_without_quoting_it() {
    let pki = TestPki::new();
    let me = pki.client_cert("svc");
    let key = std::fs::read(me.key_path()).unwrap();
    let ca = std::fs::read(pki.root_pem_path()).unwrap();
    let huge = vec![b'-'; 8 << 20];
    // A line of base64 from each PEM: what a leak would show.
    let key_text = String::from_utf8(key.clone()).unwrap();
    let key_body = key_text.lines().nth(1).unwrap();
    let cert_body = me.pem().lines().nth(1).unwrap();
    let cases: [Case<'_>; 6] = [
        (
            "garbage certificate",
            b"\x00\xffnot pem",
            &key,
            "client_cert",
            "client_cert.no_certificate",
        ),
        (
            "8 MiB of dashes",
            &huge,
            &key,
            "client_cert",
            "client_cert.no_certificate",
        ),
        (
            "certificate as the key",
            me.pem().as_bytes(),
            me.pem().as_bytes(),
            "client_key",
            "client_cert.no_key",
        ),
        (
            "key in both",
            &key,
            &key,
            "client_cert",
            "client_cert.key_in_cert_file",
        ),
        // Wrong type: a CA's certificate instead of the key, a CA's (not ours) with our key.
        (
            "CA certificate as the key",
            me.pem().as_bytes(),
            &ca,
            "client_key",
            "client_cert.no_key",
        ),
        (
            "CA certificate with our key",
            &ca,
            &key,
            "client_key",
            "client_cert.key_mismatch",
        ),
    ];
    for (what, cert, key, setting, code) in cases {
        let layer = Settings::new().with_client_cert_pem(cert, key);
        let e = build_error(layer, EnvSnapshot::default());
        // Memory has no file to name.
        assert_identity_error(&e, setting, None, code, what);
        // Neither the key's nor the certificate's content is quoted back.
        let text = format!("{e} {} {e:?}", e.report());
        assert!(!text.contains(key_body), "{what}: {text}");
        assert!(!text.contains(cert_body), "{what}: {text}");
    }
}

#[test]
fn hostile_password_files_fail_the_build_with_their_code() {
    let pki = TestPki::new();
    let f = files(&pki);
    let not_text = f.dir.path().join("not-text");
    std::fs::write(&not_text, [0xff, 0xfe, 0x00, 0x80]).unwrap();
    let big = f.dir.path().join("big.pw");
    std::fs::write(&big, vec![b'x'; 64 * 1024 + 1]).unwrap();
    let cases: Vec<(&str, PathBuf, &str)> = vec![
        ("fifo", f.dir.path().join("fifo"), "credentials.unreadable"),
        (
            "device",
            PathBuf::from("/dev/zero"),
            "credentials.unreadable",
        ),
        (
            "directory",
            f.dir.path().join("."),
            "credentials.unreadable",
        ),
        (
            "sparse 1 GiB file",
            f.dir.path().join("big.pem"),
            "credentials.too_large",
        ),
        ("64 KiB + 1", big, "credentials.too_large"),
        ("not UTF-8", not_text, "credentials.not_text"),
        ("absent", f.dir.path().join("absent"), "credentials.missing"),
        ("empty", f.dir.path().join("empty.pem"), "credentials.empty"),
    ];
    for (what, path, code) in cases {
        let layer =
            Settings::new().with_proxy_auth(ProxyAuth::new("svc", SecretSource::file(&path)));
        let e = build_error(layer, EnvSnapshot::default());
        assert_eq!(e.code(), "config.invalid", "{what}: {}", e.report());
        assert_eq!(e.blame(), Blame::LocalConfig, "{what}");
        assert_eq!(
            e.evidence().setting.as_deref(),
            Some("proxy_auth.password_file"),
            "{what}"
        );
        let looked = format!("file:{}", path.display());
        assert_eq!(
            e.evidence().value.as_deref(),
            Some(looked.as_str()),
            "{what}"
        );
        let codes: Vec<&str> = e
            .evidence()
            .diagnostics
            .iter()
            .map(|d| d.code.as_str())
            .collect();
        assert_eq!(codes, [code], "{what}: {}", e.report());
    }
}
