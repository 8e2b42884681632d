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
use tokio::io::{AsyncRead, AsyncWrite};
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
/// and its current request is answered.
pub async fn serve_connection<S>(
    stream: S,
    peer: SocketAddr,
    router: Router,
    http: Arc<http1::Builder>,
    mut closing: watch::Receiver<bool>,
) where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
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
}
