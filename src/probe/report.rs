//! The probe's results: one [`CheckResult`] per check, gathered in a [`Report`], serialised
//! as a public JSON contract (`ok`, `checks[]` with `provider`, `name`,
//! `url`, `ok`, `status`, `route`, `error`, `timings_ms`, `certificate`). Fields may be added,
//! none renamed.
//!
//! Results are plain data: the runner builds them, the renderers ([`super::text`],
//! [`super::prometheus`], [`super::nagios`]) read them, and tests construct them by hand.

use std::time::Duration;

use serde::{Serialize, Serializer};

use crate::config::Diagnostic;
use crate::error::{Blame, Error, ErrorKind, Evidence, Hop, Phase, Timings, millis, ser_ms};
use crate::route::Route;

use super::state::State;

/// Certificates expiring within this many days make a check a warning.
pub const CERT_WARN_DAYS: i64 = 14;

/// A whole probe run: every check's result, in the order the checks were given.
#[non_exhaustive]
#[derive(Debug, Clone, Default)]
pub struct Report {
    /// The results.
    pub checks: Vec<CheckResult>,
    /// Wall time of the whole run.
    pub duration: Duration,
    /// Set when the probe itself could not run (the configuration failed to load).
    pub error: Option<RunError>,
}

impl Report {
    /// A report for checks that ran.
    pub fn new(checks: Vec<CheckResult>, duration: Duration) -> Self {
        Self {
            checks,
            duration,
            error: None,
        }
    }

    /// A report for a run that could not start: no checks, the error that stopped it.
    pub fn not_run(error: &Error) -> Self {
        Self {
            checks: Vec::new(),
            duration: Duration::ZERO,
            error: Some(RunError::from_error(error)),
        }
    }

    /// Whether every check passed its expectations (certificate warnings do not count) and the
    /// probe ran.
    pub fn is_ok(&self) -> bool {
        self.error.is_none() && self.checks.iter().all(CheckResult::is_ok)
    }

    /// The Nagios state of the run: UNKNOWN when it could not run, else the worst check state.
    pub fn state(&self) -> State {
        if self.error.is_some() {
            return State::Unknown;
        }
        self.checks
            .iter()
            .map(|c| c.state)
            .max()
            .unwrap_or(State::Ok)
    }

    /// The JSON document (the contract described at the top of this module), pretty-printed.
    pub fn to_json(&self) -> String {
        // Serialising plain data with string keys cannot fail; keep a valid document regardless.
        serde_json::to_string_pretty(self).unwrap_or_else(|e| {
            serde_json::json!({
                "ok": false,
                "error": { "code": null, "message": e.to_string() },
                "checks": [],
            })
            .to_string()
        })
    }
}

impl Serialize for Report {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeStruct;
        let mut st = s.serialize_struct("Report", 5)?;
        st.serialize_field("ok", &self.is_ok())?;
        st.serialize_field("state", &self.state())?;
        st.serialize_field("duration_ms", &ms(self.duration))?;
        st.serialize_field("error", &self.error)?;
        st.serialize_field("checks", &self.checks)?;
        st.end()
    }
}

/// Why the probe could not run: `{"code","message","hint","diagnostics"}`.
#[non_exhaustive]
#[derive(Debug, Clone, Serialize)]
pub struct RunError {
    /// The error's stable code (`config.invalid`, `config.ca_file`, ...).
    pub code: &'static str,
    /// One line.
    pub message: String,
    /// The most likely fix.
    pub hint: Option<String>,
    /// Every lint finding that made the configuration invalid.
    pub diagnostics: Vec<Diagnostic>,
}

impl RunError {
    /// The run error for a failure to load the configuration.
    pub fn from_error(error: &Error) -> Self {
        Self {
            code: error.code(),
            message: error.to_string(),
            hint: error.hint().map(str::to_owned),
            diagnostics: error.evidence().diagnostics.clone(),
        }
    }
}

