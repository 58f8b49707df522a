//! `CaBundle::load`: every way a CA file can be unusable is a `config.ca_file` error with the file
//! and the reason in the evidence; a good file gives one summary per certificate.

use std::path::Path;

use proxyscope::testing::{LeafSpec, TestPki, Validity};
use proxyscope::tls::{CaBundle, CaFileProblem};
use proxyscope::{Error, Phase};

fn load_err(path: &Path) -> Error {
    match CaBundle::load(path) {
        Ok(b) => panic!("{} loaded with {} certs", path.display(), b.certs().len()),
        Err(e) => e,
    }
}

fn assert_problem(path: &Path, problem: CaFileProblem) {
    let err = load_err(path);
    assert_eq!(err.code(), "config.ca_file", "{}", path.display());
    assert_eq!(err.hop(), None);
    assert_eq!(err.phase(), Phase::Config);
    assert_eq!(err.evidence().file.as_deref(), path.to_str());
    assert_eq!(
        err.evidence().ca_file_problem,
        Some(problem),
        "{}",
        path.display()
    );
    assert!(err.hint().is_some());
}

#[test]
fn missing_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("nope.pem");
    assert_problem(&path, CaFileProblem::Missing);
    // The io error is kept as the source.
    assert!(std::error::Error::source(&load_err(&path)).is_some());
}

#[test]
fn a_directory_is_not_a_regular_file() {
    // Refused by its type before it is opened (root would ignore permissions anyway).
    let dir = tempfile::tempdir().unwrap();
    assert_problem(dir.path(), CaFileProblem::NotRegular);
}

#[test]
fn empty_and_blank_files() {
    let dir = tempfile::tempdir().unwrap();
    for (name, content) in [("empty.pem", ""), ("blank.pem", " \n\t\n")] {
        let path = dir.path().join(name);
        std::fs::write(&path, content).unwrap();
        assert_problem(&path, CaFileProblem::Empty);
    }
}

#[test]
fn pem_without_certificates() {
    let dir = tempfile::tempdir().unwrap();
    let key = rcgen::KeyPair::generate().unwrap();
    let path = dir.path().join("key-only.pem");
    std::fs::write(&path, key.serialize_pem()).unwrap();
    assert_problem(&path, CaFileProblem::NoCertificates);
}

#[test]
fn der_content_in_a_pem_file() {
    let pki = TestPki::new();
    let dir = tempfile::tempdir().unwrap();
    let ca = pki.make_root("DER Root");
    let path = dir.path().join("root.pem");
    std::fs::write(&path, ca.cert().der().as_ref()).unwrap();
    assert_problem(&path, CaFileProblem::Der);
}

#[test]
fn garbage_files() {
    let dir = tempfile::tempdir().unwrap();
    let broken_b64 = "-----BEGIN CERTIFICATE-----\n!!!not base64!!!\n-----END CERTIFICATE-----\n";
    let not_x509 = "-----BEGIN CERTIFICATE-----\naGVsbG8gd29ybGQ=\n-----END CERTIFICATE-----\n";
    for (name, content) in [
        ("text.pem", "this is not a certificate\n"),
        ("b64.pem", broken_b64),
        ("not-x509.pem", not_x509),
        ("stray-marker.pem", "junk\n-----BEGIN NOTHING-----\n"),
    ] {
        let path = dir.path().join(name);
        std::fs::write(&path, content).unwrap();
        assert_problem(&path, CaFileProblem::Garbage);
    }
}

