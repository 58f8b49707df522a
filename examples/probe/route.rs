//! `probe route URL [--provider P] [--format text|json]`: the route a URL takes and why. No
//! connection: the decision is [`proxyscope::route::resolve`] over the configured layers and a
//! snapshot of the environment. Without `--provider`, the provider is chosen by URL exactly as
//! the client chooses it ([`proxyscope::route::provider_for_url`]): the provider whose `url`
//! contains the URL, else the global layer.
//!
//! A `pac` setting in force is run (feature `pac`), and the names the script looks up
//! (`dnsResolve`, `isInNet` on a name, …) are resolved with the system resolver, as a request
//! would resolve them with the client's: each round's names at once, every round within one
//! deadline; the explanation lists each name with its addresses.

use proxyscope::route::{self, Route, RouteError};
use proxyscope::{EnvSnapshot, Settings};

/// How long the names a PAC script asks about may take to resolve, all rounds together.
#[cfg(feature = "pac")]
const LOOKUP_DEADLINE: std::time::Duration = std::time::Duration::from_secs(5);
/// Rounds of "the script asked for more names" before its answer is taken as it is (the
/// client's connector allows as many).
#[cfg(feature = "pac")]
const MAX_DNS_ROUNDS: usize = 4;

/// Output formats of `probe route`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub(crate) enum Format {
    /// The explanation for people.
    Text,
    /// The route as JSON (the library's `Route` serialisation).
    Json,
}

/// Arguments of `probe route`.
#[derive(clap::Args)]
pub(crate) struct Args {
    /// The URL to route, e.g. https://translate.example/api.
    url: String,
    /// The provider whose settings apply (default: the provider whose `url` contains the URL,
    /// as the client chooses).
    #[arg(long)]
    provider: Option<String>,
    /// The config file (TOML); without one, only the environment counts.
    #[arg(long, env = "PROXYSCOPE_CONFIG")]
    config: Option<std::path::PathBuf>,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Text)]
    format: Format,
}

/// The global layer, and the provider (name and own layer) from `--config` (or
/// `$PROXYSCOPE_CONFIG`): the one named by `--provider`, else the one whose `url` contains
/// `url`. Without a configuration both are empty, so only the environment counts. Exit code 3
/// when the config cannot be loaded or has no such provider.
fn layers(args: &Args, url: &url::Url) -> Result<(Settings, Option<(String, Settings)>), u8> {
    let Some(config) = crate::config::load(args.config.as_deref())? else {
        let named = args.provider.clone().map(|n| (n, Settings::new()));
        return Ok((Settings::new(), named));
    };
    let name = match args.provider.clone() {
        Some(name) => Some(name),
        None => route::provider_for_url(
            config
                .providers()
                .iter()
                .map(|p| (p.name(), &p.url().value)),
            url,
        )
        .map(str::to_owned),
    };
    let provider = match name {
        Some(name) => {
            let layer = crate::config::provider_layer(&config, &name)?;
            Some((name, layer))
        }
        None => None,
    };
    Ok((config.global_layer().clone(), provider))
}

/// Runs `probe route`; returns the exit code: 0 when the route was decided, 2 when the URL or a
/// proxy setting is invalid.
pub(crate) fn run(args: Args) -> u8 {
    let url = match url::Url::parse(&args.url) {
        Ok(u) => u,
        Err(e) => {
            eprintln!(
                "probe route: `{}` is not an absolute URL: {e}",
                proxyscope::proxy::redact_url(&args.url)
            );
            return 2;
        }
    };
    if proxyscope::proxy::redact::parse_drops_at(&url, &args.url) {
        eprintln!(
            "probe route: `{}` has an `@` after its host that its `..` segments remove: percent-encode a `/` in a user name or password as %2F",
            proxyscope::proxy::redact_url(&args.url)
        );
        return 2;
    }
    let env = EnvSnapshot::from_process();
    let (global, provider) = match layers(&args, &url) {
        Ok(l) => l,
        Err(code) => return code,
    };
    let provider = provider
        .as_ref()
        .map(|(name, layer)| (name.as_str(), layer));
    match decide(&global, provider, &env, &url).map_err(proxyscope::Error::from) {
        Ok(r) => {
            print_route(&r, args.format);
            0
        }
        Err(e) => {
            match args.format {
                Format::Text => eprintln!("{}", e.report()),
                Format::Json => match serde_json::to_string_pretty(&serde_json::json!({
                    "error": e,
                })) {
                    Ok(s) => println!("{s}"),
                    Err(_) => eprintln!("{}", e.report()),
                },
            }
            2
        }
    }
}

