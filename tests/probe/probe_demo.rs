//! `probe` with no arguments runs the demo: the six 2015 failures replayed on the harness. The
//! demo checks itself — it exits 0 only when every scenario behaved as described — so running it
//! as a process is the test.

use crate::common::probe::probe;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn probe_without_arguments_replays_every_2015_failure_and_exits_0() {
    let run = probe(&[]).await;
    assert_eq!(
        run.code,
        Some(0),
        "stdout:\n{}\nstderr:\n{}",
        run.stdout,
        run.stderr
    );
    let verdicts: Vec<&str> = run
        .stdout
        .lines()
        .filter(|l| l.contains("verdict:"))
        .collect();
    assert_eq!(verdicts.len(), 6, "{}", run.stdout);
    assert!(verdicts.iter().all(|v| v.contains("PASS")), "{verdicts:?}");
    // Each scenario shows the broken config, the diagnosis, the fix and the re-run.
    for label in ["broken:", "diagnosis:", "fix:", "re-run:"] {
        assert!(
            run.stdout
                .lines()
                .filter(|l| l.trim_start().starts_with(label))
                .count()
                >= 6,
            "fewer than 6 `{label}` sections:\n{}",
            run.stdout
        );
    }
    // The codes proxyscope gives for the 2015 failures.
    for code in [
        "proxy.forbidden",
        "no_proxy.url",
        "misplaced_key",
        "tls.unknown_issuer",
        "http.status",
    ] {
        assert!(run.stdout.contains(code), "{code} missing from the demo");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn probe_demo_quiet_prints_only_verdicts() {
    let run = probe(&["demo", "--quiet"]).await;
    assert_eq!(run.code, Some(0), "{}", run.stdout);
    assert!(run.stdout.contains("all 6 scenarios behaved as described"));
    assert!(!run.stdout.contains("broken:"));
}
