//! `probe route URL`: STUB.

use std::path::PathBuf;

/// Arguments of `probe route`.
#[derive(clap::Args)]
pub(crate) struct Args {
    /// The URL to route.
    url: String,
    /// The config file (TOML); without one, only the environment counts.
    #[arg(long, env = "PROXYSCOPE_CONFIG")]
    config: Option<PathBuf>,
    /// Route as this provider (its layer over the global one).
    #[arg(long)]
    provider: Option<String>,
}

/// Runs `probe route`; returns the exit code.
pub(crate) fn run(args: Args) -> u8 {
    let config = match crate::config::load(args.config.as_deref()) {
        Ok(c) => c,
        Err(code) => return code,
    };
    let layer = match crate::config::layer_for(config.as_ref(), args.provider.as_deref()) {
        Ok(l) => l,
        Err(code) => return code,
    };
    println!("{}", args.url);
    if let Some(proxy) = layer.as_ref().and_then(|l| l.proxy.as_ref()) {
        println!("proxy = {} ({})", proxy.value, proxy.origin);
    }
    0
}
