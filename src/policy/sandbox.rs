//! The policy sandbox: every policy a server checks or evaluates runs in an
//! evaluator process of its own (`tollgate policy-worker`), never in the
//! server process.
//!
//! Why a process: a Rego built-in can ask for any amount of memory in one
//! call (`numbers.range(1, 2000000000)` asks for 48 GB), and in Rust a failed
//! allocation aborts the process; a built-in can also run for seconds
//! without reaching regorus's time check. Neither can be stopped from inside
//! the process that runs it. An evaluator process has an address-space
//! limit (`policy_memory_limit_mb` on top of what it needs to start), and the
//! server kills it when an answer takes longer than `policy_time_limit_ms`
//! plus a grace period. Either way the policy ends as a failed evaluation
//! with a message that says which limit it crossed, the evaluator is
//! replaced, and the server goes on.
//!
//! Evaluators are kept and reused (at most `policy_workers` run at once), so
//! an evaluation costs a pipe round trip and not a process start. They keep
//! compiled policies by their source text, so a policy is compiled once per
//! evaluator. The protocol is one JSON request per line on the evaluator's
//! standard input and one JSON answer per line on its standard output.

use std::io::{BufRead, BufReader, Read, Write};
use std::path::PathBuf;
use std::process::{Child, ChildStdin, ChildStdout, Command, Stdio};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use serde::{Deserialize, Serialize};
use serde_json::Value as Json;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use super::{PolicyCache, Verdict};

/// The subcommand that runs an evaluator.
pub const WORKER_COMMAND: &str = "policy-worker";

/// The largest answer line read from an evaluator (a verdict's texts).
const MAX_ANSWER_BYTES: u64 = 4 * 1024 * 1024;

/// How an evaluator is started and bounded.
#[derive(Clone, Debug)]
pub struct SandboxConfig {
    /// The evaluator program: the `tollgate` binary itself.
    pub program: PathBuf,
    /// Arguments before the limits (normally just [`WORKER_COMMAND`]).
    pub args: Vec<String>,
    /// Longest one check or evaluation may take.
    pub time_limit: Duration,
    /// Memory one evaluator may use beyond what it needs to start.
    pub memory_limit_mb: u64,
    /// Evaluators running at once.
    pub workers: usize,
}

impl SandboxConfig {
    /// The `tollgate` binary at `program` as evaluator, with the settings'
    /// limits.
    pub fn new(program: PathBuf, settings: &crate::config::Settings) -> SandboxConfig {
        SandboxConfig {
            program,
            args: vec![WORKER_COMMAND.to_string()],
            time_limit: Duration::from_millis(settings.policy_time_limit_ms),
            memory_limit_mb: settings.policy_memory_limit_mb,
            workers: settings.policy_workers.max(1),
        }
    }

    /// The kill deadline: the time limit, then a grace period in which
    /// regorus's own limit (the same time limit) normally answers first.
    fn deadline(&self) -> Duration {
        self.time_limit + Duration::from_millis(250).max(self.time_limit / 2)
    }
}

#[derive(Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "snake_case")]
enum Request {
    Check { source: String },
    Evaluate { source: String, input: Json },
}

#[derive(Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
enum Answer {
    Checked(Result<(), String>),
    Evaluated(Verdict),
}

/// A running evaluator. Its pipes are plain blocking pipes driven from
/// the blocking pool, not the async runtime's, so an evaluator outlives the
/// runtime that started it (each test has a runtime of its own).
struct Worker {
    /// Shared with the caller waiting on the deadline, which kills it.
    child: Arc<Mutex<Child>>,
    stdin: ChildStdin,
    stdout: BufReader<ChildStdout>,
}

/// What became of one exchange with an evaluator.
enum Exchange {
    Answered(Answer),
    /// The evaluator is gone or unusable; the text says why, for the verdict.
    Failed(String),
}

pub struct Sandbox {
    config: SandboxConfig,
    permits: Arc<Semaphore>,
    idle: Mutex<Vec<Worker>>,
}

static GLOBAL: OnceLock<Sandbox> = OnceLock::new();

/// Installs the process's sandbox (first call wins); the server does this at
/// start-up, the integration tests with the built binary.
pub fn install(config: SandboxConfig) {
    let _ = GLOBAL.set(Sandbox::new(config));
}

