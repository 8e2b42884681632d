//! The HTTP listener: accepts TCP connections, serves each with hyper's
//! HTTP/1 connection (keep-alive, a header-read timeout) and, when told,
//! stops accepting and closes the connections within a deadline.
//!
//! `axum::serve` offers neither a header-read timeout nor a bounded graceful
//! shutdown: a client that sent half a request head held its connection, and
//! so the shutdown, for as long as it liked. The router (middleware, body
//! limits, request timeout) is unchanged; this module only owns sockets.
//!
//! A connection's bytes reach hyper through [`serve_connection`], which takes
//! any stream: a TLS acceptor would wrap the accepted `TcpStream` inside the
//! connection's task, where [`serve`] spawns it (so a slow handshake never
//! holds the accept loop; it would need a deadline of its own), and hand the
//! TLS stream on.
//!
//! hyper answers a request line it cannot parse (a raw space, `>`, `<` or `"`
//! in the query) with a bare 400 and no body, before any handler. The first
//! request line of each connection is therefore read here first (bounded,
//! within the header-read timeout): when hyper would refuse its target, the
//! connection is answered in the error envelope of the family the path
//! belongs to, saying to URL-encode the query, and closed. A later request
//! on a kept-alive connection still meets hyper's bare 400: finding where it
//! starts would mean parsing every request's body framing.

use std::convert::Infallible;
use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::ConnectInfo;
use axum::Router;
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper_util::rt::{TokioIo, TokioTimer};
use std::pin::Pin;
use std::task::{Context, Poll};

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use tokio::task::JoinSet;
use tower::ServiceExt;

/// First pause after an accept error that is not the peer's (EMFILE, ENFILE,
/// ENOBUFS...): the process must free something before accepting can work,
/// and retrying at once would spin and flood the log.
const ACCEPT_BACKOFF_MIN: Duration = Duration::from_millis(50);
/// The pause doubles while accepting keeps failing, up to this.
const ACCEPT_BACKOFF_MAX: Duration = Duration::from_secs(1);

/// How connections are served and closed.
#[derive(Clone, Copy, Debug)]
pub struct ListenerOptions {
    /// A connection that has not sent a complete request head this long
    /// after it opened, or after its previous answer (keep-alive), is closed.
    pub header_read_timeout: Duration,
    /// After accepting stops, how long connections may take to finish their
    /// requests before they are dropped.
    pub shutdown_deadline: Duration,
    /// Connections open at once. At the limit the loop stops accepting, so
    /// new connections wait in the kernel's listen queue (and are refused
    /// once it is full) instead of each taking a task and its buffers: a
    /// flood of idle connections costs a bounded amount of memory.
    pub max_connections: usize,
}

/// Where connections come from: a `TcpListener` (tests also use one that
/// fails on purpose).
pub trait Accept: Send {
    fn accept(&mut self) -> impl Future<Output = io::Result<(TcpStream, SocketAddr)>> + Send;
}

impl Accept for TcpListener {
    fn accept(&mut self) -> impl Future<Output = io::Result<(TcpStream, SocketAddr)>> + Send {
        TcpListener::accept(self)
    }
}

/// Serves `router` on `listener` until `stop_accepting` resolves; then
/// closes the listener, asks every connection to finish (an idle one closes
/// at once, a busy one after its current answer) and drops those still open
/// after `shutdown_deadline`. Returns when no connection is left.
pub async fn serve(
    mut listener: impl Accept,
    router: Router,
    options: ListenerOptions,
    stop_accepting: impl Future<Output = ()>,
) {
    let mut http = http1::Builder::new();
    http.timer(TokioTimer::new())
        .header_read_timeout(options.header_read_timeout.max(Duration::from_millis(1)))
        .keep_alive(true);
    let http = Arc::new(http);
    // `true` once accepting has stopped: each connection then finishes.
    let (closing, closing_rx) = watch::channel(false);
    let mut connections = JoinSet::new();
    // A permit per open connection, held by its task until it ends.
    let slots = Arc::new(tokio::sync::Semaphore::new(options.max_connections.max(1)));
    let mut backoff = ACCEPT_BACKOFF_MIN;
    tokio::pin!(stop_accepting);
    loop {
        tokio::select! {
            biased;
            () = &mut stop_accepting => break,
            // Reaps finished connections so the set holds only open ones
            // (before accepting: a flood of connections must not starve it).
            Some(done) = connections.join_next(), if !connections.is_empty() => log_end(done),
            accepted = async {
                // The semaphore is never closed: always a permit.
                let slot = slots.clone().acquire_owned().await.ok();
                listener.accept().await.map(|accepted| (accepted, slot))
            } => match accepted {
                Ok(((stream, peer), slot)) => {
                    backoff = ACCEPT_BACKOFF_MIN;
                    // Small answers go out at once rather than waiting for
                    // the peer's delayed ACK.
                    let _ = stream.set_nodelay(true);
                    // A TLS handshake would go in this task, before hyper.
                    let connection = serve_connection(
                        stream,
                        peer,
                        router.clone(),
                        http.clone(),
                        closing_rx.clone(),
                        options.header_read_timeout,
                    );
                    connections.spawn(async move {
                        let _slot = slot;
                        connection.await
                    });
                }
                // The peer gave up between its connect and our accept.
                Err(err) if is_peer_error(&err) => {}
                Err(err) => {
                    tracing::error!(error = %err, pause_ms = backoff.as_millis() as u64, "cannot accept connections");
                    tokio::select! {
                        biased;
                        () = &mut stop_accepting => break,
                        () = tokio::time::sleep(backoff) => {}
                    }
                    backoff = (backoff * 2).min(ACCEPT_BACKOFF_MAX);
                }
            },
        }
    }
    drop(listener);
    tracing::info!(
        open = connections.len(),
        deadline_secs = options.shutdown_deadline.as_secs_f64(),
        "stopped accepting connections; finishing open ones"
    );
    let _ = closing.send(true);
    let finished = tokio::time::timeout(options.shutdown_deadline, async {
        while let Some(done) = connections.join_next().await {
            log_end(done);
        }
    })
    .await;
    if finished.is_err() {
        tracing::warn!(
            dropped = connections.len(),
            "connections still open at the shutdown deadline are dropped"
        );
        connections.shutdown().await;
    }
}

