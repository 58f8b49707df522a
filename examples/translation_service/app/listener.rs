//! The service's accept loop: the examples' shared one (`accept`, see its docs for what it
//! protects against) with the service's `[server]` limits and its JSON `503` for a connection
//! that arrives when every connection is busy.
//!
//! - At most `max_connections` connections are open. At the limit, a new connection closes the
//!   oldest idle one and takes its place, so `/_info` keeps answering while idle sockets pile
//!   up; when every connection is busy, the new one is answered `503 service.overloaded` at
//!   once, without reading its request, and closed.
//! - A request head must arrive within `header_timeout`, which also bounds how long an idle
//!   keep-alive connection is kept; the body's deadline is the translate handler's.

use std::sync::Arc;

use tokio::net::TcpListener;
use tokio::sync::watch;

use super::accept;
use super::server::{State, route};

/// The whole answer to a connection over the limit: written without reading the request.
const OVERLOADED: &[u8] = b"HTTP/1.1 503 Service Unavailable\r\n\
content-type: application/json\r\n\
cache-control: no-store\r\n\
retry-after: 1\r\n\
connection: close\r\n\
content-length: 187\r\n\
\r\n\
{\"error\":{\"code\":\"service.overloaded\",\"message\":\"every connection is busy\",\"hop\":null,\"phase\":null,\"hint\":\"retry in a second; raise server.max_connections if this persists\",\"route\":null}}";

/// Serves `listener` until `stopped` changes; dropping the future closes every connection.
pub(crate) async fn serve(
    listener: TcpListener,
    state: Arc<State>,
    mut stopped: watch::Receiver<bool>,
) {
    let settings = &state.settings.limits;
    let limits = accept::Limits {
        max_connections: settings.max_connections.value,
        header_timeout: settings.header_timeout.value,
        max_head_bytes: None,
        overloaded: OVERLOADED,
    };
    let handle = move |req| {
        let state = Arc::clone(&state);
        async move { route(&state, req).await }
    };
    let stop = async move {
        let _ = stopped.changed().await;
    };
    accept::serve(listener, limits, handle, stop).await;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_canned_answer_is_well_formed() {
        let text = std::str::from_utf8(OVERLOADED).unwrap();
        let (head, body) = text.split_once("\r\n\r\n").unwrap();
        assert!(head.starts_with("HTTP/1.1 503 "));
        assert!(head.contains(&format!("content-length: {}", body.len())));
        let v: serde_json::Value = serde_json::from_str(body).unwrap();
        assert_eq!(v["error"]["code"], "service.overloaded");
    }
}
