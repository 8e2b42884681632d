//! ServiceDesk-style (v3) release records: reference data and releases.

pub mod approvals;
pub mod change;
pub mod entities;
pub mod history;
pub mod list;
pub mod permissions;
pub mod reference;
pub mod releases;
pub mod subrecords;
pub mod users;
