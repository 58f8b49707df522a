//! The HTTP side of [`TestProxy`](super::TestProxy): one client connection served by hyper,
//! each request checked against the [`Policy`](super::Policy) rules, then answered with a
//! generated reply, tunnelled (CONNECT), intercepted (TLS inside CONNECT) or relayed
//! (absolute-form, with `Via`).

use std::convert::Infallible;
use std::sync::Arc;

use bytes::Bytes;
use http::{HeaderValue, Method, Request, Response, StatusCode, header};
use http_body_util::{BodyExt, Full, combinators::BoxBody};
use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpStream;
use tokio_rustls::{TlsAcceptor, TlsConnector};

use super::misbehave::misbehave;
use super::origin::mark_sensitive;
use super::pki::server_config_alpn;
use super::policy::{CannedReply, Decision, VIA, decide, echo_page, squid_page};
use super::shared::{Handled, Listener, ProxyRequest, Shared, splice};
use super::upstream;

/// Serves one client connection of the HTTP (or HTTPS) listener.
pub(crate) async fn serve_http<S>(mut stream: S, listener: Listener, shared: Arc<Shared>)
where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    if let Some(rule) = shared.connection_rule() {
        misbehave(&mut stream, &rule, listener, &shared).await;
        return;
    }
    let service_shared = Arc::clone(&shared);
    let service = service_fn(move |req: Request<Incoming>| {
        let shared = Arc::clone(&service_shared);
        async move { Ok::<_, Infallible>(handle(req, listener, shared).await) }
    });
    let _ = hyper::server::conn::http1::Builder::new()
        .serve_connection(TokioIo::new(stream), service)
        .with_upgrades()
        .await;
}

type ProxyBody = BoxBody<Bytes, hyper::Error>;

fn generated(reply: &CannedReply) -> Response<ProxyBody> {
    reply.response(|body| Full::new(body).map_err(|never| match never {}).boxed())
}

fn empty(status: StatusCode) -> Response<ProxyBody> {
    let mut resp = Response::new(
        Full::new(Bytes::new())
            .map_err(|never| match never {})
            .boxed(),
    );
    *resp.status_mut() = status;
    resp
}

