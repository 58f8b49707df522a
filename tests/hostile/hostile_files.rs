//! Hostile files where a config or CA file should be: a FIFO (opening it would block forever),
//! `/dev/zero` (reading it never ends), a directory, a socket, a sparse 1 GiB file. Each is
//! refused unopened or unread past its cap, with a `config.*` code naming the file and what it
//! is — through the library, through `probe lint` as a process (which used to hang on a FIFO),
//! and through the environment's CA variables.

use std::path::{Path, PathBuf};
use std::time::Duration;

use proxyscope::config::{Config, ConfigDocument};
use proxyscope::tls::{CaBundle, CaFileProblem, MAX_CA_FILE_SIZE};
use proxyscope::{Blame, Client, EnvSnapshot, Error, Phase, Settings};

use super::bounded_probe;
use crate::common::probe::{ConfigFile, probe_at, toml_path};

/// The hostile files of one directory: (what, path).
struct Hostile {
    _dir: tempfile::TempDir,
    _socket: std::os::unix::net::UnixListener,
    files: Vec<(&'static str, PathBuf)>,
}

fn hostile() -> Hostile {
    let dir = tempfile::tempdir().unwrap();
    let fifo = dir.path().join("fifo");
    let made = std::process::Command::new("mkfifo").arg(&fifo).status();
    assert!(made.is_ok_and(|s| s.success()), "mkfifo (coreutils)");
    let sock = dir.path().join("sock");
    let socket = std::os::unix::net::UnixListener::bind(&sock).unwrap();
    let big = dir.path().join("big");
    // Sparse: the metadata says 1 GiB, no disk is used.
    std::fs::File::create(&big)
        .unwrap()
        .set_len(1 << 30)
        .unwrap();
    let files = vec![
        ("fifo", fifo),
        ("device", PathBuf::from("/dev/zero")),
        ("directory", dir.path().join(".")),
        ("socket", sock),
        ("big", big),
    ];
    Hostile {
        _dir: dir,
        _socket: socket,
        files,
    }
}

/// The diagnostic code each hostile file gets, for config files (`file.*`) and CA files.
fn want(what: &str, ca: bool) -> &'static str {
    match (what, ca) {
        ("big", false) => "file.too_large",
        (_, false) => "file.not_regular",
        ("big", true) => "ca_file.too_large",
        (_, true) => "ca_file.not_regular",
    }
}

fn within_seconds<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> T {
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let _ = tx.send(f());
    });
    rx.recv_timeout(Duration::from_secs(30))
        .expect("a hostile file never blocks the reader")
}

#[test]
fn config_files_that_are_not_regular_or_too_large_are_refused_naming_the_file() {
    let h = hostile();
    for (what, path) in h.files.clone() {
        let p = path.clone();
        let e: Error = within_seconds(move || Config::from_file(&p).unwrap_err());
        assert_eq!(e.code(), "config.invalid", "{what}");
        assert_eq!((e.hop(), e.phase()), (None, Phase::Config), "{what}");
        assert_eq!(e.blame(), Blame::LocalConfig, "{what}");
        let shown = path.display().to_string();
        assert_eq!(e.evidence().file.as_deref(), Some(shown.as_str()), "{what}");
        let d = &e.evidence().diagnostics[0];
        assert_eq!(d.code, want(what, false), "{what}: {d}");
        assert!(d.message.contains(&shown), "{what}: {d}");
        let p = path.clone();
        let e = within_seconds(move || proxyscope::config::read_file(&p).unwrap_err());
        assert_eq!(e.evidence().diagnostics[0].code, want(what, false));
        let p = path.clone();
        let e = within_seconds(move || ConfigDocument::from_file(&p).unwrap_err());
        assert_eq!(e.code(), "config.invalid");
    }
    // Size 0 in the metadata, content when read: the read decides (and this is no TOML).
    let e = Config::from_file("/proc/self/status").unwrap_err();
    assert_eq!(e.code(), "config.invalid");
    assert!(
        e.evidence()
            .diagnostics
            .iter()
            .all(|d| !d.code.starts_with("file."))
    );
}

