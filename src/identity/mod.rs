//! Who is calling: users, roles, passwords, API keys and OAuth tokens.
//!
//! Credentials are checked here for every family (HTTP Basic, `Bearer`,
//! `authtoken`, `Zoho-oauthtoken`). A Basic check costs one Argon2id
//! verification the first time; after that a keyed SHA-256 verifier of the
//! presented password is cached with the caller's roles, so a burst of
//! requests runs at the speed of the endpoint. The cache is dropped whenever
//! identity data changes: at once on the replica that changed it, and within
//! [`EPOCH_POLL`] on every other replica, which polls a shared counter.

pub mod api_keys;
pub mod hooks;
pub mod password;
pub mod rights;
pub mod roles;
pub mod sessions;
pub mod throttle;
pub mod users;

use std::collections::HashMap;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant};

use base64::Engine;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use crate::error::{Error, Result};
use crate::storage::{Db, Value};

pub use throttle::{Client, LoginThrottle};

/// The longest user name and password a login may present (a `sys_user`
/// name is far shorter): longer ones fail at once.
pub const MAX_USER_NAME_BYTES: usize = 255;
pub const MAX_PASSWORD_BYTES: usize = 1024;

/// A user name as logged: at most 64 characters of what a client sent.
fn log_name(user: &str) -> &str {
    match user.char_indices().nth(64) {
        Some((cut, _)) => &user[..cut],
        None => user,
    }
}

/// How often a replica looks for identity changes made by other replicas.
pub const EPOCH_POLL: Duration = Duration::from_secs(2);
/// A cached credential is checked against the database again after this long.
const CACHE_TTL: Duration = Duration::from_secs(300);
const CACHE_MAX: usize = 10_000;

/// An authenticated caller and the roles it holds.
#[derive(Clone, Debug)]
pub struct Caller {
    pub user_id: String,
    pub user_name: String,
    pub roles: Arc<[String]>,
}

impl Caller {
    pub fn is_admin(&self) -> bool {
        self.roles.iter().any(|r| r == roles::ADMIN)
    }

    /// Admin, or one of `any_of`.
    pub fn has_any(&self, any_of: &[&str]) -> bool {
        self.is_admin() || self.roles.iter().any(|r| any_of.contains(&r.as_str()))
    }

    pub fn require_any(&self, any_of: &[&str]) -> Result<()> {
        if self.has_any(any_of) {
            Ok(())
        } else {
            Err(Error::forbidden(any_of))
        }
    }
}

struct CachedCaller {
    /// SHA-256 over the process secret, user name and password; for tokens,
    /// unused (the map key is already the token's hash).
    verifier: [u8; 32],
    caller: Caller,
    cached_at: Instant,
    /// For bearer tokens: when the token stops being valid (epoch seconds).
    expires_at: Option<i64>,
}

pub struct Identity {
    db: Db,
    /// Random per process, so cached verifiers are useless outside it.
    secret: [u8; 32],
    passwords: RwLock<HashMap<String, CachedCaller>>,
    tokens: RwLock<HashMap<String, CachedCaller>>,
    login_gates: Mutex<HashMap<[u8; 32], Arc<tokio::sync::Mutex<()>>>>,
    epoch: AtomicI64,
    /// Password checks that reached Argon2 (observability and tests).
    password_checks: AtomicU64,
    pub throttle: LoginThrottle,
    pub access_token_ttl: Duration,
    pub refresh_token_ttl: Duration,
}

impl Identity {
    pub fn new(db: Db, access_token_ttl: Duration, failed_logins_per_address: u32) -> Identity {
        let mut secret = [0u8; 32];
        rand::RngCore::fill_bytes(&mut rand::rng(), &mut secret);
        Identity {
            db,
            secret,
            passwords: RwLock::new(HashMap::new()),
            tokens: RwLock::new(HashMap::new()),
            login_gates: Mutex::new(HashMap::new()),
            epoch: AtomicI64::new(-1),
            password_checks: AtomicU64::new(0),
            throttle: LoginThrottle::new(failed_logins_per_address),
            access_token_ttl,
            refresh_token_ttl: Duration::from_secs(100 * 24 * 3600),
        }
    }

    /// How many password checks this instance ran through Argon2.
    pub fn password_checks(&self) -> u64 {
        self.password_checks.load(Ordering::SeqCst)
    }

