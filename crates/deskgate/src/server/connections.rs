//! Accepting and serving HTTP connections within bounds. `axum::serve` sets no timer and no
//! limit: a client that opens a socket and sends nothing (or a header a byte at a time, or a
//! body a byte at a time) holds it forever, and enough of them use up the descriptors until
//! `/healthz` stops answering. Here every connection is in one of three phases:
//!
//! - **idle**: no request in flight and no byte of the next one read. Closed after
//!   `idle_timeout` (longer than a balancer's upstream keep-alive, so pooled connections are
//!   reused rather than raced).
//! - **reading**: the first byte of a request arrived, its head has not. Closed after
//!   `header_read_timeout` (slowloris).
//! - **busy**: a request is being served (its body must arrive within `body_read_timeout` of
//!   its head). Never closed by a timer: an SSE stream is busy for as long as it is open, and the
//!   SSE caps bound those (see `mcp::sse`).
//!
//! At most `max_connections` are open. When one more arrives, the connection that has been idle
//! or reading the longest is closed to make room for it, so a flood of idle or slow sockets can
//! never lock out a new client such as a health check; only when every connection is busy is
//! the new one refused with a 503.
//!
//! hyper has a header-read timer, but it also runs between keep-alive requests (it starts as
//! soon as hyper waits for a head), so it cannot give idle connections a longer life than slow
//! heads; no library closes the longest-idle connection at a cap. Hence this module.

use std::collections::HashMap;
use std::convert::Infallible;
use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicU8, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::extract::ConnectInfo;
use bytes::Bytes;
use http_body_util::BodyExt;
use hyper::body::{Frame, Incoming, SizeHint};
use hyper_util::rt::{TokioExecutor, TokioIo};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::Notify;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;
use tower::ServiceExt;

/// The bounds every connection is served within.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    pub max_connections: usize,
    pub header_read_timeout: Duration,
    pub body_read_timeout: Duration,
    pub idle_timeout: Duration,
}

const IDLE: u8 = 0;
const READING: u8 = 1;
const BUSY: u8 = 2;

/// How long a connection told to close (timed out or evicted) may take to do so before it is
/// dropped outright. It has no request in flight, so nothing is lost.
const CLOSE_GRACE: Duration = Duration::from_secs(2);

/// What one connection is doing, shared between its socket, its requests and its task.
struct Activity {
    /// Milliseconds since `epoch` when the current phase began.
    since_ms: AtomicU64,
    phase: AtomicU8,
    in_flight: AtomicU64,
    /// Told to make room for a new connection.
    evicted: AtomicBool,
    /// Wakes the connection's task when it is evicted (phase changes need no wake-up: they
    /// happen while the task polls its connection).
    eviction: Notify,
    epoch: Instant,
}

impl Activity {
    fn new(epoch: Instant) -> Self {
        Self {
            since_ms: AtomicU64::new(millis_since(epoch)),
            phase: AtomicU8::new(IDLE),
            in_flight: AtomicU64::new(0),
            evicted: AtomicBool::new(false),
            eviction: Notify::new(),
            epoch,
        }
    }

    fn enter(&self, phase: u8) {
        self.since_ms
            .store(millis_since(self.epoch), Ordering::Release);
        self.phase.store(phase, Ordering::Release);
    }

    /// Bytes arrived: on an idle connection, that is the start of a request head.
    fn bytes_read(&self) {
        if self.phase.load(Ordering::Acquire) == IDLE {
            self.enter(READING);
        }
    }

    fn request_started(self: &Arc<Self>) -> InFlight {
        self.in_flight.fetch_add(1, Ordering::AcqRel);
        self.enter(BUSY);
        InFlight(self.clone())
    }

    /// When the current phase times out; `None` while busy.
    fn deadline(&self, limits: &Limits) -> Option<Instant> {
        let since = self.epoch + Duration::from_millis(self.since_ms.load(Ordering::Acquire));
        match self.phase.load(Ordering::Acquire) {
            IDLE => Some(since + limits.idle_timeout),
            READING => Some(since + limits.header_read_timeout),
            _ => None,
        }
    }

