//! `probe`: checks every provider's real egress path and explains routes, configs and failures.
//!
//! Each subcommand lives in its own file beside this one. `main` calls `run`, prints the error
//! and exits with the subcommand's code (Nagios-style for `check` and `lint`).

use std::process::ExitCode;

use clap::{Parser, Subcommand};

mod config;
mod lint;
mod route;

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
    /// The route a URL takes, and why (no network).
    Route(route::Args),
    /// Lint the config file and the environment (exit 0 clean, 1 warnings, 2 errors, 3 unreadable).
    Lint(lint::Args),
    /// The effective config per provider, optionally with each value's origin.
    Config(config::Args),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let code = match cli.command {
        Some(Command::Route(args)) => route::run(args),
        Some(Command::Lint(args)) => lint::run(args),
        Some(Command::Config(args)) => config::run(args),
        None => {
            eprintln!("probe demo is not built yet");
            3
        }
    };
    ExitCode::from(code)
}
