//! The human rendering of a [`Report`]: the Nagios status line first (so the same output feeds a
//! plugin runner), then a table of checks, then for every check that needs attention the
//! diagnosis — code, hop and phase, the proxy's reply, the certificate, the hint.
//!
//! Every line after the first is Nagios long text, where a `|` starts perfdata: each line is
//! written through [`escape::nagios`], so names, messages and what peers sent can neither
//! break a line nor start perfdata.
//!
//! Colour is used only on a terminal and never when `NO_COLOR` is set to a non-empty value
//! (<https://no-color.org>); [`use_color`] makes that decision from its inputs, so it is tested
//! without a terminal.

use super::escape;
use super::nagios::{self, State};
use super::report::{CheckResult, Report, ms};

/// Writes one formatted line through [`escape::nagios`].
macro_rules! line {
    ($out:expr, $($arg:tt)*) => {{
        let text = format!($($arg)*);
        $out.push_str(&escape::nagios(&text));
        $out.push('\n');
    }};
}

/// Whether to colour the output: only on a terminal, and not when `NO_COLOR` is non-empty.
pub fn use_color(is_terminal: bool, no_color: Option<&std::ffi::OsStr>) -> bool {
    is_terminal && no_color.is_none_or(|v| v.is_empty())
}

/// Renders the report for people. `color` adds ANSI colours to the states.
pub fn render(report: &Report, color: bool) -> String {
    let mut out = nagios::status_line(report);
    out.push('\n');
    if let Some(e) = &report.error {
        out.push('\n');
        line!(out, "the probe could not run: {} [{}]", e.message, e.code);
        for d in &e.diagnostics {
            line!(out, "  {d}");
        }
        if let Some(h) = &e.hint {
            line!(out, "  hint: {h}");
        }
        return out;
    }
    if report.checks.is_empty() {
        out.push_str("\nno checks configured\n");
        return out;
    }

    let header = ["STATE", "CHECK", "STATUS", "ROUTE", "TIME", "RESULT"];
    let rows: Vec<[String; 6]> = report.checks.iter().map(row).collect();
    let mut widths = header.map(str::len);
    for r in &rows {
        for (w, cell) in widths.iter_mut().zip(r.iter()) {
            *w = (*w).max(cell.chars().count());
        }
    }
    out.push('\n');
    push_row(&mut out, &header.map(str::to_owned), &widths, None, color);
    for (r, c) in rows.iter().zip(&report.checks) {
        push_row(&mut out, r, &widths, Some(c.state), color);
    }

    for c in report
        .checks
        .iter()
        .filter(|c| c.error.is_some() || !c.warnings.is_empty())
    {
        out.push('\n');
        details(&mut out, c, color);
    }
    out.push('\n');
    line!(
        out,
        "{} checks in {:.0} ms",
        report.checks.len(),
        ms(report.duration)
    );
    out
}

fn row(c: &CheckResult) -> [String; 6] {
    let status = c.status.map_or_else(|| "-".to_owned(), |s| s.to_string());
    // The table shows where the request went; the details say why.
    let route = c.route.as_ref().map_or_else(
        || "-".to_owned(),
        |r| match r.proxy() {
            Some(p) => format!("via {}", p.without_credentials()),
            None => "direct".to_owned(),
        },
    );
    let time = c
        .timings
        .total
        .map_or_else(|| "-".to_owned(), |d| format!("{:.0} ms", ms(d)));
    let result = match &c.error {
        Some(e) => e.code().to_owned(),
        None if !c.warnings.is_empty() => "ok, see below".to_owned(),
        None => "ok".to_owned(),
    };
    [
        c.state.as_str().to_owned(),
        c.id(),
        status,
        route,
        time,
        result,
    ]
    .map(|cell| escape::nagios(&cell).into_owned())
}

fn push_row(
    out: &mut String,
    cells: &[String; 6],
    widths: &[usize; 6],
    state: Option<State>,
    color: bool,
) {
    let mut line = String::new();
    for (i, (cell, w)) in cells.iter().zip(widths).enumerate() {
        let pad = w.saturating_sub(cell.chars().count());
        let painted = match (i, state) {
            (0, Some(s)) => paint(cell, s, color),
            _ => cell.clone(),
        };
        line.push_str(&painted);
        if i + 1 < cells.len() {
            line.push_str(&" ".repeat(pad + 2));
        }
    }
    out.push_str(line.trim_end());
    out.push('\n');
}

