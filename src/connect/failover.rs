//! Connections along routes with several candidates (a proxy list or a PAC answer): names the
//! PAC script asked about resolved first with the profile's resolver (then the script decides
//! again, a bounded number of times), then the candidates tried in order. A candidate whose
//! connection fails — unreachable, not an answer such as 403 — gives way to the next and is
//! skipped by later requests for [`crate::route::BACKOFF`]; each failure is kept in the final
//! error's evidence (`attempts`) and in the route's explanation.

use std::time::Instant;

use http::Uri;

use crate::error::{Attempt, Error, Hop};
use crate::route::{Route, Skipped, fails_over};

use super::{Conn, Ctx, Profile, connect_one, dns, route_for};

/// How many times a PAC script may ask for names before its answer is taken as it is.
const MAX_DNS_ROUNDS: usize = 4;

pub(super) async fn connect(profile: &Profile, uri: &Uri, route: Route) -> Result<Conn, Error> {
    let route = resolve_pending(profile, uri, route).await?;
    let Some(cands) = route.candidates() else {
        return connect_one(profile, uri, route).await;
    };
    if let Some(f) = &cands.failure {
        return Err(f.to_error().with_route(route.clone()));
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
                    crate::route::BACKOFF.as_secs()
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
    let mut last = None;
    for i in order {
        let c = &cands.entries[i];
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
                last = Some(e);
            }
            Err(e) => {
                // The candidate answered (a refusal, a TLS problem with the origin): final.
                attempts.push(Attempt::of(i, &c.entry, &e));
                return Err(e.map_evidence(|ev| ev.attempts = attempts));
            }
        }
    }
    Err(match last {
        Some(e) => e.map_evidence(|ev| ev.attempts = attempts),
        None => Error::new(crate::ErrorKind::PacResult)
            .with_message("the route has no candidate to try")
            .with_route(route),
    })
}

/// The route once every name its PAC script asked about is resolved (bounded rounds).
async fn resolve_pending(profile: &Profile, uri: &Uri, mut route: Route) -> Result<Route, Error> {
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
        let timeout = profile.timeouts().connect_or_default();
        for name in &pending {
            let addrs = if round == MAX_DNS_ROUNDS {
                // The script keeps asking for more: the rest do not resolve.
                Vec::new()
            } else {
                dns::resolve(
                    &profile.settings.resolver,
                    &ctx,
                    Hop::Origin,
                    name,
                    0,
                    timeout,
                )
                .await
                .map(|a| a.into_iter().map(|s| s.ip()).collect())
                .unwrap_or_default()
            };
            #[cfg(feature = "pac")]
            profile.router.learn_name(name, addrs);
            #[cfg(not(feature = "pac"))]
            let _ = addrs;
        }
        route = route_for(profile, uri, None)?;
    }
    Ok(route)
}
