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
//! any stream. With TLS (`tls_cert`/`tls_key`), the handshake runs inside the
//! connection's task, where [`serve`] spawns it (so a slow handshake never
//! holds the accept loop), bounded by the header-read timeout, and the TLS
//! stream goes on to hyper.
//!
//! hyper answers a request line it cannot parse (a raw space, `>`, `<` or `"`
//! in the query) with a bare 400 and no body, before any handler. Each
//! connection's stream therefore keeps its last bytes read, and when hyper
//! writes that bare 400 for a request target it refused, the answer is
//! replaced by one in the error envelope of the family the path belongs to,
//! saying to URL-encode the query (see `EnvelopeParseErrors`).

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

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
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
#[derive(Clone)]
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
    /// Speak HTTPS only: every connection starts with this TLS handshake,
    /// which must finish within `header_read_timeout`.
    pub tls: Option<tokio_rustls::TlsAcceptor>,
}

/// The TLS acceptor for the server's own certificate chain and key (PEM
/// files): TLS 1.2 and 1.3 with rustls's safe defaults, HTTP/1.1 offered.
pub fn tls_acceptor(files: &crate::config::TlsFiles) -> anyhow::Result<tokio_rustls::TlsAcceptor> {
    use anyhow::Context as _;
    use rustls_pki_types::pem::PemObject;
    use rustls_pki_types::{CertificateDer, PrivateKeyDer};
    let chain = CertificateDer::pem_file_iter(&files.cert)
        .and_then(|certs| certs.collect::<Result<Vec<_>, _>>())
        .with_context(|| {
            format!(
                "tls_cert {}: not a readable PEM certificate chain",
                files.cert
            )
        })?;
    if chain.is_empty() {
        anyhow::bail!("tls_cert {}: holds no certificate", files.cert);
    }
    let key = PrivateKeyDer::from_pem_file(&files.key)
        .with_context(|| format!("tls_key {}: not a readable PEM private key", files.key))?;
    let mut config = rustls::ServerConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .context("TLS protocol versions")?
    .with_no_client_auth()
    .with_single_cert(chain, key)
    .context("tls_cert and tls_key do not make a usable certificate and key")?;
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(tokio_rustls::TlsAcceptor::from(Arc::new(config)))
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
                    let (router, http, closing) = (router.clone(), http.clone(), closing_rx.clone());
                    let tls = options.tls.clone();
                    let handshake_limit = options.header_read_timeout;
                    connections.spawn(async move {
                        let _slot = slot;
                        let Some(tls) = tls else {
                            return serve_connection(stream, peer, router, http, closing).await;
                        };
                        match tokio::time::timeout(handshake_limit, tls.accept(stream)).await {
                            Ok(Ok(stream)) => serve_connection(stream, peer, router, http, closing).await,
                            Ok(Err(err)) => tracing::debug!(%peer, error = %err, "TLS handshake failed"),
                            Err(_) => tracing::debug!(%peer, "TLS handshake not finished in time"),
                        }
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
    let stream = EnvelopeParseErrors::new(stream, peer);
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

/// The most recently read bytes kept per connection, where the request line
/// hyper refused is looked for: as much as hyper's first read of a request
/// head. A longer refused line is answered with hyper's bare 400.
const RECENT_MAX: usize = 8 * 1024;

/// What hyper answers a request line it cannot parse with: this head and no
/// body. Tollgate's own answers always carry a body.
const BARE_400: &[u8] = b"HTTP/1.1 400 Bad Request\r\n";

/// The connection as hyper sees it, replacing hyper's bare 400 for a
/// request target it refused by the envelope of the target's family.
///
/// hyper refuses such a request line before any handler and writes its
/// 400 itself. This stream keeps the last bytes read; when hyper writes a
/// bodiless 400 and those bytes hold a request line whose target hyper
/// refuses, the answer from `http::refused_target_answer` is written in its
/// place (hyper then closes the connection, as it would have).
struct EnvelopeParseErrors<S> {
    inner: S,
    peer: SocketAddr,
    recent: Vec<u8>,
    /// Whether `recent` lost its beginning (so its first line may be cut).
    truncated: bool,
    /// The replacing answer, written before anything else.
    pending: Vec<u8>,
    written: usize,
}

impl<S> EnvelopeParseErrors<S> {
    fn new(inner: S, peer: SocketAddr) -> Self {
        EnvelopeParseErrors {
            inner,
            peer,
            recent: Vec::new(),
            truncated: false,
            pending: Vec::new(),
            written: 0,
        }
    }

    fn remember(&mut self, read: &[u8]) {
        if read.len() >= RECENT_MAX {
            self.recent.clear();
            self.recent
                .extend_from_slice(&read[read.len() - RECENT_MAX..]);
            self.truncated = true;
            return;
        }
        let overflow = (self.recent.len() + read.len()).saturating_sub(RECENT_MAX);
        if overflow > 0 {
            self.recent.drain(..overflow);
            self.truncated = true;
        }
        self.recent.extend_from_slice(read);
    }

    /// The answer replacing `head` when it is hyper's bare 400 for a target
    /// it refused.
    fn replacement(&self, head: &[u8]) -> Option<Vec<u8>> {
        if !head.starts_with(BARE_400) || !head.ends_with(b"\r\n\r\n") {
            return None;
        }
        let lower = head.to_ascii_lowercase();
        if !lower.windows(19).any(|w| w == b"content-length: 0\r\n") {
            return None;
        }
        // The last line that is a request line hyper refuses: the one it
        // failed on (its headers, if read, follow it).
        let starts = std::iter::once(0).filter(|_| !self.truncated).chain(
            self.recent
                .iter()
                .enumerate()
                .filter(|(_, &b)| b == b'\n')
                .map(|(i, _)| i + 1),
        );
        let (line, target) = starts
            .filter_map(|at| refused_target(&self.recent[at..]).map(|t| (at, t)))
            .last()?;
        let target = String::from_utf8_lossy(target);
        tracing::debug!(peer = %self.peer, target = %target, "request target refused: characters to URL-encode");
        let head_only = self.recent[line..].starts_with(b"HEAD ");
        Some(refused_target_bytes(&target, head_only))
    }

    /// Writes what is left of the replacing answer.
    fn poll_pending(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>>
    where
        S: AsyncWrite + Unpin,
    {
        while self.written < self.pending.len() {
            let n = std::task::ready!(
                Pin::new(&mut self.inner).poll_write(cx, &self.pending[self.written..])
            )?;
            if n == 0 {
                return Poll::Ready(Err(io::ErrorKind::WriteZero.into()));
            }
            self.written += n;
        }
        Poll::Ready(Ok(()))
    }
}

/// The full HTTP answer (head and body) to a request whose target hyper
/// refuses, in the envelope of its path's family.
fn refused_target_bytes(target: &str, head_only: bool) -> Vec<u8> {
    use axum::body::HttpBody;
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
    // The envelope is a complete JSON body: one frame, ready at once.
    let mut body = Vec::new();
    let mut response_body = response.into_body();
    let mut cx = Context::from_waker(std::task::Waker::noop());
    while let Poll::Ready(Some(Ok(frame))) = Pin::new(&mut response_body).poll_frame(&mut cx) {
        if let Ok(data) = frame.into_data() {
            body.extend_from_slice(&data);
        }
    }
    head.push_str(&format!(
        "content-length: {}\r\nconnection: close\r\n\r\n",
        body.len()
    ));
    let mut answer = head.into_bytes();
    if !head_only {
        answer.extend_from_slice(&body);
    }
    answer
}

impl<S: AsyncRead + Unpin> AsyncRead for EnvelopeParseErrors<S> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let filled = buf.filled().len();
        std::task::ready!(Pin::new(&mut self.inner).poll_read(cx, buf))?;
        self.remember(&buf.filled()[filled..]);
        Poll::Ready(Ok(()))
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for EnvelopeParseErrors<S> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let this = &mut *self;
        std::task::ready!(this.poll_pending(cx))?;
        if let Some(answer) = this.replacement(buf) {
            this.pending = answer;
            this.written = 0;
            // hyper's bytes count as written; ours go out now or on the
            // flush that follows.
            if let Poll::Ready(Err(err)) = this.poll_pending(cx) {
                return Poll::Ready(Err(err));
            }
            return Poll::Ready(Ok(buf.len()));
        }
        Pin::new(&mut this.inner).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let this = &mut *self;
        std::task::ready!(this.poll_pending(cx))?;
        // A bare 400 comes as one slice: that one goes through poll_write.
        match bufs.iter().find(|b| !b.is_empty()) {
            Some(first) if first.starts_with(BARE_400) => self.poll_write(cx, first),
            _ => Pin::new(&mut this.inner).poll_write_vectored(cx, bufs),
        }
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        std::task::ready!(self.poll_pending(cx))?;
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        std::task::ready!(self.poll_pending(cx))?;
        Pin::new(&mut self.inner).poll_shutdown(cx)
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
            tls: None,
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

    const BARE: &[u8] =
        b"HTTP/1.1 400 Bad Request\r\nconnection: close\r\ncontent-length: 0\r\ndate: Wed, 02 Dec 2026 10:19:22 GMT\r\n\r\n";

    fn stream_that_read(bytes: &[u8]) -> EnvelopeParseErrors<()> {
        let mut stream = EnvelopeParseErrors::new((), "127.0.0.1:1".parse().unwrap());
        stream.remember(bytes);
        stream
    }

    #[test]
    fn hypers_bare_400_for_a_refused_target_is_replaced_by_the_family_envelope() {
        // A kept-alive connection: one good request, then a refused one.
        let stream = stream_that_read(
            b"GET /healthz HTTP/1.1\r\nHost: t\r\n\r\nGET /api/v3/requests?x=a>b HTTP/1.1\r\nHost: t\r\n\r\n",
        );
        let answer = String::from_utf8(stream.replacement(BARE).expect("replaced")).unwrap();
        assert!(
            answer.starts_with("HTTP/1.1 400 Bad Request\r\n"),
            "{answer}"
        );
        assert!(answer.contains("connection: close\r\n"), "{answer}");
        let body = answer.split_once("\r\n\r\n").unwrap().1;
        let body: serde_json::Value = serde_json::from_str(body).expect("JSON");
        assert!(body["response_status"]["messages"][0]["message"]
            .as_str()
            .unwrap()
            .contains("URL-encode"));
        // HEAD: the head alone.
        let stream = stream_that_read(b"HEAD /api/now/table/x?q=a<b HTTP/1.1\r\n");
        let answer = stream.replacement(BARE).expect("replaced");
        assert!(answer.ends_with(b"\r\n\r\n"));
    }

    #[test]
    fn other_answers_and_other_parse_errors_are_left_alone() {
        let refused = stream_that_read(b"GET /a?x=a>b HTTP/1.1\r\nHost: t\r\n\r\n");
        // A 400 with a body is a handler's.
        let with_body = b"HTTP/1.1 400 Bad Request\r\ncontent-length: 2\r\n\r\n{}";
        assert!(refused.replacement(with_body).is_none());
        assert!(refused
            .replacement(b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\n\r\n")
            .is_none());
        // A bare 400 for a bad header after a good request line stays.
        let bad_header = stream_that_read(b"GET /a?x=1 HTTP/1.1\r\nBad Header\r\n\r\n");
        assert!(bad_header.replacement(BARE).is_none());
        // A cut-off first line is not read as a request line.
        let mut cut = stream_that_read(&vec![b'x'; RECENT_MAX]);
        cut.remember(b"T /a>b HTTP/1.1\r\n");
        assert!(cut.truncated);
        assert!(cut.replacement(BARE).is_none());
        assert_eq!(cut.recent.len(), RECENT_MAX, "bounded");
    }
}
