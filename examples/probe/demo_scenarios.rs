//! The six failures of the 2015 cxserver outage, each as a [`Scenario`]: the broken config,
//! what proxyscope says about it, the fix, and the re-run. Each returns `Err(why)` when
//! proxyscope did not behave as the scenario describes, which fails the demo.

use std::future::Future;
use std::pin::Pin;

use proxyscope::probe::{CheckResult, Report};
use proxyscope::{Error, Hop};

use crate::demo::{APERTIUM, CXSERVER, MINT, Out, World, toml_str};

type Verdict = Result<(), String>;
type Run = for<'a> fn(&'a World, &'a mut Out) -> Pin<Box<dyn Future<Output = Verdict> + 'a>>;

/// One replayed failure.
pub(crate) struct Scenario {
    /// What went wrong, in a line.
    pub(crate) title: &'static str,
    /// What happened in 2015.
    pub(crate) story: &'static str,
    /// Plays it; `Err` when proxyscope did not behave as described.
    pub(crate) run: Run,
}

/// Every scenario, in the order the outage unfolded.
pub(crate) fn all() -> Vec<Scenario> {
    vec![
        Scenario {
            title: "a provider on the global proxy instead of its own",
            story: "Yandex.js passed the global `proxy`; the per-provider `mt.yandex.proxy` existed only\n\
                    in a file production never read, so Yandex traffic went to url-downloader.",
            run: |w, o| Box::pin(global_instead_of_own(w, o)),
        },
        Scenario {
            title: "a no_proxy entry written as a URL",
            story: "puppet 8a1289d listed `http://host:port` URLs as no_proxy entries; matched as host\n\
                    names they never match, so internal calls kept going through the proxy.",
            run: |w, o| Box::pin(url_shaped_no_proxy(w, o)),
        },
        Scenario {
            title: "a CA under a key the client does not read",
            story: "the Certum CA was passed as `agentOptions.ca`; the HTTP library silently ignored it.",
            run: |w, o| Box::pin(misplaced_ca_key(w, o)),
        },
        Scenario {
            title: "a CA that does not reach the TLS session inside the CONNECT tunnel",
            story: "through a proxy, `request` drops `agentOptions.ca` on the tunnelled path: the origin's\n\
                    chain was checked without it and failed with CERT_UNTRUSTED.",
            run: |w, o| Box::pin(ca_ignored_in_tunnel(w, o)),
        },
        Scenario {
            title: "a proxy's 403 versus an origin's 403",
            story: "operators saw a bare 403; Squid, Yandex and cxserver's own JWT check could each have\n\
                    sent it, and nothing recorded which hop did.",
            run: |w, o| Box::pin(proxy_403_vs_origin_403(w, o)),
        },
        Scenario {
            title: "a health check on a path that 404s",
            story: "after the migration `/` answered 404; PyBal's check of `/` depooled every backend while\n\
                    Icinga, checking something else, said OK.",
            run: |w, o| Box::pin(health_path_404(w, o)),
        },
    ]
}

fn ensure(cond: bool, why: impl FnOnce() -> String) -> Verdict {
    if cond { Ok(()) } else { Err(why()) }
}

fn unexpected(e: Error) -> String {
    format!("unexpected error [{}]: {}", e.code(), e)
}

fn find<'r>(report: &'r Report, provider: &str, name: &str) -> Result<&'r CheckResult, String> {
    report
        .checks
        .iter()
        .find(|c| c.provider == provider && c.name == name)
        .ok_or_else(|| format!("no result for {provider}/{name}"))
}

fn code(c: &CheckResult) -> &'static str {
    c.error.as_ref().map_or("none", |e| e.code())
}

fn passed(report: &Report) -> Verdict {
    ensure(report.is_ok() && report.checks.iter().all(|c| c.ok), || {
        let failed: Vec<String> = report
            .checks
            .iter()
            .filter(|c| !c.ok)
            .map(|c| format!("{} [{}]", c.id(), code(c)))
            .collect();
        format!("the fixed config still fails: {}", failed.join(", "))
    })
}

