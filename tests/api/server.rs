//! The real server on a TCP port: it answers, keeps connections alive,
//! closes slow ones, drains and shuts down within its deadline.

use std::time::Duration;

use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;
use tollgate::config::Settings;

use crate::helpers::*;

/// Long enough for a loaded CI machine; a bound proves "ends", not "fast".
const GENEROUS: Duration = Duration::from_secs(20);

async fn http_get(addr: std::net::SocketAddr, path: &str) -> String {
    let mut stream = TcpStream::connect(addr).await.expect("connect");
    let request = format!("GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n");
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut answer = String::new();
    stream.read_to_string(&mut answer).await.unwrap();
    answer
}

/// One answer read off a connection that stays open.
struct Answer {
    status: u16,
    /// The head, lowercased.
    head: String,
    body: String,
}

/// A client connection that sends requests one after another (keep-alive).
struct Client {
    stream: BufReader<TcpStream>,
}

impl Client {
    async fn connect(addr: std::net::SocketAddr) -> Client {
        Client {
            stream: BufReader::new(TcpStream::connect(addr).await.expect("connect")),
        }
    }

    async fn get(&mut self, path: &str, extra_headers: &str) -> Answer {
        let request = format!("GET {path} HTTP/1.1\r\nHost: tollgate.test\r\n{extra_headers}\r\n");
        self.stream
            .get_mut()
            .write_all(request.as_bytes())
            .await
            .expect("send the request");
        let mut head = String::new();
        loop {
            let mut line = String::new();
            let n = self.stream.read_line(&mut line).await.expect("read a line");
            assert!(n > 0, "the connection closed mid-answer: {head}");
            if line == "\r\n" {
                break;
            }
            head.push_str(&line.to_ascii_lowercase());
        }
        let status = head[9..12].parse().expect("a status code");
        let length: usize = head
            .lines()
            .find_map(|l| l.strip_prefix("content-length:"))
            .unwrap_or_else(|| panic!("a content-length: {head}"))
            .trim()
            .parse()
            .unwrap();
        let mut body = vec![0; length];
        self.stream.read_exact(&mut body).await.expect("the body");
        Answer {
            status,
            head,
            body: String::from_utf8_lossy(&body).into_owned(),
        }
    }
}

fn basic(user: &str, password: &str) -> String {
    use base64::Engine;
    let token = base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"));
    format!("Authorization: Basic {token}\r\n")
}

/// Reads until the server closes the connection; panics if it is still
/// open after `bound`. Returns what the server sent before closing.
async fn closed_within(stream: &mut TcpStream, bound: Duration) -> Vec<u8> {
    let mut sent = Vec::new();
    match tokio::time::timeout(bound, stream.read_to_end(&mut sent)).await {
        Ok(_) => sent, // EOF or a reset: closed either way
        Err(_) => panic!("the server still holds the connection after {bound:?}"),
    }
}

/// A connection that sent half a request head and then nothing.
async fn slow_client(addr: std::net::SocketAddr) -> TcpStream {
    let mut stream = TcpStream::connect(addr).await.expect("connect");
    stream
        .write_all(b"GET /healthz HTTP/1.1\r\nHost: tollgate.test\r\nX-Slow: ")
        .await
        .unwrap();
    stream
}

