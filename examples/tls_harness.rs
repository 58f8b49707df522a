//! A downstream service testing its own egress setup with proxyscope's harness.
//!
//! Imagine a service that reaches an HTTPS partner API through a corporate forward proxy and
//! trusts a CA file from its config. Its HTTP stack is plain hyper-util + tokio-rustls (not
//! proxyscope's client). This example is the integration test it would write: start a PKI, an
//! origin and proxies on loopback, point the service's *own* fetch function at them, and check
//! that each configuration succeeds or fails the way it should — and which hop saw what.
//!
//! Run: `cargo run --example tls_harness`. Exits 0 when every scenario behaved as expected.

use std::future::poll_fn;
use std::path::Path;
use std::process::ExitCode;
use std::sync::Arc;

use bytes::Bytes;
use http_body_util::{BodyExt, Empty};
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::client::legacy::connect::proxy::Tunnel;
use hyper_util::rt::TokioIo;
use proxyscope::testing::{ChainMode, Handled, Policy, TestOrigin, TestPki, TestProxy};
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, ServerName};
use tokio_rustls::TlsConnector;
use tower_service::Service;

type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// The service's egress configuration (what would come from its config file).
struct Egress<'a> {
    proxy: String,
    ca_file: &'a Path,
}

/// The service's own fetch: CONNECT through the proxy, TLS with the configured CA file, GET.
async fn fetch(egress: &Egress<'_>, url: &str) -> Result<(u16, String), BoxError> {
    let uri: http::Uri = url.parse()?;
    let host = uri.host().ok_or("url without host")?.to_owned();

    let mut roots = rustls::RootCertStore::empty();
    for cert in CertificateDer::pem_file_iter(egress.ca_file)? {
        roots.add(cert?)?;
    }
    let tls = rustls::ClientConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()?
    .with_root_certificates(roots)
    .with_no_client_auth();

    let mut tunnel = Tunnel::new(egress.proxy.parse()?, HttpConnector::new());
    poll_fn(|cx| tunnel.poll_ready(cx)).await?;
    let tcp = tunnel.call(uri.clone()).await?.into_inner();
    let stream = TlsConnector::from(Arc::new(tls))
        .connect(ServerName::try_from(host.clone())?, tcp)
        .await?;

    let (mut sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream)).await?;
    tokio::spawn(conn);
    let path = uri.path_and_query().map_or("/", |p| p.as_str());
    let req = http::Request::get(path)
        .header(
            http::header::HOST,
            uri.authority().map_or(host.as_str(), |a| a.as_str()),
        )
        .body(Empty::<Bytes>::new())?;
    let resp = sender.send_request(req).await?;
    let status = resp.status().as_u16();
    let body = resp.into_body().collect().await?.to_bytes();
    Ok((status, String::from_utf8_lossy(&body).into_owned()))
}

/// Whether the error chain contains a rustls certificate error.
fn is_untrusted(err: &BoxError) -> bool {
    let mut source: Option<&(dyn std::error::Error + 'static)> = Some(err.as_ref());
    while let Some(e) = source {
        if let Some(rustls::Error::InvalidCertificate(_)) = e.downcast_ref::<rustls::Error>() {
            return true;
        }
        if let Some(io) = e.downcast_ref::<std::io::Error>()
            && let Some(rustls::Error::InvalidCertificate(_)) =
                io.get_ref().and_then(|i| i.downcast_ref::<rustls::Error>())
        {
            return true;
        }
        source = e.source();
    }
    false
}

fn report(name: &str, ok: bool, detail: String, failures: &mut u32) {
    println!("{} {name}: {detail}", if ok { "ok    " } else { "FAILED" });
    if !ok {
        *failures += 1;
    }
}

async fn run() -> Result<u32, BoxError> {
    let pki = TestPki::new();
    let origin = TestOrigin::https(&pki, pki.localhost(), ChainMode::Full).await;
    let url = origin.url_with_host("localhost", "/echo");
    let mut failures = 0;

    // 1. The intended setup: the proxy allows the partner, the CA file holds the partner's root.
    let proxy = TestProxy::allow_all().await;
    let good = Egress {
        proxy: proxy.url(),
        ca_file: pki.root_pem_path(),
    };
    let result = fetch(&good, &url).await;
    let ok = matches!(&result, Ok((200, body)) if body.contains("\"form\":\"origin\""))
        && proxy.connect_count() == 1;
    report(
        "tunnelled request with the right CA",
        ok,
        format!("{:?}", result.map(|r| r.0)),
        &mut failures,
    );

    // 2. A config that points at the wrong CA file must fail on trust, not silently succeed.
    let wrong_ca = Egress {
        proxy: proxy.url(),
        ca_file: pki.interception_ca_path(),
    };
    let result = fetch(&wrong_ca, &url).await;
    let ok = result.as_ref().is_err_and(is_untrusted);
    report(
        "wrong CA file is rejected",
        ok,
        format!("{:?}", result.map(|r| r.0)),
        &mut failures,
    );

    // 3. The proxy refuses the partner: the service errors, and the proxy's record says why
    //    (hyper-util's Tunnel drops the 403 itself; the harness keeps it).
    let denying = TestProxy::builder()
        .policy(Policy::deny(&["localhost"]))
        .start()
        .await;
    let denied = Egress {
        proxy: denying.url(),
        ca_file: pki.root_pem_path(),
    };
    let result = fetch(&denied, &url).await;
    let handled = denying.connects().first().map(|c| c.handled);
    let ok = result.is_err() && handled == Some(Handled::Refused(403));
    report(
        "proxy denial seen as a 403 at the proxy",
        ok,
        format!("{handled:?}"),
        &mut failures,
    );

    // 4. A TLS-intercepting corporate proxy: works only when its CA is in the service's bundle.
    let intercepting = TestProxy::builder().intercept(&pki).start().await;
    let bundle = pki.bundle(&[pki.root(), pki.interception_ca()]);
    let corp = Egress {
        proxy: intercepting.url(),
        ca_file: &bundle,
    };
    let result = fetch(&corp, &url).await;
    let ok = matches!(&result, Ok((200, _)))
        && intercepting.connects().first().map(|c| c.handled) == Some(Handled::Intercepted);
    report(
        "interception CA in the bundle",
        ok,
        format!("{:?}", result.map(|r| r.0)),
        &mut failures,
    );
    let strict = Egress {
        proxy: intercepting.url(),
        ca_file: pki.root_pem_path(),
    };
    let result = fetch(&strict, &url).await;
    let ok = result.as_ref().is_err_and(is_untrusted);
    report(
        "interception detected without its CA",
        ok,
        format!("{:?}", result.map(|r| r.0)),
        &mut failures,
    );

    // The origin saw exactly the requests that got through (1 and 4).
    let seen = origin.requests().len();
    report(
        "origin saw two requests",
        seen == 2,
        format!("{seen}"),
        &mut failures,
    );
    for handle in [&proxy, &denying, &intercepting] {
        handle.check();
    }
    origin.check();
    Ok(failures)
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> ExitCode {
    match run().await {
        Ok(0) => ExitCode::SUCCESS,
        Ok(n) => {
            eprintln!("{n} scenario(s) did not behave as expected");
            ExitCode::FAILURE
        }
        Err(err) => {
            eprintln!("error: {err}");
            ExitCode::from(2)
        }
    }
}
