//! [`TestProxy`]: a forward proxy on `127.0.0.1:0` driven by [`Policy`] rules. It serves HTTP
//! CONNECT and absolute-form forwarding on a plain listener, optionally the same over TLS (an
//! `https://` proxy) and SOCKS5, really connects to destinations, and records every request it
//! handled so a test can assert which proxy carried which request and what it answered.

use super::recorded::Recorded;
use std::collections::HashMap;
use std::fmt;
use std::net::{IpAddr, SocketAddr};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, PoisonError, RwLock};

use rustls::ServerConfig;
use tokio::net::TcpListener;
use tokio_rustls::TlsAcceptor;

use super::client_auth::{ClientAuthRecord, ClientAuthSpec, Records, client_auth_config};
use super::http_proxy::serve_http;
use super::pki::{ChainMode, TestCert, TestPki};
use super::policy::Policy;
use super::shared::{Intercept, Listener, ProxyRequest, Shared};

use super::socks;
use super::tasks::Tasks;

/// Configures and starts a [`TestProxy`]. Created by [`TestProxy::builder`].
pub struct TestProxyBuilder {
    rules: Vec<Policy>,
    tls: Option<Arc<ServerConfig>>,
    socks: Option<Option<(String, String)>>,
    socks4_reply: Option<u8>,
    resolve: HashMap<String, IpAddr>,
    intercept: Option<Intercept>,
}

impl fmt::Debug for TestProxyBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TestProxyBuilder")
            .field("rules", &self.rules)
            .field("tls", &self.tls.is_some())
            .field("socks5", &self.socks.is_some())
            .field("resolve", &self.resolve)
            .finish_non_exhaustive()
    }
}

impl TestProxyBuilder {
    /// Adds a rule; rules apply in the order added (see [`Policy`]).
    pub fn policy(mut self, policy: Policy) -> Self {
        self.rules.push(policy);
        self
    }

    /// Also listen for TLS (an `https://` proxy) presenting `leaf` with its intermediates,
    /// ALPN `http/1.1`.
    ///
    /// # Panics
    /// If rustls rejects the certificate (it does not for certificates made by [`TestPki`]).
    pub fn tls(self, pki: &TestPki, leaf: &TestCert) -> Self {
        self.tls_chain(pki, leaf, ChainMode::Full)
    }

    /// Like [`TestProxyBuilder::tls`], choosing which chain the proxy presents.
    ///
    /// # Panics
    /// As [`TestProxyBuilder::tls`].
    pub fn tls_chain(mut self, pki: &TestPki, leaf: &TestCert, mode: ChainMode) -> Self {
        // A proxy speaks HTTP/1.1 for CONNECT; offering h2 would make clients pick it.
        let mut config = ServerConfig::clone(&pki.server_config(leaf, mode));
        config.alpn_protocols = vec![b"http/1.1".to_vec()];
        self.tls = Some(Arc::new(config));
        self
    }

    /// Also listen for TLS presenting `leaf`, asking clients for a certificate as `spec` says
    /// and recording what they present ([`TestProxy::client_auth`]).
    ///
    /// # Panics
    /// As [`TestProxyBuilder::tls`].
    pub fn tls_with_client_auth(
        mut self,
        _pki: &TestPki,
        leaf: &TestCert,
        spec: &ClientAuthSpec,
    ) -> Self {
        match client_auth_config(leaf, ChainMode::Full, spec, &[b"http/1.1"]) {
            Ok(c) => self.tls = Some(c),
            Err(err) => panic!("TestProxyBuilder::tls_with_client_auth: {err}"),
        }
        self
    }

    /// Also listen for TLS with a configuration of your own.
    pub fn tls_config(mut self, config: Arc<ServerConfig>) -> Self {
        self.tls = Some(config);
        self
    }

    /// Also listen for SOCKS5 without authentication.
    pub fn socks5(mut self) -> Self {
        self.socks = Some(None);
        self
    }

    /// Also listen for SOCKS5 requiring username/password (RFC 1929).
    pub fn socks5_auth(mut self, user: &str, pass: &str) -> Self {
        self.socks = Some(Some((user.to_owned(), pass.to_owned())));
        self
    }

    /// Answers every SOCKS4/4a request on the SOCKS listener with reply `code` (e.g. 0x5C,
    /// "cannot connect to identd on the client") instead of connecting. Enables the listener.
    pub fn socks4_reply(mut self, code: u8) -> Self {
        self.socks.get_or_insert(None);
        self.socks4_reply = Some(code);
        self
    }

