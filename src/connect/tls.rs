//! The connector's seam onto [`crate::tls`]: builds each hop's [`HopTls`] from the effective
//! layer (origin hop: `roots` + `ca_file` + in-memory `ca_certs`, `client_cert`/`client_key`,
//! `min_tls_version`, the danger switches, ALPN h2/http1.1; proxy hop: `proxy_ca_file`,
//! `proxy_ca_certs`, `proxy_client_cert`/`proxy_client_key`, `proxy_min_tls_version`), with every
//! CA file the layers and environment mention available for cross-reference, and runs the
//! handshake with the request's target, proxy and route attached to any error.

use std::path::PathBuf;
use std::time::Duration;

use crate::diagnostic::{Diagnostic, Severity};
use crate::error::{Error, ErrorKind};
use crate::proxy::EnvSnapshot;
use crate::settings::{PemSource, Roots, Settings, Sourced, TlsVersion};
use crate::tls::{
    CaBundle, ClientIdentity, HandshakeInfo, HopTls, IdentityError, IdentityPart, KnownCa,
    TlsCache, TlsSettings,
};

use super::Ctx;
use super::auth::{location, set_at};
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

/// In-memory CA certificates (`ca_certs`, `proxy_ca_certs`), labelled `builder:KEY[i]`.
fn load_memory(certs: Option<&Sourced<Vec<PemSource>>>, key: &str) -> Result<Vec<CaBundle>, Error> {
    let Some(certs) = certs else {
        return Ok(Vec::new());
    };
    certs
        .value
        .iter()
        .enumerate()
        .map(|(i, src)| match src {
            PemSource::Memory(b) => CaBundle::from_memory(&format!("builder:{key}[{i}]"), b),
            PemSource::File(p) => CaBundle::load(p),
        })
        .collect()
}

/// The hop's client identity, when its certificate or key is set: both must be, and they must
/// load and match (`config.invalid` naming the setting otherwise).
fn identity(
    cert: Option<&Sourced<PemSource>>,
    key: Option<&Sourced<PemSource>>,
    keys: (&str, &str),
) -> Result<Option<ClientIdentity>, Error> {
    let (cert, key) = match (cert, key) {
        (None, None) => return Ok(None),
        (Some(c), Some(k)) => (c, k),
        (Some(c), None) => {
            return Err(identity_error(
                IdentityError {
                    part: IdentityPart::Cert,
                    problem: crate::tls::IdentityProblem::Unpaired,
                    source: c.value.describe(),
                    detail: None,
                },
                keys,
                &c.origin,
            ));
        }
        (None, Some(k)) => {
            return Err(identity_error(
                IdentityError {
                    part: IdentityPart::Key,
                    problem: crate::tls::IdentityProblem::Unpaired,
                    source: k.value.describe(),
                    detail: None,
                },
                keys,
                &k.origin,
            ));
        }
    };
    let id = ClientIdentity::load(&cert.value, &key.value).map_err(|e| {
        let origin = match e.part {
            IdentityPart::Cert => &cert.origin,
            IdentityPart::Key => &key.origin,
        };
        identity_error(e, keys, origin)
    })?;
    for w in id.warnings() {
        tracing::warn!(
            setting = keys.0,
            subject = %id.leaf().subject,
            not_after = %id.leaf().not_after,
            "client certificate {}", w.as_str()
        );
    }
    Ok(Some(id))
}

fn identity_error(
    e: IdentityError,
    (cert_key, key_key): (&str, &str),
    origin: &crate::settings::Provenance,
) -> Error {
    let setting = match e.part {
        IdentityPart::Cert => cert_key,
        IdentityPart::Key => key_key,
    };
    let d = Diagnostic::new(
        Severity::Error,
        format!("client_cert.{}", e.problem.as_str()),
        setting,
        location(origin),
        e.to_string(),
    )
    .with_suggestion(e.problem.suggestion());
    let file = (!e.source.starts_with("PEM in memory")).then(|| e.source.clone());
    Error::new(ErrorKind::ConfigInvalid)
        .with_message(format!("`{setting}` ({}): {e}", set_at(origin)))
        .with_hint(e.problem.suggestion())
        .map_evidence(|ev| {
            ev.setting = Some(setting.to_owned());
            ev.file = file;
            ev.diagnostics.push(d);
        })
        .with_source(e)
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
    let mut ca = load(cache, effective.ca_file.as_ref())?;
    ca.extend(load_memory(effective.ca_certs.as_ref(), "ca_certs")?);
    let mut proxy_ca = load(cache, effective.proxy_ca_file.as_ref())?;
    proxy_ca.extend(load_memory(
        effective.proxy_ca_certs.as_ref(),
        "proxy_ca_certs",
    )?);
    let origin_prefix = prefix(provider);
    let proxy_prefix = prefix(provider);
    let key = |p: &str, k: &str| {
        if p.is_empty() {
            k.to_owned()
        } else {
            format!("{p}.{k}")
        }
    };
    // Errors name the key where the value was set: the provider's own, else the global one.
    let own = |f: fn(&Settings) -> bool, k: &str| {
        let p = match provider {
            Some((_, l)) if f(l) => origin_prefix.as_str(),
            _ => "",
        };
        key(p, k)
    };
    let origin_id = identity(
        effective.client_cert.as_ref(),
        effective.client_key.as_ref(),
        (
            &own(|l| l.client_cert.is_some(), "client_cert"),
            &own(|l| l.client_key.is_some(), "client_key"),
        ),
    )?;
    let proxy_id = identity(
        effective.proxy_client_cert.as_ref(),
        effective.proxy_client_key.as_ref(),
        (
            &own(|l| l.proxy_client_cert.is_some(), "proxy_client_cert"),
            &own(|l| l.proxy_client_key.is_some(), "proxy_client_key"),
        ),
    )?;
    let version = |v: Option<&Sourced<TlsVersion>>| v.map_or(TlsVersion::Tls12, |v| v.value);

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
        .with_danger_accept_invalid_hostnames(
            effective
                .danger_accept_invalid_hostnames
                .as_ref()
                .is_some_and(|d| d.value),
        )
        .with_min_version(version(effective.min_tls_version.as_ref()))
        .with_known_cas(known.clone());
    if let Some(id) = origin_id {
        origin = origin.with_client_identity(id);
    }
    if !http2 {
        origin = origin.with_alpn([b"http/1.1".to_vec()]);
    }
    for b in ca {
        origin = origin.with_ca_file(b);
    }
    let mut proxy = TlsSettings::proxy()
        .with_key_prefix(&proxy_prefix)
        .with_min_version(version(effective.proxy_min_tls_version.as_ref()))
        .with_known_cas(known);
    if let Some(id) = proxy_id {
        proxy = proxy.with_client_identity(id);
    }
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
