//! Questions a caller asks an [`Error`] in the manner of reqwest's: was it a timeout, a
//! connection failure, the proxy's doing, TLS, configuration; which status, which URL. Each is
//! decided from the stable code, hop and phase, so the answers never depend on message text.

use http::StatusCode;

use super::{Error, ErrorKind, Hop, Phase};

impl Error {
    /// A hop did not answer in time: `proxy.timeout`, `origin.timeout`, `tls.timeout` or
    /// `http.timeout` (a PAC script's time limit is configuration, see [`Error::is_config`]).
    ///
    /// ```
    /// use proxyscope::{Error, ErrorKind};
    /// assert!(Error::new(ErrorKind::HttpTimeout).is_timeout());
    /// assert!(!Error::new(ErrorKind::PacTimeout).is_timeout());
    /// ```
    pub fn is_timeout(&self) -> bool {
        matches!(
            self.kind(),
            ErrorKind::ProxyTimeout
                | ErrorKind::OriginTimeout
                | ErrorKind::TlsTimeout
                | ErrorKind::HttpTimeout
        )
    }

    /// The connection could not be made: the failure happened while resolving, connecting, in
    /// the proxy handshake or in TLS with the origin — before any request was sent on it.
    pub fn is_connect(&self) -> bool {
        matches!(
            self.phase(),
            Phase::Dns | Phase::Connect | Phase::Proxy | Phase::Tls
        )
    }

    /// The proxy hop failed or answered: its name, its port, its TLS, its handshake, or a reply
    /// it wrote itself (a refusal on an absolute-form request).
    pub fn is_proxy(&self) -> bool {
        self.hop() == Some(Hop::Proxy) || self.code().starts_with("proxy.")
    }

    /// TLS failed: with the origin (`tls.*`) or with an `https://` proxy (`proxy.tls`).
    pub fn is_tls(&self) -> bool {
        self.code().starts_with("tls.") || self.kind() == ErrorKind::ProxyTls
    }

    /// The configuration is at fault and nothing was sent: `config.*` or a PAC script
    /// (`pac.*`).
    pub fn is_config(&self) -> bool {
        self.code().starts_with("config.") || self.code().starts_with("pac.")
    }

    /// The request as built cannot be sent: its URL, a header or its body (`request.*`).
    pub fn is_request(&self) -> bool {
        self.code().starts_with("request.")
    }

    /// An unexpected status (`http.status`, from [`Response::error_for_status`] or a check),
    /// or a proxy's refusal of an absolute-form request mapped to its `proxy.*` code.
    ///
    /// [`Response::error_for_status`]: crate::client::Response::error_for_status
    pub fn is_status(&self) -> bool {
        self.kind() == ErrorKind::HttpStatus || self.status().is_some()
    }

    /// A redirect chain failed: a loop or more redirects than the limit.
    pub fn is_redirect(&self) -> bool {
        matches!(
            self.kind(),
            ErrorKind::HttpRedirectLoop | ErrorKind::HttpTooManyRedirects
        )
    }

    /// A body is at fault: the request's could not be produced (`request.body`), or the
    /// response's exceeded its cap (`http.body_too_large`) or did not decode (`http.decode`).
    pub fn is_body(&self) -> bool {
        matches!(
            self.code(),
            "http.body_too_large" | "http.decode" | "request.body"
        )
    }

    /// The HTTP status behind an error about a response (`http.status`, a status error that
    /// names the proxy); `None` for failures that came before any response.
    ///
    /// ```
    /// use proxyscope::{Error, ErrorKind};
    /// let e = Error::new(ErrorKind::HttpStatus).map_evidence(|ev| ev.status = Some(503));
    /// assert_eq!(e.status(), Some(http::StatusCode::SERVICE_UNAVAILABLE));
    /// ```
    pub fn status(&self) -> Option<StatusCode> {
        self.evidence()
            .status
            .and_then(|s| StatusCode::from_u16(s).ok())
    }

    /// The URL of the request that failed, when the failure happened on one. User name,
    /// password and the values of query parameters that usually carry keys (`key=`, `token=`,
    /// …) are masked, so it can be logged.
    pub fn url(&self) -> Option<&url::Url> {
        self.inner.url.as_ref()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_question_follows_the_code() {
        let cases: &[(ErrorKind, [bool; 5])] = &[
            // timeout, connect, proxy, tls, config
            (ErrorKind::ProxyTimeout, [true, true, true, false, false]),
            (ErrorKind::OriginTimeout, [true, true, false, false, false]),
            (ErrorKind::TlsTimeout, [true, true, false, true, false]),
            (ErrorKind::HttpTimeout, [true, false, false, false, false]),
            (ErrorKind::ProxyTls, [false, true, true, true, false]),
            (ErrorKind::OriginConnect, [false, true, false, false, false]),
            (ErrorKind::OriginDns, [false, true, false, false, false]),
            (
                ErrorKind::TlsUnknownIssuer,
                [false, true, false, true, false],
            ),
            (ErrorKind::ProxyForbidden, [false, true, true, false, false]),
            (ErrorKind::ConfigCaFile, [false, false, false, false, true]),
            (ErrorKind::PacTimeout, [false, false, false, false, true]),
            (ErrorKind::RequestUrl, [false, false, false, false, false]),
            (ErrorKind::HttpStatus, [false, false, false, false, false]),
        ];
        for (kind, want) in cases {
            let e = Error::new(*kind);
            let got = [
                e.is_timeout(),
                e.is_connect(),
                e.is_proxy(),
                e.is_tls(),
                e.is_config(),
            ];
            assert_eq!(&got, want, "{kind}");
        }
        assert!(Error::new(ErrorKind::RequestHeader).is_request());
        assert!(Error::new(ErrorKind::HttpRedirectLoop).is_redirect());
        assert!(Error::new(ErrorKind::HttpTooManyRedirects).is_redirect());
        assert!(Error::new(ErrorKind::HttpDecode).is_body());
        // A status the proxy wrote on an absolute-form request is the proxy's.
        let e = Error::new(ErrorKind::HttpStatus).with_hop(Hop::Proxy);
        assert!(e.is_proxy() && e.is_status());
    }

    #[test]
    fn the_url_is_kept_masked() {
        let url = url::Url::parse("https://user:s3cret@api.test/v1?key=K3Y&q=1").unwrap();
        let e = Error::new(ErrorKind::HttpStatus).with_url(&url);
        let shown = e.url().map(url::Url::as_str).unwrap_or("");
        assert_eq!(shown, "https://api.test/v1?key=***&q=1");
        let all = format!("{e:?} {}", serde_json::to_string(&e).unwrap_or_default());
        assert!(!all.contains("s3cret") && !all.contains("K3Y"), "{all}");
        assert!(all.contains("api.test/v1"), "{all}");
    }
}
