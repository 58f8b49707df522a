//! TestProxy's SOCKS5 listener byte by byte (RFC 1928 / RFC 1929): method negotiation,
//! username/password, CONNECT by IPv4, domain and IPv6, and the reply codes policies choose.

use std::net::{IpAddr, Ipv4Addr};
use std::time::Duration;

use proxyscope::testing::{
    Handled, Listener, Policy, REPLY_ADDRESS_NOT_SUPPORTED, REPLY_COMMAND_NOT_SUPPORTED,
    REPLY_CONNECTION_REFUSED, REPLY_HOST_UNREACHABLE, REPLY_NOT_ALLOWED, TestOrigin, TestProxy,
    refused_addr,
};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

async fn read_n(tcp: &mut TcpStream, n: usize) -> Vec<u8> {
    let mut buf = vec![0u8; n];
    tokio::time::timeout(Duration::from_secs(5), tcp.read_exact(&mut buf))
        .await
        .expect("reply within 5s")
        .expect("read");
    buf
}

/// Greets with no-auth, sends CONNECT with `addr` (ATYP + address bytes) and `port`; returns the
/// 10-byte (IPv4-bound) reply.
async fn connect_noauth(proxy: &TestProxy, addr: &[u8], port: u16) -> (TcpStream, Vec<u8>) {
    let mut tcp = TcpStream::connect(proxy.socks5_addr().expect("socks"))
        .await
        .expect("connect");
    tcp.write_all(&[0x05, 0x01, 0x00]).await.expect("greet");
    assert_eq!(read_n(&mut tcp, 2).await, [0x05, 0x00]);
    let mut req = vec![0x05, 0x01, 0x00];
    req.extend_from_slice(addr);
    req.extend_from_slice(&port.to_be_bytes());
    tcp.write_all(&req).await.expect("request");
    let reply = read_n(&mut tcp, 10).await;
    (tcp, reply)
}

fn ipv4(ip: [u8; 4]) -> Vec<u8> {
    let mut v = vec![0x01];
    v.extend_from_slice(&ip);
    v
}

fn domain(name: &str) -> Vec<u8> {
    let mut v = vec![0x03, u8::try_from(name.len()).expect("short name")];
    v.extend_from_slice(name.as_bytes());
    v
}

