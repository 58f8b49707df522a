//! Hostile bodies from the harness origin — a gigabyte announced, a gigabyte unannounced, an
//! endless stream, a body that stalls — read by the client's buffered helpers and by probe
//! checks. Each ends with its code (`http.body_too_large`, `http.timeout`, or a pass where a
//! check has decided), phase `http`, the route and the cap in the evidence; the peak resident
//! set stays within the cap plus a generous margin (before the caps, one such check peaked at
//! 7.85 GB). Time is bounded by deadlines, never asserted to the millisecond: every case runs
//! under an outer timeout that only a hang would reach.

use std::time::Duration;

use proxyscope::config::Config;
use proxyscope::connect::Resolver;
use proxyscope::probe::{Check, CheckResult, check, plan};
use proxyscope::testing::TestOrigin;
use proxyscope::{Blame, Client, EnvSnapshot, Error, Hop, Limits, Phase, Settings};

use super::peak::{self, mib};

const GIB: u64 = 1 << 30;
/// Only a hang reaches this.
const HANG: Duration = Duration::from_secs(60);
/// What a buffered read may add to the resident set over its cap (buffers, the server's side
/// in this process, other tests of the binary).
const MARGIN: u64 = mib(48);

fn no_env() -> EnvSnapshot {
    EnvSnapshot::from_pairs(Vec::<(String, String)>::new())
}

async fn get(client: &Client, url: &str) -> Result<bytes::Bytes, Error> {
    let res = client.get(url).await?;
    tokio::time::timeout(HANG, res.bytes())
        .await
        .expect("a body read never hangs")
}

