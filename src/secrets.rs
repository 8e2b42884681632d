//! Reversible encryption of stored secrets (a remote instance's password, a
//! secure configuration value). ChaCha20-Poly1305 with a 256-bit key from the
//! server's configuration (`secret_key`, 64 hex digits); without one, a key
//! generated on first use is kept in the database (`tollgate_secret`), which
//! protects exports and backups of single tables but not of the whole
//! database: production sets `secret_key`.
//!
//! A ciphertext is `enc:v2:` + base64(nonce ‖ sealed), sealed with the
//! associated data `table \0 column \0 row`: it opens only where it was
//! made, so a ciphertext copied into another column or record (by a client,
//! or by any path that moves stored text) never decrypts there. Values of
//! the retired format `enc:v1:` carried no such binding, and the server
//! cannot tell one it made from one a client planted: they are refused,
//! with a message asking for the value to be entered again.

use std::sync::OnceLock;

use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{ChaCha20Poly1305, Key, Nonce};

use crate::error::{Error, Result};
use crate::storage::{Db, Executor, Tx, Value};

/// Stored ciphertexts start with this.
const PREFIX: &str = "enc:v2:";

/// The retired, unbound format.
const V1_PREFIX: &str = "enc:v1:";

/// What every stored ciphertext, of any version, starts with.
const ANY_PREFIX: &str = "enc:";

/// Where a ciphertext belongs: sealed into it as associated data, checked
/// when it is opened.
#[derive(Clone, Copy, Debug)]
pub struct Binding<'a> {
    pub table: &'a str,
    pub column: &'a str,
    /// The record's sys_id, or [`ANY_ROW`] for values that travel between
    /// records by design.
    pub row: &'a str,
}

/// The row of a binding shared by every record of a column.
pub const ANY_ROW: &str = "*";

impl<'a> Binding<'a> {
    pub fn new(table: &'a str, column: &'a str, row: &'a str) -> Binding<'a> {
        Binding { table, column, row }
    }

    /// A CDM secure value. It is copied, as stored, from node version to
    /// node version and into snapshots and exports (revealed only to callers
    /// with `sn_cdm.cdm_secrets`), so it is bound to its table and column,
    /// not to one row: it can never open as anything but a CDM secure value.
    pub fn cdm_secure_value() -> Binding<'static> {
        Binding::new("sn_cdm_node", "secure_value", ANY_ROW)
    }

    fn associated_data(&self) -> Vec<u8> {
        format!("{}\0{}\0{}", self.table, self.column, self.row).into_bytes()
    }
}

/// The key from the configuration, installed once at start-up.
static CONFIGURED: OnceLock<[u8; 32]> = OnceLock::new();

/// Installs the configured key (64 hex digits).
pub fn configure(hex_key: &str) -> Result<()> {
    let bytes = hex::decode(hex_key.trim())
        .ok()
        .filter(|b| b.len() == 32)
        .ok_or_else(|| Error::invalid("secret_key", "must be 64 hexadecimal digits (32 bytes)"))?;
    let mut key = [0u8; 32];
    key.copy_from_slice(&bytes);
    let _ = CONFIGURED.set(key);
    Ok(())
}

/// Whether a text is (or claims to be) a stored ciphertext of any version:
/// such text is masked when shown and never accepted from a client.
pub fn is_encrypted(text: &str) -> bool {
    text.starts_with(ANY_PREFIX)
}

/// Where the ciphertexts of any version (`enc:vN:` and base64) are in a text
/// that embeds stored values (a rendered export), as byte ranges.
pub fn tokens(text: &str) -> Vec<(usize, usize)> {
    let mut out = Vec::new();
    let mut from = 0;
    while let Some(found) = text[from..].find("enc:v") {
        let start = from + found;
        let after_v = start + "enc:v".len();
        let digits = text[after_v..]
            .find(|c: char| !c.is_ascii_digit())
            .unwrap_or(text.len() - after_v);
        let colon = after_v + digits;
        if digits == 0 || !text[colon..].starts_with(':') {
            from = after_v;
            continue;
        }
        let body = colon + 1;
        let len = text[body..]
            .find(|c: char| !(c.is_ascii_alphanumeric() || c == '+' || c == '/' || c == '='))
            .unwrap_or(text.len() - body);
        out.push((start, body + len));
        from = body + len;
    }
    out
}