/// Scenario 1: the provider inherits the global proxy, which refuses it like Squid.
async fn global_instead_of_own(w: &World, out: &mut Out) -> Verdict {
    let broken = format!(
        "proxy = {squid}          # url-downloader, for everything by default\n\
         \n\
         [providers.yandex]\n\
         url = {url}\n\
         ca_file = {ca}\n\
         # no `proxy` here: the provider inherits the global one\n",
        squid = toml_str(&w.squid.url()),
        url = toml_str(&w.yandex_url()),
        ca = w.root_ca(),
    );
    let path = w.write("1-broken.toml", &broken)?;
    out.block("broken", &broken);
    out.block("route", &w.explain(&path, "yandex").map_err(unexpected)?);
    let report = w.check(&path, &[]).await.map_err(unexpected)?;
    let c = find(&report, "yandex", "default")?;
    out.diagnosis(c);
    let e = c
        .error
        .as_ref()
        .ok_or("the check passed through the refusing proxy")?;
    ensure(e.code() == "proxy.forbidden", || {
        format!("expected proxy.forbidden, got {}", e.code())
    })?;
    ensure(e.hop == Some(Hop::Proxy), || {
        "the refusal was not attributed to the proxy".into()
    })?;
    let reply = e
        .evidence
        .proxy_reply
        .as_ref()
        .ok_or("no proxy reply in the evidence")?;
    ensure(reply.status == 403, || {
        format!("proxy status {}", reply.status)
    })?;
    ensure(
        reply
            .header("X-Squid-Error")
            .is_some_and(|v| v.starts_with("ERR_ACCESS_DENIED")),
        || "X-Squid-Error missing from the evidence".into(),
    )?;
    ensure(c.status.is_none(), || {
        "the proxy's 403 was reported as the origin's status".into()
    })?;

    let fix = format!(
        "[providers.yandex]\nproxy = {}   # its own egress proxy",
        toml_str(&w.egress.url())
    );
    out.block("fix", &fix);
    let fixed = broken.replace(
        "# no `proxy` here: the provider inherits the global one\n",
        &format!("proxy = {}\n", toml_str(&w.egress.url())),
    );
    let path = w.write("1-fixed.toml", &fixed)?;
    let before = w.egress.connect_count();
    let report = w.check(&path, &[]).await.map_err(unexpected)?;
    out.rerun(&report);
    passed(&report)?;
    ensure(w.egress.connect_count() > before, || {
        "the egress proxy saw no CONNECT".into()
    })
}

/// Scenario 2: `no_proxy = ["http://host:port"]` is a lint error with the host-name fix.
async fn url_shaped_no_proxy(w: &World, out: &mut Out) -> Verdict {
    let url = w.plain_url(APERTIUM);
    let broken = format!(
        "proxy = {squid}\n\
         no_proxy = [{entry}]   # a URL, not a host name\n\
         \n\
         [providers.apertium]\n\
         url = {url}\n",
        squid = toml_str(&w.squid.url()),
        entry = toml_str(&url),
        url = toml_str(&url),
    );
    let path = w.write("2-broken.toml", &broken)?;
    out.block("broken", &broken);
    let findings = w.lint(&path).map_err(unexpected)?;
    let d = findings
        .iter()
        .find(|d| d.code == "no_proxy.url")
        .ok_or("no `no_proxy.url` finding for a URL-shaped entry")?;
    out.block("diagnosis", &format!("lint: {d}"));
    ensure(
        d.suggestion
            .as_deref()
            .is_some_and(|s| s.contains(&format!("`.{APERTIUM}`"))),
        || {
            format!(
                "the suggestion does not give the host name: {:?}",
                d.suggestion
            )
        },
    )?;
    if let Err(e) = proxyscope::config::Config::from_file(&path) {
        out.line("load", &format!("refused at startup: [{}] {e}", e.code()));
    }

    // The lint's own fix: the host as a domain entry.
    let fix = format!("no_proxy = [{}]", toml_str(&format!(".{APERTIUM}")));
    out.block("fix", &fix);
    let fixed = broken.replace(
        &format!("no_proxy = [{}]   # a URL, not a host name", toml_str(&url)),
        &fix,
    );
    let path = w.write("2-fixed.toml", &fixed)?;
    let explained = w.explain(&path, "apertium").map_err(unexpected)?;
    out.block("route", &explained);
    let before = w.squid.requests().len();
    let report = w.check(&path, &[]).await.map_err(unexpected)?;
    out.rerun(&report);
    passed(&report)?;
    let c = find(&report, "apertium", "default")?;
    ensure(c.route.as_ref().is_some_and(|r| r.is_direct()), || {
        "apertium is not direct".into()
    })?;
    ensure(w.squid.requests().len() == before, || {
        "the global proxy still saw the request".into()
    })
}