/// The process's sandbox. Without [`install`], the running executable is
/// the evaluator with the default limits.
pub fn global() -> &'static Sandbox {
    GLOBAL.get_or_init(|| {
        let program = std::env::current_exe().unwrap_or_else(|_| PathBuf::from("tollgate"));
        Sandbox::new(SandboxConfig::new(
            program,
            &crate::config::Settings::default(),
        ))
    })
}

impl Sandbox {
    pub fn new(config: SandboxConfig) -> Sandbox {
        Sandbox {
            permits: Arc::new(Semaphore::new(config.workers.max(1))),
            idle: Mutex::new(Vec::new()),
            config,
        }
    }

    /// Compiles and checks a policy in an evaluator; `Err` is the message
    /// that refuses it (see [`super::compile`]).
    pub async fn check(&self, source: &str) -> Result<(), String> {
        let request = Request::Check {
            source: source.to_string(),
        };
        match self.exchange(&request).await {
            Exchange::Answered(Answer::Checked(result)) => result,
            Exchange::Answered(_) => Err("the policy evaluator answered out of turn".into()),
            Exchange::Failed(why) => Err(why),
        }
    }

    /// Evaluates a policy against an input document in an evaluator. Never
    /// fails: a policy that does not compile, errs, or crosses a limit is a
    /// failed (non-compliant) verdict whose output says why.
    pub async fn evaluate(&self, source: &str, input: &Json) -> Verdict {
        let request = Request::Evaluate {
            source: source.to_string(),
            input: input.clone(),
        };
        match self.exchange(&request).await {
            Exchange::Answered(Answer::Evaluated(verdict)) => verdict,
            Exchange::Answered(_) => Verdict::failed("the policy evaluator answered out of turn"),
            Exchange::Failed(why) => Verdict::failed(why),
        }
    }

    async fn exchange(&self, request: &Request) -> Exchange {
        // The permit travels with the evaluator into the blocking task, so a
        // caller that goes away (a dropped request) cannot free its slot
        // while its evaluator still runs.
        let Ok(permit) = self.permits.clone().acquire_owned().await else {
            return Exchange::Failed("the policy evaluator is shut down".into());
        };
        let mut line = match serde_json::to_vec(request) {
            Ok(line) => line,
            Err(e) => return Exchange::Failed(format!("the request is not serialisable: {e}")),
        };
        line.push(b'\n');
        let reused = self.idle.lock().unwrap_or_else(|e| e.into_inner()).pop();
        let mut worker = match reused {
            Some(worker) => worker,
            None => match self.spawn() {
                Ok(worker) => worker,
                Err(e) => {
                    tracing::error!(error = %e, program = %self.config.program.display(), "cannot start a policy evaluator");
                    return Exchange::Failed(format!("the policy evaluator could not start: {e}"));
                }
            },
        };
        // Kills the evaluator unless disarmed: on the deadline, and when this
        // future is dropped mid-evaluation, so no evaluation outlives the
        // one who asked for it.
        let mut stop = StopOnDrop(Some(worker.child.clone()));
        let asked = tokio::task::spawn_blocking(move || {
            let _permit: OwnedSemaphorePermit = permit;
            let answer = worker.ask(&line);
            (worker, answer)
        });
        match tokio::time::timeout(self.config.deadline(), asked).await {
            Ok(Ok((worker, Ok(answer)))) => {
                stop.0 = None;
                self.idle
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .push(worker);
                Exchange::Answered(answer)
            }
            Ok(Ok((worker, Err(())))) => {
                stop.0 = None;
                let memory_limit_mb = self.config.memory_limit_mb;
                Exchange::Failed(
                    tokio::task::spawn_blocking(move || why_it_died(worker, memory_limit_mb))
                        .await
                        .unwrap_or_else(|_| "the policy evaluator stopped unexpectedly".into()),
                )
            }
            Ok(Err(_)) => Exchange::Failed("the policy evaluator stopped unexpectedly".into()),
            Err(_) => {
                drop(stop);
                tracing::warn!(
                    limit_ms = self.config.time_limit.as_millis() as u64,
                    "a policy evaluation ran past its time limit; its evaluator was stopped"
                );
                Exchange::Failed(format!(
                    "the policy ran longer than the time limit of {} ms and was stopped",
                    self.config.time_limit.as_millis()
                ))
            }
        }
    }

