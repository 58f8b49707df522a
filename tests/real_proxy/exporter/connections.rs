//! `probe serve`'s connection limits against hostile clients, as a real process: idle sockets
//! beyond `--max-connections` cannot keep a scrape out (the oldest idle one is closed to let a
//! new connection in), and when every connection has a request in flight a new one is answered
//! `503` at once, without being read. Time bounds are generous (several times what the server
//! should need) so a busy machine cannot make them flaky.

use std::time::{Duration, Instant};

use libtest_mimic::Completion;
use proxyscope::testing::{Policy, TestOrigin, TestProxy};
use tokio::net::TcpStream;

use super::support::{ConfigFile, Outcome, Serve, ensure, eventually, request, toml_str};
use crate::common::wire::{Body, try_read_response};

/// Whether a non-blocking socket has been closed by the server (EOF or reset); `false` while
/// it is open and silent.
fn is_closed(s: &std::net::TcpStream) -> Result<bool, String> {
    let mut buf = [0u8; 512];
    match std::io::Read::read(&mut &*s, &mut buf) {
        Ok(0) => Ok(true),
        Ok(n) => Err(format!("an idle socket got {n} bytes it never asked for")),
        Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => Ok(false),
        Err(_) => Ok(true),
    }
}

fn config(origin: &TestOrigin) -> ConfigFile {
    ConfigFile::new(&format!(
        "[providers.one]\nurl = {}\nproxy = \"direct\"\n",
        toml_str(origin.url("/"))
    ))
}

/// A hundred idle sockets (more than the default 64 connections) used to hold every slot until
/// the 10 s header timeout closed them, and the next ones took the freed slots: a scrape waited
/// in the listen backlog for 10 s at a time — past Prometheus's usual scrape timeout.
pub(crate) async fn idle_sockets_cannot_keep_a_scrape_out() -> Outcome {
    let origin = TestOrigin::http().await;
    let cfg = config(&origin);
    let serve = Serve::start(cfg.path(), &[]).await?;
    let addr = serve.addr;
    let mut sockets = Vec::new();
    for _ in 0..100 {
        let s = std::net::TcpStream::connect(addr).map_err(|e| e.to_string())?;
        s.set_nonblocking(true).map_err(|e| e.to_string())?;
        sockets.push(s);
    }
    // Each socket over the limit closed the oldest idle one: 36 closed, 64 open.
    let closed = eventually(Duration::from_secs(5), || async {
        let n = sockets
            .iter()
            .map(is_closed)
            .collect::<Result<Vec<_>, _>>()
            .ok()?
            .into_iter()
            .filter(|c| *c)
            .count();
        (n >= 36).then_some(n)
    })
    .await;
    ensure(closed == Some(36), || {
        format!("sockets closed by the limit: {closed:?}")
    })?;
    let started = Instant::now();
    let r = tokio::time::timeout(Duration::from_secs(5), serve.get("/metrics", &[]))
        .await
        .map_err(|_| "/metrics not answered within 5 s beside 64 idle sockets")??;
    ensure(r.status == 200, || format!("{r:?}"))?;
    ensure(started.elapsed() < Duration::from_secs(5), || {
        format!("{:?}", started.elapsed())
    })?;
    serve.stop().await?;
    Ok(Completion::Completed)
}

/// With `--max-connections 2` and both connections waiting on a probe through a proxy that
/// never answers, a third connection is answered 503 at once — before it sends a byte — and
/// closed; once the probes end, scrapes get in again.
pub(crate) async fn when_every_connection_is_busy_a_new_one_gets_503_unread() -> Outcome {
    let origin = TestOrigin::http().await;
    let stall = TestProxy::builder().policy(Policy::Stall).start().await;
    // Two providers: concurrent scrapes of one target share one probe.
    let cfg = ConfigFile::new(&format!(
        "[providers.stuck0]\nurl = {url}\nproxy = {proxy}\n[providers.stuck1]\nurl = {url}\nproxy = {proxy}\n",
        url = toml_str(origin.url("/")),
        proxy = toml_str(stall.url()),
    ));
    let serve = Serve::start(
        cfg.path(),
        &["--max-connections", "2", "--max-concurrent", "2"],
    )
    .await?;
    let addr = serve.addr;
    let busy: Vec<_> = (0..2)
        .map(|i| {
            tokio::spawn(async move {
                request(
                    addr,
                    "GET",
                    &format!("/probe?target=stuck{i}"),
                    &[("X-Prometheus-Scrape-Timeout-Seconds", "4")],
                )
                .await
            })
        })
        .collect();
    eventually(Duration::from_secs(10), || async {
        (stall.accepted() >= 2).then_some(())
    })
    .await
    .ok_or("the two probes never reached the proxy")?;

    let started = Instant::now();
    let mut third = TcpStream::connect(addr).await.map_err(|e| e.to_string())?;
    // Nothing is sent: the answer does not wait for a request.
    let reply =
        try_read_response(&mut third, Body::ByLengthOrClose, Duration::from_secs(10)).await?;
    ensure(started.elapsed() < Duration::from_secs(3), || {
        format!("{:?}", started.elapsed())
    })?;
    ensure(
        reply.status == 503 && reply.header("retry-after") == Some("1"),
        || format!("{reply:?}"),
    )?;
    ensure(reply.body.contains("--max-connections"), || {
        reply.body.clone()
    })?;

    for call in busy {
        let r = call.await.map_err(|e| e.to_string())??;
        // The probe itself failed (the proxy never answered): a scrape result, not an error.
        ensure(
            r.status == 200 && r.exposition()?.value("probe_success", &[]) == Some(0.0),
            || format!("{r:?}"),
        )?;
    }
    // Capacity is back once they are done.
    let r = serve.get("/metrics", &[]).await?;
    ensure(r.status == 200, || format!("{r:?}"))?;
    serve.stop().await?;
    Ok(Completion::Completed)
}