/// Serves one connection (any byte stream: plain TCP now, TLS later) until
/// the peer closes it, an error or timeout ends it, or the listener closes
/// and its current request is answered. The first request head must be
/// complete within `header_read_timeout` of the connection's opening (hyper
/// times the later ones).
pub async fn serve_connection<S>(
    mut stream: S,
    peer: SocketAddr,
    router: Router,
    http: Arc<http1::Builder>,
    mut closing: watch::Receiver<bool>,
    header_read_timeout: Duration,
) where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let deadline = tokio::time::Instant::now() + header_read_timeout;
    let mut first = Vec::new();
    let read = tokio::select! {
        biased;
        // An idle connection closes at once when the listener closes.
        _ = closing.wait_for(|closing| *closing) => return,
        read = tokio::time::timeout_at(deadline, read_first_line(&mut stream, &mut first)) => read,
    };
    match read {
        // Too slow, gone, or broken: closed without an answer, as hyper does.
        Err(_) | Ok(Err(_)) => return,
        Ok(Ok(())) => {}
    }
    if let Some(target) = refused_target(&first) {
        let head_only = first.starts_with(b"HEAD ");
        answer_refused_target(stream, peer, &String::from_utf8_lossy(target), head_only).await;
        return;
    }
    let stream = Replay {
        first,
        offset: 0,
        inner: stream,
        deadline: Some(Box::pin(tokio::time::sleep_until(deadline))),
        head_end: HeadEnd::default(),
    };
    // Handlers see the peer as `ConnectInfo<SocketAddr>`, as with
    // `into_make_service_with_connect_info` (the login throttle and the
    // trusted-proxy check read it).
    let service = hyper::service::service_fn(move |mut request: hyper::Request<Incoming>| {
        request.extensions_mut().insert(ConnectInfo(peer));
        let router = router.clone();
        async move {
            let answer = router.oneshot(request.map(axum::body::Body::new)).await;
            Ok::<_, Infallible>(match answer {
                Ok(answer) => answer,
                Err(never) => match never {},
            })
        }
    });
    let connection = http.serve_connection(TokioIo::new(stream), service);
    tokio::pin!(connection);
    let result = tokio::select! {
        result = connection.as_mut() => result,
        // Also when the sender is gone: nobody serves any more.
        () = async {
            let _ = closing.wait_for(|closing| *closing).await;
        } => {
            connection.as_mut().graceful_shutdown();
            connection.await
        }
    };
    if let Err(err) = result {
        // A client that went away, sent garbage or was too slow: its
        // business, logged for whoever chases a client's complaint.
        tracing::debug!(%peer, error = %err, "connection ended with an error");
    }
}

/// The most of a connection read before its first request line is judged:
/// a target longer than a URI may be (65 534 bytes) is hyper's to refuse
/// (414), so the line is read no further.
const FIRST_LINE_MAX: usize = 65_536 + 64;

