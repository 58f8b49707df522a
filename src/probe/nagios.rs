//! Nagios plugin conventions: the [`State`] of a run as the exit code (0 OK, 1 WARNING,
//! 2 CRITICAL, 3 UNKNOWN) and the status line with performance data
//! (`'label'=value[UOM];warn;crit;min;max`).
//!
//! UNKNOWN is only for the probe's own failures (the configuration cannot be loaded). Name
//! resolution failures and timeouts are outside the probe's control and count as CRITICAL, as the
//! plugin guidelines say.

use std::fmt::Write as _;

use super::escape;
use super::report::{CERT_WARN_DAYS, Report};
pub use super::state::State;

/// The plugin exit code for a run.
pub fn exit_code(report: &Report) -> u8 {
    report.state().exit_code()
}

/// The first line of plugin output: `PROXYSCOPE <STATE> - <summary> | <perfdata>`. Names and
/// messages in the summary go through [`escape::nagios`], so the only `|` is the separator.
pub fn status_line(report: &Report) -> String {
    let state = report.state();
    let summary = escape::nagios(&summary(report)).into_owned();
    let perf = perfdata(report);
    if perf.is_empty() {
        format!("PROXYSCOPE {state} - {summary}")
    } else {
        format!("PROXYSCOPE {state} - {summary} | {perf}")
    }
}

fn summary(report: &Report) -> String {
    if let Some(e) = &report.error {
        return format!("probe could not run: {} ({})", one_line(&e.message), e.code);
    }
    let total = report.checks.len();
    let failed: Vec<String> = report
        .checks
        .iter()
        .filter_map(|c| c.error.as_ref().map(|e| format!("{} {}", c.id(), e.code())))
        .collect();
    let warned: Vec<String> = report
        .checks
        .iter()
        .filter(|c| c.error.is_none() && !c.warnings.is_empty())
        .map(|c| format!("{} certificate", c.id()))
        .collect();
    let mut out = if failed.is_empty() {
        format!("{total} of {total} checks ok")
    } else {
        format!(
            "{} of {total} checks failed: {}",
            failed.len(),
            failed.join(", ")
        )
    };
    if !warned.is_empty() {
        let _ = write!(out, "; attention: {}", warned.join(", "));
    }
    out
}

/// Space-separated perfdata for every check: its total time in seconds, and the days left on its
/// certificate with the warning (`14:`) and critical (`0:`) thresholds.
pub fn perfdata(report: &Report) -> String {
    let mut items = Vec::new();
    for c in &report.checks {
        let id = c.id();
        if let Some(total) = c.timings.total {
            items.push(format!(
                "{}={:.6}s;;;0",
                quote_label(&format!("{id} time")),
                total.as_secs_f64()
            ));
        }
        if let Some(cert) = &c.certificate {
            items.push(format!(
                "{}={};{CERT_WARN_DAYS}:;0:;;",
                quote_label(&format!("{id} cert_days")),
                cert.days_left
            ));
        }
    }
    items.join(" ")
}

/// Quotes a perfdata label: always in single quotes, a quote doubled. `|`, `=` and control
/// characters would break parsers even when quoted, so they become `_`.
pub fn quote_label(label: &str) -> String {
    let cleaned: String = label
        .chars()
        .map(|c| match c {
            '|' | '=' => '_',
            c if c.is_control() || c == '\u{2028}' || c == '\u{2029}' => '_',
            c => c,
        })
        .collect();
    format!("'{}'", cleaned.replace('\'', "''"))
}

fn one_line(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::error::{Error, ErrorKind};
    use crate::probe::report::{CheckError, CheckResult};

    fn ok(provider: &str, ms: u64) -> CheckResult {
        let mut r = CheckResult::new(provider, "default", "GET", "http://o.test/");
        r.status = Some(200);
        r.timings.total = Some(Duration::from_millis(ms));
        r
    }

    #[test]
    fn states_order_and_exit_codes() {
        assert!(State::Ok < State::Warning && State::Warning < State::Critical);
        assert!(State::Critical < State::Unknown);
        let codes: Vec<u8> = [State::Ok, State::Warning, State::Critical, State::Unknown]
            .iter()
            .map(|s| s.exit_code())
            .collect();
        assert_eq!(codes, [0, 1, 2, 3]);
    }

    #[test]
    fn run_state_is_the_worst_check() {
        let mut bad = ok("b", 5);
        bad.fail(CheckError::from_error(&Error::new(
            ErrorKind::ProxyForbidden,
        )));
        let mut soft = ok("c", 5);
        soft.fail(CheckError::from_error(&Error::new(ErrorKind::HttpBody)));
        let r = Report::new(vec![ok("a", 1)], Duration::ZERO);
        assert_eq!(exit_code(&r), 0);
        let r = Report::new(vec![ok("a", 1), soft.clone()], Duration::ZERO);
        assert_eq!(exit_code(&r), 1);
        let r = Report::new(vec![ok("a", 1), soft, bad], Duration::ZERO);
        assert_eq!(exit_code(&r), 2);
        let r = Report::not_run(&Error::new(ErrorKind::ConfigInvalid));
        assert_eq!(exit_code(&r), 3);
        // No checks at all is not a failure of any check.
        assert_eq!(exit_code(&Report::new(vec![], Duration::ZERO)), 0);
    }

    #[test]
    fn status_line_has_state_summary_and_perfdata() {
        let mut bad = ok("yandex", 7);
        bad.fail(CheckError::from_error(&Error::new(
            ErrorKind::ProxyForbidden,
        )));
        let r = Report::new(vec![ok("apertium", 231), bad], Duration::ZERO);
        let line = status_line(&r);
        assert!(line.starts_with("PROXYSCOPE CRITICAL - 1 of 2 checks failed: "));
        assert!(line.contains("yandex/default proxy.forbidden"));
        let (_, perf) = line.split_once(" | ").unwrap();
        assert_eq!(perf.matches("'=").count(), 2);
        assert!(perf.starts_with("'apertium/default time'=0.231000s;;;0"));
    }

    #[test]
    fn labels_are_quoted_and_escaped() {
        assert_eq!(quote_label("a b"), "'a b'");
        assert_eq!(quote_label("it's"), "'it''s'");
        assert_eq!(quote_label("a=b|c"), "'a_b_c'");
        assert_eq!(quote_label("a\nb\u{1b}"), "'a_b_'");
    }

    #[test]
    fn unknown_run_says_why() {
        let r = Report::not_run(&Error::new(ErrorKind::ConfigInvalid).with_message("bad\nfile"));
        assert_eq!(
            status_line(&r),
            "PROXYSCOPE UNKNOWN - probe could not run: bad file (config.invalid)"
        );
    }
}