#[tokio::test]
async fn noauth_connect_by_ipv4_tunnels_to_the_origin() {
    let origin = TestOrigin::http().await;
    let proxy = TestProxy::builder().socks5().start().await;
    assert_eq!(
        proxy.socks5_url(),
        proxy.socks5_addr().map(|a| format!("socks5://{a}"))
    );
    let (mut tcp, reply) = connect_noauth(&proxy, &ipv4([127, 0, 0, 1]), origin.port()).await;
    assert_eq!(
        &reply[..4],
        &[0x05, 0x00, 0x00, 0x01],
        "success, IPv4 bound address"
    );
    assert_eq!(&reply[4..8], &[127, 0, 0, 1]);
    assert_ne!(
        u16::from_be_bytes([reply[8], reply[9]]),
        0,
        "bound port of the outbound socket"
    );
    tcp.write_all(b"GET /status/207 HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        .await
        .expect("w");
    let mut out = Vec::new();
    tcp.read_to_end(&mut out).await.expect("read");
    assert!(
        out.starts_with(b"HTTP/1.1 207"),
        "{}",
        String::from_utf8_lossy(&out)
    );
    let c = &proxy.connects()[0];
    assert_eq!(
        (c.listener, c.handled),
        (Listener::Socks5, Handled::Socks(0x00))
    );
    assert_eq!(c.target, format!("127.0.0.1:{}", origin.port()));
    assert!(!c.has_proxy_authorization);
}

#[tokio::test]
async fn domain_names_resolve_inside_the_proxy() {
    let origin = TestOrigin::http().await;
    let proxy = TestProxy::builder()
        .socks5()
        .resolve("origin.test", IpAddr::V4(Ipv4Addr::LOCALHOST))
        .start()
        .await;
    let (_tcp, reply) = connect_noauth(&proxy, &domain("origin.test"), origin.port()).await;
    assert_eq!(reply[1], 0x00);
    assert_eq!(
        proxy.connects()[0].target,
        format!("origin.test:{}", origin.port())
    );
}

#[tokio::test]
async fn ipv6_targets_are_parsed_and_really_connected() {
    let closed = refused_addr().port();
    let proxy = TestProxy::builder().socks5().start().await;
    let mut addr = vec![0x04];
    addr.extend_from_slice(&std::net::Ipv6Addr::LOCALHOST.octets());
    let (_tcp, reply) = connect_noauth(&proxy, &addr, closed).await;
    // ::1 may be refused or unavailable on this host; either way it is a real failure code.
    assert!(
        [REPLY_CONNECTION_REFUSED, REPLY_HOST_UNREACHABLE, 0x01, 0x03].contains(&reply[1]),
        "{reply:?}"
    );
    assert_eq!(proxy.connects()[0].target, format!("[::1]:{closed}"));
}

#[tokio::test]
async fn user_pass_auth_accepts_the_right_credentials_only() {
    let origin = TestOrigin::http().await;
    let proxy = TestProxy::builder()
        .socks5_auth("bob", "pa55")
        .start()
        .await;
    let socks = proxy.socks5_addr().expect("socks");

    // Offering only no-auth is refused with 0xFF.
    let mut tcp = TcpStream::connect(socks).await.expect("connect");
    tcp.write_all(&[0x05, 0x01, 0x00]).await.expect("greet");
    assert_eq!(read_n(&mut tcp, 2).await, [0x05, 0xff]);

    // Wrong password: RFC 1929 status 0x01, then close.
    let mut tcp = TcpStream::connect(socks).await.expect("connect");
    tcp.write_all(&[0x05, 0x02, 0x00, 0x02])
        .await
        .expect("greet");
    assert_eq!(read_n(&mut tcp, 2).await, [0x05, 0x02]);
    tcp.write_all(&[0x01, 3, b'b', b'o', b'b', 4, b'n', b'o', b'p', b'e'])
        .await
        .expect("auth");
    assert_eq!(read_n(&mut tcp, 2).await, [0x01, 0x01]);

    // Right password: 0x00, then CONNECT succeeds.
    let mut tcp = TcpStream::connect(socks).await.expect("connect");
    tcp.write_all(&[0x05, 0x01, 0x02]).await.expect("greet");
    assert_eq!(read_n(&mut tcp, 2).await, [0x05, 0x02]);
    tcp.write_all(&[0x01, 3, b'b', b'o', b'b', 4, b'p', b'a', b'5', b'5'])
        .await
        .expect("auth");
    assert_eq!(read_n(&mut tcp, 2).await, [0x01, 0x00]);
    let mut req = vec![0x05, 0x01, 0x00, 0x01, 127, 0, 0, 1];
    req.extend_from_slice(&origin.port().to_be_bytes());
    tcp.write_all(&req).await.expect("request");
    assert_eq!(read_n(&mut tcp, 10).await[1], 0x00);
    let c = &proxy.connects()[0];
    assert!(c.has_proxy_authorization);
    assert!(!format!("{proxy:?} {c:?}").contains("pa55"));
}

#[tokio::test]
async fn policies_choose_socks_reply_codes() {
    let cases = [
        (Policy::deny(&["denied.test"]), REPLY_NOT_ALLOWED),
        (Policy::Unreachable, REPLY_CONNECTION_REFUSED),
        (Policy::Unresolvable, REPLY_HOST_UNREACHABLE),
    ];
    for (policy, code) in cases {
        let shown = format!("{policy:?}");
        let proxy = TestProxy::builder().policy(policy).socks5().start().await;
        let (_tcp, reply) = connect_noauth(&proxy, &domain("denied.test"), 443).await;
        assert_eq!(reply[..3], [0x05, code, 0x00], "{shown}");
        assert_eq!(proxy.connects()[0].handled, Handled::Socks(code), "{shown}");
    }
}

#[tokio::test]
async fn real_connect_failure_is_connection_refused() {
    let closed = refused_addr().port();
    let proxy = TestProxy::builder().socks5().start().await;
    let (_tcp, reply) = connect_noauth(&proxy, &ipv4([127, 0, 0, 1]), closed).await;
    assert_eq!(reply[1], REPLY_CONNECTION_REFUSED);
}

#[tokio::test]
async fn unsupported_command_and_address_type_are_refused() {
    let proxy = TestProxy::builder().socks5().start().await;
    let socks = proxy.socks5_addr().expect("socks");
    // BIND (0x02) is not supported.
    let mut tcp = TcpStream::connect(socks).await.expect("connect");
    tcp.write_all(&[0x05, 0x01, 0x00]).await.expect("greet");
    read_n(&mut tcp, 2).await;
    tcp.write_all(&[0x05, 0x02, 0x00, 0x01, 127, 0, 0, 1, 0, 80])
        .await
        .expect("bind");
    assert_eq!(read_n(&mut tcp, 10).await[1], REPLY_COMMAND_NOT_SUPPORTED);
    // ATYP 0x09 does not exist.
    let mut tcp = TcpStream::connect(socks).await.expect("connect");
    tcp.write_all(&[0x05, 0x01, 0x00]).await.expect("greet");
    read_n(&mut tcp, 2).await;
    tcp.write_all(&[0x05, 0x01, 0x00, 0x09])
        .await
        .expect("atyp");
    assert_eq!(read_n(&mut tcp, 10).await[1], REPLY_ADDRESS_NOT_SUPPORTED);
}

#[tokio::test]
async fn connection_level_policies_apply_to_socks_too() {
    let proxy = TestProxy::builder()
        .policy(Policy::Garbage)
        .socks5()
        .start()
        .await;
    let mut tcp = TcpStream::connect(proxy.socks5_addr().expect("socks"))
        .await
        .expect("connect");
    tcp.write_all(&[0x05, 0x01, 0x00]).await.expect("greet");
    let mut out = Vec::new();
    let _ = tokio::time::timeout(Duration::from_secs(5), tcp.read_to_end(&mut out)).await;
    assert!(
        out.len() > 2 && out[0] != 0x05,
        "not a SOCKS method selection: {out:?}"
    );
}
