//! Second looks at a failed connection, for the facts the failing step could not see on its
//! own: whether a proxy that hung up on a plain-text CONNECT is a TLS server (one ClientHello on
//! a second connection), whether a refused destination's address is in the `no_proxy` list under
//! another name (one bounded lookup), whether a tunnel carried a single byte from the origin
//! before it ended (the proxy's tunnel, not the origin, then broke it), whether the proxy that
//! carried the tunnel intercepts TLS, and the exact URL to write when a scheme is wrong.

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use crate::error::{
    Blame, CloseKind, CloseStage, Closure, Diagnosis, Error, ErrorKind, Hop, Phase,
};
use crate::proxy::{ProxyScheme, ProxyUrl};
use crate::route::{address_near_miss, no_proxy_in_force};
use crate::tls::{ViaProxy, through_proxy};

use super::refusal::{Form, refusal};
use super::{Ctx, Profile, http_connect, tls_probe};

/// The longest a second look may take: it only ever runs after a failure, and never longer
/// than the failed phase's own timeout.
const SECOND_LOOK: Duration = Duration::from_secs(2);

/// A tunnel the proxy opened: when, how, and how many bytes came back through it.
pub(crate) struct Tunnel {
    pub(crate) opened: Instant,
    pub(crate) received: Arc<AtomicU64>,
    pub(crate) socks: bool,
}

/// After the proxy handshake (CONNECT or SOCKS) failed.
pub(crate) async fn proxy_failure(
    profile: &Profile,
    ctx: &Ctx,
    proxy: &ProxyUrl,
    peer: Option<SocketAddr>,
    host: &str,
    port: u16,
    err: Error,
) -> Error {
    let timeout = profile.timeouts().proxy_or_default().min(SECOND_LOOK);
    let silent_close = err.kind() == ErrorKind::ProxyClosed
        && err
            .evidence()
            .closure
            .is_some_and(|c| c.bytes_received == 0 && c.stage == CloseStage::ConnectReply);
    if silent_close
        && proxy.scheme() == ProxyScheme::Http
        && let Some(addr) = peer
        && tls_probe::speaks_tls(addr, proxy.host(), timeout).await
    {
        let closure = err.evidence().closure;
        return http_connect::speaks_tls_error(
            ctx,
            "nothing to a plain-text CONNECT, and a TLS handshake to a ClientHello",
        )
        .map_evidence(|ev| ev.closure = closure);
    }
    let refused = matches!(
        err.kind(),
        ErrorKind::ProxyForbidden | ErrorKind::ProxyUpstream | ErrorKind::ProxyRefused
    );
    if refused
        && err.phase() == Phase::Proxy
        && ctx.route().is_some_and(|r| r.near_miss().is_none())
        && let Some(reply) = err.evidence().proxy_reply.clone()
        && let Some(n) = resolved_near_miss(profile, host, port, timeout).await
        && let Some(route) = ctx.route().cloned()
    {
        let credentials_sent = err.evidence().credentials_sent.unwrap_or(false);
        let ctx = ctx.with_route(route.with_near_miss(n));
        return refusal(&ctx, reply, credentials_sent, Form::Connect);
    }
    err
}

/// After a plain-`http://` request to an `http://` proxy broke at the HTTP layer: a proxy that
/// speaks TLS answers an absolute-form request with an alert or not at all.
pub(crate) async fn absolute_form_failure(profile: &Profile, ctx: &Ctx, err: Error) -> Error {
    let Some(proxy) = ctx.route().and_then(|r| r.proxy()).cloned() else {
        return err;
    };
    if err.kind() != ErrorKind::HttpProtocol || proxy.scheme() != ProxyScheme::Http {
        return err;
    }
    let timeout = profile.timeouts().proxy_or_default().min(SECOND_LOOK);
    let looked = tokio::time::timeout(
        timeout,
        profile.settings.resolver.lookup(proxy.host(), proxy.port()),
    )
    .await;
    let Some(addr) = looked
        .ok()
        .and_then(Result::ok)
        .and_then(|a| a.first().copied())
    else {
        return err;
    };
    if !tls_probe::speaks_tls(addr, proxy.host(), timeout).await {
        return err;
    }
    http_connect::speaks_tls_error(
        ctx,
        "no HTTP reply to a plain-text request, and a TLS handshake to a ClientHello",
    )
    .with_phase(Phase::Http)
    .with_route(
        ctx.route()
            .cloned()
            .unwrap_or_else(|| crate::route::Route::new("", None, None)),
    )
    .with_source(err)
}

