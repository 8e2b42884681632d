//! Release calendars and readiness targets.

use std::collections::HashMap;

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::json;

use super::*;
use crate::app::AppState;
use crate::domain::dpr::{calendars, targets};
use crate::error::{Error, Result};
use crate::http::extract::{Authorized, Fields, JsonObject};
use crate::http::PathParams;

/// `POST .../digital_product_release/release_calendar`
pub async fn create_release_calendar(
    State(state): State<AppState>,
    _params: PathParams,
    auth: Authorized<CalendarAdmins>,
    JsonObject(body): JsonObject,
) -> Result<Response> {
    let f = Fields::new(&body);
    let name = f.str("name")?.to_owned();
    let release_admin = sys_id_field(&f, "releaseAdmin", true)?.unwrap_or_default();
    let schedules = match f.opt_str("schedules")? {
        Some(list) => list
            .split(',')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(|s| {
                if is_sys_id(s) {
                    Ok(s.to_owned())
                } else {
                    Err(Error::invalid(
                        "schedules",
                        format!("{s:?} is not a sys_id"),
                    ))
                }
            })
            .collect::<Result<Vec<_>>>()?,
        None => Vec::new(),
    };
    let calendar = calendars::NewCalendar {
        name,
        description: f.opt_str("description")?.map(str::to_owned),
        release_admin,
        schedules,
        time_zone: f
            .opt_str("timeZone")?
            .filter(|s| !s.is_empty())
            .map(str::to_owned),
    };
    let id = calendars::create(&state.db, calendar, &auth.caller.user_name).await?;
    Ok((
        StatusCode::CREATED,
        Json(json!({"result": {"error": false, "message": "", "releaseCalendarId": id}})),
    )
        .into_response())
}

/// `POST .../digital_product_release/release_target`
pub async fn create_release_target(
    State(state): State<AppState>,
    _params: PathParams,
    auth: Authorized<ReleaseManagers>,
    JsonObject(body): JsonObject,
) -> Result<Response> {
    let f = Fields::new(&body);
    let name = f.str("name")?.to_owned();
    let release_admin = sys_id_field(&f, "releaseAdmin", true)?.unwrap_or_default();
    let release_calendar = sys_id_field(&f, "releaseCalendar", true)?.unwrap_or_default();
    let is_recurring = f
        .opt_bool("isRecurring")?
        .ok_or_else(|| Error::missing("isRecurring"))?;
    let start = date_field(&f, "startDate")?;
    let recurrence = if is_recurring {
        let end = date_field(&f, "endDate")?;
        let repeats = f
            .opt_object("repeats")?
            .ok_or_else(|| Error::missing("repeats"))?;
        let r = f.nested("repeats", repeats);
        let frequency = match r.str("type")? {
            "weekly" => targets::Frequency::Weekly,
            "monthly" => targets::Frequency::Monthly,
            other => {
                return Err(Error::invalid(
                    "repeats.type",
                    format!("{other:?} is not one of weekly, monthly"),
                ))
            }
        };
        let every = r
            .opt_int("every")?
            .ok_or_else(|| Error::missing("repeats.every"))?;
        if !(1..=520).contains(&every) {
            return Err(Error::invalid(
                "repeats.every",
                "must be a whole number from 1 to 520",
            ));
        }
        let day_of_week = match r.opt_int("daysOfWeek")? {
            Some(d) if (1..=7).contains(&d) => Some(d as u32),
            Some(_) => {
                return Err(Error::invalid(
                    "repeats.daysOfWeek",
                    "must be a weekday number from 1 (Monday) to 7 (Sunday)",
                ))
            }
            None => None,
        };
        Some(targets::Recurrence {
            frequency,
            every: every as u32,
            day_of_week,
            end,
        })
    } else {
        None
    };
    let mut decisions = HashMap::new();
    if let Some(items) = f.opt_array("targetsWithOverlappingScheduleDetails")? {
        for (i, item) in items.iter().enumerate() {
            let path = format!("targetsWithOverlappingScheduleDetails[{i}]");
            let obj = item
                .as_object()
                .ok_or_else(|| Error::wrong_type(&path, "an object"))?;
            let entry = f.nested(&path, obj);
            let date = date_field(&entry, "date")?;
            let active = entry.opt_bool("active")?.unwrap_or(true);
            decisions.insert(date, active);
        }
    }
    let request = targets::NewTargets {
        name,
        description: f
            .opt_str("description")?
            .filter(|s| !s.is_empty())
            .map(str::to_owned),
        release_admin,
        release_calendar,
        start,
        recurrence,
        schedule: sys_id_field(&f, "scheduleSysId", false)?,
        decisions,
    };
    let count = targets::create(&state.db, request, &auth.caller.user_name).await?;
    Ok((
        StatusCode::CREATED,
        Json(json!({"result": {"error": false, "message": "", "count": count}})),
    )
        .into_response())
}
