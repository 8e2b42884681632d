//! A bounded, thread-safe cache of compiled policies keyed by the policy's
//! `sys_id` and `sys_mod_count`.

use std::collections::hash_map::DefaultHasher;
use std::collections::HashMap;
use std::hash::{Hash, Hasher};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock};

use super::{compile, CompiledPolicy};

/// A process-wide cache of compiled policies keyed by (policy `sys_id`,
/// `sys_mod_count`), so that a policy run compiles each policy once.
///
/// One entry per policy: a new `sys_mod_count` replaces the entry of the older
/// one. A compile error is cached too (the same version always fails the same
/// way). Concurrent callers asking for the same entry wait for one compilation.
/// When the cache holds `capacity` policies, the least recently used one
/// makes room for a new one.
pub struct PolicyCache {
    capacity: usize,
    entries: Mutex<HashMap<String, Arc<Entry>>>,
    clock: AtomicU64,
    compilations: AtomicU64,
}

struct Entry {
    version: i64,
    source_hash: u64,
    last_used: AtomicU64,
    compiled: OnceLock<Result<CompiledPolicy, String>>,
}

impl PolicyCache {
    /// The number of policies [`PolicyCache::global`] holds.
    pub const DEFAULT_CAPACITY: usize = 1024;

    /// An empty cache holding at most `capacity` policies (at least one).
    pub fn new(capacity: usize) -> Self {
        PolicyCache {
            capacity: capacity.max(1),
            entries: Mutex::new(HashMap::new()),
            clock: AtomicU64::new(0),
            compilations: AtomicU64::new(0),
        }
    }

    /// The process-wide cache, [`PolicyCache::DEFAULT_CAPACITY`] policies.
    pub fn global() -> &'static PolicyCache {
        static GLOBAL: OnceLock<PolicyCache> = OnceLock::new();
        GLOBAL.get_or_init(|| PolicyCache::new(Self::DEFAULT_CAPACITY))
    }

    /// The compiled policy for (`id`, `version`), compiling `source` the first
    /// time. `Err` is [`compile`]'s message.
    pub fn get_or_compile(
        &self,
        id: &str,
        version: i64,
        source: &str,
    ) -> Result<CompiledPolicy, String> {
        let source_hash = hash(source);
        let now = self.clock.fetch_add(1, Ordering::Relaxed);
        let entry = {
            let mut entries = self.entries.lock().unwrap_or_else(|e| e.into_inner());
            match entries.get(id) {
                // The same version with other source text means the caller's
                // version number was stale: compile what it was given.
                Some(e) if e.version == version && e.source_hash == source_hash => e.clone(),
                _ => {
                    if !entries.contains_key(id) && entries.len() >= self.capacity {
                        evict_least_recently_used(&mut entries);
                    }
                    let e = Arc::new(Entry {
                        version,
                        source_hash,
                        last_used: AtomicU64::new(now),
                        compiled: OnceLock::new(),
                    });
                    entries.insert(id.to_string(), e.clone());
                    e
                }
            }
        };
        entry.last_used.store(now, Ordering::Relaxed);
        entry
            .compiled
            .get_or_init(|| {
                self.compilations.fetch_add(1, Ordering::Relaxed);
                compile(source)
            })
            .clone()
    }

    /// How many compilations this cache has run.
    pub fn compilations(&self) -> u64 {
        self.compilations.load(Ordering::Relaxed)
    }

    /// How many policies the cache holds.
    pub fn len(&self) -> usize {
        self.entries.lock().unwrap_or_else(|e| e.into_inner()).len()
    }

    /// Whether the cache holds no policy.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Forgets the policy `id` (e.g. when it is deleted).
    pub fn remove(&self, id: &str) {
        self.entries
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(id);
    }
}

impl Default for PolicyCache {
    fn default() -> Self {
        PolicyCache::new(Self::DEFAULT_CAPACITY)
    }
}

fn evict_least_recently_used(entries: &mut HashMap<String, Arc<Entry>>) {
    let oldest = entries
        .iter()
        .min_by_key(|(_, e)| e.last_used.load(Ordering::Relaxed))
        .map(|(id, _)| id.clone());
    if let Some(id) = oldest {
        entries.remove(&id);
    }
}

/// The hash a cached entry keeps of its source text.
pub(super) fn hash(source: &str) -> u64 {
    let mut h = DefaultHasher::new();
    source.hash(&mut h);
    h.finish()
}
