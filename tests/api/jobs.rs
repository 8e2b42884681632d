//! The durable job queue: leases, takeover, exactly-once completion,
//! retries, and the progress endpoint.

use std::sync::Arc;
use std::time::Duration;

use axum::http::StatusCode;
use serde_json::json;
use tokio::sync::Notify;
use tollgate::error::{Error, Result};
use tollgate::jobs::{BoxFuture, JobContext, JobHandler, JobQueue, JobState, Outcome};
use tollgate::storage::Value;

use crate::helpers::*;

/// Writes one `sys_properties` row per run (named by job and attempt), so a
/// second completion would show as a second row.
struct RecordEffect {
    /// When set, the first attempt waits here (a long job to kill).
    hold_first_attempt: Option<Arc<Notify>>,
}

impl JobHandler for RecordEffect {
    fn kind(&self) -> &'static str {
        "test.record_effect"
    }

    fn run<'a>(&'a self, ctx: &'a JobContext) -> BoxFuture<'a, Result<Outcome>> {
        Box::pin(async move {
            ctx.progress(40, "working").await?;
            if let (Some(hold), 1) = (&self.hold_first_attempt, ctx.attempt) {
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
                    ("value", Value::from("done")),
                ],
                "job",
            )
            .await?;
            Ok(Outcome {
                tx,
                message: "Effect recorded".into(),
                result: Some(("sys_properties".into(), id)),
            })
        })
    }
}

struct AlwaysFails;

impl JobHandler for AlwaysFails {
    fn kind(&self) -> &'static str {
        "test.always_fails"
    }

    fn run<'a>(&'a self, _ctx: &'a JobContext) -> BoxFuture<'a, Result<Outcome>> {
        Box::pin(async {
            Err(Error::invalid(
                "remote",
                "the remote instance answered garbage",
            ))
        })
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

async fn app_with(handlers: Vec<Arc<dyn JobHandler>>) -> TestApp {
    TestApp::spawn_with(test_settings(), handlers).await
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
    let app = app_with(vec![Arc::new(RecordEffect {
        hold_first_attempt: Some(hold.clone()),
    })])
    .await;
    let q = queue(&app).clone();
    let job = q
        .enqueue("test.record_effect", &json!({}), "test")
        .await
        .unwrap();

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
}

#[tokio::test]
async fn a_job_whose_worker_died_on_its_last_attempt_is_failed_not_run_again() {
    let app = app_with(vec![Arc::new(RecordEffect {
        hold_first_attempt: None,
    })])
    .await;
    let q = queue(&app).clone();
    let job = q
        .enqueue("test.record_effect", &json!({}), "test")
        .await
        .unwrap();

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
}

#[tokio::test]
async fn a_worker_that_lost_its_lease_cannot_complete_the_job_a_second_time() {
    let app = app_with(vec![Arc::new(RecordEffect {
        hold_first_attempt: None,
    })])
    .await;
    let q = queue(&app).clone();
    let job = q
        .enqueue("test.record_effect", &json!({}), "test")
        .await
        .unwrap();
    let zombie = q.claim("worker-a", now()).await.unwrap().unwrap();
    let taker = q.claim("worker-b", now() + 31_000).await.unwrap().unwrap();
    assert_eq!(q.execute(taker).await, JobState::Succeeded);
    // A comes back from the dead and runs its copy to the end.
    assert_ne!(q.execute(zombie).await, JobState::Succeeded);
    assert_eq!(effects(&app, &job).await, 1, "exactly one completion");
}

#[tokio::test]
async fn two_workers_racing_for_jobs_never_run_one_twice() {
    let app = app_with(vec![Arc::new(RecordEffect {
        hold_first_attempt: None,
    })])
    .await;
    let q = queue(&app).clone();
    let mut jobs = Vec::new();
    for _ in 0..6 {
        jobs.push(
            q.enqueue("test.record_effect", &json!({}), "test")
                .await
                .unwrap(),
        );
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
}

#[tokio::test]
async fn a_failing_job_is_retried_with_backoff_and_then_fails() {
    let app = app_with(vec![Arc::new(AlwaysFails)]).await;
    let q = queue(&app).clone();
    let job = q
        .enqueue("test.always_fails", &json!({}), "test")
        .await
        .unwrap();
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
}

#[tokio::test]
async fn the_progress_endpoint_follows_a_job_from_pending_to_successful() {
    let app = app_with(vec![Arc::new(RecordEffect {
        hold_first_attempt: None,
    })])
    .await;
    let q = queue(&app).clone();
    let job = q
        .enqueue("test.record_effect", &json!({}), "test")
        .await
        .unwrap();
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
    let app = app_with(vec![Arc::new(RecordEffect {
        hold_first_attempt: Some(hold.clone()),
    })])
    .await;
    let q = queue(&app).clone();
    let job = q
        .enqueue("test.record_effect", &json!({}), "test")
        .await
        .unwrap();
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
    let app = app_with(vec![Arc::new(RecordEffect {
        hold_first_attempt: None,
    })])
    .await;
    let q = queue(&app).clone();
    let done = q
        .enqueue("test.record_effect", &json!({}), "test")
        .await
        .unwrap();
    let ctx = q.claim("w", now()).await.unwrap().unwrap();
    assert_eq!(q.execute(ctx).await, JobState::Succeeded);
    let waiting = q
        .enqueue("test.record_effect", &json!({}), "test")
        .await
        .unwrap();
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

struct Panics;

impl JobHandler for Panics {
    fn kind(&self) -> &'static str {
        "test.panics"
    }

    fn run<'a>(&'a self, _ctx: &'a JobContext) -> BoxFuture<'a, Result<Outcome>> {
        Box::pin(async { panic!("a bug in a handler") })
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_handler_that_panics_fails_its_job_and_the_worker_goes_on() {
    let app = app_with(vec![
        Arc::new(Panics),
        Arc::new(RecordEffect {
            hold_first_attempt: None,
        }),
    ])
    .await;
    let q = queue(&app).clone();
    let bad = q.enqueue("test.panics", &json!({}), "test").await.unwrap();
    let good = q
        .enqueue("test.record_effect", &json!({}), "test")
        .await
        .unwrap();
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
}
