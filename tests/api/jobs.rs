//! The durable job queue: leases, takeover, exactly-once completion,
//! retries, and the progress endpoint.

use std::sync::Arc;
use std::time::Duration;

use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use serde_json::json;
use tokio::sync::Notify;
use tollgate::error::{Error, Result};
use tollgate::jobs::{Job, JobContext, JobQueue, JobRegistry, JobState, Outcome};
use tollgate::storage::Value;

use crate::helpers::*;

/// Writes one `sys_properties` row per run (named by job and attempt), so a
/// second completion would show as a second row.
#[derive(Serialize, Deserialize)]
struct RecordEffect {
    value: String,
}

/// When set, the first attempt of a [`RecordEffect`] waits here (a long job
/// to kill).
type HoldFirstAttempt = Option<Arc<Notify>>;

impl Job for RecordEffect {
    const KIND: &'static str = "test.record_effect";
    type Env = HoldFirstAttempt;

    async fn run(self, ctx: &JobContext, hold: &HoldFirstAttempt) -> Result<Outcome> {
        ctx.progress(40, "working").await?;
        if let (Some(hold), 1) = (hold, ctx.attempt) {
            hold.notified().await;
        }
        let mut tx = ctx.begin().await?;
        let id = tollgate::ids::new_sys_id();
        let table = tollgate::registry::table("sys_properties").unwrap();
        tollgate::domain::records::insert_values(
            &mut tx,
            table,
            Some(id.clone()),
            vec![
                (
                    "name",
                    Value::Text(format!("effect-{}-{}", ctx.id, ctx.attempt)),
                ),
                ("value", Value::Text(self.value)),
            ],
            "job",
        )
        .await?;
        Ok(Outcome {
            tx,
            message: "Effect recorded".into(),
            result: Some(("sys_properties".into(), id)),
        })
    }
}

fn effect() -> RecordEffect {
    RecordEffect {
        value: "done".into(),
    }
}

fn record_effect(hold: HoldFirstAttempt) -> JobRegistry {
    JobRegistry::new().register_with::<RecordEffect>(hold)
}

#[derive(Serialize, Deserialize)]
struct AlwaysFails {}

impl Job for AlwaysFails {
    const KIND: &'static str = "test.always_fails";
    type Env = ();

    async fn run(self, _: &JobContext, _: &()) -> Result<Outcome> {
        Err(Error::invalid(
            "remote",
            "the remote instance answered garbage",
        ))
    }
}

async fn effects(app: &TestApp, job: &str) -> i64 {
    app.db
        .fetch_optional(
            "SELECT COUNT(*) AS n FROM sys_properties WHERE name LIKE $1",
            &[Value::Text(format!("effect-{job}-%"))],
        )
        .await
        .unwrap()
        .and_then(|r| r.int("n"))
        .unwrap()
}

async fn app_with(jobs: JobRegistry) -> TestApp {
    TestApp::spawn_with(test_settings(), jobs).await
}

fn now() -> i64 {
    chrono::Utc::now().timestamp_millis()
}

fn queue(app: &TestApp) -> &JobQueue {
    &app.state.jobs
}

#[tokio::test]
async fn a_job_whose_worker_was_killed_is_taken_over_and_completes_exactly_once() {
    let hold = Arc::new(Notify::new());
    let app = app_with(record_effect(Some(hold.clone()))).await;
    let q = queue(&app).clone();
    let job = effect().enqueue(&q, "test").await.unwrap();

    // Worker A claims the job and is killed in the middle of it.
    let a = q.claim("worker-a", now()).await.unwrap().expect("A claims");
    assert_eq!(a.id, job);
    let q_a = q.clone();
    let killed = tokio::spawn(async move { q_a.execute(a).await });
    while q.progress(&job).await.unwrap().unwrap().percent_complete < 40 {
        tokio::task::yield_now().await;
    }
    killed.abort();
    assert!(killed.await.unwrap_err().is_cancelled());
    assert_eq!(
        q.progress(&job).await.unwrap().unwrap().state,
        JobState::Running
    );

    // While A's lease holds, nobody else may take the job.
    assert!(q.claim("worker-b", now()).await.unwrap().is_none());

    // Once the lease has expired, worker B takes it over and finishes it.
    let later = now() + 31_000;
    let b = q
        .claim("worker-b", later)
        .await
        .unwrap()
        .expect("B takes over");
    assert_eq!(b.id, job);
    assert_eq!(b.attempt, 2);
    assert_eq!(q.execute(b).await, JobState::Succeeded);
    assert_eq!(effects(&app, &job).await, 1);
    let p = q.progress(&job).await.unwrap().unwrap();
    assert_eq!(p.state, JobState::Succeeded);
    assert_eq!(p.percent_complete, 100);
    app.assert_no_jobs_left().await;
}

