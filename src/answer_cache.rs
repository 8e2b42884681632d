//! Answers that are expensive to compute and read far more often than the
//! data under them changes (bundle aggregates, policy status), cached per
//! process and keyed by the data epoch: an answer computed at epoch N is
//! served while the epoch is still N, and every committed write moves the
//! epoch (see `storage::Tx::commit`). Replicas share nothing but the epoch.

use std::collections::HashMap;
use std::future::Future;
use std::sync::Mutex;

use axum::body::Bytes;
use sha2::{Digest, Sha256};

use crate::error::Result;
use crate::storage::Db;

/// Entries at most, whatever their size (each costs a map slot).
const MAX_ENTRIES: usize = 4096;

/// Answers by key, with the bytes they hold: keys and bodies both count,
/// since a key made from a request could be as large as the request.
#[derive(Default)]
struct Entries {
    map: HashMap<String, (i64, Bytes)>,
    bytes: usize,
}

pub struct AnswerCache {
    entries: Mutex<Entries>,
    max_bytes: usize,
}

impl Default for AnswerCache {
    fn default() -> Self {
        AnswerCache::new(64 * 1024 * 1024)
    }
}

/// A short cache key for a request document: `prefix` and the SHA-256 of
/// its canonical JSON (object keys sorted), so that a large request does not
/// become a large key and equal requests written differently share one.
pub fn key_for(prefix: &str, document: &serde_json::Value) -> String {
    let digest = Sha256::digest(document.to_string().as_bytes());
    format!("{prefix}:{}", hex::encode(digest))
}

impl AnswerCache {
    /// A cache holding at most `max_bytes` of keys and answers; an answer
    /// larger than that is computed every time and never stored.
    pub fn new(max_bytes: usize) -> AnswerCache {
        AnswerCache {
            entries: Mutex::new(Entries::default()),
            max_bytes,
        }
    }

    /// The entries held and the bytes they hold.
    pub fn usage(&self) -> (usize, usize) {
        let entries = self.entries.lock().unwrap_or_else(|e| e.into_inner());
        (entries.map.len(), entries.bytes)
    }

    /// The cached answer for `key` if it was computed at the current epoch;
    /// otherwise computes, stores and returns it. Errors are not cached.
    pub async fn get_or_compute<F, Fut>(&self, db: &Db, key: String, compute: F) -> Result<Bytes>
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<Bytes>>,
    {
        // Read the epoch before computing: a write that lands meanwhile moves
        // it, so an answer that missed that write is never served again.
        let epoch = db.data_epoch().await?;
        if let Some((cached_epoch, body)) = self
            .entries
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .map
            .get(&key)
        {
            if *cached_epoch == epoch {
                return Ok(body.clone());
            }
        }
        let body = compute().await?;
        let size = key.len() + body.len();
        if size > self.max_bytes {
            return Ok(body);
        }
        let mut entries = self.entries.lock().unwrap_or_else(|e| e.into_inner());
        if let Some((_, old)) = entries.map.remove(&key) {
            entries.bytes -= key.len() + old.len();
        }
        if entries.bytes + size > self.max_bytes || entries.map.len() >= MAX_ENTRIES {
            // Answers of older epochs are never served again: drop them
            // first, then as many others as it takes.
            entries.evict(|cached| cached != epoch, 0);
            entries.evict(|_| true, self.max_bytes - size);
            if entries.map.len() >= MAX_ENTRIES {
                *entries = Entries::default();
            }
        }
        entries.bytes += size;
        entries.map.insert(key, (epoch, body.clone()));
        Ok(body)
    }
}

impl Entries {
    /// Removes entries that `pick` chooses (by their epoch) until at most
    /// `down_to` bytes remain.
    fn evict(&mut self, pick: impl Fn(i64) -> bool, down_to: usize) {
        let mut bytes = self.bytes;
        self.map.retain(|key, (epoch, body)| {
            if bytes <= down_to || !pick(*epoch) {
                return true;
            }
            bytes -= key.len() + body.len();
            false
        });
        self.bytes = bytes;
    }
}