fn settings(header_read_timeout: Duration, drain: Duration, deadline: Duration) -> Settings {
    Settings {
        header_read_timeout,
        shutdown_drain: drain,
        shutdown_deadline: deadline,
        ..test_settings()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_server_answers_on_its_port_and_stops_when_told() {
    let mut server = RunningServer::start(Settings {
        workers: 1,
        shutdown_drain: Duration::from_millis(100),
        ..test_settings()
    })
    .await;
    let addr = server.addr;

    let answer = http_get(addr, "/healthz").await;
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    assert!(
        answer.to_ascii_lowercase().contains("x-request-id:"),
        "every answer carries a request id"
    );
    let answer = http_get(addr, "/readyz").await;
    assert!(answer.contains("\"ready\""), "{answer}");

    server.signal_shutdown();
    let result = server.stopped_within(GENEROUS).await;
    assert!(result.is_ok(), "{result:?}");
    assert!(
        TcpStream::connect(addr).await.is_err(),
        "the port is closed"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_connection_without_a_complete_request_head_is_closed_after_the_header_read_timeout() {
    let server = RunningServer::start(settings(
        Duration::from_millis(300),
        Duration::ZERO,
        Duration::from_secs(1),
    ))
    .await;
    // Half a head, then silence.
    let mut slow = slow_client(server.addr).await;
    let sent = closed_within(&mut slow, Duration::from_secs(5)).await;
    assert!(
        sent.is_empty(),
        "closed without an answer: {}",
        String::from_utf8_lossy(&sent)
    );
    // Nothing at all.
    let mut silent = TcpStream::connect(server.addr).await.unwrap();
    closed_within(&mut silent, Duration::from_secs(5)).await;
    // Idle after an answer: the next head has the same time to arrive.
    let mut client = Client::connect(server.addr).await;
    assert_eq!(client.get("/healthz", "").await.status, 200);
    closed_within(client.stream.get_mut(), Duration::from_secs(5)).await;
    // The server itself is unharmed.
    assert!(http_get(server.addr, "/healthz")
        .await
        .starts_with("HTTP/1.1 200"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_slow_client_does_not_hold_the_shutdown_past_drain_and_deadline() {
    // The header-read timeout is far beyond the test's bound: only the
    // shutdown deadline can end the slow connection in time.
    let mut server = RunningServer::start(settings(
        Duration::from_secs(600),
        Duration::from_millis(200),
        Duration::from_secs(1),
    ))
    .await;
    let mut slow = slow_client(server.addr).await;
    // The server has accepted connections (and so the slow one, queued
    // before it) once it answers this.
    assert!(http_get(server.addr, "/healthz")
        .await
        .starts_with("HTTP/1.1 200"));

    server.signal_shutdown();
    let result = server.stopped_within(GENEROUS).await;
    assert!(result.is_ok(), "{result:?}");
    closed_within(&mut slow, Duration::from_secs(5)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_request_in_flight_when_the_listener_closes_is_answered_and_its_connection_closed() {
    let mut server = RunningServer::start(settings(
        Duration::from_secs(10),
        Duration::from_millis(200),
        Duration::from_secs(600),
    ))
    .await;
    let body = "grant_type=password&username=admin&password=wrong";
    let mut client = TcpStream::connect(server.addr).await.unwrap();
    let head = format!(
        "POST /oauth_token.do HTTP/1.1\r\nHost: tollgate.test\r\n\
         Content-Type: application/x-www-form-urlencoded\r\nContent-Length: {}\r\n\r\n",
        body.len()
    );
    client.write_all(head.as_bytes()).await.unwrap();
    client.write_all(&body.as_bytes()[..5]).await.unwrap();

    server.signal_shutdown();
    let listener_closed = async {
        while TcpStream::connect(server.addr).await.is_ok() {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    };
    tokio::time::timeout(GENEROUS, listener_closed)
        .await
        .expect("the listener closes after the drain");
    // The request's body arrives after the listener closed: it is still
    // answered (the deadline is far off), and the answer says the
    // connection ends with it.
    client.write_all(&body.as_bytes()[5..]).await.unwrap();
    let answer = closed_within(&mut client, GENEROUS).await;
    let answer = String::from_utf8_lossy(&answer).to_ascii_lowercase();
    assert!(answer.starts_with("http/1.1 401"), "{answer}");
    assert!(answer.contains("\r\nconnection: close\r\n"), "{answer}");
    let result = server.stopped_within(GENEROUS).await;
    assert!(result.is_ok(), "{result:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn after_the_signal_readyz_answers_draining_while_requests_are_still_served() {
    // A drain longer than the test: the window cannot close under it.
    let mut server = RunningServer::start(settings(
        Duration::from_secs(10),
        Duration::from_secs(600),
        Duration::from_secs(1),
    ))
    .await;
    let mut kept = Client::connect(server.addr).await;
    let ready = kept.get("/readyz", "").await;
    assert_eq!(ready.status, 200, "{}", ready.body);

    server.signal_shutdown();
    let draining = async {
        loop {
            let answer = http_get(server.addr, "/readyz").await;
            if answer.starts_with("HTTP/1.1 503") {
                return answer;
            }
            assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    };
    let answer = tokio::time::timeout(GENEROUS, draining)
        .await
        .expect("/readyz answers 503 after the signal");
    assert!(answer.contains(r#"{"status":"draining"}"#), "{answer}");

    // New connections and kept-alive ones are still served.
    assert!(http_get(server.addr, "/healthz")
        .await
        .starts_with("HTTP/1.1 200"));
    let users = kept
        .get(
            "/api/now/table/sys_user?sysparm_limit=1",
            &basic("admin", ADMIN_PASSWORD),
        )
        .await;
    assert_eq!(users.status, 200, "{}", users.body);
    let ready = kept.get("/readyz", "").await;
    assert_eq!(ready.status, 503, "{}", ready.body);
    assert!(ready.head.contains("content-type: application/json"));
    assert_eq!(
        serde_json::from_str::<serde_json::Value>(&ready.body).unwrap(),
        serde_json::json!({"status": "draining"})
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_keep_alive_connection_serves_many_requests_and_the_peer_address_reaches_the_login_throttle(
) {
    // The peer (127.0.0.1) is a trusted proxy, so each forwarded client has
    // a budget of its own: only if the server passes the peer address on.
    let server = RunningServer::start(Settings {
        trusted_proxies: "127.0.0.0/8".parse().unwrap(),
        failed_logins_per_address: 2,
        ..test_settings()
    })
    .await;
    let mut client = Client::connect(server.addr).await;
    const USERS: &str = "/api/now/table/sys_user?sysparm_limit=1";
    let from = |ip: &str, user: &str| format!("X-Forwarded-For: {ip}\r\n{}", basic(user, "wrong"));
    for user in ["u1", "u2"] {
        let answer = client.get(USERS, &from("198.51.100.7", user)).await;
        assert_eq!(answer.status, 401, "{}", answer.body);
    }
    let answer = client.get(USERS, &from("198.51.100.7", "u3")).await;
    assert_eq!(answer.status, 429, "{}", answer.body);
    let answer = client.get(USERS, &from("203.0.113.5", "u3")).await;
    assert_eq!(
        answer.status, 401,
        "another client behind the proxy has its own budget: {}",
        answer.body
    );
    // All on one connection.
    let answer = client.get("/healthz", "").await;
    assert_eq!(answer.status, 200);
    assert!(
        !answer.head.contains("connection: close"),
        "{}",
        answer.head
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn past_max_client_connections_a_new_connection_waits_for_a_free_slot() {
    let server = RunningServer::start(Settings {
        max_client_connections: 1,
        header_read_timeout: Duration::from_secs(60),
        ..test_settings()
    })
    .await;
    // The one slot: a kept-alive client, answered once (so surely accepted).
    let mut first = Client::connect(server.addr).await;
    assert_eq!(first.get("/healthz", "").await.status, 200);
    // Another client's request is not taken while the slot is held.
    let addr = server.addr;
    let second = tokio::spawn(async move { http_get(addr, "/healthz").await });
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(!second.is_finished(), "answered past the limit");
    // Closing the first connection frees the slot.
    drop(first);
    let answer = tokio::time::timeout(Duration::from_secs(10), second)
        .await
        .expect("answered once a slot is free")
        .unwrap();
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
}

/// Sends `request` as raw bytes on a new connection and reads the answer up
/// to the server's close.
async fn raw_exchange(
    addr: std::net::SocketAddr,
    request: &[u8],
) -> (u16, String, serde_json::Value) {
    let mut stream = TcpStream::connect(addr).await.expect("connect");
    stream.write_all(request).await.unwrap();
    let sent = closed_within(&mut stream, GENEROUS).await;
    let answer = String::from_utf8_lossy(&sent).into_owned();
    let (head, body) = answer
        .split_once("\r\n\r\n")
        .unwrap_or_else(|| panic!("an answer with a head: {answer:?}"));
    let status = head[9..12].parse().expect("a status code");
    let body = serde_json::from_str(body).unwrap_or_else(|e| panic!("a JSON body ({e}): {answer}"));
    (status, head.to_ascii_lowercase(), body)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_url_hyper_refuses_is_answered_in_the_family_envelope_saying_to_url_encode() {
    let server = RunningServer::start(test_settings()).await;
    // Table API: the ServiceNow envelope.
    let (status, head, body) = raw_exchange(
        server.addr,
        b"GET /api/now/table/sys_user?sysparm_query=a>b HTTP/1.1\r\nHost: t\r\n\r\n",
    )
    .await;
    assert_eq!(status, 400, "{body}");
    assert!(head.contains("content-type: application/json"), "{head}");
    assert!(head.contains("connection: close"), "{head}");
    assert_eq!(body["status"], "failure", "{body}");
    let message = body["error"]["message"].as_str().expect("a message");
    assert!(message.contains("URL-encode"), "{message}");

    // ServiceDesk (/api/v3): its response_status envelope, for raw quotes
    // (input_data JSON pasted into the query).
    let (status, _, body) = raw_exchange(
        server.addr,
        b"GET /api/v3/requests?input_data={\"list_info\":{}} HTTP/1.1\r\nHost: t\r\n\r\n",
    )
    .await;
    assert_eq!(status, 400, "{body}");
    assert_eq!(body["response_status"]["status"], "failed", "{body}");
    let message = body["response_status"]["messages"][0]["message"]
        .as_str()
        .expect("a message");
    assert!(message.contains("URL-encode"), "{message}");

    // A raw space splits the request line: still the family's envelope.
    let (status, _, body) = raw_exchange(
        server.addr,
        b"GET /api/sn_cdm/applications?name=a b HTTP/1.1\r\nHost: t\r\n\r\n",
    )
    .await;
    assert_eq!(status, 400, "{body}");
    let message = body["error"]["message"].as_str().expect("a message");
    assert!(
        message.starts_with("Error: ") && message.contains("URL-encode"),
        "CDM's form: {message}"
    );

    // On a kept-alive connection, after a request that was answered.
    let mut client = Client::connect(server.addr).await;
    assert_eq!(client.get("/healthz", "").await.status, 200);
    client
        .stream
        .get_mut()
        .write_all(b"GET /api/sn_cicd/progress/x?a=<b> HTTP/1.1\r\nHost: t\r\n\r\n")
        .await
        .unwrap();
    let mut sent = Vec::new();
    tokio::time::timeout(GENEROUS, client.stream.read_to_end(&mut sent))
        .await
        .expect("answered and closed")
        .unwrap();
    let answer = String::from_utf8_lossy(&sent);
    assert!(answer.starts_with("HTTP/1.1 400"), "{answer}");
    let body: serde_json::Value = serde_json::from_str(answer.split_once("\r\n\r\n").unwrap().1)
        .unwrap_or_else(|e| panic!("a JSON body ({e}): {answer}"));
    assert_eq!(body["status"], "failure", "{body}");
    let message = body["error"]["message"].as_str().expect("a message");
    assert!(message.contains("URL-encode"), "{body}");

    // The same query, encoded, reaches the API (which asks for credentials).
    let answer = http_get(server.addr, "/api/now/table/sys_user?sysparm_query=a%3Eb").await;
    assert!(answer.starts_with("HTTP/1.1 401"), "{answer}");
}

/// A self-signed certificate for localhost, written as PEM files into a
/// temporary folder: (the folder, settings naming the files, the
/// certificate's DER for a client to trust).
fn tls_files() -> (tempfile_dir::Dir, tollgate::config::TlsFiles, Vec<u8>) {
    let certified = rcgen::generate_simple_self_signed(vec!["localhost".to_owned()]).unwrap();
    let dir = tempfile_dir::Dir::new();
    let cert = dir.path.join("cert.pem");
    let key = dir.path.join("key.pem");
    std::fs::write(&cert, pem("CERTIFICATE", certified.cert.der())).unwrap();
    std::fs::write(
        &key,
        pem("PRIVATE KEY", &certified.signing_key.serialize_der()),
    )
    .unwrap();
    let files = tollgate::config::TlsFiles {
        cert: cert.to_string_lossy().into_owned(),
        key: key.to_string_lossy().into_owned(),
    };
    (dir, files, certified.cert.der().to_vec())
}

/// `der` as a PEM block labelled `label`.
fn pem(label: &str, der: &[u8]) -> String {
    use base64::Engine;
    let b64 = base64::engine::general_purpose::STANDARD.encode(der);
    let lines: Vec<&str> = b64
        .as_bytes()
        .chunks(64)
        .map(|c| std::str::from_utf8(c).unwrap())
        .collect();
    format!(
        "-----BEGIN {label}-----\n{}\n-----END {label}-----\n",
        lines.join("\n")
    )
}

mod tempfile_dir {
    /// A folder removed when dropped.
    pub struct Dir {
        pub path: std::path::PathBuf,
    }
    impl Dir {
        pub fn new() -> Dir {
            let path =
                std::env::temp_dir().join(format!("tollgate-tls-{}", tollgate::ids::new_sys_id()));
            std::fs::create_dir_all(&path).unwrap();
            Dir { path }
        }
    }
    impl Drop for Dir {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.path);
        }
    }
}

/// Sends `request` over TLS to `addr`, trusting only `cert`; the whole answer.
async fn https_exchange(addr: std::net::SocketAddr, cert: &[u8], request: &str) -> String {
    let mut roots = rustls::RootCertStore::empty();
    roots
        .add(rustls_pki_types::CertificateDer::from(cert.to_vec()))
        .unwrap();
    let config = rustls::ClientConfig::builder_with_provider(std::sync::Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .unwrap()
    .with_root_certificates(roots)
    .with_no_client_auth();
    let connector = tokio_rustls::TlsConnector::from(std::sync::Arc::new(config));
    let tcp = tokio::net::TcpStream::connect(addr).await.unwrap();
    let name = rustls_pki_types::ServerName::try_from("localhost").unwrap();
    let mut tls = connector.connect(name, tcp).await.expect("TLS handshake");
    tls.write_all(request.as_bytes()).await.unwrap();
    let mut answer = Vec::new();
    let _ = tokio::time::timeout(Duration::from_secs(10), tls.read_to_end(&mut answer)).await;
    String::from_utf8_lossy(&answer).into_owned()
}

/// With tls_cert and tls_key the server speaks HTTPS: requests are answered
/// over TLS, links name https, plain HTTP gets no answer, and a client that
/// never finishes its handshake is closed after the header-read timeout.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_a_certificate_the_server_speaks_https_only() {
    let (_dir, files, cert) = tls_files();
    let mut server = RunningServer::start(Settings {
        tls: Some(files),
        header_read_timeout: Duration::from_millis(500),
        ..test_settings()
    })
    .await;
    let answer = https_exchange(
        server.addr,
        &cert,
        &format!(
            "GET /api/now/table/sys_user?sysparm_limit=1 HTTP/1.1\r\nHost: localhost\r\n{}\
             Connection: close\r\n\r\n",
            basic("admin", ADMIN_PASSWORD)
        ),
    )
    .await;
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    let link = answer
        .lines()
        .find(|l| l.to_ascii_lowercase().starts_with("link:"))
        .unwrap_or_default()
        .to_owned();
    assert!(
        link.contains("<https://localhost/api/now/table/sys_user"),
        "{link}"
    );

    // Plain HTTP on the HTTPS port is not answered as HTTP.
    let mut plain = tokio::net::TcpStream::connect(server.addr).await.unwrap();
    plain
        .write_all(b"GET /healthz HTTP/1.1\r\nHost: localhost\r\n\r\n")
        .await
        .unwrap();
    let mut answer = Vec::new();
    let _ = tokio::time::timeout(Duration::from_secs(5), plain.read_to_end(&mut answer)).await;
    assert!(
        !String::from_utf8_lossy(&answer).contains("HTTP/1.1 200"),
        "plain HTTP was answered"
    );

    // A client that opens a connection and never says anything is closed.
    let mut silent = tokio::net::TcpStream::connect(server.addr).await.unwrap();
    let mut byte = [0u8; 1];
    let closed = tokio::time::timeout(Duration::from_secs(5), silent.read(&mut byte)).await;
    assert!(
        matches!(closed, Ok(Ok(0)) | Ok(Err(_))),
        "a connection without a handshake stayed open: {closed:?}"
    );
    server.signal_shutdown();
    server
        .stopped_within(Duration::from_secs(30))
        .await
        .unwrap();
}

#[test]
fn a_certificate_without_its_key_or_an_unreadable_one_is_refused_at_start() {
    let (_dir, files, _) = tls_files();
    assert!(tollgate::server::tls_acceptor(&files).is_ok());
    let missing = tollgate::config::TlsFiles {
        cert: files.cert.clone(),
        key: format!("{}.missing", files.key),
    };
    let Err(err) = tollgate::server::tls_acceptor(&missing) else {
        panic!("a missing key was accepted");
    };
    assert!(format!("{err:#}").contains("tls_key"), "{err:#}");
    let swapped = tollgate::config::TlsFiles {
        cert: files.key.clone(),
        key: files.cert.clone(),
    };
    assert!(tollgate::server::tls_acceptor(&swapped).is_err());
}
