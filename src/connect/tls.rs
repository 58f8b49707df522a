//! TLS on a hop, as the connector uses it: the `ClientConfig` for the origin hop (roots +
//! `ca_file`, ALPN h2 and http/1.1) and for the proxy hop (`proxy_ca_file`), and the handshake
//! within the hop's timeout, its failures mapped to `tls.*` (origin) or `proxy.tls` (proxy).
//!
//! The crate's `tls` module owns the full diagnosis (the recorded chain, interception
//! heuristics); this file is the connector's thin seam onto rustls so every path — direct,
//! tunnelled, via an https proxy — runs the same code.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{ClientConfig, RootCertStore};
use tokio_rustls::TlsConnector;

use crate::error::{Error, ErrorKind, Hop, Phase};
use crate::layer::{Layer, Roots};

use super::Ctx;
use super::stream::Stream;

/// Loads the PEM certificates of `path`, failing with `config.ca_file` when the file is
/// missing, unreadable, empty or not PEM.
pub(crate) fn load_ca_file(path: &Path) -> Result<Vec<CertificateDer<'static>>, Error> {
    let shown = path.display().to_string();
    let fail = |why: String| {
        Error::new(ErrorKind::ConfigCaFile)
            .with_message(format!("CA file {shown} cannot be used: {why}"))
            .with_hint("point ca_file / proxy_ca_file at a readable PEM file holding CA certificates (-----BEGIN CERTIFICATE-----)")
            .map_evidence(|ev| ev.file = Some(shown.clone()))
    };
    let iter = CertificateDer::pem_file_iter(path).map_err(|e| fail(e.to_string()))?;
    let certs: Result<Vec<_>, _> = iter.collect();
    let certs = certs.map_err(|e| fail(e.to_string()))?;
    if certs.is_empty() {
        return Err(fail("no certificates found".into()));
    }
    Ok(certs)
}

fn provider() -> Arc<rustls::crypto::CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

fn store(roots: Roots, files: &[std::path::PathBuf]) -> Result<RootCertStore, Error> {
    let mut store = RootCertStore::empty();
    match roots {
        Roots::Webpki => store.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned()),
        Roots::System => {
            let found = rustls_native_certs::load_native_certs();
            store.add_parsable_certificates(found.certs);
        }
        Roots::None => {}
    }
    for f in files {
        for cert in load_ca_file(f)? {
            store.add(cert).map_err(|e| {
                Error::new(ErrorKind::ConfigCaFile)
                    .with_message(format!(
                        "CA file {} holds a certificate that cannot be a trust anchor",
                        f.display()
                    ))
                    .map_evidence(|ev| ev.file = Some(f.display().to_string()))
                    .with_source(e)
            })?;
        }
    }
    Ok(store)
}

fn finish(store: RootCertStore, danger: bool, alpn: &[&[u8]]) -> Result<Arc<ClientConfig>, Error> {
    let builder = ClientConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()
        .map_err(|e| Error::new(ErrorKind::TlsHandshake).with_source(e))?;
    let mut config = if danger {
        builder
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(AcceptAnything(provider())))
            .with_no_client_auth()
    } else {
        builder.with_root_certificates(store).with_no_client_auth()
    };
    config.alpn_protocols = alpn.iter().map(|p| p.to_vec()).collect();
    Ok(Arc::new(config))
}

/// The origin hop's config: `roots` + `ca_file`, ALPN h2 and http/1.1 (or http/1.1 only).
pub(crate) fn origin_config(layer: &Layer, http2: bool) -> Result<Arc<ClientConfig>, Error> {
    let roots = layer.roots.as_ref().map_or(Roots::Webpki, |r| r.value);
    let files = layer.ca_file.as_ref().map(|f| f.value.clone()).unwrap_or_default();
    let danger = layer
        .danger_accept_invalid_certs
        .as_ref()
        .is_some_and(|d| d.value);
    let alpn: &[&[u8]] = if http2 {
        &[b"h2", b"http/1.1"]
    } else {
        &[b"http/1.1"]
    };
    finish(store(roots, &files)?, danger, alpn)
}

/// The proxy hop's config: the bundled roots plus `proxy_ca_file`, ALPN http/1.1 (CONNECT and
/// absolute-form are HTTP/1.1).
pub(crate) fn proxy_config(layer: &Layer) -> Result<Arc<ClientConfig>, Error> {
    let files = layer
        .proxy_ca_file
        .as_ref()
        .map(|f| f.value.clone())
        .unwrap_or_default();
    finish(store(Roots::Webpki, &files)?, false, &[b"http/1.1"])
}

