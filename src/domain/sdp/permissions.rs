//! What a caller may do with a ServiceDesk-style release, per stage,
//! computed from the caller's role on the release:
//!
//! - administrators (`sdp.admin`, `admin`), the release's creator and its
//!   release manager view, edit and approve in every stage;
//! - the release engineer edits Planning through Training;
//! - the requester edits Submission;
//! - an approver of a level of a stage approves in that stage;
//! - every technician views.
//!
//! The `-1` entry is the release as a whole (close, trash, assign): the
//! administrators, the creator and the release manager.

use serde_json::{json, Map, Value as Json};

use super::reference;
use crate::error::{Error, ErrorKind, Result};
use crate::identity::{roles, Caller};
use crate::storage::{Db, Value};

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct StagePermission {
    pub view: bool,
    pub edit: bool,
    pub approve: bool,
}

pub struct Permissions {
    pub by_stage: Vec<(i64, StagePermission)>,
    pub whole: StagePermission,
    pub current_stage: i64,
}

impl Permissions {
    pub fn stage(&self, id: i64) -> StagePermission {
        self.by_stage
            .iter()
            .find(|(s, _)| *s == id)
            .map(|(_, p)| *p)
            .unwrap_or_default()
    }

    pub fn to_json(&self) -> Json {
        let mut out = Map::new();
        for (stage, p) in &self.by_stage {
            out.insert(
                stage.to_string(),
                json!({"view": p.view, "edit": p.edit, "approve": p.approve}),
            );
        }
        out.insert("-1".into(), json!({"view": self.whole.view, "edit": self.whole.edit, "approve": self.whole.approve}));
        Json::Object(out)
    }

    /// Refuses (4002) unless the caller may edit the release's current stage.
    pub fn require_edit(&self) -> Result<()> {
        if self.stage(self.current_stage).edit {
            Ok(())
        } else {
            Err(Error::new(
                ErrorKind::Forbidden,
                "Your role on this release does not allow editing it in its current stage",
            ))
        }
    }

    /// Refuses (4002) unless the caller may act on the release as a whole.
    pub fn require_whole(&self) -> Result<()> {
        if self.whole.edit {
            Ok(())
        } else {
            Err(Error::new(
                ErrorKind::Forbidden,
                "Only administrators, the release's creator and its release manager may do this",
            ))
        }
    }
}

pub async fn of(db: &Db, release_id: i64, caller: &Caller) -> Result<Permissions> {
    let release = db
        .fetch_optional(
            "SELECT stage_id, created_by FROM sdp_release WHERE id = $1",
            &[Value::Int(release_id)],
        )
        .await?
        .ok_or_else(|| {
            Error::not_found(format!("No release with id {release_id}")).with_field("release_id")
        })?;
    let me = db
        .fetch_optional(
            "SELECT id FROM sdp_user WHERE sys_user = $1",
            &[Value::from(&caller.user_id)],
        )
        .await?
        .and_then(|r| r.int("id"));
    let mut held: Vec<String> = Vec::new();
    if let Some(me) = me {
        for r in db
            .fetch_all(
                "SELECT x.internal_name FROM sdp_release_role rr JOIN sdp_reference x ON x.kind = 'role' AND x.id = rr.role_id \
                 WHERE rr.release_id = $1 AND rr.user_id = $2",
                &[Value::Int(release_id), Value::Int(me)],
            )
            .await?
        {
            held.push(r.string("internal_name"));
        }
    }
    let approver_stages: Vec<i64> = match me {
        Some(me) => db
            .fetch_all(
                "SELECT DISTINCT l.stage_id FROM sdp_approval_level l JOIN sdp_approver a ON a.level_id = l.id \
                 WHERE l.release_id = $1 AND a.user_id = $2",
                &[Value::Int(release_id), Value::Int(me)],
            )
            .await?
            .iter()
            .filter_map(|r| r.int("stage_id"))
            .collect(),
        None => Vec::new(),
    };
    let owner = caller.has_any(&[roles::SDP_ADMIN])
        || release.text("created_by").as_deref() == Some(caller.user_name.as_str())
        || held.iter().any(|r| r == "release_manager");
    let engineer = held.iter().any(|r| r == "release_engineer");
    let requester = held.iter().any(|r| r == "release_requester");
    let stages = reference::list(db, "stage").await?;
    let by_stage = stages
        .iter()
        .map(|s| {
            let index = s.sort_index.unwrap_or(s.id);
            let edit = owner || (engineer && (2..=7).contains(&index)) || (requester && index == 1);
            let approve = owner || approver_stages.contains(&s.id);
            (
                s.id,
                StagePermission {
                    view: true,
                    edit,
                    approve,
                },
            )
        })
        .collect();
    Ok(Permissions {
        by_stage,
        whole: StagePermission {
            view: true,
            edit: owner,
            approve: owner,
        },
        current_stage: release.int("stage_id").unwrap_or(1),
    })
}
