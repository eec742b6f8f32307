//! Rate limiting behind a small trait: token buckets (an application's request budget: capacity N, refilled
//! continuously at N per minute, unused tokens carried over up to N) and sliding windows (at most N events in
//! any window: signup and login limits). The in-process store serves one instance exactly, under any
//! concurrency (SQLite: one process owns the file); on PostgreSQL every instance counts in the shared database
//! (`shared_limiter::SharedLimiter`), so several instances behind a load balancer keep one budget.

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex};

use futures_util::future::{BoxFuture, FutureExt, ready};

use crate::metrics::Metrics;
use crate::store::StoreError;

/// What a limit allows.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Policy {
    /// `capacity` tokens, refilled at `capacity` per minute.
    TokenBucket { capacity: u32 },
    /// At most `max` events in any `window_ms`.
    Window { max: u32, window_ms: i64 },
}

impl Policy {
    /// The `RateLimit-Limit` this policy reports.
    pub fn limit(self) -> u32 {
        match self {
            Self::TokenBucket { capacity } => capacity,
            Self::Window { max, .. } => max,
        }
    }
}

/// The answer for one request, with what the `RateLimit-*` headers report.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Decision {
    pub allowed: bool,
    pub limit: u32,
    pub remaining: u32,
    /// Seconds until the allowance is whole again.
    pub reset_secs: u64,
    /// Seconds until one more request would pass (when refused).
    pub retry_after_secs: u64,
}

/// Where limits are counted.
pub trait RateLimiter: Send + Sync {
    /// Counts one event for `key` if `policy` allows it.
    fn take<'a>(&'a self, key: &'a str, policy: Policy, now_ms: i64) -> BoxFuture<'a, Result<Decision, StoreError>>;

    /// Reports whether one more event would be allowed, without counting it.
    fn check<'a>(&'a self, key: &'a str, policy: Policy, now_ms: i64) -> BoxFuture<'a, Result<Decision, StoreError>>;

    /// Forgets state that no longer limits anything (full buckets, empty windows).
    fn prune(&self, _now_ms: i64) {}
}

#[derive(Clone, Copy, Debug)]
struct Bucket {
    tokens: f64,
    updated_ms: i64,
}

/// Limits counted in this process's memory.
#[derive(Default)]
pub struct InProcessLimiter {
    buckets: Mutex<HashMap<String, Bucket>>,
    windows: Mutex<HashMap<String, VecDeque<i64>>>,
}

impl InProcessLimiter {
    fn decide(&self, key: &str, policy: Policy, now_ms: i64, count: bool) -> Decision {
        match policy {
            Policy::TokenBucket { capacity } => self.bucket(key, capacity, now_ms, count),
            Policy::Window { max, window_ms } => self.window(key, max, window_ms, now_ms, count),
        }
    }

    fn bucket(&self, key: &str, capacity: u32, now_ms: i64, count: bool) -> Decision {
        let (capacity_f, per_ms) = rates(capacity);
        let mut buckets = self.buckets.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        let bucket = buckets.entry(key.to_owned()).or_insert(Bucket {
            tokens: capacity_f,
            updated_ms: now_ms,
        });
        let elapsed = (now_ms - bucket.updated_ms).max(0) as f64;
        // An allocation lowered since the last request caps what was carried over.
        bucket.tokens = (bucket.tokens + elapsed * per_ms).min(capacity_f);
        bucket.updated_ms = now_ms;
        let allowed = bucket.tokens >= 1.0;
        if allowed && count {
            bucket.tokens -= 1.0;
        }
        bucket_decision(capacity, bucket.tokens, allowed)
    }

    fn window(&self, key: &str, max: u32, window_ms: i64, now_ms: i64, count: bool) -> Decision {
        let mut windows = self.windows.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        let events = windows.entry(key.to_owned()).or_default();
        while events.front().is_some_and(|at| *at <= now_ms - window_ms) {
            events.pop_front();
        }
        let allowed = events.len() < max as usize;
        if allowed && count {
            events.push_back(now_ms);
        }
        window_decision(
            max,
            window_ms,
            now_ms,
            events.len(),
            events.front().copied(),
            events.back().copied(),
            allowed,
        )
    }
}

