//! The real server on a TCP port: it answers, and shuts down gracefully.

use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tollgate::app::{self, AppState};

use crate::helpers::*;

async fn http_get(addr: std::net::SocketAddr, path: &str) -> String {
    let mut stream = TcpStream::connect(addr).await.expect("connect");
    let request = format!("GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n");
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut answer = String::new();
    stream.read_to_string(&mut answer).await.unwrap();
    answer
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_server_answers_on_its_port_and_stops_when_told() {
    let (db, _cleanup) = fresh_db().await;
    let settings = tollgate::config::Settings {
        workers: 1,
        ..test_settings()
    };
    let handlers = app::job_handlers(&settings);
    let state = AppState::new(db, settings, handlers);
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(app::serve(state, listener, async {
        let _ = stopped.await;
    }));

    let answer = http_get(addr, "/healthz").await;
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    assert!(
        answer.to_ascii_lowercase().contains("x-request-id:"),
        "every answer carries a request id"
    );
    let answer = http_get(addr, "/readyz").await;
    assert!(answer.contains("\"ready\""), "{answer}");

    stop.send(()).unwrap();
    let result = tokio::time::timeout(Duration::from_secs(20), server)
        .await
        .expect("serve returns after the shutdown signal")
        .expect("serve task");
    assert!(result.is_ok(), "{result:?}");
    assert!(
        TcpStream::connect(addr).await.is_err(),
        "the port is closed"
    );
}