#[test]
fn ca_files_that_are_not_regular_or_too_large_are_refused_naming_the_file() {
    let h = hostile();
    for (what, path) in h.files.clone() {
        // Directly.
        let p = path.clone();
        let e = within_seconds(move || CaBundle::load(&p).unwrap_err());
        assert_eq!(e.code(), "config.ca_file", "{what}");
        assert_eq!(
            (e.phase(), e.blame()),
            (Phase::Config, Blame::LocalConfig),
            "{what}"
        );
        let shown = path.display().to_string();
        assert_eq!(e.evidence().file.as_deref(), Some(shown.as_str()), "{what}");
        let problem = e.evidence().ca_file_problem;
        if what == "big" {
            assert_eq!(problem, Some(CaFileProblem::TooLarge));
            let size = e.evidence().size_limit.unwrap();
            assert_eq!((size.limit, size.seen), (MAX_CA_FILE_SIZE, 1 << 30));
            assert!(size.announced);
        } else {
            assert_eq!(problem, Some(CaFileProblem::NotRegular), "{what}");
        }
        // Named by a config: a diagnostic at the key, the load refused.
        let cfg = ConfigFile::new(&format!("ca_file = {}\n", toml_path(&path)));
        let p = cfg.path().to_path_buf();
        let e = within_seconds(move || Config::from_file(&p).unwrap_err());
        let d = &e.evidence().diagnostics[0];
        assert_eq!(
            (d.code.as_str(), d.path.as_str()),
            (want(what, true), "ca_file")
        );
        // Given to the builder.
        let p = path.clone();
        let e = within_seconds(move || {
            Client::builder()
                .global(Settings::new().with_ca_file([p]))
                .env(EnvSnapshot::from_pairs(Vec::<(String, String)>::new()))
                .build()
                .unwrap_err()
        });
        assert_eq!(e.code(), "config.ca_file", "{what}");
        // Named by the environment: cross-reference skips it, the client still builds.
        let env = EnvSnapshot::from_pairs([("SSL_CERT_FILE", path.display().to_string())]);
        let found = within_seconds(move || {
            let errors: Vec<String> = proxyscope::tls::env_ca_files(&env)
                .into_iter()
                .filter_map(|r| r.err().map(|e| e.code().to_owned()))
                .collect();
            let built = Client::builder().env(env).build().is_ok();
            (errors, built)
        });
        assert_eq!(found, (vec!["config.ca_file".to_owned()], true), "{what}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn probe_lint_on_a_fifo_or_a_device_exits_3_at_once() {
    let h = hostile();
    for (what, path) in &h.files {
        let p = path.display().to_string();
        for format in ["text", "json"] {
            let run = probe_at(
                &bounded_probe(),
                &["lint", "--config", &p, "--format", format],
            )
            .await;
            assert_eq!(run.code, Some(3), "{what} {format}: {}", run.stderr);
            if format == "json" {
                let v = run.json();
                assert_eq!(v["error"]["code"], "config.invalid");
                assert_eq!(v["diagnostics"][0]["code"], want(what, false));
            } else {
                assert!(run.stderr.contains(&p), "{what}: {}", run.stderr);
            }
        }
        let run = probe_at(
            &bounded_probe(),
            &["check", "--config", &p, "--format", "json"],
        )
        .await;
        assert_eq!(run.code, Some(3), "{what}: {}", run.stderr);
        assert_eq!(run.json()["error"]["code"], "config.invalid");
    }
}

#[test]
fn a_config_that_is_not_utf8_names_the_line_and_column() {
    let dir = tempfile::tempdir().unwrap();
    let p: &Path = &dir.path().join("latin1.toml");
    std::fs::write(p, b"proxy = \"direct\"\n# caf\xe9\n").unwrap();
    let e = Config::from_file(p).unwrap_err();
    let d = &e.evidence().diagnostics[0];
    assert_eq!(d.code, "file.not_utf8");
    assert!(
        d.location.as_deref().unwrap().ends_with("latin1.toml:2:6"),
        "{d}"
    );
}

/// PAC files go through the same reader: refused unopened or unread past the cap, naming the
/// file, the cap and size in the evidence for a file too large.
#[cfg(feature = "pac")]
#[test]
fn pac_files_that_are_not_regular_or_too_large_are_refused_naming_the_file() {
    use proxyscope::pac::{MAX_SCRIPT_LEN, PacScript};
    let h = hostile();
    for (what, path) in h.files.clone() {
        let p = path.clone();
        let e = within_seconds(move || PacScript::from_file(&p).unwrap_err());
        assert_eq!(e.code(), "config.invalid", "{what}");
        assert_eq!((e.hop(), e.phase()), (None, Phase::Config), "{what}");
        assert_eq!(e.blame(), Blame::LocalConfig, "{what}");
        let shown = path.display().to_string();
        assert_eq!(e.evidence().file.as_deref(), Some(shown.as_str()), "{what}");
        let size = e.evidence().size_limit;
        if what == "big" {
            let size = size.expect("size_limit evidence");
            assert_eq!((size.limit, size.seen), (MAX_SCRIPT_LEN as u64, 1 << 30));
            assert!(size.announced);
        } else {
            assert!(size.is_none(), "{what}: {size:?}");
        }
    }
}

/// `roots = "system"` reads what `SSL_CERT_FILE` and `SSL_CERT_DIR` in the process environment
/// name. A FIFO there blocked `probe check` forever, `/dev/zero` grew it past 400 MB in four
/// seconds: they are skipped (the store is best effort) — an empty store is refused at once
/// with `config.invalid` and a hint naming the variables, and a usable CA beside the hostile
/// entries of a directory is loaded and trusted.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hostile_system_store_paths_are_skipped_not_read_forever() {
    use proxyscope::testing::{ChainMode, TestOrigin, TestPki};

    let h = hostile();
    let pki = TestPki::new();
    let origin = TestOrigin::https(&pki, pki.localhost(), ChainMode::Full).await;
    let cfg = ConfigFile::new(&format!(
        "roots = \"system\"\n[providers.web]\nurl = {}\nproxy = \"direct\"\n",
        crate::common::probe::toml_str(origin.url("/"))
    ));
    let config = cfg.path().display().to_string();
    let check = |var: &'static str, value: String| {
        let config = config.clone();
        async move {
            let mut cmd = tokio::process::Command::new(bounded_probe());
            crate::common::probe::without_route_vars(&mut cmd)
                .env_remove("SSL_CERT_DIR")
                .env(var, &value)
                .args(["check", "--config", &config, "--format", "json"])
                .kill_on_drop(true);
            let out = tokio::time::timeout(Duration::from_secs(60), cmd.output())
                .await
                .unwrap_or_else(|_| panic!("{var}={value}: probe check hung"))
                .unwrap();
            crate::common::probe::Run::from(out)
        }
    };
    // Nothing usable: the system store is empty, which the client refuses at once, naming the
    // variables that emptied it.
    for (what, path) in &h.files {
        let run = check("SSL_CERT_FILE", path.display().to_string()).await;
        assert_eq!(run.code, Some(3), "{what}: {}{}", run.stdout, run.stderr);
        let v = run.json();
        assert_eq!(v["error"]["code"], "config.invalid", "{what}: {v:#}");
        let hint = v["error"]["hint"].as_str().unwrap();
        assert!(hint.contains("SSL_CERT_FILE and SSL_CERT_DIR"), "{hint}");
        assert_eq!(v["checks"], serde_json::json!([]));
    }
    // A directory holding every hostile kind of entry and the harness's root: the root is
    // loaded, the rest skipped, the check passes.
    let dir = tempfile::tempdir().unwrap();
    for (what, path) in &h.files {
        std::os::unix::fs::symlink(path, dir.path().join(format!("{what}.pem"))).unwrap();
    }
    std::fs::copy(pki.root_pem_path(), dir.path().join("root.pem")).unwrap();
    let run = check("SSL_CERT_DIR", dir.path().display().to_string()).await;
    let v = run.json();
    assert_eq!(run.code, Some(0), "{v:#}\n{}", run.stderr);
    assert_eq!(v["checks"][0]["ok"], true);
}
