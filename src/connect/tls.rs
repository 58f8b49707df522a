//! The connector's seam onto [`crate::tls`]: builds each hop's [`HopTls`] from the effective
//! layer (origin hop: `roots` + `ca_file`, ALPN h2/http1.1; proxy hop: `proxy_ca_file`), with every
//! CA file the layers and environment mention available for cross-reference, and runs the
//! handshake with the request's target, proxy and route attached to any error.

use std::path::PathBuf;
use std::time::Duration;

use crate::error::Error;
use crate::proxy::EnvSnapshot;
use crate::settings::{Roots, Settings, Sourced};
use crate::tls::{CaBundle, HandshakeInfo, HopTls, KnownCa, TlsCache, TlsSettings};

use super::Ctx;
use super::stream::Stream;

/// Both hops' TLS for one profile.
pub(crate) struct ProfileTls {
    pub(crate) origin: HopTls,
    pub(crate) proxy: HopTls,
}

fn load(cache: &TlsCache, files: Option<&Sourced<Vec<PathBuf>>>) -> Result<Vec<CaBundle>, Error> {
    files
        .map(|f| f.value.iter().map(|p| cache.load(p)).collect())
        .unwrap_or_else(|| Ok(Vec::new()))
}

/// `providers.<name>` for a provider's request — the narrowest key that fixes this provider
/// without changing every other one — and the global keys otherwise.
fn prefix(provider: Option<(&str, &Settings)>) -> String {
    provider.map_or_else(String::new, |(name, _)| format!("providers.{name}"))
}

/// Builds both hops' TLS; a CA file that cannot be used fails here (`config.ca_file`). CA files
/// come from `cache`, so profiles that name the same file share one read.
pub(crate) fn profile_tls(
    global: &Settings,
    provider: Option<(&str, &Settings)>,
    effective: &Settings,
    env: &EnvSnapshot,
    http2: bool,
    cache: &TlsCache,
) -> Result<ProfileTls, Error> {
    let ca = load(cache, effective.ca_file.as_ref())?;
    let proxy_ca = load(cache, effective.proxy_ca_file.as_ref())?;
    let origin_prefix = prefix(provider);
    let proxy_prefix = prefix(provider);
    let key = |p: &str, k: &str| {
        if p.is_empty() {
            k.to_owned()
        } else {
            format!("{p}.{k}")
        }
    };

    // Every CA file mentioned anywhere, so a failure on one hop can say "the CA you need is
    // already configured, under the other key".
    let mut known: Vec<KnownCa> = Vec::new();
    for (layer, p) in [(Some(global), ""), (provider.map(|(_, l)| l), "provider")] {
        let Some(layer) = layer else { continue };
        let p = if p.is_empty() {
            String::new()
        } else {
            provider.map_or_else(String::new, |(n, _)| format!("providers.{n}"))
        };
        for b in load(cache, layer.ca_file.as_ref()).unwrap_or_default() {
            known.push(KnownCa::new(key(&p, "ca_file"), b));
        }
        for b in load(cache, layer.proxy_ca_file.as_ref()).unwrap_or_default() {
            known.push(KnownCa::new(key(&p, "proxy_ca_file"), b));
        }
    }
    known.extend(cache.env(env));

    let mut origin = TlsSettings::origin()
        .with_key_prefix(&origin_prefix)
        .with_roots(effective.roots.as_ref().map_or(Roots::Webpki, |r| r.value))
        .with_danger_accept_invalid_certs(
            effective
                .danger_accept_invalid_certs
                .as_ref()
                .is_some_and(|d| d.value),
        )
        .with_known_cas(known.clone());
    if !http2 {
        origin = origin.with_alpn([b"http/1.1".to_vec()]);
    }
    for b in ca {
        origin = origin.with_ca_file(b);
    }
    let mut proxy = TlsSettings::proxy()
        .with_key_prefix(&proxy_prefix)
        .with_known_cas(known);
    for b in proxy_ca {
        proxy = proxy.with_ca_file(b);
    }
    Ok(ProfileTls {
        origin: cache.hop(origin)?,
        proxy: cache.hop(proxy)?,
    })
}

/// TLS over `stream` to `host` on the hop `tls` is for, within `timeout`; errors get the
/// request's context.
pub(crate) async fn handshake(
    ctx: &Ctx,
    tls: &HopTls,
    host: &str,
    stream: Stream,
    timeout: Duration,
) -> Result<(Stream, HandshakeInfo), Error> {
    match tls.connect(host, stream, timeout).await {
        Ok((s, info)) => Ok((Stream::Tls(Box::new(s)), info)),
        Err(e) => Err(ctx.attach(e)),
    }
}