    /// Idle or reading, and since when (for choosing whom to evict).
    fn evictable_since(&self) -> Option<u64> {
        (self.phase.load(Ordering::Acquire) != BUSY && !self.evicted.load(Ordering::Acquire))
            .then(|| self.since_ms.load(Ordering::Acquire))
    }
}

fn millis_since(epoch: Instant) -> u64 {
    u64::try_from(epoch.elapsed().as_millis()).unwrap_or(u64::MAX)
}

/// One request being served; its connection goes idle when the last one ends (the response
/// body is dropped once sent, or when the connection dies).
struct InFlight(Arc<Activity>);

impl Drop for InFlight {
    fn drop(&mut self) {
        if self.0.in_flight.fetch_sub(1, Ordering::AcqRel) == 1 {
            self.0.enter(IDLE);
        }
    }
}

/// Every open connection, to find one to evict and to wait for all of them at shutdown.
#[derive(Default)]
struct Registry {
    open: Mutex<HashMap<u64, Arc<Activity>>>,
    next_id: AtomicU64,
    all_closed: Notify,
    at_capacity: AtomicBool,
}

enum Admission {
    Admitted(u64),
    /// Every connection is busy: nothing can be closed for this one.
    Full,
}

impl Registry {
    fn admit(&self, activity: Arc<Activity>, max: usize) -> Admission {
        let mut open = self.open.lock().expect("connection registry poisoned");
        if open.len() >= max {
            let oldest = open
                .values()
                .filter_map(|a| a.evictable_since().map(|since| (since, a)))
                .min_by_key(|(since, _)| *since);
            match oldest {
                Some((_, victim)) => {
                    victim.evicted.store(true, Ordering::Release);
                    victim.eviction.notify_one();
                }
                None => return Admission::Full,
            }
            if !self.at_capacity.swap(true, Ordering::AcqRel) {
                tracing::warn!(
                    max_connections = max,
                    "connection limit reached: closing the longest-idle connections to make room"
                );
            }
        } else if open.len() < max / 2 {
            self.at_capacity.store(false, Ordering::Release);
        }
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        open.insert(id, activity);
        Admission::Admitted(id)
    }

    fn remove(&self, id: u64) {
        self.open
            .lock()
            .expect("connection registry poisoned")
            .remove(&id);
        self.all_closed.notify_waiters();
    }

    fn is_empty(&self) -> bool {
        self.open
            .lock()
            .expect("connection registry poisoned")
            .is_empty()
    }
}

/// Serves `router` on `listener` until `shutdown` resolves, then closes every connection
/// gracefully (requests in flight finish) and returns once all are closed.
pub async fn serve(
    listener: TcpListener,
    router: Router,
    limits: Limits,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let registry = Arc::new(Registry::default());
    let stopping = CancellationToken::new();
    let epoch = Instant::now();
    tokio::pin!(shutdown);
    loop {
        let (tcp, peer) = tokio::select! {
            () = &mut shutdown => break,
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(e) => {
                    // Out of descriptors or memory: wait for connections to close rather than spin.
                    if !is_connection_error(&e) {
                        tracing::warn!(error = %e, "accepting a connection failed; pausing for 1 s");
                        tokio::time::sleep(Duration::from_secs(1)).await;
                    }
                    continue;
                }
            },
        };
        // Without TCP_NODELAY, small replies on keep-alive connections wait ~40 ms for Nagle
        // and delayed ACKs.
        if let Err(e) = tcp.set_nodelay(true) {
            tracing::debug!(error = %e, "could not set TCP_NODELAY");
        }
        let activity = Arc::new(Activity::new(epoch));
        let id = match registry.admit(activity.clone(), limits.max_connections) {
            Admission::Admitted(id) => id,
            Admission::Full => {
                refuse(tcp);
                continue;
            }
        };
        let registered = Registered {
            registry: registry.clone(),
            id,
        };
        let router = router.clone();
        let stopping = stopping.clone();
        tokio::spawn(async move {
            // Dropped however the task ends, a panicking handler included.
            let _registered = registered;
            serve_one(tcp, peer, router, activity, limits, stopping).await;
        });
    }
    drop(listener);
    stopping.cancel();
    loop {
        let closed = registry.all_closed.notified();
        if registry.is_empty() {
            break;
        }
        closed.await;
    }
    Ok(())
}