    /// Resolves `host` to `ip` inside the proxy (like curl's `--resolve`), so tests can use names
    /// such as `origin.test` for loopback servers.
    pub fn resolve(mut self, host: &str, ip: IpAddr) -> Self {
        self.resolve.insert(host.to_ascii_lowercase(), ip);
        self
    }

    /// Intercepts TLS in CONNECT tunnels with `pki`'s interception CA, trusting `pki`'s root
    /// toward destinations (adds [`Policy::Intercept`] as the last rule).
    pub fn intercept(mut self, pki: &TestPki) -> Self {
        let mut trust = pki.client_config(&[pki.root()]);
        trust.alpn_protocols = vec![b"http/1.1".to_vec()];
        self.intercept = Some(Intercept {
            ca: pki.interception_authority(),
            origin_trust: Arc::new(trust),
            present_ca: false,
        });
        self.rules.push(Policy::Intercept);
        self
    }

    /// Like [`TestProxyBuilder::intercept`], but the presented chain ends with the interception
    /// CA's own (self-signed) certificate, as corporate inspection appliances that send their
    /// root along do: the client sees a chain that ends at a CA, not a leaf alone.
    pub fn intercept_presenting_ca(self, pki: &TestPki) -> Self {
        let mut b = self.intercept(pki);
        if let Some(i) = b.intercept.as_mut() {
            i.present_ca = true;
        }
        b
    }

    /// Binds the listeners on `127.0.0.1:0` and starts serving.
    ///
    /// # Panics
    /// If a loopback port cannot be bound, or outside a Tokio runtime.
    pub async fn start(self) -> TestProxy {
        let tasks = Tasks::default();
        let shared = Arc::new(Shared {
            rules: RwLock::new(self.rules),
            resolve: self.resolve,
            socks_auth: self.socks.clone().flatten(),
            socks4_reply: self.socks4_reply,
            intercept: self.intercept,
            records: Recorded::default(),
            connects_seen: AtomicUsize::new(0),
            accepted: AtomicUsize::new(0),
            tasks: tasks.clone(),
        });
        let client_auth = Records::default();
        let (http_listener, addr) = bind().await;
        spawn_loop(&shared, http_listener, Kind::Http(None));
        let https_addr = match self.tls {
            Some(config) => {
                let (l, a) = bind().await;
                let tls = (TlsAcceptor::from(config), client_auth.clone());
                spawn_loop(&shared, l, Kind::Http(Some(tls)));
                Some(a)
            }
            None => None,
        };
        let socks_addr = match self.socks {
            Some(_) => {
                let (l, a) = bind().await;
                spawn_loop(&shared, l, Kind::Socks);
                Some(a)
            }
            None => None,
        };
        TestProxy {
            addr,
            https_addr,
            socks_addr,
            shared,
            client_auth,
            tasks,
        }
    }
}

/// A forward proxy for tests on `127.0.0.1:0`, driven by [`Policy`] rules: HTTP CONNECT and
/// absolute-form forwarding on [`TestProxy::url`], the same over TLS on [`TestProxy::https_url`]
/// when [`TestProxyBuilder::tls`] is used, and SOCKS5 on [`TestProxy::socks5_url`] when enabled.
/// Allowed requests really reach their destination (so unreachable ones produce real errors);
/// every request is recorded ([`TestProxy::requests`], [`TestProxy::connects`]).
///
/// Dropping it aborts every task and closes every listener; [`TestProxy::shutdown`] also waits
/// until they are closed. A panic in a proxy task is re-raised by [`TestProxy::check`],
/// `shutdown`, or on drop.
pub struct TestProxy {
    addr: SocketAddr,
    https_addr: Option<SocketAddr>,
    socks_addr: Option<SocketAddr>,
    shared: Arc<Shared>,
    client_auth: Records,
    tasks: Tasks,
}

impl fmt::Debug for TestProxy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TestProxy")
            .field("addr", &self.addr)
            .field("https_addr", &self.https_addr)
            .field("socks_addr", &self.socks_addr)
            .field("rules", &self.shared.rules())
            .finish_non_exhaustive()
    }
}

impl TestProxy {
    /// A builder with no rules (forward everything).
    pub fn builder() -> TestProxyBuilder {
        TestProxyBuilder {
            rules: Vec::new(),
            tls: None,
            socks: None,
            socks4_reply: None,
            resolve: HashMap::new(),
            intercept: None,
        }
    }

    /// Starts a plain HTTP proxy that forwards everything.
    pub async fn allow_all() -> TestProxy {
        TestProxy::builder().start().await
    }

