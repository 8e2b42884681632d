//! The answer shapes of the CI/CD endpoints: progress (with its links) and
//! the update-set creation answer.

use serde_json::{json, Value as Json};

use crate::http::view::record_url;
use crate::jobs::{JobState, Progress};

/// The `status` code and label of a job state, as the progress API names them.
pub fn status_of(state: JobState) -> (&'static str, &'static str) {
    match state {
        JobState::Pending => ("0", "Pending"),
        JobState::Running => ("1", "Running"),
        JobState::Succeeded => ("2", "Successful"),
        JobState::Failed => ("3", "Failed"),
        JobState::Canceled => ("4", "Canceled"),
    }
}

/// The progress body shared by every asynchronous sn_cicd answer.
pub fn progress_body(base: &str, p: &Progress) -> Json {
    let (status, label) = status_of(p.state);
    let mut links = json!({
        "progress": {"id": p.id, "url": format!("{base}/api/sn_cicd/progress/{}", p.id)}
    });
    if let Some((table, id)) = &p.result {
        links["results"] = json!({"id": id, "url": record_url(base, table, id)});
    }
    json!({
        "links": links,
        "status": status,
        "status_label": label,
        "status_message": p.status_message,
        "status_detail": p.status_detail,
        "error": p.error,
        "percent_complete": p.percent_complete,
    })
}

/// `{"result": <progress>}`.
pub fn progress(base: &str, p: &Progress) -> Json {
    json!({ "result": progress_body(base, p) })
}

/// The answer of a created update set.
pub fn created_update_set(name: &str, id: &str) -> Json {
    json!({"result": {
        "status": "2",
        "status_label": "",
        "status_message": format!("Successfully created update set: {name}"),
        "status_detail": "",
        "error": "",
        "update_set_id": id,
    }})
}