/// A connection's place in the registry, given back when its task ends.
struct Registered {
    registry: Arc<Registry>,
    id: u64,
}

impl Drop for Registered {
    fn drop(&mut self) {
        self.registry.remove(self.id);
    }
}

fn is_connection_error(e: &std::io::Error) -> bool {
    use std::io::ErrorKind::*;
    matches!(
        e.kind(),
        ConnectionRefused | ConnectionAborted | ConnectionReset
    )
}

/// A connection that cannot be served gets a short 503 (best effort: the socket is new, so its
/// send buffer has room) and is closed.
fn refuse(tcp: TcpStream) {
    const BUSY_REPLY: &[u8] = b"HTTP/1.1 503 Service Unavailable\r\nRetry-After: 1\r\nContent-Type: text/plain\r\nContent-Length: 53\r\nConnection: close\r\n\r\nService Unavailable: too many connections; try again\n";
    let _ = tcp.try_write(BUSY_REPLY);
    tracing::debug!("connection refused: every connection is busy");
}

async fn serve_one(
    tcp: TcpStream,
    peer: SocketAddr,
    router: Router,
    activity: Arc<Activity>,
    limits: Limits,
    stopping: CancellationToken,
) {
    let first_bytes_by = activity
        .deadline(&limits)
        .unwrap_or_else(|| Instant::now() + limits.idle_timeout);
    let protocol = tokio::select! {
        protocol = Protocol::of_first_bytes(&tcp) => match protocol {
            Ok(protocol) => protocol,
            Err(e) => {
                tracing::trace!(error = %e, "connection ended before its first request");
                return;
            }
        },
        () = tokio::time::sleep_until(first_bytes_by) => return,
        () = stopping.cancelled() => return,
        () = activity.eviction.notified() => return,
    };
    let io = TokioIo::new(WatchedIo {
        inner: tcp,
        activity: activity.clone(),
    });
    let requests = activity.clone();
    let service = hyper::service::service_fn(move |request: hyper::Request<Incoming>| {
        let in_flight = requests.request_started();
        let mut request = request.map(|body| {
            Body::new(DeadlineBody {
                inner: body,
                limit: limits.body_read_timeout,
                deadline: None,
            })
        });
        request.extensions_mut().insert(ConnectInfo(peer));
        let router = router.clone();
        async move {
            let response = match router.oneshot(request).await {
                Ok(response) => response,
                Err(never) => match never {},
            };
            // The request counts as in flight until its response body is dropped: fully sent,
            // or abandoned with the connection.
            Ok::<_, Infallible>(response.map(|body| {
                body.map_frame(move |frame| {
                    let _in_flight = &in_flight;
                    frame
                })
            }))
        }
    });
    let builder = hyper_util::server::conn::auto::Builder::new(TokioExecutor::new());
    let builder = match protocol {
        Protocol::Http1 => builder.http1_only(),
        Protocol::Http2 => builder.http2_only(),
        Protocol::Undecided => builder,
    };
    let connection = builder.serve_connection(io, service);
    tokio::pin!(connection);
    // Every phase change happens inside the connection's own poll (bytes read, a request
    // started, its response body dropped), so the deadline is read again after each poll instead
    // of the phases waking this task: a wake-up per phase change (three per request) made the
    // runtime hand the task to the other worker thread and back. Only eviction and shutdown come
    // from outside.
    let evicted = activity.eviction.notified();
    let stopped = stopping.cancelled();
    tokio::pin!(evicted, stopped);
    let timer = tokio::time::sleep_until(Instant::now());
    tokio::pin!(timer);
    // When the timer is set to fire; never later than the deadline in force (it is set again
    // whenever the deadline moves earlier; a later one is left for the timer to find).
    let mut armed: Option<Instant> = None;
    // Set once the connection is told to close (timed out, evicted, or the server stopping).
    let mut closing: Option<Instant> = None;
    let self_wakes = SelfWakePoller::new();
    std::future::poll_fn(|cx| {
        loop {
            if let Poll::Ready(result) = self_wakes.poll(cx, |cx| connection.as_mut().poll(cx)) {
                if let Err(e) = result {
                    tracing::trace!(error = %e, "connection ended with an error");
                }
                return Poll::Ready(());
            }
            if closing.is_none()
                && (evicted.as_mut().poll(cx).is_ready() || stopped.as_mut().poll(cx).is_ready())
            {
                connection.as_mut().graceful_shutdown();
                closing = Some(Instant::now());
                continue;
            }
            if let Some(deadline) = close_deadline(&activity, &limits, closing)
                && armed.is_none_or(|at| deadline < at)
            {
                timer.as_mut().reset(deadline);
                armed = Some(deadline);
            }
            if armed.is_none() || timer.as_mut().poll(cx).is_pending() {
                return Poll::Pending;
            }
            armed = None;
            // The timer fired: act only if the deadline in force (which may have moved since
            // the timer was set) has passed.
            if close_deadline(&activity, &limits, closing).is_some_and(|d| d <= Instant::now()) {
                if closing.is_some() {
                    // Past the grace with no request in flight: dropping it loses nothing.
                    return Poll::Ready(());
                }
                connection.as_mut().graceful_shutdown();
                closing = Some(Instant::now());
            }
        }
    })
    .await;
}

