//! HTTP/2 on the connections the client's pool holds, spoken through the `h2` crate directly
//! rather than through hyper's HTTP/2 client.
//!
//! Why: hyper's HTTP/2 client hands each request over a channel to a task of the connection's,
//! which gives it to `h2` and spawns one more task per request to wait for the response and hand
//! it back over another channel. On a runtime with a few threads those hand-overs land on
//! different threads, and each costs a wake-up. Here the request's own task gives the request to
//! `h2` and waits for the response itself: the connection's task (which reads and writes the
//! socket) is the only other party. (A request sent from outside the runtime's tasks, from
//! `block_on`, runs in a task spawned for it: see `send::on_runtime`.) docs/benchmarks.md has
//! the measurements.
//!
//! What hyper's HTTP/2 client does and this keeps: its settings (windows, frame size, a bounded
//! header list, a bounded send buffer, no server push); the connection-specific headers taken
//! out of a request; `Content-Length` set from a body of known size; a request body sent by a
//! task of its own, within the peer's flow control; the receive window released as the body is
//! read; a stream reset with `NO_ERROR` read as the end of a body whose length was not promised;
//! the connection closed once no handle and no stream is left. What it does better: a failing
//! request body is the request's error (`request.body`, the stream's error as its cause), not a
//! reset stream.

use std::future::Future as _;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::task::Poll;

use bytes::Bytes;
use h2::SendStream;
use h2::client::{ResponseFuture, SendRequest};
use http::header::{
    CONNECTION, CONTENT_LENGTH, HeaderName, HeaderValue, TE, TRANSFER_ENCODING, UPGRADE,
};
use http::{HeaderMap, Method};
use http_body::Body as _;
use hyper_util::rt::TokioIo;
use tokio::sync::oneshot;

use super::request_body::{Body, BoxError};
use super::wire_body::{Ahead, H2Body, WireBody};

/// A response's head with its body, and the body's start when it came with the head (see
/// [`Ahead`]).
pub(crate) type Head = (http::Response<WireBody>, (Ahead, bool));

/// hyper's HTTP/2 client defaults, which the client had before it spoke `h2` itself: larger
/// windows than the protocol's 64 KiB (a body at full speed), frames of 16 KiB, a response's
/// header list of at most 16 KiB (a peer that sends more gets the stream refused, and memory
/// stays bounded), at most 1 MiB of a request body buffered per stream, no server push.
fn builder() -> h2::client::Builder {
    let mut b = h2::client::Builder::new();
    b.initial_max_send_streams(100)
        .initial_window_size(2 * 1024 * 1024)
        .initial_connection_window_size(5 * 1024 * 1024)
        .max_frame_size(16 * 1024)
        .max_header_list_size(16 * 1024)
        .max_send_buffer_size(1024 * 1024)
        .max_local_error_reset_streams(Some(1024))
        .enable_push(false);
    b
}

/// One HTTP/2 connection, as a request holds it: cloned for each request.
#[derive(Clone)]
pub(crate) struct Handle {
    send: SendRequest<Bytes>,
    /// Set once the connection's task has ended, or once the connection refused a new stream
    /// (it is going away).
    closed: Arc<AtomicBool>,
}

impl Handle {
    /// Whether the connection is closed, or refuses new streams.
    pub(crate) fn is_closed(&self) -> bool {
        self.closed.load(Ordering::Acquire)
    }

    /// The same connection, with a flag of its own that says it is open: a connection that
    /// ended after the pool last looked at it.
    #[cfg(test)]
    pub(crate) fn as_if_open(&self) -> Self {
        Self {
            closed: Arc::new(AtomicBool::new(false)),
            ..self.clone()
        }
    }
}

/// Runs the HTTP/2 handshake on `io` and spawns the connection's task.
pub(crate) async fn handshake<T>(io: T) -> Result<Handle, h2::Error>
where
    T: hyper::rt::Read + hyper::rt::Write + Unpin + Send + 'static,
{
    let (send, connection) = builder().handshake::<_, Bytes>(TokioIo::new(io)).await?;
    let closed = Arc::new(AtomicBool::new(false));
    let ended = Arc::clone(&closed);
    // The connection ends once no handle and no stream is left (`h2` wakes its task when the
    // last handle goes), or when the peer closes it.
    tokio::spawn(async move {
        if let Err(e) = connection.await {
            tracing::debug!(error = %e, "HTTP/2 connection ended");
        }
        ended.store(true, Ordering::Release);
    });
    Ok(Handle { send, closed })
}

/// Why a request got no response head on an HTTP/2 connection.
pub(crate) enum Refused {
    /// The connection took no new stream (it is closing): the request was not sent, and is
    /// handed back to be sent on another.
    Unsent(Box<http::Request<Body>>, h2::Error),
    /// It was sent (or could not be), and failed.
    Failed(Failure),
}

impl Refused {
    /// The failure, for a request that cannot be sent again (a refusal by a new connection
    /// included).
    pub(crate) fn into_failure(self) -> Failure {
        match self {
            Refused::Unsent(_, e) => Failure::Protocol(e),
            Refused::Failed(failure) => failure,
        }
    }
}