/// The outcome of one check.
#[non_exhaustive]
#[derive(Debug, Clone, Serialize)]
pub struct CheckResult {
    /// The provider the check belongs to.
    pub provider: String,
    /// The check's name (`default` for the implicit `GET url`).
    pub name: String,
    /// The URL requested.
    pub url: String,
    /// The method used.
    pub method: String,
    /// Whether every expectation held (a certificate near expiry does not make it fail).
    pub ok: bool,
    /// OK, WARNING or CRITICAL, as Nagios would count it.
    pub state: State,
    /// The HTTP status the origin (or a proxy, for plain `http://`) answered; `null` when no
    /// response arrived.
    pub status: Option<u16>,
    /// The route the check took, with the steps that decided it.
    pub route: Option<Route>,
    /// Why the check failed.
    pub error: Option<CheckError>,
    /// Per-phase timings.
    #[serde(rename = "timings_ms")]
    pub timings: CheckTimings,
    /// The origin's certificate, also when verification failed.
    pub certificate: Option<Certificate>,
    /// Things that do not fail the check but need attention (certificate expiry, insecure
    /// settings).
    pub warnings: Vec<String>,
}

impl CheckResult {
    /// A result with nothing observed yet; the runner fills it in. `url` is kept redacted (no
    /// userinfo, no secret query values).
    pub fn new(provider: &str, name: &str, method: &str, url: &str) -> Self {
        Self {
            provider: provider.to_owned(),
            name: name.to_owned(),
            url: match url::Url::parse(url) {
                Ok(u) if !crate::proxy::redact::parse_drops_at(&u, url) => {
                    crate::proxy::redact_parsed_url(&u)
                }
                _ => crate::proxy::redact_url(url),
            },
            method: method.to_owned(),
            ok: true,
            state: State::Ok,
            status: None,
            route: None,
            error: None,
            timings: CheckTimings::default(),
            certificate: None,
            warnings: Vec::new(),
        }
    }

    /// Whether every expectation held.
    pub fn is_ok(&self) -> bool {
        self.ok
    }

    /// Records a failure and derives `ok` and `state` from it.
    pub fn fail(&mut self, error: CheckError) {
        self.ok = false;
        self.state = self.state.max(error.state());
        self.error = Some(error);
    }

    /// Records the certificate seen and downgrades the state to WARNING when it expires within
    /// `warn_days`.
    pub fn see_certificate(&mut self, cert: Certificate, warn_days: i64) {
        if cert.days_left < warn_days {
            self.warnings.push(if cert.days_left < 0 {
                format!(
                    "certificate {} expired {} days ago",
                    cert.subject, -cert.days_left
                )
            } else {
                format!(
                    "certificate {} expires in {} days (at {})",
                    cert.subject,
                    cert.days_left,
                    rfc3339(cert.not_after)
                )
            });
            self.state = self.state.max(State::Warning);
        }
        self.certificate = Some(cert);
    }

    /// `provider/name`, the check's identity in text output.
    pub fn id(&self) -> String {
        format!("{}/{}", self.provider, self.name)
    }
}

/// A check's failure: the library error's public facts (`code`, `hop`, `blame`, `phase`,
/// `message`, `hint`, `evidence`), copied so results stay plain, cloneable data.
#[non_exhaustive]
#[derive(Debug, Clone, Serialize)]
pub struct CheckError {
    /// The stable kind; serialised as its code.
    #[serde(rename = "code")]
    pub kind: ErrorKind,
    /// The failing hop, `null` for configuration errors.
    pub hop: Option<Hop>,
    /// Who must act: `local_config`, `proxy`, `origin` or `network`.
    pub blame: Blame,
    /// The failing phase.
    pub phase: Phase,
    /// One line.
    pub message: String,
    /// The most likely fix.
    pub hint: Option<String>,
    /// Everything observed.
    pub evidence: Evidence,
}

impl CheckError {
    /// The check error for a library error.
    pub fn from_error(error: &Error) -> Self {
        Self {
            kind: error.kind(),
            hop: error.hop(),
            blame: error.blame(),
            phase: error.phase(),
            message: error.to_string(),
            hint: error.hint().map(str::to_owned),
            evidence: error.evidence().clone(),
        }
    }

    /// The stable code.
    pub fn code(&self) -> &'static str {
        self.kind.code()
    }

    /// How bad the failure is for monitoring: a body or header expectation that failed on an
    /// otherwise healthy path is a WARNING (service-checker's convention); everything else,
    /// timeouts and name resolution included, is CRITICAL.
    pub fn state(&self) -> State {
        match self.kind {
            ErrorKind::HttpBody => State::Warning,
            _ => State::Critical,
        }
    }
}

