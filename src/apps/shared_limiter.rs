//! Limits counted in the PostgreSQL database every instance shares (`store::rate_limits`), so an application's
//! budget is its budget in total, not per instance.
//!
//! A token bucket is not asked for every request: an instance takes a small **lease** of tokens at once (1 % of
//! the bucket, at most 50, at least 1) in one atomic statement and spends it from memory. A lease is never more
//! than the shared bucket holds, so the total let through never exceeds the budget (plus its refill); tokens of a
//! lease not spent within a second are given up, so other instances may be refused up to `lease × (instances −
//! 1)` requests early. A bucket of 100 or fewer tokens leases one at a time: exact. Sliding windows (signup and
//! login limits: rare, and exact by design) are counted in the database at every event.

use std::collections::HashMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicI64, Ordering};

use futures_util::future::{BoxFuture, FutureExt};

use super::rate_limit::{Decision, Policy, RateLimiter, bucket_decision, rates, window_decision};
use crate::store::{Database, StoreError, rate_limits};

/// How long a lease's tokens may wait in memory before they are given up.
const LEASE_MS: i64 = 1_000;
/// How long a bucket read without taking (a check before anything is spent) may be answered from memory while it
/// had tokens: a take at this instance forgets it at once, and the take itself is always counted in the database.
const PEEK_MS: i64 = 250;

/// Tokens an instance holds of one bucket, and what the shared bucket had left when they were taken.
#[derive(Clone, Copy, Debug)]
struct Lease {
    tokens: u32,
    shared_left: f64,
    taken_ms: i64,
    /// The bucket's size when taken: a changed allocation gives the lease up.
    capacity: u32,
}

pub struct SharedLimiter {
    db: Database,
    leases: Mutex<HashMap<String, Lease>>,
    /// Recent reads of buckets that had tokens: (tokens, when).
    peeks: Mutex<HashMap<String, (f64, i64)>>,
    /// When expired state was last forgotten (once a minute is enough).
    pruned_ms: AtomicI64,
}

impl SharedLimiter {
    pub fn new(db: Database) -> Self {
        Self {
            db,
            leases: Mutex::default(),
            peeks: Mutex::default(),
            pruned_ms: AtomicI64::new(0),
        }
    }

    /// How many tokens a lease of a bucket of `capacity` takes at once.
    fn lease_size(capacity: u32) -> u32 {
        (capacity / 100).clamp(1, 50)
    }

    /// One token of the bucket `key` from this instance's lease, if it holds one still fresh.
    fn spend_leased(&self, key: &str, capacity: u32, now_ms: i64) -> Option<Decision> {
        let mut leases = self.leases.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        let lease = leases.get_mut(key)?;
        if lease.tokens == 0 || now_ms - lease.taken_ms >= LEASE_MS || lease.capacity != capacity {
            leases.remove(key);
            return None;
        }
        lease.tokens -= 1;
        Some(bucket_decision(
            capacity,
            lease.shared_left + f64::from(lease.tokens),
            true,
        ))
    }

    async fn take_token(&self, key: &str, capacity: u32, now_ms: i64) -> Result<Decision, StoreError> {
        if let Some(decision) = self.spend_leased(key, capacity, now_ms) {
            return Ok(decision);
        }
        self.peeks
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .remove(key);
        let (capacity_f, per_ms) = rates(capacity);
        let want = i64::from(Self::lease_size(capacity));
        let state = rate_limits::take_tokens(&self.db, key.to_owned(), capacity_f, per_ms, now_ms, want).await?;
        let taken = u32::try_from(state.taken).unwrap_or(0);
        if taken == 0 {
            return Ok(bucket_decision(capacity, state.tokens, false));
        }
        if taken > 1 {
            // Requests that found no lease at the same moment each took one: their tokens add up.
            let mut leases = self.leases.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
            let lease = leases.entry(key.to_owned()).or_insert(Lease {
                tokens: 0,
                shared_left: state.tokens,
                taken_ms: now_ms,
                capacity,
            });
            if lease.capacity != capacity || now_ms - lease.taken_ms >= LEASE_MS {
                lease.tokens = 0;
                lease.capacity = capacity;
            }
            lease.tokens += taken - 1;
            lease.shared_left = state.tokens;
            lease.taken_ms = now_ms;
        }
        Ok(bucket_decision(capacity, state.tokens + f64::from(taken - 1), true))
    }

    /// Whether the bucket `key` has a token, without taking one: from this instance's lease or a recent read when
    /// they say so, else from the database.
    async fn peek(&self, key: &str, capacity: u32, now_ms: i64) -> Result<Decision, StoreError> {
        let recent = self
            .peeks
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .get(key)
            .copied();
        if let Some((tokens, at)) = recent
            && now_ms - at < PEEK_MS
        {
            return Ok(bucket_decision(capacity, tokens, true));
        }
        let (capacity_f, per_ms) = rates(capacity);
        let tokens = rate_limits::peek_tokens(&self.db, key.to_owned(), capacity_f, per_ms, now_ms).await?;
        let mut peeks = self.peeks.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        if tokens >= 1.0 {
            peeks.insert(key.to_owned(), (tokens, now_ms));
        } else {
            peeks.remove(key);
        }
        Ok(bucket_decision(capacity, tokens, tokens >= 1.0))
    }

    async fn decide(&self, key: &str, policy: Policy, now_ms: i64, count: bool) -> Result<Decision, StoreError> {
        match policy {
            Policy::TokenBucket { capacity } if count => self.take_token(key, capacity, now_ms).await,
            Policy::TokenBucket { capacity } => self.peek(key, capacity, now_ms).await,
            Policy::Window { max, window_ms } => {
                let (events, allowed) =
                    rate_limits::window_events(&self.db, key.to_owned(), max, window_ms, now_ms, count).await?;
                Ok(window_decision(
                    max,
                    window_ms,
                    now_ms,
                    events.len(),
                    events.first().copied(),
                    events.last().copied(),
                    allowed,
                ))
            }
        }
    }
}

impl RateLimiter for SharedLimiter {
    fn take<'a>(&'a self, key: &'a str, policy: Policy, now_ms: i64) -> BoxFuture<'a, Result<Decision, StoreError>> {
        self.decide(key, policy, now_ms, true).boxed()
    }

    fn check<'a>(&'a self, key: &'a str, policy: Policy, now_ms: i64) -> BoxFuture<'a, Result<Decision, StoreError>> {
        self.decide(key, policy, now_ms, false).boxed()
    }

    fn prune(&self, now_ms: i64) {
        self.leases
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .retain(|_, lease| now_ms - lease.taken_ms < LEASE_MS);
        self.peeks
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .retain(|_, (_, at)| now_ms - *at < PEEK_MS);
        let last = self.pruned_ms.load(Ordering::Relaxed);
        if now_ms - last < 60_000 {
            return;
        }
        self.pruned_ms.store(now_ms, Ordering::Relaxed);
        let db = self.db.clone();
        tokio::spawn(async move {
            if let Err(e) = rate_limits::prune(&db, now_ms).await {
                tracing::warn!(error = %e, "forgetting expired rate-limit state failed");
            }
        });
    }
}