/// How a request on an HTTP/2 connection failed: `h2`'s error, or the request body's own when
/// the body's stream failed while it was being sent (the stream was then reset).
#[derive(Debug)]
pub(crate) enum Failure {
    Protocol(h2::Error),
    Body(BoxError),
}

impl std::fmt::Display for Failure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Failure::Protocol(_) => f.write_str("the HTTP/2 exchange failed"),
            Failure::Body(_) => f.write_str("the request body failed"),
        }
    }
}

impl std::error::Error for Failure {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Failure::Protocol(e) => Some(e),
            Failure::Body(e) => Some(&**e),
        }
    }
}

/// Sends `req` (absolute URI) on `conn` and waits for the response's head, reading the body's
/// start with it when it is there (see [`Ahead`]).
pub(crate) async fn send(mut conn: Handle, req: http::Request<Body>) -> Result<Head, Refused> {
    // A connection going away refuses new streams here, before the request is taken apart.
    if let Err(e) = std::future::poll_fn(|cx| conn.send.poll_ready(cx)).await {
        conn.closed.store(true, Ordering::Release);
        return Err(Refused::Unsent(Box::new(req), e));
    }
    let (mut head, body) = req.into_parts();
    strip_connection_headers(&mut head.headers);
    if let Some(len) = body.size_hint().exact()
        && (len != 0 || has_payload_semantics(&head.method))
        && !head.headers.contains_key(CONTENT_LENGTH)
    {
        head.headers.insert(CONTENT_LENGTH, HeaderValue::from(len));
    }
    let is_head = head.method == Method::HEAD;
    let eos = body.is_end_stream();
    let (response, stream) = conn
        .send
        .send_request(http::Request::from_parts(head, ()), eos)
        .map_err(|e| Refused::Failed(Failure::Protocol(e)))?;
    // The connection is no longer needed by this request: a handle held across the wait would
    // keep a connection let go by the pool open until this response came.
    drop(conn);
    if eos {
        return receive(response, is_head, None).await;
    }
    let (failed_tx, failed_rx) = oneshot::channel();
    let (cancel_tx, cancel_rx) = oneshot::channel();
    tokio::spawn(pipe(body, stream, failed_tx, cancel_rx));
    let mut cancel = CancelOnDrop(Some(cancel_tx));
    let answer = receive(response, is_head, Some(failed_rx)).await;
    if answer.is_ok() {
        // Answered: the body goes on being sent for as long as the peer reads it.
        cancel.0.take();
    }
    answer
}

/// Resets a request's stream, and so ends the sending of its body, when dropped armed: the
/// request was given up (its deadline passed, its future was dropped) or failed before an
/// answer came. Without it a body stream that never ends would keep its task, its stream and
/// the peer's request open for ever.
struct CancelOnDrop(Option<oneshot::Sender<()>>);

impl Drop for CancelOnDrop {
    fn drop(&mut self) {
        if let Some(cancel) = self.0.take() {
            let _ = cancel.send(());
        }
    }
}

/// The response's head, and the body's start if it came with it; when it fails, the request
/// body's own error if its stream failed.
async fn receive(
    response: ResponseFuture,
    is_head: bool,
    body_failed: Option<oneshot::Receiver<BoxError>>,
) -> Result<Head, Refused> {
    match response.await {
        Ok(res) => {
            let (head, recv) = res.into_parts();
            let mut body = WireBody::Http2(H2Body::new(recv, is_head, &head.headers));
            let ahead = std::future::poll_fn(|cx| Poll::Ready(Ahead::read(&mut body, cx))).await;
            if ahead.1 {
                // Read whole: the stream is let go here, beside its connection (see
                // `WireBody::Ended`), rather than wherever the response is dropped.
                body = WireBody::Ended;
            }
            Ok((http::Response::from_parts(head, body), ahead))
        }
        Err(e) => {
            let failure = match body_failed.and_then(|mut rx| rx.try_recv().ok()) {
                Some(body) => Failure::Body(body),
                None => Failure::Protocol(e),
            };
            Err(Refused::Failed(failure))
        }
    }
}

/// The headers that name a connection rather than a message, which HTTP/2 forbids (RFC 9113
/// §8.2.2): taken out of a request, as hyper does, along with those `Connection` names, and `TE`
/// unless it is `trailers`.
fn strip_connection_headers(headers: &mut HeaderMap) {
    const NAMED: [&str; 2] = ["keep-alive", "proxy-connection"];
    for name in NAMED {
        headers.remove(name);
    }
    headers.remove(TRANSFER_ENCODING);
    headers.remove(UPGRADE);
    if headers.get(TE).is_some_and(|te| te != "trailers") {
        headers.remove(TE);
    }
    if let Some(connection) = headers.remove(CONNECTION)
        && let Ok(names) = connection.to_str()
    {
        for name in names.split(',') {
            if let Ok(name) = HeaderName::from_bytes(name.trim().as_bytes()) {
                headers.remove(name);
            }
        }
    }
}

/// Whether `method` gives a request body meaning, so that an empty one is announced
/// (`Content-Length: 0`), as hyper does.
fn has_payload_semantics(method: &Method) -> bool {
    !matches!(
        *method,
        Method::GET | Method::HEAD | Method::DELETE | Method::CONNECT
    )
}

