//! proxyscope's [`Error`] out of the errors of the libraries it runs under. A connector error
//! reaches a hyper-util client's caller wrapped (`client error (Connect)`), and a failure the
//! connection itself reports (the first-byte deadline, a late client-certificate refusal)
//! arrives as the payload of an `io::Error` inside a `hyper::Error`; [`Error::from_hyper`] walks
//! the chain and returns ours, or classifies hyper's own failure.

use std::error::Error as StdError;

use super::{CauseText, Error, ErrorKind, Hop, Phase, chain_text};

impl Error {
    /// The proxyscope error inside `e` — a `hyper_util::client::legacy::Error`, a
    /// `hyper::Error`, an `io::Error`, or ours — found anywhere in its source chain (the
    /// connector's errors, and the connection's own: `http.timeout` when no response started
    /// within the request timeout, a refused client certificate). When there is none, hyper's
    /// failure is classified: `http.timeout` for hyper's timeouts, else `http.protocol`, at the
    /// origin hop, with the chain as `evidence().cause`.
    ///
    /// ```no_run
    /// # async fn run(client: hyper_util::client::legacy::Client<proxyscope::connect::Connector, http_body_util::Empty<bytes::Bytes>>, req: http::Request<http_body_util::Empty<bytes::Bytes>>) {
    /// if let Err(e) = client.request(req).await {
    ///     let e = proxyscope::Error::from_hyper(&e);
    ///     eprintln!("{}", e.report()); // code, hop, phase, evidence, hint
    /// }
    /// # }
    /// ```
    pub fn from_hyper(e: &(dyn StdError + 'static)) -> Error {
        if let Some(ours) = Self::find_in(e) {
            return ours.duplicate();
        }
        let hyper_err = chain(e).find_map(|s| s.downcast_ref::<hyper::Error>());
        let kind = if hyper_err.is_some_and(hyper::Error::is_timeout) {
            ErrorKind::HttpTimeout
        } else {
            ErrorKind::HttpProtocol
        };
        let what = match hyper_err {
            Some(h) if h.is_incomplete_message() => {
                "the server closed the connection before a complete response"
            }
            Some(h) if h.is_parse() || h.is_parse_status() => {
                "the server sent a malformed response"
            }
            Some(h) if h.is_canceled() || h.is_closed() => "the connection was closed",
            _ => "the HTTP exchange failed",
        };
        Error::new(kind)
            .with_hop(Hop::Origin)
            .with_phase(Phase::Http)
            .with_message(what)
            .with_hint("the server's reply was not valid HTTP or it hung up mid-response; check that the port speaks HTTP (https:// for TLS ports) and the server's logs")
            .with_source(CauseText(crate::proxy::redact_text(&chain_text(e))))
    }

    /// The proxyscope error in `e`'s source chain, `io::Error` payloads included.
    pub fn find_in<'a>(e: &'a (dyn StdError + 'static)) -> Option<&'a Error> {
        chain(e).find_map(|s| {
            // HTTP/2 connection errors hold the I/O error without exposing it as `source()`.
            let io = s
                .downcast_ref::<std::io::Error>()
                .or_else(|| s.downcast_ref::<h2::Error>().and_then(h2::Error::get_io));
            s.downcast_ref::<Error>().or_else(|| {
                io.and_then(|io| io.get_ref())
                    .and_then(|inner| inner.downcast_ref::<Error>())
            })
        })
    }

    /// A copy of an error held by reference (a hyper client owns the original): every field
    /// through the public API, the cause shared.
    pub(crate) fn duplicate(&self) -> Error {
        let mut out = Error::new(self.kind())
            .with_blame(self.blame())
            .with_phase(self.phase())
            .with_message(self.to_string())
            .with_evidence(self.evidence().clone());
        if let Some(h) = self.hop() {
            out = out.with_hop(h);
        }
        if let Some(h) = self.hint() {
            out = out.with_hint(h);
        }
        if let Some(r) = self.route() {
            out = out.with_route(r.clone());
        }
        if let Some(u) = self.url() {
            out = out.with_url(u);
        }
        // The cause is shared, so callers can still downcast it (`io::Error`, `rustls::Error`).
        if let Some(s) = self.shared_source() {
            out = out.with_shared_source(s);
        }
        out
    }
}

fn chain<'a>(
    e: &'a (dyn StdError + 'static),
) -> impl Iterator<Item = &'a (dyn StdError + 'static)> {
    std::iter::successors(Some(e), |s: &&'a (dyn StdError + 'static)| (*s).source())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ours_is_found_inside_an_io_error() {
        let ours = Error::new(ErrorKind::HttpTimeout).with_hop(Hop::Proxy);
        let io = std::io::Error::new(std::io::ErrorKind::TimedOut, ours);
        let found = Error::from_hyper(&io);
        assert_eq!(
            (found.code(), found.hop()),
            ("http.timeout", Some(Hop::Proxy))
        );
        let plain = std::io::Error::other("boom");
        let e = Error::from_hyper(&plain);
        assert_eq!(e.code(), "http.protocol");
        assert_eq!(e.evidence().cause.as_deref(), Some("boom"));
    }
}
