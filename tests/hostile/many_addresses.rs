//! A name that resolves to many addresses, none of which answers: the connect timeout covers
//! resolving the name and every address together (curl's `--connect-timeout`), so a DNS answer
//! with a hundred addresses cannot multiply it. Time is the runtime's paused clock, which jumps to the
//! next timer whenever nothing else can run: the elapsed time is exact, never measured.

use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

use proxyscope::connect::Resolver;
use proxyscope::{Blame, Client, EnvSnapshot, Hop, Phase, Settings};

/// A listener whose accept queue is full and never drained: the kernel drops further SYNs, so
/// a connection to it neither completes nor is refused — a black hole on loopback.
pub(crate) fn black_hole() -> (std::net::TcpListener, Vec<std::net::TcpStream>) {
    let socket = tokio::net::TcpSocket::new_v4().unwrap();
    socket.bind("127.0.0.1:0".parse().unwrap()).unwrap();
    // Only the std listener is kept; tokio's is made from the raw socket for `listen(1)`.
    let listener = socket.listen(1).unwrap().into_std().unwrap();
    let addr = listener.local_addr().unwrap();
    let mut queued = Vec::new();
    while queued.len() < 64 {
        match std::net::TcpStream::connect_timeout(&addr, Duration::from_millis(200)) {
            Ok(s) => queued.push(s),
            Err(_) => return (listener, queued),
        }
    }
    panic!("the accept queue of a listen(1) socket never filled");
}

/// A black hole's port and what keeps it one, made in a current-thread runtime whose clock is
/// paused (it jumps to the next timer whenever nothing can run: elapsed times are exact).
pub(crate) struct PausedBlackHole {
    pub(crate) rt: tokio::runtime::Runtime,
    pub(crate) port: u16,
    _listener: std::net::TcpListener,
    _queued: Vec<std::net::TcpStream>,
}

pub(crate) fn paused_black_hole() -> PausedBlackHole {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .start_paused(true)
        .build()
        .unwrap();
    // Made in the runtime (tokio's socket needs its reactor), filled in real time.
    let (listener, queued) = rt.block_on(async { black_hole() });
    PausedBlackHole {
        port: listener.local_addr().unwrap().port(),
        rt,
        _listener: listener,
        _queued: queued,
    }
}

#[test]
fn every_address_shares_the_connect_timeout() {
    let n = 20;
    let connect = Duration::from_millis(400);
    let hole = paused_black_hole();
    let port = hole.port;
    hole.rt.block_on(async {
        let loopback: IpAddr = "127.0.0.1".parse().unwrap();
        let client = Client::builder()
            .global(Settings::new().with_timeout(Phase::Connect, connect))
            .env(EnvSnapshot::from_pairs(Vec::<(String, String)>::new()))
            .resolver(Resolver::pinned("many.test", vec![loopback; n]))
            .build()
            .unwrap();
        let started = tokio::time::Instant::now();
        let e = client
            .get(format!("http://many.test:{port}/"))
            .send()
            .await
            .unwrap_err();
        let elapsed = started.elapsed();
        assert_eq!(e.code(), "origin.timeout", "{}", e.report());
        assert_eq!((e.hop(), e.phase()), (Some(Hop::Origin), Phase::Connect));
        assert_eq!(e.blame(), Blame::Network);
        assert_eq!(e.evidence().timeout, Some(connect));
        let tried = &e.evidence().addresses;
        assert!(!tried.is_empty() && tried.len() <= n, "{tried:?}");
        let target = SocketAddr::new(loopback, port);
        assert!(tried.iter().all(|a| a.addr == target));
        // The whole phase within the one timeout (the paused clock is exact).
        assert!(elapsed <= connect, "{n} addresses took {elapsed:?}");
    });
}

/// A DNS answer with thousands of addresses that all refuse at once: refusals are fast, so the
/// shared deadline does not stop the loop, and every attempt used to be tried and kept as
/// evidence (5,000 `addresses` entries in the error, its JSON and the probe's page). At most
/// 64 are tried; the message says how many there were.
#[tokio::test]
async fn thousands_of_refusing_addresses_are_not_all_tried_or_kept() {
    let n = 5_000;
    // A port nothing listens on: bound, then released.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let loopback: IpAddr = "127.0.0.1".parse().unwrap();
    let client = Client::builder()
        .env(EnvSnapshot::from_pairs(Vec::<(String, String)>::new()))
        .resolver(Resolver::pinned("many.test", vec![loopback; n]))
        .build()
        .unwrap();
    let e = client
        .get(format!("http://many.test:{port}/"))
        .send()
        .await
        .unwrap_err();
    assert_eq!(e.code(), "origin.connect", "{}", e.report());
    assert_eq!((e.hop(), e.phase()), (Some(Hop::Origin), Phase::Connect));
    let tried = &e.evidence().addresses;
    assert_eq!(tried.len(), 64, "{} addresses kept", tried.len());
    let target = SocketAddr::new(loopback, port);
    assert!(tried.iter().all(|a| a.addr == target && a.error.is_some()));
    assert!(e.message().contains(&n.to_string()), "{}", e.message());
}