fn details(out: &mut String, c: &CheckResult, color: bool) {
    // The colour codes are ours; everything after them goes through the escaping.
    out.push_str(&paint(c.state.as_str(), c.state, color));
    line!(out, " {} {} {}", c.id(), c.method, c.url);
    if let Some(e) = &c.error {
        let hop = e.hop.map_or("-", |h| h.as_str());
        line!(
            out,
            "  error[{}]: {} (hop: {hop}, phase: {}, blame: {})",
            e.code(),
            e.message,
            e.phase,
            e.blame
        );
        let ev = &e.evidence;
        if let Some(r) = &ev.proxy_reply {
            line!(out, "  proxy replied: {} {}", r.status, r.reason);
            for (n, v) in &r.headers {
                line!(out, "    {n}: {v}");
            }
        }
        if let Some(s) = ev.status {
            line!(out, "  status: {s}");
        }
        if let Some(x) = &ev.expected {
            line!(out, "  expected: {x}");
        }
        for a in &ev.addresses {
            if let Some(err) = &a.error {
                line!(out, "  tried {}: {err}", a.addr);
            }
        }
        if let Some(cause) = &ev.cause {
            line!(out, "  cause: {cause}");
        }
    }
    if let Some(route) = &c.route {
        line!(out, "  route: {}", route.summary());
        // A failed check shows what the route's steps warned about: a near-miss no_proxy entry,
        // an ignored variable, another tool's reading — often the cause itself.
        if c.error.is_some() {
            for w in route.warnings() {
                line!(out, "  route warning: {} [{}]", w.message, w.code);
            }
        }
    }
    if let Some(cert) = &c.certificate {
        line!(
            out,
            "  certificate: {} issued by {}, {} days left{}",
            cert.subject,
            cert.issuer,
            cert.days_left,
            if cert.verified { "" } else { " (not verified)" }
        );
    }
    for w in &c.warnings {
        line!(out, "  warning: {w}");
    }
    let phases = c.timings.phases();
    if !phases.is_empty() {
        let list: Vec<String> = phases
            .iter()
            .map(|(n, d)| format!("{n} {:.1}", ms(*d)))
            .collect();
        line!(out, "  timings ms: {}", list.join(", "));
    }
    if let Some(h) = c.error.as_ref().and_then(|e| e.hint.as_deref()) {
        line!(out, "  hint: {h}");
    }
}

fn paint(text: &str, state: State, color: bool) -> String {
    if !color {
        return text.to_owned();
    }
    let code = match state {
        State::Ok => "32",
        State::Warning => "33",
        State::Critical => "31",
        State::Unknown => "35",
    };
    format!("\x1b[1;{code}m{text}\x1b[0m")
}

#[cfg(test)]
mod tests {
    use std::ffi::OsStr;
    use std::time::Duration;

    use super::*;
    use crate::error::{Error, ErrorKind, ProxyReply};
    use crate::probe::report::CheckError;

    fn report() -> Report {
        let mut ok = CheckResult::new("apertium", "pairs", "GET", "http://a.test/listPairs");
        ok.status = Some(200);
        ok.timings.total = Some(Duration::from_millis(3));
        let mut bad = CheckResult::new("yandex", "default", "GET", "https://y.test/");
        bad.fail(CheckError::from_error(
            &Error::new(ErrorKind::ProxyForbidden)
                .with_hint("give yandex its own proxy")
                .map_evidence(|e| {
                    e.proxy_reply = Some(ProxyReply {
                        status: 403,
                        reason: "Forbidden".into(),
                        headers: vec![("X-Squid-Error".into(), "ERR_ACCESS_DENIED 0".into())],
                        ..ProxyReply::default()
                    });
                }),
        ));
        Report::new(vec![ok, bad], Duration::from_millis(4))
    }

    #[test]
    fn colour_only_on_a_terminal_without_no_color() {
        assert!(use_color(true, None));
        assert!(use_color(true, Some(OsStr::new(""))));
        assert!(!use_color(true, Some(OsStr::new("1"))));
        assert!(!use_color(false, None));
    }

    #[test]
    fn table_then_details_with_code_evidence_and_hint() {
        let text = render(&report(), false);
        let mut lines = text.lines();
        assert!(lines.next().unwrap().starts_with("PROXYSCOPE CRITICAL - "));
        assert!(text.contains("STATE"));
        let ok_row = text
            .lines()
            .skip(1)
            .find(|l| l.contains("apertium/pairs"))
            .unwrap();
        assert!(ok_row.starts_with("OK "));
        assert!(ok_row.contains("200"));
        assert!(text.contains("error[proxy.forbidden]"));
        assert!(text.contains("X-Squid-Error: ERR_ACCESS_DENIED 0"));
        assert!(text.contains("hint: give yandex its own proxy"));
        assert!(!text.contains('\x1b'));
    }

    #[test]
    fn colour_wraps_states() {
        let text = render(&report(), true);
        assert!(text.contains("\x1b[1;31mCRITICAL\x1b[0m"));
        assert!(text.contains("\x1b[1;32mOK\x1b[0m"));
    }

    #[test]
    fn config_failure_lists_why() {
        let text = render(
            &Report::not_run(&Error::new(ErrorKind::ConfigInvalid).with_hint("fix it")),
            false,
        );
        assert!(text.starts_with("PROXYSCOPE UNKNOWN"));
        assert!(text.contains("hint: fix it"));
    }
}
