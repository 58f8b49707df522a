//! What a service that calls upstreams on its callers' behalf (a gateway) answers its own caller
//! when an upstream call fails: a status chosen from the failure's kind, never the upstream's
//! status copied as if it were the service's own.
//!
//! | failure | status |
//! |---|---|
//! | nothing was sent: configuration, a PAC script, the request URL (`config.*`, `pac.*`, `request.url`) | 500 |
//! | a proxy or the origin did not answer in time (`*.timeout`) | 504 |
//! | anything else a proxy or the origin did (refused, broke, answered badly) | 502 |

use http::StatusCode;

use super::{Error, ErrorKind};

impl ErrorKind {
    /// The status a gateway answers its caller with when an upstream call fails with this kind:
    /// 500 when nothing was sent (the service's own configuration, PAC script or URL), 504 when
    /// a hop did not answer in time, 502 for everything else a proxy or origin did.
    pub fn gateway_status(self) -> StatusCode {
        match self {
            Self::ConfigInvalid
            | Self::ConfigCaFile
            | Self::ConfigProxyUrl
            | Self::PacSyntax
            | Self::PacRuntime
            | Self::PacTimeout
            | Self::PacResult
            | Self::RequestUrl
            | Self::RequestHeader
            | Self::RequestBody => StatusCode::INTERNAL_SERVER_ERROR,
            Self::ProxyTimeout | Self::OriginTimeout | Self::TlsTimeout | Self::HttpTimeout => {
                StatusCode::GATEWAY_TIMEOUT
            }
            Self::ProxyDns
            | Self::ProxyConnect
            | Self::ProxyTls
            | Self::ProxyAuthRequired
            | Self::ProxyAuthRejected
            | Self::ProxyForbidden
            | Self::ProxyUpstream
            | Self::ProxyRefused
            | Self::ProxyProtocol
            | Self::ProxyClosed
            | Self::OriginDns
            | Self::OriginConnect
            | Self::TlsUnknownIssuer
            | Self::TlsHostnameMismatch
            | Self::TlsExpired
            | Self::TlsNotYetValid
            | Self::TlsHandshake
            | Self::TlsClientCertRequired
            | Self::TlsClientCertRejected
            | Self::HttpStatus
            | Self::HttpBody
            | Self::HttpProtocol
            | Self::HttpDecode
            | Self::HttpRedirectLoop
            | Self::HttpTooManyRedirects
            | Self::HttpBodyTooLarge => StatusCode::BAD_GATEWAY,
        }
    }
}

impl Error {
    /// The status a gateway answers its caller with for this failure (see
    /// [`ErrorKind::gateway_status`]): decided by the kind, so an upstream's non-2xx answer
    /// (`http.status`, whichever hop wrote it) is 502, never the upstream's own status.
    ///
    /// ```
    /// use proxyscope::{Error, ErrorKind};
    /// use http::StatusCode;
    ///
    /// assert_eq!(Error::new(ErrorKind::ProxyForbidden).gateway_status(), StatusCode::BAD_GATEWAY);
    /// assert_eq!(Error::new(ErrorKind::HttpTimeout).gateway_status(), StatusCode::GATEWAY_TIMEOUT);
    /// assert_eq!(Error::new(ErrorKind::RequestUrl).gateway_status(), StatusCode::INTERNAL_SERVER_ERROR);
    /// ```
    pub fn gateway_status(&self) -> StatusCode {
        self.kind().gateway_status()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::Hop;

    #[test]
    fn every_kind_has_a_gateway_status_by_class() {
        for k in ErrorKind::ALL {
            let want = match k.code() {
                c if c.starts_with("config.")
                    || c.starts_with("pac.")
                    || c.starts_with("request.") =>
                {
                    500
                }
                c if c.ends_with(".timeout") => 504,
                _ => 502,
            };
            assert_eq!(k.gateway_status().as_u16(), want, "{}", k.code());
            assert_eq!(
                Error::new(*k).gateway_status().as_u16(),
                want,
                "{}",
                k.code()
            );
        }
    }

    #[test]
    fn the_hop_does_not_change_the_status() {
        // An upstream status relayed by the proxy is still an upstream failure.
        let e = Error::new(ErrorKind::HttpStatus).with_hop(Hop::Proxy);
        assert_eq!(e.gateway_status(), StatusCode::BAD_GATEWAY);
        let e = Error::new(ErrorKind::HttpTimeout).with_hop(Hop::Proxy);
        assert_eq!(e.gateway_status(), StatusCode::GATEWAY_TIMEOUT);
        // A TLS configuration error names the hop it configures; it is still the service's own.
        let e = Error::new(ErrorKind::ConfigInvalid).with_hop(Hop::Origin);
        assert_eq!(e.gateway_status(), StatusCode::INTERNAL_SERVER_ERROR);
    }
}
