//! Managing users, role assignments and API keys (CLI and start-up).

use super::{password, roles};
use crate::error::{Error, Result};
use crate::ids::{new_sys_id, random_secret};
use crate::storage::{Db, Executor, Record, Tx, Value};
use crate::time::now_string;

const ROLE_NAMES: &str =
    "SELECT r.name FROM sys_user_has_role h JOIN sys_user_role r ON r.sys_id = h.role \
     WHERE h.\"user\" = $1 ORDER BY r.name";

/// The names of the roles a user holds.
pub async fn role_names(mut ex: impl Executor, user_id: &str) -> Result<Vec<String>> {
    let rows = ex.fetch_all(ROLE_NAMES, &[Value::from(user_id)]).await?;
    Ok(rows.iter().map(|r| r.string("name")).collect())
}

crate::record! {
    /// A user's own record, as `GET /api/tollgate/me` shows it to that user.
    pub struct Profile in "sys_user" {
        pub sys_id: String,
        pub user_name: String,
        pub name: Option<String>,
        pub first_name: Option<String>,
        pub last_name: Option<String>,
        pub email: Option<String>,
    }
}

impl Profile {
    /// The user's full name. Records made through the Table API may leave
    /// `name` empty; the vendor fills it from the first and last names.
    pub fn display_name(&self) -> String {
        match self.name.as_deref() {
            Some(name) if !name.is_empty() => name.to_owned(),
            _ => format!(
                "{} {}",
                self.first_name.as_deref().unwrap_or(""),
                self.last_name.as_deref().unwrap_or("")
            )
            .trim()
            .to_owned(),
        }
    }
}

/// The record of the user `user_id`; None when it is gone.
pub async fn profile(mut ex: impl Executor, user_id: &str) -> Result<Option<Profile>> {
    Ok(ex
        .fetch_record(
            &Profile::select_where("sys_id = $1"),
            &[Value::from(user_id)],
        )
        .await?)
}

/// Records that identity data changed, so every replica drops its cache.
pub async fn bump_identity_epoch(tx: &mut Tx) -> Result<()> {
    tx.execute(
        "UPDATE tollgate_state SET value = value + 1 WHERE name = 'identity_epoch'",
        &[],
    )
    .await?;
    Ok(())
}

/// Makes sure every known role exists (idempotent; run on start-up).
pub async fn seed_roles(db: &Db) -> Result<()> {
    let now = now_string();
    for (name, description) in roles::ALL {
        db.execute(
            "INSERT INTO sys_user_role (sys_id, sys_created_on, sys_created_by, sys_updated_on, \
             sys_updated_by, sys_mod_count, name, description) \
             VALUES ($1, $2, 'system', $2, 'system', 0, $3, $4) ON CONFLICT (name) DO NOTHING",
            &[
                Value::Text(new_sys_id()),
                Value::Text(now.clone()),
                Value::from(*name),
                Value::from(*description),
            ],
        )
        .await?;
    }
    Ok(())
}

pub async fn user_id_by_name(db: &Db, user_name: &str) -> Result<Option<String>> {
    Ok(db
        .fetch_optional(
            "SELECT sys_id FROM sys_user WHERE user_name = $1",
            &[Value::from(user_name)],
        )
        .await?
        .map(|r| r.string("sys_id")))
}

pub async fn count_users(db: &Db) -> Result<i64> {
    Ok(db
        .fetch_optional("SELECT COUNT(*) AS n FROM sys_user", &[])
        .await?
        .and_then(|r| r.int("n"))
        .unwrap_or(0))
}

/// A user to create.
pub struct NewUser<'a> {
    pub sys_id: Option<&'a str>,
    pub user_name: &'a str,
    pub first_name: &'a str,
    pub last_name: &'a str,
    pub email: &'a str,
    pub password: Option<&'a str>,
    pub roles: &'a [&'a str],
}