#[tokio::test]
async fn a_job_whose_worker_died_on_its_last_attempt_is_failed_not_run_again() {
    let app = app_with(record_effect(None)).await;
    let q = queue(&app).clone();
    let job = effect().enqueue(&q, "test").await.unwrap();

    // Three workers in a row claim the job and die in it (a poison job that
    // takes the process down): each lease expires with the job still running.
    let mut t = now();
    for attempt in 1..=3 {
        let ctx = q.claim("doomed", t).await.unwrap().expect("claimed");
        assert_eq!(ctx.attempt, attempt);
        drop(ctx);
        t += 31_000;
    }

    // After the third death the job is not handed out a fourth time...
    assert!(q.claim("next", t).await.unwrap().is_none());
    let p = q.progress(&job).await.unwrap().unwrap();
    assert_eq!(p.state, JobState::Failed);
    assert_eq!(p.attempts, 3, "never past its maximum");
    assert!(
        p.error.contains("worker") && p.error.contains("attempts"),
        "{}",
        p.error
    );
    assert_eq!(effects(&app, &job).await, 0);

    // ...and the family's status endpoint says so.
    let res = app.get(&format!("/api/sn_cicd/progress/{job}")).await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.text);
    assert_eq!(res.body["result"]["status"], "3");
    assert_eq!(res.body["result"]["status_label"], "Failed");
    assert!(
        res.body["result"]["error"]
            .as_str()
            .unwrap()
            .contains("worker"),
        "{}",
        res.text
    );

    // Later claims leave it failed.
    assert!(q.claim("later", t + 600_000).await.unwrap().is_none());
    assert_eq!(
        q.progress(&job).await.unwrap().unwrap().state,
        JobState::Failed
    );
    app.assert_no_jobs_left().await;
}

#[tokio::test]
async fn a_worker_that_lost_its_lease_cannot_complete_the_job_a_second_time() {
    let app = app_with(record_effect(None)).await;
    let q = queue(&app).clone();
    let job = effect().enqueue(&q, "test").await.unwrap();
    let zombie = q.claim("worker-a", now()).await.unwrap().unwrap();
    let taker = q.claim("worker-b", now() + 31_000).await.unwrap().unwrap();
    assert_eq!(q.execute(taker).await, JobState::Succeeded);
    // A comes back from the dead and runs its copy to the end.
    assert_ne!(q.execute(zombie).await, JobState::Succeeded);
    assert_eq!(effects(&app, &job).await, 1, "exactly one completion");
    app.assert_no_jobs_left().await;
}

#[tokio::test]
async fn two_workers_racing_for_jobs_never_run_one_twice() {
    let app = app_with(record_effect(None)).await;
    let q = queue(&app).clone();
    let mut jobs = Vec::new();
    for _ in 0..6 {
        jobs.push(effect().enqueue(&q, "test").await.unwrap());
    }
    let mut tasks = Vec::new();
    for w in ["w1", "w2"] {
        let q = q.clone();
        tasks.push(tokio::spawn(async move {
            let mut ran = Vec::new();
            while let Some(job) = q
                .claim(w, chrono::Utc::now().timestamp_millis())
                .await
                .unwrap()
            {
                ran.push(job.id.clone());
                q.execute(job).await;
            }
            ran
        }));
    }
    let mut ran = Vec::new();
    for t in tasks {
        ran.extend(t.await.unwrap());
    }
    ran.sort();
    let mut expected = jobs.clone();
    expected.sort();
    assert_eq!(ran, expected, "each job claimed exactly once");
    for job in &jobs {
        assert_eq!(effects(&app, job).await, 1);
    }
    app.assert_no_jobs_left().await;
}

