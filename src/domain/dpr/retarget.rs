//! Retargeting a release: a new readiness target (an existing one, or an
//! out-of-band date when the `sn_dpr.out_of_band_release_allowed` property
//! is true), and its remaining phases re-planned to end on it.
//!
//! The rule: completed phases keep their dates; the current phase keeps its
//! planned start; the current and later phases are spread over the window
//! from that start to the end of the new target's day, in proportion to
//! their template durations (as at creation).

use chrono::{NaiveDate, NaiveDateTime};

use super::super::records::{insert_values, update_values};
use super::phases::invalid_release;
use super::releases::{plan_phases, state};
use crate::error::{Error, ErrorKind, Result};
use crate::registry::table;
use crate::storage::{Db, Tx, Value};
use crate::time::{parse_date_time, DATE_TIME_FORMAT};

pub enum NewTarget {
    Existing(String),
    OutOfBand { calendar: String, date: NaiveDate },
}

const OUT_OF_BAND_PROPERTY: &str = "sn_dpr.out_of_band_release_allowed";

async fn out_of_band_allowed(tx: &mut Tx) -> Result<bool> {
    Ok(tx
        .fetch_optional(
            "SELECT value FROM sys_properties WHERE name = $1",
            &[Value::from(OUT_OF_BAND_PROPERTY)],
        )
        .await?
        .map(|r| r.string("value").trim().eq_ignore_ascii_case("true"))
        .unwrap_or(false))
}

fn end_of(date: &str) -> Option<NaiveDateTime> {
    NaiveDate::parse_from_str(date, "%Y-%m-%d")
        .ok()?
        .and_hms_opt(23, 59, 59)
}

pub async fn retarget(db: &Db, release_id: &str, target: NewTarget, actor: &str) -> Result<()> {
    if !crate::ids::is_sys_id(release_id) {
        return Err(invalid_release());
    }
    let mut tx = db.begin().await?;
    // Retargeting checks the state and re-plans the phases still to run,
    // which a completion or a restart changes: they take turns on the release.
    tx.lock("sn_dpr_model_release", release_id).await?;
    let release = tx
        .fetch_optional(
            "SELECT sys_id, name, state, owner, current_phase FROM sn_dpr_model_release WHERE sys_id = $1",
            &[Value::from(release_id)],
        )
        .await?
        .ok_or_else(invalid_release)?;
    let release_state = release.string("state");
    if release_state != state::IN_PROGRESS && release_state != state::PENDING {
        return Err(Error::conflict(
            "The release must be In Progress or Pending to be retargeted",
        ));
    }
    let date_field = match target {
        NewTarget::Existing(_) => "releaseTarget",
        NewTarget::OutOfBand { .. } => "releaseDate",
    };
    let (target_id, end) = match target {
        NewTarget::Existing(id) => {
            let row = tx
                .fetch_optional(
                    "SELECT target_date, active FROM sn_dpr_model_release_target WHERE sys_id = $1",
                    &[Value::from(&id)],
                )
                .await?
                .ok_or_else(|| {
                    Error::invalid(
                        "releaseTarget",
                        format!("no readiness target with sys_id {id}"),
                    )
                })?;
            if !row.bool("active") {
                return Err(Error::invalid(
                    "releaseTarget",
                    "the readiness target is not active",
                ));
            }
            let end = end_of(&row.string("target_date"))
                .ok_or_else(|| Error::internal("target without date"))?;
            (id, end)
        }
        NewTarget::OutOfBand { calendar, date } => {
            if !out_of_band_allowed(&mut tx).await? {
                return Err(Error::invalid(
                    "outOfBand",
                    format!("out-of-band release dates are not allowed (system property {OUT_OF_BAND_PROPERTY})"),
                ));
            }
            if !super::super::records::exists(&mut tx, "sn_dpr_model_release_calendar", &calendar)
                .await?
            {
                return Err(Error::invalid(
                    "releaseCalendar",
                    format!("no release calendar with sys_id {calendar}"),
                ));
            }
            let targets = table("sn_dpr_model_release_target")
                .ok_or_else(|| Error::internal("target table"))?;
            let values = vec![
                (
                    "name",
                    Value::Text(format!("{} (out of band)", release.string("name"))),
                ),
                ("release_calendar", Value::Text(calendar)),
                ("release_admin", Value::Text(release.string("owner"))),
                (
                    "target_date",
                    Value::Text(date.format("%Y-%m-%d").to_string()),
                ),
                ("active", Value::Bool(true)),
                ("recurring", Value::Bool(false)),
            ];
            let id = insert_values(&mut tx, targets, None, values, actor).await?;
            (
                id,
                date.and_hms_opt(23, 59, 59)
                    .ok_or_else(|| Error::internal("date"))?,
            )
        }
    };
    // The phases still to run: the current one (kept at its start) and the
    // pending ones after it.
    let remaining = tx
        .fetch_all(
            "SELECT ph.sys_id, ph.planned_start, ph.state, tp.duration_days FROM sn_dpr_model_release_phase ph \
             LEFT JOIN sn_dpr_model_template_phase tp ON tp.sys_id = ph.template_phase \
             WHERE ph.\"release\" = $1 AND ph.state IN ('in_progress', 'pending') ORDER BY ph.\"order\", ph.sys_id",
            &[Value::from(release_id)],
        )
        .await?;
    if let Some(first) = remaining.first() {
        let start = parse_date_time(&first.string("planned_start"))
            .unwrap_or_else(|| chrono::Utc::now().naive_utc());
        if end <= start {
            return Err(Error::new(
                ErrorKind::TimeMismatch,
                format!("{date_field}: the new target falls before the current phase started"),
            )
            .with_field(date_field));
        }
        let durations: Vec<i64> = remaining
            .iter()
            .map(|p| p.int("duration_days").unwrap_or(7))
            .collect();
        let phases =
            table("sn_dpr_model_release_phase").ok_or_else(|| Error::internal("phase table"))?;
        for (phase, (from, to)) in remaining
            .iter()
            .zip(plan_phases(start, Some(end), &durations))
        {
            let values = vec![
                (
                    "planned_start",
                    Value::Text(from.format(DATE_TIME_FORMAT).to_string()),
                ),
                (
                    "planned_end",
                    Value::Text(to.format(DATE_TIME_FORMAT).to_string()),
                ),
            ];
            update_values(&mut tx, phases, &phase.string("sys_id"), values, actor).await?;
        }
    }
    let releases = table("sn_dpr_model_release").ok_or_else(|| Error::internal("release table"))?;
    let values = vec![
        ("readiness_target", Value::Text(target_id)),
        (
            "planned_end",
            Value::Text(end.format(DATE_TIME_FORMAT).to_string()),
        ),
    ];
    update_values(&mut tx, releases, release_id, values, actor).await?;
    tx.commit().await?;
    Ok(())
}