/// Scenario 3: `agentOptions.ca` / `ca` are known misplacements of `ca_file`.
async fn misplaced_ca_key(w: &World, out: &mut Out) -> Verdict {
    let broken = format!(
        "[providers.yandex]\n\
         url = {url}\n\
         proxy = {egress}\n\
         ca = {ca}             # Node's option name, not proxyscope's\n",
        url = toml_str(&w.yandex_url()),
        egress = toml_str(&w.egress.url()),
        ca = w.root_ca(),
    );
    let path = w.write("3-broken.toml", &broken)?;
    out.block("broken", &broken);
    let e = match w.check(&path, &[]).await {
        Err(e) => e,
        Ok(_) => return Err("a config with an unknown `ca` key loaded".into()),
    };
    ensure(e.code() == "config.invalid", || {
        format!("expected config.invalid, got {}", e.code())
    })?;
    let d = e
        .evidence()
        .diagnostics
        .iter()
        .find(|d| d.code == "misplaced_key" && d.path == "providers.yandex.ca")
        .ok_or("no misplaced_key finding for providers.yandex.ca")?;
    out.block(
        "diagnosis",
        &format!("refused at startup [{}]\nlint: {d}", e.code()),
    );
    ensure(
        d.suggestion
            .as_deref()
            .is_some_and(|s| s.contains("ca_file")),
        || format!("the suggestion does not name ca_file: {:?}", d.suggestion),
    )?;

    let fixed = broken.replace("ca = ", "ca_file = ").replace(
        "# Node's option name, not proxyscope's",
        "# proxyscope's key",
    );
    out.block("fix", &format!("ca_file = {}", w.root_ca()));
    let path = w.write("3-fixed.toml", &fixed)?;
    let report = w.check(&path, &[]).await.map_err(unexpected)?;
    out.rerun(&report);
    passed(&report)
}

/// Scenario 4: the CA given to the proxy hop; the origin's TLS inside the tunnel fails and the
/// hint names `providers.yandex.ca_file` and the file.
async fn ca_ignored_in_tunnel(w: &World, out: &mut Out) -> Verdict {
    let broken = format!(
        "[providers.yandex]\n\
         url = {url}\n\
         proxy = {egress}\n\
         proxy_ca_file = {ca}   # trust for the proxy hop only\n",
        url = toml_str(&w.yandex_url()),
        egress = toml_str(&w.egress.url()),
        ca = w.root_ca(),
    );
    let path = w.write("4-broken.toml", &broken)?;
    out.block("broken", &broken);
    let report = w.check(&path, &[]).await.map_err(unexpected)?;
    let c = find(&report, "yandex", "default")?;
    out.diagnosis(c);
    let e = c
        .error
        .as_ref()
        .ok_or("the origin's private chain verified without its CA")?;
    ensure(e.code() == "tls.unknown_issuer", || {
        format!("expected tls.unknown_issuer, got {}", e.code())
    })?;
    ensure(e.hop == Some(Hop::Origin), || {
        "the TLS failure was not attributed to the origin".into()
    })?;
    let root = w.pki.root_pem_path().display().to_string();
    ensure(
        e.hint
            .as_deref()
            .is_some_and(|h| h.contains("ca_file") && h.contains(&root)),
        || format!("the hint does not name ca_file and {root}: {:?}", e.hint),
    )?;
    let fix = e
        .evidence
        .tls
        .as_ref()
        .and_then(|t| t.fix.as_ref())
        .ok_or("no fix found by cross-reference")?;
    ensure(
        fix.key.ends_with("ca_file")
            && !fix.key.ends_with("proxy_ca_file")
            && fix.file.as_deref() == Some(root.as_str()),
        || {
            format!(
                "the fix is not the origin's ca_file = {root}: {} = {:?}",
                fix.key, fix.file
            )
        },
    )?;
    out.line("fix key", &format!("{} = {}", fix.key, toml_str(&root)));
    ensure(
        c.certificate.as_ref().is_some_and(|cert| !cert.verified),
        || "the rejected certificate was not reported".into(),
    )?;

    let fixed = broken.replace("proxy_ca_file = ", "ca_file = ").replace(
        "# trust for the proxy hop only",
        "# the origin's CA, applied inside the tunnel",
    );
    out.block("fix", &format!("ca_file = {}", w.root_ca()));
    let path = w.write("4-fixed.toml", &fixed)?;
    let before = w.egress.connect_count();
    let report = w.check(&path, &[]).await.map_err(unexpected)?;
    out.rerun(&report);
    passed(&report)?;
    let c = find(&report, "yandex", "default")?;
    ensure(
        c.certificate.as_ref().is_some_and(|cert| cert.verified),
        || "no verified certificate".into(),
    )?;
    ensure(w.egress.connect_count() > before, || {
        "the request did not go through the CONNECT tunnel".into()
    })
}

