//! The documents tested: every shell block of README.md and docs/*.md runs,
//! in page order in one bash session, against a real server started the way
//! the page says (`<!-- doc-test: demo -->` or `<!-- doc-test: empty -->`),
//! and what it answers is checked against the page: every HTTP answer is
//! below 400 unless the block is marked `<!-- doc-test: status NNN -->` (then
//! its last answer has that status), and a ```json block right after a shell
//! block is the answer's expected shape. How to mark a page is in
//! docs/dev/DOC_TESTS.md.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde_json::Value;
use tollgate::config::Settings;
use tollgate::identity::users::{self, NewUser};
use tollgate::storage::Value as SqlValue;

use crate::helpers::{database, RunningServer};

/// The address the pages use; the harness puts the test server's there.
const DOC_BASE_URL: &str = "http://127.0.0.1:8080";
/// The admin password the pages use (`TOLLGATE_ADMIN_PASSWORD=change-me`).
const DOC_ADMIN_PASSWORD: &str = "change-me";
/// How long one page may take in all (a loop waiting on a job that never
/// ends must not hang the suite).
const PAGE_TIME_LIMIT: Duration = Duration::from_secs(180);
/// Pages run at once (each a server and a bash session).
const PAGES_AT_ONCE: usize = 4;

// ---------------------------------------------------------------------------
// Reading a page

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Start {
    Demo,
    Empty,
}

#[derive(Debug, Default)]
struct Block {
    /// 1-based line of the first line of code.
    line: usize,
    code: String,
    skip: Option<String>,
    status: Option<u16>,
    /// The expected answer: its first line and text.
    answer: Option<(usize, String)>,
    /// The expected output, as text: its first line and text.
    text: Option<(usize, String)>,
}

#[derive(Debug)]
struct Page {
    name: String,
    start: Option<Start>,
    settings: Vec<(String, String)>,
    blocks: Vec<Block>,
}

impl Page {
    fn runnable(&self) -> impl Iterator<Item = &Block> {
        self.blocks.iter().filter(|b| b.skip.is_none())
    }
}

enum Directive {
    Start(Start),
    Setting(String, String),
    Skip(String),
    Status(u16),
    Text,
}

fn directive(text: &str) -> Result<Directive, String> {
    let text = text.trim();
    let (word, rest) = text.split_once(' ').unwrap_or((text, ""));
    let rest = rest.trim();
    match word {
        "demo" if rest.is_empty() => Ok(Directive::Start(Start::Demo)),
        "empty" if rest.is_empty() => Ok(Directive::Start(Start::Empty)),
        "text" if rest.is_empty() => Ok(Directive::Text),
        "skip" if !rest.is_empty() => Ok(Directive::Skip(rest.to_owned())),
        "skip" => Err("`skip` needs a reason".into()),
        "status" => rest
            .parse()
            .map(Directive::Status)
            .map_err(|_| format!("`status {rest}`: not a status code")),
        "setting" => match rest.split_once('=') {
            Some((k, v)) if SETTINGS.contains(&k.trim()) => {
                Ok(Directive::Setting(k.trim().into(), v.trim().into()))
            }
            _ => Err(format!(
                "`setting {rest}`: expected NAME=VALUE with NAME one of {SETTINGS:?}"
            )),
        },
        _ => Err(format!("unknown doc-test directive `{text}`")),
    }
}

/// The settings a page may give its server.
const SETTINGS: &[&str] = &["remote_allow", "workers"];

fn is_shell(info: &str) -> bool {
    matches!(info, "sh" | "bash" | "shell")
}

