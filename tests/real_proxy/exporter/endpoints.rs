//! `probe serve` as a process, against the harness: what `/probe`, `/metrics`, `/`, `/-/reload`
//! answer, how bad requests are refused, how the scrape timeout bounds a probe, how results are
//! reused and probes limited, reloads (HTTP and SIGHUP, refused and storming), that a generation reads its CA
//! files once, and that credentials and secret query values reach no
//! output or log.

use std::time::Duration;

use libtest_mimic::Completion;
use proxyscope::testing::{Policy, TestOrigin, TestProxy, basic_auth};
use rustix::process::Signal;

use super::support::{ConfigFile, Harness, Outcome, Serve, ensure, eventually, raw, toml_str};

const USER: &str = "u53r";
const PASS: &str = "s3cr3t-p4ss";
const API_KEY: &str = "k3y-0f-th3-4p1";

fn now() -> f64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0.0, |d| d.as_secs_f64())
}

pub(crate) async fn probe_reports_blackbox_names_blame_and_route() -> Outcome {
    let h = Harness::start().await;
    let (tls, plain, deny) = (&h.tls, &h.plain, &h.deny);
    let auth = TestProxy::builder()
        .policy(Policy::require_basic(USER, PASS, "egress"))
        .start()
        .await;
    let cfg = ConfigFile::new(&format!(
        r#"
[providers.healthy]
url = {tls}
proxy = "direct"
ca_file = {ca}
[[providers.healthy.checks]]
name = "home"
path = "/"
expect_status = 200
[[providers.healthy.checks]]
name = "echo"
path = "/echo"

[providers.denied]
url = {tls}
proxy = {deny}
ca_file = {ca}

[providers.authed]
url = {plain_key}
proxy = {auth}
"#,
        tls = toml_str(tls.url("/")),
        ca = h.ca(),
        plain_key = toml_str(plain.url(&format!("/?api_key={API_KEY}"))),
        deny = toml_str(deny.url()),
        auth = toml_str(auth.url_with_credentials(USER, PASS)),
    ));
    let serve = Serve::start(cfg.path(), &[]).await?;

    let r = serve.get("/probe?target=healthy", &[]).await?;
    ensure(r.status == 200, || format!("{r:?}"))?;
    ensure(
        r.header("content-type") == Some("text/plain; version=0.0.4; charset=utf-8"),
        || format!("{:?}", r.headers),
    )?;
    let e = r.exposition()?;
    for family in [
        "probe_success",
        "probe_duration_seconds",
        "probe_http_status_code",
        "probe_dns_lookup_time_seconds",
        "probe_http_duration_seconds",
        "probe_ssl_earliest_cert_expiry",
        "probe_timeout_seconds",
        "proxyscope_check_error",
        "proxyscope_route_info",
    ] {
        ensure(e.types.get(family).is_some_and(|t| t == "gauge"), || {
            format!("{family} missing:\n{}", r.body)
        })?;
    }
    let home = [("provider", "healthy"), ("check", "home")];
    ensure(e.value("probe_success", &home) == Some(1.0), || {
        r.body.clone()
    })?;
    ensure(
        e.value("probe_success", &[("check", "echo")]) == Some(1.0),
        || r.body.clone(),
    )?;
    ensure(
        e.value("probe_http_status_code", &home) == Some(200.0),
        || r.body.clone(),
    )?;
    let expiry = e
        .value("probe_ssl_earliest_cert_expiry", &home)
        .unwrap_or(0.0);
    ensure(expiry > now() + 14.0 * 86_400.0, || {
        format!("expiry {expiry}")
    })?;
    let tls_phase = [("check", "home"), ("phase", "tls")];
    ensure(
        e.value("probe_http_duration_seconds", &tls_phase)
            .is_some_and(|v| v > 0.0),
        || r.body.clone(),
    )?;
    ensure(
        e.value(
            "proxyscope_route_info",
            &[("check", "home"), ("via", "direct"), ("proxy", "")],
        ) == Some(1.0),
        || r.body.clone(),
    )?;
    ensure(e.value("probe_timeout_seconds", &[]) == Some(10.0), || {
        r.body.clone()
    })?;
    ensure(
        e.matching("proxyscope_check_error", &[]).next().is_none(),
        || r.body.clone(),
    )?;

    // One check of the provider.
    let r = serve.get("/probe?target=healthy&check=home", &[]).await?;
    let e = r.exposition()?;
    ensure(e.matching("probe_success", &[]).count() == 1, || {
        r.body.clone()
    })?;
    let r = serve.get("/probe?target=healthy&check=nope", &[]).await?;
    ensure(r.status == 400 && r.body.contains("home, echo"), || {
        format!("{r:?}")
    })?;

    // Refused by the proxy: the reason, who must act and where, in the scrape.
    let r = serve.get("/probe?target=denied", &[]).await?;
    let e = r.exposition()?;
    let denied = [("provider", "denied"), ("check", "default")];
    ensure(e.value("probe_success", &denied) == Some(0.0), || {
        r.body.clone()
    })?;
    let errors: Vec<_> = e.matching("proxyscope_check_error", &denied).collect();
    ensure(errors.len() == 1, || r.body.clone())?;
    let labels = &errors[0].labels;
    ensure(
        labels.get("code").map(String::as_str) == Some("proxy.forbidden")
            && labels.get("blame").map(String::as_str) == Some("proxy")
            && labels.get("hop").map(String::as_str) == Some("proxy"),
        || format!("{labels:?}"),
    )?;
    let proxy_url = deny.url();
    ensure(
        e.value(
            "proxyscope_route_info",
            &[
                ("check", "default"),
                ("via", "proxy"),
                ("proxy", &proxy_url),
            ],
        ) == Some(1.0),
        || r.body.clone(),
    )?;

    // Through a proxy with credentials: the route names it without them.
    let r = serve.get("/probe?target=authed", &[]).await?;
    let e = r.exposition()?;
    ensure(
        e.value("probe_success", &[("provider", "authed")]) == Some(1.0),
        || r.body.clone(),
    )?;
    let auth_url = auth.url();
    ensure(
        e.value(
            "proxyscope_route_info",
            &[("via", "proxy"), ("proxy", &auth_url)],
        ) == Some(1.0),
        || r.body.clone(),
    )?;
    ensure(!r.body.contains(PASS) && !r.body.contains(API_KEY), || {
        r.body.clone()
    })?;
    serve.stop().await?;
    Ok(Completion::Completed)
}

