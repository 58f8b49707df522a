//! Prometheus text exposition of a [`Report`], with blackbox_exporter's metric names where they
//! exist so existing dashboards and alerts work, `provider`/`check` labels on every series,
//! `proxyscope_check_error{code,blame,hop}` for the failure reason and who must act on it, and
//! `proxyscope_route_info{via,proxy}` for the route taken. Every label comes from a bounded set
//! (codes, blame, hop, the configured proxies): never message text, never credentials.
//!
//! Unlike blackbox_exporter, `probe_ssl_earliest_cert_expiry` is reported from the presented
//! chain even when verification failed, so expiry alerting does not go silent exactly when a
//! certificate is rejected.

use std::fmt::Write as _;

use super::blame;
use super::escape;
use super::report::{CheckResult, Report};

/// Phase label values of `probe_http_duration_seconds`: blackbox_exporter's names (`resolve`,
/// `connect`, `tls`, `processing`, `transfer`) plus `proxy`, the proxy handshake that
/// blackbox_exporter counts in no phase.
pub const PHASES: [&str; 6] = [
    "resolve",
    "connect",
    "proxy",
    "tls",
    "processing",
    "transfer",
];

/// Renders the report in the Prometheus text format (version 0.0.4).
pub fn render(report: &Report) -> String {
    let mut out = String::new();
    let checks = &report.checks;

    family(
        &mut out,
        "probe_success",
        "gauge",
        "Whether the check met every expectation (1) or not (0).",
    );
    for c in checks {
        sample(&mut out, "probe_success", &labels(c, &[]), bool_num(c.ok));
    }

    family(
        &mut out,
        "probe_http_status_code",
        "gauge",
        "HTTP status of the response; 0 when no response arrived.",
    );
    for c in checks {
        let status = c.status.map_or(0.0, f64::from);
        sample(&mut out, "probe_http_status_code", &labels(c, &[]), status);
    }

    family(
        &mut out,
        "probe_duration_seconds",
        "gauge",
        "Wall time of the whole check.",
    );
    for c in checks {
        let total = c.timings.total.map_or(0.0, |d| d.as_secs_f64());
        sample(&mut out, "probe_duration_seconds", &labels(c, &[]), total);
    }

    family(
        &mut out,
        "probe_dns_lookup_time_seconds",
        "gauge",
        "Time the first name resolution of the check took (the proxy's name when there is one).",
    );
    for c in checks {
        let secs = c.timings.connection.dns.map_or(0.0, |d| d.as_secs_f64());
        sample(
            &mut out,
            "probe_dns_lookup_time_seconds",
            &labels(c, &[]),
            secs,
        );
    }

    family(
        &mut out,
        "probe_http_duration_seconds",
        "gauge",
        "Duration of each phase of the check; proxy is the CONNECT/SOCKS handshake.",
    );
    for c in checks {
        let t = &c.timings;
        let conn = &t.connection;
        let values = [
            conn.dns,
            conn.connect,
            conn.proxy,
            conn.tls,
            t.first_byte,
            t.transfer,
        ];
        for (phase, d) in PHASES.iter().zip(values) {
            // A phase that did not run is 0, as blackbox_exporter reports it.
            let secs = d.map_or(0.0, |d| d.as_secs_f64());
            sample(
                &mut out,
                "probe_http_duration_seconds",
                &labels(c, &[("phase", phase)]),
                secs,
            );
        }
    }

    let with_cert: Vec<&CheckResult> = checks.iter().filter(|c| c.certificate.is_some()).collect();
    if !with_cert.is_empty() {
        family(
            &mut out,
            "probe_ssl_earliest_cert_expiry",
            "gauge",
            "Earliest notAfter in the presented chain, Unix seconds, also when verification failed.",
        );
        for c in &with_cert {
            if let Some(cert) = &c.certificate {
                sample(
                    &mut out,
                    "probe_ssl_earliest_cert_expiry",
                    &labels(c, &[]),
                    cert.chain_earliest_not_after as f64,
                );
            }
        }
        family(
            &mut out,
            "proxyscope_ssl_verified",
            "gauge",
            "Whether the presented chain verified against the configured trust (1) or not (0).",
        );
        for c in &with_cert {
            if let Some(cert) = &c.certificate {
                sample(
                    &mut out,
                    "proxyscope_ssl_verified",
                    &labels(c, &[]),
                    bool_num(cert.verified),
                );
            }
        }
    }

    family(
        &mut out,
        "proxyscope_check_error",
        "gauge",
        "1 for a failed check, labelled with the stable error code, who must act (blame) and the failing hop.",
    );
    for c in checks {
        if let Some(e) = &c.error {
            let hop = e.hop.map_or("none", |h| h.as_str());
            let extra = [("code", e.code()), ("blame", blame::of(e)), ("hop", hop)];
            sample(&mut out, "proxyscope_check_error", &labels(c, &extra), 1.0);
        }
    }

    family(
        &mut out,
        "proxyscope_route_info",
        "gauge",
        "The route the check took: via direct or proxy, and the proxy as scheme://host:port (never credentials).",
    );
    for c in checks {
        if let Some(route) = &c.route {
            let proxy = route.proxy().map(|p| p.without_credentials());
            let via = if route.is_direct() { "direct" } else { "proxy" };
            let extra = [("via", via), ("proxy", proxy.as_deref().unwrap_or(""))];
            sample(&mut out, "proxyscope_route_info", &labels(c, &extra), 1.0);
        }
    }

    family(
        &mut out,
        "proxyscope_check_state",
        "gauge",
        "Nagios state of the check: 0 OK, 1 WARNING, 2 CRITICAL.",
    );
    for c in checks {
        sample(
            &mut out,
            "proxyscope_check_state",
            &labels(c, &[]),
            f64::from(c.state.exit_code()),
        );
    }

    family(
        &mut out,
        "proxyscope_probe_up",
        "gauge",
        "Whether the probe could run at all (0 when the configuration failed to load).",
    );
    sample(
        &mut out,
        "proxyscope_probe_up",
        "",
        bool_num(report.error.is_none()),
    );
    out
}

