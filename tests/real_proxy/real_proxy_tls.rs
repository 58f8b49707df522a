//! TLS to an origin with a private CA, through real Squid and tinyproxy CONNECT tunnels.
//!
//! The 2015 failure: the private CA was configured where the HTTP library ignored it on the
//! tunnelled path, so the origin's chain came out "untrusted". These tests show the tunnel itself
//! is transparent: the very same chain verifies when the client trusts the private CA and fails
//! with `UnknownIssuer` when it does not, whichever real proxy carries it. So a CA problem seen
//! through a proxy is the client's origin-hop trust, not the proxy (neither intercepts here).

use std::net::{Ipv4Addr, SocketAddr};
use std::sync::Arc;

use crate::support::{
    Body, RealSquid, RealTinyproxy, SquidConfig, TinyproxyConfig, exchange, read_response,
    start_or_skip,
};
use rcgen::{
    BasicConstraints, CertificateParams, CertifiedIssuer, DnType, IsCa, KeyPair, KeyUsagePurpose,
};
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer, ServerName};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// The name in the origin's certificate; Squid resolves it from its hosts file.
const ORIGIN_NAME: &str = "origin.test";
const TLS_BODY: &str = "hello over tls";

/// A private root and an origin certificate it issued for [`ORIGIN_NAME`] and 127.0.0.1.
struct PrivatePki {
    root: CertificateDer<'static>,
    leaf: CertificateDer<'static>,
    leaf_key: PrivatePkcs8KeyDer<'static>,
}

fn private_pki() -> PrivatePki {
    let ca_key = KeyPair::generate().expect("CA key");
    let mut ca_params = CertificateParams::new(Vec::<String>::new()).expect("CA params");
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca_params
        .distinguished_name
        .push(DnType::CommonName, "proxyscope real-proxy test root");
    ca_params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
    let ca = CertifiedIssuer::self_signed(ca_params, ca_key).expect("self-signed CA");

    let leaf_key = KeyPair::generate().expect("leaf key");
    let mut leaf_params = CertificateParams::new(vec![
        ORIGIN_NAME.to_owned(),
        Ipv4Addr::LOCALHOST.to_string(),
    ])
    .expect("leaf params");
    leaf_params
        .distinguished_name
        .push(DnType::CommonName, ORIGIN_NAME);
    let leaf = leaf_params.signed_by(&leaf_key, &ca).expect("leaf");
    PrivatePki {
        root: ca.der().clone(),
        leaf: leaf.der().clone(),
        leaf_key: PrivatePkcs8KeyDer::from(leaf_key.serialize_der()),
    }
}

fn provider() -> Arc<rustls::crypto::CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

/// A TLS origin on 127.0.0.1:0 presenting leaf + root; answers every request with 200.
async fn start_tls_origin(pki: &PrivatePki) -> (SocketAddr, tokio::task::JoinHandle<()>) {
    let config = rustls::ServerConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()
        .expect("protocol versions")
        .with_no_client_auth()
        .with_single_cert(
            vec![pki.leaf.clone(), pki.root.clone()],
            PrivateKeyDer::Pkcs8(pki.leaf_key.clone_key()),
        )
        .expect("server config");
    let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(config));
    let listener = tokio::net::TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
        .await
        .expect("bind the TLS origin");
    let addr = listener.local_addr().expect("origin address");
    let task = tokio::spawn(async move {
        while let Ok((tcp, _)) = listener.accept().await {
            let acceptor = acceptor.clone();
            tokio::spawn(async move {
                let Ok(mut tls) = acceptor.accept(tcp).await else {
                    return;
                };
                let mut buf = [0u8; 4096];
                let mut head = Vec::new();
                while !head.ends_with(b"\r\n\r\n") {
                    match tls.read(&mut buf).await {
                        Ok(0) | Err(_) => return,
                        Ok(n) => head.extend_from_slice(&buf[..n]),
                    }
                }
                let reply = format!(
                    "HTTP/1.1 200 OK\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{TLS_BODY}",
                    TLS_BODY.len()
                );
                let _ = tls.write_all(reply.as_bytes()).await;
                let _ = tls.shutdown().await;
            });
        }
    });
    (addr, task)
}

