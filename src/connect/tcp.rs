//! TCP connect: the resolved addresses are tried in order, all within what is left of the hop's
//! connect budget after resolving its name (curl's `--connect-timeout`: one timeout for the
//! name and every address, not each address's — a DNS answer with a hundred addresses that do
//! not answer must not multiply it). While other addresses remain, an attempt gets half of the
//! time left, so a later address still gets its chance; the last gets all of it. Every attempt
//! is recorded as evidence. At most [`MAX_ADDRESSES`] are tried: refusals are fast, so the
//! deadline alone would let an answer with thousands of addresses cost thousands of connects
//! and as many entries in the error's evidence.

use std::io;
use std::net::SocketAddr;

use tokio::net::TcpStream;
use tokio::time::Instant;

use crate::error::{AddrAttempt, Error, ErrorKind, Hop, Phase};

use super::Ctx;
use super::deadline::Budget;

/// The most addresses of one name tried (and kept as evidence) per connection.
pub(crate) const MAX_ADDRESSES: usize = 64;

/// Connects to the first address that accepts; on failure the error lists every attempt.
/// `proxy.connect`/`origin.connect` when any address refused or was unreachable,
/// `proxy.timeout`/`origin.timeout` when every address timed out before `budget` was up (the
/// error names the budget's timeout: the time went to resolving the name and to connecting).
pub(crate) async fn connect(
    ctx: &Ctx,
    hop: Hop,
    host: &str,
    addrs: &[SocketAddr],
    budget: Budget,
) -> Result<TcpStream, Error> {
    let total = addrs.len();
    let addrs = &addrs[..total.min(MAX_ADDRESSES)];
    let mut attempts = Vec::with_capacity(addrs.len());
    let mut last: Option<io::Error> = None;
    let mut all_timed_out = true;
    let Budget { until, timeout } = budget;
    // What resolving the name left of the budget, for the message when the time runs out.
    let mut left_to_connect = None;
    for (i, &addr) in addrs.iter().enumerate() {
        let left = until.saturating_duration_since(Instant::now());
        left_to_connect.get_or_insert(left);
        // The first address is always tried (a spent deadline times it out at once).
        if left.is_zero() && i > 0 {
            break;
        }
        let this = if i + 1 < addrs.len() { left / 2 } else { left };
        match tokio::time::timeout(this, TcpStream::connect(addr)).await {
            Ok(Ok(s)) => {
                let _ = s.set_nodelay(true);
                return Ok(s);
            }
            Ok(Err(e)) => {
                all_timed_out = false;
                attempts.push(AddrAttempt {
                    addr,
                    error: Some(e.to_string()),
                });
                last = Some(e);
            }
            Err(_) => {
                attempts.push(AddrAttempt {
                    addr,
                    error: Some(format!("timed out after {this:?}")),
                });
            }
        }
    }
    let noun = super::dns::hop_noun(hop);
    let tried = if attempts.len() < addrs.len() {
        format!(
            "{} of {total} addresses tried before the time was up",
            attempts.len(),
        )
    } else if addrs.len() < total {
        format!(
            "{} of {total} addresses tried: at most {MAX_ADDRESSES} are",
            attempts.len()
        )
    } else {
        format!("{} address(es) tried", attempts.len())
    };
    let timed_out = all_timed_out && !attempts.is_empty();
    // The share of the budget resolving the name took, said when it was a noticeable one (a
    // tenth or more): a connect that timed out early because the resolver was slow is the
    // resolver's time as much as the address's.
    let resolving = timeout.saturating_sub(left_to_connect.unwrap_or(timeout));
    let (kind, message) = if timed_out {
        let kind = match hop {
            Hop::Proxy => ErrorKind::ProxyTimeout,
            Hop::Origin => ErrorKind::OriginTimeout,
        };
        let spent = if resolving < timeout / 10 {
            String::new()
        } else {
            format!("resolving the name took {resolving:?} of it; ")
        };
        (
            kind,
            format!(
                "connecting to {noun} host {host} timed out after {timeout:?} ({spent}{tried})"
            ),
        )
    } else {
        let kind = match hop {
            Hop::Proxy => ErrorKind::ProxyConnect,
            Hop::Origin => ErrorKind::OriginConnect,
        };
        (
            kind,
            format!("could not connect to {noun} host {host} ({tried})"),
        )
    };
    let refused = attempts.iter().any(|a| {
        a.error
            .as_deref()
            .is_some_and(|e| e.to_ascii_lowercase().contains("refused"))
    });
    let hint = match (hop, all_timed_out, refused) {
        (Hop::Proxy, _, true) => format!(
            "nothing listens at the proxy's address: the proxy is down, or the port in {} is wrong",
            ctx.proxy_setting()
        ),
        (Hop::Proxy, true, false) => format!(
            "the proxy's address never answered: a firewall dropping the packets, or the host is down; check that this network can reach it ({})",
            ctx.route_origin_phrase()
        ),
        (Hop::Proxy, false, false) => format!(
            "the proxy's address is unreachable from here (no route): a network or firewall problem between this machine and the proxy; {}",
            ctx.route_origin_phrase()
        ),
        (Hop::Origin, _, true) => format!(
            "nothing listens at {host}'s address: the service is down or the port in the URL is wrong ({})",
            ctx.route_phrase()
        ),
        (Hop::Origin, _, false) => format!(
            "{host} cannot be reached from here (no answer or no route); if this network only reaches {host} through a proxy, the route should not be direct ({})",
            ctx.route_phrase()
        ),
    };
    let hint = if timed_out {
        format!("{hint}; or raise timeouts.connect, which resolving the name and connecting share")
    } else {
        hint
    };
    let mut err = ctx
        .error(kind, hop, Phase::Connect)
        .with_message(message)
        .with_hint(hint)
        .map_evidence(|ev| {
            ev.addresses = attempts;
            if all_timed_out {
                ev.timeout = Some(timeout);
            }
        });
    if let Some(e) = last {
        err = err.with_source(e);
    }
    Err(err)
}
