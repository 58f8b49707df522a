//! An example machine-translation service that embeds proxyscope, modelled on Wikimedia's
//! cxserver: providers with their own routes (direct, own proxy with its own CA, the global
//! proxy), a static `/_info`, and the deep `/_health/providers` check that would have caught
//! the 2015 outage.
//!
//! ```text
//! cargo run --example translation_service                      # mock providers, curl at once
//! cargo run --example translation_service -- --deny yandex     # ... with yandex refused
//! cargo run --example translation_service -- --config svc.toml # a real settings file
//! cargo run --example translation_service -- --listen 127.0.0.1:8080
//! ```
//!
//! (Arguments for the service go after `--`; before it, they are cargo's.)
//!
//! Exit codes: 0 after SIGTERM or SIGINT (Ctrl-C), once every connection is closed and the
//! demo's temporary files (its settings file with the mock proxy's password, the test PKI's
//! private keys) are removed; 1 when it cannot start (port taken, harness failure); 2 when the
//! settings are invalid (every finding is printed first).

mod app;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::Parser;
use proxyscope::EnvSnapshot;
use proxyscope::config::Severity;
use tracing_subscriber::filter::{LevelFilter, Targets};
use tracing_subscriber::layer::SubscriberExt as _;
use tracing_subscriber::util::SubscriberInitExt as _;

use app::demo::Demo;
use app::settings::Invalid;

/// Command line.
#[derive(Debug, Parser)]
#[command(
    about = "Example translation service embedding proxyscope",
    after_help = "Stops on SIGTERM or SIGINT (Ctrl-C), closing every connection and removing the \
                  demo's temporary files. Limits and settings: docs/translation-service.md."
)]
struct Args {
    /// The settings file ([server], [translate.NAME], [proxyscope]); without it, the service
    /// runs against mock providers started from proxyscope's test harness.
    #[arg(long, env = "TRANSLATION_SERVICE_CONFIG")]
    config: Option<PathBuf>,
    /// Listen here instead of the file's `server.listen`.
    #[arg(long)]
    listen: Option<SocketAddr>,
    /// Demo only: make this mock provider's proxy refuse it from the start (`yandex`:
    /// CONNECT 403, a required provider; `google`: absolute-form 403, an optional one), to see
    /// the errors and the 503 without editing anything.
    #[arg(long, value_name = "PROVIDER", conflicts_with = "config")]
    deny: Vec<String>,
}

/// `RUST_LOG` as a level (`debug`) or `target=level` directives (`info,proxyscope=trace`); unset,
/// empty or unparsable means `info`. `Targets` rather than `EnvFilter`: it needs no regex engine,
/// so building the examples compiles less.
fn log_filter() -> Targets {
    std::env::var("RUST_LOG")
        .ok()
        .filter(|v| !v.trim().is_empty())
        .and_then(|v| v.parse::<Targets>().ok())
        .unwrap_or_else(|| Targets::new().with_default(LevelFilter::INFO))
}

fn main() -> ExitCode {
    let args = Args::parse();
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        // Colour only on a terminal, never in log files, and never when NO_COLOR is set.
        .with_ansi(
            std::io::IsTerminal::is_terminal(&std::io::stderr())
                && std::env::var_os("NO_COLOR").is_none(),
        )
        .finish()
        .with(log_filter())
        .init();
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return ExitCode::from(1);
        }
    };
    runtime.block_on(run(args))
}