pub(crate) async fn bad_requests_get_clear_4xx_and_the_server_keeps_serving() -> Outcome {
    let origin = TestOrigin::http().await;
    let cfg = ConfigFile::new(&format!(
        "[providers.web]\nurl = {}\nproxy = \"direct\"\n[providers.api]\nurl = {}\nproxy = \"direct\"\n",
        toml_str(origin.url("/")),
        toml_str(origin.url("/status/204")),
    ));
    let mut serve = Serve::start(cfg.path(), &[]).await?;
    let huge_target = "x".repeat(1000);
    let long_query = format!("target=web&pad={}", "p".repeat(3000));
    let cases: Vec<(String, u16, &str)> = vec![
        (
            "/probe?target=nope".into(),
            400,
            "known providers: web, api",
        ),
        ("/probe".into(), 400, "missing"),
        ("/probe?target=".into(), 400, "missing"),
        ("/probe?target=%zz".into(), 400, "percent-encoded"),
        ("/probe?target=%C3%28".into(), 400, "UTF-8"),
        ("/probe?target=web&target=api".into(), 400, "more than once"),
        ("/probe?target=w%0Aeb".into(), 400, "control"),
        (format!("/probe?target={huge_target}"), 400, "longer than"),
        (format!("/probe?{long_query}"), 414, "query string"),
        ("/nope".into(), 404, "not found"),
        ("/probe/../metrics".into(), 404, "not found"),
    ];
    for (path, status, words) in &cases {
        let r = serve.get(path, &[]).await?;
        ensure(r.status == *status && r.body.contains(words), || {
            format!("{path}: {r:?}")
        })?;
        ensure(
            r.header("x-content-type-options") == Some("nosniff")
                && r.header("content-type") == Some("text/plain; charset=utf-8"),
            || format!("{path}: {:?}", r.headers),
        )?;
        ensure(!r.body.contains(&huge_target), || {
            "echoed the huge target".into()
        })?;
    }
    for (method, path) in [
        ("POST", "/probe?target=web"),
        ("DELETE", "/"),
        ("GET", "/-/reload"),
    ] {
        let r = super::support::request(serve.addr, method, path, &[]).await?;
        ensure(r.status == 405 && r.header("allow").is_some(), || {
            format!("{method} {path}: {r:?}")
        })?;
    }
    // Beyond the request-head limit, and not HTTP at all: hyper's own 4xx.
    let r = serve
        .get(&format!("/probe?target={}", "y".repeat(40_000)), &[])
        .await?;
    ensure((400..500).contains(&r.status), || format!("{r:?}"))?;
    let r = raw(
        serve.addr,
        b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03garbage\r\n\r\n",
    )
    .await;
    ensure(r.as_ref().map_or(true, |r| r.status == 400), || {
        format!("{r:?}")
    })?;
    // Still serving, and the refusals were counted.
    let r = serve.get("/-/healthy", &[]).await?;
    ensure(r.status == 200, || format!("{r:?}"))?;
    let r = serve.get("/probe?target=web", &[]).await?;
    ensure(
        r.exposition()?.value("probe_success", &[]) == Some(1.0),
        || r.body.clone(),
    )?;
    let m = serve.get("/metrics", &[]).await?.exposition()?;
    let bad = m
        .value(
            "proxyscope_exporter_requests_total",
            &[("handler", "probe"), ("code", "400")],
        )
        .unwrap_or(0.0);
    ensure(bad == 8.0, || format!("probe 400s counted: {bad}"))?;
    ensure(serve.is_running(), || "probe serve died".into())?;
    serve.stop().await?;
    Ok(Completion::Completed)
}