#[tokio::test]
async fn a_failing_job_is_retried_with_backoff_and_then_fails() {
    let app = app_with(JobRegistry::new().register::<AlwaysFails>()).await;
    let q = queue(&app).clone();
    let job = AlwaysFails {}.enqueue(&q, "test").await.unwrap();
    let mut clock = now();
    for attempt in 1..=3 {
        let ctx = q.claim("w", clock).await.unwrap().expect("due");
        assert_eq!(ctx.attempt, attempt);
        let state = q.execute(ctx).await;
        if attempt < 3 {
            assert_eq!(state, JobState::Pending);
            assert!(
                q.claim("w", clock).await.unwrap().is_none(),
                "not due before its backoff"
            );
            clock = now() + tollgate::jobs::backoff(attempt).as_millis() as i64 + 1;
        } else {
            assert_eq!(state, JobState::Failed);
        }
    }
    let p = q.progress(&job).await.unwrap().unwrap();
    assert_eq!(p.state, JobState::Failed);
    assert!(p.error.contains("garbage"), "{}", p.error);
    app.assert_no_jobs_left().await;
}

#[tokio::test]
async fn the_progress_endpoint_follows_a_job_from_pending_to_successful() {
    let app = app_with(record_effect(None)).await;
    let q = queue(&app).clone();
    let job = effect().enqueue(&q, "test").await.unwrap();
    let path = format!("/api/sn_cicd/progress/{job}");

    let res = app.get(&path).await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.text);
    let r = &res.body["result"];
    assert_eq!(r["status"], "0");
    assert_eq!(r["status_label"], "Pending");
    assert_eq!(r["percent_complete"], 0);
    assert_eq!(r["links"]["progress"]["id"], job.as_str());
    assert_eq!(
        r["links"]["progress"]["url"],
        format!("http://tollgate.test{path}")
    );
    assert!(r["links"].get("results").is_none());

    let ctx = q.claim("w", now()).await.unwrap().unwrap();
    let res = app.get(&path).await;
    assert_eq!(res.body["result"]["status"], "1");
    assert_eq!(res.body["result"]["status_label"], "Running");
    assert_eq!(q.execute(ctx).await, JobState::Succeeded);

    let res = app.get(&format!("/api/sn_cicd/v1/progress/{job}")).await;
    let r = &res.body["result"];
    assert_eq!(r["status"], "2");
    assert_eq!(r["status_label"], "Successful");
    assert_eq!(r["percent_complete"], 100);
    assert_eq!(r["error"], "");
    let url = r["links"]["results"]["url"].as_str().unwrap();
    let path = url.strip_prefix("http://tollgate.test").unwrap();
    let record = app.get(path).await;
    assert_eq!(record.status, StatusCode::OK);
    assert_eq!(record.body["result"]["value"], "done");
    app.assert_no_jobs_left().await;
}

#[tokio::test]
async fn an_unknown_progress_id_is_404() {
    let app = TestApp::spawn().await;
    let res = app
        .get("/api/sn_cicd/progress/0123456789abcdef0123456789abcdef")
        .await;
    assert_eq!(res.status, StatusCode::NOT_FOUND);
    assert_eq!(res.body["status"], "failure");
}

