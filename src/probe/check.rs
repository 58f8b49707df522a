//! One check: a [`Check`] (a declared request and its expectations, bound to a provider) and
//! [`run`], which sends it
//! through the real [`Client`] — the provider's own route, DNS, connect, proxy handshake, TLS —
//! and turns what happened into a [`CheckResult`] with per-phase timings, the certificate seen
//! (also when verification failed) and, on failure, the library's structured error.
//!
//! Semantics follow the load balancers and checkers that matter (PyBal, service-checker):
//! redirects are not followed unless asked, so a 3xx on a health path is reported as such; the
//! status expectation is exact (`200`) or a class (`2xx`); a check without one expects 2xx or
//! 3xx.

use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use http::{HeaderMap, Method, StatusCode};

use crate::client::{Attribution, Client, RedirectPolicy, Response};
use crate::config::{self, CheckTarget};
pub use crate::config::{HeaderExpectation, StatusExpectation};
use crate::error::{Error, ErrorKind, Phase};
use crate::settings::Provenance;
use crate::tls::{CertSummary, HandshakeInfo};

use super::body;
use super::report::{Certificate, CheckError, CheckResult, CheckTimings};

/// The timeout of a check that names none.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(10);
/// The most redirects followed when a check asks for it.
pub const MAX_REDIRECTS: usize = 10;

/// A check ready to run: the declared [`config::Check`] (its request and expectations), the
/// provider whose profile (route, TLS, timeouts) it uses, and the absolute URL it requests.
#[non_exhaustive]
#[derive(Clone, PartialEq, Eq)]
pub struct Check {
    /// The provider whose profile the request uses.
    pub provider: String,
    /// The absolute URL requested: the spec's target resolved against the provider's `url`.
    pub url: String,
    /// The check as declared: name, method, expectations, redirects, timeout.
    pub spec: config::Check,
}

impl std::fmt::Debug for Check {
    // `url` is kept as given (it is requested as given), so it may carry userinfo and keys:
    // it is shown masked, as the spec's target already is.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Check")
            .field("provider", &self.provider)
            .field("url", &crate::proxy::redact_url(&self.url))
            .field("spec", &self.spec)
            .finish()
    }
}

impl Check {
    /// `GET url` expecting 2xx or 3xx, named `name`.
    pub fn new(provider: &str, name: &str, url: &str) -> Self {
        // The URL is requested as given; a value that does not parse is reported when the check
        // runs (`request.url`), and the spec keeps it as written.
        let target = match url::Url::parse(url) {
            Ok(u) => CheckTarget::Url(u),
            Err(_) => CheckTarget::Path(url.to_owned()),
        };
        Self {
            provider: provider.to_owned(),
            url: url.to_owned(),
            spec: config::Check {
                name: name.to_owned(),
                target,
                method: Method::GET,
                expect_status: StatusExpectation::SuccessOrRedirect,
                body_contains: None,
                expect_header: None,
                follow_redirects: false,
                allow_proxy_response: false,
                timeout: None,
                origin: Provenance::Builder {
                    key: "checks".to_owned(),
                },
            },
        }
    }

    /// The implicit check of a provider that has none: `GET url` expecting 2xx or 3xx.
    pub fn default_for(provider: &str, url: &str) -> Self {
        Self::new(provider, "default", url)
    }

    /// The check `spec` declared for `provider`, whose `url` is `base`.
    pub fn from_config(provider: &str, base: &url::Url, spec: &config::Check) -> Self {
        Self {
            provider: provider.to_owned(),
            url: spec.url(base).to_string(),
            spec: spec.clone(),
        }
    }

    /// The check's name; `default` for the implicit check of a provider without checks.
    pub fn name(&self) -> &str {
        &self.spec.name
    }

    /// Sets the method.
    pub fn method(mut self, method: Method) -> Self {
        self.spec.method = method;
        self
    }