pub(crate) async fn the_scrape_timeout_header_bounds_the_probe() -> Outcome {
    let origin = TestOrigin::http().await;
    let cfg = ConfigFile::new(&format!(
        r#"
[providers.slow]
url = {slow}
proxy = "direct"
[providers.fast]
url = {fast}
proxy = "direct"
"#,
        slow = toml_str(origin.url("/slow?ms=20000")),
        fast = toml_str(origin.url("/")),
    ));
    let serve = Serve::start(cfg.path(), &["--min-interval", "1ms"]).await?;
    let timeout = |v: &'static str| [("X-Prometheus-Scrape-Timeout-Seconds", v)];
    // A 1 s scrape timeout: the probe gets half of it and reports the timeout as the origin's.
    let r = serve.get("/probe?target=slow", &timeout("1")).await?;
    let e = r.exposition()?;
    ensure(e.value("probe_timeout_seconds", &[]) == Some(0.5), || {
        r.body.clone()
    })?;
    ensure(e.value("probe_success", &[]) == Some(0.0), || {
        r.body.clone()
    })?;
    let err = e
        .matching("proxyscope_check_error", &[])
        .next()
        .ok_or("no error")?;
    ensure(
        err.labels["code"] == "http.timeout" && err.labels["blame"] == "origin",
        || r.body.clone(),
    )?;
    for (header, want) in [
        ("10", 9.5),
        ("0", 10.0),
        ("-3", 10.0),
        ("garbage", 10.0),
        ("1e999", 10.0),
        ("NaN", 10.0),
        ("", 10.0),
        ("86400", 60.0),
    ] {
        // Past the 1 ms minimum interval, so each scrape probes under its own deadline.
        tokio::time::sleep(Duration::from_millis(20)).await;
        let r = serve
            .get(
                "/probe?target=fast",
                &[("X-Prometheus-Scrape-Timeout-Seconds", header)],
            )
            .await?;
        let e = r.exposition()?;
        ensure(
            e.value("probe_timeout_seconds", &[]) == Some(want)
                && e.value("probe_success", &[]) == Some(1.0),
            || format!("header {header:?}:\n{}", r.body),
        )?;
    }
    serve.stop().await?;
    Ok(Completion::Completed)
}

pub(crate) async fn recent_results_are_reused_and_concurrent_scrapes_share_one_probe() -> Outcome {
    let origin = TestOrigin::http().await;
    let cfg = ConfigFile::new(&format!(
        "[providers.web]\nurl = {}\nproxy = \"direct\"\n",
        toml_str(origin.url("/slow?ms=300")),
    ));
    let serve = Serve::start(cfg.path(), &["--min-interval", "60s"]).await?;
    let addr = serve.addr;
    let scrapes: Vec<_> = (0..8)
        .map(|_| {
            tokio::spawn(async move {
                super::support::request(addr, "GET", "/probe?target=web", &[]).await
            })
        })
        .collect();
    for s in scrapes {
        let r = s.await.map_err(|e| e.to_string())??;
        ensure(
            r.exposition()?.value("probe_success", &[]) == Some(1.0),
            || r.body.clone(),
        )?;
    }
    let r = serve.get("/probe?target=web", &[]).await?;
    let age = r
        .exposition()?
        .value("proxyscope_probe_result_age_seconds", &[])
        .unwrap_or(0.0);
    ensure(age > 0.0, || r.body.clone())?;
    ensure(origin.requests().len() == 1, || {
        format!("{} requests reached the origin", origin.requests().len())
    })?;
    let m = serve.get("/metrics", &[]).await?.exposition()?;
    ensure(
        m.value("proxyscope_exporter_probes_total", &[("result", "success")]) == Some(1.0)
            && m.value("proxyscope_exporter_probe_results_reused_total", &[]) == Some(8.0)
            && m.value("proxyscope_exporter_probe_duration_seconds_count", &[]) == Some(1.0),
        || format!("{m:?}"),
    )?;
    serve.stop().await?;
    Ok(Completion::Completed)
}

