//! Name resolution behind a pluggable [`Resolver`]: the system resolver by default, names pinned
//! to addresses like curl's `--resolve`, or any [`Resolve`] implementation.

use std::collections::HashMap;
use std::fmt;
use std::future::Future;
use std::io;
use std::net::{IpAddr, SocketAddr};
use std::pin::Pin;
use std::sync::Arc;

use crate::error::{Error, ErrorKind, Hop, Phase};

use super::Ctx;
use super::deadline::Budget;

/// The future a [`Resolve`] implementation returns.
pub type Resolving = Pin<Box<dyn Future<Output = io::Result<Vec<IpAddr>>> + Send>>;

/// Something that turns a host name into addresses.
pub trait Resolve: Send + Sync + 'static {
    /// The addresses of `host`, in the order they should be tried.
    fn resolve(&self, host: &str) -> Resolving;
}

/// Resolves names: pinned names first (like curl's `--resolve`), then the fallback (the
/// system resolver unless [`Resolver::custom`] replaced it). IP literals are never looked up.
#[derive(Clone)]
pub struct Resolver {
    pins: Arc<HashMap<String, Vec<IpAddr>>>,
    fallback: Option<Arc<dyn Resolve>>,
}

impl Default for Resolver {
    fn default() -> Self {
        Self::system()
    }
}

impl fmt::Debug for Resolver {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Resolver")
            .field("pins", &self.pins)
            .field(
                "fallback",
                &if self.fallback.is_some() {
                    "custom"
                } else {
                    "system"
                },
            )
            .finish()
    }
}

impl Resolver {
    /// The system resolver (`tokio::net::lookup_host`).
    pub fn system() -> Self {
        Self {
            pins: Arc::new(HashMap::new()),
            fallback: None,
        }
    }

    /// The system resolver with `host` pinned to `addrs`.
    pub fn pinned(host: &str, addrs: impl IntoIterator<Item = IpAddr>) -> Self {
        Self::system().pin(host, addrs)
    }

    /// Every name in `map` pinned, the rest resolved by the system.
    pub fn from_map(map: impl IntoIterator<Item = (String, Vec<IpAddr>)>) -> Self {
        let mut r = Self::system();
        for (h, a) in map {
            r = r.pin(&h, a);
        }
        r
    }

    /// A resolver that asks `resolve` for every name that is not pinned.
    pub fn custom(resolve: impl Resolve) -> Self {
        Self {
            pins: Arc::new(HashMap::new()),
            fallback: Some(Arc::new(resolve)),
        }
    }

    /// Pins `host` (case-insensitive, trailing dot ignored) to `addrs`; an empty list makes the
    /// name fail to resolve, which is how tests simulate NXDOMAIN without a network.
    pub fn pin(mut self, host: &str, addrs: impl IntoIterator<Item = IpAddr>) -> Self {
        Arc::make_mut(&mut self.pins).insert(normalize(host), addrs.into_iter().collect());
        self
    }

    /// The socket addresses for `host:port`, in order.
    pub async fn lookup(&self, host: &str, port: u16) -> io::Result<Vec<SocketAddr>> {
        let bare = host.trim_start_matches('[').trim_end_matches(']');
        if let Ok(ip) = bare.parse::<IpAddr>() {
            return Ok(vec![SocketAddr::new(ip, port)]);
        }
        let ips = if let Some(pinned) = self.pins.get(&normalize(host)) {
            pinned.clone()
        } else if let Some(f) = &self.fallback {
            f.resolve(host).await?
        } else {
            tokio::net::lookup_host((host, port))
                .await?
                .map(|a| a.ip())
                .collect()
        };
        if ips.is_empty() {
            return Err(io::Error::new(
                io::ErrorKind::NotFound,
                format!("no addresses for {host}"),
            ));
        }
        Ok(ips
            .into_iter()
            .map(|ip| SocketAddr::new(ip, port))
            .collect())
    }
}

fn normalize(host: &str) -> String {
    host.trim_end_matches('.').to_ascii_lowercase()
}

/// Resolves `host:port` for `hop` before `budget` is up, as a proxyscope error on failure. The
/// budget is the hop's whole connect timeout: what resolution leaves of it is the TCP
/// connect's (see [`Budget`]).
pub(crate) async fn resolve(
    resolver: &Resolver,
    ctx: &Ctx,
    hop: Hop,
    host: &str,
    port: u16,
    budget: Budget,
) -> Result<Vec<SocketAddr>, Error> {
    let (dns, slow) = match hop {
        Hop::Proxy => (ErrorKind::ProxyDns, ErrorKind::ProxyTimeout),
        Hop::Origin => (ErrorKind::OriginDns, ErrorKind::OriginTimeout),
    };
    match tokio::time::timeout_at(budget.until, resolver.lookup(host, port)).await {
        Ok(Ok(addrs)) => Ok(addrs),
        Ok(Err(e)) => Err(ctx
            .error(dns, hop, Phase::Dns)
            .with_message(format!("{} name {host} did not resolve", hop_noun(hop)))
            .with_hint(dns_hint(hop, host, ctx))
            .with_source(e)),
        Err(_) => Err(ctx
            .error(slow, hop, Phase::Dns)
            .with_message(format!(
                "resolving {} name {host} took longer than {:?}",
                hop_noun(hop),
                budget.timeout
            ))
            .map_evidence(|ev| ev.timeout = Some(budget.timeout))
            .with_hint("the resolver did not answer; check /etc/resolv.conf and the DNS servers, or raise timeouts.connect (resolving the name and connecting share it)")),
    }
}

pub(crate) fn hop_noun(hop: Hop) -> &'static str {
    match hop {
        Hop::Proxy => "the proxy's",
        Hop::Origin => "the destination's",
    }
}

fn dns_hint(hop: Hop, host: &str, ctx: &Ctx) -> String {
    match hop {
        Hop::Proxy => format!(
            "the proxy's host name {host} does not resolve here: check it in {}",
            ctx.proxy_setting()
        ),
        Hop::Origin => format!(
            "check the host name {host} in the URL; a name that only resolves inside a network usually needs that network's proxy ({})",
            ctx.route_phrase()
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn pins_win_and_literals_skip_lookup() {
        let r = Resolver::pinned("Proxy.Test.", ["127.0.0.1".parse().unwrap()]);
        assert_eq!(
            r.lookup("proxy.test", 3128).await.unwrap(),
            vec!["127.0.0.1:3128".parse().unwrap()]
        );
        assert_eq!(
            r.lookup("[::1]", 80).await.unwrap(),
            vec!["[::1]:80".parse().unwrap()]
        );
        let none = Resolver::pinned("gone.test", []);
        assert_eq!(
            none.lookup("gone.test", 1).await.unwrap_err().kind(),
            io::ErrorKind::NotFound
        );
    }

    #[tokio::test]
    async fn custom_resolvers_are_asked_for_unpinned_names() {
        struct Fixed;
        impl Resolve for Fixed {
            fn resolve(&self, _host: &str) -> Resolving {
                Box::pin(async { Ok(vec!["10.9.8.7".parse().unwrap()]) })
            }
        }
        let r = Resolver::custom(Fixed).pin("a.test", ["127.0.0.2".parse().unwrap()]);
        assert_eq!(
            r.lookup("b.test", 1).await.unwrap(),
            vec!["10.9.8.7:1".parse().unwrap()]
        );
        assert_eq!(
            r.lookup("a.test", 1).await.unwrap(),
            vec!["127.0.0.2:1".parse().unwrap()]
        );
    }
}