/// The route, with a PAC script's name lookups resolved.
fn decide(
    global: &Settings,
    provider: Option<(&str, &Settings)>,
    env: &EnvSnapshot,
    url: &url::Url,
) -> Result<Route, RouteError> {
    #[cfg(feature = "pac")]
    {
        let route = route::resolve_with_auto_config(
            global,
            provider,
            env,
            url,
            proxyscope::pac::auto_config,
        )?;
        if route.candidates().is_none_or(|c| c.pending.is_empty()) {
            return Ok(route);
        }
        // The script asked about names: decide through a router that keeps what it learns.
        let router = route::Router::with_auto_config(
            global.clone(),
            provider.map(|(n, l)| (n, l.clone())),
            env.clone(),
            proxyscope::pac::auto_config,
        );
        let mut route = router.route_url(url)?;
        // One deadline for every round: a script asking about a hundred names that do not
        // answer costs one deadline, not a hundred.
        let until = std::time::Instant::now() + LOOKUP_DEADLINE;
        for round in 0..=MAX_DNS_ROUNDS {
            let pending = match route.candidates() {
                Some(c) if !c.pending.is_empty() => c.pending.clone(),
                _ => break,
            };
            // After the last round, or once the time is up, the names still asked for count as
            // not resolving.
            let answers = if round == MAX_DNS_ROUNDS || std::time::Instant::now() >= until {
                vec![Vec::new(); pending.len()]
            } else {
                lookup_all(&pending, until)
            };
            for (name, addrs) in pending.iter().zip(answers) {
                router.learn_name(name, addrs);
            }
            route = router.route_url(url)?;
        }
        Ok(route)
    }
    #[cfg(not(feature = "pac"))]
    route::resolve(global, provider, env, url)
}

/// The addresses of each of `names` from the system resolver, looked up at once; none for a
/// name that does not resolve by `until` (its lookup thread is left to finish on its own).
#[cfg(feature = "pac")]
fn lookup_all(names: &[String], until: std::time::Instant) -> Vec<Vec<std::net::IpAddr>> {
    use std::net::ToSocketAddrs;
    let (tx, rx) = std::sync::mpsc::channel();
    for (i, name) in names.iter().enumerate() {
        let host = name.clone();
        let tx = tx.clone();
        std::thread::spawn(move || {
            let addrs: Vec<std::net::IpAddr> = (host.as_str(), 0)
                .to_socket_addrs()
                .map(|a| a.map(|s| s.ip()).collect())
                .unwrap_or_default();
            let _ = tx.send((i, addrs));
        });
    }
    let mut answers = vec![Vec::new(); names.len()];
    for _ in 0..names.len() {
        let left = until.saturating_duration_since(std::time::Instant::now());
        match rx.recv_timeout(left) {
            Ok((i, addrs)) => answers[i] = addrs,
            Err(_) => break,
        }
    }
    answers
}

fn print_route(r: &Route, format: Format) {
    match format {
        Format::Text => println!("{}", r.explain()),
        Format::Json => match serde_json::to_string_pretty(r) {
            Ok(s) => println!("{s}"),
            Err(e) => eprintln!("probe route: cannot render JSON: {e}"),
        },
    }
}