fn assert_too_large(e: &Error, limit: u64, announced: bool) -> u64 {
    assert_eq!(e.code(), "http.body_too_large", "{}", e.report());
    assert_eq!(e.phase(), Phase::Http);
    assert_eq!(e.hop(), Some(Hop::Origin));
    // The side that sent the body; the cap is raised locally only when such bodies are normal.
    assert_eq!(e.blame(), Blame::Origin);
    assert!(e.route().is_some_and(|r| r.is_direct()), "{e:?}");
    let size = e.evidence().size_limit.expect("size_limit evidence");
    assert_eq!(size.limit, limit);
    assert_eq!(size.announced, announced);
    assert!(size.seen > limit);
    assert!(e.evidence().target.is_some());
    assert!(e.hint().is_some());
    size.seen
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn buffered_reads_stop_at_the_cap_whatever_the_body() {
    let _one = peak::LOCK.lock().await;
    let origin = TestOrigin::http().await;
    let client = Client::builder().env(no_env()).build().unwrap();
    let cap = Limits::DEFAULT_MAX_BODY;

    // Announced: refused before a byte is read.
    let (r, grew) = peak::measure(get(&client, &origin.url(&format!("/stream/{GIB}")))).await;
    let e = r.unwrap_err();
    assert_eq!(assert_too_large(&e, cap, true), GIB);
    assert_eq!(e.evidence().setting.as_deref(), Some("limits.max_body"));
    assert!(grew < MARGIN, "peak grew {grew} bytes");

    // Unannounced and endless: read up to the cap and one chunk more, then refused.
    for path in [format!("/stream/{GIB}?chunked"), "/endless".to_owned()] {
        let (r, grew) = peak::measure(get(&client, &origin.url(&path))).await;
        let seen = assert_too_large(&r.unwrap_err(), cap, false);
        assert!(seen <= cap + mib(1), "{path}: {seen}");
        assert!(grew < cap + MARGIN, "{path}: peak grew {grew} bytes");
    }

    // Up to the cap is a body like any other.
    let body = get(&client, &origin.url(&format!("/stream/{cap}?chunked")))
        .await
        .unwrap();
    assert_eq!(body.len() as u64, cap);
    let text = client
        .get(origin.url("/stream/1000?tail=end"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(text.len() == 1003 && text.ends_with("xend"));
}

#[tokio::test]
async fn the_cap_is_a_provider_setting_and_a_per_response_choice() {
    let origin = TestOrigin::http().await;
    let cfg = Config::from_toml_str(
        &format!(
            "[providers.p]\nurl = \"{}\"\nproxy = \"direct\"\n[providers.p.limits]\nmax_body = \"64KiB\"\n",
            origin.url("")
        ),
        "/etc/p/cfg.toml",
    )
    .unwrap();
    let client = Client::builder_from_config(&cfg)
        .env(no_env())
        .build()
        .unwrap();
    let e = get(&client, &origin.url("/stream/100000?chunked"))
        .await
        .unwrap_err();
    assert_too_large(&e, 64 * 1024, false);
    assert_eq!(
        e.evidence().setting.as_deref(),
        Some("providers.p.limits.max_body")
    );
    assert!(
        e.hint().unwrap().contains("/etc/p/cfg.toml:5:1"),
        "{:?}",
        e.hint()
    );
    let ok = get(&client, &origin.url("/stream/65536")).await.unwrap();
    assert_eq!(ok.len(), 65536);

    // One response may differ from its profile.
    let res = client.get(origin.url("/stream/100000")).await.unwrap();
    assert_eq!(res.body_limit(), 64 * 1024);
    assert_eq!(res.max_body(200_000).bytes().await.unwrap().len(), 100_000);
    let res = client.get(origin.url("/stream/100")).await.unwrap();
    let e = res.max_body(10).bytes().await.unwrap_err();
    assert_too_large(&e, 10, true);
}

#[tokio::test]
async fn a_stalled_body_is_http_timeout_with_the_route() {
    let origin = TestOrigin::http().await;
    let client = Client::builder()
        .global(Settings::new().with_timeout(Phase::Http, Duration::from_millis(300)))
        .env(no_env())
        .build()
        .unwrap();
    let e = get(&client, &origin.url("/stall?after=1000"))
        .await
        .unwrap_err();
    assert_eq!(e.code(), "http.timeout", "{}", e.report());
    assert_eq!(e.phase(), Phase::Http);
    assert_eq!(e.hop(), Some(Hop::Origin));
    assert_eq!(e.blame(), Blame::Origin);
    assert!(e.route().is_some());
    assert_eq!(e.evidence().timeout, Some(Duration::from_millis(300)));
    assert!(e.hint().unwrap().contains("timeouts.request"));
}

/// A config with one provider `p` at `origin`, its checks written in `checks`.
fn config(origin: &TestOrigin, extra: &str) -> Config {
    Config::from_toml_str(
        &format!(
            "[providers.p]\nurl = \"{}\"\nproxy = \"direct\"\n{extra}",
            origin.url("")
        ),
        "/etc/p/probe.toml",
    )
    .unwrap()
}

async fn run(cfg: &Config, c: Check, deadline: Duration) -> CheckResult {
    let client = plan::client(cfg, no_env(), Resolver::system()).unwrap();
    tokio::time::timeout(HANG, check::run(&client, &c, deadline, 14))
        .await
        .expect("a check ends by its deadline")
}

fn check_of(origin: &TestOrigin, path: &str) -> Check {
    Check::new("p", "c", &origin.url(path))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn checks_stream_the_body_and_stop_at_the_first_decision() {
    let _one = peak::LOCK.lock().await;
    let origin = TestOrigin::http().await;
    let cfg = config(&origin, "");
    let deadline = Duration::from_secs(20);
    let cap = Limits::DEFAULT_CHECK_BODY;

    // The needle is never there: the check stops at its cap, long before its deadline.
    for (path, announced) in [
        ("/endless".to_owned(), false),
        (format!("/stream/{GIB}?chunked"), false),
        (format!("/stream/{GIB}"), true),
    ] {
        let c = check_of(&origin, &path).body_contains("dirs");
        let (r, grew) = peak::measure(run(&cfg, c, deadline)).await;
        let e = r.error.as_ref().unwrap_or_else(|| panic!("{path}: {r:?}"));
        assert_eq!(e.code(), "http.body_too_large", "{path}: {e:?}");
        assert_eq!((e.phase, e.hop), (Phase::Http, Some(Hop::Origin)));
        assert_eq!(e.blame, Blame::Origin);
        let size = e.evidence.size_limit.unwrap();
        assert_eq!((size.limit, size.announced), (cap, announced), "{path}");
        if announced {
            assert_eq!(size.seen, GIB);
        }
        assert_eq!(
            e.evidence.setting.as_deref(),
            Some("providers.p.limits.check_body")
        );
        assert!(r.route.is_some());
        assert!(grew < MARGIN, "{path}: peak grew {grew} bytes");
    }

    // Found → pass, without reading on: an endless body cannot hold the check.
    let c = check_of(&origin, "/endless").body_contains("xxxx");
    let (r, grew) = peak::measure(run(&cfg, c, deadline)).await;
    assert!(r.ok, "{r:?}");
    assert!(grew < MARGIN, "peak grew {grew} bytes");

    // Without a body expectation the verdict is the head's; the body is read up to the cap
    // (for `transfer`) and no further.
    for path in ["/endless".to_owned(), format!("/stream/{GIB}")] {
        let (r, grew) = peak::measure(run(&cfg, check_of(&origin, &path), deadline)).await;
        assert!(r.ok, "{path}: {r:?}");
        assert!(r.timings.transfer.is_some());
        assert!(grew < MARGIN, "{path}: peak grew {grew} bytes");
    }
}

#[tokio::test]
async fn a_needle_split_across_chunks_is_found_and_one_past_the_cap_is_not() {
    let origin = TestOrigin::http().await;
    let cfg = config(&origin, "[providers.p.limits]\ncheck_body = \"128KiB\"\n");
    let deadline = Duration::from_secs(20);
    // The origin sends 64 KiB chunks: the needle straddles the first boundary.
    let c = check_of(&origin, "/stream/65534?chunked&tail=dirs").body_contains("dirs");
    let r = run(&cfg, c, deadline).await;
    assert!(r.ok, "{r:?}");
    // Ends just past the cap: not looked for there.
    let c = check_of(&origin, "/stream/131070?chunked&tail=dirs").body_contains("dirs");
    let r = run(&cfg, c, deadline).await;
    let e = r.error.unwrap();
    assert_eq!(e.code(), "http.body_too_large");
    assert_eq!(e.evidence.size_limit.unwrap().limit, 128 * 1024);
    // A short body without the needle is the ordinary `http.body`, with an excerpt.
    let c = check_of(&origin, "/stream/10?tail=end").body_contains("dirs");
    let e = run(&cfg, c, deadline).await.error.unwrap();
    assert_eq!(e.code(), "http.body");
    assert!(
        e.evidence
            .expected
            .as_deref()
            .unwrap()
            .contains("xxxxxxxxxxend")
    );
}

#[tokio::test]
async fn a_check_on_a_stalled_body_ends_at_its_own_deadline_with_the_route() {
    let origin = TestOrigin::http().await;
    let cfg = config(&origin, "");
    for c in [
        check_of(&origin, "/stall?after=100"),
        check_of(&origin, "/stall?after=100").body_contains("dirs"),
    ] {
        let r = run(&cfg, c, Duration::from_millis(500)).await;
        let e = r.error.as_ref().expect("a stalled body fails the check");
        assert_eq!(e.code(), "http.timeout", "{e:?}");
        assert_eq!(
            (e.phase, e.hop, e.blame),
            (Phase::Http, Some(Hop::Origin), Blame::Origin)
        );
        assert_eq!(e.evidence.timeout, Some(Duration::from_millis(500)));
        assert!(e.hint.as_deref().unwrap().contains("the check's `timeout`"));
        assert!(r.route.is_some());
        assert_eq!(r.status, Some(200));
    }
}

/// A body that keeps arriving faster than it is read: every read finds data waiting, so a
/// deadline looked at only while waiting for data is never reached and the stream runs on
/// (a 300 ms deadline let an endless body be read for 5 s and 88 MB). The first read after the
/// deadline is `http.timeout`, however much data is waiting.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_body_read_slower_than_it_arrives_still_ends_at_its_deadline() {
    let origin = TestOrigin::http().await;
    let timeout = Duration::from_millis(300);
    let client = Client::builder()
        .global(Settings::new().with_timeout(Phase::Http, timeout))
        .env(no_env())
        .build()
        .unwrap();
    let mut res = client.get(origin.url("/endless")).await.unwrap();
    let first = res.chunk().await.unwrap().expect("the body starts");
    assert!(!first.is_empty());
    // Past the deadline, with the origin's bytes waiting in the buffers.
    tokio::time::sleep(timeout + Duration::from_millis(200)).await;
    let e = tokio::time::timeout(HANG, res.chunk())
        .await
        .expect("never a hang")
        .expect_err("the first read past the deadline is http.timeout");
    assert_eq!(e.code(), "http.timeout", "{}", e.report());
    assert_eq!(e.phase(), Phase::Http);
    assert_eq!(e.hop(), Some(Hop::Origin));
    assert_eq!(e.blame(), Blame::Origin);
    assert!(e.route().is_some_and(|r| r.is_direct()));
    assert_eq!(e.evidence().timeout, Some(timeout));
    assert!(e.evidence().target.is_some());
    assert!(e.hint().unwrap().contains("timeouts.request"));
    // The body ends there.
    assert!(res.chunk().await.unwrap().is_none());
}

/// A compressed body whose few kilobytes are all in hand after the first read, and expand to
/// far more than is read before the deadline: the decompressor hands out what it already holds
/// without reading the body again, and stops at the body's deadline all the same.
#[cfg(feature = "decompression")]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_compressed_body_expanding_past_its_deadline_is_http_timeout() {
    use async_compression::tokio::write::GzipEncoder;
    use proxyscope::testing::{RawServer, Script};
    use tokio::io::AsyncWriteExt as _;

    let mut body = Vec::new();
    let mut w = GzipEncoder::new(&mut body);
    w.write_all(&vec![0u8; 16 << 20]).await.unwrap();
    w.shutdown().await.unwrap();
    assert!(body.len() < 64 * 1024);
    let mut reply = format!(
        "HTTP/1.1 200 OK\r\nContent-Encoding: gzip\r\nContent-Length: {}\r\n\r\n",
        body.len()
    )
    .into_bytes();
    reply.extend_from_slice(&body);
    let server = RawServer::scripted(Script::ReplyAndHold(reply)).await;
    let timeout = Duration::from_millis(300);
    let client = Client::builder()
        .global(Settings::new().with_timeout(Phase::Http, timeout))
        .env(no_env())
        .gzip(true)
        .build()
        .unwrap();
    let url = format!("http://{}/", server.addr());
    let mut res = client.get(&url).await.unwrap();
    let first = res.chunk().await.unwrap().expect("the body starts");
    assert!(!first.is_empty() && first.len() < 16 << 20);
    tokio::time::sleep(timeout + Duration::from_millis(200)).await;
    let e = tokio::time::timeout(HANG, res.chunk())
        .await
        .expect("never a hang")
        .expect_err("the first read past the deadline is http.timeout");
    assert_eq!(e.code(), "http.timeout", "{}", e.report());
    assert_eq!(e.phase(), Phase::Http);
    assert_eq!(e.hop(), Some(Hop::Origin));
    assert_eq!(e.blame(), Blame::Origin);
    assert!(e.route().is_some_and(|r| r.is_direct()));
    assert_eq!(e.evidence().timeout, Some(timeout));
    assert!(e.evidence().target.is_some());
    assert_eq!(e.url().map(url::Url::as_str), Some(url.as_str()));
    assert!(e.hint().unwrap().contains("timeouts.request"));
    assert!(res.chunk().await.unwrap().is_none());
}

/// A zstd frame whose window is 128 MiB (the decoder library's own ceiling): a few kilobytes of
/// run-length blocks that, read as a stream, made the decoder keep 128 MiB of window per
/// response. HTTP's zstd coding allows 8 MiB (RFC 9659); a larger window is `http.decode` at
/// the first read, and the peak resident set does not grow by the window.
#[cfg(feature = "decompression")]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_zstd_window_past_http_s_limit_is_refused_not_allocated() {
    use proxyscope::testing::{RawServer, Script};

    const BLOCK: u32 = 128 * 1024;
    // Frame: magic, descriptor (no content size, not single-segment), window 2^(10+17) bytes,
    // then run-length blocks of 128 KiB of `x` (3-byte header + 1 byte each), 160 MiB out.
    let mut body = vec![0x28, 0xB5, 0x2F, 0xFD, 0x00, 17 << 3];
    let blocks = 1280;
    for i in 0..blocks {
        let last = u32::from(i == blocks - 1);
        let header = (BLOCK << 3) | (1 << 1) | last;
        body.extend_from_slice(&header.to_le_bytes()[..3]);
        body.push(b'x');
    }
    let mut reply = format!(
        "HTTP/1.1 200 OK\r\nContent-Encoding: zstd\r\nContent-Length: {}\r\n\r\n",
        body.len()
    )
    .into_bytes();
    reply.extend_from_slice(&body);
    let server = RawServer::scripted(Script::ReplyAndHold(reply)).await;
    let client = Client::builder().env(no_env()).zstd(true).build().unwrap();
    let url = format!("http://{}/", server.addr());
    let _one = peak::LOCK.lock().await;
    let (read, grew) = peak::measure(async {
        let mut res = client.get(&url).await.unwrap();
        let mut total = 0u64;
        loop {
            match tokio::time::timeout(HANG, res.chunk())
                .await
                .expect("never a hang")
            {
                Ok(Some(c)) => total += c.len() as u64,
                Ok(None) => return Ok(total),
                Err(e) => return Err(e),
            }
        }
    })
    .await;
    let e = read.expect_err("a 128 MiB window is refused");
    assert_eq!(e.code(), "http.decode", "{}", e.report());
    assert_eq!((e.hop(), e.phase()), (Some(Hop::Origin), Phase::Http));
    assert_eq!(e.blame(), Blame::Origin);
    assert!(e.route().is_some_and(|r| r.is_direct()));
    assert_eq!(e.url().map(url::Url::as_str), Some(url.as_str()));
    assert!(grew < MARGIN, "peak grew {grew} bytes");
}
