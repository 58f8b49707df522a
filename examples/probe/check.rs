//! `probe check [--config F] [--provider P]… [--format text|json|prometheus] [--timeout D]`: runs
//! every selected provider's checks concurrently through the real client and reports them as a
//! table with a Nagios status line, as JSON, or as Prometheus exposition. Exit codes follow
//! Nagios: 0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN (the probe could not run: bad config, bad
//! arguments).

use std::io::IsTerminal as _;
use std::path::PathBuf;
use std::time::Duration;

use proxyscope::config::Config;
use proxyscope::connect::Resolver;
use proxyscope::probe::{Report, Runner, nagios, plan, prometheus, text};
use proxyscope::{EnvSnapshot, Error, ErrorKind};

/// Output format of `check`.
#[derive(Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub(crate) enum Format {
    /// A table for people, after a Nagios status line with perfdata.
    Text,
    /// The JSON document of `proxyscope::probe::Report`.
    Json,
    /// Prometheus text exposition (blackbox_exporter names).
    Prometheus,
}

/// Arguments of `probe check`.
#[derive(clap::Args)]
pub(crate) struct Args {
    /// The config file (TOML).
    #[arg(long, env = "PROXYSCOPE_CONFIG")]
    config: Option<PathBuf>,
    /// Only these providers (repeatable); default: all.
    #[arg(long = "provider", value_name = "P")]
    providers: Vec<String>,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Text)]
    format: Format,
    /// One deadline for every check (`500ms`, `5s`, `1m`), overriding the checks' own.
    #[arg(long, value_parser = parse_duration)]
    timeout: Option<Duration>,
}

/// Runs `probe check`; returns the exit code.
pub(crate) fn run(args: Args) -> u8 {
    let report = match plan_and_run(&args) {
        Ok(report) => report,
        Err(e) => Report::not_run(&e),
    };
    print(&report, args.format);
    nagios::exit_code(&report)
}

fn plan_and_run(args: &Args) -> Result<Report, Error> {
    let Some(path) = &args.config else {
        return Err(Error::new(ErrorKind::ConfigInvalid)
            .with_message("no configuration given")
            .with_hint("pass --config FILE or set PROXYSCOPE_CONFIG"));
    };
    let config = Config::from_file(path)?;
    let checks = plan::checks(&config, &args.providers)?;
    // Only the profiles of the providers checked: `--provider p0` out of thousands builds one.
    let client = plan::client_for(
        &config,
        &args.providers,
        EnvSnapshot::from_process(),
        Resolver::system(),
    )?;
    let mut runner = Runner::new(client).on_progress(|p| {
        eprintln!(
            "probe: {}/{} checks done after {:.1} s; waiting for {}",
            p.done,
            p.total,
            p.elapsed.as_secs_f64(),
            proxyscope::probe::escape::nagios(&p.pending.join(", "))
        );
    });
    if let Some(t) = args.timeout {
        runner = runner.timeout(t);
    }
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| {
            Error::new(ErrorKind::ConfigInvalid)
                .with_message("cannot start the async runtime")
                .with_hint("the process may be out of threads or file descriptors")
                .with_source(e)
        })?;
    Ok(rt.block_on(runner.run(&checks)))
}

fn print(report: &Report, format: Format) {
    match format {
        Format::Json => println!("{}", report.to_json()),
        Format::Prometheus => print!("{}", prometheus::render(report)),
        Format::Text => {
            let no_color = std::env::var_os("NO_COLOR");
            let color = text::use_color(std::io::stdout().is_terminal(), no_color.as_deref());
            print!("{}", text::render(report, color));
        }
    }
}

/// Parses `500ms`, `5s`, `2m` or a bare number of seconds.
pub(crate) fn parse_duration(s: &str) -> Result<Duration, String> {
    let s = s.trim();
    let (num, unit) = match s.find(|c: char| !c.is_ascii_digit() && c != '.') {
        Some(i) => s.split_at(i),
        None => (s, "s"),
    };
    let n: f64 = num
        .parse()
        .map_err(|_| format!("`{s}` is not a duration; write e.g. 500ms, 5s or 1m"))?;
    let secs = match unit {
        "ms" => n / 1000.0,
        "s" => n,
        "m" => n * 60.0,
        _ => return Err(format!("unknown unit in `{s}`; use ms, s or m")),
    };
    if !(secs > 0.0 && secs.is_finite() && secs < 86_400.0) {
        return Err(format!("`{s}` must be more than zero and less than a day"));
    }
    Ok(Duration::from_secs_f64(secs))
}
