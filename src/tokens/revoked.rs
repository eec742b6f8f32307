//! Revoked access tokens that belong to no token family (client credentials, tokens exchanged for a private
//! token): the `revoked_tokens` table is the record. On SQLite this process makes every revocation, so it also
//! keeps an index of them in memory, and a token that was never revoked — nearly every token checked — is
//! answered without a database read; a token the index knows is confirmed in the database. On PostgreSQL other
//! instances revoke too, so every check asks the database: a revocation holds everywhere at once.

use std::collections::HashMap;
use std::hash::{BuildHasher, RandomState};
use std::sync::{Mutex, PoisonError};

use tokio::sync::OnceCell;

use crate::clock::UnixTime;
use crate::store::{Database, StoreResult, revoked_tokens};

/// Rows read from the database at a time when the index is filled.
const LOAD_PAGE: i64 = 10_000;
/// Below this many entries the index is never swept.
const MIN_SWEEP: usize = 1024;

/// The revocation record of access tokens, with its in-memory index where the database allows one.
pub struct RevokedTokens {
    db: Database,
    /// `None` on PostgreSQL; on SQLite, filled from the database at first use.
    index: Option<OnceCell<Mutex<Index>>>,
    /// Keys the index by a hash of the `jti`, seeded per process (8 bytes a token rather than the string).
    hasher: RandomState,
}

/// Hashes of revoked `jti`s, each with when its token expires (after that it no longer needs the entry: an
/// expired token fails verification first).
struct Index {
    expires: HashMap<u64, UnixTime>,
    /// The index is swept of expired entries when it grows to twice this.
    swept_len: usize,
}

impl Index {
    /// Adds the id with hash `key`. Two ids with one hash keep the later expiry, so neither is swept while its
    /// token lives.
    fn add(&mut self, key: u64, expires_at: UnixTime) {
        let expires = self.expires.entry(key).or_insert(expires_at);
        *expires = (*expires).max(expires_at);
    }
}

impl RevokedTokens {
    pub fn new(db: Database) -> Self {
        let index = (!db.is_postgres()).then(OnceCell::new);
        Self {
            db,
            index,
            hasher: RandomState::new(),
        }
    }

    /// Reads the record into the index now, rather than at the first check.
    pub async fn load(&self, now: UnixTime) -> StoreResult<()> {
        self.index(now).await.map(|_| ())
    }

    /// Records that the token `jti`, which expires at `expires_at`, is revoked. Revoking it twice is fine.
    pub async fn revoke(&self, jti: String, expires_at: UnixTime, now: UnixTime) -> StoreResult<()> {
        // Into the index first: once the database has the row, the index has it too.
        if let Some(index) = self.index(now).await? {
            let mut index = index.lock().unwrap_or_else(PoisonError::into_inner);
            index.add(self.hasher.hash_one(&jti), expires_at);
            if index.expires.len() >= 2 * index.swept_len.max(MIN_SWEEP) {
                index.expires.retain(|_, expires| *expires > now);
                index.swept_len = index.expires.len();
            }
        }
        revoked_tokens::insert(&self.db, jti, expires_at).await
    }

    /// Whether the token `jti` was revoked.
    pub async fn is_revoked(&self, jti: &str, now: UnixTime) -> StoreResult<bool> {
        if let Some(index) = self.index(now).await? {
            let known = index
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .expires
                .contains_key(&self.hasher.hash_one(jti));
            if !known {
                return Ok(false);
            }
        }
        revoked_tokens::is_revoked(&self.db, jti.to_owned()).await
    }

    /// The index (SQLite), read from the database the first time.
    async fn index(&self, now: UnixTime) -> StoreResult<Option<&Mutex<Index>>> {
        let Some(cell) = &self.index else {
            return Ok(None);
        };
        let index = cell
            .get_or_try_init(|| async {
                let mut index = Index {
                    expires: HashMap::new(),
                    swept_len: 0,
                };
                let mut after = String::new();
                loop {
                    let page = revoked_tokens::live_page(&self.db, now, after, LOAD_PAGE).await?;
                    let Some((last, _)) = page.last() else { break };
                    after = last.clone();
                    for (jti, expires_at) in &page {
                        index.add(self.hasher.hash_one(jti), *expires_at);
                    }
                }
                index.swept_len = index.expires.len();
                StoreResult::Ok(Mutex::new(index))
            })
            .await?;
        Ok(Some(index))
    }
}