/// A page's runs: one per start directive (a page may start again, empty or
/// with the demo, for a section of its own: the blocks after a start
/// directive run against a server of their own).
fn parse_page(name: &str, text: &str) -> Result<Vec<Page>, String> {
    let mut done: Vec<Page> = Vec::new();
    let mut page = Page {
        name: name.to_owned(),
        start: None,
        settings: Vec::new(),
        blocks: Vec::new(),
    };
    let mut pending: Vec<Directive> = Vec::new();
    // The shell block the next ```json block answers, while only blank
    // lines came after it.
    let mut awaiting_answer: Option<usize> = None;
    let mut fence: Option<(String, usize, String)> = None;
    for (i, line) in text.lines().enumerate() {
        let number = i + 1;
        if let Some((info, first, body)) = fence.as_mut() {
            if line.trim_start().starts_with("```") {
                let (info, first, body) = (info.clone(), *first, std::mem::take(body));
                fence = None;
                if is_shell(&info) {
                    let mut block = Block {
                        line: first,
                        code: body,
                        ..Block::default()
                    };
                    for d in pending.drain(..) {
                        match d {
                            Directive::Skip(reason) => block.skip = Some(reason),
                            Directive::Status(s) => block.status = Some(s),
                            Directive::Text => {
                                return Err(format!(
                                    "{name}:{first}: `text` marks a ```text block that follows a shell block"
                                ))
                            }
                            _ => unreachable!("page directives are taken at once"),
                        }
                    }
                    page.blocks.push(block);
                    awaiting_answer = Some(page.blocks.len() - 1);
                } else {
                    let text = matches!(pending.as_slice(), [Directive::Text]);
                    if text && info == "text" {
                        pending.clear();
                        match awaiting_answer.take() {
                            Some(b) => page.blocks[b].text = Some((first, body)),
                            None => {
                                return Err(format!(
                                    "{name}:{first}: a `text` answer must follow a shell block"
                                ))
                            }
                        }
                    } else if !pending.is_empty() {
                        return Err(format!(
                            "{name}:{first}: a doc-test block directive before a ```{info} block"
                        ));
                    } else if info == "json" {
                        if let Some(b) = awaiting_answer.take() {
                            page.blocks[b].answer = Some((first, body));
                        }
                    }
                    awaiting_answer = None;
                }
            } else {
                body.push_str(line);
                body.push('\n');
            }
            continue;
        }
        let trimmed = line.trim();
        if let Some(rest) = trimmed.strip_prefix("<!-- doc-test:") {
            let inner = rest
                .strip_suffix("-->")
                .ok_or_else(|| format!("{name}:{number}: a doc-test comment on one line"))?;
            match directive(inner).map_err(|e| format!("{name}:{number}: {e}"))? {
                Directive::Start(s) => {
                    if page.start.is_some() {
                        if page.runnable().next().is_none() {
                            return Err(format!(
                                "{name}:{number}: a second start directive with no block to run before it"
                            ));
                        }
                        let next = Page {
                            name: name.to_owned(),
                            start: None,
                            settings: page.settings.clone(),
                            blocks: Vec::new(),
                        };
                        done.push(std::mem::replace(&mut page, next));
                    }
                    page.start = Some(s);
                }
                Directive::Setting(k, v) => page.settings.push((k, v)),
                Directive::Text => {
                    pending.push(Directive::Text);
                    continue;
                }
                d => pending.push(d),
            }
            awaiting_answer = None;
        } else if let Some(info) = trimmed.strip_prefix("```") {
            fence = Some((info.trim().to_owned(), number + 1, String::new()));
        } else if !trimmed.is_empty() {
            if !pending.is_empty() {
                return Err(format!(
                    "{name}:{number}: a doc-test block directive must come right before its block"
                ));
            }
            awaiting_answer = None;
        }
    }
    if let Some((_, first, _)) = fence {
        return Err(format!("{name}:{first}: a code block is never closed"));
    }
    if page.runnable().next().is_some() && page.start.is_none() {
        return Err(format!(
            "{name}: has shell blocks but says not how it starts: \
             add `<!-- doc-test: demo -->` or `<!-- doc-test: empty -->`"
        ));
    }
    done.push(page);
    Ok(done)
}

// ---------------------------------------------------------------------------
// The expected answer: JSON where `...` stands for more members or items,
// a string holding `...` for any string with that prefix and suffix, and
// `"<name>"` for any value that is not an object or array.

#[derive(Debug)]
enum Pattern {
    Any,
    Exact(Value),
    Text { prefix: String, suffix: String },
    Placeholder,
    Array(Vec<Pattern>, Option<usize>),
    Object(Vec<(String, Pattern)>, bool),
}

struct PatternParser<'a> {
    text: &'a str,
    at: usize,
}

