//! Limits failed authentications, per client address and per user name at
//! that address, refusing excess attempts at once (429 with `Retry-After`)
//! rather than queueing or delaying them:
//!
//! - an address may fail `failed_logins_per_address` times a minute; its
//!   attempts still being checked count against that budget, so a burst of
//!   parallel attempts from one address is cut off at the budget instead of
//!   all being checked;
//! - a user name may fail [`FREE_ATTEMPTS`] times from one address; after
//!   that each further attempt from there must wait a backoff (doubling,
//!   capped) and is refused until it has. A success from that address, or a
//!   quiet quarter of an hour, resets it.
//!
//! Nothing here sleeps: a refused attempt costs no password hash and holds
//! nothing, and an attacker's attempts against a user from one address never
//! stand in the way of that user's own login from another.
//!
//! Kept per process: every replica limits on its own. The address is the
//! TCP peer's; behind a reverse proxy every client shares the proxy's
//! address (see docs/AUTHENTICATION.md).

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// The client an attempt comes from: its IP address, or None when unknown
/// (in-process callers), which counts as one address of its own.
pub type Client = Option<IpAddr>;

pub const FREE_ATTEMPTS: u32 = 3;
const BASE_DELAY: Duration = Duration::from_secs(1);
const MAX_DELAY: Duration = Duration::from_secs(60);
const WINDOW: Duration = Duration::from_secs(60);
const FORGET_AFTER: Duration = Duration::from_secs(15 * 60);
const MAX_TRACKED: usize = 50_000;

#[derive(Clone, Copy)]
struct AddressWindow {
    started: Instant,
    failures: u32,
    pending: u32,
}

#[derive(Clone, Copy)]
struct UserFailures {
    count: u32,
    last: Instant,
}

#[derive(Default)]
struct State {
    addresses: HashMap<Client, AddressWindow>,
    /// Keyed by a hash of the user name: an entry costs the same whatever
    /// name a client sends.
    users: HashMap<(UserKey, Client), UserFailures>,
}

type UserKey = [u8; 32];

fn user_key(user: &str) -> UserKey {
    use sha2::{Digest, Sha256};
    Sha256::digest(user.as_bytes()).into()
}

pub struct LoginThrottle {
    per_address: u32,
    state: Mutex<State>,
}

impl Default for LoginThrottle {
    fn default() -> Self {
        LoginThrottle::new(30)
    }
}

/// Why an attempt was refused, and for how long.
#[derive(Debug, PartialEq, Eq)]
pub enum Refusal {
    Address(Duration),
    User(Duration),
}

impl Refusal {
    pub fn retry_after(&self) -> Duration {
        match self {
            Refusal::Address(d) | Refusal::User(d) => *d,
        }
    }
}

/// An admitted attempt. Its outcome is recorded with [`Attempt::failed`] or
/// [`Attempt::succeeded`]; dropped without one (the request went away), it
/// only stops counting as pending.
pub struct Attempt<'a> {
    throttle: &'a LoginThrottle,
    user: Option<UserKey>,
    client: Client,
    done: bool,
}

impl LoginThrottle {
    /// At most `per_address` failed authentications per minute per address.
    pub fn new(per_address: u32) -> LoginThrottle {
        LoginThrottle {
            per_address: per_address.max(1),
            state: Mutex::new(State::default()),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Admits an attempt to authenticate (as `user`, for a password; None
    /// for a token) from `client`, or refuses it.
    pub fn admit(&self, user: Option<&str>, client: Client) -> Result<Attempt<'_>, Refusal> {
        let mut state = self.lock();
        let now = Instant::now();
        if state.addresses.len() >= MAX_TRACKED {
            state
                .addresses
                .retain(|_, w| w.pending > 0 || now.duration_since(w.started) < WINDOW);
            if state.addresses.len() >= MAX_TRACKED {
                // Memory stays bounded even under attempts from more
                // addresses than that in a minute: their counts are lost.
                state.addresses.retain(|_, w| w.pending > 0);
            }
        }
        let window = state.addresses.entry(client).or_insert(AddressWindow {
            started: now,
            failures: 0,
            pending: 0,
        });
        if now.duration_since(window.started) >= WINDOW {
            window.started = now;
            window.failures = 0;
        }
        if window.failures + window.pending >= self.per_address {
            let left = WINDOW.saturating_sub(now.duration_since(window.started));
            return Err(Refusal::Address(left));
        }
        if let Some(user) = user {
            if let Some(f) = state.users.get(&(user_key(user), client)) {
                let since = now.duration_since(f.last);
                let wait = delay_after(f.count);
                if since < FORGET_AFTER && since < wait {
                    return Err(Refusal::User(wait - since));
                }
            }
        }
        if let Some(window) = state.addresses.get_mut(&client) {
            window.pending += 1;
        }
        Ok(Attempt {
            throttle: self,
            user: user.map(user_key),
            client,
            done: false,
        })
    }

    fn finish(&self, attempt: &Attempt<'_>, failed: bool) {
        let mut state = self.lock();
        let now = Instant::now();
        if let Some(window) = state.addresses.get_mut(&attempt.client) {
            window.pending = window.pending.saturating_sub(1);
            if failed {
                window.failures = window.failures.saturating_add(1);
            }
            if window.pending == 0 && window.failures == 0 {
                // Only addresses with failures (or attempts under way) are
                // kept: successful clients cost no memory.
                state.addresses.remove(&attempt.client);
            }
        }
        let Some(user) = &attempt.user else {
            return;
        };
        let key = (*user, attempt.client);
        if !failed {
            state.users.remove(&key);
            return;
        }
        if state.users.len() >= MAX_TRACKED {
            state
                .users
                .retain(|_, f| now.duration_since(f.last) < FORGET_AFTER);
            if state.users.len() >= MAX_TRACKED {
                state.users.clear();
            }
        }
        let entry = state.users.entry(key).or_insert(UserFailures {
            count: 0,
            last: now,
        });
        if now.duration_since(entry.last) >= FORGET_AFTER {
            entry.count = 0;
        }
        entry.count = entry.count.saturating_add(1);
        entry.last = now;
    }
}

impl Attempt<'_> {
    pub fn failed(mut self) {
        self.done = true;
        self.throttle.finish(&self, true);
    }

    pub fn succeeded(mut self) {
        self.done = true;
        self.throttle.finish(&self, false);
    }
}

impl Drop for Attempt<'_> {
    fn drop(&mut self) {
        if !self.done {
            let mut state = self.throttle.lock();
            if let Some(window) = state.addresses.get_mut(&self.client) {
                window.pending = window.pending.saturating_sub(1);
                if window.pending == 0 && window.failures == 0 {
                    state.addresses.remove(&self.client);
                }
            }
        }
    }
}

