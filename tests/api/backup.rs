//! Backup and restore as docs/OPERATIONS.md tells operators to do it: a
//! copy of a running server's SQLite database (`VACUUM INTO`), kept with the
//! secret key, restores into a fresh server that reads the data and the
//! stored secret back; the same copy without the key does not give the
//! secret away. Real `tollgate serve` processes, because the secret key is
//! process-wide.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

const ADMIN_PASSWORD: &str = "backup-test-admin-password";
const KEY: &str = "4f1c2d3e4a5b6c7d8e9f00112233445566778899aabbccddeeff001122334455";
const OTHER_KEY: &str = "0000000000000000000000000000000000000000000000000000000000000001";
const SECRET: &str = "db-password-kept-secret";

/// A `tollgate serve` process on a SQLite file, killed when dropped.
struct Server {
    child: Child,
    addr: SocketAddr,
}

impl Server {
    fn start(database: &Path, secret_key: &str) -> Server {
        let mut command = Command::new(env!("CARGO_BIN_EXE_tollgate"));
        for (key, _) in std::env::vars() {
            if key.starts_with("TOLLGATE_") {
                command.env_remove(key);
            }
        }
        let mut child = command
            .args(["serve", "--listen", "127.0.0.1:0", "--database"])
            .arg(format!("sqlite://{}", database.display()))
            .env("TOLLGATE_SECRET_KEY", secret_key)
            .env("TOLLGATE_ADMIN_PASSWORD", ADMIN_PASSWORD)
            .env("TOLLGATE_SHUTDOWN_DRAIN", "0")
            .env("TOLLGATE_LOG", "info")
            .env("TOLLGATE_LOG_FORMAT", "json")
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start tollgate serve");
        let mut lines = BufReader::new(child.stderr.take().expect("stderr")).lines();
        let addr = loop {
            let line = lines
                .next()
                .expect("the server logs its address before it ends")
                .expect("a log line");
            let Ok(entry) = serde_json::from_str::<Value>(&line) else {
                continue;
            };
            if entry["fields"]["message"] == "listening" {
                let addr = entry["fields"]["address"].as_str().expect("the address");
                break addr.parse().expect("an address");
            }
        };
        // Keep the pipe drained, or a chatty server would block on it.
        std::thread::spawn(move || lines.for_each(drop));
        Server { child, addr }
    }

    /// One request on its own connection: the status and the JSON body.
    fn call(&self, method: &str, path: &str) -> (u16, Value) {
        use base64::Engine;
        let token =
            base64::engine::general_purpose::STANDARD.encode(format!("admin:{ADMIN_PASSWORD}"));
        let mut stream = TcpStream::connect(self.addr).expect("connect");
        stream
            .set_read_timeout(Some(Duration::from_secs(30)))
            .expect("timeout");
        write!(
            stream,
            "{method} {path} HTTP/1.1\r\nHost: t\r\nAuthorization: Basic {token}\r\n\
             Content-Length: 0\r\nConnection: close\r\n\r\n"
        )
        .expect("send");
        let mut answer = String::new();
        stream.read_to_string(&mut answer).expect("the answer");
        let (head, body) = answer.split_once("\r\n\r\n").expect("head and body");
        let status = head[9..12].parse().expect("a status");
        (status, serde_json::from_str(body).unwrap_or(Value::Null))
    }