    /// Address of the plain HTTP listener.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `http://127.0.0.1:{port}`.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// `http://{user}:{pass}@127.0.0.1:{port}` (percent-encode special characters yourself).
    pub fn url_with_credentials(&self, user: &str, pass: &str) -> String {
        format!("http://{user}:{pass}@{}", self.addr)
    }

    /// Address of the TLS listener, if [`TestProxyBuilder::tls`] was used.
    pub fn https_addr(&self) -> Option<SocketAddr> {
        self.https_addr
    }

    /// `https://localhost:{port}` (the name [`TestPki::localhost`] is valid for), if TLS is on.
    pub fn https_url(&self) -> Option<String> {
        self.https_addr
            .map(|a| format!("https://localhost:{}", a.port()))
    }

    /// Address of the SOCKS5 listener, if enabled.
    pub fn socks5_addr(&self) -> Option<SocketAddr> {
        self.socks_addr
    }

    /// `socks5://127.0.0.1:{port}`, if SOCKS5 is enabled.
    pub fn socks5_url(&self) -> Option<String> {
        self.socks_addr.map(|a| format!("socks5://{a}"))
    }

    /// `socks4://127.0.0.1:{port}`, if the SOCKS listener is enabled (it answers SOCKS4, SOCKS4a
    /// and SOCKS5 alike).
    pub fn socks4_url(&self) -> Option<String> {
        self.socks_addr.map(|a| format!("socks4://{a}"))
    }

    /// `socks4a://127.0.0.1:{port}`, if the SOCKS listener is enabled.
    pub fn socks4a_url(&self) -> Option<String> {
        self.socks_addr.map(|a| format!("socks4a://{a}"))
    }

    /// The requests handled so far, in order: every one, or the most recent
    /// [`RECORDED_MAX`](super::RECORDED_MAX) after more (see [`TestProxy::request_count`]).
    pub fn requests(&self) -> Vec<ProxyRequest> {
        self.shared.records.all()
    }

    /// How many requests the proxy handled in all, including those
    /// [`requests`](TestProxy::requests) no longer keeps.
    pub fn request_count(&self) -> u64 {
        self.shared.records.seen()
    }

    /// The CONNECT requests (HTTP and SOCKS) among those [`requests`](TestProxy::requests) keeps.
    pub fn connects(&self) -> Vec<ProxyRequest> {
        self.requests()
            .into_iter()
            .filter(|r| r.method == "CONNECT")
            .collect()
    }

    /// How many CONNECTs were handled in all, including those
    /// [`connects`](TestProxy::connects) no longer keeps.
    pub fn connect_count(&self) -> usize {
        self.shared.connects_seen.load(Ordering::Relaxed)
    }

    /// Replaces every rule with `policy` while the proxy runs, e.g. to start denying a
    /// destination that was allowed. Connections already open keep the rules they started
    /// with; new connections and new requests get the new rule.
    pub fn set_policy(&self, policy: Policy) {
        self.set_policies(vec![policy]);
    }

    /// Replaces every rule with `policies` (applied in order, as with
    /// [`TestProxyBuilder::policy`]) while the proxy runs.
    pub fn set_policies(&self, policies: Vec<Policy>) {
        *self
            .shared
            .rules
            .write()
            .unwrap_or_else(PoisonError::into_inner) = policies;
    }

    /// Every TLS handshake of the `https://` listener so far: the client certificate presented
    /// (if any) and whether the handshake completed (see
    /// [`TestProxyBuilder::tls_with_client_auth`]).
    pub fn client_auth(&self) -> Vec<ClientAuthRecord> {
        self.client_auth.all()
    }

    /// How many TCP connections the listeners accepted (including ones a policy dropped).
    pub fn accepted(&self) -> usize {
        self.shared.accepted.load(Ordering::Relaxed)
    }

    /// Re-raises a panic from a proxy task, if one happened.
    pub fn check(&self) {
        self.tasks.check();
    }

    /// Stops every listener and waits until all sockets are closed.
    pub async fn shutdown(self) {
        self.tasks.shutdown().await;
    }
}

impl Drop for TestProxy {
    fn drop(&mut self) {
        self.tasks.abort();
    }
}

enum Kind {
    Http(Option<(TlsAcceptor, Records)>),
    Socks,
}

