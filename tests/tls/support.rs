//! Shared helpers for the `tls_*` integration tests: a tiny PKI generated with rcgen, a real
//! tokio-rustls server on 127.0.0.1:0, and PEM files in a temp dir.
#![allow(dead_code, unreachable_pub)]

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use rcgen::{
    BasicConstraints, CertificateParams, CertifiedIssuer, DnType, IsCa, KeyPair, KeyUsagePurpose,
};
use rustls::ServerConfig;
use rustls_pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio_rustls::TlsAcceptor;

/// A certificate authority that can sign.
pub struct Ca {
    pub issuer: CertifiedIssuer<'static, KeyPair>,
}

impl Ca {
    /// A self-signed root named `cn`.
    pub fn root(cn: &str) -> Ca {
        let issuer =
            CertifiedIssuer::self_signed(ca_params(cn), KeyPair::generate().unwrap()).unwrap();
        Ca { issuer }
    }

    /// An intermediate named `cn`, signed by `self`.
    pub fn intermediate(&self, cn: &str) -> Ca {
        let issuer =
            CertifiedIssuer::signed_by(ca_params(cn), KeyPair::generate().unwrap(), &self.issuer)
                .unwrap();
        Ca { issuer }
    }

    /// An intermediate named `cn` with a validity window.
    pub fn intermediate_valid(&self, cn: &str, not_before: i64, not_after: i64) -> Ca {
        let mut p = ca_params(cn);
        window(&mut p, not_before, not_after);
        let issuer =
            CertifiedIssuer::signed_by(p, KeyPair::generate().unwrap(), &self.issuer).unwrap();
        Ca { issuer }
    }

    pub fn der(&self) -> CertificateDer<'static> {
        self.issuer.der().clone()
    }

    pub fn pem(&self) -> String {
        self.issuer.pem()
    }

    /// A server certificate for `names`, valid for a long time.
    pub fn leaf(&self, names: &[&str]) -> Leaf {
        self.leaf_valid(names, now() - 86_400, now() + 365 * 86_400)
    }

    /// A server certificate for `names` with a validity window (UNIX seconds).
    pub fn leaf_valid(&self, names: &[&str], not_before: i64, not_after: i64) -> Leaf {
        let mut p = leaf_params(names);
        window(&mut p, not_before, not_after);
        let key = KeyPair::generate().unwrap();
        let cert = p.signed_by(&key, &self.issuer).unwrap();
        Leaf {
            cert: cert.der().clone(),
            key: PrivatePkcs8KeyDer::from(key.serialize_der()).into(),
        }
    }
}

/// A server certificate and its key.
pub struct Leaf {
    pub cert: CertificateDer<'static>,
    pub key: PrivateKeyDer<'static>,
}

impl Leaf {
    /// A self-signed server certificate.
    pub fn self_signed(names: &[&str]) -> Leaf {
        let key = KeyPair::generate().unwrap();
        let cert = leaf_params(names).self_signed(&key).unwrap();
        Leaf {
            cert: cert.der().clone(),
            key: PrivatePkcs8KeyDer::from(key.serialize_der()).into(),
        }
    }
}

fn ca_params(cn: &str) -> CertificateParams {
    let mut p = CertificateParams::new(Vec::<String>::new()).unwrap();
    p.distinguished_name.push(DnType::CommonName, cn);
    p.distinguished_name
        .push(DnType::OrganizationName, "proxyscope tests");
    p.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    p.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
    p
}

fn leaf_params(names: &[&str]) -> CertificateParams {
    let mut p =
        CertificateParams::new(names.iter().map(|n| (*n).to_owned()).collect::<Vec<_>>()).unwrap();
    p.distinguished_name.push(DnType::CommonName, names[0]);
    p
}

/// UNIX seconds now.
pub fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

/// Sets a validity window (UNIX seconds) without naming rcgen's date type.
fn window(p: &mut CertificateParams, not_before: i64, not_after: i64) {
    let epoch = rcgen::date_time_ymd(1970, 1, 1);
    p.not_before = epoch + Duration::from_secs(not_before as u64);
    p.not_after = epoch + Duration::from_secs(not_after as u64);
}

/// A TLS server on 127.0.0.1:0 that presents `chain` and writes `ok` after the handshake.
pub async fn serve(chain: Vec<CertificateDer<'static>>, key: PrivateKeyDer<'static>) -> SocketAddr {
    serve_config(server_config(chain, key)).await
}

/// A rustls server config presenting `chain`, offering h2 and http/1.1.
pub fn server_config(
    chain: Vec<CertificateDer<'static>>,
    key: PrivateKeyDer<'static>,
) -> Arc<ServerConfig> {
    let mut cfg =
        ServerConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_no_client_auth()
            .with_single_cert(chain, key)
            .unwrap();
    cfg.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    Arc::new(cfg)
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

/// A TCP server on 127.0.0.1:0 that does not speak TLS.
pub async fn serve_misbehaving(how: Misbehave) -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        while let Ok((mut tcp, _)) = listener.accept().await {
            tokio::spawn(async move {
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
            });
        }
    });
    addr
}

/// Writes PEM certificates to `dir/name` and returns the path.
pub fn write_pem(dir: &Path, name: &str, certs: &[&CertificateDer<'_>]) -> PathBuf {
    let mut out = String::new();
    for c in certs {
        out.push_str(&pem_of(c));
    }
    let path = dir.join(name);
    std::fs::write(&path, out).unwrap();
    path
}

/// One certificate as PEM.
pub fn pem_of(c: &CertificateDer<'_>) -> String {
    use base64::Engine as _;
    let b64 = base64::engine::general_purpose::STANDARD.encode(c.as_ref());
    let mut s = String::from("-----BEGIN CERTIFICATE-----\n");
    for chunk in b64.as_bytes().chunks(64) {
        s.push_str(std::str::from_utf8(chunk).unwrap());
        s.push('\n');
    }
    s.push_str("-----END CERTIFICATE-----\n");
    s
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

/// A TLS server on 127.0.0.1:0 with a ready-made config (e.g. `TestPki::server_config`).
pub async fn serve_config(cfg: Arc<ServerConfig>) -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let acceptor = TlsAcceptor::from(cfg);
    tokio::spawn(async move {
        while let Ok((tcp, _)) = listener.accept().await {
            let acceptor = acceptor.clone();
            tokio::spawn(async move {
                if let Ok(mut tls) = acceptor.accept(tcp).await {
                    let _ = tls.write_all(b"ok").await;
                    let _ = tls.shutdown().await;
                }
            });
        }
    });
    addr
}
