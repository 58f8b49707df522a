//! Configurations built to be slow or loud to read: a megabyte of NUL bytes in a comment (a
//! million syntax errors to the TOML parser; `lint` took 36 s and printed 174 MB), a
//! 160,000-entry `no_proxy` array on one line (18 s, every position counted from the line's
//! start), 174,000 duplicate keys, a megabyte-long key. Each is read with at most
//! `MAX_DIAGNOSTICS` findings and a summary of the rest, positions stay exact, and what `probe
//! lint` prints stays small. Sizes and counts are asserted, never times.

use proxyscope::config::{Config, ConfigDocument, MAX_DIAGNOSTICS};
use proxyscope::{EnvSnapshot, Provenance};

use super::bounded_probe;
use super::peak;
use crate::common::probe::{ConfigFile, probe_at};

fn no_env() -> EnvSnapshot {
    EnvSnapshot::from_pairs(Vec::<(String, String)>::new())
}

/// `(text, how many errors it holds)`.
fn floods() -> Vec<(&'static str, String, usize)> {
    let mib = 1 << 20;
    vec![
        (
            "NUL bytes in a comment",
            format!("# {}\n", "\0".repeat(mib)),
            mib,
        ),
        ("NUL lines", "\0\n".repeat(mib / 2), mib),
        // Every repeat is a duplicate, and `a` is no setting: one `unknown_key` more.
        ("duplicate keys", "a = 1\n".repeat(mib / 6), mib / 6),
    ]
}

#[test]
fn a_flood_of_errors_is_reported_as_the_first_hundred_and_a_count() {
    // Megabytes of text and tokens: kept out of other tests' memory measurements.
    let _one = peak::exclusive();
    for (what, text, errors) in floods() {
        let doc = ConfigDocument::from_toml_str(&text, "/etc/p/flood.toml");
        let d = doc.lint(&no_env());
        assert_eq!(d.len(), MAX_DIAGNOSTICS + 1, "{what}");
        let last = d.last().unwrap();
        assert_eq!(last.code, "diagnostics.truncated", "{what}");
        assert!(last.is_error());
        let more = errors - MAX_DIAGNOSTICS;
        assert!(
            last.message
                .starts_with(&format!("and {more} more ({more} errors)")),
            "{what}: {}",
            last.message
        );
        let e = doc.to_config().unwrap_err();
        assert_eq!(e.code(), "config.invalid");
        assert_eq!(e.evidence().diagnostics.len(), MAX_DIAGNOSTICS + 1);
        // Everything printed about it is bounded too.
        let printed: usize = d.iter().map(|d| d.to_string().len()).sum();
        assert!(printed < 64 * 1024, "{what}: {printed} bytes");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn probe_lint_prints_little_for_a_flood() {
    for (what, text, _) in floods() {
        let cfg = ConfigFile::new(&text);
        let path = cfg.path().display().to_string();
        for format in ["text", "json"] {
            let run = probe_at(
                &bounded_probe(),
                &["lint", "--config", &path, "--format", format],
            )
            .await;
            assert_eq!(run.code, Some(2), "{what}: {}", run.stderr);
            assert!(
                run.stdout.len() < 64 * 1024,
                "{what} {format}: {} bytes",
                run.stdout.len()
            );
            if format == "json" {
                let v = run.json();
                let diags = v["diagnostics"].as_array().unwrap();
                assert_eq!(diags.len(), MAX_DIAGNOSTICS + 1);
                assert_eq!(diags[MAX_DIAGNOSTICS]["code"], "diagnostics.truncated");
            }
        }
    }
}

#[test]
fn a_long_line_of_no_proxy_entries_keeps_exact_positions() {
    let _one = peak::exclusive();
    let n = 160_000;
    let entries: Vec<String> = (0..n).map(|i| format!("\"h{i}.example.org\"")).collect();
    // A non-ASCII character first, so columns must be counted in characters, not bytes.
    let text = format!(
        "# é\nno_proxy = [{}]\n[providers.p]\nurl = \"http://p.test\"\nproxy = \"direct\"\n",
        entries.join(",")
    );
    let cfg = Config::from_toml_str(&text, "/etc/p/long.toml").unwrap();
    let np = cfg.global_layer().no_proxy.as_ref().unwrap();
    assert_eq!(np.value.entries().len(), n);
    assert!(matches!(
        &np.origin,
        Provenance::File {
            line: 2,
            col: 1,
            ..
        }
    ));
    let url = &cfg.provider("p").unwrap().url().origin;
    assert!(
        matches!(
            url,
            Provenance::File {
                line: 4,
                col: 1,
                ..
            }
        ),
        "{url:?}"
    );

    // The same entries, each one a mistake: one finding each, the positions of the last ones
    // exact, and no more than the cap reported.
    let bad: Vec<String> = (0..n).map(|i| format!("\"http://h{i}.test/\"")).collect();
    let line = format!("no_proxy = [{}]\n", bad.join(","));
    let d =
        ConfigDocument::from_toml_str(&format!("# é\n{line}"), "/etc/p/bad.toml").lint(&no_env());
    assert_eq!(d.len(), MAX_DIAGNOSTICS + 1);
    assert_eq!(d[0].location.as_deref(), Some("/etc/p/bad.toml:2:13"));
    let second = 13 + bad[0].len() + 1;
    assert_eq!(
        d[1].location.as_deref(),
        Some(format!("/etc/p/bad.toml:2:{second}").as_str())
    );
    assert_eq!(d[MAX_DIAGNOSTICS].code, "diagnostics.truncated");
}

#[test]
fn a_megabyte_key_is_quoted_briefly() {
    let _one = peak::exclusive();
    let text = format!("a{} = 1\n", "k".repeat(1 << 20));
    let d = ConfigDocument::from_toml_str(&text, "k.toml").lint(&no_env());
    assert_eq!(d.len(), 1);
    assert_eq!(d[0].code, "unknown_key");
    assert!(
        d[0].to_string().len() < 8 * 1024,
        "{} bytes",
        d[0].to_string().len()
    );
}
