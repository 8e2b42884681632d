//! API keys: created for a user (shown once, stored as a hash), optionally
//! expiring, listed and revoked by the operator (`tollgate apikey`) or by
//! `admin` through `/api/tollgate/api_keys`. A listing never shows a key
//! or its hash. Creating or revoking a key moves the identity epoch, so a
//! revoked key stops working at once on the replica that revoked it and
//! within the epoch poll on the others.

use chrono::{NaiveTime, TimeZone, Utc};
use serde::Serialize;

use super::{token_hash, users};
use crate::error::{Error, Result};
use crate::ids::{is_sys_id, new_sys_id, random_secret};
use crate::storage::{Db, Value};
use crate::time::{format_date_time, now_string, parse_date};

/// The longest expiry a key may be given in days (about 100 years): beyond
/// it, "never" is what is meant and is said by giving none.
const MAX_DAYS: i64 = 36_500;

/// A key as listed: everything but the secret.
#[derive(Clone, Debug, Serialize)]
pub struct ApiKeyInfo {
    pub id: String,
    pub user: String,
    pub name: String,
    pub created_on: String,
    /// UTC date-time after which the key is refused; None never expires.
    pub expires_on: Option<String>,
    pub expired: bool,
}

/// A new key: its id (to revoke it by) and the key itself, shown once.
pub struct NewApiKey {
    pub id: String,
    pub key: String,
    pub expires_on: Option<String>,
}

/// When a key given `days` of life or an expiry `date` (YYYY-MM-DD: the key
/// is refused from 00:00 UTC that day) expires, in epoch seconds. Neither
/// given: never. `field_days`/`field_date` name the fields in errors.
pub fn expiry(
    days: Option<i64>,
    date: Option<&str>,
    field_days: &str,
    field_date: &str,
) -> Result<Option<i64>> {
    let now = Utc::now();
    match (days, date) {
        (Some(_), Some(_)) => Err(Error::invalid(
            field_date,
            format!("give either {field_days} or {field_date}, not both"),
        )),
        (Some(days), None) => {
            if !(1..=MAX_DAYS).contains(&days) {
                return Err(Error::invalid(
                    field_days,
                    format!("must be a whole number of days from 1 to {MAX_DAYS}"),
                ));
            }
            Ok(Some(now.timestamp() + days * 86_400))
        }
        (None, Some(text)) => {
            let day = parse_date(text).ok_or_else(|| {
                Error::invalid(field_date, format!("{text:?} is not a date (YYYY-MM-DD)"))
            })?;
            let at = Utc
                .from_utc_datetime(&day.and_time(NaiveTime::MIN))
                .timestamp();
            if at <= now.timestamp() {
                return Err(Error::invalid(
                    field_date,
                    format!("{text} is not in the future"),
                ));
            }
            Ok(Some(at))
        }
        (None, None) => Ok(None),
    }
}

fn show_expiry(expires_at: Option<i64>) -> Option<String> {
    expires_at
        .and_then(|t| Utc.timestamp_opt(t, 0).single())
        .map(format_date_time)
}

/// Creates a key for `user_name`, refused from `expires_at` (epoch seconds)
/// on when given.
pub async fn create(
    db: &Db,
    user_name: &str,
    key_name: &str,
    expires_at: Option<i64>,
) -> Result<NewApiKey> {
    if key_name.trim().is_empty() {
        return Err(Error::missing("name"));
    }
    let user_id = users::user_id_by_name(db, user_name)
        .await?
        .ok_or_else(|| Error::invalid("user", format!("no user named {user_name:?}")))?;
    let key = format!("tg_{}", random_secret(24));
    let id = new_sys_id();
    let mut tx = db.begin().await?;
    tx.execute(
        "INSERT INTO tollgate_api_key (id, user_id, name, key_hash, created_on, expires_at) \
         VALUES ($1, $2, $3, $4, $5, $6)",
        &[
            Value::Text(id.clone()),
            Value::Text(user_id),
            Value::from(key_name.trim()),
            Value::Text(token_hash(&key)),
            Value::Text(now_string()),
            expires_at.map(Value::Int).unwrap_or(Value::NullInt),
        ],
    )
    .await?;
    users::bump_identity_epoch(&mut tx).await?;
    tx.commit().await?;
    Ok(NewApiKey {
        id,
        key,
        expires_on: show_expiry(expires_at),
    })
}

/// Every key (of one user, when named), oldest first.
pub async fn list(db: &Db, user_name: Option<&str>) -> Result<Vec<ApiKeyInfo>> {
    let now = Utc::now().timestamp();
    let rows = db
        .fetch_all(
            "SELECT k.id, u.user_name, k.name, k.created_on, k.expires_at \
             FROM tollgate_api_key k JOIN sys_user u ON u.sys_id = k.user_id \
             WHERE ($1 = '' OR u.user_name = $1) ORDER BY k.created_on, k.id",
            &[Value::from(user_name.unwrap_or(""))],
        )
        .await?;
    Ok(rows
        .iter()
        .map(|r| {
            let expires_at = r.int("expires_at");
            ApiKeyInfo {
                id: r.string("id"),
                user: r.string("user_name"),
                name: r.string("name"),
                created_on: r.string("created_on"),
                expires_on: show_expiry(expires_at),
                expired: expires_at.is_some_and(|t| t <= now),
            }
        })
        .collect())
}

/// Revokes (deletes) the key with `id`.
pub async fn revoke(db: &Db, id: &str) -> Result<()> {
    let not_found = || Error::not_found(format!("No API key with id {id}")).with_field("id");
    if !is_sys_id(id) {
        return Err(not_found());
    }
    let mut tx = db.begin().await?;
    let n = tx
        .execute(
            "DELETE FROM tollgate_api_key WHERE id = $1",
            &[Value::from(id)],
        )
        .await?;
    if n == 0 {
        return Err(not_found());
    }
    users::bump_identity_epoch(&mut tx).await?;
    tx.commit().await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_expiry_is_days_from_now_or_a_future_date_never_both() {
        let now = Utc::now().timestamp();
        let in_30 = expiry(Some(30), None, "days", "date").unwrap().unwrap();
        assert!((in_30 - now - 30 * 86_400).abs() < 5);
        assert_eq!(expiry(None, None, "days", "date").unwrap(), None);
        let at = expiry(None, Some("2999-01-31"), "days", "date")
            .unwrap()
            .unwrap();
        assert_eq!(
            show_expiry(Some(at)).as_deref(),
            Some("2999-01-31 00:00:00")
        );
        for (days, date, field) in [
            (Some(0), None, "days"),
            (Some(-3), None, "days"),
            (Some(MAX_DAYS + 1), None, "days"),
            (None, Some("2001-01-01"), "date"),
            (None, Some("31/01/2999"), "date"),
            (Some(3), Some("2999-01-31"), "date"),
        ] {
            let err = expiry(days, date, "days", "date").unwrap_err();
            assert_eq!(err.field.as_deref(), Some(field), "{err:?}");
            assert!(err.message.starts_with(field), "{}", err.message);
        }
    }
}