fn client_config(trusted: &[CertificateDer<'static>]) -> Arc<rustls::ClientConfig> {
    let mut roots = rustls::RootCertStore::empty();
    for cert in trusted {
        roots.add(cert.clone()).expect("add root");
    }
    Arc::new(
        rustls::ClientConfig::builder_with_provider(provider())
            .with_safe_default_protocol_versions()
            .expect("protocol versions")
            .with_root_certificates(roots)
            .with_no_client_auth(),
    )
}

/// Opens a CONNECT tunnel to `authority` through `proxy`, then TLS to [`ORIGIN_NAME`] inside it
/// with `trusted` roots; on success sends a GET and returns the inner reply's status and body.
async fn tls_through(
    proxy: SocketAddr,
    authority: &str,
    trusted: &[CertificateDer<'static>],
) -> Result<(u16, String), rustls::Error> {
    let head = format!("CONNECT {authority} HTTP/1.1\r\nHost: {authority}");
    let (tunnel, reply) = exchange(proxy, &head, false).await;
    assert_eq!(reply.status, 200, "{}", reply.head_text());
    let connector = tokio_rustls::TlsConnector::from(client_config(trusted));
    let name = ServerName::try_from(ORIGIN_NAME).expect("server name");
    let mut tls = match connector.connect(name, tunnel).await {
        Ok(tls) => tls,
        Err(e) => {
            let inner = e
                .get_ref()
                .and_then(|inner| inner.downcast_ref::<rustls::Error>())
                .cloned();
            return Err(inner.unwrap_or_else(|| panic!("non-TLS failure in the tunnel: {e}")));
        }
    };
    tls.write_all(format!("GET / HTTP/1.1\r\nHost: {ORIGIN_NAME}\r\n\r\n").as_bytes())
        .await
        .expect("write over TLS");
    let inner = read_response(&mut tls, Body::ByLengthOrClose).await;
    Ok((inner.status, inner.body))
}

fn assert_unknown_issuer(result: Result<(u16, String), rustls::Error>) {
    match result {
        Err(rustls::Error::InvalidCertificate(rustls::CertificateError::UnknownIssuer)) => {}
        other => panic!("expected UnknownIssuer, got {other:?}"),
    }
}

pub(crate) async fn squid_tunnel_carries_tls_that_verifies_only_with_the_private_root() {
    let pki = private_pki();
    let (origin, _task) = start_tls_origin(&pki).await;
    let squid = start_or_skip!(RealSquid::start(
        SquidConfig::new().host(ORIGIN_NAME, Ipv4Addr::LOCALHOST.into())
    ));
    let authority = format!("{ORIGIN_NAME}:{}", origin.port());

    let trusted = tls_through(squid.addr(), &authority, std::slice::from_ref(&pki.root)).await;
    assert_eq!(trusted, Ok((200, TLS_BODY.to_owned())));

    // Same chain, same tunnel, the private root not trusted: the origin hop's verdict.
    assert_unknown_issuer(tls_through(squid.addr(), &authority, &[]).await);
}

pub(crate) async fn tinyproxy_tunnel_carries_tls_that_verifies_only_with_the_private_root() {
    let pki = private_pki();
    let (origin, _task) = start_tls_origin(&pki).await;
    let proxy = start_or_skip!(RealTinyproxy::start(TinyproxyConfig::new()));
    // tinyproxy resolves through the system resolver: give it the address, verify the name.
    let authority = origin.to_string();

    let trusted = tls_through(proxy.addr(), &authority, std::slice::from_ref(&pki.root)).await;
    assert_eq!(trusted, Ok((200, TLS_BODY.to_owned())));

    assert_unknown_issuer(tls_through(proxy.addr(), &authority, &[]).await);
}