    fn spawn(&self) -> std::io::Result<Worker> {
        let mut child = Command::new(&self.config.program)
            .args(&self.config.args)
            .arg(self.config.time_limit.as_millis().to_string())
            .arg(self.config.memory_limit_mb.to_string())
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            // Nothing is read from it: a policy's print() output or a
            // message could otherwise fill the pipe and stall the evaluator.
            .stderr(Stdio::null())
            .spawn()?;
        let (Some(stdin), Some(stdout)) = (child.stdin.take(), child.stdout.take()) else {
            let _ = child.kill();
            return Err(std::io::Error::other("the evaluator's pipes are missing"));
        };
        Ok(Worker {
            child: Arc::new(Mutex::new(child)),
            stdin,
            stdout: BufReader::new(stdout),
        })
    }
}

/// Kills an evaluator when dropped while armed.
struct StopOnDrop(Option<Arc<Mutex<Child>>>);

impl Drop for StopOnDrop {
    fn drop(&mut self) {
        if let Some(child) = self.0.take() {
            let _ = child.lock().unwrap_or_else(|e| e.into_inner()).kill();
        }
    }
}

/// Why an evaluator stopped answering, from how it ended: a failed
/// allocation aborts the process (SIGABRT), which under its address-space
/// limit means the policy wanted more memory than allowed.
fn why_it_died(worker: Worker, memory_limit_mb: u64) -> String {
    use std::os::unix::process::ExitStatusExt;
    let status = worker.stop();
    if status.and_then(|s| s.signal()) == Some(6) {
        tracing::warn!(
            limit_mb = memory_limit_mb,
            "a policy evaluation ran out of its memory limit; its evaluator was replaced"
        );
        format!(
            "the policy needed more memory than the limit of {memory_limit_mb} MiB and was stopped"
        )
    } else {
        tracing::warn!(?status, "a policy evaluator stopped unexpectedly");
        "the policy evaluator stopped unexpectedly while evaluating the policy".into()
    }
}

impl Drop for Worker {
    /// An evaluator is never left running or unreaped.
    fn drop(&mut self) {
        self.stop();
    }
}

impl Worker {
    /// Ends the evaluator (if it still runs) and reaps it; how it ended.
    fn stop(&self) -> Option<std::process::ExitStatus> {
        let mut child = self.child.lock().unwrap_or_else(|e| e.into_inner());
        if let Ok(Some(status)) = child.try_wait() {
            return Some(status);
        }
        let _ = child.kill();
        child.wait().ok()
    }

    fn ask(&mut self, line: &[u8]) -> Result<Answer, ()> {
        self.stdin.write_all(line).map_err(|_| ())?;
        self.stdin.flush().map_err(|_| ())?;
        let mut answer = String::new();
        let read = (&mut self.stdout)
            .take(MAX_ANSWER_BYTES)
            .read_line(&mut answer)
            .map_err(|_| ())?;
        if read == 0 || !answer.ends_with('\n') {
            return Err(());
        }
        serde_json::from_str(&answer).map_err(|_| ())
    }
}

/// The evaluator's main loop (`tollgate policy-worker TIME_MS MEMORY_MB`):
/// sets its own limits, then answers requests until standard input closes.
/// Returns the process exit code.
pub fn worker_main(args: &[String]) -> i32 {
    let time_limit_ms = args.first().and_then(|a| a.parse().ok()).unwrap_or(1000);
    let memory_limit_mb: u64 = args.get(1).and_then(|a| a.parse().ok()).unwrap_or(256);
    if let Err(e) = limit_address_space(memory_limit_mb) {
        eprintln!("policy-worker: cannot set the memory limit: {e}");
        return 2;
    }
    super::set_time_limit(Duration::from_millis(time_limit_ms));
    // The evaluator is a process of its own: its global cache is its own.
    let cache = PolicyCache::global();
    let stdin = std::io::stdin();
    let mut stdout = std::io::stdout().lock();
    for line in stdin.lock().lines() {
        let Ok(line) = line else { return 0 };
        let answer = match serde_json::from_str::<Request>(&line) {
            Ok(Request::Check { source }) => Answer::Checked(super::compile(&source).map(|_| ())),
            Ok(Request::Evaluate { source, input }) => {
                let key = format!("{:016x}", super::cache::hash(&source));
                Answer::Evaluated(match cache.get_or_compile(&key, 0, &source) {
                    Ok(compiled) => super::evaluate(&compiled, &input),
                    Err(message) => Verdict::failed(message),
                })
            }
            Err(e) => Answer::Evaluated(Verdict::failed(format!("unreadable request: {e}"))),
        };
        let Ok(mut text) = serde_json::to_vec(&answer) else {
            return 1;
        };
        text.push(b'\n');
        if stdout
            .write_all(&text)
            .and_then(|_| stdout.flush())
            .is_err()
        {
            return 0;
        }
    }
    0
}

