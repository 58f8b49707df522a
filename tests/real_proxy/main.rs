//! Tests against real third-party programs on loopback. A real HTTP/2 origin (nghttpd) for the
//! client's own HTTP/2. Real Squid and tinyproxy: the proxies'
//! own replies, the client through them, the diagnosis of their refusals (near-miss `no_proxy`
//! entries), parity with the harness's imitation, an https:// proxy, and load (through Squid
//! and through the harness proxy). The exporter (`probe serve`, module `exporter`) as a real
//! process, scraped by a real Prometheus, beside blackbox_exporter, in headless Chromium, and
//! its docs under promtool.
//!
//! This binary has its own runner (`harness = false` in Cargo.toml, libtest-mimic) for two
//! reasons libtest cannot serve:
//! - A program that is not installed (or does not start) must show as *ignored*, with the
//!   reason, never as passed: a test that finds its proxy missing ends with a
//!   [`support::Skipped`] panic (see `start_or_skip!`), an exporter test returns an ignored
//!   [`exporter::Outcome`]; the runner reports both as "ignored". Under `CI=true` the same test
//!   fails instead. When `PROXYSCOPE_TEST_SKIPPED` names a file, each ignored test is appended to
//!   it as `name<TAB>reason` (scripts/test prints them in its summary).
//! - The load tests count this process's open descriptors, so they must run alone: they take
//!   the runner's lock exclusively, every other test takes it shared.
//!
//! Every test is registered below by path; a test function that is not registered is dead
//! code, which `cargo clippy -- -D warnings` rejects, so none can be forgotten silently.

#[path = "../common/mod.rs"]
mod common;
mod support;

mod exporter;
mod load_harness;
mod load_squid;
mod real_client_squid;
mod real_client_tinyproxy;
mod real_diagnosis;
mod real_origin_nghttpd;
mod real_proxy_parity;
mod real_proxy_squid;
mod real_proxy_tinyproxy;
mod real_proxy_tls;

use std::any::Any;
use std::future::Future;
use std::io::Write as _;
use std::panic::{AssertUnwindSafe, catch_unwind, resume_unwind};
use std::sync::{Mutex, PoisonError, RwLock};

use libtest_mimic::{Arguments, Completion, Failed, Trial};

use support::Skipped;

/// Shared by every test, exclusive for the load tests.
static TURN: RwLock<()> = RwLock::new(());
/// The tests ignored in this run, with the reason, for the closing summary.
static IGNORED: Mutex<Vec<(String, String)>> = Mutex::new(Vec::new());

/// `module::path::to::test` → a trial named exactly that (libtest's name for the same test).
macro_rules! trial {
    ($kind:ident, $($path:ident)::+) => {
        $kind(
            stringify!($($path)::+).split_whitespace().collect(),
            $($path)::+,
        )
    };
}

/// `module::test` of [`exporter`] → a trial named `exporter::module::test`.
macro_rules! exporter {
    ($module:ident :: $name:ident) => {
        program(
            concat!("exporter::", stringify!($module), "::", stringify!($name)).to_owned(),
            || exporter::run(exporter::$module::$name),
        )
    };
}