/// The `no_proxy` entry that covers what `host` resolves to, when the list does not name it.
async fn resolved_near_miss(
    profile: &Profile,
    host: &str,
    port: u16,
    timeout: Duration,
) -> Option<crate::route::NearMiss> {
    let bare = host.trim_start_matches('[').trim_end_matches(']');
    if bare.parse::<IpAddr>().is_ok() {
        return None;
    }
    let s = &profile.settings;
    let (list, origin) = no_proxy_in_force(&s.global, s.layer.as_ref(), &s.env)?;
    if list.is_empty() {
        return None;
    }
    let addrs = tokio::time::timeout(timeout, s.resolver.lookup(bare, port))
        .await
        .ok()?
        .ok()?;
    let ips: Vec<IpAddr> = addrs.iter().map(SocketAddr::ip).collect();
    address_near_miss(list, bare, &ips, &origin)
}

/// After TLS with the `https://` proxy itself failed.
pub(crate) fn proxy_tls_failure(ctx: &Ctx, err: Error) -> Error {
    let plain = err
        .evidence()
        .tls
        .as_deref()
        .is_some_and(|t| t.diagnosis == Diagnosis::PlainHttpProxy);
    if !plain {
        return err;
    }
    err.with_hint(format!(
        "the proxy speaks plain HTTP: write its URL as `{}` in {} (keep any credentials)",
        ctx.proxy_url_with_scheme("http"),
        ctx.proxy_setting()
    ))
}

/// After TLS with the origin failed; `tunnel` when it ran through a proxy's tunnel.
pub(crate) fn origin_tls_failure(
    ctx: &Ctx,
    err: Error,
    host: &str,
    port: u16,
    tunnel: Option<&Tunnel>,
) -> Error {
    let Some(diagnosis) = err.evidence().tls.as_deref().map(|t| t.diagnosis) else {
        return err;
    };
    if diagnosis == Diagnosis::NotTls {
        let http = if port == 80 {
            format!("http://{host}")
        } else {
            format!("http://{host}:{port}")
        };
        return err.with_hint(format!(
            "the server at {host}:{port} speaks plain HTTP, not TLS: write the URL as `{http}/…`, or use the port where it serves TLS"
        ));
    }
    let Some(tunnel) = tunnel else {
        return err;
    };
    let received = tunnel.received.load(Ordering::Relaxed);
    if diagnosis == Diagnosis::ConnectionCut && received == 0 {
        return tunnel_cut(ctx, err, tunnel);
    }
    match (ctx.route(), ctx.proxy_display()) {
        (Some(route), proxy) if route.proxy().is_some() => through_proxy(
            err,
            &ViaProxy {
                proxy: &proxy,
                proxy_origin: route.proxy_origin(),
                provider: route.provider(),
                host,
            },
        ),
        _ => err,
    }
}

/// The tunnel ended before the origin sent a byte: the proxy's tunnel broke it, not the origin.
fn tunnel_cut(ctx: &Ctx, err: Error, tunnel: &Tunnel) -> Error {
    let how = err
        .evidence()
        .tls
        .as_deref()
        .and_then(|t| t.rustls_error.as_deref())
        .map_or(CloseKind::Closed, |e| {
            if e.to_ascii_lowercase().contains("reset") {
                CloseKind::Reset
            } else {
                CloseKind::Closed
            }
        });
    let after = tunnel.opened.elapsed();
    let proxy = ctx.proxy_display();
    let answered = if tunnel.socks {
        "reporting success to the SOCKS CONNECT"
    } else {
        "answering 200 to CONNECT"
    };
    let verb = match how {
        CloseKind::Closed => "closed",
        CloseKind::Reset => "reset",
    };
    let message = format!(
        "proxy {proxy} {verb} the tunnel to {} {} after {answered}, before the origin sent a single byte",
        ctx.target(),
        human_ms(after)
    );
    let hint = format!(
        "the proxy accepted the tunnel but nothing from {} ever came through it: the proxy (or its own connection to {}) dropped it — check the proxy's log for this CONNECT; proxies that filter TLS by server name, allow CONNECT only to some ports, or lose their upstream connection behave this way; {}",
        ctx.target(),
        ctx.target(),
        ctx.route_origin_phrase()
    );
    let closure = Closure {
        how,
        stage: CloseStage::Tunnel,
        bytes_received: 0,
        after: Some(after),
    };
    // The handshake's own error (rustls's words, the SNI) stays as the cause.
    ctx.error(ErrorKind::ProxyClosed, Hop::Proxy, Phase::Tls)
        .with_message(message)
        .with_hint(hint)
        .with_blame(Blame::Proxy)
        .with_evidence(err.evidence().clone())
        .map_evidence(|ev| ev.closure = Some(closure))
        .with_source(err)
}

fn human_ms(d: Duration) -> String {
    if d < Duration::from_secs(2) {
        format!("{} ms", d.as_millis())
    } else {
        format!("{:.1} s", d.as_secs_f64())
    }
}
