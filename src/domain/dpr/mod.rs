//! Digital Product Release rules.

pub mod calendars;
pub mod jobs;
pub mod releases;
pub mod schedule;
pub mod targets;
