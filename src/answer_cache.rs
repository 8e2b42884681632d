//! Answers that are expensive to compute and read far more often than the
//! data under them changes (bundle aggregates, policy status), cached per
//! process and keyed by the data epoch: an answer computed at epoch N is
//! served while the epoch is still N, and every committed write moves the
//! epoch (see `storage::Tx::commit`). Replicas share nothing but the epoch.
//!
//! Misses of one key are computed once: concurrent callers that miss the
//! same answer wait for the computation in flight and take its result,
//! instead of each recomputing it (under a steady stream of writes every
//! read after a write would otherwise pay for its own computation).

use std::collections::HashMap;
use std::future::Future;
use std::sync::{Arc, Mutex};

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
    /// A turn per key being computed; a caller missing that key waits for
    /// it. An entry lives while someone holds or waits for its turn.
    in_flight: Mutex<HashMap<String, Arc<tokio::sync::Mutex<()>>>>,
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
            in_flight: Mutex::new(HashMap::new()),
            max_bytes,
        }
    }

    /// The entries held and the bytes they hold.
    pub fn usage(&self) -> (usize, usize) {
        let entries = self.entries.lock().unwrap_or_else(|e| e.into_inner());
        (entries.map.len(), entries.bytes)
    }

    /// How many keys are being computed (or waited for) now.
    pub fn in_flight(&self) -> usize {
        self.in_flight
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .len()
    }

    /// The cached answer for `key` if it was computed at the current epoch;
    /// otherwise computes, stores and returns it, once for all the callers
    /// that miss it together. Errors are not cached.
    pub async fn get_or_compute<F, Fut>(&self, db: &Db, key: String, compute: F) -> Result<Bytes>
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<Bytes>>,
    {
        // Switched off: no answer is ever kept, so neither the epoch nor a
        // turn is worth a round trip or a wait.
        if self.max_bytes == 0 {
            return compute().await;
        }
        // Read the epoch before computing: a write that lands meanwhile moves
        // it, so an answer that missed that write is never served again.
        let epoch = db.data_epoch().await?;
        if let Some(body) = self.cached(&key, epoch) {
            return Ok(body);
        }
        let turn = Turn::take(&self.in_flight, &key);
        let _held = turn.gate.lock().await;
        // The caller whose turn came first may have stored this epoch's
        // answer while this one waited.
        if let Some(body) = self.cached(&key, epoch) {
            return Ok(body);
        }
        let body = compute().await?;
        Ok(self.store(&key, epoch, body))
    }

    fn cached(&self, key: &str, epoch: i64) -> Option<Bytes> {
        let entries = self.entries.lock().unwrap_or_else(|e| e.into_inner());
        match entries.map.get(key) {
            Some((cached_epoch, body)) if *cached_epoch == epoch => Some(body.clone()),
            _ => None,
        }
    }

    /// Keeps `body` as the answer for `key` at `epoch` when it fits the
    /// budget; returns it either way.
    fn store(&self, key: &str, epoch: i64, body: Bytes) -> Bytes {
        let size = key.len() + body.len();
        if size > self.max_bytes {
            return body;
        }
        let mut entries = self.entries.lock().unwrap_or_else(|e| e.into_inner());
        if let Some((_, old)) = entries.map.remove(key) {
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
        entries.map.insert(key.to_owned(), (epoch, body.clone()));
        body
    }
}

/// A caller's place in the queue for one key's computation. Dropped (the
/// answer given, or the request abandoned), it removes the key's gate once
/// nobody else holds or waits for it, so the map never outgrows the
/// computations in flight.
struct Turn<'a> {
    in_flight: &'a Mutex<HashMap<String, Arc<tokio::sync::Mutex<()>>>>,
    key: &'a str,
    gate: Arc<tokio::sync::Mutex<()>>,
}

impl<'a> Turn<'a> {
    fn take(
        in_flight: &'a Mutex<HashMap<String, Arc<tokio::sync::Mutex<()>>>>,
        key: &'a str,
    ) -> Turn<'a> {
        let gate = in_flight
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .entry(key.to_owned())
            .or_default()
            .clone();
        Turn {
            in_flight,
            key,
            gate,
        }
    }
}

impl Drop for Turn<'_> {
    fn drop(&mut self) {
        let mut in_flight = self.in_flight.lock().unwrap_or_else(|e| e.into_inner());
        // The map's reference and this one: nobody else holds or waits.
        if Arc::strong_count(&self.gate) <= 2 {
            in_flight.remove(self.key);
        }
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
