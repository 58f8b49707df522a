//! The HTTP server: a hyper 1 connection per accepted socket (HTTP/1.1 or HTTP/2 through
//! hyper-util's auto builder), and the routing table. Every answer is JSON; no route ever
//! redirects, and nothing upstream decides our status code.
//!
//! | route | answer |
//! |---|---|
//! | `GET /_info` | 200 `{name, version, description}` — static, says nothing about egress |
//! | `POST /v1/translate/{provider}` | the provider's answer, or a 502/504 JSON error |
//! | `GET /_health/providers` | the deep check: 200 when every required provider passes, else 503 |
//! | `GET /_config` | the effective configuration with origins, secrets redacted |

use std::convert::Infallible;
use std::fmt;
use std::net::SocketAddr;
use std::sync::Arc;

use bytes::Bytes;
use http::{HeaderValue, Method, Request, Response, StatusCode, header};
use http_body_util::Full;
use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto;
use proxyscope::{Client, EnvSnapshot};
use serde_json::{Value, json};
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::{JoinHandle, JoinSet};

use super::health::Health;
use super::settings::Settings;
use super::{config_view, translate};

/// The response body type of every route.
pub(crate) type Body = Full<Bytes>;

/// What every request handler shares.
pub(crate) struct State {
    /// The validated settings.
    pub(crate) settings: Settings,
    /// The pooled client provider calls go through.
    pub(crate) client: Client,
    /// The cached deep health check.
    pub(crate) health: Health,
    /// The address actually bound.
    pub(crate) addr: SocketAddr,
}

/// Why the service could not start (its settings were valid).
#[derive(Debug)]
pub(crate) enum StartError {
    /// The listen address could not be bound.
    Bind {
        /// The address.
        addr: SocketAddr,
        /// The OS error.
        source: std::io::Error,
    },
    /// proxyscope refused to build a client for the configuration.
    Client(proxyscope::Error),
}

impl fmt::Display for StartError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Bind { addr, source } => write!(f, "cannot listen on {addr}: {source}"),
            Self::Client(e) => f.write_str(&e.report()),
        }
    }
}

impl std::error::Error for StartError {}

/// A running service. Dropping it stops the accept loop and every connection.
pub(crate) struct Handle {
    addr: SocketAddr,
    stop: watch::Sender<bool>,
    task: Option<JoinHandle<()>>,
}

impl Handle {
    /// The address the service listens on.
    pub(crate) fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `http://{addr}`.
    pub(crate) fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Stops accepting, closes every connection, and waits until the server task is gone.
    pub(crate) async fn shutdown(mut self) {
        let _ = self.stop.send(true);
        if let Some(task) = self.task.take() {
            let _ = task.await;
        }
    }
}

impl Drop for Handle {
    fn drop(&mut self) {
        if let Some(task) = self.task.take() {
            task.abort();
        }
    }
}

/// Builds the clients, binds `listen` (or the configured address) and starts serving.
pub(crate) async fn start(
    settings: Settings,
    env: EnvSnapshot,
    listen: Option<SocketAddr>,
) -> Result<Handle, StartError> {
    let config = &settings.config;
    let mut builder = Client::builder()
        .global(config.global_layer().clone())
        .env(env.clone());
    for p in config.providers() {
        builder = builder.provider(p.name(), p.url().value.as_str(), p.layer().clone());
    }
    let client = builder.build().map_err(StartError::Client)?;
    let health =
        Health::new(config, env, settings.health_cache.value).map_err(StartError::Client)?;

    let want = listen.unwrap_or(settings.listen.value);
    let listener = TcpListener::bind(want)
        .await
        .map_err(|source| StartError::Bind { addr: want, source })?;
    let addr = listener
        .local_addr()
        .map_err(|source| StartError::Bind { addr: want, source })?;
    let state = Arc::new(State {
        settings,
        client,
        health,
        addr,
    });
    let (stop, stopped) = watch::channel(false);
    let task = tokio::spawn(serve(listener, state, stopped));
    Ok(Handle {
        addr,
        stop,
        task: Some(task),
    })
}