pub(crate) async fn the_concurrency_limit_turns_excess_scrapes_into_503() -> Outcome {
    let origin = TestOrigin::http().await;
    let cfg = ConfigFile::new(&format!(
        "[providers.slow]\nurl = {}\nproxy = \"direct\"\n[providers.fast]\nurl = {}\nproxy = \"direct\"\n",
        toml_str(origin.url("/slow?ms=2000")),
        toml_str(origin.url("/")),
    ));
    let serve = Serve::start(
        cfg.path(),
        &["--max-concurrent", "1", "--min-interval", "1ms"],
    )
    .await?;
    let addr = serve.addr;
    let slow = tokio::spawn(async move {
        super::support::request(
            addr,
            "GET",
            "/probe?target=slow",
            &[("X-Prometheus-Scrape-Timeout-Seconds", "10")],
        )
        .await
    });
    // Once the slow probe holds the only slot, another target waits up to its deadline: 503.
    eventually(Duration::from_secs(10), || async {
        (!origin.requests().is_empty()).then_some(())
    })
    .await
    .ok_or("the slow probe never reached the origin")?;
    let r = serve
        .get(
            "/probe?target=fast",
            &[("X-Prometheus-Scrape-Timeout-Seconds", "0.6")],
        )
        .await?;
    ensure(
        r.status == 503 && r.header("retry-after") == Some("1"),
        || format!("{r:?}"),
    )?;
    let r = slow.await.map_err(|e| e.to_string())??;
    ensure(
        r.exposition()?.value("probe_success", &[]) == Some(1.0),
        || r.body.clone(),
    )?;
    let r = serve.get("/probe?target=fast", &[]).await?;
    ensure(r.status == 200, || format!("{r:?}"))?;
    let m = serve.get("/metrics", &[]).await?.exposition()?;
    ensure(
        m.value("proxyscope_exporter_probes_in_flight", &[]) == Some(0.0)
            && m.value(
                "proxyscope_exporter_requests_total",
                &[("handler", "probe"), ("code", "503")],
            ) == Some(1.0),
        || format!("{m:?}"),
    )?;
    serve.stop().await?;
    Ok(Completion::Completed)
}

