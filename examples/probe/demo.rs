//! `probe demo` (and `probe` with no arguments): replays the December 2015 cxserver outage on the
//! test harness, one failure at a time — the broken config, proxyscope's diagnosis (error code
//! and hint, or the lint finding), the fix, and the passing re-run.
//!
//! The harness plays the 2015 network: `url-downloader`, a Squid-like global proxy that refuses
//! the translation providers and internal hosts; `yandex-egress`, the provider's own proxy;
//! `translate.yandex.test`, an HTTPS origin whose certificate comes from a private CA; and
//! `apertium.svc.test`, an internal plain-HTTP service. Every config is written to a temporary
//! directory as real TOML and loaded with `Config::from_file`, so the real code paths run.
//!
//! The demo is also a test: it exits 0 only when every scenario behaved as described, 2 when one
//! did not, 3 when the harness could not start.

use std::net::{IpAddr, Ipv4Addr};
use std::path::{Path, PathBuf};
use std::time::Duration;

use proxyscope::config::{Config, ConfigDocument, Diagnostic};
use proxyscope::connect::Resolver;
use proxyscope::probe::{CheckResult, Report, Runner, nagios, plan};
use proxyscope::testing::{ChainMode, Policy, TestOrigin, TestPki, TestProxy};
use proxyscope::{EnvSnapshot, Error};

use crate::demo_scenarios;

/// The provider's HTTPS host (private CA).
pub(crate) const YANDEX: &str = "translate.yandex.test";
/// The internal plain-HTTP service.
pub(crate) const APERTIUM: &str = "apertium.svc.test";
/// Another internal service on the same origin, reached directly.
pub(crate) const MINT: &str = "mint.svc.test";
/// The service whose load-balancer health check is replayed.
pub(crate) const CXSERVER: &str = "cxserver.svc.test";

/// Arguments of `probe demo`.
#[derive(clap::Args, Default)]
pub(crate) struct Args {
    /// Print only the scenario titles and verdicts.
    #[arg(long)]
    quiet: bool,
}

/// Runs the demo; returns the exit code.
pub(crate) fn run(args: Args) -> u8 {
    let rt = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("probe demo: cannot start the async runtime: {e}");
            return 3;
        }
    };
    rt.block_on(demo(args.quiet))
}

async fn demo(quiet: bool) -> u8 {
    let world = match World::start().await {
        Ok(w) => w,
        Err(e) => {
            eprintln!("probe demo: the harness could not start: {e}");
            return 3;
        }
    };
    println!("proxyscope demo: the 2015 cxserver outage, replayed on a local harness");
    println!(
        "  global proxy  url-downloader  {} (refuses {YANDEX}, {APERTIUM})",
        world.squid.url()
    );
    println!("  yandex egress proxy           {}", world.egress.url());
    println!("  {YANDEX:<28}  https, certificate from a private CA");
    println!("  {APERTIUM:<28}  http, internal");
    let mut failed = Vec::new();
    let scenarios = demo_scenarios::all();
    let total = scenarios.len();
    for (i, s) in scenarios.into_iter().enumerate() {
        let mut out = Out::new(quiet);
        out.title(i + 1, total, s.title, s.story);
        let verdict = (s.run)(&world, &mut out).await;
        match &verdict {
            Ok(()) => out.line("verdict", "PASS: behaved as described"),
            Err(why) => out.line("verdict", &format!("FAIL: {why}")),
        }
        out.flush();
        if verdict.is_err() {
            failed.push(i + 1);
        }
    }
    println!();
    if failed.is_empty() {
        println!("all {total} scenarios behaved as described");
        0
    } else {
        let list: Vec<String> = failed.iter().map(usize::to_string).collect();
        println!(
            "scenario(s) {} did not behave as described",
            list.join(", ")
        );
        2
    }
}

/// The harness servers and the directory configs are written to.
pub(crate) struct World {
    pub(crate) pki: TestPki,
    pub(crate) yandex: TestOrigin,
    pub(crate) apertium: TestOrigin,
    pub(crate) squid: TestProxy,
    pub(crate) egress: TestProxy,
    dir: tempfile::TempDir,
}

impl World {
    async fn start() -> Result<World, String> {
        let pki = TestPki::try_new().map_err(|e| e.to_string())?;
        let leaf = pki
            .try_leaf(proxyscope::testing::LeafSpec::new(&[YANDEX]))
            .map_err(|e| e.to_string())?;
        let yandex = TestOrigin::https(&pki, &leaf, ChainMode::Full).await;
        let apertium = TestOrigin::http().await;
        let squid = pinned(TestProxy::builder())
            .policy(Policy::deny(&[YANDEX, APERTIUM]))
            .start()
            .await;
        let egress = pinned(TestProxy::builder()).start().await;
        let dir = tempfile::Builder::new()
            .prefix("proxyscope-demo-")
            .tempdir()
            .map_err(|e| e.to_string())?;
        Ok(World {
            pki,
            yandex,
            apertium,
            squid,
            egress,
            dir,
        })
    }

    /// `https://translate.yandex.test:PORT`.
    pub(crate) fn yandex_url(&self) -> String {
        format!("https://{YANDEX}:{}", self.yandex.port())
    }

    /// `http://{host}:PORT` on the plain origin.
    pub(crate) fn plain_url(&self, host: &str) -> String {
        format!("http://{host}:{}", self.apertium.port())
    }

