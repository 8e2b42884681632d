//! Reversible encryption of stored secrets (a remote instance's password, a
//! secure configuration value). ChaCha20-Poly1305 with a 256-bit key from the
//! server's configuration (`secret_key`, 64 hex digits); without one, a key
//! generated on first use is kept in the database (`tollgate_secret`), which
//! protects exports and backups of single tables but not of the whole
//! database: production sets `secret_key`.

use std::sync::OnceLock;

use chacha20poly1305::aead::{Aead, KeyInit};
use chacha20poly1305::{ChaCha20Poly1305, Key, Nonce};

use crate::error::{Error, Result};
use crate::storage::{Db, Tx, Value};

/// Stored ciphertexts start with this, so a value is never encrypted twice.
const PREFIX: &str = "enc:v1:";

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

pub fn is_encrypted(text: &str) -> bool {
    text.starts_with(PREFIX)
}

/// Encrypts `clear` with the server's key, inside the caller's transaction
/// (which creates the database-held key on first use).
pub async fn encrypt(tx: &mut Tx, clear: &str) -> Result<String> {
    let key = key_in_tx(tx).await?;
    seal(&key, clear)
}

/// Decrypts a stored value; values stored before encryption pass through.
pub async fn decrypt(db: &Db, stored: &str) -> Result<String> {
    if !is_encrypted(stored) {
        return Ok(stored.to_owned());
    }
    let key = match CONFIGURED.get() {
        Some(k) => *k,
        None => {
            let row = db
                .fetch_optional(
                    "SELECT value FROM tollgate_secret WHERE name = 'data_key'",
                    &[],
                )
                .await?;
            decode_key(&row.map(|r| r.string("value")).unwrap_or_default())?
        }
    };
    open(&key, stored)
}

/// Decrypts inside a transaction (which may have created the key).
pub async fn decrypt_in_tx(tx: &mut Tx, stored: &str) -> Result<String> {
    if !is_encrypted(stored) {
        return Ok(stored.to_owned());
    }
    let key = key_in_tx(tx).await?;
    open(&key, stored)
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

fn seal(key: &[u8; 32], clear: &str) -> Result<String> {
    use base64::Engine;
    let cipher = ChaCha20Poly1305::new(Key::from_slice(key));
    let nonce: [u8; 12] = rand::random();
    let sealed = cipher
        .encrypt(Nonce::from_slice(&nonce), clear.as_bytes())
        .map_err(|_| Error::internal("encryption failed"))?;
    let mut out = nonce.to_vec();
    out.extend(sealed);
    Ok(format!(
        "{PREFIX}{}",
        base64::engine::general_purpose::STANDARD.encode(out)
    ))
}

fn open(key: &[u8; 32], stored: &str) -> Result<String> {
    use base64::Engine;
    let undecryptable = || {
        Error::internal(
            "a stored secret cannot be decrypted with this server's key (was secret_key changed?)",
        )
    };
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(&stored[PREFIX.len()..])
        .map_err(|_| undecryptable())?;
    if bytes.len() < 12 {
        return Err(undecryptable());
    }
    let cipher = ChaCha20Poly1305::new(Key::from_slice(key));
    let clear = cipher
        .decrypt(Nonce::from_slice(&bytes[..12]), &bytes[12..])
        .map_err(|_| undecryptable())?;
    String::from_utf8(clear).map_err(|_| undecryptable())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sealed_values_open_with_the_same_key_only() {
        let key = [7u8; 32];
        let sealed = seal(&key, "s3cret").unwrap();
        assert!(is_encrypted(&sealed));
        assert!(!sealed.contains("s3cret"));
        assert_eq!(open(&key, &sealed).unwrap(), "s3cret");
        assert!(open(&[8u8; 32], &sealed).is_err());
        // A fresh nonce each time: the same secret never looks the same twice.
        assert_ne!(seal(&key, "s3cret").unwrap(), sealed);
    }
}