/// A bucket's capacity (at least one token) and refill a millisecond.
pub(super) fn rates(capacity: u32) -> (f64, f64) {
    let capacity_f = f64::from(capacity.max(1));
    (capacity_f, capacity_f / 60_000.0)
}

/// What a bucket holding `tokens` (after this request) answers.
pub(super) fn bucket_decision(capacity: u32, tokens: f64, allowed: bool) -> Decision {
    let (capacity_f, per_ms) = rates(capacity);
    Decision {
        allowed,
        limit: capacity,
        remaining: tokens.floor().max(0.0) as u32,
        reset_secs: seconds(((capacity_f - tokens) / per_ms).ceil() as i64),
        retry_after_secs: if allowed {
            0
        } else {
            seconds(((1.0 - tokens) / per_ms).ceil() as i64).max(1)
        },
    }
}

/// What a window holding `len` events (after this request; the oldest and newest given) answers.
pub(super) fn window_decision(
    max: u32,
    window_ms: i64,
    now_ms: i64,
    len: usize,
    oldest: Option<i64>,
    newest: Option<i64>,
    allowed: bool,
) -> Decision {
    let until_oldest_leaves = oldest.map_or(0, |oldest| oldest + window_ms - now_ms);
    let until_all_leave = newest.map_or(0, |newest| newest + window_ms - now_ms);
    Decision {
        allowed,
        limit: max,
        remaining: (max as usize).saturating_sub(len) as u32,
        reset_secs: seconds(until_all_leave),
        retry_after_secs: if allowed {
            0
        } else {
            seconds(until_oldest_leaves).max(1)
        },
    }
}

/// Whole seconds, rounded up, from milliseconds.
fn seconds(ms: i64) -> u64 {
    u64::try_from(ms.max(0)).unwrap_or(0).div_ceil(1000)
}

impl RateLimiter for InProcessLimiter {
    fn take<'a>(&'a self, key: &'a str, policy: Policy, now_ms: i64) -> BoxFuture<'a, Result<Decision, StoreError>> {
        ready(Ok(self.decide(key, policy, now_ms, true))).boxed()
    }

    fn check<'a>(&'a self, key: &'a str, policy: Policy, now_ms: i64) -> BoxFuture<'a, Result<Decision, StoreError>> {
        ready(Ok(self.decide(key, policy, now_ms, false))).boxed()
    }

    fn prune(&self, now_ms: i64) {
        if let Ok(mut buckets) = self.buckets.lock() {
            // A bucket untouched for a minute or more has refilled completely: it no longer limits anything.
            buckets.retain(|_, bucket| now_ms - bucket.updated_ms < 60_000);
        }
        if let Ok(mut windows) = self.windows.lock() {
            windows.retain(|_, events| events.back().is_some_and(|newest| now_ms - newest < 24 * 3_600_000));
        }
    }
}

/// A limiter that counts its refusals in the metrics, by the limit a key's prefix names.
pub struct Counted {
    inner: Arc<dyn RateLimiter>,
    metrics: Arc<Metrics>,
}

impl Counted {
    pub fn new(inner: Arc<dyn RateLimiter>, metrics: Arc<Metrics>) -> Self {
        Self { inner, metrics }
    }

    fn note(&self, key: &str, decision: Result<Decision, StoreError>) -> Result<Decision, StoreError> {
        if let Ok(Decision { allowed: false, .. }) = decision {
            self.metrics.rate_limited(limit_name(key));
        }
        decision
    }
}

impl RateLimiter for Counted {
    fn take<'a>(&'a self, key: &'a str, policy: Policy, now_ms: i64) -> BoxFuture<'a, Result<Decision, StoreError>> {
        async move { self.note(key, self.inner.take(key, policy, now_ms).await) }.boxed()
    }

    fn check<'a>(&'a self, key: &'a str, policy: Policy, now_ms: i64) -> BoxFuture<'a, Result<Decision, StoreError>> {
        async move { self.note(key, self.inner.check(key, policy, now_ms).await) }.boxed()
    }