    /// Sets the status expectation.
    pub fn expect_status(mut self, status: StatusExpectation) -> Self {
        self.spec.expect_status = status;
        self
    }

    /// Requires the body to contain `text`.
    pub fn body_contains(mut self, text: &str) -> Self {
        self.spec.body_contains = Some(text.to_owned());
        self
    }

    /// Requires a header.
    pub fn expect_header(mut self, header: HeaderExpectation) -> Self {
        self.spec.expect_header = Some(header);
        self
    }

    /// Follows up to [`MAX_REDIRECTS`] redirects (default: no, a 3xx is reported as such).
    pub fn follow_redirects(mut self, yes: bool) -> Self {
        self.spec.follow_redirects = yes;
        self
    }

    /// Lets a reply the proxy wrote itself pass the check (default: no — a proxy's login
    /// redirect or block page is never the provider answering).
    pub fn allow_proxy_response(mut self, yes: bool) -> Self {
        self.spec.allow_proxy_response = yes;
        self
    }

    /// Sets the deadline; without one the runner's applies.
    pub fn timeout(mut self, d: Duration) -> Self {
        self.spec.timeout = Some(d);
        self
    }
}

/// Checks the status and headers against `spec`. A mismatched 3xx names its `Location`, since
/// redirects are not followed unless asked.
fn verify_head(
    spec: &config::Check,
    status: u16,
    headers: &HeaderMap,
    attribution: Option<&Attribution>,
) -> Result<(), Error> {
    if !spec.expect_status.matches(status) {
        // A redirect may carry a token in its query (a login page's `?ticket=`).
        let location = headers
            .get(http::header::LOCATION)
            .map(|v| crate::proxy::redact_url(&String::from_utf8_lossy(v.as_bytes())));
        let mut expected = format!("status {}", spec.expect_status);
        let hint = match &location {
            Some(loc) if (300..400).contains(&status) => {
                expected.push_str(&format!(
                    "; got a redirect to {loc} (redirects are not followed)"
                ));
                format!(
                    "the health path redirects: point the check's `path` at {loc}, or set follow_redirects = true if a redirect is acceptable (load balancers usually do not follow it)"
                )
            }
            _ => format!(
                "the endpoint answered {status}; check the check's `path`/`url` and `expect_status` against what the service serves"
            ),
        };
        let hop = attribution.map_or(crate::error::Hop::Origin, |a| a.source);
        return Err(Error::new(ErrorKind::HttpStatus)
            .with_hop(hop)
            .with_phase(Phase::Http)
            .with_message(format!(
                "expected status {}, got {status}",
                spec.expect_status
            ))
            .with_hint(hint)
            .map_evidence(|ev| {
                ev.status = Some(status);
                ev.expected = Some(expected);
                ev.attribution = attribution.cloned();
            }));
    }
    if let Some(h) = &spec.expect_header {
        let found = headers.get_all(h.name.as_str());
        let values: Vec<String> = found
            .iter()
            .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned())
            .collect();
        let ok = match &h.contains {
            None => !values.is_empty(),
            Some(want) => values.iter().any(|v| v.contains(want.as_str())),
        };
        if !ok {
            let wanted = match &h.contains {
                Some(v) => format!("header {} containing {v:?}", h.name),
                None => format!("header {}", h.name),
            };
            // A session cookie (or any value the client marked sensitive) is a credential:
            // say that it was there, never what it was.
            let secret = found.iter().any(|v| v.is_sensitive())
                || crate::proxy::redact::is_secret_header(h.name.as_str());
            let seen = if values.is_empty() {
                "absent".to_owned()
            } else if secret {
                format!(
                    "present ({} value(s), not shown: credentials)",
                    values.len()
                )
            } else {
                format!("{:?}", values.join(", "))
            };
            return Err(Error::new(ErrorKind::HttpBody)
                .with_phase(Phase::Http)
                .with_message(format!("expected {wanted}, it was {seen}"))
                .with_hint("the endpoint answered, but not with the expected header; check `expect_header` against what the service sends")
                .map_evidence(|ev| {
                    ev.status = Some(status);
                    ev.expected = Some(format!("{wanted}; got {seen}"));
                }));
        }
    }
    Ok(())
}