async fn serve(listener: TcpListener, state: Arc<State>, mut stopped: watch::Receiver<bool>) {
    // Owning the connections here means stopping the server closes them all.
    let mut connections = JoinSet::new();
    loop {
        let accepted = tokio::select! {
            a = listener.accept() => a,
            _ = stopped.changed() => break,
            Some(_) = connections.join_next(), if !connections.is_empty() => continue,
        };
        let stream = match accepted {
            Ok((stream, _)) => stream,
            Err(e) => {
                tracing::warn!(error = %e, "accept failed");
                // Out of descriptors or similar: back off instead of spinning.
                tokio::time::sleep(std::time::Duration::from_millis(50)).await;
                continue;
            }
        };
        let state = Arc::clone(&state);
        connections.spawn(async move {
            let service = service_fn(move |req| {
                let state = Arc::clone(&state);
                async move { Ok::<_, Infallible>(route(&state, req).await) }
            });
            let _ = auto::Builder::new(TokioExecutor::new())
                .serve_connection(TokioIo::new(stream), service)
                .await;
        });
    }
}

/// The routing table.
async fn route(state: &State, req: Request<Incoming>) -> Response<Body> {
    let path = req.uri().path().to_owned();
    let method = req.method().clone();
    match (path.as_str(), &method) {
        ("/_info", &Method::GET | &Method::HEAD) => info(),
        ("/_health/providers", &Method::GET | &Method::HEAD) => {
            let (ok, body) = state.health.status().await;
            let status = if ok {
                StatusCode::OK
            } else {
                StatusCode::SERVICE_UNAVAILABLE
            };
            json(status, &body)
        }
        ("/_config", &Method::GET | &Method::HEAD) => json(
            StatusCode::OK,
            &config_view::render(&state.settings, state.addr),
        ),
        ("/_info" | "/_health/providers" | "/_config", _) => method_not_allowed(&path, "GET"),
        _ => match path.strip_prefix("/v1/translate/") {
            Some(provider) if !provider.is_empty() && !provider.contains('/') => {
                if method == Method::POST {
                    translate::handle(state, provider, req).await
                } else {
                    method_not_allowed(&path, "POST")
                }
            }
            _ => service_error(
                StatusCode::NOT_FOUND,
                "service.not_found",
                &format!("no route for {method} {path}"),
                "routes: GET /_info, POST /v1/translate/{provider}, GET /_health/providers, GET /_config",
            ),
        },
    }
}

fn info() -> Response<Body> {
    json(
        StatusCode::OK,
        &json!({
            "name": "translation_service",
            "version": env!("CARGO_PKG_VERSION"),
            "description": "Example machine-translation service embedding proxyscope",
            "home": "https://docs.rs/proxyscope",
        }),
    )
}

fn method_not_allowed(path: &str, allowed: &'static str) -> Response<Body> {
    let mut res = service_error(
        StatusCode::METHOD_NOT_ALLOWED,
        "service.method",
        &format!("{path} accepts {allowed} only"),
        &format!("use {allowed}"),
    );
    res.headers_mut()
        .insert(header::ALLOW, HeaderValue::from_static(allowed));
    res
}

/// A JSON error of the service's own (not a provider failure): `code` is `service.*`.
pub(crate) fn service_error(
    status: StatusCode,
    code: &str,
    message: &str,
    hint: &str,
) -> Response<Body> {
    json(
        status,
        &json!({ "error": {
            "code": code,
            "message": message,
            "hop": null,
            "blame": null,
            "phase": null,
            "hint": hint,
            "route": null,
        }}),
    )
}

/// A pretty JSON response (curl-friendly: ends with a newline), never cached.
pub(crate) fn json(status: StatusCode, value: &Value) -> Response<Body> {
    let mut text = serde_json::to_string_pretty(value).unwrap_or_else(|_| "{}".to_owned());
    text.push('\n');
    let mut res = Response::new(Full::new(Bytes::from(text)));
    *res.status_mut() = status;
    let h = res.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    res
}
