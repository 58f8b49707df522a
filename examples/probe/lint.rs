//! `probe lint [--config F] [--format text|json]`: every finding of the config file and the
//! environment, with key path, location and fix. Exit 0 clean, 1 warnings only, 2 errors,
//! 3 when the file cannot be read at all.

use std::path::PathBuf;

use proxyscope::EnvSnapshot;
use proxyscope::config::{ConfigDocument, Diagnostic, Severity, worst};
use proxyscope::probe::escape;

use crate::config::Format;

/// Arguments of `probe lint`.
#[derive(clap::Args)]
pub(crate) struct Args {
    /// The config file (TOML). Without one, only the environment is linted.
    #[arg(long, env = "PROXYSCOPE_CONFIG")]
    config: Option<PathBuf>,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Text)]
    format: Format,
}

/// Runs `probe lint`; returns the exit code.
pub(crate) fn run(args: Args) -> u8 {
    let env = EnvSnapshot::from_process();
    let diagnostics = match &args.config {
        Some(path) => match ConfigDocument::from_file(path) {
            Ok(doc) => doc.lint(&env),
            Err(e) => {
                match args.format {
                    Format::Json => println!(
                        "{}",
                        serde_json::json!({ "diagnostics": e.evidence().diagnostics, "error": e })
                    ),
                    Format::Text => eprintln!("{}", e.report()),
                }
                return 3;
            }
        },
        None => ConfigDocument::from_toml_str("", "(no config)").lint(&env),
    };
    match args.format {
        Format::Json => println!("{}", serde_json::json!({ "diagnostics": diagnostics })),
        Format::Text => print_text(&diagnostics),
    }
    match worst(&diagnostics) {
        Some(Severity::Error) => 2,
        Some(Severity::Warning) => 1,
        Some(Severity::Info) | None => 0,
    }
}

fn print_text(diagnostics: &[Diagnostic]) {
    // Lint's exit codes suit plugin runners: each line is escaped as Nagios long text.
    for d in diagnostics {
        println!("{}", escape::nagios(&d.to_string()));
    }
    let count = |s| diagnostics.iter().filter(|d| d.severity == s).count();
    println!(
        "{} error(s), {} warning(s), {} info",
        count(Severity::Error),
        count(Severity::Warning),
        count(Severity::Info)
    );
}