/// Reads until `buf` holds a line end, the peer closed, or `buf` is past
/// [`FIRST_LINE_MAX`]. What was read after the line is kept for hyper.
async fn read_first_line<S: AsyncRead + Unpin>(
    stream: &mut S,
    buf: &mut Vec<u8>,
) -> io::Result<()> {
    let mut chunk = [0u8; 4096];
    while buf.len() < FIRST_LINE_MAX {
        let n = stream.read(&mut chunk).await?;
        if n == 0 {
            break;
        }
        let searched = buf.len();
        buf.extend_from_slice(&chunk[..n]);
        if buf[searched..].contains(&b'\n') {
            break;
        }
    }
    Ok(())
}

/// The target of an HTTP/1 request line that hyper would refuse because of
/// the target's bytes: a space, a control byte, or a character the `http`
/// crate's URI parser (hyper's) does not take, such as `"`, `<`, `>`, `\`,
/// `^`, `` ` ``, `{`, `|` or `}`. Any other line, well-formed or garbage of
/// another kind (not HTTP/1, no line end yet), is hyper's to answer.
pub fn refused_target(first: &[u8]) -> Option<&[u8]> {
    let end = first.iter().position(|&b| b == b'\n')?;
    let line = &first[..end];
    let line = line.strip_suffix(b"\r").unwrap_or(line);
    let space = line.iter().position(|&b| b == b' ')?;
    let method = &line[..space];
    if method.is_empty() || !method.iter().all(|b| b.is_ascii_alphabetic()) {
        return None;
    }
    let rest = &line[space + 1..];
    let target = rest
        .strip_suffix(b" HTTP/1.1")
        .or_else(|| rest.strip_suffix(b" HTTP/1.0"))?;
    if target.is_empty() || target.len() > 65_534 {
        return None;
    }
    // httparse takes the bytes from `!` to `~` and those above 127.
    let parses =
        target.iter().all(|&b| b > b' ' && b != 0x7f) && http::Uri::try_from(target).is_ok();
    (!parses).then_some(target)
}

/// Answers a request whose target hyper would refuse, in the envelope of
/// the family its path belongs to, and closes the connection.
async fn answer_refused_target<S>(mut stream: S, peer: SocketAddr, target: &str, head_only: bool)
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    tracing::debug!(%peer, target, "request target refused: characters to URL-encode");
    let response = crate::http::refused_target_answer(target);
    let status = response.status();
    let mut head = format!(
        "HTTP/1.1 {} {}\r\n",
        status.as_u16(),
        status.canonical_reason().unwrap_or("")
    );
    for (name, value) in response.headers() {
        if let Ok(value) = value.to_str() {
            head.push_str(&format!("{name}: {value}\r\n"));
        }
    }
    let body = axum::body::to_bytes(response.into_body(), 64 * 1024)
        .await
        .unwrap_or_default();
    head.push_str(&format!(
        "content-length: {}\r\nconnection: close\r\n\r\n",
        body.len()
    ));
    let mut answer = head.into_bytes();
    if !head_only {
        answer.extend_from_slice(&body);
    }
    let written = async {
        stream.write_all(&answer).await?;
        stream.flush().await?;
        stream.shutdown().await
    };
    if tokio::time::timeout(LINGER, written).await.is_err() {
        return;
    }
    // The rest of the request may still be arriving; closing with unread
    // bytes would reset the connection and could lose the answer on the
    // way, so a bounded amount is read and dropped first.
    let _ = tokio::time::timeout(LINGER, async {
        let mut sink = [0u8; 4096];
        let mut left = 256 * 1024usize;
        while left > 0 {
            match stream.read(&mut sink).await {
                Ok(0) | Err(_) => break,
                Ok(n) => left = left.saturating_sub(n),
            }
        }
    })
    .await;
}

/// How long a refused request's answer may take to write, and its
/// connection to linger for the rest of the request.
const LINGER: Duration = Duration::from_secs(1);

/// The connection as hyper reads it: the bytes read to judge the first
/// request line, then the stream. Until the first head's blank line has gone
/// by, reads fail past the connection's header deadline.
struct Replay<S> {
    first: Vec<u8>,
    offset: usize,
    inner: S,
    deadline: Option<Pin<Box<tokio::time::Sleep>>>,
    head_end: HeadEnd,
}

/// Finds the end of the first request head (`\r\n\r\n`, or a bare
/// `\n\n` as httparse also takes) across reads.
#[derive(Default)]
struct HeadEnd {
    /// The last two bytes seen, newest last.
    tail: [u8; 2],
}

impl HeadEnd {
    /// Whether the head ended within `bytes`.
    fn ends_in(&mut self, bytes: &[u8]) -> bool {
        for &b in bytes {
            let [c, d] = self.tail;
            if b == b'\n' && (d == b'\n' || (d == b'\r' && c == b'\n')) {
                return true;
            }
            self.tail = [d, b];
        }
        false
    }
}