async fn bind() -> (TcpListener, SocketAddr) {
    let listener = match TcpListener::bind(("127.0.0.1", 0)).await {
        Ok(l) => l,
        Err(err) => panic!("TestProxy: binding 127.0.0.1:0: {err}"),
    };
    match listener.local_addr() {
        Ok(addr) => (listener, addr),
        Err(err) => panic!("TestProxy: local_addr: {err}"),
    }
}

fn spawn_loop(shared: &Arc<Shared>, listener: TcpListener, kind: Kind) {
    let shared_loop = Arc::clone(shared);
    shared.tasks.spawn(async move {
        loop {
            let Ok((stream, _)) = listener.accept().await else {
                // Out of descriptors or similar: back off instead of spinning.
                tokio::time::sleep(std::time::Duration::from_millis(10)).await;
                continue;
            };
            shared_loop.accepted.fetch_add(1, Ordering::Relaxed);
            // A relay forwards what it reads at once: with Nagle's algorithm on, the last part
            // of a burst waits for the peer's delayed acknowledgement (tens of milliseconds).
            let _ = stream.set_nodelay(true);
            if matches!(shared_loop.connection_rule(), Some(Policy::OkThenReset)) {
                // Dropping the socket then sends RST instead of FIN.
                let _ = stream.set_zero_linger();
            }
            let shared = Arc::clone(&shared_loop);
            match &kind {
                Kind::Socks => shared_loop
                    .tasks
                    .spawn(async move { socks::serve(stream, shared).await }),
                Kind::Http(None) => shared_loop
                    .tasks
                    .spawn(async move { serve_http(stream, Listener::Http, shared).await }),
                Kind::Http(Some((acceptor, records))) => {
                    let acceptor = acceptor.clone();
                    let records = records.clone();
                    shared_loop.tasks.spawn(async move {
                        if let Ok(tls) = records.accept(acceptor.accept(stream)).await {
                            serve_http(tls, Listener::Https, shared).await;
                        }
                    });
                }
            }
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::Handled;

    #[tokio::test]
    async fn a_proxy_task_panic_is_raised_by_check_and_shutdown() {
        let proxy = TestProxy::allow_all().await;
        proxy.check();
        proxy.tasks.spawn(async { panic!("proxy task exploded") });
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        let caught = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| proxy.check()));
        let payload = caught.expect_err("check re-raises the panic");
        assert_eq!(payload.downcast_ref::<&str>(), Some(&"proxy task exploded"));

        proxy.tasks.spawn(async { panic!("second") });
        let joined = tokio::spawn(proxy.shutdown()).await;
        let err = joined.expect_err("shutdown re-raises the panic");
        assert!(err.is_panic());
    }

    #[tokio::test]
    async fn debug_shows_addresses_and_rules_but_not_passwords() {
        let proxy = TestProxy::builder()
            .policy(Policy::require_basic("alice", "hunter2", "r"))
            .socks5_auth("bob", "sw0rdfish")
            .start()
            .await;
        let shown = format!("{proxy:?}");
        assert!(
            shown.contains("RequireBasic") && shown.contains("alice"),
            "{shown}"
        );
        assert!(
            !shown.contains("hunter2") && !shown.contains("sw0rdfish"),
            "{shown}"
        );
    }

    async fn connect_status(proxy: &TestProxy, target: &str) -> String {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let mut s = tokio::net::TcpStream::connect(proxy.addr()).await.unwrap();
        let head = format!("CONNECT {target} HTTP/1.1\r\nHost: {target}\r\n\r\n");
        s.write_all(head.as_bytes()).await.unwrap();
        let mut buf = [0u8; 12];
        s.read_exact(&mut buf).await.unwrap();
        String::from_utf8_lossy(&buf).into_owned()
    }

    #[tokio::test]
    async fn set_policy_applies_to_new_connections() {
        let origin = crate::testing::TestOrigin::http().await;
        let target = origin.addr().to_string();
        let proxy = TestProxy::allow_all().await;
        assert_eq!(connect_status(&proxy, &target).await, "HTTP/1.1 200");

        proxy.set_policy(Policy::deny(&["127.0.0.1"]));
        assert_eq!(connect_status(&proxy, &target).await, "HTTP/1.1 403");
        proxy.set_policies(vec![Policy::AllowAll]);
        assert_eq!(connect_status(&proxy, &target).await, "HTTP/1.1 200");

        let handled: Vec<Handled> = proxy.connects().iter().map(|r| r.handled).collect();
        assert_eq!(
            handled,
            [
                Handled::Tunnelled,
                Handled::Refused(403),
                Handled::Tunnelled
            ]
        );
        assert!(format!("{proxy:?}").contains("AllowAll"));
    }
}
