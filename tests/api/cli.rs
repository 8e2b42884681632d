//! The `tollgate` command line, run as operators run it: commands that work
//! on an existing database refuse one that does not exist yet, holds no
//! Tollgate schema, or holds an older one, naming the URL they tried.

use std::path::Path;
use std::process::{Command, Output};

use tollgate::storage::{migrations, Value};

use crate::helpers::*;

/// Runs `tollgate ARGS` in `dir` with no `TOLLGATE_*` variables from the
/// test's environment (so only what the test passes counts).
fn tollgate(dir: &Path, args: &[&str], stdin: &str) -> Output {
    use std::io::Write;
    let mut command = Command::new(env!("CARGO_BIN_EXE_tollgate"));
    command.current_dir(dir).args(args);
    for (key, _) in std::env::vars() {
        if key.starts_with("TOLLGATE_") {
            command.env_remove(key);
        }
    }
    command.env("TOLLGATE_LOG", "warn");
    let mut child = command
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("run tollgate");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(stdin.as_bytes())
        .expect("write stdin");
    child.wait_with_output().expect("tollgate ends")
}

fn text(output: &Output) -> (String, String) {
    (
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

/// A folder of the test's own, removed at the end.
struct Folder(std::path::PathBuf);

impl Folder {
    fn new() -> Folder {
        let path =
            std::env::temp_dir().join(format!("tollgate-cli-{}", tollgate::ids::new_sys_id()));
        std::fs::create_dir_all(&path).expect("test folder");
        Folder(path)
    }
}

impl Drop for Folder {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

#[test]
fn commands_on_a_missing_sqlite_file_refuse_and_create_nothing() {
    let dir = Folder::new();
    for args in [
        &["apikey", "create", "admin"][..],
        &["apikey", "list"],
        &["apikey", "revoke", "x"],
        &["user", "add", "rita"],
    ] {
        let out = tollgate(&dir.0, args, "s3cret\n");
        let (_, err) = text(&out);
        assert!(!out.status.success(), "{args:?} succeeded: {err}");
        assert!(
            err.contains("no database at sqlite://tollgate.db")
                && err.contains(&dir.0.join("tollgate.db").display().to_string())
                && err.contains("tollgate migrate"),
            "{args:?}: {err}"
        );
        assert!(
            !dir.0.join("tollgate.db").exists(),
            "{args:?} created a database"
        );
    }
    // `migrate` creates it; then the commands work on it.
    let out = tollgate(&dir.0, &["migrate"], "");
    assert!(out.status.success(), "{:?}", text(&out));
    let out = tollgate(&dir.0, &["user", "add", "rita"], "s3cret\n");
    assert!(out.status.success(), "{:?}", text(&out));
    let out = tollgate(&dir.0, &["apikey", "create", "rita"], "");
    let (key, err) = text(&out);
    assert!(out.status.success(), "{err}");
    assert!(
        key.trim_end()
            .lines()
            .last()
            .unwrap_or("")
            .starts_with("tg_"),
        "{key}"
    );
}

#[test]
fn demo_sets_up_a_database_in_an_empty_folder_and_says_which() {
    let dir = Folder::new();
    let out = tollgate(&dir.0, &["demo", "--admin-password", "change-me"], "");
    let (said, err) = text(&out);
    assert!(out.status.success(), "{err}");
    assert!(
        said.contains("demo data loaded into sqlite://tollgate.db"),
        "{said}"
    );
    assert!(dir.0.join("tollgate.db").exists());
    let out = tollgate(&dir.0, &["apikey", "create", "admin"], "");
    assert!(out.status.success(), "{:?}", text(&out));
}

/// `tollgate apikey create NAME | head -n 1`: the reader goes away before the
/// command has printed everything. The command ends without a panic (Rust
/// ignores SIGPIPE, so each write fails with EPIPE instead), quietly, with a
/// status that is not success; what it did before (the key) stays done.
#[test]
fn a_closed_stdout_ends_a_command_quietly() {
    let dir = Folder::new();
    let out = tollgate(&dir.0, &["migrate"], "");
    assert!(out.status.success(), "{:?}", text(&out));
    let out = tollgate(&dir.0, &["user", "add", "rita"], "s3cret\n");
    assert!(out.status.success(), "{:?}", text(&out));
    for args in [&["apikey", "create", "rita"][..], &["apikey", "list"]] {
        // A pipe whose only reader is closed before the command starts: its
        // first write fails, as after `head -n 1` has read its line and left.
        let (reader, writer) = std::io::pipe().expect("a pipe");
        drop(reader);
        let mut command = Command::new(env!("CARGO_BIN_EXE_tollgate"));
        for (key, _) in std::env::vars() {
            if key.starts_with("TOLLGATE_") {
                command.env_remove(key);
            }
        }
        let out = command
            .current_dir(&dir.0)
            .args(args)
            .env("TOLLGATE_LOG", "warn")
            .stdin(std::process::Stdio::null())
            .stdout(writer)
            .stderr(std::process::Stdio::piped())
            .output()
            .expect("run tollgate");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(!err.contains("panicked"), "{args:?} panicked: {err}");
        assert!(err.trim().is_empty(), "{args:?} said: {err}");
        assert_eq!(
            out.status.code(),
            Some(tollgate::cli::EXIT_STDOUT_CLOSED),
            "{args:?}: {err}"
        );
    }
    // The key was created before its line could not be printed.
    let out = tollgate(&dir.0, &["apikey", "list"], "");
    let (listed, err) = text(&out);
    assert!(out.status.success(), "{err}");
    assert_eq!(listed.lines().count(), 2, "{listed}");
}

#[tokio::test]
async fn a_database_without_the_tollgate_schema_is_refused() {
    let dir = Folder::new();
    let empty = empty_database().await;
    let url = empty.database_url();
    let out = tollgate(&dir.0, &["apikey", "list", "--database", &url], "");
    let (_, err) = text(&out);
    assert!(!out.status.success(), "{err}");
    assert!(
        err.contains("holds no Tollgate schema")
            && err.contains(&tollgate::config::redact_url(&url))
            && err.contains("tollgate migrate"),
        "{err}"
    );
    // Nothing was created in it: `migrate` still starts from scratch.
    let out = tollgate(&dir.0, &["migrate", "--database", &url], "");
    let (said, err) = text(&out);
    assert!(out.status.success(), "{err}");
    assert!(
        said.contains(&format!(
            "applied {} migration(s)",
            migrations::MIGRATIONS.len()
        )),
        "{said}"
    );
    let out = tollgate(&dir.0, &["apikey", "list", "--database", &url], "");
    assert!(out.status.success(), "{:?}", text(&out));
}

#[tokio::test]
async fn an_older_schema_is_refused_rather_than_migrated() {
    let dir = Folder::new();
    let (db, cleanup) = fresh_db().await;
    let latest = migrations::latest_version();
    // As if the newest migration had not run yet.
    db.execute(
        "DELETE FROM tollgate_schema_migrations WHERE version = $1",
        &[Value::Int(latest)],
    )
    .await
    .expect("forget the newest migration");
    db.close().await;
    let url = cleanup.database_url();
    let out = tollgate(
        &dir.0,
        &["apikey", "create", "admin", "--database", &url],
        "",
    );
    let (said, err) = text(&out);
    assert!(!out.status.success(), "{said}");
    assert!(
        err.contains(&format!(
            "has schema version {} and this tollgate needs {latest}",
            latest - 1
        )) && err.contains("tollgate migrate"),
        "{err}"
    );
    let db = tollgate::storage::Db::connect(&url, &Default::default())
        .await
        .expect("reopen");
    assert_eq!(
        migrations::current_version(&db).await.expect("version"),
        latest - 1,
        "the command migrated the database"
    );
    let keys = db
        .fetch_optional("SELECT COUNT(*) AS n FROM tollgate_api_key", &[])
        .await
        .expect("count keys")
        .and_then(|r| r.int("n"));
    assert_eq!(keys, Some(0), "the refused command created a key");
    db.close().await;
}

#[test]
fn policy_eval_prints_the_documented_verdict_and_exits_by_it() {
    let dir = Folder::new();
    std::fs::write(
        dir.0.join("example1.rego"),
        policies_doc_block("example1 policy"),
    )
    .expect("policy");
    std::fs::write(
        dir.0.join("example1.json"),
        policies_doc_block("example1 input"),
    )
    .expect("input");
    let out = tollgate(
        &dir.0,
        &["policy", "eval", "example1.rego", "example1.json"],
        "",
    );
    let (said, err) = text(&out);
    assert_eq!(out.status.code(), Some(1), "non-compliant: {said} {err}");
    let printed: serde_json::Value = serde_json::from_str(&said).expect("the verdict as JSON");
    let documented: serde_json::Value =
        serde_json::from_str(policies_doc_block("policy eval output")).expect("documented output");
    assert_eq!(printed, documented);
    let verdict: serde_json::Value =
        serde_json::from_str(policies_doc_block("example1 verdict")).expect("example 1 verdict");
    assert_eq!(printed, verdict, "the page's two verdicts agree");

    // All enhancements closed: compliant, status 0.
    let closed = policies_doc_block("example1 input").replace("\"open\"", "\"closed\"");
    std::fs::write(dir.0.join("closed.json"), closed).expect("input");
    let out = tollgate(
        &dir.0,
        &["policy", "eval", "example1.rego", "closed.json"],
        "",
    );
    let (said, err) = text(&out);
    assert_eq!(out.status.code(), Some(0), "{said} {err}");
    let printed: serde_json::Value = serde_json::from_str(&said).expect("JSON");
    assert_eq!(printed["compliant"], true);
    assert_eq!(printed["reason"], "All checks passed");
}

#[test]
fn policy_eval_refuses_what_a_save_refuses_and_unreadable_input() {
    let dir = Folder::new();
    std::fs::write(
        dir.0.join("v0.rego"),
        "package tollgate.policy\n\ndefault compliant := false\ncompliant {\n\ttrue\n}\n",
    )
    .expect("policy");
    std::fs::write(dir.0.join("input.json"), "{}").expect("input");
    let out = tollgate(&dir.0, &["policy", "eval", "v0.rego", "input.json"], "");
    let (said, err) = text(&out);
    assert_eq!(out.status.code(), Some(2), "{said} {err}");
    assert!(
        err.contains("v0.rego would be refused on save")
            && err.contains("`if` keyword is required before rule body")
            && err.contains("policy.rego:4:"),
        "{err}"
    );
    assert!(said.is_empty(), "no verdict: {said}");
    std::fs::write(dir.0.join("ok.rego"), policies_doc_block("example1 policy")).expect("policy");
    std::fs::write(dir.0.join("bad.json"), "{\"enhancements\": [").expect("input");
    let out = tollgate(&dir.0, &["policy", "eval", "ok.rego", "bad.json"], "");
    let (_, err) = text(&out);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(err.contains("bad.json is not JSON"), "{err}");
    let out = tollgate(&dir.0, &["policy", "eval", "ok.rego", "missing.json"], "");
    let (_, err) = text(&out);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(err.contains("cannot read missing.json"), "{err}");
}

#[test]
fn policy_eval_runs_under_the_servers_memory_limit() {
    let dir = Folder::new();
    std::fs::write(
        dir.0.join("big.rego"),
        "package tollgate.policy\n\ndefault compliant := false\n\
         compliant if count(numbers.range(1, 2000000000)) > 0\n",
    )
    .expect("policy");
    std::fs::write(dir.0.join("input.json"), "{}").expect("input");
    let out = tollgate(
        &dir.0,
        &[
            "policy",
            "eval",
            "--policy-memory-limit-mb",
            "64",
            "big.rego",
            "input.json",
        ],
        "",
    );
    let (said, err) = text(&out);
    assert_eq!(out.status.code(), Some(1), "{said} {err}");
    let printed: serde_json::Value = serde_json::from_str(&said).expect("JSON");
    assert_eq!(printed["compliant"], false);
    assert_eq!(printed["reason"], "Policy evaluation failed");
    assert!(
        printed["output"]
            .as_str()
            .unwrap_or_default()
            .contains("needed more memory than the limit of 64 MiB"),
        "{said}"
    );
}

/// Starts `tollgate serve` in `folder` with `args`, logging at info; returns
/// the child and a channel of its log lines.
fn serve_in(
    folder: &Folder,
    args: &[&str],
) -> (std::process::Child, std::sync::mpsc::Receiver<String>) {
    use std::io::BufRead;
    let mut command = Command::new(env!("CARGO_BIN_EXE_tollgate"));
    command.current_dir(&folder.0).arg("serve").args(args);
    for (key, _) in std::env::vars() {
        if key.starts_with("TOLLGATE_") {
            command.env_remove(key);
        }
    }
    let mut child = command
        .env("TOLLGATE_LOG", "info")
        .env("TOLLGATE_ADMIN_PASSWORD", "change-me")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("run tollgate serve");
    let stderr = child.stderr.take().expect("stderr");
    let (lines, received) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in std::io::BufReader::new(stderr)
            .lines()
            .map_while(Result::ok)
        {
            let _ = lines.send(line);
        }
    });
    (child, received)
}

/// Waits (bounded) for a log line containing `text`.
fn wait_for_line(lines: &std::sync::mpsc::Receiver<String>, text: &str) {
    let until = std::time::Instant::now() + std::time::Duration::from_secs(60);
    while std::time::Instant::now() < until {
        if let Ok(line) = lines.recv_timeout(std::time::Duration::from_millis(100)) {
            if line.contains(text) {
                return;
            }
        }
    }
    panic!("no log line with {text:?}");
}

#[cfg(unix)]
#[test]
fn a_second_shutdown_signal_stops_the_server_at_once() {
    let folder = Folder::new();
    // A drain of ten minutes: only the second signal can end it in time.
    let (mut child, lines) = serve_in(
        &folder,
        &["--listen", "127.0.0.1:0", "--shutdown-drain", "600"],
    );
    wait_for_line(&lines, "listening");
    let term = |pid: u32| {
        let status = Command::new("kill")
            .args(["-TERM", &pid.to_string()])
            .status()
            .expect("kill");
        assert!(status.success());
    };
    term(child.id());
    wait_for_line(&lines, "shutdown signal received");
    term(child.id());
    let until = std::time::Instant::now() + std::time::Duration::from_secs(30);
    let status = loop {
        if let Some(status) = child.try_wait().expect("wait") {
            break status;
        }
        if std::time::Instant::now() > until {
            let _ = child.kill();
            panic!("the server still runs after the second signal");
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    };
    assert_eq!(status.code(), Some(130));
}
