//! The exporter (`probe serve`), end to end: its endpoints as a real process against the harness,
//! scraped by a real Prometheus, side by side with Prometheus's blackbox_exporter, its status
//! page in a real headless Chromium, and the monitoring docs checked by promtool.
//!
//! A custom harness (libtest-mimic) so that a test whose external program is missing is
//! reported as ignored with the reason — visibly not passed — and fails under `CI=true`. When
//! `PROXYSCOPE_TEST_SKIPPED` names a file, each ignored test is appended to it as
//! `name<TAB>reason` (scripts/test prints them in its summary).

#[path = "../common/mod.rs"]
mod common;

mod blackbox;
mod browser;
mod docs;
mod endpoints;
mod prometheus_server;
mod support;

use std::io::Write as _;

use libtest_mimic::{Arguments, Completion, Trial};

use support::{Outcome, run};

macro_rules! trials {
    ($($module:ident :: $name:ident),* $(,)?) => {
        vec![$(
            Trial::ignorable_test(
                concat!(stringify!($module), "::", stringify!($name)),
                || -> Outcome {
                    record(
                        concat!(stringify!($module), "::", stringify!($name)),
                        run($module::$name),
                    )
                },
            )
        ),*]
    };
}

/// Notes an ignored test for scripts/test's summary.
fn record(name: &str, outcome: Outcome) -> Outcome {
    if let (Ok(Completion::Ignored { reason }), Some(path)) =
        (&outcome, std::env::var_os("PROXYSCOPE_TEST_SKIPPED"))
    {
        let reason = reason.as_deref().unwrap_or("no reason given");
        if let Ok(mut f) = std::fs::OpenOptions::new()
            .append(true)
            .create(true)
            .open(path)
        {
            let _ = writeln!(f, "exporter::{name}\t{reason}");
        }
    }
    outcome
}

fn main() {
    let args = Arguments::from_args();
    let trials = trials![
        endpoints::probe_reports_blackbox_names_blame_and_route,
        endpoints::bad_requests_get_clear_4xx_and_the_server_keeps_serving,
        endpoints::the_scrape_timeout_header_bounds_the_probe,
        endpoints::recent_results_are_reused_and_concurrent_scrapes_share_one_probe,
        endpoints::the_concurrency_limit_turns_excess_scrapes_into_503,
        endpoints::reload_refuses_errors_keeps_serving_and_sighup_applies_a_fix,
        endpoints::reload_storms_during_scrapes_never_crash,
        endpoints::ca_files_are_read_once_per_generation,
        endpoints::secrets_stay_out_of_every_output_and_log,
        prometheus_server::a_real_prometheus_scrapes_the_documented_config,
        blackbox::side_by_side_with_blackbox_exporter,
        browser::the_status_page_renders_in_headless_chromium,
        docs::alert_rules_pass_promtool_and_their_unit_tests,
        docs::the_dashboard_queries_only_metrics_the_exporter_emits,
    ];
    libtest_mimic::run(&args, trials).exit();
}
