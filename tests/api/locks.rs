//! Commands that read, check a rule and then write, raced by two callers at
//! once (issue 11). On PostgreSQL (READ COMMITTED) each such command takes a
//! row lock (`Tx::lock`) on the row its rule protects, so one caller wins and
//! the other gets the answer the API gives when the state has already moved
//! on; without the lock both would pass the check. SQLite runs writers one
//! at a time anyway, so there these tests only check the answers.
//!
//! Both callers are spawned and released together by a barrier. Each race
//! runs several rounds, the second caller released a little later each round
//! (a sleep on the blocking pool), so that the callers' statements interleave
//! differently; nothing asserts how long anything takes.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use axum::http::StatusCode;
use serde_json::{json, Value};
use tokio::sync::Barrier;
use tollgate::demo;
use tollgate::demo::update_sets::{
    COMMITTED_SET, COMMIT_SET, FIRST_OF_MULTIPLE, SECOND_OF_MULTIPLE,
};
use tollgate::storage::Value as Sql;

use crate::helpers::*;

/// Rounds of one race; round `n` releases the second caller `n` steps later.
const ROUNDS: u64 = 8;
const STEP_MICROS: u64 = 300;

/// Runs `a` and `b` at once: both spawned, released together by a barrier,
/// `b` a further `round` steps later. Answers both outcomes.
async fn race<A, B>(round: u64, a: A, b: B) -> (A::Output, B::Output)
where
    A: Future + Send + 'static,
    A::Output: Send + 'static,
    B: Future + Send + 'static,
    B::Output: Send + 'static,
{
    let barrier = Arc::new(Barrier::new(2));
    let (start_a, start_b) = (barrier.clone(), barrier);
    let a = tokio::spawn(async move {
        start_a.wait().await;
        a.await
    });
    let b = tokio::spawn(async move {
        start_b.wait().await;
        if round > 0 {
            // A thread sleep (microseconds; tokio's timer counts whole
            // milliseconds), off the runtime's workers.
            let pause = Duration::from_micros(round * STEP_MICROS);
            tokio::task::spawn_blocking(move || std::thread::sleep(pause))
                .await
                .expect("pause");
        }
        b.await
    });
    (
        a.await.expect("first caller"),
        b.await.expect("second caller"),
    )
}

/// A request as an owned future (for [`race`]).
fn send(
    app: &Arc<TestApp>,
    method: &'static str,
    path: String,
    auth: Auth,
    body: Option<Value>,
) -> impl Future<Output = TestResponse> + Send + 'static {
    let app = app.clone();
    async move { app.request(method, &path, &auth, body).await }
}

/// A v3 request (`input_data` as a form) as an owned future.
fn send_v3(
    app: &Arc<TestApp>,
    method: &'static str,
    path: String,
    auth: Auth,
    input: Value,
) -> impl Future<Output = TestResponse> + Send + 'static {
    let app = app.clone();
    async move {
        let body = v3_form(&input);
        app.raw(
            method,
            &path,
            &auth,
            Some(&body),
            "application/x-www-form-urlencoded",
        )
        .await
    }
}

fn v3_form(input: &Value) -> String {
    form_urlencoded::Serializer::new(String::new())
        .append_pair("input_data", &input.to_string())
        .finish()
}

/// Of two answers, exactly one has status `won`: answers the other.
#[track_caller]
fn loser<'a>(a: &'a TestResponse, b: &'a TestResponse, won: StatusCode) -> &'a TestResponse {
    let winners = [a, b].iter().filter(|r| r.status == won).count();
    assert_eq!(
        winners, 1,
        "exactly one caller wins:\n{} {}\n{} {}",
        a.status, a.text, b.status, b.text
    );
    if a.status == won {
        b
    } else {
        a
    }
}

async fn count(app: &TestApp, sql: &str, args: &[Sql]) -> i64 {
    app.db
        .fetch_optional(sql, args)
        .await
        .unwrap()
        .and_then(|r| r.int("n"))
        .unwrap_or(0)
}

// ---------------------------------------------------------------------------
// Digital Product Release: phases
// ---------------------------------------------------------------------------

const DPR: &str = "/api/sn_dpr/digital_product_release";

/// A stage-oriented template with two phases, Discover and Deliver.
async fn stage_template(app: &TestApp) -> String {
    let t = app
        .post(
            "/api/now/table/sn_dpr_model_release_template",
            json!({"name": "Stages", "orientation": "stage"}),
        )
        .await;
    let template = t.body["result"]["sys_id"].as_str().unwrap().to_owned();
    for (order, name) in [(100, "Discover"), (200, "Deliver")] {
        let res = app
            .post(
                "/api/now/table/sn_dpr_model_template_phase",
                json!({"template": template, "name": name, "order": order, "duration_days": 5}),
            )
            .await;
        assert_eq!(res.status, StatusCode::CREATED, "{}", res.text);
    }
    template
}

