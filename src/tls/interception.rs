//! TLS interception by a forward proxy: an origin handshake that failed through a proxy's tunnel
//! with a chain the origin did not issue. Diagnosis of the handshake alone cannot know the route;
//! this pass, given the proxy that carried the tunnel, decides whether the evidence says the proxy
//! re-signs TLS — the chain ends at a CA other than the one configured for the origin, the CA that
//! signed it is the one configured for the proxy itself, or a public host's chain comes from a
//! private CA — and if so names the proxy (and where it was set), the intercepting CA and both
//! fixes: trust that CA for this provider, or route the provider around the proxy.

use crate::error::{Blame, Diagnosis, Error, ErrorKind, Hop};
use crate::route::location;
use crate::settings::Provenance;

/// The proxy whose tunnel an origin handshake went through.
#[derive(Debug, Clone, Copy)]
pub(crate) struct ViaProxy<'a> {
    /// The proxy, without credentials.
    pub(crate) proxy: &'a str,
    /// Where the proxy was set.
    pub(crate) proxy_origin: Option<&'a Provenance>,
    /// The provider the request was for.
    pub(crate) provider: Option<&'a str>,
    /// The origin's host name.
    pub(crate) host: &'a str,
}

/// `err` re-diagnosed as interception by `via` when its evidence says so; unchanged otherwise.
pub(crate) fn through_proxy(err: Error, via: &ViaProxy<'_>) -> Error {
    if err.kind() != ErrorKind::TlsUnknownIssuer {
        return err;
    }
    let Some(t) = err
        .evidence()
        .tls
        .as_deref()
        .filter(|t| t.hop == Hop::Origin)
    else {
        return err;
    };
    // Proof, not suspicion: a public host's chain from a private CA, or a chain that ends at
    // another CA than the one configured for this origin. (A CA found under `proxy_ca_file` is
    // no proof: that is also where the 2015 mistake put the origin's own CA.)
    let intercepting = matches!(
        t.diagnosis,
        Diagnosis::Interception | Diagnosis::WrongCaFile
    );
    if !intercepting {
        return maybe_intercepting(err, via);
    }
    let ca = t
        .wrong_ca_file
        .as_ref()
        .map(|w| w.chain_ends_at.clone())
        .or_else(|| t.untrusted_issuer.clone())
        .unwrap_or_else(|| "an unknown CA".to_owned());
    let prefix = via
        .provider
        .map_or_else(String::new, |p| format!("providers.{p}."));
    let ca_key = t
        .fix
        .as_ref()
        .map(|f| f.key.clone())
        .or_else(|| t.wrong_ca_file.as_ref().map(|w| w.key.clone()))
        .unwrap_or_else(|| format!("{prefix}ca_file"));
    let from = via
        .proxy_origin
        .map(|o| format!(" (set in {})", location(o)))
        .unwrap_or_default();

    let mut message = format!(
        "proxy {}{from} is intercepting TLS to {}: the certificate was issued by `{ca}`, not by the origin's CA",
        via.proxy, via.host
    );
    if let Some(w) = &t.wrong_ca_file {
        message.push_str(&format!(
            " ({} {} holds {})",
            w.key,
            w.file,
            w.holds.join(" + ")
        ));
    }
    let trust = match (&t.fix, &t.wrong_ca_file) {
        // Keep the origin's own CA file and add the one that holds the interception CA.
        (Some(f), Some(w)) if f.file.is_some() => format!(
            "set {} = [\"{}\", \"{}\"] (the second file holds `{ca}`; found via {})",
            f.key,
            w.file,
            f.file.as_deref().unwrap_or_default(),
            f.found_in
        ),
        (Some(f), _) if f.file.is_some() => format!(
            "set {} = \"{}\" (that file holds `{ca}`; found via {})",
            f.key,
            f.file.as_deref().unwrap_or_default(),
            f.found_in
        ),
        (_, Some(w)) => format!(
            "add the certificate of `{ca}` to {} (named by {})",
            w.file, w.key
        ),
        _ => format!("put the certificate of `{ca}` in a PEM file and set {ca_key} to it"),
    };
    let hint = format!(
        "trust the interception CA for this provider — {trust} — or route it around the proxy: set {prefix}proxy = \"direct\" (or add `{}` to {prefix}no_proxy); ask the proxy's operators whether interception of {} is intended",
        via.host, via.host
    );
    err.with_message(message)
        .with_hint(hint)
        .with_blame(Blame::Proxy)
        .map_evidence(|ev| {
            if let Some(t) = ev.tls.as_deref_mut() {
                t.diagnosis = Diagnosis::Interception;
                t.untrusted_issuer = Some(ca);
            }
        })
}

/// A chain that fails through a proxy without proof of interception (a leaf alone from an
/// unknown issuer, a private CA not configured anywhere): the diagnosis stands, and the hint adds
/// the proxy as the other explanation, naming it and its CA candidate.
fn maybe_intercepting(err: Error, via: &ViaProxy<'_>) -> Error {
    let Some(t) = err.evidence().tls.as_deref() else {
        return err;
    };
    // A CA the configuration already names elsewhere explains the failure (a misplaced CA, the
    // 2015 mistake): no second explanation.
    if t.fix.is_some()
        || !matches!(
            t.diagnosis,
            Diagnosis::MissingIntermediate | Diagnosis::UntrustedPrivateCa
        )
    {
        return err;
    }
    let ca = t.untrusted_issuer.clone().unwrap_or_default();
    let prefix = via
        .provider
        .map_or_else(String::new, |p| format!("providers.{p}."));
    let from = via
        .proxy_origin
        .map(|o| format!(" (set in {})", location(o)))
        .unwrap_or_default();
    let hint = format!(
        "{}; this went through proxy {}{from}: if that proxy intercepts TLS, `{ca}` is its CA — trust it with {prefix}ca_file, or set {prefix}proxy = \"direct\" to go around it",
        err.hint().unwrap_or_default(),
        via.proxy
    );
    err.with_hint(hint)
}
