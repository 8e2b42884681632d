//! Digital Product Release rules.

pub mod calendars;
pub mod schedule;
pub mod targets;
