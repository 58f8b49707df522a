//! Helpers for the `tls_*` integration tests on top of the public harness: certificates come from
//! [`TestPki`] (and its [`proxyscope::testing::TestCa`]s), servers from [`RawServer`]. What is
//! left here is what a TLS-hop test needs around them: a server that writes `ok` after the
//! handshake, one that does not speak TLS, the handshake itself and the TLS evidence.
#![allow(dead_code, unreachable_pub)]

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use proxyscope::testing::{ChainMode, RawServer, TestCert, TestPki};
use rustls::ServerConfig;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio_rustls::TlsAcceptor;

/// A TLS server on 127.0.0.1:0 that presents `leaf` as `mode` says and writes `ok` after the
/// handshake.
pub async fn serve(pki: &TestPki, leaf: &TestCert, mode: ChainMode) -> RawServer {
    serve_config(pki.server_config(leaf, mode)).await
}

/// A TLS server on 127.0.0.1:0 with a ready-made config (e.g. `TestPki::server_config`) that
/// writes `ok` after the handshake.
pub async fn serve_config(cfg: Arc<ServerConfig>) -> RawServer {
    let acceptor = TlsAcceptor::from(cfg);
    RawServer::start(move |tcp| {
        let acceptor = acceptor.clone();
        async move {
            if let Ok(mut tls) = acceptor.accept(tcp).await {
                let _ = tls.write_all(b"ok").await;
                let _ = tls.shutdown().await;
            }
        }
    })
    .await
}

/// What a misbehaving server does with a connection.
#[derive(Clone, Copy)]
pub enum Misbehave {
    /// Answers the ClientHello with a plain HTTP 400, like an http:// proxy.
    PlainHttp,
    /// Reads the ClientHello, then closes.
    Cut,
    /// Reads and never answers.
    Stall,
}

/// A TCP server on 127.0.0.1:0 that does not speak TLS. (`RawServer::scripted` waits for an
/// HTTP head, which a ClientHello never completes, so this reacts to the first read instead.)
pub async fn serve_misbehaving(how: Misbehave) -> RawServer {
    RawServer::start(move |mut tcp| async move {
        let mut buf = [0u8; 4096];
        let _ = tcp.read(&mut buf).await;
        match how {
            Misbehave::PlainHttp => {
                let _ = tcp
                    .write_all(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
                    .await;
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
            Misbehave::Cut => {}
            Misbehave::Stall => tokio::time::sleep(Duration::from_secs(30)).await,
        }
    })
    .await
}

/// Connects to `addr` and runs `tls.connect(name, ..)` with a 5 s timeout.
pub async fn handshake(
    tls: &proxyscope::tls::HopTls,
    name: &str,
    addr: SocketAddr,
) -> Result<
    (
        tokio_rustls::client::TlsStream<TcpStream>,
        proxyscope::tls::HandshakeInfo,
    ),
    proxyscope::Error,
> {
    let tcp = TcpStream::connect(addr).await.unwrap();
    tls.connect(name, tcp, Duration::from_secs(5)).await
}

/// The TLS evidence of an error (panics with the report when absent: a test failure).
pub fn tls_ev(err: &proxyscope::Error) -> &proxyscope::tls::TlsEvidence {
    err.evidence()
        .tls
        .as_deref()
        .unwrap_or_else(|| panic!("no TLS evidence in {}", err.report()))
}