/// Runs one check through `client` within `deadline`, never failing: every outcome is a result.
/// Certificates expiring within `warn_days` make the result a warning.
pub async fn run(
    client: &Client,
    check: &Check,
    deadline: Duration,
    warn_days: i64,
) -> CheckResult {
    let started = Instant::now();
    let mut result = CheckResult::new(
        &check.provider,
        &check.spec.name,
        check.spec.method.as_str(),
        &check.url,
    );
    result.route = client.route(Some(&check.provider), &check.url).ok();
    let until = tokio::time::Instant::now() + deadline;
    let outcome = tokio::time::timeout_at(
        until,
        exchange(client, check, &mut result, (until, deadline)),
    )
    .await;
    let total = started.elapsed();
    result.timings.total = Some(total);
    let now = unix_now();
    match outcome {
        Ok(Ok(seen)) => {
            if let Some(tls) = &seen.tls {
                // Verification skipped or overridden (`danger_accept_invalid_certs`) is not
                // "verified", and monitoring hears about it.
                let verified = !tls.danger_accept_invalid_certs && tls.accepted_invalid.is_none();
                if let Some(cert) = certificate(&tls.chain, verified, now) {
                    result.see_certificate(cert, warn_days);
                }
                let insecure = tls.warnings();
                if !insecure.is_empty() {
                    result.warnings.extend(insecure);
                    result.state = result.state.max(super::State::Warning);
                }
            }
            if let Some(e) = seen.failure {
                result.fail(CheckError::from_error(&e));
            }
        }
        Ok(Err(e)) => {
            if result.route.is_none() {
                result.route = e.route().cloned();
            }
            if let Some(t) = e.evidence().timings {
                result.timings.connection = t;
            }
            let chain = e.evidence().tls.as_ref().map(|t| t.chain.clone());
            if let Some(cert) = chain.and_then(|c| certificate(&c, false, now)) {
                result.see_certificate(cert, warn_days);
            }
            result.fail(CheckError::from_error(&e));
        }
        Err(_) => {
            let mut e = Error::new(ErrorKind::HttpTimeout)
                .with_phase(Phase::Http)
                .with_message(format!(
                    "the check did not finish within its deadline of {deadline:?}"
                ))
                .with_hint("the check's deadline expired before any phase timed out on its own; raise the check's `timeout` (or the run's deadline), or lower timeouts.* to see which phase is slow")
                .map_evidence(|ev| {
                    ev.timeout = Some(deadline);
                    ev.target = Some(crate::proxy::redact_url(&check.url));
                });
            if let Some(route) = &result.route {
                e = e.with_route(route.clone());
            }
            result.fail(CheckError::from_error(&e));
        }
    }
    result
}

/// What a completed exchange saw: the origin's TLS handshake (for `https://`) and the
/// expectation that failed, if one did.
struct Seen {
    tls: Option<HandshakeInfo>,
    failure: Option<Error>,
}

/// The check's deadline: when it ends, and how long it was.
type Deadline = (tokio::time::Instant, Duration);