#[test]
fn good_bundle_summarises_each_certificate() {
    let pki = TestPki::new();
    let dir = tempfile::tempdir().unwrap();
    let root = pki.make_root("Bundle Root");
    let inter = pki.make_intermediate(&root, "Bundle Intermediate", Validity::Current);
    let now = std::time::SystemTime::now();
    let day = std::time::Duration::from_secs(86_400);
    let leaf = pki.leaf(
        LeafSpec::new(&["svc.test", "10.0.0.1"])
            .issued_by(&root)
            .validity(Validity::Window {
                not_before: now - day,
                not_after: now + 365 * day,
            }),
    );
    // Text around the PEM sections (as in OS bundles) is ignored.
    let content = format!(
        "# Bundle Root\n{}\nsome comment\n{}{}",
        root.cert().pem().to_owned(),
        inter.cert().pem().to_owned(),
        leaf.pem().to_owned()
    );
    let path = dir.path().join("bundle.pem");
    std::fs::write(&path, content).unwrap();
    let b = CaBundle::load(&path).unwrap();
    assert_eq!(b.path(), path);
    assert_eq!(b.certs().len(), 3);
    let s = b.summaries();
    assert_eq!(s.len(), 3);
    assert_eq!(s[0].index, 0);
    assert!(s[0].subject.contains("CN=Bundle Root"));
    assert!(s[0].is_ca);
    assert!(s[0].self_issued);
    assert!(s[1].is_ca);
    assert!(!s[1].self_issued);
    assert!(s[1].issuer.contains("CN=Bundle Root"));
    assert!(!s[2].is_ca);
    assert_eq!(s[2].sans, ["svc.test", "10.0.0.1"]);
    assert!((363..=365).contains(&s[2].days_left), "{}", s[2].days_left);
    assert!(s[2].not_after.ends_with('Z'));
    let digest = ring::digest::digest(&ring::digest::SHA256, leaf.der().as_ref());
    let hex: String = digest.as_ref().iter().map(|b| format!("{b:02x}")).collect();
    assert_eq!(s[2].sha256, hex);
    assert!(!s[2].serial.is_empty());
    assert!(
        s[2].serial
            .chars()
            .all(|c| c.is_ascii_hexdigit() && !c.is_ascii_uppercase())
    );
}

#[test]
fn from_pem_labels_the_evidence_with_the_given_path() {
    let err = CaBundle::from_pem("/etc/ssl/inline.pem", b"").unwrap_err();
    assert_eq!(err.code(), "config.ca_file");
    assert_eq!(err.evidence().file.as_deref(), Some("/etc/ssl/inline.pem"));
    assert_eq!(err.evidence().ca_file_problem, Some(CaFileProblem::Empty));
    let json = serde_json::to_value(&err).unwrap();
    assert_eq!(json["evidence"]["ca_file_problem"], "empty");
}

/// A PEM file cut short — mid-base64 without its END line, cut mid-base64 with an END line
/// added back, or a bundle cut in its second certificate — is truncated, not "not PEM", and the
/// headline carries no parser internals.
#[test]
fn truncated_files_are_diagnosed_as_truncated() {
    let pki = TestPki::new();
    let dir = tempfile::tempdir().unwrap();
    let root = pki.make_root("Cut Root");
    let pem = root.cert().pem().to_owned();
    let body: Vec<&str> = pem.lines().collect();
    let half = body.len() / 2;
    let cut_no_end = body[..half].join("\n") + "\n";
    let cut_with_end = format!("{}\n-----END CERTIFICATE-----\n", body[..half].join("\n"));
    let second = pki.make_root("Second Root");
    let bundle_cut = format!("{pem}{}", {
        let p = second.cert().pem().to_owned();
        let lines: Vec<&str> = p.lines().collect();
        lines[..lines.len() / 2].join("\n") + "\n"
    });
    for (name, content, nth) in [
        ("cut.pem", cut_no_end, 1),
        ("cut-end.pem", cut_with_end, 1),
        ("bundle-cut.pem", bundle_cut, 2),
        (
            "begin-only.pem",
            "-----BEGIN CERTIFICATE-----\nMIIB\n".to_owned(),
            1,
        ),
    ] {
        let path = dir.path().join(name);
        std::fs::write(&path, content).unwrap();
        assert_problem(&path, CaFileProblem::Truncated);
        let err = load_err(&path);
        let message = err.to_string();
        assert!(message.contains("is truncated"), "{name}: {message}");
        assert!(
            message.contains(&format!("certificate {nth} starts")),
            "{name}: {message}"
        );
        assert!(
            !message.contains("Nom") && !message.contains("Eof"),
            "{message}"
        );
        assert!(err.hint().unwrap().contains("cut short"), "{name}");
        assert_eq!(err.blame(), proxyscope::Blame::LocalConfig);
    }
}
