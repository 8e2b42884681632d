//! Every cURL example of the Digital Product Release document, sent as
//! written (admin credentials) against the demo data, in one session.

use axum::http::StatusCode;
use serde_json::{json, Value};

use crate::helpers::*;

const DPR: &str = "/api/sn_dpr/digital_product_release";
const DPR_V1: &str = "/api/sn_dpr/v1/digital_product_release";

fn keys(v: &Value) -> Vec<String> {
    let mut k: Vec<String> = v
        .as_object()
        .map(|o| o.keys().cloned().collect())
        .unwrap_or_default();
    k.sort();
    k
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_documented_example_succeeds_as_written_against_the_demo_data() {
    let app = TestApp::spawn_demo().await;

    // GET bundle with aggregates.
    let res = app
        .get(&format!(
            "{DPR_V1}/bundle/9d0d0b4c874b1110dba83d5ebf867de2?sendAggregation=true"
        ))
        .await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.text);
    assert_eq!(
        keys(&res.body),
        ["aggregates", "name", "owner", "releases", "sysId"]
    );
    assert_eq!(
        keys(&res.body["aggregates"]),
        [
            "enhancementAggregate",
            "policyAggregate",
            "releaseAggregate",
            "taskAggregate"
        ]
    );

    // GET policy status.
    let res = app
        .get(&format!(
            "{DPR}/releases/d4982eeb474b621027d48b41516d4385/policies/status"
        ))
        .await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.text);
    assert_eq!(keys(&res.body["result"]), ["overallSummary", "products"]);
    let product = &res.body["result"]["products"][0];
    assert_eq!(product["productId"], "f8fe5fd40a0a0b9100f91d64df145295");
    assert_eq!(product["productName"], "Payments Service");
    assert_eq!(product["productVersion"], "v2.4.1");
    let names: Vec<&str> = product["policyExecutionDetails"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["Policy Name 1", "Policy Name 2"]);
    assert_eq!(
        product["policyExecutionDetails"][0]["policyId"],
        "f6783cc843590210ab16fc4bbcb8f223"
    );

    // POST policies/run.
    let res = app
        .post(
            &format!("{DPR}/release/d4982eeb474b621027d48b41516d4385/policies/run"),
            json!({}),
        )
        .await;
    assert_eq!(res.status, StatusCode::CREATED, "{}", res.text);
    assert_eq!(
        res.body,
        json!({"result": {"error": false, "errorCode": "", "message": "Policy execution scheduled.", "policyExecutionScheduled": true}})
    );

    // POST complete_phase, and its error example.
    let res = app
        .post(
            &format!("{DPR}/release_id/d4982eeb474b621027d48b41516d4385/complete_phase"),
            json!({}),
        )
        .await;
    assert_eq!(res.status, StatusCode::CREATED, "{}", res.text);
    assert_eq!(res.body["result"]["status"], "success");
    assert_eq!(
        res.body["result"]["message"],
        "Release phase is marked as complete"
    );
    let res = app
        .post(&format!("{DPR}/release_id/a/complete_phase"), json!({}))
        .await;
    assert_eq!(
        res.body,
        json!({"result": {"error": true, "message": "Release ID is invalid"}})
    );

    // POST product_enhancement.
    let res = app
        .post(
            &format!("{DPR}/product_enhancement"),
            json!({"name": "Offline streaming", "productSysId": "de8e9c0dfff8f2108289ffffffffff61", "priority": "high",
                   "description": "Enhancement description", "versionSysId": "da4b608dff7cf2108289ffffffffffc2",
                   "releaseSysId": "9a4b608dff7cf2108289ffffffffffc3", "productFeatureSysId": "192d2905ff7436108289ffffffffff3f"}),
        )
        .await;
    assert_eq!(res.status, StatusCode::CREATED, "{}", res.text);
    assert_eq!(keys(&res.body["result"]), ["error", "sysId"]);

    // POST release: with included versions, draft to In Progress, independent.
    let res = app
        .post(
            &format!("{DPR_V1}/release"),
            json!({"name": "Patch Q4", "releaseTarget": "8071e5f8ff687a10509cffffffffffd9", "releaseOwner": "6816f79cc0a8016401c5a33be04be441",
                   "releaseDescription": "Q4 release", "productVersion": "", "templateId": "c83134a4ff643a10509cffffffffffb5", "releaseDate": "",
                   "releaseCalendar": "", "includedVersions": ["39fd3f66ff503610509cffffffffff09"], "productId": "c65c372bfb9d5610fdacfe7405efdcd7",
                   "autoCreateVersionName": "1.2", "autoCreateIncludedVersions": [{"product": "de66ea3833e966103e8361a9ed5c7b4e", "version": "1.1"}]}),
        )
        .await;
    assert_eq!(res.status, StatusCode::CREATED, "{}", res.text);
    assert_eq!(
        keys(&res.body["result"]),
        ["error", "message", "progressId", "releaseId"]
    );
    let res = app
        .post(
            &format!("{DPR_V1}/release"),
            json!({"name": "Q4 2025 Product Release", "releaseTarget": "077e1ffb97bc4e107bc2341de053afe2", "releaseOwner": "6816f79cc0a8016401c5a33be04be441",
                   "releaseDescription": "", "productVersion": "0ff12581ffbc3210509cffffffffff15", "templateId": "648c6ca8ffe03a10509cffffffffff11",
                   "releaseDate": "", "releaseCalendar": "", "includedVersions": [], "productId": "", "autoCreateVersionName": "",
                   "autoCreateIncludedVersions": [], "draftReleaseId": "83f12581ffbc3210509cffffffffff16"}),
        )
        .await;
    assert_eq!(res.status, StatusCode::CREATED, "{}", res.text);
    assert_eq!(
        res.body["result"]["releaseId"],
        "83f12581ffbc3210509cffffffffff16"
    );
    let res = app
        .post(
            &format!("{DPR_V1}/release"),
            json!({"name": "Q2 2026 patch", "productVersion": null, "releaseTarget": "008b84a1ffe4ba10509cffffffffff2c", "releaseDescription": "",
                   "releaseOwner": "6816f79cc0a8016401c5a33be04be441", "productId": "012c6d20ff203210229bffffffffff25", "autoCreateVersionName": "2.4",
                   "templateId": "648c6ca8ffe03a10509cffffffffff11", "releaseDate": "", "releaseCalendar": "", "isDraftRelease": false, "validatesVersion": true}),
        )
        .await;
    assert_eq!(res.status, StatusCode::CREATED, "{}", res.text);

    // POST key_date and related_task.
    let res = app
        .post(
            &format!("{DPR}/release/eb7dd11d97b402107bc2341de053af34/key_date"),
            json!({"name": "Project Launch", "type": "milestone", "dueDate": "2025-11-01", "state": "upcoming",
                   "description": "Launching the new project phase.", "assignedTo": "62826bf03710200044e0bfc8bcbe5df1"}),
        )
        .await;
    assert_eq!(res.status, StatusCode::CREATED, "{}", res.text);
    assert_eq!(
        res.body["result"]["message"],
        "Release key date created successfully"
    );
    let res = app
        .post(
            &format!("{DPR}/release/eb7dd11d97b402107bc2341de053af34/related_task"),
            json!({"taskIds": ["36836028532023004247ddeeff7b12f1", "bc84b11dff5c32108289ffffffffff12"]}),
        )
        .await;
    assert_eq!(res.status, StatusCode::CREATED, "{}", res.text);
    assert_eq!(
        res.body,
        json!({"result": {"error": false, "message": "Successfully created the mappings between the release and all the tasks."}})
    );

    // POST release_calendar and release_target (both examples).
    let res = app
        .post(
            &format!("{DPR_V1}/release_calendar"),
            json!({"name": "Q1 2025 Release Calendar123", "releaseAdmin": "dc6770ae3b97a210532fb50f23e45a33", "description": "Calendar for Q1 releases"}),
        )
        .await;
    assert_eq!(res.status, StatusCode::CREATED, "{}", res.text);
    let res = app
        .post(
            &format!("{DPR}/release_target"),
            json!({"name": "Weekly Friday patch", "releaseAdmin": "6816f79cc0a8016401c5a33be04be441", "isRecurring": true, "description": "",
                   "startDate": "2025-10-24", "releaseCalendar": "d3d1f3b4ff60ba10509cffffffffffa8", "endDate": "2025-11-19",
                   "repeats": {"type": "weekly", "every": 1, "daysOfWeek": 5}, "scheduleSysId": "b862d589ff3c3210509cffffffffff97",
                   "targetsWithOverlappingScheduleDetails": [{"active": true, "date": "2025-10-24"}, {"active": true, "date": "2025-10-31"},
                                                             {"active": true, "date": "2025-11-07"}, {"active": true, "date": "2025-11-14"}]}),
        )
        .await;
    assert_eq!(
        res.body,
        json!({"result": {"error": false, "message": "", "count": 4}})
    );
    let res = app
        .post(
            &format!("{DPR}/release_target"),
            json!({"name": "Fourth Thursday patch", "releaseAdmin": "6816f79cc0a8016401c5a33be04be441", "isRecurring": false,
                   "description": "Last Thursday of October", "startDate": "2025-10-30", "releaseCalendar": "d3d1f3b4ff60ba10509cffffffffffa8"}),
        )
        .await;
    assert_eq!(
        res.body,
        json!({"result": {"error": false, "message": "", "count": 1}})
    );

    // PUT retarget: an existing target, then an out-of-band date.
    let res = app
        .request(
            "PUT",
            &format!("{DPR}/release/9b2e7ec9476c8e105b8e0dcfe16d43d4/retarget"),
            &Auth::admin(),
            Some(json!({"releaseTarget": "3f6668e95427fd10f877ac7ac399daa6"})),
        )
        .await;
    assert_eq!(
        res.body,
        json!({"result": {"error": false, "message": ""}}),
        "{}",
        res.text
    );
    let res = app
        .request(
            "PUT",
            &format!("{DPR}/release/9b2e7ec9476c8e105b8e0dcfe16d43d4/retarget"),
            &Auth::admin(),
            Some(json!({"outOfBand": true, "releaseCalendar": "fcb2eaa09f4302105c534d837a0a1c2b", "releaseDate": "2026-10-23"})),
        )
        .await;
    assert_eq!(
        res.body,
        json!({"result": {"error": false, "message": ""}}),
        "{}",
        res.text
    );
}
