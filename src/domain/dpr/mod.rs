//! Digital Product Release rules.

pub mod blackouts;
pub mod bundles;
pub mod calendar_view;
pub mod calendars;
pub mod hooks;
pub mod jobs;
pub mod lifecycle;
pub mod overview;
pub mod phases;
pub mod policy_run;
pub mod policy_status;
pub mod releases;
pub mod retarget;
pub mod schedule;
pub mod scope;
pub mod targets;