async fn exchange(
    client: &Client,
    check: &Check,
    result: &mut CheckResult,
    deadline: Deadline,
) -> Result<Seen, Error> {
    // Redirects follow the client's rule: the first request goes through the check's provider,
    // and every redirect re-chooses the provider and the route from its own URL (a redirect to
    // another provider's host takes that provider's proxy and trust), strips credentials across
    // hosts, and ends in `http.redirect_loop` / `http.too_many_redirects` with the chain. A
    // redirect the proxy wrote itself (its login page) is never followed.
    let policy = if check.spec.follow_redirects {
        RedirectPolicy::limited(MAX_REDIRECTS)
    } else {
        RedirectPolicy::none()
    };
    let sent = Instant::now();
    let res = client
        .request_via(Some(&check.provider), check.spec.method.clone(), &check.url)
        .header(
            http::header::USER_AGENT,
            concat!("proxyscope-probe/", env!("CARGO_PKG_VERSION")),
        )
        .redirect(policy)
        .send()
        .await?;
    let head = sent.elapsed();
    result.status = Some(res.status().as_u16());
    result.route = Some(res.route().clone());
    let tls = record_connection(&res, head, &mut result.timings);
    // Whatever the origin or the proxy echoed of the request is evidence only once scrubbed.
    let secrets = res.secrets().clone();
    let mut seen = finish(check, res, tls, &mut result.timings, deadline).await?;
    seen.failure = seen.failure.map(|e| e.scrubbed(&secrets));
    Ok(seen)
}

async fn finish(
    check: &Check,
    res: Response,
    tls: Option<HandshakeInfo>,
    timings: &mut CheckTimings,
    deadline: Deadline,
) -> Result<Seen, Error> {
    let status = res.status().as_u16();
    // A reply the proxy wrote itself (a block page, a login redirect, a splash page) is never the
    // provider answering, whatever its status, unless the check says it may be.
    if res.attribution().is_proxy_generated() && !check.spec.allow_proxy_response {
        let expected = format!(
            "a reply from the origin (status {}); the proxy answered {status} itself (allow_proxy_response = false)",
            check.spec.expect_status
        );
        let e = res
            .proxy_reply_error()
            .map_evidence(|ev| ev.expected = Some(expected));
        return Ok(Seen {
            tls,
            failure: Some(e),
        });
    }
    if let Err(e) = verify_head(&check.spec, status, res.headers(), Some(res.attribution())) {
        // A failure status the proxy generated carries the proxy's reply; the client knows how
        // to describe it. Anything else (a 3xx, a 200 where 404 was wanted) is ours.
        let e = if StatusCode::from_u16(status)
            .is_ok_and(|s| s.is_client_error() || s.is_server_error())
            && e.kind() == ErrorKind::HttpStatus
        {
            let expected = e.evidence().expected.clone();
            match res.error_for_status() {
                Err(client_err) => client_err.map_evidence(|ev| ev.expected = expected),
                Ok(_) => e,
            }
        } else {
            e.with_route(res.route().clone())
        };
        return Ok(Seen {
            tls,
            failure: Some(e),
        });
    }
    let route = res.route().clone();
    let started = Instant::now();
    // Never the whole body: the search (or, without one, the transfer measurement) stops at
    // the first decision or the provider's `limits.check_body`.
    let read = match res.into_reader() {
        Some(reader) => {
            body::read(
                reader,
                check.spec.body_contains.as_deref(),
                deadline.0,
                deadline.1,
                status,
            )
            .await
        }
        // Nothing reads the body before this point; were it read, there is nothing left.
        None => Ok(None),
    };
    let failure = match read {
        Ok(failure) => {
            timings.transfer = Some(started.elapsed());
            failure.map(|e| e.with_route(route))
        }
        // The handshake already happened: keep its certificate with the failure.
        Err(e) => Some(e),
    };
    Ok(Seen { tls, failure })
}

/// Copies the connection's phase timings into `timings` and derives `first_byte` (the time to
/// the response head minus the connection's phases); returns the origin's TLS handshake.
fn record_connection(
    res: &Response,
    head: Duration,
    timings: &mut CheckTimings,
) -> Option<HandshakeInfo> {
    let Some(info) = res.conn_info() else {
        timings.first_byte = Some(head);
        return None;
    };
    let t = &info.timings;
    timings.connection = *t;
    let connecting: Duration = [t.dns, t.connect, t.proxy, t.tls]
        .into_iter()
        .flatten()
        .sum();
    timings.first_byte = Some(head.saturating_sub(connecting));
    info.origin_tls.clone()
}