    fn prune(&self, now_ms: i64) {
        self.inner.prune(now_ms);
    }
}

/// The limit a key belongs to, named for the metrics: the part before its first `:`, from a fixed list (the
/// rest of a key names a client, an address or an account, which must not become a label).
pub fn limit_name(key: &str) -> &'static str {
    const LIMITS: &[(&str, &str)] = &[
        ("app", "application"),
        ("keyless", "invalid_api_key"),
        ("login-failures", "login_failures"),
        ("signup-email", "signup_email"),
        ("signup-ip", "signup_ip"),
        ("otp-to", "code_destination"),
        ("otp-ip", "code_ip"),
        ("otp-account", "code_account"),
        ("guest-ip", "guest_ip"),
        ("device-code-ip", "device_user_code_ip"),
    ];
    let prefix = key.split_once(':').map_or(key, |(prefix, _)| prefix);
    LIMITS
        .iter()
        .find(|(known, _)| *known == prefix)
        .map_or("other", |(_, name)| name)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn take(limiter: &InProcessLimiter, key: &str, policy: Policy, now_ms: i64) -> Decision {
        limiter.decide(key, policy, now_ms, true)
    }

    #[test]
    fn limits_are_named_by_their_prefix_only() {
        assert_eq!(limit_name("app:0190"), "application");
        assert_eq!(limit_name("login-failures:203.0.113.7"), "login_failures");
        assert_eq!(limit_name("otp-to:+15005550006"), "code_destination");
        assert_eq!(limit_name("someone:else"), "other");
    }

    #[test]
    fn a_bucket_spends_refills_continuously_and_caps_carry_over() {
        let limiter = InProcessLimiter::default();
        let policy = Policy::TokenBucket { capacity: 60 };
        for i in 0..60 {
            let decision = take(&limiter, "a", policy, 0);
            assert!(decision.allowed, "request {i}");
            assert_eq!(decision.remaining, 59 - i);
        }
        let refused = take(&limiter, "a", policy, 0);
        assert!(!refused.allowed);
        assert_eq!(refused.retry_after_secs, 1, "one token a second at 60 a minute");
        assert!(take(&limiter, "a", policy, 1000).allowed);
        assert!(!take(&limiter, "a", policy, 1000).allowed);
        // An hour idle refills to the cap, not beyond.
        let full = limiter.decide("a", policy, 3_600_000, false);
        assert_eq!(full.remaining, 60);
        assert_eq!(full.reset_secs, 0);
        assert!(take(&limiter, "b", policy, 0).allowed, "buckets are per key");
    }

    #[test]
    fn lowering_the_allocation_caps_the_carried_tokens() {
        let limiter = InProcessLimiter::default();
        take(&limiter, "a", Policy::TokenBucket { capacity: 1000 }, 0);
        let decision = take(&limiter, "a", Policy::TokenBucket { capacity: 10 }, 0);
        assert_eq!(decision.remaining, 9);
    }

    #[test]
    fn a_window_allows_at_most_max_in_any_window() {
        let limiter = InProcessLimiter::default();
        let policy = Policy::Window {
            max: 3,
            window_ms: 10_000,
        };
        for at in [0, 1000, 2000] {
            assert!(take(&limiter, "w", policy, at).allowed);
        }
        let refused = take(&limiter, "w", policy, 9_999);
        assert!(!refused.allowed);
        assert_eq!(refused.retry_after_secs, 1);
        assert!(
            take(&limiter, "w", policy, 10_000).allowed,
            "the first event left the window"
        );
        assert!(!take(&limiter, "w", policy, 10_500).allowed);
        assert!(limiter.decide("w", policy, 10_500, false).remaining == 0);
    }

    #[test]
    fn pruning_forgets_only_what_no_longer_limits() {
        let limiter = InProcessLimiter::default();
        take(&limiter, "old", Policy::TokenBucket { capacity: 5 }, 0);
        take(&limiter, "new", Policy::TokenBucket { capacity: 5 }, 100_000);
        limiter.prune(120_000);
        let buckets = limiter.buckets.lock().unwrap();
        assert!(!buckets.contains_key("old") && buckets.contains_key("new"));
    }
}
