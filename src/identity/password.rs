//! Argon2id password hashing. Both calls are CPU-heavy (tens of
//! milliseconds) and each holds about 19 MiB while it runs, so they run on
//! the blocking pool, never on a runtime thread, and at most
//! `max_concurrent_password_hashes` at once in the process: without a bound,
//! a burst of bad logins runs hundreds at once and takes gigabytes.

use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, OnceLock};

use argon2::password_hash::phc::PasswordHash;
use argon2::password_hash::{PasswordHasher, PasswordVerifier};
use argon2::Argon2;
use tokio::sync::Semaphore;

use crate::error::Error;

/// The bound when none is configured (the `max_concurrent_password_hashes`
/// default).
pub const DEFAULT_MAX_CONCURRENT: usize = 4;

static LIMIT: OnceLock<(usize, Arc<Semaphore>)> = OnceLock::new();
static IN_FLIGHT: AtomicUsize = AtomicUsize::new(0);
static PEAK: AtomicUsize = AtomicUsize::new(0);
static RUN: AtomicU64 = AtomicU64::new(0);

/// Sets the process-wide bound on concurrent hashes. The bound is a property
/// of the process (its memory), so the first setting wins; later calls (a
/// second `AppState` in the same process) keep it.
pub fn configure(max_concurrent: usize) {
    let max = max_concurrent.max(1);
    let _ = LIMIT.set((max, Arc::new(Semaphore::new(max))));
}

fn limit() -> &'static (usize, Arc<Semaphore>) {
    LIMIT.get_or_init(|| {
        (
            DEFAULT_MAX_CONCURRENT,
            Arc::new(Semaphore::new(DEFAULT_MAX_CONCURRENT)),
        )
    })
}

/// The bound in force.
pub fn max_concurrent() -> usize {
    limit().0
}

/// The most hashes that ever ran at once in this process (observability and
/// tests: it never exceeds [`max_concurrent`]).
pub fn peak_in_flight() -> usize {
    PEAK.load(Ordering::SeqCst)
}

/// How many hashes (and verifications) ran in this process.
pub fn hashes_run() -> u64 {
    RUN.load(Ordering::SeqCst)
}

/// Runs `work` on the blocking pool once a permit is free. The permit moves
/// into the blocking task: a request dropped while its hash runs does not
/// free the permit before the hash (and its memory) is done.
async fn bounded<T: Send + 'static>(work: impl FnOnce() -> T + Send + 'static) -> Result<T, Error> {
    let permit = limit()
        .1
        .clone()
        .acquire_owned()
        .await
        .map_err(Error::internal)?;
    tokio::task::spawn_blocking(move || {
        let now = IN_FLIGHT.fetch_add(1, Ordering::SeqCst) + 1;
        PEAK.fetch_max(now, Ordering::SeqCst);
        RUN.fetch_add(1, Ordering::SeqCst);
        let out = work();
        IN_FLIGHT.fetch_sub(1, Ordering::SeqCst);
        drop(permit);
        out
    })
    .await
    .map_err(Error::internal)
}

pub async fn hash(password: &str) -> Result<String, Error> {
    let password = password.to_owned();
    bounded(move || {
        Argon2::default()
            .hash_password(password.as_bytes())
            .map(|h| h.to_string())
            .map_err(Error::internal)
    })
    .await?
}

/// True when `password` matches the stored PHC string.
pub async fn verify(password: &str, stored: &str) -> bool {
    let password = password.to_owned();
    let stored = stored.to_owned();
    bounded(move || {
        PasswordHash::new(&stored)
            .map(|parsed| {
                Argon2::default()
                    .verify_password(password.as_bytes(), &parsed)
                    .is_ok()
            })
            .unwrap_or(false)
    })
    .await
    .unwrap_or(false)
}

#[cfg(test)]
mod tests {
    #[tokio::test]
    async fn hashes_are_argon2id_salted_and_verify() {
        let a = super::hash("s3cret").await.unwrap();
        let b = super::hash("s3cret").await.unwrap();
        assert!(a.starts_with("$argon2id$"), "{a}");
        assert_ne!(a, b, "salted");
        assert!(super::verify("s3cret", &a).await);
        assert!(!super::verify("wrong", &a).await);
        assert!(!super::verify("s3cret", "not a hash").await);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn no_more_hashes_run_at_once_than_the_bound() {
        let stored = super::hash("s3cret").await.unwrap();
        let checks: Vec<_> = (0..16)
            .map(|i| {
                let stored = stored.clone();
                tokio::spawn(async move { super::verify(&format!("guess {i}"), &stored).await })
            })
            .collect();
        for check in checks {
            assert!(!check.await.unwrap());
        }
        assert!(super::peak_in_flight() >= 1);
        assert!(
            super::peak_in_flight() <= super::max_concurrent(),
            "{} at once, bound {}",
            super::peak_in_flight(),
            super::max_concurrent()
        );
    }
}
