//! Demo users of the ServiceDesk-style family, named by the v3 examples.

use crate::error::Result;
use crate::storage::{Tx, Value};

pub(super) async fn load(tx: &mut Tx) -> Result<usize> {
    let mut added = 0;
    for (id, name, email, phone) in [
        (3, "Guest", None, Some("8888")),
        (
            4,
            "administrator",
            Some("admin@example.com"),
            Some("1234455"),
        ),
        (
            7,
            "Heather Graham",
            Some("heather.graham@example.com"),
            Some("925-852-2602"),
        ),
    ] {
        let exists = tx
            .fetch_optional("SELECT id FROM sdp_user WHERE id = $1", &[Value::Int(id)])
            .await?;
        if exists.is_none() {
            tx.execute(
                "INSERT INTO sdp_user (id, name, email_id, phone, is_vipuser) VALUES ($1, $2, $3, $4, $5)",
                &[Value::Int(id), Value::from(name), Value::from(email), Value::from(phone), Value::Bool(false)],
            )
            .await?;
            added += 1;
        }
    }
    Ok(added)
}

/// Releases 3, 4 and 10 of the v3 examples, with what the examples read
/// from them (roles, an approval level at Submission, status comments,
/// history, tasks and worklogs). Counters move past the fixed ids.
pub(super) async fn load_releases(tx: &mut Tx) -> Result<usize> {
    let mut added = 0;
    let now = chrono::Utc::now().timestamp_millis();
    // The asset the get example shows on release 3.
    tx.execute(
        "INSERT INTO sdp_reference (kind, id, name) VALUES ('asset', 1, 'mssql-01.example.com') \
         ON CONFLICT (kind, id) DO NOTHING",
        &[],
    )
    .await?;
    let releases: [(i64, &str, i64, i64); 3] = [
        (3, "MSSQL Server service pack upgrade", 2, 7),
        (4, "Exchange Server rollout", 1, 1),
        (10, "MSSQL Server service pack upgrade release", 2, 7),
    ];
    for (id, title, stage, status) in releases {
        let exists = tx
            .fetch_optional(
                "SELECT id FROM sdp_release WHERE id = $1",
                &[Value::Int(id)],
            )
            .await?;
        if exists.is_some() {
            continue;
        }
        tx.execute(
            "INSERT INTO sdp_release (id, title, description, template_id, stage_id, status_id, impact_id, priority_id, \
             urgency_id, risk_id, category_id, subcategory_id, item_id, release_type_id, group_id, services, emergency, \
             scheduled_start, scheduled_end, next_review_on, created_time, created_by) \
             VALUES ($1, $2, $2, 1, $3, $4, 1, 4, 1, 3, 3, 7, 6, 1, 1, '1,2', $5, 1592820350370, 1592820360370, 1592820250370, $6, 'demo')",
            &[Value::Int(id), Value::from(title), Value::Int(stage), Value::Int(status), Value::Bool(false), Value::Int(now)],
        )
        .await?;
        added += 1;
        // Guest requests it, administrator engineers it.
        for (n, role, user) in [(1, 3, 3), (2, 2, 4)] {
            tx.execute(
                "INSERT INTO sdp_release_role (id, release_id, role_id, user_id) VALUES ($1, $2, $3, $4)",
                &[Value::Int(id * 10 + n), Value::Int(id), Value::Int(role), Value::Int(user)],
            )
            .await?;
        }
        tx.execute(
            "INSERT INTO sdp_status_comment (id, release_id, stage_id, status_id, comment, commented_by, commented_on) \
             VALUES ($1, $2, $3, $4, 'The above Stage/Status is set as part of ''Release'' creation', 4, $5)",
            &[Value::Int(id * 10), Value::Int(id), Value::Int(stage), Value::Int(status), Value::Int(now)],
        )
        .await?;
        tx.execute(
            "INSERT INTO sdp_release_history (id, release_id, operation, display_name, by_user, time, description, diff) \
             VALUES ($1, $2, 'add', 'Release Created', 4, $3, '', '[]')",
            &[Value::Int(id * 10), Value::Int(id), Value::Int(now)],
        )
        .await?;
        if id == 3 {
            tx.execute("UPDATE sdp_release SET assets = '1' WHERE id = 3", &[])
                .await?;
            // It left Submission accepted, as the approval summary example
            // shows ("Jump").
            tx.execute(
                "INSERT INTO sdp_status_comment (id, release_id, stage_id, status_id, comment, commented_by, commented_on) \
                 VALUES (29, 3, 1, 2, 'Jump', 4, $1)",
                &[Value::Int(now)],
            )
            .await?;
            tx.execute(
                "INSERT INTO sdp_approval_level (id, release_id, stage_id, level, name, rule_percent, status, created_by, created_on, \
                 action_taken_by, action_taken_on, comments) VALUES (301, 3, 1, 1, 'Default', 100, 'Approved', 4, $1, 4, $1, 'recommend')",
                &[Value::Int(now)],
            )
            .await?;
            tx.execute(
                "INSERT INTO sdp_approver (id, level_id, user_id, decision, decided_on, comments) VALUES (3011, 301, 4, 'approved', $1, 'recommend')",
                &[Value::Int(now)],
            )
            .await?;
            for (kind, n, title, status) in [
                ("task", 31, Some("Back up the databases"), Some("Open")),
                ("worklog", 31, None, None),
                ("worklog", 32, None, None),
            ] {
                tx.execute(
                    "INSERT INTO sdp_release_child (kind, id, release_id, title, description, status, hours, minutes, created_by, created_time) \
                     VALUES ($1, $2, 3, $3, 'Prepared the upgrade', $4, 1, 30, 4, $5)",
                    &[Value::from(kind), Value::Int(n), Value::from(title), Value::from(status), Value::Int(now)],
                )
                .await?;
            }
        }
    }
    // Ids handed out later start after the fixed ones.
    for (counter, floor) in [
        ("sdp_release", 10),
        ("sdp_release_role", 200),
        ("sdp_status_comment", 200),
        ("sdp_release_history", 200),
        ("sdp_approval_level", 400),
        ("sdp_approver", 4000),
        ("sdp_release_task", 100),
        ("sdp_release_worklog", 100),
    ] {
        tx.execute(
            "INSERT INTO tollgate_counter (name, value) VALUES ($1, $2) ON CONFLICT (name) DO NOTHING",
            &[Value::from(counter), Value::Int(floor)],
        )
        .await?;
        tx.execute(
            "UPDATE tollgate_counter SET value = $2 WHERE name = $1 AND value < $2",
            &[Value::from(counter), Value::Int(floor)],
        )
        .await?;
    }
    Ok(added)
}