impl PatternParser<'_> {
    fn skip_ws(&mut self) {
        while let Some(c) = self.text[self.at..].chars().next() {
            if c.is_whitespace() {
                self.at += c.len_utf8();
            } else {
                break;
            }
        }
    }

    fn peek(&mut self) -> Option<char> {
        self.skip_ws();
        self.text[self.at..].chars().next()
    }

    fn eat(&mut self, s: &str) -> bool {
        self.skip_ws();
        if self.text[self.at..].starts_with(s) {
            self.at += s.len();
            true
        } else {
            false
        }
    }

    fn fail<T>(&self, what: &str) -> Result<T, String> {
        let near: String = self.text[self.at..].chars().take(30).collect();
        Err(format!("{what} at byte {} (near `{near}`)", self.at))
    }

    fn string(&mut self) -> Result<String, String> {
        self.skip_ws();
        let start = self.at;
        let bytes = self.text.as_bytes();
        let mut i = start + 1;
        while i < bytes.len() {
            match bytes[i] {
                b'\\' => i += 2,
                b'"' => {
                    self.at = i + 1;
                    return serde_json::from_str(&self.text[start..=i])
                        .map_err(|e| format!("a bad string at byte {start}: {e}"));
                }
                _ => i += 1,
            }
        }
        self.fail("an unclosed string")
    }

    fn value(&mut self) -> Result<Pattern, String> {
        match self.peek() {
            Some('{') => {
                self.at += 1;
                let (mut members, mut open) = (Vec::new(), false);
                if self.eat("}") {
                    return Ok(Pattern::Object(members, open));
                }
                loop {
                    if self.eat("...") {
                        open = true;
                    } else {
                        let key = self.string()?;
                        if !self.eat(":") {
                            return self.fail("`:` expected");
                        }
                        members.push((key, self.value()?));
                    }
                    if self.eat("}") {
                        return Ok(Pattern::Object(members, open));
                    }
                    if !self.eat(",") {
                        return self.fail("`,` or `}` expected");
                    }
                }
            }
            Some('[') => {
                self.at += 1;
                let (mut items, mut gap) = (Vec::new(), None);
                if self.eat("]") {
                    return Ok(Pattern::Array(items, gap));
                }
                loop {
                    let item = self.value()?;
                    if matches!(item, Pattern::Any) {
                        gap.get_or_insert(items.len());
                    } else {
                        items.push(item);
                    }
                    if self.eat("]") {
                        return Ok(Pattern::Array(items, gap));
                    }
                    if !self.eat(",") {
                        return self.fail("`,` or `]` expected");
                    }
                }
            }
            Some('"') => {
                let s = self.string()?;
                if s == "..." {
                    Ok(Pattern::Any)
                } else if s.starts_with('<') && s.ends_with('>') && s.len() > 2 {
                    Ok(Pattern::Placeholder)
                } else if let Some((prefix, suffix)) = s.split_once("...") {
                    Ok(Pattern::Text {
                        prefix: prefix.into(),
                        suffix: suffix.into(),
                    })
                } else {
                    Ok(Pattern::Exact(Value::String(s)))
                }
            }
            Some('.') if self.eat("...") => Ok(Pattern::Any),
            Some(_) => {
                let start = self.at;
                let rest = &self.text[start..];
                let len = rest
                    .find(|c: char| !(c.is_ascii_alphanumeric() || "+-.".contains(c)))
                    .unwrap_or(rest.len());
                self.at += len;
                match serde_json::from_str::<Value>(&rest[..len]) {
                    Ok(v) if len > 0 => Ok(Pattern::Exact(v)),
                    _ => {
                        self.at = start;
                        self.fail("a JSON value expected")
                    }
                }
            }
            None => self.fail("a value expected"),
        }
    }
}

fn parse_patterns(text: &str) -> Result<Vec<Pattern>, String> {
    let mut parser = PatternParser { text, at: 0 };
    let mut patterns = Vec::new();
    while parser.peek().is_some() {
        patterns.push(parser.value()?);
    }
    Ok(patterns)
}

fn matches(pattern: &Pattern, actual: &Value, path: &str, wrong: &mut Vec<String>) {
    let shown = |v: &Value| {
        let s = v.to_string();
        if s.len() > 120 {
            format!("{}...", &s[..s.floor_char_boundary(120)])
        } else {
            s
        }
    };
    match (pattern, actual) {
        (Pattern::Any, _) => {}
        (Pattern::Placeholder, Value::Object(_) | Value::Array(_)) => wrong.push(format!(
            "{path}: a single value expected, got {}",
            shown(actual)
        )),
        (Pattern::Placeholder, _) => {}
        (Pattern::Exact(Value::Number(a)), Value::Number(b)) if a.as_f64() == b.as_f64() => {}
        (Pattern::Exact(expected), _) => {
            if expected != actual {
                wrong.push(format!(
                    "{path}: {expected} expected, got {}",
                    shown(actual)
                ));
            }
        }
        (Pattern::Text { prefix, suffix }, Value::String(s))
            if s.len() >= prefix.len() + suffix.len()
                && s.starts_with(prefix.as_str())
                && s.ends_with(suffix.as_str()) => {}
        (Pattern::Text { prefix, suffix }, _) => wrong.push(format!(
            "{path}: a string \"{prefix}...{suffix}\" expected, got {}",
            shown(actual)
        )),
        (Pattern::Array(items, gap), Value::Array(actual_items)) => {
            let fits = match gap {
                None => actual_items.len() == items.len(),
                Some(_) => actual_items.len() >= items.len(),
            };
            if !fits {
                wrong.push(format!(
                    "{path}: {} items expected{}, got {}",
                    items.len(),
                    if gap.is_some() { " at least" } else { "" },
                    actual_items.len()
                ));
                return;
            }
            let split = gap.unwrap_or(items.len());
            for (i, item) in items[..split].iter().enumerate() {
                matches(item, &actual_items[i], &format!("{path}[{i}]"), wrong);
            }
            let tail = items.len() - split;
            let offset = actual_items.len() - tail;
            for (i, item) in items[split..].iter().enumerate() {
                let at = offset + i;
                matches(item, &actual_items[at], &format!("{path}[{at}]"), wrong);
            }
        }
        (Pattern::Object(members, open), Value::Object(actual_members)) => {
            for (key, p) in members {
                match actual_members.get(key) {
                    Some(v) => matches(p, v, &format!("{path}.{key}"), wrong),
                    None => wrong.push(format!("{path}.{key}: missing")),
                }
            }
            if !open {
                for key in actual_members.keys() {
                    if !members.iter().any(|(k, _)| k == key) {
                        wrong.push(format!(
                            "{path}.{key}: not on the page (add it, or `...` if the page shows part of the object)"
                        ));
                    }
                }
            }
        }
        (Pattern::Array(..), _) => {
            wrong.push(format!("{path}: an array expected, got {}", shown(actual)))
        }
        (Pattern::Object(..), _) => {
            wrong.push(format!("{path}: an object expected, got {}", shown(actual)))
        }
    }
}