/// Handles one request on the HTTP(S) listener.
async fn handle(
    req: Request<Incoming>,
    listener: Listener,
    shared: Arc<Shared>,
) -> Response<ProxyBody> {
    let mut headers = req.headers().clone();
    mark_sensitive(&mut headers);
    let is_connect = req.method() == Method::CONNECT;
    let target = req.uri().to_string();
    let mut record = ProxyRequest {
        listener,
        method: req.method().as_str().to_owned(),
        target: target.clone(),
        has_proxy_authorization: headers.contains_key(header::PROXY_AUTHORIZATION),
        headers,
        handled: Handled::Misbehaved,
    };
    let host_port = req.uri().authority().map(|a| {
        let default = if req.uri().scheme_str() == Some("https") {
            443
        } else {
            80
        };
        (a.host().to_owned(), a.port_u16().unwrap_or(default))
    });
    let valid = match (&host_port, is_connect) {
        (Some(_), true) => req.uri().port_u16().is_some(),
        (Some(_), false) => req.uri().scheme_str() == Some("http"),
        (None, _) => false,
    };
    let Some((host, port)) = host_port.filter(|_| valid) else {
        let reply = squid_page(400, "Bad Request", "ERR_INVALID_URL 0", &target);
        record.handled = Handled::Refused(400);
        shared.record(record);
        return generated(&reply);
    };
    let auth = req
        .headers()
        .get(header::PROXY_AUTHORIZATION)
        .map(|v| v.as_bytes().to_vec());
    let decision = decide(&shared.rules(), &host, port, auth.as_deref(), false);
    match decision {
        Decision::Echo(status) => {
            let mut request = format!("{} {} {:?}\n", req.method(), target, req.version());
            for (name, value) in req.headers() {
                request.push_str(&format!(
                    "{name}: {}\n",
                    String::from_utf8_lossy(value.as_bytes())
                ));
            }
            record.handled = Handled::Refused(status);
            shared.record(record);
            generated(&echo_page(status, &request))
        }
        Decision::Refuse { reply, .. } => {
            record.handled = Handled::Refused(reply.status);
            shared.record(record);
            generated(&reply)
        }
        Decision::OkThenClose if is_connect => {
            record.handled = Handled::OkThenClosed;
            shared.record(record);
            shared.tasks.spawn(async move {
                // Taking and dropping the upgraded stream closes the connection.
                drop(hyper::upgrade::on(req).await);
            });
            empty(StatusCode::OK)
        }
        Decision::Intercept | Decision::DenyInsideTunnel
            if is_connect && shared.intercept.is_none() =>
        {
            let reply = squid_page(500, "Internal Server Error", "ERR_GATEWAY_FAILURE 0", &host);
            record.handled = Handled::Refused(500);
            shared.record(record);
            generated(&reply)
        }
        Decision::DenyInsideTunnel if is_connect => {
            record.handled = Handled::DeniedInsideTunnel;
            shared.record(record);
            let tunnel_shared = Arc::clone(&shared);
            shared.tasks.spawn(async move {
                if let Ok(upgraded) = hyper::upgrade::on(req).await {
                    deny_inside_tunnel(TokioIo::new(upgraded), host, &tunnel_shared).await;
                }
            });
            empty(StatusCode::OK)
        }
        Decision::DenyInsideTunnel => {
            // Plain http has no tunnel to hide in: the denial is an ordinary proxy 403.
            let reply = squid_page(403, "Forbidden", "ERR_ACCESS_DENIED 0", &host);
            record.handled = Handled::Refused(403);
            shared.record(record);
            generated(&reply)
        }
        decision => {
            let upstream = match upstream::connect(&shared.resolve, &host, port).await {
                Ok(s) => s,
                Err(err) => {
                    let reply = err.squid_reply(&host);
                    record.handled = Handled::Refused(reply.status);
                    shared.record(record);
                    return generated(&reply);
                }
            };
            if is_connect {
                let intercept = matches!(decision, Decision::Intercept);
                record.handled = if intercept {
                    Handled::Intercepted
                } else {
                    Handled::Tunnelled
                };
                shared.record(record);
                let tunnel_shared = Arc::clone(&shared);
                shared.tasks.spawn(async move {
                    if let Ok(upgraded) = hyper::upgrade::on(req).await {
                        let client = TokioIo::new(upgraded);
                        if intercept {
                            intercept_tunnel(client, upstream, &host, &tunnel_shared).await;
                        } else {
                            splice(client, upstream).await;
                        }
                    }
                });
                empty(StatusCode::OK)
            } else {
                relay(req, upstream, record, &shared).await
            }
        }
    }
}

/// Terminates the client's TLS with a leaf for `host` from the interception CA and re-originates
/// TLS to the destination.
async fn intercept_tunnel<C>(client: C, upstream: TcpStream, host: &str, shared: &Shared)
where
    C: AsyncRead + AsyncWrite + Unpin,
{
    let Some(intercept) = &shared.intercept else {
        return;
    };
    let bare = host.trim_start_matches('[').trim_end_matches(']');
    let Some(client_tls) = accept_intercepted(client, bare, shared).await else {
        return;
    };
    let Ok(name) = rustls_pki_types::ServerName::try_from(bare.to_owned()) else {
        return;
    };
    let connector = TlsConnector::from(Arc::clone(&intercept.origin_trust));
    match connector.connect(name, upstream).await {
        Ok(origin_tls) => splice(client_tls, origin_tls).await,
        // Like ssl-bump: the origin's TLS failure reaches the client as the proxy's 503, inside
        // the tunnel, behind the interception certificate.
        Err(_) => {
            let page = squid_page(
                503,
                "Service Unavailable",
                "ERR_SECURE_CONNECT_FAIL 0",
                bare,
            );
            answer_inside(client_tls, page).await;
        }
    }
}

