//! What a [`TestProxy`](super::TestProxy)'s listeners and connection handlers share: the
//! requests it recorded ([`ProxyRequest`], with the [`Listener`] and what was [`Handled`]), the
//! rules in force, the interception CA, and the byte pump between a client and a destination.
//! The HTTP, SOCKS5 and misbehaviour handlers build on it; `proxy` assembles them, so none of
//! them imports another's parent.

use super::recorded::Recorded;
use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, PoisonError, RwLock};

use http::HeaderMap;
use rustls::ClientConfig;
use tokio::io::{AsyncRead, AsyncWrite};

use super::pki::Ca;
use super::policy::Policy;
use super::tasks::Tasks;

/// Which listener of a [`TestProxy`](super::TestProxy) received a request.
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Listener {
    /// The plain `http://` listener.
    Http,
    /// The TLS `https://` listener.
    Https,
    /// The SOCKS5 listener.
    Socks5,
    /// The SOCKS listener, spoken to in SOCKS4 or SOCKS4a (it answers both versions).
    Socks4,
}

/// What the proxy did with a request.
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Handled {
    /// CONNECT answered 200 and the tunnel was opened to the destination.
    Tunnelled,
    /// CONNECT answered 200 and TLS inside the tunnel was intercepted.
    Intercepted,
    /// CONNECT answered 200, TLS was intercepted and every request inside got Squid's 403
    /// ([`Policy::DenyInsideTunnel`]).
    DeniedInsideTunnel,
    /// CONNECT answered 200 and the connection was closed ([`Policy::OkThenClose`]).
    OkThenClosed,
    /// An absolute-form request was relayed; the destination's status.
    Relayed(u16),
    /// The proxy generated this error status itself (policy or real upstream failure).
    Refused(u16),
    /// SOCKS reply code sent: SOCKS5's (0x00 is success) on [`Listener::Socks5`], SOCKS4's
    /// (0x5A is success) on [`Listener::Socks4`].
    Socks(u8),
    /// A connection-level policy answered (garbage, stall, oversized headers): no HTTP reply.
    Misbehaved,
}

/// One request a [`TestProxy`](super::TestProxy) handled.
///
/// `Proxy-Authorization` is kept (so tests can inspect it) but marked sensitive, so `Debug`
/// shows `Sensitive` rather than the credentials.
#[non_exhaustive]
#[derive(Debug, Clone)]
pub struct ProxyRequest {
    /// The listener it arrived on.
    pub listener: Listener,
    /// `CONNECT`, `GET`, … (SOCKS5 CONNECTs are recorded as `CONNECT`).
    pub method: String,
    /// The request target as sent (`host:port` for CONNECT and SOCKS, a URL for absolute-form).
    pub target: String,
    /// Request headers (empty for SOCKS).
    pub headers: HeaderMap,
    /// Whether `Proxy-Authorization` was present (for SOCKS: whether user/password auth ran).
    pub has_proxy_authorization: bool,
    /// What the proxy did.
    pub handled: Handled,
}

/// What an intercepting proxy needs: the CA it signs leaves with and its trust toward origins.
pub(crate) struct Intercept {
    pub(crate) ca: Arc<Ca>,
    pub(crate) origin_trust: Arc<ClientConfig>,
    /// Send the interception CA's certificate after the leaf, as appliances that present their
    /// inspection root do.
    pub(crate) present_ca: bool,
}

/// State shared by a proxy's listeners and connections.
pub(crate) struct Shared {
    /// Behind a lock so [`TestProxy::set_policy`] can change them while the proxy runs.
    pub(super) rules: RwLock<Vec<Policy>>,
    pub(crate) resolve: HashMap<String, IpAddr>,
    pub(crate) socks_auth: Option<(String, String)>,
    /// The reply every SOCKS4 request gets instead of a real connect, when set.
    pub(crate) socks4_reply: Option<u8>,
    pub(crate) intercept: Option<Intercept>,
    pub(super) records: Recorded<ProxyRequest>,
    /// The CONNECTs among every request handled, kept or not.
    pub(super) connects_seen: AtomicUsize,
    pub(super) accepted: AtomicUsize,
    pub(crate) tasks: Tasks,
}

impl Shared {
    pub(crate) fn record(&self, request: ProxyRequest) {
        if request.method == "CONNECT" {
            self.connects_seen.fetch_add(1, Ordering::Relaxed);
        }
        self.records.push(request);
    }

    /// The rules in force now (a snapshot: a connection keeps the rules it started with).
    pub(crate) fn rules(&self) -> Vec<Policy> {
        self.rules
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// The first connection-level rule, if any.
    pub(crate) fn connection_rule(&self) -> Option<Policy> {
        self.rules().into_iter().find(|r| r.is_connection_level())
    }
}

/// Copies bytes both ways until either side closes.
pub(crate) async fn splice<A, B>(mut a: A, mut b: B)
where
    A: AsyncRead + AsyncWrite + Unpin,
    B: AsyncRead + AsyncWrite + Unpin,
{
    let _ = tokio::io::copy_bidirectional(&mut a, &mut b).await;
}
