//! Date-time formats of the ServiceNow-style records: UTC `YYYY-MM-DD hh:mm:ss`
//! for date-times and `YYYY-MM-DD` for dates.

use chrono::{DateTime, NaiveDate, NaiveDateTime, Utc};

pub const DATE_TIME_FORMAT: &str = "%Y-%m-%d %H:%M:%S";
pub const DATE_FORMAT: &str = "%Y-%m-%d";

pub fn now_string() -> String {
    format_date_time(Utc::now())
}

pub fn format_date_time(t: DateTime<Utc>) -> String {
    t.format(DATE_TIME_FORMAT).to_string()
}

pub fn now_millis() -> i64 {
    Utc::now().timestamp_millis()
}

/// A time in milliseconds since the epoch as `YYYY-MM-DD hh:mm:ss UTC`.
pub fn format_millis(ms: i64) -> String {
    match DateTime::<Utc>::from_timestamp_millis(ms) {
        Some(t) => format!("{} UTC", format_date_time(t)),
        None => format!("{ms} ms after the epoch"),
    }
}

pub fn parse_date(s: &str) -> Option<NaiveDate> {
    NaiveDate::parse_from_str(s.trim(), DATE_FORMAT).ok()
}

/// Accepts `YYYY-MM-DD hh:mm:ss` (and `YYYY-MM-DDThh:mm:ss`).
pub fn parse_date_time(s: &str) -> Option<NaiveDateTime> {
    let s = s.trim();
    NaiveDateTime::parse_from_str(s, DATE_TIME_FORMAT)
        .or_else(|_| NaiveDateTime::parse_from_str(s, "%Y-%m-%dT%H:%M:%S"))
        .ok()
}
