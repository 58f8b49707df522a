//! `probe route URL`: STUB.

/// Arguments of `probe route`.
#[derive(clap::Args)]
pub(crate) struct Args {
    /// The URL to route.
    url: String,
}

/// Runs `probe route`; returns the exit code.
pub(crate) fn run(args: Args) -> u8 {
    println!("{}", args.url);
    0
}
