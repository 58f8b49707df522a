//! Does the server at an address speak TLS? Asked only after an `http://` proxy hung up on
//! CONNECT without a byte: a TLS server (an `https://` proxy, or a TLS port) drops a plain-text
//! request silently, and one ClientHello on a second connection tells the two apart, so the hint
//! can give the exact `https://` URL instead of a generic "the proxy closed the connection".

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use rustls::pki_types::ServerName;
use rustls::{ClientConfig, ClientConnection, RootCertStore};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use super::http_connect::looks_like_tls;

/// Whether `addr` answers a ClientHello for `sni` with a TLS record within `within`. Any failure
/// (refused, silence, plain text) is `false`: the caller keeps its own diagnosis then.
pub(crate) async fn speaks_tls(addr: SocketAddr, sni: &str, within: Duration) -> bool {
    let Some(hello) = client_hello(sni) else {
        return false;
    };
    let probe = async {
        let mut s = TcpStream::connect(addr).await.ok()?;
        s.write_all(&hello).await.ok()?;
        let mut head = [0u8; 3];
        s.read_exact(&mut head).await.ok()?;
        Some(looks_like_tls(&head))
    };
    matches!(tokio::time::timeout(within, probe).await, Ok(Some(true)))
}

/// The bytes of a ClientHello for `sni` (never completed: no roots are needed).
fn client_hello(sni: &str) -> Option<Vec<u8>> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .ok()?
        .with_root_certificates(RootCertStore::empty())
        .with_no_client_auth();
    let name =
        ServerName::try_from(sni.trim_start_matches('[').trim_end_matches(']').to_owned()).ok()?;
    let mut conn = ClientConnection::new(Arc::new(config), name).ok()?;
    let mut out = Vec::new();
    conn.write_tls(&mut out).ok()?;
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::net::TcpListener;

    #[test]
    fn a_client_hello_is_a_tls_handshake_record() {
        let hello = client_hello("proxy.test").expect("hello");
        assert!(looks_like_tls(&hello), "{:02x?}", &hello[..5]);
        assert!(client_hello("127.0.0.1").is_some());
    }

    #[tokio::test]
    async fn plain_text_and_silent_servers_do_not_speak_tls() {
        let l = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = l.local_addr().expect("addr");
        tokio::spawn(async move {
            while let Ok((mut s, _)) = l.accept().await {
                let _ = s.write_all(b"HTTP/1.1 400 Bad Request\r\n\r\n").await;
            }
        });
        assert!(!speaks_tls(addr, "p.test", Duration::from_secs(2)).await);
        let l = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let silent = l.local_addr().expect("addr");
        tokio::spawn(async move {
            let _keep = l.accept().await;
            tokio::time::sleep(Duration::from_secs(5)).await;
        });
        let started = std::time::Instant::now();
        assert!(!speaks_tls(silent, "p.test", Duration::from_millis(200)).await);
        assert!(started.elapsed() < Duration::from_secs(2));
    }
}
