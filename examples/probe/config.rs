//! `probe config [--config F] [--show-origin] [--format text|json]`: the effective configuration
//! per provider, each value with where it came from (like `git config --show-origin`). Inherited
//! values show the global's origin; where the layers leave the proxy to the environment, the
//! variable that supplies it (`proxy.http`, `proxy.https`); credentials are never printed.

use std::path::{Path, PathBuf};

use proxyscope::config::Config;
use proxyscope::probe::escape;
use proxyscope::{EnvSnapshot, Settings};

/// Output format of `lint` and `config`.
#[derive(Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub(crate) enum Format {
    /// For people.
    Text,
    /// For scripts.
    Json,
}

/// Arguments of `probe config`.
#[derive(clap::Args)]
pub(crate) struct Args {
    /// The config file (TOML).
    #[arg(long, env = "PROXYSCOPE_CONFIG")]
    config: Option<PathBuf>,
    /// Prefix each value with its origin (file:line:col and key, env, default).
    #[arg(long)]
    show_origin: bool,
    /// Only this provider.
    #[arg(long)]
    provider: Option<String>,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Text)]
    format: Format,
}

/// Loads the config named by `--config`; prints the error and returns exit code 3 on failure.
pub(crate) fn load(path: Option<&Path>) -> Result<Option<Config>, u8> {
    let Some(path) = path else { return Ok(None) };
    Config::from_file(path).map(Some).map_err(|e| {
        eprintln!("{}", e.report());
        3
    })
}

/// What `provider` sets itself (the route resolver layers it over the global one); prints the
/// known providers and returns exit code 3 when there is no such provider.
pub(crate) fn provider_layer(config: &Config, name: &str) -> Result<Settings, u8> {
    match config.provider(name) {
        Some(p) => Ok(p.layer().clone()),
        None => {
            let names: Vec<&str> = config.providers().iter().map(|p| p.name()).collect();
            eprintln!(
                "no provider `{name}` in the config (providers: {})",
                names.join(", ")
            );
            Err(3)
        }
    }
}

/// Runs `probe config`; returns the exit code.
pub(crate) fn run(args: Args) -> u8 {
    let Some(path) = args.config.as_deref() else {
        eprintln!("no config: pass --config FILE or set PROXYSCOPE_CONFIG");
        return 3;
    };
    let config = match load(Some(path)) {
        Ok(Some(c)) => c,
        Ok(None) => return 3,
        Err(code) => return code,
    };
    let mut view = config.effective(Some(&EnvSnapshot::from_process()));
    if let Some(name) = &args.provider
        && !view.retain_provider(name)
    {
        eprintln!("no provider `{name}` in {}", path.display());
        return 3;
    }
    match args.format {
        Format::Json => match serde_json::to_string(&view) {
            Ok(json) => println!("{json}"),
            Err(e) => {
                eprintln!("error: cannot render the configuration as JSON: {e}");
                return 1;
            }
        },
        Format::Text => {
            if args.provider.is_some() {
                // One provider: its own lines, not the global layer's.
                view.global.clear();
            }
            for s in view.rows() {
                if args.show_origin {
                    // One line per setting, whatever the names and values hold.
                    let origin = s.origin.to_string();
                    let setting = format!("{}={}", s.key, s.value);
                    println!("{}\t{}", escape::nagios(&origin), escape::nagios(&setting));
                } else {
                    println!("{}", escape::nagios(&format!("{}={}", s.key, s.value)));
                }
            }
        }
    }
    0
}