async fn run(args: Args) -> ExitCode {
    // First: a signal that arrives while the demo starts is then waited for below, and the
    // cleanup still runs, instead of the default action killing the process mid-way.
    let mut signals = Signals::install();
    let env = EnvSnapshot::from_process();
    // The demo's providers must outlive the server: keep it until the end.
    let demo = match &args.config {
        Some(_) => None,
        None => match Demo::start("5s").await {
            Ok(d) => {
                for name in &args.deny {
                    if !d.deny(name, true) {
                        eprintln!("error: --deny {name}: the demo can deny yandex or google");
                        return ExitCode::from(Invalid::EXIT_CODE);
                    }
                }
                Some(d)
            }
            Err(e) => {
                eprintln!("error: cannot start the mock providers: {e}");
                return ExitCode::from(1);
            }
        },
    };
    let path = match (&args.config, &demo) {
        (Some(p), _) => p.clone(),
        (None, Some(d)) => d.config_path().to_path_buf(),
        (None, None) => return ExitCode::from(1),
    };

    let settings = match app::settings::load(&path, &env) {
        Ok(s) => s,
        Err(invalid) => {
            eprintln!("{}", invalid.report());
            return ExitCode::from(Invalid::EXIT_CODE);
        }
    };
    // Infos (how other tools would read a value) are in /_config; warnings need eyes now.
    for w in settings
        .warnings
        .iter()
        .filter(|d| d.severity != Severity::Info)
    {
        eprintln!("{w}");
    }
    let handle = match app::start(settings, env, args.listen).await {
        Ok(h) => h,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(1);
        }
    };

    let url = handle.url();
    println!("translation_service listening on {url}");
    println!("settings: {}", path.display());
    if demo.is_some() {
        println!(
            "mock providers: apertium (direct), yandex (own proxy + private CA), google (global proxy)"
        );
    }
    println!();
    println!("  curl -s {url}/_info");
    println!(
        "  curl -s -X POST {url}/v1/translate/apertium -H 'content-type: application/json' -d '{{\"q\":\"hello\",\"langpair\":\"en|es\"}}'"
    );
    println!("  curl -s -X POST {url}/v1/translate/yandex -d 'lang=en-ru&text=hello'");
    println!("  curl -s {url}/_health/providers");
    println!("  curl -s {url}/_config");
    println!("  curl -s -X POST {url}/v1/translate/nope    # a JSON error");
    if demo.is_some() && args.deny.is_empty() {
        println!();
        println!(
            "To see a provider fail: restart with --deny yandex (required: 503) or --deny google."
        );
    }
    println!();
    println!("Ctrl-C (or SIGTERM) stops it.");

    let signal = signals.recv().await;
    tracing::info!(signal, "shutting down");
    handle.shutdown().await;
    // Removes the demo's temporary directory (settings file, PKI keys) before exiting: the
    // process exits without unwinding, so nothing else would.
    drop(demo);
    ExitCode::SUCCESS
}

/// SIGTERM and SIGINT (Ctrl-C), listened for from the start of the process.
struct Signals {
    #[cfg(unix)]
    term: Option<tokio::signal::unix::Signal>,
    #[cfg(unix)]
    int: Option<tokio::signal::unix::Signal>,
}

impl Signals {
    /// Installs the handlers; one that cannot be installed is reported, and the other still
    /// works.
    fn install() -> Self {
        #[cfg(unix)]
        {
            use tokio::signal::unix::{SignalKind, signal};
            let listen = |kind: SignalKind, name: &str| match signal(kind) {
                Ok(s) => Some(s),
                Err(e) => {
                    eprintln!("error: cannot listen for {name}: {e}");
                    None
                }
            };
            Self {
                term: listen(SignalKind::terminate(), "SIGTERM"),
                int: listen(SignalKind::interrupt(), "SIGINT"),
            }
        }
        #[cfg(not(unix))]
        {
            Self {}
        }
    }

    /// Waits for the first signal and names it. With no handler at all, returns at once
    /// rather than run unstoppable.
    async fn recv(&mut self) -> &'static str {
        #[cfg(unix)]
        {
            if self.term.is_none() && self.int.is_none() {
                return "no signal handler";
            }
            let term = async {
                match &mut self.term {
                    Some(s) => s.recv().await,
                    None => std::future::pending().await,
                }
            };
            let int = async {
                match &mut self.int {
                    Some(s) => s.recv().await,
                    None => std::future::pending().await,
                }
            };
            tokio::select! {
                _ = term => "SIGTERM",
                _ = int => "SIGINT",
            }
        }
        #[cfg(not(unix))]
        {
            if let Err(e) = tokio::signal::ctrl_c().await {
                eprintln!("error: cannot wait for Ctrl-C: {e}");
            }
            "Ctrl-C"
        }
    }
}
