//! proxyscope's [`Client`] pointed at a real proxy, for `tests/real_client_*.rs`: a layer with
//! short per-phase timeouts, a builder with an empty environment and a resolver that refuses
//! every name, the proxy URL with credentials, and the checks every proxy refusal shares.
//!
//! The resolver refuses every lookup because through an HTTP proxy the client never resolves
//! the destination to connect (the proxy does) and the proxy URLs are `127.0.0.1` literals; the
//! one lookup the client makes — after a refusal, to see whether the destination's address is in
//! `no_proxy` under another name — must never reach a real resolver either.

// Each test file uses part of this module; what one leaves unused is not dead.
#![allow(dead_code)]

use std::io;
use std::time::Duration;

use proxyscope::client::ClientBuilder;
use proxyscope::connect::{Resolve, Resolver, Resolving};
use proxyscope::{EnvSnapshot, Error, Hop, Phase, ProxySetting, Settings};

/// Fails every lookup: no test name may be resolved by the client.
struct NoLookups;

impl Resolve for NoLookups {
    fn resolve(&self, host: &str) -> Resolving {
        let host = host.to_owned();
        Box::pin(async move {
            Err(io::Error::new(
                io::ErrorKind::NotFound,
                format!("the test resolver refuses {host}: the proxy resolves destinations"),
            ))
        })
    }
}

/// A layer that sends everything through `proxy`, each phase bounded well under a test's budget.
pub(crate) fn via(proxy: &str) -> Settings {
    Settings::new()
        .with_proxy(ProxySetting::parse(proxy).expect("the proxy URL parses"))
        .with_timeout(Phase::Connect, Duration::from_secs(2))
        .with_timeout(Phase::Proxy, Duration::from_secs(2))
        .with_timeout(Phase::Tls, Duration::from_secs(2))
        .with_timeout(Phase::Http, Duration::from_secs(3))
}

/// A client builder with `global` as the global layer, an empty environment (no `*_proxy`
/// variable of the machine leaks in) and the no-lookup resolver.
pub(crate) fn builder(global: Settings) -> ClientBuilder {
    proxyscope::client::Client::builder()
        .global(global)
        .env(EnvSnapshot::from_pairs(Vec::<(String, String)>::new()))
        .resolver(Resolver::custom(NoLookups))
}

/// `http://user:password@host:port` from `http://host:port`, both parts percent-encoded.
pub(crate) fn with_credentials(proxy_url: &str, user: &str, password: &str) -> String {
    let mut url = url::Url::parse(proxy_url).expect("a proxy URL");
    url.set_username(user).expect("a user name can be set");
    url.set_password(Some(password))
        .expect("a password can be set");
    url.to_string().trim_end_matches('/').to_owned()
}

/// What every refused CONNECT shares: the code, hop `proxy`, phase `proxy`, the proxy named
/// without credentials, whether credentials were sent, and the reply's status and reason.
pub(crate) fn assert_connect_refused(
    e: &Error,
    code: &str,
    proxy_url: &str,
    credentials_sent: bool,
    status: u16,
    reason: &str,
) {
    let report = e.report();
    assert_eq!(e.code(), code, "{report}");
    assert_eq!(e.hop(), Some(Hop::Proxy), "{report}");
    assert_eq!(e.phase(), Phase::Proxy, "{report}");
    let ev = e.evidence();
    assert_eq!(ev.proxy.as_deref(), Some(proxy_url), "{report}");
    assert_eq!(ev.credentials_sent, Some(credentials_sent), "{report}");
    let reply = ev.proxy_reply.as_ref().expect("the proxy's reply is kept");
    assert_eq!(reply.status, status, "{report}");
    assert_eq!(reply.reason, reason, "{report}");
    assert!(
        e.route().and_then(|r| r.proxy()).is_some(),
        "the route names the proxy: {report}"
    );
    assert!(e.hint().is_some(), "{report}");
}

/// Neither the password nor its Basic token appear in the error's Display, Debug, report or
/// JSON form.
pub(crate) fn assert_no_secret(e: &Error, user: &str, password: &str) {
    let value = proxyscope::testing::basic_auth(user, password);
    let token = value.trim_start_matches("Basic ");
    let json = serde_json::to_string(e).expect("errors serialise");
    for shown in [e.to_string(), format!("{e:?}"), e.report(), json] {
        assert!(!shown.contains(password), "password leaked: {shown}");
        assert!(!shown.contains(token), "Basic token leaked: {shown}");
    }
}