/// How long each phase of a check took, each `None` when it did not run. Serialised in
/// milliseconds, the connection's phases first (`dns`, `connect`, `proxy`, `tls`).
///
/// `first_byte` runs from sending the request to the response head, minus the connection's
/// phases; `transfer` is reading the body; `total` is the whole check, wall clock.
#[non_exhaustive]
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct CheckTimings {
    /// The connection's phases, as the connector measured them.
    #[serde(flatten)]
    pub connection: Timings,
    /// From the request sent to the response head.
    #[serde(serialize_with = "ser_ms")]
    pub first_byte: Option<Duration>,
    /// Reading the body.
    #[serde(serialize_with = "ser_ms")]
    pub transfer: Option<Duration>,
    /// The whole check.
    #[serde(serialize_with = "ser_ms")]
    pub total: Option<Duration>,
}

impl CheckTimings {
    /// `(phase name, duration)` for every phase that ran, in order, `total` excluded.
    pub fn phases(&self) -> Vec<(&'static str, Duration)> {
        let c = &self.connection;
        [
            ("dns", c.dns),
            ("connect", c.connect),
            ("proxy", c.proxy),
            ("tls", c.tls),
            ("first_byte", self.first_byte),
            ("transfer", self.transfer),
        ]
        .into_iter()
        .filter_map(|(n, d)| d.map(|d| (n, d)))
        .collect()
    }
}

/// The origin's leaf certificate as presented, with the chain's earliest expiry. Present also
/// when verification failed (`verified: false`), so expiry monitoring never goes silent.
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Certificate {
    /// The leaf's subject DN.
    pub subject: String,
    /// The leaf's issuer DN.
    pub issuer: String,
    /// The leaf's DNS and IP subject alternative names.
    pub sans: Vec<String>,
    /// Start of the leaf's validity, Unix seconds.
    pub not_before: i64,
    /// End of the leaf's validity, Unix seconds.
    pub not_after: i64,
    /// Whole days from the check to the earliest expiry in the presented chain (negative when
    /// already expired).
    pub days_left: i64,
    /// The earliest `notAfter` over the presented chain, Unix seconds.
    pub chain_earliest_not_after: i64,
    /// How many certificates the server presented.
    pub chain_len: usize,
    /// The leaf's SHA-256 fingerprint, hex.
    pub sha256: Option<String>,
    /// Whether the chain verified against the configured trust.
    pub verified: bool,
}

impl Certificate {
    /// Whole days from `now` (Unix seconds) to `not_after`, rounded towards minus infinity.
    pub fn days_until(not_after: i64, now: i64) -> i64 {
        (not_after - now).div_euclid(86_400)
    }
}

impl Serialize for Certificate {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeStruct;
        let mut st = s.serialize_struct("Certificate", 11)?;
        st.serialize_field("subject", &self.subject)?;
        st.serialize_field("issuer", &self.issuer)?;
        st.serialize_field("sans", &self.sans)?;
        st.serialize_field("not_before", &rfc3339(self.not_before))?;
        st.serialize_field("not_after", &rfc3339(self.not_after))?;
        st.serialize_field("not_after_unix", &self.not_after)?;
        st.serialize_field("days_left", &self.days_left)?;
        st.serialize_field(
            "chain_earliest_not_after_unix",
            &self.chain_earliest_not_after,
        )?;
        st.serialize_field("chain_len", &self.chain_len)?;
        st.serialize_field("sha256", &self.sha256)?;
        st.serialize_field("verified", &self.verified)?;
        st.end()
    }
}

/// Milliseconds as a float, rounded to microseconds so output stays short.
pub(crate) fn ms(d: Duration) -> f64 {
    millis(d)
}

