//! nghttpd, nghttp2's HTTP/2 server: a real HTTP/2 origin written by other people than the `h2`
//! crate the client speaks HTTP/2 with, serving a document root over TLS and echoing uploads.

use std::net::SocketAddr;

use super::{ProxyProcess, Skip, free_port, path_str, private_dir, proxy_binary};
use proxyscope::testing::TestPki;

/// Names the nghttpd binary to use instead of the one on the system.
pub(crate) const NGHTTPD_ENV: &str = "PROXYSCOPE_TEST_NGHTTPD";

/// An nghttpd running on loopback; stopped on drop.
pub(crate) struct RealNghttpd {
    process: ProxyProcess,
}

impl RealNghttpd {
    /// Starts `nghttpd --echo-upload` on a free loopback port with `files` (name, contents) as
    /// its document root and `pki`'s `localhost` certificate (with its chain): `POST` and `PUT`
    /// are answered with what they carried, anything else from the files.
    pub(crate) fn start(pki: &TestPki, files: &[(&str, &[u8])]) -> Result<RealNghttpd, Skip> {
        let nghttpd = proxy_binary(
            NGHTTPD_ENV,
            "nghttpd",
            &[
                "/usr/sbin/nghttpd",
                "/usr/bin/nghttpd",
                "/usr/local/bin/nghttpd",
            ],
        )?;
        let cert = path_str(pki.localhost().chain_pem_path())?;
        let key = path_str(pki.localhost().key_path())?;
        let mut last = Skip::new("nghttpd did not start");
        for _ in 0..3 {
            let dir = private_dir()?;
            let htdocs = dir.path().join("htdocs");
            std::fs::create_dir(&htdocs)
                .map_err(|e| Skip::new(format!("cannot create nghttpd's document root: {e}")))?;
            for (name, contents) in files {
                std::fs::write(htdocs.join(name), contents)
                    .map_err(|e| Skip::new(format!("cannot write {name}: {e}")))?;
            }
            let port = free_port()?;
            let args = [
                "--echo-upload".to_owned(),
                "--htdocs".to_owned(),
                path_str(&htdocs)?,
                "--address".to_owned(),
                "127.0.0.1".to_owned(),
                port.to_string(),
                key.clone(),
                cert.clone(),
            ];
            match ProxyProcess::spawn("nghttpd", &nghttpd, &args, dir, port, None) {
                Ok(process) => return Ok(RealNghttpd { process }),
                Err(skip) => last = skip,
            }
        }
        Err(last)
    }

    /// The address nghttpd listens on.
    pub(crate) fn addr(&self) -> SocketAddr {
        self.process.addr
    }

    /// `https://localhost:<port><path>` (the name its certificate holds).
    pub(crate) fn url(&self, path: &str) -> String {
        format!("https://localhost:{}{path}", self.process.addr.port())
    }
}
