//! CA files are read and parsed at load: missing, unreadable, empty, garbage, DER, key-only,
//! not-a-CA and expired files are each reported with the key path, file:line and fix; good files
//! are kept with their facts (subject, CA flag, expiry) for the TLS diagnostics.

use std::path::Path;

use proxyscope::config::{Config, ConfigDocument, Diagnostic, Severity};
use proxyscope::{EnvSnapshot, Phase};

fn cert(cn: &str, is_ca: bool, expired: bool) -> rcgen::Certificate {
    let mut params = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
    params
        .distinguished_name
        .push(rcgen::DnType::CommonName, cn);
    if is_ca {
        params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
    }
    if expired {
        params.not_before = rcgen::date_time_ymd(2000, 1, 1);
        params.not_after = rcgen::date_time_ymd(2001, 1, 1);
    }
    params
        .self_signed(&rcgen::KeyPair::generate().unwrap())
        .unwrap()
}

/// Writes `files` and a config naming each under its own provider; returns the lint.
fn lint_with(dir: &Path, files: &[(&str, Vec<u8>)]) -> (String, Vec<Diagnostic>) {
    let mut text = String::new();
    for (i, (name, content)) in files.iter().enumerate() {
        std::fs::write(dir.join(name), content).unwrap();
        text.push_str(&format!(
            "[providers.p{i}]\nurl = \"https://p{i}.test\"\nca_file = \"{name}\"\n"
        ));
    }
    let cfg = dir.join("proxyscope.toml");
    std::fs::write(&cfg, &text).unwrap();
    let diags = ConfigDocument::from_file(&cfg)
        .unwrap()
        .lint(&EnvSnapshot::default());
    (cfg.display().to_string(), diags)
}

#[test]
fn each_bad_ca_file_is_named_with_path_line_and_fix() {
    let dir = tempfile::tempdir().unwrap();
    let files = vec![
        ("empty.pem", Vec::new()),
        ("garbage.pem", b"\x00\x01 not a certificate".to_vec()),
        ("root.der", cert("DER Root", true, false).der().to_vec()),
        (
            "key.pem",
            rcgen::KeyPair::generate()
                .unwrap()
                .serialize_pem()
                .into_bytes(),
        ),
        (
            "leaf.pem",
            cert("leaf.test", false, false).pem().into_bytes(),
        ),
        ("old.pem", cert("Old Root", true, true).pem().into_bytes()),
    ];
    let (cfg, diags) = lint_with(dir.path(), &files);
    let want: [(&str, Severity, &str); 6] = [
        ("ca_file.empty", Severity::Error, "PEM"),
        ("ca_file.not_pem", Severity::Error, "BEGIN CERTIFICATE"),
        ("ca_file.der", Severity::Error, "openssl x509 -inform der"),
        ("ca_file.not_pem", Severity::Error, "CA's certificate"),
        ("ca_file.not_ca", Severity::Warning, "issuing CA"),
        ("ca_file.expired", Severity::Warning, "current certificate"),
    ];
    for (i, (code, severity, fix)) in want.iter().enumerate() {
        let path = format!("providers.p{i}.ca_file");
        let d = diags
            .iter()
            .find(|d| d.path == path)
            .unwrap_or_else(|| panic!("{path}: {diags:#?}"));
        assert_eq!(d.code, *code, "{path}");
        assert_eq!(d.severity, *severity, "{path}");
        let line = i * 3 + 3;
        assert_eq!(
            d.location.as_deref(),
            Some(format!("{cfg}:{line}:11").as_str()),
            "{path}"
        );
        assert!(
            d.suggestion.as_deref().unwrap().contains(fix),
            "{path}: {:?}",
            d.suggestion
        );
    }
    assert_eq!(diags.len(), 6, "{diags:#?}");
}

#[test]
fn missing_and_directory_ca_files() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("certs")).unwrap();
    let text = "ca_file = [\"certs\", \"nowhere/ca.pem\"]\n";
    let cfg = dir.path().join("c.toml");
    std::fs::write(&cfg, text).unwrap();
    let err = Config::from_file(&cfg).unwrap_err();
    assert_eq!(err.code(), "config.invalid");
    assert_eq!(err.phase(), Phase::Config);
    assert_eq!(err.hop(), None);
    let codes: Vec<(&str, &str)> = err
        .evidence()
        .diagnostics
        .iter()
        .map(|d| (d.code.as_str(), d.path.as_str()))
        .collect();
    assert_eq!(
        codes,
        [
            ("ca_file.not_regular", "ca_file[0]"),
            ("ca_file.missing", "ca_file[1]")
        ]
    );
    let missing = &err.evidence().diagnostics[1];
    assert!(
        missing
            .message
            .contains(&dir.path().join("nowhere/ca.pem").display().to_string())
    );
    assert!(
        missing
            .suggestion
            .as_deref()
            .unwrap()
            .contains("does not exist")
    );
}

#[test]
fn good_ca_files_are_kept_with_their_facts() {
    let dir = tempfile::tempdir().unwrap();
    let root = cert("Internal Root", true, false);
    let mut bundle = root.pem();
    bundle.push_str(&cert("Second Root", true, false).pem());
    std::fs::write(dir.path().join("bundle.pem"), &bundle).unwrap();
    let cfg = dir.path().join("c.toml");
    std::fs::write(
        &cfg,
        "ca_file = \"bundle.pem\"\nproxy_ca_file = \"./bundle.pem\"\n",
    )
    .unwrap();
    let config = Config::from_file(&cfg).unwrap();
    assert!(config.lint(&EnvSnapshot::default()).is_empty());
    let resolved = dir.path().join("bundle.pem");
    assert_eq!(
        config.global_layer().ca_file.as_ref().unwrap().value,
        vec![resolved.clone()]
    );
    let file = config.ca_file(&resolved).expect("kept for TLS diagnostics");
    assert_eq!(
        config.ca_files().len(),
        1,
        "one bundle per file, however often it is named"
    );
    assert_eq!(file.summaries().len(), 2);
    assert!(
        file.summaries()
            .iter()
            .all(|c| c.is_ca && c.days_left > 300)
    );
    assert!(file.summaries()[0].subject.contains("Internal Root"));
    assert_eq!(file.certs()[0].as_ref(), root.der().as_ref());
}

#[test]
fn pem_content_instead_of_a_path() {
    let pem = cert("Inline", true, false).pem();
    let text = format!("ca_file = '''\n{pem}'''\n");
    let d = ConfigDocument::from_toml_str(&text, "inline.toml").lint(&EnvSnapshot::default());
    assert_eq!(d.len(), 1, "{d:#?}");
    assert_eq!(d[0].code, "ca_file.not_a_path");
    assert!(
        d[0].suggestion
            .as_deref()
            .unwrap()
            .contains("ca_file = \"/path/to/ca.pem\"")
    );
}