pub(crate) async fn reload_refuses_errors_keeps_serving_and_sighup_applies_a_fix() -> Outcome {
    let origin = TestOrigin::http().await;
    let one = format!(
        "[providers.one]\nurl = {}\nproxy = \"direct\"\n",
        toml_str(origin.url("/"))
    );
    let cfg = ConfigFile::new(&one);
    let serve = Serve::start(cfg.path(), &["--min-interval", "1ms"]).await?;
    // Errors: an unknown key and a URL-shaped no_proxy entry.
    cfg.write(&format!(
        "{one}no_proxy = [\"http://svc.example.org/\"]\n[providers.two]\nurll = \"http://x\"\n"
    ));
    let r = serve.post("/-/reload").await?;
    ensure(
        r.status == 500 && r.body.contains("refused") && r.body.contains("keeps serving"),
        || format!("{r:?}"),
    )?;
    ensure(
        r.body.contains("urll") && r.body.contains("no_proxy"),
        || r.body.clone(),
    )?;
    let r = serve.get("/probe?target=one", &[]).await?;
    ensure(
        r.exposition()?.value("probe_success", &[]) == Some(1.0),
        || r.body.clone(),
    )?;
    let r = serve.get("/probe?target=two", &[]).await?;
    ensure(r.status == 400, || format!("{r:?}"))?;
    let m = serve.get("/metrics", &[]).await?.exposition()?;
    ensure(
        m.value("proxyscope_exporter_config_last_reload_successful", &[]) == Some(0.0)
            && m.value(
                "proxyscope_exporter_config_reloads_total",
                &[("result", "failure")],
            ) == Some(1.0)
            && m.value("proxyscope_exporter_config_last_reload_errors", &[])
                .is_some_and(|n| n >= 2.0)
            && m.value("proxyscope_exporter_config_providers", &[]) == Some(1.0),
        || format!("{m:?}"),
    )?;
    let page = serve.get("/", &[]).await?;
    ensure(page.body.contains("id=\"reload-refused\""), || {
        page.body.clone()
    })?;

    // Fixed, and applied by SIGHUP.
    cfg.write(&format!(
        "{one}[providers.two]\nurl = {}\nproxy = \"direct\"\n",
        toml_str(origin.url("/status/204"))
    ));
    serve.signal(Signal::HUP)?;
    eventually(Duration::from_secs(10), || async {
        let m = serve.get("/metrics", &[]).await.ok()?.exposition().ok()?;
        (m.value(
            "proxyscope_exporter_config_reloads_total",
            &[("result", "success")],
        ) == Some(1.0))
        .then_some(())
    })
    .await
    .ok_or("SIGHUP did not reload")?;
    let r = serve.get("/probe?target=two", &[]).await?;
    ensure(
        r.exposition()?.value("probe_success", &[]) == Some(1.0),
        || r.body.clone(),
    )?;
    let m = serve.get("/metrics", &[]).await?.exposition()?;
    ensure(
        m.value("proxyscope_exporter_config_last_reload_successful", &[]) == Some(1.0)
            && m.value("proxyscope_exporter_config_providers", &[]) == Some(2.0),
        || format!("{m:?}"),
    )?;
    let page = serve.get("/", &[]).await?;
    ensure(!page.body.contains("reload-refused"), || page.body.clone())?;
    serve.stop().await?;
    Ok(Completion::Completed)
}

pub(crate) async fn reload_storms_during_scrapes_never_crash() -> Outcome {
    let origin = TestOrigin::http().await;
    let good = format!(
        "[providers.web]\nurl = {}\nproxy = \"direct\"\n",
        toml_str(origin.url("/"))
    );
    let cfg = ConfigFile::new(&good);
    let mut serve = Serve::start(cfg.path(), &["--min-interval", "1ms"]).await?;
    let addr = serve.addr;
    let mut tasks = Vec::new();
    for i in 0..40 {
        tasks.push(tokio::spawn(async move {
            let path = if i % 4 == 0 {
                "/probe?target=web"
            } else {
                "/-/reload"
            };
            let method = if i % 4 == 0 { "GET" } else { "POST" };
            super::support::request(addr, method, path, &[]).await
        }));
    }
    for _ in 0..5 {
        serve.signal(Signal::HUP)?;
    }
    for t in tasks {
        let r = t.await.map_err(|e| e.to_string())??;
        ensure(r.status == 200, || format!("{r:?}"))?;
    }
    ensure(serve.is_running(), || "probe serve died".into())?;
    let m = serve.get("/metrics", &[]).await?.exposition()?;
    let reloads = m
        .value(
            "proxyscope_exporter_config_reloads_total",
            &[("result", "success")],
        )
        .unwrap_or(0.0);
    // 30 HTTP reloads and 5 signals arrived at once; concurrent ones share a reload.
    ensure((1.0..=35.0).contains(&reloads), || {
        format!("{reloads} reloads")
    })?;
    serve.stop().await?;
    Ok(Completion::Completed)
}

/// A generation reads its CA files once, when its configuration loads: deleting one afterwards
/// changes nothing for the probes, and the reload that would read it again is refused (with
/// the file's finding) while the loaded generation keeps serving.
pub(crate) async fn ca_files_are_read_once_per_generation() -> Outcome {
    let h = Harness::start().await;
    let (pki, tls, plain) = (&h.pki, &h.tls, &h.plain);
    let cfg = ConfigFile::new("");
    let ca = cfg.dir().join("root.pem");
    std::fs::copy(pki.root_pem_path(), &ca).map_err(|e| e.to_string())?;
    cfg.write(&format!(
        "[providers.good]\nurl = {}\nproxy = \"direct\"\n[providers.tls]\nurl = {}\nproxy = \"direct\"\nca_file = {}\n",
        toml_str(plain.url("/")),
        toml_str(tls.url("/")),
        toml_str(ca.display().to_string()),
    ));
    let serve = Serve::start(cfg.path(), &["--min-interval", "1ms"]).await?;
    std::fs::remove_file(&ca).map_err(|e| e.to_string())?;
    for target in ["good", "tls"] {
        let r = serve.get(&format!("/probe?target={target}"), &[]).await?;
        ensure(
            r.exposition()?.value("probe_success", &[]) == Some(1.0),
            || format!("{target}: {}", r.body),
        )?;
    }
    let r = serve.post("/-/reload").await?;
    ensure(
        r.status == 500 && r.body.contains("ca_file") && r.body.contains("keeps serving"),
        || format!("{r:?}"),
    )?;
    let r = serve.get("/probe?target=tls", &[]).await?;
    ensure(
        r.exposition()?.value("probe_success", &[]) == Some(1.0),
        || r.body.clone(),
    )?;
    serve.stop().await?;
    Ok(Completion::Completed)
}