/// Scenario 5: two 403s, one written by the proxy and one by the origin, told apart.
async fn proxy_403_vs_origin_403(w: &World, out: &mut Out) -> Verdict {
    let broken = format!(
        "proxy = {squid}\n\
         \n\
         [providers.apertium]          # internal, but inherits the global proxy\n\
         url = {apertium}\n\
         [[providers.apertium.checks]]\n\
         name = \"pairs\"\n\
         path = \"/\"\n\
         expect_status = 200\n\
         \n\
         [providers.mint]              # direct; its own answer is 403\n\
         url = {mint}\n\
         proxy = \"direct\"\n\
         [[providers.mint.checks]]\n\
         name = \"translate\"\n\
         path = \"/forbidden\"\n\
         expect_status = 200\n",
        squid = toml_str(&w.squid.url()),
        apertium = toml_str(&w.plain_url(APERTIUM)),
        mint = toml_str(&w.plain_url(MINT)),
    );
    let path = w.write("5-broken.toml", &broken)?;
    out.block("broken", &broken);
    let report = w.check(&path, &[]).await.map_err(unexpected)?;
    let by_proxy = find(&report, "apertium", "pairs")?;
    let by_origin = find(&report, "mint", "translate")?;
    out.diagnosis(by_proxy);
    out.diagnosis(by_origin);
    for c in [by_proxy, by_origin] {
        ensure(c.status == Some(403), || {
            format!("{} saw {:?}, not 403", c.id(), c.status)
        })?;
    }
    // The proxy's own 403 gets the code a refused CONNECT gets; the origin's keeps http.status.
    for (c, want) in [(by_proxy, "proxy.forbidden"), (by_origin, "http.status")] {
        ensure(code(c) == want, || {
            format!("{}: expected {want}, got {}", c.id(), code(c))
        })?;
    }
    let hop = |c: &CheckResult| c.error.as_ref().and_then(|e| e.hop);
    ensure(hop(by_proxy) == Some(Hop::Proxy), || {
        "the proxy's 403 was not attributed to the proxy".into()
    })?;
    ensure(hop(by_origin) == Some(Hop::Origin), || {
        "the origin's 403 was not attributed to the origin".into()
    })?;
    let squid_said = by_proxy
        .error
        .as_ref()
        .and_then(|e| e.evidence.attribution.as_ref())
        .and_then(|a| a.squid_error.clone());
    ensure(squid_said.is_some(), || {
        "the proxy's X-Squid-Error is not in the evidence".into()
    })?;

    out.block(
        "fix",
        "[providers.apertium]\nproxy = \"direct\"       # internal hosts never go through url-downloader\n\
         [[providers.mint.checks]]\npath = \"/\"            # the origin's 403 is its answer: fix the request",
    );
    let fixed = broken
        .replace(
            "[providers.apertium]          # internal, but inherits the global proxy\n",
            "[providers.apertium]\nproxy = \"direct\"\n",
        )
        .replace("path = \"/forbidden\"", "path = \"/\"");
    let path = w.write("5-fixed.toml", &fixed)?;
    let report = w.check(&path, &[]).await.map_err(unexpected)?;
    out.rerun(&report);
    passed(&report)
}

/// Scenario 6: the load balancer's health path answers 404 — `http.status` in the check.
async fn health_path_404(w: &World, out: &mut Out) -> Verdict {
    let broken = format!(
        "[providers.cxserver]\n\
         url = {url}\n\
         proxy = \"direct\"\n\
         [[providers.cxserver.checks]]   # what the load balancer fetches\n\
         name = \"lvs\"\n\
         path = \"/index.html\"\n\
         expect_status = 200           # exactly, redirects not followed, like PyBal\n",
        url = toml_str(&w.plain_url(CXSERVER)),
    );
    let path = w.write("6-broken.toml", &broken)?;
    out.block("broken", &broken);
    let report = w.check(&path, &[]).await.map_err(unexpected)?;
    let c = find(&report, "cxserver", "lvs")?;
    out.diagnosis(c);
    ensure(code(c) == "http.status", || {
        format!("expected http.status, got {}", code(c))
    })?;
    ensure(c.status == Some(404), || {
        format!("expected 404, got {:?}", c.status)
    })?;
    ensure(
        c.error.as_ref().and_then(|e| e.hop) == Some(Hop::Origin),
        || "not attributed to the origin".into(),
    )?;
    ensure(report.state().exit_code() == 2, || {
        "a failed health path is not CRITICAL".into()
    })?;

    out.block(
        "fix",
        "path = \"/\"                    # the path the service serves",
    );
    let fixed = broken.replace("path = \"/index.html\"", "path = \"/\"");
    let path = w.write("6-fixed.toml", &fixed)?;
    let report = w.check(&path, &[]).await.map_err(unexpected)?;
    out.rerun(&report);
    passed(&report)
}
