//! `probe serve [--config F] [--listen 127.0.0.1:9115]`: the probe as a Prometheus exporter in
//! blackbox_exporter's multi-target style. `GET /probe?target=PROVIDER[&check=NAME]` runs that
//! provider's checks now; `GET /metrics` is the exporter's own; `GET /` a status page;
//! `POST /-/reload` and SIGHUP re-read the config (a file with errors is refused, the old one
//! keeps serving). The request handling is the library's [`Exporter`]; this file is the socket,
//! the signals and the limits on connections (the examples' shared accept loop: at most
//! `--max-connections`, the oldest idle one closed to let a new one in, `--header-timeout` for
//! a request head).
//!
//! Bound to loopback unless `--listen` says otherwise: the endpoints have no authentication.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use bytes::Bytes;
use http_body_util::Full;
use proxyscope::EnvSnapshot;
use proxyscope::connect::Resolver;
use proxyscope::probe::exporter::request::DeadlinePolicy;
use proxyscope::probe::exporter::{Exporter, Limits};
use tokio::net::TcpListener;
use tokio::signal::unix::{SignalKind, signal};
use tracing_subscriber::filter::{LevelFilter, Targets};
use tracing_subscriber::layer::SubscriberExt as _;
use tracing_subscriber::util::SubscriberInitExt as _;

use crate::accept;
use crate::check::parse_duration;

/// The most bytes of a request head (request line and headers) read from a client.
const MAX_HEAD_BYTES: usize = 16 * 1024;

/// The whole answer to a connection that arrives when every connection has a request in
/// flight: written without reading the request.
const OVERLOADED: &[u8] = b"HTTP/1.1 503 Service Unavailable\r\n\
content-type: text/plain; charset=utf-8\r\n\
cache-control: no-store\r\n\
retry-after: 1\r\n\
connection: close\r\n\
content-length: 71\r\n\
\r\n\
every connection is busy; retry, or raise probe serve --max-connections";

/// Arguments of `probe serve`.
#[derive(clap::Args)]
pub(crate) struct Args {
    /// The config file (TOML); re-read on SIGHUP and POST /-/reload.
    #[arg(long, env = "PROXYSCOPE_CONFIG")]
    config: Option<PathBuf>,
    /// Address to listen on. The default is loopback; widen it deliberately, the endpoints
    /// have no authentication.
    #[arg(long, default_value = "127.0.0.1:9115")]
    listen: SocketAddr,
    /// A target's result younger than this is reused instead of probing again.
    #[arg(long, value_parser = parse_duration, default_value = "10s")]
    min_interval: Duration,
    /// Probes running at once; scrapes beyond wait up to their deadline, then get 503.
    #[arg(long, default_value_t = 4, value_parser = clap::value_parser!(u16).range(1..=256))]
    max_concurrent: u16,
    /// The probe deadline when a scrape sends no usable X-Prometheus-Scrape-Timeout-Seconds.
    #[arg(long, value_parser = parse_duration, default_value = "10s")]
    default_timeout: Duration,
    /// Connections open at once. At the limit a new connection closes the oldest idle one
    /// (no request in flight); when all are busy it is answered 503 at once and closed.
    #[arg(long, default_value_t = 64, value_parser = clap::value_parser!(u16).range(1..=4096))]
    max_connections: u16,
    /// Time a client has to send a complete request head; also how long an idle keep-alive
    /// connection is kept.
    #[arg(long, value_parser = parse_duration, default_value = "10s")]
    header_timeout: Duration,
}

/// Runs `probe serve` until SIGTERM or SIGINT; returns the exit code (3 when it cannot start).
pub(crate) fn run(args: Args) -> u8 {
    // RUST_LOG in tracing's target syntax (`info`, `proxyscope=debug`); info by default.
    let filter = std::env::var("RUST_LOG")
        .ok()
        .filter(|v| !v.trim().is_empty())
        .and_then(|v| v.parse::<Targets>().ok())
        .unwrap_or_else(|| Targets::new().with_default(LevelFilter::INFO));
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_ansi(
            std::io::IsTerminal::is_terminal(&std::io::stderr())
                && std::env::var_os("NO_COLOR").is_none(),
        )
        .finish()
        .with(filter)
        .init();
    let Some(path) = args.config.clone() else {
        eprintln!(
            "probe serve: no configuration given; pass --config FILE or set PROXYSCOPE_CONFIG"
        );
        return 3;
    };
    let limits = Limits {
        deadline: DeadlinePolicy {
            default: args.default_timeout,
            ..DeadlinePolicy::default()
        },
        max_concurrent: usize::from(args.max_concurrent),
        min_interval: args.min_interval,
        ..Limits::default()
    };
    let exporter = match Exporter::new(
        path,
        EnvSnapshot::from_process(),
        Resolver::system(),
        limits,
    ) {
        Ok(e) => e,
        Err(e) => {
            eprintln!("{}", e.report());
            return 3;
        }
    };
    let rt = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("probe serve: cannot start the async runtime: {e}");
            return 3;
        }
    };
    let limits = accept::Limits {
        max_connections: usize::from(args.max_connections),
        header_timeout: args.header_timeout,
        max_head_bytes: Some(MAX_HEAD_BYTES),
        overloaded: OVERLOADED,
    };
    rt.block_on(serve(exporter, args.listen, limits))
}

async fn serve(exporter: Exporter, listen: SocketAddr, limits: accept::Limits) -> u8 {
    let listener = match TcpListener::bind(listen).await {
        Ok(l) => l,
        Err(e) => {
            eprintln!("probe serve: cannot listen on {listen}: {e}");
            return 3;
        }
    };
    let addr = listener.local_addr().unwrap_or(listen);
    if !addr.ip().is_loopback() {
        tracing::warn!(%addr, "listening beyond loopback: anyone who can reach this address can trigger probes and reloads");
    }
    let (Ok(mut hangup), Ok(mut terminate)) = (
        signal(SignalKind::hangup()),
        signal(SignalKind::terminate()),
    ) else {
        eprintln!("probe serve: cannot install signal handlers");
        return 3;
    };
    // Tests and wrappers read the bound address (with --listen 127.0.0.1:0) from this line.
    println!(
        "probe serve: listening on http://{addr} ({} providers)",
        exporter.providers().len()
    );
    let reloader = exporter.clone();
    tokio::spawn(async move {
        while hangup.recv().await.is_some() {
            // The outcome is logged and counted by the exporter.
            let _ = reloader.reload().await;
        }
    });
    let handle = move |req: http::Request<hyper::body::Incoming>| {
        let exporter = exporter.clone();
        async move {
            // The body is never read: no endpoint takes one.
            let (parts, _body) = req.into_parts();
            let res = exporter.handle(&http::Request::from_parts(parts, ())).await;
            res.map(|b| Full::new(Bytes::from(b)))
        }
    };
    let stopped = async move {
        tokio::select! {
            _ = terminate.recv() => {}
            _ = tokio::signal::ctrl_c() => {}
        }
    };
    accept::serve(listener, limits, handle, stopped).await;
    0
}