fn main() {
    let args = Arguments::from_args();
    // A Skipped panic is an outcome, not a failure: keep it off stderr.
    let default_hook = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        if info.payload().downcast_ref::<Skipped>().is_none() {
            default_hook(info);
        }
    }));

    let trials = vec![
        trial!(load, load_harness::a_thousand_concurrent_tunnels_through_the_harness_proxy),
        trial!(load, load_squid::a_thousand_concurrent_tunnels_through_squid),
        trial!(shared, real_client_squid::tunnel_carries_tls_verified_with_the_providers_private_ca),
        trial!(shared, real_client_squid::private_ca_in_the_wrong_key_fails_at_the_origin_hop_through_the_tunnel),
        trial!(shared, real_client_squid::acl_deny_is_proxy_forbidden_with_err_access_denied),
        trial!(shared, real_client_squid::connect_to_a_port_outside_ssl_ports_is_proxy_forbidden),
        trial!(shared, real_client_squid::missing_credentials_are_auth_required_with_basic_and_the_realm),
        trial!(shared, real_client_squid::wrong_credentials_are_auth_rejected_and_right_ones_reach_the_origin),
        trial!(shared, real_client_squid::plain_http_carries_the_credentials_in_absolute_form),
        trial!(shared, real_client_squid::an_error_page_quoting_the_request_leaves_no_secret_in_the_evidence),
        trial!(shared, real_client_squid::unreachable_destination_is_proxy_upstream_err_connect_fail),
        trial!(shared, real_client_squid::unresolvable_destination_is_proxy_upstream),
        trial!(shared, real_client_squid::plain_http_403_from_squid_and_from_the_origin_name_different_hops),
        trial!(shared, real_client_tinyproxy::tunnel_carries_tls_verified_with_the_providers_private_ca),
        trial!(shared, real_client_tinyproxy::filtered_host_is_proxy_forbidden),
        trial!(shared, real_client_tinyproxy::connect_to_a_port_outside_connect_port_is_proxy_forbidden),
        trial!(shared, real_client_tinyproxy::missing_credentials_are_auth_required_with_basic_and_the_realm),
        trial!(shared, real_client_tinyproxy::wrong_credentials_get_401_yet_are_auth_rejected_and_right_ones_reach_the_origin),
        trial!(shared, real_client_tinyproxy::unable_to_connect_is_proxy_upstream),
        trial!(shared, real_client_tinyproxy::plain_http_403_from_tinyproxy_and_from_the_origin_name_different_hops),
        trial!(shared, real_diagnosis::squid_refusing_a_near_missed_host_leads_with_the_no_proxy_fix),
        trial!(shared, real_diagnosis::tinyproxy_filtering_a_near_missed_host_leads_with_the_no_proxy_fix),
        trial!(shared, real_diagnosis::squid_failing_an_internal_name_whose_address_is_in_no_proxy_says_so),
        trial!(shared, real_origin_nghttpd::http2_bodies_from_nghttpd_arrive_whole_on_one_connection),
        trial!(shared, real_origin_nghttpd::uploads_to_nghttpd_come_back_whole),
        trial!(shared, real_proxy_parity::denied_destination_classifies_alike),
        trial!(shared, real_proxy_parity::missing_and_wrong_credentials_classify_alike),
        trial!(shared, real_proxy_parity::refused_destination_classifies_alike),
        trial!(shared, real_proxy_parity::tunnel_and_relayed_origin_403_classify_alike),
        trial!(shared, real_proxy_squid::connect_to_a_loopback_origin_is_tunnelled),
        trial!(shared, real_proxy_squid::dstdomain_deny_is_403_err_access_denied),
        trial!(shared, real_proxy_squid::dst_allow_list_denies_other_addresses_with_403),
        trial!(shared, real_proxy_squid::domain_allow_list_and_dst_deny_combine),
        trial!(shared, real_proxy_squid::missing_credentials_get_407_with_a_basic_challenge),
        trial!(shared, real_proxy_squid::wrong_credentials_get_the_same_407_and_right_ones_open_the_tunnel),
        trial!(shared, real_proxy_squid::unreachable_destination_is_503_err_connect_fail_with_errno),
        trial!(shared, real_proxy_squid::unresolvable_destination_fails_fast_and_names_the_failure),
        trial!(shared, real_proxy_squid::connect_to_a_port_outside_ssl_ports_is_403),
        trial!(shared, real_proxy_squid::plain_http_403_from_squid_and_from_the_origin_are_told_apart),
        trial!(shared, real_proxy_tinyproxy::connect_to_a_loopback_origin_is_tunnelled),
        trial!(shared, real_proxy_tinyproxy::filtered_host_is_403_filtered),
        trial!(shared, real_proxy_tinyproxy::filter_default_deny_turns_the_list_into_an_allow_list),
        trial!(shared, real_proxy_tinyproxy::connect_to_a_port_outside_connect_port_is_403_access_violation),
        trial!(shared, real_proxy_tinyproxy::missing_credentials_get_407_with_a_basic_challenge),
        trial!(shared, real_proxy_tinyproxy::wrong_credentials_get_401_not_407_and_right_ones_open_the_tunnel),
        trial!(shared, real_proxy_tinyproxy::unreachable_destination_is_500_unable_to_connect),
        trial!(shared, real_proxy_tinyproxy::plain_http_403_from_tinyproxy_and_from_the_origin_are_told_apart),
        trial!(shared, real_proxy_tls::squid_tunnel_carries_tls_that_verifies_only_with_the_private_root),
        trial!(shared, real_proxy_tls::tinyproxy_tunnel_carries_tls_that_verifies_only_with_the_private_root),
        exporter!(endpoints::probe_reports_blackbox_names_blame_and_route),
        exporter!(endpoints::bad_requests_get_clear_4xx_and_the_server_keeps_serving),
        exporter!(endpoints::the_scrape_timeout_header_bounds_the_probe),
        exporter!(endpoints::recent_results_are_reused_and_concurrent_scrapes_share_one_probe),
        exporter!(endpoints::the_concurrency_limit_turns_excess_scrapes_into_503),
        exporter!(endpoints::reload_refuses_errors_keeps_serving_and_sighup_applies_a_fix),
        exporter!(endpoints::reload_storms_during_scrapes_never_crash),
        exporter!(endpoints::ca_files_are_read_once_per_generation),
        exporter!(endpoints::secrets_stay_out_of_every_output_and_log),
        exporter!(connections::idle_sockets_cannot_keep_a_scrape_out),
        exporter!(connections::when_every_connection_is_busy_a_new_one_gets_503_unread),
        exporter!(prometheus_server::a_real_prometheus_scrapes_the_documented_config),
        exporter!(blackbox::side_by_side_with_blackbox_exporter),
        exporter!(browser::the_status_page_renders_in_headless_chromium),
        exporter!(docs::alert_rules_pass_promtool_and_their_unit_tests),
        exporter!(docs::the_dashboard_queries_only_metrics_the_exporter_emits),
        trial!(unit, support::tests::credentials_debug_hides_the_password),
        trial!(unit, support::dns::tests::nxdomain_reply_keeps_id_and_question_and_sets_rcode_3),
        trial!(unit, support::dns::tests::nxdomain_reply_ignores_answers_and_garbage),
    ];

    let conclusion = libtest_mimic::run(&args, trials);
    let ignored = IGNORED.lock().unwrap_or_else(PoisonError::into_inner);
    if !ignored.is_empty() {
        println!(
            "real_proxy: {} test(s) ignored because a program they need is unavailable:",
            ignored.len()
        );
        for (name, reason) in ignored.iter() {
            println!("  {name}: {reason}");
        }
    }
    conclusion.exit();
}

