//! Answers that are expensive to compute and read far more often than the
//! data under them changes (bundle aggregates, policy status), cached per
//! process and keyed by the data epoch: an answer computed at epoch N is
//! served while the epoch is still N, and every committed write moves the
//! epoch (see `storage::Tx::commit`). Replicas share nothing but the epoch.

use std::collections::HashMap;
use std::future::Future;
use std::sync::Mutex;

use axum::body::Bytes;

use crate::error::Result;
use crate::storage::Db;

pub struct AnswerCache {
    entries: Mutex<HashMap<String, (i64, Bytes)>>,
    capacity: usize,
}

impl Default for AnswerCache {
    fn default() -> Self {
        AnswerCache::new(4096)
    }
}

impl AnswerCache {
    pub fn new(capacity: usize) -> AnswerCache {
        AnswerCache {
            entries: Mutex::new(HashMap::new()),
            capacity: capacity.max(1),
        }
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
            .get(&key)
        {
            if *cached_epoch == epoch {
                return Ok(body.clone());
            }
        }
        let body = compute().await?;
        let mut entries = self.entries.lock().unwrap_or_else(|e| e.into_inner());
        if entries.len() >= self.capacity {
            entries.clear();
        }
        entries.insert(key, (epoch, body.clone()));
        Ok(body)
    }
}
