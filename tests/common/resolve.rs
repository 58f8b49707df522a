//! Resolvers for the connect tests.

use std::net::{IpAddr, Ipv4Addr};
use std::time::Duration;

use proxyscope::connect::{Resolve, Resolving};

/// Answers every name with 127.0.0.1 after a delay: a slow resolver.
pub struct SlowResolver(pub Duration);

impl Resolve for SlowResolver {
    fn resolve(&self, _host: &str) -> Resolving {
        let delay = self.0;
        Box::pin(async move {
            tokio::time::sleep(delay).await;
            Ok(vec![IpAddr::V4(Ipv4Addr::LOCALHOST)])
        })
    }
}
