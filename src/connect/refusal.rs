//! The error for a reply a proxy wrote itself — a non-2xx answer to CONNECT, or a page it
//! generated for a plain-`http://` (absolute-form) request — with one code per refusal whatever
//! the request form (`proxy.forbidden`, `proxy.auth_required` / `proxy.auth_rejected`,
//! `proxy.upstream`, `proxy.refused`), a headline that tells the causes apart, and a hint that
//! leads with the local fix when the route's own configuration explains the refusal (a
//! `no_proxy` entry that nearly matched, a proxy the provider inherited) and asks the proxy's
//! operators only after that.

use crate::error::{Blame, Error, ErrorKind, Hop, Phase, ProxyReply};
use crate::route::location;
use crate::wire;

use super::Ctx;

/// How the refused request reached the proxy.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Form<'a> {
    /// `CONNECT host:port`.
    Connect,
    /// An absolute-form request (`GET http://host/path`): the proxy answered it itself.
    Request {
        /// The request method.
        method: &'a str,
        /// The request URL (credentials and secrets already redacted).
        url: &'a str,
    },
}

/// The error for `reply`, which the proxy of `ctx` generated. `credentials_sent` tells a missing
/// from a rejected authentication.
pub(crate) fn refusal(
    ctx: &Ctx,
    reply: ProxyReply,
    credentials_sent: bool,
    form: Form<'_>,
) -> Error {
    let reply = masked(reply);
    let c = wire::classify(&reply, credentials_sent);
    let proxy = ctx.proxy_display();
    let target = ctx.target().to_owned();
    let (schemes, realm) = wire::reply_challenges(&reply);
    let offered = if schemes.is_empty() {
        "none named".to_owned()
    } else {
        match &realm {
            Some(r) => format!("{} realm=\"{r}\"", schemes.join(", ")),
            None => schemes.join(", "),
        }
    };
    let basic_offered =
        schemes.is_empty() || schemes.iter().any(|s| s.eq_ignore_ascii_case("basic"));
    let status = format!("{} {}", reply.status, reply.reason.trim());
    let signal = if c.signal.starts_with("status") {
        String::new()
    } else {
        format!(", {}", c.signal)
    };
    let upstream = wire::upstream_failure(&reply);
    let location = reply
        .header("location")
        .map(crate::proxy::redact_text)
        .filter(|_| (300..400).contains(&reply.status));
    let itself = match form {
        Form::Connect => String::new(),
        Form::Request { .. } => {
            " (the proxy wrote this reply; the origin never saw the request)".to_owned()
        }
    };

    let message = match c.kind {
        ErrorKind::ProxyAuthRequired => format!(
            "proxy {proxy} requires credentials and none were sent ({status}; it offers {offered})"
        ),
        ErrorKind::ProxyAuthRejected => format!(
            "proxy {proxy} rejected the credentials it was sent ({status}; it offers {offered})"
        ),
        ErrorKind::ProxyForbidden => {
            format!("proxy {proxy} denies access to {target} ({status}{signal}){itself}")
        }
        ErrorKind::ProxyUpstream => match &upstream {
            Some(what) => format!("proxy {proxy} could not reach {target}: it {what}"),
            None => format!("proxy {proxy} could not reach {target} ({status}{signal})"),
        },
        _ => match (form, &location) {
            (Form::Connect, _) => {
                format!("proxy {proxy} refused CONNECT to {target}: {status}{signal}")
            }
            (Form::Request { method, url }, Some(loc)) => format!(
                "proxy {proxy} answered {method} {url} itself with {status}, redirecting to {loc}, instead of relaying it"
            ),
            (Form::Request { method, url }, None) => format!(
                "proxy {proxy} answered {method} {url} itself with {status}{signal}, instead of relaying it"
            ),
        },
    };

    let local = local_fix(ctx);
    let operators = |ask: String| match &local {
        Some(fix) => format!("{fix}; only if {target} must go through this proxy, {ask}"),
        None => ask,
    };
    let setting = ctx.proxy_setting();
    let hint = match c.kind {
        ErrorKind::ProxyAuthRequired => format!(
            "put the proxy's credentials in its URL: {} in {setting} (it offers {offered})",
            ctx.proxy_url_with_placeholder_credentials()
        ),
        ErrorKind::ProxyAuthRejected if !basic_offered => format!(
            "the proxy does not accept Basic authentication (it offers {offered}); proxyscope sends Basic only — ask for a Basic-capable proxy account or an exemption"
        ),
        ErrorKind::ProxyAuthRejected => format!(
            "correct the user name or password in the proxy URL set in {setting} (percent-encode `@`, `:`, `/` and `%` in the password); the proxy offers {offered}"
        ),
        ErrorKind::ProxyForbidden if local.is_some() => operators(format!(
            "ask the proxy's operators to allow {target} (its policy answered {status}{signal})"
        )),
        ErrorKind::ProxyForbidden => format!(
            "the proxy's policy denies {target} (it answered {status}{signal}): ask its operators to allow it; or, if this {} must not use this proxy, set {} or add {} to no_proxy — {}",
            ctx.provider_noun(),
            ctx.proxy_key(),
            host_of(&target)
                .trim_start_matches('[')
                .trim_end_matches(']'),
            ctx.route_origin_phrase()
        ),
        ErrorKind::ProxyUpstream => operators(match &upstream {
            Some(what) if what.contains("resolve") => format!(
                "the proxy works but {what}: check the host name {} — it must resolve where the proxy looks it up",
                host_of(&target)
            ),
            Some(what) => format!(
                "the proxy works but {what}: check that {target} is the right host and port and that the service is up"
            ),
            None => format!(
                "the proxy could not reach {target} ({}); check the destination's host name and port, and the proxy's own DNS and egress",
                c.signal
            ),
        }),
        _ => match (form, &location) {
            (Form::Request { .. }, Some(loc)) => operators(format!(
                "the proxy sends this client to {loc} (a login page or captive portal?) instead of relaying: authenticate this client with the proxy or ask its operators for an exemption; a check accepts a proxy-written reply only with allow_proxy_response = true"
            )),
            _ => operators(format!(
                "the proxy answered {status} itself; its reply is in the evidence — ask the proxy's operators what it means; {}",
                ctx.route_origin_phrase()
            )),
        },
    };
    // A near-miss no_proxy entry is evidence the configuration meant to bypass the proxy: the
    // local configuration must act. An inherited proxy is how layering is meant to work, so it
    // leads the hint without moving the blame.
    let near_miss = ctx.route().is_some_and(|r| r.near_miss().is_some());
    let blame = match c.kind {
        ErrorKind::ProxyAuthRequired | ErrorKind::ProxyAuthRejected => Blame::LocalConfig,
        _ if near_miss => Blame::LocalConfig,
        ErrorKind::ProxyUpstream => Blame::Origin,
        _ => Blame::Proxy,
    };
    let phase = match form {
        Form::Connect => Phase::Proxy,
        Form::Request { .. } => Phase::Http,
    };
    ctx.error(c.kind, Hop::Proxy, phase)
        .with_message(message)
        .with_hint(hint)
        .with_blame(blame)
        .map_evidence(|ev| {
            ev.credentials_sent = Some(credentials_sent);
            if matches!(
                c.kind,
                ErrorKind::ProxyAuthRequired | ErrorKind::ProxyAuthRejected
            ) {
                ev.auth_schemes = schemes;
                ev.auth_realm = realm;
            }
            ev.status = Some(reply.status);
            ev.cause = Some(c.signal);
            ev.proxy_reply = Some(reply);
        })
}