/// The protocol a connection speaks, told from its first bytes without taking them out of the
/// socket.
///
/// hyper-util's automatic detection reads the first 24 bytes itself and hands them to hyper
/// through a second buffer. hyper's HTTP/1 read buffer then holds those 24 bytes when it reads
/// the rest of the first request, so reserving room for the next read doubles it from 8 to
/// 16 KB, for the connection's whole life: 8 MB more at 1,000 connections (heaptrack, issue 18;
/// `strace` shows each request arriving in one read). Peeked bytes stay in the socket, and hyper
/// reads the whole request into its first 8 KB.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Protocol {
    Http1,
    /// HTTP/2 with prior knowledge (h2c): the client opened with HTTP/2's preface.
    Http2,
    /// The bytes so far are the beginning of HTTP/2's preface: hyper-util waits for the rest.
    Undecided,
}

impl Protocol {
    const HTTP2_PREFACE: &[u8] = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";

    /// Waits for the connection's first bytes (a closed connection reads as HTTP/1, which then
    /// ends it).
    async fn of_first_bytes(tcp: &TcpStream) -> std::io::Result<Self> {
        let mut first = [0u8; Self::HTTP2_PREFACE.len()];
        let n = tcp.peek(&mut first).await?;
        Ok(Self::of(&first[..n]))
    }

    fn of(first: &[u8]) -> Self {
        if first.is_empty() || !Self::HTTP2_PREFACE.starts_with(first) {
            Protocol::Http1
        } else if first.len() == Self::HTTP2_PREFACE.len() {
            Protocol::Http2
        } else {
            Protocol::Undecided
        }
    }
}

/// The waker a connection is polled with, which turns the wake-ups the connection gives itself
/// while being polled into an immediate second poll.
///
/// hyper's HTTP/1 request body is a channel from the connection's dispatcher to the handler,
/// and both run inside this task. Taking the body's bytes out of it wakes the dispatcher's
/// waker, that is, this very task, mid-poll (every MCP request reads its body). Handed to tokio,
/// such a wake-up reschedules the task as a yield, and a yield unparks another worker thread to
/// look for work: a futex wake-up and a wasted wake of a second thread per request, about 1.5
/// futex calls per request under `strace` (none for a request whose body is not read). Polling
/// again at once does what the rescheduled poll would have done, without the round trip. A task
/// that keeps waking itself still yields to the runtime after a few polls, so it cannot starve
/// the others.
struct SelfWakes {
    state: AtomicU8,
    task: futures::task::AtomicWaker,
}

const NOT_POLLING: u8 = 0;
const POLLING: u8 = 1;
const WOKEN_WHILE_POLLING: u8 = 2;

/// Polls in a row for one wake-up from the runtime, at most.
const MAX_POLLS_IN_A_ROW: usize = 4;

impl std::task::Wake for SelfWakes {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        match self.state.compare_exchange(
            POLLING,
            WOKEN_WHILE_POLLING,
            Ordering::AcqRel,
            Ordering::Acquire,
        ) {
            // Seen by the poll in progress, which polls again.
            Ok(_) | Err(WOKEN_WHILE_POLLING) => {}
            Err(_) => self.task.wake(),
        }
    }
}