/// Unix seconds as an RFC 3339 UTC timestamp (`2026-11-24T15:00:00Z`).
pub(crate) fn rfc3339(unix: i64) -> String {
    crate::tls::rfc3339(unix)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cert(days_left: i64) -> Certificate {
        Certificate {
            subject: "CN=origin.test".into(),
            issuer: "CN=Test Root".into(),
            sans: vec!["origin.test".into()],
            not_before: 1_700_000_000,
            not_after: 1_800_000_000,
            days_left,
            chain_earliest_not_after: 1_800_000_000,
            chain_len: 2,
            sha256: Some("ab".into()),
            verified: true,
        }
    }

    #[test]
    fn rfc3339_matches_known_instants() {
        assert_eq!(rfc3339(0), "1970-01-01T00:00:00Z");
        assert_eq!(rfc3339(951_782_400), "2000-02-29T00:00:00Z");
        assert_eq!(rfc3339(1_800_000_000), "2027-01-15T08:00:00Z");
        assert_eq!(rfc3339(-1), "1969-12-31T23:59:59Z");
    }

    #[test]
    fn days_until_rounds_down_and_goes_negative() {
        assert_eq!(Certificate::days_until(86_400 * 3, 0), 3);
        assert_eq!(Certificate::days_until(86_400 * 3 - 1, 0), 2);
        assert_eq!(Certificate::days_until(0, 1), -1);
    }

    #[test]
    fn expiring_certificate_warns_but_stays_ok() {
        let mut r = CheckResult::new("p", "c", "GET", "https://o.test/");
        r.see_certificate(cert(3), CERT_WARN_DAYS);
        assert!(r.ok);
        assert_eq!(r.state, State::Warning);
        assert_eq!(r.warnings.len(), 1);
        let mut r = CheckResult::new("p", "c", "GET", "https://o.test/");
        r.see_certificate(cert(90), CERT_WARN_DAYS);
        assert_eq!(r.state, State::Ok);
        assert!(r.warnings.is_empty());
    }

    #[test]
    fn body_failures_warn_and_everything_else_is_critical() {
        let mut r = CheckResult::new("p", "c", "GET", "http://o.test/");
        r.fail(CheckError::from_error(&Error::new(ErrorKind::HttpBody)));
        assert_eq!(r.state, State::Warning);
        assert!(!r.ok);
        let mut r = CheckResult::new("p", "c", "GET", "http://o.test/");
        r.fail(CheckError::from_error(&Error::new(ErrorKind::OriginDns)));
        assert_eq!(r.state, State::Critical);
    }

    #[test]
    fn json_has_the_contract_fields() {
        let mut ok = CheckResult::new("yandex", "languages", "GET", "https://o.test/x");
        ok.status = Some(200);
        ok.timings.total = Some(Duration::from_millis(12));
        ok.see_certificate(cert(90), CERT_WARN_DAYS);
        let mut bad = CheckResult::new("apertium", "default", "GET", "http://a.test/");
        bad.fail(CheckError::from_error(
            &Error::new(ErrorKind::ProxyForbidden)
                .with_hint("set providers.apertium.proxy")
                .map_evidence(|e| e.proxy = Some("http://p.test:3128".into())),
        ));
        let report = Report::new(vec![ok, bad], Duration::from_millis(15));
        let v: serde_json::Value = serde_json::from_str(&report.to_json()).unwrap();
        assert_eq!(v["ok"], false);
        assert_eq!(v["state"], "critical");
        let c0 = &v["checks"][0];
        for key in [
            "provider",
            "name",
            "url",
            "ok",
            "status",
            "route",
            "error",
            "timings_ms",
            "certificate",
        ] {
            assert!(c0.get(key).is_some(), "missing {key}");
        }
        assert_eq!(c0["status"], 200);
        assert!(c0["error"].is_null());
        assert_eq!(c0["timings_ms"]["total"], 12.0);
        assert!(c0["timings_ms"]["dns"].is_null());
        for key in ["dns", "connect", "proxy", "tls", "first_byte", "total"] {
            assert!(c0["timings_ms"].get(key).is_some(), "missing timing {key}");
        }
        assert_eq!(c0["certificate"]["days_left"], 90);
        assert_eq!(c0["certificate"]["not_after"], "2027-01-15T08:00:00Z");
        let e = &v["checks"][1]["error"];
        assert_eq!(e["code"], "proxy.forbidden");
        assert_eq!(e["hop"], "proxy");
        assert_eq!(e["phase"], "proxy");
        assert_eq!(e["hint"], "set providers.apertium.proxy");
        assert_eq!(e["evidence"]["proxy"], "http://p.test:3128");
        assert!(e["message"].is_string());
        assert!(v["checks"][1]["status"].is_null());
    }

    #[test]
    fn a_run_that_could_not_start_is_unknown_with_no_checks() {
        let err = Error::new(ErrorKind::ConfigInvalid).with_hint("fix the file");
        let report = Report::not_run(&err);
        assert_eq!(report.state(), State::Unknown);
        let v: serde_json::Value = serde_json::from_str(&report.to_json()).unwrap();
        assert_eq!(v["ok"], false);
        assert_eq!(v["error"]["code"], "config.invalid");
        assert_eq!(v["error"]["hint"], "fix the file");
        assert!(v["error"]["diagnostics"].is_array());
        assert_eq!(v["checks"], serde_json::json!([]));
    }
}
