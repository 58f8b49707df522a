//! `POST /v1/translate/{provider}`: the request body goes to the provider's translate path
//! through proxyscope's client (the provider's own route, proxy and CA), and the provider's 2xx
//! answer comes back as is. Anything else is a JSON error carrying proxyscope's code, hop, blame,
//! phase, hint and route, with the status proxyscope chooses for a gateway
//! (`Error::gateway_status`: 504 for timeouts, 500 for our own configuration, 502 otherwise) —
//! never the upstream's status copied as if it were ours. One log line per outbound request.
//!
//! The caller's body is read within `server.body_timeout` and up to `server.max_body` bytes;
//! the caller's query string is added to the provider URL's own, whose parameters (an API
//! `key`) the caller can neither drop nor override.

use std::time::Instant;

use bytes::Bytes;
use http::{HeaderValue, Request, Response, StatusCode, header};
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::Incoming;
use proxyscope::config::format_duration;
use proxyscope::{Error, ErrorKind, Phase, Route};
use serde_json::json;

use super::server::{Body, State, json, service_error};

/// Handles one translate request for `provider`.
pub(crate) async fn handle(
    state: &State,
    provider: &str,
    req: Request<Incoming>,
) -> Response<Body> {
    let Some(p) = state.settings.config.provider(provider) else {
        let known: Vec<&str> = state
            .settings
            .config
            .providers()
            .iter()
            .map(|p| p.name())
            .collect();
        return service_error(
            StatusCode::NOT_FOUND,
            "service.unknown_provider",
            &format!("there is no provider named {provider}"),
            &format!("known providers: {}", known.join(", ")),
        );
    };
    let content_type = req
        .headers()
        .get(header::CONTENT_TYPE)
        .cloned()
        .unwrap_or_else(|| HeaderValue::from_static("application/octet-stream"));
    let query = req.uri().query().map(str::to_owned);
    let limits = &state.settings.limits;
    let max_body = limits.max_body.value;
    let body_timeout = limits.body_timeout.value;
    let read = Limited::new(req.into_body(), max_body).collect();
    let body = match tokio::time::timeout(body_timeout, read).await {
        Ok(Ok(b)) => b.to_bytes(),
        Ok(Err(e)) if e.is::<http_body_util::LengthLimitError>() => {
            return service_error(
                StatusCode::PAYLOAD_TOO_LARGE,
                "service.body_too_large",
                &format!("request bodies are limited to {max_body} bytes"),
                "send less text per request, or raise server.max_body",
            );
        }
        Ok(Err(_)) => {
            return service_error(
                StatusCode::BAD_REQUEST,
                "service.body",
                "the request body could not be read",
                "send the whole body; the connection broke mid-request",
            );
        }
        Err(_) => {
            return service_error(
                StatusCode::REQUEST_TIMEOUT,
                "service.body_timeout",
                &format!(
                    "the request body did not arrive within {}",
                    format_duration(body_timeout)
                ),
                "send the whole body at once, or raise server.body_timeout",
            );
        }
    };

    let url = p.request_url(
        &state.settings.translate_path(provider).value,
        query.as_deref(),
    );
    // The provider handle joins the translate path (and the caller's query) to the provider's
    // URL the same way `request_url` does, and sends through that provider's profile.
    let path = match &query {
        Some(q) => format!("{}?{q}", state.settings.translate_path(provider).value),
        None => state.settings.translate_path(provider).value.clone(),
    };
    let outbound = state.client.provider(provider).map(|h| {
        h.post(&path)
            .header(header::CONTENT_TYPE, content_type)
            .body(body)
    });

    let started = Instant::now();
    let result = call(provider, outbound).await;
    let elapsed_ms = started.elapsed().as_millis();
    match result {
        Ok((route, status, content_type, body)) => {
            tracing::info!(
                provider = %provider,
                route = %route.summary(),
                status = status.as_u16(),
                elapsed_ms,
                "outbound translate request"
            );
            let mut res = Response::new(Full::new(body));
            let h = res.headers_mut();
            if let Some(ct) = content_type {
                h.insert(header::CONTENT_TYPE, ct);
            }
            h.insert(
                "x-proxyscope-route",
                HeaderValue::from_static(if route.is_direct() { "direct" } else { "proxy" }),
            );
            res
        }
        Err(e) => {
            let fallback = state.client.route(Some(provider), url.as_str()).ok();
            let route = e.route().or(fallback.as_ref());
            tracing::warn!(
                provider = %provider,
                route = %route.map_or_else(|| "unknown".to_owned(), Route::summary),
                code = e.code(),
                hop = e.hop().map_or("-", |h| h.as_str()),
                blame = %e.blame(),
                phase = %e.phase(),
                elapsed_ms,
                "outbound translate request failed"
            );
            error_response(provider, &e, route)
        }
    }
}

type Answer = (Route, StatusCode, Option<HeaderValue>, Bytes);

/// Sends the request; only a 2xx with a complete body is an answer.
async fn call(
    provider: &str,
    req: Result<proxyscope::client::RequestBuilder, Error>,
) -> Result<Answer, Error> {
    // A reply the proxy wrote itself (a block page, a login redirect) is never the provider's
    // answer, whatever its status.
    let res = req?.send().await?.error_for_proxy_reply()?;
    let status = res.status();
    if !status.is_success() {
        return Err(match res.error_for_status() {
            Err(e) => e,
            Ok(res) => unexpected_status(provider, &res),
        });
    }
    let route = res.route().clone();
    let content_type = res.headers().get(header::CONTENT_TYPE).cloned();
    let body = res.bytes().await?;
    Ok((route, status, content_type, body))
}

/// `http.status` for a 1xx/3xx answer: redirects are not followed, so they are failures too.
fn unexpected_status(provider: &str, res: &proxyscope::Response) -> Error {
    let status = res.status();
    let attribution = res.attribution().clone();
    Error::new(ErrorKind::HttpStatus)
        .with_hop(attribution.source)
        .with_phase(Phase::Http)
        .with_message(format!("{provider} answered {status}, expected 2xx"))
        .with_hint("the service does not follow redirects to providers; point the provider's url or translate path at the final location")
        .with_route(res.route().clone())
        .map_evidence(|ev| {
            ev.status = Some(status.as_u16());
            ev.attribution = Some(attribution);
        })
}

/// `{ "error": { code, message, provider, hop, blame, phase, hint, route, upstream_status,
/// attribution, evidence } }` — `upstream_status` and `attribution` say who answered non-2xx.
pub(crate) fn error_response(provider: &str, e: &Error, route: Option<&Route>) -> Response<Body> {
    let ev = e.evidence();
    let mut res = json(
        e.gateway_status(),
        &json!({ "error": {
            "code": e.code(),
            "message": e.to_string(),
            "provider": provider,
            "hop": e.hop(),
            "blame": e.blame(),
            "phase": e.phase(),
            "hint": e.hint(),
            "route": route,
            "upstream_status": ev.status,
            "attribution": ev.attribution,
            "evidence": ev,
        }}),
    );
    if let Ok(v) = HeaderValue::from_str(e.code()) {
        res.headers_mut().insert("x-proxyscope-error", v);
    }
    res
}