/// Stored secrets in the retired `enc:v1:` format, which are no longer
/// decrypted, by `table.column` (for a warning at start-up).
pub async fn retired_values(db: &Db) -> Result<Vec<(String, i64)>> {
    let mut out = Vec::new();
    for (table, column) in [
        ("sys_update_set_source", "password"),
        ("sn_cdm_node", "secure_value"),
    ] {
        let n = db
            .fetch_optional(
                &format!("SELECT COUNT(*) AS n FROM {table} WHERE {column} LIKE $1"),
                &[Value::from(format!("{V1_PREFIX}%"))],
            )
            .await?
            .and_then(|r| r.int("n"))
            .unwrap_or(0);
        if n > 0 {
            out.push((format!("{table}.{column}"), n));
        }
    }
    Ok(out)
}

/// Encrypts `clear` for `binding` with the server's key, inside the caller's
/// transaction (which creates the database-held key on first use).
pub async fn encrypt(tx: &mut Tx, clear: &str, binding: &Binding<'_>) -> Result<String> {
    let key = key_in_tx(tx).await?;
    seal(&key, clear, binding)
}

/// Decrypts a stored value where `binding` says it belongs; values stored
/// before encryption pass through. Reads the key from the pool (`&db`) or
/// inside a transaction (`&mut tx`, which sees a key it created itself).
pub async fn decrypt(mut ex: impl Executor, stored: &str, binding: &Binding<'_>) -> Result<String> {
    if !is_encrypted(stored) {
        return Ok(stored.to_owned());
    }
    let key = match CONFIGURED.get() {
        Some(k) => *k,
        None => {
            let row = ex
                .fetch_optional(
                    "SELECT value FROM tollgate_secret WHERE name = 'data_key'",
                    &[],
                )
                .await?;
            decode_key(&row.map(|r| r.string("value")).unwrap_or_default())?
        }
    };
    open(&key, stored, binding)
}

async fn key_in_tx(tx: &mut Tx) -> Result<[u8; 32]> {
    if let Some(k) = CONFIGURED.get() {
        return Ok(*k);
    }
    let fresh: [u8; 32] = rand::random();
    tx.execute(
        "INSERT INTO tollgate_secret (name, value) VALUES ('data_key', $1) ON CONFLICT (name) DO NOTHING",
        &[Value::Text(hex::encode(fresh))],
    )
    .await?;
    let row = tx
        .fetch_optional(
            "SELECT value FROM tollgate_secret WHERE name = 'data_key'",
            &[],
        )
        .await?;
    decode_key(&row.map(|r| r.string("value")).unwrap_or_default())
}

fn decode_key(hex_key: &str) -> Result<[u8; 32]> {
    let bytes = hex::decode(hex_key)
        .ok()
        .filter(|b| b.len() == 32)
        .ok_or_else(|| Error::internal("the stored data key is missing or damaged"))?;
    let mut key = [0u8; 32];
    key.copy_from_slice(&bytes);
    Ok(key)
}

fn seal(key: &[u8; 32], clear: &str, binding: &Binding<'_>) -> Result<String> {
    use base64::Engine;
    let cipher = ChaCha20Poly1305::new(Key::from_slice(key));
    let nonce: [u8; 12] = rand::random();
    let aad = binding.associated_data();
    let sealed = cipher
        .encrypt(
            Nonce::from_slice(&nonce),
            Payload {
                msg: clear.as_bytes(),
                aad: &aad,
            },
        )
        .map_err(|_| Error::internal("encryption failed"))?;
    let mut out = nonce.to_vec();
    out.extend(sealed);
    Ok(format!(
        "{PREFIX}{}",
        base64::engine::general_purpose::STANDARD.encode(out)
    ))
}