/// The host of a `host:port` target.
fn host_of(target: &str) -> &str {
    match target.rsplit_once(':') {
        Some((h, p)) if p.bytes().all(|b| b.is_ascii_digit()) => h,
        _ => target,
    }
}

/// The local configuration that explains a proxy refusing this route's destination, as the
/// sentence that leads the hint: a `no_proxy` entry that nearly matched, or a proxy the
/// provider inherited without setting one.
pub(crate) fn local_fix(ctx: &Ctx) -> Option<String> {
    let route = ctx.route()?;
    let host = host_of(ctx.target())
        .trim_start_matches('[')
        .trim_end_matches(']');
    if let Some(n) = route.near_miss() {
        return Some(format!(
            "no_proxy entry `{}` in {} does not match {host} ({}): write `{}` there so {host} bypasses the proxy",
            n.entry,
            n.location(),
            n.reason,
            n.write
        ));
    }
    let provider = route.inherited_proxy()?;
    let proxy = route.proxy()?.without_credentials();
    let from = route
        .proxy_origin()
        .map_or_else(|| "the global settings".to_owned(), location);
    let at = match ctx.provider_origin() {
        Some(o) => format!(" in {}", location(o)),
        None => String::new(),
    };
    Some(format!(
        "provider {provider} sets no proxy of its own and inherited {proxy} from {from}: if {provider} must not use it, set providers.{provider}.proxy (\"direct\", or {provider}'s own proxy URL){at}"
    ))
}

/// The reply with the secrets a proxy may put in it of its own accord masked: a login portal's
/// `Location` (and the link in its page) carries a ticket or token in its query, or userinfo.
/// What the request carried is scrubbed later (`Error::scrubbed`); these are the proxy's own,
/// so no request secret would find them. `Location` is one URL and is masked by its structure;
/// the page is free text, masked URL by URL.
fn masked(mut reply: ProxyReply) -> ProxyReply {
    for (name, value) in &mut reply.headers {
        if name.eq_ignore_ascii_case("location") || name.eq_ignore_ascii_case("content-location") {
            *value = crate::proxy::redact_url(value);
        }
    }
    if let Some(body) = &mut reply.body_excerpt {
        *body = crate::proxy::redact_text(body);
    }
    reply
}
