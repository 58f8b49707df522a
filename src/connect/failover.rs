//! Connections along routes with several candidates (a proxy list or a PAC answer): names the
//! PAC script asked about resolved first with the profile's resolver, all within one connect
//! timeout (then the script decides again, a bounded number of times), then the candidates
//! tried in order. A candidate whose connection fails — unreachable, not an answer such as
//! 403 — gives way to the next and is skipped by later requests for [`BACKOFF`]; each failure
//! is kept in the final error's evidence (`attempts`) and in the route's explanation. The whole
//! list shares one budget (the request timeout, or the request's own deadline when sooner):
//! candidates it leaves no time for are skipped as `out_of_time`, never tried with no time.
//!
//! The route only describes its candidates (plain data); which failures fail over, the back-off
//! table and the errors a route's failure becomes are decided here, where errors are known.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};

use futures_util::future::join_all;
use http::Uri;

use crate::error::{Attempt, Error, ErrorKind, Hop};
use crate::route::{Candidate, CandidateFailure, Route, Skipped};

use super::{Conn, Ctx, Profile, connect_one, deadline, dns, route_for};

/// [`Skipped::why`] of a candidate not tried because the list's time ran out.
const OUT_OF_TIME: &str = "out_of_time";

/// How many times a PAC script may ask for names before its answer is taken as it is.
const MAX_DNS_ROUNDS: usize = 4;

/// How long a candidate whose connection failed is skipped by later requests of the same
/// client profile (Chromium's bad-proxy retry time).
pub const BACKOFF: Duration = Duration::from_secs(300);
/// The most candidates remembered as failed per profile (the oldest forgotten first).
const MAX_BACKOFF_ENTRIES: usize = 256;

/// Whether a failed connection to a candidate lets the next one be tried: the candidate is
/// unreachable or broke off before answering. A proxy's answer (403, 407, a SOCKS refusal,
/// an upstream failure it reports) is final, as in browsers.
pub(super) fn fails_over(e: &Error) -> bool {
    match e.kind() {
        ErrorKind::ProxyDns
        | ErrorKind::ProxyConnect
        | ErrorKind::ProxyTimeout
        | ErrorKind::ProxyTls
        | ErrorKind::ProxyClosed
        | ErrorKind::ProxyProtocol => e.hop() == Some(Hop::Proxy),
        ErrorKind::OriginDns | ErrorKind::OriginConnect | ErrorKind::OriginTimeout => true,
        _ => false,
    }
}

/// The error a route's failure stands for: the PAC evaluation's own error when the route kept
/// it (code, message, hint and evidence), else one built from the failure's code and message.
pub(super) fn failure_error(f: &CandidateFailure) -> Error {
    let kept = f.cause().and_then(|c| c.downcast_ref::<Error>());
    let kind = kept
        .map(Error::kind)
        .or_else(|| ErrorKind::from_code(f.code))
        .unwrap_or(ErrorKind::ConfigInvalid);
    let mut e = Error::new(kind).with_message(f.message.clone());
    if let Some(h) = f.hint() {
        e = e.with_hint(h.to_owned());
    }
    match kept {
        Some(k) => e.with_evidence(k.evidence().clone()),
        None => e,
    }
}

/// Candidates whose connection failed recently, per profile: skipped until their time is up
/// (unless every candidate is, then they are tried anyway, as browsers do).
#[derive(Debug, Default)]
pub(super) struct Backoff {
    failed: Mutex<HashMap<String, (Instant, &'static str)>>,
}

impl Backoff {
    /// When `c` failed, with which code, if within [`BACKOFF`] of `now`.
    fn recent(&self, c: &Candidate, now: Instant) -> Option<(Instant, &'static str)> {
        let mut failed = self.failed.lock().unwrap_or_else(PoisonError::into_inner);
        let key = c.key();
        match failed.get(&key) {
            Some(&(at, code)) if now.saturating_duration_since(at) < BACKOFF => Some((at, code)),
            Some(_) => {
                failed.remove(&key);
                None
            }
            None => None,
        }
    }

    fn failed(&self, c: &Candidate, code: &'static str, now: Instant) {
        let mut failed = self.failed.lock().unwrap_or_else(PoisonError::into_inner);
        if failed.len() >= MAX_BACKOFF_ENTRIES {
            let oldest = failed
                .iter()
                .min_by_key(|(_, (at, _))| *at)
                .map(|(k, _)| k.clone());
            if let Some(k) = oldest {
                failed.remove(&k);
            }
        }
        failed.insert(c.key(), (now, code));
    }

