// The module under test is tollgate's own src/metrics.rs, included as it is today, so a
// re-run measures the current code; main.rs provides the `crate::jobs::JobState` it names.
#[path = "../../../src/metrics.rs"]
mod included;
pub use included::*;