/// How long after its latest failure a user name's next attempt (from the
/// same address) must wait.
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

    fn ip(last: u8) -> Client {
        Some(IpAddr::from([192, 0, 2, last]))
    }

    #[test]
    fn a_user_is_refused_after_its_free_attempts_from_that_address_only() {
        let t = LoginThrottle::new(100);
        for _ in 0..FREE_ATTEMPTS {
            t.admit(Some("bob"), ip(1)).unwrap().failed();
        }
        let refused = t.admit(Some("bob"), ip(1)).err().unwrap();
        assert!(matches!(refused, Refusal::User(d) if d > Duration::ZERO && d <= BASE_DELAY));
        // Bob from elsewhere, and alice from the same address, go on.
        t.admit(Some("bob"), ip(2)).unwrap().succeeded();
        t.admit(Some("alice"), ip(1)).unwrap().failed();
    }

    #[test]
    fn the_backoff_doubles_is_capped_and_a_success_resets_it() {
        assert_eq!(delay_after(FREE_ATTEMPTS - 1), Duration::ZERO);
        assert_eq!(delay_after(FREE_ATTEMPTS), BASE_DELAY);
        assert_eq!(delay_after(FREE_ATTEMPTS + 1), BASE_DELAY * 2);
        assert_eq!(delay_after(FREE_ATTEMPTS + 40), MAX_DELAY);
        let t = LoginThrottle::new(100);
        t.admit(Some("bob"), ip(1)).unwrap().failed();
        t.admit(Some("bob"), ip(1)).unwrap().succeeded();
        for _ in 0..FREE_ATTEMPTS {
            t.admit(Some("bob"), ip(1)).unwrap().failed();
        }
        assert!(t.admit(Some("bob"), ip(1)).is_err());
    }

    #[test]
    fn an_address_is_refused_past_its_budget_counting_pending_attempts() {
        let t = LoginThrottle::new(5);
        let pending: Vec<_> = (0..5)
            .map(|i| t.admit(Some(&format!("u{i}")), ip(1)).unwrap())
            .collect();
        let refused = t.admit(Some("u9"), ip(1)).err().unwrap();
        assert!(matches!(refused, Refusal::Address(d) if d <= WINDOW && d > Duration::ZERO));
        assert!(t.admit(None, ip(2)).is_ok(), "other addresses go on");
        // Attempts that went away or succeeded free their place...
        let mut pending = pending.into_iter();
        drop(pending.next());
        pending.next().unwrap().succeeded();
        t.admit(Some("u7"), ip(1)).unwrap().failed();
        t.admit(Some("u8"), ip(1)).unwrap().failed();
        // ...failures keep it for the rest of the minute.
        for attempt in pending {
            attempt.failed();
        }
        assert!(t.admit(Some("u9"), ip(1)).is_err());
    }

    #[test]
    fn clients_that_only_succeed_are_not_tracked() {
        let t = LoginThrottle::new(5);
        for i in 0..50 {
            t.admit(Some("bob"), ip(i)).unwrap().succeeded();
            drop(t.admit(None, ip(i)).unwrap());
        }
        assert!(t.lock().addresses.is_empty());
        t.admit(Some("bob"), ip(1)).unwrap().failed();
        assert_eq!(t.lock().addresses.len(), 1);
        assert_eq!(t.lock().users.len(), 1);
    }
}