/// An async test on a current-thread runtime (what `#[tokio::test]` builds), alongside others.
fn shared<F: Future<Output = ()> + 'static>(name: String, test: fn() -> F) -> Trial {
    let label = name.clone();
    Trial::ignorable_test(name, move || {
        let _turn = TURN.read().unwrap_or_else(PoisonError::into_inner);
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("a Tokio runtime");
        outcome(
            &label,
            catch_unwind(AssertUnwindSafe(|| runtime.block_on(test()))),
        )
    })
}

/// A load test: two worker threads (as `#[tokio::test(flavor = "multi_thread", worker_threads =
/// 2)]`), with no other test running in the process.
fn load<F: Future<Output = ()> + 'static>(name: String, test: fn() -> F) -> Trial {
    let label = name.clone();
    Trial::ignorable_test(name, move || {
        let _alone = TURN.write().unwrap_or_else(PoisonError::into_inner);
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .expect("a Tokio runtime");
        outcome(
            &label,
            catch_unwind(AssertUnwindSafe(|| runtime.block_on(test()))),
        )
    })
}

/// A test that reports its own outcome (an exporter test: ignored when its program is missing),
/// alongside others; its ignored outcome is recorded for the summary.
fn program(name: String, test: fn() -> exporter::Outcome) -> Trial {
    let label = name.clone();
    Trial::ignorable_test(name, move || {
        let _turn = TURN.read().unwrap_or_else(PoisonError::into_inner);
        let outcome = test();
        if let Ok(Completion::Ignored { reason }) = &outcome {
            record_ignored(&label, reason.as_deref().unwrap_or("no reason given"));
        }
        outcome
    })
}

/// A plain `#[test]` of the support code.
fn unit(name: String, test: fn()) -> Trial {
    Trial::test(name, move || {
        let _turn = TURN.read().unwrap_or_else(PoisonError::into_inner);
        test();
        Ok(())
    })
}

/// Passed, ignored (a [`Skipped`] unwind, recorded for the summary) or failed (any other panic,
/// re-raised for the runner to report with its message).
fn outcome(name: &str, result: Result<(), Box<dyn Any + Send>>) -> Result<Completion, Failed> {
    match result {
        Ok(()) => Ok(Completion::Completed),
        Err(payload) => match payload.downcast::<Skipped>() {
            Ok(skipped) => {
                let reason = skipped.0;
                record_ignored(name, &reason);
                Ok(Completion::ignored_with(reason))
            }
            Err(other) => resume_unwind(other),
        },
    }
}

fn record_ignored(name: &str, reason: &str) {
    IGNORED
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .push((name.to_owned(), reason.to_owned()));
    if let Some(path) = std::env::var_os("PROXYSCOPE_TEST_SKIPPED") {
        let line = format!("{name}\t{reason}\n");
        let written = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&path)
            .and_then(|mut f| f.write_all(line.as_bytes()));
        if let Err(err) = written {
            eprintln!("real_proxy: cannot record the ignored test in {path:?}: {err}");
        }
    }
}
