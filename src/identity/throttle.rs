//! Slows down repeated failed logins for one user name.
//!
//! After a few failures each further attempt waits longer (doubling, capped),
//! so guessing a password costs time; a success or a quiet quarter of an hour
//! resets the count. Kept per process: every replica throttles on its own.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

const FREE_ATTEMPTS: u32 = 3;
const BASE_DELAY: Duration = Duration::from_millis(250);
const MAX_DELAY: Duration = Duration::from_secs(8);
const FORGET_AFTER: Duration = Duration::from_secs(15 * 60);
const MAX_TRACKED: usize = 50_000;

#[derive(Default)]
pub struct LoginThrottle {
    failures: Mutex<HashMap<String, (u32, Instant)>>,
}

impl LoginThrottle {
    /// How long the next attempt for `user` must wait before it is checked.
    pub fn delay_for(&self, user: &str) -> Duration {
        let map = self.failures.lock().unwrap_or_else(|e| e.into_inner());
        match map.get(user) {
            Some((count, last)) if last.elapsed() < FORGET_AFTER => delay_after(*count),
            _ => Duration::ZERO,
        }
    }

    pub fn record_failure(&self, user: &str) {
        let mut map = self.failures.lock().unwrap_or_else(|e| e.into_inner());
        if map.len() >= MAX_TRACKED {
            map.retain(|_, (_, last)| last.elapsed() < FORGET_AFTER);
        }
        let entry = map.entry(user.to_owned()).or_insert((0, Instant::now()));
        if entry.1.elapsed() >= FORGET_AFTER {
            entry.0 = 0;
        }
        entry.0 = entry.0.saturating_add(1);
        entry.1 = Instant::now();
    }

    pub fn record_success(&self, user: &str) {
        let mut map = self.failures.lock().unwrap_or_else(|e| e.into_inner());
        map.remove(user);
    }
}

fn delay_after(failures: u32) -> Duration {
    if failures < FREE_ATTEMPTS {
        return Duration::ZERO;
    }
    let doublings = (failures - FREE_ATTEMPTS).min(10);
    (BASE_DELAY * 2u32.pow(doublings)).min(MAX_DELAY)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn delay_grows_with_failures_and_resets_on_success() {
        let t = LoginThrottle::default();
        for _ in 0..FREE_ATTEMPTS {
            assert_eq!(t.delay_for("bob"), Duration::ZERO);
            t.record_failure("bob");
        }
        let first = t.delay_for("bob");
        assert!(first > Duration::ZERO);
        t.record_failure("bob");
        assert!(t.delay_for("bob") > first, "grows");
        assert_eq!(t.delay_for("alice"), Duration::ZERO, "per user");
        for _ in 0..40 {
            t.record_failure("bob");
        }
        assert_eq!(t.delay_for("bob"), MAX_DELAY, "capped");
        t.record_success("bob");
        assert_eq!(t.delay_for("bob"), Duration::ZERO);
    }
}