    fn succeeded(&self, c: &Candidate) {
        self.failed
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .remove(&c.key());
    }
}

pub(super) async fn connect(profile: &Profile, uri: &Uri, route: Route) -> Result<Conn, Error> {
    if route.candidates().is_none() {
        return connect_one(profile, uri, route).await;
    }
    // One budget for the whole list: each candidate has its own phase timeouts, and without
    // a bound over them a list of twenty unreachable proxies held a request for twenty
    // timeouts. The request timeout (or the request's own deadline, when sooner) bounds the
    // list; every phase of every attempt is capped by what is left of it.
    let timeout = profile.timeouts().request_or_default();
    let left = deadline::cap(timeout);
    let budget = Budget { timeout, left };
    let until = tokio::time::Instant::now() + left;
    deadline::scope(
        Some(until),
        try_candidates(profile, uri, route, until, budget),
    )
    .await
}

/// The time a list of candidates has: the request timeout, or what was left of the request's
/// own deadline when that was sooner. Described only when it runs out.
#[derive(Clone, Copy)]
struct Budget {
    timeout: Duration,
    left: Duration,
}

impl Budget {
    fn describe(self, profile: &Profile) -> String {
        if self.left < self.timeout {
            return format!(
                "the request's own deadline, {:.3}s left",
                self.left.as_secs_f64()
            );
        }
        let from = profile
            .timeouts()
            .request
            .as_ref()
            .map(|s| s.origin.to_string());
        format!(
            "timeouts.request, {}s from {}",
            self.timeout.as_secs_f64(),
            from.as_deref().unwrap_or("the default")
        )
    }
}

/// The candidates in order until one connects, one answers (a refusal is final), or the
/// list's time runs out (the rest are kept as skipped, `out_of_time`).
async fn try_candidates(
    profile: &Profile,
    uri: &Uri,
    route: Route,
    until: tokio::time::Instant,
    budget: Budget,
) -> Result<Conn, Error> {
    let route = resolve_pending(profile, uri, route).await?;
    let Some(cands) = route.candidates() else {
        return connect_one(profile, uri, route).await;
    };
    if let Some(f) = &cands.failure {
        return Err(failure_error(f).with_route(route.clone()));
    }
    let now = Instant::now();
    let n = cands.entries.len();
    let mut skipped: Vec<Skipped> = Vec::new();
    let mut order: Vec<usize> = Vec::with_capacity(n);
    for (i, c) in cands.entries.iter().enumerate() {
        match profile.backoff.recent(c, now) {
            Some((at, code)) => skipped.push(Skipped {
                index: i,
                entry: c.entry.clone(),
                why: "backed_off",
                code: Some(code.to_owned()),
                detail: format!(
                    "skipped: its connection failed {}s ago ({code}); retried after {}s",
                    now.saturating_duration_since(at).as_secs(),
                    BACKOFF.as_secs()
                ),
            }),
            None => order.push(i),
        }
    }
    if order.is_empty() {
        // Every candidate failed recently: try them all again rather than fail unheard.
        skipped.clear();
        order = (0..n).collect();
    }
    let mut attempts: Vec<Attempt> = Vec::new();
    let mut last: Option<(usize, Error)> = None;
    for (k, &i) in order.iter().enumerate() {
        let c = &cands.entries[i];
        if let Some((failed, e)) = last.take_if(|_| tokio::time::Instant::now() >= until) {
            let budget = budget.describe(profile);
            // Out of time: the candidates not tried are named as such, not as failures (and
            // are not backed off: nothing is known about them).
            let untried = order[k..].iter().map(|&j| Skipped {
                index: j,
                entry: cands.entries[j].entry.clone(),
                why: OUT_OF_TIME,
                code: None,
                detail: format!(
                    "not tried: the time for the whole list ({budget}) ran out on the candidates before it"
                ),
            });
            // As when the last candidate fails: the route is the one of the attempt that
            // ended the request (`used`), with every other candidate skipped.
            skipped.retain(|s| s.index != failed);
            skipped.extend(untried);
            let hint = format!(
                "{}; {} more candidate(s) were not tried because the time for the whole list ran out ({budget}): lower the per-phase timeouts or put the reachable proxies first",
                e.hint().unwrap_or("every candidate tried failed"),
                order.len() - k,
            );
            return Err(e
                .with_route(route.with_alternatives(cands.following(failed, skipped)))
                .with_hint(hint)
                .map_evidence(|ev| ev.attempts = attempts));
        }
        let attempt_route = route.with_alternatives(cands.following(i, skipped.clone()));
        match connect_one(profile, uri, attempt_route).await {
            Ok(conn) => {
                profile.backoff.succeeded(c);
                return Ok(conn);
            }
            Err(e) if fails_over(&e) => {
                profile.backoff.failed(c, e.code(), Instant::now());
                attempts.push(Attempt::of(i, &c.entry, &e));
                skipped.push(Skipped {
                    index: i,
                    entry: c.entry.clone(),
                    why: "failed",
                    code: Some(e.code().to_owned()),
                    detail: format!("skipped: {} ({})", e.message(), e.code()),
                });
                last = Some((i, e));
            }
            Err(e) => {
                // The candidate answered (a refusal, a TLS problem with the origin): final.
                attempts.push(Attempt::of(i, &c.entry, &e));
                return Err(e.map_evidence(|ev| ev.attempts = attempts));
            }
        }
    }
    Err(match last {
        Some((_, e)) => e.map_evidence(|ev| ev.attempts = attempts),
        None => Error::new(ErrorKind::PacResult)
            .with_message("the route has no candidate to try")
            .with_route(route),
    })
}

/// The route once every name its PAC script asked about is resolved (bounded rounds). Every
/// round's names are looked up at once, and all rounds share one deadline: the connect timeout
/// (name resolution counts there), or the request's own deadline when sooner. A name not
/// answered by then counts as not resolving, as the names still asked for after the last round
/// do — a script asking about a hundred names cannot hold the request for a hundred timeouts.
async fn resolve_pending(profile: &Profile, uri: &Uri, mut route: Route) -> Result<Route, Error> {
    let budget = deadline::Budget::start(profile.timeouts().connect_or_default());
    for round in 0..=MAX_DNS_ROUNDS {
        let pending = match route.candidates() {
            Some(c) if !c.pending.is_empty() => c.pending.clone(),
            _ => return Ok(route),
        };
        let ctx = Ctx::new(
            profile.settings.provider.clone(),
            uri.authority().map(ToString::to_string).unwrap_or_default(),
            None,
            None,
        );
        let spent = tokio::time::Instant::now() >= budget.until;
        let answers: Vec<Vec<IpAddr>> = if round == MAX_DNS_ROUNDS || spent {
            // The script keeps asking for more, or the time is up: the rest do not resolve.
            vec![Vec::new(); pending.len()]
        } else {
            join_all(pending.iter().map(|name| {
                let ctx = &ctx;
                async move {
                    dns::resolve(
                        &profile.settings.resolver,
                        ctx,
                        Hop::Origin,
                        name,
                        0,
                        budget,
                    )
                    .await
                    .map(|a| a.into_iter().map(|s| s.ip()).collect())
                    .unwrap_or_default()
                }
            }))
            .await
        };
        for (name, addrs) in pending.iter().zip(answers) {
            profile.router.learn_name(name, addrs);
        }
        route = route_for(profile, uri, None)?;
    }
    Ok(route)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::proxy::ProxyUrl;

    fn cand(s: &str) -> Candidate {
        Candidate::new(s, ProxyUrl::parse(s).ok())
    }

    #[test]
    fn backoff_expires_and_is_bounded() {
        let b = Backoff::default();
        let t0 = Instant::now();
        let a = cand("http://a.test:1");
        assert!(b.recent(&a, t0).is_none());
        b.failed(&a, "proxy.connect", t0);
        assert_eq!(b.recent(&a, t0).map(|r| r.1), Some("proxy.connect"));
        assert!(
            b.recent(&a, t0 + BACKOFF + Duration::from_secs(1))
                .is_none()
        );
        for i in 0..(MAX_BACKOFF_ENTRIES + 10) {
            b.failed(&cand(&format!("http://h{i}.test:1")), "proxy.connect", t0);
        }
        assert!(b.failed.lock().unwrap().len() <= MAX_BACKOFF_ENTRIES);
        let last = cand(&format!("http://h{}.test:1", MAX_BACKOFF_ENTRIES + 9));
        assert!(b.recent(&last, t0).is_some());
        b.succeeded(&last);
        assert!(b.recent(&last, t0).is_none());
    }

    #[test]
    fn only_unreachable_candidates_fail_over() {
        let e = |k| Error::new(k);
        assert!(fails_over(&e(ErrorKind::ProxyConnect)));
        assert!(fails_over(&e(ErrorKind::OriginConnect)));
        assert!(!fails_over(&e(ErrorKind::ProxyForbidden)));
        assert!(!fails_over(&e(ErrorKind::ProxyAuthRequired)));
        assert!(!fails_over(&e(ErrorKind::ProxyRefused)));
        assert!(!fails_over(&e(ErrorKind::TlsUnknownIssuer)));
    }

    #[test]
    fn a_failure_becomes_its_kept_error_or_one_of_its_code() {
        let kept = Error::new(ErrorKind::PacTimeout)
            .with_message("slow")
            .map_evidence(|ev| ev.setting = Some("pac".to_owned()));
        let f = CandidateFailure::new(kept.code(), kept.message())
            .with_hint("h")
            .with_cause(std::sync::Arc::new(kept));
        let e = failure_error(&f);
        assert_eq!(e.code(), "pac.timeout");
        assert_eq!(e.hint(), Some("h"));
        assert_eq!(e.evidence().setting.as_deref(), Some("pac"));
        let plain = failure_error(&CandidateFailure::new("config.invalid", "no evaluator"));
        assert_eq!(plain.code(), "config.invalid");
        assert_eq!(plain.message(), "no evaluator");
    }
}
