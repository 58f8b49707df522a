//! `probe`: checks every provider's real egress path and explains routes, configs and failures.
//!
//! Each subcommand lives in its own file beside this one. `main` calls `run`, prints the error
//! and exits with the subcommand's code (Nagios-style for `check` and `lint`).

use std::process::ExitCode;

use clap::{Parser, Subcommand};

// The accept loop the translation service shares.
#[path = "../serving/listener.rs"]
mod accept;
mod check;
mod config;
mod demo;
mod demo_scenarios;
mod lint;
mod route;
mod serve;

/// Command line of the probe.
#[derive(Parser)]
#[command(
    name = "probe",
    version,
    about = "Explain and check outbound HTTP(S) routes through proxies"
)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand)]
enum Command {
    /// The route a URL takes, and why, with the candidates of proxy lists and PAC answers (no connection; names a PAC script asks about are resolved).
    Route(route::Args),
    /// Lint the config file and the environment, at most 100 findings per file (exit 0 clean, 1 warnings, 2 errors, 3 unreadable).
    Lint(lint::Args),
    /// The effective config per provider, optionally with each value's origin.
    Config(config::Args),
    /// Run every provider's checks concurrently (exit 0 OK, 1 warning, 2 critical, 3 unknown).
    Check(check::Args),
    /// Replay the 2015 outage on a local harness: broken config, diagnosis, fix, passing re-run
    /// (the default when no subcommand is given; exit 0 only when every scenario behaves).
    Demo(demo::Args),
    /// A Prometheus exporter: GET /probe?target=PROVIDER runs its checks now (blackbox_exporter's
    /// multi-target style); GET /metrics, GET /, POST /-/reload (and SIGHUP).
    Serve(serve::Args),
}

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            let _ = e.print();
            // --help and --version are not errors; a bad command line is UNKNOWN (3), the
            // Nagios code for "the plugin could not run", never CRITICAL.
            return ExitCode::from(if e.use_stderr() { 3 } else { 0 });
        }
    };
    let code = match cli.command {
        Some(Command::Route(args)) => route::run(args),
        Some(Command::Lint(args)) => lint::run(args),
        Some(Command::Config(args)) => config::run(args),
        Some(Command::Check(args)) => check::run(args),
        Some(Command::Demo(args)) => demo::run(args),
        Some(Command::Serve(args)) => serve::run(args),
        None => demo::run(demo::Args::default()),
    };
    ExitCode::from(code)
}
