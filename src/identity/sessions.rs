//! Release console sessions: a random token in an HttpOnly cookie, its
//! SHA-256 in `tollgate_console_session` (so every replica shares it and a
//! copy of the database signs no one in), with a CSRF token of its own.
//!
//! A session ends at the first of: `console_session_idle` seconds without a
//! request, `console_session_max` seconds after sign-in, sign-out, or its
//! user becoming inactive or locked out. Sessions are not data the API
//! answers depend on, so their writes go straight to the database without
//! moving the data epoch.

use chrono::Utc;
use subtle::ConstantTimeEq;

use super::token_hash;
use crate::error::Result;
use crate::storage::{Db, Value};

/// How long sessions last.
#[derive(Clone, Copy, Debug)]
pub struct Lifetimes {
    /// Seconds without a request.
    pub idle: i64,
    /// Seconds after sign-in, at most.
    pub max: i64,
}

/// `last_seen_at` is written again only when it is older than this (or a
/// tenth of the idle time, if less), so a busy session costs no write per page.
const TOUCH_EVERY: i64 = 60;

/// A live session, as found by its token.
#[derive(Clone, Debug)]
pub struct Found {
    pub user_id: String,
    pub user_name: String,
    pub csrf_token: String,
}

impl Found {
    /// Whether `presented` is this session's CSRF token (constant time).
    pub fn csrf_matches(&self, presented: &str) -> bool {
        !presented.is_empty() && bool::from(self.csrf_token.as_bytes().ct_eq(presented.as_bytes()))
    }
}

/// A new session for `user_id`: answers the token for the cookie and the
/// session's CSRF token.
pub async fn create(db: &Db, user_id: &str, lifetimes: Lifetimes) -> Result<(String, String)> {
    let token = crate::ids::random_secret(32);
    let csrf = crate::ids::random_secret(32);
    let now = Utc::now().timestamp();
    // Expired sessions of anyone go as new ones come.
    db.execute(
        "DELETE FROM tollgate_console_session WHERE expires_at <= $1 OR last_seen_at <= $2",
        &[Value::Int(now), Value::Int(now - lifetimes.idle)],
    )
    .await?;
    db.execute(
        "INSERT INTO tollgate_console_session \
         (token_hash, user_id, csrf_token, created_at, last_seen_at, expires_at) \
         VALUES ($1, $2, $3, $4, $4, $5)",
        &[
            Value::Text(token_hash(&token)),
            Value::from(user_id),
            Value::Text(csrf.clone()),
            Value::Int(now),
            Value::Int(now + lifetimes.max),
        ],
    )
    .await?;
    Ok((token, csrf))
}

/// The live session of `token`, if any; an expired one is deleted.
pub async fn find(db: &Db, token: &str, lifetimes: Lifetimes) -> Result<Option<Found>> {
    if token.is_empty() || token.len() > 128 {
        return Ok(None);
    }
    let hash = token_hash(token);
    let row = db
        .fetch_optional(
            "SELECT s.user_id, s.csrf_token, s.last_seen_at, s.expires_at, u.user_name \
             FROM tollgate_console_session s JOIN sys_user u ON u.sys_id = s.user_id \
             WHERE s.token_hash = $1 AND u.active = $2 AND u.locked_out = $3",
            &[
                Value::Text(hash.clone()),
                Value::Bool(true),
                Value::Bool(false),
            ],
        )
        .await?;
    let Some(row) = row else {
        return Ok(None);
    };
    let now = Utc::now().timestamp();
    let last_seen = row.int("last_seen_at").unwrap_or(0);
    let expires = row.int("expires_at").unwrap_or(0);
    if expires <= now || last_seen + lifetimes.idle <= now {
        delete(db, token).await?;
        return Ok(None);
    }
    if now - last_seen >= TOUCH_EVERY.min(lifetimes.idle / 10).max(1) {
        db.execute(
            "UPDATE tollgate_console_session SET last_seen_at = $1 WHERE token_hash = $2",
            &[Value::Int(now), Value::Text(hash)],
        )
        .await?;
    }
    Ok(Some(Found {
        user_id: row.string("user_id"),
        user_name: row.string("user_name"),
        csrf_token: row.string("csrf_token"),
    }))
}

/// Ends the session of `token` (sign-out).
pub async fn delete(db: &Db, token: &str) -> Result<()> {
    db.execute(
        "DELETE FROM tollgate_console_session WHERE token_hash = $1",
        &[Value::Text(token_hash(token))],
    )
    .await?;
    Ok(())
}