/// The probe's view of a presented chain: the leaf's facts and the chain's earliest expiry.
pub(crate) fn certificate(chain: &[CertSummary], verified: bool, now: i64) -> Option<Certificate> {
    let leaf = chain.first()?;
    let earliest = chain
        .iter()
        .map(|c| c.not_after_unix)
        .min()
        .unwrap_or(leaf.not_after_unix);
    Some(Certificate {
        subject: leaf.subject.clone(),
        issuer: leaf.issuer.clone(),
        sans: leaf.sans.clone(),
        not_before: leaf.not_before_unix,
        not_after: leaf.not_after_unix,
        days_left: Certificate::days_until(earliest, now),
        chain_earliest_not_after: earliest,
        chain_len: chain.len(),
        sha256: Some(leaf.sha256.clone()),
        verified,
    })
}

fn unix_now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64)
}

#[cfg(test)]
mod tests {
    use http::HeaderValue;

    use super::*;
    use crate::error::Hop;

    #[test]
    fn status_expectations_parse_and_match() {
        let cases: &[(&str, Option<StatusExpectation>)] = &[
            ("200", Some(StatusExpectation::Exact(200))),
            ("2xx", Some(StatusExpectation::Class(2))),
            ("3XX", Some(StatusExpectation::Class(3))),
            (" 404 ", Some(StatusExpectation::Exact(404))),
            ("6xx", None),
            ("20", None),
            ("2000", None),
            ("abc", None),
            ("", None),
        ];
        for (text, want) in cases {
            assert_eq!(text.parse::<StatusExpectation>().ok(), *want, "{text:?}");
        }
        assert!(StatusExpectation::Class(2).matches(204));
        assert!(!StatusExpectation::Class(2).matches(301));
        assert!(StatusExpectation::SuccessOrRedirect.matches(302));
        assert!(!StatusExpectation::SuccessOrRedirect.matches(404));
        assert!(!StatusExpectation::Exact(200).matches(201));
    }

    #[test]
    fn a_redirect_on_a_health_path_is_reported_with_its_location() {
        let mut headers = HeaderMap::new();
        headers.insert(http::header::LOCATION, HeaderValue::from_static("/v2/"));
        let check =
            Check::new("p", "n", "http://o.test/").expect_status(StatusExpectation::Exact(200));
        let e = verify_head(&check.spec, 302, &headers, None).unwrap_err();
        assert_eq!(e.code(), "http.status");
        assert_eq!(e.hop(), Some(Hop::Origin));
        assert_eq!(e.phase(), Phase::Http);
        assert_eq!(e.evidence().status, Some(302));
        assert!(e.evidence().expected.as_deref().unwrap().contains("/v2/"));
        assert!(e.hint().unwrap().contains("follow_redirects"));
    }

    #[test]
    fn header_expectations_fail_as_http_body() {
        let mut headers = HeaderMap::new();
        headers.insert("content-type", HeaderValue::from_static("text/html"));
        let check = Check::new("p", "n", "http://o.test/")
            .expect_status(StatusExpectation::Class(2))
            .body_contains("dirs")
            .expect_header(HeaderExpectation {
                name: "Content-Type".into(),
                contains: Some("application/json".into()),
            });
        let expect = &check.spec;
        let e = verify_head(expect, 200, &headers, None).unwrap_err();
        assert_eq!(e.code(), "http.body");
        assert_eq!(e.phase(), Phase::Http);
        assert!(
            e.evidence()
                .expected
                .as_deref()
                .unwrap()
                .contains("text/html")
        );
        headers.insert(
            "content-type",
            HeaderValue::from_static("application/json; charset=utf-8"),
        );
        assert!(verify_head(expect, 200, &headers, None).is_ok());
    }
}
