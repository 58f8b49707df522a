//! `probe config [--config F] [--show-origin] [--format text|json]`: the effective configuration
//! per provider, each value with where it came from (like `git config --show-origin`). Inherited
//! values show the global's origin; where the layers leave the proxy to the environment, the
//! variable that supplies it (`proxy.http`, `proxy.https`); credentials are never printed.

use std::path::{Path, PathBuf};

use proxyscope::config::{Check, CheckTarget, Config, Setting};
use proxyscope::probe::escape;
use proxyscope::proxy::redact_parsed_url;
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
    let providers: Vec<_> = config
        .providers()
        .iter()
        .filter(|p| args.provider.as_deref().is_none_or(|n| n == p.name()))
        .collect();
    if let Some(name) = &args.provider
        && providers.is_empty()
    {
        eprintln!("no provider `{name}` in {}", path.display());
        return 3;
    }
    let env = EnvSnapshot::from_process();
    let global = config.settings_with_env(None, &env).unwrap_or_default();
    match args.format {
        Format::Json => {
            let providers: Vec<_> = providers
                .iter()
                .map(|p| {
                    serde_json::json!({
                        "name": p.name(),
                        "url": { "value": redact_parsed_url(&p.url().value), "origin": p.url().origin },
                        "required": p.required(),
                        "settings": config.settings_with_env(Some(p.name()), &env).unwrap_or_default(),
                        "checks": p.checks(),
                    })
                })
                .collect();
            let doc = serde_json::json!({
                "source": path.display().to_string(),
                "global": global,
                "providers": providers,
                "ca_files": config
                    .ca_files()
                    .iter()
                    .map(|b| serde_json::json!({
                        "path": b.path().display().to_string(),
                        "certificates": b.summaries(),
                    }))
                    .collect::<Vec<_>>(),
            });
            println!("{doc}");
        }
        Format::Text => {
            if args.provider.is_none() {
                print_settings("", &global, args.show_origin);
            }
            for p in providers {
                let prefix = format!("providers.{}.", p.name());
                let mut rows = vec![
                    Setting {
                        key: "url".into(),
                        value: redact_parsed_url(&p.url().value),
                        origin: p.url().origin.clone(),
                    },
                    Setting {
                        key: "required".into(),
                        value: p.is_required().to_string(),
                        origin: p.required().origin.clone(),
                    },
                ];
                rows.extend(
                    config
                        .settings_with_env(Some(p.name()), &env)
                        .unwrap_or_default(),
                );
                print_settings(&prefix, &rows, args.show_origin);
                for c in p.checks() {
                    let row = Setting {
                        key: format!("checks.{}", c.name),
                        value: describe(c),
                        origin: c.origin.clone(),
                    };
                    print_settings(&prefix, &[row], args.show_origin);
                }
            }
        }
    }
    0
}

fn print_settings(prefix: &str, rows: &[Setting], show_origin: bool) {
    // One line per setting, whatever the names and values hold.
    for s in rows {
        let setting = format!("{prefix}{}={}", s.key, s.value);
        let setting = escape::nagios(&setting);
        if show_origin {
            let origin = s.origin.to_string();
            println!("{}\t{setting}", escape::nagios(&origin));
        } else {
            println!("{setting}");
        }
    }
}

fn describe(c: &Check) -> String {
    let target = match &c.target {
        CheckTarget::Path(p) => proxyscope::proxy::redact::redact_path(p),
        CheckTarget::Url(u) => redact_parsed_url(u),
    };
    let mut s = format!("{} {target} expect {}", c.method, c.expect_status);
    if let Some(b) = &c.body_contains {
        s.push_str(&format!(" body~{b:?}"));
    }
    if let Some(h) = &c.expect_header {
        s.push_str(&format!(" header {}", h.name));
        if let Some(v) = &h.contains {
            s.push_str(&format!("~{v:?}"));
        }
    }
    s
}