/// A connection's [`SelfWakes`] and the waker made from it (which it needs at every poll).
struct SelfWakePoller {
    wakes: Arc<SelfWakes>,
    waker: std::task::Waker,
}

impl SelfWakePoller {
    fn new() -> Self {
        let wakes = Arc::new(SelfWakes {
            state: AtomicU8::new(NOT_POLLING),
            task: futures::task::AtomicWaker::new(),
        });
        let waker = std::task::Waker::from(wakes.clone());
        Self { wakes, waker }
    }

    fn poll<T>(
        &self,
        cx: &mut Context<'_>,
        mut poll: impl FnMut(&mut Context<'_>) -> Poll<T>,
    ) -> Poll<T> {
        self.wakes.task.register(cx.waker());
        let mut inner = Context::from_waker(&self.waker);
        for _ in 0..MAX_POLLS_IN_A_ROW {
            self.wakes.state.store(POLLING, Ordering::Release);
            let polled = poll(&mut inner);
            let woken = self.wakes.state.swap(NOT_POLLING, Ordering::AcqRel) == WOKEN_WHILE_POLLING;
            if polled.is_ready() || !woken {
                return polled;
            }
        }
        cx.waker().wake_by_ref();
        Poll::Pending
    }
}

/// When the connection should be closed if nothing changes: its phase's deadline, or once told
/// to close, a short grace (none while a request is in flight: it finishes, however long it
/// takes, and hyper closes the connection after it; open SSE streams are ended by the server).
fn close_deadline(
    activity: &Activity,
    limits: &Limits,
    closing: Option<Instant>,
) -> Option<Instant> {
    match closing {
        Some(_) if activity.phase.load(Ordering::Acquire) == BUSY => None,
        // hyper does not close a connection that has not sent a complete request yet.
        Some(since) => Some(since + CLOSE_GRACE),
        None => activity.deadline(limits),
    }
}

/// The socket, telling its connection's [`Activity`] when bytes arrive.
struct WatchedIo {
    inner: TcpStream,
    activity: Arc<Activity>,
}

impl AsyncRead for WatchedIo {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        let before = buf.filled().len();
        let polled = Pin::new(&mut self.inner).poll_read(cx, buf);
        if matches!(polled, Poll::Ready(Ok(()))) && buf.filled().len() > before {
            self.activity.bytes_read();
        }
        polled
    }
}

impl AsyncWrite for WatchedIo {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[std::io::IoSlice<'_>],
    ) -> Poll<std::io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }
}

/// A request body that must arrive in full within `limit` of the first time the handler had to
/// wait for it (a body sent with its head never starts the clock). Past that, reading it fails
/// and the handler answers as for any broken body; the connection then closes.
struct DeadlineBody {
    inner: Incoming,
    limit: Duration,
    deadline: Option<Pin<Box<tokio::time::Sleep>>>,
}

#[derive(Debug, thiserror::Error)]
#[error("the request body did not arrive in time")]
struct BodyTimedOut;