/// Caps the process's address space at what it uses now plus `extra_mb`.
fn limit_address_space(extra_mb: u64) -> std::io::Result<()> {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let current_kb: u64 = status
        .lines()
        .find_map(|l| l.strip_prefix("VmSize:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(0);
    let limit = current_kb * 1024 + extra_mb * 1024 * 1024;
    rlimit::setrlimit(rlimit::Resource::AS, limit, limit)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A sandbox whose "evaluator" is `program args...`, one at a time.
    fn sandbox_of(program: &str, args: &[&str], time_limit: Duration) -> Sandbox {
        Sandbox::new(SandboxConfig {
            program: PathBuf::from(program),
            args: args.iter().map(|a| a.to_string()).collect(),
            time_limit,
            memory_limit_mb: 64,
            workers: 1,
        })
    }

    /// An evaluator that never answers is stopped at the deadline, and the
    /// caller gets a failed verdict naming the time limit.
    #[tokio::test]
    async fn an_evaluator_that_does_not_answer_in_time_is_stopped() {
        let sandbox = sandbox_of("sleep", &["30"], Duration::from_millis(100));
        let verdict = sandbox
            .evaluate("package p\ncompliant := true", &Json::Null)
            .await;
        assert!(!verdict.compliant);
        assert!(
            verdict
                .output
                .contains("longer than the time limit of 100 ms"),
            "{verdict:?}"
        );
        assert!(
            sandbox.idle.lock().unwrap().is_empty(),
            "a stopped evaluator is not reused"
        );
    }

    /// A caller that goes away mid-evaluation stops its evaluator: the slot
    /// comes back only when the evaluator is gone, and nothing is left
    /// running.
    #[tokio::test]
    async fn an_abandoned_evaluation_stops_its_evaluator_and_frees_its_slot() {
        let pid_file =
            std::env::temp_dir().join(format!("tollgate-eval-{}", crate::ids::new_sys_id()));
        let script = format!("echo $$ > {}; exec sleep 30", pid_file.display());
        let sandbox = sandbox_of("sh", &["-c", &script], Duration::from_secs(20));
        let abandoned = tokio::time::timeout(
            Duration::from_millis(300),
            sandbox.evaluate("package p\ncompliant := true", &Json::Null),
        )
        .await;
        assert!(abandoned.is_err(), "the evaluation was still running");
        let pid = std::fs::read_to_string(&pid_file).unwrap();
        let _ = std::fs::remove_file(&pid_file);
        let process = PathBuf::from(format!("/proc/{}", pid.trim()));
        let mut gone = false;
        for _ in 0..100 {
            if !process.exists() && sandbox.permits.available_permits() == 1 {
                gone = true;
                break;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        assert!(
            gone,
            "the evaluator was stopped, reaped, and its slot freed"
        );
    }

    /// An evaluator that exits without answering is reported, not trusted.
    #[tokio::test]
    async fn an_evaluator_that_dies_fails_the_evaluation() {
        let sandbox = sandbox_of("true", &[], Duration::from_millis(2000));
        let verdict = sandbox
            .evaluate("package p\ncompliant := true", &Json::Null)
            .await;
        assert!(!verdict.compliant);
        assert!(
            verdict.output.contains("stopped unexpectedly"),
            "{verdict:?}"
        );
        assert!(sandbox.check("package p").await.is_err());
    }
}
