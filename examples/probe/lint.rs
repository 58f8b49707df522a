//! `probe lint [--config F] [--format text|json] [--no-dns]`: every finding of the config file
//! and the environment, with key path, location and fix. Exit 0 clean, 1 warnings only,
//! 2 errors, 3 when the file cannot be read at all.
//!
//! `--no-dns` lints PAC files for a host where names do not resolve (no name server reachable,
//! as on many hosts that reach the outside only through a proxy): `isInNet(host, …)` is then
//! false for every name (`pac.isinnet_no_resolver`).

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
    /// Lint PAC files as run where names do not resolve: report `isInNet(host, …)`, which is
    /// then false for every name.
    #[arg(long)]
    no_dns: bool,
}

/// Runs `probe lint`; returns the exit code.
pub(crate) fn run(args: Args) -> u8 {
    let env = EnvSnapshot::from_process();
    let mut diagnostics = match &args.config {
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
    if args.no_dns {
        diagnostics.extend(without_dns(args.config.as_deref(), &env));
    }
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

/// The findings PAC files get only where names do not resolve: the `pac` settings of the
/// configuration (when it loads) and `PROXYSCOPE_PAC`. Files that cannot be read are already
/// reported by the lint itself.
#[cfg(feature = "pac")]
fn without_dns(config: Option<&std::path::Path>, env: &EnvSnapshot) -> Vec<Diagnostic> {
    use proxyscope::pac::{LintOptions, PacScript, lint};
    let mut files: Vec<(String, PathBuf)> = Vec::new();
    if let Some(config) = config.and_then(|p| proxyscope::Config::from_file(p).ok()) {
        let prefix = config
            .section()
            .map(|s| format!("{s}."))
            .unwrap_or_default();
        if let Some(pac) = &config.global_layer().pac {
            files.push((format!("{prefix}pac"), pac.value.clone()));
        }
        for p in config.providers() {
            if let Some(pac) = &p.layer().pac {
                files.push((
                    format!("{prefix}providers.{}.pac", p.name()),
                    pac.value.clone(),
                ));
            }
        }
    }
    if let Some(path) = env
        .var(proxyscope::route::PAC_ENV)
        .map(str::trim)
        .filter(|p| !p.is_empty())
    {
        files.push((proxyscope::route::PAC_ENV.to_owned(), PathBuf::from(path)));
    }
    let mut out = Vec::new();
    for (key, file) in files {
        let Ok(script) = PacScript::from_file(&file) else {
            continue;
        };
        let options = LintOptions {
            path: key,
            resolver_configured: false,
        };
        out.extend(
            lint(&script, &options)
                .into_iter()
                .filter(|d| d.code == "pac.isinnet_no_resolver"),
        );
    }
    out
}

/// Without the `pac` feature PAC files are refused by the lint itself.
#[cfg(not(feature = "pac"))]
fn without_dns(_config: Option<&std::path::Path>, _env: &EnvSnapshot) -> Vec<Diagnostic> {
    Vec::new()
}