#[tokio::test]
async fn worker_pools_run_queued_jobs_and_release_leases_on_shutdown() {
    let hold = Arc::new(Notify::new());
    let app = app_with(record_effect(Some(hold.clone()))).await;
    let q = queue(&app).clone();
    let job = effect().enqueue(&q, "test").await.unwrap();
    let pool = tollgate::jobs::spawn_workers(&q, 1);
    // Wait (bounded) until the worker is inside the job.
    for _ in 0..500 {
        if q.progress(&job).await.unwrap().unwrap().percent_complete == 40 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert_eq!(
        q.progress(&job).await.unwrap().unwrap().state,
        JobState::Running
    );
    // The job does not finish within the grace period: it is abandoned and
    // its lease handed back, so another process can start it at once.
    pool.shutdown(Duration::from_millis(50)).await;
    let p = q.progress(&job).await.unwrap().unwrap();
    assert_eq!(p.state, JobState::Pending);
    let again = q
        .claim("other-process", now())
        .await
        .unwrap()
        .expect("claimable at once");
    assert_eq!(
        again.attempt, 1,
        "a released lease does not count as an attempt"
    );
}

#[tokio::test]
async fn finished_jobs_are_swept_after_their_retention_but_unfinished_ones_stay() {
    let app = app_with(record_effect(None)).await;
    let q = queue(&app).clone();
    let done = effect().enqueue(&q, "test").await.unwrap();
    let ctx = q.claim("w", now()).await.unwrap().unwrap();
    assert_eq!(q.execute(ctx).await, JobState::Succeeded);
    let waiting = effect().enqueue(&q, "test").await.unwrap();
    assert_eq!(
        q.sweep_finished("2000-01-01 00:00:00").await.unwrap(),
        0,
        "not old enough"
    );
    assert_eq!(q.sweep_finished("2999-01-01 00:00:00").await.unwrap(), 1);
    assert!(q.progress(&done).await.unwrap().is_none());
    assert!(
        q.progress(&waiting).await.unwrap().is_some(),
        "unfinished jobs are never swept"
    );
}

#[derive(Serialize, Deserialize)]
struct Panics {}

impl Job for Panics {
    const KIND: &'static str = "test.panics";
    type Env = ();

    async fn run(self, _: &JobContext, _: &()) -> Result<Outcome> {
        panic!("a bug in a handler")
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_handler_that_panics_fails_its_job_and_the_worker_goes_on() {
    let app = app_with(record_effect(None).register::<Panics>()).await;
    let q = queue(&app).clone();
    let bad = Panics {}.enqueue(&q, "test").await.unwrap();
    let good = effect().enqueue(&q, "test").await.unwrap();
    let pool = tollgate::jobs::spawn_workers(&q, 1);
    // Wait (bounded) until both jobs have ended.
    for _ in 0..500 {
        let done = |id: &str| {
            let q = q.clone();
            let id = id.to_owned();
            async move {
                let s = q.progress(&id).await.unwrap().unwrap().state;
                s == JobState::Failed || s == JobState::Succeeded
            }
        };
        if done(&bad).await && done(&good).await {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    pool.shutdown(Duration::from_millis(50)).await;
    let p = q.progress(&bad).await.unwrap().unwrap();
    assert_eq!(p.state, JobState::Failed);
    assert!(
        !p.error.contains("a bug in a handler"),
        "no internals: {}",
        p.error
    );
    assert_eq!(
        q.progress(&good).await.unwrap().unwrap().state,
        JobState::Succeeded,
        "the one worker went on to the next job"
    );
    app.assert_no_jobs_left().await;
}

/// Like [`AlwaysFails`], for work whose failure is the answer: one attempt.
#[derive(Serialize, Deserialize)]
struct FailsOnce {}

impl Job for FailsOnce {
    const KIND: &'static str = "test.fails_once";
    const ATTEMPTS: i64 = 1;
    type Env = ();

    async fn run(self, _: &JobContext, _: &()) -> Result<Outcome> {
        Err(Error::conflict("the remote instance is down"))
    }
}

#[tokio::test]
async fn a_job_type_with_one_attempt_fails_at_its_first_failure() {
    let app = app_with(JobRegistry::new().register::<FailsOnce>()).await;
    let q = queue(&app).clone();
    let job = FailsOnce {}.enqueue(&q, "test").await.unwrap();
    let ran = app.run_jobs().await;
    assert_eq!(ran.0.len(), 1);
    assert_eq!(ran.0[0].id, job);
    assert_eq!(ran.0[0].state, JobState::Failed, "no retry");
    assert!(ran.0[0].error.contains("down"), "{}", ran.0[0].error);
    app.assert_no_jobs_left().await;
}

#[tokio::test]
async fn a_job_queued_in_a_transaction_exists_only_if_it_commits() {
    let app = app_with(record_effect(None)).await;
    let mut tx = app.db.begin().await.unwrap();
    effect().enqueue_in(&mut tx, "test").await.unwrap();
    tx.rollback().await.unwrap();
    assert_eq!(app.count("tollgate_job").await, 0);

    let mut tx = app.db.begin().await.unwrap();
    let job = effect().enqueue_in(&mut tx, "test").await.unwrap();
    tx.commit().await.unwrap();
    queue(&app).wake();
    app.run_jobs().await.assert_all_succeeded();
    assert_eq!(effects(&app, &job).await, 1);
    app.assert_no_jobs_left().await;
}

/// A row whose payload does not fit its kind's type (written by hand, or by
/// a bug) can never run: it fails at its first attempt with a clear error,
/// is not retried, and the worker goes on to the next job.
#[tokio::test]
async fn a_job_whose_payload_cannot_be_read_fails_at_once_and_the_queue_goes_on() {
    let app = app_with(record_effect(None)).await;
    let q = queue(&app).clone();
    let missing = app
        .queue_raw_job("test.record_effect", r#"{"other": 1}"#)
        .await;
    let wrong_type = app
        .queue_raw_job("test.record_effect", r#"{"value": 7}"#)
        .await;
    let not_json = app.queue_raw_job("test.record_effect", "not json").await;
    let good = effect().enqueue(&q, "test").await.unwrap();

    let ran = app.run_jobs().await;
    assert_eq!(ran.0.len(), 4, "each job ran once");
    for (bad, cause) in [
        (&missing, "missing field `value`"),
        (&wrong_type, "invalid type"),
        (&not_json, "expected"),
    ] {
        let p = q.progress(bad).await.unwrap().unwrap();
        assert_eq!(p.state, JobState::Failed, "{bad}");
        assert_eq!(p.attempts, 1, "not retried: {}", p.error);
        assert!(p.error.contains("test.record_effect"), "{}", p.error);
        assert!(p.error.contains("cannot be read"), "{}", p.error);
        assert!(p.error.contains(cause), "{}", p.error);
        assert_eq!(effects(&app, bad).await, 0);
    }
    assert_eq!(
        q.progress(&good).await.unwrap().unwrap().state,
        JobState::Succeeded
    );
    app.assert_no_jobs_left().await;

    // The progress endpoint says why.
    let res = app.get(&format!("/api/sn_cicd/progress/{missing}")).await;
    assert_eq!(res.body["result"]["status_label"], "Failed", "{}", res.text);
    assert!(
        res.body["result"]["error"]
            .as_str()
            .unwrap()
            .contains("missing field `value`"),
        "{}",
        res.text
    );
}

#[tokio::test]
async fn assert_no_jobs_left_sees_a_job_never_run() {
    let app = app_with(record_effect(None)).await;
    effect().enqueue(queue(&app), "test").await.unwrap();
    let left = tokio::spawn(async move { app.assert_no_jobs_left().await }).await;
    let panic = left.expect_err("a pending job is left behind");
    assert!(panic.is_panic());
}

/// Every kind this build runs, with the payload an earlier server stored for
/// it: the kind names and JSON field names are what queued rows hold, so a
/// job queued before an upgrade still runs after it.
#[test]
fn every_kind_reads_and_writes_the_payload_stored_before_typed_jobs() {
    use tollgate::domain::{cdm, dpr, update_sets};

    fn same<J: Job>(kind: &str, stored: serde_json::Value) {
        assert_eq!(J::KIND, kind);
        let job: J =
            serde_json::from_value(stored.clone()).unwrap_or_else(|e| panic!("{kind}: {e}"));
        assert_eq!(serde_json::to_value(&job).unwrap(), stored, "{kind}");
    }

    same::<dpr::jobs::CreateIncludedVersions>(
        "dpr.create_included_versions",
        json!({"release": "r1", "items": [{"product": "p1", "version": "1.1"}], "actor": "admin"}),
    );
    same::<dpr::policy_run::RunPolicies>(
        "dpr.run_policies",
        json!({"release": "r1", "phase": "ph1", "actor": "admin"}),
    );
    same::<dpr::lifecycle::AdvanceTimeline>("dpr.advance_timeline", json!({}));
    same::<update_sets::jobs::Retrieve>(
        "cicd.update_set.retrieve",
        json!({"update_set_id": "s1", "update_source_id": "src1", "auto_preview": true,
               "cleanup_retrieved": false, "actor": "admin"}),
    );
    same::<update_sets::jobs::Preview>(
        "cicd.update_set.preview",
        json!({"remote_update_set_id": "r1", "actor": "admin"}),
    );
    same::<update_sets::jobs::Commit>(
        "cicd.update_set.commit",
        json!({"remote_update_set_id": "r1", "force_commit": false, "actor": "admin"}),
    );
    same::<update_sets::jobs::CommitMultiple>(
        "cicd.update_set.commit_multiple",
        json!({"remote_update_set_ids": ["r1", "r2"], "force_commit": true, "actor": "admin"}),
    );
    same::<update_sets::jobs::BackOut>(
        "cicd.update_set.back_out",
        json!({"update_set_id": "u1", "rollback_installs": false, "actor": "admin"}),
    );
    same::<cdm::jobs::Commit>(
        "cdm.commit",
        json!({"request_id": "q1", "changeset_id": "c1", "actor": "admin"}),
    );
    same::<cdm::jobs::Upload>("cdm.upload", json!({"request_id": "q1", "actor": "admin"}));
    same::<cdm::jobs::Export>("cdm.export", json!({"request_id": "q1", "actor": "admin"}));

    // ...and those are all the kinds the server runs.
    let mut listed = vec![
        "dpr.create_included_versions",
        "dpr.run_policies",
        "dpr.advance_timeline",
        "cicd.update_set.retrieve",
        "cicd.update_set.preview",
        "cicd.update_set.commit",
        "cicd.update_set.commit_multiple",
        "cicd.update_set.back_out",
        "cdm.commit",
        "cdm.upload",
        "cdm.export",
    ];
    listed.sort_unstable();
    assert_eq!(
        tollgate::app::job_handlers(&test_settings()).kinds(),
        listed
    );
}

/// Defaults an earlier server's reader applied to absent fields still hold.
#[test]
fn absent_payload_fields_keep_their_earlier_defaults() {
    use tollgate::domain::{dpr, update_sets};
    let back_out: update_sets::jobs::BackOut =
        serde_json::from_value(json!({"update_set_id": "u1"})).unwrap();
    assert!(back_out.rollback_installs);
    assert_eq!(back_out.actor, "system");
    let retrieve: update_sets::jobs::Retrieve =
        serde_json::from_value(json!({"update_set_id": "s1", "update_source_id": "x"})).unwrap();
    assert!(!retrieve.auto_preview && !retrieve.cleanup_retrieved);
    let run: dpr::policy_run::RunPolicies =
        serde_json::from_value(json!({"release": "r1", "phase": "p1"})).unwrap();
    assert_eq!(run.actor, "system");
}

#[tokio::test]
async fn a_timeline_pass_queued_by_an_earlier_server_runs() {
    let app = TestApp::spawn().await;
    let id = app.queue_raw_job("dpr.advance_timeline", "{}").await;
    let ran = app.run_jobs().await;
    ran.assert_all_succeeded();
    assert_eq!(ran.0.len(), 1);
    assert_eq!(ran.0[0].id, id);
    app.assert_no_jobs_left().await;
}

/// Sleeps three times the lease of the queues in these tests before it
/// records its effect, and counts its runs.
#[derive(Serialize, Deserialize)]
struct OutlivesItsLease {}

const SHORT_LEASE: Duration = Duration::from_millis(300);

impl Job for OutlivesItsLease {
    const KIND: &'static str = "test.outlives_its_lease";
    type Env = Arc<std::sync::atomic::AtomicUsize>;

    async fn run(self, ctx: &JobContext, runs: &Self::Env) -> Result<Outcome> {
        runs.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        tokio::time::sleep(SHORT_LEASE * 3).await;
        RecordEffect {
            value: "long".into(),
        }
        .run(ctx, &None)
        .await
    }
}

/// One replica per queue: each its own pool of two workers on the same
/// database, as two processes would be.
async fn a_job_outliving_its_lease_finishes_once_on(replicas: usize) {
    let runs = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let registry = || {
        JobRegistry::new()
            .register_with::<OutlivesItsLease>(runs.clone())
            .register_with::<RecordEffect>(None)
    };
    let app = app_with(registry()).await;
    let queues: Vec<JobQueue> = (0..replicas)
        .map(|_| JobQueue::new(app.db.clone(), SHORT_LEASE, registry()))
        .collect();
    let job = OutlivesItsLease {}
        .enqueue(&queues[0], "test")
        .await
        .unwrap();
    let pools: Vec<_> = queues
        .iter()
        .map(|q| tollgate::jobs::spawn_workers(q, 2))
        .collect();
    // Bounded wait for the end: ten times what the job takes.
    for _ in 0..300 {
        if queues[0].progress(&job).await.unwrap().unwrap().state != JobState::Running
            && queues[0].progress(&job).await.unwrap().unwrap().state != JobState::Pending
        {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    for pool in pools {
        pool.shutdown(Duration::from_secs(5)).await;
    }
    let p = queues[0].progress(&job).await.unwrap().unwrap();
    assert_eq!(p.state, JobState::Succeeded, "{}", p.error);
    assert_eq!(p.attempts, 1, "never taken over from its live worker");
    assert_eq!(runs.load(std::sync::atomic::Ordering::SeqCst), 1);
    assert_eq!(effects(&app, &job).await, 1);
    app.assert_no_jobs_left().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_job_running_three_times_its_lease_finishes_once() {
    a_job_outliving_its_lease_finishes_once_on(1).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_job_running_three_times_its_lease_finishes_once_with_two_replicas() {
    a_job_outliving_its_lease_finishes_once_on(2).await;
}

#[tokio::test]
async fn a_run_whose_lease_was_taken_over_stops_and_its_effects_never_land() {
    let app = app_with(record_effect(None)).await;
    let runs = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let q = JobQueue::new(
        app.db.clone(),
        SHORT_LEASE,
        JobRegistry::new().register_with::<OutlivesItsLease>(runs),
    );
    let job = OutlivesItsLease {}.enqueue(&q, "test").await.unwrap();
    let a = q.claim("worker-a", now()).await.unwrap().unwrap();
    // Another worker took the job over (A's process was thought dead).
    app.db
        .execute(
            "UPDATE tollgate_job SET lease_owner = 'worker-b' WHERE id = $1",
            &[Value::from(job.as_str())],
        )
        .await
        .unwrap();
    // A's heartbeat finds the lease gone and stops the run before its effect.
    assert_eq!(q.execute(a).await, JobState::Running);
    assert_eq!(effects(&app, &job).await, 0);
}

#[tokio::test]
async fn the_progress_of_a_job_whose_worker_stopped_says_it_waits_for_the_lease() {
    let app = app_with(record_effect(None)).await;
    let lease = Duration::from_secs(10);
    let q = JobQueue::new(app.db.clone(), lease, record_effect(None));
    // A claim `ago` milliseconds back, its lease never renewed since.
    let claimed_ago = |id: String, ago: i64| {
        let (q, db) = (q.clone(), app.db.clone());
        async move {
            q.claim("worker", now()).await.unwrap().unwrap();
            db.execute(
                "UPDATE tollgate_job SET lease_expires_at = $1 WHERE id = $2",
                &[Value::Int(now() - ago + 10_000), Value::from(id.as_str())],
            )
            .await
            .unwrap();
        }
    };
    let message = |id: String| {
        let q = q.clone();
        async move { q.progress(&id).await.unwrap().unwrap().status_message }
    };

    // A live worker: its claim just set the lease.
    let live = effect().enqueue(&q, "test").await.unwrap();
    let _ctx = q.claim("alive", now()).await.unwrap().unwrap();
    assert_eq!(message(live.clone()).await, "Pending");

    // A worker killed eight seconds ago: no renewal for more than two beats,
    // the lease not yet expired.
    let quiet = effect().enqueue(&q, "test").await.unwrap();
    claimed_ago(quiet.clone(), 8_000).await;
    let m = message(quiet.clone()).await;
    assert!(m.contains("has not renewed its lease since"), "{m}");
    assert!(
        m.contains("another worker takes the job over when the lease expires at"),
        "{m}"
    );

    // Eleven seconds ago: the lease has expired.
    let dead = effect().enqueue(&q, "test").await.unwrap();
    claimed_ago(dead.clone(), 11_000).await;
    let m = message(dead.clone()).await;
    assert!(m.contains("stopped (its lease expired at"), "{m}");
    assert!(m.contains("takes the job over at its next poll"), "{m}");
}

#[tokio::test]
async fn a_job_running_in_this_process_never_reads_as_stalled() {
    // However late its renewal (on SQLite its own transaction holds the
    // heartbeat back), a job this process runs has a live worker.
    let hold = Arc::new(Notify::new());
    let app = app_with(record_effect(Some(hold.clone()))).await;
    let q = JobQueue::new(
        app.db.clone(),
        Duration::from_secs(10),
        record_effect(Some(hold.clone())),
    );
    let busy = effect().enqueue(&q, "test").await.unwrap();
    let ctx = q.claim("here", now()).await.unwrap().unwrap();
    let runner = q.clone();
    let run = tokio::spawn(async move { runner.execute(ctx).await });
    while q.progress(&busy).await.unwrap().unwrap().percent_complete < 40 {
        tokio::task::yield_now().await;
    }
    app.db
        .execute(
            "UPDATE tollgate_job SET lease_expires_at = $1 WHERE id = $2",
            &[Value::Int(now() - 1_000), Value::from(busy.as_str())],
        )
        .await
        .unwrap();
    assert_eq!(
        q.progress(&busy).await.unwrap().unwrap().status_message,
        "working"
    );
    hold.notify_one();
    assert_eq!(run.await.unwrap(), JobState::Succeeded);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn replicas_scheduling_the_timeline_together_queue_one_pass() {
    let app = TestApp::spawn().await;
    let asks: Vec<_> = (0..8)
        .map(|_| {
            let jobs = app.state.jobs.clone();
            tokio::spawn(async move {
                tollgate::domain::dpr::lifecycle::schedule_timeline_pass(&jobs)
                    .await
                    .unwrap()
            })
        })
        .collect();
    let mut queued = Vec::new();
    for ask in asks {
        queued.extend(ask.await.unwrap());
    }
    assert_eq!(queued.len(), 1, "one pass queued: {queued:?}");
    let n = app
        .db
        .fetch_optional(
            "SELECT COUNT(*) AS n FROM tollgate_job WHERE kind = 'dpr.advance_timeline'",
            &[],
        )
        .await
        .unwrap()
        .and_then(|r| r.int("n"));
    assert_eq!(n, Some(1));
    // Once it has run, the next pass can be queued.
    app.run_jobs().await.assert_all_succeeded();
    assert!(
        tollgate::domain::dpr::lifecycle::schedule_timeline_pass(&app.state.jobs)
            .await
            .unwrap()
            .is_some()
    );
}

/// Blocks its thread, as a long run of SQLite statements does (they run
/// inline, see `storage::sqlite`), until told to stop.
#[derive(Serialize, Deserialize)]
struct HoldsItsThread {}

impl Job for HoldsItsThread {
    const KIND: &'static str = "test.holds_its_thread";
    type Env = Arc<std::sync::atomic::AtomicBool>;

    async fn run(self, ctx: &JobContext, release: &Self::Env) -> Result<Outcome> {
        ctx.progress(50, "holding").await?;
        while !release.load(std::sync::atomic::Ordering::SeqCst) {
            std::thread::sleep(Duration::from_millis(5));
        }
        Ok(Outcome {
            tx: ctx.begin().await?,
            message: "released".into(),
            result: None,
        })
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 1)]
async fn a_job_holding_its_thread_leaves_the_async_workers_free() {
    let release = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let app = app_with(JobRegistry::new().register_with::<HoldsItsThread>(release.clone())).await;
    let q = queue(&app).clone();
    let job = HoldsItsThread {}.enqueue(&q, "test").await.unwrap();
    // Were the job on the runtime's one async worker, nothing else would run
    // until it let go: let go after three seconds in any case, so that case
    // fails below instead of hanging.
    let backstop = release.clone();
    std::thread::spawn(move || {
        std::thread::sleep(Duration::from_secs(3));
        backstop.store(true, std::sync::atomic::Ordering::SeqCst);
    });
    let pool = tollgate::jobs::spawn_workers(&q, 1);
    for _ in 0..500 {
        if q.progress(&job).await.unwrap().unwrap().percent_complete == 50 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    // The async worker still runs other tasks (a request's, say) while the
    // job holds its thread: this one finishes while the job is running.
    tokio::spawn(async { tokio::time::sleep(Duration::from_millis(20)).await })
        .await
        .unwrap();
    let state = q.progress(&job).await.unwrap().unwrap().state;
    release.store(true, std::sync::atomic::Ordering::SeqCst);
    assert_eq!(
        state,
        JobState::Running,
        "the async worker waited for the job"
    );
    pool.shutdown(Duration::from_secs(10)).await;
    app.run_jobs().await;
    assert_eq!(
        q.progress(&job).await.unwrap().unwrap().state,
        JobState::Succeeded
    );
}