    fn ok(&self, method: &str, path: &str) -> Value {
        let (status, body) = self.call(method, path);
        assert!(
            (200..300).contains(&status),
            "{method} {path}: {status} {body}"
        );
        body["result"].clone()
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn qs(pairs: &[(&str, &str)]) -> String {
    form_urlencoded::Serializer::new(String::new())
        .extend_pairs(pairs)
        .finish()
}

/// A folder of the test's own, removed at the end.
struct Folder(PathBuf);

impl Drop for Folder {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Stores a secure CDM value (encrypted with the server's key) and commits
/// it.
fn store_a_secret(server: &Server) {
    let (status, body) = post_json(
        server,
        "/api/now/table/sn_cdm_application",
        r#"{"name": "payments"}"#,
    );
    assert_eq!(status, 201, "{body}");
    let changeset = server.ok(
        "POST",
        &format!(
            "/api/sn_cdm/changesets/create?{}",
            qs(&[("appName", "payments")])
        ),
    );
    let number = changeset["number"]
        .as_str()
        .expect("a changeset number")
        .to_owned();
    for (path, ty, value, secure) in [
        ("/payments/components/svc", "component", None, false),
        (
            "/payments/components/svc/password",
            "cdi",
            Some(SECRET),
            true,
        ),
    ] {
        let mut params = vec![
            ("changesetNumber", number.as_str()),
            ("fullNamePath", path),
            ("type", ty),
        ];
        if let Some(value) = value {
            params.push(("value", value));
        }
        if secure {
            params.push(("secure", "true"));
        }
        server.ok("POST", &format!("/api/sn_cdm/editor/nodes?{}", qs(&params)));
    }
    let commit = server.ok(
        "PUT",
        &format!(
            "/api/sn_cdm/changesets/commit?{}",
            qs(&[("changesetNumber", number.as_str())])
        ),
    );
    let id = commit["commit_id"]
        .as_str()
        .expect("a commit id")
        .to_owned();
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let status = server.ok("GET", &format!("/api/sn_cdm/changesets/commit-status/{id}"));
        if status["processing_state"] == "PROCESSED" {
            assert_eq!(status["state"], "completed", "{status}");
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the commit did not finish: {status}"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

fn post_json(server: &Server, path: &str, body: &str) -> (u16, Value) {
    use base64::Engine;
    let token = base64::engine::general_purpose::STANDARD.encode(format!("admin:{ADMIN_PASSWORD}"));
    let mut stream = TcpStream::connect(server.addr).expect("connect");
    write!(
        stream,
        "POST {path} HTTP/1.1\r\nHost: t\r\nAuthorization: Basic {token}\r\n\
         Content-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
    .expect("send");
    let mut answer = String::new();
    stream.read_to_string(&mut answer).expect("the answer");
    let (head, body) = answer.split_once("\r\n\r\n").expect("head and body");
    (
        head[9..12].parse().expect("a status"),
        serde_json::from_str(body).unwrap_or(Value::Null),
    )
}

/// The secure value as a caller allowed to see secrets asks for it.
fn read_secret(server: &Server) -> (u16, String) {
    let path = format!(
        "/api/sn_cdm/editor/nodes?{}",
        qs(&[
            ("parentFullNamePath", "/payments/components/svc"),
            ("name", "password"),
            ("decryptPassword", "true"),
        ])
    );
    let (status, body) = server.call("GET", &path);
    (status, body.to_string())
}

#[test]
fn a_backup_of_a_running_server_restores_into_a_fresh_one_with_the_secret_key() {
    let dir = Folder(
        std::env::temp_dir().join(format!("tollgate-backup-{}", tollgate::ids::new_sys_id())),
    );
    std::fs::create_dir_all(&dir.0).expect("test folder");
    let live = dir.0.join("tollgate.db");
    let running = Server::start(&live, KEY);
    store_a_secret(&running);
    let (status, before) = read_secret(&running);
    assert_eq!(status, 200, "{before}");
    assert!(before.contains(SECRET), "{before}");

    // The backup, taken while the server runs: `VACUUM INTO` is one read
    // transaction, consistent whatever the server writes meanwhile.
    let backup = dir.0.join("backup.db");
    let source = rusqlite::Connection::open(&live).expect("open the live database");
    source
        .execute("VACUUM INTO ?1", [backup.display().to_string()])
        .expect("VACUUM INTO");
    drop(source);
    // The copy carries no key: the stored secret is ciphertext in it.
    let copy = rusqlite::Connection::open(&backup).expect("open the backup");
    let stored: Vec<String> = copy
        .prepare("SELECT secure_value FROM sn_cdm_node WHERE name = 'password'")
        .and_then(|mut s| s.query_map([], |r| r.get::<_, String>(0))?.collect())
        .expect("the stored secret");
    assert!(
        !stored.is_empty() && stored.iter().all(|v| v.starts_with("enc:v2:")),
        "{stored:?}"
    );
    let keys: i64 = copy
        .query_row("SELECT COUNT(*) FROM tollgate_secret", [], |r| r.get(0))
        .expect("count stored keys");
    assert_eq!(
        keys, 0,
        "with secret_key set, no key is kept in the database"
    );
    drop(copy);
    drop(running);

    // Restore: the copy in place of a database, a fresh server with the key.
    let restored = dir.0.join("restored.db");
    std::fs::copy(&backup, &restored).expect("restore the copy");
    let fresh = Server::start(&restored, KEY);
    let apps = fresh.ok(
        "GET",
        "/api/now/table/sn_cdm_application?sysparm_query=name%3Dpayments",
    );
    assert_eq!(apps.as_array().map(Vec::len), Some(1), "{apps}");
    let (status, after) = read_secret(&fresh);
    assert_eq!(status, 200, "{after}");
    assert!(after.contains(SECRET), "the secret reads back: {after}");
    drop(fresh);

    // Without the key the data is there but the secret is not readable.
    let keyless = dir.0.join("keyless.db");
    std::fs::copy(&backup, &keyless).expect("another copy");
    let wrong = Server::start(&keyless, OTHER_KEY);
    let apps = wrong.ok(
        "GET",
        "/api/now/table/sn_cdm_application?sysparm_query=name%3Dpayments",
    );
    assert_eq!(apps.as_array().map(Vec::len), Some(1), "{apps}");
    let (_, answer) = read_secret(&wrong);
    assert!(
        !answer.contains(SECRET),
        "another key must not open it: {answer}"
    );
    assert!(answer.contains("cannot be decrypted"), "{answer}");
}
