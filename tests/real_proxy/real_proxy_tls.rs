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
use proxyscope::testing::{ChainMode, ORIGIN_OK_BODY, TestCert, TestOrigin, TestPki};
use rustls::pki_types::ServerName;
use tokio::io::AsyncWriteExt;

/// The name in the origin's certificate; Squid resolves it from its hosts file.
const ORIGIN_NAME: &str = "origin.test";

/// The harness's origin on 127.0.0.1:0, presenting a leaf for [`ORIGIN_NAME`] and 127.0.0.1
/// issued by the PKI's intermediate (sent along) under its root.
async fn start_tls_origin(pki: &TestPki) -> TestOrigin {
    let leaf = pki.leaf_for(&[ORIGIN_NAME, &Ipv4Addr::LOCALHOST.to_string()]);
    TestOrigin::https(pki, &leaf, ChainMode::Full).await
}

/// Opens a CONNECT tunnel to `authority` through `proxy`, then TLS to [`ORIGIN_NAME`] inside it
/// with `trusted` roots; on success sends a GET and returns the inner reply's status and body.
async fn tls_through(
    proxy: SocketAddr,
    authority: &str,
    pki: &TestPki,
    trusted: &[&TestCert],
) -> Result<(u16, String), rustls::Error> {
    let head = format!("CONNECT {authority} HTTP/1.1\r\nHost: {authority}");
    let (tunnel, reply) = exchange(proxy, &head, false).await;
    assert_eq!(reply.status, 200, "{}", reply.head_text());
    let connector = tokio_rustls::TlsConnector::from(Arc::new(pki.client_config(trusted)));
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
    let pki = TestPki::new();
    let origin = start_tls_origin(&pki).await;
    let squid = start_or_skip!(RealSquid::start(
        SquidConfig::new().host(ORIGIN_NAME, Ipv4Addr::LOCALHOST.into())
    ));
    let authority = format!("{ORIGIN_NAME}:{}", origin.addr().port());

    let trusted = tls_through(squid.addr(), &authority, &pki, &[pki.root()]).await;
    assert_eq!(trusted, Ok((200, ORIGIN_OK_BODY.to_owned())));

    // Same chain, same tunnel, the private root not trusted: the origin hop's verdict.
    assert_unknown_issuer(tls_through(squid.addr(), &authority, &pki, &[]).await);
}

pub(crate) async fn tinyproxy_tunnel_carries_tls_that_verifies_only_with_the_private_root() {
    let pki = TestPki::new();
    let origin = start_tls_origin(&pki).await;
    let proxy = start_or_skip!(RealTinyproxy::start(TinyproxyConfig::new()));
    // tinyproxy resolves through the system resolver: give it the address, verify the name.
    let authority = origin.addr().to_string();

    let trusted = tls_through(proxy.addr(), &authority, &pki, &[pki.root()]).await;
    assert_eq!(trusted, Ok((200, ORIGIN_OK_BODY.to_owned())));

    assert_unknown_issuer(tls_through(proxy.addr(), &authority, &pki, &[]).await);
}