// ---------------------------------------------------------------------------
// Running a page

/// Where a program is on PATH.
fn which(program: &str) -> Option<PathBuf> {
    std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|dir| dir.join(program))
            .find(|p| p.is_file())
    })
}

/// A `curl` that records each answer's status, then behaves as curl.
fn curl_shim(real: &Path) -> String {
    format!(
        r#"#!/usr/bin/env bash
headers="$(mktemp "$DOCTEST_STATE/headers.XXXXXX")"
'{}' --dump-header "$headers" "$@"
code=$?
grep -a '^HTTP/' "$headers" | tail -n 1 | cut -d' ' -f2 >> "$DOCTEST_STATE/statuses"
rm -f "$headers"
exit $code
"#,
        real.display()
    )
}

fn script(page: &Page, base_url: &str) -> (String, Vec<(usize, usize)>) {
    let mut script = String::from(
        "set -u -o pipefail\n\
         cd \"$DOCTEST_WORK\"\n",
    );
    // Per runnable block: (first script line of its code, first page line).
    let mut lines = Vec::new();
    for (n, block) in page.runnable().enumerate() {
        script.push_str(
            ": > \"$DOCTEST_STATE/statuses\"\n\
             __doctest_failed=\n\
             trap '__doctest_failed=\"${__doctest_failed:-$LINENO $BASH_COMMAND}\"' ERR\n\
             {\n",
        );
        lines.push((script.lines().count() + 1, block.line));
        script.push_str(&block.code.replace(DOC_BASE_URL, base_url));
        script.push_str(&format!(
            "}} > \"$DOCTEST_STATE/out.{n}\" 2> \"$DOCTEST_STATE/err.{n}\" < /dev/null\n\
             echo \"$?\" > \"$DOCTEST_STATE/rc.{n}\"\n\
             trap - ERR\n\
             printf '%s' \"$__doctest_failed\" > \"$DOCTEST_STATE/failed.{n}\"\n\
             mv \"$DOCTEST_STATE/statuses\" \"$DOCTEST_STATE/statuses.{n}\"\n\
             [ -z \"$__doctest_failed\" ] || exit 0\n"
        ));
    }
    (script, lines)
}