    /// The private root CA file, as a TOML string.
    pub(crate) fn root_ca(&self) -> String {
        toml_str(&self.pki.root_pem_path().display().to_string())
    }

    /// Writes `toml` as `name` in the demo's directory.
    pub(crate) fn write(&self, name: &str, toml: &str) -> Result<PathBuf, String> {
        let path = self.dir.path().join(name);
        std::fs::write(&path, toml).map_err(|e| format!("cannot write {}: {e}", path.display()))?;
        Ok(path)
    }

    /// Every demo host resolves to the loopback harness, in the client and in the proxies.
    fn resolver() -> Resolver {
        let lo = [IpAddr::V4(Ipv4Addr::LOCALHOST)];
        Resolver::from_map([YANDEX, APERTIUM, MINT, CXSERVER].map(|h| (h.to_owned(), lo.to_vec())))
    }

    /// Loads `path` and runs the checks of `providers` (all when empty) through the real client.
    pub(crate) async fn check(&self, path: &Path, providers: &[&str]) -> Result<Report, Error> {
        let config = Config::from_file(path)?;
        let names: Vec<String> = providers.iter().map(|p| (*p).to_owned()).collect();
        let checks = plan::checks(&config, &names)?;
        // An empty environment: the demo's routes come from its configs alone.
        let env = EnvSnapshot::from_pairs(Vec::<(String, String)>::new());
        let client = plan::client(&config, env, World::resolver())?;
        Ok(Runner::new(client)
            .timeout(Duration::from_secs(5))
            .run(&checks)
            .await)
    }

    /// The route `provider` takes for its URL under the config at `path`, explained.
    pub(crate) fn explain(&self, path: &Path, provider: &str) -> Result<String, Error> {
        let config = Config::from_file(path)?;
        let env = EnvSnapshot::from_pairs(Vec::<(String, String)>::new());
        let client = plan::client(&config, env, World::resolver())?;
        let url = config
            .provider(provider)
            .map(|p| p.url().value.to_string())
            .unwrap_or_default();
        Ok(client.route(Some(provider), &url)?.explain())
    }

    /// Every lint finding for the file at `path`.
    pub(crate) fn lint(&self, path: &Path) -> Result<Vec<Diagnostic>, Error> {
        let env = EnvSnapshot::from_pairs(Vec::<(String, String)>::new());
        Ok(ConfigDocument::from_file(path)?.lint(&env))
    }
}

fn pinned(b: proxyscope::testing::TestProxyBuilder) -> proxyscope::testing::TestProxyBuilder {
    let lo = IpAddr::V4(Ipv4Addr::LOCALHOST);
    b.resolve(YANDEX, lo)
        .resolve(APERTIUM, lo)
        .resolve(MINT, lo)
        .resolve(CXSERVER, lo)
}

/// A TOML basic string.
pub(crate) fn toml_str(s: &str) -> String {
    let mut out = String::from("\"");
    for c in s.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '"' => out.push_str("\\\""),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// One scenario's printed story, buffered so scenarios never interleave.
pub(crate) struct Out {
    quiet: bool,
    text: String,
}

impl Out {
    fn new(quiet: bool) -> Self {
        Self {
            quiet,
            text: String::new(),
        }
    }

    fn title(&mut self, n: usize, total: usize, title: &str, story: &str) {
        self.text.push_str(&format!("\n== {n}/{total}  {title}\n"));
        if !self.quiet {
            self.block("2015", story);
        }
    }

    /// `label: text` on one line.
    pub(crate) fn line(&mut self, label: &str, text: &str) {
        if self.quiet && label != "verdict" {
            return;
        }
        self.text.push_str(&format!("{label:>9}: {text}\n"));
    }

    /// `label:` then `body` indented.
    pub(crate) fn block(&mut self, label: &str, body: &str) {
        if self.quiet {
            return;
        }
        self.text.push_str(&format!("{label:>9}:\n"));
        for l in body.trim_end().lines() {
            self.text.push_str(&format!("           {l}\n"));
        }
    }

    /// The diagnosis of a failed check: code, hop, phase, the proxy's reply, the hint.
    pub(crate) fn diagnosis(&mut self, c: &CheckResult) {
        let Some(e) = &c.error else {
            self.line("diagnosis", &format!("{} passed", c.id()));
            return;
        };
        let hop = e.hop.map_or("-", |h| h.as_str());
        let mut body = format!(
            "{} [{}] hop {hop}, phase {}: {}",
            c.id(),
            e.code(),
            e.phase,
            e.message
        );
        if let Some(r) = &e.evidence.proxy_reply {
            body.push_str(&format!("\nproxy replied {} {}", r.status, r.reason));
            for (n, v) in &r.headers {
                body.push_str(&format!("\n  {n}: {v}"));
            }
        }
        if let Some(a) = &e.evidence.attribution {
            body.push_str(&format!(
                "\nwritten by the {}: {}",
                a.source,
                a.reasons.join("; ")
            ));
        }
        if let Some(h) = &e.hint {
            body.push_str(&format!("\nhint: {h}"));
        }
        self.block("diagnosis", &body);
    }

    /// The re-run's Nagios line.
    pub(crate) fn rerun(&mut self, report: &Report) {
        self.line("re-run", &nagios::status_line(report));
    }

    fn flush(&mut self) {
        print!("{}", self.text);
        self.text.clear();
    }
}