/// Answers every request on an intercepted connection with `page`.
async fn answer_inside<C>(client_tls: tokio_rustls::server::TlsStream<C>, page: CannedReply)
where
    C: AsyncRead + AsyncWrite + Unpin,
{
    let service = service_fn(move |_req: Request<Incoming>| {
        let resp = generated(&page);
        async move { Ok::<_, Infallible>(resp) }
    });
    let _ = hyper::server::conn::http1::Builder::new()
        .serve_connection(TokioIo::new(client_tls), service)
        .await;
}

/// Terminates the client's TLS as `host` with a leaf from the interception CA (HTTP/1.1 only).
async fn accept_intercepted<C>(
    client: C,
    host: &str,
    shared: &Shared,
) -> Option<tokio_rustls::server::TlsStream<C>>
where
    C: AsyncRead + AsyncWrite + Unpin,
{
    let intercept = shared.intercept.as_ref()?;
    let (mut chain, key) = intercept.ca.issue_in_memory(&[host]).ok()?;
    if intercept.present_ca {
        chain.push(intercept.ca.certificate().clone());
    }
    let config = server_config_alpn(chain, key, &[b"http/1.1"]).ok()?;
    TlsAcceptor::from(config).accept(client).await.ok()
}

/// Like an ssl-bump `http_access deny`: terminates TLS with the interception CA and answers every
/// request inside the tunnel with Squid's 403, never contacting the destination.
async fn deny_inside_tunnel<C>(client: C, host: String, shared: &Shared)
where
    C: AsyncRead + AsyncWrite + Unpin,
{
    let bare = host
        .trim_start_matches('[')
        .trim_end_matches(']')
        .to_owned();
    let Some(client_tls) = accept_intercepted(client, &bare, shared).await else {
        return;
    };
    let page = squid_page(403, "Forbidden", "ERR_ACCESS_DENIED 0", &bare);
    answer_inside(client_tls, page).await;
}

/// Forwards an absolute-form request to the destination and relays its response, adding `Via`.
async fn relay(
    req: Request<Incoming>,
    upstream: TcpStream,
    mut record: ProxyRequest,
    shared: &Shared,
) -> Response<ProxyBody> {
    let (mut parts, body) = req.into_parts();
    let host = parts.uri.host().unwrap_or("").to_owned();
    parts.uri = match parts.uri.path_and_query() {
        Some(pq) => pq
            .as_str()
            .parse()
            .unwrap_or_else(|_| http::Uri::from_static("/")),
        None => http::Uri::from_static("/"),
    };
    parts.headers.remove(header::PROXY_AUTHORIZATION);
    parts.headers.remove("proxy-connection");
    parts
        .headers
        .append(header::VIA, HeaderValue::from_static(VIA));
    let upstream_req = Request::from_parts(parts, body);
    let failed = |record: &mut ProxyRequest| {
        let reply = squid_page(502, "Bad Gateway", "ERR_READ_ERROR 104", &host);
        record.handled = Handled::Refused(502);
        generated(&reply)
    };
    let Ok((mut sender, conn)) =
        hyper::client::conn::http1::handshake(TokioIo::new(upstream)).await
    else {
        let resp = failed(&mut record);
        shared.record(record);
        return resp;
    };
    shared.tasks.spawn(async move {
        let _ = conn.await;
    });
    match sender.send_request(upstream_req).await {
        Ok(resp) => {
            let (mut parts, body) = resp.into_parts();
            parts
                .headers
                .append(header::VIA, HeaderValue::from_static(VIA));
            record.handled = Handled::Relayed(parts.status.as_u16());
            shared.record(record);
            Response::from_parts(parts, body.boxed())
        }
        Err(_) => {
            let resp = failed(&mut record);
            shared.record(record);
            resp
        }
    }
}