/// Runs the page's blocks against a fresh server; the first failure, if
/// any, as a message naming the page and line.
async fn run_page(page: &Page, tools: &Tools) -> Result<(), String> {
    let Some(start) = page.start else {
        return Ok(());
    };
    let (db, cleanup) = database(start == Start::Demo).await;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind a free port");
    let addr = listener.local_addr().expect("its address");
    let base_url = format!("http://{addr}");
    let all_roles: Vec<&str> = tollgate::identity::roles::ALL
        .iter()
        .map(|(n, _)| *n)
        .collect();
    users::upsert_user(
        &db,
        &NewUser {
            sys_id: Some(tollgate::demo::ADMIN_ID),
            user_name: "admin",
            first_name: "System",
            last_name: "Administrator",
            email: "admin@example.com",
            password: Some(DOC_ADMIN_PASSWORD),
            roles: &all_roles,
        },
        "test",
    )
    .await
    .expect("the pages' admin password");
    if start == Start::Demo {
        // The demo remote instance points at this server, as `tollgate
        // demo --listen` makes it.
        db.execute(
            "UPDATE sys_update_set_source SET url = $1 WHERE sys_id = $2",
            &[
                SqlValue::from(base_url.as_str()),
                SqlValue::from(tollgate::demo::update_sets::SOURCE_ID),
            ],
        )
        .await
        .expect("point the demo remote instance here");
    }
    let database_url = cleanup.database_url();
    let mut settings = Settings {
        timeline_tick: 3600,
        ..Settings::default()
    };
    for (key, value) in &page.settings {
        let value = value.replace("127.0.0.1:8080", &addr.to_string());
        match key.as_str() {
            "remote_allow" => settings.remote_allow = vec![value],
            "workers" => settings.workers = value.parse().expect("a number of workers"),
            _ => unreachable!("checked when read"),
        }
    }
    let _server = RunningServer::start_on(db.clone(), cleanup, listener, settings);
    // The server queues a timeline pass as it starts; the page reads the
    // releases as that pass leaves them, not while it runs.
    for _ in 0..200 {
        let row = db
            .fetch_optional(
                "SELECT COUNT(*) AS n FROM tollgate_job WHERE kind = 'dpr.advance_timeline' \
                 AND state IN ('succeeded', 'failed')",
                &[],
            )
            .await
            .expect("read the job queue");
        if row.and_then(|r| r.int("n")).unwrap_or(0) > 0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }

    let dir =
        std::env::temp_dir().join(format!("tollgate-doctest-{}", tollgate::ids::new_sys_id()));
    let (work, state, bin) = (dir.join("work"), dir.join("state"), dir.join("bin"));
    for d in [&work, &state, &bin] {
        std::fs::create_dir_all(d).expect("the page's folders");
    }
    let _remove = RemoveOnDrop(dir.clone());
    std::fs::write(bin.join("curl"), curl_shim(&tools.curl)).expect("the curl shim");
    std::os::unix::fs::symlink(env!("CARGO_BIN_EXE_tollgate"), bin.join("tollgate"))
        .expect("tollgate on PATH");
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(bin.join("curl"), std::fs::Permissions::from_mode(0o755))
            .expect("the shim runs");
    }
    let (text, lines) = script(page, &base_url);
    std::fs::write(dir.join("page.sh"), &text).expect("the page's script");
    let path = format!(
        "{}:{}",
        bin.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let mut command = tokio::process::Command::new(&tools.bash);
    command
        .arg(dir.join("page.sh"))
        .env_clear()
        .env("PATH", path)
        .env("HOME", &work)
        .env("LANG", "C.UTF-8")
        .env("DOCTEST_WORK", &work)
        .env("DOCTEST_STATE", &state)
        .env("TOLLGATE_DATABASE_URL", &database_url)
        .stdin(std::process::Stdio::null())
        .kill_on_drop(true);
    let output = tokio::time::timeout(PAGE_TIME_LIMIT, command.output())
        .await
        .map_err(|_| format!("{}: did not finish within {PAGE_TIME_LIMIT:?}", page.name))?
        .expect("bash runs");
    let bash_said = String::from_utf8_lossy(&output.stderr).into_owned();

    for (n, block) in page.runnable().enumerate() {
        let at = format!("{}:{}", page.name, block.line);
        let read = |what: &str| std::fs::read_to_string(state.join(format!("{what}.{n}")));
        let Ok(rc) = read("rc") else {
            return Err(format!(
                "{at}: the block did not run (an earlier block stopped the page?); bash said: {bash_said}"
            ));
        };
        let out = read("out").unwrap_or_default();
        let err = read("err").unwrap_or_default();
        let shown = format!(
            "\n--- its output:\n{}\n--- its errors:\n{}",
            clip(&out),
            clip(&err)
        );
        let failed = read("failed").unwrap_or_default();
        if !failed.is_empty() {
            let (script_line, command) = failed.split_once(' ').unwrap_or((&failed, ""));
            let (first_script, first_page) = lines[n];
            let line = script_line
                .parse::<usize>()
                .map(|l| first_page + l.saturating_sub(first_script))
                .unwrap_or(block.line);
            return Err(format!(
                "{}:{line}: a command failed: {command}{shown}",
                page.name
            ));
        }
        if rc.trim() != "0" {
            return Err(format!(
                "{at}: the block ended with status {}{shown}",
                rc.trim()
            ));
        }
        let statuses: Vec<u16> = read("statuses")
            .unwrap_or_default()
            .lines()
            .filter_map(|l| l.trim().parse().ok())
            .collect();
        let (last, earlier) = match block.status {
            Some(_) => match statuses.split_last() {
                Some((last, earlier)) => (Some(*last), earlier),
                None => return Err(format!("{at}: no HTTP answer, and the page shows a status")),
            },
            None => (None, &statuses[..]),
        };
        if let Some(bad) = earlier.iter().find(|s| **s >= 400) {
            return Err(format!(
                "{at}: an answer had status {bad} (mark the block `<!-- doc-test: status {bad} -->` if the page means it){shown}"
            ));
        }
        if let (Some(expected), Some(got)) = (block.status, last) {
            if expected != got {
                return Err(format!(
                    "{at}: status {expected} expected, got {got}{shown}"
                ));
            }
        }
        if let Some((text_line, text)) = &block.text {
            let expected: Vec<&str> = text.lines().map(str::trim_end).collect();
            let got: Vec<&str> = out.trim_end().lines().map(str::trim_end).collect();
            if !lines_match(&expected, &got) {
                return Err(format!(
                    "{}:{text_line}: the output differs from the page{shown}",
                    page.name
                ));
            }
        }
        if let Some((answer_line, answer)) = &block.answer {
            let patterns =
                parse_patterns(&answer.replace(DOC_BASE_URL, &base_url)).map_err(|e| {
                    format!("{}:{answer_line}: the answer does not read: {e}", page.name)
                })?;
            let values: Vec<Value> = serde_json::Deserializer::from_str(&out)
                .into_iter::<Value>()
                .collect::<Result<_, _>>()
                .map_err(|e| format!("{at}: the output is not JSON ({e}){shown}"))?;
            if values.len() < patterns.len() {
                return Err(format!(
                    "{at}: {} JSON answers expected, got {}{shown}",
                    patterns.len(),
                    values.len()
                ));
            }
            let mut wrong = Vec::new();
            let skip = values.len() - patterns.len();
            for (p, v) in patterns.iter().zip(&values[skip..]) {
                matches(p, v, "$", &mut wrong);
            }
            if !wrong.is_empty() {
                return Err(format!(
                    "{}:{answer_line}: the answer differs from the page:\n  {}{shown}",
                    page.name,
                    wrong.join("\n  ")
                ));
            }
        }
    }
    Ok(())
}