/// Creates a user with the given roles (all must exist). When the user name
/// is taken, updates its password and adds the roles instead.
pub async fn upsert_user(db: &Db, user: &NewUser<'_>, actor: &str) -> Result<String> {
    let hashed = match user.password {
        Some(p) => Some(password::hash(p).await?),
        None => None,
    };
    let now = now_string();
    let mut tx = db.begin().await?;
    let existing = tx
        .fetch_optional(
            "SELECT sys_id FROM sys_user WHERE user_name = $1",
            &[Value::from(user.user_name)],
        )
        .await?;
    let user_id = match existing {
        Some(row) => {
            let id = row.string("sys_id");
            if let Some(h) = &hashed {
                tx.execute(
                    "UPDATE sys_user SET user_password = $1, sys_updated_on = $2, sys_updated_by = $3, \
                     sys_mod_count = sys_mod_count + 1 WHERE sys_id = $4",
                    &[Value::Text(h.clone()), Value::Text(now.clone()), Value::from(actor), Value::Text(id.clone())],
                )
                .await?;
                revoke_tokens(&mut tx, &id).await?;
            }
            id
        }
        None => {
            let id = user.sys_id.map(str::to_owned).unwrap_or_else(new_sys_id);
            let name = format!("{} {}", user.first_name, user.last_name)
                .trim()
                .to_owned();
            tx.execute(
                "INSERT INTO sys_user (sys_id, sys_created_on, sys_created_by, sys_updated_on, sys_updated_by, \
                 sys_mod_count, user_name, first_name, last_name, name, email, active, locked_out, user_password) \
                 VALUES ($1, $2, $3, $2, $3, 0, $4, $5, $6, $7, $8, $9, $10, $11)",
                &[
                    Value::Text(id.clone()),
                    Value::Text(now.clone()),
                    Value::from(actor),
                    Value::from(user.user_name),
                    Value::from(user.first_name),
                    Value::from(user.last_name),
                    Value::Text(if name.is_empty() { user.user_name.to_owned() } else { name }),
                    Value::from(user.email),
                    Value::Bool(true),
                    Value::Bool(false),
                    Value::from(hashed),
                ],
            )
            .await?;
            id
        }
    };
    for role in user.roles {
        let role_row = tx
            .fetch_optional(
                "SELECT sys_id FROM sys_user_role WHERE name = $1",
                &[Value::from(*role)],
            )
            .await?
            .ok_or_else(|| Error::invalid("roles", format!("no role named {role:?}")))?;
        tx.execute(
            "INSERT INTO sys_user_has_role (sys_id, sys_created_on, sys_created_by, sys_updated_on, \
             sys_updated_by, sys_mod_count, \"user\", role) VALUES ($1, $2, $3, $2, $3, 0, $4, $5) \
             ON CONFLICT (\"user\", role) DO NOTHING",
            &[
                Value::Text(new_sys_id()),
                Value::Text(now.clone()),
                Value::from(actor),
                Value::Text(user_id.clone()),
                Value::Text(role_row.string("sys_id")),
            ],
        )
        .await?;
    }
    bump_identity_epoch(&mut tx).await?;
    tx.commit().await?;
    Ok(user_id)
}

/// Creates the `admin` user with every role on first start.
///
/// With a configured password: when no user `admin` exists. Without one: when
/// no user exists at all, with a random password that is returned (to print
/// once).
pub async fn ensure_admin(db: &Db, configured_password: Option<&str>) -> Result<Option<String>> {
    let all_roles: Vec<&str> = roles::ALL.iter().map(|(n, _)| *n).collect();
    let admin = NewUser {
        sys_id: Some("6816f79cc0a8016401c5a33be04be441"),
        user_name: "admin",
        first_name: "System",
        last_name: "Administrator",
        email: "admin@example.com",
        password: None,
        roles: &all_roles,
    };
    match configured_password {
        Some(password) => {
            if user_id_by_name(db, "admin").await?.is_none() {
                upsert_user(
                    db,
                    &NewUser {
                        password: Some(password),
                        ..admin
                    },
                    "system",
                )
                .await?;
            }
            Ok(None)
        }
        None => {
            if count_users(db).await? > 0 {
                return Ok(None);
            }
            let generated = random_secret(12);
            upsert_user(
                db,
                &NewUser {
                    password: Some(&generated),
                    ..admin
                },
                "system",
            )
            .await?;
            Ok(Some(generated))
        }
    }
}

/// Creates an API key for a user that never expires; returns the key
/// (shown once, stored hashed). See [`super::api_keys`] for expiring keys.
pub async fn create_api_key(db: &Db, user_name: &str, key_name: &str) -> Result<String> {
    Ok(super::api_keys::create(db, user_name, key_name, None)
        .await?
        .key)
}

/// Whether a change to a user's fields ends the sessions it has open: a new
/// password (whoever had the old one may have taken tokens with it), a lock
/// or a deactivation (the user must stop working at once, not when its
/// tokens expire).
pub fn ends_sessions(changed: &[(&str, Value)]) -> bool {
    changed.iter().any(|(name, value)| match *name {
        "user_password" => true,
        "locked_out" => matches!(value, Value::Bool(true)),
        "active" => matches!(value, Value::Bool(false)),
        _ => false,
    })
}

/// Revokes every OAuth token (access and refresh) of a user, inside the
/// caller's transaction, which also moves the identity epoch.
pub async fn revoke_tokens(tx: &mut Tx, user_id: &str) -> Result<()> {
    tx.execute(
        "DELETE FROM tollgate_oauth_token WHERE user_id = $1",
        &[Value::from(user_id)],
    )
    .await?;
    bump_identity_epoch(tx).await
}

/// A deleted user's tokens and API keys go with it, so that no credential
/// outlives its user (nor passes to a later user given the same sys_id).
pub async fn forget_credentials(tx: &mut Tx, user_id: &str) -> Result<()> {
    tx.execute(
        "DELETE FROM tollgate_api_key WHERE user_id = $1",
        &[Value::from(user_id)],
    )
    .await?;
    revoke_tokens(tx, user_id).await
}
