//! The HTTP server's routes and state: every answer is JSON; no route ever redirects, and
//! nothing upstream decides our status code. Connections, limits and timeouts are the
//! listener's ([`super::listener`]).
//!
//! | route | answer |
//! |---|---|
//! | `GET /_info` | 200 `{name, version, description}` — static, says nothing about egress |
//! | `POST /v1/translate/{provider}` | the provider's answer, or a 502/504 JSON error |
//! | `GET /_health/providers` | the deep check, one line per provider (`?verbose=1`: every check): 200 when every required provider passes, else 503 |
//! | `GET /_config` | the effective configuration with origins, secrets masked |

use std::fmt;
use std::net::SocketAddr;
use std::sync::Arc;

use bytes::Bytes;
use http::{HeaderValue, Method, Request, Response, StatusCode, header};
use http_body_util::Full;
use hyper::body::Incoming;
use proxyscope::{Client, EnvSnapshot};
use serde_json::{Value, json};
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinHandle;

use super::health::Health;
use super::settings::Settings;
use super::{config_view, listener, translate};

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
    /// The environment snapshot the client was built with.
    pub(crate) env: EnvSnapshot,
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
    let client = Client::builder_from_config(config)
        .env(env.clone())
        .build()
        .map_err(StartError::Client)?;
    let health = Health::new(config, env.clone(), settings.health_cache.value)
        .map_err(StartError::Client)?;

    let want = listen.unwrap_or(settings.listen.value);
    let socket = TcpListener::bind(want)
        .await
        .map_err(|source| StartError::Bind { addr: want, source })?;
    let addr = socket
        .local_addr()
        .map_err(|source| StartError::Bind { addr: want, source })?;
    let state = Arc::new(State {
        settings,
        client,
        health,
        env,
        addr,
    });
    let (stop, stopped) = watch::channel(false);
    let task = tokio::spawn(listener::serve(socket, state, stopped));
    Ok(Handle {
        addr,
        stop,
        task: Some(task),
    })
}

/// The routing table.
pub(crate) async fn route(state: &State, req: Request<Incoming>) -> Response<Body> {
    let path = req.uri().path().to_owned();
    let method = req.method().clone();
    match (path.as_str(), &method) {
        ("/_info", &Method::GET | &Method::HEAD) => info(),
        ("/_health/providers", &Method::GET | &Method::HEAD) => {
            let verbose = req.uri().query().is_some_and(wants_verbose);
            let (ok, body) = state.health.status(verbose).await;
            let status = if ok {
                StatusCode::OK
            } else {
                StatusCode::SERVICE_UNAVAILABLE
            };
            json(status, &body)
        }
        ("/_config", &Method::GET | &Method::HEAD) => json(
            StatusCode::OK,
            &config_view::render(&state.settings, &state.env, state.addr),
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

/// `verbose=1` (or `true`, `yes`) among the query's parameters.
fn wants_verbose(query: &str) -> bool {
    url::form_urlencoded::parse(query.as_bytes())
        .any(|(k, v)| k == "verbose" && matches!(v.as_ref(), "1" | "true" | "yes"))
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