/// The task that sends a request's body: [`send_body`], until `cancel` says the request was
/// given up (see [`CancelOnDrop`]); the stream is then reset (`CANCEL`).
async fn pipe(
    body: Body,
    mut stream: SendStream<Bytes>,
    failed: oneshot::Sender<BoxError>,
    mut cancel: oneshot::Receiver<()>,
) {
    let mut listening = true;
    let cancelled = {
        let sending = send_body(body, &mut stream, failed);
        tokio::pin!(sending);
        std::future::poll_fn(|cx| {
            if listening {
                match Pin::new(&mut cancel).poll(cx) {
                    Poll::Ready(Ok(())) => return Poll::Ready(true),
                    // Disarmed: the request was answered.
                    Poll::Ready(Err(_)) => listening = false,
                    Poll::Pending => {}
                }
            }
            sending.as_mut().poll(cx).map(|()| false)
        })
        .await
    };
    if cancelled {
        stream.send_reset(h2::Reason::CANCEL);
    }
}

/// Sends `body` on `stream` within the peer's flow control: what the peer has room for, one
/// chunk at a time, so at most a chunk is buffered beyond it. A failing body resets the stream
/// (`CANCEL`) after handing its error to the request; a stream the peer reset (it answered
/// without reading the rest) ends the sending.
async fn send_body(
    mut body: Body,
    stream: &mut SendStream<Bytes>,
    failed: oneshot::Sender<BoxError>,
) {
    loop {
        let frame = std::future::poll_fn(|cx| {
            if stream.poll_reset(cx).is_ready() {
                return Poll::Ready(None);
            }
            Pin::new(&mut body).poll_frame(cx).map(Some)
        })
        .await;
        let Some(frame) = frame else { return };
        match frame {
            None => {
                let _ = stream.send_data(Bytes::new(), true);
                return;
            }
            Some(Err(e)) => {
                let _ = failed.send(e);
                stream.send_reset(h2::Reason::CANCEL);
                return;
            }
            Some(Ok(frame)) => match frame.into_data() {
                Ok(data) => {
                    let eos = body.is_end_stream();
                    if send_data(stream, data, eos).await.is_err() || eos {
                        return;
                    }
                }
                Err(frame) => {
                    if let Ok(trailers) = frame.into_trailers() {
                        let _ = stream.send_trailers(trailers);
                        return;
                    }
                }
            },
        }
    }
}

/// Sends `data` on `stream` as the peer makes room for it, ending the stream with the last of
/// it when `eos`. An error: the stream was reset or the connection closed.
async fn send_data(
    stream: &mut SendStream<Bytes>,
    mut data: Bytes,
    eos: bool,
) -> Result<(), h2::Error> {
    if data.is_empty() {
        return if eos {
            stream.send_data(data, true)
        } else {
            Ok(())
        };
    }
    while !data.is_empty() {
        stream.reserve_capacity(data.len());
        let room = std::future::poll_fn(|cx| {
            if stream.capacity() > 0 {
                return Poll::Ready(Ok(stream.capacity()));
            }
            if let Poll::Ready(r) = stream.poll_reset(cx) {
                return Poll::Ready(Err(r.map_or_else(|e| e, h2::Error::from)));
            }
            match stream.poll_capacity(cx) {
                Poll::Ready(Some(r)) => Poll::Ready(r),
                Poll::Ready(None) => Poll::Ready(Err(h2::Error::from(h2::Reason::CANCEL))),
                Poll::Pending => Poll::Pending,
            }
        })
        .await?;
        let chunk = data.split_to(room.min(data.len()));
        stream.send_data(chunk, eos && data.is_empty())?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn connection_specific_headers_are_taken_out_as_hyper_does() {
        let mut h = HeaderMap::new();
        for (k, v) in [
            ("connection", "keep-alive, x-hop"),
            ("keep-alive", "timeout=5"),
            ("proxy-connection", "keep-alive"),
            ("transfer-encoding", "chunked"),
            ("upgrade", "websocket"),
            ("x-hop", "1"),
            ("te", "gzip"),
            ("x-kept", "yes"),
        ] {
            h.append(HeaderName::from_static(k), HeaderValue::from_static(v));
        }
        strip_connection_headers(&mut h);
        assert_eq!(h.len(), 1, "{h:?}");
        assert_eq!(h["x-kept"], "yes");
        let mut t = HeaderMap::new();
        t.insert(TE, HeaderValue::from_static("trailers"));
        strip_connection_headers(&mut t);
        assert_eq!(t[TE], "trailers", "TE: trailers is allowed");
    }

    #[test]
    fn an_empty_body_is_announced_only_where_a_body_means_something() {
        for m in [Method::POST, Method::PUT, Method::PATCH, Method::OPTIONS] {
            assert!(has_payload_semantics(&m), "{m}");
        }
        for m in [Method::GET, Method::HEAD, Method::DELETE, Method::CONNECT] {
            assert!(!has_payload_semantics(&m), "{m}");
        }
    }
}
