//! A small in-memory cache whose entries expire after a fixed time: hot, rarely changing rows (clients,
//! API keys) are read from memory instead of the database on every request. Changes made through this
//! instance invalidate their entry at once; changes made elsewhere (another instance, the CLI) show after
//! at most the time to live.

use std::collections::HashMap;
use std::hash::Hash;
use std::sync::RwLock;
use std::time::{Duration, Instant};

/// Entries are dropped wholesale when the cache grows past this many (a flood of unknown keys must not grow
/// memory without bound).
const DEFAULT_CAPACITY: usize = 10_000;

pub struct TtlCache<K, V> {
    entries: RwLock<HashMap<K, (V, Instant)>>,
    ttl: Duration,
    capacity: usize,
}

impl<K: Eq + Hash, V: Clone> TtlCache<K, V> {
    /// A cache keeping entries for `ttl`; `ttl` of zero disables it.
    pub fn new(ttl: Duration) -> Self {
        Self {
            entries: RwLock::new(HashMap::new()),
            ttl,
            capacity: DEFAULT_CAPACITY,
        }
    }

    /// The cached value, if it is still fresh.
    pub fn get(&self, key: &K) -> Option<V> {
        let entries = self.entries.read().ok()?;
        let (value, stored) = entries.get(key)?;
        (stored.elapsed() < self.ttl).then(|| value.clone())
    }

    pub fn insert(&self, key: K, value: V) {
        if self.ttl.is_zero() {
            return;
        }
        if let Ok(mut entries) = self.entries.write() {
            if entries.len() >= self.capacity {
                let ttl = self.ttl;
                entries.retain(|_, (_, stored)| stored.elapsed() < ttl);
                if entries.len() >= self.capacity {
                    entries.clear();
                }
            }
            entries.insert(key, (value, Instant::now()));
        }
    }

    /// Forgets everything.
    pub fn clear(&self) {
        if let Ok(mut entries) = self.entries.write() {
            entries.clear();
        }
    }

    pub fn invalidate(&self, key: &K) {
        if let Ok(mut entries) = self.entries.write() {
            entries.remove(key);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entries_expire_and_can_be_invalidated() {
        let cache = TtlCache::new(Duration::from_secs(60));
        cache.insert("a", 1);
        assert_eq!(cache.get(&"a"), Some(1));
        cache.invalidate(&"a");
        assert_eq!(cache.get(&"a"), None);
        let off = TtlCache::new(Duration::ZERO);
        off.insert("a", 1);
        assert_eq!(off.get(&"a"), None);
    }

    #[test]
    fn growth_is_bounded() {
        let cache = TtlCache {
            entries: RwLock::new(HashMap::new()),
            ttl: Duration::from_secs(60),
            capacity: 3,
        };
        for i in 0..10 {
            cache.insert(i, i);
        }
        assert!(cache.entries.read().unwrap().len() <= 3);
    }
}