/// Whether `got` reads as `expected`, where a line `...` stands for any
/// number of lines, and `...` within a line for any text.
fn lines_match(expected: &[&str], got: &[&str]) -> bool {
    match expected.split_first() {
        None => got.is_empty(),
        Some((&"...", rest)) => (0..=got.len()).any(|skip| lines_match(rest, &got[skip..])),
        Some((line, rest)) => got
            .split_first()
            .is_some_and(|(g, got_rest)| line_matches(line, g) && lines_match(rest, got_rest)),
    }
}

/// Whether `got` reads as `expected`, where `...` stands for any text.
fn line_matches(expected: &str, got: &str) -> bool {
    let mut pieces = expected.split("...");
    let first = pieces.next().unwrap_or_default();
    let Some(mut rest) = got.strip_prefix(first) else {
        return false;
    };
    let pieces: Vec<&str> = pieces.collect();
    let Some((last, middle)) = pieces.split_last() else {
        return rest.is_empty();
    };
    for piece in middle {
        match rest.find(piece) {
            Some(at) => rest = &rest[at + piece.len()..],
            None => return false,
        }
    }
    rest.ends_with(last)
}

fn clip(s: &str) -> String {
    if s.len() > 3000 {
        format!("{}\n...", &s[..s.floor_char_boundary(3000)])
    } else {
        s.to_owned()
    }
}

struct RemoveOnDrop(PathBuf);