impl<S: AsyncRead + Unpin> AsyncRead for Replay<S> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = &mut *self;
        if let Some(deadline) = &mut this.deadline {
            if deadline.as_mut().poll(cx).is_ready() {
                return Poll::Ready(Err(io::Error::new(
                    io::ErrorKind::TimedOut,
                    "the first request head took longer than the header read timeout",
                )));
            }
        }
        let filled = buf.filled().len();
        if this.offset < this.first.len() {
            let n = (this.first.len() - this.offset).min(buf.remaining());
            buf.put_slice(&this.first[this.offset..this.offset + n]);
            this.offset += n;
            if this.offset == this.first.len() {
                this.first = Vec::new();
                this.offset = 0;
            }
        } else {
            std::task::ready!(Pin::new(&mut this.inner).poll_read(cx, buf))?;
        }
        if this.deadline.is_some() && this.head_end.ends_in(&buf.filled()[filled..]) {
            this.deadline = None;
        }
        Poll::Ready(Ok(()))
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for Replay<S> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }
}

fn log_end(done: Result<(), tokio::task::JoinError>) {
    if let Err(err) = done {
        if err.is_panic() {
            tracing::error!(error = %err, "a connection task panicked");
        }
    }
}

/// Accept errors that concern one peer only: accepting goes on at once.
fn is_peer_error(err: &io::Error) -> bool {
    matches!(
        err.kind(),
        io::ErrorKind::ConnectionRefused
            | io::ErrorKind::ConnectionAborted
            | io::ErrorKind::ConnectionReset
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    /// A listener whose first `errors` accepts fail as when the process is
    /// out of file descriptors.
    struct Exhausted {
        inner: TcpListener,
        errors: usize,
    }

    impl Accept for Exhausted {
        async fn accept(&mut self) -> io::Result<(TcpStream, SocketAddr)> {
            if self.errors > 0 {
                self.errors -= 1;
                return Err(io::Error::other("Too many open files (os error 24)"));
            }
            self.inner.accept().await
        }
    }

    #[tokio::test]
    async fn accept_errors_pause_the_loop_but_do_not_end_it() {
        let inner = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = inner.local_addr().unwrap();
        let router = Router::new().route("/", axum::routing::get(|| async { "ok" }));
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let options = ListenerOptions {
            header_read_timeout: Duration::from_secs(10),
            shutdown_deadline: Duration::from_secs(1),
            max_connections: 10,
        };
        let server = tokio::spawn(serve(
            Exhausted { inner, errors: 5 },
            router,
            options,
            async {
                let _ = stopped.await;
            },
        ));
        let mut client = TcpStream::connect(addr).await.unwrap();
        client
            .write_all(b"GET / HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n")
            .await
            .unwrap();
        let mut answer = String::new();
        tokio::time::timeout(Duration::from_secs(20), client.read_to_string(&mut answer))
            .await
            .expect("answered once accepting works again")
            .unwrap();
        assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
        assert!(!server.is_finished(), "the loop goes on");
        stop.send(()).unwrap();
        tokio::time::timeout(Duration::from_secs(20), server)
            .await
            .expect("stops when told")
            .unwrap();
    }

    #[test]
    fn targets_hyper_refuses_are_recognised_and_others_left_to_hyper() {
        let refused = |line: &str| refused_target(line.as_bytes()).is_some();
        assert!(refused("GET /api/now/table/x?q=a>b HTTP/1.1\r\n"));
        assert!(refused(
            "GET /api/v3/requests?input_data={\"a\":1} HTTP/1.1\r\nHost: t\r\n"
        ));
        assert!(refused("GET /a`b HTTP/1.1\r\n"));
        assert!(
            !refused("GET /api/now/table/x?q=a=1^b=2|{c} HTTP/1.1\r\n"),
            "hyper takes these"
        );
        assert!(refused("GET /a?x=a b HTTP/1.1\r\n"));
        assert!(refused("GET /a?x=\"q\" HTTP/1.0\n"));
        assert!(!refused("GET /api/now/table/x?q=a%3Eb HTTP/1.1\r\n"));
        assert!(!refused("GET /a?x=a=b&c HTTP/1.1\r\n"), "a URL hyper takes");
        assert!(!refused("GET /a?x=a>b HTTP/1.1"), "no line end yet");
        assert!(!refused("\x16\x03\x01 garbage\n"), "not HTTP/1");
        assert!(!refused("PRI * HTTP/2.0\r\n"));
    }

    #[test]
    fn the_first_head_ends_at_its_blank_line_across_reads() {
        let mut end = HeadEnd::default();
        assert!(!end.ends_in(b"GET / HTTP/1.1\r\nHost: t\r"));
        assert!(!end.ends_in(b"\n\r"));
        assert!(end.ends_in(b"\n"));
        let mut end = HeadEnd::default();
        assert!(end.ends_in(b"GET / HTTP/1.1\nHost: t\n\n"));
    }
}