fn family(out: &mut String, name: &str, kind: &str, help: &str) {
    let _ = writeln!(out, "# HELP {name} {help}");
    let _ = writeln!(out, "# TYPE {name} {kind}");
}

fn sample(out: &mut String, name: &str, labels: &str, value: f64) {
    let _ = writeln!(out, "{name}{labels} {}", number(value));
}

fn labels(c: &CheckResult, extra: &[(&str, &str)]) -> String {
    let mut parts = vec![
        format!("provider=\"{}\"", escape(&c.provider)),
        format!("check=\"{}\"", escape(&c.name)),
    ];
    for (k, v) in extra {
        parts.push(format!("{k}=\"{}\"", escape(v)));
    }
    format!("{{{}}}", parts.join(","))
}

/// Escapes a label value: backslash, double quote and line feed, as the text format requires,
/// and other control characters replaced (see [`escape::prometheus_label`]).
pub fn escape(value: &str) -> String {
    escape::prometheus_label(value)
}

fn number(v: f64) -> String {
    if v.fract() == 0.0 && v.abs() < 1e15 {
        format!("{}", v as i64)
    } else {
        format!("{v}")
    }
}

fn bool_num(b: bool) -> f64 {
    if b { 1.0 } else { 0.0 }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::error::{Error, ErrorKind};
    use crate::probe::report::{CERT_WARN_DAYS, Certificate, CheckError};

    fn report() -> Report {
        let mut ok = CheckResult::new("yandex", "languages", "GET", "https://o.test/");
        ok.status = Some(200);
        ok.timings.total = Some(Duration::from_millis(250));
        ok.timings.connection.tls = Some(Duration::from_millis(5));
        ok.timings.connection.dns = Some(Duration::from_millis(2));
        let proxy = crate::proxy::ProxyUrl::parse("http://u53r:s3cr3t@egress.test:3128").unwrap();
        ok.route = Some(crate::route::Route::new(
            "https://o.test/",
            Some("yandex"),
            Some(proxy),
        ));
        let mut bad = CheckResult::new("odd\"name", "x\\y\nz", "GET", "https://b.test/");
        bad.see_certificate(
            Certificate {
                subject: "CN=b.test".into(),
                issuer: "CN=Private".into(),
                sans: vec![],
                not_before: 0,
                not_after: 1_900_000_000,
                days_left: 100,
                chain_earliest_not_after: 1_800_000_000,
                chain_len: 1,
                sha256: None,
                verified: false,
            },
            CERT_WARN_DAYS,
        );
        bad.fail(CheckError::from_error(&Error::new(
            ErrorKind::TlsUnknownIssuer,
        )));
        Report::new(vec![ok, bad], Duration::from_millis(300))
    }

    #[test]
    fn every_family_has_help_and_type_before_its_samples() {
        let text = render(&report());
        let mut declared = std::collections::HashSet::new();
        for line in text.lines() {
            if let Some(rest) = line.strip_prefix("# TYPE ") {
                declared.insert(rest.split(' ').next().unwrap().to_owned());
            } else if !line.starts_with('#') {
                let name = line.split(['{', ' ']).next().unwrap();
                assert!(declared.contains(name), "{name} sampled before its TYPE");
            }
        }
        assert!(text.contains("# HELP probe_success "));
    }

    #[test]
    fn values_and_labels() {
        let text = render(&report());
        assert!(text.contains("probe_success{provider=\"yandex\",check=\"languages\"} 1\n"));
        assert!(
            text.contains("probe_http_status_code{provider=\"yandex\",check=\"languages\"} 200\n")
        );
        assert!(text.contains(
            "probe_http_duration_seconds{provider=\"yandex\",check=\"languages\",phase=\"tls\"} 0.005\n"
        ));
        assert!(
            text.contains("probe_duration_seconds{provider=\"yandex\",check=\"languages\"} 0.25\n")
        );
        // The failing check: escaped labels, status 0, the code, and the certificate even
        // though it did not verify.
        let l = "{provider=\"odd\\\"name\",check=\"x\\\\y\\nz\"}";
        assert!(text.contains(&format!("probe_http_status_code{l} 0\n")));
        assert!(text.contains(&format!("probe_ssl_earliest_cert_expiry{l} 1800000000\n")));
        assert!(text.contains(&format!("proxyscope_ssl_verified{l} 0\n")));
        assert!(text.contains(
            "proxyscope_check_error{provider=\"odd\\\"name\",check=\"x\\\\y\\nz\",code=\"tls.unknown_issuer\",blame=\"origin\",hop=\"origin\"} 1\n"
        ));
        assert!(text.contains("proxyscope_probe_up 1\n"));
        assert!(text.contains(
            "probe_dns_lookup_time_seconds{provider=\"yandex\",check=\"languages\"} 0.002\n"
        ));
        // The route: the proxy without its credentials; no route known, no sample.
        assert!(text.contains(
            "proxyscope_route_info{provider=\"yandex\",check=\"languages\",via=\"proxy\",proxy=\"http://egress.test:3128\"} 1\n"
        ));
        assert!(!text.contains("s3cr3t"), "{text}");
        assert!(!text.contains("proxyscope_route_info{provider=\"odd"));
    }

    #[test]
    fn a_probe_that_could_not_run_is_down() {
        let text = render(&Report::not_run(&Error::new(ErrorKind::ConfigInvalid)));
        assert!(text.contains("proxyscope_probe_up 0\n"));
        assert!(!text.contains("probe_success{"));
    }
}
