//! `probe`: checks every provider's real egress path and explains routes, configs and failures.
//!
//! Each subcommand lives in its own file beside this one. `main` calls `run`, prints the error
//! and exits with the subcommand's code (Nagios-style for `check` and `lint`).

use std::process::ExitCode;

use clap::{Parser, Subcommand};

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
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let code = match cli.command {
        Some(Command::Route(args)) => route::run(args),
        None => {
            eprintln!("probe demo is not built yet");
            3
        }
    };
    ExitCode::from(code)
}
