//! [`Client`] as a `tower::Service<http::Request<B>>`, so tower middleware (retry, rate limit,
//! concurrency limit, tracing, timeouts) wraps it without an adapter. A request sent this way
//! is [`Client::execute`] with the provider chosen by URL: the route, the redirect policy, the
//! default headers and every coded error are the same as through the builder.

use std::task::{Context, Poll};

use super::request::{Parts, ResponseFuture, boxed};
use super::{Body, Client, Response};
use crate::error::Error;

/// ```no_run
/// # async fn run(client: proxyscope::Client) -> Result<(), proxyscope::Error> {
/// use tower_service::Service as _;
/// let mut svc = client.clone();
/// let req = http::Request::get("https://api.example.org/v1/items").body(proxyscope::client::Body::empty())
///     .expect("a valid request");
/// let res = svc.call(req).await?;
/// println!("{} via {}", res.status(), res.route().summary());
/// # Ok(()) }
/// ```
impl<B> tower_service::Service<http::Request<B>> for Client
where
    B: Into<Body> + Send + 'static,
{
    type Response = Response;
    type Error = Error;
    type Future = ResponseFuture;

    /// Always ready: the pools grow on demand, and a connection is awaited inside the request
    /// (within its timeouts), so back-pressure belongs to a limit layer around the client.
    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), Error>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, req: http::Request<B>) -> Self::Future {
        // What `Client::execute` does, with the client's own future boxed as it is.
        boxed(Parts::of_request(None, req).map(|parts| (self.clone(), parts)))
    }
}