impl Drop for RemoveOnDrop {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

struct Tools {
    bash: PathBuf,
    curl: PathBuf,
}

/// The tools the pages use; missing ones fail the test, naming them.
fn tools() -> Tools {
    let missing: Vec<&str> = ["bash", "curl", "jq"]
        .into_iter()
        .filter(|t| which(t).is_none())
        .collect();
    assert!(
        missing.is_empty(),
        "the documents' examples need {missing:?} on PATH (Debian: apt-get install {})",
        missing.join(" ")
    );
    Tools {
        bash: which("bash").expect("bash"),
        curl: which("curl").expect("curl"),
    }
}

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// README.md and every docs/*.md (docs/dev/ holds notes, not examples).
fn pages() -> BTreeMap<String, String> {
    let mut pages = BTreeMap::new();
    let mut paths = vec![root().join("README.md")];
    for entry in std::fs::read_dir(root().join("docs")).expect("docs/") {
        let path = entry.expect("a docs entry").path();
        if path.extension().is_some_and(|e| e == "md") {
            paths.push(path);
        }
    }
    for path in paths {
        let name = path
            .strip_prefix(root())
            .expect("under the crate")
            .display()
            .to_string();
        pages.insert(name, std::fs::read_to_string(&path).expect("a page reads"));
    }
    pages
}

async fn run_pages(pages: Vec<Page>) -> Vec<String> {
    let tools = std::sync::Arc::new(tools());
    let permits = std::sync::Arc::new(tokio::sync::Semaphore::new(PAGES_AT_ONCE));
    let mut tasks = Vec::new();
    for page in pages {
        let (tools, permits) = (tools.clone(), permits.clone());
        tasks.push(tokio::spawn(async move {
            let _permit = permits.acquire_owned().await.expect("the semaphore");
            run_page(&page, &tools).await
        }));
    }
    let mut failures = Vec::new();
    for task in tasks {
        if let Err(e) = task.await.expect("a page's task") {
            failures.push(e);
        }
    }
    failures
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_shell_example_in_the_documents_runs_as_the_page_shows() {
    let mut parsed = Vec::new();
    let mut failures = Vec::new();
    // TOLLGATE_DOC_TEST_PAGE=RELEASES runs only the pages whose path holds it.
    let only = std::env::var("TOLLGATE_DOC_TEST_PAGE").ok();
    for (name, text) in pages() {
        if only.as_ref().is_some_and(|o| !name.contains(o.as_str())) {
            continue;
        }
        match parse_page(&name, &text) {
            Ok(pages) => parsed.extend(pages),
            Err(e) => failures.push(e),
        }
    }
    let ran: usize = parsed.iter().map(|p| p.runnable().count()).sum();
    failures.extend(run_pages(parsed).await);
    assert!(
        failures.is_empty(),
        "{} page(s) fail:\n\n{}",
        failures.len(),
        failures.join("\n\n")
    );
    assert!(
        only.is_some() || ran > 40,
        "only {ran} blocks ran: the pages are not read"
    );
}

/// A page whose example is wrong fails: a status, a key, a value, a
/// command, each caught.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_broken_example_fails_the_harness() {
    let broken = [
        // A 404 where the page shows success.
        "```sh\ncurl -s --user admin:change-me http://127.0.0.1:8080/api/now/table/nope\n```\n",
        // A key the answer lacks.
        "```sh\ncurl -s --user admin:change-me http://127.0.0.1:8080/api/tollgate/me\n```\n\n\
         ```json\n{\"result\": {\"user_name\": \"admin\", \"shoe_size\": 42, ...}}\n```\n",
        // A stale value.
        "```sh\ncurl -s --user admin:change-me http://127.0.0.1:8080/api/tollgate/me\n```\n\n\
         ```json\n{\"result\": {\"user_name\": \"root\", ...}}\n```\n",
        // A key the page does not show, in an object shown whole.
        "```sh\ncurl -s --user admin:change-me http://127.0.0.1:8080/api/tollgate/me\n```\n\n\
         ```json\n{\"result\": {\"user_name\": \"admin\"}}\n```\n",
        // A status other than the one shown.
        "<!-- doc-test: status 400 -->\n```sh\ncurl -s --user admin:change-me http://127.0.0.1:8080/api/tollgate/me\n```\n",
        // A failing command.
        "```sh\nX=$(tollgate apikey create nobody)\n```\n",
        // A variable an earlier block should have set.
        "```sh\ncurl -s --user admin:change-me \"http://127.0.0.1:8080/api/now/table/sys_user/$NOT_SET\"\n```\n",
    ];
    let pages: Vec<Page> = broken
        .iter()
        .enumerate()
        .flat_map(|(i, body)| {
            parse_page(
                &format!("broken{i}.md"),
                &format!("<!-- doc-test: empty -->\n{body}"),
            )
            .expect("the page reads")
        })
        .collect();
    let count = pages.len();
    let failures = run_pages(pages).await;
    assert_eq!(
        failures.len(),
        count,
        "each broken page fails: {failures:#?}"
    );

    // And the same pages, written right, pass.
    let right = "<!-- doc-test: empty -->\n\
        ```sh\nME=$(curl -s --user admin:change-me http://127.0.0.1:8080/api/tollgate/me | jq -r .result.sys_id)\n```\n\n\
        <!-- doc-test: status 400 -->\n\
        ```sh\ncurl -s --user admin:change-me http://127.0.0.1:8080/api/now/table/nope\n```\n\n\
        ```sh\ncurl -s --user admin:change-me \"http://127.0.0.1:8080/api/now/table/sys_user/$ME?sysparm_fields=user_name\"\n```\n\n\
        ```json\n{\"result\": {\"user_name\": \"admin\"}}\n```\n\n\
        <!-- doc-test: demo -->\n\
        ```sh\necho \"${ME:-a new session}\"\n\
        curl -s --user admin:change-me http://127.0.0.1:8080/api/now/table/sys_user/dc6770ae3b97a210532fb50f23e45a33?sysparm_fields=name\n```\n\n\
        <!-- doc-test: text -->\n```text\na new session\n{\"result\":{\"name\":\"Rita Release\"}}\n```\n";
    let pages = parse_page("right.md", right).expect("the page reads");
    assert_eq!(
        pages.len(),
        2,
        "a second start directive starts a second run"
    );
    assert_eq!(run_pages(pages).await, Vec::<String>::new());
}

#[test]
fn the_answer_patterns_read_and_match_as_documented() {
    let pattern = |s: &str| parse_patterns(s).expect("reads").remove(0);
    let check = |p: &str, v: Value| {
        let mut wrong = Vec::new();
        matches(&pattern(p), &v, "$", &mut wrong);
        wrong
    };
    use serde_json::json;
    assert!(check(r#"{"a": 1, ...}"#, json!({"a": 1, "b": 2})).is_empty());
    assert!(!check(r#"{"a": 1}"#, json!({"a": 1, "b": 2})).is_empty());
    assert!(check(r#"["x", "..."]"#, json!(["x", "y", "z"])).is_empty());
    assert!(!check(r#"["y", "..."]"#, json!(["x", "y"])).is_empty());
    assert!(check(r#"[..., "z"]"#, json!(["x", "y", "z"])).is_empty());
    assert!(check(r#"{"id": "REL...1"}"#, json!({"id": "REL0001001"})).is_empty());
    assert!(!check(r#"{"id": "REL...2"}"#, json!({"id": "REL0001001"})).is_empty());
    assert!(check(r#"{"id": "<release>"}"#, json!({"id": "0195"})).is_empty());
    assert!(!check(r#"{"id": "<release>"}"#, json!({"id": {"value": 1}})).is_empty());
    assert!(check(
        r#"{"n": 2.0, "ok": true, "x": null}"#,
        json!({"n": 2, "ok": true, "x": null})
    )
    .is_empty());
    assert!(!check(r#"{"n": 3}"#, json!({"n": 2})).is_empty());
    assert!(parse_patterns("{\"a\" 1}").is_err());
    assert!(lines_match(&["a ... c", "..."], &["a b c", "d", "e"]));
    assert!(lines_match(&["x...y...z"], &["x1y2z"]));
    assert!(!lines_match(&["x...y...z"], &["x1z2y"]));
    assert!(!lines_match(&["a", "b"], &["a"]));
}

/// docs/DEMO_DATA.md lists every id `src/demo/` names as a constant, and
/// every record the page lists (`| name | `table` | `id` | ... |`) exists
/// on a demo server.
#[tokio::test]
async fn demo_data_page_lists_every_demo_id_and_each_exists() {
    let page = std::fs::read_to_string(root().join("docs/DEMO_DATA.md")).expect("the page");
    let mut constants = 0;
    for entry in std::fs::read_dir(root().join("src/demo")).expect("src/demo") {
        let source = std::fs::read_to_string(entry.expect("a file").path()).expect("reads");
        for line in source.lines().filter(|l| l.contains("const ")) {
            for id in line.split('"').skip(1).step_by(2) {
                if tollgate::ids::is_sys_id(id) {
                    constants += 1;
                    assert!(
                        page.contains(id),
                        "docs/DEMO_DATA.md does not list the demo id {id} ({})",
                        line.trim()
                    );
                }
            }
        }
    }
    assert!(
        constants > 40,
        "only {constants} demo ids found in src/demo"
    );

    let app = crate::helpers::TestApp::spawn_demo().await;
    let mut checked = 0;
    for line in page.lines().filter(|l| l.starts_with('|')) {
        let cells: Vec<&str> = line.split('|').map(str::trim).collect();
        let (Some(table), Some(id)) = (cells.get(2), cells.get(3)) else {
            continue;
        };
        let (Some(table), Some(id)) = (
            table.strip_prefix('`').and_then(|t| t.strip_suffix('`')),
            id.strip_prefix('`').and_then(|t| t.strip_suffix('`')),
        ) else {
            continue;
        };
        assert!(
            table
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_'),
            "a table name: {table}"
        );
        // A registered table that extends another is stored in its root's.
        let table = tollgate::registry::table(table).map_or(table, |t| t.storage());
        let (column, value) = match id.parse::<i64>() {
            Ok(n) => ("id", SqlValue::Int(n)),
            Err(_) => ("sys_id", SqlValue::from(id)),
        };
        let found = app
            .db
            .fetch_optional(
                &format!("SELECT 1 AS found FROM {table} WHERE {column} = $1"),
                &[value],
            )
            .await
            .unwrap_or_else(|e| panic!("{table}: {e}"));
        assert!(
            found.is_some(),
            "docs/DEMO_DATA.md lists {table} {id}, which the demo data lacks"
        );
        checked += 1;
    }
    assert!(checked > 60, "only {checked} records listed");
}