/// A stage release (its first phase In Progress).
async fn stage_release(app: &TestApp, template: &str) -> String {
    let res = app
        .post(&format!("{DPR}/release"), json!({"name": "Raced", "productId": demo::PRODUCT_PAYMENTS, "releaseOwner": demo::ADMIN_ID, "templateId": template}))
        .await;
    assert_eq!(res.status, StatusCode::CREATED, "{}", res.text);
    res.body["result"]["releaseId"].as_str().unwrap().to_owned()
}

async fn release(app: &TestApp, id: &str) -> Value {
    app.get(&format!("/api/now/table/sn_dpr_model_release/{id}"))
        .await
        .body["result"]
        .clone()
}

async fn phases(app: &TestApp, id: &str) -> Vec<Value> {
    app.get(&format!(
        "/api/now/table/sn_dpr_model_release_phase?sysparm_query=release={id}^ORDERBYorder"
    ))
    .await
    .body["result"]
        .as_array()
        .unwrap()
        .clone()
}

fn states(phases: &[Value]) -> Vec<&str> {
    phases
        .iter()
        .map(|p| p["state"].as_str().unwrap())
        .collect()
}

/// A refusal in the DPR envelope: 400, the message naming `says`.
#[track_caller]
fn dpr_refused(res: &TestResponse, says: &str) {
    assert_eq!(res.status, StatusCode::BAD_REQUEST, "{}", res.text);
    let message = res.body["result"]["message"].as_str().unwrap_or_default();
    assert!(message.contains(says), "{says:?} in {}", res.text);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_completions_of_one_phase_complete_it_once() {
    let app = Arc::new(TestApp::spawn_demo().await);
    let template = stage_template(&app).await;
    for round in 0..ROUNDS {
        let id = stage_release(&app, &template).await;
        let path = format!("{DPR}/release_id/{id}/complete_phase");
        let (a, b) = race(
            round,
            send(&app, "POST", path.clone(), Auth::admin(), Some(json!({}))),
            send(&app, "POST", path, Auth::admin(), Some(json!({}))),
        )
        .await;
        // A stage release waits for its next phase to be started by hand:
        // the second completion finds no phase In Progress.
        dpr_refused(
            loser(&a, &b, StatusCode::CREATED),
            "The release has no current phase",
        );
        assert_eq!(states(&phases(&app, &id).await), ["completed", "pending"]);
        assert_eq!(release(&app, &id).await["current_phase"], "");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_starts_of_one_phase_start_it_once() {
    let app = Arc::new(TestApp::spawn_demo().await);
    let template = stage_template(&app).await;
    for round in 0..ROUNDS {
        let id = stage_release(&app, &template).await;
        let res = app
            .post(&format!("{DPR}/release_id/{id}/complete_phase"), json!({}))
            .await;
        assert_eq!(res.status, StatusCode::CREATED, "{}", res.text);
        let deliver = phases(&app, &id).await[1]["sys_id"]
            .as_str()
            .unwrap()
            .to_owned();
        let path = format!("{DPR}/release/{id}/phase/{deliver}/start");
        let (a, b) = race(
            round,
            send(&app, "POST", path.clone(), Auth::admin(), Some(json!({}))),
            send(&app, "POST", path, Auth::admin(), Some(json!({}))),
        )
        .await;
        dpr_refused(
            loser(&a, &b, StatusCode::CREATED),
            "Another phase of the release is In Progress",
        );
        assert_eq!(
            states(&phases(&app, &id).await),
            ["completed", "in_progress"]
        );
        assert_eq!(release(&app, &id).await["current_phase"]["value"], deliver);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_restarts_of_one_release_restart_it_once() {
    let app = Arc::new(TestApp::spawn_demo().await);
    let template = stage_template(&app).await;
    for round in 0..ROUNDS {
        let id = stage_release(&app, &template).await;
        let discover = phases(&app, &id).await[0]["sys_id"]
            .as_str()
            .unwrap()
            .to_owned();
        let path = format!("{DPR}/release/{id}/restart");
        let body = json!({"phaseSysId": discover});
        let (a, b) = race(
            round,
            send(
                &app,
                "POST",
                path.clone(),
                Auth::admin(),
                Some(body.clone()),
            ),
            send(&app, "POST", path, Auth::admin(), Some(body)),
        )
        .await;
        dpr_refused(
            loser(&a, &b, StatusCode::CREATED),
            "Only an In Progress, Pending or Review release can be restarted",
        );
        assert_eq!(release(&app, &id).await["state"], "restarting");
        assert_eq!(states(&phases(&app, &id).await), ["pending", "pending"]);
    }
}

/// A retarget racing the completion of the release's last phase: either
/// the retarget comes first (it re-plans the phase, then the phase
/// completes) or the release is in Review and the retarget is refused.
/// Never the release retargeted and its last phase left on the old plan.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_retarget_racing_the_last_completion_replans_the_phase_or_is_refused() {
    let app = Arc::new(TestApp::spawn_demo().await);
    let template = stage_template(&app).await;
    let end = "2031-12-31 23:59:59";
    for round in 0..ROUNDS * 2 {
        let id = stage_release(&app, &template).await;
        let res = app
            .post(&format!("{DPR}/release_id/{id}/complete_phase"), json!({}))
            .await;
        assert_eq!(res.status, StatusCode::CREATED, "{}", res.text);
        let deliver = phases(&app, &id).await[1].clone();
        let start = format!(
            "{DPR}/release/{id}/phase/{}/start",
            deliver["sys_id"].as_str().unwrap()
        );
        assert_eq!(
            app.post(&start, json!({})).await.status,
            StatusCode::CREATED
        );
        let before = release(&app, &id).await;
        let targets = app.count("sn_dpr_model_release_target").await;
        let retarget = json!({"outOfBand": true, "releaseCalendar": demo::OUT_OF_BAND_CALENDAR_ID, "releaseDate": "2031-12-31"});
        // The retarget starts later each round, sweeping its reads across
        // the completion's commit.
        let (completed, retargeted) = race(
            round,
            send(
                &app,
                "POST",
                format!("{DPR}/release_id/{id}/complete_phase"),
                Auth::admin(),
                Some(json!({})),
            ),
            send(
                &app,
                "PUT",
                format!("{DPR}/release/{id}/retarget"),
                Auth::admin(),
                Some(retarget),
            ),
        )
        .await;
        assert_eq!(completed.status, StatusCode::CREATED, "{}", completed.text);
        let after = release(&app, &id).await;
        let last = phases(&app, &id).await[1].clone();
        assert_eq!(last["state"], "completed");
        assert_eq!(after["state"], "review");
        if retargeted.status == StatusCode::OK {
            assert_eq!(after["planned_end"], end);
            assert_eq!(
                last["planned_end"], end,
                "a retargeted release's last phase ends on the new target (round {round})"
            );
        } else {
            dpr_refused(&retargeted, "In Progress or Pending");
            assert_eq!(after["planned_end"], before["planned_end"]);
            assert_eq!(last["planned_end"], deliver["planned_end"]);
            assert_eq!(app.count("sn_dpr_model_release_target").await, targets);
        }
    }
}

/// Two timeline passes at once (two replicas) over a Restarting release:
/// its phase starts once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_timeline_passes_at_once_start_a_restarted_phase_once() {
    let app = Arc::new(TestApp::spawn_demo().await);
    for round in 0..ROUNDS {
        let res = app
            .post(
                &format!("{DPR}/release"),
                json!({"name": "Timed", "productId": demo::PRODUCT_PAYMENTS, "releaseOwner": demo::ADMIN_ID, "templateId": demo::TEMPLATE_TIMELINE}),
            )
            .await;
        assert_eq!(res.status, StatusCode::CREATED, "{}", res.text);
        let id = res.body["result"]["releaseId"].as_str().unwrap().to_owned();
        let first = phases(&app, &id).await[0]["sys_id"]
            .as_str()
            .unwrap()
            .to_owned();
        let res = app
            .post(
                &format!("{DPR}/release/{id}/restart"),
                json!({"phaseSysId": first}),
            )
            .await;
        assert_eq!(res.status, StatusCode::CREATED, "{}", res.text);
        let pass = |app: &Arc<TestApp>| {
            let app = app.clone();
            async move {
                let mut tx = app.db.begin().await.unwrap();
                // Restarting releases are due whatever the date.
                let done = tollgate::domain::dpr::lifecycle::advance_timeline(
                    &mut tx,
                    "2000-01-01 00:00:00",
                    "test",
                )
                .await
                .unwrap();
                tx.commit().await.unwrap();
                done.started
            }
        };
        let (a, b) = race(round, pass(&app), pass(&app)).await;
        assert_eq!(a + b, 1, "round {round}: started {a} + {b}");
        assert_eq!(release(&app, &id).await["state"], "in_progress");
    }
}

// ---------------------------------------------------------------------------
// ServiceDesk-style releases: approvals and stages
// ---------------------------------------------------------------------------

/// A v3 user with a key (`authtoken`), as the v3 clients send it.
async fn v3_user(app: &TestApp, name: &str) -> Auth {
    app.user(name, &["sdp.technician"]).await;
    let key = tollgate::identity::users::create_api_key(&app.db, name, "sdp")
        .await
        .unwrap();
    Auth::Header("authorization", format!("authtoken: {key}"))
}

/// A new v3 release by `auth`, at the Submission stage; answers its id.
async fn v3_release(app: &Arc<TestApp>, auth: &Auth) -> String {
    let res = send_v3(
        app,
        "POST",
        "/api/v3/releases".into(),
        auth.clone(),
        json!({"release": {"title": "Raced", "template": {"id": "1"},
                           "stage": {"name": "submission"}, "status": {"name": "Requested"}}}),
    )
    .await;
    assert_eq!(res.status, StatusCode::CREATED, "{}", res.text);
    res.body["release"]["id"].as_str().unwrap().to_owned()
}

/// A v3 failure: the HTTP status, and the first message's code and field.
#[track_caller]
fn v3_refused(res: &TestResponse, http: StatusCode, code: u64, field: &str) {
    assert_eq!(res.status, http, "{}", res.text);
    assert_eq!(
        res.body["response_status"]["status"], "failed",
        "{}",
        res.text
    );
    let m = &res.body["response_status"]["messages"][0];
    assert_eq!(m["status_code"], code, "{}", res.text);
    assert_eq!(m["field"], field, "{}", res.text);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_approvers_deciding_one_level_at_once_record_one_decision() {
    let app = Arc::new(TestApp::spawn_demo().await);
    let tech = v3_user(&app, "tech").await;
    let tess = v3_user(&app, "tess").await;
    // tess's v3 user, as a first request would make it.
    let tess_id = app
        .db
        .fetch_optional("SELECT sys_id FROM sys_user WHERE user_name = 'tess'", &[])
        .await
        .unwrap()
        .unwrap()
        .string("sys_id");
    app.db
        .execute(
            "INSERT INTO sdp_user (id, name, is_vipuser, sys_user) VALUES (9001, 'tess', $1, $2)",
            &[Sql::Bool(false), Sql::from(tess_id.as_str())],
        )
        .await
        .unwrap();
    for round in 0..ROUNDS {
        let id = v3_release(&app, &tech).await;
        let base = format!("/api/v3/releases/{id}/approval_levels");
        // One approval of the two is enough (50 %).
        let res = send_v3(
            &app,
            "POST",
            base.clone(),
            tech.clone(),
            json!({"approval_level": {"stage": {"name": "submission"}, "rule": {"type": "percent", "value": "50"},
                                      "approvers": [{"name": "tech"}, {"name": "tess"}]}}),
        )
        .await;
        assert_eq!(res.status, StatusCode::CREATED, "{}", res.text);
        let level = res.body["approval_level"]["id"]
            .as_str()
            .unwrap()
            .to_owned();
        let path = format!("{base}/{level}/approve");
        let (a, b) = race(
            round,
            send_v3(&app, "PUT", path.clone(), tech.clone(), json!({})),
            send_v3(&app, "PUT", path, tess.clone(), json!({})),
        )
        .await;
        v3_refused(
            loser(&a, &b, StatusCode::OK),
            StatusCode::BAD_REQUEST,
            4001,
            "approval_level_id",
        );
        let level_id = Sql::Int(level.parse().unwrap());
        assert_eq!(
            count(
                &app,
                "SELECT COUNT(*) AS n FROM sdp_approver WHERE level_id = $1 AND decision = 'approved'",
                std::slice::from_ref(&level_id),
            )
            .await,
            1,
            "one approval recorded"
        );
        assert_eq!(
            count(
                &app,
                "SELECT COUNT(*) AS n FROM sdp_approval_level WHERE id = $1 AND status = 'Approved'",
                &[level_id],
            )
            .await,
            1
        );
        assert_eq!(
            count(
                &app,
                "SELECT COUNT(*) AS n FROM sdp_release_history WHERE release_id = $1 AND operation = 'approve'",
                &[Sql::Int(id.parse().unwrap())],
            )
            .await,
            1,
            "one approval in the history"
        );
    }
}

/// Two stage moves from Submission at once, one to Testing and one back
/// behind it to Planning: whichever order they take, the release never
/// ends behind Testing (an administrator made releases move forward only),
/// and every move that was answered OK left one status comment.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_stage_moves_at_once_never_move_a_release_back() {
    let app = Arc::new(TestApp::spawn_demo().await);
    let forward_only = json!({"name": "sdp.release.forbid_stage_back", "value": "true"});
    let res = app
        .request(
            "POST",
            "/api/now/table/sys_properties",
            &Auth::admin(),
            Some(forward_only),
        )
        .await;
    assert_eq!(res.status, StatusCode::CREATED, "{}", res.text);
    let tech = v3_user(&app, "tech").await;
    for round in 0..ROUNDS {
        let id = v3_release(&app, &tech).await;
        let path = format!("/api/v3/releases/{id}");
        let (testing, planning) = race(
            round,
            send_v3(
                &app,
                "PUT",
                path.clone(),
                tech.clone(),
                json!({"release": {"stage": {"name": "testing"}}}),
            ),
            send_v3(
                &app,
                "PUT",
                path.clone(),
                tech.clone(),
                json!({"release": {"stage": {"name": "planning"}}}),
            ),
        )
        .await;
        assert_eq!(testing.status, StatusCode::OK, "{}", testing.text);
        if planning.status != StatusCode::OK {
            v3_refused(&planning, StatusCode::BAD_REQUEST, 4001, "stage");
        }
        let got = app.request("GET", &path, &tech, None).await;
        assert_eq!(
            got.body["release"]["stage"]["name"], "Testing",
            "round {round}: {}",
            got.text
        );
        let moves = 1 + i64::from(planning.status == StatusCode::OK);
        assert_eq!(
            count(
                &app,
                "SELECT COUNT(*) AS n FROM sdp_status_comment WHERE release_id = $1",
                &[Sql::Int(id.parse().unwrap())],
            )
            .await,
            1 + moves,
            "the creation's comment and one per move"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_closes_of_one_release_close_it_once() {
    let app = Arc::new(TestApp::spawn_demo().await);
    let tech = v3_user(&app, "tech").await;
    for round in 0..ROUNDS {
        let id = v3_release(&app, &tech).await;
        let path = format!("/api/v3/releases/{id}/close");
        let body = json!({"status": "completed", "comment": "done"});
        let (a, b) = race(
            round,
            send_v3(&app, "PUT", path.clone(), tech.clone(), body.clone()),
            send_v3(&app, "PUT", path, tech.clone(), body),
        )
        .await;
        let refused = loser(&a, &b, StatusCode::OK);
        assert_eq!(refused.status, StatusCode::BAD_REQUEST, "{}", refused.text);
        assert_eq!(
            refused.body["response_status"]["messages"][0]["field"], "release_id",
            "{}",
            refused.text
        );
        assert_eq!(
            count(
                &app,
                "SELECT COUNT(*) AS n FROM sdp_release_history WHERE release_id = $1 AND operation = 'close'",
                &[Sql::Int(id.parse().unwrap())],
            )
            .await,
            1,
            "closed once"
        );
    }
}

/// A caller's v3 user is made on its first request: two first requests at
/// once (notes added to a release, whose first step is finding the caller's
/// v3 user) make one.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_first_requests_of_a_caller_make_one_v3_user() {
    let app = Arc::new(TestApp::spawn_demo().await);
    let tech = v3_user(&app, "tech").await;
    let id = v3_release(&app, &tech).await;
    let path = format!("/api/v3/releases/{id}/notes");
    for round in 0..ROUNDS {
        let name = format!("newcomer{round}");
        let auth = v3_user(&app, &name).await;
        let note = json!({"note": {"description": "First"}});
        let (a, b) = race(
            round,
            send_v3(&app, "POST", path.clone(), auth.clone(), note.clone()),
            send_v3(&app, "POST", path.clone(), auth, note),
        )
        .await;
        assert_eq!(a.status, StatusCode::CREATED, "{}", a.text);
        assert_eq!(b.status, StatusCode::CREATED, "{}", b.text);
        assert_eq!(
            count(
                &app,
                "SELECT COUNT(*) AS n FROM sdp_user u JOIN sys_user s ON s.sys_id = u.sys_user \
                 WHERE s.user_name = $1",
                &[Sql::from(name.as_str())],
            )
            .await,
            1,
            "one v3 user for {name}"
        );
    }
}

// ---------------------------------------------------------------------------
// Configuration Data Management
// ---------------------------------------------------------------------------

/// A refusal in the CDM envelope: 400, `Error: ...` naming `says`.
#[track_caller]
fn cdm_refused(res: &TestResponse, says: &str) {
    assert_eq!(res.status, StatusCode::BAD_REQUEST, "{}", res.text);
    assert_eq!(res.body["status"], "failure", "{}", res.text);
    let message = res.body["error"]["message"].as_str().unwrap_or_default();
    assert!(message.contains(says), "{says:?} in {message:?}");
}

fn qs(pairs: &[(&str, &str)]) -> String {
    form_urlencoded::Serializer::new(String::new())
        .extend_pairs(pairs)
        .finish()
}

async fn cdm_app(app: &TestApp, name: &str) -> String {
    let res = app
        .post("/api/now/table/sn_cdm_application", json!({ "name": name }))
        .await;
    assert_eq!(res.status, StatusCode::CREATED, "{}", res.text);
    res.body["result"]["sys_id"].as_str().unwrap().to_owned()
}

/// An open changeset of `app_name`; answers its number.
async fn cdm_changeset(app: &TestApp, app_name: &str) -> String {
    let res = app
        .request(
            "POST",
            &format!(
                "/api/sn_cdm/changesets/create?{}",
                qs(&[("appName", app_name)])
            ),
            &Auth::admin(),
            None,
        )
        .await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.text);
    res.body["result"]["number"].as_str().unwrap().to_owned()
}

async fn cdm_ok(app: &TestApp, method: &str, path: &str) -> Value {
    let res = app.request(method, path, &Auth::admin(), None).await;
    assert_eq!(res.status, StatusCode::OK, "{path}: {}", res.text);
    res.body["result"].clone()
}

/// Runs every due job, one after the other.
async fn run_jobs(app: &TestApp) {
    while let Some(job) = app
        .state
        .jobs
        .claim("t", chrono::Utc::now().timestamp_millis())
        .await
        .unwrap()
    {
        app.state.jobs.execute(job).await;
    }
}

/// Claims the two due jobs and runs them at once.
async fn run_two_jobs_at_once(app: &Arc<TestApp>, round: u64) {
    let now = chrono::Utc::now().timestamp_millis();
    let first = app
        .state
        .jobs
        .claim("a", now)
        .await
        .unwrap()
        .expect("a job");
    let second = app
        .state
        .jobs
        .claim("b", now)
        .await
        .unwrap()
        .expect("a job");
    let (a, b) = (app.clone(), app.clone());
    race(
        round,
        async move { a.state.jobs.execute(first).await },
        async move { b.state.jobs.execute(second).await },
    )
    .await;
}

/// Two changesets change one node, and their commits run at once: one
/// commits, the other detects the conflict and is blocked; the node has
/// one current version.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_commits_changing_one_node_commit_one_and_block_the_other() {
    let app = Arc::new(TestApp::spawn().await);
    let app_id = cdm_app(&app, "raced").await;
    let base = cdm_changeset(&app, "raced").await;
    for (path, ty, value) in [
        ("/raced/components/svc", "component", None),
        ("/raced/components/svc/port", "cdi", Some("1")),
    ] {
        let mut params = vec![
            ("changesetNumber", base.as_str()),
            ("fullNamePath", path),
            ("type", ty),
        ];
        if let Some(v) = value {
            params.push(("value", v));
        }
        cdm_ok(
            &app,
            "POST",
            &format!("/api/sn_cdm/editor/nodes?{}", qs(&params)),
        )
        .await;
    }
    let commit = |number: &str| {
        format!(
            "/api/sn_cdm/changesets/commit?{}",
            qs(&[("changesetNumber", number)])
        )
    };
    cdm_ok(&app, "PUT", &commit(&base)).await;
    run_jobs(&app).await;
    for round in 0..ROUNDS {
        let mut numbers = Vec::new();
        for value in ["2", "3"] {
            let number = cdm_changeset(&app, "raced").await;
            let params = [
                ("changesetNumber", number.as_str()),
                ("fullNamePath", "/raced/components/svc/port"),
                ("newValue", value),
            ];
            cdm_ok(
                &app,
                "PUT",
                &format!("/api/sn_cdm/editor/nodes?{}", qs(&params)),
            )
            .await;
            cdm_ok(&app, "PUT", &commit(&number)).await;
            numbers.push(number);
        }
        run_two_jobs_at_once(&app, round).await;
        let mut states = Vec::new();
        for number in &numbers {
            let row = app
                .db
                .fetch_optional(
                    "SELECT state FROM sn_cdm_changeset WHERE number = $1",
                    &[Sql::from(number.as_str())],
                )
                .await
                .unwrap()
                .unwrap();
            states.push(row.string("state"));
        }
        states.sort();
        assert_eq!(states, ["blocked", "committed"], "round {round}");
        assert_eq!(
            count(
                &app,
                "SELECT COUNT(*) AS n FROM sn_cdm_node WHERE application = $1 AND name = 'port' \
                 AND effective_from IS NOT NULL AND effective_to IS NULL",
                &[Sql::from(app_id.as_str())],
            )
            .await,
            1,
            "one current version of the node"
        );
        // The blocked one goes, so the next round stays under the limit.
        for number in &numbers {
            app.request(
                "DELETE",
                &format!(
                    "/api/sn_cdm/changesets?{}",
                    qs(&[("changesetNumber", number)])
                ),
                &Auth::admin(),
                None,
            )
            .await;
        }
    }
}

/// An application at one below its limit of open changesets, and two
/// creates at once: one is made, the other refused.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_creates_at_the_open_changeset_limit_make_one() {
    let app = Arc::new(TestApp::spawn().await);
    cdm_app(&app, "raced").await;
    let mut open = Vec::new();
    for _ in 0..9 {
        open.push(cdm_changeset(&app, "raced").await);
    }
    let path = format!(
        "/api/sn_cdm/changesets/create?{}",
        qs(&[("appName", "raced")])
    );
    for round in 0..ROUNDS {
        let (a, b) = race(
            round,
            send(&app, "POST", path.clone(), Auth::admin(), None),
            send(&app, "POST", path.clone(), Auth::admin(), None),
        )
        .await;
        let winner = if a.status == StatusCode::OK { &a } else { &b };
        cdm_refused(
            loser(&a, &b, StatusCode::OK),
            "already has 10 open changesets",
        );
        let number = winner.body["result"]["number"].as_str().unwrap().to_owned();
        let n = count(
            &app,
            "SELECT COUNT(*) AS n FROM sn_cdm_changeset WHERE state = 'open'",
            &[],
        )
        .await;
        assert_eq!(n, 10);
        app.request(
            "DELETE",
            &format!(
                "/api/sn_cdm/changesets?{}",
                qs(&[("changesetNumber", number.as_str())])
            ),
            &Auth::admin(),
            None,
        )
        .await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_creates_of_one_deployable_make_one() {
    let app = Arc::new(TestApp::spawn().await);
    cdm_app(&app, "raced").await;
    for round in 0..ROUNDS {
        let name = format!("Dep_{round}");
        let path = format!(
            "/api/sn_cdm/applications/deployables?{}",
            qs(&[
                ("appName", "raced"),
                ("name", &name),
                ("envType", "Development")
            ])
        );
        let (a, b) = race(
            round,
            send(&app, "POST", path.clone(), Auth::admin(), None),
            send(&app, "POST", path, Auth::admin(), None),
        )
        .await;
        cdm_refused(loser(&a, &b, StatusCode::OK), "already exists");
        assert_eq!(
            count(
                &app,
                "SELECT COUNT(*) AS n FROM sn_cdm_deployable WHERE name = $1",
                &[Sql::from(name.as_str())],
            )
            .await,
            1
        );
    }
}

// ---------------------------------------------------------------------------
// Update sets (their commits and back-outs run as jobs)
// ---------------------------------------------------------------------------

/// Queues a CI/CD operation; answers its progress id.
async fn queue_cicd(app: &TestApp, path: &str, body: Option<&str>) -> String {
    let res = app
        .raw("POST", path, &Auth::admin(), body, "application/json")
        .await;
    assert_eq!(res.status, StatusCode::OK, "{path}: {}", res.text);
    res.body["result"]["links"]["progress"]["id"]
        .as_str()
        .unwrap()
        .to_owned()
}

async fn progress(app: &TestApp, id: &str) -> Value {
    let res = app.get(&format!("/api/sn_cicd/progress/{id}")).await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.text);
    res.body["result"].clone()
}

/// Of two progresses, exactly one ended Successful and the other Failed
/// with an error naming `says`.
#[track_caller]
fn one_succeeded(a: &Value, b: &Value, says: &str) {
    let ok = [a, b]
        .iter()
        .filter(|p| p["status_label"] == "Successful")
        .count();
    assert_eq!(ok, 1, "exactly one succeeds:\n{a}\n{b}");
    let failed = if a["status_label"] == "Successful" {
        b
    } else {
        a
    };
    assert_eq!(failed["status_label"], "Failed", "{failed}");
    let error = failed["error"].as_str().unwrap_or_default();
    assert!(error.contains(says), "{says:?} in {failed}");
}

async fn count_where(app: &TestApp, table: &'static str, column: &'static str, value: &str) -> i64 {
    count(
        app,
        &format!("SELECT COUNT(*) AS n FROM {table} WHERE {column} = $1"),
        &[Sql::from(value)],
    )
    .await
}

/// The versions a back-out of `set` wrote.
async fn backed_out_versions(app: &TestApp, set: &str) -> i64 {
    count(
        app,
        "SELECT COUNT(*) AS n FROM sys_update_version WHERE source = $1 \
         AND source_table = 'sys_update_set_backout'",
        &[Sql::from(set)],
    )
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_commits_of_one_retrieved_set_commit_it_once() {
    let app = Arc::new(TestApp::spawn_demo().await);
    let path = format!("/api/sn_cicd/update_set/commit/{COMMIT_SET}");
    let first = queue_cicd(&app, &path, None).await;
    let second = queue_cicd(&app, &path, None).await;
    run_two_jobs_at_once(&app, 0).await;
    one_succeeded(
        &progress(&app, &first).await,
        &progress(&app, &second).await,
        "already committed",
    );
    assert_eq!(
        count_where(&app, "sys_update_set", "remote_sys_id", COMMIT_SET).await,
        1,
        "one local copy"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_back_outs_of_one_update_set_back_it_out_once() {
    let app = Arc::new(TestApp::spawn_demo().await);
    let path = format!(
        "/api/sn_cicd/update_set/back_out?update_set_id={COMMITTED_SET}&rollback_installs=false"
    );
    let first = queue_cicd(&app, &path, None).await;
    let second = queue_cicd(&app, &path, None).await;
    run_two_jobs_at_once(&app, 0).await;
    one_succeeded(
        &progress(&app, &first).await,
        &progress(&app, &second).await,
        "already backed out",
    );
    assert_eq!(
        backed_out_versions(&app, COMMITTED_SET).await,
        count_where(&app, "sys_update_xml", "update_set", COMMITTED_SET).await,
        "one version per update, written by one back-out"
    );
}

/// The two sets of one commitMultiple batch, each backed out with its
/// batch at once: the batch is backed out once, and the other back-out
/// finds it done (neither waits for the other forever).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_back_outs_of_one_batch_back_it_out_once() {
    // Each round needs the demo's batch afresh: a new app each.
    for round in 0..3 {
        back_outs_of_one_batch(round).await;
    }
}

async fn back_outs_of_one_batch(round: u64) {
    let app = Arc::new(TestApp::spawn_demo().await);
    let batch = queue_cicd(
        &app,
        &format!("/api/sn_cicd/update_set/commitMultiple?remote_update_set_ids={FIRST_OF_MULTIPLE}%2C{SECOND_OF_MULTIPLE}"),
        Some("{\"force_commit\":\"true\"}"),
    )
    .await;
    run_jobs(&app).await;
    assert_eq!(progress(&app, &batch).await["status_label"], "Successful");
    let mut locals = Vec::new();
    for remote in [FIRST_OF_MULTIPLE, SECOND_OF_MULTIPLE] {
        let row = app
            .db
            .fetch_optional(
                "SELECT sys_id FROM sys_update_set WHERE remote_sys_id = $1",
                &[Sql::from(remote)],
            )
            .await
            .unwrap()
            .unwrap();
        locals.push(row.string("sys_id"));
    }
    let back_out = |set: &str| {
        format!("/api/sn_cicd/update_set/back_out?update_set_id={set}&rollback_installs=true")
    };
    let first = queue_cicd(&app, &back_out(&locals[0]), None).await;
    let second = queue_cicd(&app, &back_out(&locals[1]), None).await;
    run_two_jobs_at_once(&app, round).await;
    one_succeeded(
        &progress(&app, &first).await,
        &progress(&app, &second).await,
        "already backed out",
    );
    for local in &locals {
        assert_eq!(
            backed_out_versions(&app, local).await,
            count_where(&app, "sys_update_xml", "update_set", local).await,
            "{local} backed out once"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_creates_of_one_update_set_name_make_one() {
    let app = Arc::new(TestApp::spawn_demo().await);
    for round in 0..ROUNDS {
        let name = format!("Raced{round}");
        let path = format!("/api/sn_cicd/update_set/create?update_set_name={name}&scope=sn_test");
        let (a, b) = race(
            round,
            send(&app, "POST", path.clone(), Auth::admin(), None),
            send(&app, "POST", path, Auth::admin(), None),
        )
        .await;
        let refused = loser(&a, &b, StatusCode::CREATED);
        assert_eq!(refused.status, StatusCode::CONFLICT, "{}", refused.text);
        assert!(
            refused.body["error"]["message"]
                .as_str()
                .unwrap_or_default()
                .contains(&name),
            "{}",
            refused.text
        );
        assert_eq!(count_where(&app, "sys_update_set", "name", &name).await, 1);
    }
}

// ---------------------------------------------------------------------------
// Numbers
// ---------------------------------------------------------------------------

/// Human numbers need no lock of their own: `records::next_number` bumps
/// the counter with one `UPDATE ... SET value = value + 1 ... RETURNING`,
/// which PostgreSQL runs atomically (a second caller waits on the row and
/// reads the first's result), after an `INSERT ... ON CONFLICT DO NOTHING`
/// that makes the row once. Concurrent creates get distinct numbers, also
/// when the counter is made by them.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_creates_get_distinct_numbers() {
    let app = Arc::new(TestApp::spawn().await);
    let barrier = Arc::new(Barrier::new(6));
    let mut callers = Vec::new();
    for i in 0..6 {
        let (app, barrier) = (app.clone(), barrier.clone());
        callers.push(tokio::spawn(async move {
            barrier.wait().await;
            app.post(
                "/api/now/table/rm_story",
                json!({"short_description": format!("Story {i}")}),
            )
            .await
        }));
    }
    let mut numbers = std::collections::BTreeSet::new();
    for caller in callers {
        let res = caller.await.unwrap();
        assert_eq!(res.status, StatusCode::CREATED, "{}", res.text);
        numbers.insert(res.body["result"]["number"].as_str().unwrap().to_owned());
    }
    assert_eq!(numbers.len(), 6, "distinct numbers: {numbers:?}");
}

// ---------------------------------------------------------------------------
// Attachments
// ---------------------------------------------------------------------------

/// An upload to a record raced by the record's delete: the upload locks the
/// record, so either it lands first and the delete takes its file along, or
/// it finds the record gone (404). Never a file left on a deleted record.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn an_upload_raced_by_its_records_delete_leaves_no_file_behind() {
    let app = Arc::new(TestApp::spawn_demo().await);
    for round in 0..ROUNDS {
        let created = app
            .post(
                "/api/now/table/cmn_schedule",
                json!({"name": format!("race {round}")}),
            )
            .await;
        assert_eq!(created.status, StatusCode::CREATED, "{}", created.text);
        let sys_id = created.body["result"]["sys_id"]
            .as_str()
            .unwrap()
            .to_owned();
        let upload = {
            let app = app.clone();
            let path = format!(
                "/api/now/attachment/file?table_name=cmn_schedule&table_sys_id={sys_id}&file_name=a.txt"
            );
            async move {
                app.raw("POST", &path, &Auth::admin(), Some("file"), "text/plain")
                    .await
            }
        };
        let delete = send(
            &app,
            "DELETE",
            format!("/api/now/table/cmn_schedule/{sys_id}"),
            Auth::admin(),
            None,
        );
        let (uploaded, deleted) = race(round, upload, delete).await;
        assert_eq!(deleted.status, StatusCode::NO_CONTENT, "{}", deleted.text);
        assert!(
            matches!(uploaded.status, StatusCode::CREATED | StatusCode::NOT_FOUND),
            "round {round}: {} {}",
            uploaded.status,
            uploaded.text
        );
        let left = count(
            &app,
            "SELECT COUNT(*) AS n FROM sys_attachment WHERE table_sys_id = $1",
            &[Sql::from(sys_id.as_str())],
        )
        .await;
        assert_eq!(left, 0, "round {round}: a file outlived its record");
    }
}