pub(crate) async fn secrets_stay_out_of_every_output_and_log() -> Outcome {
    let h = Harness::start().await;
    let (tls, plain, deny) = (&h.tls, &h.plain, &h.deny);
    let auth = TestProxy::builder()
        .policy(Policy::require_basic(USER, PASS, "egress"))
        .start()
        .await;
    let good = format!(
        r#"
proxy = {auth}
[providers.ok]
url = {key_url}
[[providers.ok.checks]]
name = "token"
path = "/echo?token={API_KEY}&lang=en"

[providers.wrong_password]
url = {tls_key_url}
proxy = {wrong}
ca_file = {ca}

[providers.denied]
url = {tls_key_url}
proxy = {deny_creds}
ca_file = {ca}
"#,
        auth = toml_str(auth.url_with_credentials(USER, PASS)),
        wrong = toml_str(auth.url_with_credentials(USER, &format!("{PASS}-wrong"))),
        deny_creds = toml_str(deny.url_with_credentials(USER, PASS)),
        key_url = toml_str(plain.url(&format!("/?api_key={API_KEY}"))),
        tls_key_url = toml_str(tls.url(&format!("/?api_key={API_KEY}"))),
        ca = h.ca(),
    );
    let cfg = ConfigFile::new(&good);
    let serve = Serve::start(cfg.path(), &["--min-interval", "1ms"]).await?;
    let mut outputs = Vec::new();
    for target in ["ok", "wrong_password", "denied"] {
        let r = serve.get(&format!("/probe?target={target}"), &[]).await?;
        outputs.push((format!("/probe?target={target}"), r.body));
    }
    outputs.push(("/".into(), serve.get("/", &[]).await?.body));
    outputs.push(("/metrics".into(), serve.get("/metrics", &[]).await?.body));
    outputs.push(("reload".into(), serve.post("/-/reload").await?.body));
    // A refused file whose errors are about values carrying the credentials.
    cfg.write(&format!(
        "proxy = \"htp://{USER}:{PASS}@p.example:3128\"\nno_proxy = [\"http://{USER}:{PASS}@svc.example/\"]\n[providers.x]\nurl = \"http://x.example/\"\n"
    ));
    let r = serve.post("/-/reload").await?;
    ensure(r.status == 500, || format!("{r:?}"))?;
    outputs.push(("refused reload".into(), r.body));
    outputs.push(("/ after refusal".into(), serve.get("/", &[]).await?.body));
    let forbidden = [
        format!("{USER}:{PASS}"),
        PASS.to_owned(),
        // The Basic token alone, without its scheme word.
        basic_auth(USER, PASS)
            .trim_start_matches("Basic ")
            .to_owned(),
        API_KEY.to_owned(),
    ];
    // The failing checks failed for the expected reasons (so their outputs were exercised).
    ensure(
        outputs[1].1.contains("code=\"proxy.auth_rejected\"")
            && outputs[2].1.contains("code=\"proxy.forbidden\"")
            && outputs[0]
                .1
                .contains("probe_success{provider=\"ok\",check=\"token\"} 1"),
        || format!("{outputs:#?}"),
    )?;
    let logs = serve.stderr();
    ensure(logs.contains("check failed"), || logs.clone())?;
    outputs.push(("stderr".into(), logs));
    for (what, text) in &outputs {
        for secret in &forbidden {
            ensure(!text.contains(secret.as_str()), || {
                format!("{what} leaks {secret:?}:\n{text}")
            })?;
        }
    }
    serve.stop().await?;
    Ok(Completion::Completed)
}