impl hyper::body::Body for DeadlineBody {
    type Data = Bytes;
    type Error = Box<dyn std::error::Error + Send + Sync>;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Self::Error>>> {
        match Pin::new(&mut self.inner).poll_frame(cx) {
            Poll::Ready(frame) => Poll::Ready(frame.map(|f| f.map_err(Into::into))),
            Poll::Pending => {
                let limit = self.limit;
                let deadline = self
                    .deadline
                    .get_or_insert_with(|| Box::pin(tokio::time::sleep(limit)));
                match deadline.as_mut().poll(cx) {
                    Poll::Ready(()) => Poll::Ready(Some(Err(Box::new(BodyTimedOut)))),
                    Poll::Pending => Poll::Pending,
                }
            }
        }
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::AtomicUsize;
    use std::task::Wake;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    #[test]
    fn the_protocol_is_told_from_the_first_bytes() {
        assert_eq!(Protocol::of(b"POST /mcp/x HTTP/1.1\r\n"), Protocol::Http1);
        assert_eq!(Protocol::of(b"P"), Protocol::Undecided);
        assert_eq!(Protocol::of(b"PRI * HTTP/2.0"), Protocol::Undecided);
        assert_eq!(Protocol::of(Protocol::HTTP2_PREFACE), Protocol::Http2);
        assert_eq!(
            Protocol::of(b"PRI * HTTP/1.1\r\n\r\nSM\r\n\r\n"),
            Protocol::Http1
        );
        assert_eq!(Protocol::of(b""), Protocol::Http1);
    }

    /// Counts the wake-ups the runtime would get.
    #[derive(Default)]
    struct Counted(AtomicUsize);

    impl Wake for Counted {
        fn wake(self: Arc<Self>) {
            self.0.fetch_add(1, Ordering::SeqCst);
        }
    }

    impl Counted {
        fn count(&self) -> usize {
            self.0.load(Ordering::SeqCst)
        }
    }

    /// Polls `poll` once through a new poller; what it returned, and the wake-ups the runtime
    /// got (read again later for wakes that come after the poll).
    fn through_a_poller<T>(
        poll: impl FnMut(&mut Context<'_>) -> Poll<T>,
    ) -> (Poll<T>, Arc<Counted>) {
        let outer = Arc::new(Counted::default());
        let waker = std::task::Waker::from(outer.clone());
        let polled = SelfWakePoller::new().poll(&mut Context::from_waker(&waker), poll);
        (polled, outer)
    }

    #[test]
    fn a_wake_during_the_poll_is_a_second_poll_not_a_wake_up() {
        // Wakes itself on its first poll, is done on its second.
        let mut polls = 0;
        let (polled, outer) = through_a_poller(|cx| {
            polls += 1;
            if polls == 1 {
                cx.waker().wake_by_ref();
                Poll::Pending
            } else {
                Poll::Ready(())
            }
        });
        assert_eq!((polled, polls), (Poll::Ready(()), 2));
        assert_eq!(outer.count(), 0);
    }

    #[test]
    fn a_task_that_keeps_waking_itself_still_yields_to_the_runtime() {
        let mut polls = 0;
        let (polled, outer) = through_a_poller(|cx| {
            polls += 1;
            cx.waker().wake_by_ref();
            Poll::<()>::Pending
        });
        assert_eq!((polled, polls), (Poll::Pending, MAX_POLLS_IN_A_ROW));
        assert_eq!(outer.count(), 1, "rescheduled once");
    }

    #[test]
    fn a_wake_between_polls_reaches_the_runtime() {
        let mut kept = None;
        let (polled, outer) = through_a_poller(|cx| {
            kept = Some(cx.waker().clone());
            Poll::<()>::Pending
        });
        assert_eq!(polled, Poll::Pending);
        assert_eq!(outer.count(), 0);
        // From elsewhere (the I/O driver, another task), after the poll returned.
        kept.expect("the waker was handed out").wake();
        assert_eq!(outer.count(), 1);
    }

    /// A server on a loopback port with `limits`, whose `/slow` answers after `slow`.
    async fn server(limits: Limits, slow: Duration) -> SocketAddr {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let address = listener.local_addr().unwrap();
        let router = Router::new()
            .route("/fast", axum::routing::any(|| async { "ok" }))
            .route(
                "/slow",
                axum::routing::get(move || async move {
                    tokio::time::sleep(slow).await;
                    "ok"
                }),
            );
        tokio::spawn(serve(listener, router, limits, std::future::pending()));
        address
    }

    /// Reads until the peer closes, which must be about [`SHORT`] from now.
    async fn closed_at_the_short_timeout(tcp: &mut TcpStream) {
        let waited = closed_after(tcp).await;
        assert!(
            waited >= Duration::from_millis(250) && waited < Duration::from_secs(10),
            "{waited:?}"
        );
    }

    /// Reads until the peer closes; the time it took.
    async fn closed_after(tcp: &mut TcpStream) -> Duration {
        let started = Instant::now();
        let mut buf = [0u8; 1024];
        loop {
            match tokio::time::timeout(Duration::from_secs(20), tcp.read(&mut buf)).await {
                Ok(Ok(0) | Err(_)) => return started.elapsed(),
                Ok(Ok(_)) => {}
                Err(_) => panic!("the connection was not closed within 20 s"),
            }
        }
    }

    /// Reads one `ok` reply of a keep-alive connection.
    async fn read_reply(tcp: &mut TcpStream) {
        let mut reply = Vec::new();
        let mut buf = [0u8; 1024];
        while !reply.ends_with(b"ok") {
            let n = tcp.read(&mut buf).await.unwrap();
            assert!(n > 0, "closed before the reply: {reply:?}");
            reply.extend_from_slice(&buf[..n]);
        }
        assert!(reply.starts_with(b"HTTP/1.1 200"), "{reply:?}");
    }

    /// The timeout a test waits for, and the one it never reaches.
    const SHORT: Duration = Duration::from_millis(300);
    const LONG: Duration = Duration::from_secs(60);

    fn limits(header_read_timeout: Duration, idle_timeout: Duration) -> Limits {
        Limits {
            max_connections: 16,
            header_read_timeout,
            body_read_timeout: LONG,
            idle_timeout,
        }
    }

    #[tokio::test]
    async fn a_first_request_in_pieces_is_answered_whatever_its_first_bytes_suggest() {
        let address = server(limits(LONG, SHORT), Duration::ZERO).await;
        // "P" could begin HTTP/2's preface ("PRI * …"): left to hyper-util to decide; "G"
        // cannot. The rest comes later, on both.
        for (first, rest) in [
            (
                &b"P"[..],
                &b"OST /fast HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n"[..],
            ),
            (b"G", b"ET /fast HTTP/1.1\r\nHost: x\r\n\r\n"),
        ] {
            let mut tcp = TcpStream::connect(address).await.unwrap();
            tcp.write_all(first).await.unwrap();
            tokio::time::sleep(Duration::from_millis(50)).await;
            tcp.write_all(rest).await.unwrap();
            read_reply(&mut tcp).await;
        }
    }

    #[tokio::test]
    async fn a_connection_that_sends_nothing_is_closed_at_the_idle_timeout() {
        let address = server(limits(LONG, SHORT), Duration::ZERO).await;
        let mut tcp = TcpStream::connect(address).await.unwrap();
        closed_at_the_short_timeout(&mut tcp).await;
    }

    #[tokio::test]
    async fn http2_with_prior_knowledge_is_still_served() {
        let address = server(limits(LONG, SHORT), Duration::ZERO).await;
        let mut tcp = TcpStream::connect(address).await.unwrap();
        // The preface and an empty SETTINGS frame (length 0, type 4, no flags, stream 0).
        tcp.write_all(Protocol::HTTP2_PREFACE).await.unwrap();
        tcp.write_all(&[0, 0, 0, 4, 0, 0, 0, 0, 0]).await.unwrap();
        let mut head = [0u8; 9];
        tokio::time::timeout(Duration::from_secs(10), tcp.read_exact(&mut head))
            .await
            .expect("an HTTP/2 server answers with its SETTINGS")
            .unwrap();
        assert_eq!(head[3], 4, "the server's first frame is SETTINGS: {head:?}");
    }

    #[tokio::test]
    async fn a_slow_head_on_a_kept_alive_connection_is_closed_at_the_header_timeout() {
        // The connection's timer is set for its idle deadline (a minute away) when the next
        // head starts; the header deadline, much earlier, must still close it.
        let address = server(limits(SHORT, LONG), Duration::ZERO).await;
        let mut tcp = TcpStream::connect(address).await.unwrap();
        tcp.write_all(b"GET /fast HTTP/1.1\r\nHost: x\r\n\r\n")
            .await
            .unwrap();
        read_reply(&mut tcp).await;
        tcp.write_all(b"GET /fast HTTP/1.1\r\nHost: x\r\n")
            .await
            .unwrap();
        closed_at_the_short_timeout(&mut tcp).await;
    }

    #[tokio::test]
    async fn a_request_outlives_the_idle_timeout_and_the_idle_clock_starts_after_it() {
        let address = server(limits(LONG, SHORT), Duration::from_millis(900)).await;
        let mut tcp = TcpStream::connect(address).await.unwrap();
        tcp.write_all(b"GET /slow HTTP/1.1\r\nHost: x\r\n\r\n")
            .await
            .unwrap();
        // Busy for three idle timeouts: answered, not cut.
        read_reply(&mut tcp).await;
        closed_at_the_short_timeout(&mut tcp).await;
    }
}