/// TLS over `stream` to `host` for `hop`, within `timeout`.
pub(crate) async fn handshake(
    ctx: &Ctx,
    hop: Hop,
    config: Arc<ClientConfig>,
    host: &str,
    stream: Stream,
    timeout: Duration,
) -> Result<Stream, Error> {
    let bare = host.trim_start_matches('[').trim_end_matches(']');
    let name = ServerName::try_from(bare.to_owned()).map_err(|e| {
        ctx.error(tls_kind(hop, ErrorKind::TlsHandshake), hop, phase(hop))
            .with_message(format!("{bare} is not a valid TLS server name"))
            .with_source(e)
    })?;
    let connector = TlsConnector::from(config);
    match tokio::time::timeout(timeout, connector.connect(name, stream)).await {
        Ok(Ok(tls)) => Ok(Stream::Tls(Box::new(tls))),
        Ok(Err(e)) => {
            let rustls_err = e
                .get_ref()
                .and_then(|inner| inner.downcast_ref::<rustls::Error>())
                .cloned();
            let kind = match &rustls_err {
                Some(rustls::Error::InvalidCertificate(c)) => cert_kind(c),
                _ => ErrorKind::TlsHandshake,
            };
            let kind = tls_kind(hop, kind);
            let who = match hop {
                Hop::Proxy => format!("proxy {}", ctx.proxy_display()),
                Hop::Origin => bare.to_owned(),
            };
            let hint = match (hop, kind) {
                (Hop::Proxy, _) => "the https:// proxy's certificate was not accepted, or it does not speak TLS; set proxy_ca_file to the CA that issued the proxy's certificate, or use http:// if the proxy is plaintext".to_owned(),
                (_, ErrorKind::TlsUnknownIssuer) => format!("the chain {bare} presented does not lead to a trusted root; set ca_file to the issuing CA (it applies through proxy tunnels too), or if a proxy intercepts TLS, to the proxy's CA"),
                (_, ErrorKind::TlsHostnameMismatch) => format!("the certificate is not valid for {bare}; use the name the certificate was issued for"),
                (_, ErrorKind::TlsExpired | ErrorKind::TlsNotYetValid) => "a certificate is outside its validity window; renew it, or check this machine's clock".to_owned(),
                _ => format!("TLS with {bare} failed; check that the port speaks TLS"),
            };
            Err(ctx
                .error(kind, hop, phase(hop))
                .with_message(format!("TLS handshake with {who} failed"))
                .with_hint(hint)
                .with_source(e))
        }
        Err(_) => Err(ctx
            .error(tls_kind(hop, ErrorKind::TlsTimeout), hop, phase(hop))
            .with_message(format!("TLS handshake with {bare} did not finish within {timeout:?}"))
            .with_hint("the server accepted TCP but stalled the TLS handshake; check that the port speaks TLS, or raise timeouts.tls")
            .map_evidence(|ev| ev.timeout = Some(timeout))),
    }
}

fn cert_kind(c: &rustls::CertificateError) -> ErrorKind {
    use rustls::CertificateError as C;
    match c {
        C::UnknownIssuer => ErrorKind::TlsUnknownIssuer,
        C::NotValidForName | C::NotValidForNameContext { .. } => ErrorKind::TlsHostnameMismatch,
        C::Expired | C::ExpiredContext { .. } => ErrorKind::TlsExpired,
        C::NotValidYet | C::NotValidYetContext { .. } => ErrorKind::TlsNotYetValid,
        _ => ErrorKind::TlsHandshake,
    }
}

fn tls_kind(hop: Hop, origin_kind: ErrorKind) -> ErrorKind {
    match (hop, origin_kind) {
        (Hop::Proxy, ErrorKind::TlsTimeout) => ErrorKind::ProxyTimeout,
        (Hop::Proxy, _) => ErrorKind::ProxyTls,
        (Hop::Origin, k) => k,
    }
}

fn phase(hop: Hop) -> Phase {
    match hop {
        Hop::Proxy => Phase::Proxy,
        Hop::Origin => Phase::Tls,
    }
}

/// `danger_accept_invalid_certs`: signatures are still checked, the chain and name are not.
#[derive(Debug)]
struct AcceptAnything(Arc<rustls::crypto::CryptoProvider>);

impl rustls::client::danger::ServerCertVerifier for AcceptAnything {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<rustls::client::danger::ServerCertVerified, rustls::Error> {
        Ok(rustls::client::danger::ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &rustls::DigitallySignedStruct,
    ) -> Result<rustls::client::danger::HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &rustls::DigitallySignedStruct,
    ) -> Result<rustls::client::danger::HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<rustls::SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn missing_and_empty_ca_files_are_config_errors() {
        let e = load_ca_file(Path::new("/nonexistent/ca.pem")).unwrap_err();
        assert_eq!(e.code(), "config.ca_file");
        assert_eq!(e.evidence().file.as_deref(), Some("/nonexistent/ca.pem"));
        let dir = std::env::temp_dir().join(format!("proxyscope-empty-{}.pem", std::process::id()));
        std::fs::write(&dir, "not a pem\n").unwrap();
        let e = load_ca_file(&dir).unwrap_err();
        assert_eq!(e.code(), "config.ca_file");
        let _ = std::fs::remove_file(&dir);
    }
}