fn open(key: &[u8; 32], stored: &str, binding: &Binding<'_>) -> Result<String> {
    use base64::Engine;
    let Binding { table, column, row } = *binding;
    if stored.starts_with(V1_PREFIX) {
        return Err(Error::conflict(format!(
            "The stored {table}.{column} of record {row} uses the retired secret format enc:v1, \
             which is not bound to its record and is no longer decrypted; enter the value again"
        ))
        .with_field(column));
    }
    // Said the same way whether the key is wrong or the value was made for
    // another place: which one is nobody's business but the server's log.
    let undecryptable = || {
        Error::conflict(format!(
            "The stored {table}.{column} of record {row} cannot be decrypted here \
             (it was made for another record or with another secret_key); enter the value again"
        ))
        .with_field(column)
    };
    let Some(encoded) = stored.strip_prefix(PREFIX) else {
        return Err(undecryptable());
    };
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(encoded)
        .map_err(|_| undecryptable())?;
    if bytes.len() < 12 {
        return Err(undecryptable());
    }
    let cipher = ChaCha20Poly1305::new(Key::from_slice(key));
    let aad = binding.associated_data();
    let clear = cipher
        .decrypt(
            Nonce::from_slice(&bytes[..12]),
            Payload {
                msg: &bytes[12..],
                aad: &aad,
            },
        )
        .map_err(|_| undecryptable())?;
    String::from_utf8(clear).map_err(|_| undecryptable())
}

#[cfg(test)]
mod tests {
    use super::*;

    const HERE: Binding<'static> = Binding {
        table: "sys_update_set_source",
        column: "password",
        row: "0123456789abcdef0123456789abcdef",
    };

    #[test]
    fn sealed_values_open_with_the_same_key_only() {
        let key = [7u8; 32];
        let sealed = seal(&key, "s3cret", &HERE).unwrap();
        assert!(is_encrypted(&sealed));
        assert!(sealed.starts_with("enc:v2:"));
        assert!(!sealed.contains("s3cret"));
        assert_eq!(open(&key, &sealed, &HERE).unwrap(), "s3cret");
        assert!(open(&[8u8; 32], &sealed, &HERE).is_err());
        // A fresh nonce each time: the same secret never looks the same twice.
        assert_ne!(seal(&key, "s3cret", &HERE).unwrap(), sealed);
    }

    #[test]
    fn a_ciphertext_opens_only_in_its_own_table_column_and_row() {
        let key = [7u8; 32];
        let sealed = seal(&key, "s3cret", &HERE).unwrap();
        let elsewhere = [
            Binding::new(
                "sys_update_set_source",
                "password",
                "fedcba9876543210fedcba9876543210",
            ),
            Binding::new("sys_update_set_source", "username", HERE.row),
            Binding::cdm_secure_value(),
        ];
        for other in elsewhere {
            let err = open(&key, &sealed, &other).unwrap_err();
            assert!(
                err.message.contains("enter the value again"),
                "{}",
                err.message
            );
        }
    }

    #[test]
    fn tokens_of_every_version_are_found_in_text() {
        let text = "a=enc:v2:QUJD+/=\nb=enc:v1:WFla c=enc:vx:no d=enc:v";
        let found: Vec<&str> = tokens(text).iter().map(|&(s, e)| &text[s..e]).collect();
        assert_eq!(found, ["enc:v2:QUJD+/=", "enc:v1:WFla"]);
    }

    #[test]
    fn retired_unbound_ciphertexts_are_refused_with_a_message() {
        let key = [7u8; 32];
        let sealed = seal(&key, "s3cret", &HERE).unwrap();
        let v1 = sealed.replacen("enc:v2:", "enc:v1:", 1);
        let err = open(&key, &v1, &HERE).unwrap_err();
        assert!(err.message.contains("enc:v1") && err.message.contains("enter the value again"));
    }
}