    /// Admits an attempt that will cost a password hash or a database
    /// lookup, or refuses it (429) when its client or user name has failed
    /// too often.
    fn admit(&self, user: Option<&str>, client: Client) -> Result<throttle::Attempt<'_>> {
        self.throttle.admit(user, client).map_err(|refusal| {
            let why = match refusal {
                throttle::Refusal::Address(_) => {
                    "Too many failed authentications from this address"
                }
                throttle::Refusal::User(_) => {
                    "Too many failed logins for this user name from this address"
                }
            };
            let user = user.map(log_name);
            tracing::info!(user, client = ?client, "authentication refused: {why}");
            let wait = refusal.retry_after();
            Error::too_many_requests(
                format!("{why}; retry after {} seconds", wait.as_secs().max(1)),
                wait,
            )
        })
    }

    /// Authenticates the credential in the request headers, sent by `client`.
    pub async fn authenticate(&self, headers: &http::HeaderMap, client: Client) -> Result<Caller> {
        let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
        if let Some(auth) = header("authorization") {
            let (scheme, rest) = auth.split_once(' ').unwrap_or((auth, ""));
            let rest = rest.trim();
            if scheme.eq_ignore_ascii_case("basic") {
                let decoded = base64::engine::general_purpose::STANDARD
                    .decode(rest)
                    .ok()
                    .and_then(|b| String::from_utf8(b).ok())
                    .ok_or_else(Error::unauthenticated)?;
                let (user, password) =
                    decoded.split_once(':').ok_or_else(Error::unauthenticated)?;
                return self.check_password(user, password, client).await;
            }
            if scheme.eq_ignore_ascii_case("bearer")
                || scheme.eq_ignore_ascii_case("zoho-oauthtoken")
                // The v3 samples send `Authorization: authtoken: <key>`.
                || scheme.eq_ignore_ascii_case("authtoken:")
            {
                return self.check_token(rest, client).await;
            }
            return Err(Error::unauthenticated());
        }
        if let Some(key) = header("authtoken").or_else(|| header("x-sn-apikey")) {
            return self.check_token(key.trim(), client).await;
        }
        Err(Error::unauthenticated())
    }

    fn verifier(&self, user: &str, password: &str) -> [u8; 32] {
        let mut h = Sha256::new();
        h.update(self.secret);
        h.update(user.as_bytes());
        h.update([0u8]);
        h.update(password.as_bytes());
        h.finalize().into()
    }

    /// Checks a user name and password (HTTP Basic, OAuth password grant).
    pub async fn check_password(
        &self,
        user: &str,
        password: &str,
        client: Client,
    ) -> Result<Caller> {
        if user.len() > MAX_USER_NAME_BYTES || password.len() > MAX_PASSWORD_BYTES {
            // No account has such a name or password: refused at once, as a
            // failure of the client's, with nothing of it kept or hashed.
            self.admit(None, client)?.failed();
            tracing::info!(client = ?client, "failed login with an oversized user name or password");
            return Err(Error::unauthenticated());
        }
        let verifier = self.verifier(user, password);
        // A cached credential costs no hash, so it is never throttled.
        if let Some(caller) = self.cached_password(user, &verifier) {
            return Ok(caller);
        }
        // One Argon2 check per credential at a time: a burst of requests
        // with the same credential that all miss the cache waits for the
        // first check instead of repeating it (and, waiting, spends none of
        // the client's failure budget). Keyed by the credential, not the user
        // name, so that others' wrong guesses for a user never make the
        // user's own login wait.
        let gate = {
            let mut gates = self.login_gates.lock().unwrap_or_else(|e| e.into_inner());
            if gates.len() >= CACHE_MAX {
                gates.retain(|_, gate| Arc::strong_count(gate) > 1);
            }
            gates.entry(verifier).or_default().clone()
        };
        let turn = gate.lock().await;
        if let Some(caller) = self.cached_password(user, &verifier) {
            return Ok(caller);
        }
        let attempt = match self.admit(Some(user), client) {
            Ok(attempt) => attempt,
            Err(refused) => {
                drop(turn);
                self.forget_gate(&verifier);
                return Err(refused);
            }
        };
        let row = self
            .db
            .fetch_optional(
                "SELECT sys_id, user_name, user_password, active, locked_out \
                 FROM sys_user WHERE user_name = $1",
                &[Value::from(user)],
            )
            .await?;
        let stored = match &row {
            Some(r) if r.bool("active") && !r.bool("locked_out") => r.text("user_password"),
            _ => None,
        };
        self.password_checks.fetch_add(1, Ordering::SeqCst);
        let ok = match stored {
            Some(stored) => password::verify(password, &stored).await,
            None => {
                // Spend the same work as a real check, so that a missing,
                // inactive, locked or password-less user is not told apart
                // by timing.
                let _ = password::verify(password, dummy_hash().await).await;
                false
            }
        };
        let row = match (ok, row) {
            (true, Some(row)) => row,
            _ => {
                attempt.failed();
                drop(turn);
                self.forget_gate(&verifier);
                tracing::info!(user = log_name(user), client = ?client, "failed login");
                return Err(Error::unauthenticated());
            }
        };
        attempt.succeeded();
        let caller = self
            .load_caller(&row.string("sys_id"), &row.string("user_name"))
            .await?;
        let mut cache = self.passwords.write().unwrap_or_else(|e| e.into_inner());
        if cache.len() >= CACHE_MAX {
            cache.clear();
        }
        cache.insert(
            user.to_owned(),
            CachedCaller {
                verifier,
                caller: caller.clone(),
                cached_at: Instant::now(),
                expires_at: None,
            },
        );
        drop(cache);
        drop(turn);
        self.forget_gate(&verifier);
        Ok(caller)
    }

    /// A finished check's gate leaves the map (waiters still hold it).
    fn forget_gate(&self, verifier: &[u8; 32]) {
        self.login_gates
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(verifier);
    }

    fn cached_password(&self, user: &str, verifier: &[u8; 32]) -> Option<Caller> {
        let cache = self.passwords.read().unwrap_or_else(|e| e.into_inner());
        let hit = cache.get(user)?;
        let fresh = hit.cached_at.elapsed() < CACHE_TTL;
        (fresh && bool::from(hit.verifier.ct_eq(verifier))).then(|| hit.caller.clone())
    }

    /// Checks an OAuth access token or an API key.
    pub async fn check_token(&self, token: &str, client: Client) -> Result<Caller> {
        if token.is_empty() {
            return Err(Error::unauthenticated());
        }
        let hash = token_hash(token);
        let now = chrono::Utc::now().timestamp();
        {
            let cache = self.tokens.read().unwrap_or_else(|e| e.into_inner());
            if let Some(hit) = cache.get(&hash) {
                let live = hit.expires_at.is_none_or(|exp| exp > now);
                if hit.cached_at.elapsed() < CACHE_TTL && live {
                    return Ok(hit.caller.clone());
                }
            }
        }
        let attempt = self.admit(None, client)?;
        let found = self
            .db
            .fetch_optional(
                // A locked-out or inactive user's tokens and keys are
                // refused like its password.
                "SELECT u.sys_id, u.user_name, t.expires_at, 'token' AS kind \
                 FROM tollgate_oauth_token t JOIN sys_user u ON u.sys_id = t.user_id \
                 WHERE t.token_hash = $1 AND t.kind = 'access' AND u.active = $2 AND u.locked_out = $3 \
                 UNION ALL \
                 SELECT u.sys_id, u.user_name, k.expires_at, 'key' AS kind \
                 FROM tollgate_api_key k JOIN sys_user u ON u.sys_id = k.user_id \
                 WHERE k.key_hash = $1 AND u.active = $2 AND u.locked_out = $3",
                &[Value::Text(hash.clone()), Value::Bool(true), Value::Bool(false)],
            )
            .await?;
        let Some(row) = found else {
            attempt.failed();
            return Err(Error::unauthenticated());
        };
        let expires_at = row.int("expires_at");
        if expires_at.is_some_and(|exp| exp <= now) {
            attempt.failed();
            let detail = if row.string("kind") == "key" {
                "The API key has expired; ask an administrator for a new one"
            } else {
                "The access token has expired; request a new one"
            };
            return Err(Error::unauthenticated().with_detail(detail));
        }
        attempt.succeeded();
        let caller = self
            .load_caller(&row.string("sys_id"), &row.string("user_name"))
            .await?;
        let mut cache = self.tokens.write().unwrap_or_else(|e| e.into_inner());
        if cache.len() >= CACHE_MAX {
            cache.clear();
        }
        cache.insert(
            hash,
            CachedCaller {
                verifier: [0; 32],
                caller: caller.clone(),
                cached_at: Instant::now(),
                expires_at,
            },
        );
        Ok(caller)
    }

    /// The caller of a live console session (`sessions::find`), with the
    /// user's roles as they are now.
    pub async fn session_caller(&self, session: &sessions::Found) -> Result<Caller> {
        self.load_caller(&session.user_id, &session.user_name).await
    }

    async fn load_caller(&self, user_id: &str, user_name: &str) -> Result<Caller> {
        let roles = users::role_names(&self.db, user_id).await?;
        Ok(Caller {
            user_id: user_id.to_owned(),
            user_name: user_name.to_owned(),
            roles: roles.into(),
        })
    }

    /// Forgets every cached credential on this replica.
    pub fn clear_cache(&self) {
        self.passwords
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .clear();
        self.tokens
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .clear();
    }

    /// Reads the shared identity epoch; drops the cache when another replica
    /// (or a CLI command) changed identity data since the last look.
    pub async fn refresh_epoch(&self) -> Result<()> {
        let row = self
            .db
            .fetch_optional(
                "SELECT value FROM tollgate_state WHERE name = 'identity_epoch'",
                &[],
            )
            .await?;
        let current = row.and_then(|r| r.int("value")).unwrap_or(0);
        let seen = self.epoch.swap(current, Ordering::SeqCst);
        if seen != current {
            self.clear_cache();
        }
        Ok(())
    }

    /// Issues an access token (and a refresh token) for `caller`.
    pub async fn issue_tokens(&self, user_id: &str) -> Result<IssuedTokens> {
        let access = crate::ids::random_secret(32);
        let refresh = crate::ids::random_secret(32);
        let now = chrono::Utc::now().timestamp();
        let access_exp = now + self.access_token_ttl.as_secs() as i64;
        let refresh_exp = now + self.refresh_token_ttl.as_secs() as i64;
        let mut tx = self.db.begin().await?;
        for (kind, token, exp) in [
            ("access", &access, access_exp),
            ("refresh", &refresh, refresh_exp),
        ] {
            tx.execute(
                "INSERT INTO tollgate_oauth_token (id, user_id, kind, token_hash, expires_at, created_on) \
                 VALUES ($1, $2, $3, $4, $5, $6)",
                &[
                    Value::Text(crate::ids::new_sys_id()),
                    Value::from(user_id),
                    Value::from(kind),
                    Value::Text(token_hash(token)),
                    Value::Int(exp),
                    Value::Text(crate::time::now_string()),
                ],
            )
            .await?;
        }
        tx.commit().await?;
        Ok(IssuedTokens {
            access_token: access,
            refresh_token: refresh,
            expires_in: self.access_token_ttl.as_secs(),
        })
    }

    /// Exchanges a refresh token for new tokens; the old refresh token is spent.
    pub async fn refresh_tokens(
        &self,
        refresh_token: &str,
        client: Client,
    ) -> Result<IssuedTokens> {
        let hash = token_hash(refresh_token);
        let now = chrono::Utc::now().timestamp();
        let attempt = self.admit(None, client)?;
        let found = self
            .db
            .fetch_optional(
                "SELECT t.id, t.user_id, t.expires_at FROM tollgate_oauth_token t \
                 JOIN sys_user u ON u.sys_id = t.user_id \
                 WHERE t.token_hash = $1 AND t.kind = 'refresh' AND u.active = $2 \
                 AND u.locked_out = $3",
                &[Value::Text(hash), Value::Bool(true), Value::Bool(false)],
            )
            .await?;
        let row = match found {
            Some(row) if row.int("expires_at").unwrap_or(0) > now => row,
            _ => {
                attempt.failed();
                return Err(Error::unauthenticated());
            }
        };
        attempt.succeeded();
        let spent = self
            .db
            .execute(
                "DELETE FROM tollgate_oauth_token WHERE id = $1",
                &[Value::Text(row.string("id"))],
            )
            .await?;
        if spent != 1 {
            // Another request used the same refresh token first.
            return Err(Error::unauthenticated());
        }
        self.issue_tokens(&row.string("user_id")).await
    }
}

pub struct IssuedTokens {
    pub access_token: String,
    pub refresh_token: String,
    pub expires_in: u64,
}

/// Tokens and keys are stored only as this hash.
pub fn token_hash(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

/// A valid Argon2id hash of a random password, verified against when the user
/// does not exist, so that such a check costs what a real one costs.
async fn dummy_hash() -> &'static str {
    static DUMMY: tokio::sync::OnceCell<String> = tokio::sync::OnceCell::const_new();
    DUMMY
        .get_or_init(|| async {
            password::hash(&crate::ids::random_secret(16))
                .await
                .unwrap_or_default()
        })
        .await
}
